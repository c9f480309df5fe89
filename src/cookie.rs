//! Cookie mode: [`CookieSettings`] for tokens that travel in `HttpOnly` cookies, out of reach of
//! the page's JavaScript.
//!
//! With [`JwtSessionsBuilder::cookies`](crate::JwtSessionsBuilder::cookies), the layer reads
//! both tokens from cookies (beside the headers), a refresh carried by a cookie answers with
//! `Set-Cookie` for the new access token (and the rotated refresh token), and requests that
//! carry a cookie credential must not come from another site (see
//! [`trusted_origin`](CookieSettings::trusted_origin)). The login and logout routes get their
//! headers from [`JwtSessions::login_cookies`](crate::JwtSessions::login_cookies) and
//! [`JwtSessions::logout_cookies`](crate::JwtSessions::logout_cookies).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use tower_jwt_auth::{CookieSettings, JwtSessions, SameSite};
//!
//! let sessions = JwtSessions::builder()
//!     .hs256_secret(b"an example secret of 32+ bytes!!")
//!     .cookies(CookieSettings::new().same_site(SameSite::Strict))
//!     .build()?;
//! let cookies = sessions.config().cookies().expect("cookie mode is on");
//! assert_eq!(cookies.access_name(), "__Host-access-token");
//!
//! // In the login route, after checking the password:
//! let pair = sessions.issue("alice", ()).await?;
//! let headers = sessions.login_cookies(&pair)?;
//! let set_cookie: Vec<_> = headers.get_all("set-cookie").iter().collect();
//! assert!(set_cookie[0].to_str()?.starts_with("__Host-access-token="));
//! assert!(set_cookie[0].to_str()?.ends_with(
//!     "; Max-Age=1209600; Path=/; Secure; HttpOnly; SameSite=Strict"
//! ));
//! assert_eq!(headers["cache-control"], "no-store");
//! # Ok(()) }
//! ```
//!
//! # Cross-site requests
//!
//! A browser attaches cookies to requests that any page starts. So a request that carries a
//! cookie credential with an unsafe method (anything but `GET`, `HEAD` and `OPTIONS`) is refused
//! with `403` ([`CrossSiteRequest`](crate::AuthErrorKind::CrossSiteRequest)) before the inner
//! service runs, unless: its `Sec-Fetch-Site` is `same-origin` or `none`; or, whatever that
//! header says, its `Origin` is [trusted](CookieSettings::trusted_origin); or, from a browser too
//! old to send `Sec-Fetch-Site`, its `Origin` names the request's own origin; or it has neither
//! header, and so comes from no browser a page could steer. Requests authenticated by a header
//! are not checked: no page can add one to another origin's requests without that origin's CORS
//! consent. Safe methods are not checked either, so keep `GET` routes free of side effects.
//!
//! The own origin is the host the request was sent to (`Host`, or the HTTP/2 authority), with
//! its port, and the scheme it was sent over: the request URI's when it names one (HTTP/2
//! always does), otherwise the one the cookies imply. `Secure` cookies (the default) reach the
//! server only over `https`, or over `http` to a loopback host (`localhost`, `127.0.0.1`,
//! `[::1]`), which browsers count as secure; other cookies are taken to be served over `http`.
//! So `Origin: http://app.example` is not the own origin of `https://app.example`, nor the
//! other way round. A proxy that ends TLS and forwards HTTP/2 may name `http` in the URI: list
//! the public origin with [`trusted_origin`](CookieSettings::trusted_origin) then.
//!
//! # Lifetimes
//!
//! Both cookies live as long as the session: the browser keeps sending the access token after
//! it expires, so the layer sees an expired token beside the refresh token, exactly as a header
//! client sends them, and never mistakes a browser that dropped its access cookie early for a
//! thief holding only the refresh token.

use std::fmt;

use http::HeaderValue;

use crate::error::{ConfigError, ConfigErrorKind};
use crate::token::TokenKind;

/// The `SameSite` attribute of both cookies (RFC 6265bis §4.1.2.7).
///
/// ```
/// use tower_jwt_auth::{CookieSettings, SameSite};
///
/// let strict = CookieSettings::new().same_site(SameSite::Strict);
/// assert_eq!(strict.same_site_policy().to_string(), "Strict");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SameSite {
    /// Sent on same-site requests and on top-level navigations from other sites (the default):
    /// a link from elsewhere arrives logged in.
    #[default]
    Lax,
    /// Sent on same-site requests only.
    Strict,
    /// Sent on every request, cross-site ones included; needs `Secure`. For a front end on
    /// another site, with CORS credentials.
    None,
}

