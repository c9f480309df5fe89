//! How an [`AuthError`] becomes a response: the one replaceable hook, [`ErrorResponder`].
//!
//! The default, [`Rfc6750`], answers as RFC 6750 §3 describes: `401` with a `WWW-Authenticate:
//! Bearer` challenge, `400 invalid_request` for malformed requests, and `503` with
//! `Retry-After` when the store is down (never `401`: clients would discard good tokens).
//!
//! Any `Fn(&AuthError) -> Response<B>` is a responder too, which is how other protocols (gRPC
//! status codes, JSON problem documents) plug in:
//!
//! ```
//! use http::{Response, StatusCode};
//! use tower_jwt_auth::{AuthError, ErrorResponder};
//!
//! let json = |error: &AuthError| {
//!     Response::builder()
//!         .status(error.status())
//!         .header("content-type", "application/json")
//!         .body(format!(r#"{{"error":"{}"}}"#, error.description()))
//!         .unwrap()
//! };
//! let error = AuthError::new(tower_jwt_auth::AuthErrorKind::Expired);
//! assert_eq!(json.respond(&error).status(), StatusCode::UNAUTHORIZED);
//! ```

use http::header::{RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderValue, Response};

use crate::error::{AuthError, AuthErrorKind};

/// Turns a refused request's [`AuthError`] into the response sent instead of calling the inner
/// service.
pub trait ErrorResponder<B>: Clone + Send + Sync + 'static {
    /// The response for `error`.
    fn respond(&self, error: &AuthError) -> Response<B>;
}

impl<B, F> ErrorResponder<B> for F
where
    F: Fn(&AuthError) -> Response<B> + Clone + Send + Sync + 'static,
{
    fn respond(&self, error: &AuthError) -> Response<B> {
        self(error)
    }
}

/// Answers a refused request through `responder`, logging the failures that are ours.
pub(crate) fn refuse<B, R: ErrorResponder<B>>(responder: &R, error: &AuthError) -> Response<B> {
    if matches!(
        error.kind(),
        AuthErrorKind::StoreUnavailable | AuthErrorKind::Internal
    ) {
        tracing::error!(%error, "request refused by a server-side failure");
    }
    responder.respond(error)
}

/// The default responder: RFC 6750 challenges with an empty body.
///
/// ```
/// use http::header::WWW_AUTHENTICATE;
/// use tower_jwt_auth::{AuthError, AuthErrorKind, ErrorResponder, Rfc6750};
///
/// let response: http::Response<String> = Rfc6750.respond(&AuthError::new(AuthErrorKind::Revoked));
/// assert_eq!(response.status(), 401);
/// assert_eq!(
///     response.headers()[WWW_AUTHENTICATE],
///     r#"Bearer error="invalid_token", error_description="the session was revoked""#
/// );
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Rfc6750;

impl<B: Default> ErrorResponder<B> for Rfc6750 {
    fn respond(&self, error: &AuthError) -> Response<B> {
        let mut response = Response::new(B::default());
        *response.status_mut() = error.status();
        let headers = response.headers_mut();
        if let Some(challenge) = error.challenge_header() {
            headers.insert(WWW_AUTHENTICATE, challenge);
        }
        if error.kind() == AuthErrorKind::StoreUnavailable {
            headers.insert(RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::StatusCode;

    fn respond(kind: AuthErrorKind) -> Response<()> {
        Rfc6750.respond(&AuthError::new(kind))
    }

    #[test]
    fn missing_credentials_get_a_bare_challenge() {
        let response = respond(AuthErrorKind::MissingCredentials);
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(response.headers()[WWW_AUTHENTICATE], "Bearer");
    }

    #[test]
    fn malformed_requests_get_400_invalid_request() {
        let response: Response<()> = Rfc6750.respond(&AuthError::invalid_request(
            crate::error::invalid_request!("two Authorization headers"),
        ));
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            response.headers()[WWW_AUTHENTICATE],
            r#"Bearer error="invalid_request", error_description="two Authorization headers""#
        );
    }

    #[test]
    fn store_failure_is_503_with_retry_after_and_no_challenge() {
        let response = respond(AuthErrorKind::StoreUnavailable);
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[RETRY_AFTER], "1");
        assert!(!response.headers().contains_key(WWW_AUTHENTICATE));
    }
}
