//! How an [`AuthError`] becomes a response: the one replaceable hook, [`ErrorResponder`].
//!
//! The default, [`Rfc6750`], answers as RFC 6750 §3 describes: `401` with a `WWW-Authenticate:
//! Bearer` challenge, `400 invalid_request` for malformed requests, and `503` with
//! `Retry-After` when the store is down (never `401`: clients would discard good tokens). A
//! refusal without a challenge (a cross-site request's `403`, a `503`, a `500`) names its reason
//! in a short `text/plain` body instead. [`ProblemJson`] answers the same with an RFC 9457
//! `application/problem+json` body.
//!
//! Any `Fn(&AuthError) -> Response<B>` is a responder too. Whatever a responder returns, the
//! layer keeps the protocol: a `4xx` answer without a `WWW-Authenticate` header gets the error's
//! challenge, and a `503` without `Retry-After` gets one. So a custom body is one closure:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use axum::{Router, body::Body, routing::get};
//! use http::{Request, Response};
//! use tower::ServiceExt;
//! use tower_jwt_auth::{AuthError, JwtSessions};
//!
//! let sessions = JwtSessions::builder()
//!     .hs256_secret(b"an example secret of 32+ bytes!!")
//!     .build()?;
//! let json = |error: &AuthError| {
//!     let body = format!(r#"{{"error":"{}"}}"#, error.description());
//!     let mut response = Response::new(Body::from(body));
//!     *response.status_mut() = error.status();
//!     response
//! };
//! let app = Router::new()
//!     .route("/", get(|| async { "hello" }))
//!     .layer(sessions.layer().on_error(json));
//! let response = app.oneshot(Request::new(Body::empty())).await?;
//! assert_eq!(response.status(), 401);
//! assert_eq!(response.headers()["www-authenticate"], "Bearer"); // kept by the layer
//! # Ok(()) }
//! ```

use http::header::{CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderValue, Response};

use crate::error::AuthError;
use text::{TEXT_PLAIN, text_body};

mod grpc;
mod problem;
mod text;

pub use grpc::Grpc;
pub(crate) use grpc::is_grpc;
pub use problem::ProblemJson;

/// Turns a refused request's [`AuthError`] into the response sent instead of calling the inner
/// service.
///
/// A gRPC request (`content-type: application/grpc…`) is answered by
/// [`respond_grpc`](Self::respond_grpc), every other one by [`respond`](Self::respond). By
/// default `respond_grpc` gives the [`Grpc`] answer, a status a gRPC client can read, so a
/// closure or a responder that implements `respond` alone shapes the HTTP answers only. To
/// answer gRPC requests your own way too, implement `respond_grpc`:
///
/// ```
/// use http::{HeaderValue, Response};
/// use tower_jwt_auth::{AuthError, ErrorResponder, Grpc, ProblemJson};
///
/// /// Problem details over HTTP; over gRPC, the built-in status with an error id added.
/// #[derive(Clone)]
/// struct Tagged;
///
/// impl ErrorResponder<String> for Tagged {
///     fn respond(&self, error: &AuthError) -> Response<String> {
///         ProblemJson.respond(error)
///     }
///
///     fn respond_grpc(&self, error: &AuthError) -> Response<String> {
///         let mut response: Response<String> = Grpc.respond(error);
///         response.headers_mut().insert("x-error-id", HeaderValue::from_static("e-42"));
///         response
///     }
/// }
///
/// let grpc = Tagged.respond_grpc(&AuthError::new(tower_jwt_auth::AuthErrorKind::Expired));
/// assert_eq!(grpc.headers()["grpc-status"], "16");
/// assert_eq!(grpc.headers()["x-error-id"], "e-42");
/// ```
///
/// Either answer then passes through the same protocol rules as any other (see the module
/// docs); the [`Grpc`] answer, a `200`, needs none of them.
pub trait ErrorResponder<B>: Clone + Send + Sync + 'static {
    /// The response for `error`.
    fn respond(&self, error: &AuthError) -> Response<B>;

    /// The response for `error` when the refused request is a gRPC call; [`Grpc`]'s
    /// Trailers-Only answer unless implemented.
    fn respond_grpc(&self, error: &AuthError) -> Response<B>
    where
        B: Default,
    {
        Grpc.respond(error)
    }
}

impl<B, F> ErrorResponder<B> for F
where
    F: Fn(&AuthError) -> Response<B> + Clone + Send + Sync + 'static,
{
    fn respond(&self, error: &AuthError) -> Response<B> {
        self(error)
    }
}

