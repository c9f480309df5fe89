//! What Redis's tracking says to the near cache (`store/near_cache.rs`): the push messages
//! of `CLIENT TRACKING … BCAST`, read as the sessions whose records changed.
//!
//! Tracked by prefix, on connections of its own (see `tracking.rs`). One RESP3 connection per
//! Redis master runs `CLIENT TRACKING ON BCAST PREFIX <prefix>:v1:s:`, so Redis pushes the name of
//! every session key any client changes (or that expires), whichever connection read the key.
//! The reads themselves go over the store's ordinary connection, and its reconnections do not
//! matter. Redis pushes an invalidation only after a write it executes after the read, and every
//! push sent before a pong travels on the same connection before it: the ping is the heartbeat
//! that proves the tracking. On a cluster the set of masters is read again with every heartbeat;
//! any change (a fail-over, a new master) starts tracking over.

use ::redis::{PushInfo, PushKind, Value};

use crate::SessionId;
use crate::store::near_cache::NearCache;

/// Applies one push message to `cache`; `false` when the connection is gone.
pub(super) fn apply(cache: &NearCache, push: &PushInfo, key_prefix: &str) -> bool {
    match push.kind {
        PushKind::Disconnection => false,
        PushKind::Invalidate => {
            match push.data.first() {
                // Everything (FLUSHALL, FLUSHDB), or a reply this crate cannot read.
                Some(Value::Array(keys)) => {
                    for key in keys {
                        match sid_of(key, key_prefix) {
                            Some(sid) => cache.invalidate(sid),
                            None => cache.flush_entries(),
                        }
                    }
                }
                _ => cache.flush_entries(),
            }
            true
        }
        _ => true,
    }
}

/// The session of an invalidated key `<prefix>{<sid>}`.
fn sid_of(key: &Value, key_prefix: &str) -> Option<SessionId> {
    let bytes = match key {
        Value::BulkString(bytes) => bytes.as_slice(),
        Value::SimpleString(text) => text.as_bytes(),
        _ => return None,
    };
    let text = std::str::from_utf8(bytes).ok()?;
    let sid = text
        .strip_prefix(key_prefix)?
        .strip_prefix('{')?
        .strip_suffix('}')?;
    sid.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sid(byte: u8) -> SessionId {
        SessionId::from_bytes([byte; 16])
    }

    #[test]
    fn invalidated_keys_name_their_session() {
        let key = format!("tjwt:v1:s:{{{}}}", sid(3));
        let value = Value::BulkString(key.into_bytes());
        assert_eq!(sid_of(&value, "tjwt:v1:s:"), Some(sid(3)));
        assert_eq!(sid_of(&value, "other:v1:s:"), None);
    }
}
