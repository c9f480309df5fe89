//! [`Completion`]: what a response gains once the handler has answered.

use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use http::header::{CACHE_CONTROL, SET_COOKIE};
use http::{HeaderMap, HeaderName, HeaderValue};

use crate::engine::Engine;
use crate::id::{SessionId, TokenId};
use crate::store::{AccessCheck, StoreError};

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// What the response to an admitted request must gain once the handler has answered: after a
/// refresh, the new tokens (in response headers, or in `Set-Cookie` in cookie mode) and
/// `Cache-Control: no-store`. Empty for every other request, and then free.
///
/// The tokens are held back until the handler has answered, and added only if their session is
/// still live then: a request that ends its own session (a logout that came with a refresh)
/// must not carry a fresh token of it out. `Cache-Control: no-store` is added either way. An
/// adapter must [`apply`](Self::apply) every completion it is given; one dropped unapplied
/// leaves a client that refreshed without its new access token, to be refused on its next
/// request.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use tower_jwt_auth::decision::{Decision, RequestHead};
/// use tower_jwt_auth::{JwtSessions, ManualClock};
///
/// let clock = ManualClock::new(1_700_000_000);
/// let sessions = JwtSessions::builder()
///     .hs256_secret(b"an example secret of 32+ bytes!!")
///     .clock(clock.clone())
///     .build()?;
/// let pair = sessions.issue("alice", ()).await?;
/// clock.advance(Duration::from_secs(15 * 60)); // the access token has expired
/// let request = http::Request::get("/me").header("x-refresh-token", pair.refresh_token()).body(())?;
/// let Decision::Serve(admission) = sessions.gate().decide(RequestHead::from(&request)).await else {
///     panic!("refreshed");
/// };
/// let (claims, completion) = admission.into_parts();
/// assert_eq!(claims.expect("claims of the new access token").subject(), "alice");
///
/// let mut response_headers = http::HeaderMap::new(); // the handler's answer
/// completion.apply(&mut response_headers).await;
/// assert!(response_headers.contains_key("x-access-token"));
/// assert_eq!(response_headers["cache-control"], "no-store");
/// # Ok(()) }
/// ```
#[must_use = "a refresh's new tokens reach the client only through `apply`"]
pub struct Completion {
    // Boxed: an empty completion, the common case, is one word to move.
    minted: Option<Box<Minted>>,
}

/// Tokens a refresh minted, and the session they must still belong to when they go out.
struct Minted {
    headers: Vec<(HeaderName, HeaderValue)>,
    engine: Arc<Engine>,
    sid: SessionId,
    jti: TokenId,
    now: u64,
}

impl Completion {
    /// Nothing to add.
    pub(crate) const fn none() -> Self {
        Self { minted: None }
    }

    /// The `headers` of a refresh that minted access token `jti` of session `sid` at `now`.
    pub(crate) fn minted(
        headers: Vec<(HeaderName, HeaderValue)>,
        engine: Arc<Engine>,
        sid: SessionId,
        jti: TokenId,
        now: u64,
    ) -> Self {
        let minted = Minted {
            headers,
            engine,
            sid,
            jti,
            now,
        };
        Self {
            minted: Some(Box::new(minted)),
        }
    }

    /// Whether there is nothing to add: no refresh happened.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.minted.is_none()
    }

    /// Adds what it holds to the response's `headers`, asking the store first whether the
    /// session is still live (without waiting when the store can answer at once). New cookies
    /// join any the handler set; other headers replace the handler's of the same name.
    pub async fn apply(self, headers: &mut HeaderMap) {
        if let Err(mut pending) = self.apply_now(headers) {
            poll_fn(|cx| pending.poll_apply(cx, headers)).await;
        }
    }

    /// [`apply`](Self::apply) at once, or what must be awaited first.
    pub(crate) fn apply_now(self, headers: &mut HeaderMap) -> Result<(), PendingCompletion> {
        let Some(minted) = self.minted else {
            return Ok(());
        };
        let store = minted.engine.store();
        if let Some(check) = store.check_access_now(minted.sid, minted.jti, minted.now) {
            (*minted).attach(headers, Minted::still_live(&check));
            return Ok(());
        }
        let (engine, sid, jti, now) = (minted.engine.clone(), minted.sid, minted.jti, minted.now);
        let check = Box::pin(async move { engine.store().check_access(sid, jti, now).await });
        Err(PendingCompletion {
            check,
            minted: Some(minted),
        })
    }
}

impl Minted {
    /// Whether the session is still there to hand its tokens to: anything but a revoked or
    /// ended session. A store that fails now does not take back what it granted.
    fn still_live(check: &Result<AccessCheck, StoreError>) -> bool {
        !matches!(check, Ok(AccessCheck::Revoked | AccessCheck::Unknown))
    }

    /// Adds the tokens to `map` if the session is still live; the `Cache-Control: no-store`
    /// that came with them stays either way.
    fn attach(self, map: &mut HeaderMap, live: bool) {
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

/// A completion waiting for the store to say whether its session is still live.
pub(crate) struct PendingCompletion {
    check: BoxFuture<Result<AccessCheck, StoreError>>,
    minted: Option<Box<Minted>>,
}

impl PendingCompletion {
    /// Adds the completion to `headers` once the store has answered.
    pub(crate) fn poll_apply(&mut self, cx: &mut Context<'_>, headers: &mut HeaderMap) -> Poll<()> {
        let live = Minted::still_live(&ready!(self.check.as_mut().poll(cx)));
        if let Some(minted) = self.minted.take() {
            (*minted).attach(headers, live);
        }
        Poll::Ready(())
    }
}

/// Whether it holds anything; never the tokens.
impl fmt::Debug for Completion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Completion")
            .field("empty", &self.is_empty())
            .finish()
    }
}
