//! With the `axum` feature: [`Claims`] as an axum extractor, required or optional, and a
//! [`TokenPair`] as a login route's response (RFC 6749 §5.1 JSON with `Cache-Control:
//! no-store`).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use axum::{Router, body::Body, routing::get};
//! use http::Request;
//! use tower::ServiceExt;
//! use tower_jwt_auth::{Claims, JwtSessions};
//!
//! async fn me(claims: Claims) -> String {
//!     claims.subject().to_owned()
//! }
//!
//! async fn greeting(claims: Option<Claims>) -> String {
//!     match claims {
//!         Some(claims) => format!("hello {}", claims.subject()),
//!         None => "hello stranger".to_owned(),
//!     }
//! }
//!
//! let sessions = JwtSessions::builder()
//!     .hs256_secret(b"an example secret of 32+ bytes!!")
//!     .build()?;
//! let app = Router::new()
//!     .route("/me", get(me))
//!     .route_layer(sessions.layer())
//!     .merge(
//!         Router::new()
//!             .route("/greeting", get(greeting))
//!             .route_layer(sessions.layer().allow_anonymous(true)),
//!     );
//!
//! let anonymous = Request::get("/greeting").body(Body::empty())?;
//! assert_eq!(app.clone().oneshot(anonymous).await?.status(), 200);
//! let pair = sessions.issue("alice", ()).await?;
//! let me = Request::get("/me")
//!     .header("authorization", format!("Bearer {}", pair.access_token()))
//!     .body(Body::empty())?;
//! assert_eq!(app.oneshot(me).await?.status(), 200);
//! # Ok(()) }
//! ```

use std::convert::Infallible;
use std::fmt;

use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use axum_core::response::{IntoResponse, Response};
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::request::Parts;
use http::{HeaderValue, StatusCode};

use crate::issued::TokenPair;
use crate::token::{Claims, CustomClaims};

/// The rejection of the [`Claims`] extractor when the request has none: the route is not behind
/// a [`JwtAuthLayer`](crate::JwtAuthLayer), or behind one that puts claims of another type in
/// requests. A `500` whose body names the type the handler asked for: a server
/// misconfiguration, never the client's fault.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use axum::extract::FromRequestParts;
/// use tower_jwt_auth::Claims;
///
/// // A request no layer has seen.
/// let (mut parts, ()) = http::Request::new(()).into_parts();
/// let rejection = <Claims as FromRequestParts<()>>::from_request_parts(&mut parts, &())
///     .await
///     .unwrap_err();
/// assert_eq!(rejection.status(), 500);
/// assert_eq!(rejection.wanted(), "Claims<()>");
/// assert!(rejection.body_text().starts_with("Missing claims: `Claims<()>` was not found"));
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct MissingClaims {
    wanted: String,
}

impl MissingClaims {
    fn of<C>() -> Self {
        Self {
            wanted: format!("Claims<{}>", std::any::type_name::<C>()),
        }
    }

    /// The type the handler asked for, as `Claims<path::to::C>`.
    #[must_use]
    pub fn wanted(&self) -> &str {
        &self.wanted
    }

    /// The status of the rejection's response: `500 Internal Server Error`.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        StatusCode::INTERNAL_SERVER_ERROR
    }

    /// The body of the rejection's response: the type that was missing, and the likely causes.
    #[must_use]
    pub fn body_text(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for MissingClaims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Missing claims: `{}` was not found in the request. Perhaps the route is not behind \
             a JwtAuthLayer (add `.route_layer(sessions.layer())` after the routes it must \
             protect), or the layer in front of it was built with another claims type (build \
             the sessions with `.claims::<…>()` of the type the handler asks for, or ask for \
             that one).",
            self.wanted
        )
    }
}

impl std::error::Error for MissingClaims {}

/// The body of a login response: `200` with the pair as RFC 6749 §5.1 JSON, and
/// `Cache-Control: no-store`, since it carries tokens.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use axum::response::IntoResponse;
/// use tower_jwt_auth::JwtSessions;
///
/// let sessions = JwtSessions::builder()
///     .hs256_secret(b"an example secret of 32+ bytes!!")
///     .build()?;
/// let response = sessions.issue("alice", ()).await?.into_response();
/// assert_eq!(response.status(), 200);
/// assert_eq!(response.headers()["content-type"], "application/json");
/// assert_eq!(response.headers()["cache-control"], "no-store");
/// # Ok(()) }
/// ```
impl IntoResponse for TokenPair {
    fn into_response(self) -> Response {
        match serde_json::to_vec(&self) {
            Ok(json) => (
                [
                    (CONTENT_TYPE, HeaderValue::from_static("application/json")),
                    (CACHE_CONTROL, HeaderValue::from_static("no-store")),
                ],
                json,
            )
                .into_response(),
            Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        }
    }
}

