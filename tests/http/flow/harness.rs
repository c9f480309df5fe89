//! Helpers for the flow suite: sessions on a [`ManualClock`], a protected service that counts its
//! calls and echoes the claims it was given, one request through the layer (in process with
//! `oneshot`, or over real HTTP to a hyper server on 127.0.0.1), and the exact challenges of
//! `src/error/challenge.rs`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::header::{RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tower::{Layer, Service, ServiceExt};
use tower_jwt_auth::store::MemoryStore;
use tower_jwt_auth::store::PairStore;
use tower_jwt_auth::{
    Claims, JwtAuth, JwtAuthLayer, JwtSessions, JwtSessionsBuilder, ManualClock, TokenPair,
};

/// Where every test's clock starts (2023-11-14T22:13:20Z).
pub(crate) const T0: u64 = 1_700_000_000;
/// The default access-token lifetime.
pub(crate) const ACCESS_TTL: u64 = 15 * 60;
/// The default session (refresh-token) lifetime.
pub(crate) const REFRESH_TTL: u64 = 14 * 24 * 60 * 60;
/// The default grace window.
pub(crate) const GRACE: u64 = 10;

/// The HMAC secret of every test service: exactly 32 bytes.
pub(crate) const SECRET: &[u8] = b"flow test secret, of 32 bytes!!!";

/// The exact `WWW-Authenticate` values of `AuthError::challenge`, as a client reads them.
pub(crate) mod challenge {
    pub(crate) const MISSING: &str = "Bearer";
    pub(crate) const ACCESS_EXPIRED: &str =
        r#"Bearer error="invalid_token", error_description="the access token expired""#;
    pub(crate) const REFRESH_EXPIRED: &str =
        r#"Bearer error="invalid_token", error_description="the refresh token expired""#;
    pub(crate) const ACCESS_MALFORMED: &str =
        r#"Bearer error="invalid_token", error_description="the access token is malformed""#;
    pub(crate) const BAD_SIGNATURE: &str =
        r#"Bearer error="invalid_token", error_description="the token signature is invalid""#;
    pub(crate) const EXPECTED_ACCESS: &str =
        r#"Bearer error="invalid_token", error_description="expected an access token""#;
    pub(crate) const EXPECTED_REFRESH: &str =
        r#"Bearer error="invalid_token", error_description="expected a refresh token""#;
    pub(crate) const UNKNOWN_SESSION: &str =
        r#"Bearer error="invalid_token", error_description="unknown session""#;
    pub(crate) const REVOKED: &str =
        r#"Bearer error="invalid_token", error_description="the session was revoked""#;
    pub(crate) const SUPERSEDED: &str =
        r#"Bearer error="invalid_token", error_description="the access token was superseded""#;
    pub(crate) const THEFT: &str = r#"Bearer error="invalid_token", error_description="refresh while the access token was valid; session revoked""#;
    pub(crate) const REUSE: &str = r#"Bearer error="invalid_token", error_description="refresh token reused; session revoked""#;
    pub(crate) const TWO_AUTHORIZATIONS: &str =
        r#"Bearer error="invalid_request", error_description="more than one Authorization header""#;
    pub(crate) const TWO_REFRESH_HEADERS: &str =
        r#"Bearer error="invalid_request", error_description="more than one refresh token header""#;
    pub(crate) const MALFORMED_REFRESH_HEADER: &str =
        r#"Bearer error="invalid_request", error_description="malformed refresh token header""#;
    pub(crate) const MIXED_SESSIONS: &str = r#"Bearer error="invalid_request", error_description="the access and refresh tokens belong to different sessions""#;
    pub(crate) const EMPTY_BEARER: &str =
        r#"Bearer error="invalid_request", error_description="malformed Bearer credentials""#;
}

/// The application claims carried in both tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Role {
    pub(crate) role: String,
}

pub(crate) fn role(name: &str) -> Role {
    Role {
        role: name.to_owned(),
    }
}

/// What the protected service saw in `Claims<Role>`, or what a token's payload says: the two are
/// compared field by field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Seen {
    pub(crate) sub: String,
    pub(crate) sid: String,
    pub(crate) jti: String,
    pub(crate) iat: u64,
    pub(crate) exp: u64,
    pub(crate) role: String,
}

impl Seen {
    fn of(claims: &Claims<Role>) -> Self {
        Self {
            sub: claims.subject().to_owned(),
            sid: claims.session_id().to_string(),
            jti: claims.token_id().to_string(),
            iat: claims.issued_at(),
            exp: claims.expires_at(),
            role: claims.custom().role.clone(),
        }
    }

