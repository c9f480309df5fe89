//! Cookie mode through each demo: the page's login, refreshes in cookies, the cross-site check
//! and the logout that clears both cookies.

use std::time::Duration;

use http::{Method, StatusCode};

use super::on_every_server;
use super::server::{ACCESS_TTL, Reply, Running, Server, T0, sessions};
use tower_jwt_auth::ManualClock;

const ACCESS: &str = "__Host-access-token";
const REFRESH: &str = "__Host-refresh-token";

on_every_server![
    login_sets_both_host_cookies,
    refresh_at_expiry_goes_back_in_a_cookie,
    cross_site_unsafe_request_is_403_before_the_handler,
    logout_clears_both_cookies,
];

/// The tokens a browser holds.
struct Jar {
    access: String,
    refresh: String,
}

impl Jar {
    /// The `Cookie` header the browser sends.
    fn cookie(&self) -> (&'static str, String) {
        let cookie = format!("{ACCESS}={}; {REFRESH}={}", self.access, self.refresh);
        ("cookie", cookie)
    }
}

/// The page's login, `POST /login/cookies`: both cookies, `HttpOnly`, `Secure`, for the whole
/// host.
async fn login(app: &Running) -> Jar {
    let form = serde_json::json!({ "username": "alice", "password": "demo" });
    let reply = app
        .send(Method::POST, "/login/cookies", &[], Some(form))
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{reply:?}");
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    assert!(reply.body.is_empty(), "no token in the body");
    let cookies = reply.set_cookies();
    assert_eq!(cookies.len(), 2, "{cookies:?}");
    for cookie in &cookies {
        for attribute in ["Path=/", "Secure", "HttpOnly", "SameSite=Lax"] {
            assert!(cookie.contains(attribute), "{cookie}: {attribute}");
        }
        assert!(
            !cookie.contains("Domain"),
            "a __Host- cookie has no Domain: {cookie}"
        );
    }
    let value = |name| reply.cookie(name).expect("both cookies").to_owned();
    Jar {
        access: value(ACCESS),
        refresh: value(REFRESH),
    }
}

/// `/me`, served to alice.
fn assert_me(reply: &Reply) {
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(reply.json()["sub"], "alice");
}

async fn login_sets_both_host_cookies(server: Server) {
    let clock = ManualClock::new(T0);
    let app = server.start(sessions(&clock, |b| b)).await;
    let jar = login(&app).await;
    let reply = app.get("/me", &[jar.cookie()]).await;
    assert_me(&reply);
    assert!(reply.set_cookies().is_empty(), "nothing to refresh");
    // A wrong password sets nothing.
    let form = serde_json::json!({ "username": "alice", "password": "guess" });
    let refused = app
        .send(Method::POST, "/login/cookies", &[], Some(form))
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(refused.set_cookies().is_empty());
}

async fn refresh_at_expiry_goes_back_in_a_cookie(server: Server) {
    let clock = ManualClock::new(T0);
    let app = server.start(sessions(&clock, |b| b)).await;
    let mut jar = login(&app).await;
    clock.advance(Duration::from_secs(ACCESS_TTL));
    // The expired access cookie beside the refresh cookie: served, a new access cookie.
    let reply = app.get("/me", &[jar.cookie()]).await;
    assert_me(&reply);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    assert_eq!(
        reply.header("x-access-token"),
        None,
        "cookies in, cookies out"
    );
    let access = reply.cookie(ACCESS).expect("a new access cookie");
    assert_ne!(access, jar.access);
    assert_eq!(reply.cookie(REFRESH), None, "no rotation");
    jar.access = access.to_owned();
    let next = app.get("/me", &[jar.cookie()]).await;
    assert_me(&next);
    assert!(next.set_cookies().is_empty());
}

async fn cross_site_unsafe_request_is_403_before_the_handler(server: Server) {
    let clock = ManualClock::new(T0);
    let app = server.start(sessions(&clock, |b| b)).await;
    let jar = login(&app).await;
    let evil = ("origin", "https://evil.example".to_owned());
    for from_elsewhere in [
        vec![jar.cookie(), ("sec-fetch-site", "cross-site".to_owned())],
        vec![jar.cookie(), evil.clone()],
    ] {
        let reply = app
            .send(Method::POST, "/logout", &from_elsewhere, None)
            .await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{reply:?}");
        assert!(reply.set_cookies().is_empty());
    }
    // The logout never ran: the session is live.
    assert_me(&app.get("/me", &[jar.cookie()]).await);
    // A safe request from elsewhere is served; so is a bearer token from anywhere.
    assert_me(&app.get("/me", &[jar.cookie(), evil]).await);
}

async fn logout_clears_both_cookies(server: Server) {
    let clock = ManualClock::new(T0);
    let app = server.start(sessions(&clock, |b| b)).await;
    let jar = login(&app).await;
    // The page's own origin, as a browser sends it.
    let own = [jar.cookie(), ("origin", app.url.clone())];
    let reply = app.send(Method::POST, "/logout", &own, None).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{reply:?}");
    let cookies = reply.set_cookies();
    assert_eq!(cookies.len(), 2, "{cookies:?}");
    for name in [ACCESS, REFRESH] {
        assert_eq!(reply.cookie(name), Some(""), "{cookies:?}");
    }
    assert!(
        cookies.iter().all(|c| c.contains("Max-Age=0")),
        "{cookies:?}"
    );
    let after = app.get("/me", &[jar.cookie()]).await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
}
