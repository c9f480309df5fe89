//! `PostgresStore` against a real PostgreSQL (`DATABASE_URL`): the conformance suite, what a row
//! holds, refreshes raced through two layers, "log out everywhere" at 300,000 sessions, and
//! errors that say where. Without `DATABASE_URL` every test prints `SKIPPED` and passes.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::routing::get;
use axum::{Extension, Router};
use http::{Request, StatusCode};
use tower::ServiceExt;
use tower_jwt_auth::store::PostgresStore;
use tower_jwt_auth::store::{AccessCheck, NewSession, PairStore, StoreErrorKind};
use tower_jwt_auth::{Claims, JwtSessions, ManualClock, SessionId, TokenId};

use crate::common::postgres::{database_url, raw, store_at, store_in, unique_table};
use crate::common::sessions::stamp;

mod suite {
    tower_jwt_auth::pair_store_conformance!({
        match crate::common::postgres::conformance_store() {
            Some(store) => store,
            None => return,
        }
    });
}

const SECRET: &[u8] = b"postgres-test-secret-of-32-bytes";
const NOW: u64 = 1_700_000_000;
const ACCESS_TTL: u64 = 900;
const SESSION_TTL: u64 = 3_600;

fn session(subject: &str) -> NewSession {
    NewSession::new(
        SessionId::random().expect("random source"),
        subject,
        stamp(NOW, NOW + ACCESS_TTL),
        stamp(NOW, NOW + SESSION_TTL),
    )
}

#[tokio::test]
async fn rows_hold_ids_and_times_only_and_migrate_is_idempotent() {
    let Some(url) = database_url() else { return };
    let store = store_at(&url).await;
    store
        .migrate()
        .await
        .expect("a second migrate changes nothing");
    let s = session("layout");
    store.create_session(s.clone()).await.expect("create");
    let client = raw(&url).await;
    let row = client
        .query_one(
            &format!(
                "SELECT subject, access_jti, refresh_exp, revoked, format, previous_refresh, \
                 refreshed_at FROM {} WHERE sid = $1",
                store.table()
            ),
            &[&s.session_id().as_bytes().as_slice()],
        )
        .await
        .expect("the session's row");
    assert_eq!(row.get::<_, String>(0), "layout");
    assert_eq!(row.get::<_, Vec<u8>>(1), s.access().jti.as_bytes());
    assert_eq!(row.get::<_, i64>(2), (NOW + SESSION_TTL) as i64);
    assert!(!row.get::<_, bool>(3));
    assert_eq!(row.get::<_, i16>(4), 1, "the row layout's version");
    assert_eq!(row.get::<_, Option<Vec<u8>>>(5), None);
    assert_eq!(row.get::<_, Option<i64>>(6), None);
    // Nothing a token could be rebuilt from: every column is an id, a time, a flag or the subject.
    let columns = client
        .query(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = $1",
            &[&store.table()],
        )
        .await
        .expect("columns");
    for column in columns {
        let (name, kind): (String, String) = (column.get(0), column.get(1));
        assert!(
            matches!(kind.as_str(), "bytea" | "bigint" | "boolean" | "smallint")
                || name == "subject",
            "{name}: {kind}"
        );
    }
}

/// A row written in a layout this version does not know is an error (503), never guessed at.
#[tokio::test]
async fn a_row_of_an_unknown_format_is_corrupt_not_guessed() {
    let Some(url) = database_url() else { return };
    let store = store_at(&url).await;
    let s = session("future");
    store.create_session(s.clone()).await.expect("create");
    raw(&url)
        .await
        .execute(
            &format!("UPDATE {} SET format = 2 WHERE sid = $1", store.table()),
            &[&s.session_id().as_bytes().as_slice()],
        )
        .await
        .expect("update");
    let error = store
        .check_access(s.session_id(), s.access().jti, NOW + 1)
        .await
        .expect_err("an unknown format");
    assert_eq!(error.kind(), StoreErrorKind::Corrupt);
}

