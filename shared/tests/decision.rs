//! The decision against the emulator, with every DynamoDB call counted by an SDK interceptor: a
//! cold decision reads the key and its role in one call; a warm one makes no call at all (its
//! count is written by the batch's flush: one update for many decisions); a revocation is seen
//! once the cache TTL has passed.

mod common;

use std::time::Duration;

use keygate::adapters::sdk_calls::CallLog;
use keygate::config::{DEFAULT_SIGNING_KEYS_SECRET_ID, DecisionConfig};
use keygate::domain::key;
use keygate::store::Store;
use keygate::token::{Signer, Verifier};
use keygate::usecases::decision::{Decider, Target};

#[tokio::test]
async fn cold_reads_warm_makes_no_call_counts_are_one_flush_and_revocation_shows_after_the_ttl() {
    let table = std::env::var("TABLE_NAME").expect("TABLE_NAME: run with `make test`");
    let sdk = keygate::adapters::aws::aws_config().await;
    let secret_id = std::env::var("SIGNING_KEYS_SECRET_ID")
        .unwrap_or_else(|_| DEFAULT_SIGNING_KEYS_SECRET_ID.into());
    let store = Store::new(&sdk, table.clone());
    let signer = Signer::new(&sdk, store.clone(), secret_id, Duration::from_secs(300));
    let (bob, k, _) = common::holder_with_key(&store, &signer, 1).await;
    let key = store.get_key(&k).await.expect("read").expect("key");
    let token = key::mint(&signer, &key).await.expect("token");
    // The set-up's role `reader` has packages:read.
    let path = format!("/projects/{}/nodes/in/packages/search", key.project_id);
    let target = Target::Call {
        method: "POST",
        path: &path,
    };

    let calls = CallLog::default();
    let ddb = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&sdk)
            .interceptor(calls.clone())
            .build(),
    );
    let mut config = DecisionConfig::from_lookup(&|_: &str| None).expect("defaults");
    let ttl = Duration::from_secs(1);
    config.cache_ttl = ttl;
    // The published keys through the uncounted store: the calls counted are the decision's.
    let verifier = Verifier::new(store.clone(), Duration::from_secs(300));
    let decider = Decider::new(Store::with_client(ddb, table), verifier, &config);

    let cold = decider.decide(token.expose(), target).await.expect("cold");
    assert!(cold.allowed, "{cold:?}");
    assert_eq!(
        calls.take_sorted(),
        vec!["BatchGetItem", "GetItem"],
        "cold: key and role in one read, then the template's rate limit; no write"
    );
    for _ in 0..20 {
        let warm = decider.decide(token.expose(), target).await.expect("warm");
        assert!(warm.allowed);
    }
    assert!(
        calls.take_sorted().is_empty(),
        "warm: no call, the counts wait in memory"
    );
    let uncounted = decider
        .decide_warm(token.expose(), target)
        .await
        .expect("decides");
    assert!(uncounted.is_some_and(|d| d.allowed));
    assert!(
        calls.take_sorted().is_empty(),
        "a warm decision alone makes no call"
    );
    decider.usage().flush().await.expect("flush");
    assert_eq!(
        calls.take_sorted(),
        vec!["UpdateItem"],
        "21 decisions of one key and day: one update"
    );
    let today = &keygate::model::time::now()[..10];
    let items = store.usage_between(&k, today, today).await.expect("usage");
    let total: u64 = items.iter().filter_map(|i| i.counters.get("total")).sum();
    assert_eq!(total, 21);

    // Revoked meanwhile: the cached record still decides until the TTL ends, then it is read.
    key::revoke(&store, &bob, &k).await.expect("revoke");
    tokio::time::sleep(ttl + Duration::from_millis(200)).await;
    let after = decider.decide(token.expose(), target).await.expect("after");
    assert_eq!(after.reason.as_deref(), Some("revoked"));
    assert_eq!(
        calls.take_sorted(),
        vec!["BatchGetItem"],
        "re-read; the denial is counted in memory"
    );
    decider.usage().flush().await.expect("flush");
    assert_eq!(calls.take_sorted(), vec!["UpdateItem"]);
    let items = store.usage_between(&k, today, today).await.expect("usage");
    let sum = |name: &str| -> u64 { items.iter().filter_map(|i| i.counters.get(name)).sum() };
    assert_eq!((sum("total"), sum("denied"), sum("d:revoked")), (22, 1, 1));
}
