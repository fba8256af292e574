//! CLIENT PAUSE WRITE as the Redis 7.0 pause unit expects it: writes and may-replicate commands (PUBLISH,
//! PFCOUNT, scripts that may write, EXEC of a write) wait and count as blocked clients, are released in
//! order, read-only work goes on, and no key expires while the pause lasts.

mod common;

use common::{blocked_clients, fails, q, read_until, wait_for, TestServer};
use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

fn info_field(con: &mut redis::Connection, field: &str) -> i64 {
    let info: String = q(con, &["info"]);
    let prefix = format!("{field}:");
    info.lines().find_map(|l| l.strip_prefix(&prefix)).and_then(|v| v.trim().parse().ok()).unwrap()
}

/// Send a request on a raw socket without waiting for its reply (the suite's deferring client).
fn send(s: &mut TcpStream, inline: &str) {
    s.write_all(format!("{inline}\r\n").as_bytes()).unwrap();
}

#[test]
fn paused_writes_count_as_blocked_and_run_in_order() {
    let srv = TestServer::start();
    let mut admin = srv.conn();
    q::<i64>(&mut admin, &["pfadd", "hll", "a"]);
    // A transaction queued before the pause (queueing a write is held too, as in Redis).
    let mut tx = srv.raw();
    send(&mut tx, "MULTI");
    send(&mut tx, "INCR k");
    assert_eq!(read_until(&mut tx, b"QUEUED\r\n"), b"+OK\r\n+QUEUED\r\n");
    assert_eq!(q::<String>(&mut admin, &["client", "pause", "60000", "write"]), "OK");
    // Reads are not held.
    let mut reader = srv.raw();
    send(&mut reader, "GET foo");
    assert_eq!(read_until(&mut reader, b"\r\n"), b"$-1\r\n");
    let mut clients: Vec<TcpStream> = Vec::new();
    for (i, req) in
        ["SET k 1", "PFCOUNT hll", "PUBLISH ch msg", "EVAL \"return redis.call('incr','k')\" 0"].iter().enumerate()
    {
        let mut c = srv.raw();
        send(&mut c, req);
        clients.push(c);
        wait_for(&format!("{} paused clients", i + 1), Duration::from_secs(5), || blocked_clients(&mut admin) == i + 1);
    }
    // A transaction that writes waits as a whole at EXEC.
    send(&mut tx, "EXEC");
    wait_for("the EXEC to wait", Duration::from_secs(5), || blocked_clients(&mut admin) == 5);
    assert_eq!(q::<Option<String>>(&mut admin, &["get", "k"]), None);
    assert_eq!(q::<String>(&mut admin, &["client", "unpause"]), "OK");
    let replies: Vec<Vec<u8>> = clients.iter_mut().map(|c| read_until(c, b"\r\n")).collect();
    assert_eq!(replies, [&b"+OK\r\n"[..], b":1\r\n", b":0\r\n", b":2\r\n"]);
    assert_eq!(read_until(&mut tx, b"\r\n:3\r\n"), b"*1\r\n:3\r\n");
    assert_eq!(blocked_clients(&mut admin), 0);
}

#[test]
fn read_only_scripts_may_not_publish() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    let err = fails(&mut con, &["eval_ro", "return redis.call('publish','ch','msg')", "0"]);
    assert!(err.starts_with("ERR Write commands are not allowed from read-only scripts. script:"), "{err}");
    let err = fails(&mut con, &["eval", "#!lua flags=no-writes\nreturn redis.call('publish','ch','msg')", "0"]);
    assert!(err.starts_with("ERR Write commands are not allowed from read-only scripts. script:"), "{err}");
    assert_eq!(q::<i64>(&mut con, &["eval", "return redis.call('publish','ch','msg')", "0"]), 0);
}

#[test]
fn keys_do_not_expire_while_paused() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    let expired = info_field(&mut con, "expired_keys");
    // The pause, set inside the transaction, starts once it ends: both SETs run.
    redis::pipe()
        .atomic()
        .cmd("set")
        .arg("foo")
        .arg("bar")
        .arg("px")
        .arg(10)
        .cmd("set")
        .arg("bar")
        .arg("foo")
        .arg("px")
        .arg(10)
        .cmd("client")
        .arg("pause")
        .arg(50000)
        .arg("write")
        .query::<()>(&mut con)
        .unwrap();
    // Past their TTL they read as missing, yet neither active nor lazy expiry deletes them.
    wait_for("the keys to read as missing", Duration::from_secs(5), || {
        q::<Option<String>>(&mut con, &["get", "foo"]).is_none()
            && q::<Option<String>>(&mut con, &["get", "bar"]).is_none()
    });
    let dbsize = |con: &mut redis::Connection| q::<i64>(con, &["dbsize"]);
    assert_eq!(dbsize(&mut con), 2);
    assert_eq!(info_field(&mut con, "expired_keys"), expired);
    assert_eq!(q::<String>(&mut con, &["client", "unpause"]), "OK");
    // Their first access after the pause deletes them.
    assert_eq!(q::<Option<String>>(&mut con, &["get", "foo"]), None);
    assert_eq!(q::<Option<String>>(&mut con, &["get", "bar"]), None);
    assert_eq!(info_field(&mut con, "expired_keys"), expired + 2);
}
