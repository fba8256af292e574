//! The `struct` library scripts see (scripting layer): Roberto Ierusalimschy's lstruct as Redis 7.0
//! bundles it, as C functions on the Lua stack (see `raw`), with its texts ("bad argument #1 to 'pack'
//! (invalid format option 'q')", "integral size 40 is larger than limit of 32") and its quirks: `<` `>`
//! endianness (no `=`), `!n` alignment, `b B h H l L T i[n] I[n]` integers (up to 32 bytes, of which
//! the low 8 carry the value), `f d` floats, `c[n]` and `s` strings, `x` padding; the format ends at
//! its first NUL, as a C string does.

use super::raw::{self, error, lua_fn, push_bytes, RResult, Raise};
use mlua::ffi::{self, lua_State};
use mlua::{Lua, Result, Table};
use std::ffi::c_int;

/// Largest integer size, in bytes (MAXINTSIZE).
const MAX_INT_SIZE: usize = 32;
/// `!` without a number: the platform's largest alignment (MAXALIGN).
const MAX_ALIGN: usize = 8;

struct Header {
    little: bool,
    align: usize,
}

/// A format string walked as lstruct walks its `const char *`.
struct Fmt<'a> {
    f: &'a [u8],
    i: usize,
}

impl Fmt<'_> {
    fn peek(&self) -> u8 {
        self.f.get(self.i).copied().unwrap_or(0)
    }

    /// getnum: the digits at the cursor, or `df` when there are none.
    fn num(&mut self, df: usize) -> RResult<usize> {
        if !self.peek().is_ascii_digit() {
            return Ok(df);
        }
        let mut a: i32 = 0;
        while self.peek().is_ascii_digit() {
            let d = (self.peek() - b'0') as i32;
            if a > i32::MAX / 10 || a * 10 > i32::MAX - d {
                return Err(error("integral size overflow"));
            }
            a = a * 10 + d;
            self.i += 1;
        }
        Ok(a as usize)
    }

    /// optsize: the size of option `opt` (0 for the options that need no alignment).
    fn size(&mut self, opt: u8) -> RResult<usize> {
        Ok(match opt {
            b'B' | b'b' => 1,
            b'H' | b'h' => 2,
            b'L' | b'l' | b'T' | b'd' => 8,
            b'f' => 4,
            b'x' => 1,
            b'c' => self.num(1)?,
            b'i' | b'I' => {
                let sz = self.num(4)?;
                if sz > MAX_INT_SIZE {
                    return Err(error(format!("integral size {sz} is larger than limit of {MAX_INT_SIZE}")));
                }
                sz
            }
            _ => 0,
        })
    }
}

/// gettoalign: padding before an item of `size` bytes at `len`.
fn to_align(len: usize, h: &Header, opt: u8, size: usize) -> usize {
    if size == 0 || opt == b'c' {
        return 0;
    }
    let size = size.min(h.align);
    (size.wrapping_sub(len & size.wrapping_sub(1))) & size.wrapping_sub(1)
}

/// controloptions: the options that change the header, or the "invalid format option" error.
fn control(opt: u8, fmt: &mut Fmt, h: &mut Header) -> RResult<()> {
    match opt {
        b' ' => {}
        b'>' => h.little = false,
        b'<' => h.little = true,
        b'!' => {
            let a = fmt.num(MAX_ALIGN)?;
            if !(a > 0 && a & (a - 1) == 0) {
                return Err(error(format!("alignment {a} is not a power of 2")));
            }
            h.align = a;
        }
        _ => {
            let mut msg = b"invalid format option '".to_vec();
            msg.push(opt);
            msg.push(b'\'');
            return Err(Raise::Arg(1, msg));
        }
    }
    Ok(())
}

/// luaL_typerror's message for argument `n`.
unsafe fn type_error(l: *mut lua_State, n: c_int, expected: &str) -> Raise {
    let got = if ffi::lua_type(l, n) == ffi::LUA_TNONE {
        "no value".to_string()
    } else {
        std::ffi::CStr::from_ptr(ffi::lua_typename(l, ffi::lua_type(l, n))).to_string_lossy().into_owned()
    };
    Raise::Arg(n, format!("{expected} expected, got {got}").into_bytes())
}

