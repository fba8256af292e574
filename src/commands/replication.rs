//! Replication commands: SYNC, PSYNC, REPLCONF (master side), REPLICAOF/SLAVEOF and ROLE, and the replica
//! state the Keyspace keeps (`ReplState`, the State part `repl`) (commands layer, applied by the Keyspace
//! actor; the link to a master is the ReplicaLink actor, actors/replica.rs).
//!
//! A client that sends SYNC or PSYNC becomes a replica stream: a partial resync gets the backlog from its
//! offset; a full one waits for a fork-less background snapshot (the Keyspace starts it after the batch,
//! sends +FULLRESYNC with its offset, holds the stream meanwhile, then sends the file and what it held), then
//! every propagated write (see `propagate`).
//!
//! REPLICAOF host port makes this server a replica: the command records the request, and after the batch
//! the Keyspace starts a ReplicaLink, which does the handshake, receives the master's RDB, has the Keyspace
//! load it, then feeds the master's command stream to the Keyspace as batches of the master client (a client
//! with `Client::master`, whose writes pass the read-only check and whose replies are not sent).
use super::spec::*;
use super::{Ctx, State};
use crate::error::CmdError;
use bytes::Bytes;
use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;

/// The replica's link state, as ROLE and INFO name it (Redis's repl_state).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum LinkState {
    /// Must connect (first attempt, or after the link dropped).
    Connect = 0,
    /// Connecting (the TCP connection is not up yet).
    Connecting = 1,
    /// Receiving the master's RDB.
    Sync = 2,
    /// Streaming the master's writes.
    Connected = 3,
    /// Connected, in the handshake: PING, AUTH, REPLCONF, PSYNC and its reply (Redis's states from
    /// RECEIVE_PING_REPLY to RECEIVE_PSYNC_REPLY).
    Handshake = 4,
}

impl LinkState {
    fn from_u8(v: u8) -> LinkState {
        match v {
            1 => LinkState::Connecting,
            2 => LinkState::Sync,
            3 => LinkState::Connected,
            4 => LinkState::Handshake,
            _ => LinkState::Connect,
        }
    }

    /// ROLE's name for it.
    pub fn name(self) -> &'static str {
        match self {
            LinkState::Connect => "connect",
            LinkState::Connecting => "connecting",
            LinkState::Handshake => "handshake",
            LinkState::Sync => "sync",
            LinkState::Connected => "connected",
        }
    }
}

/// What the ReplicaLink actor reports as it goes, read by INFO and ROLE without a message round trip.
#[derive(Debug)]
pub struct LinkShared {
    state: AtomicU8,
    /// Offset of the master's stream applied so far (Redis's master->reploff), -1 before the first sync.
    pub offset: AtomicI64,
    /// Offset read from the socket (Redis's read_reploff).
    pub read_offset: AtomicI64,
    /// Unix ms of the last bytes from the master (0: none yet), from the OS clock: the link's thread has no
    /// cached clock kept fresh.
    pub last_io_ms: AtomicI64,
    /// Unix s the link went down (0: never up).
    pub down_since: AtomicI64,
    /// RDB transfer: total bytes (0 when unknown, EOF-marked) and bytes read.
    pub sync_total: AtomicU64,
    pub sync_read: AtomicU64,
    /// The master's replication id (from +FULLRESYNC / +CONTINUE).
    pub replid: std::sync::Mutex<String>,
    /// CLIENT KILL of the master client: the link drops the connection and reconnects (partial resync).
    pub kick: tokio::sync::Notify,
    /// `masteruser` and `masterauth` as CONFIG SET changed them after the link started: its next connection
    /// authenticates with these, as Redis reads them at every connection.
    pub auth: std::sync::Mutex<Option<(String, String)>>,
    /// This link is a failover's (FAILOVER, failover-in-progress): its PSYNC says FAILOVER, which makes the
    /// target a master; `failover_reply` is what the target answered (0: nothing yet, 1: accepted,
    /// 2: refused), for the Keyspace to end or abort the failover.
    pub failover: std::sync::atomic::AtomicBool,
    pub failover_reply: AtomicU8,
}

impl Default for LinkShared {
    fn default() -> Self {
        LinkShared {
            state: AtomicU8::new(LinkState::Connect as u8),
            offset: AtomicI64::new(-1),
            read_offset: AtomicI64::new(-1),
            last_io_ms: AtomicI64::new(0),
            down_since: AtomicI64::new(0),
            sync_total: AtomicU64::new(0),
            sync_read: AtomicU64::new(0),
            replid: std::sync::Mutex::new(String::new()),
            kick: tokio::sync::Notify::new(),
            auth: std::sync::Mutex::new(None),
            failover: std::sync::atomic::AtomicBool::new(false),
            failover_reply: AtomicU8::new(0),
        }
    }
}

impl LinkShared {
    pub fn state(&self) -> LinkState {
        LinkState::from_u8(self.state.load(Ordering::Relaxed))
    }

    pub fn set_state(&self, st: LinkState) {
        let old = self.state.swap(st as u8, Ordering::Relaxed);
        if old == LinkState::Connected as u8 && st != LinkState::Connected {
            self.down_since.store(crate::types::clock::system_ms() / 1000, Ordering::Relaxed);
        }
    }
}

/// Where a replica's full sync stands (Redis's SLAVE_STATE_WAIT_BGSAVE_START / _END).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncWait {
    /// Waiting for the snapshot to start; `psync`: it gets +FULLRESYNC then (SYNC gets only the file).
    Start { psync: bool },
    /// The snapshot is being written; the stream since its start is buffered for it.
    End,
}

/// This server's master, while it is a replica.
#[derive(Debug, Clone)]
pub struct Master {
    pub host: String,
    pub port: u16,
    pub link: Arc<LinkShared>,
}

/// What the Keyspace must do about the link after the batch (REPLICAOF).
#[derive(Debug, Clone)]
pub enum LinkRequest {
    /// Stop the link to the old master, if any, and start one to this one.
    Start(Master),
    /// REPLICAOF NO ONE: stop the link; this server is a master again.
    Stop,
}

/// Replication state of the Keyspace (State::repl).
#[derive(Debug, Default)]
pub struct ReplState {
    /// Set while this server is a replica.
    pub master: Option<Master>,
    /// For the Keyspace to act on after the batch.
    pub request: Option<LinkRequest>,
    /// `replica-read-only` and `replica-serve-stale-data`, cached at CONFIG SET (read per write on a replica).
    pub read_only: bool,
    pub serve_stale: bool,
    /// This server's replication id while it is a master (INFO master_replid): random at start, a new one at
    /// each promotion (REPLICAOF NO ONE), as Redis's changeReplicationId. A replica uses its master's.
    pub replid: String,
    /// The previous master's replication id and the offset after which ours begins (INFO master_replid2,
    /// second_repl_offset), after REPLICAOF NO ONE: replicas of that master may resync partially with us up to
    /// there (PSYNC2).
    pub replid2: Option<(String, i64)>,
    /// Clients blocked in WAIT (woken to look again when an ACK arrives).
    pub waiting: Vec<usize>,
    /// `min-replicas-to-write` and `min-replicas-max-lag` (writes refused with NOREPLICAS when fewer
    /// replicas acknowledged within the lag), and the replicas that did at the last count.
    pub min_to_write: u64,
    pub max_lag: i64,
    pub good: u64,
    /// Keys a client of this writable replica gave a TTL, with a bit per database they may be in (Redis's
    /// slaveKeysWithExpire): the master knows nothing of them, so the replica expires them itself.
    pub own_ttl_keys: std::collections::HashMap<crate::types::bytes::CompactBytes, u64>,
    /// A FAILOVER under way (Redis's failover_state), None: no-failover.
    pub failover: Option<Failover>,
}

