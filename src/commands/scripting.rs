//! EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT (commands layer, applied by the Keyspace actor).
//!
//! A script runs synchronously inside the Keyspace, as every command does: `redis.call` goes through
//! [`ScriptHost`], which checks the command as Redis's scriptCall does (unknown, arity, noscript, writes
//! from read-only scripts, OOM) and runs it with `exec_request` in the script's own database and protocol,
//! on behalf of the calling client. Each write propagates by itself (Redis 7's effect replication), the
//! run's writes wrapped in MULTI/EXEC when there are several; EVAL itself is never propagated.
//!
//! Busy scripts: a script holds the Keyspace until it ends. Past busy-reply-threshold (`lua-time-limit`)
//! its periodic hook calls [`ScriptHost::interrupt`], which serves the other clients as Redis does
//! (busy.rs): they get -BUSY for everything but the allow-busy commands, SCRIPT KILL stops a script that
//! has not written (UNKILLABLE otherwise), and SHUTDOWN NOSAVE stops the server under any script. Nothing
//! stops a script on its own: as in Redis, a script past the threshold runs until it ends or is killed.
//! A server that is stopping (SIGTERM, SIGINT, `ServerHandle::stop`) stops any script at its next check.

use super::busy::{self, BusyScript};
use super::spec::*;
use super::{exec_request, table, Argv, Ctx, State};
use crate::error::CmdError;
use crate::resp::encode::Out;
use crate::scripting::{self, Host, Kind, Outcome, Vm, Watch};
use std::collections::HashMap;
use std::sync::atomic::Ordering;

// Script flags (the `#!lua flags=` shebang, and function flags).
pub const NO_WRITES: u32 = 1;
pub const ALLOW_OOM: u32 = 1 << 1;
pub const ALLOW_STALE: u32 = 1 << 2;
pub const NO_CLUSTER: u32 = 1 << 3;
pub const ALLOW_CROSS_SLOT: u32 = 1 << 4;
/// No shebang: EVAL's backwards-compatible mode (flags are not enforced up front).
pub const EVAL_COMPAT: u32 = 1 << 5;

pub const FLAG_NAMES: &[(u32, &str)] = &[
    (NO_WRITES, "no-writes"),
    (ALLOW_OOM, "allow-oom"),
    (ALLOW_STALE, "allow-stale"),
    (NO_CLUSTER, "no-cluster"),
    (ALLOW_CROSS_SLOT, "allow-cross-slot-keys"),
];

/// A cached EVAL script.
struct Script {
    flags: u32,
    /// The compiled body, kept in the VM's registry (`Vm::keep`).
    func: mlua::RegistryKey,
}

/// The EVAL script cache and its VM (created on first use, dropped by SCRIPT FLUSH).
#[derive(Default)]
pub struct Scripts {
    vm: Option<Vm>,
    cache: HashMap<String, Script>,
    /// Bytes of script bodies cached (INFO used_memory_scripts_eval).
    body_bytes: usize,
    /// Function libraries (FUNCTION / FCALL).
    pub functions: super::function::Functions,
    /// DEBUG SET-DISABLE-DENY-SCRIPTS: let scripts run commands flagged noscript (tests only).
    pub disable_deny: bool,
}

impl Scripts {
    fn vm(&mut self) -> Result<&Vm, CmdError> {
        if self.vm.is_none() {
            self.vm = Some(Vm::new(Kind::Eval).map_err(|e| CmdError::msg(format!("ERR {e}")))?);
        }
        Ok(self.vm.as_ref().expect("created above"))
    }

    /// Cached scripts (INFO number_of_cached_scripts).
    pub fn cached(&self) -> usize {
        self.cache.len()
    }

    /// The INFO memory lines about scripting.
    pub fn info_memory(&self) -> String {
        let eval_vm = self.vm.as_ref().map(|v| v.used_memory()).unwrap_or(31744);
        let fn_vm = self.functions.vm_memory();
        let total = eval_vm + fn_vm;
        let scripts = self.body_bytes + self.cache.len() * 64;
        let fns = self.functions.overhead();
        format!(
            "used_memory_lua:{eval_vm}\r\nused_memory_vm_eval:{eval_vm}\r\nused_memory_lua_human:{}\r\n\
             used_memory_scripts_eval:{scripts}\r\nnumber_of_cached_scripts:{}\r\nnumber_of_functions:{}\r\n\
             number_of_libraries:{}\r\nused_memory_vm_functions:{fn_vm}\r\nused_memory_vm_total:{total}\r\n\
             used_memory_vm_total_human:{}\r\nused_memory_functions:{fns}\r\nused_memory_scripts:{}\r\n\
             used_memory_scripts_human:{}\r\n",
            super::info::human(eval_vm as u64),
            self.cache.len(),
            self.functions.function_count(),
            self.functions.library_count(),
            super::info::human(total as u64),
            scripts + fns,
            super::info::human((scripts + fns) as u64),
        )
    }

