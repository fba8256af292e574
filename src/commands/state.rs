//! The Keyspace's state: `State` (every database, client record and server-wide counter the commands act on),
//! grouped into owned parts (`Clients`, `Stats`, `Propagation`, `PubSub`, `Persistence`, `ExecFlags`,
//! `Process`) so a command touches the part it needs, with their bookkeeping methods (commands layer).

use super::client::{Blocked, Client, DbKey};
use super::table::table;
use super::{aof, multi, propagate, pubsub, scripting, tracking};
use crate::config::Config;
use crate::error::CmdError;
use crate::types::clock;
use crate::types::db::Db;
use slab::Slab;
use std::collections::{HashMap, VecDeque};
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

/// Per-command counters (INFO commandstats).
#[derive(Default, Clone, Copy, Debug)]
pub struct CmdStat {
    pub calls: u64,
    pub usec: u64,
    pub rejected: u64,
    pub failed: u64,
}

/// What INFO stats, commandstats, errorstats and the memory figures report: the counters `exec_request`
/// bumps per command, the ones connections and the cron bump, the peak memory and the ops/sec samples the
/// Keyspace's cron takes. Written by exec.rs, multi.rs, scripting.rs and the Keyspace actor; read by INFO and
/// zeroed by CONFIG RESETSTAT (`Stats::reset`; there is no `Default`, which would lack the per-command slots).
#[derive(Debug)]
pub struct Stats {
    pub connections_received: u64,
    pub commands_processed: u64,
    pub net_input_bytes: u64,
    pub net_output_bytes: u64,
    pub rejected_connections: u64,
    pub error_replies: u64,
    /// Errors this replica met running its master's stream (INFO unexpected_error_replies).
    pub unexpected_error_replies: u64,
    /// Background snapshots started (BGSAVE, AOF rewrites, full syncs) and how long the last one held the
    /// Keyspace to begin, in µs: INFO total_forks and latest_fork_usec, where Redis counts its forks.
    pub total_forks: u64,
    pub latest_fork_usec: u64,
    pub expired_keys_active: u64,
    pub evicted_keys: u64,
    pub reads_processed: u64,
    pub writes_processed: u64,
    pub expire_cycle_cpu_ms: u64,
    pub io_threaded_reads: u64,
    pub client_query_buffer_limit_disconnections: u64,
    /// Reply buffers the clients cron shrank and grew (INFO reply_buffer_shrinks / reply_buffer_expands).
    pub reply_buffer_shrinks: u64,
    pub reply_buffer_expands: u64,
    /// Cron ticks handled by the Keyspace.
    pub cron_loops: u64,
    /// Command handlers that panicked and were answered `-ERR internal error` (INFO stats
    /// `ferrodis_internal_errors`; see exec.rs).
    pub internal_errors: u64,
    /// INFO commandstats, indexed by `CommandSpec::id`.
    pub cmd_stats: Vec<CmdStat>,
    /// INFO errorstats: error code -> replies.
    pub error_stats: HashMap<String, u64>,
    /// Highest used memory seen (INFO memory used_memory_peak).
    pub peak_memory: usize,
    /// (time ms, commands processed) samples for instantaneous_ops_per_sec.
    pub ops_samples: Vec<(i64, u64)>,
}

impl Stats {
    /// A background snapshot began at `begun` (ferrodis's stand-in for a fork).
    pub fn snapshot_started(&mut self, begun: std::time::Instant) {
        self.total_forks += 1;
        self.latest_fork_usec = begun.elapsed().as_micros() as u64;
    }

    /// Zeroed counters with a slot per command of the table.
    // No `Default` on purpose: `s.stats = Default::default()` (RESETSTAT before the move) would compile and
    // drop the per-command slots and the ops/sec samples; `reset` is the way.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Stats {
        Stats {
            connections_received: 0,
            commands_processed: 0,
            net_input_bytes: 0,
            net_output_bytes: 0,
            rejected_connections: 0,
            error_replies: 0,
            unexpected_error_replies: 0,
            total_forks: 0,
            latest_fork_usec: 0,
            expired_keys_active: 0,
            evicted_keys: 0,
            reads_processed: 0,
            writes_processed: 0,
            expire_cycle_cpu_ms: 0,
            io_threaded_reads: 0,
            client_query_buffer_limit_disconnections: 0,
            reply_buffer_shrinks: 0,
            reply_buffer_expands: 0,
            cron_loops: 0,
            internal_errors: 0,
            cmd_stats: vec![CmdStat::default(); table().all.len()],
            error_stats: HashMap::new(),
            peak_memory: 0,
            ops_samples: Vec::new(),
        }
    }

    /// Record an error reply in INFO errorstats.
    pub fn count_error(&mut self, err: &CmdError) {
        self.error_replies += 1;
        let code = err.code();
        match self.error_stats.get_mut(code) {
            Some(n) => *n += 1,
            None => {
                // Redis caps distinct error codes at 128 to bound memory.
                if self.error_stats.len() < 128 {
                    self.error_stats.insert(code.to_string(), 1);
                }
            }
        }
    }

    /// CONFIG RESETSTAT: zero every counter and table, restart the peak at `used_memory`. The ops/sec
    /// samples are kept (they are a rate over the last ticks, not a total).
    pub fn reset(&mut self, used_memory: usize) {
        let ops_samples = std::mem::take(&mut self.ops_samples);
        *self = Stats { ops_samples, peak_memory: used_memory, ..Stats::new() };
    }
}

