//! Crash durability: a real `ferrodis-server` process is killed with SIGKILL in the middle of a pipelined
//! write load, restarted on the same directory, and every write it acknowledged must be there, under each
//! `appendfsync` policy. A process crash (not an OS crash) may lose nothing that was acknowledged, as with
//! Redis, which writes its AOF buffer before it sends the replies of the same event-loop turn.
//!
//! `cargo test --test durability` runs a few trials per policy; `FERRODIS_DURABILITY_TRIALS=25 cargo test
//! --release --test durability -- --nocapture` runs the longer campaign quoted in notes.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let p = std::env::temp_dir().join(format!("ferrodis-dur-{name}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A port nobody listens on right now (the server binds it a moment later).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The server binary as a child process, killed on drop if still running.
struct Proc(Child, u16);

impl Proc {
    fn start(dir: &Path, fsync: &str) -> Proc {
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_ferrodis-server"))
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes"])
            .args(["--appendfsync", fsync, "--dir"])
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("server binary starts");
        let p = Proc(child, port);
        let t = Instant::now();
        loop {
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
                s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                if s.write_all(b"PING\r\n").is_ok() {
                    let mut line = String::new();
                    if BufReader::new(&s).read_line(&mut line).is_ok() && line == "+PONG\r\n" {
                        return p;
                    }
                }
            }
            assert!(t.elapsed() < Duration::from_secs(20), "server did not answer PING");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn kill9(&mut self) {
        let _ = self.0.kill(); // SIGKILL on Unix
        let _ = self.0.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Pipelines `RPUSH l <n>` in rounds of `depth`, counting the acknowledged pushes, until the connection
/// breaks (the kill), storing the highest acknowledged list length in `acked`.
fn push_until_killed(port: u16, depth: usize, acked: &std::sync::atomic::AtomicU64) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_nodelay(true).unwrap();
    let mut n: u64 = 0;
    let mut buf = Vec::new();
    let mut rd = [0u8; 64 * 1024];
    loop {
        buf.clear();
        for i in 0..depth as u64 {
            let v = (n + i).to_string();
            buf.extend_from_slice(format!("*3\r\n$5\r\nRPUSH\r\n$1\r\nl\r\n${}\r\n{v}\r\n", v.len()).as_bytes());
        }
        if s.write_all(&buf).is_err() {
            return;
        }
        // Each reply is `:<len>\r\n`; count complete replies, remembering the last length acknowledged.
        let mut got = 0;
        let mut pending = Vec::new();
        while got < depth {
            let k = match s.read(&mut rd) {
                Ok(0) | Err(_) => return,
                Ok(k) => k,
            };
            pending.extend_from_slice(&rd[..k]);
            while let Some(end) = pending.windows(2).position(|w| w == b"\r\n") {
                let line = std::str::from_utf8(&pending[..end]).unwrap().to_string();
                pending.drain(..end + 2);
                let len: u64 = line.strip_prefix(':').expect("integer reply").parse().unwrap();
                assert_eq!(len, n + got as u64 + 1, "pushes are acknowledged in order");
                acked.store(len, std::sync::atomic::Ordering::SeqCst);
                got += 1;
            }
        }
        n += depth as u64;
    }
}

/// One command on a fresh connection; the raw reply.
fn call(port: u16, req: &str) -> Vec<u8> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(req.as_bytes()).unwrap();
    let mut out = Vec::new();
    let mut rd = [0u8; 64 * 1024];
    // Replies here are one integer line or one array of integers: read until a complete one is in.
    loop {
        let k = s.read(&mut rd).unwrap();
        assert!(k > 0, "server closed");
        out.extend_from_slice(&rd[..k]);
        if complete(&out) {
            return out;
        }
    }
}

/// Is `b` one complete `:n` or `*n` of bulk strings reply?
fn complete(b: &[u8]) -> bool {
    let Some(end) = b.windows(2).position(|w| w == b"\r\n") else { return false };
    if b[0] != b'*' {
        return true;
    }
    let n: usize = std::str::from_utf8(&b[1..end]).unwrap().parse().unwrap();
    b.windows(2).filter(|w| *w == b"\r\n").count() > 2 * n
}

/// One trial: load, kill -9 once `threshold` pushes are acknowledged, restart, check. Returns (acked, lost).
fn trial(fsync: &str, threshold: u64) -> (u64, u64) {
    let dir = TempDir::new(fsync);
    let mut server = Proc::start(&dir.0, fsync);
    let acked = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let port = server.1;
    let a = acked.clone();
    let writer = std::thread::spawn(move || push_until_killed(port, 64, &a));
    let t = Instant::now();
    while acked.load(std::sync::atomic::Ordering::SeqCst) < threshold {
        assert!(t.elapsed() < Duration::from_secs(60), "load made no progress");
        std::thread::sleep(Duration::from_millis(1));
    }
    server.kill9();
    writer.join().unwrap();
    let acked = acked.load(std::sync::atomic::Ordering::SeqCst);
    drop(server);

    let server = Proc::start(&dir.0, fsync);
    let llen = call(server.1, "*2\r\n$4\r\nLLEN\r\n$1\r\nl\r\n");
    let len: u64 = std::str::from_utf8(&llen[1..llen.len() - 2]).unwrap().parse().unwrap();
    if len < acked {
        return (acked, acked - len);
    }
    // Every acknowledged element is there, in order, with nothing made up before it.
    let last = acked.saturating_sub(1);
    let got = call(
        server.1,
        &format!("*4\r\n$6\r\nLRANGE\r\n$1\r\nl\r\n$1\r\n0\r\n${}\r\n{last}\r\n", last.to_string().len()),
    );
    let mut want = format!("*{acked}\r\n");
    for i in 0..acked {
        want.push_str(&format!("${}\r\n{i}\r\n", i.to_string().len()));
    }
    assert!(got == want.as_bytes(), "list content differs after restart under {fsync}");
    (acked, 0)
}

fn campaign(fsync: &str) {
    let trials: u64 = std::env::var("FERRODIS_DURABILITY_TRIALS").ok().and_then(|v| v.parse().ok()).unwrap_or(2);
    let mut lost_trials = 0;
    for i in 0..trials {
        // Kill at a different point of the load in each trial.
        let threshold = 2_000 + (i * 7_919) % 20_000;
        let (acked, lost) = trial(fsync, threshold);
        println!("appendfsync {fsync} trial {}: {acked} acknowledged, {lost} lost", i + 1);
        if lost > 0 {
            lost_trials += 1;
        }
    }
    println!("appendfsync {fsync}: {lost_trials} of {trials} trials lost acknowledged writes");
    assert_eq!(lost_trials, 0, "acknowledged writes lost under appendfsync {fsync}");
}

#[test]
fn kill9_loses_no_acknowledged_write_always() {
    campaign("always");
}

#[test]
fn kill9_loses_no_acknowledged_write_everysec() {
    campaign("everysec");
}

#[test]
fn kill9_loses_no_acknowledged_write_no() {
    campaign("no");
}
