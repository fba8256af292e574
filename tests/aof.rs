//! The append-only file end to end: servers writing their AOF into a temporary `dir`, restarted on it.

mod common;

use common::{fails, q, wait_for, TestServer};
use ferrodis::{Config, Server};
use redis::Connection;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let p = std::env::temp_dir().join(format!("ferrodis-aof-{name}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    fn aof_dir(&self) -> PathBuf {
        self.0.join("appendonlydir")
    }

    fn manifest(&self) -> String {
        std::fs::read_to_string(self.aof_dir().join("appendonly.aof.manifest")).unwrap_or_default()
    }

    /// The incr file the manifest lists last.
    fn last_incr(&self) -> PathBuf {
        let m = self.manifest();
        let line = m.lines().rfind(|l| l.ends_with("type i")).expect("an incr file").to_string();
        self.aof_dir().join(line.split(' ').nth(1).unwrap())
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A server on `dir`, with the AOF on or off and extra config lines.
fn server(dir: &TempDir, appendonly: bool, extra: &str) -> TestServer {
    let (path, extra) = (dir.0.to_string_lossy().into_owned(), extra.to_string());
    TestServer::with_config(move |c| {
        c.dir = path;
        c.appendonly = appendonly;
        c.load_str(&extra, None).unwrap();
    })
}

fn info_field(con: &mut Connection, field: &str) -> String {
    let info: String = q(con, &["info", "persistence"]);
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")).map(|v| v.trim().to_string()))
        .unwrap_or_else(|| panic!("no {field} in {info}"))
}

/// The suite's waitForBgrewriteaof.
fn wait_rewrite(con: &mut Connection) {
    wait_for("the rewrite to finish", Duration::from_secs(20), || {
        info_field(con, "aof_rewrite_in_progress") == "0" && info_field(con, "aof_rewrite_scheduled") == "0"
    });
}

fn digest(con: &mut Connection) -> String {
    q(con, &["debug", "digest"])
}

/// One key of every type in db 0, two with TTLs, and a transaction's writes in db 3.
fn fill(con: &mut Connection) {
    let _: () = q(con, &["set", "s", "string"]);
    let _: () = q(con, &["set", "n", "12345"]);
    let _: i64 = q(con, &["rpush", "l", "a", "b", "c"]);
    let _: i64 = q(con, &["hset", "h", "f", "v", "g", "w"]);
    let _: i64 = q(con, &["sadd", "st", "x", "y", "7"]);
    let _: i64 = q(con, &["zadd", "z", "1.5", "a", "-inf", "b"]);
    let _: String = q(con, &["xadd", "x", "1-1", "f", "v"]);
    let _: () = q(con, &["xgroup", "create", "x", "g", "0"]);
    let _: redis::Value = q(con, &["xreadgroup", "group", "g", "alice", "streams", "x", ">"]);
    let _: () = q(con, &["set", "ttl1", "v", "ex", "1000"]);
    let _: i64 = q(con, &["pexpire", "l", "500000"]);
    let _: () = q(con, &["select", "3"]);
    let _: redis::Value = redis::pipe().atomic().cmd("incr").arg("c").cmd("incr").arg("c").query(con).unwrap();
    let _: () = q(con, &["select", "0"]);
}

/// What must survive a restart: the digest and the absolute TTLs.
fn state(con: &mut Connection) -> (String, i64, i64) {
    let d = digest(con);
    (d, q(con, &["pexpiretime", "ttl1"]), q(con, &["pexpiretime", "l"]))
}

#[test]
fn data_and_ttls_survive_a_restart() {
    let dir = TempDir::new("restart");
    let before = {
        let s = server(&dir, true, "");
        let mut c = s.conn();
        fill(&mut c);
        state(&mut c)
    };
    assert!(before.1 > 0 && before.2 > 0);
    assert!(dir.manifest().contains("appendonly.aof.1.base.rdb seq 1 type b"), "{}", dir.manifest());
    let s = server(&dir, true, "");
    let mut c = s.conn();
    assert_eq!(state(&mut c), before);
    let _: () = q(&mut c, &["select", "3"]);
    assert_eq!(q::<i64>(&mut c, &["get", "c"]), 2);
    let _: () = q(&mut c, &["select", "0"]);
    let pending: Vec<redis::Value> = q(&mut c, &["xpending", "x", "g"]);
    assert_eq!(pending[0], redis::Value::Int(1));
}

#[test]
fn rewrite_while_clients_write_loses_nothing() {
    let dir = TempDir::new("rewrite");
    let s = server(&dir, true, "appendfsync no");
    let mut c = s.conn();
    for i in 0..200 {
        let mut p = redis::pipe();
        for j in 0..100 {
            p.cmd("set").arg(format!("k{i}:{j}")).arg(j).ignore();
        }
        let _: () = p.query(&mut c).unwrap();
    }
    fill(&mut c);
    // Writers hammer keys (old and new) while the rewrite runs.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = (0..3)
        .map(|w| {
            let mut wc = s.conn();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut n = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let mut p = redis::pipe();
                    p.cmd("incr").arg(format!("ctr{w}")).ignore();
                    p.cmd("set").arg(format!("k{}:{}", n % 200, n % 100)).arg(format!("w{w}-{n}")).ignore();
                    p.cmd("rpush").arg(format!("log{w}")).arg(n).ignore();
                    p.cmd("del").arg(format!("k{}:{}", (n + 7) % 200, (n + 3) % 100)).ignore();
                    let _: () = p.query(&mut wc).unwrap();
                    n += 1;
                }
                n
            })
        })
        .collect();
    // Every writer is under way before the rewrite starts...
    let counters = |c: &mut Connection| -> Vec<u64> {
        (0..3).map(|w| q::<Option<u64>>(c, &["get", &format!("ctr{w}")]).unwrap_or(0)).collect()
    };
    wait_for("every writer to start", Duration::from_secs(10), || counters(&mut c).iter().all(|&n| n >= 10));
    assert_eq!(q::<String>(&mut c, &["bgrewriteaof"]), "Background append only file rewriting started");
    assert_eq!(fails(&mut c, &["bgrewriteaof"]), "ERR Background append only file rewriting already in progress");
    wait_rewrite(&mut c);
    // ...and writes again after it finished (into the new incr file).
    let at_end = counters(&mut c);
    wait_for("every writer to write after the rewrite", Duration::from_secs(10), || {
        counters(&mut c).iter().zip(&at_end).all(|(now, then)| now >= &(then + 10))
    });
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let counts: Vec<u64> = writers.into_iter().map(|w| w.join().unwrap()).collect();
    assert_eq!(info_field(&mut c, "aof_last_bgrewrite_status"), "ok");
    assert_eq!(info_field(&mut c, "aof_rewrites"), "1");
    let m = dir.manifest();
    assert!(m.contains("appendonly.aof.2.base.rdb seq 2 type b") && m.contains("seq 2 type i"), "{m}");
    assert!(!dir.aof_dir().join("appendonly.aof.1.incr.aof").exists(), "history removed");
    let before = state(&mut c);
    assert_eq!(q::<u64>(&mut c, &["get", "ctr0"]), counts[0]);
    drop(c);
    drop(s);
    let s = server(&dir, true, "");
    let mut c = s.conn();
    assert_eq!(state(&mut c), before);
    assert_eq!(q::<u64>(&mut c, &["llen", "log2"]), counts[2]);
}

