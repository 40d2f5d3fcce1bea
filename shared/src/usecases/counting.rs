//! Usage counting off the request path: a container's decisions are counted in memory, per key
//! and day (total, per hour, per route, per denial reason, last use), and written in batches by
//! [`UsageBatch::flush`]: every `USAGE_FLUSH_SECONDS`, sooner when the batch is large, and when
//! the container shuts down. A decision waits on no write.
//!
//! Each container is a writer with its own id (a ULID drawn at start) and its own item per key
//! and day (`KEY#k` / `USAGE#<day>#<writer>`): nobody else writes it, so a busy key is spread over
//! the containers that serve it, as the random shards of earlier versions spread it. Every update
//! carries the writer's next flush sequence number and is conditional on the item's `seq` being
//! lower (`Store::add_usage`). A flush whose answer is lost (a timeout, a 5xx after the write
//! landed, the SDK's own retry of it) is kept and sent again unchanged; if it had landed, its
//! condition fails and it is known applied: it never counts twice. For that to hold, an item's
//! updates go strictly in order: while one is in doubt, the item's newer counts wait in the
//! unsent batch (merged only there) and are sent, with a new number, once it is known applied.
//!
//! Within Lambda the container is frozen between invocations, and the background flush task with
//! it: a flush frozen mid-call may see that call time out when the container thaws, or Lambda may
//! have answered it meanwhile; either way it is the lost-answer case above, and the retry is
//! idempotent. A container that goes idle keeps its last counts until its next invocation (after
//! the interval) or its shutdown, when Lambda's SIGTERM (the runtime's graceful-shutdown hook,
//! [`run_in_background`]) flushes them. What a container killed outright (`kill -9`, a crash)
//! loses is bounded by what it had not yet written: its counts since its last flush (at most
//! `USAGE_FLUSH_SECONDS` of its calls, or one large batch) and any flush still in doubt.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::model::ids::KeyId;
use crate::store::{Applied, Store, UsageCount, UsageDelta, UsageWrite};

/// A batch is flushed at once, without waiting for the interval, when it holds counts of this
/// many items (a key's day each, one update each): memory and the flush's size stay bounded
/// whatever the traffic.
pub const LARGE_BATCH_ITEMS: usize = 200;

/// Updates of one flush in flight at the same time.
const FLUSH_CONCURRENCY: usize = 16;

/// An item: a key's day.
type Item = (KeyId, String);

/// What one flush did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flushed {
    /// Updates that landed now.
    pub written: usize,
    /// Retried updates found already applied (their earlier answer was lost).
    pub already_applied: usize,
    /// Updates that failed and are kept for the next flush.
    pub kept: usize,
}

/// One container's uncounted decisions and its updates in doubt.
pub struct UsageBatch {
    store: Store,
    writer: String,
    interval: Duration,
    /// Counts not yet sent, per item. A plain mutex: held for a map update, never across an
    /// await, so a decision never waits on a flush.
    pending: Mutex<HashMap<Item, UsageDelta>>,
    /// Sent updates whose outcome is unknown (failed), to send again unchanged; its lock also
    /// makes flushes take turns.
    in_doubt: tokio::sync::Mutex<Vec<UsageWrite>>,
    seq: AtomicU64,
    wake: tokio::sync::Notify,
}

impl UsageBatch {
    /// A new writer (a fresh id) flushing every `interval` once started.
    pub fn new(store: Store, interval: Duration) -> Self {
        UsageBatch {
            store,
            writer: crate::model::ids::new_id(),
            interval,
            pending: Mutex::new(HashMap::new()),
            in_doubt: tokio::sync::Mutex::new(Vec::new()),
            seq: AtomicU64::new(0),
            wake: tokio::sync::Notify::new(),
        }
    }

    /// This container's writer id (the last part of its items' sort keys).
    pub fn writer(&self) -> &str {
        &self.writer
    }

    /// Counts a decision: `call` the call itself, `denied` its denial reason's counter. Memory
    /// only; wakes the flush task when the batch has grown large.
    pub fn record(&self, c: &UsageCount, call: bool, denied: Option<&str>) {
        let large = match self.pending.lock() {
            Ok(mut pending) => {
                pending
                    .entry((c.key().clone(), c.day().to_string()))
                    .or_default()
                    .add(c, call, denied);
                pending.len() >= LARGE_BATCH_ITEMS
            }
            // A panic while holding the lock (none can happen in a map update): counting stops
            // rather than deciding stops.
            Err(_) => false,
        };
        if large {
            self.wake.notify_one();
        }
    }

