//! Evidence for docs/security.md that no other test gives: a copy of the table (a stolen dump)
//! holds no API key and nothing a key could be rebuilt from, and the mails of a key's life
//! carry no token; a revealed token is never cached and every reveal is in the project's audit
//! trail (no token without its entry); every response says `X-Content-Type-Options: nosniff`.

use aws_sdk_dynamodb::types::AttributeValue;
use keygate_e2e::{Fault, Fixture, Stack, client_project, import, wait_for_mail};
use serde_json::{Value, json};

/// Every string inside an attribute value, nested ones included.
fn strings(v: &AttributeValue, out: &mut Vec<String>) {
    match v {
        AttributeValue::S(s) => out.push(s.clone()),
        AttributeValue::Ss(ss) => out.extend(ss.iter().cloned()),
        AttributeValue::L(l) => l.iter().for_each(|x| strings(x, out)),
        AttributeValue::M(m) => m.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

#[tokio::test]
async fn a_dump_of_the_table_and_the_mails_hold_no_token() {
    let stack = Stack::new().await;
    let f = Fixture::new(&stack).await;
    let key = f.issue_key(&stack, &[("Project", "p")]).await;
    let member = stack.token(&f.member);
    // Imported (the token goes to Secrets Manager) and rolled (a second token minted).
    let c = client_project(&stack, &f.member, &[]).await;
    import(&stack, &f.member, &c, &key.id, "wx")
        .await
        .expect(201);
    let rolled = stack
        .post(&format!("/v1/keys/{}/roll", key.id), &member, json!({}))
        .await
        .expect(201)
        .body;
    let new_id = rolled["id"].as_str().expect("new key id");
    let new_token = stack.reveal(new_id, &f.member).await;

    // The whole table, page by page, as a thief would copy it.
    let mut texts = Vec::new();
    let mut start = None;
    loop {
        let page = stack
            .ddb
            .scan()
            .table_name(&stack.table)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("Scan");
        for item in page.items() {
            item.values().for_each(|v| strings(v, &mut texts));
        }
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            break;
        }
    }
    assert!(
        texts.iter().any(|t| t.contains(&key.id)),
        "the scan saw the key's record"
    );
    let signature = |t: &str| t.rsplit('.').next().unwrap_or_default().to_string();
    for token in [&key.token, &new_token] {
        assert!(
            !texts
                .iter()
                .any(|t| t.contains(token.as_str()) || t.contains(&signature(token))),
            "a token or its signature is in the table"
        );
    }
    assert!(
        !texts
            .iter()
            .any(|t| t.contains("eyJ") && t.matches('.').count() >= 2),
        "something JWT-shaped is in the table"
    );
    assert!(
        !texts
            .iter()
            .any(|t| t.contains("PRIVATE") || t.contains("\"d\":")),
        "no signing key material in the table"
    );

    let mails = wait_for_mail(
        &format!("{}@example.com", f.member),
        1,
        std::time::Duration::from_secs(30),
    )
    .await;
    assert!(!mails.is_empty(), "the approval mail went out");
    for m in mails {
        assert!(
            !m.body.contains("eyJ") && !m.subject.contains("eyJ"),
            "no token in a mail: {}",
            m.subject
        );
    }
}

/// Status, headers and body of a response, whatever its type.
struct Raw {
    status: u16,
    headers: reqwest::header::HeaderMap,
    text: String,
}

impl Raw {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }
}

async fn raw(req: reqwest::RequestBuilder) -> Raw {
    let res = req.send().await.expect("request reaches the local stack");
    Raw {
        status: res.status().as_u16(),
        headers: res.headers().clone(),
        text: res.text().await.expect("body"),
    }
}

/// `user`'s `GET /v1/keys/{k}/token`, headers and all.
async fn reveal(stack: &Stack, k: &str, user: &str) -> Raw {
    raw(stack
        .http
        .get(format!("{}/v1/keys/{k}/token", stack.url))
        .bearer_auth(stack.token(user)))
    .await
}

/// The `key.revealed` entries of key `k` in the fixture's audit trail, as its owner reads it.
async fn reveals(stack: &Stack, f: &Fixture, k: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let path = match &next {
            Some(c) => f.path(&format!("/audit?page_size=100&cursor={c}")),
            None => f.path("/audit?page_size=100"),
        };
        let page = stack
            .get(&path, &stack.token(&f.owner))
            .await
            .expect(200)
            .body;
        out.extend(
            page["items"]
                .as_array()
                .expect("items")
                .iter()
                .filter(|e| e["action"] == "key.revealed" && e["key_id"] == k)
                .cloned(),
        );
        match page["next"].as_str() {
            Some(c) => next = Some(c.to_string()),
            None => return out,
        }
    }
}

