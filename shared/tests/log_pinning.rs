//! At `trace` the AWS SDK writes the answers it reads (`aws_smithy_runtime`'s
//! "read HTTP response body" and the decoded output, for every operation not marked sensitive):
//! the table's items (e-mail addresses, key records) land in the log of a function run at
//! `trace` with `lambda_runtime`'s default subscriber. keygate's subscriber (`keygate::adapters::logging`)
//! at the same level writes none of it, nor any other crate's `debug`/`trace` line. Shown with a
//! real `GetItem` against a loopback stand-in for DynamoDB.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use keygate::config::LogConfig;
use tracing_subscriber::fmt::MakeWriter;

/// What the stand-in's item holds.
const MARKER: &str = "log-pinning-7f3a9c@example.com";

/// A loopback "DynamoDB" answering every request with a `GetItem` result holding [`MARKER`]; its
/// URL.
fn stand_in() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let url = format!("http://{}", listener.local_addr().expect("its address"));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            // Read the head and as much body as it announces.
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            while let Ok(n) = stream.read(&mut buf) {
                if n == 0 {
                    break;
                }
                request.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&request).to_ascii_lowercase();
                if let Some(end) = text.find("\r\n\r\n") {
                    let length = text
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    if request.len() >= end + 4 + length {
                        break;
                    }
                }
            }
            let body =
                format!(r#"{{"Item":{{"pk":{{"S":"USER#u"}},"email":{{"S":"{MARKER}"}}}}}}"#);
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

/// The log lines a subscriber wrote.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Buffer {
    type Writer = Buffer;
    fn make_writer(&'a self) -> Buffer {
        self.clone()
    }
}

impl Buffer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("the buffer")).into_owned()
    }
}

/// A `GetItem` against `url`, logged by `subscriber`: what it wrote.
async fn get_item_logged_by(
    url: &str,
    subscriber: impl tracing::Subscriber + Send + Sync + 'static,
    out: &Buffer,
) -> String {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "log-test"))
        .endpoint_url(url)
        .build();
    let client = aws_sdk_dynamodb::Client::from_conf(config);
    // This thread's subscriber while the call runs (the test's runtime is single-threaded).
    let _guard = tracing::subscriber::set_default(subscriber);
    let got = client
        .get_item()
        .table_name("t")
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S("USER#u".into()),
        )
        .send()
        .await;
    assert!(
        got.is_ok_and(|out| out.item.is_some()),
        "the stand-in answers"
    );
    // One line of keygate's own at trace: the subscriber writes.
    tracing::trace!(target: "keygate::store", "own line after the call");
    out.text()
}

#[tokio::test]
async fn at_trace_the_sdk_logs_what_it_reads_and_keygates_subscriber_does_not() {
    let url = stand_in();

    // lambda_runtime's default subscriber at trace (`AWS_LAMBDA_LOG_LEVEL=TRACE`): everything.
    let out = Buffer::default();
    let unpinned = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_target(false)
        .without_time()
        .with_writer(out.clone())
        .json()
        .finish();
    let text = get_item_logged_by(&url, unpinned, &out).await;
    assert!(
        text.contains("read HTTP response body") && text.contains(MARKER),
        "the SDK no longer writes response bodies at trace: revisit keygate::adapters::logging's evidence \
         and this test\n{text}"
    );

    // keygate's, at the same level.
    let config = LogConfig::from_lookup(|name| match name {
        "AWS_LAMBDA_LOG_LEVEL" => Some("TRACE".into()),
        "AWS_LAMBDA_LOG_FORMAT" => Some("JSON".into()),
        _ => None,
    })
    .expect("the config");
    let out = Buffer::default();
    let text = get_item_logged_by(
        &url,
        keygate::adapters::logging::subscriber(&config, out.clone()),
        &out,
    )
    .await;
    assert!(
        text.contains("own line after the call"),
        "keygate's own trace line:\n{text}"
    );
    assert!(!text.contains(MARKER), "the item is in the log:\n{text}");
    // Nothing but keygate's own code logs below info: only the line above.
    let verbose: Vec<&str> = text
        .lines()
        .filter(|l| l.contains(r#""level":"DEBUG""#) || l.contains(r#""level":"TRACE""#))
        .filter(|l| !l.contains("own line after the call"))
        .collect();
    assert!(
        verbose.is_empty(),
        "other crates' verbose lines: {verbose:#?}"
    );
}
