//! Cookie mode, CSRF defence and CORS over a real socket: the login's cookies, requests
//! authenticated by cookie, silent refresh into `Set-Cookie`, the theft rule, refusals that never
//! clear cookies, the cross-site check (and headers that are exempt from it), and a CORS
//! preflight through tower-http's `CorsLayer` in front of the layer.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Extension, Router};
use http::{HeaderValue, Request, Response};
use http_body_util::BodyExt;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_jwt_auth::cookie::CookieSource;
use tower_jwt_auth::cookie::{CookieSettings, SameSite};
use tower_jwt_auth::{AuthErrorKind, Claims, JwtSessions, ManualClock, TokenPair};

use crate::common::http::serve;

const SECRET: &[u8] = b"cookie test secret of 32 bytes!!";
const NOW: u64 = 1_700_000_000;
const ACCESS_TTL: u64 = 300;
const REFRESH_TTL: u64 = 86_400;
const ACCESS: &str = "__Host-access-token";
const REFRESH: &str = "__Host-refresh-token";
const APP_ORIGIN: &str = "https://app.example.com";

#[derive(Clone)]
struct App {
    sessions: JwtSessions,
    /// Calls that reached the inner service.
    served: Arc<AtomicUsize>,
}

async fn me(State(app): State<App>, Extension(claims): Extension<Claims>) -> String {
    app.served.fetch_add(1, Ordering::SeqCst);
    claims.subject().to_owned()
}

async fn logout(State(app): State<App>, Extension(claims): Extension<Claims>) -> impl IntoResponse {
    app.served.fetch_add(1, Ordering::SeqCst);
    app.sessions
        .revoke_session(claims.session_id())
        .await
        .expect("revoked");
    let cookies = app.sessions.logout_cookies().expect("cookie mode");
    (StatusCode::NO_CONTENT, cookies)
}

struct Server {
    url: String,
    app: App,
    clock: ManualClock,
    client: Client<HttpConnector, Body>,
}

impl Server {
    async fn start(rotation: bool) -> Self {
        Self::start_with(rotation, |router| router).await
    }

    async fn start_with(rotation: bool, wrap: impl FnOnce(Router) -> Router) -> Self {
        let cookies = CookieSettings::new().trusted_origin("https://admin.example.com");
        Self::start_with_cookies(rotation, cookies, wrap).await
    }

    async fn start_with_cookies(
        rotation: bool,
        cookies: CookieSettings,
        wrap: impl FnOnce(Router) -> Router,
    ) -> Self {
        let clock = ManualClock::new(NOW);
        let sessions = JwtSessions::builder()
            .hs256_secret(SECRET)
            .clock(clock.clone())
            .access_ttl(Duration::from_secs(ACCESS_TTL))
            .refresh_ttl(Duration::from_secs(REFRESH_TTL))
            .refresh_rotation(rotation)
            .cookies(cookies)
            .build()
            .expect("configuration");
        let app = App {
            sessions: sessions.clone(),
            served: Arc::default(),
        };
        let router = Router::new()
            .route("/me", get(me).post(me))
            .route("/logout", post(logout))
            .layer(sessions.layer())
            .with_state(app.clone());
        let router = wrap(router);
        let url = serve(router).await;
        Self {
            url,
            app,
            clock,
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    async fn login(&self) -> (TokenPair, HeaderMap) {
        let pair = self.app.sessions.issue("alice", ()).await.expect("issued");
        let cookies = self.app.sessions.login_cookies(&pair).expect("cookie mode");
        (pair, cookies)
    }

    async fn send(&self, method: Method, headers: &[(&str, String)]) -> Response<String> {
        self.send_over(&self.client, method, headers).await
    }

    async fn send_over(
        &self,
        client: &Client<HttpConnector, Body>,
        method: Method,
        headers: &[(&str, String)],
    ) -> Response<String> {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{}/me", self.url));
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let response = client
            .request(request.body(Body::empty()).expect("request"))
            .await
            .expect("response");
        let (parts, body) = response.into_parts();
        let body = body.collect().await.expect("body").to_bytes();
        Response::from_parts(parts, String::from_utf8(body.to_vec()).expect("UTF-8"))
    }

    fn served(&self) -> usize {
        self.app.served.load(Ordering::SeqCst)
    }
}

fn cookie(pairs: &[(&str, &str)]) -> (&'static str, String) {
    let value = pairs
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("; ");
    ("cookie", value)
}

fn set_cookies(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().expect("ASCII").to_owned())
        .collect()
}

/// The value a `Set-Cookie` gives cookie `name`, and its attributes.
fn cookie_value<'a>(set_cookies: &'a [String], name: &str) -> Option<(&'a str, &'a str)> {
    set_cookies.iter().find_map(|c| {
        let rest = c.strip_prefix(name)?.strip_prefix('=')?;
        rest.split_once(';')
    })
}

