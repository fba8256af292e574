//! The master side of replication: SYNC gives a payload, then every write as Redis propagates it.

mod common;

use common::{digest, info_field, replica_omem, set_and_outlive, wait_link_up, TestServer};
use redis::cmd;
use std::io::Read;
use std::time::Duration;

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
    cmd("HINCRBYFLOAT").arg("h").arg("fld").arg("2.5").query::<String>(&mut con).unwrap();
    cmd("GEOADD").arg("g").arg("ch").arg("13.361389").arg("38.115556").arg("Palermo").query::<i64>(&mut con).unwrap();
    cmd("SADD").arg("s").arg("m1").arg("m2").arg("m3").query::<i64>(&mut con).unwrap();
    cmd("SPOP").arg("s").arg(2).query::<Vec<String>>(&mut con).unwrap();
    cmd("SELECT").arg(3).query::<()>(&mut con).unwrap();
    cmd("GETDEL").arg("nokey").query::<Option<String>>(&mut con).unwrap();
    cmd("SET").arg("b").arg("2").query::<()>(&mut con).unwrap();
    let s = read_stream(&mut repl, "$1\r\nb\r\n$1\r\n2\r\n");
    let lines: Vec<&str> = s.split("\r\n").collect();
    let text = lines.join(" ");
    assert!(text.contains("SELECT $1 0 *5 $3 SET $1 a $1 1 $4 PXAT"), "{text}");
    assert!(text.contains("$9 PEXPIREAT $1 a"), "{text}");
    assert!(text.contains("*4 $3 SET $1 f $3 1.5 $7 KEEPTTL"), "{text}");
    // HINCRBYFLOAT goes out as the HSET of its result, GEOADD as the ZADD it is (options as written, the
    // member's geohash as its score), as Redis 7.0 propagates them.
    assert!(text.contains("*4 $4 HSET $1 h $3 fld $3 2.5"), "{text}");
    assert!(text.contains("*5 $4 zadd $1 g $2 ch $16 3479099956230698 $7 Palermo"), "{text}");
    assert!(text.contains("SELECT $1 3 *3 $3 SET $1 b $1 2"), "{text}");
    // SPOP with a count: an SREM per member, in MULTI/EXEC (Redis 7.0 wraps a command's several effects).
    let spop = text.find("*1 $5 MULTI *3 $4 SREM $1 s $2 m").expect(&text);
    assert!(text[spop..].contains("*3 $4 SREM $1 s $2 m") && text[spop..].contains("*1 $4 EXEC"), "{text}");
    assert_eq!(text.matches("SREM").count(), 2, "{text}");
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

/// A master whose full syncs go through its RDB file (repl-diskless-sync no).
fn disk_sync_master() -> TestServer {
    TestServer::with_config(|c| c.set("repl-diskless-sync", "no").expect("a known option"))
}

/// Writes of every type, with TTLs, into `con` (any server).
fn load_every_type(con: &mut redis::Connection, tag: &str) {
    let _: () = cmd("SET").arg(format!("{tag}:s")).arg("v").query(con).unwrap();
    let _: () = cmd("SET").arg(format!("{tag}:ttl")).arg("v").arg("EX").arg(1000).query(con).unwrap();
    let _: () = cmd("RPUSH").arg(format!("{tag}:l")).arg(&["a", "b", "c"]).query(con).unwrap();
    let _: () = cmd("HSET").arg(format!("{tag}:h")).arg(&["f", "1", "g", "2"]).query(con).unwrap();
    let _: () = cmd("SADD").arg(format!("{tag}:set")).arg(&["x", "y", "1"]).query(con).unwrap();
    let _: () = cmd("ZADD").arg(format!("{tag}:z")).arg(&["1", "a", "2.5", "b"]).query(con).unwrap();
    let _: String = cmd("XADD").arg(format!("{tag}:x")).arg("*").arg(&["f", "v"]).query(con).unwrap();
    let _: () = cmd("SELECT").arg(3).query(con).unwrap();
    let _: () = cmd("INCRBY").arg(format!("{tag}:n")).arg(41).query(con).unwrap();
    let _: () = cmd("SELECT").arg(0).query(con).unwrap();
}

#[test]
fn replicaof_a_ferrodis_master_syncs_streams_refuses_writes_and_promotes() {
    let master = TestServer::start();
    let replica = TestServer::start();
    let mut m = master.conn();
    let mut r = replica.conn();
    load_every_type(&mut m, "before");
    let _: () = cmd("DEBUG").arg("POPULATE").arg(2000).query(&mut m).unwrap();
    let port = master.addr().port();
    let ok: String = cmd("REPLICAOF").arg("127.0.0.1").arg(port).query(&mut r).unwrap();
    assert_eq!(ok, "OK");
    common::wait_for("the link to come up", Duration::from_secs(20), || {
        info_field(&mut r, "replication", "master_link_status") == "up"
    });
    common::wait_for("the full sync's data", Duration::from_secs(20), || digest(&mut r) == digest(&mut m));
    // The stream: writes after the sync arrive, in every database.
    load_every_type(&mut m, "after");
    let _: () = cmd("DEL").arg("key:7").query(&mut m).unwrap();
    common::wait_for("the streamed writes", Duration::from_secs(20), || digest(&mut r) == digest(&mut m));

    // Read-only, with Redis's text; ROLE and INFO tell where it replicates from.
    let e = cmd("SET").arg("x").arg("1").query::<()>(&mut r).unwrap_err();
    assert_eq!(common::err_text(e), "READONLY You can't write against a read only replica.");
    let role: Vec<redis::Value> = cmd("ROLE").query(&mut r).unwrap();
    assert_eq!(role.len(), 5);
    assert_eq!(role[0], redis::Value::BulkString(b"slave".to_vec()));
    assert_eq!(role[2], redis::Value::Int(port as i64));
    assert_eq!(role[3], redis::Value::BulkString(b"connected".to_vec()));
    assert_eq!(info_field(&mut r, "replication", "role"), "slave");
    assert_eq!(info_field(&mut r, "replication", "master_port"), port.to_string());
    let again: String = cmd("REPLICAOF").arg("127.0.0.1").arg(port).query(&mut r).unwrap();
    assert_eq!(again, "OK Already connected to specified master");
    // CONFIG GET (and so CONFIG REWRITE) shows the master, so a restart on the rewritten file replicates.
    let got: Vec<String> = cmd("CONFIG").arg("GET").arg("replicaof").query(&mut r).unwrap();
    assert_eq!(got, vec!["replicaof".to_string(), format!("127.0.0.1 {port}")]);
    let e = cmd("REPLICAOF").arg("127.0.0.1").arg("70000").query::<()>(&mut r).unwrap_err();
    assert_eq!(common::err_text(e), "ERR Invalid master port");

    // Promotion: writable again, the master's history kept as replid2, and the master's writes stop coming.
    let master_id = info_field(&mut m, "replication", "master_replid");
    let ok: String = cmd("REPLICAOF").arg("NO").arg("ONE").query(&mut r).unwrap();
    assert_eq!(ok, "OK");
    common::wait_for("promotion", Duration::from_secs(10), || info_field(&mut r, "replication", "role") == "master");
    let got: Vec<String> = cmd("CONFIG").arg("GET").arg("replicaof").query(&mut r).unwrap();
    assert_eq!(got, vec!["replicaof".to_string(), String::new()]);
    assert_eq!(info_field(&mut r, "replication", "master_replid2"), master_id);
    let _: () = cmd("SET").arg("x").arg("1").query(&mut r).unwrap();
    let _: () = cmd("SET").arg("only-on-master").arg("1").query(&mut m).unwrap();
    let role: Vec<redis::Value> = cmd("ROLE").query(&mut r).unwrap();
    assert_eq!(role[0], redis::Value::BulkString(b"master".to_vec()));
    let n: i64 = cmd("EXISTS").arg("only-on-master").query(&mut r).unwrap();
    assert_eq!(n, 0);
}

