//! [`PairStore`] for [`PostgresStore`]: each decision one transaction, decided by the record;
//! with the near cache on, an access check the copy can answer costs no round trip.

use std::sync::atomic::Ordering;

use super::rows::{pg_error, pool_error, record_of, secs};
use super::{PostgresStore, REVOKE_PAGE, SWEEP_EVERY};
use crate::store::near_cache::Cached;
use crate::store::{
    AccessCheck, NewSession, PairStore, RefreshOutcome, RefreshRequest, SessionRecord, StoreError,
    StoreErrorKind,
};
use crate::{SessionId, TokenId};

/// What the near cache keeps of `record`.
fn cached(record: &SessionRecord) -> Cached {
    let parts = record.parts();
    Cached {
        revoked: parts.revoked,
        end: record.expires_at(),
        access: parts.access.jti,
    }
}

/// The sessions a statement `… RETURNING sid` changed.
fn sids(rows: &[tokio_postgres::Row]) -> impl Iterator<Item = SessionId> + '_ {
    rows.iter().filter_map(|row| {
        let sid: &[u8] = row.try_get(0).ok()?;
        Some(SessionId::from_bytes(sid.try_into().ok()?))
    })
}

impl PostgresStore {
    /// One `SELECT` of the session's record (none for an unknown session).
    async fn read_record(&self, sid: SessionId) -> Result<Option<SessionRecord>, StoreError> {
        let client = self.inner.pool.get().await.map_err(pool_error)?;
        let select = client
            .prepare_cached(&self.inner.sql.select)
            .await
            .map_err(pg_error)?;
        let row = client
            .query_opt(&select, &[&sid.as_bytes().as_slice()])
            .await
            .map_err(pg_error)?;
        row.as_ref().map(record_of).transpose()
    }

    /// Runs `decide` on the session's record inside one transaction that holds its row lock,
    /// and writes the record back if `decide` changed it. `None` if there is no such row.
    async fn with_record<T>(
        &self,
        sid: SessionId,
        decide: impl FnOnce(&mut SessionRecord) -> T,
    ) -> Result<Option<T>, StoreError> {
        let sql = &self.inner.sql;
        let mut client = self.inner.pool.get().await.map_err(pool_error)?;
        let transaction = client.transaction().await.map_err(pg_error)?;
        let select = transaction
            .prepare_cached(&sql.select_for_update)
            .await
            .map_err(pg_error)?;
        let sid_bytes = sid.as_bytes().as_slice();
        let Some(row) = transaction
            .query_opt(&select, &[&sid_bytes])
            .await
            .map_err(pg_error)?
        else {
            return Ok(None);
        };
        let mut record = record_of(&row)?;
        let before = record.clone();
        let outcome = decide(&mut record);
        if record != before {
            let parts = record.parts();
            let update = transaction
                .prepare_cached(&sql.update)
                .await
                .map_err(pg_error)?;
            let previous = parts.previous_refresh.map(|jti| *jti.as_bytes());
            transaction
                .execute(
                    &update,
                    &[
                        &sid_bytes,
                        &parts.access.jti.as_bytes().as_slice(),
                        &secs(parts.access.iat),
                        &secs(parts.access.exp),
                        &parts.refresh.jti.as_bytes().as_slice(),
                        &secs(parts.refresh.iat),
                        &secs(parts.refresh.exp),
                        &previous.as_ref().map(<[u8; 16]>::as_slice),
                        &parts.refreshed_at.map(secs),
                        &parts.revoked,
                    ],
                )
                .await
                .map_err(pg_error)?;
        }
        transaction.commit().await.map_err(pg_error)?;
        Ok(Some(outcome))
    }

