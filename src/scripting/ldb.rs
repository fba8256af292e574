//! The Lua debugger behind SCRIPT DEBUG SYNC (scripting layer, run on the Keyspace actor's thread inside an
//! EVAL): Redis's LDB, its commands, texts and wire format.
//!
//! A session lasts one EVAL. A line hook (plus a count hook, for scripts looping without a stop) stops the
//! script where the user asked; the hook then talks to the client over its socket directly, through an
//! [`Io`] the actors layer lends, reading debugger commands in Redis's protocol and answering each with
//! the logs it produced, as an array of status replies. Like Redis's synchronous mode, the server serves
//! no one else meanwhile: the user asked for it. The session's state lives in a thread-local, because the
//! hook (a C function) and `redis.call`'s bridge both reach it from inside Lua.

use crate::config::repr_into;
use mlua::ffi::{self, lua_Debug, lua_State};
use std::cell::RefCell;
use std::ffi::{c_char, c_int, CStr};
use std::time::{Duration, Instant};

/// Replies and variable dumps are trimmed to this many bytes unless `maxlen` says otherwise.
const MAX_LEN_DEFAULT: usize = 256;
/// Breakpoints a session may hold.
const BREAKPOINTS_MAX: usize = 64;
/// A client that sends this much without a complete command stops the script.
const MAX_CLIENT_BUFFER: usize = 1 << 20;
/// How deep a table dump goes (LUA_MINSTACK / 2).
const MAX_VALUES_DEPTH: u32 = 10;

/// The debugged client's socket.
pub trait Io {
    /// Wait for what the client sends next. None: it is gone (or the server is stopping).
    fn read(&mut self, buf: &mut [u8]) -> Option<usize>;
    /// Write `bytes` whole, or give up after a while; a broken socket shows at the next read.
    fn write(&mut self, bytes: &[u8]);
}

/// One debugging session (Redis's `ldb`).
struct Session {
    io: Box<dyn Io>,
    /// The script's source, by line (line 1 first).
    src: Vec<Vec<u8>>,
    /// Log entries not sent yet.
    logs: Vec<Vec<u8>>,
    /// Stop at the next line; while set, redis.call logs its command and reply.
    step: bool,
    /// redis.breakpoint() was called: stop at the next line.
    luabp: bool,
    breakpoints: Vec<i32>,
    /// Trim replies and dumps to this length (0: no limit).
    maxlen: usize,
    maxlen_hint_sent: bool,
    /// Input not making a complete command yet.
    cbuf: Vec<u8>,
    /// The line the script is at.
    line: i32,
    /// Without a stop for this long, the script stops as "timeout reached" (busy-reply-threshold or 5 s).
    timeout: Duration,
    since: Instant,
}

thread_local! {
    static SESSION: RefCell<Option<Session>> = const { RefCell::new(None) };
}

/// Run `f` on the session, if one is active. Never held across a call into Lua.
fn with<R>(f: impl FnOnce(&mut Session) -> R) -> Option<R> {
    SESSION.with(|s| s.borrow_mut().as_mut().map(f))
}

/// Start a session for the EVAL of `source`: the script stops at its first line.
pub fn begin(io: Box<dyn Io>, source: &[u8], timeout_ms: u64) {
    let mut end = source.len();
    while end > 0 && matches!(source[end - 1], b'\n' | b'\r') {
        end -= 1;
    }
    let src = source[..end].split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
    let timeout = Duration::from_millis(if timeout_ms > 0 { timeout_ms } else { 5000 });
    let session = Session {
        io,
        src,
        logs: Vec::new(),
        step: true,
        luabp: false,
        breakpoints: Vec::new(),
        maxlen: MAX_LEN_DEFAULT,
        maxlen_hint_sent: false,
        cbuf: Vec::new(),
        line: 0,
        timeout,
        since: Instant::now(),
    };
    SESSION.with(|s| *s.borrow_mut() = Some(session));
}

/// End the session: the remaining logs and the `<endsession>` mark go to the client.
pub fn end() {
    with(|s| {
        s.log(b"<endsession>".to_vec());
        s.send_logs();
    });
    SESSION.with(|s| s.borrow_mut().take());
}

/// A session is running (EVAL's run installs the debugger's hook instead of the busy-script one).
pub fn active() -> bool {
    SESSION.with(|s| s.borrow().is_some())
}

/// redis.call logs what it runs (Redis's ldbIsEnabled: a session, stepping).
pub fn logging() -> bool {
    with(|s| s.step).unwrap_or(false)
}

