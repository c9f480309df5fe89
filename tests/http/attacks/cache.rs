//! Attacks on the verified-token cache, which both asymmetric verifiers keep on by default: a
//! token whose exact bytes verified is not verified again. Each test first has the genuine
//! token served twice (the second time from the cache), so a refusal after it is the cache's
//! rules holding: another token is another entry, an entry dies with its key and with its token,
//! and a token that did not verify never enters.

use std::convert::Infallible;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use http::{Request, Response};
use http_body_util::{Empty, Full};
use hyper::body::Bytes;
use tower::service_fn;
use tower_jwt_auth::oidc::{HttpClient, Issuer, RemoteKeys, ResourceServer};
use tower_jwt_auth::store::MemoryStore;
use tower_jwt_auth::{Algorithm, JwtKeys, JwtSessions, KeySet};

use super::harness::{
    Signer, assert_refused, assert_served, bearer, craft, invalid_token, pem, segment,
    with_signature,
};
use super::{AUDIENCE, BAD_SIGNATURE, ISSUER, Target, UNKNOWN_KEY, issuer_and_verifier};
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, RSA_PKCS1_SHA256};

const EXPIRED: &str = "the access token expired";

/// The key files of each asymmetric algorithm, and for each a key file of another algorithm,
/// the key it is replaced with.
const ALGORITHMS: [(Algorithm, &str, Algorithm, &str); 3] = [
    (Algorithm::EdDSA, "ed25519", Algorithm::ES256, "es256"),
    (Algorithm::ES256, "es256", Algorithm::RS256, "rs256"),
    (Algorithm::RS256, "rs256", Algorithm::EdDSA, "ed25519"),
];

/// An issuer's live session, and the two verifiers holding only its public key, each with its
/// cache on (the default): this crate's own, verify-only, on the issuer's store; and a resource
/// server whose keys are fetched from a JWK Set it can be made to change.
struct Cached {
    alg: Algorithm,
    issuer: Target,
    own: JwtSessions,
    server: ResourceServer,
    keys: RemoteKeys,
    /// The JWK Set document the resource server fetches.
    document: Arc<Mutex<Vec<u8>>>,
}

impl Cached {
    async fn new(alg: Algorithm, file: &str) -> Self {
        let (issuer, own, clock) = issuer_and_verifier(alg, file).await;
        let document = Arc::new(Mutex::new(
            serde_json::to_vec(&issuer.sessions.jwks()).expect("JWKS"),
        ));
        let served = Arc::clone(&document);
        let provider = service_fn(move |_: Request<Empty<Bytes>>| {
            let body = served
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            std::future::ready(Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(
                body,
            )))))
        });
        let keys = RemoteKeys::jwks("https://issuer.example/jwks")
            .http_client(HttpClient::new(provider))
            .require_at_start(true)
            .build()
            .await
            .expect("fetched keys");
        let server = ResourceServer::builder()
            .issuer(Issuer::new(ISSUER, keys.clone()).audience(AUDIENCE))
            .clock(clock)
            .build()
            .expect("resource server");
        Self {
            alg,
            issuer,
            own,
            server,
            keys,
            document,
        }
    }

    fn genuine(&self) -> &str {
        self.issuer.pair.access_token()
    }

    /// Both verifiers answer `token` with this refusal.
    async fn both_refuse(&self, token: &str, description: &str) {
        let expected = invalid_token(description);
        for reply in [
            bearer(&self.own.layer(), token).await,
            bearer(&self.server.layer(), token).await,
        ] {
            assert_refused(&reply, 401, &expected);
        }
    }

    /// Both verifiers serve `token`.
    async fn both_serve(&self, token: &str) {
        assert_served(&bearer(&self.own.layer(), token).await);
        assert_served(&bearer(&self.server.layer(), token).await);
    }

    /// The genuine token, served twice by both: verified, then found in the cache.
    async fn cache_the_genuine_token(&self) {
        for _ in 0..2 {
            self.both_serve(self.genuine()).await;
        }
        self.assert_cached(1);
    }

    #[track_caller]
    fn assert_cached(&self, tokens: usize) {
        assert_eq!(
            (
                self.own.verified_token_cache_len(),
                self.server.verified_token_cache_len()
            ),
            (tokens, tokens),
            "{:?}: tokens in the caches of this crate's layer and the resource server",
            self.alg
        );
    }

    /// The JWK Set the resource server fetches from now on is `set`'s; it fetches it at once.
    async fn publish(&self, set: &KeySet) {
        let document = serde_json::to_vec(&set.jwks()).expect("JWKS");
        *self.document.lock().unwrap_or_else(PoisonError::into_inner) = document;
        self.keys.refresh().await.expect("fetch");
    }
}

fn verify_only(alg: Algorithm, file: &str) -> KeySet {
    let public = pem(&format!("{file}.pub.pem"));
    KeySet::verify_only()
        .with_verify_key(JwtKeys::verify_only_pem(alg, &public).expect("public key"))
        .expect("one key")
}

