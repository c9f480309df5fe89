//! The near cache: a local copy of the session records this server checked, kept true by Redis's
//! server-assisted client-side caching (`CLIENT TRACKING … BCAST`, RESP3 push messages).
//!
//! The rules that make a stale answer impossible beyond a stated bound:
//!
//! - **Tracked by prefix, on connections of its own** (see `tracking.rs`). One RESP3
//!   connection per Redis master runs `CLIENT TRACKING ON BCAST PREFIX <prefix>:v1:s:`, so Redis
//!   pushes the name of every session key any client changes (or that expires), whichever
//!   connection read the key. The reads themselves go over the store's ordinary connection, and
//!   its reconnections do not matter. On a cluster the set of masters is read again with every
//!   heartbeat; any change (a fail-over, a new master) starts tracking over.
//! - **Reads race invalidations safely.** Before a read is sent, its slot holds a pending ticket;
//!   an invalidation of the key removes the slot; the reply is kept only if the slot still holds
//!   that ticket. Redis pushes an invalidation only after a write it executes after the read, so
//!   an invalidation that matters arrives after the ticket was set, whichever socket is faster.
//! - **Reads race a lost tracking connection safely.** While tracking is down no invalidation
//!   arrives at all, so a reply read then may be overtaken unseen. Every flush starts a new
//!   epoch; a ticket carries the epoch read before its trust check, and its reply is kept only
//!   if no flush came in between, however the read interleaved with the flush's clearing.
//! - **Trusted only while tracking is proven.** Every tracking connection is pinged every
//!   [`HEARTBEAT`]; their pongs extend the trust to [`TRUST`] after the pings were sent. Pushes travel on the same
//!   connection as the pong and before it, so every invalidation Redis sent before answering the
//!   ping has been applied when the trust is extended. A lost, broken or reconnecting tracking
//!   connection empties the cache and leaves it untrusted (every check goes to Redis) until
//!   tracking is established again. A silent network split is therefore trusted for at most
//!   [`TRUST`] after the last pong.
//! - **Only answers that cannot be overtaken are served.** A cached record answers `Current` and
//!   `Revoked` (a revocation is final). A token the copy does not know as current may be newer
//!   than the copy, so that check goes to Redis.
//! - **Bounded.** At most the configured number of records; a full shard drops one to make room.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use ::redis::{PushInfo, PushKind, Value};

use crate::store::AccessCheck;
use crate::{SessionId, TokenId};

/// How often the tracking connection is pinged.
pub(super) const HEARTBEAT: Duration = Duration::from_millis(100);
/// How long after a pong the cache is trusted.
pub(super) const TRUST: Duration = Duration::from_millis(250);
const SHARDS: usize = 64;

/// What an access check needs of a session record.
#[derive(Debug, Clone, Copy)]
pub(super) struct Cached {
    pub(super) revoked: bool,
    pub(super) end: u64,
    pub(super) access: TokenId,
}

/// A read's right to fill its slot with its reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Ticket {
    serial: u64,
    /// The flush epoch the read was admitted in.
    epoch: u64,
}

#[derive(Debug)]
enum Slot {
    /// A read is on its way; only the reply of this ticket may fill the slot.
    Pending(Ticket),
    Ready(Cached),
}

/// The cache shared by a store's clones and its tracking task.
#[derive(Debug)]
pub(super) struct NearCache {
    shards: Box<[Mutex<HashMap<SessionId, Slot>>]>,
    per_shard: usize,
    origin: Instant,
    /// Milliseconds after `origin` until which entries may be used; 0 while not tracking.
    trusted_until: AtomicU64,
    /// Flushes so far: a reply read across one is not kept.
    epoch: AtomicU64,
    tickets: AtomicU64,
    hits: AtomicU64,
    invalidations: AtomicU64,
}

