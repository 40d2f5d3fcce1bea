//! Public keys published in the table, against the emulator: the functions that only verify
//! (verify, authorizer) read the API-key keys' public half there and never the secret; a signer
//! whose secret holds a key that is not published signs nothing; console users' tokens verify
//! against the issuer keys published there.
//!
//! Each test leaves the published documents as it found them (other tests' keys stay published
//! throughout: it only ever adds a key, then takes its own away).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use keygate::Error;
use keygate::config::{JwksSource, UserTokenConfig};
use keygate::identity::Authenticator;
use keygate::store::{Store, jwks};
use keygate::token::{Claims, KeySet, Signer, TokenError, Verifier};
use lambda_http::http::{HeaderMap, HeaderValue, header};
use serde_json::Value;

async fn env() -> (aws_config::SdkConfig, Store) {
    let table = std::env::var("TABLE_NAME").expect("TABLE_NAME: run with `make test`");
    let sdk = keygate::adapters::aws::aws_config().await;
    let store = Store::new(&sdk, table);
    (sdk, store)
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The document published under `name` (`keygate-dev setup` publishes both).
async fn published(store: &Store, name: &str) -> String {
    store
        .published_jwks(name)
        .await
        .expect("read")
        .unwrap_or_else(|| panic!("nothing published as {name}: `keygate-dev setup` does"))
}

/// What a fresh verifier (nothing cached) makes of an API key.
async fn verified(store: &Store, token: &str, kid: &str) -> Result<Claims, TokenError> {
    Verifier::new(store.clone(), Duration::from_secs(300))
        .keys(Some(kid))
        .await
        .expect("published keys")
        .verify_signed(token, "keygate")
}

/// `doc` with `extra`'s keys added.
fn with_keys(doc: &str, extra: &Value) -> String {
    let mut doc: Value = serde_json::from_str(doc).expect("published JWKS");
    let keys = doc["keys"].as_array_mut().expect("keys");
    keys.extend(extra["keys"].as_array().expect("keys").iter().cloned());
    doc.to_string()
}

fn claims() -> Claims {
    Claims {
        iss: "keygate".into(),
        aud: "platform-api:p".into(),
        sub: "bob".into(),
        jti: "k".into(),
        role: "reader".into(),
        iat: now(),
        nbf: None,
        exp: None,
    }
}

#[tokio::test]
async fn a_key_signs_and_verifies_only_once_it_is_published() {
    let (sdk, store) = env().await;
    let original = published(&store, jwks::API_KEYS).await;

    // A key set of its own in a secret of its own.
    let set = KeySet::generate().expect("set");
    let kid = set.active_kid().to_string();
    let secret_id = format!("keygate-test/signing-keys-{kid}");
    let sm = aws_sdk_secretsmanager::Client::new(&sdk);
    sm.create_secret()
        .name(&secret_id)
        .secret_string(set.to_json())
        .send()
        .await
        .expect("secret");
    // One set of claims, signed and later compared (built twice, `iat` could differ by a second).
    let signed = claims();
    let token = set.sign(&signed).expect("sign");
    let ttl = Duration::from_secs(300);

    // Not published: the signer refuses, naming the key and the fix; verifying does not know it.
    match Signer::new(&sdk, store.clone(), secret_id.clone(), ttl)
        .keys(None)
        .await
    {
        Err(Error::Unavailable(why)) => {
            assert!(
                why.contains(&kid) && why.contains("signing-keys publish"),
                "{why}"
            )
        }
        other => panic!("an unpublished key must not sign: {other:?}"),
    }
    assert_eq!(
        verified(&store, token.expose(), &kid).await,
        Err(TokenError::UnknownKey)
    );

    // Published (beside the keys already there): both work.
    store
        .publish_jwks(
            jwks::API_KEYS,
            &with_keys(&original, &serde_json::json!(set.jwks())),
        )
        .await
        .expect("publish");
    let signer = Signer::new(&sdk, store.clone(), secret_id.clone(), ttl);
    assert_eq!(signer.keys(None).await.expect("signs").active_kid(), kid);
    assert_eq!(verified(&store, token.expose(), &kid).await, Ok(signed));

    // Unpublished again: a fresh verifier refuses it; the keys that were there still verify.
    store
        .publish_jwks(jwks::API_KEYS, &original)
        .await
        .expect("restore");
    assert_eq!(
        verified(&store, token.expose(), &kid).await,
        Err(TokenError::UnknownKey)
    );
    let _ = sm
        .delete_secret()
        .secret_id(&secret_id)
        .force_delete_without_recovery(true)
        .send()
        .await;
}

#[tokio::test]
async fn console_users_verify_against_the_issuer_keys_published_in_the_table() {
    let (_, store) = env().await;
    let original = published(&store, jwks::USERS).await;

    // An issuer key of its own.
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).expect("key");
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("pair");
    let kid = format!("published-keys-test-{}", now());
    let jwk = serde_json::json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA",
        "kid": kid, "x": URL_SAFE_NO_PAD.encode(pair.public_key().as_ref())}]});
    let mut head = Header::new(Algorithm::EdDSA);
    head.kid = Some(kid.clone());
    let claims = serde_json::json!({"iss": "https://id.test", "aud": "console", "sub": "carol",
        "email": "carol@example.com", "exp": now() + 600});
    let token = jsonwebtoken::encode(&head, &claims, &EncodingKey::from_ed_der(pkcs8.as_ref()))
        .expect("token");
    let mut headers = HeaderMap::new();
    headers.insert(
        header::AUTHORIZATION,
        HeaderValue::from_str(&format!("Bearer {token}")).expect("header"),
    );
    let auth = || {
        let config = UserTokenConfig {
            issuer: "https://id.test".into(),
            audience: "console".into(),
            jwks: JwksSource::Table,
            jwks_ttl: Duration::from_secs(300),
            projects_claim: None,
        };
        Authenticator::new(config, store.clone()).expect("authenticator")
    };

    assert!(matches!(
        auth().caller(&headers).await,
        Err(Error::Unauthenticated(_))
    ));
    store
        .publish_jwks(jwks::USERS, &with_keys(&original, &jwk))
        .await
        .expect("publish");
    let caller = auth().caller(&headers).await.expect("verified");
    assert_eq!(caller.id.to_string(), "carol");
    store
        .publish_jwks(jwks::USERS, &original)
        .await
        .expect("restore");
    assert!(matches!(
        auth().caller(&headers).await,
        Err(Error::Unauthenticated(_))
    ));
}
