//! The `metrics` feature, read where an operator reads it: the demo's `GET /metrics` after a
//! login, a refresh and a theft, each counted once. (Alone in a process of its own: the recorder
//! is global to it.)

use axum::body::Body;
use http::Request;
use http_body_util::BodyExt;
use tower::ServiceExt;
use tower_jwt_auth::{JwtSessions, ManualClock};

use crate::common::alone;
use crate::demo;

const SECRET: &[u8] = b"metrics test secret of 32 bytes!";
const NOW: u64 = 1_700_000_000;

async fn send(app: &axum::Router, request: Request<Body>) -> (u16, String) {
    let response = app.clone().oneshot(request).await.expect("infallible");
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (status, String::from_utf8(body.to_vec()).expect("UTF-8"))
}

/// The value of the sample `name{labels}` in Prometheus text, if present.
fn sample(text: &str, name_and_labels: &str) -> Option<f64> {
    text.lines()
        .find(|line| line.starts_with(name_and_labels))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

#[tokio::test]
async fn metrics_count_a_login_a_refresh_and_a_theft_once_each() {
    if alone::ran().is_some() {
        return;
    }
    let handle = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .expect("the only recorder of this process");
    let clock = ManualClock::new(NOW);
    let sessions = JwtSessions::builder()
        .hs256_secret(SECRET)
        .clock(clock.clone())
        .build()
        .expect("configuration");
    let app = demo::app(sessions, handle).await;

    let login = Request::post("/login")
        .header("content-type", "application/json")
        .body(Body::from(r#"{"username":"alice","password":"demo"}"#))
        .expect("request");
    let (status, body) = send(&app, login).await;
    assert_eq!(status, 200);
    let pair: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    let refresh_token = pair["refresh_token"].as_str().expect("token").to_owned();

    clock.advance(std::time::Duration::from_secs(900));
    let refresh = || {
        Request::get("/me")
            .header("x-refresh-token", &refresh_token)
            .body(Body::empty())
            .expect("request")
    };
    assert_eq!(send(&app, refresh()).await.0, 200);
    clock.advance(std::time::Duration::from_secs(60));
    assert_eq!(send(&app, refresh()).await.0, 401, "theft");

    let (status, text) = send(
        &app,
        Request::get("/metrics")
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(status, 200);
    for (sample_name, expected) in [
        ("jwt_auth_store_seconds_count{op=\"create\"}", 1.0),
        ("jwt_auth_refreshes_total{result=\"ok\"}", 1.0),
        ("jwt_auth_refreshes_total{result=\"theft\"}", 1.0),
        ("jwt_auth_requests_total{outcome=\"refreshed\"}", 1.0),
        ("jwt_auth_requests_total{outcome=\"refused\"}", 1.0),
        ("jwt_auth_store_seconds_count{op=\"refresh\"}", 2.0),
    ] {
        assert_eq!(
            sample(&text, sample_name),
            Some(expected),
            "{sample_name} in:\n{text}"
        );
    }
    // Label values are fixed words: no subject, session or token.
    assert!(!text.contains("alice"), "{text}");
    assert!(!text.contains(&refresh_token));
}
