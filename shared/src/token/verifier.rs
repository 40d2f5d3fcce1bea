//! The API-key verification keys as the functions that only verify see them (verify,
//! authorizer): the public half of the signing key set, published in the table (`JWKS#api-keys`),
//! read on first use, cached for a configured time, re-read early for an unknown `kid` (after a
//! rotation). These functions never read the private keys.

use std::sync::Arc;
use std::time::Duration;

use super::PublicKeys;
use crate::error::{Error, Result};
use crate::keycache::KeyCache;
use crate::store::{Store, jwks};

/// Clones share one cache.
#[derive(Clone)]
pub struct Verifier {
    store: Store,
    cache: KeyCache<PublicKeys>,
}

impl Verifier {
    pub fn new(store: Store, ttl: Duration) -> Self {
        Verifier {
            store,
            cache: KeyCache::new(ttl),
        }
    }

    /// The published keys; `kid`, when given, must be among them unless it is unknown even
    /// after a fresh read.
    pub async fn keys(&self, kid: Option<&str>) -> Result<Arc<PublicKeys>> {
        self.cache
            .get(kid, || async {
                let doc = self.store.required_jwks(jwks::API_KEYS).await?;
                PublicKeys::from_jwks(&doc).map_err(|e| {
                    Error::internal(format!("published API-key verification keys: {e}"))
                })
            })
            .await
    }
}
