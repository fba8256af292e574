//! Sorted-set commands through the `redis` crate against an in-process server: replies, encodings as OBJECT
//! ENCODING reports them, RESP3 shapes on a raw socket, and blocking pops woken by writes from another
//! connection.

mod common;

use common::{fails, q, roundtrip, wait_blocked, TestServer};
use redis::{cmd, Connection, Value};
use std::time::{Duration, Instant};

fn encoding(con: &mut Connection, key: &str) -> String {
    q(con, &["OBJECT", "ENCODING", key])
}

#[test]
fn zadd_ranges_and_encodings() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    assert_eq!(q::<i64>(&mut con, &["ZADD", "z", "1", "a", "2", "b", "3", "c"]), 3);
    assert_eq!(encoding(&mut con, "z"), "listpack");
    assert_eq!(q::<Vec<String>>(&mut con, &["ZRANGE", "z", "0", "-1", "WITHSCORES"]), ["a", "1", "b", "2", "c", "3"]);
    assert_eq!(q::<Vec<String>>(&mut con, &["ZRANGE", "z", "(1", "+inf", "BYSCORE"]), ["b", "c"]);
    assert_eq!(q::<Vec<String>>(&mut con, &["ZREVRANGEBYLEX", "z", "+", "[b"]), ["c", "b"]);
    assert_eq!(q::<Option<f64>>(&mut con, &["ZSCORE", "z", "b"]), Some(2.0));
    assert_eq!(q::<Option<i64>>(&mut con, &["ZREVRANK", "z", "a"]), Some(2));
    assert_eq!(
        fails(&mut con, &["ZADD", "z", "NX", "XX", "1", "a"]),
        "ERR XX and NX options at the same time are not compatible"
    );

    // Growing past zset-max-listpack-entries converts for good.
    q::<()>(&mut con, &["CONFIG", "SET", "zset-max-listpack-entries", "16"]);
    for i in 0..20 {
        q::<i64>(&mut con, &["ZADD", "big", &i.to_string(), &format!("m{i}")]);
    }
    assert_eq!(encoding(&mut con, "big"), "skiplist");
    assert_eq!(q::<i64>(&mut con, &["ZREMRANGEBYRANK", "big", "0", "9"]), 10);
    assert_eq!(encoding(&mut con, "big"), "skiplist");
    assert_eq!(q::<i64>(&mut con, &["ZRANK", "big", "m15"]), 5);
    // A small *STORE result is built compact again, as in Redis.
    assert_eq!(q::<i64>(&mut con, &["ZRANGESTORE", "small", "big", "0", "2"]), 3);
    assert_eq!(encoding(&mut con, "small"), "listpack");
    assert_eq!(q::<i64>(&mut con, &["ZUNIONSTORE", "u", "2", "big", "z"]), 13);
    assert_eq!(encoding(&mut con, "u"), "listpack");
    q::<()>(&mut con, &["CONFIG", "SET", "zset-max-listpack-entries", "128"]);

    // DUMP / RESTORE keep the members and scores.
    let dump: Vec<u8> = q(&mut con, &["DUMP", "big"]);
    cmd("RESTORE").arg("copy").arg(0).arg(dump).query::<()>(&mut con).unwrap();
    assert_eq!(
        q::<Vec<String>>(&mut con, &["ZRANGE", "copy", "0", "-1", "WITHSCORES"]),
        q::<Vec<String>>(&mut con, &["ZRANGE", "big", "0", "-1", "WITHSCORES"])
    );
    assert_eq!(encoding(&mut con, "copy"), "listpack");
}

#[test]
fn large_set_rank_and_pops() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    let mut pipe = redis::pipe();
    for i in 0..5000 {
        pipe.cmd("ZADD").arg("z").arg(i % 997).arg(format!("m{i:05}")).ignore();
    }
    pipe.query::<()>(&mut con).unwrap();
    assert_eq!(q::<i64>(&mut con, &["ZCARD", "z"]), 5000);
    let all: Vec<String> = q(&mut con, &["ZRANGE", "z", "0", "-1"]);
    for idx in [0usize, 1, 999, 2500, 4999] {
        assert_eq!(q::<i64>(&mut con, &["ZRANK", "z", &all[idx]]) as usize, idx);
    }
    let rev: Vec<String> = q(&mut con, &["ZREVRANGE", "z", "0", "-1"]);
    assert_eq!(rev.iter().rev().cloned().collect::<Vec<_>>(), all);
    assert_eq!(q::<i64>(&mut con, &["ZCOUNT", "z", "10", "(20"]), 55);
    let popped: Vec<String> = q(&mut con, &["ZPOPMIN", "z", "3"]);
    assert_eq!(popped, [all[0].as_str(), "0", all[1].as_str(), "0", all[2].as_str(), "0"]);
    let mut seen = std::collections::HashSet::new();
    let mut cursor = "0".to_string();
    loop {
        let (next, items): (String, Vec<String>) = q(&mut con, &["ZSCAN", "z", &cursor, "COUNT", "100"]);
        for pair in items.chunks(2) {
            seen.insert(pair[0].clone());
        }
        cursor = next;
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(seen.len(), 4997);
}

