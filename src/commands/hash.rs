//! Hash commands: HSET/HGET and their variants, counters, HRANDFIELD and HSCAN (commands layer, applied by the
//! Keyspace actor).
//!
//! Replies, error texts and their order follow Redis 7.0's t_hash.c (and db.c's scanGenericCommand for
//! HSCAN), because clients and the Redis test suite match on them. Encodings follow Redis too: a hash is a
//! `listpack` until it has more than hash-max-listpack-entries fields or a field or value longer than
//! hash-max-listpack-value bytes, then a `hashtable` for good (see `types::hash`).

use super::spec::*;
use super::Ctx;
use crate::error::CmdError;
use crate::resp::encode::Out;
use crate::spec;
use crate::types::db::Db;
use crate::types::glob::glob_match;
use crate::types::hash::Hash;
use crate::types::num;
use crate::types::num::ld;
use crate::types::value::{write_i64, Value};

const ALL_CX: &str = "O(N) where N is the size of the hash.";
const SCAN_CX: &str = "O(1) for every call. O(N) for a complete iteration, including enough command calls for the \
cursor to return back to 0. N is the number of elements inside the collection..";

/// The hash commands, as Redis 7.0's command table declares them.
pub const SPECS: &[CommandSpec] = &[
    spec!(
        "hdel",
        -3,
        WRITE | FAST,
        (1, 1, 1),
        HASH,
        "hash",
        "2.0.0",
        "Delete one or more hash fields",
        "O(N) where N is the number of fields to be removed.",
        hdel
    ),
    spec!(
        "hexists",
        3,
        READONLY | FAST,
        (1, 1, 1),
        HASH,
        "hash",
        "2.0.0",
        "Determine if a hash field exists",
        "O(1)",
        hexists
    ),
    spec!("hget", 3, READONLY | FAST, (1, 1, 1), HASH, "hash", "2.0.0", "Get the value of a hash field", "O(1)", hget),
    spec!(
        "hgetall",
        2,
        READONLY,
        (1, 1, 1),
        HASH,
        "hash",
        "2.0.0",
        "Get all the fields and values in a hash",
        ALL_CX,
        hgetall
    ),
    spec!(
        "hincrby",
        4,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        HASH,
        "hash",
        "2.0.0",
        "Increment the integer value of a hash field by the given number",
        "O(1)",
        hincrby
    ),
    spec!(
        "hincrbyfloat",
        4,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        HASH,
        "hash",
        "2.6.0",
        "Increment the float value of a hash field by the given amount",
        "O(1)",
        hincrbyfloat
    ),
    spec!("hkeys", 2, READONLY, (1, 1, 1), HASH, "hash", "2.0.0", "Get all the fields in a hash", ALL_CX, hkeys),
    spec!(
        "hlen",
        2,
        READONLY | FAST,
        (1, 1, 1),
        HASH,
        "hash",
        "2.0.0",
        "Get the number of fields in a hash",
        "O(1)",
        hlen
    ),
    spec!(
        "hmget",
        -3,
        READONLY | FAST,
        (1, 1, 1),
        HASH,
        "hash",
        "2.0.0",
        "Get the values of all the given hash fields",
        "O(N) where N is the number of fields being requested.",
        hmget
    ),
    spec!(
        "hmset",
        -4,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        HASH,
        "hash",
        "2.0.0",
        "Set multiple hash fields to multiple values",
        "O(N) where N is the number of fields being set.",
        hset
    ),
    spec!(
        "hrandfield",
        -2,
        READONLY,
        (1, 1, 1),
        HASH,
        "hash",
        "6.2.0",
        "Get one or multiple random fields from a hash",
        "O(N) where N is the number of fields returned",
        hrandfield
    ),
    spec!(
        "hscan",
        -3,
        READONLY,
        (1, 1, 1),
        HASH,
        "hash",
        "2.8.0",
        "Incrementally iterate hash fields and associated values",
        SCAN_CX,
        hscan
    ),
    spec!(
        "hset",
        -4,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        HASH,
        "hash",
        "2.0.0",
        "Set the string value of a hash field",
        "O(1) for each field/value pair added, so O(N) to add N field/value pairs when the command is called with \
        multiple field/value pairs.",
        hset
    ),
    spec!(
        "hsetnx",
        4,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        HASH,
        "hash",
        "2.0.0",
        "Set the value of a hash field, only if the field does not exist",
        "O(1)",
        hsetnx
    ),
    spec!(
        "hstrlen",
        3,
        READONLY | FAST,
        (1, 1, 1),
        HASH,
        "hash",
        "3.2.0",
        "Get the length of the value of a hash field",
        "O(1)",
        hstrlen
    ),
    spec!("hvals", 2, READONLY, (1, 1, 1), HASH, "hash", "2.0.0", "Get all the values in a hash", ALL_CX, hvals),
];

// Error replies of this family.
const HASH_NOT_INT: CmdError = CmdError::new("ERR hash value is not an integer");
const HASH_NOT_FLOAT: CmdError = CmdError::new("ERR hash value is not a float");
const INCR_NAN_OR_INF: CmdError = CmdError::new("ERR increment would produce NaN or Infinity");
const ARG_NAN_OR_INF: CmdError = CmdError::new("ERR value is NaN or Infinity");
const OUT_OF_RANGE: CmdError = CmdError::new("ERR value is out of range");
const COUNT_RANGE: CmdError =
    CmdError::new("ERR value is out of range, must be between -9223372036854775807 and 9223372036854775807");

