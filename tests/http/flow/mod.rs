//! The flow end to end through the layer: every step of the README's flow table (S1–S8, T1–T4)
//! and what the crate adds to the basic scheme (grace window, rotation with reuse detection,
//! revocation, store outages), each test named after the step it proves.
//!
//! Time never passes by sleeping: every harness runs on a `ManualClock` at [`T0`]. Requests go
//! through `tower::ServiceExt::oneshot` on the layer, through an axum `Router`, or over real
//! HTTP/1.1 to a hyper server on 127.0.0.1; the protected service counts its calls and echoes the
//! `Claims<Role>` it received, so every refusal proves the service never ran and every success
//! proves which claims it ran with.

mod harness;

use std::collections::HashSet;
use std::time::Duration;

use serde_json::json;
use tokio::task::JoinSet;
use tower_jwt_auth::{AuthErrorKind, ConfigErrorKind, JwtKeys, JwtSessions, TokenPair};

use crate::common::failing_store::FailingStore;
use harness::challenge::*;
use harness::*;

/// S1 → S3 → S4/S5 → S6/S7 → S8, through whichever transport `h` uses.
async fn main_flow(h: &Harness) {
    // S1, S2: the client logs in and keeps both tokens.
    let pair = h.login("alice", "admin").await;
    let login = Seen::from_token(pair.access_token());

    // S3: the access token in `Authorization`; the service runs with its claims.
    let s3 = h.bearer_ok(pair.access_token()).await;
    assert_eq!(s3, login);
    assert_eq!((s3.sub.as_str(), s3.role.as_str()), ("alice", "admin"));

    // S4: valid up to its last second, expired at `exp`.
    h.advance(ACCESS_TTL - 1);
    assert_eq!(h.bearer_ok(pair.access_token()).await, login);
    h.advance(1);

    // S5: the expired access token is refused.
    assert_401(&h.bearer(pair.access_token()).await, ACCESS_EXPIRED);

    // S6, S7: the request repeated with the refresh token is served, with a new access token.
    let (s7, access) = h.refresh_ok(pair.refresh_token()).await;
    assert_ne!(s7.jti, login.jti, "a new token");
    assert_eq!(
        (&s7.sub, &s7.sid, &s7.role),
        (&login.sub, &login.sid, &login.role)
    );
    assert_eq!((s7.iat, s7.exp), (T0 + ACCESS_TTL, T0 + 2 * ACCESS_TTL));
    // The client now uses the new token as Bearer.
    assert_eq!(h.bearer_ok(&access).await, s7);

    // The refresh token keeps working until the session's last second; the access token it mints
    // then ends with the session.
    h.clock.set(T0 + REFRESH_TTL - 1);
    let (last, _) = h.refresh_ok(pair.refresh_token()).await;
    assert_eq!(last.exp, T0 + REFRESH_TTL);

    // S8: the refresh token has expired too: 401, no new token, log in again.
    h.clock.set(T0 + REFRESH_TTL);
    assert_401(&h.refresh(pair.refresh_token()).await, REFRESH_EXPIRED);
    assert_401(
        &h.both(&access, pair.refresh_token()).await,
        REFRESH_EXPIRED,
    );
}

#[tokio::test]
async fn s1_to_s8_main_flow_over_real_http() {
    main_flow(&Harness::new(|b| b).over_http().await).await;
}

#[tokio::test]
async fn s1_to_s8_main_flow_through_oneshot() {
    main_flow(&Harness::new(|b| b)).await;
}

#[tokio::test]
async fn s1_to_s8_main_flow_through_an_axum_router() {
    main_flow(&Harness::new(|b| b).through_axum()).await;
}

