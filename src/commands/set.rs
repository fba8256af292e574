//! Set commands (commands layer, applied by the Keyspace actor): SADD, SREM, SCARD, SISMEMBER, SMISMEMBER,
//! SMEMBERS, SRANDMEMBER, SPOP, SMOVE, SINTER, SINTERCARD, SINTERSTORE, SUNION, SUNIONSTORE, SDIFF,
//! SDIFFSTORE and SSCAN.
//!
//! Replies, error texts, the order in which arguments and keys are checked, and the encodings of the sets
//! commands create follow Redis 7.0's t_set.c: SRANDMEMBER's and SPOP's case analysis, SDIFF's choice of
//! algorithm (which decides a stored result's encoding), *STORE results built from an empty intset. Set
//! replies are RESP3 sets (`~`), SRANDMEMBER with a count replies an array, as Redis does.
//!
//! Multi-key commands take the sets out of the keyspace for the duration of the command (`Taken`), so that
//! they can be read side by side, and put them back before writing a destination key.

use super::spec::*;
use super::Ctx;
use crate::error::CmdError;
use crate::resp::encode::Out;
use crate::spec;
use crate::types::db::Db;
use crate::types::glob::glob_match;
use crate::types::num::parse_i64;
use crate::types::set::{Member, Set};
use crate::types::value::Value;
use std::collections::HashSet;

const NUMKEYS: CmdError = CmdError::new("ERR numkeys should be greater than 0");
const TOO_MANY_KEYS: CmdError = CmdError::new("ERR Number of keys can't be greater than number of args");
const LIMIT_NEGATIVE: CmdError = CmdError::new("ERR LIMIT can't be negative");
const MUST_BE_POSITIVE: CmdError = CmdError::new("ERR value is out of range, must be positive");
const COUNT_RANGE: CmdError =
    CmdError::new("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807");

/// SRANDMEMBER: above count * 3 members, pick members at random; below, drop random ones from a copy.
const SRANDMEMBER_SUB_STRATEGY_MUL: u64 = 3;
/// SPOP: when fewer than count / 5 members remain, move the survivors to a new set instead.
const SPOP_MOVE_STRATEGY_MUL: u64 = 5;

pub const SPECS: &[CommandSpec] = &[
    spec!(
        "sadd",
        -3,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        SET,
        "set",
        "1.0.0",
        "Add one or more members to a set",
        "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.",
        sadd
    ),
    spec!(
        "srem",
        -3,
        WRITE | FAST,
        (1, 1, 1),
        SET,
        "set",
        "1.0.0",
        "Remove one or more members from a set",
        "O(N) where N is the number of members to be removed.",
        srem
    ),
    spec!(
        "scard",
        2,
        READONLY | FAST,
        (1, 1, 1),
        SET,
        "set",
        "1.0.0",
        "Get the number of members in a set",
        "O(1)",
        scard
    ),
    spec!(
        "sismember",
        3,
        READONLY | FAST,
        (1, 1, 1),
        SET,
        "set",
        "1.0.0",
        "Determine if a given value is a member of a set",
        "O(1)",
        sismember
    ),
    spec!(
        "smismember",
        -3,
        READONLY | FAST,
        (1, 1, 1),
        SET,
        "set",
        "6.2.0",
        "Returns the membership associated with the given elements for a set",
        "O(N) where N is the number of elements being checked for membership",
        smismember
    ),
    spec!(
        "smembers",
        2,
        READONLY,
        (1, 1, 1),
        SET,
        "set",
        "1.0.0",
        "Get all the members in a set",
        "O(N) where N is the set cardinality.",
        smembers
    ),
    spec!(
        "srandmember",
        -2,
        READONLY,
        (1, 1, 1),
        SET,
        "set",
        "1.0.0",
        "Get one or multiple random members from a set",
        "Without the count argument O(1), otherwise O(N) where N is the absolute value of the passed count.",
        srandmember
    ),
    spec!(
        "spop",
        -2,
        WRITE | FAST,
        (1, 1, 1),
        SET,
        "set",
        "1.0.0",
        "Remove and return one or multiple random members from a set",
        "Without the count argument O(1), otherwise O(N) where N is the value of the passed count.",
        spop
    ),
    spec!(
        "smove",
        4,
        WRITE | FAST,
        (1, 2, 1),
        SET,
        "set",
        "1.0.0",
        "Move a member from one set to another",
        "O(1)",
        smove
    ),
    spec!(
        "sinter",
        -2,
        READONLY,
        (1, -1, 1),
        SET,
        "set",
        "1.0.0",
        "Intersect multiple sets",
        "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.",
        sinter
    ),
    CommandSpec {
        getkeys: Some(sintercard_keys),
        ..spec!(
            "sintercard",
            -3,
            READONLY | MOVABLE_KEYS,
            (0, 0, 0),
            SET,
            "set",
            "7.0.0",
            "Intersect multiple sets and return the cardinality of the result",
            "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.",
            sintercard
        )
    },
    spec!(
        "sinterstore",
        -3,
        WRITE | DENYOOM,
        (1, -1, 1),
        SET,
        "set",
        "1.0.0",
        "Intersect multiple sets and store the resulting set in a key",
        "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.",
        sinterstore
    ),
    spec!(
        "sunion",
        -2,
        READONLY,
        (1, -1, 1),
        SET,
        "set",
        "1.0.0",
        "Add multiple sets",
        "O(N) where N is the total number of elements in all given sets.",
        sunion
    ),
    spec!(
        "sunionstore",
        -3,
        WRITE | DENYOOM,
        (1, -1, 1),
        SET,
        "set",
        "1.0.0",
        "Add multiple sets and store the resulting set in a key",
        "O(N) where N is the total number of elements in all given sets.",
        sunionstore
    ),
    spec!(
        "sdiff",
        -2,
        READONLY,
        (1, -1, 1),
        SET,
        "set",
        "1.0.0",
        "Subtract multiple sets",
        "O(N) where N is the total number of elements in all given sets.",
        sdiff
    ),
    spec!(
        "sdiffstore",
        -3,
        WRITE | DENYOOM,
        (1, -1, 1),
        SET,
        "set",
        "1.0.0",
        "Subtract multiple sets and store the resulting set in a key",
        "O(N) where N is the total number of elements in all given sets.",
        sdiffstore
    ),
    spec!(
        "sscan",
        -3,
        READONLY,
        (1, 1, 1),
        SET,
        "set",
        "2.8.0",
        "Incrementally iterate Set elements",
        "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return \
        back to 0. N is the number of elements inside the collection.",
        sscan
    ),
];

// ---------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------

#[inline]
fn reply_member(out: &mut Out, m: Member<'_>) {
    match m {
        Member::Int(i) => out.bulk_i64(i),
        Member::Str(s) => out.bulk(s),
    }
}

/// Read lookup (touches LRU, counts hits/misses): the set at `key`, None if missing.
#[inline]
fn read_set<'a>(db: &'a mut Db, key: &[u8]) -> Result<Option<&'a Set>, CmdError> {
    match db.get(key) {
        None => Ok(None),
        Some(e) => match &e.value {
            Value::Set(s) => Ok(Some(s)),
            _ => Err(CmdError::WRONGTYPE),
        },
    }
}

/// Write lookup: the set at `key`, None if missing.
#[inline]
fn write_set<'a>(db: &'a mut Db, key: &[u8]) -> Result<Option<&'a mut Set>, CmdError> {
    match db.get_mut(key) {
        None => Ok(None),
        Some(e) => match &mut e.value {
            Value::Set(s) => Ok(Some(s)),
            _ => Err(CmdError::WRONGTYPE),
        },
    }
}

