//! [`Connection`]: one Redis (through the reconnecting manager) or a cluster, speaking the same
//! commands; and [`Durable`], the second connection revocations wait for replicas on, with the
//! store's ways to each.

use std::fmt;
use std::time::Duration;

use ::redis::aio::{ConnectionLike, ConnectionManager};
use ::redis::cluster_async::ClusterConnection;
use ::redis::{Cmd, Pipeline, RedisFuture, Value};

use super::RedisStore;
#[cfg(doc)]
use super::RedisStoreBuilder;
use super::values::store_error;
use crate::store::{StoreError, StoreErrorKind};

/// What [`RedisStoreBuilder::wait_for_replicas`] sets up. `WAIT` blocks the connection it is sent
/// on and covers only that connection's writes, so revocations get a connection of their own:
/// waiting never stalls the access checks and refreshes on the main one.
#[derive(Debug)]
pub(super) struct Durable {
    pub(super) connection: Connection,
    pub(super) replicas: u32,
    pub(super) wait: Duration,
}

/// A single Redis (through the reconnecting manager) or a cluster: both speak the same commands.
#[derive(Clone)]
pub(super) enum Connection {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Single(_) => "Single",
            Self::Cluster(_) => "Cluster",
        })
    }
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Single(c) => c.req_packed_command(cmd),
            Self::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Self::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(c) => c.get_db(),
            Self::Cluster(c) => c.get_db(),
        }
    }
}

impl RedisStore {
    pub(super) fn connection(&self) -> Connection {
        // Clones share the multiplexed connection (or the cluster's): this is a reference count.
        self.inner.connection.clone()
    }

    /// The connection revocations are made on: the one that waits for replicas, if set.
    pub(super) fn revoking_connection(&self) -> Connection {
        match &self.inner.durable {
            Some(durable) => durable.connection.clone(),
            None => self.connection(),
        }
    }

    /// With [`wait_for_replicas`](RedisStoreBuilder::wait_for_replicas) set, waits until the
    /// replicas have every write made so far on the revoking connection.
    pub(super) async fn replicate(&self) -> Result<(), StoreError> {
        let Some(durable) = &self.inner.durable else {
            return Ok(());
        };
        let replicas = durable.replicas;
        let millis = u64::try_from(durable.wait.as_millis()).unwrap_or(u64::MAX);
        let acked: i64 = ::redis::cmd("WAIT")
            .arg(replicas)
            .arg(millis)
            .query_async(&mut durable.connection.clone())
            .await
            .map_err(store_error)?;
        if acked < i64::from(replicas) {
            return Err(StoreError::new(
                StoreErrorKind::Unavailable,
                format!("the revocation reached {acked} of {replicas} replicas in time"),
            ));
        }
        Ok(())
    }
}
