//! `keygate-dev`'s key commands against the emulator, as an operator runs them against a
//! deployed stack: the signing key secret and its published public half stay in step through
//! init, publish, rotate and retire; the users' issuer JWKS is checked before it is published.
//! A table and a secret of their own, so the stack's published keys are never touched.
//! The dev-only commands (`setup`, `seed`, `token`, `pump`) and the `dev-signin` function refuse
//! anything but a loopback AWS endpoint, before any AWS call; the operator's commands do not.

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use keygate::Error;
use keygate::store::{Store, jwks};
use keygate::token::{KeySet, PublicKeys, Verifier};
use keygate_e2e::{signing_keys_in, unique};

/// A binary of `tools/devtool` (`keygate-dev`, `dev-signin`), as `cargo build --workspace` built it.
fn binary(name: &str) -> PathBuf {
    // target/debug/deps/<this test> -> target/debug/<name>
    let exe = std::env::current_exe().expect("the test's path");
    exe.parent()
        .and_then(|deps| deps.parent())
        .expect("target/debug")
        .join(name)
}

fn devtool() -> PathBuf {
    binary("keygate-dev")
}

/// Runs `keygate-dev args` with the secret and, when given, the table; its stdout, or its
/// stderr when it fails.
fn run(args: &[&str], secret: &str, table: Option<&str>) -> Result<String, String> {
    let mut cmd = Command::new(devtool());
    cmd.args(args).env("SIGNING_KEYS_SECRET_ID", secret);
    match table {
        Some(t) => cmd.env("TABLE_NAME", t),
        None => cmd.env_remove("TABLE_NAME"),
    };
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("keygate-dev: {e} (built by `cargo build --workspace`?)"));
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    if out.status.success() {
        Ok(text(&out.stdout))
    } else {
        Err(text(&out.stderr))
    }
}

async fn secret_kids(secret: &str) -> Vec<String> {
    let set = signing_keys_in(secret).await;
    set.kids().into_iter().map(str::to_string).collect()
}

async fn published_kids(store: &Store) -> Option<Vec<String>> {
    let doc = store.published_jwks(jwks::API_KEYS).await.expect("read")?;
    let keys = PublicKeys::from_jwks(&doc).expect("a valid published document");
    Some(keys.kids().into_iter().map(str::to_string).collect())
}

