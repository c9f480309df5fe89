//! Helpers for the attack suite: key material read from `tests/keys/`, tokens assembled by hand
//! and signed with aws-lc-rs, and one request through a layer: this crate's, or a resource
//! server's.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use aws_lc_rs::hmac;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, RsaEncoding, RsaKeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD as B64};
use http::header::WWW_AUTHENTICATE;
use http::{Request, Response, StatusCode};
use serde_json::Value;
use tower::{Layer, Service, ServiceExt};

/// A key file from `tests/keys/`, as its PEM text.
pub(crate) fn pem(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/keys/{name}", env!("CARGO_MANIFEST_DIR")))
        .unwrap_or_else(|e| panic!("tests/keys/{name}: {e}"))
}

/// The DER inside a PEM file: the armour stripped and the body base64-decoded.
pub(crate) fn der(name: &str) -> Vec<u8> {
    let text = String::from_utf8(pem(name)).expect("PEM is ASCII");
    let body: String = text
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    STANDARD.decode(body).expect("PEM body is base64")
}

pub(crate) fn ed25519() -> Ed25519KeyPair {
    Ed25519KeyPair::from_pkcs8(&der("ed25519.pem")).expect("Ed25519 PKCS#8")
}

pub(crate) fn es256() -> EcdsaKeyPair {
    EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der("es256.pem"))
        .expect("P-256 PKCS#8")
}

pub(crate) fn rsa() -> RsaKeyPair {
    RsaKeyPair::from_pkcs8(&der("rs256.pem")).expect("RSA PKCS#8")
}

/// How the third segment of a crafted token is made.
pub(crate) enum Signer<'a> {
    /// No signature at all: the token ends in a dot.
    Empty,
    /// These bytes, base64url-encoded, whatever they are.
    Raw(Vec<u8>),
    /// HMAC under `key` with the given hash.
    Hmac(hmac::Algorithm, &'a [u8]),
    Ed25519(&'a Ed25519KeyPair),
    /// ES256 (fixed-length `r || s`).
    Ecdsa(&'a EcdsaKeyPair),
    /// RS256/RS384/RS512 or PS256/PS384/PS512, by encoding.
    Rsa(&'static dyn RsaEncoding, &'a RsaKeyPair),
}

/// The signature `signer` makes over `message` (the `header.payload` signing input).
fn sign(signer: &Signer<'_>, message: &[u8]) -> Vec<u8> {
    match signer {
        Signer::Empty => Vec::new(),
        Signer::Raw(bytes) => bytes.clone(),
        Signer::Hmac(algorithm, key) => {
            let key = hmac::Key::new(*algorithm, key);
            hmac::sign(&key, message).as_ref().to_vec()
        }
        Signer::Ed25519(key) => key.sign(message).as_ref().to_vec(),
        Signer::Ecdsa(key) => key
            .sign(&SystemRandom::new(), message)
            .expect("ECDSA signing")
            .as_ref()
            .to_vec(),
        Signer::Rsa(encoding, key) => {
            let mut signature = vec![0; key.public_modulus_len()];
            key.sign(*encoding, &SystemRandom::new(), message, &mut signature)
                .expect("RSA signing");
            signature
        }
    }
}

/// A compact JWS assembled by hand: `b64(header).b64(payload).b64(signature)`.
#[expect(
    clippy::needless_pass_by_value,
    reason = "the attacks read best as craft(header, claims, Signer::…)"
)]
pub(crate) fn craft(header: &str, payload: &str, signer: Signer<'_>) -> String {
    craft_bytes(header.as_bytes(), payload.as_bytes(), &signer)
}

/// A token whose signature is over the payload unencoded, as RFC 7797's `b64: false` has it,
/// but whose payload segment is base64url as usual.
pub(crate) fn craft_unencoded(header: &str, payload: &str, signer: &Signer<'_>) -> String {
    let header = B64.encode(header);
    let signature = sign(signer, format!("{header}.{payload}").as_bytes());
    format!("{header}.{}.{}", B64.encode(payload), B64.encode(signature))
}

/// [`craft`] over raw bytes, for segments that are not even UTF-8.
pub(crate) fn craft_bytes(header: &[u8], payload: &[u8], signer: &Signer<'_>) -> String {
    let message = format!("{}.{}", B64.encode(header), B64.encode(payload));
    let signature = sign(signer, message.as_bytes());
    format!("{message}.{}", B64.encode(signature))
}

