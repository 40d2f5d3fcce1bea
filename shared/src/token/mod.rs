//! API keys as JWTs. keygate signs them with EdDSA (Ed25519), `kid` in the header and its own
//! `typ`; claims per DESIGN.md. The signing key set (one active key, older ones still verifying
//! until retired) is a JSON document kept in Secrets Manager. Verification pins the algorithm to
//! EdDSA and checks `kid`, signature, `typ`, `iss`, `aud`, `exp` and `nbf`.
//! Private keys and tokens live in types whose `Debug` redacts them.

use std::fmt;

use aws_lc_rs::digest;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{
    Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, decode_header, encode,
    errors::ErrorKind,
};
use serde::{Deserialize, Serialize};

mod signer;
mod verifier;

/// The `typ` header of API keys keygate signs; console routes refuse tokens of this type.
pub const API_KEY_TOKEN_TYPE: &str = "keygate-api-key+jwt";
pub use signer::Signer;
pub use verifier::Verifier;

/// Clock skew tolerated on `exp` and `nbf`, in seconds.
pub const LEEWAY_SECONDS: u64 = 30;

pub use crate::model::key::Claims;

/// A signed API key. `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("not a JWT")]
    Malformed,
    #[error("not an API key (wrong typ)")]
    WrongType,
    #[error("algorithm {0} is not accepted; API keys are EdDSA")]
    Algorithm(String),
    #[error("signed with a key that is not (or no longer) ours")]
    UnknownKey,
    #[error("the signature does not verify")]
    Signature,
    #[error("expired")]
    Expired,
    #[error("not valid yet")]
    NotYetValid,
    #[error("issued by someone else")]
    Issuer,
    #[error("meant for another audience")]
    Audience,
    #[error("claims missing or malformed")]
    Claims,
}

struct SigningKey {
    kid: String,
    pkcs8: Vec<u8>,
    public: Vec<u8>,
    created_at: String,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("private", &"<redacted>")
            .finish()
    }
}

/// The stored form of the key set (the secret's JSON value).
#[derive(Serialize, Deserialize)]
struct StoredKeySet {
    active: String,
    keys: Vec<StoredKey>,
}

#[derive(Serialize, Deserialize)]
struct StoredKey {
    kid: String,
    /// PKCS#8 DER, base64.
    private_pkcs8: String,
    created_at: String,
}

/// keygate's signing keys: one active (signs new tokens), all verify.
#[derive(Debug)]
pub struct KeySet {
    active: String,
    keys: Vec<SigningKey>,
}

fn key_from_pkcs8(pkcs8: Vec<u8>, created_at: String) -> Result<SigningKey, String> {
    let pair = Ed25519KeyPair::from_pkcs8(&pkcs8)
        .map_err(|e| format!("not an Ed25519 PKCS#8 key: {e}"))?;
    let public = pair.public_key().as_ref().to_vec();
    let kid = kid_for(&public);
    Ok(SigningKey {
        kid,
        pkcs8,
        public,
        created_at,
    })
}

fn new_key(created_at: String) -> Result<SigningKey, String> {
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|e| format!("key generation: {e}"))?;
    key_from_pkcs8(pkcs8.as_ref().to_vec(), created_at)
}

impl KeySet {
    /// A new set with one fresh active key.
    pub fn generate() -> Result<Self, String> {
        let key = new_key(crate::model::time::now())?;
        Ok(KeySet {
            active: key.kid.clone(),
            keys: vec![key],
        })
    }

    /// Reads the secret's JSON value. The `kid` of each key is derived from its public key, so a
    /// stored set cannot claim a `kid` for a key it does not hold.
    pub fn from_json(doc: &str) -> Result<Self, String> {
        let stored: StoredKeySet =
            serde_json::from_str(doc).map_err(|e| format!("not a key set document: {e}"))?;
        let mut keys = Vec::new();
        for k in stored.keys {
            let pkcs8 = STANDARD
                .decode(&k.private_pkcs8)
                .map_err(|e| format!("key {}: {e}", k.kid))?;
            let key = key_from_pkcs8(pkcs8, k.created_at)?;
            if key.kid != k.kid {
                return Err(format!("key {} does not match its private key", k.kid));
            }
            keys.push(key);
        }
        if !keys.iter().any(|k| k.kid == stored.active) {
            return Err(format!(
                "the active key {} is not in the set",
                stored.active
            ));
        }
        Ok(KeySet {
            active: stored.active,
            keys,
        })
    }