impl NearCache {
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            per_shard: capacity.div_ceil(SHARDS).max(1),
            origin: Instant::now(),
            trusted_until: AtomicU64::new(0),
            epoch: AtomicU64::new(0),
            tickets: AtomicU64::new(1),
            hits: AtomicU64::new(0),
            invalidations: AtomicU64::new(0),
        }
    }

    fn shard(&self, sid: SessionId) -> std::sync::MutexGuard<'_, HashMap<SessionId, Slot>> {
        let index = usize::from(sid.as_bytes()[0]) % SHARDS;
        self.shards[index]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn millis(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    pub(super) fn is_trusted(&self) -> bool {
        self.millis() < self.trusted_until.load(Ordering::Acquire)
    }

    /// The answer the copy can give for certain, if any.
    pub(super) fn check(&self, sid: SessionId, jti: TokenId, now: u64) -> Option<AccessCheck> {
        if !self.is_trusted() {
            return None;
        }
        let answer = match self.shard(sid).get(&sid)? {
            Slot::Ready(cached) if cached.revoked => AccessCheck::Revoked,
            Slot::Ready(cached) if now < cached.end && cached.access == jti => AccessCheck::Current,
            _ => return None,
        };
        self.hits.fetch_add(1, Ordering::Relaxed);
        Some(answer)
    }

    /// Before a read of `sid`: a ticket that lets its reply fill the slot.
    pub(super) fn begin(&self, sid: SessionId) -> Option<Ticket> {
        let epoch = self.admit()?;
        Some(self.hold(sid, epoch))
    }

    /// The epoch a read starts in, if the copy is trusted now. Read before the trust: a flush
    /// that the trust check missed has then moved the epoch on, and `complete` sees that.
    fn admit(&self) -> Option<u64> {
        let epoch = self.epoch.load(Ordering::Acquire);
        self.is_trusted().then_some(epoch)
    }

    /// Marks `sid`'s slot as awaiting the reply of a read admitted in `epoch`.
    fn hold(&self, sid: SessionId, epoch: u64) -> Ticket {
        let ticket = Ticket {
            serial: self.tickets.fetch_add(1, Ordering::Relaxed),
            epoch,
        };
        let mut shard = self.shard(sid);
        if shard.len() >= self.per_shard
            && !shard.contains_key(&sid)
            && let Some(&victim) = shard.keys().next()
        {
            shard.remove(&victim);
        }
        shard.insert(sid, Slot::Pending(ticket));
        ticket
    }

    /// After the read of `ticket`: keeps `record` unless an invalidation or a flush came in
    /// between.
    pub(super) fn complete(&self, sid: SessionId, ticket: Ticket, record: Cached) {
        let mut shard = self.shard(sid);
        if !matches!(shard.get(&sid), Some(Slot::Pending(t)) if *t == ticket) {
            return;
        }
        // Under the shard lock: a flush that cleared this shard earlier is seen here, and one
        // that clears it later removes the record itself.
        if self.epoch.load(Ordering::Acquire) == ticket.epoch {
            shard.insert(sid, Slot::Ready(record));
        } else {
            shard.remove(&sid);
        }
    }

    /// After the read of `ticket` found no record: frees the slot.
    pub(super) fn abandon(&self, sid: SessionId, ticket: Ticket) {
        let mut shard = self.shard(sid);
        if matches!(shard.get(&sid), Some(Slot::Pending(t)) if *t == ticket) {
            shard.remove(&sid);
        }
    }

    /// Forgets `sid`: Redis said its record changed, or this server just changed it.
    pub(super) fn invalidate(&self, sid: SessionId) {
        self.shard(sid).remove(&sid);
        // Counted once done: a reader that sees the count sees the record gone.
        self.invalidations.fetch_add(1, Ordering::Release);
    }

    /// Forgets everything and stops trusting the copy, the replies of reads under way
    /// included.
    pub(super) fn flush(&self) {
        self.trusted_until.store(0, Ordering::Release);
        // After the trust is withdrawn: a read that sees the new epoch sees no trust either.
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.flush_entries();
    }

    pub(super) fn trust_from(&self, pong: u64) {
        let until = pong.saturating_add(u64::try_from(TRUST.as_millis()).unwrap_or(u64::MAX));
        self.trusted_until.store(until, Ordering::Release);
    }

    /// Checks answered from the copy so far.
    pub(super) fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// Records this copy let go so far.
    pub(super) fn invalidations(&self) -> u64 {
        self.invalidations.load(Ordering::Acquire)
    }

    /// Applies one push message; `false` when the connection is gone.
    pub(super) fn apply(&self, push: &PushInfo, key_prefix: &str) -> bool {
        match push.kind {
            PushKind::Disconnection => false,
            PushKind::Invalidate => {
                match push.data.first() {
                    // Everything (FLUSHALL, FLUSHDB), or a reply this crate cannot read.
                    Some(Value::Array(keys)) => {
                        for key in keys {
                            match sid_of(key, key_prefix) {
                                Some(sid) => self.invalidate(sid),
                                None => self.flush_entries(),
                            }
                        }
                    }
                    _ => self.flush_entries(),
                }
                true
            }
            _ => true,
        }
    }

    /// Forgets every record but keeps trusting the tracking that said so.
    fn flush_entries(&self) {
        for shard in &*self.shards {
            shard.lock().unwrap_or_else(PoisonError::into_inner).clear();
        }
    }
}

