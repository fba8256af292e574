//! Generic keyspace commands (SCAN, EXPIRE/TTL, RENAME/MOVE/COPY, DUMP/RESTORE) through the `redis` crate
//! against an in-process server.

mod common;

use common::{err_text, wait_for, TestServer};
use redis::{cmd, Connection};
use std::collections::HashSet;
use std::time::Duration;

/// Set `n` keys `key:0..n` to "v" in one pipeline.
fn populate(con: &mut Connection, n: usize) {
    let mut p = redis::pipe();
    for i in 0..n {
        p.cmd("SET").arg(format!("key:{i}")).arg("v").ignore();
    }
    p.query::<()>(con).unwrap();
}

/// Iterate SCAN to the end with extra arguments; returns every key seen (with repeats) and the call count.
fn full_scan(con: &mut Connection, extra: &[&str]) -> (Vec<String>, usize) {
    let mut cursor: u64 = 0;
    let mut keys = Vec::new();
    let mut calls = 0;
    loop {
        let (next, batch): (u64, Vec<String>) = cmd("SCAN").arg(cursor).arg(extra).query(con).unwrap();
        calls += 1;
        keys.extend(batch);
        cursor = next;
        if cursor == 0 {
            return (keys, calls);
        }
    }
}

fn unique(v: &[String]) -> HashSet<String> {
    v.iter().cloned().collect()
}

#[test]
fn scan_iterates_all_keys_with_match_count_type() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    populate(&mut con, 3000);

    let (all, calls) = full_scan(&mut con, &[]);
    assert_eq!(unique(&all).len(), 3000);
    // Default COUNT is 10: many calls, none returning a wildly larger batch.
    assert!(calls > 100, "calls {calls}");

    let (all, calls) = full_scan(&mut con, &["COUNT", "500"]);
    assert_eq!(unique(&all).len(), 3000);
    assert!(calls < 60, "calls {calls}");

    // key:1, key:10..19, key:100..199, key:1000..1999.
    let (m, _) = full_scan(&mut con, &["MATCH", "key:1*", "COUNT", "100"]);
    let m = unique(&m);
    assert_eq!(m.len(), 1111);
    assert!(m.iter().all(|k| k.starts_with("key:1")));

    let (s, _) = full_scan(&mut con, &["TYPE", "string", "COUNT", "100"]);
    assert_eq!(unique(&s).len(), 3000);
    let (l, _) = full_scan(&mut con, &["TYPE", "list", "COUNT", "100"]);
    assert!(l.is_empty());
    let (u, _) = full_scan(&mut con, &["TYPE", "nosuchtype"]);
    assert!(u.is_empty());
    let (all3, _) = full_scan(&mut con, &["TYPE", "STRING", "MATCH", "key:2??", "COUNT", "10"]);
    assert_eq!(unique(&all3).len(), 100);

    let e = cmd("SCAN").arg("abc").query::<redis::Value>(&mut con).unwrap_err();
    assert_eq!(err_text(e), "ERR invalid cursor");
    let e = cmd("SCAN").arg(0).arg("COUNT").arg(0).query::<redis::Value>(&mut con).unwrap_err();
    assert_eq!(err_text(e), "ERR syntax error");
}

#[test]
fn scan_returns_keys_present_throughout_under_writes() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    populate(&mut con, 2000);
    let mut cursor: u64 = 0;
    let mut seen = HashSet::new();
    let mut added = 0;
    loop {
        let (next, batch): (u64, Vec<String>) = cmd("SCAN").arg(cursor).query(&mut con).unwrap();
        seen.extend(batch);
        // Grow the keyspace between calls so that the table splits mid-scan.
        let mut p = redis::pipe();
        for _ in 0..50 {
            p.cmd("SET").arg(format!("added:{added}")).arg("x").ignore();
            added += 1;
        }
        p.query::<()>(&mut con).unwrap();
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    for i in 0..2000 {
        assert!(seen.contains(&format!("key:{i}")), "key:{i} missed");
    }
}

