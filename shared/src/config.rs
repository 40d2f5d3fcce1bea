//! Configuration: every environment variable keygate reads is read here, once per container,
//! into a typed `Config` that fails fast with the variable's name when something is missing or wrong.

use std::time::Duration;

/// Where the console users' issuer publishes its public keys (a JWKS document).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwksSource {
    /// The JWKS JSON itself (`USER_JWKS`).
    Inline(String),
    /// A Secrets Manager secret whose string value is the JWKS JSON (`USER_JWKS_SECRET_ID`),
    /// fetched lazily on first use and refreshed after `USER_JWKS_TTL_SECONDS`.
    Secret(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserTokenConfig {
    /// Expected `iss` of console-user tokens (`USER_TOKEN_ISSUER`).
    pub issuer: String,
    /// Expected `aud` of console-user tokens (`USER_TOKEN_AUDIENCE`).
    pub audience: String,
    pub jwks: JwksSource,
    /// How long fetched keys are trusted before a refetch (`USER_JWKS_TTL_SECONDS`, default 300).
    pub jwks_ttl: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The single DynamoDB table (`TABLE_NAME`).
    pub table_name: String,
    pub user_tokens: UserTokenConfig,
    /// Largest request body accepted, in bytes (`MAX_BODY_BYTES`, default 65536).
    pub max_body_bytes: usize,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("environment variable {0} is required")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {why}")]
    Invalid { name: &'static str, why: String },
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Builds the config from any name -> value lookup (the environment, or a map in tests).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let required = |name: &'static str| {
            get(name)
                .filter(|v| !v.trim().is_empty())
                .ok_or(ConfigError::Missing(name))
        };
        let number = |name: &'static str, default: u64| -> Result<u64, ConfigError> {
            match get(name).filter(|v| !v.trim().is_empty()) {
                None => Ok(default),
                Some(v) => v.trim().parse::<u64>().map_err(|e| ConfigError::Invalid {
                    name,
                    why: format!("{v:?} is not a whole number ({e})"),
                }),
            }
        };

        let jwks = match (
            get("USER_JWKS").filter(|v| !v.trim().is_empty()),
            get("USER_JWKS_SECRET_ID").filter(|v| !v.trim().is_empty()),
        ) {
            (Some(doc), None) => JwksSource::Inline(doc),
            (None, Some(id)) => JwksSource::Secret(id),
            (Some(_), Some(_)) => {
                return Err(ConfigError::Invalid {
                    name: "USER_JWKS",
                    why: "set USER_JWKS or USER_JWKS_SECRET_ID, not both".into(),
                });
            }
            (None, None) => return Err(ConfigError::Missing("USER_JWKS or USER_JWKS_SECRET_ID")),
        };

        let max_body_bytes = number("MAX_BODY_BYTES", 64 * 1024)?;
        if max_body_bytes == 0 {
            return Err(ConfigError::Invalid {
                name: "MAX_BODY_BYTES",
                why: "must be at least 1".into(),
            });
        }

        Ok(Config {
            table_name: required("TABLE_NAME")?,
            user_tokens: UserTokenConfig {
                issuer: required("USER_TOKEN_ISSUER")?,
                audience: required("USER_TOKEN_AUDIENCE")?,
                jwks,
                jwks_ttl: Duration::from_secs(number("USER_JWKS_TTL_SECONDS", 300)?),
            },
            max_body_bytes: max_body_bytes as usize,
        })
    }
}

/// The one AWS configuration of a container. Region, credentials and `AWS_ENDPOINT_URL`
/// (the local emulator) come from the standard environment variables.
pub async fn aws_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    const BASE: &[(&str, &str)] = &[
        ("TABLE_NAME", "keygate"),
        ("USER_TOKEN_ISSUER", "https://id.example.com"),
        ("USER_TOKEN_AUDIENCE", "console"),
        ("USER_JWKS", "{\"keys\":[]}"),
    ];

    #[test]
    fn reads_required_values_and_defaults() {
        let c = Config::from_lookup(lookup(BASE)).expect("valid config");
        assert_eq!(c.table_name, "keygate");
        assert_eq!(
            c.user_tokens.jwks,
            JwksSource::Inline("{\"keys\":[]}".into())
        );
        assert_eq!(c.user_tokens.jwks_ttl, Duration::from_secs(300));
        assert_eq!(c.max_body_bytes, 65536);
    }

    #[test]
    fn missing_table_name_is_named() {
        let pairs: Vec<_> = BASE
            .iter()
            .copied()
            .filter(|(k, _)| *k != "TABLE_NAME")
            .collect();
        assert_eq!(
            Config::from_lookup(lookup(&pairs)),
            Err(ConfigError::Missing("TABLE_NAME"))
        );
    }

    #[test]
    fn jwks_from_secret_and_both_sources_refused() {
        let mut pairs: Vec<_> = BASE
            .iter()
            .copied()
            .filter(|(k, _)| *k != "USER_JWKS")
            .collect();
        pairs.push(("USER_JWKS_SECRET_ID", "keygate/issuer-jwks"));
        let c = Config::from_lookup(lookup(&pairs)).expect("valid config");
        assert_eq!(
            c.user_tokens.jwks,
            JwksSource::Secret("keygate/issuer-jwks".into())
        );

        let mut both = BASE.to_vec();
        both.push(("USER_JWKS_SECRET_ID", "x"));
        assert!(matches!(
            Config::from_lookup(lookup(&both)),
            Err(ConfigError::Invalid {
                name: "USER_JWKS",
                ..
            })
        ));
    }

    #[test]
    fn bad_numbers_are_named() {
        let mut pairs = BASE.to_vec();
        pairs.push(("MAX_BODY_BYTES", "lots"));
        assert!(matches!(
            Config::from_lookup(lookup(&pairs)),
            Err(ConfigError::Invalid {
                name: "MAX_BODY_BYTES",
                ..
            })
        ));
    }
}