#[test]
fn config_set_appendonly_at_run_time() {
    let dir = TempDir::new("runtime");
    // The base in AOF format (commands), where the other tests use the default RDB preamble.
    let s = server(&dir, false, "aof-use-rdb-preamble no");
    let mut c = s.conn();
    fill(&mut c);
    assert_eq!(info_field(&mut c, "aof_enabled"), "0");
    assert!(!dir.aof_dir().exists());
    let _: () = q(&mut c, &["config", "set", "appendonly", "yes"]);
    // Writes right after the switch land in the temporary incr file, renamed when the rewrite completes.
    let _: () = q(&mut c, &["set", "after", "1"]);
    wait_rewrite(&mut c);
    assert_eq!(info_field(&mut c, "aof_enabled"), "1");
    let m = dir.manifest();
    assert_eq!(m, "file appendonly.aof.1.base.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n");
    let _: () = q(&mut c, &["set", "later", "2"]);
    let before = state(&mut c);
    // Off again: no more appends.
    let _: () = q(&mut c, &["config", "set", "appendonly", "no"]);
    assert_eq!(info_field(&mut c, "aof_enabled"), "0");
    let _: () = q(&mut c, &["set", "not-logged", "3"]);
    drop(c);
    drop(s);
    let s = server(&dir, true, "");
    let mut c = s.conn();
    assert_eq!(q::<Option<String>>(&mut c, &["get", "not-logged"]), None);
    let _: i64 = q(&mut c, &["del", "not-logged"]);
    assert_eq!(state(&mut c), before);
}

