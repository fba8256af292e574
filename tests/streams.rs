//! Stream commands through the `redis` crate against an in-process server: XADD ids and trimming, ranges,
//! XREAD and XREADGROUP (blocking with several clients, timeouts, vanished keys and groups), the PEL
//! commands, XINFO, XSETID, what generic commands do with streams, and what replicas receive.

mod common;

use common::{blocked_clients, err_text, fails, q, read_hello3, roundtrip, wait_blocked, TestServer};
use redis::{cmd, Connection, Value};
use std::io::Read;
use std::time::{Duration, Instant};

fn xadd(con: &mut Connection, key: &str, id: &str, pairs: &[&str]) -> String {
    cmd("XADD").arg(key).arg(id).arg(pairs).query(con).unwrap()
}

/// (id, [field, value, ...]) entries.
type Entries = Vec<(String, Vec<String>)>;

fn ids(entries: &Entries) -> Vec<&str> {
    entries.iter().map(|(id, _)| id.as_str()).collect()
}

/// XINFO STREAM/GROUPS maps as (field, value) pairs.
fn info_field(v: &Value, name: &str) -> Value {
    let Value::Array(items) = v else { panic!("not an array: {v:?}") };
    for pair in items.chunks(2) {
        if let Value::BulkString(k) = &pair[0] {
            if k == name.as_bytes() {
                return pair[1].clone();
            }
        }
    }
    panic!("no field {name} in {v:?}")
}

fn as_int(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        _ => None,
    }
}

#[test]
fn xadd_ids_errors_and_ranges() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    assert_eq!(xadd(&mut con, "s", "5-1", &["a", "1"]), "5-1");
    assert_eq!(xadd(&mut con, "s", "5-*", &["b", "2"]), "5-2");
    assert_eq!(xadd(&mut con, "s", "7", &["c", "3"]), "7-0");
    let auto = xadd(&mut con, "s", "*", &["d", "4", "e", "5"]);
    assert!(auto.split('-').next().unwrap().parse::<u64>().unwrap() > 1_000_000_000_000);
    assert_eq!(
        fails(&mut con, &["XADD", "s", "6-0", "x", "y"]),
        "ERR The ID specified in XADD is equal or smaller than the target stream top item"
    );
    assert_eq!(
        fails(&mut con, &["XADD", "s", "0-0", "x", "y"]),
        "ERR The ID specified in XADD must be greater than 0-0"
    );
    assert_eq!(fails(&mut con, &["XADD", "s", "*", "x"]), "ERR wrong number of arguments for 'xadd' command");
    assert_eq!(fails(&mut con, &["XADD", "s"]), "ERR wrong number of arguments for 'xadd' command");
    assert_eq!(
        fails(&mut con, &["XADD", "s", "1-x", "a", "b"]),
        "ERR Invalid stream ID specified as stream command argument"
    );
    assert_eq!(fails(&mut con, &["XADD", "s", "MAXLEN", "-1", "*", "a", "b"]), "ERR The MAXLEN argument must be >= 0.");
    assert_eq!(
        fails(&mut con, &["XADD", "s", "LIMIT", "10", "*", "a", "b"]),
        "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy"
    );
    assert_eq!(q::<Option<String>>(&mut con, &["XADD", "nokey", "NOMKSTREAM", "*", "a", "b"]), None);
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "nokey"]), 0);
    // The last possible id, then nothing more.
    xadd(&mut con, "full", "18446744073709551615-18446744073709551615", &["a", "b"]);
    assert_eq!(
        fails(&mut con, &["XADD", "full", "*", "a", "b"]),
        "ERR The stream has exhausted the last possible ID, unable to add more items"
    );
    cmd("SET").arg("str").arg("x").query::<()>(&mut con).unwrap();
    assert!(fails(&mut con, &["XADD", "str", "*", "a", "b"]).starts_with("WRONGTYPE"));
    assert!(fails(&mut con, &["XRANGE", "str", "-", "+"]).starts_with("WRONGTYPE"));

    let all: Entries = q(&mut con, &["XRANGE", "s", "-", "+"]);
    assert_eq!(ids(&all)[..3], ["5-1", "5-2", "7-0"]);
    assert_eq!(all[3].1, ["d", "4", "e", "5"]);
    let ex: Entries = q(&mut con, &["XRANGE", "s", "(5-1", "(7-0"]);
    assert_eq!(ids(&ex), ["5-2"]);
    let rev: Entries = q(&mut con, &["XREVRANGE", "s", "7", "5", "COUNT", "2"]);
    assert_eq!(ids(&rev), ["7-0", "5-2"]);
    assert_eq!(q::<Value>(&mut con, &["XRANGE", "s", "-", "+", "COUNT", "0"]), Value::Nil);
    assert_eq!(q::<Entries>(&mut con, &["XRANGE", "missing", "-", "+"]), vec![]);
    assert_eq!(fails(&mut con, &["XRANGE", "s", "-", "+", "COUNT"]), "ERR syntax error");
    assert_eq!(fails(&mut con, &["XRANGE", "s", "-", "(0-0"]), "ERR invalid end ID for the interval");
    assert_eq!(q::<i64>(&mut con, &["XLEN", "s"]), 4);
    assert_eq!(q::<i64>(&mut con, &["XDEL", "s", "5-2", "9-9"]), 1);
    assert_eq!(fails(&mut con, &["XDEL", "s", "+"]), "ERR Invalid stream ID specified as stream command argument");
    assert_eq!(q::<i64>(&mut con, &["XLEN", "s"]), 3);
    assert_eq!(q::<String>(&mut con, &["TYPE", "s"]), "stream");
    assert_eq!(q::<String>(&mut con, &["OBJECT", "ENCODING", "s"]), "stream");
}

