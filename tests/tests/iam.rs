//! infra/template.yaml's grants around the published public keys (`JWKS#` items): whatever a
//! function may write in the table, it may not write those (they decide which signatures
//! verify; only the operator publishes them), and only the functions that sign read the signing
//! keys' secret. Read from the template's text, resource by resource.

use std::path::Path;

/// The template's resources: (logical id, its lines).
fn resources() -> Vec<(String, String)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/template.yaml");
    let text = std::fs::read_to_string(&path).expect("infra/template.yaml");
    let body = text
        .split_once("\nResources:\n")
        .map(|(_, b)| b)
        .expect("a Resources section");
    let body = body.split("\nOutputs:").next().unwrap_or(body);
    let mut out: Vec<(String, String)> = Vec::new();
    for line in body.lines() {
        let is_resource = line.starts_with("  ")
            && !line.starts_with("   ")
            && !line.trim_start().starts_with('#')
            && line.trim_end().ends_with(':');
        if is_resource {
            out.push((line.trim().trim_end_matches(':').to_string(), String::new()));
        } else if let Some((_, lines)) = out.last_mut() {
            lines.push_str(line);
            lines.push('\n');
        }
    }
    out
}

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
