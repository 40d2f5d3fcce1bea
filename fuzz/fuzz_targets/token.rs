//! API-key tokens: parsing and verification (`kid_of`, `KeySet::verify_signed`, `verify`).
//!
//! Properties: nothing panics on any input; a token this set signed verifies to exactly the
//! claims signed (when `iss` is ours and `nbf` has come) and `kid_of` names the signing key;
//! a token with any change at all (a byte flipped, cut short, extended, parts swapped) never
//! verifies; any other string that verifies is byte for byte the token we sign for the claims
//! it carries (no second encoding of a token of ours verifies).

#![no_main]

use std::sync::LazyLock;
use std::time::{SystemTime, UNIX_EPOCH};

use arbitrary::Arbitrary;
use aws_lc_rs::digest;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use keygate::token::{Claims, KeySet, LEEWAY_SECONDS, PublicKeys, TokenError, kid_of};
use libfuzzer_sys::fuzz_target;

const ISS: &str = "keygate";

/// One fixed signing key, so that a crash input reproduces: PKCS#8 v1 of a constant seed.
static KEYS: LazyLock<KeySet> = LazyLock::new(|| {
    let mut pkcs8 = hex("302e020100300506032b657004220420");
    pkcs8.extend_from_slice(&[7u8; 32]);
    let pair = Ed25519KeyPair::from_pkcs8(&pkcs8).expect("fixture: a valid Ed25519 PKCS#8 key");
    let d = digest::digest(&digest::SHA256, pair.public_key().as_ref());
    let kid: String = d.as_ref()[..8].iter().map(|b| format!("{b:02x}")).collect();
    let doc = serde_json::json!({
        "active": kid,
        "keys": [{"kid": kid, "private_pkcs8": STANDARD.encode(&pkcs8), "created_at": "2026-01-01T00:00:00.000Z"}],
    });
    KeySet::from_json(&doc.to_string()).expect("fixture: the key set parses")
});

/// Its public half: what verify and the authorizer verify with.
static PUBLIC: LazyLock<PublicKeys> = LazyLock::new(|| KEYS.public());

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("fixture: hex"))
        .collect()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[derive(Debug, Arbitrary)]
struct ArbClaims {
    ours: bool,
    iss: String,
    aud: String,
    sub: String,
    jti: String,
    role: String,
    iat: u64,
    nbf: Option<Time>,
    exp: Option<Time>,
}

/// A time claim: mostly near now (where expiry and `nbf` decide), sometimes anywhere.
#[derive(Debug, Arbitrary)]
enum Time {
    Ago(u32),
    In(u32),
    Raw(u64),
}

impl Time {
    fn at(&self, now: u64) -> u64 {
        match self {
            Time::Ago(s) => now.saturating_sub(u64::from(*s)),
            Time::In(s) => now.saturating_add(u64::from(*s)),
            Time::Raw(t) => *t,
        }
    }
}

/// A change to a signed token.
#[derive(Debug, Arbitrary)]
enum Edit {
    /// XOR one byte with a non-zero mask.
    Flip {
        at: u16,
        mask: u8,
    },
    Truncate {
        at: u16,
    },
    Append(String),
    Insert {
        at: u16,
        byte: u8,
    },
    Remove {
        at: u16,
    },
    /// Exchange two of the three parts.
    Swap {
        a: u8,
        b: u8,
    },
}

#[derive(Debug, Arbitrary)]
enum Input {
    /// Any string as a token.
    Raw(String),
    /// Header, payload and signature of our choosing, each base64url-encoded as a JWT has them
    /// (reaches the JSON parsing that a random string never gets past).
    Parts {
        header: Header,
        payload: String,
        signature: Vec<u8>,
    },
    /// A token we signed, then edited.
    Signed { claims: ArbClaims, edits: Vec<Edit> },
}

#[derive(Debug, Arbitrary)]
enum Header {
    Raw(String),
    /// A well-formed header with our `kid` (or another) and an algorithm and type of its choice.
    Json {
        alg: String,
        typ: Option<String>,
        our_kid: bool,
        kid: String,
    },
}

/// Whatever verifies is exactly the token we sign for its claims: nothing about a token of
/// ours can be changed, and a token we did not sign (the fuzzer cannot forge Ed25519) does not
/// verify at all.
fn check_untrusted(token: &str) {
    let _ = kid_of(token);
    if let Ok(claims) = PUBLIC.verify_signed(token, ISS) {
        let ours = KEYS.sign(&claims).expect("signing with the active key");
        assert_eq!(ours.expose(), token, "a token other than ours verified");
    }
    if let Ok(claims) = PUBLIC.verify(token, ISS, "platform-api:x") {
        assert_eq!(KEYS.sign(&claims).expect("signing").expose(), token);
    }
}

