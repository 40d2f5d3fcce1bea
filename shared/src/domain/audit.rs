//! A project's audit trail: one append-only entry per state change, written in the same
//! transaction as the change itself (so there is no change without its entry, and no entry for
//! a change that did not happen). Its owner reads it newest first (`GET /v1/projects/{p}/audit`).

use crate::access;
use crate::error::Result;
use crate::model::caller::Caller;
use crate::model::ids::ProjectId;
use crate::model::page::{Page, PageRequest};
use crate::store::Store;

// The types, limits and pure rules are the model's.
pub use crate::model::audit::*;

/// The project's audit trail, newest first; the owner's only (members 403, others 404).
pub async fn list(
    store: &Store,
    caller: &Caller,
    p: &ProjectId,
    page: &PageRequest,
) -> Result<Page<AuditEntry>> {
    access::require_owner(store, p, caller).await?;
    store.list_audit(p, page).await
}
