//! Server commands: INFO, DBSIZE, FLUSHDB/FLUSHALL, SWAPDB, CONFIG, TIME, COMMAND, DEBUG, SHUTDOWN,
//! LASTSAVE (commands layer, applied by the Keyspace actor).

use super::connection::help;
use super::spec::*;
use super::{sub_name, table, Ctx, ShutdownRequest};
use crate::config::SetError;
use crate::error::CmdError;
use crate::resp::encode::Out;
use crate::spec;
use crate::types::clock;
use crate::types::value::Value;
use std::fmt::Write as _;

/// DBSIZE
fn dbsize(cx: &mut Ctx<'_>) -> CmdResult {
    let n = cx.db().len() as i64;
    cx.out.int(n);
    Ok(())
}

/// FLUSHDB/FLUSHALL take an optional ASYNC or SYNC.
fn flush_mode(cx: &Ctx<'_>) -> CmdResult {
    match cx.argc() {
        1 => Ok(()),
        2 if cx.argv.is(1, "async") || cx.argv.is(1, "sync") => Ok(()),
        _ => Err(CmdError::SYNTAX),
    }
}

/// FLUSHDB [ASYNC|SYNC]
fn flushdb(cx: &mut Ctx<'_>) -> CmdResult {
    flush_mode(cx)?;
    let n = cx.db().len() as u64;
    super::multi::touch_all_watched_in_db(cx.s, cx.db, None);
    cx.db().clear();
    // As Redis does after a flush under jemalloc: hand the freed pages back now, not at the next cron purge.
    crate::alloc::release_free_memory();
    cx.s.dirty += n;
    cx.s.touch_db(Some(cx.db));
    cx.out.ok();
    Ok(())
}

/// FLUSHALL [ASYNC|SYNC]
fn flushall(cx: &mut Ctx<'_>) -> CmdResult {
    flush_mode(cx)?;
    let mut n = 0;
    for i in 0..cx.s.dbs.len() {
        super::multi::touch_all_watched_in_db(cx.s, i, None);
    }
    for db in &mut cx.s.dbs {
        n += db.len() as u64;
        db.clear();
    }
    crate::alloc::release_free_memory();
    cx.s.dirty += n + 1;
    cx.s.touch_db(None);
    cx.out.ok();
    Ok(())
}

/// SWAPDB index1 index2
fn swapdb(cx: &mut Ctx<'_>) -> CmdResult {
    let a = crate::types::num::parse_i64(cx.arg(1)).ok_or(CmdError::new("ERR invalid first DB index"))?;
    let b = crate::types::num::parse_i64(cx.arg(2)).ok_or(CmdError::new("ERR invalid second DB index"))?;
    let n = cx.s.dbs.len() as i64;
    if a < 0 || a >= n || b < 0 || b >= n {
        return Err(CmdError::DB_INDEX);
    }
    let (a, b) = (a as usize, b as usize);
    if a != b {
        let (lo, hi) = (a.min(b), a.max(b));
        super::multi::touch_all_watched_in_db(cx.s, a, Some(b));
        super::multi::touch_all_watched_in_db(cx.s, b, Some(a));
        let (left, right) = cx.s.dbs.split_at_mut(hi);
        left[lo].swap_contents(&mut right[0]);
        cx.s.dirty += 1;
        cx.s.touch_db(Some(a));
        cx.s.touch_db(Some(b));
    }
    cx.out.ok();
    Ok(())
}

/// TIME
fn time(cx: &mut Ctx<'_>) -> CmdResult {
    let us = clock::system_us();
    cx.out.array(2);
    cx.out.bulk((us / 1_000_000).to_string().as_bytes());
    cx.out.bulk((us % 1_000_000).to_string().as_bytes());
    Ok(())
}

/// LASTSAVE
fn lastsave(cx: &mut Ctx<'_>) -> CmdResult {
    cx.out.int(cx.s.lastsave);
    Ok(())
}

/// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]
fn shutdown(cx: &mut Ctx<'_>) -> CmdResult {
    let mut req = ShutdownRequest::default();
    let mut abort = false;
    for i in 1..cx.argc() {
        if cx.argv.is(i, "nosave") {
            req.save = Some(false);
        } else if cx.argv.is(i, "save") {
            req.save = Some(true);
        } else if cx.argv.is(i, "now") {
            req.now = true;
        } else if cx.argv.is(i, "force") {
            req.force = true;
        } else if cx.argv.is(i, "abort") {
            abort = true;
        } else {
            return Err(CmdError::SYNTAX);
        }
    }
    if abort {
        if cx.argc() != 2 {
            return Err(CmdError::SYNTAX);
        }
        return Err(CmdError::new("ERR No shutdown in progress."));
    }
    cx.s.shutdown = Some(req);
    // Redis sends no reply: the connection just closes.
    cx.client().close_after_reply = true;
    Ok(())
}

/// bytes2human: 1023B, 1.00K, 2.50M ...
pub fn human(n: u64) -> String {
    let n = n as f64;
    const UNITS: [&str; 6] = ["K", "M", "G", "T", "P", "E"];
    if n < 1024.0 {
        return format!("{}B", n as u64);
    }
    let mut v = n / 1024.0;
    for u in UNITS {
        if v < 1024.0 {
            return format!("{v:.2}{u}");
        }
        v /= 1024.0;
    }
    format!("{v:.2}Z")
}

fn rusage() -> (f64, f64) {
    // SAFETY: getrusage fills the struct we pass; zeroed is a valid initial value.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return (0.0, 0.0);
    }
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    (t(ru.ru_stime), t(ru.ru_utime))
}

const DEFAULT_SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "errorstats",
    "cluster",
    "keyspace",
];
const ALL_SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "commandstats",
    "errorstats",
    "cluster",
    "keyspace",
];

