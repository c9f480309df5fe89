//! The attack suite: every token here is assembled by hand — base64url segments
//! joined with dots, signatures computed with aws-lc-rs or left out — and sent through the layer.
//! Each test asserts the exact status and `WWW-Authenticate` value, and that the protected
//! service never ran. Where a defence could be removed, the attack token is otherwise valid (the
//! real session's `sid`/`jti`, a live store, a good signature where the attack allows one), so
//! without the defence the request would be served and the test would fail.
//!
//! The crate mints only legitimate tokens to tamper with; `attack_baseline_*` proves the hand
//! assembly itself produces tokens the layer accepts, so every refusal below is the defence's.

mod cache;
mod harness;

use std::net::TcpListener;
use std::time::Duration;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::hmac::{HMAC_SHA256, HMAC_SHA384, HMAC_SHA512};
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RSA_PKCS1_SHA256,
    RSA_PKCS1_SHA384, RSA_PKCS1_SHA512, RSA_PSS_SHA256, RSA_PSS_SHA384, RSA_PSS_SHA512,
    RsaEncoding, RsaKeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Value, json};
use tower_jwt_auth::oidc::{Issuer, RemoteKeys, ResourceServer, ResourceServerLayer};
use tower_jwt_auth::store::MemoryStore;
use tower_jwt_auth::{
    Algorithm, JwtAuthLayer, JwtKeys, JwtSessions, JwtSessionsBuilder, KeySet, ManualClock,
    SessionId, TokenId, TokenPair,
};

use harness::{
    Reply, Signer, assert_refused, assert_served, bearer, craft, craft_bytes, craft_unencoded, der,
    ed25519, es256, invalid_request, invalid_token, payload, pem, refresh, rsa, segment, send,
    with_signature,
};

const SECRET: &[u8] = b"attack-suite-secret-of-32-bytes!";
const NOW: u64 = 1_700_000_000;
const ISSUER: &str = "https://issuer.example";
const AUDIENCE: &str = "api";

const MALFORMED: &str = "the access token is malformed";
const MALFORMED_REFRESH: &str = "the refresh token is malformed";
const BAD_SIGNATURE: &str = "the token signature is invalid";
const UNKNOWN_KEY: &str = "the token names an unknown key";
const BAD_CLAIMS: &str = "the token claims are invalid";

/// One service under attack: its sessions, clock, layer, a live session's tokens and its kid.
struct Target {
    sessions: JwtSessions,
    clock: ManualClock,
    layer: JwtAuthLayer,
    pair: TokenPair,
    kid: String,
}

impl Target {
    /// The live session's access-token payload, to copy `sid`/`jti` from or to tamper with.
    fn claims(&self) -> Value {
        payload(self.pair.access_token())
    }

    /// The live session's access-token payload with `edit` applied, as JSON text.
    fn claims_with(&self, edit: impl FnOnce(&mut serde_json::Map<String, Value>)) -> String {
        let mut claims = self.claims();
        edit(claims.as_object_mut().expect("object"));
        claims.to_string()
    }

