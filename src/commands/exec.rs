//! Execution: `exec_batch` runs a batch's requests in order against `State`, `exec_request` runs one (checks,
//! the handler with its `Ctx`, stats, propagation), as the Keyspace actor calls them (commands layer).

use super::batch::{pack_args, Argv, Batch};
use super::client::{Client, ReplyMode};
use super::spec::*;
use super::state::{State, OBUF_NORMAL, OBUF_PUBSUB, OBUF_REPLICA};
use super::table::table;
use super::{aof, multi, scripting, tracking};
use crate::error::CmdError;
use crate::resp::encode::Out;
use crate::types::clock;
use crate::types::db::Db;
use crate::types::value::Value;
use std::backtrace::Backtrace;
use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};

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
    /// Redis's addReplySubcommandSyntaxError: the subcommand as the client wrote it, the parent in capitals.
    pub fn subcommand_syntax(&self) -> CmdError {
        let parent = self.spec.name.split('|').next().unwrap_or(self.spec.name).to_ascii_uppercase();
        CmdError::msg(format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try {} HELP.",
            crate::error::sanitize(self.arg(1), 128),
            parent
        ))
    }

    #[inline]
    pub fn arg(&self, i: usize) -> &'a [u8] {
        self.argv.get(i)
    }

    #[inline]
    pub fn argc(&self) -> usize {
        self.argv.len()
    }

    /// Argument `i` as a string value to store: a big argument the connection read into a buffer of its own
    /// is taken without a copy.
    #[inline]
    pub fn string_arg(&self, i: usize) -> Value {
        match self.argv.shared(i) {
            Some(b) => Value::string_shared(b),
            None => Value::string(self.argv.get(i)),
        }
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
        self.s.persist.dirty += 1;
        self.s.touch_key(db, key);
    }

    /// Propagate this command as `args` instead of its own arguments (Redis's argument rewriting); may be
    /// called several times to propagate several commands; with no call at all nothing is propagated only
    /// if the command changed nothing.
    pub fn propagate_as(&mut self, args: &[&[u8]]) {
        if self.s.prop.feed.enabled {
            self.s.prop.chosen.get_or_insert_with(Vec::new).push(args.iter().map(|a| a.to_vec()).collect());
        }
    }

    /// Propagate nothing for this command even though it changed data (its effects went out another way).
    pub fn no_propagate(&mut self) {
        if self.s.prop.feed.enabled {
            self.s.prop.chosen = Some(Vec::new());
        }
    }

    /// May this command block? Not inside MULTI/EXEC: there blocking commands answer as if timed out.
    pub fn can_block(&self) -> bool {
        !self.s.exec.in_exec
    }

    /// Block the client until one of `keys` (in the selected db) is written, or until `deadline_ms`
    /// (absolute Unix ms, 0 = never). Write no reply: when a key is written the command runs again from the
    /// start (and may block again, keeping its first deadline); on timeout the client gets a null array.
    pub fn block(&mut self, keys: &[&[u8]], deadline_ms: i64) {
        let db = self.db;
        self.s.exec.block_called = true;
        let keys: Vec<(usize, Vec<u8>)> = keys.iter().map(|k| (db, k.to_vec())).collect();
        self.s.clients.block(self.me, keys, deadline_ms);
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

/// Write `err` as the reply and count it.
pub fn reply_error(s: &mut State, out: &mut Out, err: &CmdError) {
    out.error(&err.0);
    s.stats.count_error(err);
}

/// A command of the master's stream failed on this replica: Redis logs it as critical (the data may have
/// diverged), with the latest bytes of the stream, counts it, and panics when `propagation-error-behavior`
/// asks for it on a read-only replica (networking.c afterErrorReply).
#[cold]
fn error_to_master(s: &mut State, err: &CmdError, cmd: &str) {
    let text = err.0.strip_prefix("ERR ").unwrap_or(&err.0);
    let text = &text[..text.len().min(4096)];
    log::warn!(
        "== CRITICAL == This replica is sending an error to its master: '{text}' after processing the command '{cmd}'"
    );
    if let Some(b) = s.prop.backlog.as_ref().filter(|b| b.histlen() > 0) {
        let n = b.histlen().min(256) as u64;
        let tail = b.copy_from(b.end() - n).unwrap_or_default();
        let mut dump = Vec::with_capacity(tail.len() + 16);
        crate::config::repr_into(&mut dump, &tail);
        log::warn!("Latest backlog is: '{}'", String::from_utf8_lossy(&dump));
    }
    s.stats.unexpected_error_replies += 1;
    let behavior = s.config.get("propagation-error-behavior").unwrap_or_default();
    if s.repl.read_only && (behavior == "panic" || behavior == "panic-on-replicas") {
        log::error!("This replica panicked sending an error to its master after processing the command '{cmd}'");
        std::process::abort();
    }
}

/// Why a request was refused before running, if it was.
pub(crate) fn precheck(s: &State, client: &Client, spec: &'static CommandSpec, argv: &Argv<'_>) -> Option<CmdError> {
    if !spec.arity_ok(argv.len()) {
        return Some(CmdError::arity(spec.name));
    }
    if spec.name == "debug" {
        if let Some(e) = super::debug::debug_refusal(s, client) {
            return Some(e);
        }
    } else if spec.name.starts_with("module|") {
        if let Some(e) = super::module::module_refusal(s, client, spec.name) {
            return Some(e);
        }
    }
    if !client.authenticated && !spec.has(NO_AUTH) && s.acl.auth_required() {
        return Some(CmdError::NOAUTH);
    }
    // ACL: one branch for an unrestricted user (the default one). A script's calls are checked by its
    // bridge (scripting.rs), with the script's texts; EXEC's queued commands with the text for rules that
    // changed since they were queued.
    if !client.user.open && !s.exec.in_script {
        if let Some(d) = super::acl::denied(client, spec, argv) {
            return Some(if s.exec.in_exec { super::acl::noperm_at_exec(d) } else { super::acl::noperm(d, spec) });
        }
    }
    // While a script is busy the memory check waits (Redis skips it then too): BUSY comes first. The
    // commands EXEC and scripts run were checked with their caller (evict.rs).
    if s.evict.oom
        && !s.exec.in_script
        && !s.exec.in_exec
        && s.busy.is_none()
        && !s.persist.aof.loading
        && super::evict::refused_on_oom(s, client, spec, argv)
    {
        return Some(CmdError::OOM);
    }
    if (spec.has(WRITE) || spec.name == "ping") && !s.exec.in_script {
        if let Some(err) = super::rdb::write_error(s) {
            return Some(err);
        }
        if s.persist.aof.mode != aof::AofMode::Off {
            if let Some(err) = aof::write_error(s) {
                return Some(err);
            }
        }
    }
    // min-replicas-to-write (NOREPLICAS), then on a replica READONLY and MASTERDOWN, after MISCONF as
    // processCommand checks them. EXEC counts as a write when it holds one (its queued commands are not
    // checked again), and is aborted with the error.
    if (s.repl.min_to_write > 0 || s.repl.master.is_some()) && !s.exec.in_script && !s.exec.in_exec {
        // A script counts by its declared flags (a shebang without no-writes is a write).
        let flags = scripting::command_flags(s, spec, argv);
        let is_write = flags & WRITE != 0
            || (spec.name == "exec" && client.multi.as_deref().is_some_and(|q| multi::queued_flags(s, q) & WRITE != 0));
        if is_write && s.repl.too_few_replicas() {
            return Some(super::replication::NOREPLICAS_ERR);
        }
        if s.repl.master.is_some() {
            if let Some(err) = super::replication::replica_refusal(s, client, spec, flags, is_write) {
                return Some(err);
            }
        }
    }
    // A file is loading: only commands flagged `loading` run (Redis's processCommand order: after MISCONF,
    // before BUSY). An AOF loads through a local client of its own, whose commands run; other clients reach
    // the Keyspace meanwhile only through a busy script's hook (DEBUG LOADAOF of a slow script).
    if (s.persist.rdb.loading.is_some() || (s.persist.aof.loading && !client.local)) && !spec.has(LOADING) {
        return Some(super::rdb::LOADING_ERR);
    }
    if s.persist.rdb.async_loading && super::rdb::denied_async_loading(spec) {
        return Some(super::rdb::LOADING_ERR);
    }
    // A RESP2 client in subscribed mode reads pushes only: Redis lets it send little else.
    // (Not inside EXEC: Redis checks this when the command is sent, not again when the queue runs.)
    if client.subs.is_some() && client.resp == 2 && !s.exec.in_exec && !super::pubsub::allowed_when_subscribed(spec) {
        return Some(super::pubsub::not_allowed_when_subscribed(spec));
    }
    // Other clients, served from a busy script's hook; the script's own calls go on.
    if let Some(b) = &s.busy {
        if !s.exec.in_script && !spec.has(ALLOW_BUSY) {
            return Some(b.error());
        }
    }
    // A replica stream may not touch the keyspace: replicas are exempt from CLIENT PAUSE, which this would
    // let them get around (processCommand).
    if client.replica && spec.has(WRITE | READONLY | MAY_REPLICATE) {
        return Some(REPLICA_KEYSPACE_ERR);
    }
    None
}

/// processCommand's refusal of a replica's keyspace command.
const REPLICA_KEYSPACE_ERR: CmdError = CmdError::new("ERR Replica can't interact with the keyspace");

/// A replica stream's command produced a reply: the link carries the stream, never replies, so the replica
/// is disconnected, with Redis's log lines (networking.c _addReplyToBufferOrList / addReplyDeferredLen, then
/// afterErrorReply's for an error). `reply` is what the command wrote.
#[cold]
fn replica_replied(s: &mut State, me: usize, cmd: &str, reply: &[u8]) {
    let c = &mut s.clients[me];
    c.killed = true;
    let line = crate::commands::connection::client_line(c, clock::now_ms());
    log::warn!("Replica generated a reply to command '{cmd}', disconnecting it: {}", line.trim_end());
    if let Some(err) = reply.strip_prefix(b"-") {
        let end = err.windows(2).position(|w| w == b"\r\n").unwrap_or(err.len());
        let text = &err[..end];
        let text = text.strip_prefix(b"ERR ").unwrap_or(text);
        let text = String::from_utf8_lossy(&text[..text.len().min(4096)]);
        log::warn!(
            "== CRITICAL == This master is sending an error to its replica: '{text}' after processing the command '{cmd}'"
        );
        s.stats.unexpected_error_replies += 1;
    }
}

/// Is client `me` held back by CLIENT PAUSE for this command (Redis's processCommand)? Not a replica, nor a
/// request refused before the pause check (wrong arity, NOAUTH): those answer at once. Under a WRITE pause,
/// writes and may-replicate commands wait; scripts count by their declared flags (a `no-writes` script or
/// function is a read, as Redis's evalGetCommandFlags) and EXEC by what it queued (mstate.cmd_flags).
pub fn paused_for(s: &State, me: usize, spec: &'static CommandSpec, argv: &Argv<'_>, now: i64) -> bool {
    let Some(p) = s.server.pause else { return false };
    let c = &s.clients[me];
    if p.until_ms <= now || c.replica || !spec.arity_ok(argv.len()) {
        return false;
    }
    if !c.authenticated && !spec.has(NO_AUTH) && s.acl.auth_required() {
        return false;
    }
    if p.all {
        return true;
    }
    let flags = match &c.multi {
        Some(queued) if spec.name == "exec" => super::multi::queued_flags(s, queued),
        _ => scripting::command_flags(s, spec, argv),
    };
    flags & (WRITE | MAY_REPLICATE) != 0
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
    // CLIENT TRACKING: invalidations for the client whose command runs wait for its reply (tracking.rs).
    let outer = std::mem::replace(&mut s.tracking.current, me);
    // A client's own command, not one EXEC or a script runs for it.
    let top = !s.exec.in_exec && !s.exec.in_script;
    let ran = run_request(s, me, out, argv, spec, top);
    s.tracking.current = outer;
    if s.tracking.clients() != 0 {
        match ran {
            Some(spec) => tracking::after_command(s, me, out, &argv, spec, top),
            None if top => tracking::after_top_level(s, me, out, spec),
            None => {}
        }
    }
}

/// `exec_request` without the tracking around it: the command, if its handler ran.
#[inline]
fn run_request(
    s: &mut State,
    me: usize,
    out: &mut Out,
    argv: Argv<'_>,
    spec: Option<&'static CommandSpec>,
    top: bool,
) -> Option<&'static CommandSpec> {
    let Some(spec) = spec else {
        if let Some(c) = s.clients.get_mut(me) {
            if c.multi.is_some() {
                c.multi_error = true;
            }
        }
        let name = argv.get(0);
        let rest: Vec<&[u8]> = argv.iter().skip(1).collect();
        let err = CmdError::unknown_command(name, &rest);
        reply_error(s, out, &err);
        if s.clients[me].master {
            error_to_master(s, &err, "<unknown>");
        }
        return None;
    };
    // A container command whose subcommand was not found: Redis's "unknown subcommand" error. A container
    // that may run alone (COMMAND, arity -1) runs its own handler when called with no subcommand.
    let runs_alone = argv.len() == 1 && spec.arity_ok(1);
    if !spec.subcommands.is_empty() && !runs_alone {
        let err = if argv.len() >= 2 {
            CmdError::unknown_subcommand(spec.name, argv.get(1))
        } else {
            CmdError::arity(spec.name)
        };
        reply_error(s, out, &err);
        if s.clients[me].master {
            error_to_master(s, &err, spec.name);
        }
        return None;
    }
    // maxmemory-clients: before key eviction, with the replies this batch already holds for the client
    // counted, as processCommand's evictClients() after the last command's updateClientMemUsageAndBucket.
    // Without it a pipeline of big replies passes maxmemory inside one batch and evicts keys first.
    if top && s.evict.clients.active() {
        if !out.buf.is_empty() {
            super::client_mem::update(s, me, out.buf.capacity(), false);
        }
        super::client_mem::evict(s);
        if s.clients.get(me).is_none_or(|c| c.killed) {
            // Evicted itself: the command does not run, and what it was owed goes with it.
            out.buf.clear();
            return None;
        }
    }
    // maxmemory: evict before a client's own command (not EXEC's or a script's), as processCommand does.
    if s.config.maxmemory > 0 && !s.exec.in_exec && !s.exec.in_script && s.busy.is_none() && s.clients[me].authenticated
    {
        super::evict::before_command(s);
    }
    // The tracking table's limit, and what eviction invalidated for this client: before its reply.
    if top && s.tracking.clients() != 0 {
        tracking::before_command(s, me, out);
    }
    let client = &s.clients[me];
    if client.multi.is_some() && !multi::runs_in_multi(spec) {
        multi::queue(s, me, out, argv, spec);
        return None;
    }
    if let Some(err) = precheck(s, client, spec, &argv) {
        let rejected = err != CmdError::NOAUTH;
        if rejected {
            s.stats.cmd_stats[spec.id].rejected += 1;
        }
        if err.code() == "NOPERM" {
            let context = if s.exec.in_exec { super::acl::LogContext::Multi } else { super::acl::LogContext::Toplevel };
            super::acl::log_denied(s, me, spec, &argv, context);
        }
        if spec.name == "exec" {
            multi::exec_abort(s, me, out, &err);
            // MONITOR saw MULTI: EXEC closes it (execCommandAbort).
            super::monitor::feed(s, me, spec, &argv);
            return None;
        }
        reply_error(s, out, &err);
        return None;
    }
    super::monitor::feed_script_call(s, me, spec, &argv);
    let client = &s.clients[me];
    let db = client.db;
    let dirty_before = s.persist.dirty;
    let was_blocked = client.blocked.is_some();
    let before = Before {
        resp: client.resp,
        in_exec: s.exec.in_exec,
        in_script: s.exec.in_script,
        feed_depth: s.prop.feed.depth(),
    };
    s.clients[me].last_cmd = spec.name;
    s.exec.block_called = false;
    // A TSC read where the CPU has an invariant one (quanta): this runs twice per command.
    let start = quanta::Instant::now();
    let mark = out.buf.len();
    // Pushes to this client while its command runs go before its reply, as Redis writes them.
    s.pubsub.reply_mark = mark;
    let replica_write = super::replication::replica_write_begin(s, me, spec);
    let caught = {
        let mut cx = Ctx { argv, out, s, me, db, spec };
        call_handler(&mut cx)
    };
    if replica_write {
        super::replication::replica_write_end(s);
    }
    let (res, panicked): (CmdResult, bool) = match caught {
        Ok(res) => (res, false),
        Err(how) => {
            recover(s, me, db, spec, before, how);
            (Err(INTERNAL_ERROR), true)
        }
    };
    if was_blocked && !s.exec.block_called {
        s.clients.unblock(me);
    }
    if s.prop.expire_logging {
        s.drain_expired();
    }
    // Keys created or missed by the command without an event of its own to carry theirs.
    if s.pubsub.notify & (crate::config::NOTIFY_NEW | crate::config::NOTIFY_KEY_MISS) != 0 {
        super::pubsub::flush_key_events(s, None);
    }
    // A panicked command propagates nothing of its own: it did not complete, so replaying its arguments
    // could do what it never did here.
    if s.prop.feed.enabled && !panicked {
        propagate_effects(s, db, &argv, dirty_before);
    }
    let us = start.elapsed().as_micros() as u64;
    let st = &mut s.stats.cmd_stats[spec.id];
    // A command that blocked is counted once, when it is finally served (as Redis's call() does).
    if !s.exec.block_called {
        st.calls += 1;
    }
    st.usec += us;
    s.stats.commands_processed += 1;
    // As Redis's call(): the peak after each command, while its arguments are still held (a big SET's).
    s.stats.peak_memory = s.stats.peak_memory.max(crate::alloc::used_memory());
    // SLOWLOG and LATENCY: a command under both thresholds costs this compare (`Observe::watch_us`).
    if us >= s.obs.watch_us {
        super::slowlog::note_command(s, me, spec, &argv, us);
    }
    // MONITOR: one length check when nobody monitors. A blocked command shows when it is served.
    if !s.exec.block_called {
        super::monitor::feed(s, me, spec, &argv);
    }
    // latency-tracking: a command that blocked is recorded when it is finally served.
    if s.obs.tracking && !s.exec.block_called {
        s.obs.latency.record(spec.id, us);
    }
    if let Err(err) = res {
        out.buf.truncate(mark);
        s.stats.cmd_stats[spec.id].failed += 1;
        reply_error(s, out, &err);
        if s.clients[me].master {
            error_to_master(s, &err, spec.name);
        }
    }
    Some(spec)
}

