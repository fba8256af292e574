use super::*;
use crate::commands::testutil::{arr, bulk, bulks, err, int, new, run, run_raw, T};
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

/// RESP array of bulks, "(nil)" a null bulk: exact bytes, for run_raw.
fn raw_arr(items: &[&str]) -> String {
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
    assert_eq!(run(&mut t, &["sort", "l"]), bulks(&["-1.5", "1", "2", "3", "10"]));
    assert_eq!(run(&mut t, &["sort", "l", "desc"]), bulks(&["10", "3", "2", "1", "-1.5"]));
    assert_eq!(run(&mut t, &["SORT", "l", "DESC", "ASC"]), bulks(&["-1.5", "1", "2", "3", "10"]));
    set(&mut t, "s", &["5", "40", "3"]);
    assert_eq!(run(&mut t, &["sort", "s"]), bulks(&["3", "5", "40"]));
    zset(&mut t, "z", &[("9", 1.0), ("8", 2.0), ("7", 3.0)]);
    assert_eq!(run(&mut t, &["sort", "z"]), bulks(&["7", "8", "9"]));
    assert_eq!(run(&mut t, &["sort_ro", "z", "desc"]), bulks(&["9", "8", "7"]));
}

#[test]
fn floats_and_issue_19() {
    let mut t = new();
    let floats = ["1.1", "5.10", "3.10", "7.44", "2.1", "5.75", "6.12", "0.25", "1.15"];
    list(&mut t, "l", &floats);
    assert_eq!(
        run(&mut t, &["sort", "l"]),
        bulks(&["0.25", "1.1", "1.15", "2.1", "3.10", "5.10", "5.75", "6.12", "7.44"])
    );
}

#[test]
fn alpha_is_bytewise() {
    let mut t = new();
    list(&mut t, "l", &["10", "3", "1", "2"]);
    assert_eq!(run(&mut t, &["sort", "l", "alpha"]), bulks(&["1", "10", "2", "3"]));
    zset(&mut t, "z", &[("a", 1.0), ("b", 5.0), ("c", 2.0), ("d", 10.0), ("e", 3.0)]);
    assert_eq!(run(&mut t, &["sort", "z", "alpha", "desc"]), bulks(&["e", "d", "c", "b", "a"]));
    list(&mut t, "u", &["é", "z", "Z", "a"]);
    assert_eq!(run(&mut t, &["sort", "u", "alpha"]), bulks(&["Z", "a", "z", "é"]));
}

#[test]
fn numeric_ties_sort_by_element() {
    let mut t = new();
    let els = ["a", "b", "c", "aa", "aaa", "azz"];
    set(&mut t, "s", &els);
    for e in els {
        sset(&mut t, &format!("score:{e}"), "100");
    }
    assert_eq!(run(&mut t, &["sort", "s", "by", "score:*"]), bulks(&["a", "aa", "aaa", "azz", "b", "c"]));
    // Elements that are not numbers sort as equal scores when BY finds nothing.
    assert_eq!(run(&mut t, &["sort", "s", "by", "nokey:*"]), bulks(&["a", "aa", "aaa", "azz", "b", "c"]));
}

#[test]
fn bad_doubles() {
    let mut t = new();
    set(&mut t, "s", &["1", "2", "not-a-double"]);
    assert_eq!(run(&mut t, &["sort", "s"]), err("ERR One or more scores can't be converted into double"));
    set(&mut t, "s", &["1", "2", "3", "4"]);
    for (k, v) in [("1", "10"), ("2", "20"), ("3", "30"), ("4", "not-a-double")] {
        sset(&mut t, &format!("score:{k}"), v);
    }
    assert_eq!(
        run(&mut t, &["sort", "s", "by", "score:*"]),
        err("ERR One or more scores can't be converted into double")
    );
    // ALPHA never parses; STORE reports the error and stores nothing.
    assert_eq!(run(&mut t, &["sort", "s", "by", "score:*", "alpha"]), bulks(&["1", "2", "3", "4"]));
    assert_eq!(
        run(&mut t, &["sort", "s", "by", "score:*", "store", "d"]),
        err("ERR One or more scores can't be converted into double")
    );
    assert_eq!(run(&mut t, &["exists", "d"]), int(0));
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
        assert_eq!(run(&mut t, &a), bulks(want), "{args:?}");
    }
    assert_eq!(run(&mut t, &["sort", "L", "limit", "x", "1"]), err("ERR value is not an integer or out of range"));
    assert_eq!(run(&mut t, &["sort", "L", "limit", "01", "1"]), err("ERR value is not an integer or out of range"));
    assert_eq!(run(&mut t, &["sort", "L", "limit", "1"]), err("ERR syntax error"));
}

