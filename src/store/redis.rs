//! The Redis [`PairStore`]: [`RedisStore`], behind the `redis` cargo feature.
//!
//! Everything a user needs (key layout, TTLs, the Lua steps, cluster hash tags, failure
//! behaviour and timeouts) is documented on [`RedisStore`], where rustdoc shows it; this module
//! is private. The scripts are in `redis/*.lua` beside this file, each prefixed with `lib.lua`.

use std::fmt;
use std::future::Future;
use std::str::FromStr;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use ::redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use ::redis::cluster::ClusterClientBuilder;
use ::redis::cluster_async::ClusterConnection;
use ::redis::{Client, Cmd, ErrorKind, Pipeline, RedisError, RedisFuture, Script, Value};

use super::redact::redact;
use super::{
    AccessCheck, NewSession, PairStore, RefreshOutcome, RefreshRequest, StoreError, StoreErrorKind,
    TokenStamp,
};
use crate::id::{SessionId, TokenId};

/// The default key prefix.
const DEFAULT_PREFIX: &str = "tjwt";
/// Sessions revoked per step of "log out everywhere".
const REVOKE_PAGE: usize = 1_000;
/// The default bound on one store call.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);
/// Longest pause between reconnection attempts: Redis coming back is noticed within about this.
const MAX_RECONNECT_DELAY: Duration = Duration::from_secs(1);
/// The latest time a [`SessionRecord`](super::SessionRecord) can hold: it keeps seconds as `u32`
/// (every instant until 2106) and clamps later ones to this.
const RECORD_MAX_SECS: u64 = u32::MAX as u64;
/// Longest TTL written, in milliseconds (about 285 000 years): far below what `PEXPIRE` accepts,
/// so an absurd session end can never make the write fail.
const MAX_TTL_MS: u64 = (1 << 53) - 1;

fn script(body: &str) -> Script {
    Script::new(&[include_str!("redis/lib.lua"), body].concat())
}

static CREATE: LazyLock<Script> = LazyLock::new(|| script(include_str!("redis/create.lua")));
static INDEX: LazyLock<Script> = LazyLock::new(|| script(include_str!("redis/index.lua")));
static REFRESH: LazyLock<Script> = LazyLock::new(|| script(include_str!("redis/refresh.lua")));
static REVOKE: LazyLock<Script> = LazyLock::new(|| script(include_str!("redis/revoke.lua")));
static MARK: LazyLock<Script> = LazyLock::new(|| script(include_str!("redis/mark.lua")));

