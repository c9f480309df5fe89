//! In-process cost of the layer, each figure beside its baseline in the same group.
//!
//! `cargo bench --bench layer`; BENCHMARKS.md lists what each group answers.

use std::convert::Infallible;
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use criterion::{Criterion, criterion_group, criterion_main};
use http::header::AUTHORIZATION;
use http::{HeaderValue, Request, Response};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use tower::{Layer, Service, service_fn};
use tower_jwt_auth::store::{MemoryStore, PairStore, RefreshRequest, TokenStamp};
use tower_jwt_auth::{JwtKeys, JwtSessions, SessionId, TokenId};

const SECRET: &[u8] = b"benchmark-secret-of-32-bytes-min";

/// Everything here completes without waiting (the memory store never yields), so one poll with a
/// no-op waker is the whole future: the figures contain no runtime overhead.
fn now_or_never<F: Future>(future: F) -> F::Output {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("benchmarked future did not complete at once"),
    }
}

fn hello(_: Request<()>) -> std::future::Ready<Result<Response<()>, Infallible>> {
    std::future::ready(Ok(Response::new(())))
}

/// A request carrying `authorization`, as a server would hand it to the layer.
fn request(authorization: &HeaderValue) -> Request<()> {
    let mut request = Request::new(());
    request
        .headers_mut()
        .insert(AUTHORIZATION, authorization.clone());
    request
}

fn sessions(pair_check: bool, reference: bool) -> JwtSessions<MemoryStore> {
    JwtSessions::builder()
        .hs256_secret(SECRET)
        .pair_check(pair_check)
        .reference_decoding(reference)
        .build()
        .expect("configuration")
}

/// Calls `service` with `token` and checks the expected status once before measuring.
fn bench_call<S>(
    c: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    mut service: S,
    token: &str,
    status: u16,
) where
    S: Service<Request<()>, Response = Response<()>, Error = Infallible>,
{
    let authorization = HeaderValue::try_from(format!("Bearer {token}")).expect("header value");
    let response = now_or_never(service.call(request(&authorization))).expect("infallible");
    assert_eq!(response.status(), status, "{name}");
    c.bench_function(name, |b| {
        b.iter(|| {
            black_box(now_or_never(
                service.call(request(black_box(&authorization))),
            ))
        })
    });
}

/// Goals 1–3: layer overhead against the same layer on `jsonwebtoken::decode`, the pair check's
/// share, and rejecting a bad signature against accepting a good token.
fn access(c: &mut Criterion) {
    let mut group = c.benchmark_group("access");
    let fast = sessions(true, false);
    let token = now_or_never(fast.issue("alice", ()))
        .expect("issue")
        .access_token()
        .to_owned();
    let reference = sessions(true, true);
    let reference_token = now_or_never(reference.issue("alice", ())).expect("issue");
    let unpaired = sessions(false, false);
    let mut forged = token.clone().into_bytes();
    let at = forged.len() - 10;
    forged[at] = if forged[at] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).expect("ascii");

    bench_call(&mut group, "bare_service", service_fn(hello), &token, 200);
    bench_call(
        &mut group,
        "layer_pair_check",
        fast.layer().layer(service_fn(hello)),
        &token,
        200,
    );
    bench_call(
        &mut group,
        "layer_no_pair_check",
        unpaired.layer().layer(service_fn(hello)),
        &token,
        200,
    );
    bench_call(
        &mut group,
        "layer_jsonwebtoken_decode_pair_check",
        reference.layer().layer(service_fn(hello)),
        reference_token.access_token(),
        200,
    );
    bench_call(
        &mut group,
        "layer_reject_bad_signature",
        fast.layer().layer(service_fn(hello)),
        &forged,
        401,
    );
    group.finish();
}

#[derive(Serialize, Deserialize)]
struct RegisteredClaims {
    sub: String,
    sid: SessionId,
    jti: TokenId,
    iat: u64,
    exp: u64,
}

/// Goal 4: a refresh (verify, one store step, mint) against `jsonwebtoken::encode` of the same
/// claims plus one store step.
fn refresh(c: &mut Criterion) {
    let mut group = c.benchmark_group("refresh");
    // No grace and no theft rule: every refresh mints and rotates the stored access token.
    let sessions = JwtSessions::<MemoryStore>::builder()
        .hs256_secret(SECRET)
        .refresh_grace(std::time::Duration::ZERO)
        .theft_detection(false)
        .build()
        .expect("configuration");
    let pair = now_or_never(sessions.issue("alice", ())).expect("issue");
    let refresh_token = pair.refresh_token().to_owned();
    group.bench_function("layer_refresh", |b| {
        b.iter(|| {
            black_box(now_or_never(sessions.refresh(black_box(&refresh_token))).expect("refresh"))
        })
    });

    let store = MemoryStore::new();
    let session = now_or_never(tower_jwt_auth::store::conformance::new_session(
        &store, "alice",
    ));
    let key = EncodingKey::from_secret(SECRET);
    let mut header = Header::new(Algorithm::HS256);
    header.typ = Some("at+jwt".into());
    // Goal 4's baseline, and a second one that also verifies the presented refresh token (which
    // any refresh must do) with jsonwebtoken::decode.
    let decoding = DecodingKey::from_secret(SECRET);
    let mut validation = Validation::new(Algorithm::HS256);
    validation.validate_exp = false;
    for verify in [false, true] {
        let name = match verify {
            false => "jsonwebtoken_encode_plus_store_refresh",
            true => "jsonwebtoken_decode_encode_plus_store_refresh",
        };
        group.bench_function(name, |b| {
            b.iter(|| {
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
                black_box((token, now_or_never(store.refresh(request)).expect("store")))
            })
        });
    }
    group.finish();
}

fn pem(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/keys/{name}", env!("CARGO_MANIFEST_DIR"))).expect("key file")
}

/// Goal 5: asymmetric verification against `jsonwebtoken::decode` on the same backend.
fn asymmetric(c: &mut Criterion) {
    let mut group = c.benchmark_group("asymmetric");
    for (alg, name) in [
        (Algorithm::EdDSA, "ed25519"),
        (Algorithm::ES256, "es256"),
        (Algorithm::RS256, "rs256"),
    ] {
        let keys = JwtKeys::from_pem(
            alg,
            &pem(&format!("{name}.pem")),
            &pem(&format!("{name}.pub.pem")),
        )
        .expect("keys");
        let sessions = JwtSessions::<MemoryStore>::builder()
            .keys(keys)
            .pair_check(false)
            .build()
            .expect("configuration");
        let token = now_or_never(sessions.issue("alice", ()))
            .expect("issue")
            .access_token()
            .to_owned();
        group.bench_function(format!("{alg:?}/layer_authenticate"), |b| {
            b.iter(|| {
                black_box(now_or_never(sessions.authenticate(black_box(&token))).expect("valid"))
            })
        });
        let public = pem(&format!("{name}.pub.pem"));
        let key = match alg {
            Algorithm::EdDSA => DecodingKey::from_ed_pem(&public),
            Algorithm::ES256 => DecodingKey::from_ec_pem(&public),
            _ => DecodingKey::from_rsa_pem(&public),
        }
        .expect("public key");
        let validation = Validation::new(alg);
        group.bench_function(format!("{alg:?}/jsonwebtoken_decode"), |b| {
            b.iter(|| {
                black_box(
                    jsonwebtoken::decode::<RegisteredClaims>(black_box(&token), &key, &validation)
                        .expect("valid"),
                )
            })
        });
    }
    group.finish();
}

criterion_group!(benches, access, refresh, asymmetric);
criterion_main!(benches);
