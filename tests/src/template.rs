//! infra/template.yaml read as text, resource by resource and policy statement by policy
//! statement, for the tests that check it (tests/tests/iam.rs, stream.rs). No YAML parser:
//! CloudFormation's tags (`!GetAtt`, `!Sub`) would need one of their own, and the template keeps
//! the shapes read here regular: a statement starts with `- Sid:`, its `Action` and `Resource`
//! are a scalar or a list, and the condition keys read here are flow lists (`[a, b]`).

use std::path::PathBuf;

/// A file of the repository, by its path from the root.
pub fn repo_file(path: &str) -> String {
    let full = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

/// The template's text.
pub fn text() -> String {
    repo_file("infra/template.yaml")
}

/// The template's resources: (logical id, its lines).
pub fn resources() -> Vec<(String, String)> {
    let text = text();
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

/// The lines of resource `id`.
pub fn resource(id: &str) -> String {
    resources()
        .into_iter()
        .find(|(r, _)| r == id)
        .map(|(_, body)| body)
        .unwrap_or_else(|| panic!("no resource {id} in infra/template.yaml"))
}

/// One IAM policy statement (those with a `Sid`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Statement {
    pub sid: String,
    pub effect: String,
    pub actions: Vec<String>,
    pub resources: Vec<String>,
    /// `dynamodb:LeadingKeys`, when the condition names it.
    pub leading_keys: Option<Vec<String>>,
    /// `dynamodb:Attributes`, when the condition names it.
    pub attributes: Option<Vec<String>>,
    /// The `Condition` block as written (empty without one).
    pub condition: String,
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

fn is_comment_or_blank(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#')
}

fn unquote(s: &str) -> String {
    let s = s.trim();
    for q in ['"', '\''] {
        if let Some(inner) = s.strip_prefix(q).and_then(|r| r.strip_suffix(q)) {
            return inner.to_string();
        }
    }
    s.to_string()
}

/// `[a, "b", c]` -> its items.
pub fn flow_list(value: &str) -> Vec<String> {
    let inner = value
        .trim()
        .strip_prefix('[')
        .and_then(|v| v.strip_suffix(']'))
        .unwrap_or_else(|| panic!("{value:?} is not a flow list ([a, b])"));
    inner
        .split(',')
        .map(unquote)
        .filter(|s| !s.is_empty())
        .collect()
}

/// A scalar, a flow list, or a block list (the `- item` lines below it).
fn values(inline: &str, block: &[&str]) -> Vec<String> {
    let inline = inline.trim();
    if inline.starts_with('[') {
        return flow_list(inline);
    }
    if !inline.is_empty() {
        return vec![unquote(inline)];
    }
    block
        .iter()
        .filter(|l| !is_comment_or_blank(l))
        .map(|l| {
            let item = l
                .trim()
                .strip_prefix("- ")
                .unwrap_or_else(|| panic!("{l:?} is not a list item"));
            unquote(item)
        })
        .collect()
}

/// A condition key's flow list in `condition`, if the key is there.
fn condition_list(condition: &str, key: &str) -> Option<Vec<String>> {
    let prefix = format!("{key}:");
    condition
        .lines()
        .find_map(|l| l.trim_start().strip_prefix(prefix.as_str()))
        .map(flow_list)
}

/// The statements of a resource's lines.
pub fn statements(body: &str) -> Vec<Statement> {
    let lines: Vec<&str> = body.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(sid) = line.trim_start().strip_prefix("- Sid: ") else {
            continue;
        };
        let col = indent(line);
        let mut end = i + 1;
        while end < lines.len() && (lines[end].trim().is_empty() || indent(lines[end]) > col) {
            end += 1;
        }
        let own = &lines[i + 1..end];
        let mut s = Statement {
            sid: sid.trim().to_string(),
            ..Statement::default()
        };
        let mut j = 0;
        while j < own.len() {
            let l = own[j];
            j += 1;
            if is_comment_or_blank(l) || indent(l) != col + 2 {
                continue;
            }
            let (key, inline) = l.trim().split_once(':').unwrap_or((l.trim(), ""));
            let start = j;
            while j < own.len() && (is_comment_or_blank(own[j]) || indent(own[j]) > col + 2) {
                j += 1;
            }
            let block = &own[start..j];
            match key {
                "Effect" => s.effect = inline.trim().to_string(),
                "Action" => s.actions = values(inline, block),
                "Resource" => s.resources = values(inline, block),
                "Condition" => s.condition = block.join("\n"),
                _ => {}
            }
        }
        s.leading_keys = condition_list(&s.condition, "dynamodb:LeadingKeys");
        s.attributes = condition_list(&s.condition, "dynamodb:Attributes");
        out.push(s);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_read_with_their_actions_resources_and_conditions() {
        let body = r#"
      Policies:
        - Version: "2012-10-17"
          Statement:
            # A comment.
            - Sid: One
              Effect: Allow
              Action:
                - dynamodb:GetItem
                # inside
                - dynamodb:Query
              Resource: !GetAtt Table.Arn
              Condition:
                ForAllValues:StringLike:
                  dynamodb:LeadingKeys: ["PROJECT#*", "KEY#*"]
                  dynamodb:Attributes: ["pk", "r:*"]
            - Sid: Two
              Effect: Allow
              Action: dynamodb:Query
              Resource:
                - !Sub "${Table.Arn}/index/gsi1"
      Events:
"#;
        let s = statements(body);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].sid, "One");
        assert_eq!(s[0].actions, ["dynamodb:GetItem", "dynamodb:Query"]);
        assert_eq!(s[0].resources, ["!GetAtt Table.Arn"]);
        assert_eq!(
            s[0].leading_keys.as_deref(),
            Some(&["PROJECT#*".to_string(), "KEY#*".to_string()][..])
        );
        assert_eq!(
            s[0].attributes.as_deref(),
            Some(&["pk".to_string(), "r:*".to_string()][..])
        );
        assert_eq!(s[1].actions, ["dynamodb:Query"]);
        assert_eq!(s[1].resources, ["!Sub \"${Table.Arn}/index/gsi1\""]);
        assert_eq!(s[1].leading_keys, None);
    }
}
