//! [`TokenCodec`]: signing and verifying a session's tokens under one set of rules.
//!
//! Two verification paths accept exactly the same tokens. The *reference* path is
//! `jsonwebtoken::decode` plus this crate's `typ` and time checks; it handles every algorithm
//! and any header. The *fast* path serves HMAC tokens whose header is byte-for-byte the one this
//! codec mints (every token it issued): the header is compared instead of parsed, the HMAC key
//! was derived once at build time, and the payload is decoded and parsed once. A differential
//! test holds the two to the same verdicts and claims.

use std::borrow::Cow;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind as JwtErrorKind;
use jsonwebtoken::{Header, Validation};
use serde::de::{DeserializeOwned, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;
use std::fmt;
use std::sync::Arc;

use arc_swap::ArcSwap;

use super::mac::HmacKey;
use super::{Claims, CustomClaims, JwtKeys, KeySet, TokenKind};
use crate::error::{AuthError, AuthErrorKind};
use crate::id::{SessionId, TokenId};

/// The payload as minted, written by hand into one buffer: the registered claims, the configured
/// `iss`/`aud`, then the application claims merged in. (Through `#[serde(flatten)]` serde
/// serialises the whole payload as a map, a tenth of the cost of a refresh; the unit tests hold
/// this writer to exactly the bytes that derived form produces.)
fn payload_json<C: Serialize>(
    claims: &Claims<C>,
    issuer: Option<&str>,
    audience: Option<&str>,
) -> Result<Vec<u8>, serde_json::Error> {
    let mut json = Vec::with_capacity(256);
    json.extend_from_slice(b"{\"sub\":");
    serde_json::to_writer(&mut json, &claims.sub)?;
    json.extend_from_slice(b",\"sid\":");
    serde_json::to_writer(&mut json, &claims.sid)?;
    json.extend_from_slice(b",\"jti\":");
    serde_json::to_writer(&mut json, &claims.jti)?;
    json.extend_from_slice(b",\"iat\":");
    serde_json::to_writer(&mut json, &claims.iat)?;
    json.extend_from_slice(b",\"exp\":");
    serde_json::to_writer(&mut json, &claims.exp)?;
    if let Some(nbf) = claims.nbf {
        json.extend_from_slice(b",\"nbf\":");
        serde_json::to_writer(&mut json, &nbf)?;
    }
    if let Some(iss) = issuer {
        json.extend_from_slice(b",\"iss\":");
        serde_json::to_writer(&mut json, iss)?;
    }
    if let Some(aud) = audience {
        json.extend_from_slice(b",\"aud\":");
        serde_json::to_writer(&mut json, aud)?;
    }
    // The application claims as their own object, whose `{` becomes the separating comma and
    // whose `}` closes the payload; unit (or an empty map) adds nothing.
    let custom = json.len();
    serde_json::to_writer(&mut json, &claims.custom)?;
    match &json[custom..] {
        b"null" | b"{}" => {
            json.truncate(custom);
            json.push(b'}');
        }
        [b'{', ..] => json[custom] = b',',
        _ => {
            return Err(serde::ser::Error::custom(
                "application claims must serialise as a map, a struct or ()",
            ));
        }
    }
    Ok(json)
}

/// A claim read the way `jsonwebtoken` validates `iss` and `aud`: `null` counts as absent and a
/// value of the wrong type as present-but-unusable, never as a parse failure of the whole token.
/// A *syntax* error (a lone surrogate, invalid UTF-8, an out-of-range number) still fails the
/// whole token, exactly as `jsonwebtoken`'s strict parse of the same bytes does.
#[derive(Debug, Default)]
enum Lenient<'a> {
    #[default]
    Absent,
    Unusable,
    Present(OneOrMany<'a>),
}

/// A string, or an array of strings (RFC 7519 allows both for `aud`; `jsonwebtoken` for `iss`).
#[derive(Debug)]
enum OneOrMany<'a> {
    One(Cow<'a, str>),
    Many(Vec<Cow<'a, str>>),
}

impl OneOrMany<'_> {
    fn contains(&self, wanted: &str) -> bool {
        match self {
            OneOrMany::One(value) => value == wanted,
            OneOrMany::Many(values) => values.iter().any(|v| v == wanted),
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Lenient<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(LenientVisitor)
    }
}

/// Reads any JSON value strictly (every string checked, every number in range) and keeps it
/// only if it is a string or an array of strings.
struct LenientVisitor;

impl<'de> Visitor<'de> for LenientVisitor {
    type Value = Lenient<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_borrowed_str<E>(self, value: &'de str) -> Result<Self::Value, E> {
        Ok(Lenient::Present(OneOrMany::One(Cow::Borrowed(value))))
    }

    fn visit_str<E>(self, value: &str) -> Result<Self::Value, E> {
        Ok(Lenient::Present(OneOrMany::One(Cow::Owned(
            value.to_owned(),
        ))))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Lenient::Absent)
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Lenient::Absent)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Lenient::Unusable)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Lenient::Unusable)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Lenient::Unusable)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Lenient::Unusable)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut values = Vec::new();
        let mut usable = true;
        while let Some(item) = seq.next_element::<Lenient<'de>>()? {
            match item {
                Lenient::Present(OneOrMany::One(value)) if usable => values.push(value),
                _ => usable = false,
            }
        }
        Ok(if usable {
            Lenient::Present(OneOrMany::Many(values))
        } else {
            Lenient::Unusable
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<Lenient<'de>, Lenient<'de>>()?.is_some() {}
        Ok(Lenient::Unusable)
    }
}

