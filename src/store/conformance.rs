//! The behaviour every [`PairStore`] must show, as a test suite any backend can run.
//!
//! Each function sets up its own sessions on the store it is given and panics, like a test, on
//! the first deviation. [`pair_store_conformance!`](crate::pair_store_conformance) turns the whole
//! suite into `#[tokio::test]` functions, including a 64-way concurrent refresh; use it from a
//! test file of the backend (it needs `tokio` with the `macros` and `rt-multi-thread` features):
//!
//! ```
//! tower_jwt_auth::pair_store_conformance!(async { tower_jwt_auth::MemoryStore::new() });
//! # fn main() {}
//! ```
//!
//! The functions can also be called one by one:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use tower_jwt_auth::store::conformance;
//! conformance::theft_revokes_both_tokens(&tower_jwt_auth::MemoryStore::new()).await;
//! # }
//! ```

use super::{AccessCheck, NewSession, PairStore, RefreshOutcome, RefreshRequest, TokenStamp};
use crate::id::{SessionId, TokenId};

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

/// T1: the first access token of a new session is current; another `jti` is not; an unknown
/// session is unknown.
pub async fn access_of_new_session_is_current<S: PairStore>(store: &S) {
    let s = new_session(store, "t1").await;
    let sid = s.session_id();
    assert_eq!(
        access(store, sid, s.access().jti, T0 + 1).await,
        AccessCheck::Current
    );
    assert_eq!(
        access(store, sid, id(), T0 + 1).await,
        AccessCheck::Superseded
    );
    let stranger = SessionId::random().expect("random source");
    assert_eq!(
        access(store, stranger, s.access().jti, T0).await,
        AccessCheck::Unknown
    );
}

/// S7: a refresh after the access token expired records and returns the new access token;
/// the old one is superseded.
pub async fn refresh_after_expiry_mints<S: PairStore>(store: &S) {
    let s = new_session(store, "s7").await;
    let now = s.access().exp;
    let request = refresh_request(&s, s.refresh().jti, now, false);
    let (new_access, new_refresh, replayed) = granted(refresh(store, request).await);
    assert_eq!(new_access, request.new_access);
    assert!(new_refresh.is_none() && !replayed);
    let sid = s.session_id();
    assert_eq!(
        access(store, sid, new_access.jti, now).await,
        AccessCheck::Current
    );
    assert_eq!(
        access(store, sid, s.access().jti, now).await,
        AccessCheck::Superseded
    );
}

/// T3: a refresh while the stored access token is unexpired revokes the session; both tokens
/// are refused afterwards.
pub async fn theft_revokes_both_tokens<S: PairStore>(store: &S) {
    let s = new_session(store, "t3").await;
    let now = s.access().exp - 1;
    let request = refresh_request(&s, s.refresh().jti, now, false);
    assert_eq!(refresh(store, request).await, RefreshOutcome::TheftDetected);
    let sid = s.session_id();
    assert_eq!(
        access(store, sid, s.access().jti, now).await,
        AccessCheck::Revoked
    );
    let later = refresh_request(&s, s.refresh().jti, s.access().exp + 60, false);
    assert_eq!(refresh(store, later).await, RefreshOutcome::Revoked);
}

/// Grace: repeats inside the window get the same tokens; after it, the theft rule applies.
pub async fn grace_window_replays_then_closes<S: PairStore>(store: &S) {
    let s = new_session(store, "grace").await;
    let t = s.access().exp;
    let first = granted(refresh(store, refresh_request(&s, s.refresh().jti, t, false)).await);
    for dt in [0, 1, GRACE - 1] {
        let again = refresh(store, refresh_request(&s, s.refresh().jti, t + dt, false)).await;
        let (access, refresh, replayed) = granted(again);
        assert_eq!((access, refresh), (first.0, first.1));
        assert!(replayed);
    }
    let late = refresh_request(&s, s.refresh().jti, t + GRACE, false);
    assert_eq!(refresh(store, late).await, RefreshOutcome::TheftDetected);
}

/// A zero grace window turns replay off: an immediate second refresh is theft.
pub async fn zero_grace_means_no_replay<S: PairStore>(store: &S) {
    let s = new_session(store, "nograce").await;
    let t = s.access().exp;
    let mut request = refresh_request(&s, s.refresh().jti, t, false);
    request.grace = 0;
    granted(refresh(store, request).await);
    let mut again = refresh_request(&s, s.refresh().jti, t, false);
    again.grace = 0;
    assert_eq!(refresh(store, again).await, RefreshOutcome::TheftDetected);
}

/// With theft detection off, an early refresh simply supersedes the access token.
pub async fn theft_detection_off_supersedes<S: PairStore>(store: &S) {
    let s = new_session(store, "lenient").await;
    let mut request = refresh_request(&s, s.refresh().jti, T0 + 1, false);
    request.theft_detection = false;
    let (new_access, _, _) = granted(refresh(store, request).await);
    let sid = s.session_id();
    assert_eq!(
        access(store, sid, s.access().jti, T0 + 1).await,
        AccessCheck::Superseded
    );
    assert_eq!(
        access(store, sid, new_access.jti, T0 + 1).await,
        AccessCheck::Current
    );
}

