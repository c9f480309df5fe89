//! Hello-world axum server for `benches/http.sh`:
//! `MODE=none|layer|layer-redis|layer-redis-cache|layer-postgres|layer-postgres-cache|jsonwebtoken|resource-rs256`.
//!
//! - `none`: no authentication at all;
//! - `layer`: behind `JwtAuthLayer` (HS256, pair check on, in-memory store);
//! - `layer-redis`, `layer-redis-cache` (with `--features redis` and `REDIS_URL`): the same with
//!   the pair check on Redis, without and with the near cache;
//! - `layer-postgres`, `layer-postgres-cache` (with `--features postgres` and `DATABASE_URL`): on
//!   PostgreSQL (`tjwt_bench_plain`, `tjwt_bench_cached`: a table per mode, as the near cache
//!   adds a trigger), without and with the near cache;
//! - `jsonwebtoken`: `jsonwebtoken::decode` in `axum::middleware::from_fn`, as hand-written
//!   middleware usually does it;
//! - `resource-rs256`: behind a resource server (`oidc::ResourceServer`) holding one RS256 public
//!   key, given once (no network), its verified-token cache on (the default), for an RS256
//!   token of `tests/keys/rs256.pem`.
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
#[expect(
    dead_code,
    reason = "decoded to be validated, as a middleware would, not read"
)]
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

/// A resource server trusting one RS256 key, given once, and a token it accepts.
async fn resource_server_rs256()
-> Result<(tower_jwt_auth::oidc::ResourceServer, String), Box<dyn std::error::Error>> {
    use tower_jwt_auth::oidc::{Issuer, RemoteKeys, ResourceServer};
    use tower_jwt_auth::{JwtKeys, jwk::JwkSet};
    let pem =
        |name: &str| std::fs::read(format!("{}/tests/keys/{name}", env!("CARGO_MANIFEST_DIR")));
    let keys = JwtKeys::from_pem(Algorithm::RS256, &pem("rs256.pem")?, &pem("rs256.pub.pem")?)?;
    let issuer = JwtSessions::builder().keys(keys).build()?;
    let token = issuer.issue("bench", ()).await?.access_token().to_owned();
    let set: JwkSet = issuer.jwks();
    let server = ResourceServer::builder()
        .issuer(Issuer::any(RemoteKeys::from_jwk_set(&set)?))
        .build()?;
    Ok((server, token))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mode = std::env::var("MODE").unwrap_or_else(|_| "layer".into());
    let addr = std::env::var("ADDR").unwrap_or_else(|_| "127.0.0.1:3100".into());
    let builder = JwtSessions::builder().hs256_secret(SECRET);
    let sessions = match mode.as_str() {
        #[cfg(feature = "redis")]
        "layer-redis" | "layer-redis-cache" => {
            let url = std::env::var("REDIS_URL").map_err(|_| "REDIS_URL is not set")?;
            let prefix = format!("tjwt-bench:{}", tower_jwt_auth::TokenId::random()?);
            let mut store = tower_jwt_auth::store::RedisStore::builder(url).prefix(prefix);
            if mode == "layer-redis-cache" {
                store = store.near_cache(100_000);
            }
            let store = store.build().await?;
            while store.near_cache_stats().is_some_and(|s| !s.trusted) {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            builder.store(store).build()?
        }
        #[cfg(feature = "postgres")]
        "layer-postgres" | "layer-postgres-cache" => {
            let url = std::env::var("DATABASE_URL").map_err(|_| "DATABASE_URL is not set")?;
            let cached = mode == "layer-postgres-cache";
            let table = if cached {
                "tjwt_bench_cached"
            } else {
                "tjwt_bench_plain"
            };
            let mut store = tower_jwt_auth::store::PostgresStore::builder(url).table(table);
            if cached {
                store = store.near_cache(100_000);
            }
            let store = store.build().await?;
            store.migrate().await?;
            while store.near_cache_stats().is_some_and(|s| !s.trusted) {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            builder.store(store).build()?
        }
        _ => builder.build()?,
    };
    let mut token = sessions.issue("bench", ()).await?.access_token().to_owned();
    let app = Router::new().route("/", get(|| async { "hello" }));
    let app = match mode.as_str() {
        "none" => app,
        "resource-rs256" => {
            let (server, rs256) = resource_server_rs256().await?;
            token = rs256;
            app.layer(server.layer())
        }
        "layer"
        | "layer-redis"
        | "layer-redis-cache"
        | "layer-postgres"
        | "layer-postgres-cache" => app.layer(sessions.layer()),
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
            return Err(format!(
                "MODE must be none, layer, layer-redis, layer-redis-cache, layer-postgres, \
                 layer-postgres-cache, jsonwebtoken or resource-rs256, got {other:?}"
            )
            .into());
        }
    };
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("token: {token}");
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
