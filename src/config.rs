//! [`Config`]: the validated rules of a set of sessions — header names, lifetimes, the refresh
//! policy — as [`build`](crate::JwtSessionsBuilder::build) accepted them.
//!
//! ```
//! use std::time::Duration;
//! use tower_jwt_auth::JwtSessions;
//!
//! let sessions = JwtSessions::builder()
//!     .hs256_secret(b"an example secret of 32+ bytes!!")
//!     .access_ttl(Duration::from_secs(300))
//!     .refresh_rotation(true)
//!     .build()?;
//!
//! let config = sessions.config();
//! assert_eq!(config.refresh_header(), "x-refresh-token");
//! assert_eq!(config.access_ttl(), Duration::from_secs(300));
//! assert_eq!(config.refresh_grace(), Duration::from_secs(10));
//! # Ok::<(), tower_jwt_auth::ConfigError>(())
//! ```

use std::time::Duration;

use http::HeaderName;

use crate::cookie::CookieSettings;

/// The validated rules of a [`JwtSessions`](crate::JwtSessions): header names, lifetimes and the refresh policy.
///
/// Shared, read-only, by the server layer and anything else that speaks the same scheme.
#[derive(Debug, Clone)]
pub struct Config {
    pub(crate) refresh_header: HeaderName,
    pub(crate) access_token_response_header: HeaderName,
    pub(crate) refresh_token_response_header: HeaderName,
    pub(crate) access_ttl: Duration,
    pub(crate) refresh_ttl: Duration,
    pub(crate) refresh_grace: Duration,
    pub(crate) leeway: Duration,
    pub(crate) refresh_rotation: bool,
    pub(crate) pair_check: bool,
    pub(crate) theft_detection: bool,
    pub(crate) issuer: Option<String>,
    pub(crate) audience: Option<String>,
    pub(crate) max_token_len: usize,
    pub(crate) max_sessions_per_subject: u32,
    pub(crate) cookies: Option<CookieSettings>,
}

impl Config {
    /// Request header that carries a refresh token (default `x-refresh-token`).
    pub fn refresh_header(&self) -> &HeaderName {
        &self.refresh_header
    }

    /// Response header that carries a newly minted access token (default `x-access-token`).
    pub fn access_token_response_header(&self) -> &HeaderName {
        &self.access_token_response_header
    }

    /// Response header that carries a rotated refresh token (default `x-refresh-token`).
    pub fn refresh_token_response_header(&self) -> &HeaderName {
        &self.refresh_token_response_header
    }

    /// Lifetime of an access token (default 15 minutes).
    pub fn access_ttl(&self) -> Duration {
        self.access_ttl
    }

    /// Absolute lifetime of a session and its refresh tokens (default 14 days).
    pub fn refresh_ttl(&self) -> Duration {
        self.refresh_ttl
    }

    /// Window after a refresh in which further refreshes of the same session receive the same
    /// tokens instead of tripping the theft rule (default 10 seconds, or half the access
    /// lifetime if that is shorter; zero turns it off).
    pub fn refresh_grace(&self) -> Duration {
        self.refresh_grace
    }

    /// Clock-skew allowance on `exp` and `nbf`, also used by the theft rule (default zero).
    pub fn leeway(&self) -> Duration {
        self.leeway
    }

    /// Whether each refresh also issues a new refresh token (default off).
    pub fn refresh_rotation(&self) -> bool {
        self.refresh_rotation
    }

    /// Whether an access token must be its session's current one in the store (default on).
    pub fn pair_check(&self) -> bool {
        self.pair_check
    }

    /// Whether a refresh while the session's access token is still valid revokes the session
    /// (default on).
    pub fn theft_detection(&self) -> bool {
        self.theft_detection
    }

    /// Required `iss` claim, if configured.
    pub fn issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }

    /// Required `aud` claim, if configured.
    pub fn audience(&self) -> Option<&str> {
        self.audience.as_deref()
    }

    /// Longest token accepted, in bytes (default 8 KiB); longer ones are refused undecoded.
    pub fn max_token_len(&self) -> usize {
        self.max_token_len
    }

    /// Most live sessions one subject may have (default 1,000); a login past it ends the
    /// subject's sessions that end first.
    pub fn max_sessions_per_subject(&self) -> u32 {
        self.max_sessions_per_subject
    }

    /// The cookie settings, in cookie mode (see [`CookieSettings`]); `None` otherwise.
    pub fn cookies(&self) -> Option<&CookieSettings> {
        self.cookies.as_ref()
    }
}
