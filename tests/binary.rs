//! The standalone binary as a user runs it: ready line, config errors, SIGTERM and SHUTDOWN.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::child::{free_port, read_log, start_child};

/// Start the server and wait for Redis's ready line (callers wait for or kill the child).
#[allow(clippy::zombie_processes)]
fn start(args: &[&str]) -> Child {
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
            std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
            return child;
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
