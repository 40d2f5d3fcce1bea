//! What operators see: JSON log lines with the Lambda request id, the route, the caller or key
//! and the outcome, CloudWatch EMF metric lines for decisions and approvals, and never a token.
//! Reads the functions' output that `cargo lambda watch` collects (`$KEYGATE_STATE_DIR/watch.log`).

use std::time::{Duration, Instant};

use keygate_e2e::{
    Fixture, Stack, client_project, import, lambda_invoke, live_secrets, secrets_client,
    signing_keys_secret_id, unique,
};
use serde_json::{Value, json};

fn log_lines() -> Vec<Value> {
    let dir = std::env::var("KEYGATE_STATE_DIR").expect("KEYGATE_STATE_DIR of the stack");
    let text = std::fs::read_to_string(format!("{dir}/watch.log")).unwrap_or_default();
    text.lines()
        .filter(|l| l.starts_with('{'))
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Waits (up to 20 s) for a log line that `matches`.
async fn wait_for_line(what: &str, matches: impl Fn(&Value) -> bool) -> Value {
    let start = Instant::now();
    loop {
        if let Some(l) = log_lines().into_iter().find(|l| matches(l)) {
            return l;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no log line: {what}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn requests_and_decisions_are_logged_as_json_with_metrics_and_without_tokens() {
    let stack = Stack::new().await;
    let f = Fixture::new(&stack).await;
    let key = f.issue_key(&stack, &[("project", &f.project)]).await;
    let call = |method: &str, path: String| {
        stack.post(
            "/v1/verify",
            "unused",
            json!({"token": key.token, "method": method, "path": path}),
        )
    };
    let allowed = call(
        "POST",
        format!("/projects/{}/nodes/input/packages/search", f.project),
    )
    .await
    .expect(200);
    assert_eq!(allowed.body["allowed"], true);
    let denied = call(
        "POST",
        format!("/projects/{}/nodes/input/packages", f.project),
    )
    .await
    .expect(200);
    assert_eq!(denied.body["allowed"], false);

    // The approval's request line: route, caller, status, inside the runtime's span with the
    // Lambda request id.
    let approve = wait_for_line("the approval's request line", |l| {
        l["fields"]["message"] == "request done"
            && l["span"]["method"] == "POST"
            && l["span"]["path"]
                .as_str()
                .is_some_and(|p| p.starts_with(&f.path("/requests/")) && p.ends_with("/approve"))
    })
    .await;
    assert_eq!(approve["level"], "INFO");
    assert_eq!(approve["fields"]["status"], 200);
    assert_eq!(approve["span"]["caller"], f.owner.as_str());
    let spans = approve["spans"].as_array().expect("spans");
    assert!(
        spans
            .iter()
            .any(|s| s["requestId"].as_str().is_some_and(|id| !id.is_empty())),
        "the Lambda request id: {approve}"
    );

    // Each decision names the key and the outcome.
    for (allowed, reason) in [
        (true, None),
        (false, Some("permission_missing:packages:write")),
    ] {
        let l = wait_for_line("a decision line", |l| {
            l["fields"]["message"] == "decision"
                && l["fields"]["key_id"]
                    .as_str()
                    .is_some_and(|k| k.contains(&key.id))
                && l["fields"]["allowed"] == allowed
        })
        .await;
        if let Some(r) = reason {
            assert_eq!(l["fields"]["reason"], r.split(':').next().unwrap_or(r));
        }
    }

    // EMF: CloudWatch metric lines for decisions (by outcome and reason) and approvals.
    let emf = |metric: &'static str| {
        move |l: &Value| {
            l["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"] == metric
                && l["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "keygate"
        }
    };
    let d = wait_for_line("an EMF decision line", |l| {
        emf("decisions")(l) && l["outcome"] == "denied" && l["reason"] == "permission_missing"
    })
    .await;
    assert_eq!(
        d["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        json!([["outcome", "reason"], []])
    );
    assert_eq!(d["decisions"], 1);
    wait_for_line("an EMF approvals line", emf("approvals")).await;

    // No token in any line: not this API key, and nothing shaped like a JWT (console tokens
    // included: `eyJ` is a JSON object's `{"` in base64url).
    let dir = std::env::var("KEYGATE_STATE_DIR").expect("KEYGATE_STATE_DIR");
    let all = std::fs::read_to_string(format!("{dir}/watch.log")).expect("watch.log");
    let signature = key.token.rsplit('.').next().unwrap_or(&key.token);
    assert!(!all.contains(signature), "the API key is in the logs");
    assert_eq!(jwt_like(&all), None, "a token is in the logs");
}

/// The test stack runs its functions at the most verbose level the template allows
/// (`scripts/lib.sh`: `trace`), where `lambda_runtime` writes every raw event and the AWS SDK
/// what it reads unless keygate holds them at `info` (`keygate::adapters::logging`). Calls that carry an
/// API key in a body (`POST /v1/verify`), a header (`GET /v1/token`) and an authorizer event, its
/// reveal, an import that writes it to Secrets Manager, and the signer's read of its private
/// keys leave none of them in any log of the stack.
#[tokio::test]
async fn at_the_most_verbose_level_no_token_or_secret_reaches_a_log() {
    let stack = Stack::new().await;
    let dir = std::env::var("KEYGATE_STATE_DIR").expect("KEYGATE_STATE_DIR of the stack");

    // Every function started so far says at what level it logs: the stack's must be trace.
    wait_for_line("a function's logging line", |l| {
        l["fields"]["message"] == "logging"
    })
    .await;
    let levels: Vec<Value> = log_lines()
        .into_iter()
        .filter(|l| l["fields"]["message"] == "logging")
        .map(|l| l["fields"]["requested"].clone())
        .collect();
    assert!(
        levels.iter().all(|l| l == "trace"),
        "the test stack's functions log at trace (scripts/lib.sh): {levels:?}"
    );

    let f = Fixture::new(&stack).await;
    // Approved (the signer reads its private keys) and revealed (the token in an answer).
    let key = f.issue_key(&stack, &[("Project", "server")]).await;
    let verified = stack
        .post(
            "/v1/verify",
            "unused",
            json!({
                "token": key.token,
                "method": "GET",
                "path": format!("/projects/{}/nodes/in/packages/1/files", f.project),
            }),
        )
        .await
        .expect(200);
    assert_eq!(verified.body["allowed"], true, "{:?}", verified.body);
    stack.get("/v1/token", &key.token).await.expect(200);

    let event =
        std::fs::read_to_string(keygate_e2e::events_dir().join("authorizer/read-files.allow.json"))
            .expect("the authorizer's event")
            .replace("{{project}}", &f.project)
            .replace("{{api_key}}", &key.token);
    let path = std::env::temp_dir().join(format!("{}.json", unique("authorizer-logs-")));
    std::fs::write(&path, event).expect("write the event");
    let (answer, output) = lambda_invoke("authorizer", &path);
    let _ = std::fs::remove_file(&path);
    assert_eq!(answer["isAuthorized"], true, "{output}");

    let c = client_project(&stack, &f.member, &["worker"]).await;
    import(&stack, &f.member, &c, &key.id, "lg")
        .await
        .expect(201);
    let written = live_secrets(&c).await;
    assert!(
        written.values().any(|s| s.value == key.token),
        "the import wrote the token: {:?}",
        written.keys().collect::<Vec<_>>()
    );
    // The import's request line: everything above has been logged.
    wait_for_line("the import's request line", |l| {
        l["fields"]["message"] == "request done"
            && l["span"]["path"] == format!("/v1/projects/{c}/imports").as_str()
    })
    .await;

    // What must not be in any log: the token, its signature and the private signing keys.
    let doc = secrets_client()
        .await
        .get_secret_value()
        .secret_id(signing_keys_secret_id())
        .send()
        .await
        .expect("the signing keys");
    let keys: Value =
        serde_json::from_str(doc.secret_string().unwrap_or_default()).expect("the key set's JSON");
    let private: Vec<&str> = keys["keys"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|k| k["private_pkcs8"].as_str())
        .collect();
    assert!(!private.is_empty(), "the key set's private keys: {keys:#}");
    let signature = key.token.rsplit('.').next().unwrap_or(&key.token);
    let mut scanned = 0;
    for entry in std::fs::read_dir(&dir).expect("the stack's state dir") {
        let path = entry.expect("an entry").path();
        if path.extension().is_none_or(|e| e != "log") {
            continue;
        }
        let bytes = std::fs::read(&path).expect("a log");
        let text = String::from_utf8_lossy(&bytes);
        let name = path.display();
        assert!(!text.contains(signature), "{name}: the API key");
        for p in &private {
            assert!(!text.contains(p), "{name}: a private signing key");
        }
        assert_eq!(jwt_like(&text), None, "{name}: a token");
        scanned += 1;
    }
    assert!(scanned >= 3, "the stack's logs: {scanned}");
}

/// The first JWT-shaped run (`eyJ…` `.` `eyJ…` `.`) in `text`, if any.
fn jwt_like(text: &str) -> Option<String> {
    let b64 = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    let mut rest = text;
    while let Some(i) = rest.find("eyJ") {
        let candidate = &rest[i..];
        let header_len = candidate.find(|c: char| !b64(c)).unwrap_or(candidate.len());
        let after = &candidate[header_len..];
        if let Some(payload) = after.strip_prefix('.')
            && payload.starts_with("eyJ")
        {
            return Some(candidate.chars().take(24).collect());
        }
        rest = &rest[i + 3..];
    }
    None
}

#[test]
fn the_token_scan_finds_jwts_and_only_them() {
    assert!(jwt_like("x eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJhIn0.c2ln y").is_some());
    assert_eq!(jwt_like("eyJ alone, eyJabc.notjson"), None);
}
