//! The HTTP edges every function shares: a small route table (404/405 as problems), JSON
//! request parsing with clear 400/413 problems, JSON and problem+json (RFC 9457) responses,
//! and the list query parameters (`page_size`, `cursor`).

pub use lambda_http::http::Method;
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, FieldError, Result};

pub const PROBLEM_JSON: &str = "application/problem+json";

/// A function's routes as `"METHOD /path/{param}"` strings, in order: the first route whose
/// method and path match wins. A function declares its table with [`routes!`](crate::model::routes),
/// which names each route with a variant of an enum, so a handler's `match` covers every route
/// and each route string is written once.
pub struct Router {
    routes: &'static [&'static str],
}

/// The route that matched (`route` is its string, `index` its place in the table) and its path
/// parameters (percent-decoded).
#[derive(Debug)]
pub struct Matched {
    pub route: &'static str,
    pub index: usize,
    params: Vec<(&'static str, String)>,
}

impl Matched {
    /// A path parameter of the matched route. Route strings are constants, so asking for a name
    /// the route does not have is a programming error reported as a 500, never a panic.
    pub fn param(&self, name: &str) -> Result<&str> {
        self.params
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
            .ok_or_else(|| Error::Internal(format!("route {} has no {{{name}}}", self.route)))
    }

    /// A path parameter naming something that must exist: a value that does not parse cannot
    /// name anything, so it is a 404 (`what` names the kind of thing).
    pub fn existing<T>(
        &self,
        name: &str,
        what: &str,
        parse: fn(&str, &str) -> std::result::Result<T, FieldError>,
    ) -> Result<T> {
        let v = self.param(name)?;
        parse(name, v).map_err(|_| Error::NotFound(format!("{what} {v}")))
    }

    /// A path parameter naming something to create or replace: a bad value is a 400 naming it.
    pub fn key<T>(
        &self,
        name: &str,
        parse: fn(&str, &str) -> std::result::Result<T, FieldError>,
    ) -> Result<T> {
        parse(name, self.param(name)?).map_err(|e| Error::Invalid(vec![e]))
    }
}

impl Router {
    pub const fn new(routes: &'static [&'static str]) -> Self {
        Router { routes }
    }

    /// Finds the route for `method` and `path`: unknown path -> 404, known path with another
    /// method -> 405 listing the allowed ones.
    pub fn find(&self, method: &Method, path: &str) -> Result<Matched> {
        let segments: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
        let mut allow = Vec::new();
        for (index, route) in self.routes.iter().enumerate() {
            let Some((m, pattern)) = route.split_once(' ') else {
                continue;
            };
            let Some(params) = match_pattern(pattern, &segments) else {
                continue;
            };
            if m == method.as_str() {
                return Ok(Matched {
                    route,
                    index,
                    params,
                });
            }
            allow.push(m.to_string());
        }
        if allow.is_empty() {
            Err(Error::NotFound(format!("route {method} {path}")))
        } else {
            Err(Error::MethodNotAllowed { allow })
        }
    }

