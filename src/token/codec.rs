//! [`TokenCodec`]: signing and verifying a session's tokens under one set of rules.
//!
//! It holds the key set, compiled (each key with the headers it mints) and swapped atomically,
//! and the [`Policy`] every token is verified under. Minting is in [`mint`](super::mint),
//! verification ([`TokenCodec::verify`]) in [`verify`](super::verify); the time window, which
//! needs a clock, is the [`Engine`](crate::engine::Engine)'s to check.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arc_swap::ArcSwap;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Header;

use super::mac::HmacKey;
use super::rules::TimeWindow;
use super::verified_cache::VerifiedCache;
use super::{Claims, CustomClaims, JwtKeys, KeySet, TokenKind, mint};
use crate::clock::{Clock, SystemClock};
use crate::error::{AuthError, AuthErrorKind};

/// One key, ready for use: the headers it mints, as values and as base64url segments.
#[derive(Debug)]
pub(super) struct CompiledKey {
    pub(super) keys: JwtKeys,
    header: [Header; 2],
    /// The base64url header segment of each kind, as minted; for an HMAC key, the whole header
    /// check of every token it minted.
    header_segment: [String; 2],
    /// For an HMAC key, the key with the whole blocks of each kind's `header_segment.`
    /// absorbed, and their length.
    minted_mac: Option<[(HmacKey, usize); 2]>,
}

impl CompiledKey {
    fn new(keys: JwtKeys) -> Self {
        let header = |kind: TokenKind| {
            let mut header = Header::new(keys.algorithm());
            header.typ = Some(kind.typ().to_owned());
            header.kid = Some(keys.kid().to_owned());
            header
        };
        let header = [header(TokenKind::Access), header(TokenKind::Refresh)];
        let header_segment = header.clone().map(|h| {
            // A Header always serialises; an empty segment would simply never match.
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&h).unwrap_or_default())
        });
        let minted_mac = keys.hmac_key().map(|mac| {
            header_segment
                .each_ref()
                .map(|segment| mac.absorbed(format!("{segment}.").as_bytes()))
        });
        Self {
            keys,
            header,
            header_segment,
            minted_mac,
        }
    }

    pub(super) fn header(&self, kind: TokenKind) -> &Header {
        &self.header[kind as usize]
    }

    pub(super) fn header_segment(&self, kind: TokenKind) -> &str {
        &self.header_segment[kind as usize]
    }

    /// The payload segment of `message` (`header.payload`), if its header segment is exactly
    /// the one minted for `kind`.
    pub(super) fn minted_header<'t>(&self, kind: TokenKind, message: &'t str) -> Option<&'t str> {
        message
            .strip_prefix(self.header_segment(kind))?
            .strip_prefix('.')
    }

    /// For an HMAC key, the key that signs a token of `kind` minted with its header from the
    /// returned offset on: the start of the header is absorbed already.
    pub(super) fn minted_mac(&self, kind: TokenKind) -> Option<(&HmacKey, usize)> {
        self.minted_mac
            .as_ref()
            .map(|macs| (&macs[kind as usize].0, macs[kind as usize].1))
    }
}

/// A [`KeySet`], compiled.
#[derive(Debug)]
pub(super) struct CompiledSet {
    pub(super) keys: Vec<CompiledKey>,
    active: Option<usize>,
    /// Unique to this set among those the codec compiled: a verified-token cache entry of
    /// another set is stale.
    pub(super) epoch: u64,
    /// Whether a key of the set verifies signatures with a public key (the ones worth caching).
    pub(super) asymmetric: bool,
}

/// What every token must satisfy beyond its signature and time window.
#[derive(Debug)]
pub(super) struct Policy {
    pub(super) issuer: Option<String>,
    pub(super) audience: Option<String>,
    pub(super) max_token_len: usize,
}

/// Signs and verifies the session's tokens under one set of rules.
#[derive(Debug)]
pub(crate) struct TokenCodec {
    pub(super) keys: ArcSwap<CompiledSet>,
    source: ArcSwap<KeySet>,
    pub(super) policy: Policy,
    /// The last epoch given to a compiled set.
    epochs: AtomicU64,
    pub(super) verified: Verified,
}

/// The access tokens that verified under a public key, and what decides how long each counts:
/// entries are inserted only inside the time window the engine checks, and die with it.
#[derive(Debug)]
pub(super) struct Verified {
    pub(super) cache: VerifiedCache<()>,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) window: TimeWindow,
    pub(super) leeway: u64,
}