/// CLIENT PAUSE state.
#[derive(Clone, Copy, Debug)]
pub struct Pause {
    pub until_ms: i64,
    /// ALL pauses every command; WRITE only writes (and EVAL/PUBLISH-like may-replicate ones).
    pub all: bool,
}

/// SHUTDOWN options.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ShutdownRequest {
    pub save: Option<bool>,
    pub now: bool,
    pub force: bool,
}

impl ShutdownRequest {
    /// The request a signal makes under its `shutdown-on-sigint` / `shutdown-on-sigterm` words.
    pub fn from_signal_words(words: &str) -> ShutdownRequest {
        let mut req = ShutdownRequest::default();
        for w in words.split_whitespace() {
            match w {
                "save" => req.save = Some(true),
                "nosave" => req.save = Some(false),
                "now" => req.now = true,
                "force" => req.force = true,
                _ => {}
            }
        }
        req
    }
}

/// A shutdown giving lagging replicas until `deadline_ms` to catch up (shutdown-timeout), writes paused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShutdownWait {
    pub deadline_ms: i64,
    pub req: ShutdownRequest,
}

/// Settings read outside the Keyspace thread (by connections and the cron), kept current by CONFIG SET.
#[derive(Debug, Default)]
pub struct Knobs {
    /// The start-up RDB file could not be loaded: the server stops, and the binary exits with status 1.
    pub load_failed: std::sync::atomic::AtomicBool,
    /// A signal's shutdown gave up waiting for a busy script: the stop that follows must not save.
    pub no_final_save: std::sync::atomic::AtomicBool,
    pub proto_max_bulk_len: AtomicU64,
    pub client_query_buffer_limit: AtomicU64,
    pub hz: AtomicU32,
    pub active_expire_effort: AtomicU32,
    /// client-output-buffer-limit per class (`OBUF_NORMAL`, `OBUF_REPLICA`, `OBUF_PUBSUB`): the Keyspace
    /// checks a batch's replies against it as they are produced, a connection checks what it has not written.
    pub obuf_limits: [ObufLimit; 3],
    /// Clients closed for passing their output buffer limit (INFO client_output_buffer_limit_disconnections);
    /// counted where the limit is found passed, on the Keyspace's thread or a connection's.
    pub obuf_disconnections: AtomicU64,
    /// The server is stopping (SIGTERM, SIGINT, `ServerHandle::stop`): a running script is stopped at its
    /// next hook call, so that the Keyspace gets to the shutdown (shared with the script's hook).
    pub shutdown_asap: Arc<AtomicBool>,
    /// The memory limit eviction works toward: maxmemory under an evicting policy, else 0 (the Evictor's
    /// tick looks here before asking the Keyspace for a run).
    pub evict_limit: AtomicU64,
    /// `maxmemory-clients` is on: connections tell the Keyspace when their buffers grow (client_mem.rs).
    pub client_evict: AtomicBool,
    /// Bytes delivered to connections' inboxes and not yet taken for writing (connection.rs `Inbox`):
    /// output on its way out within one pass of the runtime, which eviction leaves out of used memory
    /// (Redis writes a batch's output before it reads more commands, so it never counts it either).
    pub inbox_bytes: Arc<std::sync::atomic::AtomicUsize>,
    /// A new client must authenticate (the default user has a password or is off): its connection parses
    /// with the unauthenticated limits until the Keyspace says otherwise (`Batch::unauthenticated`).
    pub auth_required: AtomicBool,
    /// Protected mode is in force (`protected-mode yes` and the default user needs no password): the
    /// Listener answers clients from other hosts DENIED, as Redis checks each accepted client.
    pub protected: AtomicBool,
}

/// The normal class of client-output-buffer-limit (index into `Knobs::obuf_limits`).
pub const OBUF_NORMAL: usize = 0;
/// The replica class: replication streams.
pub const OBUF_REPLICA: usize = 1;
/// The pubsub class: subscribed clients.
pub const OBUF_PUBSUB: usize = 2;

