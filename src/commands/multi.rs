//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH (commands layer, applied by the Keyspace actor).
//!
//! Between MULTI and EXEC a client's commands are checked (unknown, arity, auth, OOM) and queued with copies
//! of their arguments; EXEC runs them back to back, which the single Keyspace makes atomic for free. WATCH
//! registers (db, key) pairs; any write to one marks its watchers so that their EXEC returns a null array.
//! As in Redis 7.0, a key already expired (but not yet deleted) when WATCHed is remembered as such: its
//! deletion is no change, and EXEC fails if a watched key expires in between (multi.c's `expired` flag).

use super::spec::*;
use super::{exec_request, precheck, reply_error, Argv, Ctx, State};
use crate::error::CmdError;
use crate::resp::decode::ArgRef;
use crate::resp::encode::Out;

/// A key a client WATCHes.
pub struct Watched {
    pub db: usize,
    pub key: Vec<u8>,
    /// It was stored but past its TTL when WATCHed (logically absent already).
    pub expired: bool,
}

/// A command waiting for EXEC, with its own copy of the arguments.
pub struct Queued {
    spec: &'static CommandSpec,
    buf: Vec<u8>,
    refs: Vec<ArgRef>,
}

impl Queued {
    /// Bytes of its arguments (CLIENT LIST multi-mem, Redis's argv_len_sums) and of what it holds on the heap
    /// (client eviction counts the latter).
    pub fn mem(&self) -> (usize, usize) {
        let heap = self.buf.capacity() + self.refs.capacity() * std::mem::size_of::<crate::resp::decode::ArgRef>();
        (self.buf.len(), heap)
    }
}

/// The command flags of a queued transaction, OR-ed (Redis's mstate.cmd_flags; a script counts by its
/// declared flags): an EXEC holding a DENYOOM command is refused out of memory.
pub fn queued_flags(s: &State, queued: &[Queued]) -> u32 {
    queued
        .iter()
        .map(|q| super::scripting::command_flags(s, q.spec, &Argv::new(&q.buf, &[], &q.refs)))
        .fold(0, |a, f| a | f)
}

/// Does a queued command lack the STALE flag (Redis's mstate.cmd_inv_flags & CMD_STALE)? Then EXEC is refused
/// on a stale replica with replica-serve-stale-data no.
pub fn queued_deny_stale(queued: &[Queued]) -> bool {
    queued.iter().any(|q| q.spec.flags & STALE == 0)
}

/// Commands that act on the transaction itself instead of being queued (Redis's processCommand list:
/// UNWATCH is not on it, so inside MULTI it is queued and runs in EXEC).
pub fn runs_in_multi(spec: &CommandSpec) -> bool {
    matches!(spec.name, "exec" | "discard" | "multi" | "watch" | "quit" | "reset")
}

/// Queue a command inside MULTI, or refuse it and poison the transaction.
pub fn queue(s: &mut State, me: usize, out: &mut Out, argv: Argv<'_>, spec: &'static CommandSpec) {
    let err = if spec.has(NO_MULTI) {
        Some(CmdError::new("ERR Command not allowed inside a transaction"))
    } else if !spec.subcommands.is_empty() {
        Some(if argv.len() >= 2 {
            CmdError::unknown_subcommand(spec.name, argv.get(1))
        } else {
            CmdError::arity(spec.name)
        })
    } else {
        precheck(s, &s.clients[me], spec, &argv)
    };
    if let Some(err) = err {
        if err.code() == "NOPERM" {
            super::acl::log_denied(s, me, spec, &argv, super::acl::LogContext::Multi);
        }
        s.clients[me].multi_error = true;
        if err != CmdError::NOAUTH {
            s.stats.cmd_stats[spec.id].rejected += 1;
        }
        reply_error(s, out, &err);
        return;
    }
    let (buf, refs) = super::pack_args(argv.iter());
    if let Some(q) = s.clients[me].multi.as_mut() {
        q.push(Queued { spec, buf, refs });
    }
    out.simple("QUEUED");
}

