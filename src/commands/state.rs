//! The Keyspace's state: `State` (every database, client record and server-wide counter the commands act on)
//! with its bookkeeping methods, and the small records it holds (commands layer).

use super::client::{Client, DbKey};
use super::table::table;
use super::{aof, multi, propagate, scripting};
use crate::config::Config;
use crate::error::CmdError;
use crate::types::clock;
use crate::types::db::Db;
use slab::Slab;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

/// Per-command counters (INFO commandstats).
#[derive(Default, Clone, Copy, Debug)]
pub struct CmdStat {
    pub calls: u64,
    pub usec: u64,
    pub rejected: u64,
    pub failed: u64,
}

/// Server-wide counters (INFO stats).
#[derive(Default, Debug)]
pub struct Stats {
    pub connections_received: u64,
    pub commands_processed: u64,
    pub net_input_bytes: u64,
    pub net_output_bytes: u64,
    pub rejected_connections: u64,
    pub error_replies: u64,
    pub expired_keys_active: u64,
    pub evicted_keys: u64,
    pub reads_processed: u64,
    pub writes_processed: u64,
    pub expire_cycle_cpu_ms: u64,
    pub io_threaded_reads: u64,
    pub client_query_buffer_limit_disconnections: u64,
    /// Cron ticks handled by the Keyspace.
    pub cron_loops: u64,
    /// Command handlers that panicked and were answered `-ERR internal error` (INFO stats
    /// `ferrodis_internal_errors`; see exec.rs).
    pub internal_errors: u64,
}

/// CLIENT PAUSE state.
#[derive(Clone, Copy, Debug)]
pub struct Pause {
    pub until_ms: i64,
    /// ALL pauses every command; WRITE only writes (and EVAL/PUBLISH-like may-replicate ones).
    pub all: bool,
}

/// SHUTDOWN options.
#[derive(Clone, Copy, Debug, Default)]
pub struct ShutdownRequest {
    pub save: Option<bool>,
    pub now: bool,
    pub force: bool,
}

/// Settings read outside the Keyspace thread (by connections and the cron), kept current by CONFIG SET.
#[derive(Debug, Default)]
pub struct Knobs {
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

    /// (soft bytes, seconds) when a soft limit with a time is set.
    pub fn soft(&self) -> Option<(u64, u64)> {
        let soft = self.soft.load(Ordering::Relaxed);
        let secs = self.secs.load(Ordering::Relaxed);
        (soft > 0 && secs > 0).then_some((soft, secs))
    }
}

impl Knobs {
    pub fn update(&self, c: &Config) {
        self.proto_max_bulk_len.store(c.proto_max_bulk_len, Ordering::Relaxed);
        self.client_query_buffer_limit.store(c.client_query_buffer_limit, Ordering::Relaxed);
        self.hz.store(c.hz.clamp(1, 500), Ordering::Relaxed);
        self.active_expire_effort.store(c.active_expire_effort.clamp(1, 10), Ordering::Relaxed);
        for (l, (hard, soft, secs)) in self.obuf_limits.iter().zip(c.client_output_buffer_limits()) {
            l.hard.store(hard, Ordering::Relaxed);
            l.soft.store(soft, Ordering::Relaxed);
            l.secs.store(secs, Ordering::Relaxed);
        }
    }
}

/// Everything the Keyspace owns and commands act on.
pub struct State {
    pub knobs: Arc<Knobs>,
    /// Collection encoding thresholds, from config.
    pub enc: crate::types::encodings::Encodings,
    pub dbs: Vec<Db>,
    pub clients: Slab<Client>,
    pub config: Config,
    pub stats: Stats,
    pub cmd_stats: Vec<CmdStat>,
    pub error_stats: HashMap<String, u64>,
    pub next_client_id: u64,
    pub start_ms: i64,
    pub run_id: String,
    /// Changes since the last save (INFO rdb_changes_since_last_save).
    pub dirty: u64,
    pub lastsave: i64,
    /// Clients to disconnect after this batch (CLIENT KILL, timeout).
    pub kill_list: Vec<usize>,
    pub shutdown: Option<ShutdownRequest>,
    pub pause: Option<Pause>,
    /// DEBUG SET-ACTIVE-EXPIRE.
    pub active_expire: bool,
    /// Addresses actually bound, for INFO and logs.
    pub tcp_port: u16,
    pub executable: String,
    pub peak_memory: usize,
    /// (time ms, commands processed) samples for instantaneous_ops_per_sec.
    pub ops_samples: Vec<(i64, u64)>,
    pub blocked_clients: usize,
    /// Whether the server listens on sockets at all (embedded without listener: false).
    pub io_threads_active: bool,
    /// WATCHed keys: (db, key) -> watching client slots.
    pub watched_keys: hashbrown::HashMap<(usize, Vec<u8>), Vec<usize>>,
    /// Keys clients are blocked on: (db, key) -> client slots in arrival order.
    pub blocked_on: hashbrown::HashMap<(usize, Vec<u8>), std::collections::VecDeque<usize>>,
    /// Keys written since the blocked clients were last served.
    pub ready_keys: Vec<(usize, Vec<u8>)>,
    /// CLIENT UNBLOCK requests: (slot, reply with an error instead of a timeout).
    pub unblock_requests: Vec<(usize, bool)>,
    /// True while EXEC runs its queue: blocking commands must not block there.
    pub in_exec: bool,
    /// Databases record the keys expiry deletes (`Db::expired_log`): the feed or WATCH must hear of them.
    pub expire_logging: bool,
    /// Set by `Ctx::block` during the current command.
    pub block_called: bool,
    /// What replicas replay.
    pub feed: propagate::Feed,
    /// The running command's propagation, when the handler chose it (`Ctx::propagate_as`).
    pub prop_override: Option<Vec<Vec<Vec<u8>>>>,
    /// Clients that became replica streams in this batch (the Keyspace starts feeding them).
    pub new_replicas: Vec<usize>,
    /// Replica streams attached.
    pub replicas: usize,
    /// A script is running (its redis.call commands are executing): scripting.rs set the script's own
    /// OOM rules, and commands that must behave deterministically for scripts (SORT) look here.
    pub in_script: bool,
    /// EVAL's script cache and the function libraries, with their Lua VMs (scripting.rs, function.rs).
    pub scripts: scripting::Scripts,
    /// The append-only file's state and the Keyspace's to-do list for it (aof.rs).
    pub aof: aof::AofState,
}

