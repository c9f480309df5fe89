//! [`ResponseFuture`]: the response of [`JwtAuth`](super::JwtAuth).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use http::header::{CACHE_CONTROL, SET_COOKIE};
use http::{HeaderName, HeaderValue, Request, Response};
use pin_project::pin_project;
use tower_service::Service;

use super::layer::Options;
use super::response::{ErrorResponder, Refusal, refuse};
use crate::engine::Engine;
use crate::error::AuthError;
use crate::id::{SessionId, TokenId};
use crate::observe::{self, RequestOutcome};
use crate::store::{AccessCheck, StoreError};

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// The asynchronous part of authenticating a request (the store's, or a key fetch).
pub(crate) type AuthFuture<T> = BoxFuture<Result<Grant<T>, AuthError>>;

/// An authenticated request's claims and, after a refresh, the tokens for its response.
pub(crate) struct Grant<T> {
    claims: T,
    minted: Option<Minted>,
}

impl<T> Grant<T> {
    pub(crate) fn new(claims: T, minted: Option<Minted>) -> Self {
        Self { claims, minted }
    }
}

/// Tokens a refresh minted, held back until the inner service has answered: a request that
/// ends its own session (a logout that came with a refresh) must not carry a fresh token of it
/// out.
pub(crate) struct Minted {
    headers: Vec<(HeaderName, HeaderValue)>,
    engine: Arc<Engine>,
    sid: SessionId,
    jti: TokenId,
    now: u64,
}

impl Minted {
    pub(crate) fn new(
        headers: Vec<(HeaderName, HeaderValue)>,
        engine: Arc<Engine>,
        sid: SessionId,
        jti: TokenId,
        now: u64,
    ) -> Self {
        Self {
            headers,
            engine,
            sid,
            jti,
            now,
        }
    }

    /// Whether the session is still there to hand its tokens to: anything but a revoked or
    /// ended session. A store that fails now does not take back what it granted.
    fn still_live(check: &Result<AccessCheck, StoreError>) -> bool {
        !matches!(check, Ok(AccessCheck::Revoked | AccessCheck::Unknown))
    }

    /// Adds the tokens to `response` if the session is still live; the `Cache-Control:
    /// no-store` that came with them stays either way. Cookies join any the inner service set.
    fn attach<B>(self, response: &mut Response<B>, live: bool) {
        let map = response.headers_mut();
        for (name, value) in self.headers {
            if name == SET_COOKIE {
                if live {
                    map.append(name, value);
                }
            } else if live || name == CACHE_CONTROL {
                map.insert(name, value);
            }
        }
    }
}

/// Response future of [`JwtAuth`](super::JwtAuth): a refusal, the store's check followed by the
/// inner service, or the inner service alone. `T` is what goes into the request's extensions
/// ([`Claims<C>`](crate::Claims) for `JwtAuth`).
#[pin_project]
pub struct ResponseFuture<S, ReqB, T, R>
where
    S: Service<Request<ReqB>>,
{
    #[pin]
    state: State<S, ReqB, T, R>,
}

// The request waits in place while the store answers; boxing it would cost an allocation.
#[pin_project(project = StateProj)]
enum State<S, ReqB, T, R>
where
    S: Service<Request<ReqB>>,
{
    Refused {
        response: Option<S::Response>,
    },
    Authorizing {
        auth: AuthFuture<T>,
        inner: Option<S>,
        request: Option<Request<ReqB>>,
        responder: R,
        /// How a refusal is answered.
        how: Refusal,
    },
    Serving {
        #[pin]
        future: S::Future,
        minted: Option<Minted>,
    },
    /// The inner service has answered a request that refreshed; the store is asked whether the
    /// session is still live before the new tokens go out.
    Confirming {
        check: BoxFuture<Result<AccessCheck, StoreError>>,
        response: Option<S::Response>,
        minted: Option<Minted>,
    },
}

impl<S, ReqB, T, R> ResponseFuture<S, ReqB, T, R>
where
    S: Service<Request<ReqB>>,
{
    pub(crate) fn refused(response: S::Response) -> Self {
        let response = Some(response);
        Self {
            state: State::Refused { response },
        }
    }

    pub(crate) fn serving(future: S::Future) -> Self {
        Self {
            state: State::Serving {
                future,
                minted: None,
            },
        }
    }

    pub(crate) fn authorizing(
        auth: AuthFuture<T>,
        inner: S,
        request: Request<ReqB>,
        responder: R,
        options: Options,
    ) -> Self {
        let how = Refusal::of(request.headers(), options);
        Self {
            state: State::Authorizing {
                auth,
                inner: Some(inner),
                request: Some(request),
                responder,
                how,
            },
        }
    }
}

impl<S, ReqB, T, R, ResB> Future for ResponseFuture<S, ReqB, T, R>
where
    S: Service<Request<ReqB>, Response = Response<ResB>>,
    ResB: Default,
    T: Clone + Send + Sync + 'static,
    R: ErrorResponder<ResB>,
{
    type Output = Result<Response<ResB>, S::Error>;

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
                    how,
                } => match ready!(auth.as_mut().poll(cx)) {
                    Err(error) => {
                        let response = Some(refuse(responder, &error, *how));
                        state.set(State::Refused { response });
                    }
                    Ok(Grant { claims, minted }) => {
                        let (Some(mut request), Some(mut inner)) = (request.take(), inner.take())
                        else {
                            unreachable!("ResponseFuture polled after completion");
                        };
                        observe::served(match minted {
                            Some(_) => RequestOutcome::Refreshed,
                            None => RequestOutcome::Accepted,
                        });
                        request.extensions_mut().insert(claims);
                        let future = inner.call(request);
                        state.set(State::Serving { future, minted });
                    }
                },
                StateProj::Serving { future, minted } => {
                    let mut response = ready!(future.poll(cx))?;
                    let Some(minted) = minted.take() else {
                        return Poll::Ready(Ok(response));
                    };
                    let store = minted.engine.store();
                    if let Some(check) = store.check_access_now(minted.sid, minted.jti, minted.now)
                    {
                        minted.attach(&mut response, Minted::still_live(&check));
                        return Poll::Ready(Ok(response));
                    }
                    let (engine, sid, jti, now) =
                        (minted.engine.clone(), minted.sid, minted.jti, minted.now);
                    let check =
                        Box::pin(async move { engine.store().check_access(sid, jti, now).await });
                    state.set(State::Confirming {
                        check,
                        response: Some(response),
                        minted: Some(minted),
                    });
                }
                StateProj::Confirming {
                    check,
                    response,
                    minted,
                } => {
                    let live = Minted::still_live(&ready!(check.as_mut().poll(cx)));
                    let (Some(mut response), Some(minted)) = (response.take(), minted.take())
                    else {
                        unreachable!("ResponseFuture polled after completion");
                    };
                    minted.attach(&mut response, live);
                    return Poll::Ready(Ok(response));
                }
            }
        }
    }
}

impl<S, ReqB, T, R> std::fmt::Debug for ResponseFuture<S, ReqB, T, R>
where
    S: Service<Request<ReqB>>,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &self.state {
            State::Refused { .. } => "Refused",
            State::Authorizing { .. } => "Authorizing",
            State::Serving { .. } => "Serving",
            State::Confirming { .. } => "Confirming",
        };
        f.debug_struct("ResponseFuture")
            .field("state", &state)
            .finish()
    }
}
