//! The verified-token cache: an asymmetric token presented again, through a resource server and
//! through this crate's layer, against the crate's HS256 acceptance; and what a lookup must
//! spend before it finds anything, the SHA-256 of the token, against the HMAC it would replace.

use std::hint::black_box;

use sha2::{Digest, Sha256};
use tower::{Layer, service_fn};
use tower_jwt_auth::oidc::{Issuer, RemoteKeys, ResourceServer};
use tower_jwt_auth::{JwtKeys, JwtSessions};

use super::keys::{ALGORITHMS, pem};
use super::{Case, SECRET, call, hello, now_or_never};

/// `hs256_layer_accept`: the layer, HS256, no pair check (a resource server has none), and
/// `sha256_of_the_hs256_token`; for EdDSA, ES256 and RS256 one token again and again, found in
/// the cache, through a resource server with the key given once (`resource_server_repeated`)
/// and through this crate's layer, verify-only, no pair check (`layer_repeated`); and the
/// resource server with the cache off (`resource_server_cache_off`), every call a verification.
pub(crate) fn cached() -> Vec<(String, Case)> {
    let hs256 = JwtSessions::builder()
        .hs256_secret(SECRET)
        .pair_check(false)
        .build()
        .expect("configuration");
    let token = now_or_never(hs256.issue("alice", ()))
        .expect("issue")
        .access_token()
        .to_owned();
    let mut cases: Vec<(String, Case)> = vec![
        (
            "hs256_layer_accept".into(),
            call(hs256.layer().layer(service_fn(hello)), &token, 200),
        ),
        (
            "sha256_of_the_hs256_token".into(),
            Box::new(move || {
                black_box(Sha256::digest(black_box(token.as_bytes())));
            }),
        ),
    ];
    for (alg, name) in ALGORITHMS {
        let public = pem(&format!("{name}.pub.pem"));
        let keys = JwtKeys::from_pem(alg, &pem(&format!("{name}.pem")), &public).expect("key pair");
        let issuer = JwtSessions::builder()
            .keys(keys)
            .pair_check(false)
            .build()
            .expect("configuration");
        let token = now_or_never(issuer.issue("alice", ()))
            .expect("issue")
            .access_token()
            .to_owned();
        let server = |cache: usize| {
            let keys = RemoteKeys::from_jwk_set(&issuer.jwks()).expect("keys");
            ResourceServer::builder()
                .issuer(Issuer::any(keys))
                .verified_token_cache(cache)
                .build()
                .expect("configuration")
                .layer()
                .layer(service_fn(hello))
        };
        let verify_only = JwtSessions::builder()
            .keys(JwtKeys::verify_only_pem(alg, &public).expect("public key"))
            .pair_check(false)
            .build()
            .expect("configuration");
        cases.push((
            format!("{alg:?}/resource_server_repeated"),
            call(server(1024), &token, 200),
        ));
        cases.push((
            format!("{alg:?}/layer_repeated"),
            call(verify_only.layer().layer(service_fn(hello)), &token, 200),
        ));
        cases.push((
            format!("{alg:?}/resource_server_cache_off"),
            call(server(0), &token, 200),
        ));
    }
    cases
}
