//! The embedded in-memory [`PairStore`].

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::{
    AccessCheck, NewSession, PairStore, RefreshOutcome, RefreshRequest, SessionRecord, StoreError,
    StoreErrorKind,
};
use crate::{SessionId, TokenId};

mod table;

use table::IdTable;

/// Power of two, so a shard is picked with a mask; enough that two cores rarely meet.
const SHARDS: usize = 64;
/// One shard is swept for expired sessions every this many new sessions.
const SWEEP_EVERY: u64 = 64;

/// A subject, as the store remembers it: 128 bits of keyed hash instead of the string, so a
/// session costs the same whatever its subject's length, and two subjects share a key with
/// probability 2⁻¹²⁸.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SubjectKey([u64; 2]);

impl SubjectKey {
    /// The key of the subject's tally: half the subject key. Two subjects sharing it (odds
    /// 2⁻⁶⁴ a pair) share a tally, which then counts both: it may only count too high.
    fn tally(self) -> u64 {
        self.0[0]
    }
}

/// Passes a tally key's own bits through instead of hashing them again: they are a keyed hash.
#[derive(Debug, Default)]
struct KeyBits(u64);

impl Hasher for KeyBits {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, bits: u64) {
        self.0 = bits;
    }
}

#[derive(Debug)]
struct Entry {
    record: SessionRecord,
    subject: SubjectKey,
}

type Shard = RwLock<IdTable<Entry>>;

/// A subject's sessions as counted at creation: never fewer than are live (a revocation or an
/// expiry does not count down, so the count only errs upwards), recounted whenever the limit is
/// enforced, and forgotten once `last_end` has passed. 16 bytes a subject, key included.
#[derive(Debug, Clone, Copy)]
struct Tally {
    count: u32,
    last_end: u32,
}

type TallyMap = HashMap<u64, Tally, BuildHasherDefault<KeyBits>>;
type Tallies = Mutex<TallyMap>;

/// Sessions in process memory: 64 lock shards and no global lock on any path; ended sessions
/// are swept out as new ones arrive, so memory stays bounded by the live sessions. Each shard is
/// an open-addressing table of 104-byte slots kept between 3/8 and 3/4 full (140–280 bytes per
/// session; 219 at a million, see BENCHMARKS.md), where a lookup reads the slot it lands on and
/// so misses the caches once even when the store is far larger than they are.
///
/// Revoking a subject's sessions scans the shards one at a time (milliseconds at a million
/// sessions) instead of keeping a per-subject index that would double the memory per session;
/// a count per subject (16 bytes) is all that enforces
/// [`max_sessions_per_subject`](crate::JwtSessionsBuilder::max_sessions_per_subject), with the
/// same scan only when a login finds the subject over it.
///
/// Clones share the same sessions. Nothing survives a restart; for a fleet of servers use a
/// shared store.
///
/// ```
/// use tower_jwt_auth::JwtSessions;
/// use tower_jwt_auth::store::MemoryStore;
///
/// let store = MemoryStore::new();
/// let sessions = JwtSessions::builder()
///     .hs256_secret(b"an example secret of 32+ bytes!!")
///     .store(store.clone())
///     .build()?;
/// # let _: &JwtSessions = &sessions;
/// assert!(store.is_empty());
/// # Ok::<(), tower_jwt_auth::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct MemoryStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    shards: Box<[Shard]>,
    /// Per subject, sharded by subject. A subject's tally lock is taken before any session
    /// shard's lock, never after, and is held while that subject's sessions are created or all
    /// revoked: so a session is never recorded without being counted.
    tallies: Box<[Tallies]>,
    subject_hash: [RandomState; 2],
    created: AtomicU64,
}

fn read(shard: &Shard) -> RwLockReadGuard<'_, IdTable<Entry>> {
    shard.read().unwrap_or_else(PoisonError::into_inner)
}

fn lock(tallies: &Tallies) -> MutexGuard<'_, TallyMap> {
    tallies.lock().unwrap_or_else(PoisonError::into_inner)
}