/// The INFO text for the given (lower-case) section names; empty means the default set.
pub fn info_text(cx: &mut Ctx<'_>, wanted: &[String]) -> String {
    let mut sections: Vec<&str> = Vec::new();
    if wanted.is_empty() || wanted.iter().any(|w| w == "default") {
        sections.extend(DEFAULT_SECTIONS);
    }
    if wanted.iter().any(|w| w == "all" || w == "everything") {
        sections.extend(ALL_SECTIONS);
    }
    for w in wanted {
        if let Some(s) = ALL_SECTIONS.iter().find(|s| *s == w) {
            sections.push(s);
        }
    }
    let mut out = String::new();
    let now = clock::now_ms();
    for sec in ALL_SECTIONS {
        if !sections.contains(sec) {
            continue;
        }
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        let s = &mut *cx.s;
        match *sec {
            "server" => {
                let uptime = (clock::system_ms() - s.start_ms) / 1000;
                let hz = s.config.hz;
                let _ = write!(
                    out,
                    "# Server\r\nredis_version:{}\r\nredis_git_sha1:00000000\r\nredis_git_dirty:0\r\nredis_build_id:0\r\nredis_mode:standalone\r\nferrodis_version:{}\r\nos:{} {}\r\narch_bits:64\r\nmonotonic_clock:POSIX clock_gettime\r\nmultiplexing_api:epoll\r\natomicvar_api:c11-builtin\r\ngcc_version:0.0.0\r\nprocess_id:{}\r\nprocess_supervised:no\r\nrun_id:{}\r\ntcp_port:{}\r\nserver_time_usec:{}\r\nuptime_in_seconds:{}\r\nuptime_in_days:{}\r\nhz:{}\r\nconfigured_hz:{}\r\nlru_clock:{}\r\nexecutable:{}\r\nconfig_file:{}\r\nio_threads_active:{}\r\n",
                    crate::REDIS_VERSION,
                    env!("CARGO_PKG_VERSION"),
                    std::env::consts::OS,
                    std::env::consts::ARCH,
                    std::process::id(),
                    s.run_id,
                    s.tcp_port,
                    clock::system_us(),
                    uptime,
                    uptime / 86400,
                    hz,
                    hz,
                    crate::types::db::lru_clock(),
                    s.executable,
                    s.config.config_file.clone().unwrap_or_default(),
                    s.io_threads_active as u8
                );
            }
            "clients" => {
                let connected = s.clients.iter().filter(|(_, c)| !c.local).count();
                let max_in = s.clients.iter().map(|(_, c)| c.qbuf).max().unwrap_or(0);
                let _ = write!(
                    out,
                    "# Clients\r\nconnected_clients:{}\r\ncluster_connections:0\r\nmaxclients:{}\r\nclient_recent_max_input_buffer:{}\r\nclient_recent_max_output_buffer:0\r\nblocked_clients:{}\r\ntracking_clients:0\r\nclients_in_timeout_table:0\r\n",
                    connected, s.config.maxclients, max_in, s.blocked_clients
                );
            }
            "memory" => {
                let used = s.used_memory() as u64;
                let rss = crate::alloc::rss() as u64;
                if used as usize > s.peak_memory {
                    s.peak_memory = used as usize;
                }
                let peak = s.peak_memory as u64;
                let total = crate::alloc::total_system_memory();
                let frag = if used > 0 { rss as f64 / used as f64 } else { 0.0 };
                let entry = std::mem::size_of::<crate::types::db::Entry>() as u64;
                let dataset: u64 = s.dbs.iter().map(|d| d.len() as u64 * entry).sum();
                let overhead = used.saturating_sub(dataset);
                let lua = s.scripts.info_memory();
                let allocator = crate::alloc::allocator_name();
                let _ = write!(
                    out,
                    "# Memory\r\nused_memory:{used}\r\nused_memory_human:{}\r\nused_memory_rss:{rss}\r\nused_memory_rss_human:{}\r\nused_memory_peak:{peak}\r\nused_memory_peak_human:{}\r\nused_memory_peak_perc:{:.2}%\r\nused_memory_overhead:{overhead}\r\nused_memory_startup:0\r\nused_memory_dataset:{dataset}\r\nused_memory_dataset_perc:{:.2}%\r\nallocator_allocated:{used}\r\nallocator_active:{rss}\r\nallocator_resident:{rss}\r\ntotal_system_memory:{total}\r\ntotal_system_memory_human:{}\r\n{lua}maxmemory:{}\r\nmaxmemory_human:{}\r\nmaxmemory_policy:{}\r\nallocator_frag_ratio:1.00\r\nallocator_frag_bytes:0\r\nallocator_rss_ratio:1.00\r\nallocator_rss_bytes:0\r\nrss_overhead_ratio:1.00\r\nrss_overhead_bytes:0\r\nmem_fragmentation_ratio:{frag:.2}\r\nmem_fragmentation_bytes:{}\r\nmem_not_counted_for_evict:0\r\nmem_replication_backlog:0\r\nmem_total_replication_buffers:0\r\nmem_clients_slaves:0\r\nmem_clients_normal:0\r\nmem_cluster_links:0\r\nmem_aof_buffer:0\r\nmem_allocator:{allocator}\r\nactive_defrag_running:0\r\nlazyfree_pending_objects:0\r\nlazyfreed_objects:0\r\n",
                    human(used),
                    human(rss),
                    human(peak),
                    if peak > 0 { used as f64 * 100.0 / peak as f64 } else { 0.0 },
                    if used > 0 { dataset as f64 * 100.0 / used as f64 } else { 0.0 },
                    human(total),
                    s.config.maxmemory,
                    human(s.config.maxmemory),
                    s.config.maxmemory_policy,
                    rss as i64 - used as i64
                );
            }
            "persistence" => {
                let (loading, aof, aof_on) = super::aof::info_fields(s);
                let _ = write!(
                    out,
                    "# Persistence\r\nloading:{loading}\r\nasync_loading:0\r\ncurrent_cow_peak:0\r\ncurrent_cow_size:0\r\ncurrent_cow_size_age:0\r\ncurrent_fork_perc:0.00\r\ncurrent_save_keys_processed:0\r\ncurrent_save_keys_total:0\r\nrdb_changes_since_last_save:{}\r\nrdb_bgsave_in_progress:0\r\nrdb_last_save_time:{}\r\nrdb_last_bgsave_status:ok\r\nrdb_last_bgsave_time_sec:-1\r\nrdb_current_bgsave_time_sec:-1\r\nrdb_saves:0\r\nrdb_last_cow_size:0\r\nrdb_last_load_keys_expired:0\r\nrdb_last_load_keys_loaded:0\r\n{aof}aof_last_cow_size:0\r\nmodule_fork_in_progress:0\r\nmodule_fork_last_cow_size:0\r\n{aof_on}",
                    s.dirty, s.lastsave
                );
            }
            "stats" => {
                let ops = match (s.ops_samples.first(), s.ops_samples.last()) {
                    (Some(a), Some(b)) if b.0 > a.0 => (b.1 - a.1) * 1000 / (b.0 - a.0) as u64,
                    _ => 0,
                };
                let expired: u64 = s.dbs.iter().map(|d| d.expired_keys).sum();
                let hits: u64 = s.dbs.iter().map(|d| d.hits).sum();
                let misses: u64 = s.dbs.iter().map(|d| d.misses).sum();
                let st = &s.stats;
                let _ = write!(
                    out,
                    "# Stats\r\ntotal_connections_received:{}\r\ntotal_commands_processed:{}\r\ninstantaneous_ops_per_sec:{ops}\r\ntotal_net_input_bytes:{}\r\ntotal_net_output_bytes:{}\r\ntotal_net_repl_input_bytes:0\r\ntotal_net_repl_output_bytes:0\r\ninstantaneous_input_kbps:0.00\r\ninstantaneous_output_kbps:0.00\r\ninstantaneous_input_repl_kbps:0.00\r\ninstantaneous_output_repl_kbps:0.00\r\nrejected_connections:{}\r\nsync_full:0\r\nsync_partial_ok:0\r\nsync_partial_err:0\r\nexpired_keys:{expired}\r\nexpired_stale_perc:0.00\r\nexpired_time_cap_reached_count:0\r\nexpire_cycle_cpu_milliseconds:{}\r\nevicted_keys:{}\r\nevicted_clients:0\r\ntotal_eviction_exceeded_time:0\r\ncurrent_eviction_exceeded_time:0\r\nkeyspace_hits:{hits}\r\nkeyspace_misses:{misses}\r\npubsub_channels:0\r\npubsub_patterns:0\r\nlatest_fork_usec:0\r\ntotal_forks:0\r\nmigrate_cached_sockets:0\r\nslave_expires_tracked_keys:0\r\nactive_defrag_hits:0\r\nactive_defrag_misses:0\r\nactive_defrag_key_hits:0\r\nactive_defrag_key_misses:0\r\ntotal_active_defrag_time:0\r\ncurrent_active_defrag_time:0\r\ntracking_total_keys:0\r\ntracking_total_items:0\r\ntracking_total_prefixes:0\r\nunexpected_error_replies:0\r\ntotal_error_replies:{}\r\ndump_payload_sanitizations:0\r\ntotal_reads_processed:{}\r\ntotal_writes_processed:{}\r\nio_threaded_reads_processed:0\r\nio_threaded_writes_processed:0\r\nreply_buffer_shrinks:0\r\nreply_buffer_expands:0\r\n",
                    st.connections_received,
                    st.commands_processed,
                    st.net_input_bytes,
                    st.net_output_bytes,
                    st.rejected_connections,
                    st.expire_cycle_cpu_ms,
                    st.evicted_keys,
                    st.error_replies,
                    st.reads_processed,
                    st.reads_processed
                );
            }
            "replication" => {
                let _ = write!(
                    out,
                    "# Replication\r\nrole:master\r\nconnected_slaves:{}\r\nmaster_failover_state:no-failover\r\nmaster_replid:{}\r\nmaster_replid2:0000000000000000000000000000000000000000\r\nmaster_repl_offset:{}\r\nsecond_repl_offset:-1\r\nrepl_backlog_active:0\r\nrepl_backlog_size:1048576\r\nrepl_backlog_first_byte_offset:0\r\nrepl_backlog_histlen:0\r\n",
                    s.replicas, s.run_id, s.feed.offset
                );
            }
            "cpu" => {
                let (sys, user) = rusage();
                let _ = write!(
                    out,
                    "# CPU\r\nused_cpu_sys:{sys:.6}\r\nused_cpu_user:{user:.6}\r\nused_cpu_sys_children:0.000000\r\nused_cpu_user_children:0.000000\r\nused_cpu_sys_main_thread:{sys:.6}\r\nused_cpu_user_main_thread:{user:.6}\r\n"
                );
            }
            "modules" => out.push_str("# Modules\r\n"),
            "cluster" => out.push_str("# Cluster\r\ncluster_enabled:0\r\n"),
            "commandstats" => {
                out.push_str("# Commandstats\r\n");
                for spec in &table().all {
                    let st = s.cmd_stats[spec.id];
                    if st.calls == 0 && st.rejected == 0 && st.failed == 0 {
                        continue;
                    }
                    let per = if st.calls > 0 { st.usec as f64 / st.calls as f64 } else { 0.0 };
                    let _ = write!(
                        out,
                        "cmdstat_{}:calls={},usec={},usec_per_call={per:.2},rejected_calls={},failed_calls={}\r\n",
                        spec.name, st.calls, st.usec, st.rejected, st.failed
                    );
                }
            }
            "errorstats" => {
                out.push_str("# Errorstats\r\n");
                let mut v: Vec<_> = s.error_stats.iter().collect();
                v.sort();
                for (code, n) in v {
                    let _ = write!(out, "errorstat_{code}:count={n}\r\n");
                }
            }
            "keyspace" => {
                out.push_str("# Keyspace\r\n");
                for db in &s.dbs {
                    if !db.is_empty() {
                        let _ =
                            write!(out, "db{}:keys={},expires={},avg_ttl=0\r\n", db.id, db.len(), db.expires_count());
                    }
                }
            }
            _ => {}
        }
        let _ = now;
    }
    out
}