impl State {
    pub fn new(config: Config) -> State {
        // Handler panics are caught per command (exec.rs); the hook records them instead of printing.
        super::exec::install_panic_hook();
        let dbs = (0..config.databases.max(1)).map(Db::new).collect();
        let run_id: String = (0..40).map(|_| format!("{:x}", crate::types::rng::below(16))).collect();
        let mut s = State {
            knobs: Arc::new(Knobs::default()),
            enc: Default::default(),
            dbs,
            clients: Slab::new(),
            stats: Stats::default(),
            cmd_stats: vec![CmdStat::default(); table().all.len()],
            error_stats: HashMap::new(),
            next_client_id: 1,
            start_ms: clock::system_ms(),
            run_id,
            dirty: 0,
            lastsave: clock::system_ms() / 1000,
            kill_list: Vec::new(),
            shutdown: None,
            pause: None,
            active_expire: true,
            tcp_port: config.port,
            executable: std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_default(),
            peak_memory: 0,
            ops_samples: Vec::new(),
            blocked_clients: 0,
            io_threads_active: false,
            watched_keys: hashbrown::HashMap::new(),
            blocked_on: hashbrown::HashMap::new(),
            ready_keys: Vec::new(),
            unblock_requests: Vec::new(),
            in_exec: false,
            expire_logging: false,
            block_called: false,
            feed: Default::default(),
            prop_override: None,
            new_replicas: Vec::new(),
            replicas: 0,
            in_script: false,
            scripts: Default::default(),
            aof: Default::default(),
            config,
        };
        s.apply_config();
        s
    }

    /// Propagate config values that live elsewhere (after CONFIG SET or start-up).
    pub fn apply_config(&mut self) {
        self.knobs.update(&self.config);
        self.enc = crate::types::encodings::Encodings::from_config(&self.config);
        let lfu = self.config.maxmemory_policy.contains("lfu");
        for db in &mut self.dbs {
            db.lfu = lfu;
        }
    }

    /// Register a client; returns its slot.
    pub fn add_client(&mut self, addr: String, laddr: String) -> usize {
        let id = self.next_client_id;
        self.next_client_id += 1;
        self.stats.connections_received += 1;
        let need_auth = !self.config.requirepass.is_empty();
        self.clients.insert(Client::new(id, addr, laddr, need_auth))
    }

    pub fn remove_client(&mut self, slot: usize) {
        if self.clients.contains(slot) {
            multi::unwatch_all(self, slot);
            self.unblock(slot);
            self.clients.remove(slot);
        }
    }

    /// A key changed: transactions watching it must fail, clients blocked on it get another try.
    #[inline]
    pub fn touch_key(&mut self, db: usize, key: &[u8]) {
        if !self.watched_keys.is_empty() {
            multi::touch_watched(self, db, key);
        }
        if !self.blocked_on.is_empty() && self.blocked_on.contains_key(&DbKey(db, key)) {
            self.ready_keys.push((db, key.to_vec()));
        }
    }

    /// Forget that `slot` is blocked (served, timed out, unblocked or gone).
    pub fn unblock(&mut self, slot: usize) {
        let Some(b) = self.clients.get_mut(slot).and_then(|c| c.blocked.take()) else { return };
        self.blocked_clients = self.blocked_clients.saturating_sub(1);
        for k in b.keys {
            if let Some(q) = self.blocked_on.get_mut(&k) {
                q.retain(|&x| x != slot);
                if q.is_empty() {
                    self.blocked_on.remove(&k);
                }
            }
        }
    }

    /// Record expiry deletions while the feed or WATCH needs them (Redis signals both on every expired key).
    pub fn refresh_expire_logging(&mut self) {
        let on = self.feed.enabled || !self.watched_keys.is_empty();
        if on != self.expire_logging {
            self.expire_logging = on;
            for d in &mut self.dbs {
                d.log_expired = on;
                d.expired_log.clear();
            }
        }
    }

    /// Keys that expiry deleted go to the feed as DEL and touch their watchers (Redis's
    /// deleteExpiredKeyAndPropagate: propagateDeletion and signalModifiedKey).
    pub fn drain_expired(&mut self) {
        for i in 0..self.dbs.len() {
            if self.dbs[i].expired_log.is_empty() {
                continue;
            }
            for k in std::mem::take(&mut self.dbs[i].expired_log) {
                self.feed.expired(i, &k);
                if !self.watched_keys.is_empty() {
                    multi::touch_watched(self, i, &k);
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

    /// Record an error reply in INFO errorstats.
    pub fn count_error(&mut self, err: &CmdError) {
        self.stats.error_replies += 1;
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

    /// Used memory as the allocator counts it.
    pub fn used_memory(&self) -> usize {
        crate::alloc::used_memory()
    }

    /// Would a denyoom command be refused right now?
    pub fn over_maxmemory(&self) -> bool {
        self.config.maxmemory > 0 && crate::alloc::used_memory() as u64 > self.config.maxmemory
    }
}
