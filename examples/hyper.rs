//! A plain hyper 1.x service behind the layer, no framework: `cargo run --example hyper`. It
//! prints an access token, then `listening on http://ADDR` (default `127.0.0.1:3002`).
//!
//! ```text
//! curl -s localhost:3002/ -H "authorization: Bearer $ACCESS"   # 200 hello <subject>
//! curl -si localhost:3002/                                       # 401 + WWW-Authenticate
//! ```

use std::convert::Infallible;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tower::{ServiceBuilder, service_fn};
use tower_jwt_auth::{Claims, JwtSessions};

/// The application: greets whoever the layer authenticated.
async fn hello(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let subject = request
        .extensions()
        .get::<Claims>()
        .map_or("nobody", Claims::subject);
    Ok(Response::new(Full::from(format!("hello {subject}"))))
}

/// Accepts connections on `listener` and serves each through the layer.
pub(crate) async fn serve(sessions: JwtSessions, listener: tokio::net::TcpListener) {
    let service = ServiceBuilder::new()
        .layer(sessions.layer())
        .service(service_fn(hello));
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let service = TowerToHyperService::new(service.clone());
        tokio::spawn(async move {
            // A client that hangs up mid-way ends only its own connection.
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| format!("no random source: {e}"))?;
    let sessions = JwtSessions::builder().hs256_secret(secret).build()?;
    let pair = sessions.issue("hyper-user", ()).await?;
    println!("access token: {}", pair.access_token());
    let addr = std::env::var("ADDR").unwrap_or_else(|_| "127.0.0.1:3002".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    serve(sessions, listener).await;
    Ok(())
}