    async fn create(&self, session: &NewSession) -> Result<(), StoreError> {
        let sql = &self.inner.sql;
        let mut client = self.inner.pool.get().await.map_err(pool_error)?;
        let transaction = client.transaction().await.map_err(pg_error)?;
        let subject: &str = session.subject();
        // Logins of one subject are counted one after the other.
        let lock = transaction
            .prepare_cached(&sql.lock_subject)
            .await
            .map_err(pg_error)?;
        let lock_key = format!("{}:{subject}", self.inner.table);
        transaction
            .execute(&lock, &[&lock_key])
            .await
            .map_err(pg_error)?;
        let record = SessionRecord::new(session);
        let parts = record.parts();
        let sid = session.session_id();
        let sid_bytes = sid.as_bytes().as_slice();
        let insert = transaction
            .prepare_cached(&sql.insert)
            .await
            .map_err(pg_error)?;
        let inserted = transaction
            .execute(
                &insert,
                &[
                    &sid_bytes,
                    &subject,
                    &parts.access.jti.as_bytes().as_slice(),
                    &secs(parts.access.iat),
                    &secs(parts.access.exp),
                    &parts.refresh.jti.as_bytes().as_slice(),
                    &secs(parts.refresh.iat),
                    &secs(parts.refresh.exp),
                ],
            )
            .await
            .map_err(pg_error)?;
        if inserted == 0 {
            let select = transaction
                .prepare_cached(&sql.select)
                .await
                .map_err(pg_error)?;
            let row = transaction
                .query_opt(&select, &[&sid_bytes])
                .await
                .map_err(pg_error)?;
            let existing = row.as_ref().map(record_of).transpose()?;
            return match existing {
                // A retry of this very creation: nothing to do.
                Some(existing) if existing.is_creation_of(session) => Ok(()),
                _ => Err(StoreError::from_kind(StoreErrorKind::Conflict)),
            };
        }
        let limit = session.subject_limit();
        if limit != u32::MAX {
            let trim = transaction
                .prepare_cached(&sql.limit_subject)
                .await
                .map_err(pg_error)?;
            let now = secs(session.access().iat);
            let others_kept = i64::from(limit) - 1;
            let trimmed = transaction
                .query(&trim, &[&subject, &sid_bytes, &now, &others_kept])
                .await
                .map_err(pg_error)?;
            let committed = transaction.commit().await.map_err(pg_error);
            sids(&trimmed).for_each(|sid| self.forget(sid));
            return committed;
        }
        transaction.commit().await.map_err(pg_error)
    }

    async fn revoke_subject_page(&self, subject: &str, now: u64) -> Result<u64, StoreError> {
        let client = self.inner.pool.get().await.map_err(pool_error)?;
        let statement = client
            .prepare_cached(&self.inner.sql.revoke_subject_page)
            .await
            .map_err(pg_error)?;
        let revoked = client
            .query(&statement, &[&subject, &secs(now), &REVOKE_PAGE])
            .await
            .map_err(pg_error)?;
        sids(&revoked).for_each(|sid| self.forget(sid));
        Ok(u64::try_from(revoked.len()).unwrap_or(u64::MAX))
    }
}

impl PairStore for PostgresStore {
    async fn create_session(&self, session: NewSession) -> Result<(), StoreError> {
        self.bounded(self.create(&session)).await?;
        let created = self.inner.created.fetch_add(1, Ordering::Relaxed);
        if created.is_multiple_of(SWEEP_EVERY) {
            // The login has succeeded; a failed sweep only waits for the next one.
            if let Err(error) = self.bounded(self.sweep(session.access().iat)).await {
                tracing::warn!(%error, "sweeping ended sessions failed");
            }
        }
        Ok(())
    }

    async fn check_access(
        &self,
        sid: SessionId,
        jti: TokenId,
        now: u64,
    ) -> Result<AccessCheck, StoreError> {
        if let Some(answer) = self.near().and_then(|near| near.check(sid, jti, now)) {
            return Ok(answer);
        }
        // Taken before the read is sent: a notification from now on keeps its reply out.
        let ticket = self.near().and_then(|near| near.begin(sid));
        let read = self.bounded(self.read_record(sid)).await;
        if let (Some(near), Some(ticket)) = (self.near(), ticket) {
            match &read {
                Ok(Some(record)) => near.complete(sid, ticket, cached(record)),
                _ => near.abandon(sid, ticket),
            }
        }
        Ok(match read? {
            Some(record) => record.check_access(jti, now),
            None => AccessCheck::Unknown,
        })
    }

    fn check_access_now(
        &self,
        sid: SessionId,
        jti: TokenId,
        now: u64,
    ) -> Option<Result<AccessCheck, StoreError>> {
        self.near()?.check(sid, jti, now).map(Ok)
    }

    async fn refresh(&self, request: RefreshRequest) -> Result<RefreshOutcome, StoreError> {
        let outcome = self
            .bounded(self.with_record(request.sid, |record| record.refresh(&request)))
            .await;
        // Committed, failed or (timed out) maybe still to commit: this server's copy of the
        // session is not to be trusted now; the notification covers a commit still to come.
        self.forget(request.sid);
        Ok(outcome?.unwrap_or(RefreshOutcome::Unknown))
    }

    async fn revoke_session(&self, sid: SessionId, now: u64) -> Result<bool, StoreError> {
        let revoked = self
            .bounded(self.with_record(sid, |record| !record.is_expired(now) && record.revoke()))
            .await;
        self.forget(sid);
        Ok(revoked?.unwrap_or(false))
    }

    async fn revoke_subject(&self, subject: &str, now: u64) -> Result<usize, StoreError> {
        let mut revoked = 0;
        loop {
            let page = self.bounded(self.revoke_subject_page(subject, now)).await?;
            revoked += usize::try_from(page).unwrap_or(usize::MAX);
            if page < REVOKE_PAGE.unsigned_abs() {
                return Ok(revoked);
            }
        }
    }
}
