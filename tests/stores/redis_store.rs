//! `RedisStore` on the Redis at `REDIS_URL`: the pair-store conformance suite, the key layout
//! and TTL bounds, a differential run against the in-memory rules, and two "servers" sharing one
//! Redis under 64 parallel refreshes. Without `REDIS_URL` every test prints `SKIPPED <name>`.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::routing::get;
use axum::{Extension, Router};
use http::{Request, StatusCode};
use redis::AsyncCommands;
use tower::ServiceExt;
use tower_jwt_auth::store::RedisStore;
use tower_jwt_auth::store::{
    AccessCheck, MemoryStore, NewSession, PairStore, RefreshOutcome, RefreshRequest, TokenStamp,
};
use tower_jwt_auth::{Claims, Clock, JwtSessions, ManualClock, SessionId, TokenId};

use crate::common::redis::{raw, redis_url, store_at, unique_prefix};

/// The conformance suite, as every store runs it. The block (not `async { .. }`) lets the
/// generated test `return` early, after its skip line, when `REDIS_URL` is unset.
mod suite {
    tower_jwt_auth::pair_store_conformance!({
        match crate::common::redis::conformance_store() {
            Some(store) => store,
            None => return,
        }
    });
}

const SECRET: &[u8] = b"redis-test-secret-of-32-bytes!!!";
/// A realistic time, so the TTLs written are the ones a deployment would see.
const NOW: u64 = 1_700_000_000;
const ACCESS_TTL: u64 = 900;
const SESSION_TTL: u64 = 3_600;
const GRACE: u64 = 10;

fn id() -> TokenId {
    TokenId::random().expect("random source")
}

fn stamp(iat: u64, exp: u64) -> TokenStamp {
    TokenStamp {
        jti: id(),
        iat,
        exp,
    }
}

fn session(subject: &str, now: u64, end: u64) -> NewSession {
    let sid = SessionId::random().expect("random source");
    NewSession::new(sid, subject, stamp(now, now + ACCESS_TTL), stamp(now, end))
}

/// One "server": sessions on its own connection to the shared Redis and prefix.
async fn server(url: &str, prefix: &str, clock: &ManualClock, rotation: bool) -> JwtSessions {
    let store = RedisStore::builder(url)
        .prefix(prefix)
        .build()
        .await
        .expect("connect to Redis");
    JwtSessions::builder()
        .hs256_secret(SECRET)
        .clock(clock.clone())
        .access_ttl(Duration::from_secs(ACCESS_TTL))
        .refresh_ttl(Duration::from_secs(SESSION_TTL))
        .refresh_grace(Duration::from_secs(GRACE))
        .refresh_rotation(rotation)
        .store(store)
        .build()
        .expect("configuration")
}

fn app(sessions: &JwtSessions) -> Router {
    Router::new()
        .route(
            "/me",
            get(|Extension(c): Extension<Claims>| async move { c.subject().to_owned() }),
        )
        .layer(sessions.layer())
}

fn with_access(token: &str) -> Request<Body> {
    Request::get("/me")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .expect("request")
}

fn with_refresh(token: &str) -> Request<Body> {
    Request::get("/me")
        .header("x-refresh-token", token)
        .body(Body::empty())
        .expect("request")
}

async fn status(app: &Router, request: Request<Body>) -> StatusCode {
    app.clone()
        .oneshot(request)
        .await
        .expect("infallible")
        .status()
}

