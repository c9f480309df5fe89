#![doc = include_str!("../docs/resource_servers.md")]

mod claims;
mod decide;
mod error;
mod fetch;
mod issuer;
mod keys;
mod layer;
mod scope;
mod server;

#[cfg(feature = "axum")]
pub use crate::axum::MissingAccessClaims;
pub use claims::AccessClaims;
pub use error::{KeySourceError, KeySourceErrorKind};
pub use fetch::HttpClient;
pub use issuer::{Issuer, TypPolicy};
pub use keys::{RemoteKeys, RemoteKeysBuilder};
pub use layer::{ResourceServerAuth, ResourceServerLayer};
#[cfg(feature = "axum")]
pub use scope::Scoped;
pub use scope::{Require, RequireLayer, Requirement, ScopeName};
pub use server::{ResourceServer, ResourceServerBuilder};
