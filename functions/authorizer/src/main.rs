//! The `authorizer` function: an API Gateway HTTP API Lambda REQUEST authorizer (payload 2.0,
//! simple responses) in front of the platform API. The decision is `POST /v1/verify`'s, made and
//! counted (in batches, off the request path) by `keygate::usecases::decision`; the context carries the
//! key id, holder, project and role (or the reason of a refusal) to the platform's integration.

use aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request as AuthorizerRequest;
use keygate::adapters::aws::try_aws_config;
use keygate::config::AuthorizerConfig;
use keygate::store::Store;
use keygate::token::Verifier;
use keygate::usecases::decision::{Decider, Decision, Target};
use lambda_runtime::{Error, LambdaEvent, service_fn, tracing};
use serde::Serialize;

/// The simple response format (`enableSimpleResponses`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SimpleResponse {
    is_authorized: bool,
    context: serde_json::Value,
}

fn context(d: &Decision) -> serde_json::Value {
    let text = |v: Option<String>| v.unwrap_or_default();
    serde_json::json!({
        "key_id": text(d.key_id.as_ref().map(|k| k.to_string())),
        "holder": text(d.holder.as_ref().map(|h| h.to_string())),
        "project_id": text(d.project_id.as_ref().map(|p| p.to_string())),
        "role": text(d.role.as_ref().map(|r| r.to_string())),
        "reason": text(d.reason.clone()),
    })
}

/// The bearer token: the identity source (the `Authorization` header) without its scheme.
fn token(event: &AuthorizerRequest) -> Option<String> {
    let raw = event
        .identity_source
        .as_ref()
        .and_then(|s| s.first().cloned())
        .or_else(|| {
            event
                .headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        })?;
    keygate::bearer::parse(&raw).ok().map(str::to_string)
}

async fn authorize(decider: &Decider, event: AuthorizerRequest) -> Result<SimpleResponse, Error> {
    let method = event.request_context.http.method.to_string();
    let path = event
        .raw_path
        .clone()
        .or_else(|| event.request_context.http.path.clone())
        .unwrap_or_default();
    let Some(token) = token(&event) else {
        return Ok(SimpleResponse {
            is_authorized: false,
            context: serde_json::json!({"reason": "invalid_token"}),
        });
    };
    // A failure to decide (the table unreachable) is an error: API Gateway answers 500 rather
    // than letting a call through or caching a refusal.
    let decision = decider
        .decide(
            &token,
            Target::Call {
                method: &method,
                path: &path,
            },
        )
        .await?;
    tracing::info!(allowed = decision.allowed, reason = ?decision.reason, key = ?decision.key_id, route = ?decision.route, "decided");
    Ok(SimpleResponse {
        is_authorized: decision.allowed,
        context: context(&decision),
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    keygate::adapters::logging::init()?;
    let config = AuthorizerConfig::from_env()?;
    let sdk = try_aws_config().await?;
    let store = Store::new(&sdk, config.table_name);
    // The published public keys: the authorizer never reads the private signing keys.
    let verifier = Verifier::new(store.clone(), config.api_keys.signing_keys_ttl);
    let decider: &'static Decider =
        Box::leak(Box::new(Decider::new(store, verifier, &config.decision)));
    // Counts are written in batches by a task of their own, and flushed when the container stops.
    keygate::usecases::counting::run_in_background(decider.usage()).await;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<AuthorizerRequest>| async move {
            authorize(decider, event.payload).await
        },
    ))
    .await
}
