//! Template data: the types, limits and pure rules of `domain::template` (no I/O; the
//! operations that check access and call the store stay in `domain::template`).

use crate::error::{Error, FieldError, Result};
use crate::model::checks::{Check, Name, Text, checked_string};
pub use crate::model::ids::FIELD_NAME_MAX;
use crate::model::ids::{FieldId, ProjectId, RoleName, TemplateId};
use crate::model::time::now;
use serde::{Deserialize, Deserializer, Serialize};

pub const TEMPLATE_NAME_MAX: usize = 100;
pub const TEMPLATE_DESCRIPTION_MAX: usize = 1000;
pub const TTL_DAYS_MAX: u32 = 3650;
/// The highest per-key rate limit a template may set (calls per minute).
pub const RATE_LIMIT_MAX: u32 = 100_000;
pub const FIELDS_MAX: usize = 20;
pub const FIELD_DESCRIPTION_MAX: usize = 500;

/// A template's name (1..=100 characters); also its keys' name.
pub type TemplateName = Name<TEMPLATE_NAME_MAX>;
/// What a template's keys are for (at most 1,000 characters).
pub type TemplateDescription = Text<TEMPLATE_DESCRIPTION_MAX>;
/// What an info field holds (at most 500 characters).
pub type FieldDescription = Text<FIELD_DESCRIPTION_MAX>;
pub const FIELD_VALUE_MAX: usize = 2048;
/// How often a field change re-reads the template after a concurrent change before giving up.
pub const FIELD_CHANGE_ATTEMPTS: usize = 3;

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InfoField {
    pub id: FieldId,
    pub name: FieldName,
    pub description: FieldDescription,
    pub value: String,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Template {
    pub id: TemplateId,
    pub project_id: ProjectId,
    pub name: TemplateName,
    pub description: TemplateDescription,
    pub role: RoleName,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::model::template::schemas::ttl_days))]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub ttl_days: Option<u32>,
    /// Calls per minute each of the template's keys may make (`null`: no limit); beyond it a
    /// call is refused with 429 and counted as denied (`rate_limited`).
    #[serde(default)]
    /// Calls per minute a key of this template may make; `null`: no limit.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::model::template::schemas::template_rate_limit))]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub rate_limit_per_minute: Option<u32>,
    pub fields: Vec<InfoField>,
    pub version: u64,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::model::schema::Timestamp))]
    pub created_at: String,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::model::schema::Timestamp))]
    pub updated_at: String,
}

impl Template {
    /// The name as compared for uniqueness.
    pub fn folded_name(&self) -> String {
        fold(&self.name)
    }
}

pub fn fold(name: &str) -> String {
    name.to_lowercase()
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldInput {
    /// Unique in the template as an identifier; `token` is reserved.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::model::template::schemas::new_field_name))]
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::model::template::schemas::field_description))]
    pub description: Option<String>,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::model::template::schemas::field_value))]
    pub value: String,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = NewTemplate))]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTemplateInput {
    /// Unique in the project, case-insensitively (409).
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::model::template::schemas::new_template_name))]
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::model::template::schemas::template_description))]
    pub description: Option<String>,
    /// Must exist in the project (422).
    #[cfg_attr(feature = "openapi", schema(value_type = crate::model::ids::RoleName))]
    pub role: String,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::model::template::schemas::ttl_days))]
    pub ttl_days: Option<u32>,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::model::template::schemas::rate_limit))]
    pub rate_limit_per_minute: Option<u32>,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::model::template::schemas::template_fields))]
    pub fields: Option<Vec<FieldInput>>,
}

/// `ttl_days` distinguishes absent (keep) from `null` (clear).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    schema(description = "`version` and at least one change.")
)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplatePatch {
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::model::template::schemas::template_name))]
    pub name: Option<String>,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::model::template::schemas::template_description))]
    pub description: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::model::ids::RoleName>))]
    pub role: Option<String>,
    #[serde(default, deserialize_with = "present")]
    /// `null` removes the expiry.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::model::template::schemas::ttl_days_patch))]
    pub ttl_days: Option<Option<u32>>,
    #[serde(default, deserialize_with = "present")]
    /// `null` removes the limit.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::model::template::schemas::rate_limit_patch))]
    pub rate_limit_per_minute: Option<Option<u32>>,
    /// The version read; another one is a 412.
    pub version: u64,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    schema(description = "At least one of the fields.")
)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldPatch {
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::model::template::schemas::field_name))]
    pub name: Option<String>,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::model::template::schemas::field_description))]
    pub description: Option<String>,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::model::template::schemas::field_value))]
    pub value: Option<String>,
}

pub fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> std::result::Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// A field's name as an identifier, as imports name its secret: lower case, each run of
/// characters other than `[a-z0-9]` one `_` (`"Input node-1"` -> `input_node_1`).
pub fn field_identifier(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out
}

/// The identifier of an import's token secret (`<prefix>_token`): no field may take it.
pub const TOKEN_IDENTIFIER: &str = "token";

