//! String commands: GET/SET and their variants, counters, ranges, LCS and the bitmap commands (commands layer,
//! applied by the Keyspace actor).
//!
//! Replies, error texts and their order follow Redis 7.0's t_string.c and bitops.c, because clients and the
//! Redis test suite match on them. Encodings follow Redis too (OBJECT ENCODING shows them): whole-value writes
//! go through `Value::string` (int / embstr / raw as tryObjectEncoding picks), in-place edits (APPEND,
//! SETRANGE, SETBIT, BITFIELD) and BITOP results are `raw`, counters stay `int`.

use super::spec::*;
use super::Ctx;
use crate::error::CmdError;
use crate::resp::encode::Out;
use crate::spec;
use crate::types::bytes::CompactBytes;
use crate::types::clock;
use crate::types::db::Db;
use crate::types::num;
use crate::types::value::{Value, EMBSTR_MAX};

const APPEND_CX: &str = "O(1). The amortized time complexity is O(1) assuming the appended value is small and the \
already present value is of any size, since the dynamic string library used by Redis will double the free space \
available on every reallocation.";
const GETRANGE_CX: &str = "O(N) where N is the length of the returned string. The complexity is ultimately \
determined by the returned length, but because creating a substring from an existing string is very cheap, it can \
be considered O(1) for small strings.";
const SETRANGE_CX: &str = "O(1), not counting the time taken to copy the new string in place. Usually, this \
string is very small so the amortized complexity is O(1). Otherwise, complexity is O(M) with M being the length of \
the value argument.";

/// The string and bitmap commands, as Redis 7.0's command table declares them.
pub const SPECS: &[CommandSpec] = &[
    // string
    spec!("get", 2, READONLY | FAST, (1, 1, 1), STRING, "string", "1.0.0", "Get the value of a key", "O(1)", get),
    spec!(
        "set",
        -3,
        WRITE | DENYOOM,
        (1, 1, 1),
        STRING,
        "string",
        "1.0.0",
        "Set the string value of a key",
        "O(1)",
        set
    ),
    spec!(
        "setnx",
        3,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        STRING,
        "string",
        "1.0.0",
        "Set the value of a key, only if the key does not exist",
        "O(1)",
        setnx
    ),
    spec!(
        "setex",
        4,
        WRITE | DENYOOM,
        (1, 1, 1),
        STRING,
        "string",
        "2.0.0",
        "Set the value and expiration of a key",
        "O(1)",
        setex
    ),
    spec!(
        "psetex",
        4,
        WRITE | DENYOOM,
        (1, 1, 1),
        STRING,
        "string",
        "2.6.0",
        "Set the value and expiration in milliseconds of a key",
        "O(1)",
        psetex
    ),
    spec!(
        "getset",
        3,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        STRING,
        "string",
        "1.0.0",
        "Set the string value of a key and return its old value",
        "O(1)",
        getset
    ),
    spec!(
        "getdel",
        2,
        WRITE | FAST,
        (1, 1, 1),
        STRING,
        "string",
        "6.2.0",
        "Get the value of a key and delete the key",
        "O(1)",
        getdel
    ),
    spec!(
        "getex",
        -2,
        WRITE | FAST,
        (1, 1, 1),
        STRING,
        "string",
        "6.2.0",
        "Get the value of a key and optionally set its expiration",
        "O(1)",
        getex
    ),
    spec!(
        "mget",
        -2,
        READONLY | FAST,
        (1, -1, 1),
        STRING,
        "string",
        "1.0.0",
        "Get the values of all the given keys",
        "O(N) where N is the number of keys to retrieve.",
        mget
    ),
    spec!(
        "mset",
        -3,
        WRITE | DENYOOM,
        (1, -1, 2),
        STRING,
        "string",
        "1.0.1",
        "Set multiple keys to multiple values",
        "O(N) where N is the number of keys to set.",
        mset
    ),
    spec!(
        "msetnx",
        -3,
        WRITE | DENYOOM,
        (1, -1, 2),
        STRING,
        "string",
        "1.0.1",
        "Set multiple keys to multiple values, only if none of the keys exist",
        "O(N) where N is the number of keys to set.",
        msetnx
    ),
    spec!(
        "incr",
        2,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        STRING,
        "string",
        "1.0.0",
        "Increment the integer value of a key by one",
        "O(1)",
        incr
    ),
    spec!(
        "decr",
        2,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        STRING,
        "string",
        "1.0.0",
        "Decrement the integer value of a key by one",
        "O(1)",
        decr
    ),
    spec!(
        "incrby",
        3,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        STRING,
        "string",
        "1.0.0",
        "Increment the integer value of a key by the given amount",
        "O(1)",
        incrby
    ),
    spec!(
        "decrby",
        3,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        STRING,
        "string",
        "1.0.0",
        "Decrement the integer value of a key by the given number",
        "O(1)",
        decrby
    ),
    spec!(
        "incrbyfloat",
        3,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        STRING,
        "string",
        "2.6.0",
        "Increment the float value of a key by the given amount",
        "O(1)",
        incrbyfloat
    ),
    spec!(
        "append",
        3,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        STRING,
        "string",
        "2.0.0",
        "Append a value to a key",
        APPEND_CX,
        append
    ),
    spec!(
        "strlen",
        2,
        READONLY | FAST,
        (1, 1, 1),
        STRING,
        "string",
        "2.2.0",
        "Get the length of the value stored in a key",
        "O(1)",
        strlen
    ),
    spec!(
        "getrange",
        4,
        READONLY,
        (1, 1, 1),
        STRING,
        "string",
        "2.4.0",
        "Get a substring of the string stored at a key",
        GETRANGE_CX,
        getrange
    ),
    spec!(
        "substr",
        4,
        READONLY,
        (1, 1, 1),
        STRING,
        "string",
        "1.0.0",
        "Get a substring of the string stored at a key",
        GETRANGE_CX,
        getrange
    ),
    spec!(
        "setrange",
        4,
        WRITE | DENYOOM,
        (1, 1, 1),
        STRING,
        "string",
        "2.2.0",
        "Overwrite part of a string at key starting at the specified offset",
        SETRANGE_CX,
        setrange
    ),
    spec!(
        "lcs",
        -3,
        READONLY,
        (1, 2, 1),
        STRING,
        "string",
        "7.0.0",
        "Find longest common substring",
        "O(N*M) where N and M are the lengths of s1 and s2, respectively",
        lcs
    ),
    // bitmap
    spec!(
        "setbit",
        4,
        WRITE | DENYOOM,
        (1, 1, 1),
        BITMAP,
        "bitmap",
        "2.2.0",
        "Sets or clears the bit at offset in the string value stored at key",
        "O(1)",
        setbit
    ),
    spec!(
        "getbit",
        3,
        READONLY | FAST,
        (1, 1, 1),
        BITMAP,
        "bitmap",
        "2.2.0",
        "Returns the bit value at offset in the string value stored at key",
        "O(1)",
        getbit
    ),
    spec!(
        "bitcount",
        -2,
        READONLY,
        (1, 1, 1),
        BITMAP,
        "bitmap",
        "2.6.0",
        "Count set bits in a string",
        "O(N)",
        bitcount
    ),
    spec!(
        "bitpos",
        -3,
        READONLY,
        (1, 1, 1),
        BITMAP,
        "bitmap",
        "2.8.7",
        "Find first bit set or clear in a string",
        "O(N)",
        bitpos
    ),
    spec!(
        "bitop",
        -4,
        WRITE | DENYOOM,
        (2, -1, 1),
        BITMAP,
        "bitmap",
        "2.6.0",
        "Perform bitwise operations between strings",
        "O(N)",
        bitop
    ),
    spec!(
        "bitfield",
        -2,
        WRITE | DENYOOM,
        (1, 1, 1),
        BITMAP,
        "bitmap",
        "3.2.0",
        "Perform arbitrary bitfield integer operations on strings",
        "O(1) for each subcommand specified",
        bitfield
    ),
    spec!(
        "bitfield_ro",
        -2,
        READONLY | FAST,
        (1, 1, 1),
        BITMAP,
        "bitmap",
        "6.0.0",
        "Perform arbitrary bitfield integer operations on strings. Read-only variant of BITFIELD",
        "O(1) for each subcommand specified",
        bitfield_ro
    ),
];

