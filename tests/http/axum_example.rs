//! The notes example (`examples/axum.rs`, the README's walkthrough) served on 127.0.0.1 and
//! driven over HTTP: login, claims with a role, a 403 for a missing role, public and unknown
//! routes, logout and "log out everywhere". And the `Claims` extractor's answer when a route is
//! not behind the layer it expects.

#[expect(
    dead_code,
    reason = "the example's `main`, which the test does not run"
)]
#[path = "../../examples/axum.rs"]
mod notes;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use tower::ServiceExt;
use tower_jwt_auth::{Claims, JwtSessions};

const SECRET: &[u8] = b"notes example secret of 32 bytes";

struct Server {
    base: String,
    client: Client<HttpConnector, Body>,
}

impl Server {
    async fn start() -> Self {
        let sessions = JwtSessions::builder()
            .claims::<notes::Role>()
            .hs256_secret(SECRET)
            .build()
            .expect("configuration");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        tokio::spawn(async move {
            axum::serve(listener, notes::app(sessions))
                .await
                .expect("serve");
        });
        let client = Client::builder(TokioExecutor::new()).build_http();
        Self { base, client }
    }

    async fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: String,
    ) -> (StatusCode, String) {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        if body.starts_with('{') {
            request = request.header("content-type", "application/json");
        }
        let response = self
            .client
            .request(request.body(Body::from(body)).expect("request"))
            .await
            .expect("response");
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        (status, String::from_utf8(bytes.to_vec()).expect("UTF-8"))
    }

    async fn login(&self, username: &str) -> String {
        let body = json!({ "username": username, "password": "demo" }).to_string();
        let (status, body) = self.send("POST", "/login", None, body).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let pair: Value = serde_json::from_str(&body).expect("JSON");
        pair["access_token"].as_str().expect("a token").to_owned()
    }
}

#[tokio::test]
async fn the_walkthrough_app_over_http() {
    let server = Server::start().await;
    let (status, _) = server
        .send(
            "POST",
            "/login",
            None,
            json!({"username": "alice", "password": "wrong"}).to_string(),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let alice = server.login("alice").await;
    let (status, body) = server.send("GET", "/me", Some(&alice), String::new()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        serde_json::from_str::<Value>(&body).expect("JSON"),
        json!({"sub": "alice", "role": "user"})
    );

    // A role the claims lack is 403; the admin's claims carry it.
    let (status, _) = server
        .send("GET", "/admin", Some(&alice), String::new())
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let admin = server.login("admin").await;
    let (status, body) = server
        .send("GET", "/admin", Some(&admin), String::new())
        .await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "welcome, admin"));

    // Public routes need nothing; unknown ones are 404, not 401 (`route_layer`).
    let (status, _) = server.send("GET", "/health", None, String::new()).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = server.send("GET", "/nowhere", None, String::new()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = server.send("GET", "/me", None, String::new()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Notes are one's own.
    let (status, _) = server
        .send("POST", "/notes", Some(&alice), "buy milk".into())
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, body) = server
        .send("GET", "/notes", Some(&alice), String::new())
        .await;
    assert_eq!(body, r#"["buy milk"]"#);
    let (_, body) = server
        .send("GET", "/notes", Some(&admin), String::new())
        .await;
    assert_eq!(body, "[]");

    // Logout ends one session; "log out everywhere" every one.
    let (status, _) = server
        .send("POST", "/logout", Some(&alice), String::new())
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = server.send("GET", "/me", Some(&alice), String::new()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let phone = server.login("bob").await;
    let laptop = server.login("bob").await;
    let (status, body) = server
        .send("POST", "/logout-everywhere", Some(&laptop), String::new())
        .await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, r#"{"ended":2}"#));
    for token in [&phone, &laptop] {
        let (status, _) = server.send("GET", "/me", Some(token), String::new()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
}

/// A handler asking for claims the request has not got is a 500 that says why: no layer, or a
/// layer of another claims type, naming the type it wanted.
#[tokio::test]
async fn claims_of_another_type_than_the_layers_name_the_wanted_type() {
    let sessions = JwtSessions::builder()
        .claims::<notes::Role>()
        .hs256_secret(SECRET)
        .build()
        .expect("configuration");
    let role = notes::Role {
        role: "user".into(),
    };
    let pair = sessions.issue("alice", role).await.expect("issue");
    let app = Router::new()
        .route(
            "/plain",
            get(|claims: Claims| async move { claims.subject().to_owned() }),
        )
        .route_layer(sessions.layer());
    let request = Request::get("/plain")
        .header("authorization", format!("Bearer {}", pair.access_token()))
        .body(Body::empty())
        .expect("request");
    let response = app.oneshot(request).await.expect("infallible");
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let body = String::from_utf8(body.to_vec()).expect("UTF-8");
    assert!(body.contains("`Claims<()>` was not found"), "{body}");
    assert!(body.contains("another claims type"), "{body}");

    // Not behind any layer at all.
    let bare = Router::new().route(
        "/bare",
        get(|claims: Claims<notes::Role>| async move { claims.subject().to_owned() }),
    );
    let response = bare
        .oneshot(Request::get("/bare").body(Body::empty()).expect("request"))
        .await
        .expect("infallible");
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let body = String::from_utf8_lossy(&body);
    assert!(
        body.contains("`Claims<http::axum_example::notes::Role>` was not found"),
        "{body}"
    );
    assert!(body.contains("not behind a JwtAuthLayer"), "{body}");
}
