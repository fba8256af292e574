//! The standalone binary as a user runs it: ready line, config errors, SIGTERM and SHUTDOWN.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::child::{free_port, read_log, start_child};

/// Start the server and wait for Redis's ready line (callers wait for or kill the child).
fn start(args: &[&str]) -> Child {
    start_logged(args).0
}

/// `start`, keeping what the server logs (its stdout) from then on.
#[allow(clippy::zombie_processes)]
fn start_logged(args: &[&str]) -> (Child, std::sync::Arc<std::sync::Mutex<Vec<u8>>>) {
    // A directory of its own: no dump.rdb of the working directory is loaded, none is left there.
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("ferrodis-bin-dir-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ferrodis-server"))
        .args(args)
        .args(["--dir", dir.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        line.clear();
        if out.read_line(&mut line).unwrap() == 0 {
            panic!("server exited before it was ready");
        }
        if line.contains("Ready to accept connections") {
            // Keep draining the log so the server never blocks on a full pipe.
            let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
            let kept = log.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n @ 1..) = out.read(&mut buf) {
                    kept.lock().unwrap().extend_from_slice(&buf[..n]);
                }
            });
            return (child, log);
        }
    }
    panic!("no ready line");
}

fn ping(port: u16) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"PING\r\n").unwrap();
    let mut buf = [0u8; 7];
    s.read_exact(&mut buf).unwrap();
    String::from_utf8_lossy(&buf).into_owned()
}

fn wait_exit(child: &mut Child) -> i32 {
    let mut status = None;
    if !common::poll_until(Duration::from_secs(10), || {
        status = child.try_wait().unwrap();
        status.is_some()
    }) {
        let _ = child.kill();
        panic!("server did not exit");
    }
    status.and_then(|s| s.code()).unwrap_or(-1)
}

#[test]
fn sigterm_stops_cleanly_and_frees_the_port() {
    let port = free_port();
    let mut child = start(&["--port", &port.to_string(), "--save", "", "--appendonly", "no"]);
    assert_eq!(ping(port), "+PONG\r\n");
    let held = TcpStream::connect(("127.0.0.1", port)).unwrap();
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    assert_eq!(wait_exit(&mut child), 0);
    drop(held);
    std::net::TcpListener::bind(("127.0.0.1", port)).expect("port released");
}

#[test]
fn shutdown_command_stops_the_server() {
    let port = free_port();
    let mut child = start(&["--port", &port.to_string()]);
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"SHUTDOWN NOSAVE\r\n").unwrap();
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
    assert!(rest.is_empty(), "SHUTDOWN sends no reply: {rest:?}");
    assert_eq!(wait_exit(&mut child), 0);
}

