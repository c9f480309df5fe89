//! [`ResourceServer`]: verifies access tokens of trusted issuers, each with its keys and token
//! profile.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde::Deserialize;
use serde_json::Value;

use super::claims::AccessClaims;
use super::issuer::Issuer;
use super::keys::{Key, KeyTable, RemoteKeys};
use super::layer::ResourceServerLayer;
use crate::clock::{Clock, SystemClock};
use crate::error::{AuthError, AuthErrorKind, ConfigError, ConfigErrorKind};
use crate::token::{self, Header, KeyLookup, TokenKind};

struct Inner {
    by_iss: HashMap<String, Issuer>,
    any: Option<Issuer>,
    clock: Arc<dyn Clock>,
    max_token_len: usize,
}

/// Verifies access tokens minted elsewhere — by Keycloak, Auth0, Okta, Entra, Dex, or another
/// service running this crate — with each trusted issuer's keys, chosen by the token's `iss`.
/// No pair store: this side only verifies, and refresh headers are ignored.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use axum::{Router, routing::get};
/// use tower_jwt_auth::oidc::{AccessClaims, Issuer, RemoteKeys, Requirement, ResourceServer};
///
/// let issuer = "https://idp.example.com";
/// let server = ResourceServer::builder()
///     .issuer(Issuer::new(issuer, RemoteKeys::discover(issuer).build().await?).audience("orders-api"))
///     .build()?;
/// let app: Router = Router::new()
///     .route("/orders", get(|claims: AccessClaims| async move { format!("{:?}", claims.subject()) }))
///     .route_layer(Requirement::scope("orders:read").layer())
///     .route_layer(server.layer());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ResourceServer {
    inner: Arc<Inner>,
}

impl fmt::Debug for ResourceServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let issuers: Vec<&str> = self.inner.by_iss.keys().map(String::as_str).collect();
        f.debug_struct("ResourceServer")
            .field("issuers", &issuers)
            .field("any_issuer", &self.inner.any.is_some())
            .finish_non_exhaustive()
    }
}

/// Builds a [`ResourceServer`].
#[must_use = "a builder does nothing until `build` is called"]
#[derive(Default)]
pub struct ResourceServerBuilder {
    issuers: Vec<Issuer>,
    clock: Option<Arc<dyn Clock>>,
}

impl fmt::Debug for ResourceServerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResourceServerBuilder")
            .field("issuers", &self.issuers)
            .finish_non_exhaustive()
    }
}

impl ResourceServerBuilder {
    /// Trusts one more issuer.
    pub fn issuer(mut self, issuer: Issuer) -> Self {
        self.issuers.push(issuer);
        self
    }

    /// The clock `exp` and `nbf` are checked on (default [`SystemClock`]).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// Checks the issuers: at least one, no `iss` twice, [`Issuer::any`] only alone.
    pub fn build(self) -> Result<ResourceServer, ConfigError> {
        let error = |detail: String| ConfigError::new(ConfigErrorKind::MissingKeys, detail);
        if self.issuers.is_empty() {
            return Err(error("no issuer: call .issuer(..)".into()));
        }
        let alone = self.issuers.len() == 1;
        let mut by_iss = HashMap::new();
        let mut any = None;
        for issuer in self.issuers {
            match issuer.iss.clone() {
                Some(iss) => {
                    if by_iss.insert(iss.clone(), issuer).is_some() {
                        return Err(error(format!("the issuer {iss:?} is given twice")));
                    }
                }
                None if alone => any = Some(issuer),
                None => {
                    return Err(error(
                        "Issuer::any accepts any iss, so it cannot share a server with other issuers"
                            .into(),
                    ));
                }
            }
        }
        Ok(ResourceServer {
            inner: Arc::new(Inner {
                by_iss,
                any,
                clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
                max_token_len: 16 * 1024,
            }),
        })
    }
}

/// A verification that could finish at once, or needs the keys fetched again first.
pub(crate) enum Verification {
    Done(Result<AccessClaims, AuthError>),
    /// The token names a `kid` the issuer's key set (of this generation) lacks.
    UnknownKid(RemoteKeys, u64),
}

impl ResourceServer {
    /// Starts a builder.
    pub fn builder() -> ResourceServerBuilder {
        ResourceServerBuilder::default()
    }

    /// A layer that verifies the bearer token of every request and puts its [`AccessClaims`] in
    /// the request's extensions.
    pub fn layer(&self) -> ResourceServerLayer {
        ResourceServerLayer::new(self.clone())
    }