/// `<redis> cmd args...` (ten arguments at most).
pub fn log_command(argv: &[Vec<u8>]) {
    with(|s| {
        let mut e = b"<redis>".to_vec();
        for (j, a) in argv.iter().enumerate() {
            if j == 10 {
                e.extend_from_slice(format!(" ... ({} more)", argv.len() - j - 1).as_bytes());
                break;
            }
            e.push(b' ');
            e.extend_from_slice(a);
        }
        s.log(e);
    });
}

/// `<reply> ...`: a command's reply, in human form.
pub fn log_reply(resp: &[u8]) {
    with(|s| s.log_reply(resp));
}

/// `<error> ...`: a refused redis.call.
pub fn log_error(text: &str) {
    with(|s| s.log(format!("<error> {text}").into_bytes()));
}

/// The hook a debugged EVAL runs under: every line, and every 100,000 instructions.
pub fn install(lua: &mlua::Lua) {
    // SAFETY: sets the VM's hook to a function that only uses the Lua C API on the state it is given.
    let _ = unsafe {
        lua.exec_raw::<()>((), |l| {
            ffi::lua_sethook(l, Some(hook), ffi::LUA_MASKLINE | ffi::LUA_MASKCOUNT, 100_000);
        })
    };
}

impl Session {
    fn log(&mut self, entry: Vec<u8>) {
        self.logs.push(entry);
    }

    /// A log entry trimmed to `maxlen`, with a hint the first time one is.
    fn log_trimmed(&mut self, mut entry: Vec<u8>) {
        let trimmed = self.maxlen > 0 && entry.len() > self.maxlen;
        if trimmed {
            entry.truncate(self.maxlen);
            entry.extend_from_slice(b" ...");
        }
        self.log(entry);
        if trimmed && !self.maxlen_hint_sent {
            self.maxlen_hint_sent = true;
            self.log(b"<hint> The above reply was trimmed. Use 'maxlen 0' to disable trimming.".to_vec());
        }
    }

    fn log_reply(&mut self, resp: &[u8]) {
        let mut e = b"<reply> ".to_vec();
        human(&mut e, resp);
        self.log_trimmed(e);
    }

    /// The logs as an array of status replies (newlines become spaces), written to the client.
    fn send_logs(&mut self) {
        let mut out = format!("*{}\r\n", self.logs.len()).into_bytes();
        for e in self.logs.drain(..) {
            out.push(b'+');
            out.extend(e.iter().map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }));
            out.extend_from_slice(b"\r\n");
        }
        self.io.write(&out);
    }

    fn source_line(&self, line: i32) -> &[u8] {
        match usize::try_from(line - 1).ok().and_then(|i| self.src.get(i)) {
            Some(l) => l,
            None => b"<out of range source code line>",
        }
    }

    fn log_source_line(&mut self, line: i32) {
        let bp = self.breakpoints.contains(&line);
        let prefix = match (self.line == line, bp) {
            (true, true) => "->#",
            (true, false) => "-> ",
            (false, true) => "  #",
            (false, false) => "   ",
        };
        let mut e = format!("{prefix}{line:<3} ").into_bytes();
        e.extend_from_slice(self.source_line(line));
        self.log(e);
    }

    /// `list`: the lines within `context` of `around` (all of them when `around` is 0).
    fn list(&mut self, around: i32, context: i32) {
        for j in 1..=self.src.len() as i32 {
            if around != 0 && (around - j).abs() > context {
                continue;
            }
            self.log_source_line(j);
        }
    }

    /// `break`: list, add (`n`) or remove (`-n`, `0` for all) breakpoints.
    fn breakpoint(&mut self, argv: &[Vec<u8>]) {
        if argv.len() == 1 {
            if self.breakpoints.is_empty() {
                self.log(b"No breakpoints set. Use 'b <line>' to add one.".to_vec());
                return;
            }
            self.log(format!("{} breakpoints set:", self.breakpoints.len()).into_bytes());
            for bp in self.breakpoints.clone() {
                self.log_source_line(bp);
            }
            return;
        }
        for arg in &argv[1..] {
            let Some(line) = crate::types::num::parse_i64(arg) else {
                let mut e = b"Invalid argument:'".to_vec();
                e.extend_from_slice(arg);
                e.push(b'\'');
                self.log(e);
                continue;
            };
            if line == 0 {
                self.breakpoints.clear();
                self.log(b"All breakpoints removed.".to_vec());
            } else if line > 0 {
                if self.breakpoints.len() == BREAKPOINTS_MAX {
                    self.log(b"Too many breakpoints set.".to_vec());
                } else if line <= self.src.len() as i64 {
                    let line = line as i32;
                    if !self.breakpoints.contains(&line) {
                        self.breakpoints.push(line);
                    }
                    self.list(line, 1);
                } else {
                    self.log(b"Wrong line number.".to_vec());
                }
            } else {
                let line = (-line) as i32;
                if let Some(i) = self.breakpoints.iter().position(|&b| b == line) {
                    self.breakpoints.remove(i);
                    self.log(b"Breakpoint removed.".to_vec());
                } else {
                    self.log(b"No breakpoint in the specified line.".to_vec());
                }
            }
        }
    }

    /// `maxlen [len]`: show or set the trimming length (at least 60 unless 0).
    fn maxlen(&mut self, argv: &[Vec<u8>]) {
        if argv.len() == 2 {
            let mut n = atoi(&argv[1]);
            self.maxlen_hint_sent = true;
            if n != 0 && n <= 60 {
                n = 60;
            }
            self.maxlen = n.max(0) as usize;
        }
        let e = if self.maxlen > 0 {
            format!("<value> replies are truncated at {} bytes.", self.maxlen)
        } else {
            "<value> replies are unlimited.".to_string()
        };
        self.log(e.into_bytes());
    }

    fn help(&mut self) {
        for l in HELP {
            self.log(l.as_bytes().to_vec());
        }
    }
}

