//! The cases about keys: asymmetric algorithms against `jsonwebtoken`, the HMAC implementation
//! the fast path signs with, and a resource server whose keys are fetched.

use std::convert::Infallible;
use std::hint::black_box;

use http::{Request, Response};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use tower::{Layer, service_fn};
use tower_jwt_auth::{JwtKeys, JwtSessions};

use super::{Case, RegisteredClaims, SECRET, call, hello, now_or_never};

pub(super) fn pem(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/keys/{name}", env!("CARGO_MANIFEST_DIR"))).expect("key file")
}

/// The asymmetric algorithms measured, each with its key files in `tests/keys/`.
pub(crate) const ALGORITHMS: [(Algorithm, &str); 3] = [
    (Algorithm::EdDSA, "ed25519"),
    (Algorithm::ES256, "es256"),
    (Algorithm::RS256, "rs256"),
];

/// Distinct tokens cycled through by a first-verification case.
const FIRST_TOKENS: usize = 1024;

/// Asymmetric keys: for EdDSA, ES256 and RS256, `JwtSessions::authenticate` verifying a token
/// for the first time (`layer_authenticate_first`: 1,024 distinct tokens in turn through a
/// verified-token cache of 128, so that every call misses, verifies and inserts, evicting),
/// the same with the cache off, and `jsonwebtoken_decode` of the same tokens on the same
/// backend (aws-lc-rs).
pub(crate) fn asymmetric() -> Vec<(String, Case)> {
    let mut cases: Vec<(String, Case)> = Vec::new();
    for (alg, name) in ALGORITHMS {
        let keys = JwtKeys::from_pem(
            alg,
            &pem(&format!("{name}.pem")),
            &pem(&format!("{name}.pub.pem")),
        )
        .expect("keys");
        let sessions = |cache: usize| {
            JwtSessions::builder()
                .keys(keys.clone())
                .pair_check(false)
                .verified_token_cache(cache)
                .build()
                .expect("configuration")
        };
        let first = sessions(128);
        let tokens: Vec<String> = (0..FIRST_TOKENS)
            .map(|_| {
                now_or_never(first.issue("alice", ()))
                    .expect("issue")
                    .access_token()
                    .to_owned()
            })
            .collect();
        let public = pem(&format!("{name}.pub.pem"));
        let key = match alg {
            Algorithm::EdDSA => DecodingKey::from_ed_pem(&public),
            Algorithm::ES256 => DecodingKey::from_ec_pem(&public),
            _ => DecodingKey::from_rsa_pem(&public),
        }
        .expect("public key");
        let validation = Validation::new(alg);
        let cycle = |run: Box<dyn Fn(&str)>| -> Case {
            let tokens = tokens.clone();
            let mut next = 0;
            Box::new(move || {
                next = (next + 1) % tokens.len();
                run(black_box(&tokens[next]));
            })
        };
        let off = sessions(0);
        cases.push((
            format!("{alg:?}/layer_authenticate_first"),
            cycle(Box::new(move |token| {
                black_box(now_or_never(first.authenticate(token)).expect("valid"));
            })),
        ));
        cases.push((
            format!("{alg:?}/layer_authenticate_cache_off"),
            cycle(Box::new(move |token| {
                black_box(now_or_never(off.authenticate(token)).expect("valid"));
            })),
        ));
        cases.push((
            format!("{alg:?}/jsonwebtoken_decode"),
            cycle(Box::new(move |token| {
                black_box(
                    jsonwebtoken::decode::<RegisteredClaims>(token, &key, &validation)
                        .expect("valid"),
                );
            })),
        ));
    }
    cases
}

/// Why the fast path signs with RustCrypto: an HS256 tag over a token-sized message, keyed once,
/// with `hmac` (cloned per tag, as the crate does) and with aws-lc-rs (`hmac::verify`, which
/// copies its context per call).
pub(crate) fn hmac() -> Vec<(&'static str, Case)> {
    use hmac::{KeyInit, Mac};
    let message = vec![b'e'; 290];
    let aws = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, SECRET);
    let tag = aws_lc_rs::hmac::sign(&aws, &message).as_ref().to_vec();
    let rust = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET).expect("any key length");
    let mut check = rust.clone();
    check.update(&message);
    assert!(
        check.verify_slice(&tag).is_ok(),
        "the two implementations agree"
    );
    let (message2, tag2) = (message.clone(), tag.clone());
    vec![
        (
            "rustcrypto_hmac_sha256_verify",
            Box::new(move || {
                let mut mac = rust.clone();
                mac.update(black_box(&message));
                black_box(mac.verify_slice(&tag).is_ok());
            }),
        ),
        (
            "aws_lc_rs_hmac_sha256_verify",
            Box::new(move || {
                black_box(aws_lc_rs::hmac::verify(&aws, black_box(&message2), &tag2).is_ok());
            }),
        ),
    ]
}

/// A resource server's request path with keys fetched from a JWKS URL (through an in-memory HTTP
/// client) against the same with a key set given once, and this crate's own layer verifying the
/// same EdDSA token with a local public key (verify-only, no pair check).
pub(crate) fn remote_keys() -> Vec<(&'static str, Case)> {
    use tower_jwt_auth::oidc::{HttpClient, Issuer, RemoteKeys, ResourceServer};

    let keys = || {
        JwtKeys::from_pem(
            Algorithm::EdDSA,
            &pem("ed25519.pem"),
            &pem("ed25519.pub.pem"),
        )
        .expect("keys")
    };
    let sessions = JwtSessions::builder()
        .keys(keys())
        .pair_check(false)
        .build()
        .expect("configuration");
    let token = now_or_never(sessions.issue("alice", ()))
        .expect("issue")
        .access_token()
        .to_owned();
    let jwks = sessions.jwks();
    let document = serde_json::to_vec(&jwks).expect("JWKS");
    let provider = service_fn(
        move |_: Request<http_body_util::Empty<hyper::body::Bytes>>| {
            let body = http_body_util::Full::new(hyper::body::Bytes::from(document.clone()));
            std::future::ready(Ok::<_, Infallible>(Response::new(body)))
        },
    );
    // The background task that keeps fetched keys fresh lives on this runtime.
    let runtime = Box::leak(Box::new(tokio::runtime::Runtime::new().expect("runtime")));
    let fetched = runtime
        .block_on(
            RemoteKeys::jwks("https://idp.example.com/jwks")
                .http_client(HttpClient::new(provider))
                .require_at_start(true)
                .build(),
        )
        .expect("fetched keys");
    let given = RemoteKeys::from_jwk_set(&jwks).expect("keys");
    let server = |keys| {
        ResourceServer::builder()
            .issuer(Issuer::any(keys))
            .build()
            .expect("configuration")
            .layer()
            .layer(service_fn(hello))
    };
    let verify_only = JwtSessions::builder()
        .key_set(
            tower_jwt_auth::KeySet::verify_only()
                .with_verify_key(keys())
                .expect("one key"),
        )
        .pair_check(false)
        .build()
        .expect("configuration");
    vec![
        (
            "resource_server_fetched_keys",
            call(server(fetched), &token, 200),
        ),
        (
            "resource_server_given_keys",
            call(server(given), &token, 200),
        ),
        (
            "jwt_auth_verify_only_local_key",
            call(verify_only.layer().layer(service_fn(hello)), &token, 200),
        ),
    ]
}
