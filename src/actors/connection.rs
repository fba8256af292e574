//! Connection actor: one per client socket. Reads, decodes every complete request in the buffer, sends
//! ONE `Exec` per read to the Keyspace, and writes the batch's replies with one write. Lives on the
//! Keyspace's arbiter (io-threads 1) or on an I/O arbiter (io-threads N). It shares a `Link` with the
//! Keyspace (busy.rs), through which a busy script's hook serves the client while the actor cannot run.

use super::busy::{CloseOnDrop, Joining, Link, Lobby};
use super::keyspace::{Exec, ExecReply, Join, Keyspace, MemGrew, Unregister};
use crate::commands::client_mem::{ConnMem, NO_RESIZE};
use crate::commands::{parse_batch, Batch, Knobs, BATCH_BYTES, OBUF_NORMAL, OBUF_REPLICA};
use crate::resp::decode::Outside;
use actix::prelude::*;
use bytes::{Bytes, BytesMut};
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::io::IoSlice;
use std::os::fd::{AsRawFd, RawFd};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::task::yield_now;

/// Read buffer growth step.
const READ_CHUNK: usize = 16 * 1024;
/// Reply buffers larger than this are released once empty instead of kept for the next request: a client
/// that once got a big reply should not hold that memory while idle. A read buffer is kept between
/// requests and trimmed by the Keyspace's clients cron as Redis trims its query buffers (client_mem.rs
/// `resize_query_buffer`); after a big argument it keeps this much.
const KEEP_BUF: usize = 64 * 1024;
/// How much a client's input is read ahead while its batch's replies wait for the AOF writer (or SAVE): a
/// few batches' worth, so the next batch is ready when the replies go, and the rest waits in the socket.
const DEFERRED_READ_AHEAD: usize = 4 * READ_CHUNK;

/// Read buffers of the connections of this thread. A client waiting for its next request holds its read
/// buffer until it has been idle over 2 seconds (Redis's clients cron releases an idle query buffer then);
/// a client that needs one again takes a warm one instead of calling the allocator. (Its reply buffer is
/// its own, sized by the clients cron as Redis's: 1 KB once idle.)
mod spare {
    use super::{BytesMut, READ_CHUNK};
    use std::cell::RefCell;

    /// Buffers kept per thread: enough for the clients that are active at once, a bounded amount of memory.
    const KEEP: usize = 32;

    thread_local! {
        static INPUT: RefCell<Vec<BytesMut>> = const { RefCell::new(Vec::new()) };
    }

    /// Give up an empty read buffer.
    pub fn put_input(buf: &mut BytesMut) {
        let mut b = std::mem::take(buf);
        b.clear();
        // Takes back the room `advance` left at the front (no copy: the buffer is empty).
        b.reserve(READ_CHUNK);
        // Only read-sized ones: a buffer grown by a big request would give the next new client a query
        // buffer of that size (CLIENT LIST qbuf-free=65432 where Redis starts at one read's 16 KB).
        if b.capacity() < 2 * READ_CHUNK {
            INPUT.with_borrow_mut(|v| {
                if v.len() < KEEP {
                    // Free memory while pooled: not in used_memory (alloc.rs).
                    crate::alloc::pool_put(b.capacity());
                    v.push(b);
                }
            });
        }
    }

    /// A read buffer with room for a read.
    pub fn input() -> BytesMut {
        match INPUT.with_borrow_mut(Vec::pop) {
            Some(b) => {
                crate::alloc::pool_take(b.capacity());
                b
            }
            None => BytesMut::with_capacity(READ_CHUNK),
        }
    }
}

/// Disconnect now (CLIENT KILL, timeout, shutdown).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Kick;

/// Bytes to write to the client outside any reply: a piece of the replication stream, or the pub/sub
/// messages one Keyspace batch delivered to this subscriber (frames shared with the other subscribers).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Push {
    pub frames: Vec<Bytes>,
    /// The client's client-output-buffer-limit class (`OBUF_REPLICA`, `OBUF_PUBSUB`, ...).
    pub class: usize,
    /// The sender already added the frames to the connection's pending count (`Handles::pushed`): a sender
    /// that paces itself by that count (a disk sync's file) must see what is still in the mailbox.
    pub counted: bool,
    /// The frames are blocks shared with others (the replication backlog's): queued as they are, never
    /// copied into the tail, however small.
    pub shared: bool,
}

/// A pushed frame waiting for the serving future, and whether it is shared (`Push::shared`).
type Queued = (Bytes, bool);

/// A client socket of either family.
pub enum Stream {
    Tcp(tokio::net::TcpStream),
    Unix(tokio::net::UnixStream),
}

impl Stream {
    fn fd(&self) -> RawFd {
        match self {
            Stream::Tcp(s) => s.as_raw_fd(),
            Stream::Unix(s) => s.as_raw_fd(),
        }
    }
}

/// What `serve` needs of a socket beyond reading and writing: waiting for input without reading it, so that
/// it reads only under its link's lock (a busy Keyspace may be serving the same socket).
pub trait Socket: AsyncRead + AsyncWrite + Unpin {
    /// Resolves when the socket may have input.
    fn readable(&self) -> impl Future<Output = std::io::Result<()>>;
    /// Read what is there without waiting, `limit` bytes at most (WouldBlock when nothing is).
    fn try_read_buf(&self, buf: &mut BytesMut, limit: usize) -> std::io::Result<usize>;
    /// Resolves when the socket may take output.
    fn writable(&self) -> impl Future<Output = std::io::Result<()>>;
    /// Write what the socket takes now (WouldBlock when it takes nothing).
    fn try_write(&self, buf: &[u8]) -> std::io::Result<usize>;
    /// Vectored `try_write`.
    fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> std::io::Result<usize>;
}

/// A read that took less than the room it was offered emptied the socket's receive queue, and a write that
/// took less than it was given filled the send buffer: answered as WouldBlock inside `try_io`, which makes
/// tokio clear the socket's readiness in that direction (`settled` hands the count back). The next wait then
/// parks at once, where it would first cost a recv or send answering EAGAIN: tokio's try_read_buf and
/// try_write keep the readiness after a short call (its poll_read and poll_write clear it, for the same
/// reason). One recv per request instead of about two at one request per round trip. Sound because epoll and
/// kqueue, mio's selectors on unix, are edge-triggered: bytes or room that come after the call raise a new
/// event, and `try_io` clears only the readiness it saw before the call.
fn short(n: usize, room: usize) -> std::io::Result<usize> {
    if n > 0 && n < room {
        Err(std::io::ErrorKind::WouldBlock.into())
    } else {
        Ok(n)
    }
}

/// The result of a `try_io` call whose closure answered `short`: the bytes moved after all.
fn settled(r: std::io::Result<usize>, moved: usize) -> std::io::Result<usize> {
    match r {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock && moved > 0 => Ok(moved),
        r => r,
    }
}

/// `Socket` for tokio's TCP and Unix streams, which have the same inherent methods but no trait in common.
macro_rules! socket_impl {
    ($t:ty) => {
        impl Socket for $t {
            fn readable(&self) -> impl Future<Output = std::io::Result<()>> {
                <$t>::readable(self)
            }
            fn try_read_buf(&self, buf: &mut BytesMut, limit: usize) -> std::io::Result<usize> {
                let room = limit.min(buf.capacity() - buf.len());
                let mut got = 0;
                let r = self.try_io(tokio::io::Interest::READABLE, || {
                    got = <$t>::try_read_buf(self, &mut bytes::BufMut::limit(&mut *buf, limit))?;
                    short(got, room)
                });
                settled(r, got)
            }
            fn writable(&self) -> impl Future<Output = std::io::Result<()>> {
                <$t>::writable(self)
            }
            fn try_write(&self, buf: &[u8]) -> std::io::Result<usize> {
                let mut put = 0;
                let r = self.try_io(tokio::io::Interest::WRITABLE, || {
                    put = <$t>::try_write(self, buf)?;
                    short(put, buf.len())
                });
                settled(r, put)
            }
            fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> std::io::Result<usize> {
                let room = bufs.iter().map(|b| b.len()).sum();
                let mut put = 0;
                let r = self.try_io(tokio::io::Interest::WRITABLE, || {
                    put = <$t>::try_write_vectored(self, bufs)?;
                    short(put, room)
                });
                settled(r, put)
            }
        }
    };
}

