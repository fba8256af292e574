//! Generic keyspace commands (commands layer, applied by the Keyspace actor): DEL, EXISTS, TYPE, KEYS, SCAN,
//! RANDOMKEY, RENAME, COPY, MOVE, the EXPIRE/TTL family, PERSIST, TOUCH, OBJECT, DUMP and RESTORE.
//!
//! Replies, error texts and the order in which arguments are checked follow Redis 7.0's db.c, expire.c,
//! object.c and cluster.c, because clients and the Redis test suite observe all three. Key lookups follow
//! Redis's flavours: read lookups touch LRU/LFU and count hits/misses (`Db::get`), "no touch" ones only count
//! (`peek` plus the counters), write lookups touch without counting (`Db::get_mut`).

use super::spec::*;
use super::Ctx;
use crate::error::CmdError;
use crate::persist::dump::{dump_value, restore_value};
use crate::types::bytes::CompactBytes;
use crate::types::clock;
use crate::types::db::{idle_seconds, lfu_freq, lru_clock, Db, Entry};
use crate::types::glob::glob_match;
use crate::types::value::Value;

const SAME_OBJECT: CmdError = CmdError::new("ERR source and destination objects are the same");
const BUSYKEY: CmdError = CmdError::new("BUSYKEY Target key name already exists.");

/// Redis's LFU_INIT_VAL: the counter a new key starts with under an LFU policy.
const LFU_INIT_VAL: u32 = 5;
/// Redis's LRU_CLOCK_MAX (24-bit clock).
const LRU_CLOCK_MAX: i64 = (1 << 24) - 1;
/// Integers Redis keeps as shared objects (OBJECT REFCOUNT reports them as INT_MAX).
const OBJ_SHARED_INTEGERS: i64 = 10_000;
const OBJ_SHARED_REFCOUNT: i64 = i32::MAX as i64;

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
    cmd("object", -2, 0, object_container).subs(OBJECT_SUBCOMMANDS).doc("2.2.3", "Depends on subcommand.", "A container for object introspection commands"),
    cmd("dump", 2, READONLY, dump).keys(1, 1, 1).acl(KEYSPACE).doc("2.6.0", "O(1) to access the key and additional O(N*M) to serialize it, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1).", "Return a serialized version of the value stored at the specified key."),
    cmd("restore", -4, WRITE | DENYOOM, restore).keys(1, 1, 1).acl(KEYSPACE | DANGEROUS).doc("2.6.0", "O(1) to create the new key and additional O(N*M) to reconstruct the serialized value, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1). However for sorted set values the complexity is O(N*M*log(N)) because inserting values into sorted sets is O(log(N)).", "Create a key using the provided serialized value, previously obtained using DUMP."),
]);

#[rustfmt::skip]
const OBJECT_SUBCOMMANDS: &[CommandSpec] = &family("generic", [
    cmd("object|encoding", 3, READONLY, object_encoding).keys(2, 2, 1).acl(KEYSPACE).doc("2.2.3", "O(1)", "Inspect the internal encoding of a Redis object"),
    cmd("object|freq", 3, READONLY, object_freq).keys(2, 2, 1).acl(KEYSPACE).doc("4.0.0", "O(1)", "Get the logarithmic access frequency counter of a Redis object"),
    cmd("object|help", 2, LOADING | STALE, object_help).acl(KEYSPACE).doc("6.2.0", "O(1)", "Show helpful text about the different subcommands"),
    cmd("object|idletime", 3, READONLY, object_idletime).keys(2, 2, 1).acl(KEYSPACE).doc("2.2.3", "O(1)", "Get the time since a Redis object was last accessed"),
    cmd("object|refcount", 3, READONLY, object_refcount).keys(2, 2, 1).acl(KEYSPACE).doc("2.2.3", "O(1)", "Get the number of references to the value of the key"),
]);

// ---------------------------------------------------------------------------------------------------------
// Lookup helpers

/// A "no touch" read lookup's bookkeeping (Redis's LOOKUP_NOTOUCH still counts keyspace hits and misses).
#[inline]
fn count_lookup(db: &mut Db, found: bool) {
    if found {
        db.hits += 1;
    } else {
        db.misses += 1;
    }
}

/// The LRU/LFU field of a freshly created object (Redis's createObject): the LRU clock, or under an LFU
/// policy the current minute with the initial counter.
fn fresh_lru(lfu: bool) -> u32 {
    if lfu {
        lfu_now(LFU_INIT_VAL)
    } else {
        lru_clock()
    }
}

