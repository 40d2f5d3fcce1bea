//! The AWS SDK's set-up, once per container: one `SdkConfig` from the standard environment, with
//! the retries and deadlines of `config::AwsCallConfig` and the roots of trust of `crate::adapters::tls`.
//! Every AWS client keygate builds comes from it.

use crate::adapters::tls::TlsRoots;
use crate::config::{AwsCallConfig, ConfigError, env};

impl AwsCallConfig {
    /// The SDK's standard retry mode with these attempts and backoffs.
    pub fn retry(&self) -> aws_config::retry::RetryConfig {
        aws_config::retry::RetryConfig::standard()
            .with_max_attempts(self.max_attempts)
            .with_initial_backoff(self.initial_backoff)
            .with_max_backoff(self.max_backoff)
    }

    /// The per-attempt and per-call deadlines.
    pub fn timeouts(&self) -> aws_config::timeout::TimeoutConfig {
        aws_config::timeout::TimeoutConfig::builder()
            .operation_attempt_timeout(self.attempt_timeout)
            .operation_timeout(self.call_timeout)
            .build()
    }
}

/// The one AWS configuration of a container. Region, credentials and `AWS_ENDPOINT_URL`
/// (the local emulator) come from the standard environment variables; retries and deadlines
/// from `AwsCallConfig`; the roots of trust from `TLS_ROOTS` (`crate::adapters::tls`).
pub async fn try_aws_config() -> Result<aws_config::SdkConfig, ConfigError> {
    Ok(sdk_config(&AwsCallConfig::from_env()?, &TlsRoots::from_lookup(&env)?).await)
}

/// `try_aws_config`, for callers that cannot fail (the dev tool, tests, benches): a bad retry,
/// deadline or roots variable is logged and its default is used (deadlines stay on and
/// certificates are checked either way). The functions use `try_aws_config` and stop at init.
pub async fn aws_config() -> aws_config::SdkConfig {
    let calls = AwsCallConfig::from_env().unwrap_or_else(|e| {
        tracing::error!(error = %e, "AWS call settings invalid; using the defaults");
        AwsCallConfig::default()
    });
    let roots = TlsRoots::from_lookup(&env).unwrap_or_else(|e| {
        tracing::error!(error = %e, "TLS roots invalid; trusting the Amazon roots");
        TlsRoots::default()
    });
    sdk_config(&calls, &roots).await
}

/// The AWS configuration from the standard environment with these retries, deadlines and
/// roots of trust.
///
/// Lambda hands a function its region and credentials in environment variables, the first
/// places the SDK's default chains look, and has no shared config file. When both are there they
/// are taken from there directly and no config file is read, so that init neither builds the
/// chains' other providers (instance metadata, container, web identity, profile), which it would
/// never reach, nor looks for files: together ≈0.2 ms of every cold start (0.3 ms more where a
/// missing `AWS_CONFIG_FILE` is warned about, as on the local stack). Without them (a
/// developer's shell with a profile) the default chains run as usual.
pub async fn sdk_config(calls: &AwsCallConfig, roots: &TlsRoots) -> aws_config::SdkConfig {
    let loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(roots.http_client())
        .retry_config(calls.retry())
        .timeout_config(calls.timeouts());
    let set = |name: &str| env(name).is_some_and(|v| !v.trim().is_empty());
    let in_env = set("AWS_ACCESS_KEY_ID")
        && set("AWS_SECRET_ACCESS_KEY")
        && (set("AWS_REGION") || set("AWS_DEFAULT_REGION"));
    let loader = if in_env {
        // As on Lambda, where there is no shared config file: every setting from the
        // environment, none from `~/.aws/config` (or AWS_CONFIG_FILE), which is not even opened.
        use aws_runtime::env_config::file::{EnvConfigFileKind, EnvConfigFiles};
        let no_files = EnvConfigFiles::builder()
            .with_contents(EnvConfigFileKind::Config, "")
            .build();
        loader
            .profile_files(no_files)
            .region(aws_config::environment::EnvironmentVariableRegionProvider::new())
            .credentials_provider(
                aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
            )
    } else {
        loader
    };
    loader.load().await
}