/// The empty array Redis sends whatever the protocol (shared.emptyarray).
const EMPTY_ARRAY: &[u8] = b"*0\r\n";

// ---------------------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------------------

/// The hash at `key` for reading (a counted lookup): None when missing, WRONGTYPE for other types.
#[inline]
fn read<'a>(db: &'a mut Db, key: &[u8]) -> Result<Option<&'a Hash>, CmdError> {
    match db.get(key) {
        None => Ok(None),
        Some(e) => match &e.value {
            Value::Hash(h) => Ok(Some(h)),
            _ => Err(CmdError::WRONGTYPE),
        },
    }
}

/// Redis's hashTypeLookupWriteOrCreate: run `f` on the hash at `key`, or on a new one stored under `key` if
/// `f` succeeds and leaves it non-empty. WRONGTYPE for other types. `f` must change nothing when it fails.
#[inline]
fn write<R>(db: &mut Db, key: &[u8], f: impl FnOnce(&mut Hash) -> Result<R, CmdError>) -> Result<R, CmdError> {
    match db.get_mut(key) {
        Some(e) => match &mut e.value {
            Value::Hash(h) => f(h),
            _ => Err(CmdError::WRONGTYPE),
        },
        None => {
            let mut h = Hash::new();
            let r = f(&mut h)?;
            if !h.is_empty() {
                db.set(key, Value::Hash(h), false);
            }
            Ok(r)
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Writes
// ---------------------------------------------------------------------------------------------------------

/// HSET key field value [field value ...] / HMSET key field value [field value ...]
///
/// HSET replies with the number of new fields, HMSET with OK. An odd number of arguments is an arity error
/// naming the command.
fn hset(cx: &mut Ctx<'_>) -> CmdResult {
    if cx.argc() % 2 == 1 {
        return Err(CmdError::arity(cx.spec.name));
    }
    let argv = cx.argv;
    let key = argv.get(1);
    let enc = cx.s.enc;
    let hmset = cx.spec.name == "hmset";
    let (db, out) = cx.db_out();
    let created = write(db, key, |h| {
        h.prepare(argv.iter().skip(2), &enc);
        let mut created = 0;
        for i in (2..argv.len()).step_by(2) {
            created += h.insert(argv.get(i), argv.get(i + 1), &enc) as i64;
        }
        Ok(created)
    })?;
    if hmset {
        out.ok();
    } else {
        out.int(created);
    }
    cx.modified(key);
    // Redis counts one change per pair.
    cx.s.persist.dirty += ((argv.len() - 2) / 2) as u64 - 1;
    Ok(())
}

/// HSETNX key field value
fn hsetnx(cx: &mut Ctx<'_>) -> CmdResult {
    let (key, field, value) = (cx.arg(1), cx.arg(2), cx.arg(3));
    let enc = cx.s.enc;
    let (db, out) = cx.db_out();
    let set = write(db, key, |h| {
        if h.contains(field) {
            return Ok(false);
        }
        h.prepare([field, value], &enc);
        h.insert(field, value, &enc);
        Ok(true)
    })?;
    out.int(set as i64);
    if set {
        cx.modified(key);
    }
    Ok(())
}

/// HDEL key field [field ...]
///
/// A hash left empty is deleted (and the remaining fields are not looked at).
fn hdel(cx: &mut Ctx<'_>) -> CmdResult {
    let argv = cx.argv;
    let key = argv.get(1);
    let (db, out) = cx.db_out();
    let (deleted, empty) = match db.get_mut(key) {
        None => (0, false),
        Some(e) => match &mut e.value {
            Value::Hash(h) => {
                let mut deleted = 0u64;
                for f in argv.iter().skip(2) {
                    if h.remove(f) {
                        deleted += 1;
                        if h.is_empty() {
                            break;
                        }
                    }
                }
                (deleted, h.is_empty())
            }
            _ => return Err(CmdError::WRONGTYPE),
        },
    };
    if empty {
        db.remove(key);
    }
    out.int(deleted as i64);
    if deleted > 0 {
        cx.modified(key);
        cx.s.persist.dirty += deleted - 1;
    }
    Ok(())
}

/// HINCRBY key field increment
fn hincrby(cx: &mut Ctx<'_>) -> CmdResult {
    let incr = cx.int_arg(3)?;
    let (key, field) = (cx.arg(1), cx.arg(2));
    let enc = cx.s.enc;
    let (db, out) = cx.db_out();
    let value = write(db, key, |h| {
        let old = match h.get(field) {
            Some(v) => num::parse_i64(v).ok_or(HASH_NOT_INT)?,
            None => 0,
        };
        let value = old.checked_add(incr).ok_or(CmdError::OVERFLOW)?;
        let mut buf = [0u8; 20];
        let n = write_i64(&mut buf, value);
        h.insert(field, &buf[..n], &enc);
        Ok(value)
    })?;
    out.int(value);
    cx.modified(key);
    Ok(())
}

/// HINCRBYFLOAT key field increment
///
/// Computed in (software) long double and printed as Redis's ld2string(LD_STR_HUMAN), as INCRBYFLOAT.
fn hincrbyfloat(cx: &mut Ctx<'_>) -> CmdResult {
    let incr = ld::parse(cx.arg(3)).ok_or(CmdError::NOT_FLOAT)?;
    if !incr.is_finite() {
        return Err(ARG_NAN_OR_INF);
    }
    let (key, field) = (cx.arg(1), cx.arg(2));
    let enc = cx.s.enc;
    let (db, out) = cx.db_out();
    let text = write(db, key, |h| {
        let old = match h.get(field) {
            Some(v) => ld::parse(v).ok_or(HASH_NOT_FLOAT)?,
            None => ld::Ld::ZERO,
        };
        let value = old + incr;
        if !value.is_finite() {
            return Err(INCR_NAN_OR_INF);
        }
        let text = value.to_human();
        h.insert(field, text.as_bytes(), &enc);
        Ok(text)
    })?;
    out.bulk(text.as_bytes());
    cx.modified(key);
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// Reads
// ---------------------------------------------------------------------------------------------------------

/// HGET key field
fn hget(cx: &mut Ctx<'_>) -> CmdResult {
    let (key, field) = (cx.arg(1), cx.arg(2));
    let (db, out) = cx.db_out();
    match read(db, key)?.and_then(|h| h.get(field)) {
        Some(v) => out.bulk(v),
        None => out.nil(),
    }
    Ok(())
}

/// HMGET key field [field ...]
fn hmget(cx: &mut Ctx<'_>) -> CmdResult {
    let argv = cx.argv;
    let (db, out) = cx.db_out();
    let h = read(db, argv.get(1))?;
    out.array(argv.len() - 2);
    for f in argv.iter().skip(2) {
        match h.and_then(|h| h.get(f)) {
            Some(v) => out.bulk(v),
            None => out.nil(),
        }
    }
    Ok(())
}

/// HLEN key
fn hlen(cx: &mut Ctx<'_>) -> CmdResult {
    let key = cx.arg(1);
    let (db, out) = cx.db_out();
    out.int(read(db, key)?.map_or(0, |h| h.len()) as i64);
    Ok(())
}

/// HSTRLEN key field
fn hstrlen(cx: &mut Ctx<'_>) -> CmdResult {
    let (key, field) = (cx.arg(1), cx.arg(2));
    let (db, out) = cx.db_out();
    out.int(read(db, key)?.and_then(|h| h.get(field)).map_or(0, |v| v.len()) as i64);
    Ok(())
}

/// HEXISTS key field
fn hexists(cx: &mut Ctx<'_>) -> CmdResult {
    let (key, field) = (cx.arg(1), cx.arg(2));
    let (db, out) = cx.db_out();
    out.int(read(db, key)?.is_some_and(|h| h.contains(field)) as i64);
    Ok(())
}

/// HKEYS key
fn hkeys(cx: &mut Ctx<'_>) -> CmdResult {
    let key = cx.arg(1);
    let (db, out) = cx.db_out();
    match read(db, key)? {
        None => out.array(0),
        Some(h) => out.bulks(h.iter().map(|(k, _)| k)),
    }
    Ok(())
}

/// HVALS key
fn hvals(cx: &mut Ctx<'_>) -> CmdResult {
    let key = cx.arg(1);
    let (db, out) = cx.db_out();
    match read(db, key)? {
        None => out.array(0),
        Some(h) => out.bulks(h.iter().map(|(_, v)| v)),
    }
    Ok(())
}

/// HGETALL key (a map in RESP3)
fn hgetall(cx: &mut Ctx<'_>) -> CmdResult {
    let key = cx.arg(1);
    let (db, out) = cx.db_out();
    match read(db, key)? {
        None => out.map(0),
        Some(h) => {
            out.map(h.len());
            for (k, v) in h.iter() {
                out.bulk(k);
                out.bulk(v);
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// HRANDFIELD, HSCAN
// ---------------------------------------------------------------------------------------------------------

/// HRANDFIELD key [count [WITHVALUES]]
///
/// Without a count: one field, or nil. A positive count gives distinct fields (at most the whole hash), a
/// negative one `-count` fields that may repeat. WITHVALUES pairs each field with its value: flat in RESP2,
/// an array of [field, value] arrays in RESP3.
fn hrandfield(cx: &mut Ctx<'_>) -> CmdResult {
    let argc = cx.argc();
    let key = cx.arg(1);
    if argc >= 3 {
        let l = cx.int_arg(2)?;
        if l < -i64::MAX {
            return Err(COUNT_RANGE);
        }
        if argc > 4 || (argc == 4 && !cx.argv.is(3, "withvalues")) {
            return Err(CmdError::SYNTAX);
        }
        let withvalues = argc == 4;
        if withvalues && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&l) {
            return Err(OUT_OF_RANGE);
        }
        let (db, out) = cx.db_out();
        return hrandfield_count(db, out, key, l, withvalues);
    }
    let (db, out) = cx.db_out();
    match read(db, key)?.and_then(|h| h.random_pair()) {
        Some((k, _)) => out.bulk(k),
        None => out.nil(),
    }
    Ok(())
}

/// Redis's hrandfieldWithCountCommand.
fn hrandfield_count(db: &mut Db, out: &mut Out, key: &[u8], l: i64, withvalues: bool) -> CmdResult {
    let Some(h) = read(db, key)? else {
        out.raw(EMPTY_ARRAY);
        return Ok(());
    };
    let (count, uniq) = if l >= 0 { (l as u64, true) } else { (l.unsigned_abs(), false) };
    if count == 0 {
        out.raw(EMPTY_ARRAY);
        return Ok(());
    }
    let resp3 = out.resp >= 3;
    let header = |out: &mut Out, n: u64| {
        if withvalues && !resp3 {
            out.array(2 * n as usize)
        } else {
            out.array(n as usize)
        }
    };
    let emit = |out: &mut Out, k: &[u8], v: &[u8]| {
        if withvalues && resp3 {
            out.array(2);
        }
        out.bulk(k);
        if withvalues {
            out.bulk(v);
        }
    };
    // CASE 1: repetitions allowed (or a single pick): sample the whole hash each time.
    if !uniq || count == 1 {
        header(out, count);
        h.random_pairs(count as usize, |k, v| emit(out, k, v));
        return Ok(());
    }
    let size = h.len() as u64;
    header(out, count.min(size));
    if count >= size {
        // CASE 2: the whole hash.
        for (k, v) in h.iter() {
            emit(out, k, v);
        }
    } else {
        // CASES 3 and 4: distinct random fields.
        h.random_distinct(count as usize, |k, v| emit(out, k, v));
    }
    Ok(())
}

/// HSCAN key cursor [MATCH pattern] [COUNT count]
///
/// A listpack is returned whole with cursor 0; a hashtable step by step with a cursor that returns every field
/// present for the whole iteration at least once. COUNT counts fields and values, as in Redis.
fn hscan(cx: &mut Ctx<'_>) -> CmdResult {
    let argv = cx.argv;
    let cursor = crate::commands::keys::parse_cursor(argv.get(2)).ok_or(CmdError::INVALID_CURSOR)?;
    let (db, out) = cx.db_out();
    let Some(h) = read(db, argv.get(1))? else {
        out.raw(b"*2\r\n$1\r\n0\r\n*0\r\n");
        return Ok(());
    };
    let mut count: i64 = 10;
    let mut pattern: Option<&[u8]> = None;
    let mut i = 3;
    while i < argv.len() {
        let more = argv.len() - i >= 2;
        if argv.is(i, "count") && more {
            count = num::parse_i64(argv.get(i + 1)).ok_or(CmdError::NOT_INT)?;
            if count < 1 {
                return Err(CmdError::SYNTAX);
            }
        } else if argv.is(i, "match") && more {
            let p = argv.get(i + 1);
            pattern = if p == b"*" { None } else { Some(p) };
        } else {
            return Err(CmdError::SYNTAX);
        }
        i += 2;
    }
    let mut found: Vec<(&[u8], &[u8])> = Vec::new();
    let next = h.scan(cursor, count as usize, |k, v| {
        if pattern.is_none_or(|p| glob_match(p, k, false)) {
            found.push((k, v));
        }
    });
    out.array(2);
    let mut buf = [0u8; 20];
    let n = num_u64(&mut buf, next);
    out.bulk(&buf[..n]);
    out.array(found.len() * 2);
    for (k, v) in found {
        out.bulk(k);
        out.bulk(v);
    }
    Ok(())
}

/// Format a u64 in decimal into `buf`; returns the length.
fn num_u64(buf: &mut [u8; 20], mut n: u64) -> usize {
    let mut tmp = [0u8; 20];
    let mut p = 20;
    loop {
        p -= 1;
        tmp[p] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let len = 20 - p;
    buf[..len].copy_from_slice(&tmp[p..]);
    len
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::testutil::{new, run, T};

    fn bulk(s: &str) -> String {
        format!("${}\r\n{}\r\n", s.len(), s)
    }

    fn err(e: &CmdError) -> String {
        format!("-{}\r\n", e.0)
    }

    fn enc(t: &mut T, key: &str) -> String {
        run(t, &["object", "encoding", key])
    }

    /// Parse a flat RESP2 array of bulk strings.
    fn items(r: &str) -> Vec<String> {
        let mut lines = r.split("\r\n");
        let head = lines.next().unwrap();
        assert!(head.starts_with('*'), "{r}");
        let mut v = Vec::new();
        while let Some(l) = lines.next() {
            if l.starts_with('$') {
                v.push(lines.next().unwrap().to_string());
            }
        }
        v
    }

    #[test]
    fn hset_hget_hmset_and_arity() {
        let mut t = new();
        assert_eq!(run(&mut t, &["hset", "h", "a", "1", "b", "2"]), ":2\r\n");
        assert_eq!(run(&mut t, &["hset", "h", "a", "x", "c", "3"]), ":1\r\n");
        assert_eq!(run(&mut t, &["hget", "h", "a"]), bulk("x"));
        assert_eq!(run(&mut t, &["hget", "h", "zz"]), "$-1\r\n");
        assert_eq!(run(&mut t, &["hget", "nokey", "a"]), "$-1\r\n");
        assert_eq!(run(&mut t, &["hmset", "h", "d", "4"]), "+OK\r\n");
        assert_eq!(run(&mut t, &["hlen", "h"]), ":4\r\n");
        assert_eq!(run(&mut t, &["hset", "h", "a", "1", "b"]), "-ERR wrong number of arguments for 'hset' command\r\n");
        assert_eq!(
            run(&mut t, &["hmset", "h", "a", "1", "b"]),
            "-ERR wrong number of arguments for 'hmset' command\r\n"
        );
        assert_eq!(run(&mut t, &["hset", "h", "a"]), "-ERR wrong number of arguments for 'hset' command\r\n");
        assert_eq!(enc(&mut t, "h"), bulk("listpack"));
        run(&mut t, &["set", "s", "v"]);
        for cmd in [
            &["hset", "s", "a", "1"][..],
            &["hget", "s", "a"],
            &["hmget", "s", "a"],
            &["hlen", "s"],
            &["hdel", "s", "a"],
            &["hgetall", "s"],
            &["hkeys", "s"],
            &["hvals", "s"],
            &["hexists", "s", "a"],
            &["hstrlen", "s", "a"],
            &["hsetnx", "s", "a", "1"],
            &["hincrby", "s", "a", "1"],
            &["hincrbyfloat", "s", "a", "1"],
            &["hrandfield", "s"],
            &["hrandfield", "s", "2"],
            &["hscan", "s", "0"],
        ] {
            assert_eq!(run(&mut t, cmd), err(&CmdError::WRONGTYPE), "{cmd:?}");
        }
    }

    #[test]
    fn hsetnx_hexists_hstrlen_hmget() {
        let mut t = new();
        assert_eq!(run(&mut t, &["hsetnx", "h", "f", "v1"]), ":1\r\n");
        assert_eq!(run(&mut t, &["hsetnx", "h", "f", "v2"]), ":0\r\n");
        assert_eq!(run(&mut t, &["hget", "h", "f"]), bulk("v1"));
        assert_eq!(run(&mut t, &["hexists", "h", "f"]), ":1\r\n");
        assert_eq!(run(&mut t, &["hexists", "h", "g"]), ":0\r\n");
        assert_eq!(run(&mut t, &["hexists", "nokey", "g"]), ":0\r\n");
        assert_eq!(run(&mut t, &["hstrlen", "h", "f"]), ":2\r\n");
        assert_eq!(run(&mut t, &["hstrlen", "h", "g"]), ":0\r\n");
        assert_eq!(run(&mut t, &["hstrlen", "nokey", "g"]), ":0\r\n");
        assert_eq!(run(&mut t, &["hmget", "h", "f", "g"]), "*2\r\n$2\r\nv1\r\n$-1\r\n");
        assert_eq!(run(&mut t, &["hmget", "nokey", "f", "g"]), "*2\r\n$-1\r\n$-1\r\n");
        run(&mut t, &["hello", "3"]);
        assert_eq!(run(&mut t, &["hmget", "h", "f", "g"]), "*2\r\n$2\r\nv1\r\n_\r\n");
    }

    #[test]
    fn hdel_deletes_empty_hash() {
        let mut t = new();
        run(&mut t, &["hset", "h", "a", "1", "b", "2", "c", "3"]);
        assert_eq!(run(&mut t, &["hdel", "h", "x", "y"]), ":0\r\n");
        assert_eq!(run(&mut t, &["hdel", "h", "a", "c", "f"]), ":2\r\n");
        assert_eq!(run(&mut t, &["hgetall", "h"]), "*2\r\n$1\r\nb\r\n$1\r\n2\r\n");
        assert_eq!(run(&mut t, &["hdel", "h", "b", "b", "z"]), ":1\r\n");
        assert_eq!(run(&mut t, &["exists", "h"]), ":0\r\n");
        assert_eq!(run(&mut t, &["hdel", "h", "b"]), ":0\r\n");
    }

    #[test]
    fn keys_vals_getall_in_both_protocols() {
        let mut t = new();
        assert_eq!(run(&mut t, &["hkeys", "nokey"]), "*0\r\n");
        assert_eq!(run(&mut t, &["hvals", "nokey"]), "*0\r\n");
        assert_eq!(run(&mut t, &["hgetall", "nokey"]), "*0\r\n");
        run(&mut t, &["hset", "h", "a", "1", "b", "2"]);
        assert_eq!(run(&mut t, &["hkeys", "h"]), "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
        assert_eq!(run(&mut t, &["hvals", "h"]), "*2\r\n$1\r\n1\r\n$1\r\n2\r\n");
        assert_eq!(run(&mut t, &["hgetall", "h"]), "*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n");
        run(&mut t, &["hello", "3"]);
        assert_eq!(run(&mut t, &["hgetall", "h"]), "%2\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n");
        assert_eq!(run(&mut t, &["hgetall", "nokey"]), "%0\r\n");
        assert_eq!(run(&mut t, &["hkeys", "nokey"]), "*0\r\n");
    }

    #[test]
    fn encoding_switches() {
        let mut t = new();
        run(&mut t, &["config", "set", "hash-max-listpack-entries", "4"]);
        run(&mut t, &["config", "set", "hash-max-listpack-value", "8"]);
        run(&mut t, &["hset", "h", "a", "1", "b", "2", "c", "3", "d", "4"]);
        assert_eq!(enc(&mut t, "h"), bulk("listpack"));
        run(&mut t, &["hset", "h", "e", "5"]);
        assert_eq!(enc(&mut t, "h"), bulk("hashtable"));
        run(&mut t, &["hdel", "h", "a", "b", "c", "d"]);
        assert_eq!(enc(&mut t, "h"), bulk("hashtable"));
        // A long value, or a long field, even one that is only updated.
        run(&mut t, &["hset", "v", "a", "12345678"]);
        assert_eq!(enc(&mut t, "v"), bulk("listpack"));
        run(&mut t, &["hset", "v", "a", "123456789"]);
        assert_eq!(enc(&mut t, "v"), bulk("hashtable"));
        run(&mut t, &["hset", "f", "abcdefghi", "1"]);
        assert_eq!(enc(&mut t, "f"), bulk("hashtable"));
        run(&mut t, &["hsetnx", "n", "abcdefghi", "1"]);
        assert_eq!(enc(&mut t, "n"), bulk("hashtable"));
        // Counters convert on the value they write.
        run(&mut t, &["hset", "c", "tmp", "0"]);
        run(&mut t, &["hincrbyfloat", "c", "tmp", "0.000005"]);
        assert_eq!(enc(&mut t, "c"), bulk("listpack"));
        run(&mut t, &["hincrbyfloat", "c", "tmp", "0.0000005"]);
        assert_eq!(enc(&mut t, "c"), bulk("hashtable"));
        run(&mut t, &["hincrby", "i", "abcdefghi", "1"]);
        assert_eq!(enc(&mut t, "i"), bulk("hashtable"));
        // Many pairs in one HSET of the same field stay a listpack (Redis 7.0 does not pre-size).
        let mut args = vec!["hset", "same"];
        for _ in 0..10 {
            args.extend_from_slice(&["x", "y"]);
        }
        assert_eq!(run(&mut t, &args), ":1\r\n");
        assert_eq!(enc(&mut t, "same"), bulk("listpack"));
    }

    #[test]
    fn hincrby_rules() {
        let mut t = new();
        assert_eq!(run(&mut t, &["hincrby", "h", "f", "2"]), ":2\r\n");
        assert_eq!(run(&mut t, &["hincrby", "h", "f", "-5"]), ":-3\r\n");
        assert_eq!(run(&mut t, &["hget", "h", "f"]), bulk("-3"));
        assert_eq!(run(&mut t, &["hincrby", "h", "f", "x"]), err(&CmdError::NOT_INT));
        assert_eq!(run(&mut t, &["hincrby", "nokey", "f", "1.5"]), err(&CmdError::NOT_INT));
        assert_eq!(run(&mut t, &["exists", "nokey"]), ":0\r\n");
        run(&mut t, &["hset", "h", "s", " 11"]);
        assert_eq!(run(&mut t, &["hincrby", "h", "s", "1"]), "-ERR hash value is not an integer\r\n");
        run(&mut t, &["hset", "h", "s", "11 "]);
        assert_eq!(run(&mut t, &["hincrby", "h", "s", "1"]), "-ERR hash value is not an integer\r\n");
        run(&mut t, &["hset", "h", "n", "-9223372036854775484"]);
        assert_eq!(run(&mut t, &["hincrby", "h", "n", "-1"]), ":-9223372036854775485\r\n");
        assert_eq!(run(&mut t, &["hincrby", "h", "n", "-10000"]), "-ERR increment or decrement would overflow\r\n");
        run(&mut t, &["hset", "h", "m", "9223372036854775807"]);
        assert_eq!(run(&mut t, &["hincrby", "h", "m", "1"]), "-ERR increment or decrement would overflow\r\n");
        assert_eq!(run(&mut t, &["hincrby", "h", "m", "-1"]), ":9223372036854775806\r\n");
        run(&mut t, &["hset", "h", "big", "17179869184"]);
        assert_eq!(run(&mut t, &["hincrby", "h", "big", "17179869184"]), ":34359738368\r\n");
    }

    #[test]
    fn hincrbyfloat_rules() {
        let mut t = new();
        assert_eq!(run(&mut t, &["hincrbyfloat", "h", "f", "2.5"]), bulk("2.5"));
        assert_eq!(run(&mut t, &["hincrbyfloat", "h", "f", "3.5"]), bulk("6"));
        assert_eq!(run(&mut t, &["hincrbyfloat", "h2", "float", "1.23"]), bulk("1.23"));
        assert_eq!(run(&mut t, &["hincrbyfloat", "h2", "float", "0.77"]), bulk("2"));
        assert_eq!(run(&mut t, &["hincrbyfloat", "h2", "float", "-0.1"]), bulk("1.9"));
        assert_eq!(run(&mut t, &["hincrbyfloat", "h2", "x", "0.1"]), bulk("0.1"));
        assert_eq!(run(&mut t, &["hincrbyfloat", "h2", "x", "0.2"]), bulk("0.3"));
        run(&mut t, &["hset", "h", "i", "17179869184"]);
        assert_eq!(run(&mut t, &["hincrbyfloat", "h", "i", "1"]), bulk("17179869185"));
        for bad in [" 11", "11 ", "1\u{0}2", "abc"] {
            run(&mut t, &["hset", "h", "s", bad]);
            assert_eq!(run(&mut t, &["hincrbyfloat", "h", "s", "1"]), "-ERR hash value is not a float\r\n");
        }
        assert_eq!(run(&mut t, &["hincrbyfloat", "h", "f", "x"]), err(&CmdError::NOT_FLOAT));
        assert_eq!(run(&mut t, &["hincrbyfloat", "hfoo", "f", "+inf"]), "-ERR value is NaN or Infinity\r\n");
        assert_eq!(run(&mut t, &["hincrbyfloat", "hfoo", "f", "nan"]), err(&CmdError::NOT_FLOAT));
        assert_eq!(run(&mut t, &["exists", "hfoo"]), ":0\r\n");
        run(&mut t, &["hset", "h", "huge", "1e4932"]);
        assert_eq!(run(&mut t, &["hincrbyfloat", "h", "huge", "1e4932"]), err(&INCR_NAN_OR_INF));
        run(&mut t, &["hset", "h", "inf", "inf"]);
        assert_eq!(run(&mut t, &["hincrbyfloat", "h", "inf", "1"]), err(&INCR_NAN_OR_INF));
    }

    #[test]
    fn hrandfield_without_count() {
        let mut t = new();
        assert_eq!(run(&mut t, &["hrandfield", "nokey"]), "$-1\r\n");
        run(&mut t, &["hset", "h", "a", "1"]);
        assert_eq!(run(&mut t, &["hrandfield", "h"]), bulk("a"));
        run(&mut t, &["hello", "3"]);
        assert_eq!(run(&mut t, &["hrandfield", "nokey"]), "_\r\n");
    }

    #[test]
    fn hrandfield_count_errors_and_empties() {
        let mut t = new();
        run(&mut t, &["hset", "h", "a", "1"]);
        assert_eq!(run(&mut t, &["hrandfield", "h", "0"]), "*0\r\n");
        assert_eq!(run(&mut t, &["hrandfield", "nokey", "100"]), "*0\r\n");
        assert_eq!(run(&mut t, &["hrandfield", "h", "-9223372036854770000", "withvalues"]), err(&OUT_OF_RANGE));
        assert_eq!(run(&mut t, &["hrandfield", "h", "-9223372036854775808", "withvalues"]), err(&COUNT_RANGE));
        assert_eq!(run(&mut t, &["hrandfield", "h", "-9223372036854775808"]), err(&COUNT_RANGE));
        assert_eq!(run(&mut t, &["hrandfield", "h", "x"]), err(&CmdError::NOT_INT));
        assert_eq!(run(&mut t, &["hrandfield", "h", "1", "values"]), err(&CmdError::SYNTAX));
        assert_eq!(run(&mut t, &["hrandfield", "h", "1", "withvalues", "x"]), err(&CmdError::SYNTAX));
        assert_eq!(run(&mut t, &["hrandfield", "nokey", "1", "x"]), err(&CmdError::SYNTAX));
        run(&mut t, &["hello", "3"]);
        assert_eq!(run(&mut t, &["hrandfield", "h", "0"]), "*0\r\n");
        assert_eq!(run(&mut t, &["hrandfield", "nokey", "3"]), "*0\r\n");
    }

    #[test]
    fn hrandfield_count_shapes() {
        for entries in ["128", "0"] {
            let mut t = new();
            run(&mut t, &["config", "set", "hash-max-listpack-entries", entries]);
            let mut args = vec!["hset".to_string(), "h".into()];
            for i in 0..10 {
                args.push(format!("f{i}"));
                args.push(format!("v{i}"));
            }
            let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
            run(&mut t, &a);
            // Negative: repetitions.
            assert_eq!(items(&run(&mut t, &["hrandfield", "h", "-20"])).len(), 20);
            let r = items(&run(&mut t, &["hrandfield", "h", "-20", "withvalues"]));
            assert_eq!(r.len(), 40);
            for p in r.chunks(2) {
                assert_eq!(p[0][1..], p[1][1..]);
            }
            // Positive at or above the size: everything.
            for size in ["10", "20"] {
                let mut r = items(&run(&mut t, &["hrandfield", "h", size]));
                r.sort();
                assert_eq!(r.len(), 10);
                r.dedup();
                assert_eq!(r.len(), 10);
            }
            // Positive below the size: distinct.
            for size in [8usize, 2] {
                let mut r = items(&run(&mut t, &["hrandfield", "h", &size.to_string()]));
                r.sort();
                r.dedup();
                assert_eq!(r.len(), size);
                let r = items(&run(&mut t, &["hrandfield", "h", &size.to_string(), "withvalues"]));
                assert_eq!(r.len(), 2 * size);
            }
            // RESP3: an array of pairs with WITHVALUES.
            run(&mut t, &["hello", "3"]);
            let r = run(&mut t, &["hrandfield", "h", "3", "withvalues"]);
            assert!(r.starts_with("*3\r\n*2\r\n$"), "{r}");
            assert_eq!(r.matches("*2\r\n").count(), 3);
            let r = run(&mut t, &["hrandfield", "h", "-3", "withvalues"]);
            assert!(r.starts_with("*3\r\n*2\r\n$"), "{r}");
            let r = run(&mut t, &["hrandfield", "h", "3"]);
            assert!(r.starts_with("*3\r\n$"), "{r}");
            let r = run(&mut t, &["hrandfield", "h", "20", "withvalues"]);
            assert!(r.starts_with("*10\r\n*2\r\n$"), "{r}");
        }
    }

    fn full_hscan(t: &mut T, key: &str, extra: &[&str]) -> (Vec<String>, usize) {
        let mut cursor = "0".to_string();
        let mut all = Vec::new();
        let mut calls = 0;
        loop {
            let mut args = vec!["hscan", key, cursor.as_str()];
            args.extend_from_slice(extra);
            let r = run(t, &args);
            calls += 1;
            let mut v = items(&r);
            let next = v.remove(0);
            all.extend(v);
            cursor = next;
            if cursor == "0" {
                return (all, calls);
            }
        }
    }

    #[test]
    fn hscan_both_encodings() {
        let mut t = new();
        assert_eq!(run(&mut t, &["hscan", "nokey", "0"]), "*2\r\n$1\r\n0\r\n*0\r\n");
        assert_eq!(run(&mut t, &["hscan", "nokey", "0", "count", "0"]), "*2\r\n$1\r\n0\r\n*0\r\n");
        run(&mut t, &["hset", "small", "a", "1", "b", "2", "foo1", "3"]);
        assert_eq!(
            run(&mut t, &["hscan", "small", "0"]),
            "*2\r\n$1\r\n0\r\n*6\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$4\r\nfoo1\r\n$1\r\n3\r\n"
        );
        assert_eq!(
            run(&mut t, &["hscan", "small", "123", "match", "foo*", "count", "1"]),
            "*2\r\n$1\r\n0\r\n*2\r\n$4\r\nfoo1\r\n$1\r\n3\r\n"
        );
        assert_eq!(run(&mut t, &["hscan", "small", "x"]), err(&CmdError::INVALID_CURSOR));
        assert_eq!(run(&mut t, &["hscan", "small", "0", "count", "0"]), err(&CmdError::SYNTAX));
        assert_eq!(run(&mut t, &["hscan", "small", "0", "count", "x"]), err(&CmdError::NOT_INT));
        assert_eq!(run(&mut t, &["hscan", "small", "0", "count"]), err(&CmdError::SYNTAX));
        assert_eq!(run(&mut t, &["hscan", "small", "0", "type", "hash"]), err(&CmdError::SYNTAX));
        assert_eq!(run(&mut t, &["hscan", "small", "0", "novalues"]), err(&CmdError::SYNTAX));

        let mut args = vec!["hset".to_string(), "big".into()];
        for i in 0..1000 {
            args.push(format!("key:{i}"));
            args.push(i.to_string());
        }
        let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        run(&mut t, &a);
        assert_eq!(enc(&mut t, "big"), bulk("hashtable"));
        let (all, calls) = full_hscan(&mut t, "big", &[]);
        assert!(calls > 20, "{calls}");
        let mut keys: Vec<&String> = all.iter().step_by(2).collect();
        for p in all.chunks(2) {
            assert_eq!(p[0], format!("key:{}", p[1]));
        }
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), 1000);
        let (all, _) = full_hscan(&mut t, "big", &["match", "key:1*", "count", "100"]);
        assert_eq!(all.len(), 2 * 111);
    }

    #[test]
    fn cursor_parsing() {
        assert_eq!(crate::commands::keys::parse_cursor(b""), Some(0));
        assert_eq!(crate::commands::keys::parse_cursor(b"+7"), Some(7));
        assert_eq!(crate::commands::keys::parse_cursor(b"-1"), Some(u64::MAX));
        assert_eq!(crate::commands::keys::parse_cursor(b" 1"), None);
        assert_eq!(crate::commands::keys::parse_cursor(b"1 "), None);
        assert_eq!(crate::commands::keys::parse_cursor(b"18446744073709551616"), None);
        let mut b = [0u8; 20];
        let n = num_u64(&mut b, u64::MAX);
        assert_eq!(&b[..n], b"18446744073709551615");
    }

    #[test]
    fn restore_and_copy_keep_the_hash() {
        let mut t = new();
        run(&mut t, &["config", "set", "hash-max-listpack-entries", "2"]);
        run(&mut t, &["hset", "h", "a", "1", "b", "2", "c", "3"]);
        assert_eq!(run(&mut t, &["copy", "h", "h2"]), ":1\r\n");
        assert_eq!(enc(&mut t, "h2"), bulk("hashtable"));
        assert_eq!(run(&mut t, &["hget", "h2", "c"]), bulk("3"));
        run(&mut t, &["hdel", "h2", "c"]);
        assert_eq!(run(&mut t, &["hlen", "h"]), ":3\r\n");
    }

    #[test]
    fn specs_are_well_formed() {
        for s in SPECS {
            assert!(s.name.starts_with('h'));
            assert_eq!((s.first_key, s.last_key, s.key_step), (1, 1, 1));
            assert!(s.has(WRITE) != s.has(READONLY));
        }
        assert_eq!(SPECS.len(), 16);
    }
}
