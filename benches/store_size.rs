//! Bytes per session in the shared stores at scale: sessions (two per subject) created through
//! each store's own `create_session`, many in flight, `REDIS_SESSIONS` (default 1,000,000) and
//! `POSTGRES_SESSIONS` (default 100,000: a login is a transaction of its own, about a thousand
//! a second on a loaded two-core machine, so a million takes a quarter of an hour); then Redis's
//! `used_memory` growth (on a `redis-server` of its own, so nothing else moves it) and a sample of
//! `MEMORY USAGE`, and PostgreSQL's `pg_total_relation_size` of the table (indexes and TOAST
//! included, on `DATABASE_URL`; the table is dropped afterwards).
//!
//! `DATABASE_URL=postgres://postgres@127.0.0.1:5432/test cargo bench --all-features --bench
//! store_size`. Without `redis-server` or `DATABASE_URL` it prints a skip line for that store.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tower_jwt_auth::store::{NewSession, PairStore, PostgresStore, RedisStore, TokenStamp};
use tower_jwt_auth::{SessionId, TokenId};

/// Creations in flight at once.
const IN_FLIGHT: usize = 256;

/// `name` from the environment, else `default`.
fn sessions(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn stamp(iat: u64, exp: u64) -> TokenStamp {
    TokenStamp {
        jti: TokenId::random().expect("random source"),
        iat,
        exp,
    }
}

/// Creates `count` sessions on `store`, `IN_FLIGHT` at a time: a 15-minute access token, a
/// 30-day session, two sessions per subject. Returns the rate.
async fn fill<S: PairStore + Clone>(store: &S, count: usize) -> f64 {
    let now = now();
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..count {
        if tasks.len() >= IN_FLIGHT {
            tasks.join_next().await.expect("a task").expect("created");
        }
        let store = store.clone();
        tasks.spawn(async move {
            let subject = format!("user-{:08}", i / 2);
            let session = NewSession::new(
                SessionId::random().expect("random source"),
                subject.as_str(),
                stamp(now, now + 900),
                stamp(now, now + 30 * 86_400),
            );
            store.create_session(session).await.expect("created");
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("created");
    }
    count as f64 / start.elapsed().as_secs_f64()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn used_memory(connection: &mut redis::aio::MultiplexedConnection) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("memory")
        .query_async(connection)
        .await
        .expect("INFO");
    info.lines()
        .find_map(|line| line.strip_prefix("used_memory:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("used_memory")
}

async fn redis_size(count: usize) {
    if count == 0 {
        return;
    }
    let port = free_port();
    let Ok(child) = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
        ])
        .args(["--appendonly", "no"])
        .stdout(Stdio::null())
        .spawn()
    else {
        eprintln!("SKIPPED benches/store_size redis: redis-server not found");
        return;
    };
    let _server = Server(child);
    let url = format!("redis://127.0.0.1:{port}");
    let client = redis::Client::open(url.as_str()).expect("url");
    let mut raw = loop {
        match client.get_multiplexed_async_connection().await {
            Ok(connection) => break connection,
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    };
    let store = RedisStore::builder(&url)
        .timeout(Duration::from_secs(10))
        .build()
        .await
        .expect("connect");
    let before = used_memory(&mut raw).await;
    let rate = fill(&store, count).await;
    let after = used_memory(&mut raw).await;
    // MEMORY USAGE of a sample: a session hash, and a subject's index of two.
    let keys: Vec<String> = redis::cmd("SCAN")
        .arg(0)
        .arg("COUNT")
        .arg(2_000)
        .query_async::<(u64, Vec<String>)>(&mut raw)
        .await
        .expect("SCAN")
        .1;
    let sample = |kind: &str| -> Vec<&String> {
        keys.iter().filter(|k| k.contains(kind)).take(200).collect()
    };
    let (sessions_sample, subjects_sample) = (sample(":v1:s:"), sample(":v1:u:"));
    let mut mean = async |sample: Vec<&String>| {
        let mut total = 0u64;
        for key in &sample {
            let bytes: u64 = redis::cmd("MEMORY")
                .arg("USAGE")
                .arg(key.as_str())
                .query_async(&mut raw)
                .await
                .expect("MEMORY USAGE");
            total += bytes;
        }
        total / sample.len().max(1) as u64
    };
    let session_key = mean(sessions_sample).await;
    let subject_key = mean(subjects_sample).await;
    println!(
        "redis: {count} sessions at {rate:.0}/s; used_memory +{} MB: {} bytes per session \
         (MEMORY USAGE: session hash {session_key} B, subject index of 2 sessions {subject_key} B)",
        (after - before) / 1_000_000,
        (after - before) / count as u64,
    );
}

async fn postgres_size(count: usize) {
    if count == 0 {
        return;
    }
    let Some(url) = std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()) else {
        eprintln!("SKIPPED benches/store_size postgres: DATABASE_URL not set");
        return;
    };
    let table = format!("tjwt_size_{}", now());
    let store = PostgresStore::builder(&url)
        .table(&table)
        .pool_size(32)
        .timeout(Duration::from_secs(30))
        .build()
        .await
        .expect("connect");
    store.migrate().await.expect("migrate");
    let rate = fill(&store, count).await;
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(connection);
    client
        .batch_execute(&format!("VACUUM ANALYZE {table}"))
        .await
        .expect("vacuum");
    let row = client
        .query_one(
            "SELECT pg_total_relation_size($1::text::regclass), pg_relation_size($1::text::regclass), \
             pg_indexes_size($1::text::regclass)",
            &[&table],
        )
        .await
        .expect("sizes");
    let (total, heap, indexes): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
    let per = |bytes: i64| bytes / i64::try_from(count).unwrap_or(i64::MAX);
    println!(
        "postgres: {count} sessions at {rate:.0}/s; pg_total_relation_size {} MB: {} bytes per \
         session ({} in the table, {} in its indexes)",
        total / 1_000_000,
        per(total),
        per(heap),
        per(indexes),
    );
    client
        .batch_execute(&format!("DROP TABLE {table}"))
        .await
        .expect("drop the table");
}

fn main() {
    // `cargo bench` passes `--bench`; a filter naming another benchmark skips this one.
    if std::env::args()
        .skip(1)
        .any(|arg| !arg.starts_with('-') && !"store_size".contains(arg.as_str()))
    {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        redis_size(sessions("REDIS_SESSIONS", 1_000_000)).await;
        postgres_size(sessions("POSTGRES_SESSIONS", 100_000)).await;
    });
}