const HELP: &[&str] = &[
    "Redis Lua debugger help:",
    "[h]elp               Show this help.",
    "[s]tep               Run current line and stop again.",
    "[n]ext               Alias for step.",
    "[c]ontinue           Run till next breakpoint.",
    "[l]ist               List source code around current line.",
    "[l]ist [line]        List source code around [line].",
    "                     line = 0 means: current position.",
    "[l]ist [line] [ctx]  In this form [ctx] specifies how many lines",
    "                     to show before/after [line].",
    "[w]hole              List all source code. Alias for 'list 1 1000000'.",
    "[p]rint              Show all the local variables.",
    "[p]rint <var>        Show the value of the specified variable.",
    "                     Can also show global vars KEYS and ARGV.",
    "[b]reak              Show all breakpoints.",
    "[b]reak <line>       Add a breakpoint to the specified line.",
    "[b]reak -<line>      Remove breakpoint from the specified line.",
    "[b]reak 0            Remove all breakpoints.",
    "[t]race              Show a backtrace.",
    "[e]val <code>        Execute some Lua code (in a different callframe).",
    "[r]edis <cmd>        Execute a Redis command.",
    "[m]axlen [len]       Trim logged Redis replies and Lua var dumps to len.",
    "                     Specifying zero as <len> means unlimited.",
    "[a]bort              Stop the execution of the script. In sync",
    "                     mode dataset changes will be retained.",
    "",
    "Debugger functions you can call from Lua scripts:",
    "redis.debug()        Produce logs in the debugger console.",
    "redis.breakpoint()   Stop execution like if there was a breakpoint in the",
    "                     next line of code.",
];

/// C's atoi: leading blanks, a sign, digits; anything else ends it (0 when no digit).
fn atoi(s: &[u8]) -> i64 {
    crate::types::num::strtoll(s, 10).0
}

/// What the client's buffered input holds (Redis's ldbReplParseCommand, as forgiving as it is).
#[derive(Debug, PartialEq)]
enum Input {
    Command(Vec<Vec<u8>>),
    More,
    ProtocolError,
}

fn parse_command(buf: &[u8]) -> Input {
    let find_crlf = |from: usize| buf.get(from..)?.windows(2).position(|w| w == b"\r\n").map(|i| from + i);
    if buf.is_empty() {
        return Input::More;
    }
    let Some(star) = buf.iter().position(|&b| b == b'*') else { return Input::ProtocolError };
    let Some(end) = find_crlf(star) else { return Input::More };
    let argc = atoi(&buf[star + 1..end]);
    if argc <= 0 || argc > 1024 {
        return Input::ProtocolError;
    }
    let mut p = end + 2;
    let mut argv = Vec::with_capacity(argc as usize);
    while argv.len() < argc as usize {
        if p >= buf.len() {
            return Input::More;
        }
        if buf[p] != b'$' {
            return Input::ProtocolError;
        }
        let Some(end) = find_crlf(p) else { return Input::More };
        let len = atoi(&buf[p + 1..end]);
        if len <= 0 || len > 1024 {
            return Input::ProtocolError;
        }
        p = end + 2;
        let len = len as usize;
        if p + len + 2 > buf.len() {
            return Input::More;
        }
        argv.push(buf[p..p + len].to_vec());
        p += len;
        if &buf[p..p + 2] != b"\r\n" {
            return Input::ProtocolError;
        }
        p += 2;
    }
    Input::Command(argv)
}

