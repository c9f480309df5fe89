//! Tokens of any identity provider (feature `oidc`): a [`ResourceServer`] verifies access
//! tokens minted elsewhere — by Keycloak, Auth0, Okta, Entra, Dex, or another service running
//! this crate — with keys it fetches itself, and a [`Requirement`] checks scopes and roles.
//!
//! - [`RemoteKeys`]: keys by OpenID discovery or from a JWKS URL, refreshed in the background,
//!   swapped without a lock on the request path; an unknown `kid` causes at most one fetch per
//!   interval; a provider down at start means `503` until the keys arrive, not a crash. Every
//!   request to the provider is bounded in time (by default 5 s to connect, 10 s in all), one
//!   fetch runs at a time with no lock held while it waits, and a request naming an unknown
//!   `kid` waits for it at most 2 s before it is refused as naming an unknown key: a provider
//!   that stalls delays no one for long and leaves the keys in use in place. The key set of an
//!   `https://` issuer is never fetched over plain http.
//! - [`Issuer`]: one trusted `iss` with its keys and token profile (audiences, `typ` policy,
//!   required claims, leeway); tokens are routed by `iss` before any key is looked at. A
//!   configured audience is required: a token without `aud` is refused.
//! - The header of every token is held to the rules of the crate's own tokens: the algorithm
//!   pinned to the key its `kid` names, no `crit`, the `typ`; keys in a header (`jwk`, `jku`,
//!   `x5u`, `x5c`) are never used. A claim named twice, at any depth, makes the token malformed.
//! - [`ResourceServer::layer`]: the layer, putting [`AccessClaims`] in the request's extensions.
//! - [`Requirement`]: scopes (`scope` or `scp`) and roles (whole values at a claim path) per
//!   route, as a layer or a check in a handler; `403 insufficient_scope` (gRPC 7) when missing.
//!   With axum, `Scoped<S>` is the same check as an extractor guard.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use axum::{Router, routing::{get, post}};
//! use tower_jwt_auth::oidc::{AccessClaims, Issuer, RemoteKeys, Requirement, ResourceServer};
//!
//! let issuer = "https://idp.example.com/realms/main";
//! let server = ResourceServer::builder()
//!     .issuer(Issuer::new(issuer, RemoteKeys::discover(issuer).build().await?).audience("orders-api"))
//!     .build()?;
//!
//! let app: Router = Router::new()
//!     .route("/orders", post(|| async { "created" }))
//!     .route_layer(Requirement::scope("orders:write").layer())
//!     .route("/me", get(|claims: AccessClaims| async move { format!("{:?}", claims.subject()) }))
//!     .route_layer(server.layer());
//! # Ok(()) }
//! ```

mod claims;
mod error;
mod fetch;
mod issuer;
mod keys;
mod layer;
mod scope;
mod server;

#[cfg(feature = "axum")]
pub use crate::axum::MissingAccessClaims;
pub use claims::AccessClaims;
pub use error::{KeySourceError, KeySourceErrorKind};
pub use fetch::HttpClient;
pub use issuer::{Issuer, TypPolicy};
pub use keys::{RemoteKeys, RemoteKeysBuilder};
pub use layer::{ResourceServerAuth, ResourceServerLayer};
#[cfg(feature = "axum")]
pub use scope::Scoped;
pub use scope::{Require, RequireLayer, Requirement, ScopeName};
pub use server::{ResourceServer, ResourceServerBuilder};
