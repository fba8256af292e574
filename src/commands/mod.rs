//! Commands: the command table and the execution loop the Keyspace actor runs (commands layer).
//!
//! A connection resolves each request to its `CommandSpec` and ships a `Batch` (its read buffer, argument
//! ranges, output buffer) to the Keyspace; `exec_batch` runs the commands in order against `State`, each
//! handler writing its reply into the batch's output. Side effects that need actors (disconnecting a client,
//! shutdown, waking waiters) are left in `State` for the Keyspace to act on after the batch.

pub mod aof;
pub mod connection;
pub mod function;
pub mod geo;
pub mod hash;
pub mod hyperloglog;
pub mod keys;
pub mod list;
pub mod multi;
pub mod propagate;
pub mod replication;
pub mod scripting;
pub mod server;
pub mod set;
pub mod sort;
pub mod spec;
pub mod stream;
pub mod string;
pub mod zset;

use crate::config::Config;
use crate::error::CmdError;
use crate::resp::decode::ArgRef;
use crate::resp::encode::Out;
use crate::types::clock;
use crate::types::db::Db;
use bytes::BytesMut;
use slab::Slab;
pub use spec::*;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

/// The arguments of one command, `argv[0]` being its name. Cheap to copy.
#[derive(Clone, Copy)]
pub struct Argv<'a> {
    input: &'a [u8],
    scratch: &'a [u8],
    refs: &'a [ArgRef],
}

impl<'a> Argv<'a> {
    pub fn new(input: &'a [u8], scratch: &'a [u8], refs: &'a [ArgRef]) -> Argv<'a> {
        Argv { input, scratch, refs }
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.refs.len()
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.refs.is_empty()
    }

    #[inline]
    pub fn get(&self, i: usize) -> &'a [u8] {
        self.refs[i].slice(self.input, self.scratch)
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = &'a [u8]> + 'a {
        let (input, scratch) = (self.input, self.scratch);
        self.refs.iter().map(move |r| r.slice(input, scratch))
    }

    pub fn to_vec(&self) -> Vec<&'a [u8]> {
        self.iter().collect()
    }

    /// Does argument `i` equal `word`, ignoring ASCII case?
    #[inline]
    pub fn is(&self, i: usize, word: &str) -> bool {
        self.get(i).eq_ignore_ascii_case(word.as_bytes())
    }
}

/// One request of a batch, resolved by the connection.
#[derive(Clone, Copy)]
pub struct Request {
    /// The command (for a container command such as CONFIG, the subcommand when it was found).
    pub spec: Option<&'static CommandSpec>,
    pub first_arg: u32,
    pub argc: u32,
}

/// What a connection sends to the Keyspace once per read, and gets back with the replies.
#[derive(Default)]
pub struct Batch {
    /// The connection's read buffer; `args` point into it. Handed back unchanged.
    pub input: BytesMut,
    pub scratch: Vec<u8>,
    pub args: Vec<ArgRef>,
    pub reqs: Vec<Request>,
    /// Replies, encoded.
    pub out: Vec<u8>,
    /// Requests already executed (a batch may be resumed after a pause).
    pub done: usize,
    /// Close the connection once `out` is written (QUIT, killed).
    pub close: bool,
    /// Bytes read from the socket for this batch (INFO total_net_input_bytes).
    pub read_bytes: u64,
    /// Bytes of `input` the requests occupy (set by the connection after parsing).
    pub consumed: usize,
}

impl Batch {
    pub fn argv(&self, r: &Request) -> Argv<'_> {
        let s = r.first_arg as usize;
        Argv::new(&self.input, &self.scratch, &self.args[s..s + r.argc as usize])
    }

    /// Reset for the next read, keeping allocations.
    pub fn clear(&mut self) {
        self.scratch.clear();
        self.args.clear();
        self.reqs.clear();
        self.done = 0;
        self.read_bytes = 0;
        self.consumed = 0;
    }
}

/// CLIENT REPLY mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyMode {
    On,
    Off,
    /// Skip the next command's reply only.
    Skip,
    /// Internal: the command after SKIP is running.
    SkipThis,
}

