//! The PostgreSQL [`PairStore`]: [`PostgresStore`], behind the `postgres` cargo feature.
//!
//! Written from [`PairStore`]'s documentation alone: every check-and-change is one transaction
//! holding the session's row lock, in which the row is loaded as a [`SessionRecord`], the
//! record's own method decides, and the row is written back. No rule of a refresh is written in
//! SQL.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use deadpool_postgres::Pool;
use tokio_postgres::Row;

use super::{
    AccessCheck, NewSession, PairStore, RecordParts, RefreshOutcome, RefreshRequest, SessionRecord,
    StoreError, StoreErrorKind, TokenStamp,
};
use crate::id::{SessionId, TokenId};

mod builder;

pub use builder::PostgresStoreBuilder;

/// The version of the row layout this code writes and reads (the `format` column).
const FORMAT: i16 = 1;
/// Sessions revoked per step of "log out everywhere".
const REVOKE_PAGE: i64 = 1_000;
/// One sweep of ended sessions every this many new sessions, of at most this many rows.
const SWEEP_EVERY: u64 = 64;
const SWEEP_ROWS: i64 = 1_000;

/// Sessions in PostgreSQL, shared by every server that uses the same database and table.
/// Clones share one connection pool; build with [`PostgresStore::builder`], then create the
/// table once with [`migrate`](Self::migrate).
///
/// Enabled by the `postgres` cargo feature; built on `tokio-postgres` with a `deadpool-postgres`
/// pool: `tokio-postgres` is the asynchronous client of the `rust-postgres` project, plain SQL
/// with prepared statements and nothing generated at compile time, and the pool replaces a
/// connection that the server closed (a restart, a fail-over) on its next use. `sqlx` would
/// bring a second runtime abstraction and compile-time query checking this crate's few fixed
/// statements do not need.
///
/// ```no_run
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use tower_jwt_auth::{JwtSessions, PostgresStore};
///
/// let store = PostgresStore::builder("postgres://app@127.0.0.1:5432/app")
///     .table("sessions")
///     .build()
///     .await?;
/// store.migrate().await?; // idempotent; safe to run on every start
/// let sessions = JwtSessions::builder()
///     .hs256_secret(b"an example secret of 32+ bytes!!")
///     .store(store)
///     .build()?;
/// # let _ = sessions; Ok(()) }
/// ```
///
/// # Schema
///
/// One row per session in the configured table (default `tower_jwt_auth_sessions`), with the
/// columns of [`RecordParts`] (token ids as 16-byte `bytea`, times as seconds), the subject, and
/// `format`, the version of the row layout; an index on `(subject, refresh_exp)` serves "log out
/// everywhere" and the per-subject limit, one on `refresh_exp` the sweep. The schema ships with
/// the crate (`src/store/postgres/schema.sql`) and is applied by [`migrate`](Self::migrate),
/// never implicitly. No token is ever stored.
///
/// # One transaction per decision
///
/// - **refresh** and **revoke** run `SELECT … FOR UPDATE` on the session's row, decide with
///   [`SessionRecord::refresh`] or [`SessionRecord::revoke`] in Rust, `UPDATE` the row if the
///   record changed, and commit: four round trips, one row lock, so concurrent refreshes of one
///   session (on any number of servers) are decided one after the other.
/// - **create** inserts the row (a second session under an id is refused) and, holding a
///   transaction-scoped advisory lock on the subject so that two logins of one subject are
///   counted one after the other, revokes the subject's sessions that end first beyond the
///   limit ([`NewSession::subject_limit`]).
/// - An **access check** is one `SELECT` of the row, judged by
///   [`SessionRecord::check_access`].
/// - **Log out everywhere** revokes the subject's live sessions a page (1,000) at a time, each
///   page one statement on the subject index, so a call that fails part way keeps every page it
///   finished. Its `WHERE NOT revoked AND refresh_exp > now` is the record's
///   [`is_revoked`](SessionRecord::is_revoked) and [`is_expired`](SessionRecord::is_expired),
///   written as an index scan instead of a row-by-row load.
///
/// Ended sessions are deleted a thousand at a time once every 64 logins (and by
/// [`purge_expired`](Self::purge_expired)); a revoked session stays until its end, so a late
/// use of its tokens is still refused as revoked.
///
/// # Failures and timeouts
///
/// Every store call is bounded by the [timeout](PostgresStoreBuilder::timeout) (default 1 s),
/// connecting included. The database down, slow or restarting gives a [`StoreError`] of kind
/// [`Timeout`](StoreErrorKind::Timeout) or [`Unavailable`](StoreErrorKind::Unavailable), which
/// the layer answers with `503` and `Retry-After`, never `401`; the pool replaces broken
/// connections on their next use, so the store recovers by itself when the database returns.
/// A revocation is acknowledged once its transaction committed: it is then as durable as the
/// database makes commits (`synchronous_commit`, replication).
#[derive(Clone)]
pub struct PostgresStore {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    table: String,
    timeout: Duration,
    sql: Statements,
    created: AtomicU64,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("table", &self.inner.table)
            .field("timeout", &self.inner.timeout)
            .finish_non_exhaustive()
    }
}

