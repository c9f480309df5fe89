//! The middleware: [`JwtAuthLayer`], the [`JwtAuth`] service it makes and its
//! [`ResponseFuture`]: tower's adapter of the [`Gate`](crate::decision::Gate), which decides.
//!
//! For each request, in order: the credentials are read (`Authorization: Bearer` and the
//! refresh header; a malformed or repeated one is `400`), the tokens verified, and either the
//! access token's session checked in the store (the inner service then sees
//! [`Claims<C>`](crate::Claims) in the request extensions) or, with an expired access token or
//! none, the refresh token refreshed (the response then carries the new access token). Any
//! refusal is answered through the [`ErrorResponder`](crate::ErrorResponder) without calling the
//! inner service.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::convert::Infallible;
//! use http::{Request, Response, StatusCode};
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//! use tower_jwt_auth::{Claims, JwtSessions};
//!
//! let sessions = JwtSessions::builder()
//!     .hs256_secret(b"an example secret of 32+ bytes!!")
//!     .build()?;
//! let service = ServiceBuilder::new()
//!     .layer(sessions.layer())
//!     .service(service_fn(|request: Request<String>| async move {
//!         let claims = request.extensions().get::<Claims>().expect("set by the layer");
//!         Ok::<_, Infallible>(Response::new(format!("hello {}", claims.subject())))
//!     }));
//!
//! let pair = sessions.issue("alice", ()).await?;
//! let request = Request::get("/")
//!     .header("authorization", format!("Bearer {}", pair.access_token()))
//!     .body(String::new())?;
//! let response = service.clone().oneshot(request).await?;
//! assert_eq!(response.into_body(), "hello alice");
//!
//! let anonymous = service.oneshot(Request::new(String::new())).await?;
//! assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
//! assert_eq!(anonymous.headers()["www-authenticate"], "Bearer");
//! # Ok(()) }
//! ```

mod future;
mod layer;
mod service;

pub use future::ResponseFuture;
pub use layer::JwtAuthLayer;
#[cfg(feature = "oidc")]
pub(crate) use layer::Options;
pub use service::JwtAuth;