/// A coordinated failover (FAILOVER): writes are paused until a replica has everything, then this server
/// becomes that replica's replica and tells it, by PSYNC FAILOVER, to take over.
#[derive(Debug, Clone)]
pub struct Failover {
    /// TO host port, or the first replica found caught up when none was named.
    pub target: Option<(String, u16)>,
    /// Unix ms the wait for the replica ends (0: it never does).
    pub end_ms: i64,
    /// FORCE: fail over at the timeout even if the target has not caught up.
    pub force: bool,
    /// This server is the target's replica now and waits for its answer (failover-in-progress); false:
    /// waiting for the target to catch up (waiting-for-sync).
    pub in_progress: bool,
}

impl Failover {
    /// INFO master_failover_state.
    fn state_name(&self) -> &'static str {
        if self.in_progress {
            "failover-in-progress"
        } else {
            "waiting-for-sync"
        }
    }
}

impl ReplState {
    /// A master's state with replication id `replid`.
    pub fn with_replid(replid: String) -> ReplState {
        ReplState { replid, ..Default::default() }
    }

    /// Cache the options read on the command path.
    pub fn configure(&mut self, c: &crate::config::Config) {
        self.read_only = c.get("replica-read-only").is_none_or(|v| v == "yes");
        self.serve_stale = c.get("replica-serve-stale-data").is_none_or(|v| v == "yes");
        self.min_to_write = c.get("min-replicas-to-write").and_then(|v| v.parse().ok()).unwrap_or(0);
        self.max_lag = c.get("min-replicas-max-lag").and_then(|v| v.parse().ok()).unwrap_or(10);
    }

    /// Are writes refused for want of good replicas (checkGoodReplicasStatus)?
    #[inline]
    pub fn too_few_replicas(&self) -> bool {
        self.min_to_write > 0 && self.max_lag > 0 && self.master.is_none() && self.good < self.min_to_write
    }

    /// The link to the master is up (false when not a replica).
    pub fn link_up(&self) -> bool {
        self.master.as_ref().is_some_and(|m| m.link.state() == LinkState::Connected)
    }
}

/// Does client `me`'s command `spec` write on a writable replica (not the master's stream)? Then, as Redis's
/// lookupKey with LOOKUP_WRITE, its lookups delete keys past their TTL (a read would only hide them), and
/// the TTLs it sets are remembered (`own_ttl_keys`). Returns whether it does; `replica_write_end` undoes it.
#[inline]
pub fn replica_write_begin(s: &mut State, me: usize, spec: &CommandSpec) -> bool {
    if s.repl.master.is_none() || s.repl.read_only || !spec.has(WRITE) || s.clients[me].master {
        return false;
    }
    for db in &mut s.dbs {
        db.lazy_expire = true;
        db.log_ttl = true;
    }
    true
}

/// After a command `replica_write_begin` let write: keys go back to expiring only through the master's DELs,
/// and the keys it gave a TTL join `own_ttl_keys`.
pub fn replica_write_end(s: &mut State) {
    for db in &mut s.dbs {
        db.lazy_expire = false;
        db.log_ttl = false;
        let bit = if db.id < 64 { 1u64 << db.id } else { 0 };
        for k in db.ttl_log.drain(..) {
            if bit != 0 {
                *s.repl.own_ttl_keys.entry(k).or_insert(0) |= bit;
            }
        }
    }
}

/// Expire the keys a writable replica's clients gave a TTL, once it passed (Redis's expireSlaveKeys, run
/// by the active expiry cycle of a replica instead of the sampling one); keys without a TTL any more are
/// forgotten. Returns how many were deleted.
pub fn expire_own_ttl_keys(s: &mut State) -> usize {
    if s.repl.own_ttl_keys.is_empty() {
        return 0;
    }
    let now = crate::types::clock::now_ms();
    let mut expired = 0;
    let dbs = &mut s.dbs;
    s.repl.own_ttl_keys.retain(|key, bits| {
        let mut left = 0u64;
        for (i, db) in dbs.iter_mut().enumerate().take(64) {
            if *bits & (1u64 << i) == 0 {
                continue;
            }
            match db.expire_own_key(key.as_slice(), now) {
                Some(false) => left |= 1u64 << i,
                Some(true) => expired += 1,
                None => {}
            }
        }
        *bits = left;
        left != 0
    });
    expired
}

/// Redis's shared.roslaveerr.
pub const READONLY_ERR: CmdError = CmdError::new("READONLY You can't write against a read only replica.");
/// Redis's shared.noreplicaserr.
pub const NOREPLICAS_ERR: CmdError = CmdError::new("NOREPLICAS Not enough good replicas to write.");
/// Redis's shared.masterdownerr.
pub const MASTERDOWN_ERR: CmdError =
    CmdError::new("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.");

/// A replica whose link is down, with replica-serve-stale-data no: only commands flagged stale run (the
/// MASTERDOWN check, and scriptVerifyAllowStale for a script's calls).
pub fn is_stale(s: &State) -> bool {
    s.repl.master.as_ref().is_some_and(|m| !s.repl.serve_stale && m.link.state() != LinkState::Connected)
}

/// Why a command of a client other than the master is refused on a replica, if it is (processCommand's
/// READONLY and MASTERDOWN checks). `flags`: the command's, or a script's as its shebang declares them
/// (a function without allow-stale is refused on a stale replica).
#[inline]
pub fn replica_refusal(
    s: &State,
    client: &super::Client,
    spec: &CommandSpec,
    flags: u32,
    is_write: bool,
) -> Option<CmdError> {
    s.repl.master.as_ref()?;
    if client.master {
        return None;
    }
    if s.repl.read_only && is_write {
        return Some(READONLY_ERR);
    }
    let deny_stale = flags & STALE == 0
        || (spec.name == "exec" && client.multi.as_deref().is_some_and(super::multi::queued_deny_stale));
    if deny_stale && is_stale(s) {
        return Some(MASTERDOWN_ERR);
    }
    None
}

/// The process became a master or a replica (`replicaof` just changed): its OOM score follows its class, as
/// replicationSetMaster and replicationUnsetMaster call setOOMScoreAdj. A write to /proc, not to a disk.
fn class_changed(s: &State) {
    let _ = crate::oom::apply(&s.config);
}

/// REPLICAOF host port | NO ONE (and its old name SLAVEOF).
fn replicaof(cx: &mut Ctx<'_>) -> CmdResult {
    if cx.s.repl.failover.is_some() {
        return Err(CmdError::new("ERR REPLICAOF not allowed while failing over."));
    }
    if cx.argv.is(1, "no") && cx.argv.is(2, "one") {
        if cx.s.repl.master.is_some() {
            let who = super::connection::client_line(cx.client(), crate::types::clock::now_ms());
            log::info!("MASTER MODE enabled (user request from '{}')", who.trim_end());
            cx.s.repl.request = Some(LinkRequest::Stop);
            cx.s.config.set_replicaof(None);
            class_changed(cx.s);
        }
        cx.out.ok();
        return Ok(());
    }
    if cx.client().replica {
        return Err(CmdError::new("ERR Command is not valid when client is a replica."));
    }
    let port = match crate::types::num::parse_i64(cx.arg(2)) {
        Some(p) if (0..=65535).contains(&p) => p as u16,
        _ => return Err(CmdError::new("ERR Invalid master port")),
    };
    let host = String::from_utf8_lossy(cx.arg(1)).into_owned();
    if let Some(m) = &cx.s.repl.master {
        if m.host.eq_ignore_ascii_case(&host) && m.port == port {
            log::info!(
                "REPLICAOF would result into synchronization with the master we are already connected with. No operation performed."
            );
            cx.out.raw(b"+OK Already connected to specified master\r\n");
            return Ok(());
        }
    }
    let master = Master { host, port, link: Arc::new(LinkShared::default()) };
    let who = super::connection::client_line(cx.client(), crate::types::clock::now_ms());
    log::info!("REPLICAOF {}:{} enabled (user request from '{}')", master.host, master.port, who.trim_end());
    cx.s.config.set_replicaof(Some((&master.host, master.port)));
    class_changed(cx.s);
    cx.s.repl.master = Some(master.clone());
    cx.s.repl.request = Some(LinkRequest::Start(master));
    cx.out.ok();
    Ok(())
}

