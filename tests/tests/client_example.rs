//! `examples/client.py` against a recording stand-in for the platform API on loopback: the five
//! platform calls in order, each with the API key as bearer token, JSON bodies on the POSTs, clear
//! errors for a missing secret and a refused call, and the token never in its output.
//! Needs `python3` on PATH; no stack.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A JWT-shaped stand-in for an imported API key.
const TOKEN: &str = "eyJhbGciOiJFZERTQSIsInR5cCI6ImtleWdhdGUtYXBpLWtleStqd3QifQ.eyJzdWIiOiJib2IifQ.c2lnbmF0dXJlLW9mLWEtZmFrZS1rZXk";
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(30);
const DOWNLOAD: &[u8] = b"t,temp\n2024-01-01T00:00:00Z,3.5\n";

/// The five calls the script makes with project `proj1`, input `in1`, output `out1`.
const EXPECTED: [(&str, &str); 5] = [
    ("GET", "/projects/proj1/data_layers/last"),
    ("POST", "/projects/proj1/nodes/in1/packages"),
    ("POST", "/projects/proj1/nodes/out1/packages/search"),
    ("GET", "/projects/proj1/nodes/in1/packages/pkg1/files"),
    ("GET", "/projects/proj1/nodes/in1/packages/pkg1/files/f1"),
];

#[derive(Debug, Clone)]
struct Recorded {
    method: String,
    path: String,
    authorization: Option<String>,
    content_type: Option<String>,
    body: Vec<u8>,
}

/// The platform API stand-in: answers the five calls, records every request.
struct Platform {
    port: u16,
    calls: Arc<Mutex<Vec<Recorded>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Platform {
    /// `refuse_package_write`: the package POST is answered 403 (problem+json).
    async fn start(refuse_package_write: bool) -> Platform {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let port = listener.local_addr().expect("local addr").port();
        let calls = Arc::new(Mutex::new(Vec::new()));
        let rec = calls.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let rec = rec.clone();
                tokio::spawn(async move {
                    // A stuck connection must not hang the test.
                    let _ = tokio::time::timeout(
                        Duration::from_secs(10),
                        serve(stream, rec, refuse_package_write),
                    )
                    .await;
                });
            }
        });
        Platform { port, calls, task }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn calls(&self) -> Vec<Recorded> {
        self.calls.lock().expect("calls lock").clone()
    }
}

impl Drop for Platform {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads one HTTP/1.1 request (headers and a Content-Length body), records it, answers, closes.
async fn serve(mut stream: TcpStream, rec: Arc<Mutex<Vec<Recorded>>>, refuse: bool) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        if buf.len() > 64 * 1024 {
            return;
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let method = request_line.next().unwrap_or_default().to_string();
    let path = request_line.next().unwrap_or_default().to_string();
    let header = |name: &str| {
        head.split("\r\n").skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    };
    let length: usize = header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => body.extend_from_slice(&chunk[..n]),
        }
    }
    body.truncate(length);
    rec.lock().expect("calls lock").push(Recorded {
        method: method.clone(),
        path: path.clone(),
        authorization: header("authorization"),
        content_type: header("content-type"),
        body,
    });

    let json_reply = |v: Value| ("application/json", v.to_string().into_bytes());
    let (status, (content_type, payload)) = match (method.as_str(), path.as_str()) {
        ("GET", "/projects/proj1/data_layers/last") => (
            200,
            json_reply(json!({"id": "layer7", "created_at": "2024-01-01T00:00:00Z"})),
        ),
        ("POST", "/projects/proj1/nodes/in1/packages") if refuse => (
            403,
            (
                "application/problem+json",
                json!({"type": "about:blank", "title": "Forbidden", "status": 403,
                       "detail": "permission_missing:packages:write"})
                .to_string()
                .into_bytes(),
            ),
        ),
        ("POST", "/projects/proj1/nodes/in1/packages") => (
            201,
            json_reply(json!({"id": "pkg1", "name": "keygate-example"})),
        ),
        ("POST", "/projects/proj1/nodes/out1/packages/search") => (
            200,
            json_reply(json!({"items": [{"id": "pkg0"}], "next": null})),
        ),
        ("GET", "/projects/proj1/nodes/in1/packages/pkg1/files") => (
            200,
            json_reply(json!({"items": [{"id": "f1", "name": "a.csv"}], "next": null})),
        ),
        ("GET", "/projects/proj1/nodes/in1/packages/pkg1/files/f1") => {
            (200, ("text/csv", DOWNLOAD.to_vec()))
        }
        _ => (
            404,
            (
                "application/problem+json",
                json!({"title": "Not Found", "status": 404, "detail": "no such route"})
                    .to_string()
                    .into_bytes(),
            ),
        ),
    };
    let reason = match status {
        200 => "OK",
        201 => "Created",
        403 => "Forbidden",
        _ => "Not Found",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        payload.len()
    );
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(&payload).await;
    let _ = stream.shutdown().await;
}