// Error replies of this family that CmdError does not share with others.
const DECR_OVERFLOW: CmdError = CmdError::new("ERR decrement would overflow");
const NAN_OR_INF: CmdError = CmdError::new("ERR increment would produce NaN or Infinity");
const OFFSET_RANGE: CmdError = CmdError::new("ERR offset is out of range");
const LCS_NOT_STRINGS: CmdError = CmdError::new("ERR The specified keys must contain string values");
const LCS_LEN_AND_IDX: CmdError = CmdError::new("ERR If you want both the length and indexes, please just use IDX.");
const LCS_TOO_LONG: CmdError = CmdError::new("ERR String too long for LCS");
const LCS_OVER_LIMIT: CmdError =
    CmdError::new("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
const LCS_NO_MEMORY: CmdError = CmdError::new("ERR Insufficient memory, failed allocating transient memory for LCS");
const BIT_ARG: CmdError = CmdError::new("ERR The bit argument must be 1 or 0.");
const BITOP_NOT_ARITY: CmdError = CmdError::new("ERR BITOP NOT must be called with a single source key.");
const BITFIELD_TYPE: CmdError =
    CmdError::new("ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.");
const BITFIELD_OVERFLOW: CmdError = CmdError::new("ERR Invalid OVERFLOW type specified");
const BITFIELD_RO_WRITE: CmdError = CmdError::new("ERR BITFIELD_RO only supports the GET subcommand");

/// Redis names the command in this error (`c->cmd->fullname`).
fn bad_expire(cmd: &str) -> CmdError {
    match cmd {
        "set" => CmdError::BAD_EXPIRE,
        "setex" => CmdError::new("ERR invalid expire time in 'setex' command"),
        "psetex" => CmdError::new("ERR invalid expire time in 'psetex' command"),
        "getex" => CmdError::new("ERR invalid expire time in 'getex' command"),
        other => CmdError::msg(format!("ERR invalid expire time in '{other}' command")),
    }
}

// ---------------------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------------------

/// Reply with a string value as a bulk string; WRONGTYPE (nothing written) for other types.
#[inline]
fn reply_str(out: &mut Out, v: &Value) -> CmdResult {
    match v {
        Value::Int(i) => out.bulk_i64(*i),
        Value::Emb(b) => out.bulk(b),
        Value::Raw(r) => out.bulk(r),
        #[allow(unreachable_patterns)]
        _ => return Err(CmdError::WRONGTYPE),
    }
    Ok(())
}

/// Run `f` on the bytes of a string value; WRONGTYPE for other types.
#[inline]
fn with_bytes<R>(v: &Value, f: impl FnOnce(&[u8]) -> R) -> Result<R, CmdError> {
    v.with_str(f).ok_or(CmdError::WRONGTYPE)
}

/// Redis's checkStringLength: would a string of `size + append` bytes exceed proto-max-bulk-len?
fn check_string_length(size: u64, append: u64, max: u64) -> CmdResult {
    match size.checked_add(append) {
        Some(total) if total <= max => Ok(()),
        _ => Err(CmdError::STRING_MAX),
    }
}

// SET / GETEX option flags (Redis's OBJ_* flags).
const NX: u32 = 1;
const XX: u32 = 1 << 1;
const EX: u32 = 1 << 2;
const PX: u32 = 1 << 3;
const KEEPTTL: u32 = 1 << 4;
const GET: u32 = 1 << 5;
const EXAT: u32 = 1 << 6;
const PXAT: u32 = 1 << 7;
const PERSIST: u32 = 1 << 8;
const ANY_EXPIRE: u32 = EX | PX | EXAT | PXAT;

/// Parse SET's (`for_set`) or GETEX's options from argument `from` on: the flags and the index of the expire
/// argument. Like Redis, a repeated option is fine and a conflicting one is a syntax error.
fn parse_string_options(cx: &Ctx<'_>, from: usize, for_set: bool) -> Result<(u32, Option<usize>), CmdError> {
    let mut flags = 0u32;
    let mut expire = None;
    let argc = cx.argc();
    let mut j = from;
    while j < argc {
        let opt = cx.arg(j);
        let has_next = j + 1 < argc;
        let is = |w: &str| opt.eq_ignore_ascii_case(w.as_bytes());
        let timed = |f: u32| flags & (KEEPTTL | PERSIST | (ANY_EXPIRE & !f)) == 0 && has_next;
        if for_set && is("nx") && flags & XX == 0 {
            flags |= NX;
        } else if for_set && is("xx") && flags & NX == 0 {
            flags |= XX;
        } else if for_set && is("get") {
            flags |= GET;
        } else if for_set && is("keepttl") && flags & (PERSIST | ANY_EXPIRE) == 0 {
            flags |= KEEPTTL;
        } else if !for_set && is("persist") && flags & (ANY_EXPIRE | KEEPTTL) == 0 {
            flags |= PERSIST;
        } else if let Some(f) = [("ex", EX), ("px", PX), ("exat", EXAT), ("pxat", PXAT)]
            .iter()
            .find(|(w, f)| is(w) && timed(*f))
            .map(|&(_, f)| f)
        {
            flags |= f;
            expire = Some(j + 1);
            j += 1;
        } else {
            return Err(CmdError::SYNTAX);
        }
        j += 1;
    }
    Ok((flags, expire))
}

/// The absolute expiry (Unix ms) an EX/PX/EXAT/PXAT argument asks for, checked as Redis 7 does: not positive,
/// or overflowing when scaled to ms or made absolute, is "invalid expire time".
fn expire_at_ms(arg: &[u8], flags: u32, cmd: &str) -> Result<i64, CmdError> {
    let v = num::parse_i64(arg).ok_or(CmdError::NOT_INT)?;
    let seconds = flags & (EX | EXAT) != 0;
    if v <= 0 || (seconds && v > i64::MAX / 1000) {
        return Err(bad_expire(cmd));
    }
    let ms = if seconds { v * 1000 } else { v };
    let at = if flags & (EX | PX) != 0 { ms.checked_add(clock::now_ms()) } else { Some(ms) };
    match at {
        Some(at) if at > 0 => Ok(at),
        _ => Err(bad_expire(cmd)),
    }
}

// ---------------------------------------------------------------------------------------------------------
// GET / SET family
// ---------------------------------------------------------------------------------------------------------

/// GET key
fn get(cx: &mut Ctx<'_>) -> CmdResult {
    let key = cx.arg(1);
    let (db, out) = cx.db_out();
    match db.get(key) {
        Some(e) => reply_str(out, &e.value),
        None => {
            out.nil();
            Ok(())
        }
    }
}

/// SET key value [NX | XX] [GET] [EX seconds | PX milliseconds | EXAT unix-time-seconds |
/// PXAT unix-time-milliseconds | KEEPTTL]
fn set(cx: &mut Ctx<'_>) -> CmdResult {
    let (flags, expire) = if cx.argc() > 3 { parse_string_options(cx, 3, true)? } else { (0, None) };
    set_generic(cx, flags, expire, 2, false)
}

/// SETNX key value
fn setnx(cx: &mut Ctx<'_>) -> CmdResult {
    set_generic(cx, NX, None, 2, true)
}

/// SETEX key seconds value
fn setex(cx: &mut Ctx<'_>) -> CmdResult {
    set_generic(cx, EX, Some(2), 3, false)
}

/// PSETEX key milliseconds value
fn psetex(cx: &mut Ctx<'_>) -> CmdResult {
    set_generic(cx, PX, Some(2), 3, false)
}

/// Redis's setGenericCommand: SET and its variants. `setnx` switches the replies to SETNX's `:1` / `:0`.
fn set_generic(cx: &mut Ctx<'_>, flags: u32, expire: Option<usize>, val_at: usize, setnx: bool) -> CmdResult {
    let at = match expire {
        Some(i) => Some(expire_at_ms(cx.arg(i), flags, cx.spec.name)?),
        None => None,
    };
    let key = cx.arg(1);
    let val = cx.arg(val_at);
    let (db, out) = cx.db_out();
    let found = if flags & GET != 0 {
        match db.get(key) {
            Some(e) => {
                reply_str(out, &e.value)?;
                true
            }
            None => {
                out.nil();
                false
            }
        }
    } else {
        flags & (NX | XX) != 0 && db.contains(key)
    };
    if (flags & NX != 0 && found) || (flags & XX != 0 && !found) {
        if flags & GET == 0 {
            if setnx {
                out.int(0)
            } else {
                out.nil()
            }
        }
        return Ok(());
    }
    // With an expire the TTL is replaced just below: keeping it saves dropping and re-adding the index entry.
    db.set(key, Value::string(val), flags & KEEPTTL != 0 || at.is_some());
    if let Some(at) = at {
        db.set_expire(key, at);
    }
    if flags & GET == 0 {
        if setnx {
            out.int(1)
        } else {
            out.ok()
        }
    }
    cx.modified(key);
    // Replicas get an absolute time so that they expire the key when we do (Redis rewrites the same way).
    if let Some(at) = at {
        cx.propagate_as(&[b"SET", key, val, b"PXAT", at.to_string().as_bytes()]);
    }
    Ok(())
}

/// GETEX key [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | PERSIST]
fn getex(cx: &mut Ctx<'_>) -> CmdResult {
    let (flags, expire) = parse_string_options(cx, 2, false)?;
    // Redis checks the expire only once it knows the key is a string: keep the error for later.
    let at = expire.map(|i| expire_at_ms(cx.arg(i), flags, cx.spec.name));
    let key = cx.arg(1);
    let (db, out) = cx.db_out();
    let Some(e) = db.get(key) else {
        out.nil();
        return Ok(());
    };
    if !e.value.is_string() {
        return Err(CmdError::WRONGTYPE);
    }
    let at = at.transpose()?;
    reply_str(out, &e.value)?;
    let had_ttl = db.stored_expire(key) != 0;
    match at {
        Some(at) if flags & (EXAT | PXAT) != 0 && at <= clock::now_ms() => {
            db.remove(key);
            cx.modified(key);
            cx.propagate_as(&[b"DEL", key]);
        }
        Some(at) => {
            db.set_expire(key, at);
            cx.modified(key);
            cx.propagate_as(&[b"PEXPIREAT", key, at.to_string().as_bytes()]);
        }
        None if flags & PERSIST != 0 && had_ttl => {
            db.set_expire(key, 0);
            cx.modified(key);
            cx.propagate_as(&[b"PERSIST", key]);
        }
        None => {}
    }
    Ok(())
}

/// GETDEL key
fn getdel(cx: &mut Ctx<'_>) -> CmdResult {
    let key = cx.arg(1);
    let (db, out) = cx.db_out();
    let Some(e) = db.get(key) else {
        out.nil();
        return Ok(());
    };
    reply_str(out, &e.value)?;
    db.remove(key);
    cx.modified(key);
    cx.propagate_as(&[b"DEL", key]);
    Ok(())
}

/// GETSET key value
fn getset(cx: &mut Ctx<'_>) -> CmdResult {
    let key = cx.arg(1);
    let val = cx.arg(2);
    let (db, out) = cx.db_out();
    match db.get(key) {
        Some(e) => reply_str(out, &e.value)?,
        None => out.nil(),
    }
    db.set(key, Value::string(val), false);
    cx.modified(key);
    Ok(())
}

/// MGET key [key ...]
fn mget(cx: &mut Ctx<'_>) -> CmdResult {
    let argv = cx.argv;
    let (db, out) = cx.db_out();
    out.array(argv.len() - 1);
    for key in argv.iter().skip(1) {
        match db.get(key) {
            // A key of another type reads as nil, not as an error.
            Some(e) if reply_str(out, &e.value).is_ok() => {}
            _ => out.nil(),
        }
    }
    Ok(())
}

/// MSET key value [key value ...]
fn mset(cx: &mut Ctx<'_>) -> CmdResult {
    mset_generic(cx, false)
}

/// MSETNX key value [key value ...]
fn msetnx(cx: &mut Ctx<'_>) -> CmdResult {
    mset_generic(cx, true)
}

fn mset_generic(cx: &mut Ctx<'_>, nx: bool) -> CmdResult {
    let argv = cx.argv;
    if argv.len().is_multiple_of(2) {
        return Err(CmdError::arity(cx.spec.name));
    }
    if nx {
        let db = cx.db();
        if argv.iter().skip(1).step_by(2).any(|k| db.contains(k)) {
            cx.out.int(0);
            return Ok(());
        }
    }
    for i in (1..argv.len()).step_by(2) {
        let key = argv.get(i);
        cx.db().set(key, Value::string(argv.get(i + 1)), false);
        cx.modified(key);
    }
    if nx {
        cx.out.int(1)
    } else {
        cx.out.ok()
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// Counters
// ---------------------------------------------------------------------------------------------------------

/// INCR key
fn incr(cx: &mut Ctx<'_>) -> CmdResult {
    incr_decr(cx, 1)
}

/// DECR key
fn decr(cx: &mut Ctx<'_>) -> CmdResult {
    incr_decr(cx, -1)
}

/// INCRBY key increment
fn incrby(cx: &mut Ctx<'_>) -> CmdResult {
    let by = cx.int_arg(2)?;
    incr_decr(cx, by)
}

/// DECRBY key decrement
fn decrby(cx: &mut Ctx<'_>) -> CmdResult {
    let by = cx.int_arg(2)?;
    if by == i64::MIN {
        return Err(DECR_OVERFLOW);
    }
    incr_decr(cx, -by)
}

/// Redis's incrDecrCommand. The value is updated in place and keeps its TTL.
fn incr_decr(cx: &mut Ctx<'_>, by: i64) -> CmdResult {
    let key = cx.arg(1);
    let (db, out) = cx.db_out();
    let new = match db.get_mut(key) {
        Some(e) => {
            let cur = match &e.value {
                Value::Int(i) => *i,
                v => with_bytes(v, num::parse_i64)?.ok_or(CmdError::NOT_INT)?,
            };
            let new = cur.checked_add(by).ok_or(CmdError::OVERFLOW)?;
            e.value = Value::Int(new);
            new
        }
        None => {
            db.set(key, Value::Int(by), false);
            by
        }
    };
    out.int(new);
    cx.modified(key);
    Ok(())
}

/// INCRBYFLOAT key increment
///
/// Redis adds in C `long double` (x87 80-bit) and prints with "%.17Lf", so that 0.1 + 0.2 gives "0.3"; `ld`
/// reproduces that arithmetic. The result is stored as a string (embstr/raw), never as an int.
fn incrbyfloat(cx: &mut Ctx<'_>) -> CmdResult {
    let key = cx.arg(1);
    let by = cx.arg(2);
    let (db, out) = cx.db_out();
    let entry = db.get_mut(key);
    let cur = match &entry {
        Some(e) => match &e.value {
            Value::Int(i) => crate::types::num::ld::Ld::from_i64(*i),
            v => with_bytes(v, crate::types::num::ld::parse)?.ok_or(CmdError::NOT_FLOAT)?,
        },
        None => crate::types::num::ld::Ld::ZERO,
    };
    let by = crate::types::num::ld::parse(by).ok_or(CmdError::NOT_FLOAT)?;
    let sum = cur + by;
    if !sum.is_finite() {
        return Err(NAN_OR_INF);
    }
    let text = sum.to_human();
    let value = if text.len() <= EMBSTR_MAX {
        Value::Emb(CompactBytes::new(text.as_bytes()))
    } else {
        Value::raw(text.as_bytes().to_vec())
    };
    match entry {
        Some(e) => e.value = value,
        None => {
            db.set(key, value, false);
        }
    }
    out.bulk(text.as_bytes());
    cx.modified(key);
    // Replicas must store our exact result, not redo float math that could round differently.
    cx.propagate_as(&[b"SET", key, text.as_bytes(), b"KEEPTTL"]);
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// APPEND, STRLEN, ranges
// ---------------------------------------------------------------------------------------------------------

/// APPEND key value
fn append(cx: &mut Ctx<'_>) -> CmdResult {
    let key = cx.arg(1);
    let val = cx.arg(2);
    let max = cx.s.config.proto_max_bulk_len;
    let (db, out) = cx.db_out();
    let len = match db.get_mut(key) {
        Some(e) => {
            if !e.value.is_string() {
                return Err(CmdError::WRONGTYPE);
            }
            check_string_length(e.value.str_len() as u64, val.len() as u64, max)?;
            let Some(buf) = e.value.make_raw() else { return Err(CmdError::WRONGTYPE) };
            buf.extend_from_slice(val);
            buf.len()
        }
        None => {
            // A new key takes the argument as SET would, so "APPEND k 1" makes an int.
            db.set(key, Value::string(val), false);
            val.len()
        }
    };
    out.int(len as i64);
    cx.modified(key);
    Ok(())
}

/// STRLEN key
fn strlen(cx: &mut Ctx<'_>) -> CmdResult {
    let key = cx.arg(1);
    let (db, out) = cx.db_out();
    match db.get(key) {
        Some(e) if e.value.is_string() => out.int(e.value.str_len() as i64),
        Some(_) => return Err(CmdError::WRONGTYPE),
        None => out.int(0),
    }
    Ok(())
}

/// GETRANGE key start end (and SUBSTR, its old name)
fn getrange(cx: &mut Ctx<'_>) -> CmdResult {
    let start = cx.int_arg(2)?;
    let end = cx.int_arg(3)?;
    let key = cx.arg(1);
    let (db, out) = cx.db_out();
    let Some(e) = db.get(key) else {
        out.bulk(b"");
        return Ok(());
    };
    with_bytes(&e.value, |s| match clamp_range(start, end, s.len()) {
        Some((a, b)) => out.bulk(&s[a..=b]),
        None => out.bulk(b""),
    })
}

/// GETRANGE's index arithmetic: negative indexes count from the end, the range is clamped to the string.
/// None when it selects nothing.
fn clamp_range(mut start: i64, mut end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    if (start < 0 && end < 0 && start > end) || len == 0 {
        return None;
    }
    if start < 0 {
        start += len;
    }
    if end < 0 {
        end += len;
    }
    start = start.max(0);
    end = end.max(0).min(len - 1);
    (start <= end).then_some((start as usize, end as usize))
}

/// SETRANGE key offset value
fn setrange(cx: &mut Ctx<'_>) -> CmdResult {
    let offset = cx.int_arg(2)?;
    if offset < 0 {
        return Err(OFFSET_RANGE);
    }
    let offset = offset as u64;
    let key = cx.arg(1);
    let val = cx.arg(3);
    let max = cx.s.config.proto_max_bulk_len;
    let (db, out) = cx.db_out();
    let len = match db.get_mut(key) {
        Some(e) => {
            if !e.value.is_string() {
                return Err(CmdError::WRONGTYPE);
            }
            if val.is_empty() {
                // Nothing to write: the value keeps its encoding.
                out.int(e.value.str_len() as i64);
                return Ok(());
            }
            check_string_length(offset, val.len() as u64, max)?;
            let Some(buf) = e.value.make_raw() else { return Err(CmdError::WRONGTYPE) };
            write_at(buf, offset as usize, val);
            buf.len()
        }
        None => {
            if val.is_empty() {
                out.int(0);
                return Ok(());
            }
            check_string_length(offset, val.len() as u64, max)?;
            let mut buf = Vec::new();
            write_at(&mut buf, offset as usize, val);
            let len = buf.len();
            db.set(key, Value::raw(buf), false);
            len
        }
    };
    out.int(len as i64);
    cx.modified(key);
    Ok(())
}

/// Copy `val` into `buf` at `offset`, zero-padding the gap.
fn write_at(buf: &mut Vec<u8>, offset: usize, val: &[u8]) {
    let end = offset + val.len();
    if buf.len() < end {
        buf.resize(end, 0);
    }
    buf[offset..end].copy_from_slice(val);
}

// ---------------------------------------------------------------------------------------------------------
// LCS
// ---------------------------------------------------------------------------------------------------------

/// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN min-match-len] [WITHMATCHLEN]
fn lcs(cx: &mut Ctx<'_>) -> CmdResult {
    let argv = cx.argv;
    let max = cx.s.config.proto_max_bulk_len;
    let db = cx.db();
    // Keys are read before options are parsed, as Redis does (a type error wins over a syntax error).
    let mut read = |key: &[u8]| -> Result<Vec<u8>, CmdError> {
        match db.get(key) {
            Some(e) => e.value.to_vec().ok_or(LCS_NOT_STRINGS),
            None => Ok(Vec::new()),
        }
    };
    let a = read(argv.get(1));
    let b = read(argv.get(2));
    let (a, b) = (a?, b?);

    let (mut getlen, mut getidx, mut withmatchlen) = (false, false, false);
    let mut minmatchlen: i64 = 0;
    let mut j = 3;
    while j < argv.len() {
        if argv.is(j, "idx") {
            getidx = true;
        } else if argv.is(j, "len") {
            getlen = true;
        } else if argv.is(j, "withmatchlen") {
            withmatchlen = true;
        } else if argv.is(j, "minmatchlen") && j + 1 < argv.len() {
            minmatchlen = cx.int_arg(j + 1)?.max(0);
            j += 1;
        } else {
            return Err(CmdError::SYNTAX);
        }
        j += 1;
    }
    if getlen && getidx {
        return Err(LCS_LEN_AND_IDX);
    }
    if a.len() as u64 >= u32::MAX as u64 - 1 || b.len() as u64 >= u32::MAX as u64 - 1 {
        return Err(LCS_TOO_LONG);
    }
    let (alen, blen) = (a.len(), b.len());
    let cells = (alen as u64 + 1) * (blen as u64 + 1);
    if cells.checked_mul(4).is_none_or(|bytes| bytes > max) {
        return Err(LCS_OVER_LIMIT);
    }
    let mut table: Vec<u32> = Vec::new();
    if table.try_reserve_exact(cells as usize).is_err() {
        return Err(LCS_NO_MEMORY);
    }
    table.resize(cells as usize, 0);
    // table[i * (blen + 1) + j] = length of the LCS of a[..i] and b[..j].
    let w = blen + 1;
    for i in 1..=alen {
        for j in 1..=blen {
            table[i * w + j] = if a[i - 1] == b[j - 1] {
                table[(i - 1) * w + j - 1] + 1
            } else {
                table[(i - 1) * w + j].max(table[i * w + j - 1])
            };
        }
    }
    let total = table[alen * w + blen];

    // Walk back from the end, collecting the LCS and the matching ranges (last match first, as Redis).
    let compute = getidx || !getlen;
    let mut result = vec![0u8; if compute { total as usize } else { 0 }];
    let mut matches: Vec<[u32; 5]> = Vec::new();
    let mut idx = total as usize;
    let (mut i, mut j) = (alen, blen);
    let unset = alen; // arange_start == alen means "no range open"
    let (mut a_start, mut a_end, mut b_start, mut b_end) = (unset, 0, 0, 0);
    while compute && i > 0 && j > 0 {
        let mut emit = false;
        if a[i - 1] == b[j - 1] {
            result[idx - 1] = a[i - 1];
            if a_start == unset {
                (a_start, a_end, b_start, b_end) = (i - 1, i - 1, j - 1, j - 1);
            } else if a_start == i && b_start == j {
                a_start -= 1;
                b_start -= 1;
            } else {
                emit = true;
            }
            if a_start == 0 || b_start == 0 {
                emit = true;
            }
            idx -= 1;
            i -= 1;
            j -= 1;
        } else {
            if table[(i - 1) * w + j] > table[i * w + j - 1] {
                i -= 1;
            } else {
                j -= 1;
            }
            if a_start != unset {
                emit = true;
            }
        }
        if emit {
            let match_len = (a_end - a_start + 1) as i64;
            if minmatchlen == 0 || match_len >= minmatchlen {
                matches.push([a_start as u32, a_end as u32, b_start as u32, b_end as u32, match_len as u32]);
            }
            a_start = unset;
        }
    }

    let out = &mut *cx.out;
    if getidx {
        out.map(2);
        out.bulk(b"matches");
        out.array(matches.len());
        for m in &matches {
            out.array(2 + withmatchlen as usize);
            out.array(2);
            out.int(m[0] as i64);
            out.int(m[1] as i64);
            out.array(2);
            out.int(m[2] as i64);
            out.int(m[3] as i64);
            if withmatchlen {
                out.int(m[4] as i64);
            }
        }
        out.bulk(b"len");
        out.int(total as i64);
    } else if getlen {
        out.int(total as i64);
    } else {
        out.bulk(&result);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// Bitmaps
// ---------------------------------------------------------------------------------------------------------

/// Redis's getBitOffsetFromArgument: a bit offset within proto-max-bulk-len bytes. With `hash_bits` (BITFIELD)
/// the `#n` form means n * bits.
fn bit_offset(arg: &[u8], hash_bits: Option<u32>, max: u64) -> Result<u64, CmdError> {
    let (digits, mul) = match (arg.first(), hash_bits) {
        (Some(b'#'), Some(bits)) if bits > 0 => (&arg[1..], bits as i64),
        _ => (arg, 1),
    };
    let off = num::parse_i64(digits).ok_or(CmdError::BIT_OFFSET)?.wrapping_mul(mul);
    if off < 0 || ((off as u64) >> 3) >= max {
        return Err(CmdError::BIT_OFFSET);
    }
    Ok(off as u64)
}

/// Redis's lookupStringForBitCommand: the raw buffer of `key`, created or zero-padded so that bit `maxbit`
/// exists. The flag tells whether that created the key or grew it.
fn bit_buffer<'d>(db: &'d mut Db, key: &[u8], maxbit: u64) -> Result<(&'d mut Vec<u8>, bool), CmdError> {
    let need = (maxbit >> 3) as usize + 1;
    let mut grown = false;
    if !db.contains(key) {
        db.set(key, Value::raw(vec![0; need]), false);
        grown = true;
    }
    let Some(e) = db.get_mut(key) else { return Err(CmdError::WRONGTYPE) };
    if !e.value.is_string() {
        return Err(CmdError::WRONGTYPE);
    }
    let Some(buf) = e.value.make_raw() else { return Err(CmdError::WRONGTYPE) };
    if buf.len() < need {
        buf.resize(need, 0);
        grown = true;
    }
    Ok((buf, grown))
}

/// SETBIT key offset value
fn setbit(cx: &mut Ctx<'_>) -> CmdResult {
    let max = cx.s.config.proto_max_bulk_len;
    let off = bit_offset(cx.arg(2), None, max)?;
    let on = match num::parse_i64(cx.arg(3)) {
        Some(v @ (0 | 1)) => v == 1,
        _ => return Err(CmdError::NOT_BIT),
    };
    let key = cx.arg(1);
    let (db, out) = cx.db_out();
    let (buf, grown) = bit_buffer(db, key, off)?;
    let byte = (off >> 3) as usize;
    let mask = 1u8 << (7 - (off & 7));
    let old = buf[byte] & mask != 0;
    out.int(old as i64);
    // Redis counts a change only when the bit flips or the string grew.
    if grown || old != on {
        if on {
            buf[byte] |= mask;
        } else {
            buf[byte] &= !mask;
        }
        cx.modified(key);
    }
    Ok(())
}

/// GETBIT key offset
fn getbit(cx: &mut Ctx<'_>) -> CmdResult {
    let max = cx.s.config.proto_max_bulk_len;
    let off = bit_offset(cx.arg(2), None, max)?;
    let key = cx.arg(1);
    let (db, out) = cx.db_out();
    let Some(e) = db.get(key) else {
        out.int(0);
        return Ok(());
    };
    let byte = (off >> 3) as usize;
    let bit = with_bytes(&e.value, |s| s.get(byte).is_some_and(|b| b & (1 << (7 - (off & 7))) != 0))?;
    out.int(bit as i64);
    Ok(())
}

/// Number of set bits.
fn popcount(s: &[u8]) -> u64 {
    let mut words = s.chunks_exact(8);
    let mut n: u64 = 0;
    for w in &mut words {
        n += u64::from_ne_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]).count_ones() as u64;
    }
    n + words.remainder().iter().map(|b| b.count_ones() as u64).sum::<u64>()
}

/// Redis's redisBitpos: position of the first bit equal to `bit`. Looking for 1 in all-zero bytes gives -1;
/// looking for 0 in all-one bytes gives the first position past the end (the string is zero-padded).
fn first_bit(s: &[u8], bit: bool) -> i64 {
    let skip = if bit { 0u8 } else { 0xff };
    let mut i = 0;
    while i + 8 <= s.len() && s[i..i + 8].iter().all(|&b| b == skip) {
        i += 8;
    }
    while i < s.len() && s[i] == skip {
        i += 1;
    }
    if i == s.len() {
        return if bit { -1 } else { s.len() as i64 * 8 };
    }
    let b = if bit { s[i] } else { !s[i] };
    i as i64 * 8 + b.leading_zeros() as i64
}

/// BITCOUNT/BITPOS's BYTE|BIT unit argument.
fn bit_unit(arg: &[u8]) -> Result<bool, CmdError> {
    if arg.eq_ignore_ascii_case(b"bit") {
        Ok(true)
    } else if arg.eq_ignore_ascii_case(b"byte") {
        Ok(false)
    } else {
        Err(CmdError::SYNTAX)
    }
}

/// A BIT-unit range turned into bytes: (first byte, last byte, mask of the first byte's bits before the
/// range, mask of the last byte's bits after it).
fn bit_range_to_bytes(start: i64, end: i64) -> (i64, i64, u8, u8) {
    let first = (!((1u32 << (8 - (start & 7))) - 1) & 0xff) as u8;
    let last = ((1u32 << (7 - (end & 7))) - 1) as u8;
    (start >> 3, end >> 3, first, last)
}

/// BITCOUNT key [start end [BYTE | BIT]]
fn bitcount(cx: &mut Ctx<'_>) -> CmdResult {
    let argv = cx.argv;
    let argc = argv.len();
    let (db, out) = cx.db_out();
    // The key is looked up before the range is parsed: a missing key answers 0 whatever follows.
    let Some(e) = db.get(argv.get(1)) else {
        out.int(0);
        return Ok(());
    };
    with_bytes(&e.value, |p| {
        let strlen = p.len() as i64;
        let (mut start, mut end, mut first_mask, mut last_mask) = (0, strlen - 1, 0u8, 0u8);
        if argc == 4 || argc == 5 {
            start = num::parse_i64(argv.get(2)).ok_or(CmdError::NOT_INT)?;
            end = num::parse_i64(argv.get(3)).ok_or(CmdError::NOT_INT)?;
            if start < 0 && end < 0 && start > end {
                out.int(0);
                return Ok(());
            }
            let isbit = argc == 5 && bit_unit(argv.get(4))?;
            (start, end, first_mask, last_mask) = normalize_bit_range(start, end, strlen, isbit);
        } else if argc != 2 {
            return Err(CmdError::SYNTAX);
        }
        if start > end {
            out.int(0);
            return Ok(());
        }
        let (s, e) = (start as usize, end as usize);
        let mut count = popcount(&p[s..=e]);
        // Bits of the edge bytes outside a BIT range were counted above: take them out again.
        count -= (p[s] & first_mask).count_ones() as u64 + (p[e] & last_mask).count_ones() as u64;
        out.int(count as i64);
        Ok(())
    })?
}

/// BITCOUNT/BITPOS range: negative indexes count from the end, both ends clamp into the string, and a BIT
/// range becomes the byte range plus masks of the edge bits outside it. Returns (start, end, first_mask,
/// last_mask) in bytes; start > end means empty.
fn normalize_bit_range(mut start: i64, mut end: i64, strlen: i64, isbit: bool) -> (i64, i64, u8, u8) {
    let total = if isbit { strlen << 3 } else { strlen };
    if start < 0 {
        start += total;
    }
    if end < 0 {
        end += total;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= total {
        end = total - 1;
    }
    if isbit && start <= end {
        return bit_range_to_bytes(start, end);
    }
    (start, end, 0, 0)
}

/// BITPOS key bit [start [end [BYTE | BIT]]]
fn bitpos(cx: &mut Ctx<'_>) -> CmdResult {
    let argv = cx.argv;
    let argc = argv.len();
    let bit = match cx.int_arg(2)? {
        0 => false,
        1 => true,
        _ => return Err(BIT_ARG),
    };
    let (db, out) = cx.db_out();
    // A missing key is an infinite run of zeros.
    let Some(e) = db.get(argv.get(1)) else {
        out.int(if bit { -1 } else { 0 });
        return Ok(());
    };
    with_bytes(&e.value, |p| {
        let strlen = p.len() as i64;
        let (mut start, mut end, mut first_mask, mut last_mask) = (0, strlen - 1, 0u8, 0u8);
        let mut end_given = false;
        if (4..=6).contains(&argc) {
            start = num::parse_i64(argv.get(3)).ok_or(CmdError::NOT_INT)?;
            let isbit = argc == 6 && bit_unit(argv.get(5))?;
            if argc >= 5 {
                end = num::parse_i64(argv.get(4)).ok_or(CmdError::NOT_INT)?;
                end_given = true;
            }
            (start, end, first_mask, last_mask) = normalize_bit_range(start, end, strlen, isbit);
        } else if argc != 3 {
            return Err(CmdError::SYNTAX);
        }
        // An empty range holds neither a 0 nor a 1.
        if start > end {
            out.int(-1);
            return Ok(());
        }
        let end = end as usize;
        let mut start = start as usize;
        let mut bytes = (end - start + 1) as i64;
        // Transcribed from Redis: the masked edge bytes are searched on their own.
        let pos = 'found: {
            if first_mask != 0 {
                let mut tmp = if bit { p[start] & !first_mask } else { p[start] | first_mask };
                if last_mask != 0 && bytes == 1 {
                    tmp = if bit { tmp & !last_mask } else { tmp | last_mask };
                }
                let pos = first_bit(&[tmp], bit);
                if bytes == 1 || (pos != -1 && pos != 8) {
                    break 'found pos;
                }
                start += 1;
                bytes -= 1;
            }
            let cur = bytes - (last_mask != 0) as i64;
            if cur > 0 {
                let pos = first_bit(&p[start..start + cur as usize], bit);
                if bytes == cur || (pos != -1 && pos != cur << 3) {
                    break 'found pos;
                }
                start += cur as usize;
                bytes -= cur;
            }
            let tmp = if bit { p[end] & !last_mask } else { p[end] | last_mask };
            first_bit(&[tmp], bit)
        };
        // With an explicit end the string is not zero-padded past it: no clear bit in range means -1.
        if (end_given && !bit && pos == bytes << 3) || pos == -1 {
            out.int(-1);
        } else {
            out.int(pos + ((start as i64) << 3));
        }
        Ok(())
    })?
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

/// BITOP AND|OR|XOR|NOT destkey key [key ...]
fn bitop(cx: &mut Ctx<'_>) -> CmdResult {
    let argv = cx.argv;
    let op = match argv.get(1) {
        o if o.eq_ignore_ascii_case(b"and") => BitOp::And,
        o if o.eq_ignore_ascii_case(b"or") => BitOp::Or,
        o if o.eq_ignore_ascii_case(b"xor") => BitOp::Xor,
        o if o.eq_ignore_ascii_case(b"not") => BitOp::Not,
        _ => return Err(CmdError::SYNTAX),
    };
    if op == BitOp::Not && argv.len() != 4 {
        return Err(BITOP_NOT_ARITY);
    }
    let target = argv.get(2);
    let db = cx.db();
    // Fold the sources into the result one by one; a missing key (or missing bytes of a shorter string) reads
    // as zeros.
    let mut res: Vec<u8> = Vec::new();
    for (n, key) in argv.iter().skip(3).enumerate() {
        let Some(e) = db.get(key) else {
            if op == BitOp::And {
                res.iter_mut().for_each(|b| *b = 0);
            }
            continue;
        };
        with_bytes(&e.value, |src| {
            if n == 0 {
                res.extend_from_slice(src);
                if op == BitOp::Not {
                    res.iter_mut().for_each(|b| *b = !*b);
                }
                return;
            }
            let common = res.len().min(src.len());
            match op {
                BitOp::And => {
                    res[..common].iter_mut().zip(src).for_each(|(r, s)| *r &= s);
                    res[common..].iter_mut().for_each(|b| *b = 0);
                    res.resize(src.len().max(res.len()), 0);
                }
                BitOp::Or | BitOp::Xor => {
                    let f: fn(&mut u8, &u8) = if op == BitOp::Or { |r, s| *r |= s } else { |r, s| *r ^= s };
                    res[..common].iter_mut().zip(src).for_each(|(r, s)| f(r, s));
                    if src.len() > common {
                        res.extend_from_slice(&src[common..]);
                    }
                }
                BitOp::Not => {}
            }
        })?;
    }
    let len = res.len();
    let changed = if len > 0 {
        db.set(target, Value::raw(res), false);
        true
    } else if db.contains(target) {
        db.remove(target);
        true
    } else {
        false
    };
    cx.out.int(len as i64);
    if changed {
        cx.modified(target);
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Overflow {
    Wrap,
    Sat,
    Fail,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum FieldOp {
    Get,
    Set,
    IncrBy,
}

struct BitfieldOp {
    op: FieldOp,
    offset: u64,
    value: i64,
    overflow: Overflow,
    bits: u32,
    signed: bool,
}

/// BITFIELD key [GET encoding offset | [OVERFLOW WRAP | SAT | FAIL] SET encoding offset value |
/// INCRBY encoding offset increment ...]
fn bitfield(cx: &mut Ctx<'_>) -> CmdResult {
    bitfield_generic(cx, false)
}

/// BITFIELD_RO key [GET encoding offset ...]
fn bitfield_ro(cx: &mut Ctx<'_>) -> CmdResult {
    bitfield_generic(cx, true)
}

/// BITFIELD's `i<bits>` / `u<bits>` type: (signed, bits). u64 is refused because replies are signed.
fn bitfield_type(arg: &[u8]) -> Result<(bool, u32), CmdError> {
    let signed = match arg.first() {
        Some(b'i') => true,
        Some(b'u') => false,
        _ => return Err(BITFIELD_TYPE),
    };
    match num::parse_i64(&arg[1..]) {
        Some(b) if b >= 1 && b <= if signed { 64 } else { 63 } => Ok((signed, b as u32)),
        _ => Err(BITFIELD_TYPE),
    }
}

fn bitfield_generic(cx: &mut Ctx<'_>, readonly_cmd: bool) -> CmdResult {
    let argv = cx.argv;
    let argc = argv.len();
    let max = cx.s.config.proto_max_bulk_len;
    let mut ops: Vec<BitfieldOp> = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut readonly = true;
    let mut highest_write: u64 = 0;
    let mut j = 2;
    while j < argc {
        let remaining = argc - j - 1;
        let op = if argv.is(j, "get") && remaining >= 2 {
            FieldOp::Get
        } else if argv.is(j, "set") && remaining >= 3 {
            FieldOp::Set
        } else if argv.is(j, "incrby") && remaining >= 3 {
            FieldOp::IncrBy
        } else if argv.is(j, "overflow") && remaining >= 1 {
            overflow = match argv.get(j + 1) {
                t if t.eq_ignore_ascii_case(b"wrap") => Overflow::Wrap,
                t if t.eq_ignore_ascii_case(b"sat") => Overflow::Sat,
                t if t.eq_ignore_ascii_case(b"fail") => Overflow::Fail,
                _ => return Err(BITFIELD_OVERFLOW),
            };
            j += 2;
            continue;
        } else {
            return Err(CmdError::SYNTAX);
        };
        let (signed, bits) = bitfield_type(argv.get(j + 1))?;
        let offset = bit_offset(argv.get(j + 2), Some(bits), max)?;
        let mut value = 0;
        if op != FieldOp::Get {
            readonly = false;
            highest_write = highest_write.max(offset + bits as u64 - 1);
            value = num::parse_i64(argv.get(j + 3)).ok_or(CmdError::NOT_INT)?;
        }
        ops.push(BitfieldOp { op, offset, value, overflow, bits, signed });
        j += if op == FieldOp::Get { 3 } else { 4 };
    }

    let key = argv.get(1);
    let (db, out) = cx.db_out();
    if readonly {
        let e = db.get(key);
        if let Some(e) = &e {
            if !e.value.is_string() {
                return Err(CmdError::WRONGTYPE);
            }
        }
        out.array(ops.len());
        let v = e.map(|e| &e.value);
        for op in &ops {
            let val = match v {
                Some(v) => with_bytes(v, |s| bitfield_get(s, op))?,
                None => 0,
            };
            out.int(val);
        }
        return Ok(());
    }
    if readonly_cmd {
        return Err(BITFIELD_RO_WRITE);
    }
    let (buf, grown) = bit_buffer(db, key, highest_write)?;
    out.array(ops.len());
    let mut changes = 0u64;
    for op in &ops {
        if op.op == FieldOp::Get {
            out.int(bitfield_get(buf, op));
            continue;
        }
        let (old, new, reply, overflowed) = if op.signed {
            let old = get_signed(buf, op.offset, op.bits);
            let (new, reply, of) = if op.op == FieldOp::IncrBy {
                let (of, wrapped) = signed_overflow(old, op.value, op.bits, op.overflow);
                let new = if of != 0 { wrapped } else { old.wrapping_add(op.value) };
                (new, new, of)
            } else {
                let (of, wrapped) = signed_overflow(op.value, 0, op.bits, op.overflow);
                (if of != 0 { wrapped } else { op.value }, old, of)
            };
            (old as u64, new as u64, reply, of)
        } else {
            let old = get_unsigned(buf, op.offset, op.bits);
            let (new, reply, of) = if op.op == FieldOp::IncrBy {
                let (of, wrapped) = unsigned_overflow(old, op.value, op.bits, op.overflow);
                let new = if of != 0 { wrapped } else { old.wrapping_add(op.value as u64) };
                (new, new as i64, of)
            } else {
                let (of, wrapped) = unsigned_overflow(op.value as u64, 0, op.bits, op.overflow);
                (if of != 0 { wrapped } else { op.value as u64 }, old as i64, of)
            };
            (old, new, reply, of)
        };
        if overflowed != 0 && op.overflow == Overflow::Fail {
            out.nil();
            continue;
        }
        out.int(reply);
        set_unsigned(buf, op.offset, op.bits, new);
        if grown || old != new {
            changes += 1;
        }
    }
    if changes > 0 {
        cx.modified(key);
        // Redis adds one to dirty per changing operation, not per command.
        cx.s.persist.dirty += changes - 1;
    }
    Ok(())
}

/// A BITFIELD GET on a string that may be shorter than the field (missing bytes read as zeros).
fn bitfield_get(s: &[u8], op: &BitfieldOp) -> i64 {
    let byte = (op.offset >> 3) as usize;
    let mut buf = [0u8; 9];
    if byte < s.len() {
        let n = (s.len() - byte).min(9);
        buf[..n].copy_from_slice(&s[byte..byte + n]);
    }
    let off = op.offset & 7;
    if op.signed {
        get_signed(&buf, off, op.bits)
    } else {
        get_unsigned(&buf, off, op.bits) as i64
    }
}

/// The `bits`-wide unsigned integer at bit `offset` (bit 0 is the most significant bit of byte 0).
fn get_unsigned(p: &[u8], offset: u64, bits: u32) -> u64 {
    let mut v = 0u64;
    for i in 0..bits as u64 {
        let o = offset + i;
        let bit = (p[(o >> 3) as usize] >> (7 - (o & 7))) & 1;
        v = (v << 1) | bit as u64;
    }
    v
}

fn get_signed(p: &[u8], offset: u64, bits: u32) -> i64 {
    let v = get_unsigned(p, offset, bits);
    if bits < 64 && v & (1 << (bits - 1)) != 0 {
        (v | (u64::MAX << bits)) as i64
    } else {
        v as i64
    }
}

/// Store the low `bits` bits of `value` at bit `offset`.
fn set_unsigned(p: &mut [u8], offset: u64, bits: u32, value: u64) {
    for i in 0..bits as u64 {
        let o = offset + i;
        let bit = ((value >> (bits as u64 - 1 - i)) & 1) as u8;
        let byte = &mut p[(o >> 3) as usize];
        let shift = 7 - (o & 7);
        *byte = (*byte & !(1 << shift)) | (bit << shift);
    }
}

/// Redis's checkUnsignedBitfieldOverflow: 0 if `value + incr` fits in `bits` bits, else 1 (over) or -1
/// (under) and the value WRAP or SAT would store.
fn unsigned_overflow(value: u64, incr: i64, bits: u32, ow: Overflow) -> (i32, u64) {
    let max = if bits == 64 { u64::MAX } else { (1u64 << bits) - 1 };
    let maxincr = max.wrapping_sub(value) as i64;
    let minincr = value.wrapping_neg() as i64;
    let wrap = || value.wrapping_add(incr as u64) & max;
    if value > max || (incr > 0 && incr > maxincr) {
        (1, if ow == Overflow::Sat { max } else { wrap() })
    } else if incr < 0 && incr < minincr {
        (-1, if ow == Overflow::Sat { 0 } else { wrap() })
    } else {
        (0, 0)
    }
}

/// Redis's checkSignedBitfieldOverflow, the signed counterpart.
fn signed_overflow(value: i64, incr: i64, bits: u32, ow: Overflow) -> (i32, i64) {
    let max = if bits == 64 { i64::MAX } else { (1i64 << (bits - 1)) - 1 };
    let min = -max - 1;
    let maxincr = (max as u64).wrapping_sub(value as u64) as i64;
    let minincr = min.wrapping_sub(value);
    let wrap = || {
        let mut c = (value as u64).wrapping_add(incr as u64);
        if bits < 64 {
            let mask = u64::MAX << bits;
            if c & (1u64 << (bits - 1)) != 0 {
                c |= mask;
            } else {
                c &= !mask;
            }
        }
        c as i64
    };
    if value > max || (bits != 64 && incr > maxincr) || (value >= 0 && incr > 0 && incr > maxincr) {
        (1, if ow == Overflow::Sat { max } else { wrap() })
    } else if value < min || (bits != 64 && incr < minincr) || (value < 0 && incr < 0 && incr < minincr) {
        (-1, if ow == Overflow::Sat { min } else { wrap() })
    } else {
        (0, 0)
    }
}

// ---------------------------------------------------------------------------------------------------------
// long double arithmetic for INCRBYFLOAT
// ---------------------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::testutil::{new, run, T};
    use crate::types::clock;

    const NIL: &str = "$-1\r\n";
    const OK: &str = "+OK\r\n";
    const T0: i64 = 1_700_000_000_000;

    fn bulk(s: &str) -> String {
        format!("${}\r\n{}\r\n", s.len(), s)
    }

    fn int(i: i64) -> String {
        format!(":{i}\r\n")
    }

    fn err(e: &CmdError) -> String {
        format!("-{}\r\n", e.0)
    }

    fn errs(s: &str) -> String {
        format!("-{s}\r\n")
    }

    /// Run with binary arguments; the reply as bytes.
    fn runb(t: &mut T, args: &[&[u8]]) -> Vec<u8> {
        crate::commands::run_args(&mut t.s, t.me, args)
    }

    /// The raw stored bytes of a key.
    fn raw(t: &mut T, key: &str) -> Vec<u8> {
        t.s.dbs[0].peek(key.as_bytes()).unwrap().value.to_vec().unwrap()
    }

    fn enc(t: &mut T, key: &str) -> &'static str {
        t.s.dbs[0].peek(key.as_bytes()).unwrap().value.encoding()
    }

    fn exists(t: &mut T, key: &str) -> bool {
        t.s.dbs[0].contains(key.as_bytes())
    }

    /// Absolute expiry of a key (0: none); panics if the key is missing.
    fn expiry(t: &mut T, key: &str) -> i64 {
        t.s.dbs[0].expire_at(key.as_bytes()).unwrap()
    }

    /// A test with the clock frozen at T0.
    fn frozen() -> T {
        clock::set_mock(T0);
        new()
    }

    fn bits(s: &str) -> Vec<u8> {
        s.as_bytes().chunks(8).map(|c| c.iter().fold(0u8, |acc, b| (acc << 1) | (b - b'0'))).collect()
    }

    #[test]
    fn specs_are_unique_and_resolvable() {
        let mut names: Vec<&str> = SPECS.iter().map(|s| s.name).collect();
        names.sort();
        let n = names.len();
        names.dedup();
        assert_eq!(n, names.len());
        assert_eq!(n, 29);
        for s in SPECS {
            let found = crate::commands::table().lookup(s.name.as_bytes()).unwrap();
            assert_eq!(found.arity, s.arity, "{}", s.name);
            assert!(s.has(WRITE) != s.has(READONLY), "{}", s.name);
            let cat = if s.group == "bitmap" { BITMAP } else { STRING };
            assert_eq!(s.categories, cat, "{}", s.name);
        }
        let mset = SPECS.iter().find(|s| s.name == "mset").unwrap();
        let argv: Vec<&[u8]> = vec![b"mset", b"a", b"1", b"b", b"2"];
        assert_eq!(mset.key_positions(&argv), vec![1, 3]);
        let bitop = SPECS.iter().find(|s| s.name == "bitop").unwrap();
        let argv: Vec<&[u8]> = vec![b"bitop", b"and", b"d", b"a", b"b"];
        assert_eq!(bitop.key_positions(&argv), vec![2, 3, 4]);
        let lcs = SPECS.iter().find(|s| s.name == "lcs").unwrap();
        let argv: Vec<&[u8]> = vec![b"lcs", b"a", b"b", b"len"];
        assert_eq!(lcs.key_positions(&argv), vec![1, 2]);
    }

    #[test]
    fn get_and_set() {
        let mut t = new();
        assert_eq!(run(&mut t, &["get", "k"]), NIL);
        assert_eq!(run(&mut t, &["set", "k", "foobar"]), OK);
        assert_eq!(run(&mut t, &["get", "k"]), bulk("foobar"));
        assert_eq!(run(&mut t, &["SET", "k", ""]), OK);
        assert_eq!(run(&mut t, &["get", "k"]), bulk(""));
        let big = "abcd".repeat(100_000);
        assert_eq!(run(&mut t, &["set", "k", &big]), OK);
        assert_eq!(run(&mut t, &["get", "k"]), bulk(&big));
        assert_eq!(run(&mut t, &["set", "k"]), errs("ERR wrong number of arguments for 'set' command"));
        assert_eq!(run(&mut t, &["get", "k", "x"]), errs("ERR wrong number of arguments for 'get' command"));
        let bin: &[u8] = b"a\r\n\0b";
        assert_eq!(runb(&mut t, &[b"set", b"bin", bin]), OK.as_bytes());
        assert_eq!(runb(&mut t, &[b"get", b"bin"]), b"$5\r\na\r\n\0b\r\n");
    }

    #[test]
    fn set_picks_redis_encodings() {
        let mut t = new();
        for (v, e) in [
            ("12345", "int"),
            ("-1", "int"),
            ("9223372036854775807", "int"),
            ("9223372036854775808", "embstr"),
            ("01", "embstr"),
            ("-0", "embstr"),
            (" 1", "embstr"),
            ("hello", "embstr"),
        ] {
            run(&mut t, &["set", "k", v]);
            assert_eq!(enc(&mut t, "k"), e, "{v}");
            assert_eq!(run(&mut t, &["get", "k"]), bulk(v));
        }
        run(&mut t, &["set", "k", &"a".repeat(44)]);
        assert_eq!(enc(&mut t, "k"), "embstr");
        run(&mut t, &["set", "k", &"a".repeat(45)]);
        assert_eq!(enc(&mut t, "k"), "raw");
        for cmd in [&["mset", "k", "7"][..], &["getset", "k", "8"], &["setnx", "n", "9"], &["setex", "k", "10", "11"]] {
            run(&mut t, cmd);
            assert_eq!(enc(&mut t, cmd[1]), "int", "{cmd:?}");
        }
    }

    #[test]
    fn set_nx_xx_get() {
        let mut t = new();
        assert_eq!(run(&mut t, &["set", "foo", "1", "nx"]), OK);
        assert_eq!(run(&mut t, &["set", "foo", "2", "NX"]), NIL);
        assert_eq!(run(&mut t, &["get", "foo"]), bulk("1"));
        assert_eq!(run(&mut t, &["set", "bar", "1", "xx"]), NIL);
        assert!(!exists(&mut t, "bar"));
        assert_eq!(run(&mut t, &["set", "foo", "3", "xx"]), OK);
        assert_eq!(run(&mut t, &["get", "foo"]), bulk("3"));
        // GET returns the old value whether or not the write happens.
        assert_eq!(run(&mut t, &["set", "foo", "bar2", "GET"]), bulk("3"));
        assert_eq!(run(&mut t, &["get", "foo"]), bulk("bar2"));
        assert_eq!(run(&mut t, &["set", "new", "v", "get"]), NIL);
        assert_eq!(run(&mut t, &["get", "new"]), bulk("v"));
        assert_eq!(run(&mut t, &["set", "foo", "baz", "get", "xx"]), bulk("bar2"));
        assert_eq!(run(&mut t, &["get", "foo"]), bulk("baz"));
        assert_eq!(run(&mut t, &["set", "none", "x", "get", "xx"]), NIL);
        assert!(!exists(&mut t, "none"));
        assert_eq!(run(&mut t, &["set", "none", "x", "get", "nx"]), NIL);
        assert_eq!(run(&mut t, &["get", "none"]), bulk("x"));
        assert_eq!(run(&mut t, &["set", "none", "y", "get", "nx"]), bulk("x"));
        assert_eq!(run(&mut t, &["get", "none"]), bulk("x"));
        // Repeating an option is fine.
        assert_eq!(run(&mut t, &["set", "foo", "v", "nx", "nx"]), NIL);
        assert_eq!(run(&mut t, &["set", "foo", "v", "get", "get"]), bulk("baz"));
    }

    #[test]
    fn set_syntax_errors() {
        let mut t = new();
        let syntax = err(&CmdError::SYNTAX);
        for args in [
            &["set", "k", "v", "non-existing-option"][..],
            &["set", "k", "v", "nx", "xx"],
            &["set", "k", "v", "xx", "nx"],
            &["set", "k", "v", "ex", "10", "px", "100"],
            &["set", "k", "v", "px", "100", "exat", "100"],
            &["set", "k", "v", "ex", "10", "keepttl"],
            &["set", "k", "v", "keepttl", "pxat", "10"],
            &["set", "k", "v", "ex"],
            &["set", "k", "v", "persist"],
            &["set", "k", "v", "nxx"],
        ] {
            assert_eq!(run(&mut t, args), syntax, "{args:?}");
        }
        assert!(!exists(&mut t, "k"));
        assert_eq!(run(&mut t, &["set", "k", "v", "ex", "10", "ex", "20"]), OK);
    }

    #[test]
    fn set_expire_options() {
        let mut t = frozen();
        assert_eq!(run(&mut t, &["set", "k", "v", "ex", "10"]), OK);
        assert_eq!(expiry(&mut t, "k"), T0 + 10_000);
        assert_eq!(run(&mut t, &["set", "k", "v", "px", "1500"]), OK);
        assert_eq!(expiry(&mut t, "k"), T0 + 1500);
        assert_eq!(run(&mut t, &["set", "k", "v", "exat", "1800000000"]), OK);
        assert_eq!(expiry(&mut t, "k"), 1_800_000_000_000);
        assert_eq!(run(&mut t, &["set", "k", "v", "pxat", "1800000000123"]), OK);
        assert_eq!(expiry(&mut t, "k"), 1_800_000_000_123);
        assert_eq!(run(&mut t, &["set", "k", "w", "keepttl"]), OK);
        assert_eq!(expiry(&mut t, "k"), 1_800_000_000_123);
        assert_eq!(run(&mut t, &["set", "k", "x"]), OK);
        assert_eq!(expiry(&mut t, "k"), 0);
        assert_eq!(run(&mut t, &["set", "k", "bar", "xx", "px", "10000"]), OK);
        assert_eq!(expiry(&mut t, "k"), T0 + 10_000);
        // The key goes once its time has come.
        clock::set_mock(T0 + 10_001);
        assert_eq!(run(&mut t, &["get", "k"]), NIL);
        // A timestamp in the past makes a key that is already gone.
        assert_eq!(run(&mut t, &["set", "k", "v", "pxat", "1"]), OK);
        assert_eq!(run(&mut t, &["get", "k"]), NIL);
        clock::clear_mock();
    }

    #[test]
    fn invalid_expire_times() {
        let mut t = frozen();
        let set_err = errs("ERR invalid expire time in 'set' command");
        for args in [
            &["set", "k", "v", "ex", "0"][..],
            &["set", "k", "v", "ex", "-1"],
            &["set", "k", "v", "px", "0"],
            &["set", "k", "v", "exat", "0"],
            &["set", "k", "v", "pxat", "-5"],
            &["set", "k", "v", "ex", "9223372036854775"],
            &["set", "k", "v", "px", "9223372036854775807"],
        ] {
            assert_eq!(run(&mut t, args), set_err, "{args:?}");
        }
        assert!(!exists(&mut t, "k"));
        assert_eq!(run(&mut t, &["set", "k", "v", "ex", "9223372036854"]), OK);
        assert_eq!(run(&mut t, &["set", "k", "v", "exat", "9223372036854775"]), OK);
        assert_eq!(run(&mut t, &["set", "k", "v", "ex", "abc"]), err(&CmdError::NOT_INT));
        assert_eq!(run(&mut t, &["set", "k", "v", "ex", "1.5"]), err(&CmdError::NOT_INT));
        assert_eq!(run(&mut t, &["setex", "k", "0", "v"]), errs("ERR invalid expire time in 'setex' command"));
        assert_eq!(run(&mut t, &["psetex", "k", "-1", "v"]), errs("ERR invalid expire time in 'psetex' command"));
        assert_eq!(run(&mut t, &["getex", "k", "ex", "0"]), errs("ERR invalid expire time in 'getex' command"));
        // The expire is checked before GET looks at the old value.
        assert_eq!(run(&mut t, &["set", "k", "v", "get", "ex", "0"]), set_err);
        clock::clear_mock();
    }

    #[test]
    fn setnx_setex_psetex() {
        let mut t = frozen();
        assert_eq!(run(&mut t, &["setnx", "novar", "foobared"]), int(1));
        assert_eq!(run(&mut t, &["setnx", "novar", "blabla"]), int(0));
        assert_eq!(run(&mut t, &["get", "novar"]), bulk("foobared"));
        // SETNX sees an expired key as missing.
        run(&mut t, &["set", "x", "10", "px", "100"]);
        assert_eq!(run(&mut t, &["setnx", "x", "20"]), int(0));
        clock::set_mock(T0 + 101);
        assert_eq!(run(&mut t, &["setnx", "x", "20"]), int(1));
        assert_eq!(run(&mut t, &["get", "x"]), bulk("20"));
        assert_eq!(expiry(&mut t, "x"), 0);
        assert_eq!(run(&mut t, &["setex", "k", "100", "v"]), OK);
        assert_eq!(expiry(&mut t, "k"), T0 + 101 + 100_000);
        assert_eq!(run(&mut t, &["psetex", "k", "100", "w"]), OK);
        assert_eq!(expiry(&mut t, "k"), T0 + 201);
        assert_eq!(run(&mut t, &["get", "k"]), bulk("w"));
        assert_eq!(run(&mut t, &["setex", "k", "x", "v"]), err(&CmdError::NOT_INT));
        assert_eq!(run(&mut t, &["setex", "k", "1"]), errs("ERR wrong number of arguments for 'setex' command"));
        clock::clear_mock();
    }

    #[test]
    fn getex_options() {
        let mut t = frozen();
        assert_eq!(run(&mut t, &["getex", "missing", "ex", "10"]), NIL);
        // An invalid expire on a missing key is not even looked at.
        assert_eq!(run(&mut t, &["getex", "missing", "ex", "-1"]), NIL);
        run(&mut t, &["set", "foo", "bar"]);
        let dirty = t.s.persist.dirty;
        assert_eq!(run(&mut t, &["getex", "foo"]), bulk("bar"));
        assert_eq!(t.s.persist.dirty, dirty);
        assert_eq!(run(&mut t, &["getex", "foo", "ex", "10"]), bulk("bar"));
        assert_eq!(expiry(&mut t, "foo"), T0 + 10_000);
        assert_eq!(run(&mut t, &["getex", "foo", "px", "10000"]), bulk("bar"));
        assert_eq!(expiry(&mut t, "foo"), T0 + 10_000);
        assert_eq!(run(&mut t, &["getex", "foo", "exat", "1800000000"]), bulk("bar"));
        assert_eq!(expiry(&mut t, "foo"), 1_800_000_000_000);
        assert_eq!(run(&mut t, &["getex", "foo", "pxat", "1800000000001"]), bulk("bar"));
        assert_eq!(expiry(&mut t, "foo"), 1_800_000_000_001);
        let dirty = t.s.persist.dirty;
        assert_eq!(run(&mut t, &["getex", "foo", "persist"]), bulk("bar"));
        assert_eq!(expiry(&mut t, "foo"), 0);
        assert_eq!(t.s.persist.dirty, dirty + 1);
        // PERSIST on a key without TTL changes nothing.
        assert_eq!(run(&mut t, &["getex", "foo", "persist"]), bulk("bar"));
        assert_eq!(t.s.persist.dirty, dirty + 1);
        // A timestamp already past deletes the key (after replying with it).
        assert_eq!(run(&mut t, &["getex", "foo", "pxat", &T0.to_string()]), bulk("bar"));
        assert!(!exists(&mut t, "foo"));
        run(&mut t, &["set", "foo", "bar"]);
        assert_eq!(run(&mut t, &["getex", "foo", "exat", "1"]), bulk("bar"));
        assert!(!exists(&mut t, "foo"));
        run(&mut t, &["set", "foo", "bar"]);
        assert_eq!(run(&mut t, &["getex", "foo", "ex", "0"]), errs("ERR invalid expire time in 'getex' command"));
        assert_eq!(run(&mut t, &["getex", "foo", "ex", "x"]), err(&CmdError::NOT_INT));
        assert_eq!(expiry(&mut t, "foo"), 0);
        let syntax = err(&CmdError::SYNTAX);
        for args in [
            &["getex", "foo", "non-existent-option"][..],
            &["getex", "foo", "nx"],
            &["getex", "foo", "get"],
            &["getex", "foo", "keepttl"],
            &["getex", "foo", "ex", "10", "persist"],
            &["getex", "foo", "persist", "px", "10"],
            &["getex", "foo", "ex", "10", "px", "10"],
            &["getex", "foo", "ex"],
        ] {
            assert_eq!(run(&mut t, args), syntax, "{args:?}");
        }
        assert_eq!(run(&mut t, &["getex"]), errs("ERR wrong number of arguments for 'getex' command"));
        clock::clear_mock();
    }

    #[test]
    fn getdel_and_getset() {
        let mut t = frozen();
        run(&mut t, &["set", "foo", "bar"]);
        assert_eq!(run(&mut t, &["getdel", "foo"]), bulk("bar"));
        assert_eq!(run(&mut t, &["getdel", "foo"]), NIL);
        run(&mut t, &["set", "n", "42"]);
        assert_eq!(run(&mut t, &["getdel", "n"]), bulk("42"));
        assert_eq!(run(&mut t, &["getset", "foo", "xyz"]), NIL);
        assert_eq!(run(&mut t, &["get", "foo"]), bulk("xyz"));
        t.s.dbs[0].set_expire(b"foo", T0 + 100_000);
        assert_eq!(run(&mut t, &["getset", "foo", "abc"]), bulk("xyz"));
        assert_eq!(run(&mut t, &["get", "foo"]), bulk("abc"));
        assert_eq!(expiry(&mut t, "foo"), 0);
        clock::clear_mock();
    }

    #[test]
    fn mget_mset_msetnx() {
        let mut t = frozen();
        assert_eq!(run(&mut t, &["mset", "x", "10", "y", "foo bar", "z", "x x\n\r\n"]), OK);
        assert_eq!(
            run(&mut t, &["mget", "x", "nokey", "y", "z"]),
            format!("*4\r\n{}{NIL}{}{}", bulk("10"), bulk("foo bar"), bulk("x x\n\r\n"))
        );
        assert_eq!(run(&mut t, &["mset", "x", "10", "y"]), errs("ERR wrong number of arguments for 'mset' command"));
        assert_eq!(
            run(&mut t, &["msetnx", "x", "20", "y", "foo bar", "z"]),
            errs("ERR wrong number of arguments for 'msetnx' command")
        );
        assert_eq!(run(&mut t, &["msetnx", "x1", "xxx", "y2", "yyy", "x", "20"]), int(0));
        assert!(!exists(&mut t, "x1") && !exists(&mut t, "y2"));
        assert_eq!(run(&mut t, &["msetnx", "x1", "xxx", "y2", "yyy"]), int(1));
        assert_eq!(run(&mut t, &["mget", "x1", "y2"]), format!("*2\r\n{}{}", bulk("xxx"), bulk("yyy")));
        t.s.dbs[0].remove(b"x1");
        assert_eq!(run(&mut t, &["msetnx", "x1", "xxx", "x1", "yyy"]), int(1));
        assert_eq!(run(&mut t, &["get", "x1"]), bulk("yyy"));
        assert_eq!(run(&mut t, &["msetnx", "x1", "xxx", "x1", "zzz"]), int(0));
        assert_eq!(run(&mut t, &["get", "x1"]), bulk("yyy"));
        // MSET drops TTLs and counts one change per key.
        t.s.dbs[0].set_expire(b"x", T0 + 1000);
        let dirty = t.s.persist.dirty;
        assert_eq!(run(&mut t, &["mset", "x", "1", "y", "2"]), OK);
        assert_eq!(t.s.persist.dirty, dirty + 2);
        assert_eq!(expiry(&mut t, "x"), 0);
        // RESP3 nulls.
        t.s.clients[t.me].resp = 3;
        assert_eq!(run(&mut t, &["mget", "x", "nokey"]), format!("*2\r\n{}_\r\n", bulk("1")));
        assert_eq!(run(&mut t, &["get", "nokey"]), "_\r\n");
        clock::clear_mock();
    }

    #[test]
    fn incr_family() {
        let mut t = frozen();
        assert_eq!(run(&mut t, &["incr", "novar"]), int(1));
        assert_eq!(run(&mut t, &["get", "novar"]), bulk("1"));
        assert_eq!(run(&mut t, &["incr", "novar"]), int(2));
        run(&mut t, &["set", "novar", "100"]);
        assert_eq!(run(&mut t, &["incr", "novar"]), int(101));
        run(&mut t, &["set", "novar", "17179869184"]);
        assert_eq!(run(&mut t, &["incr", "novar"]), int(17179869185));
        run(&mut t, &["set", "novar", "17179869184"]);
        assert_eq!(run(&mut t, &["incrby", "novar", "17179869184"]), int(34359738368));
        run(&mut t, &["set", "novar", "17179869184"]);
        assert_eq!(run(&mut t, &["decrby", "novar", "17179869185"]), int(-1));
        assert_eq!(run(&mut t, &["decr", "novar"]), int(-2));
        assert_eq!(enc(&mut t, "novar"), "int");
        for bad in ["    11", "11    ", "    11    ", "01", "+1", "-0", "1.0", "", "abc", "99999999999999999999"] {
            run(&mut t, &["set", "novar", bad]);
            assert_eq!(run(&mut t, &["incr", "novar"]), err(&CmdError::NOT_INT), "{bad:?}");
        }
        run(&mut t, &["set", "x", "0"]);
        assert_eq!(run(&mut t, &["decrby", "x", "-9223372036854775808"]), errs("ERR decrement would overflow"));
        assert_eq!(run(&mut t, &["incrby", "x", "1.5"]), err(&CmdError::NOT_INT));
        assert_eq!(run(&mut t, &["incrby", "x", " 1"]), err(&CmdError::NOT_INT));
        run(&mut t, &["set", "x", "9223372036854775807"]);
        assert_eq!(run(&mut t, &["incr", "x"]), err(&CmdError::OVERFLOW));
        run(&mut t, &["set", "x", "-9223372036854775808"]);
        assert_eq!(run(&mut t, &["decr", "x"]), err(&CmdError::OVERFLOW));
        assert_eq!(run(&mut t, &["incrby", "x", "9223372036854775807"]), int(-1));
        assert_eq!(run(&mut t, &["get", "x"]), bulk("-1"));
        // An embstr that holds a number becomes int; the TTL stays.
        t.s.dbs[0].set(b"e", Value::Emb(CompactBytes::new(b"10")), false);
        t.s.dbs[0].set_expire(b"e", T0 + 5000);
        assert_eq!(run(&mut t, &["incrby", "e", "5"]), int(15));
        assert_eq!(enc(&mut t, "e"), "int");
        assert_eq!(expiry(&mut t, "e"), T0 + 5000);
        let dirty = t.s.persist.dirty;
        run(&mut t, &["incr", "e"]);
        run(&mut t, &["incr", "nope"]);
        assert_eq!(t.s.persist.dirty, dirty + 2);
        clock::clear_mock();
    }

    /// (stored value, increment, Redis 7.0.15's reply), collected from a real redis-server on x86-64.
    const INCRBYFLOAT_CASES: &[(&str, &str, &str)] = &[
        ("0.1", "0.2", "0.3"),
        ("10.5", "0.1", "10.6"),
        ("0", "0.1", "0.1"),
        ("1", "-1.1", "-0.1"),
        ("3.0e3", "0", "3000"),
        ("17179869184", "1.5", "17179869185.5"),
        ("1e20", "0.1", "100000000000000000000"),
        ("0.000003814697265625", "0", "0.00000381469726562"),
        ("1.1", "2.2", "3.3"),
        ("-1", "1", "0"),
        ("5", "-5.0000000000000001", "-0.0000000000000001"),
        ("123456789.123456789", "0.000000001", "123456789.12345678999554366"),
        ("9223372036854775807", "1", "9223372036854775808"),
        ("-9223372036854775808", "-1", "-9223372036854775809"),
        ("1e-17", "0", "0.00000000000000001"),
        ("5e-18", "0", "0"),
        ("6e-18", "0", "0.00000000000000001"),
        ("1e300", "1e300", "2000000000000000000017994648159118387741047888546581495876520164642531293192361871511698304167500994380700745017228549671807185112369345967826192521041497292574654271283687306588168510215212033579453305864740061102765895241989080589545563779241212358535223254194821301134374772211380178849830208012288"),
        ("0x1p-1", "0", "0.5"),
        ("0X1.8P1", "0.5", "3.5"),
        ("1.7976931348623157e308", "1", "179769313486231569995921046774104434048386446944329178485314420765176628523124396354701868608387085564428793419425520689308708363451136055357897278026477617073498977686288394835618163294045594434929537447290627480669417384648879122776218333598953852832103282504751611691208117720159985926376802466863339536384"),
        ("100", "-99.99", "0.01"),
        ("2.5", "2.5", "5"),
        ("0.3", "-0.1", "0.2"),
        ("1e-400", "17", "17"),
        ("3.14159265358979323846264338327950288", "0", "3.14159265358979324"),
        ("1.", "0.5", "1.5"),
        (".5", ".25", "0.75"),
        ("-.5", "0", "-0.5"),
        ("+7", "+3", "10"),
        ("1e+2", "1E-2", "100.01"),
        ("99999999999999999999", "1", "100000000000000000000"),
        ("0.1", "0.7", "0.8"),
        ("1.005", "0", "1.005"),
        ("2.675", "0", "2.675"),
        ("1e19", "1e-5", "10000000000000000000"),
        ("4.35", "0", "4.35"),
        ("0.07", "0", "0.07"),
        ("1234567.891", "0", "1234567.89099999999996271"),
        ("-0.000000000000000001", "0", "0"),
        ("12345678901234567890123", "0.5", "12345678901234567889920"),
        ("895730.72122", "301.868946", "896032.59016600000001063"),
        ("642548.6", "-268.6", "642280"),
        ("819408", "-925.009", "818482.99099999999998545"),
        ("-163655.697258", "-818.574", "-164474.27125800000000311"),
        ("-881778.987842", "-752.396077701", "-882531.38391970100002482"),
        ("261251.831", "895.417884914", "262147.24888491400000134"),
        ("171082.845280773", "953", "172035.84528077299999893"),
        ("113330", "-420.78", "112909.21999999999999886"),
        ("81371.77", "-383.036351796", "80988.73364820400000497"),
        ("-638547.2401521250", "142.408782824", "-638404.83136930099999518"),
        ("-255204.915", "424.22153149", "-254780.69346851000000242"),
        ("-880797.660067535", "-7.171", "-880804.83106753499998831"),
        ("-144815.38866119", "-68.79627", "-144884.18493119000000036"),
        ("-276835.2881109", "588.759", "-276246.52911090000000627"),
        ("559659.26116848737", "148.8", "559808.06116848737002556"),
        ("-9767.28088949", "458.89058", "-9308.39030948999999993"),
        ("217918.0381", "-763.9", "217154.13809999999999434"),
        ("-670075.792713", "-696.03093", "-670771.82364300000000412"),
        ("-156603.2910465", "-844.7590356384", "-157448.05008213839998632"),
        ("146051.88055477", "-319.75528", "145732.12527477000000431"),
        ("188739.75421", "593.783951643", "189333.53816164299999514"),
        ("679935.6", "-51.8033", "679883.79670000000004393"),
        ("-870000.0485678103", "402.98404260885", "-869597.06452520145001017"),
        ("155892.4614354363", "643.8495732194", "156536.31100865569999314"),
        ("433255.5888", "-305.9894886231", "432949.59931137690000469"),
        ("-289071.7809193", "-765.808411037", "-289837.58933033700000692"),
        ("-563584", "-741.3196", "-564325.3195999999999799"),
        ("-204204.643", "-838.8373976", "-205043.48039760000000342"),
        ("-196711.4873314", "766.7677", "-195944.71963139999999726"),
        ("727968.939397", "412.7934", "728381.73279700000000503"),
        ("365446.11877", "915.462408", "366361.58117800000002262"),
        ("-834030.61", "-536.09", "-834566.69999999999998863"),
        ("-975873.880", "-635.314252038", "-976509.1942520380000019"),
        ("-991812.7932", "69.181925", "-991743.61127500000003465"),
        ("132682.447412784", "380.99", "133063.43741278399998862"),
        ("900447.89936532", "352.4001648990", "900800.29953021900001886"),
        ("-86713", "903.772441663044", "-85809.22755833695600103"),
        ("595746.2423931321", "-203.860739", "595542.38165413209998178"),
        ("-792925.812579", "-199.1147389673", "-793124.92731796730004135"),
        ("-865304.768", "-118.746", "-865423.51399999999995316"),
        ("-7.80143389999067e+17", "-8.948487922194661e-21", "-780143389999067000"),
        ("13356721626616.896", "-797.071263954807", "13356721625819.82473564147949219"),
        ("2.2747452595086215e-17", "7.486647547476393e+18", "7486647547476393000"),
        ("-2.475412763871181e+19", "-49.54844868858454", "-24754127638711810050"),
        ("2045583779.2401655", "-75431553847.56102", "-73385970068.32085449993610382"),
        ("986205443.4094279", "-0.003920979076870302", "986205443.40550692088436335"),
        ("-8.282306768876689e-15", "4.9934784088486176e-05", "0.0000499347840802"),
        ("-4.275611298001758e+22", "-6.77122778947137e-20", "-42756112980017579999232"),
        ("-5895699865969.187", "-2.764950819819789e+23", "-276495081987874599878656"),
        ("8.634485176422868e-21", "0.05162859190718745", "0.05162859190718745"),
        ("9.570024854379455e-16", "3.923935718156038e-05", "0.00003923935718252"),
        ("3.679371426552214e-12", "-2.88607660354109e-07", "-0.00000028860398098"),
        ("65184794985.75802", "-3.4067000990447525e-07", "65184794985.75801965966820717"),
        ("2.264564456270819e-09", "61215.7169571335", "61215.71695713576456299"),
        ("4.797460407514282e-07", "-60016403320.97007", "-60016403320.970069520175457"),
        ("-2.888749132900836e-20", "0.00097920717340614", "0.00097920717340614"),
        ("-5.551987500228939e-10", "38.504388340024676", "38.50438833946947725"),
        ("-10.55446444665531", "910.0012626426663", "899.44679819601099002"),
        ("-8.389237490227472e-15", "-5.463083465385441e-09", "-0.00000000546309185"),
        ("-3245250403.2293916", "2.4813279487563643e+18", "2481327945511113896.75"),
        ("8371713186539435371052860e-2", "3492992326885764686.285028119307", "83720624857721239470080"),
        ("249859120005174968223459e-1", "-8876789368498740656", "24977035211148998080512"),
        ("3211732956688756112800012e-1", "-445273.00427561055", "321173295668875610816512"),
        ("0x1p-16445", "1", "1"),
        ("3.6e-4951", "0", "0"),
        ("-0x5806c8629e5579203.a770p-23", "0", "-12098269369290.68414306640625"),
        ("2e-4951", "-1", "-1"),
    ];

    #[test]
    fn incrbyfloat_matches_redis_long_double() {
        let mut t = new();
        for &(start, by, want) in INCRBYFLOAT_CASES {
            run(&mut t, &["set", "f", start]);
            assert_eq!(run(&mut t, &["incrbyfloat", "f", by]), bulk(want), "{start} + {by}");
            assert_eq!(run(&mut t, &["get", "f"]), bulk(want));
        }
        // Results near the top of the long double range print in full.
        run(&mut t, &["set", "f", "1e4932"]);
        let r = run(&mut t, &["incrbyfloat", "f", "0"]);
        assert!(r.starts_with("$4933\r\n1000000000000000000006018949387963891323837774254533114773785041"), "{r}");
        assert_eq!(run(&mut t, &["incrbyfloat", "f", "1e4932"]), err(&NAN_OR_INF));
    }

    #[test]
    fn incrbyfloat_behaviour() {
        let mut t = frozen();
        assert_eq!(run(&mut t, &["incrbyfloat", "novar", "1"]), bulk("1"));
        assert_eq!(run(&mut t, &["incrbyfloat", "novar", "0.25"]), bulk("1.25"));
        assert_eq!(run(&mut t, &["get", "novar"]), bulk("1.25"));
        // Stored as a string, never as an int.
        assert_eq!(run(&mut t, &["incrbyfloat", "novar", "1.75"]), bulk("3"));
        assert_eq!(enc(&mut t, "novar"), "embstr");
        run(&mut t, &["set", "novar", "1.5"]);
        assert_eq!(run(&mut t, &["incrbyfloat", "novar", "1.5"]), bulk("3"));
        run(&mut t, &["set", "novar", "17179869184"]);
        assert_eq!(run(&mut t, &["incrbyfloat", "novar", "17179869184"]), bulk("34359738368"));
        for bad in [
            "    11", "11    ", " 11 ", "abc", "", "1e", "nan", "1e5000", "1e-5000", "0x", "1..2", "\t1", "6e-4952",
            "1e-4951",
        ] {
            run(&mut t, &["set", "novar", bad]);
            assert_eq!(run(&mut t, &["incrbyfloat", "novar", "1.0"]), err(&CmdError::NOT_FLOAT), "{bad:?}");
        }
        run(&mut t, &["set", "foo", "0"]);
        assert_eq!(run(&mut t, &["incrbyfloat", "foo", "+inf"]), err(&NAN_OR_INF));
        assert_eq!(run(&mut t, &["incrbyfloat", "foo", "-Infinity"]), err(&NAN_OR_INF));
        assert_eq!(run(&mut t, &["incrbyfloat", "foo", "nan"]), err(&CmdError::NOT_FLOAT));
        assert_eq!(run(&mut t, &["incrbyfloat", "foo", "x"]), err(&CmdError::NOT_FLOAT));
        // The stored value is checked before the increment.
        run(&mut t, &["set", "foo", "abc"]);
        assert_eq!(run(&mut t, &["incrbyfloat", "foo", "1"]), err(&CmdError::NOT_FLOAT));
        run(&mut t, &["set", "foo", "1"]);
        assert_eq!(run(&mut t, &["incrbyfloat", "foo", "-1.1"]), bulk("-0.1"));
        run(&mut t, &["set", "foo", "1"]);
        run(&mut t, &["setrange", "foo", "2", "2"]);
        assert_eq!(run(&mut t, &["incrbyfloat", "foo", "1"]), err(&CmdError::NOT_FLOAT));
        t.s.dbs[0].remove(b"foo");
        let (a, b) = (format!("{:?}", 1.0f64 / 41.0), format!("{:?}", -1.0f64 / 41.0));
        run(&mut t, &["incrbyfloat", "foo", &a]);
        assert_eq!(run(&mut t, &["incrbyfloat", "foo", &b]), bulk("0"));
        // Repeated small steps stay exact, as with Redis's long double.
        run(&mut t, &["set", "acc", "0"]);
        for _ in 0..10 {
            run(&mut t, &["incrbyfloat", "acc", "0.1"]);
        }
        assert_eq!(run(&mut t, &["get", "acc"]), bulk("1"));
        // The TTL stays.
        t.s.dbs[0].set_expire(b"acc", T0 + 9000);
        run(&mut t, &["incrbyfloat", "acc", "1"]);
        assert_eq!(expiry(&mut t, "acc"), T0 + 9000);
        clock::clear_mock();
    }

    #[test]
    fn long_double_parse_and_print() {
        use crate::types::num::ld::{parse, Ld};
        let p = |s: &str| parse(s.as_bytes()).map(|v| v.to_human());
        assert_eq!(p("0"), Some("0".into()));
        assert_eq!(p("-0"), Some("0".into()));
        assert_eq!(p("0.000"), Some("0".into()));
        assert_eq!(p("1.5e3"), Some("1500".into()));
        assert_eq!(p("0x10"), Some("16".into()));
        assert_eq!(p("0x.8"), Some("0.5".into()));
        assert_eq!(p("0x1p-2"), Some("0.25".into()));
        assert_eq!(p("INF"), Some("inf".into()));
        assert_eq!(p("-infinity"), Some("-inf".into()));
        assert_eq!(p("1e-400"), Some("0".into()));
        for bad in ["", " 1", "1 ", "+", "-", ".", "e5", "1e+", "0x", "0xp1", "inf1", "nan", "NaN(1)", "1,5"] {
            assert_eq!(parse(bad.as_bytes()), None, "{bad:?}");
        }
        // Redis refuses inputs of 5120 bytes or more; long ones below that are exact.
        let long = |n: usize| [&b"0."[..], &vec![b'3'; n - 2]].concat();
        assert_eq!(parse(&long(5119)).map(|v| v.to_human()), Some("0.33333333333333333".into()));
        assert_eq!(parse(&long(5120)), None);
        assert_eq!(parse(&vec![b'1'; 4933]).map(|v| v.is_finite()), Some(true));
        assert_eq!(parse(&vec![b'1'; 4934]), None);
        assert_eq!(Ld::from_i64(i64::MIN).to_human(), "-9223372036854775808");
        assert_eq!(Ld::from_i64(7) + Ld::from_i64(-7), Ld::ZERO);
        let inf = Ld::Inf { neg: false };
        assert!(!(Ld::from_i64(1) + inf).is_finite());
    }

    #[test]
    fn append_and_strlen() {
        let mut t = frozen();
        assert_eq!(run(&mut t, &["append", "a", "123"]), int(3));
        assert_eq!(enc(&mut t, "a"), "int");
        assert_eq!(run(&mut t, &["append", "b", "foo"]), int(3));
        assert_eq!(enc(&mut t, "b"), "embstr");
        assert_eq!(run(&mut t, &["append", "a", "4"]), int(4));
        assert_eq!(enc(&mut t, "a"), "raw");
        assert_eq!(run(&mut t, &["get", "a"]), bulk("1234"));
        t.s.dbs[0].set_expire(b"b", T0 + 1000);
        assert_eq!(run(&mut t, &["append", "b", "bar"]), int(6));
        assert_eq!(run(&mut t, &["get", "b"]), bulk("foobar"));
        assert_eq!(enc(&mut t, "b"), "raw");
        assert_eq!(expiry(&mut t, "b"), T0 + 1000);
        t.s.config.proto_max_bulk_len = 8;
        assert_eq!(run(&mut t, &["append", "b", "abc"]), err(&CmdError::STRING_MAX));
        assert_eq!(run(&mut t, &["append", "b", "ab"]), int(8));
        assert_eq!(run(&mut t, &["strlen", "notakey"]), int(0));
        run(&mut t, &["set", "myinteger", "-555"]);
        assert_eq!(run(&mut t, &["strlen", "myinteger"]), int(4));
        run(&mut t, &["set", "mystring", "foozzz0123456789 baz"]);
        assert_eq!(run(&mut t, &["strlen", "mystring"]), int(20));
        clock::clear_mock();
    }

    #[test]
    fn getrange_and_substr() {
        let mut t = new();
        assert_eq!(run(&mut t, &["getrange", "mykey", "0", "-1"]), bulk(""));
        run(&mut t, &["set", "mykey", "Hello World"]);
        for (a, b, want) in [
            ("0", "3", "Hell"),
            ("0", "-1", "Hello World"),
            ("-4", "-1", "orld"),
            ("5", "3", ""),
            ("5", "5000", " World"),
            ("-5000", "10000", "Hello World"),
            ("-1", "-5", ""),
            ("0", "4294967297", "Hello World"),
        ] {
            assert_eq!(run(&mut t, &["getrange", "mykey", a, b]), bulk(want), "{a} {b}");
        }
        run(&mut t, &["set", "mykey", "1234"]);
        for (a, b, want) in
            [("0", "2", "123"), ("0", "-1", "1234"), ("-3", "-1", "234"), ("5", "3", ""), ("3", "5000", "4")]
        {
            assert_eq!(run(&mut t, &["getrange", "mykey", a, b]), bulk(want), "{a} {b}");
        }
        assert_eq!(run(&mut t, &["substr", "mykey", "1", "2"]), bulk("23"));
        run(&mut t, &["set", "empty", ""]);
        assert_eq!(run(&mut t, &["getrange", "empty", "0", "-1"]), bulk(""));
        assert_eq!(run(&mut t, &["getrange", "mykey", "a", "1"]), err(&CmdError::NOT_INT));
        assert_eq!(run(&mut t, &["getrange", "nokey", "0", "b"]), err(&CmdError::NOT_INT));
        // Against a model: Tcl's `string range` as the Redis suite does.
        let s: Vec<u8> = (0..300u32).map(|i| (i * 7 % 256) as u8).collect();
        runb(&mut t, &[b"set", b"bin", &s]);
        for start in (-310i64..310).step_by(7) {
            for end in (-310i64..310).step_by(11) {
                let got =
                    runb(&mut t, &[b"getrange", b"bin", start.to_string().as_bytes(), end.to_string().as_bytes()]);
                let want = match clamp_range(start, end, s.len()) {
                    Some((a, b)) => [format!("${}\r\n", b - a + 1).as_bytes(), &s[a..=b], b"\r\n"].concat(),
                    None => b"$0\r\n\r\n".to_vec(),
                };
                assert_eq!(got, want, "{start} {end}");
            }
        }
    }

    #[test]
    fn setrange_cases() {
        let mut t = frozen();
        assert_eq!(run(&mut t, &["setrange", "mykey", "0", "foo"]), int(3));
        assert_eq!(run(&mut t, &["get", "mykey"]), bulk("foo"));
        assert_eq!(enc(&mut t, "mykey"), "raw");
        t.s.dbs[0].remove(b"mykey");
        assert_eq!(run(&mut t, &["setrange", "mykey", "0", ""]), int(0));
        assert!(!exists(&mut t, "mykey"));
        assert_eq!(run(&mut t, &["setrange", "mykey", "1", "foo"]), int(4));
        assert_eq!(raw(&mut t, "mykey"), b"\0foo");
        for (off, val, len, want) in
            [("0", "b", 3, "boo"), ("0", "", 3, "foo"), ("1", "b", 3, "fbo"), ("4", "bar", 7, "foo\0bar")]
        {
            run(&mut t, &["set", "mykey", "foo"]);
            assert_eq!(run(&mut t, &["setrange", "mykey", off, val]), int(len));
            assert_eq!(raw(&mut t, "mykey"), want.as_bytes());
        }
        for (off, val, len, want, e) in [
            ("0", "2", 4, "2234", "raw"),
            ("0", "", 4, "1234", "int"),
            ("1", "3", 4, "1334", "raw"),
            ("5", "2", 6, "1234\u{0}2", "raw"),
        ] {
            run(&mut t, &["set", "mykey", "1234"]);
            assert_eq!(run(&mut t, &["setrange", "mykey", off, val]), int(len));
            assert_eq!(enc(&mut t, "mykey"), e);
            assert_eq!(raw(&mut t, "mykey"), want.as_bytes());
        }
        t.s.dbs[0].remove(b"mykey");
        let limit = (512 * 1024 * 1024 - 4).to_string();
        assert_eq!(run(&mut t, &["setrange", "mykey", &limit, "world"]), err(&CmdError::STRING_MAX));
        run(&mut t, &["set", "mykey", "hello"]);
        assert_eq!(run(&mut t, &["setrange", "mykey", "-1", "world"]), err(&OFFSET_RANGE));
        assert_eq!(run(&mut t, &["setrange", "mykey", &limit, "world"]), err(&CmdError::STRING_MAX));
        assert_eq!(run(&mut t, &["setrange", "mykey", "x", "world"]), err(&CmdError::NOT_INT));
        for huge in ["9223372036854775807", "2147483647"] {
            assert_eq!(run(&mut t, &["setrange", "K", huge, "A"]), err(&CmdError::STRING_MAX));
        }
        t.s.dbs[0].set_expire(b"mykey", T0 + 1000);
        assert_eq!(run(&mut t, &["setrange", "mykey", "0", "J"]), int(5));
        assert_eq!(expiry(&mut t, "mykey"), T0 + 1000);
        clock::clear_mock();
    }

    const RNA1: &str = "CACCTTCCCAGGTAACAAACCAACCAACTTTCGATCTCTTGTAGATCTGTTCTCTAAACGAACTTTAAAATCTGTGTGGCTGTCACTCGGCTGCATGCTTAGTGCACTCACGCAGTATAATTAATAACTAATTACTGTCGTTGACAGGACACGAGTAACTCGTCTATCTTCTGCAGGCTGCTTACGGTTTCGTCCGTGTTGCAGCCGATCATCAGCACATCTAGGTTTCGTCCGGGTGTG";
    const RNA2: &str = "ATTAAAGGTTTATACCTTCCCAGGTAACAAACCAACCAACTTTCGATCTCTTGTAGATCTGTTCTCTAAACGAACTTTAAAATCTGTGTGGCTGTCACTCGGCTGCATGCTTAGTGCACTCACGCAGTATAATTAATAACTAATTACTGTCGTTGACAGGACACGAGTAACTCGTCTATCTTCTGCAGGCTGCTTACGGTTTCGTCCGTGTTGCAGCCGATCATCAGCACATCTAGGTTT";
    const RNALCS: &str = "ACCTTCCCAGGTAACAAACCAACCAACTTTCGATCTCTTGTAGATCTGTTCTCTAAACGAACTTTAAAATCTGTGTGGCTGTCACTCGGCTGCATGCTTAGTGCACTCACGCAGTATAATTAATAACTAATTACTGTCGTTGACAGGACACGAGTAACTCGTCTATCTTCTGCAGGCTGCTTACGGTTTCGTCCGTGTTGCAGCCGATCATCAGCACATCTAGGTTT";

    /// The RESP of one LCS IDX match.
    fn lcs_match(a: (i64, i64), b: (i64, i64), len: Option<i64>) -> String {
        let mut s =
            format!("*{}\r\n*2\r\n:{}\r\n:{}\r\n*2\r\n:{}\r\n:{}\r\n", 2 + len.is_some() as usize, a.0, a.1, b.0, b.1);
        if let Some(l) = len {
            s.push_str(&int(l));
        }
        s
    }

    #[test]
    fn lcs_cases() {
        let mut t = new();
        run(&mut t, &["set", "virus1", RNA1]);
        run(&mut t, &["set", "virus2", RNA2]);
        assert_eq!(run(&mut t, &["lcs", "virus1", "virus2"]), bulk(RNALCS));
        assert_eq!(run(&mut t, &["LCS", "virus1", "virus2", "LEN"]), int(RNALCS.len() as i64));
        let ranges = [
            ((238, 238), (239, 239), 1),
            ((236, 236), (238, 238), 1),
            ((229, 230), (236, 237), 2),
            ((224, 224), (235, 235), 1),
            ((1, 222), (13, 234), 222),
        ];
        let idx = |withlen: bool, only: &[usize]| {
            let mut s = format!("*4\r\n{}*{}\r\n", bulk("matches"), only.len());
            for &i in only {
                let (a, b, l) = ranges[i];
                s.push_str(&lcs_match(a, b, withlen.then_some(l)));
            }
            s.push_str(&bulk("len"));
            s.push_str(&int(227));
            s
        };
        assert_eq!(run(&mut t, &["lcs", "virus1", "virus2", "idx"]), idx(false, &[0, 1, 2, 3, 4]));
        assert_eq!(run(&mut t, &["lcs", "virus1", "virus2", "idx", "withmatchlen"]), idx(true, &[0, 1, 2, 3, 4]));
        assert_eq!(
            run(&mut t, &["lcs", "virus1", "virus2", "IDX", "WITHMATCHLEN", "MINMATCHLEN", "5"]),
            idx(true, &[4])
        );
        assert_eq!(run(&mut t, &["lcs", "virus1", "virus2", "idx", "minmatchlen", "-3"]), idx(false, &[0, 1, 2, 3, 4]));
        // RESP3 makes the IDX reply a map.
        t.s.clients[t.me].resp = 3;
        assert!(run(&mut t, &["lcs", "virus1", "virus2", "idx"]).starts_with("%2\r\n$7\r\nmatches\r\n*5\r\n"));
        t.s.clients[t.me].resp = 2;
        run(&mut t, &["set", "a", "ohmytext"]);
        run(&mut t, &["set", "b", "mynewtext"]);
        assert_eq!(run(&mut t, &["lcs", "a", "b"]), bulk("mytext"));
        assert_eq!(run(&mut t, &["lcs", "a", "nokey"]), bulk(""));
        assert_eq!(run(&mut t, &["lcs", "nokey", "nokey2", "len"]), int(0));
        assert_eq!(
            run(&mut t, &["lcs", "nokey", "nokey2", "idx"]),
            format!("*4\r\n{}*0\r\n{}:0\r\n", bulk("matches"), bulk("len"))
        );
        assert_eq!(run(&mut t, &["lcs", "a", "b", "len", "idx"]), err(&LCS_LEN_AND_IDX));
        assert_eq!(run(&mut t, &["lcs", "a", "b", "foo"]), err(&CmdError::SYNTAX));
        assert_eq!(run(&mut t, &["lcs", "a", "b", "minmatchlen"]), err(&CmdError::SYNTAX));
        assert_eq!(run(&mut t, &["lcs", "a", "b", "minmatchlen", "x"]), err(&CmdError::NOT_INT));
        assert_eq!(run(&mut t, &["lcs", "a"]), errs("ERR wrong number of arguments for 'lcs' command"));
        t.s.config.proto_max_bulk_len = 100;
        assert_eq!(run(&mut t, &["lcs", "a", "b"]), err(&LCS_OVER_LIMIT));
    }

    #[test]
    fn setbit_cases() {
        let mut t = frozen();
        assert_eq!(run(&mut t, &["setbit", "mykey", "1", "1"]), int(0));
        assert_eq!(raw(&mut t, "mykey"), bits("01000000"));
        assert_eq!(enc(&mut t, "mykey"), "raw");
        run(&mut t, &["set", "mykey", "@"]);
        assert_eq!(run(&mut t, &["setbit", "mykey", "2", "1"]), int(0));
        assert_eq!(raw(&mut t, "mykey"), bits("01100000"));
        assert_eq!(run(&mut t, &["setbit", "mykey", "1", "0"]), int(1));
        assert_eq!(raw(&mut t, "mykey"), bits("00100000"));
        run(&mut t, &["set", "mykey", "1"]);
        assert_eq!(enc(&mut t, "mykey"), "int");
        assert_eq!(run(&mut t, &["setbit", "mykey", "6", "1"]), int(0));
        assert_eq!(raw(&mut t, "mykey"), bits("00110011"));
        assert_eq!(enc(&mut t, "mykey"), "raw");
        assert_eq!(run(&mut t, &["setbit", "mykey", "2", "0"]), int(1));
        assert_eq!(raw(&mut t, "mykey"), bits("00010011"));
        let range = err(&CmdError::BIT_OFFSET);
        assert_eq!(run(&mut t, &["setbit", "mykey", &(4u64 << 30).to_string(), "1"]), range);
        assert_eq!(run(&mut t, &["setbit", "mykey", "-1", "1"]), range);
        assert_eq!(run(&mut t, &["setbit", "mykey", "#1", "1"]), range);
        assert_eq!(run(&mut t, &["setbit", "mykey", &(512u64 << 23).to_string(), "0"]), range);
        for v in ["-1", "2", "10", "20", "x", "01"] {
            assert_eq!(run(&mut t, &["setbit", "mykey", "0", v]), err(&CmdError::NOT_BIT), "{v}");
        }
        // A smaller proto-max-bulk-len lowers the limit.
        t.s.config.proto_max_bulk_len = 10;
        assert_eq!(run(&mut t, &["setbit", "mykey", "80", "1"]), range);
        assert_eq!(run(&mut t, &["setbit", "mykey", "79", "1"]), int(0));
        // Only flips and growth count as changes; the TTL stays.
        t.s.dbs[0].set_expire(b"mykey", T0 + 1000);
        let d = t.s.persist.dirty;
        run(&mut t, &["setbit", "mykey", "79", "1"]);
        assert_eq!(t.s.persist.dirty, d);
        run(&mut t, &["setbit", "mykey", "79", "0"]);
        assert_eq!(t.s.persist.dirty, d + 1);
        assert_eq!(expiry(&mut t, "mykey"), T0 + 1000);
        run(&mut t, &["setbit", "fresh", "0", "0"]);
        assert_eq!(t.s.persist.dirty, d + 2);
        clock::clear_mock();
    }

    #[test]
    fn setbit_fuzz_against_model() {
        let mut t = new();
        let mut model = vec![0u8; 0];
        let mut seed = 12345u64;
        for _ in 0..2000 {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let bit = (seed >> 33) % 2048;
            let val = (seed >> 20) & 1;
            let byte = (bit / 8) as usize;
            if model.len() <= byte {
                model.resize(byte + 1, 0);
            }
            let mask = 1 << (7 - bit % 8);
            let old = (model[byte] & mask != 0) as i64;
            if val == 1 {
                model[byte] |= mask
            } else {
                model[byte] &= !mask
            }
            assert_eq!(run(&mut t, &["setbit", "k", &bit.to_string(), &val.to_string()]), int(old));
            assert_eq!(raw(&mut t, "k"), model);
        }
    }

    #[test]
    fn getbit_cases() {
        let mut t = new();
        assert_eq!(run(&mut t, &["getbit", "mykey", "0"]), int(0));
        run(&mut t, &["set", "mykey", "`"]);
        for (o, b) in [("0", 0), ("1", 1), ("2", 1), ("3", 0), ("8", 0), ("100", 0), ("10000", 0)] {
            assert_eq!(run(&mut t, &["getbit", "mykey", o]), int(b), "{o}");
        }
        run(&mut t, &["set", "mykey", "1"]);
        for (o, b) in [("0", 0), ("1", 0), ("2", 1), ("3", 1), ("7", 1), ("8", 0)] {
            assert_eq!(run(&mut t, &["getbit", "mykey", o]), int(b), "{o}");
        }
        assert_eq!(enc(&mut t, "mykey"), "int");
        assert_eq!(run(&mut t, &["getbit", "mykey", "-1"]), err(&CmdError::BIT_OFFSET));
        assert_eq!(run(&mut t, &["getbit", "nokey", "x"]), err(&CmdError::BIT_OFFSET));
    }

    fn count_bits(s: &[u8], start_bit: usize, end_bit: usize) -> i64 {
        (start_bit..=end_bit).filter(|&i| i / 8 < s.len() && s[i / 8] & (0x80 >> (i % 8)) != 0).count() as i64
    }

    #[test]
    fn bitcount_cases() {
        let mut t = new();
        assert_eq!(run(&mut t, &["bitcount", "no-key"]), int(0));
        assert_eq!(run(&mut t, &["bitcount", "no-key", "0", "1000", "bit"]), int(0));
        // A missing key answers 0 before the arguments are looked at.
        assert_eq!(run(&mut t, &["bitcount", "no-key", "0"]), int(0));
        run(&mut t, &["set", "str", "xxxx"]);
        assert_eq!(run(&mut t, &["bitcount", "str", "4", "10"]), int(0));
        assert_eq!(run(&mut t, &["bitcount", "str", "32", "87", "bit"]), int(0));
        assert_eq!(run(&mut t, &["bitcount", "str", "-6", "-7"]), int(0));
        assert_eq!(run(&mut t, &["bitcount", "str", "-6", "-15", "bit"]), int(0));
        for v in [&b""[..], b"\xaa", b"\x00\x00\xff", b"foobar", b"123"] {
            runb(&mut t, &[b"set", b"str", v]);
            let n = count_bits(v, 0, v.len() * 8);
            assert_eq!(runb(&mut t, &[b"bitcount", b"str"]), int(n).as_bytes());
            assert_eq!(runb(&mut t, &[b"bitcount", b"str", b"0", b"-1", b"bit"]), int(n).as_bytes());
        }
        run(&mut t, &["set", "s", "foobar"]);
        let s = b"foobar";
        assert_eq!(run(&mut t, &["bitcount", "s", "1", "-2"]), int(count_bits(b"ooba", 0, 31)));
        assert_eq!(run(&mut t, &["bitcount", "s", "-2", "1"]), int(0));
        assert_eq!(run(&mut t, &["bitcount", "s", "0", "1000"]), int(count_bits(s, 0, 47)));
        for (a, b, from, to) in [
            ("10", "14", 10, 14),
            ("3", "14", 3, 14),
            ("3", "29", 3, 29),
            ("10", "-34", 10, 14),
            ("3", "-34", 3, 14),
            ("3", "-19", 3, 29),
            ("0", "1000", 0, 47),
        ] {
            assert_eq!(run(&mut t, &["bitcount", "s", a, b, "BIT"]), int(count_bits(s, from, to)), "{a} {b}");
        }
        assert_eq!(run(&mut t, &["bitcount", "s", "-2", "1", "bit"]), int(0));
        assert_eq!(run(&mut t, &["bitcount", "s", "0", "0", "byte"]), int(count_bits(s, 0, 7)));
        assert_eq!(run(&mut t, &["bitcount", "s", "0"]), err(&CmdError::SYNTAX));
        assert_eq!(run(&mut t, &["bitcount", "s", "0", "1", "hello"]), err(&CmdError::SYNTAX));
        assert_eq!(run(&mut t, &["bitcount", "s", "0", "1", "bit", "x"]), err(&CmdError::SYNTAX));
        assert_eq!(run(&mut t, &["bitcount", "s", "a", "1"]), err(&CmdError::NOT_INT));
        run(&mut t, &["set", "foo", ""]);
        run(&mut t, &["setbit", "foo", "0", "1"]);
        assert_eq!(run(&mut t, &["bitcount", "foo", "0", "4294967296"]), int(1));
        run(&mut t, &["set", "str", "ab"]);
        assert_eq!(run(&mut t, &["bitcount", "str", "1", "-1"]), int(3));
        run(&mut t, &["set", "str", "__PPxxxxxxxxxxxxxxxxRR__"]);
        assert_eq!(run(&mut t, &["bitcount", "str", "2", "-3"]), int(74));
        // Every bit range of a random string against the model.
        let v: Vec<u8> = (0..40u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
        runb(&mut t, &[b"set", b"r", &v]);
        for a in (0..320).step_by(3) {
            for b in (a..330).step_by(5) {
                let got =
                    runb(&mut t, &[b"bitcount", b"r", a.to_string().as_bytes(), b.to_string().as_bytes(), b"bit"]);
                assert_eq!(got, int(count_bits(&v, a, b.min(319))).as_bytes(), "{a} {b}");
            }
        }
    }

    /// Model of BITPOS with an explicit bit range (no zero padding past `end`).
    fn model_bitpos(s: &[u8], bit: bool, start: usize, end: usize) -> i64 {
        (start..=end.min(s.len() * 8 - 1))
            .find(|&i| (s[i / 8] & (0x80 >> (i % 8)) != 0) == bit)
            .map_or(-1, |i| i as i64)
    }

    #[test]
    fn bitpos_cases() {
        let mut t = new();
        assert_eq!(run(&mut t, &["bitpos", "str", "0"]), int(0));
        assert_eq!(run(&mut t, &["bitpos", "str", "0", "0", "-1", "bit"]), int(0));
        assert_eq!(run(&mut t, &["bitpos", "str", "1"]), int(-1));
        assert_eq!(run(&mut t, &["bitpos", "str", "1", "0", "-1"]), int(-1));
        let cases: &[(&[u8], &[&str], i64)] = &[
            (b"\xff\xf0\x00", &["0"], 12),
            (b"\xff\xf0\x00", &["0", "0", "-1", "bit"], 12),
            (b"\x00\x0f\x00", &["1"], 12),
            (b"\x00\x0f\x00", &["1", "0", "-1", "bit"], 12),
            (b"\xff\xf0\x00", &["0", "1"], 12),
            (b"\xff\xf0\x00", &["0", "1", "-1", "bit"], 12),
            (b"\x00\x0f\xff", &["1", "1"], 12),
            (b"\x00\x0f\xff", &["1", "1", "-1", "bit"], 12),
            (b"\x00\xff\x00", &["0", "0", "-1"], 0),
            (b"\x00\xff\x00", &["0", "1", "-1"], 16),
            (b"\x00\xff\x00", &["0", "2", "-1"], 16),
            (b"\x00\xff\x00", &["0", "2", "200"], 16),
            (b"\x00\xff\x00", &["0", "1", "1"], -1),
            (b"\x00\xff\x00", &["0", "0", "-1", "bit"], 0),
            (b"\x00\xff\x00", &["0", "8", "-1", "bit"], 16),
            (b"\x00\xff\x00", &["0", "16", "-1", "bit"], 16),
            (b"\x00\xff\x00", &["0", "16", "200", "bit"], 16),
            (b"\x00\xff\x00", &["0", "8", "8", "bit"], -1),
            (b"\x00\xff\x00", &["1", "0", "-1"], 8),
            (b"\x00\xff\x00", &["1", "1", "-1"], 8),
            (b"\x00\xff\x00", &["1", "2", "-1"], -1),
            (b"\x00\xff\x00", &["1", "2", "200"], -1),
            (b"\x00\xff\x00", &["1", "1", "1"], 8),
            (b"\x00\xff\x00", &["1", "0", "-1", "bit"], 8),
            (b"\x00\xff\x00", &["1", "8", "-1", "bit"], 8),
            (b"\x00\xff\x00", &["1", "16", "-1", "bit"], -1),
            (b"\x00\xff\x00", &["1", "16", "200", "bit"], -1),
            (b"\x00\xff\x00", &["1", "8", "8", "bit"], 8),
            (b"\xff\xff\xff", &["0"], 24),
            (b"\xff\xff\xff", &["0", "0"], 24),
            (b"\xff\xff\xff", &["0", "0", "-1"], -1),
            (b"\xff\xff\xff", &["0", "0", "-1", "bit"], -1),
            (b"\xff\xff\xff", &["0", "2", "1"], -1),
        ];
        for (v, args, want) in cases {
            runb(&mut t, &[b"set", b"str", v]);
            let mut a: Vec<&[u8]> = vec![b"bitpos", b"str"];
            a.extend(args.iter().map(|s| s.as_bytes()));
            assert_eq!(runb(&mut t, &a), int(*want).as_bytes(), "{v:?} {args:?}");
        }
        // Unaligned prefix + full words + remainder.
        let mut v = vec![0xffu8; 27];
        v.push(0x0f);
        runb(&mut t, &[b"set", b"str", &v]);
        for start in ["1", "2", "3", "4", "5", "6", "7", "8"] {
            assert_eq!(run(&mut t, &["bitpos", "str", "0", start]), int(216));
        }
        for start in ["1", "9", "17", "25", "33", "41", "49", "57", "65"] {
            assert_eq!(run(&mut t, &["bitpos", "str", "0", start, "-1", "bit"]), int(216));
        }
        let v: Vec<u8> = v.iter().map(|b| !b).collect();
        runb(&mut t, &[b"set", b"str", &v]);
        assert_eq!(run(&mut t, &["bitpos", "str", "1"]), int(216));
        assert_eq!(run(&mut t, &["bitpos", "str", "1", "33", "-1", "bit"]), int(216));
        assert_eq!(run(&mut t, &["bitpos", "str", "2"]), err(&BIT_ARG));
        assert_eq!(run(&mut t, &["bitpos", "str", "x"]), err(&CmdError::NOT_INT));
        assert_eq!(run(&mut t, &["bitpos", "str", "1", "0", "1", "foo"]), err(&CmdError::SYNTAX));
        assert_eq!(run(&mut t, &["bitpos", "str", "1", "0", "1", "bit", "x"]), err(&CmdError::SYNTAX));
        assert_eq!(run(&mut t, &["bitpos", "str", "1", "a"]), err(&CmdError::NOT_INT));
        // Bit ranges against the model, for both bit values.
        let v: Vec<u8> = (0..10u32).map(|i| (i.wrapping_mul(2654435761) >> 11) as u8).collect();
        runb(&mut t, &[b"set", b"r", &v]);
        for bit in [false, true] {
            for a in 0..80usize {
                for b in a..85 {
                    let got = runb(
                        &mut t,
                        &[
                            b"bitpos",
                            b"r",
                            if bit { b"1" } else { b"0" },
                            a.to_string().as_bytes(),
                            b.to_string().as_bytes(),
                            b"bit",
                        ],
                    );
                    assert_eq!(got, int(model_bitpos(&v, bit, a, b)).as_bytes(), "{bit} {a} {b}");
                }
            }
        }
    }

    #[test]
    fn bitop_cases() {
        let mut t = frozen();
        run(&mut t, &["set", "s", ""]);
        assert_eq!(run(&mut t, &["bitop", "not", "dest", "s"]), int(0));
        assert_eq!(run(&mut t, &["get", "dest"]), NIL);
        runb(&mut t, &[b"set", b"s", b"\xaa\x00\xff\x55"]);
        assert_eq!(run(&mut t, &["bitop", "not", "dest", "s"]), int(4));
        assert_eq!(raw(&mut t, "dest"), b"\x55\xff\x00\xaa");
        assert_eq!(enc(&mut t, "dest"), "raw");
        run(&mut t, &["bitop", "not", "s", "s"]);
        assert_eq!(raw(&mut t, "s"), b"\x55\xff\x00\xaa");
        runb(&mut t, &[b"set", b"a", b"\x01\x02\xff"]);
        for op in ["and", "or", "xor"] {
            run(&mut t, &["bitop", op, "res", "a"]);
            assert_eq!(raw(&mut t, "res"), b"\x01\x02\xff", "{op}");
        }
        run(&mut t, &["bitop", "and", "res1", "no-suck-key", "a"]);
        run(&mut t, &["bitop", "or", "res2", "no-suck-key", "a", "no-such-key"]);
        run(&mut t, &["bitop", "xor", "res3", "no-such-key", "a"]);
        assert_eq!(raw(&mut t, "res1"), b"\x00\x00\x00");
        assert_eq!(raw(&mut t, "res2"), b"\x01\x02\xff");
        assert_eq!(raw(&mut t, "res3"), b"\x01\x02\xff");
        runb(&mut t, &[b"set", b"a", b"\x01\x02\xff\xff"]);
        runb(&mut t, &[b"set", b"b", b"\x01\x02\xff"]);
        assert_eq!(run(&mut t, &["bitop", "AND", "res1", "a", "b"]), int(4));
        run(&mut t, &["bitop", "Or", "res2", "a", "b"]);
        run(&mut t, &["bitop", "xOr", "res3", "a", "b"]);
        assert_eq!(raw(&mut t, "res1"), b"\x01\x02\xff\x00");
        assert_eq!(raw(&mut t, "res2"), b"\x01\x02\xff\xff");
        assert_eq!(raw(&mut t, "res3"), b"\x00\x00\x00\xff");
        run(&mut t, &["bitop", "and", "res1", "b", "a"]);
        assert_eq!(raw(&mut t, "res1"), b"\x01\x02\xff\x00");
        run(&mut t, &["set", "a", "1"]);
        run(&mut t, &["set", "b", "2"]);
        run(&mut t, &["bitop", "xor", "dest", "a", "b", "a"]);
        assert_eq!(run(&mut t, &["get", "dest"]), bulk("2"));
        runb(&mut t, &[b"set", b"z", &[0u8; 32]]);
        assert_eq!(run(&mut t, &["bitop", "or", "x", "z", "nokey"]), int(32));
        // Against the model for several sources of mixed lengths.
        let srcs: Vec<Vec<u8>> =
            (0..5u32).map(|k| (0..(k * 7 + 3)).map(|i| (i * 37 + k * 101) as u8).collect()).collect();
        for (k, s) in srcs.iter().enumerate() {
            runb(&mut t, &[b"set", format!("v{k}").as_bytes(), s]);
        }
        let maxlen = srcs.iter().map(|s| s.len()).max().unwrap();
        let byte = |k: usize, i: usize| srcs[k].get(i).copied().unwrap_or(0);
        for (op, f) in [("and", (|a, b| a & b) as fn(u8, u8) -> u8), ("or", |a, b| a | b), ("xor", |a, b| a ^ b)] {
            run(&mut t, &["bitop", op, "out", "v0", "v1", "v2", "v3", "v4"]);
            let want: Vec<u8> = (0..maxlen).map(|i| (1..5).fold(byte(0, i), |acc, k| f(acc, byte(k, i)))).collect();
            assert_eq!(raw(&mut t, "out"), want, "{op}");
        }
        // The target loses its TTL, or the key when the result is empty.
        t.s.dbs[0].set_expire(b"out", T0 + 1000);
        run(&mut t, &["bitop", "or", "out", "v0"]);
        assert_eq!(expiry(&mut t, "out"), 0);
        let d = t.s.persist.dirty;
        assert_eq!(run(&mut t, &["bitop", "or", "out", "nokey"]), int(0));
        assert!(!exists(&mut t, "out"));
        assert_eq!(t.s.persist.dirty, d + 1);
        assert_eq!(run(&mut t, &["bitop", "or", "out", "nokey"]), int(0));
        assert_eq!(t.s.persist.dirty, d + 1);
        assert_eq!(run(&mut t, &["bitop", "not", "dest", "a", "b"]), err(&BITOP_NOT_ARITY));
        assert_eq!(run(&mut t, &["bitop", "nand", "dest", "a"]), err(&CmdError::SYNTAX));
        assert_eq!(run(&mut t, &["bitop", "and", "dest"]), errs("ERR wrong number of arguments for 'bitop' command"));
        clock::clear_mock();
    }

    #[test]
    fn bitfield_basics() {
        let mut t = new();
        let arr = |items: &[&str]| format!("*{}\r\n{}", items.len(), items.concat());
        assert_eq!(run(&mut t, &["bitfield", "bits", "set", "i8", "0", "-100"]), arr(&[":0\r\n"]));
        assert_eq!(run(&mut t, &["bitfield", "bits", "set", "i8", "0", "101"]), arr(&[":-100\r\n"]));
        assert_eq!(run(&mut t, &["bitfield", "bits", "get", "i8", "0"]), arr(&[":101\r\n"]));
        assert_eq!(enc(&mut t, "bits"), "raw");
        t.s.dbs[0].remove(b"bits");
        assert_eq!(run(&mut t, &["bitfield", "bits", "set", "u8", "0", "255"]), arr(&[":0\r\n"]));
        assert_eq!(run(&mut t, &["bitfield", "bits", "set", "u8", "0", "100"]), arr(&[":255\r\n"]));
        assert_eq!(run(&mut t, &["bitfield", "bits", "get", "u8", "0"]), arr(&[":100\r\n"]));
        t.s.dbs[0].remove(b"bits");
        assert_eq!(
            run(&mut t, &["bitfield", "bits", "set", "i8", "0", "255", "set", "i8", "0", "100", "get", "i8", "0"]),
            arr(&[":0\r\n", ":-1\r\n", ":100\r\n"])
        );
        t.s.dbs[0].remove(b"bits");
        assert_eq!(
            run(&mut t, &["bitfield", "bits", "set", "u8", "0", "255", "incrby", "u8", "0", "100", "get", "u8", "0"]),
            arr(&[":0\r\n", ":99\r\n", ":99\r\n"])
        );
        t.s.dbs[0].remove(b"bits");
        assert_eq!(run(&mut t, &["bitfield", "bits"]), "*0\r\n");
        assert!(!exists(&mut t, "bits"));
        run(&mut t, &["bitfield", "bits", "set", "u8", "#0", "65"]);
        run(&mut t, &["bitfield", "bits", "set", "u8", "#1", "66"]);
        run(&mut t, &["bitfield", "bits", "set", "u8", "#2", "67"]);
        assert_eq!(run(&mut t, &["get", "bits"]), bulk("ABC"));
        run(&mut t, &["bitfield", "bits", "set", "u8", "#0", "10"]);
        assert_eq!(
            run(&mut t, &["bitfield", "bits", "incrby", "u8", "#0", "100", "incrby", "u8", "#0", "100"]),
            arr(&[":110\r\n", ":210\r\n"])
        );
        let ow = |t: &mut T, args: &[&str]| {
            let mut a = vec!["bitfield", "bits"];
            a.extend_from_slice(args);
            run(t, &a)
        };
        run(&mut t, &["bitfield", "bits", "set", "u8", "#0", "100"]);
        assert_eq!(ow(&mut t, &["overflow", "wrap", "incrby", "u8", "#0", "257"]), arr(&[":101\r\n"]));
        assert_eq!(ow(&mut t, &["overflow", "wrap", "incrby", "u8", "#0", "255"]), arr(&[":100\r\n"]));
        assert_eq!(ow(&mut t, &["overflow", "sat", "incrby", "u8", "#0", "257"]), arr(&[":255\r\n"]));
        assert_eq!(ow(&mut t, &["overflow", "sat", "incrby", "u8", "#0", "-255"]), arr(&[":0\r\n"]));
        run(&mut t, &["bitfield", "bits", "set", "i8", "#0", "100"]);
        assert_eq!(ow(&mut t, &["overflow", "wrap", "incrby", "i8", "#0", "257"]), arr(&[":101\r\n"]));
        assert_eq!(ow(&mut t, &["overflow", "wrap", "incrby", "i8", "#0", "255"]), arr(&[":100\r\n"]));
        assert_eq!(ow(&mut t, &["overflow", "sat", "incrby", "i8", "#0", "257"]), arr(&[":127\r\n"]));
        assert_eq!(ow(&mut t, &["overflow", "sat", "incrby", "i8", "#0", "-255"]), arr(&[":-128\r\n"]));
        assert_eq!(ow(&mut t, &["overflow", "fail", "incrby", "i8", "#0", "-1"]), arr(&["$-1\r\n"]));
        assert_eq!(ow(&mut t, &["get", "i8", "#0"]), arr(&[":-128\r\n"]));
        // OVERFLOW applies to the operations after it only.
        assert_eq!(
            ow(&mut t, &["incrby", "i8", "#0", "-1", "overflow", "fail", "incrby", "i8", "#0", "-1"]),
            arr(&[":127\r\n", ":126\r\n"])
        );
        run(&mut t, &["set", "bits", "1"]);
        assert_eq!(ow(&mut t, &["get", "u1", "0"]), arr(&[":0\r\n"]));
        assert_eq!(
            ow(&mut t, &["get", "u8", "0", "get", "i64", "4", "get", "u63", "1000"]),
            arr(&[":49\r\n", ":1152921504606846976\r\n", ":0\r\n"])
        );
        for _ in 0..3 {
            t.s.dbs[0].remove(b"mystring");
            assert_eq!(
                run(
                    &mut t,
                    &[
                        "BITFIELD", "mystring", "SET", "i8", "0", "10", "SET", "i8", "64", "10", "INCRBY", "i8", "10",
                        "99900"
                    ]
                ),
                arr(&[":0\r\n", ":0\r\n", ":60\r\n"])
            );
        }
        t.s.clients[t.me].resp = 3;
        assert_eq!(ow(&mut t, &["overflow", "fail", "set", "u2", "0", "4"]), arr(&["_\r\n"]));
    }

    #[test]
    fn bitfield_errors() {
        let mut t = new();
        let typ = err(&BITFIELD_TYPE);
        for ty in ["u64", "i65", "i0", "u0", "x8", "i", "I8", "u-1", "i08"] {
            assert_eq!(run(&mut t, &["bitfield", "k", "get", ty, "0"]), typ, "{ty}");
        }
        assert_eq!(run(&mut t, &["bitfield", "k", "get", "i64", "0"]), "*1\r\n:0\r\n");
        let off = err(&CmdError::BIT_OFFSET);
        for o in ["-1", "x", "#-1", "##1", &(4u64 << 32).to_string(), "#536870912"] {
            assert_eq!(run(&mut t, &["bitfield", "k", "get", "u8", o]), off, "{o}");
        }
        assert_eq!(run(&mut t, &["bitfield", "k", "overflow", "foo"]), err(&BITFIELD_OVERFLOW));
        assert_eq!(run(&mut t, &["bitfield", "k", "foo"]), err(&CmdError::SYNTAX));
        assert_eq!(run(&mut t, &["bitfield", "k", "get", "u8"]), err(&CmdError::SYNTAX));
        assert_eq!(run(&mut t, &["bitfield", "k", "set", "u8", "0"]), err(&CmdError::SYNTAX));
        assert_eq!(run(&mut t, &["bitfield", "k", "overflow"]), err(&CmdError::SYNTAX));
        assert_eq!(run(&mut t, &["bitfield", "k", "set", "u8", "0", "x"]), err(&CmdError::NOT_INT));
        assert!(!exists(&mut t, "k"));
        run(&mut t, &["bitfield", "k", "set", "u8", "0", "100"]);
        assert_eq!(run(&mut t, &["bitfield_ro", "k", "get", "u8", "0"]), "*1\r\n:100\r\n");
        assert_eq!(run(&mut t, &["bitfield_ro", "k"]), "*0\r\n");
        assert_eq!(
            run(&mut t, &["bitfield_ro", "k", "set", "u8", "0", "100", "get", "u8", "0"]),
            err(&BITFIELD_RO_WRITE)
        );
        assert_eq!(run(&mut t, &["bitfield_ro", "k", "incrby", "u8", "0", "1"]), err(&BITFIELD_RO_WRITE));
        assert_eq!(run(&mut t, &["bitfield_ro", "nokey", "get", "i8", "0"]), "*1\r\n:0\r\n");
        assert_eq!(run(&mut t, &["bitfield_ro", "k", "overflow", "sat"]), "*0\r\n");
    }

    #[test]
    fn bitfield_dirty_counts_changes() {
        let mut t = new();
        let d = t.s.persist.dirty;
        run(&mut t, &["setbit", "foo", "0", "0"]);
        run(&mut t, &["bitfield", "foo2", "set", "i5", "0", "0"]);
        assert_eq!(t.s.persist.dirty, d + 2);
        run(&mut t, &["setbit", "foo", "0", "0"]);
        run(&mut t, &["bitfield", "foo2", "set", "i5", "0", "0"]);
        assert_eq!(t.s.persist.dirty, d + 2);
        for v in ["1", "1", "0", "0"] {
            run(&mut t, &["setbit", "foo", "0", v]);
            run(&mut t, &["bitfield", "foo2", "set", "i5", "0", v]);
        }
        assert_eq!(t.s.persist.dirty, d + 6);
        run(&mut t, &["bitfield", "foo3", "incrby", "i5", "0", "1"]);
        run(&mut t, &["bitfield", "foo3", "incrby", "i5", "0", "1"]);
        assert_eq!(t.s.persist.dirty, d + 8);
        run(&mut t, &["setbit", "foo", "90", "0"]);
        run(&mut t, &["bitfield", "foo2", "set", "i5", "90", "0"]);
        assert_eq!(t.s.persist.dirty, d + 10);
        // One per changing operation.
        run(&mut t, &["bitfield", "foo2", "set", "u8", "0", "1", "set", "u8", "8", "1", "set", "u8", "8", "1"]);
        assert_eq!(t.s.persist.dirty, d + 12);
    }

    #[test]
    fn other_types_get_wrongtype() {
        let mut t = new();
        let list = || Value::List(crate::types::list::List::new());
        let wrong = err(&CmdError::WRONGTYPE);
        t.s.dbs[0].set(b"l", list(), false);
        run(&mut t, &["set", "s", "abc"]);
        for args in [
            &["get", "l"][..],
            &["set", "l", "v", "get"],
            &["set", "l", "v", "nx", "get"],
            &["getex", "l"],
            &["getex", "l", "ex", "-1"],
            &["getdel", "l"],
            &["getset", "l", "v"],
            &["incr", "l"],
            &["decrby", "l", "2"],
            &["incrbyfloat", "l", "abc"],
            &["append", "l", "x"],
            &["strlen", "l"],
            &["getrange", "l", "0", "-1"],
            &["setrange", "l", "0", ""],
            &["setrange", "l", "3", "x"],
            &["setbit", "l", "0", "1"],
            &["getbit", "l", "0"],
            &["bitcount", "l"],
            &["bitcount", "l", "0"],
            &["bitpos", "l", "1"],
            &["bitop", "or", "dest", "s", "l"],
            &["bitfield", "l", "get", "u8", "0"],
            &["bitfield", "l", "set", "u8", "0", "1"],
            &["bitfield_ro", "l", "get", "u8", "0"],
        ] {
            assert_eq!(run(&mut t, args), wrong, "{args:?}");
            assert_eq!(t.s.dbs[0].peek(b"l").unwrap().value.kind(), crate::types::value::Kind::List, "{args:?}");
        }
        assert!(!exists(&mut t, "dest"));
        // Argument errors that Redis finds before looking at the key.
        assert_eq!(run(&mut t, &["getex", "l", "foo"]), err(&CmdError::SYNTAX));
        assert_eq!(run(&mut t, &["bitpos", "l", "2"]), err(&BIT_ARG));
        assert_eq!(run(&mut t, &["setrange", "l", "-1", "x"]), err(&OFFSET_RANGE));
        assert_eq!(run(&mut t, &["bitfield_ro", "l", "set", "u8", "0", "1"]), err(&BITFIELD_RO_WRITE));
        assert_eq!(run(&mut t, &["lcs", "s", "l"]), err(&LCS_NOT_STRINGS));
        // Reads of several keys skip it; whole-value writes replace it.
        assert_eq!(run(&mut t, &["mget", "s", "l"]), format!("*2\r\n{}{NIL}", bulk("abc")));
        assert_eq!(run(&mut t, &["setnx", "l", "v"]), int(0));
        assert_eq!(run(&mut t, &["msetnx", "l", "v", "z", "w"]), int(0));
        assert_eq!(run(&mut t, &["set", "l", "v", "xx"]), OK);
        assert_eq!(run(&mut t, &["get", "l"]), bulk("v"));
        for args in [&["mset", "l", "1"][..], &["bitop", "not", "l", "s"], &["setex", "l", "10", "v"]] {
            t.s.dbs[0].set(b"l", list(), false);
            assert_ne!(run(&mut t, args), wrong, "{args:?}");
            assert!(t.s.dbs[0].peek(b"l").unwrap().value.is_string(), "{args:?}");
        }
    }

    /// The suite's overflow fuzzers, with i128 arithmetic as the model.
    #[test]
    fn bitfield_overflow_fuzz() {
        let mut t = new();
        let mut seed = 99u64;
        let mut rnd = |n: u128| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let hi = seed as u128;
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((hi << 64) | seed as u128) % n
        };
        for _ in 0..2000 {
            let bits = rnd(64) as u32 + 1;
            let signed = bits == 64 || rnd(2) == 1;
            let range: i128 = 1 << bits;
            let (min, ty) = if signed { (-(range / 2), format!("i{bits}")) } else { (0, format!("u{bits}")) };
            let max = min + range - 1;
            let clamp = |v: i128| v.clamp(i64::MIN as i128, i64::MAX as i128);
            let value = clamp(min * 2 + rnd((range * 2) as u128) as i128);
            let incr = clamp(min * 2 + rnd((range * 2) as u128) as i128);
            let overflow = value > max || value < min || value + incr > max || value + incr < min;
            t.s.dbs[0].remove(b"bits");
            let r1 = run(&mut t, &["bitfield", "bits", "overflow", "fail", "set", &ty, "0", &value.to_string()]);
            let r2 = run(&mut t, &["bitfield", "bits", "overflow", "fail", "incrby", &ty, "0", &incr.to_string()]);
            let failed = r1.contains("$-1") || r2.contains("$-1");
            assert_eq!(failed, overflow, "{ty} {value}+{incr}: {r1:?} {r2:?}");

            t.s.dbs[0].remove(b"bits");
            run(&mut t, &["bitfield", "bits", "overflow", "wrap", "set", &ty, "0", &value.to_string()]);
            run(&mut t, &["bitfield", "bits", "overflow", "wrap", "incrby", &ty, "0", &incr.to_string()]);
            let got = run(&mut t, &["bitfield", "bits", "get", &ty, "0"]);
            let wrapped = (value + incr - min).rem_euclid(range) + min;
            assert_eq!(got, format!("*1\r\n:{wrapped}\r\n"), "WRAP {ty} {value}+{incr}");

            t.s.dbs[0].remove(b"bits");
            run(&mut t, &["bitfield", "bits", "overflow", "sat", "set", &ty, "0", &value.to_string()]);
            let got = run(&mut t, &["bitfield", "bits", "overflow", "sat", "incrby", &ty, "0", &incr.to_string()]);
            let want = (value.clamp(min, max) + incr).clamp(min, max);
            assert_eq!(got, format!("*1\r\n:{want}\r\n"), "SAT {ty} {value}+{incr}");
        }
    }
}
