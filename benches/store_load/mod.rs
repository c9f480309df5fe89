//! What the store benchmarks (`redis`, `postgres`) share: a fixed number of operations in
//! flight, cycling over a fixed set of sessions.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tower_jwt_auth::TokenId;
use tower_jwt_auth::store::TokenStamp;

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
pub(crate) fn run<F, Fut>(runtime: &tokio::runtime::Runtime, iters: u64, op: F) -> Duration
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
