//! The `cjson` library scripts see (scripting layer): lua-cjson 2.1.0 as Redis 7.0 bundles it, as C
//! functions on the Lua stack (see `raw`): the same settings, texts ("Expected value but found T_END at
//! character 2") and limits. `cjson.null` is a NULL light userdata; numbers are written with "%.14g" and
//! read with the C library's strtod, so "1e99999" is inf as in Redis.
//!
//! Nesting is bounded twice, as in lua-cjson: by `encode_max_depth` / `decode_max_depth` (1000 by
//! default, settable up to INT_MAX) and by the Lua stack (`lua_checkstack`). Both directions walk nested
//! tables with an explicit stack, so neither bound can be outrun by the thread's own stack.

use super::raw::{self, error, lua_fn, push_bytes, RResult, Raise};
use mlua::ffi::{self, lua_State};
use mlua::{Lua, Result, Table};
use std::ffi::{c_char, c_int, c_void};

/// lua-cjson's json_config_t (its settings; the keep-buffer one has no visible effect here).
#[derive(Clone, Copy)]
#[repr(C)]
struct Cfg {
    encode_sparse_convert: c_int,
    encode_sparse_ratio: c_int,
    encode_sparse_safe: c_int,
    encode_max_depth: c_int,
    /// 0: refuse NaN/Inf, 1: write them, 2: write null.
    encode_invalid_numbers: c_int,
    encode_number_precision: c_int,
    encode_keep_buffer: c_int,
    decode_invalid_numbers: c_int,
    decode_max_depth: c_int,
}

const DEFAULT_CFG: Cfg = Cfg {
    encode_sparse_convert: 0,
    encode_sparse_ratio: 2,
    encode_sparse_safe: 10,
    encode_max_depth: 1000,
    encode_invalid_numbers: 0,
    encode_number_precision: 14,
    encode_keep_buffer: 1,
    decode_invalid_numbers: 1,
    decode_max_depth: 1000,
};

/// The configuration every function of one cjson table shares (its first upvalue).
unsafe fn cfg<'a>(l: *mut lua_State) -> &'a mut Cfg {
    &mut *(ffi::lua_touserdata(l, ffi::lua_upvalueindex(1)) as *mut Cfg)
}

fn typename(t: c_int) -> &'static str {
    match t {
        ffi::LUA_TNIL => "nil",
        ffi::LUA_TBOOLEAN => "boolean",
        ffi::LUA_TLIGHTUSERDATA | ffi::LUA_TUSERDATA => "userdata",
        ffi::LUA_TNUMBER => "number",
        ffi::LUA_TSTRING => "string",
        ffi::LUA_TTABLE => "table",
        ffi::LUA_TFUNCTION => "function",
        ffi::LUA_TTHREAD => "thread",
        _ => "no value",
    }
}

// ===== Configuration =====

/// json_arg_init: at most `args` arguments, padded with nils.
unsafe fn arg_init(l: *mut lua_State, args: c_int) -> RResult<()> {
    if ffi::lua_gettop(l) > args {
        return Err(Raise::Arg(args + 1, b"found too many arguments".to_vec()));
    }
    while ffi::lua_gettop(l) < args {
        ffi::lua_pushnil(l);
    }
    Ok(())
}

/// json_integer_option: set from argument `idx` when given (C int, checked against min..=max, the
/// complaint naming argument #1 as lua-cjson's does), then push the setting.
unsafe fn integer_option(l: *mut lua_State, idx: c_int, setting: &mut c_int, min: c_int, max: c_int) -> RResult<()> {
    if ffi::lua_type(l, idx) != ffi::LUA_TNIL {
        let value = ffi::luaL_checkinteger(l, idx) as c_int;
        if !(min <= value && value <= max) {
            return Err(Raise::Arg(1, format!("expected integer between {min} and {max}").into_bytes()));
        }
        *setting = value;
    }
    ffi::lua_pushinteger(l, *setting as ffi::lua_Integer);
    Ok(())
}

/// json_enum_option: a boolean or one of `options` (by position); pushes the setting back as a boolean
/// when it is 0/1, else as its option name.
unsafe fn enum_option(l: *mut lua_State, idx: c_int, setting: &mut c_int, options: &[&str]) -> RResult<()> {
    if ffi::lua_type(l, idx) != ffi::LUA_TNIL {
        if ffi::lua_type(l, idx) == ffi::LUA_TBOOLEAN {
            *setting = ffi::lua_toboolean(l, idx);
        } else {
            let given = raw::check_bytes(l, idx);
            match options.iter().position(|o| o.as_bytes() == given) {
                Some(i) => *setting = i as c_int,
                None => {
                    let msg = format!("invalid option '{}'", String::from_utf8_lossy(given));
                    return Err(Raise::Arg(idx, msg.into_bytes()));
                }
            }
        }
    }
    if *setting == 0 || *setting == 1 {
        ffi::lua_pushboolean(l, *setting);
    } else {
        push_bytes(l, options[*setting as usize].as_bytes());
    }
    Ok(())
}

