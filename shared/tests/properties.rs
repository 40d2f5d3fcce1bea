//! Property tests of secret-name derivation (an import's `<prefix>_token` and
//! `<prefix>_<field>` secrets): small pure functions whose input space a generator describes
//! better than a coverage-guided fuzzer would find it (the parsers are fuzzed in `fuzz/`).
//! Bounded cases; no emulator needed.

use keygate::Error;
use keygate::adapters::secrets::Vault;
use keygate::config::{DEFAULT_SECRETS_NAMESPACE, ImportsConfig};
use keygate::domain::import::plan;
use keygate::domain::key::KeyField;
use keygate::domain::template::{FieldName, TOKEN_IDENTIFIER, field_identifier};
use keygate::model::checks::Text;
use keygate::model::ids::{Prefix, ProjectId, SECRET_NAME_MAX, SecretName};
use proptest::prelude::*;

const CASES: u32 = 512;

fn prefix() -> impl Strategy<Value = Prefix> {
    "[a-z][a-z0-9_]{0,47}".prop_map(|p| Prefix::parse("prefix", &p).expect("generated to the rule"))
}

/// A field name a template accepts (trimmed, as templates store it).
fn checked_name() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9 _-]{0,63}".prop_map(|n| {
        FieldName::parse("name", &n)
            .expect("generated to the rule")
            .to_string()
    })
}

/// Any name at all: a key issued before templates checked names carries what it carries.
fn any_name() -> impl Strategy<Value = String> {
    prop_oneof![checked_name(), any::<String>(), "(?i)(token|to-ken|TOKEN )"]
}

fn fields(names: Vec<String>) -> Vec<KeyField> {
    names
        .into_iter()
        .map(|name| KeyField {
            name,
            description: Text::default(),
            value: "v".into(),
        })
        .collect()
}

/// The identifiers that clash: reserved for the token, or taken by an earlier field.
fn clashes(fields: &[KeyField]) -> Vec<usize> {
    let ids: Vec<String> = fields.iter().map(|f| field_identifier(&f.name)).collect();
    let mut out = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let twice = ids.iter().enumerate().any(|(j, o)| j != i && o == id);
        if id == TOKEN_IDENTIFIER || twice {
            out.push(i);
        }
    }
    out
}

/// Secrets Manager's rule for a secret name: 1 to 512 of `[A-Za-z0-9/_+=.@-]`.
fn valid_secrets_manager_name(name: &str) -> bool {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "/_+=.@-".contains(c);
    !name.is_empty() && name.len() <= 512 && name.chars().all(allowed)
}

fn vault(namespace: &str) -> Option<Vault> {
    let config = ImportsConfig::from_lookup(&|k: &str| {
        (k == "SECRETS_NAMESPACE").then(|| namespace.to_string())
    })
    .ok()?;
    let sdk = aws_sdk_secretsmanager::Config::builder()
        .behavior_version(aws_sdk_secretsmanager::config::BehaviorVersion::latest())
        .build();
    Some(Vault::with_client(
        aws_sdk_secretsmanager::Client::from_conf(sdk),
        &config,
    ))
}