/// Every statement the store runs, written once for its table.
struct Statements {
    select: String,
    select_for_update: String,
    insert: String,
    update: String,
    lock_subject: String,
    limit_subject: String,
    revoke_subject_page: String,
    sweep: String,
}

/// The columns of a [`RecordParts`], in the order [`record_of`] reads them.
const RECORD_COLUMNS: &str = "access_jti, access_iat, access_exp, refresh_jti, refresh_iat, \
     refresh_exp, previous_refresh, refreshed_at, revoked, format";

impl Statements {
    fn new(table: &str) -> Self {
        Self {
            select: format!("SELECT {RECORD_COLUMNS} FROM {table} WHERE sid = $1"),
            select_for_update: format!(
                "SELECT {RECORD_COLUMNS} FROM {table} WHERE sid = $1 FOR UPDATE"
            ),
            insert: format!(
                "INSERT INTO {table} (sid, subject, access_jti, access_iat, access_exp, \
                 refresh_jti, refresh_iat, refresh_exp, revoked, format) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, false, {FORMAT}) \
                 ON CONFLICT (sid) DO NOTHING"
            ),
            update: format!(
                "UPDATE {table} SET access_jti = $2, access_iat = $3, access_exp = $4, \
                 refresh_jti = $5, refresh_iat = $6, refresh_exp = $7, previous_refresh = $8, \
                 refreshed_at = $9, revoked = $10 WHERE sid = $1"
            ),
            lock_subject: "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))".into(),
            // The subject's other live sessions beyond the `$4 - 1` that end last.
            limit_subject: format!(
                "UPDATE {table} SET revoked = true WHERE sid IN (SELECT sid FROM {table} \
                 WHERE subject = $1 AND sid <> $2 AND NOT revoked AND refresh_exp > $3 \
                 ORDER BY refresh_exp DESC, sid DESC OFFSET $4 FOR UPDATE)"
            ),
            revoke_subject_page: format!(
                "UPDATE {table} SET revoked = true WHERE sid IN (SELECT sid FROM {table} \
                 WHERE subject = $1 AND NOT revoked AND refresh_exp > $2 \
                 ORDER BY refresh_exp LIMIT $3 FOR UPDATE)"
            ),
            sweep: format!(
                "DELETE FROM {table} WHERE sid IN (SELECT sid FROM {table} \
                 WHERE refresh_exp <= $1 LIMIT $2)"
            ),
        }
    }
}

