//! Revocation latency with a near cache, Redis's and PostgreSQL's: two servers (two stores, each
//! with its own connections) on one Redis or one database. Server A checks a token until its
//! copy holds it; server B revokes the session; A probes without pause until it refuses the
//! token. Reported: the time from B's acknowledged revocation to A's first refusal, over 1,000
//! revocations, and how many probes still accepted the token after A had applied the
//! invalidation (must be zero).
//!
//! ```sh
//! REDIS_URL=redis://127.0.0.1:6379 cargo bench --bench revocation --features redis
//! DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \
//!   cargo bench --bench revocation --features postgres
//! ```
//!
//! Each store is measured when its feature is on and its variable set, and prints a skip line
//! otherwise.

#[cfg(any(feature = "redis", feature = "postgres"))]
use std::time::{Duration, Instant};

#[cfg(any(feature = "redis", feature = "postgres"))]
use tower_jwt_auth::store::{AccessCheck, NearCacheStats, NewSession, PairStore, TokenStamp};
#[cfg(any(feature = "redis", feature = "postgres"))]
use tower_jwt_auth::{SessionId, TokenId};

#[cfg(any(feature = "redis", feature = "postgres"))]
const REVOCATIONS: usize = 1_000;
#[cfg(any(feature = "redis", feature = "postgres"))]
const NOW: u64 = 1_700_000_000;

#[cfg(any(feature = "redis", feature = "postgres"))]
fn stamp(exp: u64) -> TokenStamp {
    TokenStamp {
        jti: TokenId::random().expect("random"),
        iat: NOW,
        exp,
    }
}

#[cfg(any(feature = "redis", feature = "postgres"))]
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

/// Measures revocations made on `b` reaching `a`, whose near cache `stats` reports.
#[cfg(any(feature = "redis", feature = "postgres"))]
async fn measure<S: PairStore>(store: &str, a: &S, b: &S, stats: impl Fn(&S) -> NearCacheStats) {
    while !stats(a).trusted {
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
        let delivered_before = stats(a).invalidations;
        assert!(b.revoke_session(sid, NOW + 1).await.expect("revoked"));
        let acknowledged = Instant::now();
        loop {
            probes += 1;
            let delivered = stats(a).invalidations > delivered_before;
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
        "{store}: revocation latency, {REVOCATIONS} revocations (B acknowledged -> A refuses): \
         p50 {:?}, p99 {:?}, max {:?}; {probes} probes, {accepted_after_invalidation} \
         acceptances after the invalidation was applied",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies[latencies.len() - 1],
    );
}

/// The value of `variable`, or `None` after a skip line.
fn variable(variable: &str) -> Option<String> {
    let value = std::env::var(variable).ok().filter(|v| !v.is_empty());
    if value.is_none() {
        eprintln!("SKIPPED benches/revocation: {variable} not set");
    }
    value
}

#[cfg(feature = "redis")]
async fn redis(url: String) {
    use tower_jwt_auth::store::RedisStore;

    let prefix = format!("tjwt-bench:{}", TokenId::random().expect("random"));
    let connect = |near: bool| {
        let builder = RedisStore::builder(&url).prefix(&prefix);
        if near {
            builder.near_cache(100_000)
        } else {
            builder
        }
        .build()
    };
    let a = connect(true).await.expect("server A");
    let b = connect(false).await.expect("server B");
    measure("Redis", &a, &b, |a| {
        a.near_cache_stats().expect("near cache")
    })
    .await;
}

#[cfg(feature = "postgres")]
async fn postgres(url: String) {
    use tower_jwt_auth::store::PostgresStore;

    let table = "tjwt_bench_revocation";
    let connect = |near: bool| {
        let builder = PostgresStore::builder(&url).table(table);
        if near {
            builder.near_cache(100_000)
        } else {
            builder
        }
        .build()
    };
    let a = connect(true).await.expect("server A");
    a.migrate().await.expect("migrate");
    let b = connect(false).await.expect("server B");
    measure("PostgreSQL", &a, &b, |a| {
        a.near_cache_stats().expect("near cache")
    })
    .await;
}

fn main() {
    let (redis_url, database_url) = (variable("REDIS_URL"), variable("DATABASE_URL"));
    #[cfg(any(feature = "redis", feature = "postgres"))]
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    #[cfg(feature = "redis")]
    if let Some(url) = redis_url {
        runtime.block_on(redis(url));
    }
    #[cfg(not(feature = "redis"))]
    if redis_url.is_some() {
        eprintln!("SKIPPED benches/revocation on Redis: build with --features redis");
    }
    #[cfg(feature = "postgres")]
    if let Some(url) = database_url {
        runtime.block_on(postgres(url));
    }
    #[cfg(not(feature = "postgres"))]
    if database_url.is_some() {
        eprintln!("SKIPPED benches/revocation on PostgreSQL: build with --features postgres");
    }
}
