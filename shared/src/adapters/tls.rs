//! Whom keygate's AWS calls trust over TLS (`TLS_ROOTS`).
//!
//! By default the five root CAs of Amazon Trust Services, compiled in
//! (`shared/certs/amazon-trust-services.pem`): every AWS service endpoint presents a certificate
//! that chains to one of them. Two reasons over the platform's store. Start-up: the SDK's default
//! reads the system's whole trust store when the first client is built, which was most of a
//! function's init (≈0.8 ms for Lambda's one bundle file, ≈2.9 ms for a Debian-style directory of
//! hashed files; five compiled-in roots cost a few microseconds). And trust: a certificate for an
//! AWS host mis-issued by any of the other ~140 public CAs is refused.
//!
//! `TLS_ROOTS=system` trusts the platform's store instead (`SSL_CERT_FILE`/`SSL_CERT_DIR` or the
//! OS default), e.g. behind a TLS-inspecting proxy whose CA is installed there;
//! `TLS_ROOTS=/path/to/bundle.pem` trusts exactly the certificates of that PEM file, read and
//! checked at start-up (an endpoint of one's own, `AWS_ENDPOINT_URL=https://…`).

use std::path::PathBuf;

use aws_smithy_http_client::tls::{self, TlsContext, TrustStore};
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use crate::config::ConfigError;

/// The Amazon Trust Services roots, PEM.
pub const AMAZON_ROOTS_PEM: &str = include_str!("../../certs/amazon-trust-services.pem");

const VAR: &str = "TLS_ROOTS";

/// The roots of trust of the AWS calls.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum TlsRoots {
    /// Amazon Trust Services' five roots, compiled in (the default, `TLS_ROOTS=amazon`).
    #[default]
    Amazon,
    /// The platform's trust store, loaded once per process (`TLS_ROOTS=system`).
    System,
    /// Exactly the certificates of a PEM file (`TLS_ROOTS=<absolute path>`), read at start-up.
    File { path: PathBuf, pem: Vec<u8> },
}

impl TlsRoots {
    /// `amazon` (or unset), `system`, or an absolute path to a PEM file of one or more CA
    /// certificates, each of which must parse as a trust anchor.
    pub fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let value = get(VAR).map(|v| v.trim().to_owned()).unwrap_or_default();
        match value.as_str() {
            "" | "amazon" => Ok(TlsRoots::Amazon),
            "system" => Ok(TlsRoots::System),
            path if path.starts_with('/') => {
                let pem =
                    std::fs::read(path).map_err(|e| invalid(format!("cannot read {path}: {e}")))?;
                let count = anchors(&pem).map_err(|why| invalid(format!("{path}: {why}")))?;
                tracing::info!(path, certificates = count, "TLS roots from a file");
                Ok(TlsRoots::File {
                    path: path.into(),
                    pem,
                })
            }
            other => Err(invalid(format!(
                "{other:?} is not \"amazon\", \"system\" or an absolute path to a PEM file"
            ))),
        }
    }

    /// The SDK's TLS context for these roots.
    pub fn context(&self) -> TlsContext {
        let store = match self {
            TlsRoots::Amazon => {
                TrustStore::empty().with_pem_certificate(AMAZON_ROOTS_PEM.as_bytes())
            }
            TlsRoots::System => TrustStore::default().with_native_roots(true),
            TlsRoots::File { pem, .. } => TrustStore::empty().with_pem_certificate(pem.clone()),
        };
        TlsContext::builder()
            .with_trust_store(store)
            .build()
            .unwrap_or_else(|_| {
                // `build` fails only for an invalid additional server name; none is set.
                unreachable!("a TLS context without extra server names always builds")
            })
    }

    /// The HTTPS client of every SDK client of a container: rustls on aws-lc (the SDK's default
    /// provider) with these roots, one connection pool for all of them.
    pub fn http_client(&self) -> SharedHttpClient {
        let https = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(
                tls::rustls_provider::CryptoMode::AwsLc,
            ))
            .tls_context(self.context())
            .build_https();
        match self {
            // The SDK reads the platform's store when the first client is built, at init (where
            // provisioned concurrency pays for it), not in the first request: keep that.
            TlsRoots::System => https,
            TlsRoots::Amazon | TlsRoots::File { .. } => {
                SharedHttpClient::new(BuiltOnFirstCall(https))
            }
        }
    }
}

