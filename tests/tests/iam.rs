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

/// The template's text between `\n<name>:\n` and the next top-level section.
fn section(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/template.yaml");
    let text = std::fs::read_to_string(&path).expect("infra/template.yaml");
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
