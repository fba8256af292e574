//! Diskless full syncs (repl-diskless-sync yes): the master streams its snapshot to the replicas' sockets as
//! `$EOF:<mark>` ... `<mark>`, paced by the slowest replica, after `repl-diskless-sync-delay` or once
//! `repl-diskless-sync-max-replicas` wait; no file is written on the master.

mod common;

use common::{digest, info_field, replica_omem, wait_link_up, TestServer};
use redis::cmd;
use std::io::{Read, Write};
use std::time::Duration;

fn config_set(con: &mut redis::Connection, name: &str, value: &str) {
    let _: () = cmd("CONFIG").arg("SET").arg(name).arg(value).query(con).unwrap();
}

/// A master in a directory of its own (to see that no file is written there).
fn master_in(dir: &std::path::Path) -> TestServer {
    let d = dir.to_string_lossy().into_owned();
    TestServer::with_config(move |c| c.dir = d)
}

#[test]
fn a_diskless_sync_streams_the_snapshot_and_the_writes_made_meanwhile_without_a_file() {
    let dir = common::test_dir();
    let master = master_in(&dir);
    let mut m = master.conn();
    let _: () = cmd("DEBUG").arg("POPULATE").arg(3000).query(&mut m).unwrap();
    // About 0.6 s of transfer: long enough to write while the replica's snapshot is taken.
    config_set(&mut m, "rdb-key-save-delay", "200");
    let replica = TestServer::start();
    let mut r = replica.conn();
    let _: String = cmd("REPLICAOF").arg("127.0.0.1").arg(master.addr().port()).query(&mut r).unwrap();
    common::wait_for("the transfer to start", Duration::from_secs(20), || {
        info_field(&mut m, "replication", "slave0").contains("state=wait_bgsave")
            && info_field(&mut m, "persistence", "rdb_bgsave_in_progress") == "1"
    });
    for i in 0..50 {
        let _: () = cmd("SET").arg(format!("during:{i}")).arg(i).query(&mut m).unwrap();
    }
    let _: () = cmd("DEL").arg("key:1").query(&mut m).unwrap();
    common::wait_for("the replica online with every write", Duration::from_secs(30), || {
        info_field(&mut m, "replication", "slave0").contains("state=online") && digest(&mut r) == digest(&mut m)
    });
    assert_eq!(cmd("DBSIZE").query::<i64>(&mut r).unwrap(), 3049);
    assert_eq!(info_field(&mut m, "stats", "total_forks"), "1");
    assert!(!dir.join("dump.rdb").exists(), "a diskless sync writes no file on the master");
    // A transfer is not a save: lastsave and the changes since stay as they were.
    assert_ne!(info_field(&mut m, "persistence", "rdb_changes_since_last_save"), "0");
}

#[test]
fn the_stream_is_an_eof_marked_rdb_then_the_command_stream() {
    use ferrodis::testing::rdb::{Item, RdbReader};
    use ferrodis::testing::Encodings;
    let master = TestServer::start();
    let mut m = master.conn();
    let _: () = cmd("RPUSH").arg("l").arg("a").arg("b").query(&mut m).unwrap();
    let mut repl = master.raw();
    repl.write_all(b"REPLCONF capa eof capa psync2\r\n").unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !got.ends_with(b"+OK\r\n") {
        let n = repl.read(&mut buf).unwrap();
        assert!(n > 0, "closed");
        got.extend_from_slice(&buf[..n]);
    }
    repl.write_all(b"PSYNC ? -1\r\n").unwrap();
    got.clear();
    // +FULLRESYNC <id> <offset>\r\n$EOF:<40-byte mark>\r\n
    let header_end = |g: &[u8]| {
        let text = String::from_utf8_lossy(g);
        let i = text.find("$EOF:")?;
        text[i..].find("\r\n").map(|j| i + j + 2)
    };
    while header_end(&got).is_none() {
        let n = repl.read(&mut buf).unwrap();
        assert!(n > 0, "closed");
        got.extend_from_slice(&buf[..n]);
    }
    let end = header_end(&got).unwrap();
    let head = String::from_utf8_lossy(&got[..end]).into_owned();
    assert!(head.starts_with("+FULLRESYNC "), "{head:?}");
    let mark = head.rsplit("$EOF:").next().unwrap().trim_end().as_bytes().to_vec();
    assert_eq!(mark.len(), 40, "{head:?}");
    let mut body = got[end..].to_vec();
    while !body.windows(40).any(|w| w == &mark[..]) {
        let n = repl.read(&mut buf).unwrap();
        assert!(n > 0, "closed before the end mark");
        body.extend_from_slice(&buf[..n]);
    }
    let at = body.windows(40).position(|w| w == &mark[..]).unwrap();
    let mut r = RdbReader::new(&body[..at], Encodings::default(), true).unwrap();
    let mut keys = Vec::new();
    loop {
        match r.next().unwrap() {
            Item::Eof => break,
            Item::Entry(e) => keys.push(String::from_utf8_lossy(&e.key).into_owned()),
            _ => {}
        }
    }
    assert_eq!(keys, ["l"]);
    // The command stream follows the mark.
    let _: () = cmd("SET").arg("after").arg("1").query(&mut m).unwrap();
    let mut rest = body[at + 40..].to_vec();
    while !String::from_utf8_lossy(&rest).contains("after") {
        let n = repl.read(&mut buf).unwrap();
        assert!(n > 0, "closed");
        rest.extend_from_slice(&buf[..n]);
    }
    assert!(String::from_utf8_lossy(&rest).contains("$3\r\nSET\r\n$5\r\nafter\r\n"), "{rest:?}");
}

