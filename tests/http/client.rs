//! The client half against the real server layer on 127.0.0.1: what the server sees (requests
//! served, refresh tokens offered, new tokens minted) is counted by a recorder in front of its
//! layer, and what another origin (another port) is sent is recorded there, so every assertion
//! is about the wire.

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::sync::Notify;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;
use tower::{Layer, ServiceBuilder, ServiceExt};
use tower_http::follow_redirect::{FollowRedirectLayer, RequestUri};
use tower_jwt_auth::client::{ClientError, ClientTokens, JwtClient, JwtClientLayer};
use tower_jwt_auth::{AuthError, AuthErrorKind, JwtSessions, ManualClock, TokenPair};

use crate::{common, tonic_example};

const SECRET: &[u8] = b"client test secret of 32 bytes!!";
const NOW: u64 = 1_700_000_000;
const ACCESS_TTL: Duration = Duration::from_secs(900);

/// What the server saw, counted in front of its layer.
#[derive(Clone, Default)]
struct Seen {
    /// Requests that reached the application, by path.
    served: Arc<Mutex<Vec<String>>>,
    /// Every access token a request carried.
    bearers: Arc<Mutex<Vec<String>>>,
    /// Every refresh token a request offered.
    offered: Arc<Mutex<Vec<String>>>,
    /// Every access token a response minted.
    minted: Arc<Mutex<Vec<String>>>,
    /// Every refresh token a response minted (rotation).
    rotated: Arc<Mutex<Vec<String>>>,
    /// Responses that refused the request.
    refused: Arc<AtomicUsize>,
    /// `/slow` waits for `release` after announcing itself with `arrived`.
    arrived: Arc<Notify>,
    release: Arc<Notify>,
}

fn text(value: Option<&http::HeaderValue>) -> Option<String> {
    value.and_then(|v| v.to_str().ok()).map(str::to_owned)
}

impl Seen {
    fn served(&self) -> usize {
        self.served.lock().unwrap().len()
    }
    fn bearers(&self) -> Vec<String> {
        self.bearers.lock().unwrap().clone()
    }
    fn offered(&self) -> Vec<String> {
        self.offered.lock().unwrap().clone()
    }
    fn refreshes(&self) -> usize {
        self.minted.lock().unwrap().len()
    }
    fn refused(&self) -> usize {
        self.refused.load(Ordering::SeqCst)
    }
}

async fn record(State(seen): State<Seen>, request: Request, next: Next) -> Response {
    if let Some(bearer) = text(request.headers().get("authorization")) {
        let token = bearer.strip_prefix("Bearer ").unwrap_or(&bearer).to_owned();
        seen.bearers.lock().unwrap().push(token);
    }
    if let Some(refresh) = text(request.headers().get("x-refresh-token")) {
        seen.offered.lock().unwrap().push(refresh);
    }
    let response = next.run(request).await;
    let headers = response.headers();
    if let Some(access) = text(headers.get("x-access-token")) {
        seen.minted.lock().unwrap().push(access);
    }
    if let Some(refresh) = text(headers.get("x-refresh-token")) {
        seen.rotated.lock().unwrap().push(refresh);
    }
    if response.status() == 401 {
        seen.refused.fetch_add(1, Ordering::SeqCst);
    }
    response
}

async fn me(State(seen): State<Seen>, request: Request) -> &'static str {
    seen.served
        .lock()
        .unwrap()
        .push(request.uri().path().to_owned());
    "me"
}

async fn slow(State(seen): State<Seen>, request: Request) -> &'static str {
    seen.served
        .lock()
        .unwrap()
        .push(request.uri().path().to_owned());
    seen.arrived.notify_one();
    seen.release.notified().await;
    "slow"
}

/// An open redirect, as many servers have one: `/redirect?to=URL` answers `303` to `URL`.
async fn redirect(request: Request) -> Redirect {
    let query = request.uri().query().unwrap_or_default();
    Redirect::to(query.strip_prefix("to=").expect("to=URL"))
}

