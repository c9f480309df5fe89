//! JWT access/refresh-token authentication for any [tower] service — axum, tonic or plain hyper —
//! added as one layer, with a server-side pair store that detects stolen refresh tokens without
//! logging out honest clients.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use axum::{Extension, Router, routing::get};
//! use tower::ServiceExt;
//! use tower_jwt_auth::{Claims, JwtSessions};
//!
//! let sessions = JwtSessions::builder()
//!     .hs256_secret(b"an example secret of 32+ bytes!!") // 32+ bytes, refused otherwise
//!     .build()?;
//! let app = Router::new()
//!     .route("/me", get(|Extension(c): Extension<Claims>| async move { c.subject().to_owned() }))
//!     .route_layer(sessions.layer()); // every route above is protected
//!
//! // After your own password check (S1): an access and a refresh token, stored as a pair.
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
//! # The scheme
//!
//! A login gives the client a short-lived **access token** and a long-lived **refresh token**.
//! The client sends the access token with each request; once it has expired, the client sends
//! the refresh token and the layer mints a new access token while serving that request. The
//! [`PairStore`](store::PairStore) keeps each session's current token ids, so a refresh token
//! presented while its session's access token is still valid — a copy in a thief's hands — ends
//! the session. The steps, by the labels the rest of the documentation and the tests use:
//!
//! | step | client | server (this crate) |
//! | --- | --- | --- |
//! | S1, S2 | logs in, keeps both tokens | [`JwtSessions::issue`] mints an access token (15 min) and a refresh token (14 days) and records their ids as the session's pair |
//! | S3 | `Authorization: Bearer <access>` | verifies signature, `typ`, `exp`; checks the token is the session's current one (T1); puts [`Claims<C>`](Claims) in the request extensions |
//! | S4, S5 | access token expired | `401`, `WWW-Authenticate: Bearer error="invalid_token", error_description="the access token expired"` |
//! | S6 | repeats the request with `x-refresh-token: <refresh>` | verifies the refresh token and asks the store to refresh — one atomic step |
//! | S7 | reads `x-access-token` from the response | mints a new access token, records it, **serves the request** with its claims, returns it in `x-access-token` with `Cache-Control: no-store` |
//! | S8 | refresh token expired | `401 invalid_token` "the refresh token expired"; log in again |
//! | T1 | presents an access token a refresh has replaced | `401` "the access token was superseded": only the session's current access token is accepted |
//! | T2 | a thief refreshed first; the owner refreshes later | the owner's refresh comes while the thief's access token is valid: the session is revoked, the thief's tokens die with it |
//! | T3 | a thief refreshes while the owner's access token is valid | a refresh while the session's current access token is still valid has no honest reason: the session is revoked, both tokens die, the request gets `401` |
//! | T4 | the owner logs in again | a new session; the revoked pair stays refused until its absolute end |
//!
//! **Precedence.** When a request carries both headers, a *valid* access token wins and the
//! refresh header is not even read (a malformed one beside a valid access token does not
//! matter). The refresh token is used only when the access token has *expired*; any other defect
//! of the access token (bad signature, revoked) is a `401` regardless, or the `400` of a
//! malformed refresh header. A client that always sends both headers therefore refreshes
//! exactly when it must, and never trips the theft rule. The two tokens must belong to the same
//! session (`400 invalid_request` otherwise): a request is never served as someone other than
//! the access token it carries.
//!
//! **Beyond the basic scheme.**
//! - *Grace window* (default 10 s, or half the access lifetime if less). Refreshes of one session
//!   within the window after a refresh — two tabs, a retried request — all succeed with **the
//!   same** access token (same `jti`), so nobody is logged out. After the window the theft rule
//!   applies again. `refresh_grace(0)` turns it off.
//! - *Identifiers, not tokens.* Stores keep each token's `jti` and expiry, never the token.
//! - *Rotation* ([`refresh_rotation(true)`](JwtSessionsBuilder::refresh_rotation)). Each refresh
//!   also returns a new refresh token in the `x-refresh-token` response header; a rotated-out
//!   token presented after the grace window revokes the whole family (RFC 9700 §4.14.2).
//!   Rotation never extends the session's absolute lifetime.
//! - *Explicit typing.* Access tokens carry `typ: at+jwt` (RFC 9068), refresh tokens
//!   `typ: rt+jwt`; neither is ever accepted as the other.
//!
//! Browsers get **cookie mode** ([`JwtSessionsBuilder::cookies`]): both tokens in `HttpOnly`
//! cookies, the same steps, refreshes answered with `Set-Cookie`. A service that only verifies
//! tokens minted elsewhere — by an identity provider, or by another service running this crate —
//! uses [`oidc::ResourceServer`]. The client's side of the scheme, S3 to S8 without a line of
//! its own, is [`client::JwtClientLayer`].
//!
//! # Guides
//!
//! - [Frameworks](guide::frameworks): axum (a whole app, step by step), tonic, gRPC and REST on
//!   one port, plain hyper.
//! - [Browsers](cookie): cookie mode, CSRF, CORS, and the token login API clients need
//!   beside it.
//! - [Pair stores](store): the store contract and its conformance suite, memory, Redis and
//!   PostgreSQL (each with a near cache).
//! - [Framework adapters](decision): the layer's whole decision from one entry point, for a
//!   framework that tower does not serve.
//! - [Resource servers](oidc): tokens of any identity provider, keys by discovery, scopes and
//!   roles.
//! - [The client](client): a tower layer that keeps a session alive for an HTTP or gRPC client.
//! - [Responses](guide::responses): every refusal's status and challenge, and how to shape them.
//! - [Configuration](guide::configuration): every setting and its default.
//! - [Keys and rotation](guide::keys): algorithms, `kid`s, rotation without a restart, JWKS.
//! - [Observability](guide::observability): `tracing` events and metrics.
//! - [Security](guide::security): what the layer guarantees, and what it leaves to you.
//! - [Stability](guide::stability): what semantic versioning covers.
//! - [The demo](guide::demo): `cargo run --example server` and its settings.
//!
//! # Features
//!
//! | feature | adds |
//! | --- | --- |
//! | `axum` | [`Claims<C>`](Claims) and `Option<Claims<C>>` as extractors; [`TokenPair`] and [`AuthError`] as responses |
//! | `actix` | [`actix::JwtAuthMiddleware`] for actix-web; [`Claims<C>`](Claims) and `Option<Claims<C>>` as its extractors |
//! | `redis` | `RedisStore`: sessions in Redis or Redis Cluster, with an optional near cache |
//! | `postgres` | `PostgresStore`: sessions in one PostgreSQL table, with an optional near cache |
//! | `oidc` | [`oidc::ResourceServer`]: tokens of any identity provider |
//! | `client` | [`client::JwtClientLayer`]: the client half |
//! | `metrics` | counters and a histogram through the `metrics` facade |
//! | `test-util` | `store::conformance` and `pair_store_conformance!`, for a store of your own |
//!
//! [tower]: https://docs.rs/tower

