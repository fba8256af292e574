//! Background jobs' stand-in child process (persist/job.rs), with the real binary: killing it aborts the AOF
//! rewrite or the BGSAVE as killing Redis's fork child does (aof-multi-part.tcl's rewrite-failure tests,
//! rdb.tcl's "failed bgsave prevents writes"), and it goes away when the job ends.

mod common;

use common::child::{read_log, start_child, wait_secs};
use redis::Connection;

/// Pids whose parent is `pid` (what `pgrep -P` lists), from /proc.
fn children(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(p) = e.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else { continue };
        // pid (comm) state ppid ...: comm may hold spaces, so read after the last ')'.
        let rest = &stat[stat.rfind(')').unwrap_or(0) + 1..];
        let mut f = rest.split_whitespace();
        let (state, ppid) = (f.next().unwrap_or(""), f.next().and_then(|x| x.parse::<u32>().ok()));
        if ppid == Some(pid) && state != "Z" {
            out.push(p);
        }
    }
    out
}

fn info(c: &mut Connection, field: &str) -> String {
    let info: String = redis::cmd("info").query(c).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")).map(|v| v.trim().to_string()))
        .unwrap_or_else(|| panic!("no {field} in {info}"))
}

fn kill9(pid: u32) {
    // SAFETY: kill takes no pointers.
    assert_eq!(unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) }, 0);
}

#[test]
fn killing_the_child_fails_the_rewrite_and_the_save() {
    let srv = start_child("jobchild", None, &["--appendonly", "yes", "--save", "3600 1"]);
    let pid = srv.child.id();
    let mut c = redis::Client::open(format!("redis://127.0.0.1:{}/", srv.port)).unwrap().get_connection().unwrap();
    assert!(children(pid).is_empty(), "no child while no job runs");
    let _: () = redis::cmd("set").arg("k").arg("v").query(&mut c).unwrap();
    let _: () = redis::cmd("config").arg("set").arg("rdb-key-save-delay").arg("10000000").query(&mut c).unwrap();

    // A rewrite kept running by the delay: one child; killed, the rewrite fails and a new incr file stays.
    let _: String = redis::cmd("bgrewriteaof").query(&mut c).unwrap();
    let kids = children(pid);
    assert_eq!(kids.len(), 1, "{kids:?}");
    assert_eq!(info(&mut c, "total_forks"), "1");
    kill9(kids[0]);
    wait_secs(10, "the rewrite to fail", || info(&mut c, "aof_rewrite_in_progress") == "0");
    assert_eq!(info(&mut c, "aof_last_bgrewrite_status"), "err");
    assert_eq!(info(&mut c, "aof_rewrites_consecutive_failures"), "1");
    wait_secs(10, "the child to be reaped", || children(pid).is_empty());
    assert!(read_log(&srv.log).contains("Background AOF rewrite terminated by signal 9"));

    // The same for a BGSAVE: the save fails, and writes are refused (stop-writes-on-bgsave-error), in
    // scripts too.
    let _: String = redis::cmd("bgsave").query(&mut c).unwrap();
    let kids = children(pid);
    assert_eq!(kids.len(), 1, "{kids:?}");
    kill9(kids[0]);
    wait_secs(10, "the save to fail", || info(&mut c, "rdb_bgsave_in_progress") == "0");
    assert_eq!(info(&mut c, "rdb_last_bgsave_status"), "err");
    let e = redis::cmd("set").arg("k").arg("w").query::<()>(&mut c).unwrap_err();
    assert_eq!(e.code(), Some("MISCONF"), "{e}");
    assert!(read_log(&srv.log).contains("Background saving terminated by signal 9"));

    // A job that ends by itself takes its child with it.
    let _: () = redis::cmd("config").arg("set").arg("rdb-key-save-delay").arg("0").query(&mut c).unwrap();
    let _: String = redis::cmd("bgrewriteaof").query(&mut c).unwrap();
    wait_secs(10, "the rewrite to succeed", || {
        info(&mut c, "aof_rewrite_in_progress") == "0" && info(&mut c, "aof_last_bgrewrite_status") == "ok"
    });
    wait_secs(10, "the child to be gone", || children(pid).is_empty());
    assert_eq!(info(&mut c, "total_forks"), "3");
}
