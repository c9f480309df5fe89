//! A resource server: verifies access tokens of an identity provider, with no pair store and no
//! secret: `OIDC_ISSUER=https://idp.example.com cargo run --example resource_server --features oidc`.
//!
//! Environment: `OIDC_ISSUER` (keys by OpenID discovery; tokens must carry this `iss`) or
//! `JWKS_URL` (keys from a JWK Set; any `iss`), `AUDIENCE` (optional: required `aud`),
//! `REQUIRED_SCOPE` (optional: required on `/me`), `ADDR` (default `127.0.0.1:3001`).
//!
//! ```text
//! GET /me      (protected)  -> 200 {"sub", "scopes"}, 401, 403 insufficient_scope, or 503
//!                              while the provider's keys have not arrived
//! GET /health               -> 200
//! ```
//!
//! The fleet case, with no shared secret: start the demo with an EdDSA key
//! (`JWT_ALG=EdDSA JWT_PRIVATE_KEY=… JWT_PUBLIC_KEY=… cargo run --example server`), then this
//! example with `JWKS_URL=http://127.0.0.1:3000/.well-known/jwks.json`: it accepts the demo's
//! access tokens.

use std::env;
use std::error::Error;

use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use tower_jwt_auth::oidc::{AccessClaims, Issuer, RemoteKeys, Requirement, ResourceServer};

type BoxError = Box<dyn Error + Send + Sync>;

async fn me(claims: AccessClaims) -> Json<Value> {
    Json(json!({ "sub": claims.subject(), "scopes": claims.scopes() }))
}

/// `/me` behind the resource server's layer (and the scope, if one is required); `/health`
/// outside it.
pub(crate) fn app(server: &ResourceServer, required_scope: Option<&str>) -> Router {
    let mut protected = Router::new().route("/me", get(me));
    if let Some(scope) = required_scope {
        protected = protected.route_layer(Requirement::scope(scope).layer());
    }
    protected
        .route_layer(server.layer())
        .route("/health", get(|| async { "ok" }))
}

/// The issuer the environment names, with its keys.
pub(crate) async fn issuer_from_env() -> Result<Issuer, BoxError> {
    let issuer = match (env::var("OIDC_ISSUER"), env::var("JWKS_URL")) {
        (Ok(issuer), _) => Issuer::new(issuer.clone(), RemoteKeys::discover(issuer).build().await?),
        (Err(_), Ok(url)) => Issuer::any(RemoteKeys::jwks(url).build().await?),
        (Err(_), Err(_)) => return Err("set OIDC_ISSUER or JWKS_URL".into()),
    };
    Ok(match env::var("AUDIENCE") {
        Ok(audience) => issuer.audience(audience),
        Err(_) => issuer,
    })
}

async fn run() -> Result<(), BoxError> {
    let server = ResourceServer::builder()
        .issuer(issuer_from_env().await?)
        .build()?;
    let scope = env::var("REQUIRED_SCOPE").ok();
    let addr = env::var("ADDR").unwrap_or_else(|_| "127.0.0.1:3001".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app(&server, scope.as_deref()))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

#[tokio::main]
async fn main() {
    if let Err(error) = run().await {
        eprintln!("error: {error}");
        std::process::exit(1);
    }
}
