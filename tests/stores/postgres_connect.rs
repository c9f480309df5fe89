//! `PostgresStore` from a pool or a configuration of the caller's own, and a `schema.table`
//! whose schema does not exist yet: each works as one made from a URL.

use deadpool_postgres::{Manager, Pool};
use tower_jwt_auth::store::{AccessCheck, PairStore, PostgresStore, StoreErrorKind};
use tower_jwt_auth::{SessionId, TokenId};

use crate::common::postgres::{database_url, raw, unique_table};
use crate::common::sessions::until_trusted;

/// Migrates `store` and proves it works: the table exists, and purging an empty one finds
/// nothing to purge.
async fn works(store: &PostgresStore) {
    store.migrate().await.expect("migrate");
    assert_eq!(store.purge_expired(0).await.expect("purge"), 0);
    let unknown = store
        .check_access(
            SessionId::random().expect("random"),
            TokenId::random().expect("random"),
            1_700_000_000,
        )
        .await
        .expect("an access check");
    assert_eq!(unknown, AccessCheck::Unknown);
}

#[tokio::test]
async fn a_pool_of_ones_own() {
    let Some(url) = database_url() else {
        return;
    };
    let config: tokio_postgres::Config = url.parse().expect("DATABASE_URL");
    let pool = Pool::builder(Manager::new(config, tokio_postgres::NoTls))
        .max_size(2)
        .build()
        .expect("pool");
    let store = PostgresStore::builder_from_pool(pool.clone())
        .table(unique_table())
        .build()
        .await
        .expect("a store on the pool");
    works(&store).await;
    // The store's connections are the pool's.
    assert!(pool.status().size >= 1, "{:?}", pool.status());
    assert!(pool.status().max_size == 2, "{:?}", pool.status());
    drop_table(&url, store.table()).await;

    // A CA is for a URL: with a pool it is refused, not ignored.
    let error = PostgresStore::builder_from_pool(pool)
        .ca_certificate("a CA")
        .build()
        .await
        .map(drop)
        .expect_err("a CA with a pool");
    assert_eq!(error.kind(), StoreErrorKind::Unavailable);
    assert!(
        error.to_string().contains("your pool's connector"),
        "{error}"
    );

    // The near cache listens on a connection of its own, which a pool cannot give: refused.
    let pool = Pool::builder(Manager::new(
        url.parse::<tokio_postgres::Config>().expect("DATABASE_URL"),
        tokio_postgres::NoTls,
    ))
    .build()
    .expect("pool");
    let error = PostgresStore::builder_from_pool(pool)
        .near_cache(10)
        .build()
        .await
        .map(drop)
        .expect_err("a near cache with a pool");
    assert_eq!(error.kind(), StoreErrorKind::Unavailable);
    assert!(error.to_string().contains("near cache"), "{error}");
}

#[tokio::test]
async fn a_configuration_and_connector_of_ones_own() {
    let Some(url) = database_url() else {
        return;
    };
    let config: tokio_postgres::Config = url.parse().expect("DATABASE_URL");
    let store = PostgresStore::builder_from_config(config, tokio_postgres::NoTls)
        .table(unique_table())
        .build()
        .await
        .expect("a store on the configuration");
    works(&store).await;
    drop_table(&url, store.table()).await;

    // The near cache listens over the caller's connector too, and its copy comes to be trusted.
    let config: tokio_postgres::Config = url.parse().expect("DATABASE_URL");
    let store = PostgresStore::builder_from_config(config, tokio_postgres::NoTls)
        .table(unique_table())
        .near_cache(10)
        .build()
        .await
        .expect("a near-cached store on the configuration");
    store.migrate().await.expect("migrate");
    until_trusted(&store).await;
    drop_table(&url, store.table()).await;

    // A configuration that reaches nothing fails at build, naming where.
    let mut nowhere = tokio_postgres::Config::new();
    nowhere.host("127.0.0.1").port(1).user("postgres");
    let error = PostgresStore::builder_from_config(nowhere, tokio_postgres::NoTls)
        .build()
        .await
        .map(drop)
        .expect_err("nothing listens on port 1");
    assert!(error.to_string().contains("127.0.0.1:1"), "{error}");
}

#[tokio::test]
async fn migrate_creates_the_schema_of_a_schema_table() {
    let Some(url) = database_url() else {
        return;
    };
    let schema = unique_table().replace("tjwt_test_", "tjwt_schema_");
    let store = PostgresStore::builder(&url)
        .table(format!("{schema}.sessions"))
        .build()
        .await
        .expect("connect");
    works(&store).await;
    // Twice: idempotent with the schema there.
    store.migrate().await.expect("migrate again");
    let client = raw(&url).await;
    let found = client
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE schemaname = $1 AND tablename = 'sessions'",
            &[&schema],
        )
        .await
        .expect("look for the table")
        .get::<_, i64>(0);
    assert_eq!(found, 1);
    client
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .await
        .expect("drop the schema");
}

async fn drop_table(url: &str, table: &str) {
    raw(url)
        .await
        .batch_execute(&format!("DROP TABLE IF EXISTS {table}"))
        .await
        .expect("drop the table");
}
