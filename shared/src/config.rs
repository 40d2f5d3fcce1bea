//! Configuration: every environment variable keygate reads is read here, once per container,
//! into a typed `Config` that fails fast with the variable's name when something is missing or wrong.

use std::time::Duration;

/// A variable of the process environment: the one place keygate reads it (each config's
/// `from_env` here, and the AWS set-up in `aws.rs`: `TLS_ROOTS` and the SDK's own variables).
pub fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Where the console users' issuer's public keys (a JWKS document) come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwksSource {
    /// The JWKS JSON itself (`USER_JWKS`).
    Inline(String),
    /// Published in the table (`JWKS#users`, by `keygate-dev user-jwks publish`), read on first
    /// use and again after `USER_JWKS_TTL_SECONDS`: the default when `USER_JWKS` is not set.
    Table,
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
    /// The claim that lists the platform projects a user may own in keygate (`PROJECT_CLAIM`),
    /// read from console tokens only when `PROJECT_CREATION=claim`.
    pub projects_claim: Option<String>,
}

use crate::model::locale::Locale;
pub use crate::model::project::ProjectCreation;

/// `DEFAULT_LOCALE` when unset: the platform's users read Russian (its manual is Russian).
pub const DEFAULT_LOCALE: Locale = Locale::Ru;

/// `DEFAULT_LOCALE`: `ru` or `en` (default `ru`), the language of mail to a user who set none
/// and whose console token names none.
fn default_locale(get: &impl Fn(&str) -> Option<String>) -> Result<Locale, ConfigError> {
    match get("DEFAULT_LOCALE").map(|v| v.trim().to_string()) {
        None => Ok(DEFAULT_LOCALE),
        Some(v) if v.is_empty() => Ok(DEFAULT_LOCALE),
        Some(v) => Locale::parse(&v).ok_or_else(|| ConfigError::Invalid {
            name: "DEFAULT_LOCALE",
            why: format!("{v:?}: must be `ru` or `en`"),
        }),
    }
}

/// The claim read under `PROJECT_CREATION=claim` when `PROJECT_CLAIM` is not set.
pub const DEFAULT_PROJECT_CLAIM: &str = "keygate_projects";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The single DynamoDB table (`TABLE_NAME`).
    pub table_name: String,
    pub user_tokens: UserTokenConfig,
    /// Largest request body accepted, in bytes (`MAX_BODY_BYTES`, default 65536).
    pub max_body_bytes: usize,
    pub api_keys: ApiKeyConfig,
    pub imports: ImportsConfig,
    pub decision: DecisionConfig,
    /// Key requests one user may make per hour, across all projects (`REQUESTS_PER_HOUR`,
    /// default 10): no one floods an owner's inbox.
    pub requests_per_hour: u32,
    /// Who may create projects (`PROJECT_CREATION`, default `nobody`).
    pub project_creation: ProjectCreation,
    /// The language of users with no setting and no token claim (`DEFAULT_LOCALE`).
    pub default_locale: Locale,
}

/// The signing key set's secret when `SIGNING_KEYS_SECRET_ID` is not set.
pub const DEFAULT_SIGNING_KEYS_SECRET_ID: &str = "keygate/signing-keys";

/// How keygate issues API keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyConfig {
    /// `iss` of API keys (`API_KEY_ISSUER`, default `keygate`).
    pub issuer: String,
    /// `aud` of a project's keys is `<this>:<project id>` (`API_KEY_AUDIENCE`, default `platform-api`).
    pub audience: String,
    /// The Secrets Manager secret holding the signing key set (`SIGNING_KEYS_SECRET_ID`,
    /// default `keygate/signing-keys`), read on first use.
    pub signing_keys_secret_id: String,
    /// How long a read key set is used before it is read again (`SIGNING_KEYS_TTL_SECONDS`, default 300).
    pub signing_keys_ttl: Duration,
}

impl ApiKeyConfig {
    /// The audience of a project's API keys.
    pub fn audience_for(&self, project: &str) -> String {
        format!("{}:{project}", self.audience)
    }
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
        Self::from_lookup(env)
    }

    /// Builds the config from any name -> value lookup (the environment, or a map in tests).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let required = |name: &'static str| required(&get, name);
        let number = |name: &'static str, default: u64| number_or(&get, name, default);

        if get("USER_JWKS_SECRET_ID").is_some_and(|v| !v.trim().is_empty()) {
            // Read until this version; silently ignoring it would leave the deployment
            // authenticating nobody with no word why.
            return Err(ConfigError::Invalid {
                name: "USER_JWKS_SECRET_ID",
                why: "no longer read: publish the issuer's JWKS to the table with `keygate-dev \
                      user-jwks publish <file>` (or set USER_JWKS to the document) and unset it"
                    .into(),
            });
        }
        let jwks = match get("USER_JWKS").filter(|v| !v.trim().is_empty()) {
            Some(doc) => JwksSource::Inline(doc),
            None => JwksSource::Table,
        };

        let max_body_bytes = number("MAX_BODY_BYTES", 64 * 1024)?;
        if max_body_bytes == 0 {
            return Err(ConfigError::Invalid {
                name: "MAX_BODY_BYTES",
                why: "must be at least 1".into(),
            });
        }

        let requests_per_hour = number("REQUESTS_PER_HOUR", 10)?;
        if !(1..=u64::from(u32::MAX)).contains(&requests_per_hour) {
            return Err(ConfigError::Invalid {
                name: "REQUESTS_PER_HOUR",
                why: "must be at least 1".into(),
            });
        }

        let project_creation = project_creation(&get)?;
        Ok(Config {
            table_name: required("TABLE_NAME")?,
            user_tokens: UserTokenConfig {
                issuer: required("USER_TOKEN_ISSUER")?,
                audience: required("USER_TOKEN_AUDIENCE")?,
                jwks,
                jwks_ttl: Duration::from_secs(number("USER_JWKS_TTL_SECONDS", 300)?),
                projects_claim: match &project_creation {
                    ProjectCreation::Claim(name) => Some(name.clone()),
                    _ => None,
                },
            },
            max_body_bytes: max_body_bytes as usize,
            api_keys: ApiKeyConfig::from_lookup(&get)?,
            imports: ImportsConfig::from_lookup(&get)?,
            decision: DecisionConfig::from_lookup(&get)?,
            requests_per_hour: requests_per_hour as u32,
            project_creation,
            default_locale: default_locale(&get)?,
        })
    }
}