/// ROLE: master with its offset and online replicas, or slave with its master, link state and offset.
fn role(cx: &mut Ctx<'_>) -> CmdResult {
    match &cx.s.repl.master {
        Some(m) => {
            let (host, port, st, off) = (m.host.clone(), m.port, m.link.state(), m.link.offset.load(Ordering::Relaxed));
            cx.out.array(5);
            cx.out.bulk(b"slave");
            cx.out.bulk(host.as_bytes());
            cx.out.int(port as i64);
            cx.out.bulk(st.name().as_bytes());
            cx.out.int(if st == LinkState::Connected { off } else { -1 });
        }
        None => {
            cx.out.array(3);
            cx.out.bulk(b"master");
            cx.out.int(cx.s.prop.feed.offset as i64);
            let reps: Vec<(String, u16, i64)> =
                cx.s.clients
                    .iter()
                    .map(|(_, c)| c)
                    .filter(|c| c.replica && c.repl_sync.is_none())
                    .map(|c| (replica_ip(c).to_string(), c.repl_port, c.repl_ack_off))
                    .collect();
            cx.out.array(reps.len());
            for (ip, port, off) in reps {
                cx.out.array(3);
                cx.out.bulk(ip.as_bytes());
                cx.out.bulk(port.to_string().as_bytes());
                cx.out.bulk(off.to_string().as_bytes());
            }
        }
    }
    Ok(())
}

/// INFO's replication section.
pub fn info(s: &State, out: &mut String) {
    let role = if s.repl.master.is_some() { "slave" } else { "master" };
    let _ = write!(out, "# Replication\r\nrole:{role}\r\n");
    let mut offset = s.prop.feed.offset as i64;
    let replid = current_replid(s);
    if let Some(m) = &s.repl.master {
        let l = &m.link;
        let st = l.state();
        let off = l.offset.load(Ordering::Relaxed).max(0);
        offset = off;
        let now_s = crate::types::clock::now_ms() / 1000;
        let last_io = match l.last_io_ms.load(Ordering::Relaxed) {
            0 => -1,
            ms => now_s - ms / 1000,
        };
        let _ = write!(
            out,
            "master_host:{}\r\nmaster_port:{}\r\nmaster_link_status:{}\r\nmaster_last_io_seconds_ago:{}\r\nmaster_sync_in_progress:{}\r\nslave_read_repl_offset:{}\r\nslave_repl_offset:{}\r\n",
            m.host,
            m.port,
            if st == LinkState::Connected { "up" } else { "down" },
            if st == LinkState::Connected { last_io } else { -1 },
            (st == LinkState::Sync) as u8,
            l.read_offset.load(Ordering::Relaxed).max(1),
            l.offset.load(Ordering::Relaxed).max(1),
        );
        if st == LinkState::Sync {
            let total = l.sync_total.load(Ordering::Relaxed);
            let read = l.sync_read.load(Ordering::Relaxed);
            let perc = if total > 0 { read as f64 / total as f64 * 100.0 } else { 0.0 };
            let _ = write!(
                out,
                "master_sync_total_bytes:{}\r\nmaster_sync_read_bytes:{}\r\nmaster_sync_left_bytes:{}\r\nmaster_sync_perc:{:.2}\r\nmaster_sync_last_io_seconds_ago:{}\r\n",
                total as i64,
                read,
                total as i64 - read as i64,
                perc,
                last_io.max(0)
            );
        }
        if st != LinkState::Connected {
            let since = match l.down_since.load(Ordering::Relaxed) {
                0 => -1,
                t => now_s - t,
            };
            let _ = write!(out, "master_link_down_since_seconds:{since}\r\n");
        }
        let priority = s.config.get("replica-priority").unwrap_or_else(|| "100".into());
        let announced = (s.config.get("replica-announced").as_deref() != Some("no")) as u8;
        let _ = write!(
            out,
            "slave_priority:{priority}\r\nslave_read_only:{}\r\nreplica_announced:{announced}\r\n",
            s.repl.read_only as u8
        );
    }
    let (replid2, second) = match &s.repl.replid2 {
        Some((id, off)) => (id.as_str(), *off),
        None => ("0000000000000000000000000000000000000000", -1),
    };
    let _ = write!(out, "connected_slaves:{}\r\n", s.prop.replicas);
    if s.repl.min_to_write > 0 && s.repl.max_lag > 0 {
        let _ = write!(out, "min_slaves_good_slaves:{}\r\n", s.repl.good);
    }
    replica_lines(s, out);
    let failover = s.repl.failover.as_ref().map_or("no-failover", Failover::state_name);
    let (active, size, first, histlen) = match &s.prop.backlog {
        Some(b) => (1, b.size(), b.start() + 1, b.histlen()),
        None => (0, backlog_size(&s.config), 0, 0),
    };
    let _ = write!(
        out,
        "master_failover_state:{failover}\r\nmaster_replid:{replid}\r\nmaster_replid2:{replid2}\r\nmaster_repl_offset:{offset}\r\nsecond_repl_offset:{second}\r\nrepl_backlog_active:{active}\r\nrepl_backlog_size:{size}\r\nrepl_backlog_first_byte_offset:{first}\r\nrepl_backlog_histlen:{histlen}\r\n"
    );
}

/// The replication backlog (Redis 7's replication buffer): the stream sent to replicas, kept in blocks for
/// partial resyncs. It holds the last `repl-backlog-size` bytes, and more while a replica in a full sync
/// still needs them (`pin`): those replicas are sent their part of the stream from here once their file is
/// out, so what they wait for is held once, however many they are, and a replica that reconnects meanwhile
/// may resync partially from it. Closed blocks are frozen and handed out as zero-copy slices.
#[derive(Debug)]
pub struct Backlog {
    /// Closed blocks, oldest first, each with the stream offset of its first byte.
    blocks: VecDeque<(u64, Bytes)>,
    /// The block being filled (appends share it; MIN_BLOCK up to `size` / 16 bytes, sized when opened).
    open: Vec<u8>,
    /// Stream offset of the first byte held (it may fall inside the first block).
    start: u64,
    /// Stream offset just after the last byte held.
    end: u64,
    /// `repl-backlog-size`.
    size: usize,
    /// The oldest offset a replica still needs (u64::MAX: none).
    keep: u64,
    /// Bytes the blocks take (the open one's whole capacity), for mem_total_replication_buffers.
    mem: usize,
}

/// The smallest backlog block (Redis's PROTO_REPLY_CHUNK_BYTES). A new block is sized for what is being
/// appended, from this up to `repl-backlog-size` / 16, as Redis's feedReplicationBuffer sizes them.
const MIN_BLOCK: usize = 16 * 1024;

/// Blocks freed per append at most (Redis's REPL_BACKLOG_TRIM_BLOCKS_PER_CALL): a replica that let go of
/// a long stream is trimmed away a little at a time, not in one long pause.
pub const TRIM_PER_CALL: usize = 64;

impl Backlog {
    /// An empty backlog of `size` bytes whose next byte is stream offset `end`. Its first block is there
    /// from the start: the memory maxmemory counts for the backlog does not grow once replicas stream.
    pub fn new(size: usize, end: u64) -> Backlog {
        Backlog {
            blocks: VecDeque::new(),
            open: Vec::with_capacity(MIN_BLOCK),
            start: end,
            end,
            size: size.max(16 * 1024),
            keep: u64::MAX,
            mem: MIN_BLOCK,
        }
    }

