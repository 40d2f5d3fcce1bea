//! `dev-signin`: the local stack's sign-in route for the console's dev user switcher.
//! `GET /dev/token` says the route exists; `POST /dev/token {user, email?}` mints a dev
//! console-user token with the dev issuer's key (the one `keygate-dev token` uses).
//! Only `cargo lambda watch` routes to it (Cargo.toml's router); the SAM template has no such
//! function or route, so a deployed build has no way to mint a token; and it refuses to start
//! unless every AWS endpoint is loopback (`keygate_dev::loopback`), as on the local stack only.

use keygate::http::{json, json_body};
use keygate::model::ids::{Email, UserId};
use keygate::{Error, Result};
use keygate_dev::{DevIssuer, state_dir};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;

keygate::routes! {
    enum Route {
        Form = "GET /dev/token",
        SignIn = "POST /dev/token",
    }
}
/// Dev tokens last a working day, like `make token`'s.
const TTL_SECONDS: u64 = 12 * 3600;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignIn {
    user: String,
    email: Option<String>,
}

#[tokio::main]
async fn main() -> std::result::Result<(), lambda_http::Error> {
    keygate::adapters::logging::init()?;
    // Started anywhere but the local stack (deployed by hand, run with a deployment's
    // environment), it would hand console tokens to whoever asks: refuse at init, as the dev-only
    // commands of `keygate-dev` do, unless every AWS endpoint is loopback (on Lambda there is none).
    if let Err(e) = keygate_dev::loopback::require(
        "dev-signin",
        "it mints console-user tokens with the dev issuer's key for whoever asks",
    ) {
        eprintln!("dev-signin: {e}");
        return Err("dev-signin: refused to start outside the local stack".into());
    }
    // No dev issuer key, no dev sign-in: refuse to start rather than mint with anything else.
    let issuer = DevIssuer::load(&state_dir()).map_err(|e| e.to_string())?;
    keygate::app::run(issuer, handle).await
}

async fn handle(issuer: &'static DevIssuer, req: Request) -> Result<Response<Body>> {
    let (route, _) = Route::find(req.method(), req.uri().path())?;
    match route {
        Route::Form => Ok(json(StatusCode::OK, &serde_json::json!({"dev": true}))),
        Route::SignIn => {
            let input: SignIn = json_body(&req, 4096)?;
            let user = input.user.trim().to_string();
            let email = input
                .email
                .map(|e| e.trim().to_string())
                .filter(|e| !e.is_empty())
                .unwrap_or_else(|| format!("{user}@example.com"));
            let mut errors = Vec::new();
            if let Err(e) = UserId::parse("user", &user) {
                errors.push(e);
            }
            if let Err(e) = Email::parse("email", &email) {
                errors.push(e);
            }
            if !errors.is_empty() {
                return Err(Error::Invalid(errors));
            }
            let token = issuer
                .user_token(&user, &email, TTL_SECONDS)
                .map_err(|e| Error::Internal(format!("dev token: {e}")))?;
            Ok(json(
                StatusCode::OK,
                &serde_json::json!({"token": token, "user": user, "email": email}),
            ))
        }
    }
}
