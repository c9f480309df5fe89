//! Rows and errors: a session's row read as a [`SessionRecord`], times as columns hold them, and
//! the client's errors as [`StoreError`]s.

use tokio_postgres::Row;

use super::FORMAT;
use crate::TokenId;
use crate::store::{RecordParts, SessionRecord, StoreError, StoreErrorKind, TokenStamp};

/// A time as a column holds it. Records keep seconds as `u32`, so every stored time fits.
pub(super) fn secs(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

pub(super) fn corrupt(what: &'static str) -> StoreError {
    StoreError::new(StoreErrorKind::Corrupt, what)
}

/// Maps a client error: anything the server or the connection reports is
/// [`StoreErrorKind::Unavailable`] (a server restarting, a missing table, a broken connection).
#[expect(
    clippy::needless_pass_by_value,
    reason = "the shape `map_err` takes; the error is read, its words kept"
)]
pub(super) fn pg_error(error: tokio_postgres::Error) -> StoreError {
    StoreError::new(StoreErrorKind::Unavailable, super::described(&error))
}

pub(super) fn pool_error(error: deadpool_postgres::PoolError) -> StoreError {
    match error {
        deadpool_postgres::PoolError::Timeout(_) => StoreError::new(StoreErrorKind::Timeout, error),
        deadpool_postgres::PoolError::Backend(error) => pg_error(error),
        other => StoreError::new(StoreErrorKind::Unavailable, other),
    }
}

/// Reads a `(sid)` row's record; a row of another layout version is corrupt, never guessed at.
pub(super) fn record_of(row: &Row) -> Result<SessionRecord, StoreError> {
    let format: i16 = row.try_get(9).map_err(|_| corrupt("a row has no format"))?;
    if format != FORMAT {
        return Err(corrupt("a row has a format this version cannot read"));
    }
    let id = |i: usize| -> Result<TokenId, StoreError> {
        let bytes: &[u8] = row
            .try_get(i)
            .map_err(|_| corrupt("a stored id is unreadable"))?;
        let bytes: [u8; 16] = bytes
            .try_into()
            .map_err(|_| corrupt("a stored id is not 16 bytes"))?;
        Ok(TokenId::from_bytes(bytes))
    };
    let time = |i: usize| -> Result<u64, StoreError> {
        let value: i64 = row
            .try_get(i)
            .map_err(|_| corrupt("a stored time is unreadable"))?;
        u64::try_from(value).map_err(|_| corrupt("a stored time is negative"))
    };
    let previous: Option<&[u8]> = row
        .try_get(6)
        .map_err(|_| corrupt("a stored id is unreadable"))?;
    let refreshed_at: Option<i64> = row
        .try_get(7)
        .map_err(|_| corrupt("a stored time is unreadable"))?;
    Ok(SessionRecord::from_parts(RecordParts {
        access: TokenStamp {
            jti: id(0)?,
            iat: time(1)?,
            exp: time(2)?,
        },
        refresh: TokenStamp {
            jti: id(3)?,
            iat: time(4)?,
            exp: time(5)?,
        },
        previous_refresh: match previous {
            Some(_) => Some(id(6)?),
            None => None,
        },
        refreshed_at: match refreshed_at {
            Some(at) => Some(u64::try_from(at).map_err(|_| corrupt("a stored time is negative"))?),
            None => None,
        },
        revoked: row
            .try_get(8)
            .map_err(|_| corrupt("a stored flag is unreadable"))?,
    }))
}
