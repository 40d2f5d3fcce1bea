//! The API Gateway authorizer through `cargo lambda invoke` with the `events/authorizer/` files
//! (`<name>.allow.json` / `<name>.deny.json`), filled with a fresh key: the answer, its context
//! and its reason; an expired key and (within the cache TTL) a revoked one are refused; its
//! decisions are counted.

use std::path::{Path, PathBuf};
use std::time::Duration;

use keygate_e2e::{Fixture, IssuedKey, Stack, lambda_invoke, unique};
use serde_json::{Value, json};

/// Why each refusal file is refused.
const REASONS: &[(&str, &str)] = &[
    ("write-package", "permission_missing:packages:write"),
    ("other-project", "wrong_project"),
    ("unknown-route", "unknown_route"),
    ("garbage-token", "invalid_token"),
];

fn events_dir() -> PathBuf {
    keygate_e2e::events_dir().join("authorizer")
}

/// Invokes the authorizer with `file` filled for `f` and `key`.
fn authorize(file: &Path, f: &Fixture, key: &IssuedKey) -> Value {
    let text = std::fs::read_to_string(file).expect("event file");
    let filled = text
        .replace("{{project}}", &f.project)
        .replace("{{api_key}}", &key.token);
    let path = std::env::temp_dir().join(format!("{}.json", unique("authorizer-")));
    std::fs::write(&path, filled).expect("write event");
    let (response, output) = lambda_invoke("authorizer", &path);
    let _ = std::fs::remove_file(&path);
    assert!(response.is_object(), "{}: {output}", file.display());
    response
}

#[tokio::test]
async fn every_authorizer_event_file_gets_its_answer() {
    let stack = Stack::new().await;
    let f = Fixture::new(&stack).await;
    let key = f.issue_key(&stack, &[("Project", "p")]).await;
    let mut files: Vec<PathBuf> = std::fs::read_dir(events_dir())
        .expect("events/authorizer")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    assert!(files.len() >= 5, "{files:?}");
    for file in &files {
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let (stem, outcome) = name
            .trim_end_matches(".json")
            .rsplit_once('.')
            .expect("<name>.<allow|deny>.json");
        let answer = authorize(file, &f, &key);
        let ctx = &answer["context"];
        match outcome {
            "allow" => {
                assert_eq!(answer["isAuthorized"], true, "{name}: {answer}");
                assert_eq!(ctx["key_id"], key.id.as_str(), "{name}");
                assert_eq!(ctx["holder"], f.member.as_str(), "{name}");
                assert_eq!(ctx["project_id"], f.project.as_str(), "{name}");
                assert_eq!(ctx["role"], "reader", "{name}");
                assert_eq!(ctx["reason"], "", "{name}");
            }
            "deny" => {
                assert_eq!(answer["isAuthorized"], false, "{name}: {answer}");
                let want = REASONS
                    .iter()
                    .find(|(s, _)| *s == stem)
                    .map(|(_, r)| *r)
                    .unwrap_or_else(|| panic!("{name}: add its reason to REASONS"));
                assert_eq!(ctx["reason"], want, "{name}");
            }
            other => panic!("{name}: unknown outcome {other}"),
        }
    }
}

#[tokio::test]
async fn the_authorizer_refuses_a_revoked_key_and_counts_its_decisions() {
    let stack = Stack::new().await;
    let f = Fixture::new(&stack).await;
    let key = f.issue_key(&stack, &[("Project", "p")]).await;
    let allow = events_dir().join("read-files.allow.json");
    for _ in 0..3 {
        assert_eq!(authorize(&allow, &f, &key)["isAuthorized"], true);
    }
    // Another key past its validity (set in the table: a template TTL is at least a day).
    let expired = f.issue_key(&stack, &[("Project", "p")]).await;
    stack.expire_key(&expired.id).await;
    let answer = authorize(&allow, &f, &expired);
    assert_eq!(answer["isAuthorized"], false);
    assert_eq!(answer["context"]["reason"], "expired");
    f.revoke(&stack, &f.owner, &key.id).await;
    // The stack runs with DECISION_CACHE_TTL_SECONDS=2.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let refused = authorize(&allow, &f, &key);
    assert_eq!(refused["isAuthorized"], false);
    assert_eq!(refused["context"]["reason"], "revoked");
    let usage = stack.usage_once_counted(&key.id, &f.member, 4).await;
    assert_eq!(usage["total"], 4, "{usage}");
    assert_eq!(usage["allowed"], 3);
    assert_eq!(usage["denied"], 1);
    assert_eq!(
        usage["denied_by_reason"],
        json!([{"reason": "revoked", "total": 1}])
    );
}
