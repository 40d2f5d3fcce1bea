//! Fixed-window rate limits: one counter item per subject and window (`RATE#<subject>` /
//! `<window>`), taken with a conditional `ADD` so that concurrent containers never let more than
//! the limit through: one call at a time (a request's slot), or a lease of several that a
//! decision container spends from memory (`crate::usecases::leases`). The table's TTL removes a window's
//! counter after it has passed.

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};

use super::grants::{Attributes, Operation, Touch as T, op};
use super::keys::Key;
use super::keys::partitions::KEY_RATES;
use super::{Store, key_attrs, s, written};
use crate::error::{Error, Result};

/// One window of a limit: which counter, how many calls it allows, and when it ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    pub key: Key,
    pub limit: u32,
    /// The window's end (Unix seconds): the counter's TTL and the caller's `Retry-After`.
    pub ends_at: u64,
}

impl Window {
    /// The fixed window of `length` seconds that `now` (Unix seconds) falls in, for `subject`.
    pub fn at(subject: &str, length: u64, limit: u32, now: u64) -> Window {
        let start = now - now % length;
        Window {
            key: super::keys::rate_window(subject, &format!("{length}s#{start}")),
            limit,
            ends_at: start + length,
        }
    }

    /// Seconds from `now` until the window ends (at least 1).
    pub fn retry_after(&self, now: u64) -> u64 {
        self.ends_at.saturating_sub(now).max(1)
    }
}

const TAKE: &str = "SET entity_type = :et, expires_at = :ttl ADD calls :n";
/// Room for `:n` more within the limit (`:room` = limit - n), or the window's first take.
const UNDER: &str = "attribute_not_exists(calls) OR calls <= :room";

/// Every attribute a slot's update names, its keys included (`dynamodb:Attributes`: the only
/// ones the functions that take slots may update there).
pub const RATE_ATTRIBUTES: Attributes = Attributes {
    what: "the window's counter",
    names: &["pk", "sk", "entity_type", "expires_at", "calls"],
};

/// What each method touches (`store::grants`): only decisions call `take_lease`, on a key's
/// window (`RATE#KEY#k`); a request's slot is an item of `create_request`'s transaction.
pub(super) const OPERATIONS: &[Operation] = &[op(
    "take_lease",
    &[T::update(KEY_RATES).only(RATE_ATTRIBUTES)],
)];

/// The expressions' values for taking `n` calls (1 ≤ n ≤ the limit).
fn values(w: &Window, n: u32) -> [(&'static str, AttributeValue); 4] {
    [
        (":et", s("rate")),
        (":ttl", AttributeValue::N(w.ends_at.to_string())),
        (":n", AttributeValue::N(n.to_string())),
        (":room", AttributeValue::N((w.limit - n).to_string())),
    ]
}

impl Store {
    /// Takes `n` calls of the window at once (a lease): `false` when fewer than `n` are left
    /// (nothing is taken).
    pub async fn take_lease(&self, w: &Window, n: u32) -> Result<bool> {
        if n == 0 || n > w.limit {
            return Ok(false);
        }
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_attrs(&w.key)))
            .update_expression(TAKE)
            .condition_expression(UNDER);
        for (k, v) in values(w, n) {
            update = update.expression_attribute_values(k, v);
        }
        written("UpdateItem rate", update.send().await)
    }

    /// One call of the window as an item of a transaction: the transaction fails on this item
    /// when the limit is reached.
    pub(super) fn slot_item(&self, w: &Window) -> Result<TransactWriteItem> {
        if w.limit == 0 {
            return Err(Error::internal("a window of no calls"));
        }
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key_attrs(&w.key)))
            .update_expression(TAKE)
            .condition_expression(UNDER);
        for (k, v) in values(w, 1) {
            update = update.expression_attribute_values(k, v);
        }
        Ok(TransactWriteItem::builder()
            .update(update.build().map_err(Error::internal)?)
            .build())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_fixed_and_retry_after_counts_to_their_end() {
        let w = Window::at("KEY#k", 60, 5, 1_000_000_030);
        assert_eq!(w.key.pk, "RATE#KEY#k");
        assert_eq!(w.key.sk, "60s#1000000020");
        assert_eq!(w.ends_at, 1_000_000_080);
        assert_eq!(w.retry_after(1_000_000_030), 50);
        assert_eq!(w.retry_after(1_000_000_080), 1, "never 0");
        let same = Window::at("KEY#k", 60, 5, 1_000_000_079);
        assert_eq!(same.key, w.key, "one window for its whole minute");
        assert_ne!(Window::at("KEY#k", 60, 5, 1_000_000_080).key, w.key);
    }

    /// The attributes the expressions name, besides placeholders, functions and keywords.
    fn named(expression: &str) -> Vec<String> {
        expression
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
            .filter(|w| !w.is_empty() && !w.starts_with(':'))
            .filter(|w| !["SET", "ADD", "OR", "AND", "attribute_not_exists"].contains(w))
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn a_slot_names_only_the_attributes_its_grant_allows() {
        let mut names = named(TAKE);
        names.extend(named(UNDER));
        names.extend(["pk".to_string(), "sk".to_string()]);
        names.sort();
        names.dedup();
        let mut allowed: Vec<String> = RATE_ATTRIBUTES
            .names
            .iter()
            .map(|n| n.to_string())
            .collect();
        allowed.sort();
        assert_eq!(names, allowed);
        let w = Window::at("KEY#k", 60, 5, 1_000_000_030);
        for (placeholder, _) in values(&w, 2) {
            assert!(placeholder.starts_with(':'), "{placeholder}");
        }
    }
}