#[test]
fn a_ferrodis_replica_of_redis_server_syncs_and_resyncs_partially() {
    let real = match common::real_redis::real_redis("replica-of-real") {
        Ok(r) => r,
        Err(why) => {
            eprintln!("skipped: {why}");
            return;
        }
    };
    let mut m = redis::Client::open(format!("redis://127.0.0.1:{}/", real.port)).unwrap().get_connection().unwrap();
    // No 5 s wait before redis-server's diskless sync starts.
    let _: () = cmd("CONFIG").arg("SET").arg("repl-diskless-sync-delay").arg(0).query(&mut m).unwrap();
    load_every_type(&mut m, "before");
    let _: () = cmd("DEBUG").arg("POPULATE").arg(1000).query(&mut m).unwrap();
    let replica = TestServer::start();
    let mut r = replica.conn();
    let _: String = cmd("REPLICAOF").arg("127.0.0.1").arg(real.port).query(&mut r).unwrap();
    common::wait_for("the full sync from redis-server", Duration::from_secs(30), || {
        info_field(&mut r, "replication", "master_link_status") == "up" && digest(&mut r) == digest(&mut m)
    });
    load_every_type(&mut m, "streamed");
    common::wait_for("the stream from redis-server", Duration::from_secs(20), || digest(&mut r) == digest(&mut m));
    // redis-server sees our acknowledged offset.
    common::wait_for("our ACK", Duration::from_secs(10), || {
        let line = info_field(&mut m, "replication", "slave0");
        let off = info_field(&mut m, "replication", "master_repl_offset");
        line.contains("state=online") && line.contains(&format!("offset={off},"))
    });

    // The link drops; writes meanwhile come through a partial resync from redis-server's backlog.
    let _: i64 = cmd("CLIENT").arg("KILL").arg("TYPE").arg("replica").query(&mut m).unwrap();
    load_every_type(&mut m, "while-down");
    common::wait_for("the partial resync", Duration::from_secs(20), || {
        info_field(&mut m, "stats", "sync_partial_ok") == "1" && digest(&mut r) == digest(&mut m)
    });
    assert_eq!(info_field(&mut m, "stats", "sync_full"), "1");
}

#[test]
fn replicaof_in_the_config_starts_as_a_replica() {
    let master = TestServer::start();
    let mut m = master.conn();
    load_every_type(&mut m, "cfg");
    let port = master.addr().port();
    let replica = TestServer::with_config(|c| {
        c.load_str(&format!("replicaof 127.0.0.1 {port}\n"), None).unwrap();
    });
    let mut r = replica.conn();
    common::wait_for("the sync from the configured master", Duration::from_secs(20), || {
        info_field(&mut r, "replication", "master_link_status") == "up" && digest(&mut r) == digest(&mut m)
    });
    assert_eq!(info_field(&mut r, "replication", "master_host"), "127.0.0.1");
}

#[test]
fn a_killed_link_resyncs_partially_from_the_backlog_and_wait_counts_acks() {
    let master = TestServer::start();
    let replica = TestServer::start();
    let mut m = master.conn();
    let mut r = replica.conn();
    let _: () = cmd("DEBUG").arg("POPULATE").arg(300).query(&mut m).unwrap();
    let _: String = cmd("REPLICAOF").arg("127.0.0.1").arg(master.addr().port()).query(&mut r).unwrap();
    common::wait_for("the sync", Duration::from_secs(20), || {
        info_field(&mut r, "replication", "master_link_status") == "up" && digest(&mut r) == digest(&mut m)
    });
    // WAIT: the replica acknowledges this client's write (asked with REPLCONF GETACK).
    let _: () = cmd("SET").arg("w").arg("1").query(&mut m).unwrap();
    let acked: i64 = cmd("WAIT").arg(1).arg(5000).query(&mut m).unwrap();
    assert_eq!(acked, 1);
    // Asking for more replicas than there are times out with the count that did acknowledge.
    let acked: i64 = cmd("WAIT").arg(2).arg(50).query(&mut m).unwrap();
    assert_eq!(acked, 1);
    let line = info_field(&mut m, "replication", "slave0");
    assert!(line.starts_with("ip=127.0.0.1,port=") && line.contains(",state=online,offset="), "{line}");
    assert_eq!(info_field(&mut m, "replication", "repl_backlog_active"), "1");
    let role: Vec<redis::Value> = cmd("ROLE").query(&mut m).unwrap();
    match &role[2] {
        redis::Value::Array(reps) => assert_eq!(reps.len(), 1),
        other => panic!("{other:?}"),
    }
    let list: String = cmd("CLIENT").arg("LIST").arg("TYPE").arg("master").query(&mut r).unwrap();
    assert!(list.contains("flags=M"), "{list}");

    // The stream is in db 9 when the link is killed: the partial resync goes on there (no SELECT comes).
    let _: () = cmd("SELECT").arg(9).query(&mut m).unwrap();
    let _: () = cmd("SET").arg("in9").arg("1").query(&mut m).unwrap();
    common::wait_for("the db 9 write", Duration::from_secs(20), || digest(&mut r) == digest(&mut m));
    // The replica's link is killed; the master's writes meanwhile come back from its backlog.
    let killed: i64 = cmd("CLIENT").arg("KILL").arg("TYPE").arg("master").query(&mut r).unwrap();
    assert_eq!(killed, 1);
    let _: () = cmd("SET").arg("during").arg("the drop").query(&mut m).unwrap();
    let _: () = cmd("RPUSH").arg("l").arg(&["1", "2", "3"]).query(&mut m).unwrap();
    common::wait_for("the partial resync", Duration::from_secs(20), || {
        info_field(&mut m, "stats", "sync_partial_ok") == "1" && digest(&mut r) == digest(&mut m)
    });
    assert_eq!(info_field(&mut m, "stats", "sync_full"), "1");
    let acked: i64 = cmd("WAIT").arg(1).arg(5000).query(&mut m).unwrap();
    assert_eq!(acked, 1);
    // WAIT on a replica is refused with Redis's text.
    let e = cmd("WAIT").arg(1).arg(0).query::<i64>(&mut r).unwrap_err();
    assert!(common::err_text(e).starts_with("ERR WAIT cannot be used with replica instances."));
}

