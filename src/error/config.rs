//! [`ConfigError`]: a configuration refused before any request is served.

use std::fmt;

/// What is wrong with a configuration. New kinds may be added.
///
/// ```
/// use std::time::Duration;
/// use tower_jwt_auth::{ConfigErrorKind, JwtSessions};
///
/// let builder = || JwtSessions::builder().hs256_secret(b"an example secret of 32+ bytes!!");
/// let lifetime = builder().access_ttl(Duration::ZERO).build().unwrap_err();
/// assert_eq!(lifetime.kind(), ConfigErrorKind::InvalidLifetime);
/// let limit = builder().max_sessions_per_subject(0).build().unwrap_err();
/// assert_eq!(limit.kind(), ConfigErrorKind::InvalidLimit);
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConfigErrorKind {
    /// No keys were given.
    MissingKeys,
    /// An HMAC secret shorter than its hash output (32 bytes for HS256).
    WeakSecret,
    /// The algorithm does not fit the kind of key.
    AlgorithmMismatch,
    /// A key could not be read, or a private and public key do not belong together.
    InvalidKey,
    /// A header name is not a valid HTTP header name, or collides with another.
    InvalidHeaderName,
    /// A lifetime or window (`access_ttl`, `refresh_ttl`, `refresh_grace`, `leeway`) is out of
    /// range, not whole seconds, or at odds with another.
    InvalidLifetime,
    /// A count or size is out of range (`max_token_len`, `max_sessions_per_subject`).
    InvalidLimit,
    /// The type of the application claims cannot be merged into a token's payload (see
    /// [`CustomClaims`](crate::CustomClaims)).
    InvalidClaims,
    /// A cookie setting a browser would refuse or misread: a bad name or path, a `__Host-` or
    /// `__Secure-` name out of its rules, `SameSite=None` without `Secure`, a trusted origin
    /// that is not an origin.
    InvalidCookie,
}

/// A configuration that cannot work, refused before any request is served; its `Display` names
/// the setting and the values involved.
///
/// ```
/// use tower_jwt_auth::{ConfigErrorKind, JwtSessions};
///
/// let error = JwtSessions::builder()
///     .hs256_secret(b"an example secret of 32+ bytes!!")
///     .max_token_len(100)
///     .build()
///     .unwrap_err();
/// assert_eq!(error.kind(), ConfigErrorKind::InvalidLimit);
/// assert_eq!(
///     error.to_string(),
///     "invalid tower-jwt-auth configuration: max_token_len (100 bytes) must be at least 256 bytes"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    kind: ConfigErrorKind,
    detail: String,
}

impl ConfigError {
    pub(crate) fn new(kind: ConfigErrorKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
        }
    }

    /// What is wrong.
    #[must_use]
    pub fn kind(&self) -> ConfigErrorKind {
        self.kind
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid tower-jwt-auth configuration: {}", self.detail)
    }
}

impl std::error::Error for ConfigError {}