impl TokenCodec {
    pub(crate) fn new(
        keys: KeySet,
        issuer: Option<String>,
        audience: Option<String>,
        max_token_len: usize,
    ) -> Self {
        let codec = Self {
            keys: ArcSwap::from_pointee(CompiledSet {
                keys: Vec::new(),
                active: None,
                epoch: 0,
                asymmetric: false,
            }),
            source: ArcSwap::from_pointee(KeySet::verify_only()),
            policy: Policy {
                issuer,
                audience,
                max_token_len,
            },
            epochs: AtomicU64::new(0),
            verified: Verified {
                cache: VerifiedCache::new(0),
                clock: Arc::new(SystemClock),
                window: TimeWindow::new(0),
                leeway: 0,
            },
        };
        codec.set_keys(keys);
        codec
    }

    /// Keeps up to `capacity` access tokens that verified under a public key, so that the same
    /// token is not verified again while it lives by `window` (whose leeway is `leeway`
    /// seconds) on `clock`; 0 keeps none.
    pub(crate) fn with_verified_cache(
        mut self,
        capacity: usize,
        clock: Arc<dyn Clock>,
        window: TimeWindow,
        leeway: u64,
    ) -> Self {
        self.verified = Verified {
            cache: VerifiedCache::new(capacity),
            clock,
            window,
            leeway,
        };
        self
    }

    /// The number of tokens in the verified-token cache.
    #[cfg(any(test, feature = "test-util"))]
    pub(crate) fn verified_tokens(&self) -> usize {
        self.verified.cache.len()
    }

    /// Swaps the key set in; requests already past key selection finish with the old one. The
    /// new set's epoch leaves every verified-token cache entry of the old one stale.
    pub(crate) fn set_keys(&self, set: KeySet) {
        let compiled = CompiledSet {
            keys: set.iter().cloned().map(CompiledKey::new).collect(),
            active: set
                .active()
                .and_then(|a| set.iter().position(|k| k.kid() == a.kid())),
            epoch: self.epochs.fetch_add(1, Ordering::Relaxed) + 1,
            asymmetric: set.iter().any(|k| k.decoding().is_some()),
        };
        self.keys.store(Arc::new(compiled));
        self.source.store(Arc::new(set));
    }

    pub(crate) fn keys(&self) -> Arc<KeySet> {
        self.source.load_full()
    }

    pub(crate) fn can_sign(&self) -> bool {
        self.keys.load().active.is_some()
    }