#[tokio::test]
async fn the_key_commands_keep_the_published_keys_in_step_with_the_secret() {
    let sdk = keygate::adapters::aws::aws_config().await;
    let id = unique("devtool-");
    let table = format!("keygate-{id}");
    keygate_dev::setup::create_table(&sdk, &table)
        .await
        .expect("a table of its own");
    let store = Store::new(&sdk, table.clone());
    let sm = aws_sdk_secretsmanager::Client::new(&sdk);
    let secret = format!("keygate-test/{id}");
    let t = Some(table.as_str());

    // Nothing published yet: whatever needs the keys fails closed, naming the command.
    let ttl = std::time::Duration::from_secs(300);
    match Verifier::new(store.clone(), ttl).keys(None).await {
        Err(Error::Unavailable(why)) => assert!(why.contains("signing-keys publish"), "{why}"),
        other => panic!("no published keys must be a 503: {other:?}"),
    }
    match store.required_jwks(jwks::USERS).await {
        Err(Error::Unavailable(why)) => assert!(why.contains("user-jwks publish"), "{why}"),
        other => panic!("no published issuer keys must be a 503: {other:?}"),
    }

    // Before the first deploy there is no table: init makes the secret and says what is left.
    let said = run(&["signing-keys", "init"], &secret, None).expect("init");
    assert!(said.contains("signing-keys publish"), "{said}");
    assert_eq!(published_kids(&store).await, None);
    let first = secret_kids(&secret).await;
    assert_eq!(first.len(), 1);

    run(&["signing-keys", "publish"], &secret, t).expect("publish");
    assert_eq!(published_kids(&store).await, Some(first.clone()));

    run(&["signing-keys", "rotate"], &secret, t).expect("rotate");
    let rotated = secret_kids(&secret).await;
    assert_eq!(rotated.len(), 2);
    assert_eq!(published_kids(&store).await, Some(rotated.clone()));

    let err = run(&["signing-keys", "retire", &rotated[1]], &secret, t).expect_err("active");
    assert!(err.contains("rotate first"), "{err}");
    run(&["signing-keys", "retire", &first[0]], &secret, t).expect("retire");
    let left = secret_kids(&secret).await;
    assert_eq!(left, vec![rotated[1].clone()]);
    assert_eq!(published_kids(&store).await, Some(left));

    // Rotating and retiring need the table: nothing changes without it.
    let err = run(&["signing-keys", "rotate"], &secret, None).expect_err("no table");
    assert!(err.contains("TABLE_NAME"), "{err}");
    assert_eq!(secret_kids(&secret).await, vec![rotated[1].clone()]);

    // The users' issuer JWKS: an unusable document is refused before it is live.
    let dir = std::env::temp_dir().join(&id);
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let bad = dir.join("bad.json");
    std::fs::write(&bad, r#"{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}"#).expect("write");
    let bad = bad.to_string_lossy().into_owned();
    assert!(run(&["user-jwks", "publish", &bad], &secret, t).is_err());
    assert_eq!(store.published_jwks(jwks::USERS).await.expect("read"), None);
    let good = dir.join("good.json");
    let doc = KeySet::generate().expect("a key").jwks().to_string();
    std::fs::write(&good, &doc).expect("write");
    let good = good.to_string_lossy().into_owned();
    run(&["user-jwks", "publish", &good], &secret, t).expect("publish");
    assert_eq!(
        store.published_jwks(jwks::USERS).await.expect("read"),
        Some(doc)
    );

    let _ = std::fs::remove_dir_all(&dir);
    let _ = sm
        .delete_secret()
        .secret_id(&secret)
        .force_delete_without_recovery(true)
        .send()
        .await;
    let _ = aws_sdk_dynamodb::Client::new(&sdk)
        .delete_table()
        .table_name(&table)
        .send()
        .await;
}

/// A loopback listener that accepts connections, never answers, and counts them: an endpoint a
/// refused command must never reach (an AWS call made anyway would hang on it until its deadline).
struct Trap {
    port: u16,
    connections: Arc<AtomicUsize>,
}

impl Trap {
    fn new() -> Trap {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let port = listener.local_addr().expect("its address").port();
        let connections = Arc::new(AtomicUsize::new(0));
        let seen = connections.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                seen.fetch_add(1, Ordering::SeqCst);
                // Read and hold the connection open without answering.
                if let Ok(mut conn) = conn {
                    std::thread::spawn(move || {
                        let mut buf = [0u8; 4096];
                        while matches!(conn.read(&mut buf), Ok(n) if n > 0) {}
                    });
                }
            }
        });
        Trap { port, connections }
    }

    /// The trap by an address the loopback rule refuses, though the connection still lands here:
    /// Linux connects 0.0.0.0 to the local host.
    fn non_loopback_url(&self) -> String {
        format!("http://0.0.0.0:{}", self.port)
    }

    fn loopback_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

/// Environment variables for a child process.
type ChildEnv = Vec<(&'static str, String)>;

struct Outcome {
    success: bool,
    stdout: String,
    stderr: String,
    took: Duration,
}

/// Runs `bin args` with exactly `env` (nothing inherited: no endpoint of the test's own stack
/// leaks in), killed after `limit`.
fn run_with(bin: &Path, args: &[&str], env: &[(&str, String)], limit: Duration) -> Outcome {
    let started = Instant::now();
    let mut child = Command::new(bin)
        .args(args)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e} (built by `cargo build --workspace`?)",
                bin.display()
            )
        });
    loop {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("output");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    Outcome {
        success: out.status.success(),
        stdout: text(&out.stdout),
        stderr: text(&out.stderr),
        took: started.elapsed(),
    }
}