/// The SDK's HTTPS client, minus its start-up check: the SDK builds a throw-away TLS connector
/// each time a service client is created, only to load the system's certificates early; its
/// first call builds (and keeps) the connector it uses anyway. With the roots already in memory
/// there is nothing to load early, so every function with N clients built N connectors for
/// nothing.
#[derive(Debug)]
struct BuiltOnFirstCall(SharedHttpClient);

impl HttpClient for BuiltOnFirstCall {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.0.http_connector(settings, components)
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.0.connector_metadata()
    }
}

/// How many certificates of `pem` there are; an error unless there is at least one and each is a
/// usable trust anchor (the SDK would panic on either when it builds its connector).
pub fn anchors(pem: &[u8]) -> Result<usize, String> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("not a PEM file of certificates ({e})"))?;
    if certs.is_empty() {
        return Err("holds no certificate".into());
    }
    for (i, cert) in certs.iter().enumerate() {
        webpki::anchor_from_trusted_cert(cert)
            .map_err(|e| format!("certificate {} is not a usable CA certificate ({e})", i + 1))?;
    }
    Ok(certs.len())
}

fn invalid(why: String) -> ConfigError {
    ConfigError::Invalid { name: VAR, why }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roots(value: Option<&str>) -> Result<TlsRoots, ConfigError> {
        let value = value.map(str::to_owned);
        TlsRoots::from_lookup(&move |name| (name == VAR).then(|| value.clone()).flatten())
    }

    #[test]
    fn defaults_to_the_compiled_in_amazon_roots() {
        assert_eq!(roots(None).ok(), Some(TlsRoots::Amazon));
        assert_eq!(roots(Some(" ")).ok(), Some(TlsRoots::Amazon));
        assert_eq!(roots(Some("amazon")).ok(), Some(TlsRoots::Amazon));
        assert_eq!(roots(Some("system")).ok(), Some(TlsRoots::System));
        assert_eq!(anchors(AMAZON_ROOTS_PEM.as_bytes()), Ok(5));
    }

    #[test]
    fn a_file_of_certificates_is_read_at_start_up() {
        let dir = std::env::temp_dir().join(format!("keygate-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temp dir");
        let good = dir.join("good.pem");
        std::fs::write(&good, AMAZON_ROOTS_PEM).expect("written");
        let path = good.to_string_lossy().into_owned();
        match roots(Some(&path)) {
            Ok(TlsRoots::File { path: p, pem }) => {
                assert_eq!(p, good);
                assert_eq!(pem, AMAZON_ROOTS_PEM.as_bytes());
            }
            other => panic!("expected the file's roots, got {other:?}"),
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn bad_values_name_the_variable_and_why() {
        let dir = std::env::temp_dir().join(format!("keygate-tls-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temp dir");
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "# no certificate here\n").expect("written");
        let garbled = dir.join("garbled.pem");
        std::fs::write(
            &garbled,
            "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n",
        )
        .expect("written");
        let missing = dir.join("missing.pem");
        for (value, why) in [
            ("native".to_owned(), "is not \"amazon\""),
            ("certs/roots.pem".to_owned(), "absolute path"),
            (missing.to_string_lossy().into_owned(), "cannot read"),
            (empty.to_string_lossy().into_owned(), "holds no certificate"),
            (
                garbled.to_string_lossy().into_owned(),
                "certificate 1 is not a usable CA",
            ),
        ] {
            match roots(Some(&value)) {
                Err(ConfigError::Invalid { name, why: got }) => {
                    assert_eq!(name, "TLS_ROOTS");
                    assert!(got.contains(why), "{value}: {got}");
                }
                other => panic!("{value}: expected an error, got {other:?}"),
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
