//! Hello-world axum server for `benches/http.sh`: `MODE=none|layer|jsonwebtoken`.
//!
//! - `none`: no authentication at all;
//! - `layer`: behind `JwtAuthLayer` (HS256, pair check on, in-memory store);
//! - `jsonwebtoken`: `jsonwebtoken::decode` in `axum::middleware::from_fn`, as hand-written
//!   middleware usually does it.
//!
//! Runs on one thread (the script pins it to one core), prints `token: …` (a valid access token
//! for the load generator) and `listening on http://ADDR`.

use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use tower_jwt_auth::JwtSessions;

const SECRET: &[u8] = b"benchmark-secret-of-32-bytes-min";

/// The claims a hand-written middleware reads.
#[derive(Clone, Deserialize)]
#[allow(dead_code)]
struct Registered {
    sub: String,
    sid: String,
    jti: String,
    iat: u64,
    exp: u64,
}

async fn decode_with_jsonwebtoken(
    keys: Arc<(DecodingKey, Validation)>,
    mut request: Request,
    next: Next,
) -> Result<Response, StatusCode> {
    let token = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(StatusCode::UNAUTHORIZED)?;
    let data = jsonwebtoken::decode::<Registered>(token, &keys.0, &keys.1)
        .map_err(|_| StatusCode::UNAUTHORIZED)?;
    request.extensions_mut().insert(data.claims);
    Ok(next.run(request).await)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mode = std::env::var("MODE").unwrap_or_else(|_| "layer".into());
    let addr = std::env::var("ADDR").unwrap_or_else(|_| "127.0.0.1:3100".into());
    let sessions = JwtSessions::builder().hs256_secret(SECRET).build()?;
    let pair = sessions.issue("bench", ()).await?;
    let app = Router::new().route("/", get(|| async { "hello" }));
    let app = match mode.as_str() {
        "none" => app,
        "layer" => app.layer(sessions.layer()),
        "jsonwebtoken" => {
            let keys = Arc::new((
                DecodingKey::from_secret(SECRET),
                Validation::new(Algorithm::HS256),
            ));
            app.layer(middleware::from_fn(move |request, next| {
                decode_with_jsonwebtoken(keys.clone(), request, next)
            }))
        }
        other => {
            return Err(format!("MODE must be none, layer or jsonwebtoken, got {other:?}").into());
        }
    };
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("token: {}", pair.access_token());
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
