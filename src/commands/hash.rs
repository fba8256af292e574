//! Hash commands: HSET/HGET and their variants, counters, HRANDFIELD and HSCAN (commands layer, applied by the
//! Keyspace actor).
//!
//! Replies, error texts and their order follow Redis 7.0's t_hash.c (and db.c's scanGenericCommand for
//! HSCAN), because clients and the Redis test suite match on them. Encodings follow Redis too: a hash is a
//! `listpack` until it has more than hash-max-listpack-entries fields or a field or value longer than
//! hash-max-listpack-value bytes, then a `hashtable` for good (see `types::hash`).

use super::spec::*;
use super::Ctx;
use crate::config::{NOTIFY_GENERIC, NOTIFY_HASH};
use crate::error::CmdError;
use crate::resp::encode::Out;
use crate::types::db::Db;
use crate::types::glob::glob_match;
use crate::types::hash::Hash;
use crate::types::num;
use crate::types::num::ld;
use crate::types::value::Value;

const ALL_CX: &str = "O(N) where N is the size of the hash.";
const SCAN_CX: &str = "O(1) for every call. O(N) for a complete iteration, including enough command calls for the \
cursor to return back to 0. N is the number of elements inside the collection..";

/// The hash commands, as Redis 7.0's command table declares them.
#[rustfmt::skip]
pub const SPECS: &[CommandSpec] = &family("hash", [
    cmd("hdel", -3, WRITE | FAST, hdel).keys(1, 1, 1).acl(HASH).doc("2.0.0", "O(N) where N is the number of fields to be removed.", "Delete one or more hash fields"),
    cmd("hexists", 3, READONLY | FAST, hexists).keys(1, 1, 1).acl(HASH).doc("2.0.0", "O(1)", "Determine if a hash field exists"),
    cmd("hget", 3, READONLY | FAST, hget).keys(1, 1, 1).acl(HASH).doc("2.0.0", "O(1)", "Get the value of a hash field"),
    cmd("hgetall", 2, READONLY, hgetall).keys(1, 1, 1).acl(HASH).doc("2.0.0", ALL_CX, "Get all the fields and values in a hash"),
    cmd("hincrby", 4, WRITE | DENYOOM | FAST, hincrby).keys(1, 1, 1).acl(HASH).doc("2.0.0", "O(1)", "Increment the integer value of a hash field by the given number"),
    cmd("hincrbyfloat", 4, WRITE | DENYOOM | FAST, hincrbyfloat).keys(1, 1, 1).acl(HASH).doc("2.6.0", "O(1)", "Increment the float value of a hash field by the given amount"),
    cmd("hkeys", 2, READONLY, hkeys).keys(1, 1, 1).acl(HASH).doc("2.0.0", ALL_CX, "Get all the fields in a hash"),
    cmd("hlen", 2, READONLY | FAST, hlen).keys(1, 1, 1).acl(HASH).doc("2.0.0", "O(1)", "Get the number of fields in a hash"),
    cmd("hmget", -3, READONLY | FAST, hmget).keys(1, 1, 1).acl(HASH).doc("2.0.0", "O(N) where N is the number of fields being requested.", "Get the values of all the given hash fields"),
    cmd("hmset", -4, WRITE | DENYOOM | FAST, hset).keys(1, 1, 1).acl(HASH).doc("2.0.0", "O(N) where N is the number of fields being set.", "Set multiple hash fields to multiple values"),
    cmd("hrandfield", -2, READONLY, hrandfield).keys(1, 1, 1).acl(HASH).doc("6.2.0", "O(N) where N is the number of fields returned", "Get one or multiple random fields from a hash"),
    cmd("hscan", -3, READONLY, hscan).keys(1, 1, 1).acl(HASH).doc("2.8.0", SCAN_CX, "Incrementally iterate hash fields and associated values"),
    cmd("hset", -4, WRITE | DENYOOM | FAST, hset).keys(1, 1, 1).acl(HASH).doc("2.0.0", "O(1) for each field/value pair added, so O(N) to add N field/value pairs when the command is called with multiple field/value pairs.", "Set the string value of a hash field"),
    cmd("hsetnx", 4, WRITE | DENYOOM | FAST, hsetnx).keys(1, 1, 1).acl(HASH).doc("2.0.0", "O(1)", "Set the value of a hash field, only if the field does not exist"),
    cmd("hstrlen", 3, READONLY | FAST, hstrlen).keys(1, 1, 1).acl(HASH).doc("3.2.0", "O(1)", "Get the length of the value of a hash field"),
    cmd("hvals", 2, READONLY, hvals).keys(1, 1, 1).acl(HASH).doc("2.0.0", ALL_CX, "Get all the values in a hash"),
]);

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

