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

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub use jsonwebtoken::Algorithm;

use crate::id::{SessionId, TokenId};

mod codec;
mod keys;
mod keyset;
mod mac;

pub(crate) use codec::TokenCodec;
pub use keys::JwtKeys;
pub use keyset::KeySet;

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
        // RFC 7515 §4.1.9: the "application/" prefix may be omitted, and media types are
        // case-insensitive.
        const PREFIX: &str = "application/";
        let typ = match typ.get(..PREFIX.len()) {
            Some(prefix) if prefix.eq_ignore_ascii_case(PREFIX) => &typ[PREFIX.len()..],
            _ => typ,
        };
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
