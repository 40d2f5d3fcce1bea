//! `keygate-platform demo`: an in-memory stand-in for the data platform's API behind the
//! gateway, serving the calls of the platform manual's client script (data layer, posting a
//! package, searching for its result, listing and downloading files). It is NEVER deployed:
//! it exists so that the gateway and the authorizer can be exercised and benchmarked locally,
//! and says so in every response (`x-demo-platform`).
//!
//! It trusts only calls that came through the keygate gateway: each must carry the gateway
//! secret (compared in constant time), a key id, and the project of its path.

mod store;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use hyper::body::{Bytes, Incoming};
use hyper::header::{ALLOW, CONTENT_DISPOSITION, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Map, Value, json};

use crate::cli::{self, Flags, Secret};
use crate::serve::{self, Body, BodyError, Server};
use store::{Filter, Invalid, Store};

/// `keygate-platform demo --help`.
pub const HELP: &str = "\
keygate-platform demo: an in-memory STAND-IN for the platform API behind the keygate gateway.
It is never deployed; it exists to exercise the gateway and the authorizer locally. On
127.0.0.1 only; every response carries `x-demo-platform: stand-in for the platform API, not
deployed`.

It trusts only calls that came through the gateway: x-keygate-gateway-secret must equal
--secret, x-keygate-key-id must be set, and x-keygate-project must be the path's project;
anything else gets 403. Any project and node id works at once.

  GET  /projects/{p}/data_layers/last                     (with `caller`: the x-keygate-* it trusted)
  POST /projects/{p}/nodes/{n}/packages                   (JSON object body)
  POST /projects/{p}/nodes/{n}/packages/search?page_size=k (JSON object: data_layer_id,
                                                            master_id, label)
  GET  /projects/{p}/nodes/{n}/packages/{id}/files
  GET  /projects/{p}/nodes/{n}/packages/{id}/files/{file id}

A package posted on one node yields, --result-delay-ms later, a result package (label
\"result\", master_id = the posted package) on every other node of the project searched.

Flags (each also from its environment variable):
  --port N              DEMO_PLATFORM_PORT       port on 127.0.0.1; 0 (default) picks a free one
  --secret S            PLATFORM_BACKEND_SECRET  the gateway's secret (required; 32-256 of
                                                 A-Za-z0-9_-); prefer the variable
  --result-delay-ms N   DEMO_RESULT_DELAY_MS     delay before results appear (default 1500)

Prints `listening on 127.0.0.1:<port>` first, then one line per request.";

/// The flag names `demo` accepts.
pub const FLAGS: &[&str] = &["port", "secret", "result-delay-ms"];

/// At most this many packages are kept (the oldest go first).
const MAX_PACKAGES: usize = 10_000;
/// Request bodies beyond this are refused.
const MAX_BODY: usize = 1024 * 1024;

const STAND_IN: &str = "stand-in for the platform API, not deployed";

/// The demo platform's settings.
#[derive(Debug)]
pub struct DemoConfig {
    pub port: u16,
    pub secret: Secret,
    pub result_delay: Duration,
}

impl DemoConfig {
    /// Reads and checks the flags (or their variables); without a secret it refuses to start.
    pub fn from_flags(flags: &Flags) -> Result<Self, String> {
        let result_delay = match flags.get("result-delay-ms", "DEMO_RESULT_DELAY_MS") {
            None => Duration::from_millis(1500),
            Some(raw) => Duration::from_millis(raw.trim().parse().map_err(|_| {
                format!("--result-delay-ms must be a number of milliseconds, not {raw:?}")
            })?),
        };
        Ok(Self {
            port: cli::port(flags.get("port", "DEMO_PLATFORM_PORT"), "port")?,
            secret: Secret::parse(flags.get("secret", "PLATFORM_BACKEND_SECRET"), "secret")?,
            result_delay,
        })
    }
}

struct Demo {
    secret: Secret,
    store: Mutex<Store>,
}