#[tokio::test]
async fn keys_hold_ids_and_times_and_expire_with_the_session() {
    let Some(url) = redis_url() else { return };
    let store = store_at(&url).await;
    let mut redis = raw(&url).await;
    let s = session("layout", NOW, NOW + SESSION_TTL);
    store.create_session(s.clone()).await.expect("create");

    let key = store.session_key(s.session_id());
    // The key names carry the layout's version; a hash its fields' (see the rolling-upgrade
    // test below). Changing either means a new version.
    assert_eq!(
        key,
        format!("{}:v1:s:{{{}}}", store.prefix(), s.session_id())
    );
    let fields: Vec<(String, String)> = redis.hgetall(&key).await.expect("hgetall");
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("field {name} missing: {fields:?}"))
    };
    assert_eq!(field("aj"), s.access().jti.to_string());
    assert_eq!(field("rj"), s.refresh().jti.to_string());
    assert_eq!(field("re"), (NOW + SESSION_TTL).to_string());
    assert_eq!(field("rev"), "0");
    assert_eq!(field("v"), "1");
    assert_eq!(field("sub"), "layout");
    let mut names: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "ae", "ai", "aj", "at", "pj", "re", "rev", "ri", "rj", "sub", "v"
        ],
        "the hash's fields are this version's"
    );
    // Ids (22 characters) and decimal times only: nothing a token could be rebuilt from.
    assert!(
        fields.iter().all(|(k, v)| k == "sub" || v.len() <= 22),
        "{fields:?}"
    );

    // The TTL is the session's remaining lifetime, and nothing later stretches it.
    let ttl_ms = SESSION_TTL * 1000;
    let pttl = |redis: &mut redis::aio::MultiplexedConnection, key: String| {
        let mut redis = redis.clone();
        async move { redis.pttl::<_, i64>(key).await.expect("pttl") }
    };
    let initial = pttl(&mut redis, key.clone()).await;
    assert!(initial > 0 && initial as u64 <= ttl_ms, "pttl {initial}");
    let request = RefreshRequest {
        sid: s.session_id(),
        refresh_jti: s.refresh().jti,
        now: NOW + ACCESS_TTL,
        new_access: stamp(NOW + ACCESS_TTL, NOW + 2 * ACCESS_TTL),
        new_refresh: Some(stamp(NOW + ACCESS_TTL, NOW + 10 * SESSION_TTL)),
        grace: GRACE,
        leeway: 0,
        theft_detection: true,
    };
    let outcome = store.refresh(request).await.expect("refresh");
    let RefreshOutcome::Granted {
        refresh: Some(rotated),
        ..
    } = outcome
    else {
        panic!("expected a rotated grant, got {outcome:?}");
    };
    assert_eq!(
        rotated.exp,
        NOW + SESSION_TTL,
        "rotation never extends the session"
    );
    let after_refresh = pttl(&mut redis, key.clone()).await;
    assert!(
        after_refresh > 0 && after_refresh <= initial,
        "{after_refresh} > {initial}"
    );

    // A revoked session stays as a tombstone, still bounded by the same end.
    assert!(
        store
            .revoke_session(s.session_id(), NOW + 1)
            .await
            .expect("revoke")
    );
    let revoked: String = redis.hget(&key, "rev").await.expect("hget");
    assert_eq!(revoked, "1");
    let tombstone = pttl(&mut redis, key.clone()).await;
    assert!(tombstone > 0 && tombstone <= after_refresh, "{tombstone}");
    assert_eq!(
        store
            .check_access(s.session_id(), s.access().jti, NOW + 2)
            .await
            .expect("check"),
        AccessCheck::Revoked
    );
}

/// Every reader takes the revoked flag by one rule: live only when it reads exactly `0`. A flag
/// this crate never writes (a hand edit, another program, a newer format) never makes a session
/// live, for the access check, a refresh, or a logout alike.
#[tokio::test]
async fn a_revoked_flag_other_than_zero_is_revoked_for_every_reader() {
    let Some(url) = redis_url() else { return };
    let store = store_at(&url).await;
    let mut redis = raw(&url).await;
    for flag in ["1", "2", "yes", "", "00"] {
        let s = session("flag", NOW, NOW + SESSION_TTL);
        store.create_session(s.clone()).await.expect("create");
        let key = store.session_key(s.session_id());
        let _: () = redis.hset(&key, "rev", flag).await.expect("hset");
        let check = store
            .check_access(s.session_id(), s.access().jti, NOW + 1)
            .await
            .expect("check");
        assert_eq!(check, AccessCheck::Revoked, "flag {flag:?}");
        let request = RefreshRequest {
            sid: s.session_id(),
            refresh_jti: s.refresh().jti,
            now: NOW + ACCESS_TTL,
            new_access: stamp(NOW + ACCESS_TTL, NOW + 2 * ACCESS_TTL),
            new_refresh: None,
            grace: GRACE,
            leeway: 0,
            theft_detection: true,
        };
        let outcome = store.refresh(request).await.expect("refresh");
        assert_eq!(outcome, RefreshOutcome::Revoked, "flag {flag:?}");
        let live = store
            .revoke_session(s.session_id(), NOW + 2)
            .await
            .expect("revoke");
        assert!(!live, "flag {flag:?}: was not live");
    }
}

