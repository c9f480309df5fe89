//! The layer and everything around it, in process or over a socket on 127.0.0.1: the flow, forged
//! and confused tokens, cookies and CSRF, claims, responses, gRPC, the client layer, the example
//! programs, what the crate logs and counts, and the token codec against jsonwebtoken. Nothing
//! here needs a service or a tool of its own.

/// The helpers this binary shares with the others.
#[path = "../common"]
mod common {
    pub(crate) mod alone;
    pub(crate) mod failing_store;
    pub(crate) mod http;
}

#[cfg(feature = "actix")]
#[expect(dead_code, reason = "the example's `main`, which the tests do not run")]
#[expect(
    clippy::duplicate_mod,
    reason = "each demo includes the demo environment itself, as an example must"
)]
#[path = "../../examples/actix.rs"]
mod actix_demo;
#[expect(dead_code, reason = "the example's `main`, which the tests do not run")]
#[path = "../../examples/server.rs"]
mod demo;
#[expect(dead_code, reason = "the example's `main`, which the tests do not run")]
#[path = "../../examples/tonic.rs"]
mod tonic_example;

mod attacks;
#[cfg(feature = "axum")]
mod axum_example;
mod claims;
mod client;
mod cookies;
mod decision;
mod demo_routes;
mod differential;
mod flow;
mod frameworks;
mod grpc;
mod hyper_example;
#[cfg(feature = "metrics")]
mod metrics;
mod observability;
mod responses;
