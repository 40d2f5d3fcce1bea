//! Test support for the end-to-end tests: the running local stack (from the env `make test`
//! exports), dev user tokens, an HTTP client and a look into the table.

use std::collections::{BTreeMap, HashMap};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::types::AttributeValue;
use keygate_dev::{DEV_AUDIENCE, DEV_ISSUER, DevIssuer, state_dir};
use serde_json::{Value, json};

pub use reqwest::Method;

pub mod platform;
pub mod template;

/// The stack under test. Panics with a clear message when run outside `make test`.
pub struct Stack {
    pub url: String,
    pub issuer: DevIssuer,
    pub http: reqwest::Client,
    pub ddb: aws_sdk_dynamodb::Client,
    pub table: String,
}

/// A response: status, headers and the JSON body (`Null` when empty).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub allow: Option<String>,
    pub retry_after: Option<String>,
    pub body: Value,
}

impl Reply {
    /// Asserts the status and, for errors, a problem+json body; returns self for more checks.
    #[track_caller]
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.body
        );
        if status >= 400 {
            assert_eq!(
                self.content_type, "application/problem+json",
                "errors are problem+json: {}",
                self.body
            );
            assert_eq!(
                self.body["status"], status,
                "problem status field: {}",
                self.body
            );
        }
        self
    }

    /// The field names of a validation problem.
    pub fn fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e["field"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the tests with `make test`, which starts the local stack")
    })
}

