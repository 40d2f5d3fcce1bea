//! What operators see: JSON log lines with the Lambda request id, the route, the caller or key
//! and the outcome, CloudWatch EMF metric lines for decisions and approvals, and never a token.
//! Reads the functions' output that `cargo lambda watch` collects (`$KEYGATE_STATE_DIR/watch.log`).

use std::time::{Duration, Instant};

use keygate_e2e::{Fixture, Stack};
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
