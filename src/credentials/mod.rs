//! Where a request's tokens come from: the [`CredentialSource`] trait, and its two
//! implementations, [`HeaderSource`] (`Authorization: Bearer` and the refresh header, always
//! on) and [`CookieSource`] (`HttpOnly` cookies, on with
//! [`JwtSessionsBuilder::cookies`](crate::JwtSessionsBuilder::cookies)).
//!
//! Every enabled source is asked for each kind of token, except that beside an access token
//! the refresh header is read only once it can matter: when the access token has expired, or
//! when another source found a refresh token it must agree with. Two sources that find the
//! same token agree; two that find *different* tokens of one kind make the request
//! `400 invalid_request`, as two `Authorization` headers do. A token found by an [ambient](CredentialSource::is_ambient)
//! source — one the browser attaches by itself, such as a cookie — puts the request under the
//! cross-site check before any token is decoded.
//!
//! Tokens are never read from the query string: URLs end up in access logs, browser history and
//! `Referer` headers.
//!
//! A source of your own, such as a WebSocket subprotocol that carries the access token (browsers
//! cannot set headers on a WebSocket handshake):
//!
//! ```
//! use http::HeaderMap;
//! use tower_jwt_auth::credentials::CredentialSource;
//! use tower_jwt_auth::{AuthError, JwtSessions, TokenKind};
//!
//! /// `Sec-WebSocket-Protocol: access_token, <token>`.
//! #[derive(Debug)]
//! struct WebSocketProtocol;
//!
//! impl CredentialSource for WebSocketProtocol {
//!     fn find<'h>(&self, headers: &'h HeaderMap, kind: TokenKind) -> Result<Option<&'h str>, AuthError> {
//!         if kind != TokenKind::Access {
//!             return Ok(None);
//!         }
//!         let Some(value) = headers.get("sec-websocket-protocol") else {
//!             return Ok(None);
//!         };
//!         let value = value.to_str().unwrap_or_default();
//!         Ok(value.strip_prefix("access_token, ").map(str::trim))
//!     }
//! }
//!
//! let sessions = JwtSessions::builder()
//!     .hs256_secret(b"an example secret of 32+ bytes!!")
//!     .credential_source(WebSocketProtocol)
//!     .build()?;
//! # let _ = sessions;
//! # Ok::<(), tower_jwt_auth::ConfigError>(())
//! ```

use std::fmt;
use std::sync::Arc;

use http::HeaderMap;

use crate::cookie::CookieSource;
use crate::error::{AuthError, invalid_request};
use crate::token::TokenKind;

mod header;

pub use header::HeaderSource;
#[cfg(feature = "oidc")]
pub(crate) use header::bearer;

/// A place a request may carry its access or refresh token.
///
/// Sources are given to [`JwtSessionsBuilder::credential_source`](crate::JwtSessionsBuilder::credential_source)
/// and asked, for every request, for each kind of token.
pub trait CredentialSource: fmt::Debug + Send + Sync + 'static {
    /// The token of `kind` that `headers` carry, if any. A value that is there but malformed
    /// should be an [`AuthError`] of kind [`InvalidRequest`](crate::AuthErrorKind::InvalidRequest)
    /// (`400`), never a panic.
    fn find<'h>(
        &self,
        headers: &'h HeaderMap,
        kind: TokenKind,
    ) -> Result<Option<&'h str>, AuthError>;

    /// Whether a browser sends this credential by itself, on requests that other sites start
    /// (cookies do; headers do not). Requests that carry an ambient credential are checked for
    /// cross-site origin before anything else (default `false`).
    fn is_ambient(&self) -> bool {
        false
    }
}

/// One token a request carries, and how it came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Found<'h> {
    pub(crate) token: &'h str,
    pub(crate) sender: Sender,
    pub(crate) carrier: Carrier,
}

impl Found<'_> {
    /// Whether the browser sent the token on its own: the request gets the cross-site check.
    fn is_ambient(&self) -> bool {
        self.sender == Sender::Browser
    }
}

/// Who put a token on the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sender {
    /// The client itself, as with a header: no page can add one to another origin's requests.
    Client,
    /// The browser on its own, from an [ambient](CredentialSource::is_ambient) source.
    Browser,
}

