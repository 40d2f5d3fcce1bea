//! A function's state, built once per container: config, the AWS clients (one SdkConfig), the
//! store and the authenticator. Handlers borrow it.

use lambda_http::Request;

use crate::config::{Config, try_aws_config};
use crate::error::Result;
use crate::identity::{Authenticator, Caller};
use crate::secrets::Vault;
use crate::store::Store;
use crate::token::Signer;

pub struct App {
    pub config: Config,
    pub store: Store,
    pub auth: Authenticator,
    /// API-key signing keys, read on first use.
    pub signer: Signer,
    /// Imported secrets (Secrets Manager); no call is made until an import route uses it.
    pub vault: Vault,
}

impl App {
    /// Reads the environment and builds everything once; fails fast on bad configuration.
    pub async fn from_env() -> std::result::Result<Self, lambda_http::Error> {
        let config = Config::from_env()?;
        let sdk = try_aws_config().await?;
        Self::new(config, &sdk)
    }

    pub fn new(
        config: Config,
        sdk: &aws_config::SdkConfig,
    ) -> std::result::Result<Self, lambda_http::Error> {
        let store = Store::new(sdk, config.table_name.clone());
        // One Secrets Manager client for the user JWKS, the signing keys and imported secrets.
        let secrets = aws_sdk_secretsmanager::Client::new(sdk);
        let auth = Authenticator::with_client(config.user_tokens.clone(), secrets.clone())
            .map_err(|e| format!("USER_JWKS: {e}"))?;
        let signer = Signer::with_client(
            secrets.clone(),
            config.api_keys.signing_keys_secret_id.clone(),
            config.api_keys.signing_keys_ttl,
        );
        let vault = Vault::with_client(secrets, &config.imports);
        Ok(App {
            config,
            store,
            auth,
            signer,
            vault,
        })
    }

    /// What an import needs.
    pub fn import_deps(&self) -> crate::domain::import::Deps<'_> {
        crate::domain::import::Deps {
            store: &self.store,
            signer: &self.signer,
            vault: &self.vault,
        }
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
    lambda_http::tracing::init_default_subscriber();
    let app = App::from_env().await?;
    run(app, handle).await
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