/// Starts the demo platform on 127.0.0.1.
pub async fn start(config: DemoConfig) -> std::io::Result<Server> {
    let demo = Arc::new(Demo {
        secret: config.secret,
        store: Mutex::new(Store::new(MAX_PACKAGES, config.result_delay)),
    });
    serve::serve("demo", config.port, move |req| {
        let demo = demo.clone();
        async move {
            let mut res = demo.handle(req).await;
            res.headers_mut()
                .insert("x-demo-platform", HeaderValue::from_static(STAND_IN));
            res
        }
    })
    .await
}

/// What went wrong for the caller: each one problem+json response (RFC 9457), made in
/// `Problem::response` only.
#[derive(Debug, PartialEq)]
enum Problem {
    /// The call lacks what the gateway sets; says which header, never its value.
    NotThroughGateway(&'static str),
    NotFound(&'static str),
    MethodNotAllowed(Method),
    Invalid(String),
    TooLarge,
}

impl Problem {
    fn response(self) -> Response<Body> {
        let (status, kind, title, detail) = match &self {
            Self::NotThroughGateway(which) => (
                StatusCode::FORBIDDEN,
                "not-through-gateway",
                "Not called through the keygate gateway",
                format!(
                    "This platform trusts only calls that came through the keygate gateway, \
                     which decides on the API key and sets the x-keygate-* headers: {which}"
                ),
            ),
            Self::NotFound(what) => (
                StatusCode::NOT_FOUND,
                "not-found",
                "Not Found",
                what.to_string(),
            ),
            Self::MethodNotAllowed(allowed) => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method Not Allowed",
                format!("This path takes {allowed} only."),
            ),
            Self::Invalid(why) => (
                StatusCode::BAD_REQUEST,
                "invalid-request",
                "Invalid request",
                why.clone(),
            ),
            Self::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-large",
                "Payload Too Large",
                "The body is larger than 1 MiB.".to_string(),
            ),
        };
        let body = json!({
            "type": format!("https://keygate.dev/problems/{kind}"),
            "title": title,
            "status": status.as_u16(),
            "detail": detail,
        });
        let mut res = serve::bytes(
            status,
            "application/problem+json",
            Bytes::from(serde_json::to_vec(&body).unwrap_or_default()),
        );
        if let Self::MethodNotAllowed(allowed) = &self
            && let Ok(allow) = HeaderValue::from_str(allowed.as_str())
        {
            res.headers_mut().insert(ALLOW, allow);
        }
        res
    }
}

impl From<Invalid> for Problem {
    fn from(Invalid(why): Invalid) -> Self {
        Self::Invalid(why)
    }
}

/// The calls the demo serves, matched from the path's segments.
#[derive(Debug, PartialEq)]
enum Route<'a> {
    LastLayer {
        project: &'a str,
    },
    Post {
        project: &'a str,
        node: &'a str,
    },
    Search {
        project: &'a str,
        node: &'a str,
    },
    Files {
        project: &'a str,
        node: &'a str,
        package: &'a str,
    },
    File {
        project: &'a str,
        node: &'a str,
        package: &'a str,
        file: &'a str,
    },
}

impl<'a> Route<'a> {
    /// The route of a path, if any.
    fn of(path: &'a str) -> Option<Self> {
        let segments: Vec<&str> = path.strip_prefix('/')?.split('/').collect();
        if segments.iter().any(|s| s.is_empty()) {
            return None;
        }
        Some(match segments.as_slice() {
            ["projects", project, "data_layers", "last"] => Self::LastLayer { project },
            ["projects", project, "nodes", node, "packages"] => Self::Post { project, node },
            ["projects", project, "nodes", node, "packages", "search"] => {
                Self::Search { project, node }
            }
            [
                "projects",
                project,
                "nodes",
                node,
                "packages",
                package,
                "files",
            ] => Self::Files {
                project,
                node,
                package,
            },
            [
                "projects",
                project,
                "nodes",
                node,
                "packages",
                package,
                "files",
                file,
            ] => Self::File {
                project,
                node,
                package,
                file,
            },
            _ => return None,
        })
    }

