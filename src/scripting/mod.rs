//! The Lua engine behind EVAL and FUNCTION (scripting layer, used by the commands layer inside the
//! Keyspace actor).
//!
//! One Lua 5.1 VM for EVAL scripts and one for function libraries, as Redis 7.0 has. Each is sandboxed by
//! `prelude.lua` (locked globals, readonly library tables, Redis's `redis.*` API, its `pcall` and
//! `math.random`). The engine knows nothing of commands: `redis.call` reaches the server through a
//! [`Host`] that the caller supplies for the length of one run, and the replies come back as RESP bytes
//! that are turned into Lua values with the rules of Redis's script_lua.c. The value a script returns
//! is written as a reply with the same rules in the other direction.

pub mod bit;
pub mod cjson;
pub mod cmsgpack;
pub mod ldb;
pub mod lstruct;
pub mod raw;

use crate::resp::encode::Out;
use mlua::{Function, Lua, LuaOptions, MultiValue, StdLib, Table, Value};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// What a script can ask of the server while it runs.
pub trait Host {
    /// Run a command. Ok: its reply as RESP (possibly an error reply). Err: the script-level refusal
    /// (unknown command, arity, not allowed from scripts...), as Redis's scriptCall text.
    fn call(&mut self, args: Vec<Vec<u8>>) -> Result<Vec<u8>, String>;
    /// The protocol the script's own client speaks (redis.setresp).
    fn resp(&self) -> u8;
    fn set_resp(&mut self, resp: u8);
    /// redis.set_repl: which effects propagate (bit 1: AOF, bit 2: replicas).
    fn set_repl(&mut self, flags: u8);
    /// redis.acl_check_cmd: Err when the command does not exist.
    fn acl_check(&mut self, args: Vec<Vec<u8>>) -> Result<bool, String>;
    /// What the run's periodic hook watches.
    fn watch(&self) -> Watch;
    /// Called by the hook on every check once the run is past `Watch::threshold_ms` or `Watch::stop` is
    /// set (Redis's scriptInterrupt): serve the other clients. Some(error) stops the script with it.
    fn interrupt(&mut self) -> Option<String>;
}

/// What the periodic hook of a run watches.
pub struct Watch {
    /// busy-reply-threshold in ms (0: none): past it the script is busy and `Host::interrupt` is called on
    /// every check.
    pub threshold_ms: u64,
    /// Set when the server stops: `Host::interrupt` is called at the next check, whatever the threshold.
    pub stop: Option<Arc<AtomicBool>>,
}

/// Instructions between two checks of the run-time hook (as Redis's luaMaskCountHook).
const CHECK_EVERY: u32 = 100_000;

/// The run-time hook. Until the threshold it costs one atomic load and one clock read per check; past it
/// it calls `Host::interrupt` through the run's bridge (`host.fn`). When that says stop, the hook fires on
/// every line from then on, so that a script catching the error with pcall is stopped again at once.
fn set_guard(lua: &Lua, host: Table, watch: Watch, stopped: Rc<RefCell<Option<String>>>) {
    let start = std::time::Instant::now();
    let Watch { threshold_ms, stop } = watch;
    let _ = lua.set_hook(mlua::HookTriggers::new().every_nth_instruction(CHECK_EVERY), move |lua, _| {
        let stopping = stop.as_ref().is_some_and(|f| f.load(Ordering::Relaxed));
        if !stopping && (threshold_ms == 0 || (start.elapsed().as_millis() as u64) < threshold_ms) {
            return Ok(mlua::VmState::Continue);
        }
        let bridge: Function = host.raw_get("fn")?;
        let Value::String(msg) = bridge.call::<(bool, Value)>("interrupt")?.1 else {
            return Ok(mlua::VmState::Continue);
        };
        let msg = msg.to_string_lossy();
        *stopped.borrow_mut() = Some(msg.clone());
        let again = msg.clone();
        let _ = lua.set_hook(mlua::HookTriggers::EVERY_LINE, move |_, _| Err(mlua::Error::runtime(again.clone())));
        Err(mlua::Error::runtime(msg))
    });
}

/// How a run ended, once its reply is written.
pub enum Outcome {
    Ok,
    /// The script raised an error: the reply text (code first), and whether an error reply for it was
    /// already counted in the error stats (a failed redis.call).
    Err {
        msg: String,
        counted: bool,
    },
}

/// A function registered by a library under FUNCTION LOAD.
#[expect(dead_code, reason = "unused since the crate API went pub(crate); kept for the lead to use or remove")]
pub struct Registered {
    pub name: String,
    pub func: Function,
    pub desc: Option<String>,
    pub flags: Vec<String>,
}

/// Which kind of VM: EVAL scripts (KEYS/ARGV globals) or function libraries.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Eval,
    Functions,
}

pub struct Vm {
    lua: Lua,
    /// Shared with the prelude: `fn` is the bridge while a script runs, `register` while a library loads.
    host: Table,
    env: Table,
    run: Function,
    lib_env: Option<Table>,
    set_loading: Option<Function>,
    load: Option<Function>,
    /// Runs since the last garbage-collection step.
    runs: Cell<u32>,
}

const PRELUDE: &str = include_str!("prelude.lua");

/// Redis's rand48 state for math.random, one per VM (scripts see one sequence until reseeded).
struct Rand48(Cell<u64>);

impl Rand48 {
    fn next(&self) -> i32 {
        let x = self.0.get().wrapping_mul(0x5DEECE66D).wrapping_add(0xB) & ((1 << 48) - 1);
        self.0.set(x);
        (x >> 17) as i32
    }
    fn seed(&self, s: i32) {
        self.0.set((((s as u32) as u64) << 16) | 0x330E);
    }
}

fn version_num() -> i64 {
    let mut n = 0;
    for p in crate::REDIS_VERSION.split('.').take(3) {
        n = n * 256 + p.parse::<i64>().unwrap_or(0);
    }
    n
}

/// Lua numbers as Redis sends them as command arguments: "%.17g", exact for integers up to 2^53.
pub fn fmt_g17(d: f64) -> Vec<u8> {
    fmt_double(c"%.17g", d)
}

