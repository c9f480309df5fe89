//! [`RemoteKeys`]: an identity provider's signing keys, fetched by OpenID discovery or from a
//! JWKS URL, kept fresh in the background and swapped without a lock on the request path.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use http::Uri;
use http::header::CACHE_CONTROL;
use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm, PublicKeyUse,
};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;

use super::error::{KeySourceError, KeySourceErrorKind};
use super::fetch::HttpClient;

/// One verification key and the one algorithm it accepts.
pub(crate) struct Key {
    pub(crate) decoding: DecodingKey,
    pub(crate) algorithm: Algorithm,
}

/// The usable keys of one key set, by `kid`.
#[derive(Default)]
pub(crate) struct KeyTable {
    by_kid: HashMap<String, Key>,
    /// The key of a set whose only key has no `kid`: tokens without a `kid` use it.
    unnamed: Option<Key>,
}

impl KeyTable {
    /// The usable keys of a JWK Set document, parsed one by one: a key this crate cannot use
    /// (an encryption key, an unsupported type or curve, a malformed entry) is skipped with a
    /// warning, never fatal to the others.
    fn parse(document: &[u8]) -> Result<Self, KeySourceError> {
        #[derive(Deserialize)]
        struct Document {
            keys: Vec<serde_json::Value>,
        }
        let document: Document = serde_json::from_slice(document).map_err(|e| {
            KeySourceError::new(
                KeySourceErrorKind::InvalidDocument,
                "the JWK Set is not JSON with a `keys` array",
            )
            .with_source(e)
        })?;
        let mut table = Self::default();
        let mut unnamed = Vec::new();
        for (index, value) in document.keys.into_iter().enumerate() {
            let jwk = match serde_json::from_value::<Jwk>(value) {
                Ok(jwk) => jwk,
                Err(error) => {
                    tracing::warn!(target: "tower_jwt_auth", index, %error,
                        "skipping a key of the JWK Set that cannot be read");
                    continue;
                }
            };
            match Self::key(&jwk) {
                Ok(key) => match jwk.common.key_id {
                    Some(kid) => {
                        table.by_kid.insert(kid, key);
                    }
                    None => unnamed.push(key),
                },
                Err(reason) => {
                    tracing::warn!(target: "tower_jwt_auth", index,
                        kid = jwk.common.key_id.as_deref().unwrap_or(""), reason,
                        "skipping a key of the JWK Set");
                }
            }
        }
        if table.by_kid.is_empty() && unnamed.len() == 1 {
            table.unnamed = unnamed.pop();
        }
        Ok(table)
    }

    fn from_jwk_set(set: &JwkSet) -> Result<Self, KeySourceError> {
        let json = serde_json::to_vec(set).map_err(|e| {
            KeySourceError::new(
                KeySourceErrorKind::InvalidDocument,
                "the JWK Set cannot be written",
            )
            .with_source(e)
        })?;
        Self::parse(&json)
    }

    /// The verification key of one JWK, with the algorithm it names or its type implies.
    fn key(jwk: &Jwk) -> Result<Key, &'static str> {
        if jwk.common.public_key_use == Some(PublicKeyUse::Encryption) {
            return Err("an encryption key");
        }
        let implied = match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => Algorithm::RS256,
            AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
                EllipticCurve::P256 => Algorithm::ES256,
                EllipticCurve::P384 => Algorithm::ES384,
                _ => return Err("an unsupported elliptic curve"),
            },
            AlgorithmParameters::OctetKeyPair(_) => Algorithm::EdDSA,
            // A shared secret is never published by a provider worth trusting.
            AlgorithmParameters::OctetKey(_) => return Err("a symmetric key"),
            _ => return Err("an unsupported key type"),
        };
        let algorithm = match jwk.common.key_algorithm {
            None => implied,
            Some(named) => signing_algorithm(named).ok_or("an algorithm that does not sign")?,
        };
        let decoding = DecodingKey::from_jwk(jwk).map_err(|_| "a key that cannot be decoded")?;
        Ok(Key {
            decoding,
            algorithm,
        })
    }

    pub(crate) fn get(&self, kid: Option<&str>) -> Option<&Key> {
        match kid {
            Some(kid) => self.by_kid.get(kid),
            None => self.unnamed.as_ref(),
        }
    }

    fn kids(&self) -> Vec<String> {
        let mut kids: Vec<String> = self.by_kid.keys().cloned().collect();
        kids.sort();
        kids
    }

    fn is_empty(&self) -> bool {
        self.by_kid.is_empty() && self.unnamed.is_none()
    }
}