/// The server: `/me` (GET and POST), `/slow` and `/redirect` behind the layer, the recorder in
/// front.
async fn serve(sessions: &JwtSessions, seen: &Seen) -> String {
    let app = Router::new()
        .route("/me", get(me).post(me))
        .route("/slow", get(slow))
        .route("/redirect", get(redirect))
        .with_state(seen.clone())
        .layer(sessions.layer())
        .layer(from_fn_with_state(seen.clone(), record));
    common::http::serve(app).await
}

fn sessions(clock: &ManualClock, configure: impl FnOnce(Builder) -> Builder) -> JwtSessions {
    configure(
        JwtSessions::builder()
            .hs256_secret(SECRET)
            .clock(clock.clone())
            .access_ttl(ACCESS_TTL),
    )
    .build()
    .expect("configuration")
}

type Builder = tower_jwt_auth::JwtSessionsBuilder;
type HttpClient = JwtClient<Client<HttpConnector, Body>>;

fn client(layer: JwtClientLayer) -> HttpClient {
    ServiceBuilder::new()
        .layer(layer)
        .service(Client::builder(TokioExecutor::new()).build_http())
}

/// A server on a free port with the recorder in front, and a session of alice's.
struct Served {
    sessions: JwtSessions,
    seen: Seen,
    url: String,
    pair: TokenPair,
}

async fn served(clock: &ManualClock, configure: impl FnOnce(Builder) -> Builder) -> Served {
    let sessions = sessions(clock, configure);
    let seen = Seen::default();
    let url = serve(&sessions, &seen).await;
    let pair = sessions.issue("alice", ()).await.expect("issue");
    Served {
        sessions,
        seen,
        url,
        pair,
    }
}

/// A client holding `pair` for the server at `url`, judging expiry by `clock`.
fn logged_in(pair: &TokenPair, clock: &ManualClock, url: &str) -> (ClientTokens, JwtClientLayer) {
    let tokens = ClientTokens::new();
    tokens
        .set(pair.access_token(), pair.refresh_token())
        .expect("a readable token");
    let origin = url.parse().expect("the server's origin");
    let layer = JwtClientLayer::new(tokens.clone(), origin).clock(clock.clone());
    (tokens, layer)
}

fn counter() -> (Arc<AtomicUsize>, impl Fn() + Send + Sync + 'static) {
    let count = Arc::new(AtomicUsize::new(0));
    let counted = count.clone();
    (count, move || {
        counted.fetch_add(1, Ordering::SeqCst);
    })
}

async fn get_at(
    client: &HttpClient,
    uri: &str,
) -> Result<http::Response<hyper::body::Incoming>, ClientError<hyper_util::client::legacy::Error>> {
    let request = http::Request::get(uri)
        .body(Body::empty())
        .expect("request");
    client.clone().oneshot(request).await
}

async fn get_me(
    client: &HttpClient,
    url: &str,
) -> Result<http::Response<hyper::body::Incoming>, ClientError<hyper_util::client::legacy::Error>> {
    get_at(client, &format!("{url}/me")).await
}