/// MULTI
fn multi(cx: &mut Ctx<'_>) -> CmdResult {
    let c = cx.client();
    if c.multi.is_some() {
        return Err(CmdError::new("ERR MULTI calls can not be nested"));
    }
    c.multi = Some(Vec::new());
    c.multi_error = false;
    cx.out.ok();
    Ok(())
}

/// EXEC
fn exec(cx: &mut Ctx<'_>) -> CmdResult {
    let me = cx.me;
    let c = cx.client();
    let Some(queued) = c.multi.take() else { return Err(CmdError::new("ERR EXEC without MULTI")) };
    let aborted = std::mem::take(&mut c.multi_error);
    let mut dirty = std::mem::take(&mut c.dirty_cas);
    // EXEC with a watched key that expired since WATCH is refused (isWatchedKeyExpired).
    let s = &*cx.s;
    dirty |= s.clients[me].watched.iter().any(|w| !w.expired && s.dbs[w.db].is_stale(&w.key));
    unwatch_all(cx.s, me);
    if aborted {
        return Err(CmdError::new("EXECABORT Transaction discarded because of previous errors."));
    }
    if dirty {
        cx.out.nil_array();
        return Ok(());
    }
    cx.out.array(queued.len());
    cx.s.exec.in_exec = true;
    cx.s.prop.feed.hold();
    for q in &queued {
        let argv = Argv::new(&q.buf, &[], &q.refs);
        exec_request(cx.s, me, cx.out, argv, Some(q.spec));
        // A SELECT inside the transaction affects the commands after it.
        cx.out.resp = cx.s.clients[me].resp;
    }
    cx.s.exec.in_exec = false;
    cx.s.prop.feed.release();
    // The queued commands propagated themselves; EXEC adds nothing of its own.
    cx.no_propagate();
    Ok(())
}

/// A refused EXEC (extra arguments, not authenticated, ...), inside MULTI or not: as Redis's
/// execCommandAbort, the transaction (if any) is discarded and the reason comes back as EXECABORT (without
/// the ERR of Redis's own texts, with the code of the others).
pub fn exec_abort(s: &mut State, me: usize, out: &mut Out, err: &CmdError) {
    if let Some(c) = s.clients.get_mut(me) {
        c.multi = None;
        c.multi_error = false;
        c.dirty_cas = false;
    }
    unwatch_all(s, me);
    let why = err.0.strip_prefix("ERR ").unwrap_or(&err.0);
    reply_error(s, out, &CmdError::msg(format!("EXECABORT Transaction discarded because of: {why}")));
}

/// DISCARD
fn discard(cx: &mut Ctx<'_>) -> CmdResult {
    let me = cx.me;
    let c = cx.client();
    if c.multi.take().is_none() {
        return Err(CmdError::new("ERR DISCARD without MULTI"));
    }
    c.multi_error = false;
    c.dirty_cas = false;
    unwatch_all(cx.s, me);
    cx.out.ok();
    Ok(())
}

/// WATCH key [key ...]
fn watch(cx: &mut Ctx<'_>) -> CmdResult {
    if cx.client().multi.is_some() {
        return Err(CmdError::new("ERR WATCH inside MULTI is not allowed"));
    }
    let (me, db) = (cx.me, cx.db);
    for i in 1..cx.argc() {
        let key = cx.arg(i).to_vec();
        let expired = cx.s.dbs[db].is_stale(&key);
        let c = &mut cx.s.clients[me];
        if c.watched.iter().any(|w| w.db == db && w.key == key) {
            continue;
        }
        c.watched.push(Watched { db, key: key.clone(), expired });
        cx.s.clients.watched_keys.entry((db, key)).or_default().push(me);
    }
    cx.s.refresh_expire_logging();
    cx.out.ok();
    Ok(())
}

/// UNWATCH
fn unwatch(cx: &mut Ctx<'_>) -> CmdResult {
    let me = cx.me;
    unwatch_all(cx.s, me);
    cx.client().dirty_cas = false;
    cx.out.ok();
    Ok(())
}

