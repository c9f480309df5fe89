//! [`PairStore`] for [`RedisStore`]: each decision one script or one read.

use std::str::FromStr;

use super::connection::Connection;
use super::values::{corrupt, parse_jti, parse_u64, recorded, secs32, store_error, ttl_ms};
use super::{CREATE, FORMAT, INDEX, MARK, REFRESH, REVOKE, REVOKE_PAGE, RedisStore};
use crate::store::near_cache::Cached;
use crate::store::{
    AccessCheck, NewSession, PairStore, RefreshOutcome, RefreshRequest, StoreError, StoreErrorKind,
    TokenStamp,
};
use crate::{SessionId, TokenId};

impl RedisStore {
    /// Revokes the session whose hash is `key`; returns whether it was live.
    async fn revoke_key(
        &self,
        connection: &mut Connection,
        key: String,
        now: u64,
    ) -> Result<bool, StoreError> {
        let revoked: i64 = REVOKE
            .key(key)
            .arg(now)
            .invoke_async(connection)
            .await
            .map_err(store_error)?;
        Ok(revoked == 1)
    }

    /// One `HMGET` of what an access check needs, as the near cache keeps it (none for an
    /// unknown session).
    async fn read_access_record(&self, sid: SessionId) -> Result<Option<Cached>, StoreError> {
        self.bounded(async {
            let (revoked, end, access, format): (
                Option<String>,
                Option<String>,
                Option<String>,
                Option<String>,
            ) = ::redis::cmd("HMGET")
                .arg(self.hash_key(sid))
                .arg("rev")
                .arg("re")
                .arg("aj")
                .arg("v")
                .query_async(&mut self.connection())
                .await
                .map_err(store_error)?;
            // The same order as SessionRecord::check_access, and the one rule for the flag:
            // live only when it reads exactly "0" (a tombstone holds the flag alone).
            let Some(revoked) = revoked else {
                return Ok(None);
            };
            if revoked != "0" {
                // A tombstone holds the flag alone: revoked is all there is to know.
                return Ok(Some(Cached {
                    revoked: true,
                    end: u64::MAX,
                    access: TokenId::from_bytes([0; 16]),
                }));
            }
            if format.as_deref() != Some(FORMAT) {
                return Err(corrupt(
                    "a stored session has a format this version cannot read",
                ));
            }
            let (Some(end), Some(access)) = (end, access) else {
                return Err(corrupt("a stored session is incomplete"));
            };
            Ok(Some(Cached {
                revoked: false,
                end: parse_u64(&end)?,
                access: parse_jti(&access)?,
            }))
        })
        .await
    }
}

/// The access check of a record, in the order of `SessionRecord::check_access`.
fn decide(record: Option<Cached>, jti: TokenId, now: u64) -> AccessCheck {
    match record {
        None => AccessCheck::Unknown,
        Some(record) if record.revoked => AccessCheck::Revoked,
        Some(record) if now >= record.end => AccessCheck::Unknown,
        // TokenId's equality is constant-time.
        Some(record) if record.access == jti => AccessCheck::Current,
        Some(_) => AccessCheck::Superseded,
    }
}

/// Reads the stamp at `fields[0..3]` (jti, iat, exp) of a refresh script's reply.
fn stamp(fields: &[String]) -> Result<TokenStamp, StoreError> {
    match fields {
        [jti, iat, exp] => Ok(TokenStamp {
            jti: parse_jti(jti)?,
            iat: parse_u64(iat)?,
            exp: parse_u64(exp)?,
        }),
        _ => Err(corrupt("a refresh reply is incomplete")),
    }
}

