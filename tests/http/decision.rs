//! The framework-neutral entry point without tower: `Gate::decide` and `decide_now` driven with
//! `http::request::Parts`, and each decision carried out as an adapter must (the claims taken,
//! the completion applied to the response's headers, the refusal sent).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use http::request::Parts;
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode};
use tower_jwt_auth::cookie::CookieSettings;
use tower_jwt_auth::decision::{Admission, Deciding, Decision, Gate, Refusal, RequestHead};
use tower_jwt_auth::store::MemoryStore;
use tower_jwt_auth::store::{
    AccessCheck, NewSession, PairStore, RefreshOutcome, RefreshRequest, StoreError,
};
use tower_jwt_auth::{
    AuthError, AuthErrorKind, Claims, JwtSessions, ManualClock, Rfc6750, SessionId, TokenId,
    TokenPair,
};

const T0: u64 = 1_700_000_000;
const ACCESS_TTL: Duration = Duration::from_secs(15 * 60);
const SECRET: &[u8] = b"decision test secret of 32 bytes";
const ACCESS_EXPIRED: &str =
    r#"Bearer error="invalid_token", error_description="the access token expired""#;

/// The head of a request, as a framework on `http` 1 holds it.
fn parts(method: Method, headers: &[(&str, &str)]) -> Parts {
    let mut request = Request::builder().method(method).uri("/notes");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.body(()).expect("request").into_parts().0
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn sessions(clock: &ManualClock, cookies: bool) -> JwtSessions {
    sessions_on(clock, cookies, MemoryStore::new())
}

fn sessions_on(clock: &ManualClock, cookies: bool, store: impl PairStore) -> JwtSessions {
    let builder = JwtSessions::builder()
        .hs256_secret(SECRET)
        .clock(clock.clone())
        .store(store);
    let builder = match cookies {
        true => builder.cookies(CookieSettings::new()),
        false => builder,
    };
    builder.build().expect("configuration")
}

async fn decide(gate: &Gate<JwtSessions>, parts: &Parts) -> Decision<Claims> {
    gate.decide(RequestHead::from(parts)).await
}

async fn served(gate: &Gate<JwtSessions>, parts: &Parts) -> Admission<Claims> {
    match decide(gate, parts).await {
        Decision::Serve(admission) => admission,
        Decision::Refuse(refusal) => panic!("refused: {:?}", refusal.error()),
    }
}

async fn refused(gate: &Gate<JwtSessions>, parts: &Parts) -> Refusal {
    match decide(gate, parts).await {
        Decision::Refuse(refusal) => refusal,
        Decision::Serve(_) => panic!("served"),
    }
}

/// A session whose access token has expired, and so may refresh.
async fn expired_session(sessions: &JwtSessions, clock: &ManualClock) -> TokenPair {
    let pair = sessions.issue("alice", ()).await.expect("issue");
    clock.advance(ACCESS_TTL);
    pair
}

/// The response headers a handler set, with what the completion adds.
async fn completed(admission: Admission<Claims>) -> (Option<Claims>, HeaderMap) {
    let (claims, completion) = admission.into_parts();
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("text/plain"));
    headers.append("set-cookie", HeaderValue::from_static("theme=dark"));
    completion.apply(&mut headers).await;
    (claims, headers)
}

#[tokio::test]
async fn an_access_token_is_served_at_once_with_nothing_to_complete() {
    let clock = ManualClock::new(T0);
    let sessions = sessions(&clock, false);
    let pair = sessions.issue("alice", ()).await.expect("issue");
    let head = parts(
        Method::GET,
        &[("authorization", &bearer(pair.access_token()))],
    );
    let Deciding::Ready(Decision::Serve(admission)) = sessions.gate().decide_now((&head).into())
    else {
        panic!("the memory store answers the pair check at once");
    };
    let claims = admission.claims().expect("claims");
    assert_eq!(
        (claims.subject(), claims.session_id()),
        ("alice", pair.session_id())
    );
    assert!(admission.completion().is_empty());
    let (_, headers) = completed(admission).await;
    assert_eq!(headers.len(), 2, "nothing added: {headers:?}");
}

