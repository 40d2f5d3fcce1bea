//! Audit entries (`PROJECT#p` / `AUDIT#at#id`): appended inside the transaction of the change
//! they record (or, for an event that changes nothing, such as a token revealed, on their own
//! before the event's answer goes out), read back newest first.

use aws_sdk_dynamodb::types::TransactWriteItem;

use super::grants::{Operation, Touch as T, op};
use super::keys::partitions::PROJECTS;
use super::requests::Write;
use super::{Scope, Store, keys, to_attrs, written};
use crate::error::{Error, Result};
use crate::model::audit::AuditEntry;
use crate::model::ids::ProjectId;
use crate::model::page::{Page, PageRequest};

/// What each method touches (`store::grants`): entries live in their project's partition.
pub(super) const OPERATIONS: &[Operation] = &[
    op("append_audit", &[T::put(PROJECTS)]),
    op("list_audit", &[T::query(PROJECTS)]),
];

pub(super) fn audit_write(a: &AuditEntry) -> Result<Write> {
    Ok(Write::put(to_attrs(
        keys::audit(&a.project_id, &a.at, &a.id),
        &[],
        "audit",
        a,
    )?)
    // Audit entries are append-only.
    .when("attribute_not_exists(pk)"))
}

impl Store {
    /// `transact` with the change's audit entry as one more item of the same transaction.
    pub(super) async fn transact_audited(
        &self,
        op: &str,
        mut items: Vec<TransactWriteItem>,
        mut on_failed: Vec<Error>,
        audit: &AuditEntry,
    ) -> Result<()> {
        items.push(audit_write(audit)?.build(&self.table)?);
        on_failed.push(Error::internal("audit id collision"));
        self.transact(op, items, on_failed).await
    }

    /// Appends an entry that records no change (a key's token revealed): a put of its own,
    /// append-only like every entry. Its caller goes on only once it is written.
    pub async fn append_audit(&self, a: &AuditEntry) -> Result<()> {
        let item = to_attrs(keys::audit(&a.project_id, &a.at, &a.id), &[], "audit", a)?;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        if written("PutItem audit", result)? {
            Ok(())
        } else {
            Err(Error::internal("audit id collision"))
        }
    }

    /// A project's audit trail, newest first.
    pub async fn list_audit(&self, p: &ProjectId, page: &PageRequest) -> Result<Page<AuditEntry>> {
        let scope = Scope {
            index: None,
            partition: keys::project_partition(p),
            prefix: keys::AUDIT,
        };
        self.query_ordered(scope, page, None, false).await
    }
}
