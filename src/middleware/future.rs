//! [`ResponseFuture`]: the response of [`JwtAuth`](super::JwtAuth).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::{HeaderName, HeaderValue, Request, Response};
use pin_project::pin_project;
use tower_service::Service;

use super::response::{ErrorResponder, refuse};
use crate::error::AuthError;
use crate::token::{Claims, CustomClaims};

/// The store's part of authenticating a request.
pub(crate) type AuthFuture<C> = Pin<Box<dyn Future<Output = Result<Grant<C>, AuthError>> + Send>>;

/// An authenticated request's claims, and the headers to add to its response.
pub(crate) struct Grant<C> {
    claims: Claims<C>,
    headers: Option<Vec<(HeaderName, HeaderValue)>>,
}

impl<C> Grant<C> {
    pub(crate) fn new(claims: Claims<C>, headers: Option<Vec<(HeaderName, HeaderValue)>>) -> Self {
        Self { claims, headers }
    }
}

/// Response future of [`JwtAuth`](super::JwtAuth): a refusal, the store's check followed by the
/// inner service, or the inner service alone.
#[pin_project]
pub struct ResponseFuture<Svc, ReqB, C, R>
where
    Svc: Service<Request<ReqB>>,
{
    #[pin]
    state: State<Svc, ReqB, C, R>,
}

// The request waits in place while the store answers; boxing it would cost an allocation.
#[allow(clippy::large_enum_variant)]
#[pin_project(project = StateProj)]
enum State<Svc, ReqB, C, R>
where
    Svc: Service<Request<ReqB>>,
{
    Refused {
        response: Option<Svc::Response>,
    },
    Authorizing {
        auth: AuthFuture<C>,
        inner: Option<Svc>,
        request: Option<Request<ReqB>>,
        responder: R,
    },
    Serving {
        #[pin]
        future: Svc::Future,
        headers: Option<Vec<(HeaderName, HeaderValue)>>,
    },
}

impl<Svc, ReqB, C, R> ResponseFuture<Svc, ReqB, C, R>
where
    Svc: Service<Request<ReqB>>,
{
    pub(crate) fn refused(response: Svc::Response) -> Self {
        let response = Some(response);
        Self {
            state: State::Refused { response },
        }
    }

    pub(crate) fn serving(
        future: Svc::Future,
        headers: Option<Vec<(HeaderName, HeaderValue)>>,
    ) -> Self {
        Self {
            state: State::Serving { future, headers },
        }
    }

    pub(crate) fn authorizing(
        auth: AuthFuture<C>,
        inner: Svc,
        request: Request<ReqB>,
        responder: R,
    ) -> Self {
        Self {
            state: State::Authorizing {
                auth,
                inner: Some(inner),
                request: Some(request),
                responder,
            },
        }
    }
}

impl<Svc, ReqB, C, R, ResB> Future for ResponseFuture<Svc, ReqB, C, R>
where
    Svc: Service<Request<ReqB>, Response = Response<ResB>>,
    C: CustomClaims,
    R: ErrorResponder<ResB>,
{
    type Output = Result<Response<ResB>, Svc::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.project().state;
        loop {
            match state.as_mut().project() {
                StateProj::Refused { response } => {
                    let response = response
                        .take()
                        .expect("ResponseFuture polled after completion");
                    return Poll::Ready(Ok(response));
                }
                StateProj::Authorizing {
                    auth,
                    inner,
                    request,
                    responder,
                } => match ready!(auth.as_mut().poll(cx)) {
                    Err(error) => {
                        let response = Some(refuse(responder, &error));
                        state.set(State::Refused { response });
                    }
                    Ok(Grant { claims, headers }) => {
                        let (Some(mut request), Some(mut inner)) = (request.take(), inner.take())
                        else {
                            unreachable!("ResponseFuture polled after completion");
                        };
                        request.extensions_mut().insert(claims);
                        let future = inner.call(request);
                        state.set(State::Serving { future, headers });
                    }
                },
                StateProj::Serving { future, headers } => {
                    let mut response = ready!(future.poll(cx))?;
                    if let Some(headers) = headers.take() {
                        let map = response.headers_mut();
                        for (name, value) in headers {
                            map.insert(name, value);
                        }
                    }
                    return Poll::Ready(Ok(response));
                }
            }
        }
    }
}

impl<Svc, ReqB, C, R> std::fmt::Debug for ResponseFuture<Svc, ReqB, C, R>
where
    Svc: Service<Request<ReqB>>,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &self.state {
            State::Refused { .. } => "Refused",
            State::Authorizing { .. } => "Authorizing",
            State::Serving { .. } => "Serving",
        };
        f.debug_struct("ResponseFuture")
            .field("state", &state)
            .finish()
    }
}
