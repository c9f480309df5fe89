//! The request path: arbitrary headers through the layer must end in 200, 400 or 401 (never a
//! panic, a 5xx or a pending future), and the inner service runs exactly when the answer is 200.
//!
//! Input: a flags byte (bit 0 rotation on, bit 1 theft detection off, bit 2 pair check off), then
//! up to four requests separated by `0xff` bytes. Each request's first byte moves the clock
//! forward by that many times 8 seconds (so access tokens expire, 900 s, and grace windows pass);
//! the rest is `name:value` lines. In values, `@A` and `@R` stand for the access
//! and refresh tokens issued before the first request, `@a` and `@r` for the latest tokens the
//! layer handed out in response headers, so the fuzzer reaches acceptance, refresh, theft and
//! reuse detection, not only refusals.

#![no_main]

mod common;

use std::convert::Infallible;
use std::future::{Ready, ready as now_ready};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use http::{HeaderName, HeaderValue, Request, Response};
use libfuzzer_sys::fuzz_target;
use tower_jwt_auth::{JwtSessions, ManualClock};
use tower_layer::Layer;
use tower_service::Service;

use common::{NOW, SECRET, ready, stats};

/// The protected service: counts its calls.
#[derive(Clone)]
struct Inner(Arc<AtomicUsize>);

impl Service<Request<()>> for Inner {
    type Response = Response<()>;
    type Error = Infallible;
    type Future = Ready<Result<Response<()>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Request<()>) -> Self::Future {
        self.0.fetch_add(1, Ordering::SeqCst);
        now_ready(Ok(Response::new(())))
    }
}

/// `value` with the placeholders replaced by tokens.
fn expand(value: &[u8], tokens: [&str; 4]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len());
    let mut i = 0;
    while i < value.len() {
        let token = match value.get(i..i + 2) {
            Some(b"@A") => Some(tokens[0]),
            Some(b"@R") => Some(tokens[1]),
            Some(b"@a") => Some(tokens[2]),
            Some(b"@r") => Some(tokens[3]),
            _ => None,
        };
        match token {
            Some(token) => {
                out.extend_from_slice(token.as_bytes());
                i += 2;
            }
            None => {
                out.push(value[i]);
                i += 1;
            }
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, data)) = data.split_first() else {
        return;
    };
    let clock = ManualClock::new(NOW);
    let sessions = JwtSessions::builder()
        .hs256_secret(SECRET)
        .clock(clock.clone())
        .refresh_rotation(flags & 1 != 0)
        .theft_detection(flags & 2 == 0)
        .pair_check(flags & 4 == 0)
        .build()
        .expect("valid configuration");
    let pair = ready(sessions.issue("alice", ())).expect("issue");
    let (mut access, mut refresh) = (
        pair.access_token().to_owned(),
        pair.refresh_token().to_owned(),
    );
    let calls = Arc::new(AtomicUsize::new(0));
    let mut service = sessions.layer().layer(Inner(calls.clone()));

    for block in data.split(|&b| b == 0xff).take(4) {
        let Some((&advance, lines)) = block.split_first() else {
            continue;
        };
        clock.advance(Duration::from_secs(u64::from(advance) * 8));
        let tokens = [pair.access_token(), pair.refresh_token(), &access, &refresh];
        let mut request = Request::new(());
        for line in lines.split(|&b| b == b'\n') {
            let Some(colon) = line.iter().position(|&b| b == b':') else {
                continue;
            };
            let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(&line[..colon]),
                HeaderValue::from_bytes(&expand(&line[colon + 1..], tokens)),
            ) else {
                continue;
            };
            request.headers_mut().append(name, value);
        }

        let before = calls.load(Ordering::SeqCst);
        let mut cx = Context::from_waker(Waker::noop());
        assert!(service.poll_ready(&mut cx).is_ready());
        let response = ready(service.call(request)).expect("infallible");
        let status = response.status().as_u16();
        assert!(
            matches!(status, 200 | 400 | 401),
            "unexpected status {status}"
        );
        let called = calls.load(Ordering::SeqCst) - before;
        assert_eq!(called, usize::from(status == 200), "status {status}");
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        if stats() {
            let refreshed = response.headers().contains_key("x-access-token");
            let challenge = header("www-authenticate").unwrap_or_default();
            eprintln!("verdict {status} refreshed={refreshed} {challenge}");
        }
        if let Some(token) = header("x-access-token") {
            access = token;
        }
        if let Some(token) = header("x-refresh-token") {
            refresh = token;
        }
    }
});