fn parts(header: &Header, payload: &str, signature: &[u8]) -> String {
    let header = match header {
        Header::Raw(h) => h.clone(),
        Header::Json {
            alg,
            typ,
            our_kid,
            kid,
        } => {
            let kid = if *our_kid {
                KEYS.active_kid()
            } else {
                kid.as_str()
            };
            serde_json::json!({"alg": alg, "typ": typ, "kid": kid}).to_string()
        }
    };
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload),
        URL_SAFE_NO_PAD.encode(signature)
    )
}

fn edit(token: &str, edits: &[Edit]) -> Option<String> {
    let mut bytes = token.as_bytes().to_vec();
    for e in edits.iter().take(8) {
        let pos = |at: u16, len: usize| usize::from(at) % len.max(1);
        match e {
            Edit::Flip { at, mask } if !bytes.is_empty() => {
                let i = pos(*at, bytes.len());
                bytes[i] ^= if *mask == 0 { 1 } else { *mask };
            }
            Edit::Truncate { at } => bytes.truncate(pos(*at, bytes.len())),
            Edit::Append(s) => bytes.extend_from_slice(s.as_bytes()),
            Edit::Insert { at, byte } => {
                let i = pos(*at, bytes.len() + 1);
                bytes.insert(i, *byte);
            }
            Edit::Remove { at } if !bytes.is_empty() => {
                let i = pos(*at, bytes.len());
                bytes.remove(i);
            }
            Edit::Swap { a, b } => {
                let text = String::from_utf8(bytes.clone()).ok()?;
                let mut p: Vec<&str> = text.split('.').collect();
                if p.len() == 3 {
                    p.swap(usize::from(*a % 3), usize::from(*b % 3));
                    bytes = p.join(".").into_bytes();
                }
            }
            _ => {}
        }
    }
    String::from_utf8(bytes).ok()
}

fn check_signed(c: &ArbClaims, edits: &[Edit]) {
    let now = now();
    let claims = Claims {
        iss: if c.ours { ISS.into() } else { c.iss.clone() },
        aud: c.aud.clone(),
        sub: c.sub.clone(),
        jti: c.jti.clone(),
        role: c.role.clone(),
        iat: c.iat,
        nbf: c.nbf.as_ref().map(|t| t.at(now)),
        exp: c.exp.as_ref().map(|t| t.at(now)),
    };
    let token = KEYS.sign(&claims).expect("signing with the active key");
    let token = token.expose();
    assert_eq!(kid_of(token).as_deref(), Some(KEYS.active_kid()));

    // A margin around the leeway's edges: the clock moves while this runs.
    let margin = 5;
    let leeway = LEEWAY_SECONDS;
    let not_yet = claims
        .nbf
        .is_some_and(|nbf| nbf > now.saturating_add(leeway + margin));
    let surely_valid_now = claims
        .nbf
        .is_none_or(|nbf| nbf.saturating_add(margin) < now.saturating_add(leeway));
    // jsonwebtoken checks the times before the issuer.
    let result = PUBLIC.verify_signed(token, ISS);
    if not_yet {
        assert_eq!(result, Err(TokenError::NotYetValid), "{claims:?}");
    } else if surely_valid_now && claims.iss != ISS {
        assert_eq!(result, Err(TokenError::Issuer), "{claims:?}");
    } else if surely_valid_now {
        // The round trip: exactly the claims signed, whatever their content.
        assert_eq!(result.as_ref(), Ok(&claims));
        // `verify` adds audience and expiry.
        let expired = claims
            .exp
            .is_some_and(|exp| exp.saturating_add(leeway + margin) < now);
        let surely_live = claims
            .exp
            .is_none_or(|exp| exp.saturating_add(leeway) > now.saturating_add(margin));
        let full = PUBLIC.verify(token, ISS, &claims.aud);
        if expired {
            assert_eq!(full, Err(TokenError::Expired), "{claims:?}");
        } else if surely_live {
            assert_eq!(full.as_ref(), Ok(&claims));
            let other = format!("{}x", claims.aud);
            assert_eq!(
                PUBLIC.verify(token, ISS, &other),
                Err(TokenError::Audience),
                "{claims:?}"
            );
        }
    }

    if let Some(changed) = edit(token, edits)
        && changed != token
    {
        let r = PUBLIC.verify_signed(&changed, ISS);
        assert!(
            r.is_err(),
            "an edited token verified: {token:?} -> {changed:?}: {r:?}"
        );
    }
}

fuzz_target!(|input: Input| {
    match input {
        Input::Raw(s) => check_untrusted(&s),
        Input::Parts {
            header,
            payload,
            signature,
        } => check_untrusted(&parts(&header, &payload, &signature)),
        Input::Signed { claims, edits } => check_signed(&claims, &edits),
    }
});