#[test]
fn the_transfer_waits_for_the_delay_unless_enough_replicas_wait() {
    let master = TestServer::start();
    let mut m = master.conn();
    let _: () = cmd("DEBUG").arg("POPULATE").arg(100).query(&mut m).unwrap();
    config_set(&mut m, "repl-diskless-sync-delay", "60");
    config_set(&mut m, "repl-diskless-sync-max-replicas", "2");
    let (a, b) = (TestServer::start(), TestServer::start());
    let (mut ra, mut rb) = (a.conn(), b.conn());
    let _: String = cmd("REPLICAOF").arg("127.0.0.1").arg(master.addr().port()).query(&mut ra).unwrap();
    common::wait_for("A waiting", Duration::from_secs(20), || {
        info_field(&mut m, "replication", "slave0").contains("state=wait_bgsave")
    });
    // One replica of the two wanted, and 60 s to wait: no transfer yet.
    assert_eq!(info_field(&mut m, "persistence", "rdb_bgsave_in_progress"), "0");
    assert_eq!(info_field(&mut m, "stats", "total_forks"), "0");
    let _: String = cmd("REPLICAOF").arg("127.0.0.1").arg(master.addr().port()).query(&mut rb).unwrap();
    common::wait_for("both online", Duration::from_secs(20), || {
        let info: String = cmd("INFO").arg("replication").query(&mut m).unwrap();
        info.matches("state=online").count() == 2
    });
    assert_eq!(info_field(&mut m, "stats", "total_forks"), "1", "one transfer for both");
    for r in [&mut ra, &mut rb] {
        common::wait_for("the replica's data", Duration::from_secs(10), || digest(r) == digest(&mut m));
    }
}

#[test]
fn a_replica_that_stops_reading_is_timed_out_and_the_transfer_dropped() {
    let master = TestServer::start();
    let mut m = master.conn();
    // 20 MB: more than the socket buffers and the transfer's own allowance.
    let _: () = cmd("DEBUG").arg("POPULATE").arg(20_000).arg("key").arg(1000).query(&mut m).unwrap();
    config_set(&mut m, "rdbcompression", "no");
    config_set(&mut m, "repl-timeout", "1");
    let mut repl = master.raw();
    repl.write_all(b"REPLCONF capa eof\r\nPSYNC ? -1\r\n").unwrap();
    // It never reads: the transfer goes at its pace, so it does not end.
    common::wait_for("the transfer to start", Duration::from_secs(20), || {
        info_field(&mut m, "persistence", "rdb_bgsave_in_progress") == "1"
    });
    // The master sends it no more than the transfer's allowance (4 MB) beyond what its socket took.
    common::wait_for("the replica's unsent bytes to build up", Duration::from_secs(20), || {
        replica_omem(&mut m) >= 1 << 20
    });
    assert!(replica_omem(&mut m) <= 8 << 20, "omem {}", replica_omem(&mut m));
    assert_eq!(info_field(&mut m, "persistence", "rdb_bgsave_in_progress"), "1");
    // Taking nothing for repl-timeout, it is closed; with no replica left the transfer is dropped.
    common::wait_for("the stalled replica closed", Duration::from_secs(20), || {
        info_field(&mut m, "replication", "connected_slaves") == "0"
            && info_field(&mut m, "persistence", "rdb_bgsave_in_progress") == "0"
    });
    // Still a master that syncs the next replica.
    config_set(&mut m, "repl-timeout", "60");
    let replica = TestServer::start();
    let mut r = replica.conn();
    let _: String = cmd("REPLICAOF").arg("127.0.0.1").arg(master.addr().port()).query(&mut r).unwrap();
    common::wait_for("the next replica synced", Duration::from_secs(60), || {
        info_field(&mut r, "replication", "master_link_status") == "up" && digest(&mut r) == digest(&mut m)
    });
}