/// INFO [section ...]
fn info(cx: &mut Ctx<'_>) -> CmdResult {
    let wanted: Vec<String> = cx.argv.iter().skip(1).map(|a| String::from_utf8_lossy(a).to_ascii_lowercase()).collect();
    let text = info_text(cx, &wanted);
    cx.out.verbatim("txt", text.as_bytes());
    Ok(())
}

// ---- CONFIG ----

fn config_get(cx: &mut Ctx<'_>) -> CmdResult {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for i in 2..cx.argc() {
        let pat = String::from_utf8_lossy(cx.arg(i)).into_owned();
        for (k, v) in cx.s.config.get_matching(&pat) {
            if !pairs.iter().any(|(n, _)| *n == k) {
                pairs.push((k, v));
            }
        }
    }
    cx.out.map(pairs.len());
    for (k, v) in pairs {
        cx.out.bulk(k.as_bytes());
        cx.out.bulk(v.as_bytes());
    }
    Ok(())
}

fn config_set(cx: &mut Ctx<'_>) -> CmdResult {
    if !cx.argc().is_multiple_of(2) {
        return Err(CmdError::arity("config|set"));
    }
    // All or nothing: apply to a copy, commit only if every pair was accepted (as Redis 7 does).
    let mut cfg = cx.s.config.clone();
    let mut seen: Vec<String> = Vec::new();
    for i in (2..cx.argc()).step_by(2) {
        let name = String::from_utf8_lossy(cx.arg(i)).to_ascii_lowercase();
        let value = String::from_utf8_lossy(cx.arg(i + 1)).into_owned();
        if seen.contains(&name) {
            return Err(CmdError::msg(format!(
                "ERR CONFIG SET failed (possibly related to argument '{name}') - duplicate parameter"
            )));
        }
        seen.push(name.clone());
        match cfg.set(&name, &value) {
            Ok(()) => {}
            Err(SetError::Unknown) => {
                return Err(CmdError::msg(format!(
                    "ERR Unknown option or number of arguments for CONFIG SET - '{}'",
                    crate::error::sanitize(cx.arg(i), 128)
                )))
            }
            Err(SetError::Bad(why)) => {
                return Err(CmdError::msg(format!(
                    "ERR CONFIG SET failed (possibly related to argument '{name}') - {why}"
                )))
            }
        }
    }
    super::aof::check_config(cx.s, &cfg)?;
    // changeBindAddr: a new bind list must be bindable, else nothing changes. The listening sockets
    // themselves stay as they were bound at start-up (see README, limitations).
    if cfg.bind != cx.s.config.bind && !crate::config::bind_addresses_ok(&cfg.bind) {
        return Err(CmdError::new(
            "ERR CONFIG SET failed (possibly related to argument 'bind') - Failed to bind to specified addresses.",
        ));
    }
    // updateMaxclients: a new maxclients must fit the descriptor limit (raised if the OS allows).
    if cfg.maxclients != cx.s.config.maxclients {
        let fits = crate::config::adjust_open_files_limit(cfg.maxclients).maxclients;
        if fits != cfg.maxclients {
            return Err(CmdError::msg(format!(
                "ERR CONFIG SET failed (possibly related to argument 'maxclients') - The operating system is not able to handle the specified number of clients, try with {fits}"
            )));
        }
    }
    let old = std::mem::replace(&mut cx.s.config, cfg);
    cx.s.apply_config();
    super::aof::config_changed(cx.s, &old);
    cx.out.ok();
    Ok(())
}

fn config_resetstat(cx: &mut Ctx<'_>) -> CmdResult {
    let s = &mut *cx.s;
    s.stats = Default::default();
    for st in &mut s.cmd_stats {
        *st = Default::default();
    }
    s.error_stats.clear();
    for db in &mut s.dbs {
        db.expired_keys = 0;
        db.hits = 0;
        db.misses = 0;
    }
    s.peak_memory = s.used_memory();
    cx.out.ok();
    Ok(())
}

fn config_rewrite(cx: &mut Ctx<'_>) -> CmdResult {
    match cx.s.config.rewrite() {
        Ok(()) => {
            cx.out.ok();
            Ok(())
        }
        Err(e) if e.contains("without a config file") => Err(CmdError::msg(format!("ERR {e}"))),
        Err(e) => Err(CmdError::msg(format!("ERR Rewriting config file: {e}"))),
    }
}

