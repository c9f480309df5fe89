//! The behaviour every [`PairStore`] must show, as a test suite any backend can run.
//!
//! Each function sets up its own sessions on the store it is given and panics, like a test, on
//! the first deviation. [`pair_store_conformance!`](crate::pair_store_conformance) turns the whole
//! suite into `#[tokio::test]` functions, including a 64-way concurrent refresh; use it from a
//! test file of the backend (it needs `tokio` with the `macros` and `rt-multi-thread` features):
//!
//! ```
//! tower_jwt_auth::pair_store_conformance!(async { tower_jwt_auth::store::MemoryStore::new() });
//! # fn main() {}
//! ```
//!
//! The scenarios are grouped by topic: the access check (`access.rs`), refreshes with the theft
//! rule, grace window and rotation (`refresh.rs`), and a session's life around them, from
//! creation to revocation (`lifecycle.rs`). The functions can also be called one by one:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use tower_jwt_auth::store::conformance;
//! conformance::theft_revokes_both_tokens(&tower_jwt_auth::store::MemoryStore::new()).await;
//! # }
//! ```

use super::{AccessCheck, NewSession, PairStore, RefreshOutcome, RefreshRequest, TokenStamp};
use crate::{SessionId, TokenId};

mod access;
mod lifecycle;
mod refresh;

pub use access::access_of_new_session_is_current;
pub use lifecycle::{
    revoke_session_holds, revoke_subject_revokes_only_that_subject, session_end_is_absolute,
    session_ids_are_never_reused, subject_limit_ends_the_sessions_that_end_first,
};
pub use refresh::{
    assert_one_consistent_outcome, foreign_refresh_token_is_unknown,
    grace_window_replays_then_closes, refresh_after_expiry_mints, rotation_detects_reuse,
    theft_detection_off_supersedes, theft_revokes_both_tokens, zero_grace_means_no_replay,
};

/// Time at which every scenario starts.
pub const T0: u64 = 1_000_000;
/// Access-token lifetime used by the scenarios.
pub const ACCESS_TTL: u64 = 900;
/// Session lifetime used by the scenarios.
pub const SESSION_TTL: u64 = 86_400;
/// Grace window used by the scenarios.
pub const GRACE: u64 = 10;

fn id() -> TokenId {
    TokenId::random().expect("random source")
}

fn stamp(iat: u64, ttl: u64) -> TokenStamp {
    TokenStamp {
        jti: id(),
        iat,
        exp: iat + ttl,
    }
}

/// A session created at [`T0`] for `subject`, as recorded.
pub async fn new_session<S: PairStore>(store: &S, subject: &str) -> NewSession {
    let session = NewSession::new(
        SessionId::random().expect("random source"),
        subject,
        stamp(T0, ACCESS_TTL),
        stamp(T0, SESSION_TTL),
    );
    store
        .create_session(session.clone())
        .await
        .expect("create_session");
    session
}

/// A refresh of `session` with its current refresh token `refresh_jti` at `now`, under the
/// scenarios' policy (grace [`GRACE`], theft detection on, rotation as given).
#[must_use]
pub fn refresh_request(
    session: &NewSession,
    refresh_jti: TokenId,
    now: u64,
    rotation: bool,
) -> RefreshRequest {
    RefreshRequest {
        sid: session.session_id(),
        refresh_jti,
        now,
        new_access: stamp(now, ACCESS_TTL),
        new_refresh: rotation.then(|| stamp(now, SESSION_TTL)),
        grace: GRACE,
        leeway: 0,
        theft_detection: true,
    }
}

async fn refresh<S: PairStore>(store: &S, request: RefreshRequest) -> RefreshOutcome {
    store.refresh(request).await.expect("refresh")
}

async fn access<S: PairStore>(store: &S, sid: SessionId, jti: TokenId, now: u64) -> AccessCheck {
    store
        .check_access(sid, jti, now)
        .await
        .expect("check_access")
}

fn granted(outcome: RefreshOutcome) -> (TokenStamp, Option<TokenStamp>, bool) {
    match outcome {
        RefreshOutcome::Granted {
            access,
            refresh,
            replayed,
        } => (access, refresh, replayed),
        other => panic!("expected Granted, got {other:?}"),
    }
}

/// Generates the conformance suite as `#[tokio::test]` functions for the store that `$make`
/// (an expression evaluating to a future of the store) builds afresh for each test.
///
/// ```
/// mod memory {
///     tower_jwt_auth::pair_store_conformance!(async { tower_jwt_auth::store::MemoryStore::new() });
/// }
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! pair_store_conformance {
    ($make:expr) => {
        $crate::pair_store_conformance!(@each $make;
            access_of_new_session_is_current,
            refresh_after_expiry_mints,
            theft_revokes_both_tokens,
            grace_window_replays_then_closes,
            zero_grace_means_no_replay,
            theft_detection_off_supersedes,
            rotation_detects_reuse,
            foreign_refresh_token_is_unknown,
            session_end_is_absolute,
            revoke_session_holds,
            session_ids_are_never_reused,
            subject_limit_ends_the_sessions_that_end_first,
            revoke_subject_revokes_only_that_subject,
        );

        #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn concurrent_refreshes_agree() {
            use $crate::store::{conformance, PairStore};
            for rotation in [false, true] {
                let store = ::std::sync::Arc::new($make.await);
                let session = conformance::new_session(&*store, "concurrent").await;
                let now = session.access().exp;
                let tasks: ::std::vec::Vec<_> = (0..64)
                    .map(|_| {
                        let store = store.clone();
                        let request = conformance::refresh_request(
                            &session,
                            session.refresh().jti,
                            now,
                            rotation,
                        );
                        ::tokio::spawn(async move { store.refresh(request).await })
                    })
                    .collect();
                let mut outcomes = ::std::vec::Vec::new();
                for task in tasks {
                    outcomes.push(task.await.expect("task").expect("refresh"));
                }
                conformance::assert_one_consistent_outcome(&outcomes);
            }
        }
    };
    (@each $make:expr; $($name:ident),* $(,)?) => {
        $(
            #[::tokio::test]
            async fn $name() {
                $crate::store::conformance::$name(&$make.await).await;
            }
        )*
    };
}
