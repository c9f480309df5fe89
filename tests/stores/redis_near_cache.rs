//! The Redis store's near cache: the conformance suite with it on, revocations and refreshes made
//! on another server reaching it, and faults under load (Redis killed and restarted, Redis
//! hung, a cluster master killed): every check answers correctly or fails (`503`), and no
//! revoked token is ever current again. Needs `REDIS_URL` for the shared-Redis tests and `redis-server` for the fault tests;
//! each prints `SKIPPED <name>` otherwise.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tower_jwt_auth::store::RedisStore;
use tower_jwt_auth::store::{AccessCheck, PairStore, RefreshOutcome, RefreshRequest, TokenStamp};
use tower_jwt_auth::{SessionId, TokenId};

use crate::common::redis::{RedisCluster, RedisServer, redis_url, unique_prefix};
use crate::common::sessions::{live_session, stamp, until_trusted};
use crate::common::skip::skip;

const NOW: u64 = 1_700_000_000;

mod suite {
    tower_jwt_auth::pair_store_conformance!({
        let Some(url) = crate::common::redis::redis_url() else {
            return;
        };
        async move { super::cached_store(&url, &crate::common::redis::unique_prefix()).await }
    });
}

/// A store with the near cache on, once its tracking is established.
async fn cached_store(url: &str, prefix: &str) -> RedisStore {
    let store = RedisStore::builder(url)
        .prefix(prefix)
        .timeout(Duration::from_millis(500))
        .near_cache(10_000)
        .build()
        .await
        .expect("connect to Redis");
    until_trusted(&store).await;
    store
}

async fn plain_store(url: &str, prefix: &str) -> RedisStore {
    RedisStore::builder(url)
        .prefix(prefix)
        .timeout(Duration::from_millis(500))
        .build()
        .await
        .expect("connect to Redis")
}

