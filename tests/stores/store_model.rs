//! The pair store's state machine against a model, for every store.
//!
//! Random sequences of operations — issue, access checks with the current, an old or a foreign
//! `jti`, refreshes with the current, previous, an older or a foreign refresh `jti` (rotation on or
//! off, theft detection on or off, leeway 0–2 s, grace 10 s), a refresh sent again as a client
//! retrying after a lost reply sends it, time moving by small, medium and large steps, and
//! revocations of one session or a whole subject — run through the [`PairStore`] trait with
//! explicit times against [`MemoryStore`], against `RedisStore` (with `REDIS_URL`; its rules run
//! in Lua) and against `PostgresStore` (with `DATABASE_URL`), and against [`Model`]: a plain
//! re-statement of the rules documented on `SessionRecord::refresh` and `check_access`, written
//! for reading, not speed. After every step the store's answer must equal the model's, and so
//! must every session's access-check verdict.
//!
//! `every_outcome_is_reached` runs the same generator and counts what the model answered, so the
//! property cannot pass by never leaving the easy paths.

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use tower_jwt_auth::store::MemoryStore;
use tower_jwt_auth::store::{
    AccessCheck, NewSession, PairStore, RefreshOutcome, RefreshRequest, TokenStamp,
};
use tower_jwt_auth::{SessionId, TokenId};

const START: u64 = 1_700_000_000;
const ACCESS_TTL: u64 = 900;
const SESSION_TTL: u64 = 7_200;
const GRACE: u64 = 10;
const SUBJECTS: [&str; 3] = ["alice", "bob", "carol"];
/// Fewer sessions per run than the store's sweep period (one shard is swept every 64 sessions
/// created): a sweep may forget an ended session, turning a revoked-and-ended session's `Revoked`
/// into `Unknown`, a difference the documentation allows ("stays known until its absolute end")
/// but that this model does not track.
const MAX_ISSUES: usize = 12;

/// A runtime to drive the stores' futures (the networked ones wait on I/O).
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

// ---------------------------------------------------------------------------------------------
// The model.

/// One session, as the rules describe it.
#[derive(Debug, Clone)]
struct ModelSession {
    sid: SessionId,
    subject: &'static str,
    access: TokenStamp,
    refresh: TokenStamp,
    /// The refresh token rotated out by the last rotating refresh.
    previous_refresh: Option<TokenId>,
    /// When the current access token was minted by a refresh (`None`: it came from the login).
    refreshed_at: Option<u64>,
    revoked: bool,
    /// Every access and refresh `jti` this session ever had, oldest first (for "old" tokens).
    access_history: Vec<TokenId>,
    refresh_history: Vec<TokenId>,
}

impl ModelSession {
    /// The absolute end: the first refresh token's `exp`, never moved.
    fn end(&self) -> u64 {
        self.refresh.exp
    }

    fn ended(&self, now: u64) -> bool {
        now >= self.end()
    }
}

#[derive(Debug, Default)]
struct Model {
    sessions: Vec<ModelSession>,
}

impl Model {
    fn find(&mut self, sid: SessionId) -> Option<&mut ModelSession> {
        self.sessions.iter_mut().find(|s| s.sid == sid)
    }

    fn create(&mut self, session: &NewSession, subject: &'static str) {
        self.sessions.push(ModelSession {
            sid: session.session_id(),
            subject,
            access: session.access(),
            refresh: session.refresh(),
            previous_refresh: None,
            refreshed_at: None,
            revoked: false,
            access_history: vec![session.access().jti],
            refresh_history: vec![session.refresh().jti],
        });
    }

    /// Revoked sessions are refused; ended ones are unknown; otherwise the current `jti` is
    /// current and any other is superseded.
    fn check_access(&mut self, sid: SessionId, jti: TokenId, now: u64) -> AccessCheck {
        match self.find(sid) {
            None => AccessCheck::Unknown,
            Some(s) if s.revoked => AccessCheck::Revoked,
            Some(s) if s.ended(now) => AccessCheck::Unknown,
            Some(s) if s.access.jti == jti => AccessCheck::Current,
            Some(_) => AccessCheck::Superseded,
        }
    }

