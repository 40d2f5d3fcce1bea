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

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(description = "A request for a key."))]
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
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub reason: Option<Reason>,
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub key_id: Option<KeyId>,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::model::schema::Timestamp))]
    pub created_at: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::model::schema::Timestamp>))]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub decided_at: Option<String>,
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub decided_by: Option<Person>,
}

/// The caller's latest request for one template, as shown on template lists (`my_request`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    schema(description = "The caller's latest request for the template.")
)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MyRequest {
    pub id: RequestId,
    pub status: RequestStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub key_id: Option<KeyId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
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

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = NewRequest))]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRequestInput {
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::model::request::schemas::comment))]
    pub comment: Option<String>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = Rejection))]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RejectInput {
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::model::request::schemas::reason))]
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

/// The schemas of this module's input fields (feature `openapi`, see `model::schema`).
#[cfg(feature = "openapi")]
pub mod schemas {
    use utoipa::openapi::{RefOr, Schema};

    use super::{COMMENT_MAX, REASON_MAX};
    use crate::model::schema::{object, text};

    pub fn comment() -> RefOr<Schema> {
        object(text(0, COMMENT_MAX))
    }
    pub fn reason() -> RefOr<Schema> {
        object(text(0, REASON_MAX))
    }
}
