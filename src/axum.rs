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
use std::sync::{Mutex, PoisonError};

use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use axum_core::response::{IntoResponse, Response};
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::request::Parts;
use http::{HeaderValue, StatusCode};

use crate::issued::TokenPair;
use crate::token::{Claims, CustomClaims};

/// The claims types of the layers built in this process, for the rejection's message.
static LAYER_CLAIMS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// `Claims<C>`, with `C`'s full path.
fn claims_name<C>() -> String {
    format!("Claims<{}>", std::any::type_name::<C>())
}

/// Notes that a layer putting `Claims<C>` in requests exists.
pub(crate) fn register_layer<C>() {
    let name = claims_name::<C>();
    let mut names = LAYER_CLAIMS.lock().unwrap_or_else(PoisonError::into_inner);
    if !names.contains(&name) {
        names.push(name);
    }
}

/// The rejection of the [`Claims`] extractor when the request has none: the route is not behind
/// a [`JwtAuthLayer`](crate::JwtAuthLayer), or behind one of another claims type. A `500`, with
/// a body that says which: a server misconfiguration, never the client's fault.
#[derive(Debug, Clone)]
pub struct MissingClaims {
    wanted: String,
    layers: Vec<String>,
}

impl MissingClaims {
    fn of<C>() -> Self {
        let layers = LAYER_CLAIMS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        Self {
            wanted: claims_name::<C>(),
            layers,
        }
    }

    /// The type the handler asked for, as `Claims<path::to::C>`.
    #[must_use]
    pub fn wanted(&self) -> &str {
        &self.wanted
    }
}

impl fmt::Display for MissingClaims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "this handler asks for {}, but the request has none: ",
            self.wanted
        )?;
        let others: Vec<&str> = self
            .layers
            .iter()
            .map(String::as_str)
            .filter(|name| *name != self.wanted)
            .collect();
        match (self.layers.contains(&self.wanted), others.as_slice()) {
            (_, []) => f.write_str(
                "the route is not behind a JwtAuthLayer (add `.route_layer(sessions.layer())` \
                 after the routes it must protect)",
            ),
            (true, others) => write!(
                f,
                "the route is not behind a JwtAuthLayer of that type (layers of this process \
                 put {})",
                others.join(", ")
            ),
            (false, others) => write!(
                f,
                "the JwtAuthLayer in front of it puts {} in requests; build the sessions with \
                 `.claims::<…>()` of the type the handler asks for, or ask for that one",
                others.join(", ")
            ),
        }
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
        (StatusCode::INTERNAL_SERVER_ERROR, self.to_string()).into_response()
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

/// With the `oidc` feature: the claims a [`ResourceServer`](crate::oidc::ResourceServer)'s layer
/// verified. A route outside that layer is a `500` that says so.
#[cfg(feature = "oidc")]
impl<S: Send + Sync> FromRequestParts<S> for crate::oidc::AccessClaims {
    type Rejection = (StatusCode, &'static str);

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Self>().cloned().ok_or((
            StatusCode::INTERNAL_SERVER_ERROR,
            "no AccessClaims: the route is not behind a ResourceServer layer",
        ))
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
        use crate::middleware::{ErrorResponder, Rfc6750};
        ErrorResponder::<axum_core::body::Body>::respond(&Rfc6750, &self)
    }
}