/// One class's output buffer limit: close at `hard` bytes pending, or after `secs` seconds over `soft` bytes
/// (0 = no such limit).
#[derive(Debug, Default)]
pub struct ObufLimit {
    pub hard: AtomicU64,
    pub soft: AtomicU64,
    pub secs: AtomicU64,
}

impl ObufLimit {
    /// Bytes at which a client must be closed at once: the hard limit, or the soft one when its time is zero.
    #[inline]
    pub fn immediate(&self) -> u64 {
        let hard = self.hard.load(Ordering::Relaxed);
        let soft = self.soft.load(Ordering::Relaxed);
        let mut limit = if hard > 0 { hard } else { u64::MAX };
        if soft > 0 && self.secs.load(Ordering::Relaxed) == 0 {
            limit = limit.min(soft);
        }
        limit
    }

    /// The fewest bytes at which this limit may act (hard or soft), u64::MAX when there is none.
    pub fn lowest(&self) -> u64 {
        let hard = self.hard.load(Ordering::Relaxed);
        let soft = self.soft.load(Ordering::Relaxed);
        [hard, soft].into_iter().filter(|&l| l > 0).min().unwrap_or(u64::MAX)
    }

    /// (soft bytes, seconds) when a soft limit with a time is set.
    pub fn soft(&self) -> Option<(u64, u64)> {
        let soft = self.soft.load(Ordering::Relaxed);
        let secs = self.secs.load(Ordering::Relaxed);
        (soft > 0 && secs > 0).then_some((soft, secs))
    }

    /// Whether a client with `queued` bytes pending has passed this limit: at once over the hard limit, or
    /// over the soft one for its seconds (`over_soft_since` is the client's record of when it went over).
    pub fn passed(&self, queued: usize, over_soft_since: &mut Option<std::time::Instant>) -> bool {
        let mut over = queued as u64 >= self.immediate();
        match self.soft() {
            Some((soft, secs)) if queued as u64 >= soft => {
                let since = *over_soft_since.get_or_insert_with(std::time::Instant::now);
                over |= since.elapsed() >= std::time::Duration::from_secs(secs);
            }
            _ => *over_soft_since = None,
        }
        over
    }
}

impl Knobs {
    /// The client-output-buffer-limit of class `class` (`OBUF_*`; anything past the last is the last).
    pub fn obuf_limit(&self, class: usize) -> &ObufLimit {
        &self.obuf_limits[class.min(self.obuf_limits.len() - 1)]
    }

    /// Copy the knobs' values out of `c`.
    pub fn update(&self, c: &Config) {
        self.proto_max_bulk_len.store(c.proto_max_bulk_len, Ordering::Relaxed);
        self.client_query_buffer_limit.store(c.client_query_buffer_limit, Ordering::Relaxed);
        self.hz.store(c.hz.clamp(1, 500), Ordering::Relaxed);
        // Process-wide: the crash report and the watchdog (crash.rs) act only in the binary, which installs them.
        let watchdog = c.get("watchdog-period").and_then(|v| v.parse().ok()).unwrap_or(0);
        crate::crash::configure(c.get("crash-log-enabled").as_deref() != Some("no"), watchdog, c.hz, c.port);
        self.active_expire_effort.store(c.active_expire_effort.clamp(1, 10), Ordering::Relaxed);
        let evicting = c.maxmemory_policy != "noeviction";
        self.evict_limit.store(if evicting { c.maxmemory } else { 0 }, Ordering::Relaxed);
        // A replica's hard limit below `repl-backlog-size` would close replicas that resync partially
        // (their buffer is the backlog's part): Redis uses the backlog size then (checkClientOutputBufferLimits).
        let backlog = super::replication::backlog_size(c) as u64;
        for (class, (l, (mut hard, soft, secs))) in
            self.obuf_limits.iter().zip(c.client_output_buffer_limits()).enumerate()
        {
            if class == OBUF_REPLICA && hard > 0 {
                hard = hard.max(backlog);
            }
            l.hard.store(hard, Ordering::Relaxed);
            l.soft.store(soft, Ordering::Relaxed);
            l.secs.store(secs, Ordering::Relaxed);
        }
    }
}

