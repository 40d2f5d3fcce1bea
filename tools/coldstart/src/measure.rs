//! One cold start of one binary: start it as Lambda would (the harness's environment plus the
//! variables the Lambda runtime sets, `AWS_LAMBDA_RUNTIME_API` pointing at a fresh loopback
//! server), then drive the Runtime API exchange and time it:
//!   init   exec -> the first `GET .../invocation/next`
//!   first  the first event handed out -> its `.../response` (or `/error`)
//!   warm   the same for each later event
//! and read the process's peak RSS (`VmHWM`) once it is idle again, before killing it.
//! Every wait has a deadline and a dead process is noticed, so a broken function fails its run
//! with a reason instead of hanging the bench.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::events::describe_answer;
use crate::runtime_api::{Message, Reply, Request, Route, Server, route};
use crate::stats::vm_hwm_kib;

/// The most any one step (init, an invocation, going idle) may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);
/// How often a wait looks at whether the process is still alive.
const LIVENESS_POLL: Duration = Duration::from_millis(50);
/// The invocation deadline handed to the function (as Lambda does, now + its timeout).
const INVOCATION_DEADLINE: Duration = Duration::from_secs(30);

/// What to start and how.
pub struct Target<'a> {
    pub name: &'a str,
    pub binary: &'a Path,
    pub event: &'a [u8],
    /// Invocations after the first.
    pub warm: usize,
    /// The function's stdout and stderr are appended here.
    pub log: &'a Path,
}

/// The measurements of one cold start.
#[derive(Debug, Clone)]
pub struct Sample {
    pub init: Duration,
    pub first: Duration,
    pub warm: Vec<Duration>,
    pub peak_rss_kib: u64,
    /// How the first invocation was answered (`HTTP 404`, `deny`, `error: ...`).
    pub answer: String,
    /// Invocations answered through `/error`.
    pub errors: usize,
}

/// Kills and reaps the process when the run ends, whichever way it ends.
struct Running {
    child: Child,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn epoch_ms() -> Result<u128, String> {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .map_err(|e| format!("the clock is before 1970: {e}"))
}

/// Starts `target` and measures one cold start. `run` numbers the run (it goes into request ids
/// and the log).
pub fn cold_start(target: &Target<'_>, run: usize) -> Result<Sample, String> {
    let (server, rx) = Server::start().map_err(|e| format!("runtime API server: {e}"))?;
    let mut log = File::options()
        .create(true)
        .append(true)
        .open(target.log)
        .map_err(|e| format!("opening {}: {e}", target.log.display()))?;
    writeln!(log, "==> keygate-coldstart: run {run} of {}", target.name)
        .map_err(|e| format!("writing {}: {e}", target.log.display()))?;
    let stderr = log
        .try_clone()
        .map_err(|e| format!("{}: {e}", target.log.display()))?;

    let mut command = Command::new(target.binary);
    // The harness's environment passes through (the local stack's endpoint, credentials, table
    // and secret names); these are the variables the Lambda runtime adds.
    command
        .env("AWS_LAMBDA_RUNTIME_API", server.addr().to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", target.name)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env(
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{}", target.name),
        )
        .env(
            "AWS_LAMBDA_LOG_STREAM_NAME",
            format!("2026/01/01/[$LATEST]coldstart{run:023}"),
        )
        .env("_HANDLER", "bootstrap")
        // The harness's own settings (the token among them) are not the function's business.
        .env_remove("COLDSTART_USER_TOKEN")
        .env_remove("COLDSTART_RUNS")
        .env_remove("COLDSTART_WARM")
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(stderr);

    // Taken just before the fork: spawn() returns only once exec has succeeded, so this is the
    // closest instant to "exec" the harness has.
    let started = Instant::now();
    let child = command
        .spawn()
        .map_err(|e| format!("starting {}: {e}", target.binary.display()))?;
    let mut process = Running { child };
    let pid = process.child.id();

    let mut driver = Driver {
        rx: &rx,
        process: &mut process,
        log: target.log,
        extensions: Vec::new(),
    };
    let mut next = driver.wait_next("the first GET /invocation/next (init)")?;
    let init = next.0.at.duration_since(started);

    let total = 1 + target.warm;
    let mut latencies = Vec::with_capacity(total);
    let mut answer = String::new();
    let mut errors = 0;
    for n in 0..total {
        let (_, mut reply) = next;
        let request_id = format!("{run:08x}-0000-4000-8000-{n:012x}");
        let deadline = epoch_ms()? + INVOCATION_DEADLINE.as_millis();
        let headers = [
            ("Content-Type", "application/json".to_string()),
            ("Lambda-Runtime-Aws-Request-Id", request_id.clone()),
            ("Lambda-Runtime-Deadline-Ms", deadline.to_string()),
            (
                "Lambda-Runtime-Invoked-Function-Arn",
                format!(
                    "arn:aws:lambda:us-east-1:000000000000:function:{}",
                    target.name
                ),
            ),
            (
                "Lambda-Runtime-Trace-Id",
                format!(
                    "Root=1-{:08x}-{run:012x}{n:012x};Parent={n:016x};Sampled=0",
                    deadline / 1000
                ),
            ),
        ];
        let handed_out = Instant::now();
        reply
            .send(200, &headers, target.event)
            .map_err(|e| format!("handing out event {n}: {e}"))?;

        let (done, mut ack) = driver.wait_completion(&request_id, n)?;
        latencies.push(done.at.duration_since(handed_out));
        let failed = matches!(route(&done.method, &done.target), Route::Error(_));
        if failed {
            errors += 1;
        }
        if n == 0 {
            answer = if failed {
                format!("error: {}", snippet(&done.body))
            } else {
                describe_answer(&done.body)
            };
        }
        ack.send(202, &[], br#"{"status":"OK"}"#)
            .map_err(|e| format!("acknowledging invocation {n}: {e}"))?;

        // The runtime asks for the next event once it is done with this one: after the last
        // answer this GET is left pending, as in a frozen sandbox, and the process is idle.
        next = driver.wait_next(if n + 1 < total {
            "the next GET /invocation/next"
        } else {
            "the runtime to go idle (GET /invocation/next)"
        })?;
    }

    let status_path = format!("/proc/{pid}/status");
    let status =
        std::fs::read_to_string(&status_path).map_err(|e| format!("reading {status_path}: {e}"))?;
    let peak_rss_kib =
        vm_hwm_kib(&status).ok_or_else(|| format!("no VmHWM line in {status_path}"))?;
    drop(next);
    drop(process);
    drop(server);

    let mut latencies = latencies.into_iter();
    let first = latencies
        .next()
        .ok_or("no invocation was measured (internal error)")?;
    Ok(Sample {
        init,
        first,
        warm: latencies.collect(),
        peak_rss_kib,
        answer,
        errors,
    })
}

/// The first line of a body, shortened for a table cell or an error message.
fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let line = text.lines().next().unwrap_or_default();
    let mut out: String = line.chars().take(160).collect();
    if out.len() < line.len() {
        out.push('…');
    }
    out
}

/// Waits for the function's requests, each within [`STEP_TIMEOUT`], failing on a dead process,
/// an init error or anything out of protocol.
struct Driver<'a> {
    rx: &'a Receiver<Message>,
    process: &'a mut Running,
    log: &'a Path,
    /// Registered extensions' waits for their next event: held unanswered, as Lambda holds them
    /// until there is an event (this bench has none for them).
    extensions: Vec<Reply>,
}