#[test]
fn debug_loadaof_reloads_and_runs_the_rest_of_the_pipeline() {
    let dir = TempDir::new("loadaof");
    let s = server(&dir, true, "");
    let mut c = s.conn();
    fill(&mut c);
    let before = state(&mut c);
    let (ok, v): (String, String) =
        redis::pipe().cmd("debug").arg("loadaof").cmd("get").arg("s").query(&mut c).unwrap();
    assert_eq!((ok.as_str(), v.as_str()), ("OK", "string"));
    assert_eq!(state(&mut c), before);
    // After a rewrite too (DEBUG LOADAOF right behind BGREWRITEAOF finishes the rewrite first).
    let _: i64 = q(&mut c, &["incr", "n"]);
    let (_, ok): (String, String) =
        redis::pipe().cmd("bgrewriteaof").cmd("debug").arg("loadaof").query(&mut c).unwrap();
    assert_eq!(ok, "OK");
    assert_eq!(q::<i64>(&mut c, &["get", "n"]), 12346);
    assert_eq!(info_field(&mut c, "aof_rewrite_in_progress"), "0");
}

#[test]
fn appendfsync_policies() {
    let dir = TempDir::new("fsync");
    let s = server(&dir, true, "appendfsync always");
    let mut c = s.conn();
    let _: () = q(&mut c, &["set", "k1", "v1"]);
    // always: the reply comes after the write reached the file.
    let data = std::fs::read(dir.last_incr()).unwrap();
    assert!(data.windows(2).any(|w| w == b"k1"), "{}", String::from_utf8_lossy(&data));
    for policy in ["everysec", "no", "always"] {
        let _: () = q(&mut c, &["config", "set", "appendfsync", policy]);
        let key = format!("key-{policy}");
        let _: () = q(&mut c, &["set", &key, "v"]);
        wait_for(&format!("{policy}: the write to reach the file"), Duration::from_secs(5), || {
            let data = std::fs::read(dir.last_incr()).unwrap();
            data.windows(key.len()).any(|w| w == key.as_bytes())
        });
    }
    let v: Vec<String> = q(&mut c, &["config", "get", "appendfsync"]);
    assert_eq!(v[1], "always");
}

/// Cut the last incr file `n` bytes short of its end.
fn chop(path: &Path, n: u64) -> u64 {
    let f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    let len = f.metadata().unwrap().len();
    f.set_len(len - n).unwrap();
    len - n
}

fn start_fails(dir: &TempDir, extra: &str) -> String {
    let mut cfg = Config::default();
    cfg.save.clear(); // no dump.rdb written to the working directory
    cfg.port = 0;
    cfg.bind = vec!["127.0.0.1".into()];
    cfg.dir = dir.0.to_string_lossy().into_owned();
    cfg.appendonly = true;
    cfg.load_str(extra, None).unwrap();
    actix_rt::System::new().block_on(async move {
        match Server::new(cfg).start().await {
            Ok(h) => {
                h.stop().await;
                String::new()
            }
            Err(e) => e.to_string(),
        }
    })
}

#[test]
fn truncated_tail_is_cut_or_refused() {
    let dir = TempDir::new("truncated");
    {
        let s = server(&dir, true, "");
        let mut c = s.conn();
        let _: () = q(&mut c, &["set", "a", "1"]);
        let _: () = q(&mut c, &["set", "b", "2"]);
    }
    let incr = dir.last_incr();
    let cut = chop(&incr, 3);
    let e = start_fails(&dir, "aof-load-truncated no");
    assert!(e.contains("Unexpected end of file reading the append only file appendonly.aof.1.incr.aof"), "{e}");
    // aof-load-truncated yes (the default): the broken command is dropped and the file cut after the last good one.
    let s = server(&dir, true, "");
    let mut c = s.conn();
    assert_eq!(q::<Option<String>>(&mut c, &["get", "a"]).as_deref(), Some("1"));
    assert_eq!(q::<Option<String>>(&mut c, &["get", "b"]), None);
    let len = std::fs::metadata(&incr).unwrap().len();
    assert!(len < cut, "truncated to the last complete command");
    let _: () = q(&mut c, &["set", "b", "3"]);
    drop(c);
    drop(s);
    let s = server(&dir, true, "");
    assert_eq!(q::<Option<String>>(&mut s.conn(), &["get", "b"]).as_deref(), Some("3"));
}

