//! Verifying a token: one path for every key, so every token's claims are read the same way.
//!
//! In order: the length and shape of the token; the header, compared byte for byte with the one
//! this crate mints for an HMAC key, or else parsed and held to [`Header::verify`] (the rules
//! every path shares: no critical extension, the `typ`, the key its `kid` names and that key's
//! algorithm); the signature, in constant time; and only then the claims, parsed once by
//! [`Policy::claims`], whatever key signed them, and held to the [`rules`] every path shares.
//! An access token whose exact bytes verified under a public key of the key set in use skips
//! the header and signature checks (see [`VerifiedCache`](super::verified_cache)), never the
//! claims'.
//! Nothing of the payload is read before the signature holds, and no error repeats the token's
//! text: each names the defect in this crate's words.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::DecodingKey;
use jsonwebtoken::errors::ErrorKind as JwtErrorKind;

use super::codec::{CompiledKey, CompiledSet, Policy, TokenCodec, Verified};
use super::header::{Header, KeyLookup, TypRule};
use super::mac::HmacKey;
use super::payload::{self, Payload, ReadError};
use super::rules::{self, Pinned};
use super::verified_cache::{Entry, TokenDigest};
use super::{Algorithm, Claims, CustomClaims, TokenKind};
use crate::error::{AuthError, AuthErrorKind};

fn reject(kind: AuthErrorKind, token: TokenKind) -> AuthError {
    AuthError::token(kind, token)
}

fn malformed(token: TokenKind, defect: &'static str) -> AuthError {
    reject(AuthErrorKind::Malformed, token).because(defect)
}

/// The token split at its last dot, if it has exactly two: (`header.payload`, `signature`).
pub(crate) fn split(token: &str) -> Option<(&str, &str)> {
    let bytes = token.as_bytes();
    let first = memchr::memchr(b'.', bytes)?;
    let second = first + 1 + memchr::memchr(b'.', &bytes[first + 1..])?;
    if memchr::memchr(b'.', &bytes[second + 1..]).is_some() {
        return None;
    }
    Some((&token[..second], &token[second + 1..]))
}

impl TokenCodec {
    /// Verifies a token of `kind`: everything but its time window, which the
    /// [`Engine`](crate::engine::Engine) checks at the time it reads once the signature holds.
    pub(crate) fn verify<C: CustomClaims>(
        &self,
        kind: TokenKind,
        token: &str,
    ) -> Result<Claims<C>, AuthError> {
        let policy = &self.policy;
        // Refuse oversized input before spending any work on it.
        if token.len() > policy.max_token_len {
            return Err(malformed(kind, "longer than the configured maximum"));
        }
        let (message, signature) =
            split(token).ok_or_else(|| malformed(kind, "not three dot-separated segments"))?;
        let set = self.keys.load();
        let minted = set.keys.iter().find_map(|key| {
            let (mac, absorbed) = key.minted_mac(kind)?;
            let payload = key.minted_header(kind, message)?;
            // The header matched, so the absorbed bytes are its first ones.
            Some((mac, message.get(absorbed..)?, payload))
        });
        let mut uncached = None;
        let payload = match minted {
            // Every token this crate minted with an HMAC key: its header needs no parsing, and
            // the key has absorbed it already. An HMAC costs less than a cache lookup.
            Some((mac, unabsorbed, payload)) => {
                verify_hmac(mac, kind, unabsorbed, signature)?;
                payload
            }
            None if kind == TokenKind::Access && set.asymmetric && self.verified.is_on() => {
                let digest = TokenDigest::of(token);
                let now = self.verified.clock.now();
                // The header and the signature of these exact bytes held under this key set, so
                // they hold again; the claims below are read and checked as on every path.
                if self
                    .verified
                    .cache
                    .get(&digest, now, |()| Some(set.epoch))
                    .is_some()
                {
                    payload_segment(kind, message)?
                } else {
                    uncached = Some((digest, now));
                    verify_parsed(&set, kind, message, signature)?
                }
            }
            None => verify_parsed(&set, kind, message, signature)?,
        };
        // Typical payloads decode into a small stack buffer (zeroing it is part of the cost of
        // every token), larger ones into a larger one; only unusual ones allocate.
        let claims = match payload.len() {
            0..=512 => policy.claims_of::<C, 384>(kind, payload),
            513..=1360 => policy.claims_of::<C, 1020>(kind, payload),
            _ => {
                let mut json = URL_SAFE_NO_PAD
                    .decode(payload)
                    .map_err(|_| malformed(kind, "the payload is not base64url"))?;
                policy.claims(kind, &mut json)
            }
        }?;
        if let Some((digest, now)) = uncached {
            self.verified.remember(digest, set.epoch, &claims, now);
        }
        Ok(claims)
    }
}

impl Verified {
    fn is_on(&self) -> bool {
        self.cache.is_on()
    }

    /// Records a token whose signature and claims held under the key set `epoch`, if it is
    /// inside its time window at `now`: a token the engine is about to refuse is not kept.
    fn remember<C>(&self, digest: TokenDigest, epoch: u64, claims: &Claims<C>, now: u64) {
        if self.window.check(claims.exp, claims.nbf, now).is_ok() {
            let entry = Entry {
                epoch,
                expires_at: claims.exp.saturating_add(self.leeway),
                value: (),
            };
            self.cache.insert(digest, entry, now);
        }
    }
}

