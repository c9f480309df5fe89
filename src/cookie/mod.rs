#![doc = include_str!("../docs/browsers.md")]
pub(crate) mod csrf;
mod set_cookie;
mod settings;
mod source;

pub use settings::{CookieSettings, SameSite};
pub use source::CookieSource;
