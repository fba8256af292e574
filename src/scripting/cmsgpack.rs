//! The `cmsgpack` library scripts see (scripting layer): lua-cmsgpack 0.4.0 as Redis 7.0 bundles it,
//! as C functions on the Lua stack (see `raw`).
//!
//! Packing: integral numbers as the smallest integer form, others as float32 when exact, tables as arrays
//! only when their keys are exactly 1..n, tables nested 16 deep written as nil (so that cycles end).
//! Unpacking keeps every decoded value on the Lua stack as lua-cmsgpack does, so nesting ends exactly where
//! Redis's does, with its error ("stack overflow (in function mp_decode_to_lua_array)"); the decoder walks
//! the input with an explicit stack, so no input can exhaust the thread's own stack.

use super::raw::{self, check_stack, error, lua_fn, push_bytes, RResult, Raise};
use mlua::ffi::{self, lua_State};
use mlua::{Lua, Result, Table};
use std::ffi::c_int;

/// Tables nested deeper than this are packed as nil (LUACMSGPACK_MAX_NESTING).
const MAX_NESTING: u32 = 16;

const TOO_MANY: &str = "too many return values at once; use unpack_one or unpack_limit instead.";

fn encode_int(out: &mut Vec<u8>, i: i64) {
    if i >= 0 {
        if i <= 127 {
            out.push(i as u8);
        } else if i <= 0xff {
            out.extend_from_slice(&[0xcc, i as u8]);
        } else if i <= 0xffff {
            out.push(0xcd);
            out.extend_from_slice(&(i as u16).to_be_bytes());
        } else if i <= 0xffff_ffff {
            out.push(0xce);
            out.extend_from_slice(&(i as u32).to_be_bytes());
        } else {
            out.push(0xcf);
            out.extend_from_slice(&i.to_be_bytes());
        }
    } else if i >= -32 {
        out.push(i as i8 as u8);
    } else if i >= -128 {
        out.extend_from_slice(&[0xd0, i as i8 as u8]);
    } else if i >= -32768 {
        out.push(0xd1);
        out.extend_from_slice(&(i as i16).to_be_bytes());
    } else if i >= -2147483648 {
        out.push(0xd2);
        out.extend_from_slice(&(i as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&i.to_be_bytes());
    }
}

fn encode_number(out: &mut Vec<u8>, d: f64) {
    // IS_INT64_EQUIVALENT: (int64_t)d == d, with C's cast (NaN and 2^63 are not integers).
    if !d.is_infinite() && raw::c_i64(d) as f64 == d {
        encode_int(out, raw::c_i64(d));
    } else if (d as f32) as f64 == d {
        out.push(0xca);
        out.extend_from_slice(&(d as f32).to_be_bytes());
    } else {
        out.push(0xcb);
        out.extend_from_slice(&d.to_be_bytes());
    }
}

fn encode_len(out: &mut Vec<u8>, n: usize, fix: u8, b16: u8, b32: u8) {
    if n <= 15 {
        out.push(fix | n as u8);
    } else if n <= 0xffff {
        out.push(b16);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(b32);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
}

fn encode_bytes(out: &mut Vec<u8>, b: &[u8]) {
    let n = b.len();
    if n < 32 {
        out.push(0xa0 | n as u8);
    } else if n <= 0xff {
        out.extend_from_slice(&[0xd9, n as u8]);
    } else if n <= 0xffff {
        out.push(0xda);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(0xdb);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
    out.extend_from_slice(b);
}

/// table_is_an_array: keys exactly 1..n (integral numbers, no holes), for the table on top.
unsafe fn table_is_an_array(l: *mut lua_State) -> RResult<bool> {
    let top = ffi::lua_gettop(l);
    check_stack(l, 2, "in function table_is_an_array")?;
    let (mut count, mut max) = (0i64, 0i64);
    ffi::lua_pushnil(l);
    while ffi::lua_next(l, -2) != 0 {
        ffi::lua_pop(l, 1);
        let n = ffi::lua_tonumber(l, -1);
        // IS_INT_EQUIVALENT with C's (int) cast.
        if ffi::lua_type(l, -1) != ffi::LUA_TNUMBER || n <= 0.0 || n.is_infinite() || raw::c_i32(n) as f64 != n {
            ffi::lua_settop(l, top);
            return Ok(false);
        }
        max = max.max(n as i64);
        count += 1;
    }
    ffi::lua_settop(l, top);
    Ok(max == count)
}

/// mp_encode_lua_type: encode the value on top and pop it. Recursion is bounded by MAX_NESTING.
unsafe fn encode(l: *mut lua_State, out: &mut Vec<u8>, level: u32) -> RResult<()> {
    let mut t = ffi::lua_type(l, -1);
    if t == ffi::LUA_TTABLE && level == MAX_NESTING {
        t = ffi::LUA_TNIL;
    }
    match t {
        ffi::LUA_TSTRING => encode_bytes(out, raw::to_bytes(l, -1).unwrap_or_default()),
        ffi::LUA_TBOOLEAN => out.push(if ffi::lua_toboolean(l, -1) != 0 { 0xc3 } else { 0xc2 }),
        ffi::LUA_TNUMBER => encode_number(out, ffi::lua_tonumber(l, -1)),
        ffi::LUA_TTABLE => {
            if table_is_an_array(l)? {
                let len = ffi::lua_objlen(l, -1);
                encode_len(out, len, 0x90, 0xdc, 0xdd);
                check_stack(l, 1, "in function mp_encode_lua_table_as_array")?;
                for j in 1..=len {
                    // Keys 1..len are all present, so a raw read is what lua_gettable would give.
                    ffi::lua_pushnumber(l, j as f64);
                    ffi::lua_rawget_(l, -2);
                    encode(l, out, level + 1)?;
                }
            } else {
                check_stack(l, 3, "in function mp_encode_lua_table_as_map")?;
                let mut len = 0usize;
                ffi::lua_pushnil(l);
                while ffi::lua_next(l, -2) != 0 {
                    ffi::lua_pop(l, 1);
                    len += 1;
                }
                encode_len(out, len, 0x80, 0xde, 0xdf);
                ffi::lua_pushnil(l);
                while ffi::lua_next(l, -2) != 0 {
                    ffi::lua_pushvalue(l, -2);
                    encode(l, out, level + 1)?;
                    encode(l, out, level + 1)?;
                }
            }
        }
        _ => out.push(0xc0),
    }
    ffi::lua_pop(l, 1);
    Ok(())
}

/// cmsgpack.pack(...): every argument packed, the results concatenated.
unsafe fn pack(l: *mut lua_State) -> RResult<c_int> {
    let nargs = ffi::lua_gettop(l);
    if nargs == 0 {
        return Err(Raise::Arg(0, b"MessagePack pack needs input.".to_vec()));
    }
    if ffi::lua_checkstack(l, nargs) == 0 {
        return Err(Raise::Arg(0, b"Too many arguments for MessagePack pack.".to_vec()));
    }
    let mut buf = Vec::new();
    for i in 1..=nargs {
        check_stack(l, 1, "in function mp_check")?;
        ffi::lua_pushvalue(l, i);
        encode(l, &mut buf, 0)?;
        push_bytes(l, &buf);
        buf.clear();
    }
    ffi::lua_concat(l, nargs);
    Ok(1)
}

/// Why decoding stopped (lua-cmsgpack's cursor errors, or an error to raise as it is).
enum DecErr {
    Eof,
    BadFmt,
    Raise(Raise),
}

impl From<Raise> for DecErr {
    fn from(r: Raise) -> DecErr {
        DecErr::Raise(r)
    }
}

/// An open array or map whose table is on the Lua stack.
enum Frame {
    /// Elements left, and the index of the next one.
    Array { left: u64, next: f64 },
    /// Pairs left, and whether the key of the current pair is on the stack.
    Map { left: u64, has_key: bool },
}

struct Cur<'a> {
    s: &'a [u8],
    p: usize,
}

impl Cur<'_> {
    fn left(&self) -> usize {
        self.s.len() - self.p
    }

    fn need(&self, n: usize) -> std::result::Result<(), DecErr> {
        if self.left() < n {
            Err(DecErr::Eof)
        } else {
            Ok(())
        }
    }

    /// Big-endian unsigned of `n` bytes after the type byte.
    fn be(&self, n: usize) -> u64 {
        self.s[self.p + 1..self.p + 1 + n].iter().fold(0u64, |a, &b| (a << 8) | b as u64)
    }
}

/// Start one value at the cursor (mp_decode_to_lua_type): a scalar is pushed (Ok(None)); a container's
/// table is pushed and its frame returned.
unsafe fn start_value(l: *mut lua_State, c: &mut Cur) -> std::result::Result<Option<Frame>, DecErr> {
    c.need(1)?;
    check_stack(l, 1, TOO_MANY)?;
    let b = c.s[c.p];
    let push_str = |c: &mut Cur, hdr: usize, n: usize| -> std::result::Result<(), DecErr> {
        c.need(hdr + n)?;
        push_bytes(l, &c.s[c.p + hdr..c.p + hdr + n]);
        c.p += hdr + n;
        Ok(())
    };
    let array = |c: &mut Cur, hdr: usize, n: u64| -> std::result::Result<Option<Frame>, DecErr> {
        c.p += hdr;
        ffi::lua_createtable(l, 0, 0);
        check_stack(l, 1, "in function mp_decode_to_lua_array")?;
        Ok(Some(Frame::Array { left: n, next: 1.0 }))
    };
    let map = |c: &mut Cur, hdr: usize, n: u64| -> Option<Frame> {
        c.p += hdr;
        ffi::lua_createtable(l, 0, 0);
        Some(Frame::Map { left: n, has_key: false })
    };
    // A fixed-size scalar of `size` bytes (type byte included): the big-endian bits after the type byte.
    let scalar = |c: &mut Cur, size: usize| -> std::result::Result<u64, DecErr> {
        c.need(size)?;
        Ok(c.be(size - 1))
    };
    match b {
        0xcc..=0xcf => {
            let size = 1 + (1usize << (b - 0xcc));
            let v = scalar(c, size)?;
            // lua_pushunsigned is lua_pushinteger on 64-bit builds: a uint64 past 2^63 wraps negative.
            ffi::lua_pushnumber(l, v as i64 as f64);
            c.p += size;
        }
        0xd0..=0xd3 => {
            let size = 1 + (1usize << (b - 0xd0));
            let v = scalar(c, size)?;
            let d = match size {
                2 => v as u8 as i8 as f64,
                3 => v as u16 as i16 as f64,
                5 => v as u32 as i32 as f64,
                _ => v as i64 as f64,
            };
            ffi::lua_pushnumber(l, d);
            c.p += size;
        }
        0xc0 => {
            ffi::lua_pushnil(l);
            c.p += 1;
        }
        0xc3 | 0xc2 => {
            ffi::lua_pushboolean(l, (b == 0xc3) as c_int);
            c.p += 1;
        }
        0xca => {
            let v = scalar(c, 5)?;
            ffi::lua_pushnumber(l, f32::from_bits(v as u32) as f64);
            c.p += 5;
        }
        0xcb => {
            let v = scalar(c, 9)?;
            ffi::lua_pushnumber(l, f64::from_bits(v));
            c.p += 9;
        }
        0xd9 => {
            c.need(2)?;
            let n = c.be(1) as usize;
            push_str(c, 2, n)?;
        }
        0xda => {
            c.need(3)?;
            let n = c.be(2) as usize;
            push_str(c, 3, n)?;
        }
        0xdb => {
            c.need(5)?;
            let n = c.be(4) as usize;
            // raw 32 consumes its header before it checks the body.
            c.p += 5;
            push_str(c, 0, n)?;
        }
        0xdc => {
            c.need(3)?;
            let n = c.be(2);
            return array(c, 3, n);
        }
        0xdd => {
            c.need(5)?;
            let n = c.be(4);
            return array(c, 5, n);
        }
        0xde => {
            c.need(3)?;
            let n = c.be(2);
            return Ok(map(c, 3, n));
        }
        0xdf => {
            c.need(5)?;
            let n = c.be(4);
            return Ok(map(c, 5, n));
        }
        _ if b & 0x80 == 0 => {
            ffi::lua_pushnumber(l, b as f64);
            c.p += 1;
        }
        _ if b & 0xe0 == 0xe0 => {
            ffi::lua_pushnumber(l, b as i8 as f64);
            c.p += 1;
        }
        _ if b & 0xe0 == 0xa0 => push_str(c, 1, (b & 0x1f) as usize)?,
        _ if b & 0xf0 == 0x90 => return array(c, 1, (b & 0x0f) as u64),
        _ if b & 0xf0 == 0x80 => return Ok(map(c, 1, (b & 0x0f) as u64)),
        _ => return Err(DecErr::BadFmt),
    }
    Ok(None)
}

/// Decode one whole value at the cursor onto the stack, nested containers included, in the order of
/// lua-cmsgpack's recursion (so its stack checks fail at the same depth) but without recursing.
unsafe fn decode_value(l: *mut lua_State, c: &mut Cur, frames: &mut Vec<Frame>) -> std::result::Result<(), DecErr> {
    frames.clear();
    let mut ready = match start_value(l, c)? {
        Some(f) => {
            frames.push(f);
            false
        }
        None => true,
    };
    loop {
        if ready {
            // A complete value is on top: store it into the open container below it.
            match frames.last_mut() {
                None => return Ok(()),
                Some(Frame::Array { .. }) => ffi::lua_settable(l, -3),
                Some(Frame::Map { has_key, .. }) => {
                    if !*has_key {
                        *has_key = true;
                    } else {
                        // lua_settable would raise these from inside this frame; raise them the same way.
                        match ffi::lua_type(l, -2) {
                            ffi::LUA_TNIL => return Err(Raise::Plain(b"table index is nil".to_vec()).into()),
                            ffi::LUA_TNUMBER if ffi::lua_tonumber(l, -2).is_nan() => {
                                return Err(Raise::Plain(b"table index is NaN".to_vec()).into())
                            }
                            _ => {}
                        }
                        ffi::lua_settable(l, -3);
                        *has_key = false;
                    }
                }
            }
        }
        // What the innermost open container needs next.
        match frames.last_mut() {
            None => return Ok(()),
            Some(Frame::Array { left, next }) => {
                if *left == 0 {
                    frames.pop();
                    ready = true;
                    continue;
                }
                *left -= 1;
                ffi::lua_pushnumber(l, *next);
                *next += 1.0;
            }
            Some(Frame::Map { left, has_key }) => {
                if !*has_key {
                    if *left == 0 {
                        frames.pop();
                        ready = true;
                        continue;
                    }
                    *left -= 1;
                }
            }
        }
        ready = match start_value(l, c)? {
            Some(f) => {
                frames.push(f);
                false
            }
            None => true,
        };
    }
}

/// mp_unpack_full: decode up to `limit` values from `offset` (both 0: everything, and no offset result);
/// otherwise the next offset (-1 at the end) comes first.
unsafe fn unpack_full(l: *mut lua_State, limit: i64, offset: i64) -> RResult<c_int> {
    let s = raw::check_bytes(l, 1);
    let len = s.len();
    if offset < 0 || limit < 0 {
        return Err(error(format!(
            "Invalid request to unpack with offset of {} and limit of {}.",
            offset as i32, len as i32
        )));
    }
    if offset as u64 > len as u64 {
        return Err(error(format!("Start offset {} greater than input length {}.", offset as i32, len as i32)));
    }
    let decode_all = limit == 0 && offset == 0;
    let limit = if decode_all { i32::MAX as i64 } else { limit };
    let mut c = Cur { s, p: offset as usize };
    let mut frames = Vec::new();
    let mut cnt: c_int = 0;
    while c.left() > 0 && (cnt as i64) < limit {
        match decode_value(l, &mut c, &mut frames) {
            Ok(()) => {}
            Err(DecErr::Eof) => return Err(error("Missing bytes in input.")),
            Err(DecErr::BadFmt) => return Err(error("Bad data format in input.")),
            Err(DecErr::Raise(r)) => return Err(r),
        }
        cnt += 1;
    }
    if !decode_all {
        check_stack(l, 1, "in function mp_unpack_full")?;
        let next = if c.left() == 0 { -1 } else { c.p as i64 };
        ffi::lua_pushnumber(l, next as f64);
        ffi::lua_insert(l, 2);
        cnt += 1;
    }
    Ok(cnt)
}

unsafe fn unpack(l: *mut lua_State) -> RResult<c_int> {
    unpack_full(l, 0, 0)
}

unsafe fn unpack_one(l: *mut lua_State) -> RResult<c_int> {
    let offset = ffi::luaL_optinteger(l, 2, 0);
    ffi::lua_settop(l, 1);
    unpack_full(l, 1, offset)
}

unsafe fn unpack_limit(l: *mut lua_State) -> RResult<c_int> {
    let limit = ffi::luaL_checkinteger(l, 2);
    let offset = ffi::luaL_optinteger(l, 3, 0);
    ffi::lua_settop(l, 1);
    unpack_full(l, limit, offset)
}

lua_fn!(c_pack => pack);
lua_fn!(c_unpack => unpack);
lua_fn!(c_unpack_one => unpack_one);
lua_fn!(c_unpack_limit => unpack_limit);

/// The `cmsgpack` table.
pub fn open(lua: &Lua) -> Result<Table> {
    let t = raw::library(
        lua,
        &[("pack", c_pack), ("unpack", c_unpack), ("unpack_one", c_unpack_one), ("unpack_limit", c_unpack_limit)],
        None,
    )?;
    t.raw_set("_NAME", "cmsgpack")?;
    t.raw_set("_VERSION", "lua-cmsgpack 0.4.0")?;
    t.raw_set("_COPYRIGHT", "Copyright (C) 2012, Salvatore Sanfilippo")?;
    t.raw_set("_DESCRIPTION", "MessagePack C implementation for Lua")?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lua() -> Lua {
        let lua = Lua::new();
        lua.globals().set("cmsgpack", open(&lua).unwrap()).unwrap();
        lua
    }

    fn hex(src: &str) -> String {
        let lua = lua();
        let s: mlua::LuaString = lua.load(src).eval().unwrap();
        s.as_bytes().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The error a chunk named like a script raises (position included), or its result as a string.
    fn run(src: &str) -> String {
        match lua().load(src).set_name("@user_script").eval::<mlua::Value>() {
            Ok(v) => format!("{v:?}"),
            // mlua appends a traceback to errors of chunks it runs itself; the message is what matters.
            Err(mlua::Error::RuntimeError(e)) => e.split("\nstack traceback:").next().unwrap_or_default().to_string(),
            Err(e) => format!("other: {e}"),
        }
    }

    #[test]
    fn packs_like_lua_cmsgpack() {
        assert_eq!(hex("return cmsgpack.pack(0.1)"), "cb3fb999999999999a");
        assert_eq!(hex("return cmsgpack.pack(-1099511627776)"), "d3ffffff0000000000");
        assert_eq!(hex("return cmsgpack.pack({1, 2, 'a'})"), "930102a161");
        assert_eq!(hex("return cmsgpack.pack(true, nil, 1.5)"), "c3c0ca3fc00000");
        // NaN and 2^63 are not integers for C's cast; NaN is no float32 either.
        assert_eq!(hex("return cmsgpack.pack(0/0):sub(1, 1)"), "cb");
        assert_eq!(hex("return cmsgpack.pack(2^63)"), "ca5f000000");
        // Sixteen levels, then nil: a table that holds itself ends.
        assert_eq!(hex("local t = {} t[1] = t return cmsgpack.pack(t)"), format!("{}c0", "91".repeat(16)));
    }

    #[test]
    fn big_tables() {
        let n: i64 = lua()
            .load(
                "local a, m = {}, {}
                 for i = 1, 100000 do a[i] = i; m[tostring(i)] = i end
                 local t = cmsgpack.unpack(cmsgpack.pack({a = a, m = m}))
                 return #t.a + t.m['99999']",
            )
            .eval()
            .unwrap();
        assert_eq!(n, 199999);
    }

    #[test]
    fn round_trip() {
        let ok: bool = lua()
            .load(
                "local e = cmsgpack.pack({a = {1, 2}, b = 'x'}, 'tail')
                 local t, s = cmsgpack.unpack(e)
                 local off, one = cmsgpack.unpack_one(e, 0)
                 local off2, tail = cmsgpack.unpack_one(e, off)
                 return t.a[2] == 2 and t.b == 'x' and s == 'tail' and one.b == 'x' and off > 0
                   and off2 == -1 and tail == 'tail'",
            )
            .eval()
            .unwrap();
        assert!(ok);
        // unpack_limit(s, 0, 0) decodes everything and, as in lua-cmsgpack, reports no offset.
        assert_eq!(run("return select('#', cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 0, 0))"), "Integer(3)");
        assert_eq!(run("return cmsgpack.unpack(string.char(0xcf, 255,255,255,255,255,255,255,255))"), "Integer(-1)");
    }

    /// Regression: nesting 10,000 deep overflowed the thread's stack and aborted the server.
    #[test]
    fn deep_nesting_is_an_error_as_in_redis() {
        let arrays = "cmsgpack.unpack(string.rep(string.char(0x91), 10000) .. string.char(0xc0))";
        assert_eq!(
            run(&format!("return {arrays}")),
            "user_script:1: stack overflow (in function mp_decode_to_lua_array)"
        );
        // Under pcall the caller is a C function: no position, as in Redis.
        assert_eq!(
            run(&format!("local ok, e = pcall(function() return {arrays} end) return e")),
            "String(\"user_script:1: stack overflow (in function mp_decode_to_lua_array)\")"
        );
        // The exact depth where Redis stops: 3,999 arrays decode, 4,000 do not.
        let depth = |n: usize| {
            run(&format!(
                "local t = cmsgpack.unpack(string.rep(string.char(0x91), {n}) .. string.char(0xc0))
                 local d = 0 while type(t) == 'table' do d = d + 1 t = t[1] end return d"
            ))
        };
        assert_eq!(depth(3999), "Integer(3999)");
        assert!(depth(4000).ends_with("stack overflow (in function mp_decode_to_lua_array)"));
        let arr16 = "cmsgpack.unpack(string.rep(string.char(0xdc, 0, 1), 10000) .. string.char(0xc0))";
        assert!(run(&format!("return {arr16}")).ends_with("(in function mp_decode_to_lua_array)"));
        // Maps nested through their keys use one slot a level.
        let keys = "cmsgpack.unpack(string.rep(string.char(0x81), 10000) .. string.char(0xc0))";
        assert_eq!(
            run(&format!("return {keys}")),
            "user_script:1: stack overflow (too many return values at once; use unpack_one or unpack_limit instead.)"
        );
        // Too many values at the top level end the same way.
        assert!(run("return cmsgpack.unpack(string.rep('\\1', 9000))").contains("too many return values"));
        assert_eq!(run("return select('#', cmsgpack.unpack(string.rep('\\1', 7000)))"), "Integer(7000)");
    }

    #[test]
    fn errors_are_redis_texts() {
        assert_eq!(run("return cmsgpack.unpack(string.char(0xdc))"), "user_script:1: Missing bytes in input.");
        assert_eq!(run("return cmsgpack.unpack(string.char(0xc1))"), "user_script:1: Bad data format in input.");
        // bin 8 is not in lua-cmsgpack 0.4.0.
        assert_eq!(run("return cmsgpack.unpack(string.char(0xc4, 0))"), "user_script:1: Bad data format in input.");
        assert_eq!(run("return cmsgpack.unpack(string.char(0x81, 0xc0, 1))"), "table index is nil");
        assert_eq!(
            run("return cmsgpack.unpack()"),
            "user_script:1: bad argument #1 to 'unpack' (string expected, got no value)"
        );
        assert_eq!(
            run("return cmsgpack.pack()"),
            "user_script:1: bad argument #0 to 'pack' (MessagePack pack needs input.)"
        );
        assert_eq!(
            run("return cmsgpack.unpack_one('abc', 9)"),
            "user_script:1: Start offset 9 greater than input length 3."
        );
        assert_eq!(
            run("return cmsgpack.unpack_limit('abc', -1)"),
            "user_script:1: Invalid request to unpack with offset of 0 and limit of 3."
        );
    }
}
