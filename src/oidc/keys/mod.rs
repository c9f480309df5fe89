//! [`RemoteKeys`]: an identity provider's signing keys, fetched by OpenID discovery or from a
//! JWKS URL, kept fresh in the background and swapped without a lock on the request path; one
//! fetch at a time, bounded in time, with no lock held while it runs.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use http::Uri;
use http::header::CACHE_CONTROL;
use jsonwebtoken::jwk::JwkSet;

use self::discovery::{discovery_uri, parse_uri};
use self::flight::{Asker, Flight, Flights};
use super::error::{KeySourceError, KeySourceErrorKind};
use super::fetch::{Fetched, Fetcher};

mod builder;
mod discovery;
mod flight;
mod table;

pub use builder::RemoteKeysBuilder;
pub(crate) use table::{Key, KeyTable};

/// The longest wait between two attempts after failed fetches, unless the retry interval is
/// longer.
const MAX_RETRY: Duration = Duration::from_secs(60);

/// Where the keys come from.
#[derive(Debug, Clone)]
enum Source {
    /// `{issuer}/.well-known/openid-configuration`, then its `jwks_uri`.
    Discovery(String),
    Jwks(Uri),
    /// Given once, never fetched.
    Fixed,
}

/// How often keys are fetched, and how long a request waits for them.
#[derive(Debug, Clone, Copy)]
struct Timing {
    min_refresh: Duration,
    max_refresh: Duration,
    default_refresh: Duration,
    unknown_kid_interval: Duration,
    unknown_kid_wait: Duration,
    retry: Duration,
}

/// The state every clone of a [`RemoteKeys`] shares with its background task.
struct Shared {
    source: Source,
    /// None for a fixed key set, which is never fetched.
    client: Option<Fetcher>,
    timing: Timing,
    /// Whether the discovery document of an `https://` issuer may name an `http://` key set.
    insecure_jwks_uri: bool,
    table: ArcSwapOption<KeyTable>,
    jwks_uri: Mutex<Option<Uri>>,
    flights: Flights,
    /// Bumped by every key set swapped in.
    generation: AtomicU64,
    fetches: AtomicU64,
}

/// An identity provider's signing keys, fetched by OpenID discovery
/// ([`discover`](Self::discover)) or from a JWKS URL ([`jwks`](Self::jwks)).
///
/// - The key set in use is swapped atomically: a request reads it without a lock.
/// - Every request to the provider is bounded in time: connecting within
///   [`connect_timeout`](RemoteKeysBuilder::connect_timeout) (default 5 s), the whole response
///   within [`timeout`](RemoteKeysBuilder::timeout) (default 10 s), or it fails with
///   [`KeySourceErrorKind::TimedOut`].
/// - One fetch at a time, whoever asks (the background task, [`refresh`](Self::refresh), an
///   unknown `kid`): the others wait for it to end, and no lock is held while it runs.
/// - A background task fetches the key set again before the cached copy expires: after three
///   quarters of the response's `Cache-Control: max-age`, held within
///   [`refresh_bounds`](RemoteKeysBuilder::refresh_bounds) (default 1 minute to 1 day; 5 minutes
///   without `max-age`). A failed fetch keeps the keys in use and is retried after
///   [`retry_interval`](RemoteKeysBuilder::retry_interval), doubled after each further failure
///   up to a minute.
/// - A token naming an unknown `kid` triggers a fetch, but at most one per
///   [`unknown_kid_interval`](RemoteKeysBuilder::unknown_kid_interval) (default 10 s), so a
///   flood of made-up `kid`s cannot make the service hammer the provider. Its request waits for
///   that fetch at most [`unknown_kid_wait`](RemoteKeysBuilder::unknown_kid_wait) (default 2 s),
///   then is refused as naming an unknown key while the fetch goes on; a request naming a known
///   key never waits.
/// - Keys are parsed one by one: a key this crate cannot use is skipped with a warning.
/// - The discovery document of an `https://` issuer must name an `https://` key set, unless
///   [`allow_insecure_jwks_uri`](RemoteKeysBuilder::allow_insecure_jwks_uri).
/// - A provider that is down at start does not stop the service from starting: until the first
///   key set arrives, requests get `503` with `Retry-After`, unless
///   [`require_at_start`](RemoteKeysBuilder::require_at_start) makes start-up fail instead.
///
/// Clones share the keys and the one background task, which ends with the last clone.
///
/// ```no_run
/// # async fn run() -> Result<(), tower_jwt_auth::oidc::KeySourceError> {
/// use std::time::Duration;
/// use tower_jwt_auth::oidc::RemoteKeys;
///
/// let keys = RemoteKeys::discover("https://idp.example.com/realms/main")
///     .unknown_kid_interval(Duration::from_secs(30))
///     .build()
///     .await?;
/// # let _ = keys; Ok(()) }
/// ```
#[derive(Clone)]
pub struct RemoteKeys {
    shared: Arc<Shared>,
}

