//! Redis 7 functions: FUNCTION LOAD/DELETE/FLUSH/LIST/DUMP/RESTORE/STATS/KILL/HELP, FCALL, FCALL_RO
//! (commands layer, applied by the Keyspace actor).
//!
//! Libraries live in their own Lua VM (as in Redis, apart from EVAL's). A library's body runs once at
//! FUNCTION LOAD against an environment holding only `redis.register_function` and logging; the functions
//! it registers run later, through FCALL, with the same `redis` API and rules as EVAL scripts (see
//! scripting.rs for how a run reaches the keyspace).

use super::scripting::{finish, numkeys, precheck_flags, run_script, FLAG_NAMES};
use super::spec::*;
use super::Ctx;
use crate::error::{sanitize, CmdError};
use crate::scripting::{Kind, Vm};
use mlua::{Lua, MultiValue, Value};
use std::collections::BTreeMap;

/// How long a library body may run under FUNCTION LOAD (Redis's LOAD_TIMEOUT_MS).
const LOAD_TIMEOUT_MS: u64 = 500;

struct Func {
    name: String,
    desc: Option<String>,
    flags: u32,
    /// The callback, kept in the functions VM's registry (`Vm::keep`).
    func: mlua::RegistryKey,
}

struct Library {
    name: String,
    code: Vec<u8>,
    functions: Vec<Func>,
}

/// The function libraries and their VM.
#[derive(Default)]
pub struct Functions {
    vm: Option<Vm>,
    /// By lowercased library name (Redis's library and function dicts ignore case).
    libs: BTreeMap<String, Library>,
    /// Lowercased function name -> lowercased library name.
    index: BTreeMap<String, String>,
}

impl Functions {
    /// Compile and install a library from its code (RDB loading); an existing library of the same name is
    /// an error unless `replace`. Returns the library's name.
    pub fn load_code(&mut self, code: &[u8], replace: bool) -> Result<String, CmdError> {
        let lib = self.create(code)?;
        let name = lib.name.clone();
        self.install(lib, replace)?;
        Ok(name)
    }

    /// Every library's code, for the AOF rewrite's FUNCTION LOAD commands.
    pub fn library_codes(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.libs.values().map(|l| l.code.as_slice())
    }

    fn vm(&mut self) -> Result<&Vm, CmdError> {
        if self.vm.is_none() {
            self.vm = Some(Vm::new(Kind::Functions).map_err(|e| CmdError::msg(format!("ERR {e}")))?);
        }
        Ok(self.vm.as_ref().expect("created above"))
    }

    pub fn vm_memory(&self) -> usize {
        self.vm.as_ref().map(|v| v.used_memory()).unwrap_or(32768)
    }

    pub fn function_count(&self) -> usize {
        self.index.len()
    }

    pub fn library_count(&self) -> usize {
        self.libs.len()
    }

    /// Bookkeeping bytes (INFO used_memory_functions).
    pub fn overhead(&self) -> usize {
        184 + self.libs.values().map(|l| l.code.len() + 64 * (1 + l.functions.len())).sum::<usize>()
    }

    /// FUNCTION FLUSH, and emptying the dataset before a load (DEBUG RELOAD, a full sync), as Redis's emptyData.
    pub(crate) fn flush(&mut self) {
        self.libs.clear();
        self.index.clear();
        self.vm = None;
    }

    fn insert(&mut self, lib: Library) {
        let key = lib.name.to_ascii_lowercase();
        for f in &lib.functions {
            self.index.insert(f.name.to_ascii_lowercase(), key.clone());
        }
        self.libs.insert(key, lib);
    }

    fn remove(&mut self, name: &str) -> Option<Library> {
        let lib = self.libs.remove(&name.to_ascii_lowercase())?;
        for f in &lib.functions {
            self.index.remove(&f.name.to_ascii_lowercase());
        }
        Some(lib)
    }

    fn has_lib(&self, name: &str) -> bool {
        self.libs.contains_key(&name.to_ascii_lowercase())
    }

    /// The library owning function `name`, if any.
    fn owner(&self, name: &str) -> Option<&String> {
        self.index.get(&name.to_ascii_lowercase())
    }

    /// The flags of function `name`, if it exists.
    pub fn flags_of(&self, name: &str) -> Option<u32> {
        self.find(name).map(|f| f.flags)
    }