#[test]
fn redis_server_as_a_replica_resyncs_partially_from_our_backlog() {
    let real = match common::real_redis::real_redis("replica-partial") {
        Ok(r) => r,
        Err(why) => {
            eprintln!("skipped: {why}");
            return;
        }
    };
    let master = TestServer::start();
    let mut m = master.conn();
    load_every_type(&mut m, "before");
    let mut r = redis::Client::open(format!("redis://127.0.0.1:{}/", real.port)).unwrap().get_connection().unwrap();
    let _: () = cmd("REPLICAOF").arg("127.0.0.1").arg(master.addr().port()).query(&mut r).unwrap();
    common::wait_for("redis-server's sync", Duration::from_secs(20), || {
        info_field(&mut r, "replication", "master_link_status") == "up" && digest(&mut r) == digest(&mut m)
    });
    load_every_type(&mut m, "streamed");
    let acked: i64 = cmd("WAIT").arg(1).arg(5000).query(&mut m).unwrap();
    assert_eq!(acked, 1);
    assert_eq!(digest(&mut r), digest(&mut m));
    let _: i64 = cmd("CLIENT").arg("KILL").arg("TYPE").arg("master").query(&mut r).unwrap();
    load_every_type(&mut m, "while-down");
    common::wait_for("the partial resync", Duration::from_secs(20), || {
        info_field(&mut m, "stats", "sync_partial_ok") == "1" && digest(&mut r) == digest(&mut m)
    });
}

#[test]
fn min_replicas_to_write_refuses_writes_until_a_replica_acknowledges() {
    let master = TestServer::start();
    let mut m = master.conn();
    // A transaction queued before the setting changed is aborted at EXEC (processCommand's check of EXEC).
    let mut other = master.conn();
    let _: () = cmd("MULTI").query(&mut other).unwrap();
    let _: () = cmd("INCR").arg("queued").query(&mut other).unwrap();
    let _: () = cmd("CONFIG").arg("SET").arg("min-replicas-to-write").arg(1).query(&mut m).unwrap();
    let e = cmd("EXEC").query::<()>(&mut other).unwrap_err();
    assert_eq!(
        common::err_text(e),
        "EXECABORT Transaction discarded because of: NOREPLICAS Not enough good replicas to write."
    );
    let e = cmd("SET").arg("k").arg("v").query::<()>(&mut m).unwrap_err();
    assert_eq!(common::err_text(e), "NOREPLICAS Not enough good replicas to write.");
    assert_eq!(info_field(&mut m, "replication", "min_slaves_good_slaves"), "0");
    // Reads still work.
    let v: Option<String> = cmd("GET").arg("k").query(&mut m).unwrap();
    assert_eq!(v, None);
    let replica = TestServer::start();
    let mut r = replica.conn();
    let _: String = cmd("REPLICAOF").arg("127.0.0.1").arg(master.addr().port()).query(&mut r).unwrap();
    common::wait_for("a good replica", Duration::from_secs(20), || {
        cmd("SET").arg("k").arg("v").query::<()>(&mut m).is_ok()
    });
    assert_eq!(info_field(&mut m, "replication", "min_slaves_good_slaves"), "1");
}

#[test]
fn a_replica_reads_keys_past_their_ttl_as_missing_until_the_master_deletes_them() {
    let master = TestServer::start();
    let replica = TestServer::start();
    let mut m = master.conn();
    let mut r = replica.conn();
    // The master expires nothing on its own until it reads the key.
    let _: () = cmd("DEBUG").arg("SET-ACTIVE-EXPIRE").arg(0).query(&mut m).unwrap();
    let _: String = cmd("REPLICAOF").arg("127.0.0.1").arg(master.addr().port()).query(&mut r).unwrap();
    common::wait_for("the link", Duration::from_secs(20), || {
        info_field(&mut r, "replication", "master_link_status") == "up"
    });
    let _: () = cmd("SET").arg("k").arg("v").arg("PX").arg(100).query(&mut m).unwrap();
    let _: () = cmd("SET").arg("keep").arg("v").query(&mut m).unwrap();
    common::wait_for("the writes on the replica", Duration::from_secs(10), || {
        cmd("EXISTS").arg("keep").query::<i64>(&mut r).unwrap() == 1
    });
    let ttl_set = std::time::Instant::now();
    common::wait_for("the TTL to pass on the replica", Duration::from_secs(10), || {
        cmd("GET").arg("k").query::<Option<String>>(&mut r).unwrap().is_none()
    });
    assert!(ttl_set.elapsed() < Duration::from_secs(10));
    // Still stored (the master has not deleted it): the replica counts it but reads it as missing.
    assert_eq!(cmd("DBSIZE").query::<i64>(&mut r).unwrap(), 2);
    assert_eq!(cmd("EXISTS").arg("k").query::<i64>(&mut r).unwrap(), 0);
    assert_eq!(cmd("TTL").arg("k").query::<i64>(&mut r).unwrap(), -2);
    // The master's lazy expiry deletes it, and its DEL reaches the replica.
    let _: Option<String> = cmd("GET").arg("k").query(&mut m).unwrap();
    common::wait_for("the master's DEL", Duration::from_secs(10), || cmd("DBSIZE").query::<i64>(&mut r).unwrap() == 1);
    assert_eq!(digest(&mut r), digest(&mut m));
}

#[test]
fn a_full_sync_uses_the_background_snapshot_and_holds_the_writes_made_meanwhile() {
    let master = disk_sync_master();
    let mut m = master.conn();
    let _: () = cmd("DEBUG").arg("POPULATE").arg(3000).query(&mut m).unwrap();
    // About 0.6 s of saving: long enough to write while the replica's snapshot is taken.
    let _: () = cmd("CONFIG").arg("SET").arg("rdb-key-save-delay").arg(200).query(&mut m).unwrap();
    let replica = TestServer::start();
    let mut r = replica.conn();
    let _: String = cmd("REPLICAOF").arg("127.0.0.1").arg(master.addr().port()).query(&mut r).unwrap();
    common::wait_for("the sync's snapshot to start", Duration::from_secs(20), || {
        info_field(&mut m, "replication", "slave0").contains("state=wait_bgsave")
            && info_field(&mut m, "persistence", "rdb_bgsave_in_progress") == "1"
    });
    // The master serves writes while its snapshot for the replica is written; they reach the replica after
    // the file.
    for i in 0..50 {
        let _: () = cmd("SET").arg(format!("during:{i}")).arg(i).query(&mut m).unwrap();
    }
    let _: () = cmd("DEL").arg("key:1").query(&mut m).unwrap();
    common::wait_for("the replica online with every write", Duration::from_secs(30), || {
        info_field(&mut m, "replication", "slave0").contains("state=online") && digest(&mut r) == digest(&mut m)
    });
    assert_eq!(cmd("DBSIZE").query::<i64>(&mut r).unwrap(), 3049);
    // The snapshot counts where Redis counts its fork.
    assert_eq!(num_field(&mut m, "stats", "total_forks"), 1);
}

