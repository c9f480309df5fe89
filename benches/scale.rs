//! The memory store at a million live sessions.
//!
//! `cargo bench --bench scale` prints resident memory per session, access throughput at 1 M
//! sessions against 1 k, and two threads against one. Custom harness: these are whole-process
//! measurements, not per-call timings.

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use tower_jwt_auth::store::MemoryStore;
use tower_jwt_auth::store::{NewSession, PairStore, TokenStamp};
use tower_jwt_auth::{JwtSessions, SessionId, TokenId};

const MILLION: usize = 1_000_000;
const SECRET: &[u8] = b"benchmark-secret-of-32-bytes-min";
/// Authentications per thread per throughput measurement.
const CALLS: usize = 200_000;
/// Alternating rounds of the three throughput measurements.
const ROUNDS: usize = 15;

fn now_or_never<F: Future>(future: F) -> F::Output {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("memory store futures complete at once"),
    }
}

/// Resident set size of this process, from /proc/self/statm (pages of 4 KiB).
fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("resident pages");
    pages * 4096
}

fn memory_per_session() -> f64 {
    let store = MemoryStore::new();
    let stamp = |exp| TokenStamp {
        jti: TokenId::random().expect("rng"),
        iat: 1_700_000_000,
        exp,
    };
    let before = resident_bytes();
    for i in 0..MILLION {
        let session = NewSession::new(
            SessionId::random().expect("rng"),
            format!("user-{i}"),
            stamp(1_700_000_900),
            stamp(1_701_209_600),
        );
        now_or_never(store.create_session(session)).expect("create");
    }
    let after = resident_bytes();
    assert_eq!(store.len(), MILLION);
    (after - before) as f64 / MILLION as f64
}

/// Token strings every run reads its tokens from, whatever the number of sessions.
const TOKENS: usize = 65_536;

/// Sessions with `live` sessions in the store, and `TOKENS` access tokens spread over them:
/// at 1 k sessions each token is repeated, as separate strings, so that both runs read their
/// tokens from the same amount of memory and differ only in the store's size. (A server reads
/// each token from a buffer the network just wrote, not from a 20 MB table.)
fn populated(live: usize) -> (JwtSessions, Vec<String>) {
    let sessions = JwtSessions::builder()
        .hs256_secret(SECRET)
        .build()
        .expect("configuration");
    let keep_every = (live / TOKENS).max(1);
    let mut tokens = Vec::new();
    for i in 0..live {
        let pair = now_or_never(sessions.issue(format!("user-{i}"), ())).expect("issue");
        if i % keep_every == 0 {
            tokens.push(pair.access_token().to_owned());
        }
    }
    let tokens = tokens.iter().cycle().take(TOKENS).cloned().collect();
    (sessions, tokens)
}

/// Authentications per second (pair check on) on `threads` threads, `CALLS` each.
fn throughput(sessions: &JwtSessions, tokens: &[String], threads: usize) -> f64 {
    let start = Instant::now();
    std::thread::scope(|scope| {
        for t in 0..threads {
            scope.spawn(move || {
                for i in 0..CALLS {
                    let token = &tokens[(i + t * 7) % tokens.len()];
                    black_box(now_or_never(sessions.authenticate(token)).expect("valid"));
                }
            });
        }
    });
    (CALLS * threads) as f64 / start.elapsed().as_secs_f64()
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    // `cargo bench` passes --bench; nothing here takes options.
    let per_session = memory_per_session();
    println!("memory store, 1 M live sessions: {per_session:.0} resident bytes per session");

    let (small, small_tokens) = populated(1_000);
    let (large, large_tokens) = populated(MILLION);
    // The three measurements alternate, so that a slow spell of a shared machine touches all.
    let mut runs: [Vec<f64>; 4] = Default::default();
    let mut ratios: [Vec<f64>; 3] = Default::default();
    for _ in 0..ROUNDS {
        let round = [
            throughput(&small, &small_tokens, 1),
            throughput(&large, &large_tokens, 1),
            throughput(&small, &small_tokens, 2),
            throughput(&large, &large_tokens, 2),
        ];
        ratios[0].push(round[1] / round[0]);
        ratios[1].push(round[2] / round[0]);
        ratios[2].push(round[3] / round[1]);
        for (run, figure) in runs.iter_mut().zip(round) {
            run.push(figure);
        }
    }
    let [at_1k, at_1m, two_1k, two_1m] = runs.map(median);
    let [size, threads_1k, threads_1m] = ratios.map(median);
    println!("{ROUNDS} alternating rounds of {CALLS} authentications per thread; medians");
    println!(
        "access throughput, 1 thread: {at_1k:.0}/s at 1 k sessions, {at_1m:.0}/s at 1 M sessions: ratio {size:.2}"
    );
    println!(
        "2 threads against 1, at 1 k sessions: {two_1k:.0}/s against {at_1k:.0}/s: ratio {threads_1k:.2}"
    );
    println!(
        "2 threads against 1, at 1 M sessions: {two_1m:.0}/s against {at_1m:.0}/s: ratio {threads_1m:.2}"
    );
}
