//! `keygate-platform gateway`: the local stand-in for the deployed `PlatformApi` of
//! infra/template.yaml, an API Gateway HTTP API with one route, `ANY /projects/{proxy+}`,
//! guarded by the `authorizer` Lambda (REQUEST, payload 2.0, simple responses, cached per
//! identity source values) and integrated as HTTP_PROXY with the decision's context and the
//! gateway secret written over the call's `x-keygate-*` headers.
//!
//! Each answer it gives on its own is the one the API Gateway documentation describes; the
//! page is cited where the answer is made. `GET /_gateway/stats` and
//! `POST /_gateway/cache/clear` are local-only extras (for tests and the bench): API Gateway
//! has no such paths.

mod cache;
pub mod event;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hyper::body::{Bytes, Incoming};
use hyper::header::{CONNECTION, CONTENT_LENGTH, HOST, HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use crate::cli::{self, Flags, Secret};
use crate::serve::{self, Body, BodyError, Peer, Server};
pub use cache::Answer;
use cache::Cache;
use event::Call;

/// `keygate-platform gateway --help`.
pub const HELP: &str = "\
keygate-platform gateway: the local stand-in for the deployed PlatformApi (API Gateway HTTP API
with the keygate authorizer in front of the platform backend), on 127.0.0.1 only.

Only `ANY /projects/{proxy+}` is routed. A call without an Authorization header gets 401
without invoking the authorizer; otherwise the authorizer Lambda is invoked (payload 2.0
REQUEST event, simple response), its answer cached per identity source values for
--cache-seconds, and an allowed call is forwarded to <backend>/projects/<proxy>?<query> with
x-keygate-key-id, -holder, -project, -role (from the answer's context) and
x-keygate-gateway-secret written over any the caller sent.

Local-only extras (not in API Gateway): GET /_gateway/stats, POST /_gateway/cache/clear.

Flags (each also from its environment variable):
  --port N              GATEWAY_PORT              port on 127.0.0.1; 0 (default) picks a free one
  --authorizer-url URL  AUTHORIZER_URL            the authorizer's Lambda Invoke URL, e.g.
                        http://127.0.0.1:9000/2015-03-31/functions/authorizer/invocations
  --backend URL         PLATFORM_BACKEND_URL      the platform backend's base URL (loopback)
  --secret S            PLATFORM_BACKEND_SECRET   the gateway secret (32-256 of A-Za-z0-9_-);
                                                  prefer the variable: argv is visible in ps
  --cache-seconds N     AUTHORIZER_CACHE_SECONDS  authorizer cache TTL, 0-3600 (default 0: none)

Prints `listening on 127.0.0.1:<port>` first, then one line per request.";

/// The flag names `gateway` accepts.
pub const FLAGS: &[&str] = &[
    "port",
    "authorizer-url",
    "backend",
    "secret",
    "cache-seconds",
];

/// "Maximum integration timeout: 30 seconds", "Timeout for Lambda authorizer response:
/// 10000 ms" and "Payload size: 10 MB" ("Quotas for configuring and running an HTTP API in API
/// Gateway", https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html).
const INTEGRATION_TIMEOUT: Duration = Duration::from_secs(30);
const AUTHORIZER_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_BODY: usize = 10 * 1024 * 1024;

/// The headers the integration's `RequestParameters` overwrite, and the context key each
/// one takes (infra/template.yaml, `PlatformIntegration`).
const CONTEXT_HEADERS: [(&str, &str); 4] = [
    ("x-keygate-key-id", "key_id"),
    ("x-keygate-holder", "holder"),
    ("x-keygate-project", "project_id"),
    ("x-keygate-role", "role"),
];
const SECRET_HEADER: &str = "x-keygate-gateway-secret";

/// Hop-by-hop headers (RFC 9110 section 7.6.1) and the ones the client recomputes: never
/// passed from one connection to the next.
const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// The gateway's settings.
#[derive(Debug)]
pub struct GatewayConfig {
    pub port: u16,
    pub authorizer_url: reqwest::Url,
    pub backend: reqwest::Url,
    pub secret: Secret,
    pub cache_seconds: u64,
}

impl GatewayConfig {
    /// Reads and checks the flags (or their variables): URLs must be loopback.
    pub fn from_flags(flags: &Flags) -> Result<Self, String> {
        let url = |flag: &str, env: &str| -> Result<reqwest::Url, String> {
            let raw = flags
                .get(flag, env)
                .ok_or_else(|| format!("--{flag} (or {env}) is required"))?;
            cli::loopback_url(&raw, flag)
        };
        let cache_seconds = match flags.get("cache-seconds", "AUTHORIZER_CACHE_SECONDS") {
            None => 0,
            Some(raw) => raw
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|s| *s <= 3600)
                .ok_or_else(|| {
                    format!(
                        "--cache-seconds must be 0 to 3600 (AuthorizerCacheSeconds), not {raw:?}"
                    )
                })?,
        };
        Ok(Self {
            port: cli::port(flags.get("port", "GATEWAY_PORT"), "port")?,
            authorizer_url: url("authorizer-url", "AUTHORIZER_URL")?,
            backend: url("backend", "PLATFORM_BACKEND_URL")?,
            secret: Secret::parse(flags.get("secret", "PLATFORM_BACKEND_SECRET"), "secret")?,
            cache_seconds,
        })
    }
}

