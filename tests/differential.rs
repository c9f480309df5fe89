//! The fast HMAC path and the `jsonwebtoken::decode` reference path accept exactly the same
//! tokens, with the same claims. Tokens are built here from parts (headers, claim sets and
//! signatures chosen at random), not by the crate's own minting.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use proptest::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tower_jwt_auth::{JwtSessions, ManualClock, MemoryStore};

const SECRET: &[u8] = b"differential-test-secret-32bytes";
const NOW: u64 = 1_700_000_000;
const SID: &str = "AAECAwQFBgcICQoLDA0ODw";
const JTI: &str = "EBESExQVFhcYGRobHB0eHw";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Extra {
    #[serde(default)]
    role: Option<String>,
}

fn sessions(reference: bool, strict: bool) -> JwtSessions<MemoryStore, Extra> {
    let mut builder = JwtSessions::builder()
        .hs256_secret(SECRET)
        .clock(ManualClock::new(NOW))
        .pair_check(false)
        .reference_decoding(reference);
    if strict {
        builder = builder.issuer("https://issuer.example").audience("api");
    }
    builder.build().expect("valid configuration")
}

/// The id the layer gives the test secret; the minted header carries it.
fn kid() -> String {
    tower_jwt_auth::JwtKeys::hs256(SECRET)
        .expect("key")
        .kid()
        .to_owned()
}

fn header() -> impl Strategy<Value = String> {
    let kid = kid();
    let minted = format!(r#"{{"typ":"at+jwt","alg":"HS256","kid":"{kid}"}}"#);
    prop_oneof![
        8 => Just(minted),
        1 => Just(format!(r#"{{"alg":"HS256","typ":"at+jwt","kid":"{kid}"}}"#)),
        1 => Just(format!(r#"{{"typ":"rt+jwt","alg":"HS256","kid":"{kid}"}}"#)),
        1 => Just(format!(r#"{{"typ":"JWT","alg":"HS256","kid":"{kid}"}}"#)),
        1 => Just(format!(r#"{{"alg":"HS256","kid":"{kid}"}}"#)),
        1 => Just(r#"{"typ":"at+jwt","alg":"HS256"}"#.to_owned()),
        1 => Just(r#"{"typ":"at+jwt","alg":"HS256","kid":"other"}"#.to_owned()),
        1 => Just(format!(r#"{{"typ":"at+jwt","alg":"HS512","kid":"{kid}"}}"#)),
        1 => Just(format!(r#"{{"typ":"at+jwt","alg":"none","kid":"{kid}"}}"#)),
        1 => Just(format!(r#"{{"typ":"application/at+jwt","alg":"HS256","kid":"{kid}"}}"#)),
        1 => Just(format!(r#"{{"typ":"at+jwt","alg":"HS256","kid":"{kid}"}} "#)),
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

fn exp() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!(NOW + 60)),
        Just(json!(NOW)),
        Just(json!(NOW - 1)),
        Just(json!(u64::MAX)),
    ]
}

fn payload() -> impl Strategy<Value = String> {
    let fields = (
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
        value(json!("https://issuer.example")),
        value(json!("api")),
        value(json!("admin")),
    );
    (fields, any::<bool>()).prop_map(|((sub, sid, jti, iat, exp, nbf, iss, aud, role), dup)| {
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
        ] {
            if let Some(v) = v {
                out.push(format!("{}:{}", json!(name), v));
            }
        }
        if dup {
            // Duplicate keys: both paths must agree on them too.
            out.push(r#""aud":"api""#.to_owned());
        }
        format!("{{{}}}", out.join(","))
    })
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

fn sign(key: &[u8], message: &str) -> String {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key);
    B64.encode(aws_lc_rs::hmac::sign(&key, message.as_bytes()))
}

fn token(header: &str, payload: &str, signature: &Signature) -> String {
    let message = format!("{}.{}", B64.encode(header), B64.encode(payload));
    let valid = sign(SECRET, &message);
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
        Signature::OtherKey => sign(b"another-secret-of-at-least-32-bytes", &message),
    };
    format!("{message}.{signature}")
}

fn verdict(
    sessions: &JwtSessions<MemoryStore, Extra>,
    token: &str,
) -> Option<(String, u64, Extra)> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    runtime
        .block_on(sessions.authenticate(token))
        .ok()
        .map(|c| (c.subject().to_owned(), c.expires_at(), c.custom().clone()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn fast_path_accepts_exactly_what_jsonwebtoken_accepts(
        header in header(),
        payload in payload(),
        signature in signature(),
        strict in any::<bool>(),
    ) {
        let token = token(&header, &payload, &signature);
        let fast = verdict(&sessions(false, strict), &token);
        let reference = verdict(&sessions(true, strict), &token);
        prop_assert_eq!(fast, reference, "token {} payload {}", token, payload);
    }
}

/// The generator does reach both verdicts, on both paths; otherwise the property above would
/// prove nothing.
#[test]
fn the_generator_reaches_acceptance_and_refusal() {
    let payload = format!(
        r#"{{"sub":"alice","sid":"{SID}","jti":"{JTI}","iat":1,"exp":{}}}"#,
        NOW + 60
    );
    let header = format!(r#"{{"typ":"at+jwt","alg":"HS256","kid":"{}"}}"#, kid());
    let good = token(&header, &payload, &Signature::Valid);
    assert!(verdict(&sessions(false, false), &good).is_some());
    assert!(verdict(&sessions(true, false), &good).is_some());
    let reordered = format!(r#"{{"alg":"HS256","typ":"at+jwt","kid":"{}"}}"#, kid());
    let slow = token(&reordered, &payload, &Signature::Valid);
    assert!(
        verdict(&sessions(false, false), &slow).is_some(),
        "a header the fast path does not know goes the reference way"
    );
    let bad = token(&header, &payload, &Signature::Truncated);
    assert!(verdict(&sessions(false, false), &bad).is_none());
}
