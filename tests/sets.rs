//! Set commands through the `redis` crate against an in-process server: replies, encodings as Redis 7.0
//! reports them, RESP3 set replies, SSCAN under writes, and the effects other commands observe.

mod common;

use common::{fails, q, read_hello3, roundtrip, TestServer};
use redis::{cmd, Connection, Value};
use std::collections::{BTreeSet, HashMap, HashSet};

fn encoding(con: &mut Connection, key: &str) -> String {
    cmd("OBJECT").arg("ENCODING").arg(key).query(con).unwrap()
}

fn members(con: &mut Connection, key: &str) -> BTreeSet<String> {
    q(con, &["SMEMBERS", key])
}

fn set_of(v: &[&str]) -> BTreeSet<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn basics_and_encodings() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    assert_eq!(q::<i64>(&mut con, &["SADD", "s", "17", "16", "16"]), 2);
    assert_eq!(encoding(&mut con, "s"), "intset");
    assert_eq!(q::<Vec<String>>(&mut con, &["SMEMBERS", "s"]), vec!["16", "17"]);
    assert_eq!(q::<Vec<i64>>(&mut con, &["SMISMEMBER", "s", "16", "18", "17"]), vec![1, 0, 1]);
    assert_eq!(q::<i64>(&mut con, &["SADD", "s", "foo"]), 1);
    assert_eq!(encoding(&mut con, "s"), "hashtable");
    assert_eq!(q::<i64>(&mut con, &["SCARD", "s"]), 3);
    assert_eq!(q::<i64>(&mut con, &["SREM", "s", "foo", "17", "nope"]), 2);
    assert_eq!(encoding(&mut con, "s"), "hashtable");
    assert_eq!(q::<i64>(&mut con, &["SREM", "s", "16"]), 1);
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "s"]), 0);
    assert_eq!(q::<String>(&mut con, &["TYPE", "s"]), "none");

    for i in 0..512 {
        cmd("SADD").arg("big").arg(i).query::<()>(&mut con).unwrap();
    }
    assert_eq!(encoding(&mut con, "big"), "intset");
    assert_eq!(q::<i64>(&mut con, &["SADD", "big", "512"]), 1);
    assert_eq!(encoding(&mut con, "big"), "hashtable");
    assert_eq!(q::<String>(&mut con, &["TYPE", "big"]), "set");

    cmd("SET").arg("str").arg("x").query::<()>(&mut con).unwrap();
    assert_eq!(
        fails(&mut con, &["SADD", "str", "a"]),
        "WRONGTYPE Operation against a key holding the wrong kind of value"
    );
    assert_eq!(fails(&mut con, &["SISMEMBER", "s"]), "ERR wrong number of arguments for 'sismember' command");
}

#[test]
fn config_threshold_and_copy_keep_encoding() {
    let srv = TestServer::with_config(|c| c.set_max_intset_entries = 3);
    let mut con = srv.conn();
    q::<i64>(&mut con, &["SADD", "s", "1", "2", "3"]);
    assert_eq!(encoding(&mut con, "s"), "intset");
    q::<i64>(&mut con, &["SADD", "s", "4"]);
    assert_eq!(encoding(&mut con, "s"), "hashtable");
    q::<i64>(&mut con, &["SADD", "i", "1", "2"]);
    q::<i64>(&mut con, &["COPY", "i", "j"]);
    assert_eq!(encoding(&mut con, "j"), "intset");
    assert_eq!(members(&mut con, "j"), set_of(&["1", "2"]));
    // DUMP / RESTORE chooses the encoding afresh.
    let payload: Vec<u8> = q(&mut con, &["DUMP", "s"]);
    cmd("RESTORE").arg("r").arg(0).arg(payload).query::<()>(&mut con).unwrap();
    assert_eq!(encoding(&mut con, "r"), "hashtable");
    assert_eq!(members(&mut con, "r"), set_of(&["1", "2", "3", "4"]));
    let payload: Vec<u8> = q(&mut con, &["DUMP", "i"]);
    cmd("RESTORE").arg("r2").arg(0).arg(payload).query::<()>(&mut con).unwrap();
    assert_eq!(encoding(&mut con, "r2"), "intset");
}

