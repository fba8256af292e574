//! Sorted-set commands: ZADD and friends, ranges by rank / score / lex, pops (blocking too), set algebra,
//! ZRANDMEMBER and ZSCAN (commands layer, applied by the Keyspace actor).
//!
//! Replies, error texts and the order of their checks follow Redis 7.0's t_zset.c, because clients and the
//! Redis test suite match on them. Scores parse like Redis: ZADD/ZINCRBY/WEIGHTS with getDoubleFromObject
//! (strtod over the whole argument, no leading space, overflow refused), range bounds with zslParseRange
//! (plain strtod, "(" for exclusive); NaN is always refused. RESP3 replies use doubles for scores and
//! [member, score] pairs for WITHSCORES, as 7.0 does. Encodings are in `types::zset`.

use super::spec::*;
use super::{block_deadline, Ctx};
use crate::config::{NOTIFY_GENERIC, NOTIFY_ZSET};
use crate::error::CmdError;
use crate::resp::encode::Out;
use crate::types::db::Db;
use crate::types::glob::glob_match;
use crate::types::num::{self, format_double, parse_i64};
use crate::types::rng;
use crate::types::value::Value;
use crate::types::zset::ZSet;
use std::collections::{HashMap, HashSet};

const ERR_MINMAX_FLOAT: CmdError = CmdError::new("ERR min or max is not a float");
const ERR_MINMAX_LEX: CmdError = CmdError::new("ERR min or max not valid string range item");
const ERR_NAN: CmdError = CmdError::new("ERR resulting score is not a number (NaN)");
const ERR_POSITIVE: CmdError = CmdError::new("ERR value is out of range, must be positive");

const RANGE_CX: &str = "O(log(N)+M) with N being the number of elements in the sorted set and M the number of \
elements returned.";
const RANGEBY_CX: &str = "O(log(N)+M) with N being the number of elements in the sorted set and M the number of \
elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can \
consider it O(log(N)).";
const REMRANGE_CX: &str = "O(log(N)+M) with N being the number of elements in the sorted set and M the number of \
elements removed by the operation.";
const UNION_CX: &str = "O(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted sets, and M being \
the number of elements in the resulting sorted set.";
const INTER_CX: &str = "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the \
number of input sorted sets and M being the number of elements in the resulting sorted set.";
const DIFF_CX: &str = "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is \
the size of the first set, and K is the size of the result set.";
const MPOP_CX: &str = "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements \
in the sorted set, and M being the number of elements popped.";
const POP_CX: &str = "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of \
elements popped.";

