//! Generic keyspace commands (commands layer, applied by the Keyspace actor): DEL, EXISTS, TYPE, KEYS, SCAN,
//! RANDOMKEY, RENAME, COPY, MOVE, the EXPIRE/TTL family, PERSIST and TOUCH. OBJECT is in object.rs, DUMP and
//! RESTORE in dump.rs.
//!
//! Replies, error texts and the order in which arguments are checked follow Redis 7.0's db.c, expire.c,
//! object.c and cluster.c, because clients and the Redis test suite observe all three. Key lookups follow
//! Redis's flavours: read lookups touch LRU/LFU and count hits/misses (`Db::get`), "no touch" ones only count
//! (`peek` plus the counters), write lookups touch without counting (`Db::get_mut`).

use super::spec::*;
use super::Ctx;
use crate::config::NOTIFY_GENERIC;
use crate::error::CmdError;
use crate::types::bytes::CompactBytes;
use crate::types::clock;
use crate::types::db::{lru_clock, Db, Entry};
use crate::types::glob::glob_match;

const SAME_OBJECT: CmdError = CmdError::new("ERR source and destination objects are the same");

/// Redis's LFU_INIT_VAL: the counter a new key starts with under an LFU policy.
const LFU_INIT_VAL: u32 = 5;

#[rustfmt::skip]
pub const SPECS: &[CommandSpec] = &family("generic", [
    cmd("del", -2, WRITE, del).keys(1, -1, 1).acl(KEYSPACE).doc("1.0.0", "O(N) where N is the number of keys that will be removed. When a key to remove holds a value other than a string, the individual complexity for this key is O(M) where M is the number of elements in the list, set, sorted set or hash. Removing a single key that holds a string value is O(1).", "Delete a key"),
    cmd("unlink", -2, WRITE | FAST, del).keys(1, -1, 1).acl(KEYSPACE).doc("4.0.0", "O(1) for each key removed regardless of its size. Then the command does O(N) work in a different thread in order to reclaim memory, where N is the number of allocations the deleted objects where composed of.", "Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non blocking."),
    cmd("exists", -2, READONLY | FAST, exists).keys(1, -1, 1).acl(KEYSPACE).doc("1.0.0", "O(N) where N is the number of keys to check.", "Determine if a key exists"),
    cmd("type", 2, READONLY | FAST, type_cmd).keys(1, 1, 1).acl(KEYSPACE).doc("1.0.0", "O(1)", "Determine the type stored at key"),
    cmd("keys", 2, READONLY, keys).acl(KEYSPACE | DANGEROUS).doc("1.0.0", "O(N) with N being the number of keys in the database, under the assumption that the key names in the database and the given pattern have limited length.", "Find all keys matching the given pattern"),
    cmd("scan", -2, READONLY, scan).acl(KEYSPACE).doc("2.8.0", "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.", "Incrementally iterate the keys space"),
    cmd("randomkey", 1, READONLY, randomkey).acl(KEYSPACE).doc("1.0.0", "O(1)", "Return a random key from the keyspace"),
    cmd("rename", 3, WRITE, rename).keys(1, 2, 1).acl(KEYSPACE).doc("1.0.0", "O(1)", "Rename a key"),
    cmd("renamenx", 3, WRITE | FAST, renamenx).keys(1, 2, 1).acl(KEYSPACE).doc("1.0.0", "O(1)", "Rename a key, only if the new key does not exist"),
    cmd("copy", -3, WRITE | DENYOOM, copy).keys(1, 2, 1).acl(KEYSPACE).doc("6.2.0", "O(N) worst case for collections, where N is the number of nested items. O(1) for string values.", "Copy a key"),
    cmd("move", 3, WRITE | FAST, move_cmd).keys(1, 1, 1).acl(KEYSPACE).doc("1.0.0", "O(1)", "Move a key to another database"),
    cmd("expire", -3, WRITE | FAST, expire).keys(1, 1, 1).acl(KEYSPACE).doc("1.0.0", "O(1)", "Set a key's time to live in seconds"),
    cmd("pexpire", -3, WRITE | FAST, pexpire).keys(1, 1, 1).acl(KEYSPACE).doc("2.6.0", "O(1)", "Set a key's time to live in milliseconds"),
    cmd("expireat", -3, WRITE | FAST, expireat).keys(1, 1, 1).acl(KEYSPACE).doc("1.2.0", "O(1)", "Set the expiration for a key as a UNIX timestamp"),
    cmd("pexpireat", -3, WRITE | FAST, pexpireat).keys(1, 1, 1).acl(KEYSPACE).doc("2.6.0", "O(1)", "Set the expiration for a key as a UNIX timestamp specified in milliseconds"),
    cmd("ttl", 2, READONLY | FAST, ttl).keys(1, 1, 1).acl(KEYSPACE).doc("1.0.0", "O(1)", "Get the time to live for a key in seconds"),
    cmd("pttl", 2, READONLY | FAST, pttl).keys(1, 1, 1).acl(KEYSPACE).doc("2.6.0", "O(1)", "Get the time to live for a key in milliseconds"),
    cmd("expiretime", 2, READONLY | FAST, expiretime).keys(1, 1, 1).acl(KEYSPACE).doc("7.0.0", "O(1)", "Get the expiration Unix timestamp for a key"),
    cmd("pexpiretime", 2, READONLY | FAST, pexpiretime).keys(1, 1, 1).acl(KEYSPACE).doc("7.0.0", "O(1)", "Get the expiration Unix timestamp for a key in milliseconds"),
    cmd("persist", 2, WRITE | FAST, persist).keys(1, 1, 1).acl(KEYSPACE).doc("2.2.0", "O(1)", "Remove the expiration from a key"),
    cmd("touch", -2, READONLY | FAST, touch).keys(1, -1, 1).acl(KEYSPACE).doc("3.2.1", "O(N) where N is the number of keys that will be touched.", "Alters the last access time of a key(s). Returns the number of existing keys specified."),
    // OBJECT is a container: the executor resolves argv[1] to one of these subcommands and checks its arity
    // (counted from the parent's name) itself.
]);

