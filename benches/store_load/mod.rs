//! What the store benchmarks (`redis`, `postgres`) share: a fixed number of operations in
//! flight, cycling over a fixed set of sessions.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use std::hint::black_box;

use criterion::BenchmarkGroup;
use criterion::measurement::WallTime;
use tokio::runtime::Runtime;
use tower_jwt_auth::store::{NewSession, PairStore, RefreshRequest, TokenStamp};
use tower_jwt_auth::{JwtSessions, ManualClock, TokenId};

/// Operations in flight at once, for every figure.
pub(crate) const IN_FLIGHT: u64 = 32;
/// Sessions the operations cycle through.
pub(crate) const SESSIONS: usize = 1_024;
pub(crate) const NOW: u64 = 1_700_000_000;
pub(crate) const SECRET: &[u8] = b"benchmark-secret-of-32-bytes-min";

pub(crate) fn stamp(iat: u64, exp: u64) -> TokenStamp {
    TokenStamp {
        jti: TokenId::random().expect("random source"),
        iat,
        exp,
    }
}

/// Runs `iters` calls of `op` (given the call's number) with `IN_FLIGHT` of them in flight, and
/// returns the wall time of the whole run.
pub(crate) fn run<F, Fut>(runtime: &Runtime, iters: u64, op: F) -> Duration
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send,
{
    let op = Arc::new(op);
    let next = Arc::new(AtomicU64::new(0));
    runtime.block_on(async {
        let start = Instant::now();
        let workers: Vec<_> = (0..IN_FLIGHT)
            .map(|_| {
                let (op, next) = (op.clone(), next.clone());
                tokio::spawn(async move {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= iters {
                            break;
                        }
                        op(i).await;
                    }
                })
            })
            .collect();
        for worker in workers {
            worker.await.expect("worker");
        }
        start.elapsed()
    })
}

/// The figures every store reports: its access check, a refresh that mints, and the layer's
/// whole access path (JWT verification plus the pair check) on it. `sessions` are stored.
pub(crate) fn store_operations<S: PairStore + Clone>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    runtime: &Runtime,
    store: &S,
    sessions: &Arc<Vec<NewSession>>,
) {
    group.bench_function("check_access", |b| {
        b.iter_custom(|iters| {
            let (store, sessions) = (store.clone(), sessions.clone());
            run(runtime, iters, move |i| {
                let s = &sessions[i as usize % SESSIONS];
                let (store, sid, jti) = (store.clone(), s.session_id(), s.access().jti);
                async move {
                    black_box(store.check_access(sid, jti, NOW + 1).await.expect("check"));
                }
            })
        })
    });

    // Every refresh mints (no grace replay, theft rule off): the longest path, with its write.
    group.bench_function("refresh_mint", |b| {
        b.iter_custom(|iters| {
            let (store, sessions) = (store.clone(), sessions.clone());
            run(runtime, iters, move |i| {
                let s = &sessions[i as usize % SESSIONS];
                let request = RefreshRequest {
                    sid: s.session_id(),
                    refresh_jti: s.refresh().jti,
                    now: NOW + 1,
                    new_access: stamp(NOW + 1, NOW + 901),
                    new_refresh: None,
                    grace: 0,
                    leeway: 0,
                    theft_detection: false,
                };
                let store = store.clone();
                async move {
                    black_box(store.refresh(request).await.expect("refresh"));
                }
            })
        })
    });

    // The layer's whole access path: JWT verification plus the pair check.
    let jwt = JwtSessions::builder()
        .hs256_secret(SECRET)
        .clock(ManualClock::new(NOW))
        .store(store.clone())
        .build()
        .expect("configuration");
    let tokens: Arc<Vec<String>> = Arc::new(runtime.block_on(async {
        let mut tokens = Vec::new();
        for i in 0..SESSIONS {
            let pair = jwt.issue(format!("bench-{i}"), ()).await.expect("issue");
            tokens.push(pair.access_token().to_owned());
        }
        tokens
    }));
    group.bench_function("authenticate", |b| {
        b.iter_custom(|iters| {
            let (jwt, tokens) = (jwt.clone(), tokens.clone());
            run(runtime, iters, move |i| {
                let (jwt, tokens) = (jwt.clone(), tokens.clone());
                async move {
                    let token = &tokens[i as usize % SESSIONS];
                    black_box(jwt.authenticate(token).await.expect("authenticate"));
                }
            })
        })
    });
}
