//! The local stack's fence. `keygate-dev setup`, `seed`, `token` and `pump` and the `dev-signin`
//! function are for the local stack only: they create tables and identities, publish the dev
//! issuer's key as the console users' issuer keys, write demo data, mint console-user tokens with
//! the dev issuer's key. Run against a deployment (the same binary is the operator's tool for its
//! signing keys, with the standard AWS environment) they would replace its identity. So each of
//! them first checks that every AWS endpoint it could use is loopback, and refuses otherwise,
//! before it makes any AWS call.
//!
//! The rule ([`check`]) reads the environment variables the AWS SDK for Rust takes endpoints from:
//! `AWS_ENDPOINT_URL` must be set and loopback; every service-specific `AWS_ENDPOINT_URL_<SERVICE>`
//! that is set (`_DYNAMODB`, `_SESV2`, `_SECRETS_MANAGER`, `_EVENTBRIDGE`, any other: they take
//! precedence over the global one for their service) must be loopback too; and
//! `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` (which makes the SDK ignore them all) must not be set.
//! Environment variables win over the shared config file's `endpoint_url`s; the file's own
//! `ignore_configured_endpoint_urls` is caught after loading by [`dev_sdk_config`], which checks
//! the endpoint the loaded configuration actually holds. No endpoint at all is real AWS: refused.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::BoxError;

/// The SDK's global endpoint variable.
pub const ENDPOINT_URL: &str = "AWS_ENDPOINT_URL";
/// Prefix of the SDK's service-specific endpoint variables (`AWS_ENDPOINT_URL_DYNAMODB`, …).
pub const SERVICE_ENDPOINT_PREFIX: &str = "AWS_ENDPOINT_URL_";
/// Makes the SDK ignore every configured endpoint (environment and config file).
pub const IGNORE_ENDPOINTS: &str = "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS";

/// What a dev-only command would have talked to, and why that is not the local stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The endpoint it would have used (a URL, or "real AWS …").
    pub endpoint: String,
    /// Why that is not loopback.
    pub reason: String,
}

impl Refusal {
    /// The message a dev-only `command` stops with; `what` says what it writes or mints.
    pub fn message(&self, command: &str, what: &str) -> String {
        format!(
            "refusing `{command}` against {}: {}. `{command}` is dev-only: {what}; it runs only \
             against a loopback AWS endpoint (AWS_ENDPOINT_URL on 127.0.0.1, ::1 or localhost, \
             and every AWS_ENDPOINT_URL_<SERVICE> that is set likewise), never against a \
             deployment. For the local stack, load its settings first \
             (`set -a; . .keygate/dev.env; set +a`)",
            self.endpoint, self.reason
        )
    }
}