#[tokio::test]
async fn subject_index_is_pruned_and_lives_as_long_as_its_latest_session() {
    let Some(url) = redis_url() else { return };
    let store = store_at(&url).await;
    let mut redis = raw(&url).await;
    let index = store.subject_key("bob");
    assert_eq!(index, format!("{}:v1:u:{{bob}}", store.prefix()));

    let short = session("bob", NOW, NOW + 60);
    let long = session("bob", NOW, NOW + 7_200);
    let middle = session("bob", NOW, NOW + 3_600);
    for s in [&short, &long, &middle] {
        store.create_session(s.clone()).await.expect("create");
    }
    let pttl: i64 = redis.pttl(&index).await.expect("pttl");
    assert!(
        pttl > 3_600_000 && pttl <= 7_200_000,
        "index TTL follows the latest end: {pttl}"
    );
    let score: f64 = redis
        .zscore(&index, long.session_id().to_string())
        .await
        .expect("zscore");
    assert_eq!(score, (NOW + 7_200) as f64);

    // A session created after `short` ended prunes it from the index.
    let later = NOW + 100;
    store
        .create_session(session("bob", later, later + 60))
        .await
        .expect("create");
    let members: Vec<String> = redis.zrange(&index, 0, -1).await.expect("zrange");
    assert_eq!(members.len(), 3, "{members:?}");
    assert!(!members.contains(&short.session_id().to_string()));

    // "Log out everywhere" reaches the live ones through the index alone.
    assert_eq!(
        store
            .revoke_subject("bob", later + 1)
            .await
            .expect("revoke"),
        3
    );
    for s in [&long, &middle] {
        let check = store
            .check_access(s.session_id(), s.access().jti, later + 2)
            .await;
        assert_eq!(check.expect("check"), AccessCheck::Revoked);
    }
}

#[tokio::test]
async fn revoke_subject_reaches_sessions_spread_over_many_keys() {
    let Some(url) = redis_url() else { return };
    let store = store_at(&url).await;
    let sessions: Vec<_> = (0..50)
        .map(|_| session("many", NOW, NOW + SESSION_TTL))
        .collect();
    for s in &sessions {
        store.create_session(s.clone()).await.expect("create");
    }
    store
        .create_session(session("other", NOW, NOW + SESSION_TTL))
        .await
        .expect("create");
    assert!(
        store
            .revoke_session(sessions[0].session_id(), NOW)
            .await
            .expect("revoke")
    );
    assert_eq!(
        store.revoke_subject("many", NOW + 1).await.expect("revoke"),
        49
    );
    assert_eq!(
        store.revoke_subject("many", NOW + 2).await.expect("revoke"),
        0
    );
    assert_eq!(
        store
            .revoke_subject("other", NOW + 3)
            .await
            .expect("revoke"),
        1
    );
}

/// "Log out everywhere" while the subject keeps logging in: every session whose creation had
/// returned before the revocation began is revoked; later ones may live (they are newer).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoke_subject_during_logins_leaves_no_earlier_session_live() {
    let Some(url) = redis_url() else { return };
    let store = store_at(&url).await;
    let created = Arc::new(std::sync::Mutex::new(Vec::new()));
    let logins = {
        let (store, created) = (store.clone(), created.clone());
        tokio::spawn(async move {
            for _ in 0..200 {
                let s = session("busy", NOW, NOW + SESSION_TTL);
                store.create_session(s.clone()).await.expect("create");
                created.lock().expect("lock").push(s);
            }
        })
    };
    while created.lock().expect("lock").len() < 50 {
        tokio::task::yield_now().await;
    }
    let before: Vec<NewSession> = created.lock().expect("lock").clone();
    let revoked = store.revoke_subject("busy", NOW + 1).await.expect("revoke");
    logins.await.expect("logins");
    assert!(revoked >= before.len(), "{revoked} < {}", before.len());
    for s in &before {
        let check = store
            .check_access(s.session_id(), s.access().jti, NOW + 2)
            .await;
        assert_eq!(check.expect("check"), AccessCheck::Revoked);
    }
}