/// `d` printed by C's printf with `fmt`, a format taking one double (the debugger's dumps use "%g").
fn fmt_double(fmt: &std::ffi::CStr, d: f64) -> Vec<u8> {
    let mut buf = [0u8; 64];
    // SAFETY: callers pass formats taking exactly one double; snprintf writes at most buf.len() bytes.
    let n = unsafe { libc::snprintf(buf.as_mut_ptr() as *mut libc::c_char, buf.len(), fmt.as_ptr(), d) };
    buf[..(n.max(0) as usize).min(buf.len() - 1)].to_vec()
}

/// SHA1 of `data` in lowercase hex (script names, redis.sha1hex).
pub fn sha1hex(data: &[u8]) -> String {
    sha1_smol::Sha1::from(data).digest().to_string()
}

impl Vm {
    pub fn new(kind: Kind) -> mlua::Result<Vm> {
        // SAFETY: the debug library is needed by the prelude's error handler; the prelude removes the
        // `debug` global before any user code runs, as Redis does.
        let lua = unsafe {
            Lua::unsafe_new_with(StdLib::TABLE | StdLib::STRING | StdLib::MATH | StdLib::DEBUG, LuaOptions::new())
        };
        let g = lua.globals();
        g.raw_set("bit", bit::open(&lua)?)?;
        g.raw_set("cjson", cjson::open(&lua)?)?;
        g.raw_set("cmsgpack", cmsgpack::open(&lua)?)?;
        g.raw_set("struct", lstruct::open(&lua)?)?;
        let host = lua.create_table()?;
        host.raw_set("version", crate::REDIS_VERSION)?;
        host.raw_set("version_num", version_num())?;
        let sha1 = lua.create_function(|lua, v: Value| {
            let s = match lua.coerce_string(v)? {
                Some(s) => sha1hex(&s.as_bytes()),
                None => sha1hex(b""),
            };
            Ok(s)
        })?;
        let logf = lua.create_function(|_, (level, msg): (i64, mlua::LuaString)| {
            let msg = msg.to_string_lossy();
            match level {
                0 => log::debug!("{msg}"),
                1 => log::info!("{msg}"),
                2 => log::info!("{msg}"),
                _ => log::warn!("{msg}"),
            }
            Ok(())
        })?;
        let rng = Rc::new(Rand48(Cell::new(0x1234ABCD330E)));
        let r1 = rng.clone();
        let rand = lua.create_function(move |_, ()| {
            const MAX: i64 = i32::MAX as i64;
            Ok((r1.next() as i64 % MAX) as f64 / MAX as f64)
        })?;
        let srand = lua.create_function(move |_, s: f64| {
            rng.seed(s as i64 as i32);
            Ok(())
        })?;
        // SAFETY: these only use the Lua C API on the state they are given.
        let calls = unsafe {
            lua.create_sequence_from([
                lua.create_c_function(redis_call)?,
                lua.create_c_function(redis_pcall)?,
                lua.create_c_function(ldb::lua_debug)?,
                lua.create_c_function(ldb::lua_breakpoint)?,
                lua.create_c_function(lib_wrap)?,
            ])?
        };
        let mode = if kind == Kind::Eval { "eval" } else { "function" };
        let parts: Table =
            lua.load(PRELUDE).set_name("=redis_api").call((host.clone(), mode, sha1, logf, rand, srand, calls))?;
        lua.set_named_registry_value(RAW_CALL, parts.raw_get::<Function>("raw_call")?)?;
        Ok(Vm {
            env: parts.raw_get("env")?,
            run: parts.raw_get("run")?,
            lib_env: parts.raw_get("lib_env")?,
            set_loading: parts.raw_get("set_loading")?,
            load: parts.raw_get("load")?,
            runs: Cell::new(0),
            host,
            lua,
        })
    }

    /// Bytes of memory the VM uses (INFO used_memory_lua).
    pub fn used_memory(&self) -> usize {
        self.lua.used_memory()
    }

    /// Keep a function for later calls in the Lua registry. A `Function` handle held in Rust takes a slot
    /// of mlua's auxiliary stack, which Lua 5.1 caps at 8000 (LUAI_MAXCSTACK): a cache of that many scripts
    /// made every later compile fail with "out of Lua stack". Registry references have no such cap.
    pub fn keep(&self, f: Function) -> Result<mlua::RegistryKey, String> {
        self.lua.create_registry_value(f).map_err(|e| e.to_string())
    }

    /// A function kept by [`Vm::keep`], for one call (its handle goes when dropped).
    pub fn kept(&self, key: &mlua::RegistryKey) -> Result<Function, String> {
        self.lua.registry_value(key).map_err(|e| e.to_string())
    }

    /// Compile an EVAL script body (after its shebang line) into a function.
    pub fn compile(&self, body: &[u8], name: &str) -> Result<Function, String> {
        let env = self.lib_env.clone().unwrap_or_else(|| self.env.clone());
        self.lua
            .load(body)
            .set_name(name)
            .set_mode(mlua::chunk::ChunkMode::Text)
            .set_environment(env)
            .into_function()
            .map_err(|e| match e {
                mlua::Error::SyntaxError { message, .. } => message,
                other => other.to_string(),
            })
    }

    /// Run an EVAL script: KEYS and ARGV become globals, the result is written to `out`.
    pub fn run_eval(
        &self,
        f: &Function,
        keys: &[&[u8]],
        args: &[&[u8]],
        host: &mut dyn Host,
        out: &mut Out,
        name: &str,
    ) -> Outcome {
        let g = self.lua.globals();
        let set = || -> mlua::Result<()> {
            g.raw_set("KEYS", self.array(keys)?)?;
            g.raw_set("ARGV", self.array(args)?)?;
            Ok(())
        };
        if let Err(e) = set() {
            return Outcome::Err { msg: format!("ERR {e}"), counted: false };
        }
        self.run_with(host, out, name, |vm| vm.run.call::<MultiValue>(f))
    }

    /// Run a library function: it gets the KEYS and ARGV tables as arguments.
    pub fn run_function(
        &self,
        f: &Function,
        keys: &[&[u8]],
        args: &[&[u8]],
        host: &mut dyn Host,
        out: &mut Out,
        name: &str,
    ) -> Outcome {
        let (k, a) = match (self.array(keys), self.array(args)) {
            (Ok(k), Ok(a)) => (k, a),
            (Err(e), _) | (_, Err(e)) => return Outcome::Err { msg: format!("ERR {e}"), counted: false },
        };
        self.run_with(host, out, name, |vm| vm.run.call::<MultiValue>((f, k, a)))
    }

