//! [`Gate`] and what it decides: a [`Decision`], now or as a [`DecisionFuture`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::completion::Completion;
use super::refusal::{Protocol, Refusal};
use crate::error::AuthError;
use crate::observe::{self, RequestOutcome};

/// How requests are judged: by a judge — [`JwtSessions`](crate::JwtSessions), the crate's own
/// sessions, or [`ResourceServer`](crate::oidc::ResourceServer), an identity provider's tokens —
/// with the options of the layer ([`allow_anonymous`](Self::allow_anonymous)). Made by
/// [`JwtSessions::gate`](crate::JwtSessions::gate) and
/// [`ResourceServer::gate`](crate::oidc::ResourceServer::gate); what their layers hold. Cheap
/// to clone.
///
/// `Gate<JwtSessions<C>>` decides on [`Claims<C>`](crate::Claims), `Gate<ResourceServer>` on
/// [`AccessClaims`](crate::oidc::AccessClaims). Both have the same two methods:
///
/// - `decide(head) -> impl Future<Output = Decision<T>>`: the whole decision, which awaits the
///   store only when it must. The future is `Send + 'static`: it borrows nothing of the request.
/// - `decide_now(head) -> Deciding<T>`: the same, but a decision reached without waiting comes
///   back as one ([`Deciding::Ready`]), so an adapter can act on it in place.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use tower_jwt_auth::JwtSessions;
/// use tower_jwt_auth::decision::{Deciding, Decision, RequestHead};
///
/// let sessions = JwtSessions::builder()
///     .hs256_secret(b"an example secret of 32+ bytes!!")
///     .build()?;
/// let gate = sessions.gate().allow_anonymous(true);
///
/// // The memory store answers at once: an access token is decided now.
/// let pair = sessions.issue("alice", ()).await?;
/// let request = http::Request::get("/").header("authorization", format!("Bearer {}", pair.access_token())).body(())?;
/// let Deciding::Ready(Decision::Serve(admission)) = gate.decide_now(RequestHead::from(&request)) else {
///     panic!("decided at once");
/// };
/// assert_eq!(admission.claims().map(|c| c.subject()), Some("alice"));
///
/// // No credentials: served without claims, as allowed.
/// let anonymous = http::Request::get("/").body(())?;
/// let Decision::Serve(admission) = gate.decide(RequestHead::from(&anonymous)).await else {
///     panic!("anonymous requests are allowed");
/// };
/// assert!(admission.claims().is_none());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Gate<J> {
    judge: J,
    allow_anonymous: bool,
}

impl<J> Gate<J> {
    pub(crate) fn new(judge: J) -> Self {
        Self {
            judge,
            allow_anonymous: false,
        }
    }

    /// Serve requests without any credentials, without claims (default off). A credential that
    /// is present but bad is still refused.
    #[must_use]
    pub fn allow_anonymous(mut self, allow: bool) -> Self {
        self.allow_anonymous = allow;
        self
    }

    pub(crate) fn judge(&self) -> &J {
        &self.judge
    }

    /// Whether a request without credentials is served.
    pub(crate) fn allows_anonymous(&self) -> bool {
        self.allow_anonymous
    }
}

/// What an adapter does with a request.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use http::{HeaderMap, StatusCode};
/// use tower_jwt_auth::JwtSessions;
/// use tower_jwt_auth::decision::{Decision, RequestHead};
///
/// let sessions = JwtSessions::builder()
///     .hs256_secret(b"an example secret of 32+ bytes!!")
///     .build()?;
/// let request = http::Request::get("/me").body(())?;
/// let (status, headers) = match sessions.gate().decide(RequestHead::from(&request)).await {
///     Decision::Serve(admission) => {
///         let (claims, completion) = admission.into_parts();
///         let mut headers = HeaderMap::new(); // the handler's answer, given `claims`
///         # let _ = claims;
///         completion.apply(&mut headers).await;
///         (StatusCode::OK, headers)
///     }
///     Decision::Refuse(refusal) => (refusal.status(), refusal.headers()),
/// };
/// assert_eq!(status, 401);
/// assert_eq!(headers["www-authenticate"], "Bearer");
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a decision must be carried out: serve the request, or answer its refusal"]
pub enum Decision<T> {
    /// Call the handler, with the admission's claims where handlers find them; then apply its
    /// completion to the response.
    Serve(Admission<T>),
    /// Do not call the handler; answer with the refusal.
    Refuse(Refusal),
}

