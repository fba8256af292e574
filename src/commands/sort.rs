//! SORT and SORT_RO (commands layer, applied by the Keyspace actor), as Redis 7.0's sort.c does them.
//!
//! The source is a list, a set or a sorted set (a missing key is an empty list). Each element gets a weight:
//! itself, or the value found through the BY pattern (`*` replaced by the element, `key->field` reading a
//! hash field); weights are doubles unless ALPHA. A BY pattern without `*` means "don't sort": lists and
//! sorted sets keep their own order (DESC walks it backwards, LIMIT reads just the range), sets keep their
//! iteration order, except with STORE (or from a script) where Redis sorts them ALPHA for determinism.
//!
//! Details clients can observe and that we keep:
//! - Redis handles arguments, patterns and weights as C strings in places: option names, the `*` and `->`
//!   search, `#`, double parsing and ALPHA comparison without STORE (`strcoll` in the C locale) all stop at
//!   the first NUL byte; ALPHA with STORE and numeric ties compare whole byte strings.
//! - Weights parse as glibc's `strtod`: leading spaces, hex floats, `inf`; an empty weight is 0; trailing
//!   garbage, NaN, overflow and inexact underflow are "One or more scores can't be converted into double".
//! - A full sort is glibc's `qsort`, a stable merge sort (ties keep their load order); BY with a LIMIT that
//!   cuts the result uses Redis's partial quicksort (`pqsort.c`), ported step by step because the order it
//!   leaves ties in (ALPHA BY with equal or missing weights) shows in the reply.

use super::spec::*;
use super::Ctx;
use crate::config::{NOTIFY_GENERIC, NOTIFY_LIST};
use crate::error::CmdError;
use crate::types::db::Db;
use crate::types::encodings::Encodings;
use crate::types::list::List;
use crate::types::set::Set;
use crate::types::value::Value;
use crate::types::zset::ZSet;
use std::cmp::Ordering;

const NOT_DOUBLE: CmdError = CmdError::new("ERR One or more scores can't be converted into double");

const COMPLEXITY: &str = "O(N+M*log(M)) where N is the number of elements in the list or set to sort, and M the \
    number of returned elements. When the elements are not sorted, complexity is O(N).";

#[rustfmt::skip]
pub const SPECS: &[CommandSpec] = &family("generic", [
    cmd("sort", -2, WRITE | DENYOOM | MOVABLE_KEYS, sort).keys(1, 1, 1).acl(SET | SORTEDSET | LIST | DANGEROUS).getkeys(sort_get_keys).doc("1.0.0", COMPLEXITY, "Sort the elements in a list, set or sorted set"),
    // Redis marks SORT_RO movablekeys too (its BY/GET key spec is "unknown"); its only key is argv[1].
    cmd("sort_ro", -2, READONLY | MOVABLE_KEYS, sort_ro).keys(1, 1, 1).acl(SET | SORTEDSET | LIST | DANGEROUS).doc("7.0.0", COMPLEXITY, "Sort the elements in a list, set or sorted set. Read-only variant of SORT."),
]);

/// SORT key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC] [ALPHA] [STORE destination]
fn sort(cx: &mut Ctx<'_>) -> CmdResult {
    sort_generic(cx, false)
}

/// SORT_RO key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC] [ALPHA]
fn sort_ro(cx: &mut Ctx<'_>) -> CmdResult {
    sort_generic(cx, true)
}

/// Redis's sortGetKeys: the sorted key, plus the argument after the last STORE (skipping the arguments of
/// LIMIT, GET and BY the way Redis does, so `GET store` does not count).
fn sort_get_keys(argv: &[&[u8]]) -> Vec<usize> {
    if argv.len() < 2 {
        return Vec::new();
    }
    let mut keys = vec![1];
    let mut store = None;
    let mut i = 2;
    while i < argv.len() {
        let a = argv[i];
        if cstr_eq_ic(a, "limit") {
            i += 2;
        } else if cstr_eq_ic(a, "get") || cstr_eq_ic(a, "by") {
            i += 1;
        } else if cstr_eq_ic(a, "store") && i + 1 < argv.len() {
            store = Some(i + 1);
        }
        i += 1;
    }
    keys.extend(store);
    keys
}

/// The bytes of `s` up to its first NUL: what C string functions see.
#[inline]
fn cstr(s: &[u8]) -> &[u8] {
    match s.iter().position(|&c| c == 0) {
        Some(n) => &s[..n],
        None => s,
    }
}

/// `strcasecmp(arg, word) == 0`.
fn cstr_eq_ic(arg: &[u8], word: &str) -> bool {
    cstr(arg).eq_ignore_ascii_case(word.as_bytes())
}

