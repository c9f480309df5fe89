//! [`AuthError`]: why a request was refused, and what each kind means on the wire.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;

use http::{HeaderValue, StatusCode};

use super::challenge::{Text, challenge, invalid_request, invalid_token};
use crate::token::TokenKind;

/// What went wrong, without the details. New kinds may be added.
///
/// Each kind has one status: `401` for a token that does not hold, `400` for a malformed
/// request, `403` for a refusal that a token cannot fix, `500` and `503` for failures on this
/// side, which are never `401` (clients would throw good tokens away).
///
/// ```
/// use http::StatusCode;
/// use tower_jwt_auth::{AuthError, AuthErrorKind};
///
/// let status = |kind| AuthError::new(kind).status();
/// assert_eq!(status(AuthErrorKind::Expired), StatusCode::UNAUTHORIZED);
/// assert_eq!(status(AuthErrorKind::CrossSiteRequest), StatusCode::FORBIDDEN);
/// assert_eq!(status(AuthErrorKind::StoreUnavailable), StatusCode::SERVICE_UNAVAILABLE);
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthErrorKind {
    /// No access token and no refresh token (`401` with a bare `Bearer` challenge).
    MissingCredentials,
    /// A malformed `Authorization` or refresh header, or a credential sent twice (`400`).
    InvalidRequest,
    /// The token is not a well-formed JWT for this service (bad encoding, JSON, or claims shape).
    Malformed,
    /// The signature does not verify, or the algorithm is not the one pinned to the key.
    InvalidSignature,
    /// An access token used as a refresh token, or the reverse (`typ` header mismatch).
    WrongTokenType,
    /// The token names no key of this service's key set (missing or unknown `kid`).
    UnknownKey,
    /// The token's `exp` has passed.
    Expired,
    /// The token's `nbf` is still in the future.
    NotYetValid,
    /// A required claim (`iss`, `aud`, `sub`, …) is missing or wrong.
    InvalidClaims,
    /// The store holds no such session (never issued, or expired and purged).
    UnknownSession,
    /// The session was revoked (logout, revoke-all, or an earlier theft verdict).
    Revoked,
    /// A valid access token that is no longer its session's current one.
    Superseded,
    /// A refresh while the session's access token was still valid: treated as a stolen refresh
    /// token, and the session has just been revoked.
    TheftDetected,
    /// A rotated-out refresh token was presented again after the grace window: the whole refresh
    /// family has just been revoked.
    RefreshReuse,
    /// The pair store failed or timed out (`503`): the request may be retried with the same tokens.
    StoreUnavailable,
    /// A failure on this side that the client cannot fix, such as the random source (`500`).
    Internal,
    /// The application claims cannot go into a token: a field is named like a claim this crate
    /// writes, appears twice, or the claims are no JSON object (`500`; the source is a
    /// [`ClaimsError`](crate::ClaimsError) naming the field).
    InvalidCustomClaims,
    /// An unsafe request (POST, PUT, PATCH, DELETE, …) that carries a cookie credential and
    /// comes from another origin, not a trusted one: refused as a possible cross-site request
    /// forgery (`403`).
    CrossSiteRequest,
    /// A token of an identity provider whose signing keys have not arrived yet (`503`, with
    /// `Retry-After`): the service started while the provider was unreachable.
    KeysUnavailable,
    /// A valid token that lacks a scope or role the route requires (`403`,
    /// `insufficient_scope`).
    InsufficientScope,
}

/// A refused request: its [`AuthErrorKind`], which token it concerned, and any underlying cause.
///
/// ```
/// use http::StatusCode;
/// use tower_jwt_auth::{AuthError, AuthErrorKind};
///
/// let error = AuthError::new(AuthErrorKind::StoreUnavailable);
/// // A store failure is never a 401: clients would throw their tokens away.
/// assert_eq!(error.status(), StatusCode::SERVICE_UNAVAILABLE);
/// assert_eq!(error.to_string(), "session store unavailable");
/// assert_eq!(error.challenge(), None);
/// ```
#[derive(Clone)]
pub struct AuthError {
    kind: AuthErrorKind,
    token: Option<TokenKind>,
    detail: Option<Text>,
    /// What exactly is wrong with the input, in this crate's words: never the input itself.
    defect: Option<&'static str>,
    source: Option<Arc<dyn StdError + Send + Sync>>,
}

