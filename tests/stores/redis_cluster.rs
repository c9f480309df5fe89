//! `RedisStore` on a real Redis Cluster: three masters started by the test from the
//! `redis-server` binary on free ports and joined with `redis-cli --cluster create`, reached with
//! the `cluster-async` client. The conformance suite, sessions spread over every master, "log out
//! everywhere" across slots, the layer on top, and a dead master answered with `503`.
//!
//! Gated on `REDIS_URL` like every Redis test (CI sets it); without it each prints `SKIPPED`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::routing::get;
use axum::{Extension, Router};
use http::Request;
use tower::ServiceExt;
use tower_jwt_auth::store::RedisStore;
use tower_jwt_auth::store::{AccessCheck, PairStore, StoreErrorKind, conformance};
use tower_jwt_auth::{Claims, JwtSessions, ManualClock};

use crate::common::redis::{RedisCluster, raw, redis_url, unique_prefix};

const SECRET: &[u8] = b"redis-test-secret-of-32-bytes!!!";

async fn store(cluster: &RedisCluster) -> RedisStore {
    RedisStore::cluster_builder(cluster.urls())
        .prefix(unique_prefix())
        .timeout(Duration::from_millis(500))
        .build()
        .await
        .expect("connect to the cluster")
}

/// Keys per master, by asking each node for its own key count.
async fn keys_per_node(cluster: &RedisCluster) -> Vec<i64> {
    let mut counts = Vec::new();
    for url in cluster.urls() {
        let mut node = raw(&url).await;
        counts.push(
            redis::cmd("DBSIZE")
                .query_async(&mut node)
                .await
                .expect("dbsize"),
        );
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_passes_the_conformance_suite_and_spreads_sessions() {
    if redis_url().is_none() {
        return;
    }
    let cluster = RedisCluster::start(3);

    conformance::access_of_new_session_is_current(&store(&cluster).await).await;
    conformance::refresh_after_expiry_mints(&store(&cluster).await).await;
    conformance::theft_revokes_both_tokens(&store(&cluster).await).await;
    conformance::grace_window_replays_then_closes(&store(&cluster).await).await;
    conformance::zero_grace_means_no_replay(&store(&cluster).await).await;
    conformance::theft_detection_off_supersedes(&store(&cluster).await).await;
    conformance::rotation_detects_reuse(&store(&cluster).await).await;
    conformance::foreign_refresh_token_is_unknown(&store(&cluster).await).await;
    conformance::session_end_is_absolute(&store(&cluster).await).await;
    conformance::revoke_session_holds(&store(&cluster).await).await;
    conformance::revoke_subject_revokes_only_that_subject(&store(&cluster).await).await;

    // The suite's 64-way concurrent refresh, on the cluster.
    for rotation in [false, true] {
        let store = Arc::new(store(&cluster).await);
        let session = conformance::new_session(&*store, "concurrent").await;
        let now = session.access().exp;
        let tasks: Vec<_> = (0..64)
            .map(|_| {
                let store = store.clone();
                let request =
                    conformance::refresh_request(&session, session.refresh().jti, now, rotation);
                tokio::spawn(async move { store.refresh(request).await })
            })
            .collect();
        let mut outcomes = Vec::new();
        for task in tasks {
            outcomes.push(task.await.expect("task").expect("refresh"));
        }
        conformance::assert_one_consistent_outcome(&outcomes);
    }

    // Sessions of one subject land on every master; revoking the subject reaches them all.
    let store = store(&cluster).await;
    let before = keys_per_node(&cluster).await;
    let mut sessions = Vec::new();
    for _ in 0..60 {
        sessions.push(conformance::new_session(&store, "everywhere").await);
    }
    let after = keys_per_node(&cluster).await;
    let grown: Vec<_> = before.iter().zip(&after).map(|(b, a)| a - b).collect();
    assert!(grown.iter().all(|&n| n > 0), "keys per master: {grown:?}");
    let t = conformance::T0 + 1;
    assert_eq!(
        store.revoke_subject("everywhere", t).await.expect("revoke"),
        60
    );
    for s in &sessions {
        let check = store.check_access(s.session_id(), s.access().jti, t).await;
        assert_eq!(check.expect("check"), AccessCheck::Revoked);
    }

    // The layer on the cluster: login, access, refresh.
    let clock = ManualClock::new(1_700_000_000);
    let jwt = JwtSessions::builder()
        .hs256_secret(SECRET)
        .clock(clock.clone())
        .store(store)
        .build()
        .expect("configuration");
    let app = Router::new()
        .route(
            "/me",
            get(|Extension(c): Extension<Claims>| async move { c.subject().to_owned() }),
        )
        .layer(jwt.layer());
    let pair = jwt.issue("frank", ()).await.expect("issue");
    let request = Request::get("/me")
        .header("authorization", format!("Bearer {}", pair.access_token()))
        .body(Body::empty())
        .expect("request");
    assert_eq!(
        app.clone()
            .oneshot(request)
            .await
            .expect("infallible")
            .status(),
        200
    );
    clock.advance(jwt.config().access_ttl());
    let request = Request::get("/me")
        .header("x-refresh-token", pair.refresh_token())
        .body(Body::empty())
        .expect("request");
    let response = app.oneshot(request).await.expect("infallible");
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("x-access-token"));
}

/// A master dies: calls for its sessions fail within the timeout as unavailable (the layer's
/// `503`), never as an unknown session (`401`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_master_down_is_an_error_not_a_refusal() {
    if redis_url().is_none() {
        return;
    }
    let mut cluster = RedisCluster::start(3);
    let store = store(&cluster).await;
    let sessions: Vec<_> = {
        let mut v = Vec::new();
        for _ in 0..30 {
            v.push(conformance::new_session(&store, "down").await);
        }
        v
    };
    cluster.kill_node(0);
    let t = conformance::T0 + 1;
    let mut failed = 0;
    for s in &sessions {
        let start = Instant::now();
        match store.check_access(s.session_id(), s.access().jti, t).await {
            Ok(check) => assert_eq!(check, AccessCheck::Current, "a live node still answers"),
            Err(error) => {
                assert!(matches!(
                    error.kind(),
                    StoreErrorKind::Unavailable | StoreErrorKind::Timeout
                ));
                failed += 1;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "{:?}",
            start.elapsed()
        );
    }
    assert!(
        failed > 0,
        "about a third of the sessions lived on the dead master"
    );
}