#[tokio::test]
async fn the_login_sets_both_tokens_as_host_only_httponly_cookies() {
    let server = Server::start(false).await;
    let (pair, headers) = server.login().await;
    assert_eq!(headers["cache-control"], "no-store");
    let set = set_cookies(&headers);
    let attributes = format!("; Max-Age={REFRESH_TTL}; Path=/; Secure; HttpOnly; SameSite=Lax");
    assert_eq!(
        set,
        [
            format!("{ACCESS}={}{attributes}", pair.access_token()),
            format!("{REFRESH}={}{attributes}", pair.refresh_token()),
        ]
    );
    let logout = server.app.sessions.logout_cookies().expect("cookie mode");
    assert_eq!(
        set_cookies(&logout),
        [
            format!("{ACCESS}=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Lax"),
            format!("{REFRESH}=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Lax"),
        ]
    );
    // Without cookie mode there are no cookies to set: a typed error, not a panic.
    let headers_only = JwtSessions::builder()
        .hs256_secret(SECRET)
        .build()
        .expect("configuration");
    let error = headers_only.login_cookies(&pair).unwrap_err();
    assert_eq!(error.kind(), AuthErrorKind::Internal);
    assert_eq!(error.status(), StatusCode::INTERNAL_SERVER_ERROR);
}

#[tokio::test]
async fn a_browser_sending_both_cookies_is_served_and_refreshed_exactly_at_expiry() {
    let server = Server::start(true).await;
    let (pair, _) = server.login().await;
    let both = cookie(&[
        ("theme", "dark"),
        (ACCESS, pair.access_token()),
        (REFRESH, pair.refresh_token()),
    ]);

    // A valid access token wins: no refresh, no cookie.
    let response = server.send(Method::GET, std::slice::from_ref(&both)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.body(), "alice");
    assert!(set_cookies(response.headers()).is_empty());

    // Expired: the refresh cookie refreshes, and the new tokens come back as cookies only.
    server.clock.advance(Duration::from_secs(ACCESS_TTL));
    let response = server.send(Method::GET, &[both]).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.body(), "alice");
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert!(!response.headers().contains_key("x-access-token"));
    assert!(!response.headers().contains_key("x-refresh-token"));
    let set = set_cookies(response.headers());
    let session_left = REFRESH_TTL - ACCESS_TTL;
    let attributes = format!(" Max-Age={session_left}; Path=/; Secure; HttpOnly; SameSite=Lax");
    let (access, access_attributes) = cookie_value(&set, ACCESS).expect("a new access cookie");
    let (refresh, refresh_attributes) = cookie_value(&set, REFRESH).expect("a rotated refresh");
    assert_eq!(access_attributes, attributes);
    assert_eq!(refresh_attributes, attributes);
    assert_ne!(access, pair.access_token());
    assert_ne!(refresh, pair.refresh_token());

    // The new cookies work, and the old access token is superseded.
    let renewed = cookie(&[(ACCESS, access), (REFRESH, refresh)]);
    assert_eq!(server.send(Method::GET, &[renewed]).await.status(), 200);
    let stale = cookie(&[(ACCESS, pair.access_token())]);
    assert_eq!(server.send(Method::GET, &[stale]).await.status(), 401);
}

#[tokio::test]
async fn a_refresh_cookie_alone_while_the_access_token_is_valid_is_theft_and_clears_nothing() {
    let server = Server::start(false).await;
    let (pair, _) = server.login().await;
    let thief = cookie(&[(REFRESH, pair.refresh_token())]);
    let response = server.send(Method::GET, &[thief]).await;
    assert_eq!(response.status(), 401);
    assert!(
        response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("session revoked")
    );
    // A refusal never sends Set-Cookie: it could land after a concurrent refresh's cookies.
    assert!(set_cookies(response.headers()).is_empty());
    let owner = cookie(&[(ACCESS, pair.access_token())]);
    assert_eq!(server.send(Method::GET, &[owner]).await.status(), 401);
    assert_eq!(server.served(), 0);
}

