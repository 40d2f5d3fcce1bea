//! The `lifecycle` function: DynamoDB stream batches of the table -> lifecycle events on the
//! EventBridge bus (`EVENT_BUS_NAME`): requests created/approved/rejected/cancelled, keys
//! revoked/rolled/expired, imports created/updated/deleted. The rules live in
//! `keygate::lifecycle`; this is the runtime's entry point and nothing more.

use keygate::lifecycle::Publisher;
use keygate::notify::{BatchResponse, StreamEvent};
use lambda_runtime::{Error, LambdaEvent, service_fn, tracing};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    // Built once per container; leaked so the handler borrows it for the process's lifetime.
    let publisher: &'static Publisher = Box::leak(Box::new(Publisher::from_env().await?));
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<StreamEvent>| async move {
            // Failures are per record, in the response: only they are delivered again.
            Ok::<BatchResponse, Error>(publisher.handle(event.payload).await)
        },
    ))
    .await
}