impl SameSite {
    fn as_str(self) -> &'static str {
        match self {
            Self::Lax => "Lax",
            Self::Strict => "Strict",
            Self::None => "None",
        }
    }
}

impl fmt::Display for SameSite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the two token cookies are named and scoped, and which other origins may send them.
///
/// The defaults are the strictest that work on one origin: `Secure`, `HttpOnly` (always),
/// `SameSite=Lax`, `Path=/`, no `Domain`, and so the `__Host-` names `__Host-access-token` and
/// `__Host-refresh-token`, which no subdomain can overwrite. Checked at
/// [`build`](crate::JwtSessionsBuilder::build).
///
/// ```
/// use tower_jwt_auth::{ConfigErrorKind, CookieSettings, JwtSessions};
///
/// // Shared with every subdomain: no `__Host-` names then, `__Secure-` ones.
/// let shared = JwtSessions::builder()
///     .hs256_secret(b"an example secret of 32+ bytes!!")
///     .cookies(CookieSettings::new().domain("example.com"))
///     .build()?;
/// assert_eq!(shared.config().cookies().unwrap().access_name(), "__Secure-access-token");
///
/// // A name whose prefix the browser would refuse with these settings.
/// let error = JwtSessions::builder()
///     .hs256_secret(b"an example secret of 32+ bytes!!")
///     .cookies(CookieSettings::new().names("__Host-at", "__Host-rt").domain("example.com"))
///     .build()
///     .unwrap_err();
/// assert_eq!(error.kind(), ConfigErrorKind::InvalidCookie);
/// # Ok::<(), tower_jwt_auth::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct CookieSettings {
    names: Option<(String, String)>,
    secure: bool,
    same_site: SameSite,
    path: String,
    domain: Option<String>,
    trusted_origins: Vec<String>,
    /// `; Path=…; Domain=…; Secure; HttpOnly; SameSite=…`, written once at build.
    attributes: String,
}

impl Default for CookieSettings {
    fn default() -> Self {
        Self::new()
    }
}

impl CookieSettings {
    /// The defaults (see above).
    pub fn new() -> Self {
        Self {
            names: None,
            secure: true,
            same_site: SameSite::Lax,
            path: "/".into(),
            domain: None,
            trusted_origins: Vec::new(),
            attributes: String::new(),
        }
    }

    /// The cookie names, instead of the ones derived from the other settings (`__Host-…` when
    /// `Secure` with `Path=/` and no `Domain`, `__Secure-…` when only `Secure`, plain
    /// `access-token` / `refresh-token` otherwise). A `__Host-` or `__Secure-` name must meet
    /// its prefix's rules.
    pub fn names(mut self, access: impl Into<String>, refresh: impl Into<String>) -> Self {
        self.names = Some((access.into(), refresh.into()));
        self
    }

    /// The `Secure` attribute (default on): the browser sends the cookies over HTTPS only, and
    /// to `http://localhost`. Without it, the cross-site check takes the server to be reached
    /// over `http` when the request itself does not say (HTTP/1.1 never does).
    pub fn secure(mut self, secure: bool) -> Self {
        self.secure = secure;
        self
    }

    /// The `SameSite` attribute (default [`SameSite::Lax`]).
    pub fn same_site(mut self, same_site: SameSite) -> Self {
        self.same_site = same_site;
        self
    }