impl Sender {
    fn of(source: &(impl CredentialSource + ?Sized)) -> Self {
        match source.is_ambient() {
            true => Self::Browser,
            false => Self::Client,
        }
    }
}

/// What a token came in, and so what a refresh it carries is answered in: the new tokens go
/// back the way the old one came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Carrier {
    /// A header, or a source of the application's own: answered in headers.
    Header,
    /// The cookie of cookie mode, and no other source besides: answered with `Set-Cookie`.
    Cookie,
}

/// What a request presents.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Credentials<'h> {
    /// Neither an access nor a refresh token.
    None,
    /// An access token, with the refresh token if one came too (used only when the access
    /// token has expired).
    Access {
        access: Found<'h>,
        refresh: Option<Found<'h>>,
    },
    /// Only a refresh token.
    Refresh(Found<'h>),
}

impl Credentials<'_> {
    /// Whether any credential came from an ambient source.
    pub(crate) fn is_ambient(&self) -> bool {
        match self {
            Self::None => false,
            Self::Access { access, refresh } => {
                access.is_ambient() || refresh.is_some_and(|r| r.is_ambient())
            }
            Self::Refresh(refresh) => refresh.is_ambient(),
        }
    }
}

/// The enabled sources: the built-in ones by value, so the common case costs no dynamic call.
/// The headers are always read.
#[derive(Debug)]
pub(crate) struct Sources {
    headers: HeaderSource,
    cookies: Option<CookieSource>,
    custom: Box<[Arc<dyn CredentialSource>]>,
}

impl Sources {
    pub(crate) fn new(
        headers: HeaderSource,
        cookies: Option<CookieSource>,
        custom: Vec<Arc<dyn CredentialSource>>,
    ) -> Self {
        Self {
            headers,
            cookies,
            custom: custom.into(),
        }
    }

    /// What a request that is verified at once needs, read quickly: the syntax of the access
    /// token (from `Authorization` or its cookie) is left to its verification, and beside an
    /// access token the refresh header is left unread unless another source found a refresh
    /// token it must agree with ([`Self::refresh_header`] reads it once the access token has
    /// expired). Neither can change whether the credentials are ambient. A request refused
    /// after this reading must be answered with the error of [`Self::extract_strict`], if it
    /// has one.
    pub(crate) fn extract<'h>(&self, headers: &'h HeaderMap) -> Result<Credentials<'h>, AuthError> {
        self.read(headers, false)
    }

    /// Reads every source, every credential checked; a malformed credential, or two different
    /// ones of one kind, is `400`.
    pub(crate) fn extract_strict<'h>(
        &self,
        headers: &'h HeaderMap,
    ) -> Result<Credentials<'h>, AuthError> {
        self.read(headers, true)
    }

    /// The refresh token [`extract`](Self::extract) left unread beside an access token when
    /// no other source found one: the refresh header's.
    pub(crate) fn refresh_header<'h>(
        &self,
        headers: &'h HeaderMap,
    ) -> Result<Option<Found<'h>>, AuthError> {
        let token = self.headers.find(headers, TokenKind::Refresh)?;
        Ok(found(token, Sender::Client, Carrier::Header))
    }

    fn read<'h>(&self, headers: &'h HeaderMap, strict: bool) -> Result<Credentials<'h>, AuthError> {
        use TokenKind::{Access, Refresh};
        let (client, header) = (Sender::Client, Carrier::Header);
        let bearer = match strict {
            true => header::bearer(headers)?,
            false => header::bearer_unchecked(headers)?,
        };
        let mut access = found(bearer, client, header);
        // Strictly, in its place, so that errors come in order; quickly, after the others.
        let mut refresh = match strict {
            true => found(self.headers.find(headers, Refresh)?, client, header),
            false => None,
        };
        if let Some(source) = &self.cookies {
            let [a, r] = source.find_both(headers, strict)?;
            let sender = Sender::of(source);
            access = merge(access, found(a, sender, Carrier::Cookie), Access)?;
            refresh = merge(refresh, found(r, sender, Carrier::Cookie), Refresh)?;
        }
        for source in self.custom.iter() {
            let sender = Sender::of(&**source);
            let a = found(source.find(headers, Access)?, sender, header);
            access = merge(access, a, Access)?;
            let r = found(source.find(headers, Refresh)?, sender, header);
            refresh = merge(refresh, r, Refresh)?;
        }
        // Merging is order-free. The refresh header is needed now without an access token, or
        // to be compared with another source's refresh token; otherwise it could change
        // nothing yet.
        if !strict && (access.is_none() || refresh.is_some()) {
            let token = self.headers.find(headers, Refresh)?;
            refresh = merge(refresh, found(token, client, header), Refresh)?;
        }
        Ok(match (access, refresh) {
            (Some(access), refresh) => Credentials::Access { access, refresh },
            (None, Some(refresh)) => Credentials::Refresh(refresh),
            (None, None) => Credentials::None,
        })
    }
}