    /// The rules of `SessionRecord::refresh`, in their documented order.
    fn refresh(&mut self, request: &RefreshRequest) -> RefreshOutcome {
        let Some(s) = self.find(request.sid) else {
            return RefreshOutcome::Unknown;
        };
        let now = request.now;
        // 1. A revoked session refuses; so does one past its end.
        if s.revoked {
            return RefreshOutcome::Revoked;
        }
        if s.ended(now) {
            return RefreshOutcome::Unknown;
        }
        let rotation = request.new_refresh.is_some();
        // 2. The very refresh that minted the current tokens, sent again (its new access `jti`
        //    is random: only a client retrying after a lost reply repeats it): those tokens.
        if s.access.jti == request.new_access.jti {
            return RefreshOutcome::Granted {
                access: s.access,
                refresh: rotation.then_some(s.refresh),
                replayed: false,
            };
        }
        let is_current = s.refresh.jti == request.refresh_jti;
        let is_previous = s.previous_refresh == Some(request.refresh_jti);
        // 3. A refresh token that is neither current nor just rotated out: with rotation it is
        //    an older member of the family (someone kept a copy), so the family dies; without
        //    rotation the session never had it.
        if !is_current && !is_previous {
            if rotation {
                s.revoked = true;
                return RefreshOutcome::ReuseDetected;
            }
            return RefreshOutcome::Unknown;
        }
        // 4. Inside the grace window after the last refresh: that refresh's tokens again.
        if s.refreshed_at.is_some_and(|at| now < at + request.grace) {
            return RefreshOutcome::Granted {
                access: s.access,
                refresh: rotation.then_some(s.refresh),
                replayed: true,
            };
        }
        // 5. The rotated-out token after the window: reuse, the family dies.
        if is_previous {
            s.revoked = true;
            return RefreshOutcome::ReuseDetected;
        }
        // 6. T3: a refresh while the access token is still valid is theft.
        if request.theft_detection && now < s.access.exp + request.leeway {
            s.revoked = true;
            return RefreshOutcome::TheftDetected;
        }
        // 7. New tokens, never outliving the session.
        let end = s.end();
        s.access = TokenStamp {
            exp: request.new_access.exp.min(end),
            ..request.new_access
        };
        s.access_history.push(s.access.jti);
        if let Some(new_refresh) = request.new_refresh {
            s.previous_refresh = Some(s.refresh.jti);
            s.refresh = TokenStamp {
                exp: end,
                ..new_refresh
            };
            s.refresh_history.push(s.refresh.jti);
        }
        s.refreshed_at = Some(now);
        RefreshOutcome::Granted {
            access: s.access,
            refresh: rotation.then_some(s.refresh),
            replayed: false,
        }
    }

    /// Revokes a live session; says whether it was live (neither revoked nor ended).
    fn revoke_session(&mut self, sid: SessionId, now: u64) -> bool {
        match self.find(sid) {
            Some(s) if !s.revoked && !s.ended(now) => {
                s.revoked = true;
                true
            }
            _ => false,
        }
    }

    fn revoke_subject(&mut self, subject: &str, now: u64) -> usize {
        let mut revoked = 0;
        for s in &mut self.sessions {
            if s.subject == subject && !s.revoked && !s.ended(now) {
                s.revoked = true;
                revoked += 1;
            }
        }
        revoked
    }
}

// ---------------------------------------------------------------------------------------------
// Operations.

/// Which access `jti` an access check presents.
#[derive(Debug, Clone, Copy)]
enum AccessJti {
    Current,
    /// One the session had before (its first, if it never had another).
    Old(usize),
    /// Another session's current one.
    OtherSessions,
    /// One never issued.
    Foreign,
}

/// Which refresh `jti` a refresh presents.
#[derive(Debug, Clone, Copy)]
enum RefreshJti {
    Current,
    /// The one rotated out last (the current one if none was).
    Previous,
    /// One rotated out before the previous one (the first, if there is no such).
    Older(usize),
    /// One never issued for this session.
    Foreign,
}

