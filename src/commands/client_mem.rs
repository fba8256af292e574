//! Client memory and client eviction (commands layer, run by the Keyspace actor): what each client costs, as
//! Redis counts it (networking.c getClientMemoryUsage: query buffer, arguments, output, MULTI queue, watched
//! keys, subscriptions, tracking prefixes, the client record), and `maxmemory-clients` (evictClients): the
//! largest clients are closed first, by memory buckets (types/mem_buckets.rs), until the clients' total is
//! under the limit. Never a CLIENT NO-EVICT client, a master or replica link, or an in-process client.
//!
//! A client's buffers live in two places: the Keyspace owns its record (MULTI queue, WATCH, subscriptions),
//! its Connection actor owns the socket's read buffer and the replies and pushes not written yet, which it
//! shows the Keyspace through `ConnMem` and the `pushed` counter. The client is measured again after each
//! of its batches, after pushes to it, when its connection says its buffers grew (a big request arriving),
//! a few clients per cron tick, and all of them when CONFIG SET changes the limit. With the limit at 0 none
//! of this runs: one branch per batch.

use super::client::Client;
use super::state::State;
use crate::config::Config;
use crate::types::mem_buckets::{MemBuckets, BUCKETS};
use std::mem::size_of;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// What a socket client's Connection actor holds for it, as the connection last noted it (written on the
/// connection's thread, read by the Keyspace).
#[derive(Debug)]
pub struct ConnMem {
    /// Request bytes read and not handed to the Keyspace yet (CLIENT LIST qbuf), a big argument's included.
    pub qbuf: AtomicUsize,
    /// Bytes allocated to hold them: the read buffer and a big argument's own buffer.
    pub qmem: AtomicUsize,
    /// Reply chunks waiting for the socket (CLIENT LIST oll); their bytes count in the `pushed` counter.
    pub oll: AtomicUsize,
    /// The connection's share (qmem + unwritten output) when the Keyspace last measured it: the connection
    /// tells the Keyspace again when its buffers grow well past this.
    pub told: AtomicUsize,
    /// Redis's querybuf_peak: the most the read buffer was asked to hold since the Keyspace's cron last
    /// looked (what it held before a read plus the read's room), which the cron resets to what it holds.
    pub qpeak: AtomicUsize,
    /// The capacity the cron wants the read buffer trimmed to (`NO_RESIZE`: none), applied by the connection
    /// when it next waits for input with nothing buffered; `resize_wake` tells it.
    pub resize: AtomicUsize,
    pub resize_wake: tokio::sync::Notify,
    /// Redis's reply buffer (c->buf): the size the connection gives the buffer a batch's replies are written
    /// into (CLIENT LIST rbs), which the clients cron shrinks and grows as Redis's
    /// clientsCronResizeOutputBuffer does; a batch whose replies need more grows it until the cron trims it
    /// (Redis puts those bytes in its reply list instead).
    pub rbs: AtomicUsize,
    /// The most of it a batch's replies filled since the peak last restarted (CLIENT LIST rbp).
    pub rbp: AtomicUsize,
    /// When the peak last restarted (Unix ms; the Keyspace's alone).
    pub rbp_reset_ms: std::sync::atomic::AtomicI64,
    /// A new reply buffer size for the connection to apply (`NO_RESIZE`: none); `resize_wake` tells it.
    pub out_resize: AtomicUsize,
}

/// `ConnMem::resize` when no trim is asked for.
pub const NO_RESIZE: usize = usize::MAX;

impl Default for ConnMem {
    fn default() -> ConnMem {
        ConnMem {
            qbuf: AtomicUsize::new(0),
            qmem: AtomicUsize::new(0),
            oll: AtomicUsize::new(0),
            told: AtomicUsize::new(0),
            qpeak: AtomicUsize::new(0),
            resize: AtomicUsize::new(NO_RESIZE),
            resize_wake: tokio::sync::Notify::new(),
            rbs: AtomicUsize::new(REPLY_CHUNK),
            // As Redis's createClient: the peak starts at the buffer's size.
            rbp: AtomicUsize::new(REPLY_CHUNK),
            // Redis 7.0's createClient sets it in seconds, which its cron compares with a clock in ms: the
            // first cron restarts a new client's peak, so an idle client's buffer shrinks at once.
            rbp_reset_ms: std::sync::atomic::AtomicI64::new(0),
            out_resize: AtomicUsize::new(NO_RESIZE),
        }
    }
}

