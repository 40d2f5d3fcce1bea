//! The `scheduler` function: EventBridge schedules -> the owners' daily digest of pending
//! requests (`{"job": "digest"}`) and the holders' expiry reminders (`{"job": "reminders"}`).
//! The rules live in `keygate::usecases::schedule`; this is the runtime's entry point and nothing more.

use keygate::usecases::schedule::{JobEvent, Scheduler};
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    keygate::adapters::logging::init()?;
    // Built once per container; leaked so the handler borrows it for the process's lifetime.
    let scheduler: &'static Scheduler = Box::leak(Box::new(Scheduler::from_env().await?));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<JobEvent>| async move {
        // An error fails the invocation, so the schedule's asynchronous retry redoes what
        // failed; the markers keep what succeeded from happening twice.
        scheduler
            .run(event.payload)
            .await
            .map_err(|e| Error::from(e.to_string()))
    }))
    .await
}