// ---------------------------------------------------------------------------------------------------------
// Lookup helpers

/// A "no touch" read lookup's bookkeeping (Redis's LOOKUP_NOTOUCH still counts keyspace hits and misses).
#[inline]
pub(super) fn count_lookup(db: &mut Db, found: bool) {
    if found {
        db.hits += 1;
    } else {
        db.misses += 1;
    }
}

/// The LRU/LFU field of a freshly created object (Redis's createObject): the LRU clock, or under an LFU
/// policy the current minute with the initial counter.
pub(super) fn fresh_lru(lfu: bool) -> u32 {
    if lfu {
        lfu_now(LFU_INIT_VAL)
    } else {
        lru_clock()
    }
}

/// LFU data with the given counter, stamped with the current minute (16 bits).
pub(super) fn lfu_now(counter: u32) -> u32 {
    ((((clock::now_ms() / 60_000) as u32) & 0xFFFF) << 8) | counter
}

/// A database index argument: a C int (Redis's getIntFromObjectOrReply and its range error), then in range.
fn db_index_arg(cx: &Ctx<'_>, i: usize) -> Result<usize, CmdError> {
    let id = cx.int_arg(i)?;
    if id < i32::MIN as i64 || id > i32::MAX as i64 {
        return Err(CmdError::new("ERR value is out of range, value must between -2147483648 and 2147483647"));
    }
    if id < 0 || id as usize >= cx.s.dbs.len() {
        return Err(CmdError::DB_INDEX);
    }
    Ok(id as usize)
}

// ---------------------------------------------------------------------------------------------------------
// DEL / UNLINK / EXISTS / TYPE / TOUCH

