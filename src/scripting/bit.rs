//! The `bit` library scripts see (scripting layer): LuaBitOp 1.0.2's API on 32-bit integers carried in
//! Lua's doubles, as Redis bundles it, as C functions on the Lua stack (see `raw`) so that a bad argument
//! fails with Lua's own "bad argument #1 to 'band' (number expected, got string)" at the caller's line.

use super::raw;
use mlua::ffi::{self, lua_State};
use mlua::{Lua, Result, Table};
use std::ffi::c_int;

/// LuaBitOp's normalisation: the number rounded and wrapped to a signed 32-bit integer.
fn tobit(d: f64) -> i32 {
    // Adding 2^52 + 2^51 puts the rounded integer in the low mantissa bits, as LuaBitOp does.
    let b = (d + 6_755_399_441_055_744.0).to_bits();
    b as u32 as i32
}

/// barg: argument `idx` as bits; a non-number raises Lua's type error at once (nothing here needs
/// dropping, as with the C original).
unsafe fn barg(l: *mut lua_State, idx: c_int) -> u32 {
    let b = tobit(ffi::lua_tonumber(l, idx)) as u32;
    if b == 0 && ffi::lua_isnumber(l, idx) == 0 {
        ffi::luaL_typerror(l, idx, c"number".as_ptr());
    }
    b
}

unsafe fn bret(l: *mut lua_State, b: u32) -> c_int {
    ffi::lua_pushnumber(l, b as i32 as f64);
    1
}

unsafe extern "C-unwind" fn tobit_c(l: *mut lua_State) -> c_int {
    bret(l, barg(l, 1))
}

unsafe extern "C-unwind" fn bnot(l: *mut lua_State) -> c_int {
    bret(l, !barg(l, 1))
}

/// band/bor/bxor: the first argument, then the others from the last one down, as LuaBitOp reads them.
unsafe fn fold(l: *mut lua_State, op: fn(u32, u32) -> u32) -> c_int {
    let mut b = barg(l, 1);
    let mut i = ffi::lua_gettop(l);
    while i > 1 {
        b = op(b, barg(l, i));
        i -= 1;
    }
    bret(l, b)
}

unsafe extern "C-unwind" fn band(l: *mut lua_State) -> c_int {
    fold(l, |a, b| a & b)
}

unsafe extern "C-unwind" fn bor(l: *mut lua_State) -> c_int {
    fold(l, |a, b| a | b)
}

unsafe extern "C-unwind" fn bxor(l: *mut lua_State) -> c_int {
    fold(l, |a, b| a ^ b)
}

unsafe fn shift(l: *mut lua_State, f: fn(u32, u32) -> u32) -> c_int {
    let b = barg(l, 1);
    let n = barg(l, 2) & 31;
    bret(l, f(b, n))
}

unsafe extern "C-unwind" fn lshift(l: *mut lua_State) -> c_int {
    shift(l, |b, n| b << n)
}

unsafe extern "C-unwind" fn rshift(l: *mut lua_State) -> c_int {
    shift(l, |b, n| b >> n)
}

unsafe extern "C-unwind" fn arshift(l: *mut lua_State) -> c_int {
    shift(l, |b, n| ((b as i32) >> n) as u32)
}

unsafe extern "C-unwind" fn rol(l: *mut lua_State) -> c_int {
    shift(l, |b, n| b.rotate_left(n))
}

unsafe extern "C-unwind" fn ror(l: *mut lua_State) -> c_int {
    shift(l, |b, n| b.rotate_right(n))
}

unsafe extern "C-unwind" fn bswap(l: *mut lua_State) -> c_int {
    bret(l, barg(l, 1).swap_bytes())
}

unsafe extern "C-unwind" fn tohex(l: *mut lua_State) -> c_int {
    let mut b = barg(l, 1);
    let n = if ffi::lua_type(l, 2) == ffi::LUA_TNONE { 8 } else { barg(l, 2) as i32 };
    let digits: &[u8; 16] = if n < 0 { b"0123456789ABCDEF" } else { b"0123456789abcdef" };
    let n = (n.unsigned_abs() as usize).min(8);
    let mut buf = [0u8; 8];
    for i in (0..n).rev() {
        buf[i] = digits[(b & 15) as usize];
        b >>= 4;
    }
    raw::push_bytes(l, &buf[..n]);
    1
}

/// The `bit` table.
pub fn open(lua: &Lua) -> Result<Table> {
    raw::library(
        lua,
        &[
            ("tobit", tobit_c),
            ("bnot", bnot),
            ("band", band),
            ("bor", bor),
            ("bxor", bxor),
            ("lshift", lshift),
            ("rshift", rshift),
            ("arshift", arshift),
            ("rol", rol),
            ("ror", ror),
            ("bswap", bswap),
            ("tohex", tohex),
        ],
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_like_luabitop() {
        assert_eq!(tobit(1.0), 1);
        assert_eq!(tobit(4294967295.0), -1);
        assert_eq!(tobit(2147483648.0), i32::MIN);
        assert_eq!(tobit(-1.0), -1);
        assert_eq!(tobit(1.5), 2);
    }

    #[test]
    fn operations_and_errors() {
        let lua = Lua::new();
        lua.globals().set("bit", open(&lua).unwrap()).unwrap();
        let v: String = lua
            .load("return table.concat({bit.band(0xff, 0x0f), bit.tohex(255, -4), bit.rol(1, 33), bit.arshift(-8, 1)}, ' ')")
            .eval()
            .unwrap();
        assert_eq!(v, "15 00FF 2 -4");
        let e = lua.load("return bit.band(1, 'x')").set_name("@user_script").eval::<f64>().unwrap_err().to_string();
        assert!(e.contains("user_script:1: bad argument #2 to 'band' (number expected, got string)\n"), "{e}");
    }
}