socket_impl!(tokio::net::TcpStream);
socket_impl!(tokio::net::UnixStream);

pub struct Connection {
    stream: Option<Stream>,
    keyspace: Addr<Keyspace>,
    knobs: Arc<Knobs>,
    peer: String,
    local: String,
    /// Set once the Keyspace has registered us, so that `stopped` can unregister.
    slot: Rc<Cell<Option<usize>>>,
    /// A reply to send instead of serving (protected mode).
    refuse: Option<String>,
    /// Pushed bytes go through here to the serving future, which owns the socket. Their count not written yet
    /// is the output buffer that client-output-buffer-limit bounds for a stream the client does not read.
    pushed: Rc<Pushed>,
    /// Since when the pushed bytes have been over the soft limit.
    over_soft_since: Option<Instant>,
    /// Shared with the Keyspace once registered (busy.rs).
    link: Arc<Link>,
    /// Where the connection registers (busy.rs).
    lobby: Arc<Lobby>,
    /// Registered already (a client the Keyspace accepted while a script was busy).
    adopted: bool,
    /// Its registration waits in the lobby.
    in_lobby: bool,
}

impl Connection {
    pub fn new(
        stream: Stream,
        keyspace: Addr<Keyspace>,
        knobs: Arc<Knobs>,
        lobby: Arc<Lobby>,
        peer: String,
        local: String,
    ) -> Self {
        let link = Link::new(stream.fd());
        let pushed = Rc::new(Pushed::counted_in(knobs.inbox_bytes.clone()));
        Connection {
            stream: Some(stream),
            keyspace,
            knobs,
            peer,
            local,
            slot: Rc::new(Cell::new(None)),
            refuse: None,
            pushed,
            over_soft_since: None,
            link,
            lobby,
            adopted: false,
            in_lobby: false,
        }
    }

    /// Queue the registration in the lobby now, while the actor is being created: then a script that takes
    /// the Keyspace before this connection first runs does not leave it unregistered (busy.rs).
    pub fn enter_lobby(&mut self, ctx: &mut Context<Self>) {
        if self.in_lobby || self.adopted || self.refuse.is_some() {
            return;
        }
        let Some(stream) = &self.stream else { return };
        let unix = matches!(stream, Stream::Unix(_));
        let handles = self.handles(ctx);
        let joining = Joining { addr: self.peer.clone(), laddr: self.local.clone(), unix, handles };
        self.lobby.join(&self.link, joining);
        self.in_lobby = true;
    }

    /// The connection of a client the Keyspace accepted and registered while a script was busy: it starts
    /// with what the Keyspace left on its link.
    pub fn adopted(
        stream: Stream,
        keyspace: Addr<Keyspace>,
        knobs: Arc<Knobs>,
        lobby: Arc<Lobby>,
        slot: usize,
        link: Arc<Link>,
        (peer, local): (String, String),
    ) -> Self {
        let mut c = Connection::new(stream, keyspace, knobs, lobby, peer, local);
        c.link = link;
        c.slot.set(Some(slot));
        c.adopted = true;
        c
    }

    /// Its count of output bytes not written yet (the Keyspace shows it in CLIENT LIST omem).
    pub fn pushed(&self) -> Arc<AtomicUsize> {
        self.pushed.queued.clone()
    }

    /// What its buffers hold, for the Keyspace (client_mem.rs).
    pub fn mem(&self) -> Arc<ConnMem> {
        self.pushed.mem.clone()
    }

    /// Its inbox of pushed frames, for the Keyspace.
    pub fn inbox(&self) -> Arc<Inbox> {
        self.pushed.inbox.clone()
    }

    /// How the Keyspace reaches this connection.
    pub fn handles(&self, ctx: &mut Context<Self>) -> Handles {
        let (pushed, mem, inbox) = (self.pushed(), self.mem(), self.inbox());
        Handles { kick: ctx.address().recipient(), push: ctx.address().recipient(), pushed, mem, inbox }
    }

    /// Serve only to send `reply` and close.
    pub fn refusing(mut self, reply: String) -> Self {
        self.refuse = Some(reply);
        self
    }
}

impl Actor for Connection {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        // Normally done as the actor was created (see the Listener); a connection started otherwise joins here.
        self.enter_lobby(ctx);
        let Some(stream) = self.stream.take() else {
            ctx.stop();
            return;
        };
        let ks = self.keyspace.clone();
        let knobs = self.knobs.clone();
        let (peer, local) = (self.peer.clone(), self.local.clone());
        let push = self.pushed.clone();
        let slot = self.slot.clone();
        let refuse = self.refuse.take();
        let link = self.link.clone();
        let adopted = self.adopted;
        let fut = async move {
            let how = Serve { ks, knobs, peer, local, slot, refuse, link, adopted };
            match stream {
                Stream::Tcp(s) => serve(s, how, push).await,
                Stream::Unix(s) => serve(s, how, push).await,
            }
        };
        ctx.spawn(fut.into_actor(self).map(|_, _, ctx| ctx.stop()));
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        // Admitted by a busy script's hook, but gone before it heard: the Keyspace has a record all the same.
        let admitted = || match self.link.lock().joined.take() {
            Some(Ok(slot)) => Some(slot),
            _ => None,
        };
        if let Some(slot) = self.slot.get().or_else(admitted) {
            self.keyspace.do_send(Unregister { slot });
        }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        // However the actor ends, even before it ran, the Keyspace must not use the socket's fd any more.
        let mut g = self.link.lock();
        g.closed = true;
        g.idle = false;
    }
}

impl Handler<Kick> for Connection {
    type Result = ();

    fn handle(&mut self, _: Kick, ctx: &mut Self::Context) {
        ctx.stop();
    }
}

impl Handler<Push> for Connection {
    type Result = ();

    /// Queue the frames for the socket, closing the client when they pass its class's output buffer limit.
    fn handle(&mut self, msg: Push, ctx: &mut Self::Context) {
        let len: usize = msg.frames.iter().map(|f| f.len()).sum();
        let queued = if msg.counted {
            self.pushed.queued.load(Ordering::Relaxed)
        } else {
            self.pushed.queued.fetch_add(len, Ordering::Relaxed) + len
        };
        let limit = self.knobs.obuf_limit(msg.class);
        let was_over_soft = self.over_soft_since.is_some();
        if limit.passed(queued, &mut self.over_soft_since) {
            obuf_closed(&self.knobs, &self.peer, &self.local, queued);
            ctx.stop();
            return;
        }
        if !was_over_soft && self.over_soft_since.is_some() {
            // Over the soft limit now: look again when its seconds are up, even if nothing more is pushed (a
            // subscriber that stopped reading on a channel that went quiet is closed all the same, as Redis's
            // clientsCron checks it).
            if let Some((_, secs)) = limit.soft() {
                let class = msg.class;
                ctx.run_later(Duration::from_secs(secs) + Duration::from_millis(10), move |act, ctx| {
                    act.recheck_soft_limit(class, ctx)
                });
            }
        }
        if msg.class == OBUF_REPLICA {
            self.pushed.coalesce.set(true);
        }
        let shared = msg.shared;
        self.pushed.queue.borrow_mut().extend(msg.frames.into_iter().map(|f| (f, shared)));
        self.pushed.inbox.wake.notify_one();
    }
}

impl Connection {
    /// The soft-limit timer of a push: close the client if what it has not read is still over the soft limit
    /// (and has been for its seconds); otherwise arm again while it stays over.
    fn recheck_soft_limit(&mut self, class: usize, ctx: &mut Context<Self>) {
        let queued = self.pushed.queued.load(Ordering::Relaxed);
        let limit = self.knobs.obuf_limit(class);
        if limit.passed(queued, &mut self.over_soft_since) {
            obuf_closed(&self.knobs, &self.peer, &self.local, queued);
            ctx.stop();
            return;
        }
        if let (Some(since), Some((_, secs))) = (self.over_soft_since, limit.soft()) {
            let left = Duration::from_secs(secs).saturating_sub(since.elapsed()) + Duration::from_millis(10);
            ctx.run_later(left, move |act, ctx| act.recheck_soft_limit(class, ctx));
        }
    }
}

