//! Connection commands: PING, ECHO, QUIT, SELECT, AUTH, HELLO, RESET and CLIENT (commands layer, applied by
//! the Keyspace actor to the calling client's record).

use super::spec::*;
use super::{Client, Ctx, Pause, ReplyMode, State};
use crate::error::CmdError;
use crate::types::clock;

const AUTH_NO_PASSWORD: CmdError = CmdError::new(
    "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
);
const WRONGPASS: CmdError = CmdError::new("WRONGPASS invalid username-password pair or user is disabled.");

/// PING [message]
fn ping(cx: &mut Ctx<'_>) -> CmdResult {
    if cx.argc() > 2 {
        return Err(CmdError::arity("ping"));
    }
    // A subscribed RESP2 client reads pushes, so its PONG is one too: `pong` and the message (Redis).
    if cx.s.clients[cx.me].subscribed() && cx.out.resp == 2 {
        cx.out.array(2);
        cx.out.bulk(b"pong");
        cx.out.bulk(if cx.argc() == 2 { cx.arg(1) } else { b"" });
    } else if cx.argc() == 2 {
        cx.out.bulk(cx.arg(1));
    } else {
        cx.out.simple("PONG");
    }
    Ok(())
}

/// ECHO message
fn echo(cx: &mut Ctx<'_>) -> CmdResult {
    cx.out.bulk(cx.arg(1));
    Ok(())
}

/// QUIT: reply OK, then the connection closes.
fn quit(cx: &mut Ctx<'_>) -> CmdResult {
    cx.out.ok();
    cx.client().close_after_reply = true;
    Ok(())
}

/// SELECT index
fn select(cx: &mut Ctx<'_>) -> CmdResult {
    let idx = cx.int_arg(1)?;
    if idx < 0 || idx as usize >= cx.s.dbs.len() {
        return Err(CmdError::DB_INDEX);
    }
    cx.client().db = idx as usize;
    cx.out.ok();
    Ok(())
}

/// Authenticate as `user` (the default user when None) with `pass`; a failure is in the ACL log.
fn check_auth(cx: &mut Ctx<'_>, user: Option<&[u8]>, pass: &[u8]) -> CmdResult {
    let object = cx.arg(0);
    if super::acl::authenticate(cx.s, cx.me, user.unwrap_or(b"default"), pass, object) {
        Ok(())
    } else {
        Err(WRONGPASS)
    }
}

/// AUTH [username] password
fn auth(cx: &mut Ctx<'_>) -> CmdResult {
    match cx.argc() {
        2 => {
            if cx.s.acl.default_user().nopass {
                return Err(AUTH_NO_PASSWORD);
            }
            check_auth(cx, None, cx.arg(1))?;
        }
        3 => check_auth(cx, Some(cx.arg(1)), cx.arg(2))?,
        _ => return Err(CmdError::SYNTAX),
    }
    cx.out.ok();
    Ok(())
}

/// HELLO [protover [AUTH username password] [SETNAME clientname]]
fn hello(cx: &mut Ctx<'_>) -> CmdResult {
    let mut ver = None;
    let mut i = 1;
    if cx.argc() >= 2 {
        let v = crate::types::num::parse_i64(cx.arg(1))
            .ok_or(CmdError::new("ERR Protocol version is not an integer or out of range"))?;
        if !(2..=3).contains(&v) {
            return Err(CmdError::new("NOPROTO unsupported protocol version"));
        }
        ver = Some(v as u8);
        i = 2;
    }
    let mut name = None;
    let mut creds = None;
    while i < cx.argc() {
        let more = cx.argc() - i - 1;
        if cx.argv.is(i, "auth") && more >= 2 {
            creds = Some((cx.arg(i + 1), cx.arg(i + 2)));
            i += 3;
        } else if cx.argv.is(i, "setname") && more >= 1 {
            name = Some(cx.arg(i + 1));
            i += 2;
        } else {
            return Err(CmdError::msg(format!(
                "ERR Syntax error in HELLO option '{}'",
                crate::error::sanitize(cx.arg(i), 128)
            )));
        }
    }
    if let Some((u, p)) = creds {
        check_auth(cx, Some(u), p)?;
    }
    if !cx.client().authenticated && cx.s.acl.auth_required() {
        return Err(CmdError::new(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time",
        ));
    }
    if let Some(n) = name {
        validate_name(n)?;
        cx.client().name = if n.is_empty() { None } else { Some(n.to_vec()) };
    }
    if let Some(v) = ver {
        cx.client().resp = v;
        cx.out.resp = v;
    }
    let id = cx.client().id as i64;
    let proto = cx.client().resp as i64;
    let out = &mut *cx.out;
    out.map(7);
    out.bulk(b"server");
    out.bulk(b"redis");
    out.bulk(b"version");
    out.bulk(crate::REDIS_VERSION.as_bytes());
    out.bulk(b"proto");
    out.int(proto);
    out.bulk(b"id");
    out.int(id);
    out.bulk(b"mode");
    out.bulk(b"standalone");
    out.bulk(b"role");
    out.bulk(b"master");
    out.bulk(b"modules");
    out.array(0);
    Ok(())
}

