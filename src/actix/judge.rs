//! [`Judge`]: the judges a [`JwtAuthMiddleware`](super::JwtAuthMiddleware) can ask.

use crate::decision::{Deciding, Gate, RequestHead};
use crate::sessions::JwtSessions;
use crate::token::{Claims, CustomClaims};

/// What a [`Gate`] judges by: [`JwtSessions<C>`](JwtSessions), deciding on
/// [`Claims<C>`](Claims), or (with the `oidc` feature)
/// [`ResourceServer`](crate::oidc::ResourceServer), deciding on
/// [`AccessClaims`](crate::oidc::AccessClaims). Sealed: the crate's own judges are the only
/// ones, and the trait only lets the middleware ask either; their decisions are the gates' own
/// `decide_now`.
///
/// ```
/// use tower_jwt_auth::actix::{JwtAuthMiddleware, Judge};
/// use tower_jwt_auth::JwtSessions;
///
/// fn protects<J: Judge>(_: &JwtAuthMiddleware<J>) {}
///
/// let sessions = JwtSessions::builder()
///     .hs256_secret(b"an example secret of 32+ bytes!!")
///     .build()?;
/// protects(&JwtAuthMiddleware::from(&sessions));
/// # Ok::<(), tower_jwt_auth::ConfigError>(())
/// ```
pub trait Judge: sealed::Decides {}

// A public trait in a private module: a supertrait no one else can name, so no one else can
// implement `Judge`, and its method is callable only here.
pub(super) mod sealed {
    use super::{Deciding, Gate, RequestHead};

    pub trait Decides: Clone + Sized + 'static {
        /// What a served request carries to its handler.
        type Claims: Clone + 'static;

        /// The gate's decision on `head`: its own `decide_now`.
        fn decide_now(gate: &Gate<Self>, head: RequestHead<'_>) -> Deciding<Self::Claims>;
    }
}

impl<C: CustomClaims> Judge for JwtSessions<C> {}

impl<C: CustomClaims> sealed::Decides for JwtSessions<C> {
    type Claims = Claims<C>;

    fn decide_now(gate: &Gate<Self>, head: RequestHead<'_>) -> Deciding<Claims<C>> {
        gate.decide_now(head)
    }
}

#[cfg(feature = "oidc")]
impl Judge for crate::oidc::ResourceServer {}

#[cfg(feature = "oidc")]
impl sealed::Decides for crate::oidc::ResourceServer {
    type Claims = crate::oidc::AccessClaims;

    fn decide_now(gate: &Gate<Self>, head: RequestHead<'_>) -> Deciding<Self::Claims> {
        gate.decide_now(head)
    }
}
