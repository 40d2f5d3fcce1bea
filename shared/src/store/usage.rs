//! Usage counters (`KEY#k` / `USAGE#yyyy-mm-dd#<writer>`): each container (`keygate::usecases::counting`)
//! adds its decisions' counts to its own item of the key's day in batches, one conditional
//! `UpdateItem ADD` per item and flush; and the reads the decisions and the statistics need.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;

use super::grants::{Attributes, Operation, Touch as T, op};
use super::keys::partitions::{KEYS, PROJECTS};
use super::{Attrs, Store, from_attrs, key_attrs, keys, s, sdk_error, written};
use crate::error::Result;
use crate::model::ids::{KeyId, ProjectId, RoleName};
use crate::model::key::ApiKey;
use crate::model::project::Role;

/// Every attribute a count's update names, its keys included (`dynamodb:Attributes` patterns,
/// IAM `StringLike`: `?` one character, `*` any run): the only ones the decisions may update in
/// a key's partition. The hours' counters are `hHH` and `hdHH`, the routes' `r:<route>`, the
/// reasons' `d:<reason>`; `seq` is the writer's flush sequence that makes a retried update count
/// once. Of a key's record they reach only `entity_type` and `last_used_at` (and could add
/// `expires_at` or `seq`): never its status, role, holder, validity or roll.
pub const USAGE_ATTRIBUTES: Attributes = Attributes {
    what: "usage counters",
    names: &[
        "pk",
        "sk",
        "entity_type",
        "key_id",
        "day",
        "expires_at",
        "last_used_at",
        "seq",
        "total",
        "denied",
        "h??",
        "hd??",
        "r:*",
        "d:*",
    ],
};

/// What each method touches (`store::grants`): a decision reads the key (`KEY#k`) and its role
/// (`PROJECT#p`) in one batch and adds its container's counts in the key's partition, its
/// counters' attributes only; the statistics query the key's partition.
pub(super) const OPERATIONS: &[Operation] = &[
    op(
        "key_and_role",
        &[T::batch_get(KEYS), T::batch_get(PROJECTS)],
    ),
    op("add_usage", &[T::update(KEYS).only(USAGE_ATTRIBUTES)]),
    op("last_used", &[T::query(KEYS)]),
    op("usage_between", &[T::query(KEYS)]),
];

/// Counters live this long (days) after their day, then TTL removes them: the longest statistics
/// range is 366 days.
pub const USAGE_RETENTION_DAYS: i64 = 400;

/// One decision to count: on which key, day, hour and route, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageCount {
    key: KeyId,
    /// `yyyy-mm-dd`
    day: String,
    /// `00`..`23`
    hour: String,
    route: String,
    at: String,
}

impl UsageCount {
    /// `at` is an RFC 3339 UTC time (`model::time::now()`).
    pub fn new(key: &KeyId, at: &str, route: &str) -> Self {
        UsageCount {
            key: key.clone(),
            day: at.get(..10).unwrap_or("1970-01-01").to_string(),
            hour: at.get(11..13).unwrap_or("00").to_string(),
            route: route.to_string(),
            at: at.to_string(),
        }
    }

    pub fn key(&self) -> &KeyId {
        &self.key
    }

    /// `yyyy-mm-dd`: the item it is counted in.
    pub fn day(&self) -> &str {
        &self.day
    }
}

/// Counts to add to one item (a key's day, as one writer counts it): counter name -> how many,
/// and the latest use among them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageDelta {
    /// `total`, `denied`, `h07`, `hd07`, `r:<route>`, `d:<reason>` -> count.
    pub counters: BTreeMap<String, u64>,
    pub last_used_at: Option<String>,
}

impl UsageDelta {
    /// Adds a decision: `call` the call itself (total, its hour, its route, last use), `denied`
    /// a denial (denied, its hour, its reason).
    pub fn add(&mut self, c: &UsageCount, call: bool, denied: Option<&str>) {
        let mut one = |name: String| *self.counters.entry(name).or_default() += 1;
        if call {
            one("total".into());
            one(format!("h{}", c.hour));
            one(format!("r:{}", c.route));
        }
        if let Some(reason) = denied {
            one("denied".into());
            one(format!("hd{}", c.hour));
            one(format!("d:{reason}"));
        }
        if call && self.last_used_at.as_deref() < Some(c.at.as_str()) {
            self.last_used_at = Some(c.at.clone());
        }
    }