const BOOL_OPTIONS: &[&str] = &["off", "on"];

unsafe fn cfg_encode_sparse_array(l: *mut lua_State) -> RResult<c_int> {
    arg_init(l, 3)?;
    let c = cfg(l);
    enum_option(l, 1, &mut c.encode_sparse_convert, BOOL_OPTIONS)?;
    integer_option(l, 2, &mut c.encode_sparse_ratio, 0, c_int::MAX)?;
    integer_option(l, 3, &mut c.encode_sparse_safe, 0, c_int::MAX)?;
    Ok(3)
}

unsafe fn cfg_encode_max_depth(l: *mut lua_State) -> RResult<c_int> {
    arg_init(l, 1)?;
    integer_option(l, 1, &mut cfg(l).encode_max_depth, 1, c_int::MAX)?;
    Ok(1)
}

unsafe fn cfg_decode_max_depth(l: *mut lua_State) -> RResult<c_int> {
    arg_init(l, 1)?;
    integer_option(l, 1, &mut cfg(l).decode_max_depth, 1, c_int::MAX)?;
    Ok(1)
}

unsafe fn cfg_encode_number_precision(l: *mut lua_State) -> RResult<c_int> {
    arg_init(l, 1)?;
    integer_option(l, 1, &mut cfg(l).encode_number_precision, 1, 14)?;
    Ok(1)
}

unsafe fn cfg_encode_keep_buffer(l: *mut lua_State) -> RResult<c_int> {
    arg_init(l, 1)?;
    enum_option(l, 1, &mut cfg(l).encode_keep_buffer, BOOL_OPTIONS)?;
    Ok(1)
}

unsafe fn cfg_encode_invalid_numbers(l: *mut lua_State) -> RResult<c_int> {
    arg_init(l, 1)?;
    enum_option(l, 1, &mut cfg(l).encode_invalid_numbers, &["off", "on", "null"])?;
    Ok(1)
}

unsafe fn cfg_decode_invalid_numbers(l: *mut lua_State) -> RResult<c_int> {
    arg_init(l, 1)?;
    enum_option(l, 1, &mut cfg(l).decode_invalid_numbers, BOOL_OPTIONS)?;
    Ok(1)
}

// ===== Encoding =====

fn exception(t: c_int, reason: &str) -> Raise {
    error(format!("Cannot serialise {}: {reason}", typename(t)))
}

fn append_string(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for &c in s {
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' => out.extend_from_slice(b"\\/"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            c if c < 0x20 || c == 0x7f => out.extend_from_slice(format!("\\u{c:04x}").as_bytes()),
            c => out.push(c),
        }
    }
    out.push(b'"');
}

/// printf's "%.<precision>g".
fn fmt_g(out: &mut Vec<u8>, d: f64, precision: c_int) {
    let mut buf = [0u8; 32];
    let fmt = [b'%', b'.', b'0' + (precision / 10) as u8, b'0' + (precision % 10) as u8, b'g', 0];
    // SAFETY: one double for one conversion; at most buf.len() bytes are written.
    let n = unsafe { libc::snprintf(buf.as_mut_ptr() as *mut c_char, buf.len(), fmt.as_ptr() as *const c_char, d) };
    out.extend_from_slice(&buf[..(n.max(0) as usize).min(buf.len() - 1)]);
}

/// json_append_number for the number at `idx`.
unsafe fn append_number(l: *mut lua_State, c: &Cfg, out: &mut Vec<u8>, idx: c_int) -> RResult<()> {
    let d = ffi::lua_tonumber(l, idx);
    match c.encode_invalid_numbers {
        0 if !d.is_finite() => return Err(exception(ffi::lua_type(l, idx), "must not be NaN or Inf")),
        1 if d.is_nan() => {
            out.extend_from_slice(b"nan");
            return Ok(());
        }
        2 if !d.is_finite() => {
            out.extend_from_slice(b"null");
            return Ok(());
        }
        _ => {}
    }
    fmt_g(out, d, c.encode_number_precision);
    Ok(())
}

