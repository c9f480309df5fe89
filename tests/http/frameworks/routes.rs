//! The demos' routes themselves: what is public, what is protected, and that a path that is
//! neither is `404` whatever credentials come with it.

use std::time::Duration;

use http::{Method, StatusCode};

use super::on_every_server;
use super::server::{ACCESS_TTL, Server, T0, bearer, sessions};
use tower_jwt_auth::ManualClock;

on_every_server![
    public_routes_answer_without_credentials,
    an_unknown_path_is_404_and_a_missing_method_405,
    a_bad_login_is_401_without_a_token,
];

async fn public_routes_answer_without_credentials(server: Server) {
    let clock = ManualClock::new(T0);
    let app = server.start(sessions(&clock, |b| b)).await;
    let health = app.get("/health", &[]).await;
    assert_eq!(
        (health.status, &health.body[..]),
        (StatusCode::OK, &b"ok"[..])
    );
    assert_eq!(
        health.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    let jwks = app.get("/.well-known/jwks.json", &[]).await;
    assert_eq!(jwks.status, StatusCode::OK);
    assert_eq!(
        jwks.json(),
        serde_json::json!({ "keys": [] }),
        "an HMAC secret is never published"
    );
    let page = app.get("/", &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(app.get("/metrics", &[]).await.status, StatusCode::OK);
}

async fn an_unknown_path_is_404_and_a_missing_method_405(server: Server) {
    let clock = ManualClock::new(T0);
    let app = server.start(sessions(&clock, |b| b)).await;
    let tokens = app.login("alice").await;

    let anonymous = app.get("/nowhere", &[]).await;
    assert_eq!(anonymous.status, StatusCode::NOT_FOUND);
    assert_eq!(anonymous.header("www-authenticate"), None);
    assert_eq!(
        app.get("/nowhere", &[bearer(&tokens.access)]).await.status,
        StatusCode::NOT_FOUND
    );
    // Nothing refreshes for a path that is not there.
    clock.advance(Duration::from_secs(ACCESS_TTL));
    let expired = app
        .get("/nowhere", &[super::server::refresh(&tokens.refresh)])
        .await;
    assert_eq!(expired.status, StatusCode::NOT_FOUND);
    assert_eq!(expired.header("x-access-token"), None);

    // A public route lacking the method: 405. A protected one asks for credentials first.
    assert_eq!(
        app.get("/login", &[]).await.status,
        StatusCode::METHOD_NOT_ALLOWED
    );
    let post_me = app.send(Method::POST, "/me", &[], None).await;
    assert_eq!(post_me.status, StatusCode::UNAUTHORIZED);
}

async fn a_bad_login_is_401_without_a_token(server: Server) {
    let clock = ManualClock::new(T0);
    let app = server.start(sessions(&clock, |b| b)).await;
    for (username, password) in [("alice", "guess"), ("", "demo")] {
        let form = serde_json::json!({ "username": username, "password": password });
        let reply = app.send(Method::POST, "/login", &[], Some(form)).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert!(reply.body.is_empty(), "{reply:?}");
    }
}
