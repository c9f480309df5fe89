//! The resource server's verify path: arbitrary input, as a token or as the header and payload of
//! a token signed with the issuer's key (so the fuzzer gets past the signature and into the header,
//! claim and time checks), must never panic nor wait, and every token `ResourceServer::verify`
//! accepts must meet what the configuration asks, checked beside it with `jsonwebtoken`: signed
//! by the issuer's key under the algorithm pinned to it, typed `at+jwt`, no `crit`, and, when an
//! issuer and audience are configured, that `iss` and that audience present; inside its time
//! window; with the same subject and expiry.
//!
//! The first input byte picks the mode (low two bits) and the configuration (bit 7: an issuer
//! with an audience, or `Issuer::any` with neither); the rest is the material.

#![no_main]

mod common;

use std::sync::OnceLock;

use aws_lc_rs::hmac;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value, json};
use tower_jwt_auth::ManualClock;
use tower_jwt_auth::jwk::JwkSet;
use tower_jwt_auth::oidc::{AccessClaims, Issuer, RemoteKeys, ResourceServer};

use common::{NOW, ready, stats};

const ISSUER: &str = "https://issuer.example";
const AUDIENCE: &str = "api";
const KID: &str = "fuzz-ed25519";
/// The issuer's Ed25519 private key.
const SEED: &[u8; 32] = b"fuzzing-ed25519-seed-of-32-byte!";

struct Fixture {
    /// `[any issuer, pinned issuer and audience]`.
    servers: [ResourceServer; 2],
    signing: Ed25519KeyPair,
    /// HS256 keyed by the public key's bytes: what a verifier confused about the algorithm
    /// would check.
    confused: hmac::Key,
    decoding: DecodingKey,
    /// Polls run inside it, so that anything the verify path asks of tokio is there.
    runtime: tokio::runtime::Runtime,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let signing = Ed25519KeyPair::from_seed_unchecked(SEED).expect("a valid seed");
        let public = signing.public_key().as_ref().to_vec();
        let set: JwkSet = serde_json::from_value(json!({"keys": [{
            "kty": "OKP", "crv": "Ed25519", "use": "sig", "alg": "EdDSA", "kid": KID,
            "x": B64.encode(&public),
        }]}))
        .expect("a JWK Set");
        let keys = RemoteKeys::from_jwk_set(&set).expect("usable keys");
        let decoding = DecodingKey::from_jwk(&set.keys[0]).expect("a decoding key");
        let server = |issuer: Issuer| {
            ResourceServer::builder()
                .issuer(issuer)
                .clock(ManualClock::new(NOW))
                .build()
                .expect("valid configuration")
        };
        Fixture {
            servers: [
                server(Issuer::any(keys.clone())),
                server(Issuer::new(ISSUER, keys).audience(AUDIENCE)),
            ],
            signing,
            confused: hmac::Key::new(hmac::HMAC_SHA256, &public),
            decoding,
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()
                .expect("a runtime"),
        }
    })
}

/// RFC 9068 §4: `at+jwt`, with or without `application/`, in any case.
fn is_at_jwt(typ: &str) -> bool {
    let typ = typ.to_ascii_lowercase();
    typ.strip_prefix("application/").unwrap_or(&typ) == "at+jwt"
}

/// The subject and expiry of `token` if it meets the configuration, by `jsonwebtoken` and the
/// rules it does not apply itself (`typ`, `kid`, `crit`, time).
fn reference(fixture: &Fixture, pinned: bool, token: &str) -> Option<(Option<String>, u64)> {
    let header = jsonwebtoken::decode_header(token).ok()?;
    if header.alg != Algorithm::EdDSA
        || header.kid.as_deref() != Some(KID)
        || header.crit.is_some()
        || !header.typ.as_deref().is_some_and(is_at_jwt)
    {
        return None;
    }
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.leeway = 0;
    if pinned {
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    } else {
        validation.validate_aud = false;
        validation.set_required_spec_claims(&["exp"]);
    }
    let claims = jsonwebtoken::decode::<Map<String, Value>>(token, &fixture.decoding, &validation)
        .ok()?
        .claims;
    let exp = claims.get("exp")?.as_u64()?;
    let nbf_passed = claims
        .get("nbf")
        .is_none_or(|nbf| nbf.as_u64().is_some_and(|nbf| nbf <= NOW));
    let sub = claims.get("sub").and_then(Value::as_str).map(str::to_owned);
    (NOW < exp && nbf_passed).then_some((sub, exp))
}

/// `header.payload.signature`, signed with the issuer's key, or MACed with its public key.
fn signed(fixture: &Fixture, header: &[u8], payload: &[u8], confused: bool) -> String {
    let mut token = B64.encode(header);
    token.push('.');
    B64.encode_string(payload, &mut token);
    let signature = match confused {
        false => fixture.signing.sign(token.as_bytes()).as_ref().to_vec(),
        true => hmac::sign(&fixture.confused, token.as_bytes())
            .as_ref()
            .to_vec(),
    };
    token.push('.');
    B64.encode_string(signature, &mut token);
    token
}

fn verdict(result: &Result<AccessClaims, tower_jwt_auth::AuthError>) -> String {
    match result {
        Ok(_) => "accepted".to_owned(),
        Err(error) => format!("{:?}", error.kind()),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, material)) = data.split_first() else {
        return;
    };
    let fixture = fixture();
    let pinned = mode >> 7 == 1;
    let server = &fixture.servers[usize::from(pinned)];
    let token = match mode & 3 {
        // The bytes as a token, as a client could send them.
        0 => String::from_utf8_lossy(material).into_owned(),
        // The bytes as the payload under the header the issuer's tokens carry.
        1 => {
            let header = format!(r#"{{"alg":"EdDSA","typ":"at+jwt","kid":"{KID}"}}"#);
            signed(fixture, header.as_bytes(), material, false)
        }
        // Header and payload split at the first NUL: any header, signed with the key (mode 2)
        // or MACed with the public key (mode 3).
        _ => {
            let split = material
                .iter()
                .position(|&b| b == 0)
                .unwrap_or(material.len());
            let (header, payload) = material.split_at(split);
            let payload = payload.get(1..).unwrap_or_default();
            signed(fixture, header, payload, mode & 3 == 3)
        }
    };
    let _runtime = fixture.runtime.enter();
    let result = ready(server.verify(&token));
    if stats() {
        eprintln!(
            "verdict mode={} pinned={pinned} {}",
            mode & 3,
            verdict(&result)
        );
    }
    if let Ok(claims) = result {
        let accepted = (claims.subject().map(str::to_owned), claims.expires_at());
        assert_eq!(
            Some(accepted),
            reference(fixture, pinned, &token),
            "accepted a token that does not meet the configuration: {token:?}"
        );
    }
});