/// The connected clients (the slab of `Client` records, indexed by slot: `s.clients[me]` through `Deref`)
/// and what ties clients to keys or to the Keyspace actor: WATCHed keys, blocked clients and the keys that
/// may wake them, and the kill / unblock requests commands leave for the actor. Written by connection.rs
/// (CLIENT), multi.rs (WATCH), `Ctx::block` and the Keyspace actor, which drains the request lists after
/// each batch.
pub struct Clients {
    /// The records, by slot.
    pub slab: Slab<Client>,
    /// CLIENT ID of the next client to connect.
    pub next_id: u64,
    /// Clients to disconnect after this batch (CLIENT KILL, timeout).
    pub kill_list: Vec<usize>,
    /// WATCHed keys: (db, key) -> watching client slots.
    pub watched_keys: hashbrown::HashMap<(usize, Vec<u8>), Vec<usize>>,
    /// Keys clients are blocked on: (db, key) -> client slots in arrival order.
    pub blocked_on: hashbrown::HashMap<(usize, Vec<u8>), VecDeque<usize>>,
    /// Keys written since the blocked clients were last served.
    pub ready_keys: Vec<(usize, Vec<u8>)>,
    /// CLIENT UNBLOCK requests: (slot, reply with an error instead of a timeout).
    pub unblock_requests: Vec<(usize, bool)>,
    /// Clients blocked right now (INFO blocked_clients).
    pub blocked_count: usize,
    /// Clients whose requests wait for a CLIENT PAUSE to end: INFO blocked_clients counts them too, as Redis
    /// blocks them (BLOCKED_POSTPONE). Kept by the Keyspace actor, which holds their batches.
    pub postponed: usize,
    /// Where the clients cron's buffer pass goes on next tick (client_mem.rs).
    pub qbuf_cursor: usize,
    /// DEBUG REPLYBUFFER PEAK-RESET-TIME: how often (ms) a reply buffer's peak restarts (-1: never), and
    /// DEBUG REPLYBUFFER RESIZING: whether the clients cron resizes reply buffers at all.
    pub reply_peak_reset_ms: i64,
    pub reply_resizing: bool,
}

impl Deref for Clients {
    type Target = Slab<Client>;
    #[inline]
    fn deref(&self) -> &Slab<Client> {
        &self.slab
    }
}

impl DerefMut for Clients {
    #[inline]
    fn deref_mut(&mut self) -> &mut Slab<Client> {
        &mut self.slab
    }
}

impl Clients {
    fn new() -> Clients {
        Clients {
            slab: Slab::new(),
            next_id: 1,
            kill_list: Vec::new(),
            watched_keys: hashbrown::HashMap::new(),
            blocked_on: hashbrown::HashMap::new(),
            ready_keys: Vec::new(),
            unblock_requests: Vec::new(),
            blocked_count: 0,
            postponed: 0,
            qbuf_cursor: 0,
            reply_peak_reset_ms: super::client_mem::REPLY_PEAK_RESET_MS,
            reply_resizing: true,
        }
    }

    /// Block `slot` on `keys` until `deadline_ms` (absolute Unix ms, 0 = never), queued behind the clients
    /// already blocked on each key. A client woken with nothing to serve that blocks again on the same keys
    /// keeps its place in line; on other keys it goes to the back, with its first deadline either way.
    pub fn block(&mut self, slot: usize, keys: Vec<(usize, Vec<u8>)>, deadline_ms: i64) {
        let deadline_ms = match &self.slab[slot].blocked {
            Some(b) if b.keys == keys => return,
            Some(b) => b.deadline_ms,
            None => deadline_ms,
        };
        self.unblock(slot);
        for k in &keys {
            self.blocked_on.entry(k.clone()).or_default().push_back(slot);
        }
        self.slab[slot].blocked = Some(Blocked { keys, deadline_ms, stream_ids: Vec::new() });
        self.blocked_count += 1;
    }

    /// Forget that `slot` is blocked (served, timed out, unblocked or gone).
    pub fn unblock(&mut self, slot: usize) {
        let Some(b) = self.slab.get_mut(slot).and_then(|c| c.blocked.take()) else { return };
        self.blocked_count = self.blocked_count.saturating_sub(1);
        for k in b.keys {
            if let Some(q) = self.blocked_on.get_mut(&k) {
                q.retain(|&x| x != slot);
                if q.is_empty() {
                    self.blocked_on.remove(&k);
                }
            }
        }
    }

    /// Every key of `db` (or of all databases) may have changed (FLUSHDB, FLUSHALL, SWAPDB): clients blocked
    /// on them get another try. (WATCH is told beforehand, by `multi::touch_all_watched_in_db`.)
    pub fn touch_db(&mut self, db: Option<usize>) {
        let ready: Vec<_> = self.blocked_on.keys().filter(|(d, _)| db.is_none_or(|x| x == *d)).cloned().collect();
        self.ready_keys.extend(ready);
    }
}