/// luaL_checknumber, failing as an error value rather than at once.
unsafe fn check_number(l: *mut lua_State, n: c_int) -> RResult<f64> {
    let d = ffi::lua_tonumber(l, n);
    if d == 0.0 && ffi::lua_isnumber(l, n) == 0 {
        return Err(type_error(l, n, "number"));
    }
    Ok(d)
}

/// luaL_checklstring, failing as an error value rather than at once.
unsafe fn check_string<'a>(l: *mut lua_State, n: c_int) -> RResult<&'a [u8]> {
    raw::to_bytes(l, n).ok_or_else(|| type_error(l, n, "string"))
}

/// The format argument up to its first NUL.
unsafe fn format_arg<'a>(l: *mut lua_State) -> &'a [u8] {
    let f = raw::check_bytes(l, 1);
    &f[..f.iter().position(|&b| b == 0).unwrap_or(f.len())]
}

unsafe fn pack(l: *mut lua_State) -> RResult<c_int> {
    let mut fmt = Fmt { f: format_arg(l), i: 0 };
    let mut h = Header { little: true, align: 1 };
    let mut arg = 2;
    let mut out = Vec::new();
    while fmt.i < fmt.f.len() {
        let opt = fmt.f[fmt.i];
        fmt.i += 1;
        let mut size = fmt.size(opt)?;
        let pad = to_align(out.len(), &h, opt, size);
        out.resize(out.len() + pad, 0);
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let n = check_number(l, arg)?;
                arg += 1;
                // (unsigned long)(long)n for negatives, (unsigned long)n otherwise, as C converts.
                let mut v = if n < 0.0 { raw::c_i64(n) as u64 } else { c_u64(n) };
                let mut bytes = vec![0u8; size];
                for b in bytes.iter_mut() {
                    *b = v as u8;
                    v = v.checked_shr(8).unwrap_or(0);
                }
                if !h.little {
                    bytes.reverse();
                }
                out.extend_from_slice(&bytes);
            }
            b'x' => out.push(0),
            b'f' => {
                let f = check_number(l, arg)? as f32;
                arg += 1;
                out.extend_from_slice(&if h.little { f.to_le_bytes() } else { f.to_be_bytes() });
            }
            b'd' => {
                let d = check_number(l, arg)?;
                arg += 1;
                out.extend_from_slice(&if h.little { d.to_le_bytes() } else { d.to_be_bytes() });
            }
            b'c' | b's' => {
                let s = check_string(l, arg)?;
                arg += 1;
                if size == 0 {
                    size = s.len();
                }
                if s.len() < size {
                    // lstruct names the argument after the string (arg was already advanced).
                    return Err(Raise::Arg(arg, b"string too short".to_vec()));
                }
                out.extend_from_slice(&s[..size]);
                if opt == b's' {
                    out.push(0);
                }
            }
            _ => control(opt, &mut fmt, &mut h)?,
        }
    }
    push_bytes(l, &out);
    Ok(1)
}

/// C's `(unsigned long)` of a non-negative double as x86-64 compilers emit it: from 2^64 on the result is
/// 0, and NaN gives 2^63.
fn c_u64(d: f64) -> u64 {
    if d.is_nan() {
        1 << 63
    } else if d >= 18_446_744_073_709_551_616.0 {
        0
    } else {
        d as u64
    }
}

/// getinteger: `size` bytes as lstruct reads them (only the low 8 bytes survive its 64-bit shifts).
fn get_integer(b: &[u8], little: bool, signed: bool) -> f64 {
    let size = b.len();
    let mut v: u64 = 0;
    let mut add = |x: u8| v = (v << 8) | x as u64;
    if little {
        b.iter().rev().for_each(|&x| add(x));
    } else {
        b.iter().for_each(|&x| add(x));
    }
    if !signed {
        return v as f64;
    }
    // x86 masks a 64-bit shift count to its low 6 bits.
    let shift = ((size * 8).wrapping_sub(1) & 63) as u32;
    let mask = u64::MAX << shift;
    if v & mask != 0 {
        v |= mask;
    }
    v as i64 as f64
}

