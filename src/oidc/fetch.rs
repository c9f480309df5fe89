//! [`HttpClient`]: how keys and discovery documents are fetched — any tower HTTP client.

use std::error::Error as StdError;
use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::Arc;

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
    fetch: Arc<dyn Fetch>,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient").finish_non_exhaustive()
    }
}

impl HttpClient {
    /// Fetches with `service`.
    pub fn new<S, B>(service: S) -> Self
    where
        S: Service<Request<Empty<Bytes>>, Response = Response<B>> + Clone + Send + Sync + 'static,
        S::Error: Into<BoxError>,
        S::Future: Send,
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        Self {
            fetch: Arc::new(ServiceFetch(service)),
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
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(config)
            .https_or_http()
            .enable_http1()
            .build();
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build(connector);
        Ok(Self::new(client))
    }

    pub(crate) async fn get(&self, uri: Uri) -> Result<Fetched, BoxError> {
        self.fetch.get(uri).await
    }
}

impl Default for HttpClient {
    /// hyper-util's client over rustls (aws-lc-rs) with the platform's root certificates; plain
    /// `http://` URLs are fetched too (a provider on the same host, a test).
    fn default() -> Self {
        use hyper_util::client::legacy::Client;
        use hyper_util::rt::TokioExecutor;
        let client = Client::builder(TokioExecutor::new());
        match hyper_rustls::HttpsConnectorBuilder::new().with_native_roots() {
            Ok(builder) => Self::new(client.build(builder.https_or_http().enable_http1().build())),
            Err(error) => {
                // No root certificate to trust: plain http still works, https is refused.
                tracing::warn!(target: "tower_jwt_auth", %error,
                    "no platform root certificates: key sets are fetched over plain http only");
                Self::new(client.build_http())
            }
        }
    }
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
