//! Issued keys (`KEY#k` / `META`, by holder in gsi1, by project in gsi2) and the transactions
//! that issue, revoke and roll them together with their request, ask and audit entry.

use super::audit::audit_write;
use super::requests::{Write, ask_attrs, ask_of_request, request_attrs};
use super::{Attrs, Scope, Store, keys, to_attrs};
use crate::domain::ids::{KeyId, ProjectId, UserId};
use crate::domain::key::{ApiKey, AuditEntry};
use crate::domain::request::{Ask, KeyRequest, RequestStatus};
use crate::error::{Error, Result};
use crate::http::{Page, PageRequest};

fn key_attrs(k: &ApiKey) -> Result<Attrs> {
    let mut indexes = vec![
        keys::key_holder_index(&k.holder.id, &k.id),
        keys::key_project_index(&k.project_id, &k.id),
    ];
    // Keys that expire are found by their day for the expiry reminders (gsi3).
    if let Some(day) = k.expires_at.as_deref().and_then(|at| at.get(..10)) {
        indexes.push(keys::key_expiry_index(day, &k.id));
    }
    to_attrs(keys::api_key(&k.id), &indexes, "key", k)
}

/// The ask still points at key `:kid` (it was not rolled or replaced meanwhile).
fn ask_of_key(ask: &Ask, key: &KeyId) -> Result<Write> {
    Ok(Write::put(ask_attrs(ask)?)
        .when("#rq.#kid = :kid")
        .name("#rq", "request")
        .name("#kid", "key_id")
        .value(":kid", key.as_str()))
}

impl Store {
    /// Approval, as one transaction: the request goes `pending -> approved` (so of any number of
    /// concurrent approvals, and of approve racing cancel or reject, exactly one wins), the key is
    /// written, the ask records it, and an audit entry is appended.
    pub async fn approve(
        &self,
        approved: &KeyRequest,
        key: &ApiKey,
        ask: &Ask,
        audit: &AuditEntry,
    ) -> Result<()> {
        let request = Write::put(request_attrs(approved)?)
            .when("#st = :pending")
            .name("#st", "status")
            .value(":pending", RequestStatus::Pending.as_str());
        let key_put = Write::put(key_attrs(key)?)
            // Ids are generated; this only refuses an id collision.
            .when("attribute_not_exists(pk)");
        let items = vec![
            request.build(&self.table)?,
            key_put.build(&self.table)?,
            ask_of_request(ask, &approved.id)?.build(&self.table)?,
            audit_write(audit)?.build(&self.table)?,
        ];
        let on_failed = vec![
            Error::Conflict(format!("request {} is no longer pending", approved.id)),
            Error::internal("key id collision"),
            Error::Conflict("a newer request replaced this one".into()),
            Error::internal("audit id collision"),
        ];
        self.transact("Approve", items, on_failed).await
    }

    /// The keys whose validity ends on `day` (UTC `yyyy-mm-dd`), from gsi3.
    pub async fn keys_expiring_on(&self, day: &str) -> Result<Vec<ApiKey>> {
        let scope = Scope {
            index: Some(super::GSI3),
            partition: keys::expiry_partition(day),
            prefix: keys::KEY,
        };
        self.query_all(scope, None).await
    }

