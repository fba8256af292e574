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
use crate::error::CmdError;
use crate::resp::encode::Out;
use crate::spec;
use crate::types::db::Db;
use crate::types::list::List;
use crate::types::num::parse_i64;
use crate::types::value::Value;

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
pub const SPECS: &[CommandSpec] = &[
    spec!(
        "lpush",
        -3,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        LIST,
        "list",
        "1.0.0",
        "Prepend one or multiple elements to a list",
        PUSH_CX,
        lpush
    ),
    spec!(
        "rpush",
        -3,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        LIST,
        "list",
        "1.0.0",
        "Append one or multiple elements to a list",
        PUSH_CX,
        rpush
    ),
    spec!(
        "lpushx",
        -3,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        LIST,
        "list",
        "2.2.0",
        "Prepend an element to a list, only if the list exists",
        PUSH_CX,
        lpushx
    ),
    spec!(
        "rpushx",
        -3,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        LIST,
        "list",
        "2.2.0",
        "Append an element to a list, only if the list exists",
        PUSH_CX,
        rpushx
    ),
    spec!(
        "lpop",
        -2,
        WRITE | FAST,
        (1, 1, 1),
        LIST,
        "list",
        "1.0.0",
        "Remove and get the first elements in a list",
        POP_CX,
        lpop
    ),
    spec!(
        "rpop",
        -2,
        WRITE | FAST,
        (1, 1, 1),
        LIST,
        "list",
        "1.0.0",
        "Remove and get the last elements in a list",
        POP_CX,
        rpop
    ),
    spec!("llen", 2, READONLY | FAST, (1, 1, 1), LIST, "list", "1.0.0", "Get the length of a list", "O(1)", llen),
    spec!(
        "lrange",
        4,
        READONLY,
        (1, 1, 1),
        LIST,
        "list",
        "1.0.0",
        "Get a range of elements from a list",
        LRANGE_CX,
        lrange
    ),
    spec!(
        "lindex",
        3,
        READONLY,
        (1, 1, 1),
        LIST,
        "list",
        "1.0.0",
        "Get an element from a list by its index",
        LINDEX_CX,
        lindex
    ),
    spec!(
        "lset",
        4,
        WRITE | DENYOOM,
        (1, 1, 1),
        LIST,
        "list",
        "1.0.0",
        "Set the value of an element in a list by its index",
        LSET_CX,
        lset
    ),
    spec!(
        "linsert",
        5,
        WRITE | DENYOOM,
        (1, 1, 1),
        LIST,
        "list",
        "2.2.0",
        "Insert an element before or after another element in a list",
        LINSERT_CX,
        linsert
    ),
    spec!(
        "lrem",
        4,
        WRITE,
        (1, 1, 1),
        LIST,
        "list",
        "1.0.0",
        "Remove elements from a list",
        "O(N+M) where N is the length of the list and M is the number of elements removed.",
        lrem
    ),
    spec!(
        "ltrim",
        4,
        WRITE,
        (1, 1, 1),
        LIST,
        "list",
        "1.0.0",
        "Trim a list to the specified range",
        "O(N) where N is the number of elements to be removed by the operation.",
        ltrim
    ),
    spec!(
        "lpos",
        -3,
        READONLY,
        (1, 1, 1),
        LIST,
        "list",
        "6.0.6",
        "Return the index of matching elements on a list",
        LPOS_CX,
        lpos
    ),
    spec!(
        "rpoplpush",
        3,
        WRITE | DENYOOM,
        (1, 2, 1),
        LIST,
        "list",
        "1.2.0",
        "Remove the last element in a list, prepend it to another list and return it",
        "O(1)",
        rpoplpush
    ),
    spec!(
        "lmove",
        5,
        WRITE | DENYOOM,
        (1, 2, 1),
        LIST,
        "list",
        "6.2.0",
        "Pop an element from a list, push it to another list and return it",
        "O(1)",
        lmove
    ),
    CommandSpec {
        getkeys: Some(lmpop_keys),
        ..spec!(
            "lmpop",
            -4,
            WRITE | MOVABLE_KEYS,
            (0, 0, 0),
            LIST,
            "list",
            "7.0.0",
            "Pop elements from a list",
            MPOP_CX,
            lmpop
        )
    },
    spec!(
        "blpop",
        -3,
        WRITE | NOSCRIPT | BLOCKING,
        (1, -2, 1),
        LIST,
        "list",
        "2.0.0",
        "Remove and get the first element in a list, or block until one is available",
        "O(N) where N is the number of provided keys.",
        blpop
    ),
    spec!(
        "brpop",
        -3,
        WRITE | NOSCRIPT | BLOCKING,
        (1, -2, 1),
        LIST,
        "list",
        "2.0.0",
        "Remove and get the last element in a list, or block until one is available",
        "O(N) where N is the number of provided keys.",
        brpop
    ),
    spec!(
        "brpoplpush",
        4,
        WRITE | DENYOOM | NOSCRIPT | BLOCKING,
        (1, 2, 1),
        LIST,
        "list",
        "2.2.0",
        "Pop an element from a list, push it to another list and return it; or block until one is available",
        "O(1)",
        brpoplpush
    ),
    spec!(
        "blmove",
        6,
        WRITE | DENYOOM | NOSCRIPT | BLOCKING,
        (1, 2, 1),
        LIST,
        "list",
        "6.2.0",
        "Pop an element from a list, push it to another list and return it; or block until one is available",
        "O(1)",
        blmove
    ),
    CommandSpec {
        getkeys: Some(blmpop_keys),
        ..spec!(
            "blmpop",
            -5,
            WRITE | BLOCKING | MOVABLE_KEYS,
            (0, 0, 0),
            LIST,
            "list",
            "7.0.0",
            "Pop elements from a list, or block until one is available",
            MPOP_CX,
            blmpop
        )
    },
];

