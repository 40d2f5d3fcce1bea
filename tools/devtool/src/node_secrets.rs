//! `keygate-dev node-secrets <project> <node>`: the secrets a node of a client project may read,
//! as shell `export` lines: on the local stack, what `job.secret(name)` gives a script on a
//! platform node. Only secrets whose grant (`keygate:nodes` tags) names the node are printed, so
//! a node the holder did not grant sees nothing. The listing is shared with the tests.

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::types::{Filter, FilterNameStringType, SecretListEntry};
use keygate::adapters::secrets::TAG_NODES;

use crate::BoxError;

/// Every secret whose name starts with `prefix` (all pages), with those scheduled for deletion
/// when `planned_deletion`.
pub async fn listed_secrets(
    sm: &Client,
    prefix: &str,
    planned_deletion: bool,
) -> Result<Vec<SecretListEntry>, String> {
    let mut out = Vec::new();
    let mut next = None;
    loop {
        let page = sm
            .list_secrets()
            .include_planned_deletion(planned_deletion)
            .filters(
                Filter::builder()
                    .key(FilterNameStringType::Name)
                    .values(prefix)
                    .build(),
            )
            .set_next_token(next)
            .send()
            .await
            .map_err(|e| format!("ListSecrets: {e:?}"))?;
        out.extend(page.secret_list().iter().cloned());
        next = page.next_token().map(str::to_string);
        if next.is_none() {
            return Ok(out);
        }
    }
}

/// Whether the secret's grant tags (`keygate:nodes`, `keygate:nodes:2`, …) name `node`.
pub fn granted_to(secret: &SecretListEntry, node: &str) -> bool {
    secret.tags().iter().any(|t| {
        t.key()
            .is_some_and(|k| k == TAG_NODES || k.starts_with(&format!("{TAG_NODES}:")))
            && t.value()
                .is_some_and(|v| v.split_whitespace().any(|n| n == node))
    })
}

/// The secrets of `project` granted to `node`: (name without the namespace and project, value),
/// sorted by name.
pub async fn for_node(
    sm: &Client,
    namespace: &str,
    project: &str,
    node: &str,
) -> Result<Vec<(String, String)>, BoxError> {
    let base = format!("{namespace}/{project}/");
    let mut out = Vec::new();
    for s in listed_secrets(sm, &base, false).await? {
        let Some(full) = s.name() else { continue };
        let Some(name) = full.strip_prefix(&base) else {
            continue;
        };
        if !granted_to(&s, node) {
            continue;
        }
        let value = sm
            .get_secret_value()
            .secret_id(full)
            .send()
            .await
            .map_err(|e| format!("GetSecretValue {full}: {e}"))?;
        out.push((
            name.to_string(),
            value.secret_string().unwrap_or_default().to_string(),
        ));
    }
    out.sort();
    Ok(out)
}

/// `export name='value'`, single-quoted for a POSIX shell.
pub fn export_line(name: &str, value: &str) -> String {
    format!("export {name}='{}'", value.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_lines_quote_for_the_shell() {
        assert_eq!(
            export_line("wx_project", "server"),
            "export wx_project='server'"
        );
        assert_eq!(export_line("a", "it's"), r"export a='it'\''s'");
    }

    #[test]
    fn only_the_named_node_is_granted() {
        let tag = |k: &str, v: &str| {
            aws_sdk_secretsmanager::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
        };
        let s = SecretListEntry::builder()
            .tags(tag("keygate:nodes", "fetcher loader"))
            .tags(tag("keygate:nodes:2", "late"))
            .tags(tag("keygate:project", "fetcher-not-a-node"))
            .build();
        assert!(granted_to(&s, "fetcher"));
        assert!(granted_to(&s, "late"));
        assert!(!granted_to(&s, "fetch"));
        assert!(!granted_to(&s, "fetcher-not-a-node"));
    }
}
