//! Test harness: `TestServer::start()` runs a real server in-process on 127.0.0.1:0 (its own actix System
//! on a background thread) and stops it on drop.
#![allow(dead_code)]

pub mod child;
pub mod real_redis;

use ferrodis::{Config, Server};
use redis::{cmd, Connection, RedisError, Value};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// One test at a time for the tests that take it: used_memory is the process's allocator count, shared by
/// every server of a test binary, so tests that measure it or set limits by it must not overlap.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

pub struct TestServer {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    pub fn start() -> TestServer {
        Self::with_config(|_| {})
    }

    /// Start with a config adjusted by `f` (port, bind and enable-debug-command yes are set for the test first).
    pub fn with_config(f: impl FnOnce(&mut Config)) -> TestServer {
        let mut cfg = Config::default();
        // No save points, and a directory of its own: no dump.rdb is written to or loaded from the working
        // directory (tests that persist set both).
        cfg.save.clear();
        cfg.dir = test_dir().to_string_lossy().into_owned();
        cfg.port = 0;
        cfg.bind = vec!["127.0.0.1".into()];
        cfg.enable_debug_command = "yes".into();
        // Diskless syncs start at once, as in the Redis suite's default.conf (the 5 s default waits for more
        // replicas; tests that look at the delay set it).
        cfg.set("repl-diskless-sync-delay", "0").expect("a known option");
        f(&mut cfg);
        let (tx, rx) = mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            actix_rt::System::new().block_on(async move {
                let handle = Server::new(cfg).start().await.expect("server starts");
                tx.send(handle.addr().expect("bound")).unwrap();
                let _ = stop_rx.await;
                handle.stop().await;
            });
        });
        let addr = rx.recv_timeout(Duration::from_secs(10)).expect("server address");
        TestServer { addr, stop: Some(stop_tx), thread: Some(thread) }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A `redis` crate connection.
    pub fn conn(&self) -> redis::Connection {
        let client = redis::Client::open(format!("redis://{}/", self.addr)).unwrap();
        client.get_connection().unwrap()
    }

    /// A raw socket, for exact bytes.
    pub fn raw(&self) -> TcpStream {
        let s = TcpStream::connect(self.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.set_nodelay(true).unwrap();
        s
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Send `req` and read until `expect_len` bytes arrived (or the peer closed); returns what was read.
pub fn roundtrip(s: &mut TcpStream, req: &[u8], expect_len: usize) -> Vec<u8> {
    s.write_all(req).unwrap();
    read_n(s, expect_len)
}

pub fn read_n(s: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 65536];
    while out.len() < n {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(k) => out.extend_from_slice(&buf[..k]),
        }
    }
    out
}

/// Read until the peer closes the connection (or the read timeout).
pub fn read_to_close(s: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    out
}

/// Read until `needle` shows up in what was received (or the peer closes / times out).
pub fn read_until(s: &mut TcpStream, needle: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 65536];
    while !out.windows(needle.len()).any(|w| w == needle) {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(k) => out.extend_from_slice(&buf[..k]),
        }
    }
    out
}

// ---- Client-side helpers shared by the integration tests ----

/// An error reply as `CODE detail`, the way Redis prints it.
pub fn err_text(e: RedisError) -> String {
    format!("{} {}", e.code().unwrap_or(""), e.detail().unwrap_or(""))
}

/// Run a command that must fail; its error text.
pub fn fails(con: &mut Connection, args: &[&str]) -> String {
    err_text(cmd(args[0]).arg(&args[1..]).query::<Value>(con).unwrap_err())
}

/// Run a command that must succeed.
pub fn q<T: redis::FromRedisValue>(con: &mut Connection, args: &[&str]) -> T {
    cmd(args[0]).arg(&args[1..]).query(con).unwrap()
}

/// INFO's blocked_clients.
pub fn blocked_clients(con: &mut Connection) -> usize {
    let info: String = cmd("INFO").arg("clients").query(con).unwrap();
    info.lines().find_map(|l| l.strip_prefix("blocked_clients:")).and_then(|v| v.trim().parse().ok()).unwrap_or(0)
}

