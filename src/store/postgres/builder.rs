//! [`PostgresStoreBuilder`]: configures and connects a [`PostgresStore`].

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::config::Host;
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres::{Config, Socket};

use super::{Inner, PostgresStore, Statements, listener, tls};
use crate::store::redact;
use crate::store::{StoreError, StoreErrorKind};

const DEFAULT_TABLE: &str = "tower_jwt_auth_sessions";
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);
const DEFAULT_POOL_SIZE: usize = 16;

/// A pool manager for a configuration, with the caller's TLS connector inside.
type MakeManager = Arc<dyn Fn(Config, ManagerConfig) -> Manager + Send + Sync>;

/// Where the store's connections come from.
#[derive(Clone)]
enum Source {
    /// A connection string; TLS as its `sslmode` says, over the crate's rustls connector.
    Url(String),
    /// The caller's configuration and TLS connector.
    Config {
        config: Box<Config>,
        manager: MakeManager,
        /// The near cache's listening connection, over the same connector.
        listen: listener::Connect,
    },
    /// The caller's pool, used as it is.
    Pool(Pool),
}

/// Configures and connects a [`PostgresStore`]. Created by [`PostgresStore::builder`],
/// [`PostgresStore::builder_from_config`] or [`PostgresStore::builder_from_pool`].
#[derive(Clone)]
#[must_use = "a builder does nothing until `build` is awaited"]
pub struct PostgresStoreBuilder {
    source: Source,
    table: String,
    timeout: Duration,
    pool_size: usize,
    /// The near cache's capacity in records, when on.
    near_cache: Option<usize>,
    /// PEM of the CAs to trust instead of the platform's.
    ca: Option<Vec<u8>>,
}

impl fmt::Debug for PostgresStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let source = match &self.source {
            Source::Url(url) => redact(url),
            // tokio-postgres's own Debug leaves the password out.
            Source::Config { config, .. } => format!("{config:?}"),
            Source::Pool(_) => "a given pool".to_owned(),
        };
        f.debug_struct("PostgresStoreBuilder")
            .field("source", &source)
            .field("table", &self.table)
            .field("timeout", &self.timeout)
            .field("pool_size", &self.pool_size)
            .field("near_cache", &self.near_cache)
            .field("ca", &self.ca.is_some())
            .finish()
    }
}

/// A table name this store can use unquoted: `name` or `schema.name`, each a lowercase
/// identifier of at most 63 characters.
fn valid_table(name: &str) -> bool {
    let identifier = |part: &str| {
        let mut chars = part.chars();
        matches!(chars.next(), Some('a'..='z' | '_'))
            && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
            && part.len() <= 63
    };
    let mut parts = name.split('.');
    let valid = parts.next().is_some_and(identifier);
    valid && parts.clone().count() <= 1 && parts.all(identifier)
}

/// `host:port` of every host in `config`, for error messages.
fn addresses(config: &tokio_postgres::Config) -> String {
    let ports = config.get_ports();
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| {
            let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
            match host {
                Host::Tcp(name) => format!("{name}:{port}"),
                #[cfg(unix)]
                Host::Unix(path) => format!("{}/.s.PGSQL.{port}", path.display()),
            }
        })
        .collect();
    match hosts.is_empty() {
        true => "the default host".to_owned(),
        false => hosts.join(", "),
    }
}

/// Whether `url` is a URL with more than one `@`: a password with an unescaped `@`, or an `@`
/// in its query.
fn holds_a_raw_at(url: &str) -> bool {
    let is_url = url.starts_with("postgres://") || url.starts_with("postgresql://");
    is_url && url.matches('@').count() > 1
}

impl PostgresStoreBuilder {
    fn with_source(source: Source) -> Self {
        Self {
            source,
            table: DEFAULT_TABLE.to_owned(),
            timeout: DEFAULT_TIMEOUT,
            pool_size: DEFAULT_POOL_SIZE,
            near_cache: None,
            ca: None,
        }
    }

