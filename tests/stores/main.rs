//! The pair stores: the in-memory store, Redis (one server, a cluster, the near cache, faults) and
//! PostgreSQL (faults too), each through the conformance suite, and every store against a model
//! of the rules.
//!
//! The Redis tests need `--features redis` and `REDIS_URL`, the PostgreSQL tests `--features
//! postgres` and `DATABASE_URL`. A test whose service is not there passes after a line
//! `SKIPPED <name>: <why>` on standard error.

/// The helpers this binary shares with the others.
#[path = "../common"]
mod common {
    #[cfg(feature = "postgres")]
    pub(crate) mod postgres;
    #[cfg(feature = "redis")]
    pub(crate) mod redis;
    pub(crate) mod skip;
}

mod memory_store;
#[cfg(feature = "postgres")]
mod postgres_faults;
#[cfg(feature = "postgres")]
mod postgres_store;
#[cfg(feature = "redis")]
mod redis_cluster;
#[cfg(feature = "redis")]
mod redis_faults;
#[cfg(feature = "redis")]
mod redis_near_cache;
#[cfg(feature = "redis")]
mod redis_store;
mod store_model;