#[test]
fn keys_and_randomkey() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    assert_eq!(cmd("RANDOMKEY").query::<Option<String>>(&mut con).unwrap(), None);
    for k in ["key_x", "key_y", "key_z", "foo_a", "foo_b", "foo_c"] {
        cmd("SET").arg(k).arg("hello").query::<()>(&mut con).unwrap();
    }
    let mut foo: Vec<String> = cmd("KEYS").arg("foo*").query(&mut con).unwrap();
    foo.sort();
    assert_eq!(foo, ["foo_a", "foo_b", "foo_c"]);
    let all: Vec<String> = cmd("KEYS").arg("*").query(&mut con).unwrap();
    assert_eq!(all.len(), 6);
    let r: String = cmd("RANDOMKEY").query(&mut con).unwrap();
    assert!(all.contains(&r));
    let none: Vec<String> = cmd("KEYS").arg("a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b").query(&mut con).unwrap();
    assert!(none.is_empty());
}

#[test]
fn expire_ttl_persist() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    cmd("SET").arg("k").arg("v").query::<()>(&mut con).unwrap();
    assert_eq!(cmd("TTL").arg("k").query::<i64>(&mut con).unwrap(), -1);
    assert_eq!(cmd("TTL").arg("nokey").query::<i64>(&mut con).unwrap(), -2);
    assert_eq!(cmd("EXPIRE").arg("k").arg(100).query::<i64>(&mut con).unwrap(), 1);
    let ttl: i64 = cmd("TTL").arg("k").query(&mut con).unwrap();
    assert!((99..=100).contains(&ttl), "ttl {ttl}");
    let pttl: i64 = cmd("PTTL").arg("k").query(&mut con).unwrap();
    assert!((98_000..=100_000).contains(&pttl), "pttl {pttl}");
    let at: i64 = cmd("PEXPIRETIME").arg("k").query(&mut con).unwrap();
    let at_s: i64 = cmd("EXPIRETIME").arg("k").query(&mut con).unwrap();
    assert!((at_s * 1000 - at).abs() <= 500);

    // NX/XX/GT/LT.
    assert_eq!(cmd("EXPIRE").arg("k").arg(200).arg("NX").query::<i64>(&mut con).unwrap(), 0);
    assert_eq!(cmd("EXPIRE").arg("k").arg(50).arg("GT").query::<i64>(&mut con).unwrap(), 0);
    assert_eq!(cmd("EXPIRE").arg("k").arg(50).arg("LT").query::<i64>(&mut con).unwrap(), 1);
    let e = cmd("EXPIRE").arg("k").arg(1).arg("NX").arg("XX").query::<i64>(&mut con).unwrap_err();
    assert_eq!(err_text(e), "ERR NX and XX, GT or LT options at the same time are not compatible");
    let e = cmd("EXPIRE").arg("k").arg(1).arg("GT").arg("LT").query::<i64>(&mut con).unwrap_err();
    assert_eq!(err_text(e), "ERR GT and LT options at the same time are not compatible");
    let e = cmd("EXPIRE").arg("k").arg(1).arg("AB").query::<i64>(&mut con).unwrap_err();
    assert_eq!(err_text(e), "ERR Unsupported option AB");
    let e = cmd("EXPIRE").arg("k").arg("10000000000000000").query::<i64>(&mut con).unwrap_err();
    assert_eq!(err_text(e), "ERR invalid expire time in 'expire' command");

    assert_eq!(cmd("PERSIST").arg("k").query::<i64>(&mut con).unwrap(), 1);
    assert_eq!(cmd("PERSIST").arg("k").query::<i64>(&mut con).unwrap(), 0);
    assert_eq!(cmd("TTL").arg("k").query::<i64>(&mut con).unwrap(), -1);

    // Short expiries really expire.
    assert_eq!(cmd("PEXPIRE").arg("k").arg(100).query::<i64>(&mut con).unwrap(), 1);
    wait_for("k to expire", Duration::from_secs(5), || cmd("EXISTS").arg("k").query::<i64>(&mut con).unwrap() == 0);
    assert_eq!(cmd("TTL").arg("k").query::<i64>(&mut con).unwrap(), -2);

    // A time in the past deletes at once.
    cmd("SET").arg("k").arg("v").query::<()>(&mut con).unwrap();
    assert_eq!(cmd("EXPIREAT").arg("k").arg(1).query::<i64>(&mut con).unwrap(), 1);
    assert_eq!(cmd("EXISTS").arg("k").query::<i64>(&mut con).unwrap(), 0);
    assert_eq!(cmd("EXPIRE").arg("k").arg(10).query::<i64>(&mut con).unwrap(), 0);
}

