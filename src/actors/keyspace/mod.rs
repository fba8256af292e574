//! Keyspace actor: the one owner of every database and client record; executes each connection's batch
//! synchronously, in arrival order, and acts on the side effects commands leave in `State` (disconnects,
//! shutdown, paused clients). Cron ticks drive its housekeeping; the Expiry actor asks it for expiry work.

mod aclfile;
mod aof;
mod evict;
mod migrate;
mod rdb;
mod replica;
pub use rdb::PrepareShutdown;
pub use replica::{DisklessLoad, MasterSync};

use super::busy::{AdoptedStream, Link, Serve, SharedSockets};
use super::connection::{obuf_closed, Connection, Handles, Kick, Push, Stream};
use super::events::Tick;
use super::persistence::AofWriter;
use crate::commands::{exec_batch, Batch, State, OBUF_NORMAL, OBUF_PUBSUB, OBUF_REPLICA};
use crate::resp::encode::Out;
use crate::types::clock;
use actix::prelude::*;
use aof::AofLink;
use rdb::RdbLink;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

pub use evict::{AttachEvictor, Evict, MemGrew};

pub struct Keyspace {
    pub s: State,
    /// Connection actors by client slot, to disconnect them or push to them.
    conns: HashMap<usize, Handles>,
    /// Client slots of replica streams, fed after every batch.
    replicas: Vec<usize>,
    /// Batches that cannot go on yet (blocked client, CLIENT PAUSE), in arrival order; at most one per client.
    parked: Vec<Parked>,
    /// Told when SHUTDOWN ran or the server is stopping.
    on_shutdown: Option<oneshot::Sender<()>>,
    /// The signal whose shutdown is under way hears here how it ended (rdb.rs `PrepareShutdown`).
    signal_reply: Option<tokio::sync::oneshot::Sender<Result<(), String>>>,
    /// A shutdown's final save is running: the cron leaves the shutdown alone meanwhile.
    shutdown_finishing: bool,
    /// The AOF writer and the rewrite in progress (aof.rs).
    aof: AofLink,
    /// The Snapshotter and the background save in progress (rdb.rs).
    rdb: RdbLink,
    /// In-process clients (client.rs) by the token they picked: (slot, client id). They have no actor to
    /// tell, so their record is made by their first batch and checked by id before each use.
    local: HashMap<u64, (usize, u64)>,
    /// Replicas in a full sync whose file is being written or read back: the stream since their snapshot's
    /// start, held for them until the file is sent (replica.rs).
    syncing: HashMap<usize, replica::Held>,
    /// Which save for replicas is the latest (`Held::save`): a save's file goes only to the replicas it was
    /// started for.
    sync_save_seq: u64,
    /// That save's +FULLRESYNC line (its replication id and offset), for replicas that join it.
    sync_save_line: bytes::Bytes,
    /// The stream offset of that save's snapshot.
    sync_save_offset: u64,
    /// Seconds of replication cron so far (PINGs go every `repl-ping-replica-period` of them).
    repl_cron_loops: u64,
    /// The master client's slot and the bytes of its batch in flight, passed on once the batch is applied.
    master_proxy: Option<(usize, bytes::Bytes)>,
    /// A full sync loading from the master's socket (repl-diskless-load): what it loads beside or keeps back.
    sync_load: Option<replica::SyncLoad>,
    /// Loads from the master's socket started so far (`SyncLoad::id`).
    sync_load_seq: u64,
    /// The database a killed master client had selected, for the client of the partial resync that follows.
    master_db: Option<usize>,
    /// REPLICAOF while the start-up file loads: the link starts once it is in (replica.rs).
    deferred_link: Option<(crate::commands::replication::Master, Option<(String, i64)>)>,
    /// The link to this server's master, while it is a replica (replica.rs).
    link: Option<replica::LinkHandle>,
    /// In-process subscriptions (client.rs `Subscription`) by client slot: where their messages go.
    sinks: HashMap<usize, LocalSink>,
    /// The socket clients' links and the listening sockets, for a busy script's hook (busy.rs).
    sockets: SharedSockets,
    /// MIGRATE's cached connections to target servers (migrate.rs).
    migrate: migrate::MigrateCache,
    /// The Evictor, told when eviction must go on between batches (evict.rs).
    evictor: Option<Recipient<super::evictor::EvictionNeeded>>,
    /// The Listener, handed the new sockets of a CONFIG SET port.
    listener: Option<Recipient<super::listener::Relisten>>,
}

struct Parked {
    slot: usize,
    batch: Batch,
    tx: oneshot::Sender<Batch>,
}

impl Keyspace {
    /// `aof`: the AOF writer, when persistence is available (the AOF may still be off). `sockets`: what a
    /// busy script's hook serves (installed as `State::waiting`).
    pub fn new(
        s: State,
        on_shutdown: oneshot::Sender<()>,
        aof: Option<Addr<AofWriter>>,
        sockets: SharedSockets,
    ) -> Keyspace {
        let mut k = Keyspace {
            s,
            conns: HashMap::new(),
            replicas: Vec::new(),
            parked: Vec::new(),
            on_shutdown: Some(on_shutdown),
            signal_reply: None,
            shutdown_finishing: false,
            aof: AofLink::default(),
            rdb: RdbLink::default(),
            local: HashMap::new(),
            sinks: HashMap::new(),
            link: None,
            syncing: HashMap::new(),
            sync_save_seq: 0,
            sync_save_line: bytes::Bytes::new(),
            sync_save_offset: 0,
            repl_cron_loops: 0,
            master_proxy: None,
            sync_load: None,
            sync_load_seq: 0,
            master_db: None,
            deferred_link: None,
            sockets: sockets.clone(),
            migrate: Default::default(),
            evictor: None,
            listener: None,
        };
        k.s.waiting = Some(Box::new(Serve(sockets)));
        k.s.persist.aof.available = aof.is_some();
        k.aof.writer = aof;
        k.refresh_feed();
        k
    }

