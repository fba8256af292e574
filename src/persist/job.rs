//! The stand-in child process of a background job (persist layer; the Keyspace starts one per fork-less
//! BGSAVE and AOF rewrite and watches it).
//!
//! Redis forks a child for BGSAVE and BGREWRITEAOF, and operators (and the Redis test suite) abort a job by
//! killing that child: `kill -9 $(pgrep -P <redis pid>)`. ferrodis never forks its dataset (the job runs as
//! slices on the Keyspace), so to keep that control it starts a tiny process of its own binary, which does
//! nothing but wait; if it dies before the job is over, the job is aborted as Redis aborts one whose child
//! was killed, and when the job ends it is killed and reaped. It is spawned (fork + exec of a fresh image,
//! so no dataset pages are shared or copied) only when the binary asked for it with `enable`: an embedding
//! program's executable is not ferrodis-server and must not be run as a child.

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};

/// The environment variable that turns a ferrodis-server process into a job's stand-in child.
const CHILD_ENV: &str = "FERRODIS_JOB_CHILD";

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Let background jobs start their stand-in child (called by ferrodis-server's `main`).
pub fn enable() {
    ENABLED.store(true, Ordering::Relaxed);
}

/// In ferrodis-server's `main`, first thing: when this process was started as a job's child, wait here until
/// killed (or until the server that started it is gone), never returning. Otherwise return at once.
pub fn run_child_if_asked() {
    let Some(parent) = std::env::var_os(CHILD_ENV) else { return };
    let parent: libc::pid_t = parent.to_str().and_then(|p| p.parse().ok()).unwrap_or(0);
    // SAFETY: prctl, getppid and pause take no pointers and only affect this process.
    unsafe {
        // Die with the server: the kernel sends SIGKILL when the parent exits.
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        // The parent may have exited before prctl took effect.
        if libc::getppid() != parent {
            libc::_exit(0);
        }
        loop {
            libc::pause();
        }
    }
}

/// A job's stand-in child, killed and reaped on drop.
pub struct JobChild {
    pid: libc::pid_t,
}

impl JobChild {
    /// Start one; None when not enabled (an embedded server) or when the process cannot be started (the job
    /// then runs without a child, as it would anyway).
    pub fn spawn() -> Option<JobChild> {
        if !ENABLED.load(Ordering::Relaxed) {
            return None;
        }
        let exe = std::env::current_exe().ok()?;
        let child = Command::new(exe)
            .env(CHILD_ENV, std::process::id().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .inspect_err(|e| log::warn!("Can't start the background job's child process: {e}"))
            .ok()?;
        // Dropping the std handle neither kills nor reaps: from here the pid is ours to manage.
        Some(JobChild { pid: child.id() as libc::pid_t })
    }

    /// The child's pid.
    pub fn pid(&self) -> u32 {
        self.pid as u32
    }

    /// Wait on a thread of its own until the child ends; `on_exit` gets the signal that ended it (None: it
    /// exited by itself). The child is not reaped here (WNOWAIT): only `drop` reaps it, so until then its pid
    /// cannot be reused and `drop`'s kill cannot reach another process.
    pub fn watch(&self, on_exit: impl FnOnce(Option<i32>) + Send + 'static) {
        let pid = self.pid;
        let spawned = std::thread::Builder::new().name("job-child".into()).spawn(move || {
            // SAFETY: waitid writes into the zeroed siginfo_t we own.
            let sig = unsafe {
                let mut info: libc::siginfo_t = std::mem::zeroed();
                loop {
                    let r = libc::waitid(libc::P_PID, pid as libc::id_t, &mut info, libc::WEXITED | libc::WNOWAIT);
                    if r == 0 {
                        break (info.si_code == libc::CLD_KILLED || info.si_code == libc::CLD_DUMPED)
                            .then(|| info.si_status());
                    }
                    if std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
                        break None;
                    }
                }
            };
            on_exit(sig);
        });
        if spawned.is_err() {
            log::warn!("Can't watch the background job's child process");
        }
    }
}

impl Drop for JobChild {
    /// The job is over (or was aborted): end the child and reap it.
    fn drop(&mut self) {
        // SAFETY: kill and waitpid take no pointers we do not own; the pid is our unreaped child.
        unsafe {
            libc::kill(self.pid, libc::SIGKILL);
            libc::waitpid(self.pid, std::ptr::null_mut(), 0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_is_spawned_unless_enabled() {
        // Library users (and this test binary) never get their executable run as a child.
        if !ENABLED.load(Ordering::Relaxed) {
            assert!(JobChild::spawn().is_none());
        }
    }
}