#[test]
fn bad_manifest_and_unknown_commands_stop_the_start() {
    let dir = TempDir::new("badmanifest");
    drop(server(&dir, true, ""));
    std::fs::write(dir.aof_dir().join("appendonly.aof.manifest"), "file x seq 1 type z\n").unwrap();
    let e = start_fails(&dir, "");
    assert!(e.contains("Unknown AOF file type"), "{e}");
    let dir = TempDir::new("unknowncmd");
    drop(server(&dir, true, ""));
    std::fs::write(dir.last_incr(), "*1\r\n$7\r\nNOSUCHX\r\n").unwrap();
    let e = start_fails(&dir, "");
    assert!(e.contains("Unknown command 'NOSUCHX' reading the append only file"), "{e}");
}

#[test]
fn legacy_single_file_is_upgraded() {
    let dir = TempDir::new("legacy");
    std::fs::write(dir.0.join("appendonly.aof"), "*3\r\n$3\r\nSET\r\n$3\r\nold\r\n$1\r\n1\r\n").unwrap();
    let s = server(&dir, true, "");
    let mut c = s.conn();
    assert_eq!(q::<Option<String>>(&mut c, &["get", "old"]).as_deref(), Some("1"));
    assert!(!dir.0.join("appendonly.aof").exists());
    assert!(dir.aof_dir().join("appendonly.aof").exists());
    let m = dir.manifest();
    assert!(m.starts_with("file appendonly.aof seq 1 type b\n"), "{m}");
}

#[test]
fn persistence_unavailable_means_no_aof() {
    let dir = TempDir::new("unavailable");
    let s = server(&dir, false, "persistence-available no");
    let mut c = s.conn();
    let e = fails(&mut c, &["config", "set", "appendonly", "yes"]);
    assert!(e.contains("AOF is not available"), "{e}");
    assert!(fails(&mut c, &["bgrewriteaof"]).starts_with("ERR Can't execute an AOF background rewriting."));
    assert_eq!(info_field(&mut c, "aof_enabled"), "0");
    assert!(!dir.aof_dir().exists());
}

#[test]
fn failed_rewrite_reports_err_and_keeps_the_old_files() {
    let dir = TempDir::new("failed");
    let s = server(&dir, true, "");
    let mut c = s.conn();
    fill(&mut c);
    let before = state(&mut c);
    // The rewrite's temporary base is a link to /dev/full: every write to it fails with ENOSPC.
    let tmp = dir.aof_dir().join(format!("temp-rewriteaof-bg-{}.aof", std::process::id()));
    std::os::unix::fs::symlink("/dev/full", &tmp).unwrap();
    assert_eq!(q::<String>(&mut c, &["bgrewriteaof"]), "Background append only file rewriting started");
    wait_rewrite(&mut c);
    assert_eq!(info_field(&mut c, "aof_last_bgrewrite_status"), "err");
    assert_eq!(info_field(&mut c, "aof_rewrites_consecutive_failures"), "1");
    let m = dir.manifest();
    assert!(
        m.starts_with("file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"),
        "{m}"
    );
    assert!(dir.aof_dir().join("appendonly.aof.1.incr.aof").exists());
    let _ = std::fs::remove_file(&tmp);
    // Writes go on, and the next rewrite succeeds.
    let _: () = q(&mut c, &["set", "more", "1"]);
    assert_eq!(q::<String>(&mut c, &["bgrewriteaof"]), "Background append only file rewriting started");
    wait_rewrite(&mut c);
    assert_eq!(info_field(&mut c, "aof_last_bgrewrite_status"), "ok");
    let _: i64 = q(&mut c, &["del", "more"]);
    assert_eq!(state(&mut c), before);
    drop(c);
    drop(s);
    let s = server(&dir, true, "");
    assert_eq!(state(&mut s.conn()), before);
}

