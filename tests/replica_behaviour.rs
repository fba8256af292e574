//! What a replica does with its own clients' commands (writable replicas' keys with a TTL, expired keys on
//! writes, PFCOUNT's cache), what a master does with replicas that send commands, and the replica's link
//! states: each against in-process servers.
mod common;

use common::{digest, info_field, TestServer};
use redis::cmd;
use std::time::Duration;

/// Make `replica` replicate `master` and wait for the link.
fn link(master: &TestServer, r: &mut redis::Connection) {
    let _: String = cmd("REPLICAOF").arg("127.0.0.1").arg(master.addr().port()).query(r).unwrap();
    common::wait_link_up(r);
}

#[test]
fn a_writable_replica_expires_the_keys_its_clients_gave_a_ttl() {
    let master = TestServer::start();
    let replica = TestServer::start();
    let mut r = replica.conn();
    link(&master, &mut r);
    let _: () = cmd("CONFIG").arg("SET").arg("replica-read-only").arg("no").query(&mut r).unwrap();
    let _: () = cmd("SELECT").arg(5).query(&mut r).unwrap();
    let _: () = cmd("SET").arg("a").arg(1).arg("PX").arg(200).query(&mut r).unwrap();
    let _: () = cmd("SET").arg("b").arg(1).query(&mut r).unwrap();
    let _: () = cmd("PEXPIRE").arg("b").arg(200).query(&mut r).unwrap();
    // A key whose TTL is taken away again is not expired.
    let _: () = cmd("SET").arg("c").arg(1).arg("PX").arg(200).query(&mut r).unwrap();
    let _: () = cmd("PERSIST").arg("c").query(&mut r).unwrap();
    assert_eq!(cmd("DBSIZE").query::<i64>(&mut r).unwrap(), 3);
    // Nobody reads them: the replica's own cycle deletes them, as the master knows nothing of them.
    common::wait_for("the replica's own expiry", Duration::from_secs(10), || {
        cmd("DBSIZE").query::<i64>(&mut r).unwrap() == 1
    });
    assert_eq!(cmd("EXISTS").arg("c").query::<i64>(&mut r).unwrap(), 1);
}

/// A master whose keys expire only when read (its DELs come when the test asks), and its linked replica.
fn pair_without_master_expiry() -> (TestServer, TestServer, redis::Connection, redis::Connection) {
    let master = TestServer::start();
    let replica = TestServer::start();
    let mut m = master.conn();
    let mut r = replica.conn();
    link(&master, &mut r);
    let _: () = cmd("DEBUG").arg("SET-ACTIVE-EXPIRE").arg(0).query(&mut m).unwrap();
    (master, replica, m, r)
}

#[test]
fn a_writable_replica_deletes_an_expired_key_a_write_looks_up_and_hides_the_rest() {
    let (_master, _replica, mut m, mut r) = pair_without_master_expiry();
    let _: () = cmd("SET").arg("k1").arg(5).arg("PX").arg(10).query(&mut m).unwrap();
    let _: () = cmd("SET").arg("k2").arg(5).arg("PX").arg(10).query(&mut m).unwrap();
    common::wait_for("the keys replicated and past their TTL", Duration::from_secs(10), || {
        cmd("DBSIZE").query::<i64>(&mut r).unwrap() == 2
            && cmd("EXISTS").arg("k1").arg("k2").query::<i64>(&mut r).unwrap() == 0
    });
    let _: () = cmd("CONFIG").arg("SET").arg("replica-read-only").arg("no").query(&mut r).unwrap();
    assert_eq!(cmd("DBSIZE").query::<i64>(&mut r).unwrap(), 2);
    // INCR's lookup deletes k1 and creates it anew, without the old TTL.
    assert_eq!(cmd("INCR").arg("k1").query::<i64>(&mut r).unwrap(), 1);
    assert_eq!(cmd("TTL").arg("k1").query::<i64>(&mut r).unwrap(), -1);
    // A read only hides k2: it stays until the master's DEL.
    assert_eq!(cmd("GET").arg("k2").query::<Option<String>>(&mut r).unwrap(), None);
    assert_eq!(cmd("DBSIZE").query::<i64>(&mut r).unwrap(), 2);
}

