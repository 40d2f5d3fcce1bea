//! Local-stack tooling shared by the `keygate-dev` command and the end-to-end tests: the dev
//! issuer (an Ed25519 key kept in the stack's state folder, standing in for the platform's
//! identity provider), the set-up of the emulator (table, SES sender identity, issuer JWKS), and
//! the fence that keeps all of that on the local stack (`loopback`).

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::digest;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// `iss` of dev user tokens; functions get it as `USER_TOKEN_ISSUER`.
pub const DEV_ISSUER: &str = "keygate-dev-issuer";
/// `aud` of dev user tokens; functions get it as `USER_TOKEN_AUDIENCE`.
pub const DEV_AUDIENCE: &str = "keygate-console";
/// The domain whose senders SES accepts locally.
pub const MAIL_DOMAIN: &str = "example.com";

const KEY_FILE: &str = "dev-issuer.pk8";

/// Beside the key in the state folder: every token the key signed, one a line, appended as it
/// is signed (by `keygate-dev token`, dev-signin's `/dev/token` and the tests alike), so that
/// `scripts/check-logs.sh` knows every console token of a run and looks for each one, and its
/// signature alone, in the run's logs. No more secret than the key file beside it.
pub const MINTED_FILE: &str = "dev-issuer.minted";

/// The dev identity provider's signing key.
pub struct DevIssuer {
    pkcs8: Vec<u8>,
    public: Vec<u8>,
    /// Where the tokens it signs are recorded (`MINTED_FILE` in its state folder).
    minted: PathBuf,
}

impl DevIssuer {
    /// Loads the key from `dir`, creating it on first use.
    pub fn load_or_create(dir: &Path) -> Result<Self, BoxError> {
        let path = dir.join(KEY_FILE);
        if !path.exists() {
            std::fs::create_dir_all(dir)?;
            let rng = aws_lc_rs::rand::SystemRandom::new();
            let pkcs8 =
                Ed25519KeyPair::generate_pkcs8(&rng).map_err(|e| format!("key generation: {e}"))?;
            std::fs::write(&path, pkcs8.as_ref())?;
        }
        Self::load(dir)
    }

    /// Loads the key the stack created in `dir`.
    pub fn load(dir: &Path) -> Result<Self, BoxError> {
        let path = dir.join(KEY_FILE);
        let pkcs8 = std::fs::read(&path)
            .map_err(|e| format!("{}: {e} (has the dev stack been set up?)", path.display()))?;
        let pair =
            Ed25519KeyPair::from_pkcs8(&pkcs8).map_err(|e| format!("{}: {e}", path.display()))?;
        let public = pair.public_key().as_ref().to_vec();
        Ok(DevIssuer {
            pkcs8,
            public,
            minted: dir.join(MINTED_FILE),
        })
    }

    /// A key id derived from the public key, so a new key gets a new `kid`.
    pub fn kid(&self) -> String {
        let d = digest::digest(&digest::SHA256, &self.public);
        let hex: String = d.as_ref()[..8].iter().map(|b| format!("{b:02x}")).collect();
        format!("dev-{hex}")
    }

    pub fn jwks(&self) -> String {
        serde_json::json!({"keys": [{
            "kty": "OKP", "crv": "Ed25519", "use": "sig", "alg": "EdDSA",
            "kid": self.kid(), "x": URL_SAFE_NO_PAD.encode(&self.public),
        }]})
        .to_string()
    }

    /// Signs a console user token with any claims (tests use this for wrong or expired ones),
    /// and records it in `MINTED_FILE`: a token that cannot be recorded is not handed out, as the
    /// log scan would not know to look for it.
    pub fn sign(&self, typ: &str, claims: &serde_json::Value) -> Result<String, BoxError> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid());
        header.typ = Some(typ.into());
        let token = encode(&header, claims, &EncodingKey::from_ed_der(&self.pkcs8))?;
        self.record(&token)
            .map_err(|e| format!("{}: {e}", self.minted.display()))?;
        Ok(token)
    }

    /// Appends `token` and a newline in one write (`O_APPEND`), so that concurrent test
    /// processes and dev-signin never interleave their lines.
    fn record(&self, token: &str) -> std::io::Result<()> {
        use std::io::Write;
        #[cfg(unix)]
        use std::os::unix::fs::OpenOptionsExt;
        let mut options = std::fs::OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        options.mode(0o600);
        options
            .open(&self.minted)?
            .write_all(format!("{token}\n").as_bytes())
    }

    /// A valid console user token for `user`, good for `ttl_seconds`.
    pub fn user_token(
        &self,
        user: &str,
        email: &str,
        ttl_seconds: u64,
    ) -> Result<String, BoxError> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
        self.sign(
            "JWT",
            &serde_json::json!({
                "iss": DEV_ISSUER, "aud": DEV_AUDIENCE, "sub": user, "email": email,
                "iat": now, "exp": now + ttl_seconds,
            }),
        )
    }
}

/// The folder holding a stack's state (`KEYGATE_STATE_DIR`, default `.keygate/dev`).
pub fn state_dir() -> PathBuf {
    std::env::var_os("KEYGATE_STATE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(".keygate/dev"))
}

pub mod loopback;
pub mod node_secrets;
pub mod pump;
pub mod setup;
