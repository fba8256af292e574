//! The `cjson` library scripts see (scripting layer): lua-cjson 2.1's encode/decode and settings, as
//! Redis bundles it. `cjson.null` is a NULL light userdata; numbers are written with "%.14g".

use mlua::{LightUserData, Lua, Result, Table, Value, Variadic};
use std::cell::RefCell;
use std::rc::Rc;

struct Cfg {
    encode_max_depth: i64,
    decode_max_depth: i64,
    /// 0: refuse NaN/Inf, 1: write NaN/Infinity, 2: write null.
    encode_invalid_numbers: u8,
    decode_invalid_numbers: bool,
    keep_buffer: bool,
    precision: i64,
    sparse_convert: bool,
    sparse_ratio: i64,
    sparse_safe: i64,
}

impl Default for Cfg {
    fn default() -> Cfg {
        Cfg {
            encode_max_depth: 1000,
            decode_max_depth: 1000,
            encode_invalid_numbers: 0,
            decode_invalid_numbers: true,
            keep_buffer: true,
            precision: 14,
            sparse_convert: false,
            sparse_ratio: 2,
            sparse_safe: 10,
        }
    }
}

fn null() -> Value {
    Value::LightUserData(LightUserData(std::ptr::null_mut()))
}

fn is_null(v: &Value) -> bool {
    matches!(v, Value::LightUserData(p) if p.0.is_null())
}

fn fmt_num(d: f64, precision: i64) -> String {
    let mut buf = [0u8; 64];
    let fmt = format!("%.{}g\0", precision.clamp(1, 17));
    // SAFETY: one double for one conversion; at most buf.len() bytes are written.
    let n = unsafe {
        libc::snprintf(buf.as_mut_ptr() as *mut libc::c_char, buf.len(), fmt.as_ptr() as *const libc::c_char, d)
    };
    String::from_utf8_lossy(&buf[..(n.max(0) as usize).min(buf.len() - 1)]).into_owned()
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Nil => "nil",
        Value::Boolean(_) => "boolean",
        Value::Integer(_) | Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Table(_) => "table",
        Value::Function(_) => "function",
        Value::Thread(_) => "thread",
        Value::LightUserData(_) | Value::UserData(_) => "userdata",
        _ => "userdata",
    }
}

fn err(msg: String) -> mlua::Error {
    mlua::Error::runtime(msg)
}

fn encode_string(out: &mut Vec<u8>, s: &[u8]) {
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
            c if c < 0x20 || c == 0x7f => out.extend_from_slice(format!("\\u{:04x}", c).as_bytes()),
            c => out.push(c),
        }
    }
    out.push(b'"');
}

fn encode_number(out: &mut Vec<u8>, d: f64, cfg: &Cfg) -> Result<()> {
    if !d.is_finite() {
        match cfg.encode_invalid_numbers {
            0 => return Err(err("Cannot serialise number: must not be NaN or Inf".into())),
            1 => {
                let s = if d.is_nan() {
                    "NaN"
                } else if d < 0.0 {
                    "-Infinity"
                } else {
                    "Infinity"
                };
                out.extend_from_slice(s.as_bytes());
            }
            _ => out.extend_from_slice(b"null"),
        }
        return Ok(());
    }
    out.extend_from_slice(fmt_num(d, cfg.precision).as_bytes());
    Ok(())
}

/// The length of `t` as a JSON array, or None when it is an object (lua_array_length).
fn array_len(t: &Table, cfg: &Cfg) -> Result<Option<usize>> {
    let (mut max, mut items) = (0f64, 0usize);
    for pair in t.pairs::<Value, Value>() {
        let (k, _) = pair?;
        let k = match k {
            Value::Integer(i) => i as f64,
            Value::Number(n) => n,
            _ => return Ok(None),
        };
        if k < 1.0 || k.floor() != k {
            return Ok(None);
        }
        max = max.max(k);
        items += 1;
    }
    if cfg.sparse_ratio > 0 && max > (items as f64) * cfg.sparse_ratio as f64 && max > cfg.sparse_safe as f64 {
        if !cfg.sparse_convert {
            return Err(err("Cannot serialise table: excessively sparse array".into()));
        }
        return Ok(None);
    }
    Ok(Some(max as usize))
}

