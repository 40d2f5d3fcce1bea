//! Bad AWS settings stop a function at init, with the variable and why, before it asks the
//! Lambda Runtime API for an event (Lambda then reports an init error instead of the function
//! running with settings nobody chose). Each function's binary (as `make test` builds it) is
//! started as Lambda would, against a loopback "Runtime API" that only records whether anything
//! connected.

use std::io::Read;
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The functions that build AWS clients at init.
const FUNCTIONS: &[&str] = &[
    "projects",
    "templates",
    "requests",
    "approvals",
    "imports",
    "imports-sync",
    "verify",
    "stats",
    "authorizer",
    "notifier",
    "scheduler",
];

fn binary(name: &str) -> std::path::PathBuf {
    // target/debug/deps/<this test> -> target/debug/<function>
    let exe = std::env::current_exe().expect("the test's path");
    let debug = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/debug");
    debug.join(name)
}

/// Starts `function` with `var=value` as Lambda would; its exit status and output, and whether
/// it connected to the Runtime API.
fn start(function: &str, var: &str, value: &str) -> (bool, String, bool) {
    let api = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    api.set_nonblocking(true).expect("non-blocking");
    let mut child = Command::new(binary(function))
        .env(
            "AWS_LAMBDA_RUNTIME_API",
            api.local_addr().expect("addr").to_string(),
        )
        .env("AWS_LAMBDA_FUNCTION_NAME", function)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env(
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{function}"),
        )
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "2026/01/01/[$LATEST]startup")
        .env(var, value)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{function}: {e} (built by `cargo build --workspace`?)"));
    let started = Instant::now();
    let mut connected = false;
    let status = loop {
        if api.accept().is_ok() {
            connected = true;
        }
        if let Some(status) = child.try_wait().expect("its status") {
            break status;
        }
        if connected || started.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            break child.wait().expect("its status");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let mut output = String::new();
    for stream in [
        child.stdout.take().map(|s| Box::new(s) as Box<dyn Read>),
        child.stderr.take().map(|s| Box::new(s) as Box<dyn Read>),
    ]
    .into_iter()
    .flatten()
    {
        let mut stream = stream;
        let _ = stream.read_to_string(&mut output);
    }
    (status.success(), output, connected)
}

#[test]
fn a_bad_tls_roots_value_stops_every_function_at_init() {
    for function in FUNCTIONS {
        let (ok, output, connected) = start(function, "TLS_ROOTS", "certs/roots.pem");
        assert!(!ok, "{function} exits with an error:\n{output}");
        assert!(!connected, "{function} never asks for an event:\n{output}");
        assert!(
            output.contains("TLS_ROOTS") && output.contains("absolute path"),
            "{function} names the variable and why:\n{output}"
        );
    }
}

#[test]
fn bad_aws_call_settings_stop_a_function_at_init() {
    let (ok, output, connected) = start("verify", "AWS_MAX_ATTEMPTS", "0");
    assert!(!ok && !connected, "{output}");
    assert!(output.contains("AWS_MAX_ATTEMPTS"), "{output}");
}

#[test]
fn the_removed_user_jwks_secret_setting_stops_the_console_functions_at_init() {
    // Read until the issuer keys moved to the table: set, it would otherwise be ignored in
    // silence and every console user refused.
    for function in [
        "projects",
        "templates",
        "requests",
        "approvals",
        "imports",
        "stats",
        "verify",
    ] {
        let (ok, output, connected) = start(function, "USER_JWKS_SECRET_ID", "keygate/user-jwks");
        assert!(!ok && !connected, "{function}:\n{output}");
        assert!(
            output.contains("USER_JWKS_SECRET_ID") && output.contains("user-jwks publish"),
            "{function} names the variable and the fix:\n{output}"
        );
    }
}

#[test]
fn a_bad_project_creation_setting_stops_the_projects_function_at_init() {
    // A typo must not open project creation (or close it with no word why).
    let (ok, output, connected) = start("projects", "PROJECT_CREATION", "everyone");
    assert!(!ok && !connected, "{output}");
    assert!(
        output.contains("PROJECT_CREATION") && output.contains("nobody"),
        "names the variable and its values:\n{output}"
    );
}

#[test]
fn a_bad_log_level_stops_every_function_at_init() {
    // Read first (keygate::adapters::logging), before any other setting: the console builds no AWS client
    // and stops too.
    for function in FUNCTIONS.iter().chain(&["console"]) {
        let (ok, output, connected) = start(function, "AWS_LAMBDA_LOG_LEVEL", "verbose");
        assert!(!ok && !connected, "{function}:\n{output}");
        assert!(
            output.contains("AWS_LAMBDA_LOG_LEVEL") && output.contains("FATAL"),
            "{function} names the variable and its values:\n{output}"
        );
    }
}

#[test]
fn a_bad_default_locale_stops_the_functions_that_write_or_report_the_language_at_init() {
    // A language keygate has no words for must not fall back to one in silence.
    for function in ["projects", "notifier", "scheduler"] {
        let (ok, output, connected) = start(function, "DEFAULT_LOCALE", "de");
        assert!(!ok && !connected, "{function}:\n{output}");
        assert!(
            output.contains("DEFAULT_LOCALE") && output.contains("`ru` or `en`"),
            "{function} names the variable and its values:\n{output}"
        );
    }
}