/// A reply in RESP, appended in Redis's human form (ldbRedisProtocolToHuman); the bytes it took.
fn human(o: &mut Vec<u8>, r: &[u8]) -> usize {
    let Some(cr) = r.iter().position(|&b| b == b'\r') else {
        o.extend_from_slice(r);
        return r.len();
    };
    let line = &r[1..cr];
    let after = (cr + 2).min(r.len());
    let count = || atoi(line);
    match r[0] {
        b':' => {
            o.extend_from_slice(line);
            after
        }
        b'$' => {
            let n = count();
            if n < 0 {
                o.extend_from_slice(b"NULL");
                return after;
            }
            let end = (after + n as usize).min(r.len());
            repr_into(o, &r[after..end]);
            (end + 2).min(r.len())
        }
        b'+' | b'-' => {
            repr_into(o, &r[..cr]);
            after
        }
        b'*' | b'~' | b'%' => {
            let n = count();
            if r[0] == b'*' && n < 0 {
                o.extend_from_slice(b"NULL");
                return after;
            }
            let (open, close) = match r[0] {
                b'*' => (&b"["[..], b"]"),
                b'~' => (&b"~("[..], b")"),
                _ => (&b"{"[..], b"}"),
            };
            o.extend_from_slice(open);
            let mut p = after;
            for j in 0..n.max(0) {
                p += human(o, &r[p..]);
                if r[0] == b'%' {
                    o.extend_from_slice(b" => ");
                    p += human(o, &r[p..]);
                }
                if j != n - 1 {
                    o.push(b',');
                }
            }
            o.extend_from_slice(close);
            p
        }
        b'_' => {
            o.extend_from_slice(b"(null)");
            after
        }
        b'#' => {
            o.extend_from_slice(if line.first() == Some(&b't') { b"#true" } else { b"#false" });
            after
        }
        b',' => {
            o.extend_from_slice(b"(double) ");
            o.extend_from_slice(line);
            after
        }
        _ => {
            o.extend_from_slice(&r[..cr]);
            after
        }
    }
}

/// The value at `idx` of the stack in Redis's dump format (ldbCatStackValueRec): quoted strings, %g
/// numbers, `{a; b}` for arrays and `{[k]=v; ...}` for other tables.
///
/// # Safety
/// `l` is a valid state with a value at `idx` (negative, relative to the top).
unsafe fn cat_value(o: &mut Vec<u8>, l: *mut lua_State, idx: c_int, level: u32) {
    if level == MAX_VALUES_DEPTH {
        o.extend_from_slice(b"<max recursion level reached! Nested table?>");
        return;
    }
    let level = level + 1;
    match ffi::lua_type(l, idx) {
        ffi::LUA_TSTRING => {
            let mut len = 0;
            let p = ffi::lua_tolstring(l, idx, &mut len);
            repr_into(o, std::slice::from_raw_parts(p.cast::<u8>(), len));
        }
        ffi::LUA_TBOOLEAN => o.extend_from_slice(if ffi::lua_toboolean(l, idx) != 0 { b"true" } else { b"false" }),
        ffi::LUA_TNUMBER => o.extend_from_slice(&super::fmt_double(c"%g", ffi::lua_tonumber(l, idx))),
        ffi::LUA_TNIL => o.extend_from_slice(b"nil"),
        ffi::LUA_TTABLE => {
            let (mut array, mut full, mut is_array, mut expected) = (Vec::new(), Vec::new(), true, 1.0);
            ffi::lua_checkstack(l, 3);
            ffi::lua_pushnil(l);
            while ffi::lua_next(l, idx - 1) != 0 {
                if is_array && (ffi::lua_type(l, -2) != ffi::LUA_TNUMBER || ffi::lua_tonumber(l, -2) != expected) {
                    is_array = false;
                }
                cat_value(&mut array, l, -1, level);
                array.extend_from_slice(b"; ");
                full.push(b'[');
                cat_value(&mut full, l, -2, level);
                full.extend_from_slice(b"]=");
                cat_value(&mut full, l, -1, level);
                full.extend_from_slice(b"; ");
                ffi::lua_pop(l, 1);
                expected += 1.0;
            }
            let body = if is_array { &mut array } else { &mut full };
            body.truncate(body.len().saturating_sub(2));
            o.push(b'{');
            o.extend_from_slice(body);
            o.push(b'}');
        }
        t => {
            let name = match t {
                ffi::LUA_TFUNCTION => "function",
                ffi::LUA_TUSERDATA => "userdata",
                ffi::LUA_TTHREAD => "thread",
                ffi::LUA_TLIGHTUSERDATA => "light-userdata",
                _ => "<unknown-lua-type>",
            };
            if name.starts_with('<') {
                o.extend_from_slice(b"\"<unknown-lua-type>\"");
            } else {
                o.extend_from_slice(format!("\"{name}@{:p}\"", ffi::lua_topointer(l, idx)).as_bytes());
            }
        }
    }
}

