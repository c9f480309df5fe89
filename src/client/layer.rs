//! [`JwtClientLayer`]: wraps an HTTP or gRPC client in [`JwtClient`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::HeaderName;
use tower_layer::Layer;

use super::origin::Origin;
use super::service::JwtClient;
use super::tokens::ClientTokens;
use crate::clock::{Clock, SystemClock};
use crate::config::Config;

type Callback = Arc<dyn Fn() + Send + Sync>;

/// What every clone of the layer and its services share.
#[derive(Clone)]
pub(super) struct Settings {
    pub(super) tokens: ClientTokens,
    pub(super) origin: Origin,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) skew: u64,
    pub(super) refresh_header: HeaderName,
    pub(super) access_response_header: HeaderName,
    pub(super) refresh_response_header: HeaderName,
    pub(super) on_login_required: Option<Callback>,
    pub(super) on_refresh: Option<Callback>,
    pub(super) login_required_as_response: bool,
}

impl Settings {
    pub(super) fn login_required(&self) {
        if let Some(callback) = &self.on_login_required {
            callback();
        }
    }

    pub(super) fn refreshed(&self) {
        if let Some(callback) = &self.on_refresh {
            callback();
        }
    }
}

/// Keeps a session alive for the client it wraps, on the one [`Origin`] the session belongs to:
/// every request for it carries the access token (`Authorization: Bearer`, marked sensitive);
/// once that has expired, the next request carries the refresh token too, so the server
/// refreshes in-band and serves that same request (no request is sent twice); the new tokens a
/// response brings are stored before the next request can use the old ones. A request for any
/// other origin goes out as it came and its response comes back unread.
///
/// Works over any `Service<http::Request<B>>` client: `hyper-util`'s `Client`, a tonic
/// `Channel`, an axum router in tests. Header names default to the server's defaults;
/// [`headers_of`](Self::headers_of) copies a server's [`Config`].
///
/// ```
/// use std::time::Duration;
/// use tower::ServiceBuilder;
/// use tower_jwt_auth::client::{ClientTokens, JwtClientLayer};
///
/// let tokens = ClientTokens::new();
/// let layer = JwtClientLayer::new(tokens.clone(), "https://api.example.com".parse()?)
///     .skew(Duration::from_secs(5))
///     .on_login_required(|| eprintln!("please log in again"));
/// let client = ServiceBuilder::new()
///     .layer(layer)
///     .service(tower::service_fn(|_: http::Request<String>| async {
///         Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
///     }));
/// # let _ = client;
/// # Ok::<(), tower_jwt_auth::client::InvalidOrigin>(())
/// ```
#[derive(Clone)]
#[must_use = "a layer does nothing until it wraps a service"]
pub struct JwtClientLayer {
    settings: Arc<Settings>,
}

impl fmt::Debug for JwtClientLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtClientLayer")
            .field("tokens", &self.settings.tokens)
            .field("origin", &self.settings.origin)
            .field("skew", &self.settings.skew)
            .field("refresh_header", &self.settings.refresh_header)
            .finish_non_exhaustive()
    }
}

impl JwtClientLayer {
    /// A layer keeping `tokens` alive on `origin`, the server's (take it from the login's URL
    /// with [`Origin::of`]), with the server's default header names, a skew margin of 5
    /// seconds and the system clock.
    pub fn new(tokens: ClientTokens, origin: Origin) -> Self {
        Self {
            settings: Arc::new(Settings {
                tokens,
                origin,
                clock: Arc::new(SystemClock),
                skew: 5,
                refresh_header: HeaderName::from_static("x-refresh-token"),
                access_response_header: HeaderName::from_static("x-access-token"),
                refresh_response_header: HeaderName::from_static("x-refresh-token"),
                on_login_required: None,
                on_refresh: None,
                login_required_as_response: false,
            }),
        }
    }

    fn with(mut self, change: impl FnOnce(&mut Settings)) -> Self {
        change(Arc::make_mut(&mut self.settings));
        self
    }

    /// How long before its `exp` an access token counts as expired (default 5 s): a margin for
    /// the client's clock running behind the server's, and for the request's time in flight.
    /// A token never loses more than half its lifetime to it, so a token that lives a few
    /// seconds is still sent alone at first.
    pub fn skew(self, skew: Duration) -> Self {
        self.with(|s| s.skew = skew.as_secs())
    }

    /// The clock expiry is judged by (default the system clock).
    pub fn clock(self, clock: impl Clock) -> Self {
        self.with(|s| s.clock = Arc::new(clock))
    }

    /// The header names of the server `config` describes, so both halves agree.
    pub fn headers_of(self, config: &Config) -> Self {
        self.with(|s| {
            s.refresh_header = config.refresh_header().clone();
            s.access_response_header = config.access_token_response_header().clone();
            s.refresh_response_header = config.refresh_token_response_header().clone();
        })
    }

    /// Called once each time the server refuses a refresh (the refresh token expired, or the
    /// session was revoked or ended for a theft), so the application can ask the user to log in
    /// again.
    pub fn on_login_required(self, callback: impl Fn() + Send + Sync + 'static) -> Self {
        self.with(|s| s.on_login_required = Some(Arc::new(callback)))
    }

    /// Called once each time a refresh brought new tokens.
    pub fn on_refresh(self, callback: impl Fn() + Send + Sync + 'static) -> Self {
        self.with(|s| s.on_refresh = Some(Arc::new(callback)))
    }

    /// When the server refuses the refresh, hand the request that carried it the server's
    /// refusal (its `401`, or gRPC `UNAUTHENTICATED`) instead of
    /// [`ClientError::LoginRequired`](super::ClientError::LoginRequired) (default off). Requests
    /// that follow fail fast with the error either way: there is no response for them.
    pub fn login_required_as_response(self, on: bool) -> Self {
        self.with(|s| s.login_required_as_response = on)
    }
}

impl<S> Layer<S> for JwtClientLayer {
    type Service = JwtClient<S>;

    fn layer(&self, inner: S) -> Self::Service {
        JwtClient::new(inner, self.settings.clone())
    }
}
