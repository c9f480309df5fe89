//! [`RemoteKeysBuilder`]: the settings of a [`RemoteKeys`], checked when it is built.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwapOption;

use super::flight::Flights;
use super::{RemoteKeys, Shared, Source, Timing, refresh_after, refresh_loop};
use crate::oidc::error::{KeySourceError, KeySourceErrorKind};
use crate::oidc::fetch::{HttpClient, Timeouts};

/// Builds a [`RemoteKeys`]; made by [`RemoteKeys::discover`] and [`RemoteKeys::jwks`].
///
/// ```no_run
/// # async fn run() -> Result<(), tower_jwt_auth::oidc::KeySourceError> {
/// use std::time::Duration;
/// use tower_jwt_auth::oidc::RemoteKeys;
///
/// // A provider across the world: more time to answer, and to a token naming a new key.
/// let keys = RemoteKeys::discover("https://idp.example.com/realms/main")
///     .timeout(Duration::from_secs(20))
///     .unknown_kid_wait(Duration::from_secs(5))
///     .require_at_start(true)
///     .build()
///     .await?;
/// # let _ = keys; Ok(()) }
/// ```
#[must_use = "a builder does nothing until `build` is called"]
#[derive(Debug)]
pub struct RemoteKeysBuilder {
    source: Result<Source, KeySourceError>,
    client: Option<HttpClient>,
    timing: Timing,
    timeouts: Timeouts,
    require_at_start: bool,
    insecure_jwks_uri: bool,
}

impl RemoteKeysBuilder {
    pub(super) fn new(source: Result<Source, KeySourceError>) -> Self {
        Self {
            source,
            client: None,
            timing: Timing {
                min_refresh: Duration::from_secs(60),
                max_refresh: Duration::from_secs(86_400),
                default_refresh: Duration::from_secs(300),
                unknown_kid_interval: Duration::from_secs(10),
                unknown_kid_wait: Duration::from_secs(2),
                retry: Duration::from_secs(1),
            },
            timeouts: Timeouts {
                connect: Duration::from_secs(5),
                response: Duration::from_secs(10),
            },
            require_at_start: false,
            insecure_jwks_uri: false,
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

    /// The most time connecting to the provider may take, with the clients this crate makes
    /// (default 5 s). A client of your own ([`HttpClient::new`]) connects as its connector
    /// says, within the [`timeout`](Self::timeout) all the same.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.timeouts.connect = timeout;
        self
    }

    /// The most time one request to the provider — the discovery document, the key set — may
    /// take, from its start to the last byte of its response, whatever the client (default
    /// 10 s). A request that takes longer fails with [`KeySourceErrorKind::TimedOut`]; the keys
    /// in use stay.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeouts.response = timeout;
        self
    }

    /// The least time between two fetches caused by unknown `kid`s (default 10 s).
    pub fn unknown_kid_interval(mut self, interval: Duration) -> Self {
        self.timing.unknown_kid_interval = interval;
        self
    }

    /// The most a request naming an unknown `kid` waits for the fetch it causes or finds under
    /// way (default 2 s): past it, the request is refused as naming an unknown key (`401`), and
    /// the fetch goes on for the requests after it. Zero refuses at once.
    pub fn unknown_kid_wait(mut self, wait: Duration) -> Self {
        self.timing.unknown_kid_wait = wait;
        self
    }

    /// The wait after a failed fetch, doubled after each further failure up to a minute
    /// (default 1 s).
    pub fn retry_interval(mut self, retry: Duration) -> Self {
        self.timing.retry = retry;
        self
    }

    /// Fail [`build`](Self::build) if the first key set cannot be fetched within the timeouts
    /// (default off: the service starts, answers `503` and keeps trying).
    pub fn require_at_start(mut self, required: bool) -> Self {
        self.require_at_start = required;
        self
    }

    /// Accept a discovery document of an `https://` issuer naming its key set at an `http://`
    /// URL (default off: refused with [`KeySourceErrorKind::InvalidDocument`], since keys
    /// fetched in the clear can be swapped by anyone on the path, and a token forged with them
    /// accepted). For a provider on the same host or behind a proxy that ends TLS for it, which
    /// advertises its internal address.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), tower_jwt_auth::oidc::KeySourceError> {
    /// use tower_jwt_auth::oidc::RemoteKeys;
    ///
    /// // The provider runs beside the service and names its key set at http://127.0.0.1:8080.
    /// let keys = RemoteKeys::discover("https://sso.example.com/realms/main")
    ///     .allow_insecure_jwks_uri(true)
    ///     .build()
    ///     .await?;
    /// # let _ = keys; Ok(()) }
    /// ```
    pub fn allow_insecure_jwks_uri(mut self, allow: bool) -> Self {
        self.insecure_jwks_uri = allow;
        self
    }

    pub(super) fn shared(self) -> Arc<Shared> {
        let source = self.source.unwrap_or(Source::Fixed);
        let client = match source {
            Source::Fixed => None,
            _ => Some(self.client.unwrap_or_default().fetcher(self.timeouts)),
        };
        Arc::new(Shared {
            source,
            client,
            timing: self.timing,
            insecure_jwks_uri: self.insecure_jwks_uri,
            table: ArcSwapOption::empty(),
            jwks_uri: Mutex::new(None),
            flights: Flights::new(),
            generation: AtomicU64::new(0),
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
        let Timeouts { connect, response } = self.timeouts;
        if connect.is_zero() || response.is_zero() {
            return Err(KeySourceError::new(
                KeySourceErrorKind::InvalidSettings,
                format!("timeouts ({connect:?} to connect, {response:?} in all) must be positive"),
            ));
        }
        self.source = Ok(source);
        let require = self.require_at_start;
        let shared = self.shared();
        // After a first fetch here, the task's first refresh comes as any other would.
        let first = if require {
            Some(refresh_after(shared.fetch().await?))
        } else {
            None
        };
        tokio::spawn(refresh_loop(Arc::downgrade(&shared), first));
        Ok(RemoteKeys { shared })
    }
}
