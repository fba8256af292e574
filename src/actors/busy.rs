//! Serving sockets while a script holds the Keyspace (actors layer; the commands side is commands/busy.rs).
//!
//! A script runs inside the Keyspace's handler, so no actor on the Keyspace's thread runs until it ends:
//! with `io-threads 1` that is every connection and the listener. Redis's answer is processEventsWhileBlocked,
//! called from the script's hook; ours, done without re-entering the runtime, is this module. Each socket
//! connection shares a [`Link`] with the Keyspace: its raw fd and a small side state under a mutex. Past
//! busy-reply-threshold the script's hook calls [`Sockets::serve`], which
//! - accepts new clients on the listening sockets (they become connections once the script ends),
//! - runs the batches connections left on their link for the Keyspace (`batch`: a connection hands its
//!   batch over there and sends `Exec` without it, so that one queued behind the script is reachable),
//!   with `exec_batch`: BUSY for all but the allow-busy commands; the `Exec` finds it answered (`served`),
//! - polls the links whose connection waits for input with nothing of its own buffered (`idle`), reads
//!   what they sent (`recv`, non-blocking) into `stolen` and runs the complete requests the same way,
//! - writes the replies (`send`, non-blocking; what the socket does not take waits in `unsent`),
//! - never serves the script's own client or a replica, and marks each link it touched `held`: its
//!   connection leaves the socket alone until [`Sockets::release`], at the script's end, hands it back with
//!   the partial request left in `stolen` and the replies left in `unsent`, which the connection takes
//!   before anything else, so that nothing is lost or reordered.
//!
//! A connection registers through its link too ([`Joining`], admitted from the [`Lobby`] by the `Join`
//! message or by the hook, whichever comes first), so that one whose `Join` is queued behind the script is
//! answered as well.
//!
//! The connection reads only under the link's lock, and never while the link is held; the Keyspace touches a
//! socket only under the lock, with the link idle or its batch handed over, and not closed. So the same holds
//! with `io-threads N`, where connections run on other threads meanwhile.

use super::connection::Handles;
use crate::commands::busy::Waiting;
use crate::commands::{exec_batch, parse_batch, Batch, State};
use crate::scripting::ldb;
use bytes::{Buf, BytesMut};
use std::cell::RefCell;
use std::os::fd::{FromRawFd, RawFd};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// Bytes read from one client per pass, so that one client cannot keep the script from its work.
const READ_PER_PASS: usize = 64 * 1024;
/// The poll event of a peer that closed its side, without reading what it sent (Linux's POLLRDHUP;
/// elsewhere only a full hang-up shows).
#[cfg(target_os = "linux")]
const PEER_CLOSED: libc::c_short = libc::POLLRDHUP;
#[cfg(not(target_os = "linux"))]
const PEER_CLOSED: libc::c_short = 0;

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
    /// The batch the connection handed over with its `Exec` (taken by the Keyspace, or served by the hook).
    pub batch: Option<Batch>,
    /// `batch` was answered from a busy script's hook: the `Exec` only hands it back.
    pub served: bool,
    /// A protocol error follows `batch`'s requests: the connection reports it, so the rest of its input
    /// is not served here.
    pub batch_error: bool,
    /// The connection's registration, until the Keyspace admits it.
    pub joining: Option<Joining>,
    /// The admission: the client's slot, or the refusal to send before closing (maxclients).
    pub joined: Option<Result<usize, String>>,
}

/// What a connection registers with.
pub struct Joining {
    pub addr: String,
    pub laddr: String,
    pub unix: bool,
    pub handles: Handles,
}

/// What the Listener and the connections share with the Keyspace's busy hook.
#[derive(Default)]
pub struct Lobby {
    /// The listening sockets; the Listener empties the list before it closes them.
    pub listening: Mutex<Vec<Listening>>,
    /// Connections waiting to be admitted (their `Joining` is on their link).
    pub joining: Mutex<Vec<Arc<Link>>>,
    /// TCP keepalive seconds for accepted clients (0: off).
    pub keepalive: u64,
}

impl Lobby {
    /// Queue a connection for admission.
    pub fn join(&self, link: &Arc<Link>, joining: Joining) {
        link.lock().joining = Some(joining);
        self.joining.lock().unwrap_or_else(|e| e.into_inner()).push(link.clone());
    }
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
            batch: None,
            served: false,
            batch_error: false,
            joining: None,
            joined: None,
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

/// A listening socket the hook accepts on.
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
    pub links: Links,
    pub lobby: Arc<Lobby>,
    /// Clients accepted while busy, waiting for their connection actor.
    pub adopted: Vec<Adopted>,
    /// Connections admitted whose handles the Keyspace has not taken yet.
    pub admitted: Vec<(usize, Handles)>,
}

/// The links by client slot (a vector: the Keyspace looks one up for every batch).
#[derive(Default)]
pub struct Links {
    by_slot: Vec<Option<Arc<Link>>>,
    count: usize,
}

