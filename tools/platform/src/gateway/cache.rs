//! The authorizer answer cache: API Gateway's, keyed by the identity source values, for
//! `AuthorizerCacheSeconds`. Both allows and denies are kept (with their context); errors are
//! never stored.
//!
//! "When caching is enabled for an authorizer, API Gateway uses the authorizer's identity
//! sources as the cache key. If a client specifies the same parameters in identity sources
//! within the configured TTL, API Gateway uses the cached authorizer result, rather than
//! invoking your Lambda function." ("Caching authorizer responses",
//! https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html#http-api-lambda-authorizer.caching)

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

/// A valid simple response from the authorizer.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    pub authorized: bool,
    pub context: Arc<Map<String, Value>>,
}

/// At most this many answers are kept: a flood of distinct tokens or paths cannot grow the
/// stand-in without bound.
const MAX_ENTRIES: usize = 10_000;

pub struct Cache {
    ttl: Duration,
    entries: Mutex<HashMap<Vec<String>, (Instant, Answer)>>,
}

impl Cache {
    /// A cache keeping answers for `ttl` (zero: nothing is kept).
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    pub fn enabled(&self) -> bool {
        !self.ttl.is_zero()
    }

    /// The answer stored for these identity source values, if still fresh.
    pub fn get(&self, key: &[String], now: Instant) -> Option<Answer> {
        if !self.enabled() {
            return None;
        }
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        match entries.get(key) {
            Some((expires, answer)) if now < *expires => Some(answer.clone()),
            Some(_) => {
                entries.remove(key);
                None
            }
            None => None,
        }
    }

    pub fn put(&self, key: Vec<String>, answer: Answer, now: Instant) {
        if !self.enabled() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, (expires, _)| now < *expires);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(key, (now + self.ttl, answer));
    }

    /// Empties the cache; returns how many answers it held.
    pub fn clear(&self) -> usize {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let n = entries.len();
        entries.clear();
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allow() -> Answer {
        Answer {
            authorized: true,
            context: Arc::new(Map::new()),
        }
    }

    #[test]
    fn answers_expire_after_the_ttl() {
        let cache = Cache::new(Duration::from_secs(5));
        let t0 = Instant::now();
        let key = vec!["Bearer t".to_string(), "GET".to_string()];
        cache.put(key.clone(), allow(), t0);
        assert_eq!(cache.get(&key, t0 + Duration::from_secs(4)), Some(allow()));
        assert_eq!(cache.get(&["other".to_string()], t0), None);
        assert_eq!(cache.get(&key, t0 + Duration::from_secs(5)), None);
    }

    #[test]
    fn a_zero_ttl_keeps_nothing() {
        let cache = Cache::new(Duration::ZERO);
        let t0 = Instant::now();
        cache.put(vec!["k".into()], allow(), t0);
        assert_eq!(cache.get(&["k".to_string()], t0), None);
        assert_eq!(cache.clear(), 0);
    }
}
