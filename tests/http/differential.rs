//! The crate's verification accepts exactly the tokens `jsonwebtoken::decode` accepts under the
//! same rules, and hands the application exactly the claims the rules promise it: the payload
//! minus every claim the crate owns (`sub`, `sid`, `jti`, `iat`, `exp`, `nbf`, `iss`, `aud`,
//! `cnf`), whatever the shape of the application's claims and whichever key signed the token.
//!
//! Tokens are built here from parts (headers, claim sets and signatures chosen at random), signed
//! with aws-lc-rs, not by the crate's own minting. The reference verdict is computed here with
//! `jsonwebtoken::decode` plus the rules it does not know (`typ`, `kid`, `crit`, the time window).
//! Headers byte for byte like the crate's own take its pre-compared header path; every other
//! header the parsed one; both are held to the same reference.

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::task::{Context, Poll, Waker};

use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use proptest::prelude::*;
use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tower_jwt_auth::{CustomClaims, JwtKeys, JwtSessions, ManualClock, SessionId, TokenId};

const SECRET: &[u8] = b"differential-test-secret-32bytes";
const NOW: u64 = 1_700_000_000;
/// The default session lifetime: no accepted token's `exp` lies further ahead.
const MAX_LIFETIME: u64 = 14 * 24 * 60 * 60;
const SID: &str = "AAECAwQFBgcICQoLDA0ODw";
const JTI: &str = "EBESExQVFhcYGRobHB0eHw";
const ISSUER: &str = "https://issuer.example";
const AUDIENCE: &str = "api";

/// Application claims as a struct.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Extra {
    #[serde(default)]
    role: Option<String>,
}

/// Application claims as a struct with a flattened struct inside.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Flattened {
    #[serde(default)]
    x: Option<Value>,
    #[serde(flatten)]
    extra: Extra,
}

/// Application claims as a map: it receives every key the crate does not own.
type Map = BTreeMap<String, Value>;

/// What a token hands the application, as the rules promise it: the registered claims the crate
/// reads, every other claim it owns consumed, the rest given to `C`.
#[derive(Deserialize)]
#[serde(bound(deserialize = "C: DeserializeOwned"))]
#[expect(
    dead_code,
    reason = "`sid`, `jti` and `iat` must be there, but are not compared"
)]
struct View<C> {
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
    #[serde(flatten)]
    custom: C,
}

/// A key both sides know: how to sign with it, and how jsonwebtoken verifies it.
struct Key {
    alg: &'static str,
    other_alg: &'static str,
    kid: String,
    decoding: DecodingKey,
    algorithm: Algorithm,
    sign: fn(&str) -> Vec<u8>,
}

fn pem(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/keys/{name}", env!("CARGO_MANIFEST_DIR"))).expect("key file")
}

fn ed25519() -> &'static Ed25519KeyPair {
    static KEY: OnceLock<Ed25519KeyPair> = OnceLock::new();
    KEY.get_or_init(|| {
        let text = String::from_utf8(pem("ed25519.pem")).expect("PEM");
        let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(body)
            .expect("base64");
        Ed25519KeyPair::from_pkcs8(&der).expect("PKCS#8")
    })
}

fn hmac_sign(message: &str) -> Vec<u8> {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, SECRET);
    aws_lc_rs::hmac::sign(&key, message.as_bytes())
        .as_ref()
        .to_vec()
}

fn ed25519_sign(message: &str) -> Vec<u8> {
    ed25519().sign(message.as_bytes()).as_ref().to_vec()
}

fn hs256_keys() -> JwtKeys {
    JwtKeys::hs256(SECRET).expect("key")
}

fn eddsa_keys() -> JwtKeys {
    JwtKeys::from_pem(
        Algorithm::EdDSA,
        &pem("ed25519.pem"),
        &pem("ed25519.pub.pem"),
    )
    .expect("key pair")
}

fn hs256() -> &'static Key {
    static KEY: OnceLock<Key> = OnceLock::new();
    KEY.get_or_init(|| Key {
        alg: "HS256",
        other_alg: "HS512",
        kid: hs256_keys().kid().to_owned(),
        decoding: DecodingKey::from_secret(SECRET),
        algorithm: Algorithm::HS256,
        sign: hmac_sign,
    })
}