/// What the fast path reads: [`Claims`] plus `iss` and `aud`, in one pass.
#[derive(Deserialize)]
#[serde(bound(deserialize = "C: DeserializeOwned"))]
struct Checked<'a, C> {
    sub: String,
    sid: SessionId,
    jti: TokenId,
    iat: u64,
    exp: u64,
    #[serde(default)]
    nbf: Option<u64>,
    #[serde(default, borrow)]
    iss: Lenient<'a>,
    #[serde(default, borrow)]
    aud: Lenient<'a>,
    #[serde(flatten)]
    custom: C,
}

/// One key, ready for use: the headers it mints and the validation it verifies under.
#[derive(Debug)]
struct CompiledKey {
    keys: JwtKeys,
    header: [Header; 2],
    /// The base64url header segment of each kind, as minted; the fast path's whole header check.
    header_segment: [String; 2],
    validation: Validation,
}

impl CompiledKey {
    fn new(keys: JwtKeys, issuer: Option<&str>, audience: Option<&str>) -> Self {
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
        let mut validation = Validation::new(keys.algorithm());
        // Time is checked against the injected clock, not the system clock.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.leeway = 0;
        let mut required = vec!["exp", "sub"];
        if let Some(iss) = issuer {
            validation.set_issuer(&[iss]);
            required.push("iss");
        }
        match audience {
            Some(aud) => {
                validation.set_audience(&[aud]);
                required.push("aud");
            }
            None => validation.validate_aud = false,
        }
        validation.set_required_spec_claims(&required);
        Self {
            keys,
            header,
            header_segment,
            validation,
        }
    }

    /// The token after its header segment, if that segment is exactly the one minted for `kind`.
    fn minted_header<'t>(&self, kind: TokenKind, token: &'t str) -> Option<&'t str> {
        token
            .strip_prefix(self.header_segment[kind as usize].as_str())?
            .strip_prefix('.')
    }
}

/// A [`KeySet`], compiled.
#[derive(Debug)]
struct CompiledSet {
    keys: Vec<CompiledKey>,
    active: Option<usize>,
}

/// Signs and verifies the session's tokens under one set of rules.
#[derive(Debug)]
pub(crate) struct TokenCodec {
    keys: ArcSwap<CompiledSet>,
    source: ArcSwap<KeySet>,
    issuer: Option<String>,
    audience: Option<String>,
    leeway: u64,
    /// No token this codec accepts lives longer than this from `now` (plus the leeway).
    max_lifetime: u64,
    max_token_len: usize,
    reference_only: bool,
}

