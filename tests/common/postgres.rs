//! For the PostgreSQL tests: the `DATABASE_URL` gate, a fresh table per store, and a PostgreSQL
//! server of the test's own (`initdb`/`pg_ctl` as the `postgres` user, on a free port) that a
//! test stops and starts again.

use std::future::Future;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use tower_jwt_auth::TokenId;
use tower_jwt_auth::store::PostgresStore;

use super::certs::ServerCerts;
use super::skip::skip;

/// `DATABASE_URL`, or `None` after printing a visible skip line naming the running test.
pub(crate) fn database_url() -> Option<String> {
    match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            skip("DATABASE_URL not set");
            None
        }
    }
}

/// The prefix of every table these tests make: `tjwt_test_<unix seconds>_<random>`.
const TABLE_PREFIX: &str = "tjwt_test_";

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A table name no other test or run shares.
pub(crate) fn unique_table() -> String {
    let id = TokenId::random().expect("random source");
    let suffix: String = id.as_bytes()[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{TABLE_PREFIX}{}_{suffix}", unix_now())
}

/// Drops the tables that runs more than an hour ago left behind, once per test binary.
async fn drop_old_tables(url: &str) {
    static DONE: OnceLock<()> = OnceLock::new();
    if DONE.set(()).is_err() {
        return;
    }
    let client = raw(url).await;
    let rows = client
        .query(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE $1",
            &[&format!("{TABLE_PREFIX}%")],
        )
        .await
        .expect("list old tables");
    let cutoff = unix_now().saturating_sub(3_600);
    for row in rows {
        let table: String = row.get(0);
        let made = table[TABLE_PREFIX.len()..]
            .split('_')
            .next()
            .and_then(|secs| secs.parse::<u64>().ok());
        if made.is_some_and(|made| made < cutoff) {
            let _ = client
                .batch_execute(&format!("DROP TABLE IF EXISTS {table}"))
                .await;
        }
    }
}

/// A migrated store on `url`, in a table of its own.
pub(crate) async fn store_at(url: &str) -> PostgresStore {
    store_in(url, &unique_table()).await
}

/// A migrated store on `url` in `table`.
pub(crate) async fn store_in(url: &str, table: &str) -> PostgresStore {
    drop_old_tables(url).await;
    let store = PostgresStore::builder(url)
        .table(table)
        .build()
        .await
        .expect("connect to DATABASE_URL");
    store.migrate().await.expect("migrate");
    store
}

/// For `pair_store_conformance!`: a future of a fresh store on `DATABASE_URL`, or `None` (after
/// the skip line) when it is unset.
pub(crate) fn conformance_store() -> Option<impl Future<Output = PostgresStore>> {
    let url = database_url()?;
    Some(async move { store_at(&url).await })
}

/// The address of the (first) server of `url`.
pub(crate) fn address_of(url: &str) -> std::net::SocketAddr {
    let config: tokio_postgres::Config = url.parse().expect("a PostgreSQL URL");
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
        _ => "127.0.0.1".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port))
        .ok()
        .and_then(|mut addrs| addrs.next())
        .expect("a resolvable address")
}

/// `url` with its server replaced by `addr` (a proxy to it), for a user without a password; in
/// the clear, so that the proxy can tell a connection by the bytes it sends.
pub(crate) fn url_via(url: &str, addr: std::net::SocketAddr) -> String {
    let config: tokio_postgres::Config = url.parse().expect("a PostgreSQL URL");
    let user = config.get_user().unwrap_or("postgres");
    let database = config.get_dbname().unwrap_or(user);
    format!("postgres://{user}@{addr}/{database}?sslmode=disable")
}

/// A plain client for inspecting what the store wrote.
pub(crate) async fn raw(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect to DATABASE_URL");
    tokio::spawn(connection);
    client
}

/// The directory of PostgreSQL's server programs (`initdb`, `pg_ctl`), if installed.
fn server_bin() -> Option<PathBuf> {
    let root = Path::new("/usr/lib/postgresql");
    let mut versions: Vec<PathBuf> = std::fs::read_dir(root)
        .ok()?
        .filter_map(|entry| Some(entry.ok()?.path().join("bin")))
        .filter(|bin| bin.join("pg_ctl").exists())
        .collect();
    versions.sort();
    versions.pop()
}

