//! [`ResponseFuture`]: the response of [`JwtAuth`](super::JwtAuth), a [`Decision`] carried out.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::{Request, Response};
use pin_project::pin_project;
use tower_service::Service;

use super::layer::Options;
use crate::decision::respond::ErrorResponder;
use crate::decision::{Completion, Deciding, Decision, DecisionFuture, PendingCompletion, Refusal};

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

#[expect(
    clippy::large_enum_variant,
    reason = "the request waits in place while the store answers; boxing it would cost an allocation"
)]
#[pin_project(project = StateProj)]
enum State<S, ReqB, T, R>
where
    S: Service<Request<ReqB>>,
{
    Refused {
        response: Option<S::Response>,
    },
    Deciding {
        decision: DecisionFuture<T>,
        inner: Option<S>,
        request: Option<Request<ReqB>>,
        responder: R,
        options: Options,
    },
    Serving {
        #[pin]
        future: S::Future,
        completion: Completion,
    },
    /// The inner service has answered a request that refreshed; the store is asked whether the
    /// session is still live before the new tokens go out.
    Completing {
        pending: PendingCompletion,
        response: Option<S::Response>,
    },
}

/// For the layers that decide without a gate (the scope requirement).
#[cfg(feature = "oidc")]
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
                completion: Completion::none(),
            },
        }
    }
}

impl<S, ReqB, T, R, ResB> ResponseFuture<S, ReqB, T, R>
where
    S: Service<Request<ReqB>, Response = Response<ResB>> + Clone,
    ResB: Default,
    T: Clone + Send + Sync + 'static,
    R: ErrorResponder<ResB>,
{
    /// Carries out what a gate decided about `request`: a decision reached at once calls
    /// `inner` in place; one to come takes the service `poll_ready` readied into the future,
    /// and leaves a clone.
    #[inline]
    pub(crate) fn new(
        deciding: Deciding<T>,
        inner: &mut S,
        request: Request<ReqB>,
        responder: &R,
        options: Options,
    ) -> Self {
        let state = match deciding {
            Deciding::Ready(decision) => carry_out(decision, inner, request, responder, options),
            Deciding::Pending(decision) => {
                let clone = inner.clone();
                State::Deciding {
                    decision,
                    inner: Some(std::mem::replace(inner, clone)),
                    request: Some(request),
                    responder: responder.clone(),
                    options,
                }
            }
        };
        Self { state }
    }
}

/// Serves `request` with its claims, or answers its refusal.
#[inline]
fn carry_out<S, ReqB, T, R, ResB>(
    decision: Decision<T>,
    inner: &mut S,
    mut request: Request<ReqB>,
    responder: &R,
    options: Options,
) -> State<S, ReqB, T, R>
where
    S: Service<Request<ReqB>, Response = Response<ResB>>,
    ResB: Default,
    T: Clone + Send + Sync + 'static,
    R: ErrorResponder<ResB>,
{
    match decision {
        Decision::Refuse(refusal) => State::Refused {
            response: Some(answer(refusal, responder, options)),
        },
        Decision::Serve(admission) => {
            let (claims, completion) = admission.into_parts();
            if let Some(claims) = claims {
                request.extensions_mut().insert(claims);
            }
            let future = inner.call(request);
            State::Serving { future, completion }
        }
    }
}

/// The responder's answer to `refusal`, with its error in the extensions if the layer says so.
#[inline]
fn answer<B: Default, R: ErrorResponder<B>>(
    refusal: Refusal,
    responder: &R,
    options: Options,
) -> Response<B> {
    let exposed = options
        .errors_in_extensions
        .then(|| refusal.error().clone());
    let mut response = refusal.into_response(responder);
    if let Some(error) = exposed {
        response.extensions_mut().insert(error);
    }
    response
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
                StateProj::Deciding {
                    decision,
                    inner,
                    request,
                    responder,
                    options,
                } => {
                    let decision = ready!(Pin::new(decision).poll(cx));
                    let (Some(request), Some(mut inner)) = (request.take(), inner.take()) else {
                        unreachable!("ResponseFuture polled after completion");
                    };
                    let next = carry_out(decision, &mut inner, request, responder, *options);
                    state.set(next);
                }
                StateProj::Serving { future, completion } => {
                    let mut response = ready!(future.poll(cx))?;
                    if completion.is_empty() {
                        return Poll::Ready(Ok(response));
                    }
                    let completion = std::mem::replace(completion, Completion::none());
                    match completion.apply_now(response.headers_mut()) {
                        Ok(()) => return Poll::Ready(Ok(response)),
                        Err(pending) => state.set(State::Completing {
                            pending,
                            response: Some(response),
                        }),
                    }
                }
                StateProj::Completing { pending, response } => {
                    let Some(headers) = response.as_mut().map(Response::headers_mut) else {
                        unreachable!("ResponseFuture polled after completion");
                    };
                    ready!(pending.poll_apply(cx, headers));
                    let response = response.take().expect("present until now");
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
            State::Deciding { .. } => "Deciding",
            State::Serving { .. } => "Serving",
            State::Completing { .. } => "Completing",
        };
        f.debug_struct("ResponseFuture")
            .field("state", &state)
            .finish()
    }
}
