//! Who may do what in a project: members read, the owner writes. Someone who is not a member
//! gets 404, the same answer as for a project that does not exist, so ids do not leak.

use crate::error::{Error, Result};
use crate::model::caller::Caller;
use crate::model::ids::ProjectId;
use crate::model::project::{Member, Membership};
use crate::store::Store;

/// The caller's membership record of `p`; `NotFound` when there is none. One read.
pub async fn membership(store: &Store, p: &ProjectId, caller: &Caller) -> Result<Member> {
    store
        .get_member(p, &caller.id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("project {p}")))
}

/// The caller's role in `p`; `NotFound` when they are not a member.
pub async fn require_member(store: &Store, p: &ProjectId, caller: &Caller) -> Result<Membership> {
    Ok(membership(store, p, caller).await?.membership)
}

/// Passes only for the owner (members get 403, others 404); returns the owner's membership
/// (which carries the project's name), still one read.
pub async fn require_owner(store: &Store, p: &ProjectId, caller: &Caller) -> Result<Member> {
    let m = membership(store, p, caller).await?;
    match m.membership {
        Membership::Owner => Ok(m),
        Membership::Member => Err(Error::Forbidden(format!(
            "only the owner of project {p} may do this"
        ))),
    }
}