#[test]
fn trimming_exact_and_by_whole_nodes() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    q::<()>(&mut con, &["CONFIG", "SET", "stream-node-max-entries", "10"]);
    for _ in 0..100 {
        xadd(&mut con, "s", "*", &["x", "v"]);
    }
    // ~ removes whole nodes only, and LIMIT caps the work.
    q::<String>(&mut con, &["XADD", "s", "MAXLEN", "~", "55", "LIMIT", "30", "*", "x", "v"]);
    assert_eq!(q::<i64>(&mut con, &["XLEN", "s"]), 71);
    assert_eq!(q::<i64>(&mut con, &["XTRIM", "s", "MAXLEN", "~", "55"]), 10);
    assert_eq!(q::<i64>(&mut con, &["XTRIM", "s", "MAXLEN", "=", "55"]), 6);
    assert_eq!(q::<i64>(&mut con, &["XLEN", "s"]), 55);
    let first: Entries = q(&mut con, &["XRANGE", "s", "-", "+", "COUNT", "3"]);
    let min = first[2].0.clone();
    assert_eq!(q::<i64>(&mut con, &["XTRIM", "s", "MINID", &min]), 2);
    assert_eq!(
        fails(&mut con, &["XTRIM", "s", "MAXLEN", "1", "LIMIT", "5"]),
        "ERR syntax error, LIMIT cannot be used without the special ~ option"
    );
    assert_eq!(
        fails(&mut con, &["XTRIM", "s", "LIMIT", "5"]),
        "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy"
    );
    assert_eq!(fails(&mut con, &["XTRIM", "s", "FOO", "1"]), "ERR syntax error");
    assert_eq!(q::<i64>(&mut con, &["XTRIM", "nokey", "MAXLEN", "0"]), 0);
    // MAXLEN 0 keeps an empty stream (and its last id).
    xadd(&mut con, "e", "5-5", &["a", "b"]);
    q::<String>(&mut con, &["XADD", "e", "MAXLEN", "0", "6-0", "a", "b"]);
    let info: Value = q(&mut con, &["XINFO", "STREAM", "e"]);
    assert_eq!(as_int(&info_field(&info, "length")), Some(0));
    assert_eq!(info_field(&info, "last-generated-id"), Value::BulkString(b"6-0".to_vec()));
    assert_eq!(info_field(&info, "first-entry"), Value::Nil);
}

