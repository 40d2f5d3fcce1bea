//! Who may do what in a project: members read, the owner writes. Someone who is not a member
//! gets 404, the same answer as for a project that does not exist, so ids do not leak.

use crate::domain::ids::ProjectId;
use crate::domain::project::{Membership, Project};
use crate::error::{Error, Result};
use crate::identity::Caller;
use crate::store::Store;

/// The caller's membership of `p`; `NotFound` when there is none.
pub async fn require_member(store: &Store, p: &ProjectId, caller: &Caller) -> Result<Membership> {
    match store.get_member(p, &caller.id).await? {
        Some(m) => Ok(m.membership),
        None => Err(Error::NotFound(format!("project {p}"))),
    }
}

/// Passes only for the owner (members get 403, others 404); returns the project.
pub async fn require_owner(store: &Store, p: &ProjectId, caller: &Caller) -> Result<Project> {
    match require_member(store, p, caller).await? {
        Membership::Owner => store
            .get_project(p)
            .await?
            .ok_or_else(|| Error::NotFound(format!("project {p}"))),
        Membership::Member => Err(Error::Forbidden(format!(
            "only the owner of project {p} may do this"
        ))),
    }
}
