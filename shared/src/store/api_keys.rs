//! Issued keys (`KEY#k` / `META`, by holder in gsi1, by project in gsi2) and the transactions
//! that issue, revoke and roll them together with their request, ask and audit entry.

use super::audit::audit_write;
use super::requests::{Write, ask_attrs, ask_of_request, request_attrs};
use aws_sdk_dynamodb::types::{ConditionCheck, TransactWriteItem};

use super::{Attrs, Scope, Store, keys, s, to_attrs};
use crate::error::{Error, Result};
use crate::model::ids::{KeyId, ProjectId, UserId};
use crate::model::key::{ApiKey, AuditEntry};
use crate::model::page::{Page, PageRequest};
use crate::model::request::{Ask, KeyRequest, RequestStatus};

use super::grants::{Operation, Touch as T, op};
use super::keys::partitions::{KEYS, PROJECTS};

/// What each method touches (`store::grants`): keys are `KEY#k` items, written with the request,
/// ask and audit items of their project; every list but the key's usage goes through an index.
pub(super) const OPERATIONS: &[Operation] = &[
    op(
        "remove_member",
        &[
            T::put(PROJECTS),
            T::put(KEYS),
            T::check(PROJECTS),
            T::delete(PROJECTS),
        ],
    ),
    op(
        "approve",
        &[T::put(PROJECTS), T::put(KEYS), T::check(PROJECTS)],
    ),
    op("keys_expiring_on", &[T::index(super::GSI3)]),
    op("mark_key_expired", &[T::update(KEYS), T::put(PROJECTS)]),
    op("get_key", &[T::get(KEYS)]),
    op("revoke_key", &[T::put(KEYS), T::put(PROJECTS)]),
    op("roll_key", &[T::put(KEYS), T::put(PROJECTS)]),
    op("list_holder_keys", &[T::index(super::GSI1)]),
    op("all_project_keys", &[T::index(super::GSI2)]),
    op("list_project_keys", &[T::index(super::GSI2)]),
];

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

/// What removing a member changes, as one transaction: every key they hold in the project is
/// revoked, every pending request of theirs cancelled, the asks that record them updated, and
/// the asks left alone are checked unchanged (so a request or approval that lands meanwhile
/// cancels the removal, which is then planned again); then the membership goes.
pub struct MemberRemoval {
    pub project: ProjectId,
    pub user: UserId,
    /// Revoked keys, with the ask that points at each (none for a rolled key in its grace) and
    /// the entry of each revocation.
    pub revoked: Vec<(ApiKey, Option<Ask>, AuditEntry)>,
    /// Cancelled requests with their asks and entries.
    pub cancelled: Vec<(KeyRequest, Ask, AuditEntry)>,
    /// Asks of closed requests or of keys no longer active: checked unchanged.
    pub unchanged: Vec<Ask>,
    /// `member.removed`.
    pub audit: AuditEntry,
}

/// A removal's condition failed on something other than the membership: the member's keys or
/// requests changed while it was planned.
pub const MEMBER_CHANGED: &str =
    "the member's keys or requests changed while they were being removed; retry";

/// Items of one `TransactWriteItems` (DynamoDB's limit).
pub const TRANSACTION_ITEMS_MAX: usize = 100;

impl MemberRemoval {
    /// How many items its transaction has.
    pub fn items(&self) -> usize {
        let revoked: usize = self
            .revoked
            .iter()
            .map(|(_, ask, _)| 2 + usize::from(ask.is_some()))
            .sum();
        revoked + 3 * self.cancelled.len() + self.unchanged.len() + 2
    }
}

impl Store {
    /// Removes a member with everything they hold in the project (see [`MemberRemoval`]).
    /// `NotFound` when they are not a member; `Conflict(MEMBER_CHANGED)` when their keys or
    /// requests changed since `r` was planned (nothing is written then).
    pub async fn remove_member(&self, r: &MemberRemoval) -> Result<()> {
        let changed = || Error::Conflict(MEMBER_CHANGED.into());
        let mut items = Vec::with_capacity(r.items());
        let mut on_failed = Vec::with_capacity(r.items());
        for (key, ask, audit) in &r.revoked {
            // `active -> revoked` once, as a revocation by hand.
            let put = Write::put(key_attrs(key)?)
                .when("#st = :active")
                .name("#st", "status")
                .value(":active", "active");
            items.push(put.build(&self.table)?);
            on_failed.push(changed());
            if let Some(ask) = ask {
                items.push(ask_of_key(ask, &key.id)?.build(&self.table)?);
                on_failed.push(changed());
            }
            items.push(audit_write(audit)?.build(&self.table)?);
            on_failed.push(Error::internal("audit id collision"));
        }
        for (request, ask, audit) in &r.cancelled {
            let put = Write::put(request_attrs(request)?)
                .when("#st = :pending")
                .name("#st", "status")
                .value(":pending", RequestStatus::Pending.as_str());
            items.push(put.build(&self.table)?);
            items.push(ask_of_request(ask, &request.id)?.build(&self.table)?);
            items.push(audit_write(audit)?.build(&self.table)?);
            on_failed.extend([changed(), changed(), Error::internal("audit id collision")]);
        }
        for ask in &r.unchanged {
            items.push(self.ask_unchanged(ask)?);
            on_failed.push(changed());
        }
        items.push(self.member_delete(&r.project, &r.user)?);
        on_failed.push(Error::NotFound(format!(
            "member {} of project {}",
            r.user, r.project
        )));
        items.push(audit_write(&r.audit)?.build(&self.table)?);
        on_failed.push(Error::internal("audit id collision"));
        self.transact("RemoveMember", items, on_failed).await
    }

    /// Holds while the ask still records the same request, in the same state, with the same key
    /// state.
    fn ask_unchanged(&self, ask: &Ask) -> Result<TransactWriteItem> {
        let mut check = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(super::key_attrs(&keys::ask(
                &ask.project_id,
                &ask.user_id,
                &ask.template_id,
            ))))
            .expression_attribute_names("#rq", "request")
            .expression_attribute_names("#id", "id")
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":rid", s(ask.request.id.as_str()))
            .expression_attribute_values(":st", s(ask.request.status.as_str()));
        check = match &ask.key_status {
            Some(status) => check
                .condition_expression("#rq.#id = :rid AND #rq.#st = :st AND key_status = :ks")
                .expression_attribute_values(":ks", s(status)),
            None => check.condition_expression(
                "#rq.#id = :rid AND #rq.#st = :st AND attribute_not_exists(key_status)",
            ),
        };
        Ok(TransactWriteItem::builder()
            .condition_check(check.build().map_err(Error::internal)?)
            .build())
    }

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
            // No key for someone who is no longer a member (a removal may have raced this).
            self.member_exists(&approved.project_id, &approved.requester.id)?,
            audit_write(audit)?.build(&self.table)?,
        ];
        let on_failed = vec![
            Error::Conflict(format!("request {} is no longer pending", approved.id)),
            Error::internal("key id collision"),
            Error::Conflict("a newer request replaced this one".into()),
            Error::Conflict(format!(
                "{} is no longer a member of project {}: reject the request",
                approved.requester.id, approved.project_id
            )),
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