#[test]
fn xread_serves_and_blocks_several_clients() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    xadd(&mut con, "a", "1-0", &["f", "old"]);
    let r: Vec<(String, Entries)> = q(&mut con, &["XREAD", "COUNT", "5", "STREAMS", "a", "b", "0", "0"]);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].0, "a");
    assert_eq!(q::<Value>(&mut con, &["XREAD", "STREAMS", "a", "$"]), Value::Nil);
    assert_eq!(
        fails(&mut con, &["XREAD", "STREAMS", "a", "b", "c"]),
        "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified."
    );
    assert_eq!(
        fails(&mut con, &["XREAD", "GROUP", "g", "c", "STREAMS", "a", "0"]),
        "ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead."
    );
    assert_eq!(
        fails(&mut con, &["XREAD", "STREAMS", "a", ">"]),
        "ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option."
    );
    assert_eq!(fails(&mut con, &["XREAD", "BLOCK", "-1", "STREAMS", "a", "$"]), "ERR timeout is negative");
    assert_eq!(
        fails(&mut con, &["XREAD", "BLOCK", "x", "STREAMS", "a", "$"]),
        "ERR timeout is not an integer or out of range"
    );

    // Two readers wait on `$`; one XADD (to the second key) serves both, with the new entry only.
    let mut handles = Vec::new();
    for i in 0..2 {
        let mut c = srv.conn();
        handles.push(std::thread::spawn(move || {
            cmd("XREAD")
                .arg("BLOCK")
                .arg(0)
                .arg("STREAMS")
                .arg("a")
                .arg("b")
                .arg("$")
                .arg("$")
                .query::<Vec<(String, Entries)>>(&mut c)
                .unwrap()
        }));
        wait_blocked(&mut con, i + 1);
    }
    xadd(&mut con, "b", "2-0", &["f", "new"]);
    for h in handles {
        let got = h.join().unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0, "b");
        assert_eq!(got[0].1, vec![("2-0".to_string(), vec!["f".to_string(), "new".to_string()])]);
    }
    assert_eq!(blocked_clients(&mut con), 0);

    // A deleted key and a write of another type do not wake a `$` reader; the next entry does.
    let mut c = srv.conn();
    let h = std::thread::spawn(move || {
        cmd("XREAD")
            .arg("BLOCK")
            .arg(0)
            .arg("STREAMS")
            .arg("a")
            .arg("$")
            .query::<Vec<(String, Entries)>>(&mut c)
            .unwrap()
    });
    wait_blocked(&mut con, 1);
    q::<i64>(&mut con, &["DEL", "a"]);
    q::<i64>(&mut con, &["LPUSH", "a", "x"]);
    q::<i64>(&mut con, &["DEL", "a"]);
    // Writes wake blocked clients within their own batch, before replying: had the LPUSH woken (and failed)
    // the reader, blocked_clients would already say 0.
    assert_eq!(blocked_clients(&mut con), 1);
    xadd(&mut con, "a", "3-0", &["f", "v"]);
    assert_eq!(ids(&h.join().unwrap()[0].1), ["3-0"]);

    // Timeouts are in milliseconds.
    let t0 = Instant::now();
    assert_eq!(q::<Value>(&mut con, &["XREAD", "BLOCK", "50", "STREAMS", "a", "$"]), Value::Nil);
    let took = t0.elapsed();
    assert!(took >= Duration::from_millis(45) && took < Duration::from_secs(2), "{took:?}");
    // Inside MULTI, BLOCK answers at once as a timeout.
    let r: Vec<Value> = redis::pipe()
        .atomic()
        .cmd("XREAD")
        .arg("BLOCK")
        .arg(0)
        .arg("STREAMS")
        .arg("a")
        .arg("$")
        .query(&mut con)
        .unwrap();
    assert_eq!(r, vec![Value::Nil]);
}

#[test]
fn xread_resp3_is_a_map() {
    let srv = TestServer::start();
    let mut s = srv.raw();
    roundtrip(&mut s, b"HELLO 3\r\n", 0);
    read_hello3(&mut s);
    let r = roundtrip(&mut s, b"XADD s 1-0 f v\r\n", 9);
    assert_eq!(r, b"$3\r\n1-0\r\n");
    let want = b"%1\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n";
    assert_eq!(roundtrip(&mut s, b"XREAD STREAMS s 0\r\n", want.len()), want);
    assert_eq!(roundtrip(&mut s, b"XREAD STREAMS s $\r\n", 3), b"_\r\n");
}

