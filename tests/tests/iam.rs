//! infra/template.yaml's IAM grants, read from the template's text, resource by resource:
//!
//! - every function's DynamoDB rights are exactly what its code touches, action by action and
//!   partition by partition (`dynamodb:LeadingKeys`), the decisions' counters held to their
//!   attributes (`dynamodb:Attributes`), its indexes by name: `keygate::store::grants` derives
//!   them from the store (shared/src/store/), and docs/security.md carries the same table;
//! - whatever a function may write in the table, it may not write the published public keys
//!   (`JWKS#` items: they decide which signatures verify; only the operator publishes them);
//! - only the functions that sign read the signing keys' secret.
//!
//! The emulator does not enforce IAM: a grant too narrow for the code would break production
//! with no local test failing, which is why the grants come from the code and not the reverse.

use std::collections::{BTreeMap, BTreeSet};

use keygate::store::grants::{self, Action};
use keygate_e2e::template::{Statement, repo_file, resources, statements};

const TABLE_WRITES: &[&str] = &[
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
];

#[test]
fn no_function_may_write_the_published_keys() {
    let resources = resources();
    let (_, deny) = resources
        .iter()
        .find(|(id, _)| id == "PublishedKeysReadOnly")
        .expect("the PublishedKeysReadOnly policy");
    assert!(deny.contains("Effect: Deny"), "{deny}");
    assert!(
        deny.contains(r#"dynamodb:LeadingKeys: ["JWKS#*"]"#),
        "{deny}"
    );
    for action in TABLE_WRITES.iter().chain(&["dynamodb:BatchWriteItem"]) {
        assert!(deny.contains(action), "the deny covers {action}:\n{deny}");
    }

    let writers: Vec<&(String, String)> = resources
        .iter()
        .filter(|(id, body)| {
            id != "PublishedKeysReadOnly" && TABLE_WRITES.iter().any(|a| body.contains(a))
        })
        .collect();
    assert!(writers.len() >= 10, "the table's writers: {writers:?}");
    for (id, body) in writers {
        assert!(
            body.contains("- !Ref PublishedKeysReadOnly"),
            "{id} may write the table, so it must carry PublishedKeysReadOnly"
        );
    }
}

#[test]
fn only_the_signers_read_the_signing_keys_secret() {
    let readers: Vec<String> = resources()
        .into_iter()
        .filter(|(_, body)| body.contains("Resource: !Ref SigningKeysSecretArn"))
        .map(|(id, _)| id)
        .collect();
    assert_eq!(
        readers,
        ["ApprovalsFunction", "ImportsFunction", "ImportsSyncRole"],
        "the resources granted the signing keys' secret"
    );
}

/// The template's text between `\n<name>:\n` and the next top-level section.
fn section(name: &str) -> String {
    let text = repo_file("infra/template.yaml");
    let (_, body) = text
        .split_once(&format!("\n{name}:\n"))
        .unwrap_or_else(|| panic!("a {name} section"));
    // Up to the next top-level key (a line that starts with a letter).
    body.split('\n')
        .take_while(|line| !line.starts_with(|c: char| c.is_ascii_alphabetic()))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_platform_backend_can_tell_a_gateway_call_from_a_forged_one() {
    // Every call through PlatformApi carries the secret, overwriting whatever a caller sent...
    let resources = resources();
    let (_, integration) = resources
        .iter()
        .find(|(id, _)| id == "PlatformIntegration")
        .expect("the PlatformIntegration");
    assert!(
        integration
            .contains(r#""overwrite:header.x-keygate-gateway-secret": !Ref PlatformBackendSecret"#),
        "{integration}"
    );
    for header in ["key-id", "holder", "project", "role"] {
        assert!(
            integration.contains(&format!("\"overwrite:header.x-keygate-{header}\"")),
            "x-keygate-{header} is overwritten, never passed through:\n{integration}"
        );
    }
    // ...which is never echoed, is long enough to guess at no rate, and must be set whenever
    // there is a backend; the backend is reached over https only.
    let parameters = section("Parameters");
    let (_, secret) = parameters
        .split_once("  PlatformBackendSecret:\n")
        .expect("a PlatformBackendSecret parameter");
    let secret = secret.split("\n  P").next().unwrap_or_default();
    assert!(secret.contains("NoEcho: true"), "{secret}");
    assert!(secret.contains("{32,256}"), "{secret}");
    let (_, url) = parameters
        .split_once("  PlatformBackendUrl:\n")
        .expect("a PlatformBackendUrl parameter");
    let url = url.split("\n  P").next().unwrap_or_default();
    assert!(url.contains(r#"AllowedPattern: "^(https://"#), "{url}");
    let rules = section("Rules");
    assert!(
        rules.contains("RuleCondition: !Not [!Equals [!Ref PlatformBackendUrl, \"\"]]")
            && rules.contains("Assert: !Not [!Equals [!Ref PlatformBackendSecret, \"\"]]"),
        "{rules}"
    );
}

/// The resource whose policy is `function`'s: its own for the HTTP functions and the scheduler,
/// an explicit role for the stream readers.
fn policy_resource(function: &str) -> String {
    match function {
        "notifier" => "NotifierRole".into(),
        "imports-sync" => "ImportsSyncRole".into(),
        f => {
            let mut chars = f.chars();
            let first = chars.next().map(|c| c.to_ascii_uppercase());
            format!("{}{}Function", first.unwrap_or_default(), chars.as_str())
        }
    }
}

const TABLE: &str = "!GetAtt Table.Arn";

/// A table grant: (action, partition) -> the attributes it may name (`None`: any).
type TableGrants = BTreeMap<(String, String), Option<BTreeSet<String>>>;

/// What a resource's statements allow on the table and its indexes.
fn granted(id: &str, statements: &[Statement]) -> (TableGrants, BTreeSet<String>) {
    let mut table = TableGrants::new();
    let mut indexes = BTreeSet::new();
    let mut batch_statements = 0;
    for s in statements {
        if s.effect != "Allow" || !s.actions.iter().any(|a| a.starts_with("dynamodb:")) {
            continue;
        }
        let on_table = s.resources.iter().any(|r| r == TABLE);
        let on_index: Vec<&String> = s
            .resources
            .iter()
            .filter(|r| r.contains("/index/"))
            .collect();
        if !on_table && on_index.is_empty() {
            // The stream's own actions (`Table.StreamArn`).
            assert!(
                s.resources.iter().all(|r| r == "!GetAtt Table.StreamArn"),
                "{id}/{}: {:?}",
                s.sid,
                s.resources
            );
            continue;
        }
        assert!(
            !on_table || on_index.is_empty(),
            "{id}/{}: one statement for the table, another for its indexes",
            s.sid
        );
        for a in &s.actions {
            let known = Action::ALL.iter().any(|k| k.iam() == *a);
            assert!(
                known,
                "{id}/{}: {a} is not an item action (no Scan, batch writes, PartiQL or wildcard)",
                s.sid
            );
        }
        if !on_index.is_empty() {
            assert_eq!(
                s.actions,
                ["dynamodb:Query"],
                "{id}/{}: indexes serve reads",
                s.sid
            );
            for r in on_index {
                let name = r
                    .strip_prefix("!Sub \"${Table.Arn}/index/")
                    .and_then(|n| n.strip_suffix('"'))
                    .unwrap_or_else(|| panic!("{id}/{}: {r}: name the index", s.sid));
                assert!(!name.contains('*'), "{id}/{}: {r}: name the index", s.sid);
                indexes.insert(name.to_string());
            }
            continue;
        }
        let keys = s.leading_keys.clone().unwrap_or_else(|| {
            panic!(
                "{id}/{}: every table grant names its partitions (dynamodb:LeadingKeys)",
                s.sid
            )
        });
        assert!(
            s.condition.contains("ForAllValues:StringLike:")
                && !s.condition.contains("ForAnyValue"),
            "{id}/{}: LeadingKeys under ForAllValues:StringLike, every key of a request in them:\n{}",
            s.sid,
            s.condition
        );
        if s.attributes.is_some() {
            assert!(
                s.condition.contains("StringEqualsIfExists:")
                    && s.condition.contains("dynamodb:ReturnValues: [NONE]"),
                "{id}/{}: an update held to attributes returns nothing else:\n{}",
                s.sid,
                s.condition
            );
        }
        if s.actions.iter().any(|a| a == "dynamodb:BatchGetItem") {
            batch_statements += 1;
        }
        let attributes: Option<BTreeSet<String>> =
            s.attributes.as_ref().map(|a| a.iter().cloned().collect());
        for a in &s.actions {
            for k in &keys {
                match table.get_mut(&(a.clone(), k.clone())) {
                    None => {
                        table.insert((a.clone(), k.clone()), attributes.clone());
                    }
                    Some(held) => match (held.as_mut(), &attributes) {
                        (Some(held), Some(more)) => held.extend(more.iter().cloned()),
                        _ => *held = None,
                    },
                }
            }
        }
    }
    // A BatchGetItem's partitions are checked together, against one statement at a time.
    assert!(
        batch_statements <= 1,
        "{id}: BatchGetItem in one statement with all its partitions"
    );
    (table, indexes)
}

#[test]
fn every_function_may_touch_exactly_the_partitions_its_code_does() {
    let resources = resources();
    let mut checked = BTreeSet::new();
    for f in grants::FUNCTIONS {
        let expected = grants::grants(f.name).expect("the function's grants");
        let id = policy_resource(f.name);
        let (_, body) = resources
            .iter()
            .find(|(r, _)| *r == id)
            .unwrap_or_else(|| panic!("{}: no resource {id}", f.name));
        let (table, indexes) = granted(&id, &statements(body));
        let want: TableGrants = expected
            .table
            .iter()
            .map(|((a, p), attrs)| {
                (
                    (a.iam(), p.to_string()),
                    attrs
                        .as_ref()
                        .map(|s| s.iter().map(|n| n.to_string()).collect()),
                )
            })
            .collect();
        assert_eq!(
            table, want,
            "{}: {id}'s table grants are not what keygate::store::grants derives from its code",
            f.name
        );
        let want_indexes: BTreeSet<String> =
            expected.indexes.iter().map(|i| i.to_string()).collect();
        assert_eq!(indexes, want_indexes, "{}: {id}'s indexes", f.name);
        checked.insert(id);
    }
    // Nothing else is granted the table: the console, the platform API, the alarms...
    for (id, body) in &resources {
        if checked.contains(id) {
            continue;
        }
        let (table, indexes) = granted(id, &statements(body));
        assert!(
            table.is_empty() && indexes.is_empty(),
            "{id} is granted the table but is no function of keygate::store::grants::FUNCTIONS"
        );
    }
}

#[test]
fn the_decisions_may_update_only_their_counters() {
    for id in ["VerifyFunction", "AuthorizerFunction"] {
        let (table, _) = granted(id, &statements(&keygate_e2e::template::resource(id)));
        let updates: Vec<_> = table
            .iter()
            .filter(|((a, _), _)| a == "dynamodb:UpdateItem")
            .collect();
        assert_eq!(updates.len(), 2, "{id}: {updates:?}");
        for ((_, partition), attributes) in updates {
            let attributes = attributes
                .as_ref()
                .unwrap_or_else(|| panic!("{id} may update any attribute of {partition}"));
            for held in [
                "status",
                "role",
                "holder",
                "valid_until",
                "replaced_by",
                "grace_until",
            ] {
                assert!(
                    !attributes.iter().any(|p| grants::like(p, held)),
                    "{id} may update {held} in {partition}"
                );
            }
        }
        for (a, _) in table.keys() {
            assert!(
                !["dynamodb:PutItem", "dynamodb:DeleteItem"].contains(&a.as_str()),
                "{id}: {a}"
            );
        }
    }
}

#[test]
fn the_security_docs_carry_the_grants_table() {
    let docs = repo_file("docs/security.md");
    let table = grants::markdown_table();
    assert!(
        docs.contains(&table),
        "docs/security.md should hold the grants table as keygate::store::grants renders it:\n\n{table}"
    );
}
