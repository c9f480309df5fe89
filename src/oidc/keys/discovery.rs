//! OpenID discovery: where a provider's key set is, read from its discovery document.

use http::Uri;
use http::uri::Scheme;
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

/// Refuses a key set over plain http named by the document of an `https://` issuer: keys
/// fetched in the clear can be swapped on the way, whatever guarded the document.
pub(super) fn refuse_plain_http(issuer: &str, jwks_uri: &Uri) -> Result<(), KeySourceError> {
    let https = |uri: &Uri| uri.scheme() == Some(&Scheme::HTTPS);
    if https(jwks_uri) || !discovery_uri(issuer).is_ok_and(|uri| https(&uri)) {
        return Ok(());
    }
    Err(KeySourceError::new(
        KeySourceErrorKind::InvalidDocument,
        format!(
            "the discovery document of the https issuer {issuer:?} names a key set over plain \
             http ({jwks_uri}), refused unless allow_insecure_jwks_uri(true)"
        ),
    ))
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

    #[test]
    fn an_https_issuer_keeps_its_keys_off_plain_http() {
        let document = |issuer: &str, jwks: &str| {
            let json = format!(r#"{{"issuer": "{issuer}", "jwks_uri": "{jwks}"}}"#);
            jwks_uri(json.as_bytes(), issuer)
        };
        let https = "https://idp.example.com";
        let plain = document(https, "http://idp.example.com/jwks").unwrap();
        let error = refuse_plain_http(https, &plain).unwrap_err();
        assert_eq!(error.kind(), KeySourceErrorKind::InvalidDocument);
        assert!(error.to_string().contains("over plain http"), "{error}");
        let secure = document(https, "https://keys.example.com/jwks").unwrap();
        assert!(refuse_plain_http(https, &secure).is_ok());
        // A plain http issuer was chosen so: its document is trusted no more than its keys.
        let local = "http://127.0.0.1:8080";
        let plain = document(local, "http://127.0.0.1:8080/jwks").unwrap();
        assert!(refuse_plain_http(local, &plain).is_ok());

        let other = br#"{"issuer": "https://other.example.com", "jwks_uri": "https://x/jwks"}"#;
        let error = jwks_uri(other, https).unwrap_err();
        assert_eq!(error.kind(), KeySourceErrorKind::InvalidDocument);
        assert_eq!(
            document(https, "ftp://idp.example.com/jwks")
                .unwrap_err()
                .kind(),
            KeySourceErrorKind::InvalidUrl
        );
    }
}