/// A fresh lower-case id, unique per call, so tests never share data.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}{}",
        ulid::Ulid::new().to_string().to_ascii_lowercase()
    )
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Stack {
    pub async fn new() -> Stack {
        let issuer = DevIssuer::load(&state_dir()).expect("dev issuer key of the test stack");
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .load()
            .await;
        Stack {
            url: env("KEYGATE_URL"),
            issuer,
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(120))
                .build()
                .expect("http client"),
            ddb: aws_sdk_dynamodb::Client::new(&sdk),
            table: env("TABLE_NAME"),
        }
    }

    /// A valid console token for `user` (email `<user>@example.com`).
    pub fn token(&self, user: &str) -> String {
        self.issuer
            .user_token(user, &format!("{user}@example.com"), 3600)
            .expect("token")
    }

    /// A token signed by the dev issuer with the given claims and `typ`.
    pub fn signed(&self, typ: &str, claims: Value) -> String {
        self.issuer.sign(typ, &claims).expect("token")
    }

    pub fn expired_token(&self, user: &str) -> String {
        let t = now();
        self.signed("JWT", json!({"iss": DEV_ISSUER, "aud": DEV_AUDIENCE, "sub": user, "email": format!("{user}@example.com"), "iat": t - 7200, "exp": t - 3600}))
    }

    /// Sends a request; `body` is sent as JSON when given.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut req = self.http.request(method, format!("{}{path}", self.url));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        self.send(req).await
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Reply {
        let res = req.send().await.expect("request reaches the local stack");
        let status = res.status().as_u16();
        let header = |n: &str| {
            res.headers()
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let content_type = header("content-type").unwrap_or_default();
        let allow = header("allow");
        let retry_after = header("retry-after");
        let bytes = res.bytes().await.expect("body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        Reply {
            status,
            content_type,
            allow,
            retry_after,
            body,
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn put(&self, path: &str, token: &str, body: Value) -> Reply {
        self.call(Method::PUT, path, Some(token), Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Reply {
        self.call(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Reply {
        self.call(Method::DELETE, path, Some(token), None).await
    }

    /// Ends a key's validity in the table (`valid_until` in the past): a template's TTL is at
    /// least a day, too long to wait for.
    pub async fn expire_key(&self, k: &str) {
        self.ddb
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(format!("KEY#{k}")))
            .key("sk", AttributeValue::S("META".into()))
            .update_expression("SET valid_until = :past")
            .expression_attribute_values(
                ":past",
                AttributeValue::S("2020-01-01T00:00:00.000Z".into()),
            )
            .send()
            .await
            .expect("UpdateItem");
    }

    /// Every item's sort key in a partition, read straight from the table.
    pub async fn sort_keys(&self, pk: &str) -> Vec<String> {
        self.items(pk)
            .await
            .into_iter()
            .filter_map(|i| match i.get("sk") {
                Some(AttributeValue::S(s)) => Some(s.clone()),
                _ => None,
            })
            .collect()
    }

    /// Every item of these partitions, each attribute in a canonical text form (maps and sets
    /// in order), keyed by (pk, sk): two snapshots are equal exactly when nothing in those
    /// partitions was written, added or removed in between.
    pub async fn snapshot(&self, pks: &[String]) -> BTreeMap<(String, String), String> {
        let mut out = BTreeMap::new();
        for pk in pks {
            for item in self.items(pk).await {
                let sk = match item.get("sk") {
                    Some(AttributeValue::S(s)) => s.clone(),
                    _ => String::new(),
                };
                out.insert((pk.clone(), sk), canonical(&AttributeValue::M(item)));
            }
        }
        out
    }

    /// Every item of a partition, paginated to the end.
    pub async fn items(&self, pk: &str) -> Vec<HashMap<String, AttributeValue>> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .ddb
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", AttributeValue::S(pk.into()))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .expect("query the table");
            out.extend(page.items.unwrap_or_default());
            match page.last_evaluated_key {
                Some(k) => start = Some(k),
                None => return out,
            }
        }
    }
}

/// A project owned by `owner`, with `member` as a member, role `reader` and node `input`.
pub struct Fixture {
    pub project: String,
    pub owner: String,
    pub member: String,
    pub outsider: String,
}

impl Fixture {
    pub async fn new(stack: &Stack) -> Fixture {
        let f = Fixture {
            project: unique("p"),
            owner: unique("owner-"),
            member: unique("member-"),
            outsider: unique("outsider-"),
        };
        let owner = stack.token(&f.owner);
        stack
            .post(
                "/v1/projects",
                &owner,
                json!({"id": f.project, "name": "Fixture project"}),
            )
            .await
            .expect(201);
        stack
            .put(
                &f.path(&format!("/members/{}", f.member)),
                &owner,
                json!({"email": format!("{}@example.com", f.member)}),
            )
            .await
            .expect(200);
        stack
            .put(
                &f.path("/roles/reader"),
                &owner,
                json!({"permissions": ["packages:read", "files:read"]}),
            )
            .await
            .expect(200);
        stack
            .put(&f.path("/nodes/input"), &owner, json!({"name": "Input"}))
            .await
            .expect(200);
        f
    }

    /// `/v1/projects/<project><rest>`.
    pub fn path(&self, rest: &str) -> String {
        format!("/v1/projects/{}{rest}", self.project)
    }

    /// The owner adds a new member (`<prefix><ulid>`, mail `<id>@example.com`); its id.
    pub async fn add_member(&self, stack: &Stack, prefix: &str) -> String {
        let id = unique(prefix);
        stack
            .put(
                &self.path(&format!("/members/{id}")),
                &stack.token(&self.owner),
                json!({"email": format!("{id}@example.com")}),
            )
            .await
            .expect(200);
        id
    }

    /// `user` revokes key `k`.
    pub async fn revoke(&self, stack: &Stack, user: &str, k: &str) {
        stack
            .post(
                &format!("/v1/keys/{k}/revoke"),
                &stack.token(user),
                json!({}),
            )
            .await
            .expect(200);
    }

    /// Creates a template named `name` with role `reader` and one field; returns its JSON.
    pub async fn template(&self, stack: &Stack, name: &str) -> Value {
        stack
            .post(&self.path("/templates"), &stack.token(&self.owner), json!({"name": name, "role": "reader", "fields": [{"name": "project id", "value": self.project}]}))
            .await
            .expect(201)
            .body
    }
}

/// A project of `user`'s own with these nodes: the client project of an import. Its id.
pub async fn client_project(stack: &Stack, user: &str, nodes: &[&str]) -> String {
    let c = unique("c");
    let token = stack.token(user);
    stack
        .post("/v1/projects", &token, json!({"id": c, "name": "Client"}))
        .await
        .expect(201);
    for node in nodes {
        stack
            .put(
                &format!("/v1/projects/{c}/nodes/{node}"),
                &token,
                json!({"name": node}),
            )
            .await
            .expect(200);
    }
    c
}

/// How long `usage_once_counted` keeps reading once the expected total is there: a flush that
/// counted something twice (or a late extra one) lands within it (the stack flushes every 1 s).
pub const USAGE_SETTLE: std::time::Duration = std::time::Duration::from_millis(2500);

impl Stack {
    /// `GET /v1/keys/{k}/usage` as `user`, once at least `total` calls are counted (decisions
    /// are counted in batches, `USAGE_FLUSH_SECONDS` apart: polled, up to 30 s) and
    /// `USAGE_SETTLE` later: the caller asserts exact counts on what it returns.
    pub async fn usage_once_counted(&self, k: &str, user: &str, total: u64) -> Value {
        let path = format!("/v1/keys/{k}/usage");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let usage = self.get(&path, &self.token(user)).await.expect(200).body;
            if usage["total"].as_u64().unwrap_or(0) >= total {
                break;
            }
            if std::time::Instant::now() > deadline {
                panic!("{total} calls were not counted within 30 s: {usage}");
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        tokio::time::sleep(USAGE_SETTLE).await;
        self.get(&path, &self.token(user)).await.expect(200).body
    }
}

impl Stack {
    /// Key `k`'s token, as its holder `user` reveals it.
    pub async fn reveal(&self, k: &str, user: &str) -> String {
        self.get(&format!("/v1/keys/{k}/token"), &self.token(user))
            .await
            .expect(200)
            .body["token"]
            .as_str()
            .expect("token")
            .to_string()
    }
}

/// An issued key: its id, its token and the JSON of the key.
pub struct IssuedKey {
    pub id: String,
    pub token: String,
    pub key: Value,
}

impl Fixture {
    /// The fixture's member requests a key from a new template with these info fields
    /// (`[(name, value)]`) and the owner approves it.
    pub async fn issue_key(&self, stack: &Stack, fields: &[(&str, &str)]) -> IssuedKey {
        let owner = stack.token(&self.owner);
        let fields: Vec<Value> = fields
            .iter()
            .map(|(n, v)| json!({"name": n, "value": v}))
            .collect();
        let t = stack
            .post(
                &self.path("/templates"),
                &owner,
                json!({"name": unique("Key "), "role": "reader", "fields": fields}),
            )
            .await
            .expect(201)
            .body;
        let t = t["id"].as_str().expect("template id");
        let r = self.request(stack, &self.member, t).await;
        let key = self.approve(stack, &r).await;
        let id = key["id"].as_str().expect("key id").to_string();
        let token = stack.reveal(&id, &self.member).await;
        IssuedKey { id, token, key }
    }

    /// `user` requests a key from template `t` of the fixture's project; the request's id.
    pub async fn request(&self, stack: &Stack, user: &str, t: &str) -> String {
        stack
            .post(
                &self.path(&format!("/templates/{t}/requests")),
                &stack.token(user),
                json!({}),
            )
            .await
            .expect(201)
            .body["id"]
            .as_str()
            .expect("request id")
            .to_string()
    }

    /// The owner approves request `r`; the issued key's JSON.
    pub async fn approve(&self, stack: &Stack, r: &str) -> Value {
        stack
            .post(
                &self.path(&format!("/requests/{r}/approve")),
                &stack.token(&self.owner),
                json!({}),
            )
            .await
            .expect(200)
            .body["key"]
            .clone()
    }
}

/// The repository's `events/` folder (the sample Lambda events).
pub fn events_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events")
}

/// A Secrets Manager client of the emulator.
pub async fn secrets_client() -> aws_sdk_secretsmanager::Client {
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    aws_sdk_secretsmanager::Client::new(&sdk)
}

/// The signing key set in the secret `secret_id`.
pub async fn signing_keys_in(secret_id: &str) -> keygate::token::KeySet {
    let doc = secrets_client()
        .await
        .get_secret_value()
        .secret_id(secret_id)
        .send()
        .await
        .unwrap_or_else(|e| panic!("signing keys secret {secret_id}: {e:?}"));
    keygate::token::KeySet::from_json(doc.secret_string().expect("a string")).expect("a key set")
}

/// The stack's signing key set (`SIGNING_KEYS_SECRET_ID`, else keygate's default secret).
pub async fn signing_keys() -> keygate::token::KeySet {
    signing_keys_in(&signing_keys_secret_id()).await
}

pub fn signing_keys_secret_id() -> String {
    std::env::var("SIGNING_KEYS_SECRET_ID")
        .unwrap_or_else(|_| keygate::config::DEFAULT_SIGNING_KEYS_SECRET_ID.into())
}

/// Where the stack's imports write (`SECRETS_NAMESPACE`, else keygate's default).
pub fn secrets_namespace() -> String {
    std::env::var("SECRETS_NAMESPACE")
        .unwrap_or_else(|_| keygate::config::DEFAULT_SECRETS_NAMESPACE.into())
}

/// A secret as Secrets Manager holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSecret {
    pub value: String,
    pub tags: BTreeMap<String, String>,
    pub deleted: bool,
}

/// Every secret under `<namespace>/<c>/`, by its name within the project (those scheduled for
/// deletion included, marked).
pub async fn stored_secrets(c: &str) -> BTreeMap<String, StoredSecret> {
    let sm = secrets_client().await;
    let base = format!("{}/{c}/", secrets_namespace());
    let mut out = BTreeMap::new();
    for s in &listed_secrets(&sm, &base, true).await.expect("ListSecrets") {
        let Some(name) = s.name().and_then(|n| n.strip_prefix(&base)) else {
            continue;
        };
        let mut deleted = s.deleted_date().is_some();
        let value = if deleted {
            String::new()
        } else {
            match sm
                .get_secret_value()
                .secret_id(s.name().unwrap_or_default())
                .send()
                .await
            {
                Ok(v) => v.secret_string().unwrap_or_default().to_string(),
                // Deleted between the listing and the read (imports-sync runs concurrently).
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|e| e.is_invalid_request_exception()) =>
                {
                    deleted = true;
                    String::new()
                }
                Err(e) => panic!("GetSecretValue: {e:?}"),
            }
        };
        let tags = s
            .tags()
            .iter()
            .map(|t| {
                (
                    t.key().unwrap_or_default().to_string(),
                    t.value().unwrap_or_default().to_string(),
                )
            })
            .collect();
        out.insert(
            name.to_string(),
            StoredSecret {
                value,
                tags,
                deleted,
            },
        );
    }
    out
}

pub use keygate_dev::node_secrets::listed_secrets;

/// The live (not deleted) secrets of `c`.
pub async fn live_secrets(c: &str) -> BTreeMap<String, StoredSecret> {
    stored_secrets(c)
        .await
        .into_iter()
        .filter(|(_, s)| !s.deleted)
        .collect()
}

/// `POST /v1/projects/{c}/imports` of `key` under `prefix`, as `user`.
pub async fn import(stack: &Stack, user: &str, c: &str, key: &str, prefix: &str) -> Reply {
    stack
        .post(
            &format!("/v1/projects/{c}/imports"),
            &stack.token(user),
            json!({"key_id": key, "prefix": prefix}),
        )
        .await
}

/// A mail the emulator accepted. It keeps only the HTML part of a message that has both.
#[derive(Debug, Clone)]
pub struct SentMail {
    pub from: String,
    pub to: Vec<String>,
    pub subject: String,
    pub body: String,
}

/// Every mail sent through the emulator so far (`GET /moto-api/data.json`, `.ses.Message[]`), from
/// the SES-only emulator the stack points `AWS_ENDPOINT_URL_SESV2` at (its dump stays small and
/// fast, unlike the main emulator's), else from the main one.
pub async fn sent_mail() -> Vec<SentMail> {
    let endpoint =
        std::env::var("AWS_ENDPOINT_URL_SESV2").unwrap_or_else(|_| env("AWS_ENDPOINT_URL"));
    let url = format!("{endpoint}/moto-api/data.json");
    let data: Value = reqwest::get(&url)
        .await
        .expect("the emulator answers")
        .json()
        .await
        .expect("emulator state as JSON");
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    data["ses"]["Message"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| SentMail {
            from: text(&m["source"]),
            to: m["destinations"]["ToAddresses"]
                .as_array()
                .into_iter()
                .flatten()
                .map(text)
                .collect(),
            subject: text(&m["subject"]),
            body: text(&m["body"]),
        })
        .collect()
}

/// The mails sent to `address` so far.
pub async fn mail_to(address: &str) -> Vec<SentMail> {
    sent_mail()
        .await
        .into_iter()
        .filter(|m| m.to.iter().any(|t| t == address))
        .collect()
}

/// How long `wait_for_mail` keeps watching once the expected mails are there: a duplicate the
/// stream pump delivers late (a retried batch) lands well within it.
pub const MAIL_SETTLE: std::time::Duration = std::time::Duration::from_secs(3);

/// Waits (polling, up to `timeout`) until `address` has at least `count` mails, then
/// `MAIL_SETTLE` more, and returns every mail it has by then: a test asserting "exactly one"
/// sees a duplicate that arrives a moment after the first.
pub async fn wait_for_mail(
    address: &str,
    count: usize,
    timeout: std::time::Duration,
) -> Vec<SentMail> {
    let start = std::time::Instant::now();
    let mut settled_from: Option<std::time::Instant> = None;
    loop {
        let got = mail_to(address).await;
        if got.len() >= count {
            let since = *settled_from.get_or_insert_with(std::time::Instant::now);
            if since.elapsed() >= MAIL_SETTLE {
                return got;
            }
        } else if start.elapsed() >= timeout {
            return got;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// Invokes `function` with the event in `data_file` through `cargo lambda invoke` on the running
/// `cargo lambda watch`; the response JSON (`Null` when it is not JSON) and the raw output.
pub fn lambda_invoke(function: &str, data_file: &std::path::Path) -> (Value, String) {
    let port = env("KEYGATE_INVOKE_PORT");
    let out = std::process::Command::new("cargo")
        .args([
            "lambda",
            "invoke",
            function,
            "--invoke-address",
            "127.0.0.1",
            "--invoke-port",
            &port,
            "--data-file",
        ])
        .arg(data_file)
        .output()
        .expect("cargo lambda invoke runs");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let response = serde_json::from_str(stdout.trim()).unwrap_or(Value::Null);
    (
        response,
        format!("{stdout}{}", String::from_utf8_lossy(&out.stderr)),
    )
}

/// An attribute value as text with map keys and set members sorted, so equal items print equal.
pub fn canonical(v: &AttributeValue) -> String {
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v.join(",")
    };
    match v {
        AttributeValue::M(m) => {
            let fields: BTreeMap<_, _> = m.iter().map(|(k, v)| (k, canonical(v))).collect();
            let inner: Vec<String> = fields.iter().map(|(k, v)| format!("{k}:{v}")).collect();
            format!("{{{}}}", inner.join(","))
        }
        AttributeValue::L(l) => format!(
            "[{}]",
            l.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
        AttributeValue::Ss(ss) => format!("SS({})", sorted(ss.clone())),
        AttributeValue::Ns(ns) => format!("NS({})", sorted(ns.clone())),
        other => format!("{other:?}"),
    }
}

/// What changed between two snapshots: the sort keys (with their pk) added, changed and removed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changes {
    pub added: Vec<(String, String)>,
    pub changed: Vec<(String, String)>,
    pub removed: Vec<(String, String)>,
}

impl Changes {
    pub fn between(
        before: &BTreeMap<(String, String), String>,
        after: &BTreeMap<(String, String), String>,
    ) -> Changes {
        let mut c = Changes::default();
        for (k, v) in after {
            match before.get(k) {
                None => c.added.push(k.clone()),
                Some(old) if old != v => c.changed.push(k.clone()),
                Some(_) => {}
            }
        }
        c.removed = before
            .keys()
            .filter(|k| !after.contains_key(*k))
            .cloned()
            .collect();
        c
    }

    /// The added sort keys' kinds (the part before the first `#`), sorted.
    pub fn added_kinds(&self) -> Vec<String> {
        let mut kinds: Vec<String> = self
            .added
            .iter()
            .map(|(_, sk)| sk.split('#').next().unwrap_or_default().to_string())
            .collect();
        kinds.sort();
        kinds
    }
}

/// The stack's AWS front (`AWS_ENDPOINT_URL`), where faults are armed for every service.
pub fn main_emulator() -> String {
    env("AWS_ENDPOINT_URL")
}

/// A fault armed in the stack's AWS front (scripts/aws_front.py, `/_keygate/faults`) until
/// `disarm` or drop (a failing test removes its fault too).
pub struct Fault {
    emulator: String,
    id: String,
    armed: bool,
}

impl Fault {
    pub async fn arm(emulator: &str, spec: Value) -> Fault {
        let res = reqwest::Client::new()
            .post(format!("{emulator}/_keygate/faults"))
            .json(&spec)
            .send()
            .await
            .expect("the emulator answers");
        let status = res.status();
        let body: Value = res.json().await.expect("JSON");
        assert_eq!(status, 201, "fault armed: {body}");
        Fault {
            emulator: emulator.to_string(),
            id: body["id"].as_str().expect("fault id").to_string(),
            armed: true,
        }
    }

    /// Removes it; how many requests it failed (or held).
    pub async fn disarm(mut self) -> u64 {
        let res = reqwest::Client::new()
            .delete(format!("{}/_keygate/faults/{}", self.emulator, self.id))
            .send()
            .await
            .expect("the emulator answers");
        self.armed = false;
        let body: Value = res.json().await.expect("JSON");
        body["injected"].as_u64().expect("injected count")
    }
}

impl Drop for Fault {
    /// A plain blocking DELETE over loopback: no runtime is needed in a drop.
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let host = self.emulator.trim_start_matches("http://").to_string();
        if let Ok(mut s) = std::net::TcpStream::connect(&host) {
            let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(5)));
            let _ = std::io::Write::write_fmt(
                &mut s,
                format_args!(
                    "DELETE /_keygate/faults/{} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    self.id
                ),
            );
            let _ = std::io::Read::read_to_end(&mut s, &mut Vec::new());
        }
    }
}