impl Links {
    pub fn insert(&mut self, slot: usize, link: Arc<Link>) {
        if slot >= self.by_slot.len() {
            self.by_slot.resize(slot + 1, None);
        }
        if self.by_slot[slot].replace(link).is_none() {
            self.count += 1;
        }
    }

    pub fn remove(&mut self, slot: usize) {
        if self.by_slot.get_mut(slot).and_then(Option::take).is_some() {
            self.count -= 1;
        }
    }

    #[inline]
    pub fn get(&self, slot: usize) -> Option<&Arc<Link>> {
        self.by_slot.get(slot).and_then(Option::as_ref)
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn iter(&self) -> impl Iterator<Item = (usize, &Arc<Link>)> {
        self.by_slot.iter().enumerate().filter_map(|(slot, l)| l.as_ref().map(|l| (slot, l)))
    }
}

/// The Keyspace holds one handle and `State::waiting` another (the script's hook reaches it there).
pub type SharedSockets = Rc<RefCell<Sockets>>;

impl Sockets {
    pub fn new(lobby: Arc<Lobby>) -> SharedSockets {
        Rc::new(RefCell::new(Sockets { links: Links::default(), lobby, adopted: Vec::new(), admitted: Vec::new() }))
    }

    /// Admit every connection waiting in the lobby: a client record each (or the refusal), the outcome left
    /// on its link. Their handles wait in `admitted` for the Keyspace.
    pub fn admit(&mut self, s: &mut State) {
        let waiting = std::mem::take(&mut *self.lobby.joining.lock().unwrap_or_else(|e| e.into_inner()));
        for link in waiting {
            let mut g = link.lock();
            let Some(j) = g.joining.take() else { continue };
            if g.closed {
                continue;
            }
            if self.links.len() as u64 >= s.config.maxclients {
                s.stats.rejected_connections += 1;
                g.joined = Some(Err("ERR max number of clients reached".into()));
                continue;
            }
            let slot = s.add_client(j.addr, j.laddr);
            let c = &mut s.clients[slot];
            c.unix_socket = j.unix;
            c.fd = 7 + slot as i64;
            g.joined = Some(Ok(slot));
            drop(g);
            self.links.insert(slot, link);
            self.admitted.push((slot, j.handles));
        }
    }

    /// One pass from a busy script's hook: accept, answer the batches handed over, then serve every idle
    /// client that sent something.
    pub fn serve(&mut self, s: &mut State, script_client: usize) {
        self.admit(s);
        self.accept(s);
        let mut fds: Vec<libc::pollfd> = Vec::new();
        // Who each pollfd is: a client to serve, or (None) a replica. Replicas are not served, but one that
        // hangs up is seen at once, as Redis frees a replica's client while a script is busy: INFO's
        // connected_slaves and the min-replicas count follow.
        let mut who: Vec<(usize, Option<Arc<Link>>)> = Vec::new();
        let mut handed: Vec<(usize, Arc<Link>)> = Vec::new();
        for (slot, link) in self.links.iter() {
            let Some(c) = s.clients.get(slot) else { continue };
            if slot == script_client {
                continue;
            }
            let g = link.lock();
            if g.closed {
                continue;
            }
            if c.replica {
                fds.push(libc::pollfd { fd: link.fd, events: PEER_CLOSED, revents: 0 });
                who.push((slot, None));
            } else if g.batch.is_some() && !g.served {
                handed.push((slot, link.clone()));
            } else if g.servable() {
                let events = if g.unsent.is_empty() { libc::POLLIN } else { libc::POLLIN | libc::POLLOUT };
                fds.push(libc::pollfd { fd: link.fd, events, revents: 0 });
                who.push((slot, Some(link.clone())));
            }
        }
        for (slot, link) in handed {
            serve_one(s, slot, &link, true);
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
            match link {
                Some(link) if p.revents != 0 => serve_one(s, slot, &link, false),
                None if p.revents & (PEER_CLOSED | libc::POLLHUP | libc::POLLERR) != 0 => {
                    crate::commands::replication::replica_hung_up(s, slot);
                }
                _ => {}
            }
        }
    }

