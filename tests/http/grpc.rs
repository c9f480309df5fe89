//! gRPC, for real: tonic-health's client over a `Channel` against the tonic example (a tonic
//! server with the layer) and against the demo (gRPC and HTTP on one port). Every refusal is a
//! gRPC status with the reason in its message; a refresh travels as metadata both ways.

use std::time::Duration;

use axum::body::Body;
use http::HeaderValue;
use http_body_util::BodyExt;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Channel, Server};
use tonic::{Code, Status};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};
use tower_jwt_auth::{AuthError, ErrorResponder, Grpc, JwtAuthLayer, JwtSessions, ManualClock};

use crate::common::failing_store::FailingStore;
use crate::{demo, tonic_example};

const SECRET: &[u8] = b"grpc test secret of 32 bytes!!!!";
const NOW: u64 = 1_700_000_000;

async fn listener() -> (tokio::net::TcpListener, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    (listener, url)
}

async fn client(url: &str) -> HealthClient<Channel> {
    let channel = Channel::from_shared(url.to_owned())
        .expect("URL")
        .connect()
        .await
        .expect("connect");
    HealthClient::new(channel)
}

/// `Check` with these metadata; the response or the status, and the response's metadata.
async fn check(
    client: &mut HealthClient<Channel>,
    access: Option<&str>,
    refresh: Option<&str>,
) -> Result<(HealthCheckResponse, tonic::metadata::MetadataMap), Status> {
    let mut request = tonic::Request::new(HealthCheckRequest {
        service: String::new(),
    });
    let metadata = request.metadata_mut();
    if let Some(access) = access {
        let value = format!("Bearer {access}").parse().expect("metadata value");
        metadata.insert("authorization", value);
    }
    if let Some(refresh) = refresh {
        metadata.insert("x-refresh-token", refresh.parse().expect("metadata value"));
    }
    let response = client.check(request).await?;
    let metadata = response.metadata().clone();
    Ok((response.into_inner(), metadata))
}

fn serving(response: HealthCheckResponse) -> bool {
    response.status == ServingStatus::Serving as i32
}

#[tokio::test]
async fn a_tonic_server_behind_the_layer_answers_in_grpc_statuses() {
    let clock = ManualClock::new(NOW);
    let store = FailingStore::new(false);
    let sessions = JwtSessions::builder()
        .hs256_secret(SECRET)
        .clock(clock.clone())
        .store(store.clone())
        .build()
        .expect("configuration");
    let (listener, url) = listener().await;
    tokio::spawn(tonic_example::serve(sessions.clone(), listener));
    let mut client = client(&url).await;

    let refused = check(&mut client, None, None).await.expect_err("no token");
    assert_eq!(refused.code(), Code::Unauthenticated);
    assert_eq!(refused.message(), "no credentials");

    let pair = sessions.issue("alice", ()).await.expect("issue");
    let (response, _) = check(&mut client, Some(pair.access_token()), None)
        .await
        .expect("a valid token");
    assert!(serving(response));

    let refused = check(&mut client, Some("not.a.token"), None)
        .await
        .expect_err("a bad token");
    assert_eq!(refused.code(), Code::Unauthenticated);
    assert_eq!(refused.message(), "the access token is malformed");

    // The access token expires; the refresh token in metadata refreshes in-band.
    clock.advance(Duration::from_secs(900));
    let (response, metadata) = check(
        &mut client,
        Some(pair.access_token()),
        Some(pair.refresh_token()),
    )
    .await
    .expect("refreshed and served");
    assert!(serving(response));
    let minted = metadata
        .get("x-access-token")
        .expect("the new access token in the response metadata")
        .to_str()
        .expect("ASCII")
        .to_owned();
    let (response, _) = check(&mut client, Some(&minted), None)
        .await
        .expect("the new token works");
    assert!(serving(response));

    // A refresh while that new token is valid, after the grace window: theft.
    clock.advance(Duration::from_secs(60));
    let theft = check(&mut client, None, Some(pair.refresh_token()))
        .await
        .expect_err("theft");
    assert_eq!(theft.code(), Code::Unauthenticated);
    assert_eq!(
        theft.message(),
        "refresh while the access token was valid; session revoked"
    );

    // The store fails: UNAVAILABLE, never UNAUTHENTICATED.
    let other = sessions.issue("bob", ()).await.expect("issue");
    store.fail(true);
    let unavailable = check(&mut client, Some(other.access_token()), None)
        .await
        .expect_err("store down");
    assert_eq!(unavailable.code(), Code::Unavailable);
    assert_eq!(unavailable.message(), "session store unavailable");
    store.fail(false);
}