fn eddsa() -> &'static Key {
    static KEY: OnceLock<Key> = OnceLock::new();
    KEY.get_or_init(|| Key {
        alg: "EdDSA",
        other_alg: "ES256",
        kid: eddsa_keys().kid().to_owned(),
        decoding: DecodingKey::from_ed_der(ed25519().public_key().as_ref()),
        algorithm: Algorithm::EdDSA,
        sign: ed25519_sign,
    })
}

fn sessions<C: CustomClaims>(keys: JwtKeys, strict: bool) -> JwtSessions<C> {
    let mut builder = JwtSessions::builder()
        .claims::<C>()
        .keys(keys)
        .clock(ManualClock::new(NOW))
        .pair_check(false);
    if strict {
        builder = builder.issuer(ISSUER).audience(AUDIENCE);
    }
    builder.build().expect("valid configuration")
}

/// The crate's verdict: the subject, expiry and application claims it accepts the token with.
fn verdict<C: CustomClaims>(sessions: &JwtSessions<C>, token: &str) -> Option<(String, u64, C)> {
    // Without the pair check nothing waits: one poll completes it.
    let mut future = std::pin::pin!(sessions.authenticate(token));
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(result) => result
            .ok()
            .map(|c| (c.subject().to_owned(), c.expires_at(), c.custom().clone())),
        Poll::Pending => panic!("authentication without a pair check waited"),
    }
}

fn typ_is_access(typ: &str) -> bool {
    let typ = typ.to_ascii_lowercase();
    typ.strip_prefix("application/").unwrap_or(&typ) == "at+jwt"
}

/// The reference verdict: `jsonwebtoken::decode` and the rules it does not apply itself.
fn reference<C: DeserializeOwned>(
    key: &Key,
    strict: bool,
    token: &str,
) -> Option<(String, u64, C)> {
    let header = jsonwebtoken::decode_header(token).ok()?;
    if header.crit.is_some() || header.kid.as_deref() != Some(key.kid.as_str()) {
        return None;
    }
    if !header.typ.as_deref().is_some_and(typ_is_access) {
        return None;
    }
    let mut validation = Validation::new(key.algorithm);
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
    let view = jsonwebtoken::decode::<View<C>>(token, &key.decoding, &validation)
        .ok()?
        .claims;
    let in_window =
        NOW < view.exp && view.exp <= NOW + MAX_LIFETIME && view.nbf.is_none_or(|nbf| nbf <= NOW);
    in_window.then_some((view.sub, view.exp, view.custom))
}