/// Output on its way to the socket: pushed bytes the actor queues (`Push`) for the serving future, on the
/// same thread, and the backlog: pushes and replies the socket did not take yet, written as it drains while
/// the client's next requests are read and run (Redis's reply list). One small record per connection (a
/// channel allocates a kilobyte block up front).
#[derive(Default)]
struct Pushed {
    queue: RefCell<Vec<Queued>>,
    /// Output not written yet, in order.
    backlog: RefCell<VecDeque<Bytes>>,
    /// A replica's stream frames that came while output was already waiting, copied one after another:
    /// written after the backlog. A replica that stops reading then holds its stream in 16 KB chunks, as
    /// Redis's replication buffer does, not a block, a shared header and a slot per batch (which cost twice
    /// the bytes for one-command batches, memory that neither omem nor maxmemory's accounting saw).
    tail: RefCell<BytesMut>,
    /// Copy small frames into the tail: a replica's stream only. Pub/sub messages and invalidations are
    /// one block shared by every receiver; per-receiver copies multiplied them when many lagged (a
    /// tracking client's invalidations then fed eviction back in the suite's feedback-loop test).
    coalesce: std::cell::Cell<bool>,
    /// Pub/sub messages and invalidations, appended by the Keyspace directly (`Handles::deliver`), with the
    /// Notify that wakes the serving future: no actor message per delivery, and a subscriber that waits for
    /// its write turn while more batches publish just gathers them.
    inbox: Arc<Inbox>,
    /// Bytes queued and in the backlog (shared with the Keyspace, which shows it in CLIENT LIST omem).
    queued: Arc<AtomicUsize>,
    /// What the connection's buffers hold, for the Keyspace (client_mem.rs).
    mem: Arc<ConnMem>,
}

/// Frames written with one vectored write at most (Linux's IOV_MAX is 1024).
const MAX_IOV: usize = 512;

/// A replica's frames up to this size that must wait behind other output are copied into the tail's
/// chunks (unless shared); bigger ones (a disk sync's file chunks) wait as they are.
const COALESCE_MAX: usize = 64 * 1024;

/// The tail's chunk size.
const TAIL_CHUNK: usize = 16 * 1024;

/// Pushed frames up to this many bytes in all are joined into one write (`send_joined`).
const JOIN_MAX: usize = 64 * 1024;

impl Inbox {
    /// Append delivered frames of `len` bytes in all, counted in the server's total; whether the inbox was
    /// empty.
    fn append(&self, frames: Vec<Bytes>, len: usize) -> bool {
        let mut inbox = self.frames.lock().unwrap_or_else(|e| e.into_inner());
        // Under the lock: a take in between subtracts only what it finds.
        self.total.fetch_add(len, Ordering::Relaxed);
        let was_empty = inbox.is_empty();
        if was_empty && inbox.capacity() == 0 {
            *inbox = frames;
        } else {
            inbox.extend(frames);
        }
        was_empty
    }

    fn is_empty(&self) -> bool {
        self.frames.lock().unwrap_or_else(|e| e.into_inner()).is_empty()
    }
}

impl Pushed {
    /// A connection's record, its inbox counted in the server's `total` (`Knobs::inbox_bytes`).
    fn counted_in(total: Arc<AtomicUsize>) -> Pushed {
        Pushed {
            inbox: Arc::new(Inbox { frames: Default::default(), wake: Default::default(), total }),
            ..Default::default()
        }
    }

    /// What the actor queued and the Keyspace delivered, in that order (a connection gets one kind or the
    /// other: replicas their stream through `Push`, every other client its deliveries through the inbox).
    fn take_ready(&self) -> Vec<Queued> {
        let mut ready = std::mem::take(&mut *self.queue.borrow_mut());
        let delivered = std::mem::take(&mut *self.inbox.frames.lock().unwrap_or_else(|e| e.into_inner()));
        self.inbox.total.fetch_sub(delivered.iter().map(|f| f.len()).sum(), Ordering::Relaxed);
        ready.extend(delivered.into_iter().map(|f| (f, false)));
        ready
    }

    /// `n` bytes of output were written.
    fn written(&self, n: usize) {
        self.queued.fetch_sub(n.min(self.queued.load(Ordering::Relaxed)), Ordering::Relaxed);
    }

    /// Nothing waits for the socket.
    fn drained(&self) -> bool {
        self.backlog.borrow().is_empty() && self.tail.borrow().is_empty()
    }

    /// Move the tail's bytes to the end of the backlog (before a frame that must follow them). The chunk
    /// goes whole: a connection keeps no chunk once its output is written.
    fn seal_tail(backlog: &mut VecDeque<Bytes>, tail: &mut BytesMut) {
        if !tail.is_empty() {
            backlog.push_back(std::mem::take(tail).freeze());
        }
    }

    /// Send pushed `frames` (counted in `queued` already): behind the backlog, written now as far as the
    /// socket takes them without waiting. False: the connection is over.
    fn send<S: Socket>(&self, stream: &S, frames: Vec<Queued>) -> bool {
        if frames.len() > 1
            && !self.coalesce.get()
            && self.drained()
            && frames.iter().map(|(f, _)| f.len()).sum::<usize>() <= JOIN_MAX
        {
            return self.send_joined(stream, frames);
        }
        {
            let mut backlog = self.backlog.borrow_mut();
            let mut tail = self.tail.borrow_mut();
            // Only what comes while the socket is already behind is copied: a push to a client that keeps up
            // goes out as it is, its frames in one vectored write.
            let behind = self.coalesce.get() && !(backlog.is_empty() && tail.is_empty());
            for (f, shared) in frames {
                if f.is_empty() {
                    continue;
                }
                if behind && !shared && f.len() <= COALESCE_MAX {
                    // Filled chunk by chunk, a frame split across two if need be: every chunk but the last
                    // is exactly TAIL_CHUNK, a size class of its own (a block per frame is rounded up to
                    // its class, 10-20% more than the bytes).
                    let mut rest: &[u8] = &f;
                    while !rest.is_empty() {
                        let room = tail.capacity() - tail.len();
                        if room == 0 {
                            Self::seal_tail(&mut backlog, &mut tail);
                            tail.reserve(TAIL_CHUNK);
                            continue;
                        }
                        let n = room.min(rest.len());
                        tail.extend_from_slice(&rest[..n]);
                        rest = &rest[n..];
                    }
                } else {
                    Self::seal_tail(&mut backlog, &mut tail);
                    backlog.push_back(f);
                }
            }
        }
        self.drain(stream)
    }

