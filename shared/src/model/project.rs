//! A project and what belongs to it, as data: the project, its people (members, the owner one of
//! them), roles (name -> permissions), nodes, the inputs that change them with their limits, and
//! who may create one. Pure: no I/O, nothing above the model.

use serde::{Deserialize, Serialize};

use crate::error::{FieldError, Result};
use crate::model::checks::{Check, Name, Text};
use crate::model::ids::{Email, NodeId, ProjectId, RoleName, UserId};

/// Who may create a project (`PROJECT_CREATION`). A keygate project stands for the platform's
/// project of the same id, and its owner can mint keys the platform's gateway honours for every
/// `/projects/<id>/...` call: creating one is claiming that platform project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProjectCreation {
    /// `nobody` (the default): no project can be created through the API.
    Nobody,
    /// `claim`: a user may create a project only with an id their console token's `PROJECT_CLAIM`
    /// claim (default `keygate_projects`) lists: the platform's identity provider says which
    /// platform projects the user owns.
    Claim(String),
    /// `anyone`: every signed-in user may create a project with any unused id. For the local
    /// stack (demos, scripts); never for a deployment in front of a real platform.
    Anyone,
}

pub const PROJECT_NAME_MAX: usize = 100;
pub const NODE_NAME_MAX: usize = 100;
pub const ROLE_DESCRIPTION_MAX: usize = 500;

/// A project's name (1..=100 characters).
pub type ProjectName = Name<PROJECT_NAME_MAX>;
/// A node's display name (1..=100 characters).
pub type NodeName = Name<NODE_NAME_MAX>;
/// What a role is for (at most 500 characters).
pub type RoleDescription = Text<ROLE_DESCRIPTION_MAX>;
pub const PERMISSIONS_MAX: usize = 100;
pub const PERMISSION_PART_MAX: usize = 64;

/// A user as shown beside a resource (owner, requester, holder).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub id: UserId,
    pub email: Email,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Project {
    pub id: ProjectId,
    pub name: ProjectName,
    pub owner: Person,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::model::schema::Timestamp))]
    pub created_at: String,
    /// Whether the owner gets a daily summary of the pending requests.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub digest: Digest,
    /// Which mail tells the owner about a new request.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub notify: Notify,
}

/// The owner's digest of pending requests (`digest` in the projects routes).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Digest {
    #[default]
    Off,
    Daily,
}

/// How the owner hears of a new request: a mail `each` time, only in the `digest`, or `both`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Notify {
    #[default]
    Each,
    Digest,
    Both,
}

impl Digest {
    pub fn as_str(self) -> &'static str {
        match self {
            Digest::Off => "off",
            Digest::Daily => "daily",
        }
    }
}

impl Notify {
    pub fn as_str(self) -> &'static str {
        match self {
            Notify::Each => "each",
            Notify::Digest => "digest",
            Notify::Both => "both",
        }
    }
}

impl Project {
    /// Whether a new request gets its own mail to the owner now.
    pub fn mails_each_request(&self) -> bool {
        self.notify != Notify::Digest
    }
}

/// `PATCH /v1/projects/{p}`: the owner's mail settings.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = ProjectSettings))]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsInput {
    pub digest: Option<Digest>,
    /// Must be `each` while `digest` is `off` (422).
    pub notify: Option<Notify>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Membership {
    Owner,
    Member,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub project_id: ProjectId,
    /// Project names do not change, so memberships carry it for "my projects" listings.
    pub project_name: ProjectName,
    pub user: Person,
    pub membership: Membership,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::model::schema::Timestamp))]
    pub added_at: String,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    pub project_id: ProjectId,
    pub name: RoleName,
    pub description: RoleDescription,
    pub permissions: Vec<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::model::schema::Timestamp))]
    pub updated_at: String,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    pub project_id: ProjectId,
    pub id: NodeId,
    pub name: NodeName,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::model::schema::Timestamp))]
    pub updated_at: String,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = NewProject))]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewProjectInput {
    /// Chosen by the caller; generated when absent.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::model::ids::ProjectId>))]
    pub id: Option<String>,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::model::project::schemas::project_name))]
    pub name: String,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberInput {
    #[cfg_attr(feature = "openapi", schema(value_type = crate::model::ids::Email))]
    pub email: String,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleInput {
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::model::project::schemas::role_description))]
    pub description: Option<String>,
    /// `resource:action` strings or `*`.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::model::project::schemas::permissions))]
    pub permissions: Vec<String>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeInput {
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::model::project::schemas::node_name))]
    pub name: String,
}

/// A permission is `*` or `resource:action`, each part `[a-z][a-z0-9_]{0,63}`.
pub fn check_permission(field: &str, p: &str) -> std::result::Result<String, FieldError> {
    if p == "*" {
        return Ok(p.to_string());
    }
    let part_ok = |s: &str| {
        !s.is_empty()
            && s.len() <= PERMISSION_PART_MAX
            && s.starts_with(|c: char| c.is_ascii_lowercase())
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    };
    match p.split_once(':') {
        Some((resource, action)) if part_ok(resource) && part_ok(action) => Ok(p.to_string()),
        _ => Err(FieldError::new(
            field,
            "must be `*` or `resource:action` like `packages:read`",
        )),
    }
}

impl RoleInput {
    /// Checks the role; permissions come back sorted and without duplicates.
    pub fn check(self) -> Result<(RoleDescription, Vec<String>)> {
        let mut c = Check::new();
        let description = c.take(RoleDescription::parse(
            "description",
            self.description.as_deref().unwrap_or(""),
        ));
        if self.permissions.is_empty() {
            c.push(FieldError::new(
                "permissions",
                "must list at least one permission",
            ));
        }
        if self.permissions.len() > PERMISSIONS_MAX {
            c.push(FieldError::new(
                "permissions",
                format!("must list at most {PERMISSIONS_MAX} permissions"),
            ));
        }
        let mut permissions = Vec::new();
        for (i, p) in self.permissions.iter().enumerate() {
            if let Some(p) = c.take(check_permission(&format!("permissions[{i}]"), p)) {
                permissions.push(p);
            }
        }
        c.finish()?;
        permissions.sort();
        permissions.dedup();
        Ok((description.unwrap_or_default(), permissions))
    }
}

/// The schemas of this module's input fields (feature `openapi`, see `model::schema`).
#[cfg(feature = "openapi")]
pub mod schemas {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    use utoipa::openapi::{RefOr, Schema};

    use super::{
        NODE_NAME_MAX, PERMISSION_PART_MAX, PERMISSIONS_MAX, PROJECT_NAME_MAX, ROLE_DESCRIPTION_MAX,
    };
    use crate::model::schema::{described, object, text};

    pub fn project_name() -> RefOr<Schema> {
        object(text(1, PROJECT_NAME_MAX))
    }
    pub fn node_name() -> RefOr<Schema> {
        object(text(1, NODE_NAME_MAX))
    }
    pub fn role_description() -> RefOr<Schema> {
        object(text(0, ROLE_DESCRIPTION_MAX))
    }
    /// `check_permission`: `*`, or `resource:action` of two identifiers.
    pub fn permissions() -> RefOr<Schema> {
        let part = format!("[a-z][a-z0-9_]{{0,{}}}", PERMISSION_PART_MAX - 1);
        let item = ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(format!("^(\\*|{part}:{part})$")));
        let array = ArrayBuilder::new()
            .items(item)
            .min_items(Some(1))
            .max_items(Some(PERMISSIONS_MAX))
            .build();
        described(
            RefOr::T(Schema::Array(array)),
            "`resource:action` strings or `*`.",
        )
    }
}
