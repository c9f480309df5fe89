//! With the `actix` feature: actix-web's middleware, [`JwtAuthMiddleware`], and the claims as
//! extractors ([`Claims<C>`](crate::Claims) and `Option<Claims<C>>`; with `oidc`,
//! [`AccessClaims`](crate::oidc::AccessClaims)), and a [`TokenPair`](crate::TokenPair) as a
//! login route's response.
//!
//! The middleware is an adapter of the framework-neutral [decision](crate::decision), as the
//! tower layer is: it copies the request's head into `http` 1 types (actix-web 4 is built on
//! `http` 0.2), asks the [`Gate`](crate::decision::Gate), and carries out what it decides.
//! Credential sources and their precedence, cookie mode and its cross-site check, refresh,
//! grace, the new tokens and `Cache-Control: no-store`, every refusal's status, challenge and
//! body: the gate's, none of them copied here.
//!
//! It is a feature of this crate rather than a crate of its own: an optional dependency enters
//! only the builds that ask for it, so a tower user compiles no actix-web, and the adapter is
//! versioned, tested and released with the decision it must follow.
//!
//! ```
//! use actix_web::{App, HttpResponse, test, web};
//! use tower_jwt_auth::actix::JwtAuthMiddleware;
//! use tower_jwt_auth::{Claims, JwtSessions};
//!
//! async fn me(claims: Claims) -> String {
//!     claims.subject().to_owned()
//! }
//!
//! async fn greeting(claims: Option<Claims>) -> String {
//!     match claims {
//!         Some(claims) => format!("hello {}", claims.subject()),
//!         None => "hello stranger".to_owned(),
//!     }
//! }
//!
//! # actix_web::rt::System::new().block_on(async {
//! let sessions = JwtSessions::builder()
//!     .hs256_secret(b"an example secret of 32+ bytes!!")
//!     .build()?;
//! let anonymous = JwtAuthMiddleware::new(sessions.gate().allow_anonymous(true));
//! let app = test::init_service(
//!     App::new()
//!         // Only the routes it wraps: an unknown path stays a 404.
//!         .route("/me", web::get().to(me).wrap(JwtAuthMiddleware::from(&sessions)))
//!         .route("/greeting", web::get().to(greeting).wrap(anonymous))
//!         .route("/health", web::get().to(HttpResponse::Ok)),
//! )
//! .await;
//!
//! let refused = test::call_service(&app, test::TestRequest::get().uri("/me").to_request()).await;
//! assert_eq!(refused.status(), 401);
//! assert_eq!(refused.headers().get("www-authenticate").unwrap(), "Bearer");
//!
//! let pair = sessions.issue("alice", ()).await?;
//! let request = test::TestRequest::get()
//!     .uri("/me")
//!     .insert_header(("authorization", format!("Bearer {}", pair.access_token())))
//!     .to_request();
//! assert_eq!(test::call_and_read_body(&app, request).await, "alice");
//!
//! let request = test::TestRequest::get().uri("/greeting").to_request();
//! assert_eq!(test::call_and_read_body(&app, request).await, "hello stranger");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! A whole server: the demo's routes on actix-web, `examples/actix.rs`:
//!
//! ```no_run
//! use actix_web::{App, HttpServer, web};
//! use tower_jwt_auth::actix::JwtAuthMiddleware;
//! use tower_jwt_auth::{Claims, JwtSessions};
//!
//! #[actix_web::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let sessions = JwtSessions::builder()
//!         .hs256_secret(b"an example secret of 32+ bytes!!")
//!         .build()?;
//!     HttpServer::new(move || {
//!         let auth = JwtAuthMiddleware::from(&sessions);
//!         App::new()
//!             .app_data(web::Data::new(sessions.clone()))
//!             .route("/me", web::get().to(|c: Claims| async move { c.subject().to_owned() }).wrap(auth))
//!     })
//!     .bind("127.0.0.1:3000")?
//!     .run()
//!     .await?;
//!     Ok(())
//! }
//! ```

mod convert;
mod extract;
mod judge;
mod middleware;

pub use extract::MissingClaims;
pub use judge::Judge;
pub use middleware::{JwtAuthMiddleware, JwtAuthService};