impl fmt::Debug for RemoteKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteKeys")
            .field("source", &self.shared.source)
            .field("kids", &self.kids())
            .field("fetches", &self.fetches())
            .finish()
    }
}

impl RemoteKeys {
    /// Keys of the OpenID provider `issuer`, found through its discovery document
    /// (`{issuer}/.well-known/openid-configuration`, whose `issuer` must match) and its
    /// `jwks_uri`.
    pub fn discover(issuer: impl Into<String>) -> RemoteKeysBuilder {
        let issuer = issuer.into();
        let source = discovery_uri(&issuer).map(|_| Source::Discovery(issuer));
        RemoteKeysBuilder::new(source)
    }

    /// Keys of the JWK Set at `url`.
    pub fn jwks(url: impl AsRef<str>) -> RemoteKeysBuilder {
        RemoteKeysBuilder::new(parse_uri(url.as_ref()).map(Source::Jwks))
    }

    /// A key set given once and never fetched: the same request path as fetched keys, for keys
    /// you distribute yourself (and for tests and benchmarks).
    pub fn from_jwk_set(set: &JwkSet) -> Result<Self, KeySourceError> {
        let keys = RemoteKeysBuilder::new(Ok(Source::Fixed)).shared();
        let table = KeyTable::from_jwk_set(set)?.with_epoch(keys.next_generation());
        keys.table.store(Some(Arc::new(table)));
        keys.generation.fetch_add(1, Ordering::Release);
        Ok(Self { shared: keys })
    }

    /// The `kid`s of the key set in use, sorted; empty before the first one arrived.
    #[must_use]
    pub fn kids(&self) -> Vec<String> {
        self.shared
            .table
            .load()
            .as_ref()
            .map(|table| table.kids())
            .unwrap_or_default()
    }

    /// Whether a key set has arrived.
    #[must_use]
    pub fn is_ready(&self) -> bool {
        self.shared.table.load().is_some()
    }

    /// How many times the key set was fetched (discovery documents not counted).
    #[must_use]
    pub fn fetches(&self) -> u64 {
        self.shared.fetches.load(Ordering::Relaxed)
    }

    /// Fetches the key set now (after the fetch under way, if one is), whatever the schedule:
    /// for an operator who knows a key was withdrawn. Bounded by the timeouts, as every fetch.
    pub async fn refresh(&self) -> Result<(), KeySourceError> {
        let shared = &self.shared;
        // A fetch started before this call may have read the key set before the change.
        let before = shared.flights.started();
        loop {
            let number = shared.join_or_start(Asker::Owner);
            let outcome = shared.flights.ended(number).await;
            if number > before {
                return outcome.map(drop);
            }
        }
    }

    pub(crate) fn table(&self) -> arc_swap::Guard<Option<Arc<KeyTable>>> {
        self.shared.table.load()
    }

    pub(crate) fn generation(&self) -> u64 {
        self.shared.generation.load(Ordering::Acquire)
    }

    /// After a token named a `kid` the set of generation `seen` lacks: waits, at most the
    /// unknown-`kid` wait, for the fetch under way or for one started now — unless another
    /// fetch swapped a set in meanwhile or an unknown `kid` started one too recently.
    pub(crate) async fn refetch_for_unknown_kid(&self, seen: u64) {
        let shared = &self.shared;
        if matches!(shared.source, Source::Fixed)
            || shared.generation.load(Ordering::Acquire) != seen
        {
            return;
        }
        let interval = shared.timing.unknown_kid_interval;
        let number = shared.join_or_start(Asker::UnknownKid { interval });
        let waited =
            tokio::time::timeout(shared.timing.unknown_kid_wait, shared.flights.ended(number));
        if waited.await.is_err() {
            tracing::debug!(target: "tower_jwt_auth",
                "the fetch for an unknown kid goes on past the wait; the token is refused");
        }
    }
}