#[test]
fn config_file_and_args_are_read_like_redis_server() {
    let dir = std::env::temp_dir().join(format!("ferrodis-bin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let port = free_port();
    let conf = dir.join("redis.conf");
    std::fs::write(&conf, "# a comment\nport 1\nmaxmemory 10mb\ndatabases 4\n").unwrap();
    let mut child = start(&[conf.to_str().unwrap(), "--port", &port.to_string()]);
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"CONFIG GET maxmemory\r\nSELECT 4\r\n").unwrap();
    let want = b"*2\r\n$9\r\nmaxmemory\r\n$8\r\n10485760\r\n-ERR DB index is out of range\r\n";
    let mut got = vec![0u8; want.len()];
    s.read_exact(&mut got).unwrap();
    assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(want));
    let _ = child.kill();
    let _ = child.wait();

    std::fs::write(&conf, "port 6379\nno-such-option yes\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ferrodis-server")).arg(&conf).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("FATAL CONFIG FILE ERROR") && err.contains("line 2"), "{err}");
    assert!(err.contains("Bad directive or wrong number of arguments"), "{err}");
    let out = Command::new(env!("CARGO_BIN_EXE_ferrodis-server")).args(["--port", "notaport"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_banner_carries_port_and_pid_as_redis_server_s_does() {
    // What the Redis suite's normal mode and other tools wait for.
    let srv = start_child("logo", None, &["--always-show-logo", "yes"]);
    let log = read_log(&srv.log);
    let pid = srv.child.id();
    assert!(log.lines().any(|l| l.trim_end().ends_with(&format!(" PID: {pid}"))), "{log}");
    assert!(log.lines().any(|l| l.trim_end().ends_with(&format!(" Port: {}", srv.port))), "{log}");
    // Without it, and with the log in a file, one line says the same.
    let srv = start_child("nologo", None, &[]);
    let log = read_log(&srv.log);
    assert!(log.contains(&format!("Running mode=standalone, port={}.", srv.port)), "{log}");
    assert!(!log.contains("PID: "), "{log}");
}

/// A replica that completes the PSYNC handshake and then never acknowledges: always behind the master.
fn silent_replica(port: u16) -> TcpStream {
    let mut r = TcpStream::connect(("127.0.0.1", port)).unwrap();
    r.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    r.write_all(b"REPLCONF capa eof capa psync2\r\n").unwrap();
    common::read_until(&mut r, b"+OK\r\n");
    r.write_all(b"PSYNC ? -1\r\n").unwrap();
    common::read_until(&mut r, b"+FULLRESYNC");
    r
}

/// Redis 7.0's graceful shutdown: SHUTDOWN and SIGTERM give lagging replicas `shutdown-timeout` to catch
/// up (writes paused, INFO shutdown_in_milliseconds), SHUTDOWN ABORT cancels (a blocked SHUTDOWN hears the
/// error), and at the deadline the server stops anyway, naming the replica that lagged.
#[test]
fn shutdown_waits_for_lagging_replicas_and_abort_cancels_it() {
    let port = free_port();
    let (mut child, log) =
        start_logged(&["--port", &port.to_string(), "--save", "", "--repl-diskless-sync-delay", "0"]);
    let _replica = silent_replica(port);
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap();
    let mut con = client.get_connection().unwrap();
    con.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let _: () = redis::cmd("SET").arg("k").arg("v").query(&mut con).unwrap();
    let err = redis::cmd("SHUTDOWN").arg("ABORT").query::<()>(&mut con).unwrap_err();
    assert_eq!(common::err_text(err), "ERR No shutdown in progress.");
    let waiting = |con: &mut redis::Connection| {
        common::info_field(con, "server", "shutdown_in_milliseconds").parse::<i64>().unwrap_or(0) > 0
    };

    // SHUTDOWN blocks its caller while the replica lags; ABORT answers it with Redis's error.
    let mut shut = TcpStream::connect(("127.0.0.1", port)).unwrap();
    shut.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    shut.write_all(b"SHUTDOWN\r\n").unwrap();
    common::wait_for("the shutdown waiting", Duration::from_secs(10), || waiting(&mut con));
    assert_eq!(common::blocked_clients(&mut con), 1);
    let _: () = redis::cmd("SHUTDOWN").arg("ABORT").query(&mut con).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&common::read_until(&mut shut, b"\r\n")),
        "-ERR Errors trying to SHUTDOWN. Check logs.\r\n"
    );
    assert!(!waiting(&mut con));
    let _: () = redis::cmd("SET").arg("k").arg("v2").query(&mut con).unwrap();

    // SIGTERM waits the same way, and is aborted the same way.
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    common::wait_for("the signal's shutdown waiting", Duration::from_secs(10), || waiting(&mut con));
    let _: () = redis::cmd("SHUTDOWN").arg("ABORT").query(&mut con).unwrap();
    assert_eq!(redis::cmd("PING").query::<String>(&mut con).unwrap(), "PONG");

    // At the deadline the server stops anyway, and says which replica lagged.
    let _: () = redis::cmd("CONFIG").arg("SET").arg("shutdown-timeout").arg(1).query(&mut con).unwrap();
    // SAFETY: as above.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    assert_eq!(wait_exit(&mut child), 0);
    let text = || String::from_utf8_lossy(&log.lock().unwrap()).into_owned();
    // The log is drained on a thread of its own: wait for the last line.
    common::wait_for("the last log line", Duration::from_secs(10), || text().contains("ready to exit, bye bye"));
    let text = text();
    assert!(text.contains("Waiting for replicas before shutting down."), "{text}");
    assert!(text.contains("Shutdown manually aborted."), "{text}");
    assert!(text.contains("Lagging replica 127.0.0.1:"), "{text}");
    assert!(text.contains("0 of 1 replicas are in sync when shutting down."), "{text}");
}

