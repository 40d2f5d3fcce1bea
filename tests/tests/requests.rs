//! Requests, approvals and keys over HTTP: the whole flow to a token that verifies, the
//! one-open-request rule, races (concurrent approvals, approve against cancel), who may do what,
//! key snapshots, template deletion, revocation and rolling.

use keygate_e2e::{Fixture, Stack, unique, wait_for_mail};

/// How long a mail may take through the local stream pump and notifier.
const MAIL_WAIT: std::time::Duration = std::time::Duration::from_secs(30);
use serde_json::{Value, json};

/// A fixture with a template; returns (fixture, template id).
async fn setup(stack: &Stack) -> (Fixture, String) {
    let f = Fixture::new(stack).await;
    let t = f.template(stack, &unique("Template ")).await;
    (f, t["id"].as_str().expect("id").to_string())
}

async fn request_key(stack: &Stack, f: &Fixture, t: &str, user: &str) -> Value {
    stack
        .post(
            &f.path(&format!("/templates/{t}/requests")),
            &stack.token(user),
            json!({"comment": "please"}),
        )
        .await
        .expect(201)
        .body
}

async fn approve(stack: &Stack, f: &Fixture, r: &str) -> Value {
    stack
        .post(
            &f.path(&format!("/requests/{r}/approve")),
            &stack.token(&f.owner),
            json!({}),
        )
        .await
        .expect(200)
        .body
}

fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_string()
}

