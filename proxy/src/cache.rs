//! A small bounded cache with per-entry expiry, keyed by a SHA-256 digest.
//!
//! Keys are digests of (token, resource, scopes) or of a token alone, never the token itself,
//! so a heap dump or a debug print shows no credential. The map is indexed by the first eight
//! bytes of the digest and the full digest is then compared in constant time. When full, expired
//! entries are dropped first, then arbitrary ones: the bound matters more than the hit rate.

use std::collections::HashMap;
use std::sync::Mutex;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A SHA-256 digest used as a cache key.
pub type Key = [u8; 32];

/// The digest of the given parts, each length-prefixed so that no two part lists collide.
pub fn key(parts: &[&[u8]]) -> Key {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    hasher.finalize().into()
}

struct Entry<V> {
    key: Key,
    expires_at: i64,
    value: V,
}

/// A bounded map from [`Key`] to `V` with expiry times in seconds since the epoch.
pub struct TtlCache<V> {
    capacity: usize,
    map: Mutex<HashMap<u64, Entry<V>>>,
}

fn index(key: &Key) -> u64 {
    let mut first = [0u8; 8];
    first.copy_from_slice(&key[..8]);
    u64::from_be_bytes(first)
}

impl<V: Clone> TtlCache<V> {
    /// An empty cache holding at most `capacity` entries.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            map: Mutex::new(HashMap::new()),
        }
    }

    /// The value for `key` if present and not expired at `now`.
    pub fn get(&self, key: &Key, now: i64) -> Option<V> {
        let map = self.map.lock().ok()?;
        let entry = map.get(&index(key))?;
        let same: bool = entry.key.ct_eq(key).into();
        (same && now < entry.expires_at).then(|| entry.value.clone())
    }

    /// Stores `value` until `expires_at` (nothing if that is not after `now`).
    pub fn insert(&self, key: Key, value: V, now: i64, expires_at: i64) {
        if expires_at <= now {
            return;
        }
        let Ok(mut map) = self.map.lock() else {
            return;
        };
        if map.len() >= self.capacity {
            map.retain(|_, e| now < e.expires_at);
        }
        while map.len() >= self.capacity {
            let Some(victim) = map.keys().next().copied() else {
                break;
            };
            map.remove(&victim);
        }
        map.insert(
            index(&key),
            Entry {
                key,
                expires_at,
                value,
            },
        );
    }

    /// How many entries are held.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.map.lock().map(|m| m.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_bound_and_distinct_keys() {
        let cache = TtlCache::new(2);
        let a = key(&[b"tok", b"r1"]);
        let b = key(&[b"tok", b"r2"]);
        assert_ne!(a, b);
        assert_ne!(key(&[b"ab", b"c"]), key(&[b"a", b"bc"]));
        cache.insert(a, 1, 100, 110);
        assert_eq!(cache.get(&a, 109), Some(1));
        assert_eq!(cache.get(&a, 110), None);
        assert_eq!(cache.get(&b, 100), None);
        cache.insert(b, 2, 100, 100);
        assert_eq!(
            cache.get(&b, 99),
            None,
            "an already expired entry is not stored"
        );
        for i in 0..10u8 {
            cache.insert(key(&[&[i]]), 3, 100, 200);
        }
        assert!(cache.len() <= 2);
    }
}
