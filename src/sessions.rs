//! [`JwtSessions`]: the handle an application holds — issuing, checking, refreshing and revoking
//! sessions, with or without the layer.
//!
//! It carries no store type: handlers take `State<JwtSessions>` (or `JwtSessions<MyClaims>`)
//! whatever store was chosen at [`build`](crate::JwtSessionsBuilder::build). It is made by
//! [`JwtSessions::builder`], which lives with the builder.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use tower_jwt_auth::JwtSessions;
//!
//! let sessions = JwtSessions::builder()
//!     .hs256_secret(b"an example secret of 32+ bytes!!")
//!     .build()?;
//!
//! // S1: after a successful login, issue the pair.
//! let pair = sessions.issue("alice", ()).await?;
//! let claims = sessions.authenticate(pair.access_token()).await?;
//! assert_eq!(claims.subject(), "alice");
//!
//! // Logout: both tokens stop working at once.
//! sessions.revoke_session(pair.session_id()).await?;
//! assert!(sessions.authenticate(pair.access_token()).await.is_err());
//! # Ok(()) }
//! ```

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use http::header::CACHE_CONTROL;
use http::{HeaderMap, HeaderValue};
use jsonwebtoken::jwk::JwkSet;

use crate::config::Config;
use crate::cookie::CookieSettings;
use crate::decision::Gate;
use crate::engine::Engine;
use crate::error::{AuthError, AuthErrorKind};
use crate::id::SessionId;
use crate::issued::{Refreshed, TokenPair};
use crate::middleware::JwtAuthLayer;
use crate::store::PairStore;
use crate::token::{Claims, CustomClaims, KeySet, TokenKind};

/// Issues, checks, refreshes and revokes sessions under one [`Config`], whatever the store.
///
/// `C` is the type of the application claims both tokens carry (`()` for none). Cheap to clone;
/// clones share keys, store and clock. No handler names the store:
///
/// ```
/// use axum::{extract::State, routing::post, Router};
/// use tower_jwt_auth::{JwtAuthLayer, JwtSessions};
/// use tower_jwt_auth::store::MemoryStore;
/// async fn logout(State(s): State<JwtSessions>) -> &'static str { let _ = s; "ok" }
/// fn app() -> Result<Router, tower_jwt_auth::ConfigError> {
///     let sessions = JwtSessions::builder().hs256_secret([7u8; 32]).store(MemoryStore::new()).build()?;
///     let default_store = JwtSessions::builder().hs256_secret([7u8; 32]).build()?;
///     let layer: JwtAuthLayer = sessions.layer();
///     let _ = default_store;
///     Ok(Router::new().route("/logout", post(logout)).layer(layer).with_state(sessions))
/// }
/// # app().unwrap();
/// ```
pub struct JwtSessions<C = ()> {
    engine: Arc<Engine>,
    claims: PhantomData<fn() -> C>,
}

impl<C> Clone for JwtSessions<C> {
    fn clone(&self) -> Self {
        Self {
            engine: self.engine.clone(),
            claims: PhantomData,
        }
    }
}

impl<C> fmt::Debug for JwtSessions<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtSessions")
            .field("engine", &self.engine)
            .finish()
    }
}

impl<C: CustomClaims> JwtSessions<C> {
    pub(crate) fn from_engine(engine: Engine) -> Self {
        Self {
            engine: Arc::new(engine),
            claims: PhantomData,
        }
    }

    /// The validated configuration.
    #[must_use]
    pub fn config(&self) -> &Config {
        self.engine.config()
    }

    /// The key set in use.
    #[must_use]
    pub fn keys(&self) -> Arc<KeySet> {
        self.engine.keys()
    }

    /// Swaps in a new key set at run time, without rebuilding the layer or dropping requests:
    /// requests already verifying finish with the keys they started with. The way to rotate
    /// keys (see [`KeySet`]).
    pub fn set_keys(&self, keys: KeySet) {
        self.engine.set_keys(keys);
    }