/// Per-client state, owned by the Keyspace (CLIENT LIST reads it, SELECT/HELLO/AUTH change it).
pub struct Client {
    pub id: u64,
    pub addr: String,
    pub laddr: String,
    pub fd: i64,
    pub name: Option<Vec<u8>>,
    pub db: usize,
    pub resp: u8,
    pub authenticated: bool,
    pub created_ms: i64,
    pub last_interaction_ms: i64,
    pub last_cmd: &'static str,
    pub reply_mode: ReplyMode,
    pub no_evict: bool,
    /// Close after this batch's replies are written (QUIT, CLIENT KILL of itself).
    pub close_after_reply: bool,
    /// Marked by CLIENT KILL / timeout: the Keyspace disconnects it.
    pub killed: bool,
    /// Connected through the in-process API (no socket).
    pub local: bool,
    pub unix_socket: bool,
    /// Bytes of the last query buffer and output buffer seen (CLIENT LIST qbuf / omem).
    pub qbuf: usize,
    pub obuf: usize,
    /// Commands queued since MULTI (None outside a transaction).
    pub multi: Option<Vec<multi::Queued>>,
    /// A command was refused while queueing: EXEC must abort.
    pub multi_error: bool,
    /// Keys this client WATCHes.
    pub watched: Vec<multi::Watched>,
    /// A watched key changed: EXEC must fail.
    pub dirty_cas: bool,
    /// Waiting in a blocking command (BLPOP...).
    pub blocked: Option<Blocked>,
    /// CLIENT UNBLOCK asked to end the wait: Some(true) answers with an error, Some(false) as a timeout.
    pub unblock_pending: Option<bool>,
    /// This connection is a replica stream (after SYNC/PSYNC).
    pub replica: bool,
}

/// What a blocked client waits for.
#[derive(Clone, Debug)]
pub struct Blocked {
    /// (db, key) pairs; a write to any of them runs the command again.
    pub keys: Vec<(usize, Vec<u8>)>,
    /// Absolute Unix ms; 0 = no timeout.
    pub deadline_ms: i64,
    /// XREAD's `$` ids, resolved when it first blocked (a re-run must not see the new entries as old).
    pub stream_ids: Vec<crate::types::stream::StreamId>,
}

impl Client {
    pub fn new(id: u64, addr: String, laddr: String, require_auth: bool) -> Client {
        let now = clock::now_ms();
        Client {
            id,
            addr,
            laddr,
            fd: 0,
            name: None,
            db: 0,
            resp: 2,
            authenticated: !require_auth,
            created_ms: now,
            last_interaction_ms: now,
            last_cmd: "NULL",
            reply_mode: ReplyMode::On,
            no_evict: false,
            close_after_reply: false,
            killed: false,
            local: false,
            unix_socket: false,
            qbuf: 0,
            obuf: 0,
            multi: None,
            multi_error: false,
            watched: Vec::new(),
            dirty_cas: false,
            blocked: None,
            unblock_pending: None,
            replica: false,
        }
    }
}

/// A borrowed (db, key) that looks up maps keyed by `(usize, Vec<u8>)` without building the Vec: every
/// write checks the WATCH and blocked-client maps, and must not allocate to do so.
#[derive(Hash)]
pub struct DbKey<'a>(pub usize, pub &'a [u8]);

impl hashbrown::Equivalent<(usize, Vec<u8>)> for DbKey<'_> {
    fn equivalent(&self, k: &(usize, Vec<u8>)) -> bool {
        self.0 == k.0 && self.1 == k.1.as_slice()
    }
}

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
}

impl Knobs {
    pub fn update(&self, c: &Config) {
        self.proto_max_bulk_len.store(c.proto_max_bulk_len, Ordering::Relaxed);
        self.client_query_buffer_limit.store(c.client_query_buffer_limit, Ordering::Relaxed);
        self.hz.store(c.hz.clamp(1, 500), Ordering::Relaxed);
        self.active_expire_effort.store(c.active_expire_effort.clamp(1, 10), Ordering::Relaxed);
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

/// Execution context handed to a command handler.
pub struct Ctx<'a> {
    pub argv: Argv<'a>,
    pub out: &'a mut Out,
    pub s: &'a mut State,
    /// The calling client's slot in `s.clients`.
    pub me: usize,
    /// The calling client's selected database.
    pub db: usize,
    pub spec: &'static CommandSpec,
}

impl<'a> Ctx<'a> {
    #[inline]
    pub fn arg(&self, i: usize) -> &'a [u8] {
        self.argv.get(i)
    }