#[test]
fn bgrewriteaof_with_the_aof_off_continues_the_numbering() {
    let dir = TempDir::new("offrewrite");
    drop(server(&dir, true, ""));
    let s = server(&dir, false, "");
    let mut c = s.conn();
    fill(&mut c);
    let before = state(&mut c);
    assert_eq!(q::<String>(&mut c, &["bgrewriteaof"]), "Background append only file rewriting started");
    wait_rewrite(&mut c);
    // A base only: with the AOF off there is no incr file to keep.
    assert_eq!(dir.manifest(), "file appendonly.aof.2.base.rdb seq 2 type b\n");
    drop(c);
    drop(s);
    let s = server(&dir, true, "");
    assert_eq!(state(&mut s.conn()), before);
}

#[test]
fn embedded_server_without_listener_keeps_its_aof() {
    use ferrodis::Frame;
    let dir = TempDir::new("embedded");
    let cfg = || {
        let mut c = Config::default();
        c.save.clear(); // no dump.rdb written to the working directory
        c.dir = dir.0.to_string_lossy().into_owned();
        c.appendonly = true;
        c.appendfsync = "always".into();
        c
    };
    actix_rt::System::new().block_on(async {
        let server = Server::new(cfg()).without_listener().start().await.unwrap();
        let c = server.client();
        assert_eq!(c.cmd(&["RPUSH", "l", "a", "b"]).await.unwrap(), Frame::Integer(2));
        assert_eq!(c.cmd(&["SET", "k", "v", "PX", "100000"]).await.unwrap(), Frame::Simple("OK".into()));
        drop(c);
        server.stop().await;
        let server = Server::new(cfg()).without_listener().start().await.unwrap();
        let c = server.client();
        assert_eq!(c.cmd(&["LLEN", "l"]).await.unwrap(), Frame::Integer(2));
        assert_eq!(c.cmd(&["GET", "k"]).await.unwrap(), Frame::Bulk(b"v".to_vec()));
        drop(c);
        server.stop().await;
    });
}

/// Regression (hardening issue, finding 7): a crash during BGREWRITEAOF left its temporary base file (and
/// possibly the temporary incr file and manifest) behind for good. Start-up removes them, whether the AOF
/// is on or off, and leaves the AOF itself and unrelated files alone.
#[test]
fn start_up_removes_temp_files_a_crash_left() {
    let dir = TempDir::new("tempfiles");
    {
        let s = server(&dir, true, "");
        let mut c = s.conn();
        let _: () = q(&mut c, &["set", "k", "v"]);
    }
    let leftovers = ["temp-rewriteaof-bg-4242.aof", "temp-appendonly.aof.incr", "temp-appendonly.aof.manifest"];
    let keep = ["temp-rewriteaof-bg-x.aof", "notes.txt"];
    let put = |names: &[&str]| {
        for n in names {
            std::fs::write(dir.aof_dir().join(n), b"*1\r\n$4\r\nPING\r\n".repeat(1000)).unwrap();
        }
    };
    let present = |n: &str| dir.aof_dir().join(n).exists();
    for appendonly in [true, false] {
        put(&leftovers);
        put(&keep);
        let s = server(&dir, appendonly, "");
        for n in leftovers {
            assert!(!present(n), "{n} left (appendonly {appendonly})");
        }
        for n in keep {
            assert!(present(n), "{n} removed (appendonly {appendonly})");
        }
        if appendonly {
            let mut c = s.conn();
            assert_eq!(q::<String>(&mut c, &["get", "k"]), "v");
        }
    }
    assert!(dir.manifest().contains("type b"));
}