/// A responder of the application's own for both protocols: over gRPC, the built-in status with
/// its own message and metadata.
#[derive(Clone)]
struct Branded;

impl<B: Default> ErrorResponder<B> for Branded {
    fn respond(&self, error: &AuthError) -> http::Response<B> {
        let mut response = http::Response::new(B::default());
        *response.status_mut() = error.status();
        response
            .headers_mut()
            .insert("x-branded", HeaderValue::from_static("http"));
        response
    }

    fn respond_grpc(&self, error: &AuthError) -> http::Response<B> {
        let mut response = Grpc.respond(error);
        let message = format!("branded: {}", error.description());
        let headers = response.headers_mut();
        headers.insert("grpc-message", message.try_into().expect("ASCII"));
        headers.insert("x-branded", HeaderValue::from_static("grpc"));
        response
    }
}

/// The health service behind `layer`, on `listener`.
async fn serve_health<R>(layer: JwtAuthLayer<(), R>, listener: tokio::net::TcpListener)
where
    R: ErrorResponder<tonic::body::Body>,
{
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter
        .set_service_status("", tonic_health::ServingStatus::Serving)
        .await;
    Server::builder()
        .layer(layer)
        .add_service(health)
        .serve_with_incoming(TcpIncoming::from(listener))
        .await
        .expect("served");
}

#[tokio::test]
async fn a_responder_of_ones_own_answers_grpc_calls_when_it_says_how() {
    let sessions = JwtSessions::builder()
        .hs256_secret(SECRET)
        .build()
        .expect("configuration");
    let (socket, url) = listener().await;
    tokio::spawn(serve_health(sessions.layer().on_error(Branded), socket));
    let mut branded = client(&url).await;
    let refused = check(&mut branded, Some("not.a.token"), None)
        .await
        .expect_err("a bad token");
    assert_eq!(refused.code(), Code::Unauthenticated);
    assert_eq!(refused.message(), "branded: the access token is malformed");
    assert_eq!(
        refused.metadata().get("x-branded").expect("its metadata"),
        "grpc"
    );

    // A closure shapes HTTP answers only: a gRPC call still gets a status it can read.
    let http_only = |error: &AuthError| {
        let mut response = http::Response::new(tonic::body::Body::default());
        *response.status_mut() = error.status();
        response
    };
    let (socket, url) = listener().await;
    tokio::spawn(serve_health(sessions.layer().on_error(http_only), socket));
    let refused = check(&mut client(&url).await, None, None)
        .await
        .expect_err("no token");
    assert_eq!(refused.code(), Code::Unauthenticated);
    assert_eq!(refused.message(), "no credentials");
}

/// The demo serves `grpc.health.v1.Health` on its HTTP port: a client that logged in over HTTP
/// calls `Check` with the access token as metadata.
#[tokio::test]
async fn the_demo_serves_grpc_and_http_on_one_port() {
    let sessions = JwtSessions::builder()
        .hs256_secret(SECRET)
        .build()
        .expect("configuration");
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .build_recorder()
        .handle();
    let app = demo::app(sessions, metrics).await;
    let (listener, url) = listener().await;
    tokio::spawn(async move { axum::serve(listener, app).await });

    let http = Client::builder(TokioExecutor::new()).build_http::<Body>();
    let login = http::Request::post(format!("{url}/login"))
        .header("content-type", "application/json")
        .body(Body::from(r#"{"username":"alice","password":"demo"}"#))
        .expect("request");
    let response = http.request(login).await.expect("login");
    assert_eq!(response.status(), 200);
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let pair: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
    let access = pair["access_token"].as_str().expect("a token");

    let mut client = client(&url).await;
    let (response, _) = check(&mut client, Some(access), None)
        .await
        .expect("served");
    assert!(serving(response));
    let refused = check(&mut client, None, None).await.expect_err("no token");
    assert_eq!(refused.code(), Code::Unauthenticated);

    // The HTTP routes answer as before on the same port.
    let health = http
        .request(
            http::Request::get(format!("{url}/health"))
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("health");
    assert_eq!(health.status(), 200);
}
