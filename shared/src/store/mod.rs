//! Single-table DynamoDB access. Only this module knows DynamoDB: it maps items to domain structs
//! (serde_dynamo, one generic `Item` envelope), runs conditional writes and transactions, pages
//! queries with opaque cursors, and translates SDK errors into `keygate::Error`.

mod api_keys;
mod audit;
pub mod grants;
mod imports;
pub mod jwks;
pub mod keys;
mod limits;
mod notified;
mod projects;
mod requests;
mod templates;
mod usage;
mod users;

pub use api_keys::{MEMBER_CHANGED, MemberRemoval, TRANSACTION_ITEMS_MAX};
pub use limits::Window;
pub use notified::{Image, MARKER_TTL_SECONDS};
pub use usage::{Applied, USAGE_RETENTION_DAYS, UsageCount, UsageDelta, UsageShard, UsageWrite};

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeValue, CancellationReason, KeysAndAttributes, TransactWriteItem,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::page::{Page, PageRequest};
use keys::{IndexKey, Key};

pub const GSI1: &str = "gsi1";
pub const GSI2: &str = "gsi2";
/// Scheduled work: projects with a daily digest, keys by the day they expire.
pub const GSI3: &str = "gsi3";

/// The table and the client to reach it; built once per container.
#[derive(Clone, Debug)]
pub struct Store {
    client: Client,
    table: String,
}

/// Every item: its keys, what it is, and the entity's own attributes beside them.
#[derive(Debug, Serialize, Deserialize)]
struct Item<T> {
    pk: String,
    sk: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gsi1pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gsi1sk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gsi2pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gsi2sk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gsi3pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gsi3sk: Option<String>,
    entity_type: String,
    #[serde(flatten)]
    data: T,
}

type Attrs = HashMap<String, AttributeValue>;

fn to_attrs<T: Serialize>(
    key: Key,
    indexes: &[IndexKey],
    entity_type: &str,
    data: &T,
) -> Result<Attrs> {
    let find = |name: &str| indexes.iter().find(|i| i.index == name);
    let item = Item {
        pk: key.pk,
        sk: key.sk,
        gsi1pk: find(GSI1).map(|i| i.pk.clone()),
        gsi1sk: find(GSI1).map(|i| i.sk.clone()),
        gsi2pk: find(GSI2).map(|i| i.pk.clone()),
        gsi2sk: find(GSI2).map(|i| i.sk.clone()),
        gsi3pk: find(GSI3).map(|i| i.pk.clone()),
        gsi3sk: find(GSI3).map(|i| i.sk.clone()),
        entity_type: entity_type.to_string(),
        data,
    };
    serde_dynamo::to_item(item).map_err(|e| Error::internal(format!("item encoding: {e}")))
}

fn from_attrs<T: DeserializeOwned>(attrs: Attrs) -> Result<T> {
    let item: Item<T> = serde_dynamo::from_item(attrs)
        .map_err(|e| Error::internal(format!("item decoding: {e}")))?;
    Ok(item.data)
}

fn key_attrs(key: &Key) -> Attrs {
    HashMap::from([
        ("pk".to_string(), AttributeValue::S(key.pk.clone())),
        ("sk".to_string(), AttributeValue::S(key.sk.clone())),
    ])
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn sdk_error<E, R>(op: &str, err: SdkError<E, R>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    crate::error::from_sdk(op, err)
}

/// A conditional write's outcome: `Ok(true)` written, `Ok(false)` when DynamoDB refused it for its
/// condition (`ConditionalCheckFailedException`), else the error as [`sdk_error`] makes it.
fn written<O, E, R>(op: &str, result: std::result::Result<O, SdkError<E, R>>) -> Result<bool>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match result {
        Ok(_) => Ok(true),
        Err(e)
            if e.as_service_error().and_then(ProvideErrorMetadata::code)
                == Some("ConditionalCheckFailedException") =>
        {
            Ok(false)
        }
        Err(e) => Err(sdk_error(op, e)),
    }
}

/// Which query a cursor belongs to: its partition and the sort-key prefix it may continue in.
struct Scope<'a> {
    index: Option<&'static str>,
    partition: String,
    prefix: &'a str,
}

