//! `make bench`: latency of the key flow's calls against the local stack (HTTP through
//! `cargo lambda watch`, debug builds, emulator on loopback), measured side by side in one run so
//! the ratios mean something even where the absolute numbers do not. Bounded: `BENCH_N` rounds
//! (default 40) of each call.

use std::time::{Duration, Instant};

use keygate_e2e::{Fixture, Stack, unique};
use serde_json::json;

fn stats(name: &str, mut samples: Vec<Duration>) -> f64 {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let median = ms(samples[samples.len() / 2]);
    let p95 = ms(samples[(samples.len() * 95 / 100).min(samples.len() - 1)]);
    println!(
        "{name:<28} n={:<4} median {median:>7.2} ms   p95 {p95:>7.2} ms",
        samples.len()
    );
    median
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::var("BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40)
        .clamp(5, 500);
    let stack = Stack::new().await;
    let f = Fixture::new(&stack).await;
    let owner = stack.token(&f.owner);
    let member = stack.token(&f.member);
    let t = f.template(&stack, &unique("Bench ")).await;
    let t_path = f.path(&format!(
        "/templates/{}",
        t["id"].as_str().unwrap_or_default()
    ));
    // Warm every function once.
    stack.get(&t_path, &owner).await.expect(200);
    stack.get(&f.path(""), &owner).await.expect(200);

    // Imports: keys with 3 and with 20 info fields, imported into the member's own project.
    let three: Vec<(String, String)> = (0..3)
        .map(|i| (format!("Field {i}"), format!("v{i}")))
        .collect();
    let twenty: Vec<(String, String)> = (0..20)
        .map(|i| (format!("Field {i}"), format!("v{i}")))
        .collect();
    let key3 = f.issue_key(&stack, &refs(&three)).await;
    let key20 = f.issue_key(&stack, &refs(&twenty)).await;
    let client = unique("c");
    stack
        .post(
            "/v1/projects",
            &member,
            json!({"id": client, "name": "Bench client"}),
        )
        .await
        .expect(201);
    let imports = format!("/v1/projects/{client}/imports");
    stack
        .post(
            &imports,
            &member,
            json!({"key_id": key3.id, "prefix": "warm"}),
        )
        .await
        .expect(201);

    let mut read = Vec::new();
    let mut import3 = Vec::new();
    let mut import20 = Vec::new();
    let mut reimport3 = Vec::new();
    let mut create = Vec::new();
    let mut approve = Vec::new();
    let mut reveal = Vec::new();
    for _ in 0..n {
        let start = Instant::now();
        stack.get(&t_path, &member).await.expect(200);
        read.push(start.elapsed());

        // Each round its own template, so the member may ask again.
        let tt = f.template(&stack, &unique("Bench ")).await;
        let req_path = f.path(&format!(
            "/templates/{}/requests",
            tt["id"].as_str().unwrap_or_default()
        ));
        let start = Instant::now();
        let r = stack
            .post(&req_path, &member, json!({}))
            .await
            .expect(201)
            .body;
        create.push(start.elapsed());

        let approve_path = f.path(&format!(
            "/requests/{}/approve",
            r["id"].as_str().unwrap_or_default()
        ));
        let start = Instant::now();
        let out = stack
            .post(&approve_path, &owner, json!({}))
            .await
            .expect(200)
            .body;
        approve.push(start.elapsed());

        let token_path = format!(
            "/v1/keys/{}/token",
            out["key"]["id"].as_str().unwrap_or_default()
        );
        let start = Instant::now();
        stack.get(&token_path, &member).await.expect(200);
        reveal.push(start.elapsed());

        let prefix = unique("b");
        for (key, fields, samples) in [(&key3, 3, &mut import3), (&key20, 20, &mut import20)] {
            let start = Instant::now();
            stack
                .post(
                    &imports,
                    &member,
                    json!({"key_id": key.id, "prefix": format!("{prefix}_{fields}")}),
                )
                .await
                .expect(201);
            samples.push(start.elapsed());
        }
        let start = Instant::now();
        stack
            .post(
                &imports,
                &member,
                json!({"key_id": key3.id, "prefix": "warm"}),
            )
            .await
            .expect(200);
        reimport3.push(start.elapsed());
    }
    println!("keygate bench: {n} rounds, warm, sequential (local stack: debug builds, emulator)");
    let base = stats("GET template (baseline)", read);
    let c = stats("POST request", create);
    let a = stats("POST approve", approve);
    let r = stats("GET key token (re-mint)", reveal);
    let i3 = stats("POST import (3 fields)", import3);
    let i20 = stats("POST import (20 fields)", import20);
    let ri3 = stats("POST re-import (3 fields)", reimport3);
    println!(
        "ratios to GET template: request {:.2}x, approve {:.2}x, token {:.2}x, import 3 fields {:.2}x, import 20 fields {:.2}x, re-import {:.2}x",
        c / base,
        a / base,
        r / base,
        i3 / base,
        i20 / base,
        ri3 / base
    );
    println!(
        "import 20 fields / 3 fields: {:.2}x (Secrets Manager calls: 21 vs 4, {} at a time)",
        i20 / i3,
        keygate::domain::import::WRITE_CONCURRENCY
    );
}

fn refs(v: &[(String, String)]) -> Vec<(&str, &str)> {
    v.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect()
}
