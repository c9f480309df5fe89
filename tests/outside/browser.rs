//! The demo page in a real browser: Chromium, driven by `tests/browser/demo.mjs` (playwright-core),
//! logs in through the page, reads `/me`, lives through an access-token expiry (the server's
//! clock is moved, nothing sleeps), sees a form of another origin refused, and logs out.
//!
//! Needs Debian's `chromium` (or `CHROMIUM=/path`), Node.js, and `npm ci` in `tests/browser`.
//! Without them the test prints `SKIPPED`, unless `BROWSER_TEST=required` (as in `.ci/run`).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;
use tower_jwt_auth::cookie::CookieSettings;
use tower_jwt_auth::{JwtSessions, ManualClock};

use crate::common::http::serve;
use crate::demo;

const SECRET: &[u8] = b"browser test secret of 32 bytes!";
const ACCESS_TTL: u64 = 60;

/// Chromium's path, once Chromium, Node.js and playwright-core are all there.
fn browser() -> Option<PathBuf> {
    let chromium = std::env::var_os("CHROMIUM")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    let playwright =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/node_modules/playwright-core");
    let node = std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let missing = if !chromium.exists() {
        format!(
            "no Chromium at {} (apt-get install chromium)",
            chromium.display()
        )
    } else if !node {
        "no Node.js".to_owned()
    } else if !playwright.exists() {
        "no playwright-core (npm ci --prefix tests/browser)".to_owned()
    } else {
        return Some(chromium);
    };
    crate::skip_unless_required("BROWSER_TEST", &missing);
    None
}

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_page_works_in_chromium() {
    let Some(chromium) = browser() else {
        return;
    };
    let clock = ManualClock::new(1_700_000_000);
    let sessions = JwtSessions::builder()
        .hs256_secret(SECRET)
        .clock(clock.clone())
        .access_ttl(Duration::from_secs(ACCESS_TTL))
        .cookies(CookieSettings::new())
        .build()
        .expect("configuration");
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .build_recorder()
        .handle();
    let demo_url = serve(demo::app(sessions, metrics).await).await;
    // Another origin of the same site (another port): the browser sends the SameSite=Lax
    // cookies along with its form, so only the cross-site check stands in the way.
    let form = format!(
        r#"<form method="post" action="{demo_url}/logout"><button id="forge">Win</button></form>"#
    );
    let other_url = serve(Router::new().route("/", get(move || async move { Html(form) }))).await;

    let mut node = Command::new("node")
        .arg("demo.mjs")
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser"))
        .env("DEMO_URL", &demo_url)
        .env("OTHER_ORIGIN_URL", &other_url)
        .env("CHROMIUM", &chromium)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs");
    let mut stdin = node.stdin.take().expect("stdin");
    let mut lines = BufReader::new(node.stdout.take().expect("stdout")).lines();
    let mut seen = Vec::new();
    let drive = async {
        while let Some(line) = lines.next_line().await.expect("node's output") {
            println!("{line}");
            if line == "EXPIRE" {
                clock.advance(Duration::from_secs(ACCESS_TTL + 1));
                stdin.write_all(b"ok\n").await.expect("node's input");
            }
            seen.push(line);
        }
        node.wait().await.expect("node exits")
    };
    let status = tokio::time::timeout(Duration::from_secs(120), drive)
        .await
        .expect("the browser test finishes within two minutes");
    assert!(status.success(), "demo.mjs failed: {seen:#?}");
    assert_eq!(seen.last().map(String::as_str), Some("DONE"));
    assert!(seen.iter().any(|l| l == "EXPIRE"), "the expiry step ran");
}