/// Read from `s` until what was read ends with `suffix`.
fn read_until(s: &mut std::net::TcpStream, suffix: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut buf = Vec::new();
    let mut tmp = [0u8; 4096];
    while !buf.ends_with(suffix) {
        let n = s.read(&mut tmp).unwrap();
        assert!(n > 0, "connection closed");
        buf.extend_from_slice(&tmp[..n]);
    }
    buf
}

#[test]
fn resp3_shapes() {
    use std::io::Write;
    let srv = TestServer::start();
    let mut s = srv.raw();
    s.write_all(b"HELLO 3\r\nPING\r\n").unwrap();
    read_until(&mut s, b"+PONG\r\n");
    assert_eq!(roundtrip(&mut s, b"ZADD z 1 a 2 b\r\n", 4), b":2\r\n");
    let want = b"*2\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2\r\n";
    assert_eq!(roundtrip(&mut s, b"ZRANGE z 0 -1 WITHSCORES\r\n", want.len()), want);
    assert_eq!(roundtrip(&mut s, b"ZSCORE z b\r\n", 4), b",2\r\n");
    let want = b"*2\r\n$1\r\na\r\n,1\r\n";
    assert_eq!(roundtrip(&mut s, b"ZPOPMIN z\r\n", want.len()), want);
    assert_eq!(roundtrip(&mut s, b"ZMPOP 1 nokey MIN\r\n", 3), b"_\r\n");
}

#[test]
fn blocking_pops_are_woken_by_writes() {
    let srv = TestServer::start();
    let mut waiter = srv.conn();
    let mut writer = srv.conn();
    let t = std::thread::spawn(move || {
        let got: Vec<String> = cmd("BZPOPMIN").arg("bz").arg(5).query(&mut waiter).unwrap();
        let got2: Value =
            cmd("BZMPOP").arg(5).arg(2).arg("b1").arg("b2").arg("MAX").arg("COUNT").arg(2).query(&mut waiter).unwrap();
        (got, got2)
    });
    wait_blocked(&mut writer, 1);
    assert_eq!(q::<i64>(&mut writer, &["ZADD", "bz", "-1", "foo", "1", "bar"]), 2);
    // The ZADD's batch served BZPOPMIN before replying, so one blocked client now is the BZMPOP.
    wait_blocked(&mut writer, 1);
    q::<i64>(&mut writer, &["ZADD", "b2", "1", "a", "2", "b", "3", "c"]);
    let (got, got2) = t.join().unwrap();
    assert_eq!(got, ["bz", "foo", "-1"]);
    let expect = Value::Array(vec![
        Value::BulkString(b"b2".to_vec()),
        Value::Array(vec![
            Value::Array(vec![Value::BulkString(b"c".to_vec()), Value::BulkString(b"3".to_vec())]),
            Value::Array(vec![Value::BulkString(b"b".to_vec()), Value::BulkString(b"2".to_vec())]),
        ]),
    ]);
    assert_eq!(got2, expect);
    assert_eq!(q::<Vec<String>>(&mut writer, &["ZRANGE", "bz", "0", "-1"]), ["bar"]);

    // A timeout answers a null array.
    let start = Instant::now();
    let v: Value = q(&mut writer, &["BZPOPMAX", "none", "0.1"]);
    assert_eq!(v, Value::Nil);
    assert!(start.elapsed() >= Duration::from_millis(90));
}

#[test]
fn set_algebra_with_plain_sets_and_weights() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    q::<i64>(&mut con, &["ZADD", "za", "1", "a", "2", "b", "3", "c"]);
    q::<i64>(&mut con, &["ZADD", "zb", "1", "b", "2", "c", "3", "d"]);
    assert_eq!(
        q::<Vec<String>>(&mut con, &["ZUNION", "2", "za", "zb", "WEIGHTS", "2", "3", "WITHSCORES"]),
        ["a", "2", "b", "7", "d", "9", "c", "12"]
    );
    assert_eq!(q::<Vec<String>>(&mut con, &["ZINTER", "2", "za", "zb"]), ["b", "c"]);
    assert_eq!(q::<Vec<String>>(&mut con, &["ZDIFF", "2", "za", "zb"]), ["a"]);
    assert_eq!(q::<i64>(&mut con, &["ZINTERCARD", "2", "za", "zb", "LIMIT", "1"]), 1);
    assert_eq!(q::<i64>(&mut con, &["ZINTERSTORE", "out", "2", "za", "zb", "AGGREGATE", "MAX"]), 2);
    assert_eq!(q::<Vec<String>>(&mut con, &["ZRANGE", "out", "0", "-1", "WITHSCORES"]), ["b", "2", "c", "3"]);
    assert_eq!(q::<i64>(&mut con, &["ZDIFFSTORE", "out", "2", "za", "za"]), 0);
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "out"]), 0);
    assert_eq!(fails(&mut con, &["ZUNION", "0", "za"]), "ERR at least 1 input key is needed for 'zunion' command");
    assert_eq!(fails(&mut con, &["ZINTER", "2", "za", "zb", "WEIGHTS", "1", "x"]), "ERR weight value is not a float");
    assert_eq!(
        q::<Vec<String>>(&mut con, &["COMMAND", "GETKEYS", "ZINTERSTORE", "d", "2", "za", "zb", "WEIGHTS", "1", "2"]),
        ["d", "za", "zb"]
    );
}