    /// Send a batch's replies: written at once when nothing waits and the socket takes them all (the common
    /// case: `out` is kept for the next batch), otherwise moved to the backlog. False: the connection is over.
    fn send_reply<S: Socket>(&self, stream: &S, out: &mut Vec<u8>) -> bool {
        let mut pos = 0;
        if self.drained() {
            loop {
                match stream.try_write(&out[pos..]) {
                    Ok(0) => return false,
                    Ok(n) => {
                        pos += n;
                        if pos == out.len() {
                            out.clear();
                            return true;
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(_) => return false,
                }
            }
        }
        // The backlog holds exactly the bytes still to write, so that what it counts (omem, client eviction)
        // is what it costs: the buffer itself, trimmed to its length when it has much room to spare (a
        // reply that outgrew the buffer leaves up to half of it unused; trimming a large block is done in
        // place, where a copy would hold the replies twice while the Keyspace goes on), else a copy of what
        // a partial write left (and `out` stays warm for the next batch).
        let rest = if pos == 0 {
            if out.capacity() - out.len() > out.len() / 8 {
                out.shrink_to_fit();
            }
            Bytes::from(std::mem::take(out))
        } else {
            let rest = Bytes::copy_from_slice(&out[pos..]);
            out.clear();
            rest
        };
        self.queued.fetch_add(rest.len(), Ordering::Relaxed);
        {
            let mut backlog = self.backlog.borrow_mut();
            Self::seal_tail(&mut backlog, &mut self.tail.borrow_mut());
            backlog.push_back(rest);
        }
        self.drain(stream)
    }

    /// Several small frames (JOIN_MAX bytes at most) to a client with nothing waiting: copied into one buffer
    /// and written at once, as Redis copies each message into the client's reply buffer. One contiguous
    /// write costs the kernel less than an iovec per 100-byte message; what the socket does not take waits
    /// in the backlog. Bigger pushes go out vectored, their frames still shared with the other receivers.
    fn send_joined<S: Socket>(&self, stream: &S, frames: Vec<Queued>) -> bool {
        thread_local! {
            static JOIN: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
        }
        JOIN.with(|j| {
            let mut j = j.borrow_mut();
            j.clear();
            for (f, _) in &frames {
                j.extend_from_slice(f);
            }
            drop(frames);
            let n = match stream.try_write(&j) {
                Ok(0) => return false,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => 0,
                Err(_) => return false,
            };
            self.written(n);
            if n < j.len() {
                self.backlog.borrow_mut().push_back(Bytes::copy_from_slice(&j[n..]));
                self.mem.oll.store(1, Ordering::Relaxed);
            }
            if j.capacity() > KEEP_BUF {
                *j = Vec::new();
            }
            true
        })
    }

    /// Write what the socket takes of the backlog now, vectored. False: the connection is over.
    fn drain<S: Socket>(&self, stream: &S) -> bool {
        let mut backlog = self.backlog.borrow_mut();
        let mut tail = self.tail.borrow_mut();
        loop {
            if backlog.is_empty() {
                // Everything before the tail is out: its bytes go next.
                if tail.is_empty() {
                    break;
                }
                Self::seal_tail(&mut backlog, &mut tail);
            }
            let r = if backlog.len() == 1 {
                stream.try_write(&backlog[0])
            } else {
                let slices: Vec<IoSlice<'_>> = backlog.iter().take(MAX_IOV).map(|f| IoSlice::new(f)).collect();
                stream.try_write_vectored(&slices)
            };
            let mut n = match r {
                Ok(0) => return false,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(_) => return false,
            };
            self.written(n);
            while n > 0 {
                let Some(front) = backlog.front_mut() else { break };
                if n >= front.len() {
                    n -= front.len();
                    backlog.pop_front();
                } else {
                    bytes::Buf::advance(front, n);
                    n = 0;
                }
            }
        }
        self.mem.oll.store(backlog.len() + usize::from(!tail.is_empty()), Ordering::Relaxed);
        true
    }

    /// Write the whole backlog, waiting for the socket as long as it takes (before closing, or before a
    /// reply that must follow it). False: the connection is over.
    async fn flush<S: AsyncWrite + Unpin>(&self, stream: &mut S) -> bool {
        let frames: Vec<Bytes> = {
            let mut backlog = self.backlog.borrow_mut();
            Self::seal_tail(&mut backlog, &mut self.tail.borrow_mut());
            backlog.drain(..).collect()
        };
        if frames.is_empty() {
            return true;
        }
        let ok = write_frames(stream, &frames).await.is_ok();
        self.written(frames.iter().map(|f| f.len()).sum());
        self.mem.oll.store(0, Ordering::Relaxed);
        ok
    }
}

/// Notes the query buffer for the Keyspace, and tells it when the buffers grew enough to measure the client
/// again under `maxmemory-clients` (client_mem.rs).
struct Meter<'a> {
    push: &'a Pushed,
    ks: &'a Addr<Keyspace>,
    knobs: &'a Knobs,
    slot: usize,
}

impl Meter<'_> {
    /// The query buffer holds `qbuf` request bytes in `qmem` bytes of buffers.
    fn note(&self, qbuf: usize, qmem: usize) {
        let out = self.push.queued.load(Ordering::Relaxed);
        if self.push.mem.note_input(qbuf, qmem, out, self.knobs.client_evict.load(Ordering::Relaxed)) {
            // Told once per growth step: the Keyspace's measure moves `told` up.
            self.push.mem.told.store(qmem + out, Ordering::Relaxed);
            self.ks.do_send(MemGrew { slot: self.slot });
        }
    }
}

/// Write every frame, in order, with vectored writes of up to MAX_IOV frames.
async fn write_frames<S: AsyncWrite + Unpin>(stream: &mut S, frames: &[Bytes]) -> std::io::Result<()> {
    if let [one] = frames {
        return stream.write_all(one).await;
    }
    // The first frame not fully written, and how much of it is.
    let (mut i, mut off) = (0, 0);
    let mut slices: Vec<IoSlice<'_>> = Vec::with_capacity(frames.len().min(MAX_IOV));
    while i < frames.len() {
        slices.clear();
        slices.push(IoSlice::new(&frames[i][off..]));
        slices.extend(frames[i + 1..].iter().take(MAX_IOV - 1).map(|f| IoSlice::new(f)));
        let mut n = stream.write_vectored(&slices).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        while n > 0 && i < frames.len() {
            let rest = frames[i].len() - off;
            if n >= rest {
                n -= rest;
                i += 1;
                off = 0;
            } else {
                off += n;
                n = 0;
            }
        }
        // Skip empty frames so that the next write starts on bytes.
        while i < frames.len() && frames[i].len() == off {
            i += 1;
            off = 0;
        }
    }
    Ok(())
}

/// Log and count a client closed for its output buffer limit (the Keyspace does the same for batch replies).
pub(crate) fn obuf_closed(knobs: &Knobs, peer: &str, local: &str, pending: usize) {
    log::warn!(
        "Client addr={peer} laddr={local} omem={pending} scheduled to be closed ASAP for overcoming of output buffer limits."
    );
    knobs.obuf_disconnections.fetch_add(1, Ordering::Relaxed);
}