/// Sessions in Redis or Redis Cluster, shared by every server that uses the same Redis and
/// prefix. Clones share one connection; build with [`RedisStore::builder`] or
/// [`RedisStore::cluster_builder`].
///
/// Enabled by the `redis` cargo feature; built on the [`redis`](https://docs.rs/redis) crate's
/// tokio `ConnectionManager` (one multiplexed connection that reconnects by itself) or its
/// `cluster-async` client.
///
/// ```no_run
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use tower_jwt_auth::{JwtSessions, RedisStore};
///
/// let store = RedisStore::builder("redis://127.0.0.1:6379")
///     .prefix("myapp:sessions")
///     .timeout(Duration::from_millis(500))
///     .build()
///     .await?;
/// let sessions = JwtSessions::builder()
///     .hs256_secret(b"an example secret of 32+ bytes!!")
///     .store(store)
///     .build()?;
/// let pair = sessions.issue("alice", ()).await?;
/// // Any other server built on the same Redis and prefix now accepts `pair`.
/// # let _ = pair; Ok(()) }
/// ```
///
/// # Key layout
///
/// | key | type | holds |
/// | --- | --- | --- |
/// | `<prefix>:s:{<sid>}` | hash | one session: `sub`, `rev` (`0`/`1`), the current access token's `aj`/`ai`/`ae` (jti, iat, exp), the current refresh token's `rj`/`ri`/`re`, the rotated-out refresh jti `pj` and the last refresh time `at` (`""` when none) |
/// | `<prefix>:u:{<subject>}` | sorted set | the subject's session ids, scored by session end |
///
/// Token ids are stored as their 22-character base64url text and times as decimal seconds,
/// clamped like [`SessionRecord`](crate::store::SessionRecord)'s (to 2106); no token is ever
/// stored. The prefix defaults to `tjwt`; give each application (or test run) its
/// own.
///
/// # TTLs: bounded by construction
///
/// A session hash is written with its fields and its TTL in one step, and that TTL is the
/// session's remaining lifetime, `refresh exp - now` (the session's absolute end: rotation never
/// moves it, and no later write touches the TTL). A revoked session keeps its hash, with
/// `rev = 1`, as a tombstone until then, so a late use of either token is refused as revoked;
/// past the end the token itself has expired anyway. The TTL is relative (`PEXPIRE`), measured
/// from the `now` of the crate's [`Clock`](crate::Clock), not an absolute `PEXPIREAT`: Redis's
/// clock is not the application's (a [`ManualClock`](crate::ManualClock) may stand anywhere, and
/// the conformance suite runs in 1970), and every expiry decision reads the application's clock.
///
/// The subject index is a sorted set scored by session end. Adding a session prunes the members
/// that have ended and stretches the set's TTL to its latest member's end, so it holds at most
/// the subject's unexpired sessions and disappears with the last of them. A login that finds
/// the subject over its [limit](NewSession::subject_limit) revokes the sessions that end first
/// and removes them from the index, so a subject holds at most that many live sessions (default
/// 1,000). "Log out everywhere" reads the index a page (1,000 ids) at a time, revokes the page
/// and removes it from the index; every page is its own bounded step, so a call that fails part
/// way keeps the pages it finished and a retry carries on from there. Nothing ever uses `KEYS`
/// or `SCAN`.
///
/// # One Lua step per decision
///
/// Every check-and-change is one Lua script (`EVALSHA`, loaded on first use and again after a
/// Redis restart), which Redis runs without interleaving any other command:
///
/// - **refresh** reproduces [`SessionRecord::refresh`](crate::store::SessionRecord::refresh)
///   step for step: revoked, ended, unknown or rotated-out token, grace-window replay, theft
///   rule, mint and rotation. Times are compared as decimal text, exactly as the `u64` arithmetic
///   does (never as Lua's doubles, which round above 2^53). Its one addition: a repeat of the
///   very same request (same freshly drawn access jti) returns what the first run minted, so a
///   client-side retry after a lost reply (the cluster client retries by itself) is never
///   mistaken for theft.
/// - **revoke** marks a live session revoked; **create** writes a session and its TTL together;
///   **index** adds a session to its subject's index and names the sessions over the limit.
/// - An **access check** is a single `HMGET` (read only; no script needed).
///
/// So an access check and a refresh each cost one round trip; `create_session` costs two (index,
/// then session; more only to end sessions over the limit) and `revoke_subject` two per page
/// plus one per session, sent concurrently.
///
/// # Redis Cluster
///
/// [`RedisStore::cluster_builder`] connects with the cluster client. Every script touches exactly
/// one key, so no step can span slots; the hash tags (`{<sid>}`, `{<subject>}`) keep each
/// session's keys in one slot should a session ever need more than one, and spread sessions over
/// the cluster. Creating a session touches two slots, so it is two steps in a deliberate order:
/// the session id is added to the subject index *first*, then the session is written. Revoking a
/// subject reads a page of the index, revokes each listed session with the per-session script,
/// then removes the page from the index. That is still correct for a session created
/// concurrently: either its id was indexed before the read, and the revoke script finds it (or
/// finds nothing yet and leaves a revoked tombstone, which the session's creation then writes
/// itself into, revoked); or it was indexed after the read, so it was created after the
/// revocation. A live session never exists unindexed (ids leave the index only once revoked),
/// and no token reaches a client before `create_session` returned, so no session that a client
/// could hold before the revocation survives it. Each single revocation is atomic.
///
/// # Failures and timeouts
///
/// Every store call is bounded by the [timeout](RedisStoreBuilder::timeout) (default 1 s),
/// applied around the whole call. Redis unreachable, slow or restarting gives a [`StoreError`]
/// of kind [`Timeout`](StoreErrorKind::Timeout) or [`Unavailable`](StoreErrorKind::Unavailable),
/// which the layer answers with `503` and `Retry-After`, never `401`: at once while connections
/// are refused, at the timeout while Redis hangs or a reconnection is pending. The connection
/// reconnects in the background (exponential back-off of at most 1 s), so the store recovers by
/// itself when Redis returns, with no restart. A call that timed out may still take effect when a
/// slow Redis catches up; a refresh retried within the grace window then gets the tokens it
/// minted (the layer's `Retry-After` of 1 s is well inside the default grace window of 10 s).
///
/// A revocation is acknowledged when its script returned: it is then in Redis's memory, and every
/// server sees it. Surviving a Redis *restart* is a matter of Redis's persistence: with
/// persistence off the restarted Redis is empty, every session is unknown and every token is
/// refused (revocations hold, logins are lost); with RDB snapshots a restart may bring back a
/// session as it was before its revocation. To never lose an acknowledged revocation across a
/// restart, run Redis with `appendonly yes` and `appendfsync always`; across a fail-over to a
/// replica, set [`wait_for_replicas`](RedisStoreBuilder::wait_for_replicas), which makes every
/// revoking call wait (`WAIT`) until that many replicas have it and fail otherwise.
#[derive(Debug, Clone)]
pub struct RedisStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    connection: Connection,
    prefix: String,
    timeout: Duration,
    durable: Option<Durable>,
}