/// lua_array_length for the table on top: Some(n) for an array of n, None for an object.
unsafe fn array_length(l: *mut lua_State, c: &Cfg) -> RResult<Option<c_int>> {
    let (mut max, mut items): (c_int, c_int) = (0, 0);
    ffi::lua_pushnil(l);
    while ffi::lua_next(l, -2) != 0 {
        let k = ffi::lua_tonumber(l, -2);
        if ffi::lua_type(l, -2) == ffi::LUA_TNUMBER && k != 0.0 && k.floor() == k && k >= 1.0 {
            if k > max as f64 {
                max = raw::c_i32(k);
            }
            items += 1;
            ffi::lua_pop(l, 1);
            continue;
        }
        ffi::lua_pop(l, 2);
        return Ok(None);
    }
    if c.encode_sparse_ratio > 0 && max > items.wrapping_mul(c.encode_sparse_ratio) && max > c.encode_sparse_safe {
        if c.encode_sparse_convert == 0 {
            return Err(exception(ffi::LUA_TTABLE, "excessively sparse array"));
        }
        return Ok(None);
    }
    Ok(if max > 0 { Some(max) } else { None })
}

/// A table being written: an array (next index, length) or an object (its iteration key on the stack).
enum EFrame {
    Array(c_int, c_int),
    Object { first: bool },
}

/// Start writing the value on top (json_append_data), `depth` being the depth a table there would have:
/// scalars are written at once; a table opens a frame (an object also pushes its first iteration key).
unsafe fn start_data(l: *mut lua_State, c: &Cfg, out: &mut Vec<u8>, depth: c_int) -> RResult<Option<EFrame>> {
    match ffi::lua_type(l, -1) {
        ffi::LUA_TSTRING => append_string(out, raw::to_bytes(l, -1).unwrap_or_default()),
        ffi::LUA_TNUMBER => append_number(l, c, out, -1)?,
        ffi::LUA_TBOOLEAN => {
            out.extend_from_slice(if ffi::lua_toboolean(l, -1) != 0 { b"true" } else { b"false" });
        }
        ffi::LUA_TTABLE => {
            // Room for key, value and an error message, as json_check_encode_depth asks.
            if !(depth <= c.encode_max_depth && ffi::lua_checkstack(l, 3) != 0) {
                return Err(error(format!("Cannot serialise, excessive nesting ({depth})")));
            }
            return Ok(Some(match array_length(l, c)? {
                Some(n) => {
                    out.push(b'[');
                    EFrame::Array(1, n)
                }
                None => {
                    out.push(b'{');
                    ffi::lua_pushnil(l);
                    EFrame::Object { first: true }
                }
            }));
        }
        ffi::LUA_TNIL => out.extend_from_slice(b"null"),
        ffi::LUA_TLIGHTUSERDATA if ffi::lua_touserdata(l, -1).is_null() => out.extend_from_slice(b"null"),
        t => return Err(exception(t, "type not supported")),
    }
    Ok(None)
}

/// json_append_data over the value on top, nested tables included, in lua-cjson's order (so its stack
/// checks fail at the same depth) but without recursion. The value itself stays on the stack.
unsafe fn append_data(l: *mut lua_State, c: &Cfg, out: &mut Vec<u8>) -> RResult<()> {
    let mut frames: Vec<EFrame> = Vec::new();
    match start_data(l, c, out, 1)? {
        Some(f) => frames.push(f),
        None => return Ok(()),
    }
    while let Some(f) = frames.last_mut() {
        // Stack: ..., table (, key for an object). Push the next element, or close the table.
        let more = match f {
            EFrame::Array(i, n) => {
                if *i > *n {
                    out.push(b']');
                    false
                } else {
                    if *i > 1 {
                        out.push(b',');
                    }
                    ffi::lua_rawgeti_(l, -1, *i);
                    *i += 1;
                    true
                }
            }
            EFrame::Object { first } => {
                if ffi::lua_next(l, -2) == 0 {
                    out.push(b'}');
                    false
                } else {
                    if !*first {
                        out.push(b',');
                    }
                    *first = false;
                    match ffi::lua_type(l, -2) {
                        ffi::LUA_TNUMBER => {
                            out.push(b'"');
                            append_number(l, c, out, -2)?;
                            out.extend_from_slice(b"\":");
                        }
                        ffi::LUA_TSTRING => {
                            append_string(out, raw::to_bytes(l, -2).unwrap_or_default());
                            out.push(b':');
                        }
                        t => return Err(exception(t, "table key must be a number or string")),
                    }
                    true
                }
            }
        };
        if more {
            match start_data(l, c, out, frames.len() as c_int + 1)? {
                Some(f) => frames.push(f),
                None => ffi::lua_pop(l, 1),
            }
        } else {
            frames.pop();
            // The finished table was an element of the one below: pop it (the argument itself stays).
            if !frames.is_empty() {
                ffi::lua_pop(l, 1);
            }
        }
    }
    Ok(())
}

