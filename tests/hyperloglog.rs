//! HyperLogLog commands through the `redis` crate against an in-process server: the HLL is a plain string
//! holding Redis's exact bytes, so string commands and corruption behave as in Redis.

mod common;

use common::{fails, TestServer};
use redis::{cmd, Connection, Value};

fn int(con: &mut Connection, args: &[&str]) -> i64 {
    cmd(args[0]).arg(&args[1..]).query(con).unwrap()
}

#[test]
fn add_count_merge() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    assert_eq!(int(&mut con, &["PFADD", "hll"]), 1);
    assert_eq!(int(&mut con, &["EXISTS", "hll"]), 1);
    assert_eq!(int(&mut con, &["PFCOUNT", "hll"]), 0);
    assert_eq!(int(&mut con, &["PFADD", "hll", "a", "b", "c"]), 1);
    assert_eq!(int(&mut con, &["PFADD", "hll", "a", "b", "c"]), 0);
    assert_eq!(int(&mut con, &["PFADD", "hll", ""]), 1);
    assert_eq!(int(&mut con, &["PFCOUNT", "hll"]), 4);

    for (k, items) in [("h1", ["a", "b", "c"]), ("h2", ["b", "c", "d"]), ("h3", ["c", "d", "e"])] {
        cmd("PFADD").arg(k).arg(&items[..]).query::<()>(&mut con).unwrap();
    }
    assert_eq!(int(&mut con, &["PFCOUNT", "h1", "h2", "h3"]), 5);
    assert_eq!(cmd("PFMERGE").arg(&["h", "h1", "h2", "h3"]).query::<String>(&mut con).unwrap(), "OK");
    assert_eq!(int(&mut con, &["PFCOUNT", "h"]), 5);

    // Many elements: estimate within 5%, promoted to dense past hll-sparse-max-bytes.
    let items: Vec<String> = (0..20000).map(|i| format!("item:{i}")).collect();
    for chunk in items.chunks(1000) {
        cmd("PFADD").arg("big").arg(chunk).query::<()>(&mut con).unwrap();
    }
    let c = int(&mut con, &["PFCOUNT", "big"]);
    assert!((c - 20000).abs() < 1000, "{c}");
    let enc: String = cmd("PFDEBUG").arg(&["ENCODING", "big"]).query(&mut con).unwrap();
    assert_eq!(enc, "dense");
    assert_eq!(int(&mut con, &["STRLEN", "big"]), 12304);
}

#[test]
fn bytes_are_redis_format() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    cmd("PFADD").arg(&["h", "a", "b", "c"]).query::<()>(&mut con).unwrap();
    let v: Vec<u8> = cmd("GET").arg("h").query(&mut con).unwrap();
    assert_eq!(
        &v[..],
        b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x60\xf3\x80\x50\xb1\x84\x4b\xfb\x80\x42\x5a"
    );
    // A copy made with SET is a valid HLL too (embstr), and counting caches the cardinality.
    cmd("SET").arg("copy").arg(&v[..]).query::<()>(&mut con).unwrap();
    assert_eq!(int(&mut con, &["PFCOUNT", "copy"]), 3);
    let byte: Vec<u8> = cmd("GETRANGE").arg(&["copy", "15", "15"]).query(&mut con).unwrap();
    assert_eq!(byte, vec![0]);
    let d: String = cmd("PFDEBUG").arg(&["DECODE", "h"]).query(&mut con).unwrap();
    assert_eq!(d, "Z:8436 v:1,1 Z:4274 v:2,1 Z:3068 v:1,1 Z:603");
}

#[test]
fn type_checks_and_corruption() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    let not_hll = "WRONGTYPE Key is not a valid HyperLogLog string value.";
    cmd("SET").arg(&["foo", "bar"]).query::<()>(&mut con).unwrap();
    assert_eq!(fails(&mut con, &["PFADD", "foo", "1"]), not_hll);
    assert_eq!(fails(&mut con, &["PFCOUNT", "foo"]), not_hll);
    assert_eq!(fails(&mut con, &["PFMERGE", "bar", "foo"]), not_hll);
    assert_eq!(fails(&mut con, &["PFMERGE", "foo", "bar"]), not_hll);

    cmd("PFADD").arg(&["hll", "a", "b", "c"]).query::<()>(&mut con).unwrap();
    cmd("APPEND").arg(&["hll", "hello"]).query::<()>(&mut con).unwrap();
    assert_eq!(fails(&mut con, &["PFCOUNT", "hll"]), "INVALIDOBJ Corrupted HLL object detected");
    cmd("DEL").arg("hll").query::<()>(&mut con).unwrap();
    cmd("PFADD").arg(&["hll", "a", "b", "c"]).query::<()>(&mut con).unwrap();
    cmd("SETRANGE").arg(&["hll", "4", "\x00"]).query::<()>(&mut con).unwrap();
    assert_eq!(fails(&mut con, &["PFCOUNT", "hll"]), not_hll);

    // Random corruption never takes the server down.
    let mut seed = 12345u64;
    for _ in 0..200 {
        cmd("DEL").arg("h").query::<()>(&mut con).unwrap();
        let items: Vec<String> = (0..(seed % 3000)).map(|i| format!("{seed}-{i}")).collect();
        cmd("PFADD").arg("h").arg(&items).query::<()>(&mut con).unwrap();
        for _ in 0..5 {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let len = int(&mut con, &["STRLEN", "h"]) as u64;
            let pos = (seed >> 33) % len;
            cmd("SETRANGE").arg("h").arg(pos).arg(&[(seed >> 20) as u8][..]).query::<()>(&mut con).unwrap();
        }
        let _ = cmd("PFCOUNT").arg("h").query::<Value>(&mut con);
        let _ = cmd("PFADD").arg(&["h", "x", "y"]).query::<Value>(&mut con);
        let _ = cmd("PFMERGE").arg(&["h2", "h"]).query::<Value>(&mut con);
    }
    assert_eq!(cmd("PING").query::<String>(&mut con).unwrap(), "PONG");
}

#[test]
fn debug_and_selftest() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    assert_eq!(fails(&mut con, &["PFDEBUG", "GETREG", "nokey"]), "ERR The specified key does not exist");
    cmd("PFADD").arg(&["h", "1", "2", "3"]).query::<()>(&mut con).unwrap();
    let regs: Vec<i64> = cmd("PFDEBUG").arg(&["GETREG", "h"]).query(&mut con).unwrap();
    assert_eq!(regs.len(), 16384);
    assert_eq!(regs.iter().filter(|&&r| r > 0).count(), 3);
    assert_eq!(int(&mut con, &["PFDEBUG", "TODENSE", "h"]), 0);
    assert_eq!(fails(&mut con, &["PFDEBUG", "NOPE", "h"]), "ERR Unknown PFDEBUG subcommand 'NOPE'");
    assert_eq!(cmd("PFSELFTEST").query::<String>(&mut con).unwrap(), "OK");
}

#[test]
fn sparse_max_bytes_config() {
    let srv = TestServer::with_config(|c| c.hll_sparse_max_bytes = 100);
    let mut con = srv.conn();
    let items: Vec<String> = (0..100).map(|i| i.to_string()).collect();
    cmd("PFADD").arg("h").arg(&items).query::<()>(&mut con).unwrap();
    let enc: String = cmd("PFDEBUG").arg(&["ENCODING", "h"]).query(&mut con).unwrap();
    assert_eq!(enc, "dense");
}