#[test]
fn replicas_that_wait_for_a_running_save_get_their_own_snapshot() {
    // Replica A's save runs; B and C ask while it runs. They share it when they come in time (Redis's
    // attach to a running disk save); one that comes while A's file is read back waits for the next save,
    // and must get that second file, not A's (which lacks the writes between the two snapshots).
    let master = disk_sync_master();
    let mut m = master.conn();
    // A file big enough that reading it back takes a while, and a save slow enough for B and C to ask.
    let _: () = cmd("DEBUG").arg("POPULATE").arg(200_000).arg("key").arg(64).query(&mut m).unwrap();
    let _: () = cmd("CONFIG").arg("SET").arg("rdb-key-save-delay").arg(3).query(&mut m).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let mut w = master.conn();
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut i = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let mut p = redis::pipe();
                for _ in 0..20 {
                    p.cmd("SET").arg(format!("w:{i}")).arg(i).ignore();
                    p.cmd("INCR").arg("counter").ignore();
                    i += 1;
                }
                let _: () = p.query(&mut w).unwrap();
            }
        })
    };
    let replicas: Vec<TestServer> = (0..3).map(|_| TestServer::start()).collect();
    let mut conns: Vec<redis::Connection> = replicas.iter().map(|r| r.conn()).collect();
    let port = master.addr().port();
    let _: String = cmd("REPLICAOF").arg("127.0.0.1").arg(port).query(&mut conns[0]).unwrap();
    common::wait_for("A's snapshot to start", Duration::from_secs(20), || {
        info_field(&mut m, "replication", "slave0").contains("state=wait_bgsave")
            && info_field(&mut m, "persistence", "rdb_bgsave_in_progress") == "1"
    });
    for r in &mut conns[1..] {
        let _: String = cmd("REPLICAOF").arg("127.0.0.1").arg(port).query(r).unwrap();
    }
    common::wait_for("all three online", Duration::from_secs(60), || {
        let info: String = cmd("INFO").arg("replication").query(&mut m).unwrap();
        info.matches("state=online").count() == 3
    });
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.join().unwrap();
    let want = digest(&mut m);
    let offset = info_field(&mut m, "replication", "master_repl_offset");
    for r in &mut conns {
        common::wait_for("the replica at the master's offset", Duration::from_secs(20), || {
            info_field(r, "replication", "master_repl_offset") == offset
        });
        assert_eq!(digest(r), want);
    }
}

#[test]
fn the_master_pings_its_replicas_and_closes_the_silent_ones() {
    let master = TestServer::start();
    let mut m = master.conn();
    let _: () = cmd("CONFIG").arg("SET").arg("repl-ping-replica-period").arg(1).query(&mut m).unwrap();
    let replica = TestServer::start();
    let mut r = replica.conn();
    let _: String = cmd("REPLICAOF").arg("127.0.0.1").arg(master.addr().port()).query(&mut r).unwrap();
    common::wait_for("the link up", Duration::from_secs(20), || {
        info_field(&mut r, "replication", "master_link_status") == "up"
    });
    // With no writes the offset still moves, by PINGs (14 bytes each), and the replica follows it.
    let before: i64 = info_field(&mut m, "replication", "master_repl_offset").parse().unwrap();
    common::wait_for("two PINGs", Duration::from_secs(10), || {
        info_field(&mut m, "replication", "master_repl_offset").parse::<i64>().unwrap() >= before + 28
    });
    let offset: i64 = info_field(&mut m, "replication", "master_repl_offset").parse().unwrap();
    common::wait_for("the replica at the master's offset", Duration::from_secs(10), || {
        info_field(&mut r, "replication", "slave_repl_offset").parse::<i64>().unwrap() >= offset
    });
    let io: i64 = info_field(&mut r, "replication", "master_last_io_seconds_ago").parse().unwrap();
    assert!((0..=2).contains(&io), "master_last_io_seconds_ago {io}");

    // A replica that never acknowledges is closed after repl-timeout.
    let _: () = cmd("CONFIG").arg("SET").arg("repl-timeout").arg(1).query(&mut m).unwrap();
    let mut raw = master.raw();
    std::io::Write::write_all(&mut raw, b"REPLCONF capa eof capa psync2\r\n").unwrap();
    read_stream(&mut raw, "+OK\r\n");
    std::io::Write::write_all(&mut raw, b"PSYNC ? -1\r\n").unwrap();
    raw.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match raw.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => panic!("the silent replica was not closed: {e}"),
        }
    }
    assert!(String::from_utf8_lossy(&got).starts_with("+FULLRESYNC"));
    // The real replica acknowledges every second and stays.
    assert_eq!(info_field(&mut r, "replication", "master_link_status"), "up");
}

fn num_field(con: &mut redis::Connection, section: &str, field: &str) -> i64 {
    info_field(con, section, field).parse().unwrap_or(-1)
}

/// Wait until `r` has applied everything `m` has sent, and hold the same data.
fn wait_synced(m: &mut redis::Connection, r: &mut redis::Connection) {
    let offset = num_field(m, "replication", "master_repl_offset");
    common::wait_for("the replica at the master's offset", Duration::from_secs(20), || {
        num_field(r, "replication", "master_repl_offset") >= offset
    });
    assert_eq!(digest(r), digest(m));
}

#[test]
fn chained_replicas_share_the_masters_history_and_resync_partially_after_a_failover() {
    let (top, mid, leaf) = (TestServer::start(), TestServer::start(), TestServer::start());
    let (mut t, mut m, mut l) = (top.conn(), mid.conn(), leaf.conn());
    load_every_type(&mut t, "before");
    let _: String = cmd("REPLICAOF").arg("127.0.0.1").arg(top.addr().port()).query(&mut m).unwrap();
    common::wait_for("mid's link", Duration::from_secs(20), || {
        info_field(&mut m, "replication", "master_link_status") == "up"
    });
    let _: String = cmd("REPLICAOF").arg("127.0.0.1").arg(mid.addr().port()).query(&mut l).unwrap();
    common::wait_for("leaf's link", Duration::from_secs(20), || {
        info_field(&mut l, "replication", "master_link_status") == "up"
    });
    // The stream passes through mid unchanged: one id and one offset down the chain.
    load_every_type(&mut t, "after");
    for i in 0..100 {
        let _: () = cmd("INCR").arg("counter").query(&mut t).unwrap();
        let _: () = cmd("SET").arg(format!("k{i}")).arg(i).query(&mut t).unwrap();
    }
    wait_synced(&mut t, &mut m);
    wait_synced(&mut t, &mut l);
    let top_id = info_field(&mut t, "replication", "master_replid");
    assert_eq!(info_field(&mut m, "replication", "master_replid"), top_id);
    assert_eq!(info_field(&mut l, "replication", "master_replid"), top_id);
    assert_eq!(
        num_field(&mut l, "replication", "master_repl_offset"),
        num_field(&mut t, "replication", "master_repl_offset")
    );
    // Writes stop; mid is promoted. Its history goes on under a new id, top's kept as replid2; leaf
    // reconnects and continues from the backlog, as does top re-pointed at mid.
    let mid_partial = num_field(&mut m, "stats", "sync_partial_ok");
    let _: String = cmd("REPLICAOF").arg("NO").arg("ONE").query(&mut m).unwrap();
    assert_eq!(info_field(&mut m, "replication", "master_replid2"), top_id);
    assert_ne!(info_field(&mut m, "replication", "master_replid"), top_id);
    let _: String = cmd("REPLICAOF").arg("127.0.0.1").arg(mid.addr().port()).query(&mut t).unwrap();
    common::wait_for("leaf and top back on mid", Duration::from_secs(20), || {
        info_field(&mut l, "replication", "master_link_status") == "up"
            && info_field(&mut t, "replication", "master_link_status") == "up"
            && num_field(&mut m, "stats", "sync_partial_ok") == mid_partial + 2
    });
    assert_eq!(num_field(&mut m, "stats", "sync_full"), 1, "only leaf's first sync was full");
    let new_id = info_field(&mut m, "replication", "master_replid");
    for i in 0..50 {
        let _: () = cmd("INCR").arg("counter").query(&mut m).unwrap();
        let _: () = cmd("SET").arg(format!("after-failover{i}")).arg(i).query(&mut m).unwrap();
    }
    wait_synced(&mut m, &mut l);
    wait_synced(&mut m, &mut t);
    assert_eq!(info_field(&mut l, "replication", "master_replid"), new_id);
    assert_eq!(info_field(&mut t, "replication", "master_replid"), new_id);
    assert_eq!(cmd("GET").arg("counter").query::<i64>(&mut t).unwrap(), 150);
}

