//! Reading the credentials a request carries, before any token is decoded.

use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderName};

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

/// The characters of RFC 6750 §2.1 `b64token`, besides its trailing `=` padding.
const B64TOKEN: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] =
            c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~' | b'+' | b'/');
        b += 1;
    }
    table
};

/// RFC 6750 §2.1 `b64token`: `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty() && body.bytes().all(|b| B64TOKEN[usize::from(b)])
}

fn single<'a>(
    headers: &'a HeaderMap,
    name: &HeaderName,
    twice: Text,
    unreadable: Text,
) -> Result<Option<&'a str>, AuthError> {
    let mut values = headers.get_all(name).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(AuthError::invalid_request(twice));
    }
    value
        .to_str()
        .map(Some)
        .map_err(|_| AuthError::invalid_request(unreadable))
}

fn bearer(headers: &HeaderMap) -> Result<Option<&str>, AuthError> {
    let Some(value) = single(
        headers,
        &AUTHORIZATION,
        invalid_request!("more than one Authorization header"),
        invalid_request!("the Authorization header is not visible ASCII"),
    )?
    else {
        return Ok(None);
    };
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        // Another scheme carries no bearer credentials (RFC 6750 §3).
        return Ok(None);
    }
    let token = rest.trim_start_matches(' ');
    if !is_b64token(token) {
        return Err(AuthError::invalid_request(invalid_request!(
            "malformed Bearer credentials"
        )));
    }
    Ok(Some(token))
}

fn refresh<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Result<Option<&'a str>, AuthError> {
    let token = single(
        headers,
        name,
        invalid_request!("more than one refresh token header"),
        invalid_request!("the refresh token header is not visible ASCII"),
    )?;
    match token {
        Some(token) if !is_b64token(token) => Err(AuthError::invalid_request(invalid_request!(
            "malformed refresh token header"
        ))),
        token => Ok(token),
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
    use http::HeaderValue;

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
