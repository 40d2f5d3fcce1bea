//! Usage counters (`KEY#k` / `USAGE#yyyy-mm-dd#shard`): one `UpdateItem ADD` per decision on one
//! of N shards of the key's day, and the reads a decision and the statistics need.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::{Attrs, Store, from_attrs, key_attrs, keys, s, sdk_error};
use crate::domain::ids::{KeyId, ProjectId, RoleName};
use crate::domain::key::ApiKey;
use crate::domain::project::Role;
use crate::error::Result;

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
        if !call && denied.is_none() {
            return Ok(());
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
        let key = keys::usage(&c.key, &c.day, c.shard);
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_attrs(&key)))
            .update_expression(format!("ADD {} SET {}", add.join(", "), set.join(", ")))
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
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
