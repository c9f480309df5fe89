//! The cross-site check of requests that carry a cookie credential.
//!
//! A browser attaches cookies to requests that any page starts, so a form on another site could
//! make a logged-in user's browser post to this one. Unsafe requests (every method but `GET`,
//! `HEAD` and `OPTIONS`) are let through only when the browser says they come from this origin:
//!
//! 1. `Sec-Fetch-Site: same-origin` (or `none`: typed in the address bar) is allowed; any other
//!    value (`same-site`, `cross-site`) only from a trusted origin.
//! 2. Without `Sec-Fetch-Site` (older browsers), an `Origin` naming the request's own origin, or a
//!    trusted origin, is allowed; another `Origin` is not. The own origin is the host the request
//!    was sent to (`Host`, or the HTTP/2 authority), with its port, and the scheme it was sent
//!    over: the request URI's when it has one (HTTP/2 always does), otherwise the one the cookie
//!    settings imply. `Secure` cookies reach the server only over `https`, or over `http` to a
//!    loopback host, which browsers count as secure; other cookies are taken to be served over
//!    `http`.
//! 3. Without either header the request is not from a browser that could be tricked, and is
//!    allowed.

use std::net::{Ipv4Addr, Ipv6Addr};

use http::header::{HOST, ORIGIN};
use http::uri::Authority;
use http::{HeaderValue, Method};

use crate::cookie::CookieSettings;
use crate::decision::RequestHead;
use crate::error::{AuthError, AuthErrorKind};

const SEC_FETCH_SITE: &str = "sec-fetch-site";

