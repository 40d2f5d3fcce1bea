//! Identifier newtypes and checked values. Each `parse` names the field it checks and the rule it
//! broke; once parsed, the value is trusted (serde reads stored values back without re-checking).

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::error::FieldError;

/// A new time-sortable id (ULID, lower case).
pub fn new_id() -> String {
    ulid::Ulid::new().to_string().to_ascii_lowercase()
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

/// Checks `value` against a charset: first char by `first`, the rest by `rest`, length bounds.
fn charset(
    field: &str,
    value: &str,
    max: usize,
    first: fn(char) -> bool,
    rest: fn(char) -> bool,
    rule: &str,
) -> Result<String, FieldError> {
    if value.is_empty() {
        return Err(FieldError::new(field, "is required"));
    }
    if value.len() > max {
        return Err(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    let mut chars = value.chars();
    let ok = chars.next().is_some_and(first) && chars.all(rest);
    if !ok {
        return Err(FieldError::new(field, format!("must match {rule}")));
    }
    Ok(value.to_string())
}

fn lower_alnum(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

pub const PROJECT_ID_MAX: usize = 64;
pub const USER_ID_MAX: usize = 128;
pub const ROLE_NAME_MAX: usize = 64;
pub const NODE_ID_MAX: usize = 64;
pub const EMAIL_MAX: usize = 254;
pub const GENERATED_ID_MAX: usize = 32;

id_type!(
    /// A project id: `[a-z0-9][a-z0-9_-]{0,63}`, chosen by the creator or generated.
    ProjectId
);
impl ProjectId {
    pub fn parse(field: &str, v: &str) -> Result<Self, FieldError> {
        charset(
            field,
            v,
            PROJECT_ID_MAX,
            lower_alnum,
            |c| lower_alnum(c) || c == '-' || c == '_',
            "[a-z0-9][a-z0-9_-]{0,63}",
        )
        .map(Self)
    }
    pub fn generate() -> Self {
        Self(new_id())
    }
}

id_type!(
    /// A console user id (the identity provider's `sub`): 1..=128 of `[A-Za-z0-9._@:+|-]`.
    UserId
);
impl UserId {
    pub fn parse(field: &str, v: &str) -> Result<Self, FieldError> {
        let ok = |c: char| c.is_ascii_alphanumeric() || "._@:+|-".contains(c);
        charset(field, v, USER_ID_MAX, ok, ok, "[A-Za-z0-9._@:+|-]{1,128}").map(Self)
    }
}

id_type!(
    /// A role name within a project: `[a-z][a-z0-9_-]{0,63}`.
    RoleName
);
impl RoleName {
    pub fn parse(field: &str, v: &str) -> Result<Self, FieldError> {
        charset(
            field,
            v,
            ROLE_NAME_MAX,
            |c| c.is_ascii_lowercase(),
            |c| lower_alnum(c) || c == '-' || c == '_',
            "[a-z][a-z0-9_-]{0,63}",
        )
        .map(Self)
    }
}

id_type!(
    /// A graph node id within a project: `[A-Za-z0-9][A-Za-z0-9_-]{0,63}`.
    NodeId
);
impl NodeId {
    pub fn parse(field: &str, v: &str) -> Result<Self, FieldError> {
        charset(
            field,
            v,
            NODE_ID_MAX,
            |c| c.is_ascii_alphanumeric(),
            |c| c.is_ascii_alphanumeric() || c == '-' || c == '_',
            "[A-Za-z0-9][A-Za-z0-9_-]{0,63}",
        )
        .map(Self)
    }
}

pub const PREFIX_MAX: usize = 48;
/// A secret's name within its project: a prefix, `_`, and a field identifier.
pub const FIELD_NAME_MAX: usize = 64;
pub const SECRET_NAME_MAX: usize = PREFIX_MAX + 1 + FIELD_NAME_MAX;

fn identifier_char(c: char) -> bool {
    lower_alnum(c) || c == '_'
}

/// An import prefix's rule as a regular expression: the API's contract (infra/openapi.json)
/// states exactly this, and the console reads it from there.
pub const PREFIX_PATTERN: &str = "[a-z][a-z0-9_]{0,47}";

id_type!(
    /// The prefix an import's secrets are named with: `[a-z][a-z0-9_]{0,47}`.
    Prefix
);
impl Prefix {
    pub fn parse(field: &str, v: &str) -> Result<Self, FieldError> {
        charset(
            field,
            v,
            PREFIX_MAX,
            |c| c.is_ascii_lowercase(),
            identifier_char,
            PREFIX_PATTERN,
        )
        .map(Self)
    }
}

id_type!(
    /// An imported secret's name in its project (`<prefix>_token`, `<prefix>_<field>`).
    SecretName
);
impl SecretName {
    pub fn parse(field: &str, v: &str) -> Result<Self, FieldError> {
        charset(
            field,
            v,
            SECRET_NAME_MAX,
            |c| c.is_ascii_lowercase(),
            identifier_char,
            "[a-z][a-z0-9_]*",
        )
        .map(Self)
    }

    /// `<prefix>_<identifier>`; the identifier is `[a-z0-9_]+` by construction.
    pub fn of(prefix: &Prefix, identifier: &str) -> Self {
        Self(format!("{prefix}_{identifier}"))
    }
}

id_type!(
    /// A template id (generated, lower-case ULID).
    TemplateId
);
id_type!(
    /// An info-field id within a template (generated, lower-case ULID).
    FieldId
);

macro_rules! generated_id {
    ($name:ident) => {
        impl $name {
            pub fn generate() -> Self {
                Self(new_id())
            }
            /// Ids keygate generates are `[0-9a-z]`; anything else cannot name one.
            pub fn parse(field: &str, v: &str) -> Result<Self, FieldError> {
                charset(
                    field,
                    v,
                    GENERATED_ID_MAX,
                    lower_alnum,
                    lower_alnum,
                    "[0-9a-z]{1,32}",
                )
                .map(Self)
            }
        }
    };
}
id_type!(
    /// A key request id (generated, lower-case ULID: sorts by creation).
    RequestId
);
id_type!(
    /// An API key id, the token's `jti` (generated, lower-case ULID).
    KeyId
);

generated_id!(TemplateId);
generated_id!(FieldId);
generated_id!(RequestId);
generated_id!(KeyId);

id_type!(
    /// An e-mail address: at most 254 characters, `local@domain` with a dotted domain, no spaces.
    Email
);
impl Email {
    pub fn parse(field: &str, v: &str) -> Result<Self, FieldError> {
        let v = v.trim();
        if v.is_empty() {
            return Err(FieldError::new(field, "is required"));
        }
        if v.len() > EMAIL_MAX {
            return Err(FieldError::new(
                field,
                format!("must be at most {EMAIL_MAX} characters"),
            ));
        }
        let valid = match v.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !v.chars().any(|c| c.is_whitespace() || c.is_control())
            }
            None => false,
        };
        if !valid {
            return Err(FieldError::new(
                field,
                "must be an e-mail address like name@example.com",
            ));
        }
        Ok(Self(v.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_ids() {
        assert!(ProjectId::parse("id", "server-1_a").is_ok());
        assert!(ProjectId::parse("id", "").is_err());
        assert!(ProjectId::parse("id", "-x").is_err());
        assert!(ProjectId::parse("id", "Upper").is_err());
        assert!(ProjectId::parse("id", "a#b").is_err());
        assert!(ProjectId::parse("id", &"a".repeat(PROJECT_ID_MAX)).is_ok());
        let e = ProjectId::parse("id", &"a".repeat(PROJECT_ID_MAX + 1)).unwrap_err();
        assert_eq!(e.field, "id");
        assert!(ProjectId::parse("id", ProjectId::generate().as_str()).is_ok());
    }

    #[test]
    fn user_ids() {
        assert!(UserId::parse("user", "alice").is_ok());
        assert!(UserId::parse("user", "auth0|abc.def-1@x:y+z").is_ok());
        assert!(UserId::parse("user", "has space").is_err());
        assert!(UserId::parse("user", "a#b").is_err());
        assert!(UserId::parse("user", "a/b").is_err());
        assert!(UserId::parse("user", &"u".repeat(USER_ID_MAX + 1)).is_err());
    }

    #[test]
    fn role_and_node_names() {
        assert!(RoleName::parse("role", "reader").is_ok());
        assert!(RoleName::parse("role", "data-reader_2").is_ok());
        assert!(RoleName::parse("role", "2reader").is_err());
        assert!(RoleName::parse("role", "Reader").is_err());
        assert!(RoleName::parse("role", &"r".repeat(ROLE_NAME_MAX + 1)).is_err());
        assert!(NodeId::parse("node", "Input-1").is_ok());
        assert!(NodeId::parse("node", "_x").is_err());
        assert!(NodeId::parse("node", "a b").is_err());
        assert!(NodeId::parse("node", &"n".repeat(NODE_ID_MAX + 1)).is_err());
    }

    #[test]
    fn generated_ids() {
        assert!(TemplateId::parse("t", TemplateId::generate().as_str()).is_ok());
        assert!(TemplateId::parse("t", "ABC").is_err());
        assert!(FieldId::parse("f", &"a".repeat(GENERATED_ID_MAX + 1)).is_err());
    }

    #[test]
    fn emails() {
        assert_eq!(
            Email::parse("email", " bob@example.com ")
                .expect("ok")
                .as_str(),
            "bob@example.com"
        );
        for bad in [
            "",
            "bob",
            "bob@",
            "@example.com",
            "bob@example",
            "b ob@example.com",
            "a@b@c.com",
            "bob@.com",
        ] {
            assert!(
                Email::parse("email", bad).is_err(),
                "{bad:?} should be refused"
            );
        }
        let long = format!("{}@example.com", "a".repeat(EMAIL_MAX));
        assert!(Email::parse("email", &long).is_err());
    }
}