/// The token one source found, if any, and how it came.
fn found(token: Option<&str>, sender: Sender, carrier: Carrier) -> Option<Found<'_>> {
    token.map(|token| Found {
        token,
        sender,
        carrier,
    })
}

/// Adds what one more source found to what the others did.
fn merge<'h>(
    earlier: Option<Found<'h>>,
    more: Option<Found<'h>>,
    kind: TokenKind,
) -> Result<Option<Found<'h>>, AuthError> {
    let (Some(earlier), Some(more)) = (earlier, more) else {
        return Ok(earlier.or(more));
    };
    if earlier.token != more.token {
        return Err(AuthError::invalid_request(match kind {
            TokenKind::Access => invalid_request!("two different access tokens"),
            TokenKind::Refresh => invalid_request!("two different refresh tokens"),
        }));
    }
    // The same token twice: one copy the client sent shows that the client itself sent it, and
    // a refresh is answered by cookie only if no other way brought the token.
    Ok(Some(Found {
        token: earlier.token,
        sender: match (earlier.sender, more.sender) {
            (Sender::Browser, Sender::Browser) => Sender::Browser,
            _ => Sender::Client,
        },
        carrier: match (earlier.carrier, more.carrier) {
            (Carrier::Cookie, Carrier::Cookie) => Carrier::Cookie,
            _ => Carrier::Header,
        },
    }))
}

/// One character of RFC 6750 §2.1 `b64token` (besides its trailing `=` padding). Branch-free,
/// so that checking a whole token compiles to a vector loop.
fn is_b64token_char(b: u8) -> bool {
    let letter = (b | 0x20).wrapping_sub(b'a') < 26;
    let digit = b.wrapping_sub(b'0') < 10;
    letter
        | digit
        | (b == b'-')
        | (b == b'.')
        | (b == b'_')
        | (b == b'~')
        | (b == b'+')
        | (b == b'/')
}

/// RFC 6750 §2.1 `b64token`: `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
/// Its characters are visible ASCII, so a token that passes is also valid UTF-8; this one pass
/// is the whole check of a well-formed credential.
pub(crate) fn b64token(token: &[u8]) -> Option<&str> {
    let padding = token.iter().rev().take_while(|&&b| b == b'=').count();
    let body = &token[..token.len() - padding];
    let valid = !body.is_empty() && body.iter().fold(true, |ok, &b| ok & is_b64token_char(b));
    valid.then(|| std::str::from_utf8(token).ok()).flatten()
}