#[test]
fn algebra_and_store() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    q::<i64>(&mut con, &["SADD", "a", "1", "2", "3", "x"]);
    q::<i64>(&mut con, &["SADD", "b", "2", "3", "4", "x"]);
    q::<i64>(&mut con, &["SADD", "c", "3", "x", "y"]);
    let inter: BTreeSet<String> = q(&mut con, &["SINTER", "a", "b", "c"]);
    assert_eq!(inter, set_of(&["3", "x"]));
    assert_eq!(q::<i64>(&mut con, &["SINTERCARD", "3", "a", "b", "c"]), 2);
    assert_eq!(q::<i64>(&mut con, &["SINTERCARD", "2", "a", "b", "LIMIT", "1"]), 1);
    let union: BTreeSet<String> = q(&mut con, &["SUNION", "a", "b", "nokey"]);
    assert_eq!(union, set_of(&["1", "2", "3", "4", "x"]));
    let diff: BTreeSet<String> = q(&mut con, &["SDIFF", "a", "b"]);
    assert_eq!(diff, set_of(&["1"]));

    assert_eq!(q::<i64>(&mut con, &["SINTERSTORE", "d", "a", "b"]), 3);
    assert_eq!(encoding(&mut con, "d"), "hashtable");
    q::<i64>(&mut con, &["SREM", "a", "x"]);
    q::<i64>(&mut con, &["SREM", "b", "x"]);
    // a and b stay tables; their intersection is stored as an intset.
    assert_eq!(encoding(&mut con, "a"), "hashtable");
    assert_eq!(q::<i64>(&mut con, &["SINTERSTORE", "d", "a", "b"]), 2);
    assert_eq!(encoding(&mut con, "d"), "intset");
    assert_eq!(q::<Vec<String>>(&mut con, &["SMEMBERS", "d"]), vec!["2", "3"]);
    assert_eq!(q::<i64>(&mut con, &["SUNIONSTORE", "d", "a", "b"]), 4);
    assert_eq!(q::<i64>(&mut con, &["SDIFFSTORE", "d", "a", "b"]), 1);
    assert_eq!(members(&mut con, "d"), set_of(&["1"]));
    cmd("EXPIRE").arg("d").arg(100).query::<()>(&mut con).unwrap();
    assert_eq!(q::<i64>(&mut con, &["SDIFFSTORE", "d", "a", "a"]), 0);
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "d"]), 0);

    assert_eq!(fails(&mut con, &["SINTERCARD", "0", "a"]), "ERR numkeys should be greater than 0");
    assert_eq!(fails(&mut con, &["SINTERCARD", "1", "a", "LIMIT", "-1"]), "ERR LIMIT can't be negative");
    assert_eq!(
        fails(&mut con, &["SINTERCARD", "3", "a", "b"]),
        "ERR Number of keys can't be greater than number of args"
    );
    let keys: Vec<String> = q(&mut con, &["COMMAND", "GETKEYS", "SINTERCARD", "2", "a", "b", "LIMIT", "3"]);
    assert_eq!(keys, vec!["a", "b"]);
}

#[test]
fn smove_watch_semantics() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    let mut other = srv.conn();
    q::<i64>(&mut con, &["SADD", "src", "a", "b"]);
    q::<i64>(&mut con, &["SADD", "dst", "a"]);
    cmd("WATCH").arg("dst").query::<()>(&mut con).unwrap();
    cmd("MULTI").query::<()>(&mut con).unwrap();
    cmd("SADD").arg("dst").arg("c").query::<()>(&mut con).unwrap();
    // The member is already in dst: dst does not change, EXEC succeeds.
    assert_eq!(q::<i64>(&mut other, &["SMOVE", "src", "dst", "a"]), 1);
    let res: Value = cmd("EXEC").query(&mut con).unwrap();
    assert!(matches!(res, Value::Array(ref v) if v.len() == 1), "{res:?}");
    assert_eq!(q::<i64>(&mut con, &["SCARD", "dst"]), 2);
    assert_eq!(members(&mut con, "src"), set_of(&["b"]));
}

