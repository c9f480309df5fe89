//! The listener that keeps a [`PostgresStore`](super::PostgresStore)'s near cache true: one
//! dedicated connection that `LISTEN`s on the table's channel, to which the table's trigger
//! (`schema.sql`) sends the id of every session row updated or deleted, from the very transaction
//! that changes it (PostgreSQL delivers a notification only once its transaction committed).
//!
//! The heartbeat is a notification too: every [`HEARTBEAT`] the listener sends one to its own
//! channel and waits for it to come back. PostgreSQL queues notifications in commit order and
//! delivers each listener's in queue order, so when the echo arrives, every change committed
//! before it was sent has been applied; the copy is then trusted until [`TRUST`] after the
//! sending. A lost connection, a failed or late echo, or a message this code cannot read empties
//! the copy and starts over (with back-off up to a second); until the first echo on the new
//! connection every check goes to the database.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};
use tokio::task::JoinHandle;
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres::{AsyncMessage, Client, Config, Notification, Socket, Statement};

use crate::SessionId;
use crate::store::near_cache::{HEARTBEAT, NearCache, TRUST};

/// The payload of a listener's own heartbeat, followed by its count.
const BEAT: &str = "heartbeat:";
/// A heartbeat (`$1` the channel, `$2` the payload), sent only if table `$3` has the trigger
/// of `schema.sql` (of one name on every table) and it is enabled.
const HEARTBEAT_SQL: &str = "SELECT pg_notify($1, $2) FROM pg_trigger \
     WHERE tgrelid = to_regclass($3) AND tgname = 'tower_jwt_auth_notify' AND tgenabled <> 'D'";

/// What the task polling a listening connection does with each message it receives; `false`
/// ends the task.
type OnMessage = Box<dyn FnMut(AsyncMessage) -> bool + Send>;

/// Opens a listening connection, with the store's own TLS: the client, and the task that polls
/// the connection, handing each message to the given [`OnMessage`].
pub(super) type Connect = Arc<
    dyn Fn(
            OnMessage,
        )
            -> Pin<Box<dyn Future<Output = Result<(Client, Polling), tokio_postgres::Error>> + Send>>
        + Send
        + Sync,
>;

/// How to open a listening connection to `config` over `tls`: the connector the store's pool
/// uses, so the listener verifies the server exactly as the pool does.
pub(super) fn connect_with<T>(config: Config, tls: T) -> Connect
where
    T: MakeTlsConnect<Socket> + Clone + Send + Sync + 'static,
    T::Stream: Send + 'static,
    T::TlsConnect: Send,
    <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
{
    Arc::new(move |mut on_message: OnMessage| {
        let config = config.clone();
        let tls = tls.clone();
        Box::pin(async move {
            let (client, mut connection) = config.connect(tls).await?;
            let polling = Polling(tokio::spawn(async move {
                while let Some(Ok(message)) =
                    std::future::poll_fn(|cx| connection.poll_message(cx)).await
                {
                    if !on_message(message) {
                        return;
                    }
                }
            }));
            Ok((client, polling))
        })
    })
}

/// Where and what to listen to.
#[derive(Clone)]
pub(super) struct Target {
    pub(super) connect: Connect,
    pub(super) table: String,
    pub(super) channel: String,
    /// The bound on connecting and on `LISTEN`.
    pub(super) timeout: Duration,
}

/// Starts listening for a new cache of `capacity` records.
pub(super) fn start(target: Target, capacity: usize) -> Arc<NearCache> {
    let cache = Arc::new(NearCache::new(capacity));
    tokio::spawn(listen(Arc::downgrade(&cache), target));
    cache
}

/// The channel of `table`'s changes, as the trigger names it: `tjwt:<table>`, or, for a name too
/// long for an identifier (63 bytes), its first 40 bytes and a hash of the whole.
pub(super) fn channel_of(table: &str) -> String {
    let channel = format!("tjwt:{table}");
    if channel.len() <= 63 {
        return channel;
    }
    // FNV-1a: stable across versions and platforms, as the trigger's literal must stay.
    let hash = table.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    });
    let head = table.get(..40).unwrap_or(table);
    format!("tjwt:{head}:{hash:016x}")
}

/// `name` as a quoted SQL identifier.
pub(super) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `text` as a SQL string literal.
pub(super) fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Keeps `cache` listened for as long as the store lives.
async fn listen(cache: Weak<NearCache>, target: Target) {
    let mut backoff = HEARTBEAT;
    loop {
        if cache.strong_count() == 0 {
            return;
        }
        if let Some(listening) = Listening::open(&cache, &target).await {
            backoff = HEARTBEAT;
            listening.serve(&cache, &target).await;
        }
        if let Some(cache) = cache.upgrade() {
            cache.flush();
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(1));
    }
}

/// An established `LISTEN`: the client, the notifications its connection received, and the
/// backend's process id (which tells its own heartbeats from other servers').
struct Listening {
    client: Client,
    heartbeat: Statement,
    /// The heartbeats the connection received, this listener's and other servers'.
    heartbeats: UnboundedReceiver<Notification>,
    pid: i32,
    _connection: Polling,
}

/// The task that polls the connection; ended when dropped, whatever the connection waits for.
pub(super) struct Polling(JoinHandle<()>);

