use super::*;
use crate::commands::testutil::{arr, bulk, bulks, err, int, map, new, ok, run, run_raw, Frame, T};

fn enc(t: &mut T, key: &str) -> Frame {
    run(t, &["object", "encoding", key])
}

/// Parse a flat RESP2 array of bulk strings.
fn items(r: &str) -> Vec<String> {
    let mut lines = r.split("\r\n");
    let head = lines.next().unwrap();
    assert!(head.starts_with('*'), "{r}");
    let mut v = Vec::new();
    while let Some(l) = lines.next() {
        if l.starts_with('$') {
            v.push(lines.next().unwrap().to_string());
        }
    }
    v
}

#[test]
fn hset_hget_hmset_and_arity() {
    let mut t = new();
    assert_eq!(run(&mut t, &["hset", "h", "a", "1", "b", "2"]), int(2));
    assert_eq!(run(&mut t, &["hset", "h", "a", "x", "c", "3"]), int(1));
    assert_eq!(run(&mut t, &["hget", "h", "a"]), bulk("x"));
    assert_eq!(run_raw(&mut t, &["hget", "h", "zz"]), "$-1\r\n");
    assert_eq!(run_raw(&mut t, &["hget", "nokey", "a"]), "$-1\r\n");
    assert_eq!(run(&mut t, &["hmset", "h", "d", "4"]), ok());
    assert_eq!(run(&mut t, &["hlen", "h"]), int(4));
    assert_eq!(run(&mut t, &["hset", "h", "a", "1", "b"]), err("ERR wrong number of arguments for 'hset' command"));
    assert_eq!(run(&mut t, &["hmset", "h", "a", "1", "b"]), err("ERR wrong number of arguments for 'hmset' command"));
    assert_eq!(run(&mut t, &["hset", "h", "a"]), err("ERR wrong number of arguments for 'hset' command"));
    assert_eq!(enc(&mut t, "h"), bulk("listpack"));
    run(&mut t, &["set", "s", "v"]);
    for cmd in [
        &["hset", "s", "a", "1"][..],
        &["hget", "s", "a"],
        &["hmget", "s", "a"],
        &["hlen", "s"],
        &["hdel", "s", "a"],
        &["hgetall", "s"],
        &["hkeys", "s"],
        &["hvals", "s"],
        &["hexists", "s", "a"],
        &["hstrlen", "s", "a"],
        &["hsetnx", "s", "a", "1"],
        &["hincrby", "s", "a", "1"],
        &["hincrbyfloat", "s", "a", "1"],
        &["hrandfield", "s"],
        &["hrandfield", "s", "2"],
        &["hscan", "s", "0"],
    ] {
        assert_eq!(run(&mut t, cmd), err(&CmdError::WRONGTYPE.0), "{cmd:?}");
    }
}

#[test]
fn hsetnx_hexists_hstrlen_hmget() {
    let mut t = new();
    assert_eq!(run(&mut t, &["hsetnx", "h", "f", "v1"]), int(1));
    assert_eq!(run(&mut t, &["hsetnx", "h", "f", "v2"]), int(0));
    assert_eq!(run(&mut t, &["hget", "h", "f"]), bulk("v1"));
    assert_eq!(run(&mut t, &["hexists", "h", "f"]), int(1));
    assert_eq!(run(&mut t, &["hexists", "h", "g"]), int(0));
    assert_eq!(run(&mut t, &["hexists", "nokey", "g"]), int(0));
    assert_eq!(run(&mut t, &["hstrlen", "h", "f"]), int(2));
    assert_eq!(run(&mut t, &["hstrlen", "h", "g"]), int(0));
    assert_eq!(run(&mut t, &["hstrlen", "nokey", "g"]), int(0));
    assert_eq!(run_raw(&mut t, &["hmget", "h", "f", "g"]), "*2\r\n$2\r\nv1\r\n$-1\r\n");
    assert_eq!(run_raw(&mut t, &["hmget", "nokey", "f", "g"]), "*2\r\n$-1\r\n$-1\r\n");
    run(&mut t, &["hello", "3"]);
    assert_eq!(run_raw(&mut t, &["hmget", "h", "f", "g"]), "*2\r\n$2\r\nv1\r\n_\r\n");
}

