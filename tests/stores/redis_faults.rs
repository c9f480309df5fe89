//! `RedisStore` when Redis fails: each test starts its own `redis-server` (persistence off) on a
//! free port, then kills, freezes or restarts it mid-run. Through the layer: `503` with
//! `Retry-After` during the outage, never `401`, never longer than the store timeout; recovery
//! with no restart of the store; revocations that were acknowledged stay revoked.
//!
//! They need only the `redis-server` binary but follow the `REDIS_URL` gate like every Redis test
//! (CI sets it): without it each prints `SKIPPED <name>`.

use std::process::Command;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::routing::get;
use axum::{Extension, Router};
use http::{Request, Response, StatusCode};
use redis::AsyncCommands;
use tower::ServiceExt;
use tower_jwt_auth::store::RedisStore;
use tower_jwt_auth::store::{PairStore, StoreError, StoreErrorKind};
use tower_jwt_auth::{AuthErrorKind, Claims, JwtSessions, ManualClock};

use crate::common::redis::{RedisServer, free_port, raw, redis_url, unique_prefix, wait_until};

const SECRET: &[u8] = b"redis-test-secret-of-32-bytes!!!";
const NOW: u64 = 1_700_000_000;
/// The store timeout of these tests; every answer during an outage must come within it (plus
/// scheduling slack).
const TIMEOUT: Duration = Duration::from_millis(300);
const SLACK: Duration = Duration::from_millis(1_200);

async fn store(url: &str) -> RedisStore {
    RedisStore::builder(url)
        .prefix(unique_prefix())
        .timeout(TIMEOUT)
        .build()
        .await
        .expect("connect to Redis")
}

fn sessions(store: RedisStore, clock: &ManualClock) -> JwtSessions {
    JwtSessions::builder()
        .hs256_secret(SECRET)
        .clock(clock.clone())
        .refresh_ttl(Duration::from_secs(3_600))
        .store(store)
        .build()
        .expect("configuration")
}

fn app(sessions: &JwtSessions) -> Router {
    Router::new()
        .route(
            "/me",
            get(|Extension(c): Extension<Claims>| async move { c.subject().to_owned() }),
        )
        .layer(sessions.layer())
}

fn request(header: &str, value: String) -> Request<Body> {
    Request::get("/me")
        .header(header, value)
        .body(Body::empty())
        .expect("request")
}

fn bearer(token: &str) -> Request<Body> {
    request("authorization", format!("Bearer {token}"))
}

fn refresh(token: &str) -> Request<Body> {
    request("x-refresh-token", token.to_owned())
}

/// Sends `request` and checks it was answered within the store timeout (plus slack).
async fn timed(app: &Router, request: Request<Body>) -> Response<Body> {
    let start = Instant::now();
    let response = app.clone().oneshot(request).await.expect("infallible");
    assert!(
        start.elapsed() < TIMEOUT + SLACK,
        "answered after {:?}",
        start.elapsed()
    );
    response
}

/// `503` with `Retry-After` and no `WWW-Authenticate`: the client keeps its tokens and retries.
fn assert_unavailable(response: &Response<Body>) {
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key("retry-after"));
    assert!(!response.headers().contains_key("www-authenticate"));
}