#[test]
fn syntax_and_types() {
    let mut t = new();
    sset(&mut t, "s", "x");
    assert_eq!(run(&mut t, &["sort", "s"]), err("WRONGTYPE Operation against a key holding the wrong kind of value"));
    assert_eq!(run(&mut t, &["sort", "s", "foo"]), err("ERR syntax error"));
    hash(&mut t, "h", &[("a", "1")]);
    assert_eq!(run(&mut t, &["sort", "h"]), err("WRONGTYPE Operation against a key holding the wrong kind of value"));
    for bad in [&["store"][..], &["get"], &["by"], &["foo"]] {
        let mut a = vec!["sort", "nokey"];
        a.extend_from_slice(bad);
        assert_eq!(run(&mut t, &a), err("ERR syntax error"));
    }
    assert_eq!(run(&mut t, &["sort", "nokey"]), arr(vec![]));
    assert_eq!(run(&mut t, &["sort", "nokey", "limit", "0", "5", "get", "x"]), arr(vec![]));
    assert_eq!(run(&mut t, &["sort_ro", "foolist", "STORE", "bar"]), err("ERR syntax error"));
    assert_eq!(run(&mut t, &["sort"]), err("ERR wrong number of arguments for 'sort' command"));
    // Option names are C strings to Redis: what follows a NUL is ignored.
    list(&mut t, "l", &["1", "2"]);
    assert_eq!(run(&mut t, &["sort", "l", "desc\0junk"]), bulks(&["2", "1"]));
}

#[test]
fn by_key_and_hash_field() {
    let mut t = new();
    list(&mut t, "l", &["1", "2", "3", "4"]);
    for (e, w) in [("1", "40"), ("2", "0.5"), ("3", "-3"), ("4", "7")] {
        sset(&mut t, &format!("weight_{e}"), w);
        hash(&mut t, &format!("wobj_{e}"), &[("weight", w)]);
    }
    assert_eq!(run(&mut t, &["sort", "l", "by", "weight_*"]), bulks(&["3", "2", "4", "1"]));
    assert_eq!(run(&mut t, &["sort", "l", "by", "wobj_*->weight"]), bulks(&["3", "2", "4", "1"]));
    assert_eq!(run(&mut t, &["sort", "l", "by", "weight_*", "desc", "limit", "1", "2"]), bulks(&["4", "2"]));
    assert_eq!(run(&mut t, &["sort", "l", "by", "wobj_*->weight", "limit", "0", "1"]), bulks(&["3"]));
    // Integer-encoded weights.
    sset(&mut t, "weight_3", "100");
    assert_eq!(run(&mut t, &["sort", "l", "by", "weight_*"]), bulks(&["2", "4", "1", "3"]));
    // BY ALPHA compares the weights as strings; missing weights come first.
    t.s.dbs[0].remove(b"weight_4");
    assert_eq!(run(&mut t, &["sort", "l", "by", "weight_*", "alpha"]), bulks(&["4", "2", "3", "1"]));
    assert_eq!(run(&mut t, &["sort", "l", "by", "weight_*", "alpha", "desc"]), bulks(&["1", "3", "2", "4"]));
    // A hash field pattern on a string key, or a key pattern on a hash, finds nothing (weight 0).
    assert_eq!(run(&mut t, &["sort", "l", "by", "weight_*->weight"]), bulks(&["1", "2", "3", "4"]));
    assert_eq!(run(&mut t, &["sort", "l", "by", "wobj_*", "desc"]), bulks(&["4", "3", "2", "1"]));
}