    /// The one method the route takes.
    fn method(&self) -> Method {
        match self {
            Self::LastLayer { .. } | Self::Files { .. } | Self::File { .. } => Method::GET,
            Self::Post { .. } | Self::Search { .. } => Method::POST,
        }
    }
}

/// The project a path names (`/projects/{p}/...`), if it names one.
fn path_project(path: &str) -> Option<&str> {
    path.strip_prefix("/projects/")?
        .split('/')
        .next()
        .filter(|p| !p.is_empty())
}

/// A JSON object body (an empty body counts as `{}` when `empty_ok`).
fn object(body: &Bytes, empty_ok: bool) -> Result<Map<String, Value>, Problem> {
    if empty_ok && body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(Problem::Invalid("The body must be a JSON object.".into())),
    }
}

/// `page_size` from the query: 1 to 100, 20 without one.
fn page_size(query: Option<&str>) -> Result<usize, Problem> {
    let Some(query) = query else { return Ok(20) };
    let Ok(url) = reqwest::Url::parse(&format!("http://q/?{query}")) else {
        return Err(Problem::Invalid("The query string is not valid.".into()));
    };
    match url.query_pairs().find(|(k, _)| k == "page_size") {
        None => Ok(20),
        Some((_, v)) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=100).contains(n))
            .ok_or_else(|| {
                Problem::Invalid("page_size must be a whole number from 1 to 100.".into())
            }),
    }
}

