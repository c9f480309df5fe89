#![doc = include_str!("../docs/client.md")]

mod error;
mod layer;
mod origin;
mod service;
mod tokens;

pub use error::{ClientError, InvalidOrigin, UnreadableToken};
pub use layer::JwtClientLayer;
pub use origin::Origin;
pub use service::{JwtClient, ResponseFuture};
pub use tokens::ClientTokens;
