//! The plain hyper example, served and driven over HTTP.

#[expect(
    dead_code,
    reason = "the example's `main`, which the test does not run"
)]
#[path = "../../examples/hyper.rs"]
mod example;

use axum::body::Body;
use http::Request;
use http_body_util::BodyExt;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tower_jwt_auth::JwtSessions;

const SECRET: &[u8] = b"hyper example secret of 32 bytes";

#[tokio::test]
async fn the_hyper_example_serves_through_the_layer() {
    let sessions = JwtSessions::builder()
        .hs256_secret(SECRET)
        .build()
        .expect("configuration");
    let pair = sessions.issue("hyper-user", ()).await.expect("issue");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/", listener.local_addr().expect("address"));
    tokio::spawn(example::serve(sessions, listener));
    let client = Client::builder(TokioExecutor::new()).build_http::<Body>();

    let response = client
        .request(
            Request::get(&url)
                .header("authorization", format!("Bearer {}", pair.access_token()))
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("response");
    assert_eq!(response.status(), 200);
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    assert_eq!(body, "hello hyper-user");

    let response = client
        .request(Request::get(&url).body(Body::empty()).expect("request"))
        .await
        .expect("response");
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
}