#[tokio::test]
async fn s1_login_issues_a_pair_with_lifetimes() {
    let h = Harness::new(|b| b);
    let pair = h.login("alice", "admin").await;
    assert_eq!(pair.expires_in(), Duration::from_secs(900));
    assert_eq!(pair.refresh_expires_in(), Duration::from_secs(14 * 86_400));

    let kid = JwtKeys::hs256(SECRET).expect("key").kid().to_owned();
    let sid = pair.session_id().to_string();
    let tokens = [
        (pair.access_token(), "at+jwt", T0 + 900),
        (pair.refresh_token(), "rt+jwt", T0 + 14 * 86_400),
    ];
    for (token, typ, exp) in tokens {
        assert_eq!(
            header(token),
            json!({"alg": "HS256", "typ": typ, "kid": kid})
        );
        let claims = payload(token);
        let jti = claims["jti"].as_str().expect("jti").to_owned();
        assert_eq!(jti.len(), 22, "128 random bits, base64url");
        let expected = json!({
            "sub": "alice", "sid": sid, "jti": jti, "iat": T0, "exp": exp, "role": "admin",
        });
        assert_eq!(claims, expected);
    }
    assert_ne!(
        payload(pair.access_token())["jti"],
        payload(pair.refresh_token())["jti"]
    );

    let response = json!({
        "access_token": pair.access_token(),
        "refresh_token": pair.refresh_token(),
        "token_type": "Bearer",
        "expires_in": 900,
    });
    assert_eq!(serde_json::to_value(&pair).expect("JSON"), response);
    let debug = format!("{pair:?}");
    assert!(!debug.contains(pair.access_token()) && !debug.contains(pair.refresh_token()));
}

#[tokio::test]
async fn s1_login_for_an_empty_subject_is_refused() {
    let h = Harness::new(|b| b);
    let error = h.sessions.issue("", role("admin")).await.unwrap_err();
    assert_eq!(error.kind(), AuthErrorKind::InvalidClaims);
}

#[tokio::test]
async fn s3_valid_access_token_reaches_the_service_with_custom_claims() {
    let h = Harness::new(|b| b);
    let alice = h.login("alice", "admin").await;
    let bob = h.login("bob", "viewer").await;
    for pair in [&alice, &bob] {
        let seen = h.bearer_ok(pair.access_token()).await;
        assert_eq!(seen, Seen::from_token(pair.access_token()));
        assert_eq!(seen.sid, pair.session_id().to_string());
    }
    assert_eq!(h.calls(), 2);
}

#[tokio::test]
async fn s5_expired_access_token_gets_401_invalid_token() {
    let h = Harness::new(|b| b);
    let pair = h.login_expired().await;
    assert_401(&h.bearer(pair.access_token()).await, ACCESS_EXPIRED);
    h.advance(REFRESH_TTL);
    assert_401(&h.bearer(pair.access_token()).await, ACCESS_EXPIRED);
    assert_eq!(h.calls(), 0);
}

#[tokio::test]
async fn s5_malformed_access_token_gets_401_invalid_token() {
    let h = Harness::new(|b| b);
    let pair = h.login("alice", "admin").await;
    let oversized = format!("{}{}", pair.access_token(), "A".repeat(8 * 1024));
    let truncated = &pair.access_token()[..pair.access_token().rfind('.').expect("dot")];
    for token in ["garbage", "a.b.c", "e30.e30.e30", truncated, &oversized] {
        assert_401(&h.bearer(token).await, ACCESS_MALFORMED);
    }
}

/// `token` with its first signature character changed (the last one may only carry padding bits).
fn tamper_signature(token: &str) -> String {
    let at = token.rfind('.').expect("dot") + 1;
    let swap = if token[at..].starts_with('A') {
        "B"
    } else {
        "A"
    };
    format!("{}{swap}{}", &token[..at], &token[at + 1..])
}

/// `token` with its payload re-encoded after `edit`, keeping the original signature.
fn tamper_payload(token: &str, edit: impl FnOnce(&mut serde_json::Value)) -> String {
    use base64::Engine;
    let mut claims = payload(token);
    edit(&mut claims);
    let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims.to_string());
    let parts: Vec<&str> = token.split('.').collect();
    format!("{}.{encoded}.{}", parts[0], parts[2])
}

#[tokio::test]
async fn s5_bad_signature_gets_401_invalid_token() {
    let h = Harness::new(|b| b);
    let pair = h.login("alice", "viewer").await;
    let kid = JwtKeys::hs256(SECRET).expect("key").kid().to_owned();
    let other_secret = b"another secret, also of 32 bytes";

    // Signed by another secret under this service's key id, or under its own.
    let impostor = Harness::new(|b| b.keys(JwtKeys::hs256(other_secret).unwrap().with_kid(kid)));
    let forged = impostor.login("alice", "admin").await;
    assert_401(&h.bearer(forged.access_token()).await, BAD_SIGNATURE);
    let stranger = Harness::new(|b| b.hs256_secret(other_secret));
    let foreign = stranger.login("alice", "admin").await;
    assert_401(&h.bearer(foreign.access_token()).await, BAD_SIGNATURE);

    // A genuine token whose signature or payload was changed.
    let escalated = tamper_payload(pair.access_token(), |c| c["role"] = json!("admin"));
    assert_401(
        &h.bearer(&tamper_signature(pair.access_token())).await,
        BAD_SIGNATURE,
    );
    assert_401(&h.bearer(&escalated).await, BAD_SIGNATURE);

    // The untouched token still works: nothing above touched the session.
    assert_eq!(h.bearer(pair.access_token()).await.served().role, "viewer");
}