/// An info field's name: `[A-Za-z][A-Za-z0-9 _-]{0,63}`, distinct within its template as an
/// identifier ([`field_identifier`]), which names its secret on import.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FieldName(String);

checked_string!(@plain FieldName, check_field_name);

fn check_field_name(field: &str, v: &str) -> std::result::Result<String, FieldError> {
    let v = v.trim();
    if v.is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    if v.len() > FIELD_NAME_MAX {
        return Err(FieldError::new(
            field,
            format!("must be at most {FIELD_NAME_MAX} characters"),
        ));
    }
    let ok = v.starts_with(|c: char| c.is_ascii_alphabetic())
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '_' || c == '-');
    if !ok {
        return Err(FieldError::new(
            field,
            "must start with a letter and hold only letters, digits, spaces, `_` and `-`",
        ));
    }
    Ok(v.to_string())
}

pub fn check_field_value(field: &str, v: &str) -> std::result::Result<String, FieldError> {
    if v.trim().is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    if v.chars().count() > FIELD_VALUE_MAX {
        return Err(FieldError::new(
            field,
            format!("must be at most {FIELD_VALUE_MAX} characters"),
        ));
    }
    if v.chars().any(char::is_control) {
        return Err(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(v.trim().to_string())
}

pub fn check_ttl(v: u32) -> std::result::Result<u32, FieldError> {
    if (1..=TTL_DAYS_MAX).contains(&v) {
        Ok(v)
    } else {
        Err(FieldError::new(
            "ttl_days",
            format!("must be from 1 to {TTL_DAYS_MAX}"),
        ))
    }
}

pub fn check_rate_limit(v: u32) -> std::result::Result<u32, FieldError> {
    if (1..=RATE_LIMIT_MAX).contains(&v) {
        Ok(v)
    } else {
        Err(FieldError::new(
            "rate_limit_per_minute",
            format!("must be from 1 to {RATE_LIMIT_MAX} calls per minute, or null for no limit"),
        ))
    }
}

pub fn check_field(c: &mut Check, at: &str, input: FieldInput, id: FieldId) -> Option<InfoField> {
    let name = c.take(FieldName::parse(&format!("{at}name"), &input.name));
    let description = c.take(FieldDescription::parse(
        &format!("{at}description"),
        input.description.as_deref().unwrap_or(""),
    ));
    let value = c.take(check_field_value(&format!("{at}value"), &input.value));
    Some(InfoField {
        id,
        name: name?,
        description: description?,
        value: value?,
    })
}

/// The info-field count rule, its one home: a template has at most `FIELDS_MAX` fields.
pub fn field_count(count: usize) -> std::result::Result<(), FieldError> {
    if count > FIELDS_MAX {
        return Err(FieldError::new(
            "fields",
            format!("a template has at most {FIELDS_MAX} fields"),
        ));
    }
    Ok(())
}

/// Field rules across a template: at most `FIELDS_MAX`, names distinct as identifiers (they become
/// secret names on import).
pub fn check_fields(fields: &[InfoField], at: impl Fn(usize) -> String) -> Result<()> {
    let mut c = Check::new();
    c.take(field_count(fields.len()));
    for (i, f) in fields.iter().enumerate() {
        let ident = field_identifier(&f.name);
        if ident == TOKEN_IDENTIFIER {
            c.push(FieldError::new(
                at(i),
                format!(
                    "{:?} is reserved: an import names the key's token secret `<prefix>_{ident}`",
                    f.name
                ),
            ));
        } else if fields[..i]
            .iter()
            .any(|g| field_identifier(&g.name) == ident)
        {
            c.push(FieldError::new(
                at(i),
                format!(
                    "another field already has the name {:?} (names are compared as `{ident}`)",
                    f.name
                ),
            ));
        }
    }
    c.finish()
}

impl NewTemplateInput {
    pub fn check(self, project_id: &ProjectId) -> Result<Template> {
        let mut c = Check::new();
        let name = c.take(TemplateName::parse("name", &self.name));
        let description = c.take(TemplateDescription::parse(
            "description",
            self.description.as_deref().unwrap_or(""),
        ));
        let role = c.take(RoleName::parse("role", &self.role));
        let ttl_days = self.ttl_days.map(|t| c.take(check_ttl(t)));
        let rate_limit = self
            .rate_limit_per_minute
            .map(|r| c.take(check_rate_limit(r)));
        let inputs = self.fields.unwrap_or_default();
        c.take(field_count(inputs.len()));
        let fields: Vec<Option<InfoField>> = inputs
            .into_iter()
            .enumerate()
            .map(|(i, f)| check_field(&mut c, &format!("fields[{i}]."), f, FieldId::generate()))
            .collect();
        c.finish()?;
        let fields: Vec<InfoField> = fields.into_iter().flatten().collect();
        check_fields(&fields, |i| format!("fields[{i}].name"))?;
        let (Some(name), Some(description), Some(role)) = (name, description, role) else {
            return Err(Error::internal("checked template input without values"));
        };
        let at = now();
        Ok(Template {
            id: TemplateId::generate(),
            project_id: project_id.clone(),
            name,
            description,
            role,
            ttl_days: ttl_days.flatten(),
            rate_limit_per_minute: rate_limit.flatten(),
            fields,
            version: 1,
            created_at: at.clone(),
            updated_at: at,
        })
    }
}

impl TemplatePatch {
    /// The template with this patch applied (version not yet bumped).
    pub fn apply(self, mut t: Template) -> Result<Template> {
        if self.name.is_none()
            && self.description.is_none()
            && self.role.is_none()
            && self.ttl_days.is_none()
            && self.rate_limit_per_minute.is_none()
        {
            return Err(Error::invalid(
                "body",
                "name, description, role, ttl_days or rate_limit_per_minute: at least one must be given",
            ));
        }
        let mut c = Check::new();
        if let Some(name) = self
            .name
            .as_deref()
            .and_then(|n| c.take(TemplateName::parse("name", n)))
        {
            t.name = name;
        }
        if let Some(d) = self
            .description
            .as_deref()
            .and_then(|d| c.take(TemplateDescription::parse("description", d)))
        {
            t.description = d;
        }
        if let Some(role) = self
            .role
            .as_deref()
            .and_then(|r| c.take(RoleName::parse("role", r)))
        {
            t.role = role;
        }
        match self.ttl_days {
            Some(Some(ttl)) => t.ttl_days = c.take(check_ttl(ttl)),
            Some(None) => t.ttl_days = None,
            None => {}
        }
        match self.rate_limit_per_minute {
            Some(Some(r)) => t.rate_limit_per_minute = c.take(check_rate_limit(r)),
            Some(None) => t.rate_limit_per_minute = None,
            None => {}
        }
        c.finish()?;
        Ok(t)
    }
}

pub fn not_found(p: &ProjectId, t: &TemplateId) -> Error {
    Error::NotFound(format!("template {t} in project {p}"))
}

/// The schemas of this module's input fields and of a template as answered (feature `openapi`,
/// see `model::schema`).
#[cfg(feature = "openapi")]
pub mod schemas {

    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    use utoipa::openapi::{Ref, RefOr, Schema};
    use utoipa::{PartialSchema, ToSchema};

    use super::{
        FIELD_DESCRIPTION_MAX, FIELD_NAME_MAX, FIELD_VALUE_MAX, FIELDS_MAX, FieldInput,
        RATE_LIMIT_MAX, TEMPLATE_DESCRIPTION_MAX, TEMPLATE_NAME_MAX, TTL_DAYS_MAX,
    };
    use crate::model::schema::{described, nullable_integer, object, text};

    pub fn template_name() -> RefOr<Schema> {
        object(text(1, TEMPLATE_NAME_MAX))
    }
    pub fn new_template_name() -> RefOr<Schema> {
        described(
            template_name(),
            "Unique in the project, case-insensitively (409).",
        )
    }
    pub fn template_description() -> RefOr<Schema> {
        object(text(0, TEMPLATE_DESCRIPTION_MAX))
    }
    pub fn ttl_days() -> RefOr<Schema> {
        object(nullable_integer(1, TTL_DAYS_MAX.into()))
    }
    pub fn ttl_days_patch() -> RefOr<Schema> {
        described(ttl_days(), "`null` removes the expiry.")
    }
    pub fn rate_limit() -> RefOr<Schema> {
        object(nullable_integer(1, RATE_LIMIT_MAX.into()))
    }
    pub fn template_rate_limit() -> RefOr<Schema> {
        described(
            rate_limit(),
            "Calls per minute a key of this template may make; `null`: no limit.",
        )
    }
    pub fn rate_limit_patch() -> RefOr<Schema> {
        described(rate_limit(), "`null` removes the limit.")
    }
    /// `check_field_name`: a letter, then letters, digits, spaces, `_` and `-`.
    pub fn field_name() -> RefOr<Schema> {
        object(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(format!(
                    "^[A-Za-z][A-Za-z0-9 _-]{{0,{}}}$",
                    FIELD_NAME_MAX - 1
                ))),
        )
    }
    impl PartialSchema for super::FieldName {
        fn schema() -> RefOr<Schema> {
            field_name()
        }
    }
    impl ToSchema for super::FieldName {
        fn name() -> std::borrow::Cow<'static, str> {
            std::borrow::Cow::Borrowed("FieldName")
        }
    }

    pub fn new_field_name() -> RefOr<Schema> {
        described(
            field_name(),
            "Unique in the template as an identifier; `token` is reserved.",
        )
    }
    pub fn field_description() -> RefOr<Schema> {
        object(text(0, FIELD_DESCRIPTION_MAX))
    }
    pub fn field_value() -> RefOr<Schema> {
        object(text(1, FIELD_VALUE_MAX))
    }
    pub fn template_fields() -> RefOr<Schema> {
        RefOr::T(Schema::Array(
            ArrayBuilder::new()
                .items(Ref::from_schema_name(<FieldInput as ToSchema>::name()))
                .max_items(Some(FIELDS_MAX))
                .build(),
        ))
    }
}
