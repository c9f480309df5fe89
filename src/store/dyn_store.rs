//! [`DynStore`]: any [`PairStore`] behind one object-safe trait, so that neither the handle nor
//! the layer carries the store's type.
//!
//! Each asynchronous method boxes the store's future; the synchronous
//! [`check_access_now`](DynStore::check_access_now) does not, so an access check against an
//! in-process store still allocates nothing.

use std::any::Any;
use std::future::Future;
use std::pin::Pin;

use super::{AccessCheck, NewSession, PairStore, RefreshOutcome, RefreshRequest, StoreError};
use crate::{SessionId, TokenId};

pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// [`PairStore`], object-safe. Implemented for every `PairStore`.
pub(crate) trait DynStore: Send + Sync + 'static {
    fn create_session(&self, session: NewSession) -> BoxFuture<'_, Result<(), StoreError>>;

    fn check_access(
        &self,
        sid: SessionId,
        jti: TokenId,
        now: u64,
    ) -> BoxFuture<'_, Result<AccessCheck, StoreError>>;

    fn check_access_now(
        &self,
        sid: SessionId,
        jti: TokenId,
        now: u64,
    ) -> Option<Result<AccessCheck, StoreError>>;

    fn refresh(&self, request: RefreshRequest)
    -> BoxFuture<'_, Result<RefreshOutcome, StoreError>>;

    fn revoke_session(&self, sid: SessionId, now: u64) -> BoxFuture<'_, Result<bool, StoreError>>;

    fn revoke_subject<'a>(
        &'a self,
        subject: &'a str,
        now: u64,
    ) -> BoxFuture<'a, Result<usize, StoreError>>;

    /// The store itself, for [`JwtSessions::store`](crate::JwtSessions::store).
    fn as_any(&self) -> &dyn Any;
}

impl<S: PairStore> DynStore for S {
    fn create_session(&self, session: NewSession) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(PairStore::create_session(self, session))
    }

    fn check_access(
        &self,
        sid: SessionId,
        jti: TokenId,
        now: u64,
    ) -> BoxFuture<'_, Result<AccessCheck, StoreError>> {
        Box::pin(PairStore::check_access(self, sid, jti, now))
    }

    fn check_access_now(
        &self,
        sid: SessionId,
        jti: TokenId,
        now: u64,
    ) -> Option<Result<AccessCheck, StoreError>> {
        PairStore::check_access_now(self, sid, jti, now)
    }

    fn refresh(
        &self,
        request: RefreshRequest,
    ) -> BoxFuture<'_, Result<RefreshOutcome, StoreError>> {
        Box::pin(PairStore::refresh(self, request))
    }

    fn revoke_session(&self, sid: SessionId, now: u64) -> BoxFuture<'_, Result<bool, StoreError>> {
        Box::pin(PairStore::revoke_session(self, sid, now))
    }

    fn revoke_subject<'a>(
        &'a self,
        subject: &'a str,
        now: u64,
    ) -> BoxFuture<'a, Result<usize, StoreError>> {
        Box::pin(PairStore::revoke_subject(self, subject, now))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
