//! Serving sockets while a script holds the Keyspace (actors layer; the commands side is commands/busy.rs).
//!
//! A script runs inside the Keyspace's handler, so no actor on the Keyspace's thread runs until it ends:
//! with `io-threads 1` that is every connection and the listener. Redis's answer is processEventsWhileBlocked,
//! called from the script's hook; ours, done without re-entering the runtime, is this module. Each socket
//! connection shares a [`Link`] with the Keyspace: its raw fd and a small side state under a mutex. Past
//! busy-reply-threshold the script's hook calls [`Sockets::serve`], which
//! - accepts new clients on the listening sockets (they become connections once the script ends),
//! - polls the links whose connection waits for input with nothing of its own buffered (`idle`), never the
//!   script's own client or a replica, reads what they sent (`recv`, non-blocking) into `stolen`, runs
//!   the complete requests with `exec_batch` (BUSY for all but the allow-busy commands) and writes the
//!   replies (`send`, non-blocking; what the socket does not take waits in `unsent`),
//! - marks each link it touched `held`: its connection leaves the socket alone until [`Sockets::release`],
//!   at the script's end, hands it back with the partial request left in `stolen` and the replies left in
//!   `unsent`, which the connection takes before anything else so that nothing is lost or reordered.
//!
//! The connection reads only under the link's lock, and never while the link is held; the Keyspace touches a
//! socket only under the lock, with the link idle and not closed. With `io-threads N` the connections run on
//! other threads meanwhile: one that sees `Knobs::script_busy` parks itself (`held`) instead of reading, so
//! its requests are answered BUSY from the hook too rather than queued behind the script. A batch already
//! sent to the Keyspace before the threshold waits for the script, as does a request that was half-read.

use crate::commands::busy::Waiting;
use crate::commands::{exec_batch, parse_batch, Batch, State};
use bytes::{Buf, BytesMut};
use std::cell::RefCell;
use std::collections::HashMap;
use std::os::fd::{FromRawFd, RawFd};
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// Bytes read from one client per pass, so that one client cannot keep the script from its work.
const READ_PER_PASS: usize = 64 * 1024;
/// Clients accepted per listening socket per pass.
const ACCEPT_PER_PASS: usize = 32;

/// What a connection and the Keyspace share about one client socket.
pub struct Link {
    /// The connection's socket. Valid while the side state is not `closed`.
    fd: RawFd,
    side: Mutex<Side>,
    /// Wakes the connection when the Keyspace hands the socket back.
    pub wake: tokio::sync::Notify,
}

/// The state behind a link's lock.
pub struct Side {
    /// The connection waits for input with nothing buffered and nothing in flight: a busy Keyspace may
    /// serve it.
    pub idle: bool,
    /// A busy Keyspace owns the socket until it releases it: the connection must not touch it.
    pub held: bool,
    /// The connection is gone: the fd may already be closed or reused.
    pub closed: bool,
    /// The Keyspace saw the peer close or an error on the socket.
    pub eof: bool,
    /// Close once `unsent` is written (QUIT, a protocol error, the query buffer limit).
    pub close: bool,
    /// Input the Keyspace read that does not make a complete request yet.
    pub stolen: BytesMut,
    /// Replies the socket did not take yet.
    pub unsent: Vec<u8>,
}

impl Side {
    /// The Keyspace may read this client and answer it.
    fn servable(&self) -> bool {
        self.idle && !self.closed && !self.eof && !self.close
    }

    /// The Keyspace left something the connection must act on before it reads again.
    pub fn has_leftover(&self) -> bool {
        !self.stolen.is_empty() || !self.unsent.is_empty() || self.close || self.eof
    }
}

impl Link {
    /// A link for a new connection's socket. It starts idle: until its connection first waits for input,
    /// it only waits for its registration and does not touch the socket.
    pub fn new(fd: RawFd) -> Arc<Link> {
        let side = Side {
            idle: true,
            held: false,
            closed: false,
            eof: false,
            close: false,
            stolen: BytesMut::new(),
            unsent: Vec::new(),
        };
        Arc::new(Link { fd, side: Mutex::new(side), wake: tokio::sync::Notify::new() })
    }

    /// The side state (a panic elsewhere while it was held leaves it usable).
    pub fn lock(&self) -> MutexGuard<'_, Side> {
        self.side.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Marks a link closed when dropped: the connection holds one declared after its socket, so that it is
/// dropped first and the Keyspace never uses a closed (or reused) fd.
pub struct CloseOnDrop(pub Arc<Link>);

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        let mut g = self.0.lock();
        g.closed = true;
        g.idle = false;
    }
}

/// A listening socket, shared with the Listener, which empties the list before it closes them.
#[derive(Clone, Copy)]
pub struct Listening {
    pub fd: RawFd,
    pub unix: bool,
}

/// A client accepted while a script was busy: the Keyspace starts its connection once the script ends.
pub struct Adopted {
    pub slot: usize,
    pub stream: AdoptedStream,
    pub link: Arc<Link>,
    pub peer: String,
    pub local: String,
}