/// A repeated call (a client retry after a lost reply) is answered as the first one was: a
/// retried refresh with no grace window is not mistaken for theft, a retried create succeeds.
#[tokio::test]
async fn repeated_calls_are_answered_as_the_first() {
    let Some(url) = redis_url() else { return };
    let store = store_at(&url).await;
    let s = session("retry", NOW, NOW + SESSION_TTL);
    store.create_session(s.clone()).await.expect("create");
    store
        .create_session(s.clone())
        .await
        .expect("the same create again");
    let request = RefreshRequest {
        sid: s.session_id(),
        refresh_jti: s.refresh().jti,
        now: NOW + ACCESS_TTL,
        new_access: stamp(NOW + ACCESS_TTL, NOW + 2 * ACCESS_TTL),
        new_refresh: None,
        grace: 0,
        leeway: 0,
        theft_detection: true,
    };
    let first = store.refresh(request).await.expect("refresh");
    assert!(matches!(
        first,
        RefreshOutcome::Granted {
            replayed: false,
            ..
        }
    ));
    assert_eq!(store.refresh(request).await.expect("retry"), first);
    // A different request at the same moment is still theft: the access token is fresh.
    let other = RefreshRequest {
        new_access: stamp(NOW + ACCESS_TTL, NOW + 2 * ACCESS_TTL),
        ..request
    };
    assert_eq!(
        store.refresh(other).await.expect("refresh"),
        RefreshOutcome::TheftDetected
    );
}

/// A small deterministic generator (xorshift64*), so failures replay.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[(self.next() % items.len() as u64) as usize]
    }
}