/// Rotation: a refresh returns a new refresh token that ends with the session; the old one
/// replays inside the grace window and revokes the family after it (RFC 9700 §4.14.2).
pub async fn rotation_detects_reuse<S: PairStore>(store: &S) {
    let s = new_session(store, "rotation").await;
    let t = s.access().exp;
    let (access1, refresh1, _) =
        granted(refresh(store, refresh_request(&s, s.refresh().jti, t, true)).await);
    let refresh1 = refresh1.expect("rotation returns a refresh token");
    assert_ne!(refresh1.jti, s.refresh().jti);
    assert_eq!(
        refresh1.exp,
        s.refresh().exp,
        "rotation never extends the session"
    );
    let replay = granted(refresh(store, refresh_request(&s, s.refresh().jti, t + 1, true)).await);
    assert_eq!(
        (replay.0, replay.1, replay.2),
        (access1, Some(refresh1), true)
    );
    // The new refresh token works normally once its access token expired.
    let t2 = access1.exp;
    let (_, refresh2, _) =
        granted(refresh(store, refresh_request(&s, refresh1.jti, t2, true)).await);
    assert!(refresh2.is_some());
    // The first refresh token, used long ago, comes back: the family dies.
    let reuse = refresh_request(&s, s.refresh().jti, t2 + GRACE + 1, true);
    assert_eq!(refresh(store, reuse).await, RefreshOutcome::ReuseDetected);
    let after = refresh_request(
        &s,
        refresh2.expect("rotated").jti,
        t2 + 2 * ACCESS_TTL,
        true,
    );
    assert_eq!(refresh(store, after).await, RefreshOutcome::Revoked);
}

/// A refresh token the session never had is unknown (without rotation) and changes nothing.
pub async fn foreign_refresh_token_is_unknown<S: PairStore>(store: &S) {
    let s = new_session(store, "foreign").await;
    let request = refresh_request(&s, id(), s.access().exp, false);
    assert_eq!(refresh(store, request).await, RefreshOutcome::Unknown);
    let sid = s.session_id();
    assert_eq!(
        access(store, sid, s.access().jti, T0).await,
        AccessCheck::Current
    );
}

/// Refreshing a session past its end fails and mints nothing; access tokens minted near the end
/// never outlive the session.
pub async fn session_end_is_absolute<S: PairStore>(store: &S) {
    let s = new_session(store, "end").await;
    let end = s.refresh().exp;
    let near_end = end - 10;
    let (access, _, _) =
        granted(refresh(store, refresh_request(&s, s.refresh().jti, near_end, false)).await);
    assert_eq!(access.exp, end, "access token capped at the session's end");
    let request = refresh_request(&s, s.refresh().jti, end + ACCESS_TTL, false);
    assert_eq!(refresh(store, request).await, RefreshOutcome::Unknown);
}

/// Logout: revoking a session refuses both its tokens and holds; revoking again reports false.
pub async fn revoke_session_holds<S: PairStore>(store: &S) {
    let s = new_session(store, "logout").await;
    let sid = s.session_id();
    assert!(store.revoke_session(sid, T0 + 1).await.expect("revoke"));
    assert!(!store.revoke_session(sid, T0 + 2).await.expect("revoke"));
    assert_eq!(
        access(store, sid, s.access().jti, T0 + 3).await,
        AccessCheck::Revoked
    );
    let request = refresh_request(&s, s.refresh().jti, s.access().exp, false);
    assert_eq!(refresh(store, request).await, RefreshOutcome::Revoked);
    let stranger = SessionId::random().expect("random source");
    assert!(!store.revoke_session(stranger, T0).await.expect("revoke"));
}

/// A session id is never reused: creating another session under the id of a revoked one fails
/// with [`StoreErrorKind::Conflict`](super::StoreErrorKind::Conflict) and the revoked session
/// stays revoked; a repeat of the very same creation (a retry after a lost reply) succeeds and
/// changes nothing.
pub async fn session_ids_are_never_reused<S: PairStore>(store: &S) {
    let s = new_session(store, "reuse").await;
    let sid = s.session_id();
    store
        .create_session(s.clone())
        .await
        .expect("a repeat of the same creation succeeds");
    assert!(store.revoke_session(sid, T0 + 1).await.expect("revoke"));
    let impostor = NewSession::new(
        sid,
        "reuse",
        stamp(T0 + 2, ACCESS_TTL),
        stamp(T0 + 2, SESSION_TTL),
    );
    let error = store
        .create_session(impostor.clone())
        .await
        .expect_err("a second session under one id");
    assert_eq!(error.kind(), super::StoreErrorKind::Conflict);
    for jti in [s.access().jti, impostor.access().jti] {
        assert_eq!(access(store, sid, jti, T0 + 3).await, AccessCheck::Revoked);
    }
    store
        .create_session(s.clone())
        .await
        .expect("a repeat of the same creation succeeds");
    assert_eq!(
        access(store, sid, s.access().jti, T0 + 3).await,
        AccessCheck::Revoked,
        "and changes nothing"
    );
}

