//! A session's life beyond its refreshes: its absolute end, its id never reused, its subject's
//! limit of live sessions, and revocation, of one session or of a whole subject.

use super::{
    ACCESS_TTL, SESSION_TTL, T0, access, granted, new_session, refresh, refresh_request, stamp,
};
use crate::SessionId;
use crate::store::{AccessCheck, NewSession, PairStore, RefreshOutcome, StoreErrorKind};

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

/// A session id is never reused: creating another session under the id of a revoked one fails
/// with [`StoreErrorKind::Conflict`] and the revoked session stays revoked; a repeat of the very
/// same creation (a retry after a lost reply) succeeds and changes nothing.
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
    assert_eq!(error.kind(), StoreErrorKind::Conflict);
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
