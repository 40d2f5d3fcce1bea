//! The stream pump: the local stand-in for Lambda's DynamoDB stream event source mapping. It reads
//! the table's stream (DynamoDB Local's, through the stack's AWS front) and invokes the notifier through `cargo lambda watch`'s runtime
//! endpoint with Lambda-shaped batches, and re-delivers what a response reports in
//! `batchItemFailures` (bounded), as `ReportBatchItemFailures` does on AWS. Loopback only; it polls
//! until it is killed.
//!
//! It speaks the DynamoDB Streams JSON protocol directly rather than through an SDK: a GetRecords
//! response's records already are, field for field, the records of the Lambda event (`eventID`,
//! `eventName`, `dynamodb.{Keys,NewImage,OldImage,SequenceNumber,…}`), so they pass through
//! verbatim, with every attribute type intact and no conversion code to get wrong; only
//! `eventSourceARN` is added. The price, no request signing, is no price here: the pump refuses
//! any endpoint that is not on loopback.
//!
//! It reads each shard from its start (`TRIM_HORIZON`: nothing written before it started is
//! missed; the notifier's markers make re-reads harmless) and takes a fresh iterator after the
//! last record it handed on for every read, rather than following `NextShardIterator`, so that a
//! read is positioned by what was delivered alone (a stream emulator once restored a table from a
//! copy when a transaction was cancelled, and an iterator taken before kept reading the old copy).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::BoxError;

const USAGE: &str =
    "usage: keygate-dev pump [--port <cargo lambda watch port>] [--function <name>]";
/// Lambda's default batch size for stream sources.
const BATCH_SIZE: usize = 100;
/// Pause between polls of an idle stream.
const IDLE_POLL: Duration = Duration::from_millis(200);
/// How often the stream's shard list is read again (shards split and close on AWS; the emulator
/// keeps one, but the pump does not rely on it).
const RESCAN: Duration = Duration::from_secs(10);
/// Re-deliveries of a failed batch before it is given up (a deployed mapping has
/// `MaximumRetryAttempts` for this).
const MAX_RETRIES: u32 = 3;
/// The first invocation may start (and build) the function: give it time.
const INVOKE_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// `cargo lambda watch`'s port (`--port`, else `KEYGATE_INVOKE_PORT`, else 9000).
    pub port: u16,
    pub function: String,
}

impl Options {
    pub fn parse(args: &[&str]) -> Result<Options, BoxError> {
        let mut opts = Options {
            port: match std::env::var("KEYGATE_INVOKE_PORT") {
                Ok(p) => p
                    .parse()
                    .map_err(|_| format!("KEYGATE_INVOKE_PORT {p:?} is not a port"))?,
                Err(_) => 9000,
            },
            function: "notifier".into(),
        };
        let mut rest = args.iter();
        while let Some(flag) = rest.next() {
            let value = rest.next().ok_or(USAGE)?;
            match *flag {
                "--port" => {
                    opts.port = value
                        .parse()
                        .map_err(|_| format!("--port {value:?} is not a port"))?
                }
                "--function" => opts.function = value.to_string(),
                _ => return Err(USAGE.into()),
            }
        }
        Ok(opts)
    }
}

/// Accepts only plain http URLs on the loopback interface (`crate::loopback`'s rule).
fn loopback(url: &str, what: &str) -> Result<String, BoxError> {
    let url = url.trim_end_matches('/');
    if url
        .get(..7)
        .is_some_and(|s| s.eq_ignore_ascii_case("http://"))
        && crate::loopback::is_loopback_url(url)
    {
        Ok(url.to_string())
    } else {
        Err(format!(
            "{what} {url:?} is not an http URL on loopback; the pump only talks to the local stack"
        )
        .into())
    }
}

fn log(msg: impl std::fmt::Display) {
    eprintln!("pump: {msg}");
}

/// How far a shard has been read: the last sequence number handed on, and whether the shard is
/// closed and read to its end.
#[derive(Debug, Default)]
struct Shard {
    last_sequence: Option<String>,
    done: bool,
}

struct Pump {
    http: reqwest::Client,
    endpoint: String,
    region: String,
    table: String,
    invoke_url: String,
}

/// The sequence number of a stream record (Lambda's item identifier for stream sources).
fn sequence(record: &Value) -> Option<&str> {
    record["dynamodb"]["SequenceNumber"].as_str()
}