impl ConnMem {
    /// Note the query buffer; true when the connection should tell the Keyspace (eviction on, and its buffers
    /// grew by an eighth or more since the Keyspace last measured them, past 16 KB).
    pub fn note_input(&self, qbuf: usize, qmem: usize, out: usize, evict_on: bool) -> bool {
        self.qbuf.store(qbuf, Relaxed);
        self.qmem.store(qmem, Relaxed);
        evict_on && self.grew(qmem + out)
    }

    /// Its buffers (`now` bytes) grew enough past the last measure to be measured again.
    pub fn grew(&self, now: usize) -> bool {
        let told = self.told.load(Relaxed);
        now >= 16 * 1024 && now > told + told / 8
    }
}

/// Redis's PROTO_REPLY_CHUNK_BYTES (a new client's reply buffer, and the most the cron grows one to) and
/// PROTO_REPLY_MIN_BYTES (the least it shrinks one to).
pub const REPLY_CHUNK: usize = 16 * 1024;
const REPLY_MIN: usize = 1024;
/// Redis's REPLY_BUFFER_DEFAULT_PEAK_RESET_TIME (ms).
pub const REPLY_PEAK_RESET_MS: i64 = 5000;

/// Redis's clientsCronResizeOutputBuffer for one client: a reply buffer whose peak stayed under half its
/// size shrinks to the peak (1 KB at least); one that was filled doubles, up to 16 KB; every `reset_ms`
/// (-1: never) the peak restarts from nothing. Returns the new size asked of the connection, if any.
pub fn resize_reply_buffer(m: &ConnMem, now_ms: i64, reset_ms: i64) -> Option<usize> {
    let (size, peak) = (m.rbs.load(Relaxed), m.rbp.load(Relaxed));
    let want = if size / 2 >= REPLY_MIN && peak < size / 2 {
        Some(REPLY_MIN.max(peak + 1))
    } else if size * 2 < REPLY_CHUNK * 2 && peak == size {
        Some(REPLY_CHUNK.min(size * 2))
    } else {
        None
    };
    if reset_ms >= 0 && now_ms - m.rbp_reset_ms.load(Relaxed) >= reset_ms {
        // Redis restarts it from what its buffer holds unwritten: nothing, between our batches.
        m.rbp.store(0, Relaxed);
        m.rbp_reset_ms.store(now_ms, Relaxed);
    }
    if let Some(w) = want {
        m.rbs.store(w, Relaxed);
        m.out_resize.store(w, Relaxed);
        m.resize_wake.notify_one();
    }
    want
}

/// Redis's PROTO_RESIZE_THRESHOLD: a query buffer under this is not trimmed for its peak.
const RESIZE_THRESHOLD: usize = 32 * 1024;

/// Redis's clientsCronResizeQueryBuffer for one client: a read buffer wasting more than 4 KB is released
/// when the client has been idle over 2 seconds, or trimmed to its recent peak (never under what it holds)
/// when it is over 32 KB and twice that peak; then the peak restarts from what it holds. Returns the trim
/// asked of the connection (0: release), if any.
pub fn resize_query_buffer(m: &ConnMem, idle_s: i64) -> Option<usize> {
    let (len, cap) = (m.qbuf.load(Relaxed), m.qmem.load(Relaxed));
    let peak = m.qpeak.load(Relaxed);
    let mut want = None;
    if cap.saturating_sub(len) > 4 * 1024 {
        if idle_s > 2 {
            want = Some(0);
        } else if cap > RESIZE_THRESHOLD && cap / 2 > peak {
            want = Some(len.max(peak));
        }
    }
    m.qpeak.store(len, Relaxed);
    if let Some(w) = want {
        m.resize.store(w, Relaxed);
        m.resize_wake.notify_one();
    }
    want
}

/// Fixed cost of a socket client beyond its record: its Connection actor, link and serving future. An
/// estimate: they are a few small allocations that do not change with use.
const CONN_FIXED: usize = 1024;