    /// Act on what the last commands asked for: messages to subscribers, disconnects, shutdown, woken and
    /// unblocked clients.
    fn after_batch(&mut self, ctx: &mut Context<Self>) {
        // Held batches of clients that are not blocked on keys wait for a pause to end (INFO blocked_clients).
        let clients = &self.s.clients;
        self.s.clients.postponed =
            self.parked.iter().filter(|p| clients.get(p.slot).is_some_and(|c| c.blocked.is_none())).count();
        self.send_deliveries();
        self.disconnect_killed();
        for slot in std::mem::take(&mut self.s.prop.new_replicas) {
            // A full sync's replica goes online once its file is sent (replica.rs).
            let syncing = self.s.clients.get(slot).is_some_and(|c| c.repl_sync.is_some());
            if !syncing && self.conns.contains_key(&slot) && !self.replicas.contains(&slot) {
                self.replicas.push(slot);
                self.s.prop.replicas = self.replicas.len() + self.syncing.len();
                crate::commands::set_feed_enabled(&mut self.s, true);
                crate::commands::replication::refresh_good_replicas(&mut self.s);
            }
        }
        self.flush_feed(ctx);
        if !self.s.persist.aof.requests.is_empty() {
            self.aof_requests(ctx);
        }
        if self.s.persist.rdb.bgsave_requested || self.s.persist.rdb.bgsave_abort {
            self.rdb_requests(ctx);
        }
        if self.s.repl.failover.is_some() {
            // FAILOVER: a replica caught up, a timeout, the target's answer (may ask for a link change).
            crate::commands::replication::update_failover(&mut self.s);
            // An aborted hand-over disconnects our replicas (they resync partially with our new id).
            self.disconnect_killed();
        }
        if self.s.repl.request.is_some() {
            self.repl_requests(ctx);
        }
        if !self.s.prop.sync_waiting.is_empty() {
            self.start_full_syncs(ctx);
        }
        if let Some(listeners) = self.s.server.new_listeners.take() {
            if let Some(l) = &self.listener {
                l.do_send(super::listener::Relisten(listeners));
            }
        }
        if self.s.server.shutdown.is_some() {
            if let Some(tx) = self.on_shutdown.take() {
                let _ = tx.send(());
            }
        }
        if std::mem::take(&mut self.s.server.shutdown_cancelled) {
            if let Some(tx) = self.signal_reply.take() {
                let _ = tx.send(Err("the shutdown was cancelled".into()));
            }
        }
        for (slot, _) in std::mem::take(&mut self.s.clients.unblock_requests) {
            self.wake(slot, ctx);
        }
        self.serve_ready_keys(ctx);
        if !self.sockets.borrow().adopted.is_empty() {
            self.start_adopted(ctx);
        }
        self.take_admitted();
        self.tell_evictor();
    }

    /// Disconnect the clients on the kill list (CLIENT KILL, timeouts, a failed full sync's replicas).
    fn disconnect_killed(&mut self) {
        for slot in std::mem::take(&mut self.s.clients.kill_list) {
            if let Some(c) = self.s.clients.get(slot) {
                self.s.evict.clients.freeing.add(c);
            }
            if let Some(c) = self.conns.remove(&slot) {
                c.kick.do_send(Kick);
            }
            self.master_client_killed(slot);
            self.parked.retain(|p| p.slot != slot);
            self.forget(slot);
        }
    }

    /// Send each subscriber the messages the last commands published to it, and each tracking client its
    /// invalidations (BCAST ones collected until now): one push per client, its frames shared with the
    /// others (pubsub.rs, tracking.rs). An in-process subscription gets them on its channel, under the same
    /// pubsub output limit a socket subscriber has; other in-process clients have no way to receive.
    fn send_deliveries(&mut self) {
        crate::commands::tracking::broadcast(&mut self.s);
        if self.s.pubsub.outbox.is_empty() {
            return;
        }
        let mut closed = Vec::new();
        // maxmemory-clients: a subscriber's unread messages count as soon as they are sent.
        let measure = self.s.evict.clients.active();
        for d in self.s.pubsub.outbox.take() {
            if let Some(c) = self.conns.get(&d.slot) {
                // A RESP3 client's invalidations count toward its own class's limit, not pubsub's.
                let subscribed = self.s.clients.get(d.slot).is_some_and(|c| c.subscribed());
                let class = if subscribed { OBUF_PUBSUB } else { OBUF_NORMAL };
                let len = c.deliver(d.frames, class, &self.s.knobs);
                if measure {
                    crate::commands::client_mem::update(&mut self.s, d.slot, len, false);
                }
            } else if let Some(sink) = self.sinks.get_mut(&d.slot) {
                let len: usize = d.frames.iter().map(|f| f.len()).sum();
                let queued = sink.queued.fetch_add(len, Ordering::Relaxed) + len;
                let limit = &self.s.knobs.obuf_limits[OBUF_PUBSUB];
                if limit.passed(queued, &mut sink.over_soft_since) {
                    obuf_closed(&self.s.knobs, "in-process", "", queued);
                    closed.push(d.slot);
                } else if sink.tx.unbounded_send(d.frames).is_err() {
                    // The Subscription was dropped; its ForgetLocal is on the way.
                    closed.push(d.slot);
                }
            }
        }
        if measure {
            crate::commands::client_mem::evict(&mut self.s);
        }
        for slot in closed {
            // Dropping the sender ends the subscription's stream (client.rs).
            if let Some(sink) = self.sinks.remove(&slot) {
                self.local.remove(&sink.token);
            }
            self.forget(slot);
        }
    }