#[test]
fn hdel_deletes_empty_hash() {
    let mut t = new();
    run(&mut t, &["hset", "h", "a", "1", "b", "2", "c", "3"]);
    assert_eq!(run(&mut t, &["hdel", "h", "x", "y"]), int(0));
    assert_eq!(run(&mut t, &["hdel", "h", "a", "c", "f"]), int(2));
    assert_eq!(run(&mut t, &["hgetall", "h"]), bulks(&["b", "2"]));
    assert_eq!(run(&mut t, &["hdel", "h", "b", "b", "z"]), int(1));
    assert_eq!(run(&mut t, &["exists", "h"]), int(0));
    assert_eq!(run(&mut t, &["hdel", "h", "b"]), int(0));
}

#[test]
fn keys_vals_getall_in_both_protocols() {
    let mut t = new();
    assert_eq!(run(&mut t, &["hkeys", "nokey"]), arr(vec![]));
    assert_eq!(run(&mut t, &["hvals", "nokey"]), arr(vec![]));
    assert_eq!(run(&mut t, &["hgetall", "nokey"]), arr(vec![]));
    run(&mut t, &["hset", "h", "a", "1", "b", "2"]);
    assert_eq!(run(&mut t, &["hkeys", "h"]), bulks(&["a", "b"]));
    assert_eq!(run(&mut t, &["hvals", "h"]), bulks(&["1", "2"]));
    assert_eq!(run(&mut t, &["hgetall", "h"]), bulks(&["a", "1", "b", "2"]));
    run(&mut t, &["hello", "3"]);
    assert_eq!(run(&mut t, &["hgetall", "h"]), map(vec![(bulk("a"), bulk("1")), (bulk("b"), bulk("2"))]));
    assert_eq!(run(&mut t, &["hgetall", "nokey"]), map(vec![]));
    assert_eq!(run(&mut t, &["hkeys", "nokey"]), arr(vec![]));
}

#[test]
fn encoding_switches() {
    let mut t = new();
    run(&mut t, &["config", "set", "hash-max-listpack-entries", "4"]);
    run(&mut t, &["config", "set", "hash-max-listpack-value", "8"]);
    run(&mut t, &["hset", "h", "a", "1", "b", "2", "c", "3", "d", "4"]);
    assert_eq!(enc(&mut t, "h"), bulk("listpack"));
    run(&mut t, &["hset", "h", "e", "5"]);
    assert_eq!(enc(&mut t, "h"), bulk("hashtable"));
    run(&mut t, &["hdel", "h", "a", "b", "c", "d"]);
    assert_eq!(enc(&mut t, "h"), bulk("hashtable"));
    // A long value, or a long field, even one that is only updated.
    run(&mut t, &["hset", "v", "a", "12345678"]);
    assert_eq!(enc(&mut t, "v"), bulk("listpack"));
    run(&mut t, &["hset", "v", "a", "123456789"]);
    assert_eq!(enc(&mut t, "v"), bulk("hashtable"));
    run(&mut t, &["hset", "f", "abcdefghi", "1"]);
    assert_eq!(enc(&mut t, "f"), bulk("hashtable"));
    run(&mut t, &["hsetnx", "n", "abcdefghi", "1"]);
    assert_eq!(enc(&mut t, "n"), bulk("hashtable"));
    // Counters convert on the value they write.
    run(&mut t, &["hset", "c", "tmp", "0"]);
    run(&mut t, &["hincrbyfloat", "c", "tmp", "0.000005"]);
    assert_eq!(enc(&mut t, "c"), bulk("listpack"));
    run(&mut t, &["hincrbyfloat", "c", "tmp", "0.0000005"]);
    assert_eq!(enc(&mut t, "c"), bulk("hashtable"));
    run(&mut t, &["hincrby", "i", "abcdefghi", "1"]);
    assert_eq!(enc(&mut t, "i"), bulk("hashtable"));
    // Many pairs in one HSET of the same field stay a listpack (Redis 7.0 does not pre-size).
    let mut args = vec!["hset", "same"];
    for _ in 0..10 {
        args.extend_from_slice(&["x", "y"]);
    }
    assert_eq!(run(&mut t, &args), int(1));
    assert_eq!(enc(&mut t, "same"), bulk("listpack"));
}

