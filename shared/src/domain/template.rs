//! API key templates: what a key will carry (a project role) and the info fields a client needs
//! (project id, input and output node ids, ...). Names are unique per project regardless of case;
//! every change is checked against the stored `version` (optimistic concurrency).

use serde::{Deserialize, Deserializer, Serialize};

use super::audit::AuditEntry;
use super::ids::{FieldId, ProjectId, RoleName, TemplateId};
use super::request::{self, MyRequest};
use super::{Check, check_name, check_text, now};
use crate::access;
use crate::error::{Error, FieldError, Result};
use crate::model::caller::Caller;
use crate::page::{Page, PageRequest};
use crate::store::Store;

pub const TEMPLATE_NAME_MAX: usize = 100;
pub const TEMPLATE_DESCRIPTION_MAX: usize = 1000;
pub const TTL_DAYS_MAX: u32 = 3650;
/// The highest per-key rate limit a template may set (calls per minute).
pub const RATE_LIMIT_MAX: u32 = 100_000;
pub const FIELDS_MAX: usize = 20;
pub use super::ids::FIELD_NAME_MAX;
pub const FIELD_DESCRIPTION_MAX: usize = 500;
pub const FIELD_VALUE_MAX: usize = 2048;
/// How often a field change re-reads the template after a concurrent change before giving up.
const FIELD_CHANGE_ATTEMPTS: usize = 3;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InfoField {
    pub id: FieldId,
    pub name: String,
    pub description: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Template {
    pub id: TemplateId,
    pub project_id: ProjectId,
    pub name: String,
    pub description: String,
    pub role: RoleName,
    pub ttl_days: Option<u32>,
    /// Calls per minute each of the template's keys may make (`null`: no limit); beyond it a
    /// call is refused with 429 and counted as denied (`rate_limited`).
    #[serde(default)]
    pub rate_limit_per_minute: Option<u32>,
    pub fields: Vec<InfoField>,
    pub version: u64,
    pub created_at: String,
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

/// A template as a member sees it: with the caller's latest request for it (`null` if none).
#[derive(Debug, Clone, Serialize)]
pub struct TemplateView {
    #[serde(flatten)]
    pub template: Template,
    pub my_request: Option<MyRequest>,
}

impl From<Template> for TemplateView {
    fn from(template: Template) -> Self {
        TemplateView {
            template,
            my_request: None,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldInput {
    pub name: String,
    pub description: Option<String>,
    pub value: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTemplateInput {
    pub name: String,
    pub description: Option<String>,
    pub role: String,
    pub ttl_days: Option<u32>,
    pub rate_limit_per_minute: Option<u32>,
    pub fields: Option<Vec<FieldInput>>,
}

/// `ttl_days` distinguishes absent (keep) from `null` (clear).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplatePatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub role: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub ttl_days: Option<Option<u32>>,
    #[serde(default, deserialize_with = "present")]
    pub rate_limit_per_minute: Option<Option<u32>>,
    pub version: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub value: Option<String>,
}

fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
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

/// A field name: `[A-Za-z][A-Za-z0-9 _-]{0,63}`.
pub fn check_field_name(field: &str, v: &str) -> std::result::Result<String, FieldError> {
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

fn check_ttl(v: u32) -> std::result::Result<u32, FieldError> {
    if (1..=TTL_DAYS_MAX).contains(&v) {
        Ok(v)
    } else {
        Err(FieldError::new(
            "ttl_days",
            format!("must be from 1 to {TTL_DAYS_MAX}"),
        ))
    }
}

fn check_rate_limit(v: u32) -> std::result::Result<u32, FieldError> {
    if (1..=RATE_LIMIT_MAX).contains(&v) {
        Ok(v)
    } else {
        Err(FieldError::new(
            "rate_limit_per_minute",
            format!("must be from 1 to {RATE_LIMIT_MAX} calls per minute, or null for no limit"),
        ))
    }
}

fn check_field(c: &mut Check, at: &str, input: FieldInput, id: FieldId) -> Option<InfoField> {
    let name = c.take(check_field_name(&format!("{at}name"), &input.name));
    let description = c.take(check_text(
        &format!("{at}description"),
        input.description.as_deref().unwrap_or(""),
        FIELD_DESCRIPTION_MAX,
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
fn check_fields(fields: &[InfoField], at: impl Fn(usize) -> String) -> Result<()> {
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
        let name = c.take(check_name("name", &self.name, TEMPLATE_NAME_MAX));
        let description = c.take(check_text(
            "description",
            self.description.as_deref().unwrap_or(""),
            TEMPLATE_DESCRIPTION_MAX,
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
    fn apply(self, mut t: Template) -> Result<Template> {
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
            .and_then(|n| c.take(check_name("name", n, TEMPLATE_NAME_MAX)))
        {
            t.name = name;
        }
        if let Some(d) = self
            .description
            .as_deref()
            .and_then(|d| c.take(check_text("description", d, TEMPLATE_DESCRIPTION_MAX)))
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

fn not_found(p: &ProjectId, t: &TemplateId) -> Error {
    Error::NotFound(format!("template {t} in project {p}"))
}

async fn load(store: &Store, p: &ProjectId, t: &TemplateId) -> Result<Template> {
    store
        .get_template(p, t)
        .await?
        .ok_or_else(|| not_found(p, t))
}

pub async fn create(
    store: &Store,
    caller: &Caller,
    p: &ProjectId,
    input: NewTemplateInput,
) -> Result<Template> {
    access::require_owner(store, p, caller).await?;
    let template = input.check(p)?;
    let audit = AuditEntry::new(p, caller, "template.created", "template", &template.id);
    store.create_template(&template, &audit).await?;
    Ok(template)
}

pub async fn get(
    store: &Store,
    caller: &Caller,
    p: &ProjectId,
    t: &TemplateId,
) -> Result<TemplateView> {
    access::require_member(store, p, caller).await?;
    let template = load(store, p, t).await?;
    let my_request = store.get_ask(p, &caller.id, t).await?.map(|a| a.request);
    Ok(TemplateView {
        template,
        my_request,
    })
}

pub async fn list(
    store: &Store,
    caller: &Caller,
    p: &ProjectId,
    page: &PageRequest,
) -> Result<Page<TemplateView>> {
    access::require_member(store, p, caller).await?;
    let page = store.list_templates(p, page).await?;
    let mut mine = request::my_requests(store, caller, p).await?;
    Ok(page.map(|template| {
        let my_request = mine.remove(&template.id);
        TemplateView {
            template,
            my_request,
        }
    }))
}

pub async fn update(
    store: &Store,
    caller: &Caller,
    p: &ProjectId,
    t: &TemplateId,
    patch: TemplatePatch,
) -> Result<Template> {
    access::require_owner(store, p, caller).await?;
    let old = load(store, p, t).await?;
    if patch.version != old.version {
        return Err(Error::VersionMismatch {
            current: Some(old.version),
        });
    }
    let mut new = patch.apply(old.clone())?;
    new.version = old.version + 1;
    new.updated_at = now();
    let audit = AuditEntry::new(p, caller, "template.updated", "template", t);
    store.replace_template(&old, &new, &audit).await?;
    Ok(new)
}

pub async fn delete(store: &Store, caller: &Caller, p: &ProjectId, t: &TemplateId) -> Result<()> {
    access::require_owner(store, p, caller).await?;
    let old = load(store, p, t).await?;
    // Pending requests close with the template, in the same transaction: none can be approved later.
    let closing =
        request::closed_by_template_deletion(caller, store.pending_requests_of(p, t).await?);
    let audit = AuditEntry::new(p, caller, "template.deleted", "template", t);
    store.delete_template(&old, &closing, &audit).await
}

/// Applies `change` to the template's field list and saves it under the version it was read at,
/// re-reading after a concurrent change so no edit is lost.
async fn change_fields<R>(
    store: &Store,
    p: &ProjectId,
    t: &TemplateId,
    audit: impl Fn(&R) -> AuditEntry,
    change: impl Fn(&mut Vec<InfoField>) -> Result<R>,
) -> Result<R> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let old = load(store, p, t).await?;
        let mut new = old.clone();
        let out = change(&mut new.fields)?;
        check_fields(&new.fields, |_| "name".to_string())?;
        new.version = old.version + 1;
        new.updated_at = now();
        match store.replace_template(&old, &new, &audit(&out)).await {
            Err(Error::VersionMismatch { .. }) if attempt < FIELD_CHANGE_ATTEMPTS => continue,
            Err(Error::VersionMismatch { .. }) => {
                return Err(Error::Conflict(
                    "the template kept changing concurrently; retry".into(),
                ));
            }
            Err(e) => return Err(e),
            Ok(()) => return Ok(out),
        }
    }
}

fn field_not_found(t: &TemplateId, f: &FieldId) -> Error {
    Error::NotFound(format!("field {f} of template {t}"))
}

pub async fn add_field(
    store: &Store,
    caller: &Caller,
    p: &ProjectId,
    t: &TemplateId,
    input: FieldInput,
) -> Result<InfoField> {
    access::require_owner(store, p, caller).await?;
    let mut c = Check::new();
    let field = check_field(&mut c, "", input, FieldId::generate());
    c.finish()?;
    let field = field.ok_or_else(|| Error::internal("checked field without value"))?;
    let audit = |f: &InfoField| AuditEntry::new(p, caller, "field.added", "field", &f.id);
    change_fields(store, p, t, audit, |fields| {
        // The field itself is fine; the template it would join is full: a rule about stored
        // data (422), where a body with too many fields is invalid input (400).
        field_count(fields.len() + 1).map_err(|e| Error::Unprocessable(vec![e]))?;
        fields.push(field.clone());
        Ok(field.clone())
    })
    .await
}

pub async fn edit_field(
    store: &Store,
    caller: &Caller,
    p: &ProjectId,
    t: &TemplateId,
    f: &FieldId,
    patch: FieldPatch,
) -> Result<InfoField> {
    access::require_owner(store, p, caller).await?;
    if patch.name.is_none() && patch.description.is_none() && patch.value.is_none() {
        return Err(Error::invalid(
            "body",
            "name, description or value: at least one must be given",
        ));
    }
    let mut c = Check::new();
    let name = patch
        .name
        .as_deref()
        .map(|n| c.take(check_field_name("name", n)));
    let description = patch
        .description
        .as_deref()
        .map(|d| c.take(check_text("description", d, FIELD_DESCRIPTION_MAX)));
    let value = patch
        .value
        .as_deref()
        .map(|v| c.take(check_field_value("value", v)));
    c.finish()?;
    let audit = |_: &InfoField| AuditEntry::new(p, caller, "field.updated", "field", f);
    change_fields(store, p, t, audit, |fields| {
        let field = fields
            .iter_mut()
            .find(|x| &x.id == f)
            .ok_or_else(|| field_not_found(t, f))?;
        if let Some(Some(n)) = &name {
            field.name = n.clone();
        }
        if let Some(Some(d)) = &description {
            field.description = d.clone();
        }
        if let Some(Some(v)) = &value {
            field.value = v.clone();
        }
        Ok(field.clone())
    })
    .await
}

pub async fn delete_field(
    store: &Store,
    caller: &Caller,
    p: &ProjectId,
    t: &TemplateId,
    f: &FieldId,
) -> Result<()> {
    access::require_owner(store, p, caller).await?;
    let audit = |_: &()| AuditEntry::new(p, caller, "field.removed", "field", f);
    change_fields(store, p, t, audit, |fields| {
        let before = fields.len();
        fields.retain(|x| &x.id != f);
        if fields.len() == before {
            return Err(field_not_found(t, f));
        }
        Ok(())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project() -> ProjectId {
        ProjectId::parse("p", "server").expect("id")
    }

    fn input(name: &str, fields: Vec<FieldInput>) -> NewTemplateInput {
        NewTemplateInput {
            name: name.into(),
            description: None,
            role: "reader".into(),
            ttl_days: None,
            rate_limit_per_minute: None,
            fields: Some(fields),
        }
    }

    fn field(name: &str, value: &str) -> FieldInput {
        FieldInput {
            name: name.into(),
            description: None,
            value: value.into(),
        }
    }

    fn errors(r: Result<Template>) -> Vec<FieldError> {
        match r {
            Err(Error::Invalid(e)) => e,
            other => panic!("expected invalid input, got {other:?}"),
        }
    }

    #[test]
    fn a_valid_template_starts_at_version_one() {
        let t = input(" Weather API ", vec![field("Project id", "server")])
            .check(&project())
            .expect("valid");
        assert_eq!(t.name, "Weather API");
        assert_eq!(t.version, 1);
        assert_eq!(t.fields.len(), 1);
        assert_eq!(t.folded_name(), "weather api");
    }

    #[test]
    fn every_bad_field_is_named() {
        let mut bad = input(
            "",
            vec![
                field("1abc", ""),
                field("ok", &"v".repeat(FIELD_VALUE_MAX + 1)),
            ],
        );
        bad.role = "Bad Role".into();
        bad.ttl_days = Some(0);
        bad.description = Some("d".repeat(TEMPLATE_DESCRIPTION_MAX + 1));
        let fields: Vec<String> = errors(bad.check(&project()))
            .into_iter()
            .map(|e| e.field)
            .collect();
        for f in [
            "name",
            "description",
            "role",
            "ttl_days",
            "fields[0].name",
            "fields[0].value",
            "fields[1].value",
        ] {
            assert!(
                fields.contains(&f.to_string()),
                "{f} missing from {fields:?}"
            );
        }
    }

    #[test]
    fn limits() {
        assert!(
            input(&"n".repeat(TEMPLATE_NAME_MAX), vec![])
                .check(&project())
                .is_ok()
        );
        assert!(
            input(&"n".repeat(TEMPLATE_NAME_MAX + 1), vec![])
                .check(&project())
                .is_err()
        );
        let mut t = input("a", vec![]);
        t.ttl_days = Some(TTL_DAYS_MAX + 1);
        assert!(t.check(&project()).is_err());
        let many = (0..=FIELDS_MAX)
            .map(|i| field(&format!("f{i}"), "v"))
            .collect();
        assert_eq!(
            errors(input("a", many).check(&project()))[0].field,
            "fields"
        );
        assert!(check_field_name("n", &"a".repeat(FIELD_NAME_MAX + 1)).is_err());
        assert!(check_field_name("n", "Input node-1_x").is_ok());
        assert!(check_field_name("n", "emoji 🙂").is_err());
    }

    #[test]
    fn field_names_must_differ_as_identifiers() {
        let e = errors(
            input(
                "a",
                vec![field("Input node", "1"), field("input-node", "2")],
            )
            .check(&project()),
        );
        assert_eq!(e[0].field, "fields[1].name");
        assert_eq!(field_identifier("Input node-1"), "input_node_1");
        assert_eq!(field_identifier("Input  node - 1"), "input_node_1");
        assert_eq!(field_identifier("x-"), "x_");
    }

    #[test]
    fn patch_keeps_absent_and_clears_null_ttl() {
        let t = input("a", vec![]).check(&project()).expect("valid");
        let mut with_ttl = t.clone();
        with_ttl.ttl_days = Some(30);
        let keep: TemplatePatch =
            serde_json::from_str(r#"{"name":"b","version":1}"#).expect("json");
        assert_eq!(keep.apply(with_ttl.clone()).expect("ok").ttl_days, Some(30));
        let clear: TemplatePatch =
            serde_json::from_str(r#"{"ttl_days":null,"version":1}"#).expect("json");
        assert_eq!(clear.apply(with_ttl).expect("ok").ttl_days, None);
        let empty: TemplatePatch = serde_json::from_str(r#"{"version":1}"#).expect("json");
        assert!(empty.apply(t).is_err());
    }
}
