//! The signing key set as the functions that sign see it: read from Secrets Manager on first use
//! (not at start-up, so cold starts do not wait for it), cached for a configured time, re-read
//! early when a token names a `kid` the cached set does not have (after a rotation).
//!
//! The functions that only verify read the set's public half from the table (`Verifier`), so a
//! key this set holds must be published there before it signs anything: a set with an
//! unpublished key signs nothing (503 naming the key and the command that publishes it) rather
//! than hand out keys that would not verify.

use std::sync::Arc;
use std::time::Duration;

use super::{KeySet, PublicKeys};
use crate::error::{Error, Result};
use crate::keycache::{KeyCache, Kids};
use crate::store::{Store, jwks};

/// Clones share one cache (and one client): a function's parts use one read of the key set.
#[derive(Clone)]
pub struct Signer {
    secrets: aws_sdk_secretsmanager::Client,
    store: Store,
    secret_id: String,
    cache: KeyCache<KeySet>,
}

impl Signer {
    pub fn new(
        sdk: &aws_config::SdkConfig,
        store: Store,
        secret_id: String,
        ttl: Duration,
    ) -> Self {
        Self::with_client(
            aws_sdk_secretsmanager::Client::new(sdk),
            store,
            secret_id,
            ttl,
        )
    }

    /// With the container's Secrets Manager client (one per container: each client built costs
    /// init time).
    pub fn with_client(
        secrets: aws_sdk_secretsmanager::Client,
        store: Store,
        secret_id: String,
        ttl: Duration,
    ) -> Self {
        Signer {
            secrets,
            store,
            secret_id,
            cache: KeyCache::new(ttl),
        }
    }

    /// The current key set; `kid`, when given, must be in it unless it is unknown even after a
    /// fresh read.
    pub async fn keys(&self, kid: Option<&str>) -> Result<Arc<KeySet>> {
        self.cache.get(kid, || self.read()).await
    }

    async fn read(&self) -> Result<KeySet> {
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
        let set = KeySet::from_json(doc)
            .map_err(|e| Error::internal(format!("secret {}: {e}", self.secret_id)))?;
        let published = match self.store.published_jwks(jwks::API_KEYS).await? {
            Some(doc) => Some(PublicKeys::from_jwks(&doc).map_err(|e| {
                Error::internal(format!("published API-key verification keys: {e}"))
            })?),
            None => None,
        };
        if let Some(kid) = unpublished(&set, published.as_ref()) {
            return Err(Error::Unavailable(format!(
                "signing key {kid} is not published for verification: run `keygate-dev \
                 signing-keys publish` (tokens it signed would not verify)"
            )));
        }
        Ok(set)
    }
}

/// A key of `set` that `published` lacks (the active key when nothing is published). A `kid`
/// is derived from its public key, so a published `kid` is that very key.
fn unpublished<'a>(set: &'a KeySet, published: Option<&PublicKeys>) -> Option<&'a str> {
    let Some(published) = published else {
        return Some(set.active_kid());
    };
    set.kids().into_iter().find(|kid| !published.knows(kid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_of_the_set_must_be_published() {
        let mut set = KeySet::generate().expect("set");
        let first = set.active_kid().to_string();
        assert_eq!(unpublished(&set, None), Some(first.as_str()));
        let published = set.public();
        assert_eq!(unpublished(&set, Some(&published)), None);
        // Rotated in the secret but not published: the new key is named.
        let new = set.rotate().expect("rotate");
        assert_eq!(unpublished(&set, Some(&published)), Some(new.as_str()));
        assert_eq!(unpublished(&set, Some(&set.public())), None);
        // Retired in the secret first: the published set may still hold it.
        let wider = set.public();
        set.retire(&first).expect("retire");
        assert_eq!(unpublished(&set, Some(&wider)), None);
    }
}