unsafe fn unpack(l: *mut lua_State) -> RResult<c_int> {
    let mut fmt = Fmt { f: format_arg(l), i: 0 };
    let data = raw::check_bytes(l, 2);
    let ld = data.len();
    // luaL_optinteger into a size_t: negative offsets wrap and then fail the length check.
    let mut pos = ffi::luaL_optinteger(l, 3, 1) as usize;
    if pos == 0 {
        return Err(Raise::Arg(3, b"offset must be 1 or greater".to_vec()));
    }
    pos -= 1;
    let mut n: c_int = 0;
    let mut h = Header { little: true, align: 1 };
    let short = || Raise::Arg(2, b"data string too short".to_vec());
    while fmt.i < fmt.f.len() {
        let opt = fmt.f[fmt.i];
        fmt.i += 1;
        let mut size = fmt.size(opt)?;
        pos = pos.wrapping_add(to_align(pos, &h, opt, size));
        if !(size <= ld && pos <= ld - size) {
            return Err(short());
        }
        raw::check_stack(l, 2, "too many results")?;
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                ffi::lua_pushnumber(l, get_integer(&data[pos..pos + size], h.little, opt.is_ascii_lowercase()));
                n += 1;
            }
            b'x' => {}
            b'f' => {
                let b: [u8; 4] = data[pos..pos + 4].try_into().unwrap_or_default();
                let f = if h.little { f32::from_le_bytes(b) } else { f32::from_be_bytes(b) };
                ffi::lua_pushnumber(l, f as f64);
                n += 1;
            }
            b'd' => {
                let b: [u8; 8] = data[pos..pos + 8].try_into().unwrap_or_default();
                ffi::lua_pushnumber(l, if h.little { f64::from_le_bytes(b) } else { f64::from_be_bytes(b) });
                n += 1;
            }
            b'c' => {
                if size == 0 {
                    if n == 0 || ffi::lua_isnumber(l, -1) == 0 {
                        return Err(error("format 'c0' needs a previous size"));
                    }
                    size = c_u64(ffi::lua_tonumber(l, -1).max(0.0)) as usize;
                    ffi::lua_pop(l, 1);
                    n -= 1;
                    if !(size <= ld && pos <= ld - size) {
                        return Err(short());
                    }
                }
                push_bytes(l, &data[pos..pos + size]);
                n += 1;
            }
            b's' => {
                let Some(e) = data[pos..].iter().position(|&b| b == 0) else {
                    return Err(error("unfinished string in data"));
                };
                push_bytes(l, &data[pos..pos + e]);
                size = e + 1;
                n += 1;
            }
            _ => control(opt, &mut fmt, &mut h)?,
        }
        pos = pos.wrapping_add(size);
    }
    ffi::lua_pushinteger(l, pos.wrapping_add(1) as ffi::lua_Integer);
    Ok(n + 1)
}

unsafe fn size(l: *mut lua_State) -> RResult<c_int> {
    let mut fmt = Fmt { f: format_arg(l), i: 0 };
    let mut h = Header { little: true, align: 1 };
    let mut pos: usize = 0;
    while fmt.i < fmt.f.len() {
        let opt = fmt.f[fmt.i];
        fmt.i += 1;
        let size = fmt.size(opt)?;
        pos = pos.wrapping_add(to_align(pos, &h, opt, size));
        if opt == b's' {
            return Err(Raise::Arg(1, b"option 's' has no fixed size".to_vec()));
        } else if opt == b'c' && size == 0 {
            return Err(Raise::Arg(1, b"option 'c0' has no fixed size".to_vec()));
        }
        // Letters and digits are never control options here: unknown ones count as size 0, as in lstruct.
        if !opt.is_ascii_alphanumeric() {
            control(opt, &mut fmt, &mut h)?;
        }
        pos = pos.wrapping_add(size);
    }
    ffi::lua_pushinteger(l, pos as ffi::lua_Integer);
    Ok(1)
}

lua_fn!(c_pack => pack);
lua_fn!(c_unpack => unpack);
lua_fn!(c_size => size);

