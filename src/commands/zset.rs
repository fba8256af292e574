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
use crate::error::CmdError;
use crate::resp::encode::Out;
use crate::spec;
use crate::types::db::Db;
use crate::types::glob::glob_match;
use crate::types::num::{format_double, parse_i64};
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
pub const SPECS: &[CommandSpec] = &[
    spec!(
        "zadd",
        -4,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        SORTEDSET,
        "sorted_set",
        "1.2.0",
        "Add one or more members to a sorted set, or update its score if it already exists",
        "O(log(N)) for each item added, where N is the number of elements in the sorted set.",
        zadd
    ),
    spec!(
        "zincrby",
        4,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        SORTEDSET,
        "sorted_set",
        "1.2.0",
        "Increment the score of a member in a sorted set",
        "O(log(N)) where N is the number of elements in the sorted set.",
        zincrby
    ),
    spec!(
        "zcard",
        2,
        READONLY | FAST,
        (1, 1, 1),
        SORTEDSET,
        "sorted_set",
        "1.2.0",
        "Get the number of members in a sorted set",
        "O(1)",
        zcard
    ),
    spec!(
        "zcount",
        4,
        READONLY | FAST,
        (1, 1, 1),
        SORTEDSET,
        "sorted_set",
        "2.0.0",
        "Count the members in a sorted set with scores within the given values",
        "O(log(N)) with N being the number of elements in the sorted set.",
        zcount
    ),
    spec!(
        "zlexcount",
        4,
        READONLY | FAST,
        (1, 1, 1),
        SORTEDSET,
        "sorted_set",
        "2.8.9",
        "Count the number of members in a sorted set between a given lexicographical range",
        "O(log(N)) with N being the number of elements in the sorted set.",
        zlexcount
    ),
    spec!(
        "zscore",
        3,
        READONLY | FAST,
        (1, 1, 1),
        SORTEDSET,
        "sorted_set",
        "1.2.0",
        "Get the score associated with the given member in a sorted set",
        "O(1)",
        zscore
    ),
    spec!(
        "zmscore",
        -3,
        READONLY | FAST,
        (1, 1, 1),
        SORTEDSET,
        "sorted_set",
        "6.2.0",
        "Get the score associated with the given members in a sorted set",
        "O(N) where N is the number of members being requested.",
        zmscore
    ),
    spec!(
        "zrank",
        3,
        READONLY | FAST,
        (1, 1, 1),
        SORTEDSET,
        "sorted_set",
        "2.0.0",
        "Determine the index of a member in a sorted set",
        "O(log(N))",
        zrank
    ),
    spec!(
        "zrevrank",
        3,
        READONLY | FAST,
        (1, 1, 1),
        SORTEDSET,
        "sorted_set",
        "2.0.0",
        "Determine the index of a member in a sorted set, with scores ordered from high to low",
        "O(log(N))",
        zrevrank
    ),
    spec!(
        "zrange",
        -4,
        READONLY,
        (1, 1, 1),
        SORTEDSET,
        "sorted_set",
        "1.2.0",
        "Return a range of members in a sorted set",
        RANGE_CX,
        zrange
    ),
    spec!(
        "zrangestore",
        -5,
        WRITE | DENYOOM,
        (1, 2, 1),
        SORTEDSET,
        "sorted_set",
        "6.2.0",
        "Store a range of members from sorted set into another key",
        "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements stored \
into the destination key.",
        zrangestore
    ),
    spec!(
        "zrevrange",
        -4,
        READONLY,
        (1, 1, 1),
        SORTEDSET,
        "sorted_set",
        "1.2.0",
        "Return a range of members in a sorted set, by index, with scores ordered from high to low",
        RANGE_CX,
        zrevrange
    ),
    spec!(
        "zrangebyscore",
        -4,
        READONLY,
        (1, 1, 1),
        SORTEDSET,
        "sorted_set",
        "1.0.5",
        "Return a range of members in a sorted set, by score",
        RANGEBY_CX,
        zrangebyscore
    ),
    spec!(
        "zrevrangebyscore",
        -4,
        READONLY,
        (1, 1, 1),
        SORTEDSET,
        "sorted_set",
        "2.2.0",
        "Return a range of members in a sorted set, by score, with scores ordered from high to low",
        RANGEBY_CX,
        zrevrangebyscore
    ),
    spec!(
        "zrangebylex",
        -4,
        READONLY,
        (1, 1, 1),
        SORTEDSET,
        "sorted_set",
        "2.8.9",
        "Return a range of members in a sorted set, by lexicographical range",
        RANGEBY_CX,
        zrangebylex
    ),
    spec!(
        "zrevrangebylex",
        -4,
        READONLY,
        (1, 1, 1),
        SORTEDSET,
        "sorted_set",
        "2.8.9",
        "Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings.",
        RANGEBY_CX,
        zrevrangebylex
    ),
    spec!(
        "zrem",
        -3,
        WRITE | FAST,
        (1, 1, 1),
        SORTEDSET,
        "sorted_set",
        "1.2.0",
        "Remove one or more members from a sorted set",
        "O(M*log(N)) with N being the number of elements in the sorted set and M the number of elements to be \
removed.",
        zrem
    ),
    spec!(
        "zremrangebyrank",
        4,
        WRITE,
        (1, 1, 1),
        SORTEDSET,
        "sorted_set",
        "2.0.0",
        "Remove all members in a sorted set within the given indexes",
        REMRANGE_CX,
        zremrangebyrank
    ),
    spec!(
        "zremrangebyscore",
        4,
        WRITE,
        (1, 1, 1),
        SORTEDSET,
        "sorted_set",
        "1.2.0",
        "Remove all members in a sorted set within the given scores",
        REMRANGE_CX,
        zremrangebyscore
    ),
    spec!(
        "zremrangebylex",
        4,
        WRITE,
        (1, 1, 1),
        SORTEDSET,
        "sorted_set",
        "2.8.9",
        "Remove all members in a sorted set between the given lexicographical range",
        REMRANGE_CX,
        zremrangebylex
    ),
    spec!(
        "zpopmin",
        -2,
        WRITE | FAST,
        (1, 1, 1),
        SORTEDSET,
        "sorted_set",
        "5.0.0",
        "Remove and return members with the lowest scores in a sorted set",
        POP_CX,
        zpopmin
    ),
    spec!(
        "zpopmax",
        -2,
        WRITE | FAST,
        (1, 1, 1),
        SORTEDSET,
        "sorted_set",
        "5.0.0",
        "Remove and return members with the highest scores in a sorted set",
        POP_CX,
        zpopmax
    ),
    spec!(
        "bzpopmin",
        -3,
        WRITE | NOSCRIPT | FAST | BLOCKING,
        (1, -2, 1),
        SORTEDSET,
        "sorted_set",
        "5.0.0",
        "Remove and return the member with the lowest score from one or more sorted sets, or block until one is \
available",
        "O(log(N)) with N being the number of elements in the sorted set.",
        bzpopmin
    ),
    spec!(
        "bzpopmax",
        -3,
        WRITE | NOSCRIPT | FAST | BLOCKING,
        (1, -2, 1),
        SORTEDSET,
        "sorted_set",
        "5.0.0",
        "Remove and return the member with the highest score from one or more sorted sets, or block until one is \
available",
        "O(log(N)) with N being the number of elements in the sorted set.",
        bzpopmax
    ),
    CommandSpec {
        getkeys: Some(keys_numkeys_at_1),
        ..spec!(
            "zmpop",
            -4,
            WRITE | MOVABLE_KEYS,
            (0, 0, 0),
            SORTEDSET,
            "sorted_set",
            "7.0.0",
            "Remove and return members with scores in a sorted set",
            MPOP_CX,
            zmpop
        )
    },
    CommandSpec {
        getkeys: Some(keys_numkeys_at_2),
        ..spec!(
            "bzmpop",
            -5,
            WRITE | BLOCKING | MOVABLE_KEYS,
            (0, 0, 0),
            SORTEDSET,
            "sorted_set",
            "7.0.0",
            "Remove and return members with scores in a sorted set or block until one is available",
            MPOP_CX,
            bzmpop
        )
    },
    spec!(
        "zrandmember",
        -2,
        READONLY,
        (1, 1, 1),
        SORTEDSET,
        "sorted_set",
        "6.2.0",
        "Get one or multiple random elements from a sorted set",
        "O(N) where N is the number of elements returned",
        zrandmember
    ),
    spec!(
        "zscan",
        -3,
        READONLY,
        (1, 1, 1),
        SORTEDSET,
        "sorted_set",
        "2.8.0",
        "Incrementally iterate sorted sets elements and associated scores",
        "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to \
return back to 0. N is the number of elements inside the collection..",
        zscan
    ),
    CommandSpec {
        getkeys: Some(keys_numkeys_at_1),
        ..spec!(
            "zunion",
            -3,
            READONLY | MOVABLE_KEYS,
            (0, 0, 0),
            SORTEDSET,
            "sorted_set",
            "6.2.0",
            "Add multiple sorted sets",
            UNION_CX,
            zunion
        )
    },
    CommandSpec {
        getkeys: Some(keys_numkeys_at_1),
        ..spec!(
            "zinter",
            -3,
            READONLY | MOVABLE_KEYS,
            (0, 0, 0),
            SORTEDSET,
            "sorted_set",
            "6.2.0",
            "Intersect multiple sorted sets",
            INTER_CX,
            zinter
        )
    },
    CommandSpec {
        getkeys: Some(keys_numkeys_at_1),
        ..spec!(
            "zintercard",
            -3,
            READONLY | MOVABLE_KEYS,
            (0, 0, 0),
            SORTEDSET,
            "sorted_set",
            "7.0.0",
            "Intersect multiple sorted sets and return the cardinality of the result",
            "O(N*K) worst case with N being the smallest input sorted set, K being the number of input sorted sets.",
            zintercard
        )
    },
    CommandSpec {
        getkeys: Some(keys_numkeys_at_1),
        ..spec!(
            "zdiff",
            -3,
            READONLY | MOVABLE_KEYS,
            (0, 0, 0),
            SORTEDSET,
            "sorted_set",
            "6.2.0",
            "Subtract multiple sorted sets",
            DIFF_CX,
            zdiff
        )
    },
    CommandSpec {
        getkeys: Some(keys_store_numkeys),
        ..spec!(
            "zunionstore",
            -4,
            WRITE | DENYOOM | MOVABLE_KEYS,
            (1, 1, 1),
            SORTEDSET,
            "sorted_set",
            "2.0.0",
            "Add multiple sorted sets and store the resulting sorted set in a new key",
            UNION_CX,
            zunionstore
        )
    },
    CommandSpec {
        getkeys: Some(keys_store_numkeys),
        ..spec!(
            "zinterstore",
            -4,
            WRITE | DENYOOM | MOVABLE_KEYS,
            (1, 1, 1),
            SORTEDSET,
            "sorted_set",
            "2.0.0",
            "Intersect multiple sorted sets and store the resulting sorted set in a new key",
            INTER_CX,
            zinterstore
        )
    },
    CommandSpec {
        getkeys: Some(keys_store_numkeys),
        ..spec!(
            "zdiffstore",
            -4,
            WRITE | DENYOOM | MOVABLE_KEYS,
            (1, 1, 1),
            SORTEDSET,
            "sorted_set",
            "6.2.0",
            "Subtract multiple sorted sets and store the resulting sorted set in a new key",
            DIFF_CX,
            zdiffstore
        )
    },
];

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

