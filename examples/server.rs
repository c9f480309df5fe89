//! The demo server: `cargo run --example server`.
//!
//! Environment: `ADDR` (default `127.0.0.1:3000`), `JWT_SECRET` (HS256; random if unset),
//! `ACCESS_TTL_SECS`, `REFRESH_TTL_SECS`, `REFRESH_GRACE_SECS`, `REFRESH_ROTATION` (`0`/`1`),
//! `PAIR_CHECK` (`0`/`1`), `COOKIE_SECURE` (`0`/`1`, default `1`), `NEAR_CACHE` (`0`/`1`: the
//! Redis store's near cache), `JWT_ALG` with `JWT_PRIVATE_KEY`/`JWT_PUBLIC_KEY` (PEM files) for
//! EdDSA, ES256 or RS256, `PAIR_STORE` (`memory`, the default; a `redis://` URL with
//! `--features redis`; a `postgres://` URL with `--features postgres`, whose table the demo
//! creates: `PAIR_STORE=postgres://postgres@127.0.0.1/test cargo run --example server --features
//! postgres`; processes on the same Redis or database share their sessions).
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

use std::env;
use std::error::Error;
use std::time::Duration;

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
use tower_jwt_auth::cookie::CookieSettings;
use tower_jwt_auth::{Algorithm, AuthError, Claims, JwtKeys, JwtSessions, JwtSessionsBuilder};

type BoxError = Box<dyn Error + Send + Sync>;

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

fn env_secs(name: &str) -> Result<Option<Duration>, BoxError> {
    match env::var(name) {
        Ok(value) => {
            let secs = value
                .parse()
                .map_err(|_| format!("{name} must be a whole number of seconds, got {value:?}"))?;
            Ok(Some(Duration::from_secs(secs)))
        }
        Err(_) => Ok(None),
    }
}

fn env_flag(name: &str, default: bool) -> Result<bool, BoxError> {
    match env::var(name).as_deref() {
        Err(_) => Ok(default),
        Ok("1") => Ok(true),
        Ok("0") => Ok(false),
        Ok(other) => Err(format!("{name} must be 0 or 1, got {other:?}").into()),
    }
}

fn secret() -> Result<Vec<u8>, BoxError> {
    if let Ok(secret) = env::var("JWT_SECRET") {
        return Ok(secret.into_bytes());
    }
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| format!("no random source: {e}"))?;
    eprintln!(
        "warning: JWT_SECRET is not set; using a random secret (tokens die with the process)"
    );
    Ok(secret.to_vec())
}

/// Signing keys: an EdDSA/ES256/RS256 PEM pair when `JWT_ALG` and `JWT_PRIVATE_KEY` /
/// `JWT_PUBLIC_KEY` (file paths) are set, else HS256 with `JWT_SECRET`.
fn keys() -> Result<JwtKeys, BoxError> {
    let Ok(alg) = env::var("JWT_ALG") else {
        return Ok(JwtKeys::hs256(&secret()?)?);
    };
    let algorithm = match alg.as_str() {
        "HS256" => return Ok(JwtKeys::hs256(&secret()?)?),
        "EdDSA" => Algorithm::EdDSA,
        "ES256" => Algorithm::ES256,
        "RS256" => Algorithm::RS256,
        other => {
            return Err(
                format!("JWT_ALG must be HS256, EdDSA, ES256 or RS256, got {other:?}").into(),
            );
        }
    };
    let read = |name: &str| -> Result<Vec<u8>, BoxError> {
        let path =
            env::var(name).map_err(|_| format!("JWT_ALG={alg} needs {name} (a PEM file)"))?;
        std::fs::read(&path).map_err(|e| format!("cannot read {name}={path}: {e}").into())
    };
    Ok(JwtKeys::from_pem(
        algorithm,
        &read("JWT_PRIVATE_KEY")?,
        &read("JWT_PUBLIC_KEY")?,
    )?)
}

/// Applies the environment to a builder of any store.
fn configure(mut builder: JwtSessionsBuilder) -> Result<JwtSessionsBuilder, BoxError> {
    builder = builder
        .keys(keys()?)
        .refresh_rotation(env_flag("REFRESH_ROTATION", false)?)
        .pair_check(env_flag("PAIR_CHECK", true)?)
        .cookies(CookieSettings::new().secure(env_flag("COOKIE_SECURE", true)?));
    if let Some(ttl) = env_secs("ACCESS_TTL_SECS")? {
        builder = builder.access_ttl(ttl);
    }
    if let Some(ttl) = env_secs("REFRESH_TTL_SECS")? {
        builder = builder.refresh_ttl(ttl);
    }
    if let Some(grace) = env_secs("REFRESH_GRACE_SECS")? {
        builder = builder.refresh_grace(grace);
    }
    Ok(builder)
}

async fn serve(app: Router) -> Result<(), BoxError> {
    let addr = env::var("ADDR").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
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

/// The store `PAIR_STORE` names: `memory` (the default), a `redis://` URL or a `postgres://` URL
/// (each with its cargo feature). Processes on one Redis or one database share their sessions.
async fn with_store(builder: JwtSessionsBuilder) -> Result<JwtSessionsBuilder, BoxError> {
    let Some(url) = env::var("PAIR_STORE").ok().filter(|s| s != "memory") else {
        return Ok(builder);
    };
    // Only the scheme is ever repeated: the URL may hold a password.
    let scheme = url.split("://").next().unwrap_or_default().to_owned();
    match scheme.as_str() {
        #[cfg(feature = "redis")]
        "redis" | "rediss" | "redis+unix" => {
            let mut store = tower_jwt_auth::store::RedisStore::builder(url);
            if env_flag("NEAR_CACHE", false)? {
                store = store.near_cache(100_000);
            }
            let store = store
                .build()
                .await
                .map_err(|e| format!("cannot use the Redis of PAIR_STORE: {e}"))?;
            Ok(builder.store(store))
        }
        #[cfg(feature = "postgres")]
        "postgres" | "postgresql" => {
            let store = tower_jwt_auth::store::PostgresStore::builder(url)
                .build()
                .await
                .map_err(|e| format!("cannot use the database of PAIR_STORE: {e}"))?;
            store
                .migrate()
                .await
                .map_err(|e| format!("cannot create the sessions table: {e}"))?;
            Ok(builder.store(store))
        }
        _ => Err(format!(
            "PAIR_STORE must be `memory`, a redis:// URL (with --features redis) or a \
             postgres:// URL (with --features postgres); got a {scheme:?} URL"
        )
        .into()),
    }
}

async fn run() -> Result<(), BoxError> {
    let sessions = with_store(configure(JwtSessions::builder())?)
        .await?
        .build()?;
    let config = sessions.config();
    println!(
        "access tokens live {} s, sessions {} s, grace window {} s{}",
        config.access_ttl().as_secs(),
        config.refresh_ttl().as_secs(),
        config.refresh_grace().as_secs(),
        match env::var("REFRESH_GRACE_SECS") {
            Ok(_) => "",
            Err(_) => " (the default, fitted to the access lifetime)",
        }
    );
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