#[test]
fn a_transfer_whose_replicas_all_left_is_dropped() {
    let master = TestServer::start();
    let mut m = master.conn();
    let _: () = cmd("DEBUG").arg("POPULATE").arg(2000).query(&mut m).unwrap();
    // 2000 keys at 10 ms each: 20 s unless dropped.
    config_set(&mut m, "rdb-key-save-delay", "10000");
    let mut repl = master.raw();
    repl.write_all(b"REPLCONF capa eof\r\nPSYNC ? -1\r\n").unwrap();
    common::wait_for("the transfer to start", Duration::from_secs(20), || {
        info_field(&mut m, "persistence", "rdb_bgsave_in_progress") == "1"
    });
    drop(repl);
    common::wait_for("the transfer dropped", Duration::from_secs(10), || {
        info_field(&mut m, "persistence", "rdb_bgsave_in_progress") == "0"
    });
    assert_eq!(info_field(&mut m, "replication", "connected_slaves"), "0");
}

/// A replica with `repl-diskless-load` set, in a directory of its own.
fn replica_loading(mode: &'static str, dir: &std::path::Path) -> TestServer {
    let d = dir.to_string_lossy().into_owned();
    TestServer::with_config(move |c| {
        c.dir = d;
        c.set("repl-diskless-load", mode).expect("a known option");
        c.set("replica-read-only", "no").expect("a known option");
    })
}

#[test]
fn swapdb_loads_from_the_socket_and_gives_back_the_old_data_when_the_sync_fails() {
    let master = TestServer::start();
    let mut m = master.conn();
    let _: () = cmd("DEBUG").arg("POPULATE").arg(1000).arg("master").arg(1000).query(&mut m).unwrap();
    config_set(&mut m, "rdbcompression", "no");
    // 10 ms a key: a 10 s transfer, cut short below.
    config_set(&mut m, "rdb-key-save-delay", "10000");
    let replica = replica_loading("swapdb", &common::test_dir());
    let mut r = replica.conn();
    let _: () = cmd("DEBUG").arg("POPULATE").arg(200).arg("slave").arg(10).query(&mut r).unwrap();
    let _: () = cmd("SET").arg("mykey").arg("myvalue").query(&mut r).unwrap();
    let _: String = cmd("REPLICAOF").arg("127.0.0.1").arg(master.addr().port()).query(&mut r).unwrap();
    // Another history than the master's: the data is kept aside and clients get -LOADING meanwhile.
    common::wait_for("the replica loading", Duration::from_secs(20), || {
        info_field(&mut r, "persistence", "loading") == "1"
    });
    assert_eq!(info_field(&mut r, "persistence", "async_loading"), "0");
    let err = cmd("GET").arg("mykey").query::<Option<String>>(&mut r).unwrap_err();
    assert!(err.to_string().contains("is loading the dataset in memory"), "{err}");
    config_set(&mut m, "repl-diskless-sync-delay", "5");
    let _: i64 = cmd("CLIENT").arg("KILL").arg("TYPE").arg("replica").query(&mut m).unwrap();
    common::wait_for("the load to fail", Duration::from_secs(20), || {
        info_field(&mut r, "persistence", "loading") == "0"
    });
    assert_eq!(cmd("GET").arg("mykey").query::<Option<String>>(&mut r).unwrap().as_deref(), Some("myvalue"));
    assert_eq!(cmd("DBSIZE").query::<i64>(&mut r).unwrap(), 201);
    // And the next sync, left to run, replaces it.
    config_set(&mut m, "rdb-key-save-delay", "0");
    config_set(&mut m, "repl-diskless-sync-delay", "0");
    wait_link_up(&mut r);
    assert_eq!(cmd("GET").arg("mykey").query::<Option<String>>(&mut r).unwrap(), None);
    assert_eq!(digest(&mut r), digest(&mut m));
}