unsafe fn encode(l: *mut lua_State) -> RResult<c_int> {
    let c = *cfg(l);
    if ffi::lua_gettop(l) != 1 {
        return Err(Raise::Arg(1, b"expected 1 argument".to_vec()));
    }
    let mut out = Vec::new();
    append_data(l, &c, &mut out)?;
    push_bytes(l, &out);
    Ok(1)
}

// ===== Decoding =====

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tok {
    ObjBegin,
    ObjEnd,
    ArrBegin,
    ArrEnd,
    String,
    Number,
    Boolean,
    Null,
    Colon,
    Comma,
    End,
    Whitespace,
    Error,
    Unknown,
}

fn tok_name(t: Tok) -> &'static str {
    match t {
        Tok::ObjBegin => "T_OBJ_BEGIN",
        Tok::ObjEnd => "T_OBJ_END",
        Tok::ArrBegin => "T_ARR_BEGIN",
        Tok::ArrEnd => "T_ARR_END",
        Tok::String => "T_STRING",
        Tok::Number => "T_NUMBER",
        Tok::Boolean => "T_BOOLEAN",
        Tok::Null => "T_NULL",
        Tok::Colon => "T_COLON",
        Tok::Comma => "T_COMMA",
        Tok::End => "T_END",
        Tok::Whitespace => "T_WHITESPACE",
        Tok::Error => "T_ERROR",
        Tok::Unknown => "T_UNKNOWN",
    }
}

/// lua-cjson's ch2token table.
fn ch2token(ch: u8) -> Tok {
    match ch {
        b'{' => Tok::ObjBegin,
        b'}' => Tok::ObjEnd,
        b'[' => Tok::ArrBegin,
        b']' => Tok::ArrEnd,
        b',' => Tok::Comma,
        b':' => Tok::Colon,
        0 => Tok::End,
        b' ' | b'\t' | b'\n' | b'\r' => Tok::Whitespace,
        b'f' | b'i' | b'I' | b'n' | b'N' | b't' | b'"' | b'+' | b'-' | b'0'..=b'9' => Tok::Unknown,
        _ => Tok::Error,
    }
}

/// A token: its type and where it starts; strings are in the parser's buffer, numbers and booleans here;
/// an error token carries its reason.
struct Token {
    t: Tok,
    index: usize,
    number: f64,
    boolean: bool,
    err: &'static str,
}

struct Parser<'a> {
    /// The input; as in C, it ends at its first NUL (T_END), and reading past the end reads NUL.
    data: &'a [u8],
    /// The same bytes as a NUL-terminated C string (a Lua string is always NUL-terminated), for strtod.
    cstr: *const c_char,
    ptr: usize,
    tmp: Vec<u8>,
    depth: c_int,
    max_depth: c_int,
    invalid_numbers: bool,
}