fn config_help(cx: &mut Ctx<'_>) -> CmdResult {
    help(
        cx,
        "CONFIG",
        &[
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
            "REWRITE",
            "    Rewrite the configuration file.",
        ],
    )
}

// ---- COMMAND ----

fn write_command_info(out: &mut Out, spec: &CommandSpec) {
    out.array(10);
    out.bulk(spec.name.as_bytes());
    out.int(spec.arity as i64);
    let flags: Vec<&str> = FLAG_NAMES.iter().filter(|(b, _)| spec.flags & b != 0).map(|(_, n)| *n).collect();
    out.set(flags.len());
    for f in flags {
        out.simple(f);
    }
    out.int(spec.first_key as i64);
    out.int(spec.last_key as i64);
    out.int(spec.key_step as i64);
    let cats = spec.acl_categories();
    out.set(cats.len());
    for c in cats {
        out.simple(&format!("@{c}"));
    }
    out.set(0); // tips
    if spec.first_key > 0 {
        out.array(1);
        out.map(3);
        out.bulk(b"flags");
        let f: &[&str] = if spec.has(WRITE) { &["RW", "UPDATE"] } else { &["RO", "ACCESS"] };
        out.set(f.len());
        for x in f {
            out.simple(x);
        }
        out.bulk(b"begin_search");
        out.map(2);
        out.bulk(b"type");
        out.bulk(b"index");
        out.bulk(b"spec");
        out.map(1);
        out.bulk(b"index");
        out.int(spec.first_key as i64);
        out.bulk(b"find_keys");
        out.map(2);
        out.bulk(b"type");
        out.bulk(b"range");
        out.bulk(b"spec");
        out.map(3);
        out.bulk(b"lastkey");
        out.int(if spec.last_key < 0 { spec.last_key as i64 } else { (spec.last_key - spec.first_key) as i64 });
        out.bulk(b"keystep");
        out.int(spec.key_step as i64);
        out.bulk(b"limit");
        out.int(0);
    } else {
        out.array(0);
    }
    out.array(spec.subcommands.len());
    for sub in spec.subcommands {
        write_command_info(out, sub);
    }
}

fn sorted_commands() -> Vec<&'static CommandSpec> {
    let mut v: Vec<_> = table().commands().collect();
    v.sort_by_key(|s| s.name);
    v
}

fn command(cx: &mut Ctx<'_>) -> CmdResult {
    if cx.argc() > 1 {
        // "COMMAND foo" with an unknown subcommand is handled by the executor; this is COMMAND alone.
        return Err(CmdError::unknown_subcommand("command", cx.arg(1)));
    }
    let all = sorted_commands();
    cx.out.array(all.len());
    for s in all {
        write_command_info(cx.out, s);
    }
    Ok(())
}

fn command_count(cx: &mut Ctx<'_>) -> CmdResult {
    cx.out.int(table().commands().count() as i64);
    Ok(())
}

/// Look up "get" or "config|get" style names.
fn find_command(name: &[u8]) -> Option<&'static CommandSpec> {
    let n = String::from_utf8_lossy(name).to_ascii_lowercase();
    match n.split_once('|') {
        Some((parent, sub)) => table().lookup(parent.as_bytes())?.subcommands.iter().find(|s| sub_name(s) == sub),
        None => table().lookup(n.as_bytes()),
    }
}

fn command_info(cx: &mut Ctx<'_>) -> CmdResult {
    if cx.argc() == 2 {
        let all = sorted_commands();
        cx.out.array(all.len());
        for s in all {
            write_command_info(cx.out, s);
        }
        return Ok(());
    }
    cx.out.array(cx.argc() - 2);
    for i in 2..cx.argc() {
        match find_command(cx.arg(i)) {
            Some(s) => write_command_info(cx.out, s),
            None => cx.out.nil_array(),
        }
    }
    Ok(())
}

fn command_list(cx: &mut Ctx<'_>) -> CmdResult {
    let mut filter: Option<(String, String)> = None;
    if cx.argc() == 5 && cx.argv.is(2, "filterby") {
        let kind = String::from_utf8_lossy(cx.arg(3)).to_ascii_lowercase();
        let val = String::from_utf8_lossy(cx.arg(4)).into_owned();
        if !matches!(kind.as_str(), "module" | "aclcat" | "pattern") {
            return Err(CmdError::SYNTAX);
        }
        filter = Some((kind, val));
    } else if cx.argc() != 2 {
        return Err(CmdError::SYNTAX);
    }
    let mut names = Vec::new();
    for spec in table().all.iter() {
        let keep = match &filter {
            None => true,
            Some((k, _)) if k == "module" => false,
            Some((k, v)) if k == "aclcat" => spec.acl_categories().iter().any(|c| c.eq_ignore_ascii_case(v)),
            Some((_, v)) => crate::types::glob::glob_match(v.as_bytes(), spec.name.as_bytes(), true),
        };
        if keep {
            names.push(spec.name);
        }
    }
    cx.out.array(names.len());
    for n in names {
        cx.out.bulk(n.as_bytes());
    }
    Ok(())
}

fn command_getkeys(cx: &mut Ctx<'_>) -> CmdResult {
    let args: Vec<&[u8]> = cx.argv.iter().skip(2).collect();
    let spec = table().lookup(args[0]).ok_or(CmdError::new("ERR Invalid command specified"))?;
    let spec = if !spec.subcommands.is_empty() && args.len() > 1 {
        spec.subcommands.iter().find(|s| sub_name(s).as_bytes().eq_ignore_ascii_case(args[1])).unwrap_or(spec)
    } else {
        spec
    };
    if !spec.arity_ok(args.len()) {
        return Err(CmdError::new("ERR Invalid number of arguments specified for command"));
    }
    let keys = spec.key_positions(&args);
    if keys.is_empty() && spec.has(NO_MANDATORY_KEYS) {
        // EVAL with numkeys 0 and the like: no keys is a valid answer.
        cx.out.array(0);
        return Ok(());
    }
    if keys.is_empty() {
        return Err(CmdError::new("ERR The command has no key arguments"));
    }
    cx.out.array(keys.len());
    for k in keys {
        cx.out.bulk(args[k]);
    }
    Ok(())
}

fn write_docs(out: &mut Out, spec: &CommandSpec) {
    let has_subs = !spec.subcommands.is_empty();
    out.map(4 + has_subs as usize);
    out.bulk(b"summary");
    out.bulk(spec.summary.as_bytes());
    out.bulk(b"since");
    out.bulk(spec.since.as_bytes());
    out.bulk(b"group");
    out.bulk(spec.group.as_bytes());
    out.bulk(b"complexity");
    out.bulk(spec.complexity.as_bytes());
    if has_subs {
        out.bulk(b"subcommands");
        out.map(spec.subcommands.len());
        for s in spec.subcommands {
            out.bulk(s.name.as_bytes());
            write_docs(out, s);
        }
    }
}

fn command_docs(cx: &mut Ctx<'_>) -> CmdResult {
    let specs: Vec<&CommandSpec> = if cx.argc() == 2 {
        sorted_commands()
    } else {
        (2..cx.argc()).filter_map(|i| find_command(cx.arg(i))).collect()
    };
    cx.out.map(specs.len());
    for s in specs {
        cx.out.bulk(s.name.as_bytes());
        write_docs(cx.out, s);
    }
    Ok(())
}

