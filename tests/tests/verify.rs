//! Using keys over HTTP: every refusal reason from a real token, introspection, the public keys,
//! revocation and roll grace reaching decisions within the cache TTL, exact usage counts under
//! concurrency (once the batches are written), and the statistics routes.

use std::time::Duration;

use futures::future::join_all;
use keygate_e2e::{Fixture, IssuedKey, Stack};
use serde_json::{Value, json};

/// `make test` runs the stack with `DECISION_CACHE_TTL_SECONDS=2`.
const CACHE_TTL: Duration = Duration::from_secs(2);

async fn verify(stack: &Stack, token: &str, method: &str, path: &str) -> Value {
    stack
        .call(
            keygate_e2e::Method::POST,
            "/v1/verify",
            None,
            Some(json!({"token": token, "method": method, "path": path})),
        )
        .await
        .expect(200)
        .body
}

fn files(f: &Fixture) -> String {
    format!("/projects/{}/nodes/in/packages/7/files", f.project)
}

async fn setup() -> (Stack, Fixture, IssuedKey) {
    let stack = Stack::new().await;
    let f = Fixture::new(&stack).await;
    let key = f.issue_key(&stack, &[("Project", "p")]).await;
    (stack, f, key)
}

#[tokio::test]
async fn each_reason_comes_from_a_real_token() {
    let (stack, f, key) = setup().await;
    let allowed = verify(&stack, &key.token, "GET", &files(&f)).await;
    assert_eq!(allowed["allowed"], true, "{allowed}");
    assert_eq!(allowed["reason"], Value::Null);
    assert_eq!(allowed["key_id"], key.id.as_str());
    assert_eq!(allowed["project_id"], f.project.as_str());
    assert_eq!(allowed["role"], "reader");
    assert_eq!(allowed["holder"], f.member.as_str());
    assert_eq!(
        allowed["permissions"],
        json!(["files:read", "packages:read"])
    );

    let reason = |v: Value| v["reason"].as_str().unwrap_or_default().to_string();
    let write = format!("/projects/{}/nodes/in/packages", f.project);
    assert_eq!(
        reason(verify(&stack, &key.token, "POST", &write).await),
        "permission_missing:packages:write"
    );
    assert_eq!(
        reason(
            verify(
                &stack,
                &key.token,
                "GET",
                "/projects/other/nodes/in/packages/7/files"
            )
            .await
        ),
        "wrong_project"
    );
    assert_eq!(
        reason(verify(&stack, &key.token, "DELETE", &files(&f)).await),
        "unknown_route"
    );
    assert_eq!(
        reason(verify(&stack, "not-a-token", "GET", &files(&f)).await),
        "invalid_token"
    );
    // A console token is not an API key.
    assert_eq!(
        reason(verify(&stack, &stack.token(&f.member), "GET", &files(&f)).await),
        "invalid_token"
    );
    // A tampered token.
    let mut parts: Vec<String> = key.token.split('.').map(str::to_string).collect();
    parts[2] = parts[2].chars().rev().collect();
    assert_eq!(
        reason(verify(&stack, &parts.join("."), "GET", &files(&f)).await),
        "invalid_token"
    );

    // Expired: the key's validity ended.
    let expired = f.issue_key(&stack, &[("Project", "p")]).await;
    stack.expire_key(&expired.id).await;
    assert_eq!(
        reason(verify(&stack, &expired.token, "GET", &files(&f)).await),
        "expired"
    );

    // Revoked: effective within the cache TTL.
    f.revoke(&stack, &f.owner, &key.id).await;
    tokio::time::sleep(CACHE_TTL + Duration::from_millis(500)).await;
    assert_eq!(
        reason(verify(&stack, &key.token, "GET", &files(&f)).await),
        "revoked"
    );
}