/// `PROJECT_CREATION` (`nobody`, `claim` or `anyone`; default `nobody`) and, for `claim`,
/// `PROJECT_CLAIM`.
fn project_creation(get: &impl Fn(&str) -> Option<String>) -> Result<ProjectCreation, ConfigError> {
    let claim = get("PROJECT_CLAIM")
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty());
    let mode = get("PROJECT_CREATION").map(|v| v.trim().to_ascii_lowercase());
    let creation = match mode.as_deref() {
        None | Some("") | Some("nobody") => ProjectCreation::Nobody,
        Some("anyone") => ProjectCreation::Anyone,
        Some("claim") => ProjectCreation::Claim(
            claim
                .clone()
                .unwrap_or_else(|| DEFAULT_PROJECT_CLAIM.into()),
        ),
        Some(other) => {
            return Err(ConfigError::Invalid {
                name: "PROJECT_CREATION",
                why: format!("`{other}`: must be `nobody`, `claim` or `anyone`"),
            });
        }
    };
    if claim.is_some() && !matches!(creation, ProjectCreation::Claim(_)) {
        // A claim name without the mode that reads it is a half-done configuration: refusing
        // it beats a deployment where nobody can create a project and no one knows why.
        return Err(ConfigError::Invalid {
            name: "PROJECT_CLAIM",
            why: "is read only with PROJECT_CREATION=claim".into(),
        });
    }
    Ok(creation)
}

/// How calls made with API keys are decided and counted (`verify`, `authorizer`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionConfig {
    /// Expected `iss` of API keys (`API_KEY_ISSUER`).
    pub issuer: String,
    /// Keys carry `aud` = `<this>:<project>` (`API_KEY_AUDIENCE`).
    pub audience: String,
    /// Which platform route needs which permission (`PLATFORM_ROUTES`: a JSON object of
    /// `"METHOD /path/{p}/…": "resource:action"`; default: API.md's platform-call table).
    pub routes: crate::model::routes::RouteMap,
    /// How long key records, roles and signing keys are trusted from memory
    /// (`DECISION_CACHE_TTL_SECONDS`, default 30): revocation takes effect within it.
    pub cache_ttl: Duration,
    /// How often a container writes the usage counts it has gathered (`USAGE_FLUSH_SECONDS`,
    /// default 10, 1 to 300; also sooner when its batch is large, and at shutdown): decisions wait
    /// on no write (`keygate::usecases::counting`). 10 s keeps a steadily used key at one write per 10 s
    /// per container (at 20 calls a second or more, at most 5 writes per 1,000 decisions) while
    /// the statistics lag a busy container by seconds, and a container killed without its
    /// shutdown (`kill -9`) loses at most that long of its counts.
    pub usage_flush: Duration,
}

/// `USAGE_FLUSH_SECONDS` when unset.
pub const DEFAULT_USAGE_FLUSH_SECONDS: u64 = 10;

impl DecisionConfig {
    pub fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let api = ApiKeyConfig::from_lookup(get)?;
        let routes = match get("PLATFORM_ROUTES").filter(|v| !v.trim().is_empty()) {
            None => crate::model::routes::RouteMap::default_routes(),
            Some(doc) => crate::model::routes::RouteMap::from_json(&doc).map_err(|why| {
                ConfigError::Invalid {
                    name: "PLATFORM_ROUTES",
                    why,
                }
            })?,
        };
        let usage_flush = number_or(get, "USAGE_FLUSH_SECONDS", DEFAULT_USAGE_FLUSH_SECONDS)?;
        if !(1..=300).contains(&usage_flush) {
            return Err(ConfigError::Invalid {
                name: "USAGE_FLUSH_SECONDS",
                why: format!("{usage_flush} must be 1 to 300"),
            });
        }
        Ok(DecisionConfig {
            issuer: api.issuer,
            audience: api.audience,
            routes,
            cache_ttl: Duration::from_secs(number_or(get, "DECISION_CACHE_TTL_SECONDS", 30)?),
            usage_flush: Duration::from_secs(usage_flush),
        })
    }
}

/// The authorizer's configuration: no console users, no request bodies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizerConfig {
    pub table_name: String,
    pub api_keys: ApiKeyConfig,
    pub decision: DecisionConfig,
}

