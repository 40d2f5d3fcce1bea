//! The table stream's plumbing that its readers (the notifier, imports-sync) share: the event
//! types Lambda hands a stream function, and running a handler over a batch so that a failed
//! record fails alone (a partial batch response) and is delivered again.

pub use aws_lambda_events::dynamodb::{Event as StreamEvent, EventRecord as StreamRecord};
pub use aws_lambda_events::streams::{
    DynamoDbBatchItemFailure as BatchItemFailure, DynamoDbEventResponse as BatchResponse,
};

use crate::error::Result;

/// One failed record (the event types are non-exhaustive: built from their defaults).
pub fn failure(item_identifier: String) -> BatchItemFailure {
    let mut f = BatchItemFailure::default();
    f.item_identifier = Some(item_identifier);
    f
}

/// Runs `process` on every record of a batch. Each failed one is reported by its sequence number
/// (the identifier Lambda expects for DynamoDB streams) so that only it and what follows it in
/// the shard are delivered again; the handlers are idempotent, so redeliveries change nothing.
pub async fn for_each_record<'a, F, Fut>(event: &'a StreamEvent, mut process: F) -> BatchResponse
where
    F: FnMut(&'a StreamRecord) -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    let mut response = BatchResponse::default();
    for record in &event.records {
        if let Err(e) = process(record).await {
            let id = record
                .change
                .sequence_number
                .clone()
                .unwrap_or_else(|| record.event_id.clone());
            tracing::error!(event_id = %record.event_id, sequence_number = %id, error = %e, "record failed; reported for retry");
            response.batch_item_failures.push(failure(id));
        }
    }
    response
}