#[tokio::test]
async fn an_expired_access_token_is_refreshed_in_band_and_the_request_is_sent_once() {
    let clock = ManualClock::new(NOW);
    let Served {
        seen, url, pair, ..
    } = served(&clock, |b| b).await;
    let (refreshed, on_refresh) = counter();
    let (tokens, layer) = logged_in(&pair, &clock, &url);
    let client = client(layer.on_refresh(on_refresh));

    assert_eq!(get_me(&client, &url).await.expect("served").status(), 200);
    assert!(seen.offered().is_empty(), "no refresh token while valid");

    // Within the skew margin of expiry the client already counts the token as expired.
    clock.advance(ACCESS_TTL - Duration::from_secs(6));
    assert_eq!(get_me(&client, &url).await.expect("served").status(), 200);
    assert!(
        seen.offered().is_empty(),
        "outside the margin, still no refresh"
    );
    clock.advance(Duration::from_secs(6));

    let response = get_me(&client, &url).await.expect("served");
    assert_eq!(response.status(), 200);
    assert_eq!(seen.served(), 3, "the expired request reached the app once");
    assert_eq!(seen.offered(), [pair.refresh_token()]);
    assert_eq!(seen.refreshes(), 1);
    assert_eq!(seen.refused(), 0, "no 401 on the way");
    let minted = seen.minted.lock().unwrap()[0].clone();
    assert_eq!(tokens.access_token().as_deref(), Some(minted.as_str()));
    assert_eq!(refreshed.load(Ordering::SeqCst), 1);

    // The next request goes with the new token alone.
    assert_eq!(get_me(&client, &url).await.expect("served").status(), 200);
    assert_eq!(seen.offered().len(), 1);
    assert_eq!(seen.refreshes(), 1);
}

