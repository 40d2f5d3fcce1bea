//! The scheduled jobs through the `scheduler` function (invoked on `cargo lambda watch` as its
//! schedules would, with `now` moved where a test needs it): the owners' daily digest, the
//! holders' expiry reminders and the once-only expired mark; and the projects' mail settings.
//! The digest job looks at every project with the digest on, so one test runs it (tests in a
//! binary run concurrently); only the reminders test makes keys that expire.

use std::time::Duration;

use keygate_e2e::{Fixture, Stack, mail_to, rfc3339, unique, wait_for_mail};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

fn email(user: &str) -> String {
    format!("{user}@example.com")
}

async fn settings(stack: &Stack, f: &Fixture, body: Value) -> keygate_e2e::Reply {
    stack
        .call(
            keygate_e2e::Method::PATCH,
            &f.path(""),
            Some(&stack.token(&f.owner)),
            Some(body),
        )
        .await
}

/// A template of the fixture (role reader, one info field), optionally with a key lifetime;
/// its id.
async fn template(stack: &Stack, f: &Fixture, ttl_days: Option<u32>) -> String {
    let t = stack
        .post(
            &f.path("/templates"),
            &stack.token(&f.owner),
            json!({"name": unique("T "), "role": "reader", "ttl_days": ttl_days,
                "fields": [{"name": "project", "value": f.project}]}),
        )
        .await
        .expect(201);
    t.body["id"].as_str().expect("template id").to_string()
}

fn digests(mails: &[keygate_e2e::SentMail]) -> Vec<&keygate_e2e::SentMail> {
    mails
        .iter()
        .filter(|m| m.subject.contains("waiting in"))
        .collect()
}

#[tokio::test]
async fn settings_are_the_owners_and_notify_needs_the_digest() {
    let stack = Stack::new().await;
    let f = Fixture::new(&stack).await;
    let got = stack
        .get(&f.path(""), &stack.token(&f.owner))
        .await
        .expect(200);
    assert_eq!(
        (got.body["digest"].as_str(), got.body["notify"].as_str()),
        (Some("off"), Some("each"))
    );

    let r = settings(&stack, &f, json!({"notify": "digest"}))
        .await
        .expect(422);
    assert_eq!(r.fields(), vec!["notify".to_string()]);
    let r = settings(&stack, &f, json!({"digest": "hourly"}))
        .await
        .expect(400);
    assert_eq!(r.fields(), vec!["digest".to_string()]);
    stack
        .call(
            keygate_e2e::Method::PATCH,
            &f.path(""),
            Some(&stack.token(&f.member)),
            Some(json!({"digest": "daily"})),
        )
        .await
        .expect(403);

    let r = settings(&stack, &f, json!({"digest": "daily", "notify": "digest"}))
        .await
        .expect(200);
    assert_eq!(
        (r.body["digest"].as_str(), r.body["notify"].as_str()),
        (Some("daily"), Some("digest"))
    );
    // Turning the digest off while requests go only to it would silence them: refused.
    settings(&stack, &f, json!({"digest": "off"}))
        .await
        .expect(422);
    let r = settings(&stack, &f, json!({"digest": "off", "notify": "each"}))
        .await
        .expect(200);
    assert_eq!(r.body["digest"], "off");
    let got = stack
        .get(&f.path(""), &stack.token(&f.member))
        .await
        .expect(200);
    assert_eq!(got.body["notify"], "each");
}

