//! [`RemoteKeys`]: an identity provider's signing keys, fetched by OpenID discovery or from a
//! JWKS URL, kept fresh in the background and swapped without a lock on the request path.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use http::Uri;
use http::header::CACHE_CONTROL;
use jsonwebtoken::jwk::JwkSet;

use self::discovery::{discovery_uri, parse_uri};
use self::table::KeyTable;
use super::error::{KeySourceError, KeySourceErrorKind};
use super::fetch::HttpClient;

mod builder;
mod discovery;
mod table;

pub use builder::RemoteKeysBuilder;

/// Where the keys come from.
#[derive(Debug, Clone)]
enum Source {
    /// `{issuer}/.well-known/openid-configuration`, then its `jwks_uri`.
    Discovery(String),
    Jwks(Uri),
    /// Given once, never fetched.
    Fixed,
}

/// How often keys are fetched.
#[derive(Debug, Clone, Copy)]
struct Timing {
    min_refresh: Duration,
    max_refresh: Duration,
    default_refresh: Duration,
    unknown_kid_interval: Duration,
    retry: Duration,
}

/// The state every clone of a [`RemoteKeys`] shares with its background task.
struct Shared {
    source: Source,
    /// None for a fixed key set, which is never fetched.
    client: Option<HttpClient>,
    timing: Timing,
    table: ArcSwapOption<KeyTable>,
    jwks_uri: Mutex<Option<Uri>>,
    /// One fetch at a time, whoever asks: the background task or an unknown `kid`.
    fetching: tokio::sync::Mutex<()>,
    /// Bumped by every key set swapped in.
    generation: AtomicU64,
    /// When an unknown `kid` last caused a fetch.
    last_unknown_kid_fetch: Mutex<Option<Instant>>,
    fetches: AtomicU64,
}

/// An identity provider's signing keys, fetched by OpenID discovery
/// ([`discover`](Self::discover)) or from a JWKS URL ([`jwks`](Self::jwks)).
///
/// - The key set in use is swapped atomically: a request reads it without a lock.
/// - A background task fetches it again before the cached copy expires: after three quarters of
///   the response's `Cache-Control: max-age`, held within
///   [`refresh_bounds`](RemoteKeysBuilder::refresh_bounds) (default 1 minute to 1 day; 5 minutes
///   without `max-age`). A failed fetch keeps the keys in use and is retried, sooner at first.
/// - A token naming an unknown `kid` triggers a fetch, but at most one at a time and at most one
///   per [`unknown_kid_interval`](RemoteKeysBuilder::unknown_kid_interval) (default 10 s), so a
///   flood of made-up `kid`s cannot make the service hammer the provider.
/// - Keys are parsed one by one: a key this crate cannot use is skipped with a warning.
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
        let table = KeyTable::from_jwk_set(set)?;
        let keys = RemoteKeysBuilder::new(Ok(Source::Fixed)).shared();
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
    /// for an operator who knows a key was withdrawn.
    pub async fn refresh(&self) -> Result<(), KeySourceError> {
        self.shared.fetch().await.map(drop)
    }

    pub(crate) fn table(&self) -> arc_swap::Guard<Option<Arc<KeyTable>>> {
        self.shared.table.load()
    }

    pub(crate) fn generation(&self) -> u64 {
        self.shared.generation.load(Ordering::Acquire)
    }

    /// After a token named a `kid` the set of generation `seen` lacks: fetches again, unless
    /// another fetch swapped a set in meanwhile or an unknown `kid` caused one too recently.
    pub(crate) async fn refetch_for_unknown_kid(&self, seen: u64) {
        let shared = &self.shared;
        if matches!(shared.source, Source::Fixed) {
            return;
        }
        let _one = shared.fetching.lock().await;
        if shared.generation.load(Ordering::Acquire) != seen {
            return;
        }
        {
            let mut last = shared
                .last_unknown_kid_fetch
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if last.is_some_and(|at| at.elapsed() < shared.timing.unknown_kid_interval) {
                return;
            }
            *last = Some(Instant::now());
        }
        if let Err(error) = shared.fetch_locked().await {
            tracing::warn!(target: "tower_jwt_auth", %error, "fetching keys for an unknown kid failed");
        }
    }
}

impl Shared {
    async fn fetch(&self) -> Result<Duration, KeySourceError> {
        let _one = self.fetching.lock().await;
        self.fetch_locked().await
    }

    /// Fetches and swaps in the key set; returns how long it may be kept.
    async fn fetch_locked(&self) -> Result<Duration, KeySourceError> {
        let uri = self.jwks_uri().await?;
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let fetched = self.get(uri).await?;
        let table = KeyTable::parse(&fetched.body)?;
        if table.is_empty() {
            // An empty set would refuse every token; the keys in use stay.
            return Err(KeySourceError::new(
                KeySourceErrorKind::InvalidDocument,
                "the JWK Set holds no usable signing key",
            ));
        }
        self.table.store(Some(Arc::new(table)));
        self.generation.fetch_add(1, Ordering::AcqRel);
        let keep = max_age(&fetched.headers).unwrap_or(self.timing.default_refresh);
        Ok(keep.clamp(self.timing.min_refresh, self.timing.max_refresh))
    }

    async fn get(&self, uri: Uri) -> Result<super::fetch::Fetched, KeySourceError> {
        let Some(client) = &self.client else {
            return Err(KeySourceError::new(
                KeySourceErrorKind::InvalidSettings,
                "a fixed key set is never fetched",
            ));
        };
        let fetched = client.get(uri.clone()).await.map_err(|e| {
            KeySourceError::new(
                KeySourceErrorKind::Unreachable,
                format!("cannot fetch {uri}"),
            )
            .with_boxed_source(e)
        })?;
        if !fetched.status.is_success() {
            return Err(KeySourceError::new(
                KeySourceErrorKind::Unreachable,
                format!("{uri} answered {}", fetched.status),
            ));
        }
        Ok(fetched)
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
        let fetched = self.get(discovery_uri(issuer)?).await?;
        let uri = discovery::jwks_uri(&fetched.body, issuer)?;
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
        wait = Some(match keys.fetch().await {
            // Refreshed before the cached copy expires.
            Ok(keep) => {
                failures = 0;
                keep * 3 / 4
            }
            Err(error) => {
                tracing::warn!(target: "tower_jwt_auth", %error, "fetching keys failed; retrying");
                failures = failures.saturating_add(1);
                let backoff = keys.timing.retry * 2u32.saturating_pow(failures.min(16) - 1);
                backoff.min(Duration::from_secs(60)).max(keys.timing.retry)
            }
        });
    }
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
}
