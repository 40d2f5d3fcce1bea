//! What the notifier needs from the table: stream images decoded into the entities they hold
//! (`Image`), and the `NOTIFIED#<event id>` markers that let a stream record's mail go out once
//! although Lambda may deliver the record more than once.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use super::grants::{Operation, Touch as T, op};
use super::keys::Key;
use super::keys::partitions::{KEYS, NOTIFIED, PROJECTS};
use super::{Store, key_attrs, keys, sdk_error, to_attrs, written};
use crate::error::{Error, Result};
use crate::model::import::Import;
use crate::model::key::ApiKey;
use crate::model::request::KeyRequest;
use crate::model::time::now;

/// What each method touches (`store::grants`): the notifier's markers have partitions of their
/// own; the scheduler's markers (`claim_marker`) sit in the project's (`SCHEDULE#digest#day`)
/// or the key's (`SCHEDULE#reminded#n`) partition.
pub(super) const OPERATIONS: &[Operation] = &[
    op("claim_notification", &[T::put(NOTIFIED)]),
    op("release_notification", &[T::delete(NOTIFIED)]),
    op("claim_marker", &[T::put(PROJECTS), T::put(KEYS)]),
    op("release_marker", &[T::delete(PROJECTS), T::delete(KEYS)]),
];

/// How long a marker is kept. Lambda redelivers a stream record at most for the stream's 24-hour
/// retention, so a week covers every retry; TTL (`expires_at`) then removes the marker.
pub const MARKER_TTL_SECONDS: u64 = 7 * 24 * 3600;

/// An item as a stream record shows it (its old or new image), decoded by its `entity_type`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Image {
    Request(Box<KeyRequest>),
    Key(Box<ApiKey>),
    Import(Box<Import>),
    /// Any other entity (projects, members, asks, usage counters, markers, …): the notifier
    /// has nothing to say about these, so they are not decoded.
    Other(String),
}

impl Image {
    /// Decodes an image. `None` for an absent image (an INSERT's old image, a REMOVE's new one):
    /// the Lambda event gives those as empty maps.
    pub fn decode(item: serde_dynamo::Item) -> Result<Option<Image>> {
        if item.is_empty() {
            return Ok(None);
        }
        let entity_type = match item.get("entity_type") {
            Some(serde_dynamo::AttributeValue::S(t)) => t.clone(),
            _ => return Ok(Some(Image::Other(String::new()))),
        };
        let decode_err =
            |e: serde_dynamo::Error| Error::internal(format!("{entity_type} image decoding: {e}"));
        Ok(Some(match entity_type.as_str() {
            "request" => {
                Image::Request(Box::new(serde_dynamo::from_item(item).map_err(decode_err)?))
            }
            "key" => Image::Key(Box::new(serde_dynamo::from_item(item).map_err(decode_err)?)),
            "import" => Image::Import(Box::new(serde_dynamo::from_item(item).map_err(decode_err)?)),
            _ => Image::Other(entity_type),
        }))
    }
}

/// A marker item's own attributes, beside its keys and `entity_type = marker`.
#[derive(Debug, Serialize)]
struct Marker<'a> {
    /// What the marker stands for (a stream event id, a digest day, a reminder).
    what: &'a str,
    marked_at: String,
    /// Epoch seconds: the table's TTL attribute.
    expires_at: u64,
}

impl Store {
    /// Claims the sending of a stream record's mail: `true` the first time, `false` when the
    /// record was seen before (its marker exists), in which case nothing must be sent again.
    pub async fn claim_notification(&self, event_id: &str) -> Result<bool> {
        self.claim_marker(keys::notified(event_id), event_id, MARKER_TTL_SECONDS)
            .await
    }

    /// Gives a claim back after the mail could not be sent, so the record's retry sends it.
    pub async fn release_notification(&self, event_id: &str) -> Result<()> {
        self.release_marker(keys::notified(event_id)).await
    }

    /// Claims a once-only piece of work by writing its marker item: `true` the first time,
    /// `false` when the marker is there (done before, or being done concurrently). The marker
    /// goes away through the table's TTL after `ttl_seconds`.
    pub async fn claim_marker(&self, key: Key, what: &str, ttl_seconds: u64) -> Result<bool> {
        let epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(Error::internal)?
            .as_secs();
        let marker = Marker {
            what,
            marked_at: now(),
            expires_at: epoch + ttl_seconds,
        };
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_attrs(key, &[], "marker", &marker)?))
            // Prevents a redelivery, a second firing or a concurrent run from doing it twice.
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        written("PutItem marker", result)
    }

    /// Removes a marker, so that work which failed after its claim is done on the next try.
    pub async fn release_marker(&self, key: Key) -> Result<()> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_attrs(&key)))
            .send()
            .await
            .map_err(|e| sdk_error("DeleteItem marker", e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::checks::{Name, Text};
    use crate::model::ids::{Email, ProjectId, RequestId, TemplateId, UserId};
    use crate::model::project::Person;
    use crate::model::request::RequestStatus;
    use crate::store::keys::Key;

    fn request() -> KeyRequest {
        KeyRequest {
            id: RequestId::generate(),
            project_id: ProjectId::parse("p", "server").expect("id"),
            template_id: TemplateId::generate(),
            template_name: Name::parse("test", "Weather").expect("checked"),
            requester: Person {
                id: UserId::parse("u", "bob").expect("id"),
                email: Email::parse("e", "bob@example.com").expect("email"),
            },
            comment: Text::default(),
            status: RequestStatus::Pending,
            reason: None,
            key_id: None,
            created_at: "2026-01-01T00:00:00.000Z".into(),
            decided_at: None,
            decided_by: None,
        }
    }

    /// The image a stream record carries is the item as the store wrote it.
    fn image<T: Serialize>(entity_type: &str, value: &T) -> serde_dynamo::Item {
        let attrs = to_attrs(
            Key {
                pk: "P".into(),
                sk: "S".into(),
            },
            &[],
            entity_type,
            value,
        )
        .expect("encode");
        serde_dynamo::Item::from(attrs)
    }

    #[test]
    fn images_decode_by_entity_type() {
        let r = request();
        assert_eq!(
            Image::decode(image("request", &r)).expect("decodes"),
            Some(Image::Request(Box::new(r.clone())))
        );
        assert_eq!(
            Image::decode(image("ask", &r)).expect("not decoded"),
            Some(Image::Other("ask".into()))
        );
        assert_eq!(
            Image::decode(serde_dynamo::Item::from(std::collections::HashMap::<
                String,
                serde_dynamo::AttributeValue,
            >::new()))
            .expect("absent"),
            None
        );
    }

    #[test]
    fn a_request_image_that_does_not_decode_is_an_error() {
        let mut item = image("request", &request());
        item.remove("status");
        assert!(Image::decode(item).is_err());
    }

    #[test]
    fn marker_key() {
        assert_eq!(
            keys::notified("abc123"),
            Key {
                pk: "NOTIFIED#abc123".into(),
                sk: "META".into()
            }
        );
    }
}