impl AuthorizerConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        let get = env;
        Ok(AuthorizerConfig {
            table_name: required(&get, "TABLE_NAME")?,
            api_keys: ApiKeyConfig::from_lookup(&get)?,
            decision: DecisionConfig::from_lookup(&get)?,
        })
    }
}

/// A variable that must be set and not blank.
fn required(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<String, ConfigError> {
    get(name)
        .filter(|v| !v.trim().is_empty())
        .ok_or(ConfigError::Missing(name))
}

/// Reads a whole number, or the default when the variable is absent or blank.
fn number_or(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: u64,
) -> Result<u64, ConfigError> {
    match get(name).filter(|v| !v.trim().is_empty()) {
        None => Ok(default),
        Some(v) => v.trim().parse::<u64>().map_err(|e| ConfigError::Invalid {
            name,
            why: format!("{v:?} is not a whole number ({e})"),
        }),
    }
}

fn text_or(get: &impl Fn(&str) -> Option<String>, name: &str, default: &str) -> String {
    get(name)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_string())
}

impl ApiKeyConfig {
    pub fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Ok(ApiKeyConfig {
            issuer: text_or(get, "API_KEY_ISSUER", "keygate"),
            audience: text_or(get, "API_KEY_AUDIENCE", "platform-api"),
            signing_keys_secret_id: text_or(
                get,
                "SIGNING_KEYS_SECRET_ID",
                DEFAULT_SIGNING_KEYS_SECRET_ID,
            ),
            signing_keys_ttl: Duration::from_secs(number_or(get, "SIGNING_KEYS_TTL_SECONDS", 300)?),
        })
    }
}

/// The namespace of imported secrets when `SECRETS_NAMESPACE` is not set. Distinct from the
/// signing keys' and the issuer JWKS' names, so a policy on `<namespace>/*` cannot reach those.
pub const DEFAULT_SECRETS_NAMESPACE: &str = "keygate-imports";

/// Where imports write their secrets, and how they are deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportsConfig {
    /// Secrets are named `<namespace>/<project>/<name>` (`SECRETS_NAMESPACE`, default
    /// `keygate-imports`; `[A-Za-z0-9/_+=.@-]{1,64}`, no leading or trailing `/`).
    pub namespace: String,
    /// Days a deleted secret can still be restored (`SECRETS_RECOVERY_DAYS`, default 7; 0 deletes
    /// at once, otherwise 7 to 30 as Secrets Manager allows).
    pub recovery_days: u8,
    /// Whose imports these are: the stack's table (`TABLE_NAME`, unique in an account and
    /// region). Every imported secret is tagged with it, and a secret tagged with another
    /// stack's is never taken over, even when two stacks share a `SECRETS_NAMESPACE`.
    pub stack: String,
}

impl ImportsConfig {
    pub fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let namespace = text_or(get, "SECRETS_NAMESPACE", DEFAULT_SECRETS_NAMESPACE);
        let ok = namespace.len() <= 64
            && !namespace.starts_with('/')
            && !namespace.ends_with('/')
            && namespace
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "/_+=.@-".contains(c));
        if !ok {
            return Err(ConfigError::Invalid {
                name: "SECRETS_NAMESPACE",
                why: format!(
                    "{namespace:?} must match [A-Za-z0-9/_+=.@-]{{1,64}} without a leading or trailing /"
                ),
            });
        }
        let recovery_days = number_or(get, "SECRETS_RECOVERY_DAYS", 7)?;
        if recovery_days != 0 && !(7..=30).contains(&recovery_days) {
            return Err(ConfigError::Invalid {
                name: "SECRETS_RECOVERY_DAYS",
                why: format!("{recovery_days} must be 0 (delete at once) or 7 to 30"),
            });
        }
        Ok(ImportsConfig {
            namespace,
            recovery_days: recovery_days as u8,
            stack: required(get, "TABLE_NAME")?,
        })
    }
}

/// The imports' stream handler (`imports-sync`): the table, the signing keys to re-mint a rolled
/// key's token, and where the imported secrets live. No user tokens: it serves no console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncConfig {
    pub table_name: String,
    pub api_keys: ApiKeyConfig,
    pub imports: ImportsConfig,
}

impl SyncConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(env)
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Ok(SyncConfig {
            table_name: required(&get, "TABLE_NAME")?,
            api_keys: ApiKeyConfig::from_lookup(&get)?,
            imports: ImportsConfig::from_lookup(&get)?,
        })
    }
}

/// How every AWS call of a container is retried and bounded in time. Each call has a deadline
/// (`call_timeout`, its retries and backoffs included) shorter than the shortest function timeout
/// of infra/template.yaml, so a hung or throttling dependency ends as a 503 problem with
/// `Retry-After`, never as a Lambda timeout (a test there keeps the two apart).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AwsCallConfig {
    /// Tries per call, the first included (`AWS_MAX_ATTEMPTS`, default 3, 1 to 10). The SDK's
    /// standard mode retries throttling (`ProvisionedThroughputExceededException`,
    /// `ThrottlingException`, `TooManyRequestsException`, …), 500/502/503/504 answers, timeouts
    /// and connection failures.
    pub max_attempts: u32,
    /// The backoff before a retry is random up to this, doubled per retry
    /// (`AWS_RETRY_BASE_MS`, default 100).
    pub initial_backoff: Duration,
    /// The longest backoff (`AWS_RETRY_MAX_BACKOFF_MS`, default 1000).
    pub max_backoff: Duration,
    /// Deadline of one attempt (`AWS_ATTEMPT_TIMEOUT_MS`, default 2000): a hung attempt is
    /// given up and retried.
    pub attempt_timeout: Duration,
    /// Deadline of a whole call, every attempt and backoff included (`AWS_CALL_TIMEOUT_MS`,
    /// default 5000, at least the attempt timeout).
    pub call_timeout: Duration,
}

