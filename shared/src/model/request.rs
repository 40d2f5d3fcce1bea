//! Request data: the types, limits and pure rules of `domain::request` (no I/O; the
//! operations that check access and call the store stay in `domain::request`).

use crate::error::{Error, Result};
use crate::model::checks::Text;
use crate::model::ids::{KeyId, ProjectId, RequestId, TemplateId, UserId};
use crate::model::project::Person;
use crate::model::template::TemplateName;
use serde::{Deserialize, Serialize};

pub const COMMENT_MAX: usize = 1000;
pub const REASON_MAX: usize = 1000;

/// The requester's comment on a request (at most 1,000 characters, may be empty).
pub type Comment = Text<COMMENT_MAX>;
/// Why a request was rejected or cancelled (at most 1,000 characters).
pub type Reason = Text<REASON_MAX>;

/// A reason keygate gives itself (a removed requester, a deleted template), held to the same
/// check as one a person writes.
pub fn system_reason(text: &str) -> Result<Reason> {
    Reason::parse("reason", text)
        .map_err(|e| Error::Internal(format!("reason {text:?} fails its check: {}", e.message)))
}

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
    pub template_name: TemplateName,
    pub requester: Person,
    pub comment: Comment,
    pub status: RequestStatus,
    /// Why it was rejected or cancelled, when it was.
    pub reason: Option<Reason>,
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
    pub reason: Option<Reason>,
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

pub fn not_found(p: &ProjectId, r: &RequestId) -> Error {
    Error::NotFound(format!("request {r} in project {p}"))
}
