//! The `verify` function: the decision on a platform call for services that ask
//! (`POST /v1/verify`), introspection of the API key a script presents (`GET /v1/token`), and the
//! signing keys' public half (`GET /.well-known/jwks.json`). API.md "Using a key". Every decision
//! on a token keygate signed is counted in the key's usage, in batches off the request path.

use keygate::http::json;
use keygate::token::Verifier;
use keygate::usecases::decision::{Decider, Target, VerifyInput};
use keygate::{App, Error, Result};
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response};

keygate::routes! {
    enum Route {
        Verify = "POST /v1/verify",
        Token = "GET /v1/token",
        Jwks = "GET /.well-known/jwks.json",
    }
}

/// How long clients may cache the public keys (a rotation adds a key well before it signs).
const JWKS_MAX_AGE: &str = "public, max-age=300";

struct State {
    app: App,
    decider: Decider,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    keygate::adapters::logging::init()?;
    let app = App::from_env().await?;
    // The decider reads the published public keys through the app's store: this function
    // never reads the private signing keys (no Secrets Manager client, no grant).
    let verifier = Verifier::new(app.store.clone(), app.config.api_keys.signing_keys_ttl);
    let decider = Decider::new(app.store.clone(), verifier, &app.config.decision);
    // Counts are written in batches by a task of their own, and flushed when the container stops.
    keygate::usecases::counting::run_in_background(decider.usage()).await;
    keygate::app::run(State { app, decider }, handle).await
}

/// The decision as the answer: 200 with it, or 429 (a problem with `Retry-After`) when the key
/// is over its template's calls per minute.
fn answer(decision: keygate::usecases::decision::Decision) -> Result<Response<Body>> {
    match decision.retry_after {
        Some(retry_after) => Err(Error::RateLimited {
            what: format!(
                "key {} is over its template's calls per minute",
                decision.key_id.as_ref().map(|k| k.as_str()).unwrap_or("?")
            ),
            retry_after,
        }),
        None => Ok(json(StatusCode::OK, &decision)),
    }
}

async fn handle(state: &'static State, req: Request) -> Result<Response<Body>> {
    let (route, _) = Route::find(req.method(), req.uri().path())?;
    match route {
        Route::Verify => {
            let input: VerifyInput = state.app.body(&req)?;
            let target = input.check()?;
            let decision = state.decider.decide(input.token.trim(), target).await?;
            answer(decision)
        }
        Route::Token => {
            let decision = state
                .decider
                .decide(
                    keygate::identity::bearer(req.headers())?,
                    Target::Introspection,
                )
                .await?;
            answer(decision)
        }
        Route::Jwks => {
            let mut res = json(StatusCode::OK, &state.decider.jwks().await?);
            res.headers_mut().insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static(JWKS_MAX_AGE),
            );
            Ok(res)
        }
    }
}
