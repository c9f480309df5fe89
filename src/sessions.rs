//! [`JwtSessions`]: issuing, checking, refreshing and revoking sessions — the seed's server side,
//! usable with or without the layer.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use tower_jwt_auth::{JwtSessions, MemoryStore};
//!
//! let sessions = JwtSessions::<MemoryStore>::builder()
//!     .hs256_secret(b"an example secret of 32+ bytes!!")
//!     .build()?;
//!
//! // S1: after a successful login, issue the pair.
//! let pair = sessions.issue("alice", ()).await?;
//! let claims = sessions.authenticate(pair.access_token()).await?;
//! assert_eq!(claims.subject(), "alice");
//!
//! // Logout: both tokens stop working at once.
//! sessions.revoke_session(pair.session_id()).await?;
//! assert!(sessions.authenticate(pair.access_token()).await.is_err());
//! # Ok(()) }
//! ```

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::Clock;
use crate::config::{Config, JwtSessionsBuilder};
use crate::error::{AuthError, AuthErrorKind};
use crate::id::{SessionId, TokenId};
use crate::layer::JwtAuthLayer;
use crate::store::{
    AccessCheck, MemoryStore, NewSession, PairStore, RefreshOutcome, RefreshRequest, StoreError,
    TokenStamp,
};
use crate::token::{Claims, CustomClaims, KeySet, TokenCodec, TokenKind};
use jsonwebtoken::jwk::JwkSet;

/// Issues, checks, refreshes and revokes sessions under one [`Config`]. Cheap to clone; clones
/// share keys, store and clock.
pub struct JwtSessions<S = MemoryStore, C = ()> {
    inner: Arc<Inner<S>>,
    claims: PhantomData<fn() -> C>,
}

struct Inner<S> {
    config: Config,
    codec: TokenCodec,
    store: S,
    clock: Arc<dyn Clock>,
}

impl<S, C> Clone for JwtSessions<S, C> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            claims: PhantomData,
        }
    }
}

impl<S, C> fmt::Debug for JwtSessions<S, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtSessions")
            .field("config", &self.inner.config)
            .field("clock", &self.inner.clock)
            .finish_non_exhaustive()
    }
}

impl<C> JwtSessions<MemoryStore, C> {
    /// Starts a builder with the defaults: an in-memory store, the system clock, 15-minute
    /// access tokens, 14-day sessions, a 10-second grace window, pair check and theft detection
    /// on, rotation off.
    pub fn builder() -> JwtSessionsBuilder<MemoryStore, C> {
        JwtSessionsBuilder::default()
    }
}

/// `N` fresh identifiers in one draw from the operating system.
fn random_ids<const N: usize>() -> Result<[[u8; 16]; N], AuthError> {
    crate::id::random_bytes::<N>()
        .map_err(|e| AuthError::new(AuthErrorKind::Internal).with_source(e))
}

/// The outcome of [`JwtSessions::check_pair_now`].
pub(crate) enum PairCheck<C> {
    /// The verdict, reached without waiting.
    Decided(Result<Claims<C>, AuthError>),
    /// The store must be awaited.
    Pending(Claims<C>),
}

fn pair_verdict<C>(
    claims: Claims<C>,
    check: Result<AccessCheck, StoreError>,
) -> Result<Claims<C>, AuthError> {
    let refused = |kind| Err(AuthError::token(kind, TokenKind::Access));
    match check? {
        AccessCheck::Current => Ok(claims),
        AccessCheck::Superseded => refused(AuthErrorKind::Superseded),
        AccessCheck::Revoked => refused(AuthErrorKind::Revoked),
        AccessCheck::Unknown => refused(AuthErrorKind::UnknownSession),
    }
}

fn secs(d: Duration) -> u64 {
    d.as_secs()
}