#[tokio::test]
async fn request_approve_reveal_and_the_token_verifies() {
    let stack = Stack::new().await;
    let (f, t) = setup(&stack).await;
    let req = request_key(&stack, &f, &t, &f.member).await;
    assert_eq!(req["status"], "pending");
    assert_eq!(req["requester"]["id"], f.member.as_str());
    let r = id(&req);
    // The owner is told by mail (table stream -> notifier -> SES in the emulator).
    let owner_mail = wait_for_mail(&format!("{}@example.com", f.owner), 1, MAIL_WAIT).await;
    assert_eq!(owner_mail.len(), 1, "one mail to the owner");
    assert!(
        owner_mail[0].body.contains(&f.member)
            && owner_mail[0]
                .body
                .contains(req["template_name"].as_str().unwrap_or("?")),
        "{}",
        owner_mail[0].body
    );

    let pending = stack
        .get(&f.path("/requests?status=pending"), &stack.token(&f.owner))
        .await
        .expect(200)
        .body;
    assert_eq!(pending["items"].as_array().map(Vec::len), Some(1));
    let mine = stack
        .get(&f.path("/templates"), &stack.token(&f.member))
        .await
        .expect(200)
        .body;
    assert_eq!(
        mine["items"][0]["my_request"],
        json!({"id": r, "status": "pending"})
    );

    let out = approve(&stack, &f, &r).await;
    let requester_mail = wait_for_mail(&format!("{}@example.com", f.member), 1, MAIL_WAIT).await;
    assert_eq!(requester_mail.len(), 1, "one mail to the requester");
    assert!(
        requester_mail[0]
            .subject
            .to_lowercase()
            .contains("approved"),
        "{}",
        requester_mail[0].subject
    );
    assert_eq!(out["request"]["status"], "approved");
    let key = &out["key"];
    assert_eq!(out["request"]["key_id"], key["id"]);
    assert_eq!(
        (key["status"].as_str(), key["role"].as_str()),
        (Some("active"), Some("reader"))
    );
    assert_eq!(key["holder"]["id"], f.member.as_str());
    assert!(
        key.get("token").is_none(),
        "the token is never in a key object"
    );
    let k = id(key);
    let mine = stack
        .get(&f.path("/templates"), &stack.token(&f.member))
        .await
        .expect(200)
        .body;
    assert_eq!(
        mine["items"][0]["my_request"],
        json!({"id": r, "status": "approved", "key_id": k})
    );

    let token = stack
        .get(&format!("/v1/keys/{k}/token"), &stack.token(&f.member))
        .await
        .expect(200)
        .body["token"]
        .as_str()
        .expect("token")
        .to_string();
    let again = stack
        .get(&format!("/v1/keys/{k}/token"), &stack.token(&f.member))
        .await
        .expect(200)
        .body;
    assert_eq!(again["token"], token.as_str(), "re-minted, identical");

    // The library's verification, with the key set the stack published.
    let keys = keygate_e2e::signing_keys().await.public();
    let claims = keys
        .verify(&token, "keygate", &format!("platform-api:{}", f.project))
        .expect("verifies");
    assert_eq!(
        (
            claims.sub.as_str(),
            claims.jti.as_str(),
            claims.role.as_str()
        ),
        (f.member.as_str(), k.as_str(), "reader")
    );
    // And with nothing but the public JWKS.
    let jwks: jsonwebtoken::jwk::JwkSet =
        serde_json::from_str(&keys.jwks().to_string()).expect("jwks");
    let kid = jsonwebtoken::decode_header(&token)
        .expect("header")
        .kid
        .expect("kid");
    let jwk = jwks.find(&kid).expect("published key");
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    v.set_audience(&[format!("platform-api:{}", f.project)]);
    v.set_required_spec_claims(&["sub"]);
    jsonwebtoken::decode::<Value>(
        &token,
        &jsonwebtoken::DecodingKey::from_jwk(jwk).expect("key"),
        &v,
    )
    .expect("verifies with the JWKS");

    let listed = stack
        .get("/v1/me/keys", &stack.token(&f.member))
        .await
        .expect(200)
        .body;
    assert!(
        listed["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|x| x["id"] == k.as_str())
    );
    let project_keys = stack
        .get(&f.path("/keys"), &stack.token(&f.owner))
        .await
        .expect(200)
        .body;
    assert_eq!(project_keys["items"].as_array().map(Vec::len), Some(1));
    let my_requests = stack
        .get("/v1/me/requests", &stack.token(&f.member))
        .await
        .expect(200)
        .body;
    assert!(
        my_requests["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|x| x["id"] == r.as_str() && x["status"] == "approved")
    );
}

#[tokio::test]
async fn one_open_request_per_user_and_template() {
    let stack = Stack::new().await;
    let (f, t) = setup(&stack).await;
    let path = f.path(&format!("/templates/{t}/requests"));
    let member = stack.token(&f.member);
    let first = request_key(&stack, &f, &t, &f.member).await;
    stack.post(&path, &member, json!({})).await.expect(409);
    // Another member may ask meanwhile.
    let other = unique("other-");
    stack
        .put(
            &f.path(&format!("/members/{other}")),
            &stack.token(&f.owner),
            json!({"email": "o@example.com"}),
        )
        .await
        .expect(200);
    request_key(&stack, &f, &t, &other).await;

    let key = approve(&stack, &f, &id(&first)).await["key"].clone();
    stack
        .call(keygate_e2e::Method::POST, &path, Some(&member), None)
        .await
        .expect(409);
    stack
        .post(&format!("/v1/keys/{}/revoke", id(&key)), &member, json!({}))
        .await
        .expect(200);
    let again = request_key(&stack, &f, &t, &f.member).await;
    // A rejection (with its reason) frees the pair too.
    let rejected = stack
        .post(
            &f.path(&format!("/requests/{}/reject", id(&again))),
            &stack.token(&f.owner),
            json!({"reason": "not now"}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(
        (rejected["status"].as_str(), rejected["reason"].as_str()),
        (Some("rejected"), Some("not now"))
    );
    let mine = stack
        .get(&f.path(&format!("/templates/{t}")), &member)
        .await
        .expect(200)
        .body;
    assert_eq!(
        mine["my_request"],
        json!({"id": id(&again), "status": "rejected", "reason": "not now"})
    );
    request_key(&stack, &f, &t, &f.member).await;
}

#[tokio::test]
async fn twenty_concurrent_approvals_issue_exactly_one_key() {
    let stack = Stack::new().await;
    let (f, t) = setup(&stack).await;
    let r = id(&request_key(&stack, &f, &t, &f.member).await);
    let owner = stack.token(&f.owner);
    let path = f.path(&format!("/requests/{r}/approve"));
    let replies =
        futures::future::join_all((0..20).map(|_| stack.post(&path, &owner, json!({})))).await;
    let ok = replies.iter().filter(|x| x.status == 200).count();
    let conflicts = replies.iter().filter(|x| x.status == 409).count();
    assert_eq!(
        (ok, conflicts),
        (1, 19),
        "{:?}",
        replies.iter().map(|x| x.status).collect::<Vec<_>>()
    );
    let keys = stack.get(&f.path("/keys"), &owner).await.expect(200).body;
    assert_eq!(
        keys["items"].as_array().map(Vec::len),
        Some(1),
        "one key stored"
    );
}

#[tokio::test]
async fn approve_racing_cancel_has_one_winner_and_never_a_key_for_a_cancelled_request() {
    let stack = Stack::new().await;
    let (f, t) = setup(&stack).await;
    let owner = stack.token(&f.owner);
    let member = stack.token(&f.member);
    for _ in 0..5 {
        let r = id(&request_key(&stack, &f, &t, &f.member).await);
        let approve_path = f.path(&format!("/requests/{r}/approve"));
        let cancel_path = f.path(&format!("/requests/{r}"));
        let (a, c) = tokio::join!(
            stack.post(&approve_path, &owner, json!({})),
            stack.delete(&cancel_path, &member)
        );
        let request = stack
            .get(&f.path("/requests"), &owner)
            .await
            .expect(200)
            .body["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|x| x["id"] == r.as_str())
            .cloned()
            .expect("request listed");
        match (a.status, c.status) {
            (200, 409) => {
                assert_eq!(request["status"], "approved");
                let k = request["key_id"].as_str().expect("key id");
                stack
                    .post(&format!("/v1/keys/{k}/revoke"), &member, json!({}))
                    .await
                    .expect(200);
            }
            (409, 204) => {
                assert_eq!(request["status"], "cancelled");
                assert_eq!(request["key_id"], Value::Null);
            }
            other => panic!("exactly one must win: {other:?} {} {}", a.body, c.body),
        }
    }
    let keys = stack.get(&f.path("/keys"), &owner).await.expect(200).body;
    for k in keys["items"].as_array().expect("items") {
        let r = k["request_id"].as_str().expect("request id");
        let all = stack
            .get(&f.path("/requests?status=approved&page_size=100"), &owner)
            .await
            .expect(200)
            .body;
        assert!(
            all["items"]
                .as_array()
                .expect("items")
                .iter()
                .any(|x| x["id"] == r),
            "every key has an approved request"
        );
    }
}

#[tokio::test]
async fn decided_requests_stay_decided() {
    let stack = Stack::new().await;
    let (f, t) = setup(&stack).await;
    let owner = stack.token(&f.owner);
    let r = id(&request_key(&stack, &f, &t, &f.member).await);
    stack
        .post(&f.path(&format!("/requests/{r}/reject")), &owner, json!({}))
        .await
        .expect(200);
    stack
        .post(
            &f.path(&format!("/requests/{r}/approve")),
            &owner,
            json!({}),
        )
        .await
        .expect(409);
    stack
        .post(&f.path(&format!("/requests/{r}/reject")), &owner, json!({}))
        .await
        .expect(409);
    stack
        .delete(&f.path(&format!("/requests/{r}")), &stack.token(&f.member))
        .await
        .expect(409);
    let r2 = id(&request_key(&stack, &f, &t, &f.member).await);
    approve(&stack, &f, &r2).await;
    stack
        .post(
            &f.path(&format!("/requests/{r2}/reject")),
            &owner,
            json!({}),
        )
        .await
        .expect(409);
    stack
        .post(
            &f.path("/requests/zzzzzzzzzzzzzzzzzzzzzzzzzz/approve"),
            &owner,
            json!({}),
        )
        .await
        .expect(404);
    stack
        .get(&f.path("/requests?status=open"), &owner)
        .await
        .expect(400);
}

#[tokio::test]
async fn only_the_owner_decides_and_only_the_holder_sees_the_token() {
    let stack = Stack::new().await;
    let (f, t) = setup(&stack).await;
    let other = unique("other-");
    stack
        .put(
            &f.path(&format!("/members/{other}")),
            &stack.token(&f.owner),
            json!({"email": "o@example.com"}),
        )
        .await
        .expect(200);
    let r = id(&request_key(&stack, &f, &t, &f.member).await);
    for (who, status) in [(&f.member, 403), (&other, 403), (&f.outsider, 404)] {
        let token = stack.token(who);
        assert_eq!(
            stack
                .post(
                    &f.path(&format!("/requests/{r}/approve")),
                    &token,
                    json!({})
                )
                .await
                .status,
            status,
            "approve by {who}"
        );
        assert_eq!(
            stack
                .post(&f.path(&format!("/requests/{r}/reject")), &token, json!({}))
                .await
                .status,
            status,
            "reject by {who}"
        );
    }
    // Listing the project's requests is the owner's; cancelling is the requester's.
    stack
        .get(&f.path("/requests"), &stack.token(&f.member))
        .await
        .expect(403);
    stack
        .delete(&f.path(&format!("/requests/{r}")), &stack.token(&f.owner))
        .await
        .expect(403);
    stack
        .delete(&f.path(&format!("/requests/{r}")), &stack.token(&other))
        .await
        .expect(404);

    let k = id(&approve(&stack, &f, &r).await["key"]);
    stack
        .get(&format!("/v1/keys/{k}/token"), &stack.token(&f.member))
        .await
        .expect(200);
    stack
        .get(&format!("/v1/keys/{k}/token"), &stack.token(&f.owner))
        .await
        .expect(403);
    stack
        .get(&format!("/v1/keys/{k}/token"), &stack.token(&other))
        .await
        .expect(404);
    stack
        .get(&format!("/v1/keys/{k}"), &stack.token(&f.owner))
        .await
        .expect(200);
    stack
        .get(&format!("/v1/keys/{k}"), &stack.token(&other))
        .await
        .expect(404);
    stack
        .get(&format!("/v1/keys/{k}"), &stack.token(&f.outsider))
        .await
        .expect(404);
    stack
        .post(
            &format!("/v1/keys/{k}/roll"),
            &stack.token(&f.owner),
            json!({}),
        )
        .await
        .expect(403);
    stack
        .post(
            &format!("/v1/keys/{k}/revoke"),
            &stack.token(&other),
            json!({}),
        )
        .await
        .expect(404);
    stack
        .get(&f.path("/keys"), &stack.token(&f.member))
        .await
        .expect(403);
    // The owner may revoke; a second revoke is a conflict; a revoked key has no token.
    stack
        .post(
            &format!("/v1/keys/{k}/revoke"),
            &stack.token(&f.owner),
            json!({}),
        )
        .await
        .expect(200);
    stack
        .post(
            &format!("/v1/keys/{k}/revoke"),
            &stack.token(&f.member),
            json!({}),
        )
        .await
        .expect(409);
    stack
        .get(&format!("/v1/keys/{k}/token"), &stack.token(&f.member))
        .await
        .expect(409);
}

#[tokio::test]
async fn a_key_keeps_the_template_as_it_was_at_approval() {
    let stack = Stack::new().await;
    let (f, t) = setup(&stack).await;
    let owner = stack.token(&f.owner);
    let r = id(&request_key(&stack, &f, &t, &f.member).await);
    let key = approve(&stack, &f, &r).await["key"].clone();
    let template = stack
        .get(&f.path(&format!("/templates/{t}")), &owner)
        .await
        .expect(200)
        .body;
    stack
        .patch(
            &f.path(&format!("/templates/{t}")),
            &owner,
            json!({"name": "Renamed", "version": template["version"]}),
        )
        .await
        .expect(200);
    let fid = template["fields"][0]["id"].as_str().expect("field");
    stack
        .patch(
            &f.path(&format!("/templates/{t}/fields/{fid}")),
            &owner,
            json!({"value": "changed"}),
        )
        .await
        .expect(200);
    let now = stack
        .get(&format!("/v1/keys/{}", id(&key)), &stack.token(&f.member))
        .await
        .expect(200)
        .body;
    assert_eq!(now["name"], key["name"]);
    assert_eq!(now["fields"], key["fields"]);
    assert_eq!(now["fields"][0]["value"], f.project.as_str());
}

#[tokio::test]
async fn deleting_a_template_cancels_its_pending_requests() {
    let stack = Stack::new().await;
    let (f, t) = setup(&stack).await;
    let owner = stack.token(&f.owner);
    let r = id(&request_key(&stack, &f, &t, &f.member).await);
    stack
        .delete(&f.path(&format!("/templates/{t}")), &owner)
        .await
        .expect(204);
    // The requester is told their request was closed.
    let told = wait_for_mail(&format!("{}@example.com", f.member), 1, MAIL_WAIT).await;
    assert_eq!(told.len(), 1, "one mail to the requester");
    let cancelled = stack
        .get(&f.path("/requests?status=cancelled"), &owner)
        .await
        .expect(200)
        .body;
    let req = cancelled["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|x| x["id"] == r.as_str())
        .cloned()
        .expect("cancelled");
    assert_eq!(req["decided_by"]["id"], f.owner.as_str());
    assert!(
        req["reason"]
            .as_str()
            .is_some_and(|s| s.contains("deleted"))
    );
    stack
        .post(
            &f.path(&format!("/requests/{r}/approve")),
            &owner,
            json!({}),
        )
        .await
        .expect(409);
    assert!(
        stack.get(&f.path("/keys"), &owner).await.expect(200).body["items"]
            .as_array()
            .is_some_and(Vec::is_empty)
    );
}

#[tokio::test]
async fn rolling_issues_a_new_key_and_the_old_one_ends_after_its_grace() {
    let stack = Stack::new().await;
    let (f, t) = setup(&stack).await;
    let member = stack.token(&f.member);
    let old = id(&approve(
        &stack,
        &f,
        &id(&request_key(&stack, &f, &t, &f.member).await),
    )
    .await["key"]);
    let old_token = stack
        .get(&format!("/v1/keys/{old}/token"), &member)
        .await
        .expect(200)
        .body["token"]
        .clone();

    stack
        .post(
            &format!("/v1/keys/{old}/roll"),
            &member,
            json!({"grace_seconds": 604_801}),
        )
        .await
        .expect(400);
    let new = stack
        .post(
            &format!("/v1/keys/{old}/roll"),
            &member,
            json!({"grace_seconds": 3600}),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(new["status"], "active");
    let new_id = id(&new);
    assert_ne!(new_id, old);
    let new_token = stack
        .get(&format!("/v1/keys/{new_id}/token"), &member)
        .await
        .expect(200)
        .body["token"]
        .clone();
    assert_ne!(new_token, old_token);
    let old_now = stack
        .get(&format!("/v1/keys/{old}"), &member)
        .await
        .expect(200)
        .body;
    assert_eq!(
        (old_now["status"].as_str(), old_now["replaced_by"].as_str()),
        (Some("active"), Some(new_id.as_str())),
        "still valid in its grace"
    );
    assert!(old_now["grace_until"].is_string());
    stack
        .post(&format!("/v1/keys/{old}/roll"), &member, json!({}))
        .await
        .expect(409);
    // my_request follows the new key.
    let mine = stack
        .get(&f.path(&format!("/templates/{t}")), &member)
        .await
        .expect(200)
        .body;
    assert_eq!(mine["my_request"]["key_id"], new_id.as_str());

    // A key in its grace can be revoked at once; the new key is untouched.
    let cut = stack
        .post(&format!("/v1/keys/{old}/revoke"), &member, json!({}))
        .await
        .expect(200)
        .body;
    assert_eq!(cut["status"], "revoked");
    stack
        .get(&format!("/v1/keys/{old}/token"), &member)
        .await
        .expect(409);
    assert_eq!(
        stack
            .get(&format!("/v1/keys/{new_id}"), &member)
            .await
            .expect(200)
            .body["status"],
        "active"
    );

    // Without grace the old key is revoked at once.
    let newer = id(&stack
        .call(
            keygate_e2e::Method::POST,
            &format!("/v1/keys/{new_id}/roll"),
            Some(&member),
            None,
        )
        .await
        .expect(201)
        .body);
    let rolled = stack
        .get(&format!("/v1/keys/{new_id}"), &member)
        .await
        .expect(200)
        .body;
    assert_eq!(
        (rolled["status"].as_str(), rolled["replaced_by"].as_str()),
        (Some("revoked"), Some(newer.as_str()))
    );
    stack
        .get(&format!("/v1/keys/{new_id}/token"), &member)
        .await
        .expect(409);
}
