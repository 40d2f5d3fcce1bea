//! `TLS_ROOTS=system` trusts the platform's store, and the default does not: with the test CA
//! made the system's store (`SSL_CERT_FILE`, which the store loader honours, as OpenSSL does),
//! the same loopback server is accepted under `system` and refused under the default roots.
//! A test binary of its own: the variable is set before anything reads the environment, and the
//! store is loaded once per process.

#[path = "common/tls_server.rs"]
mod tls_server;

use std::sync::atomic::Ordering;

use keygate::adapters::tls::TlsRoots;
use tls_server::{FIXTURES, assert_refused, list_tables, server};

#[test]
fn system_trusts_the_platforms_store_and_the_default_does_not() {
    // SAFETY: the only test of this binary sets it first, before it starts any thread.
    unsafe {
        std::env::set_var("SSL_CERT_FILE", format!("{FIXTURES}/ca.pem"));
        std::env::remove_var("SSL_CERT_DIR");
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let server = server().await;
        assert_refused(
            list_tables(&TlsRoots::default(), &server.url).await,
            &server,
            0,
        );
        assert_eq!(
            list_tables(&TlsRoots::System, &server.url).await,
            Ok(Vec::new()),
            "the platform's store holds the server's CA"
        );
        assert_eq!(server.requests.load(Ordering::SeqCst), 1);
    });
}
