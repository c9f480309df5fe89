//! [`Requirement`]: scopes and roles a route requires, as a layer ([`RequireLayer`]) or a check
//! in a handler ([`Requirement::check`]).

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::WWW_AUTHENTICATE;
use http::{HeaderValue, Request, Response, StatusCode};
use tower_layer::Layer;
use tower_service::Service;

use super::claims::AccessClaims;
use crate::decision::Refusal;
use crate::error::{AuthError, AuthErrorKind};
use crate::middleware::ResponseFuture;
use crate::{ErrorResponder, Rfc6750};

/// Scopes and roles a route requires of a verified token: all of them.
///
/// Scopes are read from `scope` (space-separated) or `scp`; roles from a claim path such as
/// Keycloak's `realm_access.roles`, as whole values (see [`AccessClaims::values_at`]: a string
/// claim is one role, never split at spaces). A token without one gets `403` with
/// `WWW-Authenticate: Bearer error="insufficient_scope", scope="…"` (RFC 6750 §3.1), or gRPC
/// status 7 (`PERMISSION_DENIED`) under gRPC.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use axum::{Router, body::Body, routing::post};
/// use http::Request;
/// use tower::ServiceExt;
/// use tower_jwt_auth::oidc::{AccessClaims, Requirement};
///
/// let writers = Requirement::scope("orders:write").and_role("realm_access.roles", "clerk");
/// let app = Router::new()
///     .route("/orders", post(|| async { "created" }))
///     .route_layer(writers.layer());
///
/// // The resource server's layer puts the claims there; here, a reader's token.
/// let reader = AccessClaims::from_json(serde_json::json!({"exp": 2000000000, "scope": "orders:read"}))?;
/// let mut request = Request::post("/orders").body(Body::empty())?;
/// request.extensions_mut().insert(reader);
/// let response = app.oneshot(request).await?;
/// assert_eq!(response.status(), 403);
/// assert_eq!(
///     response.headers()["www-authenticate"],
///     r#"Bearer error="insufficient_scope", error_description="the token lacks a required scope or role", scope="orders:write""#
/// );
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Requirement {
    inner: Arc<Rules>,
}

#[derive(Debug)]
struct Rules {
    scopes: Vec<String>,
    roles: Vec<(String, String)>,
    challenge: HeaderValue,
}

impl Requirement {
    /// Requires `scope`.
    pub fn scope(scope: impl Into<String>) -> Self {
        Self::of(vec![scope.into()], Vec::new())
    }

    /// Requires `role` among the values at the claim path `path`
    /// ([`AccessClaims::values_at`]): the string there, or one of the strings of the array there.
    pub fn role(path: impl Into<String>, role: impl Into<String>) -> Self {
        Self::of(Vec::new(), vec![(path.into(), role.into())])
    }

    /// Requires `scope` too.
    #[must_use]
    pub fn and_scope(self, scope: impl Into<String>) -> Self {
        let mut scopes = self.inner.scopes.clone();
        scopes.push(scope.into());
        Self::of(scopes, self.inner.roles.clone())
    }

    /// Requires `role` at `path` too.
    #[must_use]
    pub fn and_role(self, path: impl Into<String>, role: impl Into<String>) -> Self {
        let mut roles = self.inner.roles.clone();
        roles.push((path.into(), role.into()));
        Self::of(self.inner.scopes.clone(), roles)
    }