/// What [`RedisStoreBuilder::wait_for_replicas`] sets up. `WAIT` blocks the connection it is sent
/// on and covers only that connection's writes, so revocations get a connection of their own:
/// waiting never stalls the access checks and refreshes on the main one.
#[derive(Debug)]
struct Durable {
    connection: Connection,
    replicas: u32,
    wait: Duration,
}

/// A single Redis (through the reconnecting manager) or a cluster: both speak the same commands.
#[derive(Clone)]
enum Connection {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Single(_) => "Single",
            Self::Cluster(_) => "Cluster",
        })
    }
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Single(c) => c.req_packed_command(cmd),
            Self::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Self::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(c) => c.get_db(),
            Self::Cluster(c) => c.get_db(),
        }
    }
}

#[derive(Clone)]
enum Target {
    Single(String),
    Cluster(Vec<String>),
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

/// Configures and connects a [`RedisStore`]. Created by [`RedisStore::builder`] or
/// [`RedisStore::cluster_builder`].
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `build` is awaited"]
pub struct RedisStoreBuilder {
    target: Target,
    prefix: String,
    timeout: Duration,
    wait: Option<(u32, Duration)>,
}

impl RedisStoreBuilder {
    fn new(target: Target) -> Self {
        Self {
            target,
            prefix: DEFAULT_PREFIX.to_owned(),
            timeout: DEFAULT_TIMEOUT,
            wait: None,
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

    /// Connects, within the timeout. Fails with [`StoreErrorKind::Unavailable`] for a malformed
    /// URL, and with [`StoreErrorKind::Timeout`] (or `Unavailable`) if Redis could not be reached
    /// in time. Once built, lost connections are re-established by themselves.
    pub async fn build(self) -> Result<RedisStore, StoreError> {
        let timeout = self.timeout;
        let (connection, durable) = bounded(timeout, async {
            let connection = self.connect().await?;
            let durable = match self.wait {
                Some((replicas, wait)) => Some(Durable {
                    connection: self.connect().await?,
                    replicas,
                    wait,
                }),
                None => None,
            };
            Ok((connection, durable))
        })
        .await?;
        Ok(RedisStore {
            inner: Arc::new(Inner {
                connection,
                prefix: self.prefix,
                timeout,
                durable,
            }),
        })
    }

    async fn connect(&self) -> Result<Connection, StoreError> {
        let timeout = self.timeout;
        match &self.target {
            Target::Single(url) => {
                let client = Client::open(url.as_str()).map_err(store_error)?;
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
                let client = ClusterClientBuilder::new(nodes.iter().map(String::as_str))
                    .connection_timeout(timeout)
                    .response_timeout(timeout)
                    .build()
                    .map_err(store_error)?;
                client
                    .get_async_connection()
                    .await
                    .map(Connection::Cluster)
                    .map_err(store_error)
            }
        }
    }
}

/// Maps a client error to the store's kinds: a timeout is [`StoreErrorKind::Timeout`], a reply
/// this crate cannot read is [`StoreErrorKind::Corrupt`], anything else (refused, dropped,
/// loading, fail-over, cluster down) is [`StoreErrorKind::Unavailable`].
fn store_error(error: RedisError) -> StoreError {
    let kind = if error.is_timeout() {
        StoreErrorKind::Timeout
    } else {
        match error.kind() {
            ErrorKind::Parse | ErrorKind::UnexpectedReturnType => StoreErrorKind::Corrupt,
            _ => StoreErrorKind::Unavailable,
        }
    };
    StoreError::new(kind, error)
}

fn corrupt(what: &'static str) -> StoreError {
    StoreError::new(StoreErrorKind::Corrupt, what)
}

/// Runs `op`, failing with [`StoreErrorKind::Timeout`] if it takes longer than `timeout`.
async fn bounded<T>(
    timeout: Duration,
    op: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    tokio::time::timeout(timeout, op)
        .await
        .unwrap_or_else(|elapsed| Err(StoreError::new(StoreErrorKind::Timeout, elapsed)))
}

fn parse_u64(text: &str) -> Result<u64, StoreError> {
    text.parse()
        .map_err(|_| corrupt("a stored time is not a number"))
}

fn parse_jti(text: &str) -> Result<TokenId, StoreError> {
    TokenId::from_str(text).map_err(|_| corrupt("a stored token id is malformed"))
}

/// A time as a [`SessionRecord`](super::SessionRecord) records it. Stored times are clamped the
/// same way, so every comparison in the scripts sees the values the record's would.
fn secs32(secs: u64) -> u64 {
    secs.min(RECORD_MAX_SECS)
}

/// A stamp as a [`SessionRecord`](super::SessionRecord) records it.
fn recorded(stamp: TokenStamp) -> TokenStamp {
    TokenStamp {
        iat: secs32(stamp.iat),
        exp: secs32(stamp.exp),
        ..stamp
    }
}

/// Milliseconds from `now` to `end`, the TTL of a key that must not outlive `end`.
fn ttl_ms(now: u64, end: u64) -> u64 {
    end.saturating_sub(now).saturating_mul(1000).min(MAX_TTL_MS)
}

impl RedisStore {
    /// A builder for a store on the single Redis at `url` (`redis://[user:password@]host:port[/db]`).
    pub fn builder(url: impl Into<String>) -> RedisStoreBuilder {
        RedisStoreBuilder::new(Target::Single(url.into()))
    }

    /// A builder for a store on the Redis Cluster reachable through any of `nodes` (URLs as for
    /// [`builder`](Self::builder)); the rest of the cluster is discovered from them.
    pub fn cluster_builder<I>(nodes: I) -> RedisStoreBuilder
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        RedisStoreBuilder::new(Target::Cluster(nodes.into_iter().map(Into::into).collect()))
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.inner.prefix
    }

    /// The bound on each store call.
    pub fn timeout(&self) -> Duration {
        self.inner.timeout
    }

    /// The key of session `sid`'s hash: `<prefix>:s:{<sid>}`.
    pub fn session_key(&self, sid: SessionId) -> String {
        self.session_key_text(&sid.to_string())
    }

    /// The key of `subject`'s session index: `<prefix>:u:{<subject>}`.
    pub fn subject_key(&self, subject: &str) -> String {
        format!("{}:u:{{{subject}}}", self.inner.prefix)
    }

    fn session_key_text(&self, sid: &str) -> String {
        format!("{}:s:{{{sid}}}", self.inner.prefix)
    }

    fn connection(&self) -> Connection {
        // Clones share the multiplexed connection (or the cluster's): this is a reference count.
        self.inner.connection.clone()
    }

    /// The connection revocations are made on: the one that waits for replicas, if set.
    fn revoking_connection(&self) -> Connection {
        match &self.inner.durable {
            Some(durable) => durable.connection.clone(),
            None => self.connection(),
        }
    }

    async fn bounded<T>(
        &self,
        op: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        bounded(self.inner.timeout, op).await
    }

    /// With [`wait_for_replicas`](RedisStoreBuilder::wait_for_replicas) set, waits until the
    /// replicas have every write made so far on the revoking connection.
    async fn replicate(&self) -> Result<(), StoreError> {
        let Some(durable) = &self.inner.durable else {
            return Ok(());
        };
        let replicas = durable.replicas;
        let millis = u64::try_from(durable.wait.as_millis()).unwrap_or(u64::MAX);
        let acked: i64 = ::redis::cmd("WAIT")
            .arg(replicas)
            .arg(millis)
            .query_async(&mut durable.connection.clone())
            .await
            .map_err(store_error)?;
        if acked < i64::from(replicas) {
            return Err(StoreError::new(
                StoreErrorKind::Unavailable,
                format!("the revocation reached {acked} of {replicas} replicas in time"),
            ));
        }
        Ok(())
    }

    async fn revoke_key(
        &self,
        connection: &mut Connection,
        key: String,
        now: u64,
    ) -> Result<bool, StoreError> {
        let revoked: i64 = REVOKE
            .key(key)
            .arg(now)
            .invoke_async(connection)
            .await
            .map_err(store_error)?;
        Ok(revoked == 1)
    }
}

/// Reads the stamp at `fields[0..3]` (jti, iat, exp) of a refresh script's reply.
fn stamp(fields: &[String]) -> Result<TokenStamp, StoreError> {
    match fields {
        [jti, iat, exp] => Ok(TokenStamp {
            jti: parse_jti(jti)?,
            iat: parse_u64(iat)?,
            exp: parse_u64(exp)?,
        }),
        _ => Err(corrupt("a refresh reply is incomplete")),
    }
}

impl PairStore for RedisStore {
    async fn create_session(&self, session: NewSession) -> Result<(), StoreError> {
        self.bounded(async {
            let (access, refresh) = (recorded(session.access()), recorded(session.refresh()));
            // As in the memory store, a session is created at its first token's issue time.
            let (now, end) = (session.access().iat, refresh.exp);
            let ttl = ttl_ms(now, end);
            if ttl == 0 {
                // Over before it began: it could only ever be unknown, so nothing is kept.
                return Ok(());
            }
            let mut connection = self.connection();
            let sid = session.session_id().to_string();
            let index = self.subject_key(session.subject());
            // Index first: a live session is never unindexed, so "log out everywhere" reaches it
            // (see "Redis Cluster" in the module docs). A failure in between leaves only an
            // index entry that points nowhere, pruned when it ends.
            let over_limit: Vec<(String, f64)> = INDEX
                .key(&index)
                .arg(now)
                .arg(end)
                .arg(&sid)
                .arg(ttl)
                .arg(session.subject_limit())
                .invoke_async(&mut connection)
                .await
                .map_err(store_error)?;
            let created: i64 = CREATE
                .key(self.session_key_text(&sid))
                .arg(&**session.subject())
                .arg(access.jti.to_string())
                .arg(access.iat)
                .arg(access.exp)
                .arg(refresh.jti.to_string())
                .arg(refresh.iat)
                .arg(refresh.exp)
                .arg(ttl)
                .invoke_async(&mut connection)
                .await
                .map_err(store_error)?;
            if created != 1 {
                return Err(StoreError::from_kind(StoreErrorKind::Conflict));
            }
            if !over_limit.is_empty() {
                self.revoke_indexed(&index, over_limit, now).await?;
            }
            Ok(())
        })
        .await
    }