impl Driver<'_> {
    /// The next request, or why there is none.
    fn recv(&mut self, what: &str) -> Result<(Request, Reply), String> {
        let deadline = Instant::now() + STEP_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(format!(
                    "timed out after {}s waiting for {what}; see {}",
                    STEP_TIMEOUT.as_secs(),
                    self.log.display()
                ));
            }
            match self.rx.recv_timeout(left.min(LIVENESS_POLL)) {
                Ok(Message::Request(request, mut reply)) => {
                    match route(&request.method, &request.target) {
                        // An internal extension's registration and its wait: part of the
                        // function's init and life, not of the exchange being timed.
                        Route::ExtensionRegister => {
                            let body = br#"{"functionName":"coldstart","functionVersion":"$LATEST","handler":"bootstrap"}"#;
                            let headers = [
                                ("Content-Type", "application/json".to_string()),
                                (
                                    "Lambda-Extension-Identifier",
                                    format!("ext-{}", self.extensions.len()),
                                ),
                            ];
                            reply.send(200, &headers, body).map_err(|e| {
                                format!("answering an extension's registration: {e}")
                            })?;
                        }
                        Route::ExtensionNext => self.extensions.push(reply),
                        _ => return Ok((request, reply)),
                    }
                }
                Ok(Message::Malformed(e)) => {
                    return Err(format!("sent a malformed request: {e}"));
                }
                Err(RecvTimeoutError::Timeout) => {
                    let exited = self
                        .process
                        .child
                        .try_wait()
                        .map_err(|e| format!("checking on the process: {e}"))?;
                    if let Some(status) = exited {
                        return Err(format!(
                            "exited ({status}) while the bench waited for {what}; see {}",
                            self.log.display()
                        ));
                    }
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err("the runtime API server stopped".into());
                }
            }
        }
    }

    /// Fails the run on requests that are not the expected kind, answering them first so the
    /// function is not left waiting on a socket.
    fn unexpected(&self, request: &Request, mut reply: Reply, what: &str) -> String {
        match route(&request.method, &request.target) {
            Route::InitError => {
                let _ = reply.send(202, &[], br#"{"status":"OK"}"#);
                format!(
                    "reported an init error: {}; see {}",
                    snippet(&request.body),
                    self.log.display()
                )
            }
            _ => {
                let _ = reply.send(404, &[], b"");
                format!(
                    "sent {} {} while the bench waited for {what}",
                    request.method, request.target
                )
            }
        }
    }

    fn wait_next(&mut self, what: &str) -> Result<(Request, Reply), String> {
        let (request, reply) = self.recv(what)?;
        match route(&request.method, &request.target) {
            Route::Next => Ok((request, reply)),
            _ => Err(self.unexpected(&request, reply, what)),
        }
    }

    fn wait_completion(&mut self, id: &str, n: usize) -> Result<(Request, Reply), String> {
        let what = format!("the answer to invocation {n}");
        let (request, reply) = self.recv(&what)?;
        match route(&request.method, &request.target) {
            Route::Response(got) | Route::Error(got) if got == id => Ok((request, reply)),
            Route::Response(got) | Route::Error(got) => {
                Err(format!("answered request {got}, expected {id}"))
            }
            _ => Err(self.unexpected(&request, reply, &what)),
        }
    }
}
