//! JWT access/refresh-token authentication for any [tower] service — axum, tonic or plain hyper —
//! added as one layer, with a server-side pair store that detects stolen refresh tokens without
//! logging out honest clients.
//!
//! # The scheme
//!
//! A login ([`JwtSessions::issue`]) gives the client a short-lived **access token** and a
//! long-lived **refresh token** (S1, S2). Each request carries the access token in
//! `Authorization: Bearer` (S3); the layer verifies it and puts its [`Claims`] in the request
//! extensions. Once it expires (S4) the request gets `401` (S5); the client repeats it with the
//! refresh token in `x-refresh-token` (S6), and the layer mints a new access token into the
//! `x-access-token` response header while serving the request (S7). An expired refresh token is
//! `401` and the user logs in again (S8).
//!
//! The [`PairStore`](store::PairStore) keeps each session's current access and refresh token ids.
//! An access token must be its session's current one (T1); a refresh while the current access
//! token is still valid can only come from a copy of the refresh token, so the session is revoked
//! and both tokens die (T2–T4). Refreshes of one session within a short grace window (10 s by
//! default) get the same tokens, so two tabs refreshing at once are not mistaken for a thief.
//! Optional refresh-token rotation adds reuse detection (RFC 9700 §4.14.2).
//!
//! Browsers get **cookie mode** ([`JwtSessionsBuilder::cookies`]): both tokens in `HttpOnly`
//! cookies out of the page's reach, refreshed through `Set-Cookie`, with unsafe cross-site
//! requests refused (see [`CookieSettings`]). Where tokens come from at all is a
//! [`credentials::CredentialSource`].
//!
//! A service that only verifies tokens minted elsewhere (by an identity provider, or by another
//! service running this crate) uses the `oidc` feature: `oidc::ResourceServer` fetches the
//! issuer's keys by OpenID discovery or from a JWKS URL and checks scopes and roles.
//!
//! The client's side of the scheme is the `client` feature: [`client::JwtClientLayer`] wraps
//! an HTTP or gRPC client, attaches the access token to the requests for the server's origin
//! (and to no other), refreshes in-band once it has expired (one request at a time), and
//! reports when the user must log in again.
//!
//! # Example
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use axum::{Extension, Router, routing::get};
//! use tower::ServiceExt;
//! use tower_jwt_auth::{Claims, JwtSessions};
//!
//! let sessions = JwtSessions::builder()
//!     .hs256_secret(b"an example secret of 32+ bytes!!")
//!     .build()?;
//! let app = Router::new()
//!     .route("/me", get(|Extension(c): Extension<Claims>| async move { c.subject().to_owned() }))
//!     .layer(sessions.layer());
//!
//! let pair = sessions.issue("alice", ()).await?;
//! let request = http::Request::get("/me")
//!     .header("authorization", format!("Bearer {}", pair.access_token()))
//!     .body(axum::body::Body::empty())?;
//! let response = app.clone().oneshot(request).await?;
//! assert_eq!(response.status(), 200);
//!
//! let anonymous = http::Request::get("/me").body(axum::body::Body::empty())?;
//! assert_eq!(app.oneshot(anonymous).await?.status(), 401);
//! # Ok(()) }
//! ```
//!
//! [tower]: https://docs.rs/tower

#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "axum")]
mod axum;
mod builder;
#[cfg(feature = "client")]
pub mod client;
mod clock;
mod config;
mod cookie;
pub mod credentials;
mod engine;
mod error;
mod id;
mod issued;
mod middleware;
mod observe;
#[cfg(feature = "oidc")]
pub mod oidc;
mod sessions;
pub mod store;
mod token;

/// The README's examples, compiled and run as doc tests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

#[cfg(feature = "axum")]
pub use axum::MissingClaims;
pub use builder::JwtSessionsBuilder;
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::Config;
pub use cookie::{CookieSettings, SameSite};
pub use error::{AuthError, AuthErrorKind, ConfigError, ConfigErrorKind};
pub use id::{ParseIdError, RandomError, SessionId, TokenId};
pub use issued::{Refreshed, TokenPair};
/// JWK and JWK Set types (RFC 7517), as published by [`JwtSessions::jwks`].
pub use jsonwebtoken::jwk;
pub use middleware::{
    ErrorResponder, Grpc, JwtAuth, JwtAuthLayer, ProblemJson, ResponseFuture, Rfc6750,
};
pub use sessions::JwtSessions;
pub use store::MemoryStore;
#[cfg(feature = "postgres")]
pub use store::{PostgresStore, PostgresStoreBuilder};
#[cfg(feature = "redis")]
pub use store::{RedisStore, RedisStoreBuilder};
pub use token::{
    Algorithm, Claims, ClaimsError, ClaimsErrorKind, CustomClaims, JwtKeys, KeySet, TokenKind,
};
