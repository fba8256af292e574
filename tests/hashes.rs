//! Hash commands through the `redis` crate against an in-process server: one test per command group,
//! checking replies, error texts, encodings and what other commands observe (TTL, WATCH, DUMP/RESTORE).

mod common;

use common::{fails, roundtrip, TestServer};
use redis::{cmd, Connection, Value};
use std::collections::{HashMap, HashSet};
use std::io::Write;

fn encoding(con: &mut Connection, key: &str) -> String {
    cmd("OBJECT").arg("ENCODING").arg(key).query(con).unwrap()
}

fn hset(con: &mut Connection, key: &str, pairs: &[(String, String)]) -> i64 {
    let mut c = cmd("HSET");
    c.arg(key);
    for (f, v) in pairs {
        c.arg(f).arg(v);
    }
    c.query(con).unwrap()
}

fn pairs(n: usize, prefix: &str) -> Vec<(String, String)> {
    (0..n).map(|i| (format!("{prefix}{i}"), format!("v{i}"))).collect()
}

#[test]
fn set_get_delete_and_listing() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    assert_eq!(hset(&mut con, "h", &pairs(3, "f")), 3);
    assert_eq!(hset(&mut con, "h", &[("f0".into(), "new".into()), ("f3".into(), "v3".into())]), 1);
    assert_eq!(cmd("HGET").arg("h").arg("f0").query::<Option<String>>(&mut con).unwrap().as_deref(), Some("new"));
    assert_eq!(cmd("HGET").arg("h").arg("zz").query::<Option<String>>(&mut con).unwrap(), None);
    assert_eq!(
        cmd("HMGET").arg("h").arg("f1").arg("zz").query::<Vec<Option<String>>>(&mut con).unwrap(),
        vec![Some("v1".to_string()), None]
    );
    assert_eq!(cmd("HMSET").arg("h").arg("f4").arg("v4").query::<String>(&mut con).unwrap(), "OK");
    assert_eq!(cmd("HLEN").arg("h").query::<i64>(&mut con).unwrap(), 5);
    assert_eq!(cmd("HSTRLEN").arg("h").arg("f0").query::<i64>(&mut con).unwrap(), 3);
    assert_eq!(cmd("HEXISTS").arg("h").arg("f4").query::<i64>(&mut con).unwrap(), 1);
    assert_eq!(cmd("HSETNX").arg("h").arg("f4").arg("x").query::<i64>(&mut con).unwrap(), 0);
    assert_eq!(cmd("HSETNX").arg("h").arg("f5").arg("x").query::<i64>(&mut con).unwrap(), 1);
    // A listpack keeps insertion order.
    let keys: Vec<String> = cmd("HKEYS").arg("h").query(&mut con).unwrap();
    assert_eq!(keys, ["f0", "f1", "f2", "f3", "f4", "f5"]);
    let vals: Vec<String> = cmd("HVALS").arg("h").query(&mut con).unwrap();
    assert_eq!(vals, ["new", "v1", "v2", "v3", "v4", "x"]);
    let all: HashMap<String, String> = cmd("HGETALL").arg("h").query(&mut con).unwrap();
    assert_eq!(all.len(), 6);
    assert_eq!(all["f5"], "x");

    assert_eq!(cmd("HDEL").arg("h").arg("f0").arg("f1").arg("nope").query::<i64>(&mut con).unwrap(), 2);
    assert_eq!(cmd("HDEL").arg("h").arg(&["f2", "f3", "f4", "f5", "f6"]).query::<i64>(&mut con).unwrap(), 4);
    assert_eq!(cmd("EXISTS").arg("h").query::<i64>(&mut con).unwrap(), 0);

    assert_eq!(fails(&mut con, &["HSET", "h", "a", "1", "b"]), "ERR wrong number of arguments for 'hset' command");
    assert_eq!(fails(&mut con, &["HMSET", "h", "a"]), "ERR wrong number of arguments for 'hmset' command");
    cmd("SET").arg("s").arg("v").query::<()>(&mut con).unwrap();
    assert_eq!(
        fails(&mut con, &["HGET", "s", "a"]),
        "WRONGTYPE Operation against a key holding the wrong kind of value"
    );
}

#[test]
fn encodings_follow_config() {
    let srv = TestServer::with_config(|c| {
        c.hash_max_listpack_entries = 4;
        c.hash_max_listpack_value = 8;
    });
    let mut con = srv.conn();
    hset(&mut con, "h", &pairs(4, "f"));
    assert_eq!(encoding(&mut con, "h"), "listpack");
    hset(&mut con, "h", &pairs(5, "f"));
    assert_eq!(encoding(&mut con, "h"), "hashtable");
    cmd("HDEL").arg("h").arg(&["f0", "f1", "f2", "f3"]).query::<i64>(&mut con).unwrap();
    assert_eq!(encoding(&mut con, "h"), "hashtable");
    hset(&mut con, "v", &[("f".into(), "123456789".into())]);
    assert_eq!(encoding(&mut con, "v"), "hashtable");
    cmd("CONFIG").arg("SET").arg("hash-max-ziplist-value").arg("64").query::<()>(&mut con).unwrap();
    hset(&mut con, "w", &[("f".into(), "123456789".into())]);
    assert_eq!(encoding(&mut con, "w"), "listpack");
    let usage: i64 = cmd("MEMORY").arg("USAGE").arg("h").query(&mut con).unwrap_or(1);
    assert!(usage > 0);
}

