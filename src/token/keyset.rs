//! [`KeySet`]: one active signing key and any number of verify-only keys, selected by `kid`.

use std::fmt;

use jsonwebtoken::jwk::JwkSet;

use super::JwtKeys;
use crate::error::{ConfigError, ConfigErrorKind};

/// The keys a service signs with and accepts: at most one active signing key and any number of
/// verify-only keys, each pinned to its algorithm and found by its `kid`.
///
/// Rotating keys without downtime: add the new key as verify-only everywhere, then make it the
/// active key on the issuer (the old one stays as verify-only until its last token expires),
/// then drop the old key. [`JwtSessions::set_keys`](crate::JwtSessions::set_keys) swaps a set in
/// at run time, between two requests, without rebuilding the layer.
///
/// ```
/// use tower_jwt_auth::{JwtKeys, KeySet};
///
/// let old = JwtKeys::hs256(b"the secret we used until today!!")?;
/// let new = JwtKeys::hs256(b"the secret we sign with from now")?;
/// let old_kid = old.kid().to_owned();
/// let set = KeySet::signing(new).with_verify_key(old)?;
/// assert_eq!(set.len(), 2);
/// // Once the old key's tokens have expired:
/// let set = set.without(&old_kid);
/// assert_eq!(set.len(), 1);
/// # Ok::<(), tower_jwt_auth::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct KeySet {
    keys: Vec<JwtKeys>,
    /// Index of the signing key in `keys`.
    active: Option<usize>,
}

impl KeySet {
    /// A set whose active signing key is `keys` (or, if `keys` holds no private key, a
    /// verify-only set of that one key).
    #[must_use]
    pub fn signing(keys: JwtKeys) -> Self {
        let active = keys.can_sign().then_some(0);
        Self {
            keys: vec![keys],
            active,
        }
    }

    /// A set that mints nothing: a resource server verifying the issuer's tokens.
    #[must_use]
    pub fn verify_only() -> Self {
        Self {
            keys: Vec::new(),
            active: None,
        }
    }

    /// Adds a key that verifies but never signs (a retired key, or a public key of the
    /// issuer). Its `kid` must differ from every key already in the set.
    pub fn with_verify_key(mut self, keys: JwtKeys) -> Result<Self, ConfigError> {
        if self.get(keys.kid()).is_some() {
            return Err(ConfigError::new(
                ConfigErrorKind::InvalidKey,
                format!("two keys with kid {:?}", keys.kid()),
            ));
        }
        self.keys.push(keys.verify_only());
        Ok(self)
    }

    /// Removes the key `kid`; tokens it signed are refused from then on.
    #[must_use]
    pub fn without(mut self, kid: &str) -> Self {
        if let Some(index) = self.keys.iter().position(|k| k.kid() == kid) {
            self.keys.remove(index);
            self.active = match self.active {
                Some(active) if active == index => None,
                Some(active) if active > index => Some(active - 1),
                active => active,
            };
        }
        self
    }

    /// The key with this `kid`.
    #[must_use]
    pub fn get(&self, kid: &str) -> Option<&JwtKeys> {
        self.keys.iter().find(|k| k.kid() == kid)
    }

    /// The active signing key, if the set can mint.
    #[must_use]
    pub fn active(&self) -> Option<&JwtKeys> {
        self.active.map(|i| &self.keys[i])
    }

    /// Every key, the active one included.
    pub fn iter(&self) -> impl Iterator<Item = &JwtKeys> {
        self.keys.iter()
    }

    /// Number of keys.
    #[must_use]
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the set holds no key.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The public keys as a JWK Set (RFC 7517 §5), for `/.well-known/jwks.json`. HMAC secrets
    /// are never included.
    pub fn jwks(&self) -> JwkSet {
        JwkSet {
            keys: self.keys.iter().filter_map(JwtKeys::public_jwk).collect(),
        }
    }
}

impl fmt::Debug for KeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeySet")
            .field("keys", &self.keys)
            .field("active", &self.active().map(JwtKeys::kid))
            .finish()
    }
}

impl From<JwtKeys> for KeySet {
    fn from(keys: JwtKeys) -> Self {
        Self::signing(keys)
    }
}
