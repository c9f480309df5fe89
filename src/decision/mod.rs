#![doc = include_str!("../docs/decision.md")]

mod completion;
mod gate;
mod head;
mod refusal;
pub(crate) mod respond;
mod sessions;

pub use completion::Completion;
pub(crate) use completion::PendingCompletion;
pub use gate::{Admission, Deciding, Decision, DecisionFuture, Gate};
pub use head::RequestHead;
#[cfg(feature = "oidc")]
pub(crate) use refusal::Protocol;
pub use refusal::Refusal;
