//! The HTTP edges every route shares: bodies, content types, sizes, unknown routes and methods.

use keygate_e2e::{Fixture, Stack};
use serde_json::json;

#[tokio::test]
async fn malformed_json_and_wrong_content_type_are_400() {
    let stack = Stack::new().await;
    let f = Fixture::new(&stack).await;
    let url = format!("{}{}", stack.url, f.path("/templates"));
    let token = stack.token(&f.owner);
    let cases = [
        ("application/json", "{\"name\": "),
        ("application/json", "[1, 2]"),
        ("application/json", ""),
        ("text/plain", "{\"name\":\"x\",\"role\":\"reader\"}"),
    ];
    for (ct, body) in cases {
        let reply = stack
            .send(
                stack
                    .http
                    .post(&url)
                    .bearer_auth(&token)
                    .header("content-type", ct)
                    .body(body),
            )
            .await
            .expect(400);
        assert!(
            reply.body["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{ct} {body:?}: {}",
            reply.body
        );
    }
    let reply = stack
        .send(
            stack
                .http
                .post(&url)
                .bearer_auth(&token)
                .body("{\"name\":\"x\",\"role\":\"reader\"}"),
        )
        .await
        .expect(400);
    assert!(
        reply.body["detail"]
            .as_str()
            .unwrap_or("")
            .contains("content-type")
    );
    let unknown = stack
        .post(
            &f.path("/templates"),
            &token,
            json!({"name": "x", "role": "reader", "colour": "red"}),
        )
        .await
        .expect(400);
    assert_eq!(unknown.fields(), vec!["colour"]);
    let sks = stack.sort_keys(&format!("PROJECT#{}", f.project)).await;
    assert!(
        !sks.iter().any(|s| s.starts_with("TEMPLATE")),
        "nothing written: {sks:?}"
    );
}

#[tokio::test]
async fn an_oversized_body_is_413() {
    let stack = Stack::new().await;
    let f = Fixture::new(&stack).await;
    let big = "x".repeat(70 * 1024);
    stack
        .post(
            &f.path("/templates"),
            &stack.token(&f.owner),
            json!({"name": "big", "role": "reader", "description": big}),
        )
        .await
        .expect(413);
}

#[tokio::test]
async fn unknown_routes_are_404_and_wrong_methods_405_problems() {
    let stack = Stack::new().await;
    let f = Fixture::new(&stack).await;
    let token = stack.token(&f.owner);
    for path in ["/v1/nothing", "/v1/projects/x/y/z/w", "/console.php"] {
        stack.get(path, &token).await.expect(404);
    }
    // The catch-all route is the console's: an unknown path is 404 whatever the method.
    stack
        .post("/v1/nothing", &token, json!({}))
        .await
        .expect(404);
    let r = stack.delete(&f.path(""), &token).await.expect(405);
    assert_eq!(r.allow.as_deref(), Some("GET, PATCH"));
    let r = stack
        .call(
            keygate_e2e::Method::PUT,
            &f.path("/templates"),
            Some(&token),
            Some(json!({})),
        )
        .await
        .expect(405);
    assert_eq!(r.allow.as_deref(), Some("GET, POST"));
}
