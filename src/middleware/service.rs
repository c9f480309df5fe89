//! [`JwtAuth`]: the middleware service.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::CACHE_CONTROL;
use http::{HeaderValue, Request, Response};
use tower_service::Service;

use super::future::{AuthFuture, Grant, Minted, ResponseFuture};
use super::layer::Options;
use super::response::{ErrorResponder, Refusal, Rfc6750, refuse};
use crate::cookie::csrf;
use crate::credentials::{Carrier, Credentials, Found};
use crate::engine::{Engine, PairCheck};
use crate::error::{AuthError, AuthErrorKind, invalid_request};
use crate::observe::{self, RequestOutcome};
use crate::token::{Claims, CustomClaims, TokenKind};

/// Authenticates each request before it reaches the inner service.
///
/// - `Authorization: Bearer <access>`, valid and (with the pair check) current in the store: the
///   inner service is called with [`Claims<C>`](Claims) in the request extensions (S3, T1).
/// - A refresh header (`x-refresh-token` by default) alone, or beside an access token that has
///   **expired**: the refresh token is checked, a new access token is minted and the request is
///   served with its claims; the new token comes back in `x-access-token` with
///   `Cache-Control: no-store` (S6, S7). A valid access token always wins, so clients that send
///   both headers never refresh needlessly (and never trip the theft rule); beside one, the
///   refresh header is not even read. Both tokens must name one session, or the request is
///   `400`.
/// - In cookie mode the same tokens may come in cookies instead; a refresh a cookie carried is
///   answered with `Set-Cookie`, and an unsafe request that carries a cookie credential from
///   another origin is `403` (see [`CookieSettings`](crate::CookieSettings)).
/// - Anything else is refused through the [`ErrorResponder`] (its
///   [`respond_grpc`](ErrorResponder::respond_grpc) for a gRPC call) without calling the inner
///   service.
///
/// Made by [`JwtAuthLayer`](super::JwtAuthLayer).
pub struct JwtAuth<S, C = (), R = Rfc6750> {
    inner: S,
    engine: Arc<Engine>,
    responder: R,
    options: Options,
    claims: PhantomData<fn() -> C>,
}

impl<S, C, R> JwtAuth<S, C, R> {
    pub(crate) fn new(inner: S, engine: Arc<Engine>, responder: R, options: Options) -> Self {
        Self {
            inner,
            engine,
            responder,
            options,
            claims: PhantomData,
        }
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The wrapped service, taken out.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: Clone, C, R> JwtAuth<S, C, R> {
    /// The service `poll_ready` readied, for a future that calls it later; a clone stays.
    /// A request served at once calls `inner` in place and clones nothing.
    fn take_inner(&mut self) -> S {
        let clone = self.inner.clone();
        std::mem::replace(&mut self.inner, clone)
    }
}

impl<S: Clone, C, R: Clone> Clone for JwtAuth<S, C, R> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            engine: self.engine.clone(),
            responder: self.responder.clone(),
            options: self.options,
            claims: PhantomData,
        }
    }
}

impl<S: fmt::Debug, C, R> fmt::Debug for JwtAuth<S, C, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtAuth")
            .field("inner", &self.inner)
            .field("engine", &self.engine)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// What the headers alone decide, before the store is asked.
enum Verdict<C> {
    Refuse(AuthError),
    Anonymous,
    /// A valid access token.
    Access {
        claims: Claims<C>,
        /// The time its window was checked at, and so the pair check's.
        now: u64,
    },
    /// A valid refresh token.
    Refresh {
        claims: Claims<C>,
        /// The time its window was checked at, and so the refresh's.
        now: u64,
        /// What it came in: the new tokens go back in the same.
        carrier: Carrier,
    },
}

/// What the request alone decides: the credentials read, the cross-site check passed, the
/// tokens verified, their sessions matched.
fn verdict<C: CustomClaims, B>(
    engine: &Engine,
    request: &Request<B>,
    allow_anonymous: bool,
) -> Verdict<C> {
    match read_and_verify(engine, request, allow_anonymous) {
        // The credentials were read quickly; a refusal names the first defect a full reading
        // finds, as if it had been made before anything was verified.
        Verdict::Refuse(error) => {
            let strict = engine.sources().extract_strict(request.headers());
            Verdict::Refuse(strict.err().unwrap_or(error))
        }
        verdict => verdict,
    }
}