/// Is `key` a set (Some(true)), another type (Some(false)) or missing (None)? A write lookup.
fn write_kind(db: &mut Db, key: &[u8]) -> Option<bool> {
    db.get_mut(key).map(|e| matches!(e.value, Value::Set(_)))
}

/// The sets of a multi-key command, taken out of their entries (the entry keeps its TTL and metadata and
/// holds a placeholder) so that several can be borrowed at once. `put_back` must run before returning.
struct Taken<'k> {
    /// Distinct keys taken and their sets.
    keys: Vec<&'k [u8]>,
    sets: Vec<Set>,
    /// For each key argument: the index of its set in `sets`, None for a missing key.
    idx: Vec<Option<usize>>,
}

impl<'k> Taken<'k> {
    /// Look the keys up in order as Redis does (read lookups, so expiry, LRU and hits/misses as Redis);
    /// WRONGTYPE at the first key of another type.
    fn take(db: &mut Db, keys: impl Iterator<Item = &'k [u8]>) -> Result<Taken<'k>, CmdError> {
        let mut t = Taken { keys: Vec::new(), sets: Vec::new(), idx: Vec::new() };
        let mut seen: std::collections::HashMap<&'k [u8], usize> = std::collections::HashMap::new();
        for key in keys {
            if let Some(&j) = seen.get(key) {
                // Already taken: Redis looks it up again (a hit).
                db.hits += 1;
                t.idx.push(Some(j));
                continue;
            }
            let is_set = match db.get(key) {
                None => {
                    t.idx.push(None);
                    continue;
                }
                Some(e) => matches!(e.value, Value::Set(_)),
            };
            if !is_set {
                t.put_back(db);
                return Err(CmdError::WRONGTYPE);
            }
            let Some(e) = db.get_mut(key) else {
                t.idx.push(None);
                continue;
            };
            if let Value::Set(s) = std::mem::replace(&mut e.value, Value::Int(0)) {
                seen.insert(key, t.sets.len());
                t.idx.push(Some(t.sets.len()));
                t.keys.push(key);
                t.sets.push(s);
            }
        }
        Ok(t)
    }

    /// The set of key argument `j`, None if the key is missing.
    #[inline]
    fn get(&self, j: usize) -> Option<&Set> {
        self.idx[j].map(|i| &self.sets[i])
    }

    fn put_back(&mut self, db: &mut Db) {
        for (key, set) in self.keys.drain(..).zip(self.sets.drain(..)) {
            match db.get_mut(key) {
                Some(e) => e.value = Value::Set(set),
                None => {
                    db.set(key, Value::Set(set), false);
                }
            }
        }
    }
}

/// Store a *STORE result in `dst` (overwriting it and its TTL), or delete `dst` when the result is empty.
/// Replies the result's size; returns whether `dst` changed.
fn store_result(db: &mut Db, out: &mut Out, dst: &[u8], result: Set) -> bool {
    if result.is_empty() {
        out.int(0);
        db.remove(dst).is_some()
    } else {
        out.int(result.len() as i64);
        db.set(dst, Value::Set(result), false);
        true
    }
}

// ---------------------------------------------------------------------------------------------------------
// Single-key commands
// ---------------------------------------------------------------------------------------------------------

/// SADD key member [member ...]
fn sadd(cx: &mut Ctx<'_>) -> CmdResult {
    let argv = cx.argv;
    let key = argv.get(1);
    let enc = cx.s.enc;
    let (db, out) = cx.db_out();
    let add_all = |s: &mut Set| argv.iter().skip(2).filter(|m| s.insert(m, &enc)).count();
    let added = match write_set(db, key)? {
        Some(s) => add_all(s),
        None => {
            let mut s = Set::for_member(argv.get(2));
            let n = add_all(&mut s);
            db.set(key, Value::Set(s), false);
            n
        }
    };
    out.int(added as i64);
    if added > 0 {
        cx.modified(key);
    }
    Ok(())
}

/// SREM key member [member ...]
fn srem(cx: &mut Ctx<'_>) -> CmdResult {
    let argv = cx.argv;
    let key = argv.get(1);
    let (db, out) = cx.db_out();
    let Some(s) = write_set(db, key)? else {
        out.int(0);
        return Ok(());
    };
    let mut deleted = 0;
    let mut emptied = false;
    for m in argv.iter().skip(2) {
        if s.remove(m) {
            deleted += 1;
            if s.is_empty() {
                emptied = true;
                break;
            }
        }
    }
    if emptied {
        db.remove(key);
    }
    out.int(deleted);
    if deleted > 0 {
        cx.modified(key);
    }
    Ok(())
}

/// SCARD key
fn scard(cx: &mut Ctx<'_>) -> CmdResult {
    let key = cx.arg(1);
    let (db, out) = cx.db_out();
    let n = read_set(db, key)?.map_or(0, |s| s.len());
    out.int(n as i64);
    Ok(())
}

/// SISMEMBER key member
fn sismember(cx: &mut Ctx<'_>) -> CmdResult {
    let (key, m) = (cx.arg(1), cx.arg(2));
    let (db, out) = cx.db_out();
    let found = read_set(db, key)?.is_some_and(|s| s.contains(m));
    out.int(found as i64);
    Ok(())
}

/// SMISMEMBER key member [member ...]
fn smismember(cx: &mut Ctx<'_>) -> CmdResult {
    let argv = cx.argv;
    let (db, out) = cx.db_out();
    let s = read_set(db, argv.get(1))?;
    out.array(argv.len() - 2);
    for m in argv.iter().skip(2) {
        out.int(s.is_some_and(|s| s.contains(m)) as i64);
    }
    Ok(())
}

/// SMEMBERS key (Redis runs SINTER on the one key)
fn smembers(cx: &mut Ctx<'_>) -> CmdResult {
    let key = cx.arg(1);
    let (db, out) = cx.db_out();
    match read_set(db, key)? {
        Some(s) => {
            out.set(s.len());
            for m in s.members() {
                reply_member(out, m);
            }
        }
        None => out.set(0),
    }
    Ok(())
}

/// SRANDMEMBER key [count]
fn srandmember(cx: &mut Ctx<'_>) -> CmdResult {
    match cx.argc() {
        2 => {}
        3 => return srandmember_count(cx),
        _ => return Err(CmdError::SYNTAX),
    }
    let key = cx.arg(1);
    let (db, out) = cx.db_out();
    match read_set(db, key)?.and_then(|s| s.random_member()) {
        Some(m) => reply_member(out, m),
        None => out.nil(),
    }
    Ok(())
}

/// SRANDMEMBER key count: positive counts give distinct members (at most the whole set), negative ones
/// |count| members drawn independently. Redis 7.0's four cases.
fn srandmember_count(cx: &mut Ctx<'_>) -> CmdResult {
    let l = cx.int_arg(2)?;
    if l == i64::MIN {
        return Err(COUNT_RANGE);
    }
    let (count, uniq) = if l >= 0 { (l as u64, true) } else { (l.unsigned_abs(), false) };
    let key = cx.arg(1);
    let (db, out) = cx.db_out();
    let Some(s) = read_set(db, key)? else {
        out.array(0);
        return Ok(());
    };
    if count == 0 {
        out.array(0);
        return Ok(());
    }
    // CASE 1: negative count (or 1): independent draws, in random order.
    if !uniq || count == 1 {
        out.array(count as usize);
        for _ in 0..count {
            if let Some(m) = s.random_member() {
                reply_member(out, m);
            }
        }
        return Ok(());
    }
    let size = s.len() as u64;
    // CASE 2: the whole set.
    if count >= size {
        out.array(size as usize);
        for m in s.members() {
            reply_member(out, m);
        }
        return Ok(());
    }
    let count = count as usize;
    if count as u64 * SRANDMEMBER_SUB_STRATEGY_MUL > size {
        // CASE 3: copy every member, then drop random ones down to count.
        let mut all: Vec<Member<'_>> = s.members().collect();
        while all.len() > count {
            let i = crate::types::rng::below(all.len());
            all.swap_remove(i);
        }
        out.array(count);
        for m in all {
            reply_member(out, m);
        }
    } else {
        // CASE 4: draw until count distinct members.
        let mut picked: HashSet<usize> = HashSet::with_capacity(count);
        let mut order: Vec<usize> = Vec::with_capacity(count);
        while order.len() < count {
            let Some(p) = s.random_pos() else { break };
            if picked.insert(p) {
                order.push(p);
            }
        }
        out.array(order.len());
        for p in order {
            if let Some(m) = s.member_at(p) {
                reply_member(out, m);
            }
        }
    }
    Ok(())
}

/// SPOP key [count]
fn spop(cx: &mut Ctx<'_>) -> CmdResult {
    match cx.argc() {
        2 => {}
        3 => return spop_count(cx),
        _ => return Err(CmdError::SYNTAX),
    }
    let key = cx.arg(1);
    let (db, out) = cx.db_out();
    let Some(s) = write_set(db, key)? else {
        out.nil();
        return Ok(());
    };
    let Some(m) = s.pop_random() else {
        out.nil();
        return Ok(());
    };
    reply_member(out, m.as_member());
    if s.is_empty() {
        db.remove(key);
    }
    cx.modified(key);
    // Replicated as the SREM of the member popped.
    m.as_member().with_bytes(|b| cx.propagate_as(&[b"SREM", key, b]));
    Ok(())
}

/// SPOP key count: Redis 7.0's three cases (whole set; pop one by one; rebuild from the survivors).
fn spop_count(cx: &mut Ctx<'_>) -> CmdResult {
    let l = cx.int_arg(2)?;
    if l < 0 {
        return Err(MUST_BE_POSITIVE);
    }
    let count = l as u64;
    let key = cx.arg(1);
    let enc = cx.s.enc;
    // Members popped one by one are replicated as SREMs (collected only when someone listens).
    let feed = cx.s.prop.feed.enabled;
    let mut srems: Vec<Vec<u8>> = Vec::new();
    let mut whole = false;
    let (db, out) = cx.db_out();
    let Some(s) = write_set(db, key)? else {
        out.set(0);
        return Ok(());
    };
    if count == 0 {
        out.set(0);
        return Ok(());
    }
    let size = s.len() as u64;
    if count >= size {
        // CASE 1: the whole set, then the key goes.
        out.set(size as usize);
        for m in s.members() {
            reply_member(out, m);
        }
        db.remove(key);
        whole = true;
    } else {
        let remaining = size - count;
        out.set(count as usize);
        if remaining * SPOP_MOVE_STRATEGY_MUL > count {
            // CASE 2: pop count random members.
            for _ in 0..count {
                if let Some(m) = s.pop_random() {
                    reply_member(out, m.as_member());
                    if feed {
                        srems.push(m.to_vec());
                    }
                }
            }
        } else {
            // CASE 3: move `remaining` random members to a new set, reply what is left, keep the new set
            // (its encoding chosen afresh, as Redis's setTypeCreate + setTypeAdd do; the TTL stays).
            let mut kept: Option<Set> = None;
            for _ in 0..remaining {
                if let Some(m) = s.pop_random() {
                    let m = m.as_member();
                    let k = kept.get_or_insert_with(|| m.with_bytes(Set::for_member));
                    k.insert_member(m, &enc);
                }
            }
            for m in s.members() {
                reply_member(out, m);
                if feed {
                    srems.push(m.to_vec());
                }
            }
            if let Some(k) = kept {
                *s = k;
            }
        }
    }
    cx.modified(key);
    if whole {
        // The whole set went: replicated as DEL.
        cx.propagate_as(&[b"DEL", key]);
    } else if feed {
        for m in &srems {
            cx.propagate_as(&[b"SREM", key, m]);
        }
    }
    Ok(())
}

/// SMOVE source destination member
fn smove(cx: &mut Ctx<'_>) -> CmdResult {
    let (src, dst, m) = (cx.arg(1), cx.arg(2), cx.arg(3));
    let enc = cx.s.enc;
    let (db, out) = cx.db_out();
    let src_kind = write_kind(db, src);
    let dst_kind = write_kind(db, dst);
    match src_kind {
        None => {
            out.int(0);
            return Ok(());
        }
        Some(false) => return Err(CmdError::WRONGTYPE),
        Some(true) => {}
    }
    if dst_kind == Some(false) {
        return Err(CmdError::WRONGTYPE);
    }
    if src == dst {
        let found = write_set(db, src)?.is_some_and(|s| s.contains(m));
        out.int(found as i64);
        return Ok(());
    }
    let Some(s) = write_set(db, src)? else {
        out.int(0);
        return Ok(());
    };
    if !s.remove(m) {
        out.int(0);
        return Ok(());
    }
    if s.is_empty() {
        db.remove(src);
    }
    let added = match write_set(db, dst)? {
        Some(d) => d.insert(m, &enc),
        None => {
            let mut d = Set::for_member(m);
            d.insert(m, &enc);
            db.set(dst, Value::Set(d), false);
            true
        }
    };
    out.int(1);
    cx.modified(src);
    if added {
        cx.modified(dst);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// Multi-key commands
// ---------------------------------------------------------------------------------------------------------

/// What an intersection does with its result.
#[derive(Clone, Copy, PartialEq, Eq)]
enum InterMode {
    Reply,
    Card(u64),
    Store,
}

/// SINTER / SINTERCARD / SINTERSTORE over key arguments `first..first + n` (Redis's sinterGenericCommand).
fn sinter_generic(cx: &mut Ctx<'_>, first: usize, n: usize, dst: Option<&[u8]>, mode: InterMode) -> CmdResult {
    let argv = cx.argv;
    let enc = cx.s.enc;
    let (db, out) = cx.db_out();
    let mut t = Taken::take(db, (first..first + n).map(|i| argv.get(i)))?;
    let mut dirty = false;
    if t.idx.iter().any(Option::is_none) {
        // A missing key is an empty set: so is the intersection.
        t.put_back(db);
        match mode {
            InterMode::Store => {
                out.int(0);
                dirty = dst.is_some_and(|d| db.remove(d).is_some());
            }
            InterMode::Card(_) => out.int(0),
            InterMode::Reply => out.set(0),
        }
    } else {
        // Smallest set first; a key given twice is the same set and adds nothing.
        let mut order: Vec<usize> = (0..t.sets.len()).collect();
        order.sort_by_key(|&i| t.sets[i].len());
        let smallest = &t.sets[order[0]];
        let others: Vec<&Set> = order[1..].iter().map(|&i| &t.sets[i]).collect();
        let mut hits = smallest.members().filter(|&m| others.iter().all(|o| o.contains_member(m)));
        match mode {
            InterMode::Card(limit) => {
                let mut card = 0u64;
                for _ in hits.by_ref() {
                    card += 1;
                    if limit != 0 && card >= limit {
                        break;
                    }
                }
                out.int(card as i64);
                drop(others);
                t.put_back(db);
            }
            InterMode::Reply => {
                let found: Vec<Member<'_>> = hits.collect();
                out.set(found.len());
                for m in found {
                    reply_member(out, m);
                }
                drop(others);
                t.put_back(db);
            }
            InterMode::Store => {
                let mut result = Set::new();
                for m in hits {
                    result.insert_member(m, &enc);
                }
                drop(others);
                t.put_back(db);
                if let Some(d) = dst {
                    dirty = store_result(db, out, d, result);
                }
            }
        }
    }
    if dirty {
        if let Some(d) = dst {
            cx.modified(d);
        }
    }
    Ok(())
}

/// SINTER key [key ...]
fn sinter(cx: &mut Ctx<'_>) -> CmdResult {
    let n = cx.argc() - 1;
    sinter_generic(cx, 1, n, None, InterMode::Reply)
}

/// SINTERSTORE destination key [key ...]
fn sinterstore(cx: &mut Ctx<'_>) -> CmdResult {
    let n = cx.argc() - 2;
    let dst = cx.arg(1);
    sinter_generic(cx, 2, n, Some(dst), InterMode::Store)
}

/// SINTERCARD numkeys key [key ...] [LIMIT limit]
fn sintercard(cx: &mut Ctx<'_>) -> CmdResult {
    let numkeys = parse_i64(cx.arg(1)).filter(|&n| n >= 1).ok_or(NUMKEYS)?;
    let argc = cx.argc();
    if numkeys > (argc - 2) as i64 {
        return Err(TOO_MANY_KEYS);
    }
    let numkeys = numkeys as usize;
    let mut limit = 0u64;
    let mut j = 2 + numkeys;
    while j < argc {
        if cx.argv.is(j, "limit") && j + 1 < argc {
            j += 1;
            limit = parse_i64(cx.arg(j)).filter(|&l| l >= 0).ok_or(LIMIT_NEGATIVE)? as u64;
        } else {
            return Err(CmdError::SYNTAX);
        }
        j += 1;
    }
    sinter_generic(cx, 2, numkeys, None, InterMode::Card(limit))
}

/// SINTERCARD's keys for COMMAND GETKEYS and friends: `numkeys` keys after the numkeys argument.
fn sintercard_keys(argv: &[&[u8]]) -> Vec<usize> {
    let Some(n) = argv.get(1).and_then(|a| parse_i64(a)) else { return Vec::new() };
    if n < 1 || n as u64 > argv.len().saturating_sub(2) as u64 {
        return Vec::new();
    }
    (2..2 + n as usize).collect()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Union,
    Diff,
}

/// SUNION / SDIFF and their STORE forms over key arguments `first..` (Redis's sunionDiffGenericCommand):
/// the result is built in a new set starting as an empty intset, which decides a stored result's encoding.
fn sunion_diff_generic(cx: &mut Ctx<'_>, first: usize, dst: Option<&[u8]>, op: SetOp) -> CmdResult {
    let argv = cx.argv;
    let enc = cx.s.enc;
    let (db, out) = cx.db_out();
    let mut t = Taken::take(db, (first..argv.len()).map(|i| argv.get(i)))?;
    let setnum = t.idx.len();
    let mut result = Set::new();
    {
        let sets: Vec<Option<&Set>> = (0..setnum).map(|j| t.get(j)).collect();
        // The first key given again: the difference is empty.
        let sameset = t.idx[0].is_some() && t.idx[1..].contains(&t.idx[0]);
        match op {
            SetOp::Union => {
                for s in sets.iter().flatten() {
                    for m in s.members() {
                        result.insert_member(m, &enc);
                    }
                }
            }
            SetOp::Diff => {
                if let (Some(s0), false) = (sets[0], sameset) {
                    // Algorithm 1 (N*M: each member of the first set against the others) or 2 (N: add the
                    // first set, remove the others), whichever Redis's estimate prefers.
                    let (mut one, mut two) = (0u64, 0u64);
                    for s in sets.iter().flatten() {
                        one += s0.len() as u64;
                        two += s.len() as u64;
                    }
                    one /= 2;
                    if one <= two {
                        let mut rest: Vec<&Set> = sets[1..].iter().flatten().copied().collect();
                        rest.sort_by_key(|s| std::cmp::Reverse(s.len()));
                        for m in s0.members() {
                            if !rest.iter().any(|o| o.contains_member(m)) {
                                result.insert_member(m, &enc);
                            }
                        }
                    } else {
                        for (j, s) in sets.iter().enumerate() {
                            let Some(s) = s else { continue };
                            for m in s.members() {
                                if j == 0 {
                                    result.insert_member(m, &enc);
                                } else {
                                    result.remove_member(m);
                                }
                            }
                            if result.is_empty() {
                                break;
                            }
                        }
                    }
                }
            }
        }
    }
    t.put_back(db);
    match dst {
        None => {
            out.set(result.len());
            for m in result.members() {
                reply_member(out, m);
            }
        }
        Some(d) => {
            if store_result(db, out, d, result) {
                cx.modified(d);
            }
        }
    }
    Ok(())
}

/// SUNION key [key ...]
fn sunion(cx: &mut Ctx<'_>) -> CmdResult {
    sunion_diff_generic(cx, 1, None, SetOp::Union)
}

/// SUNIONSTORE destination key [key ...]
fn sunionstore(cx: &mut Ctx<'_>) -> CmdResult {
    let dst = cx.arg(1);
    sunion_diff_generic(cx, 2, Some(dst), SetOp::Union)
}

/// SDIFF key [key ...]
fn sdiff(cx: &mut Ctx<'_>) -> CmdResult {
    sunion_diff_generic(cx, 1, None, SetOp::Diff)
}

/// SDIFFSTORE destination key [key ...]
fn sdiffstore(cx: &mut Ctx<'_>) -> CmdResult {
    let dst = cx.arg(1);
    sunion_diff_generic(cx, 2, Some(dst), SetOp::Diff)
}

/// SSCAN key cursor [MATCH pattern] [COUNT count]
///
/// As Redis: the cursor is checked first, then the key (a missing key answers an empty scan without
/// looking at the options), then the options. COUNT is how many members to visit before MATCH filters.
fn sscan(cx: &mut Ctx<'_>) -> CmdResult {
    let cursor = crate::commands::keys::parse_cursor(cx.arg(2)).ok_or(CmdError::INVALID_CURSOR)?;
    let opts = scan_options(cx);
    let key = cx.arg(1);
    let (db, out) = cx.db_out();
    let Some(s) = read_set(db, key)? else {
        out.raw(b"*2\r\n$1\r\n0\r\n*0\r\n");
        return Ok(());
    };
    let (count, pattern) = opts?;
    let mut found: Vec<Member<'_>> = Vec::new();
    let next = s.scan(cursor, count, |m| {
        if pattern.is_none_or(|p| m.with_bytes(|b| glob_match(p, b, false))) {
            found.push(m);
        }
    });
    out.array(2);
    out.bulk_i64(next as i64);
    out.array(found.len());
    for m in found {
        reply_member(out, m);
    }
    Ok(())
}

/// SSCAN's COUNT (default 10) and MATCH (None for `*`, which matches everything).
fn scan_options<'a>(cx: &Ctx<'a>) -> Result<(usize, Option<&'a [u8]>), CmdError> {
    let mut count = 10usize;
    let mut pattern = None;
    let argc = cx.argc();
    let mut i = 3;
    while i < argc {
        let more = argc - i >= 2;
        if cx.argv.is(i, "count") && more {
            let c = cx.int_arg(i + 1)?;
            if c < 1 {
                return Err(CmdError::SYNTAX);
            }
            count = usize::try_from(c).unwrap_or(usize::MAX);
        } else if cx.argv.is(i, "match") && more {
            let p = cx.arg(i + 1);
            pattern = if p == b"*" { None } else { Some(p) };
        } else {
            return Err(CmdError::SYNTAX);
        }
        i += 2;
    }
    Ok((count, pattern))
}

#[cfg(test)]
mod tests {
    use crate::commands::testutil::{new, run, T};

    fn enc(t: &mut T, k: &str) -> String {
        run(t, &["object", "encoding", k])
    }

    /// Members of a RESP2 array reply of bulks, sorted.
    fn members(reply: &str) -> Vec<String> {
        let mut v: Vec<String> =
            reply.split("\r\n").skip(1).filter(|l| !l.starts_with('$') && !l.is_empty()).map(String::from).collect();
        v.sort();
        v
    }

    fn sorted(t: &mut T, args: &[&str]) -> Vec<String> {
        members(&run(t, args))
    }

    fn svec(v: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
        v.sort();
        v
    }

    #[test]
    fn sadd_scard_sismember_smembers() {
        let mut t = new();
        assert_eq!(run(&mut t, &["sadd", "s", "foo"]), ":1\r\n");
        assert_eq!(enc(&mut t, "s"), "$9\r\nhashtable\r\n");
        assert_eq!(run(&mut t, &["sadd", "s", "bar", "bar", "foo"]), ":1\r\n");
        assert_eq!(run(&mut t, &["scard", "s"]), ":2\r\n");
        assert_eq!(run(&mut t, &["scard", "nope"]), ":0\r\n");
        assert_eq!(run(&mut t, &["sismember", "s", "foo"]), ":1\r\n");
        assert_eq!(run(&mut t, &["sismember", "s", "x"]), ":0\r\n");
        assert_eq!(run(&mut t, &["sismember", "nope", "x"]), ":0\r\n");
        assert_eq!(run(&mut t, &["smismember", "s", "foo", "x", "bar"]), "*3\r\n:1\r\n:0\r\n:1\r\n");
        assert_eq!(run(&mut t, &["smismember", "nope", "foo", "x"]), "*2\r\n:0\r\n:0\r\n");
        assert_eq!(sorted(&mut t, &["smembers", "s"]), svec(&["bar", "foo"]));
        assert_eq!(run(&mut t, &["smembers", "nope"]), "*0\r\n");
        assert_eq!(run(&mut t, &["smismember", "s"]), "-ERR wrong number of arguments for 'smismember' command\r\n");
    }

    #[test]
    fn wrongtype_everywhere() {
        let mut t = new();
        run(&mut t, &["set", "str", "x"]);
        let wt = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
        for cmd in [
            &["sadd", "str", "a"][..],
            &["srem", "str", "a"],
            &["scard", "str"],
            &["sismember", "str", "a"],
            &["smismember", "str", "a"],
            &["smembers", "str"],
            &["srandmember", "str"],
            &["srandmember", "str", "3"],
            &["spop", "str"],
            &["spop", "str", "2"],
            &["sinter", "nokey", "str"],
            &["sintercard", "2", "nokey", "str"],
            &["sinterstore", "d", "nokey", "str"],
            &["sunion", "str", "nokey"],
            &["sdiff", "nokey", "str"],
            &["sdiffstore", "d", "nokey", "str"],
            &["sscan", "str", "0"],
        ] {
            assert_eq!(run(&mut t, cmd), wt, "{cmd:?}");
        }
        assert_eq!(run(&mut t, &["exists", "d"]), ":0\r\n");
    }

    #[test]
    fn intset_encoding_and_conversions() {
        let mut t = new();
        run(&mut t, &["sadd", "s", "17"]);
        assert_eq!(enc(&mut t, "s"), "$6\r\nintset\r\n");
        run(&mut t, &["sadd", "s", "16", "-5", "70000", "9223372036854775807"]);
        assert_eq!(enc(&mut t, "s"), "$6\r\nintset\r\n");
        // Intsets list their members in ascending order.
        assert_eq!(
            run(&mut t, &["smembers", "s"]),
            "*5\r\n$2\r\n-5\r\n$2\r\n16\r\n$2\r\n17\r\n$5\r\n70000\r\n$19\r\n9223372036854775807\r\n"
        );
        assert_eq!(run(&mut t, &["sismember", "s", "017"]), ":0\r\n");
        run(&mut t, &["sadd", "s", "a"]);
        assert_eq!(enc(&mut t, "s"), "$9\r\nhashtable\r\n");
        run(&mut t, &["srem", "s", "a"]);
        assert_eq!(enc(&mut t, "s"), "$9\r\nhashtable\r\n");
        // Too big for an i64: a string.
        run(&mut t, &["sadd", "big", "213244124402402314402033402"]);
        assert_eq!(enc(&mut t, "big"), "$9\r\nhashtable\r\n");
        assert_eq!(run(&mut t, &["sismember", "big", "213244124402402314402033402"]), ":1\r\n");
        // set-max-intset-entries.
        run(&mut t, &["config", "set", "set-max-intset-entries", "4"]);
        run(&mut t, &["sadd", "n", "1", "2", "3", "4"]);
        assert_eq!(enc(&mut t, "n"), "$6\r\nintset\r\n");
        run(&mut t, &["sadd", "n", "5"]);
        assert_eq!(enc(&mut t, "n"), "$9\r\nhashtable\r\n");
    }

    #[test]
    fn srem_deletes_emptied_key() {
        let mut t = new();
        run(&mut t, &["sadd", "s", "1", "2", "3"]);
        assert_eq!(run(&mut t, &["srem", "s", "4", "5"]), ":0\r\n");
        assert_eq!(run(&mut t, &["srem", "s", "1", "2", "3", "4", "5"]), ":3\r\n");
        assert_eq!(run(&mut t, &["exists", "s"]), ":0\r\n");
        assert_eq!(run(&mut t, &["srem", "s", "1"]), ":0\r\n");
        run(&mut t, &["sadd", "h", "a", "b", "c", "d"]);
        assert_eq!(run(&mut t, &["srem", "h", "k", "k"]), ":0\r\n");
        assert_eq!(run(&mut t, &["srem", "h", "b", "d", "x"]), ":2\r\n");
        assert_eq!(sorted(&mut t, &["smembers", "h"]), svec(&["a", "c"]));
    }

    #[test]
    fn srandmember_cases() {
        let mut t = new();
        assert_eq!(run(&mut t, &["srandmember", "nope"]), "$-1\r\n");
        assert_eq!(run(&mut t, &["srandmember", "nope", "5"]), "*0\r\n");
        assert_eq!(run(&mut t, &["srandmember", "nope", "-5"]), "*0\r\n");
        run(&mut t, &["sadd", "s", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]);
        assert_eq!(run(&mut t, &["srandmember", "s", "0"]), "*0\r\n");
        assert_eq!(
            run(&mut t, &["srandmember", "s", "-9223372036854775808"]),
            "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n"
        );
        assert_eq!(run(&mut t, &["srandmember", "s", "x"]), "-ERR value is not an integer or out of range\r\n");
        assert_eq!(run(&mut t, &["srandmember", "s", "1", "2"]), "-ERR syntax error\r\n");
        let r = run(&mut t, &["srandmember", "s", "-100"]);
        assert!(r.starts_with("*100\r\n"));
        let all = svec(&["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]);
        for n in ["10", "50", "9", "3", "1"] {
            let got = sorted(&mut t, &["srandmember", "s", n]);
            let want = n.parse::<usize>().unwrap().min(10);
            assert_eq!(got.len(), want, "count {n}");
            let mut d = got.clone();
            d.dedup();
            assert_eq!(d.len(), want, "distinct for {n}");
            assert!(got.iter().all(|m| all.contains(m)));
        }
        assert_eq!(sorted(&mut t, &["srandmember", "s", "10"]), all);
        // RESP3: SRANDMEMBER with a count stays an array.
        run(&mut t, &["hello", "3"]);
        assert!(run(&mut t, &["srandmember", "s", "2"]).starts_with("*2\r\n"));
        assert_eq!(run(&mut t, &["srandmember", "nope", "2"]), "*0\r\n");
        assert_eq!(run(&mut t, &["srandmember", "nope"]), "_\r\n");
    }

    #[test]
    fn srandmember_intset_distribution() {
        let mut t = new();
        run(&mut t, &["sadd", "s", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
        let r = run(&mut t, &["srandmember", "s", "-10000"]);
        let mut hist = [0usize; 10];
        for l in r.split("\r\n").skip(1).filter(|l| !l.starts_with('$') && !l.is_empty()) {
            hist[l.parse::<usize>().unwrap()] += 1;
        }
        assert!(hist.iter().all(|&c| c > 850 && c < 1150), "{hist:?}");
    }

    #[test]
    fn spop_single_and_count() {
        let mut t = new();
        assert_eq!(run(&mut t, &["spop", "nope"]), "$-1\r\n");
        assert_eq!(run(&mut t, &["spop", "nope", "3"]), "*0\r\n");
        run(&mut t, &["sadd", "s", "a", "b", "c"]);
        assert_eq!(run(&mut t, &["spop", "s", "-1"]), "-ERR value is out of range, must be positive\r\n");
        assert_eq!(run(&mut t, &["spop", "s", "x"]), "-ERR value is not an integer or out of range\r\n");
        assert_eq!(run(&mut t, &["spop", "s", "1", "2"]), "-ERR syntax error\r\n");
        assert_eq!(run(&mut t, &["spop", "s", "0"]), "*0\r\n");
        let mut got = Vec::new();
        for _ in 0..3 {
            got.extend(members(&format!("*1\r\n{}", run(&mut t, &["spop", "s"]))));
        }
        got.sort();
        assert_eq!(got, svec(&["a", "b", "c"]));
        assert_eq!(run(&mut t, &["exists", "s"]), ":0\r\n");
        // All three count cases, on both encodings.
        for (content, enc_name) in [
            (
                vec![
                    "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16", "17", "18",
                    "19", "20",
                ],
                "intset",
            ),
            (
                vec![
                    "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q", "r", "s", "t",
                ],
                "hashtable",
            ),
        ] {
            for count in [30usize, 2, 18, 20] {
                run(&mut t, &["del", "s"]);
                let mut args = vec!["sadd", "s"];
                args.extend(content.iter().copied());
                run(&mut t, &args);
                assert_eq!(enc(&mut t, "s"), format!("${}\r\n{enc_name}\r\n", enc_name.len()));
                let c = count.to_string();
                let popped = sorted(&mut t, &["spop", "s", &c]);
                assert_eq!(popped.len(), count.min(20));
                let mut rest = sorted(&mut t, &["smembers", "s"]);
                assert_eq!(rest.len(), 20 - count.min(20));
                rest.extend(popped);
                rest.sort();
                assert_eq!(rest, svec(&content));
            }
        }
        // RESP3: a set.
        run(&mut t, &["sadd", "s", "a", "b", "c"]);
        run(&mut t, &["hello", "3"]);
        assert!(run(&mut t, &["spop", "s", "2"]).starts_with("~2\r\n"));
        assert_eq!(run(&mut t, &["spop", "s", "0"]), "~0\r\n");
        assert_eq!(run(&mut t, &["spop", "nope", "2"]), "~0\r\n");
    }

    #[test]
    fn spop_case3_rebuilds_encoding_and_keeps_ttl() {
        let mut t = new();
        // A table holding only integers: the rebuilt set is an intset, as in Redis.
        run(&mut t, &["sadd", "s", "x"]);
        for i in 0..20 {
            run(&mut t, &["sadd", "s", &i.to_string()]);
        }
        run(&mut t, &["srem", "s", "x"]);
        run(&mut t, &["expire", "s", "100"]);
        assert_eq!(enc(&mut t, "s"), "$9\r\nhashtable\r\n");
        let r = run(&mut t, &["spop", "s", "18"]);
        assert!(r.starts_with("*18\r\n"));
        assert_eq!(run(&mut t, &["scard", "s"]), ":2\r\n");
        assert_eq!(enc(&mut t, "s"), "$6\r\nintset\r\n");
        assert_eq!(run(&mut t, &["ttl", "s"]), ":100\r\n");
    }

    #[test]
    fn smove_cases() {
        let mut t = new();
        let setup = |t: &mut T| {
            run(t, &["del", "s1", "s2", "s3"]);
            run(t, &["sadd", "s1", "1", "a", "b"]);
            run(t, &["sadd", "s2", "2", "3", "4"]);
        };
        setup(&mut t);
        assert_eq!(run(&mut t, &["smove", "s1", "s2", "a"]), ":1\r\n");
        assert_eq!(sorted(&mut t, &["smembers", "s1"]), svec(&["1", "b"]));
        assert_eq!(sorted(&mut t, &["smembers", "s2"]), svec(&["2", "3", "4", "a"]));
        assert_eq!(enc(&mut t, "s2"), "$9\r\nhashtable\r\n");
        setup(&mut t);
        assert_eq!(run(&mut t, &["smove", "s1", "s2", "1"]), ":1\r\n");
        assert_eq!(enc(&mut t, "s2"), "$6\r\nintset\r\n");
        setup(&mut t);
        assert_eq!(run(&mut t, &["smove", "s1", "s2", "foo"]), ":0\r\n");
        assert_eq!(run(&mut t, &["smove", "s1", "s1", "foo"]), ":0\r\n");
        assert_eq!(run(&mut t, &["smove", "s1", "s1", "a"]), ":1\r\n");
        assert_eq!(run(&mut t, &["smove", "nope", "s2", "foo"]), ":0\r\n");
        assert_eq!(run(&mut t, &["smove", "s2", "s3", "2"]), ":1\r\n");
        assert_eq!(enc(&mut t, "s3"), "$6\r\nintset\r\n");
        assert_eq!(run(&mut t, &["smove", "s1", "s4", "a"]), ":1\r\n");
        assert_eq!(enc(&mut t, "s4"), "$9\r\nhashtable\r\n");
        run(&mut t, &["set", "x", "10"]);
        assert!(run(&mut t, &["smove", "x", "s2", "foo"]).starts_with("-WRONGTYPE"));
        assert!(run(&mut t, &["smove", "s2", "x", "foo"]).starts_with("-WRONGTYPE"));
        assert_eq!(run(&mut t, &["smove", "nope", "x", "foo"]), ":0\r\n");
        // The source goes when emptied.
        run(&mut t, &["sadd", "one", "z"]);
        assert_eq!(run(&mut t, &["smove", "one", "s1", "z"]), ":1\r\n");
        assert_eq!(run(&mut t, &["exists", "one"]), ":0\r\n");
    }

    #[test]
    fn smove_touches_destination_only_when_added() {
        let mut t = new();
        run(&mut t, &["sadd", "src", "a", "b"]);
        run(&mut t, &["sadd", "dst", "a"]);
        let before = t.s.persist.dirty;
        run(&mut t, &["smove", "src", "dst", "a"]);
        assert_eq!(t.s.persist.dirty, before + 1);
        run(&mut t, &["smove", "src", "dst", "b"]);
        assert_eq!(t.s.persist.dirty, before + 3);
    }

    fn fill(t: &mut T, large: &str) {
        run(t, &["del", "set1", "set2", "set3", "set4", "set5"]);
        for i in 0..200 {
            run(t, &["sadd", "set1", &i.to_string()]);
            run(t, &["sadd", "set2", &(i + 195).to_string()]);
        }
        run(t, &["sadd", "set3", "199", "195", "1000", "2000"]);
        for i in 5..200 {
            run(t, &["sadd", "set4", &i.to_string()]);
        }
        run(t, &["sadd", "set5", "0"]);
        for k in ["set1", "set2", "set3", "set4", "set5"] {
            run(t, &["sadd", k, large]);
        }
    }

    #[test]
    fn inter_union_diff_both_encodings() {
        let mut t = new();
        for (kind, large) in [("hashtable", "foo"), ("intset", "200")] {
            fill(&mut t, large);
            for k in ["set1", "set2", "set3", "set4", "set5"] {
                assert_eq!(enc(&mut t, k), format!("${}\r\n{kind}\r\n", kind.len()));
            }
            let want = svec(&["195", "196", "197", "198", "199", large]);
            assert_eq!(sorted(&mut t, &["sinter", "set1", "set2"]), want);
            assert_eq!(run(&mut t, &["sintercard", "2", "set1", "set2"]), ":6\r\n");
            assert_eq!(run(&mut t, &["sintercard", "2", "set1", "set2", "limit", "0"]), ":6\r\n");
            assert_eq!(run(&mut t, &["sintercard", "2", "set1", "set2", "LIMIT", "3"]), ":3\r\n");
            assert_eq!(run(&mut t, &["sinterstore", "res", "set1", "set2"]), ":6\r\n");
            assert_eq!(enc(&mut t, "res"), format!("${}\r\n{kind}\r\n", kind.len()));
            assert_eq!(sorted(&mut t, &["smembers", "res"]), want);
            assert_eq!(sorted(&mut t, &["sinter", "set1", "set2", "set3"]), svec(&["195", "199", large]));
            assert_eq!(run(&mut t, &["sintercard", "3", "set1", "set2", "set3", "limit", "2"]), ":2\r\n");
            let mut u = sorted(&mut t, &["smembers", "set1"]);
            u.extend(sorted(&mut t, &["smembers", "set2"]));
            u.sort();
            u.dedup();
            assert_eq!(sorted(&mut t, &["sunion", "nokey1", "set1", "set2", "nokey2"]), u);
            assert_eq!(run(&mut t, &["sunionstore", "res", "set1", "set2"]), format!(":{}\r\n", u.len()));
            assert_eq!(enc(&mut t, "res"), format!("${}\r\n{kind}\r\n", kind.len()));
            assert_eq!(sorted(&mut t, &["sdiff", "set1", "set4"]), svec(&["0", "1", "2", "3", "4"]));
            assert_eq!(sorted(&mut t, &["sdiff", "set1", "set4", "set5"]), svec(&["1", "2", "3", "4"]));
            assert_eq!(run(&mut t, &["sdiffstore", "res", "set1", "set4", "set5"]), ":4\r\n");
            if kind == "intset" {
                assert_eq!(enc(&mut t, "res"), "$6\r\nintset\r\n");
            }
            let s1 = sorted(&mut t, &["smembers", "set1"]);
            assert_eq!(sorted(&mut t, &["sinter", "set1", "set1", "set1"]), s1);
            assert_eq!(sorted(&mut t, &["sunion", "set1", "set1", "set1"]), s1);
            assert_eq!(run(&mut t, &["sdiff", "set1", "set1", "set1"]), "*0\r\n");
        }
    }

    #[test]
    fn store_commands_overwrite_or_delete_destination() {
        let mut t = new();
        run(&mut t, &["set", "res", "xxx"]);
        assert_eq!(run(&mut t, &["sinterstore", "res", "foo", "bar"]), ":0\r\n");
        assert_eq!(run(&mut t, &["exists", "res"]), ":0\r\n");
        run(&mut t, &["set", "res", "xxx"]);
        assert_eq!(run(&mut t, &["sunionstore", "res", "foo", "bar"]), ":0\r\n");
        assert_eq!(run(&mut t, &["exists", "res"]), ":0\r\n");
        run(&mut t, &["set", "res", "xxx"]);
        assert_eq!(run(&mut t, &["sdiffstore", "res", "foo", "bar"]), ":0\r\n");
        assert_eq!(run(&mut t, &["exists", "res"]), ":0\r\n");
        run(&mut t, &["sadd", "a", "x", "y"]);
        run(&mut t, &["set", "res", "xxx", "ex", "100"]);
        assert_eq!(run(&mut t, &["sunionstore", "res", "a"]), ":2\r\n");
        assert_eq!(run(&mut t, &["ttl", "res"]), ":-1\r\n");
        // The destination may be a source.
        run(&mut t, &["sadd", "b", "y", "z"]);
        assert_eq!(run(&mut t, &["sinterstore", "a", "a", "b"]), ":1\r\n");
        assert_eq!(sorted(&mut t, &["smembers", "a"]), svec(&["y"]));
        // Type errors leave the destination alone.
        run(&mut t, &["set", "str", "x"]);
        assert!(run(&mut t, &["sunionstore", "a", "b", "str"]).starts_with("-WRONGTYPE"));
        assert_eq!(sorted(&mut t, &["smembers", "a"]), svec(&["y"]));
        assert_eq!(sorted(&mut t, &["smembers", "b"]), svec(&["y", "z"]));
        // SINTERSTORE results choose their encoding afresh.
        run(&mut t, &["sadd", "h1", "1", "2", "3", "a"]);
        run(&mut t, &["sadd", "h2", "1", "2", "3", "b"]);
        assert_eq!(run(&mut t, &["sinterstore", "r", "h1", "h2"]), ":3\r\n");
        assert_eq!(enc(&mut t, "r"), "$6\r\nintset\r\n");
        assert_eq!(run(&mut t, &["smembers", "r"]), "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n");
    }

    #[test]
    fn sdiff_edge_cases() {
        let mut t = new();
        run(&mut t, &["sadd", "set2", "1", "2", "3", "4"]);
        run(&mut t, &["sadd", "set3", "a", "b", "c", "d"]);
        assert_eq!(run(&mut t, &["sdiff", "set1", "set2", "set3"]), "*0\r\n");
        run(&mut t, &["sadd", "x", "a", "b", "c"]);
        run(&mut t, &["sadd", "y", "b", "c", "d"]);
        assert_eq!(sorted(&mut t, &["sdiff", "x", "y", "nokey"]), svec(&["a"]));
        assert_eq!(run(&mut t, &["sdiff", "nokey", "y", "x"]), "*0\r\n");
        // Algorithm 2 (a big first set against small others).
        for i in 0..100 {
            run(&mut t, &["sadd", "big", &format!("m{i}")]);
        }
        run(&mut t, &["sadd", "small", "m1", "m2"]);
        assert_eq!(run(&mut t, &["sdiff", "big", "small"]).lines().next(), Some("*98"));
        assert_eq!(run(&mut t, &["sdiffstore", "d", "big", "small"]), ":98\r\n");
    }

    #[test]
    fn sinter_mixed_encodings() {
        let mut t = new();
        run(&mut t, &["sadd", "a", "1", "2", "3"]);
        run(&mut t, &["sadd", "b", "1", "2", "3", "x"]);
        run(&mut t, &["srem", "b", "x"]);
        assert_eq!(sorted(&mut t, &["sinter", "a", "b"]), svec(&["1", "2", "3"]));
        assert_eq!(sorted(&mut t, &["sinter", "b", "a"]), svec(&["1", "2", "3"]));
        assert_eq!(run(&mut t, &["sinter", "a", "nokey"]), "*0\r\n");
        run(&mut t, &["hello", "3"]);
        assert_eq!(run(&mut t, &["sinter", "a", "nokey"]), "~0\r\n");
        assert!(run(&mut t, &["sinter", "a", "b"]).starts_with("~3\r\n"));
        assert!(run(&mut t, &["smembers", "a"]).starts_with("~3\r\n"));
        assert!(run(&mut t, &["sunion", "a", "b"]).starts_with("~3\r\n"));
        assert_eq!(run(&mut t, &["sdiff", "a", "b"]), "~0\r\n");
    }

    #[test]
    fn sintercard_arguments() {
        let mut t = new();
        let arity = "-ERR wrong number of arguments for 'sintercard' command\r\n";
        assert_eq!(run(&mut t, &["sintercard"]), arity);
        assert_eq!(run(&mut t, &["sintercard", "1"]), arity);
        let numkeys = "-ERR numkeys should be greater than 0\r\n";
        assert_eq!(run(&mut t, &["sintercard", "0", "s"]), numkeys);
        assert_eq!(run(&mut t, &["sintercard", "a", "s"]), numkeys);
        assert_eq!(run(&mut t, &["sintercard", "-1", "s"]), numkeys);
        let too_many = "-ERR Number of keys can't be greater than number of args\r\n";
        assert_eq!(run(&mut t, &["sintercard", "2", "s"]), too_many);
        assert_eq!(run(&mut t, &["sintercard", "3", "s", "t"]), too_many);
        let syntax = "-ERR syntax error\r\n";
        assert_eq!(run(&mut t, &["sintercard", "1", "s", "t"]), syntax);
        assert_eq!(run(&mut t, &["sintercard", "1", "s", "bar"]), syntax);
        assert_eq!(run(&mut t, &["sintercard", "1", "s", "LIMIT"]), syntax);
        let limit = "-ERR LIMIT can't be negative\r\n";
        assert_eq!(run(&mut t, &["sintercard", "1", "s", "LIMIT", "-1"]), limit);
        assert_eq!(run(&mut t, &["sintercard", "1", "s", "LIMIT", "a"]), limit);
        assert_eq!(run(&mut t, &["sintercard", "1", "nokey"]), ":0\r\n");
        assert_eq!(run(&mut t, &["sintercard", "1", "nokey", "limit", "10"]), ":0\r\n");
        run(&mut t, &["sadd", "s", "a", "b", "c"]);
        assert_eq!(run(&mut t, &["sintercard", "1", "s", "limit", "2", "limit", "0"]), ":3\r\n");
        assert_eq!(
            run(&mut t, &["command", "getkeys", "sintercard", "2", "a", "b", "limit", "1"]),
            "*2\r\n$1\r\na\r\n$1\r\nb\r\n"
        );
        assert_eq!(super::sintercard_keys(&[b"sintercard", b"5", b"a"]), Vec::<usize>::new());
    }

    #[test]
    fn sscan_both_encodings() {
        let mut t = new();
        assert_eq!(run(&mut t, &["sscan", "nope", "0"]), "*2\r\n$1\r\n0\r\n*0\r\n");
        assert_eq!(run(&mut t, &["sscan", "nope", "0", "bogus"]), "*2\r\n$1\r\n0\r\n*0\r\n");
        assert_eq!(run(&mut t, &["sscan", "nope", "x"]), "-ERR invalid cursor\r\n");
        run(&mut t, &["sadd", "ints", "1", "2", "3", "12"]);
        assert_eq!(
            run(&mut t, &["sscan", "ints", "0", "match", "*1*"]),
            "*2\r\n$1\r\n0\r\n*2\r\n$1\r\n1\r\n$2\r\n12\r\n"
        );
        assert_eq!(run(&mut t, &["sscan", "ints", "0", "count", "0"]), "-ERR syntax error\r\n");
        assert_eq!(
            run(&mut t, &["sscan", "ints", "0", "count", "x"]),
            "-ERR value is not an integer or out of range\r\n"
        );
        assert_eq!(run(&mut t, &["sscan", "ints", "0", "type", "set"]), "-ERR syntax error\r\n");
        for i in 0..500 {
            run(&mut t, &["sadd", "h", &format!("ele:{i}")]);
        }
        let mut seen = std::collections::HashSet::new();
        let mut cursor = "0".to_string();
        let mut calls = 0;
        loop {
            let r = run(&mut t, &["sscan", "h", &cursor, "count", "20"]);
            let lines: Vec<&str> = r.split("\r\n").collect();
            cursor = lines[2].to_string();
            for l in &lines[4..] {
                if l.starts_with("ele:") {
                    seen.insert(l.to_string());
                }
            }
            calls += 1;
            if cursor == "0" {
                break;
            }
        }
        assert_eq!(seen.len(), 500);
        assert!(calls > 5);
        let r = run(&mut t, &["sscan", "h", "0", "match", "ele:1?", "count", "10000"]);
        assert_eq!(members(&r).iter().filter(|m| m.starts_with("ele:")).count(), 10);
    }

    fn feed_text(t: &mut T) -> String {
        let text = String::from_utf8_lossy(&t.s.prop.feed.buf).split("\r\n").collect::<Vec<_>>().join(" ");
        t.s.prop.feed.buf.clear();
        text
    }

    #[test]
    fn spop_propagates_as_srem_or_del() {
        let mut t = new();
        crate::commands::set_feed_enabled(&mut t.s, true);
        run(&mut t, &["sadd", "s", "7"]);
        feed_text(&mut t);
        run(&mut t, &["spop", "s"]);
        assert_eq!(feed_text(&mut t), "*3 $4 SREM $1 s $1 7 ");
        run(&mut t, &["sadd", "s", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]);
        feed_text(&mut t);
        // Case 2 and case 3: one SREM per member popped.
        run(&mut t, &["spop", "s", "2"]);
        assert_eq!(feed_text(&mut t).matches("SREM").count(), 2);
        run(&mut t, &["spop", "s", "7"]);
        assert_eq!(feed_text(&mut t).matches("SREM").count(), 7);
        run(&mut t, &["spop", "s", "0"]);
        assert_eq!(feed_text(&mut t), "");
        // Case 1: the whole set, as DEL.
        run(&mut t, &["spop", "s", "5"]);
        assert_eq!(feed_text(&mut t), "*2 $3 DEL $1 s ");
        run(&mut t, &["spop", "s", "5"]);
        run(&mut t, &["srandmember", "s", "5"]);
        assert_eq!(feed_text(&mut t), "");
    }

    #[test]
    fn dirty_and_expiry() {
        let mut t = new();
        let d0 = t.s.persist.dirty;
        run(&mut t, &["sadd", "s", "a"]);
        run(&mut t, &["sadd", "s", "a"]);
        run(&mut t, &["srem", "s", "zz"]);
        run(&mut t, &["smembers", "s"]);
        assert_eq!(t.s.persist.dirty, d0 + 1);
        run(&mut t, &["pexpire", "s", "1"]);
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert_eq!(run(&mut t, &["scard", "s"]), ":0\r\n");
        assert_eq!(run(&mut t, &["sunion", "s"]), "*0\r\n");
    }
}