#[tokio::test]
async fn s5_wrong_token_type_gets_401_invalid_token() {
    let h = Harness::new(|b| b);
    let pair = h.login("alice", "admin").await;
    assert_401(&h.bearer(pair.refresh_token()).await, EXPECTED_ACCESS);
    assert_401(&h.refresh(pair.access_token()).await, EXPECTED_REFRESH);
    // Neither mix-up refreshed anything: after expiry the session refreshes normally.
    h.advance(ACCESS_TTL);
    h.refresh_ok(pair.refresh_token()).await;
}

#[tokio::test]
async fn s5_no_credentials_gets_401_with_a_bare_bearer_challenge() {
    let h = Harness::new(|b| b).over_http().await;
    assert_401(&h.send(&[]).await, MISSING);
    // Another scheme carries no bearer credentials.
    assert_401(
        &h.send(&[("authorization", "Basic YWxpY2U6c2VjcmV0")]).await,
        MISSING,
    );
}

#[tokio::test]
async fn s5_repeated_or_empty_credentials_get_400_invalid_request() {
    let h = Harness::new(|b| b).over_http().await;
    let pair = h.login("alice", "admin").await;
    let bearer = format!("Bearer {}", pair.access_token());
    let refresh = pair.refresh_token();
    let cases: [(&[(&str, &str)], &str); 4] = [
        (
            &[("authorization", &bearer), ("authorization", &bearer)],
            TWO_AUTHORIZATIONS,
        ),
        (&[("authorization", "Bearer")], EMPTY_BEARER),
        (&[("authorization", "Bearer  ")], EMPTY_BEARER),
        (
            &[("x-refresh-token", refresh), ("x-refresh-token", refresh)],
            TWO_REFRESH_HEADERS,
        ),
    ];
    for (headers, challenge) in cases {
        assert_refused(&h.send(headers).await, 400, Some(challenge));
    }
}

/// The refresh header is read when it is needed: beside a valid access token it is not (the
/// token wins, whatever the header holds); beside an expired one, or a refused one, a malformed
/// refresh header is `400` as it is alone.
#[tokio::test]
async fn s5_the_refresh_header_counts_only_when_it_is_needed() {
    let h = Harness::new(|b| b).over_http().await;
    let pair = h.login("alice", "admin").await;
    let bearer = format!("Bearer {}", pair.access_token());
    let malformed = [
        ("authorization", bearer.as_str()),
        ("x-refresh-token", "not;a;token"),
    ];
    h.send(&malformed).await.served_without_refresh();
    let refresh = pair.refresh_token();
    let twice = [
        ("authorization", bearer.as_str()),
        ("x-refresh-token", refresh),
        ("x-refresh-token", refresh),
    ];
    h.send(&twice).await.served_without_refresh();

    let forged = format!("{bearer}x");
    let refused = [
        ("authorization", forged.as_str()),
        ("x-refresh-token", "not;a;token"),
    ];
    assert_refused(&h.send(&refused).await, 400, Some(MALFORMED_REFRESH_HEADER));
    h.advance(ACCESS_TTL);
    assert_refused(
        &h.send(&malformed).await,
        400,
        Some(MALFORMED_REFRESH_HEADER),
    );
    assert_refused(&h.send(&twice).await, 400, Some(TWO_REFRESH_HEADERS));
    let (_, access) = h
        .both(pair.access_token(), refresh)
        .await
        .served_with_new_access();
    assert_ne!(access, pair.access_token());
}

