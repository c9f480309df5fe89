//! [`HeaderSource`]: `Authorization: Bearer` and the refresh header.

use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderName, HeaderValue};

use super::{CredentialSource, b64token, unchecked};
use crate::error::{AuthError, Text, invalid_request};
use crate::token::TokenKind;

/// The access token in `Authorization: Bearer` (RFC 6750 §2.1) and the refresh token in its own
/// header (`x-refresh-token` by default). Always enabled.
///
/// A malformed or repeated header is `400 invalid_request`; an `Authorization` header of another
/// scheme (`Basic`, say) carries no bearer token and is left alone.
///
/// ```
/// use http::{HeaderMap, HeaderName};
/// use tower_jwt_auth::TokenKind;
/// use tower_jwt_auth::credentials::{CredentialSource, HeaderSource};
///
/// let source = HeaderSource::new(HeaderName::from_static("x-refresh-token"));
/// let mut headers = HeaderMap::new();
/// headers.insert("authorization", "Bearer a.b.c".parse()?);
/// assert_eq!(source.find(&headers, TokenKind::Access)?, Some("a.b.c"));
/// assert_eq!(source.find(&headers, TokenKind::Refresh)?, None);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct HeaderSource {
    refresh_header: HeaderName,
}

impl HeaderSource {
    /// Reads refresh tokens from `refresh_header`.
    #[must_use]
    pub fn new(refresh_header: HeaderName) -> Self {
        Self { refresh_header }
    }
}

impl CredentialSource for HeaderSource {
    fn find<'h>(
        &self,
        headers: &'h HeaderMap,
        kind: TokenKind,
    ) -> Result<Option<&'h str>, AuthError> {
        match kind {
            TokenKind::Access => bearer(headers),
            TokenKind::Refresh => refresh(headers, &self.refresh_header),
        }
    }
}

/// The one value of header `name`, if any; twice is a `400`.
fn single<'a>(
    headers: &'a HeaderMap,
    name: &HeaderName,
    twice: Text,
) -> Result<Option<&'a HeaderValue>, AuthError> {
    let mut values = headers.get_all(name).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(AuthError::invalid_request(twice));
    }
    Ok(Some(value))
}

/// The `400` for a value that is not a well-formed credential: unreadable if it is not even
/// visible ASCII, malformed otherwise.
fn refusal(value: &HeaderValue, unreadable: Text, malformed: Text) -> AuthError {
    match value.to_str() {
        Err(_) => AuthError::invalid_request(unreadable),
        Ok(_) => AuthError::invalid_request(malformed),
    }
}

/// The bearer token of the `Authorization` header, checked as RFC 6750 §2.1 `b64token`.
pub(crate) fn bearer(headers: &HeaderMap) -> Result<Option<&str>, AuthError> {
    bearer_read(headers, b64token)
}

/// [`bearer`] without the `b64token` check, for a caller that verifies the token at once: a
/// token that verifies is base64url, and so a `b64token`. A refused one must still be answered
/// with `bearer`'s error, if it has one.
pub(crate) fn bearer_unchecked(headers: &HeaderMap) -> Result<Option<&str>, AuthError> {
    bearer_read(headers, unchecked)
}

/// The bearer token of the single `Authorization` header, as `read` takes it from the bytes
/// after the scheme; a token `read` refuses gets the `400` of [`bearer`].
fn bearer_read(
    headers: &HeaderMap,
    read: impl FnOnce(&[u8]) -> Option<&str>,
) -> Result<Option<&str>, AuthError> {
    let unreadable = || invalid_request!("the Authorization header is not visible ASCII");
    let Some(value) = single(
        headers,
        &AUTHORIZATION,
        invalid_request!("more than one Authorization header"),
    )?
    else {
        return Ok(None);
    };
    let bytes = value.as_bytes();
    let (scheme, rest) = match bytes.iter().position(|&b| b == b' ') {
        Some(space) => (&bytes[..space], &bytes[space + 1..]),
        None => (bytes, &b""[..]),
    };
    if !scheme.eq_ignore_ascii_case(b"bearer") {
        // Another scheme carries no bearer credentials (RFC 6750 §3), but must still be
        // readable.
        return match value.to_str() {
            Ok(_) => Ok(None),
            Err(_) => Err(AuthError::invalid_request(unreadable())),
        };
    }
    let start = rest.iter().take_while(|&&b| b == b' ').count();
    match read(&rest[start..]) {
        Some(token) => Ok(Some(token)),
        None => Err(refusal(
            value,
            unreadable(),
            invalid_request!("malformed Bearer credentials"),
        )),
    }
}

fn refresh<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Result<Option<&'a str>, AuthError> {
    let Some(value) = single(
        headers,
        name,
        invalid_request!("more than one refresh token header"),
    )?
    else {
        return Ok(None);
    };
    match b64token(value.as_bytes()) {
        Some(token) => Ok(Some(token)),
        None => Err(refusal(
            value,
            invalid_request!("the refresh token header is not visible ASCII"),
            invalid_request!("malformed refresh token header"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::AuthErrorKind;

    const REFRESH: HeaderName = HeaderName::from_static("x-refresh-token");

    fn headers(pairs: &[(&HeaderName, &[u8])]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append((*name).clone(), HeaderValue::from_bytes(value).unwrap());
        }
        map
    }

    fn extract(map: &HeaderMap) -> Result<(Option<&str>, Option<&str>), AuthError> {
        let source = HeaderSource::new(REFRESH);
        Ok((
            source.find(map, TokenKind::Access)?,
            source.find(map, TokenKind::Refresh)?,
        ))
    }

    fn kind(pairs: &[(&HeaderName, &[u8])]) -> AuthErrorKind {
        extract(&headers(pairs)).unwrap_err().kind()
    }

    #[test]
    fn reads_bearer_and_refresh_tokens() {
        let map = headers(&[(&AUTHORIZATION, b"bearer  a.b.c"), (&REFRESH, b"d.e.f")]);
        assert_eq!(extract(&map).unwrap(), (Some("a.b.c"), Some("d.e.f")));
        let map = headers(&[(&REFRESH, b"d.e.f")]);
        assert_eq!(extract(&map).unwrap(), (None, Some("d.e.f")));
        assert_eq!(extract(&HeaderMap::new()).unwrap(), (None, None));
    }

    #[test]
    fn other_schemes_are_no_credentials() {
        let map = headers(&[(&AUTHORIZATION, b"Basic dXNlcjpwYXNz")]);
        assert_eq!(extract(&map).unwrap(), (None, None));
    }

    #[test]
    fn repeated_or_malformed_headers_are_invalid_requests() {
        let bad = AuthErrorKind::InvalidRequest;
        assert_eq!(
            kind(&[(&AUTHORIZATION, b"Bearer a"), (&AUTHORIZATION, b"Bearer b")]),
            bad
        );
        assert_eq!(kind(&[(&REFRESH, b"a"), (&REFRESH, b"b")]), bad);
        assert_eq!(kind(&[(&AUTHORIZATION, b"Bearer")]), bad);
        assert_eq!(kind(&[(&AUTHORIZATION, b"Bearer a b")]), bad);
        assert_eq!(kind(&[(&AUTHORIZATION, b"Bearer =")]), bad);
        assert_eq!(kind(&[(&AUTHORIZATION, b"Bearer \xff")]), bad);
        assert_eq!(kind(&[(&REFRESH, b"a,b")]), bad);
    }
}