    #[inline]
    pub fn argc(&self) -> usize {
        self.argv.len()
    }

    /// The selected database.
    #[inline]
    pub fn db(&mut self) -> &mut Db {
        &mut self.s.dbs[self.db]
    }

    /// The selected database and the reply writer, borrowed together.
    #[inline]
    pub fn db_out(&mut self) -> (&mut Db, &mut Out) {
        (&mut self.s.dbs[self.db], self.out)
    }

    #[inline]
    pub fn client(&mut self) -> &mut Client {
        &mut self.s.clients[self.me]
    }

    /// Note a change to `key` (counts toward dirty; WATCH, tracking and notifications hook in here).
    #[inline]
    pub fn modified(&mut self, key: &[u8]) {
        self.modified_in(self.db, key);
    }

    /// Note a change to `key` in database `db` (MOVE, COPY ... DB).
    pub fn modified_in(&mut self, db: usize, key: &[u8]) {
        self.s.dirty += 1;
        self.s.touch_key(db, key);
    }

    /// Propagate this command as `args` instead of its own arguments (Redis's argument rewriting); may be
    /// called several times to propagate several commands; with no call at all nothing is propagated only
    /// if the command changed nothing.
    pub fn propagate_as(&mut self, args: &[&[u8]]) {
        if self.s.feed.enabled {
            self.s.prop_override.get_or_insert_with(Vec::new).push(args.iter().map(|a| a.to_vec()).collect());
        }
    }

    /// Propagate nothing for this command even though it changed data (its effects went out another way).
    pub fn no_propagate(&mut self) {
        if self.s.feed.enabled {
            self.s.prop_override = Some(Vec::new());
        }
    }

    /// May this command block? Not inside MULTI/EXEC: there blocking commands answer as if timed out.
    pub fn can_block(&self) -> bool {
        !self.s.in_exec
    }

    /// Block the client until one of `keys` (in the selected db) is written, or until `deadline_ms`
    /// (absolute Unix ms, 0 = never). Write no reply: when a key is written the command runs again from the
    /// start (and may block again, keeping its first deadline); on timeout the client gets a null array.
    pub fn block(&mut self, keys: &[&[u8]], deadline_ms: i64) {
        let (me, db) = (self.me, self.db);
        let s = &mut *self.s;
        s.block_called = true;
        let keys: Vec<(usize, Vec<u8>)> = keys.iter().map(|k| (db, k.to_vec())).collect();
        let deadline_ms = match &s.clients[me].blocked {
            // Woken but nothing to serve: stay in line where we were, with the first deadline.
            Some(b) if b.keys == keys => return,
            Some(b) => b.deadline_ms,
            None => deadline_ms,
        };
        s.unblock(me);
        for k in &keys {
            s.blocked_on.entry(k.clone()).or_default().push_back(me);
        }
        s.clients[me].blocked = Some(Blocked { keys, deadline_ms, stream_ids: Vec::new() });
        s.blocked_clients += 1;
    }

    /// Parse argument `i` as an i64 (`ERR value is not an integer or out of range`).
    pub fn int_arg(&self, i: usize) -> Result<i64, CmdError> {
        crate::types::num::parse_i64(self.arg(i)).ok_or(CmdError::NOT_INT)
    }

    /// Parse argument `i` as a float (`ERR value is not a valid float`).
    pub fn float_arg(&self, i: usize) -> Result<f64, CmdError> {
        crate::types::num::parse_f64(self.arg(i)).ok_or(CmdError::NOT_FLOAT)
    }
}

/// The command table, built once.
pub struct Table {
    pub all: Vec<&'static CommandSpec>,
    /// Looked up once per request: a fast hasher matters more than DoS resistance for a fixed key set.
    by_name: HashMap<Vec<u8>, &'static CommandSpec, foldhash::fast::FixedState>,
}