#[tokio::test]
async fn s5_anonymous_option_serves_only_requests_without_credentials() {
    let h = Harness::new(|b| b).allowing_anonymous();
    let pair = h.login("alice", "admin").await;
    h.send(&[]).await.assert_served_anonymously();
    let basic = h.send(&[("authorization", "Basic YWxpY2U6c2VjcmV0")]).await;
    basic.assert_served_anonymously();
    // Credentials that are present are checked as always.
    assert_eq!(
        h.bearer(pair.access_token()).await.served(),
        Seen::from_token(pair.access_token())
    );
    assert_401(&h.bearer("garbage").await, ACCESS_MALFORMED);
    assert_refused(
        &h.send(&[("authorization", "Bearer")]).await,
        400,
        Some(EMPTY_BEARER),
    );
    h.advance(ACCESS_TTL);
    assert_401(&h.bearer(pair.access_token()).await, ACCESS_EXPIRED);
}

#[tokio::test]
async fn s6_valid_access_token_wins_over_the_refresh_header() {
    let h = Harness::new(|b| b);
    let pair = h.login("alice", "admin").await;
    let login = Seen::from_token(pair.access_token());
    for _ in 0..3 {
        let reply = h.both(pair.access_token(), pair.refresh_token()).await;
        assert_eq!(reply.served_without_refresh(), login);
    }
    // No refresh happened (one would have tripped the theft rule): the session is intact.
    h.advance(ACCESS_TTL - 1);
    assert_eq!(h.bearer(pair.access_token()).await.served(), login);
}

#[tokio::test]
async fn s6_expired_access_token_beside_the_refresh_header_refreshes() {
    let h = Harness::new(|b| b).over_http().await;
    let pair = h.login_expired().await;
    let reply = h.both(pair.access_token(), pair.refresh_token()).await;
    let (seen, access) = reply.served_with_new_access();
    assert_ne!(seen.jti, Seen::from_token(pair.access_token()).jti);
    assert_eq!(seen.sid, pair.session_id().to_string());
    // The client swaps in the new token and keeps sending both headers.
    let next = h.both(&access, pair.refresh_token()).await;
    assert_eq!(next.served_without_refresh(), seen);
}

#[tokio::test]
async fn s6_bad_access_token_beside_the_refresh_header_is_refused_not_refreshed() {
    let h = Harness::new(|b| b);
    let pair = h.login("alice", "admin").await;
    let tampered = tamper_signature(pair.access_token());
    assert_401(
        &h.both(&tampered, pair.refresh_token()).await,
        BAD_SIGNATURE,
    );
    assert_401(
        &h.both("garbage", pair.refresh_token()).await,
        ACCESS_MALFORMED,
    );
    // Had either refreshed while the access token was valid, the session would be revoked.
    assert_eq!(h.bearer(pair.access_token()).await.served().sub, "alice");
    h.advance(ACCESS_TTL);
    h.refresh_ok(pair.refresh_token()).await;
}

#[tokio::test]
async fn s6_access_and_refresh_tokens_of_different_sessions_get_400() {
    let h = Harness::new(|b| b);
    let alice = h.login("alice", "admin").await;
    let bob = h.login("bob", "viewer").await;
    h.advance(ACCESS_TTL);
    // Never served as bob on the strength of alice's Authorization header, nor refreshed.
    assert_refused(
        &h.both(alice.access_token(), bob.refresh_token()).await,
        400,
        Some(MIXED_SESSIONS),
    );
    // Neither session was touched: each still refreshes on its own.
    h.refresh_ok(alice.refresh_token()).await;
    h.refresh_ok(bob.refresh_token()).await;
}

#[tokio::test]
async fn s8_expired_refresh_token_gets_401_and_no_new_access_token() {
    let h = Harness::new(|b| b).over_http().await;
    let pair = h.login("alice", "admin").await;
    h.advance(REFRESH_TTL);
    assert_401(&h.refresh(pair.refresh_token()).await, REFRESH_EXPIRED);
    assert_401(
        &h.both(pair.access_token(), pair.refresh_token()).await,
        REFRESH_EXPIRED,
    );
    // The client logs in again.
    let again = h.login("alice", "admin").await;
    h.bearer_ok(again.access_token()).await;
}

#[tokio::test]
async fn t1_access_token_superseded_by_an_early_refresh_gets_401() {
    let h = Harness::new(|b| b.theft_detection(false));
    let pair = h.login("alice", "admin").await;
    h.advance(60);
    let (seen, access) = h.refresh_ok(pair.refresh_token()).await;
    assert_401(&h.bearer(pair.access_token()).await, SUPERSEDED);
    assert_eq!(h.bearer_ok(&access).await, seen);
}

