//! The pure arithmetic of the report: median, min and max of a set of samples, and the peak
//! resident set size (`VmHWM`) read out of a `/proc/<pid>/status` text.

/// Median, minimum and maximum of a non-empty set of samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Summary {
    /// `None` for no samples (a function that failed every run has nothing to summarise).
    /// NaNs sort last and so never become the median of a set with real numbers.
    pub fn of(samples: &[f64]) -> Option<Self> {
        if samples.is_empty() {
            return None;
        }
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        let mid = sorted.len() / 2;
        let median = if sorted.len().is_multiple_of(2) {
            (sorted[mid - 1] + sorted[mid]) / 2.0
        } else {
            sorted[mid]
        };
        Some(Self {
            median,
            min: sorted[0],
            max: sorted[sorted.len() - 1],
        })
    }
}

/// The median alone (a run's warm invocations are reported as their median).
pub fn median(samples: &[f64]) -> Option<f64> {
    Summary::of(samples).map(|s| s.median)
}

/// `VmHWM` (the peak resident set size) in KiB from the text of `/proc/<pid>/status`, whose line
/// reads `VmHWM:\t    1234 kB`.
pub fn vm_hwm_kib(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let mut fields = line["VmHWM:".len()..].split_whitespace();
    let value = fields.next()?.parse().ok()?;
    // The kernel has always printed kB here; anything else is not the field this expects.
    (fields.next() == Some("kB")).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_of_odd_and_even_sets() {
        assert_eq!(
            Summary::of(&[5.0, 1.0, 3.0]),
            Some(Summary {
                median: 3.0,
                min: 1.0,
                max: 5.0
            })
        );
        assert_eq!(
            Summary::of(&[4.0, 1.0, 2.0, 10.0]),
            Some(Summary {
                median: 3.0,
                min: 1.0,
                max: 10.0
            })
        );
        assert_eq!(Summary::of(&[7.5]).map(|s| s.median), Some(7.5));
        assert_eq!(Summary::of(&[]), None);
        assert_eq!(median(&[2.0, f64::NAN, 1.0]), Some(2.0));
    }

    #[test]
    fn vm_hwm_from_proc_status() {
        let status =
            "Name:\tprojects\nVmPeak:\t  812345 kB\nVmHWM:\t    9876 kB\nVmRSS:\t    9000 kB\n";
        assert_eq!(vm_hwm_kib(status), Some(9876));
        assert_eq!(vm_hwm_kib("Name:\tx\nVmRSS:\t 1 kB\n"), None);
        assert_eq!(vm_hwm_kib("VmHWM:\t12 pages\n"), None);
        assert_eq!(vm_hwm_kib("VmHWM:\n"), None);
    }
}
