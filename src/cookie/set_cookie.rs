//! `Set-Cookie` values: the one place the token cookies are written, for a login, a refresh and
//! a logout alike.

use http::header::SET_COOKIE;
use http::{HeaderName, HeaderValue};

use super::CookieSettings;
use crate::token::TokenKind;

impl CookieSettings {
    /// The `Set-Cookie` headers that hand the browser a session's tokens: the access token's
    /// and, when there is one, the refresh token's, both kept `max_age` seconds.
    ///
    /// Both cookies live as long as the session, so the browser keeps presenting the expired
    /// access token beside the refresh token, as a header client does.
    pub(crate) fn set_tokens<'a>(
        &'a self,
        access: &'a str,
        refresh: Option<&'a str>,
        max_age: u64,
    ) -> impl Iterator<Item = (HeaderName, HeaderValue)> + 'a {
        let access = (TokenKind::Access, access);
        let refresh = refresh.map(|token| (TokenKind::Refresh, token));
        std::iter::once(access)
            .chain(refresh)
            .map(move |(kind, token)| (SET_COOKIE, self.set(kind, token, max_age)))
    }

    /// The `Set-Cookie` headers that remove both cookies: the same names and scope, no value,
    /// `Max-Age=0`.
    pub(crate) fn clear_tokens(&self) -> impl Iterator<Item = (HeaderName, HeaderValue)> {
        self.set_tokens("", Some(""), 0)
    }

    /// `Set-Cookie` for `token` in the cookie of `kind`, kept by the browser for `max_age`
    /// seconds.
    fn set(&self, kind: TokenKind, token: &str, max_age: u64) -> HeaderValue {
        let name = match kind {
            TokenKind::Access => self.access_name(),
            TokenKind::Refresh => self.refresh_name(),
        };
        let value = format!("{name}={token}; Max-Age={max_age}{}", self.attributes);
        HeaderValue::try_from(value).expect("names, attributes and tokens are checked ASCII")
    }

    /// `; Path=…; Domain=…; Secure; HttpOnly; SameSite=…`: the attributes every cookie of these
    /// settings carries, written once at build.
    pub(super) fn write_attributes(&self) -> String {
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
        attributes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(headers: impl Iterator<Item = (HeaderName, HeaderValue)>) -> Vec<HeaderValue> {
        headers
            .map(|(name, value)| {
                assert_eq!(name, SET_COOKIE);
                value
            })
            .collect()
    }

    #[test]
    fn a_pair_of_cookies_or_the_access_token_alone() {
        let settings = CookieSettings::new()
            .secure(false)
            .domain("example.com")
            .validate()
            .unwrap();
        assert_eq!(
            values(settings.set_tokens("a.b.c", Some("d.e.f"), 60)),
            [
                "access-token=a.b.c; Max-Age=60; Path=/; Domain=example.com; HttpOnly; SameSite=Lax",
                "refresh-token=d.e.f; Max-Age=60; Path=/; Domain=example.com; HttpOnly; SameSite=Lax",
            ]
        );
        // Without rotation a refresh hands out a new access token only.
        assert_eq!(
            values(settings.set_tokens("a.b.c", None, 60)),
            ["access-token=a.b.c; Max-Age=60; Path=/; Domain=example.com; HttpOnly; SameSite=Lax"]
        );
    }

    #[test]
    fn clearing_removes_both_cookies_in_their_scope() {
        let settings = CookieSettings::new().validate().unwrap();
        assert_eq!(
            values(settings.clear_tokens()),
            [
                "__Host-access-token=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Lax",
                "__Host-refresh-token=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Lax",
            ]
        );
    }
}
