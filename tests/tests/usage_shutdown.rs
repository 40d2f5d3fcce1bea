//! What a container's batched usage counts (`keygate::usecases::counting`) become when it stops. The
//! function's binary (verify, the authorizer; as `make test` builds them) is started as Lambda
//! would, against a loopback Runtime API that accepts the shutdown hook's extension and hands
//! out the events of events/ with a real key of the stack; its counts go to the stack's table.
//!
//! - SIGTERM (Lambda's shutdown, `cargo lambda watch` stopping it): the counts are flushed before
//!   the process exits, complete, with a flush interval far longer than the test.
//! - `kill -9`: what it loses is its unflushed batch and nothing more: the counts it flushed
//!   before are all there, the ones since are gone (the bound docs/api.md and docs/security.md state).

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use keygate_e2e::{Fixture, Stack};

fn binary(name: &str) -> std::path::PathBuf {
    // target/debug/deps/<this test> -> target/debug/<function>
    let exe = std::env::current_exe().expect("the test's path");
    exe.parent()
        .and_then(|deps| deps.parent())
        .expect("target/debug")
        .join(name)
}

/// A loopback Lambda Runtime API for one function process: events from a queue, answers
/// reported, the no-op extension's registration accepted and its wait left unanswered.
struct RuntimeApi {
    address: String,
    events: Sender<String>,
    answers: Receiver<String>,
}

impl RuntimeApi {
    fn start() -> RuntimeApi {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let address = listener.local_addr().expect("address").to_string();
        let (events, queue) = channel::<String>();
        let queue = Arc::new(Mutex::new(queue));
        let (answered, answers) = channel();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let (queue, answered) = (Arc::clone(&queue), answered.clone());
                std::thread::spawn(move || serve(stream, &queue, &answered));
            }
        });
        RuntimeApi {
            address,
            events,
            answers,
        }
    }

    /// Hands out `event` and waits for its answer's body.
    fn invoke(&self, event: &str) -> String {
        self.events.send(event.to_string()).expect("queued");
        self.answers
            .recv_timeout(Duration::from_secs(30))
            .expect("the function answers within 30 s")
    }
}

fn serve(mut stream: TcpStream, queue: &Mutex<Receiver<String>>, answered: &Sender<String>) {
    let Some((method, path, body)) = keygate_e2e::read_request(&stream) else {
        return;
    };
    let (method, path) = (method.as_str(), path.as_str());
    let reply = |stream: &mut TcpStream, status: &str, headers: &str, body: &str| {
        let _ = write!(
            stream,
            "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
    };
    match (method, path) {
        ("POST", "/2020-01-01/extension/register") => reply(
            &mut stream,
            "200 OK",
            "Content-Type: application/json\r\nLambda-Extension-Identifier: usage-shutdown\r\n",
            r#"{"functionName":"verify","functionVersion":"$LATEST","handler":"bootstrap"}"#,
        ),
        // The extension's wait: no event ever comes (the process is stopped first).
        (_, p) if p.starts_with("/2020-01-01/extension/") => {
            std::thread::sleep(Duration::from_secs(120))
        }
        ("GET", "/2018-06-01/runtime/invocation/next") => {
            let event = match queue.lock() {
                Ok(q) => q.recv(),
                Err(_) => return,
            };
            let Ok(event) = event else { return };
            let deadline = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis() + 30_000)
                .unwrap_or_default();
            let id = keygate_e2e::unique("req-");
            reply(
                &mut stream,
                "200 OK",
                &format!(
                    "Content-Type: application/json\r\nLambda-Runtime-Aws-Request-Id: {id}\r\n\
                     Lambda-Runtime-Deadline-Ms: {deadline}\r\n\
                     Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:verify\r\n"
                ),
                &event,
            );
        }
        _ => {
            reply(&mut stream, "202 Accepted", "", "{}");
            let _ = answered.send(String::from_utf8_lossy(&body).into_owned());
        }
    }
}

/// `function` (verify or the authorizer), started as Lambda would against `api`, with the
/// stack's settings (inherited from the test's environment) and this flush interval.
fn start_function(
    function: &str,
    api: &RuntimeApi,
    flush_seconds: u64,
    log: &std::path::Path,
) -> Child {
    let out = std::fs::File::create(log).expect("log file");
    let err = out.try_clone().expect("log file");
    Command::new(binary(function))
        .env("AWS_LAMBDA_RUNTIME_API", &api.address)
        .env("AWS_LAMBDA_FUNCTION_NAME", function)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("KEYGATE_METRICS", "off")
        .env("USAGE_FLUSH_SECONDS", flush_seconds.to_string())
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .spawn()
        .unwrap_or_else(|e| panic!("{function} (built by `cargo build --workspace`?): {e}"))
}

