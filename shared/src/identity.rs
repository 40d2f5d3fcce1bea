//! Who is calling: the console user's `Authorization: Bearer <JWT>` verified against the configured
//! issuer's public keys (a JWKS, inline or published in the table, cached per container).
//! RFC 8725: the algorithm comes from our key, never from the token; symmetric keys and `none` are
//! refused; `kid` is only a lookup into our own set; `jku`/`x5u` are ignored; an API key (its own
//! `typ`, issuer and audience) is never accepted here.

use std::sync::Arc;

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header, errors::ErrorKind};
use lambda_http::http::HeaderMap;
use serde::Deserialize;

use crate::config::{JwksSource, UserTokenConfig};
use crate::error::{Error, Result};
use crate::keycache::{KeyCache, Kids};
use crate::model::ids::{Email, UserId};
use crate::model::locale::Locale;
use crate::store::{Store, jwks};
use crate::token::{API_KEY_TOKEN_TYPE, LEEWAY_SECONDS};

pub use crate::model::caller::Caller;

struct VerifyingKey {
    kid: Option<String>,
    alg: Algorithm,
    key: DecodingKey,
}

/// The issuer's usable public keys.
pub struct KeySet {
    keys: Vec<VerifyingKey>,
}

impl KeySet {
    /// Parses a JWKS document. Keys of unusable kinds (symmetric, unknown curves) are skipped, so
    /// they can never verify anything; a set with no usable key is an error.
    pub fn from_jwks(doc: &str) -> std::result::Result<Self, String> {
        let set: JwkSet =
            serde_json::from_str(doc).map_err(|e| format!("not a JWKS document: {e}"))?;
        let mut keys = Vec::new();
        for jwk in &set.keys {
            let alg = match &jwk.algorithm {
                AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => {
                    Algorithm::EdDSA
                }
                AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P256 => {
                    Algorithm::ES256
                }
                AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P384 => {
                    Algorithm::ES384
                }
                AlgorithmParameters::RSA(_) => {
                    match jwk.common.key_algorithm.map(|a| a.to_string()).as_deref() {
                        Some("RS384") => Algorithm::RS384,
                        Some("RS512") => Algorithm::RS512,
                        Some("PS256") => Algorithm::PS256,
                        _ => Algorithm::RS256,
                    }
                }
                _ => continue,
            };
            let key = DecodingKey::from_jwk(jwk).map_err(|e| format!("unusable JWK: {e}"))?;
            keys.push(VerifyingKey {
                kid: jwk.common.key_id.clone(),
                alg,
                key,
            });
        }
        if keys.is_empty() {
            return Err("the JWKS has no usable public key (EdDSA, ES256/384 or RSA)".into());
        }
        Ok(KeySet { keys })
    }

    /// The key a token names: by `kid`, or the only key when the token names none.
    fn find(&self, kid: Option<&str>) -> Option<&VerifyingKey> {
        match kid {
            Some(kid) => self.keys.iter().find(|k| k.kid.as_deref() == Some(kid)),
            None if self.keys.len() == 1 => self.keys.first(),
            None => None,
        }
    }
}

impl Kids for KeySet {
    fn knows(&self, kid: &str) -> bool {
        self.find(Some(kid)).is_some()
    }
}

/// Verifies console-user tokens. Built once per container.
pub struct Authenticator {
    config: UserTokenConfig,
    /// `USER_JWKS`, parsed at start-up.
    inline: Option<Arc<KeySet>>,
    /// Otherwise the table's published JWKS, read through this cache.
    store: Store,
    cache: KeyCache<KeySet>,
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    email: Option<String>,
    /// Every other claim: the configured projects claim is looked up here.
    #[serde(flatten)]
    other: serde_json::Map<String, serde_json::Value>,
}

