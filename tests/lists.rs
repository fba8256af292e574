//! List commands through the `redis` crate against an in-process server: pushes and pops, ranges, edits,
//! moves, exact RESP2/RESP3 null shapes, node limits from config, and the blocking pops woken by other
//! clients' writes (several waiters, chained moves, timeouts, MULTI/EXEC).

mod common;

use common::{blocked_clients, err_text, fails, roundtrip, wait_blocked, TestServer};
use redis::{cmd, Connection, Value};
use std::time::{Duration, Instant};

fn lrange(con: &mut Connection, key: &str) -> Vec<String> {
    cmd("LRANGE").arg(key).arg(0).arg(-1).query(con).unwrap()
}

#[test]
fn push_pop_range_and_edits() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    assert_eq!(cmd("LPUSH").arg("l").arg(&["d", "c", "b", "a"]).query::<i64>(&mut con).unwrap(), 4);
    assert_eq!(cmd("RPUSH").arg("l").arg(&["0", "1", "2", "3"]).query::<i64>(&mut con).unwrap(), 8);
    assert_eq!(lrange(&mut con, "l"), ["a", "b", "c", "d", "0", "1", "2", "3"]);
    assert_eq!(cmd("LINDEX").arg("l").arg(-3).query::<String>(&mut con).unwrap(), "1");
    assert_eq!(cmd("LSET").arg("l").arg(1).arg("B").query::<String>(&mut con).unwrap(), "OK");
    assert_eq!(cmd("LINSERT").arg("l").arg("AFTER").arg("B").arg("bb").query::<i64>(&mut con).unwrap(), 9);
    assert_eq!(cmd("LREM").arg("l").arg(0).arg("c").query::<i64>(&mut con).unwrap(), 1);
    assert_eq!(cmd("LTRIM").arg("l").arg(1).arg(-2).query::<String>(&mut con).unwrap(), "OK");
    assert_eq!(lrange(&mut con, "l"), ["B", "bb", "d", "0", "1", "2"]);
    assert_eq!(cmd("LPOS").arg("l").arg("0").query::<i64>(&mut con).unwrap(), 3);
    assert_eq!(cmd("LPOP").arg("l").arg(2).query::<Vec<String>>(&mut con).unwrap(), ["B", "bb"]);
    assert_eq!(cmd("RPOP").arg("l").arg(2).query::<Vec<String>>(&mut con).unwrap(), ["2", "1"]);
    assert_eq!(cmd("LLEN").arg("l").query::<i64>(&mut con).unwrap(), 2);
    assert_eq!(cmd("OBJECT").arg("ENCODING").arg("l").query::<String>(&mut con).unwrap(), "quicklist");
    assert_eq!(fails(&mut con, &["LSET", "l", "5", "x"]), "ERR index out of range");
    assert_eq!(fails(&mut con, &["LSET", "nokey", "0", "x"]), "ERR no such key");
    assert_eq!(fails(&mut con, &["LPOP", "l", "-1"]), "ERR value is out of range, must be positive");
    assert_eq!(fails(&mut con, &["LMPOP", "0", "l", "LEFT"]), "ERR numkeys should be greater than 0");
    assert_eq!(fails(&mut con, &["LMPOP", "1", "l", "LEFT", "COUNT", "0"]), "ERR count should be greater than 0");
    cmd("SET").arg("s").arg("x").query::<()>(&mut con).unwrap();
    assert!(fails(&mut con, &["RPUSH", "s", "x"]).starts_with("WRONGTYPE"));
    let v: Value = cmd("LMPOP").arg(2).arg("nokey").arg("l").arg("RIGHT").arg("COUNT").arg(5).query(&mut con).unwrap();
    assert_eq!(
        v,
        Value::Array(vec![
            Value::BulkString(b"l".to_vec()),
            Value::Array(vec![Value::BulkString(b"0".to_vec()), Value::BulkString(b"d".to_vec())])
        ])
    );
    assert_eq!(cmd("EXISTS").arg("l").query::<i64>(&mut con).unwrap(), 0);
}