    /// Compile and cache `body` (no-op when cached); returns its SHA1.
    fn create(&mut self, body: &[u8]) -> Result<String, CmdError> {
        let sha = scripting::sha1hex(body);
        if self.cache.contains_key(&sha) {
            return Ok(sha);
        }
        let (flags, skip) = parse_shebang(body)?;
        let vm = self.vm()?;
        let func = vm
            .compile(&body[skip..], "@user_script")
            .map_err(|e| CmdError::msg(format!("ERR Error compiling script (new function): {e}")))?;
        let func =
            vm.keep(func).map_err(|e| CmdError::msg(format!("ERR Error compiling script (new function): {e}")))?;
        self.body_bytes += body.len();
        self.cache.insert(sha.clone(), Script { flags, func });
        Ok(sha)
    }

    fn flush(&mut self) {
        self.cache.clear();
        self.body_bytes = 0;
        self.vm = None;
    }
}

/// The flags of a `#!lua ...` first line and where the code starts (at the line's newline, so that line
/// numbers stay right). Without a shebang: EVAL_COMPAT.
fn parse_shebang(body: &[u8]) -> Result<(u32, usize), CmdError> {
    if !body.starts_with(b"#!") {
        return Ok((EVAL_COMPAT, 0));
    }
    let end = body.iter().position(|&c| c == b'\n').unwrap_or(body.len());
    let line = String::from_utf8_lossy(&body[..end]);
    let mut parts = line.split(' ');
    let engine = parts.next().unwrap_or("");
    if engine != "#!lua" {
        return Err(CmdError::msg(format!("ERR Unexpected engine in script shebang: {engine}")));
    }
    let mut flags = 0;
    for p in parts {
        let Some(list) = p.strip_prefix("flags=") else {
            return Err(CmdError::msg(format!("ERR Unknown lua shebang option: {p}")));
        };
        for f in list.split(',').filter(|f| !f.is_empty()) {
            match FLAG_NAMES.iter().find(|(_, n)| *n == f) {
                Some((bit, _)) => flags |= bit,
                None => return Err(CmdError::msg(format!("ERR Unexpected flag in script shebang: {f}"))),
            }
        }
    }
    Ok((flags, end))
}

/// The server as a running script sees it: commands run for the calling client, in the script's own
/// database and protocol.
pub struct ScriptHost<'a> {
    pub s: &'a mut State,
    pub me: usize,
    pub db: usize,
    pub resp: u8,
    pub flags: u32,
    /// EVAL_RO / FCALL_RO, or a no-writes script: writes are refused.
    pub read_only: bool,
    /// Memory was over maxmemory when the script started.
    pub oom: bool,
    /// A write command already ran (after that OOM no longer stops the script).
    pub write_dirty: bool,
    /// redis.set_repl flags (3 = AOF and replicas).
    pub repl: u8,
    /// What runs, for BUSY, the KILL commands and FUNCTION STATS once it is past the threshold.
    pub run: Run<'a>,
}

/// The script a `ScriptHost` runs: EVAL's or a function, its name and the caller's command.
#[derive(Clone, Copy)]
pub struct Run<'a> {
    pub eval: bool,
    /// The script's SHA1, or the function's name.
    pub name: &'a str,
    pub command: Argv<'a>,
    pub started: std::time::Instant,
}

impl<'a> ScriptHost<'a> {
    pub fn new(s: &'a mut State, me: usize, db: usize, flags: u32, read_only: bool, run: Run<'a>) -> ScriptHost<'a> {
        // As Redis's pre_command_oom_state: what the check before the calling command found.
        let oom = s.config.maxmemory > 0 && s.evict.oom;
        let read_only = read_only || (flags & EVAL_COMPAT == 0 && flags & NO_WRITES != 0);
        ScriptHost { s, me, db, resp: 2, flags, read_only, oom, write_dirty: false, repl: 3, run }
    }

    /// The first check past busy-reply-threshold: the script is busy from now on (Redis's
    /// enterScriptTimedoutMode).
    fn enter_busy(&mut self) {
        let run = self.run;
        log::warn!(
            "Slow script detected: still in execution after {} milliseconds. You can try killing the script \
             using the {} command. Script name is: {}.",
            run.started.elapsed().as_millis(),
            if run.eval { "SCRIPT KILL" } else { "FUNCTION KILL" },
            run.name
        );
        self.s.busy = Some(BusyScript {
            eval: run.eval,
            caller: self.me,
            name: run.name.to_string(),
            command: run.command.iter().map(|a| a.to_vec()).collect(),
            started: run.started,
            dirty: self.write_dirty,
            kill: false,
        });
    }

    /// A scriptCall refusal: counted as a rejected call of `spec` and as an error reply.
    fn reject(&mut self, spec: Option<&'static CommandSpec>, text: &str) -> String {
        if let Some(spec) = spec {
            self.s.stats.cmd_stats[spec.id].rejected += 1;
        }
        self.s.stats.count_error(&CmdError::msg(scripting::error_text(text)));
        text.to_string()
    }
}