/// What the server propagates and to whom: the feed replicas (and the AOF) replay, the running command's
/// own choice of what to propagate, and the replica streams attached. Written by `exec_request` (after each
/// command), `Ctx::propagate_as`, MULTI/EXEC and scripts (hold/release), SYNC/PSYNC (replication.rs); the
/// Keyspace actor drains the feed and attaches `new_replicas` after each batch.
#[derive(Default)]
pub struct Propagation {
    /// What replicas replay.
    pub feed: propagate::Feed,
    /// The running command's propagation, when the handler chose it (`Ctx::propagate_as`).
    pub chosen: Option<Vec<Vec<Vec<u8>>>>,
    /// Clients that became replica streams in this batch (the Keyspace starts feeding them).
    pub new_replicas: Vec<usize>,
    /// Replica streams attached.
    pub replicas: usize,
    /// The replication backlog (from the first replica on): what partial resyncs are served from.
    pub backlog: Option<super::replication::Backlog>,
    /// Replicas waiting for a full sync's snapshot to start (the Keyspace starts one after the batch).
    pub sync_waiting: Vec<usize>,
    /// Ask the replicas for an ACK after this batch (WAIT): REPLCONF GETACK goes to them, not to the AOF.
    pub getack: bool,
    /// DEBUG REPLICATE's commands, for the replicas only (sent after the batch's writes).
    pub stream_only: bytes::BytesMut,
    /// Unix ms since when no replica is attached while a backlog exists (repl-backlog-ttl).
    pub no_replicas_since_ms: i64,
    /// Full and partial resyncs served (INFO stats sync_full, sync_partial_ok, sync_partial_err).
    pub sync_full: u64,
    pub sync_partial_ok: u64,
    pub sync_partial_err: u64,
    /// Databases record the keys expiry deletes (`Db::expired_log`): the feed or WATCH must hear of them.
    pub expire_logging: bool,
}

/// Durability: changes since the last save, the last save's time and the append-only file's state. Written
/// by every writing command (`dirty`, through `Ctx::modified`), the AOF commands (aof.rs) and the Keyspace
/// actor's AOF glue; read by INFO persistence and LASTSAVE.
pub struct Persistence {
    /// Changes since the last save (INFO rdb_changes_since_last_save); `exec_request` propagates a command
    /// that raised it.
    pub dirty: u64,
    /// Unix time (s) of the last save (LASTSAVE).
    pub lastsave: i64,
    /// The append-only file's state and the Keyspace's to-do list for it (aof.rs).
    pub aof: aof::AofState,
    /// Snapshots: background save, the foreground job waiting, loading (rdb.rs).
    pub rdb: super::rdb::RdbState,
    /// DEBUG SET-SKIP-CHECKSUM-VALIDATION 1: RESTORE does not check payload CRCs.
    pub skip_checksum: bool,
}

/// What the running command is inside of, and whether it blocked: transient flags set and restored around
/// one command by exec.rs, MULTI/EXEC (multi.rs) and scripts (scripting.rs, function.rs), read by commands
/// that must behave differently there (blocking ones, SORT, BGREWRITEAOF...). `exec_request` puts them back
/// when a handler panics.
#[derive(Clone, Copy, Debug, Default)]
pub struct ExecFlags {
    /// True while EXEC runs its queue: blocking commands must not block there.
    pub in_exec: bool,
    /// A script is running (its redis.call commands are executing): scripting.rs set the script's own
    /// OOM rules, and commands that must behave deterministically for scripts (SORT) look here.
    pub in_script: bool,
    /// Set by `Ctx::block` during the current command.
    pub block_called: bool,
}

/// This server process: who it is (set at start-up, read by INFO server and the replication handshake), and
/// the process-wide switches commands set for the Keyspace actor to act on (CLIENT PAUSE, SHUTDOWN, DEBUG
/// SET-ACTIVE-EXPIRE).
pub struct Process {
    /// Unix time (ms) the server started.
    pub start_ms: i64,
    /// INFO run_id and the replication id (40 hex digits, random per start).
    pub run_id: String,
    /// The TCP port actually bound, for INFO and logs.
    pub tcp_port: u16,
    /// A Listener accepts on sockets (false for an embedded server without one): CONFIG SET port rebinds.
    pub listening: bool,
    /// New TCP listening sockets from CONFIG SET port, for the Keyspace to hand to the Listener after the
    /// batch (it closes the old ones then).
    pub new_listeners: Option<Vec<std::net::TcpListener>>,
    /// Duplicates of the TCP sockets the Listener accepts on (or is about to): CONFIG SET bind keeps the
    /// socket of an address the old and the new list share (config.rs `listen_tcp_reusing`).
    pub listeners: Vec<std::net::TcpListener>,
    /// The configuration file's `rename-command` lines, when it has any: requests are looked up through
    /// them (table.rs `Renames`). None keeps the common case one table lookup, done while parsing.
    pub renames: Option<Box<super::Renames>>,
    /// Path of the running binary (INFO executable).
    pub executable: String,
    /// Whether the server listens on sockets at all (embedded without listener: false).
    pub io_threads_active: bool,
    /// The pause in force (connection.rs `refresh_pause`).
    pub pause: Option<Pause>,
    /// CLIENT PAUSE's own pause; `pause` is it combined with a failover's (Redis's pause purposes).
    pub client_pause: Option<Pause>,
    /// SHUTDOWN requested: the Keyspace actor stops after this batch.
    pub shutdown: Option<ShutdownRequest>,
    /// A signal asked for a shutdown, which the cron starts (Redis's shutdown_asap), with the request the
    /// signal's `shutdown-on-sig*` setting makes.
    pub shutdown_asap: Option<ShutdownRequest>,
    /// A shutdown waiting for lagging replicas (Redis's shutdown_mstime: isShutdownInitiated).
    pub shutdown_wait: Option<ShutdownWait>,
    /// A started shutdown was cancelled (aborted, or its final steps failed): the signal that asked for it
    /// hears so after the batch.
    pub shutdown_cancelled: bool,
    /// DEBUG SET-ACTIVE-EXPIRE.
    pub active_expire: bool,
    /// DEBUG PAUSE-CRON 1: the Keyspace's cron housekeeping and active expiry stop (Redis's serverCron).
    pub cron_paused: bool,
}

