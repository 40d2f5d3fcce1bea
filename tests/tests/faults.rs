//! Faults of the AWS services, injected through the fault hooks of the stack's AWS front
//! (scripts/aws_front.py, `/_keygate/faults`, before DynamoDB Local and moto alike): DynamoDB throttling and transaction conflicts are retried with backoff and
//! end as a 503 problem with `Retry-After` when they outlast the retries, with nothing
//! half-written; a send SES refuses or throttles is retried and the mail goes out exactly once;
//! a lifecycle event EventBridge refuses fails its record, whose redelivery mails nothing twice;
//! Secrets Manager failing in the middle of an import leaves no half import and the retry writes
//! exactly the import's secrets; a redelivered revocation changes no import again; and a call
//! that hangs is given up within its deadline (a 503, not a Lambda timeout).
//!
//! Each fault matches only this test's own ids (`body_contains`), so the tests running beside it
//! on the same stack are not hit, and each is removed again when its guard is dropped.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use keygate::adapters::aws::sdk_config;
use keygate::config::AwsCallConfig;
use keygate::model::ids::ProjectId;
use keygate::store::{Store, TRANSACTION_ATTEMPTS};
use keygate_e2e::{
    Changes, Fault, Fixture, Stack, client_project, import, lambda_invoke, mail_to, main_emulator,
    secrets_namespace, stored_secrets, unique,
};
use serde_json::{Value, json};

/// The AWS front (DynamoDB Local and its stream; moto's Secrets Manager).
/// The front's listener SES v2 calls go to (before the stack's SES-only moto).
fn mail_emulator() -> String {
    std::env::var("AWS_ENDPOINT_URL_SESV2").unwrap_or_else(|_| main_emulator())
}

/// The retries and deadlines the stack's functions run with (the same environment).
fn calls() -> AwsCallConfig {
    AwsCallConfig::from_env().expect("valid AWS call settings in the stack's environment")
}

/// An answer with the header a 503 must carry.
struct Answer {
    status: u16,
    content_type: String,
    retry_after: Option<String>,
    body: Value,
}

impl Answer {
    /// A 503 problem+json that says when to retry.
    #[track_caller]
    fn assert_unavailable(&self) {
        assert_eq!(self.status, 503, "{}", self.body);
        assert_eq!(self.content_type, "application/problem+json");
        assert_eq!(self.body["status"], 503);
        assert_eq!(self.body["type"], "urn:keygate:problem:unavailable");
        assert_eq!(
            self.retry_after.as_deref(),
            Some(keygate::http::RETRY_AFTER_SECONDS),
            "a 503 carries Retry-After"
        );
    }
}

