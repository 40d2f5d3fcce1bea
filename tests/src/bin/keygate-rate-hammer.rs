//! One "function process" for the rate-limit lease test (`tests/tests/limits.rs`) and bench: a
//! `Decider` of its own, as verify and the authorizer build one per container, making
//! `KEYGATE_HAMMER_CALLS` decisions with the token in `KEYGATE_HAMMER_TOKEN` on
//! `KEYGATE_HAMMER_PATH` (GET), `KEYGATE_HAMMER_CONCURRENCY` at a time, against the local stack's
//! table. Prints one JSON line: `{"allowed", "refused", "lease_writes", "other_calls"}`, the
//! DynamoDB calls counted by an SDK interceptor (lease writes: the `UpdateItem`s; the other calls:
//! the cold reads of key, role and limit; the counts' batch is not flushed here).

use std::time::Duration;

use futures::StreamExt;
use keygate::adapters::sdk_calls::CallLog;
use keygate::config::DecisionConfig;
use keygate::store::Store;
use keygate::token::Verifier;
use keygate::usecases::decision::{Decider, Target};

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        eprintln!("{name} is required");
        std::process::exit(2)
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let token = var("KEYGATE_HAMMER_TOKEN");
    let path = var("KEYGATE_HAMMER_PATH");
    let calls: usize = var("KEYGATE_HAMMER_CALLS")
        .parse()
        .unwrap_or(100)
        .min(100_000);
    let concurrency: usize = std::env::var("KEYGATE_HAMMER_CONCURRENCY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8)
        .clamp(1, 256);
    let sdk = keygate::adapters::aws::aws_config().await;
    let log = CallLog::default();
    let ddb = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&sdk)
            .interceptor(log.clone())
            .build(),
    );
    let mut config = DecisionConfig::from_lookup(&|_: &str| None).expect("defaults");
    config.cache_ttl = Duration::from_secs(3600);
    let store = Store::with_client(ddb, var("TABLE_NAME"));
    let verifier = Verifier::new(store.clone(), Duration::from_secs(3600));
    let decider = Decider::new(store, verifier, &config);
    let target = Target::Call {
        method: "GET",
        path: &path,
    };
    let outcomes: Vec<bool> = futures::stream::iter(0..calls)
        .map(|_| async {
            decider
                .decide(&token, target)
                .await
                .expect("decides")
                .allowed
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let allowed = outcomes.iter().filter(|a| **a).count();
    let made = log.take();
    let writes = made.iter().filter(|c| *c == "UpdateItem").count();
    println!(
        "{}",
        serde_json::json!({
            "allowed": allowed,
            "refused": calls - allowed,
            "lease_writes": writes,
            "other_calls": made.len() - writes,
        })
    );
}
