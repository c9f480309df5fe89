//! What only the actix adapter itself does, in process: a refresh's tokens on a handler's
//! error, none for a request that ended its own session, the extractors, gRPC refusals.

use std::time::Duration;

use actix_web::{App, HttpResponse, test, web};
use tower_jwt_auth::actix::JwtAuthMiddleware;
use tower_jwt_auth::{Claims, JwtSessions, ManualClock};

use super::server::{ACCESS_TTL, T0, sessions};

async fn failing(_: Claims) -> Result<HttpResponse, actix_web::Error> {
    Err(actix_web::error::ErrorServiceUnavailable(
        "the handler failed",
    ))
}

async fn end_session(sessions: web::Data<JwtSessions>, claims: Claims) -> HttpResponse {
    sessions
        .revoke_session(claims.session_id())
        .await
        .expect("store");
    HttpResponse::NoContent().finish()
}

async fn greeting(claims: Option<Claims>) -> String {
    claims.map_or_else(|| "stranger".to_owned(), |c| c.subject().to_owned())
}

async fn who(claims: Claims) -> String {
    claims.subject().to_owned()
}

/// An app with the adapter's edge routes, on `sessions`, as a service to call. (A macro: the
/// service's request type is actix-http's, which actix-web does not export.)
macro_rules! app {
    ($sessions:expr) => {{
        let sessions: &JwtSessions = $sessions;
        let auth = JwtAuthMiddleware::from(sessions);
        let anonymous = JwtAuthMiddleware::new(sessions.gate().allow_anonymous(true));
        test::init_service(
            App::new()
                .app_data(web::Data::new(sessions.clone()))
                .route("/failing", web::get().to(failing).wrap(auth.clone()))
                .route("/end", web::post().to(end_session).wrap(auth.clone()))
                .route("/greeting", web::get().to(greeting).wrap(anonymous))
                .route("/unguarded", web::get().to(who))
                .route("/grpc", web::post().to(who).wrap(auth)),
        )
        .await
    }};
}

#[actix_web::test]
async fn a_refresh_reaches_the_client_even_when_the_handler_fails() {
    let clock = ManualClock::new(T0);
    let sessions = sessions(&clock, |b| b);
    let app = app!(&sessions);
    let pair = sessions.issue("alice", ()).await.expect("issue");
    clock.advance(Duration::from_secs(ACCESS_TTL));
    let request = test::TestRequest::get()
        .uri("/failing")
        .insert_header(("x-refresh-token", pair.refresh_token()))
        .to_request();
    let response = test::call_service(&app, request).await;
    assert_eq!(response.status(), 503);
    let access = response
        .headers()
        .get("x-access-token")
        .expect("the new token");
    assert_eq!(response.headers().get("cache-control").unwrap(), "no-store");
    let claims = sessions
        .authenticate(access.to_str().expect("text"))
        .await
        .expect("a live token");
    assert_eq!(claims.subject(), "alice");
}

#[actix_web::test]
async fn a_request_that_ends_its_own_session_carries_no_new_token_out() {
    let clock = ManualClock::new(T0);
    let sessions = sessions(&clock, |b| b);
    let app = app!(&sessions);
    let pair = sessions.issue("alice", ()).await.expect("issue");
    clock.advance(Duration::from_secs(ACCESS_TTL));
    let request = test::TestRequest::post()
        .uri("/end")
        .insert_header(("x-refresh-token", pair.refresh_token()))
        .to_request();
    let response = test::call_service(&app, request).await;
    assert_eq!(response.status(), 204);
    assert!(response.headers().get("x-access-token").is_none());
    assert_eq!(response.headers().get("cache-control").unwrap(), "no-store");
}

