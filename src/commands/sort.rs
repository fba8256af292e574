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
use crate::error::CmdError;
use crate::spec;
use crate::types::db::Db;
use crate::types::encodings::Encodings;
use crate::types::list::List;
use crate::types::set::Set;
use crate::types::value::{write_i64, Value};
use crate::types::zset::ZSet;
use std::cmp::Ordering;

const NOT_DOUBLE: CmdError = CmdError::new("ERR One or more scores can't be converted into double");

const COMPLEXITY: &str = "O(N+M*log(M)) where N is the number of elements in the list or set to sort, and M the \
    number of returned elements. When the elements are not sorted, complexity is O(N).";

pub const SPECS: &[CommandSpec] = &[
    CommandSpec {
        getkeys: Some(sort_get_keys),
        ..spec!(
            "sort",
            -2,
            WRITE | DENYOOM | MOVABLE_KEYS,
            (1, 1, 1),
            SET | SORTEDSET | LIST | DANGEROUS,
            "generic",
            "1.0.0",
            "Sort the elements in a list, set or sorted set",
            COMPLEXITY,
            sort
        )
    },
    // Redis marks SORT_RO movablekeys too (its BY/GET key spec is "unknown"); its only key is argv[1].
    spec!(
        "sort_ro",
        -2,
        READONLY | MOVABLE_KEYS,
        (1, 1, 1),
        SET | SORTEDSET | LIST | DANGEROUS,
        "generic",
        "7.0.0",
        "Sort the elements in a list, set or sorted set. Read-only variant of SORT.",
        COMPLEXITY,
        sort_ro
    ),
];

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
fn str_bytes<'v>(v: &'v Value, tmp: &'v mut [u8; 20]) -> Option<&'v [u8]> {
    match v {
        Value::Int(i) => {
            let n = write_i64(tmp, *i);
            Some(&tmp[..n])
        }
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
    let mut tmp = [0u8; 20];
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
            o.sortby = Some(Pattern::parse(p));
            j += 1;
        } else if cstr_eq_ic(a, "get") && left >= 1 {
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
    } else if db.remove(dest).is_some() {
        cx.modified(dest);
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
mod tests {
    use super::*;
    use crate::commands::testutil::{new, run, T};
    use crate::types::hash::Hash;

    fn list(t: &mut T, key: &str, items: &[&str]) {
        let l = List::from_items(items.iter().map(|s| s.as_bytes().to_vec()), &t.s.enc);
        t.s.dbs[0].set(key.as_bytes(), Value::List(l), false);
    }

    fn set(t: &mut T, key: &str, items: &[&str]) {
        let s = Set::from_members(items.iter().map(|s| s.as_bytes().to_vec()), &t.s.enc);
        t.s.dbs[0].set(key.as_bytes(), Value::Set(s), false);
    }

    fn zset(t: &mut T, key: &str, items: &[(&str, f64)]) {
        let z = ZSet::from_pairs(items.iter().map(|(m, s)| (m.as_bytes().to_vec(), *s)), &t.s.enc);
        t.s.dbs[0].set(key.as_bytes(), Value::ZSet(z), false);
    }

    fn hash(t: &mut T, key: &str, pairs: &[(&str, &str)]) {
        let h = Hash::from_pairs(pairs.iter().map(|(f, v)| (f.as_bytes().to_vec(), v.as_bytes().to_vec())), &t.s.enc);
        t.s.dbs[0].set(key.as_bytes(), Value::Hash(h), false);
    }

    fn sset(t: &mut T, key: &str, v: &str) {
        t.s.dbs[0].set(key.as_bytes(), Value::string(v.as_bytes()), false);
    }

    /// RESP array of bulks.
    fn arr(items: &[&str]) -> String {
        let mut s = format!("*{}\r\n", items.len());
        for i in items {
            if *i == "(nil)" {
                s.push_str("$-1\r\n");
            } else {
                s.push_str(&format!("${}\r\n{}\r\n", i.len(), i));
            }
        }
        s
    }

    fn stored(t: &mut T, key: &str) -> Vec<String> {
        match t.s.dbs[0].get(key.as_bytes()).map(|e| &e.value) {
            Some(Value::List(l)) => l.iter().map(|e| String::from_utf8_lossy(e).into_owned()).collect(),
            Some(_) => panic!("not a list"),
            None => Vec::new(),
        }
    }

    #[test]
    fn numeric_sort_of_lists_sets_zsets() {
        let mut t = new();
        list(&mut t, "l", &["3", "1", "2", "10", "-1.5"]);
        assert_eq!(run(&mut t, &["sort", "l"]), arr(&["-1.5", "1", "2", "3", "10"]));
        assert_eq!(run(&mut t, &["sort", "l", "desc"]), arr(&["10", "3", "2", "1", "-1.5"]));
        assert_eq!(run(&mut t, &["SORT", "l", "DESC", "ASC"]), arr(&["-1.5", "1", "2", "3", "10"]));
        set(&mut t, "s", &["5", "40", "3"]);
        assert_eq!(run(&mut t, &["sort", "s"]), arr(&["3", "5", "40"]));
        zset(&mut t, "z", &[("9", 1.0), ("8", 2.0), ("7", 3.0)]);
        assert_eq!(run(&mut t, &["sort", "z"]), arr(&["7", "8", "9"]));
        assert_eq!(run(&mut t, &["sort_ro", "z", "desc"]), arr(&["9", "8", "7"]));
    }

    #[test]
    fn floats_and_issue_19() {
        let mut t = new();
        let floats = ["1.1", "5.10", "3.10", "7.44", "2.1", "5.75", "6.12", "0.25", "1.15"];
        list(&mut t, "l", &floats);
        assert_eq!(
            run(&mut t, &["sort", "l"]),
            arr(&["0.25", "1.1", "1.15", "2.1", "3.10", "5.10", "5.75", "6.12", "7.44"])
        );
    }

    #[test]
    fn alpha_is_bytewise() {
        let mut t = new();
        list(&mut t, "l", &["10", "3", "1", "2"]);
        assert_eq!(run(&mut t, &["sort", "l", "alpha"]), arr(&["1", "10", "2", "3"]));
        zset(&mut t, "z", &[("a", 1.0), ("b", 5.0), ("c", 2.0), ("d", 10.0), ("e", 3.0)]);
        assert_eq!(run(&mut t, &["sort", "z", "alpha", "desc"]), arr(&["e", "d", "c", "b", "a"]));
        list(&mut t, "u", &["é", "z", "Z", "a"]);
        assert_eq!(run(&mut t, &["sort", "u", "alpha"]), arr(&["Z", "a", "z", "é"]));
    }

    #[test]
    fn numeric_ties_sort_by_element() {
        let mut t = new();
        let els = ["a", "b", "c", "aa", "aaa", "azz"];
        set(&mut t, "s", &els);
        for e in els {
            sset(&mut t, &format!("score:{e}"), "100");
        }
        assert_eq!(run(&mut t, &["sort", "s", "by", "score:*"]), arr(&["a", "aa", "aaa", "azz", "b", "c"]));
        // Elements that are not numbers sort as equal scores when BY finds nothing.
        assert_eq!(run(&mut t, &["sort", "s", "by", "nokey:*"]), arr(&["a", "aa", "aaa", "azz", "b", "c"]));
    }

    #[test]
    fn bad_doubles() {
        let mut t = new();
        set(&mut t, "s", &["1", "2", "not-a-double"]);
        assert_eq!(run(&mut t, &["sort", "s"]), "-ERR One or more scores can't be converted into double\r\n");
        set(&mut t, "s", &["1", "2", "3", "4"]);
        for (k, v) in [("1", "10"), ("2", "20"), ("3", "30"), ("4", "not-a-double")] {
            sset(&mut t, &format!("score:{k}"), v);
        }
        assert_eq!(
            run(&mut t, &["sort", "s", "by", "score:*"]),
            "-ERR One or more scores can't be converted into double\r\n"
        );
        // ALPHA never parses; STORE reports the error and stores nothing.
        assert_eq!(run(&mut t, &["sort", "s", "by", "score:*", "alpha"]), arr(&["1", "2", "3", "4"]));
        assert_eq!(
            run(&mut t, &["sort", "s", "by", "score:*", "store", "d"]),
            "-ERR One or more scores can't be converted into double\r\n"
        );
        assert_eq!(run(&mut t, &["exists", "d"]), ":0\r\n");
    }

    #[test]
    fn strtod_rules() {
        for ok in ["", " 3", "\t\n3", "+5", "-5", ".5", "5.", "1e5", "1E+05", "0x10", "0X1P3", "  -0x1p3", "inf"] {
            assert!(weight(ok.as_bytes()).is_some(), "{ok:?}");
        }
        for ok in ["-inf", "INFINITY", "0e-400", "0.0000e5", "2.5e-308", "1e308", "0x1p-1040", "0x1.8p-1070"] {
            assert!(weight(ok.as_bytes()).is_some(), "{ok:?}");
        }
        for bad in [" ", "-", "3 ", "0x", "1e", "1e+", "0b1", "1,5", "nan", "-nan", "nan(1)", "infinit", "1e-310"] {
            assert!(weight(bad.as_bytes()).is_none(), "{bad:?}");
        }
        for bad in ["1e-320", "-1e-400", "1.8e308", "0x1p1024", "0x1.0000000000001p-1030", "1e99999999999999999999"] {
            assert!(weight(bad.as_bytes()).is_none(), "{bad:?}");
        }
        assert_eq!(weight(b"0x10"), Some(16.0));
        assert_eq!(weight(b"0x1.8p1"), Some(3.0));
        assert_eq!(weight(b"0x.8"), Some(0.5));
        assert_eq!(weight(b"0x1p-1074"), Some(f64::from_bits(1)));
        assert_eq!(weight(b"0x1.fffffffffffff8p0"), Some(2.0));
        assert_eq!(weight(b"0x1.fffffffffffff7p0"), Some(f64::from_bits(0x3fff_ffff_ffff_ffff)));
        assert_eq!(weight(b"0x1.00000000000008p0"), Some(1.0));
        assert_eq!(weight(b"0x1.000000000000080001p0"), Some(f64::from_bits(0x3ff0_0000_0000_0001)));
        assert_eq!(weight(b"0x123456789abcdef0123p0"), Some(0x123456789abcdef0123u128 as f64));
        assert_eq!(weight(b"-2.5"), Some(-2.5));
        assert_eq!(weight(b"3\0abc"), Some(3.0));
        // The smallest subnormal written out exactly is not an underflow error.
        let exact = format!("{:.1074e}", f64::from_bits(1));
        assert_eq!(weight(exact.as_bytes()), Some(f64::from_bits(1)));
        assert_eq!(weight(b"4.9406564584124654e-324"), None);
    }

    #[test]
    fn limit() {
        let mut t = new();
        list(&mut t, "L", &["2", "1", "0"]);
        let cases: &[(&[&str], &[&str])] = &[
            (&["limit", "2", "9223372036854775807"], &["2"]),
            (&["by", "a", "limit", "2", "9223372036854775807"], &["0"]),
            (&["limit", "-5", "2"], &["0", "1"]),
            (&["limit", "1", "-5"], &["1", "2"]),
            (&["limit", "1", "0"], &[]),
            (&["limit", "3", "1"], &[]),
            (&["limit", "2", "1"], &["2"]),
            (&["by", "a", "limit", "3", "1"], &[]),
            (&["by", "a", "desc", "limit", "1", "1"], &["1"]),
            (&["by", "a", "desc"], &["0", "1", "2"]),
            (&["limit", "1", "2", "limit", "0", "1"], &["0"]),
            (&["limit", "1", "1", "alpha", "desc"], &["1"]),
        ];
        for (args, want) in cases {
            let mut a = vec!["sort", "L"];
            a.extend_from_slice(args);
            assert_eq!(run(&mut t, &a), arr(want), "{args:?}");
        }
        assert_eq!(run(&mut t, &["sort", "L", "limit", "x", "1"]), "-ERR value is not an integer or out of range\r\n");
        assert_eq!(run(&mut t, &["sort", "L", "limit", "01", "1"]), "-ERR value is not an integer or out of range\r\n");
        assert_eq!(run(&mut t, &["sort", "L", "limit", "1"]), "-ERR syntax error\r\n");
    }

    #[test]
    fn syntax_and_types() {
        let mut t = new();
        sset(&mut t, "s", "x");
        assert_eq!(
            run(&mut t, &["sort", "s"]),
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
        );
        assert_eq!(run(&mut t, &["sort", "s", "foo"]), "-ERR syntax error\r\n");
        hash(&mut t, "h", &[("a", "1")]);
        assert_eq!(
            run(&mut t, &["sort", "h"]),
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
        );
        for bad in [&["store"][..], &["get"], &["by"], &["foo"]] {
            let mut a = vec!["sort", "nokey"];
            a.extend_from_slice(bad);
            assert_eq!(run(&mut t, &a), "-ERR syntax error\r\n");
        }
        assert_eq!(run(&mut t, &["sort", "nokey"]), "*0\r\n");
        assert_eq!(run(&mut t, &["sort", "nokey", "limit", "0", "5", "get", "x"]), "*0\r\n");
        assert_eq!(run(&mut t, &["sort_ro", "foolist", "STORE", "bar"]), "-ERR syntax error\r\n");
        assert_eq!(run(&mut t, &["sort"]), "-ERR wrong number of arguments for 'sort' command\r\n");
        // Option names are C strings to Redis: what follows a NUL is ignored.
        list(&mut t, "l", &["1", "2"]);
        assert_eq!(run(&mut t, &["sort", "l", "desc\0junk"]), arr(&["2", "1"]));
    }

    #[test]
    fn by_key_and_hash_field() {
        let mut t = new();
        list(&mut t, "l", &["1", "2", "3", "4"]);
        for (e, w) in [("1", "40"), ("2", "0.5"), ("3", "-3"), ("4", "7")] {
            sset(&mut t, &format!("weight_{e}"), w);
            hash(&mut t, &format!("wobj_{e}"), &[("weight", w)]);
        }
        assert_eq!(run(&mut t, &["sort", "l", "by", "weight_*"]), arr(&["3", "2", "4", "1"]));
        assert_eq!(run(&mut t, &["sort", "l", "by", "wobj_*->weight"]), arr(&["3", "2", "4", "1"]));
        assert_eq!(run(&mut t, &["sort", "l", "by", "weight_*", "desc", "limit", "1", "2"]), arr(&["4", "2"]));
        assert_eq!(run(&mut t, &["sort", "l", "by", "wobj_*->weight", "limit", "0", "1"]), arr(&["3"]));
        // Integer-encoded weights.
        sset(&mut t, "weight_3", "100");
        assert_eq!(run(&mut t, &["sort", "l", "by", "weight_*"]), arr(&["2", "4", "1", "3"]));
        // BY ALPHA compares the weights as strings; missing weights come first.
        t.s.dbs[0].remove(b"weight_4");
        assert_eq!(run(&mut t, &["sort", "l", "by", "weight_*", "alpha"]), arr(&["4", "2", "3", "1"]));
        assert_eq!(run(&mut t, &["sort", "l", "by", "weight_*", "alpha", "desc"]), arr(&["1", "3", "2", "4"]));
        // A hash field pattern on a string key, or a key pattern on a hash, finds nothing (weight 0).
        assert_eq!(run(&mut t, &["sort", "l", "by", "weight_*->weight"]), arr(&["1", "2", "3", "4"]));
        assert_eq!(run(&mut t, &["sort", "l", "by", "wobj_*", "desc"]), arr(&["4", "3", "2", "1"]));
    }

    #[test]
    fn get_patterns() {
        let mut t = new();
        list(&mut t, "l", &["2", "1", "3"]);
        sset(&mut t, "w_1", "one");
        sset(&mut t, "w_3", "three");
        hash(&mut t, "h_2", &[("f", "two")]);
        assert_eq!(run(&mut t, &["sort", "l", "get", "#"]), arr(&["1", "2", "3"]));
        assert_eq!(
            run(&mut t, &["sort", "l", "get", "#", "get", "w_*", "get", "h_*->f"]),
            arr(&["1", "one", "(nil)", "2", "(nil)", "two", "3", "three", "(nil)"])
        );
        assert_eq!(run(&mut t, &["sort", "l", "get", "foo"]), arr(&["(nil)", "(nil)", "(nil)"]));
        // A pattern ending in "->" names a key, not a field.
        list(&mut t, "m", &["a"]);
        sset(&mut t, "x:a->", "100");
        assert_eq!(run(&mut t, &["sort", "m", "by", "num", "get", "x:*->"]), arr(&["100"]));
        assert_eq!(run(&mut t, &["sort_ro", "m", "by", "nosort", "get", "x:*->"]), arr(&["100"]));
        // Only the first '*' is replaced; a hash key name may hold the element in the middle.
        sset(&mut t, "p_a_*", "star");
        assert_eq!(run(&mut t, &["sort", "m", "by", "x", "get", "p_*_*"]), arr(&["star"]));
        hash(&mut t, "k{a}", &[("f->g", "deep")]);
        assert_eq!(run(&mut t, &["sort", "m", "by", "x", "get", "k{*}->f->g"]), arr(&["deep"]));
        // RESP3 nil.
        run(&mut t, &["hello", "3"]);
        assert_eq!(run(&mut t, &["sort", "m", "alpha", "get", "nothing_*"]), "*1\r\n_\r\n");
    }

    #[test]
    fn nosort_keeps_native_order() {
        let mut t = new();
        list(&mut t, "testa", &["5", "3", "4", "1", "2"]);
        assert_eq!(run(&mut t, &["sort", "testa", "by", "nosort"]), arr(&["5", "3", "4", "1", "2"]));
        assert_eq!(run(&mut t, &["sort", "testa", "by", "nosort", "desc"]), arr(&["2", "1", "4", "3", "5"]));
        assert_eq!(run(&mut t, &["sort", "testa", "by", "nosort", "limit", "1", "2"]), arr(&["3", "4"]));
        assert_eq!(run(&mut t, &["sort", "testa", "by", "nosort", "desc", "limit", "1", "2"]), arr(&["1", "4"]));
        assert_eq!(run(&mut t, &["sort", "testa", "by", "nosort", "limit", "0", "3", "store", "testb"]), ":3\r\n");
        assert_eq!(stored(&mut t, "testb"), ["5", "3", "4"]);
        assert_eq!(run(&mut t, &["sort", "testa", "by", "nosort", "limit", "7", "3"]), "*0\r\n");

        zset(&mut t, "z", &[("a", 1.0), ("b", 5.0), ("c", 2.0), ("d", 10.0), ("e", 3.0)]);
        assert_eq!(run(&mut t, &["sort", "z", "by", "nosort", "asc"]), arr(&["a", "c", "e", "b", "d"]));
        assert_eq!(run(&mut t, &["sort", "z", "by", "nosort", "desc"]), arr(&["d", "b", "e", "c", "a"]));
        assert_eq!(run(&mut t, &["sort", "z", "by", "nosort", "asc", "limit", "0", "1"]), arr(&["a"]));
        assert_eq!(run(&mut t, &["sort", "z", "by", "nosort", "desc", "limit", "0", "1"]), arr(&["d"]));
        assert_eq!(run(&mut t, &["sort", "z", "by", "nosort", "asc", "limit", "0", "2"]), arr(&["a", "c"]));
        assert_eq!(run(&mut t, &["sort", "z", "by", "nosort", "desc", "limit", "0", "2"]), arr(&["d", "b"]));
        assert_eq!(run(&mut t, &["sort", "z", "by", "nosort", "limit", "5", "10"]), "*0\r\n");
        assert_eq!(run(&mut t, &["sort", "z", "by", "nosort", "limit", "-10", "100"]), arr(&["a", "c", "e", "b", "d"]));
        assert_eq!(run(&mut t, &["sort", "z", "by", "nosort", "desc", "limit", "1", "2"]), arr(&["b", "e"]));
        assert_eq!(run(&mut t, &["sort", "z", "by", "nosort", "get", "#", "limit", "4", "9"]), arr(&["d"]));
        // A constant BY pattern containing '*' only after a NUL is still constant.
        assert_eq!(run(&mut t, &["sort", "z", "by", "x\0*"]), arr(&["a", "c", "e", "b", "d"]));
    }

    #[test]
    fn sorting_a_zset_converts_it_to_skiplist() {
        let mut t = new();
        zset(&mut t, "z", &[("b", 2.0), ("a", 1.0)]);
        assert_eq!(run(&mut t, &["sort_ro", "z", "alpha"]), arr(&["a", "b"]));
        assert_eq!(run(&mut t, &["object", "encoding", "z"]), "$8\r\nskiplist\r\n");
        assert_eq!(run(&mut t, &["sort", "z", "by", "nosort", "desc"]), arr(&["b", "a"]));
        let dirty = t.s.persist.dirty;
        assert_eq!(run(&mut t, &["sort", "z", "by", "nosort"]), arr(&["a", "b"]));
        assert_eq!(t.s.persist.dirty, dirty);
    }

    #[test]
    fn set_by_constant() {
        let mut t = new();
        let els = ["a", "b", "c", "z", "aa", "aaa", "azz"];
        set(&mut t, "myset", &els);
        // From a client: the set's own order (whatever it is), no sorting, DESC ignored.
        let native: Vec<String> = match t.s.dbs[0].get(b"myset").map(|e| &e.value) {
            Some(Value::Set(s)) => s.members().map(|m| String::from_utf8_lossy(&m.bytes()).into_owned()).collect(),
            _ => unreachable!(),
        };
        let native: Vec<&str> = native.iter().map(|s| s.as_str()).collect();
        assert_eq!(run(&mut t, &["sort", "myset", "by", "_"]), arr(&native));
        assert_eq!(run(&mut t, &["sort", "myset", "by", "_", "desc"]), arr(&native));
        assert_eq!(run(&mut t, &["sort", "myset", "by", "_", "limit", "2", "3"]), arr(&native[2..5]));
        // With STORE it is sorted ALPHA, whatever the options said.
        assert_eq!(run(&mut t, &["sort", "myset", "by", "_", "store", "mylist"]), ":7\r\n");
        assert_eq!(stored(&mut t, "mylist"), ["a", "aa", "aaa", "azz", "b", "c", "z"]);
        assert_eq!(run(&mut t, &["sort", "myset", "by", "_", "desc", "limit", "1", "2", "store", "mylist"]), ":2\r\n");
        assert_eq!(stored(&mut t, "mylist"), ["c", "b"]);
    }

    #[test]
    fn store() {
        let mut t = new();
        assert_eq!(run(&mut t, &["sort", "foo", "store", "bar"]), ":0\r\n");
        list(&mut t, "foo", &["bar"]);
        assert_eq!(run(&mut t, &["sort", "foo", "alpha", "limit", "10", "10", "store", "zap"]), ":0\r\n");
        assert_eq!(run(&mut t, &["exists", "zap"]), ":0\r\n");
        // An empty result deletes the destination, whatever it held.
        let dirty = t.s.persist.dirty;
        assert_eq!(run(&mut t, &["sort", "emptylist", "store", "foo"]), ":0\r\n");
        assert_eq!(run(&mut t, &["exists", "foo"]), ":0\r\n");
        assert_eq!(t.s.persist.dirty, dirty + 1);
        // The destination is overwritten (any type), its TTL dropped; dirty counts the stored elements.
        list(&mut t, "l", &["3", "1", "2"]);
        sset(&mut t, "dst", "string");
        t.s.dbs[0].set_expire(b"dst", crate::types::clock::now_ms() + 100_000);
        let dirty = t.s.persist.dirty;
        assert_eq!(run(&mut t, &["sort", "l", "store", "dst"]), ":3\r\n");
        assert_eq!(t.s.persist.dirty, dirty + 3);
        assert_eq!(stored(&mut t, "dst"), ["1", "2", "3"]);
        assert_eq!(run(&mut t, &["ttl", "dst"]), ":-1\r\n");
        // GET with STORE: missing values become empty strings; the count is elements × GETs.
        sset(&mut t, "w_2", "two");
        assert_eq!(run(&mut t, &["sort", "l", "get", "#", "get", "w_*", "store", "dst"]), ":6\r\n");
        assert_eq!(stored(&mut t, "dst"), ["1", "", "2", "two", "3", ""]);
        // Storing into the sorted key itself.
        assert_eq!(run(&mut t, &["sort", "l", "desc", "store", "l"]), ":3\r\n");
        assert_eq!(stored(&mut t, "l"), ["3", "2", "1"]);
        // The last STORE wins.
        assert_eq!(run(&mut t, &["sort", "l", "store", "a", "store", "b"]), ":3\r\n");
        assert_eq!(run(&mut t, &["exists", "a", "b"]), ":1\r\n");
        assert_eq!(stored(&mut t, "b"), ["1", "2", "3"]);
    }

    #[test]
    fn alpha_nul_bytes() {
        // Without STORE, ALPHA compares as C strings (ties keep their order); with STORE, as bytes.
        let mut t = new();
        list(&mut t, "l", &["a\0z", "a\0b", "a", "a\0"]);
        let want = "*4\r\n$3\r\na\0z\r\n$3\r\na\0b\r\n$1\r\na\r\n$2\r\na\0\r\n";
        assert_eq!(run(&mut t, &["sort", "l", "alpha"]), want);
        assert_eq!(run(&mut t, &["sort", "l", "alpha", "desc"]), want);
        assert_eq!(run(&mut t, &["sort", "l", "alpha", "store", "s"]), ":4\r\n");
        assert_eq!(stored(&mut t, "s"), ["a", "a\0", "a\0b", "a\0z"]);
        list(&mut t, "n", &["3\0abc", "1", "2\0"]);
        assert_eq!(run(&mut t, &["sort", "n"]), "*3\r\n$1\r\n1\r\n$2\r\n2\0\r\n$5\r\n3\0abc\r\n");
    }

    /// Outputs recorded from redis-server 7.0.15: ties under ALPHA BY keep load order in a full sort and
    /// land where pqsort leaves them with a LIMIT.
    #[test]
    fn tie_order_matches_redis() {
        let mut t = new();
        let nums: Vec<String> = (1..=50).map(|i| i.to_string()).collect();
        let refs: Vec<&str> = nums.iter().map(|s| s.as_str()).collect();
        list(&mut t, "L", &refs);
        let split = |s: &str| -> Vec<String> { s.split(' ').map(|x| x.to_string()).collect() };
        let check = |t: &mut T, args: &[&str], want: &str| {
            let w = split(want);
            let w: Vec<&str> = w.iter().map(|s| s.as_str()).collect();
            assert_eq!(run(t, args), arr(&w), "{args:?}");
        };
        check(&mut t, &["sort", "L", "by", "nokey_*", "alpha", "limit", "0", "10"], "50 2 3 4 5 6 7 8 9 10");
        check(&mut t, &["sort", "L", "by", "nokey_*", "alpha", "limit", "20", "10"], "21 22 23 24 25 26 27 28 29 30");
        check(&mut t, &["sort", "L", "by", "nokey_*", "alpha", "desc", "limit", "3", "10"], "4 5 6 7 8 9 10 11 12 13");
        check(&mut t, &["sort", "L", "by", "nokey_*", "alpha"], &refs.join(" "));
        for i in 1..=50 {
            sset(&mut t, &format!("w_{i}"), &(i % 3).to_string());
        }
        check(
            &mut t,
            &["sort", "L", "by", "w_*", "alpha", "limit", "5", "30"],
            "9 24 15 48 27 42 3 30 6 12 18 31 1 13 37 40 43 16 46 7 49 34 19 4 22 25 10 28 50 2",
        );
        check(
            &mut t,
            &["sort", "L", "by", "w_*", "alpha"],
            "3 6 9 12 15 18 21 24 27 30 33 36 39 42 45 48 1 4 7 10 13 16 19 22 25 28 31 34 37 40 43 46 49 2 5 8 11 14 \
             17 20 23 26 29 32 35 38 41 44 47 50",
        );
        check(
            &mut t,
            &["sort", "L", "by", "w_*", "limit", "5", "30"],
            "27 3 30 33 36 39 42 45 48 6 9 1 10 13 16 19 22 25 28 31 34 37 4 40 43 46 49 7 11 14",
        );
    }

    #[test]
    fn pqsort_sorts_the_range() {
        // Against a full sort, on pseudo-random data with many duplicates.
        let mut x: u64 = 12345;
        for n in [0usize, 1, 5, 7, 8, 40, 41, 100, 1000] {
            let v: Vec<u32> = (0..n)
                .map(|_| {
                    x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    ((x >> 33) % 50) as u32
                })
                .collect();
            let mut full = v.clone();
            full.sort();
            for (l, r) in [(0i64, n as i64 - 1), (3, 9), (n as i64 / 2, n as i64 / 2 + 5), (n as i64 - 1, n as i64 - 2)]
            {
                let mut p = v.clone();
                pqsort(&mut p, |a, b| a.cmp(b), l, r);
                for i in l.max(0)..=r.min(n as i64 - 1) {
                    assert_eq!(p[i as usize], full[i as usize], "n={n} range {l}..={r}");
                }
            }
        }
    }

    #[test]
    fn get_keys() {
        let mut t = new();
        assert_eq!(run(&mut t, &["command", "getkeys", "sort", "abc", "store", "def"]), arr(&["abc", "def"]));
        assert_eq!(run(&mut t, &["command", "getkeys", "sort_ro", "abc"]), arr(&["abc"]));
        assert_eq!(
            run(
                &mut t,
                &["command", "getkeys", "sort", "abc", "store", "invalid", "store", "stillbad", "store", "def"]
            ),
            arr(&["abc", "def"])
        );
        assert_eq!(run(&mut t, &["command", "getkeys", "sort", "abc", "get", "store", "x"]), arr(&["abc"]));
        assert_eq!(run(&mut t, &["command", "getkeys", "sort", "abc", "limit", "store", "x", "store"]), arr(&["abc"]));
        assert_eq!(run(&mut t, &["command", "getkeys", "sort", "abc", "by", "x", "STORE", "y"]), arr(&["abc", "y"]));
        let info = run(&mut t, &["command", "info", "sort"]);
        assert!(info.contains("movablekeys") && info.contains("denyoom"), "{info}");
        let info = run(&mut t, &["command", "info", "sort_ro"]);
        assert!(info.contains("movablekeys") && info.contains("readonly"), "{info}");
    }

    #[test]
    fn big_sets_and_lists_sort_by_weights() {
        let mut t = new();
        let n = 1000;
        let items: Vec<String> = (0..n).map(|i| i.to_string()).collect();
        let refs: Vec<&str> = items.iter().map(|s| s.as_str()).collect();
        list(&mut t, "l", &refs);
        set(&mut t, "s", &refs);
        // Weight of i is (i * 7919) mod 1000: a permutation.
        for i in 0..n {
            let w = (i * 7919) % 1000;
            sset(&mut t, &format!("weight_{i}"), &w.to_string());
            hash(&mut t, &format!("wobj_{i}"), &[("weight", &format!("{w}.5"))]);
        }
        let mut want: Vec<usize> = (0..n).collect();
        want.sort_by_key(|&i| (i * 7919) % 1000);
        let want: Vec<String> = want.iter().map(|i| i.to_string()).collect();
        let want: Vec<&str> = want.iter().map(|s| s.as_str()).collect();
        for key in ["l", "s"] {
            assert_eq!(run(&mut t, &["sort", key, "by", "weight_*"]), arr(&want));
            assert_eq!(run(&mut t, &["sort", key, "by", "wobj_*->weight"]), arr(&want));
            assert_eq!(run(&mut t, &["sort", key, "by", "weight_*", "limit", "5", "5"]), arr(&want[5..10]));
            assert_eq!(run(&mut t, &["sort", key, "by", "wobj_*->weight", "limit", "990", "50"]), arr(&want[990..]));
        }
    }
}