impl Parser<'_> {
    fn at(&self, i: usize) -> u8 {
        self.data.get(i).copied().unwrap_or(0)
    }

    fn starts_with(&self, word: &[u8]) -> bool {
        word.iter().enumerate().all(|(k, &b)| self.at(self.ptr + k) == b)
    }

    fn hex4(&self, at: usize) -> Option<u32> {
        let mut v = 0;
        for k in 0..4 {
            let d = (self.at(at + k) as char).to_digit(16)?;
            v = (v << 4) | d;
        }
        Some(v)
    }

    /// json_append_unicode_escape at `ptr` (on the backslash): false on a bad escape.
    fn unicode_escape(&mut self) -> bool {
        let Some(mut cp) = self.hex4(self.ptr + 2) else { return false };
        let mut len = 6;
        if cp & 0xF800 == 0xD800 {
            if cp & 0x400 != 0 || self.at(self.ptr + 6) != b'\\' || self.at(self.ptr + 7) != b'u' {
                return false;
            }
            let Some(low) = self.hex4(self.ptr + 8) else { return false };
            if low & 0xFC00 != 0xDC00 {
                return false;
            }
            cp = (((cp & 0x3FF) << 10) | (low & 0x3FF)) + 0x10000;
            len = 12;
        }
        // codepoint_to_utf8, which also writes surrogate halves (CESU-style) as three bytes.
        if cp <= 0x7F {
            self.tmp.push(cp as u8);
        } else if cp <= 0x7FF {
            self.tmp.extend_from_slice(&[(cp >> 6) as u8 | 0xC0, (cp & 0x3F) as u8 | 0x80]);
        } else if cp <= 0xFFFF {
            self.tmp.extend_from_slice(&[
                (cp >> 12) as u8 | 0xE0,
                ((cp >> 6) & 0x3F) as u8 | 0x80,
                (cp & 0x3F) as u8 | 0x80,
            ]);
        } else {
            self.tmp.extend_from_slice(&[
                (cp >> 18) as u8 | 0xF0,
                ((cp >> 12) & 0x3F) as u8 | 0x80,
                ((cp >> 6) & 0x3F) as u8 | 0x80,
                (cp & 0x3F) as u8 | 0x80,
            ]);
        }
        self.ptr += len;
        true
    }

    fn error_token(&self, tok: &mut Token, why: &'static str) {
        tok.t = Tok::Error;
        tok.index = self.ptr;
        tok.err = why;
    }

    fn string_token(&mut self, tok: &mut Token) {
        self.ptr += 1;
        self.tmp.clear();
        loop {
            let ch = self.at(self.ptr);
            if ch == b'"' {
                break;
            }
            if ch == 0 {
                return self.error_token(tok, "unexpected end of string");
            }
            let mut out = ch;
            if ch == b'\\' {
                out = match self.at(self.ptr + 1) {
                    b'"' => b'"',
                    b'\\' => b'\\',
                    b'/' => b'/',
                    b'b' => 8,
                    b't' => b'\t',
                    b'n' => b'\n',
                    b'f' => 12,
                    b'r' => b'\r',
                    b'u' => {
                        if self.unicode_escape() {
                            continue;
                        }
                        return self.error_token(tok, "invalid unicode escape code");
                    }
                    _ => return self.error_token(tok, "invalid escape code"),
                };
                self.ptr += 1;
            }
            self.tmp.push(out);
            self.ptr += 1;
        }
        self.ptr += 1;
        tok.t = Tok::String;
    }

    /// json_is_invalid_number: forms strtod takes but strict JSON does not.
    fn is_invalid_number(&self) -> bool {
        let mut p = self.ptr;
        if self.at(p) == b'+' {
            return true;
        }
        if self.at(p) == b'-' {
            p += 1;
        }
        let ch = self.at(p);
        if ch == b'0' {
            let ch2 = self.at(p + 1);
            return ch2 | 0x20 == b'x' || ch2.is_ascii_digit();
        } else if ch <= b'9' {
            return false;
        }
        let word = |w: &[u8]| (0..3).all(|k| self.at(p + k).to_ascii_lowercase() == w[k]);
        word(b"inf") || word(b"nan")
    }

    fn number_token(&mut self, tok: &mut Token) {
        tok.t = Tok::Number;
        let mut end: *mut c_char = std::ptr::null_mut();
        // SAFETY: `cstr` is the NUL-terminated Lua string `data` came from and `ptr` is within it (at most at
        // its NUL): strtod reads up to that NUL at the furthest.
        let (v, used) = unsafe {
            let start = self.cstr.add(self.ptr);
            let v = libc::strtod(start, &mut end);
            (v, end.offset_from(start) as usize)
        };
        tok.number = v;
        if used == 0 {
            self.error_token(tok, "invalid number");
        } else {
            self.ptr += used;
        }
    }

    fn next_token(&mut self, tok: &mut Token) {
        let mut ch;
        loop {
            ch = self.at(self.ptr);
            tok.t = ch2token(ch);
            if tok.t != Tok::Whitespace {
                break;
            }
            self.ptr += 1;
        }
        tok.index = self.ptr;
        match tok.t {
            Tok::Error => return self.error_token(tok, "invalid token"),
            Tok::End => return,
            Tok::Unknown => {}
            _ => {
                self.ptr += 1;
                return;
            }
        }
        if ch == b'"' {
            self.string_token(tok);
        } else if ch == b'-' || ch.is_ascii_digit() {
            if !self.invalid_numbers && self.is_invalid_number() {
                return self.error_token(tok, "invalid number");
            }
            self.number_token(tok);
        } else if self.starts_with(b"true") {
            tok.t = Tok::Boolean;
            tok.boolean = true;
            self.ptr += 4;
        } else if self.starts_with(b"false") {
            tok.t = Tok::Boolean;
            tok.boolean = false;
            self.ptr += 5;
        } else if self.starts_with(b"null") {
            tok.t = Tok::Null;
            self.ptr += 4;
        } else if self.invalid_numbers && self.is_invalid_number() {
            self.number_token(tok);
        } else {
            self.error_token(tok, "invalid token");
        }
    }

    fn parse_error(&self, expected: &str, tok: &Token) -> Raise {
        let found = if tok.t == Tok::Error { tok.err } else { tok_name(tok.t) };
        error(format!("Expected {expected} but found {found} at character {}", tok.index + 1))
    }

    /// json_decode_descend: one level deeper, with room for `slots` more values.
    unsafe fn descend(&mut self, l: *mut lua_State, slots: c_int) -> RResult<()> {
        self.depth += 1;
        if self.depth <= self.max_depth && ffi::lua_checkstack(l, slots) != 0 {
            return Ok(());
        }
        Err(error(format!("Found too many nested data structures ({}) at character {}", self.depth, self.ptr)))
    }
}