#[test]
fn consumer_groups_read_ack_and_pending() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    for i in 1..=4 {
        xadd(&mut con, "s", &format!("{i}-0"), &["n", &i.to_string()]);
    }
    assert!(fails(&mut con, &["XGROUP", "CREATE", "nokey", "g", "$"])
        .starts_with("ERR The XGROUP subcommand requires the key to exist."));
    assert_eq!(q::<String>(&mut con, &["XGROUP", "CREATE", "s", "g", "0"]), "OK");
    assert_eq!(fails(&mut con, &["XGROUP", "CREATE", "s", "g", "0"]), "BUSYGROUP Consumer Group name already exists");
    assert_eq!(q::<String>(&mut con, &["XGROUP", "CREATE", "made", "g", "$", "MKSTREAM"]), "OK");
    assert_eq!(q::<i64>(&mut con, &["XLEN", "made"]), 0);
    assert_eq!(
        fails(&mut con, &["XGROUP", "CREATE", "s", "g2", "0", "ENTRIESREAD", "-5"]),
        "ERR value for ENTRIESREAD must be positive or -1"
    );
    assert_eq!(
        fails(&mut con, &["XGROUP", "CREATE", "s", "g2", "0", "BOGUS"]),
        "ERR unknown subcommand or wrong number of arguments for 'CREATE'. Try XGROUP HELP."
    );
    assert_eq!(fails(&mut con, &["XGROUP", "HELP", "x"]), "ERR wrong number of arguments for 'xgroup|help' command");

    let r: Vec<(String, Entries)> =
        q(&mut con, &["XREADGROUP", "GROUP", "g", "alice", "COUNT", "2", "STREAMS", "s", ">"]);
    assert_eq!(ids(&r[0].1), ["1-0", "2-0"]);
    let r: Vec<(String, Entries)> = q(&mut con, &["XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", ">"]);
    assert_eq!(ids(&r[0].1), ["3-0", "4-0"]);
    // Nothing new: a null reply; history (id 0): the consumer's own PEL.
    assert_eq!(q::<Value>(&mut con, &["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">"]), Value::Nil);
    let r: Vec<(String, Entries)> = q(&mut con, &["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", "0"]);
    assert_eq!(ids(&r[0].1), ["1-0", "2-0"]);
    assert!(fails(&mut con, &["XREADGROUP", "GROUP", "nog", "c", "STREAMS", "s", ">"])
        .starts_with("NOGROUP No such key 's' or consumer group 'nog' in XREADGROUP with GROUP option"));
    assert!(fails(&mut con, &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "$"])
        .starts_with("ERR The $ ID is meaningless"));
    assert_eq!(
        fails(&mut con, &["XREADGROUP", "COUNT", "1", "STREAMS", "s", ">"]),
        "ERR wrong number of arguments for 'xreadgroup' command"
    );

    // Summary and extended XPENDING.
    let sum: (i64, String, String, Vec<(String, String)>) = q(&mut con, &["XPENDING", "s", "g"]);
    assert_eq!(sum, (4, "1-0".into(), "4-0".into(), vec![("alice".into(), "2".into()), ("bob".into(), "2".into())]));
    let ext: Vec<(String, String, i64, i64)> = q(&mut con, &["XPENDING", "s", "g", "-", "+", "10"]);
    assert_eq!(ext.len(), 4);
    assert_eq!(ext[0].3, 2, "alice read 1-0 twice");
    let ext: Vec<(String, String, i64, i64)> = q(&mut con, &["XPENDING", "s", "g", "IDLE", "100000", "-", "+", "10"]);
    assert!(ext.is_empty());
    let mine: Vec<(String, String, i64, i64)> = q(&mut con, &["XPENDING", "s", "g", "(1-0", "+", "10", "alice"]);
    assert_eq!(mine.len(), 1);
    assert!(fails(&mut con, &["XPENDING", "s", "nog"]).starts_with("NOGROUP No such key 's' or consumer group 'nog'"));
    assert_eq!(fails(&mut con, &["XPENDING", "s", "g", "-", "+"]), "ERR syntax error");

    assert_eq!(q::<i64>(&mut con, &["XACK", "s", "g", "1-0", "2-0", "9-0"]), 2);
    assert_eq!(
        fails(&mut con, &["XACK", "s", "g", "3-0", "bad"]),
        "ERR Invalid stream ID specified as stream command argument"
    );
    assert_eq!(q::<i64>(&mut con, &["XACK", "s", "nog", "3-0"]), 0);
    // The summary of an empty PEL: 0 and three nulls.
    let empty: Vec<Value> = q(&mut con, &["XPENDING", "made", "g"]);
    assert_eq!(empty, vec![Value::Int(0), Value::Nil, Value::Nil, Value::Nil]);

    // Lag and read counter.
    let groups: Vec<Value> = q(&mut con, &["XINFO", "GROUPS", "s"]);
    assert_eq!(as_int(&info_field(&groups[0], "entries-read")), Some(4));
    assert_eq!(as_int(&info_field(&groups[0], "lag")), Some(0));
    assert_eq!(as_int(&info_field(&groups[0], "pending")), Some(2));
    let consumers: Vec<Value> = q(&mut con, &["XINFO", "CONSUMERS", "s", "g"]);
    assert_eq!(consumers.len(), 2);
    assert_eq!(info_field(&consumers[1], "name"), Value::BulkString(b"bob".to_vec()));

    // Consumers come and go.
    assert_eq!(q::<i64>(&mut con, &["XGROUP", "CREATECONSUMER", "s", "g", "carol"]), 1);
    assert_eq!(q::<i64>(&mut con, &["XGROUP", "CREATECONSUMER", "s", "g", "carol"]), 0);
    assert_eq!(q::<i64>(&mut con, &["XGROUP", "DELCONSUMER", "s", "g", "bob"]), 2);
    assert!(fails(&mut con, &["XGROUP", "DELCONSUMER", "s", "nog", "x"])
        .starts_with("NOGROUP No such consumer group 'nog' for key name 's'"));
    assert_eq!(q::<String>(&mut con, &["XGROUP", "SETID", "s", "g", "0"]), "OK");
    let r: Vec<(String, Entries)> = q(&mut con, &["XREADGROUP", "GROUP", "g", "carol", "NOACK", "STREAMS", "s", ">"]);
    assert_eq!(r[0].1.len(), 4);
    let sum: (i64, Value, Value, Value) = q(&mut con, &["XPENDING", "s", "g"]);
    assert_eq!(sum.0, 0, "NOACK reads leave no pending entries");
    assert_eq!(q::<i64>(&mut con, &["XGROUP", "DESTROY", "s", "g"]), 1);
    assert_eq!(q::<i64>(&mut con, &["XGROUP", "DESTROY", "s", "g"]), 0);
}

#[test]
fn claims_move_entries_between_consumers() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    for i in 1..=3 {
        xadd(&mut con, "x", &format!("{i}-0"), &["f", "v"]);
    }
    q::<String>(&mut con, &["XGROUP", "CREATE", "x", "grp", "0"]);
    q::<Value>(&mut con, &["XREADGROUP", "GROUP", "grp", "alice", "STREAMS", "x", ">"]);
    q::<i64>(&mut con, &["XDEL", "x", "2-0"]);
    // A deleted entry is dropped from the PEL instead of claimed.
    let claimed: Entries = q(&mut con, &["XCLAIM", "x", "grp", "bob", "0", "1-0", "2-0"]);
    assert_eq!(ids(&claimed), ["1-0"]);
    let justid: Vec<String> = q(&mut con, &["XCLAIM", "x", "grp", "bob", "0", "3-0", "JUSTID", "RETRYCOUNT", "7"]);
    assert_eq!(justid, ["3-0"]);
    let ext: Vec<(String, String, i64, i64)> = q(&mut con, &["XPENDING", "x", "grp", "-", "+", "10"]);
    assert_eq!(ext, vec![("1-0".into(), "bob".into(), ext[0].2, 2), ("3-0".into(), "bob".into(), ext[1].2, 7)]);
    // A high min-idle-time claims nothing; IDLE sets the idle time.
    let none: Entries = q(&mut con, &["XCLAIM", "x", "grp", "carol", "100000", "1-0"]);
    assert!(none.is_empty());
    q::<Value>(&mut con, &["XCLAIM", "x", "grp", "bob", "0", "1-0", "IDLE", "500000", "JUSTID"]);
    let ext: Vec<(String, String, i64, i64)> = q(&mut con, &["XPENDING", "x", "grp", "IDLE", "400000", "-", "+", "10"]);
    assert_eq!(ext.len(), 1);
    assert_eq!(
        fails(&mut con, &["XCLAIM", "x", "grp", "bob", "x", "1-0"]),
        "ERR Invalid min-idle-time argument for XCLAIM"
    );
    assert_eq!(
        fails(&mut con, &["XCLAIM", "x", "grp", "bob", "0", "1-0", "BOGUS"]),
        "ERR Unrecognized XCLAIM option 'BOGUS'"
    );
    assert!(fails(&mut con, &["XCLAIM", "x", "nog", "bob", "0", "1-0"])
        .starts_with("NOGROUP No such key 'x' or consumer group 'nog'"));
    // FORCE creates a pending entry for an existing stream entry.
    xadd(&mut con, "x", "4-0", &["f", "v"]);
    let forced: Vec<String> = q(&mut con, &["XCLAIM", "x", "grp", "dave", "0", "4-0", "FORCE", "JUSTID"]);
    assert_eq!(forced, ["4-0"]);

    // XAUTOCLAIM: a cursor, claimed entries, and deleted ids.
    q::<i64>(&mut con, &["XDEL", "x", "3-0"]);
    let (cursor, got, deleted): (String, Entries, Vec<String>) =
        q(&mut con, &["XAUTOCLAIM", "x", "grp", "erin", "0", "0-0", "COUNT", "2"]);
    assert_eq!(cursor, "4-0");
    assert_eq!(ids(&got), ["1-0"]);
    assert_eq!(deleted, ["3-0"]);
    let (cursor, got, deleted): (String, Vec<String>, Vec<String>) =
        q(&mut con, &["XAUTOCLAIM", "x", "grp", "erin", "0", &cursor, "JUSTID"]);
    assert_eq!((cursor.as_str(), got, deleted), ("0-0", vec!["4-0".to_string()], vec![]));
    assert_eq!(fails(&mut con, &["XAUTOCLAIM", "x", "grp", "erin", "0", "0", "COUNT", "0"]), "ERR COUNT must be > 0");
    assert_eq!(fails(&mut con, &["XAUTOCLAIM", "x", "grp", "erin", "0", "0", "FOO"]), "ERR syntax error");
}

