//! For the Redis tests: the `REDIS_URL` gate, unique key prefixes, and `redis-server` processes
//! that a test starts, kills, pauses and restarts itself.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tower_jwt_auth::TokenId;
use tower_jwt_auth::store::RedisStore;

use super::certs::ServerCerts;
use super::skip::skip;

/// `REDIS_URL`, or `None` after printing a visible skip line naming the running test.
pub(crate) fn redis_url() -> Option<String> {
    match std::env::var("REDIS_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            skip("REDIS_URL not set");
            None
        }
    }
}

/// A key prefix no other test or run shares.
pub(crate) fn unique_prefix() -> String {
    format!("tjwt-test:{}", TokenId::random().expect("random source"))
}

/// A store on `url` under a fresh prefix.
pub(crate) async fn store_at(url: &str) -> RedisStore {
    RedisStore::builder(url)
        .prefix(unique_prefix())
        .build()
        .await
        .expect("connect to Redis")
}

/// For `pair_store_conformance!`: a future of a fresh store on `REDIS_URL`, or `None` (after the
/// skip line) when it is unset.
pub(crate) fn conformance_store() -> Option<impl Future<Output = RedisStore>> {
    let url = redis_url()?;
    Some(async move { store_at(&url).await })
}

/// A raw connection for inspecting what the store wrote.
/// No response timeout: the tests send pipelines of thousands of commands through it.
pub(crate) async fn raw(url: &str) -> redis::aio::MultiplexedConnection {
    let config = redis::AsyncConnectionConfig::new().set_response_timeout(None);
    redis::Client::open(url)
        .expect("url")
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .expect("connect to Redis")
}

/// A port free on 127.0.0.1 whose cluster-bus twin (port + 10000) is free too.
pub(crate) fn free_port() -> u16 {
    for _ in 0..100 {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("bind an ephemeral port")
            .port();
        if port < 55_000 && TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok() {
            return port;
        }
    }
    panic!("no free port pair found");
}

/// Whether something on `port` answers `PING` with `+PONG`.
fn answers_ping(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    if stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut reply = [0u8; 7];
    let ok = stream.read_exact(&mut reply).is_ok() && &reply == b"+PONG\r\n";
    let _ = stream.shutdown(Shutdown::Both);
    ok
}

/// Waits until every node of a cluster reports `cluster_state:ok`.
fn until_ok(nodes: &[RedisServer]) {
    until_ok_with(nodes, &[]);
}

/// The same, `redis-cli` given `cli` first (its TLS options).
fn until_ok_with(nodes: &[RedisServer], cli: &[String]) {
    for node in nodes {
        let port = node.port().to_string();
        wait_until("the cluster to be ok", Duration::from_secs(30), || {
            Command::new("redis-cli")
                .args(cli)
                .args(["-p", &port, "cluster", "info"])
                .output()
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("cluster_state:ok"))
        });
    }
}

