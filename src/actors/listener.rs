//! Listener actor: accepts TCP (every `bind` address) and unix-socket clients and starts a Connection
//! actor for each, on the Keyspace's arbiter (io-threads 1) or round-robin on the I/O arbiters.

use super::busy::{Listening, Lobby};
use super::connection::{Connection, Stream};
use super::keyspace::Keyspace;
use crate::commands::Knobs;
use actix::prelude::*;
use futures::stream::{self, StreamExt};
use std::io;
use std::os::fd::AsRawFd;
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
    /// When the last accept error was logged, and how many came since (logged at most once a second).
    accept_log: Option<std::time::Instant>,
    accept_errors: u64,
    /// The accept loops of the TCP sockets, cancelled when CONFIG SET port or bind replaces them.
    tcp_loops: Vec<SpawnHandle>,
}

/// Pause before the next accept after one failed for want of descriptors or memory: retrying at once
/// would spin on the pending connection (the backlog keeps it until descriptors free up).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Accept failures that last until descriptors (or memory) are released: EMFILE, ENFILE, ENOBUFS, ENOMEM.
fn out_of_resources(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM))
}

/// An accept loop over one listening socket: each accepted client, or the error, in turn; after an error
/// that only time can clear, the next accept waits ACCEPT_BACKOFF.
fn accept_stream<L, S, F>(l: L, accept: F) -> futures::stream::LocalBoxStream<'static, io::Result<Accepted>>
where
    L: 'static,
    F: for<'a> Fn(&'a L) -> futures::future::LocalBoxFuture<'a, io::Result<S>> + 'static,
    S: Into<Accepted>,
{
    stream::unfold((l, accept, false), |(l, accept, backoff)| async move {
        if backoff {
            tokio::time::sleep(ACCEPT_BACKOFF).await;
        }
        let r = accept(&l).await.map(Into::into);
        let backoff = matches!(&r, Err(e) if out_of_resources(e));
        Some((r, (l, accept, backoff)))
    })
    .boxed_local()
}

impl From<tokio::net::TcpStream> for Accepted {
    fn from(s: tokio::net::TcpStream) -> Accepted {
        Accepted::Tcp(s)
    }
}

impl From<tokio::net::UnixStream> for Accepted {
    fn from(s: tokio::net::UnixStream) -> Accepted {
        Accepted::Unix(s)
    }
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
        Listener {
            tcp,
            unix,
            keyspace,
            knobs,
            io,
            next_io: 0,
            lobby,
            accept_log: None,
            accept_errors: 0,
            tcp_loops: Vec::new(),
        }
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
                (
                    Stream::Tcp(s),
                    peer,
                    local,
                    loopback || !self.knobs.protected.load(std::sync::atomic::Ordering::Relaxed),
                )
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
        for l in std::mem::take(&mut self.tcp) {
            self.accept_tcp(l, ctx);
        }
        if let Some(l) = self.unix.take() {
            ctx.add_stream(accept_stream(l, |l: &UnixListener| {
                Box::pin(async move { l.accept().await.map(|(s, _)| s) })
            }));
        }
    }
}

impl Listener {
    /// Accept clients on a TCP socket until the actor stops or CONFIG SET port replaces it.
    fn accept_tcp(&mut self, l: TcpListener, ctx: &mut Context<Self>) {
        let h = ctx
            .add_stream(accept_stream(l, |l: &TcpListener| Box::pin(async move { l.accept().await.map(|(s, _)| s) })));
        self.tcp_loops.push(h);
    }

    /// Log a failed accept as Redis does ("Accepting client connection: accept: <error>"), at most once a
    /// second: out of descriptors, the same failure repeats for every pending client until some close.
    fn accept_failed(&mut self, e: &io::Error) {
        let now = std::time::Instant::now();
        if self.accept_log.is_some_and(|t| now.duration_since(t) < Duration::from_secs(1)) {
            self.accept_errors += 1;
            return;
        }
        let text = e.to_string();
        let text = text.split(" (os error").next().unwrap_or_default();
        if self.accept_errors > 0 {
            log::warn!(
                "Accepting client connection: accept: {text} ({} more since the last one logged)",
                self.accept_errors
            );
        } else {
            log::warn!("Accepting client connection: accept: {text}");
        }
        self.accept_log = Some(now);
        self.accept_errors = 0;
    }
}

impl StreamHandler<io::Result<Accepted>> for Listener {
    fn handle(&mut self, item: io::Result<Accepted>, _: &mut Self::Context) {
        match item {
            Ok(acc) => self.start_connection(acc),
            Err(e) => self.accept_failed(&e),
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

/// CONFIG SET port or bind: accept on these TCP sockets (already bound and listening; an address both lists
/// share comes as a duplicate of its socket) instead of the current ones, which close; none means no TCP at
/// all (port 0, `bind ""`). The Unix socket is kept.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Relisten(pub Vec<std::net::TcpListener>);

impl Handler<Relisten> for Listener {
    type Result = ();

    /// Swap the TCP sockets: the busy hook's list first (it must not accept on a closed number), then the
    /// accept loops, whose sockets close as they are cancelled.
    fn handle(&mut self, msg: Relisten, ctx: &mut Self::Context) {
        let mut fresh = Vec::with_capacity(msg.0.len());
        for l in msg.0 {
            match TcpListener::from_std(l) {
                Ok(l) => fresh.push(l),
                Err(e) => log::warn!("Could not register a new listening socket: {e}"),
            }
        }
        {
            let mut listening = self.lobby.listening.lock().unwrap_or_else(|e| e.into_inner());
            listening.retain(|l| l.unix);
            listening.extend(fresh.iter().map(|l| Listening { fd: l.as_raw_fd(), unix: false }));
        }
        for h in std::mem::take(&mut self.tcp_loops) {
            ctx.cancel_future(h);
        }
        for l in fresh {
            self.accept_tcp(l, ctx);
        }
    }
}
