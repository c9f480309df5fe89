//! `PostgresStore` over TLS, against a PostgreSQL of the test's own that takes TLS connections
//! only, with a certificate from a CA the test makes: each `sslmode` means what it means to
//! libpq, and every refusal says why in the server's or the verifier's own words.

use std::time::Duration;

use tower_jwt_auth::store::{PostgresStore, StoreError, StoreErrorKind};

use crate::common::certs::ServerCerts;
use crate::common::postgres::{PgServer, database_url};
use crate::common::sessions::until_trusted;

const TIMEOUT: Duration = Duration::from_secs(5);

fn url(host: &str, server: &PgServer, query: &str) -> String {
    format!(
        "postgres://postgres@{host}:{}/postgres?{query}",
        server.port()
    )
}

async fn connect(url: &str, ca: Option<&str>) -> Result<PostgresStore, StoreError> {
    let mut builder = PostgresStore::builder(url).timeout(TIMEOUT);
    if let Some(ca) = ca {
        builder = builder.ca_certificate(ca);
    }
    let store = builder.build().await?;
    // A statement, not only a connection: the store works.
    store.migrate().await?;
    store.purge_expired(0).await?;
    Ok(store)
}

async fn refused(url: &str, ca: Option<&str>) -> String {
    let error = connect(url, ca).await.map(drop).expect_err("refused");
    assert_eq!(error.kind(), StoreErrorKind::Unavailable, "{error}");
    error.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_sslmode_verifies_as_libpq_does() {
    if database_url().is_none() {
        return;
    }
    let certs = ServerCerts::new();
    let Some(server) = PgServer::start_tls(&certs) else {
        return;
    };
    let ca = Some(certs.ca.as_str());
    let other = ServerCerts::other_ca();

    // verify-full: the right CA and a name in the certificate (an IP address, or a DNS name).
    connect(&url("127.0.0.1", &server, "sslmode=verify-full"), ca)
        .await
        .expect("verify-full with the server's CA");
    connect(
        &url(
            "localhost",
            &server,
            "sslmode=verify-full&hostaddr=127.0.0.1",
        ),
        ca,
    )
    .await
    .expect("verify-full by the certificate's DNS name");

    // Another CA: not trusted, in the verifier's words.
    let error = refused(
        &url("127.0.0.1", &server, "sslmode=verify-full"),
        Some(&other),
    )
    .await;
    assert!(error.contains("certificate is not trusted"), "{error}");
    assert!(error.contains("UnknownIssuer"), "{error}");

    // The right CA, another name (the same server, reached as `db.example`): no match.
    let elsewhere = url(
        "db.example",
        &server,
        "sslmode=verify-full&hostaddr=127.0.0.1",
    );
    let error = refused(&elsewhere, ca).await;
    assert!(error.contains("not for the host connected to"), "{error}");
    assert!(error.contains("not valid for name"), "{error}");
    assert!(error.contains("db.example"), "{error}");
    // verify-ca checks the signature alone.
    let elsewhere = url(
        "db.example",
        &server,
        "sslmode=verify-ca&hostaddr=127.0.0.1",
    );
    connect(&elsewhere, ca)
        .await
        .expect("verify-ca ignores the name");
    let error = refused(&elsewhere, Some(&other)).await;
    assert!(error.contains("UnknownIssuer"), "{error}");

    // require: encrypted, unverified; with a CA given, verified as verify-ca (libpq's rule).
    connect(
        &url("db.example", &server, "sslmode=require&hostaddr=127.0.0.1"),
        None,
    )
    .await
    .expect("require without a CA");
    let error = refused(&url("127.0.0.1", &server, "sslmode=require"), Some(&other)).await;
    assert!(error.contains("UnknownIssuer"), "{error}");
    // prefer (the default) takes TLS when the server offers it.
    connect(&url("127.0.0.1", &server, ""), None)
        .await
        .expect("prefer");

    // The CA as a file named in the URL, as libpq's sslrootcert.
    let dir = std::env::temp_dir().join(format!("tjwt-ca-{}", server.port()));
    std::fs::create_dir_all(&dir).expect("a directory for the CA");
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, &certs.ca).expect("write the CA");
    let query = format!("sslmode=verify-full&sslrootcert={}", ca_file.display());
    connect(&url("127.0.0.1", &server, &query), None)
        .await
        .expect("sslrootcert");
    let _ = std::fs::remove_dir_all(&dir);

    // A mode libpq does not have is named, not taken for another.
    let error = refused(&url("127.0.0.1", &server, "sslmode=verify"), None).await;
    assert!(error.contains("sslmode \"verify\""), "{error}");
    // A CA that is not PEM fails before connecting.
    let error = refused(
        &url("127.0.0.1", &server, "sslmode=verify-full"),
        Some("not a pem"),
    )
    .await;
    assert!(error.contains("no certificate"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_carries_the_servers_reason() {
    if database_url().is_none() {
        return;
    }
    let certs = ServerCerts::new();
    let Some(server) = PgServer::start_tls(&certs) else {
        return;
    };
    // The server takes TLS only: without it, pg_hba.conf has no line for the connection, and
    // the error says so rather than "db error".
    let error = refused(&url("127.0.0.1", &server, "sslmode=disable"), None).await;
    assert!(error.contains("pg_hba.conf"), "{error}");
    assert!(error.contains("no encryption"), "{error}");
    assert!(
        error.contains(&format!("127.0.0.1:{}", server.port())),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_near_cache_listens_over_the_stores_tls() {
    if database_url().is_none() {
        return;
    }
    let certs = ServerCerts::new();
    let Some(server) = PgServer::start_tls(&certs) else {
        return;
    };
    // The server takes TLS only: a listener that connected in the clear would never be trusted.
    let store = PostgresStore::builder(url("127.0.0.1", &server, "sslmode=verify-full"))
        .ca_certificate(certs.ca.as_str())
        .near_cache(10)
        .timeout(TIMEOUT)
        .build()
        .await
        .expect("verify-full with the near cache");
    store.migrate().await.expect("migrate");
    until_trusted(&store).await;
}