#[test]
fn get_patterns() {
    let mut t = new();
    list(&mut t, "l", &["2", "1", "3"]);
    sset(&mut t, "w_1", "one");
    sset(&mut t, "w_3", "three");
    hash(&mut t, "h_2", &[("f", "two")]);
    assert_eq!(run(&mut t, &["sort", "l", "get", "#"]), bulks(&["1", "2", "3"]));
    assert_eq!(
        run_raw(&mut t, &["sort", "l", "get", "#", "get", "w_*", "get", "h_*->f"]),
        raw_arr(&["1", "one", "(nil)", "2", "(nil)", "two", "3", "three", "(nil)"])
    );
    assert_eq!(run_raw(&mut t, &["sort", "l", "get", "foo"]), raw_arr(&["(nil)", "(nil)", "(nil)"]));
    // A pattern ending in "->" names a key, not a field.
    list(&mut t, "m", &["a"]);
    sset(&mut t, "x:a->", "100");
    assert_eq!(run(&mut t, &["sort", "m", "by", "num", "get", "x:*->"]), bulks(&["100"]));
    assert_eq!(run(&mut t, &["sort_ro", "m", "by", "nosort", "get", "x:*->"]), bulks(&["100"]));
    // Only the first '*' is replaced; a hash key name may hold the element in the middle.
    sset(&mut t, "p_a_*", "star");
    assert_eq!(run(&mut t, &["sort", "m", "by", "x", "get", "p_*_*"]), bulks(&["star"]));
    hash(&mut t, "k{a}", &[("f->g", "deep")]);
    assert_eq!(run(&mut t, &["sort", "m", "by", "x", "get", "k{*}->f->g"]), bulks(&["deep"]));
    // RESP3 nil.
    run(&mut t, &["hello", "3"]);
    assert_eq!(run_raw(&mut t, &["sort", "m", "alpha", "get", "nothing_*"]), "*1\r\n_\r\n");
}

#[test]
fn nosort_keeps_native_order() {
    let mut t = new();
    list(&mut t, "testa", &["5", "3", "4", "1", "2"]);
    assert_eq!(run(&mut t, &["sort", "testa", "by", "nosort"]), bulks(&["5", "3", "4", "1", "2"]));
    assert_eq!(run(&mut t, &["sort", "testa", "by", "nosort", "desc"]), bulks(&["2", "1", "4", "3", "5"]));
    assert_eq!(run(&mut t, &["sort", "testa", "by", "nosort", "limit", "1", "2"]), bulks(&["3", "4"]));
    assert_eq!(run(&mut t, &["sort", "testa", "by", "nosort", "desc", "limit", "1", "2"]), bulks(&["1", "4"]));
    assert_eq!(run(&mut t, &["sort", "testa", "by", "nosort", "limit", "0", "3", "store", "testb"]), int(3));
    assert_eq!(stored(&mut t, "testb"), ["5", "3", "4"]);
    assert_eq!(run(&mut t, &["sort", "testa", "by", "nosort", "limit", "7", "3"]), arr(vec![]));

    zset(&mut t, "z", &[("a", 1.0), ("b", 5.0), ("c", 2.0), ("d", 10.0), ("e", 3.0)]);
    assert_eq!(run(&mut t, &["sort", "z", "by", "nosort", "asc"]), bulks(&["a", "c", "e", "b", "d"]));
    assert_eq!(run(&mut t, &["sort", "z", "by", "nosort", "desc"]), bulks(&["d", "b", "e", "c", "a"]));
    assert_eq!(run(&mut t, &["sort", "z", "by", "nosort", "asc", "limit", "0", "1"]), bulks(&["a"]));
    assert_eq!(run(&mut t, &["sort", "z", "by", "nosort", "desc", "limit", "0", "1"]), bulks(&["d"]));
    assert_eq!(run(&mut t, &["sort", "z", "by", "nosort", "asc", "limit", "0", "2"]), bulks(&["a", "c"]));
    assert_eq!(run(&mut t, &["sort", "z", "by", "nosort", "desc", "limit", "0", "2"]), bulks(&["d", "b"]));
    assert_eq!(run(&mut t, &["sort", "z", "by", "nosort", "limit", "5", "10"]), arr(vec![]));
    assert_eq!(run(&mut t, &["sort", "z", "by", "nosort", "limit", "-10", "100"]), bulks(&["a", "c", "e", "b", "d"]));
    assert_eq!(run(&mut t, &["sort", "z", "by", "nosort", "desc", "limit", "1", "2"]), bulks(&["b", "e"]));
    assert_eq!(run(&mut t, &["sort", "z", "by", "nosort", "get", "#", "limit", "4", "9"]), bulks(&["d"]));
    // A constant BY pattern containing '*' only after a NUL is still constant.
    assert_eq!(run(&mut t, &["sort", "z", "by", "x\0*"]), bulks(&["a", "c", "e", "b", "d"]));
}

