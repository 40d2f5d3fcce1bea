//! `make bench`, part two: the decision on a platform call, in process against the local
//! stack's emulator, measured side by side in one run: (a) a warm decision (everything cached)
//! on the uncounted path (`decide_warm`) and on the served, counted path (`decide`, as verify and
//! the authorizer run it: the count in memory, its log line and metric) beside bare Ed25519
//! verification of the same token, (b) warm decisions per second on one core (a current-thread
//! runtime), (c) DynamoDB calls per decision, cold and warm, counted by an SDK interceptor, (d)
//! DynamoDB writes per 1,000 decisions of one key at a steady rate, with the batch's flush task
//! running at the default `USAGE_FLUSH_SECONDS`, (e) the lease writes of a rate-limited key
//! (`keygate::usecases::leases`) per 1,000 calls. Bounded: `BENCH_DECISIONS` iterations (default
//! 20000) of each timed loop; `BENCH_RATE` decisions a second (default 100) for
//! `BENCH_RATE_SECONDS` (default 30) in (d).

use std::time::{Duration, Instant};

use keygate::adapters::sdk_calls::{CallLog, HttpCallLog};
use keygate::config::DecisionConfig;
use keygate::store::Store;
use keygate::token::Verifier;
use keygate::usecases::decision::{Decider, Target};
use keygate_e2e::{Fixture, Stack};

