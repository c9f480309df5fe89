//! [`ConfigError`]: a configuration refused before any request is served.

use std::fmt;

/// What is wrong with a configuration. New kinds may be added.
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
    /// A lifetime, window or limit is out of range.
    InvalidLifetime,
    /// The type of the application claims cannot be merged into a token's payload (see
    /// [`CustomClaims`](crate::CustomClaims)).
    InvalidClaims,
    /// A cookie setting a browser would refuse or misread: a bad name or path, a `__Host-` or
    /// `__Secure-` name out of its rules, `SameSite=None` without `Secure`, a trusted origin
    /// that is not an origin.
    InvalidCookie,
}

/// A configuration that cannot work, refused before any request is served.
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
