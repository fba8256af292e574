//! RDB snapshot commands and state (commands layer, applied by the Keyspace actor): SAVE, BGSAVE [SCHEDULE],
//! the save points, MISCONF after a failed background save, the -LOADING refusal while a file loads, and
//! INFO persistence's rdb_*, current_save_* and loading* fields.
//!
//! Commands only record what they want in `Persistence::rdb` (`bgsave_requested`, `fg`): the Keyspace acts on
//! it after the command (actors/keyspace/rdb.rs), since encoding the snapshot and writing it involve the
//! Snapshotter actor. A foreground job (SAVE, DEBUG RELOAD, FLUSHALL's save, SHUTDOWN's save) stops the batch
//! after its command; the Keyspace runs it while no other client is served, as Redis blocks in rdbSave, and
//! then writes the reply and runs the rest of the pipeline.

use super::spec::*;
use super::{Ctx, ShutdownRequest, State};
use crate::error::CmdError;
use crate::persist::rdb::{self, Item};
use crate::types::clock;
use crate::types::db::{lru_clock, Entry, SnapEncoder};
use std::fmt::Write;

/// Redis's shared.bgsaveerr.
const BGSAVE_ERR: &str = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";

/// CONFIG_BGSAVE_RETRY_DELAY: after a failed background save, the save points wait this long (s).
pub const BGSAVE_RETRY_DELAY: i64 = 5;

/// The snapshot commands, as Redis 7.0's command table declares them.
#[rustfmt::skip]
pub const SPECS: &[CommandSpec] = &family("server", [
    cmd("save", 1, ADMIN | NOSCRIPT | NO_MULTI, save).acl(DANGEROUS).doc("1.0.0", "O(N) where N is the total number of keys in all databases", "Synchronously save the dataset to disk"),
    cmd("bgsave", -1, ADMIN | NOSCRIPT, bgsave).acl(DANGEROUS).doc("1.0.0", "O(1)", "Asynchronously save the dataset to disk"),
]);

/// A foreground job: the batch stops after the command that asked for it, and the Keyspace runs it before
/// anything else.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FgJob {
    /// SAVE: save, then reply +OK or -ERR.
    Save,
    /// DEBUG RELOAD's options: save first (not NOSAVE), empty the databases first (not NOFLUSH), let loaded
    /// keys and libraries replace existing ones (MERGE). Replies +OK or the error.
    Reload { save: bool, flush: bool, merge: bool },
    /// FLUSHALL with save points configured: save the now empty dataset (its reply is written already).
    FlushSave,
    /// SHUTDOWN: save if asked (or if save points exist and not NOSAVE), then stop; when the save fails and
    /// FORCE is not given, reply "-ERR Errors trying to SHUTDOWN. Check logs." and keep serving.
    Shutdown(ShutdownRequest),
}

/// A file being loaded (start-up): INFO loading* fields.
#[derive(Clone, Copy, Debug, Default)]
pub struct Loading {
    /// Unix time (s) the load began.
    pub start_s: i64,
    pub total_bytes: u64,
    pub loaded_bytes: u64,
}

