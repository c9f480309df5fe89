//! What the crate logs: an event under the target `tower_jwt_auth` with an `outcome` for every
//! decision of a whole flow, and never a token, a part of one, or the secret.
//!
//! Alone in a process of its own: tracing caches which events are wanted per call site, and a
//! test on another thread reaching the same call sites while this one installs its subscriber
//! could leave them cached as unwanted.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::routing::{get, post};
use axum::{Extension, Router};
use http::Request;
use tower::ServiceExt;
use tower_jwt_auth::{Claims, JwtSessions, ManualClock};

use crate::common::alone;
use crate::common::failing_store::FailingStore;

const SECRET: &[u8] = b"observability secret of 32 bytes";
const NOW: u64 = 1_700_000_000;

/// Every line the subscriber writes, kept for reading.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().expect("lock").clone()).expect("UTF-8")
    }
}

fn app(sessions: &JwtSessions) -> Router {
    let revoker = sessions.clone();
    Router::new()
        .route("/me", get(|| async { "me" }))
        .route(
            "/logout",
            post(move |Extension(claims): Extension<Claims>| async move {
                revoker
                    .revoke_session(claims.session_id())
                    .await
                    .map(|_| "bye")
                    .map_err(|e| e.status())
            }),
        )
        .layer(sessions.layer())
}

fn request(access: Option<&str>, refresh: Option<&str>) -> Request<Body> {
    let mut request = Request::get("/me");
    if let Some(access) = access {
        request = request.header("authorization", format!("Bearer {access}"));
    }
    if let Some(refresh) = refresh {
        request = request.header("x-refresh-token", refresh);
    }
    request.body(Body::empty()).expect("request")
}

async fn status(app: &Router, request: Request<Body>) -> u16 {
    app.clone()
        .oneshot(request)
        .await
        .expect("infallible")
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_whole_flow_logs_every_outcome_and_no_token() {
    if alone::ran().is_some() {
        return;
    }
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let clock = ManualClock::new(NOW);
    let store = FailingStore::new(false);
    let sessions = JwtSessions::builder()
        .hs256_secret(SECRET)
        .clock(clock.clone())
        .store(store.clone())
        .build()
        .expect("configuration");
    let rotating = JwtSessions::builder()
        .hs256_secret(SECRET)
        .clock(clock.clone())
        .refresh_rotation(true)
        .build()
        .expect("configuration");
    let app = app(&sessions);
    let rotating_app = self::app(&rotating);
    let mut tokens = Vec::new();

    let pair = sessions.issue("alice", ()).await.expect("issue");
    tokens.extend([
        pair.access_token().to_owned(),
        pair.refresh_token().to_owned(),
    ]);
    assert_eq!(
        status(&app, request(Some(pair.access_token()), None)).await,
        200
    );
    assert_eq!(status(&app, request(None, None)).await, 401);
    assert_eq!(status(&app, request(Some("x.y.z"), None)).await, 401);
    clock.advance(Duration::from_secs(900));
    assert_eq!(
        status(&app, request(Some(pair.access_token()), None)).await,
        401
    );
    let refreshed = app
        .clone()
        .oneshot(request(
            Some(pair.access_token()),
            Some(pair.refresh_token()),
        ))
        .await
        .expect("infallible");
    assert_eq!(refreshed.status(), 200);
    let minted = refreshed.headers()["x-access-token"]
        .to_str()
        .expect("ASCII")
        .to_owned();
    tokens.push(minted.clone());
    // Again inside the grace window: the same tokens.
    assert_eq!(
        status(&app, request(None, Some(pair.refresh_token()))).await,
        200
    );
    // After it, while the new access token is valid: theft.
    clock.advance(Duration::from_secs(60));
    assert_eq!(
        status(&app, request(None, Some(pair.refresh_token()))).await,
        401
    );

    // Rotation, and a rotated-out token used again after the window.
    let rotated = rotating.issue("bob", ()).await.expect("issue");
    tokens.extend([
        rotated.access_token().to_owned(),
        rotated.refresh_token().to_owned(),
    ]);
    clock.advance(Duration::from_secs(900));
    let response = rotating_app
        .clone()
        .oneshot(request(None, Some(rotated.refresh_token())))
        .await
        .expect("infallible");
    tokens.push(
        response.headers()["x-refresh-token"]
            .to_str()
            .expect("ASCII")
            .to_owned(),
    );
    clock.advance(Duration::from_secs(60));
    assert_eq!(
        status(&rotating_app, request(None, Some(rotated.refresh_token()))).await,
        401
    );

    // Logout, log out everywhere, a store outage.
    let carol = sessions.issue("carol", ()).await.expect("issue");
    tokens.push(carol.access_token().to_owned());
    let logout = Request::post("/logout")
        .header("authorization", format!("Bearer {}", carol.access_token()))
        .body(Body::empty())
        .expect("request");
    assert_eq!(
        app.clone()
            .oneshot(logout)
            .await
            .expect("infallible")
            .status(),
        200
    );
    sessions.revoke_subject("alice").await.expect("revoke");
    let dave = sessions.issue("dave", ()).await.expect("issue");
    tokens.push(dave.access_token().to_owned());
    store.fail(true);
    assert_eq!(
        status(&app, request(Some(dave.access_token()), None)).await,
        503
    );
    store.fail(false);

    let log = captured.text();
    for outcome in [
        "accepted",
        "refused",
        "refreshed",
        "grace_reuse",
        "theft",
        "rotation_reuse",
        "revoked",
        "unavailable",
    ] {
        assert!(
            log.contains(&format!("outcome=\"{outcome}\""))
                || log.contains(&format!("outcome={outcome}")),
            "no {outcome} event in:\n{log}"
        );
    }
    assert!(log.contains("tower_jwt_auth"), "the events' target");
    // No token, no part of one (header, payload or signature), no secret.
    for token in &tokens {
        assert!(!log.contains(token.as_str()), "a token in the log");
        for part in token.split('.') {
            assert!(
                !log.contains(part),
                "a token's part {part} in the log:\n{log}"
            );
        }
    }
    assert!(!log.contains(std::str::from_utf8(SECRET).expect("ASCII")));
}