    /// Whether the table is well formed, else what is wrong: each route is `METHOD /path` with
    /// an upper-case method, parameters are `{name}` segments named once per route, and no route
    /// is unreachable (an earlier one with its method matches every path it matches, the same
    /// route twice included). [`routes!`](crate::model::routes) runs this in each function's unit tests.
    pub fn check(&self) -> std::result::Result<(), String> {
        let mut seen: Vec<(&str, Vec<Part<'_>>, &str)> = Vec::new();
        for route in self.routes {
            let (method, pattern) = route
                .split_once(' ')
                .ok_or_else(|| format!("{route:?}: expected \"METHOD /path\""))?;
            if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(format!("{route:?}: the method must be upper case"));
            }
            let Some(rest) = pattern.strip_prefix('/') else {
                return Err(format!("{route:?}: the path must start with /"));
            };
            let mut parts = Vec::new();
            let mut names = Vec::new();
            for segment in rest.split('/') {
                match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    Some(name) if name.is_empty() || names.contains(&name) => {
                        return Err(format!("{route:?}: parameter {{{name}}} is empty or twice"));
                    }
                    Some(name) => {
                        names.push(name);
                        parts.push(Part::Param);
                    }
                    None if segment.is_empty() || segment.contains(['{', '}', ' ']) => {
                        return Err(format!("{route:?}: bad segment {segment:?}"));
                    }
                    None => parts.push(Part::Literal(segment)),
                }
            }
            if let Some((_, _, earlier)) = seen.iter().find(|(m, p, _)| {
                *m == method
                    && p.len() == parts.len()
                    && p.iter()
                        .zip(&parts)
                        .all(|(a, b)| *a == Part::Param || a == b)
            }) {
                return Err(format!("{route:?} is unreachable: {earlier:?} comes first"));
            }
            seen.push((method, parts, route));
        }
        Ok(())
    }
}

#[derive(PartialEq)]
enum Part<'a> {
    Literal(&'a str),
    Param,
}

/// A function's routes, each named by a variant of an enum, in one table:
///
/// ```ignore
/// keygate::routes! {
///     enum Route {
///         List = "GET /v1/projects/{p}/templates",
///         Create = "POST /v1/projects/{p}/templates",
///     }
/// }
/// let (route, m) = Route::find(req.method(), req.uri().path())?;
/// match route {
///     Route::List => { /* m.existing("p", ...) */ }
///     Route::Create => { /* ... */ }
/// }
/// ```
///
/// `find` answers 404 and 405 as [`Router::find`] does. The handler's `match` has no catch-all
/// arm, so a route without a handler does not compile. It also writes a unit test into the
/// function's crate that fails on a table [`Router::check`] refuses.
#[macro_export]
macro_rules! routes {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $route:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// The route table, in the order routes are tried.
            pub const ROUTER: $crate::http::Router = $crate::http::Router::new(&[$($route),+]);
            const VARIANTS: &'static [$name] = &[$($name::$variant),+];

            /// The route a request names and its parameters (404 or 405 when none).
            pub fn find(
                method: &$crate::http::Method,
                path: &str,
            ) -> $crate::Result<($name, $crate::http::Matched)> {
                let m = Self::ROUTER.find(method, path)?;
                let route = Self::VARIANTS.get(m.index).copied().ok_or_else(|| {
                    $crate::Error::Internal(format!("route {} has no variant", m.route))
                })?;
                Ok((route, m))
            }
        }

        #[cfg(test)]
        mod route_table {
            #[test]
            fn is_well_formed() {
                if let Err(e) = super::$name::ROUTER.check() {
                    panic!("{e}");
                }
            }
        }
    };
}

fn match_pattern(pattern: &'static str, segments: &[&str]) -> Option<Vec<(&'static str, String)>> {
    let parts: Vec<&'static str> = pattern.split('/').skip(1).collect();
    if parts.len() != segments.len() {
        return None;
    }
    let mut params = Vec::new();
    for (part, seg) in parts.iter().zip(segments) {
        if let Some(name) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            if seg.is_empty() {
                return None;
            }
            params.push((name, percent_decode(seg)?));
        } else if part != seg {
            return None;
        }
    }
    Some(params)
}

/// Decodes `%XX` escapes of a path segment (RFC 3986); `None` when an escape is broken (`%`
/// not followed by two hex digits: the decoder would keep it as it is) or the bytes are not
/// UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let well_formed = bytes.iter().enumerate().all(|(i, b)| {
        *b != b'%'
            || bytes
                .get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
    });
    if !well_formed {
        return None;
    }
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .ok()
        .map(|v| v.into_owned())
}