#[test]
fn hincrby_rules() {
    let mut t = new();
    assert_eq!(run(&mut t, &["hincrby", "h", "f", "2"]), int(2));
    assert_eq!(run(&mut t, &["hincrby", "h", "f", "-5"]), int(-3));
    assert_eq!(run(&mut t, &["hget", "h", "f"]), bulk("-3"));
    assert_eq!(run(&mut t, &["hincrby", "h", "f", "x"]), err(&CmdError::NOT_INT.0));
    assert_eq!(run(&mut t, &["hincrby", "nokey", "f", "1.5"]), err(&CmdError::NOT_INT.0));
    assert_eq!(run(&mut t, &["exists", "nokey"]), int(0));
    run(&mut t, &["hset", "h", "s", " 11"]);
    assert_eq!(run(&mut t, &["hincrby", "h", "s", "1"]), err("ERR hash value is not an integer"));
    run(&mut t, &["hset", "h", "s", "11 "]);
    assert_eq!(run(&mut t, &["hincrby", "h", "s", "1"]), err("ERR hash value is not an integer"));
    run(&mut t, &["hset", "h", "n", "-9223372036854775484"]);
    assert_eq!(run(&mut t, &["hincrby", "h", "n", "-1"]), int(-9223372036854775485));
    assert_eq!(run(&mut t, &["hincrby", "h", "n", "-10000"]), err("ERR increment or decrement would overflow"));
    run(&mut t, &["hset", "h", "m", "9223372036854775807"]);
    assert_eq!(run(&mut t, &["hincrby", "h", "m", "1"]), err("ERR increment or decrement would overflow"));
    assert_eq!(run(&mut t, &["hincrby", "h", "m", "-1"]), int(9223372036854775806));
    run(&mut t, &["hset", "h", "big", "17179869184"]);
    assert_eq!(run(&mut t, &["hincrby", "h", "big", "17179869184"]), int(34359738368));
}

#[test]
fn hincrbyfloat_rules() {
    let mut t = new();
    assert_eq!(run(&mut t, &["hincrbyfloat", "h", "f", "2.5"]), bulk("2.5"));
    assert_eq!(run(&mut t, &["hincrbyfloat", "h", "f", "3.5"]), bulk("6"));
    assert_eq!(run(&mut t, &["hincrbyfloat", "h2", "float", "1.23"]), bulk("1.23"));
    assert_eq!(run(&mut t, &["hincrbyfloat", "h2", "float", "0.77"]), bulk("2"));
    assert_eq!(run(&mut t, &["hincrbyfloat", "h2", "float", "-0.1"]), bulk("1.9"));
    assert_eq!(run(&mut t, &["hincrbyfloat", "h2", "x", "0.1"]), bulk("0.1"));
    assert_eq!(run(&mut t, &["hincrbyfloat", "h2", "x", "0.2"]), bulk("0.3"));
    run(&mut t, &["hset", "h", "i", "17179869184"]);
    assert_eq!(run(&mut t, &["hincrbyfloat", "h", "i", "1"]), bulk("17179869185"));
    for bad in [" 11", "11 ", "1\u{0}2", "abc"] {
        run(&mut t, &["hset", "h", "s", bad]);
        assert_eq!(run(&mut t, &["hincrbyfloat", "h", "s", "1"]), err("ERR hash value is not a float"));
    }
    assert_eq!(run(&mut t, &["hincrbyfloat", "h", "f", "x"]), err(&CmdError::NOT_FLOAT.0));
    assert_eq!(run(&mut t, &["hincrbyfloat", "hfoo", "f", "+inf"]), err("ERR value is NaN or Infinity"));
    assert_eq!(run(&mut t, &["hincrbyfloat", "hfoo", "f", "nan"]), err(&CmdError::NOT_FLOAT.0));
    assert_eq!(run(&mut t, &["exists", "hfoo"]), int(0));
    run(&mut t, &["hset", "h", "huge", "1e4932"]);
    assert_eq!(run(&mut t, &["hincrbyfloat", "h", "huge", "1e4932"]), err(&INCR_NAN_OR_INF.0));
    run(&mut t, &["hset", "h", "inf", "inf"]);
    assert_eq!(run(&mut t, &["hincrbyfloat", "h", "inf", "1"]), err(&INCR_NAN_OR_INF.0));
}

#[test]
fn hrandfield_without_count() {
    let mut t = new();
    assert_eq!(run_raw(&mut t, &["hrandfield", "nokey"]), "$-1\r\n");
    run(&mut t, &["hset", "h", "a", "1"]);
    assert_eq!(run(&mut t, &["hrandfield", "h"]), bulk("a"));
    run(&mut t, &["hello", "3"]);
    assert_eq!(run_raw(&mut t, &["hrandfield", "nokey"]), "_\r\n");
}

