//! Throughput of the Redis pair store at a fixed concurrency, beside its baseline: a plain `GET`
//! through the same client (a `ConnectionManager`, one multiplexed connection) at the same
//! concurrency. Each figure is one round trip per operation: an access check is one `HMGET`, a
//! refresh one `EVALSHA`.
//!
//! `REDIS_URL=redis://127.0.0.1:6379 cargo bench --bench redis --features redis`; criterion's
//! `thrpt` line is operations per second. Without `REDIS_URL` it prints a skip line.

mod store_load;

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use redis::AsyncCommands;
use redis::aio::ConnectionManager;
use tower_jwt_auth::store::RedisStore;
use tower_jwt_auth::store::{NewSession, PairStore};
use tower_jwt_auth::{SessionId, TokenId};

use store_load::{IN_FLIGHT, NOW, SESSIONS, run, stamp, store_operations};

fn redis(c: &mut Criterion) {
    let Some(url) = std::env::var("REDIS_URL").ok().filter(|u| !u.is_empty()) else {
        eprintln!("SKIPPED benches/redis: REDIS_URL not set");
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let prefix = format!("tjwt-bench:{}", TokenId::random().expect("random source"));
    let (store, baseline) = runtime.block_on(async {
        let store = RedisStore::builder(&url)
            .prefix(&prefix)
            .build()
            .await
            .expect("connect to Redis");
        let client = redis::Client::open(url.as_str()).expect("url");
        let mut baseline = ConnectionManager::new(client).await.expect("connect");
        let _: () = baseline
            .set(format!("{prefix}:get"), "x".repeat(22))
            .await
            .expect("set");
        (store, baseline)
    });
    let sessions: Arc<Vec<NewSession>> = Arc::new(runtime.block_on(async {
        let mut sessions = Vec::new();
        for _ in 0..SESSIONS {
            let s = NewSession::new(
                SessionId::random().expect("random source"),
                "bench",
                stamp(NOW, NOW + 900),
                stamp(NOW, NOW + 3_600),
            );
            store.create_session(s.clone()).await.expect("create");
            sessions.push(s);
        }
        sessions
    }));

    let mut group = c.benchmark_group(format!("redis_{IN_FLIGHT}_in_flight"));
    group.throughput(Throughput::Elements(1));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(5));

    let key = format!("{prefix}:get");
    group.bench_function("get_baseline", |b| {
        b.iter_custom(|iters| {
            let (baseline, key) = (baseline.clone(), key.clone());
            run(&runtime, iters, move |_| {
                let (mut baseline, key) = (baseline.clone(), key.clone());
                async move {
                    let value: String = baseline.get(key).await.expect("get");
                    black_box(value);
                }
            })
        })
    });

    // The access check's own command, raw: what the store adds on top is the difference.
    let keys: Arc<Vec<String>> = Arc::new(
        sessions
            .iter()
            .map(|s| store.session_key(s.session_id()))
            .collect(),
    );
    group.bench_function("hmget_baseline", |b| {
        b.iter_custom(|iters| {
            let (baseline, keys) = (baseline.clone(), keys.clone());
            run(&runtime, iters, move |i| {
                let (mut baseline, keys) = (baseline.clone(), keys.clone());
                async move {
                    let key = &keys[i as usize % SESSIONS];
                    let fields: (Option<String>, Option<String>, Option<String>) =
                        redis::cmd("HMGET")
                            .arg(key)
                            .arg("rev")
                            .arg("re")
                            .arg("aj")
                            .query_async(&mut baseline)
                            .await
                            .expect("hmget");
                    black_box(fields);
                }
            })
        })
    });

    store_operations(&mut group, &runtime, &store, &sessions);
    group.finish();
}

criterion_group!(benches, redis);
criterion_main!(benches);
