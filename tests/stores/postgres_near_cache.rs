//! The PostgreSQL store's near cache: the conformance suite with it on, changes made on another
//! server reaching it within the bound, reads racing revocations, and faults under load (the
//! database killed and restarted, the listening connection cut or stalled by a proxy, every
//! connection cut): every check answers correctly or fails with a `503` kind, and no revoked
//! token is ever current again. Needs `DATABASE_URL`; the restart test also PostgreSQL's
//! `initdb`/`pg_ctl`. Each prints `SKIPPED <name>` otherwise.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tower_jwt_auth::store::{
    AccessCheck, NewSession, PairStore, PostgresStore, RefreshOutcome, RefreshRequest,
    StoreErrorKind, TokenStamp,
};
use tower_jwt_auth::{SessionId, TokenId};

use crate::common::postgres::{PgServer, address_of, database_url, unique_table, url_via};
use crate::common::proxy::{Cut, Proxy};
use crate::common::sessions::{live_session, stamp, until_trusted};

const NOW: u64 = 1_700_000_000;
/// The near cache's bound: trust ends 250 ms after the last proof began; a little more for a
/// busy machine.
const BOUND: Duration = Duration::from_millis(400);
/// What marks the listening connection to the proxy.
const LISTEN: &[u8] = b"LISTEN";

mod suite {
    tower_jwt_auth::pair_store_conformance!({
        let Some(url) = crate::common::postgres::database_url() else {
            return;
        };
        async move { super::cached_store(&url, &crate::common::postgres::unique_table()).await }
    });
}

/// A migrated store on `table` with the near cache on, once its copy is trusted; the default
/// timeout, as the other PostgreSQL stores of these tests.
async fn cached_store(url: &str, table: &str) -> PostgresStore {
    let store = PostgresStore::builder(url)
        .table(table)
        .near_cache(10_000)
        .build()
        .await
        .expect("connect to PostgreSQL");
    store.migrate().await.expect("migrate");
    until_trusted(&store).await;
    store
}

/// Another server on `table`, without the near cache.
async fn plain_store(url: &str, table: &str) -> PostgresStore {
    PostgresStore::builder(url)
        .table(table)
        .build()
        .await
        .expect("connect to PostgreSQL")
}

