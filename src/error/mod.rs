//! Every error of the crate's core, in one place: [`AuthError`], why a request was refused
//! (`auth.rs`), its `WWW-Authenticate` challenges (`challenge.rs`), and [`ConfigError`], a
//! configuration refused before any request is served (`config.rs`).
//!
//! The layer never builds a response from anything but an [`AuthError`]; the
//! [`ErrorResponder`](crate::ErrorResponder) hook turns it into HTTP (or gRPC, or anything else).

mod auth;
mod challenge;
mod config;

pub use auth::{AuthError, AuthErrorKind};
pub(crate) use challenge::{Challenge, Text, challenge, invalid_request};
pub use config::{ConfigError, ConfigErrorKind};
