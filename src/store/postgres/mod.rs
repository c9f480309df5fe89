//! The PostgreSQL [`PairStore`]: [`PostgresStore`], behind the `postgres` cargo feature.
//!
//! Written from [`PairStore`]'s documentation alone: every check-and-change is one transaction
//! holding the session's row lock, in which the row is loaded as a [`SessionRecord`], the
//! record's own method decides, and the row is written back. No rule of a refresh is written in
//! SQL.

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use deadpool_postgres::{Pool, PoolError};
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres::{Config, Socket};

use super::near_cache::{NearCache, NearCacheStats};
#[cfg(doc)]
use super::{NewSession, PairStore, RecordParts, SessionRecord};
use super::{StoreError, StoreErrorKind};
use crate::SessionId;

mod builder;
mod listener;
mod pair_store;
mod rows;
mod tls;

pub use builder::PostgresStoreBuilder;
use rows::{pg_error, pool_error, secs};

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
/// use tower_jwt_auth::JwtSessions;
/// use tower_jwt_auth::store::PostgresStore;
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
/// # TLS, and connections of your own
///
/// The URL's `sslmode` means what it means to libpq: `disable`; `prefer`, the default (TLS when
/// the server offers it, the certificate unchecked); `require` (TLS or nothing, the certificate
/// unchecked); `verify-ca` (signed by a trusted CA); `verify-full` (signed by a trusted CA and
/// for the host connected to, the mode to run in production). The trusted CAs are the
/// platform's root certificates, or your CA's, given with
/// [`ca_certificate`](PostgresStoreBuilder::ca_certificate) or as `sslrootcert=<file>` in the
/// URL; as with libpq, `prefer` and `require` check the signature once a CA is given. TLS runs on
/// rustls (aws-lc-rs). A certificate that is not trusted or not for the host, or a server that
/// refuses the connection, fails [`build`](PostgresStoreBuilder::build) with the reason: the
/// verifier's, or the server's own (`no pg_hba.conf entry for host … no encryption`). SCRAM
/// authentication runs without channel binding.
///
/// [`builder_from_config`](Self::builder_from_config) takes a `tokio_postgres::Config` and any
/// TLS connector, [`builder_from_pool`](Self::builder_from_pool) a `deadpool_postgres::Pool` of
/// your own, used as it is.
///
/// ```no_run
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use tower_jwt_auth::store::PostgresStore;
///
/// let store = PostgresStore::builder("postgres://app@db.internal/app?sslmode=verify-full")
///     .ca_certificate(std::fs::read("/etc/ssl/internal-ca.pem")?)
///     .table("auth.sessions") // migrate() creates the schema `auth` if need be
///     .build()
///     .await?;
/// store.migrate().await?;
/// # Ok(()) }
/// ```
///
/// # Schema
///
/// One row per session in the configured table (default `tower_jwt_auth_sessions`), with the
/// columns of [`RecordParts`] (token ids as 16-byte `bytea`, times as seconds), the subject, and
/// `format`, the version of the row layout; an index on the live sessions' `(subject, refresh_exp)` serves "log out
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
///   [`SessionRecord::check_access`], or, with the [near cache](PostgresStoreBuilder::near_cache)
///   holding the session, no round trip at all (its trigger and listener: `notify.sql`,
///   `listener.rs`).
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
    near: Option<Arc<NearCache>>,
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
                 ORDER BY refresh_exp DESC, sid DESC OFFSET $4 FOR UPDATE) RETURNING sid"
            ),
            revoke_subject_page: format!(
                "UPDATE {table} SET revoked = true WHERE sid IN (SELECT sid FROM {table} \
                 WHERE subject = $1 AND NOT revoked AND refresh_exp > $2 \
                 ORDER BY refresh_exp LIMIT $3 FOR UPDATE) RETURNING sid"
            ),
            sweep: format!(
                "DELETE FROM {table} WHERE sid IN (SELECT sid FROM {table} \
                 WHERE refresh_exp <= $1 LIMIT $2)"
            ),
        }
    }
}

impl PostgresStore {
    /// A builder for a store on the database at `url` (`postgres://user@host:port/database`, or
    /// libpq's `host=… dbname=…` form).
    ///
    /// TLS is as the string's `sslmode` says, with libpq's meanings: `disable`; `prefer` (the
    /// default: TLS if the server offers it); `require` (TLS, the certificate unchecked);
    /// `verify-ca` (signed by a trusted CA); `verify-full` (signed by a trusted CA and for the
    /// host connected to). The trusted CAs are the platform's, or those of
    /// [`ca_certificate`](PostgresStoreBuilder::ca_certificate) or `sslrootcert=<file>`.
    pub fn builder(url: impl Into<String>) -> PostgresStoreBuilder {
        PostgresStoreBuilder::new(url.into())
    }