#[test]
fn counters() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    assert_eq!(cmd("HINCRBY").arg("h").arg("n").arg(5).query::<i64>(&mut con).unwrap(), 5);
    assert_eq!(cmd("HINCRBY").arg("h").arg("n").arg(-7).query::<i64>(&mut con).unwrap(), -2);
    assert_eq!(cmd("HINCRBYFLOAT").arg("h").arg("x").arg("1.23").query::<String>(&mut con).unwrap(), "1.23");
    assert_eq!(cmd("HINCRBYFLOAT").arg("h").arg("x").arg("0.77").query::<String>(&mut con).unwrap(), "2");
    assert_eq!(cmd("HINCRBYFLOAT").arg("h").arg("n").arg("0.5").query::<String>(&mut con).unwrap(), "-1.5");
    assert_eq!(fails(&mut con, &["HINCRBY", "h", "n", "1"]), "ERR hash value is not an integer");
    hset(&mut con, "h", &[("s".into(), " 1".into())]);
    assert_eq!(fails(&mut con, &["HINCRBYFLOAT", "h", "s", "1"]), "ERR hash value is not a float");
    assert_eq!(fails(&mut con, &["HINCRBY", "h", "n", "x"]), "ERR value is not an integer or out of range");
    assert_eq!(fails(&mut con, &["HINCRBYFLOAT", "h", "n", "x"]), "ERR value is not a valid float");
    assert_eq!(fails(&mut con, &["HINCRBYFLOAT", "new", "f", "inf"]), "ERR value is NaN or Infinity");
    assert_eq!(cmd("EXISTS").arg("new").query::<i64>(&mut con).unwrap(), 0);
    hset(&mut con, "h", &[("big".into(), "9223372036854775800".into())]);
    assert_eq!(fails(&mut con, &["HINCRBY", "h", "big", "8"]), "ERR increment or decrement would overflow");
}

#[test]
fn hrandfield_counts_and_protocols() {
    let srv = TestServer::with_config(|c| c.hash_max_listpack_entries = 16);
    let mut con = srv.conn();
    hset(&mut con, "small", &pairs(10, "f"));
    hset(&mut con, "big", &pairs(100, "f"));
    assert_eq!(encoding(&mut con, "big"), "hashtable");
    for key in ["small", "big"] {
        let n = if key == "small" { 10 } else { 100 };
        let one: String = cmd("HRANDFIELD").arg(key).query(&mut con).unwrap();
        assert!(one.starts_with('f'));
        let rep: Vec<String> = cmd("HRANDFIELD").arg(key).arg(-300).query(&mut con).unwrap();
        assert_eq!(rep.len(), 300);
        let distinct: HashSet<String> = rep.into_iter().collect();
        assert!(distinct.len() > 5);
        let uniq: Vec<String> = cmd("HRANDFIELD").arg(key).arg(5).query(&mut con).unwrap();
        assert_eq!(uniq.iter().collect::<HashSet<_>>().len(), 5);
        let whole: Vec<String> = cmd("HRANDFIELD").arg(key).arg(1000).arg("WITHVALUES").query(&mut con).unwrap();
        assert_eq!(whole.len(), 2 * n);
        for p in whole.chunks(2) {
            assert_eq!(p[0][1..], p[1][1..]);
        }
    }
    assert_eq!(
        fails(&mut con, &["HRANDFIELD", "small", "-9223372036854775808"]).split(',').next().unwrap(),
        "ERR value is out of range"
    );
    assert_eq!(
        fails(&mut con, &["HRANDFIELD", "small", "-9223372036854770000", "WITHVALUES"]),
        "ERR value is out of range"
    );
    assert_eq!(fails(&mut con, &["HRANDFIELD", "small", "1", "VALUES"]), "ERR syntax error");

    // Exact bytes: empty arrays whatever the protocol, RESP3 pairs.
    let mut s = srv.raw();
    let want = b"*0\r\n*0\r\n$-1\r\n";
    let got = roundtrip(&mut s, b"HRANDFIELD small 0\r\nHRANDFIELD nokey 5\r\nHRANDFIELD nokey\r\n", want.len());
    assert_eq!(got, want);
    hset(&mut con, "one", &[("a".into(), "1".into())]);
    let mut s3 = srv.raw();
    s3.write_all(b"HELLO 3\r\nPING\r\n").unwrap();
    let mut hello = Vec::new();
    while !hello.ends_with(b"+PONG\r\n") {
        let more = common::read_n(&mut s3, 1);
        assert!(!more.is_empty(), "connection closed");
        hello.extend(more);
    }
    let want = b"*1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*0\r\n_\r\n%1\r\n$1\r\na\r\n$1\r\n1\r\n";
    let got = roundtrip(
        &mut s3,
        b"HRANDFIELD one 1 WITHVALUES\r\nHRANDFIELD nokey 5\r\nHRANDFIELD nokey\r\nHGETALL one\r\n",
        want.len(),
    );
    assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(want));
}

