use super::*;
use crate::commands::testutil::{arr, bulk, bulks, err, int, new, ok, run, run_raw, simple, T};
use crate::types::value::Value;

fn put(t: &mut T, k: &str, v: &str) {
    t.s.dbs[0].set(k.as_bytes(), Value::string(v.as_bytes()), false);
}

fn get(t: &mut T, db: usize, k: &str) -> Option<Vec<u8>> {
    t.s.dbs[db].get(k.as_bytes()).and_then(|e| e.value.to_vec())
}

#[test]
fn del_exists_unlink() {
    let mut t = new();
    put(&mut t, "a", "1");
    put(&mut t, "b", "2");
    put(&mut t, "c", "3");
    assert_eq!(run(&mut t, &["exists", "a", "a", "b", "zz"]), int(3));
    assert_eq!(run(&mut t, &["del", "a", "b", "zz", "a"]), int(2));
    assert_eq!(run(&mut t, &["unlink", "c"]), int(1));
    assert_eq!(run(&mut t, &["exists", "a"]), int(0));
    assert_eq!(run(&mut t, &["del"]), err("ERR wrong number of arguments for 'del' command"));
}

#[test]
fn del_of_expired_key_is_zero() {
    clock::set_mock(1_000_000);
    let mut t = new();
    put(&mut t, "k", "v");
    t.s.dbs[0].set_expire(b"k", 1_000_500);
    clock::set_mock(1_001_000);
    assert_eq!(run(&mut t, &["del", "k"]), int(0));
    assert_eq!(t.s.dbs[0].expired_keys, 1);
    clock::clear_mock();
}

#[test]
fn type_and_touch() {
    let mut t = new();
    put(&mut t, "s", "hello");
    assert_eq!(run(&mut t, &["type", "s"]), simple("string"));
    assert_eq!(run(&mut t, &["type", "nope"]), simple("none"));
    assert_eq!(run(&mut t, &["touch", "s", "nope", "s"]), int(2));
}

#[test]
fn keys_with_patterns() {
    let mut t = new();
    for k in ["key_x", "key_y", "key_z", "foo_a", "foo_b", "foo_c"] {
        put(&mut t, k, "hello");
    }
    put(&mut t, "", "empty");
    let r = run_raw(&mut t, &["keys", "foo*"]);
    assert!(r.starts_with("*3\r\n"));
    for k in ["foo_a", "foo_b", "foo_c"] {
        assert!(r.contains(&format!("${}\r\n{}\r\n", k.len(), k)));
    }
    // "*" returns the empty key too (the matcher alone would not).
    assert!(run_raw(&mut t, &["keys", "*"]).starts_with("*7\r\n"));
    assert!(run_raw(&mut t, &["keys", "**"]).starts_with("*6\r\n"));
    assert_eq!(run(&mut t, &["keys", "nomatch*"]), arr(vec![]));
}

#[test]
fn keys_pattern_regression_long_nested_loops() {
    let mut t = new();
    put(&mut t, &"a".repeat(40), "1");
    assert_eq!(run(&mut t, &["keys", "a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b"]), arr(vec![]));
}

#[test]
fn keys_skips_expired() {
    clock::set_mock(1_000_000);
    let mut t = new();
    put(&mut t, "live", "1");
    put(&mut t, "dead", "1");
    t.s.dbs[0].set_expire(b"dead", 1_000_100);
    clock::set_mock(1_000_200);
    assert_eq!(run(&mut t, &["keys", "*"]), bulks(&["live"]));
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
        let r = run_raw(t, &args);
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
    assert_eq!(run(&mut t, &["scan", "abc"]), err("ERR invalid cursor"));
    assert_eq!(run(&mut t, &["scan", " 1"]), err("ERR invalid cursor"));
    assert_eq!(run(&mut t, &["scan", "1 "]), err("ERR invalid cursor"));
    assert_eq!(run(&mut t, &["scan", "18446744073709551616"]), err("ERR invalid cursor"));
    assert_eq!(run(&mut t, &["scan", "+"]), err("ERR invalid cursor"));
    assert_eq!(run(&mut t, &["scan", "0", "count", "0"]), err("ERR syntax error"));
    assert_eq!(run(&mut t, &["scan", "0", "count", "x"]), err("ERR value is not an integer or out of range"));
    assert_eq!(run(&mut t, &["scan", "0", "match"]), err("ERR syntax error"));
    assert_eq!(run(&mut t, &["scan", "0", "foo", "bar"]), err("ERR syntax error"));
    assert_eq!(parse_cursor(b""), Some(0));
    assert_eq!(parse_cursor(b"007"), Some(7));
    assert_eq!(parse_cursor(b"+7"), Some(7));
    assert_eq!(parse_cursor(b"-1"), Some(u64::MAX));
    assert_eq!(parse_cursor(b"18446744073709551615"), Some(u64::MAX));
    assert_eq!(parse_cursor(b"5\0junk"), Some(5));
    assert_eq!(run(&mut t, &["scan", "0"]), arr(vec![bulk("0"), arr(vec![])]));
}

