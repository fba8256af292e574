//! ACL: the users table and the ACL log the Keyspace keeps (`State::acl`), the ACL command family, and the
//! hooks the rest of the engine calls: the permission check before each command (exec.rs, multi.rs,
//! scripting.rs), authentication (AUTH, HELLO), SORT's BY/GET rule, `requirepass` (commands layer; the
//! rules themselves are in acl_rules.rs).

use super::acl_rules::{self, Denied, RuleError, User, CATEGORIES};
use super::client::Client;
use super::connection::{client_line, help};
use super::spec::*;
use super::table::{sub_name, table};
use super::{Argv, Ctx, State};
use crate::config::Config;
use crate::error::CmdError;
use crate::types::clock;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng, TryRngCore};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

/// Log entries closer in time than this (ms) and alike are counted as one (ACL_LOG_GROUPING_MAX_TIME_DELTA).
const LOG_GROUPING_MS: i64 = 60_000;

/// Where a denied command ran, as ACL LOG's `context` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogContext {
    /// A command sent by the client.
    Toplevel,
    /// Queued in MULTI, or run by EXEC.
    Multi,
    /// Called by a script or function.
    Lua,
}

impl LogContext {
    fn name(self) -> &'static str {
        match self {
            LogContext::Toplevel => "toplevel",
            LogContext::Multi => "multi",
            LogContext::Lua => "lua",
        }
    }
}

/// One ACL LOG entry.
#[derive(Debug, Clone)]
pub struct LogEntry {
    /// How many alike refusals this entry stands for.
    pub count: u64,
    /// "command", "key", "channel" or "auth".
    pub reason: &'static str,
    /// Where it happened.
    pub context: LogContext,
    /// The command's full name, the key, the channel, or the AUTH/HELLO as typed.
    pub object: Vec<u8>,
    /// The user refused (for AUTH, the user name tried).
    pub username: Vec<u8>,
    /// When it last happened (Unix ms).
    pub ctime_ms: i64,
    /// CLIENT INFO of the client that did it last.
    pub client_info: String,
}

/// The users and the ACL log (Redis's Users rax, DefaultUser and ACLLog).
pub struct Acl {
    /// By name, in byte order (ACL LIST and USERS list them so, as Redis's rax).
    users: BTreeMap<Vec<u8>, Arc<User>>,
    /// Newest first.
    pub log: VecDeque<LogEntry>,
    /// Why the users configured at start-up could not be loaded: the server does not start.
    pub startup_error: Option<String>,
    /// ACL LOAD or SAVE's file work, left by the command for the Keyspace to have done off its thread.
    pub file_job: Option<FileJob>,
    /// ACL GENPASS's generator: ChaCha20, seeded once from the OS (see `seeded_rng`).
    rng: ChaCha20Rng,
}

impl Acl {
    /// The default user alone, with `requirepass` as its password, then the `user` lines of the
    /// configuration or the users of `aclfile` (never both).
    pub fn new(config: &Config) -> Acl {
        let mut acl = Acl {
            users: BTreeMap::new(),
            log: VecDeque::new(),
            startup_error: None,
            file_job: None,
            rng: seeded_rng(),
        };
        acl.users.insert(b"default".to_vec(), default_with_password(User::default_user(), &config.requirepass));
        let aclfile = config.get("aclfile").unwrap_or_default();
        if !aclfile.is_empty() && !config.users().is_empty() {
            acl.startup_error = Some(
                "Configuring Redis with users defined in redis.conf and at the same setting an ACL file path is invalid. This setup is very likely to lead to configuration errors and security holes, please define either an ACL file or declare users directly in your redis.conf, but not both.".into(),
            );
            return acl;
        }
        if let Err(e) = acl.load_configured(config) {
            log::warn!("{e}");
            acl.startup_error = Some("Critical error while loading ACLs. Exiting.".into());
            return acl;
        }
        if !aclfile.is_empty() {
            // At start-up, before any client: the Keyspace serves nobody yet, so it reads the file itself.
            let users = read_file(&aclfile).and_then(|text| parse_file(&aclfile, &text, pubsub_all(config)));
            match users {
                Ok(users) => acl.users = users,
                Err(e) => acl.startup_error = Some(format!("Aborting Redis startup because of ACL errors: {e}")),
            }
        }
        acl
    }

    /// ACLLoadConfiguredUsers: the `user` lines of the configuration.
    fn load_configured(&mut self, config: &Config) -> Result<(), String> {
        let all = pubsub_all(config);
        for line in config.users() {
            let name = line[0].as_bytes();
            if acl_rules::has_spaces(name) {
                return Err("Spaces not allowed in ACL usernames".into());
            }
            let args: Vec<&[u8]> = line[1..].iter().map(|a| a.as_bytes()).collect();
            let rules = acl_rules::merge_selector_args(&args).map_err(|j| {
                format!("Error in user declaration '{}': Unmatched parenthesis in acl selector", line[1 + j])
            })?;
            let mut u = match self.users.get(name) {
                // A `user default` line starts from a reset default user.
                Some(old) => {
                    let mut u = User::clone(old);
                    let _ = u.apply(b"reset", all);
                    u
                }
                None => User::new(name, all),
            };
            for r in &rules {
                u.apply(r, all).map_err(|e| {
                    format!(
                        "Error loading ACL rule '{}' for the user named '{}': {}",
                        String::from_utf8_lossy(r),
                        line[0],
                        e.text()
                    )
                })?;
            }
            if !u.enabled {
                log::info!(
                    "The user '{}' is disabled (there is no 'on' modifier in the user description). Make sure this is not a configuration error.",
                    line[0]
                );
            }
            self.users.insert(name.to_vec(), u.seal());
        }
        Ok(())
    }