/// A segment of a compact token, base64url-decoded.
pub(crate) fn segment(token: &str, index: usize) -> Vec<u8> {
    let part = token.split('.').nth(index).expect("segment");
    B64.decode(part).expect("base64url segment")
}

/// The payload of a compact token as JSON.
pub(crate) fn payload(token: &str) -> Value {
    serde_json::from_slice(&segment(token, 1)).expect("JSON payload")
}

/// A token with its signature segment replaced.
pub(crate) fn with_signature(token: &str, signature: &[u8]) -> String {
    let message = &token[..token.rfind('.').expect("three segments")];
    format!("{message}.{}", B64.encode(signature))
}

/// What came back from one request through the layer.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    /// The `WWW-Authenticate` value, if any.
    pub(crate) challenge: Option<String>,
    /// Whether the protected service ran.
    pub(crate) inner_called: bool,
    pub(crate) headers: http::HeaderMap,
}

/// The protected service: it answers `200` and counts its calls.
#[derive(Clone, Default)]
pub(crate) struct Protected(Arc<AtomicUsize>);

impl<B> Service<Request<B>> for Protected {
    type Response = Response<()>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Response<()>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Request<B>) -> Self::Future {
        self.0.fetch_add(1, Ordering::SeqCst);
        std::future::ready(Ok(Response::new(())))
    }
}

/// A layer the attacks go through, around the [`Protected`] service: this crate's, or a resource
/// server's.
pub(crate) trait Guard:
    Layer<Protected, Service: Service<Request<()>, Response = Response<()>, Error = Infallible>>
{
}

impl<L> Guard for L where
    L: Layer<Protected, Service: Service<Request<()>, Response = Response<()>, Error = Infallible>>
{
}

/// Sends one `GET /` with `headers` through `layer` around the [`Protected`] service.
pub(crate) async fn send(layer: &impl Guard, headers: &[(&str, &[u8])]) -> Reply {
    let protected = Protected::default();
    let mut request = Request::get("/").body(()).expect("request");
    for (name, value) in headers {
        let name = http::HeaderName::from_bytes(name.as_bytes()).expect("header name");
        let value = http::HeaderValue::from_bytes(value).expect("header value");
        request.headers_mut().append(name, value);
    }
    let response = layer
        .layer(protected.clone())
        .oneshot(request)
        .await
        .expect("infallible");
    Reply {
        status: response.status(),
        challenge: response
            .headers()
            .get(WWW_AUTHENTICATE)
            .map(|v| v.to_str().expect("ASCII challenge").to_owned()),
        inner_called: protected.0.load(Ordering::SeqCst) > 0,
        headers: response.headers().clone(),
    }
}

/// Sends `token` as `Authorization: Bearer`.
pub(crate) async fn bearer(layer: &impl Guard, token: &str) -> Reply {
    let value = format!("Bearer {token}");
    send(layer, &[("authorization", value.as_bytes())]).await
}

/// Sends `token` alone in the refresh header.
pub(crate) async fn refresh(layer: &impl Guard, token: &str) -> Reply {
    send(layer, &[("x-refresh-token", token.as_bytes())]).await
}

/// The exact challenge of an `invalid_token` refusal.
pub(crate) fn invalid_token(description: &str) -> String {
    format!(r#"Bearer error="invalid_token", error_description="{description}""#)
}

/// The exact challenge of an `invalid_request` refusal.
pub(crate) fn invalid_request(description: &str) -> String {
    format!(r#"Bearer error="invalid_request", error_description="{description}""#)
}

/// Asserts a refusal: the status, the exact challenge, and that the protected service never ran.
#[track_caller]
pub(crate) fn assert_refused(reply: &Reply, status: u16, challenge: &str) {
    assert_eq!(reply.status.as_u16(), status, "{reply:?}");
    assert_eq!(reply.challenge.as_deref(), Some(challenge), "{reply:?}");
    assert!(!reply.inner_called, "the protected service ran: {reply:?}");
}

/// Asserts that the request reached the protected service.
#[track_caller]
pub(crate) fn assert_served(reply: &Reply) {
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert!(reply.inner_called, "{reply:?}");
}
