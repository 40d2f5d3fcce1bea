//! The key lifecycle reaches the imports (the `imports-sync` function, fed by the table's stream):
//! a revoked key's imports lose their token secret (their info secrets stay, tagged
//! `keygate:key-status=revoked`), and so do an expired key's once the scheduler marks it
//! (`expired`); a rolled key's imports get the new key's token and belong to the new key from
//! then on. The console's revoke and roll never wait on Secrets Manager.
//!
//! Every step is idempotent, so a redelivered record changes nothing: Secrets Manager writes
//! put the same value again, deletes of what is gone succeed, and each import's table change is
//! conditional on the state it was read in (an import already moved or revoked is skipped).

use crate::adapters::aws::try_aws_config;
use crate::adapters::secrets::{SecretTags, TAG_KEY, TAG_KEY_STATUS, Vault};
use crate::adapters::stream::{BatchResponse, StreamEvent, StreamRecord, for_each_record};
use crate::config::{ConfigError, SyncConfig};
use crate::domain::key;
use crate::error::{Error, Result};
use crate::model::audit::AuditEntry;
use crate::model::ids::{KeyId, SecretName};
use crate::model::import::{Import, ImportState};
use crate::model::key::{ApiKey, KeyStatus};
use crate::model::template::TOKEN_IDENTIFIER;
use crate::model::time::now;
use crate::store::{Image, Store};
use crate::token::Signer;

/// A change of a key that its imports must follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// `active -> revoked` (not by a roll).
    Revoked(ApiKey),
    /// The scheduler saw the key past its expiry (`expired_seen_at` set).
    Expired(ApiKey),
    /// The key was rolled: its imports move to `new`.
    Rolled { old: ApiKey, new: KeyId },
}

/// Which change a stream record is, from a key item's old and new images.
pub fn decide(record: &StreamRecord) -> Result<Option<Change>> {
    if record.event_name != "MODIFY" {
        return Ok(None);
    }
    let old = Image::decode(record.change.old_image.clone())?;
    let new = Image::decode(record.change.new_image.clone())?;
    Ok(match (old, new) {
        (Some(Image::Key(before)), Some(Image::Key(after))) => {
            match (&before.replaced_by, &after.replaced_by) {
                (None, Some(new)) => Some(Change::Rolled {
                    new: new.clone(),
                    old: *after,
                }),
                (None, None)
                    if before.status == KeyStatus::Active && after.status == KeyStatus::Revoked =>
                {
                    Some(Change::Revoked(*after))
                }
                (None, None)
                    if before.expired_seen_at.is_none()
                        && after.expired_seen_at.is_some()
                        && after.status == KeyStatus::Active =>
                {
                    Some(Change::Expired(*after))
                }
                _ => None,
            }
        }
        _ => None,
    })
}

/// What became of one import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Token secret deleted, the rest tagged revoked.
    Revoked,
    /// Token secret rewritten with the new key's token; the import belongs to the new key.
    Moved,
    /// Nothing to do (being deleted, already revoked).
    Skipped,
}

pub struct ImportSync {
    store: Store,
    signer: Signer,
    vault: Vault,
}

fn token_name(i: &Import) -> SecretName {
    SecretName::of(&i.prefix, TOKEN_IDENTIFIER)
}

impl ImportSync {
    pub fn new(store: Store, signer: Signer, vault: Vault) -> Self {
        ImportSync {
            store,
            signer,
            vault,
        }
    }

    pub async fn from_env() -> std::result::Result<Self, ConfigError> {
        let config = SyncConfig::from_env()?;
        let sdk = try_aws_config().await?;
        // One Secrets Manager client for the signing keys and the imported secrets.
        let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
        let store = Store::new(&sdk, config.table_name);
        Ok(ImportSync::new(
            store.clone(),
            Signer::with_client(
                secrets.clone(),
                store,
                config.api_keys.signing_keys_secret_id,
                config.api_keys.signing_keys_ttl,
            ),
            Vault::with_client(secrets, &config.imports),
        ))
    }

    /// Handles a batch; a failed record is reported for redelivery.
    pub async fn handle(&self, event: StreamEvent) -> BatchResponse {
        // Boxed: a batch's nested futures are deep enough to strain the compiler's layout queries.
        Box::pin(for_each_record(&event, |r| async move {
            self.process(r).await.map(|_| ())
        }))
        .await
    }

