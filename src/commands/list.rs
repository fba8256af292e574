//! List commands: pushes and pops at both ends, ranges and positional reads and edits, LPOS, moves between
//! lists and the blocking pops (commands layer, applied by the Keyspace actor).
//!
//! Replies, error texts and the order in which arguments and keys are checked follow Redis 7.0's t_list.c,
//! because clients and the Redis test suite match on them. A list that becomes empty is deleted.
//!
//! Blocking commands (BLPOP, BRPOP, BLMPOP, BLMOVE, BRPOPLPUSH) serve at once when they can; otherwise they
//! block on their keys with `Ctx::block` and are run again from the start when one of the keys is written
//! (the first deadline is kept), so serving a woken client is the same code path as serving it at once.
//! Inside MULTI/EXEC they answer as if timed out.

use super::spec::*;
use super::{block_deadline, Ctx};
use crate::config::{NOTIFY_GENERIC, NOTIFY_LIST};
use crate::error::CmdError;
use crate::resp::encode::Out;
use crate::types::db::Db;
use crate::types::list::List;
use crate::types::num::parse_i64;

const PUSH_CX: &str =
    "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.";
const POP_CX: &str = "O(N) where N is the number of elements returned";
const MPOP_CX: &str = "O(N+M) where N is the number of provided keys and M is the number of elements returned.";
const LRANGE_CX: &str = "O(S+N) where S is the distance of start offset from HEAD for small lists, from nearest end \
(HEAD or TAIL) for large lists; and N is the number of elements in the specified range.";
const LINDEX_CX: &str = "O(N) where N is the number of elements to traverse to get to the element at index. This \
makes asking for the first or the last element of the list O(1).";
const LSET_CX: &str =
    "O(N) where N is the length of the list. Setting either the first or the last element of the list is O(1).";
const LINSERT_CX: &str = "O(N) where N is the number of elements to traverse before seeing the value pivot. This \
means that inserting somewhere on the left end on the list (head) can be considered O(1) and inserting somewhere on \
the right end (tail) is O(N).";
const LPOS_CX: &str = "O(N) where N is the number of elements in the list, for the average case. When searching for \
elements near the head or the tail of the list, or when the MAXLEN option is provided, the command may run in \
constant time.";

const ERR_OUT_OF_RANGE: CmdError = CmdError::new("ERR index out of range");
const ERR_POSITIVE: &str = "ERR value is out of range, must be positive";
const ERR_RANK_ZERO: &str = "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or \
use negative to start from the end of the list";