#[test]
fn hrandfield_count_errors_and_empties() {
    let mut t = new();
    run(&mut t, &["hset", "h", "a", "1"]);
    assert_eq!(run(&mut t, &["hrandfield", "h", "0"]), arr(vec![]));
    assert_eq!(run(&mut t, &["hrandfield", "nokey", "100"]), arr(vec![]));
    assert_eq!(run(&mut t, &["hrandfield", "h", "-9223372036854770000", "withvalues"]), err(&OUT_OF_RANGE.0));
    assert_eq!(run(&mut t, &["hrandfield", "h", "-9223372036854775808", "withvalues"]), err(&COUNT_RANGE.0));
    assert_eq!(run(&mut t, &["hrandfield", "h", "-9223372036854775808"]), err(&COUNT_RANGE.0));
    assert_eq!(run(&mut t, &["hrandfield", "h", "x"]), err(&CmdError::NOT_INT.0));
    assert_eq!(run(&mut t, &["hrandfield", "h", "1", "values"]), err(&CmdError::SYNTAX.0));
    assert_eq!(run(&mut t, &["hrandfield", "h", "1", "withvalues", "x"]), err(&CmdError::SYNTAX.0));
    assert_eq!(run(&mut t, &["hrandfield", "nokey", "1", "x"]), err(&CmdError::SYNTAX.0));
    run(&mut t, &["hello", "3"]);
    assert_eq!(run(&mut t, &["hrandfield", "h", "0"]), arr(vec![]));
    assert_eq!(run(&mut t, &["hrandfield", "nokey", "3"]), arr(vec![]));
}

#[test]
fn hrandfield_count_shapes() {
    for entries in ["128", "0"] {
        let mut t = new();
        run(&mut t, &["config", "set", "hash-max-listpack-entries", entries]);
        let mut args = vec!["hset".to_string(), "h".into()];
        for i in 0..10 {
            args.push(format!("f{i}"));
            args.push(format!("v{i}"));
        }
        let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        run(&mut t, &a);
        // Negative: repetitions.
        assert_eq!(items(&run_raw(&mut t, &["hrandfield", "h", "-20"])).len(), 20);
        let r = items(&run_raw(&mut t, &["hrandfield", "h", "-20", "withvalues"]));
        assert_eq!(r.len(), 40);
        for p in r.chunks(2) {
            assert_eq!(p[0][1..], p[1][1..]);
        }
        // Positive at or above the size: everything.
        for size in ["10", "20"] {
            let mut r = items(&run_raw(&mut t, &["hrandfield", "h", size]));
            r.sort();
            assert_eq!(r.len(), 10);
            r.dedup();
            assert_eq!(r.len(), 10);
        }
        // Positive below the size: distinct.
        for size in [8usize, 2] {
            let mut r = items(&run_raw(&mut t, &["hrandfield", "h", &size.to_string()]));
            r.sort();
            r.dedup();
            assert_eq!(r.len(), size);
            let r = items(&run_raw(&mut t, &["hrandfield", "h", &size.to_string(), "withvalues"]));
            assert_eq!(r.len(), 2 * size);
        }
        // RESP3: an array of pairs with WITHVALUES.
        run(&mut t, &["hello", "3"]);
        let r = run_raw(&mut t, &["hrandfield", "h", "3", "withvalues"]);
        assert!(r.starts_with("*3\r\n*2\r\n$"), "{r}");
        assert_eq!(r.matches("*2\r\n").count(), 3);
        let r = run_raw(&mut t, &["hrandfield", "h", "-3", "withvalues"]);
        assert!(r.starts_with("*3\r\n*2\r\n$"), "{r}");
        let r = run_raw(&mut t, &["hrandfield", "h", "3"]);
        assert!(r.starts_with("*3\r\n$"), "{r}");
        let r = run_raw(&mut t, &["hrandfield", "h", "20", "withvalues"]);
        assert!(r.starts_with("*10\r\n*2\r\n$"), "{r}");
    }
}

