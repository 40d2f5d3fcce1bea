//! The demo platform over HTTP on loopback: it refuses calls that did not come through the
//! gateway, and serves the platform manual's client flow (layer, post, search for the result,
//! files, download), directly and through the gateway.

use std::time::Duration;

use hyper::StatusCode;
use keygate_platform::cli::{Secret, loopback_url};
use keygate_platform::demo::{DemoConfig, start};
use keygate_platform::gateway::{self, GatewayConfig};
use keygate_platform::serve::{self, Server};
use serde_json::{Value, json};

const SECRET: &str = "demo-secret-0123456789-abcdefghijklmnop";
const DELAY: Duration = Duration::from_millis(400);

async fn demo() -> Server {
    start(DemoConfig {
        port: 0,
        secret: Secret::parse(Some(SECRET.into()), "secret").expect("valid secret"),
        result_delay: DELAY,
    })
    .await
    .expect("demo starts")
}

struct Got {
    status: u16,
    headers: reqwest::header::HeaderMap,
    bytes: Vec<u8>,
}

impl Got {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or(Value::Null)
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

async fn call(
    method: reqwest::Method,
    url: String,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Got {
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let mut req = client.request(method, url);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    if let Some(body) = body {
        req = req
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    let res = req.send().await.expect("demo answers");
    Got {
        status: res.status().as_u16(),
        headers: res.headers().clone(),
        bytes: res.bytes().await.expect("body").to_vec(),
    }
}

/// The headers the gateway sets for a call on `project`.
fn trusted(project: &str) -> Vec<(&'static str, String)> {
    vec![
        ("x-keygate-gateway-secret", SECRET.to_string()),
        ("x-keygate-key-id", "key-1".to_string()),
        ("x-keygate-project", project.to_string()),
    ]
}

async fn as_gateway(
    method: reqwest::Method,
    url: String,
    project: &str,
    body: Option<&str>,
) -> Got {
    let headers = trusted(project);
    let refs: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
    call(method, url, &refs, body).await
}

#[tokio::test]
async fn calls_without_the_gateways_headers_are_refused_without_echoing_the_secret() {
    let demo = demo().await;
    let url = format!("{}/projects/server/data_layers/last", demo.url());
    let wrong = "x".repeat(SECRET.len());
    let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            "x-keygate-gateway-secret",
            vec![("x-keygate-key-id", "k"), ("x-keygate-project", "server")],
        ),
        (
            "x-keygate-gateway-secret",
            vec![
                ("x-keygate-gateway-secret", wrong.as_str()),
                ("x-keygate-key-id", "k"),
                ("x-keygate-project", "server"),
            ],
        ),
        (
            "x-keygate-key-id",
            vec![
                ("x-keygate-gateway-secret", SECRET),
                ("x-keygate-project", "server"),
            ],
        ),
        (
            "x-keygate-key-id",
            vec![
                ("x-keygate-gateway-secret", SECRET),
                ("x-keygate-key-id", ""),
                ("x-keygate-project", "server"),
            ],
        ),
        (
            "x-keygate-project",
            vec![
                ("x-keygate-gateway-secret", SECRET),
                ("x-keygate-key-id", "k"),
                ("x-keygate-project", "other"),
            ],
        ),
    ];
    for (which, headers) in cases {
        let got = call(reqwest::Method::GET, url.clone(), &headers, None).await;
        assert_eq!(got.status, 403, "{which}");
        assert_eq!(got.header("content-type"), Some("application/problem+json"));
        let p = got.json();
        assert_eq!(
            p["type"],
            "https://keygate.dev/problems/not-through-gateway"
        );
        assert_eq!(p["status"], 403);
        let detail = p["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(which), "{which}: {detail}");
        assert!(detail.contains("through the keygate gateway"), "{detail}");
        let text = String::from_utf8_lossy(&got.bytes);
        assert!(!text.contains(SECRET) && !text.contains(&wrong), "{text}");
        assert_eq!(
            got.header("x-demo-platform"),
            Some("stand-in for the platform API, not deployed")
        );
    }
}

#[tokio::test]
async fn the_client_flow_finds_its_result_after_the_delay_and_downloads_it() {
    let demo = demo().await;
    let base = format!("{}/projects/server", demo.url());
    let get = reqwest::Method::GET;
    let post = reqwest::Method::POST;

    let layer = as_gateway(
        get.clone(),
        format!("{base}/data_layers/last"),
        "server",
        None,
    )
    .await;
    assert_eq!(layer.status, 200);
    let layer = layer.json();
    let again = as_gateway(
        get.clone(),
        format!("{base}/data_layers/last"),
        "server",
        None,
    )
    .await;
    assert_eq!(
        again.json()["id"],
        layer["id"],
        "the layer is stable per project"
    );
    assert_eq!(layer["project_id"], "server");

    let body = json!({
        "data_layer_id": layer["id"], "label": "from_client",
        "fields": {"size": 3, "span": "a,b"}, "extra": true
    })
    .to_string();
    let posted = as_gateway(
        post.clone(),
        format!("{base}/nodes/input/packages"),
        "server",
        Some(&body),
    )
    .await;
    assert_eq!(posted.status, 201);
    let package = posted.json();
    assert_eq!(package["node_id"], "input");
    assert_eq!(package["master_id"], Value::Null);
    assert_eq!(package["label"], "from_client");
    assert_eq!(
        package["fields"],
        json!([{"name": "size", "value": 3}, {"name": "span", "value": "a,b"}])
    );

    let search = json!({"data_layer_id": layer["id"], "master_id": package["id"]}).to_string();
    let search_url = format!("{base}/nodes/output/packages/search?page_size=1");
    let early = as_gateway(post.clone(), search_url.clone(), "server", Some(&search)).await;
    assert_eq!(early.status, 200);
    assert_eq!(
        early.json(),
        json!({"items": [], "page_size": 1, "total": 0})
    );

    tokio::time::sleep(DELAY + Duration::from_millis(100)).await;
    let page = as_gateway(post.clone(), search_url.clone(), "server", Some(&search))
        .await
        .json();
    assert_eq!(page["total"], 1, "{page}");
    let result = &page["items"][0];
    assert_eq!(result["master_id"], package["id"]);
    assert_eq!(result["node_id"], "output");
    assert_eq!(result["label"], "result");
    assert_eq!(result["data_layer_id"], layer["id"]);
    let fields = result["fields"].as_array().cloned().unwrap_or_default();
    assert!(
        fields.contains(&json!({"name": "result", "value": "done"})),
        "{fields:?}"
    );
    // Made once: searching again finds the same one.
    let same = as_gateway(post.clone(), search_url, "server", Some(&search))
        .await
        .json();
    assert_eq!(same["items"][0]["id"], result["id"]);
    assert_eq!(same["total"], 1);

    let id = result["id"].as_str().unwrap_or_default();
    let files = as_gateway(
        get.clone(),
        format!("{base}/nodes/output/packages/{id}/files"),
        "server",
        None,
    )
    .await;
    assert_eq!(files.status, 200);
    let files = files.json();
    let names: Vec<&str> = files
        .as_array()
        .map(|a| a.iter().filter_map(|f| f["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(names, ["result.csv", "result.json"]);
    let csv = &files[0];
    let download = as_gateway(
        get.clone(),
        format!(
            "{base}/nodes/output/packages/{id}/files/{}",
            csv["id"].as_str().unwrap_or_default()
        ),
        "server",
        None,
    )
    .await;
    assert_eq!(download.status, 200);
    assert_eq!(download.header("content-type"), Some("text/csv"));
    assert_eq!(
        download.header("content-disposition"),
        Some("attachment; filename=\"result.csv\"")
    );
    assert_eq!(Some(download.bytes.len() as u64), csv["size"].as_u64());
    let text = String::from_utf8_lossy(&download.bytes);
    assert!(text.starts_with("name,value\n"), "{text}");
    assert!(
        text.contains("span,\"a,b\"\n") && text.contains("result,done\n"),
        "{text}"
    );

    // The posted package holds the body as posted; the result is not on the input node.
    let mine = as_gateway(
        get.clone(),
        format!(
            "{base}/nodes/input/packages/{}/files",
            package["id"].as_str().unwrap_or_default()
        ),
        "server",
        None,
    )
    .await
    .json();
    assert_eq!(mine[0]["name"], "package.json");
    assert_eq!(mine[0]["size"], body.len());
    let elsewhere = as_gateway(
        get,
        format!("{base}/nodes/input/packages/{id}/files"),
        "server",
        None,
    )
    .await;
    assert_eq!(elsewhere.status, 404);
    assert_eq!(
        elsewhere.header("content-type"),
        Some("application/problem+json")
    );
}

#[tokio::test]
async fn bad_bodies_unknown_paths_and_wrong_methods_are_problems() {
    let demo = demo().await;
    let base = format!("{}/projects/p", demo.url());
    let post = reqwest::Method::POST;
    for body in ["[1]", "\"x\"", "not json", r#"{"fields": 3}"#] {
        let got = as_gateway(
            post.clone(),
            format!("{base}/nodes/n/packages"),
            "p",
            Some(body),
        )
        .await;
        assert_eq!(got.status, 400, "{body}");
        assert_eq!(got.header("content-type"), Some("application/problem+json"));
    }
    let page = as_gateway(
        post.clone(),
        format!("{base}/nodes/n/packages/search?page_size=101"),
        "p",
        Some("{}"),
    )
    .await;
    assert_eq!(page.status, 400);
    let unknown = as_gateway(reqwest::Method::GET, format!("{base}/nope"), "p", None).await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.json()["status"], 404);
    let wrong = as_gateway(
        reqwest::Method::GET,
        format!("{base}/nodes/n/packages"),
        "p",
        None,
    )
    .await;
    assert_eq!(wrong.status, 405);
    assert_eq!(wrong.header("allow"), Some("POST"));
    let missing = as_gateway(
        reqwest::Method::GET,
        format!("{base}/nodes/n/packages/nope/files/nope"),
        "p",
        None,
    )
    .await;
    assert_eq!(missing.status, 404);
}

#[tokio::test]
async fn through_the_gateway_a_call_reaches_the_demo_and_a_direct_forged_one_does_not() {
    let demo = demo().await;
    // The authorizer function's stand-in: allows any token for project `server`.
    let authorizer = serve::serve("authorizer", 0, |_req| async {
        serve::json(
            StatusCode::OK,
            &json!({"isAuthorized": true, "context": {
                "key_id": "key-1", "holder": "bob", "project_id": "server", "role": "reader"
            }}),
        )
    })
    .await
    .expect("authorizer stand-in starts");
    let gw = gateway::start(GatewayConfig {
        port: 0,
        authorizer_url: loopback_url(&authorizer.url(), "authorizer-url").expect("loopback"),
        backend: loopback_url(&demo.url(), "backend").expect("loopback"),
        secret: Secret::parse(Some(SECRET.into()), "secret").expect("valid secret"),
        cache_seconds: 0,
    })
    .await
    .expect("gateway starts");

    let through = call(
        reqwest::Method::GET,
        format!("{}/projects/server/data_layers/last", gw.url()),
        &[
            ("authorization", "Bearer t"),
            ("x-keygate-gateway-secret", "forged"),
        ],
        None,
    )
    .await;
    assert_eq!(through.status, 200);
    assert_eq!(through.json()["project_id"], "server");
    assert!(through.headers.contains_key("apigw-requestid"));
    assert!(through.headers.contains_key("x-demo-platform"));

    let direct = call(
        reqwest::Method::GET,
        format!("{}/projects/server/data_layers/last", demo.url()),
        &[
            ("x-keygate-gateway-secret", "forged"),
            ("x-keygate-key-id", "key-1"),
            ("x-keygate-project", "server"),
        ],
        None,
    )
    .await;
    assert_eq!(direct.status, 403);
}