impl Scope<'_> {
    fn names(&self) -> (&'static str, &'static str) {
        match self.index {
            Some(GSI2) => ("gsi2pk", "gsi2sk"),
            Some(GSI3) => ("gsi3pk", "gsi3sk"),
            Some(_) => ("gsi1pk", "gsi1sk"),
            None => ("pk", "sk"),
        }
    }
}

/// Cursors are the last returned item's key attributes, base64url(JSON). Decoding checks that the
/// cursor continues this very query, so a crafted cursor cannot read another partition.
fn encode_cursor(attrs: &Attrs, scope: &Scope<'_>) -> Result<String> {
    let mut names = vec!["pk", "sk"];
    if scope.index.is_some() {
        let (pk, sk) = scope.names();
        names.extend([pk, sk]);
    }
    let mut map = BTreeMap::new();
    for n in names {
        match attrs.get(n) {
            Some(AttributeValue::S(v)) => {
                map.insert(n.to_string(), v.clone());
            }
            _ => return Err(Error::internal(format!("item without key attribute {n}"))),
        }
    }
    let json = serde_json::to_vec(&map).map_err(Error::internal)?;
    Ok(URL_SAFE_NO_PAD.encode(json))
}

fn decode_cursor(cursor: &str, scope: &Scope<'_>) -> Result<Attrs> {
    let bad = || {
        Error::invalid(
            "cursor",
            "is not a cursor of this list; use the `next` value of the previous page",
        )
    };
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let map: BTreeMap<String, String> = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    let (pk_name, sk_name) = scope.names();
    let same_partition = map.get(pk_name) == Some(&scope.partition);
    let in_prefix = map
        .get(sk_name)
        .is_some_and(|v| v.starts_with(scope.prefix));
    let expected = if scope.index.is_some() { 4 } else { 2 };
    if !same_partition
        || !in_prefix
        || map.len() != expected
        || !map.contains_key("pk")
        || !map.contains_key("sk")
    {
        return Err(bad());
    }
    Ok(map.into_iter().map(|(k, v)| (k, s(v))).collect())
}

impl Store {
    pub fn new(sdk: &aws_config::SdkConfig, table: impl Into<String>) -> Self {
        Store {
            client: Client::new(sdk),
            table: table.into(),
        }
    }

    /// With a client of the caller's making (benchmarks count calls through its interceptors).
    pub fn with_client(client: Client, table: impl Into<String>) -> Self {
        Store {
            client,
            table: table.into(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    async fn get<T: DeserializeOwned>(&self, key: &Key) -> Result<Option<T>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_attrs(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("GetItem", e))?;
        out.item.map(from_attrs).transpose()
    }

    /// The items at `keys` that exist, in no particular order.
    async fn batch_get<T: DeserializeOwned>(&self, keys: &[Key]) -> Result<Vec<T>> {
        self.batch_get_raw(keys)
            .await?
            .into_iter()
            .map(from_attrs)
            .collect()
    }

    /// The raw items at `keys` that exist (BatchGetItem, strongly consistent, 100 keys per call;
    /// keys DynamoDB leaves unprocessed are asked for again, a bounded number of times).
    async fn batch_get_raw(&self, keys: &[Key]) -> Result<Vec<Attrs>> {
        const PER_CALL: usize = 100;
        const ATTEMPTS: u32 = 5;
        let mut out = Vec::new();
        for chunk in keys.chunks(PER_CALL) {
            let mut pending: Vec<Attrs> = chunk.iter().map(key_attrs).collect();
            let mut attempt = 0;
            while !pending.is_empty() {
                attempt += 1;
                if attempt > ATTEMPTS {
                    return Err(Error::Unavailable(
                        "BatchGetItem: keys left unprocessed after retries".into(),
                    ));
                }
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(std::mem::take(&mut pending)))
                    .consistent_read(true)
                    .build()
                    .map_err(Error::internal)?;
                let got = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(|e| sdk_error("BatchGetItem", e))?;
                if let Some(mut items) = got.responses {
                    out.extend(items.remove(&self.table).unwrap_or_default());
                }
                if let Some(k) = got
                    .unprocessed_keys
                    .and_then(|mut left| left.remove(&self.table))
                {
                    pending = k.keys;
                    tokio::time::sleep(std::time::Duration::from_millis(20 << attempt)).await;
                }
            }
        }
        Ok(out)
    }

    /// One page of a partition's items whose sort key starts with `scope.prefix`, in sort order.
    /// Reads one item past the page so `next` is null on the last page. With a filter
    /// (`attribute = value`), DynamoDB may return short pages; it keeps reading until the page is
    /// full or the partition ends, so a page is short only when it is the last.
    async fn query_page<T: DeserializeOwned>(
        &self,
        scope: Scope<'_>,
        page: &PageRequest,
    ) -> Result<Page<T>> {
        self.query_filtered(scope, page, None).await
    }

    // Not an `async fn`: one async layer less in every caller's future (the scheduler's is deep).
    fn query_filtered<'a, T: DeserializeOwned + 'a>(
        &'a self,
        scope: Scope<'a>,
        page: &'a PageRequest,
        filter: Option<(&'a str, &'a str)>,
    ) -> impl std::future::Future<Output = Result<Page<T>>> + 'a {
        self.query_ordered(scope, page, filter, true)
    }

