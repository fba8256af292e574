//! Crash reports and the software watchdog: process-wide, beside the actor diagram rather than in it. The
//! binary installs them (`install`); the Keyspace actor beats `keyspace_heartbeat` from its cron tick, and
//! `configure` follows `crash-log-enabled` and `watchdog-period` from every configuration change.
//!
//! A fatal signal (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT; DEBUG SEGFAULT is a real SIGSEGV) writes Redis's
//! bug report to the log file (stdout without one), as debug.c's sigsegvHandler: the START line, `Redis
//! <ver> crashed by signal: N, si_code: N`, the faulting address and instruction, a STACK TRACE of the
//! crashing thread, the INFO fields known outside the Keyspace, the END text; then the signal is raised
//! again with the default action, so the process ends as it would have (status, core dump). Like Redis's,
//! it is a best effort after a crash: it formats and resolves symbols in the handler.
//!
//! The watchdog (`CONFIG SET watchdog-period <ms>`, Redis's SIGALRM timer) is a thread that checks the
//! Keyspace's heartbeat: when the Keyspace has not beaten for the period, the thread signals the Keyspace's
//! own thread (SIGALRM), whose handler only captures its stack (so what is logged is what the blocked
//! thread is doing) and hands it back; the watchdog thread resolves it and logs `--- WATCHDOG TIMER
//! EXPIRED ---` with the STACK TRACE, once per stall.

use std::backtrace::Backtrace;
use std::ffi::CString;
use std::fmt::Write as _;
use std::os::raw::{c_int, c_void};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicPtr, AtomicU32, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The log file the report goes to (None: stdout), the configuration file, set by `install`.
static LOG_PATH: OnceLock<Option<CString>> = OnceLock::new();
static CONFIG_FILE: OnceLock<String> = OnceLock::new();
/// When the process started, for the report's uptime.
static STARTED: OnceLock<Instant> = OnceLock::new();
/// `crash-log-enabled`: off, a fatal signal ends the process at once, without a report.
static CRASH_LOG: AtomicBool = AtomicBool::new(true);
/// The report's START line is written once, whichever threads crash (Redis's bug_report_start).
static REPORT_STARTED: AtomicBool = AtomicBool::new(false);
/// `port`, for the report's INFO.
static PORT: AtomicU32 = AtomicU32::new(0);
/// `watchdog-period` in ms, raised to two cron periods as Redis's applyWatchdogPeriod (0: off).
static WATCHDOG_MS: AtomicU64 = AtomicU64::new(0);
/// The Keyspace's last cron tick, ms since `STARTED` (0: none yet), and its thread (pthread_t).
static HEARTBEAT_MS: AtomicI64 = AtomicI64::new(0);
static KEYSPACE_THREAD: AtomicU64 = AtomicU64::new(0);
/// The stack the SIGALRM handler captured, for the watchdog thread to log (a leaked Box, or null).
static WATCHDOG_TRACE: AtomicPtr<Backtrace> = AtomicPtr::new(std::ptr::null_mut());
/// The instruction the Keyspace's thread was at when the watchdog signal arrived.
static WATCHDOG_EIP: AtomicU64 = AtomicU64::new(0);
/// The watchdog thread, to wake it when the period changes.
static WATCHDOG_THREAD: OnceLock<std::thread::Thread> = OnceLock::new();

/// The fatal signals a report is written for (debug.c's setupSigSegvHandlers).
const FATAL: [c_int; 5] = [libc::SIGSEGV, libc::SIGBUS, libc::SIGFPE, libc::SIGILL, libc::SIGABRT];

/// Install the fatal-signal handlers and the watchdog for a server logging to `logfile` ("" for stdout),
/// configured from `config_file`. Called once by the binary, after logging is set up: an embedding host
/// keeps its own signal handling.
pub fn install(logfile: &str, config_file: Option<&str>) {
    STARTED.get_or_init(Instant::now);
    let path = if logfile.is_empty() { None } else { CString::new(logfile).ok() };
    let _ = LOG_PATH.set(path);
    let _ = CONFIG_FILE.set(config_file.unwrap_or("").to_string());
    // Not SA_ONSTACK: resolving the stack's symbols needs more stack than the small alternate stacks Rust
    // gives its threads (a stack overflow then ends the process without a report, by the default action).
    for sig in FATAL {
        set_handler(sig, on_fatal_signal as *const () as usize, libc::SA_NODEFER | libc::SA_RESETHAND);
    }
    // SA_RESTART: the Keyspace's interrupted system calls go on as if nothing happened.
    set_handler(libc::SIGALRM, on_watchdog_signal as *const () as usize, libc::SA_RESTART);
    if let Ok(h) = std::thread::Builder::new().name("watchdog".into()).spawn(watchdog_loop) {
        let _ = WATCHDOG_THREAD.set(h.thread().clone());
    }
}

