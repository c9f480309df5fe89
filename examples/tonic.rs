//! The standard gRPC health service (`grpc.health.v1.Health`) behind the layer, on tonic:
//! `cargo run --example tonic`. It prints an access token and a refresh token, then
//! `listening on http://ADDR` (default `127.0.0.1:50051`).
//!
//! A refusal is a gRPC status, never an HTTP error: `UNAUTHENTICATED` (16) with the reason in
//! `grpc-message` for a missing, expired or bad token, `UNAVAILABLE` (14) when the store fails.
//! The refresh token travels as request metadata `x-refresh-token`; the new access token comes
//! back as response metadata `x-access-token`.
//!
//! ```text
//! grpcurl -plaintext -H "authorization: Bearer $ACCESS" 127.0.0.1:50051 grpc.health.v1.Health/Check
//! ```

use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic_health::ServingStatus;
use tower_jwt_auth::JwtSessions;

/// Serves the health service behind `sessions`' layer on `listener` until the runtime ends.
pub(crate) async fn serve(
    sessions: JwtSessions,
    listener: tokio::net::TcpListener,
) -> Result<(), tonic::transport::Error> {
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter
        .set_service_status("", ServingStatus::Serving)
        .await;
    Server::builder()
        .layer(sessions.layer())
        .add_service(health)
        .serve_with_incoming(TcpIncoming::from(listener))
        .await
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| format!("no random source: {e}"))?;
    let sessions = JwtSessions::builder().hs256_secret(secret).build()?;
    let pair = sessions.issue("grpc-user", ()).await?;
    println!("access token: {}", pair.access_token());
    println!("refresh token: {}", pair.refresh_token());
    let addr = std::env::var("ADDR").unwrap_or_else(|_| "127.0.0.1:50051".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    serve(sessions, listener).await?;
    Ok(())
}
