//! [`CookieSettings`] and [`SameSite`]: how the token cookies are named and scoped, checked at
//! build.

use std::fmt;

use crate::error::{ConfigError, ConfigErrorKind};

/// The `SameSite` attribute of both cookies (RFC 6265bis §4.1.2.7).
///
/// ```
/// use tower_jwt_auth::cookie::{CookieSettings, SameSite};
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
    pub(super) fn as_str(self) -> &'static str {
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
/// use tower_jwt_auth::{ConfigErrorKind, JwtSessions};
/// use tower_jwt_auth::cookie::CookieSettings;
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
    pub(super) secure: bool,
    pub(super) same_site: SameSite,
    pub(super) path: String,
    pub(super) domain: Option<String>,
    trusted_origins: Vec<String>,
    /// `; Path=…; Domain=…; Secure; HttpOnly; SameSite=…`, written once at build.
    pub(super) attributes: String,
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
        self.attributes = self.write_attributes();
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
        let (_, refresh) = plain.set_tokens("x.y.z", Some("a.b.c"), 60).nth(1).unwrap();
        assert_eq!(
            refresh,
            "refresh-token=a.b.c; Max-Age=60; Path=/; HttpOnly; SameSite=Lax"
        );
        let (_, access) = host.clear_tokens().next().unwrap();
        assert_eq!(
            access,
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