/// The RDB side of `Persistence`.
#[derive(Debug)]
pub struct RdbState {
    /// A replica loads its master's file beside the data it serves (repl-diskless-load swapdb with the same
    /// replication history: INFO async_loading); commands flagged no_async_loading get -LOADING meanwhile.
    pub async_loading: bool,
    /// A Snapshotter exists (`persistence-available yes`).
    pub available: bool,
    /// A background save is running (started, or asked for in this batch).
    pub bgsave_in_progress: bool,
    /// BGSAVE ran in this batch: the Keyspace starts the snapshot after it.
    pub bgsave_requested: bool,
    /// FLUSHALL ran in this batch: the Keyspace drops the running background save after it, as Redis kills
    /// its child (the save neither completes nor counts as failed).
    pub bgsave_abort: bool,
    /// BGSAVE SCHEDULE (or BGSAVE in a transaction) waits for the AOF rewrite to end (rdb_bgsave_scheduled).
    pub bgsave_scheduled: bool,
    /// Unix time (ms) the running background save started.
    pub started_ms: i64,
    /// lastbgsave_status.
    pub last_bgsave_ok: bool,
    /// rdb_save_time_last (s), -1 before the first.
    pub last_bgsave_time_sec: i64,
    /// Unix time (s) of the last attempt (the save points retry after BGSAVE_RETRY_DELAY).
    pub lastbgsave_try: i64,
    /// stat_rdb_saves.
    pub saves: u64,
    /// The copy-on-write analogue of the last snapshot (rdb_last_cow_size): bytes that writes during it made
    /// it encode ahead of its steps, where Redis's child pays in pages copied because the parent wrote.
    pub last_cow_size: u64,
    /// The same for the running snapshot, so far (it only grows) and at its peak.
    pub current_cow: u64,
    pub current_cow_peak: u64,
    /// `dirty` when the running background save began: what is left after it is what came since.
    pub dirty_before: u64,
    /// Keys encoded so far by the running save, and the keys it will encode.
    pub keys_processed: u64,
    pub keys_total: u64,
    /// The foreground job the batch stopped for.
    pub fg: Option<FgJob>,
    /// The replication id, offset and stream db the last loaded file carried (aux fields `repl-id`,
    /// `repl-offset`, `repl-stream-db`), for a restart to continue its replication history.
    pub load_repl: (Option<String>, Option<i64>, Option<i64>),
    /// A master's start-up load: keys skipped as expired are fed to the backlog as DELs.
    pub feed_expired: bool,
    /// The last load's figures.
    pub load_keys_loaded: u64,
    pub load_keys_expired: u64,
    /// A file is loading: commands without the `loading` flag get -LOADING.
    pub loading: Option<Loading>,
}

impl Default for RdbState {
    fn default() -> Self {
        RdbState {
            async_loading: false,
            load_repl: Default::default(),
            feed_expired: false,
            available: false,
            bgsave_in_progress: false,
            bgsave_requested: false,
            bgsave_abort: false,
            bgsave_scheduled: false,
            started_ms: 0,
            last_bgsave_ok: true,
            last_bgsave_time_sec: -1,
            lastbgsave_try: 0,
            saves: 0,
            last_cow_size: 0,
            current_cow: 0,
            current_cow_peak: 0,
            dirty_before: 0,
            keys_processed: 0,
            keys_total: 0,
            fg: None,
            load_keys_loaded: 0,
            load_keys_expired: 0,
            loading: None,
        }
    }
}

/// SAVE
fn save(cx: &mut Ctx<'_>) -> CmdResult {
    let r = &mut cx.s.persist.rdb;
    if r.bgsave_in_progress {
        return Err(CmdError::new("ERR Background save already in progress"));
    }
    if !r.available {
        log::warn!("Can't save the DB: persistence-available is no");
        return Err(CmdError::new("ERR"));
    }
    r.saves += 1;
    r.fg = Some(FgJob::Save);
    Ok(())
}

/// BGSAVE [SCHEDULE]: replies and errors as Redis 7.0's bgsaveCommand.
fn bgsave(cx: &mut Ctx<'_>) -> CmdResult {
    let mut schedule = false;
    if cx.argc() > 1 {
        if cx.argc() == 2 && cx.argv.is(1, "schedule") {
            schedule = true;
        } else {
            return Err(CmdError::SYNTAX);
        }
    }
    let in_exec = cx.s.exec.in_exec;
    let child = cx.s.persist.aof.rewrite_in_progress;
    let r = &mut cx.s.persist.rdb;
    if r.bgsave_in_progress {
        return Err(CmdError::new("ERR Background save already in progress"));
    }
    if child || in_exec {
        if schedule || in_exec {
            r.bgsave_scheduled = true;
            cx.out.simple("Background saving scheduled");
            return Ok(());
        }
        return Err(CmdError::new(
            "ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.",
        ));
    }
    if !r.available {
        log::warn!("Can't save the DB in background: persistence-available is no");
        return Err(CmdError::new("ERR"));
    }
    r.bgsave_requested = true;
    r.bgsave_in_progress = true;
    cx.out.simple("Background saving started");
    Ok(())
}