    pub(super) fn new(url: String) -> Self {
        Self::with_source(Source::Url(url))
    }

    pub(super) fn from_config<T>(config: Config, tls: T) -> Self
    where
        T: MakeTlsConnect<Socket> + Clone + Sync + Send + 'static,
        T::Stream: Sync + Send,
        T::TlsConnect: Sync + Send,
        <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
    {
        let listen = listener::connect_with(config.clone(), tls.clone());
        let manager: MakeManager =
            Arc::new(move |config, settings| Manager::from_config(config, tls.clone(), settings));
        Self::with_source(Source::Config {
            config: Box::new(config),
            manager,
            listen,
        })
    }

    pub(super) fn from_pool(pool: Pool) -> Self {
        Self::with_source(Source::Pool(pool))
    }

    /// The table of the sessions (default `tower_jwt_auth_sessions`; `schema.table` allowed).
    /// Stores share sessions exactly when they share database and table.
    /// [`migrate`](PostgresStore::migrate) creates the schema of a `schema.table` if it does not
    /// exist, as it creates the table.
    pub fn table(mut self, table: impl Into<String>) -> Self {
        self.table = table.into();
        self
    }

    /// The longest any store call may take, waiting for a connection included (default 1 s).
    /// Past it the call fails with [`StoreErrorKind::Timeout`] and the layer answers `503`.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The most connections the pool opens (default 16). A pool of your own
    /// ([`PostgresStore::builder_from_pool`]) keeps its own size.
    pub fn pool_size(mut self, size: usize) -> Self {
        self.pool_size = size.max(1);
        self
    }

    /// The near cache (off by default): access checks read a local copy of the session records
    /// this server has checked, at most `capacity` of them, and a dedicated connection
    /// `LISTEN`s for the id of every session row any server changes, sent by a trigger on the
    /// table from the changing transaction itself ([`migrate`](PostgresStore::migrate) creates
    /// it when the near cache is on). Refreshes, revocations and logins still go to the
    /// database, each one transaction as ever.
    ///
    /// The copy answers only what a newer record could not change (this token is current; the
    /// session is revoked); anything else goes to the database. It is trusted only while the
    /// listening connection proves itself every 100 ms with a notification of its own, which
    /// PostgreSQL delivers after every change committed before it: a lost, broken or
    /// reconnecting connection, or a table without the trigger, empties the copy, and every
    /// check goes to the database until a proof succeeds again. So a revocation made on another
    /// server stops a token here as soon as its notification arrives (a quarter of a
    /// millisecond at the median on one machine; see BENCHMARKS.md), and never later than
    /// 250 ms after the last proof. The listening connection uses the store's TLS settings;
    /// a store on a pool of your own ([`PostgresStore::builder_from_pool`]) cannot open one,
    /// and its [`build`](Self::build) refuses the near cache.
    ///
    /// ```no_run
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use tower_jwt_auth::store::PostgresStore;
    ///
    /// // At most 100,000 records (about 6 MB) on this server.
    /// let store = PostgresStore::builder("postgres://app@127.0.0.1:5432/app")
    ///     .near_cache(100_000)
    ///     .build()
    ///     .await?;
    /// store.migrate().await?; // creates the table's trigger too
    /// # Ok(()) }
    /// ```
    pub fn near_cache(mut self, capacity: usize) -> Self {
        self.near_cache = (capacity > 0).then_some(capacity);
        self
    }