/// The project ids a projects claim lists: a JSON array of strings, or one string of ids
/// separated by spaces or commas (identity providers that can only emit string claims, such as
/// Cognito's custom attributes). `None` when the claim has another shape.
fn claimed_projects(value: &serde_json::Value) -> Option<Vec<String>> {
    match value {
        serde_json::Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect(),
        serde_json::Value::String(s) => Some(
            s.split(|c: char| c == ',' || c.is_whitespace())
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect(),
        ),
        _ => None,
    }
}

fn unauthenticated(why: &str) -> Error {
    Error::Unauthenticated(why.to_string())
}

/// The bearer token of a request (the one rule: `crate::bearer`); 401 when there is none.
pub fn bearer(headers: &HeaderMap) -> Result<&str> {
    crate::bearer::from_headers(headers).map_err(|e| unauthenticated(e.message()))
}

impl Authenticator {
    /// Fails at start-up when an inline JWKS is unusable.
    pub fn new(config: UserTokenConfig, store: Store) -> std::result::Result<Self, String> {
        let inline = match &config.jwks {
            JwksSource::Inline(doc) => Some(Arc::new(KeySet::from_jwks(doc)?)),
            JwksSource::Table => None,
        };
        Ok(Authenticator {
            cache: KeyCache::new(config.jwks_ttl),
            config,
            inline,
            store,
        })
    }

    /// The current key set: the inline one, or the published one (read lazily, again after the
    /// TTL, and early when a token names a `kid` we do not know, rate-limited).
    async fn key_set(&self, kid: Option<&str>) -> Result<Arc<KeySet>> {
        if let Some(set) = &self.inline {
            return Ok(set.clone());
        }
        self.cache
            .get(kid, || async {
                let doc = self.store.required_jwks(jwks::USERS).await?;
                KeySet::from_jwks(&doc)
                    .map_err(|e| Error::internal(format!("published issuer JWKS: {e}")))
            })
            .await
    }