    /// The default user (always there).
    pub fn default_user(&self) -> Arc<User> {
        self.users.get(&b"default"[..]).cloned().unwrap_or_else(|| User::default_user().seal())
    }

    /// A user by name.
    pub fn user(&self, name: &[u8]) -> Option<&Arc<User>> {
        self.users.get(name)
    }

    /// Must a client that has not authenticated do so before running commands (Redis's authRequired)?
    pub fn auth_required(&self) -> bool {
        let d = self.users.get(&b"default"[..]);
        d.is_none_or(|d| !d.nopass || !d.enabled)
    }

    /// Does a new connection start authenticated (the default user is on and needs no password)?
    pub fn starts_authenticated(&self) -> bool {
        !self.auth_required()
    }
}

/// ACLUpdateDefaultUserPassword: `requirepass` sets the default user's one password, or nopass when empty.
fn default_with_password(mut u: User, password: &str) -> Arc<User> {
    let _ = u.apply(b"resetpass", false);
    if password.is_empty() {
        let _ = u.apply(b"nopass", false);
    } else {
        let mut op = b">".to_vec();
        op.extend_from_slice(password.as_bytes());
        let _ = u.apply(&op, false);
    }
    u.seal()
}

/// `acl-pubsub-default allchannels`: new users may use every channel.
fn pubsub_all(config: &Config) -> bool {
    config.get("acl-pubsub-default").is_some_and(|v| v.eq_ignore_ascii_case("allchannels"))
}

/// ACLLoadFromFile's read: the file's bytes, or Redis's text when it cannot be opened.
fn read_file(path: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path)
        .map_err(|e| format!("Error loading ACLs, opening file '{path}': {}", crate::config::strerror(&e)))
}

/// ACLSaveToFile's write: through a temporary file renamed over `path`, so a crash leaves the old file whole.
fn write_file(path: &str, text: &[u8]) -> Result<(), String> {
    let tmp = format!("{path}.tmp-{}-{}", std::process::id(), clock::system_ms());
    let res = std::fs::write(&tmp, text).and_then(|_| std::fs::rename(&tmp, path));
    res.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("Saving the ACL file '{path}' for ACL SAVE: {e}")
    })
}

/// ACLLoadFromFile's parse: every user of the file, or Redis's text for every problem found (then nothing
/// loads).
fn parse_file(path: &str, text: &[u8], all: bool) -> Result<BTreeMap<Vec<u8>, Arc<User>>, String> {
    let mut users: BTreeMap<Vec<u8>, Arc<User>> = BTreeMap::new();
    let mut errors = String::new();
    for (i, raw) in text.split(|&c| c == b'\n').enumerate() {
        let linenum = i + 1;
        let line = String::from_utf8_lossy(raw);
        let line = line.trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n'));
        if line.is_empty() {
            continue;
        }
        // sdssplitlen on single spaces: empty words between double spaces are kept, as Redis keeps them.
        let argv: Vec<&str> = line.split(' ').collect();
        if argv[0] != "user" || argv.len() < 2 {
            errors.push_str(&format!("{path}:{linenum} should start with user keyword followed by the username. "));
            continue;
        }
        let name = argv[1].as_bytes();
        if acl_rules::has_spaces(name) {
            errors.push_str(&format!("'{path}:{linenum}: username '{}' contains invalid characters. ", argv[1]));
            continue;
        }
        if users.contains_key(name) {
            errors.push_str(&format!("WARNING: Duplicate user '{}' found on line {linenum}. ", argv[1]));
            continue;
        }
        let mut u = User::new(name, all);
        let args: Vec<&[u8]> = argv[2..].iter().map(|a| a.as_bytes()).collect();
        let rules = match acl_rules::merge_selector_args(&args) {
            Ok(r) => r,
            Err(_) => {
                errors.push_str(&format!("{path}:{linenum}: Unmatched parenthesis in selector definition."));
                Vec::new()
            }
        };
        let mut syntax_error = false;
        for r in rules {
            let r: Vec<u8> = trim_bytes(&r, b"\t\r\n").to_vec();
            if let Err(e) = u.apply(&r, all) {
                if e == RuleError::UnknownCommand {
                    errors.push_str(&format!(
                        "{path}:{linenum}: Error in applying operation '{}': {}. ",
                        String::from_utf8_lossy(&r),
                        e.text()
                    ));
                } else if !syntax_error {
                    errors.push_str(&format!("{path}:{linenum}: {}. ", e.text()));
                    syntax_error = true;
                }
            }
        }
        users.insert(name.to_vec(), u.seal());
    }
    if !errors.is_empty() {
        errors.push_str("WARNING: ACL errors detected, no change to the previously active ACL rules was performed");
        return Err(errors);
    }
    if !users.contains_key(&b"default"[..]) {
        users.insert(b"default".to_vec(), User::default_user().seal());
    }
    Ok(users)
}