#[actix_web::test]
async fn option_claims_are_none_only_without_credentials() {
    let clock = ManualClock::new(T0);
    let sessions = sessions(&clock, |b| b);
    let app = app!(&sessions);
    let anonymous = test::TestRequest::get().uri("/greeting").to_request();
    assert_eq!(test::call_and_read_body(&app, anonymous).await, "stranger");
    let pair = sessions.issue("alice", ()).await.expect("issue");
    let bearer = ("authorization", format!("Bearer {}", pair.access_token()));
    let known = test::TestRequest::get()
        .uri("/greeting")
        .insert_header(bearer)
        .to_request();
    assert_eq!(test::call_and_read_body(&app, known).await, "alice");
    // A bad credential is refused, not taken for none.
    let bad = test::TestRequest::get()
        .uri("/greeting")
        .insert_header(("authorization", "Bearer not.a.token"))
        .to_request();
    assert_eq!(test::call_service(&app, bad).await.status(), 401);
}

#[actix_web::test]
async fn claims_on_a_route_without_the_middleware_are_a_500_naming_the_type() {
    let clock = ManualClock::new(T0);
    let sessions = sessions(&clock, |b| b);
    let app = app!(&sessions);
    let pair = sessions.issue("alice", ()).await.expect("issue");
    let request = test::TestRequest::get()
        .uri("/unguarded")
        .insert_header(("authorization", format!("Bearer {}", pair.access_token())))
        .to_request();
    let response = test::call_service(&app, request).await;
    assert_eq!(response.status(), 500);
    let body = test::read_body(response).await;
    let body = std::str::from_utf8(&body).expect("text");
    assert!(body.starts_with("Missing claims: `Claims<()>`"), "{body}");
}

#[actix_web::test]
async fn a_grpc_call_is_refused_with_a_grpc_status() {
    let clock = ManualClock::new(T0);
    let sessions = sessions(&clock, |b| b);
    let app = app!(&sessions);
    let request = test::TestRequest::post()
        .uri("/grpc")
        .insert_header(("content-type", "application/grpc"))
        .to_request();
    let response = test::call_service(&app, request).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers().get("grpc-status").unwrap(), "16");
    assert_eq!(
        response.headers().get("content-type").unwrap(),
        "application/grpc"
    );
}

/// A resource server's gate behind the same middleware: `AccessClaims` for the handler, the
/// same refusals.
#[cfg(feature = "oidc")]
#[actix_web::test]
async fn a_resource_server_gate_serves_access_claims() {
    use tower_jwt_auth::oidc::{AccessClaims, Issuer, RemoteKeys, ResourceServer};
    use tower_jwt_auth::{Algorithm, JwtKeys};

    let key = |name: &str| {
        let path = format!("{}/tests/keys/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(path).expect("test key")
    };
    let clock = ManualClock::new(T0);
    let keys = JwtKeys::from_pem(
        Algorithm::EdDSA,
        &key("ed25519.pem"),
        &key("ed25519.pub.pem"),
    )
    .expect("keys");
    let issuing = JwtSessions::builder()
        .keys(keys)
        .clock(clock.clone())
        .build()
        .expect("configuration");
    let server = ResourceServer::builder()
        .issuer(Issuer::any(
            RemoteKeys::from_jwk_set(&issuing.jwks()).expect("keys"),
        ))
        .clock(clock)
        .build()
        .expect("server");
    async fn orders(claims: AccessClaims) -> String {
        claims.subject().unwrap_or_default().to_owned()
    }
    let app = test::init_service(
        App::new().route(
            "/orders",
            web::get()
                .to(orders)
                .wrap(JwtAuthMiddleware::new(server.gate())),
        ),
    )
    .await;

    let pair = issuing.issue("alice", ()).await.expect("issue");
    let request = test::TestRequest::get()
        .uri("/orders")
        .insert_header(("authorization", format!("Bearer {}", pair.access_token())))
        .to_request();
    assert_eq!(test::call_and_read_body(&app, request).await, "alice");
    let anonymous = test::TestRequest::get().uri("/orders").to_request();
    let refused = test::call_service(&app, anonymous).await;
    assert_eq!(refused.status(), 401);
    assert_eq!(refused.headers().get("www-authenticate").unwrap(), "Bearer");
}