impl Host for ScriptHost<'_> {
    fn call(&mut self, args: Vec<Vec<u8>>) -> Result<Vec<u8>, String> {
        let (input, refs) = super::pack_args(&args);
        let argv = Argv::new(&input, &[], &refs);
        let spec = match &self.s.server.renames {
            Some(r) => r.resolve(&argv),
            None => table().resolve(&argv),
        };
        let spec = match spec {
            Some(s) if s.subcommands.is_empty() || argv.len() < 2 => s,
            _ => return Err(self.reject(None, "Unknown Redis command called from script")),
        };
        if !spec.arity_ok(argv.len()) {
            return Err(self.reject(Some(spec), "Wrong number of args calling Redis command from script"));
        }
        if spec.has(NOSCRIPT) && !self.s.scripts.disable_deny {
            return Err(self.reject(Some(spec), "This Redis command is not allowed from script"));
        }
        // scriptVerifyAllowStale: on a replica whose link is down with replica-serve-stale-data no, only
        // commands flagged stale run, even from a script declared allow-stale.
        if !spec.has(STALE) && super::replication::is_stale(self.s) {
            return Err(self.reject(Some(spec), "Can not execute the command on a stale replica"));
        }
        // The caller's ACL user, as Redis's scriptVerifyACL (the refusal is logged with context "lua").
        if !self.s.clients[self.me].user.open {
            if let Some(d) = super::acl::denied(&self.s.clients[self.me], spec, &argv) {
                super::acl::log_refusal(self.s, self.me, spec, &argv, d, super::acl::LogContext::Lua);
                return Err(self.reject(Some(spec), super::acl::script_error(d)));
            }
        }
        // May-replicate commands (PUBLISH...) count as writes here, as in Redis's read-only scripts.
        if (spec.has(WRITE) || spec.has(MAY_REPLICATE)) && self.read_only {
            return Err(self.reject(Some(spec), "Write commands are not allowed from read-only scripts."));
        }
        let allow_oom = self.flags & EVAL_COMPAT == 0 && self.flags & ALLOW_OOM != 0;
        if !allow_oom && self.oom && !self.write_dirty && spec.has(DENYOOM) {
            return Err(self.reject(Some(spec), &format!("-{}", CmdError::OOM.0)));
        }
        // As scriptVerifyWriteCommandAllow: once the script has written, no state of the server (a disk
        // error, too few replicas) may fail it halfway.
        if spec.has(WRITE) && !self.write_dirty {
            // No writes while the disk refuses them (MISCONF).
            let aof_err = if self.s.persist.aof.mode != super::aof::AofMode::Off {
                super::aof::write_error(self.s)
            } else {
                None
            };
            if let Some(e) = super::rdb::write_error(self.s).or(aof_err) {
                return Err(self.reject(Some(spec), &format!("-{}", e.0)));
            }
            // Not on a read-only replica (unless the master's stream runs it).
            let from_master = self.s.clients.get(self.me).is_some_and(|c| c.master);
            if self.s.repl.master.is_some() && self.s.repl.read_only && !from_master {
                return Err(self.reject(Some(spec), &format!("-{}", super::replication::READONLY_ERR.0)));
            }
            // And not without enough good replicas (min-replicas-to-write), for scripts that declared no flags.
            if self.s.repl.too_few_replicas() {
                return Err(self.reject(Some(spec), &format!("-{}", super::replication::NOREPLICAS_ERR.0)));
            }
            self.write_dirty = true;
        }
        let c = &mut self.s.clients[self.me];
        c.db = self.db;
        c.resp = self.resp;
        let mut out = Out::new(self.resp);
        // redis.set_repl: this command's effects go to the AOF (bit 1), replicas (bit 2), both or neither.
        let skip = std::mem::replace(&mut self.s.prop.feed.skip, !self.repl & 3);
        exec_request(self.s, self.me, &mut out, argv, Some(spec));
        self.s.prop.feed.skip = skip;
        // SELECT inside the script changes the script's database only.
        self.db = self.s.clients[self.me].db;
        Ok(out.buf)
    }

    fn resp(&self) -> u8 {
        self.resp
    }

    fn set_resp(&mut self, resp: u8) {
        self.resp = resp;
    }

    fn set_repl(&mut self, flags: u8) {
        self.repl = flags;
    }

    fn watch(&self) -> Watch {
        Watch { threshold_ms: self.s.config.busy_reply_threshold, stop: Some(self.s.knobs.shutdown_asap.clone()) }
    }

    fn interrupt(&mut self) -> Option<String> {
        if self.s.knobs.shutdown_asap.load(Ordering::Relaxed) {
            return Some(busy::STOPPED.into());
        }
        if self.s.busy.is_none() {
            self.enter_busy();
        }
        if let Some(b) = self.s.busy.as_mut() {
            b.dirty = self.write_dirty;
        }
        busy::serve_waiting(self.s, self.me);
        // SHUTDOWN NOSAVE from a waiting client: the Keyspace shuts down once the script is out of the way.
        if self.s.server.shutdown.is_some() {
            return Some(busy::STOPPED.into());
        }
        if self.s.busy.as_ref().is_some_and(|b| b.kill) {
            log::warn!("Lua script killed by user with SCRIPT KILL.");
            return Some(busy::KILLED.into());
        }
        None
    }

    fn acl_check(&mut self, args: Vec<Vec<u8>>) -> Result<bool, String> {
        let (input, refs) = super::pack_args(&args);
        let argv = Argv::new(&input, &[], &refs);
        match table().resolve(&argv) {
            Some(s) if s.subcommands.is_empty() || argv.len() < 2 => {
                let user = &self.s.clients[self.me].user;
                Ok(user.open || user.check(s, &argv.to_vec()).is_ok())
            }
            _ => Err("Invalid command passed to redis.acl_check_cmd()".into()),
        }
    }
}