    /// Adds another delta of the same item (counts not yet sent).
    pub fn merge(&mut self, other: UsageDelta) {
        for (name, n) in other.counters {
            *self.counters.entry(name).or_default() += n;
        }
        if self.last_used_at < other.last_used_at {
            self.last_used_at = other.last_used_at;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.counters.is_empty()
    }
}

/// One update of a writer's item: what to add, and the writer's flush sequence number, greater
/// than that of every earlier update of the item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageWrite {
    pub key: KeyId,
    pub day: String,
    pub writer: String,
    pub seq: u64,
    pub delta: UsageDelta,
}

/// What became of an update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Added now.
    Now,
    /// Its condition failed: the item already holds this sequence number or a later one, so an
    /// earlier try of this very update landed (its answer was lost). Nothing was added twice.
    Before,
}

/// The counters of one item of one day (a writer's, or an earlier version's shard), as read back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageShard {
    pub day: String,
    /// `total`, `denied`, `h07`, `hd07`, `r:<route>`, `d:<reason>` -> count.
    pub counters: HashMap<String, u64>,
    pub last_used_at: Option<String>,
}

fn ttl_of(day: &str) -> i64 {
    let parsed = time::Date::parse(
        day,
        time::macros::format_description!("[year]-[month]-[day]"),
    );
    let midnight = parsed
        .map(|d| d.midnight().assume_utc().unix_timestamp())
        .unwrap_or(0);
    midnight + USAGE_RETENTION_DAYS * 86_400
}

impl Store {
    /// A key and a role of its project, read together (one `BatchGetItem`).
    pub async fn key_and_role(
        &self,
        jti: &str,
        project: &ProjectId,
        role: &str,
    ) -> Result<(Option<ApiKey>, Option<Role>)> {
        let (Ok(k), Ok(r)) = (KeyId::parse("jti", jti), RoleName::parse("role", role)) else {
            return Ok((None, None));
        };
        let items = self
            .batch_get_raw(&[keys::api_key(&k), keys::role(project, &r)])
            .await?;
        let (mut key, mut found_role) = (None, None);
        for item in items {
            match item
                .get("entity_type")
                .and_then(|v| v.as_s().ok())
                .map(String::as_str)
            {
                Some("key") => key = Some(from_attrs::<ApiKey>(item)?),
                Some("role") => found_role = Some(from_attrs::<Role>(item)?),
                _ => {}
            }
        }
        Ok((key, found_role))
    }

    /// Adds a writer's counts to its item of the key's day, once: the update is conditional on
    /// the item's `seq` being below the write's, and sets it. A retry of an update that landed
    /// (its answer lost) fails that condition and changes nothing: [`Applied::Before`]. This
    /// holds only because a writer never sends an item's next update before the previous one is
    /// known applied (`keygate::usecases::counting`). The race it prevents: counting one batch twice.
    pub async fn add_usage(&self, w: &UsageWrite) -> Result<Applied> {
        let Some(update) = usage_update(w) else {
            return Ok(Applied::Now);
        };
        let key = keys::usage(&w.key, &w.day, &w.writer);
        let sent = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_attrs(&key)))
            .update_expression(update.expression)
            .condition_expression(SEQ_BELOW)
            .set_expression_attribute_names(Some(update.names))
            .set_expression_attribute_values(Some(update.values))
            .send()
            .await;
        Ok(if written("UpdateItem usage", sent)? {
            Applied::Now
        } else {
            Applied::Before
        })
    }

    /// When the key was last used: the latest `last_used_at` of the items of its most recent
    /// day (newest day first, paged until the day changes: a day may have many writers' items).
    pub async fn last_used(&self, k: &KeyId) -> Result<Option<String>> {
        let day = |i: &Attrs| {
            i.get("sk")
                .and_then(|v| v.as_s().ok())
                .and_then(|sk| sk.get(keys::USAGE.len()..keys::USAGE.len() + 10))
                .map(str::to_string)
        };
        let (mut latest_day, mut latest) = (None, None::<String>);
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :usage)")
                .expression_attribute_values(":pk", s(keys::key_partition(k)))
                .expression_attribute_values(":usage", s(keys::USAGE))
                .projection_expression("sk, last_used_at")
                .scan_index_forward(false)
                .limit(64)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| sdk_error("Query", e))?;
            for item in out.items.unwrap_or_default() {
                let d = day(&item);
                if latest_day.is_none() {
                    latest_day = d.clone();
                }
                if d != latest_day {
                    return Ok(latest);
                }
                if let Some(at) = item.get("last_used_at").and_then(|v| v.as_s().ok())
                    && latest.as_deref() < Some(at.as_str())
                {
                    latest = Some(at.clone());
                }
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(latest);
            }
        }
    }

    /// Every counter item of a key from day `from` to day `to` (`yyyy-mm-dd`, inclusive), every
    /// writer's: paged to the end.
    pub async fn usage_between(&self, k: &KeyId, from: &str, to: &str) -> Result<Vec<UsageShard>> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
                .expression_attribute_values(":pk", s(keys::key_partition(k)))
                .expression_attribute_values(":from", s(format!("{}{from}", keys::USAGE)))
                .expression_attribute_values(":to", s(format!("{}{to}#~", keys::USAGE)))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| sdk_error("Query", e))?;
            for item in page.items.unwrap_or_default() {
                out.push(shard_of(item));
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(out);
            }
        }
    }
}

