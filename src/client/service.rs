//! [`JwtClient`]: the client service, and how one request goes out.

use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use http::request::Parts;
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode};
use tower_service::Service;

use super::error::ClientError;
use super::layer::Settings;
use super::tokens::{Flight, FlightOutcome, Plan};

/// The response future of [`JwtClient`].
pub type ResponseFuture<R, E> =
    Pin<Box<dyn Future<Output = Result<R, ClientError<E>>> + Send + 'static>>;

/// A client that keeps its session alive. Made by [`JwtClientLayer`](super::JwtClientLayer).
///
/// ```
/// use tower::{Layer, ServiceExt};
/// use tower_jwt_auth::client::{ClientError, ClientTokens, JwtClient, JwtClientLayer};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let server = tower::service_fn(|_: http::Request<String>| async {
///     Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
/// });
/// let origin = "https://api.example.com".parse().unwrap();
/// let client: JwtClient<_> = JwtClientLayer::new(ClientTokens::new(), origin).layer(server);
/// // No tokens yet: the request fails without reaching the server.
/// let request = http::Request::get("https://api.example.com/me").body(String::new()).unwrap();
/// assert!(matches!(client.oneshot(request).await, Err(ClientError::LoginRequired)));
/// # }
/// ```
///
/// - A request for another origin than the layer's goes out as it came, and its response comes
///   back unread: no token is added to it or taken from it, whatever its status.
/// - An unexpired access token goes alone, in `Authorization: Bearer`.
/// - An expired one (within the skew margin) goes with the refresh token, so the server
///   refreshes in-band; exactly one request at a time does that, and the others wait for its
///   outcome, then go with the new access token (or fail with the same error). The request that
///   carries a refresh runs to its end even if its caller drops it, so a token the server
///   rotated is never lost.
/// - A `401` "the access token expired" for a token the client thought valid (the clocks
///   disagree) marks it expired and sends that one request again, with the refresh, if its body
///   is empty and so can be sent again; a request with a body gets the `401`. gRPC:
///   `UNAUTHENTICATED` with the same message.
/// - A refused refresh clears the tokens and fails with
///   [`ClientError::LoginRequired`](super::ClientError::LoginRequired) until new ones are set.
pub struct JwtClient<S> {
    inner: S,
    settings: Arc<Settings>,
}

impl<S> JwtClient<S> {
    pub(super) fn new(inner: S, settings: Arc<Settings>) -> Self {
        Self { inner, settings }
    }

    /// The wrapped client.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped client, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The wrapped client, taken out.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: Clone> Clone for JwtClient<S> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            settings: self.settings.clone(),
        }
    }
}

impl<S: fmt::Debug> fmt::Debug for JwtClient<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtClient")
            .field("inner", &self.inner)
            .field("tokens", &self.settings.tokens)
            .finish_non_exhaustive()
    }
}

impl<S, B, ResB> Service<Request<B>> for JwtClient<S>
where
    S: Service<Request<B>, Response = Response<ResB>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: http_body::Body + Default + Send + 'static,
    ResB: Send + 'static,
{
    type Response = Response<ResB>;
    type Error = ClientError<S::Error>;
    type Future = ResponseFuture<Response<ResB>, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(ClientError::Inner)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        if !self.settings.origin.serves(request.uri()) {
            // The session's tokens are not for another origin, and its answer is not the
            // server's word.
            let response = self.inner.call(request);
            return Box::pin(async move { response.await.map_err(ClientError::Inner) });
        }
        // The clone may not be ready; keep the service that poll_ready readied.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(send(inner, self.settings.clone(), request))
    }
}

/// Sets a credential header, marked sensitive so no layer prints or indexes it.
fn set_credential(headers: &mut HeaderMap, name: HeaderName, value: String) {
    if let Ok(mut value) = HeaderValue::try_from(value) {
        value.set_sensitive(true);
        headers.insert(name, value);
    }
}

/// The head of a request whose body is empty, kept to send it again.
fn replayable<B: http_body::Body>(request: &Request<B>) -> Option<Parts> {
    if request.body().size_hint().exact() != Some(0) {
        return None;
    }
    let mut copy = Request::new(());
    *copy.method_mut() = request.method().clone();
    *copy.uri_mut() = request.uri().clone();
    *copy.version_mut() = request.version();
    *copy.headers_mut() = request.headers().clone();
    Some(copy.into_parts().0)
}

fn header<'h>(headers: &'h HeaderMap, name: &HeaderName) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Whether a response refuses the request's credentials: HTTP `401`, or gRPC `UNAUTHENTICATED`
/// in a Trailers-Only response.
fn refused<B>(response: &Response<B>) -> bool {
    response.status() == StatusCode::UNAUTHORIZED
        || header(response.headers(), &HeaderName::from_static("grpc-status")) == Some("16")
}

/// Whether a response refuses an access token for having expired, in the server's words.
fn says_expired<B>(response: &Response<B>) -> bool {
    const EXPIRED: &str = "the access token expired";
    let headers = response.headers();
    header(headers, &WWW_AUTHENTICATE).is_some_and(|c| c.contains(EXPIRED))
        || header(headers, &HeaderName::from_static("grpc-message")) == Some(EXPIRED)
}

