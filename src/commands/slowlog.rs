//! SLOWLOG GET/LEN/RESET/HELP and the slow log they read (commands layer, applied by the Keyspace actor):
//! `exec_request` hands every command that ran at least `slowlog-log-slower-than` microseconds to
//! `note_command`, which keeps Redis 7.0's entry (id, time, duration, trimmed and redacted arguments, client
//! address and name) in `State::obs.slowlog`.

use super::connection::help;
use super::spec::*;
use super::{Argv, Ctx, State};
use crate::error::CmdError;
use crate::types::clock;
use std::collections::VecDeque;

/// SLOWLOG, as Redis 7.0's command table declares it.
#[rustfmt::skip]
pub const SPECS: &[CommandSpec] = &family("server", [
    cmd("slowlog", -2, 0, container).subs(SLOWLOG_SUBS).doc("2.2.12", "Depends on subcommand.", "A container for slow log commands"),
]);

const ADM: u32 = ADMIN | LOADING | STALE;

#[rustfmt::skip]
const SLOWLOG_SUBS: &[CommandSpec] = &family("server", [
    cmd("slowlog|get", -2, ADM, slowlog_get).doc("2.2.12", "O(N) where N is the number of entries returned", "Get the slow log's entries"),
    cmd("slowlog|len", 2, ADM, slowlog_len).doc("2.2.12", "O(1)", "Get the slow log's length"),
    cmd("slowlog|reset", 2, ADM, slowlog_reset).doc("2.2.12", "O(N) where N is the number of entries in the slowlog", "Clear all entries from the slow log"),
    cmd("slowlog|help", 2, LOADING | STALE, slowlog_help).doc("6.2.0", "O(1)", "Show helpful text about the different subcommands"),
]);

/// Arguments an entry keeps at most (Redis's SLOWLOG_ENTRY_MAX_ARGC): the last one kept says how many
/// more there were.
const MAX_ARGC: usize = 32;
/// Bytes an argument keeps at most (SLOWLOG_ENTRY_MAX_STRING).
const MAX_STRING: usize = 128;
/// What a password or other secret argument is logged as.
const REDACTED: &[u8] = b"(redacted)";

/// One logged command.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Unique, increasing from 0 since the server started (not reset by SLOWLOG RESET).
    pub id: u64,
    /// Unix time (s) the command was logged.
    pub time: i64,
    /// How long the command ran, µs.
    pub duration_us: u64,
    /// The arguments, trimmed and redacted.
    pub argv: Vec<Vec<u8>>,
    /// The client's "ip:port" ("?:0" for a script's commands, as Redis's script client).
    pub peer: String,
    /// The client's name (empty when it has none).
    pub name: Vec<u8>,
}

/// The slow log: newest entry first, at most `slowlog-max-len` of them.
#[derive(Debug, Default)]
pub struct SlowLog {
    entries: VecDeque<Entry>,
    next_id: u64,
}

impl SlowLog {
    /// Entries, newest first.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter()
    }

    /// How many entries are kept.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// No entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// SLOWLOG RESET: drop every entry (ids go on from where they were).
    pub fn reset(&mut self) {
        self.entries.clear();
    }

    /// Log `argv` (already known to be slow enough), then trim to `max_len` entries, as
    /// slowlogPushEntryIfNeeded.
    fn push(&mut self, argv: &[&[u8]], redact: &[usize], duration_us: u64, peer: String, name: Vec<u8>, max_len: u64) {
        let entry = Entry {
            id: self.next_id,
            time: clock::system_ms() / 1000,
            duration_us,
            argv: trimmed_args(argv, redact),
            peer,
            name,
        };
        self.next_id += 1;
        self.entries.push_front(entry);
        self.entries.truncate(usize::try_from(max_len).unwrap_or(usize::MAX));
    }
}

/// The arguments as an entry keeps them: the redacted positions replaced, at most `MAX_ARGC` of them with
/// the last saying how many more there were, each at most `MAX_STRING` bytes with a note of the rest.
fn trimmed_args(argv: &[&[u8]], redact: &[usize]) -> Vec<Vec<u8>> {
    let keep = argv.len().min(MAX_ARGC);
    let mut out = Vec::with_capacity(keep);
    for (j, a) in argv.iter().take(keep).enumerate() {
        if keep != argv.len() && j == keep - 1 {
            out.push(format!("... ({} more arguments)", argv.len() - keep + 1).into_bytes());
        } else if redact.contains(&j) {
            out.push(REDACTED.to_vec());
        } else if a.len() > MAX_STRING {
            let mut s = a[..MAX_STRING].to_vec();
            s.extend_from_slice(format!("... ({} more bytes)", a.len() - MAX_STRING).as_bytes());
            out.push(s);
        } else {
            out.push(a.to_vec());
        }
    }
    out
}