/// Polls `ready` every 20 ms for at most `limit`; the only waiting the tests do.
pub(crate) fn wait_until(what: &str, limit: Duration, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A `redis-server` of this test's own, persistence off, on a free port; killed on drop.
#[derive(Debug)]
pub(crate) struct RedisServer {
    port: u16,
    dir: PathBuf,
    extra: Vec<String>,
    child: Option<Child>,
    /// Whether the port speaks TLS only.
    tls: bool,
}

impl RedisServer {
    /// Starts one on a free port with `extra` arguments and waits until it answers.
    pub(crate) fn start(extra: &[&str]) -> Self {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("tjwt-redis-{port}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create the server's directory");
        let mut server = Self {
            port,
            dir,
            extra: extra.iter().map(|s| (*s).to_owned()).collect(),
            child: None,
            tls: false,
        };
        server.spawn();
        server
    }

    /// Starts one that takes TLS connections only (`--port 0 --tls-port <port>`, clients not
    /// asked for certificates), with `certs`, and `extra` arguments; waits until it listens.
    pub(crate) fn start_tls(certs: &ServerCerts, extra: &[&str]) -> Self {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("tjwt-redis-{port}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create the server's directory");
        let [ca, cert, key] = certs.write(&dir);
        let mut args: Vec<String> = ["--port", "0", "--tls-port", &port.to_string()]
            .into_iter()
            .map(str::to_owned)
            .collect();
        for (flag, path) in [
            ("--tls-cert-file", cert),
            ("--tls-key-file", key),
            ("--tls-ca-cert-file", ca),
        ] {
            args.push(flag.to_owned());
            args.push(path.display().to_string());
        }
        args.extend(["--tls-auth-clients", "no"].map(str::to_owned));
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        let mut server = Self {
            port,
            dir,
            extra: args,
            child: None,
            tls: true,
        };
        server.spawn();
        server
    }

    fn spawn(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .args(&self.extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server (is it installed?)");
        self.child = Some(child);
        let port = self.port;
        // A TLS port cannot be pinged in plain text: that it listens is enough.
        let tls = self.tls;
        wait_until(
            "redis-server to answer",
            Duration::from_secs(10),
            || match tls {
                true => TcpStream::connect(("127.0.0.1", port)).is_ok(),
                false => answers_ping(port),
            },
        );
    }

    /// The port it listens on.
    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// Its URL: `rediss://` for a TLS server.
    pub(crate) fn url(&self) -> String {
        match self.tls {
            true => format!("rediss://127.0.0.1:{}", self.port),
            false => format!("redis://127.0.0.1:{}", self.port),
        }
    }

    /// The process id, while running.
    pub(crate) fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Kills it (SIGKILL: no shutdown save, like a crash) and waits until it is gone.
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port (empty: persistence is off) and waits until it answers.
    pub(crate) fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// Freezes it (SIGSTOP): connections stay open, nothing answers — a hung Redis.
    pub(crate) fn pause(&self) {
        self.signal("-STOP");
    }

    /// Thaws it (SIGCONT).
    pub(crate) fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let pid = self.pid().expect("server running");
        let status = Command::new("kill")
            .args([signal, &pid.to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill {signal} {pid} failed");
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        // SIGKILL ends a paused process too.
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A Redis Cluster of `masters` masters and no replicas, built from `redis-server` processes on
/// free ports with `redis-cli --cluster create`; every process is killed on drop.
#[derive(Debug)]
pub(crate) struct RedisCluster {
    nodes: Vec<RedisServer>,
}

impl RedisCluster {
    /// Starts the nodes, joins them and waits until every node reports `cluster_state:ok`.
    pub(crate) fn start(masters: usize) -> Self {
        Self::start_with(masters, 0)
    }

    /// A cluster of `masters` masters with `replicas` replicas each.
    pub(crate) fn start_with(masters: usize, replicas: usize) -> Self {
        let nodes: Vec<_> = (0..masters * (1 + replicas))
            .map(|_| {
                RedisServer::start(&[
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                    "--cluster-node-timeout",
                    "5000",
                ])
            })
            .collect();
        let addresses: Vec<String> = nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port()))
            .collect();
        let output = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", &replicas.to_string(), "--cluster-yes"])
            .output()
            .expect("run redis-cli --cluster create");
        assert!(
            output.status.success(),
            "cluster create failed: {}",
            String::from_utf8_lossy(&output.stdout)
        );
        until_ok(&nodes);
        Self { nodes }
    }

    /// A cluster of `masters` masters whose nodes take TLS connections only, their bus too
    /// (`--tls-cluster yes`), with `certs`.
    pub(crate) fn start_tls(masters: usize, certs: &ServerCerts) -> Self {
        let nodes: Vec<_> = (0..masters)
            .map(|_| {
                RedisServer::start_tls(
                    certs,
                    &[
                        "--cluster-enabled",
                        "yes",
                        "--cluster-config-file",
                        "nodes.conf",
                        "--cluster-node-timeout",
                        "5000",
                        "--tls-cluster",
                        "yes",
                    ],
                )
            })
            .collect();
        let cli = vec![
            "--tls".to_owned(),
            "--cacert".to_owned(),
            nodes[0].dir.join("ca.pem").display().to_string(),
        ];
        let addresses: Vec<String> = nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port()))
            .collect();
        let output = Command::new("redis-cli")
            .args(&cli)
            .args(["--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .output()
            .expect("run redis-cli --cluster create");
        assert!(
            output.status.success(),
            "cluster create failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        until_ok_with(&nodes, &cli);
        Self { nodes }
    }

    /// The node URLs, for `RedisStore::cluster_builder`.
    pub(crate) fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::url).collect()
    }

    /// Kills node `index` (SIGKILL).
    pub(crate) fn kill_node(&mut self, index: usize) {
        self.nodes[index].kill();
    }

    /// Promotes a replica to master with `CLUSTER FAILOVER TAKEOVER` (at once, without a vote:
    /// the test decides) and waits until the cluster is ok again; returns the promoted node's
    /// port.
    pub(crate) fn fail_over(&self) -> u16 {
        let role = |port: u16| {
            Command::new("redis-cli")
                .args(["-p", &port.to_string(), "role"])
                .output()
                .map(|o| {
                    String::from_utf8_lossy(&o.stdout)
                        .lines()
                        .next()
                        .unwrap_or_default()
                        .to_owned()
                })
                .unwrap_or_default()
        };
        let replica = self
            .nodes
            .iter()
            .map(RedisServer::port)
            .find(|&port| role(port) == "slave")
            .expect("a replica");
        // A takeover does not wait for replication: wait until the replica has everything.
        let info = |port: u16, field: &str| {
            Command::new("redis-cli")
                .args(["-p", &port.to_string(), "info", "replication"])
                .output()
                .ok()
                .and_then(|o| {
                    String::from_utf8_lossy(&o.stdout).lines().find_map(|line| {
                        line.trim()
                            .strip_prefix(&format!("{field}:"))
                            .map(str::to_owned)
                    })
                })
                .unwrap_or_default()
        };
        let master: u16 = info(replica, "master_port")
            .parse()
            .expect("the replica's master");
        wait_until("the replica to catch up", Duration::from_secs(30), || {
            info(replica, "master_link_status") == "up"
                && info(replica, "slave_repl_offset") == info(master, "master_repl_offset")
        });
        let output = Command::new("redis-cli")
            .args([
                "-p",
                &replica.to_string(),
                "cluster",
                "failover",
                "takeover",
            ])
            .output()
            .expect("run redis-cli cluster failover");
        assert!(output.status.success(), "failover refused");
        wait_until(
            "the replica to become master",
            Duration::from_secs(30),
            || role(replica) == "master",
        );
        until_ok(&self.nodes);
        replica
    }
}