#[tokio::test]
async fn introspection_and_public_keys() {
    let (stack, f, key) = setup().await;
    let me = stack.get("/v1/token", &key.token).await.expect(200).body;
    assert_eq!(me["allowed"], true, "{me}");
    assert_eq!(me["key_id"], key.id.as_str());
    assert_eq!(me["route"], "GET /v1/token");
    let none = stack
        .call(keygate_e2e::Method::GET, "/v1/token", None, None)
        .await
        .expect(401);
    assert!(none.body["detail"].is_string());
    let console = stack
        .get("/v1/token", &stack.token(&f.member))
        .await
        .expect(200)
        .body;
    assert_eq!(console["allowed"], false);
    assert_eq!(console["reason"], "invalid_token");

    let res = stack
        .http
        .get(format!("{}/.well-known/jwks.json", stack.url))
        .send()
        .await
        .expect("jwks");
    assert_eq!(res.status(), 200);
    let cache = res
        .headers()
        .get("cache-control")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(cache.contains("max-age"), "{cache}");
    let jwks: Value = res.json().await.expect("json");
    let keys = jwks["keys"].as_array().expect("keys");
    assert!(!keys.is_empty());
    for k in keys {
        assert_eq!(k["alg"], "EdDSA");
        assert!(k["kid"].is_string());
        assert!(k.get("d").is_none(), "public keys only");
    }
}

#[tokio::test]
async fn a_rolled_key_works_within_its_grace_not_after() {
    let (stack, f, key) = setup().await;
    let member = stack.token(&f.member);
    stack
        .post(
            &format!("/v1/keys/{}/roll", key.id),
            &member,
            json!({"grace_seconds": 4}),
        )
        .await
        .expect(201);
    let within = verify(&stack, &key.token, "GET", &files(&f)).await;
    assert_eq!(within["allowed"], true, "{within}");
    tokio::time::sleep(Duration::from_secs(4) + CACHE_TTL + Duration::from_millis(500)).await;
    let after = verify(&stack, &key.token, "GET", &files(&f)).await;
    assert_eq!(after["reason"], "revoked", "{after}");
}

#[tokio::test]
async fn counting_is_exact_under_concurrency() {
    let (stack, f, key) = setup().await;
    let read = files(&f);
    let write = format!("/projects/{}/nodes/in/packages", f.project);
    const N: usize = 500;
    // Every fifth call is denied (packages:write is missing).
    let calls: Vec<(&str, &str)> = (0..N)
        .map(|i| {
            if i % 5 == 0 {
                ("POST", write.as_str())
            } else {
                ("GET", read.as_str())
            }
        })
        .collect();
    let mut allowed = 0;
    for chunk in calls.chunks(50) {
        let replies = join_all(chunk.iter().map(|(m, p)| verify(&stack, &key.token, m, p))).await;
        allowed += replies.iter().filter(|r| r["allowed"] == true).count();
    }
    assert_eq!(allowed, N * 4 / 5);
    let usage = stack.usage_once_counted(&key.id, &f.member, N as u64).await;
    assert_eq!(usage["total"], N as u64, "{usage}");
    assert_eq!(usage["allowed"], (N * 4 / 5) as u64);
    assert_eq!(usage["denied"], (N / 5) as u64);
    let routes = usage["routes"].as_array().expect("routes");
    let of = |r: &str| {
        routes
            .iter()
            .find(|x| x["route"] == r)
            .map(|x| x["total"].as_u64().unwrap_or(0))
            .unwrap_or(0)
    };
    assert_eq!(
        of("GET /projects/{p}/nodes/{n}/packages/{id}/files"),
        (N * 4 / 5) as u64
    );
    assert_eq!(of("POST /projects/{p}/nodes/{n}/packages"), (N / 5) as u64);
    assert_eq!(
        usage["denied_by_reason"],
        json!([{"reason": "permission_missing", "total": N / 5}])
    );
    let today = usage["to"].as_str().expect("to").to_string();
    let day = usage["series"]
        .as_array()
        .expect("series")
        .iter()
        .find(|p| p["t"] == today.as_str())
        .cloned()
        .expect("today");
    assert_eq!(day["total"], N as u64);
    // Each verify container that served the calls wrote its own item of the day (a 26-character
    // writer id, its updates numbered by `seq`): one item per container, not one per shard.
    let items: Vec<_> = stack
        .items(&format!("KEY#{}", key.id))
        .await
        .into_iter()
        .filter(|i| {
            i.get("sk")
                .and_then(|s| s.as_s().ok())
                .is_some_and(|s| s.starts_with("USAGE#"))
        })
        .collect();
    assert!(!items.is_empty() && items.len() < N / 10, "{items:?}");
    for item in &items {
        let sk = item["sk"].as_s().expect("sk");
        let writer = sk
            .strip_prefix(&format!("USAGE#{today}#"))
            .unwrap_or_else(|| panic!("{sk}: today's item"));
        assert_eq!(writer.len(), 26, "{sk}");
        let seq: u64 = item["seq"].as_n().expect("seq").parse().expect("a number");
        assert!(seq >= 1, "{sk}");
    }
    assert!(usage["last_used_at"].is_string());
}