    /// Append stream bytes, copied into blocks (filling the open one first, as Redis's
    /// feedReplicationBuffer: blocks are full but the last).
    pub fn append(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            let room = self.open.capacity() - self.open.len();
            if room == 0 {
                self.close_open();
                let cap = data.len().clamp(MIN_BLOCK, (self.size / 16).max(MIN_BLOCK));
                self.open = Vec::with_capacity(cap);
                self.mem += cap;
                continue;
            }
            let n = room.min(data.len());
            self.open.extend_from_slice(&data[..n]);
            self.end += n as u64;
            data = &data[n..];
        }
        self.trim(TRIM_PER_CALL);
    }

    /// Append stream bytes the caller owns already: past what fills the open block, a big batch is kept as
    /// it is, without a copy.
    pub fn append_bytes(&mut self, data: &Bytes) {
        let room = self.open.capacity() - self.open.len();
        if data.len() < room + MIN_BLOCK {
            return self.append(data);
        }
        self.append(&data[..room]);
        self.close_open();
        self.push_block(data.slice(room..));
        self.trim(TRIM_PER_CALL);
    }

    fn push_block(&mut self, b: Bytes) {
        self.mem += b.len();
        self.end += b.len() as u64;
        self.blocks.push_back((self.end - b.len() as u64, b));
    }

    /// Freeze the open block. It is full (blocks are closed when the next append finds no room), so it is
    /// its length in `mem` from now on.
    fn close_open(&mut self) {
        if self.open.is_empty() {
            self.mem -= self.open.capacity();
            self.open = Vec::new();
            return;
        }
        debug_assert_eq!(self.open.len(), self.open.capacity());
        let open = std::mem::take(&mut self.open);
        let at = self.end - open.len() as u64;
        self.blocks.push_back((at, Bytes::from(open)));
    }

    /// The oldest offset a replica in a full sync still needs (None: none does). Moving it back never loses
    /// bytes only when they are still held: callers pin before the bytes after `keep` are trimmed, i.e. when
    /// the replica joins (its offset is the end then).
    pub fn pin(&mut self, keep: Option<u64>) {
        self.keep = keep.unwrap_or(u64::MAX);
    }

    /// Drop what is beyond `repl-backlog-size` and needed by no replica, freeing at most `max_blocks`
    /// blocks (Redis's incrementalTrimReplicationBacklog).
    pub fn trim(&mut self, max_blocks: usize) {
        let target = self.end.saturating_sub(self.size as u64).min(self.keep).max(self.start);
        let mut freed = 0;
        while let Some((at, b)) = self.blocks.front() {
            if at + b.len() as u64 > target {
                break;
            }
            if freed == max_blocks {
                self.start = self.start.max(*at);
                return;
            }
            let b = self.blocks.pop_front().expect("front exists").1;
            self.mem -= b.len();
            freed += 1;
        }
        self.start = target;
    }

    /// Stream offset of the first byte held.
    pub fn start(&self) -> u64 {
        self.start
    }

    /// Stream offset just after the last byte held.
    pub fn end(&self) -> u64 {
        self.end
    }

    /// Bytes held.
    pub fn histlen(&self) -> usize {
        (self.end - self.start) as usize
    }

    /// `repl-backlog-size`.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Memory the blocks take.
    pub fn mem(&self) -> usize {
        self.mem
    }

    /// Change the capacity (CONFIG SET repl-backlog-size), keeping the newest bytes that fit (and what
    /// replicas still need).
    pub fn resize(&mut self, size: usize) {
        self.size = size.max(16 * 1024);
        self.trim(usize::MAX);
    }

    /// The bytes from stream offset `from` to the end, if the backlog still holds them: slices of the
    /// closed blocks (no copy) and a copy of the open block's part.
    pub fn frames_from(&self, from: u64) -> Option<Vec<Bytes>> {
        if from < self.start || from > self.end {
            return None;
        }
        let first = self.blocks.partition_point(|(at, b)| at + b.len() as u64 <= from);
        let mut frames = Vec::with_capacity(self.blocks.len() - first + 1);
        for (at, b) in self.blocks.range(first..) {
            let skip = from.saturating_sub(*at) as usize;
            frames.push(b.slice(skip..));
        }
        let open_at = self.end - self.open.len() as u64;
        let skip = from.saturating_sub(open_at) as usize;
        if skip < self.open.len() {
            frames.push(Bytes::copy_from_slice(&self.open[skip..]));
        }
        Some(frames)
    }

    /// The bytes from stream offset `from` to the end in one buffer, if the backlog still holds them.
    pub fn copy_from(&self, from: u64) -> Option<Vec<u8>> {
        let frames = self.frames_from(from)?;
        let mut v = Vec::with_capacity(frames.iter().map(|f| f.len()).sum());
        for f in frames {
            v.extend_from_slice(&f);
        }
        Some(v)
    }
}

/// The replication buffers (mem_total_replication_buffers: the backlog's blocks and what replica streams
/// have not written yet) and `repl-backlog-size`.
pub fn buffers(s: &State) -> (usize, usize) {
    let mut total = s.prop.backlog.as_ref().map_or(0, |b| b.mem());
    if s.prop.replicas > 0 {
        total += s.clients.iter().filter(|(_, c)| c.replica).map(|(_, c)| c.omem()).sum::<usize>();
    }
    (total, s.prop.backlog.as_ref().map_or_else(|| backlog_size(&s.config), |b| b.size()))
}

/// A fresh replication id: 40 random hex digits.
pub fn new_replid() -> String {
    (0..40).map(|_| format!("{:x}", crate::types::rng::below(16))).collect()
}

/// The replication id of the stream this server serves: its master's while it is a replica (the stream is
/// proxied byte for byte, so offsets and ids are shared), its own otherwise.
pub fn current_replid(s: &State) -> String {
    if let Some(m) = &s.repl.master {
        let id = m.link.replid.lock().map(|g| g.clone()).unwrap_or_default();
        if !id.is_empty() {
            return id;
        }
    }
    s.repl.replid.clone()
}

/// `repl-backlog-size` in bytes.
pub fn backlog_size(c: &crate::config::Config) -> usize {
    c.get("repl-backlog-size").and_then(|v| crate::types::num::memtoull(v.as_bytes())).unwrap_or(1 << 20) as usize
}

/// A backlog from the current offset on, unless there is one (a replica is about to be fed).
pub fn ensure_backlog(s: &mut State) {
    if s.prop.backlog.is_none() {
        s.prop.backlog = Some(Backlog::new(backlog_size(&s.config), s.prop.feed.offset));
    }
}

/// Make client `me` a replica stream, the backlog existing from now on.
fn attach_replica(cx: &mut Ctx<'_>) {
    ensure_backlog(cx.s);
    let me = cx.me;
    let now = crate::types::clock::now_ms();
    let c = cx.client();
    c.replica = true;
    c.repl_ack_ms = now;
    cx.s.prop.new_replicas.push(me);
}

/// A full sync. With persistence available it uses the fork-less snapshot: the replica waits (nothing is
/// answered yet), the Keyspace starts a background save after the batch and then sends +FULLRESYNC with the
/// snapshot's offset, and the file once it is written, and buffers the stream meanwhile (Redis's disk-based
/// sync). Without (an embedded server with no persistence thread) the file is encoded here.
fn full_sync(cx: &mut Ctx<'_>, psync: bool) -> CmdResult {
    if let Some(functions) = cx.client().repl_filter {
        return filtered_sync(cx, psync, functions);
    }
    if cx.s.persist.aof.available {
        let me = cx.me;
        let c = cx.client();
        c.replica = true;
        c.repl_sync = Some(SyncWait::Start { psync });
        cx.s.prop.sync_waiting.push(me);
        cx.s.prop.sync_full += 1;
        let eof = cx.client().repl_capa_eof;
        let cfg = |n: &str| cx.s.config.get(n).unwrap_or_default();
        if eof && cfg("repl-diskless-sync") == "yes" && cfg("repl-diskless-sync-delay") != "0" {
            // The Keyspace's cron starts it once the delay is up, for every replica that came meanwhile.
            log::info!("Delay next BGSAVE for diskless SYNC");
        }
        return Ok(());
    }
    send_file_now(cx, psync, super::rdb::snapshot_file(cx.s));
    attach_replica(cx);
    Ok(())
}

