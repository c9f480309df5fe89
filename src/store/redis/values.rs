//! What a [`RedisStore`](super::RedisStore) writes to Redis and reads back: times clamped as a
//! [`SessionRecord`] keeps them, token ids as their text, TTLs that never outlive a session; and
//! Redis's failures as the store's.

use std::str::FromStr;

use ::redis::{ErrorKind, RedisError};

use crate::TokenId;
#[cfg(doc)]
use crate::store::SessionRecord;
use crate::store::{StoreError, StoreErrorKind, TokenStamp};

/// The latest time a [`SessionRecord`] can hold: it keeps seconds as `u32`
/// (every instant until 2106) and clamps later ones to this.
const RECORD_MAX_SECS: u64 = u32::MAX as u64;
/// Longest TTL written, in milliseconds (about 285 000 years): far below what `PEXPIRE` accepts,
/// so an absurd session end can never make the write fail.
const MAX_TTL_MS: u64 = (1 << 53) - 1;

/// Maps a client error to the store's kinds: a timeout is [`StoreErrorKind::Timeout`], a reply
/// this crate cannot read is [`StoreErrorKind::Corrupt`], anything else (refused, dropped,
/// loading, fail-over, cluster down) is [`StoreErrorKind::Unavailable`].
pub(super) fn store_error(error: RedisError) -> StoreError {
    let kind = if error.is_timeout() {
        StoreErrorKind::Timeout
    } else {
        match error.kind() {
            ErrorKind::Parse | ErrorKind::UnexpectedReturnType => StoreErrorKind::Corrupt,
            _ => StoreErrorKind::Unavailable,
        }
    };
    StoreError::new(kind, error)
}

pub(super) fn corrupt(what: &'static str) -> StoreError {
    StoreError::new(StoreErrorKind::Corrupt, what)
}

pub(super) fn parse_u64(text: &str) -> Result<u64, StoreError> {
    text.parse()
        .map_err(|_| corrupt("a stored time is not a number"))
}

pub(super) fn parse_jti(text: &str) -> Result<TokenId, StoreError> {
    TokenId::from_str(text).map_err(|_| corrupt("a stored token id is malformed"))
}

/// A time as a [`SessionRecord`] records it. Stored times are clamped the
/// same way, so every comparison in the scripts sees the values the record's would.
pub(super) fn secs32(secs: u64) -> u64 {
    secs.min(RECORD_MAX_SECS)
}

/// A stamp as a [`SessionRecord`] records it.
pub(super) fn recorded(stamp: TokenStamp) -> TokenStamp {
    TokenStamp {
        iat: secs32(stamp.iat),
        exp: secs32(stamp.exp),
        ..stamp
    }
}

/// Milliseconds from `now` to `end`, the TTL of a key that must not outlive `end`.
pub(super) fn ttl_ms(now: u64, end: u64) -> u64 {
    end.saturating_sub(now).saturating_mul(1000).min(MAX_TTL_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_is_the_remaining_lifetime_and_never_absurd() {
        assert_eq!(ttl_ms(100, 160), 60_000);
        assert_eq!(ttl_ms(200, 160), 0);
        assert_eq!(ttl_ms(0, u64::MAX), MAX_TTL_MS);
    }
}