    fn array(&self, items: &[&[u8]]) -> mlua::Result<Table> {
        let t = self.lua.create_table_with_capacity(items.len(), 0)?;
        for (i, it) in items.iter().enumerate() {
            t.raw_set(i + 1, self.lua.create_string(it)?)?;
        }
        Ok(t)
    }

    fn run_with(
        &self,
        host: &mut dyn Host,
        out: &mut Out,
        name: &str,
        go: impl FnOnce(&Vm) -> mlua::Result<MultiValue>,
    ) -> Outcome {
        let stopped = Rc::new(RefCell::new(None));
        if ldb::active() {
            // SCRIPT DEBUG SYNC: the debugger's hook, which stops the script itself (and serves no one else,
            // as Redis's synchronous sessions do not).
            ldb::install(&self.lua);
        } else {
            set_guard(&self.lua, self.host.clone(), host.watch(), stopped.clone());
        }
        let host = RefCell::new(host);
        let res = self.lua.scope(|scope| {
            let bridge = scope.create_function(|lua, args: MultiValue| bridge(lua, &host, args))?;
            self.host.raw_set("fn", bridge)?;
            let r = go(self);
            self.host.raw_set("fn", Value::Nil)?;
            r
        });
        self.lua.remove_hook();
        let host = host.into_inner();
        // As Redis: a bounded incremental GC step every 50 runs rather than a full cycle now and then.
        self.runs.set(self.runs.get() + 1);
        if self.runs.get() >= 50 {
            self.runs.set(0);
            // SAFETY: a GC step on the VM's own state, outside any running Lua code.
            let _ = unsafe {
                self.lua.exec_raw::<()>((), |state| {
                    mlua::ffi::lua_gc(state, mlua::ffi::LUA_GCSTEP, 50);
                })
            };
        }
        let mut vals = match res {
            Ok(v) => v.into_iter(),
            Err(e) => return Outcome::Err { msg: format!("ERR {e}"), counted: false },
        };
        let ok = matches!(vals.next(), Some(Value::Boolean(true)));
        let v = vals.next().unwrap_or(Value::Nil);
        if ok {
            // A returned error table is the command's error reply (counted unless a failed call made it).
            if let Value::Table(t) = &v {
                if let Value::String(e) = field(t, "err") {
                    let counted = matches!(field(t, "ignore_error_stats_update"), Value::Boolean(true));
                    return Outcome::Err { msg: e.to_string_lossy(), counted };
                }
            }
            reply_value(&self.lua, &v, out, host.resp());
            return Outcome::Ok;
        }
        // {err=..., source=..., line=...} from the error handler.
        let Value::Table(t) = v else {
            return Outcome::Err { msg: "ERR Error running script, execution failure".into(), counted: false };
        };
        let msg = match t.raw_get::<Value>("err") {
            Ok(Value::String(s)) => s.to_string_lossy(),
            _ => String::from("ERR unknown error"),
        };
        let counted = matches!(t.raw_get::<Value>("ignore_error_stats_update"), Ok(Value::Boolean(true)));
        let source: Option<String> =
            t.raw_get::<Option<mlua::LuaString>>("source").ok().flatten().map(|s| s.to_string_lossy());
        let line: Option<String> = match t.raw_get::<Value>("line") {
            Ok(Value::Integer(i)) => Some(i.to_string()),
            Ok(Value::Number(n)) => Some((n as i64).to_string()),
            _ => None,
        };
        let mut msg = stopped.take().unwrap_or(msg);
        if let (Some(src), Some(line)) = (source, line) {
            msg = format!("{msg} script: {name}, on {src}:{line}.");
        }
        Outcome::Err { msg, counted }
    }

    /// Run a library's body under FUNCTION LOAD; `register` is called for each redis.register_function.
    /// A run longer than `timeout_ms` is stopped.
    pub fn load_library(
        &self,
        body: &[u8],
        timeout_ms: u64,
        register: &mut dyn FnMut(&Lua, MultiValue) -> Result<(), String>,
    ) -> Result<(), (bool, String)> {
        let f = self.compile(body, "@user_function").map_err(|e| (true, e))?;
        let (Some(set_loading), Some(load)) = (&self.set_loading, &self.load) else {
            return Err((false, "ERR not a function VM".into()));
        };
        let register = RefCell::new(register);
        let start = std::time::Instant::now();
        let _ = self.lua.set_hook(mlua::HookTriggers::new().every_nth_instruction(100_000), move |_, _| {
            if start.elapsed().as_millis() as u64 >= timeout_ms {
                return Err(mlua::Error::runtime("FUNCTION LOAD timeout"));
            }
            Ok(mlua::VmState::Continue)
        });
        let res = self.lua.scope(|scope| {
            let reg = scope.create_function(|lua, args: MultiValue| Ok((register.borrow_mut())(lua, args).err()))?;
            self.host.raw_set("register", reg)?;
            set_loading.call::<()>(true)?;
            let r = load.call::<MultiValue>(f);
            set_loading.call::<()>(false)?;
            self.host.raw_set("register", Value::Nil)?;
            r
        });
        self.lua.remove_hook();
        let mut vals = res.map_err(|e| (false, format!("ERR {e}")))?.into_iter();
        if matches!(vals.next(), Some(Value::Boolean(true))) {
            return Ok(());
        }
        match vals.next() {
            Some(Value::Table(t)) => match t.raw_get::<Value>("err") {
                Ok(Value::String(s)) => Err((false, s.to_string_lossy())),
                _ => Err((false, "ERR unknown error".into())),
            },
            _ => Err((false, "ERR unknown error".into())),
        }
    }
}

/// Registry key of the prelude's raw call: (args...) -> (raise?, reply or error table).
const RAW_CALL: &str = "ferrodis.raw_call";
const RAW_CALL_C: &std::ffi::CStr = c"ferrodis.raw_call";