async fn send(
    stack: &Stack,
    method: reqwest::Method,
    path: &str,
    user: &str,
    body: Option<Value>,
) -> Answer {
    let mut req = stack
        .http
        .request(method, format!("{}{path}", stack.url))
        .bearer_auth(stack.token(user));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.expect("request reaches the local stack");
    let header = |n: &str| {
        res.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let (status, content_type, retry_after) = (
        res.status().as_u16(),
        header("content-type").unwrap_or_default(),
        header("retry-after"),
    );
    let bytes = res.bytes().await.expect("body");
    Answer {
        status,
        content_type,
        retry_after,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

async fn post(stack: &Stack, path: &str, user: &str, body: Value) -> Answer {
    send(stack, reqwest::Method::POST, path, user, Some(body)).await
}

/// The sort keys of a partition that start with one of `prefixes`.
async fn sort_keys_with(stack: &Stack, pk: &str, prefixes: &[&str]) -> Vec<String> {
    stack
        .sort_keys(pk)
        .await
        .into_iter()
        .filter(|sk| prefixes.iter().any(|p| sk.starts_with(p)))
        .collect()
}

#[tokio::test]
async fn throttled_writes_are_retried_and_outlasting_the_retries_is_a_503_with_nothing_written() {
    let stack = Stack::new().await;
    let f = Fixture::new(&stack).await;
    let attempts = u64::from(calls().max_attempts);
    assert!(attempts >= 2, "the stack retries AWS calls");
    let throttle = |times: u64| {
        json!({
            "match": {"target": "DynamoDB_20120810.TransactWriteItems", "body_contains": f.project},
            "times": times, "status": 400, "code": "ProvisionedThroughputExceededException",
            "message": "The level of configured provisioned throughput for the table was exceeded."
        })
    };
    let create = |name: &str| json!({"name": name, "role": "reader", "fields": []});
    let pk = format!("PROJECT#{}", f.project);

    // Throttled on all but the last attempt: the SDK's retries get it through, and write it
    // once: the partition, read before the first attempt, gains exactly the template, its name
    // guard and one audit entry, and nothing else in it changes.
    let first = stack.snapshot(std::slice::from_ref(&pk)).await;
    let fault = Fault::arm(&main_emulator(), throttle(attempts - 1)).await;
    let created = post(&stack, &f.path("/templates"), &f.owner, create("Retried")).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(
        fault.disarm().await,
        attempts - 1,
        "each throttled attempt was retried"
    );
    let changes = Changes::between(&first, &stack.snapshot(std::slice::from_ref(&pk)).await);
    assert_eq!(
        changes.added_kinds(),
        ["AUDIT", "TEMPLATE", "TEMPLATENAME"],
        "{changes:?}"
    );
    assert!(
        changes.changed.is_empty() && changes.removed.is_empty(),
        "{changes:?}"
    );

    // Throttled on every attempt: a 503 that says when to retry, and nothing of it written.
    let before = sort_keys_with(&stack, &pk, &["TEMPLATE"]).await;
    let whole = stack.snapshot(std::slice::from_ref(&pk)).await;
    let fault = Fault::arm(&main_emulator(), throttle(attempts + 5)).await;
    let refused = post(&stack, &f.path("/templates"), &f.owner, create("Outlasted")).await;
    refused.assert_unavailable();
    assert_eq!(fault.disarm().await, attempts, "every attempt was made");
    assert_eq!(
        stack.snapshot(std::slice::from_ref(&pk)).await,
        whole,
        "nothing of it written: no template, no name guard, no audit entry"
    );

    // The throttling over, the client's retry succeeds.
    let again = post(&stack, &f.path("/templates"), &f.owner, create("Outlasted")).await;
    assert_eq!(again.status, 201, "{}", again.body);
    assert_eq!(
        sort_keys_with(&stack, &pk, &["TEMPLATE"]).await.len(),
        before.len() + 2,
        "one template and its name guard"
    );
}

#[tokio::test]
async fn a_transaction_conflict_is_retried_and_outlasting_the_retries_is_a_503_with_the_request_still_pending()
 {
    let stack = Stack::new().await;
    let f = Fixture::new(&stack).await;
    let t = f.template(&stack, &unique("Conflicted ")).await;
    let t = t["id"].as_str().expect("template id");
    // What DynamoDB answers when another transaction is in flight on the request item.
    let conflict = |r: &str, times: u32| {
        json!({
            "match": {"target": "DynamoDB_20120810.TransactWriteItems", "body_contains": r},
            "times": times, "status": 400, "code": "TransactionCanceledException",
            "message": "Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict, None, None, None]",
            "fields": {"CancellationReasons": [
                {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"},
                {"Code": "None"}, {"Code": "None"}, {"Code": "None"}
            ]}
        })
    };
    let approve = |r: &str| f.path(&format!("/requests/{r}/approve"));

    // Conflicts on all but the last attempt: the store's retries get the approval through, and
    // write it once: read before the first attempt, the project's partition gains one audit
    // entry and changes only the request and its ask; one key is issued.
    let r1 = f.request(&stack, &f.member, t).await;
    let pk = format!("PROJECT#{}", f.project);
    let first = stack.snapshot(std::slice::from_ref(&pk)).await;
    let fault = Fault::arm(&main_emulator(), conflict(&r1, TRANSACTION_ATTEMPTS - 1)).await;
    let approved = post(&stack, &approve(&r1), &f.owner, json!({})).await;
    assert_eq!(approved.status, 200, "{}", approved.body);
    assert_eq!(
        fault.disarm().await,
        u64::from(TRANSACTION_ATTEMPTS - 1),
        "each conflict was retried"
    );
    let changes = Changes::between(&first, &stack.snapshot(std::slice::from_ref(&pk)).await);
    assert_eq!(changes.added_kinds(), ["AUDIT"], "{changes:?}");
    let mut changed: Vec<String> = changes
        .changed
        .iter()
        .map(|(_, sk)| sk.split('#').next().unwrap_or_default().to_string())
        .collect();
    changed.sort();
    assert_eq!(changed, ["ASK", "REQUEST"], "{changes:?}");
    assert!(changes.removed.is_empty(), "{changes:?}");

    // Conflicts on every attempt: a 503 with Retry-After; the request is still pending and no
    // key was issued.
    let other = f.add_member(&stack, "member-").await;
    let r2 = f.request(&stack, &other, t).await;
    let whole = stack.snapshot(std::slice::from_ref(&pk)).await;
    let fault = Fault::arm(&main_emulator(), conflict(&r2, TRANSACTION_ATTEMPTS + 5)).await;
    let refused = post(&stack, &approve(&r2), &f.owner, json!({})).await;
    refused.assert_unavailable();
    assert_eq!(fault.disarm().await, u64::from(TRANSACTION_ATTEMPTS));
    assert_eq!(
        stack.snapshot(std::slice::from_ref(&pk)).await,
        whole,
        "nothing of the refused approval written"
    );
    let request = stack
        .items(&format!("PROJECT#{}", f.project))
        .await
        .into_iter()
        .find(|i| i.get("sk") == Some(&AttributeValue::S(format!("REQUEST#{r2}"))))
        .expect("the request item");
    assert_eq!(
        request.get("status"),
        Some(&AttributeValue::S("pending".into()))
    );
    let keys = stack
        .get(&f.path("/keys"), &stack.token(&f.owner))
        .await
        .expect(200)
        .body;
    let key_count = keys["items"].as_array().map(Vec::len).unwrap_or(0);
    assert_eq!(key_count, 1, "only the first request's key: {keys}");

    // The conflict gone, the owner's retry approves it.
    let again = post(&stack, &approve(&r2), &f.owner, json!({})).await;
    assert_eq!(again.status, 200, "{}", again.body);
}

/// The notifier's `request-approved` event file for a fresh project of `owner`, mailing
/// `requester`, with a fresh event id.
async fn approved_event(stack: &Stack, owner: &str, requester: &str) -> Value {
    let project = unique("p");
    stack
        .post(
            "/v1/projects",
            &stack.token(owner),
            json!({"id": project, "name": "Faults"}),
        )
        .await
        .expect(201);
    let path = keygate_e2e::events_dir().join("notifier/request-approved.json");
    let text = std::fs::read_to_string(&path)
        .expect("events/notifier/request-approved.json")
        .replace("server", &project)
        .replace("alice", owner)
        .replace("bob", requester);
    let mut event: Value = serde_json::from_str(&text).expect("JSON");
    event["Records"][0]["eventID"] = json!(unique("ev"));
    event
}

/// Invokes `function` with `event` through `cargo lambda invoke`; its answer.
fn invoke(function: &str, event: &Value) -> Value {
    let dir = std::env::temp_dir().join("keygate-fault-events");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path: PathBuf = dir.join(format!("{}.json", unique("event-")));
    std::fs::write(&path, event.to_string()).expect("write event");
    let (response, output) = lambda_invoke(function, &path);
    let _ = std::fs::remove_file(&path);
    assert!(response.is_object(), "{function} answered: {output}");
    response
}

#[tokio::test]
async fn a_send_ses_refuses_or_throttles_is_retried_and_the_mail_goes_out_once() {
    let stack = Stack::new().await;
    let (owner, requester) = (unique("owner-"), unique("req-"));
    let event = approved_event(&stack, &owner, &requester).await;
    let address = format!("{requester}@example.com");
    let sequence = event["Records"][0]["dynamodb"]["SequenceNumber"].clone();
    let marker = format!(
        "NOTIFIED#{}",
        event["Records"][0]["eventID"].as_str().expect("eventID")
    );
    let attempts = u64::from(calls().max_attempts);
    let refuse = |times: u64, status: u16, code: &str| {
        json!({
            "match": {"method": "POST", "path_prefix": "/v2/email/outbound-emails", "body_contains": address},
            "times": times, "status": status, "code": code, "message": format!("injected {code}")
        })
    };
    let failed = json!({"batchItemFailures": [{"itemIdentifier": sequence}]});

    // Rejected outright: not retried by the SDK; the record fails, no marker, no mail.
    let fault = Fault::arm(&mail_emulator(), refuse(1, 400, "MessageRejected")).await;
    assert_eq!(invoke("notifier", &event), failed);
    assert_eq!(fault.disarm().await, 1, "a rejection is not retried");
    assert!(stack.items(&marker).await.is_empty(), "no marker");
    assert!(mail_to(&address).await.is_empty());

    // Throttled on every attempt: retried, then the record fails for Lambda to deliver again.
    let fault = Fault::arm(
        &mail_emulator(),
        refuse(attempts + 5, 429, "TooManyRequestsException"),
    )
    .await;
    assert_eq!(invoke("notifier", &event), failed);
    assert_eq!(fault.disarm().await, attempts, "every attempt was made");
    assert!(stack.items(&marker).await.is_empty(), "no marker");
    assert!(mail_to(&address).await.is_empty());

    // Redelivered, throttled on all but the last attempt: it goes out, once.
    let fault = Fault::arm(
        &mail_emulator(),
        refuse(attempts - 1, 429, "TooManyRequestsException"),
    )
    .await;
    assert_eq!(invoke("notifier", &event), json!({"batchItemFailures": []}));
    assert_eq!(fault.disarm().await, attempts - 1);
    assert_eq!(mail_to(&address).await.len(), 1);
    assert_eq!(stack.items(&marker).await.len(), 1, "the marker");

    // Delivered once more: nothing more is sent.
    assert_eq!(invoke("notifier", &event), json!({"batchItemFailures": []}));
    assert_eq!(mail_to(&address).await.len(), 1, "not duplicated");
}

/// The notifier's two halves, side by side on one record: a lifecycle event EventBridge refuses
/// fails the record although its mail went out; the redelivery publishes the event and mails
/// nothing twice.
#[tokio::test]
async fn a_refused_lifecycle_event_fails_its_record_and_its_redelivery_mails_nothing_twice() {
    let stack = Stack::new().await;
    let (owner, requester) = (unique("owner-"), unique("req-"));
    let event = approved_event(&stack, &owner, &requester).await;
    let id = event["Records"][0]["eventID"]
        .as_str()
        .expect("eventID")
        .to_string();
    let address = format!("{requester}@example.com");
    let sequence = event["Records"][0]["dynamodb"]["SequenceNumber"].clone();
    let publish = json!({"target": "AWSEvents.PutEvents", "body_contains": id});

    // Refused outright (as IAM refuses what it does not allow): not retried by the SDK.
    let fault = Fault::arm(
        &main_emulator(),
        json!({"match": publish, "times": 1, "status": 400, "code": "AccessDeniedException",
               "message": "injected AccessDeniedException"}),
    )
    .await;
    assert_eq!(
        invoke("notifier", &event),
        json!({"batchItemFailures": [{"itemIdentifier": sequence}]})
    );
    assert_eq!(fault.disarm().await, 1, "one publish, refused");
    assert_eq!(
        mail_to(&address).await.len(),
        1,
        "the mail went out beside it"
    );

    // Delivered again: the event goes out (its publish reaches the emulator unharmed), the mail
    // does not go out twice.
    let seen = Fault::arm(
        &main_emulator(),
        json!({"match": publish, "times": 5, "delay_ms": 1}),
    )
    .await;
    assert_eq!(invoke("notifier", &event), json!({"batchItemFailures": []}));
    assert_eq!(seen.disarm().await, 1, "published once, on the redelivery");
    assert_eq!(mail_to(&address).await.len(), 1, "not mailed twice");
}

const FIELDS: &[(&str, &str)] = &[
    ("Project", "server"),
    ("Input node", "in-1"),
    ("Output node", "out-1"),
];

#[tokio::test]
async fn secrets_manager_failing_mid_import_leaves_no_half_import_and_the_retry_writes_exactly_its_secrets()
 {
    let stack = Stack::new().await;
    let f = Fixture::new(&stack).await;
    let key = f.issue_key(&stack, FIELDS).await;
    let c = client_project(&stack, &f.member, &[]).await;
    let attempts = u64::from(calls().max_attempts);
    let third = format!("{}/{c}/wx_input_node", secrets_namespace());
    let path = format!("/v1/projects/{c}/imports");
    let body = json!({"key_id": key.id, "prefix": "wx"});
    let nothing_left = || async {
        assert!(
            stored_secrets(&c).await.is_empty(),
            "no secret left behind, not even one scheduled for deletion: {:?}",
            stored_secrets(&c).await.keys().collect::<Vec<_>>()
        );
        assert_eq!(
            sort_keys_with(&stack, &format!("PROJECT#{c}"), &["IMPORT#", "SECRET#"]).await,
            Vec::<String>::new(),
            "no import record, no secret items"
        );
    };

    // The writes of the other secrets go through; this one fails on every attempt, as an
    // internal error (500) and then as throttling. Each time the import is undone.
    for (status, code) in [(500, "InternalServiceError"), (400, "ThrottlingException")] {
        let fault = Fault::arm(
            &main_emulator(),
            json!({
                "match": {"target": "secretsmanager.CreateSecret", "body_contains": third},
                "times": attempts + 5, "status": status, "code": code
            }),
        )
        .await;
        let refused = post(&stack, &path, &f.member, body.clone()).await;
        refused.assert_unavailable();
        let detail = refused.body["detail"].as_str().unwrap_or_default();
        assert!(
            detail.contains(&third) && detail.contains("retry"),
            "{code}: says which secret and that a retry starts clean: {detail}"
        );
        assert_eq!(
            fault.disarm().await,
            attempts,
            "{code}: every attempt was made"
        );
        nothing_left().await;
    }

    // Secrets Manager back: the retry writes exactly the import's secrets.
    let done = post(&stack, &path, &f.member, body).await;
    assert_eq!(done.status, 201, "{}", done.body);
    let secrets = stored_secrets(&c).await;
    let names: Vec<&str> = secrets.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        ["wx_input_node", "wx_output_node", "wx_project", "wx_token"]
    );
    assert!(secrets.values().all(|s| !s.deleted));
    assert_eq!(secrets["wx_token"].value, key.token);
    assert_eq!(secrets["wx_input_node"].value, "in-1");
}

/// A table item as a stream record's image (`{"S": …}`, `{"N": …}`, …).
fn image(item: &HashMap<String, AttributeValue>) -> Value {
    fn value(v: &AttributeValue) -> Value {
        match v {
            AttributeValue::S(s) => json!({"S": s}),
            AttributeValue::N(n) => json!({"N": n}),
            AttributeValue::Bool(b) => json!({"BOOL": b}),
            AttributeValue::Null(_) => json!({"NULL": true}),
            AttributeValue::Ss(l) => json!({"SS": l}),
            AttributeValue::Ns(l) => json!({"NS": l}),
            AttributeValue::L(l) => json!({"L": l.iter().map(value).collect::<Vec<_>>()}),
            AttributeValue::M(m) => json!({"M": image(m)}),
            other => panic!("no stream form for {other:?} here"),
        }
    }
    Value::Object(item.iter().map(|(k, v)| (k.clone(), value(v))).collect())
}

#[tokio::test]
async fn a_redelivered_revocation_changes_no_import_and_fails_no_record() {
    let stack = Stack::new().await;
    let f = Fixture::new(&stack).await;
    let key = f.issue_key(&stack, FIELDS).await;
    let c = client_project(&stack, &f.member, &[]).await;
    import(&stack, &f.member, &c, &key.id, "wx")
        .await
        .expect(201);
    f.revoke(&stack, &f.owner, &key.id).await;

    // The stream pump delivers the revocation to imports-sync once: wait for its work.
    let start = Instant::now();
    loop {
        let list = stack
            .get(
                &format!("/v1/projects/{c}/secrets"),
                &stack.token(&f.member),
            )
            .await
            .expect(200)
            .body;
        let items = list["items"].as_array().cloned().unwrap_or_default();
        if items.len() == 3 && items.iter().all(|s| s["source"]["key_status"] == "revoked") {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "imports-sync revoked the import within 60 s (is its pump running?): {list}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let secrets = stored_secrets(&c).await;
    let live: Vec<&str> = secrets
        .iter()
        .filter(|(_, s)| !s.deleted)
        .map(|(n, _)| n.as_str())
        .collect();
    assert_eq!(live, ["wx_input_node", "wx_output_node", "wx_project"]);
    let items = stack.items(&format!("PROJECT#{c}")).await;

    // The same change again, as Lambda redelivers a record: the key item before and after.
    let key_item = stack
        .items(&format!("KEY#{}", key.id))
        .await
        .into_iter()
        .find(|i| i.get("sk") == Some(&AttributeValue::S("META".into())))
        .expect("the key item");
    let mut before = key_item.clone();
    before.insert("status".into(), AttributeValue::S("active".into()));
    before.remove("revoked_at");
    before.remove("revoked_by");
    let keys = json!({"pk": {"S": format!("KEY#{}", key.id)}, "sk": {"S": "META"}});
    let event = json!({"Records": [{
        "eventID": unique("ev"), "eventName": "MODIFY", "eventVersion": "1.1",
        "eventSource": "aws:dynamodb", "awsRegion": "us-east-1",
        "dynamodb": {
            "ApproximateCreationDateTime": keygate_e2e::now(), "Keys": keys,
            "NewImage": image(&key_item), "OldImage": image(&before),
            "SequenceNumber": "4200000000000000000001", "SizeBytes": 2000,
            "StreamViewType": "NEW_AND_OLD_IMAGES"
        },
        "eventSourceARN": format!("arn:aws:dynamodb:us-east-1:123456789012:table/{}/stream/2026-01-01T00:00:00.000", stack.table)
    }]});
    for delivery in 1..=2 {
        assert_eq!(
            invoke("imports-sync", &event),
            json!({"batchItemFailures": []}),
            "redelivery {delivery}"
        );
    }
    assert_eq!(
        stored_secrets(&c).await,
        secrets,
        "the secrets are as they were"
    );
    assert_eq!(
        stack.items(&format!("PROJECT#{c}")).await,
        items,
        "the import's items are as they were"
    );
}

/// The deployed deadlines (the defaults) through the library: a read that hangs on every
/// attempt is given up after each attempt's deadline, retried, and ends as `Unavailable` at the
/// call's deadline.
#[tokio::test]
async fn with_the_default_deadlines_a_hung_read_is_retried_and_given_up_at_the_call_deadline() {
    let stack = Stack::new().await;
    let calls = AwsCallConfig::default();
    let store = Store::new(
        &sdk_config(&calls, &keygate::adapters::tls::TlsRoots::default()).await,
        stack.table.clone(),
    );
    let p = ProjectId::parse("p", &unique("p")).expect("a project id");
    let fault = Fault::arm(
        &main_emulator(),
        json!({
            "match": {"target": "DynamoDB_20120810.GetItem", "body_contains": format!("PROJECT#{p}")},
            "times": calls.max_attempts + 5,
            "delay_ms": (calls.attempt_timeout + Duration::from_secs(2)).as_millis() as u64
        }),
    )
    .await;
    let start = Instant::now();
    let got = store.get_project(&p).await;
    let took = start.elapsed();
    assert!(
        matches!(got, Err(keygate::Error::Unavailable(_))),
        "{got:?}"
    );
    assert!(
        took >= calls.attempt_timeout * (calls.max_attempts - 1),
        "every attempt but the last waited out: {took:?}"
    );
    assert!(
        took < calls.call_timeout + Duration::from_secs(1),
        "given up at the call deadline {:?}: {took:?}",
        calls.call_timeout
    );
    assert_eq!(
        fault.disarm().await,
        u64::from(calls.max_attempts),
        "a hung attempt is retried"
    );
}

/// Through a route, with the stack's deadlines: a call that hangs is given up at its deadline
/// and the route answers a 503, inside the function's timeout (10 s, infra/template.yaml).
#[tokio::test]
async fn a_hung_call_is_given_up_within_its_deadline_as_a_503() {
    let stack = Stack::new().await;
    let f = Fixture::new(&stack).await;
    let calls = calls();
    // Every read of the caller's membership hangs past the attempt deadline (then goes through,
    // long after the function gave up on it).
    let hang = calls.attempt_timeout + Duration::from_secs(2);
    let fault = Fault::arm(
        &main_emulator(),
        json!({
            "match": {"target": "DynamoDB_20120810.GetItem", "body_contains": format!("MEMBER#{}", f.owner)},
            "times": calls.max_attempts + 5, "delay_ms": hang.as_millis() as u64
        }),
    )
    .await;
    let start = Instant::now();
    let answer = send(
        &stack,
        reqwest::Method::GET,
        &f.path("/templates"),
        &f.owner,
        None,
    )
    .await;
    let took = start.elapsed();
    answer.assert_unavailable();
    assert!(
        took >= calls.attempt_timeout,
        "an attempt was waited for: {took:?}"
    );
    // The call's deadline, plus the little else the function does.
    assert!(
        took < calls.call_timeout + Duration::from_secs(2),
        "gave up at the call deadline {:?}: took {took:?}",
        calls.call_timeout
    );
    assert!(
        took < Duration::from_secs(10),
        "inside the function's timeout: {took:?}"
    );
    let held = fault.disarm().await;
    assert!(held >= 1, "the call reached the emulator");
    // The stack runs the deployed deadlines (2 s an attempt, 5 s a call), which leave room for
    // a retry: the retry is asserted, never skipped.
    assert!(
        calls.call_timeout >= calls.attempt_timeout * 2,
        "the stack's deadlines leave room for a retry: {calls:?}"
    );
    assert!(held >= 2, "a hung attempt is retried: {held}");

    // Nothing hangs any more: the same call answers.
    let again = send(
        &stack,
        reqwest::Method::GET,
        &f.path("/templates"),
        &f.owner,
        None,
    )
    .await;
    assert_eq!(again.status, 200, "{}", again.body);
}
