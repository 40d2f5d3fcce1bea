//! Audit entries (`PROJECT#p` / `AUDIT#at#id`): appended inside the transaction of the change
//! they record, read back newest first.

use aws_sdk_dynamodb::types::TransactWriteItem;

use super::requests::Write;
use super::{Scope, Store, keys, to_attrs};
use crate::domain::audit::AuditEntry;
use crate::domain::ids::ProjectId;
use crate::error::{Error, Result};
use crate::http::{Page, PageRequest};

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
