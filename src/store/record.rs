//! [`SessionRecord`]: one session's state and every rule of a refresh, in one place.
//!
//! Every store runs these rules, whatever it persists: in process under a lock, or loaded from
//! and saved to a database inside one transaction ([`RecordParts`] is the stored form). A store
//! that must run the rules inside the database itself (Redis, in Lua) is held to this record by
//! the same model test.

use super::{AccessCheck, NewSession, RefreshOutcome, RefreshRequest, TokenStamp};
use crate::TokenId;

/// A [`TokenStamp`] as a [`SessionRecord`] keeps it: seconds as `u32`, which holds every instant
/// until 2106 and keeps a record at 72 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    jti: TokenId,
    iat: u32,
    exp: u32,
}

/// Clamps a time to the record's range; anything past 2106 reads as the end of that range.
fn secs32(secs: u64) -> u32 {
    u32::try_from(secs).unwrap_or(u32::MAX)
}

impl From<TokenStamp> for Stamp {
    fn from(stamp: TokenStamp) -> Self {
        Self {
            jti: stamp.jti,
            iat: secs32(stamp.iat),
            exp: secs32(stamp.exp),
        }
    }
}

impl From<Stamp> for TokenStamp {
    fn from(stamp: Stamp) -> Self {
        Self {
            jti: stamp.jti,
            iat: stamp.iat.into(),
            exp: stamp.exp.into(),
        }
    }
}

/// One session's state, and every rule that moves it. Stores persist it and run its methods
/// inside their atomic step: the [`MemoryStore`](super::MemoryStore) under a shard lock, a
/// database in a transaction holding the row lock, loading it with
/// [`from_parts`](Self::from_parts) and saving [`parts`](Self::parts).
///
/// It holds identifiers and times only (72 bytes): no token, and not the subject, which each
/// store indexes in its own way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    access: Stamp,
    refresh: Stamp,
    previous_refresh: Option<TokenId>,
    /// When the current access token was minted by a refresh; zero if it came from the login.
    refreshed_at: u32,
    revoked: bool,
}

/// A [`SessionRecord`] as a store outside the process keeps it: every field, in the types a
/// database or a hash stores. [`SessionRecord::from_parts`] of [`SessionRecord::parts`] is the
/// same record; times past 2106 read as the end of that range, as the record keeps them.
///
/// ```
/// use tower_jwt_auth::store::{NewSession, RecordParts, SessionRecord, TokenStamp};
/// use tower_jwt_auth::{SessionId, TokenId};
///
/// let stamp = |exp| TokenStamp { jti: TokenId::random().unwrap(), iat: 0, exp };
/// let session = NewSession::new(SessionId::random().unwrap(), "alice", stamp(900), stamp(86_400));
/// let record = SessionRecord::new(&session);
/// let parts: RecordParts = record.parts();
/// assert_eq!(parts.refreshed_at, None);
/// assert!(!parts.revoked);
/// assert_eq!(SessionRecord::from_parts(parts), record);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordParts {
    /// The current access token.
    pub access: TokenStamp,
    /// The current refresh token; its `exp` is the session's absolute end.
    pub refresh: TokenStamp,
    /// The refresh token rotated out by the last rotating refresh, if any.
    pub previous_refresh: Option<TokenId>,
    /// When the current access token was minted by a refresh (`None`: by the login).
    pub refreshed_at: Option<u64>,
    /// Whether the session was revoked.
    pub revoked: bool,
}

impl SessionRecord {
    /// The state of a just-issued session.
    #[must_use]
    pub fn new(session: &NewSession) -> Self {
        Self {
            access: session.access.into(),
            refresh: session.refresh.into(),
            previous_refresh: None,
            refreshed_at: 0,
            revoked: false,
        }
    }

    /// A record from its stored form.
    #[must_use]
    pub fn from_parts(parts: RecordParts) -> Self {
        Self {
            access: parts.access.into(),
            refresh: parts.refresh.into(),
            previous_refresh: parts.previous_refresh,
            // Zero is the record's own "never": a refresh at the epoch is recorded as 1.
            refreshed_at: parts.refreshed_at.map_or(0, |at| secs32(at).max(1)),
            revoked: parts.revoked,
        }
    }

    /// The record in its stored form.
    #[must_use]
    pub fn parts(&self) -> RecordParts {
        RecordParts {
            access: self.access.into(),
            refresh: self.refresh.into(),
            previous_refresh: self.previous_refresh,
            refreshed_at: (self.refreshed_at != 0).then_some(self.refreshed_at.into()),
            revoked: self.revoked,
        }
    }