/// Log the value on top of the stack after `prefix`, trimmed.
unsafe fn log_top(l: *mut lua_State, prefix: &[u8]) {
    let mut e = prefix.to_vec();
    cat_value(&mut e, l, -1, 0);
    with(|s| s.log_trimmed(e));
}

fn short_src(ar: &lua_Debug) -> &[u8] {
    // SAFETY: short_src is a NUL-terminated buffer filled by lua_getinfo.
    unsafe { CStr::from_ptr(ar.short_src.as_ptr()) }.to_bytes()
}

fn in_user_script(ar: &lua_Debug) -> bool {
    short_src(ar).windows(11).any(|w| w == b"user_script")
}

/// Why the REPL hands control back other than to go on.
enum Stop {
    /// The client is gone: the script runs on without stops.
    Gone,
    /// Stop the script with this error (the text after its code).
    Raise(&'static str),
}

/// The line hook (Redis's luaLdbLineHook). Errors are raised only once every Rust value here is dropped.
unsafe extern "C-unwind" fn hook(l: *mut lua_State, ar: *mut lua_Debug) {
    if let Some(msg) = stop_here(l, ar) {
        ffi::lua_createtable(l, 0, 1);
        ffi::lua_pushstring(l, c"err".as_ptr());
        ffi::lua_pushlstring(l, msg.as_ptr().cast::<c_char>(), msg.len());
        ffi::lua_settable(l, -3);
        ffi::lua_error(l);
    }
}

/// The hook's work: stop and run the REPL when stepping, at a breakpoint, or past the timeout. Some:
/// the error to stop the script with.
unsafe fn stop_here(l: *mut lua_State, ar: *mut lua_Debug) -> Option<&'static str> {
    ffi::lua_getstack(l, 0, ar);
    ffi::lua_getinfo(l, c"Sl".as_ptr(), ar);
    let line = (*ar).currentline;
    let (step, luabp, bp, expired) = with(|s| {
        s.line = line;
        (s.step, s.luabp, s.breakpoints.contains(&line) || s.luabp, s.since.elapsed() >= s.timeout)
    })?;
    if !in_user_script(&*ar) {
        return None;
    }
    let mut timeout = false;
    if (*ar).event == ffi::LUA_HOOKCOUNT && !step && !bp {
        if !expired {
            return None;
        }
        timeout = true;
    }
    if !(step || bp || timeout) {
        return None;
    }
    let reason = if bp {
        if luabp {
            "redis.breakpoint() called"
        } else {
            "break point"
        }
    } else if timeout {
        "timeout reached, infinite loop?"
    } else {
        "step over"
    };
    with(|s| {
        s.step = false;
        s.luabp = false;
        s.log(format!("* Stopped at {line}, stop reason = {reason}").into_bytes());
        s.log_source_line(line);
        s.send_logs();
    });
    match repl(l) {
        Err(Stop::Raise(msg)) => return Some(msg),
        Err(Stop::Gone) if timeout => return Some("ERR timeout during Lua debugging with client closing connection"),
        _ => {}
    }
    with(|s| s.since = Instant::now());
    None
}