    fn of(scopes: Vec<String>, roles: Vec<(String, String)>) -> Self {
        let mut challenge = String::from(
            r#"Bearer error="insufficient_scope", error_description="the token lacks a required scope or role""#,
        );
        // Only scopes go in the challenge's `scope` (RFC 6750 §3); characters a quoted string
        // cannot hold are left out rather than let break the header.
        let listed: Vec<&str> = scopes
            .iter()
            .map(String::as_str)
            .filter(|s| {
                s.bytes()
                    .all(|b| (0x21..=0x7e).contains(&b) && b != b'"' && b != b'\\')
            })
            .collect();
        if !listed.is_empty() {
            challenge.push_str(&format!(r#", scope="{}""#, listed.join(" ")));
        }
        let challenge =
            HeaderValue::try_from(challenge).expect("the challenge holds visible ASCII only");
        Self {
            inner: Arc::new(Rules {
                scopes,
                roles,
                challenge,
            }),
        }
    }

    /// Whether `claims` meet every scope and role; the error is `403 insufficient_scope`.
    pub fn check(&self, claims: &AccessClaims) -> Result<(), AuthError> {
        let scopes = self.inner.scopes.iter().all(|s| claims.has_scope(s));
        let roles = self
            .inner
            .roles
            .iter()
            .all(|(path, role)| claims.values_at(path).contains(&role.as_str()));
        if scopes && roles {
            Ok(())
        } else {
            Err(AuthError::new(AuthErrorKind::InsufficientScope))
        }
    }

    /// The `WWW-Authenticate` value of a refusal, naming the required scopes.
    #[must_use]
    pub fn challenge(&self) -> &HeaderValue {
        &self.inner.challenge
    }

    /// This requirement as a layer, to go inside the resource server's layer (with axum:
    /// `route_layer`, added before it).
    pub fn layer(&self) -> RequireLayer {
        RequireLayer {
            requirement: self.clone(),
            responder: Rfc6750,
        }
    }
}

/// Refuses requests whose [`AccessClaims`] do not meet a [`Requirement`]; made by
/// [`Requirement::layer`]. A request without claims (the layer is not inside a resource
/// server's) is `500`. [`Requirement`]'s example shows it in a router.
#[must_use = "a layer does nothing until it wraps a service"]
#[derive(Debug, Clone)]
pub struct RequireLayer<R = Rfc6750> {
    requirement: Requirement,
    responder: R,
}

impl<R> RequireLayer<R> {
    /// Replace how refusals become responses.
    pub fn on_error<R2>(self, responder: R2) -> RequireLayer<R2> {
        RequireLayer {
            requirement: self.requirement,
            responder,
        }
    }
}

impl<S, R: Clone> Layer<S> for RequireLayer<R> {
    type Service = Require<S, R>;

    fn layer(&self, inner: S) -> Self::Service {
        Require {
            inner,
            requirement: self.requirement.clone(),
            responder: self.responder.clone(),
        }
    }
}

/// The service of a [`RequireLayer`].
#[derive(Clone)]
pub struct Require<S, R = Rfc6750> {
    inner: S,
    requirement: Requirement,
    responder: R,
}

impl<S: fmt::Debug, R> fmt::Debug for Require<S, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Require")
            .field("inner", &self.inner)
            .field("requirement", &self.requirement)
            .finish_non_exhaustive()
    }
}

impl<S, R, ReqB, ResB> Service<Request<ReqB>> for Require<S, R>
where
    S: Service<Request<ReqB>, Response = Response<ResB>>,
    ResB: Default,
    R: ErrorResponder<ResB>,
{
    type Response = Response<ResB>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqB, AccessClaims, R>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqB>) -> Self::Future {
        // Decided at once: the service poll_ready readied is called in place.
        let verdict = match request.extensions().get::<AccessClaims>() {
            Some(claims) => self.requirement.check(claims),
            None => Err(AuthError::new(AuthErrorKind::Internal)
                .because("a requirement outside the resource server's layer")),
        };
        let Err(error) = verdict else {
            return ResponseFuture::serving(self.inner.call(request));
        };
        let mut response = Refusal::of(error, request.headers()).into_response(&self.responder);
        if response.status() == StatusCode::FORBIDDEN {
            response
                .headers_mut()
                .insert(WWW_AUTHENTICATE, self.requirement.challenge().clone());
        }
        ResponseFuture::refused(response)
    }
}

/// A scope named by a type, for the [`Scoped`] extractor guard.
pub trait ScopeName: Send + Sync + 'static {
    /// The scope.
    const SCOPE: &'static str;
}