/// A filtered full sync (`redis-cli --functions-rdb`): the file holds no keys, so it is encoded here at
/// once, with no background save to share. An rdb-only replica is closed once it has the file (Redis's
/// SLAVE_STATE_RDB_TRANSMITTED); another is then fed the stream as usual.
fn filtered_sync(cx: &mut Ctx<'_>, psync: bool, functions: bool) -> CmdResult {
    if !cx.client().repl_capa_eof {
        // As Redis, which sends filtered files over the socket only.
        return Err(CmdError::new("ERR Filtered replica requires EOF capability"));
    }
    send_file_now(cx, psync, super::rdb::filtered_file(cx.s, functions));
    if cx.client().repl_rdb_only {
        cx.client().close_after_reply = true;
    } else {
        attach_replica(cx);
    }
    Ok(())
}

/// A full sync's file encoded on the spot, in the reply: +FULLRESYNC with this instant's offset (PSYNC), then
/// the payload as a bulk length and raw bytes with no trailing CRLF, as Redis sends it.
fn send_file_now(cx: &mut Ctx<'_>, psync: bool, rdb: Vec<u8>) {
    if psync {
        let line = format!("+FULLRESYNC {} {}\r\n", current_replid(cx.s), cx.s.prop.feed.offset);
        cx.out.raw(line.as_bytes());
    }
    cx.out.raw(format!("${}\r\n", rdb.len()).as_bytes());
    cx.out.raw(&rdb);
    cx.s.prop.sync_full += 1;
}

/// SYNC
fn sync(cx: &mut Ctx<'_>) -> CmdResult {
    if cx.client().replica {
        return Ok(());
    }
    if cx.s.repl.failover.is_some() {
        return Err(SYNC_WHILE_FAILING_OVER);
    }
    cx.client().repl_pre_psync = true;
    full_sync(cx, false)
}

/// PSYNC replicationid offset: a partial resync (+CONTINUE and the backlog from that offset) when the id is
/// ours and the backlog still holds the offset, a full one (+FULLRESYNC and an RDB) otherwise.
fn psync(cx: &mut Ctx<'_>) -> CmdResult {
    if cx.client().replica {
        return Ok(());
    }
    // PSYNC replid offset FAILOVER: our master hands over to us, if it is the master we replicate.
    if cx.argc() > 3 && cx.argv.is(3, "failover") {
        log::warn!("Failover request received for replid {}.", String::from_utf8_lossy(cx.arg(1)));
        if cx.s.repl.master.is_none() {
            return Err(CmdError::new("ERR PSYNC FAILOVER can't be sent to a master."));
        }
        if cx.arg(1) != current_replid(cx.s).as_bytes() {
            return Err(CmdError::new("ERR PSYNC FAILOVER replid must match my replid."));
        }
        unset_master_now(cx.s);
        let who = super::connection::client_line(cx.client(), crate::types::clock::now_ms());
        log::info!("MASTER MODE enabled (failover request from '{}')", who.trim_end());
    }
    if cx.s.repl.failover.is_some() {
        return Err(SYNC_WHILE_FAILING_OVER);
    }
    let replid = current_replid(cx.s);
    let Some(wanted) = crate::types::num::parse_i64(cx.arg(2)) else {
        log::warn!("Replica {} asks for synchronization but with a wrong offset", cx.client().addr);
        return Err(CmdError::new("ERR value is not an integer or out of range"));
    };
    if cx.s.repl.master.as_ref().is_some_and(|m| m.link.state() != LinkState::Connected) {
        // A replica serves replicas of its own (chained replication) only while its stream flows.
        return Err(CmdError::new("NOMASTERLINK Can't SYNC while not connected with my master"));
    }
    if cx.arg(1) != b"?" {
        // Our id, or (PSYNC2) the id of the master we were a replica of, up to where our history began.
        let asked = cx.arg(1);
        let known = asked == replid.as_bytes()
            || cx.s.repl.replid2.as_ref().is_some_and(|(id2, second)| asked == id2.as_bytes() && wanted <= *second);
        let partial = (known && wanted >= 1)
            .then(|| cx.s.prop.backlog.as_ref().and_then(|b| b.frames_from(wanted as u64 - 1)))
            .flatten();
        if let Some(frames) = partial {
            cx.out.raw(format!("+CONTINUE {replid}\r\n").as_bytes());
            // Straight from the backlog's blocks into the reply: one copy.
            let mut sent = 0;
            for f in &frames {
                cx.out.raw(f);
                sent += f.len();
            }
            cx.s.prop.sync_partial_ok += 1;
            log::info!(
                "Partial resynchronization request from {} accepted. Sending {sent} bytes of backlog starting from offset {wanted}.",
                cx.client().addr
            );
            attach_replica(cx);
            return Ok(());
        }
        cx.s.prop.sync_partial_err += 1;
        log::info!(
            "Partial resynchronization not accepted: Replication ID mismatch or offset out of backlog range (Replica asked for '{}', offset {wanted}).",
            String::from_utf8_lossy(cx.arg(1))
        );
    }
    full_sync(cx, true)
}

/// REPLCONF option value ...: listening-port, ip-address and capa are recorded or accepted with +OK; ACK
/// and GETACK get no reply, as in Redis (a replica's link answers GETACK itself, with the offset it applied).
fn replconf(cx: &mut Ctx<'_>) -> CmdResult {
    if cx.argc().is_multiple_of(2) {
        return Err(CmdError::SYNTAX);
    }
    if cx.argv.is(1, "ack") {
        let off = crate::types::num::parse_i64(cx.arg(2)).unwrap_or(0);
        let now = crate::types::clock::now_ms();
        let c = cx.client();
        if c.replica {
            c.repl_ack_off = c.repl_ack_off.max(off);
            c.repl_ack_ms = now;
            // Clients in WAIT look again.
            let waiting = std::mem::take(&mut cx.s.repl.waiting);
            cx.s.clients.unblock_requests.extend(waiting.into_iter().map(|w| (w, false)));
        }
        return Ok(());
    }
    if cx.argv.is(1, "getack") {
        return Ok(());
    }
    let mut i = 1;
    while i + 1 < cx.argc() {
        if cx.argv.is(i, "listening-port") {
            let port = crate::types::num::parse_i64(cx.arg(i + 1)).filter(|p| (0..=65535).contains(p));
            cx.client().repl_port = port.ok_or(CmdError::NOT_INT)? as u16;
        } else if cx.argv.is(i, "ip-address") {
            let ip = String::from_utf8_lossy(cx.arg(i + 1)).into_owned();
            cx.client().repl_ip = Some(ip.into_boxed_str());
        } else if cx.argv.is(i, "capa") {
            if cx.argv.is(i + 1, "eof") {
                cx.client().repl_capa_eof = true;
            }
        } else if cx.argv.is(i, "rdb-only") {
            match crate::types::num::parse_i64(cx.arg(i + 1)) {
                Some(v @ 0..=1) => cx.client().repl_rdb_only = v == 1,
                Some(_) => return Err(CmdError::new("ERR value is out of range, must be between 0 and 1")),
                None => return Err(CmdError::NOT_INT),
            }
        } else if cx.argv.is(i, "rdb-filter-only") {
            // Include filters for the file: "functions" is the only one; "" includes nothing.
            let mut functions = false;
            for f in String::from_utf8_lossy(cx.arg(i + 1)).split_whitespace() {
                if !f.eq_ignore_ascii_case("functions") {
                    return Err(CmdError::msg(format!("ERR Unsupported rdb-filter-only option: {f}")));
                }
                functions = true;
            }
            cx.client().repl_filter = Some(functions);
        } else {
            let opt = String::from_utf8_lossy(cx.arg(i)).into_owned();
            return Err(CmdError::msg(format!("ERR Unrecognized REPLCONF option: {opt}")));
        }
        i += 2;
    }
    cx.out.ok();
    Ok(())
}

