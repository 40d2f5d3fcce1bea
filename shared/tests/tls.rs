//! Whom keygate's AWS calls trust (`TLS_ROOTS`, shared/src/adapters/tls.rs), shown with real TLS
//! handshakes against a loopback HTTPS server whose certificate comes from a test CA
//! (`common/tls_server.rs`): the compiled-in Amazon roots refuse it before any request is sent;
//! a `TLS_ROOTS` file with that CA accepts it. And the compiled-in roots are exactly the five
//! Amazon Trust Services publishes. (The system store: `tls_system_store.rs`.)

use std::sync::atomic::Ordering;

use keygate::adapters::tls::{AMAZON_ROOTS_PEM, TlsRoots};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

#[path = "common/tls_server.rs"]
mod tls_server;

use tls_server::{FIXTURES, assert_refused, list_tables, server};

#[tokio::test]
async fn the_compiled_in_amazon_roots_refuse_a_certificate_of_another_ca() {
    let server = server().await;
    assert_refused(
        list_tables(&TlsRoots::Amazon, &server.url).await,
        &server,
        0,
    );
}

#[tokio::test]
async fn a_roots_file_with_the_servers_ca_lets_the_call_through() {
    let server = server().await;
    let path = format!("{FIXTURES}/ca.pem");
    let roots = TlsRoots::from_lookup(&|name| (name == "TLS_ROOTS").then(|| path.clone()))
        .expect("the test CA is a usable root");
    assert_eq!(
        list_tables(&roots, &server.url).await,
        Ok(Vec::new()),
        "the call is answered by the server"
    );
    assert_eq!(server.requests.load(Ordering::SeqCst), 1);
    // The same server is refused again under the default roots: the file's CA is trusted only
    // where it was configured.
    assert_refused(
        list_tables(&TlsRoots::default(), &server.url).await,
        &server,
        1,
    );
}

/// The SHA-256 of each root's SubjectPublicKeyInfo, as Amazon Trust Services publishes them
/// (Amazon Root CA 1, 2, 3, 4, Starfield Services Root Certificate Authority - G2).
const PUBLISHED_SPKI_SHA256: [&str; 5] = [
    "fbe3018031f9586bcbf41727e417b7d1c45c2f47f93be372a17b96b50757d5a2",
    "7f4296fc5b6a4e3b35d3c369623e364ab1af381d8fa7121533c9d6c633ea2461",
    "36abc32656acfc645c61b71613c4bf21c787f5cabbee48348d58597803d7abc9",
    "f7ecded5c66047d28ed6466b543c40e0743abe81d109254dcf845d4c2c7853c5",
    "2b071c59a0a0ae76b0eadb2bad23bad4580b69c3601b630c2eaf0613afa83f92",
];

#[test]
fn the_compiled_in_roots_are_the_five_amazon_trust_services_publishes() {
    let certs = CertificateDer::pem_slice_iter(AMAZON_ROOTS_PEM.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .expect("the roots parse");
    let hashes: Vec<String> = certs
        .iter()
        .map(|cert| {
            let anchor = webpki_anchor(cert);
            hex(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &anchor).as_ref())
        })
        .collect();
    assert_eq!(hashes, PUBLISHED_SPKI_SHA256);
}

/// A certificate's SubjectPublicKeyInfo, DER (the trust anchor keeps its contents; the hash is
/// over the whole SEQUENCE).
fn webpki_anchor(cert: &CertificateDer<'_>) -> Vec<u8> {
    let anchor = webpki::anchor_from_trusted_cert(cert).expect("a trust anchor");
    let body: &[u8] = anchor.subject_public_key_info.as_ref();
    let mut der = vec![0x30];
    match body.len() {
        n if n < 0x80 => der.push(n as u8),
        n if n <= 0xff => der.extend([0x81, n as u8]),
        n => der.extend([0x82, (n >> 8) as u8, n as u8]),
    }
    der.extend_from_slice(body);
    der
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
