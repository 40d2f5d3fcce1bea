//! The notifier's rules: which change of which item means which mail (`decide`), and the handling
//! of a batch of stream records (`Notifier::handle`): each mail goes out once although records may
//! be delivered again (a conditional `NOTIFIED#<event id>` marker), and a failed send fails only its
//! own record (partial batch response) so that Lambda retries it and nothing is lost.
//!
//! The `notifier` function is one of the table stream's two readers (DynamoDB Streams serves at
//! most two per shard; `imports-sync` is the other): it also publishes the lifecycle events
//! (`crate::usecases::lifecycle`). [`Announcer`] does both for each record.

use crate::adapters::aws::try_aws_config;
use crate::adapters::mail::{self, Mail, Mailer};
use crate::config::{ConfigError, NotifierConfig};
use crate::error::{Error, Result};
use crate::model::ids::UserId;
use crate::model::key::{ApiKey, KeyStatus};
use crate::model::locale::Locale;
use crate::model::request::{KeyRequest, RequestStatus};
use crate::model::user::resolve;
use crate::store::{Image, Store};
use crate::usecases::lifecycle::Publisher;

use crate::adapters::stream::{BatchResponse, StreamEvent, StreamRecord, for_each_record};

/// A change someone must hear about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// A new pending request: to the project's owner.
    RequestCreated(KeyRequest),
    /// pending -> approved: to the requester.
    RequestApproved(KeyRequest),
    /// pending -> rejected: to the requester.
    RequestRejected(KeyRequest),
    /// pending -> cancelled by someone other than the requester: to the requester.
    RequestCancelled(KeyRequest),
    /// active -> revoked: to the holder.
    KeyRevoked(Box<ApiKey>),
}

impl Notice {
    pub fn kind(&self) -> &'static str {
        match self {
            Notice::RequestCreated(_) => "request_created",
            Notice::RequestApproved(_) => "request_approved",
            Notice::RequestRejected(_) => "request_rejected",
            Notice::RequestCancelled(_) => "request_cancelled",
            Notice::KeyRevoked(_) => "key_revoked",
        }
    }

    /// Who the mail is for: the project's owner for a new request, else the requester or holder.
    pub fn recipient<'a>(&'a self, project: &'a crate::model::project::Project) -> &'a UserId {
        match self {
            Notice::RequestCreated(_) => &project.owner.id,
            Notice::RequestApproved(r)
            | Notice::RequestRejected(r)
            | Notice::RequestCancelled(r) => &r.requester.id,
            Notice::KeyRevoked(k) => &k.holder.id,
        }
    }

    fn project_id(&self) -> &crate::model::ids::ProjectId {
        match self {
            Notice::RequestCreated(r)
            | Notice::RequestApproved(r)
            | Notice::RequestRejected(r)
            | Notice::RequestCancelled(r) => &r.project_id,
            Notice::KeyRevoked(k) => &k.project_id,
        }
    }
}

/// Which mail a stream record calls for, from its event name and its old and new images. Only
/// request and key items are decoded; everything else is `None` without looking further.
pub fn decide(record: &StreamRecord) -> Result<Option<Notice>> {
    let event = record.event_name.as_str();
    if event != "INSERT" && event != "MODIFY" {
        return Ok(None);
    }
    let new = Image::decode(record.change.new_image.clone())?;
    let old = Image::decode(record.change.old_image.clone())?;
    Ok(match (event, old, new) {
        ("INSERT", _, Some(Image::Request(r))) if r.status == RequestStatus::Pending => {
            Some(Notice::RequestCreated(*r))
        }
        ("MODIFY", Some(Image::Request(old)), Some(Image::Request(r)))
            if old.status == RequestStatus::Pending =>
        {
            match r.status {
                RequestStatus::Approved => Some(Notice::RequestApproved(*r)),
                RequestStatus::Rejected => Some(Notice::RequestRejected(*r)),
                // The requester withdrawing their own request needs no mail to themselves.
                RequestStatus::Cancelled
                    if r.decided_by
                        .as_ref()
                        .is_some_and(|by| by.id != r.requester.id) =>
                {
                    Some(Notice::RequestCancelled(*r))
                }
                _ => None,
            }
        }
        // The holder revoking (or rolling away) their own key needs no mail to themselves,
        // as with a request they cancel; the owner revoking it does.
        ("MODIFY", Some(Image::Key(old)), Some(Image::Key(k)))
            if old.status == KeyStatus::Active
                && k.status == KeyStatus::Revoked
                && k.revoked_by.as_ref().is_none_or(|by| by.id != k.holder.id) =>
        {
            Some(Notice::KeyRevoked(k))
        }
        _ => None,
    })
}

