//! The Redis [`PairStore`]: [`RedisStore`], behind the `redis` cargo feature.
//!
//! Everything a user needs (key layout, TTLs, the Lua steps, cluster hash tags, failure
//! behaviour and timeouts) is documented on [`RedisStore`], where rustdoc shows it; this module
//! is private. `builder.rs` connects, `connection.rs` speaks to one Redis or a cluster alike,
//! `values.rs` writes and reads the stored values, `pair_store.rs` implements the trait, the near
//! cache is `near_cache.rs` and `tracking.rs` (around the store-independent copy in
//! `store/near_cache.rs`), and the scripts are the `*.lua` files beside them, each prefixed with
//! `lib.lua`.

use std::fmt;
use std::future::Future;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use ::redis::Script;

use super::near_cache::{NearCache, NearCacheStats};
#[cfg(doc)]
use super::{NewSession, PairStore};
use super::{StoreError, StoreErrorKind};
use crate::SessionId;

/// The version of the key layout, in every key name: an incompatible layout gets new keys.
const KEYS_VERSION: &str = "v1";
/// The version of a session hash's fields, in its `v` field: a reader refuses any other.
const FORMAT: &str = "1";
/// The default key prefix.
const DEFAULT_PREFIX: &str = "tjwt";
/// Sessions revoked per step of "log out everywhere".
const REVOKE_PAGE: usize = 1_000;
/// The default bound on one store call.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);
/// Longest pause between reconnection attempts: Redis coming back is noticed within about this.
const MAX_RECONNECT_DELAY: Duration = Duration::from_secs(1);

/// Every session key starts with this: `<prefix>:v1:s:`.
fn session_key_prefix(prefix: &str) -> String {
    format!("{prefix}:{KEYS_VERSION}:s:")
}

fn script(body: &str) -> Script {
    Script::new(&[include_str!("lib.lua"), body].concat())
}

mod builder;
mod connection;
mod near_cache;
mod pair_store;
mod tracking;
mod values;

pub use builder::RedisStoreBuilder;
use builder::Target;
use connection::{Connection, Durable};