impl<T> Decision<T> {
    /// Serves with `claims` (none: anonymous) and `completion`, telling the world.
    #[inline]
    pub(crate) fn serve(claims: Option<T>, completion: Completion) -> Self {
        observe::served(match (&claims, completion.is_empty()) {
            (None, _) => RequestOutcome::Anonymous,
            (Some(_), true) => RequestOutcome::Accepted,
            (Some(_), false) => RequestOutcome::Refreshed,
        });
        Self::Serve(Admission { claims, completion })
    }

    /// Refuses for `error`, answered in `protocol`, telling the world.
    #[inline]
    pub(crate) fn refuse(error: AuthError, protocol: Protocol) -> Self {
        Self::Refuse(Refusal::noted(error, protocol))
    }
}

/// A request let through: its claims, and what its response must gain.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use tower_jwt_auth::JwtSessions;
/// use tower_jwt_auth::decision::{Decision, RequestHead};
///
/// let sessions = JwtSessions::builder()
///     .hs256_secret(b"an example secret of 32+ bytes!!")
///     .build()?;
/// let request = http::Request::get("/").body(())?;
/// let gate = sessions.gate().allow_anonymous(true);
/// let Decision::Serve(admission) = gate.decide(RequestHead::from(&request)).await else {
///     panic!("anonymous requests are allowed");
/// };
/// assert!(admission.claims().is_none());
/// assert!(admission.completion().is_empty()); // nothing was refreshed
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "an admitted request's completion must be applied to its response"]
pub struct Admission<T> {
    claims: Option<T>,
    completion: Completion,
}

impl<T> Admission<T> {
    /// The claims the handler is to see; `None` for a request without credentials that the gate
    /// lets through ([`allow_anonymous`](Gate::allow_anonymous)).
    #[must_use]
    pub fn claims(&self) -> Option<&T> {
        self.claims.as_ref()
    }

    /// What the response must gain once the handler has answered.
    pub fn completion(&self) -> &Completion {
        &self.completion
    }

    /// The claims and the completion, taken apart.
    pub fn into_parts(self) -> (Option<T>, Completion) {
        (self.claims, self.completion)
    }
}

/// A decision, reached at once or still to be awaited. Made by `Gate::decide_now`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use tower_jwt_auth::decision::{Deciding, Decision, RequestHead};
/// use tower_jwt_auth::{JwtSessions, ManualClock};
///
/// let clock = ManualClock::new(1_700_000_000);
/// let sessions = JwtSessions::builder()
///     .hs256_secret(b"an example secret of 32+ bytes!!")
///     .clock(clock.clone())
///     .build()?;
/// let pair = sessions.issue("alice", ()).await?;
/// clock.advance(Duration::from_secs(15 * 60));
/// let request = http::Request::get("/").header("x-refresh-token", pair.refresh_token()).body(())?;
/// let decision = match sessions.gate().decide_now(RequestHead::from(&request)) {
///     Deciding::Ready(decision) => decision,
///     Deciding::Pending(future) => future.await, // a refresh waits on the store
/// };
/// let Decision::Serve(admission) = decision else {
///     panic!("refreshed");
/// };
/// let mut headers = http::HeaderMap::new();
/// admission.into_parts().1.apply(&mut headers).await;
/// assert!(headers.contains_key("x-access-token"));
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a decision must be carried out: serve the request, or answer its refusal"]
pub enum Deciding<T> {
    /// Decided without waiting.
    Ready(Decision<T>),
    /// The store (or a key fetch) must be awaited.
    Pending(DecisionFuture<T>),
}

impl<T> Deciding<T> {
    /// The decision, awaited if it must be.
    pub(crate) async fn decided(self) -> Decision<T> {
        match self {
            Self::Ready(decision) => decision,
            Self::Pending(future) => future.await,
        }
    }
}

/// A decision that waits on the store or a key fetch: `Send + 'static`, borrowing nothing of
/// the request (see [`Deciding`]).
///
/// ```
/// use tower_jwt_auth::Claims;
/// use tower_jwt_auth::decision::DecisionFuture;
///
/// fn spawnable<F: Future + Send + 'static>() {}
/// spawnable::<DecisionFuture<Claims>>();
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct DecisionFuture<T> {
    future: Pin<Box<dyn Future<Output = Decision<T>> + Send>>,
}

impl<T> DecisionFuture<T> {
    pub(crate) fn new(future: impl Future<Output = Decision<T>> + Send + 'static) -> Self {
        Self {
            future: Box::pin(future),
        }
    }
}

impl<T> Future for DecisionFuture<T> {
    type Output = Decision<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Decision<T>> {
        self.future.as_mut().poll(cx)
    }
}

impl<T> fmt::Debug for DecisionFuture<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DecisionFuture").finish_non_exhaustive()
    }
}