#[test]
fn randomkey() {
    let mut t = new();
    assert_eq!(run_raw(&mut t, &["randomkey"]), "$-1\r\n");
    put(&mut t, "foo", "x");
    assert_eq!(run(&mut t, &["randomkey"]), bulk("foo"));
}

#[test]
fn rename_family() {
    clock::set_mock(1_000_000);
    let mut t = new();
    assert_eq!(run(&mut t, &["rename", "nokey", "x"]), err("ERR no such key"));
    assert_eq!(run(&mut t, &["renamenx", "nokey", "x"]), err("ERR no such key"));
    assert_eq!(run(&mut t, &["rename", "nokey", "nokey"]), err("ERR no such key"));
    put(&mut t, "a", "hello");
    assert_eq!(run(&mut t, &["rename", "a", "a"]), ok());
    assert_eq!(run(&mut t, &["renamenx", "a", "a"]), int(0));
    t.s.dbs[0].set_expire(b"a", 1_100_000);
    assert_eq!(run(&mut t, &["rename", "a", "b"]), ok());
    assert_eq!(get(&mut t, 0, "a"), None);
    assert_eq!(get(&mut t, 0, "b").as_deref(), Some(&b"hello"[..]));
    // The TTL moves with the key.
    assert_eq!(run(&mut t, &["pttl", "b"]), int(100000));
    // The target's TTL is not inherited.
    put(&mut t, "c", "x");
    put(&mut t, "d", "y");
    t.s.dbs[0].set_expire(b"d", 1_100_000);
    assert_eq!(run(&mut t, &["rename", "c", "d"]), ok());
    assert_eq!(run(&mut t, &["ttl", "d"]), int(-1));
    assert_eq!(get(&mut t, 0, "d").as_deref(), Some(&b"x"[..]));
    put(&mut t, "e", "1");
    assert_eq!(run(&mut t, &["renamenx", "e", "d"]), int(0));
    assert_eq!(run(&mut t, &["renamenx", "e", "f"]), int(1));
    assert_eq!(t.s.dbs[0].len(), 3);
    clock::clear_mock();
}

#[test]
fn move_between_dbs() {
    clock::set_mock(1_000_000);
    let mut t = new();
    put(&mut t, "k", "foo");
    t.s.dbs[0].set_expire(b"k", 1_100_000);
    assert_eq!(run(&mut t, &["move", "k", "0"]), err("ERR source and destination objects are the same"));
    assert_eq!(run(&mut t, &["move", "k", "notanumber"]), err("ERR value is not an integer or out of range"));
    assert_eq!(run(&mut t, &["move", "k", "99"]), err("ERR DB index is out of range"));
    assert_eq!(run(&mut t, &["move", "k", "-1"]), err("ERR DB index is out of range"));
    assert_eq!(
        run(&mut t, &["move", "k", "4294967296"]),
        err("ERR value is out of range, value must between -2147483648 and 2147483647")
    );
    assert_eq!(run(&mut t, &["move", "k", "99999999999999999999"]), err("ERR value is not an integer or out of range"));
    assert_eq!(run(&mut t, &["move", "nokey", "1"]), int(0));
    assert_eq!(run(&mut t, &["move", "k", "1"]), int(1));
    assert_eq!(get(&mut t, 0, "k"), None);
    assert_eq!(get(&mut t, 1, "k").as_deref(), Some(&b"foo"[..]));
    assert_eq!(t.s.dbs[1].expire_at(b"k"), Some(1_100_000));
    put(&mut t, "k", "bar");
    assert_eq!(run(&mut t, &["move", "k", "1"]), int(0));
    clock::clear_mock();
}