#[test]
fn debug_replicate_reaches_replicas_only_and_their_errors_are_counted() {
    let master = TestServer::start();
    let replica = TestServer::start();
    let (mut m, mut r) = (master.conn(), replica.conn());
    let _: String = cmd("REPLICAOF").arg("127.0.0.1").arg(master.addr().port()).query(&mut r).unwrap();
    common::wait_for("the link up", Duration::from_secs(20), || {
        info_field(&mut r, "replication", "master_link_status") == "up"
    });
    let _: () = cmd("DEBUG").arg("REPLICATE").arg("fake-command-1").query(&mut m).unwrap();
    let _: () = cmd("DEBUG").arg("REPLICATE").arg("SET").arg("only-on-replica").arg("1").query(&mut m).unwrap();
    let _: () = cmd("SET").arg("foo").arg("bar").query(&mut m).unwrap();
    let acked: i64 = cmd("WAIT").arg(1).arg(5000).query(&mut m).unwrap();
    assert_eq!(acked, 1);
    assert_eq!(num_field(&mut r, "stats", "unexpected_error_replies"), 1);
    assert_eq!(cmd("GET").arg("only-on-replica").query::<Option<String>>(&mut r).unwrap().as_deref(), Some("1"));
    assert_eq!(cmd("EXISTS").arg("only-on-replica").query::<i64>(&mut m).unwrap(), 0);
    assert_eq!(cmd("GET").arg("foo").query::<Option<String>>(&mut r).unwrap().as_deref(), Some("bar"));
    // DEBUG CHANGE-REPL-ID: a new id, no replid2.
    let id = info_field(&mut m, "replication", "master_replid");
    let _: () = cmd("DEBUG").arg("CHANGE-REPL-ID").query(&mut m).unwrap();
    assert_ne!(info_field(&mut m, "replication", "master_replid"), id);
}

#[test]
fn a_restarted_master_lets_its_replica_resync_partially_from_the_rdb_history() {
    let dir = common::test_dir().to_string_lossy().into_owned();
    let d = dir.clone();
    let master = TestServer::with_config(move |c| c.dir = d);
    let replica = TestServer::start();
    let (mut m, mut r) = (master.conn(), replica.conn());
    let _: String = cmd("REPLICAOF").arg("127.0.0.1").arg(master.addr().port()).query(&mut r).unwrap();
    common::wait_for("the link up", Duration::from_secs(20), || {
        info_field(&mut r, "replication", "master_link_status") == "up"
    });
    let _: () = cmd("SELECT").arg(5).query(&mut m).unwrap();
    load_every_type(&mut m, "before");
    // A key that is past its TTL when the master restarts: the load skips it and the backlog tells the
    // replica to delete it.
    let _: () = cmd("DEBUG").arg("SET-ACTIVE-EXPIRE").arg(0).query(&mut m).unwrap();
    let _: () = cmd("SELECT").arg(2).query(&mut m).unwrap();
    set_and_outlive(&mut m, "gone-at-restart", "v", 50);
    let _: () = cmd("SELECT").arg(5).query(&mut m).unwrap();
    wait_synced(&mut m, &mut r);
    let id = info_field(&mut m, "replication", "master_replid");
    let offset = num_field(&mut m, "replication", "master_repl_offset");
    let _: String = cmd("SAVE").query(&mut m).unwrap();
    drop(m);
    drop(master);
    // The restarted master knows the history it saved: its old id as replid2, the same offset.
    let d = dir.clone();
    let master = TestServer::with_config(move |c| c.dir = d);
    let mut m = master.conn();
    common::wait_for("the load", Duration::from_secs(20), || info_field(&mut m, "persistence", "loading") == "0");
    assert_eq!(info_field(&mut m, "replication", "master_replid2"), id);
    assert_eq!(num_field(&mut m, "replication", "second_repl_offset"), offset + 1);
    // The history goes on past the saved offset by the DEL (and its SELECT) of the key the load dropped.
    assert!(num_field(&mut m, "replication", "master_repl_offset") > offset);
    let _: String = cmd("REPLICAOF").arg("127.0.0.1").arg(master.addr().port()).query(&mut r).unwrap();
    common::wait_for("a partial resync", Duration::from_secs(20), || {
        num_field(&mut m, "stats", "sync_partial_ok") == 1
            && info_field(&mut r, "replication", "master_link_status") == "up"
    });
    assert_eq!(num_field(&mut m, "stats", "sync_full"), 0);
    wait_synced(&mut m, &mut r);
    let _: () = cmd("SELECT").arg(2).query(&mut r).unwrap();
    assert_eq!(cmd("DBSIZE").query::<i64>(&mut r).unwrap(), 0);
    // And the stream goes on.
    let _: () = cmd("SELECT").arg(5).query(&mut m).unwrap();
    load_every_type(&mut m, "after");
    wait_synced(&mut m, &mut r);
}

#[test]
fn bind_source_addr_is_where_the_link_to_the_master_comes_from() {
    let master = TestServer::start();
    let replica = TestServer::start();
    let (mut m, mut r) = (master.conn(), replica.conn());
    let _: () = cmd("CONFIG").arg("SET").arg("protected-mode").arg("no").query(&mut m).unwrap();
    let _: () = cmd("CONFIG").arg("SET").arg("bind-source-addr").arg("127.0.0.2").query(&mut r).unwrap();
    let _: String = cmd("REPLICAOF").arg("127.0.0.1").arg(master.addr().port()).query(&mut r).unwrap();
    common::wait_for("the link up", Duration::from_secs(20), || {
        info_field(&mut r, "replication", "master_link_status") == "up"
    });
    let line = info_field(&mut m, "replication", "slave0");
    assert!(line.starts_with("ip=127.0.0.2,"), "{line}");
}

