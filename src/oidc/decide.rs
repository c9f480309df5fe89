//! How a [`ResourceServer`] decides: the bearer token read and verified, with one fetch of the
//! issuer's keys when the token names a key they lack.

use std::future::Future;

use super::claims::AccessClaims;
use super::server::{ResourceServer, Verification};
use crate::credentials::bearer;
use crate::decision::{
    Completion, Deciding, Decision, DecisionFuture, Gate, Protocol, RequestHead,
};
use crate::error::{AuthError, AuthErrorKind};

impl ResourceServer {
    /// What the layer decides about each request, for an adapter of another framework (see
    /// [`decision`](crate::decision)).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use tower_jwt_auth::decision::{Decision, RequestHead};
    /// use tower_jwt_auth::oidc::{Issuer, RemoteKeys, ResourceServer};
    ///
    /// let server = ResourceServer::builder()
    ///     .issuer(Issuer::any(RemoteKeys::from_jwk_set(&serde_json::from_str(r#"{"keys":[]}"#)?)?))
    ///     .build()?;
    /// let request = http::Request::get("/orders").body(())?;
    /// let Decision::Refuse(refusal) = server.gate().decide(RequestHead::from(&request)).await else {
    ///     panic!("no bearer token");
    /// };
    /// assert_eq!(refusal.status(), 401);
    /// assert_eq!(refusal.headers()["www-authenticate"], "Bearer");
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn gate(&self) -> Gate<Self> {
        Gate::new(self.clone())
    }
}

impl Gate<ResourceServer> {
    /// The whole decision on a request: its `Authorization: Bearer` token verified (a `kid`
    /// the issuer's keys lack is looked for in one fetch of them, as
    /// [`ResourceServer::verify`] does), and the request served with the token's claims, or
    /// refused.
    pub fn decide(
        &self,
        head: RequestHead<'_>,
    ) -> impl Future<Output = Decision<AccessClaims>> + Send + use<> {
        self.decide_now(head).decided()
    }

    /// [`decide`](Self::decide), but a decision reached without fetching keys comes back as
    /// one.
    pub fn decide_now(&self, head: RequestHead<'_>) -> Deciding<AccessClaims> {
        let protocol = || Protocol::of(head.headers());
        let refuse = |error| Deciding::Ready(Decision::refuse(error, protocol()));
        let serve = |claims| Decision::serve(claims, Completion::none());
        let token = match bearer(head.headers()) {
            Ok(Some(token)) => token,
            Ok(None) if self.allows_anonymous() => return Deciding::Ready(serve(None)),
            Ok(None) => return refuse(AuthError::new(AuthErrorKind::MissingCredentials)),
            Err(error) => return refuse(error),
        };
        let server = self.judge();
        match server.verify_now(token) {
            Verification::Done(Ok(claims)) => Deciding::Ready(serve(Some(claims))),
            Verification::Done(Err(error)) => refuse(error),
            Verification::UnknownKid(keys, seen) => {
                let (server, token, protocol) = (server.clone(), token.to_owned(), protocol());
                Deciding::Pending(DecisionFuture::new(async move {
                    keys.refetch_for_unknown_kid(seen).await;
                    match server.verify_after_refetch(&token) {
                        Ok(claims) => serve(Some(claims)),
                        Err(error) => Decision::refuse(error, protocol),
                    }
                }))
            }
        }
    }
}