#[tokio::test]
async fn a_revealed_token_is_never_cached_and_every_reveal_is_audited() {
    let stack = Stack::new().await;
    let f = Fixture::new(&stack).await;
    // Issuing reveals the token once (the fixture's holder reads it).
    let key = f.issue_key(&stack, &[("Project", "p")]).await;
    assert_eq!(
        reveals(&stack, &f, &key.id).await.len(),
        1,
        "the first reveal"
    );

    let res = reveal(&stack, &key.id, &f.member).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.header("cache-control"), Some("no-store"));
    assert_eq!(res.json()["token"], key.token.as_str());

    // Refused reveals reveal nothing and leave no entry: the owner, an outsider.
    stack
        .get(
            &format!("/v1/keys/{}/token", key.id),
            &stack.token(&f.owner),
        )
        .await
        .expect(403);
    stack
        .get(
            &format!("/v1/keys/{}/token", key.id),
            &stack.token(&f.outsider),
        )
        .await
        .expect(404);

    let entries = reveals(&stack, &f, &key.id).await;
    assert_eq!(entries.len(), 2, "one entry per reveal: {entries:?}");
    for e in &entries {
        assert_eq!(e["project_id"], f.project.as_str());
        assert_eq!(e["actor"]["id"], f.member.as_str());
        assert_eq!(e["target"], json!({"type": "key", "id": key.id}));
        assert_eq!(e["request_id"], key.key["request_id"]);
        assert!(!e.to_string().contains("eyJ"), "no token in the entry: {e}");
    }

    // A revoked key's token is not revealed, and that is no reveal either.
    f.revoke(&stack, &f.member, &key.id).await;
    stack
        .get(
            &format!("/v1/keys/{}/token", key.id),
            &stack.token(&f.member),
        )
        .await
        .expect(409);
    assert_eq!(reveals(&stack, &f, &key.id).await.len(), 2);
}

#[tokio::test]
async fn no_token_is_revealed_without_its_audit_entry() {
    let stack = Stack::new().await;
    let f = Fixture::new(&stack).await;
    let key = f.issue_key(&stack, &[("Project", "p")]).await;
    assert_eq!(reveals(&stack, &f, &key.id).await.len(), 1);

    // The table refuses the reveal's audit entry (the only PutItem naming this key), on every
    // attempt the SDK makes.
    let fault = Fault::arm(
        &keygate_e2e::main_emulator(),
        json!({
            "match": {"target": "DynamoDB_20120810.PutItem", "body_contains": key.id},
            "times": 1000, "status": 400, "code": "ProvisionedThroughputExceededException",
            "message": "The level of configured provisioned throughput for the table was exceeded."
        }),
    )
    .await;
    let refused = reveal(&stack, &key.id, &f.member).await;
    assert!(fault.disarm().await >= 1, "the audit write was attempted");
    assert_eq!(refused.status, 503, "{}", refused.text);
    assert_eq!(
        refused.header("content-type"),
        Some("application/problem+json")
    );
    assert_eq!(
        refused.header("retry-after"),
        Some(keygate::http::RETRY_AFTER_SECONDS)
    );
    assert!(
        refused.json().get("token").is_none()
            && !refused.text.contains(&key.token)
            && !refused.text.contains("eyJ"),
        "no token without its audit entry: {}",
        refused.text
    );
    assert_eq!(
        reveals(&stack, &f, &key.id).await.len(),
        1,
        "nothing revealed, nothing audited"
    );

    // The table back, the holder's retry reveals it, audited.
    let again = reveal(&stack, &key.id, &f.member).await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.json()["token"], key.token.as_str());
    assert_eq!(reveals(&stack, &f, &key.id).await.len(), 2);
}

#[tokio::test]
async fn every_kind_of_response_says_nosniff() {
    let stack = Stack::new().await;
    let f = Fixture::new(&stack).await;
    let key = f.issue_key(&stack, &[("Project", "p")]).await;
    let owner = stack.token(&f.owner);
    let url = |path: &str| format!("{}{path}", stack.url);
    let http = &stack.http;
    let decide = json!({"token": key.token, "method": "GET",
        "path": format!("/projects/{}/nodes/input/packages/1/files/f1", f.project)});
    let cases: Vec<(&str, reqwest::RequestBuilder, u16)> = vec![
        (
            "a JSON 200",
            http.get(url(&f.path(""))).bearer_auth(&owner),
            200,
        ),
        (
            "a JSON 201",
            http.post(url("/v1/projects"))
                .bearer_auth(&owner)
                .json(&json!({"name": "Sniffed"})),
            201,
        ),
        ("a 401 problem", http.get(url(&f.path(""))), 401),
        (
            "a 404 problem",
            http.get(url(&f.path("")))
                .bearer_auth(stack.token(&f.outsider)),
            404,
        ),
        (
            "a 405 problem",
            http.delete(url(&f.path(""))).bearer_auth(&owner),
            405,
        ),
        (
            "a 400 problem",
            http.post(url(&f.path("/templates")))
                .bearer_auth(&owner)
                .json(&json!({})),
            400,
        ),
        (
            "the reveal",
            http.get(url(&format!("/v1/keys/{}/token", key.id)))
                .bearer_auth(stack.token(&f.member)),
            200,
        ),
        ("a console page", http.get(url("/")), 200),
        (
            "a console asset",
            http.get(url("/console/assets/app.js")),
            200,
        ),
        ("the console's 404", http.get(url("/console.php")), 404),
        ("the JWKS", http.get(url("/.well-known/jwks.json")), 200),
        (
            "a decision",
            http.post(url("/v1/verify")).json(&decide),
            200,
        ),
        (
            "a refused verify body",
            http.post(url("/v1/verify")).json(&json!({})),
            400,
        ),
        (
            "introspection",
            http.get(url("/v1/token")).bearer_auth(&key.token),
            200,
        ),
        (
            "introspection without a key",
            http.get(url("/v1/token")),
            401,
        ),
    ];
    for (what, req, status) in cases {
        let res = raw(req).await;
        assert_eq!(res.status, status, "{what}: {}", res.text);
        assert_eq!(
            res.header("x-content-type-options"),
            Some("nosniff"),
            "{what}"
        );
    }
}
