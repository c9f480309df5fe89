//! The demo's routes over a real socket: REST and gRPC share one port, each behind the layer,
//! and a path that is neither is `404` whatever credentials come with it — never a `401`, a
//! refresh, or a gRPC status.

use crate::common::http as support_http;
use crate::demo;

use std::time::Duration;

use axum::body::Body;
use http::{Method, Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tower_jwt_auth::cookie::CookieSettings;
use tower_jwt_auth::{JwtSessions, ManualClock, TokenPair};

const SECRET: &[u8] = b"demo routes secret of 32 bytes!!";
const NOW: u64 = 1_700_000_000;
const ACCESS_TTL: u64 = 900;

/// The demo's app, in cookie mode as the demo runs it, on a free port; its URL.
async fn demo(clock: &ManualClock) -> (JwtSessions, String) {
    let sessions = JwtSessions::builder()
        .hs256_secret(SECRET)
        .clock(clock.clone())
        .access_ttl(Duration::from_secs(ACCESS_TTL))
        .cookies(CookieSettings::new())
        .build()
        .expect("configuration");
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .build_recorder()
        .handle();
    let url = support_http::serve(demo::app(sessions.clone(), metrics).await).await;
    (sessions, url)
}

async fn send(
    method: Method,
    url: &str,
    headers: &[(&str, String)],
) -> Response<hyper::body::Incoming> {
    let mut request = Request::builder().method(method).uri(url);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    Client::builder(TokioExecutor::new())
        .build_http::<Body>()
        .request(request.body(Body::empty()).expect("request"))
        .await
        .expect("response")
}

fn bearer(pair: &TokenPair) -> (&'static str, String) {
    ("authorization", format!("Bearer {}", pair.access_token()))
}

/// Both tokens in the demo page's cookies.
fn cookies(pair: &TokenPair) -> (&'static str, String) {
    let cookie = format!(
        "__Host-access-token={}; __Host-refresh-token={}",
        pair.access_token(),
        pair.refresh_token()
    );
    ("cookie", cookie)
}

#[tokio::test]
async fn an_unknown_path_is_404_with_or_without_credentials() {
    let clock = ManualClock::new(NOW);
    let (sessions, url) = demo(&clock).await;
    let nowhere = format!("{url}/nowhere");

    let anonymous = send(Method::GET, &nowhere, &[]).await;
    assert_eq!(anonymous.status(), StatusCode::NOT_FOUND);
    assert!(!anonymous.headers().contains_key("www-authenticate"));

    let pair = sessions.issue("alice", ()).await.expect("issue");
    let with_token = send(Method::GET, &nowhere, &[bearer(&pair)]).await;
    assert_eq!(with_token.status(), StatusCode::NOT_FOUND);

    // A browser whose access cookie has expired: nothing refreshes for a path that is not there.
    clock.advance(Duration::from_secs(ACCESS_TTL));
    let expired = send(Method::GET, &nowhere, &[cookies(&pair)]).await;
    assert_eq!(expired.status(), StatusCode::NOT_FOUND);
    assert!(!expired.headers().contains_key("set-cookie"));
    assert!(!expired.headers().contains_key("grpc-status"));

    // Routes that exist answer as they did: protected ones refuse, public ones serve.
    let me = send(Method::GET, &format!("{url}/me"), &[]).await;
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
    let health = send(Method::GET, &format!("{url}/health"), &[]).await;
    assert_eq!(health.status(), StatusCode::OK);
}

#[tokio::test]
async fn grpc_calls_reach_the_layer_only_for_the_service_the_demo_serves() {
    let clock = ManualClock::new(NOW);
    let (_, url) = demo(&clock).await;
    let grpc = ("content-type", "application/grpc".to_owned());

    // The health service is behind the layer: a call without a token is UNAUTHENTICATED.
    let check = format!("{url}/grpc.health.v1.Health/Check");
    let refused = send(Method::POST, &check, std::slice::from_ref(&grpc)).await;
    assert_eq!(refused.status(), StatusCode::OK);
    assert_eq!(refused.headers()["grpc-status"], "16");

    // A service the demo does not serve is 404, which gRPC clients read as UNIMPLEMENTED.
    let unknown = format!("{url}/example.Missing/Call");
    let missing = send(Method::POST, &unknown, &[grpc]).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert!(!missing.headers().contains_key("grpc-status"));
}
