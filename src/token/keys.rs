//! [`JwtKeys`]: the keys a service signs and verifies with.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{Jwk, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{AlgorithmFamily, DecodingKey, EncodingKey};

use super::Algorithm;
use super::mac::HmacKey;
use crate::error::{ConfigError, ConfigErrorKind};

/// The keys a service signs and verifies with, pinned to one algorithm.
///
/// A set built with [`verify_only_pem`](Self::verify_only_pem) holds no private key: it checks
/// tokens but cannot mint, so issuing fails and refresh requests are refused.
///
/// An HMAC secret is kept only as the keyed hash states it was turned into, and those are
/// overwritten with zeros when the last clone of the keys is dropped (or swapped out with
/// [`JwtSessions::set_keys`](crate::JwtSessions::set_keys)). Asymmetric keys are held by
/// `jsonwebtoken`, whose key types do not wipe their bytes: a private key stays in memory until
/// the allocator reuses it.
#[derive(Clone)]
pub struct JwtKeys {
    algorithm: Algorithm,
    material: Material,
    kid: String,
}

#[derive(Clone)]
enum Material {
    /// The HMAC secret, keyed once, so signing and verifying never re-derive the key; it signs
    /// unless the keys were made verify-only.
    Hmac { key: Box<HmacKey>, signs: bool },
    /// A public key, and the private key if these keys sign.
    Asymmetric {
        encoding: Option<EncodingKey>,
        decoding: DecodingKey,
    },
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

fn key_error(error: &jsonwebtoken::errors::Error) -> ConfigError {
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
        let key = HmacKey::new(algorithm, secret);
        // A stable id that reveals nothing of the secret: a MAC of a fixed label under it.
        let tag = key.sign(b"tower-jwt-auth key id");
        let kid = URL_SAFE_NO_PAD.encode(&tag.as_ref()[..12]);
        Ok(Self {
            algorithm,
            material: Material::Hmac {
                key: Box::new(key),
                signs: true,
            },
            kid,
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
            AlgorithmFamily::Hmac => return Err(Self::not_asymmetric(algorithm)),
        }
        .map_err(|e| key_error(&e))?;
        let mut keys = Self::verify_only_pem(algorithm, public_pem)?;
        if let Material::Asymmetric { encoding: slot, .. } = &mut keys.material {
            *slot = Some(encoding);
        }
        keys.check_pair()?;
        Ok(keys)
    }

    /// Public key only: verifies tokens of `algorithm`, mints none.
    pub fn verify_only_pem(algorithm: Algorithm, public_pem: &[u8]) -> Result<Self, ConfigError> {
        let decoding = match algorithm.family() {
            AlgorithmFamily::Rsa => DecodingKey::from_rsa_pem(public_pem),
            AlgorithmFamily::Ec => DecodingKey::from_ec_pem(public_pem),
            AlgorithmFamily::Ed => DecodingKey::from_ed_pem(public_pem),
            AlgorithmFamily::Hmac => return Err(Self::not_asymmetric(algorithm)),
        }
        .map_err(|e| key_error(&e))?;
        // RFC 7638: the key's thumbprint is its id unless one is given.
        let kid = Jwk::from_decoding_key(&decoding, Some(algorithm))
            .and_then(|jwk| jwk.thumbprint(ThumbprintHash::SHA256))
            .map_err(|e| key_error(&e))?;
        Ok(Self {
            algorithm,
            material: Material::Asymmetric {
                encoding: None,
                decoding,
            },
            kid,
        })
    }

    /// Replaces the key id (`kid` header). By default an HMAC key's id is derived from the
    /// secret without revealing it, and a public key's id is its RFC 7638 thumbprint, so every
    /// process holding the same key agrees on it.
    #[must_use]
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = kid.into();
        self
    }

    /// The one algorithm these keys sign and accept.
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The key id, carried in the `kid` header of every token these keys mint.
    #[must_use]
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as a JWK (RFC 7517) with its `kid`, `alg` and `use`; `None` for HMAC
    /// keys, whose secret must never be published.
    #[must_use]
    pub fn public_jwk(&self) -> Option<Jwk> {
        let mut jwk = Jwk::from_decoding_key(self.decoding()?, Some(self.algorithm)).ok()?;
        jwk.common.key_id = Some(self.kid.clone());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        Some(jwk)
    }