// ---------------------------------------------------------------------------------------------------------
// Helpers

/// The list at `key` for reading (counts a keyspace hit or miss); WRONGTYPE for another type.
fn read_list<'d>(db: &'d mut Db, key: &[u8]) -> Result<Option<&'d List>, CmdError> {
    match db.get(key) {
        None => Ok(None),
        Some(e) => match &e.value {
            Value::List(l) => Ok(Some(l)),
            _ => Err(CmdError::WRONGTYPE),
        },
    }
}

/// The list at `key` for writing; WRONGTYPE for another type.
fn write_list<'d>(db: &'d mut Db, key: &[u8]) -> Result<Option<&'d mut List>, CmdError> {
    match db.get_mut(key) {
        None => Ok(None),
        Some(e) => match &mut e.value {
            Value::List(l) => Ok(Some(l)),
            _ => Err(CmdError::WRONGTYPE),
        },
    }
}

/// Does `key` hold something other than a list? (A missing key is fine.)
fn not_a_list(db: &mut Db, key: &[u8]) -> bool {
    db.get_mut(key).is_some_and(|e| !matches!(e.value, Value::List(_)))
}

/// Is this a blocked client's command run again because one of its keys was written? Then a key holding
/// another type is passed over, as Redis 7.0 only wakes clients for keys of the type they wait on.
fn woken(cx: &Ctx<'_>) -> bool {
    cx.s.clients.get(cx.me).is_some_and(|c| c.blocked.is_some())
}