/// RESET: back to a fresh connection's state.
fn reset(cx: &mut Ctx<'_>) -> CmdResult {
    let authenticated = cx.s.acl.starts_authenticated();
    let default = cx.s.acl.default_user();
    super::multi::unwatch_all(cx.s, cx.me);
    super::pubsub::reset_client(cx.s, cx.me);
    super::tracking::disable(cx.s, cx.me);
    super::monitor::stop(cx.s, cx.me);
    cx.client().multi = None;
    cx.client().multi_error = false;
    let c = cx.client();
    c.db = 0;
    c.resp = 2;
    c.name = None;
    c.reply_mode = ReplyMode::On;
    c.no_evict = false;
    c.authenticated = authenticated;
    c.user = default;
    cx.out.resp = 2;
    cx.out.simple("RESET");
    Ok(())
}

fn validate_name(n: &[u8]) -> CmdResult {
    if n.iter().any(|&c| !(b'!'..=b'~').contains(&c)) {
        return Err(CmdError::new("ERR Client names cannot contain spaces, newlines or special characters."));
    }
    Ok(())
}

/// One CLIENT LIST / CLIENT INFO line (Redis 7.0's field set and order).
pub fn client_line(c: &Client, now: i64) -> String {
    client_line_argv(c, now, 0)
}

/// The line of a client running a command whose arguments take `argv` bytes (argv-mem).
fn client_line_argv(c: &Client, now: i64, argv: usize) -> String {
    // Redis's flag letters, in its order.
    let mut flags = String::new();
    if c.replica {
        flags.push('S');
    }
    if c.master {
        flags.push('M');
    }
    if c.monitor {
        flags.push('O');
    }
    if c.subscribed() {
        flags.push('P');
    }
    if c.multi.is_some() {
        flags.push('x');
    }
    if c.blocked.is_some() {
        flags.push('b');
    }
    if let Some(t) = &c.tracking {
        flags.push('t');
        if t.broken_redirect {
            flags.push('R');
        }
        if t.bcast {
            flags.push('B');
        }
    }
    if c.dirty_cas {
        flags.push('d');
    }
    if c.close_after_reply {
        flags.push('c');
    }
    if c.unix_socket {
        flags.push('U');
    }
    if c.no_evict {
        flags.push('e');
    }
    if flags.is_empty() {
        flags.push('N');
    }
    let name = c.name.as_deref().map(String::from_utf8_lossy).unwrap_or_default();
    let (sub, psub, ssub) = c.subs.as_ref().map_or((0, 0, 0), |s| (s.channels.len(), s.patterns.len(), s.shard.len()));
    let multi = c.multi.as_ref().map_or(-1, |q| q.len() as i64);
    let u = super::client_mem::usage(c, argv, 0);
    // A socket client's reply buffer (client_mem.rs); in-process clients reply into the caller's buffer.
    let (rbs, rbp) = c.conn_mem.as_ref().map_or((1024, 0), |m| {
        use std::sync::atomic::Ordering::Relaxed;
        (m.rbs.load(Relaxed), m.rbp.load(Relaxed))
    });
    let redir = c.tracking.as_ref().map_or(-1, |t| t.redirect as i64);
    format!(
        "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={sub} psub={psub} ssub={ssub} multi={multi} qbuf={} qbuf-free={} argv-mem={} multi-mem={} rbs={rbs} rbp={rbp} obl={} oll={} omem={} tot-mem={} events=r cmd={} user={} redir={redir} resp={}\n",
        c.id,
        c.addr,
        c.laddr,
        c.fd,
        name,
        (now - c.created_ms).max(0) / 1000,
        (now - c.last_interaction_ms).max(0) / 1000,
        flags,
        c.db,
        u.qbuf,
        u.qbuf_free,
        u.argv,
        u.multi,
        u.obl,
        u.oll,
        u.omem,
        u.total,
        c.last_cmd,
        String::from_utf8_lossy(&c.user.name),
        c.resp
    )
}

