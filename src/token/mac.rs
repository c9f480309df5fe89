//! [`HmacKey`]: HMAC with the key schedule done once, for the HS256/384/512 fast path.
//!
//! A pre-keyed RustCrypto `Hmac` is cloned per token: a copy of two hash states, about 200 bytes.
//! aws-lc-rs instead copies a whole `HMAC_CTX` through its FFI on every call, which made it 1.8×
//! slower per HS256 token of typical size on the machines this crate is measured on (see
//! BENCHMARKS.md). The tests craft their tokens with aws-lc-rs, so the two implementations are
//! held to each other.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Sha256, Sha384, Sha512};

use super::Algorithm;

/// An HMAC key for one algorithm, keyed once.
#[derive(Clone)]
pub(crate) enum HmacKey {
    Sha256(Hmac<Sha256>),
    Sha384(Hmac<Sha384>),
    Sha512(Hmac<Sha512>),
}

/// A computed tag: up to 64 bytes (HMAC-SHA512), on the stack.
pub(crate) struct Tag {
    bytes: [u8; 64],
    len: usize,
}

impl AsRef<[u8]> for Tag {
    fn as_ref(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

impl fmt::Debug for HmacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print key material, not even the derived pads.
        f.write_str("HmacKey(..)")
    }
}

/// HMAC accepts keys of any length (longer ones are hashed first), so keying cannot fail.
fn keyed<M: KeyInit>(secret: &[u8]) -> M {
    match M::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    }
}

impl HmacKey {
    /// The key for HS384, HS512, or (any other algorithm) HS256.
    pub(crate) fn new(algorithm: Algorithm, secret: &[u8]) -> Self {
        match algorithm {
            Algorithm::HS384 => Self::Sha384(keyed(secret)),
            Algorithm::HS512 => Self::Sha512(keyed(secret)),
            _ => Self::Sha256(keyed(secret)),
        }
    }

    /// This key with the whole blocks of `prefix` absorbed, and how many bytes that is: its
    /// tags are those of `prefix[..len]` followed by the message. Every token one key mints
    /// starts with the same header, so hashing its first block once saves a block of every
    /// verification. Only whole blocks: a partly filled buffer would be copied on every use.
    pub(crate) fn absorbed(&self, prefix: &[u8]) -> (Self, usize) {
        fn absorb<M: Mac + Clone>(key: &M, prefix: &[u8], block: usize) -> (M, usize) {
            let len = prefix.len() - prefix.len() % block;
            let mut mac = key.clone();
            mac.update(&prefix[..len]);
            (mac, len)
        }
        match self {
            Self::Sha256(key) => {
                let (mac, len) = absorb(key, prefix, 64);
                (Self::Sha256(mac), len)
            }
            Self::Sha384(key) => {
                let (mac, len) = absorb(key, prefix, 128);
                (Self::Sha384(mac), len)
            }
            Self::Sha512(key) => {
                let (mac, len) = absorb(key, prefix, 128);
                (Self::Sha512(mac), len)
            }
        }
    }

    /// The tag of `message`.
    pub(crate) fn sign(&self, message: &[u8]) -> Tag {
        fn finish<M: Mac + Clone>(key: &M, message: &[u8]) -> Tag {
            let mut mac = key.clone();
            mac.update(message);
            let output = mac.finalize().into_bytes();
            let mut tag = Tag {
                bytes: [0; 64],
                len: output.len(),
            };
            tag.bytes[..output.len()].copy_from_slice(&output);
            tag
        }
        match self {
            Self::Sha256(key) => finish(key, message),
            Self::Sha384(key) => finish(key, message),
            Self::Sha512(key) => finish(key, message),
        }
    }

    /// Whether `tag` is the whole tag of `message`, compared in constant time; a truncated tag
    /// is refused.
    pub(crate) fn verify(&self, message: &[u8], tag: &[u8]) -> bool {
        fn check<M: Mac + Clone>(key: &M, message: &[u8], tag: &[u8]) -> bool {
            let mut mac = key.clone();
            mac.update(message);
            mac.verify_slice(tag).is_ok()
        }
        match self {
            Self::Sha256(key) => check(key, message, tag),
            Self::Sha384(key) => check(key, message, tag),
            Self::Sha512(key) => check(key, message, tag),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4231 test case 2 ("what do ya want for nothing?" under "Jefe"), all three hashes.
    #[test]
    fn matches_rfc_4231() {
        let message = b"what do ya want for nothing?";
        let cases = [
            (
                Algorithm::HS256,
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            ),
            (
                Algorithm::HS384,
                "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e\
                 8e2240ca5e69e2c78b3239ecfab21649",
            ),
            (
                Algorithm::HS512,
                "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554\
                 9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
            ),
        ];
        for (algorithm, expected) in cases {
            let key = HmacKey::new(algorithm, b"Jefe");
            let tag = key.sign(message);
            let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(hex, expected, "{algorithm:?}");
            assert!(key.verify(message, tag.as_ref()));
            assert!(!key.verify(message, &tag.as_ref()[..tag.as_ref().len() - 1]));
            assert!(!key.verify(b"what do ya want for something?", tag.as_ref()));
            // Whole blocks only: nothing of a short prefix, one block of a longer one.
            let (absorbed, len) = key.absorbed(message);
            assert_eq!(len, 0);
            assert!(absorbed.verify(message, tag.as_ref()));
            let long = [message.as_slice(); 10].concat();
            let (absorbed, len) = key.absorbed(&long);
            assert_eq!((long.len(), len), (280, 256));
            assert_eq!(
                absorbed.sign(&long[len..]).as_ref(),
                key.sign(&long).as_ref()
            );
        }
    }
}
