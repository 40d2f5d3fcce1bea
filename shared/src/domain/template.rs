//! API key templates: what a key will carry (a project role) and the info fields a client needs
//! (project id, input and output node ids, ...). Names are unique per project regardless of case;
//! every change is checked against the stored `version` (optimistic concurrency).

use super::audit::AuditEntry;
use super::request::{self};
use crate::access;
use crate::error::{Error, Result};
use crate::model::caller::Caller;
use crate::model::checks::Check;
pub use crate::model::ids::FIELD_NAME_MAX;
use crate::model::ids::{FieldId, ProjectId, TemplateId};
use crate::model::page::{Page, PageRequest};
use crate::model::request::MyRequest;
use crate::model::time::now;
use crate::store::Store;
use serde::Serialize;

// The types, limits and pure rules are the model's.
pub use crate::model::template::*;

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

/// A template as the API answers it (feature `openapi`): the template's fields and the caller's
/// `my_request` (`TemplateView` flattens the `Template` it holds; the schema does too, rather
/// than an `allOf` that no `additionalProperties: false` could close).
#[cfg(feature = "openapi")]
mod schema {
    use std::borrow::Cow;

    use utoipa::openapi::{RefOr, Schema};
    use utoipa::{PartialSchema, ToSchema};

    use super::{MyRequest, Template, TemplateView};
    use crate::model::schema::nullable_ref;

    /// A template as the API answers it: the template's fields and the caller's `my_request`
    /// (`TemplateView` flattens the `Template` it holds; the schema does too, rather than an
    /// `allOf` that no `additionalProperties: false` could close).
    impl PartialSchema for TemplateView {
        fn schema() -> RefOr<Schema> {
            let mut schema = Template::schema();
            if let RefOr::T(Schema::Object(object)) = &mut schema {
                object
                    .properties
                    .insert("my_request".into(), nullable_ref(&MyRequest::name()));
                object.required.push("my_request".into());
                object.description = Some(
                    "A template; `my_request` is the caller's latest request for it, or `null`."
                        .into(),
                );
            }
            schema
        }
    }

    impl ToSchema for TemplateView {
        fn name() -> Cow<'static, str> {
            Cow::Borrowed("Template")
        }
        fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
            <Template as ToSchema>::schemas(schemas);
            schemas.push((MyRequest::name().into_owned(), MyRequest::schema()));
            <MyRequest as ToSchema>::schemas(schemas);
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use serde_json::json;

        fn json_of<T: PartialSchema>() -> serde_json::Value {
            serde_json::to_value(T::schema()).expect("a schema is JSON")
        }

        #[test]
        fn a_template_as_answered_is_the_template_and_my_request() {
            let v = json_of::<TemplateView>();
            assert_eq!(TemplateView::name(), "Template");
            assert!(v["properties"]["version"].is_object());
            assert_eq!(
                v["properties"]["my_request"]["oneOf"][0]["$ref"],
                "#/components/schemas/MyRequest"
            );
            let required = v["required"].as_array().expect("required");
            assert!(required.contains(&json!("my_request")));
        }
    }
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
        request::closed_by_template_deletion(caller, store.pending_requests_of(p, t).await?)?;
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
        .map(|n| c.take(FieldName::parse("name", n)));
    let description = patch
        .description
        .as_deref()
        .map(|d| c.take(FieldDescription::parse("description", d)));
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
    use crate::error::FieldError;

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
        assert!(FieldName::parse("n", &"a".repeat(FIELD_NAME_MAX + 1)).is_err());
        assert!(FieldName::parse("n", "Input node-1_x").is_ok());
        assert!(FieldName::parse("n", "emoji 🙂").is_err());
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
