//! [`Issuer`]: one trusted issuer of a [`ResourceServer`](super::ResourceServer), with its keys
//! and the profile of its access tokens, and [`TypPolicy`], the `typ` it may give them.

use std::time::Duration;

use super::claims::AccessClaims;
use super::keys::RemoteKeys;
use crate::error::{AuthError, AuthErrorKind};
use crate::token::rules::{self, Pinned, TimeWindow};
use crate::token::{TokenKind, TypRule};

/// Which `typ` header an access token may carry, compared as a media type (case-insensitively,
/// the `application/` prefix optional), by the rule the crate's own tokens are held to.
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
    /// `at+jwt`, `JWT` (or `application/jwt`) or none: for providers that do not type their
    /// access tokens (Keycloak by default, many others). Pin the audience then, so that ID
    /// tokens (whose audience is the client) do not pass.
    AllowJwt,
}

impl TypPolicy {
    pub(super) fn rule(self) -> TypRule {
        match self {
            Self::RequireAtJwt => TypRule::Kind(TokenKind::Access),
            Self::AllowJwt => TypRule::AccessOrUntyped,
        }
    }
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
    pub(super) iss: Option<String>,
    pub(super) keys: RemoteKeys,
    audiences: Vec<String>,
    pub(super) typ: TypPolicy,
    required: Vec<String>,
    leeway: Duration,
}

impl Issuer {
    /// Tokens whose `iss` is `iss`, verified with `keys`.
    pub fn new(iss: impl Into<String>, keys: RemoteKeys) -> Self {
        Self::with(Some(iss.into()), keys)
    }

    /// Tokens of one key set, whatever their `iss` (or none): for a JWKS URL with no issuer to
    /// pin, such as another service of yours. Only alone in a
    /// [`ResourceServer`](super::ResourceServer).
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

    /// The leeway, in seconds.
    pub(super) fn leeway_secs(&self) -> u64 {
        self.leeway.as_secs()
    }

    /// This issuer's profile, on verified claims at `now`: its `iss`, an accepted audience if any is
    /// configured (then `aud` is required), the required claims, and the time window.
    pub(super) fn check(&self, claims: &AccessClaims, now: u64) -> Result<(), AuthError> {
        rules::require(Pinned::Issuer, self.iss.as_slice(), claims.issuer())?;
        let audiences = claims.audiences().iter().map(String::as_str);
        rules::require(Pinned::Audience, &self.audiences, audiences)?;
        let all = claims.all();
        if self.required.iter().any(|name| !all.contains_key(name)) {
            return Err(
                AuthError::new(AuthErrorKind::InvalidClaims).because("a required claim missing")
            );
        }
        let nbf = all
            .get("nbf")
            .map(|nbf| {
                nbf.as_u64().ok_or_else(|| {
                    AuthError::new(AuthErrorKind::Malformed).because("an nbf that is not a number")
                })
            })
            .transpose()?;
        TimeWindow::new(self.leeway.as_secs()).check(claims.expires_at(), nbf, now)
    }
}