    pub fn to_json(&self) -> String {
        let stored = StoredKeySet {
            active: self.active.clone(),
            keys: self
                .keys
                .iter()
                .map(|k| StoredKey {
                    kid: k.kid.clone(),
                    private_pkcs8: STANDARD.encode(&k.pkcs8),
                    created_at: k.created_at.clone(),
                })
                .collect(),
        };
        serde_json::to_string(&stored).unwrap_or_default()
    }

    /// Adds a fresh key and makes it the active one; the others keep verifying. Returns its kid.
    pub fn rotate(&mut self) -> Result<String, String> {
        let key = new_key(crate::model::time::now())?;
        self.active = key.kid.clone();
        self.keys.push(key);
        Ok(self.active.clone())
    }

    /// Drops a key that is not active: tokens it signed stop verifying.
    pub fn retire(&mut self, kid: &str) -> Result<(), String> {
        if kid == self.active {
            return Err("the active key cannot be retired; rotate first".into());
        }
        let before = self.keys.len();
        self.keys.retain(|k| k.kid != kid);
        if self.keys.len() == before {
            return Err(format!("no key {kid} in the set"));
        }
        Ok(())
    }

    pub fn active_kid(&self) -> &str {
        &self.active
    }

    pub fn kids(&self) -> Vec<&str> {
        self.keys.iter().map(|k| k.kid.as_str()).collect()
    }

    /// The public half: what verifying needs, and what is published for the functions that
    /// only verify.
    pub fn public(&self) -> PublicKeys {
        PublicKeys {
            keys: self
                .keys
                .iter()
                .map(|k| PublicKey {
                    kid: k.kid.clone(),
                    public: k.public.clone(),
                })
                .collect(),
        }
    }

    /// The public keys as a JWKS document (what `/.well-known/jwks.json` serves).
    pub fn jwks(&self) -> Jwks {
        self.public().jwks()
    }

    /// Signs claims with the active key. EdDSA is deterministic: the same claims give the same
    /// token, which is why tokens are never stored but re-minted.
    pub fn sign(&self, claims: &Claims) -> Result<Token, String> {
        let key = self
            .keys
            .iter()
            .find(|k| k.kid == self.active)
            .ok_or("no active key")?;
        Self::sign_with(key, claims)
    }

    /// Signs with a given key of the set (re-minting a token under the key that first signed it).
    pub fn sign_as(&self, kid: &str, claims: &Claims) -> Result<Token, String> {
        let key = self
            .keys
            .iter()
            .find(|k| k.kid == kid)
            .ok_or_else(|| format!("no key {kid} in the set"))?;
        Self::sign_with(key, claims)
    }

    fn sign_with(key: &SigningKey, claims: &Claims) -> Result<Token, String> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(key.kid.clone());
        header.typ = Some(API_KEY_TOKEN_TYPE.into());
        encode(&header, claims, &EncodingKey::from_ed_der(&key.pkcs8))
            .map(Token)
            .map_err(|e| format!("signing: {e}"))
    }
}

struct PublicKey {
    kid: String,
    /// The raw 32-byte Ed25519 public key.
    public: Vec<u8>,
}

/// The public half of the signing key set: verifies API keys, signs nothing. Published as a JWKS
/// document (see `store::jwks`), so the functions that only verify never read the private keys.
pub struct PublicKeys {
    keys: Vec<PublicKey>,
}

impl fmt::Debug for PublicKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKeys")
            .field("kids", &self.kids())
            .finish()
    }
}

/// The `kid` keygate gives a public key: the first 8 bytes of its SHA-256, in hex.
fn kid_for(public: &[u8]) -> String {
    let d = digest::digest(&digest::SHA256, public);
    d.as_ref()[..8].iter().map(|b| format!("{b:02x}")).collect()
}

