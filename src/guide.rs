//! Guides to the concerns that have no module of their own: frameworks, responses,
//! configuration, keys, observability, security, stability and the demo. The other guides live
//! with their code: [browsers](crate::cookie), [pair stores](crate::store), [resource servers](crate::oidc),
//! [framework adapters](crate::decision) and [the client](crate::client). Each page is documentation only, and its examples run as tests.
//!
//! ```
//! // The crate root's example, the shortest protected route:
//! use axum::{Router, routing::get};
//! use tower_jwt_auth::{Claims, JwtSessions};
//!
//! let sessions = JwtSessions::builder()
//!     .hs256_secret(b"an example secret of 32+ bytes!!")
//!     .build()?;
//! let app: Router = Router::new()
//!     .route("/me", get(|claims: Claims| async move { claims.subject().to_owned() }))
//!     .route_layer(sessions.layer());
//! # let _ = app;
//! # Ok::<(), tower_jwt_auth::ConfigError>(())
//! ```

#[doc = include_str!("docs/frameworks.md")]
pub mod frameworks {}

#[doc = include_str!("docs/responses.md")]
pub mod responses {}

#[doc = include_str!("docs/configuration.md")]
pub mod configuration {}

#[doc = include_str!("docs/keys.md")]
pub mod keys {}

#[doc = include_str!("docs/observability.md")]
pub mod observability {}

#[doc = include_str!("docs/security.md")]
pub mod security {}

#[doc = include_str!("docs/stability.md")]
pub mod stability {}

#[doc = include_str!("docs/demo.md")]
pub mod demo {}