/// redis.call and redis.pcall are C functions: an error raised by a Lua wrapper would lose the user's
/// line when the script tail-calls it (`return redis.call(...)`), and packing the arguments into a
/// table lets a script pass thousands of them (`unpack` of a big table) without overflowing a callback's
/// argument stack.
unsafe fn call_generic(l: *mut mlua::ffi::lua_State, raise: bool) -> std::ffi::c_int {
    use mlua::ffi;
    let n = ffi::lua_gettop(l);
    ffi::lua_createtable(l, n, 0);
    for i in 1..=n {
        ffi::lua_pushvalue(l, i);
        ffi::lua_rawseti(l, -2, i.into());
    }
    ffi::lua_getfield(l, ffi::LUA_REGISTRYINDEX, RAW_CALL_C.as_ptr());
    ffi::lua_pushnumber(l, n as ffi::lua_Number);
    ffi::lua_pushvalue(l, -3);
    // raw_call(n, args) -> raise?, reply or error table
    ffi::lua_call(l, 2, 2);
    if raise && ffi::lua_toboolean(l, -2) != 0 {
        // The error table is on top; lua_error does not return.
        ffi::lua_error(l);
    }
    1
}

/// `lib(f)`: `f` (a prelude function of the redis or math library) behind a C function. A script's
/// `return redis.log(99, 'x')` is a tail call, and a tail call into a Lua function takes the script's own
/// frame off the stack, and with it the position Redis puts in the error ("... script: <sha>, on
/// @user_script:1."). A tail call into a C function keeps the caller's frame, as with Redis's C library.
unsafe extern "C-unwind" fn lib_wrap(l: *mut mlua::ffi::lua_State) -> std::ffi::c_int {
    use mlua::ffi;
    ffi::lua_settop(l, 1);
    ffi::lua_pushcclosure(l, lib_call, 1);
    1
}

/// The C function `lib_wrap` makes: calls its upvalue with its arguments and returns what it returns.
unsafe extern "C-unwind" fn lib_call(l: *mut mlua::ffi::lua_State) -> std::ffi::c_int {
    use mlua::ffi;
    let n = ffi::lua_gettop(l);
    ffi::lua_pushvalue(l, ffi::lua_upvalueindex(1));
    ffi::lua_insert(l, 1);
    ffi::lua_call(l, n, ffi::LUA_MULTRET);
    ffi::lua_gettop(l)
}

unsafe extern "C-unwind" fn redis_call(l: *mut mlua::ffi::lua_State) -> std::ffi::c_int {
    call_generic(l, true)
}

unsafe extern "C-unwind" fn redis_pcall(l: *mut mlua::ffi::lua_State) -> std::ffi::c_int {
    call_generic(l, false)
}

/// The `H.fn` bridge: ("call", n, {args}) -> (raise?, value); ("setresp", n); ("set_repl", n); ("acl", args...).
fn bridge(lua: &Lua, host: &RefCell<&mut dyn Host>, args: MultiValue) -> mlua::Result<(bool, Value)> {
    let mut it = args.into_iter();
    let op = match it.next() {
        Some(Value::String(s)) => s.to_string_lossy(),
        _ => String::new(),
    };
    let mut host = host.try_borrow_mut().map_err(|_| mlua::Error::runtime("recursive call"))?;
    match op.as_str() {
        "call" | "acl" => {
            let argv = if op == "call" {
                // (n, {args}) from call_generic: nils inside count as arguments (and are refused).
                let n = it.next().and_then(|v| num_of(&v)).unwrap_or(0.0) as usize;
                match it.next() {
                    Some(Value::Table(t)) => lua_args((1..=n).map(|i| t.raw_get::<Value>(i).unwrap_or(Value::Nil))),
                    _ => lua_args(std::iter::empty()),
                }
            } else {
                lua_args(it)
            };
            let argv = match argv {
                Ok(a) => a,
                Err(e) => {
                    if ldb::logging() {
                        ldb::log_error(&e);
                    }
                    return Ok((true, err_table(lua, &e, false)?));
                }
            };
            if op == "acl" {
                return match host.acl_check(argv) {
                    Ok(b) => Ok((false, Value::Boolean(b))),
                    Err(e) => Ok((true, err_table(lua, &e, false)?)),
                };
            }
            // Under the debugger, while stepping: the command and its reply go to its log.
            let logging = ldb::logging();
            if logging {
                ldb::log_command(&argv);
            }
            match host.call(argv) {
                Ok(reply) => {
                    if logging {
                        ldb::log_reply(&reply);
                    }
                    let is_err = reply.first() == Some(&b'-') || reply.first() == Some(&b'!');
                    let mut p = 0;
                    let v = parse_reply(lua, &reply, &mut p, 0)?;
                    Ok((is_err, v))
                }
                Err(e) => {
                    if logging {
                        ldb::log_error(&e);
                    }
                    Ok((true, err_table(lua, &e, true)?))
                }
            }
        }
        "setresp" => {
            let n = it.next().and_then(|v| num_of(&v)).unwrap_or(2.0) as u8;
            host.set_resp(n);
            Ok((false, Value::Nil))
        }
        "set_repl" => {
            let n = it.next().and_then(|v| num_of(&v)).unwrap_or(3.0) as u8;
            host.set_repl(n);
            Ok((false, Value::Nil))
        }
        // From the run-time hook (set_guard), between two instructions: never inside a redis.call.
        "interrupt" => match host.interrupt() {
            Some(msg) => Ok((false, Value::String(lua.create_string(&msg)?))),
            None => Ok((false, Value::Nil)),
        },
        _ => Ok((true, err_table(lua, "unknown bridge operation", false)?)),
    }
}

fn num_of(v: &Value) -> Option<f64> {
    match v {
        Value::Integer(i) => Some(*i as f64),
        Value::Number(n) => Some(*n),
        Value::String(s) => s.to_str().ok().and_then(|s| s.trim().parse().ok()),
        _ => None,
    }
}

/// redis.call's arguments: strings as they are, numbers as "%.17g"; anything else is refused.
fn lua_args(it: impl Iterator<Item = Value>) -> Result<Vec<Vec<u8>>, String> {
    let mut argv = Vec::new();
    for v in it {
        match v {
            Value::String(s) => argv.push(s.as_bytes().to_vec()),
            Value::Integer(i) => argv.push(fmt_g17(i as f64)),
            Value::Number(n) => argv.push(fmt_g17(n)),
            _ => return Err("Lua redis lib command arguments must be strings or integers".into()),
        }
    }
    if argv.is_empty() {
        return Err("Please specify at least one argument for this redis lib call".into());
    }
    Ok(argv)
}