/// Forget every key `slot` watches.
pub fn unwatch_all(s: &mut State, slot: usize) {
    let Some(c) = s.clients.get_mut(slot) else { return };
    for w in std::mem::take(&mut c.watched) {
        let k = super::DbKey(w.db, &w.key);
        if let Some(v) = s.clients.watched_keys.get_mut(&k) {
            v.retain(|&x| x != slot);
            if v.is_empty() {
                s.clients.watched_keys.remove(&k);
            }
        }
    }
    if s.clients.watched_keys.is_empty() {
        s.refresh_expire_logging();
    }
}

/// The watch record of `slot` for (db, key).
fn watched_mut<'a>(s: &'a mut State, slot: usize, db: usize, key: &[u8]) -> Option<&'a mut Watched> {
    s.clients.get_mut(slot)?.watched.iter_mut().find(|w| w.db == db && w.key == key)
}

/// Mark a client's transaction as failed; it need not watch anything any more.
fn dirty(s: &mut State, slot: usize) {
    if let Some(c) = s.clients.get_mut(slot) {
        c.dirty_cas = true;
    }
    unwatch_all(s, slot);
}

/// A key changed: mark its watchers (Redis's touchWatchedKey, quirk included: a watcher that saw the key
/// already expired while it is still stored ends the walk).
pub fn touch_watched(s: &mut State, db: usize, key: &[u8]) {
    let Some(v) = s.clients.watched_keys.get(&super::DbKey(db, key)) else { return };
    let stored = s.dbs[db].peek_stored(key).is_some();
    for slot in v.clone() {
        if let Some(w) = watched_mut(s, slot, db, key) {
            if w.expired {
                if !stored {
                    // The expired key is now deleted: logically no change.
                    w.expired = false;
                    continue;
                }
                break;
            }
        }
        dirty(s, slot);
    }
}

/// Database `emptied` is about to be flushed, or swapped with `replaced_with` (Redis's
/// touchAllWatchedKeysInDb): only keys that exist on either side count, and an expired key stays expired.
pub fn touch_all_watched_in_db(s: &mut State, emptied: usize, replaced_with: Option<usize>) {
    if s.clients.watched_keys.is_empty() {
        return;
    }
    let keys: Vec<Vec<u8>> =
        s.clients.watched_keys.keys().filter(|(d, _)| *d == emptied).map(|(_, k)| k.clone()).collect();
    for key in keys {
        let in_emptied = s.dbs[emptied].peek_stored(&key).is_some();
        let in_replaced = replaced_with.is_some_and(|r| s.dbs[r].peek_stored(&key).is_some());
        if !in_emptied && !in_replaced {
            continue;
        }
        let stale_in_replaced = replaced_with.is_some_and(|r| s.dbs[r].is_stale(&key));
        let slots = s.clients.watched_keys.get(&super::DbKey(emptied, &key)).cloned().unwrap_or_default();
        for slot in slots {
            let Some(w) = watched_mut(s, slot, emptied, &key) else { continue };
            if w.expired {
                if !in_replaced {
                    // The expired key is deleted: no logical change.
                    w.expired = false;
                    continue;
                } else if stale_in_replaced {
                    continue;
                }
            } else if !in_emptied && stale_in_replaced {
                // A missing key replaced by an expired one: still logically missing.
                w.expired = true;
                continue;
            }
            // Redis only flags the client here (unwatching would disturb its iteration).
            if let Some(c) = s.clients.get_mut(slot) {
                c.dirty_cas = true;
            }
        }
    }
}

const TX: u32 = NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY;

#[rustfmt::skip]
pub const SPECS: &[CommandSpec] = &family("transactions", [
    cmd("multi", 1, TX, multi).acl(TRANSACTION).doc("1.2.0", "O(1)", "Mark the start of a transaction block"),
    cmd("exec", 1, NOSCRIPT | LOADING | STALE | SKIP_SLOWLOG, exec).acl(TRANSACTION).doc("1.2.0", "Depends on commands in the transaction", "Execute all commands issued after MULTI"),
    cmd("discard", 1, TX, discard).acl(TRANSACTION).doc("2.0.0", "O(N), when N is the number of queued commands", "Discard all commands issued after MULTI"),
    cmd("watch", -2, TX, watch).keys(1, -1, 1).acl(TRANSACTION).doc("2.2.0", "O(1) for every key.", "Watch the given keys to determine execution of the MULTI/EXEC block"),
    cmd("unwatch", 1, TX, unwatch).acl(TRANSACTION).doc("2.2.0", "O(1)", "Forget about all watched keys"),
]);