impl AuthError {
    /// An error of `kind`, about no token in particular.
    #[must_use]
    pub fn new(kind: AuthErrorKind) -> Self {
        Self {
            kind,
            token: None,
            detail: None,
            defect: None,
            source: None,
        }
    }

    pub(crate) fn token(kind: AuthErrorKind, token: TokenKind) -> Self {
        Self {
            token: Some(token),
            ..Self::new(kind)
        }
    }

    /// The same error, about `token`: for a rule that judges any token, applied to one of a
    /// session's.
    pub(crate) fn concerning(mut self, token: TokenKind) -> Self {
        self.token = Some(token);
        self
    }

    pub(crate) fn invalid_request(detail: Text) -> Self {
        Self {
            detail: Some(detail),
            ..Self::new(AuthErrorKind::InvalidRequest)
        }
    }

    /// Names what exactly is wrong, for logs (`Display`, `Debug`); responses keep the
    /// description.
    pub(crate) fn because(mut self, defect: &'static str) -> Self {
        self.defect = Some(defect);
        self
    }

    pub(crate) fn with_source(mut self, source: impl StdError + Send + Sync + 'static) -> Self {
        self.source = Some(Arc::new(source));
        self
    }

    /// What went wrong.
    #[must_use]
    pub fn kind(&self) -> AuthErrorKind {
        self.kind
    }

    /// The token the error concerns, when it concerns one.
    #[must_use]
    pub fn token_kind(&self) -> Option<TokenKind> {
        self.token
    }

