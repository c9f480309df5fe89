//! [`HttpClient`]: how keys and discovery documents are fetched — any tower HTTP client.

use std::error::Error as StdError;
use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, Request, Response, StatusCode, Uri};
use http_body::Body;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use tower_service::Service;

use super::error::{KeySourceError, KeySourceErrorKind};

type BoxError = Box<dyn StdError + Send + Sync>;
type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// The largest document read from a provider: a key set of a few hundred keys fits many times.
const MAX_DOCUMENT: usize = 1 << 20;

/// A response read whole.
#[derive(Debug)]
pub(crate) struct Fetched {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

trait Fetch: Send + Sync + 'static {
    fn get(&self, uri: Uri) -> BoxFuture<Result<Fetched, BoxError>>;
}

/// The HTTP client that fetches discovery documents and key sets: any tower
/// `Service<http::Request<Empty<Bytes>>>` that answers `http::Response` with a body, such as
/// hyper-util's legacy `Client` with the connector of your choice (a proxy, your own roots).
///
/// [`HttpClient::default`] is hyper-util's client over rustls with the platform's root
/// certificates, for `https://` and `http://` URLs.
///
/// Every request is bounded by the key source's
/// [`timeout`](super::RemoteKeysBuilder::timeout), whatever the client; the clients this crate
/// makes ([`default`](Self::default), [`with_root_certificates`](Self::with_root_certificates))
/// also give up connecting after its
/// [`connect_timeout`](super::RemoteKeysBuilder::connect_timeout).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use http_body_util::Empty;
/// use hyper::body::Bytes;
/// use hyper_util::{client::legacy::Client, rt::TokioExecutor};
/// use tower_jwt_auth::oidc::HttpClient;
///
/// let plain_http = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
/// let client = HttpClient::new(plain_http);
/// # let _ = client;
/// # }
/// ```
#[derive(Clone)]
pub struct HttpClient {
    kind: Kind,
}

#[derive(Clone)]
enum Kind {
    /// hyper-util's client over rustls trusting these roots, or the platform's if none: made
    /// for each key source, with its connect timeout.
    Rustls(Option<Arc<rustls::ClientConfig>>),
    /// A service of the user's, which connects as its connector says.
    Service(Arc<dyn Fetch>),
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient").finish_non_exhaustive()
    }
}

impl HttpClient {
    /// Fetches with `service`. Its connector's own connect timeout applies, if it has one; the
    /// key source's [`timeout`](super::RemoteKeysBuilder::timeout) bounds every request all
    /// the same.
    pub fn new<S, B>(service: S) -> Self
    where
        S: Service<Request<Empty<Bytes>>, Response = Response<B>> + Clone + Send + Sync + 'static,
        S::Error: Into<BoxError>,
        S::Future: Send,
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        Self {
            kind: Kind::Service(Arc::new(ServiceFetch(service))),
        }
    }

    /// hyper-util's client over rustls trusting only the root certificates in `pem` (one or
    /// more `CERTIFICATE` blocks): for a provider behind a private certificate authority.
    /// `http://` URLs are fetched too.
    pub fn with_root_certificates(pem: &[u8]) -> Result<Self, KeySourceError> {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;

        let invalid =
            |detail: &str| KeySourceError::new(KeySourceErrorKind::InvalidSettings, detail);
        let mut roots = rustls::RootCertStore::empty();
        for certificate in CertificateDer::pem_slice_iter(pem) {
            let certificate =
                certificate.map_err(|_| invalid("the root certificates are not PEM"))?;
            roots
                .add(certificate)
                .map_err(|_| invalid("a root certificate cannot be used"))?;
        }
        if roots.is_empty() {
            return Err(invalid("no root certificate in the PEM"));
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|_| invalid("no TLS version available"))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Self {
            kind: Kind::Rustls(Some(Arc::new(config))),
        })
    }

    /// The client one key source fetches with, bounded by `timeouts`.
    pub(crate) fn fetcher(&self, timeouts: Timeouts) -> Fetcher {
        let fetch = match &self.kind {
            Kind::Service(fetch) => Arc::clone(fetch),
            Kind::Rustls(config) => rustls_client(config.as_deref(), timeouts.connect),
        };
        Fetcher {
            fetch,
            timeout: timeouts.response,
        }
    }
}

