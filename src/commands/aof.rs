//! AOF commands and state (commands layer, applied by the Keyspace actor): BGREWRITEAOF, DEBUG LOADAOF's
//! request, the CONFIG SET appendonly/appendfsync hooks, INFO persistence's AOF fields, and `replay`, which
//! executes the commands of loaded AOF files through the normal command path.
//!
//! Commands only record what they want in `Persistence::aof` (`requests`, `load_pending`): the Keyspace acts on it
//! after the batch (actors/persistence.rs), since starting a rewrite or reading files involves the AofWriter.

use super::spec::*;
use super::{exec_request, set_feed_enabled, table, Argv, Ctx, State};
use crate::error::CmdError;
use crate::persist::aof::Scanned;
use crate::resp::encode::Out;
use crate::types::clock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Redis's aof_state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AofMode {
    Off,
    /// Turned on at run time: appending to a temporary incr file until the first rewrite completes.
    WaitRewrite,
    On,
}

/// `appendfsync`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fsync {
    Always,
    EverySec,
    No,
}

impl Fsync {
    pub fn parse(s: &str) -> Fsync {
        match s {
            "always" => Fsync::Always,
            "no" => Fsync::No,
            _ => Fsync::EverySec,
        }
    }
}

/// What the Keyspace must do for the AOF once the batch is over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AofRequest {
    /// BGREWRITEAOF.
    Rewrite,
    /// CONFIG SET appendonly yes (start a rewrite; on when it completes).
    Enable,
    /// CONFIG SET appendonly no.
    Disable,
    /// CONFIG SET appendfsync.
    Fsync(Fsync),
    /// CONFIG SET aof-disable-auto-gc no: remove the history files now.
    CollectHistory,
}

/// Figures the AofWriter keeps current for INFO, read without a round trip.
#[derive(Debug)]
pub struct AofShared {
    pub current_size: AtomicU64,
    pub base_size: AtomicU64,
    /// The last write (or fsync) of the incr file succeeded (aof_last_write_status).
    pub last_write_ok: AtomicBool,
    /// strerror of the last failed write or fsync, for the MISCONF error.
    pub last_write_error: Mutex<String>,
    /// DEBUG AOF-FLUSH-SLEEP: µs the writer sleeps before each write (tests widen races with it).
    pub flush_sleep_us: AtomicU64,
    /// aof-disable-auto-gc yes: history files stay (in the manifest and on disk) until it is turned off.
    pub disable_auto_gc: AtomicBool,
}

impl Default for AofShared {
    fn default() -> Self {
        AofShared {
            current_size: AtomicU64::new(0),
            base_size: AtomicU64::new(0),
            last_write_ok: AtomicBool::new(true),
            last_write_error: Mutex::new(String::new()),
            flush_sleep_us: AtomicU64::new(0),
            disable_auto_gc: AtomicBool::new(false),
        }
    }
}

impl AofShared {
    /// Record a failed write or fsync; true when the AOF was fine until now (log it once).
    pub fn write_failed(&self, e: &std::io::Error) -> bool {
        // strerror's text: io::Error's Display without " (os error N)".
        let text = e.to_string();
        let text = text.split(" (os error").next().unwrap_or(&text).to_string();
        if let Ok(mut g) = self.last_write_error.lock() {
            *g = text;
        }
        self.last_write_ok.swap(false, Ordering::Relaxed)
    }
}

/// While the AOF cannot be written, writes (and PING) are refused as Redis's writeCommandsDeniedByDiskError.
pub fn write_error(s: &State) -> Option<CmdError> {
    let sh = &s.persist.aof.shared;
    if sh.last_write_ok.load(Ordering::Relaxed) {
        return None;
    }
    let why = sh.last_write_error.lock().map(|g| g.clone()).unwrap_or_default();
    Some(CmdError::msg(format!("MISCONF Errors writing to the AOF file: {why}")))
}