impl Default for AwsCallConfig {
    fn default() -> Self {
        AwsCallConfig {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(1000),
            attempt_timeout: Duration::from_millis(2000),
            call_timeout: Duration::from_millis(5000),
        }
    }
}

impl AwsCallConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&env)
    }

    pub fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let d = AwsCallConfig::default();
        let ms = |name: &'static str, default: Duration| -> Result<Duration, ConfigError> {
            let v = number_or(get, name, default.as_millis() as u64)?;
            if v == 0 {
                return Err(ConfigError::Invalid {
                    name,
                    why: "must be at least 1 (milliseconds)".into(),
                });
            }
            Ok(Duration::from_millis(v))
        };
        let max_attempts = number_or(get, "AWS_MAX_ATTEMPTS", u64::from(d.max_attempts))?;
        if !(1..=10).contains(&max_attempts) {
            return Err(ConfigError::Invalid {
                name: "AWS_MAX_ATTEMPTS",
                why: format!("{max_attempts} must be 1 to 10"),
            });
        }
        let c = AwsCallConfig {
            max_attempts: max_attempts as u32,
            initial_backoff: ms("AWS_RETRY_BASE_MS", d.initial_backoff)?,
            max_backoff: ms("AWS_RETRY_MAX_BACKOFF_MS", d.max_backoff)?,
            attempt_timeout: ms("AWS_ATTEMPT_TIMEOUT_MS", d.attempt_timeout)?,
            call_timeout: ms("AWS_CALL_TIMEOUT_MS", d.call_timeout)?,
        };
        if c.max_backoff < c.initial_backoff {
            return Err(ConfigError::Invalid {
                name: "AWS_RETRY_MAX_BACKOFF_MS",
                why: "must be at least AWS_RETRY_BASE_MS".into(),
            });
        }
        if c.call_timeout < c.attempt_timeout {
            return Err(ConfigError::Invalid {
                name: "AWS_CALL_TIMEOUT_MS",
                why: "must be at least AWS_ATTEMPT_TIMEOUT_MS".into(),
            });
        }
        Ok(c)
    }
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
        assert_eq!(c.api_keys.issuer, "keygate");
        assert_eq!(c.api_keys.audience_for("server"), "platform-api:server");
        assert_eq!(c.api_keys.signing_keys_secret_id, "keygate/signing-keys");
    }

    #[test]
    fn the_usage_flush_interval_has_a_default_and_is_checked() {
        let d = DecisionConfig::from_lookup(&lookup(&[])).expect("defaults");
        assert_eq!(
            d.usage_flush,
            Duration::from_secs(DEFAULT_USAGE_FLUSH_SECONDS)
        );
        let one = DecisionConfig::from_lookup(&lookup(&[("USAGE_FLUSH_SECONDS", "1")]));
        assert_eq!(one.expect("1 s").usage_flush, Duration::from_secs(1));
        for bad in ["0", "301", "soon", "-1"] {
            match DecisionConfig::from_lookup(&lookup(&[("USAGE_FLUSH_SECONDS", bad)])) {
                Err(ConfigError::Invalid { name, .. }) => assert_eq!(name, "USAGE_FLUSH_SECONDS"),
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[test]
    fn project_creation_is_closed_unless_configured() {
        let c = Config::from_lookup(lookup(BASE)).expect("valid config");
        assert_eq!(c.project_creation, ProjectCreation::Nobody);
        assert_eq!(c.user_tokens.projects_claim, None);
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut pairs = BASE.to_vec();
            pairs.extend_from_slice(extra);
            Config::from_lookup(lookup(&pairs))
        };
        let c = with(&[("PROJECT_CREATION", "claim")]).expect("claim");
        assert_eq!(
            c.project_creation,
            ProjectCreation::Claim("keygate_projects".into())
        );
        assert_eq!(
            c.user_tokens.projects_claim.as_deref(),
            Some("keygate_projects")
        );
        let c = with(&[("PROJECT_CREATION", "Claim"), ("PROJECT_CLAIM", "owns")]).expect("claim");
        assert_eq!(c.project_creation, ProjectCreation::Claim("owns".into()));
        let c = with(&[("PROJECT_CREATION", "anyone")]).expect("anyone");
        assert_eq!(c.project_creation, ProjectCreation::Anyone);
        assert!(matches!(
            with(&[("PROJECT_CREATION", "everyone")]),
            Err(ConfigError::Invalid {
                name: "PROJECT_CREATION",
                ..
            })
        ));
        assert!(matches!(
            with(&[("PROJECT_CLAIM", "owns")]),
            Err(ConfigError::Invalid {
                name: "PROJECT_CLAIM",
                ..
            })
        ));
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
    fn jwks_from_the_table_by_default_and_the_old_secret_setting_refused() {
        let pairs: Vec<_> = BASE
            .iter()
            .copied()
            .filter(|(k, _)| *k != "USER_JWKS")
            .collect();
        let c = Config::from_lookup(lookup(&pairs)).expect("valid config");
        assert_eq!(c.user_tokens.jwks, JwksSource::Table);

        let mut old = pairs.clone();
        old.push(("USER_JWKS_SECRET_ID", "keygate/issuer-jwks"));
        let err = Config::from_lookup(lookup(&old)).expect_err("refused");
        assert!(
            matches!(&err, ConfigError::Invalid { name: "USER_JWKS_SECRET_ID", why } if why.contains("user-jwks publish")),
            "{err}"
        );
    }

    #[test]
    fn imports_settings_have_defaults_and_are_checked() {
        let c = Config::from_lookup(lookup(BASE)).expect("valid config");
        assert_eq!(
            c.imports,
            ImportsConfig {
                namespace: "keygate-imports".into(),
                recovery_days: 7,
                stack: "keygate".into(),
            }
        );
        for (name, value) in [
            ("SECRETS_NAMESPACE", "/leading"),
            ("SECRETS_NAMESPACE", "trailing/"),
            ("SECRETS_NAMESPACE", "sp ace"),
            ("SECRETS_RECOVERY_DAYS", "3"),
            ("SECRETS_RECOVERY_DAYS", "31"),
        ] {
            let mut pairs = BASE.to_vec();
            pairs.push((name, value));
            match Config::from_lookup(lookup(&pairs)) {
                Err(ConfigError::Invalid { name: n, .. }) => assert_eq!(n, name, "{value}"),
                other => panic!("{name}={value:?}: expected invalid, got {other:?}"),
            }
        }
        let mut pairs = BASE.to_vec();
        pairs.extend([
            ("SECRETS_NAMESPACE", "org/keys"),
            ("SECRETS_RECOVERY_DAYS", "0"),
        ]);
        let c = Config::from_lookup(lookup(&pairs)).expect("valid config");
        assert_eq!(
            (c.imports.namespace.as_str(), c.imports.recovery_days),
            ("org/keys", 0)
        );
        let sync = SyncConfig::from_lookup(lookup(&[("TABLE_NAME", "t")])).expect("valid");
        assert_eq!(sync.imports.namespace, "keygate-imports");
        assert_eq!(
            SyncConfig::from_lookup(lookup(&[])),
            Err(ConfigError::Missing("TABLE_NAME"))
        );
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

/// The notifier's configuration. It is not a console function (no user tokens, no request bodies),
/// so it reads only what it uses rather than `Config`'s required variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifierConfig {
    /// The single DynamoDB table (`TABLE_NAME`): projects are read from it, markers written to it.
    pub table_name: String,
    /// The sender of every mail (`MAIL_FROM`, default `keygate@example.com`); SES must have
    /// this address or its domain verified.
    pub mail_from: crate::model::ids::Email,
    /// Base URL of the web console that mails link to (`CONSOLE_URL`, default
    /// `http://127.0.0.1:9000/console`), without a trailing slash.
    pub console_url: String,
    /// The EventBridge bus the lifecycle events go to (`EVENT_BUS_NAME`, default `default`).
    pub event_bus: String,
    /// The language of mail to users with no setting and no recorded token claim
    /// (`DEFAULT_LOCALE`, default `ru`).
    pub default_locale: Locale,
}

impl NotifierConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(env)
    }

    /// Builds the config from any name -> value lookup (the environment, or a map in tests).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let value = |name: &str| {
            get(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let table_name = value("TABLE_NAME").ok_or(ConfigError::Missing("TABLE_NAME"))?;
        let mail_from = value("MAIL_FROM").unwrap_or_else(|| "keygate@example.com".into());
        let mail_from = crate::model::ids::Email::parse("MAIL_FROM", &mail_from).map_err(|e| {
            ConfigError::Invalid {
                name: "MAIL_FROM",
                why: e.message,
            }
        })?;
        let event_bus = value("EVENT_BUS_NAME").unwrap_or_else(|| "default".into());
        let console_url = value("CONSOLE_URL")
            .unwrap_or_else(|| "http://127.0.0.1:9000/console".into())
            .trim_end_matches('/')
            .to_string();
        // Mail clients only make absolute http(s) URLs clickable; anything else is a typo.
        let host = console_url
            .strip_prefix("https://")
            .or_else(|| console_url.strip_prefix("http://"));
        if host.is_none_or(|h| h.is_empty() || h.starts_with('/')) {
            return Err(ConfigError::Invalid {
                name: "CONSOLE_URL",
                why: format!("{console_url:?} is not an absolute http(s) URL"),
            });
        }
        Ok(NotifierConfig {
            table_name,
            mail_from,
            console_url,
            event_bus,
            default_locale: default_locale(&get)?,
        })
    }
}

/// The `scheduler` function: the notifier's settings (table, sender, console links) plus the
/// expiry reminders' thresholds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchedulerConfig {
    pub mail: NotifierConfig,
    /// Days before expiry at which the holder is reminded (`REMINDER_DAYS`, default `7,1`),
    /// largest first, each 1..=90.
    pub reminder_days: Vec<u32>,
}

