//! redis-server 7 from PATH as a child process, for interop tests (skipped, saying why, when it is absent).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A redis-server child on a spare port, in a directory of its own; killed and removed on drop.
pub struct RealRedis {
    pub child: Child,
    pub port: u16,
    pub dir: PathBuf,
}

impl Drop for RealRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The redis-server executable on PATH, if there is one.
fn redis_server_on_path() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join("redis-server")).find(|p| p.is_file())
}

/// Start redis-server 7 from PATH, or say why not (the test is then skipped).
pub fn real_redis(tag: &str) -> Result<RealRedis, String> {
    real_redis_with(tag, None)
}

/// redis-server 7.0 exactly, for tests that hold ferrodis to its replies and tables (later releases have
/// other commands, parameters and texts); None after printing why the test is skipped.
pub fn real_redis_7_0(tag: &str) -> Option<RealRedis> {
    let checked = redis_server_on_path().ok_or("redis-server is not on PATH".to_string()).and_then(|bin| {
        let out = Command::new(&bin).arg("--version").output().map_err(|e| format!("{}: {e}", bin.display()))?;
        let version = String::from_utf8_lossy(&out.stdout).into_owned();
        match version.contains(" v=7.0.") {
            true => real_redis(tag),
            false => Err(format!("{} is not Redis 7.0 ({})", bin.display(), version.trim())),
        }
    });
    match checked {
        Ok(r) => Some(r),
        Err(why) => {
            println!("skipped: {why}");
            None
        }
    }
}

/// The same, starting from `rdb` as its dump.rdb.
pub fn real_redis_with(tag: &str, rdb: Option<&Path>) -> Result<RealRedis, String> {
    let bin = redis_server_on_path().ok_or("redis-server is not on PATH")?;
    let version = Command::new(&bin).arg("--version").output().map_err(|e| format!("{}: {e}", bin.display()))?;
    let version = String::from_utf8_lossy(&version.stdout).into_owned();
    if !version.contains(" v=7.") {
        return Err(format!("{} is not Redis 7 ({})", bin.display(), version.trim()));
    }
    let dir = std::env::temp_dir().join(format!("ferrodis-real-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    if let Some(f) = rdb {
        std::fs::copy(f, dir.join("dump.rdb")).map_err(|e| e.to_string())?;
    }
    // A spare port can be taken by another test's server before redis-server binds it (redis-server then
    // exits, and that other server answers here): a start counts once INFO names this child's pid.
    for _ in 0..5 {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(&bin)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--enable-debug-command", "yes", "--dir"])
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("{}: {e}", bin.display()))?;
        let mut server = RealRedis { child, port, dir: dir.clone() };
        let pid = format!("process_id:{}\r", server.child.id());
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if answers_as(port, &pid) {
                return Ok(server);
            }
            if matches!(server.child.try_wait(), Ok(Some(_))) {
                break; // the port was taken: try another
            }
            if Instant::now() >= deadline {
                return Err(format!("redis-server did not start listening on port {port}"));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        // Keep the directory (and the dump copied into it) for the next try.
        server.dir = PathBuf::new();
    }
    Err("redis-server could not bind a spare port in five tries".into())
}

/// Does the server on `port` answer INFO with the line `pid` (`process_id:N\r`)?
fn answers_as(port: u16, pid: &str) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else { return false };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"INFO server\r\n").is_err() {
        return false;
    }
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !got.windows(pid.len()).any(|w| w == pid.as_bytes()) {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return false,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
        if got.len() > 64 * 1024 {
            return false;
        }
    }
    true
}