/// The save point that is due, if any (serverCron's check): at least `changes` changes and more than
/// `seconds` since the last save, and the last background save succeeded or was tried long enough ago.
pub fn due_save_point(s: &State, now_s: i64) -> Option<(u64, u64)> {
    let r = &s.persist.rdb;
    if !r.available || r.bgsave_in_progress || s.persist.aof.rewrite_in_progress || r.loading.is_some() {
        return None;
    }
    let retry_ok = now_s - r.lastbgsave_try > BGSAVE_RETRY_DELAY || r.last_bgsave_ok;
    s.config
        .save
        .iter()
        .copied()
        .find(|&(secs, changes)| s.persist.dirty >= changes && now_s - s.persist.lastsave > secs as i64 && retry_ok)
}

/// Writes are refused after a failed background save while save points exist and
/// stop-writes-on-bgsave-error is yes (Redis's DISK_ERROR_TYPE_RDB).
pub fn write_error(s: &State) -> Option<CmdError> {
    let r = &s.persist.rdb;
    if r.last_bgsave_ok || s.config.save.is_empty() {
        return None;
    }
    if s.config.get("stop-writes-on-bgsave-error").as_deref() == Some("no") {
        return None;
    }
    Some(CmdError::new(BGSAVE_ERR))
}

/// The file's header: magic, version and the aux fields Redis 7.0 writes, then the function libraries.
pub fn header(s: &State, aof_base: bool) -> Vec<u8> {
    let mut out = header_aux(s, aof_base);
    rdb::write_functions(&mut out, s.scripts.functions.library_codes());
    out
}