/// DEL key [key ...] — also UNLINK, which frees big values on the lazyfree thread (lazyfree.rs).
fn del(cx: &mut Ctx<'_>) -> CmdResult {
    let mut n = 0;
    // UNLINK, and DEL under lazyfree-lazy-user-del, leave big values to the lazyfree thread (Redis's
    // delGenericCommand with lazy set).
    let lazy = cx.s.config.lazyfree_lazy_user_del || cx.spec.name == "unlink";
    for i in 1..cx.argc() {
        let key = cx.arg(i);
        let db = cx.db();
        // `contains` first so that an expired key counts as an expiry, not as a deletion.
        if !db.contains(key) {
            continue;
        }
        if let Some(e) = db.remove(key) {
            if lazy {
                cx.s.lazyfree.free(e.value);
            }
            cx.modified(key);
            cx.notify(NOTIFY_GENERIC, "del", key);
            n += 1;
        }
    }
    cx.out.int(n);
    Ok(())
}

/// EXISTS key [key ...] — a key named twice counts twice.
fn exists(cx: &mut Ctx<'_>) -> CmdResult {
    let mut n = 0;
    for i in 1..cx.argc() {
        let key = cx.arg(i);
        let db = cx.db();
        let found = db.contains(key);
        count_lookup(db, found);
        n += found as i64;
    }
    cx.out.int(n);
    Ok(())
}

/// TYPE key
fn type_cmd(cx: &mut Ctx<'_>) -> CmdResult {
    let key = cx.arg(1);
    let (db, out) = cx.db_out();
    let name = db.peek(key).map(|e| e.value.kind().name());
    count_lookup(db, name.is_some());
    out.simple(name.unwrap_or("none"));
    Ok(())
}