fn encode(out: &mut Vec<u8>, v: &Value, cfg: &Cfg, depth: i64) -> Result<()> {
    match v {
        Value::Nil => out.extend_from_slice(b"null"),
        v if is_null(v) => out.extend_from_slice(b"null"),
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Integer(i) => encode_number(out, *i as f64, cfg)?,
        Value::Number(n) => encode_number(out, *n, cfg)?,
        Value::String(s) => encode_string(out, &s.as_bytes()),
        Value::Table(t) => {
            let depth = depth + 1;
            if depth > cfg.encode_max_depth {
                return Err(err(format!("Cannot serialise, excessive nesting ({depth})")));
            }
            match array_len(t, cfg)? {
                Some(n) if n > 0 => {
                    out.push(b'[');
                    for i in 1..=n {
                        if i > 1 {
                            out.push(b',');
                        }
                        encode(out, &t.raw_get::<Value>(i)?, cfg, depth)?;
                    }
                    out.push(b']');
                }
                _ => {
                    out.push(b'{');
                    let mut first = true;
                    for pair in t.pairs::<Value, Value>() {
                        let (k, val) = pair?;
                        if !first {
                            out.push(b',');
                        }
                        first = false;
                        match &k {
                            Value::String(s) => encode_string(out, &s.as_bytes()),
                            Value::Integer(i) => encode_string(out, fmt_num(*i as f64, cfg.precision).as_bytes()),
                            Value::Number(n) => encode_string(out, fmt_num(*n, cfg.precision).as_bytes()),
                            other => {
                                return Err(err(format!(
                                    "Cannot serialise {}: table key must be a number or string",
                                    type_name(other)
                                )))
                            }
                        }
                        out.push(b':');
                        encode(out, &val, cfg, depth)?;
                    }
                    out.push(b'}');
                }
            }
        }
        other => return Err(err(format!("Cannot serialise {}: type not supported", type_name(other)))),
    }
    Ok(())
}

struct Parser<'a> {
    s: &'a [u8],
    p: usize,
    depth: i64,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.p < self.s.len() && matches!(self.s[self.p], b' ' | b'\t' | b'\n' | b'\r') {
            self.p += 1;
        }
    }

    fn fail(&self, what: &str) -> mlua::Error {
        let found = match self.s.get(self.p) {
            None => "the end".to_string(),
            Some(_) => "invalid token".to_string(),
        };
        err(format!("Expected {what} but found {found} at character {}", self.p + 1))
    }

    fn value(&mut self, lua: &Lua, cfg: &Cfg) -> Result<Value> {
        self.ws();
        let Some(&c) = self.s.get(self.p) else { return Err(self.fail("value")) };
        match c {
            b'{' | b'[' => {
                self.depth += 1;
                if self.depth > cfg.decode_max_depth {
                    return Err(err(format!(
                        "Found too many nested data structures ({}) at character {}",
                        self.depth,
                        self.p + 1
                    )));
                }
                self.p += 1;
                let t = lua.create_table()?;
                let close = if c == b'{' { b'}' } else { b']' };
                self.ws();
                if self.s.get(self.p) == Some(&close) {
                    self.p += 1;
                    self.depth -= 1;
                    return Ok(Value::Table(t));
                }
                let mut i = 1;
                loop {
                    if c == b'{' {
                        self.ws();
                        if self.s.get(self.p) != Some(&b'"') {
                            return Err(self.fail("object key string"));
                        }
                        let k = self.string(lua)?;
                        self.ws();
                        if self.s.get(self.p) != Some(&b':') {
                            return Err(self.fail("colon"));
                        }
                        self.p += 1;
                        let v = self.value(lua, cfg)?;
                        t.raw_set(k, v)?;
                    } else {
                        let v = self.value(lua, cfg)?;
                        t.raw_set(i, v)?;
                        i += 1;
                    }
                    self.ws();
                    match self.s.get(self.p) {
                        Some(b',') => self.p += 1,
                        Some(x) if *x == close => {
                            self.p += 1;
                            break;
                        }
                        _ => {
                            return Err(self.fail(if c == b'{' { "comma or object end" } else { "comma or array end" }))
                        }
                    }
                }
                self.depth -= 1;
                Ok(Value::Table(t))
            }
            b'"' => self.string(lua),
            b't' if self.s[self.p..].starts_with(b"true") => {
                self.p += 4;
                Ok(Value::Boolean(true))
            }
            b'f' if self.s[self.p..].starts_with(b"false") => {
                self.p += 5;
                Ok(Value::Boolean(false))
            }
            b'n' if self.s[self.p..].starts_with(b"null") => {
                self.p += 4;
                Ok(null())
            }
            _ => self.number(),
        }
    }

    fn number(&mut self) -> Result<Value> {
        let start = self.p;
        while self.p < self.s.len()
            && matches!(self.s[self.p], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E' | b'x' | b'X' | b'a'..=b'd' | b'f' | b'A'..=b'D' | b'F' | b'i' | b'n' | b'I' | b'N')
        {
            self.p += 1;
        }
        let txt = std::str::from_utf8(&self.s[start..self.p]).unwrap_or("");
        match txt.parse::<f64>() {
            Ok(d) if !txt.is_empty() && !txt.starts_with('+') => Ok(Value::Number(d)),
            _ => {
                self.p = start;
                Err(self.fail("value"))
            }
        }
    }

    fn string(&mut self, lua: &Lua) -> Result<Value> {
        self.p += 1;
        let mut out = Vec::new();
        loop {
            let Some(&c) = self.s.get(self.p) else { return Err(self.fail("string end")) };
            self.p += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let Some(&e) = self.s.get(self.p) else { return Err(self.fail("string end")) };
                    self.p += 1;
                    match e {
                        b'"' | b'\\' | b'/' => out.push(e),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let mut cp = self.hex4()?;
                            if (0xD800..0xDC00).contains(&cp) && self.s[self.p..].starts_with(b"\\u") {
                                self.p += 2;
                                let lo = self.hex4()?;
                                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo.wrapping_sub(0xDC00) & 0x3FF);
                            }
                            let ch = char::from_u32(cp).unwrap_or('\u{FFFD}');
                            let mut b = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut b).as_bytes());
                        }
                        _ => {
                            return Err(err(format!(
                                "Expected value but found invalid escape code at character {}",
                                self.p
                            )))
                        }
                    }
                }
                c => out.push(c),
            }
        }
        Ok(Value::String(lua.create_string(&out)?))
    }

    fn hex4(&mut self) -> Result<u32> {
        let h = self.s.get(self.p..self.p + 4).and_then(|h| std::str::from_utf8(h).ok());
        let v = h.and_then(|h| u32::from_str_radix(h, 16).ok());
        match v {
            Some(v) => {
                self.p += 4;
                Ok(v)
            }
            None => Err(err(format!("Expected value but found invalid unicode escape code at character {}", self.p))),
        }
    }
}