/// The list commands, as Redis 7.0's command table declares them.
#[rustfmt::skip]
pub const SPECS: &[CommandSpec] = &family("list", [
    cmd("lpush", -3, WRITE | DENYOOM | FAST, lpush).keys(1, 1, 1).acl(LIST).doc("1.0.0", PUSH_CX, "Prepend one or multiple elements to a list"),
    cmd("rpush", -3, WRITE | DENYOOM | FAST, rpush).keys(1, 1, 1).acl(LIST).doc("1.0.0", PUSH_CX, "Append one or multiple elements to a list"),
    cmd("lpushx", -3, WRITE | DENYOOM | FAST, lpushx).keys(1, 1, 1).acl(LIST).doc("2.2.0", PUSH_CX, "Prepend an element to a list, only if the list exists"),
    cmd("rpushx", -3, WRITE | DENYOOM | FAST, rpushx).keys(1, 1, 1).acl(LIST).doc("2.2.0", PUSH_CX, "Append an element to a list, only if the list exists"),
    cmd("lpop", -2, WRITE | FAST, lpop).keys(1, 1, 1).acl(LIST).doc("1.0.0", POP_CX, "Remove and get the first elements in a list"),
    cmd("rpop", -2, WRITE | FAST, rpop).keys(1, 1, 1).acl(LIST).doc("1.0.0", POP_CX, "Remove and get the last elements in a list"),
    cmd("llen", 2, READONLY | FAST, llen).keys(1, 1, 1).acl(LIST).doc("1.0.0", "O(1)", "Get the length of a list"),
    cmd("lrange", 4, READONLY, lrange).keys(1, 1, 1).acl(LIST).doc("1.0.0", LRANGE_CX, "Get a range of elements from a list"),
    cmd("lindex", 3, READONLY, lindex).keys(1, 1, 1).acl(LIST).doc("1.0.0", LINDEX_CX, "Get an element from a list by its index"),
    cmd("lset", 4, WRITE | DENYOOM, lset).keys(1, 1, 1).acl(LIST).doc("1.0.0", LSET_CX, "Set the value of an element in a list by its index"),
    cmd("linsert", 5, WRITE | DENYOOM, linsert).keys(1, 1, 1).acl(LIST).doc("2.2.0", LINSERT_CX, "Insert an element before or after another element in a list"),
    cmd("lrem", 4, WRITE, lrem).keys(1, 1, 1).acl(LIST).doc("1.0.0", "O(N+M) where N is the length of the list and M is the number of elements removed.", "Remove elements from a list"),
    cmd("ltrim", 4, WRITE, ltrim).keys(1, 1, 1).acl(LIST).doc("1.0.0", "O(N) where N is the number of elements to be removed by the operation.", "Trim a list to the specified range"),
    cmd("lpos", -3, READONLY, lpos).keys(1, 1, 1).acl(LIST).doc("6.0.6", LPOS_CX, "Return the index of matching elements on a list"),
    cmd("rpoplpush", 3, WRITE | DENYOOM, rpoplpush).keys(1, 2, 1).acl(LIST).doc("1.2.0", "O(1)", "Remove the last element in a list, prepend it to another list and return it"),
    cmd("lmove", 5, WRITE | DENYOOM, lmove).keys(1, 2, 1).acl(LIST).doc("6.2.0", "O(1)", "Pop an element from a list, push it to another list and return it"),
    cmd("lmpop", -4, WRITE | MOVABLE_KEYS, lmpop).acl(LIST).getkeys(lmpop_keys).doc("7.0.0", MPOP_CX, "Pop elements from a list"),
    cmd("blpop", -3, WRITE | NOSCRIPT | BLOCKING, blpop).keys(1, -2, 1).acl(LIST).doc("2.0.0", "O(N) where N is the number of provided keys.", "Remove and get the first element in a list, or block until one is available"),
    cmd("brpop", -3, WRITE | NOSCRIPT | BLOCKING, brpop).keys(1, -2, 1).acl(LIST).doc("2.0.0", "O(N) where N is the number of provided keys.", "Remove and get the last element in a list, or block until one is available"),
    cmd("brpoplpush", 4, WRITE | DENYOOM | NOSCRIPT | BLOCKING, brpoplpush).keys(1, 2, 1).acl(LIST).doc("2.2.0", "O(1)", "Pop an element from a list, push it to another list and return it; or block until one is available"),
    cmd("blmove", 6, WRITE | DENYOOM | NOSCRIPT | BLOCKING, blmove).keys(1, 2, 1).acl(LIST).doc("6.2.0", "O(1)", "Pop an element from a list, push it to another list and return it; or block until one is available"),
    cmd("blmpop", -5, WRITE | BLOCKING | MOVABLE_KEYS, blmpop).acl(LIST).getkeys(blmpop_keys).doc("7.0.0", MPOP_CX, "Pop elements from a list, or block until one is available"),
]);

// ---------------------------------------------------------------------------------------------------------
// Helpers

/// Is this a blocked client's command run again because one of its keys was written? Then a key holding
/// another type is passed over, as Redis 7.0 only wakes clients for keys of the type they wait on.
fn woken(cx: &Ctx<'_>) -> bool {
    cx.s.clients.get(cx.me).is_some_and(|c| c.blocked.is_some())
}

/// The list at `key` for a blocking command: missing, or another type on a wake-up, read as no list.
fn waited_list<'d>(db: &'d mut Db, key: &[u8], woken: bool) -> Result<Option<&'d mut List>, CmdError> {
    match db.write::<List>(key) {
        Err(_) if woken => Ok(None),
        r => r,
    }
}

/// The keyspace events of a pop from `key`: `lpop`/`rpop`, then `del` when the list went away.
fn pop_events(cx: &mut Ctx<'_>, key: &[u8], front: bool, deleted: bool) {
    cx.notify(NOTIFY_LIST, if front { "lpop" } else { "rpop" }, key);
    if deleted {
        cx.notify(NOTIFY_GENERIC, "del", key);
    }
}

/// `key` changed and `dirty` changes count toward INFO rdb_changes_since_last_save (Redis counts elements).
fn touched(cx: &mut Ctx<'_>, key: &[u8], dirty: usize) {
    cx.modified(key);
    cx.s.persist.dirty = cx.s.persist.dirty + dirty as u64 - 1;
}