/// Follow the configuration: `crash-log-enabled`, `watchdog-period` (ms, 0 off) under `hz`, and `port`.
pub fn configure(crash_log: bool, watchdog_ms: u64, hz: u32, port: u16) {
    CRASH_LOG.store(crash_log, Ordering::Relaxed);
    PORT.store(port as u32, Ordering::Relaxed);
    let ms = effective_period(watchdog_ms, hz);
    if WATCHDOG_MS.swap(ms, Ordering::Relaxed) != ms {
        if let Some(t) = WATCHDOG_THREAD.get() {
            t.unpark();
        }
    }
}

/// Redis's applyWatchdogPeriod: a period under two cron periods cannot tell a stall from a wait for the
/// next tick, so it is raised to that.
pub fn effective_period(ms: u64, hz: u32) -> u64 {
    if ms == 0 {
        return 0;
    }
    ms.max(1000 / hz.clamp(1, 500) as u64 * 2)
}

/// The Keyspace's cron tick: it is alive, on this thread.
pub fn keyspace_heartbeat() {
    HEARTBEAT_MS.store(now_ms().max(1), Ordering::Relaxed);
    // SAFETY: pthread_self has no preconditions.
    KEYSPACE_THREAD.store(unsafe { libc::pthread_self() } as u64, Ordering::Relaxed);
}

fn now_ms() -> i64 {
    STARTED.get_or_init(Instant::now).elapsed().as_millis() as i64
}

fn set_handler(sig: c_int, handler: usize, flags: c_int) {
    // SAFETY: a zeroed sigaction with an emptied mask and a handler of the SA_SIGINFO signature.
    unsafe {
        let mut act: libc::sigaction = std::mem::zeroed();
        libc::sigemptyset(&mut act.sa_mask);
        act.sa_flags = flags | libc::SA_SIGINFO;
        act.sa_sigaction = handler;
        libc::sigaction(sig, &act, std::ptr::null_mut());
    }
}

/// A log line of at most 512 bytes formatted without allocating.
struct Line {
    buf: [u8; 512],
    len: usize,
}

impl Line {
    fn new() -> Line {
        Line { buf: [0; 512], len: 0 }
    }
}

