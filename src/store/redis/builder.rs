//! [`RedisStoreBuilder`]: configures and connects a [`RedisStore`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::cluster::ClusterClientBuilder;
use ::redis::{AsyncConnectionConfig, Client, TlsCertificates};

use super::connection::{Connection, Durable};
use super::values::store_error;
use super::{
    DEFAULT_PREFIX, DEFAULT_TIMEOUT, Inner, MAX_RECONNECT_DELAY, RedisStore, session_key_prefix,
    tracking,
};
use crate::store::redact;
use crate::store::tls_refusal::{certificate_refusal, certificate_refusal_in};
use crate::store::{StoreError, StoreErrorKind};

#[derive(Clone)]
pub(super) enum Target {
    Single(String),
    Cluster(Vec<String>),
}

impl Target {
    /// Where the store connects, credentials hidden.
    fn address(&self) -> String {
        match self {
            Self::Single(url) => redact(url),
            Self::Cluster(nodes) => nodes
                .iter()
                .map(|n| redact(n))
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Single(url) => f.debug_tuple("Single").field(&redact(url)).finish(),
            Self::Cluster(nodes) => f
                .debug_tuple("Cluster")
                .field(&nodes.iter().map(|n| redact(n)).collect::<Vec<_>>())
                .finish(),
        }
    }
}

/// The CAs of `pem` as the redis crate takes them.
fn certificates(pem: &[u8]) -> TlsCertificates {
    TlsCertificates {
        client_tls: None,
        root_cert: Some(pem.to_vec()),
    }
}

/// Configures and connects a [`RedisStore`]. Created by [`RedisStore::builder`] or
/// [`RedisStore::cluster_builder`].
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `build` is awaited"]
pub struct RedisStoreBuilder {
    target: Target,
    prefix: String,
    timeout: Duration,
    wait: Option<(u32, Duration)>,
    /// The near cache's capacity in records, when on.
    near_cache: Option<usize>,
    /// PEM of the CAs to trust instead of the platform's (`rediss://` only).
    ca: Option<Vec<u8>>,
}

impl RedisStoreBuilder {
    pub(super) fn new(target: Target) -> Self {
        Self {
            target,
            prefix: DEFAULT_PREFIX.to_owned(),
            timeout: DEFAULT_TIMEOUT,
            wait: None,
            near_cache: None,
            ca: None,
        }
    }

    /// Trust the CA certificates in `pem` (one or more PEM `CERTIFICATE` blocks) instead of the
    /// platform's root certificates, for a `rediss://` URL (TLS; the server's certificate must
    /// be signed by one of them and be for the host in the URL). [`build`](Self::build) refuses
    /// it for a `redis://` URL, which would not use it.
    ///
    /// ```no_run
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use tower_jwt_auth::store::RedisStore;
    ///
    /// let store = RedisStore::builder("rediss://app:secret@redis.internal:6380")
    ///     .ca_certificate(std::fs::read("/etc/redis/ca.pem")?)
    ///     .build()
    ///     .await?;
    /// # let _ = store; Ok(()) }
    /// ```
    pub fn ca_certificate(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.ca = Some(pem.into());
        self
    }

    /// A client for `url`, trusting the CA if one was given.
    fn client(&self, url: &str) -> ::redis::RedisResult<Client> {
        match &self.ca {
            Some(pem) => Client::build_with_tls(url, certificates(pem)),
            None => Client::open(url),
        }
    }

    /// The prefix of every key (default `tjwt`). Stores share sessions exactly when they share
    /// Redis and prefix. Keep braces out of it: a hash tag in the prefix would put every key in
    /// one cluster slot.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The longest any store call may take, connecting included (default 1 s). Past it the call
    /// fails with [`StoreErrorKind::Timeout`] and the layer answers `503`.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// After every call that revokes (a logout, "log out everywhere", a detected theft or reuse),
    /// waits until `replicas` replicas acknowledged the writes (`WAIT`, at most `timeout`, which
    /// should be below the store timeout) and fails with [`StoreErrorKind::Unavailable`] if fewer
    /// did. The revocation itself has happened either way; the error only says that a fail-over
    /// could still lose it. Revocations then use a second connection, so the wait never stalls
    /// other calls. On a cluster every master must have `replicas` replicas. Off by default.
    pub fn wait_for_replicas(mut self, replicas: u32, timeout: Duration) -> Self {
        self.wait = (replicas > 0).then_some((replicas, timeout));
        self
    }

    /// The near cache (off by default): access checks read a local copy of the session records
    /// this server has checked, at most `capacity` of them, and Redis pushes an invalidation the
    /// moment any server changes one (server-assisted client-side caching: RESP3,
    /// `CLIENT TRACKING … BCAST`, Redis 6 or later). Refreshes, revocations and logins still go to
    /// Redis, each one atomic step as ever.
    ///
    /// The copy answers only what a newer record could not change (this token is current; the
    /// session is revoked); anything else goes to Redis. It is trusted only while its tracking
    /// connection is proven by a heartbeat every 100 ms: a lost, broken or reconnecting tracking
    /// connection empties it, and every check goes to Redis until tracking is back. So a
    /// revocation made on another server stops a token here as soon as its invalidation arrives
    /// (about a millisecond on one network; see BENCHMARKS.md), and never later than 250 ms after
    /// the last heartbeat. On a cluster every master gets a tracking connection, and the set of
    /// masters is read again with every heartbeat: a fail-over or a new master empties the copy
    /// and tracking starts over.
    ///
    /// ```no_run
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use tower_jwt_auth::store::RedisStore;
    ///
    /// // At most 100,000 records (about 6 MB) on this server.
    /// let store = RedisStore::builder("redis://127.0.0.1:6379")
    ///     .near_cache(100_000)
    ///     .build()
    ///     .await?;
    /// # let _ = store; Ok(()) }
    /// ```
    pub fn near_cache(mut self, capacity: usize) -> Self {
        self.near_cache = (capacity > 0).then_some(capacity);
        self
    }