/// A score as getDoubleFromObject reads it: the whole argument, no leading space, no overflow, not NaN.
fn parse_score(arg: &[u8]) -> Option<f64> {
    if arg.is_empty() || matches!(arg[0], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        return None;
    }
    let (v, used, erange) = crate::types::num::strtod(arg);
    if used != arg.len() || v.is_nan() || (erange && (v.is_infinite() || v == 0.0)) {
        return None;
    }
    Some(v)
}

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

/// The sorted set at `key` for reading (counts a hit or miss, as lookupKeyRead does).
fn read_zset<'d>(db: &'d mut Db, key: &[u8]) -> Result<Option<&'d ZSet>, CmdError> {
    match db.get(key) {
        None => Ok(None),
        Some(e) => match &e.value {
            Value::ZSet(z) => Ok(Some(z)),
            _ => Err(CmdError::WRONGTYPE),
        },
    }
}

/// The sorted set at `key` for writing (lookupKeyWrite).
fn write_zset<'d>(db: &'d mut Db, key: &[u8]) -> Result<Option<&'d mut ZSet>, CmdError> {
    match db.get_mut(key) {
        None => Ok(None),
        Some(e) => match &mut e.value {
            Value::ZSet(z) => Ok(Some(z)),
            _ => Err(CmdError::WRONGTYPE),
        },
    }
}

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
    } else {
        cx.out.int(0);
        if cx.db().remove(dst).is_some() {
            cx.modified(dst);
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
        scores.push(parse_score(cx.arg(idx + 2 * j)).ok_or(CmdError::NOT_FLOAT)?);
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
    match write_zset(db, key)? {
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
    let n = read_zset(db, key)?.map_or(0, |z| z.len());
    out.int(n as i64);
    Ok(())
}

/// ZSCORE key member
fn zscore(cx: &mut Ctx<'_>) -> CmdResult {
    let (key, m) = (cx.arg(1), cx.arg(2));
    let (db, out) = cx.db_out();
    match read_zset(db, key)?.and_then(|z| z.score(m)) {
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
    let z = read_zset(db, key)?;
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
    let Some(z) = read_zset(db, key)? else {
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
    let n = read_zset(db, key)?.map_or(0, |z| {
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
    let n = read_zset(db, key)?.map_or(0, |z| {
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
    let Some(z) = read_zset(db, key)? else {
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
    let Some(z) = write_zset(db, key)? else {
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
    let Some(z) = write_zset(db, key)? else {
        cx.out.int(0);
        return Ok(());
    };
    let (lo, hi) = select_ranks(z, &range, false, 0, -1);
    let removed = z.remove_range(lo, hi);
    if z.is_empty() {
        db.remove(key);
    }
    cx.out.int(removed as i64);
    if removed > 0 {
        cx.modified(key);
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
        let z = match write_zset(db, key) {
            Ok(Some(z)) => z,
            Ok(None) => continue,
            Err(_) if woken => continue,
            Err(e) => return Err(e),
        };
        if z.is_empty() {
            continue;
        }
        let popped = z.pop_n(max, count);
        if z.is_empty() {
            db.remove(key);
        }
        if !popped.is_empty() {
            cx.modified(key);
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
        write_zset(cx.db(), key)?;
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
    match read_zset(db, key)?.and_then(|z| z.random()) {
        Some((m, _)) => out.bulk(m),
        None => out.nil(),
    }
    Ok(())
}

fn zrandmember_count(cx: &mut Ctx<'_>, key: &[u8], l: i64, withscores: bool) -> CmdResult {
    let (db, out) = cx.db_out();
    let Some(z) = read_zset(db, key)? else {
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
    let Some(z) = read_zset(db, key)? else {
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
                *w = parse_score(cx.arg(j)).ok_or(CmdError::new("ERR weight value is not a float"))?;
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
mod tests {
    use crate::commands::testutil::{new, run, T};

    fn r(t: &mut T, args: &[&str]) -> String {
        run(t, args)
    }

    fn enc(t: &mut T) -> String {
        r(t, &["object", "encoding", "z"])
    }

    fn set_max(t: &mut T, entries: &str, value: &str) {
        assert_eq!(r(t, &["config", "set", "zset-max-listpack-entries", entries]), "+OK\r\n");
        assert_eq!(r(t, &["config", "set", "zset-max-listpack-value", value]), "+OK\r\n");
    }

    fn both(f: impl Fn(&mut T)) {
        let mut t = new();
        f(&mut t);
        let mut t = new();
        set_max(&mut t, "0", "0");
        f(&mut t);
    }

    #[test]
    fn zadd_basics_and_options() {
        both(|t| {
            assert_eq!(r(t, &["zadd", "z", "10", "x", "20", "y", "30", "z"]), ":3\r\n");
            assert_eq!(r(t, &["zadd", "z", "1", "y"]), ":0\r\n");
            assert_eq!(r(t, &["zrange", "z", "0", "-1"]), "*3\r\n$1\r\ny\r\n$1\r\nx\r\n$1\r\nz\r\n");
            assert_eq!(r(t, &["zadd", "z", "xx", "5", "foo", "11", "x"]), ":0\r\n");
            assert_eq!(r(t, &["zscore", "z", "x"]), "$2\r\n11\r\n");
            assert_eq!(r(t, &["zadd", "z", "nx", "100", "x", "5", "a"]), ":1\r\n");
            assert_eq!(r(t, &["zscore", "z", "x"]), "$2\r\n11\r\n");
            assert_eq!(r(t, &["zadd", "z", "gt", "ch", "5", "x", "12", "x"]), ":1\r\n");
            assert_eq!(r(t, &["zadd", "z", "lt", "ch", "50", "x", "2", "a"]), ":1\r\n");
            assert_eq!(r(t, &["zadd", "z", "ch", "2", "a", "3", "y", "7", "q"]), ":2\r\n");
            assert_eq!(r(t, &["zadd", "nokey", "xx", "1", "a"]), ":0\r\n");
            assert_eq!(r(t, &["exists", "nokey"]), ":0\r\n");
        });
    }

    #[test]
    fn zadd_errors() {
        let mut t = new();
        let t = &mut t;
        assert_eq!(
            r(t, &["zadd", "z", "xx", "nx", "1", "a"]),
            "-ERR XX and NX options at the same time are not compatible\r\n"
        );
        for o in [["gt", "nx"], ["lt", "nx"], ["lt", "gt"]] {
            assert_eq!(
                r(t, &["zadd", "z", o[0], o[1], "1", "a"]),
                "-ERR GT, LT, and/or NX options at the same time are not compatible\r\n"
            );
        }
        assert_eq!(
            r(t, &["zadd", "z", "incr", "1", "a", "2", "b"]),
            "-ERR INCR option supports a single increment-element pair\r\n"
        );
        assert_eq!(r(t, &["zadd", "z", "xx", "10", "x", "20"]), "-ERR syntax error\r\n");
        assert_eq!(r(t, &["zadd", "z", "1", "a", "nan", "b"]), "-ERR value is not a valid float\r\n");
        assert_eq!(r(t, &["zadd", "z", "", "a"]), "-ERR value is not a valid float\r\n");
        assert_eq!(r(t, &["zadd", "z", " 1", "a"]), "-ERR value is not a valid float\r\n");
        assert_eq!(r(t, &["zadd", "z", "1e400", "a"]), "-ERR value is not a valid float\r\n");
        assert_eq!(r(t, &["zadd", "z", "30.badscore", "a"]), "-ERR value is not a valid float\r\n");
        assert_eq!(r(t, &["exists", "z"]), ":0\r\n");
        assert_eq!(r(t, &["zincrby", "z", "1", "a", "b"]), "-ERR wrong number of arguments for 'zincrby' command\r\n");
        r(t, &["set", "s", "x"]);
        assert_eq!(
            r(t, &["zadd", "s", "1", "a"]),
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
        );
        assert_eq!(r(t, &["zadd", "z", "0x10", "hex"]), ":1\r\n");
        assert_eq!(r(t, &["zscore", "z", "hex"]), "$2\r\n16\r\n");
    }

    #[test]
    fn zadd_incr_and_zincrby() {
        both(|t| {
            assert_eq!(r(t, &["zincrby", "z", "1", "foo"]), "$1\r\n1\r\n");
            assert_eq!(r(t, &["zadd", "z", "incr", "2.5", "foo"]), "$3\r\n3.5\r\n");
            assert_eq!(r(t, &["zadd", "z", "lt", "incr", "1", "foo"]), "$-1\r\n");
            assert_eq!(r(t, &["zadd", "z", "nx", "incr", "1", "foo"]), "$-1\r\n");
            assert_eq!(r(t, &["zadd", "z", "xx", "incr", "1", "bar"]), "$-1\r\n");
            assert_eq!(r(t, &["zincrby", "z", "+inf", "foo"]), "$3\r\ninf\r\n");
            assert_eq!(r(t, &["zincrby", "z", "-inf", "foo"]), "-ERR resulting score is not a number (NaN)\r\n");
            assert_eq!(r(t, &["zscore", "z", "foo"]), "$3\r\ninf\r\n");
            assert_eq!(r(t, &["zadd", "z", "gt", "incr", "1", "foo"]), "$-1\r\n");
            assert_eq!(r(t, &["zincrby", "z", "1.1", "n"]), "$18\r\n1.1000000000000001\r\n");
            r(t, &["hello", "3"]);
            assert_eq!(r(t, &["zincrby", "z", "1", "n"]), ",2.1000000000000001\r\n");
            assert_eq!(r(t, &["zadd", "z", "xx", "incr", "1", "nobody"]), "_\r\n");
        });
    }

    #[test]
    fn encoding_switches() {
        let mut t = new();
        let t = &mut t;
        set_max(t, "3", "5");
        r(t, &["zadd", "z", "1", "a", "2", "b", "3", "c"]);
        assert_eq!(enc(t), "$8\r\nlistpack\r\n");
        r(t, &["zadd", "z", "4", "d"]);
        assert_eq!(enc(t), "$8\r\nskiplist\r\n");
        r(t, &["zrem", "z", "d", "c"]);
        assert_eq!(enc(t), "$8\r\nskiplist\r\n");
        r(t, &["del", "z"]);
        r(t, &["zadd", "z", "1", "abcdef"]);
        assert_eq!(enc(t), "$8\r\nskiplist\r\n");
        r(t, &["del", "z"]);
        r(t, &["zadd", "z", "1", "a", "1", "abcdef"]);
        assert_eq!(enc(t), "$8\r\nskiplist\r\n");
        // STORE results pick the encoding by their size.
        r(t, &["zadd", "src", "1", "a", "2", "b", "3", "c", "4", "d"]);
        assert_eq!(r(t, &["zrangestore", "z", "src", "0", "1"]), ":2\r\n");
        assert_eq!(enc(t), "$8\r\nlistpack\r\n");
        assert_eq!(r(t, &["zunionstore", "z", "1", "src"]), ":4\r\n");
        assert_eq!(enc(t), "$8\r\nskiplist\r\n");
        assert_eq!(r(t, &["zinterstore", "z", "1", "src", "weights", "2"]), ":4\r\n");
        set_max(t, "0", "64");
        assert_eq!(r(t, &["zrangestore", "z", "src", "0", "0"]), ":1\r\n");
        assert_eq!(enc(t), "$8\r\nskiplist\r\n");
    }

    fn default_zset(t: &mut T) {
        r(t, &["del", "zset"]);
        r(t, &["zadd", "zset", "-inf", "a", "1", "b", "2", "c", "3", "d", "4", "e", "5", "f", "+inf", "g"]);
    }

    fn members(reply: &str) -> Vec<String> {
        reply
            .split("\r\n")
            .filter(|l| !l.is_empty() && !l.starts_with('*') && !l.starts_with('$'))
            .map(String::from)
            .collect()
    }

    #[test]
    fn range_by_score() {
        both(|t| {
            default_zset(t);
            let m = |t: &mut T, a: &[&str]| members(&r(t, a)).join(" ");
            assert_eq!(m(t, &["zrangebyscore", "zset", "-inf", "2"]), "a b c");
            assert_eq!(m(t, &["zrangebyscore", "zset", "0", "3"]), "b c d");
            assert_eq!(m(t, &["zrevrangebyscore", "zset", "6", "3"]), "f e d");
            assert_eq!(m(t, &["zrangebyscore", "zset", "(-inf", "(2"]), "b");
            assert_eq!(m(t, &["zrevrangebyscore", "zset", "(+inf", "(4"]), "f");
            assert_eq!(r(t, &["zcount", "zset", "(0", "(3"]), ":2\r\n");
            assert_eq!(r(t, &["zcount", "zset", "2", "(2"]), ":0\r\n");
            assert_eq!(m(t, &["zrangebyscore", "zset", "0", "10", "limit", "2", "3"]), "d e f");
            assert_eq!(m(t, &["zrevrangebyscore", "zset", "10", "0", "limit", "2", "10"]), "d c b");
            assert_eq!(m(t, &["zrangebyscore", "zset", "0", "10", "limit", "20", "10"]), "");
            assert_eq!(m(t, &["zrangebyscore", "zset", "0", "10", "limit", "-1", "10"]), "");
            assert_eq!(m(t, &["zrangebyscore", "zset", "0", "10", "limit", "1", "-1"]), "c d e f");
            assert_eq!(m(t, &["zrangebyscore", "zset", "2", "5", "limit", "2", "3", "withscores"]), "e 4 f 5");
            assert_eq!(m(t, &["zrevrangebyscore", "zset", "5", "2", "limit", "2", "3", "withscores"]), "d 3 c 2");
            assert_eq!(m(t, &["zrangebyscore", "zset", "(", "1"]), "b");
            assert_eq!(r(t, &["zrangebyscore", "zset", "str", "1"]), "-ERR min or max is not a float\r\n");
            assert_eq!(r(t, &["zrangebyscore", "zset", "1", "NaN"]), "-ERR min or max is not a float\r\n");
            assert_eq!(r(t, &["zrangebyscore", "zset", "0", "1", "rev"]), "-ERR syntax error\r\n");
        });
    }

    fn lex_zset(t: &mut T) {
        r(t, &["del", "zset"]);
        let mut a = vec!["zadd", "zset"];
        for m in ["alpha", "bar", "cool", "down", "elephant", "foo", "great", "hill", "omega"] {
            a.push("0");
            a.push(m);
        }
        r(t, &a);
    }

    #[test]
    fn range_by_lex() {
        both(|t| {
            lex_zset(t);
            let m = |t: &mut T, a: &[&str]| members(&r(t, a)).join(" ");
            assert_eq!(m(t, &["zrangebylex", "zset", "-", "[cool"]), "alpha bar cool");
            assert_eq!(m(t, &["zrevrangebylex", "zset", "+", "[d"]), "omega hill great foo elephant down");
            assert_eq!(m(t, &["zrangebylex", "zset", "(bar", "(down"]), "cool");
            assert_eq!(r(t, &["zlexcount", "zset", "[ele", "[h"]), ":3\r\n");
            assert_eq!(r(t, &["zlexcount", "zset", "-", "+"]), ":9\r\n");
            assert_eq!(r(t, &["zlexcount", "zset", "+", "-"]), ":0\r\n");
            assert_eq!(r(t, &["zlexcount", "zset", "(maxstring", "+"]), ":1\r\n");
            assert_eq!(m(t, &["zrevrangebylex", "zset", "+", "[d", "limit", "0", "4"]), "omega hill great foo");
            assert_eq!(m(t, &["zrangebylex", "zset", "[bar", "[down", "limit", "1", "1"]), "cool");
            for bad in [["foo", "bar"], ["[foo", "bar"], ["+x", "[bar"], ["-x", "[bar"], ["", "+"]] {
                assert_eq!(
                    r(t, &["zrangebylex", "fooz", bad[0], bad[1]]),
                    "-ERR min or max not valid string range item\r\n"
                );
            }
            assert_eq!(r(t, &["zremrangebylex", "zset", "[bar", "(elephant"]), ":3\r\n");
            assert_eq!(m(t, &["zrange", "zset", "0", "-1"]), "alpha elephant foo great hill omega");
        });
    }

    #[test]
    fn zrange_variants_and_errors() {
        both(|t| {
            r(t, &["zadd", "z", "1", "a", "2", "b", "3", "c", "4", "d"]);
            let m = |t: &mut T, a: &[&str]| members(&r(t, a)).join(" ");
            assert_eq!(m(t, &["zrange", "z", "-2", "-1"]), "c d");
            assert_eq!(m(t, &["zrange", "z", "-5", "1"]), "a b");
            assert_eq!(m(t, &["zrange", "z", "5", "-1"]), "");
            assert_eq!(m(t, &["zrevrange", "z", "0", "-2", "withscores"]), "d 4 c 3 b 2");
            assert_eq!(m(t, &["zrange", "z", "5", "0", "byscore", "rev", "limit", "0", "2", "withscores"]), "d 4 c 3");
            assert_eq!(m(t, &["zrange", "z", "[b", "[c", "bylex"]), "b c");
            assert_eq!(m(t, &["zrange", "z", "0", "-1", "rev"]), "d c b a");
            assert_eq!(
                r(t, &["zrange", "z", "0", "-1", "limit", "1", "2"]),
                "-ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX\r\n"
            );
            assert_eq!(
                r(t, &["zrange", "z", "0", "-1", "bylex", "withscores"]),
                "-ERR syntax error, WITHSCORES not supported in combination with BYLEX\r\n"
            );
            assert_eq!(r(t, &["zrevrange", "z", "0", "-1", "byscore"]), "-ERR syntax error\r\n");
            assert_eq!(r(t, &["zrange", "z", "a", "1"]), "-ERR value is not an integer or out of range\r\n");
            assert_eq!(r(t, &["zrangestore", "d", "z", "0", "-1", "withscores"]), "-ERR syntax error\r\n");
            assert_eq!(r(t, &["zrange", "nokey", "0", "-1"]), "*0\r\n");
            r(t, &["hello", "3"]);
            assert_eq!(r(t, &["zrange", "z", "0", "0", "withscores"]), "*1\r\n*2\r\n$1\r\na\r\n,1\r\n");
            r(t, &["hello", "2"]);
            assert_eq!(r(t, &["zrangestore", "d", "z", "1", "2"]), ":2\r\n");
            assert_eq!(m(t, &["zrange", "d", "0", "-1", "withscores"]), "b 2 c 3");
            assert_eq!(r(t, &["zrangestore", "d", "z", "5", "0", "byscore", "rev", "limit", "0", "2"]), ":2\r\n");
            assert_eq!(m(t, &["zrange", "d", "0", "-1"]), "c d");
            assert_eq!(r(t, &["zrangestore", "d", "z", "5", "6"]), ":0\r\n");
            assert_eq!(r(t, &["exists", "d"]), ":0\r\n");
            assert_eq!(r(t, &["zrangestore", "d", "missing", "0", "-1"]), ":0\r\n");
        });
    }

    #[test]
    fn rank_score_card_mscore() {
        both(|t| {
            r(t, &["zadd", "z", "10", "x", "20", "y", "30", "z"]);
            assert_eq!(r(t, &["zrank", "z", "y"]), ":1\r\n");
            assert_eq!(r(t, &["zrevrank", "z", "x"]), ":2\r\n");
            assert_eq!(r(t, &["zrank", "z", "foo"]), "$-1\r\n");
            assert_eq!(r(t, &["zrank", "nokey", "foo"]), "$-1\r\n");
            assert_eq!(r(t, &["zcard", "z"]), ":3\r\n");
            assert_eq!(r(t, &["zcard", "nokey"]), ":0\r\n");
            assert_eq!(r(t, &["zmscore", "z", "x", "nope", "z"]), "*3\r\n$2\r\n10\r\n$-1\r\n$2\r\n30\r\n");
            assert_eq!(r(t, &["zmscore", "nokey", "x"]), "*1\r\n$-1\r\n");
            assert_eq!(r(t, &["zmscore", "z"]), "-ERR wrong number of arguments for 'zmscore' command\r\n");
            r(t, &["zadd", "big", "179769313486231570814527423731704356798070567525844996598917476803157260780028538760589558632766878171540458953514382464234321326889464182768467546703537516986049910576551282076245490090389328944075868508455133942304583236903222948165808559332123348274797826204144723168738177180919299881250404026184124858368.00000000000000000", "m"]);
            assert_eq!(r(t, &["zscore", "big", "m"]), "$23\r\n1.7976931348623157e+308\r\n");
        });
    }

    #[test]
    fn zrem_and_remrange() {
        both(|t| {
            r(t, &["zadd", "z", "10", "a", "20", "b", "30", "c"]);
            assert_eq!(r(t, &["zrem", "z", "x", "y", "a", "b", "k"]), ":2\r\n");
            assert_eq!(r(t, &["zrem", "z", "c", "d"]), ":1\r\n");
            assert_eq!(r(t, &["exists", "z"]), ":0\r\n");
            let fill = |t: &mut T| {
                r(t, &["del", "z"]);
                r(t, &["zadd", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"]);
            };
            fill(t);
            assert_eq!(r(t, &["zremrangebyrank", "z", "1", "3"]), ":3\r\n");
            assert_eq!(members(&r(t, &["zrange", "z", "0", "-1"])).join(" "), "a e");
            fill(t);
            assert_eq!(r(t, &["zremrangebyrank", "z", "10", "-1"]), ":0\r\n");
            assert_eq!(r(t, &["zremrangebyrank", "z", "0", "-10"]), ":0\r\n");
            assert_eq!(r(t, &["zremrangebyrank", "z", "-10", "0"]), ":1\r\n");
            fill(t);
            assert_eq!(r(t, &["zremrangebyscore", "z", "(1", "(5"]), ":3\r\n");
            assert_eq!(r(t, &["zremrangebyscore", "z", "-inf", "+inf"]), ":2\r\n");
            assert_eq!(r(t, &["exists", "z"]), ":0\r\n");
            assert_eq!(r(t, &["zremrangebyscore", "z", "str", "1"]), "-ERR min or max is not a float\r\n");
        });
    }

    #[test]
    fn pops() {
        both(|t| {
            r(t, &["zadd", "z", "-1", "a", "1", "b", "2", "c", "3", "d", "4", "e"]);
            assert_eq!(r(t, &["zpopmin", "z"]), "*2\r\n$1\r\na\r\n$2\r\n-1\r\n");
            assert_eq!(r(t, &["zpopmax", "z", "2"]), "*4\r\n$1\r\ne\r\n$1\r\n4\r\n$1\r\nd\r\n$1\r\n3\r\n");
            assert_eq!(r(t, &["zpopmin", "z", "0"]), "*0\r\n");
            assert_eq!(r(t, &["zpopmin", "z", "-1"]), "-ERR value is out of range, must be positive\r\n");
            assert_eq!(r(t, &["zpopmin", "z", "1", "2"]), "-ERR syntax error\r\n");
            r(t, &["hello", "3"]);
            assert_eq!(r(t, &["zpopmin", "z"]), "*2\r\n$1\r\nb\r\n,1\r\n");
            assert_eq!(r(t, &["zpopmin", "z", "5"]), "*1\r\n*2\r\n$1\r\nc\r\n,2\r\n");
            assert_eq!(r(t, &["exists", "z"]), ":0\r\n");
            assert_eq!(r(t, &["zpopmin", "z"]), "*0\r\n");
            r(t, &["set", "s", "x"]);
            assert_eq!(
                r(t, &["zpopmin", "s", "0"]),
                "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
            );
        });
    }

    #[test]
    fn zmpop_and_errors() {
        let mut t = new();
        let t = &mut t;
        r(t, &["zadd", "z2", "1", "a", "2", "b", "3", "c"]);
        assert_eq!(
            r(t, &["zmpop", "2", "z1", "z2", "min", "count", "2"]),
            "*2\r\n$2\r\nz2\r\n*2\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n"
        );
        assert_eq!(r(t, &["zmpop", "1", "z1", "max"]), "*-1\r\n");
        assert_eq!(r(t, &["zmpop", "0", "z", "min"]), "-ERR numkeys should be greater than 0\r\n");
        assert_eq!(r(t, &["zmpop", "a", "z", "min"]), "-ERR numkeys should be greater than 0\r\n");
        assert_eq!(r(t, &["zmpop", "1", "z", "bad"]), "-ERR syntax error\r\n");
        assert_eq!(r(t, &["zmpop", "1", "z", "max", "min"]), "-ERR syntax error\r\n");
        assert_eq!(r(t, &["zmpop", "1", "z", "count"]), "-ERR syntax error\r\n");
        assert_eq!(r(t, &["zmpop", "1", "z", "max", "count", "1", "count", "2"]), "-ERR syntax error\r\n");
        assert_eq!(r(t, &["zmpop", "5", "z", "max"]), "-ERR syntax error\r\n");
        assert_eq!(r(t, &["zmpop", "1", "z", "min", "count", "0"]), "-ERR count should be greater than 0\r\n");
        assert_eq!(r(t, &["zmpop", "1", "z", "min", "count", "a"]), "-ERR count should be greater than 0\r\n");
        assert_eq!(r(t, &["bzmpop", "1", "0", "z", "min"]), "-ERR numkeys should be greater than 0\r\n");
        assert_eq!(r(t, &["bzmpop", "0", "1", "z2", "max"]), "*2\r\n$2\r\nz2\r\n*1\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n");
        assert_eq!(r(t, &["bzpopmin", "z2", "x"]), "-ERR timeout is not a float or out of range\r\n");
        assert_eq!(r(t, &["command", "getkeys", "zmpop", "2", "a", "b", "min"]), "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
        assert_eq!(r(t, &["command", "getkeys", "bzmpop", "0", "1", "a", "min"]), "*1\r\n$1\r\na\r\n");
        assert_eq!(
            r(t, &["command", "getkeys", "zunionstore", "d", "2", "a", "b"]),
            "*3\r\n$1\r\nd\r\n$1\r\na\r\n$1\r\nb\r\n"
        );
    }

    #[test]
    fn blocking_pops_serve_block_and_answer_in_multi() {
        let mut t = new();
        let t = &mut t;
        r(t, &["zadd", "z2", "1", "a", "2", "b"]);
        assert_eq!(r(t, &["bzpopmin", "z1", "z2", "0"]), "*3\r\n$2\r\nz2\r\n$1\r\na\r\n$1\r\n1\r\n");
        assert_eq!(r(t, &["bzpopmax", "z1", "0"]), "");
        assert!(t.s.clients[t.me].blocked.is_some());
        // Woken while the key holds another type: keep waiting rather than fail.
        t.s.dbs[0].set(b"z1", crate::types::value::Value::string(b"x"), false);
        assert_eq!(r(t, &["bzpopmax", "z1", "0"]), "");
        assert!(t.s.clients[t.me].blocked.is_some());
        t.s.clients.unblock(t.me);
        r(t, &["del", "z1"]);
        r(t, &["multi"]);
        r(t, &["bzpopmin", "z1", "0"]);
        r(t, &["bzmpop", "0", "1", "z1", "min"]);
        assert_eq!(r(t, &["exec"]), "*2\r\n*-1\r\n*-1\r\n");
        r(t, &["set", "s", "x"]);
        assert_eq!(
            r(t, &["bzpopmin", "s", "0"]),
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
        );
    }

    #[test]
    fn set_algebra() {
        both(|t| {
            r(t, &["zadd", "za", "1", "a", "2", "b", "3", "c"]);
            r(t, &["zadd", "zb", "1", "b", "2", "c", "3", "d"]);
            let m = |t: &mut T, a: &[&str]| members(&r(t, a)).join(" ");
            assert_eq!(r(t, &["zunionstore", "zc", "2", "za", "zb"]), ":4\r\n");
            assert_eq!(m(t, &["zrange", "zc", "0", "-1", "withscores"]), "a 1 b 3 d 3 c 5");
            assert_eq!(m(t, &["zunion", "2", "za", "zb", "weights", "2", "3", "withscores"]), "a 2 b 7 d 9 c 12");
            assert_eq!(m(t, &["zunion", "2", "za", "zb", "aggregate", "min", "withscores"]), "a 1 b 1 c 2 d 3");
            assert_eq!(m(t, &["zinter", "2", "za", "zb", "aggregate", "max", "withscores"]), "b 2 c 3");
            assert_eq!(m(t, &["zinter", "2", "za", "zb", "withscores"]), "b 3 c 5");
            assert_eq!(r(t, &["zintercard", "2", "za", "zb"]), ":2\r\n");
            assert_eq!(r(t, &["zintercard", "2", "za", "zb", "limit", "1"]), ":1\r\n");
            assert_eq!(m(t, &["zdiff", "2", "za", "zb", "withscores"]), "a 1");
            assert_eq!(r(t, &["zdiffstore", "zc", "2", "za", "za"]), ":0\r\n");
            assert_eq!(r(t, &["exists", "zc"]), ":0\r\n");
            // A plain set (built directly: SADD belongs to the sets family).
            let members = ["a", "b", "c"].iter().map(|m| m.as_bytes().to_vec());
            let set = crate::types::set::Set::from_members(members, &t.s.enc);
            t.s.dbs[0].set(b"s", crate::types::value::Value::Set(set), false);
            assert_eq!(r(t, &["zinterstore", "zc", "2", "s", "zb", "weights", "2", "3"]), ":2\r\n");
            assert_eq!(m(t, &["zrange", "zc", "0", "-1", "withscores"]), "b 5 c 8");
            r(t, &["zadd", "inf1", "+inf", "k"]);
            r(t, &["zadd", "inf2", "-inf", "k"]);
            r(t, &["zunionstore", "zc", "2", "inf1", "inf2"]);
            assert_eq!(r(t, &["zscore", "zc", "k"]), "$1\r\n0\r\n");
            r(t, &["zunionstore", "zc", "1", "inf2", "weights", "0"]);
            assert_eq!(r(t, &["zscore", "zc", "k"]), "$1\r\n0\r\n");
            assert_eq!(
                r(t, &["zunion", "2", "za", "zb", "weights", "nan", "nan"]),
                "-ERR weight value is not a float\r\n"
            );
            assert_eq!(r(t, &["zunion", "0", "za"]), "-ERR at least 1 input key is needed for 'zunion' command\r\n");
            assert_eq!(
                r(t, &["zunionstore", "d", "0", "za"]),
                "-ERR at least 1 input key is needed for 'zunionstore' command\r\n"
            );
            assert_eq!(r(t, &["zunionstore", "d", "2", "za", "zb", "withscores"]), "-ERR syntax error\r\n");
            assert_eq!(r(t, &["zintercard", "1", "za", "za"]), "-ERR syntax error\r\n");
            assert_eq!(r(t, &["zintercard", "1", "za", "limit"]), "-ERR syntax error\r\n");
            assert_eq!(r(t, &["zintercard", "1", "za", "limit", "-1"]), "-ERR LIMIT can't be negative\r\n");
            assert_eq!(r(t, &["zdiff", "1", "za", "weights", "1"]), "-ERR syntax error\r\n");
            assert_eq!(r(t, &["zunion", "3", "za", "zb"]), "-ERR syntax error\r\n");
            r(t, &["set", "str", "x"]);
            assert_eq!(
                r(t, &["zunion", "2", "za", "str", "bad"]),
                "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
            );
            r(t, &["hello", "3"]);
            assert_eq!(
                r(t, &["zinter", "2", "za", "zb", "withscores"]),
                "*2\r\n*2\r\n$1\r\nb\r\n,3\r\n*2\r\n$1\r\nc\r\n,5\r\n"
            );
        });
    }

    #[test]
    fn zrandmember_shapes() {
        both(|t| {
            r(t, &["zadd", "z", "1", "a", "2", "b", "3", "c"]);
            let one = r(t, &["zrandmember", "z"]);
            assert!(["$1\r\na\r\n", "$1\r\nb\r\n", "$1\r\nc\r\n"].contains(&one.as_str()));
            assert_eq!(r(t, &["zrandmember", "nokey"]), "$-1\r\n");
            assert_eq!(r(t, &["zrandmember", "nokey", "5"]), "*0\r\n");
            assert_eq!(r(t, &["zrandmember", "z", "0"]), "*0\r\n");
            assert_eq!(members(&r(t, &["zrandmember", "z", "-10"])).len(), 10);
            assert_eq!(members(&r(t, &["zrandmember", "z", "-10", "withscores"])).len(), 20);
            let mut all = members(&r(t, &["zrandmember", "z", "10"]));
            all.sort();
            assert_eq!(all, vec!["a", "b", "c"]);
            let two = members(&r(t, &["zrandmember", "z", "2"]));
            assert_eq!(two.len(), 2);
            assert_ne!(two[0], two[1]);
            assert_eq!(r(t, &["zrandmember", "z", "1", "foo"]), "-ERR syntax error\r\n");
            assert_eq!(
                r(t, &["zrandmember", "z", "-9223372036854770000", "withscores"]),
                "-ERR value is out of range\r\n"
            );
            assert_eq!(
                r(t, &["zrandmember", "z", "-9223372036854775808"]),
                "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n"
            );
            r(t, &["hello", "3"]);
            let res = r(t, &["zrandmember", "z", "3", "withscores"]);
            assert!(res.starts_with("*3\r\n*2\r\n"), "{res}");
        });
    }

    #[test]
    fn zscan_both_encodings() {
        both(|t| {
            let mut a = vec!["zadd".to_string(), "z".to_string()];
            for i in 0..200 {
                a.push(i.to_string());
                a.push(format!("key:{i}"));
            }
            let a: Vec<&str> = a.iter().map(|s| s.as_str()).collect();
            r(t, &a);
            let mut seen = std::collections::HashSet::new();
            let mut cursor = "0".to_string();
            loop {
                let res = r(t, &["zscan", "z", &cursor]);
                let lines: Vec<&str> = res.split("\r\n").collect();
                cursor = lines[2].to_string();
                let items = members(&lines[3..].join("\r\n"));
                for pair in items.chunks(2) {
                    assert_eq!(pair[0], format!("key:{}", pair[1]));
                    seen.insert(pair[0].clone());
                }
                if cursor == "0" {
                    break;
                }
            }
            assert_eq!(seen.len(), 200);
            assert_eq!(r(t, &["zscan", "z", "0", "match", "key:19*", "count", "1000"]).matches("key:19").count(), 11);
            assert_eq!(r(t, &["zscan", "z", "x"]), "-ERR invalid cursor\r\n");
            assert_eq!(r(t, &["zscan", "z", "0", "count", "0"]), "-ERR syntax error\r\n");
            assert_eq!(r(t, &["zscan", "nokey", "0", "count", "0"]), "*2\r\n$1\r\n0\r\n*0\r\n");
        });
    }

    #[test]
    fn strtod_rules() {
        use super::{parse_score, parse_score_bound};
        assert_eq!(parse_score(b"1.5"), Some(1.5));
        assert_eq!(parse_score(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_score(b"+Infinity"), Some(f64::INFINITY));
        assert_eq!(parse_score(b".5"), Some(0.5));
        assert_eq!(parse_score(b"5."), Some(5.0));
        assert_eq!(parse_score(b"1e-400"), None);
        assert_eq!(parse_score(b"9.8813129168249309e-323"), Some(9.881_312_916_824_93e-323));
        assert_eq!(parse_score(b"1 "), None);
        assert_eq!(parse_score(b"nan"), None);
        assert_eq!(parse_score(b"1e"), None);
        assert_eq!(parse_score_bound(b" 1"), Some((1.0, false)));
        assert_eq!(parse_score_bound(b""), Some((0.0, false)));
        assert_eq!(parse_score_bound(b"(2"), Some((2.0, true)));
        assert_eq!(parse_score_bound(b"1e400"), Some((f64::INFINITY, false)));
        assert_eq!(parse_score_bound(b"(nan"), None);
    }
}
