//! A TCP proxy a test puts between a client and its server, to cut connections at will: all of
//! them, or only those that have sent some bytes named when the proxy started (a PostgreSQL
//! `LISTEN`, say); new connections are cut alike until the test heals the proxy.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Which connections the proxy cuts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cut {
    /// None: bytes flow.
    Nothing,
    /// Every connection that has sent these bytes (one of the proxy's markers) in one read.
    Carrying(&'static [u8]),
    /// The same connections, silently: they stay open, but no byte passes either way until the
    /// proxy is healed (a network that drops packets).
    Stalling(&'static [u8]),
    /// Every connection, and every new one at once.
    Everything,
    /// No cut, but the server's bytes reach every connection that has not sent these bytes
    /// this much later (a slow network for all but that connection).
    DelayingAllBut(&'static [u8], Duration),
}

/// What becomes of one connection under a [`Cut`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Flow,
    Stall,
    Close,
}

impl Cut {
    fn verdict(self, carried: &[&'static [u8]]) -> Verdict {
        match self {
            Self::Carrying(marker) if carried.contains(&marker) => Verdict::Close,
            Self::Stalling(marker) if carried.contains(&marker) => Verdict::Stall,
            Self::Everything => Verdict::Close,
            _ => Verdict::Flow,
        }
    }
}

/// A proxy listening on a free loopback port; stops accepting on drop.
#[derive(Debug)]
pub(crate) struct Proxy {
    addr: SocketAddr,
    rule: watch::Sender<Cut>,
    accept: JoinHandle<()>,
}

impl Proxy {
    /// A proxy to `target` that notes which connections send any of `markers`.
    pub(crate) async fn start(target: SocketAddr, markers: &'static [&'static [u8]]) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local address");
        let (rule, _) = watch::channel(Cut::Nothing);
        let rules = rule.clone();
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let rules = rules.subscribe();
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(target).await {
                        relay(client, server, rules, markers).await;
                    }
                });
            }
        });
        Self { addr, rule, accept }
    }

    /// Where clients connect.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Cuts what `cut` names, now and until [`heal`](Self::heal).
    pub(crate) fn cut(&self, cut: Cut) {
        self.rule.send_replace(cut);
    }

    /// Lets bytes flow again (connections cut stay cut).
    pub(crate) fn heal(&self) {
        self.rule.send_replace(Cut::Nothing);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// Copies bytes both ways until either side closes or the rule cuts this connection.
async fn relay(
    mut client: TcpStream,
    mut server: TcpStream,
    mut rule: watch::Receiver<Cut>,
    markers: &'static [&'static [u8]],
) {
    let mut carried: Vec<&'static [u8]> = Vec::new();
    let (mut up, mut down) = (vec![0_u8; 16 * 1024], vec![0_u8; 16 * 1024]);
    loop {
        if !flows(&mut rule, &carried).await {
            return;
        }
        tokio::select! {
            read = client.read(&mut up) => {
                let Ok(n @ 1..) = read else { return };
                let sent = &up[..n];
                for &marker in markers {
                    if sent.windows(marker.len()).any(|w| w == marker) && !carried.contains(&marker) {
                        carried.push(marker);
                    }
                }
                if !flows(&mut rule, &carried).await || server.write_all(sent).await.is_err() {
                    return;
                }
            }
            read = server.read(&mut down) => {
                let Ok(n @ 1..) = read else { return };
                let delay = *rule.borrow();
                if let Cut::DelayingAllBut(marker, by) = delay && !carried.contains(&marker) {
                    tokio::time::sleep(by).await;
                }
                if client.write_all(&down[..n]).await.is_err() {
                    return;
                }
            }
            changed = rule.changed() => {
                if changed.is_err() {
                    return;
                }
            }
        }
    }
}

/// Waits out a stall; `false` once the connection is to be closed.
async fn flows(rule: &mut watch::Receiver<Cut>, carried: &[&'static [u8]]) -> bool {
    loop {
        let verdict = rule.borrow_and_update().verdict(carried);
        match verdict {
            Verdict::Flow => return true,
            Verdict::Close => return false,
            Verdict::Stall => {
                if rule.changed().await.is_err() {
                    return false;
                }
            }
        }
    }
}