fn header(key: &'static Key) -> impl Strategy<Value = String> {
    let (alg, other, kid) = (key.alg, key.other_alg, key.kid.clone());
    // The crate's own serialisation of its header, byte for byte.
    let minted = format!(r#"{{"typ":"at+jwt","alg":"{alg}","kid":"{kid}"}}"#);
    prop_oneof![
        8 => Just(minted),
        1 => Just(format!(r#"{{"alg":"{alg}","typ":"at+jwt","kid":"{kid}"}}"#)),
        1 => Just(format!(r#"{{"typ":"rt+jwt","alg":"{alg}","kid":"{kid}"}}"#)),
        1 => Just(format!(r#"{{"typ":"JWT","alg":"{alg}","kid":"{kid}"}}"#)),
        1 => Just(format!(r#"{{"alg":"{alg}","kid":"{kid}"}}"#)),
        1 => Just(format!(r#"{{"typ":"at+jwt","alg":"{alg}"}}"#)),
        1 => Just(format!(r#"{{"typ":"at+jwt","alg":"{alg}","kid":"other"}}"#)),
        1 => Just(format!(r#"{{"typ":"at+jwt","alg":"{other}","kid":"{kid}"}}"#)),
        1 => Just(format!(r#"{{"typ":"at+jwt","alg":"none","kid":"{kid}"}}"#)),
        1 => Just(format!(r#"{{"typ":"application/at+jwt","alg":"{alg}","kid":"{kid}"}}"#)),
        1 => Just(format!(r#"{{"typ":"AT+JWT","alg":"{alg}","kid":"{kid}","crit":["b64"]}}"#)),
        1 => Just(format!(r#"{{"typ":"at+jwt","alg":"{alg}","kid":"{kid}"}} "#)),
    ]
}

/// A claim's value: absent (`None`), or one of the usual and unusual JSON shapes.
fn value(good: Value) -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        24 => Just(Some(good)),
        1 => Just(None),
        1 => Just(Some(Value::Null)),
        1 => Just(Some(json!("1700000100"))),
        1 => Just(Some(json!(1_700_000_100.5))),
        1 => Just(Some(json!(-5))),
        1 => Just(Some(json!(["api", "other"]))),
        1 => Just(Some(json!({}))),
        1 => Just(Some(json!("x".repeat(1500)))),
    ]
}

/// An application claim that may or may not be there.
fn optional(good: Value) -> impl Strategy<Value = Option<Value>> {
    prop_oneof![2 => Just(None), 1 => value(good)]
}

fn exp() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!(NOW + 60)),
        Just(json!(NOW)),
        Just(json!(NOW - 1)),
        Just(json!(NOW + MAX_LIFETIME + 1)),
        Just(json!(u64::MAX)),
    ]
}

fn payload() -> impl Strategy<Value = String> {
    let registered = (
        value(json!("alice")),
        value(json!(SID)),
        value(json!(JTI)),
        value(json!(NOW - 10)),
        exp().prop_flat_map(value),
        prop_oneof![
            Just(None),
            Just(Some(json!(NOW - 5))),
            Just(Some(json!(NOW + 50)))
        ],
        value(json!(ISSUER)),
        value(json!(AUDIENCE)),
    );
    let application = (
        value(json!("admin")),
        optional(json!({"jkt": "thumbprint"})),
        optional(json!(7)),
        any::<bool>(),
    );
    (registered, application).prop_map(
        |((sub, sid, jti, iat, exp, nbf, iss, aud), (role, cnf, x, dup))| {
            let mut out = Vec::new();
            for (name, v) in [
                ("sub", sub),
                ("sid", sid),
                ("jti", jti),
                ("iat", iat),
                ("exp", exp),
                ("nbf", nbf),
                ("iss", iss),
                ("aud", aud),
                ("role", role),
                ("cnf", cnf),
                ("x", x),
            ] {
                if let Some(v) = v {
                    out.push(format!("{}:{}", json!(name), v));
                }
            }
            if dup {
                // Duplicate keys: both sides must agree on them too.
                out.push(format!(r#""aud":"{AUDIENCE}""#));
            }
            format!("{{{}}}", out.join(","))
        },
    )
}

#[derive(Debug, Clone)]
enum Signature {
    Valid,
    Flipped(usize),
    Truncated,
    Empty,
    OtherKey,
}

fn signature() -> impl Strategy<Value = Signature> {
    prop_oneof![
        6 => Just(Signature::Valid),
        1 => (0usize..43).prop_map(Signature::Flipped),
        1 => Just(Signature::Truncated),
        1 => Just(Signature::Empty),
        1 => Just(Signature::OtherKey),
    ]
}

fn token(key: &Key, header: &str, payload: &str, signature: &Signature) -> String {
    let message = format!("{}.{}", B64.encode(header), B64.encode(payload));
    let valid = B64.encode((key.sign)(&message));
    let signature = match signature {
        Signature::Valid => valid,
        Signature::Flipped(i) => {
            let mut bytes = valid.into_bytes();
            let i = i % bytes.len();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            String::from_utf8(bytes).expect("ascii")
        }
        Signature::Truncated => valid[..valid.len() - 2].to_owned(),
        Signature::Empty => String::new(),
        Signature::OtherKey => {
            let other = aws_lc_rs::hmac::Key::new(
                aws_lc_rs::hmac::HMAC_SHA256,
                b"another-secret-of-at-least-32-bytes",
            );
            B64.encode(aws_lc_rs::hmac::sign(&other, message.as_bytes()))
        }
    };
    format!("{message}.{signature}")
}

/// Services for one key: `[plain, strict]`, for each shape of application claims.
struct Services {
    extra: [JwtSessions<Extra>; 2],
    flattened: [JwtSessions<Flattened>; 2],
    map: [JwtSessions<Map>; 2],
}

impl Services {
    fn new(keys: fn() -> JwtKeys) -> Self {
        Self {
            extra: [false, true].map(|strict| sessions(keys(), strict)),
            flattened: [false, true].map(|strict| sessions(keys(), strict)),
            map: [false, true].map(|strict| sessions(keys(), strict)),
        }
    }

    /// Whether the crate and the reference agree on `token`, for every shape of claims.
    fn agree(&self, key: &Key, strict: bool, token: &str) -> Result<(), TestCaseError> {
        let i = usize::from(strict);
        prop_assert_eq!(
            verdict(&self.extra[i], token),
            reference::<Extra>(key, strict, token)
        );
        prop_assert_eq!(
            verdict(&self.flattened[i], token),
            reference::<Flattened>(key, strict, token)
        );
        prop_assert_eq!(
            verdict(&self.map[i], token),
            reference::<Map>(key, strict, token)
        );
        Ok(())
    }
}

fn hs256_services() -> &'static Services {
    static SERVICES: OnceLock<Services> = OnceLock::new();
    SERVICES.get_or_init(|| Services::new(hs256_keys))
}

fn eddsa_services() -> &'static Services {
    static SERVICES: OnceLock<Services> = OnceLock::new();
    SERVICES.get_or_init(|| Services::new(eddsa_keys))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn hmac_tokens_verify_as_jsonwebtoken_says_with_the_promised_claims(
        header in header(hs256()),
        payload in payload(),
        signature in signature(),
        strict in any::<bool>(),
    ) {
        let token = token(hs256(), &header, &payload, &signature);
        hs256_services().agree(hs256(), strict, &token)?;
    }

    #[test]
    fn eddsa_tokens_verify_as_jsonwebtoken_says_with_the_promised_claims(
        header in header(eddsa()),
        payload in payload(),
        signature in signature(),
        strict in any::<bool>(),
    ) {
        let token = token(eddsa(), &header, &payload, &signature);
        eddsa_services().agree(eddsa(), strict, &token)?;
    }
}

/// The generator reaches acceptance on both header paths and with both kinds of key, and a map
/// of claims never receives a claim the crate owns: otherwise the properties above would prove
/// little.
#[test]
fn the_generator_reaches_acceptance_and_the_claims_the_rules_promise() {
    let payload = format!(
        r#"{{"sub":"alice","sid":"{SID}","jti":"{JTI}","iat":1,"exp":{},"iss":"{ISSUER}","aud":"{AUDIENCE}","cnf":{{"jkt":"t"}},"role":"admin"}}"#,
        NOW + 60
    );
    for (key, services) in [(hs256(), hs256_services()), (eddsa(), eddsa_services())] {
        let minted = format!(
            r#"{{"typ":"at+jwt","alg":"{}","kid":"{}"}}"#,
            key.alg, key.kid
        );
        let reordered = format!(
            r#"{{"alg":"{}","typ":"at+jwt","kid":"{}"}}"#,
            key.alg, key.kid
        );
        for header in [minted, reordered] {
            let good = token(key, &header, &payload, &Signature::Valid);
            for strict in [false, true] {
                let (sub, _, map) = verdict(&services.map[usize::from(strict)], &good)
                    .unwrap_or_else(|| panic!("{} {header} accepted", key.alg));
                assert_eq!(sub, "alice");
                let expected: Map = [("role".to_owned(), json!("admin"))].into();
                assert_eq!(map, expected, "only the application's claims reach it");
                services.agree(key, strict, &good).expect("agreement");
            }
            let bad = token(key, &header, &payload, &Signature::Truncated);
            assert!(verdict(&services.extra[0], &bad).is_none());
        }
    }
}
