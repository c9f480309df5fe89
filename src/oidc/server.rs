//! [`ResourceServer`]: verifies access tokens of trusted issuers, each with its keys and token
//! profile.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind as JwtErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::claims::AccessClaims;
use super::keys::RemoteKeys;
use super::layer::ResourceServerLayer;
use crate::clock::{Clock, SystemClock};
use crate::error::{AuthError, AuthErrorKind, ConfigError, ConfigErrorKind};

/// Which `typ` header an access token may carry.
///
/// ```
/// use tower_jwt_auth::oidc::{Issuer, RemoteKeys, TypPolicy};
///
/// let keys = RemoteKeys::from_jwk_set(&tower_jwt_auth::jwk::JwkSet { keys: Vec::new() })?;
/// // Keycloak does not type its access tokens: accept `JWT` or none, and pin the audience.
/// let keycloak = Issuer::new("https://idp.example.com/realms/main", keys)
///     .typ(TypPolicy::AllowJwt)
///     .audience("orders-api");
/// # let _ = keycloak;
/// # Ok::<(), tower_jwt_auth::oidc::KeySourceError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TypPolicy {
    /// `at+jwt` only (RFC 9068 §4), the default: no other kind of JWT the issuer signs (an ID
    /// token, a logout token) passes for an access token.
    #[default]
    RequireAtJwt,
    /// `at+jwt`, `JWT` or none: for providers that do not type their access tokens (Keycloak by
    /// default, many others). Pin the audience then, so that ID tokens (whose audience is the
    /// client) do not pass.
    AllowJwt,
}

/// One trusted issuer: its `iss`, its keys and the profile of its access tokens.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use tower_jwt_auth::oidc::{Issuer, RemoteKeys, TypPolicy};
///
/// let issuer = "https://idp.example.com/realms/main";
/// let keycloak = Issuer::new(issuer, RemoteKeys::discover(issuer).build().await?)
///     .audience("orders-api")
///     .typ(TypPolicy::AllowJwt)
///     .require_claim("azp")
///     .leeway(Duration::from_secs(30));
/// # let _ = keycloak; Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct Issuer {
    iss: Option<String>,
    keys: RemoteKeys,
    audiences: Vec<String>,
    typ: TypPolicy,
    required: Vec<String>,
    leeway: Duration,
}

impl Issuer {
    /// Tokens whose `iss` is `iss`, verified with `keys`.
    pub fn new(iss: impl Into<String>, keys: RemoteKeys) -> Self {
        Self::with(Some(iss.into()), keys)
    }

    /// Tokens of one key set, whatever their `iss` (or none): for a JWKS URL with no issuer to
    /// pin, such as another service of yours. Only alone in a [`ResourceServer`].
    pub fn any(keys: RemoteKeys) -> Self {
        Self::with(None, keys)
    }

    fn with(iss: Option<String>, keys: RemoteKeys) -> Self {
        Self {
            iss,
            keys,
            audiences: Vec::new(),
            typ: TypPolicy::default(),
            required: Vec::new(),
            leeway: Duration::ZERO,
        }
    }

    /// An accepted audience. Once one is given, `aud` is required: a token must name at least
    /// one of those given, and a token without `aud` is refused (default: `aud` is not
    /// checked).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// The `typ` policy (default [`TypPolicy::RequireAtJwt`]).
    pub fn typ(mut self, policy: TypPolicy) -> Self {
        self.typ = policy;
        self
    }

    /// A claim every token must carry, besides `exp` (always required).
    pub fn require_claim(mut self, name: impl Into<String>) -> Self {
        self.required.push(name.into());
        self
    }

    /// Clock-skew allowance on `exp` and `nbf` (default zero).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// The key source.
    #[must_use]
    pub fn keys(&self) -> &RemoteKeys {
        &self.keys
    }
}

/// An issuer ready to verify: its settings and one `Validation` per algorithm, built once.
struct Trusted {
    issuer: Issuer,
    validations: HashMap<Algorithm, Validation>,
}

impl Trusted {
    fn new(issuer: Issuer) -> Self {
        let validations = ALGORITHMS
            .iter()
            .map(|&algorithm| {
                let mut validation = Validation::new(algorithm);
                // Time and required claims are checked here, on the configured clock.
                validation.validate_exp = false;
                validation.required_spec_claims.clear();
                if let Some(iss) = &issuer.iss {
                    validation.set_issuer(&[iss]);
                }
                if issuer.audiences.is_empty() {
                    validation.validate_aud = false;
                } else {
                    validation.set_audience(&issuer.audiences);
                }
                (algorithm, validation)
            })
            .collect();
        Self {
            issuer,
            validations,
        }
    }
}

const ALGORITHMS: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

