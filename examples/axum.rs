//! A small notes API on axum, as the frameworks guide builds it: custom claims with a role,
//! login, `/me`, an admin-only route (403 for anyone else), logout and "log out everywhere",
//! notes of one's own. `cargo run --example axum --features axum`.
//!
//! Environment: `ADDR` (default `127.0.0.1:3000`), `JWT_SECRET` (random if unset), `PAIR_STORE`
//! (a `redis://` URL with `--features axum,redis` to share sessions; the in-memory store
//! otherwise). Any username logs in with password `demo`; `admin` gets the admin role.
//!
//! ```text
//! POST /login              {"username", "password"}  -> 200 token pair, or 401
//! GET  /me                 (protected)               -> 200 {"sub", "role"}
//! GET  /notes              (protected)               -> 200 ["…"]
//! POST /notes              (protected) "text"        -> 201
//! GET  /admin              (protected, role admin)   -> 200, or 403
//! POST /logout             (protected)               -> 204
//! POST /logout-everywhere  (protected)               -> 200 {"ended": n}
//! GET  /health                                        -> 200
//! ```

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tower_jwt_auth::{Claims, JwtSessions, TokenPair};

/// The application's own claims, in both tokens of every session. (A field named like one of
/// the claims the crate writes, `sub` say, would be refused when the sessions are built.)
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Role {
    pub(crate) role: String,
}

/// Everything the handlers share.
#[derive(Debug, Clone)]
pub(crate) struct AppState {
    sessions: JwtSessions<Role>,
    notes: Arc<Mutex<HashMap<String, Vec<String>>>>,
}

impl FromRef<AppState> for JwtSessions<Role> {
    fn from_ref(state: &AppState) -> Self {
        state.sessions.clone()
    }
}

#[derive(Deserialize)]
struct Login {
    username: String,
    password: String,
}

/// A stand-in for the application's own password check: any username, password `demo`.
async fn login(
    State(sessions): State<JwtSessions<Role>>,
    Json(login): Json<Login>,
) -> Result<TokenPair, StatusCode> {
    if login.username.is_empty() || login.password != "demo" {
        return Err(StatusCode::UNAUTHORIZED);
    }
    let role = match login.username.as_str() {
        "admin" => "admin",
        _ => "user",
    };
    let claims = Role { role: role.into() };
    let pair = sessions
        .issue(login.username, claims)
        .await
        .map_err(|e| e.status())?;
    // JSON with Cache-Control: no-store, as a response carrying tokens must have.
    Ok(pair)
}

async fn me(claims: Claims<Role>) -> Json<Value> {
    Json(json!({ "sub": claims.subject(), "role": claims.custom().role }))
}

async fn admin(claims: Claims<Role>) -> Result<&'static str, StatusCode> {
    match claims.custom().role.as_str() {
        "admin" => Ok("welcome, admin"),
        _ => Err(StatusCode::FORBIDDEN),
    }
}

async fn list_notes(State(state): State<AppState>, claims: Claims<Role>) -> Json<Vec<String>> {
    let notes = state.notes.lock().unwrap_or_else(|e| e.into_inner());
    Json(notes.get(claims.subject()).cloned().unwrap_or_default())
}

async fn add_note(State(state): State<AppState>, claims: Claims<Role>, text: String) -> StatusCode {
    let mut notes = state.notes.lock().unwrap_or_else(|e| e.into_inner());
    notes
        .entry(claims.subject().to_owned())
        .or_default()
        .push(text);
    StatusCode::CREATED
}

async fn logout(State(sessions): State<JwtSessions<Role>>, claims: Claims<Role>) -> StatusCode {
    match sessions.revoke_session(claims.session_id()).await {
        Ok(_) => StatusCode::NO_CONTENT,
        Err(error) => error.status(),
    }
}

async fn logout_everywhere(
    State(sessions): State<JwtSessions<Role>>,
    claims: Claims<Role>,
) -> Result<Json<Value>, StatusCode> {
    let ended = sessions
        .revoke_subject(claims.subject())
        .await
        .map_err(|e| e.status())?;
    Ok(Json(json!({ "ended": ended })))
}

/// The routes: everything above `route_layer` is behind the layer; `/login` and `/health`,
/// added after it, are public. `route_layer` runs the layer only for routes that match, so an
/// unknown path is `404`, not `401`.
pub(crate) fn app(sessions: JwtSessions<Role>) -> Router {
    let layer = sessions.layer();
    let state = AppState {
        sessions,
        notes: Arc::default(),
    };
    Router::new()
        .route("/me", get(me))
        .route("/notes", get(list_notes).post(add_note))
        .route("/admin", get(admin))
        .route("/logout", post(logout))
        .route("/logout-everywhere", post(logout_everywhere))
        .route_layer(layer)
        .route("/login", post(login))
        .route("/health", get(|| async { "ok" }))
        .with_state(state)
}

/// The sessions, on the store `PAIR_STORE` names.
pub(crate) async fn sessions_from_env() -> Result<JwtSessions<Role>, Box<dyn std::error::Error>> {
    let secret = if let Ok(secret) = std::env::var("JWT_SECRET") {
        secret.into_bytes()
    } else {
        let mut secret = vec![0u8; 32];
        getrandom::fill(&mut secret).map_err(|e| format!("no random source: {e}"))?;
        secret
    };
    let builder = JwtSessions::builder().claims::<Role>().hs256_secret(secret);
    let builder = match std::env::var("PAIR_STORE").ok() {
        None => builder,
        #[cfg(feature = "redis")]
        // Switching to Redis is this one line.
        Some(url) => builder.store(
            tower_jwt_auth::store::RedisStore::builder(url)
                .build()
                .await?,
        ),
        #[cfg(not(feature = "redis"))]
        Some(_) => return Err("PAIR_STORE needs --features redis".into()),
    };
    Ok(builder.build()?)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sessions = sessions_from_env().await?;
    let addr = std::env::var("ADDR").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app(sessions)).await?;
    Ok(())
}