/// The client's type for CLIENT LIST / KILL TYPE (Redis's getClientType; "slave" and "replica" are one).
fn client_type(c: &Client) -> &'static str {
    if c.master {
        "master"
    } else if c.replica {
        "replica"
    } else if c.subscribed() {
        "pubsub"
    } else {
        "normal"
    }
}

fn client_id(cx: &mut Ctx<'_>) -> CmdResult {
    let id = cx.client().id as i64;
    cx.out.int(id);
    Ok(())
}

fn client_setname(cx: &mut Ctx<'_>) -> CmdResult {
    let n = cx.arg(2);
    validate_name(n)?;
    cx.client().name = if n.is_empty() { None } else { Some(n.to_vec()) };
    cx.out.ok();
    Ok(())
}

fn client_getname(cx: &mut Ctx<'_>) -> CmdResult {
    match cx.s.clients[cx.me].name.clone() {
        Some(n) => cx.out.bulk(&n),
        None => cx.out.nil(),
    }
    Ok(())
}

fn client_list(cx: &mut Ctx<'_>) -> CmdResult {
    let now = clock::now_ms();
    let mut ids: Option<Vec<u64>> = None;
    let mut kind: Option<String> = None;
    let mut i = 2;
    while i < cx.argc() {
        if cx.argv.is(i, "type") && i + 1 < cx.argc() {
            let t = String::from_utf8_lossy(cx.arg(i + 1)).to_ascii_lowercase();
            if !matches!(t.as_str(), "normal" | "master" | "replica" | "slave" | "pubsub") {
                return Err(CmdError::msg(format!("ERR Unknown client type '{t}'")));
            }
            kind = Some(if t == "slave" { "replica".into() } else { t });
            i += 2;
        } else if cx.argv.is(i, "id") && i + 1 < cx.argc() {
            let mut v = Vec::new();
            for j in i + 1..cx.argc() {
                match crate::types::num::parse_i64(cx.arg(j)) {
                    Some(n) if n > 0 => v.push(n as u64),
                    _ => return Err(CmdError::new("ERR Invalid client ID")),
                }
            }
            ids = Some(v);
            i = cx.argc();
        } else {
            return Err(CmdError::SYNTAX);
        }
    }
    let mut text = String::new();
    let argv = argv_mem(cx);
    for (slot, c) in cx.s.clients.iter() {
        if c.local && !c.master {
            continue;
        }
        if let Some(ids) = &ids {
            if !ids.contains(&c.id) {
                continue;
            }
        }
        if kind.as_ref().is_some_and(|k| k != client_type(c)) {
            continue;
        }
        text.push_str(&client_line_argv(c, now, if slot == cx.me { argv } else { 0 }));
    }
    cx.out.verbatim("txt", text.as_bytes());
    Ok(())
}

/// argv-mem of the running command (Redis's argv_len_sum: its arguments' bytes).
fn argv_mem(cx: &Ctx<'_>) -> usize {
    cx.argv.iter().map(<[u8]>::len).sum()
}

fn client_info(cx: &mut Ctx<'_>) -> CmdResult {
    let line = client_line_argv(&cx.s.clients[cx.me], clock::now_ms(), argv_mem(cx));
    cx.out.verbatim("txt", line.as_bytes());
    Ok(())
}

