//! Which binaries the benchmark starts and the event each one is invoked with: the baseline, then
//! every function of the workspace with a GET-style event from `events/<function>/`, its
//! `{{placeholders}}` filled so that a user token is a real one when the bench provides it.

use std::path::Path;

use serde_json::Value;

/// The baseline's binary (tools/coldstart/src/bin/coldstart-hello.rs).
pub const BASELINE: &str = "coldstart-hello";

/// Where a function's event comes from.
#[derive(Debug, Clone, Copy)]
pub enum EventSource {
    /// A file of `events/`, relative to it.
    File(&'static str),
    /// An event written here: for functions without a fitting file.
    Inline(&'static str),
}

/// A binary to cold-start and the event it gets on every invocation.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    pub name: &'static str,
    pub event: EventSource,
}

/// The console has no `events/` directory: an API Gateway v2 `GET /console` from a browser (it
/// answers the embedded app's page, gzipped).
const CONSOLE_EVENT: &str = r#"{
  "version": "2.0",
  "routeKey": "$default",
  "rawPath": "/console",
  "rawQueryString": "",
  "headers": {
    "accept": "text/html",
    "accept-encoding": "gzip, deflate, br",
    "host": "k3yg4t3abc.execute-api.eu-west-1.amazonaws.com",
    "user-agent": "keygate-coldstart",
    "x-forwarded-for": "203.0.113.10",
    "x-forwarded-port": "443",
    "x-forwarded-proto": "https"
  },
  "requestContext": {
    "accountId": "123456789012",
    "apiId": "k3yg4t3abc",
    "domainName": "k3yg4t3abc.execute-api.eu-west-1.amazonaws.com",
    "domainPrefix": "k3yg4t3abc",
    "http": {
      "method": "GET",
      "path": "/console",
      "protocol": "HTTP/1.1",
      "sourceIp": "203.0.113.10",
      "userAgent": "keygate-coldstart"
    },
    "requestId": "C0ldSt4rtReq1=",
    "routeKey": "$default",
    "stage": "$default",
    "time": "12/Mar/2026:10:15:04 +0000",
    "timeEpoch": 1773310504633
  },
  "isBase64Encoded": false
}"#;

/// An empty stream batch: the consumers' whole path minus the records.
const EMPTY_BATCH: &str = r#"{"Records":[]}"#;

