//! The line a test that needs a service or a tool leaves when it passes without one.

use std::io::Write;

/// Writes `SKIPPED <binary>::<test>: <why>` for the running test (libtest names each test's
/// thread after it) to standard error, past the test harness's capture.
pub(crate) fn skip(why: &str) {
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("unknown test");
    // libtest captures what a test prints with `print!` and `eprint!` and shows it only when the
    // test fails, which a skipped test never does; a write to the stderr handle itself goes
    // straight through. One `write_all`, so the lines of tests running at once do not mix.
    let line = format!("SKIPPED {}::{test}: {why}\n", env!("CARGO_CRATE_NAME"));
    let _ = std::io::stderr().write_all(line.as_bytes());
}