/// CLIENT KILL addr:port | CLIENT KILL [ID id] [TYPE t] [ADDR a] [LADDR a] [SKIPME yes/no] [USER u] [MAXAGE s]
fn client_kill(cx: &mut Ctx<'_>) -> CmdResult {
    let now = clock::now_ms();
    let argc = cx.argc();
    let old_style = argc == 3;
    let mut id = None;
    let mut addr: Option<Vec<u8>> = None;
    let mut laddr: Option<Vec<u8>> = None;
    let mut kind: Option<String> = None;
    let mut user: Option<Vec<u8>> = None;
    let mut maxage: Option<i64> = None;
    let mut skipme = true;
    if old_style {
        addr = Some(cx.arg(2).to_vec());
        skipme = false;
    } else {
        if !argc.is_multiple_of(2) {
            return Err(CmdError::SYNTAX);
        }
        let mut i = 2;
        while i + 1 < argc {
            let v = cx.arg(i + 1);
            if cx.argv.is(i, "id") {
                match crate::types::num::parse_i64(v) {
                    Some(n) if n > 0 => id = Some(n as u64),
                    _ => return Err(CmdError::new("ERR client-id should be greater than 0")),
                }
            } else if cx.argv.is(i, "type") {
                let t = String::from_utf8_lossy(v).to_ascii_lowercase();
                if !matches!(t.as_str(), "normal" | "master" | "replica" | "slave" | "pubsub") {
                    return Err(CmdError::msg(format!("ERR Unknown client type '{t}'")));
                }
                kind = Some(if t == "slave" { "replica".into() } else { t });
            } else if cx.argv.is(i, "addr") {
                addr = Some(v.to_vec());
            } else if cx.argv.is(i, "laddr") {
                laddr = Some(v.to_vec());
            } else if cx.argv.is(i, "user") {
                if cx.s.acl.user(v).is_none() {
                    return Err(CmdError::msg(format!("ERR No such user '{}'", crate::error::sanitize(v, usize::MAX))));
                }
                user = Some(v.to_vec());
            } else if cx.argv.is(i, "maxage") {
                maxage = Some(crate::types::num::parse_i64(v).ok_or(CmdError::NOT_INT)?);
            } else if cx.argv.is(i, "skipme") {
                if v.eq_ignore_ascii_case(b"yes") {
                    skipme = true;
                } else if v.eq_ignore_ascii_case(b"no") {
                    skipme = false;
                } else {
                    return Err(CmdError::SYNTAX);
                }
            } else {
                return Err(CmdError::SYNTAX);
            }
            i += 2;
        }
    }
    let me = cx.me;
    let mut killed = 0;
    let mut victims = Vec::new();
    for (slot, c) in cx.s.clients.iter() {
        if c.local && !c.master {
            continue;
        }
        if skipme && slot == me {
            continue;
        }
        if id.is_some_and(|i| i != c.id)
            || addr.as_ref().is_some_and(|a| a != c.addr.as_bytes())
            || laddr.as_ref().is_some_and(|a| a != c.laddr.as_bytes())
            || kind.as_ref().is_some_and(|k| k != client_type(c))
            || user.as_ref().is_some_and(|u| *u != c.user.name)
            || maxage.is_some_and(|m| (now - c.created_ms) / 1000 < m)
        {
            continue;
        }
        victims.push(slot);
        killed += 1;
    }
    for slot in victims {
        if slot == me {
            // Killing ourselves: reply first, then close (Redis's CLIENT_CLOSE_AFTER_REPLY).
            cx.s.clients[slot].close_after_reply = true;
        } else {
            cx.s.clients[slot].killed = true;
            cx.s.clients.kill_list.push(slot);
        }
    }
    if old_style {
        if killed == 0 {
            return Err(CmdError::new("ERR No such client"));
        }
        cx.out.ok();
    } else {
        cx.out.int(killed);
    }
    Ok(())
}

fn client_reply(cx: &mut Ctx<'_>) -> CmdResult {
    let mode = if cx.argv.is(2, "on") {
        ReplyMode::On
    } else if cx.argv.is(2, "off") {
        ReplyMode::Off
    } else if cx.argv.is(2, "skip") {
        ReplyMode::Skip
    } else {
        return Err(CmdError::SYNTAX);
    };
    let c = cx.client();
    let was = c.reply_mode;
    c.reply_mode = mode;
    if mode == ReplyMode::On {
        cx.out.ok();
    } else if mode == ReplyMode::Skip && was == ReplyMode::SkipThis {
        // CLIENT REPLY SKIP itself is the command being skipped: skip the next one instead.
        cx.client().reply_mode = ReplyMode::Skip;
    }
    Ok(())
}

