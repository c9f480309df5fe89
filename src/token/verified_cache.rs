//! [`VerifiedCache`]: tokens whose exact bytes passed an asymmetric signature check, so that the
//! same token presented again is not verified again.
//!
//! An RS256, ES256 or EdDSA signature costs tens of microseconds to check, a hundred times an
//! HMAC; a client presents the same access token on every request until it expires. The rules
//! that keep skipping that check sound:
//!
//! - An entry is found by the SHA-256 of the whole token, compared in full: another token, even
//!   one sharing the header and payload of a cached one, is another entry (and is verified).
//! - Only a token that verified is inserted, so a flood of forged tokens costs verifications,
//!   never memory; the number of entries is bounded by the capacity.
//! - Each entry records the key set (its epoch) that verified it; a lookup under another key
//!   set finds nothing and evicts the entry, so a key leaving the set takes its tokens with it
//!   before the next request is answered.
//! - Each entry expires with its token: past that, it is absent and evicted. The callers still
//!   check the time window (and every other claim rule) on every use.
//!
//! The map is split in shards, each behind its own `RwLock`: a hit takes one shard's read lock,
//! so requests never queue behind one lock. A full shard evicts by CLOCK (second chance): an
//! entry hit since the hand last passed survives one more round; an expired one goes first.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use sha2::{Digest as _, Sha256};

/// The default number of tokens a verified-token cache holds.
pub(crate) const DEFAULT_CAPACITY: usize = 10_000;

/// More shards than cores costs nothing measurable and keeps two requests off the same lock.
const MAX_SHARDS: usize = 16;

/// The SHA-256 of a whole token: the key of its entry.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct TokenDigest([u8; 32]);

impl TokenDigest {
    pub(crate) fn of(token: &str) -> Self {
        Self(Sha256::digest(token.as_bytes()).into())
    }
}

impl Hash for TokenDigest {
    /// The digest is uniformly spread already, and only tokens that verified are inserted: no
    /// attacker chooses the keys, so eight of its bytes are as good as SipHash of all of them.
    /// Equality still compares all 32.
    fn hash<H: Hasher>(&self, state: &mut H) {
        let mut word = [0u8; 8];
        word.copy_from_slice(&self.0[8..16]);
        state.write_u64(u64::from_le_bytes(word));
    }
}

/// Passes a [`TokenDigest`]'s word through.
#[derive(Default)]
struct DigestHasher(u64);

impl Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Never reached through `TokenDigest`; any other input is still hashed, if poorly.
        for &byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(byte);
        }
    }

    fn write_u64(&mut self, word: u64) {
        self.0 = word;
    }
}

/// What is known of a token that verified.
#[derive(Debug, Clone)]
pub(crate) struct Entry<V> {
    /// The epoch of the key set that verified it.
    pub(crate) epoch: u64,
    /// When it stops being accepted (`exp` plus the leeway, seconds since the Unix epoch): from
    /// then on the entry is absent.
    pub(crate) expires_at: u64,
    /// What its verification found, handed out on a hit.
    pub(crate) value: V,
}

struct Slot<V> {
    digest: TokenDigest,
    entry: Entry<V>,
    /// Set by a hit, cleared by the CLOCK hand passing.
    referenced: AtomicBool,
}

struct Shard<V> {
    capacity: usize,
    index: HashMap<TokenDigest, usize, BuildHasherDefault<DigestHasher>>,
    slots: Vec<Slot<V>>,
    hand: usize,
}

impl<V> Shard<V> {
    fn put(&mut self, digest: TokenDigest, entry: Entry<V>, now: u64) {
        let slot = Slot {
            digest,
            entry,
            referenced: AtomicBool::new(false),
        };
        if let Some(&at) = self.index.get(&digest) {
            self.slots[at] = slot;
            return;
        }
        if self.slots.len() < self.capacity {
            self.index.insert(digest, self.slots.len());
            self.slots.push(slot);
            return;
        }
        let at = self.victim(now);
        self.index.remove(&self.slots[at].digest);
        self.slots[at] = slot;
        self.index.insert(digest, at);
    }

    /// The slot to reuse in a full shard: the first expired or unreferenced one from the hand
    /// on, clearing the marks it passes; within two turns one is found.
    fn victim(&mut self, now: u64) -> usize {
        let len = self.slots.len();
        for _ in 0..2 * len {
            let at = self.hand;
            self.hand = (self.hand + 1) % len;
            let slot = &self.slots[at];
            if slot.entry.expires_at <= now || !slot.referenced.swap(false, Ordering::Relaxed) {
                return at;
            }
        }
        self.hand
    }