/// Redis's getRangeLongFromObjectOrReply: `msg` (when given) answers both "not an integer" and "out of range".
fn range_arg(arg: &[u8], min: i64, max: i64, msg: Option<&'static str>) -> Result<i64, CmdError> {
    let err = || msg.map(CmdError::new);
    let v = parse_i64(arg).ok_or_else(|| err().unwrap_or(CmdError::NOT_INT))?;
    if v < min || v > max {
        return Err(err().unwrap_or_else(|| {
            CmdError::msg(format!("ERR value is out of range, value must between {min} and {max}"))
        }));
    }
    Ok(v)
}

/// Redis's getPositiveLongFromObjectOrReply.
fn positive_arg(arg: &[u8], msg: &'static str) -> Result<usize, CmdError> {
    range_arg(arg, 0, i64::MAX, Some(msg)).map(|v| v as usize)
}

/// LEFT / RIGHT: true for LEFT (the head).
fn where_arg(arg: &[u8]) -> Result<bool, CmdError> {
    if arg.eq_ignore_ascii_case(b"left") {
        Ok(true)
    } else if arg.eq_ignore_ascii_case(b"right") {
        Ok(false)
    } else {
        Err(CmdError::SYNTAX)
    }
}

/// Reply `n` elements from the head (`front`) or the tail of `l` as an array and remove them.
fn pop_range(out: &mut Out, l: &mut List, front: bool, n: usize) {
    out.array(n);
    if front {
        for e in l.iter().take(n) {
            out.bulk(e);
        }
        l.trim_front(n);
    } else {
        for e in l.iter().rev().take(n) {
            out.bulk(e);
        }
        l.trim_back(n);
    }
}

/// Pop one element from the head or the tail, writing it as a bulk string.
fn pop_one(out: &mut Out, l: &mut List, front: bool) {
    if front {
        l.pop_front_with(|e| out.bulk(e));
    } else {
        l.pop_back_with(|e| out.bulk(e));
    }
}

// ---------------------------------------------------------------------------------------------------------
// Pushes

/// LPUSH key element [element ...]
fn lpush(cx: &mut Ctx<'_>) -> CmdResult {
    push_generic(cx, true, false)
}

/// RPUSH key element [element ...]
fn rpush(cx: &mut Ctx<'_>) -> CmdResult {
    push_generic(cx, false, false)
}

/// LPUSHX key element [element ...]
fn lpushx(cx: &mut Ctx<'_>) -> CmdResult {
    push_generic(cx, true, true)
}

/// RPUSHX key element [element ...]
fn rpushx(cx: &mut Ctx<'_>) -> CmdResult {
    push_generic(cx, false, true)
}

