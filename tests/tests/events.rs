//! Every file of `events/` (complete API Gateway v2 events) through `cargo lambda invoke` against
//! the running stack: `events/<function>/<name>.<status>.json` must answer `<status>`.
//! Placeholders (`{{project}}`, `{{template}}`, `{{field}}`, `{{version}}`, `{{owner_token}}`,
//! `{{member_token}}`, `{{outsider_token}}` (a user of no project), `{{member}}` (the member's
//! user id), `{{request}}` (a pending request of the member), `{{key}}` (an active key the member
//! holds), `{{api_key}}` (its token), `{{other_key}}` (a second one), `{{client}}` (a project the member owns, with node
//! `worker`, into which `{{key}}` is imported under `{{import_prefix}}` (`ev_<ulid>`)),
//! `{{unique}}` (a fresh lower-case ULID, `[0-9a-z]{26}`)) are filled from a fresh fixture per
//! file, so a file that deletes or changes something never touches another file's data.
//!
//! The stream events of `events/imports-sync/` are invoked as they are: their keys have no
//! imports, so each must succeed and change nothing.

use std::path::PathBuf;

use keygate::adapters::stream::StreamEvent;
use keygate::store::{Image, Store};
use keygate::usecases::sync::{Change, decide};
use keygate_e2e::{Fixture, Stack, unique};
use serde_json::{Value, json};

/// Not HTTP events: `tests/tests/notifier.rs` runs the notifier's stream events,
/// [`every_imports_sync_event_file_decodes_and_fails_no_record`] the imports-sync ones, and
/// `tests/tests/authorizer.rs` the authorizer's, `tests/tests/schedule.rs` the scheduler's.
const STREAM_FUNCTIONS: &[&str] = &["notifier", "imports-sync", "authorizer", "scheduler"];

fn events_dir() -> PathBuf {
    keygate_e2e::events_dir()
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
        if STREAM_FUNCTIONS.contains(&function.as_str()) {
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
        ["projects", "templates", "requests", "approvals", "imports"]
            .iter()
            .all(|f| functions.contains(f)),
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
        let needs = |placeholder: &str| text.contains(placeholder);
        // A client project always holds an import (so that its secrets are never an empty list).
        let has_client = needs("{{client}}") || needs("{{import_prefix}}");
        let key = match needs("{{key}}") || needs("{{api_key}}") || has_client {
            true => issued_key(&stack, &f).await,
            false => String::new(),
        };
        let other_key = match needs("{{other_key}}") {
            true => issued_key(&stack, &f).await,
            false => String::new(),
        };
        let api_key = match needs("{{api_key}}") {
            true => stack
                .get(&format!("/v1/keys/{key}/token"), &stack.token(&f.member))
                .await
                .expect(200)
                .body["token"]
                .as_str()
                .expect("token")
                .to_string(),
            false => String::new(),
        };
        let (client, import_prefix) = match has_client {
            true => {
                let client = client_project(&stack, &f).await;
                let prefix = imported(&stack, &f, &client, &key).await;
                (client, prefix)
            }
            false => (String::new(), String::new()),
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
            .replace("{{outsider_token}}", &stack.token(&f.outsider))
            .replace("{{member}}", &f.member)
            .replace("{{request}}", &request)
            .replace("{{key}}", &key)
            .replace("{{other_key}}", &other_key)
            .replace("{{api_key}}", &api_key)
            .replace("{{client}}", &client)
            .replace("{{import_prefix}}", &import_prefix)
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

/// A client project the fixture's member owns, with node `worker`.
async fn client_project(stack: &Stack, f: &Fixture) -> String {
    let member = stack.token(&f.member);
    let c = unique("c");
    stack
        .post(
            "/v1/projects",
            &member,
            json!({"id": c, "name": "Events client"}),
        )
        .await
        .expect(201);
    stack
        .put(
            &format!("/v1/projects/{c}/nodes/worker"),
            &member,
            json!({"name": "Worker"}),
        )
        .await
        .expect(200);
    c
}

/// Imports `key` (held by the member) into `client` under a fresh prefix; the prefix.
async fn imported(stack: &Stack, f: &Fixture, client: &str, key: &str) -> String {
    let prefix = unique("ev_");
    let view = stack
        .post(
            &format!("/v1/projects/{client}/imports"),
            &stack.token(&f.member),
            json!({"key_id": key, "prefix": prefix}),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(
        view["secrets"][0]["name"],
        format!("{prefix}_token"),
        "{view}"
    );
    prefix
}

/// Each `events/imports-sync/` file and the change its one record must be.
const SYNC_FILES: &[(&str, &str)] = &[("key-revoked", "revoked"), ("key-rolled", "rolled")];

#[tokio::test]
async fn every_imports_sync_event_file_decodes_and_fails_no_record() {
    let stack = Stack::new().await;
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let store = Store::new(&sdk, stack.table.clone());
    let dir = events_dir().join("imports-sync");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("events/imports-sync")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter_map(|n| n.strip_suffix(".json").map(str::to_string))
        .collect();
    names.sort();
    let mut expected: Vec<String> = SYNC_FILES.iter().map(|(n, _)| n.to_string()).collect();
    expected.sort();
    assert_eq!(names, expected, "every imports-sync event file is checked");

    for (name, change) in SYNC_FILES {
        let path = dir.join(format!("{name}.json"));
        let text = std::fs::read_to_string(&path).expect("event file");
        let batch: StreamEvent = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{name}: not a Lambda stream event: {e}"));
        assert_eq!(batch.records.len(), 1, "{name}: one record");
        let record = &batch.records[0];
        // Both images are key items that decode (else the handler skips the record as unreadable).
        for (which, item) in [
            ("OldImage", &record.change.old_image),
            ("NewImage", &record.change.new_image),
        ] {
            match Image::decode(item.clone()) {
                Ok(Some(Image::Key(_))) => {}
                other => panic!("{name}: {which} is not a key image: {other:?}"),
            }
        }
        let key = match (decide(record), *change) {
            (Ok(Some(Change::Revoked(k))), "revoked") => k,
            (Ok(Some(Change::Rolled { old, .. })), "rolled") => old,
            (got, _) => panic!("{name}: expected a {change} key, decided {got:?}"),
        };
        assert!(
            store
                .imports_of_key(&key.id)
                .await
                .expect("imports of the key")
                .is_empty(),
            "{name}: key {} must have no imports, so invoking it changes nothing",
            key.id
        );
        // Twice: a redelivered record is as harmless as the first.
        for _ in 0..2 {
            let (response, output) = keygate_e2e::lambda_invoke("imports-sync", &path);
            assert_eq!(
                response,
                json!({"batchItemFailures": []}),
                "{name}: {output}"
            );
        }
    }
}
