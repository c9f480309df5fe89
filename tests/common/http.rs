//! Serving an axum router on a free loopback port, for the tests that talk to it over a socket.

use axum::Router;

/// Serves `app` on `127.0.0.1` at a port the system picks, in the background; returns its
/// base URL (`http://127.0.0.1:PORT`).
pub(crate) async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}
