//! Execution: `exec_batch` runs a batch's requests in order against `State`, `exec_request` runs one (checks,
//! the handler with its `Ctx`, stats, propagation), as the Keyspace actor calls them (commands layer).

use super::batch::{pack_args, Argv, Batch};
use super::client::{Blocked, Client, ReplyMode};
use super::spec::*;
use super::state::State;
use super::table::table;
use super::{aof, multi, scripting};
use crate::error::CmdError;
use crate::resp::encode::Out;
use crate::types::clock;
use crate::types::db::Db;
use std::time::Instant;

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
    #[inline]
    pub fn arg(&self, i: usize) -> &'a [u8] {
        self.argv.get(i)
    }

    #[inline]
    pub fn argc(&self) -> usize {
        self.argv.len()
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
        self.s.dirty += 1;
        self.s.touch_key(db, key);
    }

    /// Propagate this command as `args` instead of its own arguments (Redis's argument rewriting); may be
    /// called several times to propagate several commands; with no call at all nothing is propagated only
    /// if the command changed nothing.
    pub fn propagate_as(&mut self, args: &[&[u8]]) {
        if self.s.feed.enabled {
            self.s.prop_override.get_or_insert_with(Vec::new).push(args.iter().map(|a| a.to_vec()).collect());
        }
    }

    /// Propagate nothing for this command even though it changed data (its effects went out another way).
    pub fn no_propagate(&mut self) {
        if self.s.feed.enabled {
            self.s.prop_override = Some(Vec::new());
        }
    }

    /// May this command block? Not inside MULTI/EXEC: there blocking commands answer as if timed out.
    pub fn can_block(&self) -> bool {
        !self.s.in_exec
    }

    /// Block the client until one of `keys` (in the selected db) is written, or until `deadline_ms`
    /// (absolute Unix ms, 0 = never). Write no reply: when a key is written the command runs again from the
    /// start (and may block again, keeping its first deadline); on timeout the client gets a null array.
    pub fn block(&mut self, keys: &[&[u8]], deadline_ms: i64) {
        let (me, db) = (self.me, self.db);
        let s = &mut *self.s;
        s.block_called = true;
        let keys: Vec<(usize, Vec<u8>)> = keys.iter().map(|k| (db, k.to_vec())).collect();
        let deadline_ms = match &s.clients[me].blocked {
            // Woken but nothing to serve: stay in line where we were, with the first deadline.
            Some(b) if b.keys == keys => return,
            Some(b) => b.deadline_ms,
            None => deadline_ms,
        };
        s.unblock(me);
        for k in &keys {
            s.blocked_on.entry(k.clone()).or_default().push_back(me);
        }
        s.clients[me].blocked = Some(Blocked { keys, deadline_ms, stream_ids: Vec::new() });
        s.blocked_clients += 1;
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
    s.count_error(err);
}

/// Why a request was refused before running, if it was.
pub(crate) fn precheck(s: &State, client: &Client, spec: &'static CommandSpec, argv: &Argv<'_>) -> Option<CmdError> {
    if !spec.arity_ok(argv.len()) {
        return Some(CmdError::arity(spec.name));
    }
    if !client.authenticated && !spec.has(NO_AUTH) {
        return Some(CmdError::NOAUTH);
    }
    if spec.has(DENYOOM)
        && !s.in_script
        && !s.aof.loading
        && s.over_maxmemory()
        && s.config.maxmemory_policy == "noeviction"
    {
        return Some(CmdError::OOM);
    }
    if s.aof.mode != aof::AofMode::Off && (spec.has(WRITE) || spec.name == "ping") && !s.in_script {
        if let Some(err) = aof::write_error(s) {
            return Some(err);
        }
    }
    None
}