impl crate::keycache::Kids for PublicKeys {
    fn knows(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid == kid)
    }
}

impl crate::keycache::Kids for KeySet {
    fn knows(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid == kid)
    }
}

impl PublicKeys {
    /// Reads a published JWKS document: Ed25519 keys only, each `kid` the one its key derives
    /// (a published document cannot give a key another key's `kid`), at least one key.
    pub fn from_jwks(doc: &str) -> Result<Self, String> {
        #[derive(Deserialize)]
        struct Doc {
            keys: Vec<Jwk>,
        }
        #[derive(Deserialize)]
        struct Jwk {
            kty: String,
            crv: Option<String>,
            kid: Option<String>,
            x: Option<String>,
        }
        let doc: Doc =
            serde_json::from_str(doc).map_err(|e| format!("not a JWKS document: {e}"))?;
        let mut keys = Vec::new();
        for jwk in doc.keys {
            let kid = jwk.kid.ok_or("a key has no kid")?;
            if jwk.kty != "OKP" || jwk.crv.as_deref() != Some("Ed25519") {
                return Err(format!("key {kid} is not an Ed25519 (OKP) key"));
            }
            let public = URL_SAFE_NO_PAD
                .decode(jwk.x.ok_or_else(|| format!("key {kid} has no x"))?)
                .map_err(|e| format!("key {kid}: x is not base64url: {e}"))?;
            if public.len() != 32 {
                return Err(format!("key {kid}: x is not a 32-byte Ed25519 key"));
            }
            if kid_for(&public) != kid {
                return Err(format!("key {kid} does not match its public key"));
            }
            keys.push(PublicKey { kid, public });
        }
        if keys.is_empty() {
            return Err("the JWKS has no key".into());
        }
        Ok(PublicKeys { keys })
    }

    pub fn kids(&self) -> Vec<&str> {
        self.keys.iter().map(|k| k.kid.as_str()).collect()
    }

    /// As a JWKS document (what `/.well-known/jwks.json` serves and what is published).
    pub fn jwks(&self) -> Jwks {
        let keys = self
            .keys
            .iter()
            .map(|k| Jwk {
                kty: Kty::Okp,
                crv: Crv::Ed25519,
                usage: Use::Sig,
                alg: Alg::EdDSA,
                kid: k.kid.clone(),
                x: URL_SAFE_NO_PAD.encode(&k.public),
            })
            .collect();
        Jwks { keys }
    }

    /// Verifies an API key: EdDSA only, our `typ`, a `kid` of this set, the signature, then
    /// `iss`, `aud`, `exp` and `nbf`. Returns the claims.
    pub fn verify(&self, token: &str, issuer: &str, audience: &str) -> Result<Claims, TokenError> {
        let mut v = validation(issuer);
        v.set_audience(&[audience]);
        self.decode_api_key(token, &v)
    }

    /// Verifies an API key of any project: EdDSA, our `typ`, a `kid` of this set, the
    /// signature, `iss` and `nbf`; `aud` must be present (the caller reads the project from it)
    /// and `exp` is left to the caller, who reports an expired key as such rather than as an
    /// invalid token (the signature vouches for the claims either way).
    pub fn verify_signed(&self, token: &str, issuer: &str) -> Result<Claims, TokenError> {
        let mut v = validation(issuer);
        v.validate_aud = false;
        v.validate_exp = false;
        self.decode_api_key(token, &v)
    }