#[tokio::test]
async fn t1_tokens_of_a_session_the_store_never_saw_get_401_unknown_session() {
    let h = Harness::new(|b| b);
    // Same secret, other store: the signature holds, the pair check does not.
    let elsewhere = Harness::new(|b| b).login("alice", "admin").await;
    assert_401(&h.bearer(elsewhere.access_token()).await, UNKNOWN_SESSION);
    h.advance(ACCESS_TTL);
    assert_401(&h.refresh(elsewhere.refresh_token()).await, UNKNOWN_SESSION);
}

/// Asserts that neither token of `pair` nor `more` access tokens are accepted any longer.
async fn assert_session_dead(h: &Harness, pair: &TokenPair, more: &[&str]) {
    for access in more.iter().copied().chain([pair.access_token()]) {
        let reply = h.bearer(access).await;
        let expired = Seen::from_token(access).exp <= h.sessions.now();
        assert_401(&reply, if expired { ACCESS_EXPIRED } else { REVOKED });
    }
    assert_401(&h.refresh(pair.refresh_token()).await, REVOKED);
}

#[tokio::test]
async fn t3_refresh_while_access_valid_revokes_both_tokens() {
    let h = Harness::new(|b| b).over_http().await;
    let pair = h.login("alice", "admin").await;
    h.advance(ACCESS_TTL - 1);
    assert_401(&h.refresh(pair.refresh_token()).await, THEFT);
    assert_session_dead(&h, &pair, &[]).await;
    // Still dead once the access token would have expired anyway: no refresh revives it.
    h.advance(1);
    assert_session_dead(&h, &pair, &[]).await;
    assert_401(
        &h.both(pair.access_token(), pair.refresh_token()).await,
        REVOKED,
    );
}

#[tokio::test]
async fn t2_thief_who_refreshed_first_loses_the_session_when_the_owner_refreshes() {
    let h = Harness::new(|b| b);
    let pair = h.login_expired().await;
    // The thief refreshes with the stolen token while the owner is away.
    let (_, stolen) = h.refresh_ok(pair.refresh_token()).await;
    // The owner comes back after the grace window; the stored access token is the thief's and
    // still valid, so the server can tell.
    h.advance(GRACE);
    assert_401(&h.refresh(pair.refresh_token()).await, THEFT);
    assert_session_dead(&h, &pair, &[&stolen]).await;
}

#[tokio::test]
async fn t4_fresh_login_after_a_theft_verdict_works_and_the_old_pair_stays_dead() {
    let h = Harness::new(|b| b);
    let stolen = h.login("alice", "admin").await;
    assert_401(&h.refresh(stolen.refresh_token()).await, THEFT);
    let fresh = h.login("alice", "admin").await;
    assert_ne!(fresh.session_id(), stolen.session_id());
    h.bearer_ok(fresh.access_token()).await;
    h.advance(ACCESS_TTL);
    h.refresh_ok(fresh.refresh_token()).await;
    assert_session_dead(&h, &stolen, &[]).await;
}

#[tokio::test]
async fn grace_two_concurrent_refreshes_get_the_same_token() {
    let h = Harness::new(|b| b);
    let pair = h.login_expired().await;
    let (first, token) = h.refresh_ok(pair.refresh_token()).await;
    assert_eq!(
        h.refresh_ok(pair.refresh_token()).await,
        (first.clone(), token.clone())
    );
    // Still the same tokens on the window's last second; both requests were served.
    h.advance(GRACE - 1);
    assert_eq!(
        h.refresh_ok(pair.refresh_token()).await,
        (first, token.clone())
    );
    assert_eq!(h.calls(), 3);
    // After the window, the minted access token is still valid: a refresh now is theft.
    h.advance(1);
    assert_401(&h.refresh(pair.refresh_token()).await, THEFT);
    assert_session_dead(&h, &pair, &[&token]).await;
}

#[tokio::test]
async fn grace_zero_makes_a_second_immediate_refresh_theft() {
    let h = Harness::new(|b| b.refresh_grace(Duration::ZERO));
    let pair = h.login_expired().await;
    let (_, token) = h.refresh_ok(pair.refresh_token()).await;
    assert_401(&h.refresh(pair.refresh_token()).await, THEFT);
    assert_session_dead(&h, &pair, &[&token]).await;
}

