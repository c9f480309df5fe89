//! What a login and a refresh hand out: [`TokenPair`] and [`Refreshed`].
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use tower_jwt_auth::JwtSessions;
//!
//! let sessions = JwtSessions::builder()
//!     .hs256_secret(b"an example secret of 32+ bytes!!")
//!     .build()?;
//! let pair = sessions.issue("alice", ()).await?;
//! // The body of a login response (RFC 6749 §5.1); the tokens never appear in `Debug`.
//! let json = serde_json::to_value(&pair)?;
//! assert_eq!(json["token_type"], "Bearer");
//! assert_eq!(json["expires_in"], 900);
//! assert!(!format!("{pair:?}").contains(pair.access_token()));
//! # Ok(()) }
//! ```

use std::fmt;
use std::time::Duration;

use crate::id::SessionId;
use crate::token::Claims;

/// A newly issued session: both tokens and their lifetimes.
///
/// Serialises as an RFC 6749 §5.1 token response:
/// `{"access_token", "refresh_token", "token_type": "Bearer", "expires_in"}`.
#[derive(Clone)]
pub struct TokenPair {
    access_token: String,
    refresh_token: String,
    session_id: SessionId,
    expires_in: Duration,
    refresh_expires_in: Duration,
}

impl TokenPair {
    pub(crate) fn new(
        access_token: String,
        refresh_token: String,
        session_id: SessionId,
        expires_in: Duration,
        refresh_expires_in: Duration,
    ) -> Self {
        Self {
            access_token,
            refresh_token,
            session_id,
            expires_in,
            refresh_expires_in,
        }
    }

    /// The access token, for `Authorization: Bearer`.
    #[must_use]
    pub fn access_token(&self) -> &str {
        &self.access_token
    }

    /// The refresh token, for the refresh header.
    #[must_use]
    pub fn refresh_token(&self) -> &str {
        &self.refresh_token
    }

    /// The session both tokens belong to.
    #[must_use]
    pub fn session_id(&self) -> SessionId {
        self.session_id
    }

    /// Lifetime of the access token.
    #[must_use]
    pub fn expires_in(&self) -> Duration {
        self.expires_in
    }

    /// Lifetime of the session and its refresh token.
    #[must_use]
    pub fn refresh_expires_in(&self) -> Duration {
        self.refresh_expires_in
    }
}

impl fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Tokens are credentials: keep them out of logs.
        f.debug_struct("TokenPair")
            .field("session_id", &self.session_id)
            .field("expires_in", &self.expires_in)
            .field("refresh_expires_in", &self.refresh_expires_in)
            .finish_non_exhaustive()
    }
}

impl serde::Serialize for TokenPair {
    fn serialize<Ser: serde::Serializer>(&self, serializer: Ser) -> Result<Ser::Ok, Ser::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("TokenPair", 4)?;
        s.serialize_field("access_token", &self.access_token)?;
        s.serialize_field("refresh_token", &self.refresh_token)?;
        s.serialize_field("token_type", "Bearer")?;
        s.serialize_field("expires_in", &self.expires_in.as_secs())?;
        s.end()
    }
}

/// The result of a granted refresh.
#[derive(Clone)]
pub struct Refreshed<C = ()> {
    access_token: String,
    refresh_token: Option<String>,
    claims: Claims<C>,
    replayed: bool,
}

impl<C> Refreshed<C> {
    /// The new access token.
    pub fn access_token(&self) -> &str {
        &self.access_token
    }

    /// The new refresh token, with rotation on.
    pub fn refresh_token(&self) -> Option<&str> {
        self.refresh_token.as_deref()
    }

    /// The claims of the new access token.
    pub fn claims(&self) -> &Claims<C> {
        &self.claims
    }

    /// Whether these are the tokens of an earlier refresh inside the grace window.
    pub fn is_replay(&self) -> bool {
        self.replayed
    }

    pub(crate) fn new(
        access_token: String,
        refresh_token: Option<String>,
        claims: Claims<C>,
        replayed: bool,
    ) -> Self {
        Self {
            access_token,
            refresh_token,
            claims,
            replayed,
        }
    }

    pub(crate) fn into_parts(self) -> (String, Option<String>, Claims<C>) {
        (self.access_token, self.refresh_token, self.claims)
    }
}

impl<C: fmt::Debug> fmt::Debug for Refreshed<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Refreshed")
            .field("claims", &self.claims)
            .field("replayed", &self.replayed)
            .finish_non_exhaustive()
    }
}