impl PairStore for RedisStore {
    async fn create_session(&self, session: NewSession) -> Result<(), StoreError> {
        self.bounded(async {
            let (access, refresh) = (recorded(session.access()), recorded(session.refresh()));
            // As in the memory store, a session is created at its first token's issue time.
            let (now, end) = (session.access().iat, refresh.exp);
            let ttl = ttl_ms(now, end);
            if ttl == 0 {
                // Over before it began: it could only ever be unknown, so nothing is kept.
                return Ok(());
            }
            let mut connection = self.connection();
            let sid = session.session_id().to_string();
            let index = self.index_key(session.subject());
            // Index first: a live session is never unindexed, so "log out everywhere" reaches it
            // (see "Redis Cluster" in the module docs). A failure in between leaves only an
            // index entry that points nowhere, pruned when it ends.
            let over_limit: Vec<(String, f64)> = INDEX
                .key(&index)
                .arg(now)
                .arg(end)
                .arg(&sid)
                .arg(ttl)
                .arg(session.subject_limit())
                .invoke_async(&mut connection)
                .await
                .map_err(store_error)?;
            let created: i64 = CREATE
                .key(self.hash_key(&sid))
                .arg(&**session.subject())
                .arg(access.jti.to_string())
                .arg(access.iat)
                .arg(access.exp)
                .arg(refresh.jti.to_string())
                .arg(refresh.iat)
                .arg(refresh.exp)
                .arg(ttl)
                .invoke_async(&mut connection)
                .await
                .map_err(store_error)?;
            if created != 1 {
                return Err(StoreError::from_kind(StoreErrorKind::Conflict));
            }
            if !over_limit.is_empty() {
                self.revoke_indexed(&index, over_limit, now).await?;
            }
            Ok(())
        })
        .await
    }

    async fn check_access(
        &self,
        sid: SessionId,
        jti: TokenId,
        now: u64,
    ) -> Result<AccessCheck, StoreError> {
        if let Some(answer) = self.near().and_then(|near| near.check(sid, jti, now)) {
            return Ok(answer);
        }
        // Taken before the read is sent: an invalidation from now on keeps its reply out.
        let ticket = self.near().and_then(|near| near.begin(sid));
        let read = self.read_access_record(sid).await;
        if let (Some(near), Some(ticket)) = (self.near(), ticket) {
            match &read {
                Ok(Some(record)) => near.complete(sid, ticket, *record),
                _ => near.abandon(sid, ticket),
            }
        }
        Ok(decide(read?, jti, now))
    }

    fn check_access_now(
        &self,
        sid: SessionId,
        jti: TokenId,
        now: u64,
    ) -> Option<Result<AccessCheck, StoreError>> {
        self.near()?.check(sid, jti, now).map(Ok)
    }

    async fn refresh(&self, request: RefreshRequest) -> Result<RefreshOutcome, StoreError> {
        self.bounded(async {
            let mut connection = self.connection();
            let mut invocation = REFRESH.key(self.hash_key(request.sid));
            let new_access = recorded(request.new_access);
            invocation
                .arg(request.refresh_jti.to_string())
                .arg(request.now)
                .arg(new_access.jti.to_string())
                .arg(new_access.iat)
                .arg(new_access.exp);
            match request.new_refresh.map(recorded) {
                Some(refresh) => invocation
                    .arg(refresh.jti.to_string())
                    .arg(refresh.iat)
                    .arg(refresh.exp),
                None => invocation.arg("").arg("").arg(""),
            };
            invocation
                .arg(request.grace)
                .arg(request.leeway)
                .arg(if request.theft_detection { "1" } else { "0" })
                // As SessionRecord records it: zero there means "never refreshed".
                .arg(secs32(request.now).max(1));
            let reply: Result<Vec<String>, _> = invocation.invoke_async(&mut connection).await;
            // Whatever the script did (or, failed mid-way, might have done), this server's
            // copy is not to be trusted for the session any more.
            self.forget(request.sid);
            let reply = reply.map_err(store_error)?;
            let rotation = request.new_refresh.is_some();
            let outcome = match reply.first().map(String::as_str) {
                Some(code @ ("G" | "R")) if reply.len() == 7 => RefreshOutcome::Granted {
                    access: stamp(&reply[1..4])?,
                    refresh: if rotation {
                        Some(stamp(&reply[4..7])?)
                    } else {
                        None
                    },
                    replayed: code == "R",
                },
                Some("T") => RefreshOutcome::TheftDetected,
                Some("U") => RefreshOutcome::ReuseDetected,
                Some("X") => RefreshOutcome::Revoked,
                Some("N") => RefreshOutcome::Unknown,
                _ => {
                    return Err(corrupt(
                        "a stored session is incomplete or of an unknown format",
                    ));
                }
            };
            let revoked = matches!(
                outcome,
                RefreshOutcome::TheftDetected | RefreshOutcome::ReuseDetected
            );
            if revoked && self.inner.durable.is_some() {
                let _: i64 = MARK
                    .key(self.hash_key(request.sid))
                    .invoke_async(&mut self.revoking_connection())
                    .await
                    .map_err(store_error)?;
                self.replicate().await?;
            }
            Ok(outcome)
        })
        .await
    }