impl Demo {
    /// Refuses a call that did not come through the gateway: the secret, the key id and the
    /// project must all be there and right. The detail names the header, never its value.
    fn check_trust(&self, headers: &HeaderMap, path: &str) -> Result<Value, Problem> {
        let secret_ok = headers
            .get("x-keygate-gateway-secret")
            .is_some_and(|v| self.secret.matches(v.as_bytes()));
        if !secret_ok {
            return Err(Problem::NotThroughGateway(
                "x-keygate-gateway-secret is missing or wrong.",
            ));
        }
        if headers
            .get("x-keygate-key-id")
            .is_none_or(|v| v.as_bytes().iter().all(u8::is_ascii_whitespace))
        {
            return Err(Problem::NotThroughGateway(
                "x-keygate-key-id is missing or empty.",
            ));
        }
        if let Some(project) = path_project(path)
            && headers.get("x-keygate-project").map(HeaderValue::as_bytes)
                != Some(project.as_bytes())
        {
            return Err(Problem::NotThroughGateway(
                "x-keygate-project is missing or is not the project of the path.",
            ));
        }
        // Who the gateway says called: the latest layer's answer shows it back.
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string()
        };
        Ok(json!({
            "key_id": header("x-keygate-key-id"),
            "holder": header("x-keygate-holder"),
            "project": header("x-keygate-project"),
            "role": header("x-keygate-role"),
        }))
    }

    async fn handle(&self, req: Request<Incoming>) -> Response<Body> {
        match self.respond(req).await {
            Ok(res) => res,
            Err(problem) => problem.response(),
        }
    }

    async fn respond(&self, req: Request<Incoming>) -> Result<Response<Body>, Problem> {
        let path = req.uri().path().to_string();
        let caller = self.check_trust(req.headers(), &path)?;
        let route =
            Route::of(&path).ok_or(Problem::NotFound("No such call on the platform API."))?;
        if *req.method() != route.method() {
            return Err(Problem::MethodNotAllowed(route.method()));
        }
        let query = req.uri().query().map(str::to_string);
        let body = match serve::read_body(req.into_body(), MAX_BODY).await {
            Ok(body) => body,
            Err(BodyError::TooLarge) => return Err(Problem::TooLarge),
            Err(BodyError::Broken) => {
                return Err(Problem::Invalid("The body could not be read.".into()));
            }
        };
        self.answer(route, query.as_deref(), body, caller)
    }

    fn answer(
        &self,
        route: Route<'_>,
        query: Option<&str>,
        body: Bytes,
        caller: Value,
    ) -> Result<Response<Body>, Problem> {
        let now = Instant::now();
        let mut store = self.store.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(match route {
            Route::LastLayer { project } => {
                let mut layer = json!(store.last_layer(project));
                // The caller as the gateway's headers name it (key, holder, project, role).
                if let Some(o) = layer.as_object_mut() {
                    o.insert("caller".into(), caller);
                }
                serve::json(StatusCode::OK, &layer)
            }
            Route::Post { project, node } => {
                let parsed = object(&body, false)?;
                let package = store.post(project, node, &parsed, body, now)?;
                serve::json(StatusCode::CREATED, &package.view())
            }
            Route::Search { project, node } => {
                let page_size = page_size(query)?;
                let filter = Filter::from_body(&object(&body, true)?)?;
                let (items, total) = store.search(project, node, &filter, page_size, now);
                let items: Vec<Value> = items.iter().map(|p| p.view()).collect();
                serve::json(
                    StatusCode::OK,
                    &json!({ "items": items, "page_size": page_size, "total": total }),
                )
            }
            Route::Files {
                project,
                node,
                package,
            } => {
                let package = store
                    .package(project, node, package)
                    .ok_or(Problem::NotFound("No such package on this node."))?;
                let files: Vec<Value> = package.files.iter().map(|f| f.summary()).collect();
                serve::json(StatusCode::OK, &Value::Array(files))
            }
            Route::File {
                project,
                node,
                package,
                file,
            } => {
                let file = store
                    .package(project, node, package)
                    .and_then(|p| p.files.iter().find(|f| f.id == file))
                    .ok_or(Problem::NotFound("No such file in a package on this node."))?;
                let mut res = serve::bytes(StatusCode::OK, file.content_type, file.bytes.clone());
                // File names are the demo's own (package.json, result.csv, result.json).
                if let Ok(disposition) =
                    HeaderValue::from_str(&format!("attachment; filename=\"{}\"", file.name))
                {
                    res.headers_mut().insert(CONTENT_DISPOSITION, disposition);
                }
                res
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_whole_paths_only() {
        assert_eq!(
            Route::of("/projects/p/data_layers/last"),
            Some(Route::LastLayer { project: "p" })
        );
        assert_eq!(
            Route::of("/projects/p/nodes/n/packages/search"),
            Some(Route::Search {
                project: "p",
                node: "n"
            })
        );
        assert_eq!(
            Route::of("/projects/p/nodes/n/packages/x/files/f"),
            Some(Route::File {
                project: "p",
                node: "n",
                package: "x",
                file: "f"
            })
        );
        for none in [
            "/",
            "/projects/p",
            "/projects//data_layers/last",
            "/projects/p/data_layers/last/",
            "/projects/p/nodes/n/packages/x",
        ] {
            assert_eq!(Route::of(none), None, "{none}");
        }
    }

    #[test]
    fn page_size_is_1_to_100_default_20() {
        assert_eq!(page_size(None).ok(), Some(20));
        assert_eq!(page_size(Some("page_size=1")).ok(), Some(1));
        assert_eq!(page_size(Some("x=1&page_size=100")).ok(), Some(100));
        for bad in ["page_size=0", "page_size=101", "page_size=a"] {
            assert!(page_size(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn demo_refuses_to_start_without_a_secret() {
        let flags = Flags::parse(Vec::<String>::new(), FLAGS).expect("no flags");
        // Only when the variable is unset too (it is in the test environment).
        if std::env::var("PLATFORM_BACKEND_SECRET").is_err() {
            assert!(DemoConfig::from_flags(&flags).is_err());
        }
    }
}