/// Wait until `n` clients are blocked (the blocking command reached the server).
pub fn wait_blocked(con: &mut Connection, n: usize) {
    wait_for(&format!("{n} blocked clients"), Duration::from_secs(5), || blocked_clients(con) == n);
}

// ---- Waiting on conditions ----

/// Poll `cond` until it holds; fail the test, naming `what`, if it does not within `timeout`. Tests wait on
/// what they need to be true, never for a fixed time.
pub fn wait_for(what: &str, timeout: Duration, cond: impl FnMut() -> bool) {
    assert!(poll_until(timeout, cond), "timed out after {timeout:?} waiting for {what}");
}

/// Poll `cond` until it holds (true) or `timeout` passes (false), for callers that clean up before failing.
pub fn poll_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while !cond() {
        if Instant::now() >= deadline {
            return false;
        }
        // A short pause between polls, so that polling does not starve the server on a small machine.
        std::thread::sleep(Duration::from_millis(2));
    }
    true
}

/// `wait_for` for async conditions (in-process clients): poll `cond` until it holds, or fail after `timeout`.
pub async fn wait_for_async<F, Fut>(what: &str, timeout: Duration, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    while !cond().await {
        assert!(Instant::now() < deadline, "timed out after {timeout:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// One command in RESP, for raw sockets.
pub fn resp(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
    }
    out
}

/// Read a RESP3 HELLO reply to its end (its last field is `modules`, an empty array).
pub fn read_hello3(s: &mut TcpStream) -> Vec<u8> {
    let got = read_until(s, b"$7\r\nmodules\r\n*0\r\n");
    assert!(got.ends_with(b"$7\r\nmodules\r\n*0\r\n"), "{}", String::from_utf8_lossy(&got));
    got
}

/// The server's clock (TIME) in milliseconds.
pub fn server_time_ms(con: &mut Connection) -> i64 {
    let (secs, micros): (i64, i64) = cmd("TIME").query(con).unwrap();
    secs * 1000 + micros / 1000
}

/// Wait until the server's clock is past `ms`, touching no key: a TTL ending at `ms` has then run out but
/// the key is still stored (until a lookup or active expiry deletes it).
pub fn wait_server_clock_past(con: &mut Connection, ms: i64) {
    wait_for(&format!("the server clock to pass {ms}"), Duration::from_secs(5), || server_time_ms(con) > ms);
}

/// `SET key value PX ttl_ms`, then wait until that TTL has run out (without touching the key).
pub fn set_and_outlive(con: &mut Connection, key: &str, value: &str, ttl_ms: i64) {
    let _: () = cmd("SET").arg(key).arg(value).arg("PX").arg(ttl_ms).query(con).unwrap();
    // The key's deadline is the server's time at SET plus the TTL, and TIME now reads at least that time.
    let now = server_time_ms(con);
    wait_server_clock_past(con, now + ttl_ms);
}

/// A fresh directory under the system's temp dir for one test server.
pub fn test_dir() -> std::path::PathBuf {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let p = std::env::temp_dir().join(format!("ferrodis-test-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&p);
    std::fs::create_dir_all(&p).unwrap();
    p
}

/// A field of INFO `section`, "" when absent.
pub fn info_field(con: &mut Connection, section: &str, field: &str) -> String {
    let info: String = cmd("INFO").arg(section).query(con).unwrap();
    info.lines().find_map(|l| l.strip_prefix(&format!("{field}:")).map(|v| v.trim().to_string())).unwrap_or_default()
}

/// DEBUG DIGEST.
pub fn digest(con: &mut Connection) -> String {
    cmd("DEBUG").arg("DIGEST").query(con).unwrap()
}

/// Wait until a replica's link to its master is up.
pub fn wait_link_up(con: &mut Connection) {
    wait_for("the link up", Duration::from_secs(30), || info_field(con, "replication", "master_link_status") == "up");
}

/// Output bytes the server holds for its (first) replica connection: CLIENT LIST's omem.
pub fn replica_omem(con: &mut Connection) -> u64 {
    let list: String = cmd("CLIENT").arg("LIST").arg("TYPE").arg("replica").query(con).unwrap();
    list.split_whitespace().find_map(|f| f.strip_prefix("omem=")).and_then(|v| v.parse().ok()).unwrap_or(0)
}
