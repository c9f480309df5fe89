//! [`ProblemJson`]: refusals as RFC 9457 problem details.

use http::header::CONTENT_TYPE;
use http::{HeaderValue, Response};
use serde::Serialize;

use super::{ErrorResponder, Rfc6750};
use crate::error::AuthError;

/// A responder that answers refusals with an RFC 9457 `application/problem+json` body and the
/// same status and headers as [`Rfc6750`] (`WWW-Authenticate`, `Retry-After`).
///
/// The body names the status, the error's description and, where RFC 6750 has one, its `error`
/// code; never anything of the request.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use axum::{Router, body::Body, routing::get};
/// use http::Request;
/// use http_body_util::BodyExt;
/// use tower::ServiceExt;
/// use tower_jwt_auth::{JwtSessions, ProblemJson};
///
/// let sessions = JwtSessions::builder()
///     .hs256_secret(b"an example secret of 32+ bytes!!")
///     .build()?;
/// let app = Router::new()
///     .route("/", get(|| async { "hello" }))
///     .layer(sessions.layer().on_error(ProblemJson));
///
/// let request = Request::get("/").header("authorization", "Bearer not.a.token").body(Body::empty())?;
/// let response = app.oneshot(request).await?;
/// assert_eq!(response.status(), 401);
/// assert_eq!(response.headers()["content-type"], "application/problem+json");
/// assert!(response.headers().contains_key("www-authenticate"));
/// let body = response.into_body().collect().await?.to_bytes();
/// assert_eq!(
///     body,
///     r#"{"type":"about:blank","title":"Unauthorized","status":401,"detail":"the access token is malformed","error":"invalid_token"}"#
/// );
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ProblemJson;

#[derive(Serialize)]
struct Problem<'a> {
    r#type: &'static str,
    title: &'a str,
    status: u16,
    detail: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
}

impl<B: From<String>> ErrorResponder<B> for ProblemJson {
    fn respond(&self, error: &AuthError) -> Response<B> {
        let status = error.status();
        let problem = Problem {
            r#type: "about:blank",
            title: status.canonical_reason().unwrap_or_default(),
            status: status.as_u16(),
            detail: error.description(),
            error: error.oauth_error_code(),
        };
        // Static strings and a number: this always serialises.
        let body = serde_json::to_string(&problem).unwrap_or_default();
        let standard: Response<()> = Rfc6750.respond(error);
        let (mut parts, ()) = standard.into_parts();
        parts.headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        Response::from_parts(parts, B::from(body))
    }
}
