//! Limits and abuse over HTTP: a template's calls per minute per key (429 with `Retry-After`,
//! counted as denied, exact under concurrency), the per-user limit on key requests, and the
//! configured caps on body size and page size.

use futures::future::join_all;
use keygate_e2e::{Fixture, Method, Reply, Stack, now, unique};
use serde_json::{Value, json};

/// `REQUESTS_PER_HOUR`'s default, which the test stack keeps.
const REQUESTS_PER_HOUR: usize = 10;

async fn verify(stack: &Stack, token: &str, f: &Fixture) -> Reply {
    let path = format!("/projects/{}/nodes/in/packages/7/files", f.project);
    stack
        .call(
            Method::POST,
            "/v1/verify",
            None,
            Some(json!({"token": token, "method": "GET", "path": path})),
        )
        .await
}

/// Waits, if needed, so that the next `seconds` fall within one UTC minute (limits count per
/// minute; a test must not straddle two windows).
async fn within_one_minute(seconds: u64) {
    let into = now() % 60;
    if into + seconds >= 60 {
        tokio::time::sleep(std::time::Duration::from_secs(60 - into + 1)).await;
    }
}

fn retry_after(r: &Reply) -> u64 {
    r.retry_after
        .as_deref()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("a Retry-After in seconds: {r:?}"))
}

/// A key of a template limited to `limit` calls per minute (set after approval: the limit is the
/// template's, so a change reaches keys already issued).
async fn limited_key(stack: &Stack, f: &Fixture, limit: u32) -> keygate_e2e::IssuedKey {
    let key = f.issue_key(stack, &[("Project", "p")]).await;
    let t = key.key["template_id"].as_str().expect("template id");
    let owner = stack.token(&f.owner);
    let path = f.path(&format!("/templates/{t}"));
    let version = stack.get(&path, &owner).await.expect(200).body["version"].clone();
    let patched = stack
        .patch(
            &path,
            &owner,
            json!({"rate_limit_per_minute": limit, "version": version}),
        )
        .await
        .expect(200);
    assert_eq!(patched.body["rate_limit_per_minute"], limit);
    key
}

