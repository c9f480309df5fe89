//! For the shared stores' tests: token stamps, a live session, and waiting for a near cache to
//! trust its copy, whichever store holds it.

use std::time::{Duration, Instant};

#[cfg(feature = "postgres")]
use tower_jwt_auth::store::PostgresStore;
#[cfg(feature = "redis")]
use tower_jwt_auth::store::RedisStore;
use tower_jwt_auth::store::{NearCacheStats, NewSession, PairStore, TokenStamp};
use tower_jwt_auth::{SessionId, TokenId};

/// A token issued at `iat` that expires at `exp`, with a fresh id.
pub(crate) fn stamp(iat: u64, exp: u64) -> TokenStamp {
    TokenStamp {
        jti: TokenId::random().expect("random source"),
        iat,
        exp,
    }
}

/// A new session of alice at `now` (access token valid for 900 s, session for an hour): its id,
/// access token id and refresh token id.
pub(crate) async fn live_session<S: PairStore>(
    store: &S,
    now: u64,
) -> (SessionId, TokenId, TokenId) {
    let sid = SessionId::random().expect("random source");
    let (access, refresh) = (stamp(now, now + 900), stamp(now, now + 3_600));
    store
        .create_session(NewSession::new(sid, "alice", access, refresh))
        .await
        .expect("created");
    (sid, access.jti, refresh.jti)
}

/// A store that may keep a near cache.
pub(crate) trait NearCached {
    fn stats(&self) -> NearCacheStats;
}

#[cfg(feature = "postgres")]
impl NearCached for PostgresStore {
    fn stats(&self) -> NearCacheStats {
        self.near_cache_stats().expect("near cache on")
    }
}

#[cfg(feature = "redis")]
impl NearCached for RedisStore {
    fn stats(&self) -> NearCacheStats {
        self.near_cache_stats().expect("near cache on")
    }
}

/// Waits until the near cache of `store` trusts its copy (its listener or tracking connection
/// proved itself), within ten seconds.
pub(crate) async fn until_trusted(store: &impl NearCached) {
    let start = Instant::now();
    while !store.stats().trusted {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the near cache never came to trust its copy"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