/// TOUCH key [key ...] — a read lookup of each key, for its side effect on LRU/LFU.
fn touch(cx: &mut Ctx<'_>) -> CmdResult {
    let mut n = 0;
    for i in 1..cx.argc() {
        let key = cx.arg(i);
        n += cx.db().get(key).is_some() as i64;
    }
    cx.out.int(n);
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// KEYS / SCAN / RANDOMKEY

/// KEYS pattern
fn keys(cx: &mut Ctx<'_>) -> CmdResult {
    let pat = cx.arg(1);
    // Redis answers the bare "*" without the matcher (which would not match the empty key).
    let all = pat == b"*";
    let (db, out) = cx.db_out();
    let mut found: Vec<CompactBytes> = Vec::new();
    db.for_each(|e, _| {
        if all || glob_match(pat, &e.key, false) {
            found.push(CompactBytes::new(&e.key));
        }
    });
    out.array(found.len());
    for k in &found {
        out.bulk(k);
    }
    Ok(())
}

/// A SCAN cursor as Redis's parseScanCursorOrReply reads it: C's strtoul (optional sign, decimal digits, a
/// negative number wraps around), with leading spaces, trailing junk and overflow refused. The C string
/// ends at the first NUL, and an empty one is cursor 0.
pub(crate) fn parse_cursor(arg: &[u8]) -> Option<u64> {
    let s = match arg.iter().position(|&c| c == 0) {
        Some(n) => &arg[..n],
        None => arg,
    };
    if s.is_empty() {
        return Some(0);
    }
    if matches!(s[0], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        return None;
    }
    let (neg, digits) = match s[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

/// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]
///
/// The cursor is a position in the Db's scan space (see `Db::scan`); COUNT is how many keys to visit before
/// filtering, as in Redis. An unknown TYPE matches nothing (Redis 7.0 does not validate it).
fn scan(cx: &mut Ctx<'_>) -> CmdResult {
    let cursor = parse_cursor(cx.arg(1)).ok_or(CmdError::INVALID_CURSOR)?;
    let mut count: i64 = 10;
    let mut pattern: Option<&[u8]> = None;
    let mut type_name: Option<&[u8]> = None;
    let argc = cx.argc();
    let mut i = 2;
    while i < argc {
        let more = argc - i >= 2;
        if cx.argv.is(i, "count") && more {
            count = cx.int_arg(i + 1)?;
            if count < 1 {
                return Err(CmdError::SYNTAX);
            }
        } else if cx.argv.is(i, "match") && more {
            let p = cx.arg(i + 1);
            pattern = if p == b"*" { None } else { Some(p) };
        } else if cx.argv.is(i, "type") && more {
            type_name = Some(cx.arg(i + 1));
        } else {
            return Err(CmdError::SYNTAX);
        }
        i += 2;
    }
    let (db, out) = cx.db_out();
    let mut found: Vec<CompactBytes> = Vec::new();
    let mut type_lookups = 0;
    let next = db.scan(cursor, count as usize, |e| {
        if let Some(p) = pattern {
            if !glob_match(p, &e.key, false) {
                return;
            }
        }
        if let Some(t) = type_name {
            type_lookups += 1;
            if !e.value.kind().name().as_bytes().eq_ignore_ascii_case(t) {
                return;
            }
        }
        found.push(CompactBytes::new(&e.key));
    });
    // Redis finds each candidate's type with a counted lookup (keyspace_hits).
    db.hits += type_lookups;
    out.array(2);
    out.bulk(next.to_string().as_bytes());
    out.array(found.len());
    for k in &found {
        out.bulk(k);
    }
    Ok(())
}

/// RANDOMKEY
fn randomkey(cx: &mut Ctx<'_>) -> CmdResult {
    let (db, out) = cx.db_out();
    match db.random_key() {
        Some(k) => out.bulk(&k),
        None => out.nil(),
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// RENAME / RENAMENX / MOVE / COPY

/// RENAME key newkey
fn rename(cx: &mut Ctx<'_>) -> CmdResult {
    rename_generic(cx, false)
}

/// RENAMENX key newkey
fn renamenx(cx: &mut Ctx<'_>) -> CmdResult {
    rename_generic(cx, true)
}

/// The entry moves whole: value, TTL and LRU/LFU data stay with it, as Redis moves the same object.
fn rename_generic(cx: &mut Ctx<'_>, nx: bool) -> CmdResult {
    let (src, dst) = (cx.arg(1), cx.arg(2));
    let (db, out) = cx.db_out();
    if db.get_mut(src).is_none() {
        return Err(CmdError::NO_KEY);
    }
    // Same name: nothing to do, but only once the key is known to exist.
    if src == dst {
        if nx {
            out.int(0);
        } else {
            out.ok();
        }
        return Ok(());
    }
    // Looked up even without NX, as Redis does, so that an expired `dst` counts as expired.
    if db.contains(dst) && nx {
        out.int(0);
        return Ok(());
    }
    let Some((mut entry, expire_at)) = db.take(src) else { return Err(CmdError::NO_KEY) };
    entry.rename(dst);
    // insert_entry replaces an existing `dst` (and its TTL).
    db.insert_entry(entry, expire_at);
    if nx {
        out.int(1);
    } else {
        out.ok();
    }
    cx.modified(src);
    cx.modified(dst);
    cx.notify(NOTIFY_GENERIC, "rename_from", src);
    cx.notify(NOTIFY_GENERIC, "rename_to", dst);
    Ok(())
}

/// MOVE key db
fn move_cmd(cx: &mut Ctx<'_>) -> CmdResult {
    let key = cx.arg(1);
    let dst = db_index_arg(cx, 2)?;
    if dst == cx.db {
        return Err(SAME_OBJECT);
    }
    if cx.db().get_mut(key).is_none() || cx.s.dbs[dst].contains(key) {
        cx.out.int(0);
        return Ok(());
    }
    let Some((entry, expire_at)) = cx.db().take(key) else {
        cx.out.int(0);
        return Ok(());
    };
    cx.s.dbs[dst].insert_entry(entry, expire_at);
    // The source db and the destination db both change, as Redis signals both.
    cx.modified(key);
    cx.modified_in(dst, key);
    cx.notify(NOTIFY_GENERIC, "move_from", key);
    cx.notify_in(NOTIFY_GENERIC, "move_to", key, dst);
    cx.out.int(1);
    Ok(())
}

/// COPY source destination [DB destination-db] [REPLACE]
///
/// The copy is a new object: same value and TTL, fresh LRU/LFU data (Redis's dupStringObject + dbAdd).
fn copy(cx: &mut Ctx<'_>) -> CmdResult {
    let (src, dst) = (cx.arg(1), cx.arg(2));
    let mut replace = false;
    let mut dst_db = cx.db;
    let mut j = 3;
    while j < cx.argc() {
        if cx.argv.is(j, "replace") {
            replace = true;
        } else if cx.argv.is(j, "db") && j + 1 < cx.argc() {
            dst_db = db_index_arg(cx, j + 1)?;
            j += 1;
        } else {
            return Err(CmdError::SYNTAX);
        }
        j += 1;
    }
    if dst_db == cx.db && src == dst {
        return Err(SAME_OBJECT);
    }
    let db = cx.db();
    let Some((value, expire_at)) = db.get(src).map(|e| e.value.clone()).map(|v| (v, db.stored_expire(src))) else {
        cx.out.int(0);
        return Ok(());
    };
    let target = &mut cx.s.dbs[dst_db];
    if target.contains(dst) {
        if !replace {
            cx.out.int(0);
            return Ok(());
        }
        target.remove(dst);
    }
    let lru = fresh_lru(target.lfu);
    target.insert_entry(Entry::new(dst, value, lru), expire_at);
    cx.modified_in(dst_db, dst);
    cx.notify_in(NOTIFY_GENERIC, "copy_to", dst, dst_db);
    cx.out.int(1);
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// EXPIRE family / TTL family / PERSIST

const EXPIRE_NX: u8 = 1;
const EXPIRE_XX: u8 = 2;
const EXPIRE_GT: u8 = 4;
const EXPIRE_LT: u8 = 8;

/// EXPIRE key seconds [NX | XX | GT | LT]
fn expire(cx: &mut Ctx<'_>) -> CmdResult {
    expire_generic(cx, true, true)
}

/// PEXPIRE key milliseconds [NX | XX | GT | LT]
fn pexpire(cx: &mut Ctx<'_>) -> CmdResult {
    expire_generic(cx, true, false)
}

/// EXPIREAT key unix-time-seconds [NX | XX | GT | LT]
fn expireat(cx: &mut Ctx<'_>) -> CmdResult {
    expire_generic(cx, false, true)
}

/// PEXPIREAT key unix-time-milliseconds [NX | XX | GT | LT]
fn pexpireat(cx: &mut Ctx<'_>) -> CmdResult {
    expire_generic(cx, false, false)
}

/// Redis's parseExtendedExpireArgumentsOrReply: options from argv[3] on.
fn expire_flags(cx: &Ctx<'_>) -> Result<u8, CmdError> {
    let mut flags = 0;
    for j in 3..cx.argc() {
        let opt = cx.arg(j);
        flags |= if opt.eq_ignore_ascii_case(b"nx") {
            EXPIRE_NX
        } else if opt.eq_ignore_ascii_case(b"xx") {
            EXPIRE_XX
        } else if opt.eq_ignore_ascii_case(b"gt") {
            EXPIRE_GT
        } else if opt.eq_ignore_ascii_case(b"lt") {
            EXPIRE_LT
        } else {
            return Err(CmdError::msg(format!("ERR Unsupported option {}", String::from_utf8_lossy(opt))));
        };
    }
    if flags & EXPIRE_NX != 0 && flags & (EXPIRE_XX | EXPIRE_GT | EXPIRE_LT) != 0 {
        return Err(CmdError::new("ERR NX and XX, GT or LT options at the same time are not compatible"));
    }
    if flags & EXPIRE_GT != 0 && flags & EXPIRE_LT != 0 {
        return Err(CmdError::new("ERR GT and LT options at the same time are not compatible"));
    }
    Ok(flags)
}

/// Shared by the four EXPIRE commands: `relative` adds the current time, `seconds` scales by 1000.
fn expire_generic(cx: &mut Ctx<'_>, relative: bool, seconds: bool) -> CmdResult {
    let flags = expire_flags(cx)?;
    let name = cx.spec.name;
    let bad_time = || CmdError::msg(format!("ERR invalid expire time in '{name}' command"));
    let mut when = cx.int_arg(2)?;
    if seconds {
        when = when.checked_mul(1000).ok_or_else(bad_time)?;
    }
    let base = if relative { clock::now_ms() } else { 0 };
    // Only overflow past the top is an error: a time far in the past just deletes the key.
    if when > i64::MAX - base {
        return Err(bad_time());
    }
    when += base;
    // Redis's checkAlreadyExpired: a time in the past deletes the key, but not while loading the AOF, where
    // later commands may still touch it (it expires once the load is over).
    let loading = cx.s.persist.aof.loading;
    let key = cx.arg(1);
    let (db, out) = cx.db_out();
    if db.get_mut(key).is_none() {
        out.int(0);
        return Ok(());
    }
    let current = db.stored_expire(key);
    // 0 means "no TTL", which GT and LT treat as infinite.
    let refused = (flags & EXPIRE_NX != 0 && current != 0)
        || (flags & EXPIRE_XX != 0 && current == 0)
        || (flags & EXPIRE_GT != 0 && (current == 0 || when <= current))
        || (flags & EXPIRE_LT != 0 && current != 0 && when >= current);
    if refused {
        out.int(0);
        return Ok(());
    }
    let deleted = when <= clock::now_ms() && !loading;
    if deleted {
        // Already in the past: Redis deletes the key (and propagates a DEL).
        db.remove(key);
    } else {
        db.set_expire(key, when);
    }
    out.int(1);
    cx.modified(key);
    cx.notify(NOTIFY_GENERIC, if deleted { "del" } else { "expire" }, key);
    if deleted {
        cx.propagate_as(&[b"DEL", key]);
    } else {
        // Replicas get the absolute time, options kept, as Redis's rewrite to PEXPIREAT.
        let when = when.to_string();
        let mut args: Vec<&[u8]> = vec![b"PEXPIREAT", key, when.as_bytes()];
        args.extend(cx.argv.iter().skip(3));
        cx.propagate_as(&args);
    }
    Ok(())
}

/// TTL key
fn ttl(cx: &mut Ctx<'_>) -> CmdResult {
    ttl_generic(cx, false, false)
}

/// PTTL key
fn pttl(cx: &mut Ctx<'_>) -> CmdResult {
    ttl_generic(cx, true, false)
}

/// EXPIRETIME key
fn expiretime(cx: &mut Ctx<'_>) -> CmdResult {
    ttl_generic(cx, false, true)
}

/// PEXPIRETIME key
fn pexpiretime(cx: &mut Ctx<'_>) -> CmdResult {
    ttl_generic(cx, true, true)
}

/// -2 for a missing key, -1 without a TTL, else the remaining (or absolute) time; seconds round to nearest.
fn ttl_generic(cx: &mut Ctx<'_>, ms: bool, abs: bool) -> CmdResult {
    let key = cx.arg(1);
    let now = clock::now_ms();
    let (db, out) = cx.db_out();
    let at = db.expire_at(key);
    count_lookup(db, at.is_some());
    match at {
        None => out.int(-2),
        Some(0) => out.int(-1),
        Some(at) => {
            let t = (if abs { at } else { at - now }).max(0);
            // Rounded in 128 bits: Redis's `(ttl+500)/1000` gives 9223372036854776 for an expiry at i64::MAX.
            out.int(if ms { t } else { ((t as i128 + 500) / 1000) as i64 });
        }
    }
    Ok(())
}

/// PERSIST key
fn persist(cx: &mut Ctx<'_>) -> CmdResult {
    let key = cx.arg(1);
    let db = cx.db();
    let had_ttl = db.get_mut(key).is_some() && db.stored_expire(key) != 0;
    if had_ttl {
        db.set_expire(key, 0);
        cx.modified(key);
        cx.notify(NOTIFY_GENERIC, "persist", key);
    }
    cx.out.int(had_ttl as i64);
    Ok(())
}

#[cfg(test)]
#[path = "keys_tests.rs"]
mod tests;