#[test]
fn copy_within_and_across_dbs() {
    clock::set_mock(1_000_000);
    let mut t = new();
    put(&mut t, "src", "foobar");
    assert_eq!(run(&mut t, &["copy", "src", "src"]), err("ERR source and destination objects are the same"));
    assert_eq!(run(&mut t, &["copy", "src", "src", "db", "0"]), err("ERR source and destination objects are the same"));
    assert_eq!(
        run(&mut t, &["copy", "src", "x", "db", "notanumber"]),
        err("ERR value is not an integer or out of range")
    );
    assert_eq!(run(&mut t, &["copy", "src", "x", "db", "16"]), err("ERR DB index is out of range"));
    assert_eq!(run(&mut t, &["copy", "src", "x", "db"]), err("ERR syntax error"));
    assert_eq!(run(&mut t, &["copy", "src", "x", "bogus"]), err("ERR syntax error"));
    assert_eq!(run(&mut t, &["copy", "nokey", "x"]), int(0));
    assert_eq!(run(&mut t, &["copy", "src", "dst"]), int(1));
    assert_eq!(get(&mut t, 0, "dst").as_deref(), Some(&b"foobar"[..]));
    assert_eq!(run(&mut t, &["ttl", "dst"]), int(-1));
    // Same key name in another db is fine.
    assert_eq!(run(&mut t, &["copy", "src", "src", "db", "3"]), int(1));
    assert_eq!(get(&mut t, 3, "src").as_deref(), Some(&b"foobar"[..]));
    // Existing target: 0 unless REPLACE; the TTL is copied.
    t.s.dbs[0].set_expire(b"src", 1_100_000);
    put(&mut t, "other", "hello");
    assert_eq!(run(&mut t, &["copy", "other", "src", "db", "3"]), int(0));
    assert_eq!(run(&mut t, &["copy", "src", "dst", "replace"]), int(1));
    assert_eq!(run(&mut t, &["pttl", "dst"]), int(100000));
    assert_eq!(run(&mut t, &["copy", "other", "src", "DB", "3", "REPLACE"]), int(1));
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
    assert_eq!(run(&mut t, &["ttl", "k"]), int(-1));
    assert_eq!(run(&mut t, &["pttl", "k"]), int(-1));
    assert_eq!(run(&mut t, &["expiretime", "k"]), int(-1));
    assert_eq!(run(&mut t, &["pexpiretime", "nokey"]), int(-2));
    assert_eq!(run(&mut t, &["ttl", "nokey"]), int(-2));
    assert_eq!(run(&mut t, &["expire", "k", "100"]), int(1));
    assert_eq!(run(&mut t, &["ttl", "k"]), int(100));
    assert_eq!(run(&mut t, &["pttl", "k"]), int(100000));
    assert_eq!(run(&mut t, &["expiretime", "k"]), int(1000100));
    assert_eq!(run(&mut t, &["pexpiretime", "k"]), int(1000100000));
    assert_eq!(run(&mut t, &["pexpire", "k", "1499"]), int(1));
    // Seconds round to the nearest.
    assert_eq!(run(&mut t, &["ttl", "k"]), int(1));
    assert_eq!(run(&mut t, &["pexpire", "k", "1500"]), int(1));
    assert_eq!(run(&mut t, &["ttl", "k"]), int(2));
    assert_eq!(run(&mut t, &["expireat", "k", "1000200"]), int(1));
    assert_eq!(run(&mut t, &["pttl", "k"]), int(200000));
    assert_eq!(run(&mut t, &["pexpireat", "k", "1000000300"]), int(1));
    assert_eq!(run(&mut t, &["pttl", "k"]), int(300));
    assert_eq!(run(&mut t, &["expire", "nokey", "100"]), int(0));
    // Lazy expiry once the time passes.
    clock::set_mock(1_000_000_301);
    assert_eq!(run(&mut t, &["ttl", "k"]), int(-2));
    assert_eq!(run(&mut t, &["exists", "k"]), int(0));
    clock::clear_mock();
}

#[test]
fn expire_in_the_past_deletes() {
    clock::set_mock(1_000_000_000);
    let mut t = new();
    put(&mut t, "k", "v");
    assert_eq!(run(&mut t, &["expire", "k", "-10"]), int(1));
    assert_eq!(run(&mut t, &["exists", "k"]), int(0));
    put(&mut t, "k", "v");
    assert_eq!(run(&mut t, &["pexpireat", "k", "-9223372036854770000"]), int(1));
    assert_eq!(run(&mut t, &["ttl", "k"]), int(-2));
    put(&mut t, "k", "v");
    assert_eq!(run(&mut t, &["pexpireat", "k", "1000000000"]), int(1));
    assert_eq!(run(&mut t, &["exists", "k"]), int(0));
    put(&mut t, "k", "v");
    assert_eq!(run(&mut t, &["pexpireat", "k", "9223372036854770000"]), int(1));
    assert_eq!(run(&mut t, &["pexpireat", "k", "9223372036854775807"]), int(1));
    assert_eq!(run(&mut t, &["expiretime", "k"]), int(9223372036854776));
    clock::clear_mock();
}