#[derive(Debug, Clone)]
enum Op {
    Issue {
        subject: usize,
    },
    Access {
        session: usize,
        jti: AccessJti,
    },
    /// An access check of a session id never issued.
    AccessUnknownSession,
    Refresh {
        session: usize,
        jti: RefreshJti,
        rotation: bool,
        theft_detection: bool,
        leeway: u64,
    },
    /// The last refresh sent again, unchanged.
    RepeatLastRefresh,
    Advance(u64),
    /// Moves time to a session's access-token expiry plus `offset` (−1 to +2: the leeway's
    /// edges), if that is not in the past.
    ToAccessExpiry {
        session: usize,
        offset: i8,
    },
    /// Moves time to a session's absolute end plus `offset` (−1 or 0), if not in the past.
    ToSessionEnd {
        session: usize,
        offset: i8,
    },
    RevokeSession {
        session: usize,
    },
    RevokeSubject {
        subject: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let session = 0usize..8;
    let access_jti = prop_oneof![
        4 => Just(AccessJti::Current),
        2 => (0usize..4).prop_map(AccessJti::Old),
        1 => Just(AccessJti::OtherSessions),
        1 => Just(AccessJti::Foreign),
    ];
    let refresh_jti = prop_oneof![
        6 => Just(RefreshJti::Current),
        2 => Just(RefreshJti::Previous),
        1 => (0usize..4).prop_map(RefreshJti::Older),
        1 => Just(RefreshJti::Foreign),
    ];
    let advance = prop_oneof![
        // Within the grace window.
        4 => 0u64..GRACE,
        // Past the window, not past the access token.
        3 => GRACE..ACCESS_TTL,
        // Around the access token's expiry (and the leeway).
        2 => ACCESS_TTL - 3..ACCESS_TTL + 3,
        // Past the access token, maybe past several.
        2 => ACCESS_TTL..3 * ACCESS_TTL,
        // Past the session's end.
        1 => SESSION_TTL..2 * SESSION_TTL,
    ];
    prop_oneof![
        3 => (0..SUBJECTS.len()).prop_map(|subject| Op::Issue { subject }),
        4 => (session.clone(), access_jti).prop_map(|(session, jti)| Op::Access { session, jti }),
        1 => Just(Op::AccessUnknownSession),
        8 => (session.clone(), refresh_jti, any::<bool>(), prop::bool::weighted(0.8), 0u64..=2)
            .prop_map(|(session, jti, rotation, theft_detection, leeway)| Op::Refresh {
                session,
                jti,
                rotation,
                theft_detection,
                leeway,
            }),
        1 => Just(Op::RepeatLastRefresh),
        6 => advance.prop_map(Op::Advance),
        1 => (session.clone(), -1i8..=2)
            .prop_map(|(session, offset)| Op::ToAccessExpiry { session, offset }),
        1 => (session.clone(), -1i8..=0)
            .prop_map(|(session, offset)| Op::ToSessionEnd { session, offset }),
        1 => session.prop_map(|session| Op::RevokeSession { session }),
        1 => (0..SUBJECTS.len()).prop_map(|subject| Op::RevokeSubject { subject }),
    ]
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    // Every run starts with a session, so the first operations have something to act on.
    prop::collection::vec(op(), 1..80).prop_map(|mut ops| {
        ops.insert(0, Op::Issue { subject: 0 });
        ops
    })
}

// ---------------------------------------------------------------------------------------------
// Running a sequence against both.

/// What was answered, for the coverage count.
#[derive(Debug, Default)]
struct Seen {
    retried: usize,
    granted: usize,
    replayed: usize,
    granted_rotated: usize,
    capped_at_session_end: usize,
    theft: usize,
    reuse: usize,
    revoked: usize,
    unknown: usize,
    current: usize,
    superseded: usize,
    access_revoked: usize,
    access_unknown: usize,
    revoke_live: usize,
    revoke_dead: usize,
    revoke_subject_many: usize,
}

struct Run<S> {
    store: S,
    model: Model,
    now: u64,
    next_id: u64,
    issued: usize,
    /// Ids and subjects of this run differ from every other run's, so runs can share a table.
    nonce: u32,
    subjects: [String; 3],
    last_refresh: Option<RefreshRequest>,
}

impl<S: PairStore> Run<S> {
    fn new(store: S) -> Self {
        let nonce = u32::from_le_bytes(
            TokenId::random().expect("random source").as_bytes()[..4]
                .try_into()
                .expect("four bytes"),
        );
        Self {
            store,
            model: Model::default(),
            now: START,
            next_id: 0,
            issued: 0,
            nonce,
            subjects: SUBJECTS.map(|s| format!("{s}-{nonce:08x}")),
            last_refresh: None,
        }
    }

