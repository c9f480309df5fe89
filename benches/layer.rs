//! In-process cost of the layer, each figure beside its baseline in the same group.
//!
//! `cargo bench --bench layer`; BENCHMARKS.md lists what each group answers. On a noisy machine
//! the ratios are better read from `cargo bench --bench ratios`, which alternates each case with
//! its baseline.

mod common;

use criterion::{Criterion, criterion_group, criterion_main};

fn group<N: AsRef<str>>(c: &mut Criterion, name: &str, cases: Vec<(N, common::Case)>) {
    let mut group = c.benchmark_group(name);
    for (case, mut run) in cases {
        group.bench_function(case.as_ref(), |b| b.iter(&mut run));
    }
    group.finish();
}

/// The access path: overhead, refusal, pair check.
fn access(c: &mut Criterion) {
    group(c, "access", common::access());
}

/// Cookie mode: a token from a cookie, and a bearer token with cookie mode on.
fn cookies(c: &mut Criterion) {
    group(c, "cookies", common::cookies());
}

/// A resource server with fetched and given keys.
fn remote_keys(c: &mut Criterion) {
    group(c, "remote_keys", common::remote_keys());
}

/// A refresh.
fn refresh(c: &mut Criterion) {
    group(c, "refresh", common::refresh());
}

/// Asymmetric keys.
fn asymmetric(c: &mut Criterion) {
    group(c, "asymmetric", common::asymmetric());
}

/// Asymmetric tokens presented again, found in the verified-token cache.
fn cached(c: &mut Criterion) {
    group(c, "cached", common::cached());
}

/// The HMAC implementation behind the fast path, against aws-lc-rs.
fn hmac(c: &mut Criterion) {
    group(c, "hmac", common::hmac());
}

criterion_group!(
    benches,
    access,
    cookies,
    remote_keys,
    refresh,
    asymmetric,
    cached,
    hmac
);
criterion_main!(benches);
