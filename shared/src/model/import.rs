//! Import data: the types, limits and pure rules of `domain::import` (no I/O; the
//! operations that check access and call the store stay in `domain::import`).

use crate::error::{Error, FieldError, Result};
use crate::model::ids::{KeyId, NodeId, Prefix, ProjectId, SecretName, UserId};
use crate::model::key::{KeyField, KeyStatus};
use crate::model::project::Person;
use crate::model::template::{TOKEN_IDENTIFIER as TOKEN, field_identifier as identifier};
use crate::model::time::format_time;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// How long an import or delete in progress holds its record against other attempts. Longer
/// than any function's timeout, so a crashed attempt's lease always runs out.
pub const LEASE_SECONDS: i64 = 120;
/// Secrets written to Secrets Manager at the same time by one import.
pub const WRITE_CONCURRENCY: usize = 4;
/// Most nodes one secret can be granted to.
pub const NODES_MAX: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImportState {
    /// Secrets are being written by the attempt that holds the lease.
    Importing,
    Ready,
    /// Secrets are being deleted by the attempt that holds the lease.
    Deleting,
}

/// An import record (`PROJECT#c` / `IMPORT#prefix`; gsi1 `KEY#k` / `IMPORT#c#prefix`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Import {
    pub project_id: ProjectId,
    pub prefix: Prefix,
    pub key_id: KeyId,
    /// The project the key gives access to.
    pub key_project_id: ProjectId,
    pub importer: Person,
    /// Every secret the import writes, the token's first.
    pub secrets: Vec<SecretName>,
    pub state: ImportState,
    /// `active`, or `revoked` once the key is revoked (its token secret is then gone).
    pub key_status: KeyStatus,
    /// The attempt that last wrote the record: each write is conditional on it.
    pub attempt: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_until: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// Whether this import was complete (`ready`) before the current attempt: a re-import.
    /// The lifecycle events tell `import.created` from `import.updated` by it.
    #[serde(default)]
    pub imported_before: bool,
    /// Who is deleting it (state `deleting`): the lifecycle event's actor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_by: Option<Person>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SecretState {
    /// Written by an import that has not finished: not listed.
    Pending,
    Ready,
}

/// One imported secret (`PROJECT#c` / `SECRET#name`), without its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportedSecret {
    pub project_id: ProjectId,
    pub name: SecretName,
    pub prefix: Prefix,
    pub key_id: KeyId,
    pub importer: UserId,
    /// The info field it holds; `None` for the token.
    pub field: Option<String>,
    pub nodes: Vec<NodeId>,
    pub state: SecretState,
    pub key_status: KeyStatus,
    pub updated_at: String,
}

/// Where a secret comes from.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Source {
    pub key_id: KeyId,
    pub prefix: Prefix,
    /// `active`, or `revoked` when the key was revoked (the token secret is then gone).
    pub key_status: KeyStatus,
}

/// A secret as `GET /v1/projects/{c}/secrets` lists it: never its value.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = Secret))]
#[cfg_attr(
    feature = "openapi",
    schema(description = "An imported secret; never its value.")
)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretView {
    pub name: SecretName,
    pub source: Source,
    /// The info field it holds; `null` for the token.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub field: Option<String>,
    pub nodes: Vec<NodeId>,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::model::schema::Timestamp))]
    pub updated_at: String,
}

impl ImportedSecret {
    pub fn view(&self) -> SecretView {
        SecretView {
            name: self.name.clone(),
            source: Source {
                key_id: self.key_id.clone(),
                prefix: self.prefix.clone(),
                key_status: self.key_status,
            },
            field: self.field.clone(),
            nodes: self.nodes.clone(),
            updated_at: self.updated_at.clone(),
        }
    }
}

/// `201`/`200` of an import: what was written, with each secret's nodes.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = Import))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportView {
    pub prefix: Prefix,
    pub key_id: KeyId,
    pub secrets: Vec<GrantView>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = Grant))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GrantView {
    pub name: SecretName,
    pub nodes: Vec<NodeId>,
}

/// The secrets of an import: the token's, then one per info field (its index in `fields`).
/// Two fields that make one name, or a field that makes the token's name, break the rule (422,
/// naming each field involved). Templates refuse both; keys issued earlier are checked here.
pub fn plan(prefix: &Prefix, fields: &[KeyField]) -> Result<Vec<(SecretName, Option<usize>)>> {
    let mut out = vec![(SecretName::of(prefix, TOKEN), None)];
    let mut errors = Vec::new();
    let mut seen: Vec<(String, usize)> = Vec::new();
    for (i, f) in fields.iter().enumerate() {
        let id = identifier(&f.name);
        let path = |i: usize| format!("key.fields[{i}].name");
        if id == TOKEN {
            errors.push(FieldError::new(
                path(i),
                format!(
                    "{:?} would be named {prefix}_{TOKEN}, which holds the key's token",
                    f.name
                ),
            ));
        } else if let Some((_, j)) = seen.iter().find(|(s, _)| *s == id) {
            let other = &fields[*j].name;
            for (k, this, that) in [(*j, other, &f.name), (i, &f.name, other)] {
                errors.push(FieldError::new(
                    path(k),
                    format!("{this:?} and {that:?} would both be named {prefix}_{id}"),
                ));
            }
        } else {
            seen.push((id.clone(), i));
            out.push((SecretName::of(prefix, &id), Some(i)));
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(Error::Unprocessable(errors))
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    schema(description = "The caller's own active key, imported under `prefix`.")
)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportInput {
    #[cfg_attr(feature = "openapi", schema(value_type = crate::model::ids::KeyId))]
    pub key_id: String,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::model::ids::Prefix))]
    pub prefix: String,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodesInput {
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::model::import::schemas::nodes))]
    pub nodes: Vec<String>,
}

pub fn lease_until() -> String {
    format_time(OffsetDateTime::now_utc() + time::Duration::seconds(LEASE_SECONDS))
}

/// The record is held by an attempt still within its lease.
pub fn busy(i: &Import, at: &str) -> bool {
    i.state != ImportState::Ready && i.lease_until.as_deref().is_some_and(|l| l > at)
}

pub fn in_progress(i: &Import) -> Error {
    Error::Conflict(format!(
        "an import or delete of prefix {} in project {} is in progress (until {}); retry then",
        i.prefix,
        i.project_id,
        i.lease_until.as_deref().unwrap_or("soon")
    ))
}

/// The schemas of this module's input fields (feature `openapi`, see `model::schema`).
#[cfg(feature = "openapi")]
pub mod schemas {
    use utoipa::PartialSchema;
    use utoipa::openapi::schema::ArrayBuilder;
    use utoipa::openapi::{RefOr, Schema};

    use super::NODES_MAX;
    use crate::model::ids::NodeId;

    pub fn nodes() -> RefOr<Schema> {
        RefOr::T(Schema::Array(
            ArrayBuilder::new()
                .items(NodeId::schema())
                .max_items(Some(NODES_MAX))
                .unique_items(true)
                .build(),
        ))
    }
}