/// One client's memory, by part (CLIENT LIST fields and tot-mem).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    /// Request bytes buffered (qbuf) and the room left in their buffers (qbuf-free).
    pub qbuf: usize,
    pub qbuf_free: usize,
    /// Arguments of the running command (argv-mem); they live in the query buffer here, so tot-mem does not
    /// count them twice.
    pub argv: usize,
    /// Argument bytes of the MULTI queue (multi-mem).
    pub multi: usize,
    /// Reply bytes of the running batch not handed to the connection yet (obl), reply chunks queued for the
    /// socket (oll), and every unwritten output byte (omem).
    pub obl: usize,
    pub oll: usize,
    pub omem: usize,
    /// Everything (tot-mem).
    pub total: usize,
}

/// Measure client `c`. `argv`: the argument bytes of its running command (0 for any other client);
/// `extra_out`: output about to be queued for it that its counters do not show yet.
pub fn usage(c: &Client, argv: usize, extra_out: usize) -> Usage {
    let (cq, cmem, oll) =
        c.conn_mem.as_ref().map_or((0, 0, 0), |m| (m.qbuf.load(Relaxed), m.qmem.load(Relaxed), m.oll.load(Relaxed)));
    let qbuf = c.qbuf + cq;
    let qmem = cmem.max(qbuf);
    let omem = c.omem() + extra_out;
    let mut u = Usage { qbuf, qbuf_free: qmem - qbuf, argv, obl: c.obuf, oll, omem, ..Usage::default() };
    let mut heap = 0;
    if let Some(q) = &c.multi {
        heap += q.capacity() * size_of::<super::multi::Queued>();
        for cmd in q {
            let (args, mem) = cmd.mem();
            u.multi += args;
            heap += mem;
        }
    }
    heap += c.watched.capacity() * size_of::<super::multi::Watched>();
    heap += c.watched.iter().map(|w| w.key.capacity()).sum::<usize>();
    if let Some(subs) = &c.subs {
        // Channel names are shared with the server's tables (as in Redis, which counts only its own
        // structures): an entry, its hash and its index slot per subscription.
        let per = size_of::<bytes::Bytes>() + 2 * size_of::<usize>() + 1;
        heap += size_of::<super::pubsub::ClientSubs>();
        heap += (subs.channels.capacity() + subs.patterns.capacity() + subs.shard.capacity()) * per;
    }
    if let Some(t) = &c.tracking {
        // A B-tree entry per prefix: the boxed prefix and its share of the node.
        heap += size_of::<super::tracking::ClientTracking>();
        heap += t.prefixes.iter().map(|p| p.len() + 2 * size_of::<Box<[u8]>>()).sum::<usize>();
    }
    let fixed = size_of::<Client>() + if c.conn_mem.is_some() { CONN_FIXED } else { 0 };
    u.total = qmem + omem + heap + fixed;
    u
}

/// Counted in the clients' total (Redis's normal and pubsub client types): not a replication link, not an
/// in-process client.
fn counted(c: &Client) -> bool {
    !c.replica && !c.master && !c.local
}

/// May be evicted (clientEvictionAllowed).
fn evictable(c: &Client) -> bool {
    counted(c) && !c.no_evict && !c.killed
}

/// The client eviction state (in `Eviction`, evict.rs).
#[derive(Debug, Default)]
pub struct ClientEviction {
    /// The limit in bytes (getClientEvictionLimit), 0 = off.
    pub limit: usize,
    /// Measure every client and evict after this batch: the limit was just changed.
    pub recheck: bool,
    pub buckets: MemBuckets,
    /// Where the cron's next round of measures starts (a client slot).
    cursor: usize,
    /// Disconnected clients whose connections have not dropped their buffers yet.
    pub freeing: Freeing,
}

/// Disconnected clients' buffers on their way out: a connection frees them on its own thread a moment after
/// the Keyspace let the client go, and until then they still count in used_memory. Redis frees another
/// client at once (freeClient), so evicting a client never made it evict keys for memory already let go;
/// key eviction leaves these bytes out the same way (evict.rs `over_limit`).
#[derive(Default)]
pub struct Freeing(Vec<(std::sync::Arc<ConnMem>, usize)>);