    /// Hand what the last commands propagated to every replica stream and to the AOF. With the AOF on, the
    /// receiver resolves once the writer has written these bytes (and synced them under appendfsync always).
    fn flush_feed(&mut self, ctx: &mut Context<Self>) -> Option<oneshot::Receiver<()>> {
        if !self.s.prop.stream_only.is_empty() {
            // DEBUG REPLICATE (rare): after this batch's writes, which go out first.
            let cmds = std::mem::take(&mut self.s.prop.stream_only).freeze();
            let acked = self.flush_feed(ctx);
            if self.link.is_none() {
                self.send_stream_only(cmds);
            }
            return acked;
        }
        let getack = std::mem::take(&mut self.s.prop.getack);
        if self.s.prop.feed.buf.is_empty() {
            if getack {
                self.send_getack();
            }
            return None;
        }
        let (aof, repl) = if self.s.prop.feed.segments.is_empty() {
            // The bytes go out in a block of their own size: a replica that does not read holds every
            // batch's block until it does, and the Vec's spare room (up to as much again) would be memory no
            // counter shows (mem_clients_slaves counts bytes). A small feed is copied and its buffer kept
            // warm for the next batch; a big one is trimmed in place (jemalloc shrinks large blocks without
            // moving them).
            let feed = &mut self.s.prop.feed.buf;
            let bytes = if feed.len() < FEED_KEEP {
                let b = bytes::Bytes::copy_from_slice(feed);
                feed.clear();
                b
            } else {
                let mut v = std::mem::replace(feed, Vec::with_capacity(FEED_KEEP));
                v.shrink_to_fit();
                bytes::Bytes::from(v)
            };
            (bytes.clone(), bytes)
        } else {
            // A script's redis.set_repl left commands meant for one consumer: each gets its own stream.
            let (aof, repl) = self.s.prop.feed.split();
            (bytes::Bytes::from(aof), bytes::Bytes::from(repl))
        };
        if self.link.is_some() {
            // A replica's replicas and backlog get its master's stream as it came (proxy_master_stream), so
            // they share its ids and offsets; what ran here goes to the AOF only, and moves no offset.
            self.s.prop.feed.offset -= repl.len() as u64;
        } else if !repl.is_empty() {
            self.feed_replica_streams(&repl);
        }
        let acked = if aof.is_empty() { None } else { self.aof_append(aof, ctx) };
        if getack && self.link.is_none() {
            self.send_getack();
        }
        acked
    }

    /// WAIT asked for acknowledgements: REPLCONF GETACK goes into the replication stream after the batch's
    /// writes (backlog and offset included) but not into the AOF, as Redis sends it to replicas only.
    fn send_getack(&mut self) {
        self.send_stream_only(bytes::Bytes::from_static(crate::commands::replication::GETACK));
    }

    /// A replica passes on the bytes of its master's stream it has just applied: into its backlog and to its
    /// own replicas, unchanged (Redis's replicationFeedStreamFromMasterStream), so a replica of a replica
    /// (and, after a failover, a sibling) shares the master's replication id and offsets.
    fn proxy_master_stream(&mut self, bytes: bytes::Bytes) {
        self.s.prop.feed.offset += bytes.len() as u64;
        self.feed_replica_streams(&bytes);
    }

    /// Replication stream bytes, counted in the offset by the caller: into the backlog (where those in a full
    /// sync find them once their file is out) and to every streaming replica.
    fn feed_replica_streams(&mut self, bytes: &bytes::Bytes) {
        if let Some(b) = &mut self.s.prop.backlog {
            b.append_bytes(bytes);
        }
        for slot in &self.replicas {
            if let Some(c) = self.conns.get(slot) {
                c.push.do_send(Push {
                    frames: vec![bytes.clone()],
                    class: OBUF_REPLICA,
                    counted: false,
                    shared: false,
                });
            }
        }
        if !self.syncing.is_empty() {
            self.check_syncing_limits();
        }
    }

    /// Send commands only replicas get (GETACK, PING, DEBUG REPLICATE's) to every replica stream, held ones
    /// included.
    pub(super) fn send_stream_only(&mut self, cmds: bytes::Bytes) {
        if self.replicas.is_empty() && self.syncing.is_empty() {
            return;
        }
        self.s.prop.feed.offset += cmds.len() as u64;
        self.feed_replica_streams(&cmds);
    }