#[test]
fn timestamp_annotations_and_empty_flushdb_reach_the_aof() {
    // aof.tcl's "Generate timestamp annotations in AOF" and "FLUSHDB / FLUSHALL should persist in AOF".
    let dir = TempDir::new("timestamps");
    let s = server(&dir, true, "appendfsync always");
    let mut c = s.conn();
    let _: () = q(&mut c, &["config", "set", "aof-timestamp-enabled", "yes"]);
    let _: () = q(&mut c, &["config", "set", "aof-use-rdb-preamble", "no"]);
    let _: () = q(&mut c, &["set", "foo", "bar"]);
    let incr = std::fs::read_to_string(dir.last_incr()).unwrap();
    assert!(incr.starts_with("#TS:"), "{incr:?}");
    // One annotation per second at most.
    let _: () = q(&mut c, &["set", "foo", "baz"]);
    let incr = std::fs::read_to_string(dir.last_incr()).unwrap();
    assert!(incr.matches("#TS:").count() <= 2, "{incr:?}");
    let _: () = q(&mut c, &["flushdb"]);
    let _: () = q(&mut c, &["flushdb"]);
    let incr = std::fs::read_to_string(dir.last_incr()).unwrap();
    assert_eq!(incr.matches("flushdb").count(), 2, "{incr:?}");
    let _: String = q(&mut c, &["bgrewriteaof"]);
    wait_rewrite(&mut c);
    let m = dir.manifest();
    let base = m.lines().find(|l| l.ends_with("type b")).unwrap().split(' ').nth(1).unwrap().to_string();
    let base = std::fs::read_to_string(dir.aof_dir().join(base)).unwrap();
    assert!(base.starts_with("#TS:"), "{base:?}");
    // The annotations load back.
    let _: () = q(&mut c, &["set", "k", "v"]);
    let _: () = q(&mut c, &["debug", "loadaof"]);
    assert_eq!(q::<Option<String>>(&mut c, &["get", "k"]).as_deref(), Some("v"));
}

#[test]
fn debug_aof_flush_sleep_delays_the_write_and_the_reply() {
    let dir = TempDir::new("flushsleep");
    let s = server(&dir, true, "appendfsync always");
    let mut c = s.conn();
    let _: () = q(&mut c, &["debug", "aof-flush-sleep", "300000"]);
    let t = std::time::Instant::now();
    let _: () = q(&mut c, &["set", "k", "v"]);
    // The reply waits for the write, which waits for the sleep.
    assert!(t.elapsed() >= Duration::from_millis(300), "{:?}", t.elapsed());
    assert!(std::fs::read_to_string(dir.last_incr()).unwrap().contains("$1\r\nk\r\n$1\r\nv"));
    let _: () = q(&mut c, &["debug", "aof-flush-sleep", "0"]);
    let _: () = q(&mut c, &["set", "k", "w"]);
    assert!(std::fs::read_to_string(dir.last_incr()).unwrap().contains("$1\r\nk\r\n$1\r\nw"));
}

#[test]
fn disable_auto_gc_keeps_history_until_turned_off() {
    // aof-multi-part.tcl's "AOF enable/disable auto gc".
    let dir = TempDir::new("autogc");
    let s = server(&dir, true, "");
    let mut c = s.conn();
    let _: () = q(&mut c, &["config", "set", "aof-disable-auto-gc", "yes"]);
    for _ in 0..2 {
        let _: () = q(&mut c, &["set", "k", "v"]);
        let _: String = q(&mut c, &["bgrewriteaof"]);
        wait_rewrite(&mut c);
    }
    let m = dir.manifest();
    let history: Vec<String> =
        m.lines().filter(|l| l.ends_with("type h")).map(|l| l.split(' ').nth(1).unwrap().to_string()).collect();
    // Two old bases and two old incr files, all still on disk.
    assert_eq!(history.len(), 4, "{m}");
    assert!(history.iter().all(|h| dir.aof_dir().join(h).exists()), "{m}");
    let _: () = q(&mut c, &["config", "set", "aof-disable-auto-gc", "no"]);
    // As in Redis, the manifest no longer lists them once CONFIG SET has replied.
    assert!(!dir.manifest().contains("type h"), "{}", dir.manifest());
    wait_for("the history to go", Duration::from_secs(10), || {
        !dir.manifest().contains("type h") && history.iter().all(|h| !dir.aof_dir().join(h).exists())
    });
    assert_eq!(dir.manifest().lines().count(), 2, "{}", dir.manifest());
}

/// aof_last_cow_size: what writes during a rewrite made it copy ahead of its steps (the memory of the keys
/// written before the rewrite reached them), as Redis reports its rewrite child's copy-on-write.
#[test]
fn a_rewrite_reports_what_writes_made_it_copy() {
    let dir = TempDir::new("aofcow");
    let s = server(&dir, true, "");
    let mut c = s.conn();
    wait_rewrite(&mut c);
    assert_eq!(info_field(&mut c, "aof_last_cow_size"), "0");
    let value = "A".repeat(500);
    for i in 0..100 {
        let _: () = q(&mut c, &["set", &format!("key{i}"), &value]);
    }
    // 100 ms a key: the rewrite has reached a few keys at most when the writes come.
    let _: () = q(&mut c, &["config", "set", "rdb-key-save-delay", "100000"]);
    let _: String = q(&mut c, &["bgrewriteaof"]);
    for i in 0..16 {
        let _: () = q(&mut c, &["setrange", &format!("key{i}"), "0", "BBBB"]);
    }
    let _: () = q(&mut c, &["config", "set", "rdb-key-save-delay", "0"]);
    wait_rewrite(&mut c);
    let cow: u64 = info_field(&mut c, "aof_last_cow_size").parse().unwrap();
    // Each of the 14 or more keys copied costs its 500-byte value and more.
    assert!(cow >= 14 * 500, "{cow}");
}