/// Redis's hashTypeLookupWriteOrCreate: run `f` on the hash at `key`, or on a new one stored under `key` if
/// `f` succeeds and leaves it non-empty. WRONGTYPE for other types. `f` must change nothing when it fails.
#[inline]
fn write<R>(db: &mut Db, key: &[u8], f: impl FnOnce(&mut Hash) -> Result<R, CmdError>) -> Result<R, CmdError> {
    match db.write::<Hash>(key)? {
        Some(h) => f(h),
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
    cx.notify(NOTIFY_HASH, "hset", key);
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
        cx.notify(NOTIFY_HASH, "hset", key);
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
    let (deleted, empty) = match db.write::<Hash>(key)? {
        None => (0, false),
        Some(h) => {
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
    };
    if empty {
        db.remove(key);
    }
    out.int(deleted as i64);
    if deleted > 0 {
        cx.modified(key);
        cx.s.persist.dirty += deleted - 1;
        cx.notify(NOTIFY_HASH, "hdel", key);
        if empty {
            cx.notify(NOTIFY_GENERIC, "del", key);
        }
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
        h.insert(field, itoa::Buffer::new().format(value).as_bytes(), &enc);
        Ok(value)
    })?;
    out.int(value);
    cx.modified(key);
    cx.notify(NOTIFY_HASH, "hincrby", key);
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
    // As Redis: replicas and the AOF get the result (HSET), not the increment, so float formatting and
    // precision cannot make them differ.
    cx.propagate_as(&[b"HSET", key, field, text.as_bytes()]);
    cx.modified(key);
    cx.notify(NOTIFY_HASH, "hincrbyfloat", key);
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// Reads
// ---------------------------------------------------------------------------------------------------------

/// HGET key field
fn hget(cx: &mut Ctx<'_>) -> CmdResult {
    let (key, field) = (cx.arg(1), cx.arg(2));
    let (db, out) = cx.db_out();
    match db.read::<Hash>(key)?.and_then(|h| h.get(field)) {
        Some(v) => out.bulk(v),
        None => out.nil(),
    }
    Ok(())
}

/// HMGET key field [field ...]
fn hmget(cx: &mut Ctx<'_>) -> CmdResult {
    let argv = cx.argv;
    let (db, out) = cx.db_out();
    let h = db.read::<Hash>(argv.get(1))?;
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
    out.int(db.read::<Hash>(key)?.map_or(0, |h| h.len()) as i64);
    Ok(())
}

/// HSTRLEN key field
fn hstrlen(cx: &mut Ctx<'_>) -> CmdResult {
    let (key, field) = (cx.arg(1), cx.arg(2));
    let (db, out) = cx.db_out();
    out.int(db.read::<Hash>(key)?.and_then(|h| h.get(field)).map_or(0, |v| v.len()) as i64);
    Ok(())
}

/// HEXISTS key field
fn hexists(cx: &mut Ctx<'_>) -> CmdResult {
    let (key, field) = (cx.arg(1), cx.arg(2));
    let (db, out) = cx.db_out();
    out.int(db.read::<Hash>(key)?.is_some_and(|h| h.contains(field)) as i64);
    Ok(())
}

/// HKEYS key
fn hkeys(cx: &mut Ctx<'_>) -> CmdResult {
    let key = cx.arg(1);
    let (db, out) = cx.db_out();
    match db.read::<Hash>(key)? {
        None => out.array(0),
        Some(h) => out.bulks(h.iter().map(|(k, _)| k)),
    }
    Ok(())
}

/// HVALS key
fn hvals(cx: &mut Ctx<'_>) -> CmdResult {
    let key = cx.arg(1);
    let (db, out) = cx.db_out();
    match db.read::<Hash>(key)? {
        None => out.array(0),
        Some(h) => out.bulks(h.iter().map(|(_, v)| v)),
    }
    Ok(())
}

/// HGETALL key (a map in RESP3)
fn hgetall(cx: &mut Ctx<'_>) -> CmdResult {
    let key = cx.arg(1);
    let (db, out) = cx.db_out();
    match db.read::<Hash>(key)? {
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
    match db.read::<Hash>(key)?.and_then(|h| h.random_pair()) {
        Some((k, _)) => out.bulk(k),
        None => out.nil(),
    }
    Ok(())
}

/// Redis's hrandfieldWithCountCommand.
fn hrandfield_count(db: &mut Db, out: &mut Out, key: &[u8], l: i64, withvalues: bool) -> CmdResult {
    let Some(h) = db.read::<Hash>(key)? else {
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
    let Some(h) = db.read::<Hash>(argv.get(1))? else {
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
    out.bulk(itoa::Buffer::new().format(next).as_bytes());
    out.array(found.len() * 2);
    for (k, v) in found {
        out.bulk(k);
        out.bulk(v);
    }
    Ok(())
}

#[cfg(test)]
#[path = "hash_tests.rs"]
mod tests;
