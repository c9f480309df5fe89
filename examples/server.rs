//! The demo server: `cargo run --example server`.
//!
//! Environment: `ADDR` (default `127.0.0.1:3000`), `JWT_SECRET` (HS256; random if unset),
//! `ACCESS_TTL_SECS`, `REFRESH_TTL_SECS`, `REFRESH_GRACE_SECS`, `REFRESH_ROTATION` (`0`/`1`),
//! `PAIR_CHECK` (`0`/`1`), `COOKIE_SECURE` (`0`/`1`, default `1`), `NEAR_CACHE` (`0`/`1`: the
//! Redis or PostgreSQL store's near cache), `JWT_ALG` with `JWT_PRIVATE_KEY`/`JWT_PUBLIC_KEY` (PEM files) for
//! EdDSA, ES256 or RS256, `PAIR_STORE` (`memory`, the default; a `redis://` URL with
//! `--features redis`; a `postgres://` URL with `--features postgres`, whose table the demo
//! creates: `PAIR_STORE=postgres://postgres@127.0.0.1/test cargo run --example server --features
//! postgres`; processes on the same Redis or database share their sessions), `PAIR_STORE_CA` (a
//! PEM file of the CA that signed the store's TLS certificate, for a `rediss://` URL or an
//! `sslmode=verify-full` one; default: the system's roots).
//!
//! ```text
//! GET  /                                                 -> the demo page (cookie mode)
//! POST /login   {"username": "...", "password": "demo"}  -> 200 token pair, or 401
//! POST /login/cookies  (the same body)                   -> 204 with both tokens in HttpOnly
//!                                                           cookies, or 401
//! GET  /me      (protected)                              -> 200 {"sub", "sid"}
//! POST /logout  (protected)                              -> 204, session revoked, cookies
//!                                                           removed
//! GET  /health                                           -> 200
//! GET  /.well-known/jwks.json                            -> 200 public keys (JWKS)
//! GET  /metrics                                          -> 200 Prometheus text (with the
//!                                                           `metrics` feature, the counters)
//! gRPC grpc.health.v1.Health/Check (protected)           -> SERVING, or a gRPC status
//! anything else                                          -> 404
//! ```
//!
//! gRPC and HTTP share the one port: a gRPC client that logged in over HTTP calls `Check` with
//! `authorization: Bearer …` metadata. Protected routes take the tokens in headers or in the
//! cookies the page's login sets. The cookies are `Secure` and `__Host-` named; browsers keep
//! such cookies from `http://127.0.0.1` and `http://localhost`, which they count as secure.
//! Served on another host over plain HTTP, start the demo with `COOKIE_SECURE=0`.

use axum::extract::{Json, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde::Deserialize;
use serde_json::json;
use tonic_health::ServingStatus;
use tonic_health::pb::health_server::SERVICE_NAME;
use tower::ServiceBuilder;
use tower_jwt_auth::{AuthError, Claims, JwtSessions};

#[path = "common/demo_env.rs"]
mod demo_env;

use demo_env::BoxError;

#[derive(Deserialize)]
struct Login {
    username: String,
    password: String,
}

/// A stand-in user check: any username, password `demo`.
async fn login(State(sessions): State<JwtSessions>, Json(login): Json<Login>) -> Response {
    if login.username.is_empty() || login.password != "demo" {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    match sessions.issue(login.username, ()).await {
        // JSON with Cache-Control: no-store.
        Ok(pair) => pair.into_response(),
        Err(error) => refused(&error),
    }
}

/// The page's login: the same check, with the tokens in `HttpOnly` cookies instead of the body.
async fn login_cookies(State(sessions): State<JwtSessions>, Json(login): Json<Login>) -> Response {
    if login.username.is_empty() || login.password != "demo" {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let cookies = async {
        let pair = sessions.issue(login.username, ()).await?;
        sessions.login_cookies(&pair)
    };
    match cookies.await {
        Ok(cookies) => (StatusCode::NO_CONTENT, cookies).into_response(),
        Err(error) => refused(&error),
    }
}

fn refused(error: &AuthError) -> Response {
    (error.status(), error.to_string()).into_response()
}

async fn me(Extension(claims): Extension<Claims>) -> Json<serde_json::Value> {
    Json(json!({ "sub": claims.subject(), "sid": claims.session_id().to_string() }))
}

async fn logout(
    State(sessions): State<JwtSessions>,
    Extension(claims): Extension<Claims>,
) -> Response {
    let logout = async {
        sessions.revoke_session(claims.session_id()).await?;
        // Header clients ignore these; the page's browser forgets both cookies.
        sessions.logout_cookies()
    };
    match logout.await {
        Ok(cookies) => (StatusCode::NO_CONTENT, cookies).into_response(),
        Err(error) => refused(&error),
    }
}

/// The public keys (RFC 7517); empty with an HS256 secret, which is never published.
async fn jwks(State(sessions): State<JwtSessions>) -> Json<serde_json::Value> {
    Json(serde_json::to_value(sessions.jwks()).unwrap_or_default())
}

/// The demo's routes: `/me`, `/logout` and the gRPC health service behind the layer; the page,
/// both logins, `/health`, the JWKS and `/metrics` outside it. gRPC and HTTP share the one port,
/// and a path that is neither is `404`.
pub(crate) async fn app(sessions: JwtSessions, metrics: PrometheusHandle) -> Router {
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter
        .set_service_status("", ServingStatus::Serving)
        .await;
    // The gRPC service gets a layer of its own, routed at its methods' paths
    // (`/grpc.health.v1.Health/{method}`). A layer on a router wraps its fallback too, and
    // tonic's `Routes` has one answering every path: an unknown path would be `401`, or a
    // refresh and gRPC status 12, instead of `404`.
    let grpc = ServiceBuilder::new()
        .layer(sessions.layer())
        .service(health);
    Router::new()
        .route("/me", get(me))
        .route("/logout", post(logout))
        // Only the routes above, and only when one matches: an unknown path is 404.
        .route_layer(sessions.layer())
        .route_service(&format!("/{SERVICE_NAME}/{{*method}}"), grpc)
        .route("/", get(|| async { Html(include_str!("server.html")) }))
        .route("/login", post(login))
        .route("/login/cookies", post(login_cookies))
        .route("/health", get(|| async { "ok" }))
        .route("/.well-known/jwks.json", get(jwks))
        .route(
            "/metrics",
            get(move || std::future::ready(metrics.render())),
        )
        .with_state(sessions)
}

async fn serve(app: Router) -> Result<(), BoxError> {
    let addr = demo_env::addr();
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

async fn run() -> Result<(), BoxError> {
    let sessions = demo_env::sessions().await?;
    let metrics = PrometheusBuilder::new()
        .install_recorder()
        .map_err(|e| format!("cannot install the metrics recorder: {e}"))?;
    serve(app(sessions, metrics).await).await
}

#[tokio::main]
async fn main() {
    if let Err(error) = run().await {
        eprintln!("error: {error}");
        std::process::exit(1);
    }
}