/// What became of one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The record calls for no mail.
    Nothing,
    /// The mail went out now.
    Sent {
        kind: &'static str,
        message_id: String,
    },
    /// A marker says this record's mail went out before (a redelivery).
    AlreadySent { kind: &'static str },
    /// The project's owner chose to hear of new requests only in the daily digest.
    NotWanted { kind: &'static str },
    /// The project is gone, so there is no owner to mail and nothing to name: skipped (a retry
    /// would not bring it back).
    ProjectGone { kind: &'static str },
    /// The record cannot be read (an image that does not decode, no event id). Logged as an
    /// error and skipped: a retry would read the same bytes, and meanwhile hold up its shard.
    Unreadable,
}

/// The notifier's state, built once per container.
pub struct Notifier {
    store: Store,
    mailer: Mailer,
    console_url: String,
    /// The language of recipients with no setting and no recorded token claim.
    default_locale: Locale,
}

/// A stream event id becomes part of a key: it must be present and of sane length.
fn event_id(record: &StreamRecord) -> Result<&str> {
    let id = record.event_id.as_str();
    if id.is_empty() || id.len() > 256 {
        return Err(Error::internal(format!(
            "stream record with an unusable eventID {id:?}"
        )));
    }
    Ok(id)
}

impl Notifier {
    pub fn new(store: Store, mailer: Mailer, console_url: impl Into<String>) -> Self {
        Notifier {
            store,
            mailer,
            console_url: console_url.into(),
            default_locale: crate::config::DEFAULT_LOCALE,
        }
    }

    /// The same, with another default language (`DEFAULT_LOCALE`).
    pub fn with_default_locale(mut self, locale: Locale) -> Self {
        self.default_locale = locale;
        self
    }

    /// Reads `NotifierConfig` from the environment and builds the clients from one AWS config.
    pub async fn from_env() -> std::result::Result<Self, ConfigError> {
        let config = NotifierConfig::from_env()?;
        let sdk = try_aws_config().await?;
        Ok(Notifier::new(
            Store::new(&sdk, config.table_name),
            Mailer::new(&sdk, config.mail_from.as_str()),
            config.console_url,
        )
        .with_default_locale(config.default_locale))
    }

    /// The mail of `notice`, in its recipient's language.
    async fn compose(
        &self,
        notice: &Notice,
        project: &crate::model::project::Project,
    ) -> Result<Mail> {
        let console = self.console_url.as_str();
        let recipient = notice.recipient(project);
        let settings = self.store.get_user_settings(recipient).await?;
        let (l, source) = resolve(settings.as_ref(), self.default_locale);
        tracing::debug!(locale = l.as_str(), source = ?source, "recipient's language");
        Ok(match notice {
            Notice::RequestCreated(r) => mail::request_created(console, l, project, r),
            Notice::RequestApproved(r) => mail::request_approved(console, l, project, r),
            Notice::RequestRejected(r) => mail::request_rejected(console, l, project, r),
            Notice::RequestCancelled(r) => mail::request_cancelled(console, l, project, r),
            Notice::KeyRevoked(k) => mail::key_revoked(console, l, project, k),
        })
    }

    /// Handles one record: decide, compose, claim the record's marker, send. A failed send (or
    /// table access) gives the marker back and fails, so a retry of the record sends it.
    pub async fn process(&self, record: &StreamRecord) -> Result<Outcome> {
        let read = decide(record).and_then(|notice| match notice {
            Some(notice) => Ok(Some((notice, event_id(record)?))),
            None => Ok(None),
        });
        let (notice, event_id) = match read {
            Ok(None) => return Ok(Outcome::Nothing),
            Ok(Some(read)) => read,
            Err(e) => {
                tracing::error!(event_id = %record.event_id, error = %e, "unreadable record skipped");
                return Ok(Outcome::Unreadable);
            }
        };
        let kind = notice.kind();
        let Some(project) = self.store.get_project(notice.project_id()).await? else {
            tracing::warn!(event_id, kind, project = %notice.project_id(), "project is gone; no mail");
            return Ok(Outcome::ProjectGone { kind });
        };
        if matches!(notice, Notice::RequestCreated(_)) && !project.mails_each_request() {
            tracing::info!(event_id, kind, project = %project.id, "owner takes new requests in the digest only");
            return Ok(Outcome::NotWanted { kind });
        }
        let mail = self.compose(&notice, &project).await?;
        if !self.store.claim_notification(event_id).await? {
            tracing::info!(event_id, kind, "mail already sent for this record");
            return Ok(Outcome::AlreadySent { kind });
        }
        match self.mailer.send(&mail).await {
            Ok(message_id) => {
                crate::adapters::metrics::count("mails_sent", &[("kind", kind)]);
                tracing::info!(event_id, kind, message_id, "mail sent");
                Ok(Outcome::Sent { kind, message_id })
            }
            Err(send_error) => {
                crate::adapters::metrics::count("mails_failed", &[("kind", kind)]);
                if let Err(e) = self.store.release_notification(event_id).await {
                    // The marker stays, so a retry would skip this mail: say so loudly.
                    tracing::error!(event_id, kind, error = %e, "could not release the marker of an unsent mail; it will not be retried");
                }
                Err(send_error)
            }
        }
    }

    /// Handles a batch (see `for_each_record`); the markers make redeliveries send nothing twice.
    pub async fn handle(&self, event: StreamEvent) -> BatchResponse {
        // Boxed: a batch's nested futures are deep enough to strain the compiler's layout queries.
        Box::pin(for_each_record(&event, |r| async move {
            self.process(r).await.map(|_| ())
        }))
        .await
    }
}

/// The `notifier` function's work on each record: its mail (`Notifier`) and its lifecycle event
/// (`lifecycle::Publisher`), side by side. A record fails when either fails, and is delivered
/// again whole; both halves are idempotent under redelivery: a mail that went out is not sent
/// again (its marker), and an event published again carries the same `detail.id` (at least once,
/// as docs/events.md says).
pub struct Announcer {
    notifier: Notifier,
    publisher: Publisher,
}

impl Announcer {
    pub fn new(notifier: Notifier, publisher: Publisher) -> Self {
        Announcer {
            notifier,
            publisher,
        }
    }

    /// `NotifierConfig` from the environment, every client from one AWS config.
    pub async fn from_env() -> std::result::Result<Self, ConfigError> {
        let config = NotifierConfig::from_env()?;
        let sdk = try_aws_config().await?;
        Ok(Announcer::new(
            Notifier::new(
                Store::new(&sdk, config.table_name),
                Mailer::new(&sdk, config.mail_from.as_str()),
                config.console_url,
            )
            .with_default_locale(config.default_locale),
            Publisher::new(&sdk, config.event_bus),
        ))
    }

    /// One record: its mail and its event, concurrently; an error of either fails the record.
    pub async fn process(&self, record: &StreamRecord) -> Result<()> {
        let (mailed, published) = tokio::join!(
            self.notifier.process(record),
            self.publisher.process(record)
        );
        match (mailed, published) {
            (Ok(_), Ok(_)) => Ok(()),
            (Err(e), Ok(_)) | (Ok(_), Err(e)) => Err(e),
            (Err(mail), Err(event)) => {
                tracing::error!(event_id = %record.event_id, error = %event, "lifecycle event not published");
                Err(mail)
            }
        }
    }

    /// Handles a batch (see `for_each_record`): a record whose mail or event failed is reported
    /// for retry.
    pub async fn handle(&self, event: StreamEvent) -> BatchResponse {
        // Boxed: a batch's nested futures are deep enough to strain the compiler's layout queries.
        Box::pin(for_each_record(
            &event,
            |r| async move { self.process(r).await },
        ))
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::checks::{Name, Text};
    use crate::model::ids::{Email, KeyId, ProjectId, RequestId, RoleName, TemplateId, UserId};
    use crate::model::project::Person;
    use serde::Serialize;
    use serde_dynamo::{AttributeValue, Item};

    fn someone(id: &str) -> Person {
        Person {
            id: UserId::parse("u", id).expect("id"),
            email: Email::parse("e", &format!("{id}@example.com")).expect("email"),
        }
    }

    fn request(status: RequestStatus, decided_by: Option<&str>) -> KeyRequest {
        KeyRequest {
            id: RequestId::generate(),
            project_id: ProjectId::parse("p", "server").expect("id"),
            template_id: TemplateId::generate(),
            template_name: Name::parse("test", "Weather").expect("checked"),
            requester: someone("bob"),
            comment: Text::default(),
            status,
            reason: None,
            key_id: None,
            created_at: "t".into(),
            decided_at: decided_by.map(|_| "t2".into()),
            decided_by: decided_by.map(someone),
        }
    }

    fn key(status: KeyStatus) -> ApiKey {
        ApiKey {
            id: KeyId::generate(),
            project_id: ProjectId::parse("p", "server").expect("id"),
            template_id: TemplateId::generate(),
            request_id: RequestId::generate(),
            name: Name::parse("test", "Weather").expect("checked"),
            role: RoleName::parse("r", "reader").expect("role"),
            holder: someone("bob"),
            fields: vec![],
            status,
            issued_at: "t".into(),
            expires_at: None,
            last_used_at: None,
            revoked_at: None,
            revoked_by: None,
            replaced_by: None,
            grace_until: None,
            expired_seen_at: None,
            iss: "keygate".into(),
            aud: "platform-api:server".into(),
            iat: 1,
            exp: None,
            kid: "k".into(),
        }
    }

    fn image<T: Serialize>(entity_type: &str, value: &T) -> Item {
        let mut item: Item = serde_dynamo::to_item(value).expect("item");
        item.insert("pk".into(), AttributeValue::S("P".into()));
        item.insert("sk".into(), AttributeValue::S("S".into()));
        item.insert("entity_type".into(), AttributeValue::S(entity_type.into()));
        item
    }

    fn record(event: &str, old: Option<Item>, new: Option<Item>) -> StreamRecord {
        let mut r = StreamRecord::default();
        r.event_id = "e1".into();
        r.event_name = event.into();
        r.change.old_image = old.unwrap_or_default();
        r.change.new_image = new.unwrap_or_default();
        r
    }

    fn req_image(status: RequestStatus, by: Option<&str>) -> Option<Item> {
        Some(image("request", &request(status, by)))
    }

    fn modify(
        from: (RequestStatus, Option<&str>),
        to: (RequestStatus, Option<&str>),
    ) -> Option<Notice> {
        decide(&record(
            "MODIFY",
            req_image(from.0, from.1),
            req_image(to.0, to.1),
        ))
        .expect("decides")
    }

    use RequestStatus::*;

    #[test]
    fn a_new_pending_request_mails_the_owner() {
        let got = decide(&record("INSERT", None, req_image(Pending, None))).expect("decides");
        assert!(matches!(got, Some(Notice::RequestCreated(r)) if r.status == Pending));
    }

    #[test]
    fn decisions_on_a_pending_request_mail_the_requester() {
        assert!(matches!(
            modify((Pending, None), (Approved, Some("alice"))),
            Some(Notice::RequestApproved(_))
        ));
        assert!(matches!(
            modify((Pending, None), (Rejected, Some("alice"))),
            Some(Notice::RequestRejected(_))
        ));
        assert!(matches!(
            modify((Pending, None), (Cancelled, Some("alice"))),
            Some(Notice::RequestCancelled(_))
        ));
    }

    #[test]
    fn the_requester_cancelling_their_own_request_sends_nothing() {
        assert_eq!(modify((Pending, None), (Cancelled, Some("bob"))), None);
        assert_eq!(modify((Pending, None), (Cancelled, None)), None);
    }

    #[test]
    fn other_request_changes_send_nothing() {
        // A rewrite of a still-pending request, and changes to a request already decided.
        assert_eq!(modify((Pending, None), (Pending, None)), None);
        assert_eq!(
            modify((Approved, Some("alice")), (Approved, Some("alice"))),
            None
        );
        assert_eq!(
            modify((Rejected, Some("alice")), (Cancelled, Some("alice"))),
            None
        );
        // A request written already decided (no pending state to leave) is not "created".
        assert_eq!(
            decide(&record("INSERT", None, req_image(Approved, Some("alice")))).expect("decides"),
            None
        );
        // Deletions never mail.
        assert_eq!(
            decide(&record("REMOVE", req_image(Pending, None), None)).expect("decides"),
            None
        );
    }

    #[test]
    fn revoking_an_active_key_mails_the_holder() {
        let got = decide(&record(
            "MODIFY",
            Some(image("key", &key(KeyStatus::Active))),
            Some(image("key", &key(KeyStatus::Revoked))),
        ))
        .expect("decides");
        assert!(matches!(got, Some(Notice::KeyRevoked(k)) if k.status == KeyStatus::Revoked));
    }

    #[test]
    fn a_holder_revoking_their_own_key_gets_no_mail() {
        let mut revoked = key(KeyStatus::Revoked);
        revoked.revoked_by = Some(revoked.holder.clone());
        let got = decide(&record(
            "MODIFY",
            Some(image("key", &key(KeyStatus::Active))),
            Some(image("key", &revoked)),
        ))
        .expect("decides");
        assert_eq!(got, None);
        let mut by_owner = key(KeyStatus::Revoked);
        by_owner.revoked_by = Some(someone("owner"));
        let got = decide(&record(
            "MODIFY",
            Some(image("key", &key(KeyStatus::Active))),
            Some(image("key", &by_owner)),
        ))
        .expect("decides");
        assert!(matches!(got, Some(Notice::KeyRevoked(_))));
    }

    #[test]
    fn other_key_changes_send_nothing() {
        let k = |s| Some(image("key", &key(s)));
        for (event, old, new) in [
            ("INSERT", None, k(KeyStatus::Active)),
            ("MODIFY", k(KeyStatus::Active), k(KeyStatus::Active)),
            ("MODIFY", k(KeyStatus::Revoked), k(KeyStatus::Revoked)),
            ("REMOVE", k(KeyStatus::Active), None),
        ] {
            assert_eq!(
                decide(&record(event, old, new)).expect("decides"),
                None,
                "{event}"
            );
        }
    }

    #[test]
    fn other_entities_send_nothing_and_are_not_decoded() {
        // An ask carries a request-like status but is not a request.
        let mut ask = Item::from(std::collections::HashMap::<String, AttributeValue>::new());
        ask.insert("entity_type".into(), AttributeValue::S("ask".into()));
        ask.insert("status".into(), AttributeValue::S("pending".into()));
        assert_eq!(
            decide(&record("INSERT", None, Some(ask))).expect("decides"),
            None
        );
        let mut marker = Item::from(std::collections::HashMap::<String, AttributeValue>::new());
        marker.insert("entity_type".into(), AttributeValue::S("marker".into()));
        assert_eq!(
            decide(&record("INSERT", None, Some(marker))).expect("decides"),
            None
        );
    }

    /// A reveal writes only its audit entry: no mail, no lifecycle event (both read entities,
    /// never audit actions).
    #[test]
    fn a_revealed_key_audit_entry_is_no_mail_and_no_event() {
        let k = KeyId::generate();
        let entry = crate::model::audit::AuditEntry {
            project_id: ProjectId::parse("p", "server").expect("id"),
            id: "a1".into(),
            at: "2026-01-01T00:00:00Z".into(),
            actor: Some(someone("bob")),
            action: "key.revealed".into(),
            target: Some(crate::model::audit::Target {
                kind: "key".into(),
                id: k.to_string(),
            }),
            request_id: Some(RequestId::generate()),
            key_id: Some(k),
        };
        let inserted = record("INSERT", None, Some(image("audit", &entry)));
        assert_eq!(decide(&inserted).expect("decides"), None);
        assert_eq!(
            crate::usecases::lifecycle::decide(&inserted).expect("decides"),
            None,
            "no lifecycle event"
        );
    }

    #[test]
    fn a_broken_request_image_is_an_error_not_silence() {
        let mut broken = image("request", &request(Pending, None));
        broken.remove("requester");
        assert!(decide(&record("INSERT", None, Some(broken))).is_err());
    }

    #[test]
    fn stream_events_parse_from_lambda_json() {
        let event: StreamEvent = serde_json::from_value(serde_json::json!({"Records": [{
            "eventID": "abc", "eventName": "INSERT", "eventVersion": "1.1",
            "eventSource": "aws:dynamodb", "awsRegion": "us-east-1",
            "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/x",
            "dynamodb": {
                "ApproximateCreationDateTime": 1767225600.5,
                "Keys": {"pk": {"S": "P"}, "sk": {"S": "S"}},
                "NewImage": {"pk": {"S": "P"}, "sk": {"S": "S"}, "entity_type": {"S": "node"}},
                "SequenceNumber": "100", "SizeBytes": 50, "StreamViewType": "NEW_AND_OLD_IMAGES"
            }
        }]}))
        .expect("lambda event");
        assert_eq!(event.records.len(), 1);
        assert_eq!(
            event.records[0].change.sequence_number.as_deref(),
            Some("100")
        );
        assert_eq!(decide(&event.records[0]).expect("decides"), None);
        let mut response = BatchResponse::default();
        response
            .batch_item_failures
            .push(crate::adapters::stream::failure("100".into()));
        assert_eq!(
            serde_json::to_value(&response).expect("json"),
            serde_json::json!({"batchItemFailures": [{"itemIdentifier": "100"}]})
        );
    }
}