fn command_help(cx: &mut Ctx<'_>) -> CmdResult {
    help(
        cx,
        "COMMAND",
        &[
            "(no subcommand)",
            "    Return details about all Redis commands.",
            "COUNT",
            "    Return the total number of commands in this Redis server.",
            "LIST",
            "    Return a list of all commands in this Redis server.",
            "INFO [<command-name> ...]",
            "    Return details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "DOCS [<command-name> ...]",
            "    Return documentation details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "GETKEYS <full-command>",
            "    Return the keys from a full Redis command.",
            "LIST [FILTERBY (MODULE <module-name>|ACLCAT <category>|PATTERN <pattern>)]",
            "    Return a list of all commands in this Redis server.",
        ],
    )
}

// ---- DEBUG ----

/// A 20-byte digest of a value, as Redis's DEBUG DIGEST-VALUE: ordered types mix their elements in order,
/// unordered ones XOR per-element digests so that iteration order does not matter.
fn value_digest(v: &Value) -> [u8; 20] {
    let mut d = [0u8; 20];
    let xor_in = |d: &mut [u8; 20], parts: &[&[u8]]| {
        let mut e = [0u8; 20];
        for p in parts {
            mix_digest(&mut e, p);
        }
        for (a, b) in d.iter_mut().zip(e) {
            *a ^= b;
        }
    };
    match v {
        Value::List(l) => {
            mix_digest(&mut d, b"list");
            for item in l.iter() {
                // Chain: each element's digest depends on the ones before it.
                let prev = d;
                mix_digest(&mut d, &prev);
                mix_digest(&mut d, item);
            }
        }
        Value::Set(st) => {
            mix_digest(&mut d, b"set");
            for m in st.members() {
                m.with_bytes(|m| xor_in(&mut d, &[m]));
            }
        }
        Value::Hash(h) => {
            mix_digest(&mut d, b"hash");
            for (f, x) in h.iter() {
                xor_in(&mut d, &[f, x]);
            }
        }
        Value::ZSet(z) => {
            mix_digest(&mut d, b"zset");
            for (m, sc) in z.iter() {
                xor_in(&mut d, &[m, crate::types::num::format_double(sc).as_bytes()]);
            }
        }
        Value::Stream(st) => {
            // Ordered like a list: every entry's id and fields in turn, then the last generated id.
            mix_digest(&mut d, b"stream");
            for e in st.iter() {
                let prev = d;
                mix_digest(&mut d, &prev);
                mix_digest(&mut d, e.id.to_string().as_bytes());
                for x in e.elements() {
                    mix_digest(&mut d, x);
                }
            }
            mix_digest(&mut d, st.last_id.to_string().as_bytes());
        }
        _ => mix_digest(&mut d, &v.to_vec().unwrap_or_default()),
    }
    d
}

fn mix_digest(d: &mut [u8; 20], data: &[u8]) {
    use std::hash::{BuildHasher, Hasher};
    for (round, chunk) in d.chunks_mut(8).enumerate() {
        let mut h = foldhash::fast::FixedState::with_seed(0x5eed + round as u64).build_hasher();
        h.write(data);
        let x = h.finish().to_le_bytes();
        for (a, b) in chunk.iter_mut().zip(x) {
            *a ^= b;
        }
    }
}

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Redis's refusal of DEBUG when `enable-debug-command` does not allow this client.
const DEBUG_REFUSED: CmdError = CmdError::new(
    "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it \
     from a local connection, otherwise you need to set this option in the configuration file, and then restart \
     the server.",
);

/// `enable-debug-command`: "yes" allows DEBUG, "local" only from a local connection (a Unix socket, the
/// peer 127.0.0.1 or ::1 exactly, as Redis's islocalClient, or an in-process client), "no" (Redis 7.0's
/// default) never. Checked before authentication, as Redis's processCommand does.
pub(crate) fn debug_refusal(s: &super::State, client: &super::Client) -> Option<CmdError> {
    let local = || {
        let ip = client.addr.rsplit_once(':').map(|(ip, _)| ip).unwrap_or(&client.addr);
        client.unix_socket || client.local || ip == "127.0.0.1" || ip == "[::1]"
    };
    match s.config.enable_debug_command.as_str() {
        "yes" => None,
        "local" if local() => None,
        _ => Some(DEBUG_REFUSED),
    }
}

fn debug(cx: &mut Ctx<'_>) -> CmdResult {
    let sub = String::from_utf8_lossy(cx.arg(1)).to_ascii_lowercase();
    match sub.as_str() {
        "help" => help(
            cx,
            "DEBUG",
            &[
                "DIGEST",
                "    Output a hex signature representing the current DB content.",
                "DIGEST-VALUE <key> [<key> ...]",
                "    Output a hex signature of the values of all the specified keys.",
                "OBJECT <key>",
                "    Show low level info about the `key` and associated value.",
                "RELOAD",
                "    Save the dataset and load it back (in memory until snapshots are written to disk).",
                "PROTOCOL <type>",
                "    Reply with a test value of the specified type.",
                "SET-ACTIVE-EXPIRE <0|1>",
                "    Setting it to 0 disables expiring keys in background when they are not accessed.",
                "SLEEP <seconds>",
                "    Stop the server for <seconds>. Decimals allowed.",
                "LOG <message>",
                "    Write <message> to the server log.",
                "CHANGE-REPL-ID",
                "    Change the replication IDs of the instance.",
            ],
        ),
        "sleep" if cx.argc() == 3 => {
            let secs = cx.float_arg(2)?;
            // DEBUG SLEEP deliberately stalls the server, as in Redis: tests use it to simulate slow commands.
            std::thread::sleep(std::time::Duration::from_secs_f64(secs.max(0.0)));
            cx.out.ok();
            Ok(())
        }
        "set-active-expire" if cx.argc() == 3 => {
            cx.s.active_expire = cx.int_arg(2)? != 0;
            cx.out.ok();
            Ok(())
        }
        "set-disable-deny-scripts" if cx.argc() == 3 => {
            cx.s.scripts.disable_deny = cx.int_arg(2)? != 0;
            cx.out.ok();
            Ok(())
        }
        "log" if cx.argc() == 3 => {
            log::warn!("DEBUG LOG: {}", String::from_utf8_lossy(cx.arg(2)));
            cx.out.ok();
            Ok(())
        }
        "change-repl-id" | "quicklist-packed-threshold" | "set-skip-checksum-validation" | "replybuffer" => {
            cx.out.ok();
            Ok(())
        }
        "object" if cx.argc() == 3 => {
            let key = cx.arg(2);
            let (db, out) = cx.db_out();
            let Some(e) = db.peek_stored(key) else { return Err(CmdError::NO_KEY) };
            let ser = e.value.str_len();
            let line = format!(
                "Value at:{:p} refcount:1 encoding:{} serializedlength:{} lru:{} lru_seconds_idle:{}",
                e as *const _,
                e.value.encoding(),
                ser.max(1),
                e.lru(),
                crate::types::db::idle_seconds(e.lru())
            );
            out.simple(&line);
            Ok(())
        }
        "digest" if cx.argc() == 2 => {
            let mut total = [0u8; 20];
            for db in &cx.s.dbs {
                db.for_each(|e, expire_at| {
                    let mut d = value_digest(&e.value);
                    mix_digest(&mut d, &e.key);
                    if expire_at != 0 {
                        mix_digest(&mut d, b"!!expire!!");
                    }
                    for (a, b) in total.iter_mut().zip(d) {
                        *a ^= b;
                    }
                });
            }
            cx.out.simple(&hex(&total));
            Ok(())
        }
        "digest-value" => {
            let keys: Vec<&[u8]> = cx.argv.iter().skip(2).collect();
            cx.out.array(keys.len());
            for k in keys {
                let d = cx.s.dbs[cx.db].peek(k).map(|e| value_digest(&e.value)).unwrap_or([0; 20]);
                cx.out.simple(&hex(&d));
            }
            Ok(())
        }
        "protocol" if cx.argc() == 3 => debug_protocol(cx),
        "reload" => debug_reload(cx),
        "loadaof" => super::aof::debug_loadaof(cx),
        "jmap" => Err(CmdError::msg(format!(
            "ERR DEBUG {} is not supported until persistence is available",
            sub.to_uppercase()
        ))),
        _ => Err(CmdError::unknown_subcommand("debug", cx.arg(1))),
    }
}