impl Stack {
    /// Runs a scheduler job (`digest`, `reminders`, …) as of `now` (RFC 3339) through
    /// `cargo lambda watch`'s invoke API; the function's answer (the job's report).
    pub async fn run_job(&self, job: &str, now: &str) -> Value {
        let port = env("KEYGATE_INVOKE_PORT");
        let res = self
            .http
            .post(format!(
                "http://127.0.0.1:{port}/2015-03-31/functions/scheduler/invocations"
            ))
            .json(&json!({"job": job, "now": now}))
            .send()
            .await
            .expect("the scheduler answers");
        let status = res.status();
        let body: Value = res.json().await.expect("a JSON answer");
        assert!(status.is_success(), "{job} at {now}: {status} {body}");
        body
    }
}

/// A time as RFC 3339 (what the scheduler's `now` takes).
pub fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .expect("RFC 3339")
}

/// One HTTP/1.1 request read from a loopback test server's connection (the fake Lambda Runtime
/// APIs of the runtime tests): `(method, path, body)`, the body read to its `Content-Length` (so
/// that closing the connection does not reset it under an answer the client has yet to read).
/// `None` when the connection ends before a request line.
pub fn read_request(stream: &std::net::TcpStream) -> Option<(String, String, Vec<u8>)> {
    use std::io::{BufRead, Read};
    let mut reader = std::io::BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut header = String::new();
    let mut length = 0;
    while reader.read_line(&mut header).is_ok_and(|n| n > 0) && header != "\r\n" {
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
        header.clear();
    }
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next().unwrap_or("").to_string();
    Some((method, path, body))
}

impl Stack {
    /// Key `k`'s calls as the table holds them: the `total` of every usage item (every writer's)
    /// whose sort key starts with `sk_prefix` (`USAGE#` for all days, `USAGE#<day>#` for one).
    pub async fn counted_in_table(&self, k: &str, sk_prefix: &str) -> u64 {
        self.items(&format!("KEY#{k}"))
            .await
            .iter()
            .filter(|i| {
                i.get("sk")
                    .and_then(|s| s.as_s().ok())
                    .is_some_and(|s| s.starts_with(sk_prefix))
            })
            .filter_map(|i| i.get("total").and_then(|v| v.as_n().ok()))
            .map(|n| n.parse::<u64>().expect("a count"))
            .sum()
    }
}
