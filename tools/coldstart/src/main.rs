//! `keygate-coldstart`: the cold-start benchmark of `make bench`. Plays the Lambda Runtime API on
//! loopback and starts each function's release binary R times next to a minimal `lambda_runtime`
//! function (`coldstart-hello`), measuring init time, first and warm invocation latency and peak
//! RSS; prints their median, min and max, each as a ratio to the baseline's median, and the
//! binaries' sizes.
//!
//!   keygate-coldstart [--bin-dir DIR] [--events DIR] [FUNCTION...]
//!
//! `--bin-dir` (default `target/release`) holds the binaries, `--events` (default `events`) the
//! event files (run it from the workspace root; `functions/` there is checked for functions this
//! bench has no event for, which the report names as not measured); FUNCTION names limit the run to those functions (the baseline always runs).
//! Environment: KEYGATE_STATE_DIR (required; the functions' output goes to
//! `$KEYGATE_STATE_DIR/coldstart/<function>.log`), COLDSTART_RUNS (cold starts per function,
//! default 11: a median that holds still on a shared machine), COLDSTART_WARM (warm
//! invocations per cold start, default 20), COLDSTART_USER_TOKEN (a console-user token for the
//! events' `{{..._token}}` placeholders; without it they stay as they are and the HTTP
//! functions answer 401). Everything else in the environment (the local stack's AWS endpoint,
//! credentials, table and secret names) is passed to the functions as it is, so what they do at
//! init is measured against the same emulator.

mod events;
mod measure;
mod report;
mod runtime_api;
mod stats;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use events::{BASELINE, SPECS, Spec};
use measure::{Sample, Target, cold_start};

const USAGE: &str = "usage: keygate-coldstart [--bin-dir DIR] [--events DIR] [FUNCTION...]";

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        // The table is printed; the failures are listed under it.
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("keygate-coldstart: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The command line and the environment, checked.
#[derive(Debug, PartialEq)]
struct Options {
    bin_dir: PathBuf,
    events_dir: PathBuf,
    only: Vec<String>,
    runs: usize,
    warm: usize,
    state_dir: PathBuf,
    token: Option<String>,
}

impl Options {
    fn parse(
        args: impl IntoIterator<Item = String>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, String> {
        let mut bin_dir = PathBuf::from("target/release");
        let mut events_dir = PathBuf::from("events");
        let mut only = Vec::new();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--bin-dir" => bin_dir = args.next().ok_or(USAGE)?.into(),
                "--events" => events_dir = args.next().ok_or(USAGE)?.into(),
                "-h" | "--help" => return Err(USAGE.into()),
                name if name.starts_with('-') => {
                    return Err(format!("unknown option {name}\n{USAGE}"));
                }
                name => {
                    if !SPECS.iter().any(|s| s.name == name) {
                        let known: Vec<&str> = SPECS.iter().map(|s| s.name).collect();
                        return Err(format!(
                            "unknown function {name:?}; known: {}",
                            known.join(", ")
                        ));
                    }
                    only.push(name.to_string());
                }
            }
        }
        let count = |name: &str, default: usize, min: usize| -> Result<usize, String> {
            match env(name) {
                None => Ok(default),
                Some(v) => v
                    .trim()
                    .parse()
                    .ok()
                    .filter(|n| *n >= min)
                    .ok_or_else(|| format!("{name}={v:?}: expected a whole number >= {min}")),
            }
        };
        let state_dir = env("KEYGATE_STATE_DIR")
            .filter(|v| !v.is_empty())
            .ok_or("KEYGATE_STATE_DIR is required (scripts/bench.sh sets it)")?;
        Ok(Self {
            bin_dir,
            events_dir,
            only,
            runs: count("COLDSTART_RUNS", 11, 1)?,
            warm: count("COLDSTART_WARM", 20, 1)?,
            state_dir: state_dir.into(),
            token: env("COLDSTART_USER_TOKEN").filter(|t| !t.trim().is_empty()),
        })
    }
}

/// One binary under test and what has been measured of it so far.
pub struct Bench {
    pub spec: &'static Spec,
    pub binary: PathBuf,
    pub size: Option<u64>,
    event: Vec<u8>,
    log: PathBuf,
    pub samples: Vec<Sample>,
    /// Why it was dropped from the bench, once it failed a run (or could not start at all).
    pub failure: Option<String>,
}