/// REPLCONF GETACK *, sent to replicas when WAIT needs their offsets.
pub const GETACK: &[u8] = b"*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n";
/// PING, sent every `repl-ping-replica-period` seconds so replicas can tell a live master from a dead link.
pub const PING: &[u8] = b"*1\r\n$4\r\nPING\r\n";

/// A command only replicas get (GETACK, PING) as stream bytes: counted in the replication offset and kept in
/// the backlog like the rest of the stream (a replica counts it too), but never written to the AOF. Call it
/// between batches, when the feed holds nothing unsent.
pub fn stream_only_bytes(s: &mut State, cmd: &[u8]) {
    s.prop.feed.offset += cmd.len() as u64;
    if let Some(b) = &mut s.prop.backlog {
        b.append(cmd);
    }
}

/// Count the replicas that acknowledged within `min-replicas-max-lag` seconds (refreshGoodSlavesCount).
/// A replica's socket hung up while a script holds the Keyspace: it stops counting as a replica now
/// (connected_slaves, the good replicas of min-replicas-to-write), as Redis frees its client from the
/// script's event processing; its record and stream go when the Keyspace forgets the client afterwards.
pub fn replica_hung_up(s: &mut State, slot: usize) {
    let Some(c) = s.clients.get_mut(slot) else { return };
    if !c.replica {
        return;
    }
    c.replica = false;
    s.prop.replicas = s.prop.replicas.saturating_sub(1);
    refresh_good_replicas(s);
}

pub fn refresh_good_replicas(s: &mut State) {
    if s.repl.min_to_write == 0 || s.repl.max_lag == 0 {
        return;
    }
    let now = crate::types::clock::now_ms();
    let lag_ms = s.repl.max_lag * 1000;
    s.repl.good = s.clients.iter().filter(|(_, c)| c.replica && now - c.repl_ack_ms <= lag_ms).count() as u64;
}

/// READONLY / READWRITE: cluster-mode commands; without cluster support Redis answers this error.
fn cluster_disabled(_: &mut Ctx<'_>) -> CmdResult {
    Err(CmdError::new("ERR This instance has cluster support disabled"))
}

/// Replicas whose acknowledged offset reached `offset`.
fn acks_reaching(s: &State, offset: u64) -> i64 {
    s.clients.iter().map(|(_, c)| c).filter(|c| c.replica && c.repl_ack_off >= offset as i64).count() as i64
}

/// WAIT numreplicas timeout: block until that many replicas acknowledged every write made so far, or the
/// timeout (ms, 0 = forever) passes; answers how many did.
fn wait(cx: &mut Ctx<'_>) -> CmdResult {
    if cx.s.repl.master.is_some() {
        return Err(CmdError::new("ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated."));
    }
    let num = cx.int_arg(1)?;
    let timeout = cx.int_arg(2).map_err(|_| CmdError::new("ERR timeout is not an integer or out of range"))?;
    if timeout < 0 {
        return Err(CmdError::new("ERR timeout is negative"));
    }
    // Every write before this WAIT: what the stream holds now, this batch's part included.
    let target = match cx.client().wait {
        Some((t, _)) => t,
        None => cx.s.prop.feed.offset,
    };
    let acked = acks_reaching(cx.s, target);
    if acked >= num || cx.client().multi.is_some() || cx.s.exec.in_exec || cx.s.exec.in_script {
        cx.client().wait = None;
        cx.out.int(acked);
        return Ok(());
    }
    let first = cx.client().wait.is_none();
    cx.client().wait = Some((target, num));
    if first {
        cx.s.prop.getack = true;
    }
    let me = cx.me;
    if !cx.s.repl.waiting.contains(&me) {
        cx.s.repl.waiting.push(me);
    }
    let deadline = if timeout == 0 { 0 } else { crate::types::clock::now_ms() + timeout };
    cx.block(&[], deadline);
    Ok(())
}

/// A WAIT that timed out (or was unblocked): its reply, the replicas that acknowledged so far.
pub fn wait_ended(s: &mut State, me: usize) -> Option<i64> {
    let (target, _) = s.clients.get_mut(me)?.wait.take()?;
    s.repl.waiting.retain(|&w| w != me);
    Some(acks_reaching(s, target))
}

/// The address a replica is listed under: REPLCONF ip-address, or its connection's peer address.
fn replica_ip(c: &super::Client) -> &str {
    match &c.repl_ip {
        Some(ip) => ip,
        None => c.addr.rsplit_once(':').map_or(c.addr.as_str(), |(ip, _)| ip),
    }
}

/// Every replica whose acknowledged offset is not the master's: its name (ip:port), how far behind, its lag
/// in seconds and its state; and how many replicas there are (finishShutdown's report).
pub fn lagging_replicas(s: &State) -> (usize, Vec<(String, i64, i64, &'static str)>) {
    let now = crate::types::clock::now_ms();
    let offset = s.prop.feed.offset as i64;
    let mut total = 0;
    let mut lagging = Vec::new();
    for c in s.clients.iter().map(|(_, c)| c).filter(|c| c.replica) {
        total += 1;
        if c.repl_ack_off != offset {
            let syncing = c.repl_sync.is_some();
            let lag = if syncing { 0 } else { (now - c.repl_ack_ms).max(0) / 1000 };
            let state = if syncing { "wait_bgsave" } else { "online" };
            lagging.push((format!("{}:{}", replica_ip(c), c.repl_port), offset - c.repl_ack_off, lag, state));
        }
    }
    (total, lagging)
}

/// INFO's `slaveN:` lines.
fn replica_lines(s: &State, out: &mut String) {
    let now = crate::types::clock::now_ms();
    for (i, c) in s.clients.iter().map(|(_, c)| c).filter(|c| c.replica).enumerate() {
        let ip = replica_ip(c);
        let syncing = c.repl_sync.is_some();
        let lag = if syncing { 0 } else { (now - c.repl_ack_ms).max(0) / 1000 };
        let state = if syncing { "wait_bgsave" } else { "online" };
        let _ =
            write!(out, "slave{i}:ip={ip},port={},state={state},offset={},lag={lag}\r\n", c.repl_port, c.repl_ack_off);
    }
}

/// syncCommand's refusal while this server fails over.
const SYNC_WHILE_FAILING_OVER: CmdError = CmdError::new("NOMASTERLINK Can't SYNC while failing over");

/// Stop being a replica at once, inside a command (PSYNC FAILOVER, answered as a master in the same call):
/// the master's history becomes our second one (master_replid2), ours goes on under a new id, and our
/// replicas are disconnected to learn it (Redis's replicationUnsetMaster); the Keyspace closes the link
/// after the batch.
pub fn unset_master_now(s: &mut State) {
    let Some(m) = s.repl.master.take() else { return };
    let off = m.link.offset.load(Ordering::Relaxed);
    let id = m.link.replid.lock().map(|g| g.clone()).unwrap_or_default();
    if !id.is_empty() && off >= 0 {
        s.repl.replid2 = Some((id, off + 1));
        s.prop.feed.offset = off as u64;
    } else {
        // Never synced with it: the history is still our own.
        s.repl.replid2 = Some((s.repl.replid.clone(), s.prop.feed.offset as i64 + 1));
    }
    s.repl.replid = new_replid();
    s.prop.feed.db = None;
    s.config.set_replicaof(None);
    class_changed(s);
    let replicas: Vec<usize> = s.clients.iter().filter(|(_, c)| c.replica).map(|(slot, _)| slot).collect();
    s.clients.kill_list.extend(replicas);
    s.repl.request = Some(LinkRequest::Stop);
    super::connection::pause_changed(s);
}

/// A replica stream of ours at `host`:`port` (its announced or peer address and its listening port), as
/// Redis's findReplica.
fn find_replica<'a>(s: &'a State, host: &str, port: i64) -> Option<&'a super::Client> {
    s.clients
        .iter()
        .map(|(_, c)| c)
        .find(|c| c.replica && c.repl_port as i64 == port && replica_ip(c).eq_ignore_ascii_case(host))
}