/// Hand the command's effects to the feed (after its expired keys, `State::drain_expired`).
fn propagate_effects(s: &mut State, db: usize, argv: &Argv<'_>, dirty_before: u64) {
    match s.prop.chosen.take() {
        Some(cmds) => {
            // Several commands for one (SPOP with a count: an SREM per member) go out in MULTI/EXEC, as
            // Redis 7.0's propagatePendingCommands wraps them; inside EXEC or a script they join that unit.
            let several = cmds.len() > 1;
            if several {
                s.prop.feed.hold();
            }
            for c in cmds {
                let args: Vec<&[u8]> = c.iter().map(|a| a.as_slice()).collect();
                s.prop.feed.command(db, &args);
            }
            if several {
                s.prop.feed.release();
            }
        }
        None if s.persist.dirty > dirty_before => {
            let args = argv.to_vec();
            s.prop.feed.command(db, &args);
        }
        None => {}
    }
}

/// Start or stop the feed, as consumers come and go.
pub fn set_feed_enabled(s: &mut State, on: bool) {
    s.prop.feed.enabled = on;
    s.prop.feed.db = None;
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
    // The batch's requests; the connection counts what it still holds (client_mem.rs).
    client.qbuf = batch.input.len() + batch.outside.len();
    client.obuf = 0;
    // client-output-buffer-limit: replies pile up here until the connection writes them, so a client that
    // pipelines big reads without reading its replies is closed here as soon as they pass the limit, as Redis
    // closes it once its reply list does (in-process clients have no socket buffer to limit).
    let obuf_limit = match (client.local, client.replica) {
        (true, _) => u64::MAX,
        (false, true) => s.knobs.obuf_limits[OBUF_REPLICA].immediate(),
        (false, false) if client.subs.is_some() => s.knobs.obuf_limits[OBUF_PUBSUB].immediate(),
        (false, false) => s.knobs.obuf_limits[OBUF_NORMAL].immediate(),
    };
    // Earlier replies its connection has not written yet count toward the limit too.
    let obuf_limit = obuf_limit.saturating_sub(if obuf_limit == u64::MAX { 0 } else { client.omem() as u64 });
    if s.repl.master.is_some() {
        // On a replica, the master's stream sees keys past their TTL (its DELs remove them); clients do not.
        let hide = !client.master;
        for db in &mut s.dbs {
            db.hide_expired = hide;
        }
    }
    let client = &mut s.clients[me];
    let mut out = Out::with_buf(std::mem::take(&mut batch.out), client.resp);
    if let Some(b) = &client.blocked {
        // A blocked request ends by CLIENT UNBLOCK or by its deadline: answer it and go on with the batch.
        let unblock = client.unblock_pending.take();
        if unblock.is_some() || (b.deadline_ms != 0 && b.deadline_ms <= now) {
            // The blocked command ends here: this is its one counted call (Redis's updateStatsOnUnblock).
            if let Some(spec) = batch.reqs.get(batch.done).and_then(|r| r.spec) {
                let st = &mut s.stats.cmd_stats[spec.id];
                st.calls += 1;
                if unblock == Some(true) {
                    st.failed += 1;
                }
            }
            let waited = super::replication::wait_ended(s, me);
            if std::mem::take(&mut s.clients[me].shutdown_blocked) {
                // The shutdown it waited for was cancelled (replyToClientsBlockedOnShutdown).
                reply_error(s, &mut out, &CmdError::new("ERR Errors trying to SHUTDOWN. Check logs."));
            } else if unblock == Some(true) {
                reply_error(s, &mut out, &CmdError::new("UNBLOCKED client unblocked via CLIENT UNBLOCK"));
            } else if let Some(acked) = waited {
                // WAIT answers how many replicas acknowledged in time.
                out.int(acked);
            } else {
                out.nil_array();
            }
            s.clients.unblock(me);
            batch.done += 1;
        }
    }
    s.stats.net_input_bytes += batch.read_bytes;
    batch.read_bytes = 0;
    s.stats.reads_processed += 1;
    while batch.done < batch.reqs.len() {
        let mut req = batch.reqs[batch.done];
        // Parsing resolved the name in the shared table; this server's rename-command lines come first.
        if let Some(r) = &s.server.renames {
            req.spec = r.resolve(&batch.argv(&req));
            batch.reqs[batch.done].spec = req.spec;
        }
        if let Some(spec) = req.spec {
            // A busy script's BUSY replies are not held back by a pause (Redis checks BUSY first).
            if s.server.pause.is_some()
                && s.busy.is_none()
                && paused_for(s, me, spec, &batch.argv(&req), clock::now_ms())
            {
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
        s.pubsub.reply_pushed = false;
        s.tracking.pushed_at = None;
        let was_replica = s.clients[me].replica;
        exec_request(s, me, &mut out, argv, req.spec);
        if was_replica && out.buf.len() > mark && s.clients.get(me).is_some() {
            let name = req.spec.map_or("<unknown>", |sp| sp.name);
            replica_replied(s, me, name, &out.buf[mark..]);
            out.buf.truncate(mark);
        }
        // Pub/sub notifications are pushes, which CLIENT REPLY OFF/SKIP does not silence (Redis's
        // CLIENT_PUSHING); so are the client's own invalidations after its reply.
        let pushed = std::mem::take(&mut s.pubsub.reply_pushed);
        let reply_end = s.tracking.pushed_at.take().unwrap_or(out.buf.len());
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
            ReplyMode::Off if !pushed => drop(out.buf.drain(mark..reply_end)),
            ReplyMode::SkipThis => {
                if !pushed {
                    drop(out.buf.drain(mark..reply_end));
                }
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
        if out.buf.len() as u64 >= obuf_limit {
            obuf_limit_reached(s, me, out.buf.len());
            // Nothing more of this client runs, and what it has not been sent is dropped with it.
            out.buf.clear();
            batch.close = true;
            batch.done = batch.reqs.len();
            break;
        }
        if s.persist.aof.load_pending
            || s.persist.rdb.fg.is_some()
            || s.migrate.pending.is_some()
            || s.acl.file_job.is_some()
        {
            // DEBUG LOADAOF, SAVE, DEBUG RELOAD, MIGRATE, ACL LOAD/SAVE...: the Keyspace does the job (reloads the
            // files, saves, talks to the target, has the ACL file read or written), writes the reply, then runs
            // the rest.
            break;
        }
    }
    s.stats.net_output_bytes += out.buf.len() as u64;
    if let Some(c) = s.clients.get_mut(me) {
        // The connection holds the replies from here on (what it cannot write at once counts in its
        // `pushed` counter), and the rest of the query buffer; requests that wait (a pause, a blocked
        // command) stay the client's query buffer here.
        if batch.done >= batch.reqs.len() {
            c.qbuf = 0;
        }
        c.obuf = 0;
        batch.unauthenticated = !c.authenticated && s.acl.auth_required();
    }
    // maxmemory-clients: measure the client with the replies it is about to be sent, by the block that holds
    // them (client_mem.rs). An evicted client gets nothing more.
    if s.evict.clients.active() && super::client_mem::after_batch(s, me, out.buf.capacity()) {
        out.buf.clear();
        batch.close = true;
        batch.done = batch.reqs.len();
    }
    batch.out = out.buf;
}

/// Close client `me` for passing its output buffer limit with `pending` bytes, as Redis logs and counts it.
fn obuf_limit_reached(s: &mut State, me: usize, pending: usize) {
    let c = &mut s.clients[me];
    c.killed = true;
    c.obuf = pending;
    let line = crate::commands::connection::client_line(c, clock::now_ms());
    log::warn!("Client {} scheduled to be closed ASAP for overcoming of output buffer limits.", line.trim_end());
    s.knobs.obuf_disconnections.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

/// Run one command given as plain arguments (unit tests and in-process helpers). The client must exist.
pub fn run_args(s: &mut State, me: usize, args: &[&[u8]]) -> Vec<u8> {
    let (input, refs) = pack_args(args);
    let argv = Argv::new(&input, &[], &refs);
    let spec = match &s.server.renames {
        Some(r) => r.resolve(&argv),
        None => table().resolve(&argv),
    };
    let resp = s.clients[me].resp;
    let mut out = Out::new(resp);
    clock::refresh();
    exec_request(s, me, &mut out, argv, spec);
    out.buf
}

// ---------------------------------------------------------------------------------------------------------
// Panic isolation
// ---------------------------------------------------------------------------------------------------------
//
// A panic in a command handler (a bug not found yet, an edge case in a Lua library) must not take the server
// down: `exec_request` runs every handler under `catch_unwind`, which costs nothing until something panics.
// The command is answered `-ERR internal error` (its partial reply dropped), the panic is logged at warn level
// with the command's name and a backtrace, counted in INFO stats as `ferrodis_internal_errors`, and the
// per-command state it may have left half-done is put back (see `recover`); the connection and the server
// go on. Data the handler had already changed stays changed: the Keyspace has no undo log.

/// The reply of a command whose handler panicked.
const INTERNAL_ERROR: CmdError = CmdError::new("ERR internal error");

thread_local! {
    /// A handler runs under `catch_unwind` on this thread: the panic hook records the panic for
    /// `exec_request` to log (once, with the command's name) instead of printing it.
    static CATCHING: Cell<bool> = const { Cell::new(false) };
    /// Panics the hook recorded that no `exec_request` has handled yet. One that grows while a handler
    /// returned normally was caught on the way by someone else (a Lua `pcall` around a Rust callback).
    static PENDING: Cell<u64> = const { Cell::new(0) };
    /// What the hook recorded of the last panic: its message and place, and a backtrace.
    static CAUGHT: RefCell<Option<(String, Backtrace)>> = const { RefCell::new(None) };
}

/// Install the panic hook that records handler panics (once per process; `State::new` calls it). Panics
/// anywhere else still go to the hook that was there before (by default: printed to stderr).
pub(crate) fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if CATCHING.try_with(Cell::get).unwrap_or(false) {
                let bt = Backtrace::force_capture();
                let _ = CAUGHT.try_with(|c| *c.borrow_mut() = Some((info.to_string(), bt)));
                let _ = PENDING.try_with(|n| n.set(n.get() + 1));
            } else {
                previous(info);
            }
        }));
    });
}