/// DEBUG RELOAD: until snapshots are written to disk, every key is serialized with the DUMP codec and loaded
/// back in memory, which is what the command checks: values survive a save/load cycle and get the encoding
/// a loader picks afresh. TTLs are kept, keys already expired are not loaded, access data starts anew.
fn debug_reload(cx: &mut Ctx<'_>) -> CmdResult {
    use crate::persist::dump::{dump_value, restore_value};
    let now = clock::now_ms();
    let enc = cx.s.enc;
    for db in cx.s.dbs.iter_mut() {
        let mut saved: Vec<(Vec<u8>, Vec<u8>, i64)> = Vec::with_capacity(db.len());
        db.for_each(|e, expire_at| saved.push((e.key.to_vec(), dump_value(&e.value), expire_at)));
        db.clear();
        for (key, payload, expire_at) in saved {
            if expire_at != 0 && expire_at < now {
                continue;
            }
            let value =
                restore_value(&payload, &enc).map_err(|_| CmdError::new("ERR Error trying to load the RDB dump"))?;
            db.set(&key, value, false);
            if expire_at != 0 {
                db.set_expire(&key, expire_at);
            }
        }
    }
    cx.out.ok();
    Ok(())
}

fn debug_protocol(cx: &mut Ctx<'_>) -> CmdResult {
    let t = String::from_utf8_lossy(cx.arg(2)).to_ascii_lowercase();
    let out = &mut *cx.out;
    match t.as_str() {
        "string" => out.bulk(b"Hello World"),
        "integer" => out.int(12345),
        // Redis's fixed test value (not pi).
        #[allow(clippy::approx_constant)]
        "double" => out.double(3.141),
        "bignum" => out.big_number("1234567999999999999999999999999999999"),
        "null" => out.nil(),
        "array" => {
            out.array(3);
            for i in 0..3 {
                out.int(i);
            }
        }
        "set" => {
            out.set(3);
            for i in 0..3 {
                out.int(i);
            }
        }
        "map" => {
            out.map(3);
            for i in 0..3 {
                out.int(i);
                out.boolean(i == 1);
            }
        }
        "attrib" => {
            if out.resp >= 3 {
                out.attribute(1);
                out.bulk(b"key-popularity");
                out.array(2);
                out.bulk(b"key:123");
                out.int(90);
            }
            out.bulk(b"Some real reply following the attribute");
        }
        "push" => {
            if out.resp < 3 {
                return Err(CmdError::new("ERR RESP2 is not supported by this command"));
            }
            out.push(2);
            out.bulk(b"server-cpu-usage");
            out.int(42);
            out.bulk(b"Some real reply following the push reply");
        }
        "true" => out.boolean(true),
        "false" => out.boolean(false),
        "verbatim" => out.verbatim("txt", b"This is a verbatim\nstring"),
        _ => {
            return Err(CmdError::new(
                "ERR Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false",
            ))
        }
    }
    Ok(())
}

// ---- MEMORY ----

/// Bytes a key costs: table slot and entry, key and value heap (Redis's objectComputeSize, exact here).
fn key_memory(e: &crate::types::db::Entry) -> usize {
    std::mem::size_of::<crate::types::db::Entry>() + 8 + e.key.heap_size() + e.value.heap_size()
}

fn memory_usage(cx: &mut Ctx<'_>) -> CmdResult {
    if cx.argc() == 5 {
        if !cx.argv.is(3, "samples") {
            return Err(CmdError::SYNTAX);
        }
        cx.int_arg(4)?;
    } else if cx.argc() != 3 {
        return Err(CmdError::SYNTAX);
    }
    let key = cx.arg(2);
    let (db, out) = cx.db_out();
    match db.peek(key) {
        Some(e) => out.int(key_memory(e) as i64),
        None => out.nil(),
    }
    Ok(())
}

fn memory_stats(cx: &mut Ctx<'_>) -> CmdResult {
    let used = cx.s.used_memory() as i64;
    let peak = cx.s.peak_memory.max(used as usize) as i64;
    let keys: usize = cx.s.dbs.iter().map(|d| d.len()).sum();
    let dataset: i64 = cx.s.dbs.iter().map(|d| d.len() as i64 * 64).sum();
    let out = &mut *cx.out;
    out.map(9);
    out.bulk(b"peak.allocated");
    out.int(peak);
    out.bulk(b"total.allocated");
    out.int(used);
    out.bulk(b"startup.allocated");
    out.int(0);
    out.bulk(b"keys.count");
    out.int(keys as i64);
    out.bulk(b"keys.bytes-per-key");
    out.int(if keys > 0 { used / keys as i64 } else { 0 });
    out.bulk(b"dataset.bytes");
    out.int(dataset);
    out.bulk(b"dataset.percentage");
    out.double(if used > 0 { dataset as f64 * 100.0 / used as f64 } else { 0.0 });
    out.bulk(b"peak.percentage");
    out.double(if peak > 0 { used as f64 * 100.0 / peak as f64 } else { 0.0 });
    out.bulk(b"fragmentation");
    out.double(if used > 0 { crate::alloc::rss() as f64 / used as f64 } else { 0.0 });
    Ok(())
}

fn memory_doctor(cx: &mut Ctx<'_>) -> CmdResult {
    cx.out.verbatim(
        "txt",
        b"Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.",
    );
    Ok(())
}

fn memory_malloc_stats(cx: &mut Ctx<'_>) -> CmdResult {
    cx.out.verbatim("txt", b"Stats not supported for the current allocator");
    Ok(())
}

fn memory_purge(cx: &mut Ctx<'_>) -> CmdResult {
    cx.out.ok();
    Ok(())
}

fn memory_help(cx: &mut Ctx<'_>) -> CmdResult {
    help(
        cx,
        "MEMORY",
        &[
            "DOCTOR",
            "    Return memory problems reports.",
            "MALLOC-STATS",
            "    Return internal statistics report from the memory allocator.",
            "PURGE",
            "    Attempt to purge dirty pages for reclamation by the allocator.",
            "STATS",
            "    Return information about the memory usage of the server.",
            "USAGE <key> [SAMPLES <count>]",
            "    Return memory in bytes used by <key> and its value. Nested values are",
            "    sampled up to <count> times (default: 5, 0 means sample all).",
        ],
    )
}

fn container(_: &mut Ctx<'_>) -> CmdResult {
    Err(CmdError::SYNTAX)
}

const ADM: u32 = ADMIN | NOSCRIPT | LOADING | STALE;

