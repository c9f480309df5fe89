//! [`Engine`]: what every entry point shares — the rules, the keys, the store and the clock —
//! and the decisions made with them.
//!
//! [`JwtSessions`](crate::JwtSessions) (the handle an application holds) and the middleware
//! (`JwtAuthLayer`) are two front doors to one engine, so a token is judged the same way
//! whichever way it comes in. Neither front door depends on the other.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::Clock;
use crate::config::Config;
use crate::credentials::Sources;
use crate::error::{AuthError, AuthErrorKind};
use crate::id::{SessionId, TokenId};
use crate::issued::{Refreshed, TokenPair};
use crate::observe::{self, RefreshResult};
use crate::store::{
    AccessCheck, DynStore, NewSession, RefreshOutcome, RefreshRequest, StoreError, TokenStamp,
};
use crate::token::rules::TimeWindow;
use crate::token::{Claims, CustomClaims, KeySet, TokenCodec, TokenKind};

/// The rules, keys, store and clock of one set of sessions.
pub(crate) struct Engine {
    config: Config,
    codec: TokenCodec,
    /// When a token may be used, checked at the time the clock gives once its signature holds.
    window: TimeWindow,
    store: Arc<dyn DynStore>,
    clock: Arc<dyn Clock>,
    sources: Sources,
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.config)
            .field("clock", &self.clock)
            .field("sources", &self.sources)
            .finish_non_exhaustive()
    }
}

/// The outcome of [`Engine::check_pair_now`].
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

/// `N` fresh identifiers in one draw from the operating system.
fn random_ids<const N: usize>() -> Result<[[u8; 16]; N], AuthError> {
    crate::id::random_bytes::<N>()
        .map_err(|e| AuthError::new(AuthErrorKind::Internal).with_source(e))
}

/// When a token is accepted under `config`: nothing this crate mints outlives a session.
pub(crate) fn time_window(config: &Config) -> TimeWindow {
    TimeWindow::new(secs(config.leeway())).max_lifetime(secs(config.refresh_ttl()))
}

fn secs(d: Duration) -> u64 {
    d.as_secs()
}

impl Engine {
    pub(crate) fn new(
        config: Config,
        codec: TokenCodec,
        store: Arc<dyn DynStore>,
        clock: Arc<dyn Clock>,
        sources: Sources,
    ) -> Self {
        let window = time_window(&config);
        Self {
            config,
            codec,
            window,
            store,
            clock,
            sources,
        }
    }

    /// Where requests carry their tokens.
    pub(crate) fn sources(&self) -> &Sources {
        &self.sources
    }

    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    pub(crate) fn keys(&self) -> Arc<KeySet> {
        self.codec.keys()
    }

    pub(crate) fn set_keys(&self, keys: KeySet) {
        self.codec.set_keys(keys);
    }

    pub(crate) fn can_mint(&self) -> bool {
        self.codec.can_sign()
    }

    #[cfg(feature = "test-util")]
    pub(crate) fn verified_tokens(&self) -> usize {
        self.codec.verified_tokens()
    }

    pub(crate) fn store(&self) -> &dyn DynStore {
        &*self.store
    }

    pub(crate) fn now(&self) -> u64 {
        self.clock.now()
    }

