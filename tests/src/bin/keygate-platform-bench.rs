//! `make bench`: the platform call as a client script makes it, on the local stack. Side by side in
//! one run, interleaved round by round: a call straight to the demo platform (with the headers
//! the gateway would add), the same call through the local gateway (`PLATFORM_API_URL`: the
//! `authorizer` invoked through `cargo lambda watch` on every call, as `AuthorizerCacheSeconds: 0`
//! deploys it) and through the gateway with a 3 s authorizer cache; medians, 95th percentiles and
//! the ratios to the direct call. Then a bounded load run: `LOAD_CLIENTS` (default 20) copies of
//! `examples/client.py` in a loop for `LOAD_SECONDS` (default 60) through the gateway, counting
//! the calls they print and their failures, then waiting until the key's usage total equals the
//! calls made (the decisions' counts are written in batches), and the DynamoDB writes the front
//! saw meanwhile per 1,000 decisions. Debug builds (as `cargo lambda watch` runs them): compare
//! the ratios, not the absolute times.

use std::time::{Duration, Instant};

use keygate_e2e::platform::{
    ClientSetup, cached_gateway_url, client_script, demo_url, gateway_url,
};
use keygate_e2e::{Method, Stack};
use serde_json::Value;

fn env_or(name: &str, default: u64, range: std::ops::RangeInclusive<u64>) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
        .clamp(*range.start(), *range.end())
}

/// Median and 95th percentile in ms.
fn quantiles(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let p50 = ms(samples[samples.len() / 2]);
    let p95 = ms(samples[(samples.len() * 95 / 100).min(samples.len() - 1)]);
    (p50, p95)
}

/// The DynamoDB writes the AWS front has seen so far (`/_keygate/latency`).
async fn dynamodb_writes(http: &reqwest::Client) -> u64 {
    let front = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
    let Ok(res) = http.get(format!("{front}/_keygate/latency")).send().await else {
        return 0;
    };
    let report: Value = res.json().await.unwrap_or_default();
    let mut n = 0;
    for backends in report.as_object().into_iter().flat_map(|o| o.values()) {
        if let Some(calls) = backends["dynamodb-local"].as_object() {
            for (call, s) in calls {
                let write = [
                    "UpdateItem",
                    "PutItem",
                    "DeleteItem",
                    "TransactWriteItems",
                    "BatchWriteItem",
                ]
                .iter()
                .any(|w| call == &format!("DynamoDB_20120810.{w}"));
                if write {
                    n += s["n"].as_u64().unwrap_or(0);
                }
            }
        }
    }
    n
}