fn build_table() -> Table {
    let families: &[&[CommandSpec]] = &[
        connection::SPECS,
        server::SPECS,
        aof::SPECS,
        keys::SPECS,
        string::SPECS,
        multi::SPECS,
        replication::SPECS,
        list::SPECS,
        hash::SPECS,
        set::SPECS,
        zset::SPECS,
        hyperloglog::SPECS,
        geo::SPECS,
        sort::SPECS,
        scripting::SPECS,
        function::SPECS,
        stream::SPECS,
    ];
    let mut all: Vec<&'static CommandSpec> = Vec::new();
    let mut by_name = HashMap::with_hasher(foldhash::fast::FixedState::default());
    for fam in families {
        for spec in fam.iter() {
            // Leak id-stamped copies so that specs are `&'static` and index the stats arrays.
            let parent_id = all.len();
            let subs: Vec<CommandSpec> =
                spec.subcommands.iter().enumerate().map(|(i, s)| clone_spec(s, parent_id + 1 + i)).collect();
            let subs: &'static [CommandSpec] = Box::leak(subs.into_boxed_slice());
            let mut parent = clone_spec(spec, parent_id);
            parent.subcommands = subs;
            let parent: &'static CommandSpec = Box::leak(Box::new(parent));
            by_name.insert(spec.name.as_bytes().to_vec(), parent);
            all.push(parent);
            all.extend(subs.iter());
        }
    }
    Table { all, by_name }
}

fn clone_spec(s: &CommandSpec, id: usize) -> CommandSpec {
    CommandSpec {
        name: s.name,
        arity: s.arity,
        flags: s.flags,
        first_key: s.first_key,
        last_key: s.last_key,
        key_step: s.key_step,
        categories: s.categories,
        group: s.group,
        since: s.since,
        summary: s.summary,
        complexity: s.complexity,
        handler: s.handler,
        getkeys: s.getkeys,
        subcommands: s.subcommands,
        id,
    }
}

pub fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(build_table)
}

impl Table {
    /// Look a command up by name, case-insensitively.
    pub fn lookup(&self, name: &[u8]) -> Option<&'static CommandSpec> {
        let mut buf = [0u8; 32];
        if name.len() <= buf.len() {
            let b = &mut buf[..name.len()];
            b.copy_from_slice(name);
            b.make_ascii_lowercase();
            self.by_name.get(&b[..]).copied()
        } else {
            None
        }
    }

    /// Resolve a request: the command, or for container commands its subcommand when argv[1] names one.
    pub fn resolve(&self, argv: &Argv<'_>) -> Option<&'static CommandSpec> {
        let spec = self.lookup(argv.get(0))?;
        if !spec.subcommands.is_empty() && argv.len() >= 2 {
            let sub = argv.get(1);
            if let Some(s) = spec.subcommands.iter().find(|s| sub_name(s).as_bytes().eq_ignore_ascii_case(sub)) {
                return Some(s);
            }
        }
        Some(spec)
    }

    /// Top-level commands only.
    pub fn commands(&self) -> impl Iterator<Item = &'static CommandSpec> + '_ {
        self.by_name.values().copied()
    }
}

/// "get" for "config|get".
pub fn sub_name(s: &CommandSpec) -> &'static str {
    s.name.split_once('|').map(|(_, b)| b).unwrap_or(s.name)
}

/// Write `err` as the reply and count it.
pub fn reply_error(s: &mut State, out: &mut Out, err: &CmdError) {
    out.error(&err.0);
    s.count_error(err);
}

/// Why a request was refused before running, if it was.
pub(crate) fn precheck(s: &State, client: &Client, spec: &'static CommandSpec, argv: &Argv<'_>) -> Option<CmdError> {
    if !spec.arity_ok(argv.len()) {
        return Some(CmdError::arity(spec.name));
    }
    if spec.name == "debug" {
        if let Some(e) = server::debug_refusal(s, client) {
            return Some(e);
        }
    }
    if !client.authenticated && !spec.has(NO_AUTH) {
        return Some(CmdError::NOAUTH);
    }
    if spec.has(DENYOOM)
        && !s.in_script
        && !s.aof.loading
        && s.over_maxmemory()
        && s.config.maxmemory_policy == "noeviction"
    {
        return Some(CmdError::OOM);
    }
    if s.aof.mode != aof::AofMode::Off && (spec.has(WRITE) || spec.name == "ping") && !s.in_script {
        if let Some(err) = aof::write_error(s) {
            return Some(err);
        }
    }
    None
}

