//! The tracking connections that keep a [`NearCache`] true: one per Redis master, each running
//! `CLIENT TRACKING ON BCAST PREFIX …` over RESP3, pinged every heartbeat; on a cluster, the set
//! of masters is read again with every heartbeat. Anything that fails or changes empties the
//! cache and starts over.

use std::collections::BTreeSet;
use std::sync::{Arc, Weak};
use std::time::Duration;

use ::redis::aio::MultiplexedConnection;
use ::redis::{AsyncConnectionConfig, Client, ConnectionAddr, ProtocolVersion, PushInfo};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

use super::near_cache::apply;
use crate::store::near_cache::{HEARTBEAT, NearCache, TRUST};

/// What to track: one Redis, or the masters of a cluster reached through its seed nodes.
#[derive(Debug, Clone)]
#[expect(
    clippy::large_enum_variant,
    reason = "one per store, made once; a client with its TLS settings is large"
)]
pub(super) enum Nodes {
    Single(Client),
    Cluster(Vec<Client>),
}

impl Nodes {
    /// The nodes of the store's target (its clients, TLS settings included), spoken to in
    /// RESP3.
    pub(super) fn single(client: &Client) -> ::redis::RedisResult<Self> {
        Ok(Self::Single(resp3(client)?))
    }

    pub(super) fn cluster(clients: &[Client]) -> ::redis::RedisResult<Self> {
        clients
            .iter()
            .map(resp3)
            .collect::<Result<_, _>>()
            .map(Self::Cluster)
    }
}

fn resp3(client: &Client) -> ::redis::RedisResult<Client> {
    let info = client.get_connection_info().clone();
    let settings = info
        .redis_settings()
        .clone()
        .set_protocol(ProtocolVersion::RESP3);
    Client::open(info.set_redis_settings(settings))
}

/// The same credentials and transport as `seed`, at `host:port`.
fn client_at(seed: &Client, host: &str, port: u16) -> Option<Client> {
    let info = seed.get_connection_info().clone();
    let addr = match info.addr() {
        ConnectionAddr::Tcp(..) => ConnectionAddr::Tcp(host.to_owned(), port),
        ConnectionAddr::TcpTls {
            insecure,
            tls_params,
            ..
        } => ConnectionAddr::TcpTls {
            host: host.to_owned(),
            port,
            insecure: *insecure,
            tls_params: tls_params.clone(),
        },
        _ => return None,
    };
    Client::open(info.set_addr(addr)).ok()
}

/// Starts tracking for a new cache of `capacity` records.
pub(super) fn start(nodes: Nodes, key_prefix: String, capacity: usize) -> Arc<NearCache> {
    let cache = Arc::new(NearCache::new(capacity));
    tokio::spawn(track(Arc::downgrade(&cache), nodes, key_prefix));
    cache
}

/// Keeps `cache` tracked for as long as the store lives.
async fn track(cache: Weak<NearCache>, nodes: Nodes, key_prefix: String) {
    let mut backoff = HEARTBEAT;
    loop {
        if cache.strong_count() == 0 {
            return;
        }
        if let Some(tracking) = Tracking::open(&nodes, &key_prefix).await {
            backoff = HEARTBEAT;
            tracking.serve(&cache, &key_prefix).await;
        }
        if let Some(cache) = cache.upgrade() {
            cache.flush();
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(1));
    }
}

/// The masters of a cluster, as `(host, port)`.
type Masters = BTreeSet<(String, u16)>;

/// Established tracking: its connections, the one channel all their pushes arrive on, and, on a
/// cluster, the masters it covers (asked again, through the first connection, every heartbeat).
struct Tracking {
    connections: Vec<MultiplexedConnection>,
    pushes: UnboundedReceiver<PushInfo>,
    masters: Option<Masters>,
}

impl Tracking {
    async fn open(nodes: &Nodes, key_prefix: &str) -> Option<Self> {
        let (sender, pushes) = unbounded_channel();
        let (clients, masters) = match nodes {
            Nodes::Single(client) => (vec![client.clone()], None),
            Nodes::Cluster(seeds) => {
                let (seed, masters) = discover(seeds).await?;
                let clients = masters
                    .iter()
                    .map(|(host, port)| client_at(seed, host, *port))
                    .collect::<Option<Vec<_>>>()?;
                (clients, Some(masters))
            }
        };
        let mut connections = Vec::with_capacity(clients.len());
        for client in &clients {
            connections.push(subscribe(client, sender.clone(), key_prefix).await?);
        }
        Some(Self {
            connections,
            pushes,
            masters,
        })
    }