/// The Lua step against `SessionRecord` itself: random operations, extreme times included
/// (the record's u32 clamp, 2^53 where doubles would round, `u64::MAX`), give the same answers
/// from the Redis store and the memory store (which runs `SessionRecord` under a lock).
#[tokio::test]
async fn lua_matches_session_record_on_random_histories() {
    let Some(url) = redis_url() else { return };
    let redis = store_at(&url).await;
    let memory = MemoryStore::new();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    const BIG: u64 = u64::MAX - 1_000;
    // Around the record's u32 clamp (2106), the doubles' 2^53, and u64::MAX.
    const U32: u64 = u32::MAX as u64;
    let starts = [0, 1, NOW, U32 - 5, U32, (1 << 53) - 5, 1 << 60, BIG];
    let spans = [0, 1, 5, 10, 900, 86_400, 1 << 55, u64::MAX];
    let windows = [0, 1, 10, 900, 1 << 54, u64::MAX];
    // Which outcomes the history reached: every kind must, or the comparison proves little.
    let mut seen = std::collections::BTreeSet::new();
    for round in 0..300 {
        // One subject per session: the index of each lives and is pruned on its own clock.
        let subject = format!("subject-{round}");
        let start = rng.pick(&starts);
        let end = start.saturating_add(rng.pick(&spans));
        let access_end = start.saturating_add(rng.pick(&spans));
        let s = NewSession::new(
            SessionId::random().expect("random source"),
            subject.as_str(),
            stamp(start, access_end),
            stamp(start, end),
        );
        memory
            .create_session(s.clone())
            .await
            .expect("memory create");
        redis.create_session(s.clone()).await.expect("redis create");
        let mut refresh_jtis = vec![s.refresh().jti];
        let mut access_jtis = vec![s.access().jti];
        let mut now = start;
        // The last mint and the current access token's end: boundaries worth landing on.
        let (mut minted_at, mut access_exp) = (start, access_end);
        for step in 0..10 {
            // Time only moves forward, as for any store (both forget ended sessions).
            now = match rng.next() % 6 {
                0 => now,
                1 => now.saturating_add(rng.pick(&[1, 5, 9, 10, 11])),
                2 => now.saturating_add(rng.pick(&spans)),
                3 => now.max(minted_at.saturating_add(rng.pick(&windows))),
                4 => now.max(access_exp.saturating_add(rng.pick(&[0, 1]))),
                _ => now.max(rng.pick(&starts)),
            };
            let context = format!("round {round} step {step} now {now} session {s:?}");
            match rng.next() % 10 {
                0 => {
                    let (a, b) = (
                        memory
                            .revoke_session(s.session_id(), now)
                            .await
                            .expect("memory"),
                        redis
                            .revoke_session(s.session_id(), now)
                            .await
                            .expect("redis"),
                    );
                    assert_eq!(a, b, "revoke_session, {context}");
                }
                1 => {
                    let (a, b) = (
                        memory.revoke_subject(&subject, now).await.expect("memory"),
                        redis.revoke_subject(&subject, now).await.expect("redis"),
                    );
                    assert_eq!(a, b, "revoke_subject, {context}");
                }
                2 | 3 => {
                    let jti = match rng.next() % 3 {
                        0 => id(),
                        _ => rng.pick(&access_jtis),
                    };
                    let (a, b) = (
                        memory
                            .check_access(s.session_id(), jti, now)
                            .await
                            .expect("memory"),
                        redis
                            .check_access(s.session_id(), jti, now)
                            .await
                            .expect("redis"),
                    );
                    assert_eq!(a, b, "check_access, {context}");
                }
                _ => {
                    let presented = match rng.next() % 5 {
                        0 => id(),
                        1 => refresh_jtis[0],
                        // The current one, or the one before it (rotated out).
                        _ => {
                            let back = (rng.next() % 2) as usize;
                            refresh_jtis[refresh_jtis.len().saturating_sub(1 + back)]
                        }
                    };
                    let request = RefreshRequest {
                        sid: s.session_id(),
                        refresh_jti: presented,
                        now,
                        new_access: stamp(now, now.saturating_add(rng.pick(&spans))),
                        new_refresh: rng
                            .next()
                            .is_multiple_of(2)
                            .then(|| stamp(now, now.saturating_add(rng.pick(&spans)))),
                        grace: rng.pick(&windows),
                        leeway: rng.pick(&windows),
                        theft_detection: !rng.next().is_multiple_of(4),
                    };
                    let a = memory.refresh(request).await.expect("memory");
                    let b = redis.refresh(request).await.expect("redis");
                    assert_eq!(a, b, "refresh {request:?}, {context}");
                    seen.insert(match a {
                        RefreshOutcome::Granted {
                            replayed: false, ..
                        } => "minted",
                        RefreshOutcome::Granted { replayed: true, .. } => "replayed",
                        RefreshOutcome::TheftDetected => "theft",
                        RefreshOutcome::ReuseDetected => "reuse",
                        RefreshOutcome::Revoked => "revoked",
                        _ => "unknown",
                    });
                    if let RefreshOutcome::Granted {
                        access,
                        refresh,
                        replayed,
                    } = a
                    {
                        if !replayed {
                            (minted_at, access_exp) = (now, access.exp);
                        }
                        access_jtis.push(access.jti);
                        if let Some(refresh) = refresh
                            && refresh_jtis.last() != Some(&refresh.jti)
                        {
                            refresh_jtis.push(refresh.jti);
                        }
                    }
                }
            }
        }
    }
    let all = ["minted", "replayed", "theft", "reuse", "revoked", "unknown"];
    assert_eq!(seen, all.into_iter().collect(), "outcomes reached");
}