/// The payload segment of `message` (`header.payload`).
fn payload_segment(kind: TokenKind, message: &str) -> Result<&str, AuthError> {
    message
        .split_once('.')
        .map(|(_, payload)| payload)
        .ok_or_else(|| malformed(kind, "not three dot-separated segments"))
}

/// The HMAC tag `key` gives `message` (what it has not absorbed yet), compared in constant
/// time; a truncated tag is refused.
fn verify_hmac(
    key: &HmacKey,
    kind: TokenKind,
    message: &str,
    signature: &str,
) -> Result<(), AuthError> {
    let mut tag = [0u8; 64];
    let tag_len = URL_SAFE_NO_PAD
        .decode_slice(signature, &mut tag)
        .map_err(|e| match e {
            base64::DecodeSliceError::OutputSliceTooSmall => {
                reject(AuthErrorKind::InvalidSignature, kind)
            }
            base64::DecodeSliceError::DecodeError(_) => {
                malformed(kind, "the signature is not base64url")
            }
        })?;
    match key.verify(message.as_bytes(), &tag[..tag_len]) {
        true => Ok(()),
        false => Err(reject(AuthErrorKind::InvalidSignature, kind)),
    }
}

/// A token whose header is not byte for byte one this crate mints: the header is parsed and
/// held to [`Header::verify`], which checks the signature too. Returns the payload segment once
/// it holds.
fn verify_parsed<'t>(
    set: &CompiledSet,
    kind: TokenKind,
    message: &'t str,
    signature: &str,
) -> Result<&'t str, AuthError> {
    let (header, payload) = message
        .split_once('.')
        .ok_or_else(|| malformed(kind, "not three dot-separated segments"))?;
    Header::parse(header, kind)?.verify(TypRule::Kind(kind), set, message, signature)?;
    Ok(payload)
}

/// Whether `signature` (base64url) is `algorithm`'s signature of `message` under `public`.
pub(crate) fn verify_public(
    public: &DecodingKey,
    algorithm: Algorithm,
    kind: TokenKind,
    message: &str,
    signature: &str,
) -> Result<(), AuthError> {
    match jsonwebtoken::crypto::verify(signature, message.as_bytes(), public, algorithm) {
        Ok(true) => Ok(()),
        Err(e) if matches!(e.kind(), JwtErrorKind::Base64(_)) => {
            Err(malformed(kind, "the signature is not base64url"))
        }
        Ok(false) | Err(_) => Err(reject(AuthErrorKind::InvalidSignature, kind)),
    }
}

impl KeyLookup for CompiledSet {
    type Key = CompiledKey;

    fn lookup(&self, kid: Option<&str>) -> Option<&CompiledKey> {
        match self.keys.as_slice() {
            // One key: nothing to select, so its signature check speaks first; the kid must
            // still name it.
            [only] => Some(only),
            keys => keys.iter().find(|key| Self::is_named(key, kid)),
        }
    }

    fn algorithm(key: &CompiledKey) -> Algorithm {
        key.keys.algorithm()
    }

    fn is_named(key: &CompiledKey, kid: Option<&str>) -> bool {
        kid == Some(key.keys.kid())
    }

    fn verify(
        key: &CompiledKey,
        token: TokenKind,
        message: &str,
        signature: &str,
    ) -> Result<(), AuthError> {
        match (key.keys.hmac_key(), key.keys.decoding()) {
            (Some(hmac), _) => verify_hmac(hmac, token, message, signature),
            (None, Some(public)) => {
                verify_public(public, key.keys.algorithm(), token, message, signature)
            }
            (None, None) => Err(reject(AuthErrorKind::InvalidSignature, token)),
        }
    }
}

impl Policy {
    /// [`claims`](Self::claims) of a base64url payload that decodes into `N` bytes on the stack.
    fn claims_of<C: CustomClaims, const N: usize>(
        &self,
        kind: TokenKind,
        payload: &str,
    ) -> Result<Claims<C>, AuthError> {
        let mut buf = [0u8; N];
        let len = URL_SAFE_NO_PAD
            .decode_slice(payload, &mut buf)
            .map_err(|_| malformed(kind, "the payload is not base64url"))?;
        self.claims(kind, &mut buf[..len])
    }

    /// The claims of a verified payload, with `iss` and `aud` checked as configured. Every
    /// claim this crate writes or validates is consumed here, so the application's claims never
    /// receive one, whatever their type and whichever key signed the token.
    fn claims<C: CustomClaims>(
        &self,
        kind: TokenKind,
        json: &mut [u8],
    ) -> Result<Claims<C>, AuthError> {
        let payload: Payload<'_, C> = payload::read(json).map_err(|e| {
            malformed(
                kind,
                match e {
                    ReadError::Text(defect) => defect.describe(),
                    ReadError::Json(e) if e.classify() == serde_json::error::Category::Data => {
                        "a claim is missing, repeated or of the wrong type"
                    }
                    ReadError::Json(_) => "the payload is not a JSON object",
                },
            )
        })?;
        rules::require(Pinned::Issuer, self.issuer.as_slice(), payload.iss.values())
            .and_then(|()| {
                rules::require(
                    Pinned::Audience,
                    self.audience.as_slice(),
                    payload.aud.values(),
                )
            })
            .map_err(|e| e.concerning(kind))?;
        Ok(Claims {
            sub: payload.sub,
            sid: payload.sid,
            jti: payload.jti,
            iat: payload.iat,
            exp: payload.exp,
            nbf: payload.nbf,
            custom: payload.custom,
        })
    }
}