#[test]
fn swapdb_with_the_same_history_serves_the_old_data_until_the_new_is_in() {
    let master = TestServer::start();
    let mut m = master.conn();
    let replica = replica_loading("swapdb", &common::test_dir());
    let mut r = replica.conn();
    let _: String = cmd("REPLICAOF").arg("127.0.0.1").arg(master.addr().port()).query(&mut r).unwrap();
    wait_link_up(&mut r);
    let _: () = cmd("DEBUG").arg("POPULATE").arg(2000).arg("slave").arg(10).query(&mut r).unwrap();
    let _: () = cmd("DEBUG").arg("POPULATE").arg(2000).arg("master").arg(1000).query(&mut m).unwrap();
    config_set(&mut m, "rdbcompression", "no");
    let _: () = cmd("SET").arg("mykey").arg("myvalue").query(&mut r).unwrap();
    config_set(&mut m, "rdb-key-save-delay", "10000");
    // Drop the replica and write past a small backlog: it must sync fully, under the same history.
    let big = "A".repeat(16384);
    let mut p = redis::pipe();
    p.atomic().cmd("CLIENT").arg("KILL").arg("TYPE").arg("replica").ignore();
    p.cmd("CONFIG").arg("SET").arg("repl-backlog-size").arg(16384).ignore();
    for i in 0..10 {
        p.cmd("SET").arg(format!("k{i}")).arg(&big).ignore();
    }
    let _: () = p.query(&mut m).unwrap();
    common::wait_for("the replica loading aside", Duration::from_secs(20), || {
        info_field(&mut r, "persistence", "async_loading") == "1"
    });
    // The old data is served, and commands that would touch what is being replaced are refused.
    assert_eq!(info_field(&mut r, "persistence", "loading"), "0");
    assert_eq!(cmd("GET").arg("mykey").query::<Option<String>>(&mut r).unwrap().as_deref(), Some("myvalue"));
    assert_eq!(cmd("DBSIZE").query::<i64>(&mut r).unwrap(), 2001);
    let err = cmd("CONFIG").arg("SET").arg("appendonly").arg("no").query::<()>(&mut r).unwrap_err();
    assert!(err.to_string().contains("is loading the dataset in memory"), "{err}");
    let err = cmd("REPLICAOF").arg("NO").arg("ONE").query::<String>(&mut r).unwrap_err();
    assert!(err.to_string().contains("is loading the dataset in memory"), "{err}");
    config_set(&mut m, "rdb-key-save-delay", "0");
    common::wait_for("the new data swapped in", Duration::from_secs(30), || {
        info_field(&mut r, "persistence", "async_loading") == "0"
            && info_field(&mut r, "replication", "master_link_status") == "up"
    });
    assert_eq!(cmd("GET").arg("mykey").query::<Option<String>>(&mut r).unwrap(), None);
    assert_eq!(cmd("DBSIZE").query::<i64>(&mut r).unwrap(), 2010);
    assert_eq!(digest(&mut r), digest(&mut m));
}

#[test]
fn on_empty_db_loads_from_the_socket_only_when_the_replica_is_empty() {
    let master = TestServer::start();
    let mut m = master.conn();
    let _: () = cmd("DEBUG").arg("POPULATE").arg(500).query(&mut m).unwrap();
    let (empty_dir, full_dir) = (common::test_dir(), common::test_dir());
    let empty = replica_loading("on-empty-db", &empty_dir);
    let full = replica_loading("on-empty-db", &full_dir);
    let (mut re, mut rf) = (empty.conn(), full.conn());
    let _: () = cmd("SET").arg("mine").arg("1").query(&mut rf).unwrap();
    for r in [&mut re, &mut rf] {
        let _: String = cmd("REPLICAOF").arg("127.0.0.1").arg(master.addr().port()).query(r).unwrap();
        wait_link_up(r);
        assert_eq!(digest(r), digest(&mut m));
    }
    // The empty one loaded from the socket; the other went through its disk, as with `disabled`.
    assert!(!empty_dir.join("dump.rdb").exists());
    assert!(full_dir.join("dump.rdb").exists());
}