    /// The header's rules (alg fixed server-side, our `typ`, our `kid`), then the signature and
    /// the claims `v` asks for.
    fn decode_api_key(&self, token: &str, v: &Validation) -> Result<Claims, TokenError> {
        let head = decode_header(token).map_err(|_| TokenError::Malformed)?;
        if head.alg != Algorithm::EdDSA {
            return Err(TokenError::Algorithm(format!("{:?}", head.alg)));
        }
        if head.typ.as_deref() != Some(API_KEY_TOKEN_TYPE) {
            return Err(TokenError::WrongType);
        }
        let kid = head.kid.ok_or(TokenError::UnknownKey)?;
        let key = self
            .keys
            .iter()
            .find(|k| k.kid == kid)
            .ok_or(TokenError::UnknownKey)?;
        decode::<Claims>(token, &DecodingKey::from_ed_der(&key.public), v)
            .map(|d| d.claims)
            .map_err(|e| match e.kind() {
                ErrorKind::InvalidSignature => TokenError::Signature,
                ErrorKind::ExpiredSignature => TokenError::Expired,
                ErrorKind::ImmatureSignature => TokenError::NotYetValid,
                ErrorKind::InvalidIssuer => TokenError::Issuer,
                ErrorKind::InvalidAudience => TokenError::Audience,
                ErrorKind::InvalidAlgorithm => TokenError::Algorithm("mismatch".into()),
                _ => TokenError::Claims,
            })
    }
}

/// What every API key must satisfy: EdDSA, `iss`, `aud` and `sub` present, `nbf` respected.
fn validation(issuer: &str) -> Validation {
    let mut v = Validation::new(Algorithm::EdDSA);
    v.set_issuer(&[issuer]);
    v.set_required_spec_claims(&["iss", "aud", "sub"]);
    v.validate_nbf = true;
    v.leeway = LEEWAY_SECONDS;
    v
}

/// The `kid` of a token's header, if it has one (a lookup key into our own key set, never more).
pub fn kid_of(token: &str) -> Option<String> {
    decode_header(token).ok().and_then(|h| h.kid)
}

/// A JWKS document (RFC 7517): the public keys API keys are signed with, as
/// `/.well-known/jwks.json` serves them and as they are published in the table.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

/// One Ed25519 public key (RFC 8037).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Jwk {
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub kty: Kty,
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub crv: Crv,
    #[serde(rename = "use")]
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub usage: Use,
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub alg: Alg,
    pub kid: String,
    /// The public key, base64url.
    pub x: String,
}

// The JWK members keygate's keys always have: one value each.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Kty {
    #[serde(rename = "OKP")]
    Okp,
}
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Crv {
    Ed25519,
}
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Use {
    Sig,
}
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Alg {
    EdDSA,
}