impl Pump {
    /// One call of the DynamoDB (Streams) JSON protocol. The Authorization header is unsigned:
    /// DynamoDB Local reads only its credential scope (and the front routes by its target).
    async fn call(&self, target: &str, body: Value) -> Result<Value, BoxError> {
        let res = self
            .http
            .post(format!("{}/", self.endpoint))
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amz-target", target)
            .header(
                "authorization",
                format!(
                    "AWS4-HMAC-SHA256 Credential=test/20260101/{}/dynamodb/aws4_request, SignedHeaders=host, Signature=0",
                    self.region
                ),
            )
            .timeout(Duration::from_secs(30))
            .json(&body)
            .send()
            .await?;
        let status = res.status();
        let value: Value = res.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            let code = value["__type"].as_str().unwrap_or("error");
            let code = code.rsplit('#').next().unwrap_or(code);
            return Err(format!("{target}: {status} {code}: {}", value["message"]).into());
        }
        Ok(value)
    }

    async fn stream_arn(&self) -> Result<Option<String>, BoxError> {
        let t = self
            .call(
                "DynamoDB_20120810.DescribeTable",
                json!({"TableName": self.table}),
            )
            .await?;
        Ok(t["Table"]["LatestStreamArn"].as_str().map(str::to_string))
    }

    async fn shard_ids(&self, arn: &str) -> Result<Vec<String>, BoxError> {
        let mut ids = Vec::new();
        let mut start: Option<String> = None;
        // Bounded: a stream has a handful of shards; 100 pages would be a runaway.
        for _ in 0..100 {
            let mut body = json!({"StreamArn": arn});
            if let Some(s) = &start {
                body["ExclusiveStartShardId"] = json!(s);
            }
            let d = self
                .call("DynamoDBStreams_20120810.DescribeStream", body)
                .await?;
            let desc = &d["StreamDescription"];
            for s in desc["Shards"].as_array().into_iter().flatten() {
                if let Some(id) = s["ShardId"].as_str() {
                    ids.push(id.to_string());
                }
            }
            match desc["LastEvaluatedShardId"].as_str() {
                Some(last) => start = Some(last.to_string()),
                None => break,
            }
        }
        Ok(ids)
    }

    async fn iterator(
        &self,
        arn: &str,
        shard: &str,
        kind: &str,
        after: Option<&str>,
    ) -> Result<Option<String>, BoxError> {
        let mut body = json!({"StreamArn": arn, "ShardId": shard, "ShardIteratorType": kind});
        if let Some(seq) = after {
            body["SequenceNumber"] = json!(seq);
        }
        let it = self
            .call("DynamoDBStreams_20120810.GetShardIterator", body)
            .await?;
        Ok(it["ShardIterator"].as_str().map(str::to_string))
    }

    /// Invokes the function with one batch; the sequence numbers it reports as failed.
    async fn invoke(&self, records: &[Value]) -> Result<Vec<String>, BoxError> {
        let res = self
            .http
            .post(&self.invoke_url)
            .timeout(INVOKE_TIMEOUT)
            .json(&json!({ "Records": records }))
            .send()
            .await?;
        let status = res.status();
        let text = res.text().await?;
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if !status.is_success() || body.get("errorType").is_some() {
            return Err(format!("invocation failed: {status} {text}").into());
        }
        Ok(body["batchItemFailures"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f["itemIdentifier"].as_str().map(str::to_string))
            .collect())
    }

    /// Hands one batch to the function, re-delivering after failures as Lambda does: from the
    /// first failed record (in stream order) on, or the whole batch when the invocation itself
    /// failed or named a record that is not in it. Gives up after `MAX_RETRIES`.
    async fn deliver(&self, mut batch: Vec<Value>) {
        let mut attempt = 0;
        loop {
            let first = batch.first().and_then(sequence).unwrap_or("?").to_string();
            match self.invoke(&batch).await {
                Ok(failed) if failed.is_empty() => {
                    log(format_args!(
                        "delivered {} record(s) from {first}",
                        batch.len()
                    ));
                    return;
                }
                Ok(failed) => {
                    let from = batch
                        .iter()
                        .position(|r| sequence(r).is_some_and(|s| failed.iter().any(|f| f == s)))
                        .unwrap_or(0);
                    log(format_args!(
                        "{} of {} record(s) failed ({}); re-delivering from the first of them",
                        failed.len(),
                        batch.len(),
                        failed.join(", ")
                    ));
                    batch.drain(..from);
                }
                Err(e) => log(format_args!("batch from {first}: {e}")),
            }
            attempt += 1;
            if attempt > MAX_RETRIES {
                log(format_args!(
                    "giving up on {} record(s) from {} after {MAX_RETRIES} retries",
                    batch.len(),
                    batch.first().and_then(sequence).unwrap_or("?")
                ));
                return;
            }
            tokio::time::sleep(Duration::from_millis(500 << attempt)).await;
        }
    }

    /// Reads the next page of a shard and delivers it; whether there were records.
    async fn poll_shard(&self, arn: &str, id: &str, shard: &mut Shard) -> Result<bool, BoxError> {
        if shard.done {
            return Ok(false);
        }
        let iterator = match &shard.last_sequence {
            Some(seq) => {
                self.iterator(arn, id, "AFTER_SEQUENCE_NUMBER", Some(seq))
                    .await?
            }
            None => self.iterator(arn, id, "TRIM_HORIZON", None).await?,
        };
        let Some(iterator) = iterator else {
            shard.done = true;
            return Ok(false);
        };
        let page = self
            .call(
                "DynamoDBStreams_20120810.GetRecords",
                json!({"ShardIterator": iterator, "Limit": BATCH_SIZE}),
            )
            .await?;
        let mut records: Vec<Value> = page["Records"].as_array().cloned().unwrap_or_default();
        if records.is_empty() {
            // A closed shard read to its end has no next iterator.
            shard.done = page["NextShardIterator"].is_null();
            return Ok(false);
        }
        if let Some(seq) = records.last().and_then(sequence) {
            shard.last_sequence = Some(seq.to_string());
        }
        for r in &mut records {
            r["eventSourceARN"] = json!(arn);
        }
        self.deliver(records).await;
        Ok(true)
    }
}