/// Read and run debugger commands until one resumes the script (Redis's ldbRepl).
unsafe fn repl(l: *mut lua_State) -> Result<(), Stop> {
    loop {
        let argv = loop {
            match with(|s| parse_command(&s.cbuf)).unwrap_or(Input::More) {
                Input::Command(argv) => break argv,
                Input::ProtocolError => return Err(Stop::Raise("ERR protocol error")),
                Input::More => {}
            }
            let mut buf = [0u8; 1024];
            let got = with(|s| s.io.read(&mut buf)).flatten();
            let Some(n) = got.filter(|&n| n > 0) else {
                // The client left: the script runs to its end without user input.
                with(|s| {
                    s.step = false;
                    s.breakpoints.clear();
                });
                return Err(Stop::Gone);
            };
            let over = with(|s| {
                s.cbuf.extend_from_slice(&buf[..n]);
                let over = s.cbuf.len() > MAX_CLIENT_BUFFER;
                if over {
                    s.cbuf = Vec::new();
                }
                over
            });
            if over == Some(true) {
                return Err(Stop::Raise("ERR max client buffer reached"));
            }
        };
        // What else the buffer held goes, as in Redis.
        with(|s| s.cbuf.clear());
        let cmd = argv[0].to_ascii_lowercase();
        match cmd.as_slice() {
            b"h" | b"help" => {
                with(|s| s.help());
            }
            b"s" | b"step" | b"n" | b"next" => {
                with(|s| s.step = true);
                return Ok(());
            }
            b"c" | b"continue" => return Ok(()),
            b"t" | b"trace" => trace(l),
            b"m" | b"maxlen" => {
                with(|s| s.maxlen(&argv));
            }
            b"b" | b"break" => {
                with(|s| s.breakpoint(&argv));
            }
            b"e" | b"eval" => eval(l, &argv),
            b"a" | b"abort" => return Err(Stop::Raise("ERR script aborted for user request")),
            b"r" | b"redis" if argv.len() > 1 => redis(l, &argv),
            b"p" | b"print" => {
                if argv.len() == 2 {
                    print(l, &argv[1]);
                } else {
                    print_all(l);
                }
            }
            b"l" | b"list" => {
                with(|s| {
                    let mut around = s.line;
                    if let Some(n) = argv.get(1).map(|a| atoi(a)).filter(|&n| n > 0) {
                        around = n as i32;
                    }
                    let context = argv.get(2).map_or(5, |a| atoi(a) as i32);
                    s.list(around, context);
                });
            }
            b"w" | b"whole" => {
                with(|s| s.list(1, 1_000_000));
            }
            _ => {
                with(|s| s.log(b"<error> Unknown Redis Lua debugger command or wrong number of arguments.".to_vec()));
            }
        }
        with(|s| s.send_logs());
    }
}

/// `trace`: the user script's frames, innermost first.
unsafe fn trace(l: *mut lua_State) {
    let mut ar: lua_Debug = std::mem::zeroed();
    let mut level = 0;
    while ffi::lua_getstack(l, level, &mut ar) != 0 {
        ffi::lua_getinfo(l, c"Snl".as_ptr(), &mut ar);
        if in_user_script(&ar) {
            let name = if ar.name.is_null() {
                "top level".to_string()
            } else {
                CStr::from_ptr(ar.name).to_string_lossy().into_owned()
            };
            let line = ar.currentline;
            with(|s| {
                s.log(format!("{} {name}:", if level == 0 { "In" } else { "From" }).into_bytes());
                s.log_source_line(line);
            });
        }
        level += 1;
    }
    if level == 0 {
        with(|s| s.log(b"<error> Can't retrieve Lua stack.".to_vec()));
    }
}

/// `print <var>`: the innermost local of that name in the script's frames, or KEYS / ARGV.
unsafe fn print(l: *mut lua_State, name: &[u8]) {
    let mut ar: lua_Debug = std::mem::zeroed();
    let mut level = 0;
    while ffi::lua_getstack(l, level, &mut ar) != 0 {
        level += 1;
        ffi::lua_getinfo(l, c"S".as_ptr(), &mut ar);
        // Only the script's own frames: the sandbox's wrapper around it has locals of its own.
        if !in_user_script(&ar) {
            continue;
        }
        if find_local(l, &ar, |local| {
            if local != name {
                return false;
            }
            log_top(l, b"<value> ");
            true
        }) {
            return;
        }
    }
    if name == b"ARGV" || name == b"KEYS" {
        ffi::lua_pushlstring(l, name.as_ptr().cast(), name.len());
        ffi::lua_rawget(l, ffi::LUA_GLOBALSINDEX);
        log_top(l, b"<value> ");
        ffi::lua_pop(l, 1);
    } else {
        with(|s| s.log(b"No such variable.".to_vec()));
    }
}

