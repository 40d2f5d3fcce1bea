//! Audit data: the types, limits and pure rules of `domain::audit` (no I/O; the
//! operations that check access and call the store stay in `domain::audit`).

use crate::model::caller::Caller;
use crate::model::ids::new_id;
use crate::model::ids::{KeyId, ProjectId, RequestId};
use crate::model::project::Person;
use crate::model::time::now;
use serde::{Deserialize, Serialize};

/// What a change was made to: `{"type": "template", "id": "..."}`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
}

/// One line of a project's audit trail (`PROJECT#p` / `AUDIT#at#id`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    schema(description = "One state change of a project: who, when, what.")
)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub project_id: ProjectId,
    pub id: String,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::model::schema::Timestamp))]
    pub at: String,
    /// Who made the change; `null` for keygate itself (a key seen past its expiry, an import
    /// following its key's revocation or roll).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub actor: Option<Person>,
    /// `<thing>.<what happened>`: `template.created`, `key.revoked`, `import.deleted`, ...
    pub action: String,
    /// What the change was made to, e.g. `{"type": "template", "id": ...}`.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub target: Option<Target>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub request_id: Option<RequestId>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub key_id: Option<KeyId>,
}

impl AuditEntry {
    /// An entry for `action` on the thing `kind` `id`, by the caller, now.
    pub fn new(
        project: &ProjectId,
        actor: &Caller,
        action: &str,
        kind: &str,
        id: impl std::fmt::Display,
    ) -> Self {
        AuditEntry {
            actor: Some(actor.person()),
            ..Self::by_keygate(project, action, kind, id)
        }
    }

    /// An entry for a change keygate made itself, following one a user made or time.
    pub fn by_keygate(
        project: &ProjectId,
        action: &str,
        kind: &str,
        id: impl std::fmt::Display,
    ) -> Self {
        AuditEntry {
            project_id: project.clone(),
            id: new_id(),
            at: now(),
            actor: None,
            action: action.to_string(),
            target: Some(Target {
                kind: kind.to_string(),
                id: id.to_string(),
            }),
            request_id: None,
            key_id: None,
        }
    }

    pub fn request(mut self, r: &RequestId) -> Self {
        self.request_id = Some(r.clone());
        self
    }

    pub fn key(mut self, k: &KeyId) -> Self {
        self.key_id = Some(k.clone());
        self
    }
}