    /// The `Path` attribute (default `/`). It must cover every route behind the layer, since the
    /// refresh cookie travels with ordinary requests.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// The `Domain` attribute (default none: the cookies go back to the host that set them
    /// only). Setting it shares them with every subdomain.
    pub fn domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = Some(domain.into());
        self
    }

    /// An origin (`https://app.example.com`) other than the server's own whose pages may send
    /// unsafe requests (POST, PUT, PATCH, DELETE, …) with the cookies. None by default:
    /// same-origin only. The server's own origin has the scheme the request names, or else the
    /// one the cookies imply (`https` when [`Secure`](Self::secure)); an origin of the same host
    /// under another scheme, as behind a TLS-ending proxy that forwards HTTP/2 as `http`, is
    /// trusted only when listed here.
    pub fn trusted_origin(mut self, origin: impl Into<String>) -> Self {
        self.trusted_origins.push(origin.into());
        self
    }

    /// Name of the access-token cookie, as fixed by [`build`](crate::JwtSessionsBuilder::build)
    /// (read it from [`Config::cookies`](crate::Config::cookies); empty before unless set with
    /// [`names`](Self::names)).
    #[must_use]
    pub fn access_name(&self) -> &str {
        self.names.as_ref().map_or("", |(access, _)| access)
    }

    /// Name of the refresh-token cookie, as fixed by [`build`](crate::JwtSessionsBuilder::build).
    #[must_use]
    pub fn refresh_name(&self) -> &str {
        self.names.as_ref().map_or("", |(_, refresh)| refresh)
    }

    /// Whether the cookies are `Secure`.
    #[must_use]
    pub fn is_secure(&self) -> bool {
        self.secure
    }

    /// The `SameSite` attribute.
    #[must_use]
    pub fn same_site_policy(&self) -> SameSite {
        self.same_site
    }

    /// The origins trusted besides the server's own, lowercased and without their scheme's
    /// default port, as browsers write an `Origin`.
    #[must_use]
    pub fn trusted_origins(&self) -> &[String] {
        &self.trusted_origins
    }

    pub(crate) fn name(&self, kind: TokenKind) -> &str {
        match kind {
            TokenKind::Access => self.access_name(),
            TokenKind::Refresh => self.refresh_name(),
        }
    }

    /// `Set-Cookie` for `token`, kept by the browser for `max_age` seconds.
    pub(crate) fn set(&self, kind: TokenKind, token: &str, max_age: u64) -> HeaderValue {
        let value = format!(
            "{}={token}; Max-Age={max_age}{}",
            self.name(kind),
            self.attributes
        );
        HeaderValue::try_from(value).expect("names, attributes and tokens are checked ASCII")
    }

    /// `Set-Cookie` that removes the cookie: the same name and scope, no value, `Max-Age=0`.
    pub(crate) fn clear(&self, kind: TokenKind) -> HeaderValue {
        self.set(kind, "", 0)
    }

    /// Checks every setting and fixes the names and attributes.
    pub(crate) fn validate(mut self) -> Result<Self, ConfigError> {
        let error = |detail: String| ConfigError::new(ConfigErrorKind::InvalidCookie, detail);
        if !self.path.starts_with('/') || !is_attribute_value(&self.path) {
            return Err(error(format!(
                "the cookie path {:?} must start with / and hold no ; or control characters",
                self.path
            )));
        }
        if let Some(domain) = &self.domain
            && (domain.is_empty() || !is_attribute_value(domain))
        {
            return Err(error(format!("{domain:?} is not a cookie domain")));
        }
        if self.same_site == SameSite::None && !self.secure {
            return Err(error("SameSite=None cookies must be Secure".into()));
        }
        let host_only = self.secure && self.path == "/" && self.domain.is_none();
        let (access, refresh) = self.names.take().unwrap_or_else(|| {
            let prefix = match (host_only, self.secure) {
                (true, _) => "__Host-",
                (false, true) => "__Secure-",
                (false, false) => "",
            };
            (
                format!("{prefix}access-token"),
                format!("{prefix}refresh-token"),
            )
        });
        for name in [&access, &refresh] {
            if name.is_empty() || !name.bytes().all(is_tchar) {
                return Err(error(format!("{name:?} is not a valid cookie name")));
            }
            let lower = name.to_ascii_lowercase();
            if lower.starts_with("__host-") && !host_only {
                return Err(error(format!(
                    "the cookie {name:?} needs Secure, Path=/ and no Domain (its __Host- prefix)"
                )));
            }
            if lower.starts_with("__secure-") && !self.secure {
                return Err(error(format!(
                    "the cookie {name:?} needs Secure (its __Secure- prefix)"
                )));
            }
        }
        if access == refresh {
            return Err(error(format!(
                "the access and refresh tokens cannot share one cookie ({access})"
            )));
        }
        for origin in &mut self.trusted_origins {
            *origin = normalize_origin(origin).ok_or_else(|| {
                error(format!(
                    "{origin:?} is not an origin (scheme://host[:port], no path)"
                ))
            })?;
        }
        let mut attributes = format!("; Path={}", self.path);
        if let Some(domain) = &self.domain {
            attributes.push_str("; Domain=");
            attributes.push_str(domain);
        }
        if self.secure {
            attributes.push_str("; Secure");
        }
        attributes.push_str("; HttpOnly; SameSite=");
        attributes.push_str(self.same_site.as_str());
        self.attributes = attributes;
        self.names = Some((access, refresh));
        Ok(self)
    }
}