    /// The claims a token carries, read from its payload without verifying it.
    pub(crate) fn from_token(token: &str) -> Self {
        serde_json::from_value(payload(token)).expect("payload has every claim")
    }
}

/// One base64url segment of a compact JWS, as JSON.
fn segment(token: &str, index: usize) -> Value {
    let part = token.split('.').nth(index).expect("three segments");
    let bytes = URL_SAFE_NO_PAD.decode(part).expect("base64url segment");
    serde_json::from_slice(&bytes).expect("JSON segment")
}

/// A token's JOSE header.
pub(crate) fn header(token: &str) -> Value {
    segment(token, 0)
}

/// A token's payload.
pub(crate) fn payload(token: &str) -> Value {
    segment(token, 1)
}

/// The protected service: counts its calls and answers `200` with the `Claims<Role>` it found in
/// the request extensions as JSON (`null` when there were none).
#[derive(Debug, Clone, Default)]
pub(crate) struct Echo {
    calls: Arc<AtomicUsize>,
}

impl<B> Service<Request<B>> for Echo {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let seen = request.extensions().get::<Claims<Role>>().map(Seen::of);
        let body = serde_json::to_vec(&seen).expect("JSON");
        std::future::ready(Ok(Response::new(Full::from(body))))
    }
}

/// The layer around [`Echo`], as the tests drive it.
pub(crate) type App = JwtAuth<Echo, Role>;

/// How requests reach the layer.
enum Via {
    /// `tower::ServiceExt::oneshot` on the layer around [`Echo`], in process.
    Oneshot(App),
    /// `oneshot` on an axum `Router` serving [`Echo`] at `/` behind the layer.
    Axum(axum::Router),
    /// HTTP/1.1 over TCP to a hyper server on 127.0.0.1.
    Http {
        base: String,
        client: Box<Client<HttpConnector, Empty<Bytes>>>,
    },
}

impl Clone for Via {
    fn clone(&self) -> Self {
        match self {
            Self::Oneshot(app) => Self::Oneshot(app.clone()),
            Self::Axum(router) => Self::Axum(router.clone()),
            Self::Http { base, client } => Self::Http {
                base: base.clone(),
                client: client.clone(),
            },
        }
    }
}

/// What came back from one request.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    /// How many times the protected service ran meanwhile (meaningful for one request at a time).
    pub(crate) calls: usize,
}

impl Reply {
    /// A response header as text.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .map(|v| v.to_str().expect("ASCII header"))
    }

    /// What the protected service echoed: its claims, `None` if it had none.
    #[track_caller]
    pub(crate) fn echoed(&self) -> Option<Seen> {
        assert_eq!(self.status, StatusCode::OK, "{self:?}");
        serde_json::from_slice(&self.body).expect("echo body")
    }

    /// Asserts the request was served by the protected service with claims, and returns them.
    #[track_caller]
    pub(crate) fn served(&self) -> Seen {
        assert_eq!(
            self.calls, 1,
            "the protected service should run once: {self:?}"
        );
        self.echoed()
            .expect("Claims<Role> in the request extensions")
    }

    /// Asserts the request was served, once, without any claims in its extensions.
    #[track_caller]
    pub(crate) fn assert_served_anonymously(&self) {
        assert_eq!(
            self.calls, 1,
            "the protected service should run once: {self:?}"
        );
        assert_eq!(self.echoed(), None, "{self:?}");
        assert_eq!(self.header("x-access-token"), None, "{self:?}");
    }

    /// Asserts the request was served with its own access token: no token minted.
    #[track_caller]
    pub(crate) fn served_without_refresh(&self) -> Seen {
        let seen = self.served();
        for name in ["x-access-token", "x-refresh-token", "cache-control"] {
            assert_eq!(
                self.header(name),
                None,
                "{name} on a plain request: {self:?}"
            );
        }
        seen
    }

    /// Asserts the request was served after a refresh (S7) and returns the claims it was served
    /// with and the new access token from `x-access-token`, whose claims they must be.
    #[track_caller]
    pub(crate) fn served_with_new_access(&self) -> (Seen, String) {
        assert_eq!(
            self.calls, 1,
            "the protected service should run once: {self:?}"
        );
        self.minted()
    }

    /// [`served_with_new_access`](Self::served_with_new_access) without counting calls, for
    /// requests sent concurrently.
    #[track_caller]
    pub(crate) fn minted(&self) -> (Seen, String) {
        let seen = self
            .echoed()
            .expect("Claims<Role> in the request extensions");
        assert_eq!(self.header("cache-control"), Some("no-store"), "{self:?}");
        let token = self.header("x-access-token").expect("x-access-token");
        assert_eq!(header(token)["typ"], "at+jwt");
        assert_eq!(
            Seen::from_token(token),
            seen,
            "served with the new token's claims"
        );
        (seen, token.to_owned())
    }

    /// The rotated refresh token from the `x-refresh-token` response header.
    #[track_caller]
    pub(crate) fn new_refresh_token(&self) -> String {
        let token = self.header("x-refresh-token").expect("x-refresh-token");
        assert_eq!(header(token)["typ"], "rt+jwt");
        token.to_owned()
    }
}

