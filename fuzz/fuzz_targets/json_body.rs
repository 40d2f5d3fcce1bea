//! Request bodies: `http::json_body` into every input type of the API, then the domain's
//! validation of the inputs that have a pure one (`NewTemplateInput::check`, `RoleInput::check`,
//! `UserSettingsInput::parse`).
//!
//! Properties: nothing panics; every refusal is a 4xx problem+json whose body is JSON with the
//! same status (400 for content type, emptiness, syntax and fields, 413 over the limit); a body
//! is only accepted with a JSON content type, within the limit, as a JSON object; a template
//! that passes validation holds only values its rules allow (trimmed, bounded, fields distinct as
//! secret-name identifiers and none named `token`), and importing a key issued from it under any
//! prefix names every secret validly and distinctly; a role's permissions come back sorted,
//! distinct and each valid.
//!
//! Input layout (so that seeds are a JSON body behind four bytes): input type, content type,
//! size limit, a byte of salt for the template's project and prefix, then the body.

#![no_main]

use keygate::domain::import::{ImportInput, NodesInput, plan};
use keygate::domain::key::{KeyField, RollInput};
use keygate::domain::project::{
    MemberInput, NewProjectInput, NodeInput, RoleInput, SettingsInput, check_permission,
};
use keygate::domain::request::{NewRequestInput, RejectInput};
use keygate::domain::template::{
    FIELDS_MAX, FieldInput, FieldName, FieldPatch, NewTemplateInput, TEMPLATE_DESCRIPTION_MAX,
    TEMPLATE_NAME_MAX, TTL_DAYS_MAX, TemplatePatch, field_identifier,
};
use keygate::http::{PROBLEM_JSON, json_body, problem};
use keygate::model::ids::{Prefix, ProjectId, RoleName, SecretName};
use keygate::model::locale::Locale;
use keygate::model::user::{UserSettingsBody, UserSettingsInput};
use keygate::{Error, Result};
use lambda_http::{Body, Request};
use libfuzzer_sys::fuzz_target;

const CONTENT_TYPES: &[Option<&str>] = &[
    Some("application/json"),
    Some("application/json; charset=utf-8"),
    Some("Application/JSON"),
    Some("application/merge-patch+json"),
    None,
    Some("text/plain"),
    Some("application/jsonx"),
    Some(""),
];

fn request(content_type: Option<&str>, body: &[u8]) -> Option<Request> {
    let mut b = lambda_http::http::Request::builder()
        .method("POST")
        .uri("/v1/x");
    if let Some(ct) = content_type {
        b = b.header("content-type", ct);
    }
    b.body(Body::from(body.to_vec())).ok()
}

/// Whether the content type says JSON (`application/json` or `*/*+json`, any case, any
/// parameters).
fn says_json(content_type: Option<&str>) -> bool {
    let essence = content_type
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json" || essence.ends_with("+json")
}

/// A refusal is a 4xx problem, rendered as problem+json with its status.
fn check_refusal(e: &Error) {
    let status = e.status();
    assert!((400..500).contains(&status), "{e:?} is a {status}");
    if let Error::Invalid(errors) | Error::Unprocessable(errors) = e {
        assert!(!errors.is_empty());
        // Every error names its field; the one exception is a key that is itself empty
        // (`{"": 1}`), which serde_path_to_error's path can only spell as "".
        assert!(
            errors
                .iter()
                .all(|f| !f.field.is_empty() || f.message.starts_with("unknown field ``")),
            "{errors:?}"
        );
    }
    let res = problem(e);
    assert_eq!(res.status().as_u16(), status);
    assert_eq!(res.headers()["content-type"], PROBLEM_JSON);
    let v: serde_json::Value =
        serde_json::from_slice(res.body().as_ref()).expect("a problem is JSON");
    assert_eq!(v["status"], status);
}

fn parse<T: serde::de::DeserializeOwned>(
    req: &Request,
    ct: Option<&str>,
    body: &[u8],
    max: usize,
) -> Option<T> {
    let r: Result<T> = json_body(req, max);
    let object = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    match r {
        Ok(v) => {
            assert!(
                says_json(ct) && body.len() <= max && object,
                "accepted {ct:?} {body:?}"
            );
            Some(v)
        }
        Err(e) => {
            check_refusal(&e);
            // The content type first, then the size.
            if !says_json(ct) {
                assert!(matches!(e, Error::BadRequest(_)), "{ct:?}: {e:?}");
            } else if body.len() > max {
                assert!(matches!(e, Error::PayloadTooLarge { .. }), "{e:?}");
            }
            None
        }
    }
}

