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
use crate::config::{NOTIFY_GENERIC, NOTIFY_SET};
use crate::error::CmdError;
use crate::resp::encode::Out;
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

#[rustfmt::skip]
pub const SPECS: &[CommandSpec] = &family("set", [
    cmd("sadd", -3, WRITE | DENYOOM | FAST, sadd).keys(1, 1, 1).acl(SET).doc("1.0.0", "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.", "Add one or more members to a set"),
    cmd("srem", -3, WRITE | FAST, srem).keys(1, 1, 1).acl(SET).doc("1.0.0", "O(N) where N is the number of members to be removed.", "Remove one or more members from a set"),
    cmd("scard", 2, READONLY | FAST, scard).keys(1, 1, 1).acl(SET).doc("1.0.0", "O(1)", "Get the number of members in a set"),
    cmd("sismember", 3, READONLY | FAST, sismember).keys(1, 1, 1).acl(SET).doc("1.0.0", "O(1)", "Determine if a given value is a member of a set"),
    cmd("smismember", -3, READONLY | FAST, smismember).keys(1, 1, 1).acl(SET).doc("6.2.0", "O(N) where N is the number of elements being checked for membership", "Returns the membership associated with the given elements for a set"),
    cmd("smembers", 2, READONLY, smembers).keys(1, 1, 1).acl(SET).doc("1.0.0", "O(N) where N is the set cardinality.", "Get all the members in a set"),
    cmd("srandmember", -2, READONLY, srandmember).keys(1, 1, 1).acl(SET).doc("1.0.0", "Without the count argument O(1), otherwise O(N) where N is the absolute value of the passed count.", "Get one or multiple random members from a set"),
    cmd("spop", -2, WRITE | FAST, spop).keys(1, 1, 1).acl(SET).doc("1.0.0", "Without the count argument O(1), otherwise O(N) where N is the value of the passed count.", "Remove and return one or multiple random members from a set"),
    cmd("smove", 4, WRITE | FAST, smove).keys(1, 2, 1).acl(SET).doc("1.0.0", "O(1)", "Move a member from one set to another"),
    cmd("sinter", -2, READONLY, sinter).keys(1, -1, 1).acl(SET).doc("1.0.0", "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.", "Intersect multiple sets"),
    cmd("sintercard", -3, READONLY | MOVABLE_KEYS, sintercard).acl(SET).getkeys(sintercard_keys).doc("7.0.0", "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.", "Intersect multiple sets and return the cardinality of the result"),
    cmd("sinterstore", -3, WRITE | DENYOOM, sinterstore).keys(1, -1, 1).acl(SET).doc("1.0.0", "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.", "Intersect multiple sets and store the resulting set in a key"),
    cmd("sunion", -2, READONLY, sunion).keys(1, -1, 1).acl(SET).doc("1.0.0", "O(N) where N is the total number of elements in all given sets.", "Add multiple sets"),
    cmd("sunionstore", -3, WRITE | DENYOOM, sunionstore).keys(1, -1, 1).acl(SET).doc("1.0.0", "O(N) where N is the total number of elements in all given sets.", "Add multiple sets and store the resulting set in a key"),
    cmd("sdiff", -2, READONLY, sdiff).keys(1, -1, 1).acl(SET).doc("1.0.0", "O(N) where N is the total number of elements in all given sets.", "Subtract multiple sets"),
    cmd("sdiffstore", -3, WRITE | DENYOOM, sdiffstore).keys(1, -1, 1).acl(SET).doc("1.0.0", "O(N) where N is the total number of elements in all given sets.", "Subtract multiple sets and store the resulting set in a key"),
    cmd("sscan", -3, READONLY, sscan).keys(1, 1, 1).acl(SET).doc("2.8.0", "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..", "Incrementally iterate Set elements"),
]);

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

