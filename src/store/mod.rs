#![doc = include_str!("../docs/stores.md")]

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use crate::{SessionId, TokenId};

#[cfg(feature = "test-util")]
pub mod conformance;
mod dyn_store;
mod memory;
#[cfg(any(feature = "redis", feature = "postgres"))]
mod near_cache;
#[cfg(feature = "postgres")]
mod postgres;
mod record;
mod redact;
#[cfg(feature = "redis")]
mod redis;
#[cfg(any(feature = "redis", feature = "postgres"))]
mod tls_refusal;

#[cfg(feature = "redis")]
pub use self::redis::{RedisStore, RedisStoreBuilder};
pub(crate) use dyn_store::DynStore;
pub use memory::MemoryStore;
#[cfg(any(feature = "redis", feature = "postgres"))]
pub use near_cache::NearCacheStats;
#[cfg(feature = "postgres")]
pub use postgres::{PostgresStore, PostgresStoreBuilder};
pub use record::{RecordParts, SessionRecord};
pub use redact::redact;

/// Identifier and validity of one token, as a store records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenStamp {
    /// The token's `jti`.
    pub jti: TokenId,
    /// Issued at, seconds since the Unix epoch.
    pub iat: u64,
    /// Expires at, seconds since the Unix epoch.
    pub exp: u64,
}

/// A freshly issued session: its subject, the stamps of its first token pair, and how many live
/// sessions its subject may have.
#[derive(Debug, Clone)]
pub struct NewSession {
    sid: SessionId,
    subject: Arc<str>,
    access: TokenStamp,
    refresh: TokenStamp,
    subject_limit: u32,
}

impl NewSession {
    /// A session `sid` of `subject`; the refresh token's `exp` is the session's absolute end.
    pub fn new(
        sid: SessionId,
        subject: impl Into<Arc<str>>,
        access: TokenStamp,
        refresh: TokenStamp,
    ) -> Self {
        Self {
            sid,
            subject: subject.into(),
            access,
            refresh,
            subject_limit: u32::MAX,
        }
    }

    /// At most `limit` live sessions of this subject once this one is recorded: the store ends
    /// (revokes) as many of the others as it takes, those that end first, never this one.
    /// `u32::MAX`, the default here, means no limit; [`JwtSessions`](crate::JwtSessions) sets
    /// its [`max_sessions_per_subject`](crate::JwtSessionsBuilder::max_sessions_per_subject).
    #[must_use]
    pub fn with_subject_limit(mut self, limit: u32) -> Self {
        self.subject_limit = limit.max(1);
        self
    }

    /// The most live sessions the subject may have with this one; see
    /// [`with_subject_limit`](Self::with_subject_limit).
    #[must_use]
    pub fn subject_limit(&self) -> u32 {
        self.subject_limit
    }

    /// The session's id.
    #[must_use]
    pub fn session_id(&self) -> SessionId {
        self.sid
    }

    /// Whom the session belongs to.
    #[must_use]
    pub fn subject(&self) -> &Arc<str> {
        &self.subject
    }

    /// The first access token.
    #[must_use]
    pub fn access(&self) -> TokenStamp {
        self.access
    }

    /// The first refresh token.
    #[must_use]
    pub fn refresh(&self) -> TokenStamp {
        self.refresh
    }
}

/// The store's verdict on an access token.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessCheck {
    /// The session is live and this is its current access token.
    Current,
    /// The session is live but has a newer access token.
    Superseded,
    /// The session was revoked.
    Revoked,
    /// No such session (never issued, or expired and purged).
    Unknown,
}

/// Everything a store needs to decide one refresh atomically.
///
/// The caller draws the identifiers of the tokens that may be minted, so stores never need a
/// random source, and passes the policy, so every backend applies the same rules.
#[derive(Debug, Clone, Copy)]
pub struct RefreshRequest {
    /// The session being refreshed.
    pub sid: SessionId,
    /// The `jti` of the refresh token presented.
    pub refresh_jti: TokenId,
    /// The time of the request, seconds since the Unix epoch.
    pub now: u64,
    /// The access token to record if a new one is minted (`exp` is capped at the session's end).
    pub new_access: TokenStamp,
    /// With rotation on, the refresh token to record if a new pair is minted.
    pub new_refresh: Option<TokenStamp>,
    /// Seconds after a refresh during which repeats get the same tokens (zero: no grace).
    pub grace: u64,
    /// Clock-skew allowance, seconds, in deciding whether the stored access token is expired.
    pub leeway: u64,
    /// Whether a refresh while the stored access token is unexpired revokes the session.
    pub theft_detection: bool,
}

/// The store's decision on a refresh.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// Refresh granted: sign these stamps. `refresh` is `Some` with rotation on. `replayed` says
    /// the stamps were minted by an earlier refresh inside the grace window and are handed out
    /// again, so concurrent refreshes all end with the same tokens.
    Granted {
        /// The access token to sign.
        access: TokenStamp,
        /// The new refresh token to sign (rotation only).
        refresh: Option<TokenStamp>,
        /// Whether these are the tokens of an earlier refresh within the grace window.
        replayed: bool,
    },
    /// Refreshed while the stored access token was still valid: the session is now revoked.
    TheftDetected,
    /// A rotated-out refresh token came back after the grace window: the family is now revoked.
    ReuseDetected,
    /// The session was already revoked.
    Revoked,
    /// No such session, or a refresh token this session never had.
    Unknown,
}

