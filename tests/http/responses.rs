//! What a response carries: a custom responder keeps the protocol's headers, and a request that
//! ends its own session (a logout that arrived with a refresh) gets no fresh token of it.

use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Extension, Router};
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;
use tower_jwt_auth::store::MemoryStore;
use tower_jwt_auth::store::PairStore;
use tower_jwt_auth::{AuthError, Claims, JwtSessions, ManualClock, ProblemJson};

use crate::common::failing_store::FailingStore;

const SECRET: &[u8] = b"responses test secret, 32 bytes!";
const NOW: u64 = 1_700_000_000;
const ACCESS_TTL: u64 = 900;

fn sessions(store: impl PairStore, clock: &ManualClock) -> JwtSessions {
    JwtSessions::builder()
        .hs256_secret(SECRET)
        .clock(clock.clone())
        .store(store)
        .build()
        .expect("configuration")
}

async fn logout(
    State(sessions): State<JwtSessions>,
    Extension(claims): Extension<Claims>,
) -> StatusCode {
    match sessions.revoke_session(claims.session_id()).await {
        Ok(_) => StatusCode::NO_CONTENT,
        Err(error) => error.status(),
    }
}

fn app(sessions: &JwtSessions) -> Router {
    Router::new()
        .route("/me", get(|| async { "me" }))
        .route("/logout", post(logout))
        .layer(sessions.layer())
        .with_state(sessions.clone())
}

fn request(method: &str, path: &str, access: &str, refresh: &str) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {access}"))
        .header("x-refresh-token", refresh)
        .body(Body::empty())
        .expect("request")
}

async fn send(app: &Router, request: Request<Body>) -> Response<Body> {
    app.clone().oneshot(request).await.expect("infallible")
}

/// A logout that arrives with an expired access token and the refresh token refreshes (so the
/// handler runs), revokes the session, and answers without a token of the session it ended —
/// whether the store answers at once (in process) or must be awaited (networked).
#[tokio::test]
async fn a_logout_that_refreshed_gets_no_fresh_token_of_its_ended_session() {
    for remote in [false, true] {
        let clock = ManualClock::new(NOW);
        let sessions = match remote {
            false => sessions(MemoryStore::new(), &clock),
            true => sessions(FailingStore::new(false), &clock),
        };
        let app = app(&sessions);
        let pair = sessions.issue("alice", ()).await.expect("issue");
        clock.advance(Duration::from_secs(ACCESS_TTL));

        let response = send(
            &app,
            request("POST", "/logout", pair.access_token(), pair.refresh_token()),
        )
        .await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT, "remote {remote}");
        assert!(
            !response.headers().contains_key("x-access-token"),
            "remote {remote}: no token of a session the request ended"
        );
        assert_eq!(response.headers()["cache-control"], "no-store");
        let after = send(
            &app,
            request("GET", "/me", pair.access_token(), pair.refresh_token()),
        )
        .await;
        assert_eq!(after.status(), StatusCode::UNAUTHORIZED);

        // The same request to a route that leaves the session alone does carry the token.
        let other = sessions.issue("bob", ()).await.expect("issue");
        clock.advance(Duration::from_secs(ACCESS_TTL));
        let response = send(
            &app,
            request("GET", "/me", other.access_token(), other.refresh_token()),
        )
        .await;
        assert_eq!(response.status(), StatusCode::OK);
        let minted = response.headers()["x-access-token"]
            .to_str()
            .expect("ASCII");
        sessions
            .authenticate(minted)
            .await
            .expect("the new token works");
    }
}

fn problem_app(sessions: &JwtSessions, json: bool) -> Router {
    let custom = |error: &AuthError| {
        // A body of the application's own, and nothing else: no challenge, no Retry-After.
        let mut response = Response::new(Body::from(format!(
            "{{\"why\":\"{}\"}}",
            error.description()
        )));
        *response.status_mut() = error.status();
        response
    };
    let router = Router::new().route("/me", get(|| async { "me" }));
    match json {
        true => router.layer(sessions.layer().on_error(ProblemJson)),
        false => router.layer(sessions.layer().on_error(custom)),
    }
}

