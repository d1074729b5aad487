//! A byte-bounded least-recently-used cache: what the viewer keeps resident under one memory budget.
//!
//! Entries are stamped with the frame that last used them. Eviction removes the oldest stamps
//! first and never an entry used in the current frame, so the nodes on screen stay even when
//! the budget is too small for them (the caller then sees `used_bytes() > budget_bytes()`).

use std::collections::{BTreeSet, HashMap};
use std::hash::Hash;

/// The cache. `K` names an entry, `V` is what is kept (e.g. an entity and its mesh).
#[derive(Debug)]
pub struct LruCache<K, V> {
    budget_bytes: u64,
    used_bytes: u64,
    entries: HashMap<K, Slot<V>>,
    /// (last use, insertion number) of every entry: the order of eviction.
    order: BTreeSet<(u64, u64, K)>,
    inserted: u64,
}

#[derive(Debug)]
struct Slot<V> {
    value: V,
    bytes: u64,
    last_use: u64,
    serial: u64,
}

impl<K: Copy + Eq + Hash + Ord, V> LruCache<K, V> {
    pub fn new(budget_bytes: u64) -> Self {
        Self {
            budget_bytes,
            used_bytes: 0,
            entries: HashMap::new(),
            order: BTreeSet::new(),
            inserted: 0,
        }
    }

    pub fn budget_bytes(&self) -> u64 {
        self.budget_bytes
    }

    pub fn set_budget_bytes(&mut self, budget_bytes: u64) {
        self.budget_bytes = budget_bytes;
    }

    pub fn used_bytes(&self) -> u64 {
        self.used_bytes
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn contains(&self, key: &K) -> bool {
        self.entries.contains_key(key)
    }

    pub fn get(&self, key: &K) -> Option<&V> {
        self.entries.get(key).map(|s| &s.value)
    }

    /// Marks `key` as used in `frame` (a frame number that never decreases).
    pub fn touch(&mut self, key: &K, frame: u64) {
        if let Some(slot) = self.entries.get_mut(key)
            && slot.last_use != frame
        {
            self.order.remove(&(slot.last_use, slot.serial, *key));
            slot.last_use = frame;
            self.order.insert((frame, slot.serial, *key));
        }
    }

    /// Adds an entry used in `frame`; an entry already under `key` is replaced and returned.
    pub fn insert(&mut self, key: K, value: V, bytes: u64, frame: u64) -> Option<V> {
        let old = self.remove(&key);
        self.inserted += 1;
        let serial = self.inserted;
        self.order.insert((frame, serial, key));
        self.entries.insert(
            key,
            Slot {
                value,
                bytes,
                last_use: frame,
                serial,
            },
        );
        self.used_bytes += bytes;
        old
    }

    pub fn remove(&mut self, key: &K) -> Option<V> {
        let slot = self.entries.remove(key)?;
        self.order.remove(&(slot.last_use, slot.serial, *key));
        self.used_bytes -= slot.bytes;
        Some(slot.value)
    }

    /// Removes least-recently-used entries not used in `frame` until the cache fits its budget.
    pub fn evict(&mut self, frame: u64) -> Vec<(K, V)> {
        let mut evicted = Vec::new();
        while self.used_bytes > self.budget_bytes {
            let Some(&(last_use, _, key)) = self.order.first() else {
                break;
            };
            if last_use >= frame {
                break;
            }
            if let Some(value) = self.remove(&key) {
                evicted.push((key, value));
            }
        }
        evicted
    }

    /// Every entry, in no particular order.
    pub fn iter_unsorted(&self) -> impl Iterator<Item = (&K, &V)> {
        self.entries.iter().map(|(k, s)| (k, &s.value))
    }

    /// Every entry, mutably, in no particular order (sizes and recency unchanged).
    pub fn iter_mut_unsorted(&mut self) -> impl Iterator<Item = (&K, &mut V)> {
        self.entries.iter_mut().map(|(k, s)| (k, &mut s.value))
    }

    /// Removes every entry (e.g. when a layer is closed).
    pub fn drain_unsorted(&mut self) -> Vec<(K, V)> {
        self.order.clear();
        self.used_bytes = 0;
        self.entries.drain().map(|(k, s)| (k, s.value)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_least_recently_used_first_and_keeps_the_current_frame() {
        let mut cache = LruCache::new(300);
        cache.insert(1u32, "a", 100, 1);
        cache.insert(2, "b", 100, 2);
        cache.insert(3, "c", 100, 3);
        cache.touch(&1, 4);
        cache.insert(4, "d", 100, 5);
        assert_eq!(cache.used_bytes(), 400);
        let evicted = cache.evict(5);
        assert_eq!(evicted, vec![(2, "b")]);
        assert_eq!(cache.used_bytes(), 300);
        assert!(cache.contains(&1) && cache.contains(&3) && cache.contains(&4));
    }

    #[test]
    fn entries_used_this_frame_survive_an_exceeded_budget() {
        let mut cache = LruCache::new(50);
        cache.insert(1u32, (), 100, 7);
        cache.insert(2, (), 100, 7);
        assert!(cache.evict(7).is_empty());
        assert_eq!(cache.used_bytes(), 200);
        assert_eq!(cache.evict(8).len(), 2);
        assert_eq!(cache.used_bytes(), 0);
        assert!(cache.is_empty());
    }

    #[test]
    fn replacing_an_entry_keeps_the_byte_count_right() {
        let mut cache = LruCache::new(1000);
        cache.insert(1u32, 'x', 100, 1);
        assert_eq!(cache.insert(1, 'y', 40, 2), Some('x'));
        assert_eq!(cache.used_bytes(), 40);
        assert_eq!(cache.get(&1), Some(&'y'));
        assert_eq!(cache.remove(&1), Some('y'));
        assert_eq!(cache.used_bytes(), 0);
    }
}