/// A BY or GET pattern, analysed once as lookupKeyByPattern would each time.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Pattern<'a> {
    /// `#`: the element itself.
    Element,
    /// No `*`: never names a key.
    Constant,
    /// `prefix*suffix`, or `prefix*suffix->field` for a hash field.
    Key { prefix: &'a [u8], suffix: &'a [u8], field: Option<&'a [u8]> },
}

impl<'a> Pattern<'a> {
    fn parse(p: &'a [u8]) -> Pattern<'a> {
        if p.first() == Some(&b'#') && p.get(1).is_none_or(|&c| c == 0) {
            return Pattern::Element;
        }
        let c = cstr(p);
        let Some(star) = c.iter().position(|&b| b == b'*') else { return Pattern::Constant };
        let after = &c[star + 1..];
        // `strstr(p+1, "->")` with something after the arrow; the field then runs to the pattern's end.
        let arrow = after.windows(2).position(|w| w == b"->").filter(|&f| f + 2 < after.len());
        match arrow {
            Some(f) => Pattern::Key {
                prefix: &p[..star],
                suffix: &p[star + 1..star + 1 + f],
                field: Some(&p[star + 1 + f + 2..]),
            },
            None => Pattern::Key { prefix: &p[..star], suffix: &p[star + 1..], field: None },
        }
    }
}

/// The bytes of a string value (an `int` one formatted into `tmp`).
fn str_bytes<'v>(v: &'v Value, tmp: &'v mut itoa::Buffer) -> Option<&'v [u8]> {
    match v {
        Value::Int(i) => Some(tmp.format(*i).as_bytes()),
        Value::Emb(b) => Some(b),
        Value::Raw(r) => Some(r),
        _ => None,
    }
}

/// Redis's lookupKeyByPattern: call `f` with the value `pat` names for element `elem` (None when the key
/// is missing or of the wrong type, or the field is missing). `buf` is scratch space for the key name.
fn with_pattern_value<R>(
    db: &mut Db,
    pat: Pattern<'_>,
    elem: &[u8],
    buf: &mut Vec<u8>,
    f: impl FnOnce(Option<&[u8]>) -> R,
) -> R {
    let (prefix, suffix, field) = match pat {
        Pattern::Element => return f(Some(elem)),
        Pattern::Constant => return f(None),
        Pattern::Key { prefix, suffix, field } => (prefix, suffix, field),
    };
    buf.clear();
    buf.extend_from_slice(prefix);
    buf.extend_from_slice(elem);
    buf.extend_from_slice(suffix);
    let value = db.get(buf).map(|e| &e.value);
    let mut tmp = itoa::Buffer::new();
    match (value, field) {
        (Some(Value::Hash(h)), Some(field)) => f(h.get(field)),
        (Some(v), None) => f(str_bytes(v, &mut tmp)),
        _ => f(None),
    }
}

/// Parsed options.
struct Options<'a> {
    desc: bool,
    alpha: bool,
    limit_start: i64,
    limit_count: i64,
    sortby: Option<Pattern<'a>>,
    dontsort: bool,
    store: Option<&'a [u8]>,
    gets: Vec<Pattern<'a>>,
}

fn parse_options<'a>(cx: &Ctx<'a>, readonly: bool) -> Result<Options<'a>, CmdError> {
    let mut o = Options {
        desc: false,
        alpha: false,
        limit_start: 0,
        limit_count: -1,
        sortby: None,
        dontsort: false,
        store: None,
        gets: Vec::new(),
    };
    let argc = cx.argc();
    // BY with a pattern and GET read keys the command does not name: the user needs read access to all.
    let full_access = super::acl::sort_full_key_access(cx);
    let mut j = 2;
    while j < argc {
        let left = argc - j - 1;
        let a = cx.arg(j);
        if cstr_eq_ic(a, "asc") {
            o.desc = false;
        } else if cstr_eq_ic(a, "desc") {
            o.desc = true;
        } else if cstr_eq_ic(a, "alpha") {
            o.alpha = true;
        } else if cstr_eq_ic(a, "limit") && left >= 2 {
            o.limit_start = cx.int_arg(j + 1)?;
            o.limit_count = cx.int_arg(j + 2)?;
            j += 2;
        } else if !readonly && cstr_eq_ic(a, "store") && left >= 1 {
            o.store = Some(cx.arg(j + 1));
            j += 1;
        } else if cstr_eq_ic(a, "by") && left >= 1 {
            let p = cx.arg(j + 1);
            // A BY pattern without '*' is constant: nothing to sort by, nothing to look up.
            o.dontsort = !cstr(p).contains(&b'*');
            if !o.dontsort && !full_access {
                return Err(CmdError::new("ERR BY option of SORT denied due to insufficient ACL permissions."));
            }
            o.sortby = Some(Pattern::parse(p));
            j += 1;
        } else if cstr_eq_ic(a, "get") && left >= 1 {
            if !full_access {
                return Err(CmdError::new("ERR GET option of SORT denied due to insufficient ACL permissions."));
            }
            o.gets.push(Pattern::parse(cx.arg(j + 1)));
            j += 1;
        } else {
            return Err(CmdError::SYNTAX);
        }
        j += 1;
    }
    Ok(o)
}