static CREATE: LazyLock<Script> = LazyLock::new(|| script(include_str!("create.lua")));
static INDEX: LazyLock<Script> = LazyLock::new(|| script(include_str!("index.lua")));
static REFRESH: LazyLock<Script> = LazyLock::new(|| script(include_str!("refresh.lua")));
static REVOKE: LazyLock<Script> = LazyLock::new(|| script(include_str!("revoke.lua")));
static MARK: LazyLock<Script> = LazyLock::new(|| script(include_str!("mark.lua")));

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
/// use tower_jwt_auth::JwtSessions;
/// use tower_jwt_auth::store::RedisStore;
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
/// # TLS and ACL users
///
/// A `rediss://` URL connects over TLS (rustls on aws-lc-rs), the server's certificate checked
/// against the platform's root certificates, or against your CA with
/// [`ca_certificate`](RedisStoreBuilder::ca_certificate); a certificate no trusted CA signed,
/// or one for another host, fails [`build`](RedisStoreBuilder::build) saying so. An ACL user and
/// password go in the URL (`rediss://app:secret@redis.internal:6380`); the user needs the
/// store's keys (`~<prefix>:*`), `EVALSHA`/`SCRIPT`, and for the near cache `CLIENT TRACKING`,
/// `HELLO` and `PING`. `build` sends a `PING`, so a wrong password or a user without rights fails
/// there, in Redis's words. The near cache's tracking connections and a cluster's nodes use the
/// same TLS settings and credentials. (Should your build enable rustls's `ring` provider as well
/// as aws-lc-rs, install one as rustls's process default before building a `rediss://` store: the
/// redis crate takes the default.)
///
/// ```no_run
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use tower_jwt_auth::store::RedisStore;
///
/// let store = RedisStore::builder("rediss://app:secret@redis.internal:6380")
///     .ca_certificate(std::fs::read("/etc/ssl/internal-ca.pem")?)
///     .near_cache(100_000)
///     .build()
///     .await?;
/// # let _ = store; Ok(()) }
/// ```
///
/// # Key layout
///
/// | key | type | holds |
/// | --- | --- | --- |
/// | `<prefix>:v1:s:{<sid>}` | hash | one session: `v` (the field layout's version, `1`), `sub`, `rev` (`0`/`1`), the current access token's `aj`/`ai`/`ae` (jti, iat, exp), the current refresh token's `rj`/`ri`/`re`, the rotated-out refresh jti `pj` and the last refresh time `at` (`""` when none) |
/// | `<prefix>:v1:u:{<subject>}` | sorted set | the subject's session ids, scored by session end |
///
/// Both the key names (`v1`) and the hash (`v`) carry a version. A compatible change (a field
/// added, which older readers ignore) keeps both, so two versions of the crate can share a
/// store during a rolling deploy; an incompatible one gets new key names, so it never misreads
/// an older record (its sessions then start empty), and a reader refuses a hash of a `v` it
/// does not know (`503`, never a guess).
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
/// - An **access check** is a single `HMGET` (read only; no script needed), or, with the
///   [near cache](RedisStoreBuilder::near_cache) holding the session, no round trip at all.
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
    near: Option<Arc<NearCache>>,
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

    /// The [near cache](RedisStoreBuilder::near_cache)'s counters, if it is on.
    ///
    /// ```no_run
    /// # async fn run(store: tower_jwt_auth::store::RedisStore) {
    /// if let Some(stats) = store.near_cache_stats() {
    ///     // Not trusted: every check goes to Redis until tracking is established again.
    ///     println!("trusted: {}, answered locally: {}", stats.trusted, stats.hits);
    /// }
    /// # }
    /// ```
    #[must_use]
    pub fn near_cache_stats(&self) -> Option<NearCacheStats> {
        self.inner.near.as_deref().map(NearCache::stats)
    }

    /// The key prefix.
    #[must_use]
    pub fn prefix(&self) -> &str {
        &self.inner.prefix
    }

    /// The bound on each store call.
    #[must_use]
    pub fn timeout(&self) -> Duration {
        self.inner.timeout
    }

    /// The key of session `sid`'s hash, for tests and benchmarks that look into Redis; see
    /// the key layout on [`RedisStore`].
    #[cfg(feature = "test-util")]
    #[doc(hidden)]
    #[must_use]
    pub fn session_key(&self, sid: SessionId) -> String {
        self.hash_key(sid)
    }

    /// The key of `subject`'s session index, for tests that look into Redis.
    #[cfg(feature = "test-util")]
    #[doc(hidden)]
    #[must_use]
    pub fn subject_key(&self, subject: &str) -> String {
        self.index_key(subject)
    }

    /// The key of session `sid`'s hash (`sid` as an id or as its text): `<prefix>:v1:s:{<sid>}`.
    fn hash_key(&self, sid: impl fmt::Display) -> String {
        format!("{}{{{sid}}}", session_key_prefix(&self.inner.prefix))
    }

    /// The key of `subject`'s session index: `<prefix>:v1:u:{<subject>}`.
    fn index_key(&self, subject: &str) -> String {
        format!("{}:{KEYS_VERSION}:u:{{{subject}}}", self.inner.prefix)
    }

    fn near(&self) -> Option<&NearCache> {
        self.inner.near.as_deref()
    }

    /// Forgets `sid` in the near cache: this server just changed it.
    fn forget(&self, sid: SessionId) {
        if let Some(near) = self.near() {
            near.invalidate(sid);
        }
    }

    async fn bounded<T>(
        &self,
        op: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        bounded(self.inner.timeout, op).await
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
            "redis://:pa?hunter2@127.0.0.1",
            "redis://app:pa#hunter2@127.0.0.1",
            "redis://:pa@hunter2/x@127.0.0.1",
        ] {
            let builder = RedisStore::builder(url);
            assert!(!format!("{builder:?}").contains("hunter2"), "{url}");
            let cluster = RedisStore::cluster_builder([url]);
            assert!(!format!("{cluster:?}").contains("hunter2"), "{url}");
        }
    }

    #[tokio::test]
    async fn startup_errors_name_no_credentials() {
        // Nothing listens on port 1: each fails, parsed or not.
        for url in [
            "redis://:pa?hunter2@127.0.0.1:1",
            "redis://:pa#hunter2@127.0.0.1:1",
            "redis://:pa/hunter2@127.0.0.1:1",
            "redis://:pa@hunter2@127.0.0.1:1",
        ] {
            let error = RedisStore::builder(url)
                .timeout(Duration::from_millis(200))
                .build()
                .await
                .expect_err("nothing to connect to");
            assert!(
                error
                    .to_string()
                    .contains("Redis at redis://***@127.0.0.1:1"),
                "{error}"
            );
            assert!(!error.to_string().contains("hunter2"), "{error}");
        }
    }
}