/// The session of an invalidated key `<prefix>{<sid>}`.
fn sid_of(key: &Value, key_prefix: &str) -> Option<SessionId> {
    let bytes = match key {
        Value::BulkString(bytes) => bytes.as_slice(),
        Value::SimpleString(text) => text.as_bytes(),
        _ => return None,
    };
    let text = std::str::from_utf8(bytes).ok()?;
    let sid = text
        .strip_prefix(key_prefix)?
        .strip_prefix('{')?
        .strip_suffix('}')?;
    sid.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sid(byte: u8) -> SessionId {
        SessionId::from_bytes([byte; 16])
    }

    fn record(access: u8) -> Cached {
        Cached {
            revoked: false,
            end: 100,
            access: TokenId::from_bytes([access; 16]),
        }
    }

    fn trusted(capacity: usize) -> NearCache {
        let cache = NearCache::new(capacity);
        cache.trust_from(cache.millis());
        cache
    }

    #[test]
    fn an_invalidation_during_a_read_keeps_its_reply_out() {
        let cache = trusted(100);
        let ticket = cache.begin(sid(1)).unwrap();
        cache.invalidate(sid(1));
        cache.complete(sid(1), ticket, record(7));
        assert_eq!(cache.check(sid(1), TokenId::from_bytes([7; 16]), 10), None);

        let ticket = cache.begin(sid(1)).unwrap();
        cache.complete(sid(1), ticket, record(7));
        assert_eq!(
            cache.check(sid(1), TokenId::from_bytes([7; 16]), 10),
            Some(AccessCheck::Current)
        );
    }

    #[test]
    fn only_answers_that_cannot_be_overtaken_are_served() {
        let cache = trusted(100);
        let ticket = cache.begin(sid(1)).unwrap();
        cache.complete(sid(1), ticket, record(7));
        // Another token may be newer than the copy; an ended session is Redis's to say.
        assert_eq!(cache.check(sid(1), TokenId::from_bytes([8; 16]), 10), None);
        assert_eq!(cache.check(sid(1), TokenId::from_bytes([7; 16]), 100), None);
        let ticket = cache.begin(sid(2)).unwrap();
        let revoked = Cached {
            revoked: true,
            ..record(7)
        };
        cache.complete(sid(2), ticket, revoked);
        assert_eq!(
            cache.check(sid(2), TokenId::from_bytes([9; 16]), 10),
            Some(AccessCheck::Revoked)
        );
    }

    #[test]
    fn an_untrusted_cache_answers_nothing_and_a_flush_forgets() {
        let cache = NearCache::new(100);
        assert_eq!(cache.begin(sid(1)), None);
        let cache = trusted(100);
        let ticket = cache.begin(sid(1)).unwrap();
        cache.complete(sid(1), ticket, record(7));
        cache.flush();
        cache.trust_from(cache.millis());
        assert_eq!(cache.check(sid(1), TokenId::from_bytes([7; 16]), 10), None);
    }

    #[test]
    fn a_read_admitted_before_a_flush_keeps_its_reply_out() {
        let cache = trusted(100);
        // The racy order: the read passes the trust check, tracking is lost and the copy
        // emptied, then the read marks its slot and its reply arrives.
        let epoch = cache.admit().unwrap();
        cache.flush();
        let ticket = cache.hold(sid(1), epoch);
        cache.complete(sid(1), ticket, record(7));
        // Tracking is back; a revocation made while it was down was never pushed.
        cache.trust_from(cache.millis());
        assert_eq!(cache.check(sid(1), TokenId::from_bytes([7; 16]), 10), None);
        assert!(cache.shards.iter().all(|s| s.lock().unwrap().is_empty()));
    }

    #[test]
    fn capacity_is_bounded() {
        let cache = trusted(64);
        for byte in 0..=255 {
            let ticket = cache.begin(sid(byte)).unwrap();
            cache.complete(sid(byte), ticket, record(1));
        }
        let held: usize = cache.shards.iter().map(|s| s.lock().unwrap().len()).sum();
        assert!(held <= 64, "{held}");
    }

    #[test]
    fn invalidated_keys_name_their_session() {
        let key = format!("tjwt:v1:s:{{{}}}", sid(3));
        let value = Value::BulkString(key.into_bytes());
        assert_eq!(sid_of(&value, "tjwt:v1:s:"), Some(sid(3)));
        assert_eq!(sid_of(&value, "other:v1:s:"), None);
    }
}