/// One element of the sorting vector: the element, and its weight (a score, or with ALPHA BY the bytes the
/// pattern found, None when it found nothing).
struct Item {
    obj: Vec<u8>,
    score: f64,
    cmp: Option<Vec<u8>>,
}

impl Item {
    fn new(obj: &[u8]) -> Item {
        Item { obj: obj.to_vec(), score: 0.0, cmp: None }
    }
}

/// How items compare: Redis's sortCompare.
#[derive(Clone, Copy)]
struct Order {
    desc: bool,
    alpha: bool,
    bypattern: bool,
    store: bool,
}

impl Order {
    fn cmp(&self, a: &Item, b: &Item) -> Ordering {
        let c = if !self.alpha {
            if a.score > b.score {
                Ordering::Greater
            } else if a.score < b.score {
                Ordering::Less
            } else {
                // Same score: compare the elements, so the result is deterministic.
                a.obj.as_slice().cmp(b.obj.as_slice())
            }
        } else if self.bypattern {
            match (&a.cmp, &b.cmp) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Less,
                (Some(_), None) => Ordering::Greater,
                (Some(x), Some(y)) => self.alpha_cmp(x, y),
            }
        } else {
            self.alpha_cmp(&a.obj, &b.obj)
        };
        if self.desc {
            c.reverse()
        } else {
            c
        }
    }

    /// With STORE Redis compares binary strings; otherwise it uses strcoll, which stops at NUL.
    fn alpha_cmp(&self, a: &[u8], b: &[u8]) -> Ordering {
        if self.store {
            a.cmp(b)
        } else {
            cstr(a).cmp(cstr(b))
        }
    }
}

