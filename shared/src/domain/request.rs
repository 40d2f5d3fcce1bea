//! Key requests: a member asks for a key from a template; the owner approves or rejects; the
//! requester may cancel while it is pending. Each (user, template) pair has one "ask" record that
//! enforces one open request at a time and answers "my request" on template lists.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::audit::AuditEntry;
use super::ids::{KeyId, ProjectId, RequestId, TemplateId, UserId};
use super::{check_text, now};
use crate::access;
use crate::error::{Error, Result};
use crate::model::caller::Caller;
use crate::model::project::{Membership, Person};
use crate::page::{Page, PageRequest};
use crate::store::{Store, Window};

pub const COMMENT_MAX: usize = 1000;
pub const REASON_MAX: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RequestStatus {
    Pending,
    Approved,
    Rejected,
    Cancelled,
}

impl RequestStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Pending => "pending",
            RequestStatus::Approved => "approved",
            RequestStatus::Rejected => "rejected",
            RequestStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(field: &str, v: &str) -> Result<Self, crate::FieldError> {
        match v {
            "pending" => Ok(RequestStatus::Pending),
            "approved" => Ok(RequestStatus::Approved),
            "rejected" => Ok(RequestStatus::Rejected),
            "cancelled" => Ok(RequestStatus::Cancelled),
            _ => Err(crate::FieldError::new(
                field,
                "must be one of pending, approved, rejected, cancelled",
            )),
        }
    }
}

/// A request for a key. Stored as `PROJECT#p` / `REQUEST#r`, indexed by requester in gsi1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRequest {
    pub id: RequestId,
    pub project_id: ProjectId,
    pub template_id: TemplateId,
    pub template_name: String,
    pub requester: Person,
    pub comment: String,
    pub status: RequestStatus,
    /// Why it was rejected or cancelled, when it was.
    pub reason: Option<String>,
    pub key_id: Option<KeyId>,
    pub created_at: String,
    pub decided_at: Option<String>,
    pub decided_by: Option<Person>,
}

/// The caller's latest request for one template, as shown on template lists (`my_request`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MyRequest {
    pub id: RequestId,
    pub status: RequestStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<KeyId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The per-(user, template) record (`PROJECT#p` / `ASK#u#t`): the latest request and, once
/// approved, its key's state. A new request is allowed only when there is none, or the latest was
/// rejected or cancelled, or its key was revoked or has expired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ask {
    pub project_id: ProjectId,
    pub template_id: TemplateId,
    pub user_id: UserId,
    pub request: MyRequest,
    /// `active` or `revoked` once a key exists.
    pub key_status: Option<String>,
    pub key_expires_at: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRequestInput {
    pub comment: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RejectInput {
    pub reason: Option<String>,
}

impl Ask {
    /// The ask of a request, without a key yet.
    pub fn of(r: &KeyRequest) -> Ask {
        Ask {
            project_id: r.project_id.clone(),
            template_id: r.template_id.clone(),
            user_id: r.requester.id.clone(),
            request: MyRequest {
                id: r.id.clone(),
                status: r.status,
                key_id: r.key_id.clone(),
                reason: r.reason.clone(),
            },
            key_status: None,
            key_expires_at: None,
        }
    }
}

fn not_found(p: &ProjectId, r: &RequestId) -> Error {
    Error::NotFound(format!("request {r} in project {p}"))
}

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
    let comment = check_text(
        "comment",
        input.comment.as_deref().unwrap_or(""),
        COMMENT_MAX,
    )
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
    let epoch = super::epoch_seconds()?;
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
    reason: Option<String>,
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
    let reason = match input
        .reason
        .as_deref()
        .map(|r| check_text("reason", r, REASON_MAX))
    {
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
) -> Vec<(KeyRequest, Ask)> {
    pending
        .into_iter()
        .map(|req| {
            let closed = KeyRequest {
                status: RequestStatus::Cancelled,
                reason: Some("the template was deleted".into()),
                decided_at: Some(now()),
                decided_by: Some(caller.person()),
                ..req
            };
            let ask = Ask::of(&closed);
            (closed, ask)
        })
        .collect()
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
