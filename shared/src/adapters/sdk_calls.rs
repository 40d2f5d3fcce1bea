//! An SDK interceptor that records each AWS call's operation as it starts (once per call, not per
//! retry: before its input is serialized, when the SDK's own operation metadata is in the bag), on any service client it is added to. The tests and the decision bench
//! count calls with it (one copy, rather than one per file). Records names only, never input.

use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::BeforeSerializationInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept};
use aws_sdk_dynamodb::error::BoxError;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, SharedHttpConnector, http_client_fn,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, Metadata};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

/// The operations called through the clients this is added to (`Builder::interceptor`), in
/// order. Clones share one log.
#[derive(Debug, Clone, Default)]
pub struct CallLog(Arc<Mutex<Vec<String>>>);

impl CallLog {
    /// The calls since the last take, in call order; the log starts empty again.
    pub fn take(&self) -> Vec<String> {
        drain(&self.0)
    }

    /// [`CallLog::take`], sorted (for comparing sets of concurrent calls).
    pub fn take_sorted(&self) -> Vec<String> {
        let mut calls = self.take();
        calls.sort();
        calls
    }

    /// The calls so far, without forgetting them.
    pub fn calls(&self) -> Vec<String> {
        self.0.lock().map(|c| c.clone()).unwrap_or_default()
    }
}

/// Every request the AWS clients of a process send, whatever their service: [`HttpCallLog::wrap`]
/// puts it around an `SdkConfig`'s HTTP client, so each client built from that config is counted,
/// including clients nobody thought to add an interceptor to. Records each attempt (a retry is
/// another request) by its `X-Amz-Target` (`DynamoDB_20120810.GetItem`,
/// `secretsmanager.GetSecretValue`: the JSON-protocol services), else `METHOD path`; never a body.
#[derive(Debug, Clone, Default)]
pub struct HttpCallLog(Arc<Mutex<Vec<String>>>);

impl HttpCallLog {
    /// `sdk` with its HTTP client wrapped by this log (as it is when it has none).
    pub fn wrap(&self, sdk: &aws_config::SdkConfig) -> aws_config::SdkConfig {
        let Some(inner) = sdk.http_client() else {
            return sdk.clone();
        };
        let log = self.clone();
        let client = http_client_fn(move |settings, components| {
            SharedHttpConnector::new(Logged {
                inner: inner.http_connector(settings, components),
                log: log.clone(),
            })
        });
        sdk.to_builder().http_client(client).build()
    }

    /// The requests since the last take, in order; the log starts empty again.
    pub fn take(&self) -> Vec<String> {
        drain(&self.0)
    }
}

/// A log's entries, leaving it empty.
fn drain(log: &Mutex<Vec<String>>) -> Vec<String> {
    log.lock()
        .map(|mut c| std::mem::take(&mut *c))
        .unwrap_or_default()
}

#[derive(Debug)]
struct Logged {
    inner: SharedHttpConnector,
    log: HttpCallLog,
}

impl HttpConnector for Logged {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let name = request.headers().get("x-amz-target").map_or_else(
            || format!("{} {}", request.method(), request.uri()),
            str::to_string,
        );
        if let Ok(mut calls) = self.log.0.lock() {
            calls.push(name);
        }
        self.inner.call(request)
    }
}

impl Intercept for CallLog {
    fn name(&self) -> &'static str {
        "keygate-call-log"
    }

    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let op = cfg
            .load::<Metadata>()
            .map_or_else(|| "unknown".to_string(), |m| m.name().to_string());
        if let Ok(mut calls) = self.0.lock() {
            calls.push(op);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client of another service, built from the wrapped config with no interceptor of its
    /// own, is counted: a Secrets Manager read to a closed loopback port is logged by its target.
    #[tokio::test]
    async fn the_http_log_counts_every_service_built_from_the_config() {
        let sdk = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .endpoint_url("http://127.0.0.1:1")
            .credentials_provider(aws_sdk_dynamodb::config::SharedCredentialsProvider::new(
                aws_sdk_dynamodb::config::Credentials::for_tests(),
            ))
            .http_client(crate::adapters::tls::TlsRoots::Amazon.http_client())
            .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
            .build();
        let log = HttpCallLog::default();
        let wrapped = log.wrap(&sdk);
        let secrets = aws_sdk_secretsmanager::Client::new(&wrapped);
        let refused = secrets.get_secret_value().secret_id("x").send().await;
        assert!(refused.is_err(), "nothing listens on port 1");
        assert_eq!(
            log.take(),
            vec!["secretsmanager.GetSecretValue".to_string()]
        );
        // Unwrapped, nothing is logged.
        let plain = aws_sdk_secretsmanager::Client::new(&sdk);
        let _ = plain.get_secret_value().secret_id("x").send().await;
        assert!(log.take().is_empty());
    }
}