/// The AOF's state as commands and INFO see it.
#[derive(Debug)]
pub struct AofState {
    /// An AofWriter exists (`persistence-available yes`).
    pub available: bool,
    pub mode: AofMode,
    pub fsync: Fsync,
    pub rewrite_in_progress: bool,
    /// A rewrite waits to start (asked for inside a transaction, or retrying after a failed first rewrite).
    pub rewrite_scheduled: bool,
    pub rewrite_started_ms: i64,
    pub last_rewrite_time_sec: i64,
    pub last_rewrite_ok: bool,
    /// aof_last_cow_size: the copy-on-write analogue of the last rewrite (rdb.rs `last_cow_size`).
    pub last_cow_size: u64,
    pub rewrites: u64,
    pub consecutive_failures: u64,
    /// Loading AOF files (INFO loading; commands skip the memory check, as Redis's loader does).
    pub loading: bool,
    pub requests: Vec<AofRequest>,
    /// DEBUG LOADAOF ran: the batch stops after it until the Keyspace has reloaded the files.
    pub load_pending: bool,
    pub shared: Arc<AofShared>,
    /// aof-timestamp-enabled: annotate the AOF with `#TS:<unix time>` lines.
    pub timestamps: bool,
    /// The unix time of the last annotation written (one per second at most, as Redis).
    pub last_timestamp: i64,
}

impl Default for AofState {
    fn default() -> Self {
        AofState {
            available: false,
            mode: AofMode::Off,
            fsync: Fsync::EverySec,
            rewrite_in_progress: false,
            rewrite_scheduled: false,
            rewrite_started_ms: 0,
            last_rewrite_time_sec: -1,
            last_rewrite_ok: true,
            last_cow_size: 0,
            rewrites: 0,
            consecutive_failures: 0,
            loading: false,
            requests: Vec::new(),
            load_pending: false,
            shared: Arc::new(AofShared::default()),
            timestamps: false,
            last_timestamp: 0,
        }
    }
}

/// BGREWRITEAOF: replies and errors as Redis 7.0's bgrewriteaofCommand.
fn bgrewriteaof(cx: &mut Ctx<'_>) -> CmdResult {
    let in_exec = cx.s.exec.in_exec || cx.s.persist.rdb.bgsave_in_progress;
    let a = &mut cx.s.persist.aof;
    if a.rewrite_in_progress {
        return Err(CmdError::new("ERR Background append only file rewriting already in progress"));
    }
    if !a.available {
        log::warn!("Can't rewrite append only file: persistence-available is no");
        return Err(CmdError::new(
            "ERR Can't execute an AOF background rewriting. Please check the server logs for more information.",
        ));
    }
    if in_exec {
        // Not in the middle of a transaction's effects, nor beside a background save: the cron starts it.
        a.rewrite_scheduled = true;
        a.consecutive_failures = 0;
        cx.out.simple("Background append only file rewriting scheduled");
        return Ok(());
    }
    a.requests.push(AofRequest::Rewrite);
    a.rewrite_in_progress = true;
    cx.out.simple("Background append only file rewriting started");
    Ok(())
}

/// CONFIG SET is about to commit `new`: refuse turning the AOF on where persistence is not available.
pub fn check_config(s: &State, new: &crate::config::Config) -> Result<(), CmdError> {
    if new.appendonly && !s.config.appendonly && !s.persist.aof.available {
        return Err(CmdError::new(
            "ERR CONFIG SET failed (possibly related to argument 'appendonly') - AOF is not available (persistence-available is no)",
        ));
    }
    Ok(())
}

/// The configuration changed (start-up, CONFIG SET): cache what the AOF feed reads on every batch.
pub fn apply_config(s: &mut State) {
    s.persist.aof.timestamps = s.config.get("aof-timestamp-enabled").as_deref() == Some("yes");
    let no_gc = s.config.get("aof-disable-auto-gc").as_deref() == Some("yes");
    s.persist.aof.shared.disable_auto_gc.store(no_gc, Ordering::Relaxed);
}

/// Redis's genAofTimestampAnnotationIfNeeded: the `#TS:<unix time>` line to write before the next AOF
/// bytes, when annotations are on and the second changed since the last one (or always, with `force`, at
/// the start of a rewritten base).
pub fn timestamp_annotation(a: &mut AofState, force: bool) -> Option<Vec<u8>> {
    if !a.timestamps {
        return None;
    }
    let now = clock::system_ms() / 1000;
    if !force && a.last_timestamp >= now {
        return None;
    }
    a.last_timestamp = now;
    Some(format!("#TS:{now}\r\n").into_bytes())
}

