//! Lua C-API plumbing for the libraries scripts see (scripting layer, below `cjson`, `cmsgpack`, `struct`
//! and `bit`).
//!
//! Redis's bundled libraries are C functions working on the Lua stack, and their limits and error texts
//! come from that: nesting ends where `lua_checkstack` refuses (LUAI_MAXCSTACK, 8000 slots per C call),
//! and `luaL_error` puts the caller's position in front of the message ("user_script:1: ..."). Ours are C
//! functions on the same Lua 5.1 stack, so both come out the same, and no mlua reference is held per
//! nested value (mlua's reference stack is bounded like a C function's, and a deep decode would exhaust
//! it).
//!
//! Errors are raised only once the Rust frames are gone: a library function returns `Err(Raise)` and
//! [`lua_fn!`] raises it with `lua_error` from the outermost frame, which owns nothing that needs dropping.

use mlua::ffi::{self, lua_State};
use std::ffi::{c_char, c_int};

/// How a library function fails; raised by [`raise`] after every Rust frame of the call has returned.
pub enum Raise {
    /// `luaL_error`: the message after the calling function's position ("user_script:1: msg").
    Error(Vec<u8>),
    /// `luaL_argerror`: "bad argument #n to 'name' (msg)", with the caller's position.
    Arg(c_int, Vec<u8>),
    /// The message as it is, as the VM raises its own errors from inside a C function ("table index is nil").
    Plain(Vec<u8>),
}

/// A library function's result: the number of values it left on the stack, or the error to raise.
pub type RResult<T> = Result<T, Raise>;

/// `luaL_error`'s error.
pub fn error(msg: impl Into<Vec<u8>>) -> Raise {
    Raise::Error(msg.into())
}

/// `luaL_checkstack`: room for `n` more slots, or "stack overflow (msg)".
///
/// # Safety
/// `l` is the running C function's state.
pub unsafe fn check_stack(l: *mut lua_State, n: c_int, msg: &str) -> RResult<()> {
    if ffi::lua_checkstack(l, n) == 0 {
        return Err(error(format!("stack overflow ({msg})")));
    }
    Ok(())
}

/// Push a byte string.
///
/// # Safety
/// `l` is a valid state with a free slot.
pub unsafe fn push_bytes(l: *mut lua_State, b: &[u8]) {
    ffi::lua_pushlstring_(l, b.as_ptr() as *const c_char, b.len());
}

/// The bytes of the string (or number, converted in place as `lua_tolstring` does) at `idx`.
///
/// # Safety
/// The slice lives as long as the value stays on the stack; the caller must not pop it meanwhile.
pub unsafe fn to_bytes<'a>(l: *mut lua_State, idx: c_int) -> Option<&'a [u8]> {
    let mut len = 0usize;
    let p = ffi::lua_tolstring(l, idx, &mut len);
    if p.is_null() {
        None
    } else {
        Some(std::slice::from_raw_parts(p as *const u8, len))
    }
}

/// `luaL_checklstring`: the string argument `n`, or Lua's own "bad argument" error.
///
/// # Safety
/// Call at the start of a C function, before any Rust value that needs dropping exists: on a bad
/// argument this raises (longjmp) at once, as the C libraries do.
pub unsafe fn check_bytes<'a>(l: *mut lua_State, n: c_int) -> &'a [u8] {
    let mut len = 0usize;
    let p = ffi::luaL_checklstring(l, n, &mut len);
    std::slice::from_raw_parts(p as *const u8, len)
}

/// Raise `r` as a Lua error. Every Rust value is dropped before `lua_error` unwinds past this frame.
///
/// # Safety
/// `l` is the running C function's state; this never returns.
pub unsafe fn raise(l: *mut lua_State, r: Raise) -> ! {
    // What the failed call left on the stack is of no use, and the error needs a few free slots.
    ffi::lua_settop(l, 0);
    match r {
        Raise::Error(m) => {
            ffi::luaL_where(l, 1);
            push_bytes(l, &m);
            drop(m);
            ffi::lua_concat(l, 2);
        }
        Raise::Plain(m) => {
            push_bytes(l, &m);
            drop(m);
        }
        Raise::Arg(n, m) => {
            // The message lives on the Lua stack (which the error copies), not in a Rust buffer.
            let mut z = m;
            z.retain(|&b| b != 0);
            z.push(0);
            ffi::lua_pushstring_(l, z.as_ptr() as *const c_char);
            drop(z);
            ffi::luaL_argerror(l, n, ffi::lua_tolstring(l, -1, std::ptr::null_mut()));
        }
    }
    ffi::lua_error(l)
}

/// Define `extern "C-unwind" fn $name(L)` over `fn $body(L) -> RResult<c_int>`, raising its error.
macro_rules! lua_fn {
    ($(#[$m:meta])* $name:ident => $body:path) => {
        $(#[$m])*
        pub(crate) unsafe extern "C-unwind" fn $name(l: *mut mlua::ffi::lua_State) -> std::ffi::c_int {
            match $body(l) {
                Ok(n) => n,
                Err(e) => $crate::scripting::raw::raise(l, e),
            }
        }
    };
}
pub(crate) use lua_fn;

/// C's `(long long)` / `(int64_t)` cast of a double as x86-64 does it: NaN and out-of-range values give
/// i64::MIN (Rust's `as` saturates instead).
pub fn c_i64(d: f64) -> i64 {
    if !(-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&d) {
        i64::MIN
    } else {
        d as i64
    }
}

/// C's `(int)` cast of a double as x86-64 does it (out of range: i32::MIN).
pub fn c_i32(d: f64) -> i32 {
    if d.is_nan() || d >= 2_147_483_648.0 || d <= -2_147_483_649.0 {
        i32::MIN
    } else {
        d as i32
    }
}

/// Build a library table of C functions in `lua`; `upvalue` (if any) becomes every function's first
/// upvalue, shared as lua_cjson shares its configuration.
pub fn library(
    lua: &mlua::Lua,
    funcs: &[(&str, ffi::lua_CFunction)],
    upvalue: Option<&mlua::Value>,
) -> mlua::Result<mlua::Table> {
    let t = lua.create_table()?;
    for &(name, f) in funcs {
        // SAFETY: pushing a closure over the argument exec_raw pushed (if any) is all this does.
        let func: mlua::Function = unsafe {
            match upvalue {
                Some(v) => lua.exec_raw(v.clone(), |l| ffi::lua_pushcclosure(l, f, 1))?,
                None => lua.exec_raw((), |l| ffi::lua_pushcclosure(l, f, 0))?,
            }
        };
        t.raw_set(name, func)?;
    }
    Ok(t)
}
