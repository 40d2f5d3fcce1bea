//! The benchmark's printed result: a table of medians with their ratio to the baseline's median,
//! a table of the ranges (min–max over the runs) with the binaries' exact sizes, and the
//! failures, if any, with where their logs are.

use std::fmt::Write;
use std::path::PathBuf;

use crate::Bench;
use crate::events::BASELINE;
use crate::stats::{Summary, median};

/// How the bench was run, for the table's legend.
pub struct Setup {
    pub runs: usize,
    pub warm: usize,
    pub with_token: bool,
    pub log_dir: PathBuf,
    /// Functions of the workspace the bench has no event for.
    pub unmeasured: Vec<String>,
    /// The 1-minute load average before and after the runs, if known.
    pub load: (Option<f64>, Option<f64>),
    pub cpus: usize,
}

/// The four measured quantities of one binary, each summarised over its runs.
struct Metrics {
    init_ms: Summary,
    first_ms: Summary,
    /// Over the runs' own medians of their warm invocations.
    warm_ms: Summary,
    rss_mib: Summary,
}

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn metrics(bench: &Bench) -> Option<Metrics> {
    let s = &bench.samples;
    let warm: Vec<f64> = s
        .iter()
        .filter_map(|x| median(&x.warm.iter().copied().map(ms).collect::<Vec<_>>()))
        .collect();
    Some(Metrics {
        init_ms: Summary::of(&s.iter().map(|x| ms(x.init)).collect::<Vec<_>>())?,
        first_ms: Summary::of(&s.iter().map(|x| ms(x.first)).collect::<Vec<_>>())?,
        warm_ms: Summary::of(&warm)?,
        rss_mib: Summary::of(
            &s.iter()
                .map(|x| x.peak_rss_kib as f64 / 1024.0)
                .collect::<Vec<_>>(),
        )?,
    })
}

/// Milliseconds with about three significant digits (init is tens of ms, warm a fraction of one).
fn fmt_ms(v: f64) -> String {
    match v {
        v if v < 1.0 => format!("{v:.3}"),
        v if v < 10.0 => format!("{v:.2}"),
        v if v < 100.0 => format!("{v:.1}"),
        v => format!("{v:.0}"),
    }
}

fn fmt_ratio(v: f64, base: f64) -> String {
    if base > 0.0 {
        format!("{:.2}", v / base)
    } else {
        "-".into()
    }
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1_000_000.0
}