/// The `struct` table.
pub fn open(lua: &Lua) -> Result<Table> {
    raw::library(lua, &[("pack", c_pack), ("unpack", c_unpack), ("size", c_size)], None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(src: &str) -> String {
        let lua = Lua::new();
        lua.globals().set("struct", open(&lua).unwrap()).unwrap();
        match lua.load(src).set_name("@user_script").eval::<mlua::Value>() {
            Ok(mlua::Value::String(s)) => s.as_bytes().iter().map(|b| format!("{b:02x}")).collect(),
            Ok(mlua::Value::Number(n)) => n.to_string(),
            Ok(mlua::Value::Integer(n)) => n.to_string(),
            Ok(v) => format!("{v:?}"),
            // mlua appends a traceback to errors of chunks it runs itself; the message is what matters.
            Err(mlua::Error::RuntimeError(e)) => {
                format!("error: {}", e.split("\nstack traceback:").next().unwrap_or_default())
            }
            Err(e) => format!("other: {e}"),
        }
    }

    #[test]
    fn pack_unpack_size() {
        assert_eq!(eval("return struct.pack('>I2', 258)"), "0102");
        assert_eq!(eval("return struct.pack('<i4', -2)"), "feffffff");
        assert_eq!(eval("return struct.pack('bc3s', 1, 'abc', 'x')"), "016162637800");
        assert_eq!(eval("return select(1, struct.unpack('<i4', struct.pack('<i4', -2)))"), "-2");
        assert_eq!(eval("return select(2, struct.unpack('>I2', struct.pack('>I2', 7)))"), "3");
        assert_eq!(eval("local s, n = struct.unpack('Bc0', struct.pack('Bc0', 3, 'xyz')) return s"), "78797a");
        assert_eq!(eval("return struct.size('!4bi4d')"), "16");
        assert_eq!(eval("return struct.unpack('d', struct.pack('d', 1.5))"), "1.5");
        // Integers past 8 bytes: zero-filled on pack, the low 8 bytes read back.
        assert_eq!(eval("return struct.pack('<i10', -1)"), "ffffffffffffffff0000");
        assert_eq!(eval("return struct.unpack('<i10', struct.pack('<i10', 5))"), "5");
        // size() ignores letters it does not know.
        assert_eq!(eval("return struct.size('q')"), "0");
        assert_eq!(eval("return struct.pack('I', 2^64)"), "00000000");
        assert_eq!(eval("return struct.pack('>i9', -2)"), "00fffffffffffffffe");
    }

    #[test]
    fn errors_are_lstruct_texts() {
        assert_eq!(
            eval("return struct.size('s')"),
            "error: user_script:1: bad argument #1 to 'size' (option 's' has no fixed size)"
        );
        assert_eq!(
            eval("return struct.size('c0')"),
            "error: user_script:1: bad argument #1 to 'size' (option 'c0' has no fixed size)"
        );
        assert_eq!(
            eval("return struct.pack('q', 1)"),
            "error: user_script:1: bad argument #1 to 'pack' (invalid format option 'q')"
        );
        assert_eq!(
            eval("return struct.pack('=i', 1)"),
            "error: user_script:1: bad argument #1 to 'pack' (invalid format option '=')"
        );
        assert_eq!(
            eval("return struct.unpack('i4', 'ab')"),
            "error: user_script:1: bad argument #2 to 'unpack' (data string too short)"
        );
        assert_eq!(
            eval("return struct.pack('i40', 1)"),
            "error: user_script:1: integral size 40 is larger than limit of 32"
        );
        assert_eq!(eval("return struct.pack('!3i', 1)"), "error: user_script:1: alignment 3 is not a power of 2");
        assert_eq!(eval("return struct.pack('i99999999999', 1)"), "error: user_script:1: integral size overflow");
        assert_eq!(
            eval("return struct.pack('i', 'x')"),
            "error: user_script:1: bad argument #2 to 'pack' (number expected, got string)"
        );
        assert_eq!(
            eval("return struct.pack('i')"),
            "error: user_script:1: bad argument #2 to 'pack' (number expected, got no value)"
        );
        assert_eq!(
            eval("return struct.pack('c3', 'ab')"),
            "error: user_script:1: bad argument #3 to 'pack' (string too short)"
        );
        assert_eq!(eval("return struct.unpack('c0', 'ab')"), "error: user_script:1: format 'c0' needs a previous size");
        assert_eq!(eval("return struct.unpack('s', 'ab')"), "error: user_script:1: unfinished string in data");
        assert_eq!(
            eval("return struct.unpack('b', 'ab', 0)"),
            "error: user_script:1: bad argument #3 to 'unpack' (offset must be 1 or greater)"
        );
        assert_eq!(
            eval("return struct.unpack('b', 'ab', -1)"),
            "error: user_script:1: bad argument #2 to 'unpack' (data string too short)"
        );
    }
}