#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "actix")]
pub mod actix;
#[cfg(feature = "axum")]
mod axum;
mod builder;
#[cfg(feature = "client")]
pub mod client;
mod clock;
mod config;
pub mod cookie;
pub mod credentials;
pub mod decision;
mod engine;
mod error;
pub mod guide;
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
pub use error::{AuthError, AuthErrorKind, ConfigError, ConfigErrorKind};
pub use id::{ParseIdError, RandomError, SessionId, TokenId};
pub use issued::{Refreshed, TokenPair};
pub mod jwk {
    //! JWK and JWK Set types (RFC 7517), in which [`JwtSessions::jwks`](crate::JwtSessions::jwks)
    //! publishes the public keys and `oidc::RemoteKeys` reads an identity provider's. They are
    //! `jsonwebtoken`'s own types, re-exported: `jsonwebtoken` is a public dependency, so a new
    //! major version of it is a breaking change of this crate.
    //!
    //! ```
    //! use tower_jwt_auth::jwk::JwkSet;
    //! use tower_jwt_auth::JwtSessions;
    //!
    //! let sessions = JwtSessions::builder()
    //!     .hs256_secret(b"an example secret of 32+ bytes!!")
    //!     .build()?;
    //! let published: JwkSet = sessions.jwks();
    //! assert!(published.keys.is_empty()); // an HMAC secret is never published
    //!
    //! let parsed: JwkSet = serde_json::from_str(r#"{"keys":[]}"#)?;
    //! assert!(parsed.keys.is_empty());
    //! # Ok::<(), Box<dyn std::error::Error>>(())
    //! ```

    pub use jsonwebtoken::jwk::*;
}
pub use decision::respond::{ErrorResponder, Grpc, ProblemJson, Rfc6750};
pub use middleware::{JwtAuth, JwtAuthLayer, ResponseFuture};
pub use sessions::JwtSessions;
pub use token::{
    Algorithm, Claims, ClaimsError, ClaimsErrorKind, CustomClaims, JwtKeys, KeySet, TokenKind,
};