#[test]
fn sorting_a_zset_converts_it_to_skiplist() {
    let mut t = new();
    zset(&mut t, "z", &[("b", 2.0), ("a", 1.0)]);
    assert_eq!(run(&mut t, &["sort_ro", "z", "alpha"]), bulks(&["a", "b"]));
    assert_eq!(run(&mut t, &["object", "encoding", "z"]), bulk("skiplist"));
    assert_eq!(run(&mut t, &["sort", "z", "by", "nosort", "desc"]), bulks(&["b", "a"]));
    let dirty = t.s.persist.dirty;
    assert_eq!(run(&mut t, &["sort", "z", "by", "nosort"]), bulks(&["a", "b"]));
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
    assert_eq!(run(&mut t, &["sort", "myset", "by", "_"]), bulks(&native));
    assert_eq!(run(&mut t, &["sort", "myset", "by", "_", "desc"]), bulks(&native));
    assert_eq!(run(&mut t, &["sort", "myset", "by", "_", "limit", "2", "3"]), bulks(&native[2..5]));
    // With STORE it is sorted ALPHA, whatever the options said.
    assert_eq!(run(&mut t, &["sort", "myset", "by", "_", "store", "mylist"]), int(7));
    assert_eq!(stored(&mut t, "mylist"), ["a", "aa", "aaa", "azz", "b", "c", "z"]);
    assert_eq!(run(&mut t, &["sort", "myset", "by", "_", "desc", "limit", "1", "2", "store", "mylist"]), int(2));
    assert_eq!(stored(&mut t, "mylist"), ["c", "b"]);
}

#[test]
fn store() {
    let mut t = new();
    assert_eq!(run(&mut t, &["sort", "foo", "store", "bar"]), int(0));
    list(&mut t, "foo", &["bar"]);
    assert_eq!(run(&mut t, &["sort", "foo", "alpha", "limit", "10", "10", "store", "zap"]), int(0));
    assert_eq!(run(&mut t, &["exists", "zap"]), int(0));
    // An empty result deletes the destination, whatever it held.
    let dirty = t.s.persist.dirty;
    assert_eq!(run(&mut t, &["sort", "emptylist", "store", "foo"]), int(0));
    assert_eq!(run(&mut t, &["exists", "foo"]), int(0));
    assert_eq!(t.s.persist.dirty, dirty + 1);
    // The destination is overwritten (any type), its TTL dropped; dirty counts the stored elements.
    list(&mut t, "l", &["3", "1", "2"]);
    sset(&mut t, "dst", "string");
    t.s.dbs[0].set_expire(b"dst", crate::types::clock::now_ms() + 100_000);
    let dirty = t.s.persist.dirty;
    assert_eq!(run(&mut t, &["sort", "l", "store", "dst"]), int(3));
    assert_eq!(t.s.persist.dirty, dirty + 3);
    assert_eq!(stored(&mut t, "dst"), ["1", "2", "3"]);
    assert_eq!(run(&mut t, &["ttl", "dst"]), int(-1));
    // GET with STORE: missing values become empty strings; the count is elements × GETs.
    sset(&mut t, "w_2", "two");
    assert_eq!(run(&mut t, &["sort", "l", "get", "#", "get", "w_*", "store", "dst"]), int(6));
    assert_eq!(stored(&mut t, "dst"), ["1", "", "2", "two", "3", ""]);
    // Storing into the sorted key itself.
    assert_eq!(run(&mut t, &["sort", "l", "desc", "store", "l"]), int(3));
    assert_eq!(stored(&mut t, "l"), ["3", "2", "1"]);
    // The last STORE wins.
    assert_eq!(run(&mut t, &["sort", "l", "store", "a", "store", "b"]), int(3));
    assert_eq!(run(&mut t, &["exists", "a", "b"]), int(1));
    assert_eq!(stored(&mut t, "b"), ["1", "2", "3"]);
}

