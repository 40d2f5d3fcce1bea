//! Usage counters (`KEY#k` / `USAGE#yyyy-mm-dd#shard`): one `UpdateItem ADD` per decision on one
//! of N shards of the key's day, and the reads a decision and the statistics need.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::grants::{Attributes, Operation, Touch as T, op};
use super::keys::partitions::{KEYS, PROJECTS};
use super::{Attrs, Store, from_attrs, key_attrs, keys, s, sdk_error};
use crate::domain::ids::{KeyId, ProjectId, RoleName};
use crate::error::Result;
use crate::model::key::ApiKey;
use crate::model::project::Role;

/// Every attribute a count's update names, its keys included (`dynamodb:Attributes` patterns,
/// IAM `StringLike`: `?` one character, `*` any run): the only ones the decisions may update in
/// a key's partition. The hours' counters are `hHH` and `hdHH`, the routes' `r:<route>`, the
/// reasons' `d:<reason>`. Of a key's record they reach only `entity_type` and `last_used_at`
/// (and could add `expires_at`): never its status, role, holder, validity or roll.
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
        "total",
        "denied",
        "h??",
        "hd??",
        "r:*",
        "d:*",
    ],
};

/// What each method touches (`store::grants`): a decision reads the key (`KEY#k`) and its role
/// (`PROJECT#p`) in one batch and counts in the key's partition, its counters' attributes only;
/// the statistics query the key's partition.
pub(super) const OPERATIONS: &[Operation] = &[
    op(
        "key_and_role",
        &[T::batch_get(KEYS), T::batch_get(PROJECTS)],
    ),
    op("count_usage", &[T::update(KEYS).only(USAGE_ATTRIBUTES)]),
    op("last_used", &[T::query(KEYS)]),
    op("usage_between", &[T::query(KEYS)]),
];

/// Counters live this long (days) after their day, then TTL removes them: the longest statistics
/// range is 366 days.
pub const USAGE_RETENTION_DAYS: i64 = 400;

/// One decision to count: on which key, day, hour and route, and on which shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageCount {
    key: KeyId,
    /// `yyyy-mm-dd`
    day: String,
    /// `00`..`23`
    hour: String,
    route: String,
    shard: u32,
    at: String,
}

impl UsageCount {
    /// `at` is an RFC 3339 UTC time (`domain::now()`); the shard is picked at random.
    pub fn new(key: &KeyId, at: &str, route: &str, shards: u32) -> Self {
        let shard = (ulid::Ulid::new().random() % u128::from(shards.max(1))) as u32;
        UsageCount {
            key: key.clone(),
            day: at.get(..10).unwrap_or("1970-01-01").to_string(),
            hour: at.get(11..13).unwrap_or("00").to_string(),
            route: route.to_string(),
            shard,
            at: at.to_string(),
        }
    }
}

/// The counters of one shard of one day, as read back.
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

    /// Counts a decision on its shard: `call` adds the call itself (total, its hour, its route,
    /// last use), `denied` a denial (denied, its hour, its reason). One `UpdateItem`.
    pub async fn count_usage(
        &self,
        c: &UsageCount,
        call: bool,
        denied: Option<&str>,
    ) -> Result<()> {
        let Some(update) = usage_update(c, call, denied) else {
            return Ok(());
        };
        let key = keys::usage(&c.key, &c.day, c.shard);
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_attrs(&key)))
            .update_expression(update.expression)
            .set_expression_attribute_names(Some(update.names))
            .set_expression_attribute_values(Some(update.values))
            .send()
            .await
            .map_err(|e| sdk_error("UpdateItem", e))?;
        Ok(())
    }

    /// When the key was last used: the latest `last_used_at` of its most recent counter shards
    /// (one query, newest day first).
    pub async fn last_used(&self, k: &KeyId) -> Result<Option<String>> {
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
            .send()
            .await
            .map_err(|e| sdk_error("Query", e))?;
        let items = out.items.unwrap_or_default();
        let day = |i: &Attrs| {
            i.get("sk")
                .and_then(|v| v.as_s().ok())
                .and_then(|sk| sk.get(keys::USAGE.len()..keys::USAGE.len() + 10))
                .map(str::to_string)
        };
        let latest = items.first().and_then(day);
        Ok(items
            .iter()
            .filter(|i| day(i) == latest)
            .filter_map(|i| i.get("last_used_at").and_then(|v| v.as_s().ok()).cloned())
            .max())
    }

    /// Every counter shard of a key from day `from` to day `to` (`yyyy-mm-dd`, inclusive).
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

/// A count's `UpdateItem`: the expression and its placeholders.
struct UsageUpdate {
    expression: String,
    names: HashMap<String, String>,
    values: Attrs,
}

/// `call` adds the call itself (total, its hour, its route, last use), `denied` a denial (denied,
/// its hour, its reason); `None` when there is nothing to count. Every attribute goes through a
/// placeholder (`names`), so the names are all an IAM policy sees (`USAGE_ATTRIBUTES`).
fn usage_update(c: &UsageCount, call: bool, denied: Option<&str>) -> Option<UsageUpdate> {
    if !call && denied.is_none() {
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
    ];
    names.insert("#et".into(), "entity_type".into());
    names.insert("#kid".into(), "key_id".into());
    names.insert("#day".into(), "day".into());
    names.insert("#ttl".into(), "expires_at".into());
    values.insert(":et".into(), s("usage"));
    values.insert(":kid".into(), s(c.key.as_str()));
    values.insert(":day".into(), s(c.day.clone()));
    values.insert(":ttl".into(), AttributeValue::N(ttl_of(&c.day).to_string()));
    values.insert(":one".into(), AttributeValue::N("1".into()));
    let mut counter = |attr: String| {
        let p = format!("#c{}", names.len());
        add.push(format!("{p} :one"));
        names.insert(p, attr);
    };
    if call {
        counter("total".into());
        counter(format!("h{}", c.hour));
        counter(format!("r:{}", c.route));
    }
    if let Some(reason) = denied {
        counter("denied".into());
        counter(format!("hd{}", c.hour));
        counter(format!("d:{reason}"));
    }
    if call {
        set.push("#last = :at".into());
        names.insert("#last".into(), "last_used_at".into());
        values.insert(":at".into(), s(c.at.clone()));
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
            ("expires_at", _) => {}
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

    /// Every attribute a count names is one the decisions' grant allows: a name outside it
    /// would be refused by IAM in production, where no local test runs.
    #[test]
    fn a_count_names_only_the_attributes_its_grant_allows() {
        let k = KeyId::generate();
        for hour in 0..24 {
            let at = format!("2026-01-01T{hour:02}:05:00.000Z");
            for route in ["GET /projects/{p}/files/{f}", "GET /v1/token", "unknown"] {
                let c = UsageCount::new(&k, &at, route, 8);
                for (call, denied) in [
                    (true, None),
                    (true, Some("permission_missing")),
                    (false, Some("rate_limited")),
                ] {
                    let u = usage_update(&c, call, denied).expect("something to count");
                    for placeholder in u.expression.split([' ', ',', '=']) {
                        assert!(
                            placeholder.is_empty()
                                || placeholder.starts_with(['#', ':'])
                                || ["ADD", "SET"].contains(&placeholder),
                            "{placeholder}: every attribute goes through a placeholder"
                        );
                    }
                    for name in u.names.values().map(String::as_str).chain(["pk", "sk"]) {
                        assert!(allowed(name), "{name} is not in USAGE_ATTRIBUTES");
                    }
                }
            }
        }
        assert!(usage_update(&UsageCount::new(&k, "t", "r", 1), false, None).is_none());
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