#[tokio::test]
async fn the_digest_lists_exactly_the_pending_requests_oldest_first_once_a_day() {
    let stack = Stack::new().await;
    let f = Fixture::new(&stack).await;
    settings(&stack, &f, json!({"digest": "daily", "notify": "both"}))
        .await
        .expect(200);
    let (t1, t2, t3) = (
        template(&stack, &f, None).await,
        template(&stack, &f, None).await,
        template(&stack, &f, None).await,
    );
    let other = f.add_member(&stack, "member-").await;
    let first = f.request(&stack, &f.member, &t1).await;
    let second = f.request(&stack, &other, &t2).await;
    let decided = f.request(&stack, &f.member, &t3).await;
    f.approve(&stack, &decided).await;
    // A project without the digest, with a pending request of its own: not in any digest.
    let quiet = Fixture::new(&stack).await;
    let qt = template(&stack, &quiet, None).await;
    quiet.request(&stack, &quiet.member, &qt).await;
    // A project with the digest on and nothing pending: no digest.
    let empty = Fixture::new(&stack).await;
    settings(&stack, &empty, json!({"digest": "daily"}))
        .await
        .expect(200);
    let et = template(&stack, &empty, None).await;
    let er = empty.request(&stack, &empty.member, &et).await;
    empty.approve(&stack, &er).await;

    let owner = email(&f.owner);
    let now = OffsetDateTime::now_utc();
    let report = stack.run_job("digest", &rfc3339(now)).await;
    assert_eq!(report["job"], "digest");
    let mails = mail_to(&owner).await;
    let digest = digests(&mails);
    assert_eq!(
        digest.len(),
        1,
        "one digest: {:?}",
        mails.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );
    let d = digest[0];
    assert_eq!(d.subject, "2 API key requests waiting in Fixture project");
    let link = |r: &str| format!("/console/projects/{}/requests/{r}", f.project);
    let (a, b) = (
        d.body.find(&link(&first)).expect("first request listed"),
        d.body.find(&link(&second)).expect("second request listed"),
    );
    assert!(a < b, "oldest first");
    assert!(
        !d.body.contains(&decided),
        "an approved request is not pending"
    );
    assert!(d.body.contains(&format!("{other}@example.com")));
    assert!(digests(&mail_to(&email(&quiet.owner)).await).is_empty());
    assert!(digests(&mail_to(&email(&empty.owner)).await).is_empty());

    // The schedule firing again the same day sends nothing more.
    let again = stack.run_job("digest", &rfc3339(now)).await;
    assert!(again["already_done"].as_u64().unwrap_or(0) >= 1, "{again}");
    assert_eq!(digests(&mail_to(&owner).await).len(), 1);
    // The next day: a new digest.
    stack
        .run_job("digest", &rfc3339(now + time::Duration::days(1)))
        .await;
    assert_eq!(digests(&mail_to(&owner).await).len(), 2);
}

#[tokio::test]
async fn notify_digest_leaves_new_requests_to_the_digest() {
    let stack = Stack::new().await;
    let f = Fixture::new(&stack).await;
    settings(&stack, &f, json!({"digest": "daily", "notify": "digest"}))
        .await
        .expect(200);
    let t = template(&stack, &f, None).await;
    f.request(&stack, &f.member, &t).await;
    // A sentinel: a request in a project that mails each one, made after. The stream delivers
    // changes in order, so once its mail is out the first request was handled too.
    let sentinel = Fixture::new(&stack).await;
    let st = template(&stack, &sentinel, None).await;
    sentinel.request(&stack, &sentinel.member, &st).await;
    let is_request_mail = |m: &keygate_e2e::SentMail| m.subject.contains("requests an API key");
    let got = wait_for_mail(&email(&sentinel.owner), 1, Duration::from_secs(30)).await;
    assert!(got.iter().any(is_request_mail), "the sentinel's mail");
    let mails = mail_to(&email(&f.owner)).await;
    assert!(
        !mails.iter().any(is_request_mail),
        "no mail for a request the owner takes in the digest"
    );
}