/// sdstrim: drop the bytes of `set` from both ends.
fn trim_bytes<'a>(b: &'a [u8], set: &[u8]) -> &'a [u8] {
    let start = b.iter().position(|c| !set.contains(c)).unwrap_or(b.len());
    let end = b.iter().rposition(|c| !set.contains(c)).map_or(start, |e| e + 1);
    &b[start..end]
}

// ---------------------------------------------------------------------------------------------------------
// Hooks for the rest of the engine
// ---------------------------------------------------------------------------------------------------------

/// Why `client`'s user may not run this command, if it may not. Callers skip it for an `open` user.
pub fn denied(client: &Client, spec: &CommandSpec, argv: &Argv<'_>) -> Option<Denied> {
    // The arguments as slices, on the stack for the usual short command (this runs per command).
    const SHORT: usize = 8;
    if argv.len() <= SHORT {
        let mut buf: [&[u8]; SHORT] = [&[]; SHORT];
        for (i, slot) in buf.iter_mut().enumerate().take(argv.len()) {
            *slot = argv.get(i);
        }
        return client.user.check(spec, &buf[..argv.len()]).err();
    }
    let args = argv.to_vec();
    client.user.check(spec, &args).err()
}

/// The NOPERM reply for a refusal at the top level or when queued in MULTI (processCommand's texts).
pub fn noperm(d: Denied, spec: &CommandSpec) -> CmdError {
    match d {
        Denied::Command => {
            CmdError::msg(format!("NOPERM this user has no permissions to run the '{}' command", spec.name))
        }
        Denied::Key(_) => {
            CmdError::new("NOPERM this user has no permissions to access one of the keys used as arguments")
        }
        Denied::Channel(_) => {
            CmdError::new("NOPERM this user has no permissions to access one of the channels used as arguments")
        }
    }
}

/// The reply for a queued command its user may no longer run when EXEC comes (execCommand's texts).
pub fn noperm_at_exec(d: Denied) -> CmdError {
    let reason = match d {
        Denied::Command => "no permission to execute the command or subcommand",
        Denied::Key(_) => "no permission to touch the specified keys",
        Denied::Channel(_) => "no permission to access one of the channels used as arguments",
    };
    CmdError::msg(format!(
        "NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: {reason}"
    ))
}

/// The error text a script's redis.call gets (getAclErrorMessage).
pub fn script_error(d: Denied) -> &'static str {
    match d {
        Denied::Command => "The user executing the script can't run this command or subcommand",
        Denied::Key(_) => {
            "The user executing the script can't access at least one of the keys mentioned in the command arguments"
        }
        Denied::Channel(_) => "The user executing the script can't publish to the channel mentioned in the command",
    }
}

/// Record a refused command in the ACL log (the check is run again: refusals are the rare path).
pub fn log_denied(s: &mut State, me: usize, spec: &CommandSpec, argv: &Argv<'_>, context: LogContext) {
    let Some(d) = s.clients.get(me).and_then(|c| denied(c, spec, argv)) else { return };
    log_refusal(s, me, spec, argv, d, context);
}

/// Record refusal `d` of the command in the ACL log.
pub fn log_refusal(s: &mut State, me: usize, spec: &CommandSpec, argv: &Argv<'_>, d: Denied, context: LogContext) {
    let (reason, object) = match d {
        Denied::Command => ("command", spec.name.as_bytes().to_vec()),
        Denied::Key(p) => ("key", argv.get(p).to_vec()),
        Denied::Channel(p) => ("channel", argv.get(p).to_vec()),
    };
    let username = s.clients[me].user.name.clone();
    add_log_entry(s, me, reason, context, object, username);
}

/// addACLLogEntry: a new entry at the head, or one alike from the last minute (among the 10 newest) moved
/// there and counted again; the log is kept to acllog-max-len.
fn add_log_entry(
    s: &mut State,
    me: usize,
    reason: &'static str,
    context: LogContext,
    object: Vec<u8>,
    username: Vec<u8>,
) {
    let now = clock::now_ms();
    let info = s.clients.get(me).map(|c| client_line(c, now).trim_end().to_string()).unwrap_or_default();
    let log = &mut s.acl.log;
    let alike = log.iter().take(10).position(|e| {
        e.reason == reason
            && e.context == context
            && (e.ctime_ms - now).abs() <= LOG_GROUPING_MS
            && e.object == object
            && e.username == username
    });
    if let Some(i) = alike {
        let mut e = log.remove(i).expect("position found above");
        e.count += 1;
        e.ctime_ms = now;
        e.client_info = info;
        log.push_front(e);
        return;
    }
    log.push_front(LogEntry { count: 1, reason, context, object, username, ctime_ms: now, client_info: info });
    let max = s.config.get("acllog-max-len").and_then(|v| v.parse::<usize>().ok()).unwrap_or(128);
    s.acl.log.truncate(max);
}