#[test]
fn spop_and_srandmember() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    let content: Vec<String> = (1..=20).map(|i| i.to_string()).collect();
    cmd("SADD").arg("s").arg(&content).query::<()>(&mut con).unwrap();
    let mut popped: Vec<String> = Vec::new();
    for n in [11, 0, 4, 1, 9] {
        let got: Vec<String> = cmd("SPOP").arg("s").arg(n).query(&mut con).unwrap();
        assert_eq!(got.len(), n.min(20 - popped.len()));
        popped.extend(got);
    }
    popped.sort_by_key(|s| s.parse::<i64>().unwrap());
    assert_eq!(popped, content);
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "s"]), 0);
    assert_eq!(fails(&mut con, &["SPOP", "s", "-1"]), "ERR value is out of range, must be positive");

    cmd("SADD").arg("h").arg(&["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"][..]).query::<()>(&mut con).unwrap();
    let mut hist: HashMap<String, usize> = HashMap::new();
    for _ in 0..100 {
        let v: Vec<String> = q(&mut con, &["SRANDMEMBER", "h", "-100"]);
        assert_eq!(v.len(), 100);
        for m in v {
            *hist.entry(m).or_default() += 1;
        }
    }
    // 10000 draws over 10 members: each within 15% of 1000.
    assert_eq!(hist.len(), 10);
    assert!(hist.values().all(|&c| (850..1150).contains(&c)), "{hist:?}");
    for n in [1, 5, 8, 10, 50] {
        let v: Vec<String> = cmd("SRANDMEMBER").arg("h").arg(n).query(&mut con).unwrap();
        let distinct: HashSet<&String> = v.iter().collect();
        assert_eq!(v.len(), n.min(10));
        assert_eq!(distinct.len(), v.len());
    }
    assert_eq!(
        fails(&mut con, &["SRANDMEMBER", "h", "-9223372036854775808"]),
        "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
    );
}

#[test]
fn resp3_shapes() {
    let srv = TestServer::start();
    let mut s = srv.raw();
    std::io::Write::write_all(&mut s, b"*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n").unwrap();
    read_hello3(&mut s);
    let r = roundtrip(&mut s, b"*4\r\n$4\r\nSADD\r\n$1\r\nk\r\n$1\r\n1\r\n$1\r\n2\r\n", 4);
    assert_eq!(r, b":2\r\n");
    let r = roundtrip(&mut s, b"*2\r\n$8\r\nSMEMBERS\r\n$1\r\nk\r\n", 18);
    assert_eq!(r, b"~2\r\n$1\r\n1\r\n$1\r\n2\r\n");
    let r = roundtrip(&mut s, b"*3\r\n$4\r\nSPOP\r\n$1\r\nk\r\n$1\r\n0\r\n", 4);
    assert_eq!(r, b"~0\r\n");
    let r = roundtrip(&mut s, b"*3\r\n$11\r\nSRANDMEMBER\r\n$4\r\nnone\r\n$1\r\n3\r\n", 4);
    assert_eq!(r, b"*0\r\n");
    let r = roundtrip(&mut s, b"*3\r\n$6\r\nSUNION\r\n$1\r\nk\r\n$4\r\nnone\r\n", 18);
    assert_eq!(r, b"~2\r\n$1\r\n1\r\n$1\r\n2\r\n");
}