    /// Send a finished batch back through `tx`: after DEBUG LOADAOF has reloaded the files, or MIGRATE has run,
    /// if the batch ran it,
    /// and, when it wrote with the AOF on, only once the writer has written its effects (synced them under
    /// appendfsync always).
    fn deliver(&mut self, slot: usize, batch: Batch, tx: oneshot::Sender<Batch>, ctx: &mut Context<Self>) {
        if self.s.persist.aof.load_pending {
            return self.reload_aof(slot, batch, tx, ctx);
        }
        if self.s.persist.rdb.fg.is_some() {
            return self.run_fg(slot, batch, tx, ctx);
        }
        if self.s.migrate.pending.is_some() {
            return self.run_migrate(slot, batch, tx, ctx);
        }
        if self.s.acl.file_job.is_some() {
            return self.run_acl_file(slot, batch, tx, ctx);
        }
        let ack = self.flush_feed(ctx);
        // CONFIG SET aof-disable-auto-gc no: the manifest is rewritten before the reply, as in Redis.
        let gc = self.collect_history_now();
        match (ack, gc) {
            (None, None) => {
                let _ = tx.send(batch);
            }
            (ack, gc) => {
                ctx.spawn(
                    async move {
                        if let Some(ack) = ack {
                            let _ = ack.await;
                        }
                        if let Some(gc) = gc {
                            let _ = gc.await;
                        }
                        let _ = tx.send(batch);
                    }
                    .into_actor(self),
                );
            }
        }
    }

    /// Keep the handles of the connections admitted (by `Join` or a busy script's hook).
    fn take_admitted(&mut self) {
        let mut sockets = self.sockets.borrow_mut();
        for (slot, handles) in sockets.admitted.drain(..) {
            if let Some(c) = self.s.clients.get_mut(slot) {
                c.pushed = Some(handles.pushed.clone());
                c.conn_mem = Some(handles.mem.clone());
            }
            self.conns.insert(slot, handles);
        }
    }

    /// Start the connections of the clients a busy script's hook accepted (on this arbiter, whatever
    /// io-threads says: they are few). They are registered already.
    fn start_adopted(&mut self, ctx: &mut Context<Self>) {
        let adopted = std::mem::take(&mut self.sockets.borrow_mut().adopted);
        for a in adopted {
            let stream = match a.stream {
                AdoptedStream::Tcp(t) => tokio::net::TcpStream::from_std(t).map(Stream::Tcp),
                AdoptedStream::Unix(u) => tokio::net::UnixStream::from_std(u).map(Stream::Unix),
            };
            let Ok(stream) = stream else {
                self.forget(a.slot);
                continue;
            };
            let lobby = self.sockets.borrow().lobby.clone();
            let knobs = self.s.knobs.clone();
            let conn = Connection::adopted(stream, ctx.address(), knobs, lobby, a.slot, a.link, (a.peer, a.local));
            let (pushed, mem, inbox) = (conn.pushed(), conn.mem(), conn.inbox());
            let conn = conn.start();
            if let Some(c) = self.s.clients.get_mut(a.slot) {
                c.pushed = Some(pushed.clone());
                c.conn_mem = Some(mem.clone());
            }
            let (kick, push) = (conn.clone().recipient(), conn.recipient());
            self.conns.insert(a.slot, Handles { kick, push, pushed, mem, inbox });
        }
    }

    /// The batch a connection left on its link.
    fn take_handed(&mut self, slot: usize) -> Handed {
        let sockets = self.sockets.borrow();
        let gone = || Handed::Back(Batch { close: true, ..Default::default() });
        let Some(link) = sockets.links.get(slot) else { return gone() };
        let mut g = link.lock();
        let Some(mut batch) = g.batch.take() else { return gone() };
        g.idle = false;
        if std::mem::take(&mut g.served) {
            // Its replies went out from the hook: what the socket did not take goes first now.
            batch.out = std::mem::take(&mut g.unsent);
            return Handed::Back(batch);
        }
        Handed::Run(batch)
    }

    /// Drop a client's record, and its replica stream if it was one.
    fn forget(&mut self, slot: usize) {
        self.sinks.remove(&slot);
        if let Some(held) = self.syncing.remove(&slot) {
            self.s.prop.replicas = self.replicas.len() + self.syncing.len();
            self.sync_replica_gone(&held);
            // What only it waited for can go (Redis's freeReplicaReferencedReplBuffer trims at once; a
            // little more here, as the cron would).
            self.pin_backlog(10 * crate::commands::replication::TRIM_PER_CALL);
        }
        self.s.remove_client(slot);
        self.sockets.borrow_mut().links.remove(slot);
        if let Some(i) = self.replicas.iter().position(|&r| r == slot) {
            self.replicas.remove(i);
            self.s.prop.replicas = self.replicas.len() + self.syncing.len();
            self.refresh_feed();
            crate::commands::replication::refresh_good_replicas(&mut self.s);
        }
    }

    /// Give clients blocked on written keys another try, first come first served.
    fn serve_ready_keys(&mut self, ctx: &mut Context<Self>) {
        while !self.s.clients.ready_keys.is_empty() {
            let mut ready = std::mem::take(&mut self.s.clients.ready_keys);
            ready.dedup();
            for key in ready {
                let waiters: Vec<usize> = match self.s.clients.blocked_on.get(&key) {
                    Some(q) => q.iter().copied().collect(),
                    None => continue,
                };
                for slot in waiters {
                    self.wake(slot, ctx);
                }
            }
        }
    }

    /// Run a parked batch again, if `slot` has one.
    fn wake(&mut self, slot: usize, ctx: &mut Context<Self>) {
        if let Some(i) = self.parked.iter().position(|p| p.slot == slot) {
            let p = self.parked.remove(i);
            self.rerun(p.slot, p.batch, p.tx, ctx);
        }
    }

