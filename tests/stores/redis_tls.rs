//! `RedisStore` over TLS (`rediss://`) and with an ACL user, against `redis-server`s of the
//! test's own that take TLS connections only (one server, and a cluster whose bus is TLS too),
//! with a certificate from a CA the test makes: the server's CA works (the near cache's tracking
//! connections included), the platform's roots and another CA do not trust it, and a wrong
//! password is a store error that says so.

use std::time::{Duration, Instant};

use tower_jwt_auth::store::{
    AccessCheck, NewSession, PairStore, RedisStore, StoreError, StoreErrorKind,
};
use tower_jwt_auth::{SessionId, TokenId};

use crate::common::certs::ServerCerts;
use crate::common::redis::{RedisCluster, RedisServer, redis_url, unique_prefix};
use crate::common::sessions::stamp;

const NOW: u64 = 1_700_000_000;
const TIMEOUT: Duration = Duration::from_secs(2);

async fn connect(url: &str, ca: Option<&str>, near_cache: bool) -> Result<RedisStore, StoreError> {
    let mut builder = RedisStore::builder(url)
        .prefix(unique_prefix())
        .timeout(TIMEOUT);
    if let Some(ca) = ca {
        builder = builder.ca_certificate(ca);
    }
    if near_cache {
        builder = builder.near_cache(1_000);
    }
    builder.build().await
}

/// A session made, and its access token found current.
async fn works(store: &RedisStore) -> (SessionId, TokenId) {
    let sid = SessionId::random().expect("random");
    let access = stamp(NOW, NOW + 900);
    store
        .create_session(NewSession::new(
            sid,
            "alice",
            access,
            stamp(NOW, NOW + 3_600),
        ))
        .await
        .expect("created");
    let check = store.check_access(sid, access.jti, NOW + 1).await;
    assert_eq!(check.expect("checked"), AccessCheck::Current);
    (sid, access.jti)
}

async fn refused(url: &str, ca: Option<&str>) -> String {
    let error = connect(url, ca, false)
        .await
        .map(drop)
        .expect_err("refused");
    assert_eq!(error.kind(), StoreErrorKind::Unavailable, "{error}");
    error.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rediss_trusts_the_given_ca_and_no_other() {
    if redis_url().is_none() {
        return;
    }
    let certs = ServerCerts::new();
    // Also on 127.0.0.2, an address the certificate does not name.
    let server = RedisServer::start_tls(&certs, &["--bind", "127.0.0.1", "127.0.0.2"]);
    let url = format!("rediss://localhost:{}", server.port());
    let ca = Some(certs.ca.as_str());

    let store = connect(&url, ca, true).await.expect("rediss with the CA");
    // The near cache's tracking connection is TLS too: it is established, and the copy answers
    // a check without Redis.
    let start = Instant::now();
    while !store.near_cache_stats().expect("near cache on").trusted {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "tracking never established"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (sid, jti) = works(&store).await;
    let start = Instant::now();
    while store.near_cache_stats().expect("near cache on").hits == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "never answered from the copy"
        );
        let check = store
            .check_access(sid, jti, NOW + 1)
            .await
            .expect("checked");
        assert_eq!(check, AccessCheck::Current);
    }
    // A revocation's invalidation comes back over the TLS tracking connection.
    let other = RedisStore::builder(&url)
        .prefix(store.prefix())
        .ca_certificate(certs.ca.as_str())
        .build()
        .await
        .expect("a second server");
    assert!(other.revoke_session(sid, NOW + 2).await.expect("revoked"));
    let start = Instant::now();
    while store
        .check_access(sid, jti, NOW + 3)
        .await
        .expect("checked")
        != AccessCheck::Revoked
    {
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "the revocation never arrived"
        );
    }

    // By IP address, which the certificate names too.
    let by_ip = format!("rediss://127.0.0.1:{}", server.port());
    works(&connect(&by_ip, ca, false).await.expect("by IP")).await;

    // Another CA, or the platform's roots: the certificate is not trusted.
    let error = refused(&url, Some(&ServerCerts::other_ca())).await;
    assert!(error.contains("certificate is not trusted"), "{error}");
    assert!(error.contains("UnknownIssuer"), "{error}");
    let error = refused(&url, None).await;
    assert!(error.contains("certificate is not trusted"), "{error}");
    // The right CA, a name the certificate does not hold (the same server, as `127.0.0.2`).
    let elsewhere = format!("rediss://127.0.0.2:{}", server.port());
    let error = refused(&elsewhere, ca).await;
    assert!(error.contains("not for the host connected to"), "{error}");
    // A CA with a plain URL is a mistake, said as one.
    let error = refused(&format!("redis://localhost:{}", server.port()), ca).await;
    assert!(error.contains("rediss://"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_acl_user_over_tls_and_a_wrong_password() {
    if redis_url().is_none() {
        return;
    }
    let certs = ServerCerts::new();
    let server = RedisServer::start_tls(&certs, &[]);
    let admin = format!("rediss://localhost:{}", server.port());
    let admin = redis::Client::build_with_tls(
        admin.as_str(),
        redis::TlsCertificates {
            client_tls: None,
            root_cert: Some(certs.ca.clone().into_bytes()),
        },
    )
    .expect("client");
    let mut admin = admin
        .get_multiplexed_async_connection()
        .await
        .expect("connect as the default user");
    // The store needs its keys, scripts, and the commands of the near cache.
    let _: () = redis::cmd("ACL")
        .arg(&["SETUSER", "app", "on", ">s3cret", "~tjwt-test:*", "+@all"])
        .query_async(&mut admin)
        .await
        .expect("ACL SETUSER");
    let _: () = redis::cmd("ACL")
        .arg(&["SETUSER", "default", "off"])
        .query_async(&mut admin)
        .await
        .expect("the default user off");
    let ca = Some(certs.ca.as_str());

    let user = format!("rediss://app:s3cret@localhost:{}", server.port());
    works(&connect(&user, ca, false).await.expect("the ACL user")).await;

    let wrong = format!("rediss://app:wrong-hunter2@localhost:{}", server.port());
    let error = refused(&wrong, ca).await;
    assert!(error.contains("authentication failed"), "{error}");
    assert!(
        !error.contains("hunter2"),
        "the password never shows: {error}"
    );
    // No user: the default one, switched off.
    let error = refused(&format!("rediss://localhost:{}", server.port()), ca).await;
    assert!(error.contains("NOAUTH"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_over_tls_with_the_near_cache() {
    if redis_url().is_none() {
        return;
    }
    let certs = ServerCerts::new();
    let cluster = RedisCluster::start_tls(3, &certs);
    let store = RedisStore::cluster_builder(cluster.urls())
        .prefix(unique_prefix())
        .timeout(TIMEOUT)
        .ca_certificate(certs.ca.as_str())
        .near_cache(1_000)
        .build()
        .await
        .expect("a TLS cluster with the CA");
    // Sessions land on every master; each master's tracking connection is TLS too.
    let start = Instant::now();
    while !store.near_cache_stats().expect("near cache on").trusted {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "tracking never established"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for _ in 0..30 {
        works(&store).await;
    }
    let error = RedisStore::cluster_builder(cluster.urls())
        .timeout(TIMEOUT)
        .ca_certificate(ServerCerts::other_ca())
        .build()
        .await
        .map(drop)
        .expect_err("another CA");
    assert!(error.to_string().contains("UnknownIssuer"), "{error}");
}
