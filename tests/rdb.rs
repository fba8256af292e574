//! RDB snapshots end to end: SAVE/BGSAVE/save points write `dir`/`dbfilename`, a restart loads it, DEBUG
//! RELOAD goes through the file, a failed save brings MISCONF, SHUTDOWN and SIGTERM save, kill -9 during a
//! BGSAVE keeps the previous file, and a slow load answers -LOADING with progress in INFO.

mod common;

use common::child::{free_port, wait_secs};
use common::{fails, q, TestServer};
use redis::Connection;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// A directory of its own, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let p = std::env::temp_dir().join(format!("ferrodis-rdb-{name}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    fn path(&self) -> String {
        self.0.to_string_lossy().into_owned()
    }

    fn dump(&self) -> PathBuf {
        self.0.join("dump.rdb")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An in-process server on `dir`, with `save` points ("" for none).
fn server(dir: &TempDir, save: &str) -> TestServer {
    let (d, save) = (dir.path(), save.to_string());
    TestServer::with_config(move |c| {
        c.dir = d;
        c.set("save", &save).unwrap();
    })
}

fn info_field(con: &mut Connection, section: &str, field: &str) -> String {
    let info: String = q(con, &["info", section]);
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")).map(str::to_string))
        .unwrap_or_else(|| panic!("no {field} in INFO {section}"))
}

/// Keys of every type, with and without TTLs, in two databases.
fn fill(con: &mut Connection) {
    let cmds: &[&[&str]] = &[
        &["set", "str", "hello"],
        &["set", "int", "12345"],
        &["set", "big", &"x".repeat(5000)],
        &["rpush", "list", "a", "b", "c", "1", "2"],
        &["hset", "hash", "f1", "v1", "f2", "2"],
        &["sadd", "intset", "1", "2", "3"],
        &["sadd", "set", "a", "b", "c"],
        &["zadd", "zset", "1.5", "a", "2", "b", "-3", "c"],
        &["xadd", "stream", "1-1", "f", "v"],
        &["xgroup", "create", "stream", "g", "0"],
        &["pfadd", "hll", "a", "b", "c"],
        &["set", "ttl", "v", "ex", "1000"],
        &["select", "3"],
        &["set", "db3", "three"],
        &["select", "0"],
    ];
    for c in cmds {
        let _: redis::Value = q(con, c);
    }
    for i in 0..300 {
        let _: () = q(con, &["hset", "bighash", &format!("f{i}"), &"v".repeat(80)]);
        let _: () = q(con, &["zadd", "bigzset", &i.to_string(), &format!("m{i}")]);
        let _: () = q(con, &["rpush", "biglist", &format!("e{i}")]);
        let _: () = q(con, &["sadd", "bigset", &format!("m{i}")]);
    }
}

#[test]
fn save_then_restart_loads_every_type_with_ttls() {
    let dir = TempDir::new("restart");
    let digest = {
        let srv = server(&dir, "");
        let mut con = srv.conn();
        fill(&mut con);
        let before: i64 = q(&mut con, &["lastsave"]);
        let digest: String = q(&mut con, &["debug", "digest"]);
        assert_eq!(q::<String>(&mut con, &["save"]), "OK");
        assert!(dir.dump().exists());
        assert!(q::<i64>(&mut con, &["lastsave"]) >= before);
        assert_eq!(info_field(&mut con, "persistence", "rdb_changes_since_last_save"), "0");
        assert_eq!(info_field(&mut con, "persistence", "rdb_saves"), "1");
        digest
    };
    let srv = server(&dir, "");
    let mut con = srv.conn();
    wait_secs(10, "the load", || info_field(&mut con, "persistence", "loading") == "0");
    assert_eq!(q::<String>(&mut con, &["debug", "digest"]), digest);
    assert_eq!(q::<String>(&mut con, &["get", "str"]), "hello");
    assert_eq!(q::<Vec<String>>(&mut con, &["lrange", "list", "0", "-1"]), ["a", "b", "c", "1", "2"]);
    let ttl: i64 = q(&mut con, &["ttl", "ttl"]);
    assert!(ttl > 900 && ttl <= 1000, "{ttl}");
    assert_eq!(q::<i64>(&mut con, &["ttl", "str"]), -1);
    assert_eq!(q::<Vec<redis::Value>>(&mut con, &["xinfo", "groups", "stream"]).len(), 1);
    let _: () = q(&mut con, &["select", "3"]);
    assert_eq!(q::<String>(&mut con, &["get", "db3"]), "three");
    assert_eq!(info_field(&mut con, "persistence", "rdb_last_load_keys_loaded"), "16");
}

#[test]
fn bgsave_is_a_point_in_time_snapshot_under_concurrent_writes() {
    let dir = TempDir::new("bgsave");
    let digest = {
        let srv = server(&dir, "");
        let mut con = srv.conn();
        for i in 0..20_000 {
            let _: () = q(&mut con, &["set", &format!("k{i}"), &i.to_string()]);
        }
        // DEBUG DIGEST and BGSAVE in one batch: no other client runs between them.
        let (digest, started): (String, String) =
            redis::pipe().cmd("debug").arg("digest").cmd("bgsave").query(&mut con).unwrap();
        assert_eq!(started, "Background saving started");
        let mut writer = srv.conn();
        let mut n = 0;
        while info_field(&mut con, "persistence", "rdb_bgsave_in_progress") == "1" {
            let _: () = q(&mut writer, &["set", &format!("k{}", n % 20_000), "changed"]);
            let _: () = q(&mut writer, &["del", &format!("k{}", (n * 7) % 20_000)]);
            n += 1;
        }
        assert_eq!(info_field(&mut con, "persistence", "rdb_last_bgsave_status"), "ok");
        assert!(fails(&mut con, &["bgsave", "now"]).contains("syntax error"));
        digest
    };
    let srv = server(&dir, "");
    let mut con = srv.conn();
    wait_secs(10, "the load", || info_field(&mut con, "persistence", "loading") == "0");
    assert_eq!(q::<String>(&mut con, &["debug", "digest"]), digest, "the file holds the keys as BGSAVE began");
}

/// INFO's progress and copy-on-write lines while a background save runs, as Redis's child reports them: keys
/// processed grow, and each write to a key the save has not reached yet counts that key's memory, which
/// `rdb_last_cow_size` keeps once the save is over.
#[test]
fn bgsave_reports_progress_and_what_writes_made_it_copy() {
    let dir = TempDir::new("cow");
    let srv = server(&dir, "");
    let mut con = srv.conn();
    let value = "A".repeat(500);
    for i in 0..2000 {
        let _: () = q(&mut con, &["set", &format!("key{i}"), &value]);
    }
    let field = |con: &mut Connection, f: &str| info_field(con, "persistence", f).parse::<f64>().unwrap();
    assert_eq!(field(&mut con, "current_cow_size"), 0.0);
    // 200 µs a key: the save takes about half a second, slices of a few keys at a time.
    let _: () = q(&mut con, &["config", "set", "rdb-key-save-delay", "200"]);
    assert_eq!(q::<String>(&mut con, &["bgsave"]), "Background saving started");
    assert_eq!(field(&mut con, "current_save_keys_total"), 2000.0);
    let mut cow = 0.0;
    for round in 0..2 {
        for k in 0..16 {
            let _: () = q(&mut con, &["setrange", &format!("key{}", round * 16 + k), "0", "BBBB"]);
        }
        common::wait_for("the save's copy-on-write figure", std::time::Duration::from_secs(10), || {
            field(&mut con, "current_cow_size") >= cow + 16.0 * 500.0 * 0.5
        });
        cow = field(&mut con, "current_cow_size");
        assert_eq!(field(&mut con, "rdb_bgsave_in_progress"), 1.0, "the save ended before round {round}");
        assert!(field(&mut con, "current_save_keys_processed") > 0.0);
        assert!(field(&mut con, "current_fork_perc") > 0.0);
        assert!(field(&mut con, "current_cow_peak") >= cow);
    }
    let _: () = q(&mut con, &["config", "set", "rdb-key-save-delay", "0"]);
    common::wait_for("the save's end", std::time::Duration::from_secs(10), || {
        field(&mut con, "rdb_bgsave_in_progress") == 0.0
    });
    assert_eq!(info_field(&mut con, "persistence", "rdb_last_bgsave_status"), "ok");
    assert!(field(&mut con, "rdb_last_cow_size") >= cow, "{cow}");
    assert_eq!(field(&mut con, "current_cow_size"), 0.0);
}

#[test]
fn save_points_start_a_background_save() {
    let dir = TempDir::new("savepoint");
    let srv = server(&dir, "");
    let mut con = srv.conn();
    let _: () = q(&mut con, &["set", "a", "1"]);
    let _: () = q(&mut con, &["config", "set", "save", "1 1"]);
    wait_secs(10, "a save point's save", || info_field(&mut con, "persistence", "rdb_saves") == "1");
    assert!(dir.dump().exists());
    assert_eq!(info_field(&mut con, "persistence", "rdb_changes_since_last_save"), "0");
}

#[test]
fn debug_reload_goes_through_the_file() {
    let dir = TempDir::new("reload");
    let srv = server(&dir, "");
    let mut con = srv.conn();
    fill(&mut con);
    let digest: String = q(&mut con, &["debug", "digest"]);
    assert_eq!(q::<String>(&mut con, &["debug", "reload"]), "OK");
    assert_eq!(q::<String>(&mut con, &["debug", "digest"]), digest);
    assert!(dir.dump().exists());
    // NOSAVE loads the file as it is: a key set since is gone.
    let _: () = q(&mut con, &["set", "new", "1"]);
    assert_eq!(q::<String>(&mut con, &["debug", "reload", "nosave"]), "OK");
    assert_eq!(q::<Option<String>>(&mut con, &["get", "new"]), None);
    // NOFLUSH without MERGE meets duplicate keys: an error, with Redis's text.
    assert!(fails(&mut con, &["debug", "reload", "nosave", "noflush"]).contains("Error trying to load the RDB dump"));
    assert_eq!(q::<String>(&mut con, &["debug", "reload", "nosave", "noflush", "merge"]), "OK");
    assert!(fails(&mut con, &["debug", "reload", "fast"]).contains("only supports the MERGE, NOFLUSH and NOSAVE"));
}

#[test]
fn a_failed_bgsave_brings_misconf_until_a_save_succeeds() {
    let dir = TempDir::new("misconf");
    let gone = TempDir::new("misconf-gone");
    let (d, gone_path) = (dir.path(), gone.path());
    let srv = TestServer::with_config(move |c| {
        c.dir = d;
        c.set("save", "3600 1").unwrap();
        c.load_str("enable-protected-configs yes", None).unwrap();
    });
    let mut con = srv.conn();
    let _: () = q(&mut con, &["config", "set", "dir", &gone_path]);
    std::fs::remove_dir_all(&gone.0).unwrap();
    assert_eq!(q::<String>(&mut con, &["bgsave"]), "Background saving started");
    wait_secs(10, "the save to fail", || info_field(&mut con, "persistence", "rdb_last_bgsave_status") == "err");
    let err = fails(&mut con, &["set", "k", "v"]);
    assert!(err.starts_with("MISCONF Redis is configured to save RDB snapshots"), "{err}");
    assert!(fails(&mut con, &["ping"]).starts_with("MISCONF"));
    assert_eq!(q::<Option<String>>(&mut con, &["get", "k"]), None);
    let _: () = q(&mut con, &["config", "set", "stop-writes-on-bgsave-error", "no"]);
    let _: () = q(&mut con, &["set", "k", "v"]);
    let _: () = q(&mut con, &["config", "set", "stop-writes-on-bgsave-error", "yes"]);
    assert!(fails(&mut con, &["set", "k", "v"]).starts_with("MISCONF"));
    let _: () = q(&mut con, &["config", "set", "dir", &dir.path()]);
    assert_eq!(q::<String>(&mut con, &["save"]), "OK");
    let _: () = q(&mut con, &["set", "k", "v2"]);
}

#[test]
fn flushall_saves_the_empty_dataset_when_save_points_exist() {
    let dir = TempDir::new("flushall");
    {
        let srv = server(&dir, "");
        let mut con = srv.conn();
        let _: () = q(&mut con, &["set", "k", "v"]);
        assert_eq!(q::<String>(&mut con, &["save"]), "OK");
        let _: () = q(&mut con, &["config", "set", "save", "3600 1"]);
        let _: () = q(&mut con, &["flushall"]);
        assert_eq!(info_field(&mut con, "persistence", "rdb_changes_since_last_save"), "0");
        let _: () = q(&mut con, &["config", "set", "save", ""]);
    }
    let srv = server(&dir, "");
    let mut con = srv.conn();
    wait_secs(10, "the load", || info_field(&mut con, "persistence", "loading") == "0");
    assert_eq!(q::<i64>(&mut con, &["dbsize"]), 0);
}

/// A child server, killed when dropped (also when a test fails half-way).
struct Bin(Child);

impl Drop for Bin {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl std::ops::Deref for Bin {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Bin {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

/// The binary on `dir` (same directory across restarts), ready once it answers PING.
fn start_bin(dir: &Path, args: &[&str]) -> (Bin, u16) {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_ferrodis-server"))
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--dir", dir.to_str().unwrap()])
        .args(["--enable-debug-command", "yes"])
        .args(["--logfile", dir.join("server.log").to_str().unwrap()])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    (Bin(child), port)
}

fn connect(port: u16) -> Connection {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap();
    let mut con = None;
    wait_secs(20, "the server to accept", || {
        con = client.get_connection().ok();
        con.is_some()
    });
    con.unwrap()
}

fn wait_loaded(con: &mut Connection) {
    wait_secs(60, "the load", || info_field(con, "persistence", "loading") == "0");
}

#[test]
fn sigterm_and_shutdown_save_when_save_points_exist() {
    let dir = TempDir::new("shutdown");
    let (mut child, port) = start_bin(&dir.0, &["--save", "3600 1"]);
    let mut con = connect(port);
    let _: () = q(&mut con, &["set", "k", "by-sigterm"]);
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    assert!(child.wait().unwrap().success());
    let (mut child, port) = start_bin(&dir.0, &["--save", ""]);
    let mut con = connect(port);
    wait_loaded(&mut con);
    assert_eq!(q::<String>(&mut con, &["get", "k"]), "by-sigterm");
    let _: () = q(&mut con, &["set", "k", "by-shutdown-save"]);
    let _ = redis::cmd("shutdown").arg("save").query::<()>(&mut con);
    assert!(child.wait().unwrap().success());
    let (mut child, port) = start_bin(&dir.0, &["--save", ""]);
    let mut con = connect(port);
    wait_loaded(&mut con);
    assert_eq!(q::<String>(&mut con, &["get", "k"]), "by-shutdown-save");
    let _: () = q(&mut con, &["set", "k", "not-saved"]);
    let _ = redis::cmd("shutdown").query::<()>(&mut con);
    assert!(child.wait().unwrap().success());
    let (mut child, port) = start_bin(&dir.0, &["--save", ""]);
    let mut con = connect(port);
    wait_loaded(&mut con);
    assert_eq!(q::<String>(&mut con, &["get", "k"]), "by-shutdown-save", "no save points: SHUTDOWN does not save");
    let _ = child.kill();
    let _ = child.wait();
}

/// A second SIGINT during a signal's final save exits at once, with status 1, leaving neither the temp file
/// nor a new dump behind (Redis's "You insist... exiting now."). `rdb-key-save-delay` paces the final save
/// as it does Redis's rdbSave, which is how the save is caught in the middle.
#[test]
fn a_second_sigint_stops_the_final_save_and_removes_its_temp_file() {
    let dir = TempDir::new("insist");
    let (mut child, port) = start_bin(&dir.0, &["--save", "3600 1"]);
    let mut con = connect(port);
    for i in 0..20 {
        let _: () = q(&mut con, &["set", &i.to_string(), "v"]);
    }
    let _: () = q(&mut con, &["config", "set", "rdb-key-save-delay", "100000"]);
    let temp = dir.0.join(format!("temp-{}.rdb", child.id()));
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    wait_secs(10, "the final save's temp file", || temp.exists());
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1), "an exit in a hurry is not a clean one");
    assert!(!temp.exists(), "the temp file is removed");
    assert!(!dir.0.join("dump.rdb").exists(), "the interrupted save left no dump");
    let log = std::fs::read_to_string(dir.0.join("server.log")).unwrap();
    assert!(log.contains("You insist... exiting now."), "{log}");
}

#[test]
fn kill_9_during_bgsave_keeps_the_previous_file() {
    let dir = TempDir::new("kill9");
    let (mut child, port) = start_bin(&dir.0, &["--save", ""]);
    let mut con = connect(port);
    let _: () = q(&mut con, &["debug", "populate", "200000", "key", "100"]);
    assert_eq!(q::<String>(&mut con, &["save"]), "OK");
    let saved: String = q(&mut con, &["debug", "digest"]);
    let _: () = q(&mut con, &["flushall"]);
    let _: () = q(&mut con, &["debug", "populate", "200000", "other", "100"]);
    let _: String = q(&mut con, &["bgsave"]);
    let _ = child.kill();
    let _ = child.wait();
    let (mut child, port) = start_bin(&dir.0, &["--save", ""]);
    let mut con = connect(port);
    wait_loaded(&mut con);
    let now: String = q(&mut con, &["debug", "digest"]);
    let keys: i64 = q(&mut con, &["dbsize"]);
    assert_eq!(keys, 200_000);
    // Either the old file, or (if the save won the race) the new one: never a torn one.
    if now != saved {
        assert_eq!(q::<i64>(&mut con, &["exists", "other:0"]), 1);
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn a_slow_load_answers_loading_and_shows_progress() {
    let dir = TempDir::new("loading");
    {
        let srv = server(&dir, "");
        let mut con = srv.conn();
        let _: () = q(&mut con, &["debug", "populate", "3000"]);
        assert_eq!(q::<String>(&mut con, &["save"]), "OK");
    }
    // 1 ms a key: about 3 s of loading.
    let (mut child, port) = start_bin(&dir.0, &["--save", "", "--key-load-delay", "1000"]);
    let mut con = connect(port);
    let err = fails(&mut con, &["get", "key:1"]);
    assert!(err.starts_with("LOADING Redis is loading the dataset in memory"), "{err}");
    assert_eq!(info_field(&mut con, "persistence", "loading"), "1");
    assert!(info_field(&mut con, "persistence", "loading_total_bytes").parse::<u64>().unwrap() > 0);
    wait_loaded(&mut con);
    assert_eq!(q::<i64>(&mut con, &["dbsize"]), 3000);
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn a_corrupt_file_stops_the_server_with_an_error() {
    let dir = TempDir::new("corrupt");
    std::fs::write(dir.dump(), b"REDIS0010\xfa\x09redis-ver\x067.0.15\x05garbage").unwrap();
    let (mut child, _) = start_bin(&dir.0, &["--save", ""]);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1));
}
