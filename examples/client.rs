//! The client half against the demo server: `cargo run --example client --features client`.
//!
//! Start the demo with one-second access tokens in another terminal:
//!
//! ```text
//! ACCESS_TTL_SECS=1 cargo run --example server
//! cargo run --example client --features client
//! ```
//!
//! The client logs in at `ADDR` (default `127.0.0.1:3000`), then calls `/me` every 500 ms for
//! four seconds. The access token expires every second; the layer refreshes it in-band with the
//! next call and prints a line each time. Exits 0 when every call was served.

use std::error::Error;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::Deserialize;
use tower::{ServiceBuilder, ServiceExt};
use tower_jwt_auth::client::{ClientTokens, JwtClientLayer, Origin};

type BoxError = Box<dyn Error + Send + Sync>;

#[derive(Deserialize)]
struct Pair {
    access_token: String,
    refresh_token: String,
}

/// Logs in as `alice` with the demo's password; the token pair.
async fn login(base: &str) -> Result<Pair, BoxError> {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let request = http::Request::post(format!("{base}/login"))
        .header("content-type", "application/json")
        .body(Full::from(r#"{"username":"alice","password":"demo"}"#))?;
    let response = client
        .request(request)
        .await
        .map_err(|e| format!("cannot reach the demo server at {base}: {e}"))?;
    if !response.status().is_success() {
        return Err(format!("login refused: {}", response.status()).into());
    }
    let body = response.into_body().collect().await?.to_bytes();
    Ok(serde_json::from_slice(&body)?)
}

async fn run() -> Result<(), BoxError> {
    let addr = std::env::var("ADDR").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let base = format!("http://{addr}");
    // The tokens go to the server that issued them, and nowhere else.
    let origin: Origin = base
        .parse()
        .map_err(|e| format!("ADDR={addr:?} is not a host and port: {e}"))?;
    let pair = login(&base).await?;
    println!("logged in as alice");

    let tokens = ClientTokens::new();
    tokens.set(pair.access_token, pair.refresh_token)?;
    let refreshes = Arc::new(AtomicUsize::new(0));
    let layer = JwtClientLayer::new(tokens.clone(), origin)
        .on_refresh({
            let tokens = tokens.clone();
            let refreshes = refreshes.clone();
            move || {
                let n = refreshes.fetch_add(1, Ordering::SeqCst) + 1;
                let exp = tokens.access_expires_at().unwrap_or_default();
                println!("refreshed ({n}): the new access token expires at {exp}");
            }
        })
        .on_login_required(|| eprintln!("the session ended: log in again"));
    let client = ServiceBuilder::new()
        .layer(layer)
        .service(Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>());

    for _ in 0..8 {
        let request = http::Request::get(format!("{base}/me")).body(Full::default())?;
        let response = client.clone().oneshot(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        println!("GET /me -> {status} {}", String::from_utf8_lossy(&body));
        if !status.is_success() {
            return Err(format!("/me answered {status}").into());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    if refreshes.load(Ordering::SeqCst) == 0 {
        return Err("no refresh happened: start the demo with ACCESS_TTL_SECS=1".into());
    }
    Ok(())
}

#[tokio::main]
async fn main() {
    if let Err(error) = run().await {
        eprintln!("error: {error}");
        std::process::exit(1);
    }
}
