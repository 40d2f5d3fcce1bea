//! Every file of `events/` (complete API Gateway v2 events) through `cargo lambda invoke` against
//! the running stack: `events/<function>/<name>.<status>.json` must answer `<status>`.
//! Placeholders (`{{project}}`, `{{template}}`, `{{field}}`, `{{version}}`, `{{owner_token}}`,
//! `{{member_token}}`, `{{member}}` (the member's user id), `{{request}}` (a pending request of
//! the member), `{{key}}` (an active key the member holds), `{{unique}}`) are filled from a fresh fixture per file.

use std::path::{Path, PathBuf};

use keygate_e2e::{Fixture, Stack, unique};
use serde_json::Value;

fn events_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../events")
}

/// `(function, expected status, path)` of every event file, in name order.
fn event_files() -> Vec<(String, u16, PathBuf)> {
    let mut out = Vec::new();
    for dir in std::fs::read_dir(events_dir()).expect("events/ exists") {
        let dir = dir.expect("entry").path();
        if !dir.is_dir() {
            continue;
        }
        let function = dir
            .file_name()
            .and_then(|n| n.to_str())
            .expect("function dir name")
            .to_string();
        // Stream events, not HTTP ones: tests/tests/notifier.rs runs those.
        if function == "notifier" {
            continue;
        }
        for file in std::fs::read_dir(&dir).expect("function dir") {
            let path = file.expect("entry").path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("")
                .to_string();
            let Some(stem) = name.strip_suffix(".json") else {
                continue;
            };
            let status: u16 = stem
                .rsplit('.')
                .next()
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("{name}: name it <name>.<status>.json"));
            out.push((function.clone(), status, path));
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn every_event_file_gives_its_status_through_cargo_lambda_invoke() {
    let stack = Stack::new().await;
    let files = event_files();
    let functions: std::collections::BTreeSet<&str> =
        files.iter().map(|(f, _, _)| f.as_str()).collect();
    assert!(
        functions.contains("projects") && functions.contains("templates"),
        "events for every function: {functions:?}"
    );
    let tmp = std::env::temp_dir().join(unique("keygate-events-"));
    std::fs::create_dir_all(&tmp).expect("temp dir");
    let mut failures = Vec::new();
    for (function, status, path) in &files {
        let f = Fixture::new(&stack).await;
        let t = f.template(&stack, &unique("Events ")).await;
        let text = std::fs::read_to_string(path).expect("event file");
        // Requests and keys only where a file names them (they cost a few calls each).
        let request = match text.contains("{{request}}") {
            true => pending_request(&stack, &f).await,
            false => String::new(),
        };
        let key = match text.contains("{{key}}") {
            true => issued_key(&stack, &f).await,
            false => String::new(),
        };
        let filled = text
            .replace("{{project}}", &f.project)
            .replace("{{template}}", t["id"].as_str().expect("id"))
            .replace(
                "{{field}}",
                t["fields"][0]["id"].as_str().expect("field id"),
            )
            .replace("{{version}}", &t["version"].to_string())
            .replace("{{owner_token}}", &stack.token(&f.owner))
            .replace("{{member_token}}", &stack.token(&f.member))
            .replace("{{member}}", &f.member)
            .replace("{{request}}", &request)
            .replace("{{key}}", &key)
            .replace("{{unique}}", &unique(""));
        serde_json::from_str::<Value>(&filled)
            .unwrap_or_else(|e| panic!("{}: not JSON after filling: {e}", path.display()));
        let data = tmp.join(path.file_name().expect("name"));
        std::fs::write(&data, filled).expect("write event");
        let (response, output) = keygate_e2e::lambda_invoke(function, &data);
        let got = response["statusCode"].as_u64();
        if got != Some(u64::from(*status)) {
            failures.push(format!(
                "{}: expected {status}, got {got:?}: {output}",
                path.display()
            ));
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    assert!(
        failures.is_empty(),
        "{} of {} event files failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

/// A pending request of the fixture's member, on a template of its own.
async fn pending_request(stack: &Stack, f: &Fixture) -> String {
    let t = f.template(stack, &unique("Requested ")).await;
    let path = f.path(&format!(
        "/templates/{}/requests",
        t["id"].as_str().expect("id")
    ));
    let r = stack
        .post(&path, &stack.token(&f.member), serde_json::json!({}))
        .await
        .expect(201)
        .body;
    r["id"].as_str().expect("request id").to_string()
}

/// An active key held by the fixture's member.
async fn issued_key(stack: &Stack, f: &Fixture) -> String {
    let r = pending_request(stack, f).await;
    let out = stack
        .post(
            &f.path(&format!("/requests/{r}/approve")),
            &stack.token(&f.owner),
            serde_json::json!({}),
        )
        .await
        .expect(200)
        .body;
    out["key"]["id"].as_str().expect("key id").to_string()
}
