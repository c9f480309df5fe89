//! [`KeySourceError`]: why keys could not be fetched or a key source not built.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;

/// What went wrong with a key source. New kinds may be added.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeySourceErrorKind {
    /// A URL that is not `http(s)://host/…`.
    InvalidUrl,
    /// Settings that cannot work (refresh bounds out of order, a zero interval).
    InvalidSettings,
    /// The provider could not be reached, or answered other than `2xx`.
    Unreachable,
    /// The provider did not answer in time: no connection within the connect timeout, or no
    /// whole response within the timeout.
    TimedOut,
    /// The discovery document or the JWK Set is not what the specifications describe, names
    /// another issuer, or holds no usable key.
    InvalidDocument,
}

/// A key source that could not be built, or a fetch that failed. Its `Display` names the whole
/// chain of causes.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use tower_jwt_auth::oidc::{KeySourceErrorKind, RemoteKeys};
///
/// let error = RemoteKeys::jwks("ftp://idp.example.com/jwks").build().await.unwrap_err();
/// assert_eq!(error.kind(), KeySourceErrorKind::InvalidUrl);
/// assert_eq!(error.to_string(), r#""ftp://idp.example.com/jwks" is not an http(s) URL"#);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct KeySourceError {
    kind: KeySourceErrorKind,
    detail: String,
    source: Option<Arc<dyn StdError + Send + Sync>>,
}

impl KeySourceError {
    pub(crate) fn new(kind: KeySourceErrorKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
            source: None,
        }
    }

    pub(crate) fn with_source(self, source: impl StdError + Send + Sync + 'static) -> Self {
        Self {
            source: Some(Arc::new(source)),
            ..self
        }
    }

    pub(crate) fn with_boxed_source(self, source: Box<dyn StdError + Send + Sync>) -> Self {
        Self {
            source: Some(Arc::from(source)),
            ..self
        }
    }

    /// What went wrong.
    #[must_use]
    pub fn kind(&self) -> KeySourceErrorKind {
        self.kind
    }
}

/// The whole chain of causes: HTTP clients wrap the reason a fetch failed (a refused
/// certificate, a refused connection) a level or two down, and these errors end up in logs.
impl fmt::Display for KeySourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.detail)?;
        let mut cause = self
            .source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static));
        while let Some(error) = cause {
            write!(f, ": {error}")?;
            cause = error.source();
        }
        Ok(())
    }
}

impl StdError for KeySourceError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}