proptest! {
    // A failure prints its minimal input; nothing is written beside the tests.
    #![proptest_config(ProptestConfig {
        cases: CASES,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn field_identifiers_are_lower_snake_case_and_stable(name in any::<String>()) {
        let id = field_identifier(&name);
        prop_assert!(id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'));
        prop_assert!(!id.contains("__"), "{id}");
        prop_assert_eq!(field_identifier(&id), id.clone(), "an identifier is its own identifier");
        prop_assert!(id.chars().count() <= name.chars().count() * 3);
    }

    #[test]
    fn a_checked_key_names_every_secret_validly_and_distinctly(
        prefix in prefix(),
        names in prop::collection::vec(checked_name(), 0..25),
        namespace in prop_oneof![Just(DEFAULT_SECRETS_NAMESPACE.to_string()), "[A-Za-z0-9/_+=.@-]{1,64}"],
        project in "[a-z0-9][a-z0-9_-]{0,63}",
    ) {
        let fields = fields(names);
        let clashing = clashes(&fields);
        match plan(&prefix, &fields) {
            Ok(secrets) => {
                prop_assert!(clashing.is_empty(), "{clashing:?} clash but were planned");
                prop_assert_eq!(secrets.len(), fields.len() + 1);
                prop_assert_eq!(&secrets[0], &(SecretName::of(&prefix, TOKEN_IDENTIFIER), None));
                let project = ProjectId::parse("c", &project).expect("generated to the rule");
                let vault = vault(&namespace);
                for (i, (name, field)) in secrets.iter().enumerate() {
                    // Valid by the name rule, within its length, distinct.
                    prop_assert!(SecretName::parse("name", name.as_str()).is_ok(), "{name}");
                    prop_assert!(name.as_str().len() <= SECRET_NAME_MAX, "{name}");
                    prop_assert!(!secrets[..i].iter().any(|(n, _)| n == name), "{name} twice");
                    // Says which field it holds: `<prefix>_<identifier of that field>`.
                    if let Some(f) = field {
                        prop_assert_eq!(*f, i - 1, "fields keep their order");
                        let want = format!("{prefix}_{}", field_identifier(&fields[*f].name));
                        prop_assert_eq!(name.as_str(), want.as_str());
                    }
                    // And is a valid Secrets Manager name in any valid namespace.
                    if let Some(v) = &vault {
                        let physical = v.physical_name(&project, name);
                        prop_assert!(valid_secrets_manager_name(&physical), "{physical}");
                    }
                }
            }
            Err(e) => prop_assert!(!clashing.is_empty(), "refused without a clash: {e:?}"),
        }
    }

    #[test]
    fn an_import_is_refused_exactly_when_fields_clash(
        prefix in prefix(),
        names in prop::collection::vec(any_name(), 0..8),
    ) {
        let fields = fields(names);
        let clashing = clashes(&fields);
        match plan(&prefix, &fields) {
            Ok(secrets) => {
                prop_assert!(clashing.is_empty());
                for (i, (name, _)) in secrets.iter().enumerate() {
                    prop_assert!(!secrets[..i].iter().any(|(n, _)| n == name), "{name} twice");
                }
            }
            Err(Error::Unprocessable(errors)) => {
                prop_assert!(!clashing.is_empty());
                // Each clashing field is named, and only those.
                let mut named: Vec<String> = errors.iter().map(|e| e.field.clone()).collect();
                named.sort();
                named.dedup();
                let mut want: Vec<String> =
                    clashing.iter().map(|i| format!("key.fields[{i}].name")).collect();
                want.sort();
                prop_assert_eq!(named, want);
            }
            Err(other) => prop_assert!(false, "not a 422: {other:?}"),
        }
    }

    /// Within a prefix the names are distinct; across prefixes of one project they meet only
    /// when one prefix is the other plus `_...`: the store refuses the second import of such a
    /// pair (409, the secret name is already taken).
    #[test]
    fn names_of_two_prefixes_meet_only_where_one_prefix_extends_the_other(
        (p1, p2) in prefix_pair(),
        mut f1 in prop::collection::vec(checked_name(), 0..6),
        f2 in prop::collection::vec(checked_name(), 0..6),
        bridge in any::<bool>(),
    ) {
        // Where p2 is `p1_s`, a field `s x` of p1 is named like p2's field `x` (or its token):
        // add one now and then, so that names do meet.
        if let Some(s) = p2.as_str().strip_prefix(&format!("{p1}_")).filter(|_| bridge) {
            let x = f2.first().map_or("token", String::as_str);
            if let Ok(name) = FieldName::parse("name", &format!("{s} {x}")) {
                f1.push(name.to_string());
            }
        }
        let (Ok(a), Ok(b)) = (plan(&p1, &fields(f1)), plan(&p2, &fields(f2))) else {
            return Ok(());
        };
        for (n1, _) in &a {
            for (n2, _) in &b {
                if n1 == n2 && p1 != p2 {
                    let (s1, s2) = (format!("{p1}_"), format!("{p2}_"));
                    prop_assert!(s1.starts_with(&s2) || s2.starts_with(&s1), "{n1}: {p1} / {p2}");
                }
            }
        }
    }
}

/// Two prefixes: unrelated, or the second extending the first (`a`, `a_b`).
fn prefix_pair() -> impl Strategy<Value = (Prefix, Prefix)> {
    let short = "[a-z][a-z0-9_]{0,38}"
        .prop_map(|p| Prefix::parse("prefix", &p).expect("generated to the rule"));
    let extension = (short, "[a-z0-9_]{1,8}").prop_map(|(p1, s)| {
        let p2 = Prefix::parse("prefix", &format!("{p1}_{s}")).expect("at most 48 characters");
        (p1, p2)
    });
    prop_oneof![(prefix(), prefix()), extension]
}

/// The meeting the property above allows, spelled out.
#[test]
fn a_field_of_one_import_can_take_the_token_name_of_a_longer_prefix() {
    let a = Prefix::parse("prefix", "a").expect("valid");
    let a_b = Prefix::parse("prefix", "a_b").expect("valid");
    let first = plan(&a, &fields(vec!["b token".into()])).expect("no clash within a");
    let second = plan(&a_b, &[]).expect("no fields");
    assert_eq!(first[1].0, second[0].0, "both are a_b_token");
}
