//! [`ClientTokens`]: a session's tokens on the client side, shared by every clone of the layer,
//! and the one refresh in flight at a time.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tokio::sync::watch;

use super::error::UnreadableToken;

/// The outcome of a refresh, shared with every request that waited for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum FlightOutcome {
    /// New tokens are stored.
    Refreshed,
    /// The server served the request without refreshing: it still takes the access token as
    /// valid (its clock is behind ours).
    Kept,
    /// The refresh was refused: the user must log in again.
    LoginRequired,
    /// The refresh could not be made (the server or the network failed); tokens are unchanged.
    Failed(String),
}

/// What a request goes with, decided from the tokens at the moment it is sent.
pub(super) enum Plan {
    /// No tokens, or a refused refresh: fail at once.
    LoginRequired,
    /// The access token is valid: send it alone.
    Access(String),
    /// The access token has expired and this request carries the refresh: the refresh token,
    /// the expired access token (the server wants both of one session), and the flight to land
    /// for the others.
    Lead {
        access: Option<String>,
        refresh: String,
        flight: Flight,
    },
    /// Another request is refreshing: wait for it.
    Follow(watch::Receiver<Option<FlightOutcome>>),
}

#[derive(Default)]
struct State {
    access: Option<Access>,
    refresh: Option<String>,
    /// The refresh in flight, if any: followers subscribe to it.
    flight: Option<watch::Receiver<Option<FlightOutcome>>>,
}

struct Access {
    token: String,
    /// The token's `exp`, read without verification: only to know when to refresh.
    exp: u64,
    /// The most of the skew margin this token can take: half its lifetime (`exp - iat`), so a
    /// short-lived token is not refreshed the moment it arrives.
    max_margin: u64,
    /// The server took this token as valid inside the skew margin (its clock is behind ours):
    /// go on sending it alone until its `exp` rather than offering the refresh each time.
    margin_spent: bool,
}

impl Access {
    /// The access token `token`, if its `exp` can be read.
    fn read(token: String) -> Option<Self> {
        #[derive(serde::Deserialize)]
        struct Times {
            exp: u64,
            iat: Option<u64>,
        }
        let payload = token.split('.').nth(1)?;
        let json = URL_SAFE_NO_PAD.decode(payload).ok()?;
        let times: Times = serde_json::from_slice(&json).ok()?;
        let lifetime = times
            .iat
            .map_or(u64::MAX, |iat| times.exp.saturating_sub(iat));
        Some(Self {
            token,
            exp: times.exp,
            max_margin: lifetime / 2,
            margin_spent: false,
        })
    }

    fn valid(&self, now: u64, skew: u64) -> bool {
        let margin = if self.margin_spent {
            0
        } else {
            skew.min(self.max_margin)
        };
        now.saturating_add(margin) < self.exp
    }
}

/// A session's tokens on the client side: the access token (and when it expires, read from the
/// token itself), the refresh token, and whether a refresh is under way. Clones share them; the
/// layer keeps them current with every `x-access-token` / `x-refresh-token` a response brings.
///
/// ```
/// use tower_jwt_auth::client::ClientTokens;
///
/// let tokens = ClientTokens::new();
/// assert!(tokens.access_token().is_none()); // nothing yet: requests fail with LoginRequired
/// # let access = "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjE3MDAwMDA5MDB9.c2ln";
/// tokens.set(access, "the refresh token")?; // after the application's login
/// assert_eq!(tokens.access_expires_at(), Some(1_700_000_900));
/// # Ok::<(), tower_jwt_auth::client::UnreadableToken>(())
/// ```
#[derive(Clone, Default)]
pub struct ClientTokens {
    state: Arc<Mutex<State>>,
}

impl fmt::Debug for ClientTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Tokens are credentials: never in logs.
        let state = self.lock();
        f.debug_struct("ClientTokens")
            .field("access_expires_at", &state.access.as_ref().map(|a| a.exp))
            .field("has_refresh_token", &state.refresh.is_some())
            .field("refreshing", &state.flight.is_some())
            .finish()
    }
}

impl ClientTokens {
    /// No tokens: every request fails with
    /// [`ClientError::LoginRequired`](super::ClientError::LoginRequired) until
    /// [`set`](Self::set).
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stores the tokens of a login. Fails if the access token has no readable `exp`.
    pub fn set(
        &self,
        access_token: impl Into<String>,
        refresh_token: impl Into<String>,
    ) -> Result<(), UnreadableToken> {
        let access = Access::read(access_token.into()).ok_or(UnreadableToken)?;
        let mut state = self.lock();
        state.access = Some(access);
        state.refresh = Some(refresh_token.into());
        Ok(())
    }

    /// Forgets both tokens: requests fail with
    /// [`ClientError::LoginRequired`](super::ClientError::LoginRequired) until the next
    /// [`set`](Self::set).
    pub fn clear(&self) {
        let mut state = self.lock();
        state.access = None;
        state.refresh = None;
    }