/// What operators read to find slow spots: the slow log (SLOWLOG, slowlog.rs), the latency monitor's
/// event series and the per-command latency histograms (LATENCY, INFO latencystats; latency.rs). Fed by
/// `exec_request` after every command (one compare against `watch_us`, plus the histogram while
/// `tracking`) and by the Keyspace's cron (expire-cycle); the thresholds follow the config through
/// `Observe::configure`, called by `State::apply_config`.
#[derive(Debug, Default)]
pub struct Observe {
    /// slowlog-log-slower-than in µs (u64::MAX: the slow log is off).
    pub slow_us: u64,
    /// The smaller of `slow_us` and latency-monitor-threshold in µs: a command faster than this is neither
    /// logged nor sampled, which `exec_request` finds with one compare.
    pub watch_us: u64,
    /// latency-tracking: per-command histograms are kept.
    pub tracking: bool,
    /// The slow log.
    pub slowlog: super::slowlog::SlowLog,
    /// The latency monitor and histograms.
    pub latency: super::latency::Latency,
    /// Clients in MONITOR mode (monitor.rs).
    pub monitors: Vec<usize>,
}

impl Observe {
    /// Take the thresholds and switches from `c`.
    pub fn configure(&mut self, c: &Config) {
        self.slow_us = super::slowlog::threshold_us(c.slowlog_log_slower_than);
        self.latency.threshold_ms = c.latency_monitor_threshold;
        self.watch_us = self.slow_us.min(super::latency::threshold_us(c.latency_monitor_threshold));
        self.tracking = c.get("latency-tracking").as_deref() == Some("yes");
    }
}

/// Everything the Keyspace owns and commands act on.
pub struct State {
    pub knobs: Arc<Knobs>,
    /// Collection encoding thresholds, from config.
    pub enc: crate::types::encodings::Encodings,
    pub dbs: Vec<Db>,
    pub config: Config,
    /// Connected clients and their ties to keys (WATCH, blocking).
    pub clients: Clients,
    /// INFO stats, commandstats, errorstats, peak memory.
    pub stats: Stats,
    /// The propagation feed and replicas.
    pub prop: Propagation,
    /// Pub/sub: who is subscribed to what, the messages this batch delivers, the keyspace events in force.
    /// Written by the pub/sub commands (pubsub.rs), every command that emits a keyspace event, RESET and
    /// `remove_client`; the Keyspace actor sends the outbox to the subscribers' connections after each
    /// batch (one push per subscriber). It lives here, not in an actor of its own, so that PUBLISH counts its
    /// receivers and orders its messages synchronously with the commands around it (see pubsub.rs).
    pub pubsub: pubsub::PubSub,
    /// Client-side caching: the tracking table, BCAST prefixes, invalidations held for the running client
    /// (tracking.rs). Fed by `exec_request` and the key-modified hooks; its messages leave with pub/sub's.
    pub tracking: tracking::Tracking,
    /// dirty, lastsave, the AOF.
    pub persist: Persistence,
    /// The running command's transient flags (EXEC, script, blocked).
    pub exec: ExecFlags,
    /// Identity and process-wide switches (pause, shutdown).
    pub server: Process,
    /// EVAL's script cache and the function libraries, with their Lua VMs (scripting.rs, function.rs).
    pub scripts: scripting::Scripts,
    /// The script running past busy-reply-threshold: other clients get BUSY (busy.rs).
    pub busy: Option<super::busy::BusyScript>,
    /// The socket clients a busy script serves from its hook (installed by the Keyspace).
    pub waiting: Option<Box<dyn super::busy::Waiting>>,
    /// The slow log, the latency monitor and histograms.
    pub obs: Observe,
    /// MIGRATE's request for the Keyspace and its cached-connection count (migrate.rs).
    pub migrate: super::migrate::MigrateState,
    /// Replication: this server's master while it is a replica, and what REPLICAOF asked for.
    pub repl: super::replication::ReplState,
    /// maxmemory eviction: the policy, its candidates, and what the last run left (evict.rs).
    pub evict: super::evict::Eviction,
    /// ACL users and the ACL log (acl.rs).
    pub acl: super::acl::Acl,
    /// Big values deleted by UNLINK (or DEL under lazyfree-lazy-user-del) are freed off this thread.
    pub lazyfree: super::lazyfree::LazyFree,
}

