//! Published public keys (`JWKS#<name>` / `META`): the API-key verification keys (`api-keys`,
//! written by whoever changes the signing key set) and the console users' issuer keys (`users`).
//! Public data only: the functions that merely verify read it here and need no access to the
//! Secrets Manager secret that holds the private keys.

use serde::{Deserialize, Serialize};

use super::grants::{Operation, Touch as T, op};
use super::keys::partitions::{ALL_JWKS, API_KEYS_JWKS, USERS_JWKS};
use super::{Store, keys, sdk_error, to_attrs};
use crate::error::{Error, Result};

/// The API-key signing keys' public half.
pub const API_KEYS: &str = "api-keys";

/// What each method touches (`store::grants`), by the key set it is called with: the verifiers
/// read `api-keys` (`required_jwks`), the signers check it (`published_jwks`), the console
/// authenticator reads `users`. Only the operator publishes (no function lists `publish_jwks`).
pub(super) const OPERATIONS: &[Operation] = &[
    op("published_jwks(api-keys)", &[T::get(API_KEYS_JWKS)]),
    op("required_jwks(api-keys)", &[T::get(API_KEYS_JWKS)]),
    op("required_jwks(users)", &[T::get(USERS_JWKS)]),
    op("publish_jwks", &[T::put(ALL_JWKS)]),
];
/// The console users' identity provider's keys.
pub const USERS: &str = "users";

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Published {
    /// The JWKS document, as published.
    jwks: String,
    updated_at: String,
}

impl Store {
    /// The JWKS document published under `name`, if any.
    pub async fn published_jwks(&self, name: &str) -> Result<Option<String>> {
        Ok(self
            .get::<Published>(&keys::jwks(name))
            .await?
            .map(|p| p.jwks))
    }

    /// The JWKS document published under `name`; when there is none, a 503 that names the
    /// `keygate-dev` command publishing it.
    pub async fn required_jwks(&self, name: &str) -> Result<String> {
        self.published_jwks(name).await?.ok_or_else(|| {
            let how = match name {
                API_KEYS => "signing-keys publish",
                USERS => "user-jwks publish <file>",
                _ => "--help",
            };
            Error::Unavailable(format!(
                "no keys are published as JWKS#{name}: run `keygate-dev {how}`"
            ))
        })
    }

    /// Publishes (replaces) the JWKS document under `name`.
    pub async fn publish_jwks(&self, name: &str, jwks: &str) -> Result<()> {
        let item = Published {
            jwks: jwks.to_string(),
            updated_at: crate::model::time::now(),
        };
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_attrs(keys::jwks(name), &[], "jwks", &item)?))
            .send()
            .await
            .map_err(|e| sdk_error("PutItem", e))?;
        Ok(())
    }
}
