//! The in-process cases, shared by `layer` (criterion, one figure per case) and `ratios`
//! (each case against its baseline in alternating rounds). Every case is a closure that does
//! one operation and checks nothing; its expected outcome is asserted once when it is built.

use std::convert::Infallible;
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use http::header::{AUTHORIZATION, COOKIE};
use http::{HeaderName, HeaderValue, Request, Response};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use tower::{Layer, Service, service_fn};
use tower_jwt_auth::store::{MemoryStore, PairStore, RefreshRequest, TokenStamp};
use tower_jwt_auth::{JwtSessions, SessionId, TokenId};

mod cached;
mod floor;
mod keys;

pub(crate) use cached::cached;
pub(crate) use keys::{asymmetric, hmac, remote_keys};

const SECRET: &[u8] = b"benchmark-secret-of-32-bytes-min";

/// One benchmarked operation.
pub(crate) type Case = Box<dyn FnMut()>;

/// Everything here completes without waiting (the memory store never yields), so one poll with a
/// no-op waker is the whole future: the figures contain no runtime overhead.
pub(crate) fn now_or_never<F: Future>(future: F) -> F::Output {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("benchmarked future did not complete at once"),
    }
}

fn hello(_: Request<()>) -> std::future::Ready<Result<Response<()>, Infallible>> {
    std::future::ready(Ok(Response::new(())))
}

/// A request carrying header `name`, as a server would hand it to the layer.
fn request(name: &HeaderName, value: &HeaderValue) -> Request<()> {
    let mut request = Request::new(());
    request.headers_mut().insert(name.clone(), value.clone());
    request
}

fn sessions(pair_check: bool) -> JwtSessions {
    JwtSessions::builder()
        .hs256_secret(SECRET)
        .pair_check(pair_check)
        .build()
        .expect("configuration")
}

/// The layer's work written by hand on `jsonwebtoken::decode`: the bearer token, decode and
/// validate, the same store's pair check, the claims into the extensions, the inner service.
fn jsonwebtoken_layer(
    store: MemoryStore,
) -> impl Service<Request<()>, Response = Response<()>, Error = Infallible> + 'static {
    let key = DecodingKey::from_secret(SECRET);
    let validation = Validation::new(Algorithm::HS256);
    service_fn(move |mut request: Request<()>| {
        let claims = request
            .headers()
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .and_then(|token| {
                jsonwebtoken::decode::<RegisteredClaims>(token, &key, &validation).ok()
            })
            .map(|data| data.claims);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let current = claims.as_ref().is_some_and(|c| {
            matches!(
                store.check_access_now(c.sid, c.jti, now),
                Some(Ok(tower_jwt_auth::store::AccessCheck::Current))
            )
        });
        let response = if let (Some(claims), true) = (claims, current) {
            request.extensions_mut().insert(claims);
            hello(request).into_inner()
        } else {
            let mut refused = Response::new(());
            *refused.status_mut() = http::StatusCode::UNAUTHORIZED;
            Ok(refused)
        };
        std::future::ready(response)
    })
}

/// `service` called with `Bearer token`, after checking once that it answers `status`.
fn call<S>(service: S, token: &str, status: u16) -> Case
where
    S: Service<Request<()>, Response = Response<()>, Error = Infallible> + 'static,
{
    call_with(service, AUTHORIZATION, &format!("Bearer {token}"), status)
}

/// `service` called with header `name: value`, after checking once that it answers `status`.
fn call_with<S>(mut service: S, name: HeaderName, value: &str, status: u16) -> Case
where
    S: Service<Request<()>, Response = Response<()>, Error = Infallible> + 'static,
{
    let value = HeaderValue::try_from(value).expect("header value");
    let response = now_or_never(service.call(request(&name, &value))).expect("infallible");
    assert_eq!(response.status(), status);
    Box::new(move || {
        let response = now_or_never(service.call(request(&name, black_box(&value))));
        black_box(response.expect("infallible"));
    })
}

/// Cookie mode: the layer accepting the access token from a browser's `Cookie` header (beside
/// two cookies of the application's), and from `Authorization` with cookie mode on, against
/// the layer without cookie mode.
pub(crate) fn cookies() -> Vec<(&'static str, Case)> {
    let store = MemoryStore::new();
    let build = |cookies: bool| {
        let builder = JwtSessions::builder()
            .hs256_secret(SECRET)
            .store(store.clone());
        let builder = if cookies {
            builder.cookies(tower_jwt_auth::cookie::CookieSettings::new())
        } else {
            builder
        };
        builder.build().expect("configuration")
    };
    let (headers_only, cookie_mode) = (build(false), build(true));
    let token = now_or_never(headers_only.issue("alice", ()))
        .expect("issue")
        .access_token()
        .to_owned();
    let cookie = format!("theme=dark; __Host-access-token={token}; lang=en");
    let layered = |sessions: &JwtSessions| sessions.layer().layer(service_fn(hello));
    vec![
        ("layer_bearer", call(layered(&headers_only), &token, 200)),
        (
            "layer_cookie_mode_bearer",
            call(layered(&cookie_mode), &token, 200),
        ),
        (
            "layer_cookie_mode_cookie",
            call_with(layered(&cookie_mode), COOKIE, &cookie, 200),
        ),
    ]
}

