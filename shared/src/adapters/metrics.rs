//! CloudWatch Embedded Metric Format (EMF): a measured event is one JSON line on stdout, which
//! CloudWatch Logs turns into a metric in namespace `keygate` (no API call, no added latency
//! beyond the write). Counted: decisions by outcome and reason, approvals, mails sent and failed
//! by kind, import failures, usage flushes that kept counts for a retry. Lines are written only inside a Lambda runtime (where
//! `AWS_LAMBDA_FUNCTION_NAME` is set, as `cargo lambda watch` also sets it), never in benches or
//! library tests; `KEYGATE_METRICS=off` turns them off.

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

pub const NAMESPACE: &str = "keygate";

fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(crate::config::metrics_enabled)
}

/// The EMF line that counts one `metric`, with its dimensions (name, value) as properties.
pub fn line(metric: &str, dimensions: &[(&str, &str)], at_millis: u128) -> Value {
    let mut root = Map::new();
    root.insert(
        "_aws".into(),
        json!({
            "Timestamp": at_millis as u64,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                // By the given dimensions, and in total (the empty set), which alarms watch.
                "Dimensions": if dimensions.is_empty() {
                    json!([[]])
                } else {
                    json!([dimensions.iter().map(|(k, _)| *k).collect::<Vec<_>>(), []])
                },
                "Metrics": [{"Name": metric, "Unit": "Count"}],
            }],
        }),
    );
    for (k, v) in dimensions {
        root.insert((*k).to_string(), Value::String((*v).to_string()));
    }
    root.insert(metric.to_string(), json!(1));
    Value::Object(root)
}

/// Counts one `metric` event (when enabled).
pub fn count(metric: &str, dimensions: &[(&str, &str)]) {
    if !enabled() {
        return;
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    println!("{}", line(metric, dimensions, now));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_metric_without_dimensions_is_counted_in_total_only() {
        let l = line("approvals", &[], 1);
        assert_eq!(l["_aws"]["CloudWatchMetrics"][0]["Dimensions"], json!([[]]));
        assert_eq!(l["approvals"], 1);
    }

    #[test]
    fn an_emf_line_declares_its_metric_and_dimensions() {
        let l = line(
            "decisions",
            &[("outcome", "denied"), ("reason", "revoked")],
            1234,
        );
        assert_eq!(l["_aws"]["Timestamp"], 1234);
        let m = &l["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(m["Namespace"], "keygate");
        assert_eq!(m["Dimensions"], json!([["outcome", "reason"], []]));
        assert_eq!(
            m["Metrics"],
            json!([{"Name": "decisions", "Unit": "Count"}])
        );
        assert_eq!(l["outcome"], "denied");
        assert_eq!(l["reason"], "revoked");
        assert_eq!(l["decisions"], 1);
    }
}
