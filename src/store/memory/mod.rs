//! The embedded in-memory [`PairStore`].

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::{
    AccessCheck, NewSession, PairStore, RefreshOutcome, RefreshRequest, SessionRecord, StoreError,
};
use crate::id::{SessionId, TokenId};

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

#[derive(Debug)]
struct Entry {
    record: SessionRecord,
    subject: SubjectKey,
}

type Shard = RwLock<IdTable<Entry>>;

/// Sessions in process memory: 64 lock shards and no global lock on any path; ended sessions
/// are swept out as new ones arrive, so memory stays bounded by the live sessions. Each shard is
/// an open-addressing table of 104-byte slots kept between 3/8 and 3/4 full (140–280 bytes per
/// session; 219 at a million, see BENCHMARKS.md), where a lookup reads the slot it lands on and
/// so misses the caches once even when the store is far larger than they are.
///
/// Revoking a subject's sessions scans the shards one at a time (milliseconds at a million
/// sessions) instead of keeping a per-subject index that would double the memory per session.
///
/// Clones share the same sessions. Nothing survives a restart; for a fleet of servers use a
/// shared store.
///
/// ```
/// use tower_jwt_auth::{JwtSessions, MemoryStore};
///
/// let store = MemoryStore::new();
/// let sessions = JwtSessions::builder()
///     .hs256_secret(b"an example secret of 32+ bytes!!")
///     .store(store.clone())
///     .build()?;
/// # let _: &JwtSessions<MemoryStore> = &sessions;
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
    subject_hash: [RandomState; 2],
    created: AtomicU64,
}

fn read(shard: &Shard) -> RwLockReadGuard<'_, IdTable<Entry>> {
    shard.read().unwrap_or_else(PoisonError::into_inner)
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
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Inner {
                shards: (0..SHARDS).map(|_| RwLock::default()).collect(),
                subject_hash: [RandomState::new(), RandomState::new()],
                created: AtomicU64::new(0),
            }),
        }
    }

    /// Number of sessions held, live or revoked (revoked ones stay until their end).
    pub fn len(&self) -> usize {
        self.inner.shards.iter().map(|s| read(s).len()).sum()
    }

    /// Whether the store holds no session.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets every session that ended before `now`; returns how many. Called for one shard at a
    /// time as sessions are created, so calling it is only needed to reclaim memory at once.
    pub fn purge_expired(&self, now: u64) -> usize {
        (0..SHARDS).map(|shard| self.sweep(shard, now)).sum()
    }

    fn shard(&self, sid: &SessionId) -> &Shard {
        &self.inner.shards[usize::from(sid.as_bytes()[0]) & (SHARDS - 1)]
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
        let mut sessions = write(&self.inner.shards[shard]);
        let before = sessions.len();
        sessions.retain(|e| !e.record.is_expired(now));
        before - sessions.len()
    }
}

impl PairStore for MemoryStore {
    async fn create_session(&self, session: NewSession) -> Result<(), StoreError> {
        let sid = session.session_id();
        let entry = Entry {
            record: SessionRecord::new(&session),
            subject: self.subject_key(session.subject()),
        };
        write(self.shard(&sid)).insert(sid, entry);
        let created = self.inner.created.fetch_add(1, Ordering::Relaxed);
        if created.is_multiple_of(SWEEP_EVERY) {
            // Truncation is intended: the counter only picks the next shard round-robin.
            #[allow(clippy::cast_possible_truncation)]
            let shard = (created / SWEEP_EVERY) as usize & (SHARDS - 1);
            self.sweep(shard, session.access().iat);
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
        // Every session that existed when this call began sits in some shard and is revoked
        // when that shard is visited; one created meanwhile counts as created after the call.
        let key = self.subject_key(subject);
        let mut revoked = 0;
        for shard in self.inner.shards.iter() {
            for entry in write(shard).values_mut() {
                if entry.subject == key && !entry.record.is_expired(now) && entry.record.revoke() {
                    revoked += 1;
                }
            }
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