#[test]
fn hscan_sees_every_stable_field_while_the_hash_changes() {
    let srv = TestServer::with_config(|c| c.hash_max_listpack_entries = 16);
    let mut con = srv.conn();
    hset(&mut con, "small", &pairs(10, "f"));
    let (cursor, items): (String, Vec<String>) =
        cmd("HSCAN").arg("small").arg(0).arg("COUNT").arg(1).query(&mut con).unwrap();
    assert_eq!((cursor.as_str(), items.len()), ("0", 20));
    let (_, items): (String, Vec<String>) =
        cmd("HSCAN").arg("small").arg(0).arg("MATCH").arg("f1*").query(&mut con).unwrap();
    assert_eq!(items, ["f1", "v1"]);

    let stable = pairs(500, "stable");
    hset(&mut con, "big", &stable);
    let mut seen = HashSet::new();
    let mut cursor = "0".to_string();
    let mut step = 0;
    loop {
        let (next, items): (String, Vec<String>) =
            cmd("HSCAN").arg("big").arg(&cursor).arg("COUNT").arg(20).query(&mut con).unwrap();
        for p in items.chunks(2) {
            seen.insert(p[0].clone());
        }
        // Grow the hash a lot (several rehashes), then shrink it again, between calls.
        let extra = pairs(200, &format!("extra{step}-"));
        if step < 10 {
            hset(&mut con, "big", &extra);
        } else {
            let mut del = cmd("HDEL");
            del.arg("big");
            for (f, _) in pairs(200, &format!("extra{}-", step - 10)) {
                del.arg(f);
            }
            del.query::<i64>(&mut con).unwrap();
        }
        step += 1;
        cursor = next;
        if cursor == "0" {
            break;
        }
    }
    for (f, _) in &stable {
        assert!(seen.contains(f), "HSCAN missed {f}");
    }
    assert_eq!(fails(&mut con, &["HSCAN", "big", "abc"]), "ERR invalid cursor");
    assert_eq!(fails(&mut con, &["HSCAN", "big", "0", "COUNT", "0"]), "ERR syntax error");
}

#[test]
fn ttl_watch_and_dump_restore() {
    let srv = TestServer::with_config(|c| c.hash_max_listpack_entries = 4);
    let mut con = srv.conn();
    hset(&mut con, "h", &pairs(3, "f"));
    cmd("EXPIRE").arg("h").arg(100).query::<()>(&mut con).unwrap();
    hset(&mut con, "h", &pairs(6, "f"));
    cmd("HDEL").arg("h").arg("f0").query::<()>(&mut con).unwrap();
    assert!(cmd("TTL").arg("h").query::<i64>(&mut con).unwrap() > 0);

    // A write to a watched hash fails the transaction; a read does not.
    let mut other = srv.conn();
    cmd("WATCH").arg("h").query::<()>(&mut con).unwrap();
    cmd("HGET").arg("h").arg("f1").query::<()>(&mut other).unwrap();
    cmd("MULTI").query::<()>(&mut con).unwrap();
    cmd("HLEN").arg("h").query::<()>(&mut con).unwrap();
    let r: Value = cmd("EXEC").query(&mut con).unwrap();
    assert_eq!(r, Value::Array(vec![Value::Int(5)]));
    cmd("WATCH").arg("h").query::<()>(&mut con).unwrap();
    cmd("HINCRBY").arg("h").arg("n").arg(1).query::<()>(&mut other).unwrap();
    cmd("MULTI").query::<()>(&mut con).unwrap();
    cmd("HLEN").arg("h").query::<()>(&mut con).unwrap();
    let r: Value = cmd("EXEC").query(&mut con).unwrap();
    assert_eq!(r, Value::Nil);

    let dump: Vec<u8> = cmd("DUMP").arg("h").query(&mut con).unwrap();
    cmd("RESTORE").arg("h2").arg(0).arg(dump).query::<()>(&mut con).unwrap();
    let a: HashMap<String, String> = cmd("HGETALL").arg("h").query(&mut con).unwrap();
    let b: HashMap<String, String> = cmd("HGETALL").arg("h2").query(&mut con).unwrap();
    assert_eq!(a, b);
    assert_eq!(encoding(&mut con, "h2"), "hashtable");
}