#[test]
fn rename_move_copy_across_dbs() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    cmd("SET").arg("a").arg("hello").query::<()>(&mut con).unwrap();
    cmd("EXPIRE").arg("a").arg(100).query::<()>(&mut con).unwrap();

    // RENAME keeps the TTL; errors as Redis.
    assert_eq!(cmd("RENAME").arg("a").arg("b").query::<String>(&mut con).unwrap(), "OK");
    assert!(cmd("TTL").arg("b").query::<i64>(&mut con).unwrap() > 95);
    let e = cmd("RENAME").arg("a").arg("c").query::<String>(&mut con).unwrap_err();
    assert_eq!(err_text(e), "ERR no such key");
    cmd("SET").arg("c").arg("x").query::<()>(&mut con).unwrap();
    assert_eq!(cmd("RENAMENX").arg("b").arg("c").query::<i64>(&mut con).unwrap(), 0);
    assert_eq!(cmd("RENAMENX").arg("b").arg("d").query::<i64>(&mut con).unwrap(), 1);

    // MOVE to db 1, TTL included; MOVE again finds the key gone.
    assert_eq!(cmd("MOVE").arg("d").arg(1).query::<i64>(&mut con).unwrap(), 1);
    assert_eq!(cmd("MOVE").arg("d").arg(1).query::<i64>(&mut con).unwrap(), 0);
    let e = cmd("MOVE").arg("c").arg(0).query::<i64>(&mut con).unwrap_err();
    assert_eq!(err_text(e), "ERR source and destination objects are the same");
    let e = cmd("MOVE").arg("c").arg(99).query::<i64>(&mut con).unwrap_err();
    assert_eq!(err_text(e), "ERR DB index is out of range");

    // COPY into db 2 with REPLACE semantics.
    assert_eq!(cmd("COPY").arg("c").arg("c2").arg("DB").arg(2).query::<i64>(&mut con).unwrap(), 1);
    cmd("SET").arg("c").arg("y").query::<()>(&mut con).unwrap();
    assert_eq!(cmd("COPY").arg("c").arg("c2").arg("DB").arg(2).query::<i64>(&mut con).unwrap(), 0);
    assert_eq!(cmd("COPY").arg("c").arg("c2").arg("DB").arg(2).arg("REPLACE").query::<i64>(&mut con).unwrap(), 1);
    let e = cmd("COPY").arg("c").arg("c").query::<i64>(&mut con).unwrap_err();
    assert_eq!(err_text(e), "ERR source and destination objects are the same");

    cmd("SELECT").arg(1).query::<()>(&mut con).unwrap();
    assert_eq!(cmd("GET").arg("d").query::<String>(&mut con).unwrap(), "hello");
    let ttl: i64 = cmd("TTL").arg("d").query(&mut con).unwrap();
    assert!(ttl > 95 && ttl <= 100, "ttl {ttl}");
    cmd("SELECT").arg(2).query::<()>(&mut con).unwrap();
    assert_eq!(cmd("GET").arg("c2").query::<String>(&mut con).unwrap(), "y");
    assert_eq!(cmd("TTL").arg("c2").query::<i64>(&mut con).unwrap(), -1);
    cmd("SELECT").arg(0).query::<()>(&mut con).unwrap();
    assert_eq!(cmd("EXISTS").arg("a").arg("b").arg("d").query::<i64>(&mut con).unwrap(), 0);
    assert_eq!(cmd("GET").arg("c").query::<String>(&mut con).unwrap(), "y");
}