/// The socket of an adopted client.
pub enum AdoptedStream {
    Tcp(std::net::TcpStream),
    Unix(std::os::unix::net::UnixStream),
}

/// The Keyspace's side of every link, and what it needs to accept clients while busy.
pub struct Sockets {
    /// Links of the socket clients, by client slot.
    pub links: HashMap<usize, Arc<Link>>,
    pub listening: Arc<Mutex<Vec<Listening>>>,
    /// Protected mode: refuse non-loopback peers (as the Listener does).
    pub protected: bool,
    /// TCP keepalive seconds for accepted clients (0: off).
    pub keepalive: u64,
    /// Clients accepted while busy, waiting for their connection actor.
    pub adopted: Vec<Adopted>,
}

/// The Keyspace holds one handle and `State::waiting` another (the script's hook reaches it there).
pub type SharedSockets = Rc<RefCell<Sockets>>;

impl Sockets {
    pub fn new(listening: Arc<Mutex<Vec<Listening>>>, protected: bool, keepalive: u64) -> SharedSockets {
        Rc::new(RefCell::new(Sockets { links: HashMap::new(), listening, protected, keepalive, adopted: Vec::new() }))
    }

    /// One pass from a busy script's hook: accept, then serve every idle client that sent something.
    pub fn serve(&mut self, s: &mut State, script_client: usize) {
        self.accept(s);
        let mut fds: Vec<libc::pollfd> = Vec::new();
        let mut who: Vec<(usize, Arc<Link>)> = Vec::new();
        for (&slot, link) in &self.links {
            if slot == script_client || !s.clients.get(slot).is_some_and(|c| !c.replica) {
                continue;
            }
            let g = link.lock();
            if !g.servable() {
                continue;
            }
            let events = if g.unsent.is_empty() { libc::POLLIN } else { libc::POLLIN | libc::POLLOUT };
            fds.push(libc::pollfd { fd: link.fd, events, revents: 0 });
            who.push((slot, link.clone()));
        }
        if fds.is_empty() {
            return;
        }
        // SAFETY: `fds` is a valid array of pollfd of the given length; a zero timeout never blocks.
        let ready = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, 0) };
        if ready <= 0 {
            return;
        }
        for (p, (slot, link)) in fds.iter().zip(who) {
            if p.revents != 0 {
                serve_one(s, slot, &link);
            }
        }
    }

    /// The script ended: every held socket goes back to its connection.
    pub fn release(&mut self) {
        for link in self.links.values() {
            let mut g = link.lock();
            if g.held {
                g.held = false;
                drop(g);
                link.wake.notify_one();
            }
        }
    }

    /// Accept the clients waiting on the listening sockets (the Listener cannot while the script runs).
    fn accept(&mut self, s: &mut State) {
        let listening: Vec<Listening> = self.listening.lock().unwrap_or_else(|e| e.into_inner()).clone();
        for l in listening {
            for _ in 0..ACCEPT_PER_PASS {
                // SAFETY: accept4 on a listening socket the Listener keeps open while it is in the list (the
                // Listener runs on this thread and cannot close it during the script); null addresses are allowed.
                let fd = unsafe {
                    libc::accept4(
                        l.fd,
                        std::ptr::null_mut(),
                        std::ptr::null_mut(),
                        libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                    )
                };
                if fd < 0 {
                    break;
                }
                // SAFETY: `fd` was just returned by accept4 and is owned by nothing else.
                let stream = unsafe {
                    if l.unix {
                        AdoptedStream::Unix(std::os::unix::net::UnixStream::from_raw_fd(fd))
                    } else {
                        AdoptedStream::Tcp(std::net::TcpStream::from_raw_fd(fd))
                    }
                };
                self.adopt(s, stream, fd);
            }
        }
    }

    /// A client accepted while busy: registered now (so that it is answered BUSY), refused as the Listener
    /// and the Keyspace would refuse it (protected mode, maxclients).
    fn adopt(&mut self, s: &mut State, stream: AdoptedStream, fd: RawFd) {
        let (peer, local, remote_ok) = match &stream {
            AdoptedStream::Tcp(t) => {
                let _ = t.set_nodelay(true);
                if self.keepalive > 0 {
                    let ka = socket2::TcpKeepalive::new().with_time(Duration::from_secs(self.keepalive));
                    let _ = socket2::SockRef::from(t).set_tcp_keepalive(&ka);
                }
                let peer = t.peer_addr().ok();
                let loopback = peer.is_some_and(|a| a.ip().is_loopback());
                let local = t.local_addr().map(|a| a.to_string()).unwrap_or_default();
                (peer.map(|a| a.to_string()).unwrap_or_default(), local, loopback || !self.protected)
            }
            AdoptedStream::Unix(_) => ("/unixsocket:0".to_string(), String::new(), true),
        };
        if !remote_ok {
            send_all(fd, format!("-{}\r\n", super::listener::DENIED).as_bytes());
            return;
        }
        if self.links.len() as u64 >= s.config.maxclients {
            s.stats.rejected_connections += 1;
            send_all(fd, b"-ERR max number of clients reached\r\n");
            return;
        }
        let slot = s.add_client(peer.clone(), local.clone());
        let c = &mut s.clients[slot];
        c.unix_socket = matches!(stream, AdoptedStream::Unix(_));
        c.fd = 7 + slot as i64;
        let link = Link::new(fd);
        self.links.insert(slot, link.clone());
        self.adopted.push(Adopted { slot, stream, link, peer, local });
    }
}