/// An error table as Redis's luaPushErrorBuff builds it: "-CODE msg" keeps its code, other texts get ERR.
fn err_table(lua: &Lua, e: &str, counted: bool) -> mlua::Result<Value> {
    let t = lua.create_table()?;
    t.raw_set("err", error_text(e))?;
    if counted {
        t.raw_set("ignore_error_stats_update", true)?;
    }
    Ok(Value::Table(t))
}

/// "-CODE msg" -> "CODE msg"; "msg" -> "ERR msg"; trailing CR/LF trimmed.
pub fn error_text(e: &str) -> String {
    let (code, msg) = match e.strip_prefix('-') {
        Some(rest) => match rest.split_once(' ') {
            Some((c, m)) => (c, m),
            None => ("ERR", rest),
        },
        None => ("ERR", e),
    };
    format!("{code} {}", msg.trim_matches(|c| c == '\r' || c == '\n'))
}

fn line_at<'a>(buf: &'a [u8], p: &mut usize) -> &'a [u8] {
    let start = *p;
    let end = buf[start..].windows(2).position(|w| w == b"\r\n").map(|i| start + i).unwrap_or(buf.len());
    *p = (end + 2).min(buf.len());
    &buf[start..end]
}

fn int_of(b: &[u8]) -> i64 {
    std::str::from_utf8(b).ok().and_then(|s| s.parse().ok()).unwrap_or(0)
}

/// How deep a command's reply may nest when it is turned into Lua values.
const MAX_REPLY_DEPTH: usize = 128;

/// A command's RESP reply as a Lua value (script_lua.c's redisProtocolToLuaType): integers become
/// numbers, bulk strings strings, null bulk/array false, status {ok=}, error {err=}, arrays tables;
/// RESP3 adds nil, booleans, {double=}, {map=}, {set=}, {big_number=}, {verbatim_string=}.
fn parse_reply(lua: &Lua, buf: &[u8], p: &mut usize, depth: usize) -> mlua::Result<Value> {
    // Command replies nest a few levels at most; the bound only keeps a malformed buffer from recursing
    // without end (Redis stops the server there: "lua stack limit reach when parsing redis.call reply").
    if depth > MAX_REPLY_DEPTH {
        return Err(mlua::Error::runtime("lua stack limit reach when parsing redis.call reply"));
    }
    if *p >= buf.len() {
        return Ok(Value::Nil);
    }
    let kind = buf[*p];
    *p += 1;
    let line = line_at(buf, p);
    let single = |field: &str, v: Value| -> mlua::Result<Value> {
        let t = lua.create_table()?;
        t.raw_set(field, v)?;
        Ok(Value::Table(t))
    };
    Ok(match kind {
        b':' => Value::Number(int_of(line) as f64),
        b'+' => single("ok", Value::String(lua.create_string(line)?))?,
        b'-' => {
            let t = lua.create_table()?;
            t.raw_set("err", error_text(&format!("-{}", String::from_utf8_lossy(line))))?;
            t.raw_set("ignore_error_stats_update", true)?;
            Value::Table(t)
        }
        b'$' | b'=' | b'!' => {
            let n = int_of(line);
            if n < 0 {
                return Ok(Value::Boolean(false));
            }
            let start = *p;
            let end = (start + n as usize).min(buf.len());
            *p = (end + 2).min(buf.len());
            let data = &buf[start..end];
            match kind {
                b'$' => Value::String(lua.create_string(data)?),
                b'!' => {
                    let t = lua.create_table()?;
                    t.raw_set("err", error_text(&format!("-{}", String::from_utf8_lossy(data))))?;
                    t.raw_set("ignore_error_stats_update", true)?;
                    Value::Table(t)
                }
                _ => {
                    let inner = lua.create_table()?;
                    inner.raw_set("format", lua.create_string(&data[..3.min(data.len())])?)?;
                    inner.raw_set("string", lua.create_string(data.get(4..).unwrap_or_default())?)?;
                    single("verbatim_string", Value::Table(inner))?
                }
            }
        }
        b'*' | b'>' => {
            let n = int_of(line);
            if n < 0 {
                return Ok(Value::Boolean(false));
            }
            let t = lua.create_table_with_capacity(n.min(1 << 16) as usize, 0)?;
            for i in 0..n {
                let v = parse_reply(lua, buf, p, depth + 1)?;
                t.raw_set(i + 1, v)?;
            }
            Value::Table(t)
        }
        b'%' => {
            let n = int_of(line);
            let m = lua.create_table()?;
            for _ in 0..n {
                let k = parse_reply(lua, buf, p, depth + 1)?;
                let v = parse_reply(lua, buf, p, depth + 1)?;
                if k != Value::Nil {
                    m.raw_set(k, v)?;
                }
            }
            single("map", Value::Table(m))?
        }
        b'~' => {
            let n = int_of(line);
            let m = lua.create_table()?;
            for _ in 0..n {
                let k = parse_reply(lua, buf, p, depth + 1)?;
                if k != Value::Nil {
                    m.raw_set(k, true)?;
                }
            }
            single("set", Value::Table(m))?
        }
        b'|' => {
            // Attributes are not shown to scripts: skip them, then read the reply they decorate.
            let n = int_of(line);
            for _ in 0..2 * n {
                parse_reply(lua, buf, p, depth + 1)?;
            }
            parse_reply(lua, buf, p, depth + 1)?
        }
        b'_' => Value::Nil,
        b'#' => Value::Boolean(line == b"t"),
        b',' => {
            let s = String::from_utf8_lossy(line);
            let d = match s.as_ref() {
                "inf" => f64::INFINITY,
                "-inf" => f64::NEG_INFINITY,
                "nan" => f64::NAN,
                s => s.parse().unwrap_or(0.0),
            };
            single("double", Value::Number(d))?
        }
        b'(' => single("big_number", Value::String(lua.create_string(line)?))?,
        _ => Value::Nil,
    })
}

fn field(t: &Table, name: &str) -> Value {
    t.raw_get::<Value>(name).unwrap_or(Value::Nil)
}

/// LUAI_MAXCSTACK: the slots a C function may use, past which `lua_checkstack` refuses.
const LUA_MAX_C_STACK: std::ffi::c_int = 8000;