/// A replica's filtered file (REPLCONF rdb-filter-only): the header, the function libraries unless
/// `functions` is false, and no keys (the only filter Redis 7.0 has: "functions", or "" for neither).
pub fn filtered_file(s: &State, functions: bool) -> Vec<u8> {
    let mut out = header_aux(s, false);
    if functions {
        rdb::write_functions(&mut out, s.scripts.functions.library_codes());
    }
    rdb::write_eof(&mut out);
    let crc = if s.config.get("rdbchecksum").as_deref() == Some("no") { 0 } else { rdb::crc64(&out) };
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Magic, version and aux fields.
fn header_aux(s: &State, aof_base: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    let ctime = (clock::system_ms() / 1000).to_string();
    let used = s.used_memory().to_string();
    let mut aux: Vec<(&str, &[u8])> = vec![
        ("redis-ver", crate::REDIS_VERSION.as_bytes()),
        ("redis-bits", b"64"),
        ("ctime", ctime.as_bytes()),
        ("used-mem", used.as_bytes()),
    ];
    // Where this data stands in the replication history (Redis's rdbPopulateSaveInfo): a master with a
    // backlog, or a replica that has synced. A restart then resyncs partially instead of fully.
    let repl = repl_info(s);
    let (db, id, off) = repl.as_ref().map(|(d, i, o)| (d.to_string(), i.clone(), o.to_string())).unwrap_or_default();
    if repl.is_some() {
        aux.push(("repl-stream-db", db.as_bytes()));
        aux.push(("repl-id", id.as_bytes()));
        aux.push(("repl-offset", off.as_bytes()));
    }
    aux.push(("aof-base", if aof_base { b"1" } else { b"0" }));
    rdb::write_header(&mut out, &aux);
    out
}

/// A master's start-up load skipped a key past its TTL: when the file carries a replication history, the
/// DEL goes into the backlog after it (Redis's RDBFLAGS_FEED_REPL), so the replicas that resync partially
/// after the restart delete it too, and those too far behind sync fully.
fn expired_on_load(s: &mut State, db: usize, key: &[u8]) {
    let (Some(_), Some(off), Some(_)) = &s.persist.rdb.load_repl else { return };
    if *off < 0 {
        return;
    }
    if s.prop.backlog.is_none() {
        let size = super::replication::backlog_size(&s.config);
        s.prop.backlog = Some(super::replication::Backlog::new(size, *off as u64));
        s.prop.feed.offset = *off as u64;
        s.prop.feed.db = None;
    }
    let mut cmd = bytes::BytesMut::new();
    if s.prop.feed.db != Some(db) {
        crate::client::pack(&mut cmd, &[b"SELECT".as_slice(), db.to_string().as_bytes()]);
        s.prop.feed.db = Some(db);
    }
    let del: &[u8] = if s.config.get("lazyfree-lazy-expire").as_deref() == Some("yes") { b"UNLINK" } else { b"DEL" };
    crate::client::pack(&mut cmd, &[del, key]);
    super::replication::stream_only_bytes(s, &cmd);
}

/// The replication stream's db, id and offset at this instant, when there is a history worth keeping.
fn repl_info(s: &State) -> Option<(usize, String, i64)> {
    match &s.repl.master {
        None => s
            .prop
            .backlog
            .as_ref()
            .map(|_| (s.prop.feed.db.unwrap_or(0), s.repl.replid.clone(), s.prop.feed.offset as i64)),
        Some(m) => {
            let off = m.link.offset.load(std::sync::atomic::Ordering::Relaxed);
            let id = m.link.replid.lock().map(|g| g.clone()).unwrap_or_default();
            let db = s.clients.iter().find(|(_, c)| c.master).map(|(_, c)| c.db).unwrap_or(0);
            (off >= 0 && !id.is_empty()).then_some((db, id, off))
        }
    }
}

/// The whole dataset as a complete RDB file, encoded now: the payload of a full resynchronization
/// (SYNC/PSYNC). Encoding it in the command keeps it exactly at the point where the replica's stream begins.
pub fn snapshot_file(s: &State) -> Vec<u8> {
    let mut out = header(s, false);
    let enc: SnapEncoder = if s.config.get("rdbcompression").as_deref() == Some("no") {
        rdb::encode_entry_plain
    } else {
        rdb::encode_entry
    };
    encode_dataset(s, enc, &mut out, |_| {});
    rdb::write_eof(&mut out);
    let crc = if s.config.get("rdbchecksum").as_deref() == Some("no") { 0 } else { rdb::crc64(&out) };
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Every database's keys into `out` with `enc` (SELECTDB + RESIZEDB before each non-empty one), every stored
/// key, those past their TTL too, as Redis writes its whole dict (the loader skips them). `full` is called
/// after each key with the buffer, so a caller that streams (SAVE) can take what has accumulated.
pub fn encode_dataset(s: &State, enc: SnapEncoder, out: &mut Vec<u8>, mut full: impl FnMut(&mut Vec<u8>)) {
    for (i, db) in s.dbs.iter().enumerate() {
        if db.is_empty() {
            continue;
        }
        rdb::write_select_db(out, i, db.len() as u64, db.expires_count() as u64);
        db.for_each_stored(|e, expire_at| {
            enc(e, expire_at, out);
            full(out);
        });
    }
}

/// Insert loaded RDB records into the databases: `db` is the database records go to (the file's last
/// SELECTDB, kept across chunks). Keys already expired are skipped when `skip_expired` (a master loading a
/// snapshot; not for an AOF's RDB preamble), counted in `load_keys_expired`. A key or library that exists is
/// an error unless `merge` (DEBUG RELOAD MERGE), when the loaded one replaces it.
pub fn apply_items(
    s: &mut State,
    db: &mut usize,
    items: Vec<Item>,
    merge: bool,
    skip_expired: bool,
) -> Result<(), String> {
    let now = clock::now_ms();
    let lfu_now = (((now / 60_000) as u32) & 0xFFFF) << 8;
    for item in items {
        match item {
            Item::SelectDb(n) => {
                if n >= s.dbs.len() {
                    return Err(format!(
                        "FATAL: Data file was created with a Redis server configured to handle more than {} databases. Exiting",
                        s.dbs.len()
                    ));
                }
                *db = n;
            }
            Item::Aux(k, v) => {
                let text = String::from_utf8_lossy(&v);
                match k.as_slice() {
                    b"redis-ver" => log::info!("Loading RDB produced by version {text}"),
                    b"ctime" => {
                        let t = text.parse::<i64>().unwrap_or(0);
                        log::info!("RDB age {} seconds", (now / 1000 - t).max(0));
                    }
                    b"used-mem" => {
                        let m = text.parse::<u64>().unwrap_or(0);
                        log::info!("RDB memory usage when created {:.2} Mb", m as f64 / (1024.0 * 1024.0));
                    }
                    b"repl-id" if v.len() == 40 => s.persist.rdb.load_repl.0 = Some(text.into_owned()),
                    b"repl-offset" => s.persist.rdb.load_repl.1 = text.parse().ok(),
                    b"repl-stream-db" => s.persist.rdb.load_repl.2 = text.parse().ok(),
                    _ => {}
                }
            }
            Item::ResizeDb { keys, .. } => s.dbs[*db].presize(keys),
            Item::Eof => {}
            Item::Function(code) => {
                s.scripts.functions.load_code(&code, merge).map_err(|e| e.0.to_string())?;
            }
            Item::Entry(e) => {
                if skip_expired && e.expire_at != 0 && e.expire_at < now {
                    s.persist.rdb.load_keys_expired += 1;
                    if s.persist.rdb.feed_expired {
                        expired_on_load(s, *db, &e.key);
                    }
                    continue;
                }
                let d = &mut s.dbs[*db];
                // The access data the file carries, in the policy's form; else a fresh access (LFU_INIT_VAL 5).
                let meta = match (d.lfu, e.lfu_freq, e.lru_idle) {
                    (true, Some(f), _) => lfu_now | f as u32,
                    (true, None, _) => lfu_now | 5,
                    (false, _, Some(idle)) => lru_clock().wrapping_sub(idle.min(0xFF_FFFF) as u32) & 0xFF_FFFF,
                    (false, _, None) => lru_clock(),
                };
                if let Err(entry) = d.try_insert_new(Entry::new(&e.key, e.value, meta), e.expire_at) {
                    if !merge {
                        return Err(format!(
                            "RDB has duplicated key '{}' in DB {}",
                            String::from_utf8_lossy(&entry.key),
                            *db
                        ));
                    }
                    d.insert_entry(entry, e.expire_at);
                }
                s.persist.rdb.load_keys_loaded += 1;
            }
        }
    }
    Ok(())
}

/// Redis's shared.loadingerr, for commands without the `loading` flag while a file loads.
pub const LOADING_ERR: CmdError = CmdError::new("LOADING Redis is loading the dataset in memory");

/// Refused while a replica loads its master's file asynchronously: commands Redis flags no_async_loading
/// (they would act on, or replace, the data being swapped out).
pub fn denied_async_loading(spec: &CommandSpec) -> bool {
    super::keyspecs::meta_of(spec).is_some_and(|m| m.no_async_loading)
}

/// The rdb_* and current_* lines of INFO persistence (between async_loading and aof_enabled).
pub fn info_fields(s: &State) -> String {
    let r = &s.persist.rdb;
    let now = clock::system_ms();
    let current = if r.bgsave_in_progress && !r.bgsave_requested { (now - r.started_ms) / 1000 } else { -1 };
    let mut out = String::with_capacity(512);
    let _ = write!(
        out,
        "current_cow_peak:{}\r\ncurrent_cow_size:{}\r\ncurrent_cow_size_age:0\r\ncurrent_fork_perc:{:.2}\r\ncurrent_save_keys_processed:{}\r\ncurrent_save_keys_total:{}\r\nrdb_changes_since_last_save:{}\r\nrdb_bgsave_in_progress:{}\r\nrdb_last_save_time:{}\r\nrdb_last_bgsave_status:{}\r\nrdb_last_bgsave_time_sec:{}\r\nrdb_current_bgsave_time_sec:{}\r\nrdb_saves:{}\r\nrdb_last_cow_size:{}\r\nrdb_last_load_keys_expired:{}\r\nrdb_last_load_keys_loaded:{}\r\n",
        if r.bgsave_in_progress { r.current_cow_peak } else { 0 },
        if r.bgsave_in_progress { r.current_cow } else { 0 },
        if r.bgsave_in_progress && r.keys_total > 0 {
            r.keys_processed as f64 * 100.0 / r.keys_total as f64
        } else {
            0.0
        },
        if r.bgsave_in_progress { r.keys_processed } else { 0 },
        if r.bgsave_in_progress { r.keys_total } else { 0 },
        s.persist.dirty,
        r.bgsave_in_progress as u8,
        s.persist.lastsave,
        if r.last_bgsave_ok { "ok" } else { "err" },
        r.last_bgsave_time_sec,
        current,
        r.saves,
        r.last_cow_size,
        r.load_keys_expired,
        r.load_keys_loaded,
    );
    out
}

/// The loading_* lines INFO persistence ends with while a file loads (Redis's estimate of the time left).
pub fn loading_fields(s: &State) -> String {
    let Some(l) = s.persist.rdb.loading else { return String::new() };
    let (perc, remaining) = if l.total_bytes > 0 {
        (l.loaded_bytes as f64 * 100.0 / l.total_bytes as f64, l.total_bytes.saturating_sub(l.loaded_bytes))
    } else {
        (0.0, 1)
    };
    let elapsed = (clock::system_ms() / 1000 - l.start_s).max(0) as u64;
    let eta = if elapsed == 0 { 1 } else { elapsed * remaining / (l.loaded_bytes + 1) };
    format!(
        "loading_start_time:{}\r\nloading_total_bytes:{}\r\nloading_rdb_used_mem:0\r\nloading_loaded_bytes:{}\r\nloading_loaded_perc:{perc:.2}\r\nloading_eta_seconds:{eta}\r\n",
        l.start_s, l.total_bytes, l.loaded_bytes
    )
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;

    #[test]
    fn flushall_drops_the_background_save() {
        let mut t = new();
        t.s.config.save.clear();
        t.s.persist.rdb.available = true;
        // Asked for earlier in the same batch: it never starts.
        run_raw(&mut t, &["bgsave"]);
        assert_eq!(run_raw(&mut t, &["flushall"]), "+OK\r\n");
        let r = &t.s.persist.rdb;
        assert!(!r.bgsave_requested && !r.bgsave_in_progress && !r.bgsave_abort);
        // Running: the Keyspace is asked to drop it after the batch.
        t.s.persist.rdb.bgsave_in_progress = true;
        run_raw(&mut t, &["flushall"]);
        assert!(t.s.persist.rdb.bgsave_abort);
    }

    #[test]
    fn bgsave_arguments_and_state_errors() {
        let mut t = new();
        t.s.persist.rdb.available = true;
        assert_eq!(run_raw(&mut t, &["bgsave", "now"]), "-ERR syntax error\r\n");
        assert_eq!(run_raw(&mut t, &["bgsave"]), "+Background saving started\r\n");
        assert!(t.s.persist.rdb.bgsave_requested);
        assert_eq!(run_raw(&mut t, &["bgsave"]), "-ERR Background save already in progress\r\n");
        assert_eq!(run_raw(&mut t, &["save"]), "-ERR Background save already in progress\r\n");
        t.s.persist.rdb = RdbState { available: true, ..Default::default() };
        t.s.persist.aof.rewrite_in_progress = true;
        assert!(run_raw(&mut t, &["bgsave"]).starts_with("-ERR Another child process is active (AOF?)"));
        assert_eq!(run_raw(&mut t, &["bgsave", "SCHEDULE"]), "+Background saving scheduled\r\n");
        assert!(t.s.persist.rdb.bgsave_scheduled && !t.s.persist.rdb.bgsave_requested);
    }

    #[test]
    fn save_points_follow_dirty_time_and_the_last_status() {
        let mut t = new();
        t.s.persist.rdb.available = true;
        t.s.config.save = vec![(60, 10), (3600, 1)];
        let now = t.s.persist.lastsave + 30;
        t.s.persist.dirty = 5;
        assert_eq!(due_save_point(&t.s, now), None);
        t.s.persist.dirty = 10;
        assert_eq!(due_save_point(&t.s, now), None, "not 60 s yet");
        assert_eq!(due_save_point(&t.s, now + 31), Some((60, 10)));
        t.s.persist.dirty = 1;
        assert_eq!(due_save_point(&t.s, now + 31), None);
        assert_eq!(due_save_point(&t.s, now + 3600), Some((3600, 1)));
        // A failed save waits BGSAVE_RETRY_DELAY before the save points try again.
        t.s.persist.rdb.last_bgsave_ok = false;
        t.s.persist.rdb.lastbgsave_try = now + 3599;
        assert_eq!(due_save_point(&t.s, now + 3600), None);
        assert_eq!(due_save_point(&t.s, now + 3605), Some((3600, 1)));
        t.s.persist.rdb.bgsave_in_progress = true;
        assert_eq!(due_save_point(&t.s, now + 3605), None);
    }

    #[test]
    fn misconf_after_a_failed_bgsave_only_with_save_points_and_the_option() {
        let mut t = new();
        t.s.config.save = vec![(60, 10)];
        assert!(write_error(&t.s).is_none());
        t.s.persist.rdb.last_bgsave_ok = false;
        assert!(write_error(&t.s).unwrap().0.starts_with("MISCONF Redis is configured to save RDB snapshots"));
        assert!(run_raw(&mut t, &["set", "k", "v"]).starts_with("-MISCONF "));
        assert!(run_raw(&mut t, &["ping"]).starts_with("-MISCONF "));
        assert_eq!(run_raw(&mut t, &["get", "k"]), "$-1\r\n");
        // Scripts too: their writes are refused, their reads are not (rdb.tcl's "failed bgsave prevents writes").
        let e = run_raw(&mut t, &["eval", "return redis.call('set','k','1')", "1", "k"]);
        assert!(e.starts_with("-MISCONF "), "{e}");
        assert_eq!(run_raw(&mut t, &["eval", "return redis.call('get','k')", "1", "k"]), "$-1\r\n");
        t.s.config.set("stop-writes-on-bgsave-error", "no").unwrap();
        assert!(write_error(&t.s).is_none());
        t.s.config.set("stop-writes-on-bgsave-error", "yes").unwrap();
        t.s.config.save.clear();
        assert!(write_error(&t.s).is_none());
    }

    #[test]
    fn loading_refuses_commands_without_the_loading_flag() {
        let mut t = new();
        t.s.persist.rdb.loading = Some(Loading { start_s: 1, total_bytes: 100, loaded_bytes: 50 });
        assert_eq!(run_raw(&mut t, &["get", "k"]), "-LOADING Redis is loading the dataset in memory\r\n");
        assert!(run_raw(&mut t, &["info", "persistence"]).contains("loading:1\r\n"));
        assert!(run_raw(&mut t, &["info", "persistence"]).contains("loading_loaded_perc:50.00\r\n"));
        t.s.persist.rdb.loading = None;
        assert_eq!(run_raw(&mut t, &["get", "k"]), "$-1\r\n");
    }
}