const MEMORY_SUBS: &[CommandSpec] = &[
    spec!(
        "memory|usage",
        -3,
        READONLY,
        (2, 2, 1),
        KEYSPACE,
        "server",
        "4.0.0",
        "Estimates the memory usage of a key.",
        "O(N) where N is the number of samples.",
        memory_usage
    ),
    spec!(
        "memory|stats",
        2,
        0,
        (0, 0, 0),
        SERVER,
        "server",
        "4.0.0",
        "Returns details about memory usage.",
        "O(1)",
        memory_stats
    ),
    spec!(
        "memory|doctor",
        2,
        0,
        (0, 0, 0),
        SERVER,
        "server",
        "4.0.0",
        "Outputs a memory problems report.",
        "O(1)",
        memory_doctor
    ),
    spec!(
        "memory|malloc-stats",
        2,
        0,
        (0, 0, 0),
        SERVER,
        "server",
        "4.0.0",
        "Returns the allocator statistics.",
        "Depends on how much memory is allocated, could be slow",
        memory_malloc_stats
    ),
    spec!(
        "memory|purge",
        2,
        0,
        (0, 0, 0),
        SERVER,
        "server",
        "4.0.0",
        "Asks the allocator to release memory.",
        "Depends on how much memory is allocated, could be slow",
        memory_purge
    ),
    spec!(
        "memory|help",
        2,
        LOADING | STALE,
        (0, 0, 0),
        SERVER,
        "server",
        "4.0.0",
        "Returns helpful text about the different subcommands.",
        "O(1)",
        memory_help
    ),
];

const CONFIG_SUBS: &[CommandSpec] = &[
    spec!(
        "config|get",
        -3,
        ADM,
        (0, 0, 0),
        SERVER,
        "server",
        "2.0.0",
        "Returns the effective values of configuration parameters.",
        "O(N) when N is the number of configuration parameters provided",
        config_get
    ),
    spec!(
        "config|set",
        -4,
        ADM | MAY_REPLICATE,
        (0, 0, 0),
        SERVER,
        "server",
        "2.0.0",
        "Sets configuration parameters in-flight.",
        "O(N) when N is the number of configuration parameters provided",
        config_set
    ),
    spec!(
        "config|resetstat",
        2,
        ADM,
        (0, 0, 0),
        SERVER,
        "server",
        "2.0.0",
        "Resets the server's statistics.",
        "O(1)",
        config_resetstat
    ),
    spec!(
        "config|rewrite",
        2,
        ADM,
        (0, 0, 0),
        SERVER,
        "server",
        "2.8.0",
        "Persists the effective configuration to file.",
        "O(1)",
        config_rewrite
    ),
    spec!(
        "config|help",
        2,
        LOADING | STALE,
        (0, 0, 0),
        SERVER,
        "server",
        "5.0.0",
        "Returns helpful text about the different subcommands.",
        "O(1)",
        config_help
    ),
];

const COMMAND_SUBS: &[CommandSpec] = &[
    spec!(
        "command|count",
        2,
        LOADING | STALE,
        (0, 0, 0),
        CONNECTION,
        "server",
        "2.8.13",
        "Returns a count of commands.",
        "O(1)",
        command_count
    ),
    spec!(
        "command|info",
        -2,
        LOADING | STALE,
        (0, 0, 0),
        CONNECTION,
        "server",
        "2.8.13",
        "Returns information about one, multiple or all commands.",
        "O(N) where N is the number of commands to look up",
        command_info
    ),
    spec!(
        "command|list",
        -2,
        LOADING | STALE,
        (0, 0, 0),
        CONNECTION,
        "server",
        "7.0.0",
        "Returns a list of command names.",
        "O(N) where N is the total number of Redis commands",
        command_list
    ),
    spec!(
        "command|getkeys",
        -3,
        LOADING | STALE,
        (0, 0, 0),
        CONNECTION,
        "server",
        "2.8.13",
        "Extracts the key names from an arbitrary command.",
        "O(N) where N is the number of arguments to the command",
        command_getkeys
    ),
    spec!(
        "command|docs",
        -2,
        LOADING | STALE,
        (0, 0, 0),
        CONNECTION,
        "server",
        "7.0.0",
        "Returns documentary information about one, multiple or all commands.",
        "O(N) where N is the number of commands to look up",
        command_docs
    ),
    spec!(
        "command|help",
        2,
        LOADING | STALE,
        (0, 0, 0),
        CONNECTION,
        "server",
        "5.0.0",
        "Returns helpful text about the different subcommands.",
        "O(1)",
        command_help
    ),
];

pub const SPECS: &[CommandSpec] = &[
    spec!(
        "info",
        -1,
        LOADING | STALE,
        (0, 0, 0),
        DANGEROUS,
        "server",
        "1.0.0",
        "Returns information and statistics about the server.",
        "O(1)",
        info
    ),
    spec!(
        "dbsize",
        1,
        READONLY | FAST,
        (0, 0, 0),
        KEYSPACE,
        "server",
        "1.0.0",
        "Returns the number of keys in the database.",
        "O(1)",
        dbsize
    ),
    spec!(
        "flushdb",
        -1,
        WRITE,
        (0, 0, 0),
        KEYSPACE | DANGEROUS,
        "server",
        "1.0.0",
        "Removes all keys from the current database.",
        "O(N) where N is the number of keys in the selected database",
        flushdb
    ),
    spec!(
        "flushall",
        -1,
        WRITE,
        (0, 0, 0),
        KEYSPACE | DANGEROUS,
        "server",
        "1.0.0",
        "Removes all keys from all databases.",
        "O(N) where N is the total number of keys in all databases",
        flushall
    ),
    spec!(
        "swapdb",
        3,
        WRITE | FAST,
        (0, 0, 0),
        KEYSPACE | DANGEROUS,
        "server",
        "4.0.0",
        "Swaps two Redis databases.",
        "O(N) where N is the count of clients watching or blocking on keys from both databases.",
        swapdb
    ),
    spec!(
        "time",
        1,
        LOADING | STALE | FAST,
        (0, 0, 0),
        SERVER,
        "server",
        "2.6.0",
        "Returns the server time.",
        "O(1)",
        time
    ),
    spec!(
        "lastsave",
        1,
        LOADING | STALE | FAST,
        (0, 0, 0),
        DANGEROUS,
        "server",
        "1.0.0",
        "Returns the Unix timestamp of the last successful save to disk.",
        "O(1)",
        lastsave
    ),
    spec!(
        "shutdown",
        -1,
        ADMIN | NOSCRIPT | LOADING | STALE | NO_MULTI | ALLOW_BUSY,
        (0, 0, 0),
        SERVER,
        "server",
        "1.0.0",
        "Synchronously saves the database(s) to disk and shuts down the Redis server.",
        "O(N) when saving, where N is the total number of keys in all databases when saving data, otherwise O(1)",
        shutdown
    ),
    spec!(
        "debug",
        -2,
        ADMIN | NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        SERVER,
        "server",
        "1.0.0",
        "A container for debugging commands.",
        "Depends on subcommand.",
        debug
    ),
    CommandSpec {
        subcommands: MEMORY_SUBS,
        ..spec!(
            "memory",
            -2,
            0,
            (0, 0, 0),
            SERVER,
            "server",
            "4.0.0",
            "A container for memory diagnostics commands.",
            "Depends on subcommand.",
            container
        )
    },
    CommandSpec {
        subcommands: CONFIG_SUBS,
        ..spec!(
            "config",
            -2,
            0,
            (0, 0, 0),
            SERVER,
            "server",
            "2.0.0",
            "A container for server configuration commands.",
            "Depends on subcommand.",
            container
        )
    },
    CommandSpec {
        subcommands: COMMAND_SUBS,
        ..spec!(
            "command",
            -1,
            LOADING | STALE,
            (0, 0, 0),
            CONNECTION,
            "server",
            "2.8.13",
            "Returns detailed information about all commands.",
            "O(N) where N is the total number of Redis commands",
            command
        )
    },
];

