//! The platform manual's last step on the local stack: `examples/client.py` (the manual's client
//! script) run with the secrets an import granted to a node, against the local platform gateway
//! (`PLATFORM_API_URL`), which asks the `authorizer` function and forwards allowed calls to the
//! demo platform. It posts a workload, polls the search for the graph's result, downloads the
//! result's files; the key's usage then shows exactly those calls. A call the role lacks and a
//! revoked key get the gateway's 403; a missing secret is exit 2; the token is never printed.

use std::time::{Duration, Instant};

use keygate_e2e::Stack;
use keygate_e2e::platform::{
    ClientSetup, PREFIX, Run, counted, gateway_url, route_totals, run_client,
};
use serde_json::json;

const CLIENT: [&str; 4] = [
    "data_layers:read",
    "packages:write",
    "packages:read",
    "files:read",
];

fn args(api: &str) -> Vec<String> {
    [
        "--prefix",
        PREFIX,
        "--api",
        api,
        "--poll",
        "0.3",
        "--timeout",
        "30",
    ]
    .map(String::from)
    .to_vec()
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn assert_no_token(run: &Run, token: &str) {
    assert!(
        !run.stdout.contains(token) && !run.stderr.contains(token),
        "the token was printed:\n{}",
        run.output()
    );
    let signature = token.rsplit('.').next().unwrap_or(token);
    assert!(
        !run.stdout.contains(signature) && !run.stderr.contains(signature),
        "{}",
        run.output()
    );
}

#[tokio::test]
async fn the_manuals_client_script_runs_through_the_gateway_and_is_counted_exactly() {
    let stack = Stack::new().await;
    let s = ClientSetup::new(&stack, &CLIENT).await;
    let names: Vec<&str> = s.secrets.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["wx_input_node", "wx_output_node", "wx_project", "wx_token"],
        "the node reads the import's four secrets"
    );
    let out = std::env::temp_dir().join(keygate_e2e::unique("client-out-"));
    let mut a = args(&gateway_url());
    a.extend(["--out".into(), out.display().to_string()]);
    let run = run_client(&strs(&a), &s.secrets, &[]).await;
    assert_eq!(run.code, Some(0), "{}", run.output());
    assert_no_token(&run, &s.key.token);

    let p = format!("/projects/{}", s.f.project);
    let calls = run.calls();
    assert_eq!(
        calls[0],
        ("GET".into(), format!("{p}/data_layers/last"), 200),
        "{}",
        run.output()
    );
    assert_eq!(
        calls[1],
        ("POST".into(), format!("{p}/nodes/input/packages"), 201)
    );
    // The search is polled until the graph's result appears (the demo platform takes a moment).
    let search = format!("{p}/nodes/output/packages/search?page_size=1");
    let searches = calls[2..].iter().take_while(|c| c.1 == search).count();
    assert!(
        searches >= 2,
        "the first search comes before the result: {}",
        run.output()
    );
    assert!(calls[2..2 + searches].iter().all(|c| c.2 == 200));
    let rest = &calls[2 + searches..];
    assert_eq!(rest[0].0, "GET");
    assert!(
        rest[0]
            .1
            .starts_with(&format!("{p}/nodes/output/packages/"))
            && rest[0].1.ends_with("/files"),
        "{}",
        run.output()
    );
    let downloads = &rest[1..];
    assert!(
        !downloads.is_empty(),
        "the result has files: {}",
        run.output()
    );
    assert!(
        downloads
            .iter()
            .all(|c| c.0 == "GET" && c.2 == 200 && c.1.starts_with(&rest[0].1))
    );
    let saved = std::fs::read_dir(&out).map(|d| d.count()).unwrap_or(0);
    assert_eq!(saved, downloads.len(), "each file saved in --out");
    let _ = std::fs::remove_dir_all(&out);

    // The key's usage: exactly the calls the script made, by route, none denied.
    let total = calls.len() as u64;
    let usage = counted(&stack, &s.key.id, &s.f.member, total).await;
    assert_eq!(usage["allowed"], total, "{usage}");
    assert_eq!(usage["denied"], 0, "{usage}");
    let mut want = vec![
        ("GET /projects/{p}/data_layers/last".to_string(), 1),
        (
            "GET /projects/{p}/nodes/{n}/packages/{id}/files".to_string(),
            1,
        ),
        (
            "GET /projects/{p}/nodes/{n}/packages/{id}/files/{f}".to_string(),
            downloads.len() as u64,
        ),
        ("POST /projects/{p}/nodes/{n}/packages".to_string(), 1),
        (
            "POST /projects/{p}/nodes/{n}/packages/search".to_string(),
            searches as u64,
        ),
    ];
    want.sort();
    assert_eq!(route_totals(&usage), want, "{usage}");
    // The owner sees the same figures.
    let owners = counted(&stack, &s.key.id, &s.f.owner, total).await;
    assert_eq!(owners["routes"], usage["routes"]);
}

