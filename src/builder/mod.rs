//! [`JwtSessionsBuilder`]: every setting of a [`JwtSessions`], checked once, at
//! [`build`](JwtSessionsBuilder::build).
//!
//! ```
//! use std::time::Duration;
//! use serde::{Deserialize, Serialize};
//! use tower_jwt_auth::JwtSessions;
//! use tower_jwt_auth::store::MemoryStore;
//!
//! #[derive(Clone, Serialize, Deserialize)]
//! struct Role {
//!     role: String,
//! }
//!
//! let sessions: JwtSessions<Role> = JwtSessions::builder()
//!     .claims::<Role>()
//!     .hs256_secret(b"an example secret of 32+ bytes!!")
//!     .access_ttl(Duration::from_secs(300))
//!     .refresh_rotation(true)
//!     .store(MemoryStore::new())
//!     .build()?;
//! # let _ = sessions;
//!
//! // A setting that cannot work is refused with the values involved.
//! let error = JwtSessions::builder()
//!     .hs256_secret(b"an example secret of 32+ bytes!!")
//!     .access_ttl(Duration::from_secs(3))
//!     .refresh_grace(Duration::from_secs(5))
//!     .build()
//!     .unwrap_err();
//! assert_eq!(
//!     error.to_string(),
//!     "invalid tower-jwt-auth configuration: refresh_grace (5 s) must be shorter than access_ttl (3 s)"
//! );
//! # Ok::<(), tower_jwt_auth::ConfigError>(())
//! ```

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::cookie::CookieSettings;
use crate::credentials::CredentialSource;
use crate::engine::Engine;
use crate::error::{ConfigError, ConfigErrorKind};
use crate::sessions::JwtSessions;
use crate::store::{DynStore, MemoryStore, PairStore};
use crate::token::{CustomClaims, KeySet, TokenCodec, check_claims_type};

mod keys;
mod lifetimes;
mod transport;

use lifetimes::{Chosen, DEFAULT_ACCESS_TTL, DEFAULT_REFRESH_TTL, lifetimes, limits};

/// Builds a [`JwtSessions`]; every setting is checked by [`build`](Self::build).
///
/// Created by [`JwtSessions::builder`]; the store defaults to a fresh [`MemoryStore`] and the
/// clock to the [`SystemClock`]. `C` is the type of the application claims, set with
/// [`claims`](Self::claims).
#[must_use = "a builder does nothing until `build` is called"]
pub struct JwtSessionsBuilder<C = ()> {
    settings: Settings,
    claims: PhantomData<fn() -> C>,
}

struct Settings {
    keys: Option<Result<KeySet, ConfigError>>,
    store: Option<Arc<dyn DynStore>>,
    clock: Arc<dyn Clock>,
    refresh_header: String,
    access_token_response_header: String,
    refresh_token_response_header: String,
    access_ttl: Chosen<Duration>,
    refresh_ttl: Chosen<Duration>,
    /// `None` until set: the default adapts to the access lifetime.
    refresh_grace: Option<Duration>,
    leeway: Chosen<Duration>,
    refresh_rotation: bool,
    pair_check: bool,
    theft_detection: bool,
    issuer: Option<String>,
    audience: Option<String>,
    max_token_len: usize,
    verified_token_cache: usize,
    max_sessions_per_subject: u32,
    cookies: Option<CookieSettings>,
    credential_sources: Vec<Arc<dyn CredentialSource>>,
}