fn read_and_verify<C: CustomClaims, B>(
    engine: &Engine,
    request: &Request<B>,
    allow_anonymous: bool,
) -> Verdict<C> {
    let credentials = match engine.sources().extract(request.headers()) {
        Ok(credentials) => credentials,
        Err(error) => return Verdict::Refuse(error),
    };
    if credentials.is_ambient()
        && let Err(error) = csrf::check(request, engine.config().cookies())
    {
        return Verdict::Refuse(error);
    }
    // A verify-only service does not take refresh tokens as credentials.
    let credentials = match credentials {
        Credentials::Refresh(_) if !engine.can_mint() => Credentials::None,
        Credentials::Access {
            access,
            refresh: Some(_),
        } if !engine.can_mint() => Credentials::Access {
            access,
            refresh: None,
        },
        credentials => credentials,
    };
    let refresh = |found: Found<'_>| match engine.decode(TokenKind::Refresh, found.token) {
        Ok((claims, now)) => Verdict::Refresh {
            claims,
            now,
            carrier: found.carrier,
        },
        Err(error) => Verdict::Refuse(error),
    };
    match credentials {
        Credentials::None if allow_anonymous => Verdict::Anonymous,
        Credentials::None => Verdict::Refuse(AuthError::new(AuthErrorKind::MissingCredentials)),
        Credentials::Refresh(token) => refresh(token),
        Credentials::Access { access, refresh: r } => {
            let claims = match engine.decode_untimed(TokenKind::Access, access.token) {
                Ok(claims) => claims,
                Err(error) => return Verdict::Refuse(error),
            };
            // The clock is read only once the signature holds.
            let now = engine.now();
            let expired = match engine.check_time(TokenKind::Access, &claims, now) {
                Ok(()) => return Verdict::Access { claims, now },
                Err(e) if e.kind() == AuthErrorKind::Expired && engine.can_mint() => e,
                Err(e) => return Verdict::Refuse(e),
            };
            // A refresh header is read only now that it is needed.
            let r = match r {
                Some(r) => Some(r),
                None => match engine.sources().refresh_header(request.headers()) {
                    Ok(r) => r,
                    Err(error) => return Verdict::Refuse(error),
                },
            };
            match r {
                Some(token) => {
                    match refresh(token) {
                        // Both credentials must name one session: a request is never
                        // served as someone other than the access token it carries.
                        Verdict::Refresh { claims: r, .. }
                            if r.session_id() != claims.session_id() =>
                        {
                            Verdict::Refuse(AuthError::invalid_request(invalid_request!(
                                "the access and refresh tokens belong to different sessions"
                            )))
                        }
                        verdict => verdict,
                    }
                }
                None => Verdict::Refuse(expired),
            }
        }
    }
}

/// The refresh of a verified refresh token, as the future the response waits on. The new
/// tokens go back the way the refresh token came: in cookies or in headers.
fn refresh_future<C: CustomClaims>(
    engine: Arc<Engine>,
    claims: Claims<C>,
    now: u64,
    carrier: Carrier,
) -> AuthFuture<Claims<C>> {
    Box::pin(async move {
        let session_end = claims.expires_at();
        let refreshed = engine.refresh_verified(claims, now).await?;
        let (sid, jti) = (
            refreshed.claims().session_id(),
            refreshed.claims().token_id(),
        );
        let (access, refresh, claims) = refreshed.into_parts();
        let config = engine.config();
        let mut headers = vec![(CACHE_CONTROL, HeaderValue::from_static("no-store"))];
        if let (Carrier::Cookie, Some(cookies)) = (carrier, config.cookies()) {
            let max_age = session_end.saturating_sub(now);
            headers.extend(cookies.set_tokens(&access, refresh.as_deref(), max_age));
        } else {
            let value = |token: String| {
                HeaderValue::try_from(token)
                    .map_err(|e| AuthError::new(AuthErrorKind::Internal).with_source(e))
            };
            let name = config.access_token_response_header().clone();
            headers.push((name, value(access)?));
            if let Some(refresh) = refresh {
                let name = config.refresh_token_response_header().clone();
                headers.push((name, value(refresh)?));
            }
        }
        let minted = Minted::new(headers, engine.clone(), sid, jti, now);
        Ok(Grant::new(claims, Some(minted)))
    })
}

impl<S, C, R, ReqB, ResB> Service<Request<ReqB>> for JwtAuth<S, C, R>
where
    S: Service<Request<ReqB>, Response = Response<ResB>> + Clone,
    ResB: Default,
    C: CustomClaims,
    R: ErrorResponder<ResB>,
{
    type Response = Response<ResB>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqB, Claims<C>, R>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqB>) -> Self::Future {
        let allow_anonymous = self.options.allow_anonymous;
        let (claims, now) = match verdict(&self.engine, &request, allow_anonymous) {
            Verdict::Refuse(error) => {
                let how = Refusal::of(request.headers(), self.options);
                return ResponseFuture::refused(refuse(&self.responder, &error, how));
            }
            Verdict::Anonymous => {
                observe::served(RequestOutcome::Anonymous);
                return ResponseFuture::serving(self.inner.call(request));
            }
            Verdict::Refresh {
                claims,
                now,
                carrier,
            } => {
                let refresh = refresh_future(self.engine.clone(), claims, now, carrier);
                let inner = self.take_inner();
                let responder = self.responder.clone();
                return ResponseFuture::authorizing(
                    refresh,
                    inner,
                    request,
                    responder,
                    self.options,
                );
            }
            // One clock reading serves the token's time window and the pair check.
            Verdict::Access { claims, now } => (claims, now),
        };
        match self.engine.check_pair_now(claims, now) {
            PairCheck::Decided(Ok(claims)) => {
                observe::served(RequestOutcome::Accepted);
                request.extensions_mut().insert(claims);
                ResponseFuture::serving(self.inner.call(request))
            }
            PairCheck::Decided(Err(error)) => {
                let how = Refusal::of(request.headers(), self.options);
                ResponseFuture::refused(refuse(&self.responder, &error, how))
            }
            PairCheck::Pending(claims) => {
                let engine = self.engine.clone();
                let check: AuthFuture<Claims<C>> =
                    Box::pin(
                        async move { Ok(Grant::new(engine.check_pair(claims, now).await?, None)) },
                    );
                let inner = self.take_inner();
                let responder = self.responder.clone();
                ResponseFuture::authorizing(check, inner, request, responder, self.options)
            }
        }
    }
}
