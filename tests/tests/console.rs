//! The console function over HTTP (its page, files and headers) and the local stack's dev
//! sign-in route. The console's screens are tested in a browser by tests/e2e (make test).

use keygate_e2e::{Stack, unique};
use serde_json::json;

async fn fetch(stack: &Stack, path: &str) -> reqwest::Response {
    stack
        .http
        .get(format!("{}{path}", stack.url))
        .send()
        .await
        .expect("console answers")
}

#[tokio::test]
async fn every_console_page_is_the_app_with_a_strict_content_security_policy() {
    let stack = Stack::new().await;
    for path in [
        "/",
        "/console",
        "/console/",
        "/console/keys/01abc?from=2026-01-01",
    ] {
        let res = fetch(&stack, path).await;
        assert_eq!(res.status(), 200, "{path}");
        let h = res.headers().clone();
        assert_eq!(h["content-type"], "text/html; charset=utf-8");
        let csp = h["content-security-policy"].to_str().expect("ascii");
        assert!(csp.contains("script-src 'self'") && csp.contains("connect-src 'self'"));
        assert!(csp.contains("frame-ancestors 'none'"));
        assert_eq!(h["x-content-type-options"], "nosniff");
        let page = res.text().await.expect("body");
        assert!(page.contains(r#"<script type="module" src="/console/assets/app.js">"#));
    }
}

#[tokio::test]
async fn assets_are_served_with_their_type_and_revalidated_by_etag() {
    let stack = Stack::new().await;
    for (name, kind) in [
        ("app.js", "text/javascript; charset=utf-8"),
        ("app.css", "text/css; charset=utf-8"),
        ("icon.svg", "image/svg+xml"),
        // The language catalogs app.js imports.
        ("i18n/i18n.js", "text/javascript; charset=utf-8"),
        ("i18n/en.js", "text/javascript; charset=utf-8"),
        ("i18n/ru.js", "text/javascript; charset=utf-8"),
    ] {
        let path = format!("/console/assets/{name}");
        let res = fetch(&stack, &path).await;
        if res.status() != 200 {
            let status = res.status();
            panic!("{name}: {status} {}", res.text().await.unwrap_or_default());
        }
        assert_eq!(res.headers()["content-type"], kind);
        assert_eq!(res.headers()["cache-control"], "no-cache");
        let etag = res.headers()["etag"].clone();
        assert!(!res.bytes().await.expect("body").is_empty());
        let again = stack
            .http
            .get(format!("{}{path}", stack.url))
            .header("if-none-match", etag)
            .send()
            .await
            .expect("console answers");
        assert_eq!(again.status(), 304, "{name} unchanged");
    }
    // Clients that take gzip get the build-time gzipped bytes.
    let zipped = stack
        .http
        .get(format!("{}/console/assets/app.js", stack.url))
        .header("accept-encoding", "br, gzip")
        .send()
        .await
        .expect("console answers");
    assert_eq!(zipped.headers()["content-encoding"], "gzip");
    let vary: Vec<&str> = zipped
        .headers()
        .get_all("vary")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    assert!(
        vary.iter().any(|v| v.contains("accept-encoding")),
        "{vary:?}"
    );
    let body = zipped.bytes().await.expect("body");
    assert_eq!(&body[..2], &[0x1f, 0x8b]);
    let plain = fetch(&stack, "/console/assets/app.js").await;
    assert!(plain.headers().get("content-encoding").is_none());
    assert!(body.len() * 2 < plain.bytes().await.expect("body").len());

    let missing = fetch(&stack, "/console/assets/nope.js").await;
    assert_eq!(missing.status(), 404);
    assert_eq!(
        missing.headers()["content-type"],
        "application/problem+json"
    );
}

#[tokio::test]
async fn console_pages_take_only_get_and_head() {
    let stack = Stack::new().await;
    let r = stack
        .post("/console/keys", "unused", json!({}))
        .await
        .expect(405);
    assert_eq!(r.allow.as_deref(), Some("GET, HEAD"));
    let head = stack
        .http
        .head(format!("{}/console", stack.url))
        .send()
        .await
        .expect("console answers");
    assert_eq!(head.status(), 200);
}

#[tokio::test]
async fn the_dev_sign_in_mints_a_console_token_for_any_valid_user() {
    let stack = Stack::new().await;
    let said = stack
        .http
        .get(format!("{}/dev/token", stack.url))
        .send()
        .await
        .expect("dev route answers");
    assert_eq!(said.status(), 200);
    let user = unique("dev");
    let r = stack
        .post("/dev/token", "unused", json!({"user": user}))
        .await
        .expect(200);
    assert_eq!(r.body["email"], format!("{user}@example.com"));
    let token = r.body["token"].as_str().expect("token").to_string();
    // The minted token is a console token the API accepts, for that user.
    let created = stack
        .post(
            "/v1/projects",
            &token,
            json!({"id": unique("devp"), "name": "Dev sign-in"}),
        )
        .await
        .expect(201);
    assert_eq!(created.body["owner"]["id"], user.as_str());

    let bad = stack
        .post(
            "/dev/token",
            "unused",
            json!({"user": "no spaces allowed", "email": "nope"}),
        )
        .await
        .expect(400);
    assert_eq!(bad.fields(), vec!["user".to_string(), "email".into()]);
}

#[test]
fn the_deployed_template_has_the_console_and_no_dev_sign_in() {
    let template = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../infra/template.yaml"
    ))
    .expect("infra/template.yaml");
    assert!(template.contains("Binary: console"));
    assert!(!template.contains("dev-signin") && !template.contains("/dev/"));
    // The dev route exists only in the local router.
    let cargo = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml"))
        .expect("Cargo.toml");
    assert!(cargo.contains(r#""/dev/token" = "dev-signin""#));
    let functions = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../functions"))
        .expect("functions/");
    for f in functions {
        let name = f.expect("entry").file_name();
        assert_ne!(name, "dev-signin", "dev-signin must stay out of functions/");
    }
}