/// Columns padded to their widest cell: the first left-aligned, `left_last` makes the last one
/// left-aligned too (free text), the rest right-aligned (numbers).
fn table(rows: &[Vec<String>], left_last: bool) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            let w = widths[c];
            let left = c == 0 || (left_last && c + 1 == columns);
            if c > 0 {
                line.push_str("  ");
            }
            if left {
                let _ = write!(line, "{cell:<w$}");
            } else {
                let _ = write!(line, "{cell:>w$}");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The whole printed result.
pub fn render(benches: &[Bench], setup: &Setup) -> String {
    let measured: Vec<(&Bench, Option<Metrics>)> = benches
        .iter()
        .map(|b| {
            (
                b,
                if b.failure.is_none() {
                    metrics(b)
                } else {
                    None
                },
            )
        })
        .collect();
    let base = measured
        .iter()
        .find(|(b, _)| b.spec.name == BASELINE)
        .and_then(|(b, m)| m.as_ref().map(|m| (m, b.size.unwrap_or(0))));

    let mut out = String::new();
    let _ = writeln!(
        out,
        "Cold starts on a loopback Lambda Runtime API: {} per function, each followed by {} warm \
         invocations.",
        setup.runs, setup.warm
    );
    let _ = writeln!(
        out,
        "init = exec to the first GET /invocation/next; first/warm = event handed out to its \
         response; warm = each run's median;"
    );
    let _ = writeln!(
        out,
        "RSS = VmHWM after the last invocation. Values are medians over the runs; ×hello = \
         value / {BASELINE}'s median."
    );
    if let (Some(before), Some(after)) = setup.load {
        let _ = writeln!(
            out,
            "Load average (1 min) {before:.2} before, {after:.2} after, on {} CPUs: above the CPU \
             count, other work shared the machine and the timings are noisier.",
            setup.cpus
        );
    }
    if !setup.with_token {
        let _ = writeln!(
            out,
            "No COLDSTART_USER_TOKEN: the HTTP functions got unfilled token placeholders (401s)."
        );
    }
    out.push('\n');

    let mut rows = vec![vec![
        "function".to_string(),
        "init ms".into(),
        "×hello".into(),
        "first ms".into(),
        "×hello".into(),
        "warm ms".into(),
        "×hello".into(),
        "RSS MiB".into(),
        "×hello".into(),
        "size MB".into(),
        "×hello".into(),
        "first answer".into(),
    ]];
    for (bench, m) in &measured {
        let size = bench
            .size
            .map(|b| format!("{:.2}", mb(b)))
            .unwrap_or("-".into());
        let size_x = match (bench.size, base) {
            (Some(b), Some((_, base_size))) => fmt_ratio(b as f64, base_size as f64),
            _ => "-".into(),
        };
        let (Some(m), Some((bm, _))) = (m, base) else {
            let mut row = vec![bench.spec.name.to_string(), "FAILED".into()];
            row.extend(std::iter::repeat_n(String::new(), 7));
            row.extend([size, size_x, String::new()]);
            rows.push(row);
            continue;
        };
        let answer = bench
            .samples
            .first()
            .map(|s| {
                let errors: usize = bench.samples.iter().map(|s| s.errors).sum();
                if errors > 0 {
                    format!("{} ({errors} invocations answered /error)", s.answer)
                } else {
                    s.answer.clone()
                }
            })
            .unwrap_or_default();
        rows.push(vec![
            bench.spec.name.to_string(),
            fmt_ms(m.init_ms.median),
            fmt_ratio(m.init_ms.median, bm.init_ms.median),
            fmt_ms(m.first_ms.median),
            fmt_ratio(m.first_ms.median, bm.first_ms.median),
            fmt_ms(m.warm_ms.median),
            fmt_ratio(m.warm_ms.median, bm.warm_ms.median),
            format!("{:.1}", m.rss_mib.median),
            fmt_ratio(m.rss_mib.median, bm.rss_mib.median),
            size,
            size_x,
            answer,
        ]);
    }
    out.push_str(&table(&rows, true));
    out.push('\n');

    let range = |s: &Summary, f: fn(f64) -> String| format!("{}–{}", f(s.min), f(s.max));
    let mut rows = vec![vec![
        "function".to_string(),
        "init ms min–max".into(),
        "first ms min–max".into(),
        "warm ms min–max".into(),
        "RSS MiB min–max".into(),
        "size bytes".into(),
    ]];
    for (bench, m) in &measured {
        let size = bench.size.map(|b| b.to_string()).unwrap_or("-".into());
        let Some(m) = m else {
            rows.push(vec![
                bench.spec.name.to_string(),
                "FAILED".into(),
                String::new(),
                String::new(),
                String::new(),
                size,
            ]);
            continue;
        };
        rows.push(vec![
            bench.spec.name.to_string(),
            range(&m.init_ms, fmt_ms),
            range(&m.first_ms, fmt_ms),
            range(&m.warm_ms, fmt_ms),
            range(&m.rss_mib, |v| format!("{v:.1}")),
            size,
        ]);
    }
    out.push_str(&table(&rows, false));

    let failed: Vec<&Bench> = benches.iter().filter(|b| b.failure.is_some()).collect();
    if !failed.is_empty() {
        out.push_str("\nFailed:\n");
        for bench in failed {
            let _ = writeln!(
                out,
                "  {}: {}",
                bench.spec.name,
                bench.failure.as_deref().unwrap_or_default()
            );
        }
    }
    if !setup.unmeasured.is_empty() {
        let _ = writeln!(
            out,
            "\nNot measured (no event for them in tools/coldstart/src/events.rs): {}",
            setup.unmeasured.join(", ")
        );
    }
    let _ = writeln!(
        out,
        "\nThe functions' output: {}/<function>.log",
        setup.log_dir.display()
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn milliseconds_keep_about_three_digits() {
        assert_eq!(fmt_ms(0.12345), "0.123");
        assert_eq!(fmt_ms(4.5678), "4.57");
        assert_eq!(fmt_ms(45.678), "45.7");
        assert_eq!(fmt_ms(456.78), "457");
        assert_eq!(fmt_ratio(3.0, 2.0), "1.50");
        assert_eq!(fmt_ratio(3.0, 0.0), "-");
    }

    #[test]
    fn tables_align_numbers_right_and_names_left() {
        let rows = vec![
            vec!["function".to_string(), "ms".into()],
            vec!["a".to_string(), "12.5".into()],
        ];
        assert_eq!(table(&rows, false), "function    ms\na         12.5\n");
    }
}