    /// Distinct, deterministic ids within a run (so failures shrink and replay), spread over the
    /// memory store's shards (byte 0) and buckets (bytes 8..16); bytes 4..8 are the run's.
    fn id_bytes(&mut self) -> [u8; 16] {
        self.next_id += 1;
        let n = self.next_id.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&n.to_be_bytes());
        bytes[4..8].copy_from_slice(&self.nonce.to_le_bytes());
        bytes[8..].copy_from_slice(&self.next_id.to_le_bytes());
        bytes
    }

    fn token_id(&mut self) -> TokenId {
        TokenId::from_bytes(self.id_bytes())
    }

    fn session(&self, index: usize) -> Option<&ModelSession> {
        match self.model.sessions.len() {
            0 => None,
            n => Some(&self.model.sessions[index % n]),
        }
    }

    async fn step(&mut self, op: &Op, seen: &mut Seen) -> Result<(), TestCaseError> {
        let now = self.now;
        match *op {
            Op::Issue { subject } => {
                if self.issued >= MAX_ISSUES {
                    return Ok(());
                }
                self.issued += 1;
                let sid = SessionId::from_bytes(self.id_bytes());
                let access = TokenStamp {
                    jti: self.token_id(),
                    iat: now,
                    exp: now + ACCESS_TTL,
                };
                let refresh = TokenStamp {
                    jti: self.token_id(),
                    iat: now,
                    exp: now + SESSION_TTL,
                };
                let session =
                    NewSession::new(sid, self.subjects[subject].as_str(), access, refresh);
                self.model.create(&session, SUBJECTS[subject]);
                self.store
                    .create_session(session)
                    .await
                    .map_err(|e| TestCaseError::fail(format!("create_session: {e}")))?;
            }
            Op::Access { session, jti } => {
                let Some(s) = self.session(session) else {
                    return Ok(());
                };
                let sid = s.sid;
                let jti = match jti {
                    AccessJti::Current => s.access.jti,
                    AccessJti::Old(back) => {
                        let history = &s.access_history;
                        history[history
                            .len()
                            .saturating_sub(2 + back)
                            .min(history.len() - 1)]
                    }
                    AccessJti::OtherSessions => {
                        let n = self.model.sessions.len();
                        self.model.sessions[(session + 1) % n].access.jti
                    }
                    AccessJti::Foreign => self.token_id(),
                };
                let expected = self.model.check_access(sid, jti, now);
                let actual = self
                    .store
                    .check_access(sid, jti, now)
                    .await
                    .map_err(|e| TestCaseError::fail(format!("check_access: {e}")))?;
                prop_assert_eq!(actual, expected, "{:?} at {}", op, now);
                count_access(seen, expected);
            }
            Op::AccessUnknownSession => {
                let sid = SessionId::from_bytes(self.id_bytes());
                let jti = self.token_id();
                let actual = self
                    .store
                    .check_access(sid, jti, now)
                    .await
                    .map_err(|e| TestCaseError::fail(format!("check_access: {e}")))?;
                prop_assert_eq!(actual, AccessCheck::Unknown);
                prop_assert_eq!(self.model.check_access(sid, jti, now), AccessCheck::Unknown);
            }
            Op::Refresh {
                session,
                jti,
                rotation,
                theft_detection,
                leeway,
            } => {
                let Some(s) = self.session(session) else {
                    return Ok(());
                };
                let (sid, current, previous) = (s.sid, s.refresh.jti, s.previous_refresh);
                let history = s.refresh_history.clone();
                let refresh_jti = match jti {
                    RefreshJti::Current => current,
                    RefreshJti::Previous => previous.unwrap_or(current),
                    RefreshJti::Older(back) => {
                        history[history
                            .len()
                            .saturating_sub(3 + back)
                            .min(history.len() - 1)]
                    }
                    RefreshJti::Foreign => self.token_id(),
                };
                let new_access = TokenStamp {
                    jti: self.token_id(),
                    iat: now,
                    exp: now + ACCESS_TTL,
                };
                let new_refresh = rotation.then(|| TokenStamp {
                    jti: self.token_id(),
                    iat: now,
                    // Whatever the caller asks, the session's end stays where it was.
                    exp: now + 10 * SESSION_TTL,
                });
                let request = RefreshRequest {
                    sid,
                    refresh_jti,
                    now,
                    new_access,
                    new_refresh,
                    grace: GRACE,
                    leeway,
                    theft_detection,
                };
                self.last_refresh = Some(request);
                self.refresh(request, op, seen).await?;
            }
            Op::RepeatLastRefresh => {
                if let Some(request) = self.last_refresh {
                    let expected = self.model.find(request.sid).map(|s| s.access.jti);
                    if expected == Some(request.new_access.jti) {
                        seen.retried += 1;
                    }
                    self.refresh(request, op, seen).await?;
                }
            }
            Op::Advance(seconds) => self.now += seconds,
            Op::ToAccessExpiry { session, offset } => {
                if let Some(s) = self.session(session) {
                    let target = s.access.exp.saturating_add_signed(offset.into());
                    self.now = self.now.max(target);
                }
            }
            Op::ToSessionEnd { session, offset } => {
                if let Some(s) = self.session(session) {
                    let target = s.end().saturating_add_signed(offset.into());
                    self.now = self.now.max(target);
                }
            }
            Op::RevokeSession { session } => {
                let Some(s) = self.session(session) else {
                    return Ok(());
                };
                let sid = s.sid;
                let expected = self.model.revoke_session(sid, now);
                let actual = self
                    .store
                    .revoke_session(sid, now)
                    .await
                    .map_err(|e| TestCaseError::fail(format!("revoke_session: {e}")))?;
                prop_assert_eq!(actual, expected, "{:?} at {}", op, now);
                if expected {
                    seen.revoke_live += 1;
                } else {
                    seen.revoke_dead += 1;
                }
            }
            Op::RevokeSubject { subject } => {
                let expected = self.model.revoke_subject(SUBJECTS[subject], now);
                let actual = self
                    .store
                    .revoke_subject(&self.subjects[subject], now)
                    .await
                    .map_err(|e| TestCaseError::fail(format!("revoke_subject: {e}")))?;
                prop_assert_eq!(actual, expected, "{:?} at {}", op, now);
                if expected > 1 {
                    seen.revoke_subject_many += 1;
                }
            }
        }
        self.check_every_session().await
    }