/// The document as JSON text (what is published).
impl fmt::Display for Jwks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = serde_json::to_string(self).map_err(|_| fmt::Error)?;
        f.write_str(&text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{SystemTime, UNIX_EPOCH};

    const ISS: &str = "keygate";
    const AUD: &str = "platform-api:server";

    fn now() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_secs()
    }

    fn claims(exp: Option<u64>) -> Claims {
        Claims {
            iss: ISS.into(),
            aud: AUD.into(),
            sub: "bob".into(),
            jti: "k1".into(),
            role: "reader".into(),
            iat: now(),
            nbf: None,
            exp,
        }
    }

    fn b64(s: &str) -> String {
        URL_SAFE_NO_PAD.encode(s)
    }

    #[test]
    fn signed_keys_verify_and_are_deterministic() {
        let set = KeySet::generate().expect("set");
        let c = claims(Some(now() + 3600));
        let t = set.sign(&c).expect("sign");
        assert_eq!(set.public().verify(t.expose(), ISS, AUD), Ok(c.clone()));
        assert_eq!(
            set.sign(&c).expect("sign again"),
            t,
            "EdDSA re-mints the same token"
        );
        assert!(!format!("{t:?}").contains(t.expose()), "Debug redacts");
        assert!(!format!("{set:?}").contains(&STANDARD.encode(&set.keys[0].pkcs8)));
    }

    #[test]
    fn every_forgery_and_misuse_is_refused() {
        let set = KeySet::generate().expect("set");
        let good = set.sign(&claims(Some(now() + 3600))).expect("sign");
        let parts: Vec<&str> = good.expose().split('.').collect();
        let kid = set.active_kid();

        let none = format!(
            "{}.{}.",
            b64(&format!(
                r#"{{"alg":"none","typ":"{API_KEY_TOKEN_TYPE}","kid":"{kid}"}}"#
            )),
            parts[1]
        );
        assert!(matches!(
            set.public().verify(&none, ISS, AUD),
            Err(TokenError::Malformed | TokenError::Algorithm(_))
        ));

        // HS256 "signed" with our public key as the HMAC secret (the classic confusion attack).
        let mut h = Header::new(Algorithm::HS256);
        h.kid = Some(kid.into());
        h.typ = Some(API_KEY_TOKEN_TYPE.into());
        let hs = encode(
            &h,
            &claims(None),
            &EncodingKey::from_secret(&set.keys[0].public).expect("hmac"),
        )
        .expect("hs256");
        assert!(matches!(
            set.public().verify(&hs, ISS, AUD),
            Err(TokenError::Algorithm(_))
        ));

        let mut tampered = claims(Some(now() + 3600));
        tampered.role = "admin".into();
        let forged = format!(
            "{}.{}.{}",
            parts[0],
            b64(&serde_json::to_string(&tampered).expect("json")),
            parts[2]
        );
        assert_eq!(
            set.public().verify(&forged, ISS, AUD),
            Err(TokenError::Signature)
        );

        let other = KeySet::generate().expect("other");
        assert_eq!(
            set.public()
                .verify(other.sign(&claims(None)).expect("sign").expose(), ISS, AUD),
            Err(TokenError::UnknownKey)
        );

        let expired = set.sign(&claims(Some(now() - 3600))).expect("sign");
        assert_eq!(
            set.public().verify(expired.expose(), ISS, AUD),
            Err(TokenError::Expired)
        );

        let mut later = claims(None);
        later.nbf = Some(now() + 3600);
        assert_eq!(
            set.public()
                .verify(set.sign(&later).expect("sign").expose(), ISS, AUD),
            Err(TokenError::NotYetValid)
        );

        assert_eq!(
            set.public()
                .verify(good.expose(), ISS, "platform-api:other"),
            Err(TokenError::Audience)
        );
        assert_eq!(
            set.public().verify(good.expose(), "someone-else", AUD),
            Err(TokenError::Issuer)
        );
        assert_eq!(
            set.public().verify("garbage", ISS, AUD),
            Err(TokenError::Malformed)
        );
    }

    #[test]
    fn console_tokens_are_not_api_keys() {
        let set = KeySet::generate().expect("set");
        let mut h = Header::new(Algorithm::EdDSA);
        h.kid = Some(set.active_kid().into());
        h.typ = Some("JWT".into());
        let t = encode(
            &h,
            &claims(None),
            &EncodingKey::from_ed_der(&set.keys[0].pkcs8),
        )
        .expect("sign");
        assert_eq!(
            set.public().verify(&t, ISS, AUD),
            Err(TokenError::WrongType)
        );
    }

    #[test]
    fn rotation_keeps_old_keys_verifying_until_retired() {
        let mut set = KeySet::generate().expect("set");
        let first = set.active_kid().to_string();
        let old = set.sign(&claims(None)).expect("sign");
        let second = set.rotate().expect("rotate");
        assert_ne!(first, second);
        let new = set.sign(&claims(None)).expect("sign");
        assert!(new.expose() != old.expose());
        assert!(set.public().verify(old.expose(), ISS, AUD).is_ok());
        assert_eq!(
            set.sign_as(&first, &claims(None))
                .expect("re-mint")
                .expose(),
            old.expose()
        );
        assert!(set.retire(&second).is_err(), "the active key stays");
        set.retire(&first).expect("retire");
        assert_eq!(
            set.public().verify(old.expose(), ISS, AUD),
            Err(TokenError::UnknownKey)
        );
        assert_eq!(set.jwks().keys.len(), 1);
    }

    #[test]
    fn the_stored_form_round_trips_and_is_checked() {
        let mut set = KeySet::generate().expect("set");
        set.rotate().expect("rotate");
        let back = KeySet::from_json(&set.to_json()).expect("parse");
        assert_eq!(back.kids(), set.kids());
        assert_eq!(back.active_kid(), set.active_kid());
        let t = set.sign(&claims(None)).expect("sign");
        assert!(back.public().verify(t.expose(), ISS, AUD).is_ok());
        let lying = set.to_json().replace(set.active_kid(), "0000000000000000");
        assert!(KeySet::from_json(&lying).is_err());
        assert!(KeySet::from_json("{}").is_err());
    }

    #[test]
    fn the_published_half_verifies_what_the_set_signs_and_nothing_else() {
        let mut set = KeySet::generate().expect("set");
        let old = set.sign(&claims(None)).expect("sign");
        set.rotate().expect("rotate");
        let new = set.sign(&claims(None)).expect("sign");
        let public = PublicKeys::from_jwks(&set.jwks().to_string()).expect("published");
        assert_eq!(public.kids(), set.kids());
        assert_eq!(public.verify(old.expose(), ISS, AUD), Ok(claims(None)));
        assert_eq!(public.verify(new.expose(), ISS, AUD), Ok(claims(None)));
        // The JWKS holds no private key material.
        let doc = set.jwks().to_string();
        assert!(!doc.contains(&STANDARD.encode(&set.keys[0].pkcs8)), "{doc}");
        // A key the published half lacks does not verify.
        let other = KeySet::generate().expect("other");
        assert_eq!(
            public.verify(other.sign(&claims(None)).expect("sign").expose(), ISS, AUD),
            Err(TokenError::UnknownKey)
        );
    }

    #[test]
    fn a_published_document_is_checked_before_it_is_trusted() {
        let set = KeySet::generate().expect("set");
        let doc = serde_json::json!(set.jwks());
        let kid = set.active_kid().to_string();
        let with = |f: &dyn Fn(&mut serde_json::Value)| {
            let mut d = doc.clone();
            f(&mut d["keys"][0]);
            PublicKeys::from_jwks(&d.to_string())
        };
        // Another key's kid on this key (the kid is derived from the key).
        let other = KeySet::generate().expect("other");
        let err = with(&|k| k["kid"] = other.active_kid().into()).expect_err("kid");
        assert!(err.contains("does not match"), "{err}");
        let err = with(&|k| k["kty"] = "RSA".into()).expect_err("kty");
        assert!(err.contains("not an Ed25519"), "{err}");
        let err = with(&|k| k["x"] = URL_SAFE_NO_PAD.encode([1u8; 16]).into()).expect_err("x");
        assert!(err.contains("32-byte"), "{err}");
        let err = with(&|k| {
            k.as_object_mut().map(|o| o.remove("kid"));
        })
        .expect_err("no kid");
        assert!(err.contains("no kid"), "{err}");
        assert!(PublicKeys::from_jwks(r#"{"keys":[]}"#).is_err());
        assert!(PublicKeys::from_jwks("not json").is_err());
        assert!(with(&|_| {}).is_ok_and(|p| p.kids() == [kid.as_str()]));
    }

    #[test]
    fn verify_signed_leaves_expiry_and_audience_to_the_caller() {
        let set = KeySet::generate().expect("set");
        let expired = claims(Some(now() - 3600));
        let t = set.sign(&expired).expect("sign");
        assert_eq!(
            set.public().verify(t.expose(), ISS, AUD),
            Err(TokenError::Expired)
        );
        assert_eq!(set.public().verify_signed(t.expose(), ISS), Ok(expired));
        assert_eq!(
            set.public().verify_signed(t.expose(), "someone-else"),
            Err(TokenError::Issuer)
        );
        let other = KeySet::generate().expect("other");
        assert!(
            other.public().verify_signed(t.expose(), ISS).is_err(),
            "not our key"
        );
        assert_eq!(kid_of(t.expose()).as_deref(), Some(set.active_kid()));
        assert_eq!(kid_of("garbage"), None);
        let parts: Vec<&str> = t.expose().split('.').collect();
        let tampered = format!(
            "{}.{}.{}",
            parts[0],
            b64(
                "{\"iss\":\"keygate\",\"aud\":\"x\",\"sub\":\"eve\",\"jti\":\"k\",\"role\":\"r\",\"iat\":1}"
            ),
            parts[2]
        );
        assert_eq!(
            set.public().verify_signed(&tampered, ISS),
            Err(TokenError::Signature)
        );
    }
}
