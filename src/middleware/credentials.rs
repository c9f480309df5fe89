//! Reading the credentials a request carries, before any token is decoded.

use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderName, HeaderValue};

use crate::error::{AuthError, Text, invalid_request};

/// What a request presents.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Credentials<'a> {
    /// Neither an access nor a refresh token.
    None,
    /// `Authorization: Bearer`, with the refresh token if one came too (used only when the access
    /// token has expired).
    Access {
        access: &'a str,
        refresh: Option<&'a str>,
    },
    /// Only a refresh token.
    Refresh(&'a str),
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
fn b64token(token: &[u8]) -> Option<&str> {
    let padding = token.iter().rev().take_while(|&&b| b == b'=').count();
    let body = &token[..token.len() - padding];
    let valid = !body.is_empty() && body.iter().fold(true, |ok, &b| ok & is_b64token_char(b));
    valid.then(|| std::str::from_utf8(token).ok()).flatten()
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

fn bearer(headers: &HeaderMap) -> Result<Option<&str>, AuthError> {
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
    match b64token(&rest[start..]) {
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

/// Reads the `Authorization` and refresh headers; malformed or repeated ones are `400`.
pub(crate) fn extract<'a>(
    headers: &'a HeaderMap,
    refresh_header: &HeaderName,
) -> Result<Credentials<'a>, AuthError> {
    let access = bearer(headers)?;
    let refresh = refresh(headers, refresh_header)?;
    Ok(match (access, refresh) {
        (Some(access), refresh) => Credentials::Access { access, refresh },
        (None, Some(refresh)) => Credentials::Refresh(refresh),
        (None, None) => Credentials::None,
    })
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

    fn kind(pairs: &[(&HeaderName, &[u8])]) -> AuthErrorKind {
        extract(&headers(pairs), &REFRESH).unwrap_err().kind()
    }

    #[test]
    fn reads_bearer_and_refresh_tokens() {
        let map = headers(&[(&AUTHORIZATION, b"bearer  a.b.c"), (&REFRESH, b"d.e.f")]);
        let expected = Credentials::Access {
            access: "a.b.c",
            refresh: Some("d.e.f"),
        };
        assert_eq!(extract(&map, &REFRESH).unwrap(), expected);
        let map = headers(&[(&REFRESH, b"d.e.f")]);
        assert_eq!(
            extract(&map, &REFRESH).unwrap(),
            Credentials::Refresh("d.e.f")
        );
        assert_eq!(
            extract(&HeaderMap::new(), &REFRESH).unwrap(),
            Credentials::None
        );
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
    fn other_schemes_are_no_credentials() {
        let map = headers(&[(&AUTHORIZATION, b"Basic dXNlcjpwYXNz")]);
        assert_eq!(extract(&map, &REFRESH).unwrap(), Credentials::None);
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