    fn remove(&mut self, digest: &TokenDigest) {
        let Some(at) = self.index.remove(digest) else {
            return;
        };
        self.slots.swap_remove(at);
        if let Some(moved) = self.slots.get(at) {
            self.index.insert(moved.digest, at);
        }
        if self.hand >= self.slots.len() {
            self.hand = 0;
        }
    }
}

/// A bounded map from [`TokenDigest`] to what the token's verification found; see the module
/// documentation for the rules it keeps. A capacity of 0 turns it off.
pub(crate) struct VerifiedCache<V> {
    shards: Box<[RwLock<Shard<V>>]>,
}

impl<V> std::fmt::Debug for VerifiedCache<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedCache")
            .field("capacity", &self.capacity())
            .field("len", &self.len())
            .finish()
    }
}

impl<V: Clone> VerifiedCache<V> {
    /// A cache of at most `capacity` tokens; 0 makes one that holds none.
    pub(crate) fn new(capacity: usize) -> Self {
        let count = capacity.min(MAX_SHARDS);
        let shards = (0..count)
            .map(|i| {
                RwLock::new(Shard {
                    capacity: capacity / count + usize::from(i < capacity % count),
                    index: HashMap::default(),
                    slots: Vec::new(),
                    hand: 0,
                })
            })
            .collect();
        Self { shards }
    }

    /// Whether the cache holds anything at all (its capacity is not 0).
    pub(crate) fn is_on(&self) -> bool {
        !self.shards.is_empty()
    }

    /// The value of `digest`'s entry, if it is current: not expired at `now`, and
    /// of the epoch `epoch_of` names for its value (the epoch of the key set in use now). An
    /// entry that is not current is evicted before this returns.
    pub(crate) fn get(
        &self,
        digest: &TokenDigest,
        now: u64,
        epoch_of: impl FnOnce(&V) -> Option<u64>,
    ) -> Option<V> {
        let shard = self.shard(digest)?;
        {
            let shard = read(shard);
            let slot = &shard.slots[*shard.index.get(digest)?];
            let entry = &slot.entry;
            if now < entry.expires_at && epoch_of(&entry.value) == Some(entry.epoch) {
                if !slot.referenced.load(Ordering::Relaxed) {
                    slot.referenced.store(true, Ordering::Relaxed);
                }
                return Some(entry.value.clone());
            }
        }
        write(shard).remove(digest);
        None
    }

    /// Records a token that verified; one already expired at `now` is not.
    pub(crate) fn insert(&self, digest: TokenDigest, entry: Entry<V>, now: u64) {
        if entry.expires_at <= now {
            return;
        }
        if let Some(shard) = self.shard(&digest) {
            write(shard).put(digest, entry, now);
        }
    }
}

impl<V> VerifiedCache<V> {
    /// The number of tokens held.
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| read(s).slots.len()).sum()
    }

    /// The most tokens it may hold.
    pub(crate) fn capacity(&self) -> usize {
        self.shards.iter().map(|s| read(s).capacity).sum()
    }

    fn shard(&self, digest: &TokenDigest) -> Option<&RwLock<Shard<V>>> {
        match self.shards.len() {
            0 => None,
            count => self.shards.get(usize::from(digest.0[0]) % count),
        }
    }
}