/// Two servers, one Redis: a session issued on one is used, refreshed and revoked on the other.
#[tokio::test]
async fn two_servers_share_one_session_state() {
    let Some(url) = redis_url() else { return };
    let prefix = unique_prefix();
    let clock = ManualClock::new(NOW);
    let (a, b) = (
        server(&url, &prefix, &clock, false).await,
        server(&url, &prefix, &clock, false).await,
    );
    let (app_a, app_b) = (app(&a), app(&b));
    let pair = a.issue("carol", ()).await.expect("issue");
    assert_eq!(status(&app_b, with_access(pair.access_token())).await, 200);

    clock.advance(Duration::from_secs(ACCESS_TTL));
    let response = app_b
        .clone()
        .oneshot(with_refresh(pair.refresh_token()))
        .await
        .expect("infallible");
    assert_eq!(response.status(), 200);
    let fresh = response.headers()["x-access-token"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert_eq!(status(&app_a, with_access(&fresh)).await, 200);

    // Logout on A holds on B at once, for both tokens.
    assert!(a.revoke_session(pair.session_id()).await.expect("revoke"));
    assert_eq!(status(&app_b, with_access(&fresh)).await, 401);
    assert_eq!(
        status(&app_b, with_refresh(pair.refresh_token())).await,
        401
    );
}

/// 64 parallel refreshes of one pair, split over two servers with their own connections: all
/// answered 200 with the same new access token (one mint, 63 grace replays); outside the grace
/// window the old refresh token is theft, and the revocation holds on both servers.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_64_parallel_refreshes_agree() {
    let Some(url) = redis_url() else { return };
    let prefix = unique_prefix();
    let clock = ManualClock::new(NOW);
    let (a, b) = (
        server(&url, &prefix, &clock, false).await,
        server(&url, &prefix, &clock, false).await,
    );
    let apps = [app(&a), app(&b)];
    let pair = a.issue("dave", ()).await.expect("issue");
    clock.advance(Duration::from_secs(ACCESS_TTL));

    let barrier = Arc::new(tokio::sync::Barrier::new(64));
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let (app, barrier) = (apps[i % 2].clone(), barrier.clone());
            let request = with_refresh(pair.refresh_token());
            tokio::spawn(async move {
                barrier.wait().await;
                app.oneshot(request).await.expect("infallible")
            })
        })
        .collect();
    let mut tokens = Vec::new();
    for task in tasks {
        let response = task.await.expect("task");
        assert_eq!(
            response.status(),
            200,
            "no 5xx, no refusal inside the grace window"
        );
        tokens.push(
            response.headers()["x-access-token"]
                .to_str()
                .expect("ascii")
                .to_owned(),
        );
    }
    assert!(
        tokens.iter().all(|t| *t == tokens[0]),
        "one access token for all 64"
    );
    for app in &apps {
        assert_eq!(status(app, with_access(&tokens[0])).await, 200);
    }

    // Past the grace window, while that access token is valid: the old refresh token is theft.
    clock.advance(Duration::from_secs(GRACE));
    assert_eq!(
        status(&apps[1], with_refresh(pair.refresh_token())).await,
        401
    );
    for app in &apps {
        assert_eq!(
            status(app, with_access(&tokens[0])).await,
            401,
            "revocation holds everywhere"
        );
    }
}

/// The same with rotation, through `JwtSessions::refresh`, counting mints: exactly one.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_64_parallel_rotating_refreshes_mint_once() {
    let Some(url) = redis_url() else { return };
    let prefix = unique_prefix();
    let clock = ManualClock::new(NOW);
    let servers = [
        server(&url, &prefix, &clock, true).await,
        server(&url, &prefix, &clock, true).await,
    ];
    let pair = servers[0].issue("erin", ()).await.expect("issue");
    clock.advance(Duration::from_secs(ACCESS_TTL));
    let barrier = Arc::new(tokio::sync::Barrier::new(64));
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let (sessions, barrier) = (servers[i % 2].clone(), barrier.clone());
            let token = pair.refresh_token().to_owned();
            tokio::spawn(async move {
                barrier.wait().await;
                sessions.refresh(&token).await
            })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.expect("task").expect("granted"));
    }
    assert_eq!(
        results.iter().filter(|r| !r.is_replay()).count(),
        1,
        "exactly one mint"
    );
    let first = &results[0];
    assert!(
        results
            .iter()
            .all(|r| r.access_token() == first.access_token()
                && r.refresh_token() == first.refresh_token())
    );
    let rotated = first.refresh_token().expect("rotation");
    assert_ne!(rotated, pair.refresh_token());

    // The rotated-out token after the window: reuse, the family dies on both servers.
    clock.advance(Duration::from_secs(GRACE));
    assert!(servers[1].refresh(pair.refresh_token()).await.is_err());
    for sessions in &servers {
        assert!(sessions.authenticate(first.access_token()).await.is_err());
        assert!(sessions.refresh(rotated).await.is_err());
    }
    assert_eq!(servers[0].now(), clock.now());
}