/// Asserts a refusal: the status, the exact `WWW-Authenticate` value (`None`: no such header),
/// an empty body, no minted token, and that the protected service never ran.
#[track_caller]
pub(crate) fn assert_refused(reply: &Reply, status: u16, challenge: Option<&str>) {
    assert_refusal(reply, status, challenge, "");
}

/// [`assert_refused`] with the exact body: a refusal without a challenge names its reason there.
#[track_caller]
fn assert_refusal(reply: &Reply, status: u16, challenge: Option<&str>, body: &str) {
    assert_eq!(reply.status.as_u16(), status, "{reply:?}");
    assert_eq!(
        reply.header(WWW_AUTHENTICATE.as_str()),
        challenge,
        "{reply:?}"
    );
    assert_eq!(reply.calls, 0, "the protected service ran: {reply:?}");
    assert_eq!(reply.body, body, "{reply:?}");
    for name in ["x-access-token", "x-refresh-token"] {
        assert_eq!(reply.header(name), None, "{name} on a refusal: {reply:?}");
    }
}

/// Asserts `401` with exactly this challenge.
#[track_caller]
pub(crate) fn assert_401(reply: &Reply, challenge: &str) {
    assert_refused(reply, 401, Some(challenge));
}

/// Asserts `503 Retry-After: 1` without a challenge, its reason in the body: a store failure,
/// never a `401`.
#[track_caller]
pub(crate) fn assert_503(reply: &Reply) {
    assert_refusal(reply, 503, None, "session store unavailable");
    assert_eq!(reply.header(RETRY_AFTER.as_str()), Some("1"), "{reply:?}");
}

/// The builder every harness starts from, before a test's own settings.
pub(crate) type Builder = JwtSessionsBuilder<Role>;

/// Sessions on a manual clock, the layer around [`Echo`], and a way to send requests to it.
pub(crate) struct Harness {
    pub(crate) clock: ManualClock,
    pub(crate) sessions: JwtSessions<Role>,
    calls: Arc<AtomicUsize>,
    anonymous: bool,
    via: Via,
}

impl Clone for Harness {
    fn clone(&self) -> Self {
        Self {
            clock: self.clock.clone(),
            sessions: self.sessions.clone(),
            calls: self.calls.clone(),
            anonymous: self.anonymous,
            via: self.via.clone(),
        }
    }
}

impl Harness {
    /// Default sessions on a [`MemoryStore`] with the settings `configure` adds.
    pub(crate) fn new(configure: impl FnOnce(Builder) -> Builder) -> Self {
        Self::with_store(MemoryStore::new(), configure)
    }

    /// Sessions on `store` with the settings `configure` adds, driven with `oneshot`.
    pub(crate) fn with_store(
        store: impl PairStore,
        configure: impl FnOnce(Builder) -> Builder,
    ) -> Self {
        let clock = ManualClock::new(T0);
        let builder = JwtSessions::builder()
            .claims::<Role>()
            .hs256_secret(SECRET)
            .clock(clock.clone())
            .store(store);
        let sessions = configure(builder).build().expect("valid configuration");
        let calls = Arc::default();
        let app = sessions.layer().layer(Echo {
            calls: Arc::clone(&calls),
        });
        Self {
            clock,
            sessions,
            calls,
            anonymous: false,
            via: Via::Oneshot(app),
        }
    }

    /// The layer, with this harness's options, around a fresh [`Echo`] sharing the call count.
    fn layer(&self) -> JwtAuthLayer<Role> {
        self.sessions.layer().allow_anonymous(self.anonymous)
    }

    fn echo(&self) -> Echo {
        Echo {
            calls: Arc::clone(&self.calls),
        }
    }

    /// Builds the layer with `allow_anonymous(true)`, driven with `oneshot`.
    pub(crate) fn allowing_anonymous(mut self) -> Self {
        self.anonymous = true;
        self.via = Via::Oneshot(self.layer().layer(self.echo()));
        self
    }

