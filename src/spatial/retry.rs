//! What failed to load, and when to ask again: nodes, tiles, tileset contents alike.

use bevy::platform::time::Instant;
use std::collections::HashMap;
use std::time::Duration;

/// A failed load: the error shown to the user, how often it failed, when to try again.
#[derive(Debug, Clone)]
pub struct Failure {
    pub error: String,
    pub attempts: u32,
    pub retry_at: Instant,
}

impl Failure {
    /// Records one more failed attempt at `key`: it is not asked for again before its back-off
    /// ([`retry_delay`]) has passed.
    pub(crate) fn record<K: std::hash::Hash + Eq>(
        failures: &mut HashMap<K, Failure>,
        key: K,
        error: String,
    ) -> &Failure {
        let next = Failure::after(failures.get(&key), error);
        let failure = failures.entry(key).or_insert(next.clone());
        *failure = next;
        failure
    }

    /// The failure that follows `previous` (none: the first), with its back-off.
    pub(crate) fn after(previous: Option<&Failure>, error: String) -> Failure {
        let attempts = previous.map_or(0, |f| f.attempts) + 1;
        Failure {
            error,
            attempts,
            retry_at: Instant::now() + retry_delay(attempts),
        }
    }
}

/// Backoff before a failed node is asked for again: 2, 4, 8 … 60 s.
pub fn retry_delay(attempts: u32) -> Duration {
    Duration::from_secs((1u64 << attempts.min(6)).min(60))
}
