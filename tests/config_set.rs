//! CONFIG SET as Redis 7.0's configSetCommand: several parameters are set all together or not at all, a
//! parameter given twice (or under its alias) is refused before anything is set, a side effect that cannot
//! be applied (a port that cannot be bound) leaves every parameter as it was, and `port` really moves the
//! listening socket.

mod common;

use common::{fails, q, wait_for, TestServer};
use std::collections::BTreeMap;
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

fn get(con: &mut redis::Connection, name: &str) -> String {
    let v: Vec<String> = q(con, &["config", "get", name]);
    v.get(1).cloned().unwrap_or_default()
}

#[test]
fn a_bad_value_sets_nothing() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    let before_mmc = get(&mut con, "maxmemory-clients");
    let before_qbl = get(&mut con, "client-query-buffer-limit");
    assert_eq!(q::<String>(&mut con, &["config", "set", "maxmemory", "10000002"]), "OK");
    assert_eq!(
        fails(
            &mut con,
            &[
                "config",
                "set",
                "maxmemory",
                "10000001",
                "maxmemory-clients",
                "200%",
                "client-query-buffer-limit",
                "invalid"
            ]
        ),
        "ERR CONFIG SET failed (possibly related to argument 'maxmemory-clients') - percentage argument must be less or equal to 100"
    );
    assert_eq!(get(&mut con, "maxmemory"), "10000002");
    assert_eq!(get(&mut con, "maxmemory-clients"), before_mmc);
    assert_eq!(get(&mut con, "client-query-buffer-limit"), before_qbl);
    // A value error names the option as the table has it: lower case, the alias when it was typed.
    assert_eq!(
        fails(&mut con, &["config", "set", "SLAVE-priority", "x"]),
        "ERR CONFIG SET failed (possibly related to argument 'slave-priority') - argument couldn't be parsed into an integer"
    );
    // Several good values all land.
    assert_eq!(q::<String>(&mut con, &["config", "set", "maxmemory", "10000001", "save", "3000 5"]), "OK");
    assert_eq!(get(&mut con, "maxmemory"), "10000001");
    assert_eq!(get(&mut con, "save"), "3000 5");
}

#[test]
fn names_are_checked_before_any_value() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    // Twice: refused (under the name as typed) even when the first value is bad.
    assert_eq!(
        fails(&mut con, &["config", "set", "maxmemory", "10000001", "maxmemory", "10000002"]),
        "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - duplicate parameter"
    );
    assert_eq!(
        fails(&mut con, &["config", "set", "maxmemory", "bad", "MAXMEMORY", "2"]),
        "ERR CONFIG SET failed (possibly related to argument 'MAXMEMORY') - duplicate parameter"
    );
    // An option and its alias are separate entries in Redis 7.0's table: no duplicate, the last one wins.
    assert_eq!(q::<String>(&mut con, &["config", "set", "replica-priority", "1", "slave-priority", "2"]), "OK");
    assert_eq!(get(&mut con, "replica-priority"), "2");
    assert_eq!(
        fails(&mut con, &["config", "set", "Daemonize", "yes"]),
        "ERR CONFIG SET failed (possibly related to argument 'Daemonize') - can't set immutable config"
    );
    assert_eq!(
        fails(&mut con, &["config", "set", "dir", "/tmp"]),
        "ERR CONFIG SET failed (possibly related to argument 'dir') - can't set protected config"
    );
    // The first bad name is the error; the names after it are not looked at.
    assert_eq!(
        fails(&mut con, &["config", "set", "maxmemory", "bad", "no-such", "1", "daemonize", "yes"]),
        "ERR Unknown option or number of arguments for CONFIG SET - 'no-such'"
    );
    assert_eq!(
        fails(&mut con, &["config", "set", "daemonize", "yes", "no-such", "1", "maxmemory", "1", "maxmemory", "2"]),
        "ERR CONFIG SET failed (possibly related to argument 'daemonize') - can't set immutable config"
    );
    assert_eq!(fails(&mut con, &["config", "set", "maxmemory", "1", "port"]), "ERR syntax error");
    assert_eq!(get(&mut con, "maxmemory"), "0");
}

#[test]
fn a_port_that_cannot_be_bound_rolls_everything_back() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let used = taken.local_addr().unwrap().port().to_string();
    let (mm, qbl) = (get(&mut con, "maxmemory"), get(&mut con, "client-query-buffer-limit"));
    assert_eq!(
        fails(
            &mut con,
            &["config", "set", "maxmemory", "10000001", "port", &used, "client-query-buffer-limit", "10m"]
        ),
        "ERR CONFIG SET failed (possibly related to argument 'port') - Unable to listen on this port. Check server logs."
    );
    assert_eq!(get(&mut con, "maxmemory"), mm);
    assert_eq!(get(&mut con, "client-query-buffer-limit"), qbl);
    assert_eq!(get(&mut con, "port"), "0");
    // Still listening where it was.
    let mut other = srv.conn();
    assert_eq!(q::<String>(&mut other, &["ping"]), "PONG");
}

