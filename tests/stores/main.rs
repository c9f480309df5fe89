//! The pair stores: the in-memory store, Redis (one server, a cluster, the near cache, faults) and
//! PostgreSQL (the near cache, faults too), each through the conformance suite, and every store
//! against a model of the rules.
//!
//! The Redis tests need `--features redis` and `REDIS_URL`, the PostgreSQL tests `--features
//! postgres` and `DATABASE_URL`. A test whose service is not there passes after a line
//! `SKIPPED <name>: <why>` on standard error; with the variable set but the feature off,
//! `redis_store_tests` or `postgres_store_tests` says which feature is missing.

/// The helpers this binary shares with the others.
#[path = "../common"]
mod common {
    #[cfg(any(feature = "postgres", feature = "redis"))]
    pub(crate) mod certs;
    #[cfg(feature = "postgres")]
    pub(crate) mod postgres;
    #[cfg(feature = "postgres")]
    pub(crate) mod proxy;
    #[cfg(feature = "redis")]
    pub(crate) mod redis;
    #[cfg(any(feature = "postgres", feature = "redis"))]
    pub(crate) mod sessions;
    pub(crate) mod skip;
}

mod memory_store;
#[cfg(feature = "postgres")]
mod postgres_connect;
#[cfg(feature = "postgres")]
mod postgres_faults;
#[cfg(feature = "postgres")]
mod postgres_near_cache;
#[cfg(feature = "postgres")]
mod postgres_store;
#[cfg(feature = "postgres")]
mod postgres_tls;
#[cfg(feature = "redis")]
mod redis_cluster;
#[cfg(feature = "redis")]
mod redis_faults;
#[cfg(feature = "redis")]
mod redis_near_cache;
#[cfg(feature = "redis")]
mod redis_store;
#[cfg(feature = "redis")]
mod redis_tls;
mod store_model;

/// Without the feature the Redis tests are not compiled, and a `REDIS_URL` set for them would go
/// unused without a word.
#[cfg(not(feature = "redis"))]
#[test]
fn redis_store_tests() {
    if std::env::var_os("REDIS_URL").is_some_and(|url| !url.is_empty()) {
        common::skip::skip("build with --features redis");
    }
}

/// The same for the PostgreSQL tests and `DATABASE_URL`.
#[cfg(not(feature = "postgres"))]
#[test]
fn postgres_store_tests() {
    if std::env::var_os("DATABASE_URL").is_some_and(|url| !url.is_empty()) {
        common::skip::skip("build with --features postgres");
    }
}
