//! The platform side of a call made with an API key, as the local stack runs it
//! (`scripts/lib.sh` `start_platform`): the local gateway (`PLATFORM_API_URL`, and one with a
//! 3 s authorizer cache at `PLATFORM_API_CACHED_URL`) in front of the demo platform
//! (`PLATFORM_DEMO_URL`), and the manual's client script (`examples/client.py`) run against it
//! with the secrets an import granted to a node.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};

use crate::{Fixture, IssuedKey, Stack, client_project, env, secrets_client, secrets_namespace};

/// The import prefix the client tests use (`wx_token`, `wx_project`, …).
pub const PREFIX: &str = "wx";
/// The node of the client project granted the import's secrets.
pub const NODE: &str = "fetcher";

/// The gateway as deployed by default (no authorizer cache).
pub fn gateway_url() -> String {
    env("PLATFORM_API_URL")
}

/// A second gateway with a 3 s authorizer cache.
pub fn cached_gateway_url() -> String {
    env("PLATFORM_API_CACHED_URL")
}

/// The cached gateway's TTL (`start_platform` in scripts/lib.sh).
pub const CACHE_TTL: Duration = Duration::from_secs(3);

/// The demo platform itself, behind the gateways.
pub fn demo_url() -> String {
    env("PLATFORM_DEMO_URL")
}

/// A platform call's answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

/// One call to `base` (a gateway or the demo platform), with `token` as bearer when given and
/// these extra headers.
pub async fn call(
    stack: &Stack,
    base: &str,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> Answer {
    let mut req = stack.http.request(method, format!("{base}{path}"));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.expect("the platform gateway answers");
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let bytes = res.bytes().await.expect("body");
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
    Answer {
        status,
        headers,
        body,
    }
}

/// `GET base+path` with `token` as bearer, no other header.
pub async fn get(stack: &Stack, base: &str, path: &str, token: &str) -> Answer {
    call(
        stack,
        base,
        reqwest::Method::GET,
        path,
        Some(token),
        &[],
        None,
    )
    .await
}

/// A key like the demo's: the fixture's project gets a role with `permissions`, nodes `input`
/// and `output`, and a template of that role with the fields the client script reads (project,
/// input node, output node); the member requests a key, the owner approves; the member imports
/// it into a client project of their own under `wx` and grants its secrets to node `fetcher`.
pub struct ClientSetup {
    pub f: Fixture,
    pub key: IssuedKey,
    /// The client project.
    pub client: String,
    /// The secrets node `fetcher` can read: (name, value).
    pub secrets: Vec<(String, String)>,
}

impl ClientSetup {
    pub async fn new(stack: &Stack, permissions: &[&str]) -> ClientSetup {
        let f = Fixture::new(stack).await;
        let owner = stack.token(&f.owner);
        stack
            .put(
                &f.path("/roles/client"),
                &owner,
                json!({"permissions": permissions}),
            )
            .await
            .expect(200);
        for node in ["input", "output"] {
            stack
                .put(
                    &f.path(&format!("/nodes/{node}")),
                    &owner,
                    json!({"name": node}),
                )
                .await
                .expect(200);
        }
        let t = stack
            .post(
                &f.path("/templates"),
                &owner,
                json!({"name": crate::unique("Client "), "role": "client", "fields": [
                    {"name": "project", "value": f.project},
                    {"name": "input node", "value": "input"},
                    {"name": "output node", "value": "output"},
                ]}),
            )
            .await
            .expect(201)
            .body;
        let r = f
            .request(stack, &f.member, t["id"].as_str().expect("template id"))
            .await;
        let approved = f.approve(stack, &r).await;
        let id = approved["id"].as_str().expect("key id").to_string();
        let token = stack.reveal(&id, &f.member).await;
        let key = IssuedKey {
            id,
            token,
            key: approved,
        };
        let client = client_project(stack, &f.member, &[NODE, "other"]).await;
        let member = stack.token(&f.member);
        crate::import(stack, &f.member, &client, &key.id, PREFIX)
            .await
            .expect(201);
        for field in ["token", "project", "input_node", "output_node"] {
            stack
                .put(
                    &format!("/v1/projects/{client}/secrets/{PREFIX}_{field}/nodes"),
                    &member,
                    json!({"nodes": [NODE]}),
                )
                .await
                .expect(200);
        }
        let sm = secrets_client().await;
        let secrets = keygate_dev::node_secrets::for_node(&sm, &secrets_namespace(), &client, NODE)
            .await
            .expect("the node's secrets");
        ClientSetup {
            f,
            key,
            client,
            secrets,
        }
    }
}

/// What a run of the client script printed and how it ended.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn output(&self) -> String {
        format!(
            "exit {:?}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }

    /// The calls it printed: `(method, path, status)`.
    pub fn calls(&self) -> Vec<(String, String, u16)> {
        self.stdout
            .lines()
            .filter_map(|l| {
                let mut parts = l.split(' ');
                let (m, p, s) = (parts.next()?, parts.next()?, parts.next()?);
                Some((m.to_string(), p.to_string(), s.parse().ok()?))
            })
            .collect()
    }
}

/// `examples/client.py` of the repository.
pub fn client_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/client.py")
}

/// Runs the client script with `args`, its environment holding only `secrets` (as a node reads
/// them), PATH and the given extra variables; killed after 60 s.
pub async fn run_client(
    args: &[&str],
    secrets: &[(String, String)],
    extra: &[(&str, &str)],
) -> Run {
    let mut cmd = tokio::process::Command::new("python3");
    cmd.arg(client_script())
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(secrets.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .envs(extra.iter().copied())
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(60), cmd.output())
        .await
        .expect("the client script ends within 60 s")
        .expect("python3 runs");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into(),
        stderr: String::from_utf8_lossy(&out.stderr).into(),
    }
}

/// Key `k`'s usage as `user` reads it once `total` calls are counted, asserted to be exactly
/// `total` after the settle window (`Stack::usage_once_counted`).
pub async fn counted(stack: &Stack, k: &str, user: &str, total: u64) -> Value {
    let usage = stack.usage_once_counted(k, user, total).await;
    assert_eq!(usage["total"], total, "exactly the calls made: {usage}");
    usage
}

/// The route counts of a usage answer: `(route, total)`.
pub fn route_totals(usage: &Value) -> Vec<(String, u64)> {
    let mut out: Vec<(String, u64)> = usage["routes"]
        .as_array()
        .map(|rs| {
            rs.iter()
                .map(|r| {
                    (
                        r["route"].as_str().unwrap_or_default().to_string(),
                        r["total"].as_u64().unwrap_or(0),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}