    async fn check_access(
        &self,
        sid: SessionId,
        jti: TokenId,
        now: u64,
    ) -> Result<AccessCheck, StoreError> {
        self.bounded(async {
            let (revoked, end, access): (Option<String>, Option<String>, Option<String>) =
                ::redis::cmd("HMGET")
                    .arg(self.session_key(sid))
                    .arg("rev")
                    .arg("re")
                    .arg("aj")
                    .query_async(&mut self.connection())
                    .await
                    .map_err(store_error)?;
            // The same order as SessionRecord::check_access, and the one rule for the flag:
            // live only when it reads exactly "0" (a tombstone holds the flag alone).
            let Some(revoked) = revoked else {
                return Ok(AccessCheck::Unknown);
            };
            if revoked != "0" {
                return Ok(AccessCheck::Revoked);
            }
            let (Some(end), Some(access)) = (end, access) else {
                return Err(corrupt("a stored session is incomplete"));
            };
            Ok(if now >= parse_u64(&end)? {
                AccessCheck::Unknown
            } else if parse_jti(&access)? == jti {
                // TokenId's equality is constant-time.
                AccessCheck::Current
            } else {
                AccessCheck::Superseded
            })
        })
        .await
    }

    async fn refresh(&self, request: RefreshRequest) -> Result<RefreshOutcome, StoreError> {
        self.bounded(async {
            let mut connection = self.connection();
            let mut invocation = REFRESH.key(self.session_key(request.sid));
            let new_access = recorded(request.new_access);
            invocation
                .arg(request.refresh_jti.to_string())
                .arg(request.now)
                .arg(new_access.jti.to_string())
                .arg(new_access.iat)
                .arg(new_access.exp);
            match request.new_refresh.map(recorded) {
                Some(refresh) => invocation
                    .arg(refresh.jti.to_string())
                    .arg(refresh.iat)
                    .arg(refresh.exp),
                None => invocation.arg("").arg("").arg(""),
            };
            invocation
                .arg(request.grace)
                .arg(request.leeway)
                .arg(if request.theft_detection { "1" } else { "0" })
                // As SessionRecord records it: zero there means "never refreshed".
                .arg(secs32(request.now).max(1));
            let reply: Vec<String> = invocation
                .invoke_async(&mut connection)
                .await
                .map_err(store_error)?;
            let rotation = request.new_refresh.is_some();
            let outcome = match reply.first().map(String::as_str) {
                Some(code @ ("G" | "R")) if reply.len() == 7 => RefreshOutcome::Granted {
                    access: stamp(&reply[1..4])?,
                    refresh: if rotation {
                        Some(stamp(&reply[4..7])?)
                    } else {
                        None
                    },
                    replayed: code == "R",
                },
                Some("T") => RefreshOutcome::TheftDetected,
                Some("U") => RefreshOutcome::ReuseDetected,
                Some("X") => RefreshOutcome::Revoked,
                Some("N") => RefreshOutcome::Unknown,
                _ => return Err(corrupt("a stored session is incomplete")),
            };
            let revoked = matches!(
                outcome,
                RefreshOutcome::TheftDetected | RefreshOutcome::ReuseDetected
            );
            if revoked && self.inner.durable.is_some() {
                let _: i64 = MARK
                    .key(self.session_key(request.sid))
                    .invoke_async(&mut self.revoking_connection())
                    .await
                    .map_err(store_error)?;
                self.replicate().await?;
            }
            Ok(outcome)
        })
        .await
    }