/// Parses a JSON body into `T`: requires a JSON content type and a non-empty body no larger than
/// `max_bytes`; a type error names the field it happened at.
pub fn json_body<T: DeserializeOwned>(req: &Request, max_bytes: usize) -> Result<T> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence != "application/json" && !essence.ends_with("+json") {
        return Err(Error::BadRequest(if content_type.is_empty() {
            "a JSON body is required: send content-type: application/json".into()
        } else {
            format!("content-type {content_type:?} is not JSON: send application/json")
        }));
    }
    let bytes: &[u8] = req.body().as_ref();
    if bytes.len() > max_bytes {
        return Err(Error::PayloadTooLarge { limit: max_bytes });
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::BadRequest(
            "the request body is empty; a JSON object is required".into(),
        ));
    }
    // Structs would also accept a JSON array; every body of this API is an object.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(Error::BadRequest("the body must be a JSON object".into()));
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return Error::BadRequest(format!("malformed JSON body: {inner}"));
        }
        let message = strip_position(&inner.to_string());
        if let Some(name) = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next())
        {
            let field = if path == "." {
                name.to_string()
            } else {
                format!("{path}.{name}")
            };
            return Error::Invalid(vec![FieldError::new(field, "is required")]);
        }
        if path == "." {
            return Error::BadRequest(format!("the body must be a JSON object: {message}"));
        }
        Error::Invalid(vec![FieldError::new(path, message)])
    })
}

/// serde_json appends " at line L column C"; the field path already says where.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

// `Page` and `PageRequest` are the model's (`crate::model::page`); reading one from a request's query
// string is this edge's part.
pub use crate::model::page::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page, PageRequest};

impl PageRequest {
    pub fn from_request(req: &Request) -> Result<Self> {
        let q = req.query_string_parameters();
        let size = match q.first("page_size") {
            None => DEFAULT_PAGE_SIZE,
            Some(s) => match s.parse::<u32>() {
                Ok(n) if (1..=MAX_PAGE_SIZE).contains(&n) => n,
                _ => {
                    return Err(Error::invalid(
                        "page_size",
                        format!("must be a whole number from 1 to {MAX_PAGE_SIZE}"),
                    ));
                }
            },
        };
        let cursor = q
            .first("cursor")
            .filter(|c| !c.is_empty())
            .map(str::to_string);
        Ok(PageRequest { size, cursor })
    }
}

/// A JSON response with `status`.
pub fn json<T: Serialize>(status: StatusCode, value: &T) -> Response<Body> {
    match serde_json::to_vec(value) {
        Ok(bytes) => with_type(status, "application/json", bytes),
        Err(e) => problem(&Error::internal(format!("response serialization: {e}"))),
    }
}

pub fn no_content() -> Response<Body> {
    let mut res = Response::new(Body::Empty);
    *res.status_mut() = StatusCode::NO_CONTENT;
    res
}

fn with_type(status: StatusCode, content_type: &'static str, bytes: Vec<u8>) -> Response<Body> {
    let mut res = Response::new(Body::Binary(bytes));
    *res.status_mut() = status;
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    res
}

/// An RFC 9457 problem, sent as `application/problem+json`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Serialize)]
pub struct Problem<'a> {
    /// The problem type, `urn:keygate:problem:<kind>`.
    #[serde(rename = "type")]
    #[cfg_attr(feature = "openapi", schema(pattern = "^urn:keygate:problem:[a-z-]+$"))]
    pub kind: &'a str,
    pub title: &'a str,
    #[cfg_attr(feature = "openapi", schema(minimum = 400, maximum = 599))]
    pub status: u16,
    pub detail: String,
    /// The invalid fields (400 validation, 422 rule broken).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub errors: Option<&'a [FieldError]>,
    /// The stored version (412 version mismatch).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub current_version: Option<u64>,
}

