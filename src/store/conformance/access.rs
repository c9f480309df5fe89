//! The access check: a session's current access token, and no other, is current.

use super::{T0, access, id, new_session};
use crate::SessionId;
use crate::store::{AccessCheck, PairStore};

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