/// Whether the request may go on; a cross-site unsafe request is `403`
/// ([`CrossSiteRequest`](AuthErrorKind::CrossSiteRequest)), whose reason the default responder
/// writes in the body.
pub(crate) fn check(
    request: RequestHead<'_>,
    cookies: Option<&CookieSettings>,
) -> Result<(), AuthError> {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return Ok(());
    }
    let trusted = cookies.map_or(&[][..], CookieSettings::trusted_origins);
    let headers = request.headers();
    let origin = headers.get(ORIGIN);
    let allowed = match headers.get(SEC_FETCH_SITE).map(HeaderValue::as_bytes) {
        Some(b"same-origin" | b"none") => true,
        Some(_) => is_trusted(origin, trusted),
        None => match origin {
            None => true,
            Some(origin) => is_own(origin, request, cookies) || is_trusted(Some(origin), trusted),
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

/// Whether `Origin` names the origin the request was sent to: scheme, host and port.
fn is_own(
    origin: &HeaderValue,
    request: RequestHead<'_>,
    cookies: Option<&CookieSettings>,
) -> bool {
    let Some((scheme, origin)) = origin.to_str().ok().and_then(|o| o.split_once("://")) else {
        return false;
    };
    let (Ok(origin), Some(own)) = (origin.parse::<Authority>(), own_authority(request)) else {
        return false;
    };
    let is = |name: &str| scheme.eq_ignore_ascii_case(name);
    let own_scheme = match request.uri().scheme_str() {
        Some(own) => is(own),
        // The cookies' defaults when there are none: `Secure`.
        None if cookies.is_none_or(CookieSettings::is_secure) => {
            is("https") || (is("http") && is_loopback(own.host()))
        }
        None => is("http"),
    };
    let port = |authority: &Authority| authority.port_u16().or_else(|| default_port(scheme));
    own_scheme && origin.host().eq_ignore_ascii_case(own.host()) && port(&origin) == port(&own)
}

/// The host the request was sent to: the URI's authority (HTTP/2), or `Host`.
fn own_authority(request: RequestHead<'_>) -> Option<Authority> {
    match request.uri().authority() {
        Some(authority) => Some(authority.clone()),
        None => request.headers().get(HOST)?.to_str().ok()?.parse().ok(),
    }
}

fn default_port(scheme: &str) -> Option<u16> {
    if scheme.eq_ignore_ascii_case("https") {
        Some(443)
    } else if scheme.eq_ignore_ascii_case("http") {
        Some(80)
    } else {
        None
    }
}

/// `localhost` and its subdomains, `127.0.0.0/8` and `[::1]`: hosts browsers count as secure
/// over `http` too.
fn is_loopback(host: &str) -> bool {
    let lower = host.to_ascii_lowercase();
    lower == "localhost"
        || lower.ends_with(".localhost")
        || host.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
        || host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .and_then(|h| h.parse::<Ipv6Addr>().ok())
            .is_some_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use http::Request;

    use super::*;

    fn request(method: Method, headers: &[(&str, &str)]) -> Request<()> {
        let mut builder = Request::builder().method(method).uri("/logout");
        builder = builder.header(HOST, "app.example.com");
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(()).unwrap()
    }

    fn cookies() -> CookieSettings {
        CookieSettings::new()
            .trusted_origin("https://admin.example.com")
            .validate()
            .unwrap()
    }

    fn allowed(method: Method, headers: &[(&str, &str)]) -> bool {
        check(
            RequestHead::from(&request(method, headers)),
            Some(&cookies()),
        )
        .is_ok()
    }

    /// Whether a `POST` from `origin` (without `Sec-Fetch-Site`) to `uri` with `Host: host` is
    /// taken for one of the server's own.
    fn own(uri: &str, host: &str, origin: &str, settings: &CookieSettings) -> bool {
        let request = Request::post(uri)
            .header(HOST, host)
            .header(ORIGIN, origin)
            .body(())
            .unwrap();
        check(RequestHead::from(&request), Some(settings)).is_ok()
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
            RequestHead::from(&request(
                Method::POST,
                &[("origin", "https://evil.example")],
            )),
            None,
        )
        .unwrap_err();
        assert_eq!(error.status(), http::StatusCode::FORBIDDEN);
        assert!(error.challenge().is_none());
    }

    #[test]
    fn the_own_origin_has_the_scheme_the_cookies_imply() {
        let secure = cookies();
        let plain = CookieSettings::new().secure(false).validate().unwrap();
        let host = "app.example.com";
        // `Secure` cookies reach this server over https only.
        assert!(own("/", host, "https://app.example.com", &secure));
        assert!(own("/", host, "https://app.example.com:443", &secure));
        assert!(!own("/", host, "http://app.example.com", &secure));
        assert!(!own(
            "/",
            "app.example.com:80",
            "http://app.example.com",
            &secure
        ));
        assert!(!own("/", host, "https://app.example.com:8443", &secure));
        // Other cookies: a site served over http.
        assert!(own("/", host, "http://app.example.com", &plain));
        assert!(!own("/", host, "https://app.example.com", &plain));
        // A loopback host is secure to browsers over http too.
        for (host, origin) in [
            ("127.0.0.1:3000", "http://127.0.0.1:3000"),
            ("localhost:3000", "http://localhost:3000"),
            ("[::1]:3000", "http://[::1]:3000"),
            ("localhost:3000", "https://localhost:3000"),
        ] {
            assert!(own("/", host, origin, &secure), "{origin}");
        }
        assert!(!own(
            "/",
            "127.0.0.1:3000",
            "http://127.0.0.1:3001",
            &secure
        ));
    }

    #[test]
    fn an_absolute_uri_names_the_own_scheme() {
        let (secure, host) = (cookies(), "app.example.com");
        let uri = "http://app.example.com/logout";
        assert!(own(uri, host, "http://app.example.com", &secure));
        assert!(!own(uri, host, "https://app.example.com", &secure));
        let uri = "https://app.example.com/logout";
        assert!(own(uri, host, "https://app.example.com", &secure));
        assert!(!own(uri, host, "http://app.example.com", &secure));
        // The HTTP/2 authority, not `Host`, names the host.
        assert!(!own(uri, "evil.example", "https://evil.example", &secure));
    }
}