/// The keyspace event of a *STORE into `dst` that changed it: the command's name when the result was
/// stored, `del` when an empty result deleted the key.
fn store_event(cx: &mut Ctx<'_>, dst: &[u8]) {
    if cx.s.pubsub.notify == 0 {
        return;
    }
    if cx.db().peek_stored(dst).is_some() {
        cx.notify(NOTIFY_SET, cx.spec.name, dst);
    } else {
        cx.notify(NOTIFY_GENERIC, "del", dst);
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
    // A new set takes the encoding its first member calls for (never empty: arity asks for a member).
    let s = db.write_or_create(key, || Set::for_member(argv.get(2)))?;
    let added = argv.iter().skip(2).filter(|m| s.insert(m, &enc)).count();
    out.int(added as i64);
    if added > 0 {
        cx.modified(key);
        cx.notify(NOTIFY_SET, "sadd", key);
    }
    Ok(())
}

/// SREM key member [member ...]
fn srem(cx: &mut Ctx<'_>) -> CmdResult {
    let argv = cx.argv;
    let key = argv.get(1);
    let (db, out) = cx.db_out();
    let Some(s) = db.write::<Set>(key)? else {
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
        cx.notify(NOTIFY_SET, "srem", key);
        if emptied {
            cx.notify(NOTIFY_GENERIC, "del", key);
        }
    }
    Ok(())
}

/// SCARD key
fn scard(cx: &mut Ctx<'_>) -> CmdResult {
    let key = cx.arg(1);
    let (db, out) = cx.db_out();
    let n = db.read::<Set>(key)?.map_or(0, |s| s.len());
    out.int(n as i64);
    Ok(())
}

/// SISMEMBER key member
fn sismember(cx: &mut Ctx<'_>) -> CmdResult {
    let (key, m) = (cx.arg(1), cx.arg(2));
    let (db, out) = cx.db_out();
    let found = db.read::<Set>(key)?.is_some_and(|s| s.contains(m));
    out.int(found as i64);
    Ok(())
}

/// SMISMEMBER key member [member ...]
fn smismember(cx: &mut Ctx<'_>) -> CmdResult {
    let argv = cx.argv;
    let (db, out) = cx.db_out();
    let s = db.read::<Set>(argv.get(1))?;
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
    match db.read::<Set>(key)? {
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
    match db.read::<Set>(key)?.and_then(|s| s.random_member()) {
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
    let Some(s) = db.read::<Set>(key)? else {
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
    let Some(s) = db.write::<Set>(key)? else {
        out.nil();
        return Ok(());
    };
    let Some(m) = s.pop_random() else {
        out.nil();
        return Ok(());
    };
    reply_member(out, m.as_member());
    let emptied = s.is_empty();
    if emptied {
        db.remove(key);
    }
    cx.modified(key);
    cx.notify(NOTIFY_SET, "spop", key);
    if emptied {
        cx.notify(NOTIFY_GENERIC, "del", key);
    }
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
    let Some(s) = db.write::<Set>(key)? else {
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
    cx.notify(NOTIFY_SET, "spop", key);
    if whole {
        cx.notify(NOTIFY_GENERIC, "del", key);
    }
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
        let found = db.write::<Set>(src)?.is_some_and(|s| s.contains(m));
        out.int(found as i64);
        return Ok(());
    }
    let Some(s) = db.write::<Set>(src)? else {
        out.int(0);
        return Ok(());
    };
    if !s.remove(m) {
        out.int(0);
        return Ok(());
    }
    let emptied = s.is_empty();
    if emptied {
        db.remove(src);
    }
    cx.notify(NOTIFY_SET, "srem", src);
    if emptied {
        cx.notify(NOTIFY_GENERIC, "del", src);
    }
    let db = cx.db();
    let added = db.write_or_create(dst, || Set::for_member(m))?.insert(m, &enc);
    cx.out.int(1);
    cx.modified(src);
    if added {
        cx.modified(dst);
        cx.notify(NOTIFY_SET, "sadd", dst);
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
            store_event(cx, d);
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
                store_event(cx, d);
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
    let Some(s) = db.read::<Set>(key)? else {
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
#[path = "set_tests.rs"]
mod tests;
