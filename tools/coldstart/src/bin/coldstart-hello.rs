//! `coldstart-hello`: the cold-start benchmark's baseline, the smallest `lambda_runtime` function
//! (what `cargo lambda new` generates: the default tracing subscriber and a handler that answers
//! a constant), on the runtime every keygate function uses: tokio's current-thread runtime (like
//! for like; `coldstart-hello-mt` is the same on the multi-thread runtime `cargo lambda new`
//! generates). It is built in the same release run as the functions, so the difference between a
//! function and this one is what the function itself adds at init and per invocation.

use lambda_runtime::{Error, LambdaEvent, service_fn, tracing};
use serde_json::{Value, json};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    lambda_runtime::run(service_fn(hello)).await
}

/// Ignores the event: decoding it into `Value` is all the work the baseline should do.
async fn hello(_event: LambdaEvent<Value>) -> Result<Value, Error> {
    Ok(json!({ "message": "hello" }))
}