struct Inner {
    by_iss: HashMap<String, Trusted>,
    any: Option<Trusted>,
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
                    if by_iss.insert(iss.clone(), Trusted::new(issuer)).is_some() {
                        return Err(error(format!("the issuer {iss:?} is given twice")));
                    }
                }
                None if alone => any = Some(Trusted::new(issuer)),
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

    fn check(&self, token: &str) -> Result<Verification, AuthError> {
        let malformed = |defect| AuthError::new(AuthErrorKind::Malformed).because(defect);
        if token.len() > self.inner.max_token_len {
            return Err(malformed("a token longer than the limit"));
        }
        let mut parts = token.splitn(3, '.');
        let (Some(_), Some(payload), Some(_)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(malformed("not three dot-separated parts"));
        };
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| malformed("the header is not base64url JSON naming a known algorithm"))?;
        let trusted = self.trusted(payload)?;
        let issuer = &trusted.issuer;
        let typ_ok = match header.typ.as_deref() {
            Some(typ) => {
                is_at_jwt(typ)
                    || (issuer.typ == TypPolicy::AllowJwt && typ.eq_ignore_ascii_case("jwt"))
            }
            None => issuer.typ == TypPolicy::AllowJwt,
        };
        if !typ_ok {
            return Err(AuthError::new(AuthErrorKind::WrongTokenType));
        }
        let table = issuer.keys.table();
        let Some(table) = table.as_ref() else {
            return Err(AuthError::new(AuthErrorKind::KeysUnavailable));
        };
        let Some(key) = table.get(header.kid.as_deref()) else {
            return Ok(Verification::UnknownKid(
                issuer.keys.clone(),
                issuer.keys.generation(),
            ));
        };
        if key.algorithm != header.alg {
            return Err(AuthError::new(AuthErrorKind::InvalidSignature)
                .because("an alg other than the one pinned to the key"));
        }
        let validation = &trusted.validations[&key.algorithm];
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, &key.decoding, validation)
            .map_err(|e| match e.kind() {
                JwtErrorKind::InvalidSignature => AuthError::new(AuthErrorKind::InvalidSignature),
                JwtErrorKind::InvalidIssuer => {
                    AuthError::new(AuthErrorKind::InvalidClaims).because("another issuer")
                }
                JwtErrorKind::InvalidAudience => {
                    AuthError::new(AuthErrorKind::InvalidClaims).because("another audience")
                }
                JwtErrorKind::MissingRequiredClaim(_) => {
                    AuthError::new(AuthErrorKind::InvalidClaims).because("a required claim missing")
                }
                _ => malformed("a payload that is not a JSON object of valid claims"),
            })?;
        self.check_time_and_claims(issuer, data.claims)
            .map(|claims| Verification::Done(Ok(claims)))
    }

    /// The issuer a token claims, chosen before any key is looked at: a token of an issuer not
    /// configured never costs a key lookup, let alone a fetch.
    fn trusted(&self, payload: &str) -> Result<&Trusted, AuthError> {
        #[derive(Deserialize)]
        struct Peek {
            iss: Option<String>,
        }
        if let Some(any) = &self.inner.any {
            return Ok(any);
        }
        let json = URL_SAFE_NO_PAD.decode(payload).map_err(|_| {
            AuthError::new(AuthErrorKind::Malformed).because("the payload is not base64url")
        })?;
        let peek: Peek = serde_json::from_slice(&json).map_err(|_| {
            AuthError::new(AuthErrorKind::Malformed).because("the payload is not a JSON object")
        })?;
        peek.iss
            .and_then(|iss| self.inner.by_iss.get(&iss))
            .ok_or_else(|| {
                AuthError::new(AuthErrorKind::InvalidClaims)
                    .because("an issuer that is not trusted")
            })
    }

    fn check_time_and_claims(
        &self,
        issuer: &Issuer,
        claims: Map<String, Value>,
    ) -> Result<AccessClaims, AuthError> {
        let now = self.inner.clock.now();
        let leeway = issuer.leeway.as_secs();
        if issuer
            .required
            .iter()
            .any(|name| !claims.contains_key(name))
        {
            return Err(
                AuthError::new(AuthErrorKind::InvalidClaims).because("a required claim missing")
            );
        }
        if let Some(nbf) = claims.get("nbf") {
            let nbf = nbf.as_u64().ok_or_else(|| {
                AuthError::new(AuthErrorKind::InvalidClaims).because("an nbf that is not a number")
            })?;
            if now.saturating_add(leeway) < nbf {
                return Err(AuthError::new(AuthErrorKind::NotYetValid));
            }
        }
        let claims = AccessClaims::from_map(claims)?;
        // Required, not merely compared: jsonwebtoken compares `aud` only when a token has one.
        let audiences = claims.audiences();
        if !issuer.audiences.is_empty() && !audiences.iter().any(|a| issuer.audiences.contains(a)) {
            return Err(AuthError::new(AuthErrorKind::InvalidClaims).because(
                if audiences.is_empty() {
                    "no aud, where an audience is required"
                } else {
                    "another audience"
                },
            ));
        }
        if claims.expires_at().saturating_add(leeway) <= now {
            return Err(AuthError::new(AuthErrorKind::Expired));
        }
        Ok(claims)
    }
}

/// RFC 9068 §4: `at+jwt`, with or without `application/`, in any case.
fn is_at_jwt(typ: &str) -> bool {
    let typ = match typ.get(..12) {
        Some(prefix) if prefix.eq_ignore_ascii_case("application/") => &typ[12..],
        _ => typ,
    };
    typ.eq_ignore_ascii_case("at+jwt")
}