/// Is the client held back by CLIENT PAUSE for this command? Scripts count by their declared flags
/// (a `no-writes` script or function is a read), as Redis's evalGetCommandFlags.
pub fn paused_for(s: &State, spec: &'static CommandSpec, argv: &Argv<'_>, now: i64) -> bool {
    match s.pause {
        Some(p) if p.until_ms > now => {
            let flags =
                if spec.categories & SCRIPTING != 0 { scripting::effective_flags(s, spec, argv) } else { spec.flags };
            p.all || flags & (WRITE | MAY_REPLICATE) != 0
        }
        _ => false,
    }
}

/// A blocking command's timeout argument (seconds, decimals allowed) as an absolute deadline in Unix ms;
/// 0 means wait forever. Redis's getTimeoutFromObjectOrReply texts.
pub fn block_deadline(arg: &[u8]) -> Result<i64, CmdError> {
    let secs = crate::types::num::parse_f64(arg)
        .filter(|v| v.is_finite())
        .ok_or(CmdError::new("ERR timeout is not a float or out of range"))?;
    if secs < 0.0 {
        return Err(CmdError::new("ERR timeout is negative"));
    }
    let ms = secs * 1000.0;
    if ms > (i64::MAX / 2) as f64 {
        return Err(CmdError::new("ERR timeout is out of range"));
    }
    if ms == 0.0 {
        return Ok(0);
    }
    Ok(clock::now_ms() + (ms.ceil() as i64).max(1))
}

/// Run one resolved request for client `me`.
pub fn exec_request(s: &mut State, me: usize, out: &mut Out, argv: Argv<'_>, spec: Option<&'static CommandSpec>) {
    let Some(spec) = spec else {
        if let Some(c) = s.clients.get_mut(me) {
            if c.multi.is_some() {
                c.multi_error = true;
            }
        }
        let name = argv.get(0);
        let rest: Vec<&[u8]> = argv.iter().skip(1).collect();
        reply_error(s, out, &CmdError::unknown_command(name, &rest));
        return;
    };
    let client = &s.clients[me];
    // A container command whose subcommand was not found: Redis's "unknown subcommand" error.
    if !spec.subcommands.is_empty() {
        let err = if argv.len() >= 2 {
            CmdError::unknown_subcommand(spec.name, argv.get(1))
        } else {
            CmdError::arity(spec.name)
        };
        reply_error(s, out, &err);
        return;
    }
    if client.multi.is_some() && !multi::runs_in_multi(spec) {
        multi::queue(s, me, out, argv, spec);
        return;
    }
    if let Some(err) = precheck(s, client, spec, &argv) {
        let rejected = err != CmdError::NOAUTH;
        if rejected {
            s.cmd_stats[spec.id].rejected += 1;
        }
        if spec.name == "exec" {
            multi::exec_abort(s, me, out, &err);
            return;
        }
        reply_error(s, out, &err);
        return;
    }
    let db = client.db;
    let dirty_before = s.dirty;
    let was_blocked = client.blocked.is_some();
    s.clients[me].last_cmd = spec.name;
    s.block_called = false;
    let start = Instant::now();
    let mark = out.buf.len();
    let res: CmdResult = {
        let mut cx = Ctx { argv, out, s, me, db, spec };
        (spec.handler)(&mut cx)
    };
    if was_blocked && !s.block_called {
        s.unblock(me);
    }
    if s.expire_logging {
        s.drain_expired();
    }
    if s.feed.enabled {
        propagate_effects(s, db, &argv, dirty_before);
    }
    let us = start.elapsed().as_micros() as u64;
    let st = &mut s.cmd_stats[spec.id];
    // A command that blocked is counted once, when it is finally served (as Redis's call() does).
    if !s.block_called {
        st.calls += 1;
    }
    st.usec += us;
    s.stats.commands_processed += 1;
    if let Err(err) = res {
        out.buf.truncate(mark);
        s.cmd_stats[spec.id].failed += 1;
        reply_error(s, out, &err);
    }
}