/// An open container on the stack: an object, or an array with the index of its next element.
enum DFrame {
    Object,
    Array(c_int),
}

/// json_process_value and the two contexts, in lua-cjson's order (its stack checks fail at the same
/// depth) but with an explicit stack: the value is left on the Lua stack.
unsafe fn decode_value(l: *mut lua_State, p: &mut Parser, tok: &mut Token) -> RResult<()> {
    let mut frames: Vec<DFrame> = Vec::new();
    // An object's "key : " before its value; false when the object closed at once.
    let key = |p: &mut Parser, tok: &mut Token| -> RResult<()> {
        if tok.t != Tok::String {
            return Err(p.parse_error("object key string", tok));
        }
        push_bytes(l, &p.tmp);
        p.next_token(tok);
        if tok.t != Tok::Colon {
            return Err(p.parse_error("colon", tok));
        }
        p.next_token(tok);
        Ok(())
    };
    'value: loop {
        match tok.t {
            Tok::String => push_bytes(l, &p.tmp),
            Tok::Number => ffi::lua_pushnumber(l, tok.number),
            Tok::Boolean => ffi::lua_pushboolean(l, tok.boolean as c_int),
            Tok::Null => ffi::lua_pushlightuserdata(l, std::ptr::null_mut::<c_void>()),
            Tok::ObjBegin => {
                p.descend(l, 3)?;
                ffi::lua_createtable(l, 0, 0);
                p.next_token(tok);
                if tok.t == Tok::ObjEnd {
                    p.depth -= 1;
                } else {
                    frames.push(DFrame::Object);
                    key(p, tok)?;
                    continue 'value;
                }
            }
            Tok::ArrBegin => {
                p.descend(l, 2)?;
                ffi::lua_createtable(l, 0, 0);
                p.next_token(tok);
                if tok.t == Tok::ArrEnd {
                    p.depth -= 1;
                } else {
                    frames.push(DFrame::Array(1));
                    continue 'value;
                }
            }
            _ => return Err(p.parse_error("value", tok)),
        }
        // A complete value is on top: store it, then go on with its container (closing those that end).
        loop {
            match frames.last_mut() {
                None => return Ok(()),
                Some(DFrame::Object) => {
                    ffi::lua_rawset(l, -3);
                    p.next_token(tok);
                    if tok.t == Tok::ObjEnd {
                        p.depth -= 1;
                        frames.pop();
                        continue;
                    }
                    if tok.t != Tok::Comma {
                        return Err(p.parse_error("comma or object end", tok));
                    }
                    p.next_token(tok);
                    key(p, tok)?;
                    continue 'value;
                }
                Some(DFrame::Array(i)) => {
                    ffi::lua_rawseti_(l, -2, *i);
                    p.next_token(tok);
                    if tok.t == Tok::ArrEnd {
                        p.depth -= 1;
                        frames.pop();
                        continue;
                    }
                    if tok.t != Tok::Comma {
                        return Err(p.parse_error("comma or array end", tok));
                    }
                    p.next_token(tok);
                    *i += 1;
                    continue 'value;
                }
            }
        }
    }
}

unsafe fn decode(l: *mut lua_State) -> RResult<c_int> {
    if ffi::lua_gettop(l) != 1 {
        return Err(Raise::Arg(1, b"expected 1 argument".to_vec()));
    }
    let c = *cfg(l);
    let mut len = 0usize;
    let cstr = ffi::luaL_checklstring(l, 1, &mut len);
    let data = std::slice::from_raw_parts(cstr as *const u8, len);
    if len >= 2 && (data[0] == 0 || data[1] == 0) {
        return Err(error("JSON parser does not support UTF-16 or UTF-32"));
    }
    let mut p = Parser {
        data,
        cstr,
        ptr: 0,
        tmp: Vec::new(),
        depth: 0,
        max_depth: c.decode_max_depth,
        invalid_numbers: c.decode_invalid_numbers != 0,
    };
    let mut tok = Token { t: Tok::End, index: 0, number: 0.0, boolean: false, err: "" };
    p.next_token(&mut tok);
    decode_value(l, &mut p, &mut tok)?;
    p.next_token(&mut tok);
    if tok.t != Tok::End {
        return Err(p.parse_error("the end", &tok));
    }
    Ok(1)
}

