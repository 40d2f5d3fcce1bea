//! The schemas of the API's values that are not plain structs (feature `openapi`, for
//! tools/openapi, which generates infra/openapi.json): each checked id or e-mail is a string with
//! the pattern and length its `parse` checks (the same constants), timestamps and days are
//! strings of their format. Structs and enums derive theirs (`#[cfg_attr(feature = "openapi",
//! derive(utoipa::ToSchema))]`) and refer to these; an input field whose rule is a constant of
//! its module takes its schema from that module's `schemas` (`#[schema(schema_with = ...)]`), so
//! the number the check uses is the number the contract states.
//!
//! The generator writes the schemas named in [`INLINE`] into each place that uses them rather
//! than as components of their own, as the contract always stated them (the console and the
//! tests read `prefix`'s pattern where it is used).

use std::borrow::Cow;

use utoipa::openapi::schema::{
    KnownFormat, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, SchemaType, Type,
};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

use crate::model::checks::{Name, Text};

use crate::model::ids::{
    EMAIL_MAX, Email, FieldId, GENERATED_ID_MAX, GENERATED_ID_PATTERN, KeyId, NODE_ID_MAX,
    NODE_ID_PATTERN, NodeId, PREFIX_MAX, PREFIX_PATTERN, PROJECT_ID_MAX, PROJECT_ID_PATTERN,
    Prefix, ProjectId, ROLE_NAME_MAX, ROLE_NAME_PATTERN, RequestId, RoleName, SECRET_NAME_MAX,
    SECRET_NAME_PATTERN, SecretName, TemplateId, USER_ID_MAX, USER_ID_PATTERN, UserId,
};

/// A string matching `rule` whole, at most `max` characters.
pub fn matching(rule: &str, max: usize) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(format!("^{rule}$")))
        .max_length(Some(max))
}

/// Free text of `min..=max` characters.
pub fn text(min: usize, max: usize) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length((min > 0).then_some(min))
        .max_length(Some(max))
}

macro_rules! scalar {
    ($ty:ty, $name:literal, $schema:expr) => {
        impl PartialSchema for $ty {
            fn schema() -> RefOr<Schema> {
                RefOr::T(Schema::Object($schema.build()))
            }
        }
        impl ToSchema for $ty {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed($name)
            }
        }
    };
}

scalar!(
    ProjectId,
    "ProjectId",
    matching(PROJECT_ID_PATTERN, PROJECT_ID_MAX)
);
scalar!(UserId, "UserId", matching(USER_ID_PATTERN, USER_ID_MAX));
scalar!(
    RoleName,
    "RoleName",
    matching(ROLE_NAME_PATTERN, ROLE_NAME_MAX)
);
scalar!(NodeId, "NodeId", matching(NODE_ID_PATTERN, NODE_ID_MAX));
scalar!(Prefix, "Prefix", matching(PREFIX_PATTERN, PREFIX_MAX));
scalar!(
    SecretName,
    "SecretName",
    matching(SECRET_NAME_PATTERN, SECRET_NAME_MAX)
);
scalar!(
    TemplateId,
    "TemplateId",
    matching(GENERATED_ID_PATTERN, GENERATED_ID_MAX)
);
scalar!(
    FieldId,
    "FieldId",
    matching(GENERATED_ID_PATTERN, GENERATED_ID_MAX)
);
scalar!(
    RequestId,
    "RequestId",
    matching(GENERATED_ID_PATTERN, GENERATED_ID_MAX)
);
scalar!(
    KeyId,
    "KeyId",
    matching(GENERATED_ID_PATTERN, GENERATED_ID_MAX)
);
scalar!(
    Email,
    "Email",
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Email)))
        .max_length(Some(EMAIL_MAX))
);

/// A point in time as keygate writes it (`format_time`): RFC 3339, UTC. Stored and sent as a
/// `String`; fields name it with `#[schema(value_type = Timestamp)]`.
pub struct Timestamp;
scalar!(
    Timestamp,
    "Timestamp",
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
        .description(Some("RFC 3339 UTC timestamp"))
);

/// A day, `yyyy-mm-dd` (usage ranges).
pub struct Day;
scalar!(
    Day,
    "Day",
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
);

/// A checked display name of at most `MAX` characters (`model::checks::Name`): `Name<MAX>`.
impl<const MAX: usize> PartialSchema for Name<MAX> {
    fn schema() -> RefOr<Schema> {
        object(text(1, MAX))
    }
}
impl<const MAX: usize> ToSchema for Name<MAX> {
    fn name() -> Cow<'static, str> {
        Cow::Owned(format!("{NAME}{MAX}"))
    }
}

/// Checked free text of at most `MAX` characters (`model::checks::Text`): `Text<MAX>`.
impl<const MAX: usize> PartialSchema for Text<MAX> {
    fn schema() -> RefOr<Schema> {
        object(text(0, MAX))
    }
}
impl<const MAX: usize> ToSchema for Text<MAX> {
    fn name() -> Cow<'static, str> {
        Cow::Owned(format!("{TEXT}{MAX}"))
    }
}

const NAME: &str = "CheckedName";
const TEXT: &str = "CheckedText";