/// The event `file` of events/ with this key's token and project.
fn event(file: &str, f: &Fixture, token: &str) -> String {
    std::fs::read_to_string(keygate_e2e::events_dir().join(file))
        .unwrap_or_else(|e| panic!("events/{file}: {e}"))
        .replace("{{project}}", &f.project)
        .replace("{{api_key}}", token)
}

/// `n` allowed decisions through `api` (verify's answer or the authorizer's).
fn decide(api: &RuntimeApi, event: &str, n: usize) {
    for i in 0..n {
        let answer = api.invoke(event);
        assert!(
            (answer.contains(r#""statusCode":200"#) && answer.contains(r#"\"allowed\":true"#))
                || answer.contains(r#""isAuthorized":true"#),
            "call {i}: {answer}"
        );
    }
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success(), "kill -{name}");
}

fn wait_exit(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        assert!(start.elapsed() < within, "the process did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test]
async fn sigterm_flushes_the_batch_and_kill_9_loses_at_most_its_unflushed_part() {
    let stack = Stack::new().await;
    let f = Fixture::new(&stack).await;
    let key = f.issue_key(&stack, &[("Project", "p")]).await;
    let event = event("verify/verify-allowed.200.json", &f, &key.token);
    let logs = std::env::var("KEYGATE_STATE_DIR").map_or_else(|_| std::env::temp_dir(), Into::into);

    // SIGTERM with a 300 s interval: only the shutdown flush can write the 12 counts.
    let api = RuntimeApi::start();
    let mut child = start_function(
        "verify",
        &api,
        300,
        &logs.join("usage-shutdown-sigterm.log"),
    );
    decide(&api, &event, 12);
    assert_eq!(
        stack.counted_in_table(&key.id, "USAGE#").await,
        0,
        "nothing flushed yet"
    );
    signal(&child, "TERM");
    let status = wait_exit(&mut child, Duration::from_secs(10));
    assert!(status.success(), "a clean exit after the flush: {status}");
    assert_eq!(
        stack.counted_in_table(&key.id, "USAGE#").await,
        12,
        "every count written at SIGTERM"
    );

    // kill -9 with a 1 s interval: 8 calls, flushed by the timer; then 5 more and the kill
    // before the next flush. The 8 are there, the 5 (its unflushed batch) are lost.
    let api = RuntimeApi::start();
    let mut child = start_function("verify", &api, 1, &logs.join("usage-shutdown-kill.log"));
    decide(&api, &event, 8);
    let deadline = Instant::now() + Duration::from_secs(15);
    while stack.counted_in_table(&key.id, "USAGE#").await < 12 + 8 {
        assert!(Instant::now() < deadline, "the timer flushed within 15 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    decide(&api, &event, 5);
    signal(&child, "KILL");
    wait_exit(&mut child, Duration::from_secs(10));
    // Longer than a flush interval: nothing of a killed process is written later.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = stack.counted_in_table(&key.id, "USAGE#").await;
    let lost = 12 + 8 + 5 - after;
    assert!(
        after >= 12 + 8 && lost <= 5,
        "kill -9 loses at most the unflushed batch (5): counted {after}, lost {lost}"
    );
    eprintln!("kill -9 lost {lost} of the 5 counts made after the last flush");
}

#[tokio::test]
async fn the_authorizer_flushes_its_batch_at_sigterm_too() {
    let stack = Stack::new().await;
    let f = Fixture::new(&stack).await;
    let key = f.issue_key(&stack, &[("Project", "p")]).await;
    let event = event("authorizer/read-files.allow.json", &f, &key.token);
    let logs = std::env::var("KEYGATE_STATE_DIR").map_or_else(|_| std::env::temp_dir(), Into::into);
    let api = RuntimeApi::start();
    let mut child = start_function(
        "authorizer",
        &api,
        300,
        &logs.join("usage-shutdown-authorizer.log"),
    );
    decide(&api, &event, 7);
    assert_eq!(
        stack.counted_in_table(&key.id, "USAGE#").await,
        0,
        "nothing flushed yet"
    );
    signal(&child, "TERM");
    assert!(wait_exit(&mut child, Duration::from_secs(10)).success());
    assert_eq!(
        stack.counted_in_table(&key.id, "USAGE#").await,
        7,
        "every count written at SIGTERM"
    );
}
