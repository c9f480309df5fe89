//! The verified-token cache at its two costs: what it adds to a token's first verification, and
//! the memory it takes when full.
//!
//! - First verifications: `JwtSessions::authenticate` of 1,024 distinct tokens in turn through a
//!   cache of 128 (every call misses, verifies and inserts), with the cache off, and
//!   `jsonwebtoken::decode`, for EdDSA, ES256 and RS256; the three calls of each token are timed
//!   one by one in rotating order, and each figure is the median over 6,144 calls. A call of
//!   30-100 µs that the machine interrupts is an outlier the median drops, where a batch's mean
//!   would carry it.
//! - Memory: 100,000 EdDSA tokens, each verified once, held by a resource server
//!   (provider-shaped tokens, whose claims each entry keeps) and by this crate's layer (its own
//!   access tokens; an entry keeps no claims); resident memory before and after the cache fills.
//!
//! `cargo bench --bench verified_cache`. Custom harness: per-call medians and a whole-process
//! measurement.

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::json;
use tower_jwt_auth::oidc::{Issuer, RemoteKeys, ResourceServer};
use tower_jwt_auth::{JwtKeys, JwtSessions};

const TOKENS: usize = 100_000;
const ISSUER: &str = "https://idp.example.com/realms/main";

fn now_or_never<F: Future>(future: F) -> F::Output {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("a verification with the keys at hand completes at once"),
    }
}

fn pem(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/keys/{name}", env!("CARGO_MANIFEST_DIR"))).expect("key file")
}

/// Resident set size of this process, from /proc/self/statm (pages of 4 KiB).
fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("resident pages");
    pages * 4096
}

/// Resident bytes per token held that `fill` adds (it returns how many it holds), once `warm` has run over the same tokens (the
/// same verifications with the cache off, so that the allocator's own growth is not counted).
fn per_token(what: &str, warm: impl Fn(), fill: impl Fn() -> usize) {
    warm();
    let before = resident_bytes();
    let held = fill();
    let after = resident_bytes();
    // Each of the 16 shards holds a sixteenth of the capacity, and the tokens do not spread
    // exactly evenly: a full cache holds a little less than its capacity.
    assert!(
        held <= TOKENS && held > TOKENS / 100 * 98,
        "{what}: {held} tokens held"
    );
    let grown = after.saturating_sub(before) as f64;
    println!(
        "{what:<58} {held} tokens held: {:>6.1} MiB, {:>5.0} B per token",
        grown / (1024.0 * 1024.0),
        grown / held as f64,
    );
}