    /// Applies invalidations and pings until a connection fails, the masters change or the
    /// store is gone.
    async fn serve(mut self, cache: &Weak<NearCache>, key_prefix: &str) {
        let mut next_ping = tokio::time::Instant::now();
        loop {
            // Checked first: a steady stream of pushes must not starve the heartbeat.
            if tokio::time::Instant::now() < next_ping
                && let Ok(push) = tokio::time::timeout_at(next_ping, self.pushes.recv()).await
            {
                let (Some(push), Some(cache)) = (push, cache.upgrade()) else {
                    return;
                };
                if !apply(&cache, &push, key_prefix) {
                    return;
                }
                continue;
            }
            // The heartbeat is due.
            let Some(cache) = cache.upgrade() else {
                return;
            };
            // Trust runs from before the pings: the bound holds however slow the pongs.
            let sent = cache.millis();
            for connection in &mut self.connections {
                let pong: Result<String, _> = ::redis::cmd("PING").query_async(connection).await;
                if pong.is_err() {
                    return;
                }
            }
            if let Some(masters) = &self.masters {
                // A fail-over or a new master: its writes would not be tracked.
                if masters_of(&mut self.connections[0]).await.as_ref() != Some(masters) {
                    return;
                }
            }
            // Every push sent before a pong is in the channel already: apply them first.
            while let Ok(push) = self.pushes.try_recv() {
                if !apply(&cache, &push, key_prefix) {
                    return;
                }
            }
            cache.trust_from(sent);
            next_ping = tokio::time::Instant::now() + HEARTBEAT;
        }
    }
}

/// A tracking connection to one node: every push it receives goes to `sender`.
async fn subscribe(
    client: &Client,
    sender: UnboundedSender<PushInfo>,
    key_prefix: &str,
) -> Option<MultiplexedConnection> {
    let config = AsyncConnectionConfig::new()
        .set_push_sender(sender)
        .set_connection_timeout(Some(Duration::from_secs(1)))
        .set_response_timeout(Some(TRUST));
    let mut connection = client
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .map_err(|error| {
            tracing::warn!(target: "tower_jwt_auth", %error, "near cache: no tracking connection");
        })
        .ok()?;
    let tracking: Result<(), _> = ::redis::cmd("CLIENT")
        .arg("TRACKING")
        .arg("ON")
        .arg("BCAST")
        .arg("PREFIX")
        .arg(key_prefix)
        .query_async(&mut connection)
        .await;
    match tracking {
        Ok(()) => Some(connection),
        Err(error) => {
            tracing::warn!(target: "tower_jwt_auth", %error, "near cache: CLIENT TRACKING refused");
            None
        }
    }
}

/// The masters of the cluster, read from the first seed that answers.
async fn discover(seeds: &[Client]) -> Option<(&Client, Masters)> {
    for seed in seeds {
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(TRUST));
        let Ok(mut connection) = seed
            .get_multiplexed_async_connection_with_config(&config)
            .await
        else {
            continue;
        };
        if let Some(masters) = masters_of(&mut connection).await {
            return Some((seed, masters));
        }
    }
    None
}

/// `CLUSTER NODES`: the masters that serve slots and are not failing.
async fn masters_of(connection: &mut MultiplexedConnection) -> Option<Masters> {
    let nodes: String = ::redis::cmd("CLUSTER")
        .arg("NODES")
        .query_async(connection)
        .await
        .ok()?;
    let masters: Masters = nodes.lines().filter_map(master).collect();
    (!masters.is_empty()).then_some(masters)
}

/// One line of `CLUSTER NODES` (`<id> <ip:port@cport[,hostname]> <flags> <master> <ping> <pong>
/// <epoch> <link> <slot>…`), if it is a healthy master serving slots.
fn master(line: &str) -> Option<(String, u16)> {
    let fields: Vec<&str> = line.split_ascii_whitespace().collect();
    let (address, flags) = (fields.get(1)?, fields.get(2)?);
    let flags: Vec<&str> = flags.split(',').collect();
    let serving = fields.len() > 8;
    if !flags.contains(&"master") || flags.iter().any(|f| f.starts_with("fail")) || !serving {
        return None;
    }
    let address = address.split([',', '@']).next()?;
    let (host, port) = address.rsplit_once(':')?;
    Some((host.to_owned(), port.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masters_are_read_from_cluster_nodes() {
        let nodes = "\
a1 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-5460
b2 127.0.0.1:7001@17001 master - 0 1 2 connected 5461-10922
c3 127.0.0.1:7002@17002 master,fail - 0 1 3 connected 10923-16383
d4 127.0.0.1:7003@17003 slave a1 0 1 1 connected
e5 127.0.0.1:7004@17004 master - 0 1 5 connected";
        let masters: Vec<_> = nodes.lines().filter_map(master).collect();
        assert_eq!(
            masters,
            [
                ("127.0.0.1".to_owned(), 7000),
                ("127.0.0.1".to_owned(), 7001)
            ]
        );
    }
}
