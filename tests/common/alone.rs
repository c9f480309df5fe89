//! For the tests that read what is global to their process — the metrics recorder, tracing's
//! cache of wanted call sites, the claims types of every layer built, what reaches standard
//! error — and so cannot share it with the other tests of their binary.

use std::process::Command;

/// Set in the child process to the name of the one test it runs.
const ALONE: &str = "TOWER_JWT_AUTH_TEST_ALONE";

/// Runs the calling test again, alone in a process of its own (this binary, filtered to that
/// test), and fails if it failed there. Returns what it wrote to standard error there, or `None`
/// when this process is that one and the test should go on.
#[track_caller]
pub(crate) fn ran() -> Option<String> {
    // libtest names each test's thread after the test's full path.
    let thread = std::thread::current();
    let test = thread
        .name()
        .expect("a test thread is named after its test");
    if std::env::var_os(ALONE).is_some_and(|alone| alone == test) {
        return None;
    }
    let output = Command::new(std::env::current_exe().expect("the test binary"))
        .args([test, "--exact", "--test-threads=1"])
        .env(ALONE, test)
        .output()
        .expect("run the test binary");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{test}, alone:\n{stdout}{stderr}");
    // A filter that matched nothing would pass too.
    assert!(
        stdout.contains("test result: ok. 1 passed"),
        "{test} did not run alone:\n{stdout}{stderr}"
    );
    Some(stderr)
}