/// ACLAuthenticateUser: on success the client is authenticated as that user; a failure is logged.
pub fn authenticate(s: &mut State, me: usize, username: &[u8], password: &[u8], object: &[u8]) -> bool {
    let user = s.acl.user(username).filter(|u| u.password_ok(password)).cloned();
    match user {
        Some(u) => {
            let c = &mut s.clients[me];
            c.user = u;
            c.authenticated = true;
            true
        }
        None => {
            let context = if s.exec.in_exec { LogContext::Multi } else { LogContext::Toplevel };
            add_log_entry(s, me, "auth", context, object.to_vec(), username.to_vec());
            false
        }
    }
}

/// May the caller's SORT use BY patterns and GET (it needs read access to every key)?
pub fn sort_full_key_access(cx: &Ctx<'_>) -> bool {
    let user = &cx.s.clients[cx.me].user;
    user.open || user.check_unrestricted_keys(cx.spec, &cx.argv.to_vec(), super::keyspecs::K_ACCESS)
}

/// `requirepass` changed (CONFIG SET): it is the default user's password from now on.
pub fn requirepass_changed(s: &mut State) {
    let new = default_with_password(User::clone(&s.acl.default_user()), &s.config.requirepass);
    replace_user(s, new);
}

/// Put `new` in place of the user of that name, and give its clients the new rules.
fn replace_user(s: &mut State, new: Arc<User>) {
    let old = s.acl.users.insert(new.name.clone(), new.clone());
    if let Some(old) = old {
        for (_, c) in s.clients.slab.iter_mut() {
            if Arc::ptr_eq(&c.user, &old) {
                c.user = new.clone();
            }
        }
    }
    publish_auth_required(s);
}

/// The default user may have changed: tell connections whether a new client starts unauthenticated (they
/// parse its first requests with the unauthenticated limits, `Knobs::auth_required`).
pub fn publish_auth_required(s: &State) {
    use std::sync::atomic::Ordering::Relaxed;
    s.knobs.auth_required.store(s.acl.auth_required(), Relaxed);
    // Redis's acceptCommonHandler: protected mode while the default user has the nopass flag.
    let nopass = s.acl.users.get(&b"default"[..]).is_some_and(|d| d.nopass);
    s.knobs.protected.store(s.config.protected_mode && nopass, Relaxed);
}

/// Close every client authenticated as `user` (ACLFreeUserAndKillClients): the caller itself once it has
/// its reply.
fn kill_clients_of(s: &mut State, me: usize, user: &Arc<User>) {
    let default = s.acl.default_user();
    let victims: Vec<usize> =
        s.clients.iter().filter(|(_, c)| Arc::ptr_eq(&c.user, user)).map(|(slot, _)| slot).collect();
    for slot in victims {
        let c = &mut s.clients[slot];
        c.user = default.clone();
        c.authenticated = false;
        if slot == me {
            c.close_after_reply = true;
        } else if !c.killed {
            c.killed = true;
            s.clients.kill_list.push(slot);
        }
    }
}