fn client_no_evict(cx: &mut Ctx<'_>) -> CmdResult {
    let on = if cx.argv.is(2, "on") {
        true
    } else if cx.argv.is(2, "off") {
        false
    } else {
        return Err(CmdError::SYNTAX);
    };
    cx.client().no_evict = on;
    cx.out.ok();
    Ok(())
}

fn client_pause(cx: &mut Ctx<'_>) -> CmdResult {
    // Redis's order: the argument count, the mode, then the timeout.
    let all = match cx.argc() {
        3 => true,
        4 if cx.argv.is(3, "write") => false,
        4 if cx.argv.is(3, "all") => true,
        4 => return Err(CmdError::new("ERR CLIENT PAUSE mode must be WRITE or ALL")),
        _ => return Err(cx.subcommand_syntax()),
    };
    let ms = crate::types::num::parse_i64(cx.arg(2))
        .ok_or(CmdError::new("ERR timeout is not an integer or out of range"))?;
    if ms < 0 {
        return Err(CmdError::new("ERR timeout is negative"));
    }
    let until = clock::now_ms().saturating_add(ms);
    // A new pause never shortens or weakens one in force (Redis's pauseClients).
    let p = match cx.s.server.client_pause {
        Some(old) if old.until_ms > clock::now_ms() => Pause { until_ms: old.until_ms.max(until), all: old.all || all },
        _ => Pause { until_ms: until, all },
    };
    cx.s.server.client_pause = Some(p);
    refresh_pause(cx.s);
    cx.out.ok();
    Ok(())
}

/// CLIENT UNPAUSE ends CLIENT PAUSE's pause only: a failover's goes on (Redis's pause purposes).
fn client_unpause(cx: &mut Ctx<'_>) -> CmdResult {
    cx.s.server.client_pause = None;
    refresh_pause(cx.s);
    cx.out.ok();
    Ok(())
}

/// The pause in force (`ServerState::pause`): CLIENT PAUSE's while it lasts, combined with a failover's or
/// a shutdown's waiting for replicas, which pause writes until they end (the most restrictive type wins,
/// then the furthest end, as Redis's updateClientPauseTypeAndEndTime). Call whenever one changes.
pub fn refresh_pause(s: &mut State) {
    let now = clock::now_ms();
    let client = s.server.client_pause.filter(|p| p.until_ms > now);
    s.server.client_pause = client;
    let writes = (s.repl.failover.is_some() || s.server.shutdown_wait.is_some())
        .then_some(Pause { until_ms: i64::MAX, all: false });
    s.server.pause = match (client, writes) {
        (Some(c), Some(_)) if c.all => Some(c),
        (c, f) => f.or(c),
    };
    pause_changed(s);
}

/// A pause started or ended. While clients are paused no key expires (Redis's expireIfNeeded and
/// activeExpireCycle return early), so the dataset stays what the replicas have, for a failover: reads
/// take a key past its TTL as missing, as a replica's do, and the key goes on its first access after the
/// pause. On a replica keys never expire by themselves either way (replica.rs).
pub fn pause_changed(s: &mut State) {
    let hold = s.server.pause.is_some() || s.repl.master.is_some();
    for db in &mut s.dbs {
        db.lazy_expire = !hold;
        db.hide_expired = hold;
    }
}

/// CLIENT UNBLOCK client-id [TIMEOUT|ERROR]
fn client_unblock(cx: &mut Ctx<'_>) -> CmdResult {
    if cx.argc() > 4 {
        return Err(cx.subcommand_syntax());
    }
    let id = cx.int_arg(2)?;
    let error = match cx.argc() {
        3 => false,
        4 if cx.argv.is(3, "timeout") => false,
        4 if cx.argv.is(3, "error") => true,
        _ => return Err(CmdError::new("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")),
    };
    let target = cx.s.clients.iter().find(|(_, c)| c.id as i64 == id && c.blocked.is_some()).map(|(slot, _)| slot);
    match target {
        Some(slot) => {
            cx.s.clients[slot].unblock_pending = Some(error);
            cx.s.clients.unblock_requests.push((slot, error));
            cx.out.int(1);
        }
        None => cx.out.int(0),
    }
    Ok(())
}

