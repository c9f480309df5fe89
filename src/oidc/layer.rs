//! [`ResourceServerLayer`] and the service it makes, [`ResourceServerAuth`].

use std::fmt;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use super::claims::AccessClaims;
use super::server::{ResourceServer, Verification};
use crate::credentials::bearer;
use crate::error::{AuthError, AuthErrorKind};
use crate::middleware::{ErrorResponder, ResponseFuture, Rfc6750};
use crate::middleware::{Grant, Options, Refusal, refuse};
use crate::observe::{self, RequestOutcome};

/// Verifies `Authorization: Bearer` with a [`ResourceServer`] and puts the token's
/// [`AccessClaims`] in the request's extensions. Refusals go through the
/// [`ErrorResponder`] (`401` with an RFC 6750 challenge; `503` with `Retry-After` while the keys
/// have not arrived; gRPC statuses under gRPC). Made by [`ResourceServer::layer`].
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
    server: ResourceServer,
    responder: R,
    options: Options,
}

impl ResourceServerLayer {
    pub(crate) fn new(server: ResourceServer) -> Self {
        Self {
            server,
            responder: Rfc6750,
            options: Options::default(),
        }
    }
}

impl<R> ResourceServerLayer<R> {
    /// Let requests without a bearer token through, without claims (default off).
    pub fn allow_anonymous(mut self, allow: bool) -> Self {
        self.options.allow_anonymous = allow;
        self
    }

    /// Replace how refusals become responses.
    pub fn on_error<R2>(self, responder: R2) -> ResourceServerLayer<R2> {
        ResourceServerLayer {
            server: self.server,
            responder,
            options: self.options,
        }
    }
}

impl<R> fmt::Debug for ResourceServerLayer<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResourceServerLayer")
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

impl<S, R: Clone> Layer<S> for ResourceServerLayer<R> {
    type Service = ResourceServerAuth<S, R>;

    fn layer(&self, inner: S) -> Self::Service {
        ResourceServerAuth {
            inner,
            server: self.server.clone(),
            responder: self.responder.clone(),
            options: self.options,
        }
    }
}

/// The service of a [`ResourceServerLayer`].
#[derive(Clone)]
pub struct ResourceServerAuth<S, R = Rfc6750> {
    inner: S,
    server: ResourceServer,
    responder: R,
    options: Options,
}

impl<S: fmt::Debug, R> fmt::Debug for ResourceServerAuth<S, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResourceServerAuth")
            .field("inner", &self.inner)
            .field("server", &self.server)
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

    fn call(&mut self, mut request: Request<ReqB>) -> Self::Future {
        let refused = |error: &AuthError, request: &Request<ReqB>| {
            let how = Refusal::of(request.headers(), self.options);
            ResponseFuture::refused(refuse(&self.responder, error, how))
        };
        let token = match bearer(request.headers()) {
            Ok(Some(token)) => token,
            Ok(None) if self.options.allow_anonymous => {
                observe::served(RequestOutcome::Anonymous);
                return ResponseFuture::serving(self.inner.call(request));
            }
            Ok(None) => {
                return refused(&AuthError::new(AuthErrorKind::MissingCredentials), &request);
            }
            Err(error) => return refused(&error, &request),
        };
        match self.server.verify_now(token) {
            Verification::Done(Ok(claims)) => {
                observe::served(RequestOutcome::Accepted);
                request.extensions_mut().insert(claims);
                ResponseFuture::serving(self.inner.call(request))
            }
            Verification::Done(Err(error)) => refused(&error, &request),
            Verification::UnknownKid(keys, seen) => {
                let (server, token) = (self.server.clone(), token.to_owned());
                let verify = Box::pin(async move {
                    keys.refetch_for_unknown_kid(seen).await;
                    server
                        .verify_after_refetch(&token)
                        .map(|claims| Grant::new(claims, None))
                });
                // The service poll_ready readied goes into the future; a clone stays.
                let clone = self.inner.clone();
                let inner = std::mem::replace(&mut self.inner, clone);
                let responder = self.responder.clone();
                ResponseFuture::authorizing(verify, inner, request, responder, self.options)
            }
        }
    }
}
