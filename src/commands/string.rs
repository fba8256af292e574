//! String commands: GET/SET and their variants, counters, ranges and LCS (commands layer, applied by the
//! Keyspace actor). The bitmap commands over string values are in bitmap.rs.
//!
//! Replies, error texts and their order follow Redis 7.0's t_string.c, because clients and the
//! Redis test suite match on them. Encodings follow Redis too (OBJECT ENCODING shows them): whole-value writes
//! go through `Value::string` (int / embstr / raw as tryObjectEncoding picks), in-place edits (APPEND,
//! SETRANGE, SETBIT, BITFIELD) and BITOP results are `raw`, counters stay `int`.

use super::spec::*;
use super::Ctx;
use crate::config::{NOTIFY_GENERIC, NOTIFY_STRING};
use crate::error::CmdError;
use crate::resp::encode::Out;
use crate::types::bytes::CompactBytes;
use crate::types::clock;
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

/// The string commands, as Redis 7.0's command table declares them.
#[rustfmt::skip]
pub const SPECS: &[CommandSpec] = &family("string", [
    cmd("get", 2, READONLY | FAST, get).keys(1, 1, 1).acl(STRING).doc("1.0.0", "O(1)", "Get the value of a key"),
    cmd("set", -3, WRITE | DENYOOM, set).keys(1, 1, 1).acl(STRING).doc("1.0.0", "O(1)", "Set the string value of a key"),
    cmd("setnx", 3, WRITE | DENYOOM | FAST, setnx).keys(1, 1, 1).acl(STRING).doc("1.0.0", "O(1)", "Set the value of a key, only if the key does not exist"),
    cmd("setex", 4, WRITE | DENYOOM, setex).keys(1, 1, 1).acl(STRING).doc("2.0.0", "O(1)", "Set the value and expiration of a key"),
    cmd("psetex", 4, WRITE | DENYOOM, psetex).keys(1, 1, 1).acl(STRING).doc("2.6.0", "O(1)", "Set the value and expiration in milliseconds of a key"),
    cmd("getset", 3, WRITE | DENYOOM | FAST, getset).keys(1, 1, 1).acl(STRING).doc("1.0.0", "O(1)", "Set the string value of a key and return its old value"),
    cmd("getdel", 2, WRITE | FAST, getdel).keys(1, 1, 1).acl(STRING).doc("6.2.0", "O(1)", "Get the value of a key and delete the key"),
    cmd("getex", -2, WRITE | FAST, getex).keys(1, 1, 1).acl(STRING).doc("6.2.0", "O(1)", "Get the value of a key and optionally set its expiration"),
    cmd("mget", -2, READONLY | FAST, mget).keys(1, -1, 1).acl(STRING).doc("1.0.0", "O(N) where N is the number of keys to retrieve.", "Get the values of all the given keys"),
    cmd("mset", -3, WRITE | DENYOOM, mset).keys(1, -1, 2).acl(STRING).doc("1.0.1", "O(N) where N is the number of keys to set.", "Set multiple keys to multiple values"),
    cmd("msetnx", -3, WRITE | DENYOOM, msetnx).keys(1, -1, 2).acl(STRING).doc("1.0.1", "O(N) where N is the number of keys to set.", "Set multiple keys to multiple values, only if none of the keys exist"),
    cmd("incr", 2, WRITE | DENYOOM | FAST, incr).keys(1, 1, 1).acl(STRING).doc("1.0.0", "O(1)", "Increment the integer value of a key by one"),
    cmd("decr", 2, WRITE | DENYOOM | FAST, decr).keys(1, 1, 1).acl(STRING).doc("1.0.0", "O(1)", "Decrement the integer value of a key by one"),
    cmd("incrby", 3, WRITE | DENYOOM | FAST, incrby).keys(1, 1, 1).acl(STRING).doc("1.0.0", "O(1)", "Increment the integer value of a key by the given amount"),
    cmd("decrby", 3, WRITE | DENYOOM | FAST, decrby).keys(1, 1, 1).acl(STRING).doc("1.0.0", "O(1)", "Decrement the integer value of a key by the given number"),
    cmd("incrbyfloat", 3, WRITE | DENYOOM | FAST, incrbyfloat).keys(1, 1, 1).acl(STRING).doc("2.6.0", "O(1)", "Increment the float value of a key by the given amount"),
    cmd("append", 3, WRITE | DENYOOM | FAST, append).keys(1, 1, 1).acl(STRING).doc("2.0.0", APPEND_CX, "Append a value to a key"),
    cmd("strlen", 2, READONLY | FAST, strlen).keys(1, 1, 1).acl(STRING).doc("2.2.0", "O(1)", "Get the length of the value stored in a key"),
    cmd("getrange", 4, READONLY, getrange).keys(1, 1, 1).acl(STRING).doc("2.4.0", GETRANGE_CX, "Get a substring of the string stored at a key"),
    cmd("substr", 4, READONLY, getrange).keys(1, 1, 1).acl(STRING).doc("1.0.0", GETRANGE_CX, "Get a substring of the string stored at a key"),
    cmd("setrange", 4, WRITE | DENYOOM, setrange).keys(1, 1, 1).acl(STRING).doc("2.2.0", SETRANGE_CX, "Overwrite part of a string at key starting at the specified offset"),
    cmd("lcs", -3, READONLY, lcs).keys(1, 2, 1).acl(STRING).doc("7.0.0", "O(N*M) where N and M are the lengths of s1 and s2, respectively", "Find longest common substring"),
]);

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
pub(super) fn with_bytes<R>(v: &Value, f: impl FnOnce(&[u8]) -> R) -> Result<R, CmdError> {
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
    let value = cx.string_arg(val_at);
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
    db.set(key, value, flags & KEEPTTL != 0 || at.is_some());
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
    cx.notify(NOTIFY_STRING, "set", key);
    if at.is_some() {
        cx.notify(NOTIFY_GENERIC, "expire", key);
    }
    // Replicas get an absolute time so that they expire the key when we do (Redis rewrites the same way).
    if let Some(at) = at {
        cx.propagate_as(&[b"SET", key, val, b"PXAT", at.to_string().as_bytes()]);
    } else if flags & GET != 0 {
        // Replicas need no GET (Redis 7.0 propagates without it).
        let argv = cx.argv;
        let args: Vec<&[u8]> = argv
            .iter()
            .enumerate()
            .filter(|(i, a)| *i < 3 || !a.eq_ignore_ascii_case(b"get"))
            .map(|(_, a)| a)
            .collect();
        cx.propagate_as(&args);
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
            cx.notify(NOTIFY_GENERIC, "del", key);
            cx.propagate_as(&[b"DEL", key]);
        }
        Some(at) => {
            db.set_expire(key, at);
            cx.modified(key);
            cx.notify(NOTIFY_GENERIC, "expire", key);
            cx.propagate_as(&[b"PEXPIREAT", key, at.to_string().as_bytes()]);
        }
        None if flags & PERSIST != 0 && had_ttl => {
            db.set_expire(key, 0);
            cx.modified(key);
            cx.notify(NOTIFY_GENERIC, "persist", key);
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
    cx.notify(NOTIFY_GENERIC, "del", key);
    cx.propagate_as(&[b"DEL", key]);
    Ok(())
}

/// GETSET key value
fn getset(cx: &mut Ctx<'_>) -> CmdResult {
    let key = cx.arg(1);
    let value = cx.string_arg(2);
    let (db, out) = cx.db_out();
    match db.get(key) {
        Some(e) => reply_str(out, &e.value)?,
        None => out.nil(),
    }
    db.set(key, value, false);
    cx.modified(key);
    cx.notify(NOTIFY_STRING, "set", key);
    // Propagated as SET, as Redis 7.0 does.
    let val = cx.arg(2);
    cx.propagate_as(&[b"SET", key, val]);
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
        let value = cx.string_arg(i + 1);
        cx.db().set(key, value, false);
        cx.modified(key);
        cx.notify(NOTIFY_STRING, "set", key);
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
    cx.notify(NOTIFY_STRING, "incrby", key);
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
    cx.notify(NOTIFY_STRING, "incrbyfloat", key);
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
            let Some(mut buf) = e.value.make_raw() else { return Err(CmdError::WRONGTYPE) };
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
    cx.notify(NOTIFY_STRING, "append", key);
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
            let Some(mut buf) = e.value.make_raw() else { return Err(CmdError::WRONGTYPE) };
            write_at(&mut buf, offset as usize, val);
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
    cx.notify(NOTIFY_STRING, "setrange", key);
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

#[cfg(test)]
#[path = "string_tests.rs"]
mod tests;