/// How a handler run ended when it did not simply return.
enum Panicked {
    /// It panicked: the payload, caught here.
    Unwound(Box<dyn std::any::Any + Send>),
    /// It returned, but something it ran panicked and was caught before reaching us: mlua turns a panic in
    /// a Rust callback into a Lua error, which the script's `pcall` (or the script runner's own) catches.
    Swallowed,
}

/// Run the handler, catching a panic. Free on the happy path: thread-local reads and writes, no allocation.
#[inline]
fn call_handler(cx: &mut Ctx<'_>) -> Result<CmdResult, Panicked> {
    let handler = cx.spec.handler;
    // Nested runs (EXEC's queue, a script's redis.call) handle their own panics; the outer flag comes back.
    let outer = CATCHING.replace(true);
    let pending = PENDING.get();
    let res = panic::catch_unwind(AssertUnwindSafe(|| handler(cx)));
    CATCHING.set(outer);
    if PENDING.get() == pending {
        return res.map_err(Panicked::Unwound);
    }
    // Every panic recorded since the handler started is handled here.
    PENDING.set(pending);
    Err(res.err().map_or(Panicked::Swallowed, Panicked::Unwound))
}

/// What `exec_request` notes before a handler runs, to put back if it panics.
#[derive(Clone, Copy)]
struct Before {
    resp: u8,
    in_exec: bool,
    in_script: bool,
    feed_depth: u32,
}