#[cfg(test)]
mod tests {
    use crate::commands::testutil::{new, run};

    #[test]
    fn info_has_redis_fields() {
        let mut t = new();
        let r = run(&mut t, &["info"]);
        for f in
            ["redis_version:7.0.15", "connected_clients:", "used_memory:", "keyspace_hits:", "# Keyspace", "loading:0"]
        {
            assert!(r.contains(f), "missing {f}");
        }
        let r = run(&mut t, &["info", "commandstats"]);
        assert!(r.contains("cmdstat_info:calls=1"), "{r}");
        assert!(!r.contains("# Server"));
    }

    #[test]
    fn command_introspection() {
        let mut t = new();
        let r = run(&mut t, &["command", "info", "get"]);
        assert!(r.starts_with("*1\r\n*10\r\n$3\r\nget\r\n:2\r\n"), "{r}");
        assert_eq!(run(&mut t, &["command", "info", "nosuch"]), "*1\r\n*-1\r\n");
        assert_eq!(run(&mut t, &["command", "getkeys", "get", "k"]), "*1\r\n$1\r\nk\r\n");
        assert_eq!(run(&mut t, &["command", "getkeys", "ping"]), "-ERR The command has no key arguments\r\n");
        assert_eq!(run(&mut t, &["command", "getkeys", "eval", "return 1", "0"]), "*0\r\n");
        assert_eq!(run(&mut t, &["command", "getkeys", "eval", "return 1", "1", "k"]), "*1\r\n$1\r\nk\r\n");
        assert_eq!(run(&mut t, &["command", "getkeys", "nosuch"]), "-ERR Invalid command specified\r\n");
        assert!(run(&mut t, &["command", "count"]).starts_with(':'));
        assert!(run(&mut t, &["command", "docs", "config"]).contains("config|get"));
    }

    #[test]
    fn flush_swap_time() {
        let mut t = new();
        t.s.dbs[0].set(b"a", crate::types::value::Value::Int(1), false);
        assert_eq!(run(&mut t, &["dbsize"]), ":1\r\n");
        assert_eq!(run(&mut t, &["swapdb", "0", "1"]), "+OK\r\n");
        assert_eq!(run(&mut t, &["dbsize"]), ":0\r\n");
        assert_eq!(t.s.dbs[1].len(), 1);
        assert_eq!(run(&mut t, &["swapdb", "0", "99"]), "-ERR DB index is out of range\r\n");
        assert_eq!(run(&mut t, &["flushall", "async"]), "+OK\r\n");
        assert_eq!(t.s.dbs[1].len(), 0);
        assert_eq!(run(&mut t, &["flushdb", "x"]), "-ERR syntax error\r\n");
        assert!(run(&mut t, &["time"]).starts_with("*2\r\n"));
    }

    #[test]
    fn debug_protocol_and_digest() {
        let mut t = new();
        t.s.config.enable_debug_command = "yes".into();
        assert_eq!(run(&mut t, &["debug", "digest"]), "+0000000000000000000000000000000000000000\r\n");
        t.s.dbs[0].set(b"a", crate::types::value::Value::Int(1), false);
        assert_ne!(run(&mut t, &["debug", "digest"]), "+0000000000000000000000000000000000000000\r\n");
        assert_eq!(run(&mut t, &["debug", "protocol", "bignum"]), "$37\r\n1234567999999999999999999999999999999\r\n");
    }

    #[test]
    fn config_set_bind_refuses_addresses_it_cannot_bind() {
        let mut t = new();
        let failed =
            "-ERR CONFIG SET failed (possibly related to argument 'bind') - Failed to bind to specified addresses.\r\n";
        let before = run(&mut t, &["config", "get", "bind"]);
        for bad in ["999.1.1.1", "10.255.255.1", "127.0.0.1 127.0.0.1", "* 127.0.0.1"] {
            assert_eq!(run(&mut t, &["config", "set", "bind", bad]), failed, "{bad}");
            assert_eq!(run(&mut t, &["config", "get", "bind"]), before);
        }
        for good in ["-10.255.255.1 127.0.0.1", "localhost", "127.0.0.1"] {
            assert_eq!(run(&mut t, &["config", "set", "bind", good]), "+OK\r\n", "{good}");
        }
        assert_eq!(run(&mut t, &["config", "get", "bind"]), "*2\r\n$4\r\nbind\r\n$9\r\n127.0.0.1\r\n");
    }

    #[test]
    fn enable_debug_command_yes_local_no() {
        let mut t = new();
        let refused = format!("-{}\r\n", super::DEBUG_REFUSED.0);
        // Redis 7.0's default: refused, with its text, before the arity check of the subcommand.
        assert_eq!(t.s.config.enable_debug_command, "no");
        assert_eq!(run(&mut t, &["debug", "sleep", "0"]), refused);
        assert_eq!(run(&mut t, &["debug"]), "-ERR wrong number of arguments for 'debug' command\r\n");
        t.s.config.enable_debug_command = "local".into();
        assert_eq!(run(&mut t, &["debug", "sleep", "0"]), "+OK\r\n");
        for (addr, ok) in
            [("127.0.0.2:5", false), ("10.1.2.3:5", false), ("[::1]:5", true), ("[::ffff:127.0.0.1]:5", false)]
        {
            t.s.clients[t.me].addr = addr.into();
            assert_eq!(run(&mut t, &["debug", "sleep", "0"]) == "+OK\r\n", ok, "{addr}");
        }
        t.s.clients[t.me].unix_socket = true;
        assert_eq!(run(&mut t, &["debug", "sleep", "0"]), "+OK\r\n");
        // Inside MULTI the refusal poisons the transaction, as any rejected command.
        t.s.config.enable_debug_command = "no".into();
        run(&mut t, &["multi"]);
        assert_eq!(run(&mut t, &["debug", "sleep", "0"]), refused);
        assert_eq!(run(&mut t, &["exec"]), "-EXECABORT Transaction discarded because of previous errors.\r\n");
    }
}

#[cfg(test)]
mod reload_tests {
    use crate::commands::testutil::{new, run};

    #[test]
    fn debug_reload_keeps_values_and_ttls() {
        let mut t = new();
        t.s.config.enable_debug_command = "yes".into();
        run(&mut t, &["set", "s", "v"]);
        run(&mut t, &["rpush", "l", "a", "b"]);
        run(&mut t, &["sadd", "st", "1", "2"]);
        run(&mut t, &["hset", "h", "f", "v"]);
        run(&mut t, &["set", "t", "x", "ex", "100"]);
        let before = run(&mut t, &["debug", "digest"]);
        assert_eq!(run(&mut t, &["debug", "reload"]), "+OK\r\n");
        assert_eq!(run(&mut t, &["debug", "digest"]), before);
        assert_eq!(run(&mut t, &["lrange", "l", "0", "-1"]), "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
        assert_eq!(run(&mut t, &["object", "encoding", "st"]), "$6\r\nintset\r\n");
        assert!(run(&mut t, &["ttl", "t"]).starts_with(":"));
        assert_ne!(run(&mut t, &["ttl", "t"]), ":-1\r\n");
    }
}