/// What the gateway has done since it started (`GET /_gateway/stats`).
#[derive(Default)]
struct Stats {
    requests: AtomicU64,
    authorizer_invocations: AtomicU64,
    cache_hits: AtomicU64,
    unauthorized: AtomicU64,
    forbidden: AtomicU64,
    errors: AtomicU64,
}

impl Stats {
    fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn snapshot(&self) -> Value {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        json!({
            "requests": get(&self.requests),
            "authorizer_invocations": get(&self.authorizer_invocations),
            "cache_hits": get(&self.cache_hits),
            "unauthorized": get(&self.unauthorized),
            "forbidden": get(&self.forbidden),
            "errors": get(&self.errors),
        })
    }
}

struct Gateway {
    authorizer_url: reqwest::Url,
    /// The backend's base URL without a trailing `/`.
    backend: String,
    secret: HeaderValue,
    /// One keep-alive pool for the invoke URL and the backend.
    client: reqwest::Client,
    cache: Cache,
    stats: Stats,
}

/// Starts the gateway on 127.0.0.1.
pub async fn start(config: GatewayConfig) -> std::io::Result<Server> {
    let mut secret =
        HeaderValue::from_str(config.secret.expose()).map_err(std::io::Error::other)?;
    secret.set_sensitive(true);
    let client = reqwest::Client::builder()
        // Loopback only: no proxy from the environment, and API Gateway follows no redirect.
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .tcp_nodelay(true)
        .build()
        .map_err(std::io::Error::other)?;
    let gateway = Arc::new(Gateway {
        authorizer_url: config.authorizer_url,
        backend: config.backend.as_str().trim_end_matches('/').to_string(),
        secret,
        client,
        cache: Cache::new(Duration::from_secs(config.cache_seconds)),
        stats: Stats::default(),
    });
    serve::serve("gateway", config.port, move |req| {
        let gateway = gateway.clone();
        async move { gateway.handle(req).await }
    })
    .await
}

/// API Gateway's own error answers: `{"message": "..."}` as JSON.
fn message(status: StatusCode, text: &str) -> Response<Body> {
    serve::json(status, &json!({ "message": text }))
}

/// A valid simple response: `{"isAuthorized": bool, "context": {...}}` (context optional).
/// Anything else is "a response in an invalid format".
pub fn parse_answer(body: &[u8]) -> Option<Answer> {
    let Ok(Value::Object(mut answer)) = serde_json::from_slice::<Value>(body) else {
        return None;
    };
    let authorized = answer.get("isAuthorized")?.as_bool()?;
    let context = match answer.remove("context") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(context)) => context,
        Some(_) => return None,
    };
    Some(Answer {
        authorized,
        context: Arc::new(context),
    })
}

/// Drops hop-by-hop headers, those the `Connection` header names, and `content-length`.
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
    headers.remove(CONTENT_LENGTH);
}

/// A context value as a header value: strings as they are, other JSON as JSON text.
fn context_header(value: Option<&Value>) -> Result<Option<HeaderValue>, ()> {
    let text = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    HeaderValue::from_str(&text).map(Some).map_err(|_| ())
}

impl Gateway {
    async fn handle(self: Arc<Self>, req: Request<Incoming>) -> Response<Body> {
        let request_id = ulid::Ulid::new().to_string();
        let mut res = self.answer(req, &request_id).await;
        // HTTP APIs name every response with its request id in this header.
        if let Ok(id) = HeaderValue::from_str(&request_id) {
            res.headers_mut().insert("apigw-requestid", id);
        }
        res
    }