    /// Execute what is left of `batch`. `Stuck` gives it back when it could not go on and has nothing to send
    /// (blocked or paused): the caller parks it, and its deadline timer, if any, is already armed.
    fn execute(&mut self, slot: usize, mut batch: Batch, ctx: &mut Context<Self>) -> Outcome {
        let before = batch.done;
        exec_batch(&mut self.s, slot, &mut batch);
        // The master's batch, all applied: its bytes go on to our replicas now, before anything after this
        // batch (a full sync's snapshot) can take the offset.
        if self.master_proxy.as_ref().is_some_and(|(s, _)| *s == slot) && batch.done >= batch.reqs.len() && !batch.close
        {
            if let Some((_, bytes)) = self.master_proxy.take() {
                self.proxy_master_stream(bytes);
            }
        }
        let stuck = batch.done < batch.reqs.len() && !batch.close && batch.done == before && batch.out.is_empty();
        if !stuck {
            return Outcome::Ready(batch);
        }
        // Nothing to send: wait here, holding no thread, until a key, a timer or an unpause wakes us.
        if let Some(deadline) = self.s.clients.get(slot).and_then(|c| c.blocked.as_ref()).map(|b| b.deadline_ms) {
            if deadline > 0 {
                let wait = (deadline - clock::system_ms()).max(0) as u64;
                ctx.run_later(Duration::from_millis(wait), move |act, ctx| act.wake(slot, ctx));
            }
        }
        Outcome::Stuck(batch)
    }

    /// Run a parked batch again; its connection waits on `tx`.
    /// Write the reply of the job a batch stopped for (SAVE, DEBUG RELOAD / LOADAOF, MIGRATE, ACL LOAD / SAVE)
    /// into the batch, in the client's protocol: the caller then runs the rest of the batch (`rerun`).
    fn reply_into(&mut self, slot: usize, batch: &mut Batch, write: impl FnOnce(&mut State, &mut Out)) {
        let resp = self.s.clients.get(slot).map(|c| c.resp).unwrap_or(2);
        let mut out = Out::with_buf(std::mem::take(&mut batch.out), resp);
        write(&mut self.s, &mut out);
        batch.out = out.buf;
    }

    fn rerun(&mut self, slot: usize, batch: Batch, tx: oneshot::Sender<Batch>, ctx: &mut Context<Self>) {
        match self.execute(slot, batch, ctx) {
            Outcome::Ready(batch) => self.deliver(slot, batch, tx, ctx),
            Outcome::Stuck(batch) => self.parked.push(Parked { slot, batch, tx }),
        }
        self.after_batch(ctx);
    }

    /// Resume batches held by CLIENT PAUSE once the pause is over (blocked ones wait for their keys).
    fn resume_paused(&mut self, ctx: &mut Context<Self>) {
        if self.parked.is_empty() {
            return;
        }
        let waiting: Vec<usize> = self
            .parked
            .iter()
            .filter(|p| self.s.clients.get(p.slot).is_some_and(|c| c.blocked.is_none() || c.unblock_pending.is_some()))
            .map(|p| p.slot)
            .collect();
        for slot in waiting {
            self.wake(slot, ctx);
        }
    }

    /// Answer blocked clients whose deadline passed (the timers do this precisely; this is the safety net).
    fn expire_blocked(&mut self, ctx: &mut Context<Self>) {
        let now = clock::system_ms();
        let due: Vec<usize> = self
            .parked
            .iter()
            .filter(|p| {
                self.s
                    .clients
                    .get(p.slot)
                    .and_then(|c| c.blocked.as_ref())
                    .is_some_and(|b| b.deadline_ms != 0 && b.deadline_ms <= now)
            })
            .map(|p| p.slot)
            .collect();
        for slot in due {
            self.wake(slot, ctx);
        }
    }
}

/// Feed buffers up to this size are copied out per batch and reused; bigger ones are handed over trimmed.
const FEED_KEEP: usize = 64 * 1024;
/// A batch a connection left on its link.
enum Handed {
    Run(Batch),
    /// Nothing to run: hand it back as it is (a busy script's hook answered it, or the client is gone).
    Back(Batch),
}

/// Where a batch's result goes: back as the message's reply, or through a parked batch's channel.
/// What `execute` did with a batch.
enum Outcome {
    /// Ran as far as it could and has replies (or is finished): send it back.
    Ready(Batch),
    /// Made no progress (blocked or paused): park it.
    Stuck(Batch),
}

impl Actor for Keyspace {
    type Context = Context<Self>;

    /// Begin loading the RDB file, if the server starts from one, and replicating, if `replicaof` is set.
    fn started(&mut self, ctx: &mut Self::Context) {
        // The watchdog (crash.rs) learns this thread before the first cron tick.
        crate::crash::keyspace_heartbeat();
        if std::mem::take(&mut self.rdb.load_on_start) {
            self.load_at_start(ctx);
        }
        if let Some((host, port)) = self.s.config.replicaof() {
            use crate::commands::replication::{LinkRequest, Master};
            let m = Master { host, port, link: Default::default() };
            self.s.repl.master = Some(m.clone());
            self.s.repl.request = Some(LinkRequest::Start(m));
            self.repl_requests(ctx);
        }
    }
}

/// A socket connection asks to be admitted; its registration waits on its link in the lobby (busy.rs).
/// Returns its slot, or Err with the reply to send before closing (maxclients).
#[derive(Message)]
#[rtype(result = "Result<usize, String>")]
pub struct Join {
    pub link: Arc<Link>,
}

impl Handler<Join> for Keyspace {
    type Result = Result<usize, String>;

    fn handle(&mut self, msg: Join, _: &mut Self::Context) -> Self::Result {
        self.sockets.borrow_mut().admit(&mut self.s);
        self.take_admitted();
        // None: the connection went away before it was admitted.
        msg.link.lock().joined.take().unwrap_or_else(|| Err("ERR closed".into()))
    }
}