impl std::fmt::Write for Line {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let n = s.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

/// The log's descriptor: the log file opened for appending (as Redis's openDirectLogFiledes), or stdout.
fn open_log() -> c_int {
    match LOG_PATH.get() {
        Some(Some(p)) => {
            // SAFETY: a NUL-terminated path; the descriptor is closed by close_log.
            unsafe { libc::open(p.as_ptr(), libc::O_APPEND | libc::O_CREAT | libc::O_WRONLY, 0o644) }
        }
        _ => libc::STDOUT_FILENO,
    }
}

fn close_log(fd: c_int) {
    if fd != libc::STDOUT_FILENO && fd >= 0 {
        // SAFETY: fd came from open_log.
        unsafe { libc::close(fd) };
    }
}

fn write_all(fd: c_int, mut b: &[u8]) {
    while !b.is_empty() {
        // SAFETY: writing from a live slice.
        let n = unsafe { libc::write(fd, b.as_ptr() as *const c_void, b.len()) };
        if n <= 0 {
            return;
        }
        b = &b[n as usize..];
    }
}

/// A warning line as the log writes them: `pid:M <time> # message`.
fn log_line(fd: c_int, msg: std::fmt::Arguments<'_>) {
    let mut l = Line::new();
    let ts = crate::types::clock::log_timestamp(crate::types::clock::system_ms());
    let _ = writeln!(l, "{}:M {ts} # {msg}", std::process::id());
    write_all(fd, &l.buf[..l.len]);
}

/// A line from a signal handler, as Redis's serverLogFromHandler: `pid:signal-handler (<unix time>) msg`.
fn handler_line(fd: c_int, msg: &str) {
    let mut l = Line::new();
    let secs = crate::types::clock::system_ms() / 1000;
    let _ = writeln!(l, "{}:signal-handler ({secs}) {msg}", std::process::id());
    write_all(fd, &l.buf[..l.len]);
}

/// The instruction pointer saved in a signal's context.
fn context_eip(uc: *mut c_void) -> Option<u64> {
    if uc.is_null() {
        return None;
    }
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    {
        // SAFETY: the kernel passes a ucontext_t to an SA_SIGINFO handler.
        let uc = unsafe { &*(uc as *const libc::ucontext_t) };
        Some(uc.uc_mcontext.gregs[libc::REG_RIP as usize] as u64)
    }
    #[cfg(all(target_os = "linux", target_arch = "aarch64"))]
    {
        // SAFETY: the kernel passes a ucontext_t to an SA_SIGINFO handler.
        let uc = unsafe { &*(uc as *const libc::ucontext_t) };
        Some(uc.uc_mcontext.pc)
    }
    #[cfg(not(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64"))))]
    {
        None
    }
}

/// The STACK TRACE section (Redis's logStackTrace): the instruction, then the thread's frames.
fn write_stack_trace(fd: c_int, eip: Option<u64>, trace: &Backtrace) {
    write_all(fd, b"\n------ STACK TRACE ------\n");
    if let Some(eip) = eip {
        let mut l = Line::new();
        let _ = writeln!(l, "EIP:\n{eip:#x}");
        write_all(fd, &l.buf[..l.len]);
    }
    write_all(fd, b"\nBacktrace:\n");
    write_all(fd, format!("{trace}").as_bytes());
}

/// The INFO OUTPUT section: the fields known outside the Keyspace (whose state the crash may have
/// caught halfway through a change, so it is not read here).
fn info_text() -> String {
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: uname fills the struct it is given.
    let os = if unsafe { libc::uname(&mut uts) } == 0 {
        let f = |b: &[libc::c_char]| {
            // SAFETY: uname's fields are NUL-terminated.
            unsafe { std::ffi::CStr::from_ptr(b.as_ptr()) }.to_string_lossy().into_owned()
        };
        format!("{} {} {}", f(&uts.sysname), f(&uts.release), f(&uts.machine))
    } else {
        String::new()
    };
    let exe = std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_default();
    let uptime = STARTED.get().map_or(0, |s| s.elapsed().as_secs());
    let used = crate::alloc::used_memory();
    format!(
        "# Server\r\nredis_version:{}\r\nferrodis_version:{}\r\nredis_mode:standalone\r\nos:{os}\r\narch_bits:64\r\nprocess_id:{}\r\ntcp_port:{}\r\nuptime_in_seconds:{uptime}\r\nuptime_in_days:{}\r\nexecutable:{exe}\r\nconfig_file:{}\r\n\r\n# Memory\r\nused_memory:{used}\r\nused_memory_rss:{}\r\nmem_allocator:{}\r\n",
        crate::REDIS_VERSION,
        env!("CARGO_PKG_VERSION"),
        std::process::id(),
        PORT.load(Ordering::Relaxed),
        uptime / 86_400,
        CONFIG_FILE.get().map_or("", |s| s.as_str()),
        crate::alloc::rss(),
        crate::alloc::allocator_name(),
    )
}

/// End the process with `sig`'s default action (Redis's bugReportEnd): a core dump where enabled, and
/// the status a supervisor expects for that signal. Raised on this thread, where it is not blocked
/// (SA_NODEFER), so it acts before this returns; should it not, the handler returns and a fault's
/// instruction runs again, now under the default action.
fn die(sig: c_int) {
    set_default(sig);
    // SAFETY: raise has no preconditions.
    unsafe { libc::raise(sig) };
}

fn set_default(sig: c_int) {
    // SAFETY: a zeroed sigaction with SIG_DFL.
    unsafe {
        let mut act: libc::sigaction = std::mem::zeroed();
        libc::sigemptyset(&mut act.sa_mask);
        act.sa_flags = libc::SA_NODEFER | libc::SA_ONSTACK | libc::SA_RESETHAND;
        act.sa_sigaction = libc::SIG_DFL;
        libc::sigaction(sig, &act, std::ptr::null_mut());
    }
}

/// debug.c's sigsegvHandler.
extern "C" fn on_fatal_signal(sig: c_int, info: *mut libc::siginfo_t, uc: *mut c_void) {
    if !CRASH_LOG.load(Ordering::Relaxed) {
        return die(sig);
    }
    // SIGABRT's default action must not run this handler again if abort() is called from here.
    set_default(libc::SIGABRT);
    let fd = open_log();
    if !REPORT_STARTED.swap(true, Ordering::SeqCst) {
        write_all(fd, b"\n\n=== REDIS BUG REPORT START: Cut & paste starting from here ===\n");
    }
    // SAFETY: the kernel passes a siginfo_t to an SA_SIGINFO handler; si_addr, si_pid and si_uid read it
    // as the signal's kind says it is filled.
    let (code, addr, sender) = unsafe {
        let i = &*info;
        let sender = (i.si_code == libc::SI_USER).then(|| (i.si_pid(), i.si_uid()));
        (i.si_code, i.si_addr(), sender)
    };
    log_line(fd, format_args!("Redis {} crashed by signal: {sig}, si_code: {code}", crate::REDIS_VERSION));
    if sig == libc::SIGSEGV || sig == libc::SIGBUS {
        log_line(fd, format_args!("Accessing address: {addr:p}"));
    }
    if let Some((pid, uid)) = sender {
        if pid != -1 {
            log_line(fd, format_args!("Killed by PID: {pid}, UID: {uid}"));
        }
    }
    let eip = context_eip(uc);
    if let Some(eip) = eip {
        log_line(fd, format_args!("Crashed running the instruction at: {eip:#x}"));
    }
    write_stack_trace(fd, eip, &Backtrace::force_capture());
    write_all(fd, b"\n------ INFO OUTPUT ------\n");
    write_all(fd, info_text().as_bytes());
    write_all(
        fd,
        b"\n=== REDIS BUG REPORT END. Make sure to include from START to END. ===\n\n       \
          Please report the crash by opening an issue on ferrodis's tracker, with the report above.\n\n",
    );
    close_log(fd);
    die(sig);
}

/// The watchdog's SIGALRM, on the Keyspace's thread: capture this thread's stack and hand it to the
/// watchdog thread, which resolves and logs it (the handler does no I/O).
extern "C" fn on_watchdog_signal(_: c_int, _: *mut libc::siginfo_t, uc: *mut c_void) {
    if !WATCHDOG_TRACE.load(Ordering::Acquire).is_null() {
        return; // the last capture is not logged yet
    }
    WATCHDOG_EIP.store(context_eip(uc).unwrap_or(0), Ordering::Relaxed);
    WATCHDOG_TRACE.store(Box::into_raw(Box::new(Backtrace::force_capture())), Ordering::Release);
}

/// The watchdog thread: signal the Keyspace's thread once per stall longer than the period, then log the
/// stack it captured.
fn watchdog_loop() {
    // The heartbeat a report was made for: one report per stall, as Redis's one-shot timer.
    let mut reported = 0;
    loop {
        let period = WATCHDOG_MS.load(Ordering::Relaxed);
        if period == 0 {
            std::thread::park_timeout(Duration::from_secs(1));
            continue;
        }
        std::thread::park_timeout(Duration::from_millis((period / 4).clamp(10, 100)));
        let beat = HEARTBEAT_MS.load(Ordering::Relaxed);
        let thread = KEYSPACE_THREAD.load(Ordering::Relaxed);
        if beat != 0 && beat != reported && thread != 0 && now_ms() - beat > period as i64 {
            reported = beat;
            // SAFETY: the Keyspace's thread lives as long as the server; SIGALRM has our handler.
            unsafe { libc::pthread_kill(thread as libc::pthread_t, libc::SIGALRM) };
            let deadline = Instant::now() + Duration::from_secs(5);
            while WATCHDOG_TRACE.load(Ordering::Acquire).is_null() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        let trace = WATCHDOG_TRACE.swap(std::ptr::null_mut(), Ordering::AcqRel);
        if !trace.is_null() {
            // SAFETY: leaked by on_watchdog_signal, taken once here.
            let trace = unsafe { Box::from_raw(trace) };
            let eip = Some(WATCHDOG_EIP.load(Ordering::Relaxed)).filter(|e| *e != 0);
            let fd = open_log();
            handler_line(fd, "\n--- WATCHDOG TIMER EXPIRED ---");
            write_stack_trace(fd, eip, &trace);
            handler_line(fd, "--------\n");
            close_log(fd);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watchdog_period_is_at_least_two_cron_periods() {
        assert_eq!(effective_period(0, 10), 0);
        assert_eq!(effective_period(50, 10), 200);
        assert_eq!(effective_period(200, 10), 200);
        assert_eq!(effective_period(1000, 100), 1000);
        assert_eq!(effective_period(5, 500), 5);
    }

    #[test]
    fn lines_are_cut_at_the_buffer() {
        let mut l = Line::new();
        let long = "x".repeat(600);
        let _ = write!(l, "{long}");
        assert_eq!(l.len, 512);
    }
}
