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

/// A PING on a fresh connection to `addr`: its reply line, or None when nothing listens there.
fn ping_at(addr: &str) -> Option<String> {
    use std::io::{BufRead, BufReader, Write};
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"PING\r\n").ok()?;
    let mut line = String::new();
    BufReader::new(s).read_line(&mut line).ok()?;
    Some(line.trim_end().to_string())
}

#[test]
fn bind_moves_the_listening_sockets() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    let port = srv.addr().port();
    let (one, two) = (format!("127.0.0.1:{port}"), format!("127.0.0.2:{port}"));
    assert_eq!(ping_at(&two), None);
    // The address both lists share keeps its socket (binding it again would fail: it is in use).
    assert_eq!(q::<String>(&mut con, &["config", "set", "bind", "127.0.0.2 127.0.0.1"]), "OK");
    assert_eq!(get(&mut con, "bind"), "127.0.0.2 127.0.0.1");
    assert_eq!(ping_at(&two).as_deref(), Some("+PONG"));
    assert_eq!(ping_at(&one).as_deref(), Some("+PONG"));
    assert_eq!(q::<String>(&mut con, &["config", "set", "bind", "127.0.0.2"]), "OK");
    wait_for("127.0.0.1 to stop listening", Duration::from_secs(5), || ping_at(&one).is_none());
    assert_eq!(ping_at(&two).as_deref(), Some("+PONG"));
    // The connection made before the moves is still served.
    assert_eq!(q::<String>(&mut con, &["ping"]), "PONG");
    let info: String = q(&mut con, &["info", "server"]);
    assert!(info.contains(&format!("tcp_port:{port}\r\n")), "{info}");

    // An address that cannot be bound (another socket has it): nothing changes, the old sockets go on.
    let _taken = TcpListener::bind(format!("127.0.0.3:{port}")).unwrap();
    assert_eq!(
        fails(&mut con, &["config", "set", "maxmemory", "12345", "bind", "127.0.0.1 127.0.0.3"]),
        "ERR CONFIG SET failed (possibly related to argument 'bind') - Failed to bind to specified addresses."
    );
    assert_eq!(get(&mut con, "bind"), "127.0.0.2");
    assert_eq!(get(&mut con, "maxmemory"), "0");
    assert_eq!(ping_at(&two).as_deref(), Some("+PONG"));
    assert_eq!(ping_at(&one), None);
    // An address listed twice fails on its second binding, as in Redis.
    assert!(fails(&mut con, &["config", "set", "bind", "127.0.0.2 127.0.0.2"])
        .ends_with("Failed to bind to specified addresses."));
    assert_eq!(ping_at(&two).as_deref(), Some("+PONG"));

    // No address at all: nothing listens until a bind list comes back, on the same port.
    assert_eq!(q::<String>(&mut con, &["config", "set", "bind", ""]), "OK");
    wait_for("127.0.0.2 to stop listening", Duration::from_secs(5), || ping_at(&two).is_none());
    assert_eq!(q::<String>(&mut con, &["config", "set", "bind", "127.0.0.2"]), "OK");
    assert_eq!(ping_at(&two).as_deref(), Some("+PONG"));

    // bind and port together are one rebinding, on the new port.
    let free = TcpListener::bind("127.0.0.1:0").unwrap();
    let new_port = free.local_addr().unwrap().port();
    drop(free);
    assert_eq!(q::<String>(&mut con, &["config", "set", "bind", "127.0.0.1", "port", &new_port.to_string()]), "OK");
    assert_eq!(ping_at(&format!("127.0.0.1:{new_port}")).as_deref(), Some("+PONG"));
    wait_for("the old socket to close", Duration::from_secs(5), || ping_at(&two).is_none());
}