fn int_arg(args: &Variadic<Value>, i: usize) -> Option<i64> {
    match args.get(i) {
        Some(Value::Integer(n)) => Some(*n),
        Some(Value::Number(n)) => Some(*n as i64),
        _ => None,
    }
}

/// Boolean-ish setting argument: true/false or "on"/"off" (and "null" where allowed).
fn bool_arg(args: &Variadic<Value>, i: usize) -> Option<Option<u8>> {
    match args.get(i) {
        None | Some(Value::Nil) => Some(None),
        Some(Value::Boolean(b)) => Some(Some(*b as u8)),
        Some(Value::String(s)) => match s.to_str().ok()?.as_ref() {
            "on" => Some(Some(1)),
            "off" => Some(Some(0)),
            "null" => Some(Some(2)),
            _ => None,
        },
        _ => None,
    }
}

/// The `cjson` table.
pub fn open(lua: &Lua) -> Result<Table> {
    let cfg = Rc::new(RefCell::new(Cfg::default()));
    let t = lua.create_table()?;
    let c = cfg.clone();
    t.raw_set(
        "encode",
        lua.create_function(move |lua, args: Variadic<Value>| {
            if args.len() != 1 {
                return Err(err("bad argument #1 to 'encode' (expected 1 argument)".into()));
            }
            let mut out = Vec::new();
            encode(&mut out, &args[0], &c.borrow(), 0)?;
            lua.create_string(&out)
        })?,
    )?;
    let c = cfg.clone();
    t.raw_set(
        "decode",
        lua.create_function(move |lua, args: Variadic<Value>| {
            let Some(Value::String(s)) = args.first() else {
                return Err(err("bad argument #1 to 'decode' (string expected)".into()));
            };
            let bytes = s.as_bytes();
            let mut p = Parser { s: &bytes, p: 0, depth: 0 };
            let v = p.value(lua, &c.borrow())?;
            p.ws();
            if p.p < bytes.len() {
                return Err(p.fail("the end"));
            }
            Ok(v)
        })?,
    )?;
    let c = cfg.clone();
    t.raw_set(
        "encode_max_depth",
        lua.create_function(move |_, args: Variadic<Value>| {
            if let Some(n) = int_arg(&args, 0) {
                c.borrow_mut().encode_max_depth = n.max(1);
            }
            Ok(c.borrow().encode_max_depth)
        })?,
    )?;
    let c = cfg.clone();
    t.raw_set(
        "decode_max_depth",
        lua.create_function(move |_, args: Variadic<Value>| {
            if let Some(n) = int_arg(&args, 0) {
                c.borrow_mut().decode_max_depth = n.max(1);
            }
            Ok(c.borrow().decode_max_depth)
        })?,
    )?;
    let c = cfg.clone();
    t.raw_set(
        "encode_number_precision",
        lua.create_function(move |_, args: Variadic<Value>| {
            if let Some(n) = int_arg(&args, 0) {
                if !(1..=14).contains(&n) {
                    return Err(err(
                        "bad argument #1 to 'encode_number_precision' (expected integer between 1 and 14)".into(),
                    ));
                }
                c.borrow_mut().precision = n;
            }
            Ok(c.borrow().precision)
        })?,
    )?;
    let c = cfg.clone();
    t.raw_set(
        "encode_invalid_numbers",
        lua.create_function(move |_, args: Variadic<Value>| {
            match bool_arg(&args, 0) {
                Some(Some(v)) => c.borrow_mut().encode_invalid_numbers = v,
                Some(None) => {}
                None => return Err(err("bad argument #1 to 'encode_invalid_numbers' (invalid option)".into())),
            }
            Ok(match c.borrow().encode_invalid_numbers {
                0 => Value::Boolean(false),
                1 => Value::Boolean(true),
                _ => Value::Nil,
            })
        })?,
    )?;
    let c = cfg.clone();
    t.raw_set(
        "decode_invalid_numbers",
        lua.create_function(move |_, args: Variadic<Value>| {
            match bool_arg(&args, 0) {
                Some(Some(v)) => c.borrow_mut().decode_invalid_numbers = v != 0,
                Some(None) => {}
                None => return Err(err("bad argument #1 to 'decode_invalid_numbers' (invalid option)".into())),
            }
            Ok(c.borrow().decode_invalid_numbers)
        })?,
    )?;
    let c = cfg.clone();
    t.raw_set(
        "encode_keep_buffer",
        lua.create_function(move |_, args: Variadic<Value>| {
            match bool_arg(&args, 0) {
                Some(Some(v)) => c.borrow_mut().keep_buffer = v != 0,
                Some(None) => {}
                None => return Err(err("bad argument #1 to 'encode_keep_buffer' (invalid option)".into())),
            }
            Ok(c.borrow().keep_buffer)
        })?,
    )?;
    let c = cfg;
    t.raw_set(
        "encode_sparse_array",
        lua.create_function(move |_, args: Variadic<Value>| {
            let mut cfg = c.borrow_mut();
            if let Some(Some(v)) = bool_arg(&args, 0) {
                cfg.sparse_convert = v != 0;
            }
            if let Some(n) = int_arg(&args, 1) {
                cfg.sparse_ratio = n.max(0);
            }
            if let Some(n) = int_arg(&args, 2) {
                cfg.sparse_safe = n.max(0);
            }
            Ok((cfg.sparse_convert, cfg.sparse_ratio, cfg.sparse_safe))
        })?,
    )?;
    t.raw_set("null", null())?;
    t.raw_set("_NAME", "cjson")?;
    t.raw_set("_VERSION", "2.1.0")?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(src: &str) -> String {
        let lua = Lua::new();
        lua.globals().set("cjson", open(&lua).unwrap()).unwrap();
        match lua.load(src).eval::<Value>() {
            Ok(Value::String(s)) => s.to_string_lossy(),
            Ok(v) => format!("{v:?}"),
            Err(e) => format!("error: {e}"),
        }
    }

    #[test]
    fn encode_and_decode() {
        assert_eq!(eval("return cjson.encode({1, 2, 'a/b', true})"), "[1,2,\"a\\/b\",true]");
        assert_eq!(eval("return cjson.encode({a = 0.1})"), "{\"a\":0.1}");
        assert_eq!(eval("return cjson.encode({})"), "{}");
        assert_eq!(
            eval("return table.concat(cjson.decode('[0.0, -5e3, -1, 0.3e-3, 1023.2, 0e10]'), ' ')"),
            "0 -5000 -1 0.0003 1023.2 0"
        );
        assert_eq!(
            eval("local t = cjson.decode('{\"a\": [1, {\"b\": null}]}') return tostring(t.a[2].b == cjson.null)"),
            "true"
        );
        assert!(eval("return cjson.encode({[false] = 1})").contains("table key must be a number or string"));
        assert!(eval("return cjson.encode({0/0})").contains("must not be NaN or Inf"));
        assert!(eval("cjson.decode_max_depth(1) return cjson.decode('[[1]]')").contains("too many nested"));
        assert!(eval("return cjson.decode('[1,')").contains("error"));
    }
}