#[tokio::test]
async fn reminders_go_once_per_threshold_never_for_revoked_keys_and_expiry_is_marked() {
    let stack = Stack::new().await;
    let f = Fixture::new(&stack).await;
    let other = f.add_member(&stack, "member-").await;
    let t = template(&stack, &f, Some(10)).await;
    let kept = f
        .approve(&stack, &f.request(&stack, &f.member, &t).await)
        .await;
    let revoked = f
        .approve(&stack, &f.request(&stack, &other, &t).await)
        .await;
    f.revoke(&stack, &f.owner, revoked["id"].as_str().expect("id"))
        .await;
    let k = kept["id"].as_str().expect("key id").to_string();
    let expires = OffsetDateTime::parse(kept["expires_at"].as_str().expect("expires_at"), &Rfc3339)
        .expect("RFC 3339");
    let holder = email(&f.member);
    let reminders = |mails: Vec<keygate_e2e::SentMail>| -> Vec<String> {
        mails
            .into_iter()
            .filter(|m| m.subject.contains("expires within"))
            .map(|m| m.subject)
            .collect()
    };

    // Eight days out: no reminder yet.
    stack
        .run_job("reminders", &rfc3339(expires - time::Duration::days(8)))
        .await;
    assert!(reminders(mail_to(&holder).await).is_empty());
    // Six days out: the 7-day reminder, once, however often the job runs.
    for _ in 0..2 {
        stack
            .run_job("reminders", &rfc3339(expires - time::Duration::days(6)))
            .await;
    }
    stack
        .run_job("reminders", &rfc3339(expires - time::Duration::days(2)))
        .await;
    let got = reminders(mail_to(&holder).await);
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].ends_with("expires within 7 days"), "{}", got[0]);
    // Twelve hours out: the 1-day reminder, once.
    for _ in 0..2 {
        stack
            .run_job("reminders", &rfc3339(expires - time::Duration::hours(12)))
            .await;
    }
    let got = reminders(mail_to(&holder).await);
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got[1].ends_with("expires within a day"), "{}", got[1]);
    // The revoked key's holder heard nothing.
    assert!(reminders(mail_to(&email(&other)).await).is_empty());

    // The kept key is imported into the holder's client project: at expiry its token goes.
    let client = unique("client");
    let member_token = stack.token(&f.member);
    stack
        .post(
            "/v1/projects",
            &member_token,
            json!({"id": client, "name": "Client"}),
        )
        .await
        .expect(201);
    stack
        .post(
            &format!("/v1/projects/{client}/imports"),
            &member_token,
            json!({"key_id": k, "prefix": "wx"}),
        )
        .await
        .expect(201);

    // Past the expiry: marked once (the stream hears of it), no more mail.
    let report = stack
        .run_job("reminders", &rfc3339(expires + time::Duration::hours(1)))
        .await;
    assert!(
        report["marked_expired"].as_u64().unwrap_or(0) >= 1,
        "{report}"
    );
    let item = stack.items(&format!("KEY#{k}")).await;
    let meta = item
        .iter()
        .find(|i| i.get("sk").and_then(|s| s.as_s().ok()).map(String::as_str) == Some("META"))
        .expect("key item");
    assert!(meta.contains_key("expired_seen_at"));
    let again = stack
        .run_job("reminders", &rfc3339(expires + time::Duration::hours(2)))
        .await;
    assert_eq!(again["marked_expired"], 0, "{again}");
    // The marking is in the owner's audit trail once, made by keygate itself.
    let trail = stack
        .get(&f.path("/audit?page_size=100"), &stack.token(&f.owner))
        .await
        .expect(200)
        .body;
    let expired: Vec<&serde_json::Value> = trail["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|e| e["action"] == "key.expired")
        .collect();
    assert_eq!(expired.len(), 1, "{trail}");
    assert_eq!(expired[0]["actor"], serde_json::Value::Null);
    assert_eq!(expired[0]["key_id"], k.as_str());
    assert_eq!(reminders(mail_to(&holder).await).len(), 2);
    // Expiry is checked on read: the key shows expired whatever the job did.
    let shown = stack
        .get(&format!("/v1/keys/{k}"), &stack.token(&f.member))
        .await
        .expect(200);
    assert_eq!(
        shown.body["status"], "active",
        "not yet expired in real time"
    );

    // imports-sync followed the mark: the token secret is gone, the rest say `expired`.
    let start = std::time::Instant::now();
    let listing = loop {
        let list = stack
            .get(&format!("/v1/projects/{client}/secrets"), &member_token)
            .await
            .expect(200)
            .body;
        let items = list["items"].as_array().cloned().unwrap_or_default();
        if items.iter().all(|s| s["name"] != "wx_token")
            || start.elapsed() > Duration::from_secs(30)
        {
            break items;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let names: Vec<&str> = listing.iter().filter_map(|s| s["name"].as_str()).collect();
    assert!(!names.contains(&"wx_token"), "{names:?}");
    assert!(!names.is_empty(), "info secrets stay");
    assert!(
        listing
            .iter()
            .all(|s| s["source"]["key_status"] == "expired"),
        "{listing:?}"
    );
    let sm = keygate_e2e::secrets_client().await;
    let id = format!("{}/{client}/wx_token", keygate_e2e::secrets_namespace());
    let gone = sm.get_secret_value().secret_id(&id).send().await;
    // Secrets Manager's own answer for a deleted secret (scheduled for deletion, or deleted at
    // once), not just any failure: a connection error must not pass for "gone".
    use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
    let code = match &gone {
        Err(aws_sdk_secretsmanager::error::SdkError::ServiceError(e)) => {
            e.err().code().unwrap_or_default().to_string()
        }
        other => panic!("the token's value is still readable, or no answer: {other:?}"),
    };
    match code.as_str() {
        // Scheduled for deletion (the stack's recovery window): it must say so.
        "InvalidRequestException" => {
            let described = sm
                .describe_secret()
                .secret_id(&id)
                .send()
                .await
                .expect("a secret scheduled for deletion is still described");
            assert!(
                described.deleted_date().is_some(),
                "scheduled for deletion: {described:?}"
            );
        }
        "ResourceNotFoundException" => {}
        other => panic!("expected the secret to be deleted, got {other}"),
    }
}