/// Adds what RFC 6750 and RFC 9110 ask of a refusal if the responder left it out: the error's
/// `WWW-Authenticate` challenge on a `4xx` answer, and `Retry-After` on a `503`. A header the
/// responder set is never replaced.
pub(super) fn keep_protocol<B>(response: &mut Response<B>, error: &AuthError) {
    let status = response.status();
    let headers = response.headers_mut();
    if status.is_client_error()
        && !headers.contains_key(WWW_AUTHENTICATE)
        && let Some(challenge) = error.challenge_header()
    {
        headers.insert(WWW_AUTHENTICATE, challenge);
    }
    if status == http::StatusCode::SERVICE_UNAVAILABLE && !headers.contains_key(RETRY_AFTER) {
        headers.insert(RETRY_AFTER, HeaderValue::from_static("1"));
    }
}

/// The default responder: RFC 6750 challenges with an empty body, and a short plain-text body
/// for a refusal whose reason no header carries.
///
/// A `401` or `400` names its reason in its `WWW-Authenticate` challenge. A refusal without one
/// — a cross-site request's `403`, the `503` of a failing store, a `500` — gets its
/// [`description`](AuthError::description) as a `text/plain` body instead, so that it cannot be
/// taken for the application's own answer. Text fits the body types that can hold it: `String`,
/// `Vec<u8>`, `bytes::Bytes`, `http_body_util::Full<Bytes>` and axum's `Body`; any other (such
/// as tonic's, whose gRPC calls get the [`Grpc`] answer anyway) stays empty. For JSON bodies,
/// use [`ProblemJson`](crate::ProblemJson).
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
/// assert_eq!(response.body(), "");
///
/// let forbidden: http::Response<String> =
///     Rfc6750.respond(&AuthError::new(AuthErrorKind::CrossSiteRequest));
/// assert_eq!(forbidden.status(), 403);
/// assert_eq!(forbidden.headers()["content-type"], "text/plain; charset=utf-8");
/// assert_eq!(forbidden.body(), "cross-site request refused");
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Rfc6750;

impl<B: Default + 'static> ErrorResponder<B> for Rfc6750 {
    fn respond(&self, error: &AuthError) -> Response<B> {
        let challenge = error.challenge_header();
        let text = plain_text(error).and_then(text_body);
        let texted = text.is_some();
        let mut response = Response::new(text.unwrap_or_default());
        *response.status_mut() = error.status();
        let headers = response.headers_mut();
        if let Some(challenge) = challenge {
            headers.insert(WWW_AUTHENTICATE, challenge);
        }
        if texted {
            headers.insert(CONTENT_TYPE, TEXT_PLAIN);
        }
        // Every `503` is one the client may retry: the store's, or the issuer's keys'.
        if error.status() == http::StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

/// The reason [`Rfc6750`] writes in a refusal's body: the description of an error whose
/// reason no challenge carries.
pub(super) fn plain_text(error: &AuthError) -> Option<&'static str> {
    match error.challenge() {
        Some(_) => None,
        None => Some(error.description()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::AuthErrorKind;
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

    /// The keys of an identity provider that have not arrived yet are a `503` the client may
    /// retry, as a store failure is: `Retry-After` from the responder itself, not only from
    /// the layer that uses it.
    #[test]
    fn every_503_has_retry_after() {
        for kind in [
            AuthErrorKind::StoreUnavailable,
            AuthErrorKind::KeysUnavailable,
        ] {
            let response = respond(kind);
            assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(response.headers()[RETRY_AFTER], "1", "{kind:?}");
        }
    }

    /// A refusal without a challenge names its reason in the body; one with a challenge keeps
    /// an empty body, as does a body type that cannot hold text.
    #[test]
    fn only_a_refusal_without_a_challenge_has_a_text_body() {
        for (kind, body) in [
            (
                AuthErrorKind::CrossSiteRequest,
                "cross-site request refused",
            ),
            (AuthErrorKind::StoreUnavailable, "session store unavailable"),
            (AuthErrorKind::Internal, "internal error"),
            (AuthErrorKind::Expired, ""),
            (AuthErrorKind::MissingCredentials, ""),
        ] {
            let response: Response<String> = Rfc6750.respond(&AuthError::new(kind));
            assert_eq!(response.body(), body, "{kind:?}");
            let typed = response.headers().get(CONTENT_TYPE);
            assert_eq!(typed.is_some(), !body.is_empty(), "{kind:?}");
        }
        let response = respond(AuthErrorKind::CrossSiteRequest);
        assert!(!response.headers().contains_key(CONTENT_TYPE));
    }
}