    /// `query_filtered` in sort order (`forward`) or in reverse (newest first for time keys).
    async fn query_ordered<T: DeserializeOwned>(
        &self,
        scope: Scope<'_>,
        page: &PageRequest,
        filter: Option<(&str, &str)>,
        forward: bool,
    ) -> Result<Page<T>> {
        let mut start = page
            .cursor
            .as_deref()
            .map(|c| decode_cursor(c, &scope))
            .transpose()?;
        let (pk_name, sk_name) = scope.names();
        let wanted = page.size as usize + 1;
        let mut items = Vec::new();
        loop {
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(scope.index.map(str::to_string))
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                .expression_attribute_names("#pk", pk_name)
                .expression_attribute_names("#sk", sk_name)
                .expression_attribute_values(":pk", s(scope.partition.clone()))
                .expression_attribute_values(":prefix", s(scope.prefix))
                .set_exclusive_start_key(start)
                .scan_index_forward(forward)
                .limit((wanted - items.len()) as i32);
            if let Some((attr, value)) = filter {
                query = query
                    .filter_expression("#f = :f")
                    .expression_attribute_names("#f", attr)
                    .expression_attribute_values(":f", s(value));
            }
            let out = query.send().await.map_err(|e| sdk_error("Query", e))?;
            items.extend(out.items.unwrap_or_default());
            start = out.last_evaluated_key;
            if items.len() >= wanted || start.is_none() {
                break;
            }
        }
        let more = items.len() > page.size as usize;
        items.truncate(page.size as usize);
        let next = match (more, items.last()) {
            (true, Some(last)) => Some(encode_cursor(last, &scope)?),
            _ => None,
        };
        let items = items
            .into_iter()
            .map(from_attrs)
            .collect::<Result<Vec<T>>>()?;
        Ok(Page { items, next })
    }

    /// Every item of a query, to the end (for small, bounded sets such as a user's asks in one
    /// project).
    async fn query_all<T: DeserializeOwned>(
        &self,
        scope: Scope<'_>,
        filter: Option<(&str, &str)>,
    ) -> Result<Vec<T>> {
        let mut out = Vec::new();
        let mut page = PageRequest {
            size: crate::model::page::MAX_PAGE_SIZE,
            cursor: None,
        };
        loop {
            let got: Page<T> = self
                .query_filtered(
                    Scope {
                        index: scope.index,
                        partition: scope.partition.clone(),
                        prefix: scope.prefix,
                    },
                    &page,
                    filter,
                )
                .await?;
            out.extend(got.items);
            match got.next {
                Some(c) => page.cursor = Some(c),
                None => return Ok(out),
            }
        }
    }