/// A harness with refresh-token rotation on, a login, and its first refresh at `T0 + 900`:
/// the login pair, and the access and refresh tokens that refresh returned.
async fn rotated_once() -> (Harness, TokenPair, String, String) {
    let h = Harness::new(|b| b.refresh_rotation(true));
    let pair = h.login_expired().await;
    let reply = h.refresh(pair.refresh_token()).await;
    let (_, access) = reply.served_with_new_access();
    let refresh = reply.new_refresh_token();
    (h, pair, access, refresh)
}

#[tokio::test]
async fn rotation_refresh_returns_a_new_refresh_token_that_works_later() {
    let (h, pair, _, r2) = rotated_once().await;
    let (old, new) = (payload(pair.refresh_token()), payload(&r2));
    assert_ne!(new["jti"], old["jti"]);
    assert_eq!(
        (&new["sub"], &new["sid"], &new["role"]),
        (&old["sub"], &old["sid"], &old["role"])
    );
    assert_eq!(new["iat"], T0 + ACCESS_TTL);
    assert_eq!(
        new["exp"],
        T0 + REFRESH_TTL,
        "rotation never extends the session"
    );

    h.advance(ACCESS_TTL);
    let reply = h.refresh(&r2).await;
    let (seen, a3) = reply.served_with_new_access();
    assert_ne!(reply.new_refresh_token(), r2);
    assert_eq!(h.bearer_ok(&a3).await, seen);
}

#[tokio::test]
async fn rotation_old_refresh_token_within_grace_gets_the_same_tokens() {
    let (h, pair, a2, r2) = rotated_once().await;
    h.advance(GRACE - 1);
    for refresh in [pair.refresh_token(), r2.as_str()] {
        let reply = h.refresh(refresh).await;
        assert_eq!(reply.served_with_new_access().1, a2);
        assert_eq!(reply.new_refresh_token(), r2);
    }
}

#[tokio::test]
async fn rotation_reuse_after_grace_revokes_family() {
    let (h, pair, a2, r2) = rotated_once().await;
    h.advance(GRACE);
    assert_401(&h.refresh(pair.refresh_token()).await, REUSE);
    // The whole family is dead: the current refresh token and the current access token.
    assert_401(&h.refresh(&r2).await, REVOKED);
    assert_401(&h.bearer(&a2).await, REVOKED);
}

#[tokio::test]
async fn rotation_reuse_of_an_older_generation_revokes_family_even_within_grace() {
    let (h, pair, _, r2) = rotated_once().await;
    h.advance(ACCESS_TTL);
    let reply = h.refresh(&r2).await;
    let (_, a3) = reply.served_with_new_access();
    let r3 = reply.new_refresh_token();
    // One second after that refresh, the first refresh token comes back: two generations old.
    h.advance(1);
    assert_401(&h.refresh(pair.refresh_token()).await, REUSE);
    assert_401(&h.refresh(&r3).await, REVOKED);
    assert_401(&h.bearer(&a3).await, REVOKED);
}

#[tokio::test]
async fn revocation_logout_refuses_both_tokens() {
    let h = Harness::new(|b| b).over_http().await;
    let pair = h.login("alice", "admin").await;
    assert!(
        h.sessions
            .revoke_session(pair.session_id())
            .await
            .expect("store")
    );
    assert_session_dead(&h, &pair, &[]).await;
    assert_401(
        &h.both(pair.access_token(), pair.refresh_token()).await,
        REVOKED,
    );
    h.advance(ACCESS_TTL);
    assert_401(
        &h.both(pair.access_token(), pair.refresh_token()).await,
        REVOKED,
    );
    assert!(
        !h.sessions
            .revoke_session(pair.session_id())
            .await
            .expect("store")
    );
}

#[tokio::test]
async fn revocation_of_a_subject_ends_all_its_sessions_and_no_one_elses() {
    let h = Harness::new(|b| b);
    let phone = h.login("alice", "admin").await;
    let laptop = h.login("alice", "admin").await;
    let bob = h.login("bob", "viewer").await;
    assert_eq!(h.sessions.revoke_subject("alice").await.expect("store"), 2);
    assert_session_dead(&h, &phone, &[]).await;
    assert_session_dead(&h, &laptop, &[]).await;
    assert_eq!(h.bearer(bob.access_token()).await.served().sub, "bob");
    h.advance(ACCESS_TTL);
    h.refresh_ok(bob.refresh_token()).await;
    assert_eq!(h.sessions.revoke_subject("alice").await.expect("store"), 0);
}

