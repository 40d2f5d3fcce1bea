//! `coldstart-hello-mt`: `coldstart-hello` on tokio's multi-thread runtime, as `cargo lambda new`
//! generates it: the second baseline line, showing what the multi-thread runtime costs at init
//! (every keygate function runs the current-thread one, so ratios are to `coldstart-hello`).

use lambda_runtime::{Error, LambdaEvent, service_fn, tracing};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    lambda_runtime::run(service_fn(hello)).await
}

/// Ignores the event, as the baseline does.
async fn hello(_event: LambdaEvent<Value>) -> Result<Value, Error> {
    Ok(json!({ "message": "hello" }))
}
