//! `PostgresStore` when the database fails: stopped, restarted, or holding a lock. Every answer
//! is `503` with `Retry-After` or a correct one, never a `401`, and the same store recovers
//! without a restart. The tests start their own PostgreSQL (`initdb`/`pg_ctl` on a free port),
//! gated on `DATABASE_URL` like the other PostgreSQL tests.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::routing::get;
use axum::{Extension, Router};
use http::{Request, Response};
use tower::ServiceExt;
use tower_jwt_auth::store::PostgresStore;
use tower_jwt_auth::{Claims, JwtSessions, ManualClock};

use crate::common::postgres::{PgServer, database_url, raw, store_at};

const SECRET: &[u8] = b"postgres-test-secret-of-32-bytes";
const NOW: u64 = 1_700_000_000;
/// The store timeout of these tests; every answer during an outage must come within it (plus
/// scheduling slack).
const TIMEOUT: Duration = Duration::from_millis(500);

fn app(sessions: &JwtSessions) -> Router {
    Router::new()
        .route(
            "/me",
            get(|Extension(claims): Extension<Claims>| async move { claims.subject().to_owned() }),
        )
        .layer(sessions.layer())
}

fn bearer(token: &str) -> Request<Body> {
    Request::get("/me")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .expect("request")
}

fn refresh(token: &str) -> Request<Body> {
    Request::get("/me")
        .header("x-refresh-token", token)
        .body(Body::empty())
        .expect("request")
}

/// One request, answered within the store timeout plus slack.
async fn timed(app: &Router, request: Request<Body>) -> Response<Body> {
    let start = Instant::now();
    let response = app.clone().oneshot(request).await.expect("infallible");
    assert!(
        start.elapsed() < TIMEOUT * 4,
        "answered after {:?}",
        start.elapsed()
    );
    response
}

fn assert_503(response: &Response<Body>) {
    assert_eq!(response.status(), 503, "never 401 for a store failure");
    assert_eq!(response.headers()["retry-after"], "1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_database_is_503_then_recovers_without_restart() {
    if database_url().is_none() {
        return;
    }
    let Some(server) = PgServer::start() else {
        return;
    };
    let store = PostgresStore::builder(server.url())
        .timeout(TIMEOUT)
        .build()
        .await
        .expect("connect");
    store.migrate().await.expect("migrate");
    let clock = ManualClock::new(NOW);
    let sessions = JwtSessions::builder()
        .hs256_secret(SECRET)
        .clock(clock.clone())
        .store(store)
        .build()
        .expect("configuration");
    let app = app(&sessions);
    let pair = sessions.issue("alice", ()).await.expect("issue");
    let revoked = sessions.issue("alice", ()).await.expect("issue");
    assert!(
        sessions
            .revoke_session(revoked.session_id())
            .await
            .expect("logout")
    );
    assert_eq!(timed(&app, bearer(pair.access_token())).await.status(), 200);

    server.stop();
    for _ in 0..3 {
        assert_503(&timed(&app, bearer(pair.access_token())).await);
        assert_503(&timed(&app, bearer(revoked.access_token())).await);
    }
    let error = sessions
        .issue("bob", ())
        .await
        .expect_err("no login without the database");
    assert_eq!(error.status(), 503);

    server.start_again();
    // The pool replaces its broken connections on their next use: the same store, no restart.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let response = timed(&app, bearer(pair.access_token())).await;
        if response.status() == 200 {
            break;
        }
        assert_503(&response);
        assert!(Instant::now() < deadline, "the store did not recover");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // What was acknowledged before the outage holds after it.
    assert_eq!(
        timed(&app, bearer(revoked.access_token())).await.status(),
        401
    );
    clock.advance(Duration::from_secs(900));
    let response = timed(&app, refresh(pair.refresh_token())).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("x-access-token"));
}

/// A database that answers but not in time (here: the session's row locked by another
/// transaction): the refresh waiting on it is `503` at the timeout, and once the lock is gone
/// it goes through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_row_is_503_at_the_timeout_then_the_refresh_goes_through() {
    let Some(url) = database_url() else { return };
    let store = store_at(&url).await;
    let table = store.table().to_owned();
    let clock = ManualClock::new(NOW);
    let sessions = JwtSessions::builder()
        .hs256_secret(SECRET)
        .clock(clock.clone())
        .store(
            PostgresStore::builder(url.clone())
                .table(table.clone())
                .timeout(TIMEOUT)
                .build()
                .await
                .expect("connect"),
        )
        .build()
        .expect("configuration");
    drop(store);
    let app = app(&sessions);
    let pair = sessions.issue("carol", ()).await.expect("issue");
    clock.advance(Duration::from_secs(900));

    let mut blocker = raw(&url).await;
    let transaction = blocker.transaction().await.expect("begin");
    transaction
        .execute(
            &format!("SELECT 1 FROM {table} WHERE sid = $1 FOR UPDATE"),
            &[&pair.session_id().as_bytes().as_slice()],
        )
        .await
        .expect("lock the row");
    assert_503(&timed(&app, refresh(pair.refresh_token())).await);
    transaction.rollback().await.expect("release");

    // The refresh that timed out was dropped before its commit: nothing of it happened, and
    // the next one goes through as the first.
    let response = timed(&app, refresh(pair.refresh_token())).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("x-access-token"));
}
