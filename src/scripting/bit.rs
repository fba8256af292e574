//! The `bit` library scripts see (scripting layer): LuaBitOp's API on 32-bit integers carried in Lua's
//! doubles, as Redis bundles it.

use mlua::{Lua, Result, Table, Value, Variadic};

/// LuaBitOp's normalisation: the number rounded and wrapped to a signed 32-bit integer.
fn tobit(d: f64) -> i32 {
    // Adding 2^52 + 2^51 puts the rounded integer in the low mantissa bits, as LuaBitOp does.
    let b = (d + 6_755_399_441_055_744.0).to_bits();
    b as u32 as i32
}

fn arg(args: &Variadic<Value>, i: usize, name: &str) -> Result<i32> {
    match args.get(i) {
        Some(Value::Integer(n)) => Ok(tobit(*n as f64)),
        Some(Value::Number(n)) => Ok(tobit(*n)),
        Some(Value::String(s)) => match s.to_str().ok().and_then(|s| s.trim().parse::<f64>().ok()) {
            Some(n) => Ok(tobit(n)),
            None => Err(bad(i, name, "string")),
        },
        other => Err(bad(i, name, other.map(|v| v.type_name()).unwrap_or("no value"))),
    }
}

fn bad(i: usize, name: &str, got: &str) -> mlua::Error {
    mlua::Error::runtime(format!("bad argument #{} to '{name}' (number expected, got {got})", i + 1))
}

fn fold(lua: &Lua, t: &Table, name: &'static str, f: fn(i32, i32) -> i32) -> Result<()> {
    t.raw_set(
        name,
        lua.create_function(move |_, args: Variadic<Value>| {
            let mut acc = arg(&args, 0, name)?;
            for i in 1..args.len() {
                acc = f(acc, arg(&args, i, name)?);
            }
            Ok(acc as f64)
        })?,
    )
}

fn shift(lua: &Lua, t: &Table, name: &'static str, f: fn(i32, u32) -> i32) -> Result<()> {
    t.raw_set(
        name,
        lua.create_function(move |_, args: Variadic<Value>| {
            let x = arg(&args, 0, name)?;
            let n = arg(&args, 1, name)? as u32 & 31;
            Ok(f(x, n) as f64)
        })?,
    )
}

/// The `bit` table.
pub fn open(lua: &Lua) -> Result<Table> {
    let t = lua.create_table()?;
    t.raw_set("tobit", lua.create_function(|_, args: Variadic<Value>| Ok(arg(&args, 0, "tobit")? as f64))?)?;
    t.raw_set("bnot", lua.create_function(|_, args: Variadic<Value>| Ok(!arg(&args, 0, "bnot")? as f64))?)?;
    t.raw_set(
        "bswap",
        lua.create_function(|_, args: Variadic<Value>| Ok(arg(&args, 0, "bswap")?.swap_bytes() as f64))?,
    )?;
    fold(lua, &t, "band", |a, b| a & b)?;
    fold(lua, &t, "bor", |a, b| a | b)?;
    fold(lua, &t, "bxor", |a, b| a ^ b)?;
    shift(lua, &t, "lshift", |x, n| ((x as u32) << n) as i32)?;
    shift(lua, &t, "rshift", |x, n| ((x as u32) >> n) as i32)?;
    shift(lua, &t, "arshift", |x, n| x >> n)?;
    shift(lua, &t, "rol", |x, n| (x as u32).rotate_left(n) as i32)?;
    shift(lua, &t, "ror", |x, n| (x as u32).rotate_right(n) as i32)?;
    t.raw_set(
        "tohex",
        lua.create_function(|_, args: Variadic<Value>| {
            let x = arg(&args, 0, "tohex")? as u32;
            let n = if args.len() > 1 { arg(&args, 1, "tohex")? } else { 8 };
            let upper = n < 0;
            let n = n.unsigned_abs().min(8) as usize;
            let s = if upper { format!("{x:08X}") } else { format!("{x:08x}") };
            Ok(s[8 - n..].to_string())
        })?,
    )?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::tobit;

    #[test]
    fn normalises_like_luabitop() {
        assert_eq!(tobit(1.0), 1);
        assert_eq!(tobit(4294967295.0), -1);
        assert_eq!(tobit(2147483648.0), i32::MIN);
        assert_eq!(tobit(-1.0), -1);
        assert_eq!(tobit(1.5), 2);
    }
}