#[test]
fn null_shapes_resp2_and_resp3() {
    let srv = TestServer::start();
    let mut s = srv.raw();
    let lpop = b"*2\r\n$4\r\nLPOP\r\n$2\r\nno\r\n";
    let lpop0 = b"*3\r\n$4\r\nLPOP\r\n$2\r\nno\r\n$1\r\n0\r\n";
    assert_eq!(roundtrip(&mut s, lpop, 5), b"$-1\r\n");
    assert_eq!(roundtrip(&mut s, lpop0, 5), b"*-1\r\n");
    assert_eq!(roundtrip(&mut s, b"*3\r\n$5\r\nRPUSH\r\n$2\r\nno\r\n$1\r\nx\r\n", 4), b":1\r\n");
    assert_eq!(roundtrip(&mut s, lpop0, 4), b"*0\r\n");
    assert_eq!(roundtrip(&mut s, b"*2\r\n$3\r\nDEL\r\n$2\r\nno\r\n", 4), b":1\r\n");
    let hello = roundtrip(&mut s, b"*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n", 1);
    assert_eq!(hello[0], b'%');
    // Drain the rest of HELLO's map, if it came in several reads.
    s.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
    let mut rest = [0u8; 4096];
    let _ = std::io::Read::read(&mut s, &mut rest);
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    assert_eq!(roundtrip(&mut s, lpop, 3), b"_\r\n");
    assert_eq!(roundtrip(&mut s, lpop0, 3), b"_\r\n");
}

#[test]
fn small_nodes_from_config_keep_order() {
    let srv = TestServer::with_config(|c| c.list_max_listpack_size = 3);
    let mut con = srv.conn();
    for i in 0..200 {
        if i % 2 == 0 {
            cmd("RPUSH").arg("l").arg(i).query::<()>(&mut con).unwrap();
        } else {
            cmd("LPUSH").arg("l").arg(i).query::<()>(&mut con).unwrap();
        }
    }
    let mut want: Vec<String> = (0..200).filter(|i| i % 2 == 1).rev().map(|i| i.to_string()).collect();
    want.extend((0..200).filter(|i| i % 2 == 0).map(|i| i.to_string()));
    assert_eq!(lrange(&mut con, "l"), want);
    for (i, w) in want.iter().enumerate() {
        assert_eq!(&cmd("LINDEX").arg("l").arg(i).query::<String>(&mut con).unwrap(), w);
    }
    // A large element in the middle, then edits around it.
    let big = "x".repeat(20000);
    cmd("LSET").arg("l").arg(100).arg(&big).query::<()>(&mut con).unwrap();
    cmd("LINSERT").arg("l").arg("BEFORE").arg(&big).arg("pre").query::<()>(&mut con).unwrap();
    assert_eq!(cmd("LINDEX").arg("l").arg(101).query::<String>(&mut con).unwrap(), big);
    assert_eq!(cmd("LPOS").arg("l").arg("pre").query::<i64>(&mut con).unwrap(), 100);
    cmd("CONFIG").arg("SET").arg("list-max-listpack-size").arg("-1").query::<()>(&mut con).unwrap();
    cmd("RPUSH").arg("l").arg(&["a", "b", "c"]).query::<()>(&mut con).unwrap();
    assert_eq!(cmd("LLEN").arg("l").query::<i64>(&mut con).unwrap(), 204);
    assert_eq!(cmd("LRANGE").arg("l").arg(-3).arg(-1).query::<Vec<String>>(&mut con).unwrap(), ["a", "b", "c"]);
}

#[test]
fn blpop_is_woken_by_a_push() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    let mut waiter = srv.conn();
    let h =
        std::thread::spawn(move || cmd("BLPOP").arg("q1").arg("q2").arg(0).query::<Vec<String>>(&mut waiter).unwrap());
    wait_blocked(&mut con, 1);
    assert_eq!(cmd("RPUSH").arg("q2").arg(&["a", "b"]).query::<i64>(&mut con).unwrap(), 2);
    assert_eq!(h.join().unwrap(), ["q2", "a"]);
    assert_eq!(lrange(&mut con, "q2"), ["b"]);
    assert_eq!(blocked_clients(&mut con), 0);
}