    /// The HTTP status this error maps to: `400`, `401`, `403`, `500` or `503`.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self.kind {
            AuthErrorKind::InvalidRequest => StatusCode::BAD_REQUEST,
            AuthErrorKind::CrossSiteRequest | AuthErrorKind::InsufficientScope => {
                StatusCode::FORBIDDEN
            }
            AuthErrorKind::StoreUnavailable | AuthErrorKind::KeysUnavailable => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            AuthErrorKind::Internal | AuthErrorKind::InvalidCustomClaims => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            _ => StatusCode::UNAUTHORIZED,
        }
    }

    /// The RFC 6750 `error` code (`invalid_request`, `invalid_token`), or `None` when the
    /// response carries no error code (missing credentials, server-side failures).
    #[must_use]
    pub fn oauth_error_code(&self) -> Option<&'static str> {
        match self.kind {
            AuthErrorKind::MissingCredentials
            | AuthErrorKind::StoreUnavailable
            | AuthErrorKind::Internal
            | AuthErrorKind::InvalidCustomClaims
            | AuthErrorKind::CrossSiteRequest
            | AuthErrorKind::KeysUnavailable => None,
            AuthErrorKind::InvalidRequest => Some("invalid_request"),
            AuthErrorKind::InsufficientScope => Some("insufficient_scope"),
            _ => Some("invalid_token"),
        }
    }

    /// A short human-readable description, safe to send to clients (no quotes or backslashes, so
    /// it fits an `error_description` parameter as is).
    #[must_use]
    pub fn description(&self) -> &'static str {
        self.text().0
    }

    /// The full RFC 6750 challenge for this error (`Bearer` or `Bearer error=…,
    /// error_description=…`), or `None` for failures on the server's side.
    #[must_use]
    pub fn challenge(&self) -> Option<&'static str> {
        self.text().1.map(|c| c.text)
    }

    /// [`challenge`](Self::challenge) as a ready `WWW-Authenticate` header value (a cheap
    /// clone of a static value).
    ///
    /// ```
    /// use tower_jwt_auth::{AuthError, AuthErrorKind};
    ///
    /// let error = AuthError::new(AuthErrorKind::MissingCredentials);
    /// assert_eq!(error.challenge_header().unwrap(), "Bearer");
    /// assert!(AuthError::new(AuthErrorKind::Internal).challenge_header().is_none());
    /// ```
    #[must_use]
    pub fn challenge_header(&self) -> Option<HeaderValue> {
        self.text().1.map(|c| c.header.clone())
    }

    fn text(&self) -> Text {
        if let Some(detail) = self.detail {
            return detail;
        }
        let refresh = self.token == Some(TokenKind::Refresh);
        match self.kind {
            AuthErrorKind::MissingCredentials => challenge!("Bearer" => "no credentials"),
            AuthErrorKind::InvalidRequest => invalid_request!("malformed request"),
            AuthErrorKind::Malformed if refresh => invalid_token!("the refresh token is malformed"),
            AuthErrorKind::Malformed => invalid_token!("the access token is malformed"),
            AuthErrorKind::InvalidSignature => invalid_token!("the token signature is invalid"),
            AuthErrorKind::UnknownKey => invalid_token!("the token names an unknown key"),
            AuthErrorKind::WrongTokenType if refresh => invalid_token!("expected a refresh token"),
            AuthErrorKind::WrongTokenType => invalid_token!("expected an access token"),
            AuthErrorKind::Expired if refresh => invalid_token!("the refresh token expired"),
            AuthErrorKind::Expired => invalid_token!("the access token expired"),
            AuthErrorKind::NotYetValid => invalid_token!("the token is not valid yet"),
            AuthErrorKind::InvalidClaims => invalid_token!("the token claims are invalid"),
            AuthErrorKind::UnknownSession => invalid_token!("unknown session"),
            AuthErrorKind::Revoked => invalid_token!("the session was revoked"),
            AuthErrorKind::Superseded => invalid_token!("the access token was superseded"),
            AuthErrorKind::TheftDetected => {
                invalid_token!("refresh while the access token was valid; session revoked")
            }
            AuthErrorKind::RefreshReuse => invalid_token!("refresh token reused; session revoked"),
            AuthErrorKind::StoreUnavailable => ("session store unavailable", None),
            AuthErrorKind::Internal => ("internal error", None),
            AuthErrorKind::InvalidCustomClaims => {
                ("the application claims cannot go into a token", None)
            }
            AuthErrorKind::CrossSiteRequest => ("cross-site request refused", None),
            AuthErrorKind::KeysUnavailable => {
                ("the issuer's signing keys are not available yet", None)
            }
            AuthErrorKind::InsufficientScope => {
                challenge!(
                    "insufficient_scope",
                    "the token lacks a required scope or role"
                )
            }
        }
    }
}

impl fmt::Debug for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthError")
            .field("kind", &self.kind)
            .field("token", &self.token)
            .field("description", &self.description())
            .field("defect", &self.defect)
            .field("source", &self.source)
            .finish()
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())?;
        if let Some(defect) = self.defect {
            write!(f, " ({defect})")?;
        }
        if let Some(source) = &self.source {
            write!(f, ": {source}")?;
        }
        Ok(())
    }
}

impl StdError for AuthError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