/// FAILOVER [TO host port [FORCE]] [ABORT] [TIMEOUT ms]: pause writes until a replica (the one named) has
/// the whole stream, then hand over to it (`update_failover`).
fn failover(cx: &mut Ctx<'_>) -> CmdResult {
    let argc = cx.argc();
    if argc == 2 && cx.argv.is(1, "abort") {
        if cx.s.repl.failover.is_none() {
            return Err(CmdError::new("ERR No failover in progress."));
        }
        abort_failover(cx.s, "Failover manually aborted");
        cx.out.ok();
        return Ok(());
    }
    let (mut timeout, mut force, mut to) = (0i64, false, None::<(String, i64)>);
    let mut j = 1;
    while j < argc {
        if cx.argv.is(j, "timeout") && j + 1 < argc && timeout == 0 {
            timeout = cx.int_arg(j + 1)?;
            if timeout <= 0 {
                return Err(CmdError::new("ERR FAILOVER timeout must be greater than 0"));
            }
            j += 1;
        } else if cx.argv.is(j, "to") && j + 2 < argc && to.is_none() {
            let port = cx.int_arg(j + 2)?;
            to = Some((String::from_utf8_lossy(cx.arg(j + 1)).into_owned(), port));
            j += 2;
        } else if cx.argv.is(j, "force") && !force {
            force = true;
        } else {
            return Err(CmdError::SYNTAX);
        }
        j += 1;
    }
    if cx.s.repl.failover.is_some() {
        return Err(CmdError::new("ERR FAILOVER already in progress."));
    }
    if cx.s.repl.master.is_some() {
        return Err(CmdError::new("ERR FAILOVER is not valid when server is a replica."));
    }
    if !cx.s.clients.iter().any(|(_, c)| c.replica) {
        return Err(CmdError::new("ERR FAILOVER requires connected replicas."));
    }
    if force && (timeout == 0 || to.is_none()) {
        return Err(CmdError::new("ERR FAILOVER with force option requires both a timeout and target HOST and IP."));
    }
    let target = match to {
        Some((host, port)) => {
            let Some(r) = find_replica(cx.s, &host, port) else {
                return Err(CmdError::new("ERR FAILOVER target HOST and PORT is not a replica."));
            };
            if r.repl_sync.is_some() {
                return Err(CmdError::new("ERR FAILOVER target replica is not online."));
            }
            log::info!("FAILOVER requested to {host}:{port}.");
            Some((host, port as u16))
        }
        None => {
            log::info!("FAILOVER requested to any replica.");
            None
        }
    };
    let end_ms = if timeout > 0 { crate::types::clock::now_ms().saturating_add(timeout) } else { 0 };
    cx.s.repl.failover = Some(Failover { target, end_ms, force, in_progress: false });
    super::connection::refresh_pause(cx.s);
    cx.out.ok();
    Ok(())
}

/// The failover ended (the target took over, or it was aborted): writes go on.
fn clear_failover(s: &mut State) {
    s.repl.failover = None;
    if let Some(m) = &s.repl.master {
        m.link.failover.store(false, Ordering::Relaxed);
    }
    super::connection::refresh_pause(s);
}

/// Give up a failover, with Redis's log line; one already handed over makes this server a master again.
pub fn abort_failover(s: &mut State, why: &str) {
    let Some(f) = &s.repl.failover else { return };
    match &f.target {
        Some((host, port)) => log::info!("FAILOVER to {host}:{port} aborted: {why}"),
        None => log::info!("FAILOVER to any replica aborted: {why}"),
    }
    if f.in_progress {
        unset_master_now(s);
    }
    clear_failover(s);
}

/// Move a failover on (Redis's updateFailoverStatus, after every batch and cron tick while one is under
/// way): the timeout (fail over anyway with FORCE, else abort), a replica that acknowledged our whole
/// stream (hand over: become its replica, the link's PSYNC says FAILOVER), then the target's answer.
pub fn update_failover(s: &mut State) {
    let Some(f) = &s.repl.failover else { return };
    if f.in_progress {
        let reply = s.repl.master.as_ref().map_or(0, |m| m.link.failover_reply.load(Ordering::Relaxed));
        match reply {
            1 => clear_failover(s),
            2 => abort_failover(s, "Failover target rejected psync request"),
            _ => {}
        }
        return;
    }
    if f.end_ms != 0 && f.end_ms <= crate::types::clock::now_ms() {
        match (&f.target, f.force) {
            (Some((host, port)), true) => {
                log::info!("FAILOVER to {host}:{port} time out exceeded, failing over.");
                hand_over(s);
            }
            _ => abort_failover(s, "Replica never caught up before timeout"),
        }
        return;
    }
    let offset = s.prop.feed.offset as i64;
    let synced = match &f.target {
        Some((host, port)) => find_replica(s, host, *port as i64).is_some_and(|c| c.repl_ack_off == offset),
        None => {
            let found = s.clients.iter().map(|(_, c)| c).find(|c| c.replica && c.repl_ack_off == offset);
            let target = found.map(|c| (replica_ip(c).to_string(), c.repl_port));
            let found = target.is_some();
            if let (Some(f), Some(t)) = (s.repl.failover.as_mut(), target) {
                f.target = Some(t);
            }
            found
        }
    };
    if synced {
        if let Some((host, port)) = s.repl.failover.as_ref().and_then(|f| f.target.as_ref()) {
            log::info!("Failover target {host}:{port} is synced, failing over.");
        }
        hand_over(s);
    }
}

/// Become the failover target's replica (Redis's replicationSetMaster): the Keyspace starts the link after
/// the batch, continuing our own history, and its PSYNC carries FAILOVER.
fn hand_over(s: &mut State) {
    let Some(f) = s.repl.failover.as_mut() else { return };
    let Some((host, port)) = f.target.clone() else { return };
    f.in_progress = true;
    let link = Arc::new(LinkShared::default());
    link.failover.store(true, Ordering::Relaxed);
    let master = Master { host, port, link };
    s.config.set_replicaof(Some((&master.host, master.port)));
    class_changed(s);
    s.repl.master = Some(master.clone());
    s.repl.request = Some(LinkRequest::Start(master));
    super::connection::pause_changed(s);
}

const REPL: u32 = ADMIN | NOSCRIPT | NO_MULTI;

#[rustfmt::skip]
pub const SPECS: &[CommandSpec] = &family("server", [
    cmd("sync", 1, REPL, sync).doc("1.0.0", "", "Internal command used for replication"),
    cmd("psync", -3, REPL, psync).doc("2.8.0", "", "Internal command used for replication"),
    cmd("replicaof", 3, ADMIN | NOSCRIPT | STALE, replicaof).doc("5.0.0", "O(1)", "Make the server a replica of another instance, or promote it as master."),
    cmd("slaveof", 3, ADMIN | NOSCRIPT | STALE, replicaof).doc("1.0.0", "O(1)", "Make the server a replica of another instance, or promote it as master."),
    cmd("failover", -1, ADMIN | NOSCRIPT | STALE, failover).doc("6.2.0", "O(1)", "Start a coordinated failover between this server and one of its replicas."),
    cmd("role", 1, NOSCRIPT | LOADING | STALE | FAST, role).acl(ADMIN_CATEGORY | DANGEROUS).doc("2.8.12", "O(1)", "Return the role of the instance in the context of replication"),
    cmd("wait", 3, NOSCRIPT, wait).acl(CONNECTION).group("generic").doc("3.0.0", "O(1)", "Wait for the synchronous replication of all the write commands sent in the context of the current connection"),
    cmd("readonly", 1, FAST | LOADING | STALE, cluster_disabled).acl(CONNECTION).group("cluster").doc("3.0.0", "O(1)", "Enables read queries for a connection to a cluster replica node"),
    cmd("readwrite", 1, FAST | LOADING | STALE, cluster_disabled).acl(CONNECTION).group("cluster").doc("3.0.0", "O(1)", "Disables read queries for a connection to a cluster replica node"),
    cmd("replconf", -1, ADMIN | NOSCRIPT | LOADING | STALE | ALLOW_BUSY, replconf).doc("3.0.0", "O(1)", "An internal command for configuring the replication stream"),
]);

