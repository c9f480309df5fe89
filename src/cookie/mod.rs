//! Cookie mode: tokens that travel in `HttpOnly` cookies, out of reach of the page's JavaScript.
//! [`CookieSettings`] names and scopes the cookies, [`CookieSource`] reads them, and the
//! cross-site check guards the requests that carry them.
//!
//! With [`JwtSessionsBuilder::cookies`](crate::JwtSessionsBuilder::cookies), the layer reads
//! both tokens from cookies (beside the headers), a refresh carried by a cookie answers with
//! `Set-Cookie` for the new access token (and the rotated refresh token), and requests that
//! carry a cookie credential must not come from another site (see
//! [`trusted_origin`](CookieSettings::trusted_origin)). The login and logout routes get their
//! headers from [`JwtSessions::login_cookies`](crate::JwtSessions::login_cookies) and
//! [`JwtSessions::logout_cookies`](crate::JwtSessions::logout_cookies).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use tower_jwt_auth::{CookieSettings, JwtSessions, SameSite};
//!
//! let sessions = JwtSessions::builder()
//!     .hs256_secret(b"an example secret of 32+ bytes!!")
//!     .cookies(CookieSettings::new().same_site(SameSite::Strict))
//!     .build()?;
//! let cookies = sessions.config().cookies().expect("cookie mode is on");
//! assert_eq!(cookies.access_name(), "__Host-access-token");
//!
//! // In the login route, after checking the password:
//! let pair = sessions.issue("alice", ()).await?;
//! let headers = sessions.login_cookies(&pair)?;
//! let set_cookie: Vec<_> = headers.get_all("set-cookie").iter().collect();
//! assert!(set_cookie[0].to_str()?.starts_with("__Host-access-token="));
//! assert!(set_cookie[0].to_str()?.ends_with(
//!     "; Max-Age=1209600; Path=/; Secure; HttpOnly; SameSite=Strict"
//! ));
//! assert_eq!(headers["cache-control"], "no-store");
//! # Ok(()) }
//! ```
//!
//! # Cross-site requests
//!
//! A browser attaches cookies to requests that any page starts. So a request that carries a
//! cookie credential with an unsafe method (anything but `GET`, `HEAD` and `OPTIONS`) is refused
//! with `403` ([`CrossSiteRequest`](crate::AuthErrorKind::CrossSiteRequest)) before the inner
//! service runs, unless: its `Sec-Fetch-Site` is `same-origin` or `none`; or, whatever that
//! header says, its `Origin` is [trusted](CookieSettings::trusted_origin); or, from a browser too
//! old to send `Sec-Fetch-Site`, its `Origin` names the request's own origin; or it has neither
//! header, and so comes from no browser a page could steer. Requests authenticated by a header
//! are not checked: no page can add one to another origin's requests without that origin's CORS
//! consent. Safe methods are not checked either, so keep `GET` routes free of side effects.
//!
//! The `403` says why in its body, as the `401`s do in their challenge: the default responder
//! ([`Rfc6750`](crate::Rfc6750)) answers `cross-site request refused` as `text/plain`, so that
//! a client can tell the refusal from a `403` of the application's own.
//! [`ProblemJson`](crate::ProblemJson) answers it as JSON, and a responder of your own
//! ([`ErrorResponder`](crate::ErrorResponder)) sees its kind.
//!
//! The own origin is the host the request was sent to (`Host`, or the HTTP/2 authority), with
//! its port, and the scheme it was sent over: the request URI's when it names one (HTTP/2
//! always does), otherwise the one the cookies imply. `Secure` cookies (the default) reach the
//! server only over `https`, or over `http` to a loopback host (`localhost`, `127.0.0.1`,
//! `[::1]`), which browsers count as secure; other cookies are taken to be served over `http`.
//! So `Origin: http://app.example` is not the own origin of `https://app.example`, nor the
//! other way round. A proxy that ends TLS and forwards HTTP/2 may name `http` in the URI: list
//! the public origin with [`trusted_origin`](CookieSettings::trusted_origin) then.
//!
//! # Lifetimes
//!
//! Both cookies live as long as the session: the browser keeps sending the access token after
//! it expires, so the layer sees an expired token beside the refresh token, exactly as a header
//! client sends them, and never mistakes a browser that dropped its access cookie early for a
//! thief holding only the refresh token.

pub(crate) mod csrf;
mod set_cookie;
mod settings;
mod source;

pub use settings::{CookieSettings, SameSite};
pub use source::CookieSource;