impl SchedulerConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(env)
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let raw = text_or(&get, "REMINDER_DAYS", "7,1");
        let mut days = Vec::new();
        for part in raw.split(',').map(str::trim) {
            match part.parse::<u32>() {
                Ok(d) if (1..=90).contains(&d) => days.push(d),
                _ => {
                    return Err(ConfigError::Invalid {
                        name: "REMINDER_DAYS",
                        why: format!(
                            "{part:?} is not a whole number of days from 1 to 90 (list them like 7,1)"
                        ),
                    });
                }
            }
        }
        days.sort_unstable_by(|a, b| b.cmp(a));
        days.dedup();
        Ok(SchedulerConfig {
            mail: NotifierConfig::from_lookup(get)?,
            reminder_days: days,
        })
    }
}

#[cfg(test)]
mod scheduler_config_tests {
    use super::*;

    fn days(v: Option<&str>) -> Result<Vec<u32>, ConfigError> {
        SchedulerConfig::from_lookup(|name| match name {
            "TABLE_NAME" => Some("t".into()),
            "REMINDER_DAYS" => v.map(str::to_string),
            _ => None,
        })
        .map(|c| c.reminder_days)
    }

    #[test]
    fn reminder_days_default_to_a_week_and_a_day_and_are_sorted() {
        assert_eq!(days(None).ok(), Some(vec![7, 1]));
        assert_eq!(days(Some("1, 14,7,7")).ok(), Some(vec![14, 7, 1]));
        for bad in ["0", "91", "7,x", "", "7,,1"] {
            if bad.is_empty() {
                continue; // empty means the default
            }
            assert!(
                matches!(
                    days(Some(bad)),
                    Err(ConfigError::Invalid {
                        name: "REMINDER_DAYS",
                        ..
                    })
                ),
                "{bad}"
            );
        }
    }
}

