//! A store for the tests of failures: a [`MemoryStore`] that can be switched to fail every call,
//! and that answers access checks at once (as an in-process store does) or only when awaited
//! (as a networked one does).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tower_jwt_auth::store::MemoryStore;
use tower_jwt_auth::store::{
    AccessCheck, NewSession, PairStore, RefreshOutcome, RefreshRequest, StoreError, StoreErrorKind,
};
use tower_jwt_auth::{SessionId, TokenId};

/// A [`MemoryStore`] that fails every operation with `Unavailable` while switched off, to prove
/// a store outage is `503`, never `401`.
#[derive(Debug, Default)]
pub(crate) struct FailingStore {
    inner: MemoryStore,
    failing: AtomicBool,
    /// Whether it answers access checks without waiting, as an in-process store does (otherwise
    /// the layer awaits `check_access`, as with a networked store).
    answers_now: bool,
}

impl FailingStore {
    pub(crate) fn new(answers_now: bool) -> Arc<Self> {
        Arc::new(Self {
            answers_now,
            ..Self::default()
        })
    }

    pub(crate) fn fail(&self, on: bool) {
        self.failing.store(on, Ordering::SeqCst);
    }

    fn gate(&self) -> Result<(), StoreError> {
        match self.failing.load(Ordering::SeqCst) {
            true => Err(StoreError::from_kind(StoreErrorKind::Unavailable)),
            false => Ok(()),
        }
    }
}

impl PairStore for FailingStore {
    async fn create_session(&self, session: NewSession) -> Result<(), StoreError> {
        self.gate()?;
        self.inner.create_session(session).await
    }

    async fn check_access(
        &self,
        sid: SessionId,
        jti: TokenId,
        now: u64,
    ) -> Result<AccessCheck, StoreError> {
        self.gate()?;
        self.inner.check_access(sid, jti, now).await
    }

    fn check_access_now(
        &self,
        sid: SessionId,
        jti: TokenId,
        now: u64,
    ) -> Option<Result<AccessCheck, StoreError>> {
        if !self.answers_now {
            return None;
        }
        match self.gate() {
            Ok(()) => self.inner.check_access_now(sid, jti, now),
            Err(error) => Some(Err(error)),
        }
    }

    async fn refresh(&self, request: RefreshRequest) -> Result<RefreshOutcome, StoreError> {
        self.gate()?;
        self.inner.refresh(request).await
    }

    async fn revoke_session(&self, sid: SessionId, now: u64) -> Result<bool, StoreError> {
        self.gate()?;
        self.inner.revoke_session(sid, now).await
    }

    async fn revoke_subject(&self, subject: &str, now: u64) -> Result<usize, StoreError> {
        self.gate()?;
        self.inner.revoke_subject(subject, now).await
    }
}