    /// Verifies the request's bearer token and returns the caller.
    pub async fn caller(&self, headers: &HeaderMap) -> Result<Caller> {
        let token = bearer(headers)?;
        let head =
            decode_header(token).map_err(|_| unauthenticated("the bearer token is not a JWT"))?;
        if head.typ.as_deref() == Some(API_KEY_TOKEN_TYPE) {
            return Err(unauthenticated(
                "an API key cannot be used on console routes: send a console user token",
            ));
        }
        let set = self.key_set(head.kid.as_deref()).await?;
        let key = set.find(head.kid.as_deref()).ok_or_else(|| {
            unauthenticated("the token's signing key is not one of the issuer's keys")
        })?;
        if head.alg != key.alg {
            return Err(unauthenticated(
                "the token's algorithm does not match the issuer's key",
            ));
        }
        let mut v = Validation::new(key.alg);
        v.set_issuer(&[&self.config.issuer]);
        v.set_audience(&[&self.config.audience]);
        v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        v.leeway = LEEWAY_SECONDS;
        // A token minted for later is not good yet (RFC 7519 `nbf`), within the same leeway.
        v.validate_nbf = true;
        let data = decode::<Claims>(token, &key.key, &v).map_err(|e| {
            unauthenticated(match e.kind() {
                ErrorKind::ExpiredSignature => "the token has expired",
                ErrorKind::ImmatureSignature => "the token is not valid yet",
                ErrorKind::InvalidIssuer => {
                    "the token was not issued by the console's identity provider"
                }
                ErrorKind::InvalidAudience => "the token is not meant for this service",
                ErrorKind::InvalidSignature => "the token's signature does not verify",
                ErrorKind::MissingRequiredClaim(_) => {
                    "the token lacks a required claim (exp, iss, aud, sub)"
                }
                _ => "the token does not verify",
            })
        })?;
        let id = UserId::parse("sub", &data.claims.sub)
            .map_err(|_| unauthenticated("the token's subject is not a valid user id"))?;
        let email = data
            .claims
            .email
            .as_deref()
            .ok_or_else(|| unauthenticated("the token has no email claim"))
            .and_then(|e| {
                Email::parse("email", e).map_err(|_| {
                    unauthenticated("the token's email claim is not an e-mail address")
                })
            })?;
        let claimed_projects = match &self.config.projects_claim {
            None => Vec::new(),
            Some(name) => match data.claims.other.get(name) {
                None => Vec::new(),
                Some(value) => claimed_projects(value).ok_or_else(|| {
                    unauthenticated(&format!(
                        "the token's `{name}` claim must be a list of project ids"
                    ))
                })?,
            },
        };
        // OIDC's `locale` claim (e.g. `ru-RU`); anything else, or a language we do not write,
        // is as if absent: the user's language then comes from their setting or the default.
        let token_locale = data
            .claims
            .other
            .get("locale")
            .and_then(|v| v.as_str())
            .and_then(Locale::from_tag);
        Ok(Caller {
            id,
            email,
            claimed_projects,
            token_locale,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use jsonwebtoken::{EncodingKey, Header, encode};
    use lambda_http::http::{HeaderValue, header};
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    struct Issuer {
        der: Vec<u8>,
        jwks: String,
    }

    fn issuer(kid: &str) -> Issuer {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).expect("keygen");
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("key");
        let x = URL_SAFE_NO_PAD.encode(pair.public_key().as_ref());
        let jwks = format!(
            r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","x":"{x}","kid":"{kid}","alg":"EdDSA","use":"sig"}}]}}"#
        );
        Issuer {
            der: pkcs8.as_ref().to_vec(),
            jwks,
        }
    }

    fn now() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_secs()
    }

    fn token(iss: &Issuer, kid: &str, typ: &str, claims: serde_json::Value) -> String {
        let mut h = Header::new(Algorithm::EdDSA);
        h.kid = Some(kid.into());
        h.typ = Some(typ.into());
        encode(&h, &claims, &EncodingKey::from_ed_der(&iss.der)).expect("sign")
    }

    fn claims(exp_offset: i64) -> serde_json::Value {
        serde_json::json!({"iss":"https://id.test","aud":"console","sub":"alice","email":"alice@example.com","exp": (now() as i64 + exp_offset)})
    }

    fn auth(iss: &Issuer) -> Authenticator {
        let config = UserTokenConfig {
            issuer: "https://id.test".into(),
            audience: "console".into(),
            jwks: JwksSource::Inline(iss.jwks.clone()),
            jwks_ttl: Duration::from_secs(300),
            projects_claim: Some("keygate_projects".into()),
        };
        let sdk = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        // Never called: the keys are inline.
        Authenticator::new(config, Store::new(&sdk, "unused")).expect("authenticator")
    }

    fn headers(token: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {token}")).expect("header"),
        );
        h
    }

    #[tokio::test]
    async fn a_valid_token_names_the_caller() {
        let iss = issuer("k1");
        let c = auth(&iss)
            .caller(&headers(&token(&iss, "k1", "JWT", claims(600))))
            .await
            .expect("valid");
        assert_eq!(c.id.as_str(), "alice");
        assert_eq!(c.email.as_str(), "alice@example.com");
    }

    #[tokio::test]
    async fn bad_tokens_are_401() {
        let iss = issuer("k1");
        let other = issuer("k1");
        let a = auth(&iss);
        let mut wrong_aud = claims(600);
        wrong_aud["aud"] = "platform-api".into();
        let mut no_email = claims(600);
        no_email.as_object_mut().expect("object").remove("email");
        let cases = vec![
            ("expired", token(&iss, "k1", "JWT", claims(-3600))),
            (
                "signed by another key",
                token(&other, "k1", "JWT", claims(600)),
            ),
            ("unknown kid", token(&iss, "k2", "JWT", claims(600))),
            (
                "api key type",
                token(&iss, "k1", API_KEY_TOKEN_TYPE, claims(600)),
            ),
            ("wrong audience", token(&iss, "k1", "JWT", wrong_aud)),
            ("no email", token(&iss, "k1", "JWT", no_email)),
            ("garbage", "not.a.jwt".to_string()),
        ];
        for (what, t) in cases {
            match a.caller(&headers(&t)).await {
                Err(Error::Unauthenticated(_)) => {}
                other => panic!("{what}: expected 401, got {other:?}"),
            }
        }
        assert!(matches!(
            a.caller(&HeaderMap::new()).await,
            Err(Error::Unauthenticated(_))
        ));
    }