    /// The session's absolute end: its refresh token's `exp`. Rotation never moves it.
    #[must_use]
    pub fn expires_at(&self) -> u64 {
        self.refresh.exp.into()
    }

    /// Whether the session is past its end at `now` (and may be forgotten).
    #[must_use]
    pub fn is_expired(&self, now: u64) -> bool {
        now >= self.expires_at()
    }

    /// Whether the session was revoked.
    #[must_use]
    pub fn is_revoked(&self) -> bool {
        self.revoked
    }

    /// The current access token.
    #[must_use]
    pub fn access(&self) -> TokenStamp {
        self.access.into()
    }

    /// The current refresh token.
    #[must_use]
    pub fn refresh_token(&self) -> TokenStamp {
        self.refresh.into()
    }

    /// Checks an access token's `jti` against this session at `now`. Changes nothing.
    #[must_use]
    pub fn check_access(&self, jti: TokenId, now: u64) -> AccessCheck {
        if self.revoked {
            AccessCheck::Revoked
        } else if self.is_expired(now) {
            AccessCheck::Unknown
        } else if self.access.jti == jti {
            AccessCheck::Current
        } else {
            AccessCheck::Superseded
        }
    }

    /// Whether this record is what creating `session` wrote and nothing has changed it since:
    /// a repeat of that very creation (its first access `jti` is 128 random bits), as a client
    /// retrying after a lost reply sends, which succeeds again without changing anything. Any
    /// other creation under an existing id must fail with [`StoreErrorKind::Conflict`](super::StoreErrorKind::Conflict): ids are
    /// never reused, so a revoked session can never come back.
    #[must_use]
    pub fn is_creation_of(&self, session: &NewSession) -> bool {
        self.access.jti == session.access.jti
    }

    /// Revokes the session; returns whether it was live before.
    pub fn revoke(&mut self) -> bool {
        !std::mem::replace(&mut self.revoked, true)
    }

    fn granted(&self, rotation: bool, replayed: bool) -> RefreshOutcome {
        RefreshOutcome::Granted {
            access: self.access.into(),
            refresh: rotation.then(|| self.refresh.into()),
            replayed,
        }
    }

    /// Decides a refresh and applies it. Call inside the store's atomic step.
    ///
    /// In order: a revoked or ended session refuses; a repeat of the very refresh that minted
    /// the current tokens (the same freshly drawn access `jti`: only a client retrying after a
    /// lost reply sends it twice) gets those tokens again, never a theft verdict; inside the
    /// grace window after the last refresh, the current or just-rotated-out refresh token gets
    /// the tokens of that refresh again; a rotated-out token outside it revokes the family
    /// (RFC 9700 §4.14.2); a refresh while the current access token is unexpired revokes the
    /// session (T3 of the flow); otherwise new tokens are recorded.
    pub fn refresh(&mut self, request: &RefreshRequest) -> RefreshOutcome {
        if self.revoked {
            return RefreshOutcome::Revoked;
        }
        let now = request.now;
        if self.is_expired(now) {
            return RefreshOutcome::Unknown;
        }
        let rotation = request.new_refresh.is_some();
        if self.access.jti == request.new_access.jti {
            return self.granted(rotation, false);
        }
        let is_current = self.refresh.jti == request.refresh_jti;
        let is_previous = self.previous_refresh == Some(request.refresh_jti);
        if !is_current && !is_previous {
            if rotation {
                // An older member of this family: it was used before, so someone kept a copy.
                self.revoked = true;
                return RefreshOutcome::ReuseDetected;
            }
            return RefreshOutcome::Unknown;
        }
        let refreshed_at = u64::from(self.refreshed_at);
        if refreshed_at != 0 && now < refreshed_at.saturating_add(request.grace) {
            return self.granted(rotation, true);
        }
        if is_previous {
            self.revoked = true;
            return RefreshOutcome::ReuseDetected;
        }
        let access_valid = now < u64::from(self.access.exp).saturating_add(request.leeway);
        if request.theft_detection && access_valid {
            self.revoked = true;
            return RefreshOutcome::TheftDetected;
        }
        let end = self.refresh.exp;
        self.access = Stamp {
            exp: secs32(request.new_access.exp).min(end),
            ..request.new_access.into()
        };
        if let Some(new_refresh) = request.new_refresh {
            self.previous_refresh = Some(self.refresh.jti);
            self.refresh = Stamp {
                exp: end,
                ..new_refresh.into()
            };
        }
        self.refreshed_at = secs32(now).max(1);
        self.granted(rotation, false)
    }
}
