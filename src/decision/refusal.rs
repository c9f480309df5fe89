//! [`Refusal`]: a request that must not reach its handler, and how it is answered.

use http::{HeaderMap, Response, StatusCode};

use super::respond::{ErrorResponder, Rfc6750, is_grpc, keep_protocol, plain_text};
use crate::error::AuthError;
use crate::observe;

/// How the refused request is answered: as HTTP, or as a gRPC call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    Http,
    /// `content-type: application/grpc…`: a Trailers-Only answer, by
    /// [`ErrorResponder::respond_grpc`].
    Grpc,
}

impl Protocol {
    pub(crate) fn of(headers: &HeaderMap) -> Self {
        match is_grpc(headers) {
            true => Self::Grpc,
            false => Self::Http,
        }
    }
}

/// A refused request: the handler must not run, and the client gets this answer instead.
///
/// What the layer's default responder ([`Rfc6750`]) sends is [`status`](Self::status),
/// [`headers`](Self::headers) and [`body`](Self::body): `401` with the RFC 6750
/// `WWW-Authenticate` challenge, `400 invalid_request`, `403` for a cross-site request, `503`
/// with `Retry-After` while the store or the keys are unavailable; to a gRPC call, HTTP `200`
/// with `grpc-status` and `grpc-message` (Trailers-Only). An adapter with a responder of its
/// own passes it to [`into_response`](Self::into_response), which keeps the protocol as the
/// layer does; one that renders refusals itself reads the [`error`](Self::error).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use tower_jwt_auth::JwtSessions;
/// use tower_jwt_auth::decision::{Decision, RequestHead};
///
/// let sessions = JwtSessions::builder()
///     .hs256_secret(b"an example secret of 32+ bytes!!")
///     .build()?;
/// let request = http::Request::get("/me").header("authorization", "Bearer a.b.c").body(())?;
/// let Decision::Refuse(refusal) = sessions.gate().decide(RequestHead::from(&request)).await else {
///     panic!("a forged token is refused");
/// };
/// assert_eq!(refusal.status(), 401);
/// assert_eq!(
///     refusal.headers()["www-authenticate"],
///     r#"Bearer error="invalid_token", error_description="the access token is malformed""#
/// );
/// assert_eq!(refusal.body(), ""); // the challenge names the reason
/// assert!(!refusal.is_grpc());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a refused request must be answered with its refusal"]
pub struct Refusal {
    error: AuthError,
    protocol: Protocol,
}

impl Refusal {
    /// Refuses a request with `headers` for `error`, telling the world (see
    /// [`observe`](crate::guide::observability)).
    #[cfg(feature = "oidc")]
    pub(crate) fn of(error: AuthError, headers: &HeaderMap) -> Self {
        Self::noted(error, Protocol::of(headers))
    }

    /// Refuses a request answered in `protocol`, telling the world.
    #[inline]
    pub(crate) fn noted(error: AuthError, protocol: Protocol) -> Self {
        observe::refused(&error);
        Self { error, protocol }
    }

    /// Why the request is refused.
    #[must_use]
    pub fn error(&self) -> &AuthError {
        &self.error
    }

    /// Why the request is refused, taken out.
    #[must_use]
    pub fn into_error(self) -> AuthError {
        self.error
    }

    /// Whether the refused request is a gRPC call (`content-type: application/grpc…`), answered
    /// with a gRPC status rather than an HTTP one.
    #[must_use]
    pub fn is_grpc(&self) -> bool {
        self.protocol == Protocol::Grpc
    }

    /// The answer's status: the error's [`status`](AuthError::status), or `200` to a gRPC call,
    /// whose status is in `grpc-status`.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self.protocol {
            Protocol::Http => self.error.status(),
            Protocol::Grpc => StatusCode::OK,
        }
    }

    /// The answer's headers: `WWW-Authenticate`, `Retry-After` and `Content-Type` as the
    /// refusal calls for them; to a gRPC call, `content-type: application/grpc`, `grpc-status`
    /// and `grpc-message`.
    #[must_use]
    pub fn headers(&self) -> HeaderMap {
        self.answer::<String, _>(&Rfc6750).into_parts().0.headers
    }

    /// The answer's body: the error's [`description`](AuthError::description) in plain text
    /// when no header carries the reason (a `403`, a `503`, a `500`), empty otherwise and to a
    /// gRPC call.
    #[must_use]
    pub fn body(&self) -> &'static str {
        match self.protocol {
            Protocol::Http => plain_text(&self.error).unwrap_or_default(),
            Protocol::Grpc => "",
        }
    }

    /// The answer `responder` gives, as the layer sends it: [`respond_grpc`](ErrorResponder::respond_grpc)
    /// to a gRPC call, [`respond`](ErrorResponder::respond) otherwise; then a `4xx` without a
    /// `WWW-Authenticate` header gets the error's challenge, and a `503` without `Retry-After`
    /// gets one.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use tower_jwt_auth::decision::{Decision, RequestHead};
    /// use tower_jwt_auth::{AuthError, JwtSessions};
    ///
    /// let sessions = JwtSessions::builder()
    ///     .hs256_secret(b"an example secret of 32+ bytes!!")
    ///     .build()?;
    /// let anonymous = http::Request::get("/me").body(())?;
    /// let Decision::Refuse(refusal) = sessions.gate().decide(RequestHead::from(&anonymous)).await else {
    ///     panic!("a request without credentials is refused");
    /// };
    /// let json = |error: &AuthError| {
    ///     let mut response = http::Response::new(format!(r#"{{"error":"{}"}}"#, error.description()));
    ///     *response.status_mut() = error.status();
    ///     response
    /// };
    /// let response = refusal.into_response(&json);
    /// assert_eq!(response.status(), 401);
    /// assert_eq!(response.headers()["www-authenticate"], "Bearer"); // kept
    /// assert_eq!(response.body(), r#"{"error":"no credentials"}"#);
    /// # Ok(()) }
    /// ```
    #[inline]
    pub fn into_response<B: Default>(self, responder: &impl ErrorResponder<B>) -> Response<B> {
        self.answer(responder)
    }

    #[inline]
    fn answer<B: Default, R: ErrorResponder<B>>(&self, responder: &R) -> Response<B> {
        let mut response = match self.protocol {
            Protocol::Http => responder.respond(&self.error),
            Protocol::Grpc => responder.respond_grpc(&self.error),
        };
        keep_protocol(&mut response, &self.error);
        response
    }
}

#[cfg(test)]
mod tests {
    use super::super::respond::Grpc;
    use super::*;
    use crate::error::AuthErrorKind;

    /// `status`, `headers` and `body` are exactly what the default responders send.
    #[test]
    fn the_parts_are_the_default_answer() {
        for kind in [
            AuthErrorKind::MissingCredentials,
            AuthErrorKind::Expired,
            AuthErrorKind::InvalidRequest,
            AuthErrorKind::CrossSiteRequest,
            AuthErrorKind::StoreUnavailable,
            AuthErrorKind::KeysUnavailable,
            AuthErrorKind::Internal,
        ] {
            let error = AuthError::new(kind);
            for (protocol, answer) in [
                (Protocol::Http, Rfc6750.respond(&error)),
                (Protocol::Grpc, Grpc.respond(&error)),
            ] {
                let refusal = Refusal {
                    error: error.clone(),
                    protocol,
                };
                let answer: Response<String> = answer;
                assert_eq!(refusal.status(), answer.status(), "{kind:?}");
                assert_eq!(&refusal.headers(), answer.headers(), "{kind:?}");
                assert_eq!(refusal.body(), answer.body(), "{kind:?}");
            }
        }
    }
}