#[test]
fn blocked_xreadgroup_wakes_with_data_or_errors() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    q::<String>(&mut con, &["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]);
    // Two consumers wait; each new entry goes to exactly one of them.
    let mut handles = Vec::new();
    for (i, name) in ["c1", "c2"].into_iter().enumerate() {
        let mut c = srv.conn();
        handles.push(std::thread::spawn(move || {
            cmd("XREADGROUP")
                .arg("GROUP")
                .arg("g")
                .arg(name)
                .arg("BLOCK")
                .arg(0)
                .arg("STREAMS")
                .arg("s")
                .arg(">")
                .query::<Vec<(String, Entries)>>(&mut c)
                .unwrap()
        }));
        wait_blocked(&mut con, i + 1);
    }
    xadd(&mut con, "s", "1-0", &["a", "1"]);
    wait_blocked(&mut con, 1);
    xadd(&mut con, "s", "2-0", &["b", "2"]);
    let mut got: Vec<String> = handles.into_iter().map(|h| h.join().unwrap()[0].1[0].0.clone()).collect();
    got.sort();
    assert_eq!(got, ["1-0", "2-0"]);

    // Destroying the group: -NOGROUP; deleting the key: -UNBLOCKED.
    // A client blocked in XREADGROUP GROUP g c BLOCK 0 on s; the handle yields its error reply.
    let blocked_reader = || {
        let mut c = srv.conn();
        std::thread::spawn(move || {
            err_text(
                cmd("XREADGROUP")
                    .arg("GROUP")
                    .arg("g")
                    .arg("c")
                    .arg("BLOCK")
                    .arg(0)
                    .arg("STREAMS")
                    .arg("s")
                    .arg(">")
                    .query::<Value>(&mut c)
                    .unwrap_err(),
            )
        })
    };
    let h = blocked_reader();
    wait_blocked(&mut con, 1);
    q::<i64>(&mut con, &["XGROUP", "DESTROY", "s", "g"]);
    assert_eq!(h.join().unwrap(), "NOGROUP the consumer group this client was blocked on no longer exists");

    q::<String>(&mut con, &["XGROUP", "CREATE", "s", "g", "$"]);
    let h = blocked_reader();
    wait_blocked(&mut con, 1);
    q::<i64>(&mut con, &["DEL", "s"]);
    assert_eq!(h.join().unwrap(), "UNBLOCKED the stream key no longer exists");

    // A timeout is a null reply; the command counts as one call.
    q::<String>(&mut con, &["XGROUP", "CREATE", "t", "g", "$", "MKSTREAM"]);
    q::<String>(&mut con, &["CONFIG", "RESETSTAT"]);
    let v: Value = q(&mut con, &["XREADGROUP", "GROUP", "g", "c", "BLOCK", "30", "STREAMS", "t", ">"]);
    assert_eq!(v, Value::Nil);
    let stats: String = q(&mut con, &["INFO", "commandstats"]);
    assert!(stats.contains("cmdstat_xreadgroup:calls=1,"), "{stats}");
    // A read that was never served created no consumer.
    let groups: Vec<Value> = q(&mut con, &["XINFO", "GROUPS", "t"]);
    assert_eq!(as_int(&info_field(&groups[0], "consumers")), Some(0));
}

#[test]
fn xinfo_and_xsetid() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    for i in 1..=5 {
        xadd(&mut con, "x", &format!("{i}-0"), &["data", "a"]);
    }
    q::<i64>(&mut con, &["XDEL", "x", "1-0"]);
    q::<String>(&mut con, &["XGROUP", "CREATE", "x", "g1", "0"]);
    q::<Value>(&mut con, &["XREADGROUP", "GROUP", "g1", "alice", "COUNT", "1", "STREAMS", "x", ">"]);
    let info: Value = q(&mut con, &["XINFO", "STREAM", "x"]);
    assert_eq!(as_int(&info_field(&info, "length")), Some(4));
    assert_eq!(as_int(&info_field(&info, "entries-added")), Some(5));
    assert_eq!(info_field(&info, "max-deleted-entry-id"), Value::BulkString(b"1-0".to_vec()));
    assert_eq!(info_field(&info, "recorded-first-entry-id"), Value::BulkString(b"2-0".to_vec()));
    assert_eq!(as_int(&info_field(&info, "groups")), Some(1));
    let full: Value = q(&mut con, &["XINFO", "STREAM", "x", "FULL", "COUNT", "2"]);
    let Value::Array(items) = &full else { panic!() };
    assert_eq!(items.len(), 18);
    let Value::Array(entries) = info_field(&full, "entries") else { panic!() };
    assert_eq!(entries.len(), 2);
    let Value::Array(groups) = info_field(&full, "groups") else { panic!() };
    assert_eq!(info_field(&groups[0], "entries-read"), Value::Int(2));
    assert_eq!(info_field(&groups[0], "lag"), Value::Int(3));
    assert_eq!(fails(&mut con, &["XINFO", "STREAM", "nokey"]), "ERR no such key");
    assert_eq!(
        fails(&mut con, &["XINFO", "STREAM", "x", "FULL", "BAD"]),
        "ERR unknown subcommand or wrong number of arguments for 'STREAM'. Try XINFO HELP."
    );
    assert!(fails(&mut con, &["XINFO", "CONSUMERS", "x", "nog"])
        .starts_with("NOGROUP No such consumer group 'nog' for key name 'x'"));
    let help: Vec<String> = q(&mut con, &["XINFO", "HELP"]);
    assert!(help[0].starts_with("XINFO <subcommand>"));

    assert_eq!(q::<String>(&mut con, &["XSETID", "x", "10-0", "ENTRIESADDED", "9", "MAXDELETEDID", "3-0"]), "OK");
    assert!(xadd(&mut con, "x", "*", &["a", "b"]).split('-').next().unwrap().parse::<u64>().unwrap() > 10);
    assert_eq!(
        fails(&mut con, &["XSETID", "x", "5-0"]),
        "ERR The ID specified in XSETID is smaller than the target stream top item"
    );
    assert_eq!(
        fails(&mut con, &["XSETID", "x", "99-0", "MAXDELETEDID", "100-0"]),
        "ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id"
    );
    assert_eq!(
        fails(&mut con, &["XSETID", "x", "99999999999999-0", "ENTRIESADDED", "1"]),
        "ERR The entries_added specified in XSETID is smaller than the target stream length"
    );
    assert_eq!(fails(&mut con, &["XSETID", "nokey", "1-0"]), "ERR no such key");
    assert_eq!(fails(&mut con, &["XSETID", "x", "1-0", "ENTRIESADDED", "-1"]), "ERR entries_added must be positive");
    assert_eq!(fails(&mut con, &["XSETID", "x", "1-0", "0"]), "ERR syntax error");
}