#[tokio::test]
async fn a_call_the_role_lacks_is_the_gateways_403_and_ends_the_script() {
    let stack = Stack::new().await;
    // No packages:write: the workload post is refused.
    let s = ClientSetup::new(&stack, &["data_layers:read", "packages:read", "files:read"]).await;
    let run = run_client(&strs(&args(&gateway_url())), &s.secrets, &[]).await;
    assert_eq!(run.code, Some(1), "{}", run.output());
    let p = format!("/projects/{}", s.f.project);
    assert_eq!(
        run.calls(),
        vec![
            ("GET".to_string(), format!("{p}/data_layers/last"), 200),
            ("POST".to_string(), format!("{p}/nodes/input/packages"), 403),
        ],
        "it stops at the refused call: {}",
        run.output()
    );
    // API Gateway's answer to an authorizer's refusal: 403 {"message": "Forbidden"}.
    assert!(run.stderr.contains("403 Forbidden"), "{}", run.output());
    assert_no_token(&run, &s.key.token);
    let usage = counted(&stack, &s.key.id, &s.f.member, 2).await;
    assert_eq!(usage["allowed"], 1, "{usage}");
    assert_eq!(usage["denied"], 1, "{usage}");
    assert_eq!(
        usage["denied_by_reason"],
        json!([{"reason": "permission_missing", "total": 1}])
    );
}

#[tokio::test]
async fn a_revoked_key_is_refused_at_the_gateway() {
    let stack = Stack::new().await;
    let s = ClientSetup::new(&stack, &CLIENT).await;
    s.f.revoke(&stack, &s.f.member, &s.key.id).await;
    // Within the decisions' cache TTL (2 s on the local stack), the gateway refuses the key.
    let deadline = Instant::now() + Duration::from_secs(10);
    let run = loop {
        let run = run_client(&strs(&args(&gateway_url())), &s.secrets, &[]).await;
        if run.code == Some(1) || Instant::now() > deadline {
            break run;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(run.code, Some(1), "{}", run.output());
    let p = format!("/projects/{}", s.f.project);
    assert_eq!(
        run.calls(),
        vec![("GET".to_string(), format!("{p}/data_layers/last"), 403)],
        "{}",
        run.output()
    );
    assert_no_token(&run, &s.key.token);
}

#[tokio::test]
async fn a_missing_secret_is_exit_2_naming_it() {
    let stack = Stack::new().await;
    let s = ClientSetup::new(&stack, &CLIENT).await;
    let without: Vec<(String, String)> = s
        .secrets
        .iter()
        .filter(|(n, _)| n != "wx_output_node")
        .cloned()
        .collect();
    let run = run_client(&strs(&args(&gateway_url())), &without, &[]).await;
    assert_eq!(run.code, Some(2), "{}", run.output());
    assert!(
        run.stderr.contains("missing secret wx_output_node"),
        "{}",
        run.output()
    );
    assert!(
        run.calls().is_empty(),
        "no call without the secrets: {}",
        run.output()
    );
    // The URL from the environment, as `.keygate/dev.env` gives it; no URL at all is exit 2.
    let gw = gateway_url();
    let from_env = run_client(
        &["--prefix", PREFIX, "--poll", "0.3"],
        &s.secrets,
        &[("PLATFORM_API_URL", gw.as_str())],
    )
    .await;
    assert_eq!(from_env.code, Some(0), "{}", from_env.output());
    let none = run_client(&["--prefix", PREFIX], &s.secrets, &[]).await;
    assert_eq!(none.code, Some(2), "{}", none.output());
    assert!(
        none.stderr.contains("PLATFORM_API_URL"),
        "{}",
        none.output()
    );
}

#[tokio::test]
async fn help_works() {
    let run = run_client(&["--help"], &[], &[]).await;
    assert_eq!(run.code, Some(0), "{}", run.output());
    assert!(
        run.stdout.contains("--prefix")
            && run.stdout.contains("--api")
            && run.stdout.contains("--timeout"),
        "{}",
        run.output()
    );
}
