//! What the crate tells the world about its decisions: a `tracing` event for each, under the
//! target `tower_jwt_auth` with an `outcome` field, and, with the `metrics` feature, counters and
//! one histogram through the `metrics` facade.
//!
//! | event (`outcome`) | level | also counted as |
//! | --- | --- | --- |
//! | `accepted`, `anonymous` | debug | `jwt_auth_requests_total{outcome}` |
//! | `refused` (with `reason`) | debug for an expired or missing token, info otherwise | `jwt_auth_requests_total{outcome="refused"}` |
//! | `unavailable` (the store failed), `error` | error | `jwt_auth_requests_total{outcome}` |
//! | `refreshed`, `grace_reuse` | info | `jwt_auth_refreshes_total{result="ok"\|"grace"}`, and the request as `refreshed` |
//! | `theft`, `rotation_reuse` | warn | `jwt_auth_refreshes_total{result="theft"\|"reuse"}` |
//! | a refresh token refused | — | `jwt_auth_refreshes_total{result="expired"\|"invalid"}` |
//! | `revoked` (with `scope`) | info | `jwt_auth_revocations_total{scope="session"\|"subject"}`, by sessions ended |
//!
//! Every store call is timed into `jwt_auth_store_seconds{op}` (`create`, `check`, `refresh`,
//! `revoke_session`, `revoke_subject`). Label values are these fixed words, never a subject, a
//! session or a token. Events carry a session id or subject only where a session changed state
//! (a theft, a revocation); no event carries a token, a secret or a signature.

use crate::error::{AuthError, AuthErrorKind};
use crate::id::SessionId;

/// How a request through the layer ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RequestOutcome {
    Accepted,
    Anonymous,
    Refreshed,
}

impl RequestOutcome {
    fn label(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Anonymous => "anonymous",
            Self::Refreshed => "refreshed",
        }
    }
}

/// A request served.
pub(crate) fn served(outcome: RequestOutcome) {
    tracing::debug!(target: "tower_jwt_auth", outcome = outcome.label(), "request served");
    count_request(outcome.label());
}

/// A request refused with `error`.
pub(crate) fn refused(error: &AuthError) {
    let reason = error.description();
    match error.kind() {
        AuthErrorKind::StoreUnavailable => {
            tracing::error!(target: "tower_jwt_auth", outcome = "unavailable", %error,
                "request refused: the session store failed");
            count_request("unavailable");
        }
        AuthErrorKind::KeysUnavailable => {
            tracing::warn!(target: "tower_jwt_auth", outcome = "unavailable", %error,
                "request refused: no signing keys yet");
            count_request("unavailable");
        }
        AuthErrorKind::Internal | AuthErrorKind::InvalidCustomClaims => {
            tracing::error!(target: "tower_jwt_auth", outcome = "error", %error,
                "request refused by a failure on this side");
            count_request("error");
        }
        AuthErrorKind::Expired | AuthErrorKind::MissingCredentials => {
            tracing::debug!(target: "tower_jwt_auth", outcome = "refused", reason,
                "request refused");
            count_request("refused");
        }
        _ => {
            tracing::info!(target: "tower_jwt_auth", outcome = "refused", reason,
                "request refused");
            count_request("refused");
        }
    }
}

/// The result of a refresh, as `jwt_auth_refreshes_total` counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RefreshResult {
    Ok,
    Grace,
    Theft,
    Reuse,
    Expired,
    Invalid,
}

/// A refresh token refused before any session is known: it did not verify, or it has expired.
pub(crate) fn refresh_token_refused(error: &AuthError) {
    count_refresh(match error.kind() {
        AuthErrorKind::Expired => RefreshResult::Expired,
        _ => RefreshResult::Invalid,
    });
}

/// A refresh of session `sid`, of subject `sub`, as the store decided it.
pub(crate) fn refresh(result: RefreshResult, sid: SessionId, sub: &str) {
    match result {
        RefreshResult::Ok => {
            tracing::info!(target: "tower_jwt_auth", outcome = "refreshed", "session refreshed");
        }
        RefreshResult::Grace => {
            tracing::info!(target: "tower_jwt_auth", outcome = "grace_reuse",
                "refresh inside the grace window: the same tokens again");
        }
        RefreshResult::Theft => {
            tracing::warn!(target: "tower_jwt_auth", outcome = "theft", %sid, sub,
                "refresh while the access token was valid; session revoked");
        }
        RefreshResult::Reuse => {
            tracing::warn!(target: "tower_jwt_auth", outcome = "rotation_reuse", %sid, sub,
                "rotated refresh token reused; session revoked");
        }
        RefreshResult::Expired | RefreshResult::Invalid => {}
    }
    count_refresh(result);
}

fn count_refresh(result: RefreshResult) {
    let label = match result {
        RefreshResult::Ok => "ok",
        RefreshResult::Grace => "grace",
        RefreshResult::Theft => "theft",
        RefreshResult::Reuse => "reuse",
        RefreshResult::Expired => "expired",
        RefreshResult::Invalid => "invalid",
    };
    #[cfg(feature = "metrics")]
    metrics::counter!("jwt_auth_refreshes_total", "result" => label).increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = label;
}

/// Sessions ended by a logout (`session`) or a "log out everywhere" (`subject`).
pub(crate) fn revoked(scope: &'static str, ended: usize) {
    tracing::info!(target: "tower_jwt_auth", outcome = "revoked", scope, ended, "sessions revoked");
    #[cfg(feature = "metrics")]
    metrics::counter!("jwt_auth_revocations_total", "scope" => scope)
        .increment(u64::try_from(ended).unwrap_or(u64::MAX));
}

fn count_request(outcome: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!("jwt_auth_requests_total", "outcome" => outcome).increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = outcome;
}

/// Runs one store call, timing it into `jwt_auth_store_seconds{op}` with the `metrics` feature.
pub(crate) async fn store_call<T>(op: &'static str, call: impl Future<Output = T>) -> T {
    #[cfg(feature = "metrics")]
    {
        let start = std::time::Instant::now();
        let output = call.await;
        metrics::histogram!("jwt_auth_store_seconds", "op" => op).record(start.elapsed());
        output
    }
    #[cfg(not(feature = "metrics"))]
    {
        let _ = op;
        call.await
    }
}

/// [`store_call`] for a call that may answer without waiting: timed only when it did.
pub(crate) fn store_call_now<T>(op: &'static str, call: impl FnOnce() -> Option<T>) -> Option<T> {
    #[cfg(feature = "metrics")]
    {
        let start = std::time::Instant::now();
        let output = call();
        if output.is_some() {
            metrics::histogram!("jwt_auth_store_seconds", "op" => op).record(start.elapsed());
        }
        output
    }
    #[cfg(not(feature = "metrics"))]
    {
        let _ = op;
        call()
    }
}
