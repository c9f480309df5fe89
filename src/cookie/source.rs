//! [`CookieSource`]: tokens in `HttpOnly` cookies.

use http::HeaderMap;
use http::header::COOKIE;

use crate::credentials::{CredentialSource, b64token, unchecked};
use crate::error::{AuthError, invalid_request};
use crate::token::TokenKind;

/// The access and refresh tokens in two cookies, as a browser sends them (RFC 6265 §5.4): in
/// one or several `Cookie` headers, as `name=value` pairs split by `; `.
///
/// Cookies are [ambient](CredentialSource::is_ambient): the browser attaches them to requests
/// that other sites start, so requests that carry them get the cross-site check. Enabled, with
/// the names it reads, by [`JwtSessionsBuilder::cookies`](crate::JwtSessionsBuilder::cookies);
/// a refresh that a cookie carried is answered with `Set-Cookie`. Given to
/// [`credential_source`](crate::JwtSessionsBuilder::credential_source) instead, it is as ambient
/// and its requests as checked, but a refresh it carried is answered in headers.
///
/// ```
/// use http::HeaderMap;
/// use tower_jwt_auth::TokenKind;
/// use tower_jwt_auth::credentials::CredentialSource;
/// use tower_jwt_auth::cookie::CookieSource;
///
/// let source = CookieSource::new("__Host-access-token", "__Host-refresh-token");
/// let mut headers = HeaderMap::new();
/// headers.insert("cookie", "theme=dark; __Host-access-token=a.b.c".parse()?);
/// assert_eq!(source.find(&headers, TokenKind::Access)?, Some("a.b.c"));
/// assert_eq!(source.find(&headers, TokenKind::Refresh)?, None);
/// assert!(source.is_ambient());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct CookieSource {
    access: Box<str>,
    refresh: Box<str>,
}

impl CookieSource {
    /// Reads the access token from cookie `access` and the refresh token from cookie
    /// `refresh`.
    #[must_use]
    pub fn new(access: impl Into<String>, refresh: impl Into<String>) -> Self {
        Self {
            access: access.into().into(),
            refresh: refresh.into().into(),
        }
    }
}

impl CookieSource {
    /// Both tokens, in one pass over the `Cookie` headers. Unless `strict`, the access
    /// token's syntax is left to its verification, as the quick reading of `Authorization`
    /// leaves it.
    pub(crate) fn find_both<'h>(
        &self,
        headers: &'h HeaderMap,
        strict: bool,
    ) -> Result<[Option<&'h str>; 2], AuthError> {
        let mut found = [None, None];
        for header in headers.get_all(COOKIE) {
            for (name, value) in pairs(header.as_bytes()) {
                let kind = if name == self.access.as_bytes() {
                    TokenKind::Access
                } else if name == self.refresh.as_bytes() {
                    TokenKind::Refresh
                } else {
                    continue;
                };
                let token = match (kind, strict) {
                    (TokenKind::Access, false) => unchecked(unquote(value)),
                    _ => b64token(unquote(value)),
                };
                let token = token.ok_or_else(|| malformed(kind))?;
                let slot = &mut found[index(kind)];
                // The same cookie set for two paths or domains: the browser sends both, and
                // which one is meant cannot be told.
                if slot.is_some_and(|earlier| earlier != token) {
                    return Err(twice(kind));
                }
                *slot = Some(token);
            }
        }
        Ok(found)
    }
}

impl CredentialSource for CookieSource {
    fn find<'h>(
        &self,
        headers: &'h HeaderMap,
        kind: TokenKind,
    ) -> Result<Option<&'h str>, AuthError> {
        Ok(self.find_both(headers, true)?[index(kind)])
    }

    fn is_ambient(&self) -> bool {
        true
    }
}

fn index(kind: TokenKind) -> usize {
    match kind {
        TokenKind::Access => 0,
        TokenKind::Refresh => 1,
    }
}

fn malformed(kind: TokenKind) -> AuthError {
    AuthError::invalid_request(match kind {
        TokenKind::Access => invalid_request!("malformed access token cookie"),
        TokenKind::Refresh => invalid_request!("malformed refresh token cookie"),
    })
}

fn twice(kind: TokenKind) -> AuthError {
    AuthError::invalid_request(match kind {
        TokenKind::Access => invalid_request!("two different access token cookies"),
        TokenKind::Refresh => invalid_request!("two different refresh token cookies"),
    })
}

/// The `name=value` pairs of one `Cookie` header, trimmed; pieces without `=` are skipped.
fn pairs(header: &[u8]) -> Pairs<'_> {
    Pairs { rest: Some(header) }
}

/// Iterator of [`pairs`]: each `;` is found with `memchr`, many bytes at a time, since most of
/// a `Cookie` header is values that are only skipped; each `=` by a plain scan of the name.
struct Pairs<'h> {
    rest: Option<&'h [u8]>,
}

impl<'h> Iterator for Pairs<'h> {
    type Item = (&'h [u8], &'h [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let rest = self.rest?;
            let end = memchr::memchr(b';', rest);
            self.rest = end.map(|end| &rest[end + 1..]);
            let piece = end.map_or(rest, |end| &rest[..end]);
            let piece = piece.trim_ascii_start();
            // Names are short: a plain scan finds `=` sooner than setting up `memchr`.
            if let Some(eq) = piece.iter().position(|&b| b == b'=') {
                return Some((piece[..eq].trim_ascii_end(), piece[eq + 1..].trim_ascii()));
            }
        }
    }
}

/// RFC 6265 §4.1.1 lets a cookie value be quoted.
fn unquote(value: &[u8]) -> &[u8] {
    match value {
        [b'"', inner @ .., b'"'] => inner,
        _ => value,
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;
    use crate::error::AuthErrorKind;

    fn find(cookies: &[&str], kind: TokenKind) -> Result<Option<String>, AuthError> {
        let mut headers = HeaderMap::new();
        for cookie in cookies {
            headers.append(COOKIE, HeaderValue::from_str(cookie).unwrap());
        }
        let source = CookieSource::new("at", "rt");
        Ok(source.find(&headers, kind)?.map(str::to_owned))
    }

    #[test]
    fn reads_named_cookies_from_every_cookie_header() {
        let access = find(&["x=1; at=a.b.c", "rt=\"d.e.f\""], TokenKind::Access).unwrap();
        assert_eq!(access.as_deref(), Some("a.b.c"));
        let refresh = find(&["x=1; at=a.b.c", "rt=\"d.e.f\""], TokenKind::Refresh).unwrap();
        assert_eq!(refresh.as_deref(), Some("d.e.f"));
        // A name is matched whole and with its case.
        assert_eq!(
            find(&["xat=a.b.c; AT=a.b.c"], TokenKind::Access).unwrap(),
            None
        );
        assert_eq!(find(&[], TokenKind::Access).unwrap(), None);
    }

    #[test]
    fn one_cookie_twice_is_fine_two_values_are_not() {
        assert!(find(&["at=a.b.c; at=a.b.c"], TokenKind::Access).is_ok());
        let error = find(&["at=a.b.c", "at=x.y.z"], TokenKind::Access).unwrap_err();
        assert_eq!(error.kind(), AuthErrorKind::InvalidRequest);
        assert_eq!(error.description(), "two different access token cookies");
    }

    #[test]
    fn malformed_values_are_invalid_requests() {
        for bad in ["rt=", "rt=a b", "rt=a,b", "rt=\"a"] {
            let error = find(&[bad], TokenKind::Refresh).unwrap_err();
            assert_eq!(
                error.description(),
                "malformed refresh token cookie",
                "{bad}"
            );
        }
    }
}
