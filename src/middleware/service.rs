//! [`JwtAuth`]: the middleware service, an adapter of the [`Gate`] to tower.

use std::fmt;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_service::Service;

use super::future::ResponseFuture;
use super::layer::Options;
use crate::decision::respond::{ErrorResponder, Rfc6750};
use crate::decision::{Gate, RequestHead};
use crate::sessions::JwtSessions;
use crate::token::{Claims, CustomClaims};

/// Authenticates each request before it reaches the inner service.
///
/// - `Authorization: Bearer <access>`, valid and (with the pair check) current in the store: the
///   inner service is called with [`Claims<C>`](Claims) in the request extensions (S3, T1).
/// - A refresh header (`x-refresh-token` by default) alone, or beside an access token that has
///   **expired**: the refresh token is checked, a new access token is minted and the request is
///   served with its claims; the new token comes back in `x-access-token` with
///   `Cache-Control: no-store` (S6, S7). A valid access token always wins, so clients that send
///   both headers never refresh needlessly (and never trip the theft rule); beside one, the
///   refresh header is not even read. Both tokens must name one session, or the request is
///   `400`.
/// - In cookie mode the same tokens may come in cookies instead; a refresh a cookie carried is
///   answered with `Set-Cookie`, and an unsafe request that carries a cookie credential from
///   another origin is `403` (see [`CookieSettings`](crate::cookie::CookieSettings)).
/// - Anything else is refused through the [`ErrorResponder`] (its
///   [`respond_grpc`](ErrorResponder::respond_grpc) for a gRPC call) without calling the inner
///   service.
///
/// Every rule above is the [`Gate`]'s (see [framework adapters](crate::decision)): this service
/// carries out its decision. Made by [`JwtAuthLayer`](super::JwtAuthLayer).
pub struct JwtAuth<S, C = (), R = Rfc6750> {
    inner: S,
    gate: Gate<JwtSessions<C>>,
    responder: R,
    options: Options,
}

impl<S, C, R> JwtAuth<S, C, R> {
    pub(crate) fn new(
        inner: S,
        gate: Gate<JwtSessions<C>>,
        responder: R,
        options: Options,
    ) -> Self {
        Self {
            inner,
            gate,
            responder,
            options,
        }
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The wrapped service, taken out.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: Clone, C, R: Clone> Clone for JwtAuth<S, C, R> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            gate: self.gate.clone(),
            responder: self.responder.clone(),
            options: self.options,
        }
    }
}

impl<S: fmt::Debug, C, R> fmt::Debug for JwtAuth<S, C, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtAuth")
            .field("inner", &self.inner)
            .field("gate", &self.gate)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl<S, C, R, ReqB, ResB> Service<Request<ReqB>> for JwtAuth<S, C, R>
where
    S: Service<Request<ReqB>, Response = Response<ResB>> + Clone,
    ResB: Default,
    C: CustomClaims,
    R: ErrorResponder<ResB>,
{
    type Response = Response<ResB>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqB, Claims<C>, R>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqB>) -> Self::Future {
        let deciding = self.gate.decide_now(RequestHead::from(&request));
        ResponseFuture::new(
            deciding,
            &mut self.inner,
            request,
            &self.responder,
            self.options,
        )
    }
}
