//! Lifecycle events end to end: changes made over HTTP (and by the scheduler's expiry job) reach
//! the table's stream, the pump hands them to the `notifier` function, which publishes them to
//! the emulator's EventBridge bus (beside its mails); a rule per test routes its project's events to an SQS queue,
//! read back here. Each change gives exactly one event of its type, with the documented detail
//! and never a token.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_sdk_sqs::types::QueueAttributeName;
use keygate_e2e::{Fixture, Stack, unique};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A queue that receives the bus's keygate events matching `detail` (an EventBridge pattern).
struct Listener {
    sqs: aws_sdk_sqs::Client,
    url: String,
}

impl Listener {
    async fn new(detail: Value) -> Listener {
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .load()
            .await;
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let events = aws_sdk_eventbridge::Client::new(&sdk);
        let bus = std::env::var("EVENT_BUS_NAME").expect("EVENT_BUS_NAME of the stack");
        let name = unique("events-");
        let url = sqs
            .create_queue()
            .queue_name(&name)
            .send()
            .await
            .expect("queue")
            .queue_url
            .expect("queue url");
        let arn = sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .expect("queue attributes")
            .attributes
            .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
            .expect("queue arn");
        events
            .put_rule()
            .name(&name)
            .event_bus_name(&bus)
            .event_pattern(json!({"source": ["keygate"], "detail": detail}).to_string())
            .send()
            .await
            .expect("rule");
        events
            .put_targets()
            .rule(&name)
            .event_bus_name(&bus)
            .targets(
                aws_sdk_eventbridge::types::Target::builder()
                    .id("queue")
                    .arn(arn)
                    .build()
                    .expect("target"),
            )
            .send()
            .await
            .expect("target");
        Listener { sqs, url }
    }