    /// Verifies `token`; a `kid` the issuer's key set lacks is looked for in a fetch of it (at
    /// most one per interval, see [`RemoteKeys`]).
    pub async fn verify(&self, token: &str) -> Result<AccessClaims, AuthError> {
        match self.verify_now(token) {
            Verification::Done(result) => result,
            Verification::UnknownKid(keys, seen) => {
                keys.refetch_for_unknown_kid(seen).await;
                self.verify_after_refetch(token)
            }
        }
    }

    pub(crate) fn verify_after_refetch(&self, token: &str) -> Result<AccessClaims, AuthError> {
        match self.verify_now(token) {
            Verification::Done(result) => result,
            Verification::UnknownKid(..) => Err(AuthError::new(AuthErrorKind::UnknownKey)),
        }
    }

    pub(crate) fn verify_now(&self, token: &str) -> Verification {
        match self.check(token) {
            Ok(verification) => verification,
            Err(error) => Verification::Done(Err(error)),
        }
    }

    /// In order: the token's length and shape; its header, parsed; the issuer its `iss` names
    /// (before any key is looked at, by design: an issuer not configured never costs a key
    /// lookup, let alone a fetch); [`Header::verify`]: the header rules the crate's own tokens
    /// are held to, and the signature, under that issuer's keys; and only then the claims, read
    /// from the verified payload.
    fn check(&self, token: &str) -> Result<Verification, AuthError> {
        let malformed =
            |defect| AuthError::token(AuthErrorKind::Malformed, TokenKind::Access).because(defect);
        if token.len() > self.inner.max_token_len {
            return Err(malformed("a token longer than the limit"));
        }
        let (message, signature) =
            token::split(token).ok_or_else(|| malformed("not three dot-separated segments"))?;
        let (header, payload) = message
            .split_once('.')
            .ok_or_else(|| malformed("not three dot-separated segments"))?;
        let header = Header::parse(header, TokenKind::Access)?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| malformed("the payload is not base64url"))?;
        let issuer = self.issuer_of(&payload)?;
        let table = issuer.keys.table();
        let Some(table) = table.as_deref() else {
            return Err(AuthError::new(AuthErrorKind::KeysUnavailable));
        };
        match header.verify(issuer.typ.rule(), table, message, signature) {
            Ok(()) => {}
            Err(error) if error.kind() == AuthErrorKind::UnknownKey => {
                return Ok(Verification::UnknownKid(
                    issuer.keys.clone(),
                    issuer.keys.generation(),
                ));
            }
            Err(error) => return Err(error),
        }
        let claims = AccessClaims::from_payload(&payload)?;
        issuer.check(&claims, self.inner.clock.now())?;
        Ok(Verification::Done(Ok(claims)))
    }

    /// The issuer a payload claims, read before its signature is checked, to choose the keys
    /// to check it with; [`Issuer::check`] holds the verified claims to it.
    fn issuer_of(&self, payload: &[u8]) -> Result<&Issuer, AuthError> {
        #[derive(Deserialize)]
        struct Peek {
            iss: Option<Value>,
        }
        if let Some(any) = &self.inner.any {
            return Ok(any);
        }
        let peek: Peek = serde_json::from_slice(payload).map_err(|_| {
            AuthError::new(AuthErrorKind::Malformed).because("the payload is not a JSON object")
        })?;
        peek.iss
            .as_ref()
            .and_then(Value::as_str)
            .and_then(|iss| self.inner.by_iss.get(iss))
            .ok_or_else(|| {
                AuthError::new(AuthErrorKind::InvalidClaims)
                    .because("an issuer that is not trusted")
            })
    }
}

/// An issuer's keys, as [`Header::verify`] picks from them.
impl KeyLookup for KeyTable {
    type Key = Key;

    fn lookup(&self, kid: Option<&str>) -> Option<&Key> {
        self.get(kid)
    }

    fn algorithm(key: &Key) -> Algorithm {
        key.algorithm
    }

    /// [`KeyTable::get`] finds a key by its `kid` exactly, or without one the only key, which
    /// has none: the key found is the one named.
    fn is_named(_: &Key, _: Option<&str>) -> bool {
        true
    }

    fn verify(
        key: &Key,
        token: TokenKind,
        message: &str,
        signature: &str,
    ) -> Result<(), AuthError> {
        token::verify_public(&key.decoding, key.algorithm, token, message, signature)
    }
}