    /// The current access token.
    #[must_use]
    pub fn access_token(&self) -> Option<String> {
        self.lock().access.as_ref().map(|a| a.token.clone())
    }

    /// When the current access token expires (its `exp`, seconds since the Unix epoch).
    #[must_use]
    pub fn access_expires_at(&self) -> Option<u64> {
        self.lock().access.as_ref().map(|a| a.exp)
    }

    /// Decides what a request sent `now` goes with; an access token within `skew` of its `exp`
    /// counts as expired.
    pub(super) fn plan(&self, now: u64, skew: u64) -> Plan {
        let mut state = self.lock();
        if let Some(flight) = &state.flight {
            return Plan::Follow(flight.clone());
        }
        let Some(refresh) = state.refresh.clone() else {
            return Plan::LoginRequired;
        };
        match &state.access {
            Some(access) if access.valid(now, skew) => Plan::Access(access.token.clone()),
            access => {
                let access = access.as_ref().map(|a| a.token.clone());
                let (done, waiting) = watch::channel(None);
                state.flight = Some(waiting);
                Plan::Lead {
                    access,
                    refresh,
                    flight: Flight {
                        tokens: self.clone(),
                        done: Some(done),
                    },
                }
            }
        }
    }

    /// Stores tokens a response brought, at once: no request sent after this sees the old ones.
    pub(super) fn update(&self, access: Option<&str>, refresh: Option<&str>) {
        let mut state = self.lock();
        if let Some(access) = access.and_then(|token| Access::read(token.to_owned())) {
            state.access = Some(access);
        }
        if let Some(refresh) = refresh {
            state.refresh = Some(refresh.to_owned());
        }
    }

    /// Treats `token` as expired (the server said so though the local clock did not), unless it
    /// has been replaced meanwhile.
    pub(super) fn expire(&self, token: &str) {
        let mut state = self.lock();
        if let Some(access) = state.access.as_mut()
            && access.token == token
        {
            access.exp = 0;
        }
    }

    /// The server served a request that offered the refresh beside `token` without refreshing:
    /// it still takes `token` as valid.
    pub(super) fn margin_spent(&self, token: &str) {
        let mut state = self.lock();
        if let Some(access) = state.access.as_mut()
            && access.token == token
        {
            access.margin_spent = true;
        }
    }
}

/// The one refresh in flight: landed with its outcome by the request that carries it, or, if
/// that is dropped before it knows, landed as failed, so no request waits forever.
pub(super) struct Flight {
    tokens: ClientTokens,
    done: Option<watch::Sender<Option<FlightOutcome>>>,
}

impl Flight {
    /// Ends the refresh with `outcome`, for every request waiting on it. A refused refresh
    /// forgets the tokens.
    pub(super) fn land(mut self, outcome: FlightOutcome) {
        self.land_with(outcome);
    }

    fn land_with(&mut self, outcome: FlightOutcome) {
        let Some(done) = self.done.take() else {
            return;
        };
        let mut state = self.tokens.lock();
        if outcome == FlightOutcome::LoginRequired {
            state.access = None;
            state.refresh = None;
        }
        state.flight = None;
        drop(state);
        done.send_replace(Some(outcome));
    }
}

impl Drop for Flight {
    fn drop(&mut self) {
        self.land_with(FlightOutcome::Failed("the refresh was abandoned".into()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(claims: &str) -> String {
        format!("e30.{}.c2ln", URL_SAFE_NO_PAD.encode(claims))
    }

    fn access(claims: &str) -> Access {
        Access::read(token(claims)).expect("readable")
    }

    #[test]
    fn the_skew_margin_counts_a_token_as_expired_before_its_exp() {
        let long = access(r#"{"iat":1000,"exp":1900}"#);
        assert!(long.valid(1894, 5));
        assert!(!long.valid(1895, 5));
        assert!(!long.valid(1900, 0));
    }

    #[test]
    fn a_short_lived_token_loses_at_most_half_its_lifetime_to_the_margin() {
        let short = access(r#"{"iat":1000,"exp":1002}"#);
        assert!(short.valid(1000, 5));
        assert!(!short.valid(1001, 5));
        let one_second = access(r#"{"iat":1000,"exp":1001}"#);
        assert!(one_second.valid(1000, 5));
        assert!(!one_second.valid(1001, 5));
    }

    #[test]
    fn without_iat_the_whole_margin_applies_and_a_spent_margin_none() {
        let mut token = access(r#"{"exp":1002}"#);
        assert!(!token.valid(1000, 5));
        token.margin_spent = true;
        assert!(token.valid(1001, 5));
        assert!(!token.valid(1002, 5));
    }

    #[test]
    fn tokens_without_a_readable_exp_are_refused() {
        let tokens = ClientTokens::new();
        for bad in ["", "a.b.c", &token(r#"{"exp":"soon"}"#), &token("{}")] {
            assert_eq!(tokens.set(bad, "refresh"), Err(UnreadableToken));
        }
        assert!(tokens.access_token().is_none());
    }
}
