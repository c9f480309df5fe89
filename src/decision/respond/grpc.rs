//! [`Grpc`]: refusals as gRPC statuses, for requests whose `content-type` is `application/grpc`.
//!
//! A gRPC server answers an error with a Trailers-Only response (HTTP `200`, `content-type:
//! application/grpc`, the status in `grpc-status` and `grpc-message`), never with an HTTP error
//! status: a client sees `401` as a transport failure and loses the reason, and a gRPC trace
//! layer classifies a response without `grpc-status` as a success.

use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode};

use super::ErrorResponder;
use crate::error::AuthError;

const GRPC_STATUS: HeaderName = HeaderName::from_static("grpc-status");
const GRPC_MESSAGE: HeaderName = HeaderName::from_static("grpc-message");

/// `UNAUTHENTICATED`: every `401` and `400` refusal.
const UNAUTHENTICATED: &str = "16";
/// `UNAVAILABLE`: the store failed; the call may be retried.
const UNAVAILABLE: &str = "14";
/// `PERMISSION_DENIED`: a `403`.
const PERMISSION_DENIED: &str = "7";
/// `INTERNAL`: a failure on the server's side.
const INTERNAL: &str = "13";

/// Whether `headers` are a gRPC request's: `content-type: application/grpc`, with or without a
/// `+proto`-style suffix.
pub(crate) fn is_grpc(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"))
}

/// The gRPC status code of a refusal: `UNAUTHENTICATED` (16) for what HTTP answers `401` or
/// `400`, `UNAVAILABLE` (14) for a store failure, `PERMISSION_DENIED` (7) for a `403`, `INTERNAL`
/// (13) otherwise.
fn code(status: StatusCode) -> &'static str {
    match status {
        StatusCode::UNAUTHORIZED | StatusCode::BAD_REQUEST => UNAUTHENTICATED,
        StatusCode::SERVICE_UNAVAILABLE => UNAVAILABLE,
        StatusCode::FORBIDDEN => PERMISSION_DENIED,
        _ => INTERNAL,
    }
}

/// `text`, percent-encoded as `grpc-message` requires: every byte outside printable ASCII, and
/// `%` itself.
fn percent_encoded(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for &b in text.as_bytes() {
        if (0x20..=0x7e).contains(&b) && b != b'%' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The responder the layer uses for every gRPC request: a Trailers-Only response whose
/// `grpc-status` is `UNAUTHENTICATED` (16) for each `401` and `400` case, `UNAVAILABLE` (14) for
/// a store failure, `PERMISSION_DENIED` (7) for a `403`, and whose `grpc-message` carries the
/// same reason the HTTP answer's challenge gives. The layer answers every request whose
/// `content-type` is gRPC's with it, unless the [`ErrorResponder`] set with `on_error`
/// implements [`respond_grpc`](ErrorResponder::respond_grpc).
///
/// ```
/// use tower_jwt_auth::{AuthError, AuthErrorKind, ErrorResponder, Grpc};
///
/// let response: http::Response<()> = Grpc.respond(&AuthError::new(AuthErrorKind::Revoked));
/// assert_eq!(response.status(), 200);
/// assert_eq!(response.headers()["content-type"], "application/grpc");
/// assert_eq!(response.headers()["grpc-status"], "16");
/// assert_eq!(response.headers()["grpc-message"], "the session was revoked");
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Grpc;

impl<B: Default> ErrorResponder<B> for Grpc {
    fn respond(&self, error: &AuthError) -> Response<B> {
        let mut response = Response::new(B::default());
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
        headers.insert(GRPC_STATUS, HeaderValue::from_static(code(error.status())));
        // Percent-encoded printable ASCII: always a valid header value.
        if let Ok(message) = HeaderValue::try_from(percent_encoded(error.description())) {
            headers.insert(GRPC_MESSAGE, message);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::AuthErrorKind;

    #[test]
    fn statuses_follow_the_http_answer() {
        for (kind, status) in [
            (AuthErrorKind::Expired, "16"),
            (AuthErrorKind::MissingCredentials, "16"),
            (AuthErrorKind::InvalidRequest, "16"),
            (AuthErrorKind::TheftDetected, "16"),
            (AuthErrorKind::StoreUnavailable, "14"),
            (AuthErrorKind::Internal, "13"),
        ] {
            let response: Response<()> = Grpc.respond(&AuthError::new(kind));
            assert_eq!(response.status(), StatusCode::OK);
            assert_eq!(response.headers()[GRPC_STATUS], status, "{kind:?}");
        }
        assert_eq!(code(StatusCode::FORBIDDEN), "7");
    }

    #[test]
    fn messages_are_percent_encoded() {
        assert_eq!(percent_encoded("50% done; ☃"), "50%25 done; %E2%98%83");
        assert_eq!(percent_encoded("a\nb"), "a%0Ab");
    }
}
