//! Rate limits without a write per call: a container takes a **lease** on a block of a key's
//! current window (one conditional `ADD` of the block's size to the window's counter, refused when
//! it would pass the limit) and spends it call by call from memory. Leases never add up to more
//! than the limit, so no more than the limit passes across any number of containers; a container
//! that found the window spent denies the rest of the window without a call.
//!
//! A container's first lease in a window is small (a 64th of the limit), and each further one
//! twice the last, up to an eighth of the limit: a key called now and then costs about one write
//! per call, a busy one a handful per window. When a block does not fit in what is left, halves
//! are tried down to a single call, and one refused single call marks the window spent. The
//! price: slots leased by a container that then sees no more calls in that window go unused, so
//! a key spread over several containers may be refused a little before its limit (at most each
//! other container's unspent block); it is never let through above it.

use std::collections::HashMap;
use std::sync::Mutex;

/// Entries beyond this many are dropped all at once (as the decision caches: a refill costs one
/// lease).
const MAX_KEYS: usize = 10_000;

/// One key's lease in one window.
#[derive(Debug, Clone, Default)]
struct Lease {
    /// The window it is for (its sort key).
    window: String,
    /// Leased calls not yet spent.
    left: u32,
    /// The size of the next lease.
    block: u32,
    /// The window is known to have nothing left.
    spent: bool,
}

/// What a call may do, from memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spend {
    /// A leased call was spent: allowed, nothing to write.
    Allowed,
    /// The window is spent: refused, nothing to write.
    Refused,
    /// Nothing leased: take a lease of this many calls (one of them for this call).
    Lease(u32),
}

/// The first lease in a window: a 64th of the limit (at least 1).
pub fn first_block(limit: u32) -> u32 {
    (limit / 64).max(1)
}

/// The largest lease: an eighth of the limit (at least 1).
pub fn max_block(limit: u32) -> u32 {
    (limit / 8).max(1)
}

/// Locks that make a container's calls of one key take turns at taking a lease (striped by key:
/// a lease is taken once per block, so keys rarely share a turn).
const TURNS: usize = 64;

/// A container's leases, per key.
#[derive(Debug)]
pub struct Leases {
    by_key: Mutex<HashMap<String, Lease>>,
    turns: Vec<tokio::sync::Mutex<()>>,
}

impl Default for Leases {
    fn default() -> Self {
        Leases {
            by_key: Mutex::new(HashMap::new()),
            turns: (0..TURNS).map(|_| tokio::sync::Mutex::new(())).collect(),
        }
    }
}