    /// Records, once, that the expiry job saw the key past its expiry (with `audit`, in one
    /// transaction): `false` when it was recorded before or the key was revoked meanwhile. The
    /// change reaches the stream.
    pub async fn mark_key_expired(&self, k: &KeyId, at: &str, audit: &AuditEntry) -> Result<bool> {
        let update = aws_sdk_dynamodb::types::Update::builder()
            .table_name(&self.table)
            .set_key(Some(super::key_attrs(&keys::api_key(k))))
            .update_expression("SET expired_seen_at = :at")
            // Once per key, and only for a key still stored active (a revoked one says so).
            .condition_expression(
                "attribute_exists(pk) AND attribute_not_exists(expired_seen_at) AND #st = :active",
            )
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":at", super::s(at))
            .expression_attribute_values(":active", super::s("active"))
            .build()
            .map_err(Error::internal)?;
        let items = vec![
            aws_sdk_dynamodb::types::TransactWriteItem::builder()
                .update(update)
                .build(),
        ];
        let seen = Error::Conflict(format!("key {k} was marked expired or revoked before"));
        match self
            .transact_audited("MarkKeyExpired", items, vec![seen], audit)
            .await
        {
            Ok(()) => Ok(true),
            Err(Error::Conflict(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    pub async fn get_key(&self, k: &KeyId) -> Result<Option<ApiKey>> {
        self.get(&keys::api_key(k)).await
    }

    /// Revokes an active key; `ask` is given when the holder's ask still points at this key.
    pub async fn revoke_key(
        &self,
        revoked: &ApiKey,
        ask: Option<&Ask>,
        audit: &AuditEntry,
    ) -> Result<()> {
        let key = Write::put(key_attrs(revoked)?)
            // `active -> revoked` once: a second revoke is refused. A rolled key still in its
            // grace is active and may be cut short.
            .when("#st = :active")
            .name("#st", "status")
            .value(":active", "active");
        let mut items = vec![key.build(&self.table)?];
        let mut on_failed = vec![Error::Conflict(format!("key {} is not active", revoked.id))];
        if let Some(ask) = ask {
            items.push(ask_of_key(ask, &revoked.id)?.build(&self.table)?);
            on_failed.push(Error::Conflict(
                "the key changed concurrently; retry".into(),
            ));
        }
        items.push(audit_write(audit)?.build(&self.table)?);
        on_failed.push(Error::internal("audit id collision"));
        self.transact("RevokeKey", items, on_failed).await
    }

    /// Rolls a key: the old one gets its grace (or is revoked), the new one is written, the ask
    /// points at the new one.
    pub async fn roll_key(
        &self,
        old: &ApiKey,
        new: &ApiKey,
        ask: Option<&Ask>,
        audit: &AuditEntry,
    ) -> Result<()> {
        let old_put = Write::put(key_attrs(old)?)
            // A key is rolled at most once, and only while active.
            .when("#st = :active AND attribute_not_exists(replaced_by)")
            .name("#st", "status")
            .value(":active", "active");
        let new_put = Write::put(key_attrs(new)?).when("attribute_not_exists(pk)");
        let mut items = vec![old_put.build(&self.table)?, new_put.build(&self.table)?];
        let mut on_failed = vec![
            Error::Conflict(format!(
                "key {} is not active or was already rolled",
                old.id
            )),
            Error::internal("key id collision"),
        ];
        if let Some(ask) = ask {
            items.push(ask_of_key(ask, &old.id)?.build(&self.table)?);
            on_failed.push(Error::Conflict(
                "the key changed concurrently; retry".into(),
            ));
        }
        items.push(audit_write(audit)?.build(&self.table)?);
        on_failed.push(Error::internal("audit id collision"));
        self.transact("RollKey", items, on_failed).await
    }

    pub async fn list_holder_keys(&self, u: &UserId, page: &PageRequest) -> Result<Page<ApiKey>> {
        let scope = Scope {
            index: Some(super::GSI1),
            partition: keys::user_partition(u),
            prefix: keys::KEY,
        };
        self.query_page(scope, page).await
    }

    /// Every key of a project (a project has few; the usage roll-up reads them all).
    pub async fn all_project_keys(&self, p: &ProjectId) -> Result<Vec<ApiKey>> {
        let scope = Scope {
            index: Some(super::GSI2),
            partition: keys::project_partition(p),
            prefix: keys::KEY,
        };
        self.query_all(scope, None).await
    }

    pub async fn list_project_keys(
        &self,
        p: &ProjectId,
        page: &PageRequest,
    ) -> Result<Page<ApiKey>> {
        let scope = Scope {
            index: Some(super::GSI2),
            partition: keys::project_partition(p),
            prefix: keys::KEY,
        };
        self.query_page(scope, page).await
    }
}