struct Run {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

impl Run {
    fn output(&self) -> String {
        format!("--- stdout\n{}--- stderr\n{}", self.stdout, self.stderr)
    }
}

fn repo_root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// Runs `python3 examples/client.py <args>` with only `env` (plus what finding python needs),
/// killed after `SCRIPT_TIMEOUT`.
async fn run_client(args: Vec<String>, env: Vec<(&'static str, String)>) -> Run {
    tokio::task::spawn_blocking(move || {
        let root = repo_root();
        let mut cmd = Command::new("python3");
        cmd.current_dir(&root)
            .arg("examples/client.py")
            .args(&args)
            .env_clear()
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("PYTHONIOENCODING", "utf-8")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // What locating python3 may need (a venv or a version manager's shim); nothing else of
        // the caller's environment (proxies, PYTHON*, PLATFORM_API_URL, KEYGATE_PREFIX, secrets).
        for name in ["PATH", "HOME", "PYENV_ROOT", "PYENV_VERSION", "VIRTUAL_ENV"] {
            if let Some(v) = std::env::var_os(name) {
                cmd.env(name, v);
            }
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn python3 (is it on PATH?)");
        let pipe = |r: Option<Box<dyn Read + Send>>| {
            std::thread::spawn(move || {
                let mut s = Vec::new();
                if let Some(mut r) = r {
                    let _ = r.read_to_end(&mut s);
                }
                String::from_utf8_lossy(&s).into_owned()
            })
        };
        let out = pipe(
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
        );
        let err = pipe(
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
        );
        let deadline = Instant::now() + SCRIPT_TIMEOUT;
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for python3") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("examples/client.py did not finish within {SCRIPT_TIMEOUT:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        Run {
            status,
            stdout: out.join().expect("stdout reader"),
            stderr: err.join().expect("stderr reader"),
        }
    })
    .await
    .expect("client run")
}

/// The imported secrets under prefix `wx`, as env vars.
fn secrets() -> Vec<(&'static str, String)> {
    vec![
        ("wx_token", TOKEN.to_string()),
        ("wx_project", "proj1".to_string()),
        ("wx_input_node", "in1".to_string()),
        ("wx_output_node", "out1".to_string()),
    ]
}

fn args(platform: &Platform) -> Vec<String> {
    vec![
        "--prefix".into(),
        "wx".into(),
        "--api".into(),
        platform.url(),
    ]
}

#[track_caller]
fn assert_no_token(run: &Run) {
    assert!(
        !run.stdout.contains(TOKEN) && !run.stderr.contains(TOKEN),
        "the token must never be printed:\n{}",
        run.output()
    );
    assert!(
        !run.stderr.contains("Traceback"),
        "no traceback:\n{}",
        run.output()
    );
}

#[tokio::test]
async fn makes_the_five_platform_calls_with_the_key() {
    let platform = Platform::start(false).await;
    let run = run_client(args(&platform), secrets()).await;
    assert_eq!(run.status.code(), Some(0), "{}", run.output());
    assert_no_token(&run);

    let calls = platform.calls();
    let got: Vec<(&str, &str)> = calls
        .iter()
        .map(|c| (c.method.as_str(), c.path.as_str()))
        .collect();
    assert_eq!(got, EXPECTED, "calls in order\n{}", run.output());
    for c in &calls {
        assert_eq!(
            c.authorization.as_deref(),
            Some(format!("Bearer {TOKEN}").as_str()),
            "{} {} carries the key",
            c.method,
            c.path
        );
    }
    for c in calls.iter().filter(|c| c.method == "POST") {
        assert_eq!(
            c.content_type.as_deref(),
            Some("application/json"),
            "{} {}",
            c.method,
            c.path
        );
        let body: Value = serde_json::from_slice(&c.body).unwrap_or_else(|e| {
            panic!(
                "{} {}: body is not JSON ({e}): {:?}",
                c.method,
                c.path,
                String::from_utf8_lossy(&c.body)
            )
        });
        assert!(body.is_object(), "{} {}: {body}", c.method, c.path);
    }
    assert!(calls[1].body.len() > 2 && calls[2].body.len() > 2);
    for c in calls.iter().filter(|c| c.method == "GET") {
        assert!(c.body.is_empty(), "{} {} has no body", c.method, c.path);
    }

    // One line per call: method, path, status.
    let lines: Vec<&str> = run.stdout.lines().collect();
    let statuses = [200, 201, 200, 200, 200];
    assert_eq!(lines.len(), 5, "{}", run.output());
    for (line, ((method, path), status)) in lines.iter().zip(EXPECTED.iter().zip(statuses)) {
        assert_eq!(*line, format!("{method} {path} {status}"));
    }
}

#[tokio::test]
async fn upper_case_env_names_and_out_file_work() {
    let platform = Platform::start(false).await;
    let out = std::env::temp_dir().join(format!("keygate-client-{}.csv", std::process::id()));
    let mut a = args(&platform);
    a.extend(["--out".to_string(), out.display().to_string()]);
    let env = secrets()
        .into_iter()
        .map(|(k, v)| {
            (
                match k {
                    "wx_token" => "WX_TOKEN",
                    "wx_project" => "WX_PROJECT",
                    "wx_input_node" => "WX_INPUT_NODE",
                    _ => "WX_OUTPUT_NODE",
                },
                v,
            )
        })
        .collect();
    let run = run_client(a, env).await;
    let saved = std::fs::read(&out);
    let _ = std::fs::remove_file(&out);
    assert_eq!(run.status.code(), Some(0), "{}", run.output());
    assert_no_token(&run);
    assert_eq!(platform.calls().len(), 5);
    assert_eq!(saved.expect("downloaded file"), DOWNLOAD);
}

#[tokio::test]
async fn a_missing_secret_is_exit_2_naming_it() {
    let platform = Platform::start(false).await;
    let env = secrets()
        .into_iter()
        .filter(|(k, _)| *k != "wx_token")
        .collect();
    let run = run_client(args(&platform), env).await;
    assert_eq!(run.status.code(), Some(2), "{}", run.output());
    assert!(run.stderr.contains("wx_token"), "{}", run.output());
    assert_no_token(&run);
    assert!(
        platform.calls().is_empty(),
        "no call without the secrets: {:?}",
        platform.calls()
    );
}

#[tokio::test]
async fn a_refused_call_is_exit_1_with_the_problem_detail() {
    let platform = Platform::start(true).await;
    let run = run_client(args(&platform), secrets()).await;
    assert_eq!(run.status.code(), Some(1), "{}", run.output());
    assert!(
        run.stderr.contains("permission_missing:packages:write")
            || run.stdout.contains("permission_missing:packages:write"),
        "the problem detail is printed:\n{}",
        run.output()
    );
    assert!(
        run.stdout
            .contains("POST /projects/proj1/nodes/in1/packages 403"),
        "{}",
        run.output()
    );
    assert_no_token(&run);
    let got: Vec<(String, String)> = platform
        .calls()
        .into_iter()
        .map(|c| (c.method, c.path))
        .collect();
    let want: Vec<(String, String)> = EXPECTED[..2]
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(got, want, "it stops at the refused call");
}

#[tokio::test]
async fn help_works() {
    let run = run_client(vec!["--help".into()], Vec::new()).await;
    assert_eq!(run.status.code(), Some(0), "{}", run.output());
    assert!(
        run.stdout.contains("--prefix") && run.stdout.contains("--api"),
        "{}",
        run.output()
    );
}
