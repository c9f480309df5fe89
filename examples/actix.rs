//! The demo server on actix-web: `cargo run --example actix --features actix`.
//!
//! The same routes, answers and environment variables as the axum demo, `examples/server.rs`
//! (see its docs: `ADDR`, `JWT_SECRET`, the lifetimes, `REFRESH_ROTATION`, `PAIR_STORE`,
//! `COOKIE_SECURE`…), read by the same `common/demo_env.rs`. Every rule about tokens is the
//! crate's, through [`JwtAuthMiddleware`]: a client cannot tell the two servers apart.
//!
//! ```text
//! GET  /                                                 -> the demo page (cookie mode)
//! POST /login   {"username": "...", "password": "demo"}  -> 200 token pair, or 401
//! POST /login/cookies  (the same body)                   -> 204 with both tokens in HttpOnly
//!                                                           cookies, or 401
//! GET  /me      (protected)                              -> 200 {"sub", "sid"}
//! POST /logout  (protected)                              -> 204, session revoked, cookies
//!                                                           removed
//! GET  /health                                           -> 200
//! GET  /.well-known/jwks.json                            -> 200 public keys (JWKS)
//! GET  /metrics                                          -> 200 Prometheus text (with the
//!                                                           `metrics` feature, the counters)
//! anything else                                          -> 404
//! ```
//!
//! One difference: a login body that is not the JSON above is refused by each framework's own
//! JSON extractor, in its own words (`400` here, `415` or `422` on axum).
//!
//! No gRPC: tonic's services are tower services served by hyper, which actix-web does not run;
//! the axum demo serves the gRPC health service beside its routes.

use actix_web::http::StatusCode;
use actix_web::http::header::ContentType;
use actix_web::{App, Either, HttpResponse, HttpServer, web};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde::Deserialize;
use serde_json::json;
use tower_jwt_auth::actix::JwtAuthMiddleware;
use tower_jwt_auth::{AuthError, Claims, JwtSessions, TokenPair};

#[path = "common/demo_env.rs"]
mod demo_env;

use demo_env::BoxError;

#[derive(Deserialize)]
struct Login {
    username: String,
    password: String,
}

/// A stand-in user check: any username, password `demo`.
async fn login(
    sessions: web::Data<JwtSessions>,
    login: web::Json<Login>,
) -> Either<TokenPair, HttpResponse> {
    let Login { username, password } = login.into_inner();
    if username.is_empty() || password != "demo" {
        return Either::Right(HttpResponse::Unauthorized().finish());
    }
    match sessions.issue(username, ()).await {
        // JSON with Cache-Control: no-store.
        Ok(pair) => Either::Left(pair),
        Err(error) => Either::Right(refused(&error)),
    }
}

/// The page's login: the same check, with the tokens in `HttpOnly` cookies instead of the body.
async fn login_cookies(sessions: web::Data<JwtSessions>, login: web::Json<Login>) -> HttpResponse {
    let Login { username, password } = login.into_inner();
    if username.is_empty() || password != "demo" {
        return HttpResponse::Unauthorized().finish();
    }
    let cookies = async {
        let pair = sessions.issue(username, ()).await?;
        sessions.login_cookies(&pair)
    };
    match cookies.await {
        Ok(cookies) => with_headers(HttpResponse::NoContent().finish(), &cookies),
        Err(error) => refused(&error),
    }
}

/// An error of the sessions, as the axum demo answers it: its status and its text.
fn refused(error: &AuthError) -> HttpResponse {
    let status =
        StatusCode::from_u16(error.status().as_u16()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    HttpResponse::build(status)
        .content_type(ContentType::plaintext())
        .body(error.to_string())
}

/// `response` with `headers` (the crate's `http` 1 headers: cookies, `Cache-Control`) added.
fn with_headers(mut response: HttpResponse, headers: &http::HeaderMap) -> HttpResponse {
    for (name, value) in headers {
        let (Ok(name), Ok(value)) = (
            actix_web::http::header::HeaderName::from_bytes(name.as_str().as_bytes()),
            actix_web::http::header::HeaderValue::from_bytes(value.as_bytes()),
        ) else {
            return HttpResponse::InternalServerError().finish();
        };
        response.headers_mut().append(name, value);
    }
    response
}

async fn me(claims: Claims) -> HttpResponse {
    HttpResponse::Ok()
        .json(json!({ "sub": claims.subject(), "sid": claims.session_id().to_string() }))
}

async fn logout(sessions: web::Data<JwtSessions>, claims: Claims) -> HttpResponse {
    let logout = async {
        sessions.revoke_session(claims.session_id()).await?;
        // Header clients ignore these; the page's browser forgets both cookies.
        sessions.logout_cookies()
    };
    match logout.await {
        Ok(cookies) => with_headers(HttpResponse::NoContent().finish(), &cookies),
        Err(error) => refused(&error),
    }
}

/// The public keys (RFC 7517); empty with an HS256 secret, which is never published.
async fn jwks(sessions: web::Data<JwtSessions>) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::to_value(sessions.jwks()).unwrap_or_default())
}

async fn page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::html())
        .body(include_str!("server.html"))
}

/// The demo's routes, for an `App` to `configure`: `/me` and `/logout` behind the middleware;
/// the page, both logins, `/health`, the JWKS and `/metrics` outside it. The middleware wraps
/// those two resources alone, so a path that is none of these is `404`; a resource answers a
/// method it lacks with `405` (behind the middleware for the protected two, as on axum).
pub(crate) fn app(
    sessions: JwtSessions,
    metrics: PrometheusHandle,
) -> impl FnOnce(&mut web::ServiceConfig) {
    move |config| {
        let auth = JwtAuthMiddleware::from(&sessions);
        config
            .app_data(web::Data::new(sessions))
            .service(
                web::resource("/me")
                    .route(web::get().to(me))
                    .wrap(auth.clone()),
            )
            .service(
                web::resource("/logout")
                    .route(web::post().to(logout))
                    .wrap(auth),
            )
            .service(web::resource("/").route(web::get().to(page)))
            .service(web::resource("/login").route(web::post().to(login)))
            .service(web::resource("/login/cookies").route(web::post().to(login_cookies)))
            .service(web::resource("/health").route(web::get().to(|| async { "ok" })))
            .service(web::resource("/.well-known/jwks.json").route(web::get().to(jwks)))
            .service(
                web::resource("/metrics")
                    .route(web::get().to(move || std::future::ready(metrics.render()))),
            );
    }
}

async fn run() -> Result<(), BoxError> {
    let sessions = demo_env::sessions().await?;
    let metrics = PrometheusBuilder::new()
        .install_recorder()
        .map_err(|e| format!("cannot install the metrics recorder: {e}"))?;
    let addr = demo_env::addr();
    let listener =
        std::net::TcpListener::bind(&addr).map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    println!("listening on http://{}", listener.local_addr()?);
    // Each worker thread builds its own App; the sessions and the metrics handle are shared.
    HttpServer::new(move || App::new().configure(app(sessions.clone(), metrics.clone())))
        .listen(listener)?
        .run()
        .await?;
    Ok(())
}

/// actix-web runs on an actix system (a Tokio runtime per thread), not on `#[tokio::main]`'s.
fn main() {
    if let Err(error) = actix_web::rt::System::new().block_on(run()) {
        eprintln!("error: {error}");
        std::process::exit(1);
    }
}