#[cfg(test)]
mod notifier_config_tests {
    use super::*;
    use std::collections::HashMap;

    fn from(pairs: &[(&str, &str)]) -> Result<NotifierConfig, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        NotifierConfig::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn notifier_needs_only_the_table_and_has_defaults() {
        let c = from(&[("TABLE_NAME", "keygate")]).expect("valid config");
        assert_eq!(
            c,
            NotifierConfig {
                table_name: "keygate".into(),
                mail_from: crate::model::ids::Email::parse("f", "keygate@example.com")
                    .expect("an address"),
                console_url: "http://127.0.0.1:9000/console".into(),
                event_bus: "default".into(),
                default_locale: Locale::Ru,
            }
        );
        assert_eq!(
            from(&[("TABLE_NAME", "t"), ("DEFAULT_LOCALE", " en ")])
                .expect("valid")
                .default_locale,
            Locale::En
        );
    }

    #[test]
    fn notifier_reads_sender_and_console_and_drops_the_trailing_slash() {
        let c = from(&[
            ("TABLE_NAME", "t"),
            ("MAIL_FROM", " noreply@keys.example.org "),
            ("CONSOLE_URL", "https://console.example.org/keys/"),
            ("EVENT_BUS_NAME", " keygate-prod "),
        ])
        .expect("valid config");
        assert_eq!(c.event_bus, "keygate-prod");
        assert_eq!(c.mail_from.as_str(), "noreply@keys.example.org");
        assert_eq!(c.console_url, "https://console.example.org/keys");
    }

    #[test]
    fn notifier_names_what_is_missing_or_wrong() {
        assert_eq!(from(&[]), Err(ConfigError::Missing("TABLE_NAME")));
        assert_eq!(
            from(&[("TABLE_NAME", "  ")]),
            Err(ConfigError::Missing("TABLE_NAME"))
        );
        for (name, value) in [
            ("MAIL_FROM", "not an address"),
            ("CONSOLE_URL", "console.example.org"),
            ("CONSOLE_URL", "http://"),
            ("CONSOLE_URL", "ftp://console.example.org"),
            ("DEFAULT_LOCALE", "de"),
            ("DEFAULT_LOCALE", "RU"),
            ("DEFAULT_LOCALE", "ru-RU"),
        ] {
            match from(&[("TABLE_NAME", "t"), (name, value)]) {
                Err(ConfigError::Invalid { name: n, .. }) => assert_eq!(n, name, "{value}"),
                other => panic!("{name}={value:?}: expected invalid, got {other:?}"),
            }
        }
    }
}

#[cfg(test)]
mod aws_call_tests {
    use super::*;
    use std::collections::HashMap;