/// The sorted-set commands, as Redis 7.0's command table declares them.
#[rustfmt::skip]
pub const SPECS: &[CommandSpec] = &family("sorted-set", [
    cmd("zadd", -4, WRITE | DENYOOM | FAST, zadd).keys(1, 1, 1).acl(SORTEDSET).doc("1.2.0", "O(log(N)) for each item added, where N is the number of elements in the sorted set.", "Add one or more members to a sorted set, or update its score if it already exists"),
    cmd("zincrby", 4, WRITE | DENYOOM | FAST, zincrby).keys(1, 1, 1).acl(SORTEDSET).doc("1.2.0", "O(log(N)) where N is the number of elements in the sorted set.", "Increment the score of a member in a sorted set"),
    cmd("zcard", 2, READONLY | FAST, zcard).keys(1, 1, 1).acl(SORTEDSET).doc("1.2.0", "O(1)", "Get the number of members in a sorted set"),
    cmd("zcount", 4, READONLY | FAST, zcount).keys(1, 1, 1).acl(SORTEDSET).doc("2.0.0", "O(log(N)) with N being the number of elements in the sorted set.", "Count the members in a sorted set with scores within the given values"),
    cmd("zlexcount", 4, READONLY | FAST, zlexcount).keys(1, 1, 1).acl(SORTEDSET).doc("2.8.9", "O(log(N)) with N being the number of elements in the sorted set.", "Count the number of members in a sorted set between a given lexicographical range"),
    cmd("zscore", 3, READONLY | FAST, zscore).keys(1, 1, 1).acl(SORTEDSET).doc("1.2.0", "O(1)", "Get the score associated with the given member in a sorted set"),
    cmd("zmscore", -3, READONLY | FAST, zmscore).keys(1, 1, 1).acl(SORTEDSET).doc("6.2.0", "O(N) where N is the number of members being requested.", "Get the score associated with the given members in a sorted set"),
    cmd("zrank", 3, READONLY | FAST, zrank).keys(1, 1, 1).acl(SORTEDSET).doc("2.0.0", "O(log(N))", "Determine the index of a member in a sorted set"),
    cmd("zrevrank", 3, READONLY | FAST, zrevrank).keys(1, 1, 1).acl(SORTEDSET).doc("2.0.0", "O(log(N))", "Determine the index of a member in a sorted set, with scores ordered from high to low"),
    cmd("zrange", -4, READONLY, zrange).keys(1, 1, 1).acl(SORTEDSET).doc("1.2.0", RANGE_CX, "Return a range of members in a sorted set"),
    cmd("zrangestore", -5, WRITE | DENYOOM, zrangestore).keys(1, 2, 1).acl(SORTEDSET).doc("6.2.0", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements stored into the destination key.", "Store a range of members from sorted set into another key"),
    cmd("zrevrange", -4, READONLY, zrevrange).keys(1, 1, 1).acl(SORTEDSET).doc("1.2.0", RANGE_CX, "Return a range of members in a sorted set, by index, with scores ordered from high to low"),
    cmd("zrangebyscore", -4, READONLY, zrangebyscore).keys(1, 1, 1).acl(SORTEDSET).doc("1.0.5", RANGEBY_CX, "Return a range of members in a sorted set, by score"),
    cmd("zrevrangebyscore", -4, READONLY, zrevrangebyscore).keys(1, 1, 1).acl(SORTEDSET).doc("2.2.0", RANGEBY_CX, "Return a range of members in a sorted set, by score, with scores ordered from high to low"),
    cmd("zrangebylex", -4, READONLY, zrangebylex).keys(1, 1, 1).acl(SORTEDSET).doc("2.8.9", RANGEBY_CX, "Return a range of members in a sorted set, by lexicographical range"),
    cmd("zrevrangebylex", -4, READONLY, zrevrangebylex).keys(1, 1, 1).acl(SORTEDSET).doc("2.8.9", RANGEBY_CX, "Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings."),
    cmd("zrem", -3, WRITE | FAST, zrem).keys(1, 1, 1).acl(SORTEDSET).doc("1.2.0", "O(M*log(N)) with N being the number of elements in the sorted set and M the number of elements to be removed.", "Remove one or more members from a sorted set"),
    cmd("zremrangebyrank", 4, WRITE, zremrangebyrank).keys(1, 1, 1).acl(SORTEDSET).doc("2.0.0", REMRANGE_CX, "Remove all members in a sorted set within the given indexes"),
    cmd("zremrangebyscore", 4, WRITE, zremrangebyscore).keys(1, 1, 1).acl(SORTEDSET).doc("1.2.0", REMRANGE_CX, "Remove all members in a sorted set within the given scores"),
    cmd("zremrangebylex", 4, WRITE, zremrangebylex).keys(1, 1, 1).acl(SORTEDSET).doc("2.8.9", REMRANGE_CX, "Remove all members in a sorted set between the given lexicographical range"),
    cmd("zpopmin", -2, WRITE | FAST, zpopmin).keys(1, 1, 1).acl(SORTEDSET).doc("5.0.0", POP_CX, "Remove and return members with the lowest scores in a sorted set"),
    cmd("zpopmax", -2, WRITE | FAST, zpopmax).keys(1, 1, 1).acl(SORTEDSET).doc("5.0.0", POP_CX, "Remove and return members with the highest scores in a sorted set"),
    cmd("bzpopmin", -3, WRITE | NOSCRIPT | FAST | BLOCKING, bzpopmin).keys(1, -2, 1).acl(SORTEDSET).doc("5.0.0", "O(log(N)) with N being the number of elements in the sorted set.", "Remove and return the member with the lowest score from one or more sorted sets, or block until one is available"),
    cmd("bzpopmax", -3, WRITE | NOSCRIPT | FAST | BLOCKING, bzpopmax).keys(1, -2, 1).acl(SORTEDSET).doc("5.0.0", "O(log(N)) with N being the number of elements in the sorted set.", "Remove and return the member with the highest score from one or more sorted sets, or block until one is available"),
    cmd("zmpop", -4, WRITE | MOVABLE_KEYS, zmpop).acl(SORTEDSET).getkeys(keys_numkeys_at_1).doc("7.0.0", MPOP_CX, "Remove and return members with scores in a sorted set"),
    cmd("bzmpop", -5, WRITE | BLOCKING | MOVABLE_KEYS, bzmpop).acl(SORTEDSET).getkeys(keys_numkeys_at_2).doc("7.0.0", MPOP_CX, "Remove and return members with scores in a sorted set or block until one is available"),
    cmd("zrandmember", -2, READONLY, zrandmember).keys(1, 1, 1).acl(SORTEDSET).doc("6.2.0", "O(N) where N is the number of elements returned", "Get one or multiple random elements from a sorted set"),
    cmd("zscan", -3, READONLY, zscan).keys(1, 1, 1).acl(SORTEDSET).doc("2.8.0", "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..", "Incrementally iterate sorted sets elements and associated scores"),
    cmd("zunion", -3, READONLY | MOVABLE_KEYS, zunion).acl(SORTEDSET).getkeys(keys_numkeys_at_1).doc("6.2.0", UNION_CX, "Add multiple sorted sets"),
    cmd("zinter", -3, READONLY | MOVABLE_KEYS, zinter).acl(SORTEDSET).getkeys(keys_numkeys_at_1).doc("6.2.0", INTER_CX, "Intersect multiple sorted sets"),
    cmd("zintercard", -3, READONLY | MOVABLE_KEYS, zintercard).acl(SORTEDSET).getkeys(keys_numkeys_at_1).doc("7.0.0", "O(N*K) worst case with N being the smallest input sorted set, K being the number of input sorted sets.", "Intersect multiple sorted sets and return the cardinality of the result"),
    cmd("zdiff", -3, READONLY | MOVABLE_KEYS, zdiff).acl(SORTEDSET).getkeys(keys_numkeys_at_1).doc("6.2.0", DIFF_CX, "Subtract multiple sorted sets"),
    cmd("zunionstore", -4, WRITE | DENYOOM | MOVABLE_KEYS, zunionstore).keys(1, 1, 1).acl(SORTEDSET).getkeys(keys_store_numkeys).doc("2.0.0", "O(N)+O(M log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set.", "Add multiple sorted sets and store the resulting sorted set in a new key"),
    cmd("zinterstore", -4, WRITE | DENYOOM | MOVABLE_KEYS, zinterstore).keys(1, 1, 1).acl(SORTEDSET).getkeys(keys_store_numkeys).doc("2.0.0", INTER_CX, "Intersect multiple sorted sets and store the resulting sorted set in a new key"),
    cmd("zdiffstore", -4, WRITE | DENYOOM | MOVABLE_KEYS, zdiffstore).keys(1, 1, 1).acl(SORTEDSET).getkeys(keys_store_numkeys).doc("6.2.0", DIFF_CX, "Subtract multiple sorted sets and store the resulting sorted set in a new key"),
]);

// ---------------------------------------------------------------------------------------------------------
// Key positions of the numkeys commands (COMMAND GETKEYS, cluster slots, tracking).

/// `numkeys` keys after argv[idx]; none when numkeys is not a count that fits.
fn numkeys_keys(argv: &[&[u8]], idx: usize) -> Vec<usize> {
    let Some(n) = argv.get(idx).and_then(|a| parse_i64(a)) else { return Vec::new() };
    if n < 1 || n as u64 > argv.len().saturating_sub(idx + 1) as u64 {
        return Vec::new();
    }
    (idx + 1..idx + 1 + n as usize).collect()
}

fn keys_numkeys_at_1(argv: &[&[u8]]) -> Vec<usize> {
    numkeys_keys(argv, 1)
}

fn keys_numkeys_at_2(argv: &[&[u8]]) -> Vec<usize> {
    numkeys_keys(argv, 2)
}

/// ZUNIONSTORE / ZINTERSTORE / ZDIFFSTORE: the destination, then the numkeys sources.
fn keys_store_numkeys(argv: &[&[u8]]) -> Vec<usize> {
    let mut v = vec![1];
    v.extend(numkeys_keys(argv, 2));
    v
}

// ---------------------------------------------------------------------------------------------------------
// Number parsing with C's rules.

/// The C string of an argument (up to its first NUL), as strtod sees it.
fn c_str(arg: &[u8]) -> &[u8] {
    match arg.iter().position(|&c| c == 0) {
        Some(n) => &arg[..n],
        None => arg,
    }
}

/// A score range: (min, min exclusive, max, max exclusive).
#[derive(Clone, Copy, Debug)]
struct ScoreRange {
    min: f64,
    minex: bool,
    max: f64,
    maxex: bool,
}

/// One bound of a score range as zslParseRange reads it: "(" makes it exclusive, then plain strtod.
fn parse_score_bound(arg: &[u8]) -> Option<(f64, bool)> {
    let s = c_str(arg);
    let (ex, body) = match s.first() {
        Some(b'(') => (true, &s[1..]),
        _ => (false, s),
    };
    let (v, used, _) = crate::types::num::strtod(body);
    if used != body.len() || v.is_nan() {
        return None;
    }
    Some((v, ex))
}

fn parse_score_range(min: &[u8], max: &[u8]) -> Result<ScoreRange, CmdError> {
    let (min, minex) = parse_score_bound(min).ok_or(ERR_MINMAX_FLOAT)?;
    let (max, maxex) = parse_score_bound(max).ok_or(ERR_MINMAX_FLOAT)?;
    Ok(ScoreRange { min, minex, max, maxex })
}

/// Ranks `lo..hi` of the members inside a score range.
fn score_ranks(z: &ZSet, r: &ScoreRange) -> (usize, usize) {
    let lo = z.rank_of_score(r.min, r.minex);
    let hi = z.rank_of_score(r.max, !r.maxex);
    (lo, hi.max(lo))
}

/// A lex range bound: "-", "+", "[x" (inclusive) or "(x" (exclusive).
#[derive(Clone, Copy, Debug)]
enum LexBound<'a> {
    NegInf,
    PosInf,
    Incl(&'a [u8]),
    Excl(&'a [u8]),
}

fn parse_lex_bound(arg: &[u8]) -> Option<LexBound<'_>> {
    match arg.first() {
        Some(b'+') if arg.len() == 1 || arg[1] == 0 => Some(LexBound::PosInf),
        Some(b'-') if arg.len() == 1 || arg[1] == 0 => Some(LexBound::NegInf),
        Some(b'(') => Some(LexBound::Excl(&arg[1..])),
        Some(b'[') => Some(LexBound::Incl(&arg[1..])),
        _ => None,
    }
}

fn parse_lex_range<'a>(min: &'a [u8], max: &'a [u8]) -> Result<(LexBound<'a>, LexBound<'a>), CmdError> {
    let lo = parse_lex_bound(min).ok_or(ERR_MINMAX_LEX)?;
    let hi = parse_lex_bound(max).ok_or(ERR_MINMAX_LEX)?;
    Ok((lo, hi))
}