fn write(shard: &Shard) -> RwLockWriteGuard<'_, IdTable<Entry>> {
    shard.write().unwrap_or_else(PoisonError::into_inner)
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Inner {
                shards: (0..SHARDS).map(|_| RwLock::default()).collect(),
                tallies: (0..SHARDS).map(|_| Mutex::default()).collect(),
                subject_hash: [RandomState::new(), RandomState::new()],
                created: AtomicU64::new(0),
            }),
        }
    }

    /// Number of sessions held, live or revoked (revoked ones stay until their end).
    #[must_use]
    pub fn len(&self) -> usize {
        self.inner.shards.iter().map(|s| read(s).len()).sum()
    }

    /// Whether the store holds no session.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets every session that ended before `now`; returns how many. Called for one shard at a
    /// time as sessions are created, so calling it is only needed to reclaim memory at once.
    #[must_use]
    pub fn purge_expired(&self, now: u64) -> usize {
        (0..SHARDS).map(|shard| self.sweep(shard, now)).sum()
    }

    fn shard(&self, sid: &SessionId) -> &Shard {
        &self.inner.shards[usize::from(sid.as_bytes()[0]) & (SHARDS - 1)]
    }

    fn tallies(&self, subject: SubjectKey) -> &Tallies {
        #[expect(
            clippy::cast_possible_truncation,
            reason = "the low bits pick the shard"
        )]
        let bits = subject.tally().rotate_right(32) as usize;
        &self.inner.tallies[bits & (SHARDS - 1)]
    }

    fn subject_key(&self, subject: &str) -> SubjectKey {
        let [a, b] = &self.inner.subject_hash;
        SubjectKey([a.hash_one(subject), b.hash_one(subject)])
    }

    fn access_verdict(&self, sid: SessionId, jti: TokenId, now: u64) -> AccessCheck {
        read(self.shard(&sid))
            .get(&sid)
            .map_or(AccessCheck::Unknown, |e| e.record.check_access(jti, now))
    }

    fn sweep(&self, shard: usize, now: u64) -> usize {
        lock(&self.inner.tallies[shard]).retain(|_, tally| u64::from(tally.last_end) > now);
        let mut sessions = write(&self.inner.shards[shard]);
        let before = sessions.len();
        sessions.retain(|e| !e.record.is_expired(now));
        before - sessions.len()
    }

    /// Ends `subject`'s live sessions that end first, never `keep`, until at most `limit` are
    /// live; returns the new count of its tally (which also counts any subject sharing it).
    /// Called with the subject's tally lock held.
    fn enforce_limit(&self, subject: SubjectKey, keep: SessionId, limit: u32, now: u64) -> u32 {
        let mut live: Vec<(u64, SessionId)> = Vec::new();
        let mut sharing = 0usize;
        for shard in self.inner.shards.iter() {
            for (id, e) in read(shard).iter() {
                let record = &e.record;
                if e.subject.tally() != subject.tally()
                    || record.is_revoked()
                    || record.is_expired(now)
                {
                    continue;
                }
                match e.subject == subject {
                    true => live.push((record.expires_at(), *id)),
                    false => sharing += 1,
                }
            }
        }
        let excess = live.len().saturating_sub(limit as usize);
        live.sort_unstable_by_key(|(end, id)| (*end, *id.as_bytes()));
        for (_, id) in live.iter().filter(|(_, id)| *id != keep).take(excess) {
            if let Some(entry) = write(self.shard(id)).get_mut(id) {
                entry.record.revoke();
            }
        }
        u32::try_from(live.len() - excess + sharing).unwrap_or(u32::MAX)
    }
}

impl PairStore for MemoryStore {
    async fn create_session(&self, session: NewSession) -> Result<(), StoreError> {
        let sid = session.session_id();
        let subject = self.subject_key(session.subject());
        let record = SessionRecord::new(&session);
        let end = record.expires_at();
        let now = session.access().iat;
        let mut tallies = lock(self.tallies(subject));
        let entry = Entry { record, subject };
        if let Err(existing) = write(self.shard(&sid)).insert_new(sid, entry) {
            return match existing.record.is_creation_of(&session) {
                true => Ok(()),
                false => Err(StoreError::from_kind(StoreErrorKind::Conflict)),
            };
        }
        let tally = tallies.entry(subject.tally()).or_insert(Tally {
            count: 0,
            last_end: 0,
        });
        tally.count = tally.count.saturating_add(1);
        // Record times are u32 seconds: this never truncates.
        tally.last_end = tally.last_end.max(u32::try_from(end).unwrap_or(u32::MAX));
        if tally.count > session.subject_limit() {
            tally.count = self.enforce_limit(subject, sid, session.subject_limit(), now);
        }
        drop(tallies);
        let created = self.inner.created.fetch_add(1, Ordering::Relaxed);
        if created.is_multiple_of(SWEEP_EVERY) {
            // Truncation is intended: the counter only picks the next shard round-robin.
            let shard = (created / SWEEP_EVERY) as usize & (SHARDS - 1);
            self.sweep(shard, now);
        }
        Ok(())
    }

