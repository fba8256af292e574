//! Server commands: DBSIZE, FLUSHDB/FLUSHALL, SWAPDB, TIME, LASTSAVE, SHUTDOWN (commands layer, applied by
//! the Keyspace actor). INFO, CONFIG, COMMAND, DEBUG and MEMORY have their own files.

use super::spec::*;
use super::{Ctx, ShutdownRequest, State};
use crate::error::CmdError;
use crate::types::clock;

/// The server commands, as Redis 7.0's command table declares them.
#[rustfmt::skip]
pub const SPECS: &[CommandSpec] = &family("server", [
    cmd("dbsize", 1, READONLY | FAST, dbsize).acl(KEYSPACE).doc("1.0.0", "O(1)", "Return the number of keys in the selected database"),
    cmd("flushdb", -1, WRITE, flushdb).acl(KEYSPACE | DANGEROUS).doc("1.0.0", "O(N) where N is the number of keys in the selected database", "Remove all keys from the current database"),
    cmd("flushall", -1, WRITE, flushall).acl(KEYSPACE | DANGEROUS).doc("1.0.0", "O(N) where N is the total number of keys in all databases", "Remove all keys from all databases"),
    cmd("swapdb", 3, WRITE | FAST, swapdb).acl(KEYSPACE | DANGEROUS).doc("4.0.0", "O(N) where N is the count of clients watching or blocking on keys from both databases.", "Swaps two Redis databases"),
    cmd("time", 1, LOADING | STALE | FAST, time).doc("2.6.0", "O(1)", "Return the current server time"),
    cmd("lastsave", 1, LOADING | STALE | FAST, lastsave).acl(ADMIN_CATEGORY | DANGEROUS).doc("1.0.0", "O(1)", "Get the UNIX time stamp of the last successful save to disk"),
    cmd("shutdown", -1, ADMIN | NOSCRIPT | LOADING | STALE | NO_MULTI | ALLOW_BUSY, shutdown).doc("1.0.0", "O(N) when saving, where N is the total number of keys in all databases when saving data, otherwise O(1)", "Synchronously save the dataset to disk and then shut down the server"),
]);

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
    cx.s.persist.dirty += n;
    cx.s.clients.touch_db(Some(cx.db));
    // Caches are not per database: every tracking client hears "everything changed" (Redis's
    // signalFlushedDb).
    super::tracking::flushed(cx.s);
    // As Redis's forceCommandPropagation: an already empty database still gets its FLUSHDB in the AOF and
    // on replicas (they may hold keys the master no longer has).
    let args: Vec<&[u8]> = cx.argv.iter().collect();
    cx.propagate_as(&args);
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
    cx.s.persist.dirty += n + 1;
    cx.s.clients.touch_db(None);
    super::tracking::flushed(cx.s);
    // As Redis 7.0's flushAllDataAndResetRDB: a background save in progress is dropped (Redis kills the
    // child; one asked for earlier in this batch does not start), and with save points the empty dataset is
    // saved at once.
    let r = &mut cx.s.persist.rdb;
    if std::mem::take(&mut r.bgsave_requested) {
        r.bgsave_in_progress = false;
    } else if r.bgsave_in_progress {
        r.bgsave_abort = true;
    }
    if !cx.s.config.save.is_empty() && cx.s.persist.rdb.available {
        cx.s.persist.rdb.fg = Some(super::rdb::FgJob::FlushSave);
    }
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
        cx.s.persist.dirty += 1;
        cx.s.clients.touch_db(Some(a));
        cx.s.clients.touch_db(Some(b));
        // As Redis's dbSwapDatabases: cached keys of either database may now be other values.
        super::tracking::flushed(cx.s);
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
    cx.out.int(cx.s.persist.lastsave);
    Ok(())
}

/// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]
fn shutdown(cx: &mut Ctx<'_>) -> CmdResult {
    let mut req = ShutdownRequest::default();
    let mut abort = false;
    for i in 1..cx.argc() {
        if cx.argv.is(i, "nosave") {
            if req.save == Some(true) {
                return Err(CmdError::SYNTAX);
            }
            req.save = Some(false);
        } else if cx.argv.is(i, "save") {
            if req.save == Some(false) {
                return Err(CmdError::SYNTAX);
            }
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
        if abort_shutdown(cx.s) {
            cx.out.ok();
            return Ok(());
        }
        return Err(CmdError::new("ERR No shutdown in progress."));
    }
    // Waiting for replicas blocks the caller, which MULTI and scripts cannot be.
    let deny_blocking = cx.client().multi.is_some() || cx.s.exec.in_exec || cx.s.exec.in_script;
    if !req.now && deny_blocking {
        return Err(CmdError::new("ERR SHUTDOWN without NOW or ABORT isn't allowed for DENY BLOCKING client"));
    }
    // Past busy-reply-threshold only SHUTDOWN NOSAVE may stop the server under a script.
    if let Some(b) = &cx.s.busy {
        if req.save != Some(false) {
            return Err(b.error());
        }
    }
    // A shutdown waiting for replicas, or one that must wait: the caller blocks until the server stops (or
    // hears the error when the shutdown is cancelled), as Redis's BLOCKED_SHUTDOWN.
    let wait_now = !req.now && shutdown_timeout(cx.s) != 0 && !ready_to_shutdown(cx.s);
    if cx.s.server.shutdown_wait.is_some() || wait_now {
        if cx.s.server.shutdown_wait.is_none() {
            start_shutdown_wait(cx.s, req);
        }
        cx.client().shutdown_blocked = true;
        cx.block(&[], 0);
        return Ok(());
    }
    log_replicas_at_shutdown(cx.s);
    // Saving first (SAVE, or save points without NOSAVE): the Keyspace saves, then stops or replies the error.
    let save = req.save.unwrap_or(!cx.s.config.save.is_empty());
    if save && cx.s.persist.rdb.available {
        cx.s.persist.rdb.fg = Some(super::rdb::FgJob::Shutdown(req));
        return Ok(());
    }
    cx.s.server.shutdown = Some(req);
    // Redis sends no reply: the connection just closes.
    cx.client().close_after_reply = true;
    Ok(())
}

/// `shutdown-timeout`, in seconds (0: never wait for replicas).
pub fn shutdown_timeout(s: &State) -> i64 {
    s.config.get("shutdown-timeout").and_then(|v| v.parse().ok()).unwrap_or(10)
}

/// Every replica acknowledged everything written (isReadyToShutdown); true without replicas.
pub fn ready_to_shutdown(s: &State) -> bool {
    let offset = s.prop.feed.offset as i64;
    s.clients.iter().all(|(_, c)| !c.replica || c.repl_ack_off == offset)
}

/// Give lagging replicas `shutdown-timeout` seconds (prepareForShutdown): writes pause, the replicas are
/// asked for their offsets, and the Keyspace's cron finishes the shutdown once they caught up or the time is
/// up (`shutdown_due`).
pub fn start_shutdown_wait(s: &mut State, req: ShutdownRequest) {
    let deadline_ms = crate::types::clock::now_ms() + shutdown_timeout(s) * 1000;
    s.server.shutdown_wait = Some(super::state::ShutdownWait { deadline_ms, req });
    if s.server.pause.is_none() {
        s.prop.getack = true;
    }
    super::connection::refresh_pause(s);
    log::info!("Waiting for replicas before shutting down.");
}

/// The waiting shutdown's request, once its replicas caught up or its time is up (serverCron's check).
pub fn shutdown_due(s: &State) -> Option<ShutdownRequest> {
    let w = s.server.shutdown_wait?;
    (crate::types::clock::now_ms() >= w.deadline_ms || ready_to_shutdown(s)).then_some(w.req)
}

/// INFO's shutdown_in_milliseconds: the time left to a waiting shutdown.
pub fn shutdown_in_ms(s: &State) -> i64 {
    s.server.shutdown_wait.map_or(0, |w| (w.deadline_ms - crate::types::clock::now_ms()).max(0))
}

/// Stop a started shutdown (cancelShutdown): writes resume, clients blocked in SHUTDOWN get the error, and
/// the signal that asked for it hears it did not happen.
pub fn cancel_shutdown(s: &mut State) {
    s.server.shutdown_asap = None;
    s.server.shutdown_wait = None;
    s.server.shutdown_cancelled = true;
    let blocked: Vec<usize> = s.clients.iter().filter(|(_, c)| c.shutdown_blocked).map(|(slot, _)| slot).collect();
    for slot in blocked {
        s.clients[slot].unblock_pending = Some(true);
        s.clients.unblock_requests.push((slot, true));
    }
    super::connection::refresh_pause(s);
}

/// SHUTDOWN ABORT (abortShutdown): cancel a waiting shutdown, or a signal's not started yet. False when
/// there is neither.
pub fn abort_shutdown(s: &mut State) -> bool {
    if s.server.shutdown_wait.is_none() && s.server.shutdown_asap.is_none() {
        return false;
    }
    cancel_shutdown(s);
    log::info!("Shutdown manually aborted.");
    true
}

/// finishShutdown's replica report: a warning per lagging replica, then how many are in sync.
pub fn log_replicas_at_shutdown(s: &State) {
    let (total, lagging) = super::replication::lagging_replicas(s);
    for (name, behind, lag, state) in &lagging {
        log::warn!("Lagging replica {name} reported offset {behind} behind master, lag={lag}, state={state}.");
    }
    if total > 0 {
        log::info!("{} of {total} replicas are in sync when shutting down.", total - lagging.len());
    }
}

#[cfg(test)]
mod tests {
    use crate::commands::testutil::{err, int, new, ok, run, run_raw};

    #[test]
    fn flushdb_propagates_even_when_the_database_is_empty() {
        let mut t = new();
        crate::commands::set_feed_enabled(&mut t.s, true);
        t.s.prop.feed.buf.clear();
        assert_eq!(run(&mut t, &["flushdb"]), ok());
        assert_eq!(run(&mut t, &["flushdb", "async"]), ok());
        let fed = String::from_utf8_lossy(&t.s.prop.feed.buf).into_owned();
        assert_eq!(fed.matches("flushdb").count(), 2, "{fed:?}");
    }

    #[test]
    fn flush_swap_time() {
        let mut t = new();
        t.s.dbs[0].set(b"a", crate::types::value::Value::Int(1), false);
        assert_eq!(run(&mut t, &["dbsize"]), int(1));
        assert_eq!(run(&mut t, &["swapdb", "0", "1"]), ok());
        assert_eq!(run(&mut t, &["dbsize"]), int(0));
        assert_eq!(t.s.dbs[1].len(), 1);
        assert_eq!(run(&mut t, &["swapdb", "0", "99"]), err("ERR DB index is out of range"));
        assert_eq!(run(&mut t, &["flushall", "async"]), ok());
        assert_eq!(t.s.dbs[1].len(), 0);
        assert_eq!(run(&mut t, &["flushdb", "x"]), err("ERR syntax error"));
        assert!(run_raw(&mut t, &["time"]).starts_with("*2\r\n"));
    }
}
