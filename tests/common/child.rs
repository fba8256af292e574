//! The real binary in a child process, for tests that need the server's process to themselves: its memory
//! counters, its descriptor limit, its log.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `ferrodis-server`, killed (and its directory removed) on drop.
pub struct ChildServer {
    pub child: Child,
    pub port: u16,
    pub log: PathBuf,
    pub dir: PathBuf,
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub fn read_log(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

/// Poll `f` until it holds or `secs` pass.
pub fn wait_secs(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Start the binary (`--save ""`, its own directory and log file, then `args`) with its descriptor limit at
/// `nofile` (None: inherited), and wait until it is ready.
pub fn start_child(name: &str, nofile: Option<u64>, args: &[&str]) -> ChildServer {
    let dir = std::env::temp_dir().join(format!("ferrodis-child-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("server.log");
    let port = free_port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ferrodis-server"));
    cmd.args(["--port", &port.to_string(), "--save", "", "--dir", dir.to_str().unwrap()])
        .args(["--logfile", log.to_str().unwrap()])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(n) = nofile {
        // SAFETY: only setrlimit (async-signal-safe) runs between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                let l = libc::rlimit { rlim_cur: n as libc::rlim_t, rlim_max: n as libc::rlim_t };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &l) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    let child = cmd.spawn().unwrap();
    let srv = ChildServer { child, port, log, dir };
    wait_secs(20, "the ready line", || read_log(&srv.log).contains("Ready to accept connections"));
    srv
}
