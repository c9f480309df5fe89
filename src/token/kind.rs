//! [`TokenKind`]: which of a session's two tokens, as tokens and errors both name it.

use std::fmt;

/// Which of a session's two tokens.
///
/// ```
/// use tower_jwt_auth::TokenKind;
///
/// assert_eq!(TokenKind::Access.typ(), "at+jwt");
/// assert_eq!(TokenKind::Refresh.to_string(), "refresh token");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// Short-lived, sent with every request in `Authorization: Bearer`.
    Access,
    /// Long-lived, sent only to obtain a new access token.
    Refresh,
}

impl TokenKind {
    /// The `typ` header value this kind of token carries.
    #[must_use]
    pub fn typ(self) -> &'static str {
        match self {
            Self::Access => "at+jwt",
            Self::Refresh => "rt+jwt",
        }
    }
}

impl fmt::Display for TokenKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Access => "access token",
            Self::Refresh => "refresh token",
        })
    }
}