    async fn refresh(
        &mut self,
        request: RefreshRequest,
        op: &Op,
        seen: &mut Seen,
    ) -> Result<(), TestCaseError> {
        let now = request.now;
        let expected = self.model.refresh(&request);
        let actual = self
            .store
            .refresh(request)
            .await
            .map_err(|e| TestCaseError::fail(format!("refresh: {e}")))?;
        prop_assert_eq!(actual, expected, "{:?} at {}", op, now);
        count_refresh(seen, &expected, &request);
        Ok(())
    }

    /// After every step: each session's current and first access token get the same verdict
    /// from both, through the synchronous path (where the store has one) as well as the
    /// asynchronous one.
    async fn check_every_session(&mut self) -> Result<(), TestCaseError> {
        let now = self.now;
        let probes: Vec<(SessionId, TokenId)> = self
            .model
            .sessions
            .iter()
            .flat_map(|s| [(s.sid, s.access.jti), (s.sid, s.access_history[0])])
            .collect();
        for (sid, jti) in probes {
            let expected = self.model.check_access(sid, jti, now);
            let actual = self
                .store
                .check_access(sid, jti, now)
                .await
                .map_err(|e| TestCaseError::fail(format!("check_access: {e}")))?;
            prop_assert_eq!(actual, expected, "session {} at {}", sid, now);
            if let Some(sync) = self.store.check_access_now(sid, jti, now) {
                prop_assert_eq!(sync.map_err(|e| e.to_string()), Ok(expected));
            }
        }
        Ok(())
    }
}