    /// Trust the CA certificates in `pem` (one or more PEM `CERTIFICATE` blocks), instead of
    /// the platform's root certificates, for a store built from a URL. With `sslmode`
    /// `verify-full` the server's certificate must be signed by one of them and be for the host
    /// connected to; with `verify-ca` the name is not checked; and, as libpq does, `prefer`
    /// and `require` check the signature once a CA is given. Equivalent to the URL's
    /// `sslrootcert=<file>`. A store from your own configuration or pool has its TLS
    /// from its connector: there, [`build`](Self::build) refuses a CA.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use tower_jwt_auth::store::PostgresStore;
    ///
    /// let ca = std::fs::read("/etc/ssl/internal-ca.pem")?;
    /// let store = PostgresStore::builder("postgres://app@db.internal/app?sslmode=verify-full")
    ///     .ca_certificate(ca)
    ///     .build()
    ///     .await?;
    /// # let _ = store;
    /// # Ok(()) }
    /// ```
    pub fn ca_certificate(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.ca = Some(pem.into());
        self
    }

    /// Checks the settings and connects once, within the timeout, so a wrong address fails
    /// here, naming it, rather than at the first login. Fails with
    /// [`StoreErrorKind::Unavailable`] for a malformed connection string, `sslmode`, CA or table
    /// name, and with `Unavailable` or [`StoreErrorKind::Timeout`] if the database could not be
    /// reached; a refusal carries the server's own reason (a `pg_hba.conf` line, a wrong
    /// password, an untrusted certificate). The schema is not touched: call
    /// [`PostgresStore::migrate`].
    pub async fn build(self) -> Result<PostgresStore, StoreError> {
        let unusable = |what: String| StoreError::new(StoreErrorKind::Unavailable, what);
        if !valid_table(&self.table) {
            return Err(unusable(format!(
                "{:?} is not a table name this store can use (lowercase letters, digits and \
                 `_`, optionally `schema.table`)",
                self.table
            )));
        }
        let settings = || ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        let (pool, where_to, listen) = match &self.source {
            Source::Url(url) => {
                let (manager, where_to, listen) = self.url_manager(url, settings())?;
                (self.pool(manager)?, where_to, Some(listen))
            }
            Source::Config {
                config,
                manager,
                listen,
            } => {
                if self.ca.is_some() {
                    return Err(unusable(
                        "a CA certificate is for a store built from a URL: give it to your TLS \
                         connector"
                            .into(),
                    ));
                }
                let manager = manager(Config::clone(config), settings());
                (self.pool(manager)?, addresses(config), Some(listen.clone()))
            }
            Source::Pool(_) if self.ca.is_some() => {
                return Err(unusable(
                    "a CA certificate is for a store built from a URL: your pool's connector \
                     has its own"
                        .into(),
                ));
            }
            Source::Pool(_) if self.near_cache.is_some() => {
                return Err(unusable(
                    "the near cache listens on a connection of its own, which a given pool \
                     cannot open: build the store from a URL or a configuration"
                        .into(),
                ));
            }
            Source::Pool(pool) => (
                pool.clone(),
                "the database of the given pool".to_owned(),
                None,
            ),
        };
        let first = tokio::time::timeout(self.timeout, pool.get()).await;
        match first {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => {
                return Err(unusable(format!(
                    "cannot connect to PostgreSQL at {where_to}: {}",
                    super::pool_failure(&error)
                )));
            }
            Err(_) => {
                return Err(StoreError::new(
                    StoreErrorKind::Timeout,
                    format!(
                        "no connection to PostgreSQL at {where_to} within {:?}",
                        self.timeout
                    ),
                ));
            }
        }
        let sql = Statements::new(&self.table);
        let near = self.near_cache.zip(listen).map(|(capacity, connect)| {
            let target = listener::Target {
                connect,
                channel: listener::channel_of(&self.table),
                table: self.table.clone(),
                timeout: self.timeout,
            };
            listener::start(target, capacity)
        });
        Ok(PostgresStore {
            inner: Arc::new(Inner {
                pool,
                table: self.table,
                timeout: self.timeout,
                sql,
                created: AtomicU64::new(0),
                near,
            }),
        })
    }

