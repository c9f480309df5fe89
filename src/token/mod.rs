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

/// The JWS algorithms (RFC 7518), as every key names the one it accepts. This is
/// `jsonwebtoken`'s own type, re-exported: `jsonwebtoken` is a public dependency, so a new major
/// version of it is a breaking change of this crate.
///
/// ```
/// use tower_jwt_auth::{Algorithm, JwtKeys};
///
/// let keys = JwtKeys::hmac(Algorithm::HS384, &[7u8; 48])?;
/// assert_eq!(keys.algorithm(), Algorithm::HS384);
/// # Ok::<(), tower_jwt_auth::ConfigError>(())
/// ```
#[doc(no_inline)]
pub use jsonwebtoken::Algorithm;

mod claims;
mod codec;
mod header;
mod keys;
mod keyset;
mod kind;
mod mac;
mod mint;
mod payload;
mod probe;
pub(crate) mod rules;
pub(crate) mod verified_cache;
mod verify;

pub(crate) use claims::check_type as check_claims_type;
pub use claims::{Claims, ClaimsError, ClaimsErrorKind, CustomClaims};
pub(crate) use codec::TokenCodec;
pub use keys::JwtKeys;
pub use keyset::KeySet;
pub use kind::TokenKind;
#[cfg(feature = "oidc")]
pub(crate) use {
    header::{Header, KeyLookup, TypRule},
    verify::{split, verify_public},
};