/// The environment of a local-stack process (dummy credentials, no config file, no metadata
/// service, short AWS deadlines) with `extra` (its only endpoint variables) added.
fn local_env(
    state: &Path,
    table: &str,
    secret: &str,
    extra: &[(&'static str, String)],
) -> ChildEnv {
    let mut env: ChildEnv = vec![
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "test".into()),
        ("AWS_SECRET_ACCESS_KEY", "test".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
        (
            "AWS_CONFIG_FILE",
            state.join("no-aws-config").to_string_lossy().into_owned(),
        ),
        (
            "AWS_SHARED_CREDENTIALS_FILE",
            state
                .join("no-aws-credentials")
                .to_string_lossy()
                .into_owned(),
        ),
        ("AWS_MAX_ATTEMPTS", "1".into()),
        ("AWS_ATTEMPT_TIMEOUT_MS", "1500".into()),
        ("AWS_CALL_TIMEOUT_MS", "1500".into()),
        ("KEYGATE_STATE_DIR", state.to_string_lossy().into_owned()),
        ("TABLE_NAME", table.into()),
        ("SIGNING_KEYS_SECRET_ID", secret.into()),
        ("EVENT_BUS_NAME", "keygate-local".into()),
    ];
    // Later values win: `extra` may also replace the above.
    env.extend(extra.iter().cloned());
    env
}

/// Every dev-only command, as the local stack's scripts run it.
const DEV_ONLY: &[(&str, &[&str])] = &[
    ("keygate-dev", &["setup"]),
    ("keygate-dev", &["seed"]),
    ("keygate-dev", &["token", "alice", "alice@example.com"]),
    (
        "keygate-dev",
        &["pump", "--port", "9", "--function", "notifier"],
    ),
    ("dev-signin", &[]),
];

#[tokio::test]
async fn dev_only_commands_refuse_anything_but_a_loopback_endpoint_before_any_aws_call() {
    let trap = Trap::new();
    let id = unique("devonly-");
    // The stack's own state (its dev issuer's key is there): were the fence missing, `token`
    // and `dev-signin` would get as far as using it.
    let stack_state = PathBuf::from(
        std::env::var("KEYGATE_STATE_DIR").expect("KEYGATE_STATE_DIR: run against a local stack"),
    );
    let table = format!("keygate-{id}");
    let secret = format!("keygate-test/{id}");
    let aws = "https://dynamodb.us-east-1.amazonaws.com".to_string();
    let scenarios: Vec<(&str, ChildEnv, String)> = vec![
        (
            "AWS_ENDPOINT_URL on AWS",
            vec![("AWS_ENDPOINT_URL", aws.clone())],
            aws.clone(),
        ),
        ("no endpoint at all", vec![], "real AWS".into()),
        (
            "AWS_ENDPOINT_URL on 0.0.0.0 (reaches the trap)",
            vec![("AWS_ENDPOINT_URL", trap.non_loopback_url())],
            trap.non_loopback_url(),
        ),
        (
            "a loopback AWS_ENDPOINT_URL and a non-loopback AWS_ENDPOINT_URL_DYNAMODB",
            vec![
                ("AWS_ENDPOINT_URL", trap.loopback_url()),
                ("AWS_ENDPOINT_URL_DYNAMODB", trap.non_loopback_url()),
            ],
            trap.non_loopback_url(),
        ),
        (
            "a loopback AWS_ENDPOINT_URL and a non-loopback AWS_ENDPOINT_URL_SECRETS_MANAGER",
            vec![
                ("AWS_ENDPOINT_URL", trap.loopback_url()),
                ("AWS_ENDPOINT_URL_SECRETS_MANAGER", aws.clone()),
            ],
            aws.clone(),
        ),
        (
            "a loopback AWS_ENDPOINT_URL the SDK is told to ignore",
            vec![
                ("AWS_ENDPOINT_URL", trap.loopback_url()),
                ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true".into()),
            ],
            "real AWS".into(),
        ),
    ];
    for (scenario, endpoints, shown) in &scenarios {
        let env = local_env(&stack_state, &table, &secret, endpoints);
        for (bin, args) in DEV_ONLY {
            let command = if *bin == "dev-signin" {
                "dev-signin"
            } else {
                args[0]
            };
            let out = run_with(&binary(bin), args, &env, Duration::from_secs(20));
            let what = format!("{bin} {} with {scenario}", args.join(" "));
            assert!(
                !out.success,
                "{what} must fail: {}{}",
                out.stdout, out.stderr
            );
            for part in [
                format!("refusing `{command}`"),
                shown.clone(),
                "dev-only: it".into(),
                "loopback AWS endpoint (AWS_ENDPOINT_URL on 127.0.0.1, ::1 or localhost".into(),
            ] {
                assert!(
                    out.stderr.contains(&part),
                    "{what}: {part:?} not in {}",
                    out.stderr
                );
            }
            // Nothing done: no token, no report (dev-signin's stdout has its log set-up line).
            assert!(!out.stdout.contains("eyJ"), "{what} printed {}", out.stdout);
            if *bin == "keygate-dev" {
                assert!(out.stdout.is_empty(), "{what} printed {}", out.stdout);
            }
            // Refused at once: not a connection error after an attempt's deadline.
            assert!(
                out.took < Duration::from_secs(5),
                "{what} took {:?}",
                out.took
            );
        }
    }
    // A shared config file can tell the SDK to ignore the environment's endpoints (read when
    // the credentials are not in the environment): the loaded configuration is checked too.
    let profile_dir = std::env::temp_dir().join(format!("{id}-profile"));
    std::fs::create_dir_all(&profile_dir).expect("a temp dir");
    let config = profile_dir.join("config");
    let credentials = profile_dir.join("credentials");
    std::fs::write(
        &config,
        "[default]\nregion = us-east-1\nignore_configured_endpoint_urls = true\n",
    )
    .expect("write");
    std::fs::write(
        &credentials,
        "[default]\naws_access_key_id = test\naws_secret_access_key = test\n",
    )
    .expect("write");
    let mut env = local_env(
        &profile_dir,
        &table,
        &secret,
        &[("AWS_ENDPOINT_URL", trap.loopback_url())],
    );
    env.retain(|(k, _)| {
        !matches!(
            *k,
            "AWS_ACCESS_KEY_ID"
                | "AWS_SECRET_ACCESS_KEY"
                | "AWS_REGION"
                | "AWS_CONFIG_FILE"
                | "AWS_SHARED_CREDENTIALS_FILE"
        )
    });
    env.push(("AWS_CONFIG_FILE", config.to_string_lossy().into_owned()));
    env.push((
        "AWS_SHARED_CREDENTIALS_FILE",
        credentials.to_string_lossy().into_owned(),
    ));
    for command in ["setup", "seed"] {
        let out = run_with(&devtool(), &[command], &env, Duration::from_secs(20));
        assert!(
            !out.success,
            "{command} with the profile's ignore flag must fail"
        );
        for part in [
            format!("refusing `{command}` against real AWS"),
            "ignore_configured_endpoint_urls".into(),
            "dev-only: it".into(),
        ] {
            assert!(
                out.stderr.contains(&part),
                "{command}: {part:?} not in {}",
                out.stderr
            );
        }
    }
    let _ = std::fs::remove_dir_all(&profile_dir);

    assert_eq!(
        trap.connections(),
        0,
        "a refused command connected to an endpoint"
    );

    // The fence is the dev-only commands' alone: an operator's command goes where it is told
    // (here the trap, where it times out), as it must against a deployment.
    let dir = std::env::temp_dir().join(&id);
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let jwks_file = dir.join("jwks.json");
    std::fs::write(
        &jwks_file,
        KeySet::generate().expect("a key").jwks().to_string(),
    )
    .expect("write");
    let jwks_file = jwks_file.to_string_lossy().into_owned();
    let env = local_env(
        &dir,
        &table,
        &secret,
        &[("AWS_ENDPOINT_URL", trap.non_loopback_url())],
    );
    for args in [
        vec!["signing-keys", "list"],
        vec!["signing-keys", "publish"],
        vec!["user-jwks", "publish", jwks_file.as_str()],
    ] {
        let before = trap.connections();
        let out = run_with(&devtool(), &args, &env, Duration::from_secs(20));
        let what = args.join(" ");
        assert!(!out.success, "{what} cannot succeed against the trap");
        assert!(
            !out.stderr.contains("dev-only"),
            "{what} was refused: {}",
            out.stderr
        );
        assert!(
            trap.connections() > before,
            "{what} did not call its endpoint: {}",
            out.stderr
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn dev_only_commands_run_against_the_loopback_stack() {
    let sdk = keygate::adapters::aws::aws_config().await;
    let endpoint =
        std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL: run against a local stack");
    let mail = std::env::var("AWS_ENDPOINT_URL_SESV2").unwrap_or_else(|_| endpoint.clone());
    let id = unique("devonly-ok-");
    let table = format!("keygate-{id}");
    let secret = format!("keygate-test/{id}");
    let state = std::env::temp_dir().join(&id);
    // The emulator by `localhost` (any loopback name will do), SES on its own emulator.
    let localhost = endpoint.replace("127.0.0.1", "localhost");
    let env = local_env(
        &state,
        &table,
        &secret,
        &[
            ("AWS_ENDPOINT_URL", localhost),
            ("AWS_ENDPOINT_URL_SESV2", mail),
            // The deployed deadlines, as the stack's functions have them.
            ("AWS_ATTEMPT_TIMEOUT_MS", "2000".into()),
            ("AWS_CALL_TIMEOUT_MS", "5000".into()),
            ("AWS_MAX_ATTEMPTS", "3".into()),
        ],
    );
    let limit = Duration::from_secs(120);

    let out = run_with(&devtool(), &["setup"], &env, limit);
    assert!(out.success, "setup: {}", out.stderr);
    let store = Store::new(&sdk, table.clone());
    assert!(
        store
            .published_jwks(jwks::USERS)
            .await
            .expect("read")
            .is_some()
    );
    assert!(published_kids(&store).await.is_some());
    let out = run_with(&devtool(), &["seed"], &env, limit);
    assert!(out.success, "seed: {}", out.stderr);
    assert!(out.stdout.contains("seeded"), "{}", out.stdout);
    let out = run_with(
        &devtool(),
        &["token", "carol", "carol@example.com", "60"],
        &env,
        limit,
    );
    assert!(out.success, "token: {}", out.stderr);
    let token = out.stdout.lines().last().unwrap_or_default();
    assert_eq!(
        token.split('.').count(),
        3,
        "a JWT on the last line: {}",
        out.stdout
    );

    let _ = std::fs::remove_dir_all(&state);
    let _ = aws_sdk_secretsmanager::Client::new(&sdk)
        .delete_secret()
        .secret_id(&secret)
        .force_delete_without_recovery(true)
        .send()
        .await;
    let _ = aws_sdk_dynamodb::Client::new(&sdk)
        .delete_table()
        .table_name(&table)
        .send()
        .await;
}

#[test]
fn the_deployed_template_cannot_start_the_dev_sign_in() {
    let template = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../infra/template.yaml"
    ))
    .expect("infra/template.yaml");
    // No dev sign-in function or route, no endpoint variable that would let it (or a dev-only
    // command run with a function's environment) start, and not the dev issuer as a default.
    for absent in [
        "dev-signin",
        "/dev/token",
        "AWS_ENDPOINT_URL",
        "keygate-dev-issuer",
    ] {
        assert!(
            !template.contains(absent),
            "infra/template.yaml mentions {absent}"
        );
    }
}