/// The claims `jsonwebtoken::decode` validates.
#[derive(serde::Deserialize)]
#[expect(dead_code, reason = "decoded to be validated, not read")]
struct Registered {
    sub: String,
    exp: u64,
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// First verifications of `alg`: cache on (every call a miss and an insert), cache off, and
/// `jsonwebtoken::decode`, per-call medians.
fn first_verification(alg: Algorithm, name: &str) {
    let public = pem(&format!("{name}.pub.pem"));
    let keys = JwtKeys::from_pem(alg, &pem(&format!("{name}.pem")), &public).expect("key pair");
    let sessions = |cache: usize| {
        JwtSessions::builder()
            .keys(keys.clone())
            .pair_check(false)
            .verified_token_cache(cache)
            .build()
            .expect("configuration")
    };
    let (on, off) = (sessions(128), sessions(0));
    let tokens: Vec<String> = (0..1024)
        .map(|_| {
            now_or_never(on.issue("alice", ()))
                .expect("issue")
                .access_token()
                .to_owned()
        })
        .collect();
    let key = match alg {
        Algorithm::EdDSA => DecodingKey::from_ed_pem(&public),
        Algorithm::ES256 => DecodingKey::from_ec_pem(&public),
        _ => DecodingKey::from_rsa_pem(&public),
    }
    .expect("public key");
    let validation = Validation::new(alg);
    let mut ns: [Vec<f64>; 3] = Default::default();
    for _ in 0..6 {
        for (i, token) in tokens.iter().enumerate() {
            for k in 0..3 {
                let case = (i + k) % 3;
                let start = Instant::now();
                match case {
                    0 => drop(black_box(now_or_never(on.authenticate(black_box(token))))),
                    1 => drop(black_box(now_or_never(off.authenticate(black_box(token))))),
                    _ => drop(black_box(jsonwebtoken::decode::<Registered>(
                        black_box(token),
                        &key,
                        &validation,
                    ))),
                }
                ns[case].push(start.elapsed().as_nanos() as f64);
            }
        }
    }
    let [first, off, theirs] = ns.map(median);
    println!(
        "{alg:?}: first verification {first:>6.0} ns, cache off {off:>6.0} ns, \
         jsonwebtoken::decode {theirs:>6.0} ns; first / jsonwebtoken::decode {:.2} \
         (target <= 1.10), cache on / off {:.3}",
        first / theirs,
        first / off
    );
}

fn main() {
    for (alg, name) in [
        (Algorithm::EdDSA, "ed25519"),
        (Algorithm::ES256, "es256"),
        (Algorithm::RS256, "rs256"),
    ] {
        first_verification(alg, name);
    }

    let keys = JwtKeys::from_pem(
        Algorithm::EdDSA,
        &pem("ed25519.pem"),
        &pem("ed25519.pub.pem"),
    )
    .expect("key pair");

    // This crate's layer first: every token of both parts stays allocated to the end, so that
    // neither part's fill reuses memory another part freed.
    let issuer = JwtSessions::builder()
        .keys(keys.clone())
        .pair_check(false)
        .build()
        .expect("configuration");
    let own_tokens: Vec<String> = (0..TOKENS)
        .map(|_| {
            now_or_never(issuer.issue("alice", ()))
                .expect("issue")
                .access_token()
                .to_owned()
        })
        .collect();
    let verifier = |cache: usize| {
        JwtSessions::builder()
            .keys(
                JwtKeys::verify_only_pem(Algorithm::EdDSA, &pem("ed25519.pub.pem"))
                    .expect("public key"),
            )
            .pair_check(false)
            .verified_token_cache(cache)
            .build()
            .expect("configuration")
    };
    let (off, on) = (verifier(0), verifier(TOKENS));
    per_token(
        "this crate's layer, its own access tokens",
        || {
            for token in &own_tokens {
                now_or_never(off.authenticate(token)).expect("valid");
            }
        },
        || {
            for token in &own_tokens {
                now_or_never(on.authenticate(token)).expect("valid");
            }
            on.verified_token_cache_len()
        },
    );

    // A provider's access token: the claims Keycloak or Auth0 put in one, about 600 bytes.
    let encoding = EncodingKey::from_ed_pem(&pem("ed25519.pem")).expect("private key");
    let mut header = Header::new(Algorithm::EdDSA);
    header.typ = Some("at+jwt".into());
    header.kid = Some(keys.kid().to_owned());
    let provider_tokens: Vec<String> = (0..TOKENS)
        .map(|i| {
            let claims = json!({
                "iss": ISSUER, "sub": format!("f81d4fae-7dec-11d0-a765-{i:012}"),
                "aud": ["orders-api", "account"], "azp": "web-shop", "typ": "Bearer",
                "exp": 4_000_000_000u64, "iat": 1_700_000_000u64, "auth_time": 1_700_000_000u64,
                "jti": format!("{i:08}-1c2d-4e5f-8a9b-0c1d2e3f4a5b"), "sid": format!("s-{i}"),
                "scope": "openid profile email orders:read orders:write",
                "realm_access": {"roles": ["offline_access", "uma_authorization", "customer"]},
                "email": format!("user{i}@example.com"), "email_verified": true,
                "preferred_username": format!("user{i}"),
            });
            jsonwebtoken::encode(&header, &claims, &encoding).expect("token")
        })
        .collect();
    let mut jwks = tower_jwt_auth::jwk::JwkSet { keys: Vec::new() };
    jwks.keys.push(keys.public_jwk().expect("public key"));
    let server = |cache: usize| {
        ResourceServer::builder()
            .issuer(
                Issuer::new(ISSUER, RemoteKeys::from_jwk_set(&jwks).expect("keys"))
                    .audience("orders-api"),
            )
            .verified_token_cache(cache)
            .build()
            .expect("configuration")
    };
    let (off, on) = (server(0), server(TOKENS));
    per_token(
        "resource server, provider-shaped tokens (~600 B of claims)",
        || {
            for token in &provider_tokens {
                now_or_never(off.verify(token)).expect("valid");
            }
        },
        || {
            for token in &provider_tokens {
                now_or_never(on.verify(token)).expect("valid");
            }
            on.verified_token_cache_len()
        },
    );
}
