//! Throughput of the PostgreSQL pair store at a fixed concurrency, beside its baseline: the
//! access check's own `SELECT` sent raw through one `tokio-postgres` connection at the same
//! concurrency. An access check is one `SELECT`; a refresh one transaction of four round trips
//! (`BEGIN`, `SELECT … FOR UPDATE`, `UPDATE`, `COMMIT`).
//!
//! `DATABASE_URL=postgres://postgres@127.0.0.1:5432/test cargo bench --bench postgres --features
//! postgres`; criterion's `thrpt` line is operations per second. Without `DATABASE_URL` it
//! prints a skip line.

mod store_load;

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tower_jwt_auth::store::PostgresStore;
use tower_jwt_auth::store::{NewSession, PairStore};
use tower_jwt_auth::{SessionId, TokenId};

use store_load::{IN_FLIGHT, NOW, SESSIONS, run, stamp, store_operations};

fn postgres(c: &mut Criterion) {
    let Some(url) = std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()) else {
        eprintln!("SKIPPED benches/postgres: DATABASE_URL not set");
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let id = TokenId::random().expect("random source");
    let table = format!(
        "tjwt_bench_{}",
        id.as_bytes()[..6]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let (store, baseline) = runtime.block_on(async {
        let store = PostgresStore::builder(&url)
            .table(&table)
            .pool_size(IN_FLIGHT as usize)
            .build()
            .await
            .expect("connect to PostgreSQL");
        store.migrate().await.expect("migrate");
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .expect("connect");
        tokio::spawn(connection);
        (store, Arc::new(client))
    });
    let sessions: Arc<Vec<NewSession>> = Arc::new(runtime.block_on(async {
        let mut sessions = Vec::new();
        for i in 0..SESSIONS {
            let s = NewSession::new(
                SessionId::random().expect("random source"),
                format!("bench-{i}"),
                stamp(NOW, NOW + 900),
                stamp(NOW, NOW + 3_600),
            );
            store.create_session(s.clone()).await.expect("create");
            sessions.push(s);
        }
        sessions
    }));

    let mut group = c.benchmark_group(format!("postgres_{IN_FLIGHT}_in_flight"));
    group.throughput(Throughput::Elements(1));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(5));

    // The access check's own statement, raw, pipelined on one connection.
    let select = format!(
        "SELECT access_jti, access_iat, access_exp, refresh_jti, refresh_iat, refresh_exp, \
         previous_refresh, refreshed_at, revoked, format FROM {table} WHERE sid = $1"
    );
    let statement = runtime
        .block_on(baseline.prepare(&select))
        .expect("prepare");
    group.bench_function("select_baseline", |b| {
        b.iter_custom(|iters| {
            let (baseline, statement, sessions) =
                (baseline.clone(), statement.clone(), sessions.clone());
            run(&runtime, iters, move |i| {
                let (baseline, statement, sessions) =
                    (baseline.clone(), statement.clone(), sessions.clone());
                async move {
                    let sid = sessions[i as usize % SESSIONS].session_id();
                    let row = baseline
                        .query_opt(&statement, &[&sid.as_bytes().as_slice()])
                        .await
                        .expect("select");
                    black_box(row);
                }
            })
        })
    });

    store_operations(&mut group, &runtime, &store, &sessions);
    group.finish();
    runtime.block_on(async {
        let _ = baseline
            .batch_execute(&format!("DROP TABLE IF EXISTS {table}"))
            .await;
    });
}

criterion_group!(benches, postgres);
criterion_main!(benches);