impl Drop for Polling {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Listening {
    async fn open(cache: &Weak<NearCache>, target: &Target) -> Option<Self> {
        let opened = tokio::time::timeout(target.timeout, async {
            let (sender, heartbeats) = unbounded_channel();
            let cache = cache.clone();
            // The polling task also carries the client's queries; it ends with the connection,
            // which closes the channel. Changes are applied there, as they arrive and in order;
            // heartbeats go on to `serve`, after everything before them.
            let on_message: OnMessage = Box::new(move |message| {
                let AsyncMessage::Notification(notification) = message else {
                    return true;
                };
                let Some(cache) = cache.upgrade() else {
                    return false;
                };
                apply(&cache, &notification) || sender.send(notification).is_ok()
            });
            let (client, connection) = (target.connect)(on_message)
                .await
                .map_err(|error| {
                    tracing::warn!(target: "tower_jwt_auth", %error, "near cache: no listening connection");
                })
                .ok()?;
            let listening = async {
                // The heartbeat commits a notification: waiting for its commit to reach the disk
                // would hold up every notification behind it for nothing.
                client
                    .batch_execute(&format!(
                        "SET synchronous_commit = off; LISTEN {}",
                        quote_ident(&target.channel)
                    ))
                    .await?;
                let pid = client.query_one("SELECT pg_backend_pid()", &[]).await?;
                Ok::<_, tokio_postgres::Error>((pid, client.prepare(HEARTBEAT_SQL).await?))
            };
            match listening.await {
                Ok((row, heartbeat)) => Some(Self {
                    pid: row.try_get(0).ok()?,
                    client,
                    heartbeat,
                    heartbeats,
                    _connection: connection,
                }),
                Err(error) => {
                    tracing::warn!(target: "tower_jwt_auth", %error, "near cache: LISTEN failed");
                    None
                }
            }
        })
        .await;
        opened.ok().flatten()
    }

    /// Proves the connection every heartbeat until it fails or the store is gone.
    async fn serve(mut self, cache: &Weak<NearCache>, target: &Target) {
        let mut beats = 0_u64;
        loop {
            let Some(cache) = cache.upgrade() else {
                return;
            };
            beats += 1;
            // Trust runs from before the heartbeat: the bound holds however slow its echo.
            let sent = cache.millis();
            let beat = format!("{BEAT}{beats}");
            let echoed = tokio::time::timeout(TRUST, async {
                // Sent only while the table's trigger is there and enabled: without it no
                // change is notified, and the copy must not be trusted.
                let notified = self
                    .client
                    .execute(&self.heartbeat, &[&target.channel, &beat, &target.table])
                    .await
                    .ok()?;
                if notified != 1 {
                    tracing::warn!(target: "tower_jwt_auth", table = %target.table, "near cache: the table has no change trigger; run PostgresStore::migrate");
                    return None;
                }
                // Every change queued before the echo was applied before it was passed on.
                loop {
                    let notification = self.heartbeats.recv().await?;
                    if notification.process_id() == self.pid && notification.payload() == beat {
                        return Some(());
                    }
                }
            })
            .await;
            if !matches!(echoed, Ok(Some(()))) {
                return;
            }
            cache.trust_from(sent);
            drop(cache);
            // Until the next heartbeat; a connection lost meanwhile ends this at once.
            let next = tokio::time::Instant::now() + HEARTBEAT;
            while let Ok(received) = tokio::time::timeout_at(next, self.heartbeats.recv()).await {
                if received.is_none() {
                    return;
                }
            }
        }
    }
}

/// Applies one notification: a changed session is forgotten, and anything this code cannot
/// read empties the copy. `false` for a heartbeat (this listener's, or another server's), which
/// changes nothing.
fn apply(cache: &NearCache, notification: &Notification) -> bool {
    let payload = notification.payload();
    match sid_of(payload) {
        Some(sid) => cache.invalidate(sid),
        None if payload.starts_with(BEAT) => return false,
        None => cache.flush_entries(),
    }
    true
}

/// The session a notification names: its id as 32 hexadecimal digits (`encode(sid, 'hex')`).
fn sid_of(payload: &str) -> Option<SessionId> {
    if payload.len() != 32 {
        return None;
    }
    let mut bytes = [0_u8; 16];
    for (byte, pair) in bytes.iter_mut().zip(payload.as_bytes().chunks_exact(2)) {
        let digit = |c: u8| char::from(c).to_digit(16);
        let value = digit(pair[0])? * 16 + digit(pair[1])?;
        *byte = u8::try_from(value).ok()?;
    }
    Some(SessionId::from_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notifications_name_their_session() {
        let sid = SessionId::from_bytes([0xab; 16]);
        assert_eq!(sid_of(&"ab".repeat(16)), Some(sid));
        assert_eq!(sid_of("heartbeat:1"), None);
        assert_eq!(sid_of(&"zz".repeat(16)), None);
        assert_eq!(sid_of(&"+1".repeat(16)), None);
    }

    #[test]
    fn channels_fit_an_identifier_and_stay_apart() {
        assert_eq!(channel_of("sessions"), "tjwt:sessions");
        let long_a = format!("{}.{}", "a".repeat(63), "b".repeat(63));
        let long_b = format!("{}.{}", "a".repeat(63), "c".repeat(63));
        assert!(channel_of(&long_a).len() <= 63);
        assert_ne!(channel_of(&long_a), channel_of(&long_b));
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_literal("it's"), "'it''s'");
    }

    #[test]
    fn the_heartbeat_looks_for_the_schemas_trigger() {
        let trigger = "TRIGGER tower_jwt_auth_notify AFTER UPDATE OR DELETE";
        assert!(include_str!("notify.sql").contains(trigger));
        assert!(HEARTBEAT_SQL.contains("tgname = 'tower_jwt_auth_notify'"));
    }
}