    /// Runs one `TransactWriteItems`. `on_failed[i]` is the domain error a failed condition on the
    /// i-th item means (the transaction is rolled back: nothing of it is written). A transaction
    /// cancelled only for a conflict with another one in flight (`TransactionConflict`) or for
    /// throttling is sent again after a short random backoff, up to `TRANSACTION_ATTEMPTS` times
    /// (the SDK retries no `TransactionCanceledException`; a cancelled transaction wrote
    /// nothing), then it is `Unavailable` (503 with `Retry-After`). Each try carries a
    /// `ClientRequestToken`, so the SDK's own retry of a try that landed is idempotent.
    async fn transact(
        &self,
        op: &str,
        items: Vec<TransactWriteItem>,
        mut on_failed: Vec<Error>,
    ) -> Result<()> {
        if on_failed.len() != items.len() {
            return Err(Error::internal(format!(
                "{op}: {} items but {} failure meanings",
                items.len(),
                on_failed.len()
            )));
        }
        let mut attempt = 1;
        loop {
            // The SDK sends the same input again when an attempt times out or fails in transit:
            // with a token of its own per try, DynamoDB applies a transaction whose first attempt
            // did land only once and answers the repeat with success (not with its own conflict).
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .client_request_token(crate::model::ids::new_id())
                .send()
                .await;
            let err = match result {
                Ok(_) => return Ok(()),
                Err(e) => e,
            };
            let reasons: Option<Vec<CancellationReason>> = match &err {
                SdkError::ServiceError(se) => match se.err() {
                    aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(c) => {
                        Some(c.cancellation_reasons().to_vec())
                    }
                    _ => None,
                },
                _ => None,
            };
            let Some(reasons) = reasons else {
                return Err(sdk_error(op, err));
            };
            // A failed condition is the answer, whatever else was cancelled beside it.
            if let Some(i) = reasons
                .iter()
                .position(|r| r.code() == Some("ConditionalCheckFailed"))
            {
                if i < on_failed.len() {
                    return Err(on_failed.swap_remove(i));
                }
                return Err(Error::Internal(format!(
                    "{op}: condition failed on item {i} of {}",
                    on_failed.len()
                )));
            }
            let passing = reasons.iter().any(|r| {
                matches!(
                    r.code(),
                    Some(
                        "TransactionConflict" | "ThrottlingError" | "ProvisionedThroughputExceeded"
                    )
                )
            });
            if !passing {
                return Err(Error::Internal(format!(
                    "{op}: transaction cancelled: {reasons:?}"
                )));
            }
            if attempt >= TRANSACTION_ATTEMPTS {
                return Err(Error::Unavailable(format!(
                    "{op}: transaction cancelled {attempt} times (conflict or throttling): {reasons:?}"
                )));
            }
            tracing::debug!(op, attempt, "transaction conflict or throttling; retrying");
            tokio::time::sleep(transaction_backoff(attempt)).await;
            attempt += 1;
        }
    }
}

/// Tries of a transaction cancelled for a conflict or throttling (see `Store::transact`).
pub const TRANSACTION_ATTEMPTS: u32 = 3;

/// Half of 50 ms doubled per retry, plus a random part up to the other half: two transactions
/// that conflicted do not come back in step.
fn transaction_backoff(attempt: u32) -> std::time::Duration {
    let ceiling = 50u64 << attempt.saturating_sub(1).min(4);
    let jitter = (ulid::Ulid::new().random() % u128::from(ceiling / 2 + 1)) as u64;
    std::time::Duration::from_millis(ceiling / 2 + jitter)
}

#[cfg(test)]
mod transact_tests {
    use super::*;

