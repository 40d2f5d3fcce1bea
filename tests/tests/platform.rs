//! The local platform gateway and the demo platform, with the real `authorizer` function behind
//! `cargo lambda watch`: API Gateway's answers (401 without an Authorization header and no
//! decision made, 403 for a refusal, 404 off the `/projects/` route), the `x-keygate-*` headers
//! the integration sets (a caller's forged ones overwritten), the demo platform refusing a direct
//! call with forged headers (it trusts only the gateway's secret), and what the authorizer cache
//! changes: repeat calls it answers are not counted, and a revoked key keeps working for its TTL.

use std::time::{Duration, Instant};

use keygate_e2e::platform::{
    Answer, CACHE_TTL, ClientSetup, cached_gateway_url, call, counted, demo_url, gateway_url, get,
};
use keygate_e2e::{Method, Stack};
use serde_json::{Value, json};

const CLIENT: [&str; 4] = [
    "data_layers:read",
    "packages:write",
    "packages:read",
    "files:read",
];

fn layer(s: &ClientSetup) -> String {
    format!("/projects/{}/data_layers/last", s.f.project)
}

async fn gateway_stats(stack: &Stack, base: &str) -> Value {
    call(stack, base, Method::GET, "/_gateway/stats", None, &[], None)
        .await
        .body
}