/// The genuine token's header and payload with another signature: each byte of the genuine one
/// altered in turn, and one by another key of the same algorithm. None is the cached entry,
/// every one is verified and refused, and none enters the cache; the genuine token is still
/// served from it after.
#[tokio::test]
async fn attack_cache_forged_signature_after_a_cached_genuine_token() {
    for (alg, file, ..) in ALGORITHMS {
        let v = Cached::new(alg, file).await;
        v.cache_the_genuine_token().await;
        let genuine = v.genuine().to_owned();
        let signature = segment(&genuine, 2);
        let mut forged: Vec<String> = (0..signature.len())
            .step_by(3)
            .map(|at| {
                let mut altered = signature.clone();
                altered[at] ^= 0x01;
                with_signature(&genuine, &altered)
            })
            .collect();
        let (header, payload) = (segment(&genuine, 0), segment(&genuine, 1));
        let (header, payload) = (
            String::from_utf8(header).expect("JSON"),
            String::from_utf8(payload).expect("JSON"),
        );
        let (ed, ec, rs) = (
            aws_lc_rs::signature::Ed25519KeyPair::generate().expect("key"),
            EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).expect("key"),
            aws_lc_rs::rsa::KeySize::Rsa2048,
        );
        let rs = aws_lc_rs::signature::RsaKeyPair::generate(rs).expect("RSA key");
        let attacker = match alg {
            Algorithm::EdDSA => Signer::Ed25519(&ed),
            Algorithm::ES256 => Signer::Ecdsa(&ec),
            _ => Signer::Rsa(&RSA_PKCS1_SHA256, &rs),
        };
        forged.push(craft(&header, &payload, attacker));
        for token in &forged {
            assert_ne!(token, &genuine);
            v.both_refuse(token, BAD_SIGNATURE).await;
        }
        v.assert_cached(1);
        v.both_serve(&genuine).await;
        v.assert_cached(1);
    }
}

/// The cached token after its key left the verifier's key set: this crate's layer swapped in a
/// set without it (`set_keys`), the resource server fetched a JWK Set without it. Both refuse it
/// at the first request after, as they would a token never cached, and its entry is gone; with
/// the key back, the token is verified afresh.
#[tokio::test]
async fn attack_cache_token_after_its_key_was_withdrawn() {
    for (alg, file, other_alg, other_file) in ALGORITHMS {
        let v = Cached::new(alg, file).await;
        v.cache_the_genuine_token().await;
        let other = verify_only(other_alg, other_file);
        v.own.set_keys(other.clone());
        assert_refused(
            &bearer(&v.own.layer(), v.genuine()).await,
            401,
            &invalid_token(BAD_SIGNATURE),
        );
        v.publish(&other).await;
        assert_refused(
            &bearer(&v.server.layer(), v.genuine()).await,
            401,
            &invalid_token(UNKNOWN_KEY),
        );
        v.assert_cached(0);

        let original = verify_only(alg, file);
        v.own.set_keys(original.clone());
        v.publish(&original).await;
        v.cache_the_genuine_token().await;
    }
}

/// The cached token at its `exp`: refused by both, as expired, and evicted; one second before,
/// it was still served from the cache.
#[tokio::test]
async fn attack_cache_token_after_exp() {
    for (alg, file, ..) in ALGORITHMS {
        let v = Cached::new(alg, file).await;
        v.cache_the_genuine_token().await;
        let exp = super::payload(v.genuine())["exp"].as_u64().expect("exp");
        v.issuer.clock.set(exp - 1);
        v.both_serve(v.genuine()).await;
        v.assert_cached(1);
        v.issuer.clock.set(exp);
        v.both_refuse(v.genuine(), EXPIRED).await;
        v.assert_cached(0);
        v.issuer.clock.advance(Duration::from_secs(3600));
        v.both_refuse(v.genuine(), EXPIRED).await;
        v.assert_cached(0);
    }
}

/// With the cache off (a capacity of 0), both verifiers still serve the genuine token and keep
/// nothing.
#[tokio::test]
async fn attack_cache_off_keeps_nothing() {
    let public = pem("ed25519.pub.pem");
    let keys = JwtKeys::verify_only_pem(Algorithm::EdDSA, &public).expect("public key");
    let v = Cached::new(Algorithm::EdDSA, "ed25519").await;
    let own = JwtSessions::builder()
        .keys(keys)
        .store(
            v.issuer
                .sessions
                .store::<MemoryStore>()
                .expect("memory")
                .clone(),
        )
        .clock(v.issuer.clock.clone())
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .verified_token_cache(0)
        .build()
        .expect("configuration");
    let server = ResourceServer::builder()
        .issuer(Issuer::new(ISSUER, v.keys.clone()).audience(AUDIENCE))
        .clock(v.issuer.clock.clone())
        .verified_token_cache(0)
        .build()
        .expect("resource server");
    for _ in 0..2 {
        assert_served(&bearer(&own.layer(), v.genuine()).await);
        assert_served(&bearer(&server.layer(), v.genuine()).await);
    }
    assert_eq!(own.verified_token_cache_len(), 0);
    assert_eq!(server.verified_token_cache_len(), 0);
}