impl<C> fmt::Debug for JwtSessionsBuilder<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.settings;
        f.debug_struct("JwtSessionsBuilder")
            .field("keys", &s.keys)
            .field("custom_store", &s.store.is_some())
            .field("access_ttl", &s.access_ttl.value)
            .field("refresh_ttl", &s.refresh_ttl.value)
            .field("refresh_grace", &s.refresh_grace)
            .finish_non_exhaustive()
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            keys: None,
            store: None,
            clock: Arc::new(SystemClock),
            refresh_header: "x-refresh-token".into(),
            access_token_response_header: "x-access-token".into(),
            refresh_token_response_header: "x-refresh-token".into(),
            access_ttl: Chosen::default(DEFAULT_ACCESS_TTL),
            refresh_ttl: Chosen::default(DEFAULT_REFRESH_TTL),
            refresh_grace: None,
            leeway: Chosen::default(Duration::ZERO),
            refresh_rotation: false,
            pair_check: true,
            theft_detection: true,
            issuer: None,
            audience: None,
            max_token_len: 8 * 1024,
            verified_token_cache: crate::token::verified_cache::DEFAULT_CAPACITY,
            max_sessions_per_subject: 1_000,
            cookies: None,
            credential_sources: Vec::new(),
        }
    }
}

impl<C> Default for JwtSessionsBuilder<C> {
    fn default() -> Self {
        Self {
            settings: Settings::default(),
            claims: PhantomData,
        }
    }
}

impl JwtSessions {
    /// Starts a builder with the defaults: an in-memory store, the system clock, 15-minute
    /// access tokens, 14-day sessions, a grace window fitted to the access lifetime, pair check
    /// and theft detection on, rotation off, no application claims (see
    /// [`claims`](JwtSessionsBuilder::claims)).
    pub fn builder() -> JwtSessionsBuilder {
        JwtSessionsBuilder::new()
    }
}

impl JwtSessionsBuilder {
    /// A builder with the defaults and no application claims; the same as
    /// [`JwtSessions::builder`].
    pub fn new() -> Self {
        Self::default()
    }
}

impl<C> JwtSessionsBuilder<C> {
    /// The type of the application claims both tokens carry (default `()`, none); handlers then
    /// read [`Claims<C2>`](crate::Claims) and hold a `JwtSessions<C2>`. Its fields must not
    /// collide with the claims this crate writes (see [`CustomClaims`]).
    pub fn claims<C2>(self) -> JwtSessionsBuilder<C2> {
        JwtSessionsBuilder {
            settings: self.settings,
            claims: PhantomData,
        }
    }

    /// The pair store (default: a fresh [`MemoryStore`]). Any [`PairStore`]; the handle and the
    /// layer do not carry its type.
    pub fn store(mut self, store: impl PairStore) -> Self {
        self.settings.store = Some(Arc::new(store));
        self
    }