#[test]
fn blocked_clients_are_served_in_order() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    let mut handles = Vec::new();
    for (i, args) in [
        vec!["BLMPOP", "0", "2", "b1", "b2", "LEFT", "COUNT", "1"],
        vec!["BLMPOP", "0", "2", "b1", "b2", "RIGHT", "COUNT", "10"],
        vec!["BLMPOP", "0", "2", "b1", "b2", "LEFT", "COUNT", "10"],
    ]
    .into_iter()
    .enumerate()
    {
        let mut c = srv.conn();
        handles.push(std::thread::spawn(move || cmd(args[0]).arg(&args[1..]).query::<Value>(&mut c).unwrap()));
        wait_blocked(&mut con, i + 1);
    }
    redis::pipe()
        .atomic()
        .cmd("LPUSH")
        .arg("b1")
        .arg(&["a", "b", "c", "d", "e"])
        .cmd("LPUSH")
        .arg("b2")
        .arg(&["1", "2", "3"])
        .query::<()>(&mut con)
        .unwrap();
    let got: Vec<Value> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let arr = |k: &str, v: &[&str]| {
        Value::Array(vec![
            Value::BulkString(k.as_bytes().to_vec()),
            Value::Array(v.iter().map(|s| Value::BulkString(s.as_bytes().to_vec())).collect()),
        ])
    };
    assert_eq!(got, [arr("b1", &["e"]), arr("b1", &["a", "b", "c", "d"]), arr("b2", &["3", "2", "1"])]);
}

#[test]
fn chained_blocking_moves() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    let mut c1 = srv.conn();
    let mut c2 = srv.conn();
    let h1 = std::thread::spawn(move || {
        cmd("BLMOVE").arg("l1").arg("l2").arg("RIGHT").arg("LEFT").arg(0).query::<String>(&mut c1).unwrap()
    });
    wait_blocked(&mut con, 1);
    let h2 = std::thread::spawn(move || {
        cmd("BLMOVE").arg("l2").arg("l3").arg("LEFT").arg("RIGHT").arg(0).query::<String>(&mut c2).unwrap()
    });
    wait_blocked(&mut con, 2);
    cmd("RPUSH").arg("l1").arg("foo").query::<()>(&mut con).unwrap();
    assert_eq!(h1.join().unwrap(), "foo");
    assert_eq!(h2.join().unwrap(), "foo");
    assert!(lrange(&mut con, "l1").is_empty() && lrange(&mut con, "l2").is_empty());
    assert_eq!(lrange(&mut con, "l3"), ["foo"]);

    // Self-referential BRPOPLPUSH rotates once the list exists.
    let mut c3 = srv.conn();
    let h3 = std::thread::spawn(move || cmd("BRPOPLPUSH").arg("r").arg("r").arg(0).query::<String>(&mut c3).unwrap());
    wait_blocked(&mut con, 1);
    cmd("RPUSH").arg("r").arg("x").query::<()>(&mut con).unwrap();
    assert_eq!(h3.join().unwrap(), "x");
    assert_eq!(lrange(&mut con, "r"), ["x"]);
}

#[test]
fn blocking_wrong_destination_and_timeout() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    cmd("SET").arg("dst").arg("str").query::<()>(&mut con).unwrap();
    let mut c1 = srv.conn();
    let h = std::thread::spawn(move || {
        cmd("BRPOPLPUSH").arg("src").arg("dst").arg(0).query::<Value>(&mut c1).map_err(err_text)
    });
    wait_blocked(&mut con, 1);
    cmd("RPUSH").arg("src").arg(&["a", "b", "c"]).query::<()>(&mut con).unwrap();
    assert!(h.join().unwrap().unwrap_err().starts_with("WRONGTYPE"));
    assert_eq!(lrange(&mut con, "src"), ["a", "b", "c"]);

    let t0 = Instant::now();
    let v: Value = cmd("BLPOP").arg("empty").arg(0.1).query(&mut con).unwrap();
    assert_eq!(v, Value::Nil);
    assert!(t0.elapsed() >= Duration::from_millis(90));
    assert_eq!(fails(&mut con, &["BLPOP", "empty", "-1"]), "ERR timeout is negative");
}

#[test]
fn blocking_commands_inside_multi_do_not_block() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    cmd("RPUSH").arg("x").arg(&["foo", "bar"]).query::<()>(&mut con).unwrap();
    let v: Vec<Value> = redis::pipe()
        .atomic()
        .cmd("BLPOP")
        .arg("x")
        .arg(0)
        .cmd("BRPOPLPUSH")
        .arg("x")
        .arg("t")
        .arg(0)
        .cmd("BLPOP")
        .arg("x")
        .arg(0)
        .cmd("BRPOPLPUSH")
        .arg("x")
        .arg("t")
        .arg(0)
        .query(&mut con)
        .unwrap();
    assert_eq!(
        v,
        [
            Value::Array(vec![Value::BulkString(b"x".to_vec()), Value::BulkString(b"foo".to_vec())]),
            Value::BulkString(b"bar".to_vec()),
            Value::Nil,
            Value::Nil
        ]
    );
    assert_eq!(lrange(&mut con, "t"), ["bar"]);
}
