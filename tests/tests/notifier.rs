//! The notifier against the running stack, mail read back from the emulator: every
//! `events/notifier/` file through `cargo lambda invoke` mails the right person; a record delivered
//! twice mails once; a send SES refuses fails only its record, leaves no marker and goes out on the
//! retry; an unreadable record is skipped; and end to end, a request written to the table reaches the project's owner through the
//! stream pump.
//!
//! The event files are written against the `make dev` demo (project `server`, owner `alice`,
//! requester `bob`); each test swaps those three names for fresh ones and gives every record a
//! fresh `eventID`, so runs never share projects, people or markers.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use keygate::adapters::mail::Mailer;
use keygate::adapters::stream::StreamEvent;
use keygate::store::Store;
use keygate::usecases::notify::Notifier;
use keygate_e2e::{Stack, lambda_invoke, mail_to, unique, wait_for_mail};
use serde_json::{Value, json};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Who {
    Owner,
    Requester,
}

/// Each event file, who its mail is for, and what its subject and body must say.
const FILES: &[(&str, Who, &str, &str)] = &[
    (
        "request-created",
        Who::Owner,
        "requests an API key",
        "pending",
    ),
    (
        "request-approved",
        Who::Requester,
        "was approved",
        "approved by",
    ),
    (
        "request-rejected",
        Who::Requester,
        "was rejected",
        "rejected by",
    ),
    (
        "request-cancelled-template-deleted",
        Who::Requester,
        "was cancelled",
        "cancelled by",
    ),
    ("key-revoked", Who::Requester, "was revoked", "revoked by"),
];

fn events_dir() -> PathBuf {
    keygate_e2e::events_dir().join("notifier")
}

/// A fresh project (created over HTTP, so the notifier finds its name and owner) and its people.
struct Cast {
    project: String,
    name: String,
    owner: String,
    requester: String,
}

impl Cast {
    async fn new(stack: &Stack) -> Cast {
        let cast = Cast {
            project: unique("p"),
            // Markup in the name: the mail must show it escaped.
            name: "Notifier <test> & co".into(),
            owner: unique("owner-"),
            requester: unique("req-"),
        };
        stack
            .post(
                "/v1/projects",
                &stack.token(&cast.owner),
                json!({"id": cast.project, "name": cast.name}),
            )
            .await
            .expect(201);
        cast
    }

    fn email(&self, who: Who) -> String {
        match who {
            Who::Owner => format!("{}@example.com", self.owner),
            Who::Requester => format!("{}@example.com", self.requester),
        }
    }

    /// An event file with the demo's names swapped for this cast's and fresh event ids.
    fn event(&self, file: &str) -> Value {
        let path = events_dir().join(format!("{file}.json"));
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .replace("server", &self.project)
            .replace("alice", &self.owner)
            .replace("bob", &self.requester);
        let mut event: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display()));
        for record in event["Records"].as_array_mut().expect("Records") {
            record["eventID"] = json!(unique("ev"));
        }
        event
    }
}

fn write_event(event: &Value) -> PathBuf {
    let dir = std::env::temp_dir().join("keygate-notifier-events");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(format!("{}.json", unique("event-")));
    std::fs::write(&path, event.to_string()).expect("write event");
    path
}

/// Invokes the notifier with `event` through `cargo lambda invoke`; its response.
fn invoke(event: &Value) -> Value {
    let path = write_event(event);
    let (response, output) = lambda_invoke("notifier", &path);
    let _ = std::fs::remove_file(&path);
    assert!(response.is_object(), "notifier answered: {output}");
    response
}

fn event_id(event: &Value) -> String {
    event["Records"][0]["eventID"]
        .as_str()
        .expect("eventID")
        .to_string()
}

fn sequence(event: &Value) -> String {
    event["Records"][0]["dynamodb"]["SequenceNumber"]
        .as_str()
        .expect("SequenceNumber")
        .to_string()
}