impl Leases {
    /// The turn to take a lease for `key`: concurrent calls of a key that find nothing leased
    /// wait for one lease (then spend from it) instead of each taking their own; a caller
    /// calls [`Leases::spend`] again once it has the turn.
    pub async fn turn(&self, key: &str) -> tokio::sync::MutexGuard<'_, ()> {
        let stripe = key.bytes().fold(0usize, |h, b| {
            h.wrapping_mul(31).wrapping_add(usize::from(b))
        });
        self.turns[stripe % TURNS].lock().await
    }

    fn with<T>(&self, key: &str, window: &str, limit: u32, f: impl FnOnce(&mut Lease) -> T) -> T {
        let mut map = self
            .by_key
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() >= MAX_KEYS && !map.contains_key(key) {
            map.clear();
        }
        let lease = map.entry(key.to_string()).or_default();
        if lease.window != window {
            *lease = Lease {
                window: window.to_string(),
                left: 0,
                block: first_block(limit),
                spent: false,
            };
        }
        f(lease)
    }

    /// A call of `key` in `window` (a limit of `limit` calls).
    pub fn spend(&self, key: &str, window: &str, limit: u32) -> Spend {
        self.with(key, window, limit, |l| {
            if l.left > 0 {
                l.left -= 1;
                Spend::Allowed
            } else if l.spent {
                Spend::Refused
            } else {
                Spend::Lease(l.block.clamp(1, limit.max(1)))
            }
        })
    }

    /// A lease of `n` calls was granted: one is the call's, the rest are kept, and the next
    /// lease is twice as large (up to the largest).
    pub fn granted(&self, key: &str, window: &str, limit: u32, n: u32) {
        self.with(key, window, limit, |l| {
            l.left += n.saturating_sub(1);
            l.block = (n.saturating_mul(2)).min(max_block(limit));
        })
    }

    /// A lease of `n` calls was refused (it would pass the limit): the next size to try now, or
    /// `None` when even one call did not fit (the window is then spent).
    pub fn refused(&self, key: &str, window: &str, limit: u32, n: u32) -> Option<u32> {
        self.with(key, window, limit, |l| {
            if n <= 1 {
                l.spent = true;
                None
            } else {
                l.block = n / 2;
                Some(n / 2)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A window's counter as DynamoDB keeps it: a lease is granted only within the limit.
    fn take(counter: &mut u32, limit: u32, n: u32) -> bool {
        if *counter + n <= limit {
            *counter += n;
            true
        } else {
            false
        }
    }

    /// One container spending calls against a shared counter; (allowed, writes).
    fn call(leases: &Leases, counter: &mut u32, limit: u32, writes: &mut u32) -> bool {
        match leases.spend("k", "w", limit) {
            Spend::Allowed => true,
            Spend::Refused => false,
            Spend::Lease(mut n) => loop {
                *writes += 1;
                if take(counter, limit, n) {
                    leases.granted("k", "w", limit, n);
                    return true;
                }
                match leases.refused("k", "w", limit, n) {
                    Some(next) => n = next,
                    None => return false,
                }
            },
        }
    }

    #[test]
    fn one_container_gets_exactly_the_limit_in_few_writes() {
        for limit in [1, 2, 7, 60, 600, 6000] {
            let (leases, mut counter, mut writes) = (Leases::default(), 0, 0);
            let allowed = (0..limit * 2)
                .filter(|_| call(&leases, &mut counter, limit, &mut writes))
                .count() as u32;
            assert_eq!(allowed, limit, "limit {limit}");
            assert_eq!(counter, limit);
            if limit >= 600 {
                assert!(
                    writes * 1000 / (limit * 2) <= 25,
                    "limit {limit}: {writes} writes"
                );
            }
        }
    }

    #[test]
    fn many_containers_never_pass_the_limit() {
        for limit in [1, 10, 100, 1000] {
            let containers: Vec<Leases> = (0..7).map(|_| Leases::default()).collect();
            let (mut counter, mut writes, mut allowed) = (0, 0, 0);
            for i in 0..limit as usize * 3 {
                if call(&containers[i % 7], &mut counter, limit, &mut writes) {
                    allowed += 1;
                }
            }
            assert!(allowed <= limit, "limit {limit}: {allowed} allowed");
            assert!(counter <= limit);
            // Unspent blocks are the only loss: at most each container's largest block.
            assert!(
                allowed + 7 * max_block(limit) >= limit,
                "limit {limit}: {allowed}"
            );
        }
    }

    #[test]
    fn a_new_window_starts_afresh_and_a_spent_one_is_refused_from_memory() {
        let leases = Leases::default();
        assert_eq!(leases.spend("k", "w1", 640), Spend::Lease(10));
        leases.granted("k", "w1", 640, 10);
        for _ in 0..9 {
            assert_eq!(leases.spend("k", "w1", 640), Spend::Allowed);
        }
        assert_eq!(leases.spend("k", "w1", 640), Spend::Lease(20), "doubled");
        assert_eq!(leases.refused("k", "w1", 640, 20), Some(10));
        assert_eq!(leases.refused("k", "w1", 640, 1), None);
        assert_eq!(leases.spend("k", "w1", 640), Spend::Refused);
        assert_eq!(
            leases.spend("k", "w2", 640),
            Spend::Lease(10),
            "a new window"
        );
        assert_eq!(
            leases.spend("other", "w1", 640),
            Spend::Lease(10),
            "per key"
        );
    }
}