fn client_help(cx: &mut Ctx<'_>) -> CmdResult {
    help(
        cx,
        "CLIENT",
        &[
            "CACHING (YES|NO)",
            "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
            "GETREDIR",
            "    Return the client ID we are redirecting to when tracking is enabled.",
            "GETNAME",
            "    Return the name of the current connection.",
            "ID",
            "    Return the ID of the current connection.",
            "INFO",
            "    Return information about the current client connection.",
            "KILL <ip:port>",
            "    Kill connection made from <ip:port>.",
            "KILL <option> <value> [<option> <value> [...]]",
            "    Kill connections. Options are:",
            "    * ADDR (<ip:port>|<unixsocket>:0)",
            "      Kill connections made from the specified address",
            "    * LADDR (<ip:port>|<unixsocket>:0)",
            "      Kill connections made to specified local address",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
            "      Kill connections by type.",
            "    * USER <username>",
            "      Kill connections authenticated by <username>.",
            "    * SKIPME (YES|NO)",
            "      Skip killing current connection (default: yes).",
            "LIST [options ...]",
            "    Return information about client connections. Options:",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
            "      Return clients of specified type.",
            "UNPAUSE",
            "    Stop the current client pause, resuming traffic.",
            "PAUSE <timeout> [WRITE|ALL]",
            "    Suspend all, or just write, clients for <timeout> milliseconds.",
            "REPLY (ON|OFF|SKIP)",
            "    Control the replies sent to the current connection.",
            "SETNAME <name>",
            "    Assign the name <name> to the current connection.",
            "UNBLOCK <clientid> [TIMEOUT|ERROR]",
            "    Unblock the specified blocked client.",
            "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
            "         [OPTIN] [OPTOUT] [NOLOOP]",
            "    Control server assisted client side caching.",
            "TRACKINGINFO",
            "    Report tracking status for the current connection.",
            "NO-EVICT (ON|OFF)",
            "    Protect current client connection from eviction.",
        ],
    )
}

/// The `<CMD> HELP` reply: a header line, the given lines, and the HELP line, as Redis's addReplyHelp.
pub fn help(cx: &mut Ctx<'_>, cmd: &str, lines: &[&str]) -> CmdResult {
    cx.out.array(lines.len() + 3);
    cx.out.simple(&format!("{cmd} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"));
    for l in lines {
        cx.out.simple(l);
    }
    cx.out.simple("HELP");
    cx.out.simple("    Prints this help.");
    Ok(())
}

const CONN: u32 = NO_AUTH | LOADING | STALE | FAST;

