//! `keygate-run-tokens`: every API key token a local stack's run minted, one a line on stdout,
//! for `scripts/check-logs.sh` to look for in the run's logs (run while the stack is still up).
//!
//! Tokens are never stored: a reveal or an import re-mints a key's token from its record
//! (`KEY#k` / `META`: the claims as first signed and the `kid` that signed them; EdDSA is
//! deterministic), and key records are never deleted. So every token the run's functions handed
//! out is re-minted here the same way, from a Scan of the table (a test tool's Scan; keygate itself
//! never scans) and the stack's signing key set: keys revealed by the tests, the browser tests and
//! schemathesis alike, imported, rolled or never revealed at all. As a check that the re-minting
//! gives the very tokens the functions gave, every imported token in the emulator's Secrets
//! Manager (`<namespace>/<project>/<prefix>_token`, tagged `keygate:field` = `token`, JWT-shaped)
//! must be one of them.
//!
//! Fails (exit 1, naming keys and secrets, never a token) when a key cannot be re-minted (its
//! signing key is gone from the set), when an imported token is not among the re-minted ones, or
//! when the table holds no key or the emulator no imported token (`make test` makes both: with
//! none, there would be nothing to look for and nothing to check the re-minting against).
//! Environment: the local stack's (`make test` exports it).

use std::collections::BTreeSet;

use aws_sdk_dynamodb::types::AttributeValue;
use futures::future::join_all;
use keygate::model::ids::KeyId;
use keygate::store::Store;
use keygate_e2e::{listed_secrets, secrets_client, secrets_namespace, signing_keys};

/// Key records read at the same time.
const READ_CONCURRENCY: usize = 16;

#[tokio::main]
async fn main() {
    match run().await {
        Ok(tokens) => {
            let mut out = String::new();
            for t in &tokens {
                out.push_str(t);
                out.push('\n');
            }
            print!("{out}");
        }
        Err(e) => {
            eprintln!("keygate-run-tokens: {e}");
            std::process::exit(1);
        }
    }
}

async fn run() -> Result<BTreeSet<String>, String> {
    let table = std::env::var("TABLE_NAME").map_err(|_| "TABLE_NAME is not set")?;
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    let ids = key_ids(&ddb, &table).await?;
    if ids.is_empty() {
        return Err(format!("no key record (KEY#k / META) in table {table}"));
    }
    // The functions' own read of a key record, and the stack's signing key set.
    let store = Store::with_client(ddb, &table);
    let keys = signing_keys().await;
    let mut tokens = BTreeSet::new();
    let mut failed = Vec::new();
    for chunk in ids.chunks(READ_CONCURRENCY) {
        let reads = join_all(chunk.iter().map(|k| store.get_key(k))).await;
        for (k, read) in chunk.iter().zip(reads) {
            match read {
                Ok(Some(key)) => match keys.sign_as(&key.kid, &key.claims()) {
                    Ok(t) => {
                        tokens.insert(t.expose().to_string());
                    }
                    Err(e) => failed.push(format!("key {k}: {e}")),
                },
                Ok(None) => failed.push(format!("key {k}: its record is gone")),
                Err(e) => failed.push(format!("key {k}: {e}")),
            }
        }
    }
    if !failed.is_empty() {
        return Err(format!(
            "{} of {} keys cannot be re-minted, so their tokens cannot be looked for:\n  {}",
            failed.len(),
            ids.len(),
            failed.join("\n  ")
        ));
    }
    // Only the JWT-shaped values: the library's own tests write plain values through the vault
    // under the same tags (shared/tests/imports.rs).
    let imported: Vec<(String, String)> = imported_tokens()
        .await?
        .into_iter()
        .filter(|(_, v)| jwt_shaped(v))
        .collect();
    if imported.is_empty() {
        return Err(format!(
            "no imported token under {}/ to check the re-minted tokens against",
            secrets_namespace()
        ));
    }
    let strays: Vec<&String> = imported
        .iter()
        .filter(|(_, v)| !tokens.contains(v))
        .map(|(name, _)| name)
        .collect();
    if !strays.is_empty() {
        return Err(format!(
            "{} of {} imported tokens are no key's re-minted token (is re-minting not what the \
             functions minted?): {strays:?}",
            strays.len(),
            imported.len()
        ));
    }
    eprintln!(
        "keygate-run-tokens: {} API keys re-minted from {table}; the {} imported tokens are among them",
        tokens.len(),
        imported.len()
    );
    Ok(tokens)
}

/// Three dot-separated base64url parts, the first two JSON objects (`eyJ`).
fn jwt_shaped(v: &str) -> bool {
    let parts: Vec<&str> = v.split('.').collect();
    parts.len() == 3
        && parts[..2].iter().all(|p| p.starts_with("eyJ"))
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// The id of every key record in the table (a paginated Scan).
async fn key_ids(ddb: &aws_sdk_dynamodb::Client, table: &str) -> Result<Vec<KeyId>, String> {
    let mut ids = Vec::new();
    let mut start = None;
    loop {
        let page = ddb
            .scan()
            .table_name(table)
            .filter_expression("begins_with(pk, :key) AND sk = :meta")
            .projection_expression("pk")
            .expression_attribute_values(":key", AttributeValue::S("KEY#".into()))
            .expression_attribute_values(":meta", AttributeValue::S("META".into()))
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| format!("Scan {table}: {e:?}"))?;
        for item in page.items() {
            let pk = match item.get("pk") {
                Some(AttributeValue::S(s)) => s.as_str(),
                _ => return Err(format!("a key record without a pk: {item:?}")),
            };
            let id = pk.strip_prefix("KEY#").unwrap_or(pk);
            ids.push(KeyId::parse("pk", id).map_err(|e| format!("{pk}: {}", e.message))?);
        }
        match page.last_evaluated_key {
            Some(k) => start = Some(k),
            None => return Ok(ids),
        }
    }
}

/// Every live secret under `<namespace>/` that an import wrote a token to (tagged
/// `keygate:field` = `token`; the name alone could be a field's: prefix `a`, field `b token`):
/// (name, value).
async fn imported_tokens() -> Result<Vec<(String, String)>, String> {
    let sm = secrets_client().await;
    let base = format!("{}/", secrets_namespace());
    let mut names = Vec::new();
    for s in listed_secrets(&sm, &base, false).await? {
        let name = s.name().unwrap_or_default();
        let token = s
            .tags()
            .iter()
            .any(|t| t.key() == Some("keygate:field") && t.value() == Some("token"));
        if name.starts_with(&base) && token && s.deleted_date().is_none() {
            names.push(name.to_string());
        }
    }
    let mut out = Vec::new();
    for chunk in names.chunks(READ_CONCURRENCY) {
        let reads = join_all(
            chunk
                .iter()
                .map(|n| sm.get_secret_value().secret_id(n).send()),
        )
        .await;
        for (name, read) in chunk.iter().zip(reads) {
            match read {
                Ok(v) => out.push((name.clone(), v.secret_string().unwrap_or_default().into())),
                // Deleted between the listing and the read (imports-sync runs concurrently).
                Err(e)
                    if e.as_service_error().is_some_and(|e| {
                        e.is_invalid_request_exception() || e.is_resource_not_found_exception()
                    }) => {}
                Err(e) => return Err(format!("GetSecretValue {name}: {e:?}")),
            }
        }
    }
    Ok(out)
}