/// Write a batch's replies. Under a normal-class soft limit with a time, a client that leaves more than the soft
/// limit unread for that long is closed (the hard limit was checked while the replies were produced).
async fn write_replies<S: AsyncWrite + Unpin>(
    stream: &mut S,
    buf: &[u8],
    knobs: &Knobs,
    peer: &str,
    local: &str,
) -> bool {
    let soft = knobs.obuf_limits[OBUF_NORMAL].soft();
    let Some((soft, secs)) = soft.filter(|&(soft, _)| buf.len() as u64 >= soft) else {
        return stream.write_all(buf).await.is_ok();
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    let mut pos = 0;
    while pos < buf.len() {
        if ((buf.len() - pos) as u64) < soft {
            return stream.write_all(&buf[pos..]).await.is_ok();
        }
        match tokio::time::timeout_at(deadline, stream.write(&buf[pos..])).await {
            Ok(Ok(n)) if n > 0 => pos += n,
            Ok(_) => return false,
            Err(_) => {
                obuf_closed(knobs, peer, local, buf.len() - pos);
                return false;
            }
        }
    }
    true
}

/// How the Keyspace reaches a connection actor.
pub struct Handles {
    pub kick: Recipient<Kick>,
    pub push: Recipient<Push>,
    /// Bytes pushed and not written yet (for CLIENT LIST omem).
    pub pushed: Arc<AtomicUsize>,
    /// What its buffers hold (client_mem.rs).
    pub mem: Arc<ConnMem>,
    /// Where pub/sub frames go (`deliver`).
    pub inbox: Arc<Inbox>,
}

/// Frames the Keyspace delivered to a connection and its serving future has not taken yet, and what wakes
/// that future when output is queued (by the Keyspace or by the actor's `Push`).
#[derive(Default)]
pub struct Inbox {
    frames: std::sync::Mutex<Vec<Bytes>>,
    wake: tokio::sync::Notify,
    /// The server's count of bytes in every inbox (`Knobs::inbox_bytes`).
    total: Arc<AtomicUsize>,
}

impl Drop for Inbox {
    /// Frames a closed connection never took no longer wait to be written.
    fn drop(&mut self) {
        let frames = self.frames.get_mut().unwrap_or_else(|e| e.into_inner());
        self.total.fetch_sub(frames.iter().map(|f| f.len()).sum(), Ordering::Relaxed);
    }
}

impl Handles {
    /// Deliver pub/sub frames (messages, invalidations, MONITOR lines) of client-output-buffer-limit
    /// `class`: appended to the inbox and counted at once. The serving future is woken when the inbox was
    /// empty (frames that find it waiting for its writer just join them); the actor hears of it only when
    /// the count is past the class's lowest limit (a `Push` without frames, which checks the limit).
    /// Returns the bytes delivered.
    pub fn deliver(&self, frames: Vec<Bytes>, class: usize, knobs: &Knobs) -> usize {
        let len: usize = frames.iter().map(|f| f.len()).sum();
        let queued = self.pushed.fetch_add(len, Ordering::Relaxed) + len;
        if self.inbox.append(frames, len) {
            self.inbox.wake.notify_one();
        }
        if queued as u64 >= knobs.obuf_limit(class).lowest() {
            self.push.do_send(Push { frames: Vec::new(), class, counted: true, shared: false });
        }
        len
    }
}

/// What `serve` is given besides its socket.
struct Serve {
    ks: Addr<Keyspace>,
    knobs: Arc<Knobs>,
    peer: String,
    local: String,
    slot: Rc<Cell<Option<usize>>>,
    refuse: Option<String>,
    link: Arc<Link>,
    adopted: bool,
}

async fn serve<S: Socket>(mut stream: S, how: Serve, push: Rc<Pushed>) {
    let Serve { ks, knobs, peer, local, slot: slot_cell, refuse, link, adopted } = how;
    if let Some(reply) = refuse {
        let _ = stream.write_all(format!("-{reply}\r\n").as_bytes()).await;
        return;
    }
    // Dropped before `stream` (locals go before parameters), and however `serve` ends from here on (a
    // registration the Keyspace made whose answer we never saw included): the Keyspace stops using the fd.
    let _closing = CloseOnDrop(link.clone());
    let slot = match slot_cell.get() {
        // Registered by the Keyspace already, which has our handles from when it started us.
        Some(slot) if adopted => slot,
        _ => {
            // Our registration is in the lobby (`enter_lobby`); a busy script's hook admits it if this
            // Join waits behind the script.
            // Boxed: once per connection, which would otherwise size every connection's future.
            match Box::pin(ks.send(Join { link: link.clone() })).await {
                Ok(Ok(slot)) => slot,
                Ok(Err(reply)) => {
                    let _ = stream.write_all(format!("-{reply}\r\n").as_bytes()).await;
                    return;
                }
                Err(_) => return,
            }
        }
    };
    slot_cell.set(Some(slot));
    let meter = Meter { push: &push, ks: &ks, knobs: &knobs, slot };
    // Pushes that arrived while a busy Keyspace held the socket: written once it is back.
    let mut pushes = VecDeque::new();
    let unauthenticated = knobs.auth_required.load(Ordering::Relaxed);
    let mut batch = Batch { unauthenticated, ..Default::default() };
    // Bytes that arrived while a batch was away (blocked or paused): appended once it is back.
    let mut extra = bytes::BytesMut::new();
    let mut must_read = true;
    // Requests of the current batch remain (a blocked or paused request cut it short).
    let mut resubmit = false;
    let mut pending_error = None;
    // How much one read may take: READ_CHUNK, as Redis reads PROTO_IOBUF_LEN per client per event-loop turn,
    // or the rest of a pending request that needs more. Reading all the room the buffer has would let a
    // client that streams a pipeline faster than the Keyspace runs it grow the buffer without bound (each
    // `reserve` doubles it, each read fills it), memory maxmemory cannot evict.
    let mut read_limit = READ_CHUNK;
    let qlimit = || knobs.client_query_buffer_limit.load(Ordering::Relaxed);
    loop {
        if !resubmit {
            if must_read {
                let idle = batch.input.is_empty();
                if idle {
                    // The read buffer is kept while the client waits, as Redis keeps its query buffer: the
                    // Keyspace's clients cron asks for it back (resize_query_buffer) once the client has been
                    // idle over 2 seconds, or trimmed when it is much larger than the client's reads need.
                    // The room `advance` left at its front comes back without a copy (it is empty).
                    if batch.input.capacity() > 0 {
                        let _ = batch.input.try_reclaim(READ_CHUNK);
                    }
                    push.mem.note_input(0, batch.input.capacity(), 0, false);
                } else if batch.input.capacity() - batch.input.len() < READ_CHUNK / 4 {
                    batch.input.reserve(READ_CHUNK);
                }
                let bufs = Buffers { input: &mut batch.input, out: &mut batch.out, limit: read_limit };
                match read_input(&mut stream, &link, bufs, &push, &mut pushes, idle).await {
                    Some(n) => batch.read_bytes += n,
                    None => return,
                }
                read_limit = READ_CHUNK;
                let (qbuf, qmem) = held(&batch);
                meter.note(qbuf, qmem);
            } else {
                // More requests are already buffered (the last batch hit BATCH_BYTES). yield_now defers this
                // task until the runtime has polled the sockets, so a client that streams a big pipeline takes
                // one batch per event-loop turn, as Redis takes one read per client per turn. Without it the
                // LocalSet runs 61 tasks (about 20 batches, several ms) between socket polls and a PING waits.
                yield_now().await;
            }
            let parsed = parse_batch(&mut batch, knobs.proto_max_bulk_len.load(Ordering::Relaxed), BATCH_BYTES);
            must_read = !parsed.more;
            let pending = batch.input.len() - parsed.consumed;
            if pending as u64 > qlimit() {
                log::warn!("Closing client that reached max query buffer length (qbuf={pending})");
                return;
            }
            if batch.reqs.is_empty() && parsed.error.is_none() {
                let mut need = parsed.need;
                match parsed.big {
                    // A big argument: into a buffer of its own, which SET can keep without a copy.
                    Some(big) if batch.outside.is_empty() => {
                        // Boxed: a rare path, which would otherwise size every connection's future.
                        let read = read_outside(&mut stream, &link, &mut batch, big, &meter, &mut pushes, qlimit());
                        if !Box::pin(read).await {
                            return;
                        }
                        must_read = false;
                        continue;
                    }
                    // A request has one such buffer; a second big argument is read as the others are.
                    Some(big) => need = big.at + big.len + 2,
                    None => {}
                }
                // Nothing complete yet: make room for the whole pending request in one go.
                if need > batch.input.len() {
                    read_limit = read_limit.max(need - batch.input.len());
                    batch.input.reserve(need - batch.input.len());
                }
                must_read = true;
                continue;
            }
            batch.consumed = parsed.consumed;
            pending_error = parsed.error;
        }
        if batch.done < batch.reqs.len() {
            // The batch waits on the link, where a busy script's hook can answer it if the script holds the
            // Keyspace before this Exec is handled (busy.rs); the Keyspace takes it from there.
            if batch.out.capacity() == 0 {
                // The reply buffer went to the backlog (or was too big to keep): a new one of its size.
                batch.out = Vec::with_capacity(push.mem.rbs.load(Ordering::Relaxed));
            }
            // The Keyspace counts the batch's requests while it runs them.
            push.mem.note_input(0, batch.input.capacity() + batch.outside.len(), 0, false);
            // Input buffered beyond this batch counts toward a deferred wait's read-ahead.
            let ahead = DEFERRED_READ_AHEAD.saturating_sub(batch.input.len() - batch.consumed + extra.len());
            {
                let mut g = link.lock();
                g.batch = Some(batch);
                g.batch_error = pending_error.is_some();
            }
            batch = match ks.send(Exec { slot, batch: None }).await {
                Ok(ExecReply::Done(b)) => b,
                Ok(ExecReply::Later(rx)) => {
                    // Boxed: waiting is the rarer path, which would otherwise size every connection's future.
                    match Box::pin(wait_parked(&mut stream, rx, &mut extra, &push, Wait::Parked(qlimit()))).await {
                        Some(b) => b,
                        None => return,
                    }
                }
                Ok(ExecReply::Deferred(rx)) => {
                    match Box::pin(wait_parked(&mut stream, rx, &mut extra, &push, Wait::Deferred(ahead))).await {
                        Some(b) => b,
                        None => return,
                    }
                }
                Err(_) => return,
            };
        }
        if !batch.out.is_empty() {
            // Redis's buf_peak: how much of its reply buffer the replies filled (the rest would be in its
            // reply list).
            let filled = batch.out.len().min(push.mem.rbs.load(Ordering::Relaxed));
            push.mem.rbp.fetch_max(filled, Ordering::Relaxed);
            if knobs.obuf_limits[OBUF_NORMAL].soft().is_some() && push.drained() {
                // A normal-class soft limit is timed while the replies are written (write_replies): the
                // client's next requests wait meanwhile, and the replies count as its output until written.
                let len = batch.out.len();
                push.queued.fetch_add(len, Ordering::Relaxed);
                let ok = write_replies(&mut stream, &batch.out, &knobs, &peer, &local).await;
                push.written(len);
                if !ok {
                    return;
                }
                batch.out.clear();
            } else if !push.send_reply(&stream, &mut batch.out) {
                // What the socket does not take now waits in the backlog while the next requests run, as
                // Redis's reply list (the output limits and maxmemory-clients bound it).
                return;
            }
            if batch.out.capacity() > KEEP_BUF {
                batch.out = Vec::new();
            }
        }
        if batch.close {
            push.flush(&mut stream).await;
            let _ = stream.shutdown().await;
            return;
        }
        if batch.done < batch.reqs.len() {
            resubmit = true;
            continue;
        }
        resubmit = false;
        if let Some(e) = pending_error.take() {
            push.flush(&mut stream).await;
            let _ = stream.write_all(&e.reply()).await;
            let _ = stream.shutdown().await;
            return;
        }
        bytes::Buf::advance(&mut batch.input, batch.consumed);
        if !extra.is_empty() {
            batch.input.extend_from_slice(&extra);
            extra.clear();
            must_read = false;
        }
        batch.clear();
        push.mem.note_input(batch.input.len(), batch.input.capacity(), 0, false);
    }
}

/// The request bytes `batch` holds and the bytes allocated for them: a big argument's buffer included, with
/// the bytes after its header (as Redis, which trims a query buffer to the big argument it is reading).
fn held(batch: &Batch) -> (usize, usize) {
    if batch.outside.is_empty() {
        return (batch.input.len(), batch.input.capacity());
    }
    let after_header = batch.input.len() - batch.outside_at.min(batch.input.len());
    (after_header + batch.outside.len(), batch.input.capacity() + batch.outside.len())
}

/// The buffers `read_input` reads into and may resize while the client waits.
struct Buffers<'a> {
    /// Where the bytes go.
    input: &'a mut BytesMut,
    /// How many bytes one read may take.
    limit: usize,
    /// The client's reply buffer (empty while it waits), resized when the clients cron asks.
    out: &'a mut Vec<u8>,
}

