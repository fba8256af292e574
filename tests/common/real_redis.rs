//! redis-server 7 from PATH as a child process, for interop tests (skipped, saying why, when it is absent).

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
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(&bin)
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .args(["--enable-debug-command", "yes", "--dir"])
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{}: {e}", bin.display()))?;
    let server = RealRedis { child, port, dir };
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() >= deadline {
            return Err(format!("redis-server did not start listening on port {port}"));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(server)
}