/// An axum extractor guard (features `oidc` and `axum`): the request's [`AccessClaims`], if
/// they grant `S::SCOPE`; otherwise the handler does not run and the answer is `403` with the
/// `insufficient_scope` challenge naming the scope.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use axum::{Router, body::Body, routing::post};
/// use http::Request;
/// use tower::ServiceExt;
/// use tower_jwt_auth::oidc::{AccessClaims, ScopeName, Scoped};
///
/// struct OrdersWrite;
/// impl ScopeName for OrdersWrite {
///     const SCOPE: &'static str = "orders:write";
/// }
///
/// async fn create(Scoped(claims, ..): Scoped<OrdersWrite>) -> String {
///     format!("created by {:?}", claims.subject())
/// }
///
/// let app = Router::new().route("/orders", post(create));
/// let reader = AccessClaims::from_json(serde_json::json!({"exp": 2000000000, "scope": "orders:read"}))?;
/// let mut request = Request::post("/orders").body(Body::empty())?;
/// request.extensions_mut().insert(reader);
/// let response = app.oneshot(request).await?;
/// assert_eq!(response.status(), 403);
/// assert!(response.headers()["www-authenticate"].to_str()?.ends_with(r#"scope="orders:write""#));
/// # Ok(()) }
/// ```
#[cfg(feature = "axum")]
pub struct Scoped<S>(pub AccessClaims, pub std::marker::PhantomData<S>);

#[cfg(feature = "axum")]
impl<S> fmt::Debug for Scoped<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Scoped").field(&self.0).finish()
    }
}

#[cfg(feature = "axum")]
impl<S: ScopeName, St: Send + Sync> axum_core::extract::FromRequestParts<St> for Scoped<S> {
    type Rejection = axum_core::response::Response;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        state: &St,
    ) -> Result<Self, Self::Rejection> {
        use axum_core::response::IntoResponse;
        let claims =
            <AccessClaims as axum_core::extract::FromRequestParts<St>>::from_request_parts(
                parts, state,
            )
            .await
            .map_err(IntoResponse::into_response)?;
        if claims.has_scope(S::SCOPE) {
            return Ok(Self(claims, std::marker::PhantomData));
        }
        let error = AuthError::new(AuthErrorKind::InsufficientScope);
        let mut response = error.into_response();
        response.headers_mut().insert(
            WWW_AUTHENTICATE,
            Requirement::scope(S::SCOPE).challenge().clone(),
        );
        Err(response)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn with_roles(roles: &Value) -> AccessClaims {
        let claims = json!({"exp": 2_000_000_000u64, "realm_access": {"roles": roles}});
        AccessClaims::from_json(claims).expect("claims")
    }

    #[test]
    fn a_role_is_a_whole_value_never_a_word_of_one() {
        let admin = Requirement::role("realm_access.roles", "admin");
        for held in [json!("admin"), json!(["admin"]), json!(["ops", "admin"])] {
            assert!(admin.check(&with_roles(&held)).is_ok(), "{held}");
        }
        for lacking in [
            json!("not admin"),
            json!("admin ops"),
            json!(["not admin"]),
            json!(["ops admin"]),
            json!("administrator"),
            json!(["Admin"]),
            json!({"admin": true}),
            json!(null),
        ] {
            let refused = admin.check(&with_roles(&lacking)).unwrap_err();
            assert_eq!(
                refused.kind(),
                AuthErrorKind::InsufficientScope,
                "{lacking}"
            );
        }
    }

    #[test]
    fn scope_alone_is_a_space_separated_list() {
        let claims = AccessClaims::from_json(json!({
            "exp": 2_000_000_000u64, "scope": "orders:read orders:write", "role": "orders:write"
        }))
        .expect("claims");
        assert!(Requirement::scope("orders:write").check(&claims).is_ok());
        assert!(
            Requirement::role("role", "orders:write")
                .check(&claims)
                .is_ok()
        );
        let words = Requirement::role("scope", "orders:write").check(&claims);
        assert_eq!(words.unwrap_err().kind(), AuthErrorKind::InsufficientScope);
    }
}
