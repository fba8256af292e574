//! Crash reports and the software watchdog of the real binary (crash.rs): a fatal signal or DEBUG SEGFAULT
//! writes Redis's bug report to the log file and the process ends by that signal; `crash-log-enabled no`
//! skips the report; `watchdog-period` logs the stack of a Keyspace stalled by DEBUG SLEEP; syslog.

mod common;

use common::child::{read_log, start_child, wait_secs, ChildServer};
use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

fn conn(srv: &ChildServer) -> redis::Connection {
    redis::Client::open(format!("redis://127.0.0.1:{}", srv.port)).unwrap().get_connection().unwrap()
}

/// Wait for the child to end and return the signal that ended it.
fn ended_by_signal(srv: &mut ChildServer) -> Option<i32> {
    let mut status = None;
    wait_secs(20, "the process to end", || {
        status = srv.child.try_wait().unwrap();
        status.is_some()
    });
    status.unwrap().signal()
}

#[test]
fn debug_segfault_writes_the_bug_report_and_dies_by_sigsegv() {
    let mut srv = start_child("segfault", None, &["--enable-debug-command", "yes"]);
    let mut c = conn(&srv);
    let _: Result<String, _> = redis::cmd("set").arg("k").arg("v").query(&mut c);
    let r: Result<String, _> = redis::cmd("debug").arg("segfault").query(&mut c);
    assert!(r.is_err(), "no reply: the server is gone");
    assert_eq!(ended_by_signal(&mut srv), Some(libc::SIGSEGV));
    let log = read_log(&srv.log);
    let start = log.find("=== REDIS BUG REPORT START: Cut & paste starting from here ===").expect("START line");
    let report = &log[start..];
    assert!(report.contains("# Redis 7.0.15 crashed by signal: 11, si_code: "), "{report}");
    assert!(report.contains("Accessing address: 0x"), "{report}");
    assert!(report.contains("Crashed running the instruction at: 0x"), "{report}");
    // The crashing thread's stack: the DEBUG handler is on it.
    let trace = &report[report.find("------ STACK TRACE ------").expect("STACK TRACE")..];
    assert!(trace.contains("commands/debug.rs"), "{trace}");
    let info = &report[report.find("------ INFO OUTPUT ------").expect("INFO")..];
    assert!(info.contains(&format!("tcp_port:{}", srv.port)), "{info}");
    assert!(info.contains(&format!("process_id:{}", srv.child.id())), "{info}");
    assert!(report.contains("=== REDIS BUG REPORT END. Make sure to include from START to END. ==="));
}

#[test]
fn sigabrt_from_another_process_is_reported_with_its_sender() {
    let mut srv = start_child("sigabrt", None, &[]);
    // SAFETY: signalling our own child.
    unsafe { libc::kill(srv.child.id() as i32, libc::SIGABRT) };
    assert_eq!(ended_by_signal(&mut srv), Some(libc::SIGABRT));
    let log = read_log(&srv.log);
    assert!(log.contains("# Redis 7.0.15 crashed by signal: 6, si_code: 0"), "{log}");
    assert!(log.contains(&format!("Killed by PID: {}, UID: ", std::process::id())), "{log}");
    assert!(log.contains("------ STACK TRACE ------") && log.contains("REDIS BUG REPORT END"), "{log}");
}

#[test]
fn crash_log_enabled_no_ends_the_process_without_a_report() {
    let mut srv = start_child("nocrashlog", None, &["--enable-debug-command", "yes"]);
    let mut c = conn(&srv);
    let _: () = redis::cmd("config").arg("set").arg("crash-log-enabled").arg("no").query(&mut c).unwrap();
    let _: Result<String, _> = redis::cmd("debug").arg("segfault").query(&mut c);
    assert_eq!(ended_by_signal(&mut srv), Some(libc::SIGSEGV));
    assert!(!read_log(&srv.log).contains("REDIS BUG REPORT"));
}

#[test]
fn watchdog_logs_the_stalled_keyspace_stack_once_per_stall() {
    let srv = start_child("watchdog", None, &["--enable-debug-command", "yes"]);
    let mut c = conn(&srv);
    // No report while the Keyspace keeps up, whatever the period.
    let _: () = redis::cmd("config").arg("set").arg("watchdog-period").arg("200").query(&mut c).unwrap();
    let _: String = redis::cmd("debug").arg("sleep").arg("0").query(&mut c).unwrap();
    let _: String = redis::cmd("debug").arg("sleep").arg("1").query(&mut c).unwrap();
    let reported = common::poll_until(Duration::from_secs(10), || read_log(&srv.log).contains(") --------\n"));
    assert!(reported, "no watchdog report in {}", read_log(&srv.log));
    let log = read_log(&srv.log);
    assert_eq!(log.matches("--- WATCHDOG TIMER EXPIRED ---").count(), 1, "{log}");
    let trace = &log[log.find("--- WATCHDOG TIMER EXPIRED ---").unwrap()..];
    assert!(trace.contains("------ STACK TRACE ------"), "{trace}");
    // The Keyspace's own stack, stopped in DEBUG SLEEP, not the watchdog thread's.
    assert!(trace.contains("commands/debug.rs") && trace.contains("sleep"), "{trace}");
    assert!(!log.contains("REDIS BUG REPORT"));
    // Off again: a stall goes unreported.
    let _: () = redis::cmd("config").arg("set").arg("watchdog-period").arg("0").query(&mut c).unwrap();
    let _: String = redis::cmd("debug").arg("sleep").arg("0.5").query(&mut c).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(read_log(&srv.log).matches("WATCHDOG TIMER EXPIRED").count(), 1);
}

#[test]
fn debug_error_and_help() {
    let srv = start_child("debughelp", None, &["--enable-debug-command", "yes"]);
    let mut c = conn(&srv);
    let e = redis::cmd("debug").arg("error").arg("MYERR some\r\ntext").query::<String>(&mut c).unwrap_err();
    assert_eq!(e.code(), Some("MYERR"));
    assert_eq!(e.detail(), Some("some  text"));
    let help: Vec<String> = redis::cmd("debug").arg("help").query(&mut c).unwrap();
    assert!(help[0].starts_with("DEBUG <subcommand>"), "{help:?}");
    for sub in ["SEGFAULT", "ERROR <string>", "SLEEP <seconds>", "REPLYBUFFER RESIZING <0|1>", "RELOAD [option ...]"] {
        assert!(help.iter().any(|l| l == sub), "{sub} in {help:?}");
    }
}

/// `syslog-enabled yes` opens the system log (whether a syslog daemon listens or not) and the log file
/// still gets every line.
#[test]
fn syslog_enabled_keeps_the_log_file() {
    let srv = start_child("syslog", None, &["--syslog-enabled", "yes", "--syslog-ident", "ferrodis-test"]);
    let mut c = conn(&srv);
    let pong: String = redis::cmd("ping").query(&mut c).unwrap();
    assert_eq!(pong, "PONG");
    let set: redis::RedisResult<()> = redis::cmd("config").arg("set").arg("syslog-enabled").arg("no").query(&mut c);
    assert!(set.unwrap_err().to_string().contains("can't set immutable config"));
    assert!(read_log(&srv.log).contains("Ready to accept connections"));
}