    /// Every event received until `count` arrived (then a moment more, to see any extra one), or
    /// the timeout.
    async fn collect(&self, count: usize, timeout: Duration) -> Vec<Value> {
        let start = Instant::now();
        let mut got = Vec::new();
        let mut settle: Option<Instant> = None;
        while start.elapsed() < timeout {
            if got.len() >= count {
                let since = *settle.get_or_insert_with(Instant::now);
                if since.elapsed() > Duration::from_secs(3) {
                    break;
                }
            }
            let out = self
                .sqs
                .receive_message()
                .queue_url(&self.url)
                .max_number_of_messages(10)
                .send()
                .await
                .expect("receive");
            for m in out.messages() {
                got.push(serde_json::from_str(m.body().unwrap_or("null")).expect("event JSON"));
                if let Some(h) = m.receipt_handle() {
                    let _ = self
                        .sqs
                        .delete_message()
                        .queue_url(&self.url)
                        .receipt_handle(h)
                        .send()
                        .await;
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        got
    }
}

fn types(events: &[Value]) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for e in events {
        *out.entry(e["detail-type"].as_str().unwrap_or("?").to_string())
            .or_insert(0) += 1;
    }
    out
}

async fn run_reminders(stack: &Stack, now: OffsetDateTime) {
    let port = std::env::var("KEYGATE_INVOKE_PORT").expect("KEYGATE_INVOKE_PORT");
    let res = stack
        .http
        .post(format!(
            "http://127.0.0.1:{port}/2015-03-31/functions/scheduler/invocations"
        ))
        .json(&json!({"job": "reminders", "now": now.format(&Rfc3339).expect("time")}))
        .send()
        .await
        .expect("scheduler answers");
    assert!(res.status().is_success());
}

#[tokio::test]
async fn each_change_of_state_is_one_event_of_its_type_and_carries_no_token() {
    let stack = Stack::new().await;
    let f = Fixture::new(&stack).await;
    let (owner, member) = (stack.token(&f.owner), stack.token(&f.member));
    let client = unique("client");
    stack
        .post(
            "/v1/projects",
            &member,
            json!({"id": client, "name": "Client"}),
        )
        .await
        .expect(201);
    let listener = Listener::new(json!({"project_id": [f.project, client]})).await;

    let t = f.template(&stack, &unique("T ")).await["id"]
        .as_str()
        .expect("template id")
        .to_string();
    let ask = || f.request(&stack, &f.member, &t);
    // created, cancelled (by the requester); created, rejected; created, approved.
    let r = ask().await;
    stack
        .delete(&f.path(&format!("/requests/{r}")), &member)
        .await
        .expect(204);
    let r = ask().await;
    stack
        .post(
            &f.path(&format!("/requests/{r}/reject")),
            &owner,
            json!({"reason": "not yet"}),
        )
        .await
        .expect(200);
    let r = ask().await;
    let key = f.approve(&stack, &r).await;
    let k1 = key["id"].as_str().expect("key id").to_string();
    // import created, then updated by a re-import.
    let imports = format!("/v1/projects/{client}/imports");
    for status in [201, 200] {
        stack
            .post(&imports, &member, json!({"key_id": k1, "prefix": "wx"}))
            .await
            .expect(status);
    }
    // rolled (by the holder), then the new key revoked (by the owner).
    let k2 = stack
        .post(
            &format!("/v1/keys/{k1}/roll"),
            &member,
            json!({"grace_seconds": 60}),
        )
        .await
        .expect(201)
        .body["id"]
        .as_str()
        .expect("new key id")
        .to_string();
    let mut tokens = Vec::new();
    for k in [&k1, &k2] {
        let r = stack
            .get(&format!("/v1/keys/{k}/token"), &member)
            .await
            .expect(200);
        tokens.push(r.body["token"].as_str().expect("token").to_string());
    }
    stack
        .post(&format!("/v1/keys/{k2}/revoke"), &owner, json!({}))
        .await
        .expect(200);
    // imports-sync carries the roll and the revocation to the import (the delete would meet
    // its concurrent change, a 409 to retry): wait for it, then delete the import.
    let start = Instant::now();
    loop {
        let list = stack
            .get(&format!("/v1/projects/{client}/secrets"), &member)
            .await
            .expect(200)
            .body;
        let synced = list["items"].as_array().is_some_and(|items| {
            !items.is_empty()
                && items.iter().all(|s| {
                    s["source"]["key_id"] == k2.as_str() && s["source"]["key_status"] == "revoked"
                })
        });
        if synced {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "imports-sync: {list}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stack
        .delete(&format!("{imports}/wx"), &member)
        .await
        .expect(204);
    // A key with a lifetime, seen expired by the scheduler's job.
    let short = stack
        .post(
            &f.path("/templates"),
            &owner,
            json!({"name": unique("Short "), "role": "reader", "ttl_days": 1}),
        )
        .await
        .expect(201)
        .body["id"]
        .as_str()
        .expect("template id")
        .to_string();
    let r = f.request(&stack, &f.member, &short).await;
    let k3 = f.approve(&stack, &r).await;
    let expires =
        OffsetDateTime::parse(k3["expires_at"].as_str().expect("expires"), &Rfc3339).expect("time");
    run_reminders(&stack, expires + time::Duration::hours(1)).await;

    let expected: BTreeMap<String, usize> = [
        ("keygate.request.created", 4),
        ("keygate.request.cancelled", 1),
        ("keygate.request.rejected", 1),
        ("keygate.request.approved", 2),
        ("keygate.import.created", 1),
        ("keygate.import.updated", 1),
        ("keygate.key.rolled", 1),
        ("keygate.key.revoked", 1),
        ("keygate.import.deleted", 1),
        ("keygate.key.expired", 1),
    ]
    .into_iter()
    .map(|(t, n)| (t.to_string(), n))
    .collect();
    let events = listener
        .collect(expected.values().sum(), Duration::from_secs(60))
        .await;
    assert_eq!(types(&events), expected);

    let mut ids = std::collections::HashSet::new();
    for e in &events {
        let d = &e["detail"];
        let kind = d["type"].as_str().expect("type");
        assert_eq!(e["source"], "keygate");
        assert_eq!(e["detail-type"].as_str(), Some(kind));
        assert_eq!(d["version"], "1");
        assert!(
            ids.insert(d["id"].as_str().expect("id").to_string()),
            "ids are unique"
        );
        assert!(OffsetDateTime::parse(d["time"].as_str().expect("time"), &Rfc3339).is_ok());
        let body = e.to_string();
        for token in &tokens {
            assert!(!body.contains(token.as_str()), "{kind} carries a token");
        }
        assert!(!body.contains("eyJ"), "{kind} carries something JWT-like");
        let actor = d["actor"]["id"].as_str();
        match kind {
            "keygate.request.created" | "keygate.request.cancelled" => {
                assert_eq!(actor, Some(f.member.as_str()), "{kind}");
                assert_eq!(d["project_id"], f.project.as_str());
                assert!(d["request"]["id"].is_string());
            }
            "keygate.request.rejected" => {
                assert_eq!(actor, Some(f.owner.as_str()));
                assert_eq!(d["request"]["reason"], "not yet");
            }
            "keygate.request.approved" => {
                assert_eq!(actor, Some(f.owner.as_str()));
                assert!(d["request"]["key_id"].is_string());
            }
            "keygate.import.created" | "keygate.import.updated" | "keygate.import.deleted" => {
                assert_eq!(actor, Some(f.member.as_str()), "{kind}");
                assert_eq!(d["project_id"], client.as_str());
                assert_eq!(d["import"]["prefix"], "wx");
                assert_eq!(d["import"]["key_project_id"], f.project.as_str());
                let secrets = d["import"]["secrets"].as_array().expect("secret names");
                assert!(
                    secrets
                        .iter()
                        .all(|n| n.as_str().is_some_and(|n| n.starts_with("wx_"))),
                    "{kind}: {secrets:?}"
                );
                // Deleted after the key's revocation: the token secret had gone already.
                let has_token = secrets.iter().any(|n| n == "wx_token");
                assert_eq!(has_token, kind != "keygate.import.deleted", "{kind}");
            }
            "keygate.key.rolled" => {
                assert_eq!(actor, Some(f.member.as_str()));
                assert_eq!(d["key"]["id"], k1.as_str());
                assert_eq!(d["key"]["replaced_by"], k2.as_str());
            }
            "keygate.key.revoked" => {
                assert_eq!(actor, Some(f.owner.as_str()));
                assert_eq!(d["key"]["id"], k2.as_str());
            }
            "keygate.key.expired" => {
                assert!(d["actor"].is_null());
                assert_eq!(d["key"]["id"], k3["id"]);
            }
            other => panic!("unexpected event {other}"),
        }
    }
}

#[tokio::test]
async fn a_redelivered_record_publishes_the_same_event_id_again() {
    let stack = Stack::new().await;
    let path = keygate_e2e::events_dir().join("imports-sync/key-revoked.json");
    let event: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("event file")).expect("JSON");
    let id = event["Records"][0]["eventID"]
        .as_str()
        .expect("eventID")
        .to_string();
    let listener = Listener::new(json!({"id": [id]})).await;
    let port = std::env::var("KEYGATE_INVOKE_PORT").expect("KEYGATE_INVOKE_PORT");
    for _ in 0..2 {
        let answer: Value = stack
            .http
            .post(format!(
                "http://127.0.0.1:{port}/2015-03-31/functions/notifier/invocations"
            ))
            .json(&event)
            .send()
            .await
            .expect("the notifier answers")
            .json()
            .await
            .expect("JSON answer");
        assert_eq!(answer, json!({"batchItemFailures": []}));
    }
    let events = listener.collect(2, Duration::from_secs(30)).await;
    assert_eq!(events.len(), 2, "at least once: each delivery publishes");
    for e in &events {
        assert_eq!(e["detail"]["id"], id.as_str(), "the id to de-duplicate on");
        assert_eq!(e["detail-type"], "keygate.key.revoked");
    }
}