#[tokio::test]
async fn a_refusal_is_the_answer_the_layer_sends() {
    let clock = ManualClock::new(T0);
    let sessions = sessions(&clock, false);
    let gate = sessions.gate();
    let pair = expired_session(&sessions, &clock).await;

    let expired = parts(
        Method::GET,
        &[("authorization", &bearer(pair.access_token()))],
    );
    let Deciding::Ready(Decision::Refuse(refusal)) = gate.decide_now((&expired).into()) else {
        panic!("an expired access token alone is refused at once");
    };
    assert_eq!(refusal.error().kind(), AuthErrorKind::Expired);
    assert_eq!(refusal.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(refusal.headers()["www-authenticate"], ACCESS_EXPIRED);
    assert_eq!(refusal.body(), "");
    assert!(!refusal.is_grpc());
    let response: http::Response<String> = refusal.clone().into_response(&Rfc6750);
    assert_eq!(
        (
            response.status(),
            response.headers(),
            response.body().as_str()
        ),
        (refusal.status(), &refusal.headers(), refusal.body())
    );

    let anonymous = refused(&gate, &parts(Method::GET, &[])).await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(anonymous.headers()["www-authenticate"], "Bearer");
}

#[tokio::test]
async fn a_refresh_is_served_and_its_completion_adds_the_new_tokens() {
    let clock = ManualClock::new(T0);
    let sessions = sessions(&clock, false);
    let pair = expired_session(&sessions, &clock).await;
    let head = parts(
        Method::GET,
        &[
            ("authorization", &bearer(pair.access_token())),
            ("x-refresh-token", pair.refresh_token()),
        ],
    );
    let Deciding::Pending(decision) = sessions.gate().decide_now((&head).into()) else {
        panic!("a refresh waits on the store");
    };
    let Decision::Serve(admission) = decision.await else {
        panic!("refused");
    };
    assert!(!admission.completion().is_empty());
    let (claims, headers) = completed(admission).await;
    let claims = claims.expect("the new access token's claims");
    assert_eq!(claims.session_id(), pair.session_id());

    let minted = headers["x-access-token"].to_str().expect("ASCII");
    let verified = sessions.authenticate(minted).await.expect("the new token");
    assert_eq!(
        verified.token_id(),
        claims.token_id(),
        "served as the new token"
    );
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["content-type"], "text/plain", "the handler's own");
    assert!(!headers.contains_key("x-refresh-token"), "no rotation");
}

#[tokio::test]
async fn a_cookie_refresh_is_answered_with_set_cookie() {
    let clock = ManualClock::new(T0);
    let sessions = sessions(&clock, true);
    let pair = expired_session(&sessions, &clock).await;
    let cookie = format!("__Host-refresh-token={}", pair.refresh_token());
    let admission = served(
        &sessions.gate(),
        &parts(Method::GET, &[("cookie", &cookie)]),
    )
    .await;
    let (claims, headers) = completed(admission).await;
    assert_eq!(claims.expect("claims").subject(), "alice");

    let cookies: Vec<&str> = headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().expect("ASCII"))
        .collect();
    assert_eq!(cookies[0], "theme=dark", "the handler's cookie stays");
    let access = cookies
        .iter()
        .find_map(|c| c.strip_prefix("__Host-access-token="))
        .expect("the new access token's cookie");
    let token = access.split(';').next().expect("value");
    sessions.authenticate(token).await.expect("a valid token");
    assert!(access.contains("HttpOnly"));
    assert!(!headers.contains_key("x-access-token"), "cookies only");
    assert_eq!(headers["cache-control"], "no-store");
}

#[tokio::test]
async fn a_cross_site_request_with_a_cookie_is_403_with_its_reason_in_the_body() {
    let clock = ManualClock::new(T0);
    let sessions = sessions(&clock, true);
    let gate = sessions.gate();
    let pair = sessions.issue("alice", ()).await.expect("issue");
    let cookie = format!("__Host-access-token={}", pair.access_token());

    let forged = parts(
        Method::POST,
        &[("cookie", &cookie), ("origin", "https://evil.example")],
    );
    let refusal = refused(&gate, &forged).await;
    assert_eq!(refusal.error().kind(), AuthErrorKind::CrossSiteRequest);
    assert_eq!(refusal.status(), StatusCode::FORBIDDEN);
    assert_eq!(refusal.body(), "cross-site request refused");
    let headers = refusal.headers();
    assert_eq!(headers["content-type"], "text/plain; charset=utf-8");
    assert!(!headers.contains_key("www-authenticate"));

    let own = parts(
        Method::POST,
        &[("cookie", &cookie), ("sec-fetch-site", "same-origin")],
    );
    let _ = served(&gate, &own).await;
}

