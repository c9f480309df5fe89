//! Between actix-web's types and the `http` 1 types of the decision. actix-web 4 is built on
//! `http` 0.2, so a request's head is copied once, and a response's headers only when a refresh
//! has something to add to them.

use actix_web::HttpRequest;
use actix_web::http::StatusCode as ActixStatus;
use actix_web::http::header::{
    HeaderMap as ActixHeaders, HeaderName as ActixName, HeaderValue as ActixValue,
};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};

use crate::decision::{Refusal, RequestHead};

/// A request's head, copied into `http` 1 types for the decision.
pub(super) struct OwnedHead {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
}

impl OwnedHead {
    /// The head of `request`; `None` when a part of it has no `http` 1 form. Both `http`
    /// versions accept the same names, values, methods and URIs, so that is not expected; but a
    /// header left out could be an `Origin` slipping past the cross-site check, so the caller
    /// refuses such a request rather than deciding without it.
    pub(super) fn of(request: &HttpRequest) -> Option<Self> {
        let method = Method::from_bytes(request.method().as_str().as_bytes()).ok()?;
        let uri = Uri::try_from(request.uri().to_string()).ok()?;
        Some(Self {
            method,
            uri,
            headers: to_http(request.headers())?,
        })
    }

    pub(super) fn head(&self) -> RequestHead<'_> {
        RequestHead::new(&self.method, &self.uri, &self.headers)
    }
}

/// actix-web's headers as an `http` 1 map, every value of every name, in order.
pub(super) fn to_http(headers: &ActixHeaders) -> Option<HeaderMap> {
    let mut map = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        let name = HeaderName::from_bytes(name.as_str().as_bytes()).ok()?;
        map.append(name, HeaderValue::from_bytes(value.as_bytes()).ok()?);
    }
    Some(map)
}

/// Puts every header of `map` into `headers`, beside those already there.
pub(super) fn append_to_actix(map: &HeaderMap, headers: &mut ActixHeaders) -> Option<()> {
    for (name, value) in map {
        let name = ActixName::from_bytes(name.as_str().as_bytes()).ok()?;
        headers.append(name, ActixValue::from_bytes(value.as_bytes()).ok()?);
    }
    Some(())
}

/// The refusal's answer, as the tower layer's default responder sends it.
pub(super) fn refused(refusal: &Refusal) -> actix_web::HttpResponse {
    let status = ActixStatus::from_u16(refusal.status().as_u16())
        .unwrap_or(ActixStatus::INTERNAL_SERVER_ERROR);
    let mut response = actix_web::HttpResponse::build(status).body(refusal.body());
    match append_to_actix(&refusal.headers(), response.headers_mut()) {
        Some(()) => response,
        None => unconvertible(),
    }
}

/// A `400` for a request whose head has no `http` 1 form.
pub(super) fn malformed_request() -> actix_web::HttpResponse {
    actix_web::HttpResponse::BadRequest().body("malformed request head")
}

/// A `500` for a response whose headers have no `http` 1 form (see [`OwnedHead::of`]).
pub(super) fn unconvertible() -> actix_web::HttpResponse {
    actix_web::HttpResponse::InternalServerError().body("a response header could not be converted")
}