/// Wait for the client's next bytes and append them to `input`; returns the bytes read from the socket here
/// (None: the connection is over). A busy Keyspace may own the socket meanwhile (busy.rs): then wait until
/// it hands it back, and take first the replies it could not send and the partial request it read.
/// Pushes are written while waiting, unless the socket is held.
/// `servable`: no part of a request is buffered (in `input` or elsewhere), so a busy Keyspace may serve the
/// client (it parses from the start of a request), and the clients cron's resizing of its buffers applies.
async fn read_input<S: Socket>(
    stream: &mut S,
    link: &Link,
    bufs: Buffers<'_>,
    push: &Pushed,
    pushes: &mut VecDeque<Vec<Queued>>,
    servable: bool,
) -> Option<u64> {
    let Buffers { input: buf, out, limit } = bufs;
    loop {
        enum Next {
            Wake,
            Read,
            Back { unsent: Vec<u8>, close: bool, eof: bool },
        }
        let next = {
            let mut g = link.lock();
            if g.held {
                Next::Wake
            } else if g.has_leftover() || !pushes.is_empty() {
                g.idle = false;
                if !g.stolen.is_empty() {
                    // `buf` is empty: the Keyspace only reads a client with nothing buffered here.
                    buf.extend_from_slice(&g.stolen);
                    g.stolen.clear();
                }
                Next::Back { unsent: std::mem::take(&mut g.unsent), close: g.close, eof: g.eof }
            } else {
                // Output waiting in the backlog must go out before anything a busy Keyspace would write.
                g.idle = servable && push.drained();
                Next::Read
            }
        };
        match next {
            Next::Wake => link.wake.notified().await,
            Next::Back { unsent, close, eof } => {
                if !unsent.is_empty() && stream.write_all(&unsent).await.is_err() {
                    return None;
                }
                while let Some(p) = pushes.pop_front() {
                    if !push.send(stream, p) {
                        return None;
                    }
                }
                if close {
                    push.flush(stream).await;
                    let _ = stream.shutdown().await;
                    return None;
                }
                if eof {
                    return None;
                }
                if !buf.is_empty() {
                    return Some(0);
                }
            }
            Next::Read => {
                tokio::select! {
                    r = stream.readable() => {
                        if r.is_err() {
                            return None;
                        }
                        let mut g = link.lock();
                        // Decide again if the Keyspace took the socket over since we chose to read.
                        if g.held || g.has_leftover() {
                            continue;
                        }
                        if buf.capacity() == 0 {
                            *buf = spare::input();
                        }
                        // Redis's querybuf_peak: what the buffer holds plus a read's room.
                        push.mem.qpeak.fetch_max(buf.len() + READ_CHUNK, Ordering::Relaxed);
                        match stream.try_read_buf(buf, limit) {
                            Ok(0) => return None,
                            Ok(n) => {
                                g.idle = false;
                                return Some(n as u64);
                            }
                            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                            Err(_) => return None,
                        }
                    }
                    () = push.inbox.wake.notified() => {
                        if push.queue.borrow().is_empty() && push.inbox.is_empty() {
                            continue;
                        }
                        // A replica's stream goes out at once (its pushes are the stream's own batches);
                        // everything else waits for its write turn (flush.rs).
                        if !push.coalesce.get() {
                            super::flush::turn().await;
                        }
                        let ready = push.take_ready();
                        {
                            let mut g = link.lock();
                            if g.held {
                                pushes.push_back(ready);
                                continue;
                            }
                            g.idle = false;
                        }
                        if !push.send(stream, ready) {
                            return None;
                        }
                    }
                    r = stream.writable(), if !push.drained() => {
                        if r.is_err() || !push.drain(stream) {
                            return None;
                        }
                    }
                    // The clients cron asks for the idle read buffer back, or for a smaller one, or for a
                    // reply buffer of another size.
                    () = push.mem.resize_wake.notified(), if servable => {
                        let want = push.mem.resize.swap(NO_RESIZE, Ordering::Relaxed);
                        if want != NO_RESIZE && buf.is_empty() && want < buf.capacity() {
                            if want == 0 {
                                spare::put_input(buf);
                            } else {
                                *buf = BytesMut::with_capacity(want);
                            }
                            push.mem.note_input(0, buf.capacity(), 0, false);
                        }
                        let want = push.mem.out_resize.swap(NO_RESIZE, Ordering::Relaxed);
                        if want != NO_RESIZE && out.is_empty() && want != out.capacity() {
                            *out = Vec::with_capacity(want);
                        }
                    }
                }
            }
        }
    }
}

/// What a batch away from its connection waits for (ExecReply).
enum Wait {
    /// Blocked or paused, with the query buffer's limit: the client's input is read all along (so that a
    /// client who leaves is forgotten at once), and a client past the limit is closed.
    Parked(u64),
    /// Its replies wait for another actor's work: input is read this many bytes further, no more (the
    /// client's input buffered already counts toward DEFERRED_READ_AHEAD).
    Deferred(usize),
}