/// What kind of store failure. New kinds may be added.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StoreErrorKind {
    /// The backend could not be reached or refused the operation.
    Unavailable,
    /// The backend did not answer in time.
    Timeout,
    /// The backend answered with data this crate cannot read.
    Corrupt,
    /// A session was created with an id that another session holds (`500`): nothing was
    /// changed.
    Conflict,
}

/// A store failure. The layer answers it with `503`, never `401`.
#[derive(Debug)]
pub struct StoreError {
    kind: StoreErrorKind,
    source: Option<Box<dyn StdError + Send + Sync>>,
}

impl StoreError {
    /// A failure of `kind`, caused by `source`.
    pub fn new(kind: StoreErrorKind, source: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        Self {
            kind,
            source: Some(source.into()),
        }
    }

    /// A failure of `kind` with no further cause.
    #[must_use]
    pub fn from_kind(kind: StoreErrorKind) -> Self {
        Self { kind, source: None }
    }

    /// What kind of failure.
    #[must_use]
    pub fn kind(&self) -> StoreErrorKind {
        self.kind
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.kind {
            StoreErrorKind::Unavailable => "pair store unavailable",
            StoreErrorKind::Timeout => "pair store timed out",
            StoreErrorKind::Corrupt => "pair store returned unreadable data",
            StoreErrorKind::Conflict => "the session id is already in use",
        })?;
        if let Some(source) = &self.source {
            write!(f, ": {source}")?;
        }
        Ok(())
    }
}

impl StdError for StoreError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

/// Server-side session state: one (access, refresh) pair per session.
///
/// Every method that checks and changes state does both in one atomic step; see the
/// [module documentation](self) for how to write one and prove it with the conformance suite.
pub trait PairStore: Send + Sync + 'static {
    /// Records a new session, and ends the subject's sessions that end first while it has more
    /// live ones than [`NewSession::subject_limit`]. An id in use fails with
    /// [`StoreErrorKind::Conflict`] (see [`SessionRecord::is_creation_of`]).
    fn create_session(
        &self,
        session: NewSession,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Checks that `jti` is the current access token of live session `sid` at `now`.
    fn check_access(
        &self,
        sid: SessionId,
        jti: TokenId,
        now: u64,
    ) -> impl Future<Output = Result<AccessCheck, StoreError>> + Send;

    /// Answers [`check_access`](Self::check_access) without waiting, if this store can (an
    /// in-process store can; a networked one cannot). The layer asks this first and, given an
    /// answer, serves the request without allocating a future for the store. The default says
    /// it cannot (`None`).
    fn check_access_now(
        &self,
        sid: SessionId,
        jti: TokenId,
        now: u64,
    ) -> Option<Result<AccessCheck, StoreError>> {
        let _ = (sid, jti, now);
        None
    }

    /// Decides and applies a refresh in one atomic step (see [`SessionRecord::refresh`]).
    fn refresh(
        &self,
        request: RefreshRequest,
    ) -> impl Future<Output = Result<RefreshOutcome, StoreError>> + Send;

    /// Revokes one session; returns whether it was live. A revoked session stays known (and
    /// refused) until its absolute end.
    fn revoke_session(
        &self,
        sid: SessionId,
        now: u64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Revokes every live session of `subject`; returns how many were live.
    ///
    /// However many sessions the subject has, every call makes progress that a failure does not
    /// undo: a store that works through the sessions in steps keeps each finished step, so a
    /// call that fails part way (a timeout, a lost connection) leaves fewer to revoke, and a
    /// retry finishes the work.
    fn revoke_subject(
        &self,
        subject: &str,
        now: u64,
    ) -> impl Future<Output = Result<usize, StoreError>> + Send;
}

impl<T: PairStore> PairStore for Arc<T> {
    fn create_session(
        &self,
        session: NewSession,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        T::create_session(self, session)
    }

    fn check_access(
        &self,
        sid: SessionId,
        jti: TokenId,
        now: u64,
    ) -> impl Future<Output = Result<AccessCheck, StoreError>> + Send {
        T::check_access(self, sid, jti, now)
    }

    fn check_access_now(
        &self,
        sid: SessionId,
        jti: TokenId,
        now: u64,
    ) -> Option<Result<AccessCheck, StoreError>> {
        T::check_access_now(self, sid, jti, now)
    }

    fn refresh(
        &self,
        request: RefreshRequest,
    ) -> impl Future<Output = Result<RefreshOutcome, StoreError>> + Send {
        T::refresh(self, request)
    }

    fn revoke_session(
        &self,
        sid: SessionId,
        now: u64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        T::revoke_session(self, sid, now)
    }

    fn revoke_subject(
        &self,
        subject: &str,
        now: u64,
    ) -> impl Future<Output = Result<usize, StoreError>> + Send {
        T::revoke_subject(self, subject, now)
    }
}
