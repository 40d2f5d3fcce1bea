//! A function's state, built once per container: config, the AWS clients (one SdkConfig), the
//! store and the authenticator, and in the functions that sign keys or write imported secrets
//! their Secrets Manager parts. Handlers borrow it.

use lambda_http::Request;

use crate::adapters::aws::try_aws_config;
use crate::adapters::secrets::Vault;
use crate::config::Config;
use crate::error::Result;
use crate::identity::{Authenticator, Caller};
use crate::store::Store;
use crate::token::Signer;

pub struct App {
    pub config: Config,
    pub store: Store,
    pub auth: Authenticator,
    /// Only in the functions that sign API keys or write imported secrets.
    secrets: Option<Secrets>,
}

/// What reads the private signing keys and writes imported secrets (Secrets Manager): built only
/// by the functions that need it (approvals, imports), so the others neither build a Secrets
/// Manager client at start-up nor get a grant to the secrets.
pub struct Secrets {
    /// API-key signing keys, read on first use.
    pub signer: Signer,
    /// Imported secrets; no call is made until an import route uses it.
    pub vault: Vault,
}

impl App {
    /// Reads the environment and builds everything once; fails fast on bad configuration.
    pub async fn from_env() -> std::result::Result<Self, lambda_http::Error> {
        Self::new(Config::from_env()?, &try_aws_config().await?)
    }

    /// [`App::from_env`] with [`Secrets`].
    pub async fn from_env_with_secrets() -> std::result::Result<Self, lambda_http::Error> {
        Self::with_secrets(Config::from_env()?, &try_aws_config().await?)
    }

    pub fn new(
        config: Config,
        sdk: &aws_config::SdkConfig,
    ) -> std::result::Result<Self, lambda_http::Error> {
        let store = Store::new(sdk, config.table_name.clone());
        let auth = Authenticator::new(config.user_tokens.clone(), store.clone())
            .map_err(|e| format!("USER_JWKS: {e}"))?;
        Ok(App {
            config,
            store,
            auth,
            secrets: None,
        })
    }

    pub fn with_secrets(
        config: Config,
        sdk: &aws_config::SdkConfig,
    ) -> std::result::Result<Self, lambda_http::Error> {
        let mut app = Self::new(config, sdk)?;
        // One Secrets Manager client for the signing keys and imported secrets.
        let client = aws_sdk_secretsmanager::Client::new(sdk);
        app.secrets = Some(Secrets {
            signer: Signer::with_client(
                client.clone(),
                app.store.clone(),
                app.config.api_keys.signing_keys_secret_id.clone(),
                app.config.api_keys.signing_keys_ttl,
            ),
            vault: Vault::with_client(client, &app.config.imports),
        });
        Ok(app)
    }

    /// The signer and the vault; an internal error in a function built without them.
    pub fn secrets(&self) -> Result<&Secrets> {
        self.secrets
            .as_ref()
            .ok_or_else(|| crate::Error::internal("this function is built without secrets"))
    }

    /// What an import needs.
    pub fn import_deps(&self) -> Result<crate::domain::import::Deps<'_>> {
        let secrets = self.secrets()?;
        Ok(crate::domain::import::Deps {
            store: &self.store,
            signer: &secrets.signer,
            vault: &secrets.vault,
        })
    }

    /// The verified console user of a request (401 otherwise); named in the request's log line.
    pub async fn caller(&self, req: &Request) -> Result<Caller> {
        let caller = self.auth.caller(req.headers()).await?;
        tracing::Span::current().record("caller", caller.id.as_str());
        Ok(caller)
    }

    /// Parses an optional JSON body: no body at all reads as `{}`.
    pub fn optional_body<T: serde::de::DeserializeOwned>(&self, req: &Request) -> Result<T> {
        let body: &[u8] = req.body().as_ref();
        if body.iter().all(u8::is_ascii_whitespace) {
            return serde_json::from_str("{}")
                .map_err(|e| crate::Error::internal(format!("empty body: {e}")));
        }
        self.body(req)
    }

    /// Parses the request's JSON body within the configured size limit.
    pub fn body<T: serde::de::DeserializeOwned>(&self, req: &Request) -> Result<T> {
        crate::http::json_body(req, self.config.max_body_bytes)
    }
}

/// A console function's whole `main`: logging, the state built once per container, then every
/// request through `handle`, whose errors become problem+json responses.
pub async fn serve<F, Fut>(handle: F) -> std::result::Result<(), lambda_http::Error>
where
    F: Fn(&'static App, Request) -> Fut,
    Fut: std::future::Future<Output = Result<lambda_http::Response<lambda_http::Body>>> + Send,
{
    start(App::from_env(), handle).await
}

/// [`serve`] for the functions that sign API keys or write imported secrets: the app has its
/// [`Secrets`].
pub async fn serve_with_secrets<F, Fut>(handle: F) -> std::result::Result<(), lambda_http::Error>
where
    F: Fn(&'static App, Request) -> Fut,
    Fut: std::future::Future<Output = Result<lambda_http::Response<lambda_http::Body>>> + Send,
{
    start(App::from_env_with_secrets(), handle).await
}

/// Logging first, then the app (its construction logs), then requests.
async fn start<F, Fut>(
    app: impl std::future::Future<Output = std::result::Result<App, lambda_http::Error>>,
    handle: F,
) -> std::result::Result<(), lambda_http::Error>
where
    F: Fn(&'static App, Request) -> Fut,
    Fut: std::future::Future<Output = Result<lambda_http::Response<lambda_http::Body>>> + Send,
{
    crate::adapters::logging::init()?;
    run(app.await?, handle).await
}

/// Serves requests with `state`, built once per container: each through `handle`, whose errors
/// become problem+json responses. (Logging must be set up before.)
pub async fn run<S, F, Fut>(state: S, handle: F) -> std::result::Result<(), lambda_http::Error>
where
    S: Sync + 'static,
    F: Fn(&'static S, Request) -> Fut,
    Fut: std::future::Future<Output = Result<lambda_http::Response<lambda_http::Body>>> + Send,
{
    // The state lives as long as the container's process; leaking it once gives handlers a
    // plain `&'static` reference to borrow.
    let state: &'static S = Box::leak(Box::new(state));
    lambda_http::run(lambda_http::service_fn(move |req: Request| {
        // One line per request (inside the runtime's span, which carries the request id):
        // method, path, the verified caller once known, status and time; never a header.
        let span = tracing::info_span!(
            "request",
            method = %req.method(),
            path = req.uri().path(),
            caller = tracing::field::Empty,
        );
        let started = std::time::Instant::now();
        let reply = handle(state, req);
        tracing::Instrument::instrument(
            async move {
                let res = crate::http::respond(reply.await);
                tracing::info!(
                    status = res.status().as_u16(),
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "request done"
                );
                Ok::<_, std::convert::Infallible>(res)
            },
            span,
        )
    }))
    .await
}