#[tokio::test]
async fn fifty_requests_meeting_an_expired_token_cause_one_refresh() {
    let clock = ManualClock::new(NOW);
    let Served {
        seen, url, pair, ..
    } = served(&clock, |b| b.refresh_rotation(true)).await;
    let (refreshed, on_refresh) = counter();
    let (_, layer) = logged_in(&pair, &clock, &url);
    let client = client(layer.on_refresh(on_refresh));

    clock.advance(ACCESS_TTL);
    let requests = (0..50).map(|_| {
        let client = client.clone();
        let url = url.clone();
        tokio::spawn(async move { get_me(&client, &url).await.map(|r| r.status()) })
    });
    for request in requests.collect::<Vec<_>>() {
        assert_eq!(request.await.expect("task").expect("served"), 200);
    }
    assert_eq!(seen.served(), 50);
    assert_eq!(seen.offered().len(), 1, "one request carried the refresh");
    assert_eq!(seen.refreshes(), 1, "the server refreshed once");
    assert_eq!(seen.refused(), 0);
    assert_eq!(refreshed.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_refused_refresh_requires_login_and_calls_back_once() {
    let clock = ManualClock::new(NOW);
    let Served {
        sessions,
        seen,
        url,
        pair,
    } = served(&clock, |b| b.refresh_ttl(Duration::from_secs(3600))).await;
    let (asked, on_login_required) = counter();
    let (tokens, layer) = logged_in(&pair, &clock, &url);
    let client = client(layer.on_login_required(on_login_required));

    clock.advance(Duration::from_secs(3600));
    let requests = (0..10).map(|_| {
        let client = client.clone();
        let url = url.clone();
        tokio::spawn(async move { get_me(&client, &url).await })
    });
    for request in requests.collect::<Vec<_>>() {
        let error = request
            .await
            .expect("task")
            .expect_err("the refresh token expired");
        assert!(matches!(error, ClientError::LoginRequired), "{error}");
    }
    assert_eq!(asked.load(Ordering::SeqCst), 1, "the callback ran once");
    assert_eq!(seen.offered().len(), 1, "one refresh, shared by all");
    assert!(tokens.access_token().is_none(), "the tokens were cleared");

    // Later requests fail fast, without reaching the server.
    let error = get_me(&client, &url).await.expect_err("still logged out");
    assert!(matches!(error, ClientError::LoginRequired));
    assert_eq!(seen.refused(), 1);
    assert_eq!(seen.served(), 0);
    assert_eq!(asked.load(Ordering::SeqCst), 1);

    // A new login brings the client back.
    clock.advance(Duration::from_secs(1));
    let pair = sessions.issue("alice", ()).await.expect("issue");
    tokens
        .set(pair.access_token(), pair.refresh_token())
        .expect("a readable token");
    assert_eq!(get_me(&client, &url).await.expect("served").status(), 200);
}

#[tokio::test]
async fn a_refused_refresh_can_come_back_as_the_servers_response() {
    let clock = ManualClock::new(NOW);
    let Served { url, pair, .. } =
        served(&clock, |b| b.refresh_ttl(Duration::from_secs(3600))).await;
    let (_, layer) = logged_in(&pair, &clock, &url);
    let client = client(layer.login_required_as_response(true));

    clock.advance(Duration::from_secs(3600));
    let response = get_me(&client, &url).await.expect("the server's refusal");
    assert_eq!(response.status(), 401);
    assert!(
        text(response.headers().get("www-authenticate"))
            .expect("a challenge")
            .contains("the refresh token expired")
    );
    let error = get_me(&client, &url).await.expect_err("then fail fast");
    assert!(matches!(error, ClientError::LoginRequired));
}

#[tokio::test]
async fn with_rotation_the_rotated_refresh_token_is_kept_and_the_old_never_sent_again() {
    let clock = ManualClock::new(NOW);
    let Served {
        seen, url, pair, ..
    } = served(&clock, |b| b.refresh_rotation(true)).await;
    let (_, layer) = logged_in(&pair, &clock, &url);
    let client = client(layer);

    for _ in 0..3 {
        clock.advance(ACCESS_TTL);
        assert_eq!(get_me(&client, &url).await.expect("served").status(), 200);
        assert_eq!(get_me(&client, &url).await.expect("served").status(), 200);
    }
    let offered = seen.offered();
    let rotated = seen.rotated.lock().unwrap().clone();
    assert_eq!(offered.len(), 3);
    assert_eq!(rotated.len(), 3, "every refresh rotated the refresh token");
    assert_eq!(offered[0], pair.refresh_token());
    assert_eq!(
        offered[1..],
        rotated[..2],
        "each refresh used the token the last one minted"
    );
    assert_eq!(seen.refused(), 0, "no reuse was ever detected");
}

#[tokio::test]
async fn a_cancelled_refresh_still_keeps_the_rotated_token() {
    let clock = ManualClock::new(NOW);
    let sessions = sessions(&clock, |b| {
        b.refresh_rotation(true).refresh_grace(Duration::ZERO)
    });
    let seen = Seen::default();
    let url = serve(&sessions, &seen).await;
    let pair = sessions.issue("alice", ()).await.expect("issue");
    let (tokens, layer) = logged_in(&pair, &clock, &url);
    let client = client(layer);

    clock.advance(ACCESS_TTL);
    let slow = {
        let client = client.clone();
        let request = http::Request::get(format!("{url}/slow"))
            .body(Body::empty())
            .expect("request");
        tokio::spawn(async move { client.oneshot(request).await })
    };
    seen.arrived.notified().await;
    // The caller gives up while the server is answering the request that carries the refresh.
    slow.abort();
    assert!(slow.await.expect_err("aborted").is_cancelled());
    seen.release.notify_one();

    // This request waits for that refresh and goes with its tokens: the rotated refresh token
    // was kept, so the next refresh is not a reuse.
    assert_eq!(get_me(&client, &url).await.expect("served").status(), 200);
    assert_eq!(seen.refreshes(), 1);
    let rotated = seen.rotated.lock().unwrap()[0].clone();
    clock.advance(ACCESS_TTL);
    assert_eq!(get_me(&client, &url).await.expect("served").status(), 200);
    assert_eq!(seen.offered(), [pair.refresh_token().to_owned(), rotated]);
    assert_eq!(seen.refused(), 0);
    assert!(tokens.access_token().is_some());
}

#[tokio::test]
async fn a_copy_of_the_refresh_token_used_first_ends_both_sessions() {
    let clock = ManualClock::new(NOW);
    let Served { url, pair, .. } = served(&clock, |b| b).await;
    let (asked, on_login_required) = counter();
    let (honest_tokens, honest) = logged_in(&pair, &clock, &url);
    let honest = client(honest.on_login_required(on_login_required));
    let (_, thief) = logged_in(&pair, &clock, &url);
    let thief = client(thief);

    // The thief refreshes first, then the honest client, after the grace window.
    clock.advance(ACCESS_TTL);
    assert_eq!(get_me(&thief, &url).await.expect("served").status(), 200);
    clock.advance(Duration::from_secs(60));
    let error = get_me(&honest, &url).await.expect_err("theft");
    assert!(matches!(error, ClientError::LoginRequired), "{error}");
    assert_eq!(asked.load(Ordering::SeqCst), 1);
    assert!(honest_tokens.access_token().is_none());

    // The thief's fresh access token died with the session.
    let response = get_me(&thief, &url).await.expect("the server's answer");
    assert_eq!(response.status(), 401);
    assert!(
        text(response.headers().get("www-authenticate"))
            .expect("a challenge")
            .contains("the session was revoked")
    );
}

#[tokio::test]
async fn a_client_clock_behind_the_servers_costs_one_401_and_one_resend() {
    let server_clock = ManualClock::new(NOW);
    let Served {
        seen, url, pair, ..
    } = served(&server_clock, |b| b).await;
    let client_clock = ManualClock::new(NOW - 60);
    let (_, layer) = logged_in(&pair, &client_clock, &url);
    let client = client(layer);

    // The server's clock says expired; the client's (a minute behind) says valid.
    server_clock.advance(ACCESS_TTL);
    client_clock.advance(ACCESS_TTL);
    let response = get_me(&client, &url).await.expect("served");
    assert_eq!(response.status(), 200, "sent again with the refresh");
    assert_eq!(seen.refused(), 1);
    assert_eq!(seen.served(), 1);
    assert_eq!(seen.refreshes(), 1);

    // A request with a body cannot be sent again: it gets the 401, and the next refreshes.
    server_clock.advance(ACCESS_TTL);
    client_clock.advance(ACCESS_TTL);
    let post = http::Request::post(format!("{url}/me"))
        .body(Body::from("a body"))
        .expect("request");
    let response = client.clone().oneshot(post).await.expect("answered");
    assert_eq!(response.status(), 401);
    assert_eq!(seen.served(), 1);
    assert_eq!(get_me(&client, &url).await.expect("served").status(), 200);
    assert_eq!(seen.refreshes(), 2);
}

#[tokio::test]
async fn a_tonic_channel_refreshes_the_same_way() {
    let clock = ManualClock::new(NOW);
    let sessions = sessions(&clock, |b| b.refresh_rotation(true));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(tonic_example::serve(sessions.clone(), listener));
    let channel = Channel::from_shared(url.clone())
        .expect("URL")
        .connect()
        .await
        .expect("connect");

    let pair = sessions.issue("alice", ()).await.expect("issue");
    let (refreshed, on_refresh) = counter();
    let (tokens, layer) = logged_in(&pair, &clock, &url);
    let mut health = HealthClient::new(
        ServiceBuilder::new()
            .layer(layer.on_refresh(on_refresh))
            .service(channel),
    );
    let check = || tonic::Request::new(HealthCheckRequest::default());

    health.check(check()).await.expect("served");
    assert_eq!(refreshed.load(Ordering::SeqCst), 0);
    clock.advance(ACCESS_TTL);
    health.check(check()).await.expect("refreshed and served");
    assert_eq!(refreshed.load(Ordering::SeqCst), 1);
    assert_ne!(tokens.access_token().as_deref(), Some(pair.access_token()));
    clock.advance(ACCESS_TTL);
    health
        .check(check())
        .await
        .expect("refreshed with the rotated token");
    assert_eq!(refreshed.load(Ordering::SeqCst), 2);

    // Revoked: UNAUTHENTICATED with the server's reason, then login required.
    sessions.revoke_subject("alice").await.expect("revoke");
    let status = health.check(check()).await.expect_err("revoked");
    assert_eq!(status.code(), tonic::Code::Unauthenticated);
    assert_eq!(status.message(), "the session was revoked");
}

#[tokio::test]
async fn a_server_clock_behind_the_clients_is_offered_the_refresh_once_per_token() {
    let server_clock = ManualClock::new(NOW);
    let Served {
        seen, url, pair, ..
    } = served(&server_clock, |b| b).await;
    let client_clock = ManualClock::new(NOW);
    let (refreshed, on_refresh) = counter();
    let (_, layer) = logged_in(&pair, &client_clock, &url);
    let client = client(layer.on_refresh(on_refresh));

    // Inside the client's margin, while the server (six seconds behind) still takes the token.
    client_clock.advance(ACCESS_TTL - Duration::from_secs(4));
    server_clock.advance(ACCESS_TTL - Duration::from_secs(10));
    assert_eq!(get_me(&client, &url).await.expect("served").status(), 200);
    assert_eq!(seen.offered().len(), 1);
    assert_eq!(seen.refreshes(), 0);
    assert_eq!(refreshed.load(Ordering::SeqCst), 0, "served, not refreshed");
    assert_eq!(get_me(&client, &url).await.expect("served").status(), 200);
    assert_eq!(
        seen.offered().len(),
        1,
        "the token goes alone until its exp"
    );

    client_clock.advance(Duration::from_secs(10));
    server_clock.advance(Duration::from_secs(10));
    assert_eq!(get_me(&client, &url).await.expect("served").status(), 200);
    assert_eq!(seen.offered().len(), 2);
    assert_eq!(seen.refreshes(), 1);
    assert_eq!(refreshed.load(Ordering::SeqCst), 1);
}

/// What a request to another origin carried.
#[derive(Debug, Clone, PartialEq)]
struct Carried {
    path: String,
    authorization: Option<String>,
    refresh: Option<String>,
}

impl Carried {
    /// A request to `path` with no credential on it.
    fn bare(path: &str) -> Self {
        Self {
            path: path.to_owned(),
            authorization: None,
            refresh: None,
        }
    }
}

/// Another origin (another port of 127.0.0.1), and what each request to it carried.
struct Other {
    url: String,
    carried: Arc<Mutex<Vec<Carried>>>,
}

impl Other {
    fn carried(&self) -> Vec<Carried> {
        self.carried.lock().unwrap().clone()
    }
}

/// Serves another origin: it answers `/deny` with the `401` the server sends for an expired
/// access token, and anything else with tokens of its own to swap in (mallory's, from a server
/// with another key).
async fn other_origin(clock: &ManualClock) -> Other {
    let mallory = JwtSessions::builder()
        .hs256_secret(b"another origin's secret, 32 B!!!")
        .clock(clock.clone())
        .build()
        .expect("configuration")
        .issue("mallory", ())
        .await
        .expect("issue");
    let carried = Arc::new(Mutex::new(Vec::new()));
    let answer = |State((carried, mallory)): State<(Arc<Mutex<Vec<Carried>>>, TokenPair)>,
                  request: Request| async move {
        let headers = request.headers();
        carried.lock().unwrap().push(Carried {
            path: request.uri().path().to_owned(),
            authorization: text(headers.get("authorization")),
            refresh: text(headers.get("x-refresh-token")),
        });
        if request.uri().path() == "/deny" {
            let expired = AuthError::new(AuthErrorKind::Expired);
            let challenge = expired.challenge_header().expect("a challenge");
            return (
                http::StatusCode::UNAUTHORIZED,
                [("www-authenticate", challenge)],
            )
                .into_response();
        }
        let swap = [
            ("x-access-token", mallory.access_token().to_owned()),
            ("x-refresh-token", mallory.refresh_token().to_owned()),
        ];
        (swap, "another origin").into_response()
    };
    let app = Router::new()
        .fallback(answer)
        .with_state((carried.clone(), mallory));
    Other {
        url: common::http::serve(app).await,
        carried,
    }
}

#[tokio::test]
async fn a_request_to_another_origin_carries_no_token() {
    let clock = ManualClock::new(NOW);
    let Served {
        seen, url, pair, ..
    } = served(&clock, |b| b).await;
    let other = other_origin(&clock).await;
    let (tokens, layer) = logged_in(&pair, &clock, &url);
    let client = client(layer);
    let avatar = format!("{}/avatar.png", other.url);

    assert_eq!(
        get_at(&client, &avatar).await.expect("answered").status(),
        200
    );
    // Expired: a request for the server's origin would carry the refresh token now.
    clock.advance(ACCESS_TTL);
    assert_eq!(
        get_at(&client, &avatar).await.expect("answered").status(),
        200
    );
    assert_eq!(
        other.carried(),
        [Carried::bare("/avatar.png"), Carried::bare("/avatar.png")]
    );
    assert!(seen.offered().is_empty(), "no refresh was made on the way");

    // The session's own server is still sent the session's own tokens.
    assert_eq!(get_me(&client, &url).await.expect("served").status(), 200);
    assert_eq!(seen.bearers(), [pair.access_token()]);
    assert_eq!(seen.offered(), [pair.refresh_token()]);

    // Logged out, another origin's request still goes: it never needed the session.
    tokens.clear();
    assert_eq!(
        get_at(&client, &avatar).await.expect("answered").status(),
        200
    );
    assert_eq!(other.carried().len(), 3);
}

#[tokio::test]
async fn tokens_in_a_response_of_another_origin_are_never_taken() {
    let clock = ManualClock::new(NOW);
    let Served {
        seen, url, pair, ..
    } = served(&clock, |b| b.refresh_rotation(true)).await;
    let other = other_origin(&clock).await;
    let (refreshed, on_refresh) = counter();
    let (tokens, layer) = logged_in(&pair, &clock, &url);
    let client = client(layer.on_refresh(on_refresh));
    let swap = format!("{}/swap", other.url);

    get_at(&client, &swap).await.expect("answered");
    assert_eq!(tokens.access_token().as_deref(), Some(pair.access_token()));
    assert_eq!(get_me(&client, &url).await.expect("served").status(), 200);
    assert_eq!(
        seen.bearers(),
        [pair.access_token()],
        "alice's, not mallory's"
    );

    // Expired: another origin's new tokens are no refresh either.
    clock.advance(ACCESS_TTL);
    get_at(&client, &swap).await.expect("answered");
    assert_eq!(tokens.access_token().as_deref(), Some(pair.access_token()));
    assert_eq!(refreshed.load(Ordering::SeqCst), 0);
    assert_eq!(get_me(&client, &url).await.expect("served").status(), 200);
    assert_eq!(
        seen.offered(),
        [pair.refresh_token()],
        "alice's, not mallory's"
    );
    assert_eq!(refreshed.load(Ordering::SeqCst), 1);
    assert_eq!(seen.refused(), 0);
    assert_eq!(
        other.carried(),
        [Carried::bare("/swap"), Carried::bare("/swap")]
    );
}

#[tokio::test]
async fn a_redirect_to_another_origin_carries_no_token() {
    let clock = ManualClock::new(NOW);
    let Served {
        seen, url, pair, ..
    } = served(&clock, |b| b.refresh_rotation(true)).await;
    let other = other_origin(&clock).await;
    let (tokens, layer) = logged_in(&pair, &clock, &url);
    let plain = client(layer.clone());
    // Redirects followed outside the layer, as its docs say: each hop passes through it.
    let client = ServiceBuilder::new()
        .layer(FollowRedirectLayer::new())
        .layer(layer)
        .service(Client::builder(TokioExecutor::new()).build_http::<Body>());
    let away = format!("{url}/redirect?to={}/swap", other.url);
    let follow = || {
        let request = http::Request::get(&away)
            .body(Body::empty())
            .expect("request");
        client.clone().oneshot(request)
    };

    let response = follow().await.expect("followed");
    let landed = &response
        .extensions()
        .get::<RequestUri>()
        .expect("followed")
        .0;
    assert_eq!(landed.to_string(), format!("{}/swap", other.url));
    assert_eq!(seen.bearers(), [pair.access_token()], "the server's hop");
    assert_eq!(other.carried(), [Carried::bare("/swap")]);
    assert_eq!(tokens.access_token().as_deref(), Some(pair.access_token()));

    // Expired: the server's hop carries the refresh and gets the new tokens; the other
    // origin's hop carries nothing and its tokens are not taken.
    clock.advance(ACCESS_TTL);
    assert_eq!(follow().await.expect("followed").status(), 200);
    assert_eq!(
        other.carried(),
        [Carried::bare("/swap"), Carried::bare("/swap")]
    );
    assert_eq!(seen.offered(), [pair.refresh_token()]);
    let minted = seen.minted.lock().unwrap().clone();
    assert_eq!(tokens.access_token().as_ref(), minted.first());
    let rotated = seen.rotated.lock().unwrap()[0].clone();
    clock.advance(ACCESS_TTL);
    assert_eq!(get_me(&plain, &url).await.expect("served").status(), 200);
    assert_eq!(seen.offered(), [pair.refresh_token().to_owned(), rotated]);
    assert_eq!(seen.refused(), 0);
}

#[tokio::test]
async fn a_401_from_another_origin_never_triggers_a_refresh() {
    let clock = ManualClock::new(NOW);
    let Served {
        seen, url, pair, ..
    } = served(&clock, |b| b).await;
    let other = other_origin(&clock).await;
    let (asked, on_login_required) = counter();
    let (tokens, layer) = logged_in(&pair, &clock, &url);
    let client = client(layer.on_login_required(on_login_required));
    let deny = format!("{}/deny", other.url);

    // "The access token expired" while the client's clock says it is valid: handed back once,
    // not sent again with the refresh.
    assert_eq!(
        get_at(&client, &deny).await.expect("answered").status(),
        401
    );
    assert_eq!(other.carried(), [Carried::bare("/deny")]);
    assert_eq!(get_me(&client, &url).await.expect("served").status(), 200);
    assert!(
        seen.offered().is_empty(),
        "the token is still taken as valid"
    );

    // Expired: another origin's 401 is no refused refresh.
    clock.advance(ACCESS_TTL);
    assert_eq!(
        get_at(&client, &deny).await.expect("answered").status(),
        401
    );
    assert_eq!(asked.load(Ordering::SeqCst), 0);
    assert_eq!(tokens.access_token().as_deref(), Some(pair.access_token()));
    assert_eq!(get_me(&client, &url).await.expect("served").status(), 200);
    assert_eq!(seen.offered(), [pair.refresh_token()]);
    assert_eq!(seen.refreshes(), 1);
    assert_eq!(
        other.carried(),
        [Carried::bare("/deny"), Carried::bare("/deny")]
    );
}

#[tokio::test]
async fn the_origin_is_compared_as_browsers_compare_it() {
    let clock = ManualClock::new(NOW);
    let pair = sessions(&clock, |b| b)
        .issue("alice", ())
        .await
        .expect("issue");
    let (_, layer) = logged_in(&pair, &clock, "HTTPS://API.example.com:443/");
    let client = layer.layer(tower::service_fn(
        |request: http::Request<String>| async move {
            let carried = request.headers().contains_key("authorization");
            Ok::<_, Infallible>(http::Response::new(carried))
        },
    ));
    for (uri, ours) in [
        ("https://api.example.com/me", true),
        ("https://Api.Example.COM:443/me", true),
        ("/grpc.health.v1.Health/Check", true),
        ("http://api.example.com/me", false),
        ("https://api.example.com:8443/me", false),
        ("https://api.example.com.evil.example/me", false),
    ] {
        let request = http::Request::get(uri)
            .body(String::new())
            .expect("request");
        let response = client.clone().oneshot(request).await.expect("answered");
        assert_eq!(*response.body(), ours, "{uri}");
    }
}