impl Keyspace {
    /// The slot of the in-process client `token`, registering it if this is its first batch. In-process
    /// clients are never refused: maxclients counts sockets.
    fn local_slot(&mut self, token: u64) -> usize {
        if let Some(&(slot, id)) = self.local.get(&token) {
            if self.s.clients.get(slot).is_some_and(|c| c.id == id) {
                return slot;
            }
        }
        let slot = self.s.add_client("in-process".into(), String::new());
        let c = &mut self.s.clients[slot];
        c.local = true;
        c.fd = -1;
        self.local.insert(token, (slot, c.id));
        slot
    }
}

/// A client went away.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Unregister {
    pub slot: usize,
}

impl Handler<Unregister> for Keyspace {
    type Result = ();

    fn handle(&mut self, msg: Unregister, _: &mut Self::Context) {
        self.conns.remove(&msg.slot);
        self.forget(msg.slot);
        self.parked.retain(|p| p.slot != msg.slot);
    }
}

/// Run a batch of requests for a client; the batch comes back with its replies.
#[derive(Message)]
#[rtype(result = "ExecReply")]
pub struct Exec {
    pub slot: usize,
    /// None: the connection left the batch on its link (busy.rs), where a busy script's hook can reach it.
    pub batch: Option<Batch>,
}

/// The executed batch, or where it will arrive.
pub enum ExecReply {
    Done(Batch),
    /// Blocked or paused: it may wait for long, and the client's input keeps being read meanwhile.
    Later(oneshot::Receiver<Batch>),
    /// Ran; its replies wait for another actor's work (the AOF writer's write, SAVE, DEBUG LOADAOF, MIGRATE),
    /// as a Redis client waits for its event loop's turn to end: the client's next requests stay in the
    /// socket meanwhile, so a pipeline cannot pile up in memory faster than the writes go out.
    Deferred(oneshot::Receiver<Batch>),
}

impl<A, M> actix::dev::MessageResponse<A, M> for ExecReply
where
    A: Actor,
    M: Message<Result = ExecReply>,
{
    fn handle(self, _: &mut A::Context, tx: Option<actix::dev::OneshotSender<ExecReply>>) {
        if let Some(tx) = tx {
            let _ = tx.send(self);
        }
    }
}

impl Handler<Exec> for Keyspace {
    type Result = ExecReply;

    fn handle(&mut self, msg: Exec, ctx: &mut Self::Context) -> ExecReply {
        let batch = match msg.batch {
            Some(b) => b,
            None => match self.take_handed(msg.slot) {
                Handed::Run(b) => b,
                Handed::Back(b) => return ExecReply::Done(b),
            },
        };
        self.run_batch(msg.slot, batch, ctx)
    }
}

impl Keyspace {
    /// Execute a client's batch and act on its side effects; the batch now or where it will arrive.
    fn run_batch(&mut self, slot: usize, batch: Batch, ctx: &mut Context<Self>) -> ExecReply {
        // A client has at most one batch in flight, so nothing of this client can be parked now.
        let reply = match self.execute(slot, batch, ctx) {
            // The common case: reply at once (the feed goes out to replicas in after_batch). A batch that wrote
            // waits for the AOF writer's write() first (see aof_append).
            Outcome::Ready(batch)
                if !self.s.persist.aof.load_pending
                    && self.s.persist.rdb.fg.is_none()
                    && self.s.migrate.pending.is_none()
                    && self.s.acl.file_job.is_none()
                    && (self.s.prop.feed.buf.is_empty() || !self.aof_appending())
                    && !self.aof_reply_waits() =>
            {
                ExecReply::Done(batch)
            }
            Outcome::Ready(batch) => {
                let (tx, rx) = oneshot::channel();
                self.deliver(slot, batch, tx, ctx);
                ExecReply::Deferred(rx)
            }
            Outcome::Stuck(batch) => {
                let (tx, rx) = oneshot::channel();
                self.parked.push(Parked { slot, batch, tx });
                ExecReply::Later(rx)
            }
        };
        self.after_batch(ctx);
        // CLIENT UNPAUSE (or a pause that just ended) releases the batches it held.
        if self.s.server.pause.is_none() && !self.parked.is_empty() {
            self.resume_paused(ctx);
        }
        reply
    }
}

/// Run a batch for an in-process client (client.rs), named by the token it picked: its first batch registers
/// it, so a new client costs no round trip of its own. The batch comes back through `tx` (sent with
/// `do_send`), so a caller that stops waiting leaves the reply for the client's next command to collect.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ExecLocal {
    pub token: u64,
    pub batch: Batch,
    pub tx: oneshot::Sender<Batch>,
    /// The replica link's batches: the master's bytes they were parsed from, passed on to this server's own
    /// replicas once applied. None for other in-process clients.
    pub proxy: Option<bytes::Bytes>,
}

impl Handler<ExecLocal> for Keyspace {
    type Result = ();

    fn handle(&mut self, mut msg: ExecLocal, ctx: &mut Self::Context) {
        if self.stale_master_token(msg.token) {
            // A batch of a killed master client: refused, the link reconnects.
            msg.batch.close = true;
            let _ = msg.tx.send(msg.batch);
            return;
        }
        let slot = self.local_slot(msg.token);
        if let Some(bytes) = msg.proxy {
            if self.link.as_ref().is_some_and(|l| l.token == msg.token) {
                self.master_proxy = Some((slot, bytes));
            }
        }
        match self.run_batch(slot, msg.batch, ctx) {
            ExecReply::Done(b) => {
                let _ = msg.tx.send(b);
            }
            // Blocked, paused or waiting for fsync: pass the batch on when it is done.
            ExecReply::Later(rx) | ExecReply::Deferred(rx) => {
                let tx = msg.tx;
                ctx.spawn(
                    async move {
                        if let Ok(b) = rx.await {
                            let _ = tx.send(b);
                        }
                    }
                    .into_actor(self),
                );
            }
        }
    }
}