/// A call's label in the report: what it does for the decision.
fn label(op: String) -> String {
    match op.as_str() {
        "BatchGetItem" | "GetItem" | "Query" => format!("{op} (read)"),
        "UpdateItem" => format!("{op} (write)"),
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

    // Every request of any service at the HTTP client every client of this process shares (the
    // interceptor below names DynamoDB's operations; this would also see a Secrets Manager call).
    let http = HttpCallLog::default();
    let sdk = http.wrap(&keygate::adapters::aws::aws_config().await);
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
    let cold_http = http.take();
    decider
        .decide(&key.token, target)
        .await
        .expect("warm decision");
    let warm: Vec<String> = calls.take().into_iter().map(label).collect();
    let warm_http = http.take();

    // (a) bare signature verification of the same token vs a warm decision on the uncounted
    // path (`decide_warm`: no count, no log line, no metric) and on the served one (`decide`:
    // counted in memory, its log line and metric; no subscriber and no EMF here, as in a
    // function whose level filters the line out), interleaved round by round so that the
    // machine's drift touches all alike; the first round warms caches and is dropped, and the
    // medians of the rest are reported.
    let keys = keygate_e2e::signing_keys().await.public();
    let per_round = (n / ROUNDS).max(100);
    let mut bare_rounds = Vec::with_capacity(ROUNDS);
    let mut decision_rounds = Vec::with_capacity(ROUNDS);
    let mut served_rounds = Vec::with_capacity(ROUNDS);
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
        let start = Instant::now();
        for _ in 0..per_round {
            let d = decider.decide(&key.token, target).await.expect("decides");
            std::hint::black_box(d);
        }
        let served = per_op(start.elapsed(), per_round);
        if round > 0 {
            bare_rounds.push(bare);
            decision_rounds.push(decision);
            served_rounds.push(served);
        }
    }
    let ratio_of =
        |rounds: &[f64]| median(bare_rounds.iter().zip(rounds).map(|(b, d)| d / b).collect());
    let ratio = ratio_of(&decision_rounds);
    let served_ratio = ratio_of(&served_rounds);
    let bare = median(bare_rounds);
    let decision = median(decision_rounds);
    let served = median(served_rounds);
    let warm_calls = calls.take().len();
    // Every counted decision so far, written: one update for the key's day.
    let counted_before = decider.usage().flush().await.expect("flush");
    let back_to_back_writes = calls.take().len();

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

    // (d) one key at a steady rate, served as a function serves it: the batch's own flush task
    // at the default interval, then the shutdown's last flush. Every write is counted.
    let steady_rate: u64 = env_number("BENCH_RATE", 100).clamp(1, 10_000);
    let steady_seconds: u64 = env_number("BENCH_RATE_SECONDS", 30).clamp(1, 600);
    let today = keygate::model::time::now()[..10].to_string();
    let total_before = stack
        .counted_in_table(&key.id, &format!("USAGE#{today}#"))
        .await;
    let flusher = decider.usage().start();
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / steady_rate));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let steady = steady_rate * steady_seconds;
    let started = Instant::now();
    for _ in 0..steady {
        tick.tick().await;
        std::hint::black_box(decider.decide(&key.token, target).await.expect("decides"));
    }
    let took = started.elapsed();
    flusher.abort();
    decider.usage().flush().await.expect("the last flush");
    let steady_calls = calls.take();
    let writes = steady_calls.iter().filter(|c| *c == "UpdateItem").count();
    let others = steady_calls.len() - writes;
    let total_after = stack
        .counted_in_table(&key.id, &format!("USAGE#{today}#"))
        .await;
    assert_eq!(
        total_after - total_before,
        steady,
        "every decision of the steady phase is counted, once"
    );

    // (e) a rate-limited key: 1,000 calls within its limit (6,000 a minute), one container, each
    // call spending a slot of its lease on the minute's window. A fresh decider, which reads the
    // template's limit.
    let t = key.key["template_id"].as_str().expect("template id");
    let owner = stack.token(&f.owner);
    let t_path = f.path(&format!("/templates/{t}"));
    let version = stack.get(&t_path, &owner).await.expect(200).body["version"].clone();
    stack
        .patch(
            &t_path,
            &owner,
            serde_json::json!({"rate_limit_per_minute": LIMITED_PER_MINUTE, "version": version}),
        )
        .await
        .expect(200);
    let limited = Decider::new(
        Store::with_client(
            aws_sdk_dynamodb::Client::from_conf(
                aws_sdk_dynamodb::config::Builder::from(&sdk)
                    .interceptor(calls.clone())
                    .build(),
            ),
            stack.table.clone(),
        ),
        Verifier::new(
            Store::new(&sdk, stack.table.clone()),
            Duration::from_secs(3600),
        ),
        &config,
    );
    calls.take();
    let mut limited_allowed = 0;
    for _ in 0..LIMITED_CALLS {
        if limited
            .decide(&key.token, target)
            .await
            .expect("decides")
            .allowed
        {
            limited_allowed += 1;
        }
    }
    let limited_calls = calls.take();
    let lease_writes = limited_calls.iter().filter(|c| *c == "UpdateItem").count();

    let rest_http = http.take();
    let requests = cold_http.len() + warm_http.len() + rest_http.len();
    let secrets_manager = [&cold_http, &warm_http, &rest_http]
        .into_iter()
        .flatten()
        .filter(|r| r.starts_with("secretsmanager."))
        .count();
    let not_dynamodb: Vec<&String> = [&cold_http, &warm_http, &rest_http]
        .into_iter()
        .flatten()
        .filter(|r| !r.starts_with("DynamoDB_20120810."))
        .collect();
    assert!(
        not_dynamodb.is_empty(),
        "a decision called another service than DynamoDB: {not_dynamodb:?}"
    );
    println!("keygate decision bench: {n} iterations each, one core, same token and run");
    println!("bare Ed25519 verification      {bare:>9.1} µs");
    println!(
        "warm decision, uncounted path (decide_warm: no count, log line or metric) {decision:>9.1} µs   ratio {ratio:.2}x (median of {ROUNDS} interleaved rounds after a warm-up)"
    );
    println!(
        "warm decision, served path (decide: counted in memory, log line, metric)  {served:>9.1} µs   ratio {served_ratio:.2}x (same rounds)"
    );
    println!("warm uncounted decisions per second      {rate:>9.0}");
    println!(
        "DynamoDB calls, cold decision  {} {:?} (a cold container: the published verification keys, then key and role in one read, then the template's limit; no write)",
        cold.len(),
        cold
    );
    println!(
        "DynamoDB calls, warm served decision  {} {:?} (its count waits in memory for the batch's flush)",
        warm.len(),
        warm
    );
    println!(
        "DynamoDB calls during the timed rounds ({} uncounted and {} served decisions): {warm_calls}; then one flush of the served ones' counts: {back_to_back_writes} write(s) ({} item(s))",
        (ROUNDS + 1) * per_round,
        (ROUNDS + 1) * per_round,
        counted_before.written
    );
    println!(
        "one key at a steady {steady_rate}/s for {:.1} s ({steady} decisions, flush every {} s): {writes} DynamoDB write(s), {:.2} per 1,000 decisions; {others} other call(s); counted exactly",
        took.as_secs_f64(),
        config.usage_flush.as_secs(),
        writes as f64 * 1000.0 / steady as f64
    );
    println!(
        "AWS requests of any service at the shared HTTP client (each attempt): cold decision {}, warm served decision {}, the whole bench {requests}; Secrets Manager requests {secrets_manager}, of any service but DynamoDB {}",
        cold_http.len(),
        warm_http.len(),
        not_dynamodb.len()
    );
    println!(
        "rate-limited key ({LIMITED_PER_MINUTE}/min), {LIMITED_CALLS} calls in one container: {limited_allowed} allowed, {lease_writes} lease write(s) = {:.1} per 1,000 limited calls (a conditional write per call before leases); {} other call(s) (the cold reads)",
        lease_writes as f64 * 1000.0 / LIMITED_CALLS as f64,
        limited_calls.len() - lease_writes
    );
}

/// (e): the rate-limited key's limit and how many calls it makes.
const LIMITED_PER_MINUTE: u32 = 6000;
const LIMITED_CALLS: usize = 1000;

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
