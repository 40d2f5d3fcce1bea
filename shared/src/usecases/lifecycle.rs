//! Lifecycle events: every change of state of a request, a key or an import, read from the
//! table's stream and published to an EventBridge bus (by the `notifier` function, beside its
//! mails: `notify::Announcer`), so that other systems react without polling. Source `keygate`, detail-type the event's `type`, `detail` the
//! versioned [`Detail`] (ids, project, actor, time; never a token or a secret's value).
//! At-least-once: a failed publish fails its record, which the stream delivers again; `detail.id`
//! is the stream record's id, the same on every delivery, for consumers to de-duplicate on.

use serde::Serialize;

use crate::adapters::stream::{BatchResponse, StreamEvent, StreamRecord, for_each_record};
use crate::error::{Error, Result};
use crate::model::import::{Import, ImportState};
use crate::model::key::{ApiKey, KeyStatus};
use crate::model::project::Person;
use crate::model::request::{KeyRequest, RequestStatus};
use crate::store::Image;

/// `source` of every event.
pub const SOURCE: &str = "keygate";
/// `detail.version`: a consumer may rely on the fields of this version; new optional fields may
/// appear within it, anything else is a new version.
pub const DETAIL_VERSION: &str = "1";

/// The `detail` of a lifecycle event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Detail {
    pub version: &'static str,
    /// The stream record's id: the same on every delivery of one change.
    pub id: String,
    /// `keygate.request.created`, … (also the event's detail-type).
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// When the change was written (the stream record's time).
    pub time: String,
    /// The project the change belongs to (for imports: the client project).
    pub project_id: String,
    /// Who made the change; `null` for changes keygate makes itself (expiry).
    pub actor: Option<Person>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<RequestFacts>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<KeyFacts>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub import: Option<ImportFacts>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestFacts {
    pub id: String,
    pub template_id: String,
    pub template_name: String,
    pub requester: Person,
    pub status: RequestStatus,
    pub key_id: Option<String>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyFacts {
    pub id: String,
    pub template_id: String,
    pub name: String,
    pub role: String,
    pub holder: Person,
    pub expires_at: Option<String>,
    /// After a roll: the key that replaced this one, and until when this one still verifies.
    pub replaced_by: Option<String>,
    pub grace_until: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportFacts {
    pub prefix: String,
    pub key_id: String,
    /// The project the key gives access to.
    pub key_project_id: String,
    /// The secrets' names (never their values).
    pub secrets: Vec<String>,
}

fn request_facts(r: &KeyRequest) -> RequestFacts {
    RequestFacts {
        id: r.id.to_string(),
        template_id: r.template_id.to_string(),
        template_name: r.template_name.to_string(),
        requester: r.requester.clone(),
        status: r.status,
        key_id: r.key_id.as_ref().map(ToString::to_string),
        reason: r.reason.as_deref().map(str::to_string),
    }
}

fn key_facts(k: &ApiKey) -> KeyFacts {
    KeyFacts {
        id: k.id.to_string(),
        template_id: k.template_id.to_string(),
        name: k.name.to_string(),
        role: k.role.to_string(),
        holder: k.holder.clone(),
        expires_at: k.expires_at.clone(),
        replaced_by: k.replaced_by.as_ref().map(ToString::to_string),
        grace_until: k.grace_until.clone(),
    }
}

fn import_facts(i: &Import) -> ImportFacts {
    ImportFacts {
        prefix: i.prefix.to_string(),
        key_id: i.key_id.to_string(),
        key_project_id: i.key_project_id.to_string(),
        secrets: i.secrets.iter().map(ToString::to_string).collect(),
    }
}

/// The event a stream record is, if any: its type, project, actor and facts (id and time are
/// the record's). Every other change (usage counters, markers, a request's comment, …) is none.
pub fn decide(record: &StreamRecord) -> Result<Option<Detail>> {
    let old = Image::decode(record.change.old_image.clone())?;
    let new = Image::decode(record.change.new_image.clone())?;
    let event = record.event_name.as_str();
    let detail = |kind, project_id: String, actor: Option<Person>| Detail {
        version: DETAIL_VERSION,
        id: record.event_id.clone(),
        kind,
        time: record_time(record),
        project_id,
        actor,
        request: None,
        key: None,
        import: None,
    };
    Ok(match (event, old, new) {
        ("INSERT", _, Some(Image::Request(r))) if r.status == RequestStatus::Pending => {
            Some(Detail {
                request: Some(request_facts(&r)),
                ..detail(
                    "keygate.request.created",
                    r.project_id.to_string(),
                    Some(r.requester.clone()),
                )
            })
        }
        ("MODIFY", Some(Image::Request(old)), Some(Image::Request(r)))
            if old.status == RequestStatus::Pending && r.status != RequestStatus::Pending =>
        {
            let kind = match r.status {
                RequestStatus::Approved => "keygate.request.approved",
                RequestStatus::Rejected => "keygate.request.rejected",
                RequestStatus::Cancelled => "keygate.request.cancelled",
                RequestStatus::Pending => return Ok(None),
            };
            Some(Detail {
                request: Some(request_facts(&r)),
                ..detail(kind, r.project_id.to_string(), r.decided_by.clone())
            })
        }
        ("MODIFY", Some(Image::Key(old)), Some(Image::Key(k))) => {
            let (kind, actor) = if old.replaced_by.is_none() && k.replaced_by.is_some() {
                // Only the holder rolls a key; a roll without grace also revokes it: one event.
                ("keygate.key.rolled", Some(k.holder.clone()))
            } else if old.status == KeyStatus::Active && k.status == KeyStatus::Revoked {
                ("keygate.key.revoked", k.revoked_by.clone())
            } else if old.expired_seen_at.is_none() && k.expired_seen_at.is_some() {
                ("keygate.key.expired", None)
            } else {
                return Ok(None);
            };
            Some(Detail {
                key: Some(key_facts(&k)),
                ..detail(kind, k.project_id.to_string(), actor)
            })
        }
        ("MODIFY", Some(Image::Import(old)), Some(Image::Import(i)))
            if old.state == ImportState::Importing && i.state == ImportState::Ready =>
        {
            let kind = if i.imported_before {
                "keygate.import.updated"
            } else {
                "keygate.import.created"
            };
            Some(Detail {
                import: Some(import_facts(&i)),
                ..detail(kind, i.project_id.to_string(), Some(i.importer.clone()))
            })
        }
        // An import's record goes when its deletion is done (a failed first attempt's record
        // goes too, but it was never an import: its state is `importing`).
        ("REMOVE", Some(Image::Import(i)), _) if i.state == ImportState::Deleting => Some(Detail {
            import: Some(import_facts(&i)),
            ..detail(
                "keygate.import.deleted",
                i.project_id.to_string(),
                i.deleted_by.clone(),
            )
        }),
        _ => None,
    })
}

/// The stream record's creation time (RFC 3339 UTC), or now when the record has none.
fn record_time(record: &StreamRecord) -> String {
    let t = record.change.approximate_creation_date_time;
    let millis = i128::from(t.timestamp_millis());
    match time::OffsetDateTime::from_unix_timestamp_nanos(millis * 1_000_000) {
        // An absent time reads as the epoch.
        Ok(at) if millis > 0 => crate::model::time::format_time(at),
        _ => crate::model::time::now(),
    }
}

/// The lifecycle events' publisher, built once per container (the notifier function's second
/// half: `notify::Announcer`).
pub struct Publisher {
    client: aws_sdk_eventbridge::Client,
    bus: String,
}

impl Publisher {
    pub fn new(sdk: &aws_config::SdkConfig, bus: String) -> Self {
        Publisher {
            client: aws_sdk_eventbridge::Client::new(sdk),
            bus,
        }
    }

    /// Publishes one record's event, if it is one.
    pub async fn process(&self, record: &StreamRecord) -> Result<Option<&'static str>> {
        let detail = match decide(record) {
            Ok(Some(d)) => d,
            Ok(None) => return Ok(None),
            Err(e) => {
                // A retry would read the same bytes: skip it loudly rather than block the shard.
                tracing::error!(event_id = %record.event_id, error = %e, "unreadable record skipped");
                return Ok(None);
            }
        };
        let entry = aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus)
            .source(SOURCE)
            .detail_type(detail.kind)
            .detail(serde_json::to_string(&detail).map_err(Error::internal)?)
            .build();
        let out = self
            .client
            .put_events()
            .entries(entry)
            .send()
            .await
            .map_err(|e| crate::error::from_sdk("PutEvents", e))?;
        if out.failed_entry_count() > 0 {
            let why = out
                .entries()
                .iter()
                .filter_map(|e| e.error_message())
                .collect::<Vec<_>>()
                .join("; ");
            return Err(Error::Interrupted(format!(
                "EventBridge refused the {} event: {why}",
                detail.kind
            )));
        }
        tracing::info!(event_id = %detail.id, kind = detail.kind, project = %detail.project_id, "lifecycle event published");
        Ok(Some(detail.kind))
    }

    /// Handles a batch: each failed record is reported for retry (partial batch response).
    pub async fn handle(&self, event: StreamEvent) -> BatchResponse {
        Box::pin(for_each_record(&event, |r| async move {
            self.process(r).await.map(|_| ())
        }))
        .await
    }
}