    /// The access-token header this service mints (the HMAC fast path compares it byte for byte).
    fn minted_header(&self, alg: &str) -> String {
        format!(r#"{{"typ":"at+jwt","alg":"{alg}","kid":"{}"}}"#, self.kid)
    }

    /// The same header with its members in another order: the reference (`jsonwebtoken`) path.
    fn reordered_header(&self, alg: &str) -> String {
        format!(r#"{{"kid":"{}","alg":"{alg}","typ":"at+jwt"}}"#, self.kid)
    }

    async fn bearer(&self, token: &str) -> Reply {
        bearer(&self.layer, token).await
    }
}

type Builder = JwtSessionsBuilder;

/// An issuer of `alg` (key files `file`.pem and `file`.pub.pem) with a live session, and a
/// verify-only `JwtSessions` holding its public key on the issuer's store, both on one clock.
async fn issuer_and_verifier(alg: Algorithm, file: &str) -> (Target, JwtSessions, ManualClock) {
    let (private, public) = (pem(&format!("{file}.pem")), pem(&format!("{file}.pub.pem")));
    let store = MemoryStore::new();
    let clock = ManualClock::new(NOW);
    let issuer = target(
        JwtSessions::builder()
            .keys(JwtKeys::from_pem(alg, &private, &public).expect("key pair"))
            .store(store.clone())
            .issuer(ISSUER)
            .audience(AUDIENCE),
        clock.clone(),
    )
    .await;
    let own = JwtSessions::builder()
        .keys(JwtKeys::verify_only_pem(alg, &public).expect("public key"))
        .store(store)
        .clock(clock.clone())
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .build()
        .expect("verify-only configuration");
    (issuer, own, clock)
}

async fn target(builder: Builder, clock: ManualClock) -> Target {
    let sessions = builder.clock(clock.clone()).build().expect("configuration");
    let pair = sessions.issue("alice", ()).await.expect("issue");
    let kid = sessions
        .keys()
        .active()
        .expect("signing key")
        .kid()
        .to_owned();
    Target {
        layer: sessions.layer(),
        sessions,
        clock,
        pair,
        kid,
    }
}

/// HS256, pair check on, defaults otherwise.
async fn hs256() -> Target {
    hs256_with(|b| b).await
}

async fn hs256_with(configure: impl FnOnce(Builder) -> Builder) -> Target {
    let builder = configure(JwtSessions::builder().hs256_secret(SECRET));
    target(builder, ManualClock::new(NOW)).await
}

/// An asymmetric issuer (`from_pem`) and, on the same store and clock, a resource server holding
/// only the public key (`verify_only_pem`). The session is issued by the issuer.
async fn asymmetric(alg: Algorithm, name: &str) -> (Target, JwtAuthLayer) {
    let private = pem(&format!("{name}.pem"));
    let public = pem(&format!("{name}.pub.pem"));
    let store = MemoryStore::new();
    let clock = ManualClock::new(NOW);
    let keys = JwtKeys::from_pem(alg, &private, &public).expect("key pair");
    let issuer = target(
        JwtSessions::builder().keys(keys).store(store.clone()),
        clock.clone(),
    )
    .await;
    let verifier = JwtSessions::builder()
        .keys(JwtKeys::verify_only_pem(alg, &public).expect("public key"))
        .store(store)
        .clock(clock)
        .build()
        .expect("verify-only configuration");
    assert!(!verifier.can_mint());
    (issuer, verifier.layer())
}

fn hs(secret: &[u8]) -> Signer<'_> {
    Signer::Hmac(HMAC_SHA256, secret)
}

/// The hand assembly is sound: the same construction the attacks use, with nothing wrong in it,
/// is accepted on every path and algorithm. Without this, a refusal below could be the helper's
/// fault rather than the defence's.
#[tokio::test]
async fn attack_baseline_hand_crafted_tokens_are_accepted() {
    let t = hs256().await;
    let claims = t.claims().to_string();
    for header in [t.minted_header("HS256"), t.reordered_header("HS256")] {
        assert_served(&t.bearer(&craft(&header, &claims, hs(SECRET))).await);
    }
    // The layer's own token, re-assembled from its decoded segments, is byte-identical.
    let rebuilt = craft_bytes(
        &segment(t.pair.access_token(), 0),
        &segment(t.pair.access_token(), 1),
        &hs(SECRET),
    );
    assert_eq!(rebuilt, t.pair.access_token());

    let ed = ed25519();
    let ec = es256();
    let rs = rsa();
    let cases: [(Algorithm, &str, &str, Signer<'_>); 4] = [
        (Algorithm::EdDSA, "ed25519", "EdDSA", Signer::Ed25519(&ed)),
        (Algorithm::ES256, "es256", "ES256", Signer::Ecdsa(&ec)),
        (
            Algorithm::RS256,
            "rs256",
            "RS256",
            Signer::Rsa(&RSA_PKCS1_SHA256, &rs),
        ),
        (
            Algorithm::PS256,
            "rs256",
            "PS256",
            Signer::Rsa(&RSA_PSS_SHA256, &rs),
        ),
    ];
    for (alg, name, alg_name, signer) in cases {
        let (issuer, verifier) = asymmetric(alg, name).await;
        let token = craft(
            &issuer.minted_header(alg_name),
            &issuer.claims().to_string(),
            signer,
        );
        assert_served(&issuer.bearer(&token).await);
        assert_served(&bearer(&verifier, &token).await);
    }
}

#[tokio::test]
async fn attack_no_authorization_header() {
    let t = hs256().await;
    assert_refused(&send(&t.layer, &[]).await, 401, "Bearer");
    // Another scheme carries no bearer credentials (RFC 6750 §3): the same bare challenge.
    let basic = send(
        &t.layer,
        &[("authorization", b"Basic YWxpY2U6aHVudGVyMg==")],
    )
    .await;
    assert_refused(&basic, 401, "Bearer");
    // An empty header value is neither a token nor a scheme.
    assert_refused(
        &send(&t.layer, &[("authorization", b"")]).await,
        401,
        "Bearer",
    );
}

#[tokio::test]
async fn attack_garbage() {
    let t = hs256().await;
    // Well-formed RFC 6750 credentials that are no JWT: 401.
    for garbage in ["garbage", "a", "eyJhbGciOiJIUzI1NiJ9", "~~~~", "a+b/c=="] {
        let reply = t.bearer(garbage).await;
        assert_refused(&reply, 401, &invalid_token(MALFORMED));
    }
    // Not even an RFC 6750 b64token (`==` alone has no token characters before its padding):
    // 400.
    for outside_b64token in ["==", "a b c", "a,b", "\"quoted\"", "a.b.c;d", "a=b"] {
        let reply = t.bearer(outside_b64token).await;
        assert_refused(
            &reply,
            400,
            &invalid_request("malformed Bearer credentials"),
        );
    }
    assert_refused(
        &send(&t.layer, &[("authorization", b"Bearer")]).await,
        400,
        &invalid_request("malformed Bearer credentials"),
    );
    assert_refused(
        &refresh(&t.layer, "garbage").await,
        401,
        &invalid_token(MALFORMED_REFRESH),
    );
    assert_refused(
        &refresh(&t.layer, "not;a;token").await,
        400,
        &invalid_request("malformed refresh token header"),
    );
}

#[tokio::test]
async fn attack_two_and_four_segments() {
    let t = hs256().await;
    let token = t.pair.access_token();
    let parts: Vec<&str> = token.split('.').collect();
    let two = format!("{}.{}", parts[0], parts[1]);
    let two_signed = format!("{}.{}", parts[0], parts[2]);
    let four = format!("{token}.{}", parts[2]);
    let four_empty = format!("{token}.");
    let leading_dot = format!(".{token}");
    for bad in [
        &two,
        &two_signed,
        &four,
        &four_empty,
        &leading_dot,
        "..",
        "...",
        "a..b",
    ] {
        assert_refused(&t.bearer(bad).await, 401, &invalid_token(MALFORMED));
    }
    assert_refused(
        &refresh(&t.layer, &four).await,
        401,
        &invalid_token(MALFORMED_REFRESH),
    );
}

#[tokio::test]
async fn attack_alg_none() {
    let t = hs256().await;
    let claims = t.claims().to_string();
    for alg in ["none", "None", "NONE", "nOnE"] {
        for header in [
            format!(r#"{{"typ":"at+jwt","alg":"{alg}","kid":"{}"}}"#, t.kid),
            format!(r#"{{"alg":"{alg}","typ":"at+jwt"}}"#),
            format!(r#"{{"alg":"{alg}"}}"#),
        ] {
            // `none` is not an algorithm here at all: the header does not parse.
            let unsigned = craft(&header, &claims, Signer::Empty);
            assert!(unsigned.ends_with('.'));
            assert_refused(&t.bearer(&unsigned).await, 401, &invalid_token(MALFORMED));
            // Nor does a signature, even a valid HS256 one over the same input, rescue it.
            let signed = craft(&header, &claims, hs(SECRET));
            assert_refused(&t.bearer(&signed).await, 401, &invalid_token(MALFORMED));
        }
    }
    let (issuer, verifier) = asymmetric(Algorithm::EdDSA, "ed25519").await;
    let unsigned = craft(
        &format!(r#"{{"typ":"at+jwt","alg":"none","kid":"{}"}}"#, issuer.kid),
        &issuer.claims().to_string(),
        Signer::Empty,
    );
    assert_refused(
        &bearer(&verifier, &unsigned).await,
        401,
        &invalid_token(MALFORMED),
    );
}

#[tokio::test]
async fn attack_signature_stripped() {
    let t = hs256().await;
    let token = t.pair.access_token();
    let stripped = &token[..=token.rfind('.').expect("dot")];
    assert!(stripped.ends_with('.'));
    assert_refused(
        &t.bearer(stripped).await,
        401,
        &invalid_token(BAD_SIGNATURE),
    );
    // The same on the reference path, and on an asymmetric key.
    let reordered = craft(
        &t.reordered_header("HS256"),
        &t.claims().to_string(),
        Signer::Empty,
    );
    assert_refused(
        &t.bearer(&reordered).await,
        401,
        &invalid_token(BAD_SIGNATURE),
    );
    let (issuer, verifier) = asymmetric(Algorithm::ES256, "es256").await;
    let token = issuer.pair.access_token();
    let stripped = &token[..=token.rfind('.').expect("dot")];
    assert_refused(
        &bearer(&verifier, stripped).await,
        401,
        &invalid_token(BAD_SIGNATURE),
    );
}

#[tokio::test]
async fn attack_truncated_signature() {
    let t = hs256().await;
    let token = t.pair.access_token();
    // Cut to whole base64 quanta (43 characters to 40, 36, 20): the rest decodes cleanly, to a
    // tag that is too short.
    for cut in [3, 7, 23] {
        let truncated = &token[..token.len() - cut];
        assert_refused(
            &t.bearer(truncated).await,
            401,
            &invalid_token(BAD_SIGNATURE),
        );
    }
    // Cut to 42 characters, the last one 'B' (0b000001): its low bits stray past the last byte,
    // so the signature is not even canonical base64url.
    let ragged = format!("{}B", &token[..token.len() - 2]);
    assert_refused(&t.bearer(&ragged).await, 401, &invalid_token(MALFORMED));
    // A signature one byte short, well encoded.
    let tag = segment(token, 2);
    let short = with_signature(token, &tag[..tag.len() - 1]);
    assert_refused(&t.bearer(&short).await, 401, &invalid_token(BAD_SIGNATURE));
    // A signature with a byte too many (a valid tag as its prefix).
    let mut long = tag.clone();
    long.push(0);
    let long = with_signature(token, &long);
    assert_refused(&t.bearer(&long).await, 401, &invalid_token(BAD_SIGNATURE));

    let (issuer, verifier) = asymmetric(Algorithm::RS256, "rs256").await;
    let token = issuer.pair.access_token();
    let sig = segment(token, 2);
    let half = with_signature(token, &sig[..sig.len() / 2]);
    assert_refused(
        &bearer(&verifier, &half).await,
        401,
        &invalid_token(BAD_SIGNATURE),
    );
}

#[tokio::test]
async fn attack_tampered_payload_keeps_original_signature() {
    let t = hs256().await;
    let token = t.pair.access_token();
    let signature = segment(token, 2);
    let edits: [(&str, Value); 4] = [
        ("sub", json!("admin")),
        ("exp", json!(NOW + 365 * 86_400)),
        ("iat", json!(NOW + 1)),
        ("role", json!("admin")),
    ];
    for (claim, value) in edits {
        let tampered = t.claims_with(|c| {
            c.insert(claim.to_owned(), value);
        });
        // Under the minted header (fast path) and a re-ordered one (reference path).
        for header in [t.minted_header("HS256"), t.reordered_header("HS256")] {
            let forged = craft(&header, &tampered, Signer::Raw(signature.clone()));
            assert_refused(&t.bearer(&forged).await, 401, &invalid_token(BAD_SIGNATURE));
        }
    }
    // A session id swapped for another live session's, same signature.
    let other = t.sessions.issue("bob", ()).await.expect("issue");
    let tampered = t.claims_with(|c| {
        c.insert("sid".into(), payload(other.access_token())["sid"].clone());
    });
    let forged = craft(&t.minted_header("HS256"), &tampered, Signer::Raw(signature));
    assert_refused(&t.bearer(&forged).await, 401, &invalid_token(BAD_SIGNATURE));
}

#[tokio::test]
async fn attack_hs256_signed_with_an_empty_key() {
    let t = hs256().await;
    let claims = t.claims().to_string();
    for header in [t.minted_header("HS256"), t.reordered_header("HS256")] {
        for key in [&b""[..], b"\0", b"secret", &SECRET[..31]] {
            let forged = craft(&header, &claims, hs(key));
            assert_refused(&t.bearer(&forged).await, 401, &invalid_token(BAD_SIGNATURE));
        }
    }
}

/// The classic algorithm confusion: the server's *public* key, which anyone can have, used as
/// the HMAC secret of an HS256/384/512 token, against a service configured with that public key.
#[tokio::test]
async fn attack_public_key_as_hmac_secret() {
    for (alg, name) in [
        (Algorithm::RS256, "rs256"),
        (Algorithm::ES256, "es256"),
        (Algorithm::EdDSA, "ed25519"),
    ] {
        let (issuer, verifier) = asymmetric(alg, name).await;
        let public_pem = pem(&format!("{name}.pub.pem"));
        let trimmed_pem = String::from_utf8(public_pem.clone())
            .expect("ASCII")
            .trim_end()
            .as_bytes()
            .to_vec();
        let public_der = der(&format!("{name}.pub.pem"));
        let jwk = issuer.sessions.keys().active().expect("key").public_jwk();
        let jwk_json = serde_json::to_vec(&jwk.expect("public JWK")).expect("JWK JSON");
        let jwks_json = serde_json::to_vec(&issuer.sessions.jwks()).expect("JWKS JSON");
        let claims = issuer.claims().to_string();
        for secret in [
            &public_pem,
            &trimmed_pem,
            &public_der,
            &jwk_json,
            &jwks_json,
        ] {
            for (hmac, hmac_name) in [
                (HMAC_SHA256, "HS256"),
                (HMAC_SHA384, "HS384"),
                (HMAC_SHA512, "HS512"),
            ] {
                for header in [
                    issuer.minted_header(hmac_name),
                    format!(r#"{{"typ":"at+jwt","alg":"{hmac_name}"}}"#),
                ] {
                    let forged = craft(&header, &claims, Signer::Hmac(hmac, secret));
                    for layer in [&issuer.layer, &verifier] {
                        let reply = bearer(layer, &forged).await;
                        assert_refused(&reply, 401, &invalid_token(BAD_SIGNATURE));
                    }
                }
            }
        }
    }
}

#[tokio::test]
async fn attack_algorithm_outside_the_keys_pin() {
    // An RS256 key: RS384/RS512/PS256 signatures by the very same private key are refused.
    let rs = rsa();
    let (issuer, verifier) = asymmetric(Algorithm::RS256, "rs256").await;
    let claims = issuer.claims().to_string();
    for (encoding, alg) in [
        (
            &RSA_PKCS1_SHA384 as &'static dyn aws_lc_rs::signature::RsaEncoding,
            "RS384",
        ),
        (&RSA_PKCS1_SHA512, "RS512"),
        (&RSA_PSS_SHA256, "PS256"),
    ] {
        let token = craft(
            &issuer.minted_header(alg),
            &claims,
            Signer::Rsa(encoding, &rs),
        );
        for layer in [&issuer.layer, &verifier] {
            assert_refused(
                &bearer(layer, &token).await,
                401,
                &invalid_token(BAD_SIGNATURE),
            );
        }
    }
    // The reverse pin: a PS256 key refuses RS256 signatures of its own private key.
    let (ps, _) = asymmetric(Algorithm::PS256, "rs256").await;
    let token = craft(
        &ps.minted_header("RS256"),
        &ps.claims().to_string(),
        Signer::Rsa(&RSA_PKCS1_SHA256, &rs),
    );
    assert_refused(&ps.bearer(&token).await, 401, &invalid_token(BAD_SIGNATURE));

    // HS256 refuses HS384/HS512 tags made with the right secret.
    let t = hs256().await;
    let claims = t.claims().to_string();
    for (hmac, alg) in [(HMAC_SHA384, "HS384"), (HMAC_SHA512, "HS512")] {
        let token = craft(&t.minted_header(alg), &claims, Signer::Hmac(hmac, SECRET));
        assert_refused(&t.bearer(&token).await, 401, &invalid_token(BAD_SIGNATURE));
    }
    // An HS512 service refuses an HS256 tag under its secret.
    let long_secret = [7u8; 64];
    let hs512 =
        hs256_with(|b| b.keys(JwtKeys::hmac(Algorithm::HS512, &long_secret).expect("HS512 key")))
            .await;
    let token = craft(
        &hs512.minted_header("HS256"),
        &hs512.claims().to_string(),
        Signer::Hmac(HMAC_SHA256, &long_secret),
    );
    assert_refused(
        &hs512.bearer(&token).await,
        401,
        &invalid_token(BAD_SIGNATURE),
    );
    // An EdDSA key refuses an ES256 signature (another family, another key).
    let ec = es256();
    let (ed, ed_verifier) = asymmetric(Algorithm::EdDSA, "ed25519").await;
    let token = craft(
        &ed.minted_header("ES256"),
        &ed.claims().to_string(),
        Signer::Ecdsa(&ec),
    );
    assert_refused(
        &bearer(&ed_verifier, &token).await,
        401,
        &invalid_token(BAD_SIGNATURE),
    );
}

/// A listener on a loopback port that no request may reach.
struct Tripwire(TcpListener);

impl Tripwire {
    fn new() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("loopback listener");
        listener.set_nonblocking(true).expect("non-blocking");
        Self(listener)
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.0.local_addr().expect("address"))
    }

    /// Whether anything connected. A fetch would have happened while the request was being
    /// decided, so by the time the response is back its connection sits in the accept queue.
    fn was_touched(&self) -> bool {
        match self.0.accept() {
            Ok(_) => true,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => false,
            Err(e) => panic!("accept: {e}"),
        }
    }
}

/// `jwk`, `jku`, `x5u` and `x5c` headers name the attacker's key or where to fetch one. They are
/// never followed or trusted: a token signed by the attacker's key is refused, a token signed by
/// the configured key is accepted only because of that key, and nothing is ever fetched.
#[tokio::test]
async fn attack_embedded_key_headers_are_never_trusted_or_fetched() {
    let tripwire = Tripwire::new();
    let attacker = Ed25519KeyPair::generate().expect("attacker key");
    let attacker_x = B64.encode(attacker.public_key().as_ref());
    let attacker_jwk = json!({"kty": "OKP", "crv": "Ed25519", "x": attacker_x, "alg": "EdDSA"});
    let attacker_ec = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).expect("EC key");
    let point = attacker_ec.public_key().as_ref().to_vec();
    let ec_jwk = json!({
        "kty": "EC", "crv": "P-256",
        "x": B64.encode(&point[1..33]), "y": B64.encode(&point[33..]),
    });
    let fake_cert = base64::engine::general_purpose::STANDARD.encode(b"not a certificate");

    let (ed, ed_verifier) = asymmetric(Algorithm::EdDSA, "ed25519").await;
    let (ec, ec_verifier) = asymmetric(Algorithm::ES256, "es256").await;
    let headers = |kid: &str, alg: &str| -> Vec<Value> {
        let base = json!({"typ": "at+jwt", "alg": alg, "kid": kid});
        let with = |name: &str, value: Value| {
            let mut header = base.clone();
            header[name] = value;
            header
        };
        vec![
            with(
                "jwk",
                if alg == "EdDSA" {
                    attacker_jwk.clone()
                } else {
                    ec_jwk.clone()
                },
            ),
            with("jku", json!(tripwire.url("/jwks.json"))),
            with("x5u", json!(tripwire.url("/cert.pem"))),
            with("x5c", json!([fake_cert])),
        ]
    };
    let real_ed = ed25519();
    let real_ec = es256();
    type Sign<'k> = &'k dyn Fn() -> Signer<'k>;
    let cases: [(&Target, &JwtAuthLayer, &str, Sign<'_>, Sign<'_>); 2] = [
        (
            &ed,
            &ed_verifier,
            "EdDSA",
            &|| Signer::Ed25519(&attacker),
            &|| Signer::Ed25519(&real_ed),
        ),
        (
            &ec,
            &ec_verifier,
            "ES256",
            &|| Signer::Ecdsa(&attacker_ec),
            &|| Signer::Ecdsa(&real_ec),
        ),
    ];
    for (issuer, verifier, alg, forger, signer) in cases {
        for header in headers(&issuer.kid, alg) {
            let header = header.to_string();
            let claims = issuer.claims().to_string();
            let forged = craft(&header, &claims, forger());
            for layer in [&issuer.layer, verifier] {
                assert_refused(
                    &bearer(layer, &forged).await,
                    401,
                    &invalid_token(BAD_SIGNATURE),
                );
            }
            // Signed by the configured key: accepted on that key's strength alone.
            assert_served(&bearer(verifier, &craft(&header, &claims, signer())).await);
        }
    }
    // On an HMAC service the same headers change nothing either.
    let t = hs256().await;
    for header in headers(&t.kid, "HS256") {
        let header = header.to_string();
        let forged = craft(
            &header,
            &t.claims().to_string(),
            hs(b"attacker's own secret, 32 bytes"),
        );
        assert_refused(&t.bearer(&forged).await, 401, &invalid_token(BAD_SIGNATURE));
        let genuine = craft(&header, &t.claims().to_string(), hs(SECRET));
        assert_served(&t.bearer(&genuine).await);
    }
    assert!(
        !tripwire.was_touched(),
        "a key URL from a token header was fetched"
    );
}

/// `kid` strings aimed at key lookups that touch files, databases or shells: refused as unknown
/// keys (never a fallback to another key), no panic, nothing executed.
#[tokio::test]
async fn attack_kid_injection() {
    let marker = std::env::temp_dir().join(format!("tower-jwt-auth-pwned-{}", std::process::id()));
    let marker_path = marker.display().to_string();
    assert!(!marker.exists());
    let kids = [
        "../../etc/passwd".to_owned(),
        "../../../../../../dev/null".to_owned(),
        "/dev/null".to_owned(),
        "' OR 1=1 --".to_owned(),
        "x' UNION SELECT 'secret".to_owned(),
        format!("$(touch {marker_path})"),
        format!("`touch {marker_path}`"),
        format!("; touch {marker_path}"),
        "; rm -rf /".to_owned(),
        "| cat /etc/passwd".to_owned(),
        String::new(),
        "\u{0}".to_owned(),
        "k".repeat(4000),
    ];
    let single = hs256().await;
    let rotated_out = JwtKeys::hs256(b"a retired secret, also 32 bytes!").expect("key");
    let set = KeySet::signing(JwtKeys::hs256(SECRET).expect("key"))
        .with_verify_key(rotated_out)
        .expect("distinct kids");
    let multi = hs256_with(|b| b.key_set(set)).await;
    for t in [&single, &multi] {
        let claims = t.claims().to_string();
        for kid in &kids {
            let header = json!({"typ": "at+jwt", "alg": "HS256", "kid": kid}).to_string();
            // Signed with the right secret: only the kid is wrong.
            let token = craft(&header, &claims, hs(SECRET));
            assert_refused(&t.bearer(&token).await, 401, &invalid_token(UNKNOWN_KEY));
            let token = craft(&header.replace("at+jwt", "rt+jwt"), &claims, hs(SECRET));
            assert_refused(
                &refresh(&t.layer, &token).await,
                401,
                &invalid_token(UNKNOWN_KEY),
            );
        }
        // No kid at all is unknown too: every token names its key.
        let token = craft(r#"{"typ":"at+jwt","alg":"HS256"}"#, &claims, hs(SECRET));
        assert_refused(&t.bearer(&token).await, 401, &invalid_token(UNKNOWN_KEY));
        // A kid of the wrong JSON type does not parse.
        let token = craft(
            r#"{"typ":"at+jwt","alg":"HS256","kid":7}"#,
            &claims,
            hs(SECRET),
        );
        assert_refused(&t.bearer(&token).await, 401, &invalid_token(MALFORMED));
    }
    assert!(!marker.exists(), "a kid was run as a shell command");
}

/// CVE-2022-21449 ("psychic signatures"): an ECDSA signature with r = s = 0 verified under any
/// key in some Java releases.
#[tokio::test]
async fn attack_es256_zero_signature() {
    let (issuer, verifier) = asymmetric(Algorithm::ES256, "es256").await;
    let token = issuer.pair.access_token();
    let zero = with_signature(token, &[0; 64]);
    // The DER form of (0, 0), and r = s = n (the group order, reduces to zero).
    let der_zero = with_signature(token, &[0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00]);
    let mut order = P256_ORDER.to_vec();
    order.extend_from_slice(&P256_ORDER);
    let r_s_n = with_signature(token, &order);
    for forged in [zero, der_zero, r_s_n] {
        for layer in [&issuer.layer, &verifier] {
            assert_refused(
                &bearer(layer, &forged).await,
                401,
                &invalid_token(BAD_SIGNATURE),
            );
        }
    }
}

#[tokio::test]
async fn attack_refresh_token_as_access_token_and_the_reverse() {
    let t = hs256().await;
    let reply = t.bearer(t.pair.refresh_token()).await;
    assert_refused(&reply, 401, &invalid_token("expected an access token"));
    let reply = refresh(&t.layer, t.pair.access_token()).await;
    assert_refused(&reply, 401, &invalid_token("expected a refresh token"));
    // After the access token expires, a (still valid) access token in the refresh slot is no
    // refresh token either.
    t.clock.advance(Duration::from_secs(901));
    let other = t.sessions.issue("alice", ()).await.expect("issue");
    let value = format!("Bearer {}", t.pair.access_token());
    let reply = send(
        &t.layer,
        &[
            ("authorization", value.as_bytes()),
            ("x-refresh-token", other.access_token().as_bytes()),
        ],
    )
    .await;
    assert_refused(&reply, 401, &invalid_token("expected a refresh token"));

    // The typ header decides, and it is covered by the signature: hand-made tokens with the
    // right secret but a missing or generic typ are neither kind.
    let claims = other.access_token();
    let claims = String::from_utf8(segment(claims, 1)).expect("JSON");
    let t2 = hs256().await;
    for header in [
        format!(r#"{{"alg":"HS256","kid":"{}"}}"#, t.kid),
        format!(r#"{{"typ":"JWT","alg":"HS256","kid":"{}"}}"#, t.kid),
        format!(
            r#"{{"typ":"at+jwt+rt+jwt","alg":"HS256","kid":"{}"}}"#,
            t.kid
        ),
    ] {
        let token = craft(&header, &claims, hs(SECRET));
        let reply = t2.bearer(&token).await;
        assert_refused(&reply, 401, &invalid_token("expected an access token"));
        let reply = refresh(&t2.layer, &token).await;
        assert_refused(&reply, 401, &invalid_token("expected a refresh token"));
    }
}

#[tokio::test]
async fn attack_wrong_or_missing_issuer_and_audience() {
    let t = hs256_with(|b| b.issuer(ISSUER).audience(AUDIENCE)).await;
    assert_served(&t.bearer(t.pair.access_token()).await);
    let good = t.claims();
    assert_eq!(good["iss"], ISSUER);
    assert_eq!(good["aud"], AUDIENCE);
    type Edit = fn(&mut serde_json::Map<String, Value>);
    let edits: [(&str, Edit); 12] = [
        ("no iss", |c| {
            c.remove("iss");
        }),
        ("no aud", |c| {
            c.remove("aud");
        }),
        ("neither", |c| {
            c.remove("iss");
            c.remove("aud");
        }),
        ("wrong iss", |c| {
            c.insert("iss".into(), json!("https://attacker.example"));
        }),
        ("iss prefix", |c| {
            c.insert(
                "iss".into(),
                json!("https://issuer.example.attacker.example"),
            );
        }),
        ("iss case", |c| {
            c.insert("iss".into(), json!("HTTPS://ISSUER.EXAMPLE"));
        }),
        ("null iss", |c| {
            c.insert("iss".into(), Value::Null);
        }),
        ("numeric iss", |c| {
            c.insert("iss".into(), json!(1));
        }),
        ("wrong aud", |c| {
            c.insert("aud".into(), json!("other-api"));
        }),
        ("aud list without us", |c| {
            c.insert("aud".into(), json!(["other", "api2"]));
        }),
        ("empty aud list", |c| {
            c.insert("aud".into(), json!([]));
        }),
        ("aud object", |c| {
            c.insert("aud".into(), json!({"api": true}));
        }),
    ];
    for (what, edit) in edits {
        let claims = t.claims_with(edit);
        for header in [t.minted_header("HS256"), t.reordered_header("HS256")] {
            let token = craft(&header, &claims, hs(SECRET));
            let reply = t.bearer(&token).await;
            assert_eq!(
                reply.challenge.as_deref(),
                Some(invalid_token(BAD_CLAIMS).as_str()),
                "{what}: {header}"
            );
            assert_refused(&reply, 401, &invalid_token(BAD_CLAIMS));
        }
    }
    // A list that does contain the audience is accepted (RFC 7519 §4.1.3).
    let listed = t.claims_with(|c| {
        c.insert("aud".into(), json!(["other", AUDIENCE]));
    });
    let token = craft(&t.minted_header("HS256"), &listed, hs(SECRET));
    assert_served(&t.bearer(&token).await);

    // A token of a service that sets neither (same secret) is refused by the strict one.
    let lax = hs256().await;
    let reply = t.bearer(lax.pair.access_token()).await;
    assert_refused(&reply, 401, &invalid_token(BAD_CLAIMS));
}

#[tokio::test]
async fn attack_nbf_in_the_future() {
    let t = hs256().await;
    for header in [t.minted_header("HS256"), t.reordered_header("HS256")] {
        for nbf in [NOW + 1, NOW + 60, u64::MAX] {
            let claims = t.claims_with(|c| {
                c.insert("nbf".into(), json!(nbf));
            });
            let token = craft(&header, &claims, hs(SECRET));
            assert_refused(
                &t.bearer(&token).await,
                401,
                &invalid_token("the token is not valid yet"),
            );
        }
        // nbf now or in the past is fine: the defence is about the future only.
        let claims = t.claims_with(|c| {
            c.insert("nbf".into(), json!(NOW));
        });
        assert_served(&t.bearer(&craft(&header, &claims, hs(SECRET))).await);
    }
    // With a leeway, nbf up to that far ahead is tolerated and no further.
    let lenient = hs256_with(|b| b.leeway(Duration::from_secs(30))).await;
    for (nbf, ok) in [(NOW + 30, true), (NOW + 31, false)] {
        let claims = lenient.claims_with(|c| {
            c.insert("nbf".into(), json!(nbf));
        });
        let reply = lenient
            .bearer(&craft(&lenient.minted_header("HS256"), &claims, hs(SECRET)))
            .await;
        if ok {
            assert_served(&reply);
        } else {
            assert_refused(&reply, 401, &invalid_token("the token is not valid yet"));
        }
    }
}

/// The claims with `name` set to `raw`, a JSON text spliced in as is (serde_json's `Value` cannot
/// hold integers beyond 64 bits).
fn with_raw_claim(claims: &Value, name: &str, raw: &str) -> String {
    let mut claims = claims.clone();
    let map = claims.as_object_mut().expect("object");
    map.remove(name);
    let text = claims.to_string();
    format!("{},{}:{raw}}}", &text[..text.len() - 1], json!(name))
}

/// Numeric dates must be numbers, and absurd ones are refused without panicking.
#[tokio::test]
async fn attack_absurd_exp() {
    let t = hs256().await;
    let not_numbers = [
        r#""1700000900""#,
        "-1",
        "-9223372036854775808",
        "1700000900.5",
        "1.7e9",
        "1e300",
        "1.7976931348623157e308",
        "18446744073709551616",
        "99999999999999999999999999999999999999",
        "null",
        "true",
        "[1700000900]",
        r#"{"exp":1700000900}"#,
    ];
    for header in [t.minted_header("HS256"), t.reordered_header("HS256")] {
        for exp in not_numbers {
            let claims = with_raw_claim(&t.claims(), "exp", exp);
            let token = craft(&header, &claims, hs(SECRET));
            let reply = t.bearer(&token).await;
            assert_eq!(reply.status, 401, "exp {exp}: {reply:?}");
            assert_refused(&reply, 401, &invalid_token(MALFORMED));
        }
        // exp missing altogether.
        let claims = t.claims_with(|c| {
            c.remove("exp");
        });
        let token = craft(&header, &claims, hs(SECRET));
        assert_refused(&t.bearer(&token).await, 401, &invalid_token(MALFORMED));
        // exp = 0, and exp = now (expired at its own instant).
        for exp in [0, NOW] {
            let claims = t.claims_with(|c| {
                c.insert("exp".into(), json!(exp));
            });
            let token = craft(&header, &claims, hs(SECRET));
            assert_refused(
                &t.bearer(&token).await,
                401,
                &invalid_token("the access token expired"),
            );
        }
    }
    // The same values in iat and nbf: refused as malformed, no panic.
    for claim in ["iat", "nbf"] {
        for value in [json!("1"), json!(-1), json!(1e300)] {
            let claims = t.claims_with(|c| {
                c.insert(claim.into(), value.clone());
            });
            let token = craft(&t.minted_header("HS256"), &claims, hs(SECRET));
            assert_refused(&t.bearer(&token).await, 401, &invalid_token(MALFORMED));
        }
    }
}

/// A token over the limit (8 KiB by default) is refused before any decoding: this one is
/// otherwise perfectly valid, so only the size check can refuse it.
#[tokio::test]
async fn attack_oversized_token() {
    let t = hs256().await;
    let header = t.minted_header("HS256");
    // base64url never ends a segment on a length of 4k + 1, so the header's length (padded with
    // JSON whitespace) is the second knob that reaches every total length.
    let sized = |len: usize| {
        for header in [header.clone(), format!("{header} "), format!("{header}  ")] {
            for pad in 0..len {
                let claims = t.claims_with(|c| {
                    c.insert("pad".into(), json!("p".repeat(pad)));
                });
                let token = craft(&header, &claims, hs(SECRET));
                if token.len() == len {
                    return token;
                }
                if token.len() > len {
                    break;
                }
            }
        }
        panic!("no token of exactly {len} bytes");
    };
    let at_limit = sized(8192);
    assert_served(&t.bearer(&at_limit).await);
    let over = sized(8193);
    assert_refused(&t.bearer(&over).await, 401, &invalid_token(MALFORMED));
    let huge = format!("{}.{}", "A".repeat(1 << 20), "B.C");
    assert_refused(&t.bearer(&huge).await, 401, &invalid_token(MALFORMED));
    let refresh_over = over.replace(
        &B64.encode(&header),
        &B64.encode(header.replace("at+jwt", "rt+jwt")),
    );
    assert_refused(
        &refresh(&t.layer, &refresh_over).await,
        401,
        &invalid_token(MALFORMED_REFRESH),
    );
}

#[tokio::test]
async fn attack_non_utf8_bytes() {
    let t = hs256().await;
    let mut value = b"Bearer ".to_vec();
    value.extend_from_slice(t.pair.access_token().as_bytes());
    value.push(0xff);
    assert_refused(
        &send(&t.layer, &[("authorization", &value)]).await,
        400,
        &invalid_request("the Authorization header is not visible ASCII"),
    );
    assert_refused(
        &send(
            &t.layer,
            &[("authorization", b"Bearer \xc3\xa9.\xc3\xa9.\xc3\xa9")],
        )
        .await,
        400,
        &invalid_request("the Authorization header is not visible ASCII"),
    );
    assert_refused(
        &send(&t.layer, &[("x-refresh-token", b"\x80\x81.\x82.\x83")]).await,
        400,
        &invalid_request("the refresh token header is not visible ASCII"),
    );
    // Validly signed segments whose decoded bytes are not UTF-8 (or not JSON): 401, not a panic.
    let claims = t.claims().to_string();
    let header = t.minted_header("HS256");
    for (h, p) in [
        (b"\xff\xfe{}".as_slice(), claims.as_bytes()),
        (header.as_bytes(), b"\xff\xfe\xfd".as_slice()),
        (header.as_bytes(), b"{\"sub\":\"\xc3\x28\"}".as_slice()),
        (header.as_bytes(), b"not json".as_slice()),
        (b"not json".as_slice(), claims.as_bytes()),
        (header.as_bytes(), b"".as_slice()),
    ] {
        let token = craft_bytes(h, p, &hs(SECRET));
        assert_refused(&t.bearer(&token).await, 401, &invalid_token(MALFORMED));
    }
}

#[tokio::test]
async fn attack_jwe_shaped_token() {
    let t = hs256().await;
    let jwe = [
        B64.encode(r#"{"alg":"RSA-OAEP","enc":"A256GCM","typ":"at+jwt"}"#),
        B64.encode([1u8; 256]),
        B64.encode([2u8; 12]),
        B64.encode(segment(t.pair.access_token(), 1)),
        B64.encode([3u8; 16]),
    ]
    .join(".");
    assert_eq!(jwe.split('.').count(), 5);
    assert_refused(&t.bearer(&jwe).await, 401, &invalid_token(MALFORMED));
    // A "dir" JWE with empty key and the access token's own segments inside.
    let token = t.pair.access_token();
    let dir = format!("{token}..");
    assert_refused(&t.bearer(&dir).await, 401, &invalid_token(MALFORMED));
    // JWS JSON serialisations are not compact tokens either (and are not b64tokens).
    let json_jws = json!({"payload": "x", "signatures": []}).to_string();
    assert_refused(
        &t.bearer(&json_jws).await,
        400,
        &invalid_request("malformed Bearer credentials"),
    );
}

/// A correctly signed token (made here with the service's secret) whose session or token id the
/// store never issued: the pair check refuses what the signature alone would let in.
#[tokio::test]
async fn attack_valid_signature_on_an_unissued_session() {
    let t = hs256().await;
    let fresh = |bytes: [u8; 16]| B64.encode(bytes);
    let claims = t.claims_with(|c| {
        c.insert(
            "sid".into(),
            json!(fresh(SessionId::random().unwrap().as_bytes().to_owned())),
        );
        c.insert(
            "jti".into(),
            json!(fresh(TokenId::random().unwrap().as_bytes().to_owned())),
        );
    });
    for header in [t.minted_header("HS256"), t.reordered_header("HS256")] {
        let token = craft(&header, &claims, hs(SECRET));
        assert_refused(
            &t.bearer(&token).await,
            401,
            &invalid_token("unknown session"),
        );
    }
    // The real session with a token id it never had: a forged sibling of the current token.
    let sibling = t.claims_with(|c| {
        c.insert("jti".into(), json!(fresh([9; 16])));
    });
    let token = craft(&t.minted_header("HS256"), &sibling, hs(SECRET));
    assert_refused(
        &t.bearer(&token).await,
        401,
        &invalid_token("the access token was superseded"),
    );
    // A refresh token for a session never issued.
    let token = craft(
        &t.minted_header("HS256").replace("at+jwt", "rt+jwt"),
        &claims,
        hs(SECRET),
    );
    assert_refused(
        &refresh(&t.layer, &token).await,
        401,
        &invalid_token("unknown session"),
    );
    // Ids that are not ids at all.
    for (claim, value) in [
        ("sid", json!("x")),
        ("jti", json!("../../etc/passwd")),
        ("sid", json!(1)),
    ] {
        let claims = t.claims_with(|c| {
            c.insert(claim.into(), value);
        });
        let token = craft(&t.minted_header("HS256"), &claims, hs(SECRET));
        assert_refused(&t.bearer(&token).await, 401, &invalid_token(MALFORMED));
    }
    // Control: the genuine session still works.
    assert_served(&t.bearer(t.pair.access_token()).await);
}

/// The P-256 group order n.
const P256_ORDER: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

/// n − s, big-endian, for 0 < s < n.
fn negate_mod_order(s: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let mut d = i16::from(P256_ORDER[i]) - i16::from(s[i]) - borrow;
        borrow = i16::from(d < 0);
        if d < 0 {
            d += 256;
        }
        out[i] = u8::try_from(d).expect("byte");
    }
    assert_eq!(borrow, 0, "s < n");
    out
}

/// ECDSA signatures are malleable: (r, s) and (r, n − s) both verify. A revoked session's token
/// re-encoded that way is a different string, but the store looks sessions up by `sid`/`jti`,
/// never by the token's bytes, so it is still refused.
#[tokio::test]
async fn attack_malleated_ecdsa_signature_on_a_revoked_session() {
    let (issuer, verifier) = asymmetric(Algorithm::ES256, "es256").await;
    let token = issuer.pair.access_token().to_owned();
    let signature = segment(&token, 2);
    assert_eq!(signature.len(), 64);
    let mut malleated = signature[..32].to_vec();
    malleated.extend(negate_mod_order(&signature[32..]));
    let twin = with_signature(&token, &malleated);
    assert_ne!(twin, token);
    // The twin verifies: on a live session it is as good as the original.
    assert_served(&bearer(&verifier, &twin).await);

    assert!(
        issuer
            .sessions
            .revoke_session(issuer.pair.session_id())
            .await
            .expect("revoke")
    );
    for layer in [&issuer.layer, &verifier] {
        for t in [&token, &twin] {
            assert_refused(
                &bearer(layer, t).await,
                401,
                &invalid_token("the session was revoked"),
            );
        }
    }
    // The refresh token too, original or malleated.
    let refresh_token = issuer.pair.refresh_token();
    let sig = segment(refresh_token, 2);
    let mut m = sig[..32].to_vec();
    m.extend(negate_mod_order(&sig[32..]));
    let refresh_twin = with_signature(refresh_token, &m);
    issuer.clock.advance(Duration::from_secs(901));
    for t in [refresh_token, refresh_twin.as_str()] {
        assert_refused(
            &refresh(&issuer.layer, t).await,
            401,
            &invalid_token("the session was revoked"),
        );
    }
}

/// Extra headers and duplicate claims that other JWT parsers have disagreed on.
#[tokio::test]
async fn attack_duplicate_claims_and_parser_confusion() {
    let t = hs256().await;
    let claims = t.claims();
    let sid = claims["sid"].as_str().expect("sid");
    let jti = claims["jti"].as_str().expect("jti");
    let exp = claims["exp"].as_u64().expect("exp");
    let header = t.minted_header("HS256");
    // A duplicate `sub`/`exp`: whichever one a lax parser keeps, this one refuses the token.
    for duplicated in [
        format!(
            r#"{{"sub":"alice","sub":"admin","sid":"{sid}","jti":"{jti}","iat":{NOW},"exp":{exp}}}"#
        ),
        format!(
            r#"{{"sub":"alice","sid":"{sid}","jti":"{jti}","iat":{NOW},"exp":{exp},"exp":{}}}"#,
            u64::MAX
        ),
    ] {
        let token = craft(&header, &duplicated, hs(SECRET));
        assert_refused(&t.bearer(&token).await, 401, &invalid_token(MALFORMED));
    }
    // A duplicate `alg` in the header.
    let header = format!(
        r#"{{"typ":"at+jwt","alg":"HS256","alg":"none","kid":"{}"}}"#,
        t.kid
    );
    let token = craft(&header, &claims.to_string(), hs(SECRET));
    assert_refused(&t.bearer(&token).await, 401, &invalid_token(MALFORMED));
    // A refresh header sent twice, an Authorization header sent twice.
    let access = format!("Bearer {}", t.pair.access_token());
    let reply = send(
        &t.layer,
        &[
            ("authorization", access.as_bytes()),
            ("authorization", access.as_bytes()),
        ],
    )
    .await;
    assert_refused(
        &reply,
        400,
        &invalid_request("more than one Authorization header"),
    );
    let r = t.pair.refresh_token().as_bytes();
    let reply = send(&t.layer, &[("x-refresh-token", r), ("x-refresh-token", r)]).await;
    assert_refused(
        &reply,
        400,
        &invalid_request("more than one refresh token header"),
    );
}

/// A resource server that holds only public keys does not take refresh tokens as credentials.
#[tokio::test]
async fn attack_refresh_at_a_verify_only_service() {
    let (issuer, verifier) = asymmetric(Algorithm::EdDSA, "ed25519").await;
    assert_refused(
        &refresh(&verifier, issuer.pair.refresh_token()).await,
        401,
        "Bearer",
    );
    issuer.clock.advance(Duration::from_secs(901));
    let value = format!("Bearer {}", issuer.pair.access_token());
    let reply = send(
        &verifier,
        &[
            ("authorization", value.as_bytes()),
            ("x-refresh-token", issuer.pair.refresh_token().as_bytes()),
        ],
    )
    .await;
    assert_refused(&reply, 401, &invalid_token("the access token expired"));
    assert!(!reply.headers.contains_key("x-access-token"));
}

/// A key set mixing an HMAC key and an RSA public key: the `kid` picks the key and the key's pin
/// decides the algorithm, so neither key's id lends the other key's algorithm to a token.
#[tokio::test]
async fn attack_algorithm_confusion_across_a_mixed_key_set() {
    let public = pem("rs256.pub.pem");
    let rsa_public = JwtKeys::verify_only_pem(Algorithm::RS256, &public).expect("public key");
    let rsa_kid = rsa_public.kid().to_owned();
    let set = KeySet::signing(JwtKeys::hs256(SECRET).expect("key"))
        .with_verify_key(rsa_public)
        .expect("distinct kids");
    let t = hs256_with(|b| b.key_set(set)).await;
    let claims = t.claims().to_string();
    let rs = rsa();
    let header =
        |alg: &str, kid: &str| format!(r#"{{"typ":"at+jwt","alg":"{alg}","kid":"{kid}"}}"#);
    // Control: the RSA key does verify RS256 tokens of its private key.
    let genuine = craft(
        &header("RS256", &rsa_kid),
        &claims,
        Signer::Rsa(&RSA_PKCS1_SHA256, &rs),
    );
    assert_served(&t.bearer(&genuine).await);
    for forged in [
        // The RSA key's id, an HMAC tag under its public key or under the real HMAC secret.
        craft(&header("HS256", &rsa_kid), &claims, hs(&public)),
        craft(
            &header("HS256", &rsa_kid),
            &claims,
            hs(&der("rs256.pub.pem")),
        ),
        craft(&header("HS256", &rsa_kid), &claims, hs(SECRET)),
        // The HMAC key's id on an RSA signature.
        craft(
            &header("RS256", &t.kid),
            &claims,
            Signer::Rsa(&RSA_PKCS1_SHA256, &rs),
        ),
    ] {
        assert_refused(&t.bearer(&forged).await, 401, &invalid_token(BAD_SIGNATURE));
    }
}

/// An expired access token beside a forged refresh token: the refresh token gets the same full
/// verification as any other, so the request is refused and nothing is minted.
#[tokio::test]
async fn attack_expired_access_token_with_a_forged_refresh_token() {
    let t = hs256().await;
    t.clock.advance(Duration::from_secs(901));
    let access = format!("Bearer {}", t.pair.access_token());
    let refresh_claims = payload(t.pair.refresh_token());
    let minted = t.minted_header("HS256").replace("at+jwt", "rt+jwt");
    let mut tampered = refresh_claims.clone();
    tampered["sub"] = json!("admin");
    let forgeries = [
        (
            craft(
                &minted,
                &tampered.to_string(),
                Signer::Raw(segment(t.pair.refresh_token(), 2)),
            ),
            BAD_SIGNATURE,
        ),
        (
            craft(
                &minted,
                &refresh_claims.to_string(),
                hs(b"not the secret, still 32 bytes!!"),
            ),
            BAD_SIGNATURE,
        ),
        (
            craft(&minted, &refresh_claims.to_string(), Signer::Empty),
            BAD_SIGNATURE,
        ),
    ];
    for (forged, description) in forgeries {
        let reply = send(
            &t.layer,
            &[
                ("authorization", access.as_bytes()),
                ("x-refresh-token", forged.as_bytes()),
            ],
        )
        .await;
        assert_refused(&reply, 401, &invalid_token(description));
        assert!(!reply.headers.contains_key("x-access-token"));
    }
    // Control: the genuine refresh token is honoured, and a new access token minted.
    let reply = send(
        &t.layer,
        &[
            ("authorization", access.as_bytes()),
            ("x-refresh-token", t.pair.refresh_token().as_bytes()),
        ],
    )
    .await;
    assert_served(&reply);
    assert!(reply.headers.contains_key("x-access-token"));
}

/// Nothing an attacker could read from the service's public surface carries key material or
/// tokens: the JWKS holds public keys only (never an HMAC secret), and the `Debug` forms of keys,
/// key sets, sessions and token pairs (what ends up in logs) hold neither secrets nor tokens.
#[tokio::test]
async fn attack_key_material_and_tokens_never_leak() {
    let t = hs256().await;
    assert!(
        t.sessions.jwks().keys.is_empty(),
        "an HMAC secret was published"
    );
    let public = pem("rs256.pub.pem");
    let rsa_public = JwtKeys::verify_only_pem(Algorithm::RS256, &public).expect("public key");
    let rsa_kid = rsa_public.kid().to_owned();
    let set = KeySet::signing(JwtKeys::hs256(SECRET).expect("key"))
        .with_verify_key(rsa_public)
        .expect("distinct kids");
    let jwks = serde_json::to_value(set.jwks()).expect("JWKS JSON");
    let keys = jwks["keys"].as_array().expect("keys");
    assert_eq!(keys.len(), 1, "{jwks}");
    assert_eq!(keys[0]["kid"], rsa_kid.as_str());
    assert_eq!(keys[0]["kty"], "RSA");
    assert!(
        keys[0].get("k").is_none() && keys[0].get("d").is_none(),
        "{jwks}"
    );

    let ed = asymmetric(Algorithm::EdDSA, "ed25519").await.0;
    let secrets = [
        String::from_utf8_lossy(SECRET).into_owned(),
        B64.encode(SECRET),
        base64::engine::general_purpose::STANDARD.encode(SECRET),
        B64.encode(der("ed25519.pem")),
        base64::engine::general_purpose::STANDARD.encode(der("ed25519.pem")),
    ];
    let debug = [
        format!("{:?}", JwtKeys::hs256(SECRET).expect("key")),
        format!("{set:?}"),
        format!("{:?}", t.sessions),
        format!("{:?}", t.pair),
        format!("{:?}", ed.sessions.keys()),
        format!("{:?}", ed.pair),
        format!("{:?}", t.layer),
    ];
    for text in &debug {
        for secret in &secrets {
            assert!(!text.contains(secret.as_str()), "key material in {text}");
        }
        for token in [
            t.pair.access_token(),
            t.pair.refresh_token(),
            ed.pair.access_token(),
        ] {
            let signature = token.rsplit('.').next().expect("signature");
            assert!(!text.contains(signature), "a token in {text}");
        }
    }
}

/// Broken JSON inside `iss`, `aud` or an application claim (a lone surrogate, bytes that are not
/// UTF-8, a number out of range) is a malformed token on both paths, whether or not `iss`/`aud`
/// are configured: a lenient reader must not skip what the strict one refuses.
#[tokio::test]
async fn attack_payload_with_broken_strings_is_malformed_on_both_paths() {
    let broken: [&[u8]; 6] = [
        br#""\ud800""#,
        br#"["api","\udc00"]"#,
        b"\"\xff\"",
        b"[\"\xc3\x28\"]",
        b"1e999",
        br#"{"a":"\ud800"}"#,
    ];
    for configured in [false, true] {
        let t = if configured {
            hs256_with(|b| b.issuer(ISSUER).audience(AUDIENCE)).await
        } else {
            hs256().await
        };
        for header in [t.minted_header("HS256"), t.reordered_header("HS256")] {
            for claim in ["iss", "aud", "role"] {
                for raw in broken {
                    let mut claims = t.claims();
                    claims.as_object_mut().expect("object").remove(claim);
                    let text = claims.to_string();
                    let mut payload = text.as_bytes()[..text.len() - 1].to_vec();
                    payload.extend_from_slice(format!(",\"{claim}\":").as_bytes());
                    payload.extend_from_slice(raw);
                    payload.push(b'}');
                    let token = craft_bytes(header.as_bytes(), &payload, &hs(SECRET));
                    let reply = t.bearer(&token).await;
                    let shown = String::from_utf8_lossy(raw);
                    assert_eq!(reply.status, 401, "{claim} = {shown}: {reply:?}");
                    assert_refused(&reply, 401, &invalid_token(MALFORMED));
                }
            }
        }
    }
    // Bytes that are not UTF-8 make the payload malformed wherever they are, even in a claim
    // that is skipped (RFC 7519 §7.2).
    let t = hs256().await;
    for header in [t.minted_header("HS256"), t.reordered_header("HS256")] {
        for claim in ["cnf", "role"] {
            for raw in [&b"\"\xff\""[..], b"{\"jkt\":\"\xc3\x28\"}"] {
                let text = t.claims().to_string();
                let mut payload = text.as_bytes()[..text.len() - 1].to_vec();
                payload.extend_from_slice(format!(",\"{claim}\":").as_bytes());
                payload.extend_from_slice(raw);
                payload.push(b'}');
                let token = craft_bytes(header.as_bytes(), &payload, &hs(SECRET));
                assert_refused(&t.bearer(&token).await, 401, &invalid_token(MALFORMED));
            }
        }
    }
    // Well-formed values of the wrong type stay what they are: unusable where required, ignored
    // where not.
    let strict = hs256_with(|b| b.audience(AUDIENCE)).await;
    let free = hs256().await;
    for t in [&strict, &free] {
        for header in [t.minted_header("HS256"), t.reordered_header("HS256")] {
            let claims = with_raw_claim(&t.claims(), "aud", r#"[5,{"x":[]}]"#);
            let reply = t.bearer(&craft(&header, &claims, hs(SECRET))).await;
            if std::ptr::eq(t, &strict) {
                assert_refused(&reply, 401, &invalid_token(BAD_CLAIMS));
            } else {
                assert_served(&reply);
            }
        }
    }
}

/// Nothing this crate mints outlives a session, so an `exp` further away than the refresh
/// lifetime (plus leeway) was forged or minted under other rules: refused, not served for ages.
#[tokio::test]
async fn attack_exp_beyond_any_session_is_refused() {
    // Without the pair check the signature and claims are all that stand in the way.
    let t = hs256_with(|b| b.pair_check(false)).await;
    let lifetime = 14 * 24 * 60 * 60;
    for header in [t.minted_header("HS256"), t.reordered_header("HS256")] {
        let at_limit = with_raw_claim(&t.claims(), "exp", &(NOW + lifetime).to_string());
        assert_served(&t.bearer(&craft(&header, &at_limit, hs(SECRET))).await);
        for exp in [
            (NOW + lifetime + 1).to_string(),
            u64::from(u32::MAX).to_string(),
            u64::MAX.to_string(),
        ] {
            let claims = with_raw_claim(&t.claims(), "exp", &exp);
            let reply = t.bearer(&craft(&header, &claims, hs(SECRET))).await;
            assert_refused(&reply, 401, &invalid_token(BAD_CLAIMS));
        }
    }
    // The bound moves with the clock and includes the leeway.
    let t = hs256_with(|b| b.pair_check(false).leeway(Duration::from_secs(30))).await;
    let claims = with_raw_claim(&t.claims(), "exp", &(NOW + lifetime + 31).to_string());
    let token = craft(&t.minted_header("HS256"), &claims, hs(SECRET));
    assert_refused(&t.bearer(&token).await, 401, &invalid_token(BAD_CLAIMS));
    t.clock.advance(Duration::from_secs(1));
    assert_served(&t.bearer(&token).await);
}

/// RFC 7515 §4.1.11: a `crit` header names extensions the recipient must understand, and this
/// crate understands none (RFC 7797's `b64: false` among them), so such a token is refused even
/// with a valid signature, on every path and algorithm.
#[tokio::test]
async fn attack_unknown_critical_header_is_refused() {
    let t = hs256().await;
    let claims = t.claims().to_string();
    let critical = |kid: &str, alg: &str| {
        [
            format!(r#"{{"typ":"at+jwt","alg":"{alg}","kid":"{kid}","crit":["exp"]}}"#),
            format!(r#"{{"typ":"at+jwt","alg":"{alg}","kid":"{kid}","crit":[]}}"#),
            format!(r#"{{"typ":"at+jwt","alg":"{alg}","kid":"{kid}","b64":false,"crit":["b64"]}}"#),
        ]
    };
    for header in critical(&t.kid, "HS256") {
        let token = craft(&header, &claims, hs(SECRET));
        assert_refused(&t.bearer(&token).await, 401, &invalid_token(MALFORMED));
    }
    let ed = ed25519();
    let (issuer, verifier) = asymmetric(Algorithm::EdDSA, "ed25519").await;
    for header in critical(&issuer.kid, "EdDSA") {
        let token = craft(&header, &issuer.claims().to_string(), Signer::Ed25519(&ed));
        assert_refused(&issuer.bearer(&token).await, 401, &invalid_token(MALFORMED));
        assert_refused(
            &bearer(&verifier, &token).await,
            401,
            &invalid_token(MALFORMED),
        );
    }
}

/// The `typ` header compares as a media type: case-insensitively, with or without the
/// `application/` prefix (RFC 7515 §4.1.9), and still never lets one kind pass for the other.
#[tokio::test]
async fn attack_typ_compares_as_a_media_type() {
    let t = hs256().await;
    let claims = t.claims().to_string();
    let header = |typ: &str| format!(r#"{{"typ":"{typ}","alg":"HS256","kid":"{}"}}"#, t.kid);
    for typ in ["AT+JWT", "application/at+jwt", "Application/At+Jwt"] {
        assert_served(&t.bearer(&craft(&header(typ), &claims, hs(SECRET))).await);
    }
    for typ in [
        "APPLICATION/rt+jwt",
        "application/",
        "application/application/at+jwt",
    ] {
        let token = craft(&header(typ), &claims, hs(SECRET));
        assert_refused(
            &t.bearer(&token).await,
            401,
            &invalid_token("expected an access token"),
        );
    }
}

/// Errors never repeat attacker text. A token's header and payload are the attacker's words:
/// whatever they hold (line breaks that would forge a log line, markup, 8 KiB of filler), the
/// error's `Display` and `Debug` name the defect in the crate's own words and repeat none of it,
/// whether the signature holds or not, on every verification path.
#[tokio::test]
async fn attack_error_text_repeats_nothing_of_the_token() {
    const MARK: &str = "INJECTED-5f1c";
    let forged_line = format!("\r\nX-Injected: yes [ERROR] fake log line {MARK}");
    let t = hs256().await;
    let (ed, _) = asymmetric(Algorithm::EdDSA, "ed25519").await;
    let claims = t.claims();
    let filler = "A".repeat(8 * 1024 - 600);
    let mut headers = vec![
        format!(r#"{{"alg":"HS256{forged_line}"}}"#),
        format!(
            r#"{{"typ":"at+jwt","alg":"HS256","kid":"{}{forged_line}"}}"#,
            t.kid
        ),
        format!(
            r#"{{"typ":"{forged_line}","alg":"HS256","kid":"{}"}}"#,
            t.kid
        ),
        format!(
            r#"{{"typ":"at+jwt","alg":"HS256","kid":"{}","crit":["{forged_line}"]}}"#,
            t.kid
        ),
        format!(
            r#"{{"typ":"at+jwt","alg":"HS256","kid":"{}","x":"{filler}{forged_line}"}}"#,
            t.kid
        ),
        format!(
            r#"{{"typ":"at+jwt","alg":"EdDSA","kid":"{}"{forged_line}"#,
            ed.kid
        ),
    ];
    headers.push(format!("{{{forged_line}"));
    // The same text as valid JSON strings, which parsers quote back in their messages.
    for (name, value) in [("alg", "HS256"), ("kid", t.kid.as_str()), ("typ", "at+jwt")] {
        let mut header = json!({"typ": "at+jwt", "alg": "HS256", "kid": t.kid});
        header[name] = json!(format!("{value}{forged_line}"));
        headers.push(header.to_string());
    }
    let payloads = [
        // Signed with the right key: the claims are read, and each is wrong in its own way.
        claims.to_string().replace(
            r#""sub":"alice""#,
            &format!(r#""sub":7,"{MARK}":"{forged_line}""#),
        ),
        claims
            .to_string()
            .replace(r#""sid":""#, &format!(r#""sid":"{MARK}"#)),
        claims
            .to_string()
            .replace(r#""exp":"#, &format!(r#""exp":"{forged_line}","e":"#)),
        format!("{forged_line}{{"),
        format!(r#"{{"sub":"{MARK}","#),
    ];
    let mut tokens = Vec::new();
    for header in &headers {
        tokens.push(craft(header, &claims.to_string(), hs(SECRET)));
        tokens.push(craft(header, &claims.to_string(), Signer::Raw(vec![7; 32])));
    }
    for payload in &payloads {
        for header in [t.minted_header("HS256"), t.reordered_header("HS256")] {
            tokens.push(craft(&header, payload, hs(SECRET)));
            tokens.push(craft(&header, payload, Signer::Raw(vec![7; 32])));
        }
    }
    // Segments that are not even base64url, with the text in the clear.
    let message = format!("{}.{}", t.minted_header("HS256"), claims);
    tokens.push(format!("{MARK}{forged_line}.{MARK}.{MARK}"));
    tokens.push(format!(
        "{}.{MARK}{forged_line}.sig",
        B64.encode(message.as_bytes())
    ));
    for token in &tokens {
        for sessions in [&t.sessions, &ed.sessions] {
            let error = sessions
                .authenticate(token)
                .await
                .expect_err("a defective token");
            let refresh_error = sessions
                .refresh(token)
                .await
                .expect_err("a defective token");
            for text in [
                error.to_string(),
                format!("{error:?}"),
                refresh_error.to_string(),
                format!("{refresh_error:?}"),
            ] {
                assert!(!text.contains(MARK), "{text}");
                assert!(!text.contains("X-Injected"), "{text}");
                assert!(!text.contains(['\r', '\n']), "{text}");
                assert!(text.len() < 400, "errors stay short: {text}");
            }
        }
    }
}

/// An asymmetric key pair, to sign as its owner or as an attacker.
enum Pair {
    Ed25519(Ed25519KeyPair),
    Ecdsa(EcdsaKeyPair),
    Rsa(&'static dyn RsaEncoding, RsaKeyPair),
}

impl Pair {
    fn signer(&self) -> Signer<'_> {
        match self {
            Self::Ed25519(key) => Signer::Ed25519(key),
            Self::Ecdsa(key) => Signer::Ecdsa(key),
            Self::Rsa(encoding, key) => Signer::Rsa(*encoding, key),
        }
    }

    /// The public key as a JWK with its `kid` and `alg`, as this crate publishes one.
    fn jwk(&self, alg: Algorithm) -> Value {
        let der = match self {
            Self::Ed25519(key) => key.public_key().as_der(),
            Self::Ecdsa(key) => key.public_key().as_der(),
            Self::Rsa(_, key) => key.public_key().as_der(),
        }
        .expect("SubjectPublicKeyInfo");
        let pem = format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            base64::engine::general_purpose::STANDARD.encode(der.as_ref())
        );
        let keys = JwtKeys::verify_only_pem(alg, pem.as_bytes()).expect("public key");
        serde_json::to_value(keys.public_jwk().expect("asymmetric")).expect("JWK JSON")
    }
}

/// One asymmetric key's tokens and the two verifiers that hold only its public key, both
/// requiring the issuer and the audience: this crate's layer (its parsed-header path, with the
/// pair check on the issuer's store) and a resource server (the same key through
/// `RemoteKeys::from_jwk_set`: fixed, no network).
struct Victim {
    alg: Algorithm,
    /// The key's file in `tests/keys/`, without `.pem`.
    file: &'static str,
    issuer: Target,
    own: JwtAuthLayer,
    resource_server: ResourceServerLayer,
    /// The two verifiers behind the layers, to read their verified-token caches.
    verifiers: (JwtSessions, ResourceServer),
    genuine: Pair,
    /// A key of the same kind that the verifiers do not hold.
    attacker: Pair,
    tripwire: Tripwire,
}

impl Victim {
    async fn new(alg: Algorithm, file: &'static str, genuine: Pair, attacker: Pair) -> Self {
        let (issuer, own, clock) = issuer_and_verifier(alg, file).await;
        let keys = RemoteKeys::from_jwk_set(&issuer.sessions.jwks()).expect("fixed keys");
        let server = ResourceServer::builder()
            .issuer(Issuer::new(ISSUER, keys).audience(AUDIENCE))
            .clock(clock)
            .build()
            .expect("resource server");
        Self {
            alg,
            file,
            issuer,
            own: own.layer(),
            resource_server: server.layer(),
            verifiers: (own, server),
            genuine,
            attacker,
            tripwire: Tripwire::new(),
        }
    }

    fn alg_name(&self) -> String {
        format!("{:?}", self.alg)
    }

    /// The header the issuer mints, as JSON.
    fn header(&self) -> Value {
        json!({"typ": "at+jwt", "alg": self.alg_name(), "kid": self.issuer.kid})
    }

    fn header_with(&self, edit: impl FnOnce(&mut Value)) -> String {
        let mut header = self.header();
        edit(&mut header);
        header.to_string()
    }

    /// The live session's access-token claims, `iss` and `aud` included.
    fn claims(&self) -> String {
        self.issuer.claims().to_string()
    }

    fn claims_with(&self, edit: impl FnOnce(&mut serde_json::Map<String, Value>)) -> String {
        self.issuer.claims_with(edit)
    }

    /// `header` and `claims`, signed with the genuine key.
    fn signed(&self, header: &str, claims: &str) -> String {
        craft(header, claims, self.genuine.signer())
    }

    /// The genuine header over `claims`, signed with the genuine key.
    fn signed_claims(&self, claims: &str) -> String {
        self.signed(&self.header().to_string(), claims)
    }
}

/// One attack: the tokens it crafts against a victim's key, and the refusal both verifiers must
/// answer every one of them with: `401` and this `invalid_token` description.
struct Attack {
    name: &'static str,
    tokens: fn(&Victim) -> Vec<String>,
    refusal: &'static str,
}

/// The attacks, each named once.
fn attacks() -> Vec<Attack> {
    vec![
        Attack {
            name: "alg none, unsigned or signed",
            refusal: MALFORMED,
            tokens: |v| {
                let mut tokens = Vec::new();
                for alg in ["none", "None", "NONE"] {
                    let header = v.header_with(|h| h["alg"] = json!(alg));
                    tokens.push(craft(&header, &v.claims(), Signer::Empty));
                    tokens.push(v.signed(&header, &v.claims()));
                }
                tokens
            },
        },
        Attack {
            name: "an HMAC tag keyed with the public key, as PEM, DER, JWK or JWKS",
            refusal: BAD_SIGNATURE,
            tokens: |v| {
                let public = pem(&format!("{}.pub.pem", v.file));
                let trimmed = String::from_utf8(public.clone()).expect("ASCII");
                let jwks = serde_json::to_vec(&v.issuer.sessions.jwks()).expect("JWKS");
                let jwk = serde_json::to_vec(&v.issuer.sessions.jwks().keys[0]).expect("JWK");
                let secrets = [
                    public,
                    trimmed.trim_end().as_bytes().to_vec(),
                    der(&format!("{}.pub.pem", v.file)),
                    jwk,
                    jwks,
                ];
                let mut tokens = Vec::new();
                for secret in &secrets {
                    for (hmac, alg) in [
                        (HMAC_SHA256, "HS256"),
                        (HMAC_SHA384, "HS384"),
                        (HMAC_SHA512, "HS512"),
                    ] {
                        let header = v.header_with(|h| h["alg"] = json!(alg));
                        tokens.push(craft(&header, &v.claims(), Signer::Hmac(hmac, secret)));
                    }
                }
                tokens
            },
        },
        Attack {
            name: "another algorithm than the key's, signed with a key of that algorithm",
            refusal: BAD_SIGNATURE,
            tokens: |v| {
                let (ed, ec, rs) = (ed25519(), es256(), rsa());
                let others: [(&str, Signer<'_>); 9] = [
                    ("EdDSA", Signer::Ed25519(&ed)),
                    ("ES256", Signer::Ecdsa(&ec)),
                    ("ES384", Signer::Ecdsa(&ec)),
                    ("RS256", Signer::Rsa(&RSA_PKCS1_SHA256, &rs)),
                    ("RS384", Signer::Rsa(&RSA_PKCS1_SHA384, &rs)),
                    ("RS512", Signer::Rsa(&RSA_PKCS1_SHA512, &rs)),
                    ("PS256", Signer::Rsa(&RSA_PSS_SHA256, &rs)),
                    ("PS384", Signer::Rsa(&RSA_PSS_SHA384, &rs)),
                    ("PS512", Signer::Rsa(&RSA_PSS_SHA512, &rs)),
                ];
                others
                    .into_iter()
                    .filter(|(alg, _)| *alg != v.alg_name())
                    .map(|(alg, signer)| {
                        craft(
                            &v.header_with(|h| h["alg"] = json!(alg)),
                            &v.claims(),
                            signer,
                        )
                    })
                    .collect()
            },
        },
        Attack {
            name: "a critical extension, b64: false among them",
            refusal: MALFORMED,
            tokens: |v| {
                let unencoded = v.header_with(|h| {
                    h["b64"] = json!(false);
                    h["crit"] = json!(["b64"]);
                });
                vec![
                    v.signed(&v.header_with(|h| h["crit"] = json!(["exp"])), &v.claims()),
                    v.signed(&v.header_with(|h| h["crit"] = json!([])), &v.claims()),
                    v.signed(&unencoded, &v.claims()),
                    craft_unencoded(&unencoded, &v.claims(), &v.genuine.signer()),
                ]
            },
        },
        Attack {
            name: "b64: false without crit, signed over the unencoded payload",
            refusal: BAD_SIGNATURE,
            tokens: |v| {
                let header = v.header_with(|h| h["b64"] = json!(false));
                vec![craft_unencoded(&header, &v.claims(), &v.genuine.signer())]
            },
        },
        Attack {
            name: "the attacker's key embedded in the header or linked from it",
            refusal: BAD_SIGNATURE,
            tokens: |v| {
                let fake_cert =
                    base64::engine::general_purpose::STANDARD.encode(b"not a certificate");
                let members = [
                    ("jwk", v.attacker.jwk(v.alg)),
                    ("jku", json!(v.tripwire.url("/jwks.json"))),
                    ("x5u", json!(v.tripwire.url("/cert.pem"))),
                    ("x5c", json!([fake_cert])),
                ];
                members
                    .into_iter()
                    .map(|(name, value)| {
                        let header = v.header_with(|h| h[name] = value);
                        craft(&header, &v.claims(), v.attacker.signer())
                    })
                    .collect()
            },
        },
        Attack {
            name: "a kid aimed at files, databases or shells, or no kid",
            refusal: UNKNOWN_KEY,
            tokens: |v| {
                let kids = [
                    "../../etc/passwd".to_owned(),
                    "../../../../../../dev/null".to_owned(),
                    format!("../{}", v.issuer.kid),
                    "' OR 1=1 --".to_owned(),
                    "$(touch /tmp/pwned)".to_owned(),
                    "| cat /etc/passwd".to_owned(),
                    String::new(),
                    "\u{0}".to_owned(),
                    "k".repeat(4000),
                ];
                let mut tokens: Vec<String> = kids
                    .iter()
                    .map(|kid| v.signed(&v.header_with(|h| h["kid"] = json!(kid)), &v.claims()))
                    .collect();
                let unnamed = v.header_with(|h| {
                    h.as_object_mut().expect("object").remove("kid");
                });
                tokens.push(v.signed(&unnamed, &v.claims()));
                tokens
            },
        },
        Attack {
            name: "a header member of the wrong type",
            refusal: MALFORMED,
            tokens: |v| {
                let wrong: [(&str, Value); 5] = [
                    ("kid", json!(7)),
                    ("typ", json!(1)),
                    ("alg", json!(5)),
                    ("alg", json!([v.alg_name()])),
                    ("crit", json!("b64")),
                ];
                wrong
                    .into_iter()
                    .map(|(name, value)| v.signed(&v.header_with(|h| h[name] = value), &v.claims()))
                    .collect()
            },
        },
        Attack {
            name: "two or four segments",
            refusal: MALFORMED,
            tokens: |v| {
                let token = v.signed_claims(&v.claims());
                let parts: Vec<&str> = token.split('.').collect();
                vec![
                    format!("{}.{}", parts[0], parts[1]),
                    format!("{}.{}", parts[0], parts[2]),
                    format!("{token}.{}", parts[2]),
                    format!("{token}."),
                    format!(".{token}"),
                    "..".to_owned(),
                    "...".to_owned(),
                    "a..b".to_owned(),
                ]
            },
        },
        Attack {
            name: "a token over the size limit, otherwise valid",
            refusal: MALFORMED,
            tokens: |v| {
                let claims = v.claims_with(|c| {
                    c.insert("pad".into(), json!("p".repeat(20 * 1024)));
                });
                vec![v.signed_claims(&claims)]
            },
        },
        Attack {
            name: "bytes that are not UTF-8 or not JSON, signed",
            refusal: MALFORMED,
            tokens: |v| {
                let (header, claims) = (v.header().to_string(), v.claims());
                let mut broken_claim = claims.as_bytes()[..claims.len() - 1].to_vec();
                broken_claim.extend_from_slice(b",\"role\":\"\xc3\x28\"}");
                let mut broken_key = claims.as_bytes()[..claims.len() - 1].to_vec();
                broken_key.extend_from_slice(b",\"\xff\":1}");
                let cases: [(&[u8], &[u8]); 6] = [
                    (b"\xff\xfe{}", claims.as_bytes()),
                    (b"not json", claims.as_bytes()),
                    (header.as_bytes(), b"\xff\xfe\xfd"),
                    (header.as_bytes(), &broken_claim),
                    (header.as_bytes(), &broken_key),
                    (header.as_bytes(), b"not json"),
                ];
                cases
                    .into_iter()
                    .map(|(h, p)| craft_bytes(h, p, &v.genuine.signer()))
                    .collect()
            },
        },
        Attack {
            name: "a member named twice, in the header or the payload",
            refusal: MALFORMED,
            tokens: |v| {
                let header = v.header().to_string();
                let claims = v.claims();
                // A second copy of a member, ahead of the first: whichever copy a parser keeps,
                // this token is refused.
                let twice =
                    |json: &str, member: &str| json.replacen('{', &format!("{{{member},"), 1);
                let mut tokens: Vec<String> =
                    [r#""alg":"EdDSA""#, r#""kid":"k""#, r#""typ":"JWT""#]
                        .into_iter()
                        .map(|member| v.signed(&twice(&header, member), &claims))
                        .collect();
                for member in [
                    r#""sub":"admin""#.to_owned(),
                    format!(r#""exp":{}"#, u64::MAX),
                    r#""iss":"https://attacker.example""#.to_owned(),
                    r#""aud":"other-api""#.to_owned(),
                ] {
                    tokens.push(v.signed_claims(&twice(&claims, &member)));
                }
                tokens
            },
        },
        Attack {
            name: "a signature stripped, cut short, or another token's",
            refusal: BAD_SIGNATURE,
            tokens: |v| {
                let token = v.signed_claims(&v.claims());
                let signature = segment(&token, 2);
                let other = v.signed_claims(&v.claims_with(|c| {
                    c.insert("sub".into(), json!("admin"));
                }));
                vec![
                    with_signature(&token, &[]),
                    with_signature(&token, &signature[..signature.len() / 2]),
                    with_signature(&token, &segment(&other, 2)),
                    with_signature(&other, &signature),
                ]
            },
        },
        Attack {
            name: "the typ of another kind of token, or none",
            refusal: "expected an access token",
            tokens: |v| {
                let mut tokens: Vec<String> = ["rt+jwt", "JWT", "application/jwt", "at+jwt+rt+jwt"]
                    .into_iter()
                    .map(|typ| v.signed(&v.header_with(|h| h["typ"] = json!(typ)), &v.claims()))
                    .collect();
                let untyped = v.header_with(|h| {
                    h.as_object_mut().expect("object").remove("typ");
                });
                tokens.push(v.signed(&untyped, &v.claims()));
                tokens
            },
        },
        Attack {
            name: "no iss, or one other than the issuer",
            refusal: BAD_CLAIMS,
            tokens: |v| {
                let mut tokens = vec![v.signed_claims(&v.claims_with(|c| {
                    c.remove("iss");
                }))];
                for iss in [
                    json!("https://attacker.example"),
                    json!("https://issuer.example.attacker.example"),
                    json!("HTTPS://ISSUER.EXAMPLE"),
                    Value::Null,
                    json!(1),
                ] {
                    tokens.push(v.signed_claims(&v.claims_with(|c| {
                        c.insert("iss".into(), iss);
                    })));
                }
                tokens
            },
        },
        Attack {
            name: "no aud, or none of the audience",
            refusal: BAD_CLAIMS,
            tokens: |v| {
                let mut tokens = vec![v.signed_claims(&v.claims_with(|c| {
                    c.remove("aud");
                }))];
                for aud in [
                    json!("other-api"),
                    json!(["other", "api2"]),
                    json!([]),
                    json!({"api": true}),
                ] {
                    tokens.push(v.signed_claims(&v.claims_with(|c| {
                        c.insert("aud".into(), aud);
                    })));
                }
                tokens
            },
        },
        Attack {
            name: "an exp now or past",
            refusal: "the access token expired",
            tokens: |v| {
                [NOW, NOW - 1, 0]
                    .into_iter()
                    .map(|exp| {
                        v.signed_claims(&v.claims_with(|c| {
                            c.insert("exp".into(), json!(exp));
                        }))
                    })
                    .collect()
            },
        },
        Attack {
            name: "an nbf still ahead",
            refusal: "the token is not valid yet",
            tokens: |v| {
                [NOW + 1, NOW + 60, u64::MAX]
                    .into_iter()
                    .map(|nbf| {
                        v.signed_claims(&v.claims_with(|c| {
                            c.insert("nbf".into(), json!(nbf));
                        }))
                    })
                    .collect()
            },
        },
        Attack {
            name: "no exp, or an exp or nbf that is not a number",
            refusal: MALFORMED,
            tokens: |v| {
                let mut tokens = vec![v.signed_claims(&v.claims_with(|c| {
                    c.remove("exp");
                }))];
                let claims = v.issuer.claims();
                for raw in [
                    r#""1700000900""#,
                    "-1",
                    "1700000900.5",
                    "1e300",
                    "18446744073709551616",
                    "null",
                    "true",
                    "[1700000900]",
                ] {
                    tokens.push(v.signed_claims(&with_raw_claim(&claims, "exp", raw)));
                    // An nbf of null is no nbf to this crate's layer, which reads it as an option.
                    if raw != "null" {
                        tokens.push(v.signed_claims(&with_raw_claim(&claims, "nbf", raw)));
                    }
                }
                tokens
            },
        },
    ]
}

/// The attacks of one table against both verifiers of every kind of asymmetric key: each is
/// refused alike by this crate's layer and by a resource server, with the same status and
/// challenge, and the protected service never runs. The genuine token, assembled the same way,
/// is served by both, so every refusal is a defence's; and it is served first, so each attack
/// meets both verified-token caches holding it, and leaves them holding it alone.
#[tokio::test]
async fn attack_table_both_verifiers_refuse_alike() {
    let rsa_attacker = || {
        Pair::Rsa(
            &RSA_PKCS1_SHA256,
            RsaKeyPair::generate(KeySize::Rsa2048).expect("RSA key"),
        )
    };
    let pss_attacker = || {
        Pair::Rsa(
            &RSA_PSS_SHA256,
            RsaKeyPair::generate(KeySize::Rsa2048).expect("RSA key"),
        )
    };
    let victims = [
        Victim::new(
            Algorithm::EdDSA,
            "ed25519",
            Pair::Ed25519(ed25519()),
            Pair::Ed25519(Ed25519KeyPair::generate().expect("key")),
        )
        .await,
        Victim::new(
            Algorithm::ES256,
            "es256",
            Pair::Ecdsa(es256()),
            Pair::Ecdsa(EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).expect("key")),
        )
        .await,
        Victim::new(
            Algorithm::RS256,
            "rs256",
            Pair::Rsa(&RSA_PKCS1_SHA256, rsa()),
            rsa_attacker(),
        )
        .await,
        Victim::new(
            Algorithm::PS256,
            "rs256",
            Pair::Rsa(&RSA_PSS_SHA256, rsa()),
            pss_attacker(),
        )
        .await,
    ];
    let attacks = attacks();
    for v in &victims {
        let genuine = v.signed_claims(&v.claims());
        assert_served(&bearer(&v.own, &genuine).await);
        assert_served(&bearer(&v.resource_server, &genuine).await);
        for attack in &attacks {
            let tokens = (attack.tokens)(v);
            assert!(!tokens.is_empty(), "{}", attack.name);
            for token in &tokens {
                let expected = invalid_token(attack.refusal);
                for (verifier, reply) in [
                    ("this crate's layer", bearer(&v.own, token).await),
                    (
                        "the resource server",
                        bearer(&v.resource_server, token).await,
                    ),
                ] {
                    assert_eq!(
                        (reply.status.as_u16(), reply.challenge.as_deref()),
                        (401, Some(expected.as_str())),
                        "{:?}, {}: {verifier} answered {reply:?} to {token}",
                        v.alg,
                        attack.name,
                    );
                    assert_refused(&reply, 401, &expected);
                }
            }
        }
        assert!(
            !v.tripwire.was_touched(),
            "a key URL from a token header was fetched"
        );
        let (own, server) = &v.verifiers;
        assert_eq!(
            (
                own.verified_token_cache_len(),
                server.verified_token_cache_len()
            ),
            (1, 1),
            "{:?}: no refused token entered a verified-token cache",
            v.alg
        );
    }
}
