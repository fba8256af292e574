//! Listener actor: accepts TCP (every `bind` address) and unix-socket clients and starts a Connection
//! actor for each, on the Keyspace's arbiter (io-threads 1) or round-robin on the I/O arbiters.

use super::busy::Lobby;
use super::connection::{Connection, Stream};
use super::keyspace::Keyspace;
use crate::commands::Knobs;
use actix::prelude::*;
use futures::stream::{self, StreamExt};
use std::io;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, UnixListener};

/// Redis's reply to a remote client when protected mode is on and no password is set.
pub(crate) const DENIED: &str = "DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Set up an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.";

pub struct Listener {
    tcp: Vec<TcpListener>,
    unix: Option<UnixListener>,
    keyspace: Addr<Keyspace>,
    knobs: Arc<Knobs>,
    /// I/O arbiters for io-threads > 1; empty means "this arbiter".
    io: Vec<ArbiterHandle>,
    next_io: usize,
    /// Shared with a busy script's hook (busy.rs): the listening sockets, emptied before they close, the
    /// connections' registrations, and how clients are accepted (protected mode, keepalive).
    lobby: Arc<Lobby>,
}

/// One accepted client.
pub enum Accepted {
    Tcp(tokio::net::TcpStream),
    Unix(tokio::net::UnixStream),
}

impl Listener {
    pub fn new(
        tcp: Vec<TcpListener>,
        unix: Option<UnixListener>,
        keyspace: Addr<Keyspace>,
        knobs: Arc<Knobs>,
        io: Vec<ArbiterHandle>,
        lobby: Arc<Lobby>,
    ) -> Self {
        Listener { tcp, unix, keyspace, knobs, io, next_io: 0, lobby }
    }

    fn start_connection(&mut self, acc: Accepted) {
        let (stream, peer, local, remote_ok) = match acc {
            Accepted::Tcp(s) => {
                let _ = s.set_nodelay(true);
                if self.lobby.keepalive > 0 {
                    let ka = socket2::TcpKeepalive::new().with_time(Duration::from_secs(self.lobby.keepalive));
                    let _ = socket2::SockRef::from(&s).set_tcp_keepalive(&ka);
                }
                let peer_addr = s.peer_addr().ok();
                let peer = peer_addr.map(|a| a.to_string()).unwrap_or_default();
                let local = s.local_addr().map(|a| a.to_string()).unwrap_or_default();
                let loopback = peer_addr.map(|a| a.ip().is_loopback()).unwrap_or(false);
                (Stream::Tcp(s), peer, local, loopback || !self.lobby.protected)
            }
            Accepted::Unix(s) => (Stream::Unix(s), "/unixsocket:0".to_string(), String::new(), true),
        };
        let ks = self.keyspace.clone();
        let knobs = self.knobs.clone();
        let lobby = self.lobby.clone();
        let refuse = if remote_ok { None } else { Some(DENIED.to_string()) };
        if self.io.is_empty() {
            Connection::create(move |ctx| {
                let mut c = Connection::new(stream, ks, knobs, lobby, peer, local);
                match refuse {
                    Some(r) => c = c.refusing(r),
                    None => c.enter_lobby(ctx),
                }
                c
            });
            return;
        }
        // Move the socket to an I/O arbiter: it must be re-registered with that arbiter's reactor.
        let arb = &self.io[self.next_io % self.io.len()];
        self.next_io += 1;
        let std_stream = match stream {
            Stream::Tcp(s) => s.into_std().map(StdStream::Tcp),
            Stream::Unix(s) => s.into_std().map(StdStream::Unix),
        };
        let Ok(std_stream) = std_stream else { return };
        Connection::start_in_arbiter(arb, move |ctx: &mut Context<Connection>| {
            let stream = match std_stream {
                StdStream::Tcp(s) => tokio::net::TcpStream::from_std(s).map(Stream::Tcp),
                StdStream::Unix(s) => tokio::net::UnixStream::from_std(s).map(Stream::Unix),
            };
            match stream {
                Ok(stream) => {
                    let mut c = Connection::new(stream, ks, knobs, lobby, peer, local);
                    match refuse {
                        Some(r) => c = c.refusing(r),
                        None => c.enter_lobby(ctx),
                    }
                    c
                }
                Err(_) => {
                    ctx.stop();
                    Connection::closed(ks, knobs, lobby)
                }
            }
        });
    }
}

enum StdStream {
    Tcp(std::net::TcpStream),
    Unix(std::os::unix::net::UnixStream),
}

impl Connection {
    /// A connection with no socket (it stops at once); used when moving a socket between threads failed.
    fn closed(ks: Addr<Keyspace>, knobs: Arc<Knobs>, lobby: Arc<Lobby>) -> Connection {
        let (a, _b) = std::os::unix::net::UnixStream::pair().expect("socketpair");
        let _ = a.set_nonblocking(true);
        let s = tokio::net::UnixStream::from_std(a).expect("unix stream");
        Connection::new(Stream::Unix(s), ks, knobs, lobby, String::new(), String::new()).refusing("ERR closed".into())
    }
}

impl Actor for Listener {
    type Context = Context<Self>;

    fn stopped(&mut self, _: &mut Self::Context) {
        // The sockets close with this actor: the busy hook must not accept on their numbers any more.
        self.lobby.listening.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    fn started(&mut self, ctx: &mut Self::Context) {
        for l in self.tcp.drain(..) {
            let s = stream::unfold(l, |l| async move {
                let r = l.accept().await.map(|(s, _)| Accepted::Tcp(s));
                Some((r, l))
            });
            ctx.add_stream(s.boxed_local());
        }
        if let Some(l) = self.unix.take() {
            let s = stream::unfold(l, |l| async move {
                let r = l.accept().await.map(|(s, _)| Accepted::Unix(s));
                Some((r, l))
            });
            ctx.add_stream(s.boxed_local());
        }
    }
}

impl StreamHandler<io::Result<Accepted>> for Listener {
    fn handle(&mut self, item: io::Result<Accepted>, _: &mut Self::Context) {
        match item {
            Ok(acc) => self.start_connection(acc),
            Err(e) => log::warn!("Accepting client connection: {e}"),
        }
    }

    fn finished(&mut self, _: &mut Self::Context) {}
}

/// Stop accepting.
#[derive(Message)]
#[rtype(result = "()")]
pub struct StopListening;

impl Handler<StopListening> for Listener {
    type Result = ();

    fn handle(&mut self, _: StopListening, ctx: &mut Self::Context) {
        self.lobby.listening.lock().unwrap_or_else(|e| e.into_inner()).clear();
        ctx.stop();
    }
}
