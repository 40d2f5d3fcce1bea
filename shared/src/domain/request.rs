//! Key requests: a member asks for a key from a template; the owner approves or rejects; the
//! requester may cancel while it is pending. Each (user, template) pair has one "ask" record that
//! enforces one open request at a time and answers "my request" on template lists.

use super::audit::AuditEntry;
use crate::access;
use crate::error::{Error, Result};
use crate::model::caller::Caller;
use crate::model::ids::{ProjectId, RequestId, TemplateId};
use crate::model::page::{Page, PageRequest};
use crate::model::project::Membership;
use crate::model::time::now;
use crate::store::{Store, Window};
use std::collections::HashMap;

// The types, limits and pure rules are the model's.
pub use crate::model::request::*;

/// A request as the caller may see it: the requester and the project's owner; others get 404.
async fn load_visible(
    store: &Store,
    caller: &Caller,
    p: &ProjectId,
    r: &RequestId,
) -> Result<(KeyRequest, Membership)> {
    let membership = access::require_member(store, p, caller).await?;
    let req = store
        .get_request(p, r)
        .await?
        .ok_or_else(|| not_found(p, r))?;
    if membership != Membership::Owner && req.requester.id != caller.id {
        return Err(not_found(p, r));
    }
    Ok((req, membership))
}

/// A member asks for a key from a template; at most `per_hour` requests per user and hour.
pub async fn create(
    store: &Store,
    caller: &Caller,
    p: &ProjectId,
    t: &TemplateId,
    input: NewRequestInput,
    per_hour: u32,
) -> Result<KeyRequest> {
    access::require_member(store, p, caller).await?;
    let comment = Comment::parse("comment", input.comment.as_deref().unwrap_or(""))
        .map_err(|e| Error::Invalid(vec![e]))?;
    let template = store
        .get_template(p, t)
        .await?
        .ok_or_else(|| Error::NotFound(format!("template {t} in project {p}")))?;
    let request = KeyRequest {
        id: RequestId::generate(),
        project_id: p.clone(),
        template_id: t.clone(),
        template_name: template.name,
        requester: caller.person(),
        comment,
        status: RequestStatus::Pending,
        reason: None,
        key_id: None,
        created_at: now(),
        decided_at: None,
        decided_by: None,
    };
    let epoch = crate::model::time::epoch_seconds()?;
    let window = Window::at(
        &crate::store::keys::user_requests_subject(&caller.id),
        3600,
        per_hour,
        epoch,
    );
    let audit =
        AuditEntry::new(p, caller, "request.created", "request", &request.id).request(&request.id);
    store
        .create_request(
            &request,
            &Ask::of(&request),
            &window,
            &audit,
            window.retry_after(epoch),
        )
        .await?;
    Ok(request)
}

/// Closes a pending request (reject or cancel), recording who and why.
async fn close(
    store: &Store,
    caller: &Caller,
    req: KeyRequest,
    status: RequestStatus,
    reason: Option<Reason>,
) -> Result<KeyRequest> {
    if req.status != RequestStatus::Pending {
        return Err(Error::Conflict(format!(
            "request {} is {}, not pending",
            req.id,
            req.status.as_str()
        )));
    }
    let closed = KeyRequest {
        status,
        reason,
        decided_at: Some(now()),
        decided_by: Some(caller.person()),
        ..req
    };
    let action = match closed.status {
        RequestStatus::Rejected => "request.rejected",
        _ => "request.cancelled",
    };
    let audit = AuditEntry::new(&closed.project_id, caller, action, "request", &closed.id)
        .request(&closed.id);
    store
        .close_request(&closed, &Ask::of(&closed), &audit)
        .await?;
    Ok(closed)
}

/// The requester withdraws a pending request.
pub async fn cancel(store: &Store, caller: &Caller, p: &ProjectId, r: &RequestId) -> Result<()> {
    let (req, _) = load_visible(store, caller, p, r).await?;
    if req.requester.id != caller.id {
        return Err(Error::Forbidden(
            "only the requester may cancel a request".into(),
        ));
    }
    close(store, caller, req, RequestStatus::Cancelled, None)
        .await
        .map(|_| ())
}

/// The owner turns a pending request down.
pub async fn reject(
    store: &Store,
    caller: &Caller,
    p: &ProjectId,
    r: &RequestId,
    input: RejectInput,
) -> Result<KeyRequest> {
    // Members are told they may not decide (403), as for approvals; outsiders see nothing (404).
    access::require_owner(store, p, caller).await?;
    let req = store
        .get_request(p, r)
        .await?
        .ok_or_else(|| not_found(p, r))?;
    let reason = match input.reason.as_deref().map(|r| Reason::parse("reason", r)) {
        Some(Ok(r)) if !r.is_empty() => Some(r),
        Some(Err(e)) => return Err(Error::Invalid(vec![e])),
        _ => None,
    };
    close(store, caller, req, RequestStatus::Rejected, reason).await
}

/// The project's requests for its owner, optionally of one status.
pub async fn list_for_owner(
    store: &Store,
    caller: &Caller,
    p: &ProjectId,
    status: Option<&str>,
    page: &PageRequest,
) -> Result<Page<KeyRequest>> {
    access::require_owner(store, p, caller).await?;
    let status = status
        .map(|s| RequestStatus::parse("status", s))
        .transpose()
        .map_err(|e| Error::Invalid(vec![e]))?;
    store.list_project_requests(p, status, page).await
}

pub async fn list_mine(
    store: &Store,
    caller: &Caller,
    page: &PageRequest,
) -> Result<Page<KeyRequest>> {
    store.list_user_requests(&caller.id, page).await
}

/// The caller's latest request per template of a project (for `my_request` on template lists).
pub async fn my_requests(
    store: &Store,
    caller: &Caller,
    p: &ProjectId,
) -> Result<HashMap<TemplateId, MyRequest>> {
    Ok(store
        .user_asks(p, &caller.id)
        .await?
        .into_iter()
        .map(|a| (a.template_id, a.request))
        .collect())
}

/// Closes every pending request of a template that is being deleted (the caller is its owner).
pub fn closed_by_template_deletion(
    caller: &Caller,
    pending: Vec<KeyRequest>,
) -> Result<Vec<(KeyRequest, Ask)>> {
    let reason = system_reason("the template was deleted")?;
    Ok(pending
        .into_iter()
        .map(|req| {
            let closed = KeyRequest {
                status: RequestStatus::Cancelled,
                reason: Some(reason.clone()),
                decided_at: Some(now()),
                decided_by: Some(caller.person()),
                ..req
            };
            let ask = Ask::of(&closed);
            (closed, ask)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_parse_and_name_themselves() {
        for s in [
            RequestStatus::Pending,
            RequestStatus::Approved,
            RequestStatus::Rejected,
            RequestStatus::Cancelled,
        ] {
            assert_eq!(RequestStatus::parse("status", s.as_str()), Ok(s));
            assert_eq!(
                serde_json::to_value(s).expect("json"),
                serde_json::Value::String(s.as_str().into())
            );
        }
        assert_eq!(
            RequestStatus::parse("status", "open").unwrap_err().field,
            "status"
        );
    }
}