/// Run `f` as the calling client's script: client state saved and restored around it, the feed wrapped
/// in MULTI/EXEC when it holds several writes, blocking commands kept from blocking. Returns the run's outcome.
pub fn run_script(
    cx: &mut Ctx<'_>,
    flags: u32,
    read_only: bool,
    (eval, name): (bool, &str),
    go: impl FnOnce(&mut ScriptHost<'_>, &mut Out) -> Outcome,
) -> Outcome {
    let (me, db) = (cx.me, cx.db);
    let run = Run { eval, name, command: cx.argv, started: std::time::Instant::now() };
    let c = &cx.s.clients[me];
    let (saved_db, saved_resp, saved_cmd) = (c.db, c.resp, c.last_cmd);
    let was_in_exec = cx.s.exec.in_exec;
    cx.s.exec.in_exec = true;
    cx.s.exec.in_script = true;
    // Messages the script publishes to its caller are encoded in the caller's protocol, not the script's.
    cx.s.pubsub.script_caller = Some((me, saved_resp));
    // Inside EXEC the transaction's own MULTI/EXEC already wraps the script's effects.
    if !was_in_exec {
        cx.s.prop.feed.hold();
    }
    let outcome = {
        let mut host = ScriptHost::new(cx.s, me, db, flags, read_only, run);
        go(&mut host, cx.out)
    };
    // Clients served while it was busy go back to their connections.
    busy::end_busy(cx.s);
    if !was_in_exec {
        cx.s.prop.feed.release();
    }
    cx.s.exec.in_exec = was_in_exec;
    cx.s.exec.in_script = false;
    cx.s.pubsub.script_caller = None;
    let c = &mut cx.s.clients[me];
    c.db = saved_db;
    c.resp = saved_resp;
    c.last_cmd = saved_cmd;
    // The commands the script ran propagated themselves.
    cx.no_propagate();
    outcome
}

/// Turn a run's outcome into the command's result: errors already counted (a failed redis.call) are
/// written without counting them again, as Redis's ERR_REPLY_FLAG_NO_STATS_UPDATE.
pub fn finish(cx: &mut Ctx<'_>, outcome: Outcome) -> CmdResult {
    match outcome {
        Outcome::Ok => Ok(()),
        Outcome::Err { msg, counted: true } => {
            cx.out.error(&msg);
            cx.s.stats.cmd_stats[cx.spec.id].failed += 1;
            Ok(())
        }
        Outcome::Err { msg, counted: false } => Err(CmdError::msg(msg)),
    }
}

/// The numkeys argument at `i` checked against the arguments that follow it.
pub fn numkeys(cx: &Ctx<'_>, i: usize) -> Result<usize, CmdError> {
    let n = cx.int_arg(i)?;
    if n > (cx.argc() - i - 1) as i64 {
        return Err(CmdError::new("ERR Number of keys can't be greater than number of args"));
    }
    if n < 0 {
        return Err(CmdError::new("ERR Number of keys can't be negative"));
    }
    Ok(n as usize)
}

/// A command's flags as processCommand weighs them: a script command's by its script's declared flags
/// (`effective_flags`), any other's from the table.
#[inline]
pub fn command_flags(s: &State, spec: &'static CommandSpec, argv: &Argv<'_>) -> u32 {
    if spec.categories & SCRIPTING != 0 {
        effective_flags(s, spec, argv)
    } else {
        spec.flags
    }
}

/// The command flags of EVAL/FCALL and their variants as the script declares them (Redis's
/// evalGetCommandFlags / fcallGetCommandFlags): with flags, WRITE and DENYOOM follow them and
/// MAY_REPLICATE goes; without (EVAL's compatibility mode, or a script not known yet), the table's.
pub fn effective_flags(s: &State, spec: &'static CommandSpec, argv: &Argv<'_>) -> u32 {
    if argv.len() < 2 {
        return spec.flags;
    }
    let script_flags = match spec.name {
        "eval" | "eval_ro" => match s.scripts.cache.get(&scripting::sha1hex(argv.get(1))) {
            Some(sc) => sc.flags,
            None => match parse_shebang(argv.get(1)) {
                Ok((f, _)) => f,
                Err(_) => return spec.flags,
            },
        },
        "evalsha" | "evalsha_ro" => {
            let sha = String::from_utf8_lossy(&argv.get(1).to_ascii_lowercase()).into_owned();
            match s.scripts.cache.get(&sha) {
                Some(sc) => sc.flags,
                None => return spec.flags,
            }
        }
        "fcall" | "fcall_ro" => match s.scripts.functions.flags_of(&String::from_utf8_lossy(argv.get(1))) {
            Some(f) => f,
            None => return spec.flags,
        },
        _ => return spec.flags,
    };
    if script_flags & EVAL_COMPAT != 0 {
        return spec.flags;
    }
    let mut flags = spec.flags & !(STALE | DENYOOM | WRITE | MAY_REPLICATE);
    if script_flags & (ALLOW_OOM | NO_WRITES) == 0 {
        flags |= DENYOOM;
    }
    if script_flags & NO_WRITES == 0 {
        flags |= WRITE;
    }
    if script_flags & ALLOW_STALE != 0 {
        flags |= STALE;
    }
    flags
}

/// Checks Redis makes before running a script with a shebang (scriptPrepareForRun).
pub fn precheck_flags(s: &State, flags: u32, ro: bool) -> Result<(), CmdError> {
    if flags & EVAL_COMPAT != 0 {
        // A script without a shebang does not run at all on a stale replica (scriptPrepareForRun's special
        // case), though EVAL itself is flagged stale.
        if super::replication::is_stale(s) {
            return Err(super::replication::MASTERDOWN_ERR);
        }
        return Ok(());
    }
    if flags & NO_WRITES == 0 {
        if flags & ALLOW_OOM == 0 && s.config.maxmemory > 0 && s.evict.oom {
            return Err(CmdError::OOM);
        }
        if ro {
            return Err(CmdError::new("ERR Can not execute a script with write flag using *_ro command."));
        }
    }
    Ok(())
}

fn eval_generic(cx: &mut Ctx<'_>, evalsha: bool, ro: bool) -> CmdResult {
    // Redis's evalShaCommand: a SHA of the wrong length cannot match, and says so before anything else
    // (numkeys included) is looked at.
    if evalsha && cx.arg(1).len() != 40 {
        return Err(CmdError::new("NOSCRIPT No matching script. Please use EVAL."));
    }
    if cx.s.clients[cx.me].lua_debug {
        if !evalsha {
            return eval_debugging(cx, ro);
        }
        return Err(CmdError::new("ERR Please use EVAL instead of EVALSHA for debugging"));
    }
    run_eval(cx, evalsha, ro)
}

/// EVAL under SCRIPT DEBUG SYNC (Redis's evalGenericCommandWithDebugging): the script runs under the Lua
/// debugger (scripting::ldb), which talks to the client over its socket until the script ends; then the
/// EVAL's reply goes out and the connection closes, which tells the client the session is over. The
/// server serves no one else meanwhile, as Redis's synchronous sessions.
fn eval_debugging(cx: &mut Ctx<'_>, ro: bool) -> CmdResult {
    let stop = cx.s.knobs.shutdown_asap.clone();
    let me = cx.me;
    let Some(mut io) = cx.s.waiting.as_mut().and_then(|w| w.debug_io(me, stop)) else {
        cx.s.clients[me].lua_debug = false;
        return Err(CmdError::new("ERR The Lua debugger needs a client connected over a socket"));
    };
    // Replies of the requests before this one in the batch go first (inside EXEC the transaction's reply
    // is still being written: it comes after the session's logs, as in Redis).
    if !cx.s.exec.in_exec && !cx.out.buf.is_empty() {
        io.write(&cx.out.buf);
        cx.out.buf.clear();
    }
    log::warn!("Redis synchronous debugging eval session started");
    scripting::ldb::begin(io, cx.arg(1), cx.s.config.busy_reply_threshold);
    // Ended however the EVAL ends, a panic caught around the command included: a session left behind
    // would put the next scripts under the debugger.
    struct EndSession;
    impl Drop for EndSession {
        fn drop(&mut self) {
            scripting::ldb::end();
        }
    }
    let session = EndSession;
    let result = run_eval(cx, false, ro);
    drop(session);
    log::warn!("Redis synchronous debugging eval session ended");
    let c = &mut cx.s.clients[me];
    c.lua_debug = false;
    c.close_after_reply = true;
    result
}

fn run_eval(cx: &mut Ctx<'_>, evalsha: bool, ro: bool) -> CmdResult {
    let nk = numkeys(cx, 2)?;
    let sha = if evalsha {
        let sha = cx.arg(1).to_ascii_lowercase();
        let sha = String::from_utf8_lossy(&sha).into_owned();
        if !cx.s.scripts.cache.contains_key(&sha) {
            return Err(CmdError::new("NOSCRIPT No matching script. Please use EVAL."));
        }
        sha
    } else {
        cx.s.scripts.create(cx.arg(1))?
    };
    let script = &cx.s.scripts.cache[&sha];
    let not_ready = || CmdError::new("ERR scripting engine not ready");
    let vm = cx.s.scripts.vm.as_ref().ok_or_else(not_ready)?;
    let (flags, func) = (script.flags, vm.kept(&script.func).map_err(|e| CmdError::msg(format!("ERR {e}")))?);
    precheck_flags(cx.s, flags, ro)?;
    let keys: Vec<&[u8]> = (3..3 + nk).map(|i| cx.arg(i)).collect();
    let args: Vec<&[u8]> = (3 + nk..cx.argc()).map(|i| cx.arg(i)).collect();
    let vm = cx.s.scripts.vm.take().ok_or_else(not_ready)?;
    let outcome =
        run_script(cx, flags, ro, (true, &sha), |host, out| vm.run_eval(&func, &keys, &args, host, out, &sha));
    // SCRIPT FLUSH cannot run inside a script, so the VM slot is still empty.
    cx.s.scripts.vm = Some(vm);
    finish(cx, outcome)
}

/// EVAL script numkeys [key ...] [arg ...]
fn eval(cx: &mut Ctx<'_>) -> CmdResult {
    eval_generic(cx, false, false)
}

/// EVALSHA sha1 numkeys [key ...] [arg ...]
fn evalsha(cx: &mut Ctx<'_>) -> CmdResult {
    eval_generic(cx, true, false)
}

/// EVAL_RO script numkeys [key ...] [arg ...]
fn eval_ro(cx: &mut Ctx<'_>) -> CmdResult {
    eval_generic(cx, false, true)
}

/// EVALSHA_RO sha1 numkeys [key ...] [arg ...]
fn evalsha_ro(cx: &mut Ctx<'_>) -> CmdResult {
    eval_generic(cx, true, true)
}

/// Key positions of EVAL-like commands: numkeys at argv[2], keys after it.
pub fn eval_keys(argv: &[&[u8]]) -> Vec<usize> {
    let n = argv.get(2).and_then(|a| crate::types::num::parse_i64(a)).unwrap_or(0);
    // As Redis's genericGetKeys: a count past the arguments names no keys (the command will fail anyway),
    // so that ACL checks and COMMAND GETKEYS do not take the script's arguments for keys.
    if n <= 0 || n as usize > argv.len().saturating_sub(3) {
        return Vec::new();
    }
    (3..3 + n as usize).collect()
}

/// SCRIPT DEBUG YES|SYNC|NO. YES (a session in a forked child whose changes are thrown away) needs fork(),
/// which ferrodis does not use: it is refused with a pointer to SYNC.
fn script_debug(cx: &mut Ctx<'_>) -> CmdResult {
    if !cx.out.buf.is_empty() {
        return Err(CmdError::new("ERR SCRIPT DEBUG must be called outside a pipeline"));
    }
    let mode = cx.arg(2).to_ascii_lowercase();
    match mode.as_slice() {
        b"no" => cx.client().lua_debug = false,
        // The debugger talks over the client's socket; an in-process client has none.
        b"sync" if cx.client().local => {
            return Err(CmdError::new("ERR The Lua debugger needs a client connected over a socket"))
        }
        b"sync" => cx.client().lua_debug = true,
        b"yes" => {
            return Err(CmdError::new(
                "ERR SCRIPT DEBUG YES (a forked session whose changes are rolled back) is not supported: ferrodis \
                 does not fork. Use SCRIPT DEBUG SYNC (redis-cli --ldb-sync-mode), whose changes are kept",
            ))
        }
        _ => return Err(CmdError::new("ERR Use SCRIPT DEBUG YES/SYNC/NO")),
    }
    cx.out.ok();
    Ok(())
}

/// SCRIPT LOAD script
fn script_load(cx: &mut Ctx<'_>) -> CmdResult {
    let sha = cx.s.scripts.create(cx.arg(2))?;
    cx.out.bulk(sha.as_bytes());
    Ok(())
}

/// SCRIPT EXISTS sha1 [sha1 ...]
fn script_exists(cx: &mut Ctx<'_>) -> CmdResult {
    cx.out.array(cx.argc() - 2);
    for i in 2..cx.argc() {
        let sha = String::from_utf8_lossy(&cx.arg(i).to_ascii_lowercase()).into_owned();
        let found = cx.s.scripts.cache.contains_key(&sha);
        cx.out.int(found as i64);
    }
    Ok(())
}

/// SCRIPT FLUSH [ASYNC|SYNC]
fn script_flush(cx: &mut Ctx<'_>) -> CmdResult {
    match cx.argc() {
        2 => {}
        3 if cx.argv.is(2, "async") || cx.argv.is(2, "sync") => {}
        3 => return Err(CmdError::new("ERR SCRIPT FLUSH only support SYNC|ASYNC option")),
        _ => return Err(cx.subcommand_syntax()),
    }
    cx.s.scripts.flush();
    cx.out.ok();
    Ok(())
}

/// SCRIPT KILL: reaches a script only past busy-reply-threshold (see the module docs).
fn script_kill(cx: &mut Ctx<'_>) -> CmdResult {
    busy::kill(cx.s, true)?;
    cx.out.ok();
    Ok(())
}

/// SCRIPT HELP
fn script_help(cx: &mut Ctx<'_>) -> CmdResult {
    super::connection::help(
        cx,
        "SCRIPT",
        &[
            "DEBUG (YES|SYNC|NO)",
            "    Set the debug mode for subsequent scripts executed.",
            "EXISTS <sha1> [<sha1> ...]",
            "    Return information about the existence of the scripts in the script cache.",
            "FLUSH [ASYNC|SYNC]",
            "    Flush the Lua scripts cache. Very dangerous on replicas.",
            "    When called without the optional mode argument, the behavior is determined by the",
            "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the scripts cache.",
            "    * SYNC: Synchronously flush the scripts cache.",
            "KILL",
            "    Kill the currently executing Lua script.",
            "LOAD <script>",
            "    Load a script into the scripts cache without executing it.",
        ],
    )
}

const EVAL_FLAGS: u32 = NOSCRIPT | SKIP_MONITOR | MAY_REPLICATE | NO_MANDATORY_KEYS | STALE | MOVABLE_KEYS;
const EVAL_RO_FLAGS: u32 = NOSCRIPT | SKIP_MONITOR | NO_MANDATORY_KEYS | STALE | READONLY | MOVABLE_KEYS;

#[rustfmt::skip]
const SCRIPT_SUBS: &[CommandSpec] = &family("scripting", [
    cmd("script|debug", 3, NOSCRIPT, script_debug).acl(SCRIPTING).doc("3.2.0", "O(1)", "Set the debug mode for executed scripts."),
    cmd("script|exists", -3, NOSCRIPT, script_exists).acl(SCRIPTING).doc("2.6.0", "O(N) with N being the number of scripts to check (so checking a single script is an O(1) operation).", "Check existence of scripts in the script cache."),
    cmd("script|flush", -2, NOSCRIPT, script_flush).acl(SCRIPTING).doc("2.6.0", "O(N) with N being the number of scripts in cache", "Remove all the scripts from the script cache."),
    cmd("script|help", 2, LOADING | STALE, script_help).acl(SCRIPTING).doc("5.0.0", "O(1)", "Show helpful text about the different subcommands"),
    cmd("script|kill", 2, NOSCRIPT | ALLOW_BUSY, script_kill).acl(SCRIPTING).doc("2.6.0", "O(1)", "Kill the script currently in execution."),
    cmd("script|load", 3, NOSCRIPT | STALE, script_load).acl(SCRIPTING).doc("2.6.0", "O(N) with N being the length in bytes of the script body.", "Load the specified Lua script into the script cache."),
]);

#[rustfmt::skip]
pub const SPECS: &[CommandSpec] = &family("scripting", [
    cmd("eval", -3, EVAL_FLAGS, eval).acl(SCRIPTING).getkeys(eval_keys).doc("2.6.0", "Depends on the script that is executed.", "Execute a Lua script server side"),
    cmd("evalsha", -3, EVAL_FLAGS, evalsha).acl(SCRIPTING).getkeys(eval_keys).doc("2.6.0", "Depends on the script that is executed.", "Execute a Lua script server side"),
    cmd("eval_ro", -3, EVAL_RO_FLAGS, eval_ro).acl(SCRIPTING).getkeys(eval_keys).doc("7.0.0", "Depends on the script that is executed.", "Execute a read-only Lua script server side"),
    cmd("evalsha_ro", -3, EVAL_RO_FLAGS, evalsha_ro).acl(SCRIPTING).getkeys(eval_keys).doc("7.0.0", "Depends on the script that is executed.", "Execute a read-only Lua script server side"),
    cmd("script", -2, 0, container).subs(SCRIPT_SUBS).doc("2.6.0", "Depends on subcommand.", "A container for Lua scripts management commands"),
]);

#[cfg(test)]
mod tests {
    use crate::commands::spec::*;
    use crate::commands::testutil::{bulk, err, ints, new, ok, run, run_raw};

    #[test]
    fn eval_and_cache() {
        let mut t = new();
        assert_eq!(run(&mut t, &["eval", "return 'hello'", "0"]), bulk("hello"));
        assert_eq!(
            run(&mut t, &["script", "load", "return 'loaded'"]),
            bulk("b534286061d4b9e4026607613b95c06c06015ae8")
        );
        assert_eq!(run(&mut t, &["evalsha", "B534286061D4B9E4026607613B95C06C06015AE8", "0"]), bulk("loaded"));
        assert_eq!(
            run(&mut t, &["script", "exists", "b534286061d4b9e4026607613b95c06c06015ae8", "ffff"]),
            ints(&[1, 0])
        );
        assert_eq!(run(&mut t, &["script", "flush"]), ok());
        assert_eq!(
            run(&mut t, &["evalsha", "b534286061d4b9e4026607613b95c06c06015ae8", "0"]),
            err("NOSCRIPT No matching script. Please use EVAL.")
        );
    }

    #[test]
    fn declared_flags_replace_the_tables() {
        use crate::commands::{table, Argv};
        let t = new();
        let flags = |args: &[&[u8]]| {
            let (input, refs) = crate::commands::pack_args(args);
            let argv = Argv::new(&input, &[], &refs);
            let spec = table().resolve(&argv).unwrap();
            super::effective_flags(&t.s, spec, &argv)
        };
        let compat = flags(&[b"eval", b"return 1", b"0"]);
        assert!(compat & MAY_REPLICATE != 0 && compat & WRITE == 0);
        let ro = flags(&[b"eval", b"#!lua flags=no-writes\nreturn 1", b"0"]);
        assert!(ro & (MAY_REPLICATE | WRITE | DENYOOM) == 0);
        let rw = flags(&[b"eval", b"#!lua\nreturn 1", b"0"]);
        assert!(rw & WRITE != 0 && rw & DENYOOM != 0 && rw & MAY_REPLICATE == 0);
    }

    #[test]
    fn numkeys_errors() {
        let mut t = new();
        assert_eq!(run(&mut t, &["eval", "return 1", "-12"]), err("ERR Number of keys can't be negative"));
        assert_eq!(
            run(&mut t, &["eval", "return 1", "2", "a"]),
            err("ERR Number of keys can't be greater than number of args")
        );
        assert_eq!(run(&mut t, &["eval", "return 1", "x"]), err("ERR value is not an integer or out of range"));
    }

    #[test]
    fn calls_run_in_the_script_db_and_select_stays_inside() {
        let mut t = new();
        run(&mut t, &["set", "k", "v0"]);
        run(&mut t, &["select", "1"]);
        run(&mut t, &["set", "k", "v1"]);
        assert_eq!(run(&mut t, &["eval", "return redis.call('get', KEYS[1])", "1", "k"]), bulk("v1"));
        assert_eq!(run(&mut t, &["eval", "redis.call('select', '0') return redis.call('get', 'k')", "0"]), bulk("v0"));
        assert_eq!(run(&mut t, &["get", "k"]), bulk("v1"));
    }

    #[test]
    fn script_rules() {
        let mut t = new();
        assert!(run_raw(&mut t, &["eval_ro", "redis.call('del', 'x')", "0"])
            .starts_with("-ERR Write commands are not allowed from read-only scripts."));
        assert!(run_raw(&mut t, &["eval", "redis.call('multi')", "0"])
            .starts_with("-ERR This Redis command is not allowed from script"));
        assert!(run_raw(&mut t, &["eval", "redis.call('get', 'a', 'b')", "0"])
            .starts_with("-ERR Wrong number of args calling Redis command from script"));
        assert_eq!(
            run(&mut t, &["eval", "#!not-lua\nreturn 1", "0"]),
            err("ERR Unexpected engine in script shebang: #!not-lua")
        );
        assert_eq!(
            run(&mut t, &["eval", "#!lua flags=no-writes,bad\nreturn 1", "0"]),
            err("ERR Unexpected flag in script shebang: bad")
        );
        assert_eq!(
            run(&mut t, &["eval_ro", "#!lua\nreturn 1", "0"]),
            err("ERR Can not execute a script with write flag using *_ro command.")
        );
        assert!(run_raw(&mut t, &["eval", "#!lua flags=no-writes\nredis.call('set','x',1)", "0"])
            .starts_with("-ERR Write commands are not allowed from read-only scripts."));
        assert!(run_raw(&mut t, &["eval", "return +", "0"])
            .starts_with("-ERR Error compiling script (new function): user_script:1:"));
    }
}
