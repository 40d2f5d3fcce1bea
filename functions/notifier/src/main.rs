//! The `notifier` function: DynamoDB stream batches of the table -> SES mails (request made ->
//! owner; approved, rejected, cancelled by someone else -> requester; key revoked -> holder).
//! The rules live in `keygate::notify`; this is the runtime's entry point and nothing more.

use keygate::notify::{BatchResponse, Notifier, StreamEvent};
use lambda_runtime::{Error, LambdaEvent, service_fn, tracing};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    // Built once per container; leaked so the handler borrows it for the process's lifetime.
    let notifier: &'static Notifier = Box::leak(Box::new(Notifier::from_env().await?));
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<StreamEvent>| async move {
            // Failures are per record, in the response: the invocation itself succeeds, so Lambda
            // retries only the records the response names.
            Ok::<BatchResponse, Error>(notifier.handle(event.payload).await)
        },
    ))
    .await
}