/// Write a Lua value as the reply (script_lua.c's luaReplyToRedisReply). `script_resp` is the protocol
/// the script chose with redis.setresp: under RESP2 booleans are 1 / null.
///
/// As in Redis the nested tables sit on the Lua stack while they are written, and a value past the
/// stack's limit is written as "-ERR reached lua stack limit" (so a table that holds itself ends); the
/// walk uses an explicit stack of frames, so no nesting can exhaust the thread's own stack.
pub fn reply_value(lua: &Lua, v: &Value, out: &mut Out, script_resp: u8) {
    // SAFETY: the walk only reads tables and pushes/pops within the slots lua_checkstack granted.
    let res = unsafe { lua.exec_raw::<()>(v.clone(), |l| reply_raw(l, out, script_resp)) };
    if res.is_err() {
        out.error("ERR reached lua stack limit");
    }
}

/// A table being written: an array (its next index), a map (whether the current pair's value is next)
/// or a set; the table (and a map's or set's inner table and iteration key) are on the stack.
enum ReplyFrame {
    Array(f64),
    Map { value_next: bool },
    Set,
}

/// The number of pairs of the table on top.
unsafe fn count_pairs(l: *mut mlua::ffi::lua_State) -> usize {
    use mlua::ffi;
    let mut n = 0;
    ffi::lua_pushnil(l);
    while ffi::lua_next(l, -2) != 0 {
        ffi::lua_pop(l, 1);
        n += 1;
    }
    n
}

/// Bytes of a C string as Redis's sdsnew/lua_tostring sees it: up to the first NUL, CR and LF as spaces.
fn status_bytes(b: &[u8]) -> Vec<u8> {
    let b = &b[..b.iter().position(|&c| c == 0).unwrap_or(b.len())];
    b.iter().map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c }).collect()
}

/// Start writing the value on top of the stack: scalars and the special tables are written and popped;
/// an array, map or set has its header written and its frame returned.
unsafe fn reply_start(l: *mut mlua::ffi::lua_State, out: &mut Out, script_resp: u8) -> Option<ReplyFrame> {
    use mlua::ffi;
    // Redis converts with its error handler and the value on the stack of the finished call; here the
    // value is the only argument, one slot less.
    if ffi::lua_gettop(l) + 1 + 4 > LUA_MAX_C_STACK || ffi::lua_checkstack(l, 4) == 0 {
        out.error("ERR reached lua stack limit");
        ffi::lua_pop(l, 1);
        return None;
    }
    let bytes = |idx| raw::to_bytes(l, idx).unwrap_or_default();
    // Push t[name] (raw) and return its type.
    let get = |name: &std::ffi::CStr, idx| {
        ffi::lua_pushstring_(l, name.as_ptr());
        ffi::lua_rawget_(l, idx - 1);
        ffi::lua_type(l, -1)
    };
    match ffi::lua_type(l, -1) {
        ffi::LUA_TSTRING => out.bulk(bytes(-1)),
        ffi::LUA_TBOOLEAN => {
            let b = ffi::lua_toboolean(l, -1) != 0;
            match (script_resp, b) {
                (2, true) => out.int(1),
                (2, false) => out.nil(),
                _ => out.boolean(b),
            }
        }
        ffi::LUA_TNUMBER => out.int(raw::c_i64(ffi::lua_tonumber(l, -1))),
        ffi::LUA_TTABLE => {
            if get(c"err", -1) == ffi::LUA_TSTRING {
                out.error_bytes(bytes(-1));
                ffi::lua_pop(l, 2);
                return None;
            }
            ffi::lua_pop(l, 1);
            if get(c"ok", -1) == ffi::LUA_TSTRING {
                let s = status_bytes(bytes(-1));
                out.buf.push(b'+');
                out.raw(&s);
                out.raw(b"\r\n");
                ffi::lua_pop(l, 2);
                return None;
            }
            ffi::lua_pop(l, 1);
            if get(c"double", -1) == ffi::LUA_TNUMBER {
                out.double(ffi::lua_tonumber(l, -1));
                ffi::lua_pop(l, 2);
                return None;
            }
            ffi::lua_pop(l, 1);
            if get(c"big_number", -1) == ffi::LUA_TSTRING {
                let s: Vec<u8> = bytes(-1).iter().map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c }).collect();
                if out.resp >= 3 {
                    out.buf.push(b'(');
                    out.raw(&s);
                    out.raw(b"\r\n");
                } else {
                    out.bulk(&s);
                }
                ffi::lua_pop(l, 2);
                return None;
            }
            ffi::lua_pop(l, 1);
            if get(c"verbatim_string", -1) == ffi::LUA_TTABLE {
                if get(c"format", -1) == ffi::LUA_TSTRING {
                    if get(c"string", -2) == ffi::LUA_TSTRING {
                        let s = bytes(-1);
                        if out.resp >= 3 {
                            // Three format characters, a C string padded with spaces, as addReplyVerbatim.
                            let f = bytes(-2);
                            let f = &f[..f.iter().position(|&c| c == 0).unwrap_or(f.len())];
                            let mut ext = [b' '; 3];
                            for (d, &c) in ext.iter_mut().zip(f) {
                                *d = c;
                            }
                            out.raw(format!("={}\r\n", s.len() + 4).as_bytes());
                            out.raw(&ext);
                            out.buf.push(b':');
                            out.raw(s);
                            out.raw(b"\r\n");
                        } else {
                            out.bulk(s);
                        }
                        ffi::lua_pop(l, 4);
                        return None;
                    }
                    ffi::lua_pop(l, 1);
                }
                ffi::lua_pop(l, 1);
            }
            ffi::lua_pop(l, 1);
            if get(c"map", -1) == ffi::LUA_TTABLE {
                out.map(count_pairs(l));
                ffi::lua_pushnil(l);
                return Some(ReplyFrame::Map { value_next: false });
            }
            ffi::lua_pop(l, 1);
            if get(c"set", -1) == ffi::LUA_TTABLE {
                out.set(count_pairs(l));
                ffi::lua_pushnil(l);
                return Some(ReplyFrame::Set);
            }
            ffi::lua_pop(l, 1);
            // An array: elements 1..n up to the first nil.
            let mut n = 0;
            loop {
                ffi::lua_rawgeti_(l, -1, n + 1);
                let end = ffi::lua_type(l, -1) == ffi::LUA_TNIL;
                ffi::lua_pop(l, 1);
                if end {
                    break;
                }
                n += 1;
            }
            out.array(n as usize);
            return Some(ReplyFrame::Array(1.0));
        }
        _ => out.nil(),
    }
    ffi::lua_pop(l, 1);
    None
}