/// Ranks `lo..hi` of the members inside a lex range.
fn lex_ranks(z: &ZSet, min: LexBound<'_>, max: LexBound<'_>) -> (usize, usize) {
    let lo = match min {
        LexBound::NegInf => 0,
        LexBound::PosInf => z.len(),
        LexBound::Incl(m) => z.rank_of_lex(m, false),
        LexBound::Excl(m) => z.rank_of_lex(m, true),
    };
    let hi = match max {
        LexBound::NegInf => 0,
        LexBound::PosInf => z.len(),
        LexBound::Incl(m) => z.rank_of_lex(m, true),
        LexBound::Excl(m) => z.rank_of_lex(m, false),
    };
    (lo, hi.max(lo))
}

/// getRangeLongFromObjectOrReply: an integer within [min, max], else `msg` (or Redis's range text).
fn range_long(arg: &[u8], min: i64, max: i64, msg: Option<&'static str>) -> Result<i64, CmdError> {
    let v = match parse_i64(arg) {
        Some(v) => v,
        None => return Err(msg.map(CmdError::new).unwrap_or(CmdError::NOT_INT)),
    };
    if v < min || v > max {
        return Err(match msg {
            Some(m) => CmdError::new(m),
            None => CmdError::msg(format!("ERR value is out of range, value must between {min} and {max}")),
        });
    }
    Ok(v)
}

// ---------------------------------------------------------------------------------------------------------
// Lookups and replies.

/// Members with or without scores: a flat array in RESP2, [member, score] pairs in RESP3 (7.0's shape).
fn reply_members<'a>(out: &mut Out, it: impl ExactSizeIterator<Item = (&'a [u8], f64)>, withscores: bool) {
    let n = it.len();
    out.array(if withscores && out.resp == 2 { 2 * n } else { n });
    for (m, s) in it {
        if withscores && out.resp > 2 {
            out.array(2);
        }
        out.bulk(m);
        if withscores {
            out.double(s);
        }
    }
}