#[test]
fn a_replica_asking_during_a_sync_save_shares_that_snapshot() {
    let master = disk_sync_master();
    let mut m = master.conn();
    let _: () = cmd("DEBUG").arg("POPULATE").arg(1000).query(&mut m).unwrap();
    // About a second of saving.
    let _: () = cmd("CONFIG").arg("SET").arg("rdb-key-save-delay").arg(1000).query(&mut m).unwrap();
    let (a, b) = (TestServer::start(), TestServer::start());
    let (mut ra, mut rb) = (a.conn(), b.conn());
    let _: String = cmd("REPLICAOF").arg("127.0.0.1").arg(master.addr().port()).query(&mut ra).unwrap();
    common::wait_for("A's snapshot to start", Duration::from_secs(20), || {
        info_field(&mut m, "replication", "slave0").contains("state=wait_bgsave")
    });
    let _: () = cmd("SET").arg("between").arg("1").query(&mut m).unwrap();
    let _: String = cmd("REPLICAOF").arg("127.0.0.1").arg(master.addr().port()).query(&mut rb).unwrap();
    // B gets +FULLRESYNC at once (its link is in the transfer), while the same save still runs.
    common::wait_for("B in the running sync", Duration::from_secs(20), || {
        let role: Vec<redis::Value> = cmd("ROLE").query(&mut rb).unwrap();
        role.get(3) == Some(&redis::Value::BulkString(b"sync".to_vec()))
    });
    assert_eq!(info_field(&mut m, "persistence", "rdb_bgsave_in_progress"), "1");
    let _: () = cmd("SET").arg("after-b").arg("1").query(&mut m).unwrap();
    common::wait_for("both online", Duration::from_secs(30), || {
        let info: String = cmd("INFO").arg("replication").query(&mut m).unwrap();
        info.matches("state=online").count() == 2
    });
    wait_synced(&mut m, &mut ra);
    wait_synced(&mut m, &mut rb);
    assert_eq!(num_field(&mut m, "stats", "total_forks"), 1, "one snapshot for both");
    assert_eq!(num_field(&mut m, "stats", "sync_full"), 2);
}

#[test]
fn a_sync_save_no_replica_waits_for_is_dropped_unless_save_points_need_it() {
    let master = disk_sync_master();
    let mut m = master.conn();
    for i in 0..10 {
        let _: () = cmd("SET").arg(i).arg(i).query(&mut m).unwrap();
    }
    // A second a key: the save outlives the test unless dropped.
    let _: () = cmd("CONFIG").arg("SET").arg("rdb-key-save-delay").arg(1_000_000).query(&mut m).unwrap();
    let (a, b) = (TestServer::start(), TestServer::start());
    let (mut ra, mut rb) = (a.conn(), b.conn());
    for save in ["", "900 1"] {
        let _: () = cmd("CONFIG").arg("SET").arg("save").arg(save).query(&mut m).unwrap();
        for r in [&mut ra, &mut rb] {
            let _: String = cmd("REPLICAOF").arg("127.0.0.1").arg(master.addr().port()).query(r).unwrap();
        }
        common::wait_for("both waiting for the save", Duration::from_secs(20), || {
            let info: String = cmd("INFO").arg("replication").query(&mut m).unwrap();
            info.matches("state=wait_bgsave").count() == 2
                && info_field(&mut m, "persistence", "rdb_bgsave_in_progress") == "1"
        });
        let _: String = cmd("REPLICAOF").arg("NO").arg("ONE").query(&mut ra).unwrap();
        common::wait_for("A gone", Duration::from_secs(10), || {
            info_field(&mut m, "replication", "connected_slaves") == "1"
        });
        // B still waits for it.
        assert_eq!(info_field(&mut m, "persistence", "rdb_bgsave_in_progress"), "1");
        let _: String = cmd("REPLICAOF").arg("NO").arg("ONE").query(&mut rb).unwrap();
        common::wait_for("B gone", Duration::from_secs(10), || {
            info_field(&mut m, "replication", "connected_slaves") == "0"
        });
        let running = info_field(&mut m, "persistence", "rdb_bgsave_in_progress");
        if save.is_empty() {
            // Nobody needs it: dropped.
            assert_eq!(running, "0");
        } else {
            // The save points make the file worth finishing.
            assert_eq!(running, "1");
        }
    }
}

#[test]
fn a_replica_re_pointed_at_a_master_that_fails_keeps_its_replicas_and_history() {
    let m1 = TestServer::start();
    let mut a = m1.conn();
    let _: () = cmd("SET").arg("a").arg("b").query(&mut a).unwrap();
    let m2 = TestServer::start();
    let mut b = m2.conn();
    let _: () = cmd("DEBUG").arg("POPULATE").arg(10).query(&mut b).unwrap();
    // Ten seconds of transfer: it does not end before m2 is gone.
    let _: () = cmd("CONFIG").arg("SET").arg("rdb-key-save-delay").arg(1_000_000).query(&mut b).unwrap();
    let (r, sub) = (TestServer::start(), TestServer::start());
    let (mut rc, mut sc) = (r.conn(), sub.conn());
    let _: String = cmd("REPLICAOF").arg("127.0.0.1").arg(m1.addr().port()).query(&mut rc).unwrap();
    wait_link_up(&mut rc);
    wait_synced(&mut a, &mut rc);
    let _: String = cmd("REPLICAOF").arg("127.0.0.1").arg(r.addr().port()).query(&mut sc).unwrap();
    wait_link_up(&mut sc);
    wait_synced(&mut rc, &mut sc);
    let _: String = cmd("REPLICAOF").arg("127.0.0.1").arg(m2.addr().port()).query(&mut rc).unwrap();
    common::wait_for("m2's transfer to start", Duration::from_secs(20), || {
        info_field(&mut b, "replication", "slave0").contains("wait_bgsave")
    });
    drop(b);
    drop(m2);
    // The transfer never finished: r's history is still m1's, and its replica was not dropped.
    let id = info_field(&mut a, "replication", "master_replid");
    assert_eq!(info_field(&mut rc, "replication", "master_replid"), id);
    assert_eq!(info_field(&mut sc, "replication", "master_replid"), id);
    let (full, partial) = (num_field(&mut a, "stats", "sync_full"), num_field(&mut a, "stats", "sync_partial_ok"));
    let _: String = cmd("REPLICAOF").arg("127.0.0.1").arg(m1.addr().port()).query(&mut rc).unwrap();
    wait_link_up(&mut rc);
    // m1 continues r's history, and r's replica never had to sync again.
    assert_eq!(num_field(&mut a, "stats", "sync_full"), full);
    assert_eq!(num_field(&mut a, "stats", "sync_partial_ok"), partial + 1);
    assert_eq!((num_field(&mut rc, "stats", "sync_full"), num_field(&mut rc, "stats", "sync_partial_ok")), (1, 0));
    let _: () = cmd("SET").arg("after").arg("1").query(&mut a).unwrap();
    wait_synced(&mut a, &mut rc);
    wait_synced(&mut rc, &mut sc);
}