impl Settings {
    /// Stores the tokens a response brought.
    fn keep<B>(&self, response: &Response<B>) {
        let headers = response.headers();
        let access = header(headers, &self.access_response_header);
        let refresh = header(headers, &self.refresh_response_header);
        if access.is_some() || refresh.is_some() {
            self.tokens.update(access, refresh);
        }
    }

    /// What the answer to a request that carried the refresh token says of the refresh.
    fn outcome_of<B>(&self, response: &Response<B>) -> FlightOutcome {
        if response
            .headers()
            .contains_key(&self.access_response_header)
        {
            FlightOutcome::Refreshed
        } else if refused(response) {
            FlightOutcome::LoginRequired
        } else if response.status().is_server_error() {
            FlightOutcome::Failed(format!("the server answered {}", response.status()))
        } else {
            FlightOutcome::Kept
        }
    }
}

async fn send<S, B, ResB>(
    mut inner: S,
    settings: Arc<Settings>,
    mut request: Request<B>,
) -> Result<Response<ResB>, ClientError<S::Error>>
where
    S: Service<Request<B>, Response = Response<ResB>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: http_body::Body + Default + Send + 'static,
    ResB: Send + 'static,
{
    let mut head = replayable(&request);
    loop {
        let now = settings.clock.now();
        match settings.tokens.plan(now, settings.skew) {
            Plan::LoginRequired => return Err(ClientError::LoginRequired),
            Plan::Follow(mut flight) => {
                let outcome = flight
                    .wait_for(Option::is_some)
                    .await
                    .ok()
                    .and_then(|outcome| outcome.clone());
                match outcome {
                    Some(FlightOutcome::Refreshed | FlightOutcome::Kept) => {}
                    Some(FlightOutcome::LoginRequired) => return Err(ClientError::LoginRequired),
                    Some(FlightOutcome::Failed(why)) => {
                        return Err(ClientError::RefreshFailed(why));
                    }
                    None => {
                        return Err(ClientError::RefreshFailed(
                            "the refresh was abandoned".into(),
                        ));
                    }
                }
            }
            Plan::Access(token) => {
                set_credential(
                    request.headers_mut(),
                    AUTHORIZATION,
                    format!("Bearer {token}"),
                );
                poll_fn(|cx| inner.poll_ready(cx))
                    .await
                    .map_err(ClientError::Inner)?;
                let response = inner.call(request).await.map_err(ClientError::Inner)?;
                settings.keep(&response);
                if !(refused(&response) && says_expired(&response)) {
                    return Ok(response);
                }
                // The server's clock is ahead of ours: the token has expired, so the next
                // request refreshes; this one goes again, with the refresh, if it can.
                settings.tokens.expire(&token);
                let Some(parts) = head.take() else {
                    return Ok(response);
                };
                request = Request::from_parts(parts, B::default());
            }
            Plan::Lead {
                access,
                refresh,
                flight,
            } => return carry_refresh(inner, settings, request, access, refresh, flight).await,
        }
    }
}

/// Sends the request that carries the refresh token, in a task of its own: it runs to its end
/// even if the caller drops this future, so the tokens the server minted for it are kept and the
/// requests waiting for them learn the outcome.
async fn carry_refresh<S, B, ResB>(
    mut inner: S,
    settings: Arc<Settings>,
    mut request: Request<B>,
    access: Option<String>,
    refresh: String,
    flight: Flight,
) -> Result<Response<ResB>, ClientError<S::Error>>
where
    S: Service<Request<B>, Response = Response<ResB>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Send + 'static,
    ResB: Send + 'static,
{
    let headers = request.headers_mut();
    if let Some(access) = &access {
        set_credential(headers, AUTHORIZATION, format!("Bearer {access}"));
    }
    set_credential(headers, settings.refresh_header.clone(), refresh);
    let carrier = settings.clone();
    let carried = tokio::spawn(async move {
        let result = match poll_fn(|cx| inner.poll_ready(cx)).await {
            Ok(()) => inner.call(request).await,
            Err(error) => Err(error),
        };
        let outcome = match &result {
            Ok(response) => {
                carrier.keep(response);
                carrier.outcome_of(response)
            }
            Err(_) => FlightOutcome::Failed("the request carrying the refresh failed".into()),
        };
        flight.land(outcome.clone());
        match &outcome {
            FlightOutcome::Refreshed => carrier.refreshed(),
            FlightOutcome::Kept => {
                if let Some(access) = &access {
                    carrier.tokens.margin_spent(access);
                }
            }
            FlightOutcome::LoginRequired => carrier.login_required(),
            FlightOutcome::Failed(_) => {}
        }
        (result, outcome)
    });
    let (result, outcome) = carried.await.map_err(|_| {
        ClientError::RefreshFailed("the request carrying the refresh panicked".into())
    })?;
    let response = result.map_err(ClientError::Inner)?;
    if outcome == FlightOutcome::LoginRequired && !settings.login_required_as_response {
        return Err(ClientError::LoginRequired);
    }
    Ok(response)
}
