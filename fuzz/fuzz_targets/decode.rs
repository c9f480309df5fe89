//! Token decoding: arbitrary input, as a token string or as the header and payload of a token
//! signed with the service's own secret (so the fuzzer gets past the signature and into the JSON
//! and claim checks), must never panic, and the fast HMAC path and the `jsonwebtoken` reference
//! path must accept exactly the same tokens with the same claims.
//!
//! The first input byte picks the mode (low two bits) and the configuration (bit 7: with
//! `iss`/`aud` required); the rest is the material.

#![no_main]

mod common;

use std::sync::OnceLock;

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use libfuzzer_sys::fuzz_target;
use tower_jwt_auth::{Claims, JwtKeys, JwtSessions, ManualClock, MemoryStore};

use common::{NOW, SECRET, ready, stats};

struct Fixture {
    /// `[plain, strict]`, each as `(fast path, reference path)`.
    sessions: [(JwtSessions, JwtSessions); 2],
    kid: String,
    key: hmac::Key,
}

fn build(reference: bool, strict: bool) -> JwtSessions {
    let mut builder = JwtSessions::<MemoryStore>::builder()
        .hs256_secret(SECRET)
        .clock(ManualClock::new(NOW))
        .pair_check(false)
        .reference_decoding(reference);
    if strict {
        builder = builder.issuer("https://issuer.example").audience("api");
    }
    builder.build().expect("valid configuration")
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| Fixture {
        sessions: [
            (build(false, false), build(true, false)),
            (build(false, true), build(true, true)),
        ],
        kid: JwtKeys::hs256(SECRET).expect("key").kid().to_owned(),
        key: hmac::Key::new(hmac::HMAC_SHA256, SECRET),
    })
}

/// `header.payload.signature`, signed with the service's secret.
fn signed(key: &hmac::Key, header: &[u8], payload: &[u8]) -> String {
    let mut token = B64.encode(header);
    token.push('.');
    B64.encode_string(payload, &mut token);
    let tag = hmac::sign(key, token.as_bytes());
    token.push('.');
    B64.encode_string(tag.as_ref(), &mut token);
    token
}

fn accepted(sessions: &JwtSessions, token: &str) -> Option<Claims> {
    ready(sessions.authenticate(token)).ok()
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, material)) = data.split_first() else {
        return;
    };
    let fixture = fixture();
    let (fast, reference) = &fixture.sessions[usize::from(mode >> 7)];
    let minted = |typ: &str| format!(r#"{{"typ":"{typ}","alg":"HS256","kid":"{}"}}"#, fixture.kid);
    let tokens: Vec<String> = match mode & 3 {
        // The bytes as a token, as a client could send them.
        0 | 3 => vec![String::from_utf8_lossy(material).into_owned()],
        // The bytes as the payload under the headers this service mints: the fast path.
        1 => ["at+jwt", "rt+jwt"]
            .iter()
            .map(|typ| signed(&fixture.key, minted(typ).as_bytes(), material))
            .collect(),
        // Header and payload split at the first NUL: any header, so the reference path.
        _ => {
            let split = material
                .iter()
                .position(|&b| b == 0)
                .unwrap_or(material.len());
            let (header, payload) = material.split_at(split);
            vec![signed(
                &fixture.key,
                header,
                payload.get(1..).unwrap_or_default(),
            )]
        }
    };
    for token in &tokens {
        let verdict = accepted(fast, token);
        if stats() {
            eprintln!("verdict mode={} accepted={}", mode & 3, verdict.is_some());
        }
        assert_eq!(
            verdict,
            accepted(reference, token),
            "the two verification paths disagree on {token:?}"
        );
        // No store holds a session here, so every refresh ends refused; it must not panic.
        let _ = ready(fast.refresh(token));
        let _ = ready(reference.refresh(token));
    }
});