    /// A new session for `subject`, recorded once both tokens are signed.
    pub(crate) async fn issue<C: CustomClaims>(
        &self,
        subject: String,
        custom: C,
    ) -> Result<TokenPair, AuthError> {
        if subject.is_empty() {
            return Err(AuthError::new(AuthErrorKind::InvalidClaims).because("an empty subject"));
        }
        let config = &self.config;
        let now = self.now();
        let [sid, refresh_jti, access_jti] = random_ids::<3>()?;
        let sid = SessionId::from_bytes(sid);
        let refresh = TokenStamp {
            jti: TokenId::from_bytes(refresh_jti),
            iat: now,
            exp: now.saturating_add(secs(config.refresh_ttl())),
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
        let access_token = self.codec.encode(TokenKind::Access, &access_claims)?;
        let refresh_token = self.codec.encode(TokenKind::Refresh, &refresh_claims)?;
        observe::store_call("create", self.store.create_session(session)).await?;
        Ok(TokenPair::new(
            access_token,
            refresh_token,
            sid,
            config.access_ttl(),
            config.refresh_ttl(),
        ))
    }

    /// Verifies a token and its time window; the clock is read only once the signature holds,
    /// so a forged token costs no more than its HMAC. Returns the time it checked against.
    pub(crate) fn decode<C: CustomClaims>(
        &self,
        kind: TokenKind,
        token: &str,
    ) -> Result<(Claims<C>, u64), AuthError> {
        let decoded = self.decode_untimed(kind, token).and_then(|claims| {
            let now = self.now();
            self.check_time(kind, &claims, now)?;
            Ok((claims, now))
        });
        if let (TokenKind::Refresh, Err(error)) = (kind, &decoded) {
            observe::refresh_token_refused(error);
        }
        decoded
    }

    /// Verifies a token but its time window, which [`check_time`](Self::check_time) checks.
    pub(crate) fn decode_untimed<C: CustomClaims>(
        &self,
        kind: TokenKind,
        token: &str,
    ) -> Result<Claims<C>, AuthError> {
        self.codec.verify(kind, token)
    }

    /// Whether verified `claims` are inside their time window at `now`, with the leeway.
    pub(crate) fn check_time<C>(
        &self,
        kind: TokenKind,
        claims: &Claims<C>,
        now: u64,
    ) -> Result<(), AuthError> {
        self.window
            .check(claims.expires_at(), claims.not_before(), now)
            .map_err(|e| e.concerning(kind))
    }

    /// The pair check, awaiting the store if it must.
    pub(crate) async fn check_pair<C>(
        &self,
        claims: Claims<C>,
        now: u64,
    ) -> Result<Claims<C>, AuthError> {
        match self.check_pair_now(claims, now) {
            PairCheck::Decided(verdict) => verdict,
            PairCheck::Pending(claims) => {
                let (sid, jti) = (claims.session_id(), claims.token_id());
                let check =
                    observe::store_call("check", self.store.check_access(sid, jti, now)).await;
                pair_verdict(claims, check)
            }
        }
    }

    /// The pair check, decided at once when it is off or the store can answer without waiting.
    pub(crate) fn check_pair_now<C>(&self, claims: Claims<C>, now: u64) -> PairCheck<C> {
        if !self.config.pair_check() {
            return PairCheck::Decided(Ok(claims));
        }
        let (sid, jti) = (claims.session_id(), claims.token_id());
        match observe::store_call_now("check", || self.store.check_access_now(sid, jti, now)) {
            Some(check) => PairCheck::Decided(pair_verdict(claims, check)),
            None => PairCheck::Pending(claims),
        }
    }

    /// The refresh of a verified refresh token, at `now`: the instant its time window was
    /// checked at, so one request sees one time.
    pub(crate) async fn refresh_verified<C: CustomClaims>(
        &self,
        claims: Claims<C>,
        now: u64,
    ) -> Result<Refreshed<C>, AuthError> {
        if !self.codec.can_sign() {
            // Refuse before the store records tokens nobody could be given.
            return Err(
                AuthError::token(AuthErrorKind::Internal, TokenKind::Refresh)
                    .because("this service holds no signing key"),
            );
        }
        let config = &self.config;
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
            new_refresh: config.refresh_rotation().then(|| TokenStamp {
                jti: TokenId::from_bytes(refresh_jti),
                iat: now,
                exp: claims.expires_at(),
            }),
            grace: secs(config.refresh_grace()),
            leeway: secs(config.leeway()),
            theft_detection: config.theft_detection(),
        };
        let refused = |kind| Err(AuthError::token(kind, TokenKind::Refresh));
        let outcome = observe::store_call("refresh", self.store.refresh(request)).await?;
        let sid = claims.session_id();
        let noted = |result| observe::refresh(result, sid, claims.subject());
        let (access, refresh, replayed) = match outcome {
            RefreshOutcome::Granted {
                access,
                refresh,
                replayed,
            } => {
                noted(match replayed {
                    true => RefreshResult::Grace,
                    false => RefreshResult::Ok,
                });
                (access, refresh, replayed)
            }
            RefreshOutcome::TheftDetected => {
                noted(RefreshResult::Theft);
                return refused(AuthErrorKind::TheftDetected);
            }
            RefreshOutcome::ReuseDetected => {
                noted(RefreshResult::Reuse);
                return refused(AuthErrorKind::RefreshReuse);
            }
            RefreshOutcome::Revoked => {
                noted(RefreshResult::Invalid);
                return refused(AuthErrorKind::Revoked);
            }
            RefreshOutcome::Unknown => {
                noted(RefreshResult::Invalid);
                return refused(AuthErrorKind::UnknownSession);
            }
        };
        let subject = claims.subject().to_owned();
        let custom = claims.into_custom();
        let refresh_token = match refresh {
            Some(stamp) => {
                let claims = Claims::new(subject.clone(), sid, stamp, custom.clone());
                Some(self.codec.encode(TokenKind::Refresh, &claims)?)
            }
            None => None,
        };
        let access_claims = Claims::new(subject, sid, access, custom);
        let access_token = self.codec.encode(TokenKind::Access, &access_claims)?;
        Ok(Refreshed::new(
            access_token,
            refresh_token,
            access_claims,
            replayed,
        ))
    }

    pub(crate) async fn revoke_session(&self, sid: SessionId) -> Result<bool, AuthError> {
        let revoke = self.store.revoke_session(sid, self.now());
        let live = observe::store_call("revoke_session", revoke).await?;
        observe::revoked("session", usize::from(live));
        Ok(live)
    }

    pub(crate) async fn revoke_subject(&self, subject: &str) -> Result<usize, AuthError> {
        let revoke = self.store.revoke_subject(subject, self.now());
        let ended = observe::store_call("revoke_subject", revoke).await?;
        observe::revoked("subject", ended);
        Ok(ended)
    }
}
