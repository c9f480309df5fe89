//! Where a [`JwtSessionsBuilder`]'s tokens travel: the headers that carry them, cookie mode, and
//! any further credential source.

use std::sync::Arc;

use http::HeaderName;

use super::{JwtSessionsBuilder, Settings};
use crate::cookie::CookieSettings;
use crate::cookie::CookieSource;
use crate::credentials::{CredentialSource, HeaderSource, Sources};
use crate::error::{ConfigError, ConfigErrorKind};

impl<C> JwtSessionsBuilder<C> {
    /// Request header carrying refresh tokens (default `x-refresh-token`).
    pub fn refresh_header(mut self, name: impl Into<String>) -> Self {
        self.settings.refresh_header = name.into();
        self
    }

    /// Response header carrying newly minted access tokens (default `x-access-token`).
    pub fn access_token_response_header(mut self, name: impl Into<String>) -> Self {
        self.settings.access_token_response_header = name.into();
        self
    }

    /// Response header carrying rotated refresh tokens (default `x-refresh-token`).
    pub fn refresh_token_response_header(mut self, name: impl Into<String>) -> Self {
        self.settings.refresh_token_response_header = name.into();
        self
    }

    /// Cookie mode: the tokens also travel in `HttpOnly` cookies, for browsers (off by
    /// default). The layer reads them beside the headers, answers a refresh that a cookie
    /// carried with `Set-Cookie`, and refuses unsafe cross-site requests that carry them with
    /// `403` (one from another origin, scheme included, unless
    /// [trusted](CookieSettings::trusted_origin)); the login route sets them with
    /// [`JwtSessions::login_cookies`](crate::JwtSessions::login_cookies). See
    /// [`CookieSettings`].
    ///
    /// ```
    /// use tower_jwt_auth::JwtSessions;
    /// use tower_jwt_auth::cookie::{CookieSettings, SameSite};
    ///
    /// let sessions = JwtSessions::builder()
    ///     .hs256_secret(b"an example secret of 32+ bytes!!")
    ///     .cookies(
    ///         CookieSettings::new()
    ///             .same_site(SameSite::Strict)
    ///             .trusted_origin("https://admin.example.com"),
    ///     )
    ///     .build()?;
    /// assert_eq!(sessions.config().cookies().unwrap().refresh_name(), "__Host-refresh-token");
    /// # Ok::<(), tower_jwt_auth::ConfigError>(())
    /// ```
    pub fn cookies(mut self, cookies: CookieSettings) -> Self {
        self.settings.cookies = Some(cookies);
        self
    }

    /// One more place the layer looks for tokens, after the headers and (in cookie mode) the
    /// cookies (see [`CredentialSource`]). Two sources that find different tokens of one kind
    /// make the request `400`. The [`credentials`](crate::credentials) module shows one.
    pub fn credential_source(mut self, source: impl CredentialSource) -> Self {
        self.settings.credential_sources.push(Arc::new(source));
        self
    }
}

/// The transport settings, checked.
pub(super) struct Transport {
    pub(super) refresh_header: HeaderName,
    pub(super) access_token_response_header: HeaderName,
    pub(super) refresh_token_response_header: HeaderName,
    pub(super) cookies: Option<CookieSettings>,
    pub(super) sources: Sources,
}

/// Checks the header names, then the cookie settings, and takes the credential sources.
pub(super) fn transport(s: &mut Settings) -> Result<Transport, ConfigError> {
    let header = |name: &str| {
        HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
            ConfigError::new(
                ConfigErrorKind::InvalidHeaderName,
                format!("{name:?} is not a valid header name"),
            )
        })
    };
    let refresh_header = header(&s.refresh_header)?;
    let access_token_response_header = header(&s.access_token_response_header)?;
    let refresh_token_response_header = header(&s.refresh_token_response_header)?;
    if refresh_header == http::header::AUTHORIZATION {
        return Err(ConfigError::new(
            ConfigErrorKind::InvalidHeaderName,
            "the refresh header cannot be Authorization, which carries the access token",
        ));
    }
    if access_token_response_header == refresh_token_response_header {
        return Err(ConfigError::new(
            ConfigErrorKind::InvalidHeaderName,
            format!(
                "the access and refresh tokens cannot share one response header \
                 ({access_token_response_header})"
            ),
        ));
    }
    let cookies = s.cookies.take().map(CookieSettings::validate).transpose()?;
    let sources = Sources::new(
        HeaderSource::new(refresh_header.clone()),
        cookies
            .as_ref()
            .map(|c| CookieSource::new(c.access_name(), c.refresh_name())),
        std::mem::take(&mut s.credential_sources),
    );
    Ok(Transport {
        refresh_header,
        access_token_response_header,
        refresh_token_response_header,
        cookies,
        sources,
    })
}