/// A write's `UpdateItem`: the expression and its placeholders.
struct UsageUpdate {
    expression: String,
    names: HashMap<String, String>,
    values: Attrs,
}

/// Below the write's sequence number (or the item's first write): see [`Store::add_usage`].
const SEQ_BELOW: &str = "attribute_not_exists(#seq) OR #seq < :seq";

/// Adds every counter of the delta and sets the item's identity, TTL, `seq` and last use; `None`
/// when there is nothing to add. Every attribute goes through a placeholder (`names`), so the
/// names are all an IAM policy sees (`USAGE_ATTRIBUTES`).
fn usage_update(w: &UsageWrite) -> Option<UsageUpdate> {
    if w.delta.is_empty() {
        return None;
    }
    let mut names: HashMap<String, String> = HashMap::new();
    let mut values: Attrs = HashMap::new();
    let mut add = Vec::new();
    let mut set = vec![
        "#et = :et".to_string(),
        "#kid = :kid".to_string(),
        "#day = :day".to_string(),
        "#ttl = :ttl".to_string(),
        "#seq = :seq".to_string(),
    ];
    names.insert("#et".into(), "entity_type".into());
    names.insert("#kid".into(), "key_id".into());
    names.insert("#day".into(), "day".into());
    names.insert("#ttl".into(), "expires_at".into());
    names.insert("#seq".into(), "seq".into());
    values.insert(":et".into(), s("usage"));
    values.insert(":kid".into(), s(w.key.as_str()));
    values.insert(":day".into(), s(w.day.clone()));
    values.insert(":ttl".into(), AttributeValue::N(ttl_of(&w.day).to_string()));
    values.insert(":seq".into(), AttributeValue::N(w.seq.to_string()));
    for (i, (attr, n)) in w.delta.counters.iter().enumerate() {
        add.push(format!("#c{i} :n{i}"));
        names.insert(format!("#c{i}"), attr.clone());
        values.insert(format!(":n{i}"), AttributeValue::N(n.to_string()));
    }
    if let Some(at) = &w.delta.last_used_at {
        set.push("#last = :at".into());
        names.insert("#last".into(), "last_used_at".into());
        values.insert(":at".into(), s(at.clone()));
    }
    Some(UsageUpdate {
        expression: format!("ADD {} SET {}", add.join(", "), set.join(", ")),
        names,
        values,
    })
}