#[test]
fn a_disk_sync_sends_its_file_as_the_replica_takes_it() {
    let master = disk_sync_master();
    let mut m = master.conn();
    // 20 MB of file: more than the socket buffers and the sync's 4 MB allowance.
    let _: () = cmd("DEBUG").arg("POPULATE").arg(20_000).arg("key").arg(1000).query(&mut m).unwrap();
    let _: () = cmd("CONFIG").arg("SET").arg("rdbcompression").arg("no").query(&mut m).unwrap();
    let mut repl = master.raw();
    std::io::Write::write_all(&mut repl, b"SYNC\r\n").unwrap();
    // It reads nothing yet: the master holds at most the allowance (plus a chunk) of the file for it.
    common::wait_for("the file on its way", Duration::from_secs(20), || replica_omem(&mut m) >= 1 << 20);
    assert!(replica_omem(&mut m) <= 8 << 20, "omem {}", replica_omem(&mut m));
    // The transfer spans the replication cron's ticks (once a second): its keep-alive newlines, for replicas
    // waiting for their save, must not land inside a file already on its way.
    let now = common::server_time_ms(&mut m);
    common::wait_server_clock_past(&mut m, now + 2500);
    // Then it reads the whole file, and the stream after it.
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n") {
        repl.read_exact(&mut b).unwrap();
        if head.is_empty() && b[0] == b'\n' {
            continue;
        }
        head.push(b[0]);
    }
    let len: usize = String::from_utf8_lossy(&head[1..head.len() - 2]).parse().unwrap();
    assert!(len > 20_000_000, "{len}");
    let mut file = vec![0u8; len];
    repl.read_exact(&mut file).unwrap();
    assert!(file.starts_with(b"REDIS"));
    // Byte for byte the file the master saved.
    let conf: Vec<String> = cmd("CONFIG").arg("GET").arg("dir").query(&mut m).unwrap();
    let name: Vec<String> = cmd("CONFIG").arg("GET").arg("dbfilename").query(&mut m).unwrap();
    let saved = std::fs::read(std::path::Path::new(&conf[1]).join(&name[1])).unwrap();
    assert!(file == saved, "the replica got {} bytes that differ from the {}-byte file", file.len(), saved.len());
    let _: () = cmd("SET").arg("after").arg("1").query(&mut m).unwrap();
    let rest = read_stream(&mut repl, "after");
    assert!(rest.contains("$5\r\nafter\r\n"), "{rest:?}");
}

#[test]
fn a_restarted_replica_continues_from_its_rdb_history() {
    let master = TestServer::start();
    let mut m = master.conn();
    let port = master.addr().port();
    let dir = common::test_dir().to_string_lossy().into_owned();
    let d = dir.clone();
    let replica = TestServer::with_config(move |c| {
        c.dir = d;
        c.set_replicaof(Some(("127.0.0.1", port)));
    });
    let mut r = replica.conn();
    common::wait_for("the link up", Duration::from_secs(20), || {
        info_field(&mut r, "replication", "master_link_status") == "up"
    });
    let _: () = cmd("SELECT").arg(4).query(&mut m).unwrap();
    load_every_type(&mut m, "before");
    wait_synced(&mut m, &mut r);
    let _: String = cmd("SAVE").query(&mut r).unwrap();
    drop(r);
    drop(replica);
    // Writes while it is down come from the backlog once it is back; nothing is synced in full again.
    let _: () = cmd("SET").arg("while-down").arg("1").query(&mut m).unwrap();
    let d = dir.clone();
    let replica = TestServer::with_config(move |c| {
        c.dir = d;
        c.set_replicaof(Some(("127.0.0.1", port)));
        // A slow load: the link must wait for it (a PSYNC before would start a full sync for nothing).
        c.set("key-load-delay", "20000").unwrap();
    });
    let mut r = replica.conn();
    common::wait_for("a partial resync", Duration::from_secs(20), || {
        num_field(&mut m, "stats", "sync_partial_ok") == 1
            && info_field(&mut r, "replication", "master_link_status") == "up"
    });
    assert_eq!(num_field(&mut m, "stats", "sync_full"), 1);
    wait_synced(&mut m, &mut r);
}

#[test]
fn the_master_stream_is_applied_whatever_the_replicas_acl_and_masterauth_authenticates() {
    // The master wants a password; the replica gives it with masterauth and has its own.
    let master = TestServer::with_config(|c| c.requirepass = "m-secret".into());
    let replica = TestServer::with_config(|c| c.requirepass = "r-secret".into());
    let mut m = redis::Client::open(format!("redis://:m-secret@{}/", master.addr())).unwrap().get_connection().unwrap();
    let mut r =
        redis::Client::open(format!("redis://:r-secret@{}/", replica.addr())).unwrap().get_connection().unwrap();
    load_every_type(&mut m, "acl");
    let _: () = cmd("CONFIG").arg("SET").arg("masterauth").arg("m-secret").query(&mut r).unwrap();
    let _: String = cmd("REPLICAOF").arg("127.0.0.1").arg(master.addr().port()).query(&mut r).unwrap();
    common::wait_for("the authenticated sync", Duration::from_secs(20), || {
        info_field(&mut r, "replication", "master_link_status") == "up" && digest(&mut r) == digest(&mut m)
    });
    let _: () = cmd("SET").arg("after").arg("1").query(&mut m).unwrap();
    common::wait_for("the stream", Duration::from_secs(20), || digest(&mut r) == digest(&mut m));
    let list: String = cmd("CLIENT").arg("LIST").arg("TYPE").arg("master").query(&mut r).unwrap();
    assert!(list.contains("user=(superuser)"), "{list}");
}

#[test]
fn a_stale_replica_refuses_commands_and_transactions_with_masterdown() {
    let server = TestServer::start();
    let mut a = server.conn();
    let mut b = server.conn();
    let _: () = cmd("CONFIG").arg("SET").arg("replica-serve-stale-data").arg("no").query(&mut a).unwrap();
    let _: () = cmd("SET").arg("xx").arg("1").query(&mut a).unwrap();
    let _: () = cmd("MULTI").query(&mut a).unwrap();
    let _: () = cmd("GET").arg("xx").query(&mut a).unwrap();
    // A master that cannot be reached: the link stays down.
    let _: String = cmd("REPLICAOF").arg("localhsot").arg(0).query(&mut b).unwrap();
    let e = cmd("EXEC").query::<()>(&mut a).unwrap_err();
    assert_eq!(
        common::err_text(e),
        "EXECABORT Transaction discarded because of: MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."
    );
    let e = cmd("GET").arg("xx").query::<()>(&mut a).unwrap_err();
    assert!(common::err_text(e).starts_with("MASTERDOWN "));
    // INFO (flagged stale) still answers; REPLICAOF NO ONE ends it.
    assert_eq!(info_field(&mut a, "replication", "master_link_status"), "down");
    let _: String = cmd("REPLICAOF").arg("NO").arg("ONE").query(&mut b).unwrap();
    let v: String = cmd("GET").arg("xx").query(&mut a).unwrap();
    assert_eq!(v, "1");
}

#[test]
fn scripts_get_noreplicas_by_their_flags_or_at_their_first_write() {
    let server = TestServer::start();
    let mut c = server.conn();
    let _: () = cmd("SET").arg("x").arg("some value").query(&mut c).unwrap();
    let _: () = cmd("CONFIG").arg("SET").arg("min-replicas-to-write").arg(1).query(&mut c).unwrap();
    let read = |c: &mut redis::Connection, body: &str| cmd("EVAL").arg(body).arg(1).arg("x").query::<String>(c);
    // Declared read-only, or no flags and only reads: they run.
    assert_eq!(read(&mut c, "#!lua flags=no-writes\nreturn redis.call('get','x')").unwrap(), "some value");
    assert_eq!(read(&mut c, "return redis.call('get','x')").unwrap(), "some value");
    // A shebang without no-writes is a write script: refused before it runs.
    let e = read(&mut c, "#!lua\nreturn redis.call('get','x')").unwrap_err();
    assert!(common::err_text(e).starts_with("NOREPLICAS "));
    // No flags: refused at its first write.
    let e = read(&mut c, "return redis.call('set','x', 1)").unwrap_err();
    assert!(common::err_text(e).starts_with("NOREPLICAS "));
    let _: () = cmd("CONFIG").arg("SET").arg("min-replicas-to-write").arg(0).query(&mut c).unwrap();
    let _: () = cmd("FLUSHALL").query(&mut c).unwrap();
}

