//! What a replica does with its own clients' commands (writable replicas' keys with a TTL, expired keys on
//! writes, PFCOUNT's cache), what a master does with replicas that send commands, and the replica's link
//! states: each against in-process servers.
mod common;

use common::TestServer;
use redis::cmd;
use std::time::Duration;

fn info_field(con: &mut redis::Connection, section: &str, field: &str) -> String {
    let info: String = cmd("INFO").arg(section).query(con).unwrap();
    info.lines().find_map(|l| l.strip_prefix(&format!("{field}:"))).unwrap_or("").to_string()
}

/// Make `replica` replicate `master` and wait for the link.
fn link(master: &TestServer, r: &mut redis::Connection) {
    let _: String = cmd("REPLICAOF").arg("127.0.0.1").arg(master.addr().port()).query(r).unwrap();
    common::wait_for("the link", Duration::from_secs(20), || {
        info_field(r, "replication", "master_link_status") == "up"
    });
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

#[test]
fn a_writable_replica_deletes_an_expired_key_a_write_looks_up_and_hides_the_rest() {
    let master = TestServer::start();
    let replica = TestServer::start();
    let mut m = master.conn();
    let mut r = replica.conn();
    link(&master, &mut r);
    let _: () = cmd("DEBUG").arg("SET-ACTIVE-EXPIRE").arg(0).query(&mut m).unwrap();
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
    let master = TestServer::start();
    let replica = TestServer::start();
    let mut m = master.conn();
    let mut r = replica.conn();
    link(&master, &mut r);
    let _: () = cmd("DEBUG").arg("SET-ACTIVE-EXPIRE").arg(0).query(&mut m).unwrap();
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
