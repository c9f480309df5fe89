//! [`JwtAuthLayer`]: adds JWT access/refresh authentication to any service.

use std::fmt;

use tower_layer::Layer;

use super::service::JwtAuth;
use crate::decision::Gate;
use crate::decision::respond::Rfc6750;
use crate::sessions::JwtSessions;

/// Wraps a service in [`JwtAuth`]. Made by [`JwtSessions::layer`](crate::JwtSessions::layer).
///
/// `C` is the type of the application claims, `R` the [`ErrorResponder`](crate::ErrorResponder)
/// that turns refusals into responses.
///
/// ```
/// use axum::{Extension, Router, routing::get};
/// use tower_jwt_auth::{Claims, JwtAuthLayer, JwtSessions};
///
/// async fn me(Extension(claims): Extension<Claims>) -> String {
///     claims.subject().to_owned()
/// }
///
/// let sessions = JwtSessions::builder()
///     .hs256_secret(b"an example secret of 32+ bytes!!")
///     .build()?;
/// let layer: JwtAuthLayer = sessions.layer();
/// let app: Router = Router::new()
///     .route("/me", get(me))
///     .layer(layer)
///     // Routes added after the layer are not behind it.
///     .route("/health", get(|| async { "ok" }));
/// # Ok::<(), tower_jwt_auth::ConfigError>(())
/// ```
#[must_use = "a layer does nothing until it wraps a service"]
pub struct JwtAuthLayer<C = (), R = Rfc6750> {
    gate: Gate<JwtSessions<C>>,
    responder: R,
    options: Options,
}

/// How a layer's responses are made, beyond what the [`Gate`] decides.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Options {
    /// A refusal's [`AuthError`](crate::AuthError) goes into its response's extensions.
    pub(crate) errors_in_extensions: bool,
}

impl<C> JwtAuthLayer<C> {
    pub(crate) fn new(gate: Gate<JwtSessions<C>>) -> Self {
        Self {
            gate,
            responder: Rfc6750,
            options: Options::default(),
        }
    }
}

impl<C, R> JwtAuthLayer<C, R> {
    /// Let requests without any credentials through, without claims in their extensions
    /// (default off). A token that is present but bad is still refused.
    pub fn allow_anonymous(mut self, allow: bool) -> Self {
        self.gate = self.gate.allow_anonymous(allow);
        self
    }

    /// Put each refusal's [`AuthError`](crate::AuthError) in its response's extensions, for the
    /// layers outside this one (default off). Off, a refusal allocates nothing beyond its
    /// response; on, it costs an extensions map (about 250 ns on the machines this crate is
    /// measured on), paid by forged tokens too.
    pub fn errors_in_extensions(mut self, on: bool) -> Self {
        self.options.errors_in_extensions = on;
        self
    }

    /// Replace how refusals become responses (see [`ErrorResponder`](crate::ErrorResponder)).
    /// A gRPC call still gets the [`Grpc`](crate::Grpc) answer unless `responder` implements
    /// [`respond_grpc`](crate::ErrorResponder::respond_grpc).
    pub fn on_error<R2>(self, responder: R2) -> JwtAuthLayer<C, R2> {
        JwtAuthLayer {
            gate: self.gate,
            responder,
            options: self.options,
        }
    }
}

impl<C, R: Clone> Clone for JwtAuthLayer<C, R> {
    fn clone(&self) -> Self {
        Self {
            gate: self.gate.clone(),
            responder: self.responder.clone(),
            options: self.options,
        }
    }
}

impl<C, R> fmt::Debug for JwtAuthLayer<C, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtAuthLayer")
            .field("gate", &self.gate)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl<S, C, R: Clone> Layer<S> for JwtAuthLayer<C, R> {
    type Service = JwtAuth<S, C, R>;

    fn layer(&self, inner: S) -> Self::Service {
        JwtAuth::new(
            inner,
            self.gate.clone(),
            self.responder.clone(),
            self.options,
        )
    }
}
