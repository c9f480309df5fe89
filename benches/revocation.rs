//! Revocation latency with the Redis near cache: two servers (two stores, each with its own
//! connections) on one Redis. Server A checks a token until its copy holds it; server B revokes
//! the session; A probes without pause until it refuses the token. Reported: the time from B's
//! acknowledged revocation to A's first refusal, over 1,000 revocations, and how many probes
//! still accepted the token after A had applied the invalidation (must be zero).
//!
//! `REDIS_URL=redis://127.0.0.1:6379 cargo bench --bench revocation --features redis`. Without
//! `REDIS_URL` it prints a skip line.

use std::time::{Duration, Instant};

use tower_jwt_auth::store::RedisStore;
use tower_jwt_auth::store::{AccessCheck, NewSession, PairStore, TokenStamp};
use tower_jwt_auth::{SessionId, TokenId};

const REVOCATIONS: usize = 1_000;
const NOW: u64 = 1_700_000_000;

fn stamp(exp: u64) -> TokenStamp {
    TokenStamp {
        jti: TokenId::random().expect("random"),
        iat: NOW,
        exp,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss,
        reason = "an index into a short list of samples, from a fraction in 0..=1"
    )]
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

fn main() {
    let Some(url) = std::env::var("REDIS_URL").ok().filter(|u| !u.is_empty()) else {
        eprintln!("SKIPPED benches/revocation: REDIS_URL not set");
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let prefix = format!("tjwt-bench:{}", TokenId::random().expect("random"));
        let a = RedisStore::builder(&url)
            .prefix(&prefix)
            .near_cache(100_000)
            .build()
            .await
            .expect("server A");
        let b = RedisStore::builder(&url)
            .prefix(&prefix)
            .build()
            .await
            .expect("server B");
        while !a.near_cache_stats().expect("near cache").trusted {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let mut latencies = Vec::with_capacity(REVOCATIONS);
        let (mut accepted_after_invalidation, mut probes) = (0usize, 0usize);
        for _ in 0..REVOCATIONS {
            let sid = SessionId::random().expect("random");
            let access = stamp(NOW + 900);
            b.create_session(NewSession::new(sid, "bench", access, stamp(NOW + 3_600)))
                .await
                .expect("created");
            // Until A's copy holds the token (the first check fills it).
            while !matches!(
                a.check_access_now(sid, access.jti, NOW + 1),
                Some(Ok(AccessCheck::Current))
            ) {
                let check = a
                    .check_access(sid, access.jti, NOW + 1)
                    .await
                    .expect("check");
                assert_eq!(check, AccessCheck::Current);
            }
            let delivered_before = a.near_cache_stats().expect("near cache").invalidations;
            assert!(b.revoke_session(sid, NOW + 1).await.expect("revoked"));
            let acknowledged = Instant::now();
            loop {
                probes += 1;
                let delivered =
                    a.near_cache_stats().expect("near cache").invalidations > delivered_before;
                let answer = match a.check_access_now(sid, access.jti, NOW + 1) {
                    Some(answer) => answer,
                    None => a.check_access(sid, access.jti, NOW + 1).await,
                }
                .expect("check");
                if answer != AccessCheck::Current {
                    latencies.push(acknowledged.elapsed());
                    break;
                }
                if delivered {
                    accepted_after_invalidation += 1;
                }
                tokio::task::yield_now().await;
            }
        }
        latencies.sort();
        println!(
            "revocation latency, {REVOCATIONS} revocations (B acknowledged -> A refuses): \
             p50 {:?}, p99 {:?}, max {:?}; {probes} probes, {accepted_after_invalidation} \
             acceptances after the invalidation was applied",
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.99),
            latencies[latencies.len() - 1],
        );
    });
}