/// After a handler panicked: log and count it, and undo the per-command state it may have left half-done
/// (a script or EXEC that did not restore its flags, a held feed, a block, an open transaction).
#[cold]
fn recover(s: &mut State, me: usize, db: usize, spec: &'static CommandSpec, before: Before, how: Panicked) {
    // The hook's record; without one (the hook of an embedding program replaced ours), what the payload says.
    let (what, bt) = CAUGHT.with(|c| c.borrow_mut().take()).unwrap_or_else(|| {
        let msg = match &how {
            Panicked::Unwound(p) => p
                .downcast_ref::<&str>()
                .map(|m| m.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic with a non-text payload".into()),
            Panicked::Swallowed => "a panic caught inside the command (no record of it)".into(),
        };
        (msg, Backtrace::disabled())
    });
    log::warn!("Internal error in command '{}', answered with -ERR internal error: {what}\n{bt}", spec.name);
    s.stats.internal_errors += 1;
    s.exec.in_exec = before.in_exec;
    s.exec.in_script = before.in_script;
    // A script cut short past busy-reply-threshold: the other clients are no longer held.
    if s.busy.as_ref().is_some_and(|b| b.caller == me) {
        super::busy::end_busy(s);
    }
    // An EXEC or script cut short: what it did run goes out; later units are not held behind it.
    s.prop.feed.unwind_to(before.feed_depth);
    // Its own propagation choice was for a command that did not complete.
    s.prop.chosen = None;
    // A command answered with an error is not waiting for anything.
    s.clients.unblock(me);
    s.exec.block_called = false;
    if s.clients.contains(me) {
        // A script runs in its own database and protocol, switched back only when it ends.
        let c = &mut s.clients[me];
        c.db = db;
        c.resp = before.resp;
        // Inside MULTI only the transaction's own commands run: one that panicked ends it, as DISCARD does.
        if c.multi.take().is_some() {
            c.multi_error = false;
            c.dirty_cas = false;
            multi::unwatch_all(s, me);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{self, run_raw, T};
    use super::*;

    /// Run `handler` as a command through `exec_request` (a spec of our own, counted as PING).
    fn run_handler(t: &mut T, handler: Handler) -> String {
        let spec: &'static CommandSpec = Box::leak(Box::new(cmd("test-handler", 1, 0, handler).group("server")));
        let spec: &'static CommandSpec =
            Box::leak(Box::new(CommandSpec { id: table().lookup(b"ping").unwrap().id, ..*spec }));
        let (input, refs) = pack_args([b"test-handler"]);
        let mut out = Out::new(2);
        exec_request(&mut t.s, t.me, &mut out, Argv::new(&input, &[], &refs), Some(spec));
        String::from_utf8_lossy(&out.buf).into_owned()
    }

    /// Command lines one argument short or long of a subcommand's form answer as redis-server 7.0.15 does
    /// (found by sending every command too few and too many arguments to both).
    #[test]
    fn short_and_long_command_lines() {
        let mut t = testutil::new();
        let syntax = |sub: &str, parent: &str| {
            format!("-ERR unknown subcommand or wrong number of arguments for '{sub}'. Try {parent} HELP.\r\n")
        };
        // REPLCONF with no option pairs is a no-op (it once indexed a missing argument: "internal error").
        assert_eq!(run_raw(&mut t, &["replconf"]), "+OK\r\n");
        assert_eq!(run_raw(&mut t, &["pubsub", "channels", "a", "b"]), syntax("channels", "PUBSUB"));
        assert_eq!(run_raw(&mut t, &["pubsub", "ShardChannels", "a", "b"]), syntax("ShardChannels", "PUBSUB"));
        assert_eq!(run_raw(&mut t, &["client", "unblock", "1", "timeout", "x"]), syntax("unblock", "CLIENT"));
        assert_eq!(run_raw(&mut t, &["client", "pause", "0", "write", "x"]), syntax("pause", "CLIENT"));
        assert_eq!(
            run_raw(&mut t, &["client", "pause", "x", "foo"]),
            "-ERR CLIENT PAUSE mode must be WRITE or ALL\r\n"
        );
        assert_eq!(run_raw(&mut t, &["debug", "JMAP"]), syntax("JMAP", "DEBUG"));
        // EVALSHA: a SHA that is not 40 characters long is NOSCRIPT before numkeys is read.
        assert_eq!(run_raw(&mut t, &["evalsha", "x", "x"]), "-NOSCRIPT No matching script. Please use EVAL.\r\n");
        assert_eq!(
            run_raw(&mut t, &["evalsha", &"a".repeat(40), "x"]),
            "-ERR value is not an integer or out of range\r\n"
        );
        assert_eq!(run_raw(&mut t, &["script", "FlUsH", "sync", "x"]), syntax("FlUsH", "SCRIPT"));
        assert_eq!(run_raw(&mut t, &["slowlog", "get", "1", "x"]), syntax("get", "SLOWLOG"));
        // XINFO STREAM looks the key up before it reads its options.
        assert_eq!(run_raw(&mut t, &["xinfo", "stream", "nosuch", "x", "y"]), "-ERR no such key\r\n");
        run_raw(&mut t, &["xadd", "s", "1-1", "f", "v"]);
        assert_eq!(run_raw(&mut t, &["xinfo", "stream", "s", "x", "y"]), syntax("stream", "XINFO"));
        assert_eq!(run_raw(&mut t, &["set", "str", "v"]), "+OK\r\n");
        assert!(run_raw(&mut t, &["xinfo", "stream", "str", "full", "count"]).starts_with("-WRONGTYPE"));
    }

    #[test]
    fn a_panicking_handler_is_answered_and_counted_and_the_client_goes_on() {
        let mut t = testutil::new();
        assert_eq!(run_raw(&mut t, &["debug", "rust-panic"]), "-ERR internal error\r\n");
        assert_eq!(t.s.stats.internal_errors, 1);
        assert_eq!(t.s.stats.error_stats.get("ERR"), Some(&1));
        let debug = table().lookup(b"debug").unwrap().id;
        assert_eq!((t.s.stats.cmd_stats[debug].calls, t.s.stats.cmd_stats[debug].failed), (1, 1));
        assert_eq!(run_raw(&mut t, &["set", "k", "v"]), "+OK\r\n");
        assert_eq!(run_raw(&mut t, &["get", "k"]), "$1\r\nv\r\n");
        assert!(run_raw(&mut t, &["info", "stats"]).contains("\r\nferrodis_internal_errors:1\r\n"));
    }

    #[test]
    fn a_panic_drops_the_partial_reply_and_puts_back_what_the_handler_left_half_done() {
        let mut t = testutil::new();
        set_feed_enabled(&mut t.s, true);
        let got = run_handler(&mut t, |cx| {
            cx.out.simple("PARTIAL");
            cx.s.exec.in_exec = true;
            cx.s.exec.in_script = true;
            cx.s.prop.feed.hold();
            cx.s.prop.feed.command(0, &[b"SET", b"a", b"1"]);
            cx.propagate_as(&[b"DEL", b"x"]);
            cx.block(&[b"list"], 0);
            let c = cx.client();
            c.db = 5;
            c.resp = 3;
            panic!("half done");
        });
        assert_eq!(got, "-ERR internal error\r\n");
        let s = &t.s;
        assert!(!s.exec.in_exec && !s.exec.in_script && !s.exec.block_called && s.prop.chosen.is_none());
        assert_eq!(s.prop.feed.depth(), 0);
        assert!(s.clients[t.me].blocked.is_none() && s.clients.blocked_on.is_empty() && s.clients.blocked_count == 0);
        assert_eq!((s.clients[t.me].db, s.clients[t.me].resp), (0, 2));
        // The held effect went out; the panicked command added none of its own.
        let feed = String::from_utf8_lossy(&t.s.prop.feed.buf).into_owned();
        assert_eq!(feed, "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n");
        // Later writes are not held behind the unit the panic left open.
        t.s.prop.feed.buf.clear();
        assert_eq!(run_raw(&mut t, &["set", "k", "v"]), "+OK\r\n");
        assert!(String::from_utf8_lossy(&t.s.prop.feed.buf).contains("$3\r\nset\r\n$1\r\nk\r\n"));
    }

    #[test]
    fn a_panic_inside_exec_fails_that_command_only_and_the_transaction_propagates_whole() {
        let mut t = testutil::new();
        set_feed_enabled(&mut t.s, true);
        for cmd in [&["multi"][..], &["set", "a", "1"], &["debug", "rust-panic"], &["set", "b", "2"]] {
            run_raw(&mut t, cmd);
        }
        assert_eq!(run_raw(&mut t, &["exec"]), "*3\r\n+OK\r\n-ERR internal error\r\n+OK\r\n");
        assert!(!t.s.exec.in_exec);
        let feed = String::from_utf8_lossy(&t.s.prop.feed.buf).into_owned();
        assert!(feed.contains("MULTI") && feed.ends_with("*1\r\n$4\r\nEXEC\r\n"), "{feed}");
        assert_eq!(run_raw(&mut t, &["mget", "a", "b"]), "*2\r\n$1\r\n1\r\n$1\r\n2\r\n");
    }

    #[test]
    fn a_panic_in_a_transaction_command_discards_the_transaction() {
        let mut t = testutil::new();
        run_raw(&mut t, &["watch", "w"]);
        run_raw(&mut t, &["multi"]);
        assert_eq!(run_raw(&mut t, &["set", "a", "1"]), "+QUEUED\r\n");
        // An EXEC that breaks before taking its queue (EXEC runs inside MULTI rather than being queued).
        let exec = table().lookup(b"exec").unwrap();
        let broken: &'static CommandSpec = Box::leak(Box::new(CommandSpec { handler: |_| panic!("broken"), ..*exec }));
        let (input, refs) = pack_args([b"exec"]);
        let mut out = Out::new(2);
        exec_request(&mut t.s, t.me, &mut out, Argv::new(&input, &[], &refs), Some(broken));
        assert_eq!(out.buf, b"-ERR internal error\r\n");
        let c = &t.s.clients[t.me];
        assert!(c.multi.is_none() && c.watched.is_empty() && t.s.clients.watched_keys.is_empty());
        assert_eq!(run_raw(&mut t, &["get", "a"]), "$-1\r\n");
        assert_eq!(run_raw(&mut t, &["exec"]), "-ERR EXEC without MULTI\r\n");
    }

    #[test]
    fn a_panic_a_lua_pcall_caught_inside_the_command_still_fails_it() {
        let mut t = testutil::new();
        let got = run_handler(&mut t, |cx| {
            let lua = mlua::Lua::new();
            let f = lua.create_function(|_, ()| -> mlua::Result<()> { panic!("in a Lua callback") }).unwrap();
            lua.globals().set("f", f).unwrap();
            // mlua turns the panic into a Lua error, and pcall catches that: the handler returns normally.
            let caught: bool = lua.load("return not pcall(f)").eval().unwrap();
            assert!(caught);
            cx.out.ok();
            Ok(())
        });
        assert_eq!(got, "-ERR internal error\r\n");
        assert_eq!(t.s.stats.internal_errors, 1);
        assert_eq!(run_raw(&mut t, &["ping"]), "+PONG\r\n");
    }

    #[test]
    fn a_panic_under_redis_call_fails_that_call_and_the_script_server_go_on() {
        let mut t = testutil::new();
        set_feed_enabled(&mut t.s, true);
        // DEBUG is noscript, as in Redis; the switch Redis's own tests use lets a script call it.
        assert_eq!(run_raw(&mut t, &["debug", "set-disable-deny-scripts", "1"]), "+OK\r\n");
        let pcall = "redis.call('set', 'a', '1'); local r = redis.pcall('debug', 'rust-panic'); \
                     redis.call('set', 'b', '2'); return r";
        assert_eq!(run_raw(&mut t, &["eval", pcall, "0"]), "-ERR internal error\r\n");
        let call = run_raw(&mut t, &["eval", "return redis.call('debug', 'rust-panic')", "0"]);
        assert!(call.starts_with("-ERR internal error script: "), "{call}");
        assert_eq!(t.s.stats.internal_errors, 2);
        assert!(!t.s.exec.in_script && !t.s.exec.in_exec && t.s.prop.feed.depth() == 0);
        let feed = String::from_utf8_lossy(&t.s.prop.feed.buf).into_owned();
        assert!(feed.contains("MULTI") && feed.contains("$1\r\nb\r\n") && feed.ends_with("$4\r\nEXEC\r\n"), "{feed}");
        assert_eq!(run_raw(&mut t, &["eval", "return redis.call('get', 'b')", "0"]), "$1\r\n2\r\n");
    }
}
