//! The functions' log subscriber, set up first thing in every function: tracing's fmt output
//! (JSON lines when Lambda's log format is JSON, as `lambda_runtime`'s default subscriber writes
//! them), at the level the configuration asks for (`config::LogConfig`: `AWS_LAMBDA_LOG_LEVEL`,
//! else `RUST_LOG`), except that **only keygate's own code logs below `info`**.
//!
//! Every other crate is held at `info` whatever level is asked, because below it the crates
//! under keygate write what they carry: `lambda_runtime` the raw event of every invocation at
//! `trace` (its `Authorization` header, a `/v1/verify` body: API keys and console tokens); the AWS
//! SDK's orchestrator, at `trace`, the answers it reads and decodes for every operation not marked
//! sensitive (table items: e-mail addresses, key records), the sensitive ones too (the signing
//! keys) under `LOG_SENSITIVE_BODIES=true`, and SigV4 the requests it signs, bodies included (the
//! token and info values an import writes) under `LOG_SIGNABLE_BODY=true`; `h2`, the connection
//! pools and the credential chain their own traffic. keygate's own `debug`/`trace` lines name
//! operations, ids and counts, never a token or a secret value (tokens are held in types whose
//! `Debug` is redacted). So the template's `LogLevel` may be `trace`: it raises keygate's lines
//! only. Tests: this module's, `shared/tests/log_pinning.rs` (a real SDK call at `trace`, with and
//! without this filter) and `tests/tests/observability.rs` (the test stack runs at `trace`; no
//! token or secret in any of its logs).

use tracing::{Level, Subscriber};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::{Layer, fmt};

use crate::config::LogConfig;

/// The crates whose targets follow the requested level: keygate's library, its functions (crate
/// names: `-` reads `_`) and the local stack's dev sign-in. A unit test keeps the list in step
/// with `functions/`.
pub const OWN_CRATES: &[&str] = &[
    "keygate",
    "approvals",
    "authorizer",
    "console",
    "imports",
    "imports_sync",
    "notifier",
    "projects",
    "requests",
    "scheduler",
    "stats",
    "templates",
    "verify",
    "dev_signin",
    "keygate_dev",
];

/// The most verbose level of every other crate's targets.
pub const OTHERS_MAX: Level = Level::INFO;

/// What is logged: the requested level per target, but above [`OTHERS_MAX`] only for
/// [`OWN_CRATES`].
#[derive(Debug, Clone)]
pub struct LogFilter {
    requested: Targets,
}

impl LogFilter {
    pub fn new(requested: Targets) -> Self {
        LogFilter { requested }
    }

    /// Whether an event or span of `target` at `level` is logged.
    pub fn enabled(&self, target: &str, level: &Level) -> bool {
        self.requested.would_enable(target, level) && (*level <= OTHERS_MAX || is_own(target))
    }

    /// The most verbose level anything may log at (lets tracing skip the rest at the call site).
    pub fn max_level(&self) -> LevelFilter {
        self.requested
            .iter()
            .map(|(_, level)| level)
            .chain(self.requested.default_level())
            .max()
            .unwrap_or(LevelFilter::OFF)
    }
}

/// Whether `target` (a module path, or a name an event set) is keygate's own.
fn is_own(target: &str) -> bool {
    let krate = target.split("::").next().unwrap_or(target);
    OWN_CRATES.contains(&krate)
}

/// The subscriber `config` asks for, writing to `writer` (stdout in the functions).
pub fn subscriber<W>(config: &LogConfig, writer: W) -> impl Subscriber + Send + Sync + 'static
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = LogFilter::new(config.requested.clone());
    let max = filter.max_level();
    let filter = tracing_subscriber::filter::filter_fn(move |meta| {
        filter.enabled(meta.target(), meta.level())
    })
    .with_max_level_hint(max);
    // As lambda_runtime's default subscriber: no time (Lambda stamps each line), no target.
    let lines = fmt::layer()
        .with_target(false)
        .without_time()
        .with_writer(writer);
    let lines = if config.json {
        lines.json().boxed()
    } else {
        lines.boxed()
    };
    tracing_subscriber::registry().with(filter).with(lines)
}