/// CONFIG SET committed: ask the Keyspace to follow appendonly / appendfsync changes.
pub fn config_changed(s: &mut State, old: &crate::config::Config) {
    if !s.persist.aof.available {
        return;
    }
    if s.config.appendfsync != old.appendfsync {
        let f = Fsync::parse(&s.config.appendfsync);
        s.persist.aof.fsync = f;
        s.persist.aof.requests.push(AofRequest::Fsync(f));
    }
    let gc_off = |c: &crate::config::Config| c.get("aof-disable-auto-gc").as_deref() == Some("yes");
    if gc_off(old) && !gc_off(&s.config) {
        s.persist.aof.requests.push(AofRequest::CollectHistory);
    }
    if s.config.appendonly != old.appendonly {
        if s.config.appendonly && s.exec.in_exec {
            // The rewrite starts after the batch anyway; Redis says so for a transaction.
            log::warn!("AOF was enabled during a transaction. An AOF background was scheduled to start when possible.");
        }
        s.persist.aof.requests.push(if s.config.appendonly { AofRequest::Enable } else { AofRequest::Disable });
    }
}

/// DEBUG LOADAOF: the Keyspace flushes the AOF, empties every database, loads the files and then writes the
/// reply (+OK) before the rest of the pipeline runs.
pub fn debug_loadaof(cx: &mut Ctx<'_>) -> CmdResult {
    if !cx.s.persist.aof.available {
        return Err(CmdError::new("ERR DEBUG LOADAOF is not available (persistence-available is no)"));
    }
    if cx.s.exec.in_exec || cx.s.exec.in_script {
        return Err(CmdError::new("ERR DEBUG LOADAOF can't run inside a transaction or a script"));
    }
    cx.s.persist.aof.load_pending = true;
    Ok(())
}

/// The `loading:` value and the AOF lines of INFO persistence, from `aof_enabled` to `aof_last_cow_size`'s
/// neighbours, as Redis 7.0's genRedisInfoString.
pub fn info_fields(s: &State) -> (u8, String, String) {
    let a = &s.persist.aof;
    let now = clock::system_ms();
    let current = if a.rewrite_in_progress { (now - a.rewrite_started_ms) / 1000 } else { -1 };
    let write_ok = a.shared.last_write_ok.load(Ordering::Relaxed);
    let main = format!(
        "aof_enabled:{}\r\naof_rewrite_in_progress:{}\r\naof_rewrite_scheduled:{}\r\naof_last_rewrite_time_sec:{}\r\naof_current_rewrite_time_sec:{}\r\naof_last_bgrewrite_status:{}\r\naof_rewrites:{}\r\naof_rewrites_consecutive_failures:{}\r\naof_last_write_status:{}\r\n",
        (a.mode != AofMode::Off) as u8,
        a.rewrite_in_progress as u8,
        a.rewrite_scheduled as u8,
        a.last_rewrite_time_sec,
        current,
        if a.last_rewrite_ok { "ok" } else { "err" },
        a.rewrites,
        a.consecutive_failures,
        if write_ok { "ok" } else { "err" },
    );
    let extra = if a.mode != AofMode::Off {
        format!(
            "aof_current_size:{}\r\naof_base_size:{}\r\naof_pending_rewrite:{}\r\naof_buffer_length:0\r\naof_pending_bio_fsync:0\r\naof_delayed_fsync:0\r\n",
            a.shared.current_size.load(Ordering::Relaxed),
            a.shared.base_size.load(Ordering::Relaxed),
            a.rewrite_scheduled as u8,
        )
    } else {
        String::new()
    };
    (a.loading as u8, main, extra)
}

/// One AOF file read back for loading.
pub struct LoadedFile {
    pub name: String,
    pub base: bool,
    pub data: Vec<u8>,
    pub scanned: Scanned,
    /// The records of an RDB base (aof-use-rdb-preamble), loaded before the file's commands.
    pub rdb: Vec<crate::persist::rdb::Item>,
}

/// Execute the commands of `files` in order, each file with a fresh local client (as Redis's fake AOF
/// client): MULTI/EXEC work as usual; nothing is fed to replicas or the AOF; keys are not expired while
/// loading; command statistics are left as they were. Err carries the message Redis logs before giving up.
pub fn replay(s: &mut State, files: &mut [LoadedFile]) -> Result<(), String> {
    let feed_was = s.prop.feed.enabled;
    set_feed_enabled(s, false);
    let lazy: Vec<bool> = s.dbs.iter().map(|d| d.lazy_expire).collect();
    for d in &mut s.dbs {
        d.lazy_expire = false;
    }
    let stats =
        (s.stats.cmd_stats.clone(), s.stats.error_stats.clone(), s.stats.commands_processed, s.stats.error_replies);
    s.persist.aof.loading = true;
    // Nor are the latency histograms fed (Redis runs loaded commands outside call()).
    let tracking = std::mem::replace(&mut s.obs.tracking, false);
    let mut res = Ok(());
    for f in files {
        res = replay_file(s, f);
        if res.is_err() {
            break;
        }
    }
    s.persist.aof.loading = false;
    s.obs.tracking = tracking;
    (s.stats.cmd_stats, s.stats.error_stats, s.stats.commands_processed, s.stats.error_replies) = stats;
    for (d, l) in s.dbs.iter_mut().zip(lazy) {
        d.lazy_expire = l;
    }
    set_feed_enabled(s, feed_was);
    res
}

