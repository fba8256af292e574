//! The `struct` library scripts see (scripting layer): binary pack/unpack/size driven by a format string,
//! as Roberto Ierusalimschy's lstruct that Redis bundles (endianness `<` `>` `=`, alignment `!n`,
//! `b B h H l L T i[n] I[n]` integers, `f d` floats, `c[n]` and `s` strings, `x` padding).

use mlua::{Lua, MultiValue, Result, Table, Value, Variadic};

fn err(msg: String) -> mlua::Error {
    mlua::Error::runtime(msg)
}

/// Largest integer size, in bytes, the format accepts (lstruct's MAXINTSIZE).
const MAX_INT_SIZE: usize = 32;
/// Native alignment bound for `!` without a number.
const MAX_ALIGN: usize = 8;

struct Header {
    little: bool,
    align: usize,
}

/// One parsed option: its letter and size argument.
struct Opt {
    c: u8,
    n: Option<usize>,
}

fn read_num(fmt: &[u8], i: &mut usize) -> Option<usize> {
    let start = *i;
    while *i < fmt.len() && fmt[*i].is_ascii_digit() {
        *i += 1;
    }
    if *i == start {
        return None;
    }
    std::str::from_utf8(&fmt[start..*i]).ok()?.parse().ok()
}

/// Walk the format: `f` gets each data option with its size; header options are applied as they come.
fn walk(fmt: &[u8], mut f: impl FnMut(&Header, &Opt, usize) -> Result<()>) -> Result<()> {
    let mut h = Header { little: true, align: 1 };
    let mut i = 0;
    while i < fmt.len() {
        let c = fmt[i];
        i += 1;
        let n = read_num(fmt, &mut i);
        let size = match c {
            b' ' => continue,
            b'>' => {
                h.little = false;
                continue;
            }
            b'<' | b'=' => {
                h.little = true;
                continue;
            }
            b'!' => {
                let a = n.unwrap_or(MAX_ALIGN);
                if !a.is_power_of_two() {
                    return Err(err(format!("alignment {a} is not a power of 2")));
                }
                h.align = a;
                continue;
            }
            b'x' | b'b' | b'B' => 1,
            b'h' | b'H' => 2,
            b'l' | b'L' | b'T' | b'd' => 8,
            b'f' => 4,
            b'i' | b'I' => {
                let s = n.unwrap_or(4);
                if s == 0 || s > MAX_INT_SIZE {
                    return Err(err(format!("integral size {s} is larger than limit of {MAX_INT_SIZE}")));
                }
                s
            }
            b'c' => n.unwrap_or(1),
            b's' => 0,
            other => return Err(err(format!("invalid format option '{}'", other as char))),
        };
        f(&h, &Opt { c, n }, size)?;
    }
    Ok(())
}

/// Padding before an item of `size` bytes at offset `pos`.
fn pad(h: &Header, c: u8, size: usize, pos: usize) -> usize {
    if size <= 1 || c == b'c' || c == b's' {
        return 0;
    }
    let a = size.min(h.align);
    if a <= 1 {
        return 0;
    }
    (a - (pos & (a - 1))) & (a - 1)
}

fn number(v: Option<&Value>, i: usize) -> Result<f64> {
    match v {
        Some(Value::Integer(n)) => Ok(*n as f64),
        Some(Value::Number(n)) => Ok(*n),
        Some(Value::String(s)) => s
            .to_str()
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .ok_or_else(|| err(format!("bad argument #{i} to 'pack' (number expected, got string)"))),
        other => Err(err(format!(
            "bad argument #{i} to 'pack' (number expected, got {})",
            other.map(|v| v.type_name()).unwrap_or("no value")
        ))),
    }
}

fn put_int(out: &mut Vec<u8>, v: u64, size: usize, little: bool) {
    let mut bytes = vec![0u8; size];
    for (k, b) in bytes.iter_mut().enumerate().take(size.min(8)) {
        *b = (v >> (8 * k)) as u8;
    }
    if !little {
        bytes.reverse();
    }
    out.extend_from_slice(&bytes);
}

fn pack(lua: &Lua, args: Variadic<Value>) -> Result<mlua::LuaString> {
    let Some(Value::String(fmt)) = args.first() else {
        return Err(err("bad argument #1 to 'pack' (string expected)".into()));
    };
    let fmt = fmt.as_bytes().to_vec();
    let mut out = Vec::new();
    let mut arg = 1;
    walk(&fmt, |h, o, size| {
        out.resize(out.len() + pad(h, o.c, size, out.len()), 0);
        match o.c {
            b'x' => out.push(0),
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let d = number(args.get(arg), arg + 1)?;
                arg += 1;
                let signed = matches!(o.c, b'b' | b'h' | b'l' | b'i');
                let v = if signed { d as i64 as u64 } else { d as u64 };
                put_int(&mut out, v, size, h.little);
            }
            b'f' => {
                let d = number(args.get(arg), arg + 1)? as f32;
                arg += 1;
                out.extend_from_slice(&if h.little { d.to_le_bytes() } else { d.to_be_bytes() });
            }
            b'd' => {
                let d = number(args.get(arg), arg + 1)?;
                arg += 1;
                out.extend_from_slice(&if h.little { d.to_le_bytes() } else { d.to_be_bytes() });
            }
            b'c' | b's' => {
                let Some(Value::String(s)) = args.get(arg) else {
                    return Err(err(format!("bad argument #{} to 'pack' (string expected)", arg + 1)));
                };
                arg += 1;
                let s = s.as_bytes();
                if o.c == b's' {
                    out.extend_from_slice(&s);
                    out.push(0);
                } else {
                    let want = if o.n == Some(0) { s.len() } else { size };
                    if s.len() < want {
                        return Err(err(format!("bad argument #{arg} to 'pack' (string too short)")));
                    }
                    out.extend_from_slice(&s[..want]);
                }
            }
            _ => {}
        }
        Ok(())
    })?;
    lua.create_string(&out)
}

