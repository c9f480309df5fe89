//! The near cache's copy, whatever keeps it true: a local copy of the session records this
//! server checked, told of every change by the store's own notifications (Redis's client-side
//! tracking in `redis/tracking.rs`, PostgreSQL's `LISTEN`/`NOTIFY` in `postgres/listener.rs`).
//!
//! The rules that make a stale answer impossible beyond a stated bound:
//!
//! - **Reads race invalidations safely.** Before a read is sent, its slot holds a pending ticket;
//!   an invalidation of the record removes the slot; the reply is kept only if the slot still
//!   holds that ticket. A store notifies a change only after it made it, so a notification that
//!   matters arrives after the ticket was set, whichever connection is faster.
//! - **Reads race a lost notifier safely.** While the notifier is down no invalidation arrives
//!   at all, so a reply read then may be overtaken unseen. Every flush starts a new epoch; a
//!   ticket carries the epoch read before its trust check, and its reply is kept only if no
//!   flush came in between, however the read interleaved with the flush's clearing.
//! - **Trusted only while the notifier is proven.** The notifier proves itself every
//!   [`HEARTBEAT`] with a round trip behind which every earlier notification has been applied;
//!   that extends the trust to [`TRUST`] after the round trip began. A lost, broken or
//!   reconnecting notifier empties the cache and leaves it untrusted (every check goes to the
//!   store) until it is proven again. A silent network split is therefore trusted for at most
//!   [`TRUST`] after the last proof.
//! - **Only answers that cannot be overtaken are served.** A cached record answers `Current` and
//!   `Revoked` (a revocation is final). A token the copy does not know as current may be newer
//!   than the copy, so that check goes to the store.
//! - **Bounded.** At most the configured number of records; a full shard drops one to make room.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::store::AccessCheck;
use crate::{SessionId, TokenId};

/// How often the notifier proves itself.
pub(super) const HEARTBEAT: Duration = Duration::from_millis(100);
/// How long after a proof began the cache is trusted.
pub(super) const TRUST: Duration = Duration::from_millis(250);
const SHARDS: usize = 64;

/// What a store's near cache ([`RedisStoreBuilder::near_cache`](crate::store::RedisStoreBuilder::near_cache),
/// [`PostgresStoreBuilder::near_cache`](crate::store::PostgresStoreBuilder::near_cache)) has done
/// so far.
///
/// ```no_run
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use tower_jwt_auth::store::RedisStore;
///
/// let store = RedisStore::builder("redis://127.0.0.1:6379").near_cache(100_000).build().await?;
/// if let Some(stats) = store.near_cache_stats() {
///     println!("{} checks answered locally; trusted now: {}", stats.hits, stats.trusted);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct NearCacheStats {
    /// Access checks answered from the local copy, without the store.
    pub hits: u64,
    /// Records let go because the store (or this server) changed them.
    pub invalidations: u64,
    /// Whether the copy is trusted now: its notifier is established and its last proof recent.
    pub trusted: bool,
}

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

/// The cache shared by a store's clones and the task that keeps it true.
#[derive(Debug)]
pub(super) struct NearCache {
    shards: Box<[Mutex<HashMap<SessionId, Slot>>]>,
    per_shard: usize,
    origin: Instant,
    /// Milliseconds after `origin` until which entries may be used; 0 while not notified.
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

    /// Forgets `sid`: the store said its record changed, or this server just changed it.
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

    /// The counters, as the stores report them.
    pub(super) fn stats(&self) -> NearCacheStats {
        NearCacheStats {
            hits: self.hits(),
            invalidations: self.invalidations(),
            trusted: self.is_trusted(),
        }
    }

    /// Forgets every record but keeps trusting the notifier that said so.
    pub(super) fn flush_entries(&self) {
        for shard in &*self.shards {
            shard.lock().unwrap_or_else(PoisonError::into_inner).clear();
        }
    }
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
        // Another token may be newer than the copy; an ended session is the store's to say.
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
        // The racy order: the read passes the trust check, the notifier is lost and the copy
        // emptied, then the read marks its slot and its reply arrives.
        let epoch = cache.admit().unwrap();
        cache.flush();
        let ticket = cache.hold(sid(1), epoch);
        cache.complete(sid(1), ticket, record(7));
        // The notifier is back; a revocation made while it was down was never notified.
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
}