#[test]
fn replicas_in_a_full_sync_hold_the_stream_once_and_another_resyncs_partially_from_it() {
    // As the suite's replication-buffer unit: a replica waiting for its snapshot holds the stream since in
    // the backlog (once, however many wait), past repl-backlog-size; a replica that reconnects meanwhile
    // resyncs partially from it; a syncing replica is closed at the replica class's output limit.
    let master = TestServer::with_config(|c| {
        c.set("repl-backlog-size", "16384").expect("a known option");
        c.set("repl-diskless-sync-delay", "0").expect("a known option");
        c.set("client-output-buffer-limit", "replica 0 0 0").expect("a known option");
    });
    let mut m = master.conn();
    let port = master.addr().port();
    let a = TestServer::start();
    let mut ra = a.conn();
    let _: String = cmd("REPLICAOF").arg("127.0.0.1").arg(port).query(&mut ra).unwrap();
    wait_link_up(&mut ra);
    // B's snapshot takes a second per key: it waits for it all through the test.
    for i in 0..10 {
        let _: () = cmd("SET").arg(format!("key:{i}")).arg(i).query(&mut m).unwrap();
    }
    let _: () = cmd("CONFIG").arg("SET").arg("rdb-key-save-delay").arg(1_000_000).query(&mut m).unwrap();
    let b = TestServer::start();
    let mut rb = b.conn();
    let _: String = cmd("REPLICAOF").arg("127.0.0.1").arg(port).query(&mut rb).unwrap();
    common::wait_for("B waiting for its snapshot", Duration::from_secs(20), || {
        info_field(&mut m, "replication", "slave1").contains("state=wait_bgsave")
            && info_field(&mut m, "persistence", "rdb_bgsave_in_progress") == "1"
    });
    let value = "v".repeat(10_000);
    let write_mb = |m: &mut redis::Connection, tag: &str| {
        let mut p = redis::pipe();
        p.cmd("SELECT").arg(5).ignore();
        for i in 0..100 {
            p.cmd("SET").arg(format!("{tag}:{i}")).arg(&value).ignore();
        }
        let _: () = p.query(m).unwrap();
    };
    wait_synced(&mut m, &mut ra);
    write_mb(&mut m, "one");
    // The megabyte is held once for B, in the backlog, though the backlog's size is 16 KiB.
    assert!(num_field(&mut m, "replication", "repl_backlog_histlen") > 1_000_000);
    wait_synced(&mut m, &mut ra);
    let buffers = num_field(&mut m, "memory", "mem_total_replication_buffers");
    assert!((1_000_000..1_200_000).contains(&buffers), "mem_total_replication_buffers {buffers}");
    // Beyond the backlog's size it is the replicas' memory (mem_clients_slaves), and not counted for
    // maxmemory. (used_memory is this process's, which runs the replicas too: not comparable here.)
    let slaves = num_field(&mut m, "memory", "mem_clients_slaves");
    assert_eq!(slaves + num_field(&mut m, "memory", "mem_replication_backlog"), buffers);
    assert!(num_field(&mut m, "memory", "mem_not_counted_for_evict") >= slaves);
    // A leaves (its new master cannot serve it yet), the master writes more, A comes back: the backlog
    // still has its offset, and the stream goes on in the database it had selected.
    let _: String = cmd("REPLICAOF").arg("127.0.0.1").arg(b.addr().port()).query(&mut ra).unwrap();
    write_mb(&mut m, "two");
    let _: String = cmd("REPLICAOF").arg("127.0.0.1").arg(port).query(&mut ra).unwrap();
    wait_link_up(&mut ra);
    wait_synced(&mut m, &mut ra);
    assert_eq!(num_field(&mut m, "stats", "sync_partial_ok"), 1);
    assert_eq!(info_field(&mut ra, "keyspace", "db5"), info_field(&mut m, "keyspace", "db5"));
    assert_eq!(info_field(&mut ra, "keyspace", "db0"), info_field(&mut m, "keyspace", "db0"));
    // What B holds counts as its output buffer: past the limit it is closed, and the backlog lets go.
    let _: () =
        cmd("CONFIG").arg("SET").arg("client-output-buffer-limit").arg("replica 128kb 0 0").query(&mut m).unwrap();
    let _: () = cmd("CONFIG").arg("SET").arg("repl-backlog-ttl").arg(0).query(&mut m).unwrap();
    let _: () = cmd("SET").arg("nudge").arg(&value).query(&mut m).unwrap();
    common::wait_for("B closed and the backlog trimmed", Duration::from_secs(20), || {
        num_field(&mut m, "stats", "client_output_buffer_limit_disconnections") >= 1
            && num_field(&mut m, "replication", "repl_backlog_histlen") <= 16384
    });
    assert!(num_field(&mut m, "memory", "mem_total_replication_buffers") < 200_000);
}

/// `redis-cli --functions-rdb`: REPLCONF rdb-filter-only functions (with rdb-only 1) gets a file of the
/// function libraries and no keys, then the connection closes; "" filters out the libraries too; an unknown
/// filter and a replica without `capa eof` are refused with Redis's texts.
#[test]
fn a_filtered_sync_sends_the_functions_and_no_keys() {
    use std::io::Write;
    let srv = TestServer::start();
    let mut con = srv.conn();
    let lib = "#!lua name=filteredlib\nredis.register_function('filteredfn', function() return 1 end)";
    let _: String = cmd("FUNCTION").arg("LOAD").arg(lib).query(&mut con).unwrap();
    let _: () = cmd("SET").arg("secretkey").arg("v").query(&mut con).unwrap();
    let read_all = |s: &mut std::net::TcpStream| {
        let mut got = Vec::new();
        let _ = s.read_to_end(&mut got);
        String::from_utf8_lossy(&got).into_owned()
    };
    for (filter, with_functions) in [("functions", true), ("", false)] {
        let mut s = srv.raw();
        let req = format!(
            "REPLCONF capa eof\r\nREPLCONF rdb-only 1\r\n*3\r\n$8\r\nREPLCONF\r\n$15\r\nrdb-filter-only\r\n${}\r\n{filter}\r\nPSYNC ? -1\r\n",
            filter.len()
        );
        s.write_all(req.as_bytes()).unwrap();
        // The rdb-only replica is closed once the file is out: read to the end.
        let got = read_all(&mut s);
        assert!(got.starts_with("+OK\r\n+OK\r\n+OK\r\n+FULLRESYNC "), "{got:?}");
        assert!(got.contains("REDIS0010"), "{got:?}");
        assert_eq!(got.contains("#!lua name=filteredlib"), with_functions, "{got:?}");
        assert!(!got.contains("secretkey"), "{got:?}");
    }
    let mut s = srv.raw();
    s.write_all(b"REPLCONF rdb-filter-only keys\r\n").unwrap();
    let got = common::read_until(&mut s, b"\r\n");
    assert_eq!(got, b"-ERR Unsupported rdb-filter-only option: keys\r\n");
    s.write_all(b"REPLCONF rdb-filter-only functions\r\nSYNC\r\n").unwrap();
    let got = common::read_until(&mut s, b"capability\r\n");
    assert_eq!(got, b"+OK\r\n-ERR Filtered replica requires EOF capability\r\n");
}