fn replay_file(s: &mut State, f: &mut LoadedFile) -> Result<(), String> {
    let start = Instant::now();
    if !f.rdb.is_empty() {
        // The RDB part first, as Redis's loader does: expired keys are kept (the commands after may touch them).
        let mut db = 0;
        super::rdb::apply_items(s, &mut db, std::mem::take(&mut f.rdb), false, false)
            .map_err(|e| format!("Error reading the RDB base file {}, AOF loading aborted: {e}", f.name))?;
    }
    let (next_id, received) = (s.clients.next_id, s.stats.connections_received);
    let me = s.add_client("aof".into(), String::new());
    // The loader's client is no connection: it takes no client id and counts for nothing.
    s.clients.next_id = next_id;
    s.stats.connections_received = received;
    let c = &mut s.clients[me];
    c.id = u64::MAX;
    c.local = true;
    c.fd = -1;
    c.authenticated = true;
    let table = table();
    let mut out = Out::new(2);
    let mut res = Ok(());
    for i in 0..f.scanned.cmds.len() {
        let (base, refs) = f.scanned.command(&f.data, i);
        let argv = Argv::new(base, &[], refs);
        let Some(spec) = table.resolve(&argv) else {
            res = Err(format!(
                "Unknown command '{}' reading the append only file {}",
                String::from_utf8_lossy(argv.get(0)),
                f.name
            ));
            break;
        };
        if i % 1024 == 0 {
            clock::refresh();
        }
        out.buf.clear();
        exec_request(s, me, &mut out, argv, Some(spec));
        if !s.clients.contains(me) {
            break;
        }
    }
    s.remove_client(me);
    if res.is_ok() {
        let kind = if f.base { "base" } else { "incr" };
        log::info!("DB loaded from {kind} file {}: {:.3} seconds", f.name, start.elapsed().as_secs_f64());
    }
    res
}