fn full_hscan(t: &mut T, key: &str, extra: &[&str]) -> (Vec<String>, usize) {
    let mut cursor = "0".to_string();
    let mut all = Vec::new();
    let mut calls = 0;
    loop {
        let mut args = vec!["hscan", key, cursor.as_str()];
        args.extend_from_slice(extra);
        let r = run_raw(t, &args);
        calls += 1;
        let mut v = items(&r);
        let next = v.remove(0);
        all.extend(v);
        cursor = next;
        if cursor == "0" {
            return (all, calls);
        }
    }
}

#[test]
fn hscan_both_encodings() {
    let mut t = new();
    assert_eq!(run(&mut t, &["hscan", "nokey", "0"]), arr(vec![bulk("0"), arr(vec![])]));
    assert_eq!(run(&mut t, &["hscan", "nokey", "0", "count", "0"]), arr(vec![bulk("0"), arr(vec![])]));
    run(&mut t, &["hset", "small", "a", "1", "b", "2", "foo1", "3"]);
    assert_eq!(run(&mut t, &["hscan", "small", "0"]), arr(vec![bulk("0"), bulks(&["a", "1", "b", "2", "foo1", "3"])]));
    assert_eq!(
        run(&mut t, &["hscan", "small", "123", "match", "foo*", "count", "1"]),
        arr(vec![bulk("0"), bulks(&["foo1", "3"])])
    );
    assert_eq!(run(&mut t, &["hscan", "small", "x"]), err(&CmdError::INVALID_CURSOR.0));
    assert_eq!(run(&mut t, &["hscan", "small", "0", "count", "0"]), err(&CmdError::SYNTAX.0));
    assert_eq!(run(&mut t, &["hscan", "small", "0", "count", "x"]), err(&CmdError::NOT_INT.0));
    assert_eq!(run(&mut t, &["hscan", "small", "0", "count"]), err(&CmdError::SYNTAX.0));
    assert_eq!(run(&mut t, &["hscan", "small", "0", "type", "hash"]), err(&CmdError::SYNTAX.0));
    assert_eq!(run(&mut t, &["hscan", "small", "0", "novalues"]), err(&CmdError::SYNTAX.0));

    let mut args = vec!["hset".to_string(), "big".into()];
    for i in 0..1000 {
        args.push(format!("key:{i}"));
        args.push(i.to_string());
    }
    let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    run(&mut t, &a);
    assert_eq!(enc(&mut t, "big"), bulk("hashtable"));
    let (all, calls) = full_hscan(&mut t, "big", &[]);
    assert!(calls > 20, "{calls}");
    let mut keys: Vec<&String> = all.iter().step_by(2).collect();
    for p in all.chunks(2) {
        assert_eq!(p[0], format!("key:{}", p[1]));
    }
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 1000);
    let (all, _) = full_hscan(&mut t, "big", &["match", "key:1*", "count", "100"]);
    assert_eq!(all.len(), 2 * 111);
}

#[test]
fn cursor_parsing() {
    assert_eq!(crate::commands::keys::parse_cursor(b""), Some(0));
    assert_eq!(crate::commands::keys::parse_cursor(b"+7"), Some(7));
    assert_eq!(crate::commands::keys::parse_cursor(b"-1"), Some(u64::MAX));
    assert_eq!(crate::commands::keys::parse_cursor(b" 1"), None);
    assert_eq!(crate::commands::keys::parse_cursor(b"1 "), None);
    assert_eq!(crate::commands::keys::parse_cursor(b"18446744073709551616"), None);
}

#[test]
fn restore_and_copy_keep_the_hash() {
    let mut t = new();
    run(&mut t, &["config", "set", "hash-max-listpack-entries", "2"]);
    run(&mut t, &["hset", "h", "a", "1", "b", "2", "c", "3"]);
    assert_eq!(run(&mut t, &["copy", "h", "h2"]), int(1));
    assert_eq!(enc(&mut t, "h2"), bulk("hashtable"));
    assert_eq!(run(&mut t, &["hget", "h2", "c"]), bulk("3"));
    run(&mut t, &["hdel", "h2", "c"]);
    assert_eq!(run(&mut t, &["hlen", "h"]), int(3));
}

#[test]
fn specs_are_well_formed() {
    for s in SPECS {
        assert!(s.name.starts_with('h'));
        assert_eq!((s.first_key, s.last_key, s.key_step), (1, 1, 1));
        assert!(s.has(WRITE) != s.has(READONLY));
    }
    assert_eq!(SPECS.len(), 16);
}