#[tokio::test]
async fn a_grpc_call_is_refused_with_a_grpc_status() {
    let clock = ManualClock::new(T0);
    let sessions = sessions(&clock, false);
    let call = parts(Method::POST, &[("content-type", "application/grpc+proto")]);
    let refusal = refused(&sessions.gate(), &call).await;
    assert!(refusal.is_grpc());
    assert_eq!(refusal.status(), StatusCode::OK, "Trailers-Only");
    let headers = refusal.headers();
    assert_eq!(headers["content-type"], "application/grpc");
    assert_eq!(headers["grpc-status"], "16");
    assert_eq!(headers["grpc-message"], "no credentials");
    assert!(!headers.contains_key("www-authenticate"));
    assert_eq!(refusal.body(), "");
}

/// A logout that came with a refresh: the session ends while the handler runs, and the
/// completion then adds no token of it, in headers or in cookies; `no-store` stays.
#[tokio::test]
async fn a_refresh_whose_session_ended_before_the_completion_carries_no_tokens() {
    for cookies in [false, true] {
        let clock = ManualClock::new(T0);
        let sessions = sessions(&clock, cookies);
        let pair = expired_session(&sessions, &clock).await;
        let cookie = format!("__Host-refresh-token={}", pair.refresh_token());
        let head = match cookies {
            true => parts(Method::GET, &[("cookie", &cookie)]),
            false => parts(Method::GET, &[("x-refresh-token", pair.refresh_token())]),
        };
        let admission = served(&sessions.gate(), &head).await;
        assert!(!admission.completion().is_empty());
        // The handler logs out.
        let sid = admission.claims().expect("claims").session_id();
        assert!(sessions.revoke_session(sid).await.expect("revoke"));

        let (_, headers) = completed(admission).await;
        assert!(!headers.contains_key("x-access-token"), "{headers:?}");
        let set: Vec<_> = headers.get_all("set-cookie").iter().collect();
        assert_eq!(set, ["theme=dark"], "only the handler's cookie");
        assert_eq!(headers["cache-control"], "no-store");
    }
}

#[tokio::test]
async fn anonymous_requests_are_served_without_claims_only_when_allowed() {
    let clock = ManualClock::new(T0);
    let sessions = sessions(&clock, false);
    let anonymous = parts(Method::GET, &[]);
    let refusal = refused(&sessions.gate(), &anonymous).await;
    assert_eq!(refusal.error().kind(), AuthErrorKind::MissingCredentials);

    let open = sessions.gate().allow_anonymous(true);
    let admission = served(&open, &anonymous).await;
    assert!(admission.claims().is_none());
    assert!(admission.completion().is_empty());

    let forged = parts(Method::GET, &[("authorization", "Bearer a.b.c")]);
    let refusal = refused(&open, &forged).await;
    assert_eq!(refusal.error().kind(), AuthErrorKind::Malformed);
}

/// A store that answers only when awaited, as a networked one does: the pair check and the
/// completion's liveness check both wait on it.
#[derive(Clone, Default)]
struct Awaited {
    inner: MemoryStore,
    /// Whether the store was awaited for a check.
    awaited: Arc<AtomicBool>,
}

impl PairStore for Awaited {
    fn create_session(
        &self,
        session: NewSession,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.inner.create_session(session)
    }

    fn check_access(
        &self,
        sid: SessionId,
        jti: TokenId,
        now: u64,
    ) -> impl Future<Output = Result<AccessCheck, StoreError>> + Send {
        self.awaited.store(true, Ordering::SeqCst);
        self.inner.check_access(sid, jti, now)
    }

    fn refresh(
        &self,
        request: RefreshRequest,
    ) -> impl Future<Output = Result<RefreshOutcome, StoreError>> + Send {
        self.inner.refresh(request)
    }

    fn revoke_session(
        &self,
        sid: SessionId,
        now: u64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        self.inner.revoke_session(sid, now)
    }

    fn revoke_subject(
        &self,
        subject: &str,
        now: u64,
    ) -> impl Future<Output = Result<usize, StoreError>> + Send {
        self.inner.revoke_subject(subject, now)
    }
}

