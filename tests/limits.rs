//! Out of file descriptors (hardening issue, finding 3), with the real binary in a child process whose
//! RLIMIT_NOFILE is lowered: maxclients is lowered at start-up to fit the limit (Redis's log lines), CONFIG
//! SET maxclients past it is refused with Redis's text, surplus clients are answered "max number of clients
//! reached", and when accept() runs out of descriptors anyway the server backs off instead of spinning and
//! logging in a loop, then serves the waiting clients once descriptors free up.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::child::{read_log, start_child as start, wait_secs as wait_for};

fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// Send one inline command and read one reply line.
fn call(s: &mut TcpStream, cmd: &str) -> String {
    s.write_all(format!("{cmd}\r\n").as_bytes()).unwrap();
    let mut buf = vec![0u8; 64 * 1024];
    let mut got = Vec::new();
    loop {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "connection closed after {cmd}");
        got.extend_from_slice(&buf[..n]);
        // A bulk reply: wait for its whole payload.
        if got.starts_with(b"$") {
            if let Some(nl) = got.windows(2).position(|w| w == b"\r\n") {
                let len: usize = String::from_utf8_lossy(&got[1..nl]).parse().unwrap_or(0);
                if got.len() >= nl + 2 + len + 2 {
                    return String::from_utf8_lossy(&got).into_owned();
                }
            }
        } else if got.ends_with(b"\r\n") {
            // A one-line reply (the commands used here answer nothing else).
            return String::from_utf8_lossy(&got).into_owned();
        }
    }
}

fn info_maxclients(s: &mut TcpStream) -> u64 {
    let info = call(s, "INFO clients");
    info.lines().find_map(|l| l.strip_prefix("maxclients:")).unwrap().trim().parse().unwrap()
}

/// Whether this process (and so the child) may raise its hard limit: CAP_SYS_RESOURCE in its effective set.
fn can_raise_limits() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let eff = status.lines().find_map(|l| l.strip_prefix("CapEff:")).unwrap().trim();
    u64::from_str_radix(eff, 16).unwrap() & (1 << 24) != 0 // CAP_SYS_RESOURCE
}

/// The limit adjustOpenFilesLimit ends with when the OS refuses everything above `cap`: it steps down from
/// maxclients + 32 by 16 until a value fits.
fn settled(maxfiles: u64, cap: u64) -> u64 {
    if maxfiles <= cap {
        return maxfiles;
    }
    maxfiles - (maxfiles - cap).div_ceil(16) * 16
}

#[test]
fn maxclients_fits_the_descriptor_limit() {
    // Without CAP_SYS_RESOURCE the hard limit of 64 cannot be raised; with it, up to fs.nr_open, so there
    // the request goes past that.
    let nr_open: u64 = std::fs::read_to_string("/proc/sys/fs/nr_open").unwrap().trim().parse().unwrap();
    let (requested, cap) = if can_raise_limits() { (nr_open + 100, nr_open) } else { (10_000, 64) };
    let srv = start("fit", Some(64), &["--maxclients", &requested.to_string()]);
    let best = settled(requested + 32, cap).max(64);
    let fits = best - 32;
    let log = read_log(&srv.log);
    for line in [
        format!("You requested maxclients of {requested} requiring at least {} max file descriptors.", requested + 32),
        format!("Server can't set maximum open files to {} because of OS error: Operation not permitted.", requested + 32),
        format!(
            "Current maximum open files is {best}. maxclients has been reduced to {fits} to compensate for low ulimit. If you need higher maxclients increase 'ulimit -n'."
        ),
    ] {
        assert!(log.contains(&line), "missing {line:?} in\n{log}");
    }
    let mut c = connect(srv.port);
    assert_eq!(info_maxclients(&mut c), fits);
    assert_eq!(
        call(&mut c, "CONFIG SET maxclients 4000000000"),
        format!(
            "-ERR CONFIG SET failed (possibly related to argument 'maxclients') - The operating system is not able to handle the specified number of clients, try with {fits}\r\n"
        )
    );
    assert_eq!(info_maxclients(&mut c), fits);
    // Clients past maxclients are answered and closed; those within are served.
    if fits > 32 {
        assert_eq!(call(&mut c, "CONFIG SET maxclients 32"), "+OK\r\n");
    }
    let mut clients: Vec<TcpStream> = (0..60).map(|_| connect(srv.port)).collect();
    let (mut served, mut refused) = (0, 0);
    for s in &mut clients {
        let _ = s.write_all(b"PING\r\n");
        let mut buf = [0u8; 64];
        let n = s.read(&mut buf).unwrap_or(0);
        match &buf[..n] {
            b"+PONG\r\n" => served += 1,
            b"-ERR max number of clients reached\r\n" => refused += 1,
            other => panic!("unexpected reply {:?}", String::from_utf8_lossy(other)),
        }
    }
    assert_eq!((served, refused), (31, 29));
}