    /// A builder for a store on a connection configuration of your own, with your own TLS
    /// connector (any of tokio-postgres's: `NoTls`, `tokio-postgres-rustls`,
    /// `postgres-native-tls`…). The store makes its pool of these connections.
    ///
    /// ```no_run
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use tower_jwt_auth::store::PostgresStore;
    ///
    /// let mut config = tokio_postgres::Config::new();
    /// config.host("127.0.0.1").user("app").dbname("app");
    /// let store = PostgresStore::builder_from_config(config, tokio_postgres::NoTls)
    ///     .build()
    ///     .await?;
    /// # let _ = store; Ok(()) }
    /// ```
    pub fn builder_from_config<T>(config: Config, tls: T) -> PostgresStoreBuilder
    where
        T: MakeTlsConnect<Socket> + Clone + Sync + Send + 'static,
        T::Stream: Sync + Send,
        T::TlsConnect: Sync + Send,
        <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
    {
        PostgresStoreBuilder::from_config(config, tls)
    }

    /// A builder for a store on a `deadpool-postgres` pool of your own, used as it is: its
    /// size, timeouts and TLS stay yours, and the store shares it with the rest of your
    /// application. Every store call is still bounded by the store's
    /// [timeout](PostgresStoreBuilder::timeout).
    ///
    /// ```no_run
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use deadpool_postgres::{Manager, Pool};
    /// use tower_jwt_auth::store::PostgresStore;
    ///
    /// let config: tokio_postgres::Config = "postgres://app@127.0.0.1/app".parse()?;
    /// let pool = Pool::builder(Manager::new(config, tokio_postgres::NoTls))
    ///     .max_size(32)
    ///     .build()?;
    /// let store = PostgresStore::builder_from_pool(pool.clone()).build().await?;
    /// # let _ = store; Ok(()) }
    /// ```
    pub fn builder_from_pool(pool: Pool) -> PostgresStoreBuilder {
        PostgresStoreBuilder::from_pool(pool)
    }

    /// The table the sessions are in.
    #[must_use]
    pub fn table(&self) -> &str {
        &self.inner.table
    }

    /// The bound on each store call.
    #[must_use]
    pub fn timeout(&self) -> Duration {
        self.inner.timeout
    }

    /// The [near cache](PostgresStoreBuilder::near_cache)'s counters, if it is on.
    ///
    /// ```no_run
    /// # async fn run(store: tower_jwt_auth::store::PostgresStore) {
    /// if let Some(stats) = store.near_cache_stats() {
    ///     // Not trusted: every check goes to the database until the listener proves itself.
    ///     println!("trusted: {}, answered locally: {}", stats.trusted, stats.hits);
    /// }
    /// # }
    /// ```
    #[must_use]
    pub fn near_cache_stats(&self) -> Option<NearCacheStats> {
        self.inner.near.as_deref().map(NearCache::stats)
    }

    fn near(&self) -> Option<&NearCache> {
        self.inner.near.as_deref()
    }

    /// Forgets `sid` in the near cache: this server just changed it (or may have).
    fn forget(&self, sid: SessionId) {
        if let Some(near) = self.near() {
            near.invalidate(sid);
        }
    }

    /// Creates the table and its indexes if they do not exist (the schema shipped with the
    /// crate), and the table's schema first if it is `schema.table` and the schema does not
    /// exist. Idempotent, and safe to run from several servers at once.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let table = &self.inner.table;
        let index_prefix = table.rsplit('.').next().unwrap_or(table);
        let namespace = match table.split_once('.') {
            Some((namespace, _)) => format!("CREATE SCHEMA IF NOT EXISTS {namespace};\n"),
            None => String::new(),
        };
        let mut schema = namespace
            + &include_str!("schema.sql")
                .replace("{table}", table)
                .replace("{index_prefix}", index_prefix);
        if self.inner.near.is_some() {
            let channel = listener::quote_literal(&listener::channel_of(table));
            schema += &include_str!("notify.sql")
                .replace("{table}", table)
                .replace("{channel}", &channel);
        }
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
}

/// An error and every cause beneath it, each once: tokio-postgres says "db error" and keeps the
/// server's own words (a `pg_hba.conf` refusal, a wrong password) in its source.
fn described(error: &(dyn StdError + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(error) = cause {
        let line = error.to_string();
        if !text.contains(&line) {
            text = format!("{text}: {line}");
        }
        cause = error.source();
    }
    text
}

/// A pool's failure to give a connection, in words: a connection refused, with the cause.
fn pool_failure(error: &PoolError) -> String {
    match error {
        PoolError::Backend(error) => described(error),
        other => described(other),
    }
}