impl Shared {
    /// The generation the next key set swapped in will have. Key sets are swapped in by one
    /// fetch at a time (or once, for a fixed set), so no other set gets it.
    fn next_generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire) + 1
    }

    /// Fetches the key set, or waits for the fetch under way; returns how long it may be kept.
    async fn fetch(self: &Arc<Self>) -> Result<Duration, KeySourceError> {
        let number = self.join_or_start(Asker::Owner);
        self.flights.ended(number).await
    }

    /// The number of the fetch to wait for: the one under way, or one started now in a task of
    /// its own, which ends (within the timeouts) even if no one waits for it any more.
    fn join_or_start(self: &Arc<Self>, asker: Asker) -> u64 {
        match self.flights.join_or_start(asker) {
            Flight::Wait(number) => number,
            Flight::Run(ticket) => {
                let number = ticket.number();
                let shared = Arc::clone(self);
                tokio::spawn(async move {
                    let outcome = shared.fetch_now().await;
                    if let Err(error) = &outcome {
                        tracing::warn!(target: "tower_jwt_auth", %error, "fetching keys failed");
                    }
                    ticket.end(outcome);
                });
                number
            }
        }
    }

    /// Fetches and swaps in the key set; returns how long it may be kept.
    async fn fetch_now(&self) -> Result<Duration, KeySourceError> {
        let uri = self.jwks_uri().await?;
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let fetched = self.get(&uri).await?;
        let table = KeyTable::parse(&fetched.body)?;
        if table.is_empty() {
            // An empty set would refuse every token; the keys in use stay.
            return Err(KeySourceError::new(
                KeySourceErrorKind::InvalidDocument,
                "the JWK Set holds no usable signing key",
            ));
        }
        let table = table.with_epoch(self.next_generation());
        self.table.store(Some(Arc::new(table)));
        self.generation.fetch_add(1, Ordering::AcqRel);
        let keep = max_age(&fetched.headers).unwrap_or(self.timing.default_refresh);
        Ok(keep.clamp(self.timing.min_refresh, self.timing.max_refresh))
    }

    async fn get(&self, uri: &Uri) -> Result<Fetched, KeySourceError> {
        match &self.client {
            Some(client) => client.get(uri).await,
            None => Err(KeySourceError::new(
                KeySourceErrorKind::InvalidSettings,
                "a fixed key set is never fetched",
            )),
        }
    }

    /// The JWKS URL: given, or read once from the discovery document.
    async fn jwks_uri(&self) -> Result<Uri, KeySourceError> {
        let issuer = match &self.source {
            Source::Jwks(uri) => return Ok(uri.clone()),
            Source::Fixed => {
                return Err(KeySourceError::new(
                    KeySourceErrorKind::InvalidSettings,
                    "a fixed key set is never fetched",
                ));
            }
            Source::Discovery(issuer) => issuer,
        };
        if let Some(uri) = self
            .jwks_uri
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
        {
            return Ok(uri);
        }
        let fetched = self.get(&discovery_uri(issuer)?).await?;
        let uri = discovery::jwks_uri(&fetched.body, issuer)?;
        if !self.insecure_jwks_uri {
            discovery::refuse_plain_http(issuer, &uri)?;
        }
        *self.jwks_uri.lock().unwrap_or_else(PoisonError::into_inner) = Some(uri.clone());
        Ok(uri)
    }
}

/// Keeps the key set fresh until the last [`RemoteKeys`] is dropped.
async fn refresh_loop(shared: Weak<Shared>, first: Option<Duration>) {
    let mut wait = first;
    let mut failures = 0u32;
    loop {
        if let Some(wait) = wait {
            tokio::time::sleep(wait).await;
        }
        let Some(keys) = shared.upgrade() else {
            return;
        };
        wait = Some(if let Ok(keep) = keys.fetch().await {
            failures = 0;
            refresh_after(keep)
        } else {
            // The keys in use stay; the failure was logged where the fetch ran.
            failures = failures.saturating_add(1);
            let wait = backoff(keys.timing.retry, failures);
            tracing::debug!(target: "tower_jwt_auth", ?wait, "fetching keys again after a wait");
            wait
        });
    }
}

/// When to fetch again a key set that may be kept `keep`: three quarters of the way, so that
/// the next one arrives before the cached copy expires.
fn refresh_after(keep: Duration) -> Duration {
    keep / 4 * 3
}

/// The wait after `failures` failed fetches in a row: the retry interval, doubled after each
/// further failure up to a minute (or the interval itself, if longer).
fn backoff(retry: Duration, failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    retry
        .saturating_mul(1 << doublings)
        .min(MAX_RETRY)
        .max(retry)
}

/// `max-age` of a `Cache-Control` header, if any.
fn max_age(headers: &http::HeaderMap) -> Option<Duration> {
    headers
        .get_all(CACHE_CONTROL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .find_map(|directive| {
            let (name, value) = directive.trim().split_once('=')?;
            name.trim()
                .eq_ignore_ascii_case("max-age")
                .then(|| value.trim().trim_matches('"').parse().ok())
                .flatten()
                .map(Duration::from_secs)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_age_is_read_from_any_cache_control_directive() {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            CACHE_CONTROL,
            "public, max-age=120, must-revalidate".parse().unwrap(),
        );
        assert_eq!(max_age(&headers), Some(Duration::from_secs(120)));
        headers.insert(CACHE_CONTROL, "no-cache".parse().unwrap());
        assert_eq!(max_age(&headers), None);
    }

    #[test]
    fn retries_back_off_up_to_a_minute_and_never_overflow() {
        let second = Duration::from_secs(1);
        let waits: Vec<u64> = (1..=8).map(|f| backoff(second, f).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60]);
        let day = Duration::from_secs(86_400);
        assert_eq!(backoff(day, 5), day, "an interval over a minute is kept");
        assert_eq!(backoff(Duration::MAX, 3), Duration::MAX);
        assert_eq!(refresh_after(Duration::from_secs(300)).as_secs(), 225);
        assert_eq!(refresh_after(Duration::MAX), Duration::MAX / 4 * 3);
    }
}