#[tokio::test]
async fn a_header_refresh_in_cookie_mode_still_answers_in_headers() {
    let server = Server::start(false).await;
    let (pair, _) = server.login().await;
    server.clock.advance(Duration::from_secs(ACCESS_TTL));
    let response = server
        .send(
            Method::GET,
            &[("x-refresh-token", pair.refresh_token().to_owned())],
        )
        .await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("x-access-token"));
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert!(set_cookies(response.headers()).is_empty());
}

#[tokio::test]
async fn different_tokens_in_a_cookie_and_a_header_are_a_bad_request() {
    let server = Server::start(false).await;
    let (alice, _) = server.login().await;
    let (other, _) = server.login().await;
    let response = server
        .send(
            Method::GET,
            &[
                cookie(&[(ACCESS, alice.access_token())]),
                ("authorization", format!("Bearer {}", other.access_token())),
            ],
        )
        .await;
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.headers()["www-authenticate"],
        r#"Bearer error="invalid_request", error_description="two different access tokens""#
    );
    // The same token in both places is one credential.
    let response = server
        .send(
            Method::GET,
            &[
                cookie(&[(ACCESS, alice.access_token())]),
                ("authorization", format!("Bearer {}", alice.access_token())),
            ],
        )
        .await;
    assert_eq!(response.status(), 200);
}

/// A malformed access cookie is `400`, and so is a refresh cookie that disagrees with the
/// refresh header even beside a valid access token: cookies are read with every request, and
/// the header must agree with them.
#[tokio::test]
async fn malformed_cookies_and_disagreeing_refresh_credentials_are_a_bad_request() {
    let server = Server::start(false).await;
    let (alice, _) = server.login().await;
    let (other, _) = server.login().await;
    let challenge = |description: &str| {
        format!(r#"Bearer error="invalid_request", error_description="{description}""#)
    };
    let response = server
        .send(Method::GET, &[cookie(&[(ACCESS, "not!a!token")])])
        .await;
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.headers()["www-authenticate"],
        challenge("malformed access token cookie")
    );
    let response = server
        .send(
            Method::GET,
            &[
                ("authorization", format!("Bearer {}", alice.access_token())),
                cookie(&[(REFRESH, alice.refresh_token())]),
                ("x-refresh-token", other.refresh_token().to_owned()),
            ],
        )
        .await;
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.headers()["www-authenticate"],
        challenge("two different refresh tokens")
    );
    assert_eq!(server.served(), 0);
}

#[tokio::test]
async fn unsafe_cross_site_requests_with_cookies_are_refused_before_the_service() {
    let server = Server::start(false).await;
    let (pair, _) = server.login().await;
    let with_cookie = cookie(&[(ACCESS, pair.access_token())]);
    let h = |name: &'static str, value: &str| (name, value.to_owned());

    let refused = [
        vec![with_cookie.clone(), h("sec-fetch-site", "cross-site")],
        vec![
            with_cookie.clone(),
            h("sec-fetch-site", "same-site"),
            h("origin", "https://blog.example.com"),
        ],
        vec![with_cookie.clone(), h("origin", "https://evil.example")],
    ];
    for headers in refused {
        let response = server.send(Method::POST, &headers).await;
        assert_eq!(response.status(), 403, "{headers:?}");
        assert!(!response.headers().contains_key("www-authenticate"));
        assert!(set_cookies(response.headers()).is_empty());
    }
    assert_eq!(server.served(), 0, "no refused request reached the service");

    let allowed = [
        vec![with_cookie.clone(), h("sec-fetch-site", "same-origin")],
        vec![
            with_cookie.clone(),
            h("sec-fetch-site", "same-site"),
            h("origin", "https://admin.example.com"),
        ],
        // No Sec-Fetch-Site: the Origin names the host the request was sent to.
        vec![with_cookie.clone(), h("origin", &server.url)],
        // Neither header: not a browser a page could make send this.
        vec![with_cookie.clone()],
    ];
    for headers in &allowed {
        assert_eq!(
            server.send(Method::POST, headers).await.status(),
            200,
            "{headers:?}"
        );
    }
    // Safe methods are not checked; neither are requests authenticated by a header.
    let get = [with_cookie, h("sec-fetch-site", "cross-site")];
    assert_eq!(server.send(Method::GET, &get).await.status(), 200);
    let bearer = [
        h("authorization", &format!("Bearer {}", pair.access_token())),
        h("sec-fetch-site", "cross-site"),
    ];
    assert_eq!(server.send(Method::POST, &bearer).await.status(), 200);
    assert_eq!(server.served(), allowed.len() + 2);
}

