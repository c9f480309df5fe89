//! [`ResourceServerLayer`] and the service it makes, [`ResourceServerAuth`].

use std::fmt;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use super::claims::AccessClaims;
use super::server::ResourceServer;
use crate::decision::{Gate, RequestHead};
use crate::middleware::{Options, ResponseFuture};
use crate::{ErrorResponder, Rfc6750};

/// Verifies `Authorization: Bearer` with a [`ResourceServer`] and puts the token's
/// [`AccessClaims`] in the request's extensions. Refusals go through the
/// [`ErrorResponder`] (`401` with an RFC 6750 challenge; `503` with `Retry-After` while the keys
/// have not arrived; gRPC statuses under gRPC). Made by [`ResourceServer::layer`]; it carries
/// out what the server's [`Gate`] decides.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use axum::{Router, body::Body, routing::get};
/// use http::Request;
/// use tower::ServiceExt;
/// use tower_jwt_auth::oidc::{AccessClaims, Issuer, RemoteKeys, ResourceServer};
/// # let issuing = tower_jwt_auth::JwtSessions::builder().keys(tower_jwt_auth::JwtKeys::from_pem(
/// #     tower_jwt_auth::Algorithm::EdDSA,
/// #     &std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/keys/ed25519.pem"))?,
/// #     &std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/keys/ed25519.pub.pem"))?,
/// # )?).build()?;
/// # let jwks = issuing.jwks();
///
/// // Keys given once here; `RemoteKeys::discover` or `RemoteKeys::jwks` fetch them.
/// let server = ResourceServer::builder()
///     .issuer(Issuer::any(RemoteKeys::from_jwk_set(&jwks)?))
///     .build()?;
/// let app = Router::new()
///     .route("/", get(|claims: Option<AccessClaims>| async move { format!("{:?}", claims.is_some()) }))
///     .layer(server.layer().allow_anonymous(true));
/// let response = app.oneshot(Request::new(Body::empty())).await?;
/// assert_eq!(response.status(), 200); // no token: let through, without claims
/// # Ok(()) }
/// ```
#[must_use = "a layer does nothing until it wraps a service"]
#[derive(Clone)]
pub struct ResourceServerLayer<R = Rfc6750> {
    gate: Gate<ResourceServer>,
    responder: R,
}

impl ResourceServerLayer {
    pub(crate) fn new(server: ResourceServer) -> Self {
        Self {
            gate: Gate::new(server),
            responder: Rfc6750,
        }
    }
}

impl<R> ResourceServerLayer<R> {
    /// Let requests without a bearer token through, without claims (default off).
    pub fn allow_anonymous(mut self, allow: bool) -> Self {
        self.gate = self.gate.allow_anonymous(allow);
        self
    }

    /// Replace how refusals become responses.
    pub fn on_error<R2>(self, responder: R2) -> ResourceServerLayer<R2> {
        ResourceServerLayer {
            gate: self.gate,
            responder,
        }
    }
}

impl<R> fmt::Debug for ResourceServerLayer<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResourceServerLayer")
            .field("gate", &self.gate)
            .finish_non_exhaustive()
    }
}

impl<S, R: Clone> Layer<S> for ResourceServerLayer<R> {
    type Service = ResourceServerAuth<S, R>;

    fn layer(&self, inner: S) -> Self::Service {
        ResourceServerAuth {
            inner,
            gate: self.gate.clone(),
            responder: self.responder.clone(),
        }
    }
}

/// The service of a [`ResourceServerLayer`].
#[derive(Clone)]
pub struct ResourceServerAuth<S, R = Rfc6750> {
    inner: S,
    gate: Gate<ResourceServer>,
    responder: R,
}

impl<S: fmt::Debug, R> fmt::Debug for ResourceServerAuth<S, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResourceServerAuth")
            .field("inner", &self.inner)
            .field("gate", &self.gate)
            .finish_non_exhaustive()
    }
}

impl<S, R, ReqB, ResB> Service<Request<ReqB>> for ResourceServerAuth<S, R>
where
    S: Service<Request<ReqB>, Response = Response<ResB>> + Clone,
    ResB: Default,
    R: ErrorResponder<ResB>,
{
    type Response = Response<ResB>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqB, AccessClaims, R>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqB>) -> Self::Future {
        let deciding = self.gate.decide_now(RequestHead::from(&request));
        let options = Options::default();
        ResponseFuture::new(deciding, &mut self.inner, request, &self.responder, options)
    }
}