/// Where an in-process subscription's messages go: each batch's frames for it as one item, `queued` counting
/// the bytes its stream has not taken yet (CLIENT LIST omem, the pubsub output limit).
pub struct LocalSink {
    pub token: u64,
    pub tx: futures::channel::mpsc::UnboundedSender<Vec<bytes::Bytes>>,
    pub queued: Arc<std::sync::atomic::AtomicUsize>,
    /// When `queued` went over the soft limit (for its seconds).
    pub over_soft_since: Option<std::time::Instant>,
}

/// Make the in-process client `token` a subscription: its messages go to `sink` from now on (client.rs,
/// sent before its first SUBSCRIBE, so nothing published to it is missed).
#[derive(Message)]
#[rtype(result = "()")]
pub struct AttachSink {
    pub sink: LocalSink,
}

impl Handler<AttachSink> for Keyspace {
    type Result = ();

    /// Register the client and its sink; CLIENT LIST shows its unread bytes as omem.
    fn handle(&mut self, msg: AttachSink, _: &mut Self::Context) {
        let slot = self.local_slot(msg.sink.token);
        self.s.clients[slot].pushed = Some(msg.sink.queued.clone());
        self.sinks.insert(slot, msg.sink);
    }
}

/// An in-process client was dropped, or closed by QUIT: forget its record (its next batch, if any, makes a
/// new one).
#[derive(Message)]
#[rtype(result = "()")]
pub struct ForgetLocal {
    pub token: u64,
}

impl Handler<ForgetLocal> for Keyspace {
    type Result = ();

    fn handle(&mut self, msg: ForgetLocal, _: &mut Self::Context) {
        if let Some((slot, id)) = self.local.remove(&msg.token) {
            if self.s.clients.get(slot).is_some_and(|c| c.id == id) {
                self.forget(slot);
                self.parked.retain(|p| p.slot != slot);
            }
        }
    }
}

/// Housekeeping on the cron's heartbeat: INFO samples, idle-client timeouts, pause end, blocked deadlines, AOF.
impl Handler<Tick> for Keyspace {
    type Result = ();

    fn handle(&mut self, _: Tick, ctx: &mut Self::Context) {
        let now = clock::refresh();
        // The watchdog (crash.rs) hears that this thread is not stuck.
        crate::crash::keyspace_heartbeat();
        if self.s.server.cron_paused {
            return;
        }
        self.shutdown_cron(ctx);
        if self.s.prop.backlog.is_some() {
            // What replicas let go of beyond the backlog's size goes a little at a time (Redis's serverCron
            // trims ten times an append's share).
            self.pin_backlog(10 * crate::commands::replication::TRIM_PER_CALL);
        }
        let s = &mut self.s;
        // Memory peak and ops/sec samples for INFO.
        let used = s.used_memory();
        if used > s.stats.peak_memory {
            s.stats.peak_memory = used;
        }
        s.stats.ops_samples.push((now, s.stats.commands_processed));
        if s.stats.ops_samples.len() > 16 {
            s.stats.ops_samples.remove(0);
        }
        // About once a second, let the allocator give freed pages back (the Keyspace thread frees most).
        let hz = s.config.hz.max(1) as u64;
        if s.stats.cron_loops.is_multiple_of(hz) {
            crate::alloc::cron_release();
            self.repl_tick();
            // Diskless syncs wait `repl-diskless-sync-delay` seconds for more replicas.
            if !self.s.prop.sync_waiting.is_empty() {
                self.start_full_syncs(ctx);
            }
        }
        let s = &mut self.s;
        s.stats.cron_loops += 1;
        // Idle clients past `timeout` are disconnected (Redis's clientsCronHandleTimeout).
        if s.config.timeout > 0 {
            let limit = s.config.timeout as i64 * 1000;
            for (slot, c) in s.clients.slab.iter() {
                if !c.local && !c.replica && c.blocked.is_none() && now - c.last_interaction_ms > limit {
                    s.clients.kill_list.push(slot);
                }
            }
        }
        if s.server.client_pause.is_some_and(|p| p.until_ms <= now) {
            crate::commands::connection::refresh_pause(s);
        }
        s.clients.blocked_count = s.clients.iter().filter(|(_, c)| c.blocked.is_some()).count();
        if !self.parked.is_empty() {
            if self.s.server.pause.is_none() {
                self.resume_paused(ctx);
            }
            self.expire_blocked(ctx);
        }
        // The tracking table back within tracking-table-max-keys even while no command comes (CONFIG SET
        // lowered it), as Redis's serverCron.
        if self.s.tracking.clients() != 0 {
            crate::commands::tracking::limit_table(&mut self.s);
        }
        self.aof_tick(ctx);
        self.rdb_tick(ctx);
        self.migrate_cron();
        // maxmemory-clients: measure a few clients, evict if over (clientsCron).
        crate::commands::client_mem::cron(&mut self.s);
        self.after_batch(ctx);
    }
}