#[test]
fn pfcount_on_a_read_only_replica_updates_the_cache_and_ignores_an_expired_key() {
    let (_master, _replica, mut m, mut r) = pair_without_master_expiry();
    let _: () = cmd("PFADD").arg("h").arg(&["a", "b", "c", "d", "e", "f", "g"]).query(&mut m).unwrap();
    let before: Vec<u8> = cmd("GET").arg("h").query(&mut m).unwrap();
    common::wait_for("the HLL on the replica", Duration::from_secs(10), || {
        cmd("GET").arg("h").query::<Option<Vec<u8>>>(&mut r).unwrap() == Some(before.clone())
    });
    assert_eq!(cmd("PFCOUNT").arg("h").query::<i64>(&mut r).unwrap(), 7);
    let after: Vec<u8> = cmd("GET").arg("h").query(&mut r).unwrap();
    assert_ne!(after, before, "the cached cardinality is written into the string");

    let _: () = cmd("PEXPIRE").arg("h").arg(10).query(&mut m).unwrap();
    common::wait_for("the key past its TTL on the replica", Duration::from_secs(10), || {
        cmd("EXISTS").arg("h").query::<i64>(&mut r).unwrap() == 0
    });
    assert_eq!(cmd("PFCOUNT").arg("h").query::<i64>(&mut r).unwrap(), 0);
    assert_eq!(cmd("DBSIZE").query::<i64>(&mut r).unwrap(), 1);
}

/// Send `cmds` on a fresh connection to `port` (after each one but the last, wait for `wait_for` if it is
/// given), then read until the server closes it; returns all it sent.
fn send_and_read_to_close(port: u16, cmds: &[&[u8]], wait_for: Option<&[u8]>) -> Vec<u8> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut got = Vec::new();
    for (i, c) in cmds.iter().enumerate() {
        s.write_all(c).unwrap();
        if let (Some(w), true) = (wait_for, i + 1 < cmds.len()) {
            got.extend(common::read_until(&mut s, w));
        }
    }
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return got,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => panic!("the replica was not disconnected: {e}"),
        }
    }
}

#[test]
fn a_replica_whose_command_gets_a_reply_is_disconnected_with_redis_log_lines() {
    let srv = common::child::start_child("replica-reply", None, &[]);
    let log = || common::child::read_log(&srv.log);
    // SYNC then a command with a reply: the link carries the stream only, so the replica is closed.
    let got = send_and_read_to_close(srv.port, &[b"SYNC\r\n", b"PING\r\n"], None);
    assert!(!String::from_utf8_lossy(&got).contains("PONG"), "the reply is not sent");
    common::child::wait_secs(10, "the log line", || {
        log().contains("Replica generated a reply to command 'ping', disconnecting it: id=")
    });
    // A subcommand is named with its container.
    send_and_read_to_close(srv.port, &[b"SYNC\r\n", b"XINFO HELP\r\n"], None);
    common::child::wait_secs(10, "the log line", || {
        log().contains("Replica generated a reply to command 'xinfo|help'")
    });
    // A keyspace command is refused, and the refusal is a reply too.
    let got = send_and_read_to_close(srv.port, &[b"PSYNC replicationid -1\r\n", b"GET foo\r\n"], Some(b"\r\n"));
    assert!(String::from_utf8_lossy(&got).starts_with("+FULLRESYNC"));
    common::child::wait_secs(10, "the log lines", || {
        let l = log();
        l.contains("Replica generated a reply to command 'get', disconnecting it: ")
            && l.contains("== CRITICAL == This master is sending an error to its replica: 'Replica can't interact with the keyspace' after processing the command 'get'")
    });
    // The server goes on serving others.
    let mut c = redis::Client::open(format!("redis://127.0.0.1:{}/", srv.port)).unwrap().get_connection().unwrap();
    assert_eq!(cmd("PING").query::<String>(&mut c).unwrap(), "PONG");
    common::wait_for("the replicas gone", Duration::from_secs(10), || {
        info_field(&mut c, "replication", "connected_slaves") == "0"
    });
}