impl From<crate::store::StoreError> for AuthError {
    fn from(error: crate::store::StoreError) -> Self {
        let kind = match error.kind() {
            crate::store::StoreErrorKind::Conflict => AuthErrorKind::Internal,
            _ => AuthErrorKind::StoreUnavailable,
        };
        Self::new(kind).with_source(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kind, each once: [`place`] stops compiling when a kind is added, and the test
    /// [`every_kind_is_listed`] fails until the kind takes its place here, so no test below can
    /// leave it out.
    const ALL: [AuthErrorKind; 20] = [
        AuthErrorKind::MissingCredentials,
        AuthErrorKind::InvalidRequest,
        AuthErrorKind::Malformed,
        AuthErrorKind::InvalidSignature,
        AuthErrorKind::WrongTokenType,
        AuthErrorKind::UnknownKey,
        AuthErrorKind::Expired,
        AuthErrorKind::NotYetValid,
        AuthErrorKind::InvalidClaims,
        AuthErrorKind::UnknownSession,
        AuthErrorKind::Revoked,
        AuthErrorKind::Superseded,
        AuthErrorKind::TheftDetected,
        AuthErrorKind::RefreshReuse,
        AuthErrorKind::StoreUnavailable,
        AuthErrorKind::Internal,
        AuthErrorKind::InvalidCustomClaims,
        AuthErrorKind::CrossSiteRequest,
        AuthErrorKind::KeysUnavailable,
        AuthErrorKind::InsufficientScope,
    ];

    /// Where `kind` stands in [`ALL`].
    fn place(kind: AuthErrorKind) -> usize {
        match kind {
            AuthErrorKind::MissingCredentials => 0,
            AuthErrorKind::InvalidRequest => 1,
            AuthErrorKind::Malformed => 2,
            AuthErrorKind::InvalidSignature => 3,
            AuthErrorKind::WrongTokenType => 4,
            AuthErrorKind::UnknownKey => 5,
            AuthErrorKind::Expired => 6,
            AuthErrorKind::NotYetValid => 7,
            AuthErrorKind::InvalidClaims => 8,
            AuthErrorKind::UnknownSession => 9,
            AuthErrorKind::Revoked => 10,
            AuthErrorKind::Superseded => 11,
            AuthErrorKind::TheftDetected => 12,
            AuthErrorKind::RefreshReuse => 13,
            AuthErrorKind::StoreUnavailable => 14,
            AuthErrorKind::Internal => 15,
            AuthErrorKind::InvalidCustomClaims => 16,
            AuthErrorKind::CrossSiteRequest => 17,
            AuthErrorKind::KeysUnavailable => 18,
            AuthErrorKind::InsufficientScope => 19,
        }
    }

    #[test]
    fn every_kind_is_listed() {
        for (at, kind) in ALL.into_iter().enumerate() {
            assert_eq!(place(kind), at, "{kind:?}");
        }
    }

    /// Each kind's status and RFC 6750 error code, as the documentation of the kinds states them.
    #[test]
    fn every_kind_has_its_status_and_code() {
        for kind in ALL {
            let (status, code) = match kind {
                AuthErrorKind::MissingCredentials => (401, None),
                AuthErrorKind::InvalidRequest => (400, Some("invalid_request")),
                AuthErrorKind::Malformed
                | AuthErrorKind::InvalidSignature
                | AuthErrorKind::WrongTokenType
                | AuthErrorKind::UnknownKey
                | AuthErrorKind::Expired
                | AuthErrorKind::NotYetValid
                | AuthErrorKind::InvalidClaims
                | AuthErrorKind::UnknownSession
                | AuthErrorKind::Revoked
                | AuthErrorKind::Superseded
                | AuthErrorKind::TheftDetected
                | AuthErrorKind::RefreshReuse => (401, Some("invalid_token")),
                AuthErrorKind::CrossSiteRequest => (403, None),
                AuthErrorKind::InsufficientScope => (403, Some("insufficient_scope")),
                AuthErrorKind::Internal | AuthErrorKind::InvalidCustomClaims => (500, None),
                AuthErrorKind::StoreUnavailable | AuthErrorKind::KeysUnavailable => (503, None),
            };
            let error = AuthError::new(kind);
            assert_eq!(
                (error.status().as_u16(), error.oauth_error_code()),
                (status, code),
                "{kind:?}"
            );
        }
    }

    #[test]
    fn store_failures_are_never_401() {
        let error = AuthError::new(AuthErrorKind::StoreUnavailable);
        assert_eq!(error.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(error.oauth_error_code(), None);
    }

    #[test]
    fn descriptions_fit_a_quoted_string() {
        for kind in ALL {
            for token in [TokenKind::Access, TokenKind::Refresh] {
                let error = AuthError::token(kind, token);
                let text = error.description();
                assert!(!text.contains(['"', '\\']), "{text}");
                if let Some(challenge) = error.challenge() {
                    assert!(
                        http::HeaderValue::from_str(challenge).is_ok(),
                        "{challenge}"
                    );
                    assert_eq!(
                        challenge == "Bearer",
                        kind == AuthErrorKind::MissingCredentials
                    );
                }
            }
        }
    }
}