/// luaReplyToRedisReply over the value on top, nested tables included, in Redis's order and stack use.
unsafe fn reply_raw(l: *mut mlua::ffi::lua_State, out: &mut Out, script_resp: u8) {
    use mlua::ffi;
    let mut frames: Vec<ReplyFrame> = Vec::new();
    let mut convert = true;
    loop {
        if convert {
            if let Some(f) = reply_start(l, out, script_resp) {
                frames.push(f);
            }
        }
        // The next value of the innermost table onto the stack, or that table finished (and popped).
        let Some(f) = frames.last_mut() else { return };
        convert = match f {
            ReplyFrame::Array(j) => {
                ffi::lua_pushnumber(l, *j);
                ffi::lua_rawget_(l, -2);
                if ffi::lua_type(l, -1) == ffi::LUA_TNIL {
                    ffi::lua_pop(l, 2);
                    frames.pop();
                    false
                } else {
                    *j += 1.0;
                    true
                }
            }
            ReplyFrame::Map { value_next } => {
                if *value_next {
                    *value_next = false;
                    true
                } else if ffi::lua_next(l, -2) == 0 {
                    ffi::lua_pop(l, 2);
                    frames.pop();
                    false
                } else {
                    // Stack: table, map, key, value: write a copy of the key, then the value.
                    ffi::lua_pushvalue(l, -2);
                    *value_next = true;
                    true
                }
            }
            ReplyFrame::Set => {
                if ffi::lua_next(l, -2) == 0 {
                    ffi::lua_pop(l, 2);
                    frames.pop();
                    false
                } else {
                    ffi::lua_pop(l, 1);
                    ffi::lua_pushvalue(l, -1);
                    true
                }
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Echo {
        resp: u8,
        calls: Vec<Vec<Vec<u8>>>,
        stop: Arc<AtomicBool>,
        threshold_ms: u64,
        /// What `interrupt` answers.
        answer: Option<String>,
        interrupts: u32,
    }

    fn echo() -> Echo {
        Echo {
            resp: 2,
            calls: Vec::new(),
            stop: Arc::new(AtomicBool::new(false)),
            threshold_ms: 20,
            // As SCRIPT KILL arriving at the first check past the threshold.
            answer: Some("ERR Script killed by user with SCRIPT KILL...".into()),
            interrupts: 0,
        }
    }

    impl Host for Echo {
        fn call(&mut self, args: Vec<Vec<u8>>) -> Result<Vec<u8>, String> {
            self.calls.push(args.clone());
            match args[0].as_slice() {
                b"int" => Ok(b":42\r\n".to_vec()),
                b"nil" => Ok(b"$-1\r\n".to_vec()),
                b"err" => Ok(b"-WRONGTYPE bad\r\n".to_vec()),
                b"arr" => Ok(b"*3\r\n$1\r\na\r\n:2\r\n*-1\r\n".to_vec()),
                b"map" => Ok(b"%1\r\n$1\r\nk\r\n,1.5\r\n".to_vec()),
                _ => Err("Unknown Redis command called from script".into()),
            }
        }
        fn resp(&self) -> u8 {
            self.resp
        }
        fn set_resp(&mut self, resp: u8) {
            self.resp = resp;
        }
        fn set_repl(&mut self, _: u8) {}
        fn acl_check(&mut self, _: Vec<Vec<u8>>) -> Result<bool, String> {
            Ok(true)
        }
        fn watch(&self) -> Watch {
            Watch { threshold_ms: self.threshold_ms, stop: Some(self.stop.clone()) }
        }
        fn interrupt(&mut self) -> Option<String> {
            self.interrupts += 1;
            self.answer.clone()
        }
    }

    fn eval(src: &str) -> (String, Vec<Vec<Vec<u8>>>) {
        let mut h = echo();
        (eval_with(src, &mut h), h.calls)
    }

    fn eval_with(src: &str, h: &mut Echo) -> String {
        let vm = Vm::new(Kind::Eval).unwrap();
        let f = vm.compile(src.as_bytes(), "@user_script").unwrap();
        let mut out = Out::new(2);
        match vm.run_eval(&f, &[b"k1"], &[b"a1"], h, &mut out, "sha") {
            Outcome::Ok => String::from_utf8_lossy(&out.buf).into_owned(),
            Outcome::Err { msg, .. } => format!("-{msg}"),
        }
    }

    #[test]
    fn conversions_lua_to_resp() {
        assert_eq!(eval("return 100.5").0, ":100\r\n");
        assert_eq!(eval("return 'x'").0, "$1\r\nx\r\n");
        assert_eq!(eval("return true").0, ":1\r\n");
        assert_eq!(eval("return false").0, "$-1\r\n");
        assert_eq!(eval("return {1,2,nil,4}").0, "*2\r\n:1\r\n:2\r\n");
        assert_eq!(eval("return {ok='fine'}").0, "+fine\r\n");
        assert_eq!(eval("return {err='ERR bad'}").0, "-ERR bad");
        assert_eq!(eval("return {KEYS[1], ARGV[1]}").0, "*2\r\n$2\r\nk1\r\n$2\r\na1\r\n");
        assert_eq!(eval("return _G").0, "*0\r\n");
    }

    #[test]
    fn conversions_resp_to_lua() {
        assert_eq!(eval("local v = redis.call('int') return {type(v), v}").0, "*2\r\n$6\r\nnumber\r\n:42\r\n");
        assert_eq!(eval("return redis.call('nil') == false").0, ":1\r\n");
        assert_eq!(eval("local t = redis.call('arr') return {#t, t[3] == false}").0, "*2\r\n:3\r\n:1\r\n");
        assert_eq!(eval("return redis.pcall('err')['err']").0, "$13\r\nWRONGTYPE bad\r\n");
        assert_eq!(eval("return redis.call('map')['map']['k']['double']").0, ":1\r\n");
        assert_eq!(
            eval("redis.call('set', 1.5, 9007199254740991)").1[0],
            vec![b"set".to_vec(), b"1.5".to_vec(), b"9007199254740991".to_vec()]
        );
    }

    #[test]
    fn errors_name_the_script_and_line() {
        assert_eq!(
            eval("return redis.call('nosuch')").0,
            "-ERR Unknown Redis command called from script script: sha, on @user_script:1."
        );
        assert_eq!(eval("redis.call('err')").0, "-WRONGTYPE bad script: sha, on @user_script:1.");
        assert_eq!(
            eval("\nreturn a").0,
            "-ERR user_script:2: Script attempted to access nonexistent global variable 'a' script: sha, on @user_script:2."
        );
        // Library functions written in Lua, called in tail position: the script's frame (and so its line)
        // stays, as with Redis's C functions.
        for (script, msg) in [
            ("return redis.sha1hex()", "ERR wrong number of arguments"),
            ("return redis.setresp(4)", "ERR RESP version must be 2 or 3."),
            ("\nreturn redis.log(99, 'x')", "ERR Invalid debug level."),
            (
                "return redis.set_repl(99)",
                "ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.",
            ),
            ("return math.random(0)", "ERR user_script:1: bad argument #1 to 'random' (interval is empty)"),
            (
                "return math.randomseed()",
                "ERR user_script:1: bad argument #1 to 'randomseed' (number expected, got no value)",
            ),
            (
                "return math.random(1, 'x')",
                "ERR user_script:1: bad argument #2 to 'random' (number expected, got string)",
            ),
        ] {
            let line = if script.starts_with('\n') { 2 } else { 1 };
            assert_eq!(eval(script).0, format!("-{msg} script: sha, on @user_script:{line}."), "{script}");
        }
        assert_eq!(eval("return math.random(5) <= 5").0, ":1\r\n");
        assert!(eval("a = 1").0.contains("Attempt to modify a readonly table"));
        assert!(eval("redis.call = nil").0.contains("Attempt to modify a readonly table"));
        assert!(eval("setmetatable(_G, {})").0.contains("Attempt to modify a readonly table"));
        assert!(eval("getmetatable('').__index.upper = nil").0.contains("Attempt to modify a readonly table"));
        assert!(eval("getfenv(redis.call).x = 1").0.contains("Attempt to modify a readonly table"));
        assert_eq!(eval("return ('ab'):upper()").0, "$2\r\nAB\r\n");
        assert!(eval("return redis.call()").0.contains("Please specify at least one argument"));
        assert!(eval("print('x')").0.contains("nonexistent global variable 'print'"));
        assert_eq!(eval("return redis.sha1hex('')").0, "$40\r\nda39a3ee5e6b4b0d3255bfef95601890afd80709\r\n");
        assert_eq!(eval("local ok, e = pcall(function() error({err='X y'}) end) return e").0, "$3\r\nX y\r\n");
    }

    #[test]
    fn runaway_scripts_are_stopped() {
        let r = eval("while true do end").0;
        assert!(r.starts_with("-ERR Script killed by user with SCRIPT KILL... script: sha, on @user_script:1."), "{r}");
        let r = eval("local f = function() while 1 do redis.call('int') end end\nwhile 1 do pcall(f) end").0;
        assert!(r.starts_with("-ERR Script killed by user with SCRIPT KILL..."), "{r}");
        // Short scripts are untouched, and the guard is gone after a run.
        assert_eq!(eval("local n = 0 for i = 1, 1000 do n = n + i end return n").0, ":500500\r\n");
    }

    #[test]
    fn the_hook_asks_the_host_only_past_the_threshold_or_when_stopping() {
        // No threshold and no stop: the host is never asked, however long the script.
        let mut h = echo();
        h.threshold_ms = 0;
        assert_eq!(eval_with("local n = 0 for i = 1, 3000000 do n = n + 1 end return n", &mut h), ":3000000\r\n");
        assert_eq!(h.interrupts, 0);
        // A host that lets the script go on is asked at every check, and the script completes.
        h.stop.store(true, Ordering::Relaxed);
        h.answer = None;
        assert_eq!(eval_with("local n = 0 for i = 1, 3000000 do n = n + 1 end return n", &mut h), ":3000000\r\n");
        assert!(h.interrupts >= 10, "{}", h.interrupts);
        // Stopping the server stops a script whatever the threshold, with the host's text, past pcall.
        h.answer = Some("ERR stopping".into());
        let r = eval_with("while true do pcall(function() while true do end end) end", &mut h);
        assert!(r.starts_with("-ERR stopping script: sha, on @user_script:1."), "{r}");
    }

    #[test]
    fn self_reference_hits_the_stack_limit() {
        let r = eval("local a = {} local b = {a} a[1] = b return a").0;
        assert!(r.ends_with("-ERR reached lua stack limit\r\n"));
    }

    /// Nesting ends where Redis's Lua stack ends it: 7,994 nested tables are written, the 7,995th is the
    /// error, and the elements after it are still written.
    #[test]
    fn reply_nesting_limit_is_redis_s() {
        let nest = |n: usize, tail: &str| {
            eval(&format!("local t = {{}} local c = t for i = 1, {n} do c[1] = {{}} c = c[1] end return {tail}")).0
        };
        let ok = nest(7994, "t");
        assert_eq!(ok.matches("*1\r\n").count(), 7994);
        assert!(ok.ends_with("*1\r\n*0\r\n"));
        let cut = nest(7995, "t");
        assert_eq!(cut.matches("*1\r\n").count(), 7995);
        assert!(cut.ends_with("*1\r\n-ERR reached lua stack limit\r\n"));
        let after = nest(7995, "{t, 5}");
        assert!(after.ends_with("-ERR reached lua stack limit\r\n:5\r\n"), "{}", &after[after.len() - 60..]);
        // Maps and sets (RESP3 forms, written as arrays to a RESP2 client) nest the same way.
        let m = eval("local t = {} local c = t for i = 1, 5000 do c.map = {k = {}} c = c.map.k end return t").0;
        assert!(m.contains("-ERR reached lua stack limit"));
    }

    #[test]
    fn numbers_convert_as_c_casts() {
        // (long long) of inf, -inf and NaN on x86-64: LLONG_MIN, as Redis answers cjson.decode('1e99999').
        assert_eq!(eval("return 1/0").0, ":-9223372036854775808\r\n");
        assert_eq!(eval("return -1/0").0, ":-9223372036854775808\r\n");
        assert_eq!(eval("return 1e300").0, ":-9223372036854775808\r\n");
        assert_eq!(eval("return -7.9").0, ":-7\r\n");
        assert_eq!(eval("return {ok='a\\0b\\r\\nc'}").0, "+a\r\n");
        assert_eq!(eval("return {{err='x\\ry'}}").0, "*1\r\n-x y\r\n");
    }
}