/// Serve one client that has input (or room for its unsent replies).
fn serve_one(s: &mut State, slot: usize, link: &Link) {
    let mut g = link.lock();
    // Another thread's connection may have taken it back to read since the poll.
    if !g.servable() {
        return;
    }
    g.held = true;
    if !g.unsent.is_empty() {
        if !send_some(link.fd, &mut g.unsent) {
            g.eof = true;
        }
        if !g.unsent.is_empty() {
            // Not reading a client that does not read its replies keeps what it can cost bounded.
            return;
        }
    }
    let mut read = 0;
    while read < READ_PER_PASS {
        g.stolen.reserve(16 * 1024);
        let spare = g.stolen.spare_capacity_mut();
        // SAFETY: recv writes at most `spare.len()` bytes into the spare capacity, which `set_len` then covers.
        let n = unsafe { libc::recv(link.fd, spare.as_mut_ptr().cast(), spare.len(), libc::MSG_DONTWAIT) };
        if n > 0 {
            let len = g.stolen.len() + n as usize;
            // SAFETY: the first `len` bytes were initialized: the old ones and the `n` recv wrote.
            unsafe { g.stolen.set_len(len) };
            read += n as usize;
            continue;
        }
        if n == 0 {
            g.eof = true;
            break;
        }
        match std::io::Error::last_os_error().kind() {
            std::io::ErrorKind::Interrupted => continue,
            std::io::ErrorKind::WouldBlock => break,
            _ => {
                g.eof = true;
                break;
            }
        }
    }
    s.stats.net_input_bytes += read as u64;
    if g.stolen.is_empty() {
        return;
    }
    let mut batch = Batch { input: std::mem::take(&mut g.stolen), ..Default::default() };
    let parsed = parse_batch(&mut batch, s.knobs.proto_max_bulk_len.load(Ordering::Relaxed), usize::MAX);
    let mut out = Vec::new();
    if !batch.reqs.is_empty() {
        batch.consumed = parsed.consumed;
        exec_batch(s, slot, &mut batch);
        out = std::mem::take(&mut batch.out);
        if batch.close {
            g.close = true;
        } else if batch.done < batch.reqs.len() {
            // Nothing allowed while busy waits (blocks, pauses): should it ever, say so rather than hang.
            log::warn!("A request served while a script was busy did not complete; closing its client");
            g.close = true;
        }
    }
    if let Some(e) = parsed.error {
        out.extend_from_slice(format!("-{e}\r\n").as_bytes());
        g.close = true;
    }
    batch.input.advance(parsed.consumed);
    let pending = batch.input.len() as u64;
    if pending > s.knobs.client_query_buffer_limit.load(Ordering::Relaxed) {
        log::warn!("Closing client that reached max query buffer length (qbuf={pending})");
        g.close = true;
    }
    g.stolen = batch.input;
    if !out.is_empty() {
        g.unsent.extend_from_slice(&out);
        if !send_some(link.fd, &mut g.unsent) {
            g.eof = true;
        }
    }
}

/// Write as much of `buf` as the socket takes now, removing it from `buf`. False on a socket error.
fn send_some(fd: RawFd, buf: &mut Vec<u8>) -> bool {
    let mut sent = 0;
    let ok = loop {
        if sent == buf.len() {
            break true;
        }
        let rest = &buf[sent..];
        // SAFETY: send reads at most `rest.len()` bytes from `rest`; MSG_NOSIGNAL: no SIGPIPE on a closed peer.
        let n = unsafe { libc::send(fd, rest.as_ptr().cast(), rest.len(), libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL) };
        if n >= 0 {
            sent += n as usize;
            continue;
        }
        match std::io::Error::last_os_error().kind() {
            std::io::ErrorKind::Interrupted => continue,
            std::io::ErrorKind::WouldBlock => break true,
            _ => break false,
        }
    };
    if ok {
        buf.drain(..sent);
    } else {
        buf.clear();
    }
    ok
}

/// Best effort: a refusal to a client that is closed right after.
fn send_all(fd: RawFd, bytes: &[u8]) {
    let mut buf = bytes.to_vec();
    send_some(fd, &mut buf);
}

/// `State::waiting` as the Keyspace installs it.
pub struct Serve(pub SharedSockets);

impl Waiting for Serve {
    fn serve(&mut self, s: &mut State, script_client: usize) {
        if let Ok(mut sockets) = self.0.try_borrow_mut() {
            sockets.serve(s, script_client);
        }
    }

    fn release(&mut self, _: &mut State) {
        if let Ok(mut sockets) = self.0.try_borrow_mut() {
            sockets.release();
        }
    }
}