/// Reads [`LogConfig`] and makes its subscriber the process's (first thing in a function's
/// `main`); an invalid level stops the function with the variable's name. Logs one line with
/// the level asked for.
pub fn init() -> Result<(), lambda_http::Error> {
    let config = LogConfig::from_env()?;
    tracing::subscriber::set_global_default(subscriber(&config, std::io::stdout))?;
    tracing::info!(
        requested = %config.requested,
        others_max = %OTHERS_MAX,
        "logging"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// Where lambda_runtime, the SDK and the HTTP stack log what they carry (their modules'
    /// targets; rustls logs through `log`, which nothing here forwards, and is listed should
    /// anything ever bridge it).
    const CARRIERS: &[&str] = &[
        "lambda_runtime::layers::api_response",
        "lambda_runtime::requests",
        "lambda_runtime_api_client",
        "lambda_http",
        "aws_smithy_runtime::client::orchestrator",
        "aws_smithy_runtime::client::orchestrator::http",
        "aws_smithy_runtime::client::orchestrator::auth",
        "aws_smithy_http_client::client",
        "aws_smithy_http::event_stream::sender",
        "aws_sigv4::http_request::sign",
        "aws_runtime::content_encoding::body::http_body_1_x",
        "aws_sdk_secretsmanager::operation::put_secret_value",
        "aws_sdk_dynamodb",
        "aws_config::imds",
        "h2::codec::framed_write",
        "hyper::proto::h1::io",
        "hyper_util::client::legacy::pool",
        "rustls::client::hs",
        "tower::buffer",
    ];

    fn filter(text: &str) -> LogFilter {
        LogFilter::new(text.parse().expect("directives"))
    }

    /// The template's `LogLevel` values (its `AllowedValues`).
    fn template_levels() -> Vec<String> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/template.yaml");
        let template = std::fs::read_to_string(path).expect("infra/template.yaml");
        let param = template
            .split("\n  LogLevel:\n")
            .nth(1)
            .expect("the LogLevel parameter");
        let allowed = param
            .lines()
            .take_while(|l| l.starts_with("    "))
            .find_map(|l| l.trim().strip_prefix("AllowedValues:"))
            .expect("LogLevel's AllowedValues");
        allowed
            .trim()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .split(',')
            .map(|v| v.trim().to_string())
            .collect()
    }

    #[test]
    fn at_every_level_the_template_allows_other_crates_log_info_at_most() {
        let levels = template_levels();
        assert!(levels.iter().any(|l| l == "trace"), "{levels:?}");
        for name in &levels {
            // As Lambda passes it (upper case) and as RUST_LOG has it.
            for config in [
                LogConfig::from_lookup(|v| {
                    (v == "AWS_LAMBDA_LOG_LEVEL").then(|| name.to_uppercase())
                }),
                LogConfig::from_lookup(|v| (v == "RUST_LOG").then(|| name.clone())),
            ] {
                let f = LogFilter::new(config.expect("an allowed level").requested);
                let requested: Level = name.parse().expect("a level");
                for target in CARRIERS {
                    for level in [Level::DEBUG, Level::TRACE] {
                        assert!(!f.enabled(target, &level), "{name}: {target} at {level}");
                    }
                    assert_eq!(
                        f.enabled(target, &Level::INFO),
                        requested >= Level::INFO,
                        "{name}: {target}"
                    );
                    assert!(f.enabled(target, &Level::ERROR), "{name}: {target}");
                }
                for target in ["keygate", "keygate::store", "imports_sync", "verify"] {
                    assert!(f.enabled(target, &requested), "{name}: {target}");
                }
            }
        }
    }

    #[test]
    fn directives_cannot_raise_other_crates() {
        let f = filter("trace,aws_smithy_runtime=trace,lambda_runtime::layers=trace,h2=debug");
        for target in CARRIERS {
            assert!(!f.enabled(target, &Level::DEBUG), "{target}");
        }
        assert!(f.enabled("keygate::store", &Level::TRACE));
        // Own means the crate, not a name that begins like it.
        assert!(!f.enabled("keygate_evil::x", &Level::DEBUG));
        assert!(!f.enabled("verifying", &Level::DEBUG));
        // Lower levels still lower them.
        let f = filter("debug,lambda_runtime=error");
        assert!(!f.enabled("lambda_runtime::runtime", &Level::WARN));
        assert!(f.enabled("keygate", &Level::DEBUG));
        assert_eq!(f.max_level(), LevelFilter::DEBUG);
        assert_eq!(filter("info,keygate=trace").max_level(), LevelFilter::TRACE);
        assert_eq!(filter("off").max_level(), LevelFilter::OFF);
    }

    #[test]
    fn own_crates_are_the_library_the_functions_and_the_dev_sign_in() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../functions");
        let mut expected: Vec<String> = std::fs::read_dir(dir)
            .expect("functions/")
            .map(|e| {
                e.expect("an entry")
                    .file_name()
                    .to_string_lossy()
                    .replace('-', "_")
            })
            .collect();
        assert!(expected.len() >= 10, "{expected:?}");
        expected.extend(["keygate", "dev_signin", "keygate_dev"].map(String::from));
        expected.sort();
        let mut own: Vec<String> = OWN_CRATES.iter().map(|c| c.to_string()).collect();
        own.sort();
        assert_eq!(own, expected, "OWN_CRATES");
    }

    /// A buffer the subscriber writes to.
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .map_err(|_| std::io::Error::other("poisoned"))?
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buffer {
        type Writer = Buffer;
        fn make_writer(&'a self) -> Buffer {
            self.clone()
        }
    }

    impl Buffer {
        fn text(&self) -> String {
            String::from_utf8_lossy(&self.0.lock().expect("buffer")).into_owned()
        }
    }

    #[test]
    fn the_subscriber_at_trace_writes_keygates_lines_as_json_and_drops_the_runtimes_payloads() {
        let config = LogConfig::from_lookup(|v| match v {
            "AWS_LAMBDA_LOG_LEVEL" => Some("TRACE".into()),
            "AWS_LAMBDA_LOG_FORMAT" => Some("JSON".into()),
            _ => None,
        })
        .expect("config");
        let out = Buffer::default();
        tracing::subscriber::with_default(subscriber(&config, out.clone()), || {
            // What lambda_runtime's api_response layer writes for every invocation at trace.
            tracing::trace!(
                target: "lambda_runtime::layers::api_response",
                body = "{\"headers\":{\"authorization\":\"Bearer sekrit-token\"}}",
                "raw JSON event received from Lambda"
            );
            tracing::debug!(target: "aws_smithy_runtime::client::orchestrator", "sekrit-debug");
            tracing::info_span!(target: "lambda_runtime::layers::trace", "Lambda runtime invoke", requestId = "r-1")
                .in_scope(|| {
                    tracing::trace!(target: "keygate::store", attempt = 2, "own trace");
                    tracing::info!(target: "aws_config", "dependency info");
                });
        });
        let text = out.text();
        assert!(!text.contains("sekrit"), "{text}");
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert_eq!(lines[0]["level"], "TRACE");
        assert_eq!(lines[0]["fields"]["message"], "own trace");
        assert_eq!(lines[0]["span"]["requestId"], "r-1");
        assert_eq!(lines[1]["fields"]["message"], "dependency info");
        assert!(lines[0].get("target").is_none(), "no target, as before");
    }
}