impl State {
    /// A fresh server state for `config`: empty databases, no clients, zeroed counters.
    pub fn new(config: Config) -> State {
        // Handler panics are caught per command (exec.rs); the hook records them instead of printing.
        super::exec::install_panic_hook();
        let dbs = (0..config.databases.max(1)).map(Db::new).collect();
        let run_id: String = (0..40).map(|_| format!("{:x}", crate::types::rng::below(16))).collect();
        // The replication id is drawn apart from the run id, as Redis does: it changes at each promotion.
        let replid = crate::commands::replication::new_replid();
        let mut s = State {
            knobs: Arc::new(Knobs::default()),
            enc: Default::default(),
            dbs,
            clients: Clients::new(),
            stats: Stats::new(),
            prop: Propagation::default(),
            pubsub: Default::default(),
            tracking: Default::default(),
            persist: Persistence {
                dirty: 0,
                lastsave: clock::system_ms() / 1000,
                aof: Default::default(),
                rdb: Default::default(),
                skip_checksum: false,
            },
            exec: ExecFlags::default(),
            server: Process {
                start_ms: clock::system_ms(),
                run_id,
                tcp_port: config.port,
                listening: false,
                new_listeners: None,
                listeners: Vec::new(),
                renames: None,
                executable: std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_default(),
                io_threads_active: false,
                pause: None,
                client_pause: None,
                shutdown: None,
                shutdown_asap: None,
                shutdown_wait: None,
                shutdown_cancelled: false,
                active_expire: true,
                cron_paused: false,
            },
            scripts: Default::default(),
            busy: None,
            waiting: None,
            obs: Observe::default(),
            migrate: Default::default(),
            repl: crate::commands::replication::ReplState::with_replid(replid),
            evict: Default::default(),
            acl: super::acl::Acl::new(&config),
            lazyfree: Default::default(),
            config,
        };
        // Checked when the file was read (Config::load_str refuses what Redis refuses); a Config built in
        // code with bad renames gets the good ones before the first bad one.
        if !s.config.rename_commands().is_empty() {
            let mut r = super::Renames::default();
            for (old, new) in s.config.rename_commands() {
                if r.rename(old, new).is_err() {
                    break;
                }
            }
            s.server.renames = Some(Box::new(r));
        }
        s.apply_config();
        s
    }

    /// Propagate config values that live elsewhere (after CONFIG SET or start-up).
    pub fn apply_config(&mut self) {
        self.knobs.update(&self.config);
        self.obs.configure(&self.config);
        self.enc = crate::types::encodings::Encodings::from_config(&self.config);
        self.pubsub.notify = pubsub::notify_flags(&self.config.notify_keyspace_events);
        self.tracking.max_keys =
            self.config.get("tracking-table-max-keys").and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
        self.evict.configure(&self.config);
        self.knobs.client_evict.store(self.evict.clients.active(), std::sync::atomic::Ordering::Relaxed);
        self.repl.configure(&self.config);
        super::replication::refresh_good_replicas(self);
        let lfu = self.evict.policy.is_lfu();
        let lfu_params = super::evict::Eviction::lfu_params(&self.config);
        let log_new = self.pubsub.notify & crate::config::NOTIFY_NEW != 0;
        let log_miss = self.pubsub.notify & crate::config::NOTIFY_KEY_MISS != 0;
        for db in &mut self.dbs {
            db.lfu = lfu;
            db.lfu_params = lfu_params;
            db.log_new = log_new;
            db.log_miss = log_miss;
            db.new_log.clear();
            db.miss_log.clear();
        }
        self.refresh_expire_logging();
        super::aof::apply_config(self);
        super::acl::publish_auth_required(self);
    }

    /// Register a client; returns its slot.
    pub fn add_client(&mut self, addr: String, laddr: String) -> usize {
        let id = self.clients.next_id;
        self.clients.next_id += 1;
        self.stats.connections_received += 1;
        let authenticated = self.acl.starts_authenticated();
        self.clients.insert(Client::new(id, addr, laddr, self.acl.default_user(), authenticated))
    }