#[rustfmt::skip]
const CLIENT_SUBS: &[CommandSpec] = &family("connection", [
    cmd("client|id", 2, NOSCRIPT | LOADING | STALE, client_id).acl(CONNECTION).doc("5.0.0", "O(1)", "Returns the client ID for the current connection"),
    cmd("client|setname", 3, NOSCRIPT | LOADING | STALE, client_setname).acl(CONNECTION).doc("2.6.9", "O(1)", "Set the current connection name"),
    cmd("client|getname", 2, NOSCRIPT | LOADING | STALE, client_getname).acl(CONNECTION).doc("2.6.9", "O(1)", "Get the current connection name"),
    cmd("client|list", -2, ADMIN | NOSCRIPT | LOADING | STALE, client_list).acl(CONNECTION).doc("2.4.0", "O(N) where N is the number of client connections", "Get the list of client connections"),
    cmd("client|info", 2, NOSCRIPT | LOADING | STALE, client_info).acl(CONNECTION).doc("6.2.0", "O(1)", "Returns information about the current client connection."),
    cmd("client|kill", -3, ADMIN | NOSCRIPT | LOADING | STALE, client_kill).acl(CONNECTION).doc("2.4.0", "O(N) where N is the number of client connections", "Kill the connection of a client"),
    cmd("client|reply", 3, NOSCRIPT | LOADING | STALE, client_reply).acl(CONNECTION).doc("3.2.0", "O(1)", "Instruct the server whether to reply to commands"),
    cmd("client|no-evict", 3, ADMIN | NOSCRIPT | LOADING | STALE, client_no_evict).acl(CONNECTION).doc("7.0.0", "O(1)", "Set client eviction mode for the current connection"),
    cmd("client|pause", -3, ADMIN | NOSCRIPT | LOADING | STALE, client_pause).acl(CONNECTION).doc("2.9.50", "O(1)", "Stop processing commands from clients for some time"),
    cmd("client|unpause", 2, ADMIN | NOSCRIPT | LOADING | STALE, client_unpause).acl(CONNECTION).doc("6.2.0", "O(N) Where N is the number of paused clients", "Resume processing of clients that were paused"),
    cmd("client|unblock", -3, ADMIN | NOSCRIPT | LOADING | STALE, client_unblock).acl(CONNECTION).doc("5.0.0", "O(log N) where N is the number of client connections", "Unblock a client blocked in a blocking command from a different connection"),
    cmd("client|getredir", 2, NOSCRIPT | LOADING | STALE, super::tracking::client_getredir).acl(CONNECTION).doc("6.0.0", "O(1)", "Get tracking notifications redirection client ID if any"),
    cmd("client|tracking", -3, NOSCRIPT | LOADING | STALE, super::tracking::client_tracking).acl(CONNECTION).doc("6.0.0", "O(1). Some options may introduce additional complexity.", "Enable or disable server assisted client side caching support"),
    cmd("client|caching", 3, NOSCRIPT | LOADING | STALE, super::tracking::client_caching).acl(CONNECTION).doc("6.0.0", "O(1)", "Instruct the server about tracking or not keys in the next request"),
    cmd("client|trackinginfo", 2, NOSCRIPT | LOADING | STALE, super::tracking::client_trackinginfo).acl(CONNECTION).doc("6.2.0", "O(1)", "Return information about server assisted client side caching for the current connection"),
    cmd("client|help", 2, LOADING | STALE, client_help).acl(CONNECTION).doc("5.0.0", "O(1)", "Show helpful text about the different subcommands"),
]);

#[rustfmt::skip]
pub const SPECS: &[CommandSpec] = &family("connection", [
    cmd("ping", -1, FAST, ping).acl(CONNECTION).doc("1.0.0", "O(1)", "Ping the server"),
    cmd("echo", 2, FAST | LOADING | STALE, echo).acl(CONNECTION).doc("1.0.0", "O(1)", "Echo the given string"),
    cmd("quit", -1, ALLOW_BUSY | NOSCRIPT | CONN, quit).acl(CONNECTION).doc("1.0.0", "O(1)", "Close the connection"),
    cmd("select", 2, LOADING | STALE | FAST, select).acl(CONNECTION).doc("1.0.0", "O(1)", "Change the selected database for the current connection"),
    cmd("auth", -2, NOSCRIPT | CONN | ALLOW_BUSY, auth).acl(CONNECTION).doc("1.0.0", "O(N) where N is the number of passwords defined for the user", "Authenticate to the server"),
    cmd("hello", -1, NOSCRIPT | CONN | ALLOW_BUSY, hello).acl(CONNECTION).doc("6.0.0", "O(1)", "Handshake with Redis"),
    cmd("reset", 1, NOSCRIPT | CONN | ALLOW_BUSY, reset).acl(CONNECTION).doc("6.2.0", "O(1)", "Reset the connection"),
    cmd("client", -2, 0, container).subs(CLIENT_SUBS).doc("2.4.0", "Depends on subcommand.", "A container for client connection commands"),
]);

#[cfg(test)]
mod tests {
    use crate::commands::testutil::{bulk, err, int, new, ok, run, run_raw, simple};

    #[test]
    fn ping_echo_select() {
        let mut t = new();
        assert_eq!(run(&mut t, &["PING"]), simple("PONG"));
        assert_eq!(run(&mut t, &["ping", "hi"]), bulk("hi"));
        assert_eq!(run(&mut t, &["ping", "a", "b"]), err("ERR wrong number of arguments for 'ping' command"));
        assert_eq!(run(&mut t, &["echo", "x"]), bulk("x"));
        assert_eq!(run(&mut t, &["select", "3"]), ok());
        assert_eq!(t.s.clients[t.me].db, 3);
        assert_eq!(run(&mut t, &["select", "16"]), err("ERR DB index is out of range"));
        assert_eq!(run(&mut t, &["select", "x"]), err("ERR value is not an integer or out of range"));
    }