/// Runs until killed: finds the table's stream, follows its shards, delivers their records.
pub async fn run(opts: Options) -> Result<(), BoxError> {
    let endpoint = loopback(
        &std::env::var("AWS_ENDPOINT_URL")
            .map_err(|_| "AWS_ENDPOINT_URL (the local stack) is required")?,
        "AWS_ENDPOINT_URL",
    )?;
    let invoke_url = loopback(
        &format!(
            "http://127.0.0.1:{}/2015-03-31/functions/{}/invocations",
            opts.port, opts.function
        ),
        "invoke URL",
    )?;
    let pump = Pump {
        http: reqwest::Client::builder().no_proxy().build()?,
        endpoint,
        region: std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into()),
        table: std::env::var("TABLE_NAME").map_err(|_| "TABLE_NAME is required")?,
        invoke_url,
    };
    log(format_args!(
        "following the stream of table {} into {}",
        pump.table, pump.invoke_url
    ));

    let mut arn: Option<String> = None;
    let mut shards: BTreeMap<String, Shard> = BTreeMap::new();
    let mut scanned: Option<Instant> = None;
    let mut last_error = String::new();
    loop {
        let result: Result<bool, BoxError> = async {
            if scanned.is_none_or(|t| t.elapsed() >= RESCAN) {
                scanned = Some(Instant::now());
                let Some(latest) = pump.stream_arn().await? else {
                    return Err(format!("table {} has no stream", pump.table).into());
                };
                if arn.as_deref() != Some(latest.as_str()) {
                    // A new stream (the table was made again): start over on it.
                    if arn.is_some() {
                        log(format_args!("the table has a new stream {latest}"));
                    }
                    shards.clear();
                }
                // Closed shards stay listed (for a day on AWS) and stay in `shards`, done, so
                // they are not read again.
                for id in pump.shard_ids(&latest).await? {
                    shards.entry(id).or_default();
                }
                arn = Some(latest);
            }
            let Some(arn) = arn.as_deref() else {
                return Ok(false);
            };
            let mut busy = false;
            for (id, shard) in shards.iter_mut() {
                busy |= pump.poll_shard(arn, id, shard).await?;
            }
            Ok(busy)
        }
        .await;
        match result {
            Ok(true) => last_error.clear(),
            Ok(false) => {
                last_error.clear();
                tokio::time::sleep(IDLE_POLL).await;
            }
            Err(e) => {
                // The emulator may not be up yet, or restarting: say so once, then keep trying.
                let e = e.to_string();
                if e != last_error {
                    log(format_args!("{e}; retrying"));
                    last_error = e;
                }
                scanned = None;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_endpoints_are_accepted() {
        for ok in [
            "http://127.0.0.1:4566",
            "http://127.0.0.1:4566/",
            "http://localhost:9000/x",
            "http://[::1]:4566",
            "http://127.0.0.2:4566",
        ] {
            assert!(loopback(ok, "url").is_ok(), "{ok}");
        }
        for bad in [
            "https://dynamodb.us-east-1.amazonaws.com",
            "http://10.0.0.1:4566",
            "http://127.0.0.1.example.com:4566",
            "http://localhost.example.com",
            "127.0.0.1:4566",
            "https://127.0.0.1:4566",
            "http://127.0.0.1@evil.com",
            "",
        ] {
            assert!(loopback(bad, "url").is_err(), "{bad}");
        }
    }

    #[test]
    fn options_parse() {
        let o = Options::parse(&["--port", "9123"]).expect("valid");
        assert_eq!((o.port, o.function.as_str()), (9123, "notifier"));
        assert!(Options::parse(&["--port"]).is_err());
        assert!(Options::parse(&["--port", "ninety"]).is_err());
        assert!(Options::parse(&["--bogus", "1"]).is_err());
    }
}
