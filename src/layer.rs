//! [`JwtAuthLayer`]: adds JWT access/refresh authentication to any service.

use std::fmt;

use tower_layer::Layer;

use crate::response::Rfc6750;
use crate::service::JwtAuth;
use crate::sessions::JwtSessions;
use crate::store::MemoryStore;

/// Wraps a service in [`JwtAuth`]. Made by [`JwtSessions::layer`].
///
/// ```
/// use axum::{Extension, Router, routing::get};
/// use tower_jwt_auth::{Claims, JwtSessions, MemoryStore};
///
/// async fn me(Extension(claims): Extension<Claims>) -> String {
///     claims.subject().to_owned()
/// }
///
/// let sessions = JwtSessions::<MemoryStore>::builder()
///     .hs256_secret(b"an example secret of 32+ bytes!!")
///     .build()?;
/// let app: Router = Router::new()
///     .route("/me", get(me))
///     .layer(sessions.layer())
///     // Routes added after the layer are not behind it.
///     .route("/health", get(|| async { "ok" }));
/// # Ok::<(), tower_jwt_auth::ConfigError>(())
/// ```
pub struct JwtAuthLayer<S = MemoryStore, C = (), R = Rfc6750> {
    sessions: JwtSessions<S, C>,
    responder: R,
    allow_anonymous: bool,
}

impl<S, C> JwtAuthLayer<S, C> {
    /// A layer authenticating with `sessions`, answering refusals per RFC 6750.
    pub fn new(sessions: JwtSessions<S, C>) -> Self {
        Self {
            sessions,
            responder: Rfc6750,
            allow_anonymous: false,
        }
    }
}

impl<S, C, R> JwtAuthLayer<S, C, R> {
    /// Let requests without any credentials through, without claims in their extensions
    /// (default off). A token that is present but bad is still refused.
    pub fn allow_anonymous(mut self, allow: bool) -> Self {
        self.allow_anonymous = allow;
        self
    }

    /// Replace how refusals become responses (see [`ErrorResponder`](crate::ErrorResponder)).
    pub fn on_error<R2>(self, responder: R2) -> JwtAuthLayer<S, C, R2> {
        JwtAuthLayer {
            sessions: self.sessions,
            responder,
            allow_anonymous: self.allow_anonymous,
        }
    }
}

impl<S, C, R: Clone> Clone for JwtAuthLayer<S, C, R> {
    fn clone(&self) -> Self {
        Self {
            sessions: self.sessions.clone(),
            responder: self.responder.clone(),
            allow_anonymous: self.allow_anonymous,
        }
    }
}

impl<S, C, R> fmt::Debug for JwtAuthLayer<S, C, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtAuthLayer")
            .field("sessions", &self.sessions)
            .field("allow_anonymous", &self.allow_anonymous)
            .finish_non_exhaustive()
    }
}

impl<Svc, S, C, R: Clone> Layer<Svc> for JwtAuthLayer<S, C, R> {
    type Service = JwtAuth<Svc, S, C, R>;

    fn layer(&self, inner: Svc) -> Self::Service {
        JwtAuth::new(
            inner,
            self.sessions.clone(),
            self.responder.clone(),
            self.allow_anonymous,
        )
    }
}
