//! Claims, keys, and turning one into a signed token and back.
//!
//! Every token is a compact JWS whose `typ` header says what it is (`at+jwt` for access tokens as
//! in RFC 9068, `rt+jwt` for refresh tokens), so one can never stand in for the other. Every key
//! is pinned to exactly one algorithm (RFC 8725 §3.1); `none` does not exist here.
//!
//! ```
//! use tower_jwt_auth::{Algorithm, ConfigErrorKind, JwtKeys};
//!
//! let keys = JwtKeys::hs256(b"an example secret of 32+ bytes!!")?;
//! assert_eq!(keys.algorithm(), Algorithm::HS256);
//!
//! // Short HMAC secrets are refused when the keys are built, not when the first token fails.
//! let weak = JwtKeys::hs256(b"hunter2").unwrap_err();
//! assert_eq!(weak.kind(), ConfigErrorKind::WeakSecret);
//! # Ok::<(), tower_jwt_auth::ConfigError>(())
//! ```

use std::fmt;

use jsonwebtoken::errors::ErrorKind as JwtErrorKind;
use jsonwebtoken::{AlgorithmFamily, DecodingKey, EncodingKey, Header, Validation};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub use jsonwebtoken::Algorithm;

use crate::config::{ConfigError, ConfigErrorKind};
use crate::error::{AuthError, AuthErrorKind};
use crate::id::{SessionId, TokenId};

/// Application claims carried in both tokens of a session, beside the registered ones.
///
/// Implemented for every type that can be (de)serialised, cloned and shared across threads; use
/// `()` for none. Fields are flattened into the token's payload, so they must not be named `sub`,
/// `sid`, `jti`, `iat`, `exp`, `nbf`, `iss` or `aud`.
pub trait CustomClaims: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {}

impl<T> CustomClaims for T where T: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {}

/// Which of a session's two tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// Short-lived, sent with every request in `Authorization: Bearer`.
    Access,
    /// Long-lived, sent only to obtain a new access token.
    Refresh,
}

impl TokenKind {
    /// The `typ` header value this kind of token carries.
    pub fn typ(self) -> &'static str {
        match self {
            TokenKind::Access => "at+jwt",
            TokenKind::Refresh => "rt+jwt",
        }
    }

    fn matches_typ(self, typ: &str) -> bool {
        let typ = typ.strip_prefix("application/").unwrap_or(typ);
        typ.eq_ignore_ascii_case(self.typ())
    }
}

impl fmt::Display for TokenKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TokenKind::Access => "access token",
            TokenKind::Refresh => "refresh token",
        })
    }
}

/// The verified claims of a token. The layer puts `Claims<C>` of the access token in the request
/// extensions.
///
/// ```
/// use tower_jwt_auth::Claims;
///
/// async fn handler(request: http::Request<()>) -> String {
///     let claims = request.extensions().get::<Claims<()>>().expect("behind JwtAuthLayer");
///     format!("hello {}", claims.subject())
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims<C = ()> {
    sub: String,
    sid: SessionId,
    jti: TokenId,
    iat: u64,
    exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nbf: Option<u64>,
    #[serde(flatten)]
    custom: C,
}

impl<C> Claims<C> {
    pub(crate) fn new(
        subject: String,
        session: SessionId,
        stamp: crate::store::TokenStamp,
        custom: C,
    ) -> Self {
        Self {
            sub: subject,
            sid: session,
            jti: stamp.jti,
            iat: stamp.iat,
            exp: stamp.exp,
            nbf: None,
            custom,
        }
    }

    /// The subject (`sub`): whom the session belongs to.
    pub fn subject(&self) -> &str {
        &self.sub
    }

    /// The session (`sid`) this token belongs to.
    pub fn session_id(&self) -> SessionId {
        self.sid
    }

    /// This token's identifier (`jti`).
    pub fn token_id(&self) -> TokenId {
        self.jti
    }

    /// When the token was issued (`iat`), seconds since the Unix epoch.
    pub fn issued_at(&self) -> u64 {
        self.iat
    }

    /// When the token expires (`exp`), seconds since the Unix epoch.
    pub fn expires_at(&self) -> u64 {
        self.exp
    }

    /// The application claims.
    pub fn custom(&self) -> &C {
        &self.custom
    }

    /// Takes the application claims out.
    pub fn into_custom(self) -> C {
        self.custom
    }
}

/// The payload as minted: registered claims, configured `iss`/`aud`, then the application claims.
#[derive(Serialize)]
struct Payload<'a, C> {
    #[serde(flatten)]
    claims: &'a Claims<C>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iss: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    aud: Option<&'a str>,
}

/// The keys a service signs and verifies with, pinned to one algorithm.
///
/// A set built with [`verify_only_pem`](Self::verify_only_pem) holds no private key: it checks
/// tokens but cannot mint, so issuing fails and refresh requests are refused.
#[derive(Clone)]
pub struct JwtKeys {
    algorithm: Algorithm,
    encoding: Option<EncodingKey>,
    decoding: DecodingKey,
    kid: Option<String>,
}