/// Whether the generator writes the schema of this name in place wherever it is used rather
/// than as a component: those of [`INLINE`], and the checked names and texts, one per length.
pub fn inline(name: &str) -> bool {
    let sized = |kind: &str| {
        name.strip_prefix(kind)
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    };
    INLINE.contains(&name) || name == "FieldName" || sized(NAME) || sized(TEXT)
}

/// The schemas written in place wherever they are used (see the module's comment).
pub const INLINE: [&str; 13] = [
    "ProjectId",
    "UserId",
    "RoleName",
    "NodeId",
    "Prefix",
    "SecretName",
    "TemplateId",
    "FieldId",
    "RequestId",
    "KeyId",
    "Email",
    "Timestamp",
    "Day",
];

/// An integer from `min` to `max`, or `null`.
pub fn nullable_integer(min: u64, max: u64) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Integer, Type::Null]))
        .minimum(Some(min))
        .maximum(Some(max))
}

/// A built object schema, as `schema_with` functions return it.
pub fn object(b: ObjectBuilder) -> RefOr<Schema> {
    RefOr::T(Schema::Object(b.build()))
}

/// `schema_with` replaces a field's whole schema, its doc comment included: the fields whose
/// description matters give it with this.
pub fn described(mut schema: RefOr<Schema>, description: &str) -> RefOr<Schema> {
    match &mut schema {
        RefOr::T(Schema::Object(o)) => o.description = Some(description.into()),
        RefOr::T(Schema::Array(a)) => a.description = Some(description.into()),
        _ => {}
    }
    schema
}

/// `T | null`, `T` by reference.
pub fn nullable_ref(name: &str) -> RefOr<Schema> {
    RefOr::T(Schema::OneOf(
        OneOfBuilder::new()
            .item(Ref::from_schema_name(name))
            .item(ObjectBuilder::new().schema_type(Type::Null))
            .build(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn json_of<T: PartialSchema>() -> Value {
        serde_json::to_value(T::schema()).expect("a schema is JSON")
    }

    /// A checked id's schema states the rule its `parse` checks: a value at the longest length
    /// passes both, one character more fails both (the pattern's bound and `maxLength` agree
    /// with the constant).
    #[test]
    fn id_schemas_state_their_checks() {
        /// A schema, the rule and length it should state, and whether a value parses.
        type Case = (Value, &'static str, usize, fn(&str) -> bool);
        let cases: [Case; 6] = [
            (
                json_of::<ProjectId>(),
                PROJECT_ID_PATTERN,
                PROJECT_ID_MAX,
                |v| ProjectId::parse("p", v).is_ok(),
            ),
            (json_of::<UserId>(), USER_ID_PATTERN, USER_ID_MAX, |v| {
                UserId::parse("u", v).is_ok()
            }),
            (
                json_of::<RoleName>(),
                ROLE_NAME_PATTERN,
                ROLE_NAME_MAX,
                |v| RoleName::parse("r", v).is_ok(),
            ),
            (json_of::<NodeId>(), NODE_ID_PATTERN, NODE_ID_MAX, |v| {
                NodeId::parse("n", v).is_ok()
            }),
            (json_of::<Prefix>(), PREFIX_PATTERN, PREFIX_MAX, |v| {
                Prefix::parse("p", v).is_ok()
            }),
            (
                json_of::<KeyId>(),
                GENERATED_ID_PATTERN,
                GENERATED_ID_MAX,
                |v| KeyId::parse("k", v).is_ok(),
            ),
        ];
        for (schema, rule, max, parses) in cases {
            assert_eq!(schema["type"], "string");
            assert_eq!(schema["pattern"], format!("^{rule}$"));
            assert_eq!(schema["maxLength"], json!(max));
            // `first{0,n}` or `any{1,n}`: the longest match is n + 1 or n characters.
            let (low, high) = rule
                .rsplit_once('{')
                .and_then(|(_, b)| b.strip_suffix('}')?.split_once(','))
                .and_then(|(l, h)| Some((l.parse::<usize>().ok()?, h.parse::<usize>().ok()?)))
                .expect("a bounded repetition");
            assert_eq!(high + usize::from(low == 0), max, "{rule}");
            assert!(parses(&"a".repeat(max)), "{rule}: {max} characters");
            assert!(
                !parses(&"a".repeat(max + 1)),
                "{rule}: {} characters",
                max + 1
            );
        }
        let secret = json_of::<SecretName>();
        assert_eq!(secret["maxLength"], json!(SECRET_NAME_MAX));
        assert_eq!(json_of::<Email>()["maxLength"], json!(EMAIL_MAX));
    }

    #[test]
    fn input_limits_are_the_models() {
        use crate::model::project::{PERMISSIONS_MAX, PROJECT_NAME_MAX};
        let name =
            serde_json::to_value(crate::model::project::schemas::project_name()).expect("JSON");
        assert_eq!(name["maxLength"], json!(PROJECT_NAME_MAX));
        assert_eq!(name["minLength"], json!(1));
        let permissions =
            serde_json::to_value(crate::model::project::schemas::permissions()).expect("JSON");
        assert_eq!(permissions["maxItems"], json!(PERMISSIONS_MAX));
        assert_eq!(
            permissions["items"]["pattern"],
            "^(\\*|[a-z][a-z0-9_]{0,63}:[a-z][a-z0-9_]{0,63})$"
        );
    }
}