/// Theft under contention from two servers: one verdict, never a split grant.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_theft_verdict_is_never_split() {
    let Some(url) = redis_url() else { return };
    let prefix = unique_prefix();
    let stores = [
        RedisStore::builder(&url)
            .prefix(&prefix)
            .build()
            .await
            .expect("connect"),
        RedisStore::builder(&url)
            .prefix(&prefix)
            .build()
            .await
            .expect("connect"),
    ];
    let s = session("race", NOW, NOW + SESSION_TTL);
    stores[0].create_session(s.clone()).await.expect("create");
    let barrier = Arc::new(tokio::sync::Barrier::new(64));
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let (store, barrier) = (stores[i % 2].clone(), barrier.clone());
            let request = RefreshRequest {
                sid: s.session_id(),
                refresh_jti: s.refresh().jti,
                now: NOW + 1,
                new_access: stamp(NOW + 1, NOW + 1 + ACCESS_TTL),
                new_refresh: None,
                grace: GRACE,
                leeway: 0,
                theft_detection: true,
            };
            tokio::spawn(async move {
                barrier.wait().await;
                store.refresh(request).await.expect("refresh")
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.expect("task"));
    }
    let count = |wanted| outcomes.iter().filter(|o| **o == wanted).count();
    assert_eq!(
        (
            count(RefreshOutcome::TheftDetected),
            count(RefreshOutcome::Revoked)
        ),
        (1, 63),
        "{outcomes:?}"
    );
}