/// The process title follows `proc-title-template` (from the command line, then CONFIG SET) as redis-server's
/// does: `ps` and /proc/<pid>/cmdline show it, and a template naming an unknown variable is refused.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn the_process_title_follows_the_template() {
    let srv = start_child("title", None, &["--proc-title-template", "{title} {listen-addr} {server-mode}"]);
    let cmdline = || std::fs::read(format!("/proc/{}/cmdline", srv.child.id())).unwrap();
    let text = |b: Vec<u8>| String::from_utf8_lossy(&b).trim_end_matches('\0').to_string();
    let exe = env!("CARGO_BIN_EXE_ferrodis-server");
    assert_eq!(text(cmdline()), format!("{exe} *:{}", srv.port));
    let client = redis::Client::open(format!("redis://127.0.0.1:{}/", srv.port)).unwrap();
    let mut con = client.get_connection().unwrap();
    let template = "TEST {title} {port} {tls-port} {config-file} {{x}";
    let _: () = common::q(&mut con, &["config", "set", "proc-title-template", template]);
    assert_eq!(text(cmdline()), format!("TEST {exe} {} 0 - {{x}}", srv.port));
    let err = common::fails(&mut con, &["config", "set", "proc-title-template", "{invalid-var}"]);
    assert!(err.contains("template format is invalid"), "{err}");
    assert_eq!(text(cmdline()), format!("TEST {exe} {} 0 - {{x}}", srv.port), "a refused template changes nothing");
}

/// `oom-score-adj` moves the process's OOM-killer score as redis-server's does: relative to the score found
/// when it took over, by class (master, replica), absolute, and back to that score when turned off.
#[cfg(target_os = "linux")]
#[test]
fn oom_score_adj_follows_the_class_and_is_put_back() {
    let srv = start_child("oom", None, &[]);
    let score = || -> i64 {
        let s = std::fs::read_to_string(format!("/proc/{}/oom_score_adj", srv.child.id())).unwrap();
        s.trim().parse().unwrap()
    };
    let base = score();
    let client = redis::Client::open(format!("redis://127.0.0.1:{}/", srv.port)).unwrap();
    let mut con = client.get_connection().unwrap();
    let set = |con: &mut redis::Connection, args: &[&str]| {
        let _: () = common::q(con, &[&["config", "set"][..], args].concat());
    };
    set(&mut con, &["oom-score-adj-values", "10 20 30"]);
    assert_eq!(score(), base, "off: the values alone change nothing");
    set(&mut con, &["oom-score-adj", "yes"]);
    assert_eq!(score(), base + 10);
    set(&mut con, &["oom-score-adj-values", "15 20 30"]);
    assert_eq!(score(), base + 15);
    let _: () = common::q(&mut con, &["replicaof", "localhost", "1"]);
    assert_eq!(score(), base + 20, "a replica's class");
    let _: () = common::q(&mut con, &["replicaof", "no", "one"]);
    assert_eq!(score(), base + 15);
    set(&mut con, &["oom-score-adj", "absolute"]);
    assert_eq!(score(), 15);
    set(&mut con, &["oom-score-adj", "no"]);
    assert_eq!(score(), base, "turned off: the score found at take-over");
    let err = common::fails(&mut con, &["config", "set", "oom-score-adj-values", "-2001 0 0"]);
    assert!(err.contains("must be between -2000 and 2000"), "{err}");
}
