//! The flow (S1–S8, T1–T4, grace, rotation, logout) and the cookie checks over a real socket,
//! against every framework's demo app: `examples/server.rs` on axum (the tower layer) and
//! `examples/actix.rs` on actix-web (the actix middleware), each started with the test's
//! sessions on a `ManualClock`. Each check is one function taking the [`Server`]; each runs as
//! one test per framework, `<check>::axum` and `<check>::actix`, so a failure names both.
//! What the actix adapter alone does is checked in process, in `actix`.

#[cfg(feature = "actix")]
mod actix;
mod cookies;
mod flow;
mod routes;
mod server;

/// One `#[tokio::test]` per framework for each check `name(server: Server)` of the module:
/// `name::axum`, `name::actix`.
macro_rules! on_every_server {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use super::super::server::Server;

            #[tokio::test]
            async fn axum() {
                super::$name(Server::Axum).await;
            }

            #[cfg(feature = "actix")]
            #[tokio::test]
            async fn actix() {
                super::$name(Server::Actix).await;
            }
        }
    )*};
}
use on_every_server;