    async fn check_access(
        &self,
        sid: SessionId,
        jti: TokenId,
        now: u64,
    ) -> Result<AccessCheck, StoreError> {
        Ok(self.access_verdict(sid, jti, now))
    }

    fn check_access_now(
        &self,
        sid: SessionId,
        jti: TokenId,
        now: u64,
    ) -> Option<Result<AccessCheck, StoreError>> {
        Some(Ok(self.access_verdict(sid, jti, now)))
    }

    async fn refresh(&self, request: RefreshRequest) -> Result<RefreshOutcome, StoreError> {
        Ok(write(self.shard(&request.sid))
            .get_mut(&request.sid)
            .map_or(RefreshOutcome::Unknown, |e| e.record.refresh(&request)))
    }

    async fn revoke_session(&self, sid: SessionId, now: u64) -> Result<bool, StoreError> {
        Ok(write(self.shard(&sid))
            .get_mut(&sid)
            .is_some_and(|e| !e.record.is_expired(now) && e.record.revoke()))
    }

    async fn revoke_subject(&self, subject: &str, now: u64) -> Result<usize, StoreError> {
        // The subject's tally lock keeps its logins out until every shard has been visited.
        let key = self.subject_key(subject);
        let mut tallies = lock(self.tallies(key));
        let mut revoked = 0;
        for shard in self.inner.shards.iter() {
            for entry in write(shard).values_mut() {
                if entry.subject == key && !entry.record.is_expired(now) && entry.record.revoke() {
                    revoked += 1;
                }
            }
        }
        // Only this subject's sessions were revoked: a subject sharing the tally keeps it.
        if let Some(tally) = tallies.get_mut(&key.tally()) {
            tally.count = tally
                .count
                .saturating_sub(u32::try_from(revoked).unwrap_or(u32::MAX));
        }
        Ok(revoked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::TokenStamp;

    fn stamp(iat: u64, exp: u64) -> TokenStamp {
        TokenStamp {
            jti: TokenId::random().unwrap(),
            iat,
            exp,
        }
    }

    fn session(subject: &str, iat: u64, end: u64) -> NewSession {
        NewSession::new(
            SessionId::random().unwrap(),
            subject,
            stamp(iat, iat + 10),
            stamp(iat, end),
        )
    }

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(future)
    }

    #[test]
    fn a_record_stays_compact() {
        assert_eq!(std::mem::size_of::<SessionRecord>(), 72);
        assert_eq!(std::mem::size_of::<(SessionId, Entry)>(), 104);
    }

    #[test]
    fn purge_forgets_ended_sessions() {
        block_on(async {
            let store = MemoryStore::new();
            store.create_session(session("a", 1, 100)).await.unwrap();
            store.create_session(session("a", 1, 300)).await.unwrap();
            assert_eq!(store.purge_expired(200), 1);
            assert_eq!(store.len(), 1);
            assert_eq!(store.purge_expired(300), 1);
            assert!(store.is_empty());
        });
    }

    #[test]
    fn creating_sessions_sweeps_ended_ones_without_being_asked() {
        block_on(async {
            let store = MemoryStore::new();
            for _ in 0..1_000 {
                store.create_session(session("old", 1, 5)).await.unwrap();
            }
            // Every later session is created at t=10, after the old ones ended; 64 rounds of
            // sweeps visit every shard.
            let later = SWEEP_EVERY * SHARDS as u64;
            for _ in 0..later {
                store
                    .create_session(session("new", 10, 1_000))
                    .await
                    .unwrap();
            }
            assert_eq!(store.len() as u64, later);
        });
    }
}