/// Active expiry work, asked for by the Expiry actor: spend at most `budget` sampling keys with a TTL.
#[derive(Message)]
#[rtype(result = "ExpireReport")]
pub struct ActiveExpire {
    pub budget: Duration,
    /// Keys sampled per database per loop (Redis: 20, raised by active-expire-effort).
    pub samples: usize,
    /// Repeat a database while more than this share of the sample was expired (Redis: 10%, lowered by effort).
    pub stale_pct: usize,
}

#[derive(Debug, Default, Clone, Copy, MessageResponse)]
pub struct ExpireReport {
    pub sampled: usize,
    pub expired: usize,
    pub time_limit_hit: bool,
    pub elapsed_us: u64,
}

impl Handler<ActiveExpire> for Keyspace {
    type Result = ExpireReport;

    fn handle(&mut self, msg: ActiveExpire, ctx: &mut Self::Context) -> ExpireReport {
        let mut rep = ExpireReport::default();
        // A replica's keys expire through its master's DELs only; none expire while clients are paused (see
        // commands::connection::pause_changed).
        let s = &self.s;
        if !s.server.active_expire || s.server.cron_paused {
            return rep;
        }
        if s.repl.master.is_some() {
            // Except the keys its own clients gave a TTL on a writable replica (Redis's expireSlaveKeys).
            if s.repl.own_ttl_keys.is_empty() {
                return rep;
            }
            clock::refresh();
            rep.expired = crate::commands::replication::expire_own_ttl_keys(&mut self.s);
            if self.s.prop.expire_logging {
                self.s.drain_expired();
                self.flush_feed(ctx);
            }
            self.send_deliveries();
            self.s.stats.expired_keys_active += rep.expired as u64;
            return rep;
        }
        if s.server.pause.is_some() {
            return rep;
        }
        clock::refresh();
        let start = Instant::now();
        'dbs: for db in self.s.dbs.iter_mut() {
            loop {
                if db.expires_count() == 0 {
                    break;
                }
                let st = db.expire_sample(msg.samples);
                rep.sampled += st.sampled;
                rep.expired += st.expired;
                if start.elapsed() >= msg.budget {
                    rep.time_limit_hit = true;
                    break 'dbs;
                }
                if st.sampled == 0 || st.expired * 100 <= st.sampled * msg.stale_pct {
                    break;
                }
            }
        }
        rep.elapsed_us = start.elapsed().as_micros() as u64;
        if self.s.prop.expire_logging {
            self.s.drain_expired();
            self.flush_feed(ctx);
        }
        // Keyspace events of the keys expired here.
        self.send_deliveries();
        self.s.stats.expired_keys_active += rep.expired as u64;
        self.s.stats.expire_cycle_cpu_ms += rep.elapsed_us / 1000;
        // LATENCY: the cycle's time, deleting what expired included (Redis's expire-cycle event).
        self.s.obs.latency.add_sample_if_needed("expire-cycle", rep.elapsed_us / 1000);
        rep
    }
}

/// Stop serving: disconnect every client.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Shutdown {
    /// The process exits next: leave the dataset for the exit to reclaim rather than free it key by key
    /// (seconds for a big one; Redis exits without freeing too).
    pub leave_data: bool,
}

impl Handler<Shutdown> for Keyspace {
    type Result = ResponseActFuture<Self, ()>;

    /// Save first when save points exist and no SHUTDOWN command did (a signal, `ServerHandle::stop`), then
    /// disconnect everyone and stop.
    fn handle(&mut self, msg: Shutdown, _: &mut Self::Context) -> Self::Result {
        let leave_data = msg.leave_data;
        match self.save_on_stop() {
            Some(fut) => Box::pin(fut.into_actor(self).map(move |res, act, ctx| {
                if let Err(e) = &res {
                    log::warn!("Error trying to save the DB: {e}");
                } else {
                    log::info!("DB saved on disk");
                }
                act.stop_now(leave_data, ctx)
            })),
            None => Box::pin(
                actix::fut::ready(())
                    .map(move |_, act: &mut Keyspace, ctx: &mut Context<Keyspace>| act.stop_now(leave_data, ctx)),
            ),
        }
    }
}

impl Keyspace {
    /// Disconnect every client and stop the actor; with `leave_data`, the databases are left to the process's
    /// exit (`Shutdown::leave_data`).
    fn stop_now(&mut self, leave_data: bool, ctx: &mut Context<Self>) {
        // The last writes reach the AOF writer before the server handle syncs it.
        self.send_outbox();
        for (_, c) in self.conns.drain() {
            c.kick.do_send(Kick);
        }
        // In-process subscriptions end with the server, and so does the link to a master.
        self.sinks.clear();
        self.s.repl.request = Some(crate::commands::replication::LinkRequest::Stop);
        self.repl_requests(ctx);
        // Clients accepted under a script that did not get their connection yet: closed with this.
        self.sockets.borrow_mut().adopted.clear();
        self.parked.clear();
        if leave_data {
            for (i, db) in self.s.dbs.iter_mut().enumerate() {
                std::mem::forget(std::mem::replace(db, crate::types::db::Db::new(i)));
            }
        }
        ctx.stop();
    }
}

/// The Listener's address, given once it is started (after the Keyspace).
#[derive(Message)]
#[rtype(result = "()")]
pub struct AttachListener(pub Recipient<super::listener::Relisten>);

impl Handler<AttachListener> for Keyspace {
    type Result = ();

    /// Keep the Listener's address for CONFIG SET port.
    fn handle(&mut self, msg: AttachListener, _: &mut Self::Context) {
        self.listener = Some(msg.0);
    }
}
