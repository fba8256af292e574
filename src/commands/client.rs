//! Per-client state the Keyspace owns: the `Client` record (CLIENT LIST, SELECT, HELLO, MULTI, WATCH,
//! blocking), and `DbKey` for allocation-free lookups in the (db, key) maps (commands layer).

use super::multi;
use crate::types::clock;

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
    /// The ACL user the client runs as (the default user until AUTH or HELLO AUTH).
    pub user: std::sync::Arc<super::acl_rules::User>,
    pub created_ms: i64,
    pub last_interaction_ms: i64,
    pub last_cmd: &'static str,
    pub reply_mode: ReplyMode,
    pub no_evict: bool,
    /// Close after this batch's replies are written (QUIT, CLIENT KILL of itself).
    pub close_after_reply: bool,
    /// SCRIPT DEBUG SYNC: its next EVAL runs under the Lua debugger.
    pub lua_debug: bool,
    /// Marked by CLIENT KILL / timeout: the Keyspace disconnects it.
    pub killed: bool,
    /// Connected through the in-process API (no socket).
    pub local: bool,
    pub unix_socket: bool,
    /// Bytes of the running batch's requests (its connection counts the rest of the query buffer), and its
    /// replies not handed to the connection yet: both 0 between batches (CLIENT LIST qbuf / omem).
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
    /// Blocked in SHUTDOWN while the server waits for lagging replicas: answered with an error if the
    /// shutdown is cancelled (Redis's BLOCKED_SHUTDOWN).
    pub shutdown_blocked: bool,
    /// This connection is a replica stream (after SYNC/PSYNC).
    pub replica: bool,
    /// This is the master's stream on a replica (the ReplicaLink's client): its writes pass the read-only
    /// check and it is never evicted nor paused for writes.
    pub master: bool,
    /// In MONITOR mode (monitor.rs).
    pub monitor: bool,
    /// A replica stream's REPLCONF: listening-port, ip-address, and its last ACK (offset, Unix ms).
    pub repl_port: u16,
    pub repl_ip: Option<Box<str>>,
    pub repl_ack_off: i64,
    pub repl_ack_ms: i64,
    /// A replica that came with SYNC (Redis's CLIENT_PRE_PSYNC): it sends no ACKs, so it is not timed out.
    pub repl_pre_psync: bool,
    /// It said REPLCONF capa eof: it can take a full sync streamed from the snapshot (`$EOF:<mark>`), with no
    /// file on the master's disk (repl-diskless-sync).
    pub repl_capa_eof: bool,
    /// REPLCONF rdb-only 1: the replica wants the file and nothing after it.
    pub repl_rdb_only: bool,
    /// REPLCONF rdb-filter-only: Some(with functions) for a file without keys (None: the whole dataset).
    pub repl_filter: Option<bool>,
    /// A replica in a full sync: waiting for its snapshot to start (`Some(Start)`) or to be sent (`Some(End)`).
    pub repl_sync: Option<super::replication::SyncWait>,
    /// WAIT in progress: (replication offset to reach, replicas wanted).
    pub wait: Option<(u64, i64)>,
    /// Its channels, patterns and shard channels; Some exactly while it is subscribed to any (Redis's
    /// CLIENT_PUBSUB flag: a RESP2 client is then in subscribed mode). Boxed: most clients never subscribe.
    pub subs: Option<Box<super::pubsub::ClientSubs>>,
    /// Bytes pushed to its connection (pub/sub messages) not written to the socket yet, as the connection
    /// counts them (CLIENT LIST omem); None for clients without a connection actor.
    pub pushed: Option<std::sync::Arc<std::sync::atomic::AtomicUsize>>,
    /// What its Connection actor's buffers hold (client_mem.rs); None for clients without a connection actor.
    pub conn_mem: Option<std::sync::Arc<super::client_mem::ConnMem>>,
    /// CLIENT TRACKING state; Some exactly while tracking is on (Redis's CLIENT_TRACKING flag). Boxed: most
    /// clients never track.
    pub tracking: Option<Box<super::tracking::ClientTracking>>,
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
    /// Subscribed to any channel, pattern or shard channel (CLIENT LIST flag `P`, client type pubsub).
    #[inline]
    pub fn subscribed(&self) -> bool {
        self.subs.is_some()
    }

    /// Output not written to its socket yet: the last batch's replies and the pushes its connection holds.
    pub fn omem(&self) -> usize {
        self.obuf + self.pushed.as_ref().map_or(0, |p| p.load(std::sync::atomic::Ordering::Relaxed))
    }

    pub fn new(
        id: u64,
        addr: String,
        laddr: String,
        user: std::sync::Arc<super::acl_rules::User>,
        authenticated: bool,
    ) -> Client {
        let now = clock::now_ms();
        Client {
            id,
            addr,
            laddr,
            fd: 0,
            name: None,
            db: 0,
            resp: 2,
            authenticated,
            user,
            created_ms: now,
            last_interaction_ms: now,
            last_cmd: "NULL",
            reply_mode: ReplyMode::On,
            no_evict: false,
            close_after_reply: false,
            lua_debug: false,
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
            shutdown_blocked: false,
            replica: false,
            master: false,
            monitor: false,
            repl_port: 0,
            repl_ip: None,
            repl_ack_off: 0,
            repl_ack_ms: 0,
            repl_pre_psync: false,
            repl_capa_eof: false,
            repl_rdb_only: false,
            repl_filter: None,
            wait: None,
            repl_sync: None,
            subs: None,
            pushed: None,
            conn_mem: None,
            tracking: None,
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

#[cfg(test)]
mod tests {
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
