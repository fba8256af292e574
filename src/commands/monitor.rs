//! MONITOR: every command the server runs, as one line to each monitoring client (commands layer, applied by
//! the Keyspace actor; the lines go out through the pub/sub outbox after the batch, like other pushes).
//!
//! As Redis 7.0's call(): a command is shown after it ran (a refused one is not), with the database it left
//! selected, its client's address (`lua` for a script's calls, `unix:<path>` for a unix socket), and every
//! argument quoted as sdscatrepr quotes it; passwords are `(redacted)` (the SLOWLOG's positions);
//! administrative commands and those flagged skip_monitor (EVAL, EXEC's queue as queued) are not shown.
//! MULTI shows when sent, the queued commands when EXEC runs them, then EXEC.

use super::spec::*;
use super::{Argv, Ctx, State};
use crate::error::CmdError;
use crate::types::clock;
use bytes::Bytes;

/// MONITOR: this client receives the line of every command from now on (RESET or QUIT ends it).
fn monitor(cx: &mut Ctx<'_>) -> CmdResult {
    // Redis's CLIENT_DENY_BLOCKING: a client in EXEC expects one reply per command.
    if cx.s.exec.in_exec {
        return Err(CmdError::new("ERR MONITOR isn't allowed for DENY BLOCKING client"));
    }
    if cx.client().replica || cx.client().monitor {
        return Ok(());
    }
    cx.client().monitor = true;
    let me = cx.me;
    cx.s.obs.monitors.push(me);
    cx.out.ok();
    Ok(())
}

/// A client leaves MONITOR mode (RESET, disconnect).
pub fn stop(s: &mut State, slot: usize) {
    if let Some(c) = s.clients.get_mut(slot) {
        if !c.monitor {
            return;
        }
        c.monitor = false;
    }
    s.obs.monitors.retain(|&m| m != slot);
}

/// Show the command client `me` just ran (or had aborted: EXEC) to the monitors, unless it is not shown.
#[inline]
pub fn feed(s: &mut State, me: usize, spec: &CommandSpec, argv: &Argv<'_>) {
    if s.obs.monitors.is_empty() || spec.flags & (SKIP_MONITOR | ADMIN) != 0 || s.persist.aof.loading {
        return;
    }
    feed_line(s, me, spec, argv);
}

/// EVAL, EVALSHA and FCALL (and their _RO forms) show before they run, so that their script's calls come
/// after them (Redis feeds them from the command itself; they are skip_monitor for call()).
#[inline]
pub fn feed_script_call(s: &mut State, me: usize, spec: &CommandSpec, argv: &Argv<'_>) {
    if s.obs.monitors.is_empty() || s.persist.aof.loading {
        return;
    }
    if matches!(spec.name, "eval" | "evalsha" | "eval_ro" | "evalsha_ro" | "fcall" | "fcall_ro") {
        feed_line(s, me, spec, argv);
    }
}

fn feed_line(s: &mut State, me: usize, spec: &CommandSpec, argv: &Argv<'_>) {
    let Some(c) = s.clients.get(me) else { return };
    let now = clock::system_us();
    let mut line = format!("+{}.{:06} ", now / 1_000_000, now % 1_000_000);
    if s.exec.in_script {
        line.push_str(&format!("[{} lua] ", c.db));
    } else if c.unix_socket {
        line.push_str(&format!("[{} unix:{}] ", c.db, s.config.unixsocket));
    } else {
        line.push_str(&format!("[{} {}] ", c.db, c.addr));
    }
    let args: Vec<&[u8]> = argv.iter().collect();
    let redacted = super::slowlog::redacted_positions(spec.name, &args);
    let mut out = line.into_bytes();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        if redacted.contains(&i) {
            out.extend_from_slice(b"\"(redacted)\"");
        } else {
            crate::config::repr_into(&mut out, a);
        }
    }
    out.extend_from_slice(b"\r\n");
    let frame = Bytes::from(out);
    for &m in &s.obs.monitors {
        s.pubsub.outbox.queue(m, &frame);
    }
}

#[rustfmt::skip]
pub const SPECS: &[CommandSpec] = &family("server", [
    cmd("monitor", 1, ADMIN | NOSCRIPT | LOADING | STALE, monitor).doc("1.0.0", "", "Listen for all requests received by the server in real time"),
]);