/// Wait for a batch away from its connection to come back, draining earlier replies and keeping what the
/// client sends in `extra` meanwhile. None: the connection is over.
async fn wait_parked<S: Socket>(
    stream: &mut S,
    mut rx: tokio::sync::oneshot::Receiver<Batch>,
    extra: &mut BytesMut,
    push: &Pushed,
    wait: Wait,
) -> Option<Batch> {
    let cap = match wait {
        Wait::Parked(_) => usize::MAX,
        Wait::Deferred(ahead) => extra.len() + ahead,
    };
    loop {
        tokio::select! {
            r = &mut rx => return r.ok(),
            r = stream.readable(), if extra.len() < cap => {
                if r.is_err() {
                    return None;
                }
                if extra.capacity() - extra.len() < READ_CHUNK / 4 {
                    extra.reserve(READ_CHUNK);
                }
                match stream.try_read_buf(extra, READ_CHUNK.min(cap - extra.len())) {
                    Ok(0) => return None,
                    Ok(_) if matches!(wait, Wait::Parked(limit) if extra.len() as u64 > limit) => return None,
                    Ok(_) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(_) => return None,
                }
            }
            // Earlier replies keep draining while the request waits.
            r = stream.writable(), if !push.drained() => {
                if r.is_err() || !push.drain(stream) {
                    return None;
                }
            }
        }
    }
}