async fn until_untrusted(store: &PostgresStore, what: &str) {
    let start = Instant::now();
    while store.near_cache_stats().expect("near cache on").trusted {
        assert!(start.elapsed() < BOUND, "{what}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Checks until the copy holds the token.
async fn until_cached(store: &PostgresStore, sid: SessionId, jti: TokenId) {
    let start = Instant::now();
    loop {
        assert_eq!(
            store.check_access(sid, jti, NOW + 1).await.unwrap(),
            AccessCheck::Current
        );
        if let Some(answer) = store.check_access_now(sid, jti, NOW + 1) {
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

/// Checks on `store` without pause until it answers `expected`; how long that took.
async fn until_answer(
    store: &PostgresStore,
    (sid, jti, now): (SessionId, TokenId, u64),
    expected: AccessCheck,
    what: &str,
) -> Duration {
    let start = Instant::now();
    loop {
        let answer = store.check_access(sid, jti, now).await;
        if answer.as_ref().ok() == Some(&expected) {
            return start.elapsed();
        }
        assert!(start.elapsed() < BOUND, "{what}: {answer:?}");
        tokio::task::yield_now().await;
    }
}

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

fn hits(store: &PostgresStore) -> u64 {
    store.near_cache_stats().expect("near cache on").hits
}

/// A store failure must be one the layer answers `503`, never an answer such as "unknown".
fn is_503_kind(kind: StoreErrorKind) -> bool {
    matches!(kind, StoreErrorKind::Unavailable | StoreErrorKind::Timeout)
}

#[tokio::test]
async fn checks_are_answered_locally_and_changes_elsewhere_reach_them() {
    let Some(url) = database_url() else {
        return;
    };
    let table = unique_table();
    let a = cached_store(&url, &table).await;
    let b = plain_store(&url, &table).await;
    let (sid, access, refresh) = live_session(&b, NOW).await;

    until_cached(&a, sid, access).await;
    let before = hits(&a);
    assert_eq!(
        a.check_access_now(sid, access, NOW + 1).map(Result::unwrap),
        Some(AccessCheck::Current)
    );
    assert_eq!(hits(&a), before + 1, "a check is answered from the copy");
    // Another token of the session may be newer than the copy: the database answers.
    assert!(a.check_access_now(sid, refresh, NOW + 1).is_none());

    // Another server refreshes: the new token is current here at once, the old one superseded
    // once the notification arrives.
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
    until_cached(&a, sid, new_access.jti).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocations_elsewhere_are_refused_within_milliseconds() {
    let Some(url) = database_url() else {
        return;
    };
    let table = unique_table();
    let a = cached_store(&url, &table).await;
    let b = plain_store(&url, &table).await;
    let mut latencies = Vec::new();
    for _ in 0..50 {
        let (sid, access, _) = live_session(&b, NOW).await;
        until_cached(&a, sid, access).await;
        assert!(b.revoke_session(sid, NOW + 1).await.unwrap());
        latencies.push(
            until_answer(
                &a,
                (sid, access, NOW + 1),
                AccessCheck::Revoked,
                "a revocation on another server was accepted past the bound",
            )
            .await,
        );
    }
    latencies.sort();
    eprintln!(
        "revocation reached the other server: p50 {:?}, max {:?}",
        latencies[latencies.len() / 2],
        latencies[latencies.len() - 1]
    );
}

#[tokio::test]
async fn a_local_change_is_seen_at_once() {
    let Some(url) = database_url() else {
        return;
    };
    let a = cached_store(&url, &unique_table()).await;
    let (sid, access, refresh) = live_session(&a, NOW).await;
    until_cached(&a, sid, access).await;
    let new_access = stamp(NOW + 950, NOW + 1_850);
    a.refresh(refresh_request(sid, refresh, new_access))
        .await
        .unwrap();
    // No waiting: this server's own change never leaves a stale copy behind.
    assert_eq!(
        a.check_access(sid, access, NOW + 950).await.unwrap(),
        AccessCheck::Superseded
    );
    until_cached(&a, sid, new_access.jti).await;
    assert!(a.revoke_session(sid, NOW + 951).await.unwrap());
    assert_eq!(
        a.check_access(sid, new_access.jti, NOW + 951)
            .await
            .unwrap(),
        AccessCheck::Revoked
    );

    // "Log out everywhere" too.
    let (other, other_access, _) = live_session(&a, NOW).await;
    until_cached(&a, other, other_access).await;
    assert_eq!(a.revoke_subject("alice", NOW + 952).await.unwrap(), 1);
    assert_eq!(
        a.check_access(other, other_access, NOW + 952)
            .await
            .unwrap(),
        AccessCheck::Revoked
    );
}

/// A new session on `store` whose id starts with `first`.
async fn session_starting(store: &PostgresStore, first: u8) -> (SessionId, TokenId) {
    let mut bytes = *SessionId::random().expect("random").as_bytes();
    bytes[0] = first;
    let sid = SessionId::from_bytes(bytes);
    let (access, refresh) = (stamp(NOW, NOW + 900), stamp(NOW, NOW + 3_600));
    store
        .create_session(NewSession::new(sid, "alice", access, refresh))
        .await
        .expect("created");
    (sid, access.jti)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_racing_a_revocation_never_keeps_a_stale_current() {
    let Some(url) = database_url() else {
        return;
    };
    let table = unique_table();
    // A's reads reach it late, its notifications at once: a read sent before the revocation
    // committed is answered after the revocation's notification arrived.
    let proxy = Proxy::start(address_of(&url), &[LISTEN]).await;
    // One record per shard of the copy: two sessions of one shard push each other out, so
    // checks of them keep reading the database, and reads are under way when B revokes.
    let a = PostgresStore::builder(url_via(&url, proxy.addr()))
        .table(&table)
        .near_cache(1)
        .build()
        .await
        .expect("connect");
    a.migrate().await.expect("migrate");
    until_trusted(&a).await;
    let b = plain_store(&url, &table).await;
    proxy.cut(Cut::DelayingAllBut(LISTEN, Duration::from_millis(3)));
    for round in 0..20 {
        let (sid, access) = session_starting(&b, round).await;
        let (other, other_access) = session_starting(&b, round).await;
        let applied = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        // Until the revocation's notification has been applied, readers alternate between the
        // two sessions; after it, they check the revoked one only, so a stale current kept by
        // a read that raced the revocation would stay in the copy and be answered.
        let readers: Vec<_> = (0..4)
            .map(|_| {
                let (a, applied, stop) = (a.clone(), applied.clone(), stop.clone());
                tokio::spawn(async move {
                    let mut stale = 0;
                    while !stop.load(Ordering::Acquire) {
                        let after = applied.load(Ordering::Acquire);
                        let answer = a.check_access(sid, access, NOW + 1).await.expect("a check");
                        if after && answer == AccessCheck::Current {
                            stale += 1;
                        }
                        if !after {
                            a.check_access(other, other_access, NOW + 1).await.unwrap();
                        }
                        // A check the copy answers never waits: let the others run.
                        tokio::task::yield_now().await;
                    }
                    stale
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(5)).await;
        let before = a.near_cache_stats().unwrap().invalidations;
        assert!(b.revoke_session(sid, NOW + 1).await.unwrap());
        let start = Instant::now();
        while a.near_cache_stats().unwrap().invalidations == before {
            assert!(start.elapsed() < BOUND, "the notification never arrived");
            tokio::task::yield_now().await;
        }
        applied.store(true, Ordering::Release);
        tokio::time::sleep(Duration::from_millis(20)).await;
        stop.store(true, Ordering::Release);
        for reader in readers {
            assert_eq!(
                reader.await.unwrap(),
                0,
                "a stale current after the revocation"
            );
        }
        assert_ne!(
            a.check_access_now(sid, access, NOW + 1).map(Result::unwrap),
            Some(AccessCheck::Current),
            "the copy kept a stale current"
        );
    }
}

/// Checks `sid`/`jti` on `store` every millisecond until `stop`: every answer, and every error
/// as its kind.
fn hammer(
    store: PostgresStore,
    sid: SessionId,
    jti: TokenId,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<Vec<Result<AccessCheck, StoreErrorKind>>> {
    tokio::spawn(async move {
        let mut seen = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            seen.push(
                store
                    .check_access(sid, jti, NOW + 10)
                    .await
                    .map_err(|e| e.kind()),
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        seen
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_of_the_database_under_load_never_revives_a_revoked_token() {
    if database_url().is_none() {
        return;
    }
    let Some(server) = PgServer::start() else {
        return;
    };
    let table = unique_table();
    let a = cached_store(&server.url(), &table).await;
    let b = plain_store(&server.url(), &table).await;
    let (live, live_access, _) = live_session(&b, NOW).await;
    let (gone, gone_access, _) = live_session(&b, NOW).await;
    until_cached(&a, live, live_access).await;
    until_cached(&a, gone, gone_access).await;
    assert!(b.revoke_session(gone, NOW + 10).await.unwrap());
    until_answer(
        &a,
        (gone, gone_access, NOW + 10),
        AccessCheck::Revoked,
        "the revocation never arrived",
    )
    .await;

    let stop = Arc::new(AtomicBool::new(false));
    let live_answers = hammer(a.clone(), live, live_access, stop.clone());
    let gone_answers = hammer(a.clone(), gone, gone_access, stop.clone());
    tokio::time::sleep(Duration::from_millis(50)).await;
    server.stop();
    until_untrusted(&a, "trust outlived the database").await;
    // Down: the copy is not asked, so the load fails.
    assert!(a.check_access_now(live, live_access, NOW + 10).is_none());
    let down = a.check_access(live, live_access, NOW + 10).await;
    assert!(
        down.as_ref().is_err_and(|e| is_503_kind(e.kind())),
        "{down:?}"
    );
    server.start_again();
    until_trusted(&a).await;
    let start = Instant::now();
    while a.check_access(live, live_access, NOW + 10).await.ok() != Some(AccessCheck::Current) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no recovery after the database returned"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let (live_answers, gone_answers) = (live_answers.await.unwrap(), gone_answers.await.unwrap());

    for answer in gone_answers.iter().chain(&live_answers) {
        if let Err(kind) = answer {
            assert!(is_503_kind(*kind), "{kind:?}");
        }
    }
    assert!(
        gone_answers
            .iter()
            .all(|a| matches!(a, Ok(AccessCheck::Revoked) | Err(_))),
        "a revoked token was accepted: {gone_answers:?}"
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

    // Listening again: a revocation elsewhere reaches the copy.
    until_cached(&a, live, live_access).await;
    assert!(b.revoke_session(live, NOW + 10).await.unwrap());
    until_answer(
        &a,
        (live, live_access, NOW + 10),
        AccessCheck::Revoked,
        "a revocation after the restart never arrived",
    )
    .await;
}

/// Server A on `url` through a proxy that knows its listening connection, and server B on
/// `url` directly, sharing a table.
async fn proxied_stores(url: &str) -> (Proxy, PostgresStore, PostgresStore) {
    let proxy = Proxy::start(address_of(url), &[LISTEN]).await;
    let table = unique_table();
    let a = cached_store(&url_via(url, proxy.addr()), &table).await;
    let b = plain_store(url, &table).await;
    (proxy, a, b)
}

/// While the listener is cut (`cut` closes or stalls it, and any new one), a revocation on B:
/// A refuses it within the bound, stays untrusted, and refuses it after the proxy heals.
async fn a_revocation_during(cut: Cut) {
    let Some(url) = database_url() else {
        return;
    };
    let (proxy, a, b) = proxied_stores(&url).await;
    let (gone, gone_access, _) = live_session(&b, NOW).await;
    let (live, live_access, _) = live_session(&b, NOW).await;
    until_cached(&a, gone, gone_access).await;
    until_cached(&a, live, live_access).await;

    proxy.cut(cut);
    assert!(b.revoke_session(gone, NOW + 1).await.unwrap());
    until_answer(
        &a,
        (gone, gone_access, NOW + 1),
        AccessCheck::Revoked,
        "a revocation during the cut was accepted past the bound",
    )
    .await;
    until_untrusted(&a, "trust outlived the listener").await;
    // Untrusted while the cut lasts: every check goes to the database, and is right.
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(300) {
        assert!(!a.near_cache_stats().unwrap().trusted);
        assert!(a.check_access_now(live, live_access, NOW + 1).is_none());
        assert_eq!(
            a.check_access(live, live_access, NOW + 1).await.unwrap(),
            AccessCheck::Current
        );
        assert_eq!(
            a.check_access(gone, gone_access, NOW + 1).await.unwrap(),
            AccessCheck::Revoked
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    proxy.heal();
    until_trusted(&a).await;
    assert_ne!(
        a.check_access_now(gone, gone_access, NOW + 1)
            .map(Result::unwrap),
        Some(AccessCheck::Current)
    );
    assert_eq!(
        a.check_access(gone, gone_access, NOW + 1).await.unwrap(),
        AccessCheck::Revoked
    );
    // Listening again: the copy fills, and a revocation elsewhere reaches it.
    until_cached(&a, live, live_access).await;
    assert!(b.revoke_session(live, NOW + 1).await.unwrap());
    until_answer(
        &a,
        (live, live_access, NOW + 1),
        AccessCheck::Revoked,
        "a revocation after the cut never arrived",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_while_the_listener_is_cut_is_never_accepted() {
    a_revocation_during(Cut::Carrying(LISTEN)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_while_the_listener_is_stalled_is_never_accepted() {
    a_revocation_during(Cut::Stalling(LISTEN)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_every_connection_cut_checks_fail_as_503_and_recover() {
    let Some(url) = database_url() else {
        return;
    };
    let (proxy, a, b) = proxied_stores(&url).await;
    let (gone, gone_access, _) = live_session(&b, NOW).await;
    let (live, live_access, _) = live_session(&b, NOW).await;
    until_cached(&a, gone, gone_access).await;
    until_cached(&a, live, live_access).await;

    proxy.cut(Cut::Everything);
    assert!(b.revoke_session(gone, NOW + 1).await.unwrap());
    let start = Instant::now();
    let mut failed = 0;
    while start.elapsed() < Duration::from_millis(600) {
        match a.check_access(gone, gone_access, NOW + 1).await {
            Ok(answer) => {
                assert!(
                    answer == AccessCheck::Revoked || start.elapsed() < BOUND,
                    "a revoked token accepted past the bound"
                );
            }
            Err(error) => {
                assert!(is_503_kind(error.kind()), "{error:?}");
                failed += 1;
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(failed > 0, "checks with no database must fail");
    assert!(!a.near_cache_stats().unwrap().trusted);

    proxy.heal();
    let start = Instant::now();
    while a.check_access(live, live_access, NOW + 1).await.ok() != Some(AccessCheck::Current) {
        assert!(start.elapsed() < Duration::from_secs(5), "no recovery");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    until_trusted(&a).await;
    assert_eq!(
        a.check_access(gone, gone_access, NOW + 1).await.unwrap(),
        AccessCheck::Revoked
    );
}

#[tokio::test]
async fn without_the_trigger_the_copy_is_never_trusted() {
    let Some(url) = database_url() else {
        return;
    };
    let table = unique_table();
    // The table made by a store without the near cache: no trigger.
    plain_store(&url, &table).await.migrate().await.unwrap();
    let a = PostgresStore::builder(&url)
        .table(&table)
        .near_cache(100)
        .build()
        .await
        .unwrap();
    let (sid, access, _) = live_session(&a, NOW).await;
    for _ in 0..30 {
        assert_eq!(
            a.check_access(sid, access, NOW + 1).await.unwrap(),
            AccessCheck::Current
        );
        assert!(a.check_access_now(sid, access, NOW + 1).is_none());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(!a.near_cache_stats().unwrap().trusted);
    // Migrated by a server with the near cache: the trigger is there, and trust follows.
    a.migrate().await.unwrap();
    until_trusted(&a).await;
    until_cached(&a, sid, access).await;
}