#[rustfmt::skip]
pub const SPECS: &[CommandSpec] = &family("server", [
    cmd("bgrewriteaof", 1, ADMIN | NOSCRIPT, bgrewriteaof).doc("1.0.0", "O(1)", "Asynchronously rewrite the append-only file"),
]);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::testutil::{bulk, err, int, new, ok, run, run_raw, simple};
    use crate::persist::aof;

    fn file(cmds: &[&[&str]]) -> LoadedFile {
        let mut data = Vec::new();
        for c in cmds {
            let a: Vec<&[u8]> = c.iter().map(|s| s.as_bytes()).collect();
            aof::command(&mut data, &a);
        }
        let scanned = aof::scan(&data);
        LoadedFile { name: "appendonly.aof.1.incr.aof".into(), base: false, data, scanned, rdb: Vec::new() }
    }

    #[test]
    fn replay_runs_commands_and_transactions() {
        let mut t = new();
        let f = file(&[
            &["SELECT", "1"],
            &["SET", "a", "1"],
            &["MULTI"],
            &["INCR", "a"],
            &["RPUSH", "l", "x", "y"],
            &["EXEC"],
            &["PEXPIREAT", "l", "1"],
        ]);
        let before = t.s.stats.commands_processed;
        replay(&mut t.s, &mut [f]).unwrap();
        assert_eq!(t.s.stats.commands_processed, before);
        run(&mut t, &["select", "1"]);
        assert_eq!(run(&mut t, &["get", "a"]), bulk("2"));
        // An expired key is still loaded, and goes away on first access after the load.
        assert_eq!(run(&mut t, &["exists", "l"]), int(0));
        assert!(!t.s.persist.aof.loading);
    }

    #[test]
    fn replay_keeps_keys_whose_ttl_passed_until_the_load_is_over() {
        // As Redis's checkAlreadyExpired while loading: PEXPIREAT / RESTORE with a time in the past keep the
        // key, so the commands after them see it (aof.tcl's "AOF+EXPIRE").
        let mut t = new();
        let mut f = file(&[
            &["RPUSH", "list", "foo"],
            &["PEXPIREAT", "list", "1000"],
            &["RPUSH", "list", "bar"],
            &["SET", "s", "x"],
            &["PEXPIREAT", "s", "1000"],
            &["PERSIST", "s"],
        ]);
        // RESTORE's payload is binary: append it as raw RESP.
        let mut raw = f.data.clone();
        let pb = crate::persist::dump::dump_value(&crate::types::value::Value::string(b"v"));
        aof::command(&mut raw, &[b"RESTORE", b"r", b"1000", &pb, b"ABSTTL"]);
        aof::command(&mut raw, &[b"PERSIST", b"r"]);
        f.scanned = aof::scan(&raw);
        f.data = raw;
        replay(&mut t.s, &mut [f]).unwrap();
        // The list kept its TTL through the second RPUSH, and is gone now the load is over.
        assert_eq!(run(&mut t, &["llen", "list"]), int(0));
        assert_eq!(run(&mut t, &["get", "s"]), bulk("x"));
        assert_eq!(run(&mut t, &["get", "r"]), bulk("v"));
        // Outside loading, a past time deletes at once.
        run(&mut t, &["set", "n", "1"]);
        assert_eq!(run(&mut t, &["pexpireat", "n", "1000"]), int(1));
        assert_eq!(run(&mut t, &["persist", "n"]), int(0));
    }

    #[test]
    fn timestamp_annotations_once_a_second_when_enabled() {
        let mut t = new();
        assert_eq!(timestamp_annotation(&mut t.s.persist.aof, true), None, "off by default");
        let _ = run(&mut t, &["config", "set", "aof-timestamp-enabled", "yes"]);
        assert!(t.s.persist.aof.timestamps);
        let ts = timestamp_annotation(&mut t.s.persist.aof, false).unwrap();
        let now = clock::system_ms() / 1000;
        let text = String::from_utf8(ts).unwrap();
        let secs: i64 = text.strip_prefix("#TS:").and_then(|r| r.strip_suffix("\r\n")).unwrap().parse().unwrap();
        assert!((now - 1..=now).contains(&secs), "{text}");
        // Within the same second: nothing more, unless forced (a rewritten base always starts with one).
        t.s.persist.aof.last_timestamp = i64::MAX;
        assert_eq!(timestamp_annotation(&mut t.s.persist.aof, false), None);
        assert!(timestamp_annotation(&mut t.s.persist.aof, true).is_some());
    }

    #[test]
    fn replay_refuses_unknown_commands() {
        let mut t = new();
        let f = file(&[&["SET", "a", "1"], &["NOSUCH", "x"]]);
        let e = replay(&mut t.s, &mut [f]).unwrap_err();
        assert_eq!(e, "Unknown command 'NOSUCH' reading the append only file appendonly.aof.1.incr.aof");
    }

    #[test]
    fn writes_are_refused_while_the_aof_cannot_be_written() {
        let mut t = new();
        t.s.persist.aof.mode = AofMode::On;
        assert_eq!(run(&mut t, &["set", "k", "v"]), ok());
        t.s.persist.aof.shared.write_failed(&std::io::Error::from_raw_os_error(28));
        assert_eq!(
            run(&mut t, &["set", "k", "v"]),
            err("MISCONF Errors writing to the AOF file: No space left on device")
        );
        assert!(run_raw(&mut t, &["ping"]).starts_with("-MISCONF"));
        assert_eq!(run(&mut t, &["get", "k"]), bulk("v"));
        assert!(run_raw(&mut t, &["info", "persistence"]).contains("aof_last_write_status:err"));
        // With the AOF off nothing is refused.
        t.s.persist.aof.mode = AofMode::Off;
        assert_eq!(run(&mut t, &["set", "k", "w"]), ok());
    }

    #[test]
    fn bgrewriteaof_replies() {
        let mut t = new();
        assert!(run_raw(&mut t, &["bgrewriteaof"]).starts_with("-ERR Can't execute an AOF background rewriting."));
        t.s.persist.aof.available = true;
        assert_eq!(run(&mut t, &["bgrewriteaof"]), simple("Background append only file rewriting started"));
        assert_eq!(t.s.persist.aof.requests, vec![AofRequest::Rewrite]);
        assert_eq!(
            run(&mut t, &["bgrewriteaof"]),
            err("ERR Background append only file rewriting already in progress")
        );
        t.s.persist.aof.rewrite_in_progress = false;
        run(&mut t, &["multi"]);
        run(&mut t, &["bgrewriteaof"]);
        assert!(run_raw(&mut t, &["exec"]).contains("+Background append only file rewriting scheduled"));
        assert!(t.s.persist.aof.rewrite_scheduled);
    }
}