/// How many `.` separators `token` holds. Counted in byte-wide lanes (chunks short enough for
/// a `u8` count), which vectorises several times wider than a `usize` count.
fn dots(token: &[u8]) -> usize {
    token
        .chunks(255)
        .map(|chunk| chunk.iter().fold(0u8, |n, &b| n + u8::from(b == b'.')))
        .map(usize::from)
        .sum()
}

fn reject(kind: AuthErrorKind, token: TokenKind) -> AuthError {
    AuthError::token(kind, token)
}

impl TokenCodec {
    pub(crate) fn new(
        keys: KeySet,
        issuer: Option<String>,
        audience: Option<String>,
        leeway: u64,
        max_token_len: usize,
    ) -> Self {
        let codec = Self {
            keys: ArcSwap::from_pointee(CompiledSet {
                keys: Vec::new(),
                active: None,
            }),
            source: ArcSwap::from_pointee(KeySet::verify_only()),
            issuer,
            audience,
            leeway,
            max_lifetime: u64::MAX,
            max_token_len,
            reference_only: false,
        };
        codec.set_keys(keys);
        codec
    }

    /// Swaps the key set in; requests already past key selection finish with the old one.
    pub(crate) fn set_keys(&self, set: KeySet) {
        let compiled = CompiledSet {
            keys: set
                .iter()
                .map(|k| {
                    CompiledKey::new(k.clone(), self.issuer.as_deref(), self.audience.as_deref())
                })
                .collect(),
            active: set
                .active()
                .and_then(|a| set.iter().position(|k| k.kid() == a.kid())),
        };
        self.keys.store(Arc::new(compiled));
        self.source.store(Arc::new(set));
    }

    pub(crate) fn keys(&self) -> Arc<KeySet> {
        self.source.load_full()
    }

    /// Refuse tokens whose `exp` lies more than `secs` (plus the leeway) after `now`: nothing
    /// this crate mints outlives a session, so such an `exp` was never issued by it.
    pub(crate) fn max_lifetime(mut self, secs: u64) -> Self {
        self.max_lifetime = secs;
        self
    }

    /// Verify every token on the reference path (benchmarks and differential tests).
    pub(crate) fn reference_only(mut self, on: bool) -> Self {
        self.reference_only = on;
        self
    }

    pub(crate) fn can_sign(&self) -> bool {
        self.keys.load().active.is_some()
    }

    pub(crate) fn encode<C: CustomClaims>(
        &self,
        kind: TokenKind,
        claims: &Claims<C>,
    ) -> Result<String, AuthError> {
        let internal = |e: &dyn std::fmt::Display| {
            AuthError::new(AuthErrorKind::Internal)
                .with_source(std::io::Error::other(e.to_string()))
        };
        let set = self.keys.load();
        let key = set
            .active
            .map(|i| &set.keys[i])
            .ok_or_else(|| internal(&"no signing key"))?;
        let json = payload_json(claims, self.issuer.as_deref(), self.audience.as_deref())
            .map_err(|e| internal(&e))?;
        if let Some(hmac_key) = key.keys.hmac_key().filter(|_| !self.reference_only) {
            let segment = &key.header_segment[kind as usize];
            let mut token = String::with_capacity(segment.len() + json.len() * 4 / 3 + 92);
            token.push_str(segment);
            token.push('.');
            URL_SAFE_NO_PAD.encode_string(&json, &mut token);
            let tag = hmac_key.sign(token.as_bytes());
            token.push('.');
            URL_SAFE_NO_PAD.encode_string(tag.as_ref(), &mut token);
            return Ok(token);
        }
        let encoding = key
            .keys
            .encoding()
            .ok_or_else(|| internal(&"no signing key"))?;
        // The same bytes, serialised verbatim.
        let payload = RawValue::from_string(String::from_utf8(json).map_err(|e| internal(&e))?)
            .map_err(|e| internal(&e))?;
        jsonwebtoken::encode(&key.header[kind as usize], &payload, encoding)
            .map_err(|e| internal(&e))
    }

