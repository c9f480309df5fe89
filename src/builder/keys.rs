//! The keys of a [`JwtSessionsBuilder`] and the claims every token carries under them: what a
//! token is, as opposed to how long it lives or where it travels.

use super::{JwtSessionsBuilder, Settings};
use crate::error::{ConfigError, ConfigErrorKind};
use crate::token::{JwtKeys, KeySet};

impl<C> JwtSessionsBuilder<C> {
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

    /// How many access tokens signed by a public key (RS256, ES256, EdDSA, ...) are remembered
    /// once verified, so that the same token presented again skips its signature check (tens
    /// of microseconds) until it expires or its key leaves the key set; 0 turns the cache off.
    /// Default 10,000. Entries are found by the SHA-256 of the whole token, and only tokens
    /// that verified enter; the claims, the time window and the pair check are checked on
    /// every request all the same. HMAC keys do not use it: their check costs less than a
    /// lookup.
    ///
    /// ```
    /// use tower_jwt_auth::{Algorithm, JwtKeys, JwtSessions};
    ///
    /// # let public = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/keys/rs256.pub.pem"))?;
    /// let sessions = JwtSessions::builder()
    ///     .keys(JwtKeys::verify_only_pem(Algorithm::RS256, &public)?)
    ///     .verified_token_cache(100_000)
    ///     .build()?;
    /// # let _ = sessions;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn verified_token_cache(mut self, capacity: usize) -> Self {
        self.settings.verified_token_cache = capacity;
        self
    }
}

/// The key set, which must hold at least one key.
pub(super) fn key_set(s: &mut Settings) -> Result<KeySet, ConfigError> {
    let keys = s.keys.take().unwrap_or_else(|| {
        Err(ConfigError::new(
            ConfigErrorKind::MissingKeys,
            "no keys: call .keys(..), .key_set(..) or .hs256_secret(..)",
        ))
    })?;
    if keys.is_empty() {
        return Err(ConfigError::new(
            ConfigErrorKind::MissingKeys,
            "the key set is empty",
        ));
    }
    Ok(keys)
}
