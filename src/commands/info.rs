//! INFO (commands layer, applied by the Keyspace actor): the sections Redis 7.0 prints, built from the
//! Keyspace's state, the allocator's counters and the per-command statistics.

use super::spec::*;
use super::{table, Ctx};
use crate::types::clock;
use std::fmt::Write as _;

/// INFO, as Redis 7.0's command table declares it.
#[rustfmt::skip]
pub const SPECS: &[CommandSpec] = &family("server", [
    cmd("info", -1, LOADING | STALE, info).acl(DANGEROUS).doc("1.0.0", "O(1)", "Get information and statistics about the server"),
]);

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
    "latencystats",
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
                let uptime = (clock::system_ms() - s.server.start_ms) / 1000;
                let hz = s.config.hz;
                let _ = write!(
                    out,
                    "# Server\r\nredis_version:{}\r\nredis_git_sha1:00000000\r\nredis_git_dirty:0\r\nredis_build_id:0\r\nredis_mode:standalone\r\nferrodis_version:{}\r\nos:{} {}\r\narch_bits:64\r\nmonotonic_clock:POSIX clock_gettime\r\nmultiplexing_api:epoll\r\natomicvar_api:c11-builtin\r\ngcc_version:0.0.0\r\nprocess_id:{}\r\nprocess_supervised:no\r\nrun_id:{}\r\ntcp_port:{}\r\nserver_time_usec:{}\r\nuptime_in_seconds:{}\r\nuptime_in_days:{}\r\nhz:{}\r\nconfigured_hz:{}\r\nlru_clock:{}\r\nexecutable:{}\r\nconfig_file:{}\r\nio_threads_active:{}\r\n",
                    crate::REDIS_VERSION,
                    env!("CARGO_PKG_VERSION"),
                    std::env::consts::OS,
                    std::env::consts::ARCH,
                    std::process::id(),
                    s.server.run_id,
                    s.server.tcp_port,
                    clock::system_us(),
                    uptime,
                    uptime / 86400,
                    hz,
                    hz,
                    crate::types::db::lru_clock(),
                    s.server.executable,
                    s.config.config_file.clone().unwrap_or_default(),
                    s.server.io_threads_active as u8
                );
                if s.server.shutdown_wait.is_some() {
                    let _ = write!(out, "shutdown_in_milliseconds:{}\r\n", super::server::shutdown_in_ms(s));
                }
            }
            "clients" => {
                // Replicas are not counted (Redis: clients less slaves).
                let connected = s.clients.iter().filter(|(_, c)| !c.local && !c.replica).count();
                let usage = |c| super::client_mem::usage(c, 0, 0);
                let max_in = s.clients.iter().map(|(_, c)| usage(c).qbuf).max().unwrap_or(0);
                let max_out = s.clients.iter().map(|(_, c)| usage(c).omem).max().unwrap_or(0);
                let _ = write!(
                    out,
                    "# Clients\r\nconnected_clients:{}\r\ncluster_connections:0\r\nmaxclients:{}\r\nclient_recent_max_input_buffer:{}\r\nclient_recent_max_output_buffer:{}\r\nblocked_clients:{}\r\ntracking_clients:{}\r\nclients_in_timeout_table:0\r\n",
                    connected,
                    s.config.maxclients,
                    max_in,
                    max_out,
                    s.clients.blocked_count + s.clients.postponed,
                    s.tracking.clients()
                );
            }
            "memory" => {
                let used = s.used_memory() as u64;
                if used as usize > s.stats.peak_memory {
                    s.stats.peak_memory = used as usize;
                }
                let peak = s.stats.peak_memory as u64;
                let total = crate::alloc::total_system_memory();
                // Where the memory goes: clients, the AOF buffer, the tables (memory.rs).
                let o = super::memory::overhead(s);
                let (clients_mem, dataset, overhead) = (o.clients_normal, o.dataset, o.overhead);
                let (not_counted, slaves, aof_buf) = (o.not_counted, o.clients_slaves, o.aof_buffer);
                let repl_buffers = o.repl_buffers;
                let lua = s.scripts.info_memory();
                let allocator = crate::alloc::allocator_name();
                let (rss, backlog) = (o.rss, o.repl_backlog);
                let (afrag, arss, rss_over) = (o.allocator_frag(), o.allocator_rss(), o.rss_overhead());
                let total_frag = super::memory::frag(rss, used);
                let _ = write!(
                    out,
                    "# Memory\r\nused_memory:{used}\r\nused_memory_human:{}\r\nused_memory_rss:{rss}\r\nused_memory_rss_human:{}\r\nused_memory_peak:{peak}\r\nused_memory_peak_human:{}\r\nused_memory_peak_perc:{:.2}%\r\nused_memory_overhead:{overhead}\r\nused_memory_startup:0\r\nused_memory_dataset:{dataset}\r\nused_memory_dataset_perc:{:.2}%\r\nallocator_allocated:{}\r\nallocator_active:{}\r\nallocator_resident:{}\r\ntotal_system_memory:{total}\r\ntotal_system_memory_human:{}\r\n{lua}maxmemory:{}\r\nmaxmemory_human:{}\r\nmaxmemory_policy:{}\r\nallocator_frag_ratio:{:.2}\r\nallocator_frag_bytes:{}\r\nallocator_rss_ratio:{:.2}\r\nallocator_rss_bytes:{}\r\nrss_overhead_ratio:{:.2}\r\nrss_overhead_bytes:{}\r\nmem_fragmentation_ratio:{:.2}\r\nmem_fragmentation_bytes:{}\r\nmem_not_counted_for_evict:{not_counted}\r\nmem_replication_backlog:{backlog}\r\nmem_total_replication_buffers:{repl_buffers}\r\nmem_clients_slaves:{slaves}\r\nmem_clients_normal:{clients_mem}\r\nmem_cluster_links:0\r\nmem_aof_buffer:{aof_buf}\r\nmem_allocator:{allocator}\r\nactive_defrag_running:0\r\nlazyfree_pending_objects:{}\r\nlazyfreed_objects:{}\r\n",
                    human(used),
                    human(rss),
                    human(peak),
                    if peak > 0 { used as f64 * 100.0 / peak as f64 } else { 0.0 },
                    if used > 0 { dataset as f64 * 100.0 / used as f64 } else { 0.0 },
                    o.alloc.allocated,
                    o.alloc.active,
                    o.alloc.resident,
                    human(total),
                    s.config.maxmemory,
                    human(s.config.maxmemory),
                    s.config.maxmemory_policy,
                    afrag.0,
                    afrag.1,
                    arss.0,
                    arss.1,
                    rss_over.0,
                    rss_over.1,
                    total_frag.0,
                    total_frag.1,
                    s.lazyfree.pending(),
                    s.lazyfree.freed(),
                );
            }
            "persistence" => {
                let (loading, aof, aof_on) = super::aof::info_fields(s);
                let _ = write!(
                    out,
                    "# Persistence\r\nloading:{}\r\nasync_loading:{}\r\n{}{aof}aof_last_cow_size:{}\r\nmodule_fork_in_progress:0\r\nmodule_fork_last_cow_size:0\r\n{aof_on}{}",
                    (loading != 0 || s.persist.rdb.loading.is_some()) as u8,
                    s.persist.rdb.async_loading as u8,
                    super::rdb::info_fields(s),
                    s.persist.aof.last_cow_size,
                    super::rdb::loading_fields(s),
                );
            }
            "stats" => {
                let ops = match (s.stats.ops_samples.first(), s.stats.ops_samples.last()) {
                    // saturating: CONFIG RESETSTAT zeroes the count but keeps the older samples.
                    (Some(a), Some(b)) if b.0 > a.0 => b.1.saturating_sub(a.1) * 1000 / (b.0 - a.0) as u64,
                    _ => 0,
                };
                let expired: u64 = s.dbs.iter().map(|d| d.expired_keys).sum();
                let hits: u64 = s.dbs.iter().map(|d| d.hits).sum();
                let misses: u64 = s.dbs.iter().map(|d| d.misses).sum();
                let st = &s.stats;
                let _ = write!(
                    out,
                    "# Stats\r\ntotal_connections_received:{}\r\ntotal_commands_processed:{}\r\ninstantaneous_ops_per_sec:{ops}\r\ntotal_net_input_bytes:{}\r\ntotal_net_output_bytes:{}\r\ntotal_net_repl_input_bytes:0\r\ntotal_net_repl_output_bytes:0\r\ninstantaneous_input_kbps:0.00\r\ninstantaneous_output_kbps:0.00\r\ninstantaneous_input_repl_kbps:0.00\r\ninstantaneous_output_repl_kbps:0.00\r\nrejected_connections:{}\r\nsync_full:{}\r\nsync_partial_ok:{}\r\nsync_partial_err:{}\r\nexpired_keys:{expired}\r\nexpired_stale_perc:0.00\r\nexpired_time_cap_reached_count:0\r\nexpire_cycle_cpu_milliseconds:{}\r\nevicted_keys:{}\r\nevicted_clients:{}\r\ntotal_eviction_exceeded_time:{}\r\ncurrent_eviction_exceeded_time:{}\r\nkeyspace_hits:{hits}\r\nkeyspace_misses:{misses}\r\npubsub_channels:{}\r\npubsub_patterns:{}\r\npubsubshard_channels:{}\r\nlatest_fork_usec:{}\r\ntotal_forks:{}\r\nmigrate_cached_sockets:{}\r\nslave_expires_tracked_keys:0\r\nactive_defrag_hits:0\r\nactive_defrag_misses:0\r\nactive_defrag_key_hits:0\r\nactive_defrag_key_misses:0\r\ntotal_active_defrag_time:0\r\ncurrent_active_defrag_time:0\r\ntracking_total_keys:{}\r\ntracking_total_items:{}\r\ntracking_total_prefixes:{}\r\nunexpected_error_replies:{}\r\ntotal_error_replies:{}\r\ndump_payload_sanitizations:0\r\ntotal_reads_processed:{}\r\ntotal_writes_processed:{}\r\nio_threaded_reads_processed:0\r\nio_threaded_writes_processed:0\r\nreply_buffer_shrinks:{}\r\nreply_buffer_expands:{}\r\nclient_output_buffer_limit_disconnections:{}\r\nferrodis_internal_errors:{}\r\n",
                    st.connections_received,
                    st.commands_processed,
                    st.net_input_bytes,
                    st.net_output_bytes,
                    st.rejected_connections,
                    s.prop.sync_full,
                    s.prop.sync_partial_ok,
                    s.prop.sync_partial_err,
                    st.expire_cycle_cpu_ms,
                    st.evicted_keys,
                    s.evict.evicted_clients,
                    s.evict.total_exceeded_ms(),
                    s.evict.current_exceeded_ms(),
                    s.pubsub.subs.channels(),
                    s.pubsub.subs.patterns(),
                    s.pubsub.subs.shard_channels(),
                    st.latest_fork_usec,
                    st.total_forks,
                    s.migrate.cached_sockets,
                    s.tracking.keys(),
                    s.tracking.items(),
                    s.tracking.prefixes(),
                    st.unexpected_error_replies,
                    st.error_replies,
                    st.reads_processed,
                    st.reads_processed,
                    st.reply_buffer_shrinks,
                    st.reply_buffer_expands,
                    s.knobs.obuf_disconnections.load(std::sync::atomic::Ordering::Relaxed),
                    st.internal_errors
                );
            }
            "replication" => super::replication::info(s, &mut out),
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
                    let st = s.stats.cmd_stats[spec.id];
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
            "latencystats" => super::latency::write_info(s, &mut out),
            "errorstats" => {
                out.push_str("# Errorstats\r\n");
                let mut v: Vec<_> = s.stats.error_stats.iter().collect();
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

#[cfg(test)]
mod tests {
    use crate::commands::testutil::{new, run_raw};

    #[test]
    fn info_has_redis_fields() {
        let mut t = new();
        let r = run_raw(&mut t, &["info"]);
        for f in
            ["redis_version:7.0.15", "connected_clients:", "used_memory:", "keyspace_hits:", "# Keyspace", "loading:0"]
        {
            assert!(r.contains(f), "missing {f}");
        }
        let r = run_raw(&mut t, &["info", "commandstats"]);
        assert!(r.contains("cmdstat_info:calls=1"), "{r}");
        assert!(!r.contains("# Server"));
    }
}