/// The access path: a bare service; the layer (HS256, memory store) with and without the pair check;
/// the same layer validating with `jsonwebtoken::decode`; the layer refusing a bad signature.
pub(crate) fn access() -> Vec<(&'static str, Case)> {
    let store = MemoryStore::new();
    let fast = JwtSessions::builder()
        .hs256_secret(SECRET)
        .store(store.clone())
        .build()
        .expect("configuration");
    let token = now_or_never(fast.issue("alice", ()))
        .expect("issue")
        .access_token()
        .to_owned();
    let unpaired = sessions(false);
    let mut forged = token.clone().into_bytes();
    let at = forged.len() - 10;
    forged[at] = if forged[at] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).expect("ascii");
    let layered = |sessions: &JwtSessions| sessions.layer().layer(service_fn(hello));
    let floor_sessions = std::sync::Arc::new(floor::Sessions::new());
    let payload = jsonwebtoken::dangerous::insecure_decode::<RegisteredClaims>(&token)
        .expect("claims")
        .claims;
    floor_sessions.insert(&payload.sid.to_string(), &payload.jti.to_string());
    vec![
        ("bare_service", call(service_fn(hello), &token, 200)),
        (
            "hand_written_floor",
            call(floor::layer(SECRET, floor_sessions), &token, 200),
        ),
        ("layer_pair_check", call(layered(&fast), &token, 200)),
        ("layer_no_pair_check", call(layered(&unpaired), &token, 200)),
        (
            "layer_jsonwebtoken_decode_pair_check",
            call(jsonwebtoken_layer(store), &token, 200),
        ),
        (
            "layer_reject_bad_signature",
            call(layered(&fast), &forged, 401),
        ),
    ]
}

#[derive(Clone, Serialize, Deserialize)]
struct RegisteredClaims {
    sub: String,
    sid: SessionId,
    jti: TokenId,
    iat: u64,
    exp: u64,
}

/// A refresh (verify the refresh token, one store step, mint) against
/// `jsonwebtoken::encode` of the same claims plus one store step, and against that plus
/// `jsonwebtoken::decode` of the presented refresh token (which any refresh must verify).
pub(crate) fn refresh() -> Vec<(&'static str, Case)> {
    // No grace and no theft rule: every refresh mints and rotates the stored access token.
    let sessions = JwtSessions::builder()
        .hs256_secret(SECRET)
        .refresh_grace(std::time::Duration::ZERO)
        .theft_detection(false)
        .build()
        .expect("configuration");
    let pair = now_or_never(sessions.issue("alice", ())).expect("issue");
    let refresh_token = pair.refresh_token().to_owned();
    // A refresh token of the same key whose session this store never saw: the refresh verifies
    // it, asks the store once and mints nothing, which isolates the verification's cost.
    let elsewhere = JwtSessions::builder()
        .hs256_secret(SECRET)
        .build()
        .expect("configuration");
    let unknown = now_or_never(elsewhere.issue("alice", ())).expect("issue");
    let unknown = unknown.refresh_token().to_owned();
    let sessions = std::sync::Arc::new(sessions);
    let mut cases: Vec<(&'static str, Case)> = vec![
        ("layer_refresh", {
            let (sessions, token) = (sessions.clone(), refresh_token.clone());
            Box::new(move || {
                black_box(now_or_never(sessions.refresh(black_box(&token))).expect("refresh"));
            })
        }),
        ("layer_refresh_of_an_unknown_session", {
            let error = now_or_never(sessions.refresh(&unknown)).expect_err("unknown session");
            assert_eq!(error.kind(), tower_jwt_auth::AuthErrorKind::UnknownSession);
            Box::new(move || {
                black_box(
                    now_or_never(sessions.refresh(black_box(&unknown))).expect_err("unknown"),
                );
            })
        }),
    ];
    for (name, verify) in [
        ("jsonwebtoken_encode_plus_store_refresh", false),
        ("jsonwebtoken_decode_encode_plus_store_refresh", true),
    ] {
        let store = MemoryStore::new();
        let session = now_or_never(tower_jwt_auth::store::conformance::new_session(
            &store, "alice",
        ));
        let key = EncodingKey::from_secret(SECRET);
        let mut header = Header::new(Algorithm::HS256);
        header.typ = Some("at+jwt".into());
        let decoding = DecodingKey::from_secret(SECRET);
        let mut validation = Validation::new(Algorithm::HS256);
        validation.validate_exp = false;
        let refresh_token = refresh_token.clone();
        cases.push((
            name,
            Box::new(move || {
                if verify {
                    let presented = jsonwebtoken::decode::<RegisteredClaims>(
                        &refresh_token,
                        &decoding,
                        &validation,
                    );
                    black_box(presented.expect("valid refresh token"));
                }
                let stamp = TokenStamp {
                    jti: TokenId::random().expect("rng"),
                    iat: 1,
                    exp: 2,
                };
                let claims = RegisteredClaims {
                    sub: "alice".into(),
                    sid: session.session_id(),
                    jti: stamp.jti,
                    iat: stamp.iat,
                    exp: stamp.exp,
                };
                let token = jsonwebtoken::encode(&header, &claims, &key).expect("encode");
                let request = RefreshRequest {
                    sid: session.session_id(),
                    refresh_jti: session.refresh().jti,
                    now: session.access().exp,
                    new_access: stamp,
                    new_refresh: None,
                    grace: 0,
                    leeway: 0,
                    theft_detection: false,
                };
                black_box((token, now_or_never(store.refresh(request)).expect("store")));
            }),
        ));
    }
    cases
}