    /// The clock every expiry decision reads (default [`SystemClock`]).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.settings.clock = Arc::new(clock);
        self
    }

    /// Checks every setting and builds the [`JwtSessions`].
    pub fn build(self) -> Result<JwtSessions<C>, ConfigError>
    where
        C: CustomClaims,
    {
        let mut s = self.settings;
        let keys = keys::key_set(&mut s)?;
        check_claims_type::<C>()
            .map_err(|e| ConfigError::new(ConfigErrorKind::InvalidClaims, e.to_string()))?;
        let refresh_grace = lifetimes(&s)?;
        limits(&s)?;
        let transport = transport::transport(&mut s)?;
        let codec = TokenCodec::new(keys, s.issuer.clone(), s.audience.clone(), s.max_token_len);
        let config = Config {
            refresh_header: transport.refresh_header,
            access_token_response_header: transport.access_token_response_header,
            refresh_token_response_header: transport.refresh_token_response_header,
            access_ttl: s.access_ttl.value,
            refresh_ttl: s.refresh_ttl.value,
            refresh_grace,
            leeway: s.leeway.value,
            refresh_rotation: s.refresh_rotation,
            pair_check: s.pair_check,
            theft_detection: s.theft_detection,
            issuer: s.issuer,
            audience: s.audience,
            max_token_len: s.max_token_len,
            max_sessions_per_subject: s.max_sessions_per_subject,
            cookies: transport.cookies,
        };
        let codec = codec.with_verified_cache(
            s.verified_token_cache,
            Arc::clone(&s.clock),
            crate::engine::time_window(&config),
            config.leeway().as_secs(),
        );
        let store = s.store.unwrap_or_else(|| Arc::new(MemoryStore::new()));
        Ok(JwtSessions::from_engine(Engine::new(
            config,
            codec,
            store,
            s.clock,
            transport.sources,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn error(builder: JwtSessionsBuilder) -> ConfigError {
        builder.build().unwrap_err()
    }

    fn b() -> JwtSessionsBuilder {
        JwtSessions::builder().hs256_secret(SECRET)
    }

    #[test]
    fn defaults_match_the_documentation() {
        let sessions = b().build().unwrap();
        let config = sessions.config();
        assert_eq!(config.access_ttl(), Duration::from_secs(900));
        assert_eq!(config.refresh_ttl(), Duration::from_secs(14 * 86_400));
        assert_eq!(config.refresh_grace(), Duration::from_secs(10));
        assert_eq!(config.leeway(), Duration::ZERO);
        assert!(config.pair_check() && config.theft_detection() && !config.refresh_rotation());
        assert_eq!(config.access_token_response_header(), "x-access-token");
        assert_eq!(config.max_token_len(), 8192);
        assert_eq!(config.max_sessions_per_subject(), 1_000);
    }

    #[test]
    fn an_unset_grace_window_fits_any_access_lifetime() {
        for (access, grace) in [(1, 0), (2, 1), (3, 1), (15, 7), (20, 10), (900, 10)] {
            let sessions = b().access_ttl(Duration::from_secs(access)).build().unwrap();
            assert_eq!(
                sessions.config().refresh_grace(),
                Duration::from_secs(grace),
                "access_ttl {access} s"
            );
        }
        // Only an explicit contradiction is an error.
        let explicit = b()
            .access_ttl(Duration::from_secs(3))
            .refresh_grace(Duration::from_secs(10));
        assert_eq!(
            error(explicit).to_string(),
            "invalid tower-jwt-auth configuration: refresh_grace (10 s) must be shorter than \
             access_ttl (3 s)"
        );
    }

    #[test]
    fn errors_name_the_values_and_which_were_defaults() {
        let cases = [
            (
                b().refresh_ttl(Duration::from_secs(600)),
                "refresh_ttl (600 s) must be longer than access_ttl (900 s, the default)",
            ),
            (
                b().access_ttl(Duration::from_millis(1500)),
                "access_ttl (1.5 s) must be a whole number of seconds",
            ),
            (
                b().access_ttl(Duration::from_secs(30 * 86_400)),
                "refresh_ttl (1209600 s, the default) must be longer than access_ttl (2592000 s)",
            ),
            (
                b().leeway(Duration::from_secs(900)),
                "leeway (900 s) must be shorter than access_ttl (900 s, the default)",
            ),
            (
                b().max_token_len(100),
                "max_token_len (100 bytes) must be at least 256 bytes",
            ),
        ];
        for (builder, message) in cases {
            assert_eq!(
                error(builder).to_string(),
                format!("invalid tower-jwt-auth configuration: {message}")
            );
        }
    }

    #[test]
    fn refuses_bad_configurations_at_build_time() {
        let kind = |builder: JwtSessionsBuilder| error(builder).kind();
        assert_eq!(kind(JwtSessions::builder()), ConfigErrorKind::MissingKeys);
        assert_eq!(
            kind(JwtSessions::builder().hs256_secret(b"short")),
            ConfigErrorKind::WeakSecret
        );
        assert_eq!(
            kind(b().access_ttl(Duration::ZERO)),
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
            kind(b().max_sessions_per_subject(0)),
            ConfigErrorKind::InvalidLimit
        );
        assert_eq!(kind(b().max_token_len(255)), ConfigErrorKind::InvalidLimit);
        assert_eq!(
            kind(b().refresh_header("bad header")),
            ConfigErrorKind::InvalidHeaderName
        );
        assert_eq!(
            kind(b().refresh_header("Authorization")),
            ConfigErrorKind::InvalidHeaderName
        );
        assert_eq!(
            kind(b().refresh_token_response_header("x-access-token")),
            ConfigErrorKind::InvalidHeaderName
        );
    }
}