/// "Log out everywhere" at any number of sessions: 300,000 sessions of one subject all end
/// refused. A call cut short (here by its caller, after 200 ms) keeps the work it finished: the
/// index has shrunk and what it revoked stays revoked, so the next call starts further on and
/// completes the rest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoke_subject_ends_300_000_sessions_and_resumes_after_an_interruption() {
    const SESSIONS: usize = 300_000;
    let Some(url) = redis_url() else { return };
    let store = store_at(&url).await;
    let mut redis = raw(&url).await;
    let index = store.subject_key("crowd");
    // Written the way the store writes them (see keys_hold_ids_and_times_…), in pipelines: the
    // store's own two-step creation would take minutes in a debug build.
    let sessions: Vec<NewSession> = (0..SESSIONS)
        .map(|_| session("crowd", NOW, NOW + SESSION_TTL))
        .collect();
    for chunk in sessions.chunks(10_000) {
        let mut pipe = redis::pipe();
        for s in chunk {
            let (a, r) = (s.access(), s.refresh());
            let key = store.session_key(s.session_id());
            pipe.cmd("HSET")
                .arg(&key)
                .arg(&[
                    ("v", "1".to_owned()),
                    ("sub", "crowd".to_owned()),
                    ("rev", "0".to_owned()),
                    ("aj", a.jti.to_string()),
                    ("ai", a.iat.to_string()),
                    ("ae", a.exp.to_string()),
                    ("rj", r.jti.to_string()),
                    ("ri", r.iat.to_string()),
                    ("re", r.exp.to_string()),
                    ("pj", String::new()),
                    ("at", String::new()),
                ])
                .ignore()
                .cmd("PEXPIRE")
                .arg(&key)
                .arg(SESSION_TTL * 1000)
                .ignore()
                .cmd("ZADD")
                .arg(&index)
                .arg(r.exp)
                .arg(s.session_id().to_string())
                .ignore();
        }
        let () = pipe.query_async(&mut redis).await.expect("populate");
    }
    let indexed: usize = redis.zcard(&index).await.expect("zcard");
    assert_eq!(indexed, SESSIONS);

    // Cut short by its caller as soon as it has finished a page.
    let cut_short = {
        let mut watcher = redis.clone();
        let index = index.clone();
        tokio::select! {
            _ = store.revoke_subject("crowd", NOW + 1) => false,
            () = async move {
                loop {
                    let left: usize = watcher.zcard(&index).await.expect("zcard");
                    if left < SESSIONS {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            } => true,
        }
    };
    assert!(cut_short, "300,000 revocations take longer than one page");
    let left: usize = redis.zcard(&index).await.expect("zcard");
    assert!(left < SESSIONS, "the interrupted call made progress");
    let done = SESSIONS - left;
    let first: Vec<String> = redis
        .zrangebyscore_limit(&index, "-inf", "+inf", 0, 1)
        .await
        .expect("zrange");
    assert!(!first.is_empty());

    let revoked = store
        .revoke_subject("crowd", NOW + 2)
        .await
        .expect("the rest, in one call");
    assert!(
        revoked >= left.saturating_sub(1_000) && revoked <= left,
        "the second call revoked {revoked} of the {left} left ({done} done before)"
    );
    let indexed: usize = redis.zcard(&index).await.expect("zcard");
    assert_eq!(indexed, 0, "every revoked session left the index");

    // Every one of them is refused: read in pipelines, then a sample through the store itself.
    for chunk in sessions.chunks(10_000) {
        let mut pipe = redis::pipe();
        for s in chunk {
            pipe.hget(store.session_key(s.session_id()), "rev");
        }
        let flags: Vec<String> = pipe.query_async(&mut redis).await.expect("flags");
        assert!(flags.iter().all(|f| f == "1"), "a session was left live");
    }
    for s in sessions.iter().step_by(997) {
        let check = store
            .check_access(s.session_id(), s.access().jti, NOW + 3)
            .await
            .expect("check");
        assert_eq!(check, AccessCheck::Revoked);
    }
    assert_eq!(
        store
            .revoke_subject("crowd", NOW + 4)
            .await
            .expect("revoke"),
        0
    );
}

/// Two builds share a store during a rolling upgrade. A record this version wrote, with a field
/// that a later compatible version adds, is read by this version's code paths as before (access
/// check, refresh, logout); a record of another field layout (`v`) is refused, never misread.
#[tokio::test]
async fn a_record_survives_a_compatible_change_and_an_incompatible_one_is_refused() {
    let Some(url) = redis_url() else { return };
    let store = store_at(&url).await;
    let mut redis = raw(&url).await;
    let s = session("upgrade", NOW, NOW + SESSION_TTL);
    store.create_session(s.clone()).await.expect("create");
    let key = store.session_key(s.session_id());
    let _: () = redis
        .hset(&key, "added_by_a_later_version", "x")
        .await
        .expect("hset");
    let check = store
        .check_access(s.session_id(), s.access().jti, NOW + 1)
        .await
        .expect("check");
    assert_eq!(check, AccessCheck::Current);
    let request = RefreshRequest {
        sid: s.session_id(),
        refresh_jti: s.refresh().jti,
        now: NOW + ACCESS_TTL,
        new_access: stamp(NOW + ACCESS_TTL, NOW + 2 * ACCESS_TTL),
        new_refresh: None,
        grace: GRACE,
        leeway: 0,
        theft_detection: true,
    };
    let outcome = store.refresh(request).await.expect("refresh");
    assert!(
        matches!(outcome, RefreshOutcome::Granted { .. }),
        "{outcome:?}"
    );

    let other = session("upgrade", NOW, NOW + SESSION_TTL);
    store.create_session(other.clone()).await.expect("create");
    let other_key = store.session_key(other.session_id());
    let _: () = redis.hset(&other_key, "v", "2").await.expect("hset");
    let error = store
        .check_access(other.session_id(), other.access().jti, NOW + 1)
        .await
        .expect_err("a layout this version does not know");
    assert_eq!(error.kind(), tower_jwt_auth::store::StoreErrorKind::Corrupt);
    let request = RefreshRequest {
        sid: other.session_id(),
        refresh_jti: other.refresh().jti,
        ..request
    };
    let error = store
        .refresh(request)
        .await
        .expect_err("refused, not guessed");
    assert_eq!(error.kind(), tower_jwt_auth::store::StoreErrorKind::Corrupt);
    assert!(
        store
            .revoke_session(s.session_id(), NOW + 2)
            .await
            .expect("revoke")
    );
}