#[tokio::test]
async fn an_unreachable_database_is_named_in_the_error() {
    if database_url().is_none() {
        return;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let error = PostgresStore::builder(format!("postgres://app:hunter2@127.0.0.1:{port}/app"))
        .timeout(Duration::from_millis(500))
        .build()
        .await
        .expect_err("nothing listens there");
    let text = error.to_string();
    assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
    let error = PostgresStore::builder("postgres://h/db")
        .table("Robert'); DROP TABLE students;--")
        .build()
        .await
        .expect_err("not a table name");
    assert!(error.to_string().contains("not a table name"), "{error}");
}

fn app(sessions: &JwtSessions) -> Router {
    Router::new()
        .route(
            "/me",
            get(|Extension(claims): Extension<Claims>| async move { claims.subject().to_owned() }),
        )
        .layer(sessions.layer())
}

fn with_both(access: &str, refresh: &str) -> Request<Body> {
    Request::get("/me")
        .header("authorization", format!("Bearer {access}"))
        .header("x-refresh-token", refresh)
        .body(Body::empty())
        .expect("request")
}

fn sessions_on(store: PostgresStore, clock: &ManualClock) -> JwtSessions {
    JwtSessions::builder()
        .hs256_secret(SECRET)
        .clock(clock.clone())
        .store(store)
        .build()
        .expect("configuration")
}

/// Two servers on one table, 64 requests at once with the same expired access token and refresh
/// token, half through each: every one is served, and all carry the one access token that a
/// single refresh minted.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_64_parallel_refreshes_mint_once() {
    let Some(url) = database_url() else { return };
    let table = unique_table();
    let clock = ManualClock::new(NOW);
    let a = sessions_on(store_in(&url, &table).await, &clock);
    let b = sessions_on(store_in(&url, &table).await, &clock);
    let pair = a.issue("racer", ()).await.expect("issue");
    clock.advance(Duration::from_secs(ACCESS_TTL));
    let apps = [app(&a), app(&b)];
    let pair = Arc::new(pair);
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let app = apps[i % 2].clone();
            let pair = pair.clone();
            tokio::spawn(async move {
                let response = app
                    .oneshot(with_both(pair.access_token(), pair.refresh_token()))
                    .await
                    .expect("infallible");
                let token = response
                    .headers()
                    .get("x-access-token")
                    .map(|v| v.to_str().expect("ASCII").to_owned());
                (response.status(), token)
            })
        })
        .collect();
    let mut minted = Vec::new();
    for task in tasks {
        let (status, token) = task.await.expect("task");
        assert_eq!(status, StatusCode::OK);
        minted.push(token.expect("a new access token"));
    }
    minted.dedup();
    assert_eq!(minted.len(), 1, "one refresh minted, the rest were replays");
    let claims = b.authenticate(&minted[0]).await.expect("current on both");
    assert_eq!(claims.subject(), "racer");
}