    /// The store's own pool on `manager`, every wait in it bounded by the timeout.
    fn pool(&self, manager: Manager) -> Result<Pool, StoreError> {
        Pool::builder(manager)
            .max_size(self.pool_size)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(self.timeout))
            .create_timeout(Some(self.timeout))
            .recycle_timeout(Some(self.timeout))
            .build()
            .map_err(|e| {
                StoreError::new(
                    StoreErrorKind::Unavailable,
                    format!("cannot make a connection pool: {e}"),
                )
            })
    }

    /// The pool manager of a connection string, TLS as its `sslmode` says; and where it
    /// connects, for errors.
    fn url_manager(
        &self,
        url: &str,
        settings: ManagerConfig,
    ) -> Result<(Manager, String, listener::Connect), StoreError> {
        let unusable = |what: String| StoreError::new(StoreErrorKind::Unavailable, what);
        let split = tls::split(url).map_err(unusable)?;
        // The string is never repeated in errors: it may hold a password.
        let mut config = Config::from_str(&split.rest)
            .map_err(|_| unusable("not a PostgreSQL connection string".into()))?;
        config.ssl_mode(split.mode.ssl_mode());
        let pem = match (&self.ca, &split.root_cert) {
            (Some(pem), _) => Some(pem.clone()),
            (None, Some(path)) => Some(
                std::fs::read(path)
                    .map_err(|e| unusable(format!("cannot read sslrootcert {path:?}: {e}")))?,
            ),
            (None, None) => None,
        };
        let ca = pem.as_deref().map(tls::certificates).transpose();
        let ca = ca.map_err(unusable)?;
        let connector = tls::connector(split.mode, ca.as_deref()).map_err(unusable)?;
        let where_to = if holds_a_raw_at(url) {
            // tokio-postgres ends the user information at the first `@`: what it takes for the
            // host may be the rest of a password.
            "the URL's host (withheld: the URL holds more than one `@`)".to_owned()
        } else {
            addresses(&config)
        };
        let listen = listener::connect_with(config.clone(), connector.clone());
        Ok((
            Manager::from_config(config, connector, settings),
            where_to,
            listen,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_are_plain_identifiers() {
        for good in [
            "sessions",
            "tower_jwt_auth_sessions",
            "auth.sessions",
            "_t1",
        ] {
            assert!(valid_table(good), "{good}");
        }
        for bad in [
            "",
            "Sessions",
            "a-b",
            "a;drop table x",
            "a.b.c",
            "1abc",
            "a b",
            ".a",
        ] {
            assert!(!valid_table(bad), "{bad}");
        }
    }

    #[test]
    fn credentials_never_reach_debug() {
        for url in [
            "postgres://app:hunter2@db/app",
            "postgres://db/app?password=hunter2",
            "host=db password=hunter2 dbname=app",
            "postgres://app:pa?hunter2@db/app",
            "postgres://app:pa#hunter2@db/app",
            "postgres://app:pa@hunter2@db/app",
            "postgres://db/app?password=pa#hunter2",
        ] {
            let builder = PostgresStore::builder(url);
            assert!(!format!("{builder:?}").contains("hunter2"), "{url}");
        }
    }

    #[tokio::test]
    async fn startup_errors_name_no_credentials() {
        // Nothing listens on port 1: each fails, and the error names where it tried.
        for url in [
            "postgres://app:pa?hunter2@127.0.0.1:1/app",
            "postgres://app:pa#hunter2@127.0.0.1:1/app",
            "postgres://app:pa/hunter2@127.0.0.1:1/app",
            "postgres://app:pa@hunter2@127.0.0.1:1/app",
            "postgres://app:pa@hunter2.example/x@127.0.0.1:1/app",
        ] {
            let error = PostgresStore::builder(url)
                .timeout(Duration::from_millis(200))
                .build()
                .await
                .map(drop)
                .expect_err("nothing to connect to");
            assert!(!error.to_string().contains("hunter2"), "{error}");
        }
    }
}
