//! [`JwtAuthMiddleware`]: the gate's decision, carried out for actix-web.

use std::fmt;
use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::rc::Rc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::{Error, HttpMessage};

use super::convert::{self, OwnedHead};
use super::judge::Judge;
use super::judge::sealed::Decides;
use crate::decision::{Completion, Decision, Gate};
use crate::sessions::JwtSessions;
use crate::token::CustomClaims;

/// An actix-web middleware that lets a request reach its handler only as the [`Gate`] decides:
/// the tower layer's every rule (see [framework adapters](crate::decision)), none of them copied.
///
/// Wrap an `App`, a `Scope`, a `Resource` or a `Route` with it. A served request carries its
/// claims ([`Claims<C>`](crate::Claims), or [`AccessClaims`](crate::oidc::AccessClaims) for a
/// resource server) for the [extractors](super); a refused one is answered with the refusal's
/// status, headers and body, and its handler never runs. After a refresh the new tokens join
/// the response, whatever its status, even one made of a handler's error.
///
/// Made from a gate (`JwtAuthMiddleware::new(sessions.gate().allow_anonymous(true))`) or from
/// the sessions (`JwtAuthMiddleware::from(&sessions)`). Wrapping only the routes it protects
/// (`web::get().to(me).wrap(auth)`) keeps an unknown path a `404`, as the tower layer's
/// `route_layer` does.
#[derive(Clone)]
pub struct JwtAuthMiddleware<J> {
    gate: Gate<J>,
}

impl<J> JwtAuthMiddleware<J> {
    /// The middleware of `gate`.
    #[must_use]
    pub fn new(gate: Gate<J>) -> Self {
        Self { gate }
    }
}

impl<J> From<Gate<J>> for JwtAuthMiddleware<J> {
    fn from(gate: Gate<J>) -> Self {
        Self::new(gate)
    }
}

/// The middleware of `sessions.gate()`.
impl<C: CustomClaims> From<&JwtSessions<C>> for JwtAuthMiddleware<JwtSessions<C>> {
    fn from(sessions: &JwtSessions<C>) -> Self {
        Self::new(sessions.gate())
    }
}

impl<J: fmt::Debug> fmt::Debug for JwtAuthMiddleware<J> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtAuthMiddleware")
            .field("gate", &self.gate)
            .finish()
    }
}

impl<S, B, J> Transform<S, ServiceRequest> for JwtAuthMiddleware<J>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
    J: Judge,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = JwtAuthService<S, J>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(JwtAuthService {
            service: Rc::new(service),
            gate: self.gate.clone(),
        }))
    }
}

/// The service [`JwtAuthMiddleware`] wraps around the next one: what actix-web runs for each
/// request.
pub struct JwtAuthService<S, J> {
    // Shared with the request's future, which calls it once the decision is reached.
    service: Rc<S>,
    gate: Gate<J>,
}

impl<S, J: fmt::Debug> fmt::Debug for JwtAuthService<S, J> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtAuthService")
            .field("gate", &self.gate)
            .finish_non_exhaustive()
    }
}

impl<S, B, J> Service<ServiceRequest> for JwtAuthService<S, J>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
    J: Judge,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Error>>>>;

    forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let Some(head) = OwnedHead::of(request.request()) else {
            let response = request.into_response(convert::malformed_request());
            return Box::pin(ready(Ok(response.map_into_right_body())));
        };
        // The decision borrows nothing of the head: the copy goes before the future starts.
        let deciding = <J as Decides>::decide_now(&self.gate, head.head());
        drop(head);
        let service = Rc::clone(&self.service);
        Box::pin(async move {
            let admission = match deciding.decided().await {
                Decision::Serve(admission) => admission,
                Decision::Refuse(refusal) => {
                    let response = request.into_response(convert::refused(&refusal));
                    return Ok(response.map_into_right_body());
                }
            };
            let (claims, completion) = admission.into_parts();
            if let Some(claims) = claims {
                request.extensions_mut().insert(claims);
            }
            if completion.is_empty() {
                return service
                    .call(request)
                    .await
                    .map(ServiceResponse::map_into_left_body);
            }
            // A refresh: its tokens must reach the client even on a handler's error, so the
            // error becomes its response here, where the tokens can still join it.
            let http_request = request.request().clone();
            let response = match service.call(request).await {
                Ok(response) => response.map_into_left_body(),
                Err(error) => ServiceResponse::from_err(error, http_request).map_into_right_body(),
            };
            Ok(completed(response, completion).await)
        })
    }
}

/// `response` with `completion` applied: the response's headers, copied to `http` 1 and back,
/// get exactly what the tower layer's would.
async fn completed<B>(
    mut response: ServiceResponse<EitherBody<B>>,
    completion: Completion,
) -> ServiceResponse<EitherBody<B>> {
    let Some(mut headers) = convert::to_http(response.headers()) else {
        return response
            .into_response(convert::unconvertible())
            .map_into_right_body();
    };
    completion.apply(&mut headers).await;
    response.headers_mut().clear();
    match convert::append_to_actix(&headers, response.headers_mut()) {
        Some(()) => response,
        None => response
            .into_response(convert::unconvertible())
            .map_into_right_body(),
    }
}