    #[test]
    fn transaction_backoff_doubles_within_its_jitter_and_is_bounded() {
        for _ in 0..200 {
            for (attempt, ms) in [(1, 50), (2, 100), (3, 200), (9, 800)] {
                let d = transaction_backoff(attempt).as_millis() as u64;
                assert!((ms / 2..=ms).contains(&d), "attempt {attempt}: {d} ms");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::checks::{Name, Text};
    use crate::model::template::FieldName;

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    struct Thing {
        name: String,
        count: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    }

    #[test]
    fn envelope_round_trips_and_sparse_index_is_absent() {
        let thing = Thing {
            name: "a".into(),
            count: 3,
            note: None,
        };
        let key = Key {
            pk: "P".into(),
            sk: "S".into(),
        };
        let attrs = to_attrs(key, &[], "thing", &thing).expect("encode");
        assert!(
            !attrs.contains_key("gsi1pk"),
            "sparse index attribute must be absent, not NULL"
        );
        assert!(!attrs.contains_key("note"));
        assert_eq!(attrs["entity_type"], s("thing"));
        assert_eq!(attrs["count"], AttributeValue::N("3".into()));
        let back: Thing = from_attrs(attrs).expect("decode");
        assert_eq!(back, thing);
    }

    /// Every entity survives its trip through a DynamoDB item unchanged.
    #[test]
    fn each_entity_round_trips_through_its_item() {
        use crate::model::ids::*;
        use crate::model::project::{Member, Membership, Node, Person, Project, Role};
        use crate::model::template::{InfoField, Template};

        fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(
            entity_type: &str,
            value: T,
            indexes: &[IndexKey],
        ) {
            let attrs = to_attrs(
                Key {
                    pk: "P".into(),
                    sk: "S".into(),
                },
                indexes,
                entity_type,
                &value,
            )
            .expect("encode");
            for (index, attr) in [(GSI1, "gsi1pk"), (GSI2, "gsi2pk"), (GSI3, "gsi3pk")] {
                let has = indexes.iter().any(|i| i.index == index);
                assert_eq!(attrs.contains_key(attr), has, "{entity_type} {attr}");
            }
            let back: T = from_attrs(attrs).expect("decode");
            assert_eq!(back, value, "{entity_type}");
        }
        let p = ProjectId::parse("p", "server").expect("id");
        let person = Person {
            id: UserId::parse("u", "alice").expect("id"),
            email: Email::parse("e", "alice@example.com").expect("email"),
        };
        round_trip(
            "project",
            Project {
                id: p.clone(),
                name: Name::parse("test", "Server").expect("checked"),
                owner: person.clone(),
                created_at: "2026-01-01T00:00:00.000Z".into(),
                digest: crate::model::project::Digest::Daily,
                notify: crate::model::project::Notify::Both,
            },
            &[keys::digest_index(&p)],
        );
        let member = Member {
            project_id: p.clone(),
            project_name: Name::parse("test", "Server").expect("checked"),
            user: person.clone(),
            membership: Membership::Owner,
            added_at: "t".into(),
        };
        round_trip("member", member, &[keys::member_index(&p, &person.id)]);
        let role = Role {
            project_id: p.clone(),
            name: RoleName::parse("r", "reader").expect("role"),
            description: Text::default(),
            permissions: vec!["files:read".into(), "packages:read".into()],
            updated_at: "t".into(),
        };
        round_trip("role", role, &[]);
        round_trip(
            "node",
            Node {
                project_id: p.clone(),
                id: NodeId::parse("n", "input").expect("node"),
                name: Name::parse("test", "Input").expect("checked"),
                updated_at: "t".into(),
            },
            &[],
        );
        let field = InfoField {
            id: FieldId::generate(),
            name: FieldName::parse("test", "project id").expect("checked"),
            description: Text::parse("test", "d").expect("checked"),
            value: "server".into(),
        };
        for ttl_days in [None, Some(30)] {
            let template = Template {
                id: TemplateId::generate(),
                project_id: p.clone(),
                name: Name::parse("test", "Weather").expect("checked"),
                description: Text::default(),
                role: RoleName::parse("r", "reader").expect("role"),
                ttl_days,
                rate_limit_per_minute: None,
                fields: vec![field.clone()],
                version: 7,
                created_at: "t".into(),
                updated_at: "t".into(),
            };
            round_trip("template", template, &[]);
        }
    }

    #[test]
    fn cursors_only_continue_their_own_query() {
        let scope = Scope {
            index: None,
            partition: "PROJECT#a".into(),
            prefix: "ROLE#",
        };
        let attrs = key_attrs(&Key {
            pk: "PROJECT#a".into(),
            sk: "ROLE#x".into(),
        });
        let c = encode_cursor(&attrs, &scope).expect("encode");
        assert_eq!(decode_cursor(&c, &scope).expect("decode"), attrs);

        let other = Scope {
            index: None,
            partition: "PROJECT#b".into(),
            prefix: "ROLE#",
        };
        assert!(decode_cursor(&c, &other).is_err());
        let other_prefix = Scope {
            index: None,
            partition: "PROJECT#a".into(),
            prefix: "NODE#",
        };
        assert!(decode_cursor(&c, &other_prefix).is_err());
        assert!(decode_cursor("not base64!", &scope).is_err());
        assert!(decode_cursor(&URL_SAFE_NO_PAD.encode("[]"), &scope).is_err());
    }
}