fn signing_algorithm(named: KeyAlgorithm) -> Option<Algorithm> {
    Some(match named {
        KeyAlgorithm::RS256 => Algorithm::RS256,
        KeyAlgorithm::RS384 => Algorithm::RS384,
        KeyAlgorithm::RS512 => Algorithm::RS512,
        KeyAlgorithm::PS256 => Algorithm::PS256,
        KeyAlgorithm::PS384 => Algorithm::PS384,
        KeyAlgorithm::PS512 => Algorithm::PS512,
        KeyAlgorithm::ES256 => Algorithm::ES256,
        KeyAlgorithm::ES384 => Algorithm::ES384,
        KeyAlgorithm::EdDSA => Algorithm::EdDSA,
        _ => return None,
    })
}

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

/// Builds a [`RemoteKeys`]; made by [`RemoteKeys::discover`] and [`RemoteKeys::jwks`].
#[must_use = "a builder does nothing until `build` is called"]
#[derive(Debug)]
pub struct RemoteKeysBuilder {
    source: Result<Source, KeySourceError>,
    client: Option<HttpClient>,
    timing: Timing,
    require_at_start: bool,
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

impl RemoteKeysBuilder {
    fn new(source: Result<Source, KeySourceError>) -> Self {
        Self {
            source,
            client: None,
            timing: Timing {
                min_refresh: Duration::from_secs(60),
                max_refresh: Duration::from_secs(86_400),
                default_refresh: Duration::from_secs(300),
                unknown_kid_interval: Duration::from_secs(10),
                retry: Duration::from_secs(1),
            },
            require_at_start: false,
        }
    }

    /// The HTTP client (default [`HttpClient::default`]).
    pub fn http_client(mut self, client: HttpClient) -> Self {
        self.client = Some(client);
        self
    }

    /// The bounds within which `Cache-Control: max-age` sets the refresh (default 1 minute and
    /// 1 day).
    pub fn refresh_bounds(mut self, min: Duration, max: Duration) -> Self {
        self.timing.min_refresh = min;
        self.timing.max_refresh = max;
        self
    }

    /// How long a key set without `max-age` is kept (default 5 minutes), within the bounds.
    pub fn default_refresh(mut self, every: Duration) -> Self {
        self.timing.default_refresh = every;
        self
    }

    /// The least time between two fetches caused by unknown `kid`s (default 10 s).
    pub fn unknown_kid_interval(mut self, interval: Duration) -> Self {
        self.timing.unknown_kid_interval = interval;
        self
    }

    /// The wait after a failed fetch, doubled after each further failure up to a minute
    /// (default 1 s).
    pub fn retry_interval(mut self, retry: Duration) -> Self {
        self.timing.retry = retry;
        self
    }

    /// Fail [`build`](Self::build) if the first key set cannot be fetched (default off: the
    /// service starts, answers `503` and keeps trying).
    pub fn require_at_start(mut self, required: bool) -> Self {
        self.require_at_start = required;
        self
    }

    fn shared(self) -> Arc<Shared> {
        let source = self.source.unwrap_or(Source::Fixed);
        let client = match source {
            Source::Fixed => None,
            _ => Some(self.client.unwrap_or_default()),
        };
        Arc::new(Shared {
            source,
            client,
            timing: self.timing,
            table: ArcSwapOption::empty(),
            jwks_uri: Mutex::new(None),
            fetching: tokio::sync::Mutex::new(()),
            generation: AtomicU64::new(0),
            last_unknown_kid_fetch: Mutex::new(None),
            fetches: AtomicU64::new(0),
        })
    }