    /// Sends every further request through an axum `Router` that serves [`Echo`] behind the layer.
    pub(crate) fn through_axum(mut self) -> Self {
        let router = axum::Router::new()
            .route_service("/", self.echo())
            .layer(self.layer());
        self.via = Via::Axum(router);
        self
    }

    /// Serves the layer from a hyper HTTP/1.1 server on 127.0.0.1:0 and sends every further
    /// request to it over TCP.
    pub(crate) async fn over_http(mut self) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let address: SocketAddr = listener.local_addr().expect("local address");
        tokio::spawn(serve(listener, self.layer().layer(self.echo())));
        let client = Box::new(Client::builder(TokioExecutor::new()).build_http());
        self.via = Via::Http {
            base: format!("http://{address}/"),
            client,
        };
        self
    }

    /// How many times the protected service has run.
    pub(crate) fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// Moves the clock forward by `seconds`.
    pub(crate) fn advance(&self, seconds: u64) {
        self.clock.advance(Duration::from_secs(seconds));
    }

    /// S1: a login for `subject` with `role`.
    pub(crate) async fn login(&self, subject: &str, role_name: &str) -> TokenPair {
        self.sessions
            .issue(subject, role(role_name))
            .await
            .expect("issue")
    }

    /// S1 then S4: alice logs in, and the clock moves to her access token's expiry.
    pub(crate) async fn login_expired(&self) -> TokenPair {
        let pair = self.login("alice", "admin").await;
        self.advance(ACCESS_TTL);
        pair
    }

    /// One `GET /` with `headers` (appended, so a name may repeat).
    pub(crate) async fn send(&self, headers: &[(&str, &str)]) -> Reply {
        let before = self.calls();
        let mut request = Request::get("/");
        for (name, value) in headers {
            request = request.header(
                HeaderName::from_bytes(name.as_bytes()).expect("header name"),
                HeaderValue::from_str(value).expect("header value"),
            );
        }
        let (status, headers, body) = match &self.via {
            Via::Oneshot(app) => {
                let request = request.body(Empty::<Bytes>::new()).expect("request");
                read(app.clone().oneshot(request).await).await
            }
            Via::Axum(router) => {
                let request = request.body(axum::body::Body::empty()).expect("request");
                read(router.clone().oneshot(request).await).await
            }
            Via::Http { base, client } => {
                let request = request
                    .uri(base.as_str())
                    .body(Empty::new())
                    .expect("request");
                read(client.request(request).await).await
            }
        };
        Reply {
            status,
            headers,
            body,
            calls: self.calls() - before,
        }
    }

    /// S3: `Authorization: Bearer <access>`.
    pub(crate) async fn bearer(&self, access: &str) -> Reply {
        self.send(&[("authorization", &format!("Bearer {access}"))])
            .await
    }

    /// S6: the refresh token alone, in `x-refresh-token`.
    pub(crate) async fn refresh(&self, refresh: &str) -> Reply {
        self.send(&[("x-refresh-token", refresh)]).await
    }

    /// S3 that must succeed: the request is served with the claims of `access`, nothing minted.
    pub(crate) async fn bearer_ok(&self, access: &str) -> Seen {
        let seen = self.bearer(access).await.served_without_refresh();
        assert_eq!(seen, Seen::from_token(access));
        seen
    }

    /// S6/S7 that must succeed: the claims served and the new access token.
    pub(crate) async fn refresh_ok(&self, refresh: &str) -> (Seen, String) {
        self.refresh(refresh).await.served_with_new_access()
    }

    /// Both headers, as a client that always sends both would.
    pub(crate) async fn both(&self, access: &str, refresh: &str) -> Reply {
        let bearer = format!("Bearer {access}");
        self.send(&[("authorization", &bearer), ("x-refresh-token", refresh)])
            .await
    }
}

/// A response's status, headers and whole body.
async fn read<B, E>(response: Result<Response<B>, E>) -> (StatusCode, HeaderMap, Bytes)
where
    B: hyper::body::Body,
    B::Error: std::fmt::Debug,
    E: std::fmt::Debug,
{
    let (parts, body) = response.expect("a response").into_parts();
    let body = body.collect().await.expect("the whole body").to_bytes();
    (parts.status, parts.headers, body)
}

/// Accepts connections until the test's runtime ends, each served by HTTP/1.1 hyper.
async fn serve(listener: tokio::net::TcpListener, app: App) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let app = app.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| app.clone().oneshot(request));
            // A client closing its connection mid-way is no concern of these tests.
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
