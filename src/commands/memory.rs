//! MEMORY USAGE/STATS/DOCTOR/MALLOC-STATS/PURGE (commands layer, applied by the Keyspace actor): what a key
//! costs and what the allocator reports.

use super::connection::help;
use super::spec::*;
use super::{Ctx, State};
use crate::error::CmdError;

/// MEMORY, as Redis 7.0's command table declares it.
#[rustfmt::skip]
pub const SPECS: &[CommandSpec] = &family("server", [
    cmd("memory", -2, 0, container).subs(MEMORY_SUBS).doc("4.0.0", "Depends on subcommand.", "A container for memory diagnostics commands"),
]);

#[rustfmt::skip]
const MEMORY_SUBS: &[CommandSpec] = &family("server", [
    cmd("memory|usage", -3, READONLY, memory_usage).keys(2, 2, 1).doc("4.0.0", "O(N) where N is the number of samples.", "Estimate the memory usage of a key"),
    cmd("memory|stats", 2, 0, memory_stats).doc("4.0.0", "O(1)", "Show memory usage details"),
    cmd("memory|doctor", 2, 0, memory_doctor).doc("4.0.0", "O(1)", "Outputs memory problems report"),
    cmd("memory|malloc-stats", 2, 0, memory_malloc_stats).doc("4.0.0", "Depends on how much memory is allocated, could be slow", "Show allocator internal stats"),
    cmd("memory|purge", 2, 0, memory_purge).doc("4.0.0", "Depends on how much memory is allocated, could be slow", "Ask the allocator to release memory"),
    cmd("memory|help", 2, LOADING | STALE, memory_help).doc("4.0.0", "O(1)", "Show helpful text about the different subcommands"),
]);

/// Where the memory goes (Redis's getMemoryOverheadData), for MEMORY STATS, MEMORY DOCTOR and INFO memory.
#[derive(Debug, Default, Clone, Copy)]
pub struct Overhead {
    /// used_memory.
    pub total: u64,
    pub peak: u64,
    /// The replication buffers beyond `repl-backlog-size`, the replicas' part (mem_clients_slaves).
    pub clients_slaves: u64,
    /// The backlog's blocks and the replica streams' unwritten output (mem_total_replication_buffers).
    pub repl_buffers: u64,
    /// Other clients' buffers and records (mem_clients_normal).
    pub clients_normal: u64,
    /// The replication buffers up to `repl-backlog-size` (mem_replication_backlog).
    pub repl_backlog: u64,
    /// The feed buffer while the AOF is on (mem_aof_buffer).
    pub aof_buffer: u64,
    /// The keyspace tables' own memory: slots and TTL indexes (overhead.hashtable.*).
    pub hashtables: u64,
    /// Everything above: what is not the dataset (used_memory_overhead).
    pub overhead: u64,
    /// used_memory less the overhead (used_memory_dataset).
    pub dataset: u64,
    pub keys: u64,
    /// Resident set size of the process.
    pub rss: u64,
    /// Memory that does not count toward maxmemory (mem_not_counted_for_evict).
    pub not_counted: u64,
    /// The allocator's totals (allocator_*); without them, used memory and RSS stand in.
    pub alloc: crate::alloc::AllocStats,
}

/// A ratio and a difference, as Redis prints its fragmentation figures (0 over 0 is 0).
pub fn frag(num: u64, den: u64) -> (f64, i64) {
    let r = if den > 0 { num as f64 / den as f64 } else { 0.0 };
    (r, num as i64 - den as i64)
}

impl Overhead {
    /// allocator_frag_ratio/bytes: pages held for live blocks against the blocks (external fragmentation).
    pub fn allocator_frag(&self) -> (f64, i64) {
        frag(self.alloc.active as u64, self.alloc.allocated as u64)
    }

    /// allocator_rss_ratio/bytes: the allocator's resident pages against its active ones.
    pub fn allocator_rss(&self) -> (f64, i64) {
        frag(self.alloc.resident as u64, self.alloc.active as u64)
    }

    /// rss_overhead_ratio/bytes: the process's RSS against what the allocator has resident.
    pub fn rss_overhead(&self) -> (f64, i64) {
        frag(self.rss, self.alloc.resident as u64)
    }

    /// mem_fragmentation_ratio/bytes: RSS against used memory.
    pub fn total_frag(&self) -> (f64, i64) {
        frag(self.rss, self.total)
    }
}

/// Bytes per TTL index entry (the key's copy, the expiry, the index map's hash slot).
const EXPIRE_ENTRY: u64 = 48;