/// LFU data with the given counter, stamped with the current minute (16 bits).
fn lfu_now(counter: u32) -> u32 {
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

/// DEL key [key ...] — also UNLINK: values are freed in place either way (no lazy-free thread yet).
fn del(cx: &mut Ctx<'_>) -> CmdResult {
    let mut n = 0;
    for i in 1..cx.argc() {
        let key = cx.arg(i);
        let db = cx.db();
        // `contains` first so that an expired key counts as an expiry, not as a deletion.
        if db.contains(key) && db.remove(key).is_some() {
            cx.modified(key);
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
    let deleted = when <= clock::now_ms();
    if deleted {
        // Already in the past: Redis deletes the key (and propagates a DEL).
        db.remove(key);
    } else {
        db.set_expire(key, when);
    }
    out.int(1);
    cx.modified(key);
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
    }
    cx.out.int(had_ttl as i64);
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// OBJECT

/// OBJECT without a known subcommand never reaches here (the executor answers); kept for the table.
fn object_container(cx: &mut Ctx<'_>) -> CmdResult {
    Err(CmdError::unknown_subcommand("object", if cx.argc() > 1 { cx.arg(1) } else { b"" }))
}

/// What OBJECT needs from an entry, copied out so that the borrow of the db ends.
struct ObjectInfo {
    encoding: &'static str,
    lru: u32,
    shared_int: bool,
}

/// OBJECT's lookup: no touch, hits/misses counted; `None` after replying nil for a missing key.
fn object_lookup(cx: &mut Ctx<'_>) -> Option<ObjectInfo> {
    let key = cx.arg(2);
    let (db, out) = cx.db_out();
    let info = db.peek(key).map(|e| ObjectInfo {
        encoding: e.value.encoding(),
        lru: e.lru(),
        shared_int: matches!(e.value, Value::Int(i) if (0..OBJ_SHARED_INTEGERS).contains(&i)),
    });
    count_lookup(db, info.is_some());
    if info.is_none() {
        out.nil();
    }
    info
}

/// OBJECT ENCODING key
fn object_encoding(cx: &mut Ctx<'_>) -> CmdResult {
    if let Some(info) = object_lookup(cx) {
        cx.out.bulk_str(info.encoding);
    }
    Ok(())
}

/// OBJECT REFCOUNT key — values have one owner, except that Redis shares the integers 0..9999 (reported as
/// INT_MAX) unless maxmemory is set with an LRU/LFU policy, which needs a private LRU field per object.
fn object_refcount(cx: &mut Ctx<'_>) -> CmdResult {
    if let Some(info) = object_lookup(cx) {
        let policy = &cx.s.config.maxmemory_policy;
        let no_shared = cx.s.config.maxmemory != 0 && (policy.contains("lru") || policy.contains("lfu"));
        cx.out.int(if info.shared_int && !no_shared { OBJ_SHARED_REFCOUNT } else { 1 });
    }
    Ok(())
}

/// OBJECT IDLETIME key
fn object_idletime(cx: &mut Ctx<'_>) -> CmdResult {
    let lfu = cx.db().lfu;
    if let Some(info) = object_lookup(cx) {
        if lfu {
            return Err(CmdError::new(
                "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching \
                between policies at runtime LRU and LFU data will take some time to adjust.",
            ));
        }
        cx.out.int(idle_seconds(info.lru) as i64);
    }
    Ok(())
}

/// OBJECT FREQ key
fn object_freq(cx: &mut Ctx<'_>) -> CmdResult {
    let lfu = cx.db().lfu;
    if let Some(info) = object_lookup(cx) {
        if !lfu {
            return Err(CmdError::new(
                "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when \
                switching between policies at runtime LRU and LFU data will take some time to adjust.",
            ));
        }
        cx.out.int(lfu_freq(info.lru) as i64);
    }
    Ok(())
}

/// OBJECT HELP
fn object_help(cx: &mut Ctx<'_>) -> CmdResult {
    const HELP: &[&str] = &[
        "ENCODING <key>",
        "    Return the kind of internal representation used in order to store the value",
        "    associated with a <key>.",
        "FREQ <key>",
        "    Return the access frequency index of the <key>. The returned integer is",
        "    proportional to the logarithm of the recent access frequency of the key.",
        "IDLETIME <key>",
        "    Return the idle time of the <key>, that is the approximated number of",
        "    seconds elapsed since the last access to the key.",
        "REFCOUNT <key>",
        "    Return the number of references of the value associated with the specified",
        "    <key>.",
        "HELP",
        "    Prints this help.",
    ];
    // Redis echoes the command name as the client typed it, upper-cased.
    let name = String::from_utf8_lossy(cx.arg(0)).to_ascii_uppercase();
    let out = &mut *cx.out;
    out.array(HELP.len() + 1);
    out.simple(&format!("{name} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"));
    for line in HELP {
        out.simple(line);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// DUMP / RESTORE

/// DUMP key
fn dump(cx: &mut Ctx<'_>) -> CmdResult {
    let key = cx.arg(1);
    let (db, out) = cx.db_out();
    match db.get(key) {
        Some(e) => out.bulk(&dump_value(&e.value)),
        None => out.nil(),
    }
    Ok(())
}

/// RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]
///
/// Checks run in Redis's order: options, BUSYKEY, TTL, payload. A TTL already in the past leaves no key
/// (deleting the old one under REPLACE) and still replies OK.
fn restore(cx: &mut Ctx<'_>) -> CmdResult {
    let mut replace = false;
    let mut absttl = false;
    let mut idle: i64 = -1;
    let mut freq: i64 = -1;
    let argc = cx.argc();
    let mut j = 4;
    while j < argc {
        let more = j + 1 < argc;
        if cx.argv.is(j, "replace") {
            replace = true;
        } else if cx.argv.is(j, "absttl") {
            absttl = true;
        } else if cx.argv.is(j, "idletime") && more && freq == -1 {
            idle = cx.int_arg(j + 1)?;
            if idle < 0 {
                return Err(CmdError::new("ERR Invalid IDLETIME value, must be >= 0"));
            }
            j += 1;
        } else if cx.argv.is(j, "freq") && more && idle == -1 {
            freq = cx.int_arg(j + 1)?;
            if !(0..=255).contains(&freq) {
                return Err(CmdError::new("ERR Invalid FREQ value, must be >= 0 and <= 255"));
            }
            j += 1;
        } else {
            return Err(CmdError::SYNTAX);
        }
        j += 1;
    }
    let key = cx.arg(1);
    if !replace && cx.db().contains(key) {
        return Err(BUSYKEY);
    }
    let mut ttl = cx.int_arg(2)?;
    if ttl < 0 {
        return Err(CmdError::new("ERR Invalid TTL value, must be >= 0"));
    }
    let value = restore_value(cx.arg(3), &cx.s.enc).map_err(|e| CmdError::new(e.message()))?;
    let db = cx.db();
    let deleted = replace && db.remove(key).is_some();
    let now = clock::now_ms();
    if ttl != 0 && !absttl {
        ttl = ttl.saturating_add(now);
    }
    if ttl != 0 && ttl <= now {
        if deleted {
            cx.modified(key);
            cx.propagate_as(&[b"DEL", key]);
        }
        cx.out.ok();
        return Ok(());
    }
    let relative_ttl = ttl != 0 && !absttl;
    // Redis's objectSetLRUOrLFU: FREQ applies under an LFU policy, IDLETIME under any other.
    let lru = if db.lfu {
        if freq >= 0 {
            lfu_now(freq as u32)
        } else {
            fresh_lru(true)
        }
    } else if idle >= 0 {
        let mut abs = lru_clock() as i64 - idle;
        if abs < 0 {
            abs += LRU_CLOCK_MAX;
        }
        // The C field is 24 bits wide: an idle time beyond the clock's span wraps.
        (abs & LRU_CLOCK_MAX) as u32
    } else {
        fresh_lru(false)
    };
    db.insert_entry(Entry::new(key, value, lru), ttl);
    cx.modified(key);
    if relative_ttl {
        // Propagate the TTL as an absolute time, as Redis does.
        let at = ttl.to_string();
        let mut args: Vec<&[u8]> = cx.argv.iter().collect();
        args[2] = at.as_bytes();
        args.push(b"ABSTTL");
        cx.propagate_as(&args);
    }
    cx.out.ok();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::run_args;
    use crate::commands::testutil::{new, run, T};

    fn put(t: &mut T, k: &str, v: &str) {
        t.s.dbs[0].set(k.as_bytes(), Value::string(v.as_bytes()), false);
    }

    fn get(t: &mut T, db: usize, k: &str) -> Option<Vec<u8>> {
        t.s.dbs[db].get(k.as_bytes()).and_then(|e| e.value.to_vec())
    }

    /// Parse a RESP bulk string reply into its bytes.
    fn bulk_bytes(r: &[u8]) -> Vec<u8> {
        assert_eq!(r[0], b'$', "not a bulk: {:?}", String::from_utf8_lossy(r));
        let nl = r.iter().position(|&c| c == b'\n').unwrap();
        let len: usize = std::str::from_utf8(&r[1..nl - 1]).unwrap().parse().unwrap();
        r[nl + 1..nl + 1 + len].to_vec()
    }

    fn run_bytes(t: &mut T, args: &[&[u8]]) -> Vec<u8> {
        run_args(&mut t.s, t.me, args)
    }

    #[test]
    fn del_exists_unlink() {
        let mut t = new();
        put(&mut t, "a", "1");
        put(&mut t, "b", "2");
        put(&mut t, "c", "3");
        assert_eq!(run(&mut t, &["exists", "a", "a", "b", "zz"]), ":3\r\n");
        assert_eq!(run(&mut t, &["del", "a", "b", "zz", "a"]), ":2\r\n");
        assert_eq!(run(&mut t, &["unlink", "c"]), ":1\r\n");
        assert_eq!(run(&mut t, &["exists", "a"]), ":0\r\n");
        assert_eq!(run(&mut t, &["del"]), "-ERR wrong number of arguments for 'del' command\r\n");
    }

    #[test]
    fn del_of_expired_key_is_zero() {
        clock::set_mock(1_000_000);
        let mut t = new();
        put(&mut t, "k", "v");
        t.s.dbs[0].set_expire(b"k", 1_000_500);
        clock::set_mock(1_001_000);
        assert_eq!(run(&mut t, &["del", "k"]), ":0\r\n");
        assert_eq!(t.s.dbs[0].expired_keys, 1);
        clock::clear_mock();
    }

    #[test]
    fn type_and_touch() {
        let mut t = new();
        put(&mut t, "s", "hello");
        assert_eq!(run(&mut t, &["type", "s"]), "+string\r\n");
        assert_eq!(run(&mut t, &["type", "nope"]), "+none\r\n");
        assert_eq!(run(&mut t, &["touch", "s", "nope", "s"]), ":2\r\n");
    }

    #[test]
    fn keys_with_patterns() {
        let mut t = new();
        for k in ["key_x", "key_y", "key_z", "foo_a", "foo_b", "foo_c"] {
            put(&mut t, k, "hello");
        }
        put(&mut t, "", "empty");
        let r = run(&mut t, &["keys", "foo*"]);
        assert!(r.starts_with("*3\r\n"));
        for k in ["foo_a", "foo_b", "foo_c"] {
            assert!(r.contains(&format!("${}\r\n{}\r\n", k.len(), k)));
        }
        // "*" returns the empty key too (the matcher alone would not).
        assert!(run(&mut t, &["keys", "*"]).starts_with("*7\r\n"));
        assert!(run(&mut t, &["keys", "**"]).starts_with("*6\r\n"));
        assert_eq!(run(&mut t, &["keys", "nomatch*"]), "*0\r\n");
    }

    #[test]
    fn keys_pattern_regression_long_nested_loops() {
        let mut t = new();
        put(&mut t, &"a".repeat(40), "1");
        assert_eq!(run(&mut t, &["keys", "a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b"]), "*0\r\n");
    }

    #[test]
    fn keys_skips_expired() {
        clock::set_mock(1_000_000);
        let mut t = new();
        put(&mut t, "live", "1");
        put(&mut t, "dead", "1");
        t.s.dbs[0].set_expire(b"dead", 1_000_100);
        clock::set_mock(1_000_200);
        assert_eq!(run(&mut t, &["keys", "*"]), "*1\r\n$4\r\nlive\r\n");
        clock::clear_mock();
    }

    /// Iterate a whole SCAN, returning every key seen and the number of calls.
    fn full_scan(t: &mut T, extra: &[&str]) -> (Vec<String>, usize) {
        let mut cursor = "0".to_string();
        let mut all = Vec::new();
        let mut calls = 0;
        loop {
            let mut args = vec!["scan", cursor.as_str()];
            args.extend_from_slice(extra);
            let r = run(t, &args);
            calls += 1;
            let lines: Vec<&str> = r.split("\r\n").collect();
            assert_eq!(lines[0], "*2");
            let next = lines[2].to_string();
            let n: usize = lines[3][1..].parse().unwrap();
            for i in 0..n {
                all.push(lines[5 + 2 * i].to_string());
            }
            cursor = next;
            if cursor == "0" {
                break;
            }
        }
        (all, calls)
    }

    #[test]
    fn scan_iterates_everything_with_filters() {
        let mut t = new();
        for i in 0..1000 {
            put(&mut t, &format!("key:{i}"), "v");
        }
        let (all, _) = full_scan(&mut t, &[]);
        let set: std::collections::HashSet<_> = all.iter().cloned().collect();
        assert_eq!(set.len(), 1000);
        let (all, calls) = full_scan(&mut t, &["count", "5"]);
        assert_eq!(all.iter().collect::<std::collections::HashSet<_>>().len(), 1000);
        assert!(calls > 50);
        let (m, _) = full_scan(&mut t, &["match", "key:1??"]);
        assert_eq!(m.iter().collect::<std::collections::HashSet<_>>().len(), 100);
        let (l, _) = full_scan(&mut t, &["type", "list"]);
        assert!(l.is_empty());
        let (s, _) = full_scan(&mut t, &["type", "STRING", "match", "key:*", "count", "10"]);
        assert_eq!(s.iter().collect::<std::collections::HashSet<_>>().len(), 1000);
        let (u, _) = full_scan(&mut t, &["type", "nosuchtype"]);
        assert!(u.is_empty());
    }

    #[test]
    fn scan_errors_and_cursor_parsing() {
        let mut t = new();
        assert_eq!(run(&mut t, &["scan", "abc"]), "-ERR invalid cursor\r\n");
        assert_eq!(run(&mut t, &["scan", " 1"]), "-ERR invalid cursor\r\n");
        assert_eq!(run(&mut t, &["scan", "1 "]), "-ERR invalid cursor\r\n");
        assert_eq!(run(&mut t, &["scan", "18446744073709551616"]), "-ERR invalid cursor\r\n");
        assert_eq!(run(&mut t, &["scan", "+"]), "-ERR invalid cursor\r\n");
        assert_eq!(run(&mut t, &["scan", "0", "count", "0"]), "-ERR syntax error\r\n");
        assert_eq!(run(&mut t, &["scan", "0", "count", "x"]), "-ERR value is not an integer or out of range\r\n");
        assert_eq!(run(&mut t, &["scan", "0", "match"]), "-ERR syntax error\r\n");
        assert_eq!(run(&mut t, &["scan", "0", "foo", "bar"]), "-ERR syntax error\r\n");
        assert_eq!(parse_cursor(b""), Some(0));
        assert_eq!(parse_cursor(b"007"), Some(7));
        assert_eq!(parse_cursor(b"+7"), Some(7));
        assert_eq!(parse_cursor(b"-1"), Some(u64::MAX));
        assert_eq!(parse_cursor(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_cursor(b"5\0junk"), Some(5));
        assert_eq!(run(&mut t, &["scan", "0"]), "*2\r\n$1\r\n0\r\n*0\r\n");
    }

    #[test]
    fn randomkey() {
        let mut t = new();
        assert_eq!(run(&mut t, &["randomkey"]), "$-1\r\n");
        put(&mut t, "foo", "x");
        assert_eq!(run(&mut t, &["randomkey"]), "$3\r\nfoo\r\n");
    }

    #[test]
    fn rename_family() {
        clock::set_mock(1_000_000);
        let mut t = new();
        assert_eq!(run(&mut t, &["rename", "nokey", "x"]), "-ERR no such key\r\n");
        assert_eq!(run(&mut t, &["renamenx", "nokey", "x"]), "-ERR no such key\r\n");
        assert_eq!(run(&mut t, &["rename", "nokey", "nokey"]), "-ERR no such key\r\n");
        put(&mut t, "a", "hello");
        assert_eq!(run(&mut t, &["rename", "a", "a"]), "+OK\r\n");
        assert_eq!(run(&mut t, &["renamenx", "a", "a"]), ":0\r\n");
        t.s.dbs[0].set_expire(b"a", 1_100_000);
        assert_eq!(run(&mut t, &["rename", "a", "b"]), "+OK\r\n");
        assert_eq!(get(&mut t, 0, "a"), None);
        assert_eq!(get(&mut t, 0, "b").as_deref(), Some(&b"hello"[..]));
        // The TTL moves with the key.
        assert_eq!(run(&mut t, &["pttl", "b"]), ":100000\r\n");
        // The target's TTL is not inherited.
        put(&mut t, "c", "x");
        put(&mut t, "d", "y");
        t.s.dbs[0].set_expire(b"d", 1_100_000);
        assert_eq!(run(&mut t, &["rename", "c", "d"]), "+OK\r\n");
        assert_eq!(run(&mut t, &["ttl", "d"]), ":-1\r\n");
        assert_eq!(get(&mut t, 0, "d").as_deref(), Some(&b"x"[..]));
        put(&mut t, "e", "1");
        assert_eq!(run(&mut t, &["renamenx", "e", "d"]), ":0\r\n");
        assert_eq!(run(&mut t, &["renamenx", "e", "f"]), ":1\r\n");
        assert_eq!(t.s.dbs[0].len(), 3);
        clock::clear_mock();
    }

    #[test]
    fn move_between_dbs() {
        clock::set_mock(1_000_000);
        let mut t = new();
        put(&mut t, "k", "foo");
        t.s.dbs[0].set_expire(b"k", 1_100_000);
        assert_eq!(run(&mut t, &["move", "k", "0"]), "-ERR source and destination objects are the same\r\n");
        assert_eq!(run(&mut t, &["move", "k", "notanumber"]), "-ERR value is not an integer or out of range\r\n");
        assert_eq!(run(&mut t, &["move", "k", "99"]), "-ERR DB index is out of range\r\n");
        assert_eq!(run(&mut t, &["move", "k", "-1"]), "-ERR DB index is out of range\r\n");
        assert_eq!(
            run(&mut t, &["move", "k", "4294967296"]),
            "-ERR value is out of range, value must between -2147483648 and 2147483647\r\n"
        );
        assert_eq!(
            run(&mut t, &["move", "k", "99999999999999999999"]),
            "-ERR value is not an integer or out of range\r\n"
        );
        assert_eq!(run(&mut t, &["move", "nokey", "1"]), ":0\r\n");
        assert_eq!(run(&mut t, &["move", "k", "1"]), ":1\r\n");
        assert_eq!(get(&mut t, 0, "k"), None);
        assert_eq!(get(&mut t, 1, "k").as_deref(), Some(&b"foo"[..]));
        assert_eq!(t.s.dbs[1].expire_at(b"k"), Some(1_100_000));
        put(&mut t, "k", "bar");
        assert_eq!(run(&mut t, &["move", "k", "1"]), ":0\r\n");
        clock::clear_mock();
    }

    #[test]
    fn copy_within_and_across_dbs() {
        clock::set_mock(1_000_000);
        let mut t = new();
        put(&mut t, "src", "foobar");
        assert_eq!(run(&mut t, &["copy", "src", "src"]), "-ERR source and destination objects are the same\r\n");
        assert_eq!(
            run(&mut t, &["copy", "src", "src", "db", "0"]),
            "-ERR source and destination objects are the same\r\n"
        );
        assert_eq!(
            run(&mut t, &["copy", "src", "x", "db", "notanumber"]),
            "-ERR value is not an integer or out of range\r\n"
        );
        assert_eq!(run(&mut t, &["copy", "src", "x", "db", "16"]), "-ERR DB index is out of range\r\n");
        assert_eq!(run(&mut t, &["copy", "src", "x", "db"]), "-ERR syntax error\r\n");
        assert_eq!(run(&mut t, &["copy", "src", "x", "bogus"]), "-ERR syntax error\r\n");
        assert_eq!(run(&mut t, &["copy", "nokey", "x"]), ":0\r\n");
        assert_eq!(run(&mut t, &["copy", "src", "dst"]), ":1\r\n");
        assert_eq!(get(&mut t, 0, "dst").as_deref(), Some(&b"foobar"[..]));
        assert_eq!(run(&mut t, &["ttl", "dst"]), ":-1\r\n");
        // Same key name in another db is fine.
        assert_eq!(run(&mut t, &["copy", "src", "src", "db", "3"]), ":1\r\n");
        assert_eq!(get(&mut t, 3, "src").as_deref(), Some(&b"foobar"[..]));
        // Existing target: 0 unless REPLACE; the TTL is copied.
        t.s.dbs[0].set_expire(b"src", 1_100_000);
        put(&mut t, "other", "hello");
        assert_eq!(run(&mut t, &["copy", "other", "src", "db", "3"]), ":0\r\n");
        assert_eq!(run(&mut t, &["copy", "src", "dst", "replace"]), ":1\r\n");
        assert_eq!(run(&mut t, &["pttl", "dst"]), ":100000\r\n");
        assert_eq!(run(&mut t, &["copy", "other", "src", "DB", "3", "REPLACE"]), ":1\r\n");
        assert_eq!(get(&mut t, 3, "src").as_deref(), Some(&b"hello"[..]));
        // The copy is independent of the source.
        t.s.dbs[0].set(b"dst", Value::string(b"changed"), true);
        assert_eq!(get(&mut t, 0, "src").as_deref(), Some(&b"foobar"[..]));
        clock::clear_mock();
    }

    #[test]
    fn expire_and_ttl() {
        clock::set_mock(1_000_000_000);
        let mut t = new();
        put(&mut t, "k", "v");
        assert_eq!(run(&mut t, &["ttl", "k"]), ":-1\r\n");
        assert_eq!(run(&mut t, &["pttl", "k"]), ":-1\r\n");
        assert_eq!(run(&mut t, &["expiretime", "k"]), ":-1\r\n");
        assert_eq!(run(&mut t, &["pexpiretime", "nokey"]), ":-2\r\n");
        assert_eq!(run(&mut t, &["ttl", "nokey"]), ":-2\r\n");
        assert_eq!(run(&mut t, &["expire", "k", "100"]), ":1\r\n");
        assert_eq!(run(&mut t, &["ttl", "k"]), ":100\r\n");
        assert_eq!(run(&mut t, &["pttl", "k"]), ":100000\r\n");
        assert_eq!(run(&mut t, &["expiretime", "k"]), ":1000100\r\n");
        assert_eq!(run(&mut t, &["pexpiretime", "k"]), ":1000100000\r\n");
        assert_eq!(run(&mut t, &["pexpire", "k", "1499"]), ":1\r\n");
        // Seconds round to the nearest.
        assert_eq!(run(&mut t, &["ttl", "k"]), ":1\r\n");
        assert_eq!(run(&mut t, &["pexpire", "k", "1500"]), ":1\r\n");
        assert_eq!(run(&mut t, &["ttl", "k"]), ":2\r\n");
        assert_eq!(run(&mut t, &["expireat", "k", "1000200"]), ":1\r\n");
        assert_eq!(run(&mut t, &["pttl", "k"]), ":200000\r\n");
        assert_eq!(run(&mut t, &["pexpireat", "k", "1000000300"]), ":1\r\n");
        assert_eq!(run(&mut t, &["pttl", "k"]), ":300\r\n");
        assert_eq!(run(&mut t, &["expire", "nokey", "100"]), ":0\r\n");
        // Lazy expiry once the time passes.
        clock::set_mock(1_000_000_301);
        assert_eq!(run(&mut t, &["ttl", "k"]), ":-2\r\n");
        assert_eq!(run(&mut t, &["exists", "k"]), ":0\r\n");
        clock::clear_mock();
    }

    #[test]
    fn expire_in_the_past_deletes() {
        clock::set_mock(1_000_000_000);
        let mut t = new();
        put(&mut t, "k", "v");
        assert_eq!(run(&mut t, &["expire", "k", "-10"]), ":1\r\n");
        assert_eq!(run(&mut t, &["exists", "k"]), ":0\r\n");
        put(&mut t, "k", "v");
        assert_eq!(run(&mut t, &["pexpireat", "k", "-9223372036854770000"]), ":1\r\n");
        assert_eq!(run(&mut t, &["ttl", "k"]), ":-2\r\n");
        put(&mut t, "k", "v");
        assert_eq!(run(&mut t, &["pexpireat", "k", "1000000000"]), ":1\r\n");
        assert_eq!(run(&mut t, &["exists", "k"]), ":0\r\n");
        put(&mut t, "k", "v");
        assert_eq!(run(&mut t, &["pexpireat", "k", "9223372036854770000"]), ":1\r\n");
        assert_eq!(run(&mut t, &["pexpireat", "k", "9223372036854775807"]), ":1\r\n");
        assert_eq!(run(&mut t, &["expiretime", "k"]), ":9223372036854776\r\n");
        clock::clear_mock();
    }

    #[test]
    fn expire_options() {
        clock::set_mock(1_000_000_000);
        let mut t = new();
        put(&mut t, "k", "v");
        assert_eq!(run(&mut t, &["expire", "k", "100", "xx"]), ":0\r\n");
        assert_eq!(run(&mut t, &["expire", "k", "100", "gt"]), ":0\r\n");
        assert_eq!(run(&mut t, &["expire", "k", "100", "lt"]), ":1\r\n");
        assert_eq!(run(&mut t, &["expire", "k", "200", "nx"]), ":0\r\n");
        assert_eq!(run(&mut t, &["expire", "k", "200", "xx"]), ":1\r\n");
        assert_eq!(run(&mut t, &["expire", "k", "100", "GT"]), ":0\r\n");
        assert_eq!(run(&mut t, &["expire", "k", "300", "gt"]), ":1\r\n");
        assert_eq!(run(&mut t, &["expire", "k", "400", "lt"]), ":0\r\n");
        assert_eq!(run(&mut t, &["expire", "k", "50", "lt", "xx"]), ":1\r\n");
        assert_eq!(run(&mut t, &["ttl", "k"]), ":50\r\n");
        put(&mut t, "p", "v");
        assert_eq!(run(&mut t, &["expire", "p", "100", "nx"]), ":1\r\n");
        assert_eq!(run(&mut t, &["expire", "none", "100", "nx"]), ":0\r\n");
        let nx = "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n";
        assert_eq!(run(&mut t, &["expire", "k", "200", "nx", "xx"]), nx);
        assert_eq!(run(&mut t, &["expire", "k", "200", "NX", "GT"]), nx);
        assert_eq!(run(&mut t, &["expire", "k", "200", "nx", "lt"]), nx);
        assert_eq!(
            run(&mut t, &["expire", "k", "200", "lt", "gt"]),
            "-ERR GT and LT options at the same time are not compatible\r\n"
        );
        assert_eq!(run(&mut t, &["expire", "k", "200", "AB"]), "-ERR Unsupported option AB\r\n");
        assert_eq!(run(&mut t, &["expire", "k", "200", "XX", "AB"]), "-ERR Unsupported option AB\r\n");
        // Options are checked before the time.
        assert_eq!(run(&mut t, &["expire", "k", "x", "AB"]), "-ERR Unsupported option AB\r\n");
        // A negative expiry with LT on a key without TTL deletes it.
        put(&mut t, "n", "v");
        assert_eq!(run(&mut t, &["expire", "n", "-10", "lt"]), ":1\r\n");
        assert_eq!(run(&mut t, &["ttl", "n"]), ":-2\r\n");
        clock::clear_mock();
    }

    #[test]
    fn expire_overflow_errors() {
        let mut t = new();
        put(&mut t, "foo", "bar");
        let e = "-ERR invalid expire time in 'expire' command\r\n";
        for v in ["9223370399119966", "9223372036854776", "10000000000000000", "18446744073709561"] {
            assert_eq!(run(&mut t, &["expire", "foo", v]), e, "{v}");
        }
        assert_eq!(run(&mut t, &["expire", "foo", "-9223372036854776"]), e);
        assert_eq!(run(&mut t, &["expire", "foo", "-9999999999999999"]), e);
        assert_eq!(
            run(&mut t, &["pexpire", "foo", "9223372036854770000"]),
            "-ERR invalid expire time in 'pexpire' command\r\n"
        );
        assert_eq!(run(&mut t, &["expire", "foo", ""]), "-ERR value is not an integer or out of range\r\n");
        assert_eq!(run(&mut t, &["ttl", "foo"]), ":-1\r\n");
    }

    #[test]
    fn persist() {
        clock::set_mock(1_000_000_000);
        let mut t = new();
        put(&mut t, "k", "v");
        assert_eq!(run(&mut t, &["persist", "k"]), ":0\r\n");
        assert_eq!(run(&mut t, &["persist", "nokey"]), ":0\r\n");
        assert_eq!(run(&mut t, &["expire", "k", "100"]), ":1\r\n");
        assert_eq!(run(&mut t, &["persist", "k"]), ":1\r\n");
        assert_eq!(run(&mut t, &["ttl", "k"]), ":-1\r\n");
        assert_eq!(t.s.dbs[0].expires_count(), 0);
        clock::clear_mock();
    }

    #[test]
    fn object_subcommands() {
        let mut t = new();
        put(&mut t, "i", "12");
        put(&mut t, "big", "123456");
        put(&mut t, "e", "hello");
        t.s.dbs[0].set(b"r", Value::raw(b"hi".to_vec()), false);
        assert_eq!(run(&mut t, &["object", "encoding", "i"]), "$3\r\nint\r\n");
        assert_eq!(run(&mut t, &["OBJECT", "ENCODING", "e"]), "$6\r\nembstr\r\n");
        assert_eq!(run(&mut t, &["object", "encoding", "r"]), "$3\r\nraw\r\n");
        assert_eq!(run(&mut t, &["object", "encoding", "nokey"]), "$-1\r\n");
        assert_eq!(run(&mut t, &["object", "refcount", "i"]), ":2147483647\r\n");
        assert_eq!(run(&mut t, &["object", "refcount", "big"]), ":1\r\n");
        assert_eq!(run(&mut t, &["object", "refcount", "e"]), ":1\r\n");
        assert_eq!(run(&mut t, &["object", "idletime", "e"]), ":0\r\n");
        assert!(run(&mut t, &["object", "freq", "e"]).starts_with("-ERR An LFU maxmemory policy is not selected"));
        assert_eq!(run(&mut t, &["object", "freq", "nokey"]), "$-1\r\n");
        assert_eq!(run(&mut t, &["object", "foo", "e"]), "-ERR unknown subcommand 'foo'. Try OBJECT HELP.\r\n");
        assert_eq!(
            run(&mut t, &["object", "encoding"]),
            "-ERR wrong number of arguments for 'object|encoding' command\r\n"
        );
        assert_eq!(run(&mut t, &["object"]), "-ERR wrong number of arguments for 'object' command\r\n");
        let help = run(&mut t, &["object", "help"]);
        assert!(help.starts_with("*15\r\n+OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n"));
        assert!(help.ends_with("+HELP\r\n+    Prints this help.\r\n"));
        // With maxmemory and an LRU policy, small integers are private objects.
        t.s.config.maxmemory = 1 << 30;
        t.s.config.maxmemory_policy = "allkeys-lru".into();
        assert_eq!(run(&mut t, &["object", "refcount", "i"]), ":1\r\n");
        t.s.config.maxmemory_policy = "allkeys-random".into();
        assert_eq!(run(&mut t, &["object", "refcount", "i"]), ":2147483647\r\n");
    }

    #[test]
    fn object_idletime_and_freq_follow_policy() {
        clock::set_mock(1_000_000_000);
        let mut t = new();
        put(&mut t, "k", "v");
        clock::set_mock(1_000_010_000);
        assert_eq!(run(&mut t, &["object", "idletime", "k"]), ":10\r\n");
        // OBJECT does not touch the key; TOUCH does.
        assert_eq!(run(&mut t, &["object", "idletime", "k"]), ":10\r\n");
        assert_eq!(run(&mut t, &["touch", "k"]), ":1\r\n");
        assert_eq!(run(&mut t, &["object", "idletime", "k"]), ":0\r\n");
        t.s.config.maxmemory_policy = "allkeys-lfu".into();
        t.s.apply_config();
        put(&mut t, "f", "v");
        assert_eq!(run(&mut t, &["object", "freq", "f"]), ":5\r\n");
        assert!(run(&mut t, &["object", "idletime", "f"])
            .starts_with("-ERR An LFU maxmemory policy is selected, idle time not tracked."));
        clock::clear_mock();
    }

    #[test]
    fn dump_restore_round_trip() {
        clock::set_mock(1_000_000_000);
        let mut t = new();
        put(&mut t, "foo", "bar");
        let payload = bulk_bytes(&run_bytes(&mut t, &[b"dump", b"foo"]));
        assert_eq!(run(&mut t, &["dump", "nokey"]), "$-1\r\n");
        assert_eq!(
            run_bytes(&mut t, &[b"restore", b"foo", b"0", &payload]),
            b"-BUSYKEY Target key name already exists.\r\n"
        );
        assert_eq!(run_bytes(&mut t, &[b"restore", b"new", b"0", &payload]), b"+OK\r\n");
        assert_eq!(get(&mut t, 0, "new").as_deref(), Some(&b"bar"[..]));
        assert_eq!(run(&mut t, &["ttl", "new"]), ":-1\r\n");
        // Relative and absolute TTLs.
        assert_eq!(run_bytes(&mut t, &[b"restore", b"t1", b"5000", &payload]), b"+OK\r\n");
        assert_eq!(run(&mut t, &["pttl", "t1"]), ":5000\r\n");
        assert_eq!(run_bytes(&mut t, &[b"restore", b"t2", b"1000003000", &payload, b"absttl"]), b"+OK\r\n");
        assert_eq!(run(&mut t, &["pttl", "t2"]), ":3000\r\n");
        // A TTL in the past: OK, no key; with REPLACE the old key is gone too.
        assert_eq!(run_bytes(&mut t, &[b"restore", b"t3", b"999999000", &payload, b"ABSTTL"]), b"+OK\r\n");
        assert_eq!(run(&mut t, &["exists", "t3"]), ":0\r\n");
        assert_eq!(run_bytes(&mut t, &[b"restore", b"foo", b"1", &payload, b"absttl", b"replace"]), b"+OK\r\n");
        assert_eq!(run(&mut t, &["exists", "foo"]), ":0\r\n");
        // REPLACE overwrites.
        put(&mut t, "foo", "bar2");
        assert_eq!(run_bytes(&mut t, &[b"restore", b"foo", b"0", &payload, b"replace"]), b"+OK\r\n");
        assert_eq!(get(&mut t, 0, "foo").as_deref(), Some(&b"bar"[..]));
        clock::clear_mock();
    }

    #[test]
    fn restore_errors_in_redis_order() {
        let mut t = new();
        put(&mut t, "foo", "bar");
        let payload = bulk_bytes(&run_bytes(&mut t, &[b"dump", b"foo"]));
        assert_eq!(run(&mut t, &["restore", "foo", "0", "...", "invalid-option"]), "-ERR syntax error\r\n");
        assert_eq!(run(&mut t, &["restore", "foo", "0", "..."]), "-BUSYKEY Target key name already exists.\r\n");
        assert_eq!(run(&mut t, &["restore", "x", "-1", "..."]), "-ERR Invalid TTL value, must be >= 0\r\n");
        assert_eq!(run(&mut t, &["restore", "x", "abc", "..."]), "-ERR value is not an integer or out of range\r\n");
        assert_eq!(run(&mut t, &["restore", "x", "0", "..."]), "-ERR DUMP payload version or checksum are wrong\r\n");
        assert_eq!(
            run(&mut t, &["restore", "x", "0", "...", "idletime", "-1"]),
            "-ERR Invalid IDLETIME value, must be >= 0\r\n"
        );
        assert_eq!(
            run(&mut t, &["restore", "x", "0", "...", "freq", "256"]),
            "-ERR Invalid FREQ value, must be >= 0 and <= 255\r\n"
        );
        assert_eq!(run(&mut t, &["restore", "x", "0", "...", "freq", "1", "idletime", "1"]), "-ERR syntax error\r\n");
        assert_eq!(run(&mut t, &["restore", "x", "0", "...", "idletime"]), "-ERR syntax error\r\n");
        let mut bad = payload.clone();
        bad[3] ^= 1;
        assert_eq!(
            run_bytes(&mut t, &[b"restore", b"x", b"0", &bad]),
            b"-ERR DUMP payload version or checksum are wrong\r\n"
        );
        // A well-sealed payload of an unknown type.
        let mut body = vec![7u8, 0, 0, 0];
        body.extend_from_slice(&crate::persist::dump::FORMAT_VERSION.to_le_bytes());
        // (type 7 is an RDB type we do not read)
        let crc = crate::persist::dump::crc64(0, &body);
        body.extend_from_slice(&crc.to_le_bytes());
        assert_eq!(run_bytes(&mut t, &[b"restore", b"x", b"0", &body]), b"-ERR Bad data format\r\n");
        assert_eq!(run(&mut t, &["exists", "x"]), ":0\r\n");
    }

    #[test]
    fn restore_sets_lru_and_lfu() {
        clock::set_mock(1_000_000_000);
        let mut t = new();
        put(&mut t, "foo", "bar");
        let payload = bulk_bytes(&run_bytes(&mut t, &[b"dump", b"foo"]));
        assert_eq!(run_bytes(&mut t, &[b"restore", b"a", b"0", &payload, b"idletime", b"1000"]), b"+OK\r\n");
        assert_eq!(run(&mut t, &["object", "idletime", "a"]), ":1000\r\n");
        // An idle time longer than the 24-bit clock has run wraps around rather than failing.
        assert_eq!(run_bytes(&mut t, &[b"restore", b"b", b"0", &payload, b"idletime", b"99999999999"]), b"+OK\r\n");
        // FREQ is ignored without an LFU policy...
        assert_eq!(run_bytes(&mut t, &[b"restore", b"c", b"0", &payload, b"freq", b"100"]), b"+OK\r\n");
        assert_eq!(run(&mut t, &["object", "idletime", "c"]), ":0\r\n");
        // ...and applies with one.
        t.s.config.maxmemory_policy = "allkeys-lfu".into();
        t.s.apply_config();
        assert_eq!(run_bytes(&mut t, &[b"restore", b"d", b"0", &payload, b"freq", b"100"]), b"+OK\r\n");
        assert_eq!(run(&mut t, &["object", "freq", "d"]), ":100\r\n");
        assert_eq!(run_bytes(&mut t, &[b"restore", b"e", b"0", &payload]), b"+OK\r\n");
        assert_eq!(run(&mut t, &["object", "freq", "e"]), ":5\r\n");
        clock::clear_mock();
    }

    #[test]
    fn specs_are_well_formed() {
        for s in SPECS {
            assert_eq!(s.group, "generic");
            assert!(s.arity != 0, "{}", s.name);
        }
        let obj = SPECS.iter().find(|s| s.name == "object").unwrap();
        assert_eq!(obj.subcommands.len(), 5);
        for sub in obj.subcommands {
            assert!(sub.name.starts_with("object|"));
        }
        let t = crate::commands::table();
        let rename = t.lookup(b"RENAME").unwrap();
        let argv: Vec<&[u8]> = vec![b"rename", b"a", b"b"];
        assert_eq!(rename.key_positions(&argv), vec![1, 2]);
        let del = t.lookup(b"del").unwrap();
        let argv: Vec<&[u8]> = vec![b"del", b"a", b"b", b"c"];
        assert_eq!(del.key_positions(&argv), vec![1, 2, 3]);
    }
}