    fn calls(pairs: &[(&str, &str)]) -> Result<AwsCallConfig, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        AwsCallConfig::from_lookup(&|k| map.get(k).cloned())
    }

    #[test]
    fn aws_calls_have_defaults_and_are_checked() {
        let d = calls(&[]).expect("defaults");
        assert_eq!(d, AwsCallConfig::default());
        assert_eq!(d.retry().max_attempts(), 3);
        assert_eq!(d.retry().initial_backoff(), Duration::from_millis(100));
        assert_eq!(d.timeouts().operation_timeout(), Some(d.call_timeout));
        assert_eq!(
            d.timeouts().operation_attempt_timeout(),
            Some(d.attempt_timeout)
        );
        let c =
            calls(&[("AWS_CALL_TIMEOUT_MS", "8000"), ("AWS_MAX_ATTEMPTS", "5")]).expect("valid");
        assert_eq!(
            (c.call_timeout, c.max_attempts),
            (Duration::from_secs(8), 5)
        );
        for (name, value) in [
            ("AWS_MAX_ATTEMPTS", "0"),
            ("AWS_MAX_ATTEMPTS", "11"),
            ("AWS_CALL_TIMEOUT_MS", "0"),
            ("AWS_CALL_TIMEOUT_MS", "1000"), // below the 2000 ms attempt timeout
            ("AWS_ATTEMPT_TIMEOUT_MS", "soon"),
            ("AWS_RETRY_MAX_BACKOFF_MS", "50"), // below the 100 ms base
        ] {
            match calls(&[(name, value)]) {
                Err(ConfigError::Invalid { name: n, .. }) => assert_eq!(n, name, "{value}"),
                other => panic!("{name}={value:?}: expected invalid, got {other:?}"),
            }
        }
    }

    /// A resource of the template as far as this check needs it.
    #[derive(Debug, Default)]
    struct Resource {
        name: String,
        is_function: bool,
        timeout: Option<u64>,
        env: HashMap<String, String>,
    }

    /// Each `AWS::Serverless::Function` of infra/template.yaml: its name, its `Timeout` in
    /// seconds (its own, else the `Globals` one) and its environment (the globals' and its own).
    /// A small reader of the template's block style, enough for these keys.
    fn functions(template: &str) -> Vec<Resource> {
        let mut path: Vec<(usize, String)> = Vec::new();
        let mut block_above: Option<usize> = None;
        let mut global_timeout = None;
        let mut global_env = HashMap::new();
        let mut own: Vec<Resource> = Vec::new();
        for line in template.lines() {
            let indent = line.len() - line.trim_start().len();
            let text = line.trim();
            if let Some(i) = block_above {
                if text.is_empty() || indent > i {
                    continue; // the text of a `>-` / `|` block
                }
                block_above = None;
            }
            if text.is_empty() || text.starts_with('#') || text.starts_with('-') {
                continue;
            }
            let Some((key, value)) = text.split_once(':') else {
                continue;
            };
            if key.contains(' ') {
                continue;
            }
            let value = value.split(" #").next().unwrap_or("").trim();
            while path.last().is_some_and(|(i, _)| *i >= indent) {
                path.pop();
            }
            path.push((indent, key.to_string()));
            if value.starts_with('>') || value.starts_with('|') {
                block_above = Some(indent);
            }
            let keys: Vec<&str> = path.iter().map(|(_, k)| k.as_str()).collect();
            match keys.as_slice() {
                ["Globals", "Function", "Timeout"] => global_timeout = value.parse().ok(),
                ["Globals", "Function", "Environment", "Variables", name] => {
                    global_env.insert(name.to_string(), value.to_string());
                }
                ["Resources", name] => own.push(Resource {
                    name: name.to_string(),
                    ..Resource::default()
                }),
                ["Resources", _, "Type"] => {
                    if let Some(last) = own.last_mut() {
                        last.is_function = value == "AWS::Serverless::Function";
                    }
                }
                ["Resources", _, "Properties", "Timeout"] => {
                    if let Some(last) = own.last_mut() {
                        last.timeout = Some(value.parse().expect("a function Timeout is a number"));
                    }
                }
                [
                    "Resources",
                    _,
                    "Properties",
                    "Environment",
                    "Variables",
                    name,
                ] => {
                    if let Some(last) = own.last_mut() {
                        last.env.insert(name.to_string(), value.to_string());
                    }
                }
                _ => {}
            }
        }
        own.into_iter()
            .filter(|r| r.is_function)
            .map(|r| {
                let timeout = r.timeout.or(global_timeout);
                let timeout = timeout
                    .unwrap_or_else(|| panic!("{}: no Timeout of its own nor in Globals", r.name));
                let mut env = global_env.clone();
                env.extend(r.env);
                Resource {
                    timeout: Some(timeout),
                    env,
                    ..r
                }
            })
            .collect()
    }

    /// Every AWS call's deadline (retries and backoffs included) ends at least a second before
    /// its function's timeout, so a hung dependency is a 503 problem, not a Lambda timeout.
    #[test]
    fn every_function_outlives_its_aws_call_deadline() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/template.yaml");
        let template = std::fs::read_to_string(path).expect("infra/template.yaml");
        let found = functions(&template);
        assert_eq!(
            found.len(),
            template.matches("Type: AWS::Serverless::Function").count(),
            "every function of the template was read: {:?}",
            found.iter().map(|f| &f.name).collect::<Vec<_>>()
        );
        assert!(found.len() >= 10, "{found:?}");
        for Resource {
            name, timeout, env, ..
        } in &found
        {
            for (var, value) in env.iter().filter(|(k, _)| k.starts_with("AWS_")) {
                assert!(
                    value.parse::<u64>().is_ok(),
                    "{name}: {var} must be a literal number for this check, is {value}"
                );
            }
            let calls = AwsCallConfig::from_lookup(&|k| env.get(k).cloned())
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let function = Duration::from_secs(timeout.unwrap_or_default());
            assert!(
                calls.call_timeout + Duration::from_secs(1) <= function,
                "{name}: Timeout {function:?} must exceed the AWS call deadline {:?} by a second",
                calls.call_timeout
            );
        }
    }
}

/// How the functions log (`crate::adapters::logging`), read before any other variable.
#[derive(Debug, Clone, PartialEq)]
pub struct LogConfig {
    /// JSON lines when `AWS_LAMBDA_LOG_FORMAT` is `JSON` (Lambda sets it for the template's
    /// `LogFormat: JSON`; the workspace's `cargo lambda` metadata too); else plain text.
    pub json: bool,
    /// The requested level, per target: `AWS_LAMBDA_LOG_LEVEL` when set (a level, which Lambda
    /// sets from the template's `LogLevel`; `FATAL` reads as `error`), else `RUST_LOG` (a level, or
    /// `target=level` directives, without span or field filters; a target no directive names
    /// logs at `info`), else `info`. `crate::adapters::logging` lets only keygate's own code log below
    /// `info`, whatever is asked here.
    pub requested: tracing_subscriber::filter::Targets,
}