fn push_generic(cx: &mut Ctx<'_>, front: bool, xx: bool) -> CmdResult {
    let argv = cx.argv;
    let key = argv.get(1);
    let enc = cx.s.enc;
    let (db, out) = cx.db_out();
    // LPUSHX/RPUSHX leave a missing key alone; LPUSH/RPUSH create it (never empty: arity asks for a value).
    let l = match xx {
        true => match db.write::<List>(key)? {
            Some(l) => l,
            None => {
                out.int(0);
                return Ok(());
            }
        },
        false => db.write_or_create(key, List::new)?,
    };
    for v in argv.iter().skip(2) {
        l.push(v, front, &enc);
    }
    out.int(l.len() as i64);
    touched(cx, key, argv.len() - 2);
    cx.notify(NOTIFY_LIST, if front { "lpush" } else { "rpush" }, key);
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// Pops

/// LPOP key [count]
fn lpop(cx: &mut Ctx<'_>) -> CmdResult {
    pop_generic(cx, true)
}

/// RPOP key [count]
fn rpop(cx: &mut Ctx<'_>) -> CmdResult {
    pop_generic(cx, false)
}

fn pop_generic(cx: &mut Ctx<'_>, front: bool) -> CmdResult {
    if cx.argc() > 3 {
        return Err(CmdError::arity(cx.spec.name));
    }
    let count = if cx.argc() == 3 { Some(positive_arg(cx.arg(2), ERR_POSITIVE)?) } else { None };
    let key = cx.arg(1);
    let (db, out) = cx.db_out();
    let Some(l) = db.write::<List>(key)? else {
        // A missing key: a null, or with a count a null array (RESP3: null either way).
        match count {
            Some(_) => out.nil_array(),
            None => out.nil(),
        }
        return Ok(());
    };
    let n = match count {
        Some(0) => {
            out.array(0);
            return Ok(());
        }
        Some(c) => {
            let n = c.min(l.len());
            pop_range(out, l, front, n);
            n
        }
        None => {
            pop_one(out, l, front);
            1
        }
    };
    let deleted = l.is_empty();
    if deleted {
        db.remove(key);
    }
    touched(cx, key, n);
    pop_events(cx, key, front, deleted);
    Ok(())
}

/// LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]
fn lmpop(cx: &mut Ctx<'_>) -> CmdResult {
    let (keys, front, count) = parse_mpop(cx, 1)?;
    if mpop_serve(cx, keys, front, count)? {
        return Ok(());
    }
    cx.out.nil_array();
    Ok(())
}

/// BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]
fn blmpop(cx: &mut Ctx<'_>) -> CmdResult {
    let (keys, front, count) = parse_mpop(cx, 2)?;
    let deadline = block_deadline(cx.arg(1))?;
    if mpop_serve(cx, keys.clone(), front, count)? {
        return Ok(());
    }
    block_or_timeout(cx, keys, deadline);
    Ok(())
}

/// Parse [B]LMPOP's numkeys, keys, direction and COUNT: (argument range of the keys, from the head?, count).
fn parse_mpop(cx: &Ctx<'_>, numkeys_idx: usize) -> Result<(std::ops::Range<usize>, bool, usize), CmdError> {
    let numkeys = range_arg(cx.arg(numkeys_idx), 1, i64::MAX, Some("ERR numkeys should be greater than 0"))?;
    let where_idx = match (numkeys as u64).checked_add(numkeys_idx as u64 + 1) {
        Some(w) if w < cx.argc() as u64 => w as usize,
        _ => return Err(CmdError::SYNTAX),
    };
    let front = where_arg(cx.arg(where_idx))?;
    let mut count = None;
    let mut j = where_idx + 1;
    while j < cx.argc() {
        if count.is_none() && cx.argv.is(j, "count") && j + 1 < cx.argc() {
            j += 1;
            count = Some(range_arg(cx.arg(j), 1, i64::MAX, Some("ERR count should be greater than 0"))? as usize);
        } else {
            return Err(CmdError::SYNTAX);
        }
        j += 1;
    }
    Ok((numkeys_idx + 1..where_idx, front, count.unwrap_or(1)))
}

/// Pop up to `count` elements from the first non-empty list among the keys, replying `[key, [elements]]`.
/// Ok(false) when every list is empty (nothing written).
fn mpop_serve(cx: &mut Ctx<'_>, keys: std::ops::Range<usize>, front: bool, count: usize) -> Result<bool, CmdError> {
    let woken = woken(cx);
    for i in keys {
        let key = cx.arg(i);
        let (db, out) = cx.db_out();
        let Some(l) = waited_list(db, key, woken)? else { continue };
        if l.is_empty() {
            continue;
        }
        let n = count.min(l.len());
        out.array(2);
        out.bulk(key);
        pop_range(out, l, front, n);
        let deleted = l.is_empty();
        if deleted {
            db.remove(key);
        }
        touched(cx, key, n);
        pop_events(cx, key, front, deleted);
        // Replicated as [LR]POP key count.
        let n = n.to_string();
        cx.propagate_as(&[if front { b"lpop" } else { b"rpop" }, key, n.as_bytes()]);
        return Ok(true);
    }
    Ok(false)
}

/// Nothing to serve: block on the keys, or inside MULTI/EXEC answer the timeout reply (a null array).
fn block_or_timeout(cx: &mut Ctx<'_>, keys: std::ops::Range<usize>, deadline: i64) {
    if !cx.can_block() {
        cx.out.nil_array();
        return;
    }
    let mut ks: Vec<&[u8]> = Vec::with_capacity(keys.len());
    for i in keys {
        let k = cx.arg(i);
        if !ks.contains(&k) {
            ks.push(k);
        }
    }
    cx.block(&ks, deadline);
}

/// BLPOP key [key ...] timeout
fn blpop(cx: &mut Ctx<'_>) -> CmdResult {
    bpop_generic(cx, true)
}

/// BRPOP key [key ...] timeout
fn brpop(cx: &mut Ctx<'_>) -> CmdResult {
    bpop_generic(cx, false)
}

fn bpop_generic(cx: &mut Ctx<'_>, front: bool) -> CmdResult {
    let last = cx.argc() - 1;
    let deadline = block_deadline(cx.arg(last))?;
    let woken = woken(cx);
    for i in 1..last {
        let key = cx.arg(i);
        let (db, out) = cx.db_out();
        let Some(l) = waited_list(db, key, woken)? else { continue };
        if l.is_empty() {
            continue;
        }
        out.array(2);
        out.bulk(key);
        pop_one(out, l, front);
        let deleted = l.is_empty();
        if deleted {
            db.remove(key);
        }
        touched(cx, key, 1);
        pop_events(cx, key, front, deleted);
        // Replicated as [LR]POP key.
        cx.propagate_as(&[if front { b"lpop" } else { b"rpop" }, key]);
        return Ok(());
    }
    block_or_timeout(cx, 1..last, deadline);
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// Reads

/// LLEN key
fn llen(cx: &mut Ctx<'_>) -> CmdResult {
    let key = cx.arg(1);
    let (db, out) = cx.db_out();
    let n = db.read::<List>(key)?.map_or(0, |l| l.len());
    out.int(n as i64);
    Ok(())
}

/// LRANGE key start stop
fn lrange(cx: &mut Ctx<'_>) -> CmdResult {
    let start = cx.int_arg(2)?;
    let end = cx.int_arg(3)?;
    let key = cx.arg(1);
    let (db, out) = cx.db_out();
    let Some(l) = db.read::<List>(key)? else {
        out.array(0);
        return Ok(());
    };
    match range_bounds(l.len(), start, end) {
        None => out.array(0),
        Some((s, e)) => {
            out.array(e - s + 1);
            for v in l.range(s).take(e - s + 1) {
                out.bulk(v);
            }
        }
    }
    Ok(())
}

/// LRANGE/LTRIM's index rules: the inclusive (start, end) positions, or None for an empty range.
fn range_bounds(len: usize, start: i64, end: i64) -> Option<(usize, usize)> {
    let len = len as i64;
    let mut start = if start < 0 { start.saturating_add(len) } else { start };
    let mut end = if end < 0 { end.saturating_add(len) } else { end };
    if start < 0 {
        start = 0;
    }
    if start > end || start >= len {
        return None;
    }
    if end >= len {
        end = len - 1;
    }
    Some((start as usize, end as usize))
}

/// LINDEX key index
fn lindex(cx: &mut Ctx<'_>) -> CmdResult {
    let argv = cx.argv;
    let (db, out) = cx.db_out();
    let Some(l) = db.read::<List>(argv.get(1))? else {
        out.nil();
        return Ok(());
    };
    let index = parse_i64(argv.get(2)).ok_or(CmdError::NOT_INT)?;
    match l.get(index) {
        Some(v) => out.bulk(v),
        None => out.nil(),
    }
    Ok(())
}

/// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]
fn lpos(cx: &mut Ctx<'_>) -> CmdResult {
    let argv = cx.argv;
    let (mut rank, mut count, mut maxlen) = (1i64, None::<usize>, 0usize);
    let mut j = 3;
    while j < argv.len() {
        let more = j + 1 < argv.len();
        if argv.is(j, "rank") && more {
            j += 1;
            rank = range_arg(argv.get(j), -i64::MAX, i64::MAX, None)?;
            if rank == 0 {
                return Err(CmdError::new(ERR_RANK_ZERO));
            }
        } else if argv.is(j, "count") && more {
            j += 1;
            count = Some(positive_arg(argv.get(j), "ERR COUNT can't be negative")?);
        } else if argv.is(j, "maxlen") && more {
            j += 1;
            maxlen = positive_arg(argv.get(j), "ERR MAXLEN can't be negative")?;
        } else {
            return Err(CmdError::SYNTAX);
        }
        j += 1;
    }
    let ele = argv.get(2);
    let (db, out) = cx.db_out();
    let Some(l) = db.read::<List>(argv.get(1))? else {
        match count {
            Some(_) => out.array(0),
            None => out.nil(),
        }
        return Ok(());
    };
    let from_tail = rank < 0;
    let rank = rank.unsigned_abs() as usize;
    let len = l.len();
    let scan = if maxlen == 0 { len } else { maxlen.min(len) };
    let mut matches = 0usize;
    let mut found: Vec<usize> = Vec::new();
    let mut visit = |index: usize, e: &[u8]| -> bool {
        if e != ele {
            return true;
        }
        matches += 1;
        if matches < rank {
            return true;
        }
        found.push(if from_tail { len - index - 1 } else { index });
        match count {
            None => false,
            Some(c) => c == 0 || matches - rank + 1 < c,
        }
    };
    if from_tail {
        for (i, e) in l.iter().rev().take(scan).enumerate() {
            if !visit(i, e) {
                break;
            }
        }
    } else {
        for (i, e) in l.iter().take(scan).enumerate() {
            if !visit(i, e) {
                break;
            }
        }
    }
    match count {
        Some(_) => {
            out.array(found.len());
            for i in found {
                out.int(i as i64);
            }
        }
        None => match found.first() {
            Some(&i) => out.int(i as i64),
            None => out.nil(),
        },
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// Edits

/// LSET key index element
fn lset(cx: &mut Ctx<'_>) -> CmdResult {
    let argv = cx.argv;
    let key = argv.get(1);
    let enc = cx.s.enc;
    let (db, out) = cx.db_out();
    let Some(l) = db.write::<List>(key)? else { return Err(CmdError::NO_KEY) };
    let index = parse_i64(argv.get(2)).ok_or(CmdError::NOT_INT)?;
    if !l.set(index, argv.get(3), &enc) {
        return Err(ERR_OUT_OF_RANGE);
    }
    out.ok();
    touched(cx, key, 1);
    cx.notify(NOTIFY_LIST, "lset", key);
    Ok(())
}

/// LINSERT key BEFORE|AFTER pivot element
fn linsert(cx: &mut Ctx<'_>) -> CmdResult {
    let argv = cx.argv;
    let after = if argv.is(2, "after") {
        true
    } else if argv.is(2, "before") {
        false
    } else {
        return Err(CmdError::SYNTAX);
    };
    let key = argv.get(1);
    let enc = cx.s.enc;
    let (db, out) = cx.db_out();
    let Some(l) = db.write::<List>(key)? else {
        out.int(0);
        return Ok(());
    };
    if !l.insert(argv.get(3), argv.get(4), after, &enc) {
        out.int(-1);
        return Ok(());
    }
    out.int(l.len() as i64);
    touched(cx, key, 1);
    cx.notify(NOTIFY_LIST, "linsert", key);
    Ok(())
}

/// LREM key count element
fn lrem(cx: &mut Ctx<'_>) -> CmdResult {
    let count = cx.int_arg(2)?;
    let argv = cx.argv;
    let key = argv.get(1);
    let enc = cx.s.enc;
    let (db, out) = cx.db_out();
    let Some(l) = db.write::<List>(key)? else {
        out.int(0);
        return Ok(());
    };
    let removed = l.remove(argv.get(3), count, &enc);
    let deleted = l.is_empty();
    if deleted {
        db.remove(key);
    }
    out.int(removed as i64);
    if removed > 0 {
        touched(cx, key, removed);
        cx.notify(NOTIFY_LIST, "lrem", key);
        if deleted {
            cx.notify(NOTIFY_GENERIC, "del", key);
        }
    }
    Ok(())
}

/// LTRIM key start stop
fn ltrim(cx: &mut Ctx<'_>) -> CmdResult {
    let start = cx.int_arg(2)?;
    let end = cx.int_arg(3)?;
    let key = cx.arg(1);
    let (db, out) = cx.db_out();
    let Some(l) = db.write::<List>(key)? else {
        out.ok();
        return Ok(());
    };
    let len = l.len();
    let (ltrim, rtrim) = match range_bounds(len, start, end) {
        None => (len, 0),
        Some((s, e)) => (s, len - e - 1),
    };
    l.trim_front(ltrim);
    l.trim_back(rtrim);
    let deleted = l.is_empty();
    if deleted {
        db.remove(key);
    }
    out.ok();
    touched(cx, key, ltrim + rtrim);
    cx.notify(NOTIFY_LIST, "ltrim", key);
    if deleted {
        cx.notify(NOTIFY_GENERIC, "del", key);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// Moves

/// LMOVE source destination LEFT|RIGHT LEFT|RIGHT
fn lmove(cx: &mut Ctx<'_>) -> CmdResult {
    let from = where_arg(cx.arg(3))?;
    let to = where_arg(cx.arg(4))?;
    lmove_generic(cx, from, to)
}

/// RPOPLPUSH source destination
fn rpoplpush(cx: &mut Ctx<'_>) -> CmdResult {
    lmove_generic(cx, false, true)
}

/// Pop from `source` (head when `from`), push to `destination` (head when `to`), reply the element.
fn lmove_generic(cx: &mut Ctx<'_>, from: bool, to: bool) -> CmdResult {
    let (src, dst) = (cx.arg(1), cx.arg(2));
    let enc = cx.s.enc;
    let (db, out) = cx.db_out();
    match db.write::<List>(src)? {
        Some(l) if !l.is_empty() => {}
        _ => {
            out.nil();
            return Ok(());
        }
    }
    if src == dst {
        // Rotate in place: the key is never deleted, so its TTL stays.
        if let Some(l) = db.write::<List>(src)? {
            if let Some(v) = l.pop(from) {
                l.push(&v, to, &enc);
                out.bulk(&v);
            }
        }
        touched(cx, src, 1);
        cx.notify(NOTIFY_LIST, if to { "lpush" } else { "rpush" }, src);
        pop_events(cx, src, from, false);
        propagate_move(cx);
        return Ok(());
    }
    // The destination's type is checked first (a missing one is fine).
    db.write::<List>(dst)?;
    let Some(l) = db.write::<List>(src)? else { return Ok(()) };
    let Some(v) = l.pop(from) else { return Ok(()) };
    let deleted = l.is_empty();
    if deleted {
        db.remove(src);
    }
    db.write_or_create(dst, List::new)?.push(&v, to, &enc);
    out.bulk(&v);
    touched(cx, dst, 0);
    touched(cx, src, 1);
    cx.notify(NOTIFY_LIST, if to { "lpush" } else { "rpush" }, dst);
    pop_events(cx, src, from, deleted);
    propagate_move(cx);
    Ok(())
}

/// BLMOVE and BRPOPLPUSH that moved an element are replicated as LMOVE and RPOPLPUSH.
fn propagate_move(cx: &mut Ctx<'_>) {
    let a = cx.argv;
    match cx.spec.name {
        "blmove" => cx.propagate_as(&[b"lmove", a.get(1), a.get(2), a.get(3), a.get(4)]),
        "brpoplpush" => cx.propagate_as(&[b"rpoplpush", a.get(1), a.get(2)]),
        _ => {}
    }
}

/// BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout
fn blmove(cx: &mut Ctx<'_>) -> CmdResult {
    let from = where_arg(cx.arg(3))?;
    let to = where_arg(cx.arg(4))?;
    let deadline = block_deadline(cx.arg(5))?;
    blmove_generic(cx, from, to, deadline)
}

/// BRPOPLPUSH source destination timeout
fn brpoplpush(cx: &mut Ctx<'_>) -> CmdResult {
    let deadline = block_deadline(cx.arg(3))?;
    blmove_generic(cx, false, true, deadline)
}

fn blmove_generic(cx: &mut Ctx<'_>, from: bool, to: bool, deadline: i64) -> CmdResult {
    let src = cx.arg(1);
    let woken = woken(cx);
    if waited_list(cx.db(), src, woken)?.is_some() {
        return lmove_generic(cx, from, to);
    }
    if !cx.can_block() {
        // Redis answers a null bulk here (while a timed-out BLMOVE gets a null array).
        cx.out.nil();
        return Ok(());
    }
    cx.block(&[src], deadline);
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// Key positions

/// LMPOP's keys: argv[2..2+numkeys] (none when numkeys is not valid).
fn lmpop_keys(argv: &[&[u8]]) -> Vec<usize> {
    numkeys_positions(argv, 1)
}

/// BLMPOP's keys: argv[3..3+numkeys].
fn blmpop_keys(argv: &[&[u8]]) -> Vec<usize> {
    numkeys_positions(argv, 2)
}

fn numkeys_positions(argv: &[&[u8]], numkeys_idx: usize) -> Vec<usize> {
    let first = numkeys_idx + 1;
    match argv.get(numkeys_idx).and_then(|a| parse_i64(a)) {
        Some(n) if n >= 1 && (n as u64) <= argv.len().saturating_sub(first) as u64 => {
            (first..first + n as usize).collect()
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
#[path = "list_tests.rs"]
mod tests;
