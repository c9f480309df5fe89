//! [`ClientError`]: why the client layer could not send a request, or the inner client's own
//! error; [`UnreadableToken`]: why tokens could not be set; [`InvalidOrigin`]: why a layer
//! cannot be bound to an origin.

use std::fmt;

/// The error of a [`JwtClient`](super::JwtClient): the user must log in again, a refresh
/// failed, or the inner client failed.
///
/// ```
/// use tower_jwt_auth::client::ClientError;
///
/// fn explain(error: &ClientError<std::io::Error>) -> String {
///     match error {
///         ClientError::LoginRequired => "please log in again".to_owned(),
///         other => other.to_string(),
///     }
/// }
/// assert_eq!(explain(&ClientError::LoginRequired), "please log in again");
/// ```
#[non_exhaustive]
#[derive(Debug)]
pub enum ClientError<E> {
    /// There are no tokens, or the server refused the refresh token (expired, revoked, or its
    /// session ended for a theft): log in again and [`set`](super::ClientTokens::set) the new
    /// tokens. Every request fails fast with this until then.
    LoginRequired,
    /// A refresh could not be made (the server answered neither new tokens nor a refusal, or
    /// the request carrying it failed); the tokens are unchanged and a later request tries
    /// again. The reason is the crate's words or the failure's.
    RefreshFailed(String),
    /// The inner client's error.
    Inner(E),
}

impl<E: fmt::Display> fmt::Display for ClientError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::LoginRequired => {
                f.write_str("login required: no session tokens, or the session ended")
            }
            Self::RefreshFailed(why) => write!(f, "the session could not be refreshed: {why}"),
            Self::Inner(error) => write!(f, "{error}"),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for ClientError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Inner(error) => Some(error),
            _ => None,
        }
    }
}

/// The access token given to [`ClientTokens::set`](super::ClientTokens::set) is not a JWT with
/// a readable numeric `exp` claim, which the client needs to know when to refresh.
///
/// ```
/// use tower_jwt_auth::client::{ClientTokens, UnreadableToken};
///
/// let tokens = ClientTokens::new();
/// let error: UnreadableToken = tokens.set("not a JWT", "refresh").unwrap_err();
/// assert_eq!(error.to_string(), "the access token has no readable `exp` claim");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnreadableToken;

impl fmt::Display for UnreadableToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the access token has no readable `exp` claim")
    }
}

impl std::error::Error for UnreadableToken {}

/// Why a text or URI is not an [`Origin`](super::Origin). Never names the input itself: a URI
/// can carry a password.
///
/// ```
/// use tower_jwt_auth::client::{InvalidOrigin, Origin};
///
/// let error = "https://api.example.com/v1".parse::<Origin>().unwrap_err();
/// assert_eq!(error, InvalidOrigin::HasPath);
/// assert_eq!(
///     error.to_string(),
///     "not an origin: an origin is a scheme and a host, with no path, query or fragment",
/// );
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InvalidOrigin {
    /// Not a URI, or its port is not a number.
    Malformed,
    /// No scheme or no host: a relative URI, or a host alone (`api.example.com`).
    NotAbsolute,
    /// A scheme other than `http` and `https`.
    UnsupportedScheme,
    /// A path other than `/`, a query or a fragment.
    HasPath,
    /// User info (`user:password@`) before the host.
    HasUserInfo,
}

impl fmt::Display for InvalidOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let why = match self {
            Self::Malformed => "unreadable as a URI, or its port is not a number",
            Self::NotAbsolute => "no scheme or no host (an origin reads `https://host[:port]`)",
            Self::UnsupportedScheme => "the scheme is neither http nor https",
            Self::HasPath => "an origin is a scheme and a host, with no path, query or fragment",
            Self::HasUserInfo => "an origin is a scheme and a host, with no user info",
        };
        write!(f, "not an origin: {why}")
    }
}

impl std::error::Error for InvalidOrigin {}