/// The problem+json response for an error. Internal details are logged, never sent.
pub fn problem(err: &Error) -> Response<Body> {
    let status = err.status();
    let (kind, title, errors, current_version) = match err {
        Error::Invalid(e) => ("validation", "Invalid input", Some(e.as_slice()), None),
        Error::BadRequest(_) => ("bad-request", "Bad request", None, None),
        Error::Unauthenticated(_) => ("unauthenticated", "Not authenticated", None, None),
        Error::Forbidden(_) => ("forbidden", "Forbidden", None, None),
        Error::NotFound(_) => ("not-found", "Not found", None, None),
        Error::MethodNotAllowed { .. } => ("method-not-allowed", "Method not allowed", None, None),
        Error::Conflict(_) => ("conflict", "Conflict", None, None),
        Error::VersionMismatch { current } => {
            ("version-mismatch", "Version mismatch", None, *current)
        }
        Error::PayloadTooLarge { .. } => ("payload-too-large", "Payload too large", None, None),
        Error::Unprocessable(e) => (
            "rule-broken",
            "Unprocessable input",
            Some(e.as_slice()),
            None,
        ),
        Error::RateLimited { .. } => ("rate-limited", "Too many requests", None, None),
        Error::Unavailable(_) | Error::Interrupted(_) => {
            ("unavailable", "Service unavailable", None, None)
        }
        Error::Internal(_) => ("internal", "Internal error", None, None),
    };
    let detail = match err {
        Error::Internal(why) => {
            tracing::error!(error = %why, "internal error");
            "an internal error occurred; it has been logged".to_string()
        }
        Error::Unavailable(why) => {
            tracing::warn!(error = %why, "dependency unavailable");
            "a dependency is unavailable; retry later".to_string()
        }
        Error::Invalid(errors) | Error::Unprocessable(errors) => errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; "),
        Error::VersionMismatch { .. } => {
            "the resource changed since you read it: read it again and retry with its version"
                .into()
        }
        Error::MethodNotAllowed { allow } => format!("allowed methods: {}", allow.join(", ")),
        Error::Interrupted(what) => what.clone(),
        Error::RateLimited { what, retry_after } => {
            format!("{what}; retry in {retry_after} s")
        }
        other => other.to_string(),
    };
    let body = Problem {
        kind: &format!("urn:keygate:problem:{kind}"),
        title,
        status,
        detail,
        errors,
        current_version,
    };
    let bytes = serde_json::to_vec(&body).unwrap_or_else(|_| b"{}".to_vec());
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut res = with_type(code, PROBLEM_JSON, bytes);
    if let Error::MethodNotAllowed { allow } = err
        && let Ok(v) = HeaderValue::from_str(&allow.join(", "))
    {
        res.headers_mut().insert(header::ALLOW, v);
    }
    if status == 503 {
        res.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from_static(RETRY_AFTER_SECONDS),
        );
    }
    if let Error::RateLimited { retry_after, .. } = err {
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
    }
    if let Error::Unauthenticated(_) = err {
        res.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    res
}

/// What a 503 asks the caller to wait before retrying.
pub const RETRY_AFTER_SECONDS: &str = "1";