    /// The same keys without the private key: verify-only.
    #[must_use]
    pub fn verify_only(mut self) -> Self {
        match &mut self.material {
            Material::Hmac { signs, .. } => *signs = false,
            Material::Asymmetric { encoding, .. } => *encoding = None,
        }
        self
    }

    /// Whether these keys hold a private key (or HMAC secret) and can mint tokens.
    #[must_use]
    pub fn can_sign(&self) -> bool {
        match &self.material {
            Material::Hmac { signs, .. } => *signs,
            Material::Asymmetric { encoding, .. } => encoding.is_some(),
        }
    }

    /// The private key of asymmetric keys that sign.
    pub(crate) fn encoding(&self) -> Option<&EncodingKey> {
        match &self.material {
            Material::Asymmetric { encoding, .. } => encoding.as_ref(),
            Material::Hmac { .. } => None,
        }
    }

    /// The public key of asymmetric keys.
    pub(crate) fn decoding(&self) -> Option<&DecodingKey> {
        match &self.material {
            Material::Asymmetric { decoding, .. } => Some(decoding),
            Material::Hmac { .. } => None,
        }
    }

    /// The HMAC key of HMAC keys.
    pub(crate) fn hmac_key(&self) -> Option<&HmacKey> {
        match &self.material {
            Material::Hmac { key, .. } => Some(key),
            Material::Asymmetric { .. } => None,
        }
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
        let (Some(encoding), Some(decoding)) = (self.encoding(), self.decoding()) else {
            return Err(mismatch("no private key".into()));
        };
        let signature =
            jsonwebtoken::crypto::sign(PROBE, encoding, self.algorithm).map_err(|e| {
                mismatch(format!(
                    "the private key cannot sign {:?}: {e}",
                    self.algorithm
                ))
            })?;
        match jsonwebtoken::crypto::verify(&signature, PROBE, decoding, self.algorithm) {
            Ok(true) => Ok(()),
            _ => Err(mismatch(format!(
                "the public key does not verify the private key's {:?} signatures",
                self.algorithm
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_secret_length_follows_the_hash() {
        assert!(JwtKeys::hmac(Algorithm::HS384, &[7; 47]).is_err());
        assert!(JwtKeys::hmac(Algorithm::HS384, &[7; 48]).is_ok());
        assert!(JwtKeys::hmac(Algorithm::HS512, &[7; 63]).is_err());
        let err = JwtKeys::hmac(Algorithm::RS256, &[7; 64]).unwrap_err();
        assert_eq!(err.kind(), ConfigErrorKind::AlgorithmMismatch);
    }

    #[test]
    fn hmac_key_ids_are_stable_distinct_and_never_published() {
        let a = JwtKeys::hs256(&[1; 32]).unwrap();
        assert_eq!(a.kid(), JwtKeys::hs256(&[1; 32]).unwrap().kid());
        assert_ne!(a.kid(), JwtKeys::hs256(&[2; 32]).unwrap().kid());
        assert!(a.public_jwk().is_none());
    }
}

#[cfg(test)]
mod pem_tests {
    use super::*;

    fn pem(name: &str) -> Vec<u8> {
        std::fs::read(format!("{}/tests/keys/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    #[test]
    fn asymmetric_pairs_load_and_mismatches_are_refused() {
        for (alg, name) in [
            (Algorithm::EdDSA, "ed25519"),
            (Algorithm::ES256, "es256"),
            (Algorithm::RS256, "rs256"),
            (Algorithm::PS256, "rs256"),
        ] {
            let private = pem(&format!("{name}.pem"));
            let public = pem(&format!("{name}.pub.pem"));
            let keys = JwtKeys::from_pem(alg, &private, &public).unwrap();
            assert!(keys.can_sign());
            let public_only = JwtKeys::verify_only_pem(alg, &public).unwrap();
            assert!(!public_only.can_sign());
            assert_eq!(public_only.kid(), keys.kid(), "the thumbprint is the same");
            let jwk = keys.public_jwk().unwrap();
            assert_eq!(jwk.common.key_id.as_deref(), Some(keys.kid()));
        }
        let err = JwtKeys::from_pem(Algorithm::ES256, &pem("es256.pem"), &pem("rs256.pub.pem"));
        assert_eq!(err.unwrap_err().kind(), ConfigErrorKind::InvalidKey);
        let err = JwtKeys::from_pem(Algorithm::HS256, &pem("es256.pem"), &pem("es256.pub.pem"));
        assert_eq!(err.unwrap_err().kind(), ConfigErrorKind::AlgorithmMismatch);
    }
}