/// Read the payload of the big bulk `big` into a buffer of exactly its size, which becomes `batch.outside`:
/// the input keeps the request's other bytes (the CRLF after the payload included), and a command that keeps
/// the argument takes the buffer as it is (Redis's PROTO_MBULK_BIG_ARG path). False: the connection is over.
async fn read_outside<S: Socket>(
    stream: &mut S,
    link: &Link,
    batch: &mut Batch,
    big: Outside,
    meter: &Meter<'_>,
    pushes: &mut VecDeque<Vec<Queued>>,
    qlimit: u64,
) -> bool {
    let push = meter.push;
    let mut buf = BytesMut::with_capacity(big.len);
    // What already arrived of the payload (the parser asks only while the payload and its CRLF are not all
    // there), and at most one byte of the CRLF after it, which stays in the input.
    let have = batch.input.len().saturating_sub(big.at).min(big.len);
    buf.extend_from_slice(&batch.input[big.at..big.at + have]);
    let tail = batch.input.len() - (big.at + have);
    batch.input.copy_within(big.at + have.., big.at);
    batch.input.truncate(big.at + tail);
    // After the argument the input keeps more room than a plain read buffer, as Redis sizes the query buffer
    // that replaces the one it hands to the command for another argument as big; the clients cron trims it
    // once the next requests are small. Up to KEEP_BUF only, where Redis takes the argument's size: a big
    // write must not leave a second copy's worth of buffer behind (tests/memory.rs). A client sending big
    // values in a row keeps that one buffer (it is not replaced below).
    let room = (big.len + 2).min(KEEP_BUF);
    if batch.input.capacity() < room && batch.input.capacity() != READ_CHUNK {
        // The input keeps a few bytes while the payload streams in: a plain-size buffer is enough, and makes
        // what the client is seen to hold (client_mem.rs) the same for the same request.
        let mut fresh = BytesMut::with_capacity(READ_CHUNK);
        fresh.extend_from_slice(&batch.input);
        spare::put_input(&mut batch.input);
        batch.input = fresh;
    }
    // Counted as query buffer from its header on, as Redis counts the buffer it sizes for a big argument.
    let note = |buf: &BytesMut, input: &BytesMut| {
        meter.note(buf.len() + input.len() - big.at.min(input.len()), buf.capacity() + input.capacity())
    };
    note(&buf, &batch.input);
    while buf.len() < big.len {
        // `buf` has exactly the room still missing, so a read never takes bytes that follow the payload.
        let bufs = Buffers { input: &mut buf, out: &mut Vec::new(), limit: usize::MAX };
        match read_input(stream, link, bufs, push, pushes, false).await {
            Some(n) => batch.read_bytes += n,
            None => return false,
        }
        note(&buf, &batch.input);
        let pending = buf.len() + batch.input.len();
        if pending as u64 > qlimit {
            log::warn!("Closing client that reached max query buffer length (qbuf={pending})");
            return false;
        }
    }
    batch.outside = buf.freeze();
    batch.outside_at = big.at;
    if batch.input.capacity() < room {
        batch.input.reserve(room - batch.input.len());
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// A read buffer that grew for a big request is not handed to the next client: pooled buffers are
    /// one read's size.
    #[test]
    fn the_spare_pool_hands_out_read_sized_buffers_only() {
        let mut big = BytesMut::with_capacity(60 * 1024);
        spare::put_input(&mut big);
        let mut small = spare::input();
        assert!(small.capacity() < 2 * READ_CHUNK, "a pooled buffer of {} bytes", small.capacity());
        spare::put_input(&mut small);
        let again = spare::input();
        assert!(again.capacity() >= READ_CHUNK && again.capacity() < 2 * READ_CHUNK);
    }

    /// The server's count of bytes waiting in inboxes follows deliveries, takes, and a connection that goes
    /// with frames it never took.
    #[test]
    fn inbox_bytes_count_what_waits_to_be_taken() {
        let knobs = Knobs::default();
        let push = Pushed::counted_in(knobs.inbox_bytes.clone());
        assert!(push.inbox.append(vec![Bytes::from_static(b"abc"), Bytes::from_static(b"de")], 5));
        assert!(!push.inbox.append(vec![Bytes::from_static(b"f")], 1), "not empty any more");
        assert_eq!(knobs.inbox_bytes.load(Ordering::Relaxed), 6);
        assert_eq!(push.take_ready().len(), 3);
        assert_eq!(knobs.inbox_bytes.load(Ordering::Relaxed), 0);
        push.inbox.append(vec![Bytes::from_static(b"fgh")], 3);
        drop(push);
        assert_eq!(knobs.inbox_bytes.load(Ordering::Relaxed), 0, "a closed connection's frames are not waiting");
    }

    /// Run `f` to its end on a fresh current-thread runtime (sockets and timers enabled).
    fn on_runtime(f: impl Future<Output = ()>) {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f);
    }

    /// Does a readiness wait resolve on its first poll?
    fn ready_at_once(wait: impl Future<Output = std::io::Result<()>>) -> bool {
        let mut wait = std::pin::pin!(wait);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        matches!(wait.as_mut().poll(&mut cx), std::task::Poll::Ready(Ok(())))
    }

    /// A read that empties the socket leaves it not ready, so the next wait parks without a recv that
    /// answers EAGAIN; a read that fills its room keeps it ready (more may be there), and new bytes make a
    /// drained socket ready again.
    #[test]
    fn a_short_read_clears_the_readiness() {
        use std::io::Write;
        on_runtime(async {
            let (ours, mut theirs) = socket_pair();
            let ready_now = |s: &tokio::net::UnixStream| ready_at_once(Socket::readable(s));
            theirs.write_all(b"0123456789").unwrap();
            Socket::readable(&ours).await.unwrap();
            let mut buf = BytesMut::with_capacity(64);
            // Room for 4 of the 10 bytes: a full read, so the socket stays ready.
            assert_eq!(Socket::try_read_buf(&ours, &mut buf, 4).unwrap(), 4);
            assert!(ready_now(&ours), "a read that filled its room must not clear the readiness");
            // The other 6 with room for 16: short, so the socket is drained and no longer ready.
            assert_eq!(Socket::try_read_buf(&ours, &mut buf, 16).unwrap(), 6);
            assert_eq!(&buf[..], b"0123456789");
            assert!(!ready_now(&ours), "a short read must clear the readiness");
            theirs.write_all(b"ab").unwrap();
            Socket::readable(&ours).await.unwrap();
            assert_eq!(Socket::try_read_buf(&ours, &mut buf, 16).unwrap(), 2);
            assert!(
                matches!(Socket::try_read_buf(&ours, &mut buf, 16), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
            );
        });
    }

    /// A write the socket took only part of leaves it not writable until the peer makes room.
    #[test]
    fn a_short_write_clears_the_readiness() {
        on_runtime(async {
            let (ours, mut theirs) = socket_pair();
            let writable_now = |s: &tokio::net::UnixStream| ready_at_once(Socket::writable(s));
            Socket::writable(&ours).await.unwrap();
            assert_eq!(Socket::try_write(&ours, b"small").unwrap(), 5);
            assert!(writable_now(&ours), "a whole write must not clear the readiness");
            let big = vec![b'x'; 16 << 20];
            let n = Socket::try_write_vectored(&ours, &[IoSlice::new(&big)]).unwrap();
            assert!(n > 0 && n < big.len(), "the socket took {n} bytes");
            assert!(!writable_now(&ours), "a short write must clear the readiness");
            assert!(matches!(Socket::try_write(&ours, b"more"), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock));
            // The peer reads everything: room again.
            let mut sink = vec![0u8; 1 << 20];
            let mut left = 5 + n;
            while left > 0 {
                left -= theirs.read(&mut sink).unwrap();
            }
            Socket::writable(&ours).await.unwrap();
            assert_eq!(Socket::try_write(&ours, b"more").unwrap(), 4);
        });
    }

    /// A replica connection's output (in a runtime): our end of a socket pair, the peer's end (nothing reads
    /// it unless the test does), and the pushed-output record, coalescing as a replica stream's does.
    fn replica_output() -> (tokio::net::UnixStream, std::os::unix::net::UnixStream, Pushed) {
        let (ours, theirs) = socket_pair();
        let push = Pushed::default();
        push.coalesce.set(true);
        (ours, theirs, push)
    }

    /// A connected pair (in a runtime): our end, registered with tokio, and the peer's plain blocking end.
    fn socket_pair() -> (tokio::net::UnixStream, std::os::unix::net::UnixStream) {
        let (ours, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
        ours.set_nonblocking(true).unwrap();
        (tokio::net::UnixStream::from_std(ours).unwrap(), theirs)
    }

    /// A subscriber's small frames go out joined, and frames too big to join are held as they are (still
    /// shared), all in order.
    #[test]
    fn small_pushed_frames_are_joined_and_big_ones_stay_shared() {
        on_runtime(async {
            let (ours, mut theirs, push) = replica_output();
            push.coalesce.set(false); // a subscriber's connection
            let msg = |i: usize| {
                Bytes::from(format!("*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n${}\r\n{i}\r\n", i.to_string().len()))
            };
            let mut want = Vec::new();
            ours.writable().await.unwrap();
            // Many small frames on a socket that takes them all: written at once, nothing held.
            let small: Vec<Bytes> = (0..100).map(msg).collect();
            small.iter().for_each(|f| want.extend_from_slice(f));
            assert!(push.send(&ours, small.iter().map(|f| (f.clone(), false)).collect()));
            assert!(push.drained());
            let many: Vec<Bytes> = (0..JOIN_MAX / 40).map(msg).collect();
            let total: usize = many.iter().map(|f| f.len()).sum();
            assert!(total <= JOIN_MAX);
            let fill = Bytes::from(vec![b'F'; 1 << 20]);
            assert!(push.send(&ours, vec![(fill.clone(), false)]));
            want.extend_from_slice(&fill);
            assert!(!push.drained());
            // Behind output that waits: not joined, each frame held as it is.
            assert!(push.send(&ours, many.iter().map(|f| (f.clone(), false)).collect()));
            many.iter().for_each(|f| want.extend_from_slice(f));
            // Big frames: never joined, even with nothing waiting (they stay the receivers' shared copy).
            let big: Vec<Bytes> = (0..3).map(|i| Bytes::from(vec![b'a' + i; JOIN_MAX])).collect();
            big.iter().for_each(|f| want.extend_from_slice(f));
            let reader = std::thread::spawn(move || {
                let mut got = vec![0u8; want.len()];
                theirs.read_exact(&mut got).unwrap();
                assert!(got == want, "output out of order or altered");
            });
            while !push.drained() {
                ours.writable().await.unwrap();
                assert!(push.drain(&ours));
            }
            assert!(push.send(&ours, big.iter().map(|f| (f.clone(), false)).collect()));
            {
                let backlog = push.backlog.borrow();
                for f in backlog.iter().filter(|f| f.len() == JOIN_MAX) {
                    assert!(big.iter().any(|b| b.as_ptr() == f.as_ptr()), "a big frame was copied");
                }
            }
            while !push.drained() {
                ours.writable().await.unwrap();
                assert!(push.drain(&ours));
            }
            reader.join().unwrap();
            // On a full socket with nothing waiting, big frames are held as they are, not as a joined copy.
            let (full, _peer, push) = replica_output();
            push.coalesce.set(false);
            full.writable().await.unwrap();
            let hog = vec![b'H'; 1 << 20];
            while full.try_write(&hog).is_ok() {}
            assert!(push.drained());
            assert!(push.send(&full, big.iter().map(|f| (f.clone(), false)).collect()));
            let backlog = push.backlog.borrow();
            assert_eq!(backlog.len(), big.len());
            assert!(backlog.iter().zip(&big).all(|(f, b)| f.as_ptr() == b.as_ptr()), "a big frame was copied");
        });
    }

    /// Shared frames (the replication backlog's blocks) that wait behind a blocked socket are held as they
    /// are, not copied into the tail.
    #[test]
    fn shared_frames_behind_a_blocked_socket_are_not_copied() {
        on_runtime(async {
            let (ours, _theirs, push) = replica_output();
            // Fill the socket so that what follows waits.
            assert!(push.send(&ours, vec![(Bytes::from(vec![b'B'; 1 << 20]), false)]));
            assert!(!push.drained());
            let blocks: Vec<Bytes> = (0..4).map(|i| Bytes::from(vec![b'0' + i; 16 * 1024])).collect();
            assert!(push.send(&ours, blocks.iter().map(|b| (b.clone(), true)).collect()));
            assert!(push.send(&ours, vec![(Bytes::from_static(b"+small\r\n"), false)]));
            let backlog = push.backlog.borrow();
            for b in &blocks {
                assert!(backlog.iter().any(|f| f.as_ptr() == b.as_ptr()), "a shared block was copied");
            }
            assert!(push.tail.borrow().len() == 8, "the small unshared frame is copied into the tail");
        });
    }

    /// Small frames that wait behind a blocked socket are copied into a few chunks (not a slot each), and
    /// everything comes out in order once the peer reads.
    #[test]
    fn small_frames_behind_a_blocked_socket_are_coalesced_and_keep_their_order() {
        on_runtime(async {
            let (ours, theirs, push) = replica_output();
            let mut want = Vec::new();
            // A big frame first (not copied), then many small ones, then another big one among them.
            let mut frames = vec![Bytes::from(vec![b'B'; 300_000])];
            for i in 0..20_000u32 {
                frames.push(Bytes::from(format!("*1\r\n${}\r\n{i}\r\n", i.to_string().len())));
                if i == 10_000 {
                    frames.push(Bytes::from(vec![b'C'; 5_000]));
                }
            }
            for f in &frames {
                want.extend_from_slice(f);
            }
            for chunk in frames.chunks(7) {
                assert!(push.send(&ours, chunk.iter().map(|f| (f.clone(), false)).collect()));
            }
            // The socket took what fits; the rest waits in a handful of blocks.
            assert!(!push.drained());
            let held = push.backlog.borrow().len();
            assert!(held < 40, "{held} frames held for ~250 KB of small output");
            // The peer reads everything; the connection drains as the socket takes it.
            let mut theirs = theirs;
            theirs.set_nonblocking(true).unwrap();
            let mut got = Vec::new();
            let mut buf = vec![0u8; 64 * 1024];
            while got.len() < want.len() {
                match theirs.read(&mut buf) {
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        // The reads made room: let the reactor see the socket writable again, then drain.
                        let ready = tokio::time::timeout(Duration::from_secs(5), ours.writable()).await;
                        assert!(ready.is_ok(), "the socket never became writable");
                        assert!(push.drain(&ours));
                    }
                    Err(e) => panic!("{e}"),
                }
            }
            assert!(push.drained());
            assert!(got == want, "output out of order");
        });
    }
}