/// A master that answers the handshake up to PSYNC and then stays silent: accepts connections on its own
/// thread, and counts them.
fn silent_master() -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = accepted.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut s) = conn else { return };
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = s.read(&mut buf) {
                    if n == 0 {
                        return;
                    }
                    let got = String::from_utf8_lossy(&buf[..n]).to_ascii_uppercase();
                    let reply: &[u8] = if got.contains("PING") {
                        b"+PONG\r\n"
                    } else if got.contains("REPLCONF") {
                        b"+OK\r\n"
                    } else {
                        // PSYNC: no reply, no newlines.
                        continue;
                    };
                    if s.write_all(reply).is_err() {
                        return;
                    }
                }
            });
        }
    });
    (port, accepted)
}

#[test]
fn role_shows_the_handshake_and_repl_timeout_ends_a_silent_one_with_redis_log_line() {
    let (port, accepted) = silent_master();
    let srv = common::child::start_child("handshake", None, &["--repl-timeout", "2"]);
    let mut c = redis::Client::open(format!("redis://127.0.0.1:{}/", srv.port)).unwrap().get_connection().unwrap();
    let _: String = cmd("REPLICAOF").arg("127.0.0.1").arg(port).query(&mut c).unwrap();
    common::wait_for("the handshake state", Duration::from_secs(10), || {
        let role: Vec<redis::Value> = cmd("ROLE").query(&mut c).unwrap();
        role[3] == redis::Value::BulkString(b"handshake".to_vec())
    });
    let role: Vec<redis::Value> = cmd("ROLE").query(&mut c).unwrap();
    assert_eq!(role[4], redis::Value::Int(-1));
    assert_eq!(info_field(&mut c, "replication", "master_link_status"), "down");
    assert_eq!(info_field(&mut c, "replication", "master_sync_in_progress"), "0");
    // Two seconds without a byte: the replica gives up with Redis's line and connects again.
    common::child::wait_secs(10, "the timeout line", || {
        common::child::read_log(&srv.log).contains("# Timeout connecting to the MASTER...")
    });
    common::child::wait_secs(10, "a new connection", || accepted.load(std::sync::atomic::Ordering::SeqCst) >= 2);
}

#[test]
fn a_replica_paused_for_writes_reads_the_stream_but_applies_it_after_unpause() {
    let master = TestServer::start();
    let replica = TestServer::start();
    let mut m = master.conn();
    let mut r = replica.conn();
    link(&master, &mut r);
    let _: () = cmd("SET").arg("foo").arg("bar").query(&mut m).unwrap();
    let applied = info_field(&mut m, "replication", "master_repl_offset");
    common::wait_for("the replica at the offset", Duration::from_secs(10), || {
        info_field(&mut r, "replication", "slave_repl_offset") == applied
    });
    let _: () = cmd("CLIENT").arg("PAUSE").arg(100_000).arg("WRITE").query(&mut r).unwrap();
    let _: () = cmd("SET").arg("foo2").arg("bar2").query(&mut m).unwrap();
    let end = info_field(&mut m, "replication", "master_repl_offset");
    common::wait_for("the write read by the replica", Duration::from_secs(10), || {
        info_field(&mut r, "replication", "slave_read_repl_offset") == end
    });
    assert_eq!(info_field(&mut r, "replication", "slave_repl_offset"), applied);
    assert_eq!(cmd("GET").arg("foo2").query::<Option<String>>(&mut r).unwrap(), None);
    let _: () = cmd("CLIENT").arg("UNPAUSE").query(&mut r).unwrap();
    common::wait_for("the write applied", Duration::from_secs(10), || {
        info_field(&mut r, "replication", "slave_repl_offset") == end
    });
    assert_eq!(cmd("GET").arg("foo2").query::<Option<String>>(&mut r).unwrap().as_deref(), Some("bar2"));
}