/// A time as a column holds it. Records keep seconds as `u32`, so every stored time fits.
fn secs(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn corrupt(what: &'static str) -> StoreError {
    StoreError::new(StoreErrorKind::Corrupt, what)
}

/// Maps a client error: anything the server or the connection reports is
/// [`StoreErrorKind::Unavailable`] (a server restarting, a missing table, a broken connection).
fn pg_error(error: tokio_postgres::Error) -> StoreError {
    StoreError::new(StoreErrorKind::Unavailable, error)
}

fn pool_error(error: deadpool_postgres::PoolError) -> StoreError {
    match error {
        deadpool_postgres::PoolError::Timeout(_) => StoreError::new(StoreErrorKind::Timeout, error),
        deadpool_postgres::PoolError::Backend(error) => pg_error(error),
        other => StoreError::new(StoreErrorKind::Unavailable, other),
    }
}

/// Reads a `(sid)` row's record; a row of another layout version is corrupt, never guessed at.
fn record_of(row: &Row) -> Result<SessionRecord, StoreError> {
    let format: i16 = row.try_get(9).map_err(|_| corrupt("a row has no format"))?;
    if format != FORMAT {
        return Err(corrupt("a row has a format this version cannot read"));
    }
    let id = |i: usize| -> Result<TokenId, StoreError> {
        let bytes: &[u8] = row
            .try_get(i)
            .map_err(|_| corrupt("a stored id is unreadable"))?;
        let bytes: [u8; 16] = bytes
            .try_into()
            .map_err(|_| corrupt("a stored id is not 16 bytes"))?;
        Ok(TokenId::from_bytes(bytes))
    };
    let time = |i: usize| -> Result<u64, StoreError> {
        let value: i64 = row
            .try_get(i)
            .map_err(|_| corrupt("a stored time is unreadable"))?;
        u64::try_from(value).map_err(|_| corrupt("a stored time is negative"))
    };
    let previous: Option<&[u8]> = row
        .try_get(6)
        .map_err(|_| corrupt("a stored id is unreadable"))?;
    let refreshed_at: Option<i64> = row
        .try_get(7)
        .map_err(|_| corrupt("a stored time is unreadable"))?;
    Ok(SessionRecord::from_parts(RecordParts {
        access: TokenStamp {
            jti: id(0)?,
            iat: time(1)?,
            exp: time(2)?,
        },
        refresh: TokenStamp {
            jti: id(3)?,
            iat: time(4)?,
            exp: time(5)?,
        },
        previous_refresh: match previous {
            Some(_) => Some(id(6)?),
            None => None,
        },
        refreshed_at: match refreshed_at {
            Some(at) => Some(u64::try_from(at).map_err(|_| corrupt("a stored time is negative"))?),
            None => None,
        },
        revoked: row
            .try_get(8)
            .map_err(|_| corrupt("a stored flag is unreadable"))?,
    }))
}

impl PostgresStore {
    /// A builder for a store on the database at `url` (`postgres://user@host:port/database`, or
    /// libpq's `host=… dbname=…` form).
    pub fn builder(url: impl Into<String>) -> PostgresStoreBuilder {
        PostgresStoreBuilder::new(url.into())
    }

    /// The table the sessions are in.
    pub fn table(&self) -> &str {
        &self.inner.table
    }

    /// The bound on each store call.
    pub fn timeout(&self) -> Duration {
        self.inner.timeout
    }

    /// Creates the table and its indexes if they do not exist (the schema shipped with the
    /// crate). Idempotent, and safe to run from several servers at once.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let table = &self.inner.table;
        let index_prefix = table.rsplit('.').next().unwrap_or(table);
        let schema = include_str!("schema.sql")
            .replace("{table}", table)
            .replace("{index_prefix}", index_prefix);
        let lock = format!(
            "SELECT pg_advisory_xact_lock(hashtextextended('tower-jwt-auth migrate {table}', 0));"
        );
        self.bounded(async {
            let client = self.inner.pool.get().await.map_err(pool_error)?;
            client
                .batch_execute(&format!("BEGIN;\n{lock}\n{schema}\nCOMMIT;"))
                .await
                .map_err(pg_error)
        })
        .await
    }

    /// Deletes every session that ended before `now` (seconds since the Unix epoch); returns
    /// how many. Logins sweep a thousand at a time by themselves; this is for reclaiming space
    /// at once.
    pub async fn purge_expired(&self, now: u64) -> Result<u64, StoreError> {
        let mut purged = 0;
        loop {
            let rows = self.bounded(self.sweep(now)).await?;
            purged += rows;
            if rows < SWEEP_ROWS.unsigned_abs() {
                return Ok(purged);
            }
        }
    }

    async fn sweep(&self, now: u64) -> Result<u64, StoreError> {
        let client = self.inner.pool.get().await.map_err(pool_error)?;
        let statement = client
            .prepare_cached(&self.inner.sql.sweep)
            .await
            .map_err(pg_error)?;
        client
            .execute(&statement, &[&secs(now), &SWEEP_ROWS])
            .await
            .map_err(pg_error)
    }

    async fn bounded<T>(
        &self,
        op: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        tokio::time::timeout(self.inner.timeout, op)
            .await
            .unwrap_or_else(|elapsed| Err(StoreError::new(StoreErrorKind::Timeout, elapsed)))
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
            transaction
                .execute(&trim, &[&subject, &sid_bytes, &now, &others_kept])
                .await
                .map_err(pg_error)?;
        }
        transaction.commit().await.map_err(pg_error)
    }

    async fn revoke_subject_page(&self, subject: &str, now: u64) -> Result<u64, StoreError> {
        let client = self.inner.pool.get().await.map_err(pool_error)?;
        let statement = client
            .prepare_cached(&self.inner.sql.revoke_subject_page)
            .await
            .map_err(pg_error)?;
        client
            .execute(&statement, &[&subject, &secs(now), &REVOKE_PAGE])
            .await
            .map_err(pg_error)
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
        self.bounded(async {
            let client = self.inner.pool.get().await.map_err(pool_error)?;
            let select = client
                .prepare_cached(&self.inner.sql.select)
                .await
                .map_err(pg_error)?;
            let row = client
                .query_opt(&select, &[&sid.as_bytes().as_slice()])
                .await
                .map_err(pg_error)?;
            Ok(match row {
                Some(row) => record_of(&row)?.check_access(jti, now),
                None => AccessCheck::Unknown,
            })
        })
        .await
    }

    async fn refresh(&self, request: RefreshRequest) -> Result<RefreshOutcome, StoreError> {
        let outcome = self
            .bounded(self.with_record(request.sid, |record| record.refresh(&request)))
            .await?;
        Ok(outcome.unwrap_or(RefreshOutcome::Unknown))
    }

    async fn revoke_session(&self, sid: SessionId, now: u64) -> Result<bool, StoreError> {
        let revoked = self
            .bounded(self.with_record(sid, |record| !record.is_expired(now) && record.revoke()))
            .await?;
        Ok(revoked.unwrap_or(false))
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