#[cfg(test)]
mod tests {
    use crate::commands::testutil::{arr, bulk, err, new, ok, run, run_raw, simple};

    #[test]
    fn queue_and_exec() {
        let mut t = new();
        assert_eq!(run(&mut t, &["multi"]), ok());
        assert_eq!(run(&mut t, &["echo", "a"]), simple("QUEUED"));
        assert_eq!(run(&mut t, &["ping"]), simple("QUEUED"));
        assert_eq!(run(&mut t, &["exec"]), arr(vec![bulk("a"), simple("PONG")]));
        assert_eq!(run(&mut t, &["exec"]), err("ERR EXEC without MULTI"));
        assert_eq!(run(&mut t, &["discard"]), err("ERR DISCARD without MULTI"));
    }

    /// UNWATCH is queued like any command; MONITOR inside EXEC is refused (Redis 7.0.15, side by side).
    #[test]
    fn unwatch_and_monitor_in_multi() {
        let mut t = new();
        run(&mut t, &["multi"]);
        assert_eq!(run(&mut t, &["unwatch"]), simple("QUEUED"));
        assert_eq!(run(&mut t, &["monitor"]), simple("QUEUED"));
        assert_eq!(run(&mut t, &["exec"]), arr(vec![ok(), err("ERR MONITOR isn't allowed for DENY BLOCKING client")]));
        assert!(!t.s.clients[t.me].monitor);
    }

    #[test]
    fn errors_abort_the_transaction() {
        let mut t = new();
        run(&mut t, &["multi"]);
        assert_eq!(run(&mut t, &["multi"]), err("ERR MULTI calls can not be nested"));
        assert!(run_raw(&mut t, &["nosuch"]).starts_with("-ERR unknown command"));
        assert_eq!(run(&mut t, &["echo"]), err("ERR wrong number of arguments for 'echo' command"));
        assert_eq!(run(&mut t, &["exec"]), err("EXECABORT Transaction discarded because of previous errors."));
    }

    /// EXEC with arguments is refused as Redis refuses it, in MULTI (which it discards) or not.
    #[test]
    fn exec_with_arguments_aborts() {
        let mut t = new();
        let abort = "-EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command\r\n";
        assert_eq!(run_raw(&mut t, &["exec", "x"]), abort);
        run_raw(&mut t, &["multi"]);
        assert_eq!(run_raw(&mut t, &["ping"]), "+QUEUED\r\n");
        assert_eq!(run_raw(&mut t, &["exec", "x"]), abort);
        assert_eq!(run_raw(&mut t, &["exec"]), "-ERR EXEC without MULTI\r\n");
    }

    #[test]
    fn watch_fails_exec_after_a_change() {
        let mut t = new();
        assert_eq!(run(&mut t, &["watch", "k"]), ok());
        t.s.touch_key(0, b"k");
        run(&mut t, &["multi"]);
        run(&mut t, &["ping"]);
        assert_eq!(run_raw(&mut t, &["exec"]), "*-1\r\n");
        // The watch is gone after EXEC.
        run(&mut t, &["multi"]);
        run(&mut t, &["ping"]);
        assert_eq!(run(&mut t, &["exec"]), arr(vec![simple("PONG")]));
        assert!(t.s.clients.watched_keys.is_empty());
        run(&mut t, &["watch", "k"]);
        run(&mut t, &["multi"]);
        assert_eq!(run(&mut t, &["watch", "x"]), err("ERR WATCH inside MULTI is not allowed"));
        assert_eq!(run(&mut t, &["discard"]), ok());
        assert!(t.s.clients.watched_keys.is_empty());
    }
}