    /// Follows one record's change through every import of the key.
    pub async fn process(&self, record: &StreamRecord) -> Result<Vec<Outcome>> {
        let change = match decide(record) {
            Ok(Some(change)) => change,
            Ok(None) => return Ok(Vec::new()),
            Err(e) => {
                tracing::error!(event_id = %record.event_id, error = %e, "unreadable record skipped");
                return Ok(Vec::new());
            }
        };
        let key = match &change {
            Change::Revoked(k) | Change::Expired(k) | Change::Rolled { old: k, .. } => k,
        };
        let imports = self.store.imports_of_key(&key.id).await?;
        let new_key = match &change {
            Change::Rolled { new, .. } if !imports.is_empty() => Some(
                self.store
                    .get_key(new)
                    .await?
                    .ok_or_else(|| Error::internal(format!("rolled key {new} not found")))?,
            ),
            _ => None,
        };
        let ended = match &change {
            Change::Expired(_) => KeyStatus::Expired,
            _ => KeyStatus::Revoked,
        };
        let mut outcomes = Vec::new();
        for import in imports {
            // Boxed: the nested futures are deep enough to strain the compiler's layout queries.
            let outcome = match &new_key {
                Some(new) => Box::pin(self.roll(&import, new)).await?,
                None => Box::pin(self.revoke(&import, ended)).await?,
            };
            tracing::info!(project = %import.project_id, prefix = %import.prefix, key = %key.id, ?outcome, "import synced");
            outcomes.push(outcome);
        }
        Ok(outcomes)
    }

    /// The key's token no longer works (`status`: revoked or expired): its token secret goes,
    /// the other secrets are tagged with the status.
    async fn revoke(&self, import: &Import, status: KeyStatus) -> Result<Outcome> {
        if import.state == ImportState::Deleting || import.key_status != KeyStatus::Active {
            return Ok(Outcome::Skipped);
        }
        let c = &import.project_id;
        let token = token_name(import);
        self.vault.delete(c, &token, false).await?;
        let revoked_tag = [(TAG_KEY_STATUS.to_string(), status.as_str().to_string())];
        let rest: Vec<SecretName> = import
            .secrets
            .iter()
            .filter(|n| **n != token)
            .cloned()
            .collect();
        for name in &rest {
            self.vault.tag(c, name, &revoked_tag, &[]).await?;
        }
        let revoked = Import {
            key_status: status,
            secrets: rest,
            updated_at: now(),
            ..import.clone()
        };
        let action = format!("import.key_{}", status.as_str());
        let audit =
            AuditEntry::by_keygate(c, &action, "import", &import.prefix).key(&import.key_id);
        match self.store.revoke_import(&revoked, &token, &audit).await {
            Ok(()) | Err(Error::Conflict(_)) => Ok(Outcome::Revoked),
            Err(e) => Err(e),
        }
    }

    async fn roll(&self, import: &Import, new: &ApiKey) -> Result<Outcome> {
        if import.state == ImportState::Deleting || import.key_status != KeyStatus::Active {
            return Ok(Outcome::Skipped);
        }
        let c = &import.project_id;
        let token = token_name(import);
        let moved = Import {
            key_id: new.id.clone(),
            updated_at: now(),
            ..import.clone()
        };
        if new.status_at(&now()) == KeyStatus::Active {
            let minted = key::mint(&self.signer, new).await?;
            let nodes = self
                .store
                .get_secrets(c, std::slice::from_ref(&token))
                .await?
                .into_iter()
                .next()
                .map(|s| s.nodes)
                .unwrap_or_default();
            let tags = SecretTags {
                project: c,
                prefix: &import.prefix,
                key: new.id.as_str(),
                field: TOKEN_IDENTIFIER,
                nodes: &nodes,
            };
            self.vault
                .write(c, &token, minted.expose(), &tags, true)
                .await?;
        }
        let key_tag = [(TAG_KEY.to_string(), new.id.to_string())];
        // Every secret, the token's too (a value write leaves its tags as they were).
        for name in &import.secrets {
            self.vault.tag(c, name, &key_tag, &[]).await?;
        }
        let audit =
            AuditEntry::by_keygate(c, "import.key_rolled", "import", &import.prefix).key(&new.id);
        match self.store.move_import(&moved, &import.key_id, &audit).await {
            Ok(()) | Err(Error::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
        let status = new.status_at(&now());
        if status != KeyStatus::Active {
            // The new key was revoked (or has expired) before its roll reached the imports:
            // follow that too.
            return Box::pin(self.revoke(&moved, status)).await;
        }
        Ok(Outcome::Moved)
    }
}