/// Custom responders keep `WWW-Authenticate` and `Retry-After`: on a 401, a 400 and a 503, for
/// a closure of the application's and for `ProblemJson`.
#[tokio::test]
async fn custom_responders_keep_the_protocol_headers() {
    let clock = ManualClock::new(NOW);
    let store = FailingStore::new(false);
    let up = sessions(store.clone(), &clock);
    let pair = up.issue("carol", ()).await.expect("issue");
    for json in [false, true] {
        let app = problem_app(&up, json);
        let expired = Request::get("/me")
            .header("authorization", "Bearer a.b.c")
            .body(Body::empty())
            .expect("request");
        let response = send(&app, expired).await;
        assert_eq!(response.status(), 401);
        assert_eq!(
            response.headers()["www-authenticate"],
            r#"Bearer error="invalid_token", error_description="the access token is malformed""#
        );

        let twice = Request::get("/me")
            .header("authorization", "Bearer a.b.c")
            .header("authorization", "Bearer d.e.f")
            .body(Body::empty())
            .expect("request");
        let response = send(&app, twice).await;
        assert_eq!(response.status(), 400);
        assert_eq!(
            response.headers()["www-authenticate"],
            r#"Bearer error="invalid_request", error_description="more than one Authorization header""#
        );

        store.fail(true);
        let app = problem_app(&up, json);
        let bearer = Request::get("/me")
            .header("authorization", format!("Bearer {}", pair.access_token()))
            .body(Body::empty())
            .expect("request");
        let response = send(&app, bearer).await;
        assert_eq!(response.status(), 503);
        assert_eq!(response.headers()["retry-after"], "1");
        assert!(!response.headers().contains_key("www-authenticate"));
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let body = String::from_utf8(body.to_vec()).expect("UTF-8");
        assert!(body.contains("session store unavailable"), "{body}");
        store.fail(false);
    }
}

/// A header the responder set itself is never replaced.
#[tokio::test]
async fn a_header_the_responder_set_is_kept() {
    let clock = ManualClock::new(NOW);
    let sessions = sessions(MemoryStore::new(), &clock);
    let app = Router::new()
        .route("/me", get(|| async { "me" }))
        .layer(sessions.layer().on_error(|error: &AuthError| {
            let mut response = Response::new(Body::empty());
            *response.status_mut() = error.status();
            response.headers_mut().insert(
                "www-authenticate",
                http::HeaderValue::from_static("Bearer realm=\"notes\""),
            );
            response
        }));
    let response = send(
        &app,
        Request::get("/me").body(Body::empty()).expect("request"),
    )
    .await;
    assert_eq!(
        response.headers()["www-authenticate"],
        "Bearer realm=\"notes\""
    );
}

/// With `errors_in_extensions(true)`, the layers outside see each refusal's `AuthError` in the
/// response's extensions; by default a refusal carries nothing but its answer.
#[tokio::test]
async fn a_refusals_error_reaches_the_outer_layers_when_asked_for() {
    let clock = ManualClock::new(NOW);
    let sessions = sessions(MemoryStore::new(), &clock);
    for expose in [false, true] {
        let app = Router::new()
            .route("/me", get(|| async { "me" }))
            .layer(sessions.layer().errors_in_extensions(expose));
        let response = send(
            &app,
            Request::get("/me").body(Body::empty()).expect("request"),
        )
        .await;
        assert_eq!(response.status(), 401);
        let error = response.extensions().get::<AuthError>();
        assert_eq!(error.is_some(), expose);
        if let Some(error) = error {
            assert_eq!(
                error.kind(),
                tower_jwt_auth::AuthErrorKind::MissingCredentials
            );
        }
    }
}
