//! The extractors of the claims a [`JwtAuthMiddleware`](super::JwtAuthMiddleware) let through,
//! and a [`TokenPair`] as a login route's response.

use std::fmt;
use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, Responder, ResponseError};

use crate::issued::TokenPair;
use crate::token::{Claims, CustomClaims};

/// The rejection of the claims extractors when the request has none: the route is not behind a
/// [`JwtAuthMiddleware`](super::JwtAuthMiddleware), or behind one that decides on claims of
/// another type. A `500` whose body names the type the handler asked for: a server
/// misconfiguration, never the client's fault.
///
/// ```
/// use actix_web::{FromRequest, ResponseError, test::TestRequest};
/// use tower_jwt_auth::Claims;
///
/// // A request no middleware has seen.
/// let request = TestRequest::default().to_http_request();
/// let rejection = Claims::<()>::extract(&request).into_inner().unwrap_err();
/// assert_eq!(rejection.status_code(), 500);
/// assert_eq!(rejection.wanted(), "Claims<()>");
/// ```
#[derive(Debug, Clone)]
pub struct MissingClaims {
    wanted: String,
}

impl MissingClaims {
    /// The type the handler asked for, as `Claims<path::to::C>` or `AccessClaims`.
    #[must_use]
    pub fn wanted(&self) -> &str {
        &self.wanted
    }
}

impl fmt::Display for MissingClaims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Missing claims: `{}` was not found in the request. Perhaps the route is not wrapped \
             in a JwtAuthMiddleware (`.wrap(JwtAuthMiddleware::from(&sessions))`), or the one \
             in front of it decides on another claims type.",
            self.wanted
        )
    }
}

impl std::error::Error for MissingClaims {}

impl ResponseError for MissingClaims {
    fn status_code(&self) -> StatusCode {
        StatusCode::INTERNAL_SERVER_ERROR
    }

    fn error_response(&self) -> HttpResponse {
        tracing::error!(error = %self, "a handler asked for claims the request does not have");
        HttpResponse::InternalServerError()
            .insert_header((CONTENT_TYPE, "text/plain; charset=utf-8"))
            .body(self.to_string())
    }
}

/// The claims the middleware put in the request's extensions, cloned; `wanted` names them.
fn claims<T: Clone + 'static>(
    request: &HttpRequest,
    wanted: impl FnOnce() -> String,
) -> Ready<Result<T, MissingClaims>> {
    let claims = request.extensions().get::<T>().cloned();
    ready(claims.ok_or_else(|| MissingClaims { wanted: wanted() }))
}

/// The claims of a request a [`JwtAuthMiddleware`](super::JwtAuthMiddleware) served.
/// `Option<Claims<C>>` is `None` for a request served without credentials (a gate that
/// [allows anonymous requests](crate::decision::Gate::allow_anonymous)).
impl<C: CustomClaims> FromRequest for Claims<C> {
    type Error = MissingClaims;
    type Future = Ready<Result<Self, MissingClaims>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        claims(request, || {
            format!("Claims<{}>", std::any::type_name::<C>())
        })
    }
}

/// With the `oidc` feature: the claims a resource server's middleware verified;
/// `Option<AccessClaims>` is `None` for a request served without a token.
#[cfg(feature = "oidc")]
impl FromRequest for crate::oidc::AccessClaims {
    type Error = MissingClaims;
    type Future = Ready<Result<Self, MissingClaims>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        claims(request, || "AccessClaims".to_owned())
    }
}

/// A login response: `200` with the pair as RFC 6749 §5.1 JSON, and `Cache-Control: no-store`,
/// since it carries tokens.
impl Responder for TokenPair {
    type Body = actix_web::body::BoxBody;

    fn respond_to(self, _: &HttpRequest) -> HttpResponse {
        match serde_json::to_vec(&self) {
            Ok(json) => HttpResponse::Ok()
                .insert_header((CONTENT_TYPE, "application/json"))
                .insert_header((CACHE_CONTROL, "no-store"))
                .body(json),
            Err(_) => HttpResponse::InternalServerError().finish(),
        }
    }
}