/// The list at `key` for a blocking command: missing, or another type on a wake-up, read as no list.
fn waited_list<'d>(db: &'d mut Db, key: &[u8], woken: bool) -> Result<Option<&'d mut List>, CmdError> {
    match write_list(db, key) {
        Err(_) if woken => Ok(None),
        r => r,
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
    let len = match write_list(db, key)? {
        Some(l) => {
            for v in argv.iter().skip(2) {
                l.push(v, front, &enc);
            }
            l.len()
        }
        None if xx => {
            out.int(0);
            return Ok(());
        }
        None => {
            let mut l = List::new();
            for v in argv.iter().skip(2) {
                l.push(v, front, &enc);
            }
            let len = l.len();
            db.set(key, Value::List(l), false);
            len
        }
    };
    out.int(len as i64);
    touched(cx, key, argv.len() - 2);
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
    let Some(l) = write_list(db, key)? else {
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
    if l.is_empty() {
        db.remove(key);
    }
    touched(cx, key, n);
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
        if l.is_empty() {
            db.remove(key);
        }
        touched(cx, key, n);
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
        if l.is_empty() {
            db.remove(key);
        }
        touched(cx, key, 1);
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
    let n = read_list(db, key)?.map_or(0, |l| l.len());
    out.int(n as i64);
    Ok(())
}

/// LRANGE key start stop
fn lrange(cx: &mut Ctx<'_>) -> CmdResult {
    let start = cx.int_arg(2)?;
    let end = cx.int_arg(3)?;
    let key = cx.arg(1);
    let (db, out) = cx.db_out();
    let Some(l) = read_list(db, key)? else {
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
    let Some(l) = read_list(db, argv.get(1))? else {
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
    let Some(l) = read_list(db, argv.get(1))? else {
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
    let Some(l) = write_list(db, key)? else { return Err(CmdError::NO_KEY) };
    let index = parse_i64(argv.get(2)).ok_or(CmdError::NOT_INT)?;
    if !l.set(index, argv.get(3), &enc) {
        return Err(ERR_OUT_OF_RANGE);
    }
    out.ok();
    touched(cx, key, 1);
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
    let Some(l) = write_list(db, key)? else {
        out.int(0);
        return Ok(());
    };
    if !l.insert(argv.get(3), argv.get(4), after, &enc) {
        out.int(-1);
        return Ok(());
    }
    out.int(l.len() as i64);
    touched(cx, key, 1);
    Ok(())
}

/// LREM key count element
fn lrem(cx: &mut Ctx<'_>) -> CmdResult {
    let count = cx.int_arg(2)?;
    let argv = cx.argv;
    let key = argv.get(1);
    let enc = cx.s.enc;
    let (db, out) = cx.db_out();
    let Some(l) = write_list(db, key)? else {
        out.int(0);
        return Ok(());
    };
    let removed = l.remove(argv.get(3), count, &enc);
    if l.is_empty() {
        db.remove(key);
    }
    out.int(removed as i64);
    if removed > 0 {
        touched(cx, key, removed);
    }
    Ok(())
}

/// LTRIM key start stop
fn ltrim(cx: &mut Ctx<'_>) -> CmdResult {
    let start = cx.int_arg(2)?;
    let end = cx.int_arg(3)?;
    let key = cx.arg(1);
    let (db, out) = cx.db_out();
    let Some(l) = write_list(db, key)? else {
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
    if l.is_empty() {
        db.remove(key);
    }
    out.ok();
    touched(cx, key, ltrim + rtrim);
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
    match write_list(db, src)? {
        Some(l) if !l.is_empty() => {}
        _ => {
            out.nil();
            return Ok(());
        }
    }
    if src == dst {
        // Rotate in place: the key is never deleted, so its TTL stays.
        if let Some(l) = write_list(db, src)? {
            if let Some(v) = l.pop(from) {
                l.push(&v, to, &enc);
                out.bulk(&v);
            }
        }
        touched(cx, src, 1);
        propagate_move(cx);
        return Ok(());
    }
    if not_a_list(db, dst) {
        return Err(CmdError::WRONGTYPE);
    }
    let Some(l) = write_list(db, src)? else { return Ok(()) };
    let Some(v) = l.pop(from) else { return Ok(()) };
    if l.is_empty() {
        db.remove(src);
    }
    match write_list(db, dst)? {
        Some(d) => d.push(&v, to, &enc),
        None => {
            let mut d = List::new();
            d.push(&v, to, &enc);
            db.set(dst, Value::List(d), false);
        }
    }
    out.bulk(&v);
    touched(cx, dst, 0);
    touched(cx, src, 1);
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
mod tests {
    use crate::commands::testutil::{new, run, T};
    use crate::commands::Blocked;

    fn resp3(t: &mut T) {
        t.s.clients[t.me].resp = 3;
    }

    fn blocked(t: &T) -> Option<Blocked> {
        t.s.clients[t.me].blocked.clone()
    }

    #[test]
    fn push_and_len() {
        let mut t = new();
        assert_eq!(run(&mut t, &["lpush", "k", "a", "b"]), ":2\r\n");
        assert_eq!(run(&mut t, &["rpush", "k", "c"]), ":3\r\n");
        assert_eq!(run(&mut t, &["lrange", "k", "0", "-1"]), "*3\r\n$1\r\nb\r\n$1\r\na\r\n$1\r\nc\r\n");
        assert_eq!(run(&mut t, &["llen", "k"]), ":3\r\n");
        assert_eq!(run(&mut t, &["llen", "nokey"]), ":0\r\n");
        assert_eq!(run(&mut t, &["lpushx", "nokey", "a"]), ":0\r\n");
        assert_eq!(run(&mut t, &["rpushx", "nokey", "a"]), ":0\r\n");
        assert_eq!(run(&mut t, &["exists", "nokey"]), ":0\r\n");
        assert_eq!(run(&mut t, &["lpushx", "k", "x", "y"]), ":5\r\n");
        assert_eq!(run(&mut t, &["rpushx", "k", "z"]), ":6\r\n");
        assert_eq!(run(&mut t, &["lindex", "k", "0"]), "$1\r\ny\r\n");
        assert_eq!(run(&mut t, &["lindex", "k", "-1"]), "$1\r\nz\r\n");
        assert_eq!(run(&mut t, &["object", "encoding", "k"]), "$9\r\nquicklist\r\n");
        assert_eq!(run(&mut t, &["lpush", "k"]), "-ERR wrong number of arguments for 'lpush' command\r\n");
        let dirty = t.s.persist.dirty;
        run(&mut t, &["rpush", "k", "1", "2", "3"]);
        assert_eq!(t.s.persist.dirty, dirty + 3);
    }

    #[test]
    fn wrong_type() {
        let mut t = new();
        run(&mut t, &["set", "s", "x"]);
        let wt = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
        for cmd in [
            &["lpush", "s", "a"][..],
            &["rpushx", "s", "a"],
            &["lpop", "s"],
            &["rpop", "s", "2"],
            &["llen", "s"],
            &["lrange", "s", "0", "1"],
            &["lindex", "s", "0"],
            &["lset", "s", "0", "x"],
            &["linsert", "s", "before", "a", "b"],
            &["lrem", "s", "0", "a"],
            &["ltrim", "s", "0", "1"],
            &["lpos", "s", "a"],
            &["rpoplpush", "s", "d"],
            &["lmove", "s", "d", "left", "right"],
            &["lmpop", "1", "s", "left"],
            &["blpop", "s", "0"],
            &["brpop", "nokey", "s", "0"],
            &["blmpop", "0", "2", "nokey", "s", "left"],
            &["blmove", "s", "d", "left", "left", "0"],
            &["brpoplpush", "s", "d", "0"],
        ] {
            assert_eq!(run(&mut t, cmd), wt, "{cmd:?}");
        }
        assert_eq!(run(&mut t, &["get", "s"]), "$1\r\nx\r\n");
        assert!(blocked(&t).is_none());
    }

    #[test]
    fn pop_with_count() {
        let mut t = new();
        assert_eq!(run(&mut t, &["lpush", "l", "aa", "bb", "cc", "dd", "ee", "ff", "gg"]), ":7\r\n");
        assert_eq!(run(&mut t, &["lpop", "l", "1"]), "*1\r\n$2\r\ngg\r\n");
        assert_eq!(run(&mut t, &["lpop", "l", "2"]), "*2\r\n$2\r\nff\r\n$2\r\nee\r\n");
        assert_eq!(run(&mut t, &["rpop", "l", "2"]), "*2\r\n$2\r\naa\r\n$2\r\nbb\r\n");
        assert_eq!(run(&mut t, &["rpop", "l"]), "$2\r\ncc\r\n");
        assert_eq!(run(&mut t, &["lpop", "l", "0"]), "*0\r\n");
        assert_eq!(run(&mut t, &["rpop", "l", "123"]), "*1\r\n$2\r\ndd\r\n");
        assert_eq!(run(&mut t, &["exists", "l"]), ":0\r\n");
        assert_eq!(run(&mut t, &["lpop", "l"]), "$-1\r\n");
        assert_eq!(run(&mut t, &["lpop", "l", "0"]), "*-1\r\n");
        assert_eq!(run(&mut t, &["rpop", "l", "1"]), "*-1\r\n");
        let pos = "-ERR value is out of range, must be positive\r\n";
        assert_eq!(run(&mut t, &["lpop", "l", "-1"]), pos);
        assert_eq!(run(&mut t, &["lpop", "l", "x"]), pos);
        assert_eq!(run(&mut t, &["lpop", "l", "1", "1"]), "-ERR wrong number of arguments for 'lpop' command\r\n");
        assert_eq!(run(&mut t, &["rpop", "l", "2", "2"]), "-ERR wrong number of arguments for 'rpop' command\r\n");
        resp3(&mut t);
        assert_eq!(run(&mut t, &["lpop", "l"]), "_\r\n");
        assert_eq!(run(&mut t, &["lpop", "l", "1"]), "_\r\n");
        run(&mut t, &["rpush", "l", "zero"]);
        assert_eq!(run(&mut t, &["rpop", "l", "0"]), "*0\r\n");
    }

    #[test]
    fn lrange_and_ltrim() {
        let mut t = new();
        run(&mut t, &["rpush", "l", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
        let r = |t: &mut T, a: &str, b: &str| run(t, &["lrange", "l", a, b]);
        assert_eq!(r(&mut t, "1", "2"), "*2\r\n$1\r\n1\r\n$1\r\n2\r\n");
        assert_eq!(r(&mut t, "-3", "-1"), "*3\r\n$1\r\n7\r\n$1\r\n8\r\n$1\r\n9\r\n");
        assert_eq!(r(&mut t, "6", "2"), "*0\r\n");
        assert_eq!(r(&mut t, "-1000", "0"), "*1\r\n$1\r\n0\r\n");
        assert_eq!(r(&mut t, "0", "-11"), "*0\r\n");
        assert_eq!(r(&mut t, "9", "1000"), "*1\r\n$1\r\n9\r\n");
        assert_eq!(r(&mut t, "10", "1000"), "*0\r\n");
        assert_eq!(r(&mut t, "-9223372036854775808", "9223372036854775807").len(), 5 + 10 * 7);
        assert_eq!(r(&mut t, "a", "1"), "-ERR value is not an integer or out of range\r\n");
        assert_eq!(run(&mut t, &["lrange", "nokey", "0", "-1"]), "*0\r\n");
        assert_eq!(run(&mut t, &["lrange", "nokey", "x", "-1"]), "-ERR value is not an integer or out of range\r\n");
        assert_eq!(run(&mut t, &["ltrim", "l", "1", "-2"]), "+OK\r\n");
        assert_eq!(
            r(&mut t, "0", "-1"),
            "*8\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n$1\r\n5\r\n$1\r\n6\r\n$1\r\n7\r\n$1\r\n8\r\n"
        );
        assert_eq!(run(&mut t, &["ltrim", "l", "-2", "-1"]), "+OK\r\n");
        assert_eq!(r(&mut t, "0", "-1"), "*2\r\n$1\r\n7\r\n$1\r\n8\r\n");
        assert_eq!(run(&mut t, &["ltrim", "nokey", "0", "1"]), "+OK\r\n");
        assert_eq!(run(&mut t, &["ltrim", "l", "0", "-3"]), "+OK\r\n");
        assert_eq!(run(&mut t, &["exists", "l"]), ":0\r\n");
    }

    #[test]
    fn lindex_lset_linsert() {
        let mut t = new();
        run(&mut t, &["rpush", "l", "a", "b", "c"]);
        assert_eq!(run(&mut t, &["lindex", "l", "1"]), "$1\r\nb\r\n");
        assert_eq!(run(&mut t, &["lindex", "l", "3"]), "$-1\r\n");
        assert_eq!(run(&mut t, &["lindex", "l", "-4"]), "$-1\r\n");
        assert_eq!(run(&mut t, &["lindex", "l", "x"]), "-ERR value is not an integer or out of range\r\n");
        assert_eq!(run(&mut t, &["lindex", "nokey", "x"]), "$-1\r\n");
        assert_eq!(run(&mut t, &["lset", "l", "1", "B"]), "+OK\r\n");
        assert_eq!(run(&mut t, &["lset", "l", "-1", "C"]), "+OK\r\n");
        assert_eq!(run(&mut t, &["lset", "l", "3", "x"]), "-ERR index out of range\r\n");
        assert_eq!(run(&mut t, &["lset", "nokey", "0", "x"]), "-ERR no such key\r\n");
        assert_eq!(run(&mut t, &["lset", "nokey", "x", "x"]), "-ERR no such key\r\n");
        assert_eq!(run(&mut t, &["lset", "l", "x", "x"]), "-ERR value is not an integer or out of range\r\n");
        assert_eq!(run(&mut t, &["linsert", "l", "before", "B", "1"]), ":4\r\n");
        assert_eq!(run(&mut t, &["linsert", "l", "AFTER", "B", "2"]), ":5\r\n");
        assert_eq!(run(&mut t, &["linsert", "l", "after", "zz", "2"]), ":-1\r\n");
        assert_eq!(run(&mut t, &["linsert", "nokey", "after", "zz", "2"]), ":0\r\n");
        assert_eq!(run(&mut t, &["linsert", "l", "aft3r", "a", "2"]), "-ERR syntax error\r\n");
        assert_eq!(run(&mut t, &["linsert", "nokey", "aft3r", "a", "2"]), "-ERR syntax error\r\n");
        assert_eq!(
            run(&mut t, &["lrange", "l", "0", "-1"]),
            "*5\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nB\r\n$1\r\n2\r\n$1\r\nC\r\n"
        );
    }

    #[test]
    fn lrem() {
        let mut t = new();
        let fill = ["rpush", "l", "x", "foo", "bar", "foobar", "foo", "bar", "foo"];
        run(&mut t, &fill);
        assert_eq!(run(&mut t, &["lrem", "l", "0", "bar"]), ":2\r\n");
        assert_eq!(run(&mut t, &["lrem", "l", "1", "foo"]), ":1\r\n");
        assert_eq!(run(&mut t, &["lrem", "l", "-1", "foo"]), ":1\r\n");
        assert_eq!(run(&mut t, &["lrange", "l", "0", "-1"]), "*3\r\n$1\r\nx\r\n$6\r\nfoobar\r\n$3\r\nfoo\r\n");
        assert_eq!(run(&mut t, &["lrem", "l", "1", "nosuch"]), ":0\r\n");
        assert_eq!(run(&mut t, &["lrem", "nokey", "1", "a"]), ":0\r\n");
        assert_eq!(run(&mut t, &["lrem", "l", "x", "a"]), "-ERR value is not an integer or out of range\r\n");
        assert_eq!(run(&mut t, &["lrem", "l", "-9223372036854775808", "foo"]), ":1\r\n");
        run(&mut t, &["lrem", "l", "0", "x"]);
        run(&mut t, &["lrem", "l", "0", "foobar"]);
        assert_eq!(run(&mut t, &["exists", "l"]), ":0\r\n");
    }

    #[test]
    fn lpos() {
        let mut t = new();
        run(&mut t, &["rpush", "l", "a", "b", "c", "1", "2", "3", "c", "c"]);
        let p = |t: &mut T, args: &[&str]| {
            let mut v = vec!["lpos", "l"];
            v.extend_from_slice(args);
            run(t, &v)
        };
        assert_eq!(p(&mut t, &["a"]), ":0\r\n");
        assert_eq!(p(&mut t, &["c"]), ":2\r\n");
        assert_eq!(p(&mut t, &["c", "RANK", "2"]), ":6\r\n");
        assert_eq!(p(&mut t, &["c", "RANK", "4"]), "$-1\r\n");
        assert_eq!(p(&mut t, &["c", "RANK", "-1"]), ":7\r\n");
        assert_eq!(p(&mut t, &["c", "RANK", "-2"]), ":6\r\n");
        assert_eq!(
            p(&mut t, &["c", "RANK", "0"]),
            "-ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to \
             start from the end of the list\r\n"
        );
        assert_eq!(
            p(&mut t, &["c", "RANK", "-9223372036854775808"]),
            "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n"
        );
        assert_eq!(p(&mut t, &["c", "COUNT", "0"]), "*3\r\n:2\r\n:6\r\n:7\r\n");
        assert_eq!(p(&mut t, &["c", "COUNT", "2"]), "*2\r\n:2\r\n:6\r\n");
        assert_eq!(p(&mut t, &["c", "COUNT", "0", "RANK", "2"]), "*2\r\n:6\r\n:7\r\n");
        assert_eq!(p(&mut t, &["c", "COUNT", "2", "RANK", "-1"]), "*2\r\n:7\r\n:6\r\n");
        assert_eq!(p(&mut t, &["x", "COUNT", "2", "RANK", "-1"]), "*0\r\n");
        assert_eq!(p(&mut t, &["x"]), "$-1\r\n");
        assert_eq!(p(&mut t, &["a", "COUNT", "0", "MAXLEN", "1"]), "*1\r\n:0\r\n");
        assert_eq!(p(&mut t, &["c", "COUNT", "0", "MAXLEN", "1"]), "*0\r\n");
        assert_eq!(p(&mut t, &["c", "COUNT", "0", "MAXLEN", "3", "RANK", "-1"]), "*2\r\n:7\r\n:6\r\n");
        assert_eq!(p(&mut t, &["c", "COUNT", "0", "MAXLEN", "7", "RANK", "2"]), "*1\r\n:6\r\n");
        assert_eq!(p(&mut t, &["c", "COUNT", "-1"]), "-ERR COUNT can't be negative\r\n");
        assert_eq!(p(&mut t, &["c", "COUNT", "x"]), "-ERR COUNT can't be negative\r\n");
        assert_eq!(p(&mut t, &["c", "MAXLEN", "-1"]), "-ERR MAXLEN can't be negative\r\n");
        assert_eq!(p(&mut t, &["c", "RANK", "x"]), "-ERR value is not an integer or out of range\r\n");
        assert_eq!(p(&mut t, &["c", "RANK"]), "-ERR syntax error\r\n");
        assert_eq!(p(&mut t, &["c", "FOO", "1"]), "-ERR syntax error\r\n");
        assert_eq!(run(&mut t, &["lpos", "nokey", "c", "COUNT", "0"]), "*0\r\n");
        assert_eq!(run(&mut t, &["lpos", "nokey", "c"]), "$-1\r\n");
        assert_eq!(run(&mut t, &["lpos", "nokey", "c", "RANK", "0"]).as_bytes()[0], b'-');
    }

    #[test]
    fn lmove_and_rpoplpush() {
        let mut t = new();
        run(&mut t, &["rpush", "s", "a", "b", "c", "d"]);
        assert_eq!(run(&mut t, &["rpoplpush", "s", "d"]), "$1\r\nd\r\n");
        assert_eq!(run(&mut t, &["lmove", "s", "d", "left", "right"]), "$1\r\na\r\n");
        assert_eq!(run(&mut t, &["lrange", "d", "0", "-1"]), "*2\r\n$1\r\nd\r\n$1\r\na\r\n");
        assert_eq!(run(&mut t, &["lmove", "s", "d", "up", "right"]), "-ERR syntax error\r\n");
        assert_eq!(run(&mut t, &["lmove", "s", "d", "left", "down"]), "-ERR syntax error\r\n");
        assert_eq!(run(&mut t, &["rpoplpush", "nokey", "d"]), "$-1\r\n");
        assert_eq!(run(&mut t, &["exists", "nokey"]), ":0\r\n");
        // Same list: a rotation that keeps the TTL.
        run(&mut t, &["expire", "s", "100"]);
        assert_eq!(run(&mut t, &["lmove", "s", "s", "left", "right"]), "$1\r\nb\r\n");
        assert_eq!(run(&mut t, &["lrange", "s", "0", "-1"]), "*2\r\n$1\r\nc\r\n$1\r\nb\r\n");
        run(&mut t, &["rpop", "s"]);
        assert_eq!(run(&mut t, &["rpoplpush", "s", "s"]), "$1\r\nc\r\n");
        assert_eq!(run(&mut t, &["ttl", "s"]), ":100\r\n");
        // Wrong destination: nothing moves.
        run(&mut t, &["set", "str", "x"]);
        assert_eq!(run(&mut t, &["rpoplpush", "s", "str"]).as_bytes()[0], b'-');
        assert_eq!(run(&mut t, &["llen", "s"]), ":1\r\n");
        // Source emptied: deleted; destination created.
        assert_eq!(run(&mut t, &["lmove", "s", "new", "right", "left"]), "$1\r\nc\r\n");
        assert_eq!(run(&mut t, &["exists", "s"]), ":0\r\n");
        assert_eq!(run(&mut t, &["lrange", "new", "0", "-1"]), "*1\r\n$1\r\nc\r\n");
    }

    #[test]
    fn lmpop() {
        let mut t = new();
        run(&mut t, &["rpush", "a", "1", "2", "3", "4", "5"]);
        assert_eq!(run(&mut t, &["lmpop", "2", "nokey", "a", "left"]), "*2\r\n$1\r\na\r\n*1\r\n$1\r\n1\r\n");
        assert_eq!(
            run(&mut t, &["lmpop", "2", "a", "a", "RIGHT", "COUNT", "2"]),
            "*2\r\n$1\r\na\r\n*2\r\n$1\r\n5\r\n$1\r\n4\r\n"
        );
        assert_eq!(
            run(&mut t, &["lmpop", "1", "a", "left", "count", "10"]),
            "*2\r\n$1\r\na\r\n*2\r\n$1\r\n2\r\n$1\r\n3\r\n"
        );
        assert_eq!(run(&mut t, &["exists", "a"]), ":0\r\n");
        assert_eq!(run(&mut t, &["lmpop", "2", "a", "b", "left", "count", "10"]), "*-1\r\n");
        let nk = "-ERR numkeys should be greater than 0\r\n";
        assert_eq!(run(&mut t, &["lmpop", "0", "a", "left"]), nk);
        assert_eq!(run(&mut t, &["lmpop", "a", "a", "left"]), nk);
        assert_eq!(run(&mut t, &["lmpop", "-1", "a", "left"]), nk);
        let syn = "-ERR syntax error\r\n";
        assert_eq!(run(&mut t, &["lmpop", "1", "a", "bad_where"]), syn);
        assert_eq!(run(&mut t, &["lmpop", "1", "a", "left", "bar"]), syn);
        assert_eq!(run(&mut t, &["lmpop", "1", "a", "right", "left"]), syn);
        assert_eq!(run(&mut t, &["lmpop", "1", "a", "count"]), syn);
        assert_eq!(run(&mut t, &["lmpop", "1", "a", "left", "count", "1", "count", "2"]), syn);
        assert_eq!(run(&mut t, &["lmpop", "2", "a", "b", "bad"]), syn);
        assert_eq!(run(&mut t, &["lmpop", "5", "a", "left"]), syn);
        assert_eq!(run(&mut t, &["lmpop", "9223372036854775807", "a", "left"]), syn);
        let cnt = "-ERR count should be greater than 0\r\n";
        assert_eq!(run(&mut t, &["lmpop", "1", "a", "left", "count", "0"]), cnt);
        assert_eq!(run(&mut t, &["lmpop", "1", "a", "left", "count", "a"]), cnt);
        assert_eq!(run(&mut t, &["lmpop", "2", "a", "b", "right", "count", "-1"]), cnt);
        assert_eq!(run(&mut t, &["lmpop", "1"]), "-ERR wrong number of arguments for 'lmpop' command\r\n");
        resp3(&mut t);
        assert_eq!(run(&mut t, &["lmpop", "1", "a", "left"]), "_\r\n");
    }

    #[test]
    fn key_positions() {
        let mut t = new();
        assert_eq!(
            run(&mut t, &["command", "getkeys", "lmpop", "2", "a", "b", "left"]),
            "*2\r\n$1\r\na\r\n$1\r\nb\r\n"
        );
        assert_eq!(run(&mut t, &["command", "getkeys", "blmpop", "0", "1", "a", "left"]), "*1\r\n$1\r\na\r\n");
        assert_eq!(run(&mut t, &["command", "getkeys", "blpop", "a", "b", "0"]), "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
        assert_eq!(
            run(&mut t, &["command", "getkeys", "lmove", "a", "b", "left", "left"]),
            "*2\r\n$1\r\na\r\n$1\r\nb\r\n"
        );
        assert_eq!(super::lmpop_keys(&[b"lmpop", b"3", b"a", b"left"]), Vec::<usize>::new());
        assert_eq!(super::blmpop_keys(&[b"blmpop", b"0", b"x", b"a", b"left"]), Vec::<usize>::new());
    }

    #[test]
    fn blocking_pops_serve_at_once() {
        let mut t = new();
        run(&mut t, &["rpush", "b", "1", "2", "3"]);
        assert_eq!(run(&mut t, &["blpop", "nokey", "b", "0"]), "*2\r\n$1\r\nb\r\n$1\r\n1\r\n");
        assert_eq!(run(&mut t, &["brpop", "b", "0"]), "*2\r\n$1\r\nb\r\n$1\r\n3\r\n");
        assert_eq!(run(&mut t, &["blmpop", "0", "1", "b", "left", "count", "5"]), "*2\r\n$1\r\nb\r\n*1\r\n$1\r\n2\r\n");
        assert_eq!(run(&mut t, &["exists", "b"]), ":0\r\n");
        run(&mut t, &["rpush", "s", "x", "y"]);
        assert_eq!(run(&mut t, &["blmove", "s", "d", "right", "left", "0"]), "$1\r\ny\r\n");
        assert_eq!(run(&mut t, &["brpoplpush", "s", "d", "0"]), "$1\r\nx\r\n");
        assert_eq!(run(&mut t, &["lrange", "d", "0", "-1"]), "*2\r\n$1\r\nx\r\n$1\r\ny\r\n");
        assert!(blocked(&t).is_none());
    }

    #[test]
    fn blocking_pops_block_on_their_keys() {
        let mut t = new();
        assert_eq!(run(&mut t, &["blpop", "a", "b", "a", "0"]), "");
        let b = blocked(&t).unwrap();
        assert_eq!(b.keys, vec![(0, b"a".to_vec()), (0, b"b".to_vec())]);
        assert_eq!(b.deadline_ms, 0);
        t.s.clients.unblock(t.me);
        assert_eq!(run(&mut t, &["brpop", "a", "1.5"]), "");
        assert!(blocked(&t).unwrap().deadline_ms > 0);
        t.s.clients.unblock(t.me);
        assert_eq!(run(&mut t, &["blmpop", "0", "2", "x", "y", "left", "count", "3"]), "");
        assert_eq!(blocked(&t).unwrap().keys.len(), 2);
        t.s.clients.unblock(t.me);
        // BLMOVE blocks on the source only, whatever the destination holds.
        run(&mut t, &["set", "str", "v"]);
        assert_eq!(run(&mut t, &["blmove", "src", "str", "left", "left", "0"]), "");
        assert_eq!(blocked(&t).unwrap().keys, vec![(0, b"src".to_vec())]);
        t.s.clients.unblock(t.me);
        assert_eq!(run(&mut t, &["brpoplpush", "src", "dst", "0"]), "");
        t.s.clients.unblock(t.me);
        // When the key is written, running the command again serves it.
        run(&mut t, &["rpush", "src", "e"]);
        assert_eq!(run(&mut t, &["blmove", "src", "str", "left", "left", "0"]).as_bytes()[0], b'-');
        assert_eq!(run(&mut t, &["brpoplpush", "src", "dst", "0"]), "$1\r\ne\r\n");
    }

    #[test]
    fn woken_clients_pass_over_keys_of_another_type() {
        let mut t = new();
        assert_eq!(run(&mut t, &["blpop", "k", "0"]), "");
        let me = t.me;
        t.me = t.s.add_client("127.0.0.1:2".into(), "127.0.0.1:6379".into());
        run(&mut t, &["set", "k", "str"]);
        t.me = me;
        // Run again as the Keyspace does on a wake-up: still blocked, no error.
        assert_eq!(run(&mut t, &["blpop", "k", "0"]), "");
        assert!(blocked(&t).is_some());
        assert_eq!(run(&mut t, &["blmpop", "0", "1", "k", "left"]), "");
        assert!(blocked(&t).is_some());
        assert_eq!(run(&mut t, &["blmove", "k", "d", "left", "left", "0"]), "");
        assert!(blocked(&t).is_some());
        t.s.clients.unblock(t.me);
        // A fresh call reports the wrong type.
        assert_eq!(run(&mut t, &["blpop", "k", "0"]).as_bytes()[0], b'-');
    }

    #[test]
    fn blocking_errors() {
        let mut t = new();
        for cmd in [&["blpop", "k", "-1"][..], &["brpop", "k", "-1"], &["blmpop", "-1", "1", "k", "left"]] {
            assert_eq!(run(&mut t, cmd), "-ERR timeout is negative\r\n");
        }
        assert_eq!(
            run(&mut t, &["blmove", "a", "b", "left", "left", "x"]),
            "-ERR timeout is not a float or out of range\r\n"
        );
        assert_eq!(run(&mut t, &["blmove", "a", "b", "up", "left", "x"]), "-ERR syntax error\r\n");
        assert_eq!(run(&mut t, &["brpoplpush", "a", "b", "-1"]), "-ERR timeout is negative\r\n");
        assert_eq!(run(&mut t, &["blmpop", "-1", "0", "k", "left"]), "-ERR numkeys should be greater than 0\r\n");
        assert!(blocked(&t).is_none());
    }

    #[test]
    fn blocking_inside_exec_answers_timeout() {
        let mut t = new();
        t.s.exec.in_exec = true;
        assert_eq!(run(&mut t, &["blpop", "a", "0"]), "*-1\r\n");
        assert_eq!(run(&mut t, &["blmpop", "0", "1", "a", "left"]), "*-1\r\n");
        assert_eq!(run(&mut t, &["brpoplpush", "a", "b", "0"]), "$-1\r\n");
        assert_eq!(run(&mut t, &["blmove", "a", "b", "left", "right", "0"]), "$-1\r\n");
        assert!(blocked(&t).is_none());
        resp3(&mut t);
        assert_eq!(run(&mut t, &["blpop", "a", "0"]), "_\r\n");
    }

    #[test]
    fn writes_wake_blocked_clients() {
        let mut t = new();
        assert_eq!(run(&mut t, &["blpop", "q", "0"]), "");
        let me = t.me;
        let other = t.s.add_client("127.0.0.1:2".into(), "127.0.0.1:6379".into());
        t.me = other;
        run(&mut t, &["rpush", "q", "x"]);
        assert_eq!(t.s.clients.ready_keys, vec![(0, b"q".to_vec())]);
        t.s.clients.unblock(me);
    }

    #[test]
    fn replicated_as_redis_rewrites_them() {
        let mut t = new();
        t.s.prop.feed.enabled = true;
        run(&mut t, &["rpush", "a", "1", "2", "3"]);
        run(&mut t, &["blpop", "a", "0"]);
        run(&mut t, &["lmpop", "1", "a", "right"]);
        run(&mut t, &["blmpop", "0", "2", "x", "a", "left", "count", "9"]);
        run(&mut t, &["lpop", "a"]);
        run(&mut t, &["rpush", "a", "1"]);
        run(&mut t, &["blmove", "a", "b", "left", "right", "0"]);
        run(&mut t, &["brpoplpush", "b", "b", "0"]);
        run(&mut t, &["ltrim", "b", "0", "-1"]);
        let feed = String::from_utf8(t.s.prop.feed.take()).unwrap().replace("\r\n", " ");
        let want = "*2 $6 SELECT $1 0 *5 $5 rpush $1 a $1 1 $1 2 $1 3 *2 $4 lpop $1 a *3 $4 rpop $1 a $1 1 \
                    *3 $4 lpop $1 a $1 1 *3 $5 rpush $1 a $1 1 *5 $5 lmove $1 a $1 b $4 left $5 right \
                    *3 $9 rpoplpush $1 b $1 b ";
        assert_eq!(feed, want);
    }

    #[test]
    fn lists_stay_intact_across_node_boundaries() {
        let mut t = new();
        run(&mut t, &["config", "set", "list-max-listpack-size", "4"]);
        for i in 0..50 {
            run(&mut t, &["rpush", "l", &i.to_string()]);
        }
        for i in 0..50 {
            assert_eq!(run(&mut t, &["lindex", "l", &i.to_string()]), format!("${}\r\n{i}\r\n", i.to_string().len()));
        }
        assert_eq!(run(&mut t, &["linsert", "l", "before", "25", "x"]), ":51\r\n");
        assert_eq!(run(&mut t, &["lindex", "l", "25"]), "$1\r\nx\r\n");
        assert_eq!(run(&mut t, &["lpos", "l", "49"]), ":50\r\n");
        assert_eq!(run(&mut t, &["lrange", "l", "24", "26"]), "*3\r\n$2\r\n24\r\n$1\r\nx\r\n$2\r\n25\r\n");
    }
}