    #[test]
    fn auth_and_hello() {
        let mut t = new();
        assert!(run_raw(&mut t, &["auth", "x"]).starts_with("-ERR AUTH <password> called without"));
        assert_eq!(run(&mut t, &["config", "set", "requirepass", "pw"]), ok());
        t.s.clients[t.me].authenticated = false;
        assert_eq!(run(&mut t, &["ping"]), err("NOAUTH Authentication required."));
        assert_eq!(run(&mut t, &["auth", "bad"]), err("WRONGPASS invalid username-password pair or user is disabled."));
        assert_eq!(run(&mut t, &["auth", "pw"]), ok());
        assert_eq!(run(&mut t, &["ping"]), simple("PONG"));
        let r = run_raw(&mut t, &["hello", "3"]);
        assert!(r.starts_with("%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n"), "{r}");
        assert_eq!(t.s.clients[t.me].resp, 3);
        assert_eq!(run(&mut t, &["hello", "4"]), err("NOPROTO unsupported protocol version"));
        assert_eq!(run(&mut t, &["reset"]), simple("RESET"));
        assert_eq!(t.s.clients[t.me].resp, 2);
        assert!(!t.s.clients[t.me].authenticated);
    }

    #[test]
    fn client_subcommands() {
        let mut t = new();
        t.s.clients[t.me].local = false;
        assert_eq!(
            run(&mut t, &["client", "setname", "a b"]),
            err("ERR Client names cannot contain spaces, newlines or special characters.")
        );
        assert_eq!(run(&mut t, &["client", "setname", "foo"]), ok());
        assert_eq!(run(&mut t, &["client", "getname"]), bulk("foo"));
        let list = run_raw(&mut t, &["client", "list"]);
        assert!(list.contains("name=foo") && list.contains("cmd=client|list"), "{list}");
        assert_eq!(run(&mut t, &["client", "foo"]), err("ERR unknown subcommand 'foo'. Try CLIENT HELP."));
        assert_eq!(run(&mut t, &["client", "kill", "1.2.3.4:5"]), err("ERR No such client"));
        assert_eq!(run(&mut t, &["client", "kill", "id", "999"]), int(0));
        assert_eq!(run(&mut t, &["client", "id"]), int(1));
        assert_eq!(run(&mut t, &["client", "pause", "100", "write"]), ok());
        assert!(t.s.server.pause.is_some_and(|p| !p.all));
        assert_eq!(run(&mut t, &["client", "unpause"]), ok());
    }

    #[test]
    fn a_failover_pause_combines_with_client_pause_and_outlives_client_unpause() {
        let mut t = new();
        let failover =
            crate::commands::replication::Failover { target: None, end_ms: 0, force: false, in_progress: false };
        t.s.repl.failover = Some(failover);
        super::refresh_pause(&mut t.s);
        assert!(t.s.server.pause.is_some_and(|p| !p.all && p.until_ms == i64::MAX));
        // CLIENT PAUSE ALL is more restrictive: it wins while it lasts, then the failover's goes on.
        assert_eq!(run(&mut t, &["client", "pause", "100000", "all"]), ok());
        assert!(t.s.server.pause.is_some_and(|p| p.all && p.until_ms < i64::MAX));
        assert_eq!(run(&mut t, &["client", "unpause"]), ok());
        assert!(t.s.server.pause.is_some_and(|p| !p.all && p.until_ms == i64::MAX));
        // A WRITE pause adds nothing to the failover's, and outlasts it only if the failover ends first.
        assert_eq!(run(&mut t, &["client", "pause", "100000", "write"]), ok());
        assert!(t.s.server.pause.is_some_and(|p| p.until_ms == i64::MAX));
        t.s.repl.failover = None;
        super::refresh_pause(&mut t.s);
        assert!(t.s.server.pause.is_some_and(|p| !p.all && p.until_ms < i64::MAX));
        assert_eq!(run(&mut t, &["client", "unpause"]), ok());
        assert!(t.s.server.pause.is_none());
    }
}