#[cfg(test)]
mod tests {
    use crate::commands::testutil::{new, run_raw};

    #[test]
    fn resizing_the_backlog_keeps_the_newest_bytes() {
        let mut b = super::Backlog::new(64 * 1024, 0);
        let data: Vec<u8> = (0..50_000u32).map(|i| (i % 253) as u8).collect();
        b.append(&data);
        b.resize(16 * 1024);
        assert_eq!((b.size(), b.end(), b.histlen()), (16 * 1024, 50_000, 16 * 1024));
        assert_eq!(b.copy_from(b.start()).unwrap(), data[data.len() - 16 * 1024..].to_vec());
        assert_eq!(b.copy_from(b.start() - 1), None);
        b.resize(128 * 1024);
        assert_eq!((b.size(), b.histlen()), (128 * 1024, 16 * 1024));
        b.append(&data);
        assert_eq!(b.histlen(), 16 * 1024 + 50_000);
        assert_eq!(b.copy_from(50_000).unwrap(), data);
    }

    #[test]
    fn the_backlog_keeps_the_last_bytes_across_the_wrap() {
        let mut b = super::Backlog::new(16 * 1024, 100);
        assert_eq!((b.start(), b.end(), b.histlen()), (100, 100, 0));
        assert_eq!(b.copy_from(100), Some(Vec::new()));
        assert_eq!(b.copy_from(99), None);
        let chunk: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        b.append(&chunk);
        b.append(&chunk);
        // 20,000 bytes into a 16 KiB ring: the first 3,616 are gone.
        assert_eq!(b.end(), 20_100);
        assert_eq!(b.histlen(), 16 * 1024);
        assert_eq!(b.start(), 20_100 - 16 * 1024);
        assert_eq!(b.copy_from(b.start() - 1), None);
        assert_eq!(b.copy_from(20_101), None);
        let tail = b.copy_from(10_100).unwrap();
        assert_eq!(tail, chunk);
        let all = b.copy_from(b.start()).unwrap();
        assert_eq!(all.len(), 16 * 1024);
        assert_eq!(&all[all.len() - 10_000..], &chunk[..]);
        // An append bigger than the ring keeps its last bytes.
        let big: Vec<u8> = (0..40_000u32).map(|i| (i % 7) as u8).collect();
        b.append(&big);
        assert_eq!(b.copy_from(b.start()).unwrap(), big[big.len() - 16 * 1024..].to_vec());
    }

    #[test]
    fn a_pinned_offset_keeps_the_stream_past_the_size_until_it_is_let_go() {
        let mut b = super::Backlog::new(16 * 1024, 0);
        // A replica in a full sync needs the stream from 1,000 on.
        b.append(&[b'a'; 1_000]);
        b.pin(Some(1_000));
        let mut want = Vec::new();
        for i in 0..20_000u32 {
            let cmd = format!("*1\r\n${}\r\n{i}\r\n", i.to_string().len());
            want.extend_from_slice(cmd.as_bytes());
            b.append(cmd.as_bytes());
        }
        let big = bytes::Bytes::from(vec![b'z'; 200_000]);
        b.append_bytes(&big);
        want.extend_from_slice(&big);
        // Far past 16 KiB, all of it is there for the replica, in blocks, the big append not copied.
        assert_eq!(b.start(), 1_000);
        assert_eq!(b.histlen(), want.len());
        let frames = b.frames_from(1_000).unwrap();
        assert_eq!(frames.concat(), want);
        let inside = |f: &bytes::Bytes| big.as_ptr_range().contains(&f.as_ptr());
        assert!(frames.iter().any(inside), "the big append was copied");
        // In full blocks (16 KiB for this backlog's size), not a frame per append.
        assert!(frames.len() <= want.len() / (16 * 1024) + 3, "{} frames for {} bytes", frames.len(), want.len());
        // Blocks are full but the last: no more than one block's room is spare.
        assert!(b.mem() <= want.len() + super::MIN_BLOCK, "mem {}", b.mem());
        // Let go: trimmed a few blocks at a time, down to the newest 16 KiB.
        b.pin(None);
        b.trim(1);
        assert!(b.start() > 1_000 && b.histlen() > 16 * 1024);
        b.trim(usize::MAX);
        assert_eq!(b.histlen(), 16 * 1024);
        assert_eq!(b.copy_from(b.start()).unwrap(), want[want.len() - 16 * 1024..].to_vec());
        assert!(b.mem() <= 200_000, "only the block holding the last 16 KiB is left: {}", b.mem());
        assert_eq!(b.frames_from(b.start() - 1), None);
    }

    #[test]
    fn psync_continues_from_the_backlog_or_falls_back_to_a_full_sync() {
        let mut t = new();
        run_raw(&mut t, &["set", "k", "v"]);
        let id = t.s.repl.replid.clone();
        let full = run_raw(&mut t, &["psync", "?", "-1"]);
        assert!(full.starts_with(&format!("+FULLRESYNC {id} ")), "{full:?}");
        assert!(t.s.prop.backlog.is_some());
        let end = t.s.prop.backlog.as_ref().unwrap().end();
        t.s.prop.backlog.as_mut().unwrap().append(b"*1\r\n$4\r\nPING\r\n");
        // Another client asks to continue from the offset before that PING.
        let other = t.s.add_client("127.0.0.1:2".into(), String::new());
        t.me = other;
        let r = run_raw(&mut t, &["psync", &id, &(end + 1).to_string()]);
        assert_eq!(r, format!("+CONTINUE {id}\r\n*1\r\n$4\r\nPING\r\n"));
        assert_eq!(t.s.prop.sync_partial_ok, 1);
        let third = t.s.add_client("127.0.0.1:3".into(), String::new());
        t.me = third;
        let r = run_raw(&mut t, &["psync", "0123", "5"]);
        assert!(r.starts_with("+FULLRESYNC"), "{r:?}");
        assert_eq!(t.s.prop.sync_partial_err, 1);
        // An offset that is not a number is refused, and the client stays a plain client.
        let fourth = t.s.add_client("127.0.0.1:4".into(), String::new());
        t.me = fourth;
        assert_eq!(run_raw(&mut t, &["psync", &id, "offset_str"]), "-ERR value is not an integer or out of range\r\n");
        assert!(!t.s.clients[fourth].replica);
        // PSYNC2: the id we had as a replica is accepted up to where our own history began.
        t.s.repl.replid2 = Some(("old".repeat(10), end as i64 + 1));
        let fifth = t.s.add_client("127.0.0.1:5".into(), String::new());
        t.me = fifth;
        let r = run_raw(&mut t, &["psync", &"old".repeat(10), &(end + 1).to_string()]);
        assert!(r.starts_with(&format!("+CONTINUE {id}")), "{r:?}");
        let sixth = t.s.add_client("127.0.0.1:6".into(), String::new());
        t.me = sixth;
        let r = run_raw(&mut t, &["psync", &"old".repeat(10), &(end + 2).to_string()]);
        assert!(r.starts_with("+FULLRESYNC"), "{r:?}");
    }

    #[test]
    fn sync_makes_a_replica_and_sends_the_dataset() {
        let mut t = new();
        run_raw(&mut t, &["set", "k", "some-value"]);
        let r = run_raw(&mut t, &["sync"]);
        let (len, body) = r[1..].split_once("\r\n").unwrap();
        assert!(len.parse::<usize>().unwrap() > 9, "{r:?}");
        assert!(body.starts_with("REDIS0010") && body.contains("some-value"), "{r:?}");
        assert!(t.s.clients[t.me].replica);
        assert_eq!(t.s.prop.new_replicas, vec![t.me]);
        assert!(run_raw(&mut t, &["psync", "?", "-1"]).is_empty());
    }
}