/// Is the client held back by CLIENT PAUSE for this command? Scripts count by their declared flags
/// (a `no-writes` script or function is a read), as Redis's evalGetCommandFlags.
pub fn paused_for(s: &State, spec: &'static CommandSpec, argv: &Argv<'_>, now: i64) -> bool {
    match s.pause {
        Some(p) if p.until_ms > now => {
            let flags =
                if spec.categories & SCRIPTING != 0 { scripting::effective_flags(s, spec, argv) } else { spec.flags };
            p.all || flags & (WRITE | MAY_REPLICATE) != 0
        }
        _ => false,
    }
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
    let Some(spec) = spec else {
        if let Some(c) = s.clients.get_mut(me) {
            if c.multi.is_some() {
                c.multi_error = true;
            }
        }
        let name = argv.get(0);
        let rest: Vec<&[u8]> = argv.iter().skip(1).collect();
        reply_error(s, out, &CmdError::unknown_command(name, &rest));
        return;
    };
    let client = &s.clients[me];
    // A container command whose subcommand was not found: Redis's "unknown subcommand" error.
    if !spec.subcommands.is_empty() {
        let err = if argv.len() >= 2 {
            CmdError::unknown_subcommand(spec.name, argv.get(1))
        } else {
            CmdError::arity(spec.name)
        };
        reply_error(s, out, &err);
        return;
    }
    if client.multi.is_some() && !multi::runs_in_multi(spec) {
        multi::queue(s, me, out, argv, spec);
        return;
    }
    if let Some(err) = precheck(s, client, spec, &argv) {
        let rejected = err != CmdError::NOAUTH;
        if rejected {
            s.cmd_stats[spec.id].rejected += 1;
        }
        reply_error(s, out, &err);
        return;
    }
    let db = client.db;
    let dirty_before = s.dirty;
    let was_blocked = client.blocked.is_some();
    s.clients[me].last_cmd = spec.name;
    s.block_called = false;
    let start = Instant::now();
    let mark = out.buf.len();
    let res: CmdResult = {
        let mut cx = Ctx { argv, out, s, me, db, spec };
        (spec.handler)(&mut cx)
    };
    if was_blocked && !s.block_called {
        s.unblock(me);
    }
    if s.expire_logging {
        s.drain_expired();
    }
    if s.feed.enabled {
        propagate_effects(s, db, &argv, dirty_before);
    }
    let us = start.elapsed().as_micros() as u64;
    let st = &mut s.cmd_stats[spec.id];
    // A command that blocked is counted once, when it is finally served (as Redis's call() does).
    if !s.block_called {
        st.calls += 1;
    }
    st.usec += us;
    s.stats.commands_processed += 1;
    if let Err(err) = res {
        out.buf.truncate(mark);
        s.cmd_stats[spec.id].failed += 1;
        reply_error(s, out, &err);
    }
}

/// Hand the command's effects to the feed (after its expired keys, `State::drain_expired`).
fn propagate_effects(s: &mut State, db: usize, argv: &Argv<'_>, dirty_before: u64) {
    match s.prop_override.take() {
        Some(cmds) => {
            for c in cmds {
                let args: Vec<&[u8]> = c.iter().map(|a| a.as_slice()).collect();
                s.feed.command(db, &args);
            }
        }
        None if s.dirty > dirty_before => {
            let args = argv.to_vec();
            s.feed.command(db, &args);
        }
        None => {}
    }
}

/// Start or stop the feed, as consumers come and go.
pub fn set_feed_enabled(s: &mut State, on: bool) {
    s.feed.enabled = on;
    s.feed.db = None;
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
    client.qbuf = batch.input.len();
    let mut out = Out::with_buf(std::mem::take(&mut batch.out), client.resp);
    if let Some(b) = &client.blocked {
        // A blocked request ends by CLIENT UNBLOCK or by its deadline: answer it and go on with the batch.
        let unblock = client.unblock_pending.take();
        if unblock.is_some() || (b.deadline_ms != 0 && b.deadline_ms <= now) {
            // The blocked command ends here: this is its one counted call (Redis's updateStatsOnUnblock).
            if let Some(spec) = batch.reqs.get(batch.done).and_then(|r| r.spec) {
                let st = &mut s.cmd_stats[spec.id];
                st.calls += 1;
                if unblock == Some(true) {
                    st.failed += 1;
                }
            }
            if unblock == Some(true) {
                reply_error(s, &mut out, &CmdError::new("UNBLOCKED client unblocked via CLIENT UNBLOCK"));
            } else {
                out.nil_array();
            }
            s.unblock(me);
            batch.done += 1;
        }
    }
    s.stats.net_input_bytes += batch.read_bytes;
    batch.read_bytes = 0;
    s.stats.reads_processed += 1;
    while batch.done < batch.reqs.len() {
        let req = batch.reqs[batch.done];
        if let Some(spec) = req.spec {
            if s.pause.is_some() && paused_for(s, spec, &batch.argv(&req), clock::now_ms()) {
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
        exec_request(s, me, &mut out, argv, req.spec);
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
            ReplyMode::Off => out.buf.truncate(mark),
            ReplyMode::SkipThis => {
                out.buf.truncate(mark);
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
        if s.aof.load_pending {
            // DEBUG LOADAOF: the Keyspace reloads the files, writes its reply, then runs the rest.
            break;
        }
    }
    s.stats.net_output_bytes += out.buf.len() as u64;
    batch.out = out.buf;
}

/// Run one command given as plain arguments (unit tests and in-process helpers). The client must exist.
pub fn run_args(s: &mut State, me: usize, args: &[&[u8]]) -> Vec<u8> {
    let (input, refs) = pack_args(args);
    let argv = Argv::new(&input, &[], &refs);
    let spec = table().resolve(&argv);
    let resp = s.clients[me].resp;
    let mut out = Out::new(resp);
    clock::refresh();
    exec_request(s, me, &mut out, argv, spec);
    out.buf
}
