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
use crate::token::verified_cache::{self, Entry, TokenDigest, VerifiedCache};
use crate::token::{self, Header, KeyLookup, TokenKind};

struct Inner {
    issuers: Vec<Issuer>,
    /// The index in `issuers` of each `iss`.
    by_iss: HashMap<String, usize>,
    /// Whether the one issuer is [`Issuer::any`].
    any: bool,
    clock: Arc<dyn Clock>,
    max_token_len: usize,
    verified: VerifiedCache<Verified>,
}

/// A token that verified: the issuer (its index) whose keys verified it, and its claims.
#[derive(Clone)]
struct Verified {
    issuer: usize,
    claims: AccessClaims,
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
            .field("any_issuer", &self.inner.any)
            .field("verified_token_cache", &self.inner.verified)
            .finish_non_exhaustive()
    }
}

/// Builds a [`ResourceServer`].
#[must_use = "a builder does nothing until `build` is called"]
#[derive(Default)]
pub struct ResourceServerBuilder {
    issuers: Vec<Issuer>,
    clock: Option<Arc<dyn Clock>>,
    verified_token_cache: Option<usize>,
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

    /// How many verified tokens are remembered (default 10,000; 0 turns the cache off). A token
    /// whose exact bytes verified before, under a key still in its issuer's key set, is not
    /// verified again: its signature check (tens of microseconds for RS256, ES256 or EdDSA)
    /// becomes a SHA-256 of the token and a lookup. Entries are found by the SHA-256 of the
    /// whole token; only tokens that were accepted enter; a key set swapped in (a fetch, a
    /// withdrawn key) leaves every entry of the old one stale; and the issuer's claim rules and
    /// time window are checked on every request all the same. Each entry holds the token's
    /// claims: size it to the tokens live at once (see the crate's BENCHMARKS.md for the
    /// memory per entry).
    ///
    /// ```
    /// use tower_jwt_auth::oidc::{Issuer, RemoteKeys, ResourceServer};
    ///
    /// # let keys = RemoteKeys::from_jwk_set(&tower_jwt_auth::jwk::JwkSet { keys: Vec::new() })?;
    /// let server = ResourceServer::builder()
    ///     .issuer(Issuer::new("https://idp.example.com", keys))
    ///     .verified_token_cache(50_000)
    ///     .build()?;
    /// # let _ = server;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn verified_token_cache(mut self, capacity: usize) -> Self {
        self.verified_token_cache = Some(capacity);
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
        let mut any = false;
        for (index, issuer) in self.issuers.iter().enumerate() {
            match issuer.iss.clone() {
                Some(iss) => {
                    if by_iss.insert(iss.clone(), index).is_some() {
                        return Err(error(format!("the issuer {iss:?} is given twice")));
                    }
                }
                None if alone => any = true,
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
                issuers: self.issuers,
                by_iss,
                any,
                clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
                max_token_len: 16 * 1024,
                verified: VerifiedCache::new(
                    self.verified_token_cache
                        .unwrap_or(verified_cache::DEFAULT_CAPACITY),
                ),
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

    /// The number of tokens in the verified-token cache, for tests (with `test-util`).
    #[cfg(feature = "test-util")]
    #[doc(hidden)]
    #[must_use]
    pub fn verified_token_cache_len(&self) -> usize {
        self.inner.verified.len()
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

    /// In order: the token's length; a token accepted before, found in the verified-token
    /// cache, held to its issuer's claim rules and time window again; otherwise its shape; its
    /// header, parsed; the issuer its `iss` names (before any key is looked at, by design: an
    /// issuer not configured never costs a key lookup, let alone a fetch); [`Header::verify`]:
    /// the header rules the crate's own tokens are held to, and the signature, under that
    /// issuer's keys; and only then the claims, read from the verified payload.
    fn check(&self, token: &str) -> Result<Verification, AuthError> {
        let malformed =
            |defect| AuthError::token(AuthErrorKind::Malformed, TokenKind::Access).because(defect);
        if token.len() > self.inner.max_token_len {
            return Err(malformed("a token longer than the limit"));
        }
        let inner = &*self.inner;
        let cached = inner
            .verified
            .is_on()
            .then(|| (TokenDigest::of(token), inner.clock.now()));
        if let Some((digest, now)) = &cached {
            // Only under the key set of its issuer that verified it: one swapped in since
            // (a key withdrawn, a fetch) leaves the entry stale.
            let epoch_of = |hit: &Verified| {
                let table = inner.issuers[hit.issuer].keys.table();
                table.as_deref().map(KeyTable::epoch)
            };
            if let Some(hit) = inner.verified.get(digest, *now, epoch_of) {
                inner.issuers[hit.issuer].check(&hit.claims, *now)?;
                return Ok(Verification::Done(Ok(hit.claims)));
            }
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
        let index = self.issuer_of(&payload)?;
        let issuer = &inner.issuers[index];
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
        let now = match cached {
            Some((_, now)) => now,
            None => inner.clock.now(),
        };
        issuer.check(&claims, now)?;
        if let Some((digest, now)) = cached {
            let entry = Entry {
                epoch: table.epoch(),
                expires_at: claims.expires_at().saturating_add(issuer.leeway_secs()),
                value: Verified {
                    issuer: index,
                    claims: claims.clone(),
                },
            };
            inner.verified.insert(digest, entry, now);
        }
        Ok(Verification::Done(Ok(claims)))
    }

    /// The issuer a payload claims, read before its signature is checked, to choose the keys
    /// to check it with; [`Issuer::check`] holds the verified claims to it.
    fn issuer_of(&self, payload: &[u8]) -> Result<usize, AuthError> {
        #[derive(Deserialize)]
        struct Peek {
            iss: Option<Value>,
        }
        if self.inner.any {
            return Ok(0);
        }
        let peek: Peek = serde_json::from_slice(payload).map_err(|_| {
            AuthError::new(AuthErrorKind::Malformed).because("the payload is not a JSON object")
        })?;
        peek.iss
            .as_ref()
            .and_then(Value::as_str)
            .and_then(|iss| self.inner.by_iss.get(iss).copied())
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