#[test]
fn expire_options() {
    clock::set_mock(1_000_000_000);
    let mut t = new();
    put(&mut t, "k", "v");
    assert_eq!(run(&mut t, &["expire", "k", "100", "xx"]), int(0));
    assert_eq!(run(&mut t, &["expire", "k", "100", "gt"]), int(0));
    assert_eq!(run(&mut t, &["expire", "k", "100", "lt"]), int(1));
    assert_eq!(run(&mut t, &["expire", "k", "200", "nx"]), int(0));
    assert_eq!(run(&mut t, &["expire", "k", "200", "xx"]), int(1));
    assert_eq!(run(&mut t, &["expire", "k", "100", "GT"]), int(0));
    assert_eq!(run(&mut t, &["expire", "k", "300", "gt"]), int(1));
    assert_eq!(run(&mut t, &["expire", "k", "400", "lt"]), int(0));
    assert_eq!(run(&mut t, &["expire", "k", "50", "lt", "xx"]), int(1));
    assert_eq!(run(&mut t, &["ttl", "k"]), int(50));
    put(&mut t, "p", "v");
    assert_eq!(run(&mut t, &["expire", "p", "100", "nx"]), int(1));
    assert_eq!(run(&mut t, &["expire", "none", "100", "nx"]), int(0));
    let nx = err("ERR NX and XX, GT or LT options at the same time are not compatible");
    assert_eq!(run(&mut t, &["expire", "k", "200", "nx", "xx"]), nx);
    assert_eq!(run(&mut t, &["expire", "k", "200", "NX", "GT"]), nx);
    assert_eq!(run(&mut t, &["expire", "k", "200", "nx", "lt"]), nx);
    assert_eq!(
        run(&mut t, &["expire", "k", "200", "lt", "gt"]),
        err("ERR GT and LT options at the same time are not compatible")
    );
    assert_eq!(run(&mut t, &["expire", "k", "200", "AB"]), err("ERR Unsupported option AB"));
    assert_eq!(run(&mut t, &["expire", "k", "200", "XX", "AB"]), err("ERR Unsupported option AB"));
    // Options are checked before the time.
    assert_eq!(run(&mut t, &["expire", "k", "x", "AB"]), err("ERR Unsupported option AB"));
    // A negative expiry with LT on a key without TTL deletes it.
    put(&mut t, "n", "v");
    assert_eq!(run(&mut t, &["expire", "n", "-10", "lt"]), int(1));
    assert_eq!(run(&mut t, &["ttl", "n"]), int(-2));
    clock::clear_mock();
}

#[test]
fn expire_overflow_errors() {
    let mut t = new();
    put(&mut t, "foo", "bar");
    let e = err("ERR invalid expire time in 'expire' command");
    for v in ["9223370399119966", "9223372036854776", "10000000000000000", "18446744073709561"] {
        assert_eq!(run(&mut t, &["expire", "foo", v]), e, "{v}");
    }
    assert_eq!(run(&mut t, &["expire", "foo", "-9223372036854776"]), e);
    assert_eq!(run(&mut t, &["expire", "foo", "-9999999999999999"]), e);
    assert_eq!(
        run(&mut t, &["pexpire", "foo", "9223372036854770000"]),
        err("ERR invalid expire time in 'pexpire' command")
    );
    assert_eq!(run(&mut t, &["expire", "foo", ""]), err("ERR value is not an integer or out of range"));
    assert_eq!(run(&mut t, &["ttl", "foo"]), int(-1));
}

#[test]
fn persist() {
    clock::set_mock(1_000_000_000);
    let mut t = new();
    put(&mut t, "k", "v");
    assert_eq!(run(&mut t, &["persist", "k"]), int(0));
    assert_eq!(run(&mut t, &["persist", "nokey"]), int(0));
    assert_eq!(run(&mut t, &["expire", "k", "100"]), int(1));
    assert_eq!(run(&mut t, &["persist", "k"]), int(1));
    assert_eq!(run(&mut t, &["ttl", "k"]), int(-1));
    assert_eq!(t.s.dbs[0].expires_count(), 0);
    clock::clear_mock();
}
#[test]
fn specs_are_well_formed() {
    for s in SPECS {
        assert_eq!(s.group, "generic");
        assert!(s.arity != 0, "{}", s.name);
    }
    let t = crate::commands::table();
    let rename = t.lookup(b"RENAME").unwrap();
    let argv: Vec<&[u8]> = vec![b"rename", b"a", b"b"];
    assert_eq!(rename.key_positions(&argv), vec![1, 2]);
    let del = t.lookup(b"del").unwrap();
    let argv: Vec<&[u8]> = vec![b"del", b"a", b"b", b"c"];
    assert_eq!(del.key_positions(&argv), vec![1, 2, 3]);
}