fn message(a: &Answer) -> &str {
    a.body["message"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn no_authorization_header_is_401_without_a_decision() {
    let stack = Stack::new().await;
    let s = ClientSetup::new(&stack, &CLIENT).await;
    // The cached gateway serves only this test's calls: its counters are this test's.
    let gw = cached_gateway_url();
    let before = gateway_stats(&stack, &gw).await;
    let a = call(&stack, &gw, Method::GET, &layer(&s), None, &[], None).await;
    assert_eq!((a.status, message(&a)), (401, "Unauthorized"), "{a:?}");
    let empty = call(
        &stack,
        &gw,
        Method::GET,
        &layer(&s),
        None,
        &[("authorization", "")],
        None,
    )
    .await;
    assert_eq!(empty.status, 401, "{empty:?}");
    let after = gateway_stats(&stack, &gw).await;
    assert_eq!(
        after["authorizer_invocations"], before["authorizer_invocations"],
        "no identity source, no invocation: {before} -> {after}"
    );
    assert!(a.headers.contains_key("apigw-requestid"));
}

#[tokio::test]
async fn refusals_are_403_and_other_paths_404() {
    let stack = Stack::new().await;
    let s = ClientSetup::new(&stack, &CLIENT).await;
    let gw = gateway_url();
    let forged = call(
        &stack,
        &gw,
        Method::GET,
        &layer(&s),
        Some("not-a-token"),
        &[],
        None,
    )
    .await;
    assert_eq!(
        (forged.status, message(&forged)),
        (403, "Forbidden"),
        "{forged:?}"
    );
    // Another project's path with a good key: the authorizer refuses (wrong_project).
    let other = get(
        &stack,
        &gw,
        "/projects/someone-else/data_layers/last",
        &s.key.token,
    )
    .await;
    assert_eq!(other.status, 403, "{other:?}");
    let off = get(&stack, &gw, "/v1/projects", &s.key.token).await;
    assert_eq!((off.status, message(&off)), (404, "Not Found"), "{off:?}");
    let usage = counted(&stack, &s.key.id, &s.f.member, 1).await;
    assert_eq!(
        usage["denied_by_reason"],
        json!([{"reason": "wrong_project", "total": 1}])
    );
}

#[tokio::test]
async fn allowed_calls_reach_the_platform_with_the_gateways_headers_only() {
    let stack = Stack::new().await;
    let s = ClientSetup::new(&stack, &CLIENT).await;
    let gw = gateway_url();
    // A caller's own x-keygate-* headers are overwritten by the decision's.
    let forged = [
        ("x-keygate-role", "admin"),
        ("x-keygate-holder", "mallory"),
        ("x-keygate-key-id", "k-forged"),
        ("x-keygate-gateway-secret", "guessed"),
    ];
    let a = call(
        &stack,
        &gw,
        Method::GET,
        &layer(&s),
        Some(&s.key.token),
        &forged,
        None,
    )
    .await;
    assert_eq!(a.status, 200, "{a:?}");
    assert!(a.body["id"].is_string(), "{a:?}");
    let seen = &a.body["caller"];
    assert_eq!(seen["key_id"], s.key.id.as_str(), "{a:?}");
    assert_eq!(seen["holder"], s.f.member.as_str(), "{a:?}");
    assert_eq!(seen["role"], "client", "{a:?}");
    assert_eq!(seen["project"], s.f.project.as_str(), "{a:?}");
}

#[tokio::test]
async fn the_demo_platform_refuses_a_call_that_did_not_come_through_the_gateway() {
    let stack = Stack::new().await;
    let s = ClientSetup::new(&stack, &CLIENT).await;
    let headers = [
        ("x-keygate-key-id", s.key.id.as_str()),
        ("x-keygate-holder", s.f.member.as_str()),
        ("x-keygate-project", s.f.project.as_str()),
        ("x-keygate-role", "client"),
    ];
    let direct = call(
        &stack,
        &demo_url(),
        Method::GET,
        &layer(&s),
        None,
        &headers,
        None,
    )
    .await;
    assert_eq!(direct.status, 403, "{direct:?}");
    let wrong: Vec<(&str, &str)> = headers
        .iter()
        .copied()
        .chain([(
            "x-keygate-gateway-secret",
            "a-guess-that-is-long-enough-to-look-real",
        )])
        .collect();
    let guessed = call(
        &stack,
        &demo_url(),
        Method::GET,
        &layer(&s),
        None,
        &wrong,
        None,
    )
    .await;
    assert_eq!(guessed.status, 403, "{guessed:?}");
    assert!(
        guessed.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("gateway")),
        "it says why: {guessed:?}"
    );
    // The same call through the gateway is served.
    let through = get(&stack, &gateway_url(), &layer(&s), &s.key.token).await;
    assert_eq!(through.status, 200, "{through:?}");
}

#[tokio::test]
async fn the_authorizer_cache_answers_repeats_uncounted_and_outlives_a_revocation() {
    let stack = Stack::new().await;
    let s = ClientSetup::new(&stack, &CLIENT).await;
    let (gw, cached) = (gateway_url(), cached_gateway_url());
    let path = layer(&s);
    // Without a cache every call is decided and counted.
    for _ in 0..3 {
        let a = get(&stack, &gw, &path, &s.key.token).await;
        assert_eq!(a.status, 200, "{a:?}");
    }
    counted(&stack, &s.key.id, &s.f.member, 3).await;
    // With one, the repeats within its TTL are answered from it: one decision, one count.
    let started = Instant::now();
    for _ in 0..3 {
        let a = get(&stack, &cached, &path, &s.key.token).await;
        assert_eq!(a.status, 200, "{a:?}");
    }
    assert!(
        started.elapsed() < CACHE_TTL,
        "the three calls fit in the TTL"
    );
    let usage = counted(&stack, &s.key.id, &s.f.member, 4).await;
    assert_eq!(
        usage["total"], 4,
        "two of the cached gateway's calls were not counted: {usage}"
    );
    // A revoked key keeps working through the cached gateway until its cached answer expires;
    // the uncached one refuses it within the decisions' cache TTL (2 s locally). A call for a
    // package that is not there: allowed by the authorizer, answered 404 by the platform.
    let missing = format!("/projects/{}/nodes/output/packages/none/files", s.f.project);
    let t0 = Instant::now();
    let first = get(&stack, &cached, &missing, &s.key.token).await;
    assert_eq!(first.status, 404, "allowed, and not found: {first:?}");
    s.f.revoke(&stack, &s.f.member, &s.key.id).await;
    let again = get(&stack, &cached, &missing, &s.key.token).await;
    assert!(
        t0.elapsed() < CACHE_TTL,
        "the call after the revocation is within the TTL"
    );
    assert_eq!(
        again.status, 404,
        "the cached answer outlives the revocation: {again:?}"
    );
    let deadline = t0 + Duration::from_secs(15);
    for base in [&gw, &cached] {
        loop {
            let a = get(&stack, base, &missing, &s.key.token).await;
            if a.status == 403 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{base} never refused the revoked key"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    assert!(
        t0.elapsed() >= CACHE_TTL,
        "the cached gateway refused only once its answer expired ({:?})",
        t0.elapsed()
    );
}
