//! The signing key set as the functions see it: read from Secrets Manager on first use (not at
//! start-up, so cold starts do not wait for it), cached for a configured time, re-read early when
//! a token names a `kid` the cached set does not have (after a rotation).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::RwLock;

use super::KeySet;
use crate::error::{Error, Result};

/// A `kid` the cached set does not know triggers a re-read at most this often.
const REREAD_AFTER_UNKNOWN_KID: Duration = Duration::from_secs(10);

/// The cached key set and when it was read.
type Cached = Arc<RwLock<Option<(Instant, Arc<KeySet>)>>>;

/// Clones share one cache (and one client): a function's parts use one read of the key set.
#[derive(Clone)]
pub struct Signer {
    secrets: aws_sdk_secretsmanager::Client,
    secret_id: String,
    ttl: Duration,
    cache: Cached,
}

impl Signer {
    pub fn new(sdk: &aws_config::SdkConfig, secret_id: String, ttl: Duration) -> Self {
        Self::with_client(aws_sdk_secretsmanager::Client::new(sdk), secret_id, ttl)
    }

    /// With the container's Secrets Manager client (one per container: each client built costs
    /// init time).
    pub fn with_client(
        secrets: aws_sdk_secretsmanager::Client,
        secret_id: String,
        ttl: Duration,
    ) -> Self {
        Signer {
            secrets,
            secret_id,
            ttl,
            cache: Arc::new(RwLock::new(None)),
        }
    }

    /// The current key set; `kid`, when given, must be in it unless it is unknown even after a
    /// fresh read.
    pub async fn keys(&self, kid: Option<&str>) -> Result<Arc<KeySet>> {
        if let Some((at, set)) = self.cache.read().await.as_ref() {
            let knows = kid.is_none_or(|k| set.kids().contains(&k));
            if at.elapsed() < self.ttl && (knows || at.elapsed() < REREAD_AFTER_UNKNOWN_KID) {
                return Ok(set.clone());
            }
        }
        let mut cache = self.cache.write().await;
        let out = self
            .secrets
            .get_secret_value()
            .secret_id(&self.secret_id)
            .send()
            .await
            .map_err(|e| {
                Error::Unavailable(format!("signing keys secret {}: {e:?}", self.secret_id))
            })?;
        let doc = out
            .secret_string()
            .ok_or_else(|| Error::internal(format!("secret {} holds no string", self.secret_id)))?;
        let set = Arc::new(
            KeySet::from_json(doc)
                .map_err(|e| Error::internal(format!("secret {}: {e}", self.secret_id)))?,
        );
        *cache = Some((Instant::now(), set.clone()));
        Ok(set)
    }
}
