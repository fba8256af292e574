//! MEMORY USAGE/STATS/DOCTOR/MALLOC-STATS/PURGE (commands layer, applied by the Keyspace actor): what a key
//! costs and what the allocator reports.

use super::connection::help;
use super::spec::*;
use super::Ctx;
use crate::error::CmdError;

/// MEMORY, as Redis 7.0's command table declares it.
#[rustfmt::skip]
pub const SPECS: &[CommandSpec] = &family("server", [
    cmd("memory", -2, 0, container).subs(MEMORY_SUBS).doc("4.0.0", "Depends on subcommand.", "A container for memory diagnostics commands."),
]);

#[rustfmt::skip]
const MEMORY_SUBS: &[CommandSpec] = &family("server", [
    cmd("memory|usage", -3, READONLY, memory_usage).keys(2, 2, 1).doc("4.0.0", "O(N) where N is the number of samples.", "Estimates the memory usage of a key."),
    cmd("memory|stats", 2, 0, memory_stats).doc("4.0.0", "O(1)", "Returns details about memory usage."),
    cmd("memory|doctor", 2, 0, memory_doctor).doc("4.0.0", "O(1)", "Outputs a memory problems report."),
    cmd("memory|malloc-stats", 2, 0, memory_malloc_stats).doc("4.0.0", "Depends on how much memory is allocated, could be slow", "Returns the allocator statistics."),
    cmd("memory|purge", 2, 0, memory_purge).doc("4.0.0", "Depends on how much memory is allocated, could be slow", "Asks the allocator to release memory."),
    cmd("memory|help", 2, LOADING | STALE, memory_help).doc("4.0.0", "O(1)", "Returns helpful text about the different subcommands."),
]);

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
    let peak = cx.s.stats.peak_memory.max(used as usize) as i64;
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