/// A token whose syntax its verification will prove: any non-empty UTF-8. One that verifies is
/// base64url, and so a [`b64token`]; a caller that refuses it answers with the strict reading.
pub(crate) fn unchecked(token: &[u8]) -> Option<&str> {
    match token {
        [] => None,
        token => std::str::from_utf8(token).ok(),
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;
    use http::header::{AUTHORIZATION, COOKIE};

    use super::*;
    use crate::error::AuthErrorKind;

    fn sources() -> Sources {
        Sources::new(
            HeaderSource::new(http::HeaderName::from_static("x-refresh-token")),
            Some(CookieSource::new("at", "rt")),
            Vec::new(),
        )
    }

    fn headers(pairs: &[(http::HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(name.clone(), HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn b64token_characters_are_exactly_rfc_6750s() {
        for b in 0..=u8::MAX {
            let expected = b.is_ascii_alphanumeric() || b"-._~+/".contains(&b);
            assert_eq!(is_b64token_char(b), expected, "{b:#04x}");
        }
        assert_eq!(b64token(b"a.b-c_d~e+f/g=="), Some("a.b-c_d~e+f/g=="));
        assert_eq!(b64token(b"=="), None);
        assert_eq!(b64token(b"a=b"), None);
    }

    #[test]
    fn a_cookie_credential_is_ambient_and_answered_by_cookie() {
        let map = headers(&[(COOKIE, "at=a.b.c; rt=d.e.f")]);
        let Credentials::Access { access, refresh } = sources().extract(&map).unwrap() else {
            panic!("expected an access token");
        };
        assert_eq!(
            (access.sender, access.carrier),
            (Sender::Browser, Carrier::Cookie)
        );
        assert_eq!(refresh.map(|r| r.token), Some("d.e.f"));
    }

    #[test]
    fn the_same_token_from_two_sources_counts_as_sent_by_the_client() {
        let map = headers(&[(COOKIE, "at=a.b.c"), (AUTHORIZATION, "Bearer a.b.c")]);
        let credentials = sources().extract(&map).unwrap();
        assert!(!credentials.is_ambient());
    }

    /// Beside an access token, the quick reading leaves the refresh header for later unless a
    /// refresh cookie must be compared with it; the strict reading reads everything.
    #[test]
    fn the_refresh_header_is_read_when_it_can_matter() {
        let refresh_header = http::HeaderName::from_static("x-refresh-token");
        let map = headers(&[
            (AUTHORIZATION, "Bearer a.b.c"),
            (refresh_header.clone(), "d.e.f"),
        ]);
        let Credentials::Access { refresh, .. } = sources().extract(&map).unwrap() else {
            panic!("expected an access token");
        };
        assert_eq!(refresh, None);
        let later = sources().refresh_header(&map).unwrap();
        assert_eq!(
            later.map(|r| (r.token, r.sender)),
            Some(("d.e.f", Sender::Client))
        );
        let Credentials::Access { refresh, .. } = sources().extract_strict(&map).unwrap() else {
            panic!("expected an access token");
        };
        assert_eq!(refresh.map(|r| r.token), Some("d.e.f"));

        // A refresh cookie beside it: the header is read at once, and must agree.
        let map = headers(&[
            (AUTHORIZATION, "Bearer a.b.c"),
            (COOKIE, "rt=d.e.f"),
            (refresh_header.clone(), "x.y.z"),
        ]);
        let error = sources().extract(&map).unwrap_err();
        assert_eq!(error.description(), "two different refresh tokens");
        let map = headers(&[
            (AUTHORIZATION, "Bearer a.b.c"),
            (COOKIE, "rt=d.e.f"),
            (refresh_header, "d.e.f"),
        ]);
        let credentials = sources().extract(&map).unwrap();
        assert!(
            !credentials.is_ambient(),
            "the client sent the refresh token itself"
        );
    }

    /// The quick reading leaves the access token's syntax to its verification; the strict one
    /// refuses it.
    #[test]
    fn only_the_strict_reading_checks_the_access_tokens_syntax() {
        for map in [
            headers(&[(AUTHORIZATION, "Bearer a!b")]),
            headers(&[(COOKIE, "at=a!b")]),
        ] {
            let Credentials::Access { access, .. } = sources().extract(&map).unwrap() else {
                panic!("expected an access token");
            };
            assert_eq!(access.token, "a!b");
            let error = sources().extract_strict(&map).unwrap_err();
            assert_eq!(error.kind(), AuthErrorKind::InvalidRequest);
        }
    }

    #[test]
    fn two_different_tokens_of_one_kind_are_an_invalid_request() {
        let map = headers(&[(COOKIE, "at=a.b.c"), (AUTHORIZATION, "Bearer x.y.z")]);
        let error = sources().extract(&map).unwrap_err();
        assert_eq!(error.kind(), AuthErrorKind::InvalidRequest);
        assert_eq!(error.description(), "two different access tokens");
        let map = headers(&[
            (COOKIE, "rt=a.b.c"),
            (http::HeaderName::from_static("x-refresh-token"), "x.y.z"),
        ]);
        assert_eq!(
            sources().extract(&map).unwrap_err().description(),
            "two different refresh tokens"
        );
    }
}