    /// Checks the settings, starts the background task (on the current tokio runtime) and,
    /// with [`require_at_start`](Self::require_at_start), waits for the first key set.
    pub async fn build(mut self) -> Result<RemoteKeys, KeySourceError> {
        let source = std::mem::replace(&mut self.source, Ok(Source::Fixed))?;
        let t = self.timing;
        if t.min_refresh.is_zero() || t.min_refresh > t.max_refresh || t.retry.is_zero() {
            return Err(KeySourceError::new(
                KeySourceErrorKind::InvalidSettings,
                format!(
                    "refresh bounds ({} s to {} s) and retry interval ({} ms) must be positive and ordered",
                    t.min_refresh.as_secs(),
                    t.max_refresh.as_secs(),
                    t.retry.as_millis()
                ),
            ));
        }
        self.source = Ok(source);
        let require = self.require_at_start;
        let shared = self.shared();
        // After a first fetch here, the task's first refresh comes as any other would.
        let first = if require {
            Some(shared.fetch().await? * 3 / 4)
        } else {
            None
        };
        tokio::spawn(refresh_loop(Arc::downgrade(&shared), first));
        Ok(RemoteKeys { shared })
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
        #[derive(Deserialize)]
        struct Discovery {
            issuer: String,
            jwks_uri: String,
        }
        let fetched = self.get(discovery_uri(issuer)?).await?;
        let document: Discovery = serde_json::from_slice(&fetched.body).map_err(|e| {
            KeySourceError::new(
                KeySourceErrorKind::InvalidDocument,
                "the discovery document is not JSON with `issuer` and `jwks_uri`",
            )
            .with_source(e)
        })?;
        // OpenID Connect Discovery §4.3: the document must name the issuer it was asked for.
        if document.issuer != *issuer {
            return Err(KeySourceError::new(
                KeySourceErrorKind::InvalidDocument,
                format!(
                    "the discovery document names issuer {:?}, not {issuer:?}",
                    document.issuer
                ),
            ));
        }
        let uri = parse_uri(&document.jwks_uri)?;
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

fn parse_uri(url: &str) -> Result<Uri, KeySourceError> {
    let uri: Uri = url.parse().map_err(|e| {
        KeySourceError::new(
            KeySourceErrorKind::InvalidUrl,
            format!("{url:?} is not a URL"),
        )
        .with_source(e)
    })?;
    match uri.scheme_str() {
        Some("https" | "http") if uri.host().is_some() => Ok(uri),
        _ => Err(KeySourceError::new(
            KeySourceErrorKind::InvalidUrl,
            format!("{url:?} is not an http(s) URL"),
        )),
    }
}

fn discovery_uri(issuer: &str) -> Result<Uri, KeySourceError> {
    parse_uri(&format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    ))
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
    fn unusable_keys_are_skipped_one_by_one() {
        let document = br#"{"keys": [
            {"kty": "oct", "kid": "secret", "k": "c2VjcmV0"},
            {"kty": "EC", "kid": "p521", "crv": "P-521", "x": "AA", "y": "AA"},
            {"kty": "RSA", "kid": "broken"},
            {"kty": "OKP", "kid": "ed", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
            {"kty": "OKP", "kid": "enc", "use": "enc", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
        ]}"#;
        let table = KeyTable::parse(document).unwrap();
        assert_eq!(table.kids(), ["ed"]);
        assert_eq!(table.get(Some("ed")).unwrap().algorithm, Algorithm::EdDSA);
        assert!(table.get(None).is_none());
        let error = KeyTable::parse(b"{}").err().unwrap();
        assert_eq!(error.kind(), KeySourceErrorKind::InvalidDocument);
    }

    #[test]
    fn urls_must_be_http_or_https() {
        assert!(parse_uri("https://idp.example.com/jwks").is_ok());
        assert_eq!(
            parse_uri("file:///etc/passwd").unwrap_err().kind(),
            KeySourceErrorKind::InvalidUrl
        );
        assert_eq!(
            discovery_uri("https://idp.example.com/realms/x/").unwrap(),
            "https://idp.example.com/realms/x/.well-known/openid-configuration"
        );
    }
}