impl std::fmt::Debug for Freeing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Freeing({} clients, {} bytes)", self.0.len(), self.bytes())
    }
}

impl Freeing {
    /// Client `c` is being disconnected: count its buffers until its connection lets go of them.
    pub fn add(&mut self, c: &Client) {
        self.prune();
        if let Some(m) = &c.conn_mem {
            self.0.push((m.clone(), usage(c, 0, 0).total));
        }
    }

    /// Bytes still held by disconnected clients' connections. A connection holds its `ConnMem` until its
    /// buffers are dropped, so an entry whose count is ours alone is freed.
    pub fn bytes(&self) -> usize {
        self.0.iter().filter(|(m, _)| std::sync::Arc::strong_count(m) > 1).map(|(_, n)| n).sum()
    }

    /// Forget the clients whose connections are gone.
    pub fn prune(&mut self) {
        self.0.retain(|(m, _)| std::sync::Arc::strong_count(m) > 1);
    }
}

impl ClientEviction {
    /// Take `maxmemory-clients` (bytes, or N% of maxmemory) from `c` (start-up and every CONFIG SET).
    pub fn configure(&mut self, c: &Config) {
        let limit = limit(c);
        if limit != self.limit {
            self.limit = limit;
            // As applyClientMaxMemoryUsage: measure everyone now (and evict if over), or forget the buckets.
            self.recheck = limit != 0;
            if limit == 0 {
                self.buckets.clear();
            }
        }
    }

    /// Work is due after a batch: the limit is on, or was just changed.
    #[inline]
    pub fn active(&self) -> bool {
        self.limit != 0
    }
}

/// The eviction limit `maxmemory-clients` gives under `c` (getClientEvictionLimit): 0 when off, at least
/// 128 KB so that a bad setting cannot cut every client off.
pub fn limit(c: &Config) -> usize {
    let v = c.get("maxmemory-clients").unwrap_or_default();
    let bytes = if let Some(pct) = v.strip_suffix('%') {
        let pct: f64 = pct.parse().unwrap_or(0.0);
        if c.maxmemory == 0 {
            return 0;
        }
        (c.maxmemory as f64 * pct / 100.0) as u64
    } else {
        crate::types::num::memtoull(v.as_bytes()).unwrap_or(0)
    };
    if bytes == 0 {
        return 0;
    }
    bytes.max(128 * 1024).min(usize::MAX as u64) as usize
}

/// Measure client `slot` again (updateClientMemUsageAndBucket); `extra_out`: output on its way to it that
/// its counters do not show yet. A client that may not be evicted only leaves its bucket, keeping the
/// memory last measured, unless `all` (the cron's measure, updateClientMemoryUsage): as in Redis, what
/// such a client counts in the total is measured between its commands, not in the middle of one.
pub fn update(s: &mut State, slot: usize, extra_out: usize, all: bool) {
    let Some(c) = s.clients.get(slot) else {
        s.evict.clients.buckets.remove(slot);
        return;
    };
    let (counted, evictable) = (counted(c), evictable(c));
    if !evictable && !all {
        let mem = s.evict.clients.buckets.mem(slot);
        s.evict.clients.buckets.set(slot, mem, counted, false);
        return;
    }
    let u = usage(c, 0, extra_out);
    if let Some(m) = &c.conn_mem {
        m.told.store(u.total.saturating_sub(size_of::<Client>() + CONN_FIXED), Relaxed);
    }
    s.evict.clients.buckets.set(slot, u.total, counted, evictable);
}

/// After a client's batch (with the limit on): measure it, its unsent replies `out` included, and evict if
/// the clients are over the limit; also the full pass CONFIG SET asked for. True when the client itself was
/// evicted (its batch ends without replies).
pub fn after_batch(s: &mut State, me: usize, out: usize) -> bool {
    if std::mem::take(&mut s.evict.clients.recheck) {
        let slots: Vec<usize> = s.clients.iter().map(|(slot, _)| slot).collect();
        for slot in slots {
            update(s, slot, if slot == me { out } else { 0 }, false);
        }
    } else {
        update(s, me, out, false);
    }
    evict(s);
    s.clients.get(me).is_none_or(|c| c.killed)
}