fn count_access(seen: &mut Seen, check: AccessCheck) {
    match check {
        AccessCheck::Current => seen.current += 1,
        AccessCheck::Superseded => seen.superseded += 1,
        AccessCheck::Revoked => seen.access_revoked += 1,
        AccessCheck::Unknown => seen.access_unknown += 1,
        _ => unreachable!("the model answers only these"),
    }
}

fn count_refresh(seen: &mut Seen, outcome: &RefreshOutcome, request: &RefreshRequest) {
    match outcome {
        RefreshOutcome::Granted {
            access,
            refresh,
            replayed,
        } => {
            if *replayed {
                seen.replayed += 1;
            } else {
                seen.granted += 1;
                if access.exp < request.new_access.exp {
                    seen.capped_at_session_end += 1;
                }
            }
            if refresh.is_some() {
                seen.granted_rotated += 1;
            }
        }
        RefreshOutcome::TheftDetected => seen.theft += 1,
        RefreshOutcome::ReuseDetected => seen.reuse += 1,
        RefreshOutcome::Revoked => seen.revoked += 1,
        RefreshOutcome::Unknown => seen.unknown += 1,
        _ => unreachable!("the model answers only these"),
    }
}

async fn run<S: PairStore>(store: S, ops: &[Op], seen: &mut Seen) -> Result<(), TestCaseError> {
    let mut run = Run::new(store);
    for op in ops {
        run.step(op, seen).await?;
    }
    Ok(())
}