impl Default for HttpClient {
    /// hyper-util's client over rustls (aws-lc-rs) with the platform's root certificates; plain
    /// `http://` URLs are fetched too (a provider on the same host, a test).
    fn default() -> Self {
        Self {
            kind: Kind::Rustls(None),
        }
    }
}

/// hyper-util's client over rustls with `config`, or the platform's roots if none.
fn rustls_client(config: Option<&rustls::ClientConfig>, connect: Duration) -> Arc<dyn Fetch> {
    use hyper_util::client::legacy::{Client, connect::HttpConnector};
    use hyper_util::rt::TokioExecutor;

    let client = Client::builder(TokioExecutor::new());
    let mut http = HttpConnector::new();
    http.set_connect_timeout(Some(connect));
    let tls = match config {
        Some(config) => hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(config.clone()),
        None => match hyper_rustls::HttpsConnectorBuilder::new().with_native_roots() {
            Ok(builder) => builder,
            Err(error) => {
                // No root certificate to trust: plain http still works, https is refused.
                tracing::warn!(target: "tower_jwt_auth", %error,
                    "no platform root certificates: key sets are fetched over plain http only");
                return Arc::new(ServiceFetch(client.build(http)));
            }
        },
    };
    // The TLS connector decides the scheme; the TCP one below it only connects.
    http.enforce_http(false);
    let connector = tls.https_or_http().enable_http1().wrap_connector(http);
    Arc::new(ServiceFetch(client.build(connector)))
}

/// How long a fetch may take.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timeouts {
    /// Connecting, for the clients this crate makes.
    pub(crate) connect: Duration,
    /// One request, from its start to the last byte of its response, whatever the client.
    pub(crate) response: Duration,
}

/// An [`HttpClient`] made ready for one key source.
pub(crate) struct Fetcher {
    fetch: Arc<dyn Fetch>,
    timeout: Duration,
}

impl Fetcher {
    /// `uri`'s response, read whole within the timeout; anything but `2xx` is an error.
    pub(crate) async fn get(&self, uri: &Uri) -> Result<Fetched, KeySourceError> {
        let fetched = match tokio::time::timeout(self.timeout, self.fetch.get(uri.clone())).await {
            Ok(Ok(fetched)) => fetched,
            Ok(Err(cause)) => {
                let (kind, detail) = if timed_out(&*cause) {
                    (KeySourceErrorKind::TimedOut, format!("{uri} timed out"))
                } else {
                    (
                        KeySourceErrorKind::Unreachable,
                        format!("cannot fetch {uri}"),
                    )
                };
                return Err(KeySourceError::new(kind, detail).with_boxed_source(cause));
            }
            Err(_) => {
                return Err(KeySourceError::new(
                    KeySourceErrorKind::TimedOut,
                    format!(
                        "{uri} timed out: no whole response within {:?}",
                        self.timeout
                    ),
                ));
            }
        };
        if !fetched.status.is_success() {
            return Err(KeySourceError::new(
                KeySourceErrorKind::Unreachable,
                format!("{uri} answered {}", fetched.status),
            ));
        }
        Ok(fetched)
    }
}

/// Whether a client's error is a timeout of its own, such as a connect timeout.
fn timed_out(error: &(dyn StdError + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(error) = cause {
        if error
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::TimedOut)
        {
            return true;
        }
        cause = error.source();
    }
    false
}

struct ServiceFetch<S>(S);

impl<S, B> Fetch for ServiceFetch<S>
where
    S: Service<Request<Empty<Bytes>>, Response = Response<B>> + Clone + Send + Sync + 'static,
    S::Error: Into<BoxError>,
    S::Future: Send,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    fn get(&self, uri: Uri) -> BoxFuture<Result<Fetched, BoxError>> {
        let mut service = self.0.clone();
        Box::pin(async move {
            let request = Request::get(uri)
                .header(http::header::ACCEPT, "application/json")
                .body(Empty::new())?;
            poll_fn(|cx| service.poll_ready(cx))
                .await
                .map_err(Into::into)?;
            let response = service.call(request).await.map_err(Into::into)?;
            let (parts, body) = response.into_parts();
            let body = Limited::new(body, MAX_DOCUMENT)
                .collect()
                .await
                .map_err(|e| -> BoxError { e })?
                .to_bytes();
            Ok(Fetched {
                status: parts.status,
                headers: parts.headers,
                body,
            })
        })
    }
}