/// Hand the command's effects to the feed (after its expired keys, `State::drain_expired`).
fn propagate_effects(s: &mut State, db: usize, argv: &Argv<'_>, dirty_before: u64) {
    match s.prop_override.take() {
        Some(cmds) => {
            for c in cmds {
                let args: Vec<&[u8]> = c.iter().map(|a| a.as_slice()).collect();
                s.feed.command(db, &args);
            }
        }
        None if s.dirty > dirty_before => {
            let args = argv.to_vec();
            s.feed.command(db, &args);
        }
        None => {}
    }
}

/// Start or stop the feed, as consumers come and go.
pub fn set_feed_enabled(s: &mut State, on: bool) {
    s.feed.enabled = on;
    s.feed.db = None;
    s.refresh_expire_logging();
}

/// Run a batch's requests from `batch.done` on. Stops early (leaving `done` short of the end) when the
/// client must wait (CLIENT PAUSE); the Keyspace resumes it later.
pub fn exec_batch(s: &mut State, me: usize, batch: &mut Batch) {
    let now = clock::refresh();
    let Some(client) = s.clients.get_mut(me) else {
        batch.close = true;
        return;
    };
    client.last_interaction_ms = now;
    client.qbuf = batch.input.len();
    let mut out = Out::with_buf(std::mem::take(&mut batch.out), client.resp);
    if let Some(b) = &client.blocked {
        // A blocked request ends by CLIENT UNBLOCK or by its deadline: answer it and go on with the batch.
        let unblock = client.unblock_pending.take();
        if unblock.is_some() || (b.deadline_ms != 0 && b.deadline_ms <= now) {
            // The blocked command ends here: this is its one counted call (Redis's updateStatsOnUnblock).
            if let Some(spec) = batch.reqs.get(batch.done).and_then(|r| r.spec) {
                let st = &mut s.cmd_stats[spec.id];
                st.calls += 1;
                if unblock == Some(true) {
                    st.failed += 1;
                }
            }
            if unblock == Some(true) {
                reply_error(s, &mut out, &CmdError::new("UNBLOCKED client unblocked via CLIENT UNBLOCK"));
            } else {
                out.nil_array();
            }
            s.unblock(me);
            batch.done += 1;
        }
    }
    s.stats.net_input_bytes += batch.read_bytes;
    batch.read_bytes = 0;
    s.stats.reads_processed += 1;
    while batch.done < batch.reqs.len() {
        let req = batch.reqs[batch.done];
        if let Some(spec) = req.spec {
            if s.pause.is_some() && paused_for(s, spec, &batch.argv(&req), clock::now_ms()) {
                break;
            }
        }
        if batch.done % 64 == 63 {
            clock::refresh();
        }
        batch.done += 1;
        let argv = batch.argv(&req);
        let client = &mut s.clients[me];
        let mode = client.reply_mode;
        if mode == ReplyMode::Skip {
            client.reply_mode = ReplyMode::SkipThis;
        }
        let mark = out.buf.len();
        exec_request(s, me, &mut out, argv, req.spec);
        let Some(client) = s.clients.get_mut(me) else {
            batch.close = true;
            break;
        };
        if client.blocked.is_some() {
            // Run this request again when woken (or answer its timeout): the rest of the batch waits.
            batch.done -= 1;
            client.reply_mode = mode;
            break;
        }
        match client.reply_mode {
            ReplyMode::Off => out.buf.truncate(mark),
            ReplyMode::SkipThis => {
                out.buf.truncate(mark);
                client.reply_mode = ReplyMode::On;
            }
            _ => {}
        }
        out.resp = client.resp;
        if client.close_after_reply || client.killed {
            batch.close = true;
            batch.done = batch.reqs.len();
            break;
        }
        if s.aof.load_pending {
            // DEBUG LOADAOF: the Keyspace reloads the files, writes its reply, then runs the rest.
            break;
        }
    }
    s.stats.net_output_bytes += out.buf.len() as u64;
    batch.out = out.buf;
}

/// Lay separate arguments out as one buffer and the ranges into it, the form `Argv` reads (commands that do not
/// come from a connection's read buffer: scripts' redis.call, in-process helpers, tests).
pub fn pack_args<I>(args: I) -> (Vec<u8>, Vec<ArgRef>)
where
    I: IntoIterator,
    I::Item: AsRef<[u8]>,
{
    let args = args.into_iter();
    let mut input = Vec::new();
    let mut refs = Vec::with_capacity(args.size_hint().0);
    for a in args {
        let a = a.as_ref();
        refs.push(ArgRef { start: input.len() as u32, len: a.len() as u32 });
        input.extend_from_slice(a);
    }
    (input, refs)
}