impl fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print key material.
        f.debug_struct("JwtKeys")
            .field("algorithm", &self.algorithm)
            .field("can_sign", &self.can_sign())
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// RFC 7518 §3.2: an HMAC key must be at least as long as the hash output.
fn min_hmac_secret_len(algorithm: Algorithm) -> usize {
    match algorithm {
        Algorithm::HS384 => 48,
        Algorithm::HS512 => 64,
        _ => 32,
    }
}

fn key_error(error: jsonwebtoken::errors::Error) -> ConfigError {
    ConfigError::new(ConfigErrorKind::InvalidKey, error.to_string())
}

impl JwtKeys {
    /// HS256 with a shared secret of at least 32 bytes.
    pub fn hs256(secret: &[u8]) -> Result<Self, ConfigError> {
        Self::hmac(Algorithm::HS256, secret)
    }

    /// An HMAC algorithm (HS256, HS384 or HS512) with a shared secret at least as long as the
    /// hash output (32, 48 or 64 bytes, RFC 7518 §3.2).
    pub fn hmac(algorithm: Algorithm, secret: &[u8]) -> Result<Self, ConfigError> {
        if algorithm.family() != AlgorithmFamily::Hmac {
            return Err(ConfigError::new(
                ConfigErrorKind::AlgorithmMismatch,
                format!("{algorithm:?} is not an HMAC algorithm"),
            ));
        }
        let min = min_hmac_secret_len(algorithm);
        if secret.len() < min {
            return Err(ConfigError::new(
                ConfigErrorKind::WeakSecret,
                format!(
                    "{algorithm:?} needs a secret of at least {min} bytes, got {}",
                    secret.len()
                ),
            ));
        }
        Ok(Self {
            algorithm,
            encoding: Some(EncodingKey::from_secret(secret)),
            decoding: DecodingKey::from_secret(secret),
            kid: None,
        })
    }

    /// An asymmetric algorithm (EdDSA, ES256/384, RS256/384/512, PS256/384/512) with a PEM
    /// private key and its PEM public key. The pair is checked by signing and verifying a probe.
    pub fn from_pem(
        algorithm: Algorithm,
        private_pem: &[u8],
        public_pem: &[u8],
    ) -> Result<Self, ConfigError> {
        let encoding = match algorithm.family() {
            AlgorithmFamily::Rsa => EncodingKey::from_rsa_pem(private_pem),
            AlgorithmFamily::Ec => EncodingKey::from_ec_pem(private_pem),
            AlgorithmFamily::Ed => EncodingKey::from_ed_pem(private_pem),
            _ => return Err(Self::not_asymmetric(algorithm)),
        }
        .map_err(key_error)?;
        let mut keys = Self::verify_only_pem(algorithm, public_pem)?;
        keys.encoding = Some(encoding);
        keys.check_pair()?;
        Ok(keys)
    }

    /// Public key only: verifies tokens of `algorithm`, mints none.
    pub fn verify_only_pem(algorithm: Algorithm, public_pem: &[u8]) -> Result<Self, ConfigError> {
        let decoding = match algorithm.family() {
            AlgorithmFamily::Rsa => DecodingKey::from_rsa_pem(public_pem),
            AlgorithmFamily::Ec => DecodingKey::from_ec_pem(public_pem),
            AlgorithmFamily::Ed => DecodingKey::from_ed_pem(public_pem),
            _ => return Err(Self::not_asymmetric(algorithm)),
        }
        .map_err(key_error)?;
        Ok(Self {
            algorithm,
            encoding: None,
            decoding,
            kid: None,
        })
    }

    /// Sets the key id (`kid` header) put on every token minted with these keys.
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// The one algorithm these keys sign and accept.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The key id, if set.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// Whether these keys hold a private key (or HMAC secret) and can mint tokens.
    pub fn can_sign(&self) -> bool {
        self.encoding.is_some()
    }

    fn not_asymmetric(algorithm: Algorithm) -> ConfigError {
        ConfigError::new(
            ConfigErrorKind::AlgorithmMismatch,
            format!("{algorithm:?} is not an asymmetric algorithm; use JwtKeys::hmac"),
        )
    }

    fn check_pair(&self) -> Result<(), ConfigError> {
        const PROBE: &[u8] = b"tower-jwt-auth key pair probe";
        let mismatch = |detail: String| ConfigError::new(ConfigErrorKind::InvalidKey, detail);
        let encoding = self
            .encoding
            .as_ref()
            .ok_or_else(|| mismatch("no private key".into()))?;
        let signature =
            jsonwebtoken::crypto::sign(PROBE, encoding, self.algorithm).map_err(|e| {
                mismatch(format!(
                    "the private key cannot sign {:?}: {e}",
                    self.algorithm
                ))
            })?;
        match jsonwebtoken::crypto::verify(&signature, PROBE, &self.decoding, self.algorithm) {
            Ok(true) => Ok(()),
            _ => Err(mismatch(format!(
                "the public key does not verify the private key's {:?} signatures",
                self.algorithm
            ))),
        }
    }
}