/// A subject over its limit of live sessions loses those that end first, never the new one; a
/// revoked or ended session does not count, and other subjects are untouched.
pub async fn subject_limit_ends_the_sessions_that_end_first<S: PairStore>(store: &S) {
    let limited = |iat: u64| {
        NewSession::new(
            SessionId::random().expect("random source"),
            "limited",
            stamp(iat, ACCESS_TTL),
            stamp(iat, SESSION_TTL),
        )
        .with_subject_limit(2)
    };
    let other = new_session(store, "unlimited").await;
    let sessions = [limited(T0), limited(T0 + 10), limited(T0 + 20)];
    let now = T0 + 30;
    let live = |s: &NewSession| {
        let (sid, jti) = (s.session_id(), s.access().jti);
        async move { access(store, sid, jti, now).await }
    };
    for s in &sessions[..2] {
        store.create_session(s.clone()).await.expect("create");
    }
    assert_eq!(live(&sessions[0]).await, AccessCheck::Current);
    store
        .create_session(sessions[2].clone())
        .await
        .expect("create");
    assert_eq!(
        live(&sessions[0]).await,
        AccessCheck::Revoked,
        "the first to end goes"
    );
    assert_eq!(live(&sessions[1]).await, AccessCheck::Current);
    assert_eq!(live(&sessions[2]).await, AccessCheck::Current);
    assert_eq!(live(&other).await, AccessCheck::Current);
    // A logout frees a place: the next login ends nobody.
    assert!(
        store
            .revoke_session(sessions[1].session_id(), now)
            .await
            .expect("revoke")
    );
    let fourth = limited(T0 + 25);
    store.create_session(fourth.clone()).await.expect("create");
    assert_eq!(live(&sessions[2]).await, AccessCheck::Current);
    assert_eq!(live(&fourth).await, AccessCheck::Current);
    // A new session that would end before the others still stays: never the one just made.
    let early = NewSession::new(
        SessionId::random().expect("random source"),
        "limited",
        stamp(T0 + 26, 60),
        stamp(T0 + 26, 120),
    )
    .with_subject_limit(2);
    store.create_session(early.clone()).await.expect("create");
    assert_eq!(live(&early).await, AccessCheck::Current);
    assert_eq!(live(&sessions[2]).await, AccessCheck::Revoked);
    assert_eq!(live(&fourth).await, AccessCheck::Current);
}

/// Revoking a subject revokes all of its sessions and no one else's.
pub async fn revoke_subject_revokes_only_that_subject<S: PairStore>(store: &S) {
    let a1 = new_session(store, "subject-a").await;
    let a2 = new_session(store, "subject-a").await;
    let b = new_session(store, "subject-b").await;
    assert_eq!(
        store
            .revoke_subject("subject-a", T0 + 1)
            .await
            .expect("revoke"),
        2
    );
    for s in [&a1, &a2] {
        let check = access(store, s.session_id(), s.access().jti, T0 + 2).await;
        assert_eq!(check, AccessCheck::Revoked);
    }
    let check = access(store, b.session_id(), b.access().jti, T0 + 2).await;
    assert_eq!(check, AccessCheck::Current);
    assert_eq!(
        store
            .revoke_subject("subject-a", T0 + 3)
            .await
            .expect("revoke"),
        0
    );
    assert_eq!(store.revoke_subject("nobody", T0).await.expect("revoke"), 0);
}

/// Checks the outcomes of many concurrent refreshes of one session whose access token had
/// expired: every one is granted, exactly one minted, and all carry the same tokens.
pub fn assert_one_consistent_outcome(outcomes: &[RefreshOutcome]) {
    let granted: Vec<_> = outcomes.iter().map(|o| granted(*o)).collect();
    let minted = granted.iter().filter(|(_, _, replayed)| !replayed).count();
    assert_eq!(minted, 1, "exactly one refresh mints: {outcomes:?}");
    let (access, refresh, _) = granted[0];
    assert!(
        granted.iter().all(|g| (g.0, g.1) == (access, refresh)),
        "all refreshes see the same tokens: {outcomes:?}"
    );
}

/// Generates the conformance suite as `#[tokio::test]` functions for the store that `$make`
/// (an expression evaluating to a future of the store) builds afresh for each test.
///
/// ```
/// mod memory {
///     tower_jwt_auth::pair_store_conformance!(async { tower_jwt_auth::MemoryStore::new() });
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