impl<S: PairStore, C: CustomClaims> JwtSessions<S, C> {
    pub(crate) fn from_parts(
        config: Config,
        codec: TokenCodec,
        store: S,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                config,
                codec,
                store,
                clock,
            }),
            claims: PhantomData,
        }
    }

    /// The validated configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The key set in use.
    pub fn keys(&self) -> Arc<KeySet> {
        self.inner.codec.keys()
    }

    /// Swaps in a new key set at run time, without rebuilding the layer or dropping requests:
    /// requests already verifying finish with the keys they started with. The way to rotate
    /// keys (see [`KeySet`]).
    pub fn set_keys(&self, keys: KeySet) {
        self.inner.codec.set_keys(keys);
    }

    /// Whether this service can mint tokens. A verify-only service (no signing key) ignores
    /// refresh headers, so an expired access token simply gets `401` and the client refreshes
    /// at the issuer.
    pub fn can_mint(&self) -> bool {
        self.inner.codec.can_sign()
    }

    /// The public keys as a JWK Set for `/.well-known/jwks.json` (HMAC secrets never appear).
    pub fn jwks(&self) -> JwkSet {
        self.keys().jwks()
    }

    /// The pair store.
    pub fn store(&self) -> &S {
        &self.inner.store
    }

    /// The current time on the configured clock.
    pub fn now(&self) -> u64 {
        self.inner.clock.now()
    }

    /// A layer that authenticates every request with these sessions.
    pub fn layer(&self) -> JwtAuthLayer<S, C> {
        JwtAuthLayer::new(self.clone())
    }

    /// S1: issues a new session for `subject` with application claims `custom`, records its pair
    /// in the store and returns both tokens.
    pub async fn issue(
        &self,
        subject: impl Into<String>,
        custom: C,
    ) -> Result<TokenPair, AuthError> {
        let subject = subject.into();
        if subject.is_empty() {
            return Err(AuthError::new(AuthErrorKind::InvalidClaims));
        }
        let config = &self.inner.config;
        let now = self.now();
        let [sid, refresh_jti, access_jti] = random_ids::<3>()?;
        let sid = SessionId::from_bytes(sid);
        let end = now.saturating_add(secs(config.refresh_ttl()));
        let refresh = TokenStamp {
            jti: TokenId::from_bytes(refresh_jti),
            iat: now,
            exp: end,
        };
        let access = TokenStamp {
            jti: TokenId::from_bytes(access_jti),
            iat: now,
            exp: now.saturating_add(secs(config.access_ttl())),
        };
        let session = NewSession::new(sid, subject.as_str(), access, refresh)
            .with_subject_limit(config.max_sessions_per_subject());
        let refresh_claims = Claims::new(subject.clone(), sid, refresh, custom.clone());
        let access_claims = Claims::new(subject, sid, access, custom);
        // Sign before recording, so a signing failure leaves no session behind.
        let codec = &self.inner.codec;
        let access_token = codec.encode(TokenKind::Access, &access_claims)?;
        let refresh_token = codec.encode(TokenKind::Refresh, &refresh_claims)?;
        self.inner.store.create_session(session).await?;
        Ok(TokenPair {
            access_token,
            refresh_token,
            session_id: sid,
            expires_in: config.access_ttl(),
            refresh_expires_in: config.refresh_ttl(),
        })
    }

    /// S3/T1: verifies an access token and, with the pair check on, that it is its session's
    /// current one.
    pub async fn authenticate(&self, access_token: &str) -> Result<Claims<C>, AuthError> {
        let (claims, now) = self.decode(TokenKind::Access, access_token)?;
        self.check_pair(claims, now).await
    }

    /// S6/S7: verifies a refresh token and, if the store grants it, returns a new access token
    /// (and with rotation a new refresh token). A refresh while the session's access token is
    /// still valid is treated as theft (T3) and revokes the session.
    pub async fn refresh(&self, refresh_token: &str) -> Result<Refreshed<C>, AuthError> {
        let (claims, now) = self.decode(TokenKind::Refresh, refresh_token)?;
        self.refresh_verified(claims, now).await
    }

    /// Logout: revokes one session; returns whether it was live. Both of its tokens are refused
    /// from now on.
    pub async fn revoke_session(&self, sid: SessionId) -> Result<bool, StoreError> {
        self.inner.store.revoke_session(sid, self.now()).await
    }

    /// Revokes every session of `subject` ("log out everywhere"); returns how many were live.
    pub async fn revoke_subject(&self, subject: &str) -> Result<usize, StoreError> {
        self.inner.store.revoke_subject(subject, self.now()).await
    }

    /// Verifies a token and its time window; the clock is read only once the signature holds,
    /// so a forged token costs no more than its HMAC. Returns the time it checked against.
    pub(crate) fn decode(
        &self,
        kind: TokenKind,
        token: &str,
    ) -> Result<(Claims<C>, u64), AuthError> {
        let claims = self.decode_untimed(kind, token)?;
        let now = self.now();
        self.check_time(kind, &claims, now)?;
        Ok((claims, now))
    }

    /// Verifies a token but its time window, which [`check_time`](Self::check_time) checks.
    pub(crate) fn decode_untimed(
        &self,
        kind: TokenKind,
        token: &str,
    ) -> Result<Claims<C>, AuthError> {
        self.inner.codec.decode_untimed(kind, token)
    }

    pub(crate) fn check_time(
        &self,
        kind: TokenKind,
        claims: &Claims<C>,
        now: u64,
    ) -> Result<(), AuthError> {
        self.inner.codec.check_time(kind, claims, now)
    }

    pub(crate) async fn check_pair(
        &self,
        claims: Claims<C>,
        now: u64,
    ) -> Result<Claims<C>, AuthError> {
        match self.check_pair_now(claims, now) {
            PairCheck::Decided(verdict) => verdict,
            PairCheck::Pending(claims) => {
                let (sid, jti) = (claims.session_id(), claims.token_id());
                let check = self.inner.store.check_access(sid, jti, now).await;
                pair_verdict(claims, check)
            }
        }
    }

    /// The pair check, decided at once when it is off or the store can answer without waiting.
    pub(crate) fn check_pair_now(&self, claims: Claims<C>, now: u64) -> PairCheck<C> {
        if !self.inner.config.pair_check() {
            return PairCheck::Decided(Ok(claims));
        }
        let (sid, jti) = (claims.session_id(), claims.token_id());
        match self.inner.store.check_access_now(sid, jti, now) {
            Some(check) => PairCheck::Decided(pair_verdict(claims, check)),
            None => PairCheck::Pending(claims),
        }
    }

    /// The refresh of a verified refresh token, at `now`: the instant its time window was
    /// checked at, so one request sees one time.
    pub(crate) async fn refresh_verified(
        &self,
        claims: Claims<C>,
        now: u64,
    ) -> Result<Refreshed<C>, AuthError> {
        let codec = &self.inner.codec;
        if !codec.can_sign() {
            // Refuse before the store records tokens nobody could be given.
            return Err(AuthError::token(
                AuthErrorKind::Internal,
                TokenKind::Refresh,
            ));
        }
        let config = &self.inner.config;
        let [access_jti, refresh_jti] = random_ids::<2>()?;
        let request = RefreshRequest {
            sid: claims.session_id(),
            refresh_jti: claims.token_id(),
            now,
            new_access: TokenStamp {
                jti: TokenId::from_bytes(access_jti),
                iat: now,
                exp: now.saturating_add(secs(config.access_ttl())),
            },
            new_refresh: match config.refresh_rotation() {
                true => Some(TokenStamp {
                    jti: TokenId::from_bytes(refresh_jti),
                    iat: now,
                    exp: claims.expires_at(),
                }),
                false => None,
            },
            grace: secs(config.refresh_grace()),
            leeway: secs(config.leeway()),
            theft_detection: config.theft_detection(),
        };
        let refused = |kind| Err(AuthError::token(kind, TokenKind::Refresh));
        let (access, refresh, replayed) = match self.inner.store.refresh(request).await? {
            RefreshOutcome::Granted {
                access,
                refresh,
                replayed,
            } => (access, refresh, replayed),
            RefreshOutcome::TheftDetected => {
                tracing::warn!(sid = %claims.session_id(), sub = claims.subject(),
                    "refresh while the access token was valid; session revoked");
                return refused(AuthErrorKind::TheftDetected);
            }
            RefreshOutcome::ReuseDetected => {
                tracing::warn!(sid = %claims.session_id(), sub = claims.subject(),
                    "rotated refresh token reused; session revoked");
                return refused(AuthErrorKind::RefreshReuse);
            }
            RefreshOutcome::Revoked => return refused(AuthErrorKind::Revoked),
            RefreshOutcome::Unknown => return refused(AuthErrorKind::UnknownSession),
        };
        let sid = claims.session_id();
        let subject = claims.subject().to_owned();
        let custom = claims.into_custom();
        let refresh_token = match refresh {
            Some(stamp) => {
                let claims = Claims::new(subject.clone(), sid, stamp, custom.clone());
                Some(codec.encode(TokenKind::Refresh, &claims)?)
            }
            None => None,
        };
        let access_claims = Claims::new(subject, sid, access, custom);
        let access_token = codec.encode(TokenKind::Access, &access_claims)?;
        Ok(Refreshed {
            access_token,
            refresh_token,
            claims: access_claims,
            replayed,
        })
    }
}

