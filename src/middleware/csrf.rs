//! The cross-site check of requests that carry a cookie credential.
//!
//! A browser attaches cookies to requests that any page starts, so a form on another site could
//! make a logged-in user's browser post to this one. Unsafe requests (every method but `GET`,
//! `HEAD` and `OPTIONS`) are let through only when the browser says they come from this origin:
//!
//! 1. `Sec-Fetch-Site: same-origin` (or `none`: typed in the address bar) is allowed; any other
//!    value (`same-site`, `cross-site`) only from a trusted origin.
//! 2. Without `Sec-Fetch-Site` (older browsers), an `Origin` naming the request's own host, or a
//!    trusted origin, is allowed; another `Origin` is not.
//! 3. Without either header the request is not from a browser that could be tricked, and is
//!    allowed.

use http::header::{HOST, ORIGIN};
use http::{HeaderValue, Method, Request};

use crate::error::{AuthError, AuthErrorKind};

const SEC_FETCH_SITE: &str = "sec-fetch-site";

/// Whether `request` may go on; a cross-site unsafe request is `403`.
pub(crate) fn check<B>(request: &Request<B>, trusted: &[String]) -> Result<(), AuthError> {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return Ok(());
    }
    let headers = request.headers();
    let origin = headers.get(ORIGIN);
    let allowed = match headers.get(SEC_FETCH_SITE).map(HeaderValue::as_bytes) {
        Some(b"same-origin" | b"none") => true,
        Some(_) => is_trusted(origin, trusted),
        None => match origin {
            None => true,
            Some(origin) => is_own(origin, request) || is_trusted(Some(origin), trusted),
        },
    };
    if allowed {
        Ok(())
    } else {
        Err(AuthError::new(AuthErrorKind::CrossSiteRequest))
    }
}

fn is_trusted(origin: Option<&HeaderValue>, trusted: &[String]) -> bool {
    origin.is_some_and(|origin| {
        trusted
            .iter()
            .any(|t| t.as_bytes().eq_ignore_ascii_case(origin.as_bytes()))
    })
}

/// Whether `Origin` names the host the request was sent to (`Host`, or the HTTP/2 authority).
fn is_own<B>(origin: &HeaderValue, request: &Request<B>) -> bool {
    let Some((_, origin_host)) = origin.to_str().ok().and_then(|o| o.split_once("://")) else {
        return false;
    };
    let host = match request.uri().authority() {
        Some(authority) => authority.as_str(),
        None => match request.headers().get(HOST).and_then(|h| h.to_str().ok()) {
            Some(host) => host,
            None => return false,
        },
    };
    origin_host.eq_ignore_ascii_case(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: Method, headers: &[(&str, &str)]) -> Request<()> {
        let mut builder = Request::builder().method(method).uri("/logout");
        builder = builder.header(HOST, "app.example.com");
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(()).unwrap()
    }

    fn allowed(method: Method, headers: &[(&str, &str)]) -> bool {
        let trusted = ["https://admin.example.com".to_owned()];
        check(&request(method, headers), &trusted).is_ok()
    }

    #[test]
    fn safe_methods_are_never_checked() {
        for method in [Method::GET, Method::HEAD, Method::OPTIONS] {
            assert!(allowed(method, &[("sec-fetch-site", "cross-site")]));
        }
    }

    #[test]
    fn sec_fetch_site_decides_when_present() {
        assert!(allowed(Method::POST, &[("sec-fetch-site", "same-origin")]));
        assert!(allowed(Method::DELETE, &[("sec-fetch-site", "none")]));
        assert!(!allowed(Method::POST, &[("sec-fetch-site", "cross-site")]));
        // Another port or subdomain of the same site is still another origin.
        assert!(!allowed(
            Method::PUT,
            &[
                ("sec-fetch-site", "same-site"),
                ("origin", "https://app.example.com")
            ]
        ));
        assert!(allowed(
            Method::PATCH,
            &[
                ("sec-fetch-site", "same-site"),
                ("origin", "https://Admin.example.com")
            ]
        ));
    }

    #[test]
    fn origin_decides_without_sec_fetch_site() {
        assert!(allowed(
            Method::POST,
            &[("origin", "https://app.example.com")]
        ));
        assert!(allowed(
            Method::POST,
            &[("origin", "https://admin.example.com")]
        ));
        assert!(!allowed(
            Method::POST,
            &[("origin", "https://evil.example")]
        ));
        assert!(!allowed(Method::POST, &[("origin", "null")]));
        assert!(allowed(Method::POST, &[]));
    }

    #[test]
    fn a_refusal_is_403_without_a_challenge() {
        let error = check(
            &request(Method::POST, &[("origin", "https://evil.example")]),
            &[],
        )
        .unwrap_err();
        assert_eq!(error.status(), http::StatusCode::FORBIDDEN);
        assert!(error.challenge().is_none());
    }
}
