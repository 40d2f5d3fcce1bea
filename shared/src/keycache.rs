//! A key set read from somewhere slow (the table, Secrets Manager), kept per container: read on
//! first use (not at start-up), trusted for a configured time, read again early when a token
//! names a `kid` the cached set does not have (after a rotation), at most every
//! [`REREAD_AFTER_UNKNOWN_KID`].

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::RwLock;

use crate::error::Result;

/// A `kid` the cached set does not know triggers a re-read at most this often.
pub const REREAD_AFTER_UNKNOWN_KID: Duration = Duration::from_secs(10);

/// What the cache needs to know of a key set.
pub trait Kids {
    fn knows(&self, kid: &str) -> bool;
}

/// The cached set and when it was read.
type Entry<T> = Option<(Instant, Arc<T>)>;

/// Clones share one cache.
pub struct KeyCache<T> {
    ttl: Duration,
    cell: Arc<RwLock<Entry<T>>>,
}

impl<T> Clone for KeyCache<T> {
    fn clone(&self) -> Self {
        KeyCache {
            ttl: self.ttl,
            cell: self.cell.clone(),
        }
    }
}

impl<T: Kids> KeyCache<T> {
    pub fn new(ttl: Duration) -> Self {
        KeyCache {
            ttl,
            cell: Arc::new(RwLock::new(None)),
        }
    }

    /// The cached set when it is fresh and knows `kid` (if given); otherwise `read`'s result,
    /// cached. Concurrent callers wait for one read.
    pub async fn get<F, Fut>(&self, kid: Option<&str>, read: F) -> Result<Arc<T>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let fresh = |entry: &Entry<T>| {
            entry.as_ref().and_then(|(at, set)| {
                let age = at.elapsed();
                let knows = kid.is_none_or(|k| set.knows(k));
                (age < self.ttl && (knows || age < REREAD_AFTER_UNKNOWN_KID)).then(|| set.clone())
            })
        };
        if let Some(set) = fresh(&*self.cell.read().await) {
            return Ok(set);
        }
        let mut cell = self.cell.write().await;
        // Another caller may have read it while this one waited for the lock.
        if let Some(set) = fresh(&cell) {
            return Ok(set);
        }
        let set = Arc::new(read().await?);
        *cell = Some((Instant::now(), set.clone()));
        Ok(set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Set(Vec<&'static str>);

    impl Kids for Set {
        fn knows(&self, kid: &str) -> bool {
            self.0.contains(&kid)
        }
    }

    #[tokio::test]
    async fn reads_once_while_fresh_and_known() {
        let cache = KeyCache::new(Duration::from_secs(300));
        let reads = AtomicUsize::new(0);
        let read = || async {
            reads.fetch_add(1, Ordering::SeqCst);
            Ok(Set(vec!["a"]))
        };
        cache.get(None, read).await.expect("read");
        cache.get(Some("a"), read).await.expect("cached");
        assert_eq!(reads.load(Ordering::SeqCst), 1);
        // An unknown kid right after a read does not read again (rate limit)...
        let set = cache.get(Some("b"), read).await.expect("cached");
        assert!(!set.knows("b"));
        assert_eq!(reads.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn expired_sets_are_read_again_and_errors_are_not_cached() {
        let cache = KeyCache::new(Duration::ZERO);
        let reads = AtomicUsize::new(0);
        let read = || async {
            reads.fetch_add(1, Ordering::SeqCst);
            Ok(Set(vec!["a"]))
        };
        cache.get(None, read).await.expect("read");
        cache.get(None, read).await.expect("read again");
        assert_eq!(reads.load(Ordering::SeqCst), 2);
        let failed = cache
            .get(None, || async {
                Err(crate::Error::Unavailable("down".into()))
            })
            .await;
        assert!(failed.is_err());
        cache.get(None, read).await.expect("read after a failure");
        assert_eq!(reads.load(Ordering::SeqCst), 3);
    }
}