#[test]
fn port_moves_the_listening_socket() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    let free = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = free.local_addr().unwrap().port();
    drop(free);
    assert_eq!(q::<String>(&mut con, &["config", "set", "port", &port.to_string()]), "OK");
    assert_eq!(get(&mut con, "port"), port.to_string());
    let info: String = q(&mut con, &["info", "server"]);
    assert!(info.contains(&format!("tcp_port:{port}\r\n")), "{info}");
    // The new socket listens already; the old one closes once the Listener has switched.
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap();
    let mut moved = client.get_connection().unwrap();
    assert_eq!(q::<String>(&mut moved, &["ping"]), "PONG");
    wait_for("the old port to close", Duration::from_secs(5), || TcpStream::connect(srv.addr()).is_err());
    // The connection made before the move is still served.
    assert_eq!(q::<String>(&mut con, &["ping"]), "PONG");
}

/// The suite's "CONFIG sanity": every parameter `CONFIG GET *` lists can be set to its own value and reads
/// back the same, except the immutable and file-bound ones the test skips (Redis's own list).
#[test]
fn every_listed_parameter_can_be_set_to_itself() {
    const SKIPPED: &[&str] = &[
        "rdbchecksum",
        "daemonize",
        "io-threads-do-reads",
        "tcp-backlog",
        "always-show-logo",
        "syslog-enabled",
        "cluster-enabled",
        "disable-thp",
        "aclfile",
        "unixsocket",
        "pidfile",
        "syslog-ident",
        "appendfilename",
        "appenddirname",
        "supervised",
        "syslog-facility",
        "databases",
        "io-threads",
        "logfile",
        "unixsocketperm",
        "replicaof",
        "slaveof",
        "requirepass",
        "server_cpulist",
        "bio_cpulist",
        "aof_rewrite_cpulist",
        "bgsave_cpulist",
        "set-proc-title",
        "cluster-config-file",
        "cluster-port",
        "oom-score-adj",
        "oom-score-adj-values",
        "enable-protected-configs",
        "enable-debug-command",
        "enable-module-command",
        "dbfilename",
        "dir",
        "socket-mark-id",
        // Skipped by the suite when it runs without TLS.
        "tls-prefer-server-ciphers",
        "tls-session-cache-timeout",
        "tls-session-cache-size",
        "tls-session-caching",
        "tls-cert-file",
        "tls-key-file",
        "tls-client-cert-file",
        "tls-client-key-file",
        "tls-dh-params-file",
        "tls-ca-cert-file",
        "tls-ca-cert-dir",
        "tls-protocols",
        "tls-ciphers",
        "tls-ciphersuites",
        "tls-port",
    ];
    let srv = TestServer::start();
    let mut con = srv.conn();
    let before: BTreeMap<String, String> = q(&mut con, &["config", "get", "*"]);
    assert!(before.len() > 150, "{}", before.len());
    for (k, v) in before.iter().filter(|(k, _)| !SKIPPED.contains(&k.as_str())) {
        let r: redis::RedisResult<String> = redis::cmd("config").arg("set").arg(k).arg(v).query(&mut con);
        assert_eq!(r.map_err(common::err_text).as_deref(), Ok("OK"), "config set {k} {v:?}");
    }
    let after: BTreeMap<String, String> = q(&mut con, &["config", "get", "*"]);
    assert_eq!(before, after);
}

/// A replica reads `masterauth` at every connection to its master, as Redis does: a password set (or
/// corrected) after REPLICAOF is used from the next attempt, binary bytes included.
#[test]
fn masterauth_changed_after_replicaof_is_used_at_the_next_connection() {
    let master = TestServer::start();
    let replica = TestServer::start();
    let mut m = master.conn();
    let mut r = replica.conn();
    let link_status = |r: &mut redis::Connection| {
        let info: String = q(r, &["info", "replication"]);
        info.lines().find_map(|l| l.strip_prefix("master_link_status:")).unwrap_or_default().trim().to_string()
    };
    assert_eq!(q::<String>(&mut m, &["config", "set", "requirepass", "abc\0def"]), "OK");
    let port = master.addr().port().to_string();
    assert_eq!(q::<String>(&mut r, &["replicaof", "127.0.0.1", &port]), "OK");
    assert_eq!(q::<String>(&mut r, &["config", "set", "masterauth", "abc"]), "OK");
    assert_eq!(link_status(&mut r), "down");
    assert_eq!(q::<String>(&mut r, &["config", "set", "masterauth", "abc\0def"]), "OK");
    wait_for("the link to come up", Duration::from_secs(20), || link_status(&mut r) == "up");
}