/// Call `f` with the name of each local of the frame `ar`, its value on top of the stack meanwhile, until
/// `f` returns true (then true).
unsafe fn find_local(l: *mut lua_State, ar: &lua_Debug, mut f: impl FnMut(&[u8]) -> bool) -> bool {
    let mut i = 1;
    loop {
        let local = ffi::lua_getlocal(l, ar, i);
        if local.is_null() {
            return false;
        }
        i += 1;
        let found = f(CStr::from_ptr(local).to_bytes());
        ffi::lua_pop(l, 1);
        if found {
            return true;
        }
    }
}

/// `print`: the locals of the current frame.
unsafe fn print_all(l: *mut lua_State) {
    let mut ar: lua_Debug = std::mem::zeroed();
    let mut vars = 0;
    if ffi::lua_getstack(l, 0, &mut ar) != 0 {
        find_local(l, &ar, |name| {
            if !name.windows(12).any(|w| w == b"(*temporary)") {
                let mut prefix = b"<value> ".to_vec();
                prefix.extend_from_slice(name);
                prefix.extend_from_slice(b" = ");
                log_top(l, &prefix);
                vars += 1;
            }
            false
        });
    }
    if vars == 0 {
        with(|s| s.log(b"No local variables in the current context.".to_vec()));
    }
}

/// Push the environment the running script sees (its function's), or the globals.
unsafe fn push_script_env(l: *mut lua_State) {
    let mut ar: lua_Debug = std::mem::zeroed();
    if ffi::lua_getstack(l, 0, &mut ar) != 0 && ffi::lua_getinfo(l, c"f".as_ptr(), &mut ar) != 0 {
        ffi::lua_getfenv(l, -1);
        ffi::lua_remove(l, -2);
    } else {
        ffi::lua_pushvalue(l, ffi::LUA_GLOBALSINDEX);
    }
}

/// `eval <code>`: run Lua in a frame of its own, as an expression if it compiles as one, and log what it
/// returns.
unsafe fn eval(l: *mut lua_State, argv: &[Vec<u8>]) {
    ffi::lua_checkstack(l, 4);
    let code = argv[1..].join(&b' ');
    let mut expr = b"return ".to_vec();
    expr.extend_from_slice(&code);
    let load = |src: &[u8]| ffi::luaL_loadbuffer(l, src.as_ptr().cast(), src.len(), c"@ldb_eval".as_ptr());
    if load(&expr) != 0 {
        ffi::lua_pop(l, 1);
        if load(&code) != 0 {
            log_error_top(l);
            return;
        }
    }
    push_script_env(l);
    ffi::lua_setfenv(l, -2);
    if ffi::lua_pcall(l, 0, 1, 0) != 0 {
        log_error_top(l);
        return;
    }
    log_top(l, b"<retval> ");
    ffi::lua_pop(l, 1);
}

/// Log the error on top of the stack as `<error> ...` and pop it.
unsafe fn log_error_top(l: *mut lua_State) {
    let mut len = 0;
    let p = ffi::lua_tolstring(l, -1, &mut len);
    let mut e = b"<error> ".to_vec();
    if !p.is_null() {
        e.extend_from_slice(std::slice::from_raw_parts(p.cast::<u8>(), len));
    }
    with(|s| s.log(e));
    ffi::lua_pop(l, 1);
}

/// `redis <cmd> ...`: redis.call with logging on, so the command and its reply show in the logs.
unsafe fn redis(l: *mut lua_State, argv: &[Vec<u8>]) {
    // Room for the environment, `redis`, `redis.call` and the arguments.
    if ffi::lua_checkstack(l, argv.len() as c_int + 3) == 0 {
        with(|s| s.log_reply(b"max lua stack reached"));
        return;
    }
    push_script_env(l);
    ffi::lua_getfield(l, -1, c"redis".as_ptr());
    ffi::lua_getfield(l, -1, c"call".as_ptr());
    for a in &argv[1..] {
        ffi::lua_pushlstring(l, a.as_ptr().cast(), a.len());
    }
    with(|s| s.step = true);
    ffi::lua_pcall(l, argv.len() as c_int - 1, 1, 0);
    with(|s| s.step = false);
    ffi::lua_pop(l, 3);
}

/// redis.debug(...): `<debug> line N: v1, v2` in the debugger's log (nothing outside a session).
///
/// # Safety
/// Called by Lua as a C function.
pub unsafe extern "C-unwind" fn lua_debug(l: *mut lua_State) -> c_int {
    if !active() {
        return 0;
    }
    let argc = ffi::lua_gettop(l);
    let line = with(|s| s.line).unwrap_or(0);
    let mut e = format!("<debug> line {line}: ").into_bytes();
    for i in 1..=argc {
        ffi::lua_pushvalue(l, i);
        cat_value(&mut e, l, -1, 0);
        ffi::lua_pop(l, 1);
        if i != argc {
            e.extend_from_slice(b", ");
        }
    }
    with(|s| s.log(e));
    0
}

