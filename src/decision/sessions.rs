//! How [`JwtSessions`] decide: the credentials read, the cross-site check passed, the tokens
//! verified, and then the pair check or the refresh.

use std::future::Future;
use std::sync::Arc;

use http::HeaderValue;
use http::header::CACHE_CONTROL;

use super::completion::Completion;
use super::gate::{Deciding, Decision, DecisionFuture, Gate};
use super::head::RequestHead;
use super::refusal::Protocol;
use crate::cookie::csrf;
use crate::credentials::{Carrier, Credentials, Found};
use crate::engine::{Engine, PairCheck};
use crate::error::{AuthError, AuthErrorKind, invalid_request};
use crate::sessions::JwtSessions;
use crate::token::{Claims, CustomClaims, TokenKind};

impl<C: CustomClaims> Gate<JwtSessions<C>> {
    /// The whole decision on a request (S3 to S8, T1 to T3), which awaits the store only when
    /// it must:
    ///
    /// - `Authorization: Bearer <access>` (or the access cookie), valid and, with the pair
    ///   check, its session's current token: served with its claims.
    /// - The refresh header (or cookie) alone, or beside an access token that has **expired**:
    ///   the store refreshes the session and the request is served with the new access
    ///   token's claims; the [`Completion`] carries the new tokens to the response. A valid
    ///   access token always wins, and beside one the refresh header is not even read. Both
    ///   tokens must name one session (`400` otherwise). A service without a signing key
    ///   ignores refresh tokens.
    /// - A credential from a cookie puts an unsafe request under the cross-site check (`403`).
    /// - Anything else is refused.
    pub fn decide(
        &self,
        head: RequestHead<'_>,
    ) -> impl Future<Output = Decision<Claims<C>>> + Send + use<C> {
        self.decide_now(head).decided()
    }

    /// [`decide`](Self::decide), but a decision reached without waiting — a refusal, or an
    /// access token whose pair check the store answered at once — comes back as one, and only
    /// a refresh or a store that must be awaited costs a future.
    #[inline]
    pub fn decide_now(&self, head: RequestHead<'_>) -> Deciding<Claims<C>> {
        let engine = self.judge().engine();
        let protocol = || Protocol::of(head.headers());
        let refuse = |error| Deciding::Ready(Decision::refuse(error, protocol()));
        let (claims, now) = match verdict(engine, head, self.allows_anonymous()) {
            Verdict::Refuse(error) => return refuse(error),
            Verdict::Anonymous => {
                return Deciding::Ready(Decision::serve(None, Completion::none()));
            }
            Verdict::Refresh {
                claims,
                now,
                carrier,
            } => {
                let refresh = refresh(engine.clone(), claims, now, carrier, protocol());
                return Deciding::Pending(DecisionFuture::new(refresh));
            }
            // One clock reading serves the token's time window and the pair check.
            Verdict::Access { claims, now } => (claims, now),
        };
        match engine.check_pair_now(claims, now) {
            PairCheck::Decided(Ok(claims)) => {
                Deciding::Ready(Decision::serve(Some(claims), Completion::none()))
            }
            PairCheck::Decided(Err(error)) => refuse(error),
            PairCheck::Pending(claims) => {
                let (engine, protocol) = (engine.clone(), protocol());
                Deciding::Pending(DecisionFuture::new(async move {
                    match engine.check_pair(claims, now).await {
                        Ok(claims) => Decision::serve(Some(claims), Completion::none()),
                        Err(error) => Decision::refuse(error, protocol),
                    }
                }))
            }
        }
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
fn verdict<C: CustomClaims>(
    engine: &Engine,
    head: RequestHead<'_>,
    allow_anonymous: bool,
) -> Verdict<C> {
    match read_and_verify(engine, head, allow_anonymous) {
        // The credentials were read quickly; a refusal names the first defect a full reading
        // finds, as if it had been made before anything was verified.
        Verdict::Refuse(error) => {
            let strict = engine.sources().extract_strict(head.headers());
            Verdict::Refuse(strict.err().unwrap_or(error))
        }
        verdict => verdict,
    }
}

fn read_and_verify<C: CustomClaims>(
    engine: &Engine,
    head: RequestHead<'_>,
    allow_anonymous: bool,
) -> Verdict<C> {
    let credentials = match engine.sources().extract(head.headers()) {
        Ok(credentials) => credentials,
        Err(error) => return Verdict::Refuse(error),
    };
    if credentials.is_ambient()
        && let Err(error) = csrf::check(head, engine.config().cookies())
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
                None => match engine.sources().refresh_header(head.headers()) {
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

/// The refresh of a verified refresh token, decided.
async fn refresh<C: CustomClaims>(
    engine: Arc<Engine>,
    claims: Claims<C>,
    now: u64,
    carrier: Carrier,
    protocol: Protocol,
) -> Decision<Claims<C>> {
    match refreshed(engine, claims, now, carrier).await {
        Ok((claims, completion)) => Decision::serve(Some(claims), completion),
        Err(error) => Decision::refuse(error, protocol),
    }
}

/// The refresh of a verified refresh token: the new access token's claims, and the new tokens
/// for the response, which go back the way the refresh token came: in cookies or in headers.
async fn refreshed<C: CustomClaims>(
    engine: Arc<Engine>,
    claims: Claims<C>,
    now: u64,
    carrier: Carrier,
) -> Result<(Claims<C>, Completion), AuthError> {
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
    let completion = Completion::minted(headers, engine.clone(), sid, jti, now);
    Ok((claims, completion))
}