fn shard_of(item: Attrs) -> UsageShard {
    let mut shard = UsageShard::default();
    for (name, v) in item {
        match (name.as_str(), v) {
            ("day", AttributeValue::S(d)) => shard.day = d,
            ("last_used_at", AttributeValue::S(t)) => shard.last_used_at = Some(t),
            ("expires_at" | "seq", _) => {}
            (_, AttributeValue::N(n)) => {
                if let Ok(n) = n.parse::<u64>() {
                    shard.counters.insert(name, n);
                }
            }
            _ => {}
        }
    }
    shard
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::grants::like;

    fn allowed(name: &str) -> bool {
        USAGE_ATTRIBUTES.names.iter().any(|p| like(p, name))
    }

    /// Every attribute a write names is one the decisions' grant allows: a name outside it
    /// would be refused by IAM in production, where no local test runs.
    #[test]
    fn a_write_names_only_the_attributes_its_grant_allows() {
        let k = KeyId::generate();
        let mut delta = UsageDelta::default();
        for hour in 0..24 {
            let at = format!("2026-01-01T{hour:02}:05:00.000Z");
            for route in ["GET /projects/{p}/files/{f}", "GET /v1/token", "unknown"] {
                let c = UsageCount::new(&k, &at, route);
                delta.add(&c, true, None);
                delta.add(&c, true, Some("permission_missing"));
                delta.add(&c, false, Some("rate_limited"));
            }
        }
        let w = UsageWrite {
            key: k.clone(),
            day: "2026-01-01".into(),
            writer: "01kbw0000000000000000000".into(),
            seq: 7,
            delta,
        };
        let u = usage_update(&w).expect("something to add");
        for expression in [u.expression.as_str(), SEQ_BELOW] {
            for word in expression.split([' ', ',', '=', '<', '(', ')']) {
                assert!(
                    word.is_empty()
                        || word.starts_with(['#', ':'])
                        || ["ADD", "SET", "OR", "attribute_not_exists"].contains(&word),
                    "{word}: every attribute goes through a placeholder"
                );
            }
        }
        for name in u.names.values().map(String::as_str).chain(["pk", "sk"]) {
            assert!(allowed(name), "{name} is not in USAGE_ATTRIBUTES");
        }
        assert_eq!(u.names["#seq"], "seq");
        assert!(
            usage_update(&UsageWrite {
                delta: UsageDelta::default(),
                ..w
            })
            .is_none()
        );
    }

    #[test]
    fn a_delta_adds_and_merges_counts_and_keeps_the_latest_use() {
        let k = KeyId::generate();
        let mut a = UsageDelta::default();
        a.add(
            &UsageCount::new(&k, "2026-01-01T07:05:00.000Z", "GET /a"),
            true,
            None,
        );
        a.add(
            &UsageCount::new(&k, "2026-01-01T09:00:00.000Z", "GET /a"),
            true,
            Some("permission_missing"),
        );
        let mut b = UsageDelta::default();
        b.add(
            &UsageCount::new(&k, "2026-01-01T08:00:00.000Z", "unknown"),
            true,
            None,
        );
        b.add(
            &UsageCount::new(&k, "2026-01-01T23:00:00.000Z", "GET /a"),
            false,
            Some("rate_limited"),
        );
        a.merge(b);
        let counts: Vec<(&str, u64)> = a.counters.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        assert_eq!(
            counts,
            vec![
                ("d:permission_missing", 1),
                ("d:rate_limited", 1),
                ("denied", 2),
                ("h07", 1),
                ("h08", 1),
                ("h09", 1),
                ("hd09", 1),
                ("hd23", 1),
                ("r:GET /a", 2),
                ("r:unknown", 1),
                ("total", 3),
            ]
        );
        // A denial alone (a rate limit's) is no use of the key.
        assert_eq!(a.last_used_at.as_deref(), Some("2026-01-01T09:00:00.000Z"));
    }

    /// What a key's record holds that decides what the key may do is out of the decisions'
    /// reach, through counters or rate windows alike.
    #[test]
    fn the_decisions_cannot_update_what_a_key_record_decides() {
        let rate = super::super::limits::RATE_ATTRIBUTES.names;
        for name in [
            "status",
            "role",
            "holder",
            "project_id",
            "template_id",
            "valid_until",
            "exp",
            "iat",
            "iss",
            "aud",
            "kid",
            "revoked_at",
            "revoked_by",
            "replaced_by",
            "grace_until",
            "expired_seen_at",
            "fields",
            "gsi1pk",
            "gsi2pk",
            "gsi3pk",
        ] {
            assert!(!allowed(name), "{name}");
            assert!(!rate.iter().any(|p| like(p, name)), "{name}");
        }
    }
}
