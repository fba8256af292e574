//! The master side of replication: SYNC gives a payload, then every write as Redis propagates it.

mod common;

use common::{set_and_outlive, TestServer};
use redis::cmd;
use std::io::Read;

fn read_stream(s: &mut std::net::TcpStream, want: &str) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains(want) {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

#[test]
fn sync_streams_rewritten_writes() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    let mut repl = srv.raw();
    std::io::Write::write_all(&mut repl, b"SYNC\r\n").unwrap();
    let head = read_stream(&mut repl, "REDIS0010");
    assert!(head.starts_with('$') && head.contains("\r\nREDIS0010"), "{head:?}");
    cmd("SET").arg("a").arg("1").arg("EX").arg(100).query::<()>(&mut con).unwrap();
    cmd("GET").arg("a").query::<String>(&mut con).unwrap();
    cmd("EXPIRE").arg("a").arg(50).query::<()>(&mut con).unwrap();
    cmd("INCRBYFLOAT").arg("f").arg("1.5").query::<String>(&mut con).unwrap();
    cmd("SELECT").arg(3).query::<()>(&mut con).unwrap();
    cmd("GETDEL").arg("nokey").query::<Option<String>>(&mut con).unwrap();
    cmd("SET").arg("b").arg("2").query::<()>(&mut con).unwrap();
    let s = read_stream(&mut repl, "$1\r\nb\r\n$1\r\n2\r\n");
    let lines: Vec<&str> = s.split("\r\n").collect();
    let text = lines.join(" ");
    assert!(text.contains("SELECT $1 0 *5 $3 SET $1 a $1 1 $4 PXAT"), "{text}");
    assert!(text.contains("$9 PEXPIREAT $1 a"), "{text}");
    assert!(text.contains("*4 $3 SET $1 f $3 1.5 $7 KEEPTTL"), "{text}");
    assert!(text.contains("SELECT $1 3 *3 $3 SET $1 b $1 2"), "{text}");
    assert!(!text.contains("GET $1 a"), "reads are not propagated: {text}");
    assert!(!text.contains("GETDEL"), "no-op writes are not propagated: {text}");
    let info: String = cmd("INFO").arg("replication").query(&mut con).unwrap();
    assert!(info.contains("connected_slaves:1"), "{info}");
}

#[test]
fn transactions_are_wrapped_and_expired_keys_deleted() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    cmd("DEBUG").arg("SET-ACTIVE-EXPIRE").arg(0).query::<()>(&mut con).unwrap();
    set_and_outlive(&mut con, "old", "x", 1);
    let mut repl = srv.raw();
    std::io::Write::write_all(&mut repl, b"SYNC\r\n").unwrap();
    read_stream(&mut repl, "REDIS0010");
    redis::pipe()
        .atomic()
        .cmd("GET")
        .arg("old")
        .cmd("INCR")
        .arg("n")
        .cmd("INCR")
        .arg("m")
        .query::<()>(&mut con)
        .unwrap();
    let s = read_stream(&mut repl, "EXEC");
    let text = s.split("\r\n").collect::<Vec<_>>().join(" ");
    let del = text.find("$3 DEL $3 old").expect(&text);
    let multi = text.find("MULTI").expect(&text);
    assert!(del < multi, "the lazy-expire DEL goes out on its own, before MULTI: {text}");
    assert!(text.contains("MULTI *2 $4 INCR $1 n *2 $4 INCR $1 m *1 $4 EXEC"), "{text}");
    // A transaction with a single write goes out as that write alone (Redis 7.0).
    redis::pipe().atomic().cmd("GET").arg("n").cmd("SET").arg("solo").arg("1").query::<()>(&mut con).unwrap();
    cmd("SET").arg("after").arg("1").query::<()>(&mut con).unwrap();
    let s = read_stream(&mut repl, "after");
    let text = s.split("\r\n").collect::<Vec<_>>().join(" ");
    assert!(text.contains("*3 $3 SET $4 solo $1 1 *3 $3 SET $5 after"), "{text}");
    assert!(!text.contains("MULTI"), "{text}");
}

#[test]
fn sync_sends_the_dataset_as_an_rdb_file() {
    use ferrodis::testing::rdb::{Item, RdbReader};
    use ferrodis::testing::Encodings;
    let srv = TestServer::start();
    let mut con = srv.conn();
    cmd("SET").arg("s").arg("v").query::<()>(&mut con).unwrap();
    cmd("RPUSH").arg("l").arg("a").arg("b").query::<()>(&mut con).unwrap();
    cmd("SELECT").arg(2).query::<()>(&mut con).unwrap();
    cmd("HSET").arg("h").arg("f").arg("x").query::<()>(&mut con).unwrap();
    let mut repl = srv.raw();
    std::io::Write::write_all(&mut repl, b"SYNC\r\n").unwrap();
    // "$<len>\r\n" then exactly <len> bytes of RDB.
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n") {
        repl.read_exact(&mut b).unwrap();
        head.push(b[0]);
    }
    let len: usize = String::from_utf8_lossy(&head[1..head.len() - 2]).parse().unwrap();
    let mut file = vec![0u8; len];
    repl.read_exact(&mut file).unwrap();
    let mut r = RdbReader::new(&file[..], Encodings::default(), true).unwrap();
    let (mut db, mut keys) = (0, Vec::new());
    loop {
        match r.next().unwrap() {
            Item::Eof => break,
            Item::SelectDb(n) => db = n,
            Item::Entry(e) => keys.push((db, String::from_utf8_lossy(&e.key).into_owned())),
            _ => {}
        }
    }
    keys.sort();
    assert_eq!(keys, [(0, "l".to_string()), (0, "s".to_string()), (2, "h".to_string())]);
}
