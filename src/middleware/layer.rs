//! [`JwtAuthLayer`]: adds JWT access/refresh authentication to any service.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use tower_layer::Layer;

use super::response::Rfc6750;
use super::service::JwtAuth;
use crate::engine::Engine;

/// Wraps a service in [`JwtAuth`]. Made by [`JwtSessions::layer`](crate::JwtSessions::layer).
///
/// `C` is the type of the application claims, `R` the [`ErrorResponder`](super::ErrorResponder)
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
    engine: Arc<Engine>,
    responder: R,
    options: Options,
    claims: PhantomData<fn() -> C>,
}

/// The layer's switches, shared with the services it makes.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Options {
    pub(crate) allow_anonymous: bool,
    pub(crate) errors_in_extensions: bool,
}

impl<C> JwtAuthLayer<C> {
    pub(crate) fn from_engine(engine: Arc<Engine>) -> Self {
        Self {
            engine,
            responder: Rfc6750,
            options: Options::default(),
            claims: PhantomData,
        }
    }
}

impl<C, R> JwtAuthLayer<C, R> {
    /// Let requests without any credentials through, without claims in their extensions
    /// (default off). A token that is present but bad is still refused.
    pub fn allow_anonymous(mut self, allow: bool) -> Self {
        self.options.allow_anonymous = allow;
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

    /// Replace how refusals become responses (see [`ErrorResponder`](super::ErrorResponder)).
    /// A gRPC call still gets the [`Grpc`](super::Grpc) answer unless `responder` implements
    /// [`respond_grpc`](super::ErrorResponder::respond_grpc).
    pub fn on_error<R2>(self, responder: R2) -> JwtAuthLayer<C, R2> {
        JwtAuthLayer {
            engine: self.engine,
            responder,
            options: self.options,
            claims: PhantomData,
        }
    }
}

impl<C, R: Clone> Clone for JwtAuthLayer<C, R> {
    fn clone(&self) -> Self {
        Self {
            engine: self.engine.clone(),
            responder: self.responder.clone(),
            options: self.options,
            claims: PhantomData,
        }
    }
}

impl<C, R> fmt::Debug for JwtAuthLayer<C, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtAuthLayer")
            .field("engine", &self.engine)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl<S, C, R: Clone> Layer<S> for JwtAuthLayer<C, R> {
    type Service = JwtAuth<S, C, R>;

    fn layer(&self, inner: S) -> Self::Service {
        JwtAuth::new(
            inner,
            self.engine.clone(),
            self.responder.clone(),
            self.options,
        )
    }
}