/// Turns a handler's result into the response: the value, or its problem. Every response of
/// every function is finished here, so each says `X-Content-Type-Options: nosniff`: a browser
/// never reads a JSON body, a problem or an asset as anything but its declared type.
pub fn respond(result: Result<Response<Body>>) -> Response<Body> {
    let mut res = result.unwrap_or_else(|e| problem(&e));
    res.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::http;

    const ROUTES: Router = Router::new(&[
        "GET /v1/projects/{p}",
        "PUT /v1/projects/{p}/members/{user}",
        "DELETE /v1/projects/{p}/members/{user}",
    ]);

    fn request(content_type: Option<&str>, body: &str) -> Request {
        let mut b = http::Request::builder().method("POST").uri("/x");
        if let Some(ct) = content_type {
            b = b.header("content-type", ct);
        }
        b.body(Body::from(body.to_string())).expect("valid request")
    }

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Input {
        name: String,
        count: Option<u32>,
    }

    #[test]
    fn routes_match_with_params_and_decode() {
        let m = ROUTES
            .find(&Method::PUT, "/v1/projects/p1/members/a%40b")
            .expect("route");
        assert_eq!(m.route, "PUT /v1/projects/{p}/members/{user}");
        assert_eq!(m.param("p").expect("p"), "p1");
        assert_eq!(m.param("user").expect("user"), "a@b");
        assert!(m.param("nope").is_err());
        // A broken escape names nothing (found by fuzz/fuzz_targets/api_router.rs).
        for broken in ["/v1/projects/%+41", "/v1/projects/%4", "/v1/projects/%zz"] {
            assert_eq!(ROUTES.find(&Method::GET, broken).unwrap_err().status(), 404);
        }
    }

    crate::routes! {
        enum Route {
            Get = "GET /v1/projects/{p}",
            PutMember = "PUT /v1/projects/{p}/members/{user}",
        }
    }

    #[test]
    fn a_routes_table_names_each_route_with_its_variant() {
        let (route, m) = Route::find(&Method::PUT, "/v1/projects/p1/members/u%20v").expect("route");
        assert_eq!(route, Route::PutMember);
        assert_eq!(m.param("user").expect("user"), "u v");
        assert_eq!(
            Route::find(&Method::GET, "/v1/projects/p1")
                .expect("route")
                .0,
            Route::Get
        );
        assert_eq!(
            Route::find(&Method::DELETE, "/v1/projects/p1")
                .unwrap_err()
                .status(),
            405
        );
    }

    #[test]
    fn check_refuses_a_table_with_an_unreachable_or_malformed_route() {
        assert_eq!(ROUTES.check(), Ok(()));
        // A specific route before a general one is fine; after it, it is never reached.
        assert_eq!(
            Router::new(&["GET /v1/keys/mine", "GET /v1/keys/{k}"]).check(),
            Ok(())
        );
        let refused: [&[&'static str]; 7] = [
            &["GET /v1/keys/{k}", "GET /v1/keys/mine"],
            &["GET /v1/keys/{k}", "GET /v1/keys/{id}"],
            &["GET /v1/a", "GET /v1/a"],
            &["get /v1/a"],
            &["GET v1/a"],
            &["GET /v1/{p}/x/{p}"],
            &["GET /v1//a"],
        ];
        for table in refused {
            assert!(Router::new(table).check().is_err(), "{table:?}");
        }
        // Another method is another route.
        assert_eq!(Router::new(&["GET /v1/a", "PUT /v1/a"]).check(), Ok(()));
    }

    #[test]
    fn unknown_path_is_404_and_wrong_method_is_405() {
        assert_eq!(
            ROUTES
                .find(&Method::GET, "/v1/nothing")
                .unwrap_err()
                .status(),
            404
        );
        assert_eq!(
            ROUTES
                .find(&Method::GET, "/v1/projects//members/x")
                .unwrap_err()
                .status(),
            404
        );
        match ROUTES.find(&Method::POST, "/v1/projects/p1/members/u") {
            Err(Error::MethodNotAllowed { allow }) => assert_eq!(allow, vec!["PUT", "DELETE"]),
            other => panic!("expected 405, got {other:?}"),
        }
        let res = problem(&ROUTES.find(&Method::POST, "/v1/projects/p1").unwrap_err());
        assert_eq!(res.status(), 405);
        assert_eq!(res.headers()["allow"], "GET");
    }

    #[test]
    fn body_needs_json_content_type() {
        let e = json_body::<Input>(&request(None, r#"{"name":"a"}"#), 1000).unwrap_err();
        assert!(matches!(e, Error::BadRequest(_)));
        let e =
            json_body::<Input>(&request(Some("text/plain"), r#"{"name":"a"}"#), 1000).unwrap_err();
        assert!(matches!(e, Error::BadRequest(_)));
        let ok = json_body::<Input>(
            &request(Some("application/json; charset=utf-8"), r#"{"name":"a"}"#),
            1000,
        );
        assert!(ok.is_ok());
    }

    #[test]
    fn empty_malformed_and_oversized_bodies() {
        let ct = Some("application/json");
        assert!(matches!(
            json_body::<Input>(&request(ct, "  "), 1000),
            Err(Error::BadRequest(_))
        ));
        assert!(matches!(
            json_body::<Input>(&request(ct, "{\"name\":"), 1000),
            Err(Error::BadRequest(_))
        ));
        assert!(matches!(
            json_body::<Input>(&request(ct, r#"{"name":"aaaaaaaaaa"}"#), 10),
            Err(Error::PayloadTooLarge { limit: 10 })
        ));
    }

    #[test]
    fn type_errors_name_the_field() {
        let ct = Some("application/json");
        match json_body::<Input>(&request(ct, r#"{"name":"a","count":"x"}"#), 1000) {
            Err(Error::Invalid(errors)) => {
                assert_eq!(errors[0].field, "count");
                assert!(!errors[0].message.contains("line"), "{}", errors[0].message);
            }
            other => panic!("expected field error, got {other:?}"),
        }
        match json_body::<Input>(&request(ct, r#"{"count":1}"#), 1000) {
            Err(Error::Invalid(errors)) => {
                assert_eq!(errors[0], FieldError::new("name", "is required"));
            }
            other => panic!("expected missing-field error, got {other:?}"),
        }
        assert!(matches!(
            json_body::<Input>(&request(ct, "[1]"), 1000),
            Err(Error::BadRequest(_))
        ));
        match json_body::<Input>(&request(ct, r#"{"name":"a","colour":1}"#), 1000) {
            Err(Error::Invalid(errors)) => assert!(errors[0].message.contains("colour")),
            other => panic!("expected unknown-field error, got {other:?}"),
        }
    }

    #[test]
    fn problems_are_rfc9457_json() {
        let res = problem(&Error::Invalid(vec![FieldError::new(
            "name",
            "is required",
        )]));
        assert_eq!(res.status(), 400);
        assert_eq!(res.headers()["content-type"], PROBLEM_JSON);
        let v: serde_json::Value = serde_json::from_slice(res.body().as_ref()).expect("json");
        assert_eq!(v["type"], "urn:keygate:problem:validation");
        assert_eq!(v["status"], 400);
        assert_eq!(v["errors"][0]["field"], "name");
        let res = problem(&Error::Internal("db password is hunter2".into()));
        let v: serde_json::Value = serde_json::from_slice(res.body().as_ref()).expect("json");
        assert!(!v["detail"].as_str().unwrap_or("").contains("hunter2"));
    }

    #[test]
    fn every_finished_response_says_nosniff() {
        for res in [
            respond(Ok(json(StatusCode::OK, &serde_json::json!({"a": 1})))),
            respond(Ok(no_content())),
            respond(Err(Error::NotFound("x".into()))),
            respond(Err(Error::Unavailable("x".into()))),
        ] {
            assert_eq!(res.headers()["x-content-type-options"], "nosniff");
        }
    }

    #[test]
    fn a_503_says_when_to_retry_and_an_interruption_says_what_failed() {
        let res = problem(&Error::Unavailable("endpoint dump".into()));
        assert_eq!(res.status(), 503);
        assert_eq!(res.headers()["retry-after"], RETRY_AFTER_SECONDS);
        let v: serde_json::Value = serde_json::from_slice(res.body().as_ref()).expect("json");
        assert!(!v["detail"].as_str().unwrap_or("").contains("dump"));
        let res = problem(&Error::Interrupted("writing secret x failed; retry".into()));
        assert_eq!(res.status(), 503);
        assert_eq!(res.headers()["retry-after"], RETRY_AFTER_SECONDS);
        let v: serde_json::Value = serde_json::from_slice(res.body().as_ref()).expect("json");
        assert_eq!(v["detail"], "writing secret x failed; retry");
        assert!(
            problem(&Error::Conflict("c".into()))
                .headers()
                .get("retry-after")
                .is_none()
        );
    }
}