/// The cross-site `403` says why in its body, as no header does: an application's own `403` and
/// the layer's can be told apart.
#[tokio::test]
async fn a_cross_site_refusal_names_its_reason_in_the_body() {
    let server = Server::start(false).await;
    let (pair, _) = server.login().await;
    let headers = [
        cookie(&[(ACCESS, pair.access_token())]),
        ("sec-fetch-site", "cross-site".to_owned()),
    ];
    let refused = server.send(Method::POST, &headers).await;
    assert_eq!(refused.status(), 403);
    assert_eq!(
        refused.headers()["content-type"],
        "text/plain; charset=utf-8"
    );
    assert_eq!(refused.body(), "cross-site request refused");
}

/// The public `CookieSource`, registered as a source of the application's own instead of through
/// cookie mode, is as ambient as the built-in one: an unsafe cross-site request that carries its
/// cookie is refused.
#[tokio::test]
async fn a_cookie_source_registered_by_hand_gets_the_cross_site_check() {
    let sessions = JwtSessions::builder()
        .hs256_secret(SECRET)
        .clock(ManualClock::new(NOW))
        .credential_source(CookieSource::new("at", "rt"))
        .build()
        .expect("configuration");
    let served = Arc::new(AtomicUsize::new(0));
    let counter = served.clone();
    let router = Router::new()
        .route(
            "/me",
            post(move |Extension(claims): Extension<Claims>| async move {
                counter.fetch_add(1, Ordering::SeqCst);
                claims.subject().to_owned()
            }),
        )
        .layer(sessions.layer());
    let url = serve(router).await;
    let client: Client<HttpConnector, Body> = Client::builder(TokioExecutor::new()).build_http();
    let pair = sessions.issue("alice", ()).await.expect("issued");
    let post = |site: &str| {
        Request::post(format!("{url}/me"))
            .header("cookie", format!("at={}", pair.access_token()))
            .header("sec-fetch-site", site)
            .body(Body::empty())
            .expect("request")
    };

    let refused = client.request(post("cross-site")).await.expect("response");
    assert_eq!(refused.status(), 403);
    assert_eq!(
        served.load(Ordering::SeqCst),
        0,
        "refused before the service"
    );
    let allowed = client.request(post("same-origin")).await.expect("response");
    assert_eq!(allowed.status(), 200);
    assert_eq!(served.load(Ordering::SeqCst), 1);
}

/// Without `Sec-Fetch-Site`, an `Origin` is the server's own only with the scheme the server is
/// reached over: the request URI's under HTTP/2, otherwise the one the cookies imply.
#[tokio::test]
async fn an_origin_of_another_scheme_is_not_the_own_one() {
    async fn post(server: &Server, cookie: &(&'static str, String), origin: &str) -> StatusCode {
        let headers = [
            cookie.clone(),
            ("host", "app.example.com".to_owned()),
            ("origin", origin.to_owned()),
        ];
        server.send(Method::POST, &headers).await.status()
    }
    let h = |name: &'static str, value: &str| (name, value.to_owned());

    // HTTP/1.1 names no scheme: `Secure` cookies reach the server over https only.
    let server = Server::start(false).await;
    let (pair, _) = server.login().await;
    let with_cookie = cookie(&[(ACCESS, pair.access_token())]);
    assert_eq!(
        post(&server, &with_cookie, "http://app.example.com").await,
        403
    );
    assert_eq!(
        post(&server, &with_cookie, "https://app.example.com").await,
        200
    );
    assert_eq!(
        post(&server, &with_cookie, "https://app.example.com:443").await,
        200
    );

    // HTTP/2 names it (http here, on loopback), whatever the cookies imply.
    let h2 = Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build_http();
    let over_h2 = |origin: &str| [with_cookie.clone(), h("origin", origin)];
    let https_twin = server.url.replacen("http://", "https://", 1);
    let refused = server
        .send_over(&h2, Method::POST, &over_h2(&https_twin))
        .await;
    assert_eq!(refused.version(), http::Version::HTTP_2);
    assert_eq!(refused.status(), 403);
    let own = server
        .send_over(&h2, Method::POST, &over_h2(&server.url))
        .await;
    assert_eq!(own.status(), 200);
    assert_eq!(server.served(), 3);

    // Cookies that are not `Secure`: a site served over http.
    let plain = CookieSettings::new().secure(false);
    let server = Server::start_with_cookies(false, plain, |router| router).await;
    let (pair, _) = server.login().await;
    let with_cookie = cookie(&[("access-token", pair.access_token())]);
    assert_eq!(
        post(&server, &with_cookie, "https://app.example.com").await,
        403
    );
    assert_eq!(
        post(&server, &with_cookie, "http://app.example.com").await,
        200
    );
    assert_eq!(server.served(), 1);
}

#[tokio::test]
async fn logout_revokes_the_session_and_clears_both_cookies() {
    let server = Server::start(false).await;
    let (pair, _) = server.login().await;
    let both = cookie(&[
        (ACCESS, pair.access_token()),
        (REFRESH, pair.refresh_token()),
    ]);
    let request = Request::post(format!("{}/logout", server.url))
        .header(both.0, &both.1)
        .header("sec-fetch-site", "same-origin")
        .body(Body::empty())
        .expect("request");
    let response = server.client.request(request).await.expect("response");
    assert_eq!(response.status(), 204);
    let set = set_cookies(response.headers());
    assert_eq!(cookie_value(&set, ACCESS).map(|c| c.0), Some(""));
    assert_eq!(cookie_value(&set, REFRESH).map(|c| c.0), Some(""));
    assert!(set.iter().all(|c| c.contains("Max-Age=0;")));
    assert_eq!(server.send(Method::GET, &[both]).await.status(), 401);
}

/// A single-page app on another origin, using headers: the README's CORS setup.
fn cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::exact(HeaderValue::from_static(APP_ORIGIN)))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            http::header::AUTHORIZATION,
            http::HeaderName::from_static("x-refresh-token"),
        ])
        .expose_headers([
            http::HeaderName::from_static("x-access-token"),
            http::HeaderName::from_static("x-refresh-token"),
        ])
}