/// Store `pairs` (ascending, unique) at `dst` as a *STORE command does: overwrite (dropping the TTL), or
/// delete `dst` when the result is empty. Replies with the size.
fn store_result(cx: &mut Ctx<'_>, dst: &[u8], pairs: Vec<(Vec<u8>, f64)>) {
    let n = pairs.len();
    let enc = cx.s.enc;
    if n > 0 {
        let z = ZSet::from_sorted_unique(pairs, &enc);
        cx.db().set(dst, Value::ZSet(z), false);
        cx.out.int(n as i64);
        cx.modified(dst);
        // The command's own name: zunionstore, zinterstore, zdiffstore, zrangestore.
        cx.notify(NOTIFY_ZSET, cx.spec.name, dst);
    } else {
        cx.out.int(0);
        if cx.db().remove(dst).is_some() {
            cx.modified(dst);
            cx.notify(NOTIFY_GENERIC, "del", dst);
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// ZADD / ZINCRBY

/// ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]
fn zadd(cx: &mut Ctx<'_>) -> CmdResult {
    zadd_generic(cx, false)
}

/// ZINCRBY key increment member
fn zincrby(cx: &mut Ctx<'_>) -> CmdResult {
    zadd_generic(cx, true)
}

fn zadd_generic(cx: &mut Ctx<'_>, mut incr: bool) -> CmdResult {
    let key = cx.arg(1);
    let argc = cx.argc();
    let (mut nx, mut xx, mut gt, mut lt, mut ch) = (false, false, false, false, false);
    let mut idx = 2;
    while idx < argc {
        let a = cx.arg(idx);
        if a.eq_ignore_ascii_case(b"nx") {
            nx = true;
        } else if a.eq_ignore_ascii_case(b"xx") {
            xx = true;
        } else if a.eq_ignore_ascii_case(b"ch") {
            ch = true;
        } else if a.eq_ignore_ascii_case(b"incr") {
            incr = true;
        } else if a.eq_ignore_ascii_case(b"gt") {
            gt = true;
        } else if a.eq_ignore_ascii_case(b"lt") {
            lt = true;
        } else {
            break;
        }
        idx += 1;
    }
    let elements = argc - idx;
    if !elements.is_multiple_of(2) || elements == 0 {
        return Err(CmdError::SYNTAX);
    }
    let elements = elements / 2;
    if nx && xx {
        return Err(CmdError::new("ERR XX and NX options at the same time are not compatible"));
    }
    if ((gt || lt) && nx) || (gt && lt) {
        return Err(CmdError::new("ERR GT, LT, and/or NX options at the same time are not compatible"));
    }
    if incr && elements > 1 {
        return Err(CmdError::new("ERR INCR option supports a single increment-element pair"));
    }
    let mut scores = Vec::with_capacity(elements);
    for j in 0..elements {
        scores.push(num::string2d(cx.arg(idx + 2 * j)).ok_or(CmdError::NOT_FLOAT)?);
    }
    let enc = cx.s.enc;
    let argv = cx.argv;
    let (db, out) = cx.db_out();
    let (mut added, mut updated, mut processed) = (0usize, 0usize, 0usize);
    let mut last = 0.0;
    let mut nan = false;
    let apply = |z: &mut ZSet, added: &mut usize, updated: &mut usize, processed: &mut usize, last: &mut f64| {
        for (j, &score) in scores.iter().enumerate() {
            let m = argv.get(idx + 2 * j + 1);
            match z.score(m) {
                Some(cur) => {
                    if nx {
                        continue;
                    }
                    let mut s = score;
                    if incr {
                        s += cur;
                        if s.is_nan() {
                            return false;
                        }
                    }
                    if (lt && s >= cur) || (gt && s <= cur) {
                        continue;
                    }
                    *processed += 1;
                    *last = s;
                    if s != cur {
                        z.insert(m, s, &enc);
                        *updated += 1;
                    }
                }
                None => {
                    if xx {
                        continue;
                    }
                    z.insert(m, score, &enc);
                    *added += 1;
                    *processed += 1;
                    *last = score;
                }
            }
        }
        true
    };
    match db.write::<ZSet>(key)? {
        Some(z) => nan = !apply(z, &mut added, &mut updated, &mut processed, &mut last),
        None if xx => {}
        None => {
            let mut z = ZSet::new();
            apply(&mut z, &mut added, &mut updated, &mut processed, &mut last);
            if !z.is_empty() {
                db.set(key, Value::ZSet(z), false);
            }
        }
    }
    if !nan {
        if incr {
            if processed > 0 {
                out.double(last);
            } else {
                out.nil();
            }
        } else {
            out.int((if ch { added + updated } else { added }) as i64);
        }
    }
    if added + updated > 0 {
        cx.modified(key);
        cx.notify(NOTIFY_ZSET, if incr { "zincr" } else { "zadd" }, key);
    }
    if nan {
        return Err(ERR_NAN);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// Simple reads

/// ZCARD key
fn zcard(cx: &mut Ctx<'_>) -> CmdResult {
    let key = cx.arg(1);
    let (db, out) = cx.db_out();
    let n = db.read::<ZSet>(key)?.map_or(0, |z| z.len());
    out.int(n as i64);
    Ok(())
}

/// ZSCORE key member
fn zscore(cx: &mut Ctx<'_>) -> CmdResult {
    let (key, m) = (cx.arg(1), cx.arg(2));
    let (db, out) = cx.db_out();
    match db.read::<ZSet>(key)?.and_then(|z| z.score(m)) {
        Some(s) => out.double(s),
        None => out.nil(),
    }
    Ok(())
}

/// ZMSCORE key member [member ...]
fn zmscore(cx: &mut Ctx<'_>) -> CmdResult {
    let key = cx.arg(1);
    let argv = cx.argv;
    let (db, out) = cx.db_out();
    let z = db.read::<ZSet>(key)?;
    out.array(argv.len() - 2);
    for i in 2..argv.len() {
        match z.and_then(|z| z.score(argv.get(i))) {
            Some(s) => out.double(s),
            None => out.nil(),
        }
    }
    Ok(())
}

/// ZRANK key member
fn zrank(cx: &mut Ctx<'_>) -> CmdResult {
    zrank_generic(cx, false)
}

/// ZREVRANK key member
fn zrevrank(cx: &mut Ctx<'_>) -> CmdResult {
    zrank_generic(cx, true)
}

fn zrank_generic(cx: &mut Ctx<'_>, rev: bool) -> CmdResult {
    let (key, m) = (cx.arg(1), cx.arg(2));
    let (db, out) = cx.db_out();
    let Some(z) = db.read::<ZSet>(key)? else {
        out.nil();
        return Ok(());
    };
    match z.rank(m) {
        Some(r) => out.int(if rev { z.len() - 1 - r } else { r } as i64),
        None => out.nil(),
    }
    Ok(())
}

/// ZCOUNT key min max
fn zcount(cx: &mut Ctx<'_>) -> CmdResult {
    let key = cx.arg(1);
    let r = parse_score_range(cx.arg(2), cx.arg(3))?;
    let (db, out) = cx.db_out();
    let n = db.read::<ZSet>(key)?.map_or(0, |z| {
        let (lo, hi) = score_ranks(z, &r);
        hi - lo
    });
    out.int(n as i64);
    Ok(())
}

/// ZLEXCOUNT key min max
fn zlexcount(cx: &mut Ctx<'_>) -> CmdResult {
    let key = cx.arg(1);
    let (min, max) = parse_lex_range(cx.arg(2), cx.arg(3))?;
    let (db, out) = cx.db_out();
    let n = db.read::<ZSet>(key)?.map_or(0, |z| {
        let (lo, hi) = lex_ranks(z, min, max);
        hi - lo
    });
    out.int(n as i64);
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// ZRANGE family

#[derive(Clone, Copy, PartialEq, Eq)]
enum RangeType {
    Auto,
    Rank,
    Score,
    Lex,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    Auto,
    Forward,
    Reverse,
}

/// ZRANGE key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES]
fn zrange(cx: &mut Ctx<'_>) -> CmdResult {
    zrange_generic(cx, 1, false, RangeType::Auto, Direction::Auto)
}

/// ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]
fn zrangestore(cx: &mut Ctx<'_>) -> CmdResult {
    zrange_generic(cx, 2, true, RangeType::Auto, Direction::Auto)
}

/// ZREVRANGE key start stop [WITHSCORES]
fn zrevrange(cx: &mut Ctx<'_>) -> CmdResult {
    zrange_generic(cx, 1, false, RangeType::Rank, Direction::Reverse)
}

/// ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count]
fn zrangebyscore(cx: &mut Ctx<'_>) -> CmdResult {
    zrange_generic(cx, 1, false, RangeType::Score, Direction::Forward)
}

/// ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count]
fn zrevrangebyscore(cx: &mut Ctx<'_>) -> CmdResult {
    zrange_generic(cx, 1, false, RangeType::Score, Direction::Reverse)
}

/// ZRANGEBYLEX key min max [LIMIT offset count]
fn zrangebylex(cx: &mut Ctx<'_>) -> CmdResult {
    zrange_generic(cx, 1, false, RangeType::Lex, Direction::Forward)
}

/// ZREVRANGEBYLEX key max min [LIMIT offset count]
fn zrevrangebylex(cx: &mut Ctx<'_>) -> CmdResult {
    zrange_generic(cx, 1, false, RangeType::Lex, Direction::Reverse)
}

/// A parsed range of any type.
enum Range<'a> {
    Rank(i64, i64),
    Score(ScoreRange),
    Lex(LexBound<'a>, LexBound<'a>),
}

/// The forward ranks `lo..hi` a range selects after LIMIT, and whether to emit them in reverse.
fn select_ranks(z: &ZSet, range: &Range<'_>, rev: bool, offset: i64, limit: i64) -> (usize, usize) {
    let len = z.len() as i64;
    let (lo, hi) = match range {
        Range::Rank(start, end) => {
            let (mut start, mut end) = (*start, *end);
            if start < 0 {
                start += len;
            }
            if end < 0 {
                end += len;
            }
            if start < 0 {
                start = 0;
            }
            if start > end || start >= len {
                return (0, 0);
            }
            if end >= len {
                end = len - 1;
            }
            return if rev {
                ((len - 1 - end) as usize, (len - start) as usize)
            } else {
                (start as usize, (end + 1) as usize)
            };
        }
        Range::Score(r) => score_ranks(z, r),
        Range::Lex(min, max) => lex_ranks(z, *min, *max),
    };
    // LIMIT: a negative offset walks off the end (an empty reply, as in Redis); a negative count means all.
    if offset < 0 {
        return (0, 0);
    }
    let (lo, hi) = (lo as u64, hi as u64);
    let offset = offset as u64;
    let (a, b) = if !rev {
        let a = lo.saturating_add(offset);
        let b = if limit < 0 { hi } else { hi.min(a.saturating_add(limit as u64)) };
        (a, b)
    } else {
        let b = hi.saturating_sub(offset);
        let a = if limit < 0 { lo } else { lo.max(b.saturating_sub(limit as u64)) };
        (a, b)
    };
    if a >= b {
        (0, 0)
    } else {
        (a as usize, b as usize)
    }
}

fn zrange_generic(cx: &mut Ctx<'_>, start: usize, store: bool, mut rtype: RangeType, mut dir: Direction) -> CmdResult {
    let argc = cx.argc();
    let mut withscores = false;
    let (mut offset, mut limit) = (0i64, -1i64);
    let mut j = start + 3;
    while j < argc {
        let left = argc - j - 1;
        if !store && cx.argv.is(j, "withscores") {
            withscores = true;
        } else if cx.argv.is(j, "limit") && left >= 2 {
            offset = cx.int_arg(j + 1)?;
            limit = cx.int_arg(j + 2)?;
            j += 2;
        } else if dir == Direction::Auto && cx.argv.is(j, "rev") {
            dir = Direction::Reverse;
        } else if rtype == RangeType::Auto && cx.argv.is(j, "bylex") {
            rtype = RangeType::Lex;
        } else if rtype == RangeType::Auto && cx.argv.is(j, "byscore") {
            rtype = RangeType::Score;
        } else {
            return Err(CmdError::SYNTAX);
        }
        j += 1;
    }
    if dir == Direction::Auto {
        dir = Direction::Forward;
    }
    if rtype == RangeType::Auto {
        rtype = RangeType::Rank;
    }
    if limit != -1 && rtype == RangeType::Rank {
        return Err(CmdError::new(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if withscores && rtype == RangeType::Lex {
        return Err(CmdError::new("ERR syntax error, WITHSCORES not supported in combination with BYLEX"));
    }
    let rev = dir == Direction::Reverse;
    let (mut minidx, mut maxidx) = (start + 1, start + 2);
    if rev && rtype != RangeType::Rank {
        std::mem::swap(&mut minidx, &mut maxidx);
    }
    let range = match rtype {
        RangeType::Score => Range::Score(parse_score_range(cx.arg(minidx), cx.arg(maxidx))?),
        RangeType::Lex => {
            let (a, b) = parse_lex_range(cx.arg(minidx), cx.arg(maxidx))?;
            Range::Lex(a, b)
        }
        _ => Range::Rank(cx.int_arg(minidx)?, cx.int_arg(maxidx)?),
    };
    let key = cx.arg(start);
    let dst = cx.arg(1);
    let (db, out) = cx.db_out();
    let Some(z) = db.read::<ZSet>(key)? else {
        if store {
            store_result(cx, dst, Vec::new());
        } else {
            out.array(0);
        }
        return Ok(());
    };
    let (lo, hi) = select_ranks(z, &range, rev, offset, limit);
    if store {
        let pairs: Vec<(Vec<u8>, f64)> = z.range(lo, hi).map(|(m, s)| (m.to_vec(), s)).collect();
        store_result(cx, dst, pairs);
    } else if rev {
        reply_members(out, z.range(lo, hi).rev(), withscores);
    } else {
        reply_members(out, z.range(lo, hi), withscores);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// Removals

/// ZREM key member [member ...]
fn zrem(cx: &mut Ctx<'_>) -> CmdResult {
    let key = cx.arg(1);
    let argv = cx.argv;
    let db = cx.db();
    let Some(z) = db.write::<ZSet>(key)? else {
        cx.out.int(0);
        return Ok(());
    };
    let mut deleted = 0;
    for i in 2..argv.len() {
        if z.remove(argv.get(i)) {
            deleted += 1;
        }
        if z.is_empty() {
            break;
        }
    }
    let empty = z.is_empty();
    if empty {
        db.remove(key);
    }
    cx.out.int(deleted);
    if deleted > 0 {
        cx.modified(key);
        cx.notify(NOTIFY_ZSET, "zrem", key);
        if empty {
            cx.notify(NOTIFY_GENERIC, "del", key);
        }
    }
    Ok(())
}

/// ZREMRANGEBYRANK key start stop
fn zremrangebyrank(cx: &mut Ctx<'_>) -> CmdResult {
    let range = Range::Rank(cx.int_arg(2)?, cx.int_arg(3)?);
    zremrange_generic(cx, range)
}

/// ZREMRANGEBYSCORE key min max
fn zremrangebyscore(cx: &mut Ctx<'_>) -> CmdResult {
    let range = Range::Score(parse_score_range(cx.arg(2), cx.arg(3))?);
    zremrange_generic(cx, range)
}

/// ZREMRANGEBYLEX key min max
fn zremrangebylex(cx: &mut Ctx<'_>) -> CmdResult {
    let (a, b) = parse_lex_range(cx.arg(2), cx.arg(3))?;
    zremrange_generic(cx, Range::Lex(a, b))
}

fn zremrange_generic(cx: &mut Ctx<'_>, range: Range<'_>) -> CmdResult {
    let key = cx.arg(1);
    let db = cx.db();
    let Some(z) = db.write::<ZSet>(key)? else {
        cx.out.int(0);
        return Ok(());
    };
    let (lo, hi) = select_ranks(z, &range, false, 0, -1);
    let removed = z.remove_range(lo, hi);
    let empty = z.is_empty();
    if empty {
        db.remove(key);
    }
    cx.out.int(removed as i64);
    if removed > 0 {
        cx.modified(key);
        // zremrangebyrank, zremrangebyscore or zremrangebylex.
        cx.notify(NOTIFY_ZSET, cx.spec.name, key);
        if empty {
            cx.notify(NOTIFY_GENERIC, "del", key);
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// Pops

/// The reply shapes of genericZpopCommand.
fn reply_pop(out: &mut Out, key: Option<&[u8]>, popped: &[(Vec<u8>, f64)], nested: bool) {
    let n = popped.len();
    match (key, nested) {
        (None, false) => out.array(2 * n),
        (None, true) => out.array(n),
        (Some(k), false) => {
            out.array(2 * n + 1);
            out.bulk(k);
        }
        (Some(k), true) => {
            out.array(2);
            out.bulk(k);
            out.array(n);
        }
    }
    for (m, s) in popped {
        if nested {
            out.array(2);
        }
        out.bulk(m);
        out.double(*s);
    }
}

/// Owned (member, score) pairs.
type Pairs = Vec<(Vec<u8>, f64)>;

/// Pop up to `count` members from the first non-empty sorted set among `keys` (Redis checks the type of
/// each key up to the first existing one). Returns the key and what was popped, or None if all are missing.
/// A blocked client run again after a write skips keys of another type instead (Redis serves a blocked
/// client only from a key that now holds a sorted set).
fn pop_first_of<'k>(
    cx: &mut Ctx<'_>,
    keys: &[&'k [u8]],
    max: bool,
    count: usize,
) -> Result<Option<(&'k [u8], Pairs)>, CmdError> {
    let woken = cx.s.clients.get(cx.me).is_some_and(|c| c.blocked.is_some());
    for &key in keys {
        let db = cx.db();
        let z = match db.write::<ZSet>(key) {
            Ok(Some(z)) => z,
            Ok(None) => continue,
            Err(_) if woken => continue,
            Err(e) => return Err(e),
        };
        if z.is_empty() {
            continue;
        }
        let popped = z.pop_n(max, count);
        let empty = z.is_empty();
        if empty {
            db.remove(key);
        }
        if !popped.is_empty() {
            cx.modified(key);
            cx.notify(NOTIFY_ZSET, if max { "zpopmax" } else { "zpopmin" }, key);
            if empty {
                cx.notify(NOTIFY_GENERIC, "del", key);
            }
        }
        return Ok(Some((key, popped)));
    }
    Ok(None)
}

/// ZPOPMIN key [count]
fn zpopmin(cx: &mut Ctx<'_>) -> CmdResult {
    zpop_generic(cx, false)
}

/// ZPOPMAX key [count]
fn zpopmax(cx: &mut Ctx<'_>) -> CmdResult {
    zpop_generic(cx, true)
}

fn zpop_generic(cx: &mut Ctx<'_>, max: bool) -> CmdResult {
    if cx.argc() > 3 {
        return Err(CmdError::SYNTAX);
    }
    let count =
        if cx.argc() == 3 { Some(range_long(cx.arg(2), 0, i64::MAX, None).map_err(|_| ERR_POSITIVE)?) } else { None };
    let key = cx.arg(1);
    if count == Some(0) {
        // Type-checked, then an empty array.
        cx.db().write::<ZSet>(key)?;
        cx.out.array(0);
        return Ok(());
    }
    let nested = cx.out.resp > 2 && count.is_some();
    match pop_first_of(cx, &[key], max, count.unwrap_or(1) as usize)? {
        Some((_, popped)) => reply_pop(cx.out, None, &popped, nested),
        None => cx.out.array(0),
    }
    Ok(())
}

/// BZPOPMIN key [key ...] timeout
fn bzpopmin(cx: &mut Ctx<'_>) -> CmdResult {
    bzpop_generic(cx, false)
}

/// BZPOPMAX key [key ...] timeout
fn bzpopmax(cx: &mut Ctx<'_>) -> CmdResult {
    bzpop_generic(cx, true)
}

fn bzpop_generic(cx: &mut Ctx<'_>, max: bool) -> CmdResult {
    let argc = cx.argc();
    let deadline = block_deadline(cx.arg(argc - 1))?;
    let keys: Vec<&[u8]> = (1..argc - 1).map(|i| cx.arg(i)).collect();
    match pop_first_of(cx, &keys, max, 1)? {
        Some((key, popped)) => {
            reply_pop(cx.out, Some(key), &popped, false);
            // Replicated as the plain pop it amounted to.
            cx.propagate_as(&[pop_name(max), key]);
        }
        None => block_or_timeout(cx, &keys, deadline),
    }
    Ok(())
}

fn pop_name(max: bool) -> &'static [u8] {
    if max {
        b"ZPOPMAX"
    } else {
        b"ZPOPMIN"
    }
}

/// Nothing to pop: block on `keys`, or (inside MULTI/EXEC) answer as a timeout.
fn block_or_timeout(cx: &mut Ctx<'_>, keys: &[&[u8]], deadline: i64) {
    if !cx.can_block() {
        cx.out.nil_array();
        return;
    }
    let mut seen = HashSet::new();
    let unique: Vec<&[u8]> = keys.iter().copied().filter(|k| seen.insert(*k)).collect();
    cx.block(&unique, deadline);
}

/// ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]
fn zmpop(cx: &mut Ctx<'_>) -> CmdResult {
    zmpop_generic(cx, 1, false)
}

/// BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count]
fn bzmpop(cx: &mut Ctx<'_>) -> CmdResult {
    zmpop_generic(cx, 2, true)
}

fn zmpop_generic(cx: &mut Ctx<'_>, numkeys_idx: usize, blocking: bool) -> CmdResult {
    let argc = cx.argc();
    let numkeys = range_long(cx.arg(numkeys_idx), 1, i64::MAX, Some("ERR numkeys should be greater than 0"))?;
    if numkeys as u64 >= argc as u64 {
        return Err(CmdError::SYNTAX);
    }
    let where_idx = numkeys_idx + numkeys as usize + 1;
    if where_idx >= argc {
        return Err(CmdError::SYNTAX);
    }
    let max = if cx.argv.is(where_idx, "min") {
        false
    } else if cx.argv.is(where_idx, "max") {
        true
    } else {
        return Err(CmdError::SYNTAX);
    };
    let mut count: i64 = -1;
    let mut j = where_idx + 1;
    while j < argc {
        if count == -1 && cx.argv.is(j, "count") && j + 1 < argc {
            j += 1;
            count = range_long(cx.arg(j), 1, i64::MAX, Some("ERR count should be greater than 0"))?;
        } else {
            return Err(CmdError::SYNTAX);
        }
        j += 1;
    }
    let count = if count == -1 { 1 } else { count as usize };
    let deadline = if blocking { Some(block_deadline(cx.arg(1))?) } else { None };
    let keys: Vec<&[u8]> = (numkeys_idx + 1..where_idx).map(|i| cx.arg(i)).collect();
    match pop_first_of(cx, &keys, max, count)? {
        Some((key, popped)) => {
            reply_pop(cx.out, Some(key), &popped, true);
            // Replicated as ZPOPMIN/ZPOPMAX with the count actually popped.
            cx.propagate_as(&[pop_name(max), key, popped.len().to_string().as_bytes()]);
        }
        None => match deadline {
            Some(d) => block_or_timeout(cx, &keys, d),
            None => cx.out.nil_array(),
        },
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// ZRANDMEMBER

/// ZRANDMEMBER key [count [WITHSCORES]]
fn zrandmember(cx: &mut Ctx<'_>) -> CmdResult {
    let argc = cx.argc();
    let key = cx.arg(1);
    if argc >= 3 {
        let l = range_long(cx.arg(2), -i64::MAX, i64::MAX, None)?;
        let withscores = if argc > 4 || (argc == 4 && !cx.argv.is(3, "withscores")) {
            return Err(CmdError::SYNTAX);
        } else {
            argc == 4
        };
        if withscores && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&l) {
            return Err(CmdError::new("ERR value is out of range"));
        }
        return zrandmember_count(cx, key, l, withscores);
    }
    let (db, out) = cx.db_out();
    match db.read::<ZSet>(key)?.and_then(|z| z.random()) {
        Some((m, _)) => out.bulk(m),
        None => out.nil(),
    }
    Ok(())
}

fn zrandmember_count(cx: &mut Ctx<'_>, key: &[u8], l: i64, withscores: bool) -> CmdResult {
    let (db, out) = cx.db_out();
    let Some(z) = db.read::<ZSet>(key)? else {
        out.array(0);
        return Ok(());
    };
    let size = z.len();
    let count = l.unsigned_abs();
    if count == 0 || size == 0 {
        out.array(0);
        return Ok(());
    }
    // The listpack has no random access: index it once (it is small) instead of scanning per pick.
    let flat: Vec<(&[u8], f64)> = if z.is_compact() { z.iter().collect() } else { Vec::new() };
    let at = |r: usize| if z.is_compact() { flat.get(r).copied() } else { z.get(r) };
    let pair_header = |out: &mut Out| {
        if withscores && out.resp > 2 {
            out.array(2);
        }
    };
    // Negative count (or 1): independent picks, repeats allowed, in random order.
    if l < 0 || count == 1 {
        out.array(if withscores && out.resp == 2 { count.saturating_mul(2) as usize } else { count as usize });
        for _ in 0..count {
            if let Some((m, s)) = at(rng::below(size)) {
                pair_header(out);
                out.bulk(m);
                if withscores {
                    out.double(s);
                }
            }
        }
        return Ok(());
    }
    // At least the whole set: all of it.
    if count >= size as u64 {
        reply_members(out, z.iter(), withscores);
        return Ok(());
    }
    let count = count as usize;
    let ranks: Vec<usize> = if count * 3 > size {
        // Close to the whole set: shuffle the first `count` positions of all ranks.
        let mut all: Vec<usize> = (0..size).collect();
        for i in 0..count {
            let j = i + rng::below(size - i);
            all.swap(i, j);
        }
        all.truncate(count);
        all
    } else {
        let mut seen = HashSet::with_capacity(count);
        let mut v = Vec::with_capacity(count);
        while v.len() < count {
            let r = rng::below(size);
            if seen.insert(r) {
                v.push(r);
            }
        }
        v
    };
    out.array(if withscores && out.resp == 2 { 2 * count } else { count });
    for r in ranks {
        if let Some((m, s)) = at(r) {
            pair_header(out);
            out.bulk(m);
            if withscores {
                out.double(s);
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// ZSCAN

/// ZSCAN key cursor [MATCH pattern] [COUNT count]
fn zscan(cx: &mut Ctx<'_>) -> CmdResult {
    let key = cx.arg(1);
    let cursor = crate::commands::keys::parse_cursor(cx.arg(2)).ok_or(CmdError::INVALID_CURSOR)?;
    let argc = cx.argc();
    let argv = cx.argv;
    let (db, out) = cx.db_out();
    let Some(z) = db.read::<ZSet>(key)? else {
        out.array(2);
        out.bulk(b"0");
        out.array(0);
        return Ok(());
    };
    let mut count: i64 = 10;
    let mut pattern: Option<&[u8]> = None;
    let mut i = 3;
    while i < argc {
        let more = argc - i >= 2;
        if argv.is(i, "count") && more {
            count = parse_i64(argv.get(i + 1)).ok_or(CmdError::NOT_INT)?;
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
    let mut found: Vec<(&[u8], f64)> = Vec::new();
    let next = z.scan(cursor, count as usize, |m, s| {
        if pattern.is_none_or(|p| glob_match(p, m, false)) {
            found.push((m, s));
        }
    });
    out.array(2);
    out.bulk(next.to_string().as_bytes());
    out.array(2 * found.len());
    for (m, s) in found {
        out.bulk(m);
        out.bulk(format_double(s).as_bytes());
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// ZUNION / ZINTER / ZDIFF / ZINTERCARD and their *STORE forms

#[derive(Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

#[inline]
fn aggregate(target: &mut f64, v: f64, agg: Aggregate) {
    match agg {
        Aggregate::Sum => {
            *target += v;
            // +inf + -inf: Redis keeps 0.
            if target.is_nan() {
                *target = 0.0;
            }
        }
        Aggregate::Min => {
            if v < *target {
                *target = v
            }
        }
        Aggregate::Max => {
            if v > *target {
                *target = v
            }
        }
    }
}

/// A score lookup in a set-algebra source (a plain set's members score 1).
fn source_score(v: &Value, m: &[u8]) -> Option<f64> {
    match v {
        Value::ZSet(z) => z.score(m),
        Value::Set(s) => s.contains(m).then_some(1.0),
        _ => None,
    }
}

/// Visit the members of a set-algebra source.
fn source_for_each(v: &Value, mut f: impl FnMut(&[u8], f64)) {
    match v {
        Value::ZSet(z) => z.iter().for_each(|(m, s)| f(m, s)),
        Value::Set(s) => s.members().for_each(|m| m.with_bytes(|m| f(m, 1.0))),
        _ => {}
    }
}

/// The value of a source key (already type-checked; `None` when missing).
fn peek_source<'d>(db: &'d mut Db, key: &[u8]) -> Option<&'d Value> {
    db.peek(key).map(|e| &e.value)
}

/// ZUNION numkeys key [key ...] [WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]
fn zunion(cx: &mut Ctx<'_>) -> CmdResult {
    setop_generic(cx, None, 1, SetOp::Union, false)
}

/// ZINTER numkeys key [key ...] [WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]
fn zinter(cx: &mut Ctx<'_>) -> CmdResult {
    setop_generic(cx, None, 1, SetOp::Inter, false)
}

/// ZINTERCARD numkeys key [key ...] [LIMIT limit]
fn zintercard(cx: &mut Ctx<'_>) -> CmdResult {
    setop_generic(cx, None, 1, SetOp::Inter, true)
}

/// ZDIFF numkeys key [key ...] [WITHSCORES]
fn zdiff(cx: &mut Ctx<'_>) -> CmdResult {
    setop_generic(cx, None, 1, SetOp::Diff, false)
}

/// ZUNIONSTORE destination numkeys key [key ...] [WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX]
fn zunionstore(cx: &mut Ctx<'_>) -> CmdResult {
    let dst = cx.arg(1);
    setop_generic(cx, Some(dst), 2, SetOp::Union, false)
}

/// ZINTERSTORE destination numkeys key [key ...] [WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX]
fn zinterstore(cx: &mut Ctx<'_>) -> CmdResult {
    let dst = cx.arg(1);
    setop_generic(cx, Some(dst), 2, SetOp::Inter, false)
}

/// ZDIFFSTORE destination numkeys key [key ...]
fn zdiffstore(cx: &mut Ctx<'_>) -> CmdResult {
    let dst = cx.arg(1);
    setop_generic(cx, Some(dst), 2, SetOp::Diff, false)
}

/// zunionInterDiffGenericCommand. Sources are read one at a time (the keyspace lends one value at once):
/// lengths and types first, then the smallest (or, for DIFF, the first) is copied out as candidates and the
/// others are probed, so an intersection costs O(N*K) like Redis's, not the size of the big inputs.
fn setop_generic(cx: &mut Ctx<'_>, dst: Option<&[u8]>, numkeys_idx: usize, op: SetOp, card_only: bool) -> CmdResult {
    let argc = cx.argc();
    let setnum = cx.int_arg(numkeys_idx)?;
    if setnum < 1 {
        return Err(CmdError::msg(format!("ERR at least 1 input key is needed for '{}' command", cx.spec.name)));
    }
    if setnum as u64 > (argc - (numkeys_idx + 1)) as u64 {
        return Err(CmdError::SYNTAX);
    }
    let setnum = setnum as usize;
    let keys: Vec<&[u8]> = (0..setnum).map(|i| cx.arg(numkeys_idx + 1 + i)).collect();
    // Look every key up (in order: the first wrong type is the error), remembering sizes.
    let mut lens = Vec::with_capacity(setnum);
    {
        let db = cx.db();
        for k in &keys {
            let n = match db.get(k) {
                None => 0,
                Some(e) => match &e.value {
                    Value::ZSet(z) => z.len(),
                    Value::Set(s) => s.len(),
                    _ => return Err(CmdError::WRONGTYPE),
                },
            };
            lens.push(n);
        }
    }
    let mut weights = vec![1.0f64; setnum];
    let mut agg = Aggregate::Sum;
    let mut withscores = false;
    let mut limit: i64 = 0;
    let mut j = numkeys_idx + 1 + setnum;
    while j < argc {
        let remaining = argc - j;
        if op != SetOp::Diff && !card_only && remaining > setnum && cx.argv.is(j, "weights") {
            j += 1;
            for w in weights.iter_mut() {
                *w = num::string2d(cx.arg(j)).ok_or(CmdError::new("ERR weight value is not a float"))?;
                j += 1;
            }
        } else if op != SetOp::Diff && !card_only && remaining >= 2 && cx.argv.is(j, "aggregate") {
            agg = if cx.argv.is(j + 1, "sum") {
                Aggregate::Sum
            } else if cx.argv.is(j + 1, "min") {
                Aggregate::Min
            } else if cx.argv.is(j + 1, "max") {
                Aggregate::Max
            } else {
                return Err(CmdError::SYNTAX);
            };
            j += 2;
        } else if dst.is_none() && !card_only && cx.argv.is(j, "withscores") {
            withscores = true;
            j += 1;
        } else if card_only && remaining >= 2 && cx.argv.is(j, "limit") {
            limit = range_long(cx.arg(j + 1), 0, i64::MAX, Some("ERR LIMIT can't be negative"))?;
            j += 2;
        } else {
            return Err(CmdError::SYNTAX);
        }
    }

    // Sources in processing order: by size for union and intersection, as given for difference.
    let mut order: Vec<usize> = (0..setnum).collect();
    if op != SetOp::Diff {
        order.sort_by_key(|&i| lens[i]);
    }
    let db = cx.db();
    let mut result: Vec<(Vec<u8>, f64)> = match op {
        SetOp::Inter => {
            let first = order[0];
            if lens[first] == 0 {
                Vec::new()
            } else {
                let mut cand: Vec<(Vec<u8>, f64)> = Vec::with_capacity(lens[first]);
                if let Some(v) = peek_source(db, keys[first]) {
                    let w = weights[first];
                    source_for_each(v, |m, s| {
                        let sc = w * s;
                        cand.push((m.to_vec(), if sc.is_nan() { 0.0 } else { sc }));
                    });
                }
                for &i in &order[1..] {
                    if cand.is_empty() {
                        break;
                    }
                    let w = weights[i];
                    match peek_source(db, keys[i]) {
                        Some(v) => cand.retain_mut(|(m, score)| match source_score(v, m) {
                            Some(s) => {
                                aggregate(score, s * w, agg);
                                true
                            }
                            None => false,
                        }),
                        None => cand.clear(),
                    }
                }
                cand
            }
        }
        SetOp::Union => {
            let mut acc: HashMap<Vec<u8>, f64> = HashMap::with_capacity(lens[order[setnum - 1]]);
            for &i in &order {
                if lens[i] == 0 {
                    continue;
                }
                let w = weights[i];
                if let Some(v) = peek_source(db, keys[i]) {
                    source_for_each(v, |m, s| {
                        let mut sc = w * s;
                        if sc.is_nan() {
                            sc = 0.0;
                        }
                        match acc.get_mut(m) {
                            Some(t) => aggregate(t, sc, agg),
                            None => {
                                acc.insert(m.to_vec(), sc);
                            }
                        }
                    });
                }
            }
            acc.into_iter().collect()
        }
        SetOp::Diff => {
            if lens[0] == 0 || keys[1..].contains(&keys[0]) {
                Vec::new()
            } else {
                let mut cand: HashMap<Vec<u8>, f64> = HashMap::with_capacity(lens[0]);
                if let Some(v) = peek_source(db, keys[0]) {
                    source_for_each(v, |m, s| {
                        cand.insert(m.to_vec(), s);
                    });
                }
                for i in 1..setnum {
                    if cand.is_empty() {
                        break;
                    }
                    if lens[i] == 0 {
                        continue;
                    }
                    let Some(v) = peek_source(db, keys[i]) else { continue };
                    if cand.len() <= lens[i] {
                        cand.retain(|m, _| source_score(v, m).is_none());
                    } else {
                        source_for_each(v, |m, _| {
                            cand.remove(m);
                        });
                    }
                }
                cand.into_iter().collect()
            }
        }
    };

    if card_only {
        let n = result.len() as i64;
        cx.out.int(if limit > 0 { n.min(limit) } else { n });
        return Ok(());
    }
    result.sort_by(|a, b| match a.1.partial_cmp(&b.1) {
        Some(std::cmp::Ordering::Equal) | None => a.0.cmp(&b.0),
        Some(o) => o,
    });
    match dst {
        Some(d) => store_result(cx, d, result),
        None => reply_members(cx.out, result.iter().map(|(m, s)| (m.as_slice(), *s)), withscores),
    }
    Ok(())
}

#[cfg(test)]
#[path = "zset_tests.rs"]
mod tests;