/// RFC 9110 `tchar`, the characters of a cookie name (RFC 6265 §4.1.1).
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Visible ASCII and spaces, without `;`: fits an attribute without ending it.
fn is_attribute_value(value: &str) -> bool {
    value
        .bytes()
        .all(|b| (b' '..=b'~').contains(&b) && b != b';')
}

/// `scheme://host[:port]`, lowercased, as browsers serialise `Origin`.
fn normalize_origin(origin: &str) -> Option<String> {
    let origin = origin.to_ascii_lowercase();
    let (scheme, host) = origin.split_once("://")?;
    let valid_host = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b));
    if !(matches!(scheme, "http" | "https") && valid_host) {
        return None;
    }
    // A browser's `Origin` never names its scheme's default port.
    let default_port = match scheme {
        "https" => ":443",
        _ => ":80",
    };
    match origin.strip_suffix(default_port) {
        Some(bare) => Some(bare.to_owned()),
        None => Some(origin),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(settings: CookieSettings) -> String {
        settings.validate().unwrap_err().to_string()
    }

    #[test]
    fn names_follow_the_scope() {
        let host = CookieSettings::new().validate().unwrap();
        assert_eq!(host.access_name(), "__Host-access-token");
        assert_eq!(host.refresh_name(), "__Host-refresh-token");
        let secure = CookieSettings::new().path("/api").validate().unwrap();
        assert_eq!(secure.access_name(), "__Secure-access-token");
        let plain = CookieSettings::new().secure(false).validate().unwrap();
        assert_eq!(plain.refresh_name(), "refresh-token");
        assert_eq!(
            plain.set(TokenKind::Refresh, "a.b.c", 60),
            "refresh-token=a.b.c; Max-Age=60; Path=/; HttpOnly; SameSite=Lax"
        );
        assert_eq!(
            host.clear(TokenKind::Access),
            "__Host-access-token=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Lax"
        );
    }

    #[test]
    fn refuses_settings_a_browser_would_ignore() {
        let cases = [
            (
                CookieSettings::new()
                    .secure(false)
                    .same_site(SameSite::None),
                "SameSite=None cookies must be Secure",
            ),
            (
                CookieSettings::new()
                    .names("__Host-a", "b")
                    .domain("example.com"),
                "the cookie \"__Host-a\" needs Secure, Path=/ and no Domain (its __Host- prefix)",
            ),
            (
                CookieSettings::new().names("a", "__secure-b").secure(false),
                "the cookie \"__secure-b\" needs Secure (its __Secure- prefix)",
            ),
            (
                CookieSettings::new().names("a b", "c"),
                "\"a b\" is not a valid cookie name",
            ),
            (
                CookieSettings::new().names("t", "t"),
                "the access and refresh tokens cannot share one cookie (t)",
            ),
            (
                CookieSettings::new().path("api"),
                "the cookie path \"api\" must start with / and hold no ; or control characters",
            ),
            (
                CookieSettings::new().domain("a.com; Secure"),
                "\"a.com; Secure\" is not a cookie domain",
            ),
            (
                CookieSettings::new().trusted_origin("https://a.com/path"),
                "\"https://a.com/path\" is not an origin (scheme://host[:port], no path)",
            ),
        ];
        for (settings, message) in cases {
            assert_eq!(
                kind(settings),
                format!("invalid tower-jwt-auth configuration: {message}")
            );
        }
    }

    #[test]
    fn trusted_origins_are_lowercased() {
        let settings = CookieSettings::new()
            .trusted_origin("HTTPS://App.Example.com:8443")
            .validate()
            .unwrap();
        assert_eq!(settings.trusted_origins(), ["https://app.example.com:8443"]);
    }

    #[test]
    fn trusted_origins_drop_their_schemes_default_port() {
        let settings = CookieSettings::new()
            .trusted_origin("https://app.example.com:443")
            .trusted_origin("http://old.example.com:80")
            .trusted_origin("http://dev.example.com:443")
            .validate()
            .unwrap();
        assert_eq!(
            settings.trusted_origins(),
            [
                "https://app.example.com",
                "http://old.example.com",
                "http://dev.example.com:443"
            ]
        );
    }
}
