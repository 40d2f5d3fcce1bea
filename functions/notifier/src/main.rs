//! The `notifier` function, one of the table stream's two readers: DynamoDB stream batches of the
//! table -> SES mails (request made -> owner; approved, rejected, cancelled by someone else ->
//! requester; key revoked -> holder) and lifecycle events on the EventBridge bus
//! (`EVENT_BUS_NAME`: requests created/approved/rejected/cancelled, keys revoked/rolled/expired,
//! imports created/updated/deleted). The rules live in `keygate::usecases::notify` and `keygate::usecases::lifecycle`;
//! this is the runtime's entry point and nothing more.

use keygate::adapters::stream::{BatchResponse, StreamEvent};
use keygate::usecases::notify::Announcer;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    keygate::adapters::logging::init()?;
    // Built once per container; leaked so the handler borrows it for the process's lifetime.
    let announcer: &'static Announcer = Box::leak(Box::new(Announcer::from_env().await?));
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<StreamEvent>| async move {
            // Failures are per record, in the response: the invocation itself succeeds, so Lambda
            // retries only the records the response names.
            Ok::<BatchResponse, Error>(announcer.handle(event.payload).await)
        },
    ))
    .await
}