    /// A signed token of `kind` carrying `claims`, under the active key.
    pub(crate) fn encode<C: CustomClaims>(
        &self,
        kind: TokenKind,
        claims: &Claims<C>,
    ) -> Result<String, AuthError> {
        let set = self.keys.load();
        let key = set
            .active
            .map(|i| &set.keys[i])
            .ok_or_else(|| AuthError::new(AuthErrorKind::Internal).because("no signing key"))?;
        mint::mint(key, &self.policy, kind, claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::{SessionId, TokenId};
    use crate::store::TokenStamp;
    use crate::token::rules::TimeWindow;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    impl TokenCodec {
        /// Verifies `token` and its time window at `now`, as the engine does, with no leeway.
        fn decode<C: CustomClaims>(
            &self,
            kind: TokenKind,
            token: &str,
            now: u64,
        ) -> Result<Claims<C>, AuthError> {
            let claims: Claims<C> = self.verify(kind, token)?;
            TimeWindow::new(0)
                .check(claims.exp, claims.nbf, now)
                .map_err(|e| e.concerning(kind))?;
            Ok(claims)
        }

        /// An access token verified at `now` within `window`.
        fn decode_within(
            &self,
            window: TimeWindow,
            token: &str,
            now: u64,
        ) -> Result<Claims<()>, AuthError> {
            let claims: Claims<()> = self.verify(TokenKind::Access, token)?;
            window.check(claims.exp, claims.nbf, now)?;
            Ok(claims)
        }
    }

    fn codec() -> TokenCodec {
        TokenCodec::new(
            KeySet::signing(JwtKeys::hs256(SECRET).unwrap()),
            None,
            None,
            8192,
        )
    }

    fn claims(exp: u64) -> Claims<()> {
        let stamp = TokenStamp {
            jti: TokenId::from_bytes([1; 16]),
            iat: 100,
            exp,
        };
        Claims::new("alice".into(), SessionId::from_bytes([2; 16]), stamp, ())
    }

    /// The verified-token cache keeps access tokens that verified under a public key and
    /// inside their time window; never a refresh token, an HMAC token, or one the engine is
    /// about to refuse as expired; and a hit still reads and checks the claims.
    #[test]
    fn only_live_access_tokens_under_a_public_key_are_remembered() {
        use crate::clock::ManualClock;
        let pem = |name: &str| {
            std::fs::read(format!("{}/tests/keys/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
        };
        let ed = JwtKeys::from_pem(
            jsonwebtoken::Algorithm::EdDSA,
            &pem("ed25519.pem"),
            &pem("ed25519.pub.pem"),
        )
        .unwrap();
        let clock = ManualClock::new(150);
        let cached = |keys: JwtKeys, audience: Option<&str>| {
            TokenCodec::new(
                KeySet::signing(keys),
                None,
                audience.map(str::to_owned),
                8192,
            )
            .with_verified_cache(8, Arc::new(clock.clone()), TimeWindow::new(0), 0)
        };
        let codec = cached(ed.clone(), None);
        let refresh = codec.encode(TokenKind::Refresh, &claims(200)).unwrap();
        let _: Claims<()> = codec.verify(TokenKind::Refresh, &refresh).unwrap();
        assert_eq!(codec.verified_tokens(), 0, "a refresh token");
        let expired = codec.encode(TokenKind::Access, &claims(150)).unwrap();
        let _: Claims<()> = codec.verify(TokenKind::Access, &expired).unwrap();
        assert_eq!(codec.verified_tokens(), 0, "an expired access token");
        let access = codec.encode(TokenKind::Access, &claims(200)).unwrap();
        for _ in 0..2 {
            let back: Claims<()> = codec.verify(TokenKind::Access, &access).unwrap();
            assert_eq!(back, claims(200));
            assert_eq!(codec.verified_tokens(), 1);
        }
        // The same verifier with an audience pinned refuses the token, cached or not.
        let pinned = cached(ed, Some("api"));
        let refused = pinned.verify::<()>(TokenKind::Access, &access).unwrap_err();
        assert_eq!(refused.kind(), AuthErrorKind::InvalidClaims);
        assert_eq!(pinned.verified_tokens(), 0);
        let hmac = cached(JwtKeys::hs256(SECRET).unwrap(), None);
        let token = hmac.encode(TokenKind::Access, &claims(200)).unwrap();
        let _: Claims<()> = hmac.verify(TokenKind::Access, &token).unwrap();
        assert_eq!(hmac.verified_tokens(), 0, "an HMAC token");
    }

    /// The minted path hashes part of the header once per key; every tag must still be the
    /// HMAC of the whole `header.payload`, for each hash's block size.
    #[test]
    fn minted_tags_are_the_hmac_of_the_whole_message() {
        use aws_lc_rs::hmac;
        use jsonwebtoken::Algorithm;
        let secret = [7u8; 64];
        for (algorithm, reference) in [
            (Algorithm::HS256, hmac::HMAC_SHA256),
            (Algorithm::HS384, hmac::HMAC_SHA384),
            (Algorithm::HS512, hmac::HMAC_SHA512),
        ] {
            let keys = JwtKeys::hmac(algorithm, &secret).unwrap();
            let codec = TokenCodec::new(KeySet::signing(keys), None, None, 8192);
            for kind in [TokenKind::Access, TokenKind::Refresh] {
                let token = codec.encode(kind, &claims(200)).unwrap();
                let (message, tag) = token.rsplit_once('.').unwrap();
                let expected = hmac::sign(&hmac::Key::new(reference, &secret), message.as_bytes());
                assert_eq!(URL_SAFE_NO_PAD.decode(tag).unwrap(), expected.as_ref());
                let back: Claims<()> = codec.decode(kind, &token, 150).unwrap();
                assert_eq!(back, claims(200), "{algorithm:?} {kind:?}");
            }
        }
    }

    /// A payload naming a member twice, at any depth, is malformed whatever the application's
    /// claims would keep of it: the rule every path holds payloads to.
    #[test]
    fn a_member_named_twice_among_the_application_claims_is_malformed() {
        use aws_lc_rs::hmac;
        type Map = std::collections::BTreeMap<String, serde_json::Value>;
        let codec = codec();
        let token = codec.encode(TokenKind::Access, &claims(200)).unwrap();
        let (header, rest) = token.split_once('.').unwrap();
        let payload = URL_SAFE_NO_PAD.decode(rest.split_once('.').unwrap().0);
        let json = String::from_utf8(payload.unwrap()).unwrap();
        // The minted payload with `members` after its claims, signed with the codec's key.
        let with = |members: &str| {
            let json = format!("{},{members}}}", json.strip_suffix('}').unwrap());
            let message = format!("{header}.{}", URL_SAFE_NO_PAD.encode(json));
            let tag = hmac::sign(
                &hmac::Key::new(hmac::HMAC_SHA256, SECRET),
                message.as_bytes(),
            );
            format!("{message}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
        };
        for members in [
            r#""role":"user","role":"admin""#,
            r#""realm":{"roles":["user"],"roles":["admin"]}"#,
            r#""groups":[{"name":"ops","name":"admin"}]"#,
        ] {
            let token = with(members);
            let unit = codec.decode::<()>(TokenKind::Access, &token, 150);
            assert_eq!(
                unit.unwrap_err().kind(),
                AuthErrorKind::Malformed,
                "{members}"
            );
            let map = codec.decode::<Map>(TokenKind::Access, &token, 150);
            assert_eq!(
                map.unwrap_err().kind(),
                AuthErrorKind::Malformed,
                "{members}"
            );
        }
        // Each named once, the same claims are read.
        let once: Claims<Map> = codec
            .decode(TokenKind::Access, &with(r#""role":"user""#), 150)
            .unwrap();
        assert_eq!(once.custom()["role"], "user");
    }

    #[test]
    fn round_trips_and_enforces_type() {
        let codec = codec();
        let token = codec.encode(TokenKind::Access, &claims(200)).unwrap();
        let back: Claims<()> = codec.decode(TokenKind::Access, &token, 150).unwrap();
        assert_eq!(back, claims(200));
        let err = codec
            .decode::<()>(TokenKind::Refresh, &token, 150)
            .unwrap_err();
        assert_eq!(err.kind(), AuthErrorKind::WrongTokenType);
    }

    #[test]
    fn expiry_uses_the_given_time_and_leeway() {
        let codec = codec();
        let token = codec.encode(TokenKind::Access, &claims(200)).unwrap();
        assert!(codec.decode::<()>(TokenKind::Access, &token, 199).is_ok());
        let err = codec
            .decode::<()>(TokenKind::Access, &token, 200)
            .unwrap_err();
        assert_eq!(err.kind(), AuthErrorKind::Expired);
        let lenient = TimeWindow::new(5);
        assert!(codec.decode_within(lenient, &token, 204).is_ok());
        assert!(codec.decode_within(lenient, &token, 205).is_err());
    }

    #[test]
    fn issuer_and_audience_are_required_when_configured() {
        let plain = codec().encode(TokenKind::Access, &claims(200)).unwrap();
        let strict = TokenCodec::new(
            KeySet::signing(JwtKeys::hs256(SECRET).unwrap()),
            Some("issuer".into()),
            Some("api".into()),
            8192,
        );
        let err = strict
            .decode::<()>(TokenKind::Access, &plain, 150)
            .unwrap_err();
        assert_eq!(err.kind(), AuthErrorKind::InvalidClaims);
        let token = strict.encode(TokenKind::Access, &claims(200)).unwrap();
        assert!(strict.decode::<()>(TokenKind::Access, &token, 150).is_ok());
    }

    #[test]
    fn oversized_and_odd_tokens_are_malformed() {
        let codec = TokenCodec::new(
            KeySet::signing(JwtKeys::hs256(SECRET).unwrap()),
            None,
            None,
            64,
        );
        for token in ["a".repeat(65), "a.b".into(), "a.b.c.d".into(), "..".into()] {
            let err = codec
                .decode::<()>(TokenKind::Access, &token, 0)
                .unwrap_err();
            assert_eq!(err.kind(), AuthErrorKind::Malformed, "{token}");
        }
    }

    #[test]
    fn rotation_keeps_retired_keys_verifying_and_never_falls_back() {
        let old = JwtKeys::hs256(SECRET).unwrap();
        let new = JwtKeys::hs256(b"fedcba9876543210fedcba9876543210").unwrap();
        let codec = TokenCodec::new(KeySet::signing(old.clone()), None, None, 8192);
        let old_token = codec.encode(TokenKind::Access, &claims(200)).unwrap();

        let rotated = KeySet::signing(new.clone()).with_verify_key(old).unwrap();
        codec.set_keys(rotated);
        let new_token = codec.encode(TokenKind::Access, &claims(200)).unwrap();
        assert_ne!(old_token, new_token);
        for token in [&old_token, &new_token] {
            assert!(codec.decode::<()>(TokenKind::Access, token, 150).is_ok());
        }

        // The old key is dropped: its tokens name a kid nobody holds, and no other key is tried.
        codec.set_keys(
            KeySet::signing(new)
                .with_verify_key(JwtKeys::hs256(b"a third secret, also 32 bytes!!!").unwrap())
                .unwrap(),
        );
        let err = codec
            .decode::<()>(TokenKind::Access, &old_token, 150)
            .unwrap_err();
        assert_eq!(err.kind(), AuthErrorKind::UnknownKey);
    }

    #[test]
    fn a_verify_only_set_cannot_mint() {
        let public = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/keys/ed25519.pub.pem"
        ));
        let keys =
            JwtKeys::verify_only_pem(jsonwebtoken::Algorithm::EdDSA, &public.unwrap()).unwrap();
        let codec = TokenCodec::new(KeySet::signing(keys), None, None, 8192);
        assert!(!codec.can_sign());
        let err = codec.encode(TokenKind::Access, &claims(200)).unwrap_err();
        assert_eq!(err.kind(), AuthErrorKind::Internal);
    }
}
