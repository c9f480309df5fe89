//! The session flow through each demo's `/login`, `/me` and `/logout`, tokens in headers.

use std::time::Duration;

use http::{Method, StatusCode};

use super::on_every_server;
use super::server::{ACCESS_TTL, GRACE, Reply, Server, T0, Tokens, bearer, refresh, sessions};
use tower_jwt_auth::ManualClock;

/// The default session (refresh-token) lifetime.
const REFRESH_TTL: u64 = 14 * 24 * 60 * 60;

const ACCESS_EXPIRED: &str =
    r#"Bearer error="invalid_token", error_description="the access token expired""#;
const REFRESH_EXPIRED: &str =
    r#"Bearer error="invalid_token", error_description="the refresh token expired""#;
const REVOKED: &str =
    r#"Bearer error="invalid_token", error_description="the session was revoked""#;
const THEFT: &str = r#"Bearer error="invalid_token", error_description="refresh while the access token was valid; session revoked""#;
const REUSE: &str =
    r#"Bearer error="invalid_token", error_description="refresh token reused; session revoked""#;

on_every_server![
    s1_to_s8_main_flow,
    t3_refresh_while_access_valid_revokes_both_and_t4_a_fresh_login_works,
    t2_thief_who_refreshed_first_loses_the_session_when_the_owner_refreshes,
    grace_concurrent_refreshes_get_the_same_access_token,
    rotation_new_refresh_token_works_later_and_old_one_is_replayed_within_grace,
    rotation_reuse_after_grace_revokes_the_family,
    logout_revokes_both_tokens,
];

/// A `401` with exactly `challenge`, and no new token.
fn assert_401(reply: &Reply, challenge: &str) {
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{reply:?}");
    assert_eq!(reply.header("www-authenticate"), Some(challenge));
    assert_eq!(reply.header("x-access-token"), None);
}

/// A `/me` served to `subject`: the session id it answers.
fn assert_me(reply: &Reply, subject: &str) -> String {
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let json = reply.json();
    assert_eq!(json["sub"], subject);
    json["sid"].as_str().expect("a session id").to_owned()
}

/// A `/me` served with a refresh: the new access token, from `x-access-token`, marked
/// `no-store`.
fn refreshed(reply: &Reply, subject: &str) -> String {
    assert_me(reply, subject);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    assert!(
        reply.set_cookies().is_empty(),
        "header tokens, header answers"
    );
    reply
        .header("x-access-token")
        .expect("a new access token")
        .to_owned()
}

async fn s1_to_s8_main_flow(server: Server) {
    let clock = ManualClock::new(T0);
    let app = server.start(sessions(&clock, |b| b)).await;

    // S1, S2: a login answers both tokens.
    let tokens = app.login("alice").await;
    // S3: the access token is served.
    let sid = assert_me(&app.get("/me", &[bearer(&tokens.access)]).await, "alice");
    // S4: valid to its last second; S5: expired at `exp`.
    clock.advance(Duration::from_secs(ACCESS_TTL - 1));
    let last = app.get("/me", &[bearer(&tokens.access)]).await;
    assert_eq!(assert_me(&last, "alice"), sid);
    assert_eq!(last.header("x-access-token"), None);
    clock.advance(Duration::from_secs(1));
    assert_401(
        &app.get("/me", &[bearer(&tokens.access)]).await,
        ACCESS_EXPIRED,
    );

    // S6, S7: repeated with the refresh header, served, with a new access token.
    let both = [bearer(&tokens.access), refresh(&tokens.refresh)];
    let reply = app.get("/me", &both).await;
    let access = refreshed(&reply, "alice");
    assert_ne!(access, tokens.access);
    assert_eq!(reply.header("x-refresh-token"), None, "no rotation");
    let again = app.get("/me", &[bearer(&access)]).await;
    assert_eq!(assert_me(&again, "alice"), sid, "the same session");
    assert_eq!(again.header("x-access-token"), None);

    // S8: the refresh token has expired too.
    clock.set(T0 + REFRESH_TTL);
    assert_401(
        &app.get("/me", &[refresh(&tokens.refresh)]).await,
        REFRESH_EXPIRED,
    );
}

/// The session of `refresh_token` is revoked: neither it nor the still unexpired access
/// tokens `access` are served any longer.
async fn assert_revoked(app: &super::server::Running, refresh_token: &str, access: &[&str]) {
    for access in access {
        assert_401(&app.get("/me", &[bearer(access)]).await, REVOKED);
    }
    assert_401(&app.get("/me", &[refresh(refresh_token)]).await, REVOKED);
}

async fn t3_refresh_while_access_valid_revokes_both_and_t4_a_fresh_login_works(server: Server) {
    let clock = ManualClock::new(T0);
    let app = server.start(sessions(&clock, |b| b)).await;
    let stolen = app.login("alice").await;
    let stolen_sid = assert_me(&app.get("/me", &[bearer(&stolen.access)]).await, "alice");
    clock.advance(Duration::from_secs(ACCESS_TTL - 1));
    // T3: a refresh while the access token is valid has no honest reason.
    assert_401(&app.get("/me", &[refresh(&stolen.refresh)]).await, THEFT);
    assert_revoked(&app, &stolen.refresh, &[&stolen.access]).await;

    // T4: a new login is a new session, and the old pair stays dead.
    let fresh = app.login("alice").await;
    let sid = assert_me(&app.get("/me", &[bearer(&fresh.access)]).await, "alice");
    assert_ne!(sid, stolen_sid);
    assert_revoked(&app, &stolen.refresh, &[&stolen.access]).await;
}