#[tokio::test]
async fn rate_limits_are_checked_and_can_be_cleared() {
    let stack = Stack::new().await;
    let f = Fixture::new(&stack).await;
    let owner = stack.token(&f.owner);
    for (bad, why) in [
        (json!(0), "zero"),
        (json!(100_001), "too many"),
        (json!("10"), "a string"),
    ] {
        let r = stack
            .post(
                &f.path("/templates"),
                &owner,
                json!({"name": unique("T "), "role": "reader", "rate_limit_per_minute": bad}),
            )
            .await
            .expect(400);
        assert_eq!(
            r.fields(),
            vec!["rate_limit_per_minute"],
            "{why}: {}",
            r.body
        );
    }
    let t = stack
        .post(
            &f.path("/templates"),
            &owner,
            json!({"name": unique("T "), "role": "reader", "rate_limit_per_minute": 120}),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(t["rate_limit_per_minute"], 120);
    let path = f.path(&format!("/templates/{}", t["id"].as_str().expect("id")));
    let cleared = stack
        .patch(
            &path,
            &owner,
            json!({"rate_limit_per_minute": null, "version": t["version"]}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(cleared["rate_limit_per_minute"], Value::Null);
    let plain = f.template(&stack, &unique("Plain ")).await;
    assert_eq!(
        plain["rate_limit_per_minute"],
        Value::Null,
        "no limit unless set"
    );
}

#[tokio::test]
async fn a_key_over_its_limit_gets_429_with_retry_after_and_the_denial_is_counted() {
    let stack = Stack::new().await;
    let f = Fixture::new(&stack).await;
    let key = limited_key(&stack, &f, 3).await;
    within_one_minute(15).await;
    for i in 0..3 {
        let r = verify(&stack, &key.token, &f).await.expect(200);
        assert_eq!(r.body["allowed"], true, "call {i}: {}", r.body);
    }
    let r = verify(&stack, &key.token, &f).await.expect(429);
    assert_eq!(r.body["type"], "urn:keygate:problem:rate-limited");
    let wait = retry_after(&r);
    assert!((1..=60).contains(&wait), "Retry-After {wait}");
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains(&key.id),
        "names the key: {}",
        r.body
    );
    // Introspection counts against the same limit.
    let r = stack
        .call(Method::GET, "/v1/token", Some(&key.token), None)
        .await
        .expect(429);
    assert!(retry_after(&r) >= 1);

    let usage = stack.usage_once_counted(&key.id, &f.member, 5).await;
    assert_eq!(usage["total"], 5, "{usage}");
    assert_eq!(usage["allowed"], 3, "{usage}");
    assert_eq!(usage["denied"], 2, "{usage}");
    let reasons = usage["denied_by_reason"].to_string();
    assert!(
        reasons.contains("rate_limited"),
        "denials by reason: {reasons}"
    );
}

#[tokio::test]
async fn concurrent_calls_never_pass_the_limit() {
    let stack = Stack::new().await;
    let f = Fixture::new(&stack).await;
    let key = limited_key(&stack, &f, 4).await;
    within_one_minute(20).await;
    let replies = join_all((0..12).map(|_| verify(&stack, &key.token, &f))).await;
    let allowed = replies.iter().filter(|r| r.status == 200).count();
    let limited = replies.iter().filter(|r| r.status == 429).count();
    assert_eq!((allowed, limited), (4, 8), "{replies:?}");
}

#[tokio::test]
async fn a_template_without_a_limit_is_not_limited() {
    let stack = Stack::new().await;
    let f = Fixture::new(&stack).await;
    let key = f.issue_key(&stack, &[("Project", "p")]).await;
    let replies = join_all((0..15).map(|_| verify(&stack, &key.token, &f))).await;
    assert!(
        replies.iter().all(|r| r.status == 200),
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn one_user_cannot_flood_an_owner_with_requests() {
    let stack = Stack::new().await;
    let f = Fixture::new(&stack).await;
    let t = f.template(&stack, &unique("Flood ")).await;
    let t = t["id"].as_str().expect("id");
    let member = stack.token(&f.member);
    let requests = f.path(&format!("/templates/{t}/requests"));
    for _ in 0..REQUESTS_PER_HOUR {
        let r = f.request(&stack, &f.member, t).await;
        stack
            .delete(&f.path(&format!("/requests/{r}")), &member)
            .await
            .expect(204);
    }
    let r = stack.post(&requests, &member, json!({})).await.expect(429);
    assert_eq!(r.body["type"], "urn:keygate:problem:rate-limited");
    let wait = retry_after(&r);
    assert!((1..=3600).contains(&wait), "Retry-After {wait}");
    // Nothing of the refused request was written.
    let mine = stack
        .get("/v1/me/requests?page_size=100", &member)
        .await
        .expect(200)
        .body;
    let in_project = mine["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|r| r["project_id"] == f.project.as_str())
        .count();
    assert_eq!(in_project, REQUESTS_PER_HOUR);
    // Another user is not affected.
    let other = f.add_member(&stack, "other-").await;
    f.request(&stack, &other, t).await;
}

#[tokio::test]
async fn bodies_and_pages_have_caps() {
    let stack = Stack::new().await;
    let f = Fixture::new(&stack).await;
    let owner = stack.token(&f.owner);
    // MAX_BODY_BYTES defaults to 64 KiB.
    let big = "x".repeat(70 * 1024);
    let r = stack
        .post(
            &f.path("/templates"),
            &owner,
            json!({"name": "Big", "role": "reader", "description": big}),
        )
        .await
        .expect(413);
    assert_eq!(r.body["type"], "urn:keygate:problem:payload-too-large");
    for bad in ["0", "101", "many", "-1"] {
        let r = stack
            .get(&f.path(&format!("/templates?page_size={bad}")), &owner)
            .await
            .expect(400);
        assert_eq!(r.fields(), vec!["page_size"], "page_size={bad}");
    }
    stack
        .get(&f.path("/templates?page_size=100"), &owner)
        .await
        .expect(200);
}

/// Several function processes (`keygate-rate-hammer`: a `Decider` each, as a container builds
/// it) hammer one key: together they never pass the template's limit, each spending leases from
/// memory. Prints the lease writes per 1,000 limited calls.
#[tokio::test]
async fn leases_never_let_more_than_the_limit_through_several_processes() {
    const LIMIT: u32 = 240;
    const PROCESSES: usize = 4;
    const CALLS: usize = 150;
    let stack = Stack::new().await;
    let f = Fixture::new(&stack).await;
    let key = limited_key(&stack, &f, LIMIT).await;
    let path = format!("/projects/{}/nodes/in/packages/7/files", f.project);
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_keygate-rate-hammer"));
    within_one_minute(30).await;
    let runs = join_all((0..PROCESSES).map(|_| {
        tokio::process::Command::new(bin)
            .env("KEYGATE_HAMMER_TOKEN", &key.token)
            .env("KEYGATE_HAMMER_PATH", &path)
            .env("KEYGATE_HAMMER_CALLS", CALLS.to_string())
            .env("KEYGATE_HAMMER_CONCURRENCY", "8")
            .kill_on_drop(true)
            .output()
    }))
    .await;
    let mut allowed = 0;
    let mut writes = 0;
    for run in runs {
        let out = run.expect("the hammer runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let line: Value = serde_json::from_slice(&out.stdout).expect("one JSON line");
        allowed += line["allowed"].as_u64().expect("allowed");
        writes += line["lease_writes"].as_u64().expect("writes");
    }
    let calls = (PROCESSES * CALLS) as u64;
    assert!(
        allowed <= u64::from(LIMIT),
        "{allowed} of {calls} allowed, limit {LIMIT}"
    );
    // Only the other processes' unspent blocks go unused: at most an eighth of the limit each.
    let unused = (PROCESSES as u64 - 1) * u64::from(keygate::usecases::leases::max_block(LIMIT));
    assert!(
        allowed + unused >= u64::from(LIMIT),
        "{allowed} allowed, limit {LIMIT}"
    );
    // The window's counter holds what the leases took: never above the limit either.
    let window = stack
        .items(&format!("RATE#KEY#{}", key.id))
        .await
        .into_iter()
        .filter_map(|i| {
            i.get("calls")
                .and_then(|c| c.as_n().ok())
                .and_then(|n| n.parse::<u64>().ok())
        })
        .max()
        .unwrap_or(0);
    assert!(
        window <= u64::from(LIMIT) && window >= allowed,
        "window counter {window}, allowed {allowed}"
    );
    eprintln!(
        "{PROCESSES} processes, {calls} calls on a limit of {LIMIT}: {allowed} allowed, {writes} lease writes = {:.1} per 1,000 limited calls (one write per call before leases)",
        writes as f64 * 1000.0 / calls as f64
    );
    // Far fewer writes than calls: a lease covers many.
    assert!(writes * 4 < calls, "{writes} writes for {calls} calls");
}