/// Checks until the copy holds the token: a check right after the session was written may
/// still meet the invalidation of that write, which empties the slot it just filled.
async fn until_cached(store: &RedisStore, sid: SessionId, jti: TokenId, now: u64) {
    let start = Instant::now();
    loop {
        assert_eq!(
            store.check_access(sid, jti, now).await.unwrap(),
            AccessCheck::Current
        );
        if let Some(answer) = store.check_access_now(sid, jti, now) {
            assert_eq!(answer.unwrap(), AccessCheck::Current);
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "the copy never held the token"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Checks `key` (session, token, time) on `store` until it answers `expected`, within the near
/// cache's bound of 250 ms.
async fn until_answer(
    store: &RedisStore,
    (sid, jti, now): (SessionId, TokenId, u64),
    expected: AccessCheck,
    what: &str,
) {
    let start = Instant::now();
    while store.check_access(sid, jti, now).await.unwrap() != expected {
        assert!(start.elapsed() < Duration::from_millis(250), "{what}");
        tokio::task::yield_now().await;
    }
}

/// Waits until `store`'s copy is no longer trusted, for at most `limit`.
async fn until_untrusted(store: &RedisStore, limit: Duration, what: &str) {
    let start = Instant::now();
    while store.near_cache_stats().unwrap().trusted {
        assert!(start.elapsed() < limit, "{what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Two servers on `cluster`: A with the near cache (tracking established), B without.
async fn cluster_stores(cluster: &RedisCluster) -> (RedisStore, RedisStore) {
    let prefix = unique_prefix();
    let connect = |near: bool| {
        let mut builder = RedisStore::cluster_builder(cluster.urls())
            .prefix(&prefix)
            .timeout(Duration::from_millis(500));
        if near {
            builder = builder.near_cache(10_000);
        }
        builder.build()
    };
    let a = connect(true).await.expect("server A");
    let b = connect(false).await.expect("server B");
    until_trusted(&a).await;
    (a, b)
}

/// `count` sessions created on `b`, each held by `a`'s copy.
async fn sessions_held(a: &RedisStore, b: &RedisStore, count: usize) -> Vec<(SessionId, TokenId)> {
    let mut sessions = Vec::new();
    for _ in 0..count {
        let (sid, access, _) = live_session(b, NOW).await;
        until_cached(a, sid, access, NOW).await;
        sessions.push((sid, access));
    }
    sessions
}

/// A refresh of session `sid` with refresh token `refresh` at `new_access.iat`, minting
/// `new_access`: no rotation, no grace, theft detection on.
fn refresh_request(sid: SessionId, refresh: TokenId, new_access: TokenStamp) -> RefreshRequest {
    RefreshRequest {
        sid,
        refresh_jti: refresh,
        now: new_access.iat,
        new_access,
        new_refresh: None,
        grace: 0,
        leeway: 0,
        theft_detection: true,
    }
}

fn hits(store: &RedisStore) -> u64 {
    store.near_cache_stats().expect("near cache on").hits
}

#[tokio::test]
async fn checks_are_answered_locally_and_changes_elsewhere_reach_them() {
    let Some(url) = redis_url() else {
        return;
    };
    let prefix = unique_prefix();
    let (a, b) = (
        cached_store(&url, &prefix).await,
        plain_store(&url, &prefix).await,
    );
    let (sid, access, refresh) = live_session(&b, NOW).await;

    until_cached(&a, sid, access, NOW).await;
    let before = hits(&a);
    assert_eq!(
        a.check_access_now(sid, access, NOW).map(Result::unwrap),
        Some(AccessCheck::Current)
    );
    assert_eq!(hits(&a), before + 1, "a check is answered from the copy");

    // Another server refreshes: the new token is current here at once (the copy does not know
    // it, so Redis is asked), the old one once the invalidation arrives.
    let new_access = stamp(NOW + 950, NOW + 1_850);
    let outcome = b
        .refresh(refresh_request(sid, refresh, new_access))
        .await
        .unwrap();
    assert!(matches!(outcome, RefreshOutcome::Granted { .. }));
    assert_eq!(
        a.check_access(sid, new_access.jti, NOW + 950)
            .await
            .unwrap(),
        AccessCheck::Current
    );
    until_answer(
        &a,
        (sid, access, NOW + 950),
        AccessCheck::Superseded,
        "the refresh never reached the copy",
    )
    .await;

    // Another server revokes: refused here within the bound, and for good.
    assert_eq!(
        a.check_access(sid, new_access.jti, NOW + 950)
            .await
            .unwrap(),
        AccessCheck::Current
    );
    assert!(b.revoke_session(sid, NOW + 960).await.unwrap());
    until_answer(
        &a,
        (sid, new_access.jti, NOW + 960),
        AccessCheck::Revoked,
        "the revocation never reached the copy",
    )
    .await;
    for _ in 0..3 {
        assert_eq!(
            a.check_access(sid, new_access.jti, NOW + 960)
                .await
                .unwrap(),
            AccessCheck::Revoked
        );
    }
}

#[tokio::test]
async fn a_local_refresh_or_revocation_is_seen_at_once() {
    let Some(url) = redis_url() else {
        return;
    };
    let a = cached_store(&url, &unique_prefix()).await;
    let (sid, access, refresh) = live_session(&a, NOW).await;
    assert_eq!(
        a.check_access(sid, access, NOW).await.unwrap(),
        AccessCheck::Current
    );
    assert_eq!(
        a.check_access(sid, access, NOW).await.unwrap(),
        AccessCheck::Current
    );
    let new_access = stamp(NOW + 950, NOW + 1_850);
    a.refresh(refresh_request(sid, refresh, new_access))
        .await
        .unwrap();
    // No waiting: this server's own change never leaves a stale copy behind.
    assert_eq!(
        a.check_access(sid, access, NOW + 950).await.unwrap(),
        AccessCheck::Superseded
    );
    assert!(a.revoke_session(sid, NOW + 951).await.unwrap());
    assert_eq!(
        a.check_access(sid, new_access.jti, NOW + 951)
            .await
            .unwrap(),
        AccessCheck::Revoked
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_cluster_every_master_is_tracked() {
    if redis_url().is_none() {
        return;
    }
    let mut cluster = RedisCluster::start(3);
    let (a, b) = cluster_stores(&cluster).await;

    // Sessions on every master, held by A's copy; B revokes half of them.
    let sessions = sessions_held(&a, &b, 30).await;
    let (revoked, live) = sessions.split_at(15);
    for &(sid, access) in revoked {
        assert!(b.revoke_session(sid, NOW + 1).await.unwrap());
        until_answer(
            &a,
            (sid, access, NOW + 1),
            AccessCheck::Revoked,
            "a revocation on some master never reached the copy",
        )
        .await;
    }

    // A master dies: its tracking connection with it, so the copy is no longer trusted.
    cluster.kill_node(0);
    until_untrusted(
        &a,
        Duration::from_millis(400),
        "trust outlived a dead master",
    )
    .await;
    let mut failed = 0;
    for &(sid, access) in live {
        match a.check_access(sid, access, NOW + 1).await {
            Ok(check) => assert_eq!(check, AccessCheck::Current),
            Err(_) => failed += 1,
        }
    }
    assert!(failed > 0, "the dead master's sessions fail");
    assert!(failed < live.len(), "the other masters still answer");
    for &(sid, access) in revoked {
        let check = a.check_access(sid, access, NOW + 1).await;
        assert!(
            check.as_ref().ok() != Some(&AccessCheck::Current),
            "{check:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fail_over_restarts_tracking_on_the_new_masters() {
    if redis_url().is_none() {
        return;
    }
    let cluster = RedisCluster::start_with(3, 1);
    let (a, b) = cluster_stores(&cluster).await;
    let sessions = sessions_held(&a, &b, 30).await;
    let before = a.near_cache_stats().unwrap().invalidations;

    // A replica takes over its master's slots: the masters A tracks are no longer the masters.
    cluster.fail_over();
    until_untrusted(&a, Duration::from_secs(5), "a fail-over went unnoticed").await;
    until_trusted(&a).await;
    // Tracking covers the new master: revocations of every session reach the copy.
    for &(sid, access) in &sessions {
        until_cached(&a, sid, access, NOW).await;
        assert!(b.revoke_session(sid, NOW + 1).await.unwrap());
        until_answer(
            &a,
            (sid, access, NOW + 1),
            AccessCheck::Revoked,
            "a revocation after the fail-over never reached the copy",
        )
        .await;
    }
    assert!(a.near_cache_stats().unwrap().invalidations > before);
}

/// Checks `sid`/`jti` on `store` in a loop until `stop`, recording every answer and counting
/// the failures in `failures`.
fn hammer(
    store: RedisStore,
    sid: SessionId,
    jti: TokenId,
    stop: Arc<AtomicBool>,
    failures: Arc<AtomicUsize>,
) -> tokio::task::JoinHandle<Vec<Result<AccessCheck, String>>> {
    tokio::spawn(async move {
        let mut seen = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            let answer = store
                .check_access(sid, jti, NOW + 10)
                .await
                .map_err(|e| format!("{:?}", e.kind()));
            if answer.is_err() {
                failures.fetch_add(1, Ordering::Relaxed);
            }
            seen.push(answer);
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        seen
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_of_redis_under_load_never_revives_a_revoked_token() {
    if std::process::Command::new("redis-server")
        .arg("--version")
        .output()
        .is_err()
    {
        skip("no redis-server");
        return;
    }
    // Persistence on, so the restarted Redis still has every acknowledged revocation.
    let mut server = RedisServer::start(&["--appendonly", "yes", "--appendfsync", "always"]);
    let prefix = unique_prefix();
    let a = cached_store(&server.url(), &prefix).await;
    let b = plain_store(&server.url(), &prefix).await;
    let (live, live_access, _) = live_session(&b, NOW).await;
    let (gone, gone_access, _) = live_session(&b, NOW).await;
    for (sid, jti) in [(live, live_access), (gone, gone_access)] {
        assert_eq!(
            a.check_access(sid, jti, NOW + 10).await.unwrap(),
            AccessCheck::Current
        );
    }
    assert!(b.revoke_session(gone, NOW + 10).await.unwrap());
    until_answer(
        &a,
        (gone, gone_access, NOW + 10),
        AccessCheck::Revoked,
        "the revocation never arrived",
    )
    .await;

    let stop = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(AtomicUsize::new(0));
    let live_answers = hammer(a.clone(), live, live_access, stop.clone(), failures.clone());
    let gone_answers = hammer(a.clone(), gone, gone_access, stop.clone(), failures.clone());
    tokio::time::sleep(Duration::from_millis(50)).await;
    server.kill();
    let down = Instant::now();
    // Wait, under load, until the outage is seen: the copy untrusted, the loads failing.
    while a.near_cache_stats().unwrap().trusted || failures.load(Ordering::Relaxed) < 10 {
        assert!(
            down.elapsed() < Duration::from_secs(5),
            "the outage was never noticed"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.restart();
    until_trusted(&a).await;
    let start = Instant::now();
    while a.check_access(live, live_access, NOW + 10).await.ok() != Some(AccessCheck::Current) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no recovery after Redis returned"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let (live_answers, gone_answers) = (live_answers.await.unwrap(), gone_answers.await.unwrap());
    // The copy fills again.
    until_cached(&a, live, live_access, NOW + 10).await;

    assert!(
        gone_answers
            .iter()
            .all(|a| a.as_ref().ok() != Some(&AccessCheck::Current)),
        "a revoked token was accepted"
    );
    assert!(
        live_answers
            .iter()
            .all(|a| matches!(a, Ok(AccessCheck::Current) | Err(_))),
        "a live session got a wrong answer: {live_answers:?}"
    );
    assert!(
        live_answers.iter().any(Result::is_err),
        "the load saw the outage"
    );
    assert!(live_answers.iter().any(Result::is_ok));
    // Revoked before the crash, revoked after it.
    assert_eq!(
        a.check_access(gone, gone_access, NOW + 10).await.unwrap(),
        AccessCheck::Revoked
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_redis_is_not_trusted_beyond_the_bound() {
    if std::process::Command::new("redis-server")
        .arg("--version")
        .output()
        .is_err()
    {
        skip("no redis-server");
        return;
    }
    let server = RedisServer::start(&[]);
    let a = cached_store(&server.url(), &unique_prefix()).await;
    let (sid, access, _) = live_session(&a, NOW).await;
    assert_eq!(
        a.check_access(sid, access, NOW + 10).await.unwrap(),
        AccessCheck::Current
    );
    server.pause();
    // Trust ends 250 ms after the last pings were sent, which was before the freeze.
    until_untrusted(
        &a,
        Duration::from_millis(400),
        "trust outlived a hung Redis by more than the bound",
    )
    .await;
    assert!(a.check_access_now(sid, access, NOW + 10).is_none());
    assert!(a.check_access(sid, access, NOW + 10).await.is_err());
    server.resume();
    until_trusted(&a).await;
    assert_eq!(
        a.check_access(sid, access, NOW + 10).await.unwrap(),
        AccessCheck::Current
    );
}