    /// Verifies signature, algorithm, `kid`, `typ`, required claims and the time window at `now`.
    #[cfg(test)]
    pub(crate) fn decode<C: CustomClaims>(
        &self,
        kind: TokenKind,
        token: &str,
        now: u64,
    ) -> Result<Claims<C>, AuthError> {
        let claims = self.decode_untimed(kind, token)?;
        self.check_time(kind, &claims, now)?;
        Ok(claims)
    }

    /// Everything but the time window, which [`check_time`](Self::check_time) checks.
    pub(crate) fn decode_untimed<C: CustomClaims>(
        &self,
        kind: TokenKind,
        token: &str,
    ) -> Result<Claims<C>, AuthError> {
        // Refuse oversized input before spending any work on it.
        if token.len() > self.max_token_len || dots(token.as_bytes()) != 2 {
            return Err(reject(AuthErrorKind::Malformed, kind));
        }
        let set = self.keys.load();
        let fast = set.keys.iter().find_map(|key| {
            let hmac_key = key.keys.hmac_key().filter(|_| !self.reference_only)?;
            Some((hmac_key, key.minted_header(kind, token)?))
        });
        match fast {
            Some((hmac_key, rest)) => self.decode_fast(kind, hmac_key, token, rest),
            None => self.decode_reference(kind, &set, token),
        }
    }

    fn decode_fast<C: CustomClaims>(
        &self,
        kind: TokenKind,
        key: &HmacKey,
        token: &str,
        rest: &str,
    ) -> Result<Claims<C>, AuthError> {
        let (payload, signature) = rest
            // The one dot left (decode_untimed counted two, the header had the other) is near
            // the end: a genuine signature is at most 86 characters.
            .rsplit_once('.')
            .ok_or_else(|| reject(AuthErrorKind::Malformed, kind))?;
        let message = &token.as_bytes()[..token.len() - signature.len() - 1];
        let mut tag = [0u8; 64];
        let tag_len = URL_SAFE_NO_PAD
            .decode_slice(signature, &mut tag)
            .map_err(|e| match e {
                base64::DecodeSliceError::OutputSliceTooSmall => {
                    reject(AuthErrorKind::InvalidSignature, kind)
                }
                base64::DecodeSliceError::DecodeError(e) => {
                    reject(AuthErrorKind::Malformed, kind).with_source(e)
                }
            })?;
        // Constant time, and nothing of the payload is read before the signature holds.
        if !key.verify(message, &tag[..tag_len]) {
            return Err(reject(AuthErrorKind::InvalidSignature, kind));
        }
        // Typical payloads decode into a small stack buffer (zeroing it is part of the cost of
        // every token), larger ones into a larger one; only unusual ones allocate.
        match payload.len() {
            0..=512 => self.parse_payload::<C, 384>(kind, payload),
            513..=1360 => self.parse_payload::<C, 1020>(kind, payload),
            _ => {
                let json = URL_SAFE_NO_PAD
                    .decode(payload)
                    .map_err(|e| reject(AuthErrorKind::Malformed, kind).with_source(e))?;
                self.parse_claims(kind, &json)
            }
        }
    }

    /// [`parse_claims`](Self::parse_claims) of a base64url payload that decodes into `N` bytes
    /// on the stack.
    fn parse_payload<C: CustomClaims, const N: usize>(
        &self,
        kind: TokenKind,
        payload: &str,
    ) -> Result<Claims<C>, AuthError> {
        let mut buf = [0u8; N];
        let len = URL_SAFE_NO_PAD
            .decode_slice(payload, &mut buf)
            .map_err(|e| reject(AuthErrorKind::Malformed, kind).with_source(e))?;
        self.parse_claims(kind, &buf[..len])
    }