    /// Whether this service can mint tokens. A verify-only service (no signing key) ignores
    /// refresh headers, so an expired access token simply gets `401` and the client refreshes
    /// at the issuer.
    #[must_use]
    pub fn can_mint(&self) -> bool {
        self.engine.can_mint()
    }

    /// The number of tokens in the verified-token cache (see
    /// [`verified_token_cache`](crate::JwtSessionsBuilder::verified_token_cache)), for tests.
    #[cfg(feature = "test-util")]
    #[doc(hidden)]
    #[must_use]
    pub fn verified_token_cache_len(&self) -> usize {
        self.engine.verified_tokens()
    }

    /// The public keys as a JWK Set for `/.well-known/jwks.json` (HMAC secrets never appear).
    #[must_use]
    pub fn jwks(&self) -> JwkSet {
        self.keys().jwks()
    }

    /// The pair store, if it is an `S`.
    ///
    /// ```
    /// use tower_jwt_auth::JwtSessions;
    /// use tower_jwt_auth::store::MemoryStore;
    ///
    /// let sessions = JwtSessions::builder()
    ///     .hs256_secret(b"an example secret of 32+ bytes!!")
    ///     .build()?;
    /// assert!(sessions.store::<MemoryStore>().is_some_and(MemoryStore::is_empty));
    /// # Ok::<(), tower_jwt_auth::ConfigError>(())
    /// ```
    #[must_use]
    pub fn store<S: PairStore>(&self) -> Option<&S> {
        self.engine.store().as_any().downcast_ref()
    }

    /// The current time on the configured clock, seconds since the Unix epoch.
    #[must_use]
    pub fn now(&self) -> u64 {
        self.engine.now()
    }

    /// A layer that authenticates every request with these sessions.
    pub fn layer(&self) -> JwtAuthLayer<C> {
        JwtAuthLayer::new(self.gate())
    }

    /// What the layer decides about each request, for an adapter of another framework (see
    /// [`decision`](crate::decision)).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use tower_jwt_auth::JwtSessions;
    /// use tower_jwt_auth::decision::{Decision, RequestHead};
    ///
    /// let sessions = JwtSessions::builder()
    ///     .hs256_secret(b"an example secret of 32+ bytes!!")
    ///     .build()?;
    /// let gate = sessions.gate();
    /// let pair = sessions.issue("alice", ()).await?;
    /// let request = http::Request::get("/me")
    ///     .header("authorization", format!("Bearer {}", pair.access_token()))
    ///     .body(())?;
    /// let Decision::Serve(admission) = gate.decide(RequestHead::from(&request)).await else {
    ///     panic!("a valid access token is served");
    /// };
    /// assert_eq!(admission.claims().map(|c| c.subject()), Some("alice"));
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn gate(&self) -> Gate<Self> {
        Gate::new(self.clone())
    }

    pub(crate) fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// S1: issues a new session for `subject` with application claims `custom`, records its pair
    /// in the store and returns both tokens. Call it after your own check of the user's
    /// credentials.
    pub async fn issue(
        &self,
        subject: impl Into<String>,
        custom: C,
    ) -> Result<TokenPair, AuthError> {
        self.engine.issue(subject.into(), custom).await
    }

    /// S3/T1: verifies an access token and, with the pair check on, that it is its session's
    /// current one.
    pub async fn authenticate(&self, access_token: &str) -> Result<Claims<C>, AuthError> {
        let (claims, now) = self.engine.decode(TokenKind::Access, access_token)?;
        self.engine.check_pair(claims, now).await
    }

    /// S6/S7: verifies a refresh token and, if the store grants it, returns a new access token
    /// (and with rotation a new refresh token). A refresh while the session's access token is
    /// still valid is treated as theft (T3) and revokes the session.
    pub async fn refresh(&self, refresh_token: &str) -> Result<Refreshed<C>, AuthError> {
        let (claims, now) = self.engine.decode(TokenKind::Refresh, refresh_token)?;
        self.engine.refresh_verified(claims, now).await
    }