    #[tokio::test]
    async fn a_token_not_valid_yet_is_401() {
        let iss = issuer("k1");
        let mut early = claims(600);
        early["nbf"] = (now() + 300).into();
        match auth(&iss)
            .caller(&headers(&token(&iss, "k1", "JWT", early)))
            .await
        {
            Err(Error::Unauthenticated(why)) => assert!(why.contains("not valid yet"), "{why}"),
            other => panic!("expected 401, got {other:?}"),
        }
        // Within the leeway, and in the past, `nbf` is fine.
        let mut skewed = claims(600);
        skewed["nbf"] = (now() + LEEWAY_SECONDS / 2).into();
        auth(&iss)
            .caller(&headers(&token(&iss, "k1", "JWT", skewed)))
            .await
            .expect("nbf within the leeway");
    }

    #[tokio::test]
    async fn the_projects_claim_is_read_as_a_list_or_a_string() {
        let iss = issuer("k1");
        let a = auth(&iss);
        let with = |v: serde_json::Value| {
            let mut c = claims(600);
            c["keygate_projects"] = v;
            token(&iss, "k1", "JWT", c)
        };
        let c = a
            .caller(&headers(&with(serde_json::json!(["server", "lab"]))))
            .await
            .expect("list");
        assert_eq!(c.claimed_projects, ["server", "lab"]);
        let c = a
            .caller(&headers(&with("server, lab  x".into())))
            .await
            .expect("string");
        assert_eq!(c.claimed_projects, ["server", "lab", "x"]);
        let c = a
            .caller(&headers(&token(&iss, "k1", "JWT", claims(600))))
            .await
            .expect("no claim");
        assert!(c.claimed_projects.is_empty());
        for bad in [serde_json::json!(7), serde_json::json!([1, "x"])] {
            assert!(matches!(
                a.caller(&headers(&with(bad))).await,
                Err(Error::Unauthenticated(_))
            ));
        }
    }

    #[tokio::test]
    async fn hmac_and_none_are_refused_even_with_the_public_key_as_secret() {
        let iss = issuer("k1");
        let a = auth(&iss);
        let mut h = Header::new(Algorithm::HS256);
        h.kid = Some("k1".into());
        let forged = encode(
            &h,
            &claims(600),
            &EncodingKey::from_secret(iss.jwks.as_bytes()).expect("hmac key"),
        )
        .expect("sign");
        assert!(matches!(
            a.caller(&headers(&forged)).await,
            Err(Error::Unauthenticated(_))
        ));
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none","kid":"k1"}"#),
            URL_SAFE_NO_PAD.encode(claims(600).to_string())
        );
        assert!(matches!(
            a.caller(&headers(&none)).await,
            Err(Error::Unauthenticated(_))
        ));
    }

    #[test]
    fn symmetric_only_jwks_is_refused() {
        assert!(KeySet::from_jwks(r#"{"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"s"}]}"#).is_err());
        assert!(KeySet::from_jwks("nope").is_err());
    }

    #[test]
    fn bearer_header_forms() {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert!(bearer(&h).is_err());
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer abc"),
        );
        assert_eq!(bearer(&h).expect("ok"), "abc");
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!(
                "Bearer {}",
                "a".repeat(crate::bearer::MAX_TOKEN_BYTES + 1)
            ))
            .expect("h"),
        );
        assert!(bearer(&h).is_err());
    }
}
