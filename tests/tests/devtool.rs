//! `keygate-dev`'s key commands against the emulator, as an operator runs them against a
//! deployed stack: the signing key secret and its published public half stay in step through
//! init, publish, rotate and retire; the users' issuer JWKS is checked before it is published.
//! A table and a secret of their own, so the stack's published keys are never touched.

use std::path::PathBuf;
use std::process::Command;

use keygate::Error;
use keygate::store::{Store, jwks};
use keygate::token::{KeySet, PublicKeys, Verifier};
use keygate_e2e::{signing_keys_in, unique};

fn devtool() -> PathBuf {
    // target/debug/deps/<this test> -> target/debug/keygate-dev
    let exe = std::env::current_exe().expect("the test's path");
    exe.parent()
        .and_then(|deps| deps.parent())
        .expect("target/debug")
        .join("keygate-dev")
}

/// Runs `keygate-dev args` with the secret and, when given, the table; its stdout, or its
/// stderr when it fails.
fn run(args: &[&str], secret: &str, table: Option<&str>) -> Result<String, String> {
    let mut cmd = Command::new(devtool());
    cmd.args(args).env("SIGNING_KEYS_SECRET_ID", secret);
    match table {
        Some(t) => cmd.env("TABLE_NAME", t),
        None => cmd.env_remove("TABLE_NAME"),
    };
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("keygate-dev: {e} (built by `cargo build --workspace`?)"));
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    if out.status.success() {
        Ok(text(&out.stdout))
    } else {
        Err(text(&out.stderr))
    }
}

async fn secret_kids(secret: &str) -> Vec<String> {
    let set = signing_keys_in(secret).await;
    set.kids().into_iter().map(str::to_string).collect()
}

async fn published_kids(store: &Store) -> Option<Vec<String>> {
    let doc = store.published_jwks(jwks::API_KEYS).await.expect("read")?;
    let keys = PublicKeys::from_jwks(&doc).expect("a valid published document");
    Some(keys.kids().into_iter().map(str::to_string).collect())
}

#[tokio::test]
async fn the_key_commands_keep_the_published_keys_in_step_with_the_secret() {
    let sdk = keygate::config::aws_config().await;
    let id = unique("devtool-");
    let table = format!("keygate-{id}");
    keygate_dev::setup::create_table(&sdk, &table)
        .await
        .expect("a table of its own");
    let store = Store::new(&sdk, table.clone());
    let sm = aws_sdk_secretsmanager::Client::new(&sdk);
    let secret = format!("keygate-test/{id}");
    let t = Some(table.as_str());

    // Nothing published yet: whatever needs the keys fails closed, naming the command.
    let ttl = std::time::Duration::from_secs(300);
    match Verifier::new(store.clone(), ttl).keys(None).await {
        Err(Error::Unavailable(why)) => assert!(why.contains("signing-keys publish"), "{why}"),
        other => panic!("no published keys must be a 503: {other:?}"),
    }
    match store.required_jwks(jwks::USERS).await {
        Err(Error::Unavailable(why)) => assert!(why.contains("user-jwks publish"), "{why}"),
        other => panic!("no published issuer keys must be a 503: {other:?}"),
    }

    // Before the first deploy there is no table: init makes the secret and says what is left.
    let said = run(&["signing-keys", "init"], &secret, None).expect("init");
    assert!(said.contains("signing-keys publish"), "{said}");
    assert_eq!(published_kids(&store).await, None);
    let first = secret_kids(&secret).await;
    assert_eq!(first.len(), 1);

    run(&["signing-keys", "publish"], &secret, t).expect("publish");
    assert_eq!(published_kids(&store).await, Some(first.clone()));

    run(&["signing-keys", "rotate"], &secret, t).expect("rotate");
    let rotated = secret_kids(&secret).await;
    assert_eq!(rotated.len(), 2);
    assert_eq!(published_kids(&store).await, Some(rotated.clone()));

    let err = run(&["signing-keys", "retire", &rotated[1]], &secret, t).expect_err("active");
    assert!(err.contains("rotate first"), "{err}");
    run(&["signing-keys", "retire", &first[0]], &secret, t).expect("retire");
    let left = secret_kids(&secret).await;
    assert_eq!(left, vec![rotated[1].clone()]);
    assert_eq!(published_kids(&store).await, Some(left));

    // Rotating and retiring need the table: nothing changes without it.
    let err = run(&["signing-keys", "rotate"], &secret, None).expect_err("no table");
    assert!(err.contains("TABLE_NAME"), "{err}");
    assert_eq!(secret_kids(&secret).await, vec![rotated[1].clone()]);

    // The users' issuer JWKS: an unusable document is refused before it is live.
    let dir = std::env::temp_dir().join(&id);
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let bad = dir.join("bad.json");
    std::fs::write(&bad, r#"{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}"#).expect("write");
    let bad = bad.to_string_lossy().into_owned();
    assert!(run(&["user-jwks", "publish", &bad], &secret, t).is_err());
    assert_eq!(store.published_jwks(jwks::USERS).await.expect("read"), None);
    let good = dir.join("good.json");
    let doc = KeySet::generate().expect("a key").jwks().to_string();
    std::fs::write(&good, &doc).expect("write");
    let good = good.to_string_lossy().into_owned();
    run(&["user-jwks", "publish", &good], &secret, t).expect("publish");
    assert_eq!(
        store.published_jwks(jwks::USERS).await.expect("read"),
        Some(doc)
    );

    let _ = std::fs::remove_dir_all(&dir);
    let _ = sm
        .delete_secret()
        .secret_id(&secret)
        .force_delete_without_recovery(true)
        .send()
        .await;
    let _ = aws_sdk_dynamodb::Client::new(&sdk)
        .delete_table()
        .table_name(&table)
        .send()
        .await;
}