impl Bench {
    fn new(spec: &'static Spec, opts: &Options, log_dir: &Path) -> Self {
        let binary = opts.bin_dir.join(spec.name);
        let log = log_dir.join(format!("{}.log", spec.name));
        let size = std::fs::metadata(&binary).ok().map(|m| m.len());
        let mut failure = None;
        if size.is_none() {
            failure = Some(format!(
                "no binary at {} (build with `cargo build --release --workspace --bins`)",
                binary.display()
            ));
        }
        let event = match events::load(spec, &opts.events_dir, opts.token.as_deref()) {
            Ok(event) => event,
            Err(e) => {
                failure.get_or_insert(e);
                Vec::new()
            }
        };
        // One log per function per bench, with every run in it.
        if let Err(e) = std::fs::write(&log, b"") {
            failure.get_or_insert(format!("creating {}: {e}", log.display()));
        }
        Self {
            spec,
            binary,
            size,
            event,
            log,
            samples: Vec::new(),
            failure,
        }
    }
}

fn run() -> Result<bool, String> {
    let opts = Options::parse(std::env::args().skip(1), |name| std::env::var(name).ok())?;
    let log_dir = opts.state_dir.join("coldstart");
    std::fs::create_dir_all(&log_dir)
        .map_err(|e| format!("creating {}: {e}", log_dir.display()))?;

    let mut benches: Vec<Bench> = SPECS
        .iter()
        .filter(|s| {
            s.name == BASELINE || opts.only.is_empty() || opts.only.iter().any(|o| o == s.name)
        })
        .map(|spec| Bench::new(spec, &opts, &log_dir))
        .collect();

    let load_before = load_average();
    // Round-robin rather than function after function: a slow spell of the machine or the
    // emulator then spreads over every function instead of landing on one.
    for round in 1..=opts.runs {
        eprintln!("==> cold starts, round {round} of {}", opts.runs);
        for bench in benches.iter_mut().filter(|b| b.failure.is_none()) {
            let target = Target {
                name: bench.spec.name,
                binary: &bench.binary,
                event: &bench.event,
                warm: opts.warm,
                log: &bench.log,
            };
            match cold_start(&target, round) {
                Ok(sample) => bench.samples.push(sample),
                Err(e) => {
                    eprintln!("    {}: {e}", bench.spec.name);
                    bench.failure = Some(e);
                }
            }
        }
        // Without the baseline there is nothing to compare with: stop at once.
        if let Some(e) = benches
            .iter()
            .find(|b| b.spec.name == BASELINE)
            .and_then(|b| b.failure.as_ref())
        {
            return Err(format!(
                "the baseline {BASELINE} failed, so nothing compares: {e}"
            ));
        }
    }

    let setup = report::Setup {
        runs: opts.runs,
        warm: opts.warm,
        with_token: opts.token.is_some(),
        log_dir,
        unmeasured: unmeasured(Path::new("functions")),
        load: (load_before, load_average()),
        cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
    };
    print!("{}", report::render(&benches, &setup));
    Ok(benches.iter().all(|b| b.failure.is_none()))
}

/// The 1-minute load average (`/proc/loadavg`), printed with the results: on a shared machine a
/// busy spell shows in the init times first.
fn load_average() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// The workspace's functions (`functions/<name>/`) without an entry in [`SPECS`]: a function
/// added since, which the report names so that its absence from the table is not silent.
fn unmeasured(functions_dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(functions_dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().join("Cargo.toml").is_file())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|name| !SPECS.iter().any(|s| s.name == name))
        .collect();
    names.sort();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn options_from_args_and_environment() {
        let args = ["--bin-dir", "/b", "verify", "console"].map(String::from);
        let opts = Options::parse(
            args,
            env(&[("KEYGATE_STATE_DIR", "/s"), ("COLDSTART_RUNS", "3")]),
        );
        assert_eq!(
            opts,
            Ok(Options {
                bin_dir: "/b".into(),
                events_dir: "events".into(),
                only: vec!["verify".into(), "console".into()],
                runs: 3,
                warm: 20,
                state_dir: "/s".into(),
                token: None,
            })
        );
    }

    #[test]
    fn options_refuse_what_they_cannot_use() {
        let state = ("KEYGATE_STATE_DIR", "/s");
        assert!(Options::parse(Vec::new(), env(&[])).is_err());
        assert!(Options::parse(Vec::new(), env(&[state, ("COLDSTART_RUNS", "0")])).is_err());
        assert!(Options::parse(Vec::new(), env(&[state, ("COLDSTART_WARM", "x")])).is_err());
        assert!(Options::parse(["nosuch".to_string()], env(&[state])).is_err());
        assert!(Options::parse(["--bin-dir".to_string()], env(&[state])).is_err());
    }
}