    /// The claims of a verified payload, with `iss` and `aud` checked as configured.
    fn parse_claims<C: CustomClaims>(
        &self,
        kind: TokenKind,
        json: &[u8],
    ) -> Result<Claims<C>, AuthError> {
        let checked: Checked<'_, C> = serde_json::from_slice(json)
            .map_err(|e| reject(AuthErrorKind::Malformed, kind).with_source(e))?;
        let wanted = |configured: &Option<String>, claim: &Lenient<'_>| match configured {
            None => true,
            Some(value) => matches!(claim, Lenient::Present(found) if found.contains(value)),
        };
        if !wanted(&self.issuer, &checked.iss) || !wanted(&self.audience, &checked.aud) {
            return Err(reject(AuthErrorKind::InvalidClaims, kind));
        }
        Ok(Claims {
            sub: checked.sub,
            sid: checked.sid,
            jti: checked.jti,
            iat: checked.iat,
            exp: checked.exp,
            nbf: checked.nbf,
            custom: checked.custom,
        })
    }

    fn decode_reference<C: CustomClaims>(
        &self,
        kind: TokenKind,
        set: &CompiledSet,
        token: &str,
    ) -> Result<Claims<C>, AuthError> {
        // With one key there is nothing to select: jsonwebtoken parses the header once, and the
        // kid is compared afterwards. With several, the kid picks the key; never a fallback.
        let key = match set.keys.as_slice() {
            [only] => only,
            keys => {
                let header = jsonwebtoken::decode_header(token)
                    .map_err(|e| reject(AuthErrorKind::Malformed, kind).with_source(e))?;
                let kid = header.kid.as_deref();
                keys.iter()
                    .find(|k| Some(k.keys.kid()) == kid)
                    .ok_or_else(|| reject(AuthErrorKind::UnknownKey, kind))?
            }
        };
        let data = jsonwebtoken::decode::<Claims<C>>(token, key.keys.decoding(), &key.validation)
            .map_err(|e| {
            let error_kind = match e.kind() {
                JwtErrorKind::InvalidSignature
                | JwtErrorKind::InvalidAlgorithm
                | JwtErrorKind::InvalidAlgorithmName
                | JwtErrorKind::MissingAlgorithm
                | JwtErrorKind::InvalidEcdsaKey
                | JwtErrorKind::InvalidEddsaKey
                | JwtErrorKind::InvalidRsaKey(_)
                | JwtErrorKind::InvalidKeyFormat
                | JwtErrorKind::UnsupportedAlgorithm => AuthErrorKind::InvalidSignature,
                JwtErrorKind::MissingRequiredClaim(_)
                | JwtErrorKind::InvalidIssuer
                | JwtErrorKind::InvalidAudience
                | JwtErrorKind::InvalidSubject => AuthErrorKind::InvalidClaims,
                _ => AuthErrorKind::Malformed,
            };
            reject(error_kind, kind).with_source(e)
        })?;
        // RFC 7515 §4.1.11: an extension the recipient must understand, and this one
        // understands none (`b64: false` included).
        if data.header.crit.is_some() {
            return Err(reject(AuthErrorKind::Malformed, kind));
        }
        if data.header.kid.as_deref() != Some(key.keys.kid()) {
            return Err(reject(AuthErrorKind::UnknownKey, kind));
        }
        if !data
            .header
            .typ
            .as_deref()
            .is_some_and(|typ| kind.matches_typ(typ))
        {
            return Err(reject(AuthErrorKind::WrongTokenType, kind));
        }
        Ok(data.claims)
    }

    /// Whether `claims` are inside their validity window at `now`, with the leeway.
    pub(crate) fn check_time<C>(
        &self,
        kind: TokenKind,
        claims: &Claims<C>,
        now: u64,
    ) -> Result<(), AuthError> {
        if now >= claims.exp.saturating_add(self.leeway) {
            return Err(reject(AuthErrorKind::Expired, kind));
        }
        let latest = now
            .saturating_add(self.max_lifetime)
            .saturating_add(self.leeway);
        if claims.exp > latest {
            return Err(reject(AuthErrorKind::InvalidClaims, kind));
        }
        if claims
            .nbf
            .is_some_and(|nbf| nbf > now.saturating_add(self.leeway))
        {
            return Err(reject(AuthErrorKind::NotYetValid, kind));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::TokenStamp;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn codec() -> TokenCodec {
        TokenCodec::new(
            KeySet::signing(JwtKeys::hs256(SECRET).unwrap()),
            None,
            None,
            0,
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

    /// The payload as serde derives it: what [`payload_json`] must write, byte for byte.
    #[derive(Serialize)]
    struct Payload<'a, C> {
        sub: &'a str,
        sid: SessionId,
        jti: TokenId,
        iat: u64,
        exp: u64,
        #[serde(skip_serializing_if = "Option::is_none")]
        nbf: Option<u64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        iss: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        aud: Option<&'a str>,
        #[serde(flatten)]
        custom: &'a C,
    }

    #[derive(Serialize, Clone)]
    struct Extra {
        role: &'static str,
        level: u32,
    }

    fn same_as_derived<C: Serialize + Clone>(custom: C) {
        let subjects = ["alice", "a \"quoted\" \\ name\n with ☃ and \u{1F600}", ""];
        for sub in subjects {
            for nbf in [None, Some(99)] {
                for (iss, aud) in [(None, None), (Some("https://i.example"), Some("api \"x\""))] {
                    let stamp = TokenStamp {
                        jti: TokenId::from_bytes([1; 16]),
                        iat: 100,
                        exp: 200,
                    };
                    let mut claims = Claims::new(
                        sub.to_owned(),
                        SessionId::from_bytes([2; 16]),
                        stamp,
                        custom.clone(),
                    );
                    claims.nbf = nbf;
                    let derived = serde_json::to_vec(&Payload {
                        sub: &claims.sub,
                        sid: claims.sid,
                        jti: claims.jti,
                        iat: claims.iat,
                        exp: claims.exp,
                        nbf: claims.nbf,
                        iss,
                        aud,
                        custom: &claims.custom,
                    })
                    .unwrap();
                    let written = payload_json(&claims, iss, aud).unwrap();
                    assert_eq!(
                        String::from_utf8(written).unwrap(),
                        String::from_utf8(derived).unwrap()
                    );
                }
            }
        }
    }

    #[test]
    fn hand_written_payload_equals_the_derived_form() {
        same_as_derived(());
        same_as_derived(Extra {
            role: "admin",
            level: 3,
        });
        same_as_derived(None::<Extra>);
        same_as_derived(Some(Extra {
            role: "x",
            level: 0,
        }));
        same_as_derived(std::collections::BTreeMap::<String, u8>::new());
        // Anything that is not a map cannot be merged into the payload: an error, no panic.
        let numbers = Claims::new(
            "a".into(),
            SessionId::from_bytes([2; 16]),
            TokenStamp {
                jti: TokenId::from_bytes([1; 16]),
                iat: 1,
                exp: 2,
            },
            7u8,
        );
        assert!(payload_json(&numbers, None, None).is_err());
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
        let lenient = TokenCodec::new(
            KeySet::signing(JwtKeys::hs256(SECRET).unwrap()),
            None,
            None,
            5,
            8192,
        );
        assert!(lenient.decode::<()>(TokenKind::Access, &token, 204).is_ok());
        assert!(
            lenient
                .decode::<()>(TokenKind::Access, &token, 205)
                .is_err()
        );
    }

    #[test]
    fn issuer_and_audience_are_required_when_configured() {
        let plain = codec().encode(TokenKind::Access, &claims(200)).unwrap();
        let strict = TokenCodec::new(
            KeySet::signing(JwtKeys::hs256(SECRET).unwrap()),
            Some("issuer".into()),
            Some("api".into()),
            0,
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
            0,
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
        let codec = TokenCodec::new(KeySet::signing(old.clone()), None, None, 0, 8192);
        let old_token = codec.encode(TokenKind::Access, &claims(200)).unwrap();

        let rotated = KeySet::signing(new.clone())
            .with_verify_key(old.clone())
            .unwrap();
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
        let codec = TokenCodec::new(KeySet::signing(keys), None, None, 0, 8192);
        assert!(!codec.can_sign());
        let err = codec.encode(TokenKind::Access, &claims(200)).unwrap_err();
        assert_eq!(err.kind(), AuthErrorKind::Internal);
    }
}