/// This host's address on the interface of its default route, if it has one that is not loopback.
fn non_loopback_ip() -> Option<std::net::IpAddr> {
    let s = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    s.connect("192.0.2.123:9").ok()?;
    let ip = s.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

/// Redis 7.0's protected mode: with `protected-mode yes` and no password for the default user, clients from
/// other hosts are answered DENIED whatever `bind` says; loopback clients are served. It follows CONFIG SET
/// protected-mode and the default user's password.
#[test]
fn protected_mode_refuses_remote_clients_without_a_password() {
    let srv = TestServer::with_config(|c| {
        c.bind = vec!["*".into()];
        c.protected_mode = true;
    });
    let mut con = srv.conn();
    let port = srv.addr().port();
    assert_eq!(ping_at(&format!("127.0.0.1:{port}")).as_deref(), Some("+PONG"));
    let Some(ip) = non_loopback_ip() else {
        eprintln!("no non-loopback address on this host: the remote half is not checked");
        return;
    };
    let remote = std::net::SocketAddr::new(ip, port).to_string();
    let denied = ping_at(&remote).unwrap();
    assert!(
        denied.starts_with("-DENIED Redis is running in protected mode because protected mode is enabled"),
        "{denied}"
    );
    assert_eq!(q::<String>(&mut con, &["config", "set", "protected-mode", "no"]), "OK");
    assert_eq!(ping_at(&remote).as_deref(), Some("+PONG"));
    // A password for the default user lifts protected mode too: the remote client must authenticate.
    assert_eq!(q::<String>(&mut con, &["config", "set", "protected-mode", "yes", "requirepass", "pw"]), "OK");
    assert_eq!(ping_at(&remote).as_deref(), Some("-NOAUTH Authentication required."));
    assert_eq!(q::<String>(&mut con, &["config", "set", "requirepass", ""]), "OK");
    assert!(ping_at(&remote).unwrap().starts_with("-DENIED"));
}

/// `rename-command` in the configuration file (Redis 7.0 has no other way): the old name is an unknown
/// command everywhere (requests, MULTI, scripts), the new one runs the command, `""` removes it; and DEBUG
/// CONFIG-REWRITE-FORCE-ALL keeps the lines while writing every parameter.
#[test]
fn rename_command_from_the_file() {
    let dir = std::env::temp_dir().join(format!("ferrodis-rename-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("redis.conf");
    let text = "rename-command flushdb badger\nrename-command KEYS \"\"\n";
    std::fs::write(&file, text).unwrap();
    let path = file.to_string_lossy().into_owned();
    let srv = TestServer::with_config(|c| {
        c.load_str(text, Some(&path)).unwrap();
        c.config_file = Some(path.clone());
    });
    let mut con = srv.conn();
    assert_eq!(q::<String>(&mut con, &["set", "k", "v"]), "OK");
    assert_eq!(fails(&mut con, &["flushdb"]), "ERR unknown command 'flushdb', with args beginning with: ");
    assert_eq!(fails(&mut con, &["keys", "*"]), "ERR unknown command 'keys', with args beginning with: '*' ");
    assert_eq!(q::<i64>(&mut con, &["dbsize"]), 1);
    let err: String = fails(&mut con, &["eval", "return redis.call('flushdb')", "0"]);
    assert!(err.contains("Unknown Redis command called from script"), "{err}");
    assert_eq!(q::<i64>(&mut con, &["dbsize"]), 1);
    assert_eq!(q::<String>(&mut con, &["BADGER"]), "OK");
    assert_eq!(q::<i64>(&mut con, &["dbsize"]), 0);
    // In a transaction the old name is refused when queued, so EXEC aborts.
    assert_eq!(q::<String>(&mut con, &["multi"]), "OK");
    assert!(fails(&mut con, &["flushdb"]).starts_with("ERR unknown command 'flushdb'"));
    assert!(fails(&mut con, &["exec"]).starts_with("EXECABORT"));

    assert_eq!(q::<String>(&mut con, &["debug", "config-rewrite-force-all"]), "OK");
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(written.contains("rename-command flushdb badger\n") && written.contains("\nhz 10\n"), "{written}");
    let mut again = ferrodis::Config::default();
    again.load_file(&path).unwrap();
    assert_eq!(again.rename_commands().len(), 2);
    let _ = std::fs::remove_dir_all(&dir);
}