/// `PUT /v1/me/settings`: accepted only as exactly `{"locale": "ru"|"en"|null}`; every refusal
/// names its field.
fn check_user_settings(body: &UserSettingsBody) {
    match UserSettingsInput::parse(body) {
        Ok(input) => {
            assert_eq!(body.len(), 1, "{body:?}");
            let want = match &body["locale"] {
                serde_json::Value::Null => None,
                serde_json::Value::String(s) => Some(Locale::parse(s).expect("a locale")),
                other => panic!("accepted locale {other:?}"),
            };
            assert_eq!(input.locale, want);
        }
        Err(e) => {
            check_refusal(&e);
            assert!(matches!(e, Error::Invalid(_)), "{e:?}");
        }
    }
}

fn check_template(input: NewTemplateInput, salt: u8) {
    let project = ProjectId::parse("p", &format!("p{salt}")).expect("fixture: a project id");
    match input.check(&project) {
        Err(e) => check_refusal(&e),
        Ok(t) => {
            assert_eq!(t.name, t.name.trim());
            assert!(!t.name.is_empty() && t.name.chars().count() <= TEMPLATE_NAME_MAX);
            assert!(!t.name.chars().any(char::is_control));
            assert!(t.description.chars().count() <= TEMPLATE_DESCRIPTION_MAX);
            assert!(RoleName::parse("role", t.role.as_str()).is_ok());
            assert!(t.ttl_days.is_none_or(|d| (1..=TTL_DAYS_MAX).contains(&d)));
            assert!(t.fields.len() <= FIELDS_MAX);
            let mut idents = Vec::new();
            for f in &t.fields {
                assert_eq!(FieldName::parse("n", &f.name).as_ref(), Ok(&f.name));
                assert!(!f.value.is_empty() && f.value == f.value.trim());
                let id = field_identifier(&f.name);
                assert!(id != "token" && !idents.contains(&id), "{:?}", t.fields);
                idents.push(id);
            }
            // A key issued from this template imports under any prefix.
            let fields: Vec<KeyField> = t
                .fields
                .iter()
                .map(|f| KeyField {
                    name: f.name.to_string(),
                    description: f.description.clone(),
                    value: f.value.clone(),
                })
                .collect();
            let prefix = [
                "a",
                "p_1",
                "imported_key_for_the_weather_service_of_server_",
            ][usize::from(salt) % 3];
            let prefix = Prefix::parse("prefix", prefix).expect("fixture: a prefix");
            let names = plan(&prefix, &fields).expect("a valid template's key imports");
            assert_eq!(names.len(), fields.len() + 1);
            for (i, (name, _)) in names.iter().enumerate() {
                assert!(SecretName::parse("s", name.as_str()).is_ok(), "{name}");
                assert!(!names[..i].iter().any(|(n, _)| n == name), "{name} twice");
            }
        }
    }
}

fn check_role(input: RoleInput) {
    match input.check() {
        Err(e) => check_refusal(&e),
        Ok((_, permissions)) => {
            assert!(!permissions.is_empty());
            assert!(
                permissions.windows(2).all(|w| w[0] < w[1]),
                "{permissions:?}"
            );
            for p in &permissions {
                assert_eq!(check_permission("p", p).as_ref(), Ok(p));
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let [kind, ct, limit, salt, body @ ..] = data else {
        return;
    };
    let ct = CONTENT_TYPES[usize::from(*ct) % CONTENT_TYPES.len()];
    let max = match limit % 4 {
        0 => 64 * 1024,
        1 => 16,
        2 => 256,
        _ => body.len(),
    };
    let Some(req) = request(ct, body) else {
        return;
    };
    match kind % 13 {
        0 => {
            if let Some(t) = parse::<NewTemplateInput>(&req, ct, body, max) {
                check_template(t, *salt);
            }
        }
        1 => {
            parse::<TemplatePatch>(&req, ct, body, max);
        }
        2 => {
            parse::<FieldPatch>(&req, ct, body, max);
        }
        3 => {
            parse::<FieldInput>(&req, ct, body, max);
        }
        4 => {
            if let Some(r) = parse::<RoleInput>(&req, ct, body, max) {
                check_role(r);
            }
        }
        5 => {
            parse::<NewProjectInput>(&req, ct, body, max);
        }
        6 => {
            parse::<MemberInput>(&req, ct, body, max);
        }
        7 => {
            parse::<NodeInput>(&req, ct, body, max);
        }
        8 => {
            parse::<SettingsInput>(&req, ct, body, max);
            if let Some(b) = parse::<UserSettingsBody>(&req, ct, body, max) {
                check_user_settings(&b);
            }
        }
        9 => {
            parse::<NewRequestInput>(&req, ct, body, max);
            parse::<RejectInput>(&req, ct, body, max);
        }
        10 => {
            parse::<ImportInput>(&req, ct, body, max);
        }
        11 => {
            parse::<NodesInput>(&req, ct, body, max);
        }
        _ => {
            parse::<RollInput>(&req, ct, body, max);
            parse::<serde_json::Value>(&req, ct, body, max);
        }
    }
});