/// CPU time (user + system) of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split(' ').collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

fn open_fds(pid: u32) -> u64 {
    std::fs::read_dir(format!("/proc/{pid}/fd")).unwrap().count() as u64
}

#[test]
fn accept_backs_off_when_descriptors_run_out() {
    let srv = start("emfile", None, &[]);
    let pid = srv.child.id();
    let mut first = connect(srv.port);
    assert_eq!(call(&mut first, "PING"), "+PONG\r\n");
    // Leave room for about ten more clients: with maxclients far above, accept() itself fails.
    let limit = open_fds(pid) + 10;
    let l = libc::rlimit { rlim_cur: limit as libc::rlim_t, rlim_max: limit as libc::rlim_t };
    // SAFETY: prlimit on our own child with a valid struct.
    assert_eq!(unsafe { libc::prlimit(pid as libc::pid_t, libc::RLIMIT_NOFILE, &l, std::ptr::null_mut()) }, 0);
    let mut clients: Vec<(TcpStream, bool)> = (0..40)
        .map(|_| {
            let mut s = connect(srv.port);
            s.write_all(b"PING\r\n").unwrap();
            s.set_nonblocking(true).unwrap();
            (s, false)
        })
        .collect();
    let emfile = "Accepting client connection: accept: Too many open files";
    wait_for(10, "an accept failure", || read_log(&srv.log).contains(emfile));
    // Descriptors stay exhausted for a while: no busy loop (CPU) and no flood of log lines meanwhile.
    let (cpu0, since) = (cpu_ticks(pid), Instant::now());
    let window = Duration::from_millis(1500);
    wait_for(10, "the observation window", || {
        poll_replies(&mut clients);
        let size = std::fs::metadata(&srv.log).unwrap().len();
        assert!(size < 64 * 1024, "the log grows while descriptors are exhausted: {size} bytes");
        since.elapsed() >= window
    });
    let ticks = cpu_ticks(pid) - cpu0;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as u64;
    // Retrying accept() at once costs about a quarter of a core here; backing off, next to nothing.
    assert!(ticks * 1000 / hz < 150, "{ticks} ticks of CPU in {window:?}: the accept loop spins");
    let answered = poll_replies(&mut clients);
    assert!(answered < clients.len(), "every client was served: the limit did not bite");
    let lines = read_log(&srv.log).matches(emfile).count();
    assert!(lines <= 4, "{lines} accept failures logged in {window:?}");
    // Free the served clients' descriptors: the waiting ones are accepted and answered, ten at a time
    // (each is closed once it has its answer).
    drop(first);
    wait_for(30, "every waiting client to be served", || {
        poll_replies(&mut clients);
        clients.retain(|(_, a)| !*a);
        clients.is_empty()
    });
}

/// Read the replies that have arrived; returns how many clients have theirs.
fn poll_replies(clients: &mut [(TcpStream, bool)]) -> usize {
    for (s, answered) in clients.iter_mut().filter(|(_, a)| !*a) {
        let mut buf = [0u8; 16];
        match s.read(&mut buf) {
            Ok(n) => {
                assert_eq!(&buf[..n], b"+PONG\r\n");
                *answered = true;
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(e) => panic!("{e}"),
        }
    }
    clients.iter().filter(|(_, a)| *a).count()
}
