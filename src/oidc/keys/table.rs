//! [`KeyTable`]: the usable keys of one JWK Set, by `kid`, each pinned to one algorithm.

use std::collections::HashMap;

use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm, PublicKeyUse,
};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;

use crate::oidc::error::{KeySourceError, KeySourceErrorKind};

/// One verification key and the one algorithm it accepts.
pub(crate) struct Key {
    pub(crate) decoding: DecodingKey,
    pub(crate) algorithm: Algorithm,
}

/// The usable keys of one key set, by `kid`.
#[derive(Default)]
pub(crate) struct KeyTable {
    by_kid: HashMap<String, Key>,
    /// The key of a set whose only key has no `kid`: tokens without a `kid` use it.
    unnamed: Option<Key>,
    /// The generation this table was swapped in as: unique among its source's tables, so a
    /// verified-token cache entry of another table is stale.
    epoch: u64,
}

impl KeyTable {
    /// The usable keys of a JWK Set document, parsed one by one: a key this crate cannot use
    /// (an encryption key, an unsupported type or curve, a malformed entry) is skipped with a
    /// warning, never fatal to the others.
    pub(crate) fn parse(document: &[u8]) -> Result<Self, KeySourceError> {
        #[derive(Deserialize)]
        struct Document {
            keys: Vec<serde_json::Value>,
        }
        let document: Document = serde_json::from_slice(document).map_err(|e| {
            KeySourceError::new(
                KeySourceErrorKind::InvalidDocument,
                "the JWK Set is not JSON with a `keys` array",
            )
            .with_source(e)
        })?;
        let mut table = Self::default();
        let mut unnamed = Vec::new();
        for (index, value) in document.keys.into_iter().enumerate() {
            let jwk = match serde_json::from_value::<Jwk>(value) {
                Ok(jwk) => jwk,
                Err(error) => {
                    tracing::warn!(target: "tower_jwt_auth", index, %error,
                        "skipping a key of the JWK Set that cannot be read");
                    continue;
                }
            };
            match Self::key(&jwk) {
                Ok(key) => match jwk.common.key_id {
                    Some(kid) => {
                        table.by_kid.insert(kid, key);
                    }
                    None => unnamed.push(key),
                },
                Err(reason) => {
                    tracing::warn!(target: "tower_jwt_auth", index,
                        kid = jwk.common.key_id.as_deref().unwrap_or(""), reason,
                        "skipping a key of the JWK Set");
                }
            }
        }
        if table.by_kid.is_empty() && unnamed.len() == 1 {
            table.unnamed = unnamed.pop();
        }
        Ok(table)
    }

    pub(crate) fn from_jwk_set(set: &JwkSet) -> Result<Self, KeySourceError> {
        let json = serde_json::to_vec(set).map_err(|e| {
            KeySourceError::new(
                KeySourceErrorKind::InvalidDocument,
                "the JWK Set cannot be written",
            )
            .with_source(e)
        })?;
        Self::parse(&json)
    }

    /// The verification key of one JWK, with the algorithm it names or its type implies.
    fn key(jwk: &Jwk) -> Result<Key, &'static str> {
        if jwk.common.public_key_use == Some(PublicKeyUse::Encryption) {
            return Err("an encryption key");
        }
        let implied = match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => Algorithm::RS256,
            AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
                EllipticCurve::P256 => Algorithm::ES256,
                EllipticCurve::P384 => Algorithm::ES384,
                _ => return Err("an unsupported elliptic curve"),
            },
            AlgorithmParameters::OctetKeyPair(_) => Algorithm::EdDSA,
            // A shared secret is never published by a provider worth trusting.
            AlgorithmParameters::OctetKey(_) => return Err("a symmetric key"),
            _ => return Err("an unsupported key type"),
        };
        let algorithm = match jwk.common.key_algorithm {
            None => implied,
            Some(named) => signing_algorithm(named).ok_or("an algorithm that does not sign")?,
        };
        let decoding = DecodingKey::from_jwk(jwk).map_err(|_| "a key that cannot be decoded")?;
        Ok(Key {
            decoding,
            algorithm,
        })
    }

    pub(crate) fn get(&self, kid: Option<&str>) -> Option<&Key> {
        match kid {
            Some(kid) => self.by_kid.get(kid),
            None => self.unnamed.as_ref(),
        }
    }

    pub(crate) fn epoch(&self) -> u64 {
        self.epoch
    }

    /// This table, as the key set of generation `epoch`.
    pub(crate) fn with_epoch(mut self, epoch: u64) -> Self {
        self.epoch = epoch;
        self
    }

    pub(crate) fn kids(&self) -> Vec<String> {
        let mut kids: Vec<String> = self.by_kid.keys().cloned().collect();
        kids.sort();
        kids
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.by_kid.is_empty() && self.unnamed.is_none()
    }
}

fn signing_algorithm(named: KeyAlgorithm) -> Option<Algorithm> {
    Some(match named {
        KeyAlgorithm::RS256 => Algorithm::RS256,
        KeyAlgorithm::RS384 => Algorithm::RS384,
        KeyAlgorithm::RS512 => Algorithm::RS512,
        KeyAlgorithm::PS256 => Algorithm::PS256,
        KeyAlgorithm::PS384 => Algorithm::PS384,
        KeyAlgorithm::PS512 => Algorithm::PS512,
        KeyAlgorithm::ES256 => Algorithm::ES256,
        KeyAlgorithm::ES384 => Algorithm::ES384,
        KeyAlgorithm::EdDSA => Algorithm::EdDSA,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unusable_keys_are_skipped_one_by_one() {
        let document = br#"{"keys": [
            {"kty": "oct", "kid": "secret", "k": "c2VjcmV0"},
            {"kty": "EC", "kid": "p521", "crv": "P-521", "x": "AA", "y": "AA"},
            {"kty": "RSA", "kid": "broken"},
            {"kty": "OKP", "kid": "ed", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
            {"kty": "OKP", "kid": "enc", "use": "enc", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
        ]}"#;
        let table = KeyTable::parse(document).unwrap();
        assert_eq!(table.kids(), ["ed"]);
        assert_eq!(table.get(Some("ed")).unwrap().algorithm, Algorithm::EdDSA);
        assert!(table.get(None).is_none());
        let error = KeyTable::parse(b"{}").err().unwrap();
        assert_eq!(error.kind(), KeySourceErrorKind::InvalidDocument);
    }
}
