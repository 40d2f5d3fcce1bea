//! The gateway's API Gateway behaviour over HTTP on loopback, with a stand-in for the Lambda
//! Invoke endpoint playing the authorizer function (its answer picked by the token) and an
//! echo backend that returns what it received. The real authorizer is tested end to end in
//! tests/tests/platform.rs.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use hyper::header::HeaderValue;
use hyper::{Response, StatusCode};
use keygate_platform::cli::{Secret, loopback_url};
use keygate_platform::gateway::{GatewayConfig, start};
use keygate_platform::serve::{self, Body, Server};
use serde_json::{Map, Value, json};

const SECRET: &str = "test-secret-0123456789-abcdefghijklmnop";

/// The Lambda Invoke stand-in: records each event, answers by the token.
struct Authorizer {
    server: Server,
    events: Arc<Mutex<Vec<Value>>>,
}

impl Authorizer {
    async fn start() -> Self {
        let events = Arc::new(Mutex::new(Vec::new()));
        let seen = events.clone();
        let server = serve::serve("authorizer", 0, move |req| {
            let seen = seen.clone();
            async move {
                let body = serve::read_body(req.into_body(), 1 << 20)
                    .await
                    .expect("event body");
                let event: Value = serde_json::from_slice(&body).expect("event is JSON");
                let token = event["identitySource"][0]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                seen.lock().expect("lock").push(event);
                answer(&token)
            }
        })
        .await
        .expect("authorizer stand-in starts");
        Self { server, events }
    }

    fn url(&self) -> String {
        format!(
            "{}/2015-03-31/functions/authorizer/invocations",
            self.server.url()
        )
    }

    fn invocations(&self) -> usize {
        self.events.lock().expect("lock").len()
    }

    fn last_event(&self) -> Value {
        self.events
            .lock()
            .expect("lock")
            .last()
            .cloned()
            .expect("an event")
    }
}

fn answer(token: &str) -> Response<Body> {
    match token {
        "Bearer allow" => serve::json(
            StatusCode::OK,
            &json!({"isAuthorized": true, "context": {
                "key_id": "key-1", "holder": "bob", "project_id": "server", "role": "reader",
                "reason": ""
            }}),
        ),
        "Bearer crash" => {
            let mut res = serve::json(
                StatusCode::OK,
                &json!({"errorType": "Error", "errorMessage": "boom"}),
            );
            res.headers_mut().insert(
                "x-amz-function-error",
                HeaderValue::from_static("Unhandled"),
            );
            res
        }
        "Bearer garbage" => serve::json(StatusCode::OK, &json!({"allowed": true})),
        "Bearer policy" => serve::json(
            StatusCode::OK,
            &json!({"principalId": "x", "policyDocument": {"Statement": []}}),
        ),
        "Bearer status" => serve::json(StatusCode::BAD_GATEWAY, &json!({})),
        _ => serve::json(
            StatusCode::OK,
            &json!({"isAuthorized": false, "context": {"reason": "revoked"}}),
        ),
    }
}

/// A backend that answers 201 with what it received, and a header of its own.
async fn echo_backend() -> Server {
    serve::serve("backend", 0, |req| async move {
        let method = req.method().to_string();
        let path = req.uri().path().to_string();
        let query = req.uri().query().unwrap_or_default().to_string();
        let mut headers = Map::new();
        for name in req.headers().keys() {
            let values: Vec<String> = req
                .headers()
                .get_all(name)
                .iter()
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .collect();
            headers.insert(name.to_string(), json!(values.join(",")));
        }
        let body = serve::read_body(req.into_body(), 1 << 20)
            .await
            .expect("body");
        let mut res = serve::json(
            StatusCode::CREATED,
            &json!({
                "method": method, "path": path, "query": query, "headers": headers,
                "body": String::from_utf8_lossy(&body),
            }),
        );
        res.headers_mut()
            .insert("x-backend", HeaderValue::from_static("echo"));
        res
    })
    .await
    .expect("echo backend starts")
}

