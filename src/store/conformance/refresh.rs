//! Refreshes: minting after expiry, the theft rule, the grace window, rotation and reuse, and
//! many refreshes of one session at once.

use super::{ACCESS_TTL, GRACE, T0, access, granted, id, new_session, refresh, refresh_request};
use crate::store::{AccessCheck, PairStore, RefreshOutcome};

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
