//! The embedded in-memory [`PairStore`].

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use super::{
    AccessCheck, NewSession, PairStore, RefreshOutcome, RefreshRequest, SessionRecord, StoreError,
};
use crate::id::{SessionId, TokenId};

/// Power of two, so a shard is picked with a mask; enough that two cores rarely meet.
const SHARDS: usize = 64;
/// One shard is swept for expired sessions every this many new sessions.
const SWEEP_EVERY: u64 = 64;

/// Session ids are uniformly random and minted by the server, so their own bytes are already a
/// good hash; nothing an attacker sends can choose them.
#[derive(Debug, Clone, Copy, Default)]
struct IdHash;

#[derive(Debug, Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        // The shard is picked from byte 0; the bucket comes from bytes 8..16.
        for &b in bytes.iter().skip(8).take(8) {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl BuildHasher for IdHash {
    type Hasher = IdHasher;

    fn build_hasher(&self) -> IdHasher {
        IdHasher::default()
    }
}

type SessionShard = RwLock<HashMap<SessionId, SessionRecord, IdHash>>;
type SubjectShard = Mutex<HashMap<Arc<str>, Vec<SessionId>>>;

/// Sessions in process memory: sharded locks, no global lock on any path, and expired sessions
/// swept out as new ones arrive, so memory stays bounded by the number of live sessions.
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
    sessions: Box<[SessionShard]>,
    subjects: Box<[SubjectShard]>,
    subject_hash: RandomState,
    created: AtomicU64,
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
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
                sessions: (0..SHARDS).map(|_| RwLock::default()).collect(),
                subjects: (0..SHARDS).map(|_| Mutex::default()).collect(),
                subject_hash: RandomState::new(),
                created: AtomicU64::new(0),
            }),
        }
    }

    /// Number of sessions held, live or revoked (revoked ones stay until their end).
    pub fn len(&self) -> usize {
        self.inner.sessions.iter().map(|s| read(s).len()).sum()
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

    fn session_shard(&self, sid: &SessionId) -> &SessionShard {
        &self.inner.sessions[usize::from(sid.as_bytes()[0]) & (SHARDS - 1)]
    }

    fn subject_shard(&self, subject: &str) -> &SubjectShard {
        let hash = self.inner.subject_hash.hash_one(subject);
        // Truncation is intended: only the low bits pick the shard.
        #[allow(clippy::cast_possible_truncation)]
        &self.inner.subjects[hash as usize & (SHARDS - 1)]
    }

    fn sweep(&self, shard: usize, now: u64) -> usize {
        // Collect under the session lock, then unindex: never hold both, in this order.
        let mut ended = Vec::new();
        write(&self.inner.sessions[shard]).retain(|sid, record| {
            let keep = !record.is_expired(now);
            if !keep {
                ended.push((record.subject().clone(), *sid));
            }
            keep
        });
        for (subject, sid) in &ended {
            let mut index = lock(self.subject_shard(subject));
            if let Some(sids) = index.get_mut(subject) {
                sids.retain(|s| s != sid);
                if sids.is_empty() {
                    index.remove(subject);
                }
            }
        }
        ended.len()
    }
}

impl PairStore for MemoryStore {
    async fn create_session(&self, session: NewSession) -> Result<(), StoreError> {
        let sid = session.session_id();
        let now = session.access().iat;
        {
            // Subject lock first, then the session's: a concurrent revoke_subject either sees
            // this session or runs entirely before it exists.
            let mut index = lock(self.subject_shard(session.subject()));
            write(self.session_shard(&sid)).insert(sid, SessionRecord::new(&session));
            index
                .entry(session.subject().clone())
                .or_default()
                .push(sid);
        }
        let created = self.inner.created.fetch_add(1, Ordering::Relaxed);
        if created.is_multiple_of(SWEEP_EVERY) {
            // Truncation is intended: the counter only picks the next shard round-robin.
            #[allow(clippy::cast_possible_truncation)]
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
        Ok(read(self.session_shard(&sid))
            .get(&sid)
            .map_or(AccessCheck::Unknown, |record| record.check_access(jti, now)))
    }

    async fn refresh(&self, request: RefreshRequest) -> Result<RefreshOutcome, StoreError> {
        Ok(write(self.session_shard(&request.sid))
            .get_mut(&request.sid)
            .map_or(RefreshOutcome::Unknown, |record| record.refresh(&request)))
    }

    async fn revoke_session(&self, sid: SessionId, now: u64) -> Result<bool, StoreError> {
        Ok(write(self.session_shard(&sid))
            .get_mut(&sid)
            .is_some_and(|record| !record.is_expired(now) && record.revoke()))
    }

    async fn revoke_subject(&self, subject: &str, now: u64) -> Result<usize, StoreError> {
        let index = lock(self.subject_shard(subject));
        let Some(sids) = index.get(subject) else {
            return Ok(0);
        };
        let mut revoked = 0;
        for sid in sids {
            let mut shard = write(self.session_shard(sid));
            if let Some(record) = shard.get_mut(sid)
                && !record.is_expired(now)
                && record.revoke()
            {
                revoked += 1;
            }
        }
        Ok(revoked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::TokenStamp;

    fn session(subject: &str, end: u64) -> NewSession {
        let stamp = |exp| TokenStamp {
            jti: TokenId::random().unwrap(),
            iat: 0,
            exp,
        };
        NewSession::new(SessionId::random().unwrap(), subject, stamp(10), stamp(end))
    }

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(future)
    }

    #[test]
    fn purge_forgets_ended_sessions_and_their_index() {
        block_on(async {
            let store = MemoryStore::new();
            store.create_session(session("a", 100)).await.unwrap();
            store.create_session(session("a", 300)).await.unwrap();
            assert_eq!(store.purge_expired(200), 1);
            assert_eq!(store.len(), 1);
            assert_eq!(store.purge_expired(300), 1);
            assert!(store.is_empty());
            let index_entries: usize = store.inner.subjects.iter().map(|s| lock(s).len()).sum();
            assert_eq!(index_entries, 0);
        });
    }

    #[test]
    fn creating_sessions_sweeps_ended_ones_without_being_asked() {
        block_on(async {
            let store = MemoryStore::new();
            let stamp = |iat, exp| TokenStamp {
                jti: TokenId::random().unwrap(),
                iat,
                exp,
            };
            for _ in 0..1_000 {
                store.create_session(session("old", 5)).await.unwrap();
            }
            // Every later session is created at t=10, after the old ones ended.
            for _ in 0..(SWEEP_EVERY * SHARDS as u64) {
                let s = NewSession::new(
                    SessionId::random().unwrap(),
                    "new",
                    stamp(10, 20),
                    stamp(10, 1_000),
                );
                store.create_session(s).await.unwrap();
            }
            assert_eq!(store.len(), (SWEEP_EVERY * SHARDS as u64) as usize);
        });
    }
}