/// A newly issued session: both tokens and their lifetimes.
///
/// Serialises as an RFC 6749 §5.1 token response:
/// `{"access_token", "refresh_token", "token_type": "Bearer", "expires_in"}`.
#[derive(Clone)]
pub struct TokenPair {
    access_token: String,
    refresh_token: String,
    session_id: SessionId,
    expires_in: Duration,
    refresh_expires_in: Duration,
}

impl TokenPair {
    /// The access token, for `Authorization: Bearer`.
    pub fn access_token(&self) -> &str {
        &self.access_token
    }

    /// The refresh token, for the refresh header.
    pub fn refresh_token(&self) -> &str {
        &self.refresh_token
    }

    /// The session both tokens belong to.
    pub fn session_id(&self) -> SessionId {
        self.session_id
    }

    /// Lifetime of the access token.
    pub fn expires_in(&self) -> Duration {
        self.expires_in
    }

    /// Lifetime of the session and its refresh token.
    pub fn refresh_expires_in(&self) -> Duration {
        self.refresh_expires_in
    }
}

impl fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Tokens are credentials: keep them out of logs.
        f.debug_struct("TokenPair")
            .field("session_id", &self.session_id)
            .field("expires_in", &self.expires_in)
            .field("refresh_expires_in", &self.refresh_expires_in)
            .finish_non_exhaustive()
    }
}