#[test]
fn generic_commands_handle_streams() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    xadd(&mut con, "s{t}", "1-0", &["a", "1"]);
    xadd(&mut con, "s{t}", "2-0", &["b", "2"]);
    q::<String>(&mut con, &["XGROUP", "CREATE", "s{t}", "g", "0"]);
    q::<Value>(&mut con, &["XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS", "s{t}", ">"]);
    let full: Value = q(&mut con, &["XINFO", "STREAM", "s{t}", "FULL"]);
    let digest: Vec<String> = q(&mut con, &["DEBUG", "DIGEST-VALUE", "s{t}"]);
    assert_ne!(digest[0], "0".repeat(40));

    assert_eq!(q::<i64>(&mut con, &["COPY", "s{t}", "c{t}"]), 1);
    assert_eq!(q::<Value>(&mut con, &["XINFO", "STREAM", "c{t}", "FULL"]), full);
    let dump: Vec<u8> = q(&mut con, &["DUMP", "s{t}"]);
    cmd("RESTORE").arg("r{t}").arg(0).arg(&dump).query::<()>(&mut con).unwrap();
    assert_eq!(q::<Value>(&mut con, &["XINFO", "STREAM", "r{t}", "FULL"]), full);
    assert_eq!(q::<Vec<String>>(&mut con, &["DEBUG", "DIGEST-VALUE", "r{t}"]), digest);
    q::<String>(&mut con, &["RENAME", "r{t}", "n{t}"]);
    assert_eq!(q::<i64>(&mut con, &["XLEN", "n{t}"]), 2);
    let (_, keys): (String, Vec<String>) = q(&mut con, &["SCAN", "0", "TYPE", "stream", "COUNT", "100"]);
    assert_eq!(keys.len(), 3);
    assert!(q::<i64>(&mut con, &["MEMORY", "USAGE", "s{t}"]) > 0);
    assert_eq!(q::<i64>(&mut con, &["MOVE", "n{t}", "1"]), 1);
    q::<()>(&mut con, &["DEBUG", "RELOAD"]);
    assert_eq!(q::<Value>(&mut con, &["XINFO", "STREAM", "c{t}", "FULL"]), full);
    let keys: Vec<String> = q(&mut con, &["COMMAND", "GETKEYS", "XREAD", "COUNT", "2", "STREAMS", "a", "b", "0", "0"]);
    assert_eq!(keys, ["a", "b"]);
}

