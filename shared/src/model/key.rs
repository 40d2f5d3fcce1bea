//! Key data: the types, limits and pure rules of `domain::key` (no I/O; the
//! operations that check access and call the store stay in `domain::key`).

use crate::error::{Error, Result};
pub use crate::model::audit::AuditEntry;
use crate::model::caller::Caller;
use crate::model::ids::{KeyId, ProjectId, RequestId, RoleName, TemplateId};
use crate::model::project::Person;
use crate::model::request::KeyRequest;
use crate::model::template::{FieldDescription, TemplateName};
use crate::model::time::{format_time, now};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Longest grace an old key keeps verifying after a roll (7 days).
pub const ROLL_GRACE_MAX_SECONDS: u64 = 7 * 24 * 3600;

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyField {
    /// The field's name as it was at approval: a key approved before templates checked names
    /// carries what it carried then, so this is not a checked `FieldName`.
    pub name: String,
    pub description: FieldDescription,
    pub value: String,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyStatus {
    Active,
    Revoked,
    Expired,
}

impl KeyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Active => "active",
            KeyStatus::Revoked => "revoked",
            KeyStatus::Expired => "expired",
        }
    }
}

/// A key as stored (`KEY#k` / `META`, gsi1 by holder, gsi2 by project).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    pub id: KeyId,
    pub project_id: ProjectId,
    pub template_id: TemplateId,
    pub request_id: RequestId,
    /// The template's name at approval.
    pub name: TemplateName,
    pub role: RoleName,
    pub holder: Person,
    pub fields: Vec<KeyField>,
    /// `active` or `revoked` as stored; `expired` is derived on read.
    pub status: KeyStatus,
    pub issued_at: String,
    /// Stored as `valid_until`: `expires_at` is the table's TTL attribute, and a key must never
    /// be deleted by TTL (its record outlives its validity).
    #[serde(rename = "valid_until")]
    pub expires_at: Option<String>,
    pub last_used_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_by: Option<Person>,
    /// After a roll: the key that replaced this one, and until when this one still verifies.
    /// Absent (not NULL) until then: the roll's condition is `attribute_not_exists(replaced_by)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaced_by: Option<KeyId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_until: Option<String>,
    /// When the expiry job first saw this key past its expiry (once; the stream then tells
    /// imports-sync and the lifecycle events). Expiry itself is checked on every read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expired_seen_at: Option<String>,
    /// Token claims as first signed, so the token re-mints identically (times in epoch seconds).
    pub iss: String,
    pub aud: String,
    pub iat: u64,
    pub exp: Option<u64>,
    /// The signing key that signed the token: re-minting uses the same one.
    pub kid: String,
}

/// `POST .../approve`'s answer: the request, now approved, and the key it made.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct Approval {
    pub request: KeyRequest,
    pub key: KeyView,
}

/// A key's token as its holder reveals it (`GET /v1/keys/{k}/token`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Serialize)]
pub struct KeyToken<'a> {
    /// The API key (a JWT).
    pub token: &'a str,
}

/// A key as its holder and its project's owner see it: the stored key with its status as of now
/// (`expired` past `expires_at`, `revoked` past a roll's grace), never the token.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = Key))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyView {
    pub id: KeyId,
    pub project_id: ProjectId,
    pub template_id: TemplateId,
    pub request_id: RequestId,
    pub name: TemplateName,
    pub role: RoleName,
    pub holder: Person,
    pub fields: Vec<KeyField>,
    pub status: KeyStatus,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::model::schema::Timestamp))]
    pub issued_at: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::model::schema::Timestamp>))]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub expires_at: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::model::schema::Timestamp>))]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub last_used_at: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::model::schema::Timestamp>))]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub revoked_at: Option<String>,
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub replaced_by: Option<KeyId>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::model::schema::Timestamp>))]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub grace_until: Option<String>,
}

impl ApiKey {
    /// The key's status at time `at` (RFC 3339 strings of one format compare as times).
    pub fn status_at(&self, at: &str) -> KeyStatus {
        if self.status == KeyStatus::Revoked || self.grace_until.as_deref().is_some_and(|g| g <= at)
        {
            KeyStatus::Revoked
        } else if self.expires_at.as_deref().is_some_and(|e| e <= at) {
            KeyStatus::Expired
        } else {
            KeyStatus::Active
        }
    }

    pub fn view(&self) -> KeyView {
        let k = self.clone();
        KeyView {
            status: self.status_at(&now()),
            id: k.id,
            project_id: k.project_id,
            template_id: k.template_id,
            request_id: k.request_id,
            name: k.name,
            role: k.role,
            holder: k.holder,
            fields: k.fields,
            issued_at: k.issued_at,
            expires_at: k.expires_at,
            last_used_at: k.last_used_at,
            revoked_at: k.revoked_at,
            replaced_by: k.replaced_by,
            grace_until: k.grace_until,
        }
    }

    /// The token's claims, exactly as first signed.
    pub fn claims(&self) -> Claims {
        Claims {
            iss: self.iss.clone(),
            aud: self.aud.clone(),
            sub: self.holder.id.to_string(),
            jti: self.id.to_string(),
            role: self.role.to_string(),
            iat: self.iat,
            nbf: None,
            exp: self.exp,
        }
    }
}

pub fn epoch_to_time(secs: u64) -> Result<String> {
    let t = OffsetDateTime::from_unix_timestamp(secs as i64).map_err(Error::internal)?;
    Ok(format_time(t))
}

/// A key change's audit entry: on the key, naming its request.
pub fn audit(
    project: &ProjectId,
    actor: &Caller,
    action: &str,
    request: &RequestId,
    key: &KeyId,
) -> AuditEntry {
    AuditEntry::new(project, actor, action, "key", key)
        .request(request)
        .key(key)
}

pub fn key_not_found(k: &KeyId) -> Error {
    Error::NotFound(format!("key {k}"))
}

/// The claims of an API key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    /// The platform API of the key's project.
    pub aud: String,
    /// The holder's user id.
    pub sub: String,
    /// The key id.
    pub jti: String,
    /// The project role whose permissions the key carries.
    pub role: String,
    pub iat: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<u64>,
}

/// The schemas of the key routes' input fields (feature `openapi`, see `model::schema`).
#[cfg(feature = "openapi")]
pub mod schemas {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    use utoipa::openapi::{RefOr, Schema};

    use super::ROLL_GRACE_MAX_SECONDS;
    use crate::model::schema::object;

    pub fn grace_seconds() -> RefOr<Schema> {
        object(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(0))
                .maximum(Some(ROLL_GRACE_MAX_SECONDS))
                .description(Some(
                    "How long the old key still verifies (default 0: revoked at once).",
                )),
        )
    }
}
