//! Random 128-bit identifiers for sessions ([`SessionId`]) and tokens ([`TokenId`]).
//!
//! Both travel inside tokens as 22 characters of unpadded base64url and live in stores as 16 raw
//! bytes, which is all a store ever needs to know about a token: it never sees the token itself.
//!
//! ```
//! use tower_jwt_auth::SessionId;
//!
//! let sid: SessionId = "AAECAwQFBgcICQoLDA0ODw".parse()?;
//! assert_eq!(sid.as_bytes()[15], 15);
//! assert_eq!(sid.to_string(), "AAECAwQFBgcICQoLDA0ODw");
//! assert!("not an id".parse::<SessionId>().is_err());
//! # Ok::<(), tower_jwt_auth::ParseIdError>(())
//! ```

use std::fmt;
use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq;

const ID_LEN: usize = 16;
/// The length of an identifier in base64url.
pub(crate) const ENCODED_LEN: usize = 22;

/// The error returned when a string is not a valid identifier (22 characters of base64url).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseIdError(());

impl fmt::Display for ParseIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("identifier is not 22 characters of unpadded base64url")
    }
}

impl std::error::Error for ParseIdError {}

/// The random source failed; no identifier could be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RandomError(());

impl fmt::Display for RandomError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the random source failed")
    }
}

impl std::error::Error for RandomError {}

/// `N` identifiers' worth of random bytes in one request to the operating system.
///
/// Drawn from the kernel every time, never from a generator in this process: a process that
/// forks, or a virtual machine restored twice from one snapshot, would otherwise hand out the
/// same identifiers twice. One `getrandom` call costs about 0.6 µs on the machines this crate
/// is measured on (BENCHMARKS.md), and a login or refresh makes exactly one; access checks
/// draw none.
pub(crate) fn random_bytes<const N: usize>() -> Result<[[u8; ID_LEN]; N], RandomError> {
    let mut ids = [[0u8; ID_LEN]; N];
    getrandom::fill(ids.as_flattened_mut()).map_err(|_| RandomError(()))?;
    Ok(ids)
}

fn decode_id(s: &[u8]) -> Result<[u8; ID_LEN], ParseIdError> {
    if s.len() != ENCODED_LEN {
        return Err(ParseIdError(()));
    }
    let mut bytes = [0u8; ID_LEN];
    // The engine refuses non-zero trailing bits, so each id has exactly one spelling.
    match URL_SAFE_NO_PAD.decode_slice(s, &mut bytes) {
        Ok(ID_LEN) => Ok(bytes),
        _ => Err(ParseIdError(())),
    }
}

/// An identifier read from its base64url bytes, as a token's payload carries it.
pub(crate) trait EncodedId: Sized {
    /// The identifier `encoded` spells, if it spells one.
    fn from_encoded(encoded: &[u8]) -> Option<Self>;
}

macro_rules! random_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy)]
        pub struct $name([u8; ID_LEN]);

        impl $name {
            /// Draws a fresh identifier from the operating system's random source (never from
            /// a generator in this process, whose state a fork would copy); fails only if that
            /// source does.
            pub fn random() -> Result<Self, RandomError> {
                random_bytes::<1>().map(|[id]| Self(id))
            }

            /// Wraps 16 raw bytes.
            pub const fn from_bytes(bytes: [u8; ID_LEN]) -> Self {
                Self(bytes)
            }

            /// The 16 raw bytes.
            pub const fn as_bytes(&self) -> &[u8; ID_LEN] {
                &self.0
            }
        }

        impl PartialEq for $name {
            /// Constant time: an attacker learns nothing from how long a comparison takes.
            /// Compared as one 128-bit word, which costs a few instructions instead of a
            /// byte-by-byte loop.
            fn eq(&self, other: &Self) -> bool {
                u128::from_ne_bytes(self.0)
                    .ct_eq(&u128::from_ne_bytes(other.0))
                    .into()
            }
        }

        impl Eq for $name {}

        impl std::hash::Hash for $name {
            fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
                state.write(&self.0);
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(encode_id(&self.0, &mut [0; ENCODED_LEN]))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self)
            }
        }

        impl EncodedId for $name {
            fn from_encoded(encoded: &[u8]) -> Option<Self> {
                decode_id(encoded).ok().map(Self)
            }
        }

        impl FromStr for $name {
            type Err = ParseIdError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                decode_id(s.as_bytes()).map(Self)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                // Straight to the serializer: through `Display` it would pass the formatting
                // machinery and an escaping writer, a tenth of the cost of minting a token.
                serializer.serialize_str(encode_id(&self.0, &mut [0; ENCODED_LEN]))
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserializer.deserialize_str(IdVisitor).map(Self)
            }
        }
    };
}

/// The 22 base64url characters of an id, written into `buf`.
fn encode_id<'b>(id: &[u8; ID_LEN], buf: &'b mut [u8; ENCODED_LEN]) -> &'b str {
    // 16 bytes always encode to exactly 22 characters of the base64url alphabet, so neither
    // step can fail; the fallbacks only keep this free of panics.
    let len = URL_SAFE_NO_PAD.encode_slice(id, buf).unwrap_or(0);
    std::str::from_utf8(&buf[..len]).unwrap_or_default()
}

struct IdVisitor;

impl serde::de::Visitor<'_> for IdVisitor {
    type Value = [u8; ID_LEN];

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a 22-character base64url identifier")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        decode_id(v.as_bytes()).map_err(E::custom)
    }
}

random_id! {
    /// Identifies one login session: the access/refresh pair (and, with rotation, the refresh
    /// family) that a store tracks. Carried in tokens as the `sid` claim.
    SessionId
}

random_id! {
    /// Identifies one token (the `jti` claim). Stores keep these instead of raw tokens.
    TokenId
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_display_and_parse() {
        let id = TokenId::random().unwrap();
        let text = id.to_string();
        assert_eq!(text.len(), ENCODED_LEN);
        assert_eq!(text.parse::<TokenId>().unwrap(), id);
    }

    #[test]
    fn rejects_wrong_length_alphabet_and_non_canonical_spellings() {
        assert!("".parse::<SessionId>().is_err());
        assert!("AAECAwQFBgcICQoLDA0OD".parse::<SessionId>().is_err());
        assert!("AAECAwQFBgcICQoLDA0OD+".parse::<SessionId>().is_err());
        // Same 16 bytes as "...Dw" but with non-zero trailing bits.
        assert!("AAECAwQFBgcICQoLDA0ODx".parse::<SessionId>().is_err());
    }

    #[test]
    fn ids_are_distinct_within_and_across_draws() {
        let mut ids: std::collections::HashSet<[u8; ID_LEN]> = std::collections::HashSet::new();
        for _ in 0..1_000 {
            let batch = random_bytes::<3>().unwrap();
            ids.extend(batch);
            ids.insert(*TokenId::random().unwrap().as_bytes());
        }
        assert_eq!(ids.len(), 4_000);
    }

    #[test]
    fn serde_uses_the_text_form() {
        let id = SessionId::from_bytes([7; 16]);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{id}\""));
        assert_eq!(serde_json::from_str::<SessionId>(&json).unwrap(), id);
        assert!(serde_json::from_str::<SessionId>("12").is_err());
    }
}