/// "Log out everywhere" at 300,000 sessions of one subject: a call cut short keeps what it
/// finished, the next completes the rest, and every session ends refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoke_subject_ends_300_000_sessions_and_resumes_after_an_interruption() {
    const SESSIONS: i64 = 300_000;
    let Some(url) = database_url() else { return };
    let store = store_at(&url).await;
    let client = raw(&url).await;
    let table = store.table().to_owned();
    // Written in one statement the way the store writes a login (see rows_hold_ids_…): the
    // store's own transactions would take minutes.
    client
        .execute(
            &format!(
                "INSERT INTO {table} (sid, subject, access_jti, access_iat, access_exp, \
                 refresh_jti, refresh_iat, refresh_exp, revoked, format) \
                 SELECT decode(lpad(to_hex(i), 32, '0'), 'hex'), 'crowd', \
                 decode(lpad(to_hex(i), 32, 'a'), 'hex'), $1, $2, \
                 decode(lpad(to_hex(i), 32, 'b'), 'hex'), $1, $3, false, 1 \
                 FROM generate_series(1, $4::bigint) AS i"
            ),
            &[
                &(NOW as i64),
                &((NOW + ACCESS_TTL) as i64),
                &((NOW + SESSION_TTL) as i64),
                &SESSIONS,
            ],
        )
        .await
        .expect("populate");
    let count = format!("SELECT count(*) FROM {table} WHERE subject = 'crowd' AND NOT revoked");
    let live = || async {
        client
            .query_one(&count, &[])
            .await
            .expect("count")
            .get::<_, i64>(0)
    };
    assert_eq!(live().await, SESSIONS);

    // Cut short by its caller as soon as it has finished a page.
    let cut_short = tokio::select! {
        _ = store.revoke_subject("crowd", NOW + 1) => false,
        () = async {
            while live().await == SESSIONS {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        } => true,
    };
    assert!(cut_short, "300,000 revocations take longer than one page");
    let left = live().await;
    assert!(
        left < SESSIONS,
        "the interrupted call kept its finished pages"
    );

    let revoked = store
        .revoke_subject("crowd", NOW + 2)
        .await
        .expect("the rest, in one call");
    // A page whose statement was on its way when the first call was cut short still commits.
    assert!(
        (left - 1_000..=left).contains(&(revoked as i64)),
        "the second call revoked {revoked} of the {left} left"
    );
    assert_eq!(live().await, 0, "every session is revoked");
    let sample = SessionId::from_bytes(u128::to_be_bytes(12_345));
    // lpad(to_hex(i), 32, 'a'): the id's hex digits after a run of `a`s.
    let hex = format!("{:a>32x}", 12_345);
    let access = TokenId::from_bytes(u128::from_str_radix(&hex, 16).expect("hex").to_be_bytes());
    assert_eq!(
        store
            .check_access(sample, access, NOW + 3)
            .await
            .expect("check"),
        AccessCheck::Revoked
    );
    assert_eq!(
        store
            .revoke_subject("crowd", NOW + 4)
            .await
            .expect("revoke"),
        0
    );
}

/// Sessions live in the database: logged in on one server, refreshed on another, logged out on
/// the first, refused on both.
#[tokio::test]
async fn two_servers_share_one_session_state() {
    let Some(url) = database_url() else { return };
    let table = unique_table();
    let clock = ManualClock::new(NOW);
    let a = sessions_on(store_in(&url, &table).await, &clock);
    let b = sessions_on(store_in(&url, &table).await, &clock);
    let pair = a.issue("shared", ()).await.expect("issue");
    b.authenticate(pair.access_token())
        .await
        .expect("known to b");
    clock.advance(Duration::from_secs(ACCESS_TTL));
    let refreshed = b.refresh(pair.refresh_token()).await.expect("refresh on b");
    a.authenticate(refreshed.access_token())
        .await
        .expect("the new token is current on a");
    assert!(a.revoke_session(pair.session_id()).await.expect("logout"));
    for sessions in [&a, &b] {
        let error = sessions
            .authenticate(refreshed.access_token())
            .await
            .expect_err("revoked");
        assert_eq!(error.kind(), tower_jwt_auth::AuthErrorKind::Revoked);
    }
}

/// Two builds share a table during a rolling upgrade: a column a later compatible version adds
/// changes nothing for this version's code paths (a row of another `format` is refused: see
/// `a_row_of_an_unknown_format_is_corrupt_not_guessed`).
#[tokio::test]
async fn a_row_survives_a_column_added_by_a_compatible_change() {
    let Some(url) = database_url() else { return };
    let store = store_at(&url).await;
    let s = session("upgrade");
    store.create_session(s.clone()).await.expect("create");
    raw(&url)
        .await
        .batch_execute(&format!(
            "ALTER TABLE {} ADD COLUMN added_by_a_later_version text DEFAULT 'x'",
            store.table()
        ))
        .await
        .expect("alter");
    let check = store
        .check_access(s.session_id(), s.access().jti, NOW + 1)
        .await
        .expect("check");
    assert_eq!(check, AccessCheck::Current);
    let later = session("upgrade");
    store
        .create_session(later.clone())
        .await
        .expect("create after the change");
    assert!(
        store
            .revoke_session(later.session_id(), NOW + 2)
            .await
            .expect("revoke")
    );
}