impl IntoResponse for MissingClaims {
    fn into_response(self) -> Response {
        tracing::error!(error = %self, "a handler asked for claims the request does not have");
        (self.status(), self.body_text()).into_response()
    }
}

impl<S, C> FromRequestParts<S> for Claims<C>
where
    S: Send + Sync,
    C: CustomClaims,
{
    type Rejection = MissingClaims;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Self>()
            .cloned()
            .ok_or_else(MissingClaims::of::<C>)
    }
}

/// `Option<Claims<C>>`: `None` for a request the layer let through without credentials
/// ([`allow_anonymous`](crate::JwtAuthLayer::allow_anonymous)).
impl<S, C> OptionalFromRequestParts<S> for Claims<C>
where
    S: Send + Sync,
    C: CustomClaims,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<Self>().cloned())
    }
}

/// With the `oidc` feature: the rejection of the [`AccessClaims`](crate::oidc::AccessClaims)
/// extractor when the request has none: the route is not behind a
/// [`ResourceServer`](crate::oidc::ResourceServer)'s layer. A `500` that says so: a server
/// misconfiguration, never the client's fault.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use axum::extract::FromRequestParts;
/// use tower_jwt_auth::oidc::AccessClaims;
///
/// // A request no layer has seen.
/// let (mut parts, ()) = http::Request::new(()).into_parts();
/// let rejection = <AccessClaims as FromRequestParts<()>>::from_request_parts(&mut parts, &())
///     .await
///     .unwrap_err();
/// assert_eq!(rejection.status(), 500);
/// assert!(rejection.body_text().contains("not behind a ResourceServer's layer"));
/// # }
/// ```
#[cfg(feature = "oidc")]
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct MissingAccessClaims;

#[cfg(feature = "oidc")]
impl MissingAccessClaims {
    /// The status of the rejection's response: `500 Internal Server Error`.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        StatusCode::INTERNAL_SERVER_ERROR
    }

    /// The body of the rejection's response: what was missing, and the likely cause.
    #[must_use]
    pub fn body_text(&self) -> String {
        self.to_string()
    }
}

#[cfg(feature = "oidc")]
impl fmt::Display for MissingAccessClaims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "Missing claims: `AccessClaims` was not found in the request. Perhaps the route is \
             not behind a ResourceServer's layer (add `.route_layer(server.layer())` after the \
             routes it must protect).",
        )
    }
}

#[cfg(feature = "oidc")]
impl std::error::Error for MissingAccessClaims {}

#[cfg(feature = "oidc")]
impl IntoResponse for MissingAccessClaims {
    fn into_response(self) -> Response {
        tracing::error!(error = %self, "a handler asked for claims the request does not have");
        (self.status(), self.body_text()).into_response()
    }
}

/// With the `oidc` feature: the claims a [`ResourceServer`](crate::oidc::ResourceServer)'s layer
/// verified. A route outside that layer is a `500` that says so ([`MissingAccessClaims`]).
#[cfg(feature = "oidc")]
impl<S: Send + Sync> FromRequestParts<S> for crate::oidc::AccessClaims {
    type Rejection = MissingAccessClaims;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Self>()
            .cloned()
            .ok_or(MissingAccessClaims)
    }
}

/// With the `oidc` feature: `Option<AccessClaims>`, `None` for a request let through without a
/// token ([`allow_anonymous`](crate::oidc::ResourceServerLayer::allow_anonymous)).
#[cfg(feature = "oidc")]
impl<S: Send + Sync> OptionalFromRequestParts<S> for crate::oidc::AccessClaims {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<Self>().cloned())
    }
}

/// An [`AuthError`](crate::AuthError) answered as the layer's default responder answers it: its
/// status, its RFC 6750 challenge, and `Retry-After` on a `503`. For checks in a handler, such as
/// [`Requirement::check`](crate::oidc::Requirement::check) (whose own
/// [`challenge`](crate::oidc::Requirement::challenge) also names the scopes).
impl IntoResponse for crate::AuthError {
    fn into_response(self) -> Response {
        use crate::{ErrorResponder, Rfc6750};
        ErrorResponder::<axum_core::body::Body>::respond(&Rfc6750, &self)
    }
}
