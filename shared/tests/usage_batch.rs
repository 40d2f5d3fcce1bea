//! The decisions' usage batch (`keygate::usecases::counting`) against DynamoDB Local through the stack's
//! AWS front: after a flush the table holds exactly the counts recorded, per hour, route and
//! reason; a flush whose write landed but whose answer was lost counts once when retried; a flush
//! that failed before reaching the table is kept and lands once; an item's newer counts wait
//! behind an update in doubt; a large batch is flushed without waiting for the interval.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use keygate::model::ids::KeyId;
use keygate::store::{Store, UsageCount};
use keygate::usecases::counting::{Flushed, LARGE_BATCH_ITEMS, UsageBatch};

/// Long enough that no test sees the timer fire: the tests flush themselves.
const NEVER: Duration = Duration::from_secs(3600);

async fn store() -> Store {
    let table = std::env::var("TABLE_NAME").expect("TABLE_NAME: run with `make test`");
    Store::new(&keygate::adapters::aws::aws_config().await, table)
}

/// The front's `/_keygate/faults` (scripts/aws_front.py), over plain HTTP/1.1 on loopback.
fn front(method: &str, path: &str, body: &str) -> (u16, String) {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL: run with make test");
    let host = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let mut s = std::net::TcpStream::connect(host).expect("the front listens");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("request");
    let mut answer = String::new();
    s.read_to_string(&mut answer).expect("answer");
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// A fault on the UpdateItem calls naming `k`, removed on drop.
struct Fault(String);

impl Fault {
    fn arm(k: &KeyId, times: u32, after: bool) -> Fault {
        let spec = serde_json::json!({
            "match": {"target": "DynamoDB_20120810.UpdateItem", "body_contains": format!("KEY#{k}")},
            "times": times,
            "after": after,
            "status": if after { 500 } else { 400 },
            "code": if after { "InternalServerError" } else { "ProvisionedThroughputExceededException" },
        });
        let (status, body) = front("POST", "/_keygate/faults", &spec.to_string());
        assert_eq!(status, 201, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).expect("JSON");
        Fault(v["id"].as_str().expect("id").to_string())
    }

    /// How many requests it failed so far.
    fn injected(&self) -> u64 {
        let (_, body) = front("GET", &format!("/_keygate/faults/{}", self.0), "");
        let v: serde_json::Value = serde_json::from_str(&body).expect("JSON");
        v["injected"].as_u64().expect("injected")
    }
}

impl Drop for Fault {
    fn drop(&mut self) {
        front("DELETE", &format!("/_keygate/faults/{}", self.0), "");
    }
}

/// Every counter of key `k` on `day`, summed over its items, and the items' `(sort key, seq)`.
async fn counted(
    store: &Store,
    k: &KeyId,
    day: &str,
) -> (BTreeMap<String, u64>, Option<String>, usize) {
    let items = store.usage_between(k, day, day).await.expect("usage");
    let mut sum = BTreeMap::new();
    let mut last = None;
    for item in &items {
        for (name, n) in &item.counters {
            *sum.entry(name.clone()).or_default() += n;
        }
        last = last.max(item.last_used_at.clone());
    }
    (sum, last, items.len())
}

fn expect(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

const DAY: &str = "2026-03-02";

fn at(hour: u32, minute: u32) -> String {
    format!("{DAY}T{hour:02}:{minute:02}:00.000Z")
}

#[tokio::test]
async fn counts_after_a_flush_equal_the_decisions_per_hour_route_and_reason() {
    let store = store().await;
    let batch = UsageBatch::new(store.clone(), NEVER);
    let k = KeyId::generate();
    // 7 calls: 5 allowed on two routes in two hours, a permission denial, a rate limit.
    for (hour, route) in [(7, "GET /a"), (7, "GET /a"), (7, "GET /b"), (9, "GET /a")] {
        batch.record(&UsageCount::new(&k, &at(hour, 1), route), true, None);
    }
    batch.record(&UsageCount::new(&k, &at(9, 30), "GET /a"), true, None);
    batch.record(
        &UsageCount::new(&k, &at(9, 40), "POST /c"),
        true,
        Some("permission_missing"),
    );
    batch.record(
        &UsageCount::new(&k, &at(10, 5), "GET /a"),
        true,
        Some("rate_limited"),
    );
    assert_eq!(counted(&store, &k, DAY).await.2, 0, "nothing written yet");
    assert_eq!(batch.pending_items(), 1);
    let f = batch.flush().await.expect("flush");
    assert_eq!(
        f,
        Flushed {
            written: 1,
            ..Flushed::default()
        }
    );
    let (sum, last, items) = counted(&store, &k, DAY).await;
    assert_eq!(items, 1, "one item per key, day and writer");
    assert_eq!(
        sum,
        expect(&[
            ("total", 7),
            ("denied", 2),
            ("h07", 3),
            ("h09", 3),
            ("h10", 1),
            ("hd09", 1),
            ("hd10", 1),
            ("r:GET /a", 5),
            ("r:GET /b", 1),
            ("r:POST /c", 1),
            ("d:permission_missing", 1),
            ("d:rate_limited", 1),
        ])
    );
    assert_eq!(last.as_deref(), Some(at(10, 5).as_str()));
    // The item is this writer's, with its flush sequence.
    let sk = format!("USAGE#{DAY}#{}", batch.writer());
    let item = store_item(&k, &sk).await;
    assert_eq!(
        item.get("seq")
            .and_then(|v| v.as_n().ok())
            .map(String::as_str),
        Some("1")
    );

    // Another flush adds to the same item; an empty one writes nothing.
    batch.record(&UsageCount::new(&k, &at(11, 0), "GET /b"), true, None);
    batch.flush().await.expect("flush");
    assert_eq!(batch.flush().await.expect("empty"), Flushed::default());
    let (sum, _, items) = counted(&store, &k, DAY).await;
    assert_eq!(items, 1);
    assert_eq!((sum["total"], sum["h11"], sum["r:GET /b"]), (8, 1, 2));
    let item = store_item(&k, &sk).await;
    assert_eq!(
        item.get("seq")
            .and_then(|v| v.as_n().ok())
            .map(String::as_str),
        Some("2")
    );

    // A second container (writer) of the same key writes an item of its own; reads sum them.
    let other = UsageBatch::new(store.clone(), NEVER);
    other.record(&UsageCount::new(&k, &at(12, 0), "GET /a"), true, None);
    other.flush().await.expect("flush");
    let (sum, last, items) = counted(&store, &k, DAY).await;
    assert_eq!((items, sum["total"], sum["r:GET /a"]), (2, 9, 6));
    assert_eq!(last.as_deref(), Some(at(12, 0).as_str()));
    assert_eq!(
        store.last_used(&k).await.expect("last used").as_deref(),
        Some(at(12, 0).as_str())
    );
}

/// The item `KEY#k` / `sk`, read straight from the table.
async fn store_item(
    k: &KeyId,
    sk: &str,
) -> std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue> {
    let sdk = keygate::adapters::aws::aws_config().await;
    let table = std::env::var("TABLE_NAME").expect("TABLE_NAME");
    aws_sdk_dynamodb::Client::new(&sdk)
        .get_item()
        .table_name(table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("KEY#{k}")),
        )
        .key("sk", aws_sdk_dynamodb::types::AttributeValue::S(sk.into()))
        .consistent_read(true)
        .send()
        .await
        .expect("GetItem")
        .item
        .unwrap_or_else(|| panic!("no item {sk}"))
}

#[tokio::test]
async fn a_retried_flush_whose_answer_was_lost_counts_once() {
    let store = store().await;
    let batch = UsageBatch::new(store.clone(), NEVER);
    let k = KeyId::generate();
    for _ in 0..5 {
        batch.record(&UsageCount::new(&k, &at(8, 0), "GET /a"), true, None);
    }
    // Every attempt of the flush's update reaches the table, and every answer is lost (a 500 in
    // its place): the SDK's own retries find the update applied, but their answers are lost too.
    let fault = Fault::arm(&k, 3, true);
    let failed = batch.flush().await;
    assert!(failed.is_err(), "{failed:?}");
    assert_eq!(fault.injected(), 3);
    drop(fault);
    let (sum, _, _) = counted(&store, &k, DAY).await;
    assert_eq!(sum["total"], 5, "the write landed (once)");
    // Kept and sent again: already applied, nothing added.
    let f = batch.flush().await.expect("retried");
    assert_eq!(
        f,
        Flushed {
            already_applied: 1,
            ..Flushed::default()
        }
    );
    assert_eq!(counted(&store, &k, DAY).await.0["total"], 5);

    // One lost answer: the SDK's retry of the same update finds it applied.
    batch.record(&UsageCount::new(&k, &at(8, 0), "GET /a"), true, None);
    let fault = Fault::arm(&k, 1, true);
    let f = batch.flush().await.expect("flushed");
    assert_eq!(fault.injected(), 1);
    assert_eq!(
        f,
        Flushed {
            already_applied: 1,
            ..Flushed::default()
        }
    );
    let (sum, _, _) = counted(&store, &k, DAY).await;
    assert_eq!((sum["total"], sum["h08"], sum["r:GET /a"]), (6, 6, 6));
}

#[tokio::test]
async fn a_failed_flush_is_kept_and_lands_once_and_newer_counts_wait_behind_it() {
    let store = store().await;
    let batch = UsageBatch::new(store.clone(), NEVER);
    let (k, other) = (KeyId::generate(), KeyId::generate());
    batch.record(&UsageCount::new(&k, &at(8, 0), "GET /a"), true, None);
    batch.record(&UsageCount::new(&k, &at(8, 1), "GET /a"), true, None);
    // Refused before reaching the table, on every attempt of two flushes.
    let fault = Fault::arm(&k, 6, false);
    assert!(batch.flush().await.is_err());
    assert_eq!(fault.injected(), 3);
    assert_eq!(counted(&store, &k, DAY).await.2, 0, "nothing landed");
    // Newer counts of the same item wait (unsent) behind the update in doubt; another key's go.
    batch.record(&UsageCount::new(&k, &at(9, 0), "GET /b"), true, None);
    batch.record(&UsageCount::new(&other, &at(9, 0), "GET /b"), true, None);
    assert!(batch.flush().await.is_err());
    assert_eq!(
        fault.injected(),
        6,
        "only the update in doubt was sent again"
    );
    assert_eq!(
        batch.pending_items(),
        1,
        "k's newer counts are still unsent"
    );
    assert_eq!(counted(&store, &other, DAY).await.0["total"], 1);
    drop(fault);
    // The kept update lands, then the newer counts follow it.
    let f = batch.flush().await.expect("flushed");
    assert_eq!(
        f,
        Flushed {
            written: 2,
            ..Flushed::default()
        }
    );
    let (sum, _, items) = counted(&store, &k, DAY).await;
    assert_eq!(items, 1);
    assert_eq!(
        sum,
        expect(&[
            ("total", 3),
            ("h08", 2),
            ("h09", 1),
            ("r:GET /a", 2),
            ("r:GET /b", 1)
        ])
    );
    assert_eq!(
        batch.flush().await.expect("nothing left"),
        Flushed::default()
    );
}

#[tokio::test]
async fn a_large_batch_is_flushed_without_waiting_for_the_interval() {
    let store = store().await;
    let batch = Arc::new(UsageBatch::new(store.clone(), NEVER));
    let task = batch.start();
    let keys: Vec<KeyId> = (0..LARGE_BATCH_ITEMS).map(|_| KeyId::generate()).collect();
    for k in &keys {
        batch.record(&UsageCount::new(k, &at(6, 0), "GET /a"), true, None);
        batch.record(&UsageCount::new(k, &at(6, 1), "GET /a"), true, None);
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    let last = keys.last().expect("keys");
    while counted(&store, last, DAY).await.2 == 0 {
        assert!(
            Instant::now() < deadline,
            "a batch of {LARGE_BATCH_ITEMS} items was not flushed within 20 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The flush that took the batch runs to its end; then every key holds exactly its counts.
    let _ = batch.flush().await;
    for k in &keys {
        let (sum, _, items) = counted(&store, k, DAY).await;
        assert_eq!((items, sum.get("total").copied()), (1, Some(2)), "{k}");
    }
    assert_eq!(batch.pending_items(), 0);
    task.abort();
}

#[tokio::test]
async fn reads_sum_every_writer_and_find_the_last_use_past_a_page_of_items() {
    let store = store().await;
    let k = KeyId::generate();
    // An older day, then 70 writers (containers) on the latest one: more than the 64 items the
    // last-use query reads a page at a time. The first writer (the lowest id, read last, newest
    // day first) has the latest use.
    let old = UsageBatch::new(store.clone(), NEVER);
    old.record(
        &UsageCount::new(&k, "2026-03-01T23:59:00.000Z", "GET /a"),
        true,
        None,
    );
    old.flush().await.expect("flush");
    for i in 0..70u32 {
        let writer = UsageBatch::new(store.clone(), NEVER);
        let when = if i == 0 { at(23, 0) } else { at(1, i % 60) };
        writer.record(&UsageCount::new(&k, &when, "GET /a"), true, None);
        writer.flush().await.expect("flush");
        // Writer ids are ULIDs: one per millisecond keeps them in creation order.
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let (sum, last, items) = counted(&store, &k, DAY).await;
    assert_eq!(
        (items, sum["total"], sum["h01"], sum["h23"]),
        (70, 70, 69, 1)
    );
    assert_eq!(last.as_deref(), Some(at(23, 0).as_str()));
    assert_eq!(
        store.last_used(&k).await.expect("last used").as_deref(),
        Some(at(23, 0).as_str()),
        "the latest use among all of the latest day's items"
    );
    let both = store
        .usage_between(&k, "2026-03-01", DAY)
        .await
        .expect("usage");
    assert_eq!(both.len(), 71);
}
