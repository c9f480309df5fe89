//! The rules both halves of the scheme share — header names, lifetimes, the refresh policy — and
//! the builder that checks them once, at [`build`](JwtSessionsBuilder::build).
//!
//! ```
//! use std::time::Duration;
//! use tower_jwt_auth::{JwtSessions, MemoryStore};
//!
//! let sessions = JwtSessions::<MemoryStore>::builder()
//!     .hs256_secret(b"an example secret of 32+ bytes!!")
//!     .access_ttl(Duration::from_secs(300))
//!     .refresh_grace(Duration::from_secs(5))
//!     .refresh_rotation(true)
//!     .build()?;
//!
//! let config = sessions.config();
//! assert_eq!(config.refresh_header(), "x-refresh-token");
//! assert_eq!(config.access_ttl(), Duration::from_secs(300));
//! # Ok::<(), tower_jwt_auth::ConfigError>(())
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::HeaderName;

use crate::clock::{Clock, SystemClock};
use crate::sessions::JwtSessions;
use crate::store::{MemoryStore, PairStore};
use crate::token::{CustomClaims, JwtKeys, KeySet, TokenCodec};

/// Sessions end before stores' 32-bit clocks do (2106), however long they are configured to be.
const MAX_SESSION_LIFETIME: Duration = Duration::from_secs(50 * 365 * 24 * 60 * 60);

/// What is wrong with a configuration. New kinds may be added.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConfigErrorKind {
    /// No keys were given.
    MissingKeys,
    /// An HMAC secret shorter than its hash output (32 bytes for HS256).
    WeakSecret,
    /// The algorithm does not fit the kind of key.
    AlgorithmMismatch,
    /// A key could not be read, or a private and public key do not belong together.
    InvalidKey,
    /// A header name is not a valid HTTP header name, or collides with another.
    InvalidHeaderName,
    /// A lifetime, window or limit is out of range.
    InvalidLifetime,
    /// The type of the application claims cannot be merged into a token's payload (see
    /// [`CustomClaims`](crate::CustomClaims)).
    InvalidClaims,
}

/// A configuration that cannot work, refused before any request is served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    kind: ConfigErrorKind,
    detail: String,
}

impl ConfigError {
    pub(crate) fn new(kind: ConfigErrorKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
        }
    }

    /// What is wrong.
    pub fn kind(&self) -> ConfigErrorKind {
        self.kind
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid tower-jwt-auth configuration: {}", self.detail)
    }
}

impl std::error::Error for ConfigError {}

/// The validated rules of a [`JwtSessions`]: header names, lifetimes and the refresh policy.
///
/// Shared, read-only, by the server layer and anything else that speaks the same scheme.
#[derive(Debug, Clone)]
pub struct Config {
    refresh_header: HeaderName,
    access_token_response_header: HeaderName,
    refresh_token_response_header: HeaderName,
    access_ttl: Duration,
    refresh_ttl: Duration,
    refresh_grace: Duration,
    leeway: Duration,
    refresh_rotation: bool,
    pair_check: bool,
    theft_detection: bool,
    issuer: Option<String>,
    audience: Option<String>,
    max_token_len: usize,
    max_sessions_per_subject: u32,
}

impl Config {
    /// Request header that carries a refresh token (default `x-refresh-token`).
    pub fn refresh_header(&self) -> &HeaderName {
        &self.refresh_header
    }

    /// Response header that carries a newly minted access token (default `x-access-token`).
    pub fn access_token_response_header(&self) -> &HeaderName {
        &self.access_token_response_header
    }

    /// Response header that carries a rotated refresh token (default `x-refresh-token`).
    pub fn refresh_token_response_header(&self) -> &HeaderName {
        &self.refresh_token_response_header
    }

    /// Lifetime of an access token (default 15 minutes).
    pub fn access_ttl(&self) -> Duration {
        self.access_ttl
    }

    /// Absolute lifetime of a session and its refresh tokens (default 14 days).
    pub fn refresh_ttl(&self) -> Duration {
        self.refresh_ttl
    }

    /// Window after a refresh in which further refreshes of the same session receive the same
    /// tokens instead of tripping the theft rule (default 10 seconds; zero turns it off).
    pub fn refresh_grace(&self) -> Duration {
        self.refresh_grace
    }