/// Measure where the memory goes now.
pub fn overhead(s: &State) -> Overhead {
    let total = crate::alloc::used_memory() as u64;
    let mut o = Overhead { total, peak: (s.stats.peak_memory as u64).max(total), ..Default::default() };
    for (_, c) in s.clients.iter() {
        if !c.replica {
            // CLIENT LIST's tot-mem (client_mem.rs).
            o.clients_normal += super::client_mem::usage(c, 0, 0).total as u64;
        }
    }
    if s.persist.aof.mode != super::aof::AofMode::Off {
        o.aof_buffer = s.prop.feed.buf.capacity() as u64;
    }
    for db in &s.dbs {
        o.keys += db.len() as u64;
        o.hashtables += db.capacity() as u64 * 9 + db.expires_count() as u64 * EXPIRE_ENTRY;
    }
    // As Redis's getMemoryOverheadData: the backlog and the replicas share the replication buffers, and
    // only what passes the backlog's size is the replicas'.
    let (buffers, size) = super::replication::buffers(s);
    o.repl_buffers = buffers as u64;
    if s.prop.replicas > 0 && buffers > size {
        (o.clients_slaves, o.repl_backlog) = ((buffers - size) as u64, size as u64);
    } else {
        o.repl_backlog = buffers as u64;
    }
    o.overhead = o.clients_slaves + o.clients_normal + o.aof_buffer + o.hashtables + o.repl_backlog;
    o.dataset = total.saturating_sub(o.overhead);
    o.rss = crate::alloc::rss() as u64;
    o.not_counted = super::evict::not_counted(s) as u64;
    o.alloc = crate::alloc::allocator_stats().unwrap_or(crate::alloc::AllocStats {
        allocated: total as usize,
        active: o.rss as usize,
        resident: o.rss as usize,
    });
    o
}

/// MEMORY USAGE key [SAMPLES count]
fn memory_usage(cx: &mut Ctx<'_>) -> CmdResult {
    let mut j = 3;
    while j < cx.argc() {
        if cx.argv.is(j, "samples") && j + 1 < cx.argc() {
            // Sizes are exact here, so the count is checked as Redis checks it and otherwise unused.
            if cx.int_arg(j + 1)? < 0 {
                return Err(CmdError::SYNTAX);
            }
            j += 2;
        } else {
            return Err(CmdError::SYNTAX);
        }
    }
    let key = cx.arg(2);
    let (db, out) = cx.db_out();
    // As Redis's dictFind: the key as stored, without lookup side effects.
    match db.peek_stored(key) {
        Some(e) => out.int(e.mem_size() as i64),
        None => out.nil(),
    }
    Ok(())
}

/// MEMORY STATS: Redis's fields, in Redis's order.
fn memory_stats(cx: &mut Ctx<'_>) -> CmdResult {
    let o = overhead(cx.s);
    let dbs: Vec<(usize, u64, u64)> =
        cx.s.dbs
            .iter()
            .filter(|d| !d.is_empty())
            .map(|d| (d.id, d.capacity() as u64 * 9, d.expires_count() as u64 * EXPIRE_ENTRY))
            .collect();
    let out = &mut *cx.out;
    out.map(27 + dbs.len());
    let int = |out: &mut crate::resp::encode::Out, name: &str, v: u64| {
        out.bulk(name.as_bytes());
        out.int(v as i64);
    };
    let dbl = |out: &mut crate::resp::encode::Out, name: &str, v: f64| {
        out.bulk(name.as_bytes());
        out.double(v);
    };
    let ratio = |a: u64, b: u64| frag(a, b).0;
    int(out, "peak.allocated", o.peak);
    int(out, "total.allocated", o.total);
    int(out, "startup.allocated", 0);
    int(out, "replication.backlog", o.repl_backlog);
    int(out, "clients.slaves", o.clients_slaves);
    int(out, "clients.normal", o.clients_normal);
    int(out, "cluster.links", 0);
    int(out, "aof.buffer", o.aof_buffer);
    int(out, "lua.caches", 0);
    int(out, "functions.caches", 0);
    for (id, main, expires) in &dbs {
        out.bulk(format!("db.{id}").as_bytes());
        out.map(2);
        int(out, "overhead.hashtable.main", *main);
        int(out, "overhead.hashtable.expires", *expires);
    }
    int(out, "overhead.total", o.overhead);
    int(out, "keys.count", o.keys);
    int(out, "keys.bytes-per-key", o.total.checked_div(o.keys).unwrap_or(0));
    int(out, "dataset.bytes", o.dataset);
    dbl(out, "dataset.percentage", ratio(o.dataset * 100, o.total));
    dbl(out, "peak.percentage", ratio(o.total * 100, o.peak));
    int(out, "allocator.allocated", o.alloc.allocated as u64);
    int(out, "allocator.active", o.alloc.active as u64);
    int(out, "allocator.resident", o.alloc.resident as u64);
    // Redis's names, as they are: the allocator's rss pair is "allocator.rss-ratio"/"-bytes".
    let pairs = [
        ("allocator-fragmentation.ratio", "allocator-fragmentation.bytes", o.allocator_frag()),
        ("allocator.rss-ratio", "allocator.rss-bytes", o.allocator_rss()),
        ("rss-overhead.ratio", "rss-overhead.bytes", o.rss_overhead()),
    ];
    for (ratio_name, bytes_name, (r, bytes)) in pairs {
        dbl(out, ratio_name, r);
        out.bulk(bytes_name.as_bytes());
        out.int(bytes);
    }
    let (r, bytes) = o.total_frag();
    dbl(out, "fragmentation", r);
    out.bulk(b"fragmentation.bytes");
    out.int(bytes);
    Ok(())
}