/// The positions of `argv` that carry secrets and are logged as "(redacted)": the ones Redis 7.0's
/// AUTH, HELLO, ACL SETUSER, CONFIG SET (masteruser, masterauth, requirepass) and MIGRATE redact before
/// running, found by the same parsing they do (a command that stops at a bad argument redacts what it
/// reached).
pub fn redacted_positions(name: &str, argv: &[&[u8]]) -> Vec<usize> {
    let argc = argv.len();
    let is = |i: usize, w: &str| argv.get(i).is_some_and(|a| a.eq_ignore_ascii_case(w.as_bytes()));
    match name {
        // AUTH with more than two arguments is a syntax error before anything is redacted.
        "auth" if argc <= 3 => (1..argc).collect(),
        "hello" if argc >= 2 => {
            let ver = crate::types::num::parse_i64(argv[1]);
            if !matches!(ver, Some(2 | 3)) {
                return Vec::new();
            }
            let mut v = Vec::new();
            let mut j = 2;
            while j < argc {
                let more = argc - 1 - j;
                if is(j, "auth") && more >= 2 {
                    v.extend([j + 1, j + 2]);
                    j += 2;
                } else if is(j, "setname") && more >= 1 {
                    j += 1;
                } else {
                    break;
                }
                j += 1;
            }
            v
        }
        "acl|setuser" if argc >= 3 => (2..argc).collect(),
        "config|set" if argc.is_multiple_of(2) => (2..argc)
            .step_by(2)
            .filter(|&i| {
                ["masteruser", "masterauth", "requirepass"].iter().any(|n| argv[i].eq_ignore_ascii_case(n.as_bytes()))
            })
            .map(|i| i + 1)
            .collect(),
        "migrate" => {
            let mut v = Vec::new();
            let mut j = 6;
            while j < argc {
                let more = argc - 1 - j;
                if is(j, "copy") || is(j, "replace") {
                } else if is(j, "auth") && more >= 1 {
                    j += 1;
                    v.push(j);
                } else if is(j, "auth2") && more >= 2 {
                    v.extend([j + 1, j + 2]);
                    j += 2;
                } else {
                    // KEYS ends the options; anything else is a syntax error.
                    break;
                }
                j += 1;
            }
            v
        }
        _ => Vec::new(),
    }
}

/// A command of client `me` ran for `us` µs, at least the smaller of the slow log's and the latency
/// monitor's thresholds (`exec_request` checks that much inline): feed whichever of the two it reaches, as
/// Redis's call() does. Not a command replayed from the AOF; a command that blocked is logged when it is
/// served (its later run); EXEC (skip_slowlog) is not logged, the commands it ran are.
#[cold]
pub fn note_command(s: &mut State, me: usize, spec: &'static CommandSpec, argv: &Argv<'_>, us: u64) {
    if s.persist.aof.loading {
        return;
    }
    let event = if spec.has(FAST) { "fast-command" } else { "command" };
    s.obs.latency.add_sample_if_needed(event, us / 1000);
    if us < s.obs.slow_us || s.exec.block_called || spec.has(SKIP_SLOWLOG) {
        return;
    }
    let args = argv.to_vec();
    let redact = redacted_positions(spec.name, &args);
    // A script's commands run as Redis's script client: no address, no name.
    let (peer, name) = match s.clients.get(me) {
        Some(c) if !s.exec.in_script => (c.addr.clone(), c.name.clone().unwrap_or_default()),
        _ => ("?:0".to_string(), Vec::new()),
    };
    let max_len = s.config.slowlog_max_len;
    s.obs.slowlog.push(&args, &redact, us, peer, name, max_len);
}

/// `slowlog-log-slower-than` as the threshold `exec_request` compares µs with (negative: never).
pub fn threshold_us(slower_than: i64) -> u64 {
    u64::try_from(slower_than).unwrap_or(u64::MAX)
}

fn slowlog_get(cx: &mut Ctx<'_>) -> CmdResult {
    const COUNT_ERR: CmdError = CmdError::new("ERR count should be greater than or equal to -1");
    let len = cx.s.obs.slowlog.len();
    let count = match cx.argc() {
        2 => 10,
        3 => match crate::types::num::parse_i64(cx.arg(2)) {
            Some(-1) => len,
            Some(n) if n >= 0 => usize::try_from(n).unwrap_or(usize::MAX),
            _ => return Err(COUNT_ERR),
        },
        _ => return Err(cx.subcommand_syntax()),
    };
    let n = count.min(len);
    cx.out.array(n);
    for e in cx.s.obs.slowlog.entries.iter().take(n) {
        cx.out.array(6);
        cx.out.int(e.id as i64);
        cx.out.int(e.time);
        cx.out.int(e.duration_us as i64);
        cx.out.array(e.argv.len());
        for a in &e.argv {
            cx.out.bulk(a);
        }
        cx.out.bulk(e.peer.as_bytes());
        cx.out.bulk(&e.name);
    }
    Ok(())
}

fn slowlog_len(cx: &mut Ctx<'_>) -> CmdResult {
    cx.out.int(cx.s.obs.slowlog.len() as i64);
    Ok(())
}

fn slowlog_reset(cx: &mut Ctx<'_>) -> CmdResult {
    cx.s.obs.slowlog.reset();
    cx.out.ok();
    Ok(())
}

fn slowlog_help(cx: &mut Ctx<'_>) -> CmdResult {
    help(
        cx,
        "SLOWLOG",
        &[
            "GET [<count>]",
            "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
            "    Entries are made of:",
            "    id, timestamp, time in microseconds, arguments array, client IP and port,",
            "    client name",
            "LEN",
            "    Return the length of the slowlog.",
            "RESET",
            "    Reset the slowlog.",
        ],
    )
}

#[cfg(test)]
#[path = "slowlog_tests.rs"]
mod tests;