/// CONFIG SET appendonly no stops a rewrite in progress (Redis kills its child) and says so in the log with
/// the line operators and the suite look for; the rewrite's temp file goes with it.
#[test]
fn turning_the_aof_off_stops_a_running_rewrite() {
    let srv = common::child::start_child(
        "aof-off",
        None,
        &["--appendonly", "yes", "--aof-use-rdb-preamble", "no", "--enable-debug-command", "yes"],
    );
    let client = redis::Client::open(format!("redis://127.0.0.1:{}/", srv.port)).unwrap();
    let mut c = client.get_connection().unwrap();
    wait_rewrite(&mut c);
    let _: () = q(&mut c, &["set", "k", "v"]);
    // Ten seconds a key: the rewrite is still running when the AOF goes off.
    let _: () = q(&mut c, &["config", "set", "rdb-key-save-delay", "10000000"]);
    let _: String = q(&mut c, &["bgrewriteaof"]);
    let temp = srv.dir.join("appendonlydir").join(format!("temp-rewriteaof-bg-{}.aof", srv.child.id()));
    common::child::wait_secs(10, "the rewrite's temp file", || temp.exists());
    assert_eq!(info_field(&mut c, "aof_rewrite_in_progress"), "1");
    let _: () = q(&mut c, &["config", "set", "appendonly", "no"]);
    assert_eq!(info_field(&mut c, "aof_rewrite_in_progress"), "0");
    common::child::wait_secs(10, "the log line", || {
        common::child::read_log(&srv.log).contains("Killing running AOF rewrite child")
    });
    common::child::wait_secs(10, "the temp file to go", || !temp.exists());
}

/// redis.set_repl in a script: REPL_AOF effects reach the AOF only, REPL_REPLICA ones the replicas only,
/// REPL_NONE ones neither (the suite's "selective replication of certain Redis commands from Lua").
#[test]
fn set_repl_sends_each_effect_where_the_script_says() {
    use std::io::Write;
    let dir = TempDir::new("setrepl");
    let s = server(&dir, true, "");
    let mut c = s.conn();
    wait_rewrite(&mut c);
    let mut repl = s.raw();
    repl.write_all(b"SYNC\r\n").unwrap();
    // The snapshot is under way once its first bytes come: what the script does next is streamed.
    common::read_until(&mut repl, b"REDIS");
    let script = "redis.call('set','a','1') \
                  redis.set_repl(redis.REPL_NONE) redis.call('set','b','2') \
                  redis.set_repl(redis.REPL_AOF) redis.call('set','c','3') \
                  redis.set_repl(redis.REPL_REPLICA) redis.call('set','r','5') \
                  redis.set_repl(redis.REPL_ALL) redis.call('set','d','4')";
    let _: () = q(&mut c, &["eval", script, "0"]);
    let _: () = q(&mut c, &["set", "last", "1"]);
    let got = common::read_until(&mut repl, b"$4\r\nlast\r\n");
    let stream = String::from_utf8_lossy(&got).replace("\r\n", " ");
    assert!(stream.contains("$4 last"), "the stream ended early: {stream}");
    assert!(stream.contains("$1 a $1 1") && stream.contains("$1 r $1 5") && stream.contains("$1 d $1 4"), "{stream}");
    assert!(!stream.contains("$1 b $1 2") && !stream.contains("$1 c $1 3"), "{stream}");
    let _: () = q(&mut c, &["debug", "loadaof"]);
    let got: Vec<Option<String>> = q(&mut c, &["mget", "a", "b", "c", "r", "d", "last"]);
    let want = [Some("1"), None, Some("3"), None, Some("4"), Some("1")];
    assert_eq!(got, want.map(|v| v.map(String::from)).to_vec());
}