#[test]
fn sscan_returns_members_present_throughout() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    for round in 0..10 {
        cmd("DEL").arg("set").query::<()>(&mut con).unwrap();
        q::<i64>(&mut con, &["SADD", "set", "x"]);
        let n = 101 + round * 97;
        let all: Vec<usize> = (0..n).collect();
        cmd("SADD").arg("set").arg(&all).query::<()>(&mut con).unwrap();
        let mut found: HashSet<String> = HashSet::new();
        let mut cursor = 0u64;
        let mut iteration = 0;
        loop {
            let (next, items): (u64, Vec<String>) = cmd("SSCAN").arg("set").arg(cursor).query(&mut con).unwrap();
            found.extend(items);
            iteration += 1;
            // Shrink the table in the middle of the scan.
            if iteration == 1 + round % 5 {
                let rm: Vec<usize> = (100..n).collect();
                cmd("SREM").arg("set").arg(&rm).query::<()>(&mut con).unwrap();
            }
            cursor = next;
            if cursor == 0 {
                break;
            }
        }
        for j in 0..100 {
            assert!(found.contains(&j.to_string()), "round {round}: missing {j}");
        }
    }
    // An intset is returned whole with cursor 0; MATCH filters after COUNT.
    q::<i64>(&mut con, &["SADD", "ints", "1", "2", "10", "11"]);
    let (next, items): (u64, Vec<String>) =
        cmd("SSCAN").arg("ints").arg(0).arg("MATCH").arg("1*").arg("COUNT").arg(1).query(&mut con).unwrap();
    assert_eq!(next, 0);
    assert_eq!(items, vec!["1", "10", "11"]);
    assert_eq!(fails(&mut con, &["SSCAN", "ints", "abc"]), "ERR invalid cursor");
}

#[test]
fn intset_widths_removals_and_copies() {
    // The intset is one exact block reallocated on every change: exercise widening at both ends, removals
    // down to an empty (deleted) key, COPY, DUMP/RESTORE and the set algebra over several intsets.
    let srv = TestServer::start();
    let mut con = srv.conn();
    assert_eq!(q::<i64>(&mut con, &["SADD", "s", "5", "-3", "100"]), 3);
    assert_eq!(q::<i64>(&mut con, &["SADD", "s", "70000", "-70000", "9223372036854775807", "-9223372036854775808"]), 4);
    assert_eq!(encoding(&mut con, "s"), "intset");
    let want = vec!["-9223372036854775808", "-70000", "-3", "5", "100", "70000", "9223372036854775807"];
    assert_eq!(q::<Vec<String>>(&mut con, &["SMEMBERS", "s"]), want);
    assert_eq!(q::<i64>(&mut con, &["SISMEMBER", "s", "70000"]), 1);
    assert_eq!(q::<i64>(&mut con, &["SISMEMBER", "s", "070000"]), 0);
    assert_eq!(q::<i64>(&mut con, &["COPY", "s", "c"]), 1);
    let dump: Vec<u8> = q(&mut con, &["DUMP", "s"]);
    cmd("RESTORE").arg("r").arg(0).arg(dump).query::<()>(&mut con).unwrap();
    assert_eq!(encoding(&mut con, "r"), "intset");
    assert_eq!(q::<i64>(&mut con, &["SREM", "s", "-70000", "5", "9223372036854775807", "12"]), 3);
    assert_eq!(members(&mut con, "s"), set_of(&["-9223372036854775808", "-3", "100", "70000"]));
    assert_eq!(members(&mut con, "c").len(), 7);
    assert_eq!(members(&mut con, "r").len(), 7);
    assert_eq!(q::<i64>(&mut con, &["SINTERSTORE", "i", "s", "c", "r"]), 4);
    assert_eq!(encoding(&mut con, "i"), "intset");
    assert_eq!(members(&mut con, "i"), members(&mut con, "s"));
    let mut popped = BTreeSet::new();
    while let Some(m) = q::<Option<String>>(&mut con, &["SPOP", "s"]) {
        popped.insert(m);
    }
    assert_eq!(popped, members(&mut con, "i"));
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "s"]), 0);
}