impl LogConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(env)
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        use tracing_subscriber::filter::{LevelFilter, Targets};
        let set = |name: &str| {
            get(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let json = set("AWS_LAMBDA_LOG_FORMAT").is_some_and(|v| v.eq_ignore_ascii_case("json"));
        let requested = if let Some(level) = set("AWS_LAMBDA_LOG_LEVEL") {
            // Lambda's levels: TRACE, DEBUG, INFO, WARN, ERROR and FATAL (tracing has no fatal).
            let name = if level.eq_ignore_ascii_case("fatal") {
                "error"
            } else {
                &level
            };
            let level = name
                .parse::<LevelFilter>()
                .map_err(|_| ConfigError::Invalid {
                    name: "AWS_LAMBDA_LOG_LEVEL",
                    why: format!("{level:?} is not TRACE, DEBUG, INFO, WARN, ERROR or FATAL"),
                })?;
            Targets::new().with_default(level)
        } else if let Some(directives) = set("RUST_LOG") {
            log_directives(&directives)?
        } else {
            Targets::new().with_default(LevelFilter::INFO)
        };
        Ok(LogConfig { json, requested })
    }
}

/// `RUST_LOG`'s `level` and `target=level` directives, comma-separated.
fn log_directives(text: &str) -> Result<tracing_subscriber::filter::Targets, ConfigError> {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    let invalid = |why: String| ConfigError::Invalid {
        name: "RUST_LOG",
        why,
    };
    let directives: Vec<&str> = text
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .collect();
    if let Some(d) = directives.iter().find(|d| d.contains(['[', ']', '{', '}'])) {
        return Err(invalid(format!(
            "{d:?}: span and field filters are not supported, only `level` and `target=level`"
        )));
    }
    let targets: Targets = directives
        .join(",")
        .parse()
        .map_err(|e| invalid(format!("{text:?}: {e}")))?;
    Ok(match targets.default_level() {
        Some(_) => targets,
        None => targets.with_default(LevelFilter::INFO),
    })
}

#[cfg(test)]
mod log_config_tests {
    use super::*;
    use tracing::Level;

    fn read(pairs: &[(&str, &str)]) -> Result<LogConfig, ConfigError> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        LogConfig::from_lookup(move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn the_level_is_lambdas_else_rust_log_else_info() {
        let info = read(&[]).expect("defaults");
        assert!(!info.json);
        assert!(info.requested.would_enable("keygate", &Level::INFO));
        assert!(!info.requested.would_enable("keygate", &Level::DEBUG));

        // Lambda's variable wins over RUST_LOG (the template sets both from `LogLevel`).
        let c = read(&[
            ("AWS_LAMBDA_LOG_LEVEL", "TRACE"),
            ("RUST_LOG", "warn"),
            ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
        ])
        .expect("lambda");
        assert!(c.json);
        assert!(c.requested.would_enable("keygate", &Level::TRACE));
        // As the functions' start-up line names it (tests/tests/observability.rs reads it).
        assert_eq!(c.requested.to_string(), "trace");
        let fatal = read(&[("AWS_LAMBDA_LOG_LEVEL", "FATAL")]).expect("fatal");
        assert!(fatal.requested.would_enable("keygate", &Level::ERROR));
        assert!(!fatal.requested.would_enable("keygate", &Level::WARN));

        let c = read(&[("RUST_LOG", "debug"), ("AWS_LAMBDA_LOG_LEVEL", " ")]).expect("rust_log");
        assert!(c.requested.would_enable("keygate", &Level::DEBUG));
        assert!(!c.requested.would_enable("keygate", &Level::TRACE));
    }

    #[test]
    fn rust_log_takes_target_directives_and_the_rest_stays_at_info() {
        let c = read(&[("RUST_LOG", "keygate::store=trace,")]).expect("directives");
        assert!(c.requested.would_enable("keygate::store", &Level::TRACE));
        assert!(c.requested.would_enable("lambda_runtime", &Level::INFO));
        assert!(!c.requested.would_enable("lambda_runtime", &Level::DEBUG));
        let c = read(&[("RUST_LOG", "warn,keygate=debug")]).expect("directives");
        assert!(!c.requested.would_enable("lambda_runtime", &Level::INFO));
        assert!(c.requested.would_enable("keygate::app", &Level::DEBUG));
    }

    #[test]
    fn a_bad_level_is_refused_with_the_variables_name() {
        for (name, value) in [
            ("AWS_LAMBDA_LOG_LEVEL", "verbose"),
            ("RUST_LOG", "keygate=loud"),
            ("RUST_LOG", "info,[request]=trace"),
            ("RUST_LOG", "keygate[{caller}]=debug"),
        ] {
            match read(&[(name, value)]) {
                Err(ConfigError::Invalid { name: n, .. }) => assert_eq!(n, name, "{value}"),
                other => panic!("{name}={value}: {other:?}"),
            }
        }
    }
}

/// Whether EMF metric lines are written: inside Lambda (`AWS_LAMBDA_FUNCTION_NAME` set) unless
/// `KEYGATE_METRICS=off`; never in tests or tools.
pub fn metrics_enabled() -> bool {
    std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some()
        && std::env::var("KEYGATE_METRICS").map_or(true, |v| v != "off")
}