#[tokio::main]
async fn main() {
    let n = env_or("BENCH_N", 200, 20..=5000) as usize;
    let clients = env_or("LOAD_CLIENTS", 20, 1..=64) as usize;
    let seconds = env_or("LOAD_SECONDS", 60, 1..=600);
    let stack = Stack::new().await;
    let s = ClientSetup::new(
        &stack,
        &[
            "data_layers:read",
            "packages:write",
            "packages:read",
            "files:read",
        ],
    )
    .await;
    let secret = std::env::var("PLATFORM_BACKEND_SECRET")
        .expect("PLATFORM_BACKEND_SECRET (scripts/lib.sh start_platform)");
    let path = format!("/projects/{}/data_layers/last", s.f.project);
    let role = "client";
    let (direct, gw, cached) = (demo_url(), gateway_url(), cached_gateway_url());
    let http = &stack.http;
    let one = |base: &str, through: bool| {
        let mut req = http.request(Method::GET, format!("{base}{path}"));
        req = if through {
            req.bearer_auth(&s.key.token)
        } else {
            req.header("x-keygate-gateway-secret", &secret)
                .header("x-keygate-key-id", &s.key.id)
                .header("x-keygate-holder", &s.f.member)
                .header("x-keygate-project", &s.f.project)
                .header("x-keygate-role", role)
        };
        async move {
            let start = Instant::now();
            let res = req.send().await.expect("the platform answers");
            let status = res.status().as_u16();
            let _ = res.bytes().await;
            assert_eq!(status, 200, "a bench call failed");
            start.elapsed()
        }
    };
    // A warm-up round of each, then the three interleaved.
    for _ in 0..5 {
        one(&direct, false).await;
        one(&gw, true).await;
        one(&cached, true).await;
    }
    let (mut d, mut g, mut c) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..n {
        d.push(one(&direct, false).await);
        g.push(one(&gw, true).await);
        c.push(one(&cached, true).await);
    }
    let (d50, d95) = quantiles(d);
    let (g50, g95) = quantiles(g);
    let (c50, c95) = quantiles(c);
    println!("platform call (GET data_layers/last), {n} interleaved rounds after a warm-up:");
    println!("  client -> demo platform directly         p50 {d50:>7.2} ms  p95 {d95:>7.2} ms");
    println!(
        "  client -> gateway -> authorizer -> demo   p50 {g50:>7.2} ms  p95 {g95:>7.2} ms   {:.2}x / {:.2}x the direct call",
        g50 / d50,
        g95 / d95
    );
    println!(
        "  the same with a 3 s authorizer cache      p50 {c50:>7.2} ms  p95 {c95:>7.2} ms   {:.2}x / {:.2}x",
        c50 / d50,
        c95 / d95
    );

    // The load run: a fresh key, so its usage holds exactly the run's calls.
    let s = ClientSetup::new(
        &stack,
        &[
            "data_layers:read",
            "packages:write",
            "packages:read",
            "files:read",
        ],
    )
    .await;
    let writes_before = dynamodb_writes(http).await;
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let script = client_script();
    let workers = (0..clients).map(|_| {
        let (script, secrets, gw) = (script.clone(), s.secrets.clone(), gw.clone());
        tokio::spawn(async move {
            let (mut calls, mut runs, mut failures) = (0u64, 0u64, 0u64);
            while Instant::now() < deadline {
                let out = tokio::process::Command::new("python3")
                    .arg(&script)
                    .args([
                        "--prefix",
                        "wx",
                        "--api",
                        &gw,
                        "--poll",
                        "0.25",
                        "--timeout",
                        "30",
                    ])
                    .env_clear()
                    .env("PATH", std::env::var("PATH").unwrap_or_default())
                    .envs(secrets.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                    .kill_on_drop(true)
                    .output()
                    .await
                    .expect("python3 runs");
                runs += 1;
                calls += String::from_utf8_lossy(&out.stdout).lines().count() as u64;
                if !out.status.success() {
                    failures += 1;
                    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
                }
            }
            (calls, runs, failures)
        })
    });
    let mut totals = (0, 0, 0);
    for w in futures::future::join_all(workers).await {
        let (calls, runs, failures) = w.expect("a load worker");
        totals = (totals.0 + calls, totals.1 + runs, totals.2 + failures);
    }
    let (calls, runs, failures) = totals;
    let ran = Instant::now();
    let path = format!("/v1/keys/{}/usage", s.key.id);
    let usage = loop {
        let usage = stack
            .get(&path, &stack.token(&s.f.member))
            .await
            .expect(200)
            .body;
        if usage["total"].as_u64() == Some(calls) || ran.elapsed() > Duration::from_secs(60) {
            break usage;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let writes = dynamodb_writes(http).await.saturating_sub(writes_before);
    println!();
    println!(
        "load: {clients} client scripts for {seconds} s through the gateway: {runs} runs, {calls} calls ({:.0}/s), {failures} failed runs",
        calls as f64 / seconds as f64
    );
    println!(
        "  the key's usage total {} (the calls made: {calls}), reached {:.1} s after the run; DynamoDB writes meanwhile {writes}: {:.1} per 1,000 decisions",
        usage["total"],
        ran.elapsed().as_secs_f64(),
        writes as f64 * 1000.0 / calls.max(1) as f64
    );
    if failures > 0 || usage["total"].as_u64() != Some(calls) {
        eprintln!(
            "the load run failed: {failures} failed runs, usage {} for {calls} calls",
            usage["total"]
        );
        std::process::exit(1);
    }
}