async fn gateway(authorizer: &str, backend: &str, cache_seconds: u64) -> Server {
    start(GatewayConfig {
        port: 0,
        authorizer_url: loopback_url(authorizer, "authorizer-url").expect("loopback"),
        backend: loopback_url(backend, "backend").expect("loopback"),
        secret: Secret::parse(Some(SECRET.into()), "secret").expect("valid secret"),
        cache_seconds,
    })
    .await
    .expect("gateway starts")
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
}

struct Got {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

async fn call(method: reqwest::Method, url: String, headers: &[(&str, &str)], body: &str) -> Got {
    let mut req = client().request(method, url).body(body.to_string());
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let res = req.send().await.expect("gateway answers");
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let bytes = res.bytes().await.expect("body");
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Got {
        status,
        headers,
        body,
    }
}

async fn get(url: String, token: Option<&str>) -> Got {
    let auth;
    let headers: Vec<(&str, &str)> = match token {
        Some(t) => {
            auth = format!("Bearer {t}");
            vec![("authorization", auth.as_str())]
        }
        None => Vec::new(),
    };
    call(reqwest::Method::GET, url, &headers, "").await
}

async fn stats(gw: &Server) -> Value {
    get(format!("{}/_gateway/stats", gw.url()), None).await.body
}

#[tokio::test]
async fn no_or_empty_authorization_is_401_and_the_authorizer_is_not_invoked() {
    let auth = Authorizer::start().await;
    let backend = echo_backend().await;
    let gw = gateway(&auth.url(), &backend.url(), 0).await;
    let url = format!("{}/projects/server/data_layers/last", gw.url());

    let none = get(url.clone(), None).await;
    assert_eq!(none.status, 401);
    assert_eq!(none.body, json!({"message": "Unauthorized"}));
    assert!(none.headers.contains_key("apigw-requestid"));
    let empty = call(reqwest::Method::GET, url, &[("authorization", "")], "").await;
    assert_eq!(empty.status, 401);
    assert_eq!(auth.invocations(), 0);
    assert_eq!(stats(&gw).await["unauthorized"], 2);
}

#[tokio::test]
async fn a_refusal_is_403_forbidden() {
    let auth = Authorizer::start().await;
    let backend = echo_backend().await;
    let gw = gateway(&auth.url(), &backend.url(), 0).await;
    let got = get(
        format!("{}/projects/server/data_layers/last", gw.url()),
        Some("deny"),
    )
    .await;
    assert_eq!(got.status, 403);
    assert_eq!(got.body, json!({"message": "Forbidden"}));
    assert_eq!(auth.invocations(), 1);
    assert_eq!(stats(&gw).await["forbidden"], 1);
}

#[tokio::test]
async fn function_errors_and_malformed_answers_are_500_and_not_cached() {
    let auth = Authorizer::start().await;
    let backend = echo_backend().await;
    let gw = gateway(&auth.url(), &backend.url(), 60).await;
    let url = format!("{}/projects/server/data_layers/last", gw.url());
    for token in ["crash", "garbage", "policy", "status"] {
        let got = get(url.clone(), Some(token)).await;
        assert_eq!(got.status, 500, "{token}");
        assert_eq!(
            got.body,
            json!({"message": "Internal Server Error"}),
            "{token}"
        );
    }
    // Errors are not cached: the same call invokes again.
    let again = get(url.clone(), Some("crash")).await;
    assert_eq!(again.status, 500);
    assert_eq!(auth.invocations(), 5);
    assert_eq!(stats(&gw).await["errors"], 5);

    // An invoke URL nothing listens on.
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let gw2 = gateway(&format!("http://127.0.0.1:{dead}/x"), &backend.url(), 0).await;
    let got = get(format!("{}/projects/server/x", gw2.url()), Some("allow")).await;
    assert_eq!(got.status, 500);
}

#[tokio::test]
async fn paths_off_the_projects_route_are_404_not_found() {
    let auth = Authorizer::start().await;
    let backend = echo_backend().await;
    let gw = gateway(&auth.url(), &backend.url(), 0).await;
    for path in [
        "/",
        "/v1/projects",
        "/projects",
        "/projects/",
        "/projectsx/a",
        "/_gateway/nope",
    ] {
        let got = get(format!("{}{path}", gw.url()), Some("allow")).await;
        assert_eq!(got.status, 404, "{path}");
        assert_eq!(got.body, json!({"message": "Not Found"}), "{path}");
    }
    assert_eq!(auth.invocations(), 0);
}

#[tokio::test]
async fn allowed_calls_are_forwarded_with_the_context_headers_and_the_secret_over_forged_ones() {
    let auth = Authorizer::start().await;
    let backend = echo_backend().await;
    let gw = gateway(&auth.url(), &backend.url(), 0).await;
    let got = call(
        reqwest::Method::POST,
        format!(
            "{}/projects/server/nodes/in/packages?page_size=1&a=b",
            gw.url()
        ),
        &[
            ("authorization", "Bearer allow"),
            ("content-type", "application/json"),
            ("x-keygate-key-id", "forged"),
            ("x-keygate-holder", "mallory"),
            ("x-keygate-project", "other"),
            ("x-keygate-role", "owner"),
            ("x-keygate-gateway-secret", "guess"),
            ("x-keygate-other", "passed"),
            ("x-caller", "kept"),
        ],
        r#"{"label":"x"}"#,
    )
    .await;
    assert_eq!(got.status, 201, "{:?}", got.body);
    assert_eq!(
        got.headers.get("x-backend").and_then(|v| v.to_str().ok()),
        Some("echo")
    );
    assert!(got.headers.contains_key("apigw-requestid"));
    let seen = &got.body;
    assert_eq!(seen["method"], "POST");
    assert_eq!(seen["path"], "/projects/server/nodes/in/packages");
    assert_eq!(seen["query"], "page_size=1&a=b");
    assert_eq!(seen["body"], r#"{"label":"x"}"#);
    let h = &seen["headers"];
    assert_eq!(h["x-keygate-key-id"], "key-1");
    assert_eq!(h["x-keygate-holder"], "bob");
    assert_eq!(h["x-keygate-project"], "server");
    assert_eq!(h["x-keygate-role"], "reader");
    assert_eq!(h["x-keygate-gateway-secret"], SECRET);
    assert_eq!(h["x-keygate-other"], "passed");
    assert_eq!(h["x-caller"], "kept");
    assert_eq!(h["content-type"], "application/json");
}

#[tokio::test]
async fn the_authorizer_event_is_a_payload_2_0_request_event() {
    let auth = Authorizer::start().await;
    let backend = echo_backend().await;
    let gw = gateway(&auth.url(), &backend.url(), 0).await;
    let got = call(
        reqwest::Method::PUT,
        format!(
            "{}/projects/server/nodes/n%20x/packages?page_size=1&a=1&a=2",
            gw.url()
        ),
        &[
            ("authorization", "Bearer allow"),
            ("x-multi", "1"),
            ("x-multi", "2"),
            ("user-agent", "test-agent"),
        ],
        "",
    )
    .await;
    assert_eq!(got.status, 201);
    let event = auth.last_event();
    let path = "/projects/server/nodes/n%20x/packages";
    assert_eq!(event["version"], "2.0");
    assert_eq!(event["type"], "REQUEST");
    assert_eq!(event["routeKey"], "ANY /projects/{proxy+}");
    assert_eq!(event["rawPath"], path);
    assert_eq!(event["rawQueryString"], "page_size=1&a=1&a=2");
    assert_eq!(
        event["identitySource"],
        json!(["Bearer allow", "ANY /projects/{proxy+}", "PUT", path])
    );
    assert_eq!(
        event["queryStringParameters"],
        json!({"page_size": "1", "a": "1,2"})
    );
    assert_eq!(event["headers"]["x-multi"], "1,2");
    assert_eq!(event["headers"]["authorization"], "Bearer allow");
    assert_eq!(
        event["pathParameters"],
        json!({"proxy": "server/nodes/n%20x/packages"})
    );
    let ctx = &event["requestContext"];
    assert_eq!(ctx["http"]["method"], "PUT");
    assert_eq!(ctx["http"]["path"], path);
    assert_eq!(ctx["http"]["sourceIp"], "127.0.0.1");
    assert_eq!(ctx["http"]["userAgent"], "test-agent");
    assert_eq!(ctx["routeKey"], "ANY /projects/{proxy+}");
    assert_eq!(ctx["stage"], "$default");
    assert_eq!(
        got.headers
            .get("apigw-requestid")
            .and_then(|v| v.to_str().ok()),
        ctx["requestId"].as_str()
    );
    assert!(
        event["routeArn"]
            .as_str()
            .is_some_and(|a| a.starts_with("arn:aws:execute-api:")
                && a.ends_with(&format!("/$default/PUT{path}"))),
        "{}",
        event["routeArn"]
    );
    // The authorizer function deserialises exactly this type.
    let parsed: ApiGatewayV2CustomAuthorizerV2Request =
        serde_json::from_value(event.clone()).expect("the authorizer's event type");
    assert_eq!(parsed.raw_path.as_deref(), Some(path));
    assert_eq!(parsed.request_context.http.method, hyper::Method::PUT);
    assert_eq!(
        parsed
            .identity_source
            .and_then(|s| s.first().cloned())
            .as_deref(),
        Some("Bearer allow")
    );
}

#[tokio::test]
async fn with_a_ttl_the_same_identity_is_answered_from_the_cache_until_it_expires() {
    let auth = Authorizer::start().await;
    let backend = echo_backend().await;
    let gw = gateway(&auth.url(), &backend.url(), 1).await;
    let url = |p: &str| format!("{}/projects/server/{p}", gw.url());

    assert_eq!(get(url("a"), Some("allow")).await.status, 201);
    assert_eq!(get(url("a"), Some("allow")).await.status, 201);
    assert_eq!(
        auth.invocations(),
        1,
        "the second identical call is a cache hit"
    );
    // Denials are cached too.
    assert_eq!(get(url("a"), Some("deny")).await.status, 403);
    assert_eq!(get(url("a"), Some("deny")).await.status, 403);
    assert_eq!(auth.invocations(), 2);
    // Another path, another method: other identity source values.
    assert_eq!(get(url("b"), Some("allow")).await.status, 201);
    let post = call(
        reqwest::Method::POST,
        url("a"),
        &[("authorization", "Bearer allow")],
        "{}",
    )
    .await;
    assert_eq!(post.status, 201);
    assert_eq!(auth.invocations(), 4);
    let s = stats(&gw).await;
    assert_eq!(
        (
            s["cache_hits"].as_u64(),
            s["authorizer_invocations"].as_u64()
        ),
        (Some(2), Some(4))
    );

    // After the TTL the authorizer is asked again.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(get(url("a"), Some("allow")).await.status, 201);
    assert_eq!(auth.invocations(), 5);

    // Clearing the cache makes the next call invoke as well.
    assert_eq!(get(url("a"), Some("allow")).await.status, 201);
    assert_eq!(auth.invocations(), 5);
    let cleared = call(
        reqwest::Method::POST,
        format!("{}/_gateway/cache/clear", gw.url()),
        &[],
        "",
    )
    .await;
    assert_eq!(cleared.status, 200);
    assert_eq!(get(url("a"), Some("allow")).await.status, 201);
    assert_eq!(auth.invocations(), 6);
}

#[tokio::test]
async fn without_a_ttl_every_call_invokes_the_authorizer() {
    let auth = Authorizer::start().await;
    let backend = echo_backend().await;
    let gw = gateway(&auth.url(), &backend.url(), 0).await;
    for _ in 0..3 {
        assert_eq!(
            get(format!("{}/projects/server/a", gw.url()), Some("allow"))
                .await
                .status,
            201
        );
    }
    assert_eq!(auth.invocations(), 3);
    let s = stats(&gw).await;
    assert_eq!(s["cache_hits"], 0);
    assert_eq!(s["requests"], 3);
}

#[tokio::test]
async fn an_unreachable_backend_is_503_service_unavailable() {
    let auth = Authorizer::start().await;
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let gw = gateway(&auth.url(), &format!("http://127.0.0.1:{dead}"), 0).await;
    let got = get(format!("{}/projects/server/a", gw.url()), Some("allow")).await;
    assert_eq!(got.status, 503);
    assert_eq!(got.body, json!({"message": "Service Unavailable"}));
    assert_eq!(stats(&gw).await["errors"], 1);
}