#[test]
fn dump_restore_round_trip() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    let big = "x".repeat(1000);
    for (k, v) in [("s", "bar"), ("n", "12345"), ("big", big.as_str()), ("empty", "")] {
        cmd("SET").arg(k).arg(v).query::<()>(&mut con).unwrap();
        let payload: Vec<u8> = cmd("DUMP").arg(k).query(&mut con).unwrap();
        cmd("DEL").arg(k).query::<()>(&mut con).unwrap();
        assert_eq!(cmd("RESTORE").arg(k).arg(0).arg(&payload).query::<String>(&mut con).unwrap(), "OK");
        assert_eq!(cmd("GET").arg(k).query::<String>(&mut con).unwrap(), v);
        assert_eq!(cmd("TTL").arg(k).query::<i64>(&mut con).unwrap(), -1);
        let e = cmd("RESTORE").arg(k).arg(0).arg(&payload).query::<String>(&mut con).unwrap_err();
        assert_eq!(err_text(e), "BUSYKEY Target key name already exists.");
    }
    assert_eq!(cmd("OBJECT").arg("ENCODING").arg("n").query::<String>(&mut con).unwrap(), "int");
    assert_eq!(cmd("DUMP").arg("nokey").query::<Option<Vec<u8>>>(&mut con).unwrap(), None);

    let payload: Vec<u8> = cmd("DUMP").arg("s").query(&mut con).unwrap();
    // TTL, REPLACE and IDLETIME.
    assert_eq!(cmd("RESTORE").arg("s").arg(5000).arg(&payload).arg("REPLACE").query::<String>(&mut con).unwrap(), "OK");
    let pttl: i64 = cmd("PTTL").arg("s").query(&mut con).unwrap();
    assert!((3000..=5000).contains(&pttl), "pttl {pttl}");
    cmd("RESTORE").arg("idle").arg(0).arg(&payload).arg("IDLETIME").arg(1000).query::<()>(&mut con).unwrap();
    let idle: i64 = cmd("OBJECT").arg("IDLETIME").arg("idle").query(&mut con).unwrap();
    assert!((1000..=1010).contains(&idle), "idle {idle}");
    // An absolute TTL in the past: OK, and no key.
    assert_eq!(cmd("RESTORE").arg("gone").arg(1).arg(&payload).arg("ABSTTL").query::<String>(&mut con).unwrap(), "OK");
    assert_eq!(cmd("EXISTS").arg("gone").query::<i64>(&mut con).unwrap(), 0);

    // Corrupt payloads are refused, never crash the server.
    let mut bad = payload.clone();
    bad[2] ^= 0x40;
    let e = cmd("RESTORE").arg("x").arg(0).arg(&bad).query::<String>(&mut con).unwrap_err();
    assert_eq!(err_text(e), "ERR DUMP payload version or checksum are wrong");
    let e = cmd("RESTORE").arg("x").arg(0).arg("...").query::<String>(&mut con).unwrap_err();
    assert_eq!(err_text(e), "ERR DUMP payload version or checksum are wrong");
    let e = cmd("RESTORE").arg("x").arg(0).arg("...").arg("bogus").query::<String>(&mut con).unwrap_err();
    assert_eq!(err_text(e), "ERR syntax error");
    let e = cmd("RESTORE").arg("x").arg(-1).arg(&payload).query::<String>(&mut con).unwrap_err();
    assert_eq!(err_text(e), "ERR Invalid TTL value, must be >= 0");
    assert_eq!(cmd("PING").query::<String>(&mut con).unwrap(), "PONG");
}

#[test]
fn object_and_type() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    cmd("SET").arg("s").arg("hello").query::<()>(&mut con).unwrap();
    cmd("SET").arg("n").arg("7").query::<()>(&mut con).unwrap();
    assert_eq!(cmd("TYPE").arg("s").query::<String>(&mut con).unwrap(), "string");
    assert_eq!(cmd("TYPE").arg("nokey").query::<String>(&mut con).unwrap(), "none");
    assert_eq!(cmd("OBJECT").arg("ENCODING").arg("s").query::<String>(&mut con).unwrap(), "embstr");
    assert_eq!(cmd("OBJECT").arg("REFCOUNT").arg("n").query::<i64>(&mut con).unwrap(), 2147483647);
    assert_eq!(cmd("OBJECT").arg("REFCOUNT").arg("s").query::<i64>(&mut con).unwrap(), 1);
    assert_eq!(cmd("OBJECT").arg("ENCODING").arg("nokey").query::<Option<String>>(&mut con).unwrap(), None);
    let help: Vec<String> = cmd("OBJECT").arg("HELP").query(&mut con).unwrap();
    assert_eq!(help.len(), 15);
    let e = cmd("OBJECT").arg("NOPE").arg("s").query::<String>(&mut con).unwrap_err();
    assert_eq!(err_text(e), "ERR unknown subcommand 'NOPE'. Try OBJECT HELP.");
    let e = cmd("OBJECT").arg("FREQ").arg("s").query::<i64>(&mut con).unwrap_err();
    assert!(err_text(e).starts_with("ERR An LFU maxmemory policy is not selected"));
    assert_eq!(cmd("TOUCH").arg("s").arg("n").arg("nokey").query::<i64>(&mut con).unwrap(), 2);
    assert_eq!(cmd("UNLINK").arg("s").arg("n").arg("nokey").query::<i64>(&mut con).unwrap(), 2);
}
