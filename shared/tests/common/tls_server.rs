//! A loopback HTTPS server for the trust tests (`tls.rs`, `tls_system_store.rs`): it answers
//! DynamoDB's `ListTables` with a certificate from the test CA of `fixtures/tls/` (for
//! `localhost`; test material only), and a `ListTables` call through keygate's SDK configuration.
#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_sdk_dynamodb::config::{Credentials, Region};
use keygate::adapters::aws::sdk_config;
use keygate::adapters::tls::TlsRoots;
use keygate::config::AwsCallConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

pub const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tls");

/// A loopback HTTPS server that answers every request with an empty `ListTables` result and
/// counts the requests it read (a refused handshake never gets that far).
pub struct Server {
    pub url: String,
    pub requests: Arc<AtomicUsize>,
}

pub async fn server() -> Server {
    let certs = CertificateDer::pem_file_iter(format!("{FIXTURES}/server.pem"))
        .expect("server.pem")
        .collect::<Result<Vec<_>, _>>()
        .expect("server.pem parses");
    let key = PrivateKeyDer::from_pem_file(format!("{FIXTURES}/server.key")).expect("server.key");
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .expect("the server's certificate and key");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let port = listener.local_addr().expect("its address").port();
    let requests = Arc::new(AtomicUsize::new(0));
    let counted = requests.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let counted = counted.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut seen = Vec::new();
                let mut buf = [0u8; 4096];
                // The headers, then the body by its content-length.
                loop {
                    let Ok(n) = tls.read(&mut buf).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    seen.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&seen).to_ascii_lowercase();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let length = text[..end]
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        if seen.len() >= end + 4 + length {
                            break;
                        }
                    }
                }
                counted.fetch_add(1, Ordering::SeqCst);
                let body = r#"{"TableNames":[]}"#;
                let reply = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.0\r\n\
                     content-length: {}\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(reply.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    Server {
        url: format!("https://localhost:{port}"),
        requests,
    }
}

/// `ListTables` through keygate's SDK configuration with `roots`, against `url`; one attempt.
pub async fn list_tables(roots: &TlsRoots, url: &str) -> Result<Vec<String>, String> {
    let calls = AwsCallConfig {
        max_attempts: 1,
        ..AwsCallConfig::default()
    };
    let sdk = sdk_config(&calls, roots).await;
    let config = aws_sdk_dynamodb::config::Builder::from(&sdk)
        .endpoint_url(url)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "tls-test"))
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
        .list_tables()
        .send()
        .await
        .map(|out| out.table_names.unwrap_or_default())
        .map_err(|e| format!("{:?}", aws_sdk_dynamodb::error::DisplayErrorContext(e)))
}

/// The call failed on the server's certificate, and the server read no request.
pub fn assert_refused(result: Result<Vec<String>, String>, server: &Server, served_before: usize) {
    let error = result.expect_err("the call is refused");
    assert!(
        error.contains("UnknownIssuer") || error.contains("invalid peer certificate"),
        "expected a refused certificate, got {error}"
    );
    assert_eq!(
        server.requests.load(Ordering::SeqCst),
        served_before,
        "no request reaches a server that is not trusted"
    );
}