impl serde::Serialize for TokenPair {
    fn serialize<Ser: serde::Serializer>(&self, serializer: Ser) -> Result<Ser::Ok, Ser::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("TokenPair", 4)?;
        s.serialize_field("access_token", &self.access_token)?;
        s.serialize_field("refresh_token", &self.refresh_token)?;
        s.serialize_field("token_type", "Bearer")?;
        s.serialize_field("expires_in", &self.expires_in.as_secs())?;
        s.end()
    }
}

/// The result of a granted refresh.
#[derive(Clone)]
pub struct Refreshed<C = ()> {
    access_token: String,
    refresh_token: Option<String>,
    claims: Claims<C>,
    replayed: bool,
}

impl<C> Refreshed<C> {
    /// The new access token.
    pub fn access_token(&self) -> &str {
        &self.access_token
    }

    /// The new refresh token, with rotation on.
    pub fn refresh_token(&self) -> Option<&str> {
        self.refresh_token.as_deref()
    }

    /// The claims of the new access token.
    pub fn claims(&self) -> &Claims<C> {
        &self.claims
    }

    /// Whether these are the tokens of an earlier refresh inside the grace window.
    pub fn is_replay(&self) -> bool {
        self.replayed
    }

    pub(crate) fn into_parts(self) -> (String, Option<String>, Claims<C>) {
        (self.access_token, self.refresh_token, self.claims)
    }
}

impl<C: fmt::Debug> fmt::Debug for Refreshed<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Refreshed")
            .field("claims", &self.claims)
            .field("replayed", &self.replayed)
            .finish_non_exhaustive()
    }
}