/// Polls until `app` answers `request()` with anything but `503`; bounded.
async fn until_recovered(app: &Router, request: impl Fn() -> Request<Body>) -> StatusCode {
    let start = Instant::now();
    loop {
        let status = timed(app, request()).await.status();
        if status != StatusCode::SERVICE_UNAVAILABLE {
            return status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "no recovery after 15 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_and_restarted_redis_is_503_then_recovers_without_restart() {
    if redis_url().is_none() {
        return;
    }
    let mut server = RedisServer::start(&[]);
    let clock = ManualClock::new(NOW);
    let sessions = sessions(store(&server.url()).await, &clock);
    let app = app(&sessions);
    let live = sessions.issue("alice", ()).await.expect("issue");
    let revoked = sessions.issue("alice", ()).await.expect("issue");
    assert_eq!(timed(&app, bearer(live.access_token())).await.status(), 200);
    assert!(
        sessions
            .revoke_session(revoked.session_id())
            .await
            .expect("revoke")
    );

    server.kill();
    for _ in 0..2 {
        assert_unavailable(&timed(&app, bearer(live.access_token())).await);
        assert_unavailable(&timed(&app, refresh(live.refresh_token())).await);
        assert_unavailable(&timed(&app, bearer(revoked.access_token())).await);
    }
    let error = sessions
        .issue("alice", ())
        .await
        .expect_err("no store, no login");
    assert_eq!(error.kind(), AuthErrorKind::StoreUnavailable);

    // Back, empty (persistence off): the same store and layer answer again by themselves.
    server.restart();
    let status = until_recovered(&app, || bearer(revoked.access_token())).await;
    assert_eq!(status, 401, "an acknowledged revocation is never undone");
    // Sessions lived only in the lost memory: refused, never served.
    assert_eq!(timed(&app, bearer(live.access_token())).await.status(), 401);
    let fresh = sessions
        .issue("alice", ())
        .await
        .expect("login works again");
    assert_eq!(
        timed(&app, bearer(fresh.access_token())).await.status(),
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frozen_redis_times_out_with_503_and_recovers() {
    if redis_url().is_none() {
        return;
    }
    let server = RedisServer::start(&[]);
    let clock = ManualClock::new(NOW);
    let store = store(&server.url()).await;
    let sessions = sessions(store.clone(), &clock);
    let app = app(&sessions);
    let pair = sessions.issue("bob", ()).await.expect("issue");
    assert_eq!(timed(&app, bearer(pair.access_token())).await.status(), 200);

    // SIGSTOP: the connection stays open and nothing answers — the slowest Redis there is.
    server.pause();
    for _ in 0..3 {
        assert_unavailable(&timed(&app, bearer(pair.access_token())).await);
    }
    let start = Instant::now();
    let error = store
        .check_access(
            pair.session_id(),
            tower_jwt_auth::TokenId::random().expect("rng"),
            NOW,
        )
        .await
        .expect_err("frozen");
    assert_eq!(error.kind(), StoreErrorKind::Timeout);
    assert!(start.elapsed() >= TIMEOUT && start.elapsed() < TIMEOUT + SLACK);

    server.resume();
    let status = until_recovered(&app, || bearer(pair.access_token())).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn unreachable_redis_fails_to_connect_within_the_timeout() {
    if redis_url().is_none() {
        return;
    }
    let start = Instant::now();
    let port = free_port();
    let url = format!("redis://:hunter2@127.0.0.1:{port}");
    let error = RedisStore::builder(url)
        .timeout(TIMEOUT)
        .build()
        .await
        .expect_err("nothing listens there");
    assert!(matches!(
        error.kind(),
        StoreErrorKind::Unavailable | StoreErrorKind::Timeout
    ));
    assert!(start.elapsed() < TIMEOUT + SLACK, "{:?}", start.elapsed());
    // Where and why, in words, and no password.
    let text = error.to_string();
    assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
    assert!(
        text.contains("refused") || text.contains("within"),
        "{text}"
    );
    assert!(!text.contains("hunter2"), "{text}");
    let error = RedisStore::builder("not a url")
        .build()
        .await
        .expect_err("bad URL");
    assert_eq!(error.kind(), StoreErrorKind::Unavailable);
}

fn info(port: u16) -> String {
    let output = Command::new("redis-cli")
        .args(["-p", &port.to_string(), "info", "replication"])
        .output()
        .expect("run redis-cli");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `wait_for_replicas`: a revocation returns only once a replica has it; with the replica gone
/// the call fails (`503` through the layer) although the revocation itself happened.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_for_replicas_confirms_every_revocation() {
    if redis_url().is_none() {
        return;
    }
    // No 5 s wait for more replicas before the first (diskless) sync.
    let primary = RedisServer::start(&["--repl-diskless-sync-delay", "0"]);
    let port = primary.port().to_string();
    let mut replica = RedisServer::start(&["--replicaof", "127.0.0.1", &port]);
    // The primary counts a replica for `WAIT` only once it reports it online, which can be a
    // moment after the replica itself sees its link up.
    wait_until("the replica to sync", Duration::from_secs(15), || {
        info(replica.port()).contains("master_link_status:up")
            && info(primary.port()).contains("state=online")
    });
    let store = RedisStore::builder(primary.url())
        .prefix(unique_prefix())
        .timeout(Duration::from_secs(3))
        .wait_for_replicas(1, Duration::from_secs(1))
        .build()
        .await
        .expect("connect");
    let clock = ManualClock::new(NOW);
    let sessions = sessions(store.clone(), &clock);
    let app = app(&sessions);

    // Logout: acknowledged only once the replica holds the tombstone.
    let pair = sessions.issue("carol", ()).await.expect("issue");
    assert!(
        sessions
            .revoke_session(pair.session_id())
            .await
            .expect("revoke")
    );
    let mut on_replica = raw(&replica.url()).await;
    let mark: String = on_replica
        .hget(store.session_key(pair.session_id()), "rev")
        .await
        .expect("hget");
    assert_eq!(mark, "1");

    // Theft detected by a refresh: the same guarantee, through the layer (401, not 503).
    let stolen = sessions.issue("carol", ()).await.expect("issue");
    assert_eq!(
        timed(&app, refresh(stolen.refresh_token())).await.status(),
        401
    );
    let mark: String = on_replica
        .hget(store.session_key(stolen.session_id()), "rev")
        .await
        .expect("hget");
    assert_eq!(mark, "1");
    assert_eq!(sessions.revoke_subject("carol").await.expect("revoke"), 0);

    // Without the replica a revocation still happens but is not confirmed: an error, not a lie.
    replica.kill();
    let lonely = sessions.issue("carol", ()).await.expect("issue");
    let error = sessions
        .revoke_session(lonely.session_id())
        .await
        .expect_err("no replica acknowledged it");
    assert_eq!(error.kind(), AuthErrorKind::StoreUnavailable);
    assert_eq!(error.status(), 503);
    let store_error = std::error::Error::source(&error)
        .and_then(|e| e.downcast_ref::<StoreError>())
        .expect("the store's error is the source");
    assert_eq!(store_error.kind(), StoreErrorKind::Unavailable);
    assert_eq!(
        timed(&app, bearer(lonely.access_token())).await.status(),
        401
    );
    // Calls that revoke nothing never wait.
    let other = sessions.issue("dave", ()).await.expect("issue");
    assert_eq!(
        timed(&app, bearer(other.access_token())).await.status(),
        200
    );
}
