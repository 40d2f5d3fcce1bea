//! Command-line flags of both subcommands: `--name value` or `--name=value`, each with an
//! environment variable as fallback, and the checked values they share (ports, loopback URLs,
//! the gateway secret).

use std::collections::HashMap;
use std::fmt;

/// The flags given on the command line, by name (without the leading `--`).
#[derive(Debug, Default)]
pub struct Flags {
    values: HashMap<String, String>,
    help: bool,
}

impl Flags {
    /// Parses `args` (after the subcommand), accepting only the `known` flag names.
    pub fn parse(args: impl IntoIterator<Item = String>, known: &[&str]) -> Result<Self, String> {
        let mut flags = Self::default();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            if arg == "--help" || arg == "-h" {
                flags.help = true;
                continue;
            }
            let Some(flag) = arg.strip_prefix("--") else {
                return Err(format!("unexpected argument {arg:?}"));
            };
            let (name, value) = match flag.split_once('=') {
                Some((name, value)) => (name.to_string(), value.to_string()),
                None => {
                    let value = args
                        .next()
                        .ok_or_else(|| format!("--{flag} needs a value"))?;
                    (flag.to_string(), value)
                }
            };
            if !known.contains(&name.as_str()) {
                return Err(format!("unknown flag --{name}"));
            }
            flags.values.insert(name, value);
        }
        Ok(flags)
    }

    /// Whether `--help` was given.
    pub fn help(&self) -> bool {
        self.help
    }

    /// The flag's value, else the environment variable's (an empty variable counts as unset).
    pub fn get(&self, name: &str, env: &str) -> Option<String> {
        self.values
            .get(name)
            .cloned()
            .or_else(|| std::env::var(env).ok().filter(|v| !v.is_empty()))
    }
}

/// A port number; 0 lets the system pick a free one.
pub fn port(raw: Option<String>, flag: &str) -> Result<u16, String> {
    match raw {
        None => Ok(0),
        Some(raw) => raw
            .trim()
            .parse()
            .map_err(|_| format!("--{flag} must be a port number (0 to 65535), not {raw:?}")),
    }
}

/// An `http://` URL whose host is loopback (127.0.0.1, ::1 or localhost), without a trailing
/// `/`: everything these stand-ins call stays on this machine.
pub fn loopback_url(raw: &str, flag: &str) -> Result<reqwest::Url, String> {
    let url = reqwest::Url::parse(raw.trim())
        .map_err(|e| format!("--{flag} {raw:?} is not a URL: {e}"))?;
    if url.scheme() != "http" {
        return Err(format!(
            "--{flag} must be a plain http:// URL on loopback, not {:?}",
            url.scheme()
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!("--{flag} must not carry credentials"));
    }
    match url.host_str() {
        Some("127.0.0.1" | "[::1]" | "localhost") => Ok(url),
        host => Err(format!(
            "--{flag} must point at loopback (127.0.0.1, ::1 or localhost), not {}: \
             these stand-ins never call another machine",
            host.unwrap_or("(no host)")
        )),
    }
}

/// The gateway secret: `Debug` and `Display` never show it.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// The template's rule for `PlatformBackendSecret`: 32 to 256 characters of A-Z, a-z,
    /// 0-9, `_` and `-` (infra/template.yaml).
    pub fn parse(raw: Option<String>, flag: &str) -> Result<Self, String> {
        let raw = raw.ok_or_else(|| format!("--{flag} is required (the gateway secret)"))?;
        let ok = (32..=256).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if ok {
            Ok(Self(raw))
        } else {
            Err(format!(
                "--{flag} must be 32 to 256 characters of A-Z, a-z, 0-9, _ and - \
                 (as PlatformBackendSecret in infra/template.yaml)"
            ))
        }
    }

    /// The secret's bytes, to send or to compare.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether `candidate` equals the secret, in time independent of where they differ.
    pub fn matches(&self, candidate: &[u8]) -> bool {
        let secret = self.0.as_bytes();
        // The length is not secret (the template fixes its range); the content is.
        if candidate.len() != secret.len() {
            return false;
        }
        let diff = secret
            .iter()
            .zip(candidate)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        std::hint::black_box(diff) == 0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn flags_take_both_forms_and_refuse_unknown_ones() {
        let flags = Flags::parse(
            args(&["--port", "0", "--backend=http://x"]),
            &["port", "backend"],
        )
        .expect("valid flags");
        assert_eq!(
            flags.get("port", "KEYGATE_TEST_UNSET_1").as_deref(),
            Some("0")
        );
        assert_eq!(
            flags.get("backend", "KEYGATE_TEST_UNSET_2").as_deref(),
            Some("http://x")
        );
        assert!(Flags::parse(args(&["--nope", "1"]), &["port"]).is_err());
        assert!(Flags::parse(args(&["--port"]), &["port"]).is_err());
        assert!(Flags::parse(args(&["stray"]), &["port"]).is_err());
    }

    #[test]
    fn only_loopback_http_urls_are_accepted() {
        for ok in [
            "http://127.0.0.1:9000/2015-03-31/functions/authorizer/invocations",
            "http://localhost:8080",
            "http://[::1]:1",
        ] {
            assert!(loopback_url(ok, "backend").is_ok(), "{ok}");
        }
        for bad in [
            "http://10.0.0.1:80",
            "http://example.com",
            "https://127.0.0.1:1",
            "http://127.0.0.2:1",
            "http://user:pw@127.0.0.1:1",
            "http://localhost.example.com",
            "not a url",
        ] {
            assert!(loopback_url(bad, "backend").is_err(), "{bad}");
        }
    }

    #[test]
    fn secret_follows_the_template_rule_and_never_prints() {
        let good = "a".repeat(32);
        let secret = Secret::parse(Some(good.clone()), "secret").expect("valid secret");
        assert!(secret.matches(good.as_bytes()));
        assert!(!secret.matches(b"a"));
        assert!(!secret.matches("b".repeat(32).as_bytes()));
        assert!(!format!("{secret:?} {secret}").contains(&good));
        assert!(Secret::parse(None, "secret").is_err());
        assert!(Secret::parse(Some("short".into()), "secret").is_err());
        assert!(Secret::parse(Some(format!("{good}!")), "secret").is_err());
    }
}