#[tokio::test]
async fn store_failure_is_503_never_401() {
    // Both ways the layer meets a store: answered at once, or awaited.
    for answers_now in [true, false] {
        let store = FailingStore::new(answers_now);
        let h = Harness::with_store(store.clone(), |b| b).over_http().await;
        let pair = h.login("alice", "admin").await;
        store.fail(true);
        assert_503(&h.bearer(pair.access_token()).await);
        assert_503(&h.both(pair.access_token(), pair.refresh_token()).await);
        h.advance(ACCESS_TTL);
        assert_503(&h.refresh(pair.refresh_token()).await);
        assert_503(&h.both(pair.access_token(), pair.refresh_token()).await);
        let login = h.sessions.issue("bob", role("viewer")).await.unwrap_err();
        assert_eq!(
            (login.kind(), login.status().as_u16()),
            (AuthErrorKind::StoreUnavailable, 503)
        );
        assert!(h.sessions.revoke_session(pair.session_id()).await.is_err());

        // The outage cost the client nothing: the same tokens work once the store is back.
        store.fail(false);
        h.refresh_ok(pair.refresh_token()).await;
    }
}

#[tokio::test]
async fn store_failure_without_pair_check_still_serves_valid_access_tokens() {
    let store = FailingStore::new(false);
    let h = Harness::with_store(store.clone(), |b| b.pair_check(false));
    let pair = h.login("alice", "admin").await;
    store.fail(true);
    h.bearer_ok(pair.access_token()).await;
    h.advance(ACCESS_TTL);
    assert_503(&h.refresh(pair.refresh_token()).await);
}

/// Sends `n` refreshes of `refresh` at once over `h` and returns every reply.
async fn refresh_in_parallel(h: &Harness, refresh: &str, n: usize) -> Vec<Reply> {
    let mut requests = JoinSet::new();
    for _ in 0..n {
        let (h, refresh) = (h.clone(), refresh.to_owned());
        requests.spawn(async move { h.refresh(&refresh).await });
    }
    requests.join_all().await
}

/// Asserts that every reply was served after a refresh with the same tokens and claims, and
/// returns one of them.
#[track_caller]
fn one_outcome(replies: &[Reply]) -> (Seen, String) {
    let outcomes: HashSet<_> = replies
        .iter()
        .map(|reply| {
            let (seen, access) = reply.minted();
            (
                seen.jti,
                access,
                reply.header("x-refresh-token").map(str::to_owned),
            )
        })
        .collect();
    assert_eq!(outcomes.len(), 1, "{outcomes:?}");
    replies[0].minted()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrency_64_parallel_refreshes_one_outcome_no_5xx() {
    let h = Harness::new(|b| b).over_http().await;
    let pair = h.login_expired().await;
    let replies = refresh_in_parallel(&h, pair.refresh_token(), 64).await;
    let (seen, access) = one_outcome(&replies);
    assert!(
        replies
            .iter()
            .all(|r| r.header("x-refresh-token").is_none())
    );
    assert_eq!(h.calls(), 64, "every request was served");
    assert_eq!(h.bearer_ok(&access).await, seen);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrency_64_parallel_refreshes_with_rotation_one_outcome_no_5xx() {
    let h = Harness::new(|b| b.refresh_rotation(true)).over_http().await;
    let pair = h.login_expired().await;
    let replies = refresh_in_parallel(&h, pair.refresh_token(), 64).await;
    let (seen, access) = one_outcome(&replies);
    let rotated = replies[0].new_refresh_token();
    assert_eq!(h.calls(), 64, "every request was served");
    assert_eq!(h.bearer_ok(&access).await, seen);
    // The one rotated token carries the session on.
    h.advance(ACCESS_TTL);
    h.refresh_ok(&rotated).await;
}

#[test]
fn config_hmac_secret_of_31_bytes_is_refused_at_build_time() {
    let build = |secret: &[u8]| {
        JwtSessions::builder()
            .claims::<Role>()
            .hs256_secret(secret)
            .build()
            .map(drop)
    };
    assert_eq!(
        build(&[7; 31]).unwrap_err().kind(),
        ConfigErrorKind::WeakSecret
    );
    assert_eq!(
        JwtKeys::hs256(&[7; 31]).unwrap_err().kind(),
        ConfigErrorKind::WeakSecret
    );
    assert_eq!(build(&[7; 32]), Ok(()));
}