/// MEMORY DOCTOR: Redis's report (getMemoryDoctorReport) on our figures.
fn memory_doctor(cx: &mut Ctx<'_>) -> CmdResult {
    let report = doctor_report(cx.s);
    cx.out.verbatim("txt", report.as_bytes());
    Ok(())
}

fn doctor_report(s: &State) -> String {
    let o = overhead(s);
    let mut issues: Vec<&str> = Vec::new();
    if o.total < 5 << 20 {
        return "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in \
                these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and \
                I will be back to our programming as soon as I finished rebooting.\n"
            .into();
    }
    if o.peak as f64 / o.total as f64 > 1.5 {
        issues.push(" * Peak memory: In the past this instance used more than 150% the memory that is currently using. The allocator is normally not able to release memory after a peak, so you can expect to see a big fragmentation ratio, however this is actually harmless and is only due to the memory peak, and if the Redis instance Resident Set Size (RSS) is currently bigger than expected, the memory will be used as soon as you fill the Redis instance with more data. If the memory peak was only occasional and you want to try to reclaim memory, please try the MEMORY PURGE command, otherwise the only other option is to shutdown and restart the instance.\n\n");
    }
    let (ratio, bytes) = o.total_frag();
    let high_frag;
    if ratio > 1.4 && bytes > 10 << 20 {
        high_frag = format!(" * High total RSS: This instance has a memory fragmentation and RSS overhead greater than 1.4 (this means that the Resident Set Size of the Redis process is much larger than the sum of the logical allocations Redis performed). This problem is usually due either to a large peak memory (check if there is a peak memory entry above in the report) or may result from a workload that causes the allocator to fragment memory a lot. If the problem is a large peak memory, then there is no issue. Otherwise, make sure you are using the Jemalloc allocator and not the default libc malloc. Note: The currently used allocator is \"{}\".\n\n", crate::alloc::allocator_name());
        issues.push(&high_frag);
    }
    let (ratio, bytes) = o.allocator_frag();
    if ratio > 1.1 && bytes > 10 << 20 {
        issues.push(" * High allocator fragmentation: This instance has an allocator external fragmentation greater than 1.1. This problem is usually due either to a large peak memory (check if there is a peak memory entry above in the report) or may result from a workload that causes the allocator to fragment memory a lot. You can try enabling 'activedefrag' config option.\n\n");
    }
    let (ratio, bytes) = o.allocator_rss();
    if ratio > 1.1 && bytes > 10 << 20 {
        issues.push(" * High allocator RSS overhead: This instance has an RSS memory overhead is greater than 1.1 (this means that the Resident Set Size of the allocator is much larger than the sum what the allocator actually holds). This problem is usually due to a large peak memory (check if there is a peak memory entry above in the report), you can try the MEMORY PURGE command to reclaim it.\n\n");
    }
    let (ratio, bytes) = o.rss_overhead();
    if ratio > 1.1 && bytes > 10 << 20 {
        issues.push(" * High process RSS overhead: This instance has non-allocator RSS memory overhead is greater than 1.1 (this means that the Resident Set Size of the Redis process is much larger than the RSS the allocator holds). This problem may be due to Lua scripts or Modules.\n\n");
    }
    let replicas = s.clients.iter().filter(|(_, c)| c.replica).count() as u64;
    let normal = (s.clients.len() as u64).saturating_sub(replicas).max(1);
    // Redis's order: replica buffers, then client buffers.
    if replicas > 0 && o.clients_slaves > 10 << 20 {
        issues.push(" * Big replica buffers: The replica output buffers in this instance are greater than 10MB for each replica (on average). This likely means that there is some replica instance that is struggling receiving data, either because it is too slow or because of networking issues. As a result, data piles on the master output buffers. Please try to identify what replica is not receiving data correctly and why. You can use the INFO output in order to check the replicas delays and the CLIENT LIST command to check the output buffers of each replica.\n\n");
    }
    if o.clients_normal / normal > 200 * 1024 {
        issues.push(" * Big client buffers: The clients output buffers in this instance are greater than 200K per client (on average). This may result from different causes, like Pub/Sub clients subscribed to channels bot not receiving data fast enough, so that data piles on the Redis instance output buffer, or clients sending commands with large replies or very large sequences of commands in the same pipeline. Please use the CLIENT LIST command in order to investigate the issue if it causes problems in your instance, or to understand better why certain clients are using a big amount of memory.\n\n");
    }
    if s.scripts.cached() > 1000 {
        issues.push(" * Many scripts: There seem to be many cached scripts in this instance (more than 1000). This may be because scripts are generated and `EVAL`ed, instead of being parameterized (with KEYS and ARGV), `SCRIPT LOAD`ed and `EVALSHA`ed. Unless `SCRIPT FLUSH` is called periodically, the scripts' caches may end up consuming most of your memory.\n\n");
    }
    if issues.is_empty() {
        return "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n".into();
    }
    let mut r = String::from("Sam, I detected a few issues in this Redis instance memory implants:\n\n");
    for i in issues {
        r.push_str(i);
    }
    r.push_str("I'm here to keep you safe, Sam. I want to help you.\n");
    r
}