    /// Clock-skew allowance on `exp` and `nbf`, also used by the theft rule (default zero).
    pub fn leeway(&self) -> Duration {
        self.leeway
    }

    /// Whether each refresh also issues a new refresh token (default off).
    pub fn refresh_rotation(&self) -> bool {
        self.refresh_rotation
    }

    /// Whether an access token must be its session's current one in the store (default on).
    pub fn pair_check(&self) -> bool {
        self.pair_check
    }

    /// Whether a refresh while the session's access token is still valid revokes the session
    /// (default on).
    pub fn theft_detection(&self) -> bool {
        self.theft_detection
    }

    /// Required `iss` claim, if configured.
    pub fn issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }

    /// Required `aud` claim, if configured.
    pub fn audience(&self) -> Option<&str> {
        self.audience.as_deref()
    }

    /// Longest token accepted, in bytes (default 8 KiB); longer ones are refused undecoded.
    pub fn max_token_len(&self) -> usize {
        self.max_token_len
    }

    /// Most live sessions one subject may have (default 1,000); a login past it ends the
    /// subject's sessions that end first.
    pub fn max_sessions_per_subject(&self) -> u32 {
        self.max_sessions_per_subject
    }
}

/// Builds a [`JwtSessions`]; every setting is checked by [`build`](Self::build).
///
/// Created by [`JwtSessions::builder`]; the store defaults to a fresh [`MemoryStore`] and the
/// clock to the [`SystemClock`].
#[must_use]
pub struct JwtSessionsBuilder<S = MemoryStore, C = ()> {
    settings: Settings,
    store: S,
    claims: std::marker::PhantomData<fn() -> C>,
}

/// Everything a builder holds but the store: what changing the store type carries over.
struct Settings {
    keys: Option<Result<KeySet, ConfigError>>,
    clock: Arc<dyn Clock>,
    refresh_header: String,
    access_token_response_header: String,
    refresh_token_response_header: String,
    access_ttl: Duration,
    refresh_ttl: Duration,
    refresh_grace: Duration,
    leeway: Duration,
    refresh_rotation: bool,
    pair_check: bool,
    theft_detection: bool,
    issuer: Option<String>,
    audience: Option<String>,
    max_token_len: usize,
    max_sessions_per_subject: u32,
}

impl<S: fmt::Debug, C> fmt::Debug for JwtSessionsBuilder<S, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtSessionsBuilder")
            .field("keys", &self.settings.keys)
            .field("store", &self.store)
            .field("access_ttl", &self.settings.access_ttl)
            .field("refresh_ttl", &self.settings.refresh_ttl)
            .field("refresh_grace", &self.settings.refresh_grace)
            .finish_non_exhaustive()
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            keys: None,
            clock: Arc::new(SystemClock),
            refresh_header: "x-refresh-token".into(),
            access_token_response_header: "x-access-token".into(),
            refresh_token_response_header: "x-refresh-token".into(),
            access_ttl: Duration::from_secs(15 * 60),
            refresh_ttl: Duration::from_secs(14 * 24 * 60 * 60),
            refresh_grace: Duration::from_secs(10),
            leeway: Duration::ZERO,
            refresh_rotation: false,
            pair_check: true,
            theft_detection: true,
            issuer: None,
            audience: None,
            max_token_len: 8 * 1024,
            max_sessions_per_subject: 1_000,
        }
    }
}

impl<C> Default for JwtSessionsBuilder<MemoryStore, C> {
    fn default() -> Self {
        Self {
            settings: Settings::default(),
            store: MemoryStore::new(),
            claims: std::marker::PhantomData,
        }
    }
}

impl<S, C> JwtSessionsBuilder<S, C> {
    /// The keys to sign and verify with.
    pub fn keys(mut self, keys: JwtKeys) -> Self {
        self.settings.keys = Some(Ok(KeySet::signing(keys)));
        self
    }

    /// A whole key set: an active signing key and verify-only keys, selected by `kid`. A set
    /// without a signing key makes a verify-only service (see [`KeySet::verify_only`]).
    pub fn key_set(mut self, keys: KeySet) -> Self {
        self.settings.keys = Some(Ok(keys));
        self
    }