#[tokio::test]
async fn statistics_are_for_holder_and_owner_and_check_their_range() {
    let (stack, f, key) = setup().await;
    verify(&stack, &key.token, "GET", &files(&f)).await;
    stack.usage_once_counted(&key.id, &f.member, 1).await;
    // The key object shows its last use, single and listed; an unused key shows none.
    let one = stack
        .get(&format!("/v1/keys/{}", key.id), &stack.token(&f.member))
        .await
        .expect(200)
        .body;
    assert!(one["last_used_at"].is_string(), "{one}");
    let mine = stack
        .get("/v1/me/keys", &stack.token(&f.member))
        .await
        .expect(200)
        .body;
    let listed = mine["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|k| k["id"] == key.id.as_str())
        .cloned()
        .expect("listed");
    assert_eq!(listed["last_used_at"], one["last_used_at"]);
    let unused = f.issue_key(&stack, &[("Project", "p")]).await;
    let fresh = stack
        .get(&format!("/v1/keys/{}", unused.id), &stack.token(&f.member))
        .await
        .expect(200)
        .body;
    assert_eq!(fresh["last_used_at"], Value::Null);
    let path = format!("/v1/keys/{}/usage", key.id);
    stack.get(&path, &stack.token(&f.member)).await.expect(200);
    let owner = stack
        .get(&path, &stack.token(&f.owner))
        .await
        .expect(200)
        .body;
    assert_eq!(owner["total"], 1);
    stack
        .get(&path, &stack.token(&f.outsider))
        .await
        .expect(404);
    let other = f.add_member(&stack, "other-").await;
    stack.get(&path, &stack.token(&other)).await.expect(404);

    // A range with no use: zeros, one point per day.
    let quiet = stack
        .get(
            &format!("{path}?from=2026-01-01&to=2026-01-10"),
            &stack.token(&f.member),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(quiet["total"], 0);
    assert_eq!(quiet["series"].as_array().map(Vec::len), Some(10));
    let hourly = stack
        .get(
            &format!("{path}?from=2026-01-01&to=2026-01-01&granularity=hour"),
            &stack.token(&f.member),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(hourly["series"].as_array().map(Vec::len), Some(24));
    for (query, field) in [
        ("from=yesterday", "from"),
        ("to=2026-02-30", "to"),
        ("from=2024-01-01&to=2026-01-01", "from"),
        ("from=2026-02-01&to=2026-01-01", "from"),
        ("granularity=week", "granularity"),
    ] {
        let r = stack
            .get(&format!("{path}?{query}"), &stack.token(&f.member))
            .await
            .expect(400);
        assert_eq!(r.fields(), vec![field], "{query}");
    }

    // The owner's roll-up of the project's keys.
    let rollup = stack
        .get(&f.path("/usage"), &stack.token(&f.owner))
        .await
        .expect(200)
        .body;
    let item = rollup["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["key_id"] == key.id.as_str())
        .cloned()
        .expect("the key");
    assert_eq!(item["total"], 1);
    assert_eq!(item["holder"], f.member.as_str());
    stack
        .get(&f.path("/usage"), &stack.token(&f.member))
        .await
        .expect(403);
    stack
        .get(&f.path("/usage"), &stack.token(&f.outsider))
        .await
        .expect(404);
}