/// ACLKillPubsubClientsIfNeeded: subscribed clients of `old` holding a channel or pattern `new` no longer
/// allows are closed.
fn kill_pubsub_clients_if_needed(s: &mut State, me: usize, new: &User, old: &Arc<User>) {
    if new.selectors.iter().any(|sel| sel.allchannels) {
        return;
    }
    let upcoming: Vec<Vec<u8>> = new.selectors.iter().flat_map(|sel| sel.channels.iter().cloned()).collect();
    let kept = old.selectors.iter().all(|sel| !sel.allchannels && sel.channels.iter().all(|c| upcoming.contains(c)));
    if kept {
        return;
    }
    let in_list = |ch: &[u8], pattern: bool| {
        upcoming.iter().any(|p| if pattern { p == ch } else { crate::types::glob::glob_match(p, ch, false) })
    };
    let victims: Vec<usize> = s
        .clients
        .iter()
        .filter(|(_, c)| Arc::ptr_eq(&c.user, old))
        .filter(|(_, c)| {
            c.subs.as_ref().is_some_and(|subs| {
                subs.patterns.iter().any(|p| !in_list(p, true))
                    || subs.channels.iter().chain(subs.shard.iter()).any(|ch| !in_list(ch, false))
            })
        })
        .map(|(slot, _)| slot)
        .collect();
    for slot in victims {
        let c = &mut s.clients[slot];
        if slot == me {
            c.close_after_reply = true;
        } else if !c.killed {
            c.killed = true;
            s.clients.kill_list.push(slot);
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// ACL subcommands
// ---------------------------------------------------------------------------------------------------------

/// ACL SETUSER username [rule ...]: all rules apply or none.
fn acl_setuser(cx: &mut Ctx<'_>) -> CmdResult {
    let name = cx.arg(2);
    if acl_rules::has_spaces(name) {
        return Err(CmdError::new("ERR Usernames can't contain spaces or null characters"));
    }
    let args: Vec<&[u8]> = cx.argv.iter().skip(3).collect();
    let rules = acl_rules::merge_selector_args(&args).map_err(|j| {
        CmdError::msg(format!(
            "ERR Unmatched parenthesis in acl selector starting at '{}'.",
            crate::error::sanitize(args[j], usize::MAX)
        ))
    })?;
    let all = pubsub_all(&cx.s.config);
    let old = cx.s.acl.user(name).cloned();
    let mut u = match &old {
        Some(o) => User::clone(o),
        None => User::new(name, all),
    };
    for r in &rules {
        if let Err(e) = u.apply(r, all) {
            return Err(CmdError::msg(format!(
                "ERR Error in ACL SETUSER modifier '{}': {}",
                crate::error::sanitize(r, usize::MAX),
                e.text()
            )));
        }
    }
    if let Some(old) = &old {
        kill_pubsub_clients_if_needed(cx.s, cx.me, &u, old);
    }
    replace_user(cx.s, u.seal());
    cx.out.ok();
    Ok(())
}

/// ACL DELUSER username [username ...]
fn acl_deluser(cx: &mut Ctx<'_>) -> CmdResult {
    if cx.argv.iter().skip(2).any(|n| n == b"default") {
        return Err(CmdError::new("ERR The 'default' user cannot be removed"));
    }
    let mut deleted = 0;
    for i in 2..cx.argc() {
        if let Some(u) = cx.s.acl.users.remove(cx.arg(i)) {
            kill_clients_of(cx.s, cx.me, &u);
            deleted += 1;
        }
    }
    cx.out.int(deleted);
    Ok(())
}

/// aclAddReplySelectorDescription: commands, keys and channels.
fn write_selector(cx: &mut Ctx<'_>, sel: &acl_rules::Selector) {
    cx.out.bulk(b"commands");
    cx.out.bulk(sel.describe_commands().as_bytes());
    cx.out.bulk(b"keys");
    cx.out.bulk(&sel.keys_field());
    cx.out.bulk(b"channels");
    cx.out.bulk(&sel.channels_field());
}

/// ACL GETUSER username
fn acl_getuser(cx: &mut Ctx<'_>) -> CmdResult {
    let Some(u) = cx.s.acl.user(cx.arg(2)).cloned() else {
        cx.out.nil();
        return Ok(());
    };
    cx.out.map(6);
    cx.out.bulk(b"flags");
    let flags = u.flag_names();
    cx.out.set(flags.len());
    for f in flags {
        cx.out.bulk(f.as_bytes());
    }
    cx.out.bulk(b"passwords");
    cx.out.array(u.passwords.len());
    for p in &u.passwords {
        cx.out.bulk(p.as_bytes());
    }
    write_selector(cx, &u.selectors[0]);
    cx.out.bulk(b"selectors");
    cx.out.array(u.selectors.len() - 1);
    for sel in &u.selectors[1..] {
        cx.out.map(3);
        write_selector(cx, sel);
    }
    Ok(())
}

/// ACL LIST: each user as a `user` line of the ACL file.
fn acl_list(cx: &mut Ctx<'_>) -> CmdResult {
    let lines: Vec<Vec<u8>> = cx.s.acl.users.values().map(|u| user_line(u)).collect();
    cx.out.array(lines.len());
    for l in lines {
        cx.out.bulk(&l);
    }
    Ok(())
}

/// Every user as a `user` line of the configuration (CONFIG REWRITE).
pub fn user_lines(s: &State) -> Vec<String> {
    s.acl.users.values().map(|u| String::from_utf8_lossy(&user_line(u)).into_owned()).collect()
}

/// "user <name> <rules>".
fn user_line(u: &User) -> Vec<u8> {
    let mut l = b"user ".to_vec();
    l.extend_from_slice(&u.name);
    l.push(b' ');
    l.extend_from_slice(&u.describe());
    l
}

/// ACL USERS
fn acl_users(cx: &mut Ctx<'_>) -> CmdResult {
    let names: Vec<Vec<u8>> = cx.s.acl.users.keys().cloned().collect();
    cx.out.array(names.len());
    for n in names {
        cx.out.bulk(&n);
    }
    Ok(())
}

/// ACL WHOAMI
fn acl_whoami(cx: &mut Ctx<'_>) -> CmdResult {
    let name = cx.s.clients[cx.me].user.name.clone();
    cx.out.bulk(&name);
    Ok(())
}

const NO_ACL_FILE: CmdError = CmdError::new("ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.");

/// ACL LOAD: the users of the ACL file replace every user; clients of the replaced users are closed (those
/// of the default user go on under its new rules). The file is read off the Keyspace's thread (`FileJob`).
fn acl_load(cx: &mut Ctx<'_>) -> CmdResult {
    let path = cx.s.config.get("aclfile").unwrap_or_default();
    if path.is_empty() {
        return Err(NO_ACL_FILE);
    }
    start_file_job(cx, FileJob::Load { path })
}

/// ACL SAVE: every user to the ACL file, written off the Keyspace's thread (`FileJob`).
fn acl_save(cx: &mut Ctx<'_>) -> CmdResult {
    let path = cx.s.config.get("aclfile").unwrap_or_default();
    if path.is_empty() {
        return Err(NO_ACL_FILE);
    }
    let mut text = Vec::new();
    for u in cx.s.acl.users.values() {
        text.extend_from_slice(&user_line(u));
        text.push(b'\n');
    }
    start_file_job(cx, FileJob::Save { path, text })
}

/// The file work of ACL LOAD and SAVE. The Keyspace's thread does no file I/O: the command leaves the job
/// in `Acl::file_job` and writes no reply, its batch stops after it (exec.rs), the Keyspace hands the job to
/// the persistence thread (actors/keyspace/aclfile.rs: the Snapshotter, as for the replicas' RDB file) and
/// waits for it without serving anyone else (Redis does it in the command), then `finish_file_job` writes
/// the reply and the rest of the pipeline runs.
#[derive(Debug)]
pub enum FileJob {
    /// ACL LOAD: read the file at `path`.
    Load { path: String },
    /// ACL SAVE: replace the file at `path` by `text`.
    Save { path: String, text: Vec<u8> },
}

/// A FileJob done: what ACL LOAD read (or why it could not), or whether ACL SAVE wrote.
#[derive(Debug)]
pub enum FileDone {
    Loaded { path: String, text: Result<Vec<u8>, String> },
    Saved(Result<(), String>),
}

impl FileJob {
    /// Do the file work: on the persistence thread, never the Keyspace's.
    pub fn run(self) -> FileDone {
        match self {
            FileJob::Load { path } => {
                let text = read_file(&path);
                FileDone::Loaded { path, text }
            }
            FileJob::Save { path, text } => FileDone::Saved(write_file(&path, &text)),
        }
    }

    /// The outcome when the work could not be done at all (the thread that does it is gone).
    pub fn lost(&self, why: &str) -> FileDone {
        match self {
            FileJob::Load { path } => FileDone::Loaded { path: path.clone(), text: Err(why.to_string()) },
            FileJob::Save { .. } => FileDone::Saved(Err(why.to_string())),
        }
    }
}

/// Hand the job over, or, inside EXEC (where the reply's place in EXEC's array is now), do it here: the one
/// case where the Keyspace's thread still touches the ACL file (ACL LOAD/SAVE in a transaction, as Redis
/// allows them; scripts may not call them).
fn start_file_job(cx: &mut Ctx<'_>, job: FileJob) -> CmdResult {
    if cx.s.exec.in_exec {
        apply_file_done(cx.s, cx.me, job.run())?;
        cx.out.ok();
        return Ok(());
    }
    cx.s.acl.file_job = Some(job);
    Ok(())
}

/// The reply of ACL LOAD / SAVE once its file work is done (for client `me`, into `out`).
pub fn finish_file_job(s: &mut State, me: usize, done: FileDone, out: &mut crate::resp::encode::Out) {
    let sub: &[u8] = if matches!(done, FileDone::Loaded { .. }) { b"load" } else { b"save" };
    match apply_file_done(s, me, done) {
        Ok(()) => out.ok(),
        Err(e) => {
            let spec = table()
                .lookup(b"acl")
                .and_then(|acl| acl.subcommands.iter().find(|c| sub_name(c).as_bytes().eq_ignore_ascii_case(sub)));
            if let Some(spec) = spec {
                s.stats.cmd_stats[spec.id].failed += 1;
            }
            super::exec::reply_error(s, out, &e);
        }
    }
}

/// Act on a FileJob's outcome: the loaded users replace the old ones (ACLLoadFromFile's swap), or the error.
fn apply_file_done(s: &mut State, me: usize, done: FileDone) -> Result<(), CmdError> {
    match done {
        FileDone::Saved(Ok(())) => Ok(()),
        FileDone::Saved(Err(e)) => {
            log::warn!("{e}");
            Err(CmdError::new(
                "ERR There was an error trying to save the ACLs. Please check the server logs for more information",
            ))
        }
        FileDone::Loaded { path, text } => {
            let users = text
                .and_then(|text| parse_file(&path, &text, pubsub_all(&s.config)))
                .map_err(|e| CmdError::msg(format!("ERR {e}")))?;
            let old = std::mem::replace(&mut s.acl.users, users);
            let default = s.acl.default_user();
            for (name, u) in old {
                if name == b"default" {
                    for (_, c) in s.clients.slab.iter_mut() {
                        if Arc::ptr_eq(&c.user, &u) {
                            c.user = default.clone();
                        }
                    }
                } else {
                    kill_clients_of(s, me, &u);
                }
            }
            publish_auth_required(s);
            Ok(())
        }
    }
}

/// ACL CAT [category]
fn acl_cat(cx: &mut Ctx<'_>) -> CmdResult {
    if cx.argc() == 2 {
        cx.out.array(CATEGORIES.len());
        for c in CATEGORIES {
            cx.out.bulk(c.as_bytes());
        }
        return Ok(());
    }
    if cx.argc() > 3 {
        return Err(cx.subcommand_syntax());
    }
    let Some(bit) = acl_rules::category_bit(cx.arg(2)) else {
        return Err(CmdError::msg(format!("ERR Unknown category '{}'", crate::error::sanitize(cx.arg(2), 128))));
    };
    let cat = acl_rules::catalog();
    let names: Vec<&str> = cat
        .order
        .iter()
        .flat_map(|s| std::iter::once(*s).chain(s.subcommands.iter()))
        .filter(|s| cat.cats[s.id] & bit != 0)
        .map(|s| s.name)
        .collect();
    cx.out.array(names.len());
    for n in names {
        cx.out.bulk(n.as_bytes());
    }
    Ok(())
}

/// ACL GENPASS [bits]: random hex digits, 4 bits each.
fn acl_genpass(cx: &mut Ctx<'_>) -> CmdResult {
    if cx.argc() > 3 {
        return Err(cx.subcommand_syntax());
    }
    let bits = if cx.argc() == 3 { cx.int_arg(2)? } else { 256 };
    if bits <= 0 || bits > 4096 {
        return Err(CmdError::new(
            "ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096",
        ));
    }
    let chars = ((bits + 3) / 4) as usize;
    let mut raw = vec![0u8; chars];
    cx.s.acl.rng.fill_bytes(&mut raw);
    let hex: Vec<u8> = raw.iter().map(|b| b"0123456789abcdef"[(b & 15) as usize]).collect();
    cx.out.bulk(&hex);
    Ok(())
}

/// ACL GENPASS's generator, seeded once from the OS (the getrandom system call: no file to read on the
/// Keyspace's thread, where Redis reads /dev/urandom once and hashes a counter). ChaCha20 is a CSPRNG, so the
/// passwords are as unpredictable as the seed. Should the OS refuse (it does not on Linux), the process's
/// sampling generator seeds it, with a warning.
fn seeded_rng() -> ChaCha20Rng {
    let mut seed = [0u8; 32];
    if let Err(e) = rand_core::OsRng.try_fill_bytes(&mut seed) {
        log::warn!("No random seed from the OS for ACL GENPASS ({e}): using a weaker one");
        for chunk in seed.chunks_mut(8) {
            chunk.copy_from_slice(&crate::types::rng::next_u64().to_le_bytes());
        }
    }
    ChaCha20Rng::from_seed(seed)
}

/// ACL LOG [count | RESET]
fn acl_log(cx: &mut Ctx<'_>) -> CmdResult {
    if cx.argc() > 3 {
        return Err(cx.subcommand_syntax());
    }
    let mut count = 10i64;
    if cx.argc() == 3 {
        if cx.argv.is(2, "reset") {
            cx.s.acl.log.clear();
            cx.out.ok();
            return Ok(());
        }
        count = cx.int_arg(2)?.max(0);
    }
    let n = (count as usize).min(cx.s.acl.log.len());
    let now = clock::now_ms();
    let entries: Vec<LogEntry> = cx.s.acl.log.iter().take(n).cloned().collect();
    cx.out.array(n);
    for e in entries {
        cx.out.map(7);
        cx.out.bulk(b"count");
        cx.out.int(e.count as i64);
        cx.out.bulk(b"reason");
        cx.out.bulk(e.reason.as_bytes());
        cx.out.bulk(b"context");
        cx.out.bulk(e.context.name().as_bytes());
        cx.out.bulk(b"object");
        cx.out.bulk(&e.object);
        cx.out.bulk(b"username");
        cx.out.bulk(&e.username);
        cx.out.bulk(b"age-seconds");
        cx.out.double((now - e.ctime_ms) as f64 / 1000.0);
        cx.out.bulk(b"client-info");
        cx.out.bulk(e.client_info.as_bytes());
    }
    Ok(())
}

/// ACL DRYRUN username command [arg ...]: would the user be allowed to run it?
fn acl_dryrun(cx: &mut Ctx<'_>) -> CmdResult {
    let Some(u) = cx.s.acl.user(cx.arg(2)).cloned() else {
        return Err(CmdError::msg(format!("ERR User '{}' not found", crate::error::sanitize(cx.arg(2), usize::MAX))));
    };
    let args: Vec<&[u8]> = cx.argv.iter().skip(3).collect();
    let not_found =
        || CmdError::msg(format!("ERR Command '{}' not found", crate::error::sanitize(args[0], usize::MAX)));
    let mut spec = table().lookup(args[0]).ok_or_else(not_found)?;
    if args.len() > 1 && !spec.subcommands.is_empty() {
        spec = spec
            .subcommands
            .iter()
            .find(|s| sub_name(s).as_bytes().eq_ignore_ascii_case(args[1]))
            .ok_or_else(not_found)?;
    }
    if !spec.arity_ok(args.len()) {
        return Err(CmdError::msg(format!("ERR wrong number of arguments for '{}' command", spec.name)));
    }
    match u.check(spec, &args) {
        Ok(()) => cx.out.ok(),
        Err(d) => {
            let msg = match d {
                Denied::Command => format!("This user has no permissions to run the '{}' command", spec.name),
                Denied::Key(p) => {
                    format!("This user has no permissions to access the '{}' key", String::from_utf8_lossy(args[p]))
                }
                Denied::Channel(p) => {
                    format!("This user has no permissions to access the '{}' channel", String::from_utf8_lossy(args[p]))
                }
            };
            cx.out.bulk(msg.as_bytes());
        }
    }
    Ok(())
}

/// ACL HELP
fn acl_help(cx: &mut Ctx<'_>) -> CmdResult {
    help(
        cx,
        "ACL",
        &[
            "CAT [<category>]",
            "    List all commands that belong to <category>, or all command categories",
            "    when no category is specified.",
            "DELUSER <username> [<username> ...]",
            "    Delete a list of users.",
            "DRYRUN <username> <command> [<arg> ...]",
            "    Returns whether the user can execute the given command without executing the command.",
            "GETUSER <username>",
            "    Get the user's details.",
            "GENPASS [<bits>]",
            "    Generate a secure 256-bit user password. The optional `bits` argument can",
            "    be used to specify a different size.",
            "LIST",
            "    Show users details in config file format.",
            "LOAD",
            "    Reload users from the ACL file.",
            "LOG [<count> | RESET]",
            "    Show the ACL log entries.",
            "SAVE",
            "    Save the current config to the ACL file.",
            "SETUSER <username> <attribute> [<attribute> ...]",
            "    Create or modify a user with the specified attributes.",
            "USERS",
            "    List all the registered usernames.",
            "WHOAMI",
            "    Return the current connection username.",
        ],
    )
}

const ACL_FLAGS: u32 = NOSCRIPT | LOADING | STALE;

#[rustfmt::skip]
const ACL_SUBS: &[CommandSpec] = &family("server", [
    cmd("acl|cat", -2, ACL_FLAGS, acl_cat).doc("6.0.0", "O(1) since the categories and commands are a fixed set.", "List the ACL categories or the commands inside a category"),
    cmd("acl|deluser", -3, ADMIN | ACL_FLAGS, acl_deluser).doc("6.0.0", "O(1) amortized time considering the typical user.", "Remove the specified ACL users and the associated rules"),
    cmd("acl|dryrun", -4, ADMIN | ACL_FLAGS, acl_dryrun).doc("7.0.0", "O(1).", "Returns whether the user can execute the given command without executing the command."),
    cmd("acl|genpass", -2, ACL_FLAGS, acl_genpass).doc("6.0.0", "O(1)", "Generate a pseudorandom secure password to use for ACL users"),
    cmd("acl|getuser", 3, ADMIN | ACL_FLAGS, acl_getuser).doc("6.0.0", "O(N). Where N is the number of password, command and pattern rules that the user has.", "Get the rules for a specific ACL user"),
    cmd("acl|help", 2, LOADING | STALE, acl_help).doc("6.0.0", "O(1)", "Show helpful text about the different subcommands"),
    cmd("acl|list", 2, ADMIN | ACL_FLAGS, acl_list).doc("6.0.0", "O(N). Where N is the number of configured users.", "List the current ACL rules in ACL config file format"),
    cmd("acl|load", 2, ADMIN | ACL_FLAGS, acl_load).doc("6.0.0", "O(N). Where N is the number of configured users.", "Reload the ACLs from the configured ACL file"),
    cmd("acl|log", -2, ADMIN | ACL_FLAGS, acl_log).doc("6.0.0", "O(N) with N being the number of entries shown.", "List latest events denied because of ACLs in place"),
    cmd("acl|save", 2, ADMIN | ACL_FLAGS, acl_save).doc("6.0.0", "O(N). Where N is the number of configured users.", "Save the current ACL rules in the configured ACL file"),
    cmd("acl|setuser", -3, ADMIN | ACL_FLAGS, acl_setuser).doc("6.0.0", "O(N). Where N is the number of rules provided.", "Modify or create the rules for a specific ACL user"),
    cmd("acl|users", 2, ADMIN | ACL_FLAGS, acl_users).doc("6.0.0", "O(N). Where N is the number of configured users.", "List the username of all the configured ACL rules"),
    cmd("acl|whoami", 2, ACL_FLAGS, acl_whoami).doc("6.0.0", "O(1)", "Return the name of the user associated to the current connection"),
]);

#[rustfmt::skip]
pub const SPECS: &[CommandSpec] = &family("server", [
    cmd("acl", -2, 0, container).subs(ACL_SUBS).doc("6.0.0", "Depends on subcommand.", "A container for Access List Control commands "),
]);

#[cfg(test)]
#[path = "acl_tests.rs"]
mod tests;