    /// Items with counts not yet sent.
    pub fn pending_items(&self) -> usize {
        self.pending.lock().map(|p| p.len()).unwrap_or(0)
    }

    /// Sends the updates in doubt again, then the batch: each item at most one update, in order
    /// (an item whose earlier update is still in doubt keeps its new counts for a later flush).
    /// Failed updates are kept; `Err` when any failed (after the others were sent).
    pub async fn flush(&self) -> Result<Flushed> {
        let mut in_doubt = self.in_doubt.lock().await;
        let mut done = Flushed::default();
        let retried = self.send(std::mem::take(&mut *in_doubt), &mut done).await;
        let blocked: HashSet<Item> = retried
            .iter()
            .map(|w| (w.key.clone(), w.day.clone()))
            .collect();
        let batch = match self.pending.lock() {
            Ok(mut pending) => std::mem::take(&mut *pending),
            Err(_) => HashMap::new(),
        };
        let mut writes = Vec::with_capacity(batch.len());
        let mut waiting = Vec::new();
        for ((key, day), delta) in batch {
            if blocked.contains(&(key.clone(), day.clone())) {
                waiting.push(((key, day), delta));
            } else {
                writes.push(UsageWrite {
                    key,
                    day,
                    writer: self.writer.clone(),
                    seq: self.seq.fetch_add(1, Ordering::Relaxed) + 1,
                    delta,
                });
            }
        }
        if !waiting.is_empty()
            && let Ok(mut pending) = self.pending.lock()
        {
            // Not sent: merging into the unsent batch cannot count anything twice.
            for (item, delta) in waiting {
                pending.entry(item).or_default().merge(delta);
            }
        }
        let failed = self.send(writes, &mut done).await;
        *in_doubt = retried.into_iter().chain(failed).collect();
        done.kept = in_doubt.len();
        if done.kept > 0 {
            return Err(Error::Unavailable(format!(
                "usage flush: {} update(s) failed and are kept for the next flush",
                done.kept
            )));
        }
        Ok(done)
    }

    /// Sends `writes`, a bounded number at a time; the ones that failed.
    async fn send(&self, writes: Vec<UsageWrite>, done: &mut Flushed) -> Vec<UsageWrite> {
        let mut failed = Vec::new();
        for chunk in writes.chunks(FLUSH_CONCURRENCY) {
            let results =
                futures_util::future::join_all(chunk.iter().map(|w| self.store.add_usage(w))).await;
            for (w, result) in chunk.iter().zip(results) {
                match result {
                    Ok(Applied::Now) => done.written += 1,
                    Ok(Applied::Before) => done.already_applied += 1,
                    Err(e) => {
                        tracing::warn!(key = %w.key, day = %w.day, seq = w.seq, error = %e, "usage update failed; kept");
                        failed.push(w.clone());
                    }
                }
            }
        }
        failed
    }

    /// Flushes every `interval`, and at once when the batch grows large, until the process ends.
    pub fn start(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let me = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(me.interval) => {}
                    _ = me.wake.notified() => {}
                }
                me.flush_logged("interval").await;
            }
        })
    }

    /// A flush whose outcome is logged (the background task's and the shutdown's).
    pub async fn flush_logged(&self, why: &'static str) {
        match self.flush().await {
            Ok(f) if f == Flushed::default() => {}
            Ok(f) => {
                tracing::debug!(
                    why,
                    written = f.written,
                    already_applied = f.already_applied,
                    "usage flushed"
                )
            }
            Err(e) => {
                // Alarmable: counts kept in memory are what a killed container would lose.
                crate::adapters::metrics::count("usage_flush_failures", &[]);
                tracing::warn!(why, error = %e, "usage flush incomplete")
            }
        }
    }
}

/// Starts the batch's flush task and registers its last flush for when the container stops:
/// Lambda's SIGTERM at shutdown (lambda_runtime's graceful-shutdown hook, which registers a no-op
/// internal extension so that Lambda sends it), and SIGTERM or SIGINT when run locally (`cargo
/// lambda watch` stopping or restarting a function). Call it once at init, before the runtime
/// runs.
pub async fn run_in_background(batch: Arc<UsageBatch>) {
    batch.start();
    lambda_http::lambda_runtime::spawn_graceful_shutdown_handler(move || async move {
        batch.flush_logged("shutdown").await;
    })
    .await;
}