#[tokio::test]
async fn every_notifier_event_file_mails_the_right_person() {
    let stack = Stack::new().await;
    let on_disk: BTreeSet<String> = std::fs::read_dir(events_dir())
        .expect("events/notifier")
        .filter_map(|e| {
            let name = e.expect("entry").file_name().to_string_lossy().to_string();
            name.strip_suffix(".json").map(str::to_string)
        })
        .collect();
    let known: BTreeSet<String> = FILES.iter().map(|(f, ..)| f.to_string()).collect();
    assert_eq!(
        on_disk, known,
        "every notifier event file has its expectation here"
    );

    for (file, who, subject, decision) in FILES {
        let cast = Cast::new(&stack).await;
        let response = invoke(&cast.event(file));
        assert_eq!(response, json!({"batchItemFailures": []}), "{file}");
        // The invocation returns after the send: the mail is there now.
        let mails = mail_to(&cast.email(*who)).await;
        assert_eq!(mails.len(), 1, "{file}: one mail to the {who:?}: {mails:?}");
        let m = &mails[0];
        assert_eq!(m.from, "keygate@example.com", "{file}");
        assert!(m.subject.contains(subject), "{file}: {}", m.subject);
        assert!(m.subject.contains(&cast.name), "{file}: {}", m.subject);
        // The emulator keeps the HTML part: every value in it is escaped.
        for needle in [
            cast.project.as_str(),
            "Notifier &lt;test&gt; &amp; co",
            "Weather data reader",
            cast.requester.as_str(),
            decision,
            "/console/",
        ] {
            assert!(
                m.body.contains(needle),
                "{file}: body lacks {needle:?}: {}",
                m.body
            );
        }
        assert!(!m.body.contains("<test>"), "{file}: unescaped name");
        let other = match who {
            Who::Owner => Who::Requester,
            Who::Requester => Who::Owner,
        };
        assert!(
            mail_to(&cast.email(other)).await.is_empty(),
            "{file}: no mail to the {other:?}"
        );
    }
}

#[tokio::test]
async fn a_record_delivered_twice_mails_once() {
    let stack = Stack::new().await;
    let cast = Cast::new(&stack).await;
    let event = cast.event("request-approved");
    for delivery in 1..=2 {
        let response = invoke(&event);
        assert_eq!(
            response,
            json!({"batchItemFailures": []}),
            "delivery {delivery}"
        );
    }
    assert_eq!(mail_to(&cast.email(Who::Requester)).await.len(), 1);

    let marker = stack.items(&format!("NOTIFIED#{}", event_id(&event))).await;
    assert_eq!(marker.len(), 1, "one marker: {marker:?}");
    assert_eq!(marker[0]["sk"], AttributeValue::S("META".into()));
    assert_eq!(marker[0]["entity_type"], AttributeValue::S("marker".into()));
    let expires: u64 = match &marker[0]["expires_at"] {
        AttributeValue::N(n) => n.parse().expect("epoch seconds"),
        other => panic!("expires_at is the numeric TTL attribute, got {other:?}"),
    };
    let week = 7 * 24 * 3600;
    let now = keygate_e2e::now();
    assert!(
        (now + week - 60..=now + week + 60).contains(&expires),
        "expires a week from now: {expires} vs {now}"
    );
}

/// SES refuses an unverified sender: a notifier built with one fails every send. That stands in
/// for an outage no single invocation through `cargo lambda watch` can be given.
#[tokio::test]
async fn a_refused_send_fails_only_its_record_leaves_no_marker_and_goes_out_on_retry() {
    let stack = Stack::new().await;
    let cast = Cast::new(&stack).await;
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let store = Store::new(&sdk, stack.table.clone());
    let console = "http://127.0.0.1:9000/console";
    let refusing = Notifier::new(
        store.clone(),
        Mailer::new(&sdk, "keygate@unverified.invalid"),
        console,
    );
    let working = Notifier::new(store, Mailer::new(&sdk, "keygate@example.com"), console);

    // A batch of two: the rejection (a mail) and, after it, a node written (no mail).
    let mut event = cast.event("request-rejected");
    let mut quiet = event["Records"][0].clone();
    quiet["eventID"] = json!(unique("ev"));
    quiet["eventName"] = json!("INSERT");
    quiet["dynamodb"]["SequenceNumber"] = json!("1100000000000000000099");
    quiet["dynamodb"]["Keys"] = json!({
        "pk": {"S": format!("PROJECT#{}", cast.project)}, "sk": {"S": "NODE#input"}
    });
    quiet["dynamodb"]["NewImage"] = json!({
        "pk": {"S": format!("PROJECT#{}", cast.project)}, "sk": {"S": "NODE#input"},
        "entity_type": {"S": "node"}, "project_id": {"S": cast.project},
        "id": {"S": "input"}, "name": {"S": "Input"}, "updated_at": {"S": "2026-03-12T10:00:00.000Z"}
    });
    quiet["dynamodb"]
        .as_object_mut()
        .expect("dynamodb")
        .remove("OldImage");
    event["Records"]
        .as_array_mut()
        .expect("Records")
        .push(quiet);
    let batch: StreamEvent = serde_json::from_value(event.clone()).expect("a Lambda stream event");
    let marker = format!("NOTIFIED#{}", event_id(&event));
    let requester = cast.email(Who::Requester);

    let response = refusing.handle(batch.clone()).await;
    let failed: Vec<_> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    assert_eq!(
        failed,
        vec![Some(sequence(&event))],
        "only the mail's record failed"
    );
    assert!(
        stack.items(&marker).await.is_empty(),
        "no marker after a failed send"
    );
    assert!(mail_to(&requester).await.is_empty());

    // Lambda delivers again from the failed record on: this time SES takes it.
    let response = working.handle(batch.clone()).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    assert_eq!(mail_to(&requester).await.len(), 1);
    assert_eq!(stack.items(&marker).await.len(), 1);

    // And a further redelivery sends nothing more.
    let response = working.handle(batch).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    assert_eq!(mail_to(&requester).await.len(), 1);
}