    /// Logout: revokes one session; returns whether it was live. Both of its tokens are refused
    /// from now on. A store failure is an [`AuthError`] of kind
    /// [`StoreUnavailable`](crate::AuthErrorKind::StoreUnavailable) (`503`), as everywhere.
    pub async fn revoke_session(&self, sid: SessionId) -> Result<bool, AuthError> {
        self.engine.revoke_session(sid).await
    }

    /// Cookie mode: the response headers of a login route that sets both tokens as `HttpOnly`
    /// cookies, each kept as long as the session, with `Cache-Control: no-store`. The tokens
    /// belong in these cookies only: the body of such a response should not repeat them.
    ///
    /// An error of kind [`Internal`](AuthErrorKind::Internal) (`500`) unless the builder turned
    /// cookie mode on with [`cookies`](crate::JwtSessionsBuilder::cookies).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use axum::{extract::State, http::{HeaderMap, StatusCode}, response::IntoResponse};
    /// use tower_jwt_auth::{AuthError, JwtSessions};
    /// use tower_jwt_auth::cookie::CookieSettings;
    ///
    /// async fn login(State(sessions): State<JwtSessions>) -> Result<impl IntoResponse, (StatusCode, String)> {
    ///     let refused = |e: AuthError| (e.status(), e.to_string());
    ///     // ... check the user's password, then:
    ///     let pair = sessions.issue("alice", ()).await.map_err(refused)?;
    ///     let cookies: HeaderMap = sessions.login_cookies(&pair).map_err(refused)?;
    ///     Ok((StatusCode::NO_CONTENT, cookies))
    /// }
    /// # let sessions = JwtSessions::builder().hs256_secret([7u8; 32]).cookies(CookieSettings::new()).build()?;
    /// # let response = login(State(sessions)).await.into_response();
    /// # assert_eq!(response.headers().get_all("set-cookie").iter().count(), 2);
    /// # Ok(()) }
    /// ```
    pub fn login_cookies(&self, pair: &TokenPair) -> Result<HeaderMap, AuthError> {
        let cookies = self.cookie_settings()?;
        let max_age = pair.refresh_expires_in().as_secs();
        let mut headers = no_store();
        headers.extend(cookies.set_tokens(
            pair.access_token(),
            Some(pair.refresh_token()),
            max_age,
        ));
        Ok(headers)
    }

    /// Cookie mode: the response headers of a logout route, which remove both cookies. Revoke
    /// the session too ([`revoke_session`](Self::revoke_session)): removing the cookies only
    /// forgets the tokens in this browser.
    ///
    /// Only a logout sends these: a refused request never clears cookies, since that answer
    /// could arrive after a concurrent refresh had set new ones.
    ///
    /// ```
    /// use tower_jwt_auth::JwtSessions;
    /// use tower_jwt_auth::cookie::CookieSettings;
    ///
    /// let sessions = JwtSessions::builder()
    ///     .hs256_secret(b"an example secret of 32+ bytes!!")
    ///     .cookies(CookieSettings::new())
    ///     .build()?;
    /// let headers = sessions.logout_cookies()?;
    /// let cleared: Vec<_> = headers.get_all("set-cookie").iter().collect();
    /// assert_eq!(
    ///     cleared[0],
    ///     "__Host-access-token=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Lax"
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn logout_cookies(&self) -> Result<HeaderMap, AuthError> {
        let cookies = self.cookie_settings()?;
        let mut headers = no_store();
        headers.extend(cookies.clear_tokens());
        Ok(headers)
    }

    fn cookie_settings(&self) -> Result<&CookieSettings, AuthError> {
        self.config().cookies().ok_or_else(|| {
            AuthError::new(AuthErrorKind::Internal)
                .because("cookie mode is off: JwtSessionsBuilder::cookies was not called")
        })
    }

    /// Revokes every session of `subject` ("log out everywhere"); returns how many were live.
    /// However many there are, a call that fails part way keeps what it revoked, and a retry
    /// finishes the rest.
    pub async fn revoke_subject(&self, subject: &str) -> Result<usize, AuthError> {
        self.engine.revoke_subject(subject).await
    }
}

/// Headers with `Cache-Control: no-store`, as every response that carries a token has.
fn no_store() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers
}