fn read_feed(s: &mut std::net::TcpStream, want: &str) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    while !String::from_utf8_lossy(&got).contains(want) {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&got).split("\r\n").collect::<Vec<_>>().join(" ")
}

#[test]
fn replicas_get_exact_stream_effects() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    q::<()>(&mut con, &["CONFIG", "SET", "stream-node-max-entries", "2"]);
    let mut repl = srv.raw();
    std::io::Write::write_all(&mut repl, b"SYNC\r\n").unwrap();
    read_feed(&mut repl, "REDIS0010");
    let id = xadd(&mut con, "s", "*", &["f", "v"]);
    for i in 0..4 {
        xadd(&mut con, "s", &format!("{}-{i}", u64::MAX / 2), &["f", "v"]);
    }
    q::<i64>(&mut con, &["XTRIM", "s", "MAXLEN", "~", "2"]);
    q::<String>(&mut con, &["XGROUP", "CREATE", "s", "g", "0"]);
    q::<Value>(&mut con, &["XREADGROUP", "GROUP", "g", "alice", "COUNT", "1", "STREAMS", "s", ">"]);
    q::<Value>(&mut con, &["XREADGROUP", "GROUP", "g", "bob", "NOACK", "COUNT", "1", "STREAMS", "s", ">"]);
    let text = read_feed(&mut repl, "CREATECONSUMER");
    assert!(
        text.contains(&format!("$4 XADD $1 s ${} {id} $1 f $1 v", id.len())),
        "the generated id replaces *: {text}"
    );
    assert!(text.contains("$5 XTRIM $1 s $6 MAXLEN $1 = $1 3"), "~ becomes the exact length: {text}");
    assert!(text.contains("$6 XCLAIM $1 s $1 g $5 alice $1 0"), "{text}");
    assert!(text.contains("$5 FORCE $6 JUSTID $6 LASTID"), "{text}");
    assert!(text.contains("$6 XGROUP $5 SETID $1 s $1 g"), "{text}");
    assert!(text.contains("$6 XGROUP $14 CREATECONSUMER $1 s $1 g $3 bob"), "{text}");
    assert!(!text.contains("XREADGROUP"), "{text}");

    // Inside MULTI/EXEC the XCLAIMs of XREADGROUP are wrapped with the transaction (multi.tcl's test).
    for i in 1..=3 {
        xadd(&mut con, "m", &format!("{i}-0"), &["f", "v"]);
    }
    q::<String>(&mut con, &["XGROUP", "CREATE", "m", "mg", "0"]);
    redis::pipe()
        .atomic()
        .cmd("XREADGROUP")
        .arg(&["GROUP", "mg", "c1", "COUNT", "2", "STREAMS", "m", ">"])
        .cmd("XREADGROUP")
        .arg(&["GROUP", "mg", "c1", "STREAMS", "m", ">"])
        .query::<Value>(&mut con)
        .unwrap();
    let text = read_feed(&mut repl, "EXEC");
    let tail = &text[text.find("$2 mg $1 0").expect(&text)..];
    let multi = tail.find("MULTI").expect(tail);
    assert_eq!(tail[multi..].matches("XCLAIM").count(), 3, "{tail}");
    assert!(!tail[multi..].contains("SETID"), "{tail}");
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

