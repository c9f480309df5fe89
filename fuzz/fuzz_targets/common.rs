//! What the fuzz targets share: the service's secret and clock, and how futures are run.

use std::future::Future;
use std::pin::pin;
use std::sync::OnceLock;
use std::task::{Context, Poll, Waker};

#[allow(
    dead_code,
    reason = "the resource server's target signs with a key pair of its own"
)]
pub(crate) const SECRET: &[u8] = b"fuzzing-secret-of-at-least-32-by";
pub(crate) const NOW: u64 = 1_700_000_000;

/// With `FUZZ_STATS` set, each verdict is printed to stderr: replay the corpus with `-runs=0` to
/// see which answers the fuzzer reaches (see README.md).
pub(crate) fn stats() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("FUZZ_STATS").is_some())
}

/// Polls once: the layer over the in-memory store, and the resource server over fixed keys,
/// answer without waiting, so a pending future is a finding.
pub(crate) fn ready<F: Future>(future: F) -> F::Output {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("a fuzzed call never waits"),
    }
}