#[tokio::test]
async fn an_unreadable_record_is_skipped_and_holds_up_nothing() {
    let stack = Stack::new().await;
    let cast = Cast::new(&stack).await;
    let mut event = cast.event("request-created");
    let mut broken = event["Records"][0].clone();
    broken["eventID"] = json!(unique("ev"));
    broken["dynamodb"]["SequenceNumber"] = json!("1100000000000000000000");
    broken["dynamodb"]["NewImage"]
        .as_object_mut()
        .expect("NewImage")
        .remove("requester");
    event["Records"]
        .as_array_mut()
        .expect("Records")
        .insert(0, broken);
    // Retrying would read the same bytes: the broken record is logged and skipped, not failed.
    assert_eq!(invoke(&event), json!({"batchItemFailures": []}));
    assert_eq!(mail_to(&cast.email(Who::Owner)).await.len(), 1);
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn person(id: &str) -> AttributeValue {
    AttributeValue::M(HashMap::from([
        ("id".to_string(), s(id)),
        ("email".to_string(), s(&format!("{id}@example.com"))),
    ]))
}

#[tokio::test]
async fn a_request_written_to_the_table_reaches_the_owner_through_the_stream_pump() {
    let stack = Stack::new().await;
    let cast = Cast::new(&stack).await;
    let request = unique("");
    let template = unique("");
    // The item exactly as the store writes a `KeyRequest` (serde_dynamo, None as NULL).
    let null = AttributeValue::Null(true);
    let item = HashMap::from([
        ("pk".to_string(), s(&format!("PROJECT#{}", cast.project))),
        ("sk".to_string(), s(&format!("REQUEST#{request}"))),
        ("gsi1pk".to_string(), s(&format!("USER#{}", cast.requester))),
        ("gsi1sk".to_string(), s(&format!("REQUEST#{request}"))),
        ("entity_type".to_string(), s("request")),
        ("id".to_string(), s(&request)),
        ("project_id".to_string(), s(&cast.project)),
        ("template_id".to_string(), s(&template)),
        ("template_name".to_string(), s("Weather data reader")),
        ("requester".to_string(), person(&cast.requester)),
        ("comment".to_string(), s("Written straight into the table")),
        ("status".to_string(), s("pending")),
        ("reason".to_string(), null.clone()),
        ("key_id".to_string(), null.clone()),
        ("created_at".to_string(), s("2026-03-12T10:15:04.633Z")),
        ("decided_at".to_string(), null.clone()),
        ("decided_by".to_string(), null),
    ]);
    stack
        .ddb
        .put_item()
        .table_name(&stack.table)
        .set_item(Some(item))
        .send()
        .await
        .expect("put the request item");

    let owner = cast.email(Who::Owner);
    let mails = wait_for_mail(&owner, 1, Duration::from_secs(90)).await;
    assert_eq!(
        mails.len(),
        1,
        "one mail to the owner within 90 s (is `keygate-dev pump` running? make test starts it; see .keygate/test/pump-notifier.log)"
    );
    assert!(
        mails[0].subject.contains(&cast.requester),
        "{}",
        mails[0].subject
    );
    assert!(mails[0].body.contains("Written straight into the table"));
    assert!(mails[0].body.contains(&format!("/requests/{request}")));
}