/// MEMORY MALLOC-STATS: the allocator's own report.
fn memory_malloc_stats(cx: &mut Ctx<'_>) -> CmdResult {
    match crate::alloc::stats_text() {
        Some(text) => cx.out.verbatim("txt", text.as_bytes()),
        None => cx.out.bulk(b"Stats not supported for the current allocator"),
    }
    Ok(())
}

/// MEMORY PURGE: hand the allocator's free pages back to the OS.
fn memory_purge(cx: &mut Ctx<'_>) -> CmdResult {
    crate::alloc::release_free_memory();
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

#[cfg(test)]
mod tests {
    use crate::commands::testutil::{new, run_raw};

    #[test]
    fn memory_usage_checks_samples_as_redis() {
        let mut t = new();
        run_raw(&mut t, &["set", "k", "v"]);
        let n: i64 = run_raw(&mut t, &["memory", "usage", "k"]).trim_start_matches(':').trim().parse().unwrap();
        assert!(n >= 56, "{n}");
        assert_eq!(run_raw(&mut t, &["memory", "usage", "k", "samples", "0"]), format!(":{n}\r\n"));
        assert_eq!(run_raw(&mut t, &["memory", "usage", "k", "samples", "-1"]), "-ERR syntax error\r\n");
        assert_eq!(run_raw(&mut t, &["memory", "usage", "k", "samples"]), "-ERR syntax error\r\n");
        assert_eq!(
            run_raw(&mut t, &["memory", "usage", "k", "samples", "x"]),
            "-ERR value is not an integer or out of range\r\n"
        );
        assert_eq!(run_raw(&mut t, &["memory", "usage", "nokey"]), "$-1\r\n");
    }

    #[test]
    fn memory_stats_lists_redis_fields_and_one_map_per_database_in_use() {
        let mut t = new();
        run_raw(&mut t, &["set", "k", "v"]);
        let stats = run_raw(&mut t, &["memory", "stats"]);
        assert!(stats.starts_with("*56\r\n"), "{stats}"); // RESP2: 28 pairs flattened
        for f in ["peak.allocated", "overhead.hashtable.main", "keys.count", "dataset.bytes", "fragmentation.bytes"] {
            assert!(stats.contains(&format!("\r\n{f}\r\n")), "{f}");
        }
        assert!(stats.contains("$4\r\ndb.0\r\n"));
    }

    #[test]
    fn doctor_purge_and_malloc_stats() {
        let mut t = new();
        let doctor = run_raw(&mut t, &["memory", "doctor"]);
        assert!(doctor.contains("Sam"), "{doctor}");
        assert_eq!(run_raw(&mut t, &["memory", "purge"]), "+OK\r\n");
        let stats = run_raw(&mut t, &["memory", "malloc-stats"]);
        assert!(stats.contains("jemalloc") || stats.contains("not supported"), "{}", &stats[..stats.len().min(200)]);
    }
}
