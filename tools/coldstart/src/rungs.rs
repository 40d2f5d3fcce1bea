// The rungs between the cold-start baseline and a function: `coldstart-hello` (current-thread,
// the default subscriber) plus one more of what a keygate function does at init, each rung
// built from this file (each `src/bin/coldstart-hello-<rung>.rs` includes it; `CARGO_BIN_NAME`
// picks what it adds):
//
// - `coldstart-hello-log`: keygate's log subscriber (`adapters::logging::init`) instead of the
//   default one;
// - `coldstart-hello-sdk`: that, and the AWS configuration every function builds
//   (`adapters::aws::try_aws_config`: the environment, the roots of trust, the HTTPS client);
// - `coldstart-hello-dynamodb`: that, and the store (`Store::new`: the DynamoDB client), which is
//   what a one-client function builds before it asks for its first event;
// - `coldstart-hello-shutdown`: the baseline and lambda_runtime's graceful-shutdown hook (the
//   no-op extension verify and the authorizer register so that their counts are flushed).
//
// Each answers the baseline's event as the baseline does, so the step from one rung to the next
// in one run is what that part of init costs.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

const RUNG: &str = env!("CARGO_BIN_NAME");

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let (log, sdk, store, shutdown) = match RUNG {
        "coldstart-hello-log" => (true, false, false, false),
        "coldstart-hello-sdk" => (true, true, false, false),
        "coldstart-hello-dynamodb" => (true, true, true, false),
        "coldstart-hello-shutdown" => (false, false, false, true),
        other => return Err(format!("{other}: not a rung of the ladder").into()),
    };
    if log {
        keygate::adapters::logging::init()?;
    } else {
        lambda_runtime::tracing::init_default_subscriber();
    }
    let config = if sdk {
        Some(keygate::adapters::aws::try_aws_config().await?)
    } else {
        None
    };
    let table = match (&config, store) {
        (Some(sdk), true) => Some(keygate::store::Store::new(
            sdk,
            keygate::config::env("TABLE_NAME").unwrap_or_default(),
        )),
        _ => None,
    };
    if shutdown {
        lambda_runtime::spawn_graceful_shutdown_handler(|| async {}).await;
    }
    // What was built lives as long as the container, as a function's state does.
    let _state = std::hint::black_box((config, table));
    lambda_runtime::run(service_fn(hello)).await
}

/// The baseline's answer.
async fn hello(_event: LambdaEvent<Value>) -> Result<Value, Error> {
    Ok(json!({ "message": "hello" }))
}