fn role_name(con: &mut redis::Connection) -> String {
    let role: Vec<redis::Value> = cmd("ROLE").query(con).unwrap();
    match &role[0] {
        redis::Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        other => panic!("ROLE {other:?}"),
    }
}

#[test]
fn failover_hands_over_to_the_named_replica_which_resyncs_partially() {
    let (a, b, c) = (TestServer::start(), TestServer::start(), TestServer::start());
    let (mut ma, mut mb, mut mc) = (a.conn(), b.conn(), c.conn());
    assert_eq!(
        common::fails(&mut ma, &["FAILOVER", "TO", "127.0.0.1", &b.addr().port().to_string()]),
        "ERR FAILOVER requires connected replicas."
    );
    // (DEBUG POPULATE is not propagated: the replicas get its keys by their full sync.)
    let _: () = cmd("DEBUG").arg("POPULATE").arg(500).query(&mut ma).unwrap();
    link(&a, &mut mb);
    link(&a, &mut mc);
    let _: () = cmd("SET").arg("k").arg("v").query(&mut ma).unwrap();
    let b_port = b.addr().port().to_string();
    // Redis's refusals.
    assert_eq!(
        common::fails(&mut ma, &["FAILOVER", "TO", "nohost", &b_port]),
        "ERR FAILOVER target HOST and PORT is not a replica."
    );
    assert_eq!(
        common::fails(&mut ma, &["FAILOVER", "TO", "127.0.0.1", "port"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        common::fails(&mut ma, &["FAILOVER", "FORCE", "TIMEOUT", "100"]),
        "ERR FAILOVER with force option requires both a timeout and target HOST and IP."
    );
    assert_eq!(common::fails(&mut ma, &["FAILOVER", "TIMEOUT", "0"]), "ERR FAILOVER timeout must be greater than 0");
    assert_eq!(common::fails(&mut ma, &["FAILOVER", "ABORT"]), "ERR No failover in progress.");
    assert_eq!(common::fails(&mut ma, &["FAILOVER", "BOGUS"]), "ERR syntax error");
    assert_eq!(
        common::fails(&mut mb, &["FAILOVER", "TO", "127.0.0.1", &b_port]),
        "ERR FAILOVER is not valid when server is a replica."
    );
    assert_eq!(
        common::fails(&mut ma, &["PSYNC", "x", "1", "FAILOVER"]),
        "ERR PSYNC FAILOVER can't be sent to a master."
    );
    assert_eq!(info_field(&mut ma, "replication", "master_failover_state"), "no-failover");

    let partial_before: i64 = info_field(&mut mb, "stats", "sync_partial_ok").parse().unwrap();
    let _: () = cmd("FAILOVER").arg("TO").arg("127.0.0.1").arg(b.addr().port()).query(&mut ma).unwrap();
    common::wait_for("the failover to end", Duration::from_secs(20), || {
        info_field(&mut ma, "replication", "master_failover_state") == "no-failover"
    });
    assert_eq!(role_name(&mut ma), "slave");
    assert_eq!(role_name(&mut mb), "master");
    assert_eq!(info_field(&mut ma, "replication", "master_port"), b_port);
    // The old master continued its history from the new one: a partial resync, no full one.
    assert_eq!(info_field(&mut mb, "stats", "sync_partial_ok").parse::<i64>().unwrap(), partial_before + 1);
    assert_eq!(info_field(&mut mb, "stats", "sync_full"), "0");
    // Writes go to the new master and reach the old one.
    let e = cmd("SET").arg("x").arg("1").query::<()>(&mut ma).unwrap_err();
    assert_eq!(common::err_text(e), "READONLY You can't write against a read only replica.");
    let _: () = cmd("SET").arg("after").arg("1").query(&mut mb).unwrap();
    common::wait_for("the new master's write on the old one", Duration::from_secs(10), || {
        cmd("EXISTS").arg("after").query::<i64>(&mut ma).unwrap() == 1
    });
    let _: String = cmd("REPLICAOF").arg("127.0.0.1").arg(b.addr().port()).query(&mut mc).unwrap();
    common::wait_for("all three equal", Duration::from_secs(20), || {
        let d = digest(&mut mb);
        digest(&mut ma) == d && digest(&mut mc) == d
    });
}

/// A replica that syncs and never acknowledges anything: a failover to it waits.
fn mute_replica(master: &TestServer, port: u16) -> std::net::TcpStream {
    use std::io::Write;
    let mut s = master.raw();
    s.write_all(format!("REPLCONF listening-port {port}\r\n").as_bytes()).unwrap();
    common::read_until(&mut s, b"\r\n");
    s.write_all(b"PSYNC ? -1\r\n").unwrap();
    common::read_until(&mut s, b"+FULLRESYNC");
    s
}

#[test]
fn a_failover_pauses_writes_until_aborted_or_timed_out() {
    let master = TestServer::start();
    let mut m = master.conn();
    let _mute = mute_replica(&master, 6999);
    common::wait_for("the mute replica online", Duration::from_secs(10), || {
        info_field(&mut m, "replication", "slave0").contains("state=online")
    });
    let _: () = cmd("SET").arg("k").arg("1").query(&mut m).unwrap();
    let _: () = cmd("FAILOVER").arg("TO").arg("127.0.0.1").arg(6999).arg("TIMEOUT").arg(60_000).query(&mut m).unwrap();
    assert_eq!(info_field(&mut m, "replication", "master_failover_state"), "waiting-for-sync");
    assert_eq!(common::fails(&mut m, &["FAILOVER"]), "ERR FAILOVER already in progress.");
    assert_eq!(
        common::fails(&mut m, &["REPLICAOF", "127.0.0.1", "1"]),
        "ERR REPLICAOF not allowed while failing over."
    );
    // Reads go on; a write waits for the failover to end.
    assert_eq!(cmd("GET").arg("k").query::<String>(&mut m).unwrap(), "1");
    let addr = master.addr();
    let writer = std::thread::spawn(move || {
        let mut w = redis::Client::open(format!("redis://{addr}/")).unwrap().get_connection().unwrap();
        cmd("INCR").arg("k").query::<i64>(&mut w).unwrap()
    });
    common::wait_for("the write paused", Duration::from_secs(10), || {
        info_field(&mut m, "clients", "blocked_clients") == "1"
    });
    // CLIENT UNPAUSE ends CLIENT PAUSE's pause only.
    let _: () = cmd("CLIENT").arg("UNPAUSE").query(&mut m).unwrap();
    assert_eq!(info_field(&mut m, "clients", "blocked_clients"), "1");
    let _: () = cmd("FAILOVER").arg("ABORT").query(&mut m).unwrap();
    assert_eq!(info_field(&mut m, "replication", "master_failover_state"), "no-failover");
    assert_eq!(writer.join().unwrap(), 2);
    assert_eq!(role_name(&mut m), "master");

    // Without FORCE a timeout gives up too.
    let _: () = cmd("FAILOVER").arg("TO").arg("127.0.0.1").arg(6999).arg("TIMEOUT").arg(200).query(&mut m).unwrap();
    common::wait_for("the timeout", Duration::from_secs(10), || {
        info_field(&mut m, "replication", "master_failover_state") == "no-failover"
    });
    assert_eq!(role_name(&mut m), "master");
    let _: () = cmd("SET").arg("k").arg("3").query(&mut m).unwrap();
}

#[test]
fn a_failover_the_target_refuses_is_aborted_and_the_replicas_resync_partially() {
    let (a, b, c) = (TestServer::start(), TestServer::start(), TestServer::start());
    let (mut ma, mut mb, mut mc) = (a.conn(), b.conn(), c.conn());
    link(&a, &mut mb);
    link(&a, &mut mc);
    let _: () = cmd("SET").arg("k").arg("v").query(&mut ma).unwrap();
    let _: () = cmd("ACL").arg("SETUSER").arg("default").arg("-psync").query(&mut mb).unwrap();
    let old_id = info_field(&mut ma, "replication", "master_replid");
    let partial_before: i64 = info_field(&mut ma, "stats", "sync_partial_ok").parse().unwrap();
    let _: () = cmd("FAILOVER").arg("TO").arg("127.0.0.1").arg(b.addr().port()).query(&mut ma).unwrap();
    common::wait_for("the failover to end", Duration::from_secs(20), || {
        info_field(&mut ma, "replication", "master_failover_state") == "no-failover"
    });
    assert_eq!(role_name(&mut ma), "master");
    // A new history, the old one kept as the second: both replicas continue partially.
    assert_ne!(info_field(&mut ma, "replication", "master_replid"), old_id);
    assert_eq!(info_field(&mut ma, "replication", "master_replid2"), old_id);
    let _: () = cmd("ACL").arg("SETUSER").arg("default").arg("+psync").query(&mut mb).unwrap();
    common::wait_for("both replicas back", Duration::from_secs(20), || {
        info_field(&mut ma, "stats", "sync_partial_ok").parse::<i64>().unwrap() == partial_before + 2
            && info_field(&mut ma, "replication", "connected_slaves") == "2"
    });
    assert_eq!(info_field(&mut ma, "stats", "sync_full"), "2");
    let _: () = cmd("SET").arg("k2").arg("v").query(&mut ma).unwrap();
    common::wait_for("all three equal", Duration::from_secs(20), || {
        let d = digest(&mut ma);
        digest(&mut mb) == d && digest(&mut mc) == d
    });
}

/// On a replica whose link is down with replica-serve-stale-data no, a function runs only if it declared
/// allow-stale, and then only commands flagged stale run inside it (the suite's "FUNCTION - allow stale").
#[test]
fn stale_replicas_run_only_allow_stale_functions_and_stale_commands() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    let lib = "#!lua name=stale\n\
        redis.register_function{function_name='f1', callback=function() return 'hello' end, flags={'no-writes'}}\n\
        redis.register_function{function_name='f2', callback=function() return 'hello' end, flags={'allow-stale', 'no-writes'}}\n\
        redis.register_function{function_name='f3', callback=function() return redis.call('get', 'x') end, flags={'allow-stale', 'no-writes'}}\n\
        redis.register_function{function_name='f4', callback=function() return redis.call('info', 'server') end, flags={'allow-stale', 'no-writes'}}";
    let _: String = cmd("FUNCTION").arg("LOAD").arg(lib).query(&mut con).unwrap();
    let _: () = cmd("CONFIG").arg("SET").arg("replica-serve-stale-data").arg("no").query(&mut con).unwrap();
    // Nothing listens on port 1: the link stays down.
    let _: String = cmd("REPLICAOF").arg("127.0.0.1").arg(1).query(&mut con).unwrap();
    let fcall = |con: &mut redis::Connection, f: &str| cmd("FCALL").arg(f).arg(0).query::<String>(con);
    let e = common::err_text(fcall(&mut con, "f1").unwrap_err());
    assert!(e.starts_with("MASTERDOWN "), "{e}");
    assert_eq!(fcall(&mut con, "f2").unwrap(), "hello");
    let e = common::err_text(fcall(&mut con, "f3").unwrap_err());
    assert!(e.contains("Can not execute the command on a stale replica"), "{e}");
    assert!(fcall(&mut con, "f4").unwrap().contains("redis_version"));
    // EVAL is flagged stale, but a script without a shebang does not run at all (the suite's "allow-stale
    // shebang flag"); one declaring allow-stale does.
    let eval = |con: &mut redis::Connection, body: &str| cmd("EVAL").arg(body).arg(0).query::<i64>(con);
    let e = common::err_text(eval(&mut con, "return 1").unwrap_err());
    assert_eq!(e, "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.");
    assert_eq!(eval(&mut con, "#!lua flags=allow-stale,no-writes\nreturn 1").unwrap(), 1);
    let _: String = cmd("REPLICAOF").arg("NO").arg("ONE").query(&mut con).unwrap();
    assert_eq!(fcall(&mut con, "f1").unwrap(), "hello");
    assert_eq!(eval(&mut con, "return 1").unwrap(), 1);
}
