//! The `cmsgpack` library scripts see (scripting layer): MessagePack pack/unpack with lua-cmsgpack's
//! choices (integral numbers as the smallest integer form, floats as float32 when exact, tables as
//! arrays only when their keys are exactly 1..n, nesting cut at 16 levels with nil), as Redis bundles it.

use mlua::{Lua, MultiValue, Result, Table, Value, Variadic};

const MAX_NESTING: usize = 16;

fn err(msg: &str) -> mlua::Error {
    mlua::Error::runtime(msg.to_string())
}

fn encode_int(out: &mut Vec<u8>, i: i64) {
    if i >= 0 {
        let u = i as u64;
        if u <= 127 {
            out.push(u as u8);
        } else if u <= 0xff {
            out.extend_from_slice(&[0xcc, u as u8]);
        } else if u <= 0xffff {
            out.push(0xcd);
            out.extend_from_slice(&(u as u16).to_be_bytes());
        } else if u <= 0xffff_ffff {
            out.push(0xce);
            out.extend_from_slice(&(u as u32).to_be_bytes());
        } else {
            out.push(0xcf);
            out.extend_from_slice(&u.to_be_bytes());
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
    // IS_INT64_EQUIVALENT: integral and representable.
    if d.floor() == d && (-9.223372036854776e18..9.223372036854776e18).contains(&d) {
        encode_int(out, d as i64);
    } else if (d as f32) as f64 == d || d.is_nan() {
        out.push(0xca);
        out.extend_from_slice(&(d as f32).to_be_bytes());
    } else {
        out.push(0xcb);
        out.extend_from_slice(&d.to_be_bytes());
    }
}

fn encode_len(out: &mut Vec<u8>, n: usize, fix: u8, fix_max: usize, b16: u8, b32: u8) {
    if n < fix_max {
        out.push(fix | n as u8);
    } else if n <= 0xffff {
        out.push(b16);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(b32);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
}

/// Keys exactly 1..n (an empty table counts as an empty array).
fn array_len(t: &Table) -> Result<Option<usize>> {
    let (mut count, mut max) = (0usize, 0f64);
    for pair in t.pairs::<Value, Value>() {
        let (k, _) = pair?;
        let n = match k {
            Value::Integer(i) => i as f64,
            Value::Number(n) => n,
            _ => return Ok(None),
        };
        if n <= 0.0 || n.floor() != n {
            return Ok(None);
        }
        count += 1;
        max = max.max(n);
    }
    Ok(if max as usize == count { Some(count) } else { None })
}

fn encode(out: &mut Vec<u8>, v: &Value, level: usize) -> Result<()> {
    match v {
        Value::Boolean(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Integer(i) => encode_int(out, *i),
        Value::Number(n) => encode_number(out, *n),
        Value::String(s) => {
            let b = s.as_bytes();
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
            out.extend_from_slice(&b);
        }
        Value::Table(t) if level < MAX_NESTING => match array_len(t)? {
            Some(n) => {
                encode_len(out, n, 0x90, 16, 0xdc, 0xdd);
                for i in 1..=n {
                    encode(out, &t.raw_get::<Value>(i)?, level + 1)?;
                }
            }
            None => {
                // Counted first and encoded as read: holding every pair at once would overflow mlua's
                // reference stack on big tables.
                encode_len(out, t.pairs::<Value, Value>().count(), 0x80, 16, 0xde, 0xdf);
                for pair in t.pairs::<Value, Value>() {
                    let (k, v) = pair?;
                    encode(out, &k, level + 1)?;
                    encode(out, &v, level + 1)?;
                }
            }
        },
        _ => out.push(0xc0),
    }
    Ok(())
}

struct Dec<'a> {
    s: &'a [u8],
    p: usize,
}

impl Dec<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8]> {
        if self.s.len() - self.p < n {
            return Err(err("Missing bytes in input."));
        }
        let b = &self.s[self.p..self.p + n];
        self.p += n;
        Ok(b)
    }

    fn uint(&mut self, n: usize) -> Result<u64> {
        Ok(self.take(n)?.iter().fold(0u64, |a, &b| (a << 8) | b as u64))
    }

    fn value(&mut self, lua: &Lua) -> Result<Value> {
        let c = self.take(1)?[0];
        Ok(match c {
            0x00..=0x7f => Value::Number(c as f64),
            0xe0..=0xff => Value::Number(c as i8 as f64),
            0xc0 => Value::Nil,
            0xc2 => Value::Boolean(false),
            0xc3 => Value::Boolean(true),
            0xcc => Value::Number(self.uint(1)? as f64),
            0xcd => Value::Number(self.uint(2)? as f64),
            0xce => Value::Number(self.uint(4)? as f64),
            0xcf => Value::Number(self.uint(8)? as f64),
            0xd0 => Value::Number(self.uint(1)? as u8 as i8 as f64),
            0xd1 => Value::Number(self.uint(2)? as u16 as i16 as f64),
            0xd2 => Value::Number(self.uint(4)? as u32 as i32 as f64),
            0xd3 => Value::Number(self.uint(8)? as i64 as f64),
            0xca => Value::Number(f32::from_bits(self.uint(4)? as u32) as f64),
            0xcb => Value::Number(f64::from_bits(self.uint(8)?)),
            0xa0..=0xbf => self.string(lua, (c & 0x1f) as usize)?,
            0xd9 | 0xc4 => {
                let n = self.uint(1)? as usize;
                self.string(lua, n)?
            }
            0xda | 0xc5 => {
                let n = self.uint(2)? as usize;
                self.string(lua, n)?
            }
            0xdb | 0xc6 => {
                let n = self.uint(4)? as usize;
                self.string(lua, n)?
            }
            0x90..=0x9f => self.array(lua, (c & 0x0f) as usize)?,
            0xdc => {
                let n = self.uint(2)? as usize;
                self.array(lua, n)?
            }
            0xdd => {
                let n = self.uint(4)? as usize;
                self.array(lua, n)?
            }
            0x80..=0x8f => self.map(lua, (c & 0x0f) as usize)?,
            0xde => {
                let n = self.uint(2)? as usize;
                self.map(lua, n)?
            }
            0xdf => {
                let n = self.uint(4)? as usize;
                self.map(lua, n)?
            }
            _ => return Err(err("Bad data format in input.")),
        })
    }

    fn string(&mut self, lua: &Lua, n: usize) -> Result<Value> {
        let b = self.take(n)?;
        Ok(Value::String(lua.create_string(b)?))
    }

    fn array(&mut self, lua: &Lua, n: usize) -> Result<Value> {
        let t = lua.create_table_with_capacity(n.min(1 << 16), 0)?;
        for i in 1..=n {
            let v = self.value(lua)?;
            t.raw_set(i, v)?;
        }
        Ok(Value::Table(t))
    }

    fn map(&mut self, lua: &Lua, n: usize) -> Result<Value> {
        let t = lua.create_table()?;
        for _ in 0..n {
            let k = self.value(lua)?;
            let v = self.value(lua)?;
            if k != Value::Nil {
                t.raw_set(k, v)?;
            }
        }
        Ok(Value::Table(t))
    }
}

/// Decode up to `limit` objects (0: all) from `offset`; with `report`, the next offset (-1 at the end)
/// comes first, as unpack_one / unpack_limit return it.
fn unpack(lua: &Lua, s: &[u8], limit: usize, offset: usize, report: bool) -> Result<MultiValue> {
    if offset > s.len() {
        return Err(err("Start offset greater than input length."));
    }
    let mut d = Dec { s, p: offset };
    let mut vals = Vec::new();
    while d.p < s.len() && (limit == 0 || vals.len() < limit) {
        vals.push(d.value(lua)?);
    }
    if report {
        let next = if d.p >= s.len() { -1 } else { d.p as i64 };
        vals.insert(0, Value::Number(next as f64));
    }
    Ok(MultiValue::from_iter(vals))
}

fn num(args: &Variadic<Value>, i: usize) -> usize {
    match args.get(i) {
        Some(Value::Integer(n)) => (*n).max(0) as usize,
        Some(Value::Number(n)) => n.max(0.0) as usize,
        _ => 0,
    }
}

fn input(args: &Variadic<Value>) -> Result<Vec<u8>> {
    match args.first() {
        Some(Value::String(s)) => Ok(s.as_bytes().to_vec()),
        _ => Err(err("bad argument #1 to 'unpack' (string expected)")),
    }
}

/// The `cmsgpack` table.
pub fn open(lua: &Lua) -> Result<Table> {
    let t = lua.create_table()?;
    t.raw_set(
        "pack",
        lua.create_function(|lua, args: Variadic<Value>| {
            if args.is_empty() {
                return Err(err("MessagePack pack needs input."));
            }
            let mut out = Vec::new();
            for a in args.iter() {
                encode(&mut out, a, 0)?;
            }
            lua.create_string(&out)
        })?,
    )?;
    t.raw_set("unpack", lua.create_function(|lua, args: Variadic<Value>| unpack(lua, &input(&args)?, 0, 0, false))?)?;
    t.raw_set(
        "unpack_one",
        lua.create_function(|lua, args: Variadic<Value>| unpack(lua, &input(&args)?, 1, num(&args, 1), true))?,
    )?;
    t.raw_set(
        "unpack_limit",
        lua.create_function(|lua, args: Variadic<Value>| {
            unpack(lua, &input(&args)?, num(&args, 1), num(&args, 2), true)
        })?,
    )?;
    t.raw_set("_NAME", "cmsgpack")?;
    t.raw_set("_VERSION", "lua-cmsgpack 0.4.0")?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(src: &str) -> String {
        let lua = Lua::new();
        lua.globals().set("cmsgpack", open(&lua).unwrap()).unwrap();
        let s: mlua::LuaString = lua.load(src).eval().unwrap();
        s.as_bytes().iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn packs_like_lua_cmsgpack() {
        assert_eq!(hex("return cmsgpack.pack(0.1)"), "cb3fb999999999999a");
        assert_eq!(hex("return cmsgpack.pack(-1099511627776)"), "d3ffffff0000000000");
        assert_eq!(hex("return cmsgpack.pack({1, 2, 'a'})"), "930102a161");
        assert_eq!(hex("return cmsgpack.pack(true, nil, 1.5)"), "c3c0ca3fc00000");
    }

    #[test]
    fn big_tables() {
        let lua = Lua::new();
        lua.globals().set("cmsgpack", open(&lua).unwrap()).unwrap();
        let n: i64 = lua
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
        let lua = Lua::new();
        lua.globals().set("cmsgpack", open(&lua).unwrap()).unwrap();
        let ok: bool = lua
            .load(
                "local e = cmsgpack.pack({a = {1, 2}, b = 'x'}, 'tail')
                 local t, s = cmsgpack.unpack(e)
                 local off, one = cmsgpack.unpack_one(e, 0)
                 return t.a[2] == 2 and t.b == 'x' and s == 'tail' and one.b == 'x' and off > 0",
            )
            .eval()
            .unwrap();
        assert!(ok);
    }
}