/// Whether `url` is an `http` or `https` URL whose host is loopback: `127.0.0.0/8`, `[::1]` or
/// `localhost` (any case, one trailing dot allowed), with an optional numeric port. Strict on
/// purpose: no user info (`http://127.0.0.1@evil.com` goes to evil.com), no scheme-less
/// `host:port`, IPv4 only in plain dotted decimal (`127.0.0.1.example.com` is a domain).
pub fn is_loopback_url(url: &str) -> bool {
    let Some((scheme, rest)) = url.split_once("://") else {
        return false;
    };
    if !(scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")) {
        return false;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority
        .chars()
        .any(|c| matches!(c, '@' | '\\' | '%') || c.is_whitespace() || c.is_control())
    {
        return false;
    }
    // `[v6]` or `[v6]:port`; else `name` or `name:port`.
    if let Some(bracketed) = authority.strip_prefix('[') {
        let Some((addr, after)) = bracketed.split_once(']') else {
            return false;
        };
        let port_fine = after.is_empty() || after.strip_prefix(':').is_some_and(port_ok);
        return port_fine && addr.parse::<Ipv6Addr>().is_ok_and(|a| a.is_loopback());
    }
    let (host, port_fine) = match authority.split_once(':') {
        Some((host, port)) => (host, port_ok(port)),
        None => (authority, true),
    };
    let name = host.strip_suffix('.').unwrap_or(host);
    port_fine
        && (name.eq_ignore_ascii_case("localhost")
            || name.parse::<Ipv4Addr>().is_ok_and(|a| a.is_loopback()))
}

/// A decimal port in range (empty, `abc` or `99999` is not one).
fn port_ok(port: &str) -> bool {
    !port.is_empty() && port.chars().all(|c| c.is_ascii_digit()) && port.parse::<u16>().is_ok()
}

/// The rule, over the process environment given as `(name, value)` pairs: `Ok` with the main
/// endpoint when every endpoint the AWS SDK could use is loopback, else what it would have used.
pub fn check<I, K, V>(vars: I) -> Result<String, Refusal>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: AsRef<str>,
{
    let mut main: Option<String> = None;
    let mut services: Vec<(String, String)> = Vec::new();
    let mut ignore: Option<String> = None;
    for (name, value) in vars {
        let (name, value) = (name.as_ref(), value.as_ref());
        if name == ENDPOINT_URL {
            main = Some(value.to_string());
        } else if name.starts_with(SERVICE_ENDPOINT_PREFIX) {
            services.push((name.to_string(), value.to_string()));
        } else if name == IGNORE_ENDPOINTS {
            ignore = Some(value.to_string());
        }
    }
    services.sort();
    if let Some(v) = ignore.filter(|v| !v.trim().eq_ignore_ascii_case("false")) {
        return Err(Refusal {
            endpoint: "real AWS".into(),
            reason: format!("{IGNORE_ENDPOINTS}={v:?} makes the AWS SDK ignore AWS_ENDPOINT_URL"),
        });
    }
    let Some(main) = main else {
        return Err(Refusal {
            endpoint: "real AWS".into(),
            reason: format!("{ENDPOINT_URL} is not set"),
        });
    };
    if !is_loopback_url(&main) {
        return Err(Refusal {
            endpoint: format!("{main:?}"),
            reason: format!("{ENDPOINT_URL} is not an http(s) URL on loopback"),
        });
    }
    if let Some((name, value)) = services.into_iter().find(|(_, v)| !is_loopback_url(v)) {
        return Err(Refusal {
            endpoint: format!("{value:?}"),
            reason: format!(
                "{name} is not an http(s) URL on loopback (it overrides {ENDPOINT_URL} for its service)"
            ),
        });
    }
    Ok(main)
}

/// [`check`] over this process's environment (a value that is not UTF-8 is never loopback).
pub fn check_env() -> Result<String, Refusal> {
    check(std::env::vars_os().map(|(k, v)| {
        (
            k.to_string_lossy().into_owned(),
            v.to_string_lossy().into_owned(),
        )
    }))
}

/// The gate of a dev-only command: `Ok` with the main endpoint, or the refusal naming `command`,
/// the endpoint and `what` it would have written. Makes no call of any kind.
pub fn require(command: &str, what: &str) -> Result<String, BoxError> {
    check_env().map_err(|r| r.message(command, what).into())
}

/// [`require`], then the AWS configuration, whose effective endpoint is checked again (a shared
/// config file's `ignore_configured_endpoint_urls` drops the environment's endpoints while it
/// loads). Loading it makes no call to an AWS service (credentials are resolved on first use).
pub async fn dev_sdk_config(command: &str, what: &str) -> Result<aws_config::SdkConfig, BoxError> {
    require(command, what)?;
    let sdk = keygate::adapters::aws::aws_config().await;
    match sdk.endpoint_url() {
        Some(url) if is_loopback_url(url) => Ok(sdk),
        other => Err(Refusal {
            endpoint: other.map_or("real AWS".into(), |u| format!("{u:?}")),
            reason: "the loaded AWS configuration's endpoint is not loopback (is \
                     ignore_configured_endpoint_urls set in the AWS config file?)"
                .into(),
        }
        .message(command, what)
        .into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_only() {
        for ok in [
            "http://127.0.0.1",
            "http://127.0.0.1:4566",
            "http://127.0.0.1:4566/",
            "https://127.5.6.7:443/x?y#z",
            "http://127.255.255.254",
            "http://[::1]",
            "http://[::1]:4566/",
            "http://[0:0:0:0:0:0:0:1]:4566",
            "http://localhost:9000",
            "HTTP://LOCALHOST.:9000",
            "http://LocalHost",
        ] {
            assert!(is_loopback_url(ok), "{ok} is loopback");
        }
        for bad in [
            "",
            " ",
            " http://127.0.0.1:4566",
            "http://127.0.0.1:4566 ",
            "127.0.0.1",
            "127.0.0.1:4566",
            "localhost:4566",
            "//127.0.0.1:4566",
            "ftp://127.0.0.1",
            "file:///tmp/x",
            "http://",
            "http://:4566",
            "http://10.0.0.1:4566",
            "http://example.com",
            "https://dynamodb.us-east-1.amazonaws.com",
            "http://127.0.0.1.example.com",
            "http://127.0.0.1.example.com:4566",
            "http://localhost.example.com",
            "http://localhost..",
            "http://127.0.0.1@evil.com",
            "http://127.0.0.1:4566@evil.com",
            "http://user:pass@127.0.0.1:4566",
            "http://evil.com#@127.0.0.1",
            "http://evil.com?@127.0.0.1",
            "http://127.0.0.1\\@evil.com",
            "http://127.0.0.1%2eevil.com",
            "http://127.0.0.1 .evil.com",
            "http://127.0.0.01",
            "http://127.1",
            "http://0x7f.0.0.1",
            "http://2130706433",
            "http://0.0.0.0:4566",
            "http://[::]:4566",
            "http://[::ffff:127.0.0.1]",
            "http://[::1",
            "http://[::1]x",
            "http://::1",
            "http://127.0.0.1:",
            "http://127.0.0.1:port",
            "http://127.0.0.1:99999",
            "http://127.0.0.1:4566:1",
        ] {
            assert!(!is_loopback_url(bad), "{bad:?} is not loopback");
        }
    }

    fn env(pairs: &[(&str, &str)]) -> Result<String, Refusal> {
        check(pairs.iter().copied())
    }

    const LOCAL: (&str, &str) = ("AWS_ENDPOINT_URL", "http://127.0.0.1:4566");

    #[test]
    fn every_endpoint_the_sdk_could_use_must_be_loopback() {
        assert_eq!(
            env(&[LOCAL, ("TABLE_NAME", "keygate")]),
            Ok("http://127.0.0.1:4566".into())
        );
        assert!(
            env(&[
                LOCAL,
                ("AWS_ENDPOINT_URL_SESV2", "http://localhost:4567"),
                ("AWS_ENDPOINT_URL_DYNAMODB", "http://[::1]:4566"),
                ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "false"),
            ])
            .is_ok()
        );

        // No endpoint: real AWS.
        let r = env(&[("TABLE_NAME", "keygate")]).expect_err("no endpoint");
        assert_eq!(r.endpoint, "real AWS");
        assert!(r.reason.contains("AWS_ENDPOINT_URL is not set"), "{r:?}");
        // A service endpoint alone does not make the others local.
        assert!(env(&[("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:4566")]).is_err());

        for bad in [
            "https://dynamodb.us-east-1.amazonaws.com",
            "",
            "127.0.0.1:4566",
            "http://127.0.0.1@evil.com",
        ] {
            let r = env(&[("AWS_ENDPOINT_URL", bad)]).expect_err(bad);
            assert!(r.endpoint.contains(bad), "{r:?}");
        }

        // A service override wins over AWS_ENDPOINT_URL for its service: each must be local.
        for service in [
            "AWS_ENDPOINT_URL_DYNAMODB",
            "AWS_ENDPOINT_URL_SESV2",
            "AWS_ENDPOINT_URL_SECRETS_MANAGER",
            "AWS_ENDPOINT_URL_EVENTBRIDGE",
            "AWS_ENDPOINT_URL_DYNAMODB_STREAMS",
            "AWS_ENDPOINT_URL_STS",
        ] {
            let r = env(&[LOCAL, (service, "https://evil.example.com")]).expect_err(service);
            assert_eq!(r.endpoint, "\"https://evil.example.com\"");
            assert!(r.reason.starts_with(service), "{r:?}");
            assert!(env(&[LOCAL, (service, "")]).is_err(), "{service} empty");
        }

        // The switch that makes the SDK ignore them all.
        for v in ["true", "TRUE", "1", ""] {
            let r = env(&[LOCAL, ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", v)]).expect_err(v);
            assert!(
                r.reason.contains("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"),
                "{r:?}"
            );
        }
    }

    #[test]
    fn the_message_names_the_command_the_endpoint_and_why() {
        let r = env(&[(
            "AWS_ENDPOINT_URL",
            "https://dynamodb.us-east-1.amazonaws.com",
        )])
        .expect_err("not loopback");
        let m = r.message("setup", "it writes the dev issuer's key");
        for part in [
            "`setup`",
            "https://dynamodb.us-east-1.amazonaws.com",
            "dev-only",
            "it writes the dev issuer's key",
            "loopback",
            "127.0.0.1, ::1 or localhost",
        ] {
            assert!(m.contains(part), "{part:?} in {m}");
        }
    }
}
