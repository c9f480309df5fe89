//! OpenID discovery: where a provider's key set is, read from its discovery document.

use http::Uri;
use serde::Deserialize;

use crate::oidc::error::{KeySourceError, KeySourceErrorKind};

/// The `jwks_uri` of `issuer`'s discovery document, which must name `issuer`.
pub(super) fn jwks_uri(document: &[u8], issuer: &str) -> Result<Uri, KeySourceError> {
    #[derive(Deserialize)]
    struct Discovery {
        issuer: String,
        jwks_uri: String,
    }
    let document: Discovery = serde_json::from_slice(document).map_err(|e| {
        KeySourceError::new(
            KeySourceErrorKind::InvalidDocument,
            "the discovery document is not JSON with `issuer` and `jwks_uri`",
        )
        .with_source(e)
    })?;
    // OpenID Connect Discovery §4.3: the document must name the issuer it was asked for.
    if document.issuer != issuer {
        return Err(KeySourceError::new(
            KeySourceErrorKind::InvalidDocument,
            format!(
                "the discovery document names issuer {:?}, not {issuer:?}",
                document.issuer
            ),
        ));
    }
    parse_uri(&document.jwks_uri)
}

pub(super) fn parse_uri(url: &str) -> Result<Uri, KeySourceError> {
    let uri: Uri = url.parse().map_err(|e| {
        KeySourceError::new(
            KeySourceErrorKind::InvalidUrl,
            format!("{url:?} is not a URL"),
        )
        .with_source(e)
    })?;
    match uri.scheme_str() {
        Some("https" | "http") if uri.host().is_some() => Ok(uri),
        _ => Err(KeySourceError::new(
            KeySourceErrorKind::InvalidUrl,
            format!("{url:?} is not an http(s) URL"),
        )),
    }
}

pub(super) fn discovery_uri(issuer: &str) -> Result<Uri, KeySourceError> {
    parse_uri(&format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_http_or_https() {
        assert!(parse_uri("https://idp.example.com/jwks").is_ok());
        assert_eq!(
            parse_uri("file:///etc/passwd").unwrap_err().kind(),
            KeySourceErrorKind::InvalidUrl
        );
        assert_eq!(
            discovery_uri("https://idp.example.com/realms/x/").unwrap(),
            "https://idp.example.com/realms/x/.well-known/openid-configuration"
        );
    }
}
