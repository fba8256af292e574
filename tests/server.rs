//! Connection and server commands through the `redis` crate against an in-process server.

mod common;

use common::{wait_for, TestServer};
use redis::{cmd, Value};

#[test]
fn ping_echo_select_client() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    assert_eq!(cmd("PING").query::<String>(&mut con).unwrap(), "PONG");
    assert_eq!(cmd("ECHO").arg("hi").query::<String>(&mut con).unwrap(), "hi");
    assert_eq!(cmd("SELECT").arg(5).query::<String>(&mut con).unwrap(), "OK");
    let err = cmd("SELECT").arg(99).query::<String>(&mut con).unwrap_err();
    assert!(err.to_string().contains("DB index is out of range"), "{err}");
    assert_eq!(cmd("CLIENT").arg("SETNAME").arg("me").query::<String>(&mut con).unwrap(), "OK");
    assert_eq!(cmd("CLIENT").arg("GETNAME").query::<String>(&mut con).unwrap(), "me");
    let list: String = cmd("CLIENT").arg("LIST").query(&mut con).unwrap();
    assert!(list.contains("name=me") && list.contains("db=5") && list.contains("cmd=client|list"), "{list}");
    let id: i64 = cmd("CLIENT").arg("ID").query(&mut con).unwrap();
    assert!(id > 0);
}

#[test]
fn client_kill_disconnects_another_client() {
    let srv = TestServer::start();
    let mut a = srv.conn();
    let mut b = srv.conn();
    let bid: i64 = cmd("CLIENT").arg("ID").query(&mut b).unwrap();
    let n: i64 = cmd("CLIENT").arg("KILL").arg("ID").arg(bid).query(&mut a).unwrap();
    assert_eq!(n, 1);
    assert!(cmd("PING").query::<String>(&mut b).is_err());
}

#[test]
fn auth_with_requirepass() {
    let srv = TestServer::with_config(|c| c.requirepass = "secret".into());
    let mut con = srv.conn();
    let err = cmd("PING").query::<String>(&mut con).unwrap_err();
    assert!(err.to_string().contains("Authentication required"), "{err}");
    assert!(cmd("AUTH").arg("nope").query::<String>(&mut con).is_err());
    assert_eq!(cmd("AUTH").arg("secret").query::<String>(&mut con).unwrap(), "OK");
    assert_eq!(cmd("PING").query::<String>(&mut con).unwrap(), "PONG");
}

#[test]
fn info_config_command() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    let info: String = cmd("INFO").query(&mut con).unwrap();
    for f in ["redis_version:", "connected_clients:1", "used_memory:", "total_commands_processed:"] {
        assert!(info.contains(f), "missing {f}");
    }
    let used: u64 =
        info.lines().find_map(|l| l.strip_prefix("used_memory:")).and_then(|v| v.trim().parse().ok()).unwrap();
    assert!(used > 0, "the counting allocator reports memory");
    let count: i64 = cmd("COMMAND").arg("COUNT").query(&mut con).unwrap();
    assert!(count > 10);
    let v: Value = cmd("COMMAND").arg("INFO").arg("echo").query(&mut con).unwrap();
    match v {
        Value::Array(items) => assert_eq!(items.len(), 1),
        other => panic!("{other:?}"),
    }
    let t: Vec<String> = cmd("TIME").query(&mut con).unwrap();
    assert_eq!(t.len(), 2);
}

#[test]
fn shutdown_closes_the_connection() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    assert!(cmd("SHUTDOWN").arg("NOSAVE").query::<Value>(&mut con).is_err());
}

#[test]
fn client_reply_off_skip() {
    let srv = TestServer::start();
    let mut s = srv.raw();
    let want = b"$1\r\nc\r\n";
    let got = common::roundtrip(&mut s, b"CLIENT REPLY OFF\r\nECHO a\r\nCLIENT REPLY SKIP\r\nCLIENT REPLY ON\r\n", 5);
    assert_eq!(got, b"+OK\r\n");
    let got = common::roundtrip(&mut s, b"CLIENT REPLY SKIP\r\nECHO b\r\nECHO c\r\n", want.len());
    assert_eq!(got, want);
}

#[test]
fn client_pause_write_holds_writes_not_reads() {
    let srv = TestServer::start();
    let mut admin = srv.conn();
    let mut other = srv.conn();
    assert_eq!(cmd("SET").arg("k").arg("1").query::<String>(&mut other).unwrap(), "OK");
    assert_eq!(cmd("CLIENT").arg("PAUSE").arg(400).arg("WRITE").query::<String>(&mut admin).unwrap(), "OK");
    let t = std::time::Instant::now();
    assert_eq!(cmd("GET").arg("k").query::<String>(&mut other).unwrap(), "1");
    assert!(t.elapsed() < std::time::Duration::from_millis(200), "reads are not paused");
    assert_eq!(cmd("SET").arg("k").arg("2").query::<String>(&mut other).unwrap(), "OK");
    assert!(t.elapsed() >= std::time::Duration::from_millis(350), "writes wait for the pause: {:?}", t.elapsed());
    assert_eq!(cmd("GET").arg("k").query::<String>(&mut other).unwrap(), "2");
}

#[test]
fn client_unpause_releases_waiting_clients_at_once() {
    let srv = TestServer::start();
    let mut admin = srv.conn();
    let addr = srv.addr();
    // PAUSE ALL would hold UNPAUSE too (as in Redis): pause writes only.
    assert_eq!(cmd("CLIENT").arg("PAUSE").arg(5000).arg("WRITE").query::<String>(&mut admin).unwrap(), "OK");
    let mut c = redis::Client::open(format!("redis://{addr}/")).unwrap().get_connection().unwrap();
    let id: i64 = cmd("CLIENT").arg("ID").query(&mut c).unwrap();
    let t = std::time::Instant::now();
    let h = std::thread::spawn(move || cmd("SET").arg("k").arg("v").query::<String>(&mut c).unwrap());
    // The SET has reached the server and waits: it sits unprocessed in the client's query buffer.
    let set_len = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n".len();
    wait_for("the SET to wait for the pause", std::time::Duration::from_secs(5), || {
        let info: String = cmd("CLIENT").arg("LIST").arg("ID").arg(id).query(&mut admin).unwrap();
        info.contains(&format!(" qbuf={set_len} "))
    });
    assert_eq!(cmd("CLIENT").arg("UNPAUSE").query::<String>(&mut admin).unwrap(), "OK");
    assert_eq!(h.join().unwrap(), "OK");
    assert!(t.elapsed() < std::time::Duration::from_millis(2000));
}