#[tokio::test]
async fn a_cors_preflight_passes_and_the_token_headers_are_exposed() {
    let server = Server::start_with(true, |router| router.layer(cors())).await;
    let (pair, _) = server.login().await;

    // The preflight carries no credentials; CorsLayer answers it before the layer sees it.
    let preflight = server
        .send(
            Method::OPTIONS,
            &[
                ("origin", APP_ORIGIN.to_owned()),
                ("access-control-request-method", "GET".to_owned()),
                (
                    "access-control-request-headers",
                    "authorization,x-refresh-token".to_owned(),
                ),
            ],
        )
        .await;
    assert_eq!(preflight.status(), 200);
    let headers = preflight.headers();
    assert_eq!(headers["access-control-allow-origin"], APP_ORIGIN);
    let allowed = headers["access-control-allow-headers"].to_str().unwrap();
    assert!(allowed.contains("authorization") && allowed.contains("x-refresh-token"));

    // The actual request refreshes; the browser lets the page read the new tokens.
    server.clock.advance(Duration::from_secs(ACCESS_TTL));
    let response = server
        .send(
            Method::GET,
            &[
                ("origin", APP_ORIGIN.to_owned()),
                ("authorization", format!("Bearer {}", pair.access_token())),
                ("x-refresh-token", pair.refresh_token().to_owned()),
            ],
        )
        .await;
    assert_eq!(response.status(), 200);
    let headers = response.headers();
    assert_eq!(headers["access-control-allow-origin"], APP_ORIGIN);
    let exposed = headers["access-control-expose-headers"].to_str().unwrap();
    assert!(exposed.contains("x-access-token") && exposed.contains("x-refresh-token"));
    assert!(headers.contains_key("x-access-token") && headers.contains_key("x-refresh-token"));

    // A refusal goes out with the CORS headers too, so the page can read its status.
    let refused = server
        .send(Method::GET, &[("origin", APP_ORIGIN.to_owned())])
        .await;
    assert_eq!(refused.status(), 401);
    assert_eq!(refused.headers()["access-control-allow-origin"], APP_ORIGIN);
}

#[test]
fn strict_and_none_same_site_are_written_as_set() {
    let strict = JwtSessions::builder()
        .hs256_secret(SECRET)
        .cookies(CookieSettings::new().same_site(SameSite::Strict))
        .build()
        .expect("configuration");
    let cookies = strict.config().cookies().expect("cookie mode");
    assert_eq!(cookies.same_site_policy(), SameSite::Strict);
    let lax_plain = JwtSessions::builder()
        .hs256_secret(SECRET)
        .cookies(
            CookieSettings::new()
                .secure(false)
                .same_site(SameSite::None),
        )
        .build()
        .unwrap_err();
    assert_eq!(
        lax_plain.kind(),
        tower_jwt_auth::ConfigErrorKind::InvalidCookie
    );
}