// A panic while a shard is held leaves it consistent: every change is a few plain moves.
fn read<V>(shard: &RwLock<Shard<V>>) -> RwLockReadGuard<'_, Shard<V>> {
    shard.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<V>(shard: &RwLock<Shard<V>>) -> RwLockWriteGuard<'_, Shard<V>> {
    shard.write().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(epoch: u64, expires_at: u64, value: u32) -> Entry<u32> {
        Entry {
            epoch,
            expires_at,
            value,
        }
    }

    const EPOCH: fn(&u32) -> Option<u64> = |_| Some(1);

    #[test]
    fn a_token_is_found_by_its_whole_bytes_only() {
        let cache = VerifiedCache::new(8);
        let token = "eyJhbGciOiJSUzI1NiJ9.eyJleHAiOjJ9.c2lnbmF0dXJl";
        cache.insert(TokenDigest::of(token), entry(1, 100, 7), 0);
        assert_eq!(cache.get(&TokenDigest::of(token), 0, EPOCH), Some(7));
        // The same header and payload with another signature, a prefix, one more byte.
        for other in [
            "eyJhbGciOiJSUzI1NiJ9.eyJleHAiOjJ9.c2lnbmF0dXJm",
            "eyJhbGciOiJSUzI1NiJ9.eyJleHAiOjJ9.",
            "eyJhbGciOiJSUzI1NiJ9.eyJleHAiOjJ9.c2lnbmF0dXJlA",
        ] {
            assert_eq!(
                cache.get(&TokenDigest::of(other), 0, EPOCH),
                None,
                "{other}"
            );
        }
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn an_entry_dies_with_its_token() {
        let cache = VerifiedCache::new(8);
        let digest = TokenDigest::of("a.b.c");
        cache.insert(digest, entry(1, 100, 7), 50);
        assert_eq!(cache.get(&digest, 99, EPOCH), Some(7), "its last second");
        assert_eq!(cache.get(&digest, 100, EPOCH), None);
        assert_eq!(cache.len(), 0, "an expired entry is evicted at its lookup");
        cache.insert(digest, entry(1, 100, 7), 100);
        assert_eq!(cache.len(), 0, "an expired token is never inserted");
    }

    #[test]
    fn an_entry_of_another_key_set_is_evicted_at_its_lookup() {
        let cache = VerifiedCache::new(8);
        let digest = TokenDigest::of("a.b.c");
        cache.insert(digest, entry(1, 100, 7), 0);
        assert_eq!(cache.get(&digest, 0, |_| Some(2)), None);
        assert_eq!(cache.len(), 0);
        cache.insert(digest, entry(1, 100, 7), 0);
        assert_eq!(cache.get(&digest, 0, |_| None), None, "no key set at all");
        assert_eq!(cache.get(&digest, 0, EPOCH), None, "and it stays gone");
    }

    #[test]
    fn the_capacity_bounds_the_entries_and_hits_survive_eviction() {
        let cache = VerifiedCache::new(40);
        assert_eq!(cache.capacity(), 40);
        let digests: Vec<_> = (0..1000)
            .map(|i| TokenDigest::of(&format!("t.{i}.s")))
            .collect();
        let hot = digests[0];
        cache.insert(hot, entry(1, 100, 0), 0);
        for (i, digest) in digests.iter().enumerate().skip(1) {
            assert_eq!(cache.get(&hot, 0, EPOCH), Some(0), "after {i} inserts");
            cache.insert(*digest, entry(1, 100, 1), 0);
            assert!(cache.len() <= 40);
        }
        assert_eq!(cache.len(), 40);
        // Expired entries are the first to go, before referenced ones.
        let cache = VerifiedCache::new(1);
        cache.insert(hot, entry(1, 10, 0), 0);
        assert_eq!(cache.get(&hot, 5, EPOCH), Some(0));
        cache.insert(digests[1], entry(1, 100, 1), 20);
        assert_eq!(cache.get(&digests[1], 20, EPOCH), Some(1));
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn removal_keeps_the_index_right() {
        let cache = VerifiedCache::new(1);
        let mut shard = write(&cache.shards[0]);
        shard.capacity = 8;
        let digests: Vec<_> = (0..8).map(|i| TokenDigest::of(&format!("{i}"))).collect();
        for (i, digest) in digests.iter().enumerate() {
            shard.put(*digest, entry(1, 100, u32::try_from(i).unwrap()), 0);
        }
        shard.remove(&digests[2]);
        shard.remove(&digests[7]);
        for (i, digest) in digests.iter().enumerate() {
            let found = shard
                .index
                .get(digest)
                .map(|&at| shard.slots[at].entry.value);
            let expected = (i != 2 && i != 7).then(|| u32::try_from(i).unwrap());
            assert_eq!(found, expected);
        }
    }

    #[test]
    fn a_capacity_of_zero_holds_nothing() {
        let cache = VerifiedCache::new(0);
        assert!(!cache.is_on());
        let digest = TokenDigest::of("a.b.c");
        cache.insert(digest, entry(1, 100, 7), 0);
        assert_eq!(cache.get(&digest, 0, EPOCH), None);
        assert_eq!(cache.len(), 0);
    }
}