/// redis.breakpoint(): stop at the next line, under a session (true); false outside one.
///
/// # Safety
/// Called by Lua as a C function.
pub unsafe extern "C-unwind" fn lua_breakpoint(l: *mut lua_State) -> c_int {
    let on = with(|s| s.luabp = true).is_some();
    ffi::lua_pushboolean(l, on as c_int);
    1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse_as_redis_parses_them() {
        assert_eq!(parse_command(b""), Input::More);
        assert_eq!(parse_command(b"*2\r\n$1\r\ns\r\n"), Input::More);
        assert_eq!(parse_command(b"*1\r\n$4\r\nstep\r\n"), Input::Command(vec![b"step".to_vec()]));
        assert_eq!(parse_command(b"*1\r\n$5\r\nh\0llo\r\n"), Input::Command(vec![b"h\0llo".to_vec()]));
        assert_eq!(parse_command(b"help\r\n"), Input::ProtocolError);
        assert_eq!(parse_command(b"*0\r\n"), Input::ProtocolError);
        assert_eq!(parse_command(b"*1\r\n$0\r\n\r\n"), Input::ProtocolError);
        assert_eq!(parse_command(b"*1\r\n$2\r\nabc\r\n"), Input::ProtocolError);
    }

    #[test]
    fn replies_read_as_redis_shows_them() {
        let h = |r: &[u8]| {
            let mut o = Vec::new();
            human(&mut o, r);
            String::from_utf8(o).unwrap()
        };
        assert_eq!(h(b":12\r\n"), "12");
        assert_eq!(h(b"$-1\r\n"), "NULL");
        assert_eq!(h(b"$3\r\na\"b\r\n"), r#""a\"b""#);
        assert_eq!(h(b"+OK\r\n"), r#""+OK""#);
        assert_eq!(h(b"-ERR no\r\n"), r#""-ERR no""#);
        assert_eq!(h(b"*2\r\n:1\r\n$1\r\nx\r\n"), r#"[1,"x"]"#);
        assert_eq!(h(b"%1\r\n+a\r\n:1\r\n"), r#"{"+a" => 1}"#);
        assert_eq!(h(b"~1\r\n:1\r\n"), "~(1)");
        assert_eq!(h(b"_\r\n"), "(null)");
        assert_eq!(h(b"#t\r\n"), "#true");
        assert_eq!(h(b",1.5\r\n"), "(double) 1.5");
    }

    #[test]
    fn breakpoints_lists_and_maxlen_log_redis_texts() {
        struct Null;
        impl Io for Null {
            fn read(&mut self, _: &mut [u8]) -> Option<usize> {
                None
            }
            fn write(&mut self, _: &[u8]) {}
        }
        begin(Box::new(Null), b"local a = 1\nlocal b = 2\nreturn a + b\n\n", 0);
        let logs = |f: &dyn Fn(&mut Session)| {
            with(|s| {
                f(s);
                s.logs.drain(..).map(|e| String::from_utf8(e).unwrap()).collect::<Vec<_>>()
            })
            .unwrap()
        };
        assert_eq!(logs(&|s| s.breakpoint(&[b"b".to_vec()])), ["No breakpoints set. Use 'b <line>' to add one."]);
        with(|s| s.line = 2);
        assert_eq!(
            logs(&|s| s.breakpoint(&[b"b".to_vec(), b"3".to_vec()])),
            ["-> 2   local b = 2", "  #3   return a + b"]
        );
        assert_eq!(logs(&|s| s.breakpoint(&[b"b".to_vec(), b"9".to_vec()])), ["Wrong line number."]);
        assert_eq!(logs(&|s| s.breakpoint(&[b"b".to_vec(), b"-3".to_vec()])), ["Breakpoint removed."]);
        assert_eq!(logs(&|s| s.list(1, 0)), ["   1   local a = 1"]);
        assert_eq!(
            logs(&|s| s.maxlen(&[b"m".to_vec(), b"5".to_vec()])),
            ["<value> replies are truncated at 60 bytes."]
        );
        assert_eq!(logs(&|s| s.maxlen(&[b"m".to_vec(), b"0".to_vec()])), ["<value> replies are unlimited."]);
        end();
        assert!(!active());
    }
}
