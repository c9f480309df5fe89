//! The client half: a tower layer that keeps a session alive for the client it wraps.
//!
//! [`JwtClientLayer`] wraps any `Service<http::Request<B>>` client (`hyper-util`'s `Client`, a
//! tonic `Channel`, an axum router in tests). It holds the session's [`ClientTokens`], shared by
//! every clone, and the [`Origin`] they belong to, the server's, and follows the server's rules
//! so that an honest client never trips them:
//!
//! - every request for the origin carries the access token in `Authorization: Bearer` (marked
//!   sensitive);
//! - once that token's `exp` has passed (minus a skew margin), the next request carries the
//!   refresh token as well, so the server refreshes in-band and serves that same request: no
//!   request is sent twice, and the refresh token is never sent while the access token is valid;
//! - exactly one request at a time carries the refresh; requests meeting the expired token
//!   meanwhile wait for its outcome and go with the new token (or share its failure);
//! - new tokens a response brings (`x-access-token`, and `x-refresh-token` with rotation) are
//!   stored before any later request is sent, and the request that carries a refresh runs to its
//!   end even if its caller drops it, so a token the server rotated is never lost;
//! - a refused refresh (expired, revoked, ended for a theft) clears the tokens, fails with
//!   [`ClientError::LoginRequired`] and calls [`on_login_required`](JwtClientLayer::on_login_required);
//! - a request for any other origin goes out as it came, and its response comes back unread:
//!   no token is added to it, none is taken from it, and its `401` refreshes nothing.
//!
//! ```no_run
//! use http_body_util::Empty;
//! use hyper::body::Bytes;
//! use hyper_util::client::legacy::Client;
//! use hyper_util::rt::TokioExecutor;
//! use tower::{Service, ServiceBuilder, ServiceExt};
//! use tower_jwt_auth::client::{ClientError, ClientTokens, JwtClientLayer, Origin};
//!
//! # async fn run(access: String, refresh: String) -> Result<(), Box<dyn std::error::Error>> {
//! let tokens = ClientTokens::new();
//! tokens.set(access, refresh)?; // from the application's login
//! let origin: Origin = "http://127.0.0.1:3000".parse()?;
//!
//! let mut client = ServiceBuilder::new()
//!     .layer(JwtClientLayer::new(tokens, origin).on_login_required(|| eprintln!("log in again")))
//!     .service(Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>());
//!
//! let request = http::Request::get("http://127.0.0.1:3000/me").body(Empty::new())?;
//! match client.ready().await?.call(request).await {
//!     Ok(response) => println!("{}", response.status()),
//!     Err(ClientError::LoginRequired) => println!("the session ended: log in again"),
//!     Err(error) => return Err(error.into()),
//! }
//! # Ok(())
//! # }
//! ```
//!
//! A request whose body is empty is sent once more if the server says its access token expired
//! although the client's clock said it was valid (the clocks disagree by more than the skew
//! margin); a request with a body gets that `401` (gRPC: `UNAUTHENTICATED`), since its body is
//! gone, and the next request refreshes.
//!
//! # Which requests are the origin's
//!
//! A request whose URI is absolute is the origin's when its scheme, host (in any case) and port
//! (the scheme's default if it names none) are the origin's. A relative URI (a path alone) goes
//! wherever the wrapped client is bound, so it counts as the origin's: a tonic `Channel` sends
//! such URIs, the endpoint it connects to supplying the rest, and so does a connection of
//! hyper's own. Bind the layer to the origin of that endpoint.
//!
//! # Redirects
//!
//! The layer does not follow redirects: a `3xx` comes back as it is. To follow them, put the
//! redirect-following layer outside this one, as below: each hop is then a request of its own
//! through this layer, so a redirect to another origin goes there without the tokens, and what
//! that origin answers is not taken. Never put it inside: there it would see each request with
//! the tokens already added, send them on to wherever the redirect points (tower-http's
//! default policy drops `Authorization` across origins, but not the refresh header), and hand
//! back the other origin's answer, tokens and all, as the server's.
//!
//! ```no_run
//! use http_body_util::Empty;
//! use hyper::body::Bytes;
//! use hyper_util::client::legacy::Client;
//! use hyper_util::rt::TokioExecutor;
//! use tower::ServiceBuilder;
//! use tower_http::follow_redirect::FollowRedirectLayer;
//! use tower_jwt_auth::client::{ClientTokens, JwtClientLayer};
//!
//! # fn run(tokens: ClientTokens) -> Result<(), Box<dyn std::error::Error>> {
//! let client = ServiceBuilder::new()
//!     .layer(FollowRedirectLayer::new()) // outside: sees no token
//!     .layer(JwtClientLayer::new(tokens, "http://127.0.0.1:3000".parse()?))
//!     .service(Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>());
//! # let _ = client;
//! # Ok(())
//! # }
//! ```

mod error;
mod layer;
mod origin;
mod service;
mod tokens;

pub use error::{ClientError, InvalidOrigin, UnreadableToken};
pub use layer::JwtClientLayer;
pub use origin::Origin;
pub use service::{JwtClient, ResponseFuture};
pub use tokens::ClientTokens;