/// What is being sorted.
enum Source<'v> {
    List(&'v List),
    Set(&'v Set),
    ZSet(&'v ZSet),
}

fn sort_generic(cx: &mut Ctx<'_>, readonly: bool) -> CmdResult {
    let o = parse_options(cx, readonly)?;
    let key = cx.arg(1);
    let enc = cx.s.enc;
    // Redis sorts a set even BY a constant when called from a script.
    let from_script = cx.s.exec.in_script;
    let (mut dontsort, mut alpha, mut sortby) = (o.dontsort, o.alpha, o.sortby);
    let (desc, store) = (o.desc, o.store);
    let (db, out) = cx.db_out();

    // Redis destructively converts a listpack sorted set to a skiplist before sorting it (zsetConvert),
    // which OBJECT ENCODING shows afterwards; rebuilding it with a zero listpack limit does the same.
    let compact_zset = match db.get(key).map(|e| &e.value) {
        None | Some(Value::List(_) | Value::Set(_)) => false,
        Some(Value::ZSet(z)) => z.encoding() == "listpack",
        Some(_) => return Err(CmdError::WRONGTYPE),
    };
    if compact_zset {
        if let Some(Value::ZSet(z)) = db.get_mut(key).map(|e| &mut e.value) {
            let enc = Encodings { zset_max_listpack_entries: 0, ..enc };
            *z = ZSet::from_pairs(z.iter().map(|(m, s)| (m.to_vec(), s)), &enc);
        }
    }
    let source = match db.peek(key).map(|e| &e.value) {
        None => None,
        Some(Value::List(l)) => Some(Source::List(l)),
        Some(Value::Set(s)) => Some(Source::Set(s)),
        Some(Value::ZSet(z)) => Some(Source::ZSet(z)),
        Some(_) => return Err(CmdError::WRONGTYPE),
    };
    // A set BY a constant is still sorted (ALPHA) when stored or scripted, so that replicas agree.
    if dontsort && matches!(source, Some(Source::Set(_))) && (store.is_some() || from_script) {
        dontsort = false;
        alpha = true;
        sortby = None;
    }
    let len = match &source {
        None => 0,
        Some(Source::List(l)) => l.len(),
        Some(Source::Set(s)) => s.len(),
        Some(Source::ZSet(z)) => z.len(),
    } as i64;

    // LIMIT sanity, as Redis (clamped to the length, so nothing overflows).
    let mut start = o.limit_start.clamp(0, len);
    let count = o.limit_count.clamp(-1, len);
    let mut end = if count < 0 { len - 1 } else { start + count - 1 };
    if start >= len {
        start = len - 1;
        end = len - 2;
    }
    if end >= len {
        end = len - 1;
    }

    // Lists and sorted sets that need no sorting load just the range asked for, in their own order.
    let ordered = !matches!(source, Some(Source::Set(_)));
    let mut vectorlen = len;
    if ordered && dontsort && (start != 0 || end != len - 1) {
        vectorlen = end - start + 1;
    }
    let take = vectorlen.max(0) as usize;
    let mut items: Vec<Item> = Vec::with_capacity(take);
    match source {
        None => {}
        // Nothing in range: Redis leaves start/end alone (the output is empty either way).
        Some(Source::List(_)) if dontsort && end < start => {}
        Some(Source::List(l)) if dontsort => {
            let skip = start as usize;
            if desc {
                items.extend(l.iter().rev().skip(skip).take(take).map(Item::new));
            } else {
                items.extend(l.iter().skip(skip).take(take).map(Item::new));
            }
            end -= start;
            start = 0;
        }
        Some(Source::List(l)) => items.extend(l.iter().map(Item::new)),
        Some(Source::Set(s)) => items.extend(s.members().map(|m| m.with_bytes(Item::new))),
        Some(Source::ZSet(z)) if dontsort => {
            let skip = start.max(0) as usize;
            if desc {
                items.extend(z.iter().rev().skip(skip).take(take).map(|(m, _)| Item::new(m)));
            } else {
                items.extend(z.iter().skip(skip).take(take).map(|(m, _)| Item::new(m)));
            }
            end -= start;
            start = 0;
        }
        Some(Source::ZSet(z)) => items.extend(z.iter().map(|(m, _)| Item::new(m))),
    }

    // Weights, then the sort.
    let mut bad_double = false;
    if !dontsort {
        let mut buf = Vec::new();
        for it in items.iter_mut() {
            match sortby {
                Some(pat) => with_pattern_value(db, pat, &it.obj, &mut buf, |v| {
                    let Some(v) = v else { return };
                    if alpha {
                        it.cmp = Some(v.to_vec());
                    } else {
                        match weight(v) {
                            Some(x) => it.score = x,
                            None => bad_double = true,
                        }
                    }
                }),
                None if !alpha => match weight(&it.obj) {
                    Some(x) => it.score = x,
                    None => bad_double = true,
                },
                None => {}
            }
        }
        let order = Order { desc, alpha, bypattern: sortby.is_some(), store: store.is_some() };
        if sortby.is_some() && (start != 0 || end != vectorlen - 1) {
            pqsort(&mut items, |a, b| order.cmp(a, b), start, end);
        } else {
            items.sort_by(|a, b| order.cmp(a, b));
        }
    }
    if bad_double {
        return Err(NOT_DOUBLE);
    }

    let range = if end >= start { items.get(start as usize..=end as usize).unwrap_or(&[]) } else { &[] };
    let outputlen = range.len() * o.gets.len().max(1);
    let mut buf = Vec::new();
    let Some(dest) = store else {
        out.array(outputlen);
        for it in range {
            if o.gets.is_empty() {
                out.bulk(&it.obj);
            }
            for &g in &o.gets {
                with_pattern_value(db, g, &it.obj, &mut buf, |v| match v {
                    Some(v) => out.bulk(v),
                    None => out.nil(),
                });
            }
        }
        return Ok(());
    };

    // STORE: the result becomes a list (missing GET values as empty strings); an empty one deletes dest.
    let mut vals: Vec<Vec<u8>> = Vec::with_capacity(outputlen);
    for it in range {
        if o.gets.is_empty() {
            vals.push(it.obj.clone());
        }
        for &g in &o.gets {
            vals.push(with_pattern_value(db, g, &it.obj, &mut buf, |v| v.unwrap_or_default().to_vec()));
        }
    }
    if outputlen > 0 {
        db.set(dest, Value::List(List::from_items(vals, &enc)), false);
        cx.modified(dest);
        // Redis counts every stored element as a change.
        cx.s.persist.dirty += outputlen as u64 - 1;
        cx.notify(NOTIFY_LIST, "sortstore", dest);
    } else if db.remove(dest).is_some() {
        cx.modified(dest);
        cx.notify(NOTIFY_GENERIC, "del", dest);
    }
    cx.out.int(outputlen as i64);
    Ok(())
}

/// Redis's pqsort (NetBSD's qsort, Bentley & McIlroy, modified to sort only the parts that overlap the
/// element range `lrange..=rrange`), step by step so that equal elements end up where Redis leaves them.
/// The recursion on the left part is an explicit stack here; parts are disjoint, so the order in which
/// they are sorted does not change the result.
fn pqsort<T>(v: &mut [T], cmp: impl Fn(&T, &T) -> Ordering, lrange: i64, rrange: i64) {
    let (l, r) = (lrange as i128, rrange as i128);
    // Does the part [s, s+n) hold any of the range's ends?
    let wanted = |s: usize, n: usize| {
        let (s, e) = (s as i128, (s + n) as i128);
        !((l < s && r < s) || (l >= e && r >= e))
    };
    let med3 = |v: &[T], a: usize, b: usize, c: usize| {
        if cmp(&v[a], &v[b]) == Ordering::Less {
            if cmp(&v[b], &v[c]) == Ordering::Less {
                b
            } else if cmp(&v[a], &v[c]) == Ordering::Less {
                c
            } else {
                a
            }
        } else if cmp(&v[b], &v[c]) == Ordering::Greater {
            b
        } else if cmp(&v[a], &v[c]) == Ordering::Less {
            a
        } else {
            c
        }
    };
    let insertion = |v: &mut [T], a: usize, n: usize| {
        for pm in a + 1..a + n {
            let mut pl = pm;
            while pl > a && cmp(&v[pl - 1], &v[pl]) == Ordering::Greater {
                v.swap(pl, pl - 1);
                pl -= 1;
            }
        }
    };
    let vecswap = |v: &mut [T], a: usize, b: usize, n: usize| {
        for i in 0..n {
            v.swap(a + i, b + i);
        }
    };

    let mut stack = vec![(0usize, v.len())];
    while let Some((mut a, mut n)) = stack.pop() {
        loop {
            if n < 7 {
                insertion(v, a, n);
                break;
            }
            let mut pm = a + n / 2;
            if n > 7 {
                let mut pl = a;
                let mut pn = a + n - 1;
                if n > 40 {
                    let d = n / 8;
                    pl = med3(v, pl, pl + d, pl + 2 * d);
                    pm = med3(v, pm - d, pm, pm + d);
                    pn = med3(v, pn - 2 * d, pn - d, pn);
                }
                pm = med3(v, pl, pm, pn);
            }
            v.swap(a, pm);
            let mut swapped = false;
            let (mut pa, mut pb) = (a + 1, a + 1);
            let (mut pc, mut pd) = (a + n - 1, a + n - 1);
            loop {
                while pb <= pc {
                    let c = cmp(&v[pb], &v[a]);
                    if c == Ordering::Greater {
                        break;
                    }
                    if c == Ordering::Equal {
                        swapped = true;
                        v.swap(pa, pb);
                        pa += 1;
                    }
                    pb += 1;
                }
                while pb <= pc {
                    let c = cmp(&v[pc], &v[a]);
                    if c == Ordering::Less {
                        break;
                    }
                    if c == Ordering::Equal {
                        swapped = true;
                        v.swap(pc, pd);
                        pd -= 1;
                    }
                    pc -= 1;
                }
                if pb > pc {
                    break;
                }
                v.swap(pb, pc);
                swapped = true;
                pb += 1;
                pc -= 1;
            }
            if !swapped {
                // Already in order around the pivot: finish with an insertion sort.
                insertion(v, a, n);
                break;
            }
            let pn = a + n;
            let k = (pa - a).min(pb - pa);
            vecswap(v, a, pb - k, k);
            let k = (pd - pc).min(pn - pd - 1);
            vecswap(v, pb, pn - k, k);
            let left = pb - pa;
            if left > 1 && wanted(a, left) {
                stack.push((a, left));
            }
            let right = pd - pc;
            if right > 1 && wanted(pn - right, right) {
                a = pn - right;
                n = right;
                continue;
            }
            break;
        }
    }
}

/// A weight as Redis reads it: `strtod` over the C string, accepted when it consumed everything and did
/// not set ERANGE, and the result is not NaN. An empty string is 0 (no conversion, but the end pointer is at
/// the terminating NUL). None is the "can't be converted into double" error.
fn weight(s: &[u8]) -> Option<f64> {
    let s = cstr(s);
    if s.is_empty() {
        return Some(0.0);
    }
    let (v, used, erange) = crate::types::num::strtod(s);
    (used == s.len() && !erange && !v.is_nan()).then_some(v)
}

#[cfg(test)]
#[path = "sort_tests.rs"]
mod tests;