/// Run one command given as plain arguments (unit tests and in-process helpers). The client must exist.
pub fn run_args(s: &mut State, me: usize, args: &[&[u8]]) -> Vec<u8> {
    let (input, refs) = pack_args(args);
    let argv = Argv::new(&input, &[], &refs);
    let spec = table().resolve(&argv);
    let resp = s.clients[me].resp;
    let mut out = Out::new(resp);
    clock::refresh();
    exec_request(s, me, &mut out, argv, spec);
    out.buf
}

/// Outcome of parsing a connection's buffered input into a batch.
pub struct Parsed {
    /// Bytes of `batch.input` holding the parsed requests.
    pub consumed: usize,
    /// A protocol error after the parsed requests: reply it, then close.
    pub error: Option<crate::error::ProtocolError>,
    /// Total input bytes the next incomplete request needs, when known (to size the read buffer).
    pub need: usize,
    /// Parsing stopped at `max_bytes` with more input to parse: run another batch before reading.
    pub more: bool,
}

/// Input one batch takes at most before the Keyspace serves other clients. A connection with more buffered
/// input yields to the runtime's socket poll between batches (see actors::connection), so this bounds the
/// work one client gets per event-loop turn, as Redis's 16 KB read per client per turn does; pipelines of
/// redis-benchmark's size (hundreds of bytes) fit one batch.
pub const BATCH_BYTES: usize = 8 * 1024;

/// Decode the complete requests in `batch.input`, up to about `max_bytes`, resolving each to its command.
pub fn parse_batch(batch: &mut Batch, max_bulk: u64, max_bytes: usize) -> Parsed {
    use crate::resp::decode::{parse_one, Step};
    let table = table();
    let mut pos = 0;
    loop {
        if pos >= max_bytes && !batch.reqs.is_empty() {
            return Parsed { consumed: pos, error: None, need: 0, more: pos < batch.input.len() };
        }
        match parse_one(&batch.input, pos, max_bulk, &mut batch.args, &mut batch.scratch) {
            Ok(Step::Command { consumed, argc }) => {
                let first = batch.args.len() - argc;
                let argv = Argv::new(&batch.input, &batch.scratch, &batch.args[first..]);
                let spec = table.resolve(&argv);
                batch.reqs.push(Request { spec, first_arg: first as u32, argc: argc as u32 });
                pos += consumed;
            }
            Ok(Step::Skip { consumed }) => pos += consumed,
            Ok(Step::Incomplete { need }) => return Parsed { consumed: pos, error: None, need, more: false },
            Err(e) => return Parsed { consumed: pos, error: Some(e), need: 0, more: false },
        }
    }
}

#[cfg(test)]
pub mod testutil {
    //! Unit-test helpers: a `State` with one client, and `run(&mut t, &["set", "k", "v"])` returning RESP.
    use super::*;

    pub struct T {
        pub s: State,
        pub me: usize,
    }

    pub fn new() -> T {
        let mut s = State::new(Config::default());
        let me = s.add_client("127.0.0.1:1".into(), "127.0.0.1:6379".into());
        T { s, me }
    }

    /// Run a command; returns the raw RESP reply as a (lossy) string.
    pub fn run(t: &mut T, args: &[&str]) -> String {
        let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
        String::from_utf8_lossy(&run_args(&mut t.s, t.me, &a)).into_owned()
    }
}

#[cfg(test)]
mod dbkey_tests {
    use super::DbKey;

    #[test]
    fn borrowed_keys_find_owned_entries() {
        let mut m: hashbrown::HashMap<(usize, Vec<u8>), u32> = hashbrown::HashMap::new();
        m.insert((3, b"k".to_vec()), 7);
        assert_eq!(m.get(&DbKey(3, b"k")), Some(&7));
        assert_eq!(m.get(&DbKey(2, b"k")), None);
        assert_eq!(m.get(&DbKey(3, b"kk")), None);
    }
}
