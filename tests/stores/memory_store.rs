//! The pair-store conformance suite, run against the embedded `MemoryStore`, plus the memory
//! store's own atomicity proof with real threads.

use std::sync::{Arc, Barrier};

use tower_jwt_auth::store::MemoryStore;
use tower_jwt_auth::store::{PairStore, RefreshOutcome, RefreshRequest, conformance};

tower_jwt_auth::pair_store_conformance!(async { MemoryStore::new() });

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
        .block_on(future)
}

/// Releases 64 OS threads at once, each running one refresh against `store`.
fn race(store: &MemoryStore, request: impl Fn() -> RefreshRequest) -> Vec<RefreshOutcome> {
    let barrier = Arc::new(Barrier::new(64));
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..64)
            .map(|_| {
                let (store, barrier, request) = (store.clone(), barrier.clone(), request());
                scope.spawn(move || {
                    barrier.wait();
                    block_on(store.refresh(request)).expect("refresh")
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    })
}

/// 64 OS threads on one session: the refresh decision is one atomic step, so exactly one mints
/// and the other 63 see its tokens (grace replay), with and without rotation.
#[test]
fn concurrency_64_threads_refresh_one_session_atomically() {
    for rotation in [false, true] {
        let store = MemoryStore::new();
        let session = block_on(conformance::new_session(&store, "threads"));
        let now = session.access().exp;
        let outcomes = race(&store, || {
            conformance::refresh_request(&session, session.refresh().jti, now, rotation)
        });
        conformance::assert_one_consistent_outcome(&outcomes);
    }
}

/// Theft under contention: 64 threads refresh while the access token is unexpired; exactly one
/// sees the theft and revokes, the rest find the session revoked, none is granted tokens.
#[test]
fn concurrency_theft_verdict_is_never_split() {
    let store = MemoryStore::new();
    let session = block_on(conformance::new_session(&store, "race"));
    let now = session.access().exp - 1;
    let outcomes = race(&store, || {
        conformance::refresh_request(&session, session.refresh().jti, now, false)
    });
    let count = |wanted: RefreshOutcome| outcomes.iter().filter(|o| **o == wanted).count();
    let verdicts = (
        count(RefreshOutcome::TheftDetected),
        count(RefreshOutcome::Revoked),
    );
    assert_eq!(verdicts, (1, 63), "{outcomes:?}");
}