    /// Forget a client that went away: its WATCHes, its block, its subscriptions, its record.
    pub fn remove_client(&mut self, slot: usize) {
        if self.clients.contains(slot) {
            multi::unwatch_all(self, slot);
            pubsub::forget_client(self, slot);
            tracking::disable(self, slot);
            super::monitor::stop(self, slot);
            self.clients.unblock(slot);
            self.clients.remove(slot);
            self.evict.clients.buckets.remove(slot);
        }
    }

    /// A key changed: transactions watching it must fail, clients blocked on it get another try, clients
    /// that may cache it are told (Redis's signalModifiedKey).
    #[inline]
    pub fn touch_key(&mut self, db: usize, key: &[u8]) {
        if !self.clients.watched_keys.is_empty() {
            multi::touch_watched(self, db, key);
        }
        if !self.clients.blocked_on.is_empty() && self.clients.blocked_on.contains_key(&DbKey(db, key)) {
            self.clients.ready_keys.push((db, key.to_vec()));
        }
        if self.tracking.watching() {
            tracking::key_modified(self, key);
        }
    }

    /// Record expiry deletions while the feed, WATCH, the `expired` keyspace event or client tracking needs
    /// them (Redis signals all four on every expired key).
    pub fn refresh_expire_logging(&mut self) {
        let on = self.prop.feed.enabled
            || !self.clients.watched_keys.is_empty()
            || self.pubsub.notify & crate::config::NOTIFY_EXPIRED != 0
            || self.tracking.clients() != 0;
        if on != self.prop.expire_logging {
            self.prop.expire_logging = on;
            for d in &mut self.dbs {
                d.log_expired = on;
                d.expired_log.clear();
            }
        }
    }

    /// Keys that expiry deleted go to the feed as DEL, touch their watchers, publish their `expired` event
    /// and invalidate client caches (Redis's deleteExpiredKeyAndPropagate: propagateDeletion,
    /// signalModifiedKey with no client, notify).
    pub fn drain_expired(&mut self) {
        for i in 0..self.dbs.len() {
            if self.dbs[i].expired_log.is_empty() {
                continue;
            }
            for k in std::mem::take(&mut self.dbs[i].expired_log) {
                self.prop.feed.expired(i, &k);
                if !self.clients.watched_keys.is_empty() {
                    multi::touch_watched(self, i, &k);
                }
                pubsub::expired_event(self, &k, i);
                if self.tracking.watching() {
                    tracking::invalidate(self, &k, 0, true);
                }
            }
        }
    }

    /// Used memory as the allocator counts it.
    pub fn used_memory(&self) -> usize {
        crate::alloc::used_memory()
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{self, run_raw};
    use super::*;

    #[test]
    fn resetstat_zeroes_counters_but_keeps_a_slot_per_command_and_the_ops_samples() {
        let mut t = testutil::new();
        run_raw(&mut t, &["set", "k", "v"]);
        run_raw(&mut t, &["nosuchcommand"]);
        t.s.stats.ops_samples.push((1, 2));
        let set = table().lookup(b"set").unwrap().id;
        assert_eq!(t.s.stats.cmd_stats[set].calls, 1);
        t.s.prop.sync_partial_ok = 3;
        assert_eq!(run_raw(&mut t, &["config", "resetstat"]), "+OK\r\n");
        assert_eq!(t.s.prop.sync_partial_ok, 0);
        assert_eq!(t.s.stats.cmd_stats.len(), table().all.len());
        assert_eq!(t.s.stats.cmd_stats[set].calls, 0);
        assert!(t.s.stats.error_stats.is_empty() && t.s.stats.error_replies == 0);
        assert_eq!(t.s.stats.ops_samples, vec![(1, 2)]);
        assert!(t.s.stats.peak_memory > 0);
        run_raw(&mut t, &["set", "k", "v"]);
        assert_eq!(t.s.stats.cmd_stats[set].calls, 1);
        assert!(run_raw(&mut t, &["info", "commandstats"]).contains("cmdstat_set:calls=1,"));
    }

    #[test]
    fn unblock_forgets_the_client_in_every_queue_and_the_count() {
        let mut t = testutil::new();
        assert_eq!(run_raw(&mut t, &["blpop", "a", "b", "0"]), "");
        assert_eq!(t.s.clients.blocked_count, 1);
        assert_eq!(t.s.clients.blocked_on.len(), 2);
        t.s.clients.unblock(t.me);
        assert!(t.s.clients[t.me].blocked.is_none());
        assert_eq!(t.s.clients.blocked_count, 0);
        assert!(t.s.clients.blocked_on.is_empty());
    }
}