lua_fn!(c_encode => encode);
lua_fn!(c_decode => decode);
lua_fn!(c_cfg_encode_sparse_array => cfg_encode_sparse_array);
lua_fn!(c_cfg_encode_max_depth => cfg_encode_max_depth);
lua_fn!(c_cfg_decode_max_depth => cfg_decode_max_depth);
lua_fn!(c_cfg_encode_number_precision => cfg_encode_number_precision);
lua_fn!(c_cfg_encode_keep_buffer => cfg_encode_keep_buffer);
lua_fn!(c_cfg_encode_invalid_numbers => cfg_encode_invalid_numbers);
lua_fn!(c_cfg_decode_invalid_numbers => cfg_decode_invalid_numbers);

/// lua_cjson_new: a cjson table with its own configuration (also `cjson.new()`).
unsafe extern "C-unwind" fn c_new(l: *mut lua_State) -> c_int {
    const FUNCS: [(&std::ffi::CStr, ffi::lua_CFunction); 10] = [
        (c"encode", c_encode),
        (c"decode", c_decode),
        (c"encode_sparse_array", c_cfg_encode_sparse_array),
        (c"encode_max_depth", c_cfg_encode_max_depth),
        (c"decode_max_depth", c_cfg_decode_max_depth),
        (c"encode_number_precision", c_cfg_encode_number_precision),
        (c"encode_keep_buffer", c_cfg_encode_keep_buffer),
        (c"encode_invalid_numbers", c_cfg_encode_invalid_numbers),
        (c"decode_invalid_numbers", c_cfg_decode_invalid_numbers),
        (c"new", c_new),
    ];
    ffi::lua_createtable(l, 0, 0);
    // Plain data (no destructor): Lua's collector frees it with the last closure.
    let ud = ffi::lua_newuserdata(l, std::mem::size_of::<Cfg>()) as *mut Cfg;
    ud.write(DEFAULT_CFG);
    for (name, f) in FUNCS {
        ffi::lua_pushvalue(l, -1);
        ffi::lua_pushcclosure(l, f, 1);
        ffi::lua_setfield(l, -3, name.as_ptr());
    }
    ffi::lua_pop(l, 1);
    ffi::lua_pushlightuserdata(l, std::ptr::null_mut::<c_void>());
    ffi::lua_setfield(l, -2, c"null".as_ptr());
    ffi::lua_pushstring_(l, c"cjson".as_ptr());
    ffi::lua_setfield(l, -2, c"_NAME".as_ptr());
    ffi::lua_pushstring_(l, c"2.1.0".as_ptr());
    ffi::lua_setfield(l, -2, c"_VERSION".as_ptr());
    1
}