fn unpack(lua: &Lua, args: Variadic<Value>) -> Result<MultiValue> {
    let (Some(Value::String(fmt)), Some(Value::String(data))) = (args.first(), args.get(1)) else {
        return Err(err("bad argument to 'unpack' (string expected)".into()));
    };
    let fmt = fmt.as_bytes().to_vec();
    let data = data.as_bytes().to_vec();
    let init = match args.get(2) {
        Some(Value::Integer(n)) => *n as usize,
        Some(Value::Number(n)) => *n as usize,
        _ => 1,
    };
    let mut pos = init.max(1) - 1;
    let mut vals: Vec<Value> = Vec::new();
    let mut last_int: Option<f64> = None;
    walk(&fmt, |h, o, size| {
        pos += pad(h, o.c, size, pos);
        let need = |pos: usize, n: usize| -> Result<()> {
            if pos + n > data.len() {
                return Err(err("bad argument #2 to 'unpack' (data string too short)".into()));
            }
            Ok(())
        };
        match o.c {
            b'x' => {
                need(pos, 1)?;
                pos += 1;
            }
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                need(pos, size)?;
                let mut bytes = data[pos..pos + size].to_vec();
                if !h.little {
                    bytes.reverse();
                }
                let mut v: u64 = 0;
                for (k, b) in bytes.iter().enumerate().take(8) {
                    v |= (*b as u64) << (8 * k);
                }
                let signed = matches!(o.c, b'b' | b'h' | b'l' | b'i');
                let d = if signed && size < 8 {
                    let shift = 64 - 8 * size;
                    (((v << shift) as i64) >> shift) as f64
                } else if signed {
                    v as i64 as f64
                } else {
                    v as f64
                };
                last_int = Some(d);
                vals.push(Value::Number(d));
                pos += size;
            }
            b'f' => {
                last_int = None;
                need(pos, 4)?;
                let b: [u8; 4] = data[pos..pos + 4].try_into().expect("4 bytes");
                vals.push(Value::Number(if h.little { f32::from_le_bytes(b) } else { f32::from_be_bytes(b) } as f64));
                pos += 4;
            }
            b'd' => {
                need(pos, 8)?;
                let b: [u8; 8] = data[pos..pos + 8].try_into().expect("8 bytes");
                vals.push(Value::Number(if h.little { f64::from_le_bytes(b) } else { f64::from_be_bytes(b) }));
                pos += 8;
            }
            b'c' => {
                let n = if o.n == Some(0) {
                    // The size is the integer just read, which is consumed (not returned).
                    match last_int.take() {
                        Some(d) => {
                            vals.pop();
                            d as usize
                        }
                        None => return Err(err("format 'c0' needs a previous size".into())),
                    }
                } else {
                    size
                };
                need(pos, n)?;
                vals.push(Value::String(lua.create_string(&data[pos..pos + n])?));
                pos += n;
            }
            b's' => {
                let Some(end) = data[pos.min(data.len())..].iter().position(|&b| b == 0) else {
                    return Err(err("unfinished string in data".into()));
                };
                vals.push(Value::String(lua.create_string(&data[pos..pos + end])?));
                pos += end + 1;
            }
            _ => {}
        }
        Ok(())
    })?;
    vals.push(Value::Number((pos + 1) as f64));
    Ok(MultiValue::from_iter(vals))
}

fn size(_: &Lua, args: Variadic<Value>) -> Result<f64> {
    let Some(Value::String(fmt)) = args.first() else {
        return Err(err("bad argument #1 to 'size' (string expected)".into()));
    };
    let fmt = fmt.as_bytes().to_vec();
    let mut pos = 0;
    walk(&fmt, |h, o, size| {
        if o.c == b's' || (o.c == b'c' && o.n == Some(0)) {
            return Err(err("options 'c0' - 's' have undefined sizes".into()));
        }
        pos += pad(h, o.c, size, pos) + size;
        Ok(())
    })?;
    Ok(pos as f64)
}

/// The `struct` table.
pub fn open(lua: &Lua) -> Result<Table> {
    let t = lua.create_table()?;
    t.raw_set("pack", lua.create_function(pack)?)?;
    t.raw_set("unpack", lua.create_function(unpack)?)?;
    t.raw_set("size", lua.create_function(size)?)?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(src: &str) -> String {
        let lua = Lua::new();
        lua.globals().set("struct", open(&lua).unwrap()).unwrap();
        match lua.load(src).eval::<Value>() {
            Ok(Value::String(s)) => s.as_bytes().iter().map(|b| format!("{b:02x}")).collect(),
            Ok(Value::Number(n)) => n.to_string(),
            Ok(Value::Integer(n)) => n.to_string(),
            Ok(v) => format!("{v:?}"),
            Err(e) => format!("error: {e}"),
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
        assert!(eval("return struct.size('s')").contains("undefined sizes"));
        assert!(eval("return struct.pack('q', 1)").contains("invalid format option 'q'"));
        assert!(eval("return struct.unpack('i4', 'ab')").contains("data string too short"));
    }
}