async fn t2_thief_who_refreshed_first_loses_the_session_when_the_owner_refreshes(server: Server) {
    let clock = ManualClock::new(T0);
    let app = server.start(sessions(&clock, |b| b)).await;
    let tokens = app.login("alice").await;
    clock.advance(Duration::from_secs(ACCESS_TTL));
    // The thief refreshes first, with a copy of the refresh token.
    let thief = refreshed(&app.get("/me", &[refresh(&tokens.refresh)]).await, "alice");
    // The owner comes back after the grace window, while the thief's token is valid.
    clock.advance(Duration::from_secs(GRACE));
    assert_401(&app.get("/me", &[refresh(&tokens.refresh)]).await, THEFT);
    assert_revoked(&app, &tokens.refresh, &[&thief]).await;
}

async fn grace_concurrent_refreshes_get_the_same_access_token(server: Server) {
    let clock = ManualClock::new(T0);
    let app = server.start(sessions(&clock, |b| b)).await;
    let tokens = app.login("alice").await;
    clock.advance(Duration::from_secs(ACCESS_TTL));
    // Four tabs refresh at once: all served, all with one access token.
    let headers = [refresh(&tokens.refresh)];
    let replies = tokio::join!(
        app.get("/me", &headers),
        app.get("/me", &headers),
        app.get("/me", &headers),
        app.get("/me", &headers),
    );
    let access = refreshed(&replies.0, "alice");
    for reply in [&replies.1, &replies.2, &replies.3] {
        assert_eq!(refreshed(reply, "alice"), access);
    }
    // Still the same on the window's last second; after it, a refresh is theft.
    clock.advance(Duration::from_secs(GRACE - 1));
    assert_eq!(refreshed(&app.get("/me", &headers).await, "alice"), access);
    clock.advance(Duration::from_secs(1));
    assert_401(&app.get("/me", &headers).await, THEFT);
    assert_revoked(&app, &tokens.refresh, &[&access]).await;
}

/// The first refresh of a login with rotation on: its new access and refresh tokens.
async fn rotate(app: &super::server::Running, refresh_token: &str) -> Tokens {
    let reply = app.get("/me", &[refresh(refresh_token)]).await;
    let access = refreshed(&reply, "alice");
    let refresh = reply
        .header("x-refresh-token")
        .expect("a rotated refresh token");
    assert_ne!(refresh, refresh_token);
    Tokens {
        access,
        refresh: refresh.to_owned(),
    }
}

async fn rotation_new_refresh_token_works_later_and_old_one_is_replayed_within_grace(
    server: Server,
) {
    let clock = ManualClock::new(T0);
    let app = server
        .start(sessions(&clock, |b| b.refresh_rotation(true)))
        .await;
    let first = app.login("alice").await;
    clock.advance(Duration::from_secs(ACCESS_TTL));
    let second = rotate(&app, &first.refresh).await;
    // Within the window, either refresh token gets the same answer.
    clock.advance(Duration::from_secs(GRACE - 1));
    for token in [&first.refresh, &second.refresh] {
        let reply = app.get("/me", &[refresh(token)]).await;
        assert_eq!(refreshed(&reply, "alice"), second.access);
        assert_eq!(
            reply.header("x-refresh-token"),
            Some(second.refresh.as_str())
        );
    }
    // Once the second access token expires, the second refresh token refreshes.
    clock.set(T0 + 2 * ACCESS_TTL);
    let third = rotate(&app, &second.refresh).await;
    assert_me(&app.get("/me", &[bearer(&third.access)]).await, "alice");
}

async fn rotation_reuse_after_grace_revokes_the_family(server: Server) {
    let clock = ManualClock::new(T0);
    let app = server
        .start(sessions(&clock, |b| b.refresh_rotation(true)))
        .await;
    let first = app.login("alice").await;
    clock.advance(Duration::from_secs(ACCESS_TTL));
    let second = rotate(&app, &first.refresh).await;
    clock.advance(Duration::from_secs(GRACE));
    assert_401(&app.get("/me", &[refresh(&first.refresh)]).await, REUSE);
    assert_revoked(&app, &second.refresh, &[&second.access]).await;
}

async fn logout_revokes_both_tokens(server: Server) {
    let clock = ManualClock::new(T0);
    let app = server.start(sessions(&clock, |b| b)).await;
    let tokens = app.login("alice").await;
    let other = app.login("bob").await;
    let reply = app
        .send(Method::POST, "/logout", &[bearer(&tokens.access)], None)
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{reply:?}");
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    assert_revoked(&app, &tokens.refresh, &[&tokens.access]).await;
    // Another session is untouched; a logout without a token is refused before the handler.
    assert_me(&app.get("/me", &[bearer(&other.access)]).await, "bob");
    let anonymous = app.send(Method::POST, "/logout", &[], None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(anonymous.header("www-authenticate"), Some("Bearer"));
}
