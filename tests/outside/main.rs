//! The tests that drive programs outside Rust: the demo page in Chromium (playwright-core, npm in
//! `tests/browser`) and resource servers against oidc-provider (npm in `tests/oidc`), with the
//! HTTPS and stalled-provider tests of the key fetcher beside them.
//!
//! Without Node.js, Chromium or the npm packages such a test passes after a line `SKIPPED
//! <name>: <why>`, unless `BROWSER_TEST=required` or `OIDC_TEST=required` (as in `.ci/run`) makes
//! the missing tool a failure.

/// The helpers this binary shares with the others.
#[path = "../common"]
mod common {
    pub(crate) mod http;
}

#[expect(dead_code, reason = "the example's `main`, which the tests do not run")]
#[path = "../../examples/server.rs"]
mod demo;

mod browser;
mod oidc;