/// Measure a few clients (clientsCron: at least 5 a tick, all of them within about a second), then evict
/// if the clients are over the limit: keeps the total right for clients that had no batch (NO-EVICT
/// clients, replies drained since).
pub fn cron(s: &mut State) {
    s.evict.clients.freeing.prune();
    query_buffers_cron(s);
    if !s.evict.clients.active() {
        return;
    }
    let n = s.clients.len();
    let per_tick = (n / s.config.hz.max(1) as usize).max(5).min(n);
    let cap = s.clients.capacity();
    let mut done = 0;
    let mut slot = s.evict.clients.cursor;
    let mut looked = 0;
    while done < per_tick && looked < cap {
        if slot >= cap {
            slot = 0;
        }
        if s.clients.contains(slot) {
            update(s, slot, 0, true);
            done += 1;
        }
        slot += 1;
        looked += 1;
    }
    s.evict.clients.cursor = slot;
    evict(s);
}

/// The buffer half of clientsCron, for the socket clients: each looked at about every second (at least 5 a
/// tick, as Redis's clientsCron walks its clients), see [`resize_query_buffer`] and [`resize_reply_buffer`].
fn query_buffers_cron(s: &mut State) {
    let n = s.clients.len();
    if n == 0 {
        return;
    }
    let per_tick = (n / s.config.hz.max(1) as usize).max(5).min(n);
    let cap = s.clients.capacity();
    let now = crate::types::clock::now_ms();
    let (mut slot, mut done, mut looked) = (s.clients.qbuf_cursor, 0, 0);
    let (mut shrinks, mut expands) = (0, 0);
    while done < per_tick && looked < cap {
        if slot >= cap {
            slot = 0;
        }
        if let Some(c) = s.clients.get(slot) {
            if let Some(m) = &c.conn_mem {
                // Idle as CLIENT LIST shows it.
                resize_query_buffer(m, (now - c.last_interaction_ms).max(0) / 1000);
                if s.clients.reply_resizing {
                    let size_before = m.rbs.load(Relaxed);
                    match resize_reply_buffer(m, now, s.clients.reply_peak_reset_ms) {
                        Some(w) if w < size_before => shrinks += 1,
                        Some(_) => expands += 1,
                        None => {}
                    }
                }
            }
            done += 1;
        }
        slot += 1;
        looked += 1;
    }
    s.clients.qbuf_cursor = slot;
    s.stats.reply_buffer_shrinks += shrinks;
    s.stats.reply_buffer_expands += expands;
}