#[tokio::test]
async fn a_store_that_must_be_awaited_is_awaited_for_the_decision_and_the_completion() {
    let clock = ManualClock::new(T0);
    let store = Awaited::default();
    let sessions = sessions_on(&clock, false, store.clone());
    let gate = sessions.gate();
    let pair = sessions.issue("alice", ()).await.expect("issue");
    let head = parts(
        Method::GET,
        &[("authorization", &bearer(pair.access_token()))],
    );
    let Deciding::Pending(decision) = gate.decide_now((&head).into()) else {
        panic!("the pair check waits on the store");
    };
    let Decision::Serve(admission) = decision.await else {
        panic!("refused");
    };
    assert!(store.awaited.swap(false, Ordering::SeqCst));
    assert_eq!(admission.claims().expect("claims").subject(), "alice");

    // A refresh, then a logout, then the completion, which asks the store again.
    clock.advance(ACCESS_TTL);
    let refresh = parts(Method::GET, &[("x-refresh-token", pair.refresh_token())]);
    let admission = served(&gate, &refresh).await;
    sessions
        .revoke_session(pair.session_id())
        .await
        .expect("revoke");
    let (_, headers) = completed(admission).await;
    assert!(store.awaited.load(Ordering::SeqCst), "asked before adding");
    assert!(!headers.contains_key("x-access-token"));
    assert_eq!(headers["cache-control"], "no-store");

    // Without the logout, the tokens go out.
    let pair = sessions.issue("bob", ()).await.expect("issue");
    clock.advance(ACCESS_TTL);
    let refresh = parts(Method::GET, &[("x-refresh-token", pair.refresh_token())]);
    let (_, headers) = completed(served(&gate, &refresh).await).await;
    assert!(headers.contains_key("x-access-token"));
}

/// A refusal that a responder of the application's own answers keeps the challenge, as the
/// layer does.
#[tokio::test]
async fn a_responder_of_ones_own_keeps_the_protocol() {
    let clock = ManualClock::new(T0);
    let sessions = sessions(&clock, false);
    let refusal = refused(&sessions.gate(), &parts(Method::GET, &[])).await;
    let bare = |error: &AuthError| {
        let mut response = http::Response::new(String::new());
        *response.status_mut() = error.status();
        response
    };
    let response = refusal.into_response(&bare);
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
}

mod resource_server {
    use tower_jwt_auth::decision::{Deciding, Decision, RequestHead};
    use tower_jwt_auth::oidc::{Issuer, RemoteKeys, ResourceServer};
    use tower_jwt_auth::{Algorithm, JwtKeys, JwtSessions, ManualClock};

    use super::{T0, bearer, parts};
    use http::{Method, StatusCode};

    fn key(name: &str) -> Vec<u8> {
        let path = format!("{}/tests/keys/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(path).expect("test key")
    }

    /// The resource server decides on the same types: served with the token's
    /// `AccessClaims`, refused with the same answers, anonymous when allowed.
    #[tokio::test]
    async fn a_resource_server_decides_on_the_same_types() {
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
        let gate = server.gate();
        let pair = issuing.issue("alice", ()).await.expect("issue");

        let head = parts(
            Method::GET,
            &[("authorization", &bearer(pair.access_token()))],
        );
        let Deciding::Ready(Decision::Serve(admission)) = gate.decide_now((&head).into()) else {
            panic!("the keys are at hand: decided at once");
        };
        assert_eq!(admission.claims().and_then(|c| c.subject()), Some("alice"));
        assert!(admission.completion().is_empty());

        let anonymous = parts(Method::GET, &[]);
        let Decision::Refuse(refusal) = gate.decide(RequestHead::from(&anonymous)).await else {
            panic!("no token");
        };
        assert_eq!(refusal.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(refusal.headers()["www-authenticate"], "Bearer");

        let open = gate.allow_anonymous(true);
        let Decision::Serve(admission) = open.decide(RequestHead::from(&anonymous)).await else {
            panic!("anonymous requests are allowed");
        };
        assert!(admission.claims().is_none());

        let call = parts(Method::POST, &[("content-type", "application/grpc")]);
        let Decision::Refuse(refusal) = server.gate().decide((&call).into()).await else {
            panic!("no token");
        };
        assert!(refusal.is_grpc());
        assert_eq!(refusal.headers()["grpc-status"], "16");
    }
}