/// The `cjson` table.
pub fn open(lua: &Lua) -> Result<Table> {
    // SAFETY: c_new only builds a table on the state mlua hands over.
    unsafe {
        lua.exec_raw((), |l| {
            c_new(l);
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(src: &str) -> String {
        let lua = Lua::new();
        lua.globals().set("cjson", open(&lua).unwrap()).unwrap();
        match lua.load(src).set_name("@user_script").eval::<mlua::Value>() {
            Ok(mlua::Value::String(s)) => s.to_string_lossy(),
            Ok(v) => format!("{v:?}"),
            // mlua appends a traceback to errors of chunks it runs itself; the message is what matters.
            Err(mlua::Error::RuntimeError(e)) => {
                format!("error: {}", e.split("\nstack traceback:").next().unwrap_or_default())
            }
            Err(e) => format!("other: {e}"),
        }
    }

    #[test]
    fn encode_and_decode() {
        assert_eq!(eval("return cjson.encode({1, 2, 'a/b', true})"), "[1,2,\"a\\/b\",true]");
        assert_eq!(eval("return cjson.encode({a = 0.1})"), "{\"a\":0.1}");
        assert_eq!(eval("return cjson.encode({})"), "{}");
        assert_eq!(eval("return cjson.encode({[3] = 1})"), "[null,null,1]");
        assert_eq!(
            eval("return table.concat(cjson.decode('[0.0, -5e3, -1, 0.3e-3, 1023.2, 0e10]'), ' ')"),
            "0 -5000 -1 0.0003 1023.2 0"
        );
        assert_eq!(
            eval("local t = cjson.decode('{\"a\": [1, {\"b\": null}]}') return tostring(t.a[2].b == cjson.null)"),
            "true"
        );
        assert_eq!(eval("return cjson.decode('\"\\\\u00e9\\\\ud83d\\\\ude00\"')"), "é😀");
        // strtod's reading: as in Redis, 1e99999 is inf, +5 and 0x10 are numbers.
        assert_eq!(eval("return tostring(cjson.decode('1e99999'))"), "inf");
        assert_eq!(eval("return cjson.decode('+5') + cjson.decode('0x10')"), "Integer(21)");
        assert_eq!(eval("return cjson.decode('[1]\\0junk')[1]"), "Integer(1)");
        assert_eq!(eval("return cjson.encode(cjson.decode('{\"a\":[]}'))"), "{\"a\":{}}");
        assert_eq!(eval("return cjson.new().encode({1})"), "[1]");
    }

    #[test]
    fn errors_are_lua_cjson_texts() {
        assert_eq!(
            eval("return cjson.encode({[false] = 1})"),
            "error: user_script:1: Cannot serialise boolean: table key must be a number or string"
        );
        assert_eq!(
            eval("return cjson.encode({0/0})"),
            "error: user_script:1: Cannot serialise number: must not be NaN or Inf"
        );
        assert_eq!(
            eval("return cjson.encode(print)"),
            "error: user_script:1: Cannot serialise function: type not supported"
        );
        assert_eq!(
            eval("return cjson.encode({[1000] = 1})"),
            "error: user_script:1: Cannot serialise table: excessively sparse array"
        );
        assert_eq!(
            eval("return cjson.decode('[')"),
            "error: user_script:1: Expected value but found T_END at character 2"
        );
        assert_eq!(
            eval("return cjson.decode('{\"a\" 1}')"),
            "error: user_script:1: Expected colon but found T_NUMBER at character 6"
        );
        assert_eq!(
            eval("return cjson.decode('[1 2]')"),
            "error: user_script:1: Expected comma or array end but found T_NUMBER at character 4"
        );
        assert_eq!(
            eval("return cjson.decode('\"\\\\q\"')"),
            "error: user_script:1: Expected value but found invalid escape code at character 2"
        );
        assert_eq!(
            eval("return cjson.decode('[1] x')"),
            "error: user_script:1: Expected the end but found invalid token at character 5"
        );
        assert_eq!(
            eval("return cjson.decode()"),
            "error: user_script:1: bad argument #1 to 'decode' (expected 1 argument)"
        );
        assert_eq!(
            eval("return cjson.decode('a\\0')"),
            "error: user_script:1: JSON parser does not support UTF-16 or UTF-32"
        );
        assert_eq!(
            eval("return cjson.encode_number_precision(15)"),
            "error: user_script:1: bad argument #1 to 'encode_number_precision' (expected integer between 1 and 14)"
        );
        assert_eq!(
            eval("return cjson.encode_invalid_numbers('x')"),
            "error: user_script:1: bad argument #1 to 'encode_invalid_numbers' (invalid option 'x')"
        );
        assert_eq!(eval("cjson.encode_invalid_numbers('null') return cjson.encode({1/0})"), "[null]");
        assert_eq!(eval("return cjson.encode_invalid_numbers('null')"), "null");
        assert_eq!(eval("cjson.encode_invalid_numbers(true) return cjson.encode({0/0, 1/0})"), "[nan,inf]");
    }

    /// Regression: a depth limit raised by the script must not let a deep document exhaust the thread's
    /// stack; the Lua stack ends it, with lua-cjson's texts and at its depths.
    #[test]
    fn nesting_is_bounded() {
        assert_eq!(
            eval("return cjson.decode(string.rep('[', 1001))"),
            "error: user_script:1: Found too many nested data structures (1001) at character 1001"
        );
        assert_eq!(
            eval("local t = {} t[1] = t return cjson.encode(t)"),
            "error: user_script:1: Cannot serialise, excessive nesting (1001)"
        );
        let deep = eval("cjson.decode_max_depth(1000000) return cjson.decode(string.rep('[', 100000))");
        assert!(deep.starts_with("error: user_script:1: Found too many nested data structures ("), "{deep}");
        let deep = eval("cjson.decode_max_depth(1000000) return cjson.decode(string.rep('{\"a\":', 100000))");
        assert!(deep.starts_with("error: user_script:1: Found too many nested data structures ("), "{deep}");
        let deep = eval("cjson.encode_max_depth(1000000) local t = {} t[1] = t return cjson.encode(t)");
        assert!(deep.starts_with("error: user_script:1: Cannot serialise, excessive nesting ("), "{deep}");
        let deep = eval("cjson.encode_max_depth(1000000) local t = {} t.a = t return cjson.encode(t)");
        assert!(deep.starts_with("error: user_script:1: Cannot serialise, excessive nesting ("), "{deep}");
        // Deep but within the limits round-trips.
        assert_eq!(
            eval("local s = string.rep('[', 999) .. string.rep(']', 999) return cjson.encode(cjson.decode(s)) == s:gsub('%[%]', '{}')"),
            "Boolean(true)"
        );
    }
}