/// Close the largest evictable clients until the clients' total is under the limit (evictClients): from
/// the top bucket down. The clients go on the kill list, which the Keyspace acts on after the batch.
pub fn evict(s: &mut State) {
    let limit = s.evict.clients.limit;
    if limit == 0 {
        return;
    }
    let mut bucket = BUCKETS - 1;
    while s.evict.clients.buckets.total() >= limit {
        let Some((slot, b)) = s.evict.clients.buckets.largest(bucket) else {
            log::warn!("Over client maxmemory after evicting all evictable clients");
            break;
        };
        bucket = b;
        s.evict.clients.buckets.remove(slot);
        let Some(c) = s.clients.get_mut(slot) else { continue };
        let line = super::connection::client_line(c, crate::types::clock::now_ms());
        log::info!("Evicting client: {}", line.trim_end());
        c.killed = true;
        s.clients.kill_list.push(slot);
        s.evict.evicted_clients += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::testutil::*;

    fn cfg(pairs: &[(&str, &str)]) -> Config {
        let mut c = Config::default();
        for (k, v) in pairs {
            c.set(k, v).unwrap();
        }
        c
    }

    #[test]
    fn query_buffer_resizes_as_clients_cron() {
        let m = ConnMem::default();
        let set = |len: usize, cap: usize, peak: usize| {
            m.qbuf.store(len, Relaxed);
            m.qmem.store(cap, Relaxed);
            m.qpeak.store(peak, Relaxed);
        };
        // A fresh client's 16 KB buffer: kept while it is active, released once idle over 2 seconds.
        set(0, 16384, 16384);
        assert_eq!(resize_query_buffer(&m, 0), None);
        assert_eq!(resize_query_buffer(&m, 2), None);
        assert_eq!(m.resize.load(Relaxed), NO_RESIZE);
        assert_eq!(resize_query_buffer(&m, 3), Some(0));
        assert_eq!(m.resize.swap(NO_RESIZE, Relaxed), 0);
        // Less than 4 KB wasted: left alone, however idle.
        set(14000, 16384, 16384);
        assert_eq!(resize_query_buffer(&m, 10), None);
        // Over 32 KB and twice the recent peak: trimmed to the peak, or to what it holds if more.
        set(0, 400_002, 16384);
        assert_eq!(resize_query_buffer(&m, 0), Some(16384));
        set(20000, 400_002, 16384);
        assert_eq!(resize_query_buffer(&m, 0), Some(20000));
        // A peak near the size keeps it; the peak restarts from what the buffer holds.
        set(100, 400_002, 300_000);
        assert_eq!(resize_query_buffer(&m, 1), None);
        assert_eq!(m.qpeak.load(Relaxed), 100);
    }

    #[test]
    fn reply_buffer_resizes_as_clients_cron() {
        let m = ConnMem::default();
        assert_eq!((m.rbs.load(Relaxed), m.rbp.load(Relaxed)), (16384, 16384));
        // A new client's first look restarts its peak (Redis 7.0's seconds-for-ms reset time) and changes
        // nothing yet: its peak was the whole buffer.
        assert_eq!(resize_reply_buffer(&m, 1_000_000, 5000), None);
        assert_eq!(m.rbp.load(Relaxed), 0);
        // Replies under half the buffer: shrunk to the peak, 1 KB at least.
        assert_eq!(resize_reply_buffer(&m, 1_000_100, 5000), Some(1024));
        assert_eq!((m.rbs.load(Relaxed), m.out_resize.swap(NO_RESIZE, Relaxed)), (1024, 1024));
        m.rbs.store(16384, Relaxed);
        m.rbp.store(3000, Relaxed);
        assert_eq!(resize_reply_buffer(&m, 1_000_200, 5000), Some(3001));
        // 1 KB is the floor: nothing to shrink.
        m.rbs.store(1024, Relaxed);
        m.rbp.store(10, Relaxed);
        assert_eq!(resize_reply_buffer(&m, 1_000_300, 5000), None);
        // A filled buffer doubles, up to 16 KB.
        for (size, next) in [(1024, Some(2048)), (4096, Some(8192)), (8192, Some(16384)), (16384, None)] {
            m.rbs.store(size, Relaxed);
            m.rbp.store(size, Relaxed);
            assert_eq!(resize_reply_buffer(&m, 1_000_400, -1), next, "{size}");
        }
        // With the reset time at "never" the peak stays; it restarts once the time since the last restart
        // (at 1_000_000) has passed.
        assert_eq!(m.rbp.load(Relaxed), 16384);
        assert_eq!(resize_reply_buffer(&m, 1_004_999, 5000), None);
        assert_eq!(m.rbp.load(Relaxed), 16384);
        assert_eq!(resize_reply_buffer(&m, 1_005_000, 5000), None);
        assert_eq!(m.rbp.load(Relaxed), 0);
    }

    #[test]
    fn limit_is_bytes_or_a_share_of_maxmemory_and_never_below_128k() {
        assert_eq!(limit(&cfg(&[])), 0);
        assert_eq!(limit(&cfg(&[("maxmemory-clients", "3000000")])), 3_000_000);
        assert_eq!(limit(&cfg(&[("maxmemory-clients", "1")])), 128 * 1024);
        assert_eq!(limit(&cfg(&[("maxmemory-clients", "10%")])), 0, "a share of no maxmemory is no limit");
        let c = cfg(&[("maxmemory", "6mb"), ("maxmemory-clients", "7%")]);
        assert_eq!(limit(&c), 6 * 1024 * 1024 * 7 / 100);
    }

    #[test]
    fn a_disconnected_clients_buffers_count_until_its_connection_drops_them() {
        let mut t = new();
        let me = t.me;
        let conn = std::sync::Arc::new(ConnMem::default());
        conn.qbuf.store(100_000, Relaxed);
        conn.qmem.store(100_000, Relaxed);
        t.s.clients[me].conn_mem = Some(conn.clone());
        let mut f = Freeing::default();
        f.add(&t.s.clients[me]);
        // The Keyspace forgets the client; its connection still holds the buffers.
        t.s.clients[me].conn_mem = None;
        assert!(f.bytes() >= 100_000, "{f:?}");
        f.prune();
        assert!(f.bytes() >= 100_000, "still held: not pruned");
        // The connection let go.
        drop(conn);
        assert_eq!(f.bytes(), 0);
        f.prune();
        assert!(f.0.is_empty());
        // A client without a connection (in-process) has nothing on its way out.
        f.add(&t.s.clients[me]);
        assert!(f.0.is_empty());
    }

    #[test]
    fn usage_counts_multi_queue_watches_subscriptions_and_output() {
        let mut t = new();
        let me = t.me;
        let base = usage(&t.s.clients[me], 0, 0).total;
        assert!(base >= size_of::<Client>());
        run(&mut t, &["multi"]);
        let big = "v".repeat(10_000);
        run(&mut t, &["set", "k", &big]);
        let u = usage(&t.s.clients[me], 0, 0);
        assert_eq!(u.multi, 3 + 1 + 10_000, "multi-mem is the queued arguments' bytes");
        assert!(u.total >= base + 10_000);
        run(&mut t, &["discard"]);
        for i in 0..100 {
            run(&mut t, &["watch", &format!("key:{i}")]);
        }
        let watching = usage(&t.s.clients[me], 0, 0).total;
        assert!(watching >= base + 100 * size_of::<crate::commands::multi::Watched>());
        let with_out = usage(&t.s.clients[me], 0, 5000);
        assert_eq!(with_out.omem, 5000);
        assert_eq!(with_out.total, watching + 5000);
        run(&mut t, &["unwatch"]);
        run_raw(&mut t, &["psubscribe", "a*", "b*", "c*"]);
        assert!(usage(&t.s.clients[me], 0, 0).total > base);
    }

    #[test]
    fn evicts_largest_first_only_until_under_the_limit_and_never_no_evict_clients() {
        let mut t = new();
        t.s.config.set("maxmemory-clients", "1mb").unwrap();
        t.s.evict.clients.configure(&t.s.config);
        let small = other(&mut t);
        let big = other(&mut t);
        let guarded = other(&mut t);
        t.s.clients[guarded].no_evict = true;
        // Unsent output stands for each client's buffers here.
        update(&mut t.s, small, 200 << 10, false);
        update(&mut t.s, guarded, 600 << 10, true);
        update(&mut t.s, big, 300 << 10, false);
        evict(&mut t.s);
        // 1.1 MB in all: the largest evictable client goes, the no-evict one (larger) stays, then it is under.
        assert_eq!(t.s.clients.kill_list, vec![big]);
        assert!(t.s.clients[big].killed && !t.s.clients[small].killed && !t.s.clients[guarded].killed);
        assert_eq!(t.s.evict.evicted_clients, 1);
        assert!(t.s.evict.clients.buckets.total() < 1 << 20);
        // Over again with only the no-evict client big enough: the small one goes, then nothing is left.
        update(&mut t.s, guarded, 2 << 20, false);
        evict(&mut t.s);
        assert_eq!(t.s.clients.kill_list, vec![big], "a no-evict client is measured only between its commands");
        update(&mut t.s, guarded, 2 << 20, true);
        evict(&mut t.s);
        assert_eq!(t.s.clients.kill_list, vec![big, small]);
        assert_eq!(t.s.evict.evicted_clients, 2);
    }

    #[test]
    fn turning_the_limit_off_forgets_the_buckets() {
        let mut t = new();
        t.s.config.set("maxmemory-clients", "1mb").unwrap();
        t.s.evict.clients.configure(&t.s.config);
        assert!(t.s.evict.clients.recheck && t.s.evict.clients.active());
        let me = t.me;
        assert!(!after_batch(&mut t.s, me, 0));
        assert!(!t.s.evict.clients.recheck);
        assert!(t.s.evict.clients.buckets.total() > 0);
        t.s.config.set("maxmemory-clients", "0").unwrap();
        t.s.evict.clients.configure(&t.s.config);
        assert!(!t.s.evict.clients.active());
        assert_eq!(t.s.evict.clients.buckets.total(), 0);
    }
}