#[test]
fn alpha_nul_bytes() {
    // Without STORE, ALPHA compares as C strings (ties keep their order); with STORE, as bytes.
    let mut t = new();
    list(&mut t, "l", &["a\0z", "a\0b", "a", "a\0"]);
    let want = bulks(&["a\0z", "a\0b", "a", "a\0"]);
    assert_eq!(run(&mut t, &["sort", "l", "alpha"]), want);
    assert_eq!(run(&mut t, &["sort", "l", "alpha", "desc"]), want);
    assert_eq!(run(&mut t, &["sort", "l", "alpha", "store", "s"]), int(4));
    assert_eq!(stored(&mut t, "s"), ["a", "a\0", "a\0b", "a\0z"]);
    list(&mut t, "n", &["3\0abc", "1", "2\0"]);
    assert_eq!(run(&mut t, &["sort", "n"]), bulks(&["1", "2\0", "3\0abc"]));
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
        assert_eq!(run(t, args), bulks(&w), "{args:?}");
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
        for (l, r) in [(0i64, n as i64 - 1), (3, 9), (n as i64 / 2, n as i64 / 2 + 5), (n as i64 - 1, n as i64 - 2)] {
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
    assert_eq!(run(&mut t, &["command", "getkeys", "sort", "abc", "store", "def"]), bulks(&["abc", "def"]));
    assert_eq!(run(&mut t, &["command", "getkeys", "sort_ro", "abc"]), bulks(&["abc"]));
    assert_eq!(
        run(&mut t, &["command", "getkeys", "sort", "abc", "store", "invalid", "store", "stillbad", "store", "def"]),
        bulks(&["abc", "def"])
    );
    assert_eq!(run(&mut t, &["command", "getkeys", "sort", "abc", "get", "store", "x"]), bulks(&["abc"]));
    assert_eq!(run(&mut t, &["command", "getkeys", "sort", "abc", "limit", "store", "x", "store"]), bulks(&["abc"]));
    assert_eq!(run(&mut t, &["command", "getkeys", "sort", "abc", "by", "x", "STORE", "y"]), bulks(&["abc", "y"]));
    let info = run_raw(&mut t, &["command", "info", "sort"]);
    assert!(info.contains("movablekeys") && info.contains("denyoom"), "{info}");
    let info = run_raw(&mut t, &["command", "info", "sort_ro"]);
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
        assert_eq!(run(&mut t, &["sort", key, "by", "weight_*"]), bulks(&want));
        assert_eq!(run(&mut t, &["sort", key, "by", "wobj_*->weight"]), bulks(&want));
        assert_eq!(run(&mut t, &["sort", key, "by", "weight_*", "limit", "5", "5"]), bulks(&want[5..10]));
        assert_eq!(run(&mut t, &["sort", key, "by", "wobj_*->weight", "limit", "990", "50"]), bulks(&want[990..]));
    }
}
