//! The `imports-sync` function: DynamoDB stream batches of the table -> the imports of revoked
//! and rolled keys (token secret deleted, or rewritten with the new key's token). The rules live
//! in `keygate::usecases::sync`; this is the runtime's entry point and nothing more.

use keygate::adapters::stream::{BatchResponse, StreamEvent};
use keygate::usecases::sync::ImportSync;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    keygate::adapters::logging::init()?;
    // Built once per container; leaked so the handler borrows it for the process's lifetime.
    let sync: &'static ImportSync = Box::leak(Box::new(ImportSync::from_env().await?));
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<StreamEvent>| async move {
            // Failures are per record, in the response (partial batch response).
            Ok::<BatchResponse, Error>(sync.handle(event.payload).await)
        },
    ))
    .await
}