/// Runs `cases` random sequences, each against a fresh store from `make`.
fn follows_the_model<S, F>(cases: u32, make: impl Fn() -> F)
where
    S: PairStore,
    F: std::future::Future<Output = S>,
{
    let runtime = runtime();
    let mut runner = TestRunner::new(ProptestConfig::with_cases(cases));
    let result = runner.run(&ops(), |ops| {
        runtime.block_on(async { run(make().await, &ops, &mut Seen::default()).await })
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
}

#[test]
fn memory_store_follows_the_model() {
    follows_the_model(1024, || async { MemoryStore::new() });
}

/// The same model holds the Lua scripts of the Redis store to the record's rules.
#[cfg(feature = "redis")]
#[test]
fn redis_store_follows_the_model() {
    let Some(url) = crate::common::redis::redis_url() else {
        return;
    };
    follows_the_model(96, || crate::common::redis::store_at(&url));
}

/// And the PostgreSQL store, whose rules are the record's, run inside its transactions. Every
/// case has a store of its own (so a sweep never runs in the middle of one) on one table.
#[cfg(feature = "postgres")]
#[test]
fn postgres_store_follows_the_model() {
    let Some(url) = crate::common::postgres::database_url() else {
        return;
    };
    let table = crate::common::postgres::unique_table();
    runtime().block_on(crate::common::postgres::store_in(&url, &table));
    follows_the_model(96, || {
        let builder =
            tower_jwt_auth::store::PostgresStore::builder(url.clone()).table(table.clone());
        async move { builder.build().await.expect("connect") }
    });
}

/// The generator reaches every outcome of every operation, so the property above is not
/// vacuous: granted (fresh, replayed in the grace window, rotated, capped at the session's
/// end), theft, reuse, revoked, unknown; all four access verdicts; live and dead revocations.
#[test]
fn every_outcome_is_reached() {
    let runtime = runtime();
    let mut runner = TestRunner::deterministic();
    let strategy = ops();
    let mut seen = Seen::default();
    for _ in 0..400 {
        let ops = strategy
            .new_tree(&mut runner)
            .expect("generate a sequence")
            .current();
        runtime
            .block_on(run(MemoryStore::new(), &ops, &mut seen))
            .expect("the store follows the model");
    }
    let counts = [
        ("a refresh retried after a lost reply", seen.retried),
        ("granted", seen.granted),
        ("replayed", seen.replayed),
        ("granted with rotation", seen.granted_rotated),
        (
            "access capped at the session end",
            seen.capped_at_session_end,
        ),
        ("theft detected", seen.theft),
        ("reuse detected", seen.reuse),
        ("refresh of a revoked session", seen.revoked),
        ("refresh unknown", seen.unknown),
        ("access current", seen.current),
        ("access superseded", seen.superseded),
        ("access revoked", seen.access_revoked),
        ("access unknown", seen.access_unknown),
        ("revoke of a live session", seen.revoke_live),
        ("revoke of a dead session", seen.revoke_dead),
        (
            "subject revocation of several sessions",
            seen.revoke_subject_many,
        ),
    ];
    for (what, count) in counts {
        assert!(count >= 5, "{what} reached only {count} times: {seen:?}");
    }
}

/// The model itself, on the documented scenarios, so a bug shared by model and store would
/// still show: T3 theft, the grace window, rotation with reuse detection, and the session end.
#[test]
fn the_model_states_the_documented_rules() {
    runtime().block_on(the_documented_rules());
}

async fn the_documented_rules() {
    let mut run = Run::new(MemoryStore::new());
    let mut seen = Seen::default();
    run.step(&Op::Issue { subject: 0 }, &mut seen)
        .await
        .unwrap();
    let refresh = |jti, rotation, theft_detection| Op::Refresh {
        session: 0,
        jti,
        rotation,
        theft_detection,
        leeway: 0,
    };
    // T3: a refresh while the first access token is valid revokes the session.
    run.step(&refresh(RefreshJti::Current, false, true), &mut seen)
        .await
        .unwrap();
    assert_eq!(seen.theft, 1);
    assert!(run.model.sessions[0].revoked);
    run.step(&refresh(RefreshJti::Current, false, true), &mut seen)
        .await
        .unwrap();
    assert_eq!(seen.revoked, 1);

    // A second session: refresh after expiry, then a repeat inside the grace window gets the
    // same tokens, and after the window the rotated-out token revokes the family.
    run.step(&Op::Issue { subject: 1 }, &mut seen)
        .await
        .unwrap();
    let second = |jti, rotation| Op::Refresh {
        session: 1,
        jti,
        rotation,
        theft_detection: true,
        leeway: 0,
    };
    run.step(&Op::Advance(ACCESS_TTL), &mut seen).await.unwrap();
    run.step(&second(RefreshJti::Current, true), &mut seen)
        .await
        .unwrap();
    assert_eq!(seen.granted, 1);
    run.step(&Op::Advance(GRACE - 1), &mut seen).await.unwrap();
    run.step(&second(RefreshJti::Previous, true), &mut seen)
        .await
        .unwrap();
    assert_eq!(seen.replayed, 1);
    run.step(&Op::Advance(1), &mut seen).await.unwrap();
    run.step(&second(RefreshJti::Previous, true), &mut seen)
        .await
        .unwrap();
    assert_eq!(seen.reuse, 1);

    // A third session runs out: at its end everything about it is unknown.
    run.step(&Op::Issue { subject: 2 }, &mut seen)
        .await
        .unwrap();
    run.step(&Op::Advance(SESSION_TTL), &mut seen)
        .await
        .unwrap();
    let third = Op::Refresh {
        session: 2,
        jti: RefreshJti::Current,
        rotation: false,
        theft_detection: true,
        leeway: 0,
    };
    run.step(&third, &mut seen).await.unwrap();
    assert_eq!(seen.unknown, 1);
    run.step(
        &Op::Access {
            session: 2,
            jti: AccessJti::Current,
        },
        &mut seen,
    )
    .await
    .unwrap();
    assert_eq!(seen.access_unknown, 1);
}