    async fn revoke_session(&self, sid: SessionId, now: u64) -> Result<bool, StoreError> {
        self.bounded(async {
            let revoked = self
                .revoke_key(&mut self.revoking_connection(), self.hash_key(sid), now)
                .await;
            self.forget(sid);
            let revoked = revoked?;
            if revoked {
                self.replicate().await?;
            }
            Ok(revoked)
        })
        .await
    }

    async fn revoke_subject(&self, subject: &str, now: u64) -> Result<usize, StoreError> {
        let index = self.index_key(subject);
        let mut revoked = 0;
        // Page by page, each bounded by the timeout and kept once done: revoked sessions leave
        // the index, so a call that fails part way leaves fewer for the next one.
        loop {
            let page: Vec<(String, f64)> = self
                .bounded(async {
                    // Scores are doubles, rounded above 2^53, so the read takes `end >= now`
                    // (which rounding never loses an unexpired session from) and the revoke
                    // script decides `now < end` exactly.
                    ::redis::cmd("ZRANGEBYSCORE")
                        .arg(&index)
                        .arg(now)
                        .arg("+inf")
                        .arg("WITHSCORES")
                        .arg("LIMIT")
                        .arg(0)
                        .arg(REVOKE_PAGE)
                        .query_async(&mut self.revoking_connection())
                        .await
                        .map_err(store_error)
                })
                .await?;
            if page.is_empty() {
                return Ok(revoked);
            }
            revoked += self.bounded(self.revoke_indexed(&index, page, now)).await?;
        }
    }
}

impl RedisStore {
    /// Revokes the indexed sessions `members` (ids with their ends), all in flight at once,
    /// then removes them from the subject index `index`; returns how many were live. A member
    /// whose session is missing gets a tombstone (see `revoke.lua`).
    async fn revoke_indexed(
        &self,
        index: &str,
        members: Vec<(String, f64)>,
        now: u64,
    ) -> Result<usize, StoreError> {
        let mut tasks = tokio::task::JoinSet::new();
        let mut ids = Vec::with_capacity(members.len());
        for (sid, end) in members {
            let id = SessionId::from_str(&sid)
                .map_err(|_| corrupt("an indexed session id is malformed"))?;
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "saturating: a score is at most a u64 written as a double"
            )]
            let ttl = ttl_ms(now, end as u64);
            let (store, key) = (self.clone(), self.hash_key(&sid));
            tasks.spawn(async move {
                let revoked: Result<i64, _> = REVOKE
                    .key(key)
                    .arg(now)
                    .arg(ttl)
                    .invoke_async(&mut store.revoking_connection())
                    .await;
                store.forget(id);
                Ok::<_, StoreError>(revoked.map_err(store_error)? == 1)
            });
            ids.push(sid);
        }
        let mut revoked = 0;
        while let Some(result) = tasks.join_next().await {
            let was_live =
                result.map_err(|e| StoreError::new(StoreErrorKind::Unavailable, e))??;
            revoked += usize::from(was_live);
        }
        let _: i64 = ::redis::cmd("ZREM")
            .arg(index)
            .arg(&ids)
            .query_async(&mut self.revoking_connection())
            .await
            .map_err(store_error)?;
        if revoked > 0 {
            self.replicate().await?;
        }
        Ok(revoked)
    }
}