    async fn revoke_session(&self, sid: SessionId, now: u64) -> Result<bool, StoreError> {
        self.bounded(async {
            let revoked = self
                .revoke_key(&mut self.revoking_connection(), self.session_key(sid), now)
                .await?;
            if revoked {
                self.replicate().await?;
            }
            Ok(revoked)
        })
        .await
    }

    async fn revoke_subject(&self, subject: &str, now: u64) -> Result<usize, StoreError> {
        let index = self.subject_key(subject);
        let mut revoked = 0;
        // Page by page, each bounded by the timeout and kept once done: revoked sessions leave
        // the index, so a call that fails part way leaves fewer for the next one.
        loop {
            let page: Vec<(String, f64)> = self
                .bounded(async {
                    // Scores are doubles, rounded above 2^53, so the read takes `end >= now`
                    // (which rounding never loses an unexpired session from) and the revoke
                    // script decides `now < end` exactly.
                    ::redis::cmd("ZRANGEBYSCORE")
                        .arg(&index)
                        .arg(now)
                        .arg("+inf")
                        .arg("WITHSCORES")
                        .arg("LIMIT")
                        .arg(0)
                        .arg(REVOKE_PAGE)
                        .query_async(&mut self.revoking_connection())
                        .await
                        .map_err(store_error)
                })
                .await?;
            if page.is_empty() {
                return Ok(revoked);
            }
            revoked += self.bounded(self.revoke_indexed(&index, page, now)).await?;
        }
    }
}

impl RedisStore {
    /// Revokes the indexed sessions `members` (ids with their ends), all in flight at once,
    /// then removes them from the subject index `index`; returns how many were live. A member
    /// whose session is missing gets a tombstone (see `revoke.lua`).
    async fn revoke_indexed(
        &self,
        index: &str,
        members: Vec<(String, f64)>,
        now: u64,
    ) -> Result<usize, StoreError> {
        let mut tasks = tokio::task::JoinSet::new();
        let mut ids = Vec::with_capacity(members.len());
        for (sid, end) in members {
            SessionId::from_str(&sid).map_err(|_| corrupt("an indexed session id is malformed"))?;
            // Saturating: a score is at most a u64 written as a double.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let ttl = ttl_ms(now, end as u64);
            let (store, key) = (self.clone(), self.session_key_text(&sid));
            tasks.spawn(async move {
                let revoked: i64 = REVOKE
                    .key(key)
                    .arg(now)
                    .arg(ttl)
                    .invoke_async(&mut store.revoking_connection())
                    .await
                    .map_err(store_error)?;
                Ok::<_, StoreError>(revoked == 1)
            });
            ids.push(sid);
        }
        let mut revoked = 0;
        while let Some(result) = tasks.join_next().await {
            let was_live =
                result.map_err(|e| StoreError::new(StoreErrorKind::Unavailable, e))??;
            revoked += usize::from(was_live);
        }
        let _: i64 = ::redis::cmd("ZREM")
            .arg(index)
            .arg(&ids)
            .query_async(&mut self.revoking_connection())
            .await
            .map_err(store_error)?;
        if revoked > 0 {
            self.replicate().await?;
        }
        Ok(revoked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_redacted_in_debug_output() {
        for url in [
            "redis://:hunter2@127.0.0.1",
            "redis+unix:///run/redis.sock?user=app&pass=hunter2",
        ] {
            let builder = RedisStore::builder(url);
            assert!(!format!("{builder:?}").contains("hunter2"), "{url}");
            let cluster = RedisStore::cluster_builder([url]);
            assert!(!format!("{cluster:?}").contains("hunter2"), "{url}");
        }
    }

    #[test]
    fn ttl_is_the_remaining_lifetime_and_never_absurd() {
        assert_eq!(ttl_ms(100, 160), 60_000);
        assert_eq!(ttl_ms(200, 160), 0);
        assert_eq!(ttl_ms(0, u64::MAX), MAX_TTL_MS);
    }
}