/// The baseline first, then the functions in the workspace's order. The HTTP functions' events
/// are reads that, with a real user token, verify it (the user JWKS is read from the table,
/// `JWKS#users`, on first use) and then read the table: the first invocation pays for what a
/// real cold start's first request pays for.
pub const SPECS: &[Spec] = &[
    Spec {
        name: BASELINE,
        event: EventSource::Inline(r#"{"hello":"world"}"#),
    },
    Spec {
        name: "coldstart-hello-mt",
        event: EventSource::Inline(r#"{"hello":"world"}"#),
    },
    Spec {
        name: "coldstart-hello-log",
        event: EventSource::Inline(r#"{"hello":"world"}"#),
    },
    Spec {
        name: "coldstart-hello-sdk",
        event: EventSource::Inline(r#"{"hello":"world"}"#),
    },
    Spec {
        name: "coldstart-hello-dynamodb",
        event: EventSource::Inline(r#"{"hello":"world"}"#),
    },
    Spec {
        name: "coldstart-hello-shutdown",
        event: EventSource::Inline(r#"{"hello":"world"}"#),
    },
    Spec {
        name: "projects",
        event: EventSource::File("projects/my-projects.200.json"),
    },
    Spec {
        name: "templates",
        event: EventSource::File("templates/list-templates.200.json"),
    },
    Spec {
        name: "requests",
        event: EventSource::File("requests/my-requests.200.json"),
    },
    Spec {
        name: "approvals",
        event: EventSource::File("approvals/my-keys.200.json"),
    },
    Spec {
        name: "imports",
        event: EventSource::File("imports/list-secrets.200.json"),
    },
    Spec {
        name: "imports-sync",
        event: EventSource::Inline(EMPTY_BATCH),
    },
    // The JWKS read needs no token: it reads the published public keys from the table (verify
    // builds no Secrets Manager client).
    Spec {
        name: "verify",
        event: EventSource::File("verify/jwks.200.json"),
    },
    Spec {
        name: "stats",
        event: EventSource::File("stats/project-usage.200.json"),
    },
    // No API key is minted for the bench: the authorizer's answer is a deny of a garbage token.
    Spec {
        name: "authorizer",
        event: EventSource::File("authorizer/garbage-token.deny.json"),
    },
    Spec {
        name: "notifier",
        event: EventSource::Inline(EMPTY_BATCH),
    },
    Spec {
        name: "console",
        event: EventSource::Inline(CONSOLE_EVENT),
    },
    // Added after the rest: the scheduler runs its digest job (once per project and day, so the
    // first run of the bench does the work and the rest find it done).
    Spec {
        name: "scheduler",
        event: EventSource::File("scheduler/digest.json"),
    },
];

/// A project id no test creates: reads of it get as far as the table (and answer 404 or 403).
const PROJECT: &str = "coldstart-bench";

/// `text` with the placeholders this bench can fill: the three user tokens (all the same
/// `token`, when there is one) and the project ids. Others stay as they are.
pub fn fill(text: &str, token: Option<&str>) -> String {
    let mut out = text
        .replace("{{project}}", PROJECT)
        .replace("{{client}}", PROJECT);
    if let Some(token) = token {
        for name in ["{{owner_token}}", "{{member_token}}", "{{outsider_token}}"] {
            out = out.replace(name, token);
        }
    }
    out
}

/// The event bytes for `spec`: read, filled, and checked to be JSON (a broken file is reported
/// by name here rather than as a function's deserialisation error).
pub fn load(spec: &Spec, events_dir: &Path, token: Option<&str>) -> Result<Vec<u8>, String> {
    let (text, origin) = match spec.event {
        EventSource::File(rel) => {
            let path = events_dir.join(rel);
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("reading {}: {e}", path.display()))?;
            (text, path.display().to_string())
        }
        EventSource::Inline(text) => (text.to_string(), format!("the {} event", spec.name)),
    };
    let filled = fill(&text, token);
    serde_json::from_str::<Value>(&filled).map_err(|e| format!("{origin} is not JSON: {e}"))?;
    Ok(filled.into_bytes())
}

/// A short description of a function's answer: the HTTP status of an API Gateway response, the
/// authorizer's decision, the failed records of a batch, or `ok`.
pub fn describe_answer(body: &[u8]) -> String {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return "non-JSON".into();
    };
    if let Some(status) = value.get("statusCode").and_then(Value::as_u64) {
        return format!("HTTP {status}");
    }
    if let Some(allowed) = value.get("isAuthorized").and_then(Value::as_bool) {
        return if allowed { "allow" } else { "deny" }.into();
    }
    if let Some(failures) = value.get("batchItemFailures").and_then(Value::as_array) {
        return format!("{} failed records", failures.len());
    }
    "ok".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_tokens_only_when_there_is_one() {
        let text = r#"{"a":"Bearer {{owner_token}}","p":"{{project}}","k":"{{key}}"}"#;
        assert_eq!(
            fill(text, Some("t0k")),
            r#"{"a":"Bearer t0k","p":"coldstart-bench","k":"{{key}}"}"#
        );
        assert_eq!(
            fill(text, None),
            r#"{"a":"Bearer {{owner_token}}","p":"coldstart-bench","k":"{{key}}"}"#
        );
    }

    #[test]
    fn inline_events_are_json() {
        for spec in SPECS {
            if let EventSource::Inline(_) = spec.event {
                assert!(
                    load(spec, Path::new("/nonexistent"), None).is_ok(),
                    "{}",
                    spec.name
                );
            }
        }
    }

    #[test]
    fn answers_are_described() {
        assert_eq!(
            describe_answer(br#"{"statusCode":404,"body":"x"}"#),
            "HTTP 404"
        );
        assert_eq!(describe_answer(br#"{"isAuthorized":false}"#), "deny");
        assert_eq!(
            describe_answer(br#"{"batchItemFailures":[]}"#),
            "0 failed records"
        );
        assert_eq!(describe_answer(br#"{"message":"hello"}"#), "ok");
        assert_eq!(describe_answer(b"<html>"), "non-JSON");
    }
}
