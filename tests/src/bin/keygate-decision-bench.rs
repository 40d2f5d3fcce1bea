//! `make bench`, part two: the decision on a platform call, in process against the local
//! stack's emulator, measured side by side in one run: (a) a warm decision (everything cached)
//! beside bare Ed25519 verification of the same token, (b) warm decisions per second on one core
//! (a current-thread runtime), (c) DynamoDB calls per decision, cold and warm, counted by an SDK
//! interceptor. Bounded: `BENCH_DECISIONS` iterations (default 20000) of each timed loop.

use std::time::{Duration, Instant};

use keygate::config::DecisionConfig;
use keygate::decision::{Decider, Target};
use keygate::sdk_calls::CallLog;
use keygate::store::Store;
use keygate::token::Verifier;
use keygate_e2e::{Fixture, Stack};

/// A call's label in the report: what it does for the decision.
fn label(op: String) -> String {
    match op.as_str() {
        "BatchGetItem" | "GetItem" | "Query" => format!("{op} (read)"),
        "UpdateItem" => format!("{op} (count)"),
        _ => op,
    }
}

/// Timed rounds of the side-by-side comparison (after one warm-up round).
const ROUNDS: usize = 11;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn per_op(total: Duration, n: usize) -> f64 {
    total.as_secs_f64() * 1e6 / n as f64
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let n: usize = std::env::var("BENCH_DECISIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000)
        .clamp(100, 1_000_000);
    let stack = Stack::new().await;
    let f = Fixture::new(&stack).await;
    let key = f.issue_key(&stack, &[("Project", "p")]).await;
    let path = format!("/projects/{}/nodes/in/packages/1/files", f.project);
    let target = Target::Call {
        method: "GET",
        path: &path,
    };

    let sdk = keygate::aws::aws_config().await;
    let calls = CallLog::default();
    let ddb = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&sdk)
            .interceptor(calls.clone())
            .build(),
    );
    let mut config = DecisionConfig::from_lookup(&|_: &str| None).expect("defaults");
    config.cache_ttl = Duration::from_secs(3600);
    let store = Store::with_client(ddb, stack.table.clone());
    let verifier = Verifier::new(store.clone(), Duration::from_secs(3600));
    let decider = Decider::new(store, verifier, &config);

    // (c) DynamoDB calls per decision.
    let first = decider
        .decide(&key.token, target)
        .await
        .expect("cold decision");
    assert!(first.allowed, "{first:?}");
    let cold: Vec<String> = calls.take().into_iter().map(label).collect();
    decider
        .decide(&key.token, target)
        .await
        .expect("warm decision");
    let warm: Vec<String> = calls.take().into_iter().map(label).collect();

    // (a) bare signature verification of the same token vs a warm, uncounted decision
    // (`decide_warm`: no count, no log line, no metric), interleaved round by round so that the
    // machine's drift touches both alike; the first round warms caches and is dropped, and the
    // medians of the rest are reported.
    let keys = keygate_e2e::signing_keys().await.public();
    let per_round = (n / ROUNDS).max(100);
    let mut bare_rounds = Vec::with_capacity(ROUNDS);
    let mut decision_rounds = Vec::with_capacity(ROUNDS);
    for round in 0..=ROUNDS {
        let start = Instant::now();
        for _ in 0..per_round {
            std::hint::black_box(keys.verify_signed(&key.token, "keygate").expect("verifies"));
        }
        let bare = per_op(start.elapsed(), per_round);
        let start = Instant::now();
        for _ in 0..per_round {
            let d = decider
                .decide_warm(&key.token, target)
                .await
                .expect("decides");
            std::hint::black_box(d.expect("warm"));
        }
        let decision = per_op(start.elapsed(), per_round);
        if round > 0 {
            bare_rounds.push(bare);
            decision_rounds.push(decision);
        }
    }
    let ratios: Vec<f64> = bare_rounds
        .iter()
        .zip(&decision_rounds)
        .map(|(b, d)| d / b)
        .collect();
    let bare = median(bare_rounds);
    let decision = median(decision_rounds);
    let ratio = median(ratios);
    let warm_reads = calls.take().len();

    // (b) warm uncounted decisions per second on one core (this runtime has one thread).
    let start = Instant::now();
    let mut done = 0u64;
    while start.elapsed() < Duration::from_secs(1) {
        std::hint::black_box(
            decider
                .decide_warm(&key.token, target)
                .await
                .expect("decides"),
        );
        done += 1;
    }
    let rate = done as f64 / start.elapsed().as_secs_f64();

    println!("keygate decision bench: {n} iterations each, one core, same token and run");
    println!("bare Ed25519 verification      {bare:>9.1} µs");
    println!(
        "warm decision, uncounted path (decide_warm: no count, log line or metric) {decision:>9.1} µs   ratio {ratio:.2}x (median of {ROUNDS} interleaved rounds after a warm-up)"
    );
    println!("warm uncounted decisions per second      {rate:>9.0}");
    println!(
        "DynamoDB calls, cold decision  {} {:?} (a cold container: the published verification keys, then key and role read beside the count, then the template's limit: three round trips)",
        cold.len(),
        cold
    );
    println!(
        "DynamoDB calls, warm counted decision  {} {:?} (reads: 0)",
        warm.len(),
        warm
    );
    println!("DynamoDB calls during {n} uncounted warm decisions: {warm_reads}");
}