    /// HS256 with this shared secret; a secret under 32 bytes fails [`build`](Self::build).
    pub fn hs256_secret(mut self, secret: impl AsRef<[u8]>) -> Self {
        self.settings.keys = Some(JwtKeys::hs256(secret.as_ref()).map(KeySet::signing));
        self
    }

    /// The pair store (default: a fresh [`MemoryStore`]).
    pub fn store<S2: PairStore>(self, store: S2) -> JwtSessionsBuilder<S2, C> {
        JwtSessionsBuilder {
            settings: self.settings,
            store,
            claims: self.claims,
        }
    }

    /// The clock every expiry decision reads (default [`SystemClock`]).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.settings.clock = Arc::new(clock);
        self
    }

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

    /// Access-token lifetime, whole seconds, at least one (default 15 minutes).
    pub fn access_ttl(mut self, ttl: Duration) -> Self {
        self.settings.access_ttl = ttl;
        self
    }

    /// Session (refresh-token) lifetime, longer than the access lifetime (default 14 days).
    /// Rotation never extends it.
    pub fn refresh_ttl(mut self, ttl: Duration) -> Self {
        self.settings.refresh_ttl = ttl;
        self
    }

    /// Grace window for concurrent refreshes of one session (default 10 s; zero turns it off).
    /// Must be shorter than the access lifetime.
    pub fn refresh_grace(mut self, grace: Duration) -> Self {
        self.settings.refresh_grace = grace;
        self
    }

    /// Clock-skew allowance on `exp`/`nbf` and in the theft rule (default zero).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.settings.leeway = leeway;
        self
    }

    /// Issue a new refresh token on every refresh, with reuse detection (default off).
    pub fn refresh_rotation(mut self, on: bool) -> Self {
        self.settings.refresh_rotation = on;
        self
    }

    /// Require an access token to be its session's current one in the store (default on).
    pub fn pair_check(mut self, on: bool) -> Self {
        self.settings.pair_check = on;
        self
    }

    /// Revoke a session refreshed while its access token is still valid (default on).
    pub fn theft_detection(mut self, on: bool) -> Self {
        self.settings.theft_detection = on;
        self
    }

    /// Put this `iss` on every token and require it on every token verified.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.settings.issuer = Some(issuer.into());
        self
    }

    /// Put this `aud` on every token and require it on every token verified.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.settings.audience = Some(audience.into());
        self
    }

    /// Longest token accepted, in bytes (default 8 KiB, at least 256).
    pub fn max_token_len(mut self, len: usize) -> Self {
        self.settings.max_token_len = len;
        self
    }

    /// The most live sessions one subject may have (default 1,000, at least 1; `u32::MAX` for
    /// no limit). A login past it ends (revokes) the subject's sessions that end first — with
    /// the usual lifetimes, the oldest — so a login always succeeds, and whoever can log in as
    /// a user cannot pile up sessions faster than "log out everywhere" ends them.
    pub fn max_sessions_per_subject(mut self, max: u32) -> Self {
        self.settings.max_sessions_per_subject = max;
        self
    }

    /// Checks every setting and builds the [`JwtSessions`].
    pub fn build(self) -> Result<JwtSessions<S, C>, ConfigError>
    where
        S: PairStore,
        C: CustomClaims,
    {
        let Self {
            settings: s, store, ..
        } = self;
        let keys = s.keys.unwrap_or_else(|| {
            Err(ConfigError::new(
                ConfigErrorKind::MissingKeys,
                "no keys: call .keys(..), .key_set(..) or .hs256_secret(..)",
            ))
        })?;
        crate::token::check_claims_type::<C>()
            .map_err(|e| ConfigError::new(ConfigErrorKind::InvalidClaims, e.to_string()))?;
        if keys.is_empty() {
            return Err(ConfigError::new(
                ConfigErrorKind::MissingKeys,
                "the key set is empty",
            ));
        }
        let lifetime =
            |detail: &str| Err(ConfigError::new(ConfigErrorKind::InvalidLifetime, detail));
        let whole = |d: Duration| d.subsec_nanos() == 0;
        if s.access_ttl < Duration::from_secs(1) || !whole(s.access_ttl) {
            return lifetime("access_ttl must be a whole number of seconds, at least one");
        }
        if s.refresh_ttl <= s.access_ttl || !whole(s.refresh_ttl) {
            return lifetime("refresh_ttl must be whole seconds, longer than access_ttl");
        }
        if s.refresh_ttl > MAX_SESSION_LIFETIME {
            return lifetime("refresh_ttl must be at most 50 years");
        }
        if s.refresh_grace >= s.access_ttl || !whole(s.refresh_grace) {
            return lifetime("refresh_grace must be whole seconds, shorter than access_ttl");
        }
        if s.leeway >= s.access_ttl || !whole(s.leeway) {
            return lifetime("leeway must be whole seconds, shorter than access_ttl");
        }
        if s.max_token_len < 256 {
            return lifetime("max_token_len must be at least 256 bytes");
        }
        if s.max_sessions_per_subject == 0 {
            return lifetime("max_sessions_per_subject must be at least 1");
        }
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
        if refresh_header == http::header::AUTHORIZATION
            || access_token_response_header == refresh_token_response_header
        {
            return Err(ConfigError::new(
                ConfigErrorKind::InvalidHeaderName,
                "the refresh header must differ from Authorization, and the two response headers from each other",
            ));
        }
        let codec = TokenCodec::new(
            keys,
            s.issuer.clone(),
            s.audience.clone(),
            s.leeway.as_secs(),
            s.max_token_len,
        )
        .max_lifetime(s.refresh_ttl.as_secs());
        let config = Config {
            refresh_header,
            access_token_response_header,
            refresh_token_response_header,
            access_ttl: s.access_ttl,
            refresh_ttl: s.refresh_ttl,
            refresh_grace: s.refresh_grace,
            leeway: s.leeway,
            refresh_rotation: s.refresh_rotation,
            pair_check: s.pair_check,
            theft_detection: s.theft_detection,
            issuer: s.issuer,
            audience: s.audience,
            max_token_len: s.max_token_len,
            max_sessions_per_subject: s.max_sessions_per_subject,
        };
        Ok(JwtSessions::from_parts(config, codec, store, s.clock))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn kind<S: PairStore>(builder: JwtSessionsBuilder<S>) -> ConfigErrorKind {
        builder.build().unwrap_err().kind()
    }

    #[test]
    fn defaults_match_the_documentation() {
        let sessions = JwtSessions::<MemoryStore>::builder()
            .hs256_secret(SECRET)
            .build()
            .unwrap();
        let config = sessions.config();
        assert_eq!(config.access_ttl(), Duration::from_secs(900));
        assert_eq!(config.refresh_ttl(), Duration::from_secs(14 * 86_400));
        assert_eq!(config.refresh_grace(), Duration::from_secs(10));
        assert_eq!(config.leeway(), Duration::ZERO);
        assert!(config.pair_check() && config.theft_detection() && !config.refresh_rotation());
        assert_eq!(config.access_token_response_header(), "x-access-token");
        assert_eq!(config.max_token_len(), 8192);
    }

    #[test]
    fn refuses_bad_configurations_at_build_time() {
        let b = || JwtSessions::<MemoryStore>::builder().hs256_secret(SECRET);
        assert_eq!(
            kind(JwtSessions::<MemoryStore>::builder()),
            ConfigErrorKind::MissingKeys
        );
        assert_eq!(
            kind(JwtSessions::<MemoryStore>::builder().hs256_secret(b"short")),
            ConfigErrorKind::WeakSecret
        );
        assert_eq!(
            kind(b().access_ttl(Duration::ZERO)),
            ConfigErrorKind::InvalidLifetime
        );
        assert_eq!(
            kind(b().refresh_ttl(Duration::from_secs(60))),
            ConfigErrorKind::InvalidLifetime
        );
        assert_eq!(
            kind(b().refresh_ttl(Duration::from_secs(60 * 365 * 86_400))),
            ConfigErrorKind::InvalidLifetime
        );
        assert_eq!(
            kind(b().refresh_grace(Duration::from_secs(900))),
            ConfigErrorKind::InvalidLifetime
        );
        assert_eq!(
            kind(b().access_ttl(Duration::from_millis(1500))),
            ConfigErrorKind::InvalidLifetime
        );
        assert_eq!(
            kind(b().refresh_header("bad header")),
            ConfigErrorKind::InvalidHeaderName
        );
        assert_eq!(
            kind(b().refresh_header("Authorization")),
            ConfigErrorKind::InvalidHeaderName
        );
    }
}
