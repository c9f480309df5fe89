//! The tests that drive programs outside Rust: the demo page in Chromium (playwright-core, npm in
//! `tests/browser`) and resource servers against oidc-provider (npm in `tests/oidc`), with the
//! HTTPS and stalled-provider tests of the key fetcher beside them.
//!
//! Without Node.js, Chromium or the npm packages such a test passes after a line `SKIPPED
//! <name>: <why>` on standard error, unless `BROWSER_TEST=required` or `OIDC_TEST=required` (as
//! in `.ci/run`) makes the missing tool a failure.

/// The helpers this binary shares with the others.
#[path = "../common"]
mod common {
    pub(crate) mod alone;
    pub(crate) mod http;
    pub(crate) mod skip;
}

#[expect(dead_code, reason = "the example's `main`, which the tests do not run")]
#[path = "../../examples/server.rs"]
mod demo;

mod browser;
mod oidc;

/// Skips the running test for want of a tool, or fails it when `variable` is `required`.
#[track_caller]
fn skip_unless_required(variable: &str, missing: &str) {
    assert!(
        std::env::var(variable).as_deref() != Ok("required"),
        "{variable}=required, but {missing}"
    );
    common::skip::skip(missing);
}

/// A skip line reaches the terminal of a plain `cargo test`, which shows what a test prints only
/// when it fails, and a skipped test passes.
#[test]
fn a_skip_line_is_not_captured_with_the_tests_output() {
    match common::alone::ran() {
        None => common::skip::skip("a tool is missing"),
        Some(stderr) => assert!(
            stderr.contains(
                "SKIPPED outside::a_skip_line_is_not_captured_with_the_tests_output: a tool is \
                 missing\n"
            ),
            "{stderr}"
        ),
    }
}