    /// The script ended: every held socket goes back to its connection.
    pub fn release(&mut self) {
        for (_, link) in self.links.iter() {
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
        let listening: Vec<Listening> = self.lobby.listening.lock().unwrap_or_else(|e| e.into_inner()).clone();
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
                if self.lobby.keepalive > 0 {
                    let ka = socket2::TcpKeepalive::new().with_time(Duration::from_secs(self.lobby.keepalive));
                    let _ = socket2::SockRef::from(t).set_tcp_keepalive(&ka);
                }
                let peer = t.peer_addr().ok();
                let loopback = peer.is_some_and(|a| a.ip().is_loopback());
                let local = t.local_addr().map(|a| a.to_string()).unwrap_or_default();
                (
                    peer.map(|a| a.to_string()).unwrap_or_default(),
                    local,
                    loopback || !s.knobs.protected.load(std::sync::atomic::Ordering::Relaxed),
                )
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

/// Serve one client: the batch it handed over (`handed`), or the input it has (or room for its unsent
/// replies).
fn serve_one(s: &mut State, slot: usize, link: &Link, handed: bool) {
    let mut g = link.lock();
    // Its connection may have ended (on another thread) since the pass looked.
    if g.closed {
        return;
    }
    if handed {
        let Some(mut batch) = g.batch.take() else { return };
        g.held = true;
        exec_batch(s, slot, &mut batch);
        let out = std::mem::take(&mut batch.out);
        if batch.done < batch.reqs.len() && !batch.close {
            // Nothing allowed while busy waits (blocks, pauses): should it ever, say so rather than hang.
            log::warn!("A request served while a script was busy did not complete; closing its client");
            batch.done = batch.reqs.len();
            batch.close = true;
        }
        // What follows the batch's requests is served from here on, as if read here: the connection gets
        // it back in `stolen` (empty: the connection hands a batch over only with nothing left there).
        let tail = batch.input.split_off(batch.consumed);
        if batch.close || g.batch_error {
            g.close = true;
        } else {
            g.stolen = tail;
        }
        g.batch = Some(batch);
        g.served = true;
        g.idle = true;
        g.unsent.extend_from_slice(&out);
        if !send_some(link.fd, &mut g.unsent) {
            g.eof = true;
        }
        if !g.stolen.is_empty() {
            run_stolen(s, slot, link, &mut g);
        }
        return;
    }
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
    if !g.stolen.is_empty() {
        run_stolen(s, slot, link, &mut g);
    }
}

/// Run the complete requests in `stolen` and write their replies; a partial one stays there.
fn run_stolen(s: &mut State, slot: usize, link: &Link, g: &mut Side) {
    let unauthenticated = s.clients.get(slot).is_some_and(|c| !c.authenticated) && s.acl.auth_required();
    let mut batch = Batch { input: std::mem::take(&mut g.stolen), unauthenticated, ..Default::default() };
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

    fn debug_io(&mut self, client: usize, stop: Arc<AtomicBool>) -> Option<Box<dyn ldb::Io>> {
        let sockets = self.0.try_borrow().ok()?;
        let link = sockets.links.get(client)?;
        if link.lock().closed {
            return None;
        }
        Some(Box::new(DebugSocket { link: link.clone(), stop }))
    }
}

/// The socket of a client debugging its EVAL (SCRIPT DEBUG SYNC), used from the Keyspace's thread while
/// the script runs. Its connection waits for the batch meanwhile and does not touch it.
struct DebugSocket {
    link: Arc<Link>,
    /// The server is stopping: reads end as if the client had left, so the script can finish.
    stop: Arc<AtomicBool>,
}

/// How long a debugger's write may wait for the client (Redis's connSendTimeout of 5 s).
const DEBUG_SEND_TIMEOUT_MS: u64 = 5000;

impl DebugSocket {
    /// Wait up to `ms` for `events` on the socket; false on an error or when the wait ran out.
    fn wait(&self, events: libc::c_short, ms: i32) -> bool {
        let mut pfd = libc::pollfd { fd: self.link.fd, events, revents: 0 };
        // SAFETY: one valid pollfd.
        let r = unsafe { libc::poll(&mut pfd, 1, ms) };
        r > 0
    }
}

impl ldb::Io for DebugSocket {
    fn read(&mut self, buf: &mut [u8]) -> Option<usize> {
        loop {
            if self.stop.load(Ordering::Relaxed) || self.link.lock().closed {
                return None;
            }
            // Woken every 100 ms to see whether the server is stopping.
            if !self.wait(libc::POLLIN, 100) {
                continue;
            }
            // SAFETY: recv writes at most `buf.len()` bytes into `buf`.
            let n = unsafe { libc::recv(self.link.fd, buf.as_mut_ptr().cast(), buf.len(), libc::MSG_DONTWAIT) };
            if n >= 0 {
                return (n > 0).then_some(n as usize);
            }
            match std::io::Error::last_os_error().kind() {
                std::io::ErrorKind::Interrupted | std::io::ErrorKind::WouldBlock => {}
                _ => return None,
            }
        }
    }

    fn write(&mut self, bytes: &[u8]) {
        // A closed connection's fd may already be another client's.
        if self.link.lock().closed {
            return;
        }
        let deadline = std::time::Instant::now() + Duration::from_millis(DEBUG_SEND_TIMEOUT_MS);
        let mut buf = bytes.to_vec();
        while !buf.is_empty() {
            if !send_some(self.link.fd, &mut buf) {
                return;
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now()).as_millis() as i32;
            if !buf.is_empty() && (left == 0 || !self.wait(libc::POLLOUT, left)) {
                return;
            }
        }
    }
}