    /// Connects and sends a `PING`, within the timeout. Fails with
    /// [`StoreErrorKind::Unavailable`] for a malformed URL, a CA given for a `redis://` URL, an
    /// untrusted or misnamed certificate, or a refusal (a wrong password, a user without rights),
    /// each saying so; and with [`StoreErrorKind::Timeout`] (or `Unavailable`) if Redis could not
    /// be reached in time. Once built, lost connections are re-established by themselves.
    pub async fn build(self) -> Result<RedisStore, StoreError> {
        let timeout = self.timeout;
        let urls = match &self.target {
            Target::Single(url) => std::slice::from_ref(url),
            Target::Cluster(urls) => urls.as_slice(),
        };
        if self.ca.is_some() && urls.iter().any(|url| !url.starts_with("rediss://")) {
            return Err(StoreError::new(
                StoreErrorKind::Unavailable,
                "a CA certificate is for TLS: the URL must be rediss://",
            ));
        }
        let connected = tokio::time::timeout(timeout, async {
            let connection = self.connect().await?;
            let durable = match self.wait {
                Some((replicas, wait)) => Some(Durable {
                    connection: self.connect().await?,
                    replicas,
                    wait,
                }),
                None => None,
            };
            Ok::<_, StoreError>((connection, durable))
        })
        .await;
        // Say where, and why, in words: the URL without its credentials.
        let (connection, durable) = match connected {
            Ok(Ok(connected)) => connected,
            Ok(Err(error)) => {
                let cause = std::error::Error::source(&error)
                    .map_or_else(|| error.to_string(), ToString::to_string);
                let refusal = std::error::Error::source(&error)
                    .and_then(certificate_refusal)
                    .or_else(|| certificate_refusal_in(&cause));
                let cause = match refusal {
                    Some(why) => format!("{why} ({cause})"),
                    None => cause,
                };
                return Err(StoreError::new(
                    error.kind(),
                    format!(
                        "cannot connect to Redis at {}: {cause}",
                        self.target.address()
                    ),
                ));
            }
            Err(_) => {
                return Err(StoreError::new(
                    StoreErrorKind::Timeout,
                    format!(
                        "no connection to Redis at {} within {timeout:?}",
                        self.target.address()
                    ),
                ));
            }
        };
        let near = match self.near_cache {
            Some(capacity) => {
                let nodes = match &self.target {
                    Target::Single(url) => self
                        .client(url)
                        .and_then(|client| tracking::Nodes::single(&client)),
                    Target::Cluster(urls) => urls
                        .iter()
                        .map(|url| self.client(url))
                        .collect::<Result<Vec<_>, _>>()
                        .and_then(|clients| tracking::Nodes::cluster(&clients)),
                }
                .map_err(store_error)?;
                let prefix = session_key_prefix(&self.prefix);
                Some(tracking::start(nodes, prefix, capacity))
            }
            None => None,
        };
        Ok(RedisStore {
            inner: Arc::new(Inner {
                connection,
                prefix: self.prefix,
                timeout,
                durable,
                near,
            }),
        })
    }

    async fn connect(&self) -> Result<Connection, StoreError> {
        let timeout = self.timeout;
        match &self.target {
            Target::Single(url) => {
                let client = self.client(url).map_err(store_error)?;
                // The manager retries a connection that fails until the timeout, and would say
                // only that: one connection first says why a server that answers refuses (an
                // untrusted certificate, a wrong password).
                let probe = AsyncConnectionConfig::new()
                    .set_connection_timeout(Some(timeout))
                    .set_response_timeout(Some(timeout));
                // A PING, so that a user without rights (or none at all) is refused here too.
                let probed = async {
                    let mut connection = client
                        .get_multiplexed_async_connection_with_config(&probe)
                        .await?;
                    ::redis::cmd("PING")
                        .query_async::<String>(&mut connection)
                        .await
                };
                match probed.await {
                    Err(error) if !error.is_connection_refusal() => return Err(store_error(error)),
                    _ => {}
                }
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(timeout))
                    .set_response_timeout(Some(timeout))
                    .set_max_delay(MAX_RECONNECT_DELAY);
                ConnectionManager::new_with_config(client, config)
                    .await
                    .map(Connection::Single)
                    .map_err(store_error)
            }
            Target::Cluster(nodes) => {
                let mut client = ClusterClientBuilder::new(nodes.iter().map(String::as_str))
                    .connection_timeout(timeout)
                    .response_timeout(timeout);
                if let Some(pem) = &self.ca {
                    client = client.certs(certificates(pem));
                }
                let client = client.build().map_err(store_error)?;
                client
                    .get_async_connection()
                    .await
                    .map(Connection::Cluster)
                    .map_err(store_error)
            }
        }
    }
}