#[test]
fn restore_accepts_streams_dumped_by_redis() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    // Redis 7.0.15: XADD x 1-0 a 1, XADD x 2-0 b 2 c 3, XADD x 3-0 a 4, XDEL x 2-0, XGROUP CREATE x g 0,
    // XREADGROUP GROUP g alice COUNT 1 STREAMS x >, XGROUP CREATECONSUMER x g bob.
    let v7 = unhex(
        "130110000000000000000100000000000000003a3a0000001800020101010101816102000102010001000101010401010101010001\
         020181620202018163020301080102010201000104010401ff0203000100020003010167010081ffffffffffffffff0100000000000000\
         01000000000000000012678700a2010000010205616c69636512678700a201000001000000000000000100000000000000000362\
         6f6215678700a2010000000a0040f4b05e3e46fbc8",
    );
    cmd("RESTORE").arg("x").arg(0).arg(&v7).query::<()>(&mut con).unwrap();
    let all: Entries = q(&mut con, &["XRANGE", "x", "-", "+"]);
    assert_eq!(all, vec![("1-0".into(), vec!["a".into(), "1".into()]), ("3-0".into(), vec!["a".into(), "4".into()])]);
    let info: Value = q(&mut con, &["XINFO", "STREAM", "x"]);
    assert_eq!(info_field(&info, "max-deleted-entry-id"), Value::BulkString(b"2-0".to_vec()));
    assert_eq!(as_int(&info_field(&info, "entries-added")), Some(3));
    let pending: Vec<(String, String, i64, i64)> = q(&mut con, &["XPENDING", "x", "g", "-", "+", "10"]);
    assert_eq!((pending[0].0.as_str(), pending[0].1.as_str(), pending[0].3), ("1-0", "alice", 1));
    let consumers: Vec<Value> = q(&mut con, &["XINFO", "CONSUMERS", "x", "g"]);
    assert_eq!(consumers.len(), 2);

    // Redis 5 (RDB 9, LZF-compressed listpack), from the Redis test suite: entries-added and read
    // counters are estimated on load.
    let v5 = unhex(
        "0f011000000000000000010000000000000000c3404a405716570000002300020104010101846461746105000103010020010381610204\
         200a0001400a0062600a0002400a0063600a4022018164200a4039200a0065600a0005400a0066200a00ff0206000202673105000400\
         0000000000000100000000000000003ef783437a01000001000000000000000200000000000000003ef783437a010000010000000000\
         00000400000000000000003ef783437a01000001000000000000000500000000000000003ef783437a0100000101036331313ef78343\
         7a01000004000000000000000100000000000000000000000000000002000000000000000000000000000000040000000000000000000\
         000000000000500000000000000000267320000000009003d52ef6867521dfa",
    );
    cmd("RESTORE").arg("old").arg(0).arg(&v5).query::<()>(&mut con).unwrap();
    let full: Value = q(&mut con, &["XINFO", "STREAM", "old", "FULL"]);
    assert_eq!(as_int(&info_field(&full, "entries-added")), Some(2));
    let Value::Array(groups) = info_field(&full, "groups") else { panic!() };
    assert_eq!(
        (as_int(&info_field(&groups[0], "entries-read")), as_int(&info_field(&groups[0], "lag"))),
        (Some(1), Some(1))
    );
    assert_eq!(
        (as_int(&info_field(&groups[1], "entries-read")), as_int(&info_field(&groups[1], "lag"))),
        (Some(0), Some(2))
    );
    // A damaged payload is refused, not misread.
    let mut bad = v7.clone();
    bad[20] ^= 0xff;
    let e = cmd("RESTORE").arg("y").arg(0).arg(&bad).query::<Value>(&mut con).unwrap_err();
    assert_eq!(err_text(e), "ERR DUMP payload version or checksum are wrong");
}