/// Runs `program` with `args` as the `postgres` user (the server refuses to run as root).
fn as_postgres(program: &Path, args: &[&str]) -> std::process::Output {
    let mut command = if std::env::var("USER").as_deref() == Ok("postgres") {
        Command::new(program)
    } else {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    };
    command
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", program.display()))
}

/// Gives `dir` to the `postgres` user (unless the tests run as it).
fn give_to_postgres(dir: &Path) {
    let chown = Command::new("chown")
        .args(["-R", "postgres:postgres"])
        .arg(dir)
        .status();
    assert!(
        chown.is_ok_and(|s| s.success()) || std::env::var("USER").as_deref() == Ok("postgres"),
        "the data directory must belong to the postgres user"
    );
}

/// A PostgreSQL server of this test's own, trust authentication, on a free port; stopped and
/// removed on drop.
#[derive(Debug)]
pub(crate) struct PgServer {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
}

impl PgServer {
    /// Initialises a data directory and starts the server, or `None` (after a skip line) when
    /// PostgreSQL's server programs are not installed.
    pub(crate) fn start() -> Option<Self> {
        let server = Self::init()?;
        server.start_again();
        Some(server)
    }

    /// A server that takes TLS connections only (`ssl = on` with `certs`, `hostssl` lines
    /// alone in `pg_hba.conf`), or `None` (after a skip line) without PostgreSQL's programs.
    pub(crate) fn start_tls(certs: &ServerCerts) -> Option<Self> {
        let server = Self::init()?;
        let data = server.dir.join("data");
        let [_, cert, key] = certs.write(&data);
        std::fs::write(
            data.join("pg_hba.conf"),
            "local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostssl all all ::1/128 trust\n",
        )
        .expect("write pg_hba.conf");
        let mut conf = std::fs::read_to_string(data.join("postgresql.conf")).expect("read config");
        conf.push_str(&format!(
            "\nssl = on\nssl_cert_file = '{}'\nssl_key_file = '{}'\n",
            cert.display(),
            key.display()
        ));
        std::fs::write(data.join("postgresql.conf"), conf).expect("write config");
        give_to_postgres(&server.dir);
        server.start_again();
        Some(server)
    }

    /// The port it listens on.
    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// An initialised data directory on a free port, not started.
    fn init() -> Option<Self> {
        let Some(bin) = server_bin() else {
            skip("PostgreSQL's initdb and pg_ctl are not installed");
            return None;
        };
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("bind an ephemeral port")
            .port();
        let dir = std::env::temp_dir().join(format!("tjwt-pg-{port}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the data directory");
        give_to_postgres(&dir);
        let data = dir.join("data");
        let init = as_postgres(
            &bin.join("initdb"),
            &[
                "-D",
                &data.display().to_string(),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
            ],
        );
        assert!(
            init.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&init.stderr)
        );
        Some(Self { bin, dir, port })
    }

    /// `postgres://postgres@127.0.0.1:<port>/postgres`.
    pub(crate) fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn pg_ctl(&self, args: &[&str]) -> std::process::Output {
        let data = self.dir.join("data").display().to_string();
        let mut all = vec!["-D", &data];
        all.extend_from_slice(args);
        as_postgres(&self.bin.join("pg_ctl"), &all)
    }

    /// Starts the server (after [`stop`](Self::stop)) and waits until it accepts connections.
    pub(crate) fn start_again(&self) {
        let log = self.dir.join("server.log").display().to_string();
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c fsync=off",
            self.port,
            self.dir.display()
        );
        let started = self.pg_ctl(&["-l", &log, "-o", &options, "-w", "start"]);
        assert!(
            started.status.success(),
            "pg_ctl start: {}{}",
            String::from_utf8_lossy(&started.stdout),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }

    /// Stops the server at once (`immediate`: connections are cut, as a crash would).
    pub(crate) fn stop(&self) {
        let stopped = self.pg_ctl(&["-m", "immediate", "-w", "stop"]);
        assert!(
            stopped.status.success(),
            "pg_ctl stop: {}",
            String::from_utf8_lossy(&stopped.stderr)
        );
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let _ = self.pg_ctl(&["-m", "immediate", "-w", "stop"]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