/// Signs and verifies the session's tokens under one set of rules.
#[derive(Debug, Clone)]
pub(crate) struct TokenCodec {
    keys: JwtKeys,
    header: [Header; 2],
    validation: Validation,
    issuer: Option<String>,
    audience: Option<String>,
    leeway: u64,
    max_token_len: usize,
}

impl TokenCodec {
    pub(crate) fn new(
        keys: JwtKeys,
        issuer: Option<String>,
        audience: Option<String>,
        leeway: u64,
        max_token_len: usize,
    ) -> Self {
        let header = |kind: TokenKind| {
            let mut header = Header::new(keys.algorithm);
            header.typ = Some(kind.typ().to_owned());
            header.kid = keys.kid.clone();
            header
        };
        let header = [header(TokenKind::Access), header(TokenKind::Refresh)];
        let mut validation = Validation::new(keys.algorithm);
        // Time is checked against the injected clock below, not the system clock.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.leeway = 0;
        let mut required = vec!["exp", "sub"];
        if let Some(iss) = &issuer {
            validation.set_issuer(&[iss]);
            required.push("iss");
        }
        match &audience {
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
            validation,
            issuer,
            audience,
            leeway,
            max_token_len,
        }
    }

    pub(crate) fn can_sign(&self) -> bool {
        self.keys.can_sign()
    }

    pub(crate) fn encode<C: CustomClaims>(
        &self,
        kind: TokenKind,
        claims: &Claims<C>,
    ) -> Result<String, AuthError> {
        let internal = || AuthError::new(AuthErrorKind::Internal);
        let key = self.keys.encoding.as_ref().ok_or_else(internal)?;
        let payload = Payload {
            claims,
            iss: self.issuer.as_deref(),
            aud: self.audience.as_deref(),
        };
        jsonwebtoken::encode(&self.header[kind as usize], &payload, key)
            .map_err(|e| internal().with_source(e))
    }

    /// Verifies signature, algorithm, `typ`, required claims and the time window at `now`.
    pub(crate) fn decode<C: CustomClaims>(
        &self,
        kind: TokenKind,
        token: &str,
        now: u64,
    ) -> Result<Claims<C>, AuthError> {
        let reject = |error_kind| AuthError::token(error_kind, kind);
        // Refuse oversized input before spending any work on it.
        if token.len() > self.max_token_len || token.bytes().filter(|&b| b == b'.').count() != 2 {
            return Err(reject(AuthErrorKind::Malformed));
        }
        let data = jsonwebtoken::decode::<Claims<C>>(token, &self.keys.decoding, &self.validation)
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
                reject(error_kind).with_source(e)
            })?;
        if !data
            .header
            .typ
            .as_deref()
            .is_some_and(|typ| kind.matches_typ(typ))
        {
            return Err(reject(AuthErrorKind::WrongTokenType));
        }
        let claims = data.claims;
        if now >= claims.exp.saturating_add(self.leeway) {
            return Err(reject(AuthErrorKind::Expired));
        }
        if claims
            .nbf
            .is_some_and(|nbf| nbf > now.saturating_add(self.leeway))
        {
            return Err(reject(AuthErrorKind::NotYetValid));
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::TokenStamp;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn codec() -> TokenCodec {
        TokenCodec::new(JwtKeys::hs256(SECRET).unwrap(), None, None, 0, 8192)
    }

    fn claims(exp: u64) -> Claims<()> {
        let stamp = TokenStamp {
            jti: TokenId::from_bytes([1; 16]),
            iat: 100,
            exp,
        };
        Claims::new("alice".into(), SessionId::from_bytes([2; 16]), stamp, ())
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
        let lenient = TokenCodec::new(JwtKeys::hs256(SECRET).unwrap(), None, None, 5, 8192);
        assert!(lenient.decode::<()>(TokenKind::Access, &token, 204).is_ok());
        assert!(
            lenient
                .decode::<()>(TokenKind::Access, &token, 205)
                .is_err()
        );
    }

    #[test]
    fn hmac_secret_length_follows_the_hash() {
        assert!(JwtKeys::hmac(Algorithm::HS384, &[7; 47]).is_err());
        assert!(JwtKeys::hmac(Algorithm::HS384, &[7; 48]).is_ok());
        assert!(JwtKeys::hmac(Algorithm::HS512, &[7; 63]).is_err());
        let err = JwtKeys::hmac(Algorithm::RS256, &[7; 64]).unwrap_err();
        assert_eq!(err.kind(), ConfigErrorKind::AlgorithmMismatch);
    }

    #[test]
    fn issuer_and_audience_are_required_when_configured() {
        let plain = codec().encode(TokenKind::Access, &claims(200)).unwrap();
        let strict = TokenCodec::new(
            JwtKeys::hs256(SECRET).unwrap(),
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
        let codec = TokenCodec::new(JwtKeys::hs256(SECRET).unwrap(), None, None, 0, 64);
        for token in ["a".repeat(65), "a.b".into(), "a.b.c.d".into(), "..".into()] {
            let err = codec
                .decode::<()>(TokenKind::Access, &token, 0)
                .unwrap_err();
            assert_eq!(err.kind(), AuthErrorKind::Malformed, "{token}");
        }
    }
}
