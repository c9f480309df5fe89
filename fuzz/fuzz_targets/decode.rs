//! Token decoding: arbitrary input, as a token string or as the header and payload of a token
//! signed with the service's own secret (so the fuzzer gets past the signature and into the JSON
//! and claim checks), must never panic, and the crate must accept exactly the tokens
//! `jsonwebtoken::decode` accepts under the same rules, with the same claims.
//!
//! The first input byte picks the mode (low two bits) and the configuration (bit 7: with
//! `iss`/`aud` required); the rest is the material.

#![no_main]

mod common;

use std::collections::HashSet;
use std::fmt;
use std::sync::OnceLock;

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use libfuzzer_sys::fuzz_target;
use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use tower_jwt_auth::{JwtKeys, JwtSessions, ManualClock, SessionId, TokenId};

use common::{NOW, SECRET, ready, stats};

const ISSUER: &str = "https://issuer.example";
const AUDIENCE: &str = "api";
/// The default session lifetime: no accepted token's `exp` lies further ahead.
const MAX_LIFETIME: u64 = 14 * 24 * 60 * 60;

struct Fixture {
    /// `[plain, strict]`.
    sessions: [JwtSessions; 2],
    kid: String,
    key: hmac::Key,
    decoding: DecodingKey,
}

fn build(strict: bool) -> JwtSessions {
    let mut builder = JwtSessions::builder()
        .hs256_secret(SECRET)
        .clock(ManualClock::new(NOW))
        .pair_check(false);
    if strict {
        builder = builder.issuer(ISSUER).audience(AUDIENCE);
    }
    builder.build().expect("valid configuration")
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| Fixture {
        sessions: [build(false), build(true)],
        kid: JwtKeys::hs256(SECRET).expect("key").kid().to_owned(),
        key: hmac::Key::new(hmac::HMAC_SHA256, SECRET),
        decoding: DecodingKey::from_secret(SECRET),
    })
}

/// What the rules promise a token hands over: the registered claims, every other claim the
/// crate owns consumed.
#[derive(Deserialize)]
#[allow(dead_code)]
struct View {
    sub: String,
    sid: SessionId,
    jti: TokenId,
    iat: u64,
    exp: u64,
    #[serde(default)]
    nbf: Option<u64>,
    #[serde(default)]
    iss: IgnoredAny,
    #[serde(default)]
    aud: IgnoredAny,
    #[serde(default)]
    cnf: IgnoredAny,
}

/// `jsonwebtoken::decode` and the rules it does not apply itself (`typ`, `kid`, `crit`, time, a
/// payload that is UTF-8 throughout and names each member once).
fn reference(fixture: &Fixture, strict: bool, token: &str) -> Option<(String, u64)> {
    let header = jsonwebtoken::decode_header(token).ok()?;
    // RFC 7519 §7.2: the whole payload is UTF-8 JSON; serde, under jsonwebtoken, checks only
    // the strings it keeps, and keeps one copy of a member named twice.
    let payload = B64.decode(token.split('.').nth(1)?).ok()?;
    std::str::from_utf8(&payload).ok()?;
    serde_json::from_slice::<EachMemberOnce>(&payload).ok()?;
    let typ = header.typ.as_deref()?.to_ascii_lowercase();
    if header.crit.is_some()
        || header.kid.as_deref() != Some(fixture.kid.as_str())
        || typ.strip_prefix("application/").unwrap_or(&typ) != "at+jwt"
    {
        return None;
    }
    let mut validation = Validation::new(Algorithm::HS256);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.leeway = 0;
    let mut required = vec!["exp", "sub"];
    if strict {
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        required.extend(["iss", "aud"]);
    } else {
        validation.validate_aud = false;
    }
    validation.set_required_spec_claims(&required);
    let view = jsonwebtoken::decode::<View>(token, &fixture.decoding, &validation)
        .ok()?
        .claims;
    let in_window =
        NOW < view.exp && view.exp <= NOW + MAX_LIFETIME && view.nbf.is_none_or(|nbf| nbf <= NOW);
    in_window.then_some((view.sub, view.exp))
}

/// JSON whose objects, at every depth, name each member once (an escape spells the name it
/// stands for); read, not kept.
struct EachMemberOnce;

impl<'de> Deserialize<'de> for EachMemberOnce {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(Self)
    }
}

impl<'de> Visitor<'de> for EachMemberOnce {
    type Value = Self;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JSON whose objects name each member once")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_str<E>(self, _: &str) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_unit<E>(self) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self, A::Error> {
        while seq.next_element::<Self>()?.is_some() {}
        Ok(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self, A::Error> {
        let mut names = HashSet::new();
        while let Some(name) = map.next_key::<String>()? {
            if !names.insert(name) {
                return Err(de::Error::custom("a member named twice"));
            }
            map.next_value::<Self>()?;
        }
        Ok(self)
    }
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

fn accepted(sessions: &JwtSessions, token: &str) -> Option<(String, u64)> {
    ready(sessions.authenticate(token))
        .ok()
        .map(|c| (c.subject().to_owned(), c.expires_at()))
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, material)) = data.split_first() else {
        return;
    };
    let fixture = fixture();
    let strict = mode >> 7 == 1;
    let sessions = &fixture.sessions[usize::from(strict)];
    let minted = |typ: &str| format!(r#"{{"typ":"{typ}","alg":"HS256","kid":"{}"}}"#, fixture.kid);
    let tokens: Vec<String> = match mode & 3 {
        // The bytes as a token, as a client could send them.
        0 | 3 => vec![String::from_utf8_lossy(material).into_owned()],
        // The bytes as the payload under the headers this service mints (compared, not parsed).
        1 => ["at+jwt", "rt+jwt"]
            .iter()
            .map(|typ| signed(&fixture.key, minted(typ).as_bytes(), material))
            .collect(),
        // Header and payload split at the first NUL: any header, parsed.
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
        let verdict = accepted(sessions, token);
        if stats() {
            eprintln!("verdict mode={} accepted={}", mode & 3, verdict.is_some());
        }
        assert_eq!(
            verdict,
            reference(fixture, strict, token),
            "the crate and jsonwebtoken disagree on {token:?}"
        );
        // No store holds a session here, so every refresh ends refused; it must not panic.
        let _ = ready(sessions.refresh(token));
    }
});