    fn find(&self, name: &str) -> Option<&Func> {
        let lib = self.libs.get(self.owner(name)?)?;
        lib.functions.iter().find(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// Compile and run a library's code: its name and functions, not yet installed.
    fn create(&mut self, code: &[u8]) -> Result<Library, CmdError> {
        let (name, start) = library_meta(code)?;
        let mut regs: Vec<Func> = Vec::new();
        let vm = self.vm()?;
        let mut register = |lua: &Lua, args: MultiValue| -> Result<(), String> {
            let f = read_register_args(lua, args)?;
            if !valid_name(&f.name) {
                return Err(BAD_NAME.into());
            }
            if regs.iter().any(|r| r.name.eq_ignore_ascii_case(&f.name)) {
                return Err("Function already exists in the library".into());
            }
            regs.push(f);
            Ok(())
        };
        match vm.load_library(&code[start..], LOAD_TIMEOUT_MS, &mut register) {
            Ok(()) => {}
            Err((true, e)) => return Err(CmdError::msg(format!("ERR Error compiling function: {e}"))),
            Err((false, e)) => return Err(CmdError::msg(format!("ERR Error registering functions: {e}"))),
        }
        if regs.is_empty() {
            return Err(CmdError::new("ERR No functions registered"));
        }
        Ok(Library { name, code: code.to_vec(), functions: regs })
    }

    /// Install `lib`, replacing a library of the same name only when `replace`; function names must not
    /// collide with other libraries'.
    fn install(&mut self, lib: Library, replace: bool) -> Result<(), CmdError> {
        if self.has_lib(&lib.name) && !replace {
            return Err(CmdError::msg(format!("ERR Library '{}' already exists", lib.name)));
        }
        for f in &lib.functions {
            if let Some(owner) = self.owner(&f.name) {
                if *owner != lib.name.to_ascii_lowercase() {
                    return Err(CmdError::msg(format!("ERR Function {} already exists", f.name)));
                }
            }
        }
        self.remove(&lib.name.clone());
        self.insert(lib);
        Ok(())
    }
}

const BAD_NAME: &str =
    "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long";

fn valid_name(n: &str) -> bool {
    !n.is_empty() && n.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// The `#!<engine> name=<lib>` first line of a library (functionExtractLibMetaData): the library name
/// and where the code starts (at the line's newline, keeping line numbers).
fn library_meta(code: &[u8]) -> Result<(String, usize), CmdError> {
    if !code.starts_with(b"#!") {
        return Err(CmdError::new("ERR Missing library metadata"));
    }
    let Some(end) = code.iter().position(|&c| c == b'\n') else {
        return Err(CmdError::new("ERR Invalid library metadata"));
    };
    let line = String::from_utf8_lossy(&code[..end]).into_owned();
    // sdssplitargs: quotes group, and are not part of the value (name="foo" is foo).
    let line = line.replace('"', "");
    let mut parts = line.split_ascii_whitespace();
    // "#!lua" -> "lua"; "#! name=x" has an empty engine.
    let engine = parts.next().unwrap_or("#!").get(2..).unwrap_or("");
    let mut name: Option<String> = None;
    for p in parts {
        if p.len() >= 5 && p[..5].eq_ignore_ascii_case("name=") {
            if name.is_some() {
                return Err(CmdError::new("ERR Invalid metadata value, name argument was given multiple times"));
            }
            name = Some(p[5..].to_string());
            continue;
        }
        return Err(CmdError::msg(format!("ERR Invalid metadata value given: {p}")));
    }
    let Some(name) = name else { return Err(CmdError::new("ERR Library name was not given")) };
    if !engine.eq_ignore_ascii_case("lua") {
        return Err(CmdError::msg(format!("ERR Engine '{engine}' not found")));
    }
    if !valid_name(&name) {
        return Err(CmdError::msg(format!("ERR {BAD_NAME}")));
    }
    Ok((name, end))
}

fn flags_of(v: Value) -> Result<u32, String> {
    let Value::Table(t) = v else {
        return Err("flags argument to redis.register_function must be a table representing function flags".into());
    };
    let mut flags = 0;
    for i in 1..=t.raw_len() {
        let Ok(Value::String(s)) = t.raw_get::<Value>(i) else { return Err("unknown flag given".into()) };
        let s = s.to_string_lossy();
        match FLAG_NAMES.iter().find(|(_, n)| *n == s) {
            Some((b, _)) => flags |= b,
            None => return Err("unknown flag given".into()),
        }
    }
    Ok(flags)
}

/// redis.register_function(name, callback) or redis.register_function{function_name=, callback=,
/// description=, flags=}, with Redis's texts for each mistake.
fn read_register_args(lua: &Lua, args: MultiValue) -> Result<Func, String> {
    let keep = |f: mlua::Function| lua.create_registry_value(f).map_err(|e| e.to_string());
    let args: Vec<Value> = args.into_iter().collect();
    match args.len() {
        1 => {
            let Value::Table(t) = &args[0] else {
                return Err("calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).".into());
            };
            let (mut name, mut func, mut desc, mut flags) = (None, None, None, 0);
            for pair in t.pairs::<Value, Value>() {
                let (k, v) = pair.map_err(|e| e.to_string())?;
                let Value::String(k) = k else {
                    return Err("named argument key given to redis.register_function is not a string".into());
                };
                match k.to_string_lossy().as_str() {
                    "function_name" => match v {
                        Value::String(s) => name = Some(s.to_string_lossy()),
                        _ => {
                            return Err(
                                "function_name argument given to redis.register_function must be a string".into()
                            )
                        }
                    },
                    "description" => match v {
                        Value::String(s) => desc = Some(s.to_string_lossy()),
                        _ => {
                            return Err("description argument given to redis.register_function must be a string".into())
                        }
                    },
                    "callback" => match v {
                        Value::Function(f) => func = Some(f),
                        _ => return Err("callback argument given to redis.register_function must be a function".into()),
                    },
                    "flags" => flags = flags_of(v)?,
                    _ => return Err("unknown argument given to redis.register_function".into()),
                }
            }
            let Some(name) = name else {
                return Err("redis.register_function must get a function name argument".into());
            };
            let Some(func) = func else { return Err("redis.register_function must get a callback argument".into()) };
            Ok(Func { name, desc, flags, func: keep(func)? })
        }
        2 => {
            let Value::String(name) = &args[0] else {
                return Err("first argument to redis.register_function must be a string".into());
            };
            let Value::Function(func) = &args[1] else {
                return Err("second argument to redis.register_function must be a function".into());
            };
            Ok(Func { name: name.to_string_lossy(), desc: None, flags: 0, func: keep(func.clone())? })
        }
        _ => Err("wrong number of arguments to redis.register_function".into()),
    }
}

/// FUNCTION LOAD [REPLACE] function-code
fn function_load(cx: &mut Ctx<'_>) -> CmdResult {
    let mut replace = false;
    for i in 2..cx.argc() - 1 {
        if cx.argv.is(i, "replace") {
            replace = true;
        } else {
            return Err(CmdError::msg(format!("ERR Unknown option given: {}", sanitize(cx.arg(i), 128))));
        }
    }
    let code = cx.arg(cx.argc() - 1);
    let fns = &mut cx.s.scripts.functions;
    let lib = fns.create(code)?;
    let name = lib.name.clone();
    fns.install(lib, replace)?;
    cx.s.persist.dirty += 1;
    cx.out.bulk(name.as_bytes());
    Ok(())
}

/// FUNCTION DELETE library-name
fn function_delete(cx: &mut Ctx<'_>) -> CmdResult {
    let name = String::from_utf8_lossy(cx.arg(2)).into_owned();
    if cx.s.scripts.functions.remove(&name).is_none() {
        return Err(CmdError::new("ERR Library not found"));
    }
    cx.s.persist.dirty += 1;
    cx.out.ok();
    Ok(())
}

/// FUNCTION FLUSH [ASYNC|SYNC]
fn function_flush(cx: &mut Ctx<'_>) -> CmdResult {
    match cx.argc() {
        2 => {}
        3 if cx.argv.is(2, "async") || cx.argv.is(2, "sync") => {}
        3 => return Err(CmdError::new("ERR FUNCTION FLUSH only supports SYNC|ASYNC option")),
        _ => return Err(cx.subcommand_syntax()),
    }
    cx.s.scripts.functions.flush();
    cx.s.persist.dirty += 1;
    cx.out.ok();
    Ok(())
}

/// FUNCTION LIST [LIBRARYNAME library-name-pattern] [WITHCODE]
fn function_list(cx: &mut Ctx<'_>) -> CmdResult {
    let (mut code, mut pattern): (bool, Option<&[u8]>) = (false, None);
    let mut i = 2;
    while i < cx.argc() {
        if cx.argv.is(i, "withcode") && !code {
            code = true;
            i += 1;
        } else if cx.argv.is(i, "libraryname") && pattern.is_none() {
            if i + 1 >= cx.argc() {
                return Err(CmdError::new("ERR library name argument was not given"));
            }
            pattern = Some(cx.arg(i + 1));
            i += 2;
        } else {
            return Err(CmdError::msg(format!("ERR Unknown argument {}", sanitize(cx.arg(i), 128))));
        }
    }
    let libs: Vec<&Library> =
        cx.s.scripts
            .functions
            .libs
            .values()
            .filter(|l| pattern.is_none_or(|p| crate::types::glob::glob_match(p, l.name.as_bytes(), false)))
            .collect();
    let out = &mut *cx.out;
    out.array(libs.len());
    for l in libs {
        out.map(if code { 4 } else { 3 });
        out.bulk(b"library_name");
        out.bulk(l.name.as_bytes());
        out.bulk(b"engine");
        out.bulk(b"LUA");
        out.bulk(b"functions");
        out.array(l.functions.len());
        for f in &l.functions {
            out.map(3);
            out.bulk(b"name");
            out.bulk(f.name.as_bytes());
            out.bulk(b"description");
            match &f.desc {
                Some(d) => out.bulk(d.as_bytes()),
                None => out.nil(),
            }
            out.bulk(b"flags");
            let names: Vec<&str> = FLAG_NAMES.iter().filter(|(b, _)| f.flags & b != 0).map(|(_, n)| *n).collect();
            // Status strings, as Redis's addReplyStatus for each flag.
            out.set(names.len());
            for n in names {
                out.simple(n);
            }
        }
        if code {
            out.bulk(b"library_code");
            out.bulk(&l.code);
        }
    }
    Ok(())
}

/// Payload tag of one library's code (Redis's RDB_OPCODE_FUNCTION2).
const TAG_FUNCTION: u8 = 245;

/// FUNCTION DUMP
fn function_dump(cx: &mut Ctx<'_>) -> CmdResult {
    let mut body = Vec::new();
    for l in cx.s.scripts.functions.libs.values() {
        body.push(TAG_FUNCTION);
        body.extend_from_slice(&(l.code.len() as u64).to_le_bytes());
        body.extend_from_slice(&l.code);
    }
    cx.out.bulk(&crate::persist::dump::seal(body));
    Ok(())
}

/// The library codes of a FUNCTION DUMP payload.
fn read_dump(payload: &[u8]) -> Result<Vec<&[u8]>, CmdError> {
    crate::persist::dump::verify_payload(payload).map_err(|e| CmdError::new(e.message()))?;
    let body = &payload[..payload.len() - 10];
    let mut codes = Vec::new();
    let mut p = 0;
    while p < body.len() {
        if body[p] != TAG_FUNCTION || p + 9 > body.len() {
            return Err(CmdError::new("ERR given type is not a function"));
        }
        let mut n = [0u8; 8];
        n.copy_from_slice(&body[p + 1..p + 9]);
        let n = u64::from_le_bytes(n) as usize;
        p += 9;
        if n > body.len() - p {
            return Err(CmdError::new("ERR Bad data format"));
        }
        codes.push(&body[p..p + n]);
        p += n;
    }
    Ok(codes)
}

/// FUNCTION RESTORE serialized-value [FLUSH|APPEND|REPLACE]
fn function_restore(cx: &mut Ctx<'_>) -> CmdResult {
    if cx.argc() > 4 {
        return Err(CmdError::new(
            "ERR unknown subcommand or wrong number of arguments for 'restore'. Try FUNCTION HELP.",
        ));
    }
    #[derive(PartialEq)]
    enum Policy {
        Flush,
        Append,
        Replace,
    }
    let policy = if cx.argc() == 4 {
        if cx.argv.is(3, "flush") {
            Policy::Flush
        } else if cx.argv.is(3, "append") {
            Policy::Append
        } else if cx.argv.is(3, "replace") {
            Policy::Replace
        } else {
            return Err(CmdError::new(
                "ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.",
            ));
        }
    } else {
        Policy::Append
    };
    let codes = read_dump(cx.arg(2))?;
    // Build the new set of libraries aside; the current ones stay if anything fails.
    let mut fresh = Functions::default();
    for c in codes {
        let lib = fresh.create(c)?;
        fresh.install(lib, false)?;
    }
    let fns = &mut cx.s.scripts.functions;
    match policy {
        Policy::Flush => {
            fns.flush();
        }
        Policy::Append => {
            for l in fresh.libs.values() {
                if fns.has_lib(&l.name) {
                    return Err(CmdError::msg(format!("ERR Library {} already exists", l.name)));
                }
                for f in &l.functions {
                    if fns.owner(&f.name).is_some() {
                        return Err(CmdError::msg(format!("ERR Function {} already exists", f.name)));
                    }
                }
            }
        }
        Policy::Replace => {
            for l in fresh.libs.values() {
                for f in &l.functions {
                    if let Some(owner) = fns.owner(&f.name) {
                        if !fresh.libs.contains_key(owner) {
                            return Err(CmdError::msg(format!("ERR Function {} already exists", f.name)));
                        }
                    }
                }
            }
        }
    }
    // The functions must live in this VM: compile them again here (cheap, and they were valid above).
    let codes: Vec<Vec<u8>> = fresh.libs.values().map(|l| l.code.clone()).collect();
    for c in codes {
        let lib = fns.create(&c)?;
        fns.install(lib, true)?;
    }
    cx.s.persist.dirty += 1;
    cx.out.ok();
    Ok(())
}

/// FUNCTION STATS
fn function_stats(cx: &mut Ctx<'_>) -> CmdResult {
    let fns = &cx.s.scripts.functions;
    let (libs, funcs) = (fns.library_count() as i64, fns.function_count() as i64);
    let out = &mut *cx.out;
    out.map(2);
    out.bulk(b"running_script");
    // A script is seen running only past busy-reply-threshold, when it lets other clients in.
    match &cx.s.busy {
        None => out.nil(),
        Some(b) if b.eval => return Err(super::busy::BUSY_EVAL),
        Some(b) => {
            out.map(3);
            out.bulk(b"name");
            out.bulk(b.name.as_bytes());
            out.bulk(b"command");
            out.array(b.command.len());
            for a in &b.command {
                out.bulk(a);
            }
            out.bulk(b"duration_ms");
            out.int(b.started.elapsed().as_millis() as i64);
        }
    }
    out.bulk(b"engines");
    out.map(1);
    out.bulk(b"LUA");
    out.map(2);
    out.bulk(b"libraries_count");
    out.int(libs);
    out.bulk(b"functions_count");
    out.int(funcs);
    Ok(())
}

/// FUNCTION KILL: as SCRIPT KILL, for a function past busy-reply-threshold.
fn function_kill(cx: &mut Ctx<'_>) -> CmdResult {
    super::busy::kill(cx.s, false)?;
    cx.out.ok();
    Ok(())
}

/// FUNCTION HELP
fn function_help(cx: &mut Ctx<'_>) -> CmdResult {
    super::connection::help(
        cx,
        "FUNCTION",
        &[
            "LOAD [REPLACE] <FUNCTION CODE>",
            "    Create a new library with the given library name and code.",
            "DELETE <LIBRARY NAME>",
            "    Delete the given library.",
            "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
            "    Return general information on all the libraries:",
            "    * Library name",
            "    * The engine used to run the Library",
            "    * Library description",
            "    * Functions list",
            "    * Library code (if WITHCODE is given)",
            "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
            "STATS",
            "    Return information about the current function running:",
            "    * Function name",
            "    * Command used to run the function",
            "    * Duration in MS that the function is running",
            "    If no function is running, return nil",
            "    In addition, returns a list of available engines.",
            "KILL",
            "    Kill the current running function.",
            "FLUSH [ASYNC|SYNC]",
            "    Delete all the libraries.",
            "    When called without the optional mode argument, the behavior is determined by the",
            "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the libraries.",
            "    * SYNC: Synchronously flush the libraries.",
            "DUMP",
            "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
            "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
            "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
            "    control how to handle existing libraries (default APPEND):",
            "    * FLUSH: delete all existing libraries.",
            "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
            "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
            "      libraries with the new libraries (notice that even on this option there is a chance of failure",
            "      in case of functions name collision with another library).",
        ],
    )
}

fn fcall_generic(cx: &mut Ctx<'_>, ro: bool) -> CmdResult {
    let name = String::from_utf8_lossy(cx.arg(1)).into_owned();
    let fns = &cx.s.scripts.functions;
    let not_found = || CmdError::new("ERR Function not found");
    let (Some(f), Some(vm)) = (fns.find(&name), fns.vm.as_ref()) else { return Err(not_found()) };
    let func = vm.kept(&f.func).map_err(|e| CmdError::msg(format!("ERR {e}")))?;
    let (flags, name) = (f.flags, f.name.clone());
    let nk = match cx.int_arg(2) {
        Ok(_) => numkeys(cx, 2)?,
        Err(_) => return Err(CmdError::new("ERR Bad number of keys provided")),
    };
    precheck_flags(cx.s, flags, ro)?;
    let keys: Vec<&[u8]> = (3..3 + nk).map(|i| cx.arg(i)).collect();
    let args: Vec<&[u8]> = (3 + nk..cx.argc()).map(|i| cx.arg(i)).collect();
    let vm = cx.s.scripts.functions.vm.take().ok_or_else(not_found)?;
    let outcome =
        run_script(cx, flags, ro, (false, &name), |host, out| vm.run_function(&func, &keys, &args, host, out, &name));
    cx.s.scripts.functions.vm = Some(vm);
    finish(cx, outcome)
}

/// FCALL function numkeys [key ...] [arg ...]
fn fcall(cx: &mut Ctx<'_>) -> CmdResult {
    fcall_generic(cx, false)
}

/// FCALL_RO function numkeys [key ...] [arg ...]
fn fcall_ro(cx: &mut Ctx<'_>) -> CmdResult {
    fcall_generic(cx, true)
}

#[rustfmt::skip]
const FUNCTION_SUBS: &[CommandSpec] = &family("scripting", [
    cmd("function|delete", 3, NOSCRIPT | WRITE, function_delete).acl(SCRIPTING).doc("7.0.0", "O(1)", "Delete a function by name"),
    cmd("function|dump", 2, NOSCRIPT, function_dump).acl(SCRIPTING).doc("7.0.0", "O(N) where N is the number of functions", "Dump all functions into a serialized binary payload"),
    cmd("function|flush", -2, NOSCRIPT | WRITE, function_flush).acl(SCRIPTING).doc("7.0.0", "O(N) where N is the number of functions deleted", "Deleting all functions"),
    cmd("function|help", 2, LOADING | STALE, function_help).acl(SCRIPTING).doc("7.0.0", "O(1)", "Show helpful text about the different subcommands"),
    cmd("function|kill", 2, NOSCRIPT | ALLOW_BUSY, function_kill).acl(SCRIPTING).doc("7.0.0", "O(1)", "Kill the function currently in execution."),
    cmd("function|list", -2, NOSCRIPT, function_list).acl(SCRIPTING).doc("7.0.0", "O(N) where N is the number of functions", "List information about all the functions"),
    cmd("function|load", -3, NOSCRIPT | WRITE | DENYOOM, function_load).acl(SCRIPTING).doc("7.0.0", "O(1) (considering compilation time is redundant)", "Create a function with the given arguments (name, code, description)"),
    cmd("function|restore", -3, NOSCRIPT | WRITE | DENYOOM, function_restore).acl(SCRIPTING).doc("7.0.0", "O(N) where N is the number of functions on the payload", "Restore all the functions on the given payload"),
    cmd("function|stats", 2, NOSCRIPT | ALLOW_BUSY, function_stats).acl(SCRIPTING).doc("7.0.0", "O(1)", "Return information about the function currently running (name, description, duration)"),
]);

#[rustfmt::skip]
pub const SPECS: &[CommandSpec] = &family("scripting", [
    cmd("fcall", -3, NOSCRIPT | SKIP_MONITOR | MAY_REPLICATE | NO_MANDATORY_KEYS | STALE | MOVABLE_KEYS, fcall).acl(SCRIPTING).getkeys(super::scripting::eval_keys).doc("7.0.0", "Depends on the function that is executed.", "Invoke a function"),
    cmd("fcall_ro", -3, NOSCRIPT | SKIP_MONITOR | NO_MANDATORY_KEYS | STALE | READONLY | MOVABLE_KEYS, fcall_ro).acl(SCRIPTING).getkeys(super::scripting::eval_keys).doc("7.0.0", "Depends on the function that is executed.", "Invoke a read-only function"),
    cmd("function", -2, 0, container).subs(FUNCTION_SUBS).doc("7.0.0", "Depends on subcommand.", "A container for function commands"),
]);

#[cfg(test)]
mod tests {
    use crate::commands::testutil::{bulk, err, new, ok, run, run_raw};

    const LIB: &str = "#!lua name=mylib\nredis.register_function('hello', function(keys, args) return 'hi ' .. (args[1] or '') end)\nredis.register_function{function_name='getk', callback=function(keys) return redis.call('get', keys[1]) end, flags={'no-writes'}}";

    #[test]
    fn load_call_list_delete() {
        let mut t = new();
        assert_eq!(run(&mut t, &["function", "load", LIB]), bulk("mylib"));
        assert_eq!(run(&mut t, &["function", "load", LIB]), err("ERR Library 'mylib' already exists"));
        assert_eq!(run(&mut t, &["function", "load", "replace", LIB]), bulk("mylib"));
        assert_eq!(run(&mut t, &["fcall", "hello", "0", "bob"]), bulk("hi bob"));
        run(&mut t, &["set", "k", "v"]);
        assert_eq!(run(&mut t, &["fcall_ro", "getk", "1", "k"]), bulk("v"));
        assert_eq!(
            run(&mut t, &["fcall_ro", "hello", "0"]),
            err("ERR Can not execute a script with write flag using *_ro command.")
        );
        // Flags are status strings, as Redis writes them.
        assert!(run_raw(&mut t, &["function", "list"]).contains("\r\n+no-writes\r\n"));
        assert_eq!(run(&mut t, &["function", "delete", "mylib"]), ok());
        assert_eq!(run(&mut t, &["fcall", "hello", "0"]), err("ERR Function not found"));
        assert_eq!(run(&mut t, &["function", "delete", "mylib"]), err("ERR Library not found"));
    }

    #[test]
    fn load_errors() {
        let mut t = new();
        assert_eq!(run(&mut t, &["function", "load", "return 1"]), err("ERR Missing library metadata"));
        assert_eq!(run(&mut t, &["function", "load", "#!lua name=x\nreturn 1"]), err("ERR No functions registered"));
        assert_eq!(run(&mut t, &["function", "load", "#!js name=x\nreturn 1"]), err("ERR Engine 'js' not found"));
        // The position is the library's line, not the loader's own frame that looked the name up.
        assert_eq!(
            run(&mut t, &["function", "load", "#!lua name=x\nreturn math.random()"]),
            err("ERR Error registering functions: ERR user_function:2: Script attempted to access nonexistent global \
                 variable 'math'")
        );
        assert!(run_raw(&mut t, &["function", "load", "#!lua name=x\nredis.register_function('f')"])
            .contains("calling redis.register_function with a single argument is only applicable to Lua table"));
        assert!(
            run_raw(&mut t, &["function", "load", "#!lua name=x\nwhile 1 do end"]).contains("FUNCTION LOAD timeout")
        );
    }

    #[test]
    fn dump_and_restore() {
        let mut t = new();
        run(&mut t, &["function", "load", LIB]);
        let dump = crate::commands::run_args(&mut t.s, t.me, &[b"function", b"dump"]);
        let mut p = 0;
        while dump[p] != b'\n' {
            p += 1;
        }
        let payload = dump[p + 1..dump.len() - 2].to_vec();
        assert_eq!(run(&mut t, &["function", "flush"]), ok());
        let r = crate::commands::run_args(&mut t.s, t.me, &[b"function", b"restore", &payload]);
        assert_eq!(r, b"+OK\r\n");
        assert_eq!(run(&mut t, &["fcall", "hello", "0", "x"]), bulk("hi x"));
        let r = crate::commands::run_args(&mut t.s, t.me, &[b"function", b"restore", b"bad"]);
        assert_eq!(r, b"-ERR DUMP payload version or checksum are wrong\r\n");
    }
}
