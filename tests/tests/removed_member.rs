//! A member removed from a project keeps nothing of it: every key they hold there is revoked
//! (a rolled key still in its grace too), their pending requests are cancelled, in the removal's
//! own transaction with the usual audit entries and mails; from then on revealing, rolling and
//! deciding refuse them, and a request they made cannot be approved.

use std::time::Duration;

use keygate_e2e::{Fixture, Stack, wait_for_mail};
use serde_json::{Value, json};

/// `make test` runs the stack with `DECISION_CACHE_TTL_SECONDS=2`.
const CACHE_TTL: Duration = Duration::from_secs(2);

async fn decide(stack: &Stack, token: &str, f: &Fixture) -> Value {
    stack
        .call(
            keygate_e2e::Method::POST,
            "/v1/verify",
            None,
            Some(json!({
                "token": token,
                "method": "GET",
                "path": format!("/projects/{}/nodes/in/packages/7/files", f.project),
            })),
        )
        .await
        .expect(200)
        .body
}

/// (action, target id, actor id) of each entry.
fn actions(trail: &Value) -> Vec<(String, String, String)> {
    trail["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap_or_default().to_string(),
                e["target"]["id"].as_str().unwrap_or_default().to_string(),
                e["actor"]["id"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn removing_a_member_revokes_their_keys_and_cancels_their_requests() {
    let stack = Stack::new().await;
    let f = Fixture::new(&stack).await;
    let owner = stack.token(&f.owner);
    let member = stack.token(&f.member);

    // Two keys: one rolled with a grace (its old key still verifies), one plain; and a pending
    // request from a third template.
    let first = f.issue_key(&stack, &[("Project", "p")]).await;
    let rolled = stack
        .post(
            &format!("/v1/keys/{}/roll", first.id),
            &member,
            json!({"grace_seconds": 3600}),
        )
        .await
        .expect(201)
        .body;
    let rolled_id = rolled["id"].as_str().expect("new key id").to_string();
    let rolled_token = stack.reveal(&rolled_id, &f.member).await;
    let second = f.issue_key(&stack, &[("Project", "p")]).await;
    let t = f.template(&stack, "Pending one").await;
    let pending = f
        .request(&stack, &f.member, t["id"].as_str().expect("template id"))
        .await;
    for token in [&first.token, &rolled_token, &second.token] {
        assert_eq!(decide(&stack, token, &f).await["allowed"], true);
    }

    stack
        .delete(&f.path(&format!("/members/{}", f.member)), &owner)
        .await
        .expect(204);

    // Every key of theirs in the project is revoked, by the owner.
    for k in [&first.id, &rolled_id, &second.id] {
        let key = stack
            .get(&format!("/v1/keys/{k}"), &owner)
            .await
            .expect(200)
            .body;
        assert_eq!(key["status"], "revoked", "{key}");
    }
    // Their pending request is cancelled.
    let requests = stack
        .get(&f.path("/requests?page_size=100"), &owner)
        .await
        .expect(200)
        .body;
    let req = requests["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|r| r["id"] == pending.as_str())
        .expect("the request is listed");
    assert_eq!(req["status"], "cancelled", "{req}");

    // The removal's audit entries, by the owner: the member, each key, the request.
    let trail = stack
        .get(&f.path("/audit?page_size=100"), &owner)
        .await
        .expect(200)
        .body;
    let got = actions(&trail);
    for want in [
        ("member.removed", f.member.as_str()),
        ("key.revoked", first.id.as_str()),
        ("key.revoked", rolled_id.as_str()),
        ("key.revoked", second.id.as_str()),
        ("request.cancelled", pending.as_str()),
    ] {
        assert!(
            got.iter()
                .any(|(a, t, by)| a == want.0 && t == want.1 && by == &f.owner),
            "{want:?} not in {got:?}"
        );
    }

    // Deciding refuses every one of their tokens once the decision cache has let go.
    tokio::time::sleep(CACHE_TTL + Duration::from_millis(500)).await;
    for token in [&first.token, &rolled_token, &second.token] {
        let d = decide(&stack, token, &f).await;
        assert_eq!(d["allowed"], false, "{d}");
        assert_eq!(d["reason"], "revoked", "{d}");
    }
    // Revealing and rolling refuse them: they are no longer a member.
    for k in [&rolled_id, &second.id] {
        let reveal = stack.get(&format!("/v1/keys/{k}/token"), &member).await;
        assert_eq!(reveal.status, 403, "{:?}", reveal.body);
        let roll = stack
            .post(&format!("/v1/keys/{k}/roll"), &member, json!({}))
            .await;
        assert_eq!(roll.status, 403, "{:?}", roll.body);
    }

    // The usual mails: the holder hears of each revocation and of the cancelled request.
    let address = format!("{}@example.com", f.member);
    let mails = wait_for_mail(&address, 2, Duration::from_secs(30)).await;
    let revoked = mails
        .iter()
        .filter(|m| m.subject.to_lowercase().contains("revoked"))
        .count();
    assert!(
        revoked >= 1,
        "{:?}",
        mails.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn a_removed_member_cannot_be_given_a_key() {
    let stack = Stack::new().await;
    let f = Fixture::new(&stack).await;
    let owner = stack.token(&f.owner);
    let t = f.template(&stack, "Later").await;
    let r = f
        .request(&stack, &f.member, t["id"].as_str().expect("template id"))
        .await;
    stack
        .delete(&f.path(&format!("/members/{}", f.member)), &owner)
        .await
        .expect(204);
    // The request was cancelled with the membership: nothing left to approve.
    let approve = stack
        .post(
            &f.path(&format!("/requests/{r}/approve")),
            &owner,
            json!({}),
        )
        .await;
    assert_eq!(approve.status, 409, "{:?}", approve.body);
    let keys = stack.get(&f.path("/keys"), &owner).await.expect(200).body;
    assert_eq!(keys["items"], json!([]), "{keys}");
    // Nor can they ask again.
    let again = stack
        .post(
            &f.path(&format!(
                "/templates/{}/requests",
                t["id"].as_str().unwrap_or_default()
            )),
            &stack.token(&f.member),
            json!({}),
        )
        .await;
    assert_eq!(again.status, 404, "{:?}", again.body);
}

#[tokio::test]
async fn a_member_who_leaves_gives_up_their_keys_and_the_owner_cannot_leave() {
    let stack = Stack::new().await;
    let f = Fixture::new(&stack).await;
    let key = f.issue_key(&stack, &[("Project", "p")]).await;
    let member = stack.token(&f.member);
    // Another member cannot remove them: only the owner removes, only they leave.
    let other = f.add_member(&stack, "other-").await;
    let by_other = stack
        .delete(
            &f.path(&format!("/members/{}", f.member)),
            &stack.token(&other),
        )
        .await;
    assert_eq!(by_other.status, 403, "{:?}", by_other.body);

    stack
        .delete(&f.path(&format!("/members/{}", f.member)), &member)
        .await
        .expect(204);
    let got = stack
        .get(&format!("/v1/keys/{}", key.id), &stack.token(&f.owner))
        .await
        .expect(200)
        .body;
    assert_eq!(got["status"], "revoked", "{got}");
    tokio::time::sleep(CACHE_TTL + Duration::from_millis(500)).await;
    assert_eq!(decide(&stack, &key.token, &f).await["reason"], "revoked");
    // They are gone: the project is a 404 to them now.
    let gone = stack.get(&f.path(""), &member).await;
    assert_eq!(gone.status, 404, "{:?}", gone.body);

    let owner_leaves = stack
        .delete(
            &f.path(&format!("/members/{}", f.owner)),
            &stack.token(&f.owner),
        )
        .await;
    assert_eq!(owner_leaves.status, 422, "{:?}", owner_leaves.body);
}
