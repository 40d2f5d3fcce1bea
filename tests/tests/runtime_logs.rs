//! `lambda_runtime` writes the raw event of every invocation at `trace` ("raw JSON event received
//! from Lambda"): with its default subscriber, a function run at `trace` logs every request's
//! `Authorization` header and body, API keys and console tokens included. Each function's binary
//! (as `make test` builds it) is started as Lambda would at `AWS_LAMBDA_LOG_LEVEL=TRACE`, against
//! a loopback Runtime API that hands out one event carrying a token: keygate's functions log
//! none of it (`keygate::adapters::logging`); the baseline `coldstart-hello` (the default subscriber, as
//! `cargo lambda new` makes it) logs it, which shows the event is there to leak. No stack needed.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Sender, channel};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A token-shaped value; its last part stands for the signature.
const TOKEN: &str =
    "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJydW50aW1lLWxvZ3MifQ.cnVudGltZS1sb2dzLXNpZ25hdHVyZQ";
const SIGNATURE: &str = "cnVudGltZS1sb2dzLXNpZ25hdHVyZQ";

fn binary(name: &str) -> std::path::PathBuf {
    // target/debug/deps/<this test> -> target/debug/<binary>
    let exe = std::env::current_exe().expect("the test's path");
    let debug = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/debug");
    debug.join(name)
}

/// The sample event `file` (under events/) with every placeholder filled, the tokens with
/// [`TOKEN`].
fn event(file: &str) -> String {
    let text = std::fs::read_to_string(keygate_e2e::events_dir().join(file))
        .unwrap_or_else(|e| panic!("events/{file}: {e}"));
    text.replace("{{project}}", "runtime-logs")
        .replace("{{api_key}}", TOKEN)
        .replace("{{owner_token}}", TOKEN)
}

/// Serves one Runtime API request on `stream`: the event on the first `next`, nothing on a later
/// one (the function waits there until it is killed), `202` on a response or an error, which it
/// reports on `answered`. An extension's registration (verify's and the authorizer's shutdown
/// hook registers one, as on Lambda) is accepted, and its wait for events never answered.
fn serve(mut stream: TcpStream, event: &str, handed_out: &AtomicBool, answered: &Sender<()>) {
    let Some((method, path, _body)) = keygate_e2e::read_request(&stream) else {
        return;
    };
    let (method, path) = (method.as_str(), path.as_str());
    if method == "POST" && path == "/2020-01-01/extension/register" {
        let body = r#"{"functionName":"f","functionVersion":"$LATEST","handler":"bootstrap"}"#;
        let _ = write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
             Lambda-Extension-Identifier: runtime-logs-extension\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
    } else if path.starts_with("/2020-01-01/extension/") {
        std::thread::sleep(Duration::from_secs(60));
    } else if method == "GET" && path.ends_with("/invocation/next") {
        if handed_out.swap(true, Ordering::SeqCst) {
            std::thread::sleep(Duration::from_secs(60));
            return;
        }
        let deadline = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() + 30_000)
            .unwrap_or_default();
        let _ = write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
             Lambda-Runtime-Aws-Request-Id: runtime-logs-1\r\n\
             Lambda-Runtime-Deadline-Ms: {deadline}\r\n\
             Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:f\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{event}",
            event.len()
        );
    } else {
        let _ = write!(
            stream,
            "HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
        );
        let _ = answered.send(());
    }
}

/// Starts `function` as Lambda would, logging at trace (JSON), hands it `event` and returns
/// everything it wrote once it has answered.
fn output_at_trace(function: &str, event: &str) -> String {
    let api = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let address = api.local_addr().expect("its address").to_string();
    let (answered, answer) = channel();
    let event = event.to_string();
    std::thread::spawn(move || {
        let handed_out = Arc::new(AtomicBool::new(false));
        for stream in api.incoming() {
            let Ok(stream) = stream else { return };
            let (event, answered, handed_out) =
                (event.clone(), answered.clone(), Arc::clone(&handed_out));
            std::thread::spawn(move || serve(stream, &event, &handed_out, &answered));
        }
    });
    let log = std::env::temp_dir().join(format!("{}.log", keygate_e2e::unique("runtime-logs-")));
    let out = std::fs::File::create(&log).expect("the output file");
    let err = out.try_clone().expect("the output file");
    let mut child = Command::new(binary(function))
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", &address)
        .env("AWS_LAMBDA_FUNCTION_NAME", function)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_LEVEL", "TRACE")
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        .env("RUST_LOG", "trace")
        // keygate's settings; every AWS call fails at once (nothing listens on port 1).
        .env("TABLE_NAME", "runtime-logs")
        .env("USER_TOKEN_ISSUER", "runtime-logs-issuer")
        .env("USER_TOKEN_AUDIENCE", "runtime-logs-audience")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env("KEYGATE_METRICS", "off")
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .spawn()
        .unwrap_or_else(|e| panic!("{function}: {e} (built by `cargo build --workspace`?)"));
    let started = Instant::now();
    let result = loop {
        if answer.recv_timeout(Duration::from_millis(50)).is_ok() {
            break Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            break Err(format!("exited: {status}"));
        }
        if started.elapsed() > Duration::from_secs(30) {
            break Err("no answer within 30 s".to_string());
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    let output = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    if let Err(why) = result {
        panic!("{function}: {why}\n{output}");
    }
    output
}

#[test]
fn at_trace_keygates_functions_do_not_log_the_raw_event() {
    for (function, file) in [
        ("verify", "verify/verify-allowed.200.json"),
        ("authorizer", "authorizer/read-files.allow.json"),
        ("projects", "projects/get-project.200.json"),
        ("console", "verify/introspect.200.json"),
    ] {
        let output = output_at_trace(function, &event(file));
        assert!(
            output.contains(r#""message":"logging","requested":"trace""#),
            "{function} runs at trace:\n{output}"
        );
        assert!(
            !output.contains(SIGNATURE) && !output.contains("raw JSON event"),
            "{function} logs the event:\n{output}"
        );
    }
}

#[test]
fn at_trace_lambda_runtimes_default_subscriber_logs_the_raw_event() {
    let output = output_at_trace("coldstart-hello", &event("verify/verify-allowed.200.json"));
    assert!(
        output.contains("raw JSON event received from Lambda") && output.contains(SIGNATURE),
        "lambda_runtime no longer logs the raw event at trace: revisit keygate::adapters::logging's \
         evidence and this test\n{output}"
    );
}