    async fn answer(&self, req: Request<Incoming>, request_id: &str) -> Response<Body> {
        match (req.method(), req.uri().path()) {
            (&Method::GET, "/_gateway/stats") => {
                return serve::json(StatusCode::OK, &self.stats.snapshot());
            }
            (&Method::POST, "/_gateway/cache/clear") => {
                let cleared = self.cache.clear();
                return serve::json(StatusCode::OK, &json!({ "cleared": cleared }));
            }
            _ => {}
        }
        Stats::bump(&self.stats.requests);

        // "If no routes match a request, API Gateway returns {"message":"Not Found"} to the
        // client." `{proxy+}` needs at least one segment, so `/projects/` matches nothing.
        // ("Working with routes for HTTP APIs", Routing API requests,
        // https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html)
        let path = req.uri().path().to_string();
        let Some(proxy) = path.strip_prefix("/projects/").filter(|p| !p.is_empty()) else {
            return message(StatusCode::NOT_FOUND, "Not Found");
        };
        let raw_query = req.uri().query().unwrap_or_default().to_string();
        let source_ip = req
            .extensions()
            .get::<Peer>()
            .map(|p| p.0.ip().to_string())
            .unwrap_or_default();
        let call = Call {
            method: req.method(),
            raw_path: &path,
            raw_query: &raw_query,
            proxy,
            headers: req.headers(),
            source_ip,
            request_id,
            now: OffsetDateTime::now_utc(),
        };

        // "If you specify identity sources, clients must include them in the request. If the
        // client's request doesn't include the identity sources, API Gateway doesn't invoke
        // your Lambda authorizer, and the client receives a 401 error." ("Identity sources",
        // https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html#http-api-lambda-authorizer.identity-sources)
        // Missing, null or empty all count as missing: "verifying all of the
        // identity-related request parameters are present, not null and non-empty. Only when
        // this is true does the authorizer invoke the authorizer Lambda function, otherwise,
        // it returns a 401 Unauthorized response" (Authorizer.identitySource in the API
        // Gateway API reference, https://docs.aws.amazon.com/apigateway/latest/api/API_Authorizer.html;
        // written for REST APIs, and the HTTP API page above says no more).
        let Some(identity) = call.identity() else {
            Stats::bump(&self.stats.unauthorized);
            return message(StatusCode::UNAUTHORIZED, "Unauthorized");
        };

        let answer = match self.cache.get(&identity, Instant::now()) {
            Some(answer) => {
                Stats::bump(&self.stats.cache_hits);
                answer
            }
            None => {
                Stats::bump(&self.stats.authorizer_invocations);
                match self.invoke(&call.event(&identity), request_id).await {
                    Some(answer) => {
                        // The TTL runs from the answer.
                        self.cache.put(identity, answer.clone(), Instant::now());
                        answer
                    }
                    // "If API Gateway can't invoke your Lambda authorizer, or your Lambda
                    // authorizer returns a response in an invalid format, clients receive a
                    // 500 Internal Server Error." ("Troubleshooting Lambda authorizers",
                    // https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html#http-api-lambda-authorizer.troubleshooting)
                    // Not cached: the next call invokes again.
                    None => {
                        Stats::bump(&self.stats.errors);
                        return message(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
                    }
                }
            }
        };
        // A simple response's `isAuthorized: false` refuses the call: 403
        // `{"message":"Forbidden"}`. The HTTP API page above gives no status for it; this is
        // what HTTP APIs answer (AWS re:Post, "HTTP API lambda authorizer": "status 403 with a
        // message of "forbidden" when ever i pass isAuthorized = false",
        // https://repost.aws/questions/QU4ik4HXnoRu-OQiSz12By5g/http-api-lambda-authorizer).
        if !answer.authorized {
            Stats::bump(&self.stats.forbidden);
            return message(StatusCode::FORBIDDEN, "Forbidden");
        }
        let target = format!(
            "{}/projects/{}{}{}",
            self.backend,
            proxy,
            if raw_query.is_empty() { "" } else { "?" },
            raw_query
        );
        self.forward(req, &target, &answer, request_id).await
    }

    /// Invokes the authorizer through the Lambda Invoke API. `None` for anything but a valid
    /// simple response: no answer, a non-2xx status, a function error (Invoke answers 200
    /// with `X-Amz-Function-Error` when the function fails), or a body of another shape.
    async fn invoke(&self, event: &Value, request_id: &str) -> Option<Answer> {
        let failed = |why: &str| {
            eprintln!("gateway {request_id}: authorizer failed: {why}");
            None
        };
        let res = match self
            .client
            .post(self.authorizer_url.clone())
            .json(event)
            .timeout(AUTHORIZER_TIMEOUT)
            .send()
            .await
        {
            Ok(res) => res,
            Err(e) => return failed(&format!("invoke: {}", e.without_url())),
        };
        let status = res.status();
        if !status.is_success() {
            return failed(&format!("invoke answered {status}"));
        }
        if let Some(kind) = res.headers().get("x-amz-function-error") {
            return failed(&format!(
                "function error {}",
                String::from_utf8_lossy(kind.as_bytes())
            ));
        }
        let body = match res.bytes().await {
            Ok(body) => body,
            Err(e) => return failed(&format!("reading the answer: {}", e.without_url())),
        };
        match parse_answer(&body) {
            Some(answer) => Some(answer),
            None => failed("the answer is not a simple response {\"isAuthorized\": bool, ...}"),
        }
    }

    /// The HTTP_PROXY integration: "API Gateway passes the entire request and response
    /// between the frontend and the backend" ("Working with HTTP proxy integrations for HTTP
    /// APIs", https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-http.html),
    /// after the integration's `overwrite:header.*` request parameters ("Transforming API
    /// requests and responses",
    /// https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-parameter-mapping.html).
    async fn forward(
        &self,
        req: Request<Incoming>,
        target: &str,
        answer: &Answer,
        request_id: &str,
    ) -> Response<Body> {
        let (parts, body) = req.into_parts();
        let body = match serve::read_body(body, MAX_BODY).await {
            Ok(body) => body,
            Err(BodyError::TooLarge) => {
                return message(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large");
            }
            Err(BodyError::Broken) => return message(StatusCode::BAD_REQUEST, "Bad Request"),
        };
        let mut headers = parts.headers;
        strip_hop_by_hop(&mut headers);
        // The client sets Host for the backend, as API Gateway calls the integration's host.
        headers.remove(HOST);
        // `overwrite:` replaces exactly the named headers; any other `x-keygate-*` header a
        // caller sends passes as it came.
        for (header, key) in CONTEXT_HEADERS {
            headers.remove(header);
            match context_header(answer.context.get(key)) {
                Ok(Some(value)) => {
                    headers.insert(header, value);
                }
                Ok(None) => {}
                Err(()) => {
                    eprintln!("gateway {request_id}: context value {key} is not a header value");
                    Stats::bump(&self.stats.errors);
                    return message(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
                }
            }
        }
        headers.insert(SECRET_HEADER, self.secret.clone());

        // A backend that cannot be reached or does not answer within the integration timeout
        // gets 503 `{"message":"Service Unavailable"}`: what HTTP APIs answer (an HTTP API's
        // timed-out integration, with its apigw-requestid header, in
        // https://github.com/cortexlabs/cortex/issues/1225; and "A 503 error code is related
        // to the backend integration and if the API Gateway API can't receive a response" in
        // AWS re:Post's "status codes http api gateway proxy"). HTTP APIs have no separate 504
        // "Endpoint request timed out" as REST APIs do.
        let unavailable = |why: String| {
            eprintln!("gateway {request_id}: integration failed: {why}");
            Stats::bump(&self.stats.errors);
            message(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable")
        };
        let res = match self
            .client
            .request(parts.method, target)
            .headers(headers)
            .body(body)
            .timeout(INTEGRATION_TIMEOUT)
            .send()
            .await
        {
            Ok(res) => res,
            Err(e) => return unavailable(e.without_url().to_string()),
        };
        let status = res.status();
        let mut headers = res.headers().clone();
        let body: Bytes = match res.bytes().await {
            Ok(body) => body,
            Err(e) => return unavailable(e.without_url().to_string()),
        };
        strip_hop_by_hop(&mut headers);
        let mut out = Response::new(http_body_util::Full::new(body));
        *out.status_mut() = status;
        *out.headers_mut() = headers;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_simple_response_is_an_answer() {
        let allow = parse_answer(br#"{"isAuthorized":true,"context":{"key_id":"k"}}"#)
            .expect("valid answer");
        assert!(allow.authorized);
        assert_eq!(allow.context.get("key_id"), Some(&json!("k")));
        assert!(
            !parse_answer(br#"{"isAuthorized":false}"#)
                .expect("valid")
                .authorized
        );
        for bad in [
            &b"not json"[..],
            br#"{"isAuthorized":"true"}"#,
            br#"{"context":{}}"#,
            br#"{"isAuthorized":true,"context":"x"}"#,
            br#"[true]"#,
            br#"{"principalId":"x","policyDocument":{}}"#,
        ] {
            assert!(
                parse_answer(bad).is_none(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn hop_by_hop_headers_and_those_connection_names_are_dropped() {
        let mut h = HeaderMap::new();
        h.insert(
            "connection",
            HeaderValue::from_static("keep-alive, x-private"),
        );
        h.insert("x-private", HeaderValue::from_static("1"));
        h.insert("transfer-encoding", HeaderValue::from_static("chunked"));
        h.insert("content-length", HeaderValue::from_static("3"));
        h.insert("x-kept", HeaderValue::from_static("1"));
        strip_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key("x-kept"));
    }

    #[test]
    fn context_values_become_header_text() {
        assert_eq!(context_header(None), Ok(None));
        assert_eq!(context_header(Some(&Value::Null)), Ok(None));
        assert_eq!(
            context_header(Some(&json!("reader"))),
            Ok(Some(HeaderValue::from_static("reader")))
        );
        assert_eq!(
            context_header(Some(&json!(3))),
            Ok(Some(HeaderValue::from_static("3")))
        );
        assert_eq!(context_header(Some(&json!("a\nb"))), Err(()));
    }
}
