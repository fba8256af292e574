//! maxmemory as a cache, end to end: every policy under a filling load, `evicted` events, evictions in the
//! AOF, OOM when nothing may go, and the Evictor finishing what a CONFIG SET started.
//!
//! used_memory is the process's allocator count, shared by every server of this test binary: the tests
//! take `common::serial()` so that one server's load does not make another evict, and limits are set
//! relative to the memory in use when each test starts.

mod common;

use common::{fails, q, resp, serial, wait_for, TestServer};
use redis::Connection;
use std::path::PathBuf;
use std::time::Duration;

fn info_u64(con: &mut Connection, section: &str, field: &str) -> u64 {
    let info: String = q(con, &["info", section]);
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")).map(|v| v.trim().parse().unwrap()))
        .unwrap_or_else(|| panic!("no {field} in {info}"))
}

/// Slack over maxmemory for a check of used_memory: the test's own client and the reply buffers live in
/// this process too.
const SLACK: u64 = 256 * 1024;

#[test]
fn every_policy_keeps_memory_under_the_limit_and_evicts_only_what_it_may() {
    let _g = serial();
    let srv = TestServer::start();
    let mut con = srv.conn();
    let value = "x".repeat(100);
    for policy in [
        "allkeys-lru",
        "allkeys-lfu",
        "allkeys-random",
        "volatile-lru",
        "volatile-lfu",
        "volatile-random",
        "volatile-ttl",
    ] {
        let _: () = q(&mut con, &["config", "set", "maxmemory", "0"]);
        let _: () = q(&mut con, &["flushall"]);
        let _: () = q(&mut con, &["config", "resetstat"]);
        let limit = info_u64(&mut con, "memory", "used_memory") + 2 * 1024 * 1024;
        let _: () = q(&mut con, &["config", "set", "maxmemory-policy", policy]);
        let _: () = q(&mut con, &["config", "set", "maxmemory", &limit.to_string()]);
        // 30,000 keys of ~200 bytes each: about three times the room. The first 1,000 even keys have no TTL.
        let mut p = redis::pipe();
        for i in 0..30_000 {
            let k = format!("k:{i}");
            if i % 2 == 0 && i < 2_000 {
                p.cmd("SET").arg(&k).arg(&value).ignore();
            } else {
                p.cmd("SET").arg(&k).arg(&value).arg("EX").arg(10_000 + i).ignore();
            }
            if i % 500 == 499 {
                let _: () = p.query(&mut con).unwrap();
                p = redis::pipe();
            }
        }
        let used = info_u64(&mut con, "memory", "used_memory");
        assert!(used < limit + SLACK, "{policy}: used {used} over limit {limit}");
        let evicted = info_u64(&mut con, "stats", "evicted_keys");
        let dbsize: u64 = q(&mut con, &["dbsize"]);
        assert!(evicted > 10_000, "{policy}: evicted {evicted}");
        assert_eq!(dbsize + evicted, 30_000, "{policy}");
        let persistent: u64 = (0..2_000).step_by(2).map(|i| q::<u64>(&mut con, &["exists", &format!("k:{i}")])).sum();
        if policy.starts_with("volatile") {
            // The 1,000 keys without a TTL are all still there.
            assert_eq!(persistent, 1_000, "{policy} evicted keys without a TTL");
        } else {
            // These are the oldest keys (or a third of everything, at random): allkeys-* evicts them too.
            assert!(persistent < 1_000, "{policy} evicted no key without a TTL");
        }
        if policy == "volatile-ttl" {
            // Soonest expiry first: the last keys written (latest expiries) survive.
            let n: u64 = q(&mut con, &["exists", "k:29999"]);
            assert_eq!(n, 1);
        }
    }
    let _: () = q(&mut con, &["config", "set", "maxmemory", "0"]);
}

#[test]
fn nothing_evictable_means_oom_for_writes_only() {
    let _g = serial();
    let srv = TestServer::start();
    let mut con = srv.conn();
    for i in 0..100 {
        let _: () = q(&mut con, &["set", &format!("p:{i}"), "v"]);
    }
    let _: () = q(&mut con, &["config", "set", "maxmemory-policy", "volatile-lru"]);
    let _: () = q(&mut con, &["config", "set", "maxmemory", "1"]);
    assert_eq!(fails(&mut con, &["set", "x", "1"]), "OOM command not allowed when used memory > 'maxmemory'.");
    let v: String = q(&mut con, &["get", "p:1"]);
    assert_eq!(v, "v");
    let n: u64 = q(&mut con, &["dbsize"]);
    assert_eq!(n, 100);
    assert_eq!(info_u64(&mut con, "stats", "evicted_keys"), 0);
    let _: () = q(&mut con, &["config", "set", "maxmemory", "0"]);
    let _: () = q(&mut con, &["set", "x", "1"]);
}

#[test]
fn evictions_publish_evicted_events() {
    let _g = serial();
    let srv = TestServer::start();
    let mut con = srv.conn();
    let _: () = q(&mut con, &["config", "set", "notify-keyspace-events", "Ee"]);
    let mut sub = srv.conn();
    let mut ps = sub.as_pubsub();
    ps.subscribe("__keyevent@0__:evicted").unwrap();
    ps.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let _: () = q(&mut con, &["set", "victim", "v"]);
    let _: () = q(&mut con, &["config", "set", "maxmemory-policy", "allkeys-random"]);
    let _: () = q(&mut con, &["config", "set", "maxmemory", "1"]);
    let msg = ps.get_message().unwrap();
    assert_eq!(msg.get_channel_name(), "__keyevent@0__:evicted");
    assert_eq!(msg.get_payload::<String>().unwrap(), "victim");
    let _: () = q(&mut con, &["config", "set", "maxmemory", "0"]);
}

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let p = std::env::temp_dir().join(format!("ferrodis-evict-{name}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Everything in the AOF directory's incr files.
fn aof_text(dir: &TempDir) -> String {
    let mut out = String::new();
    for e in std::fs::read_dir(dir.0.join("appendonlydir")).unwrap() {
        let p = e.unwrap().path();
        if p.to_string_lossy().ends_with(".incr.aof") {
            out.push_str(&String::from_utf8_lossy(&std::fs::read(p).unwrap()));
        }
    }
    out
}

#[test]
fn evictions_reach_the_aof_as_del_or_unlink_and_the_evictor_finishes_the_job() {
    let _g = serial();
    for (lazy, word) in [("no", "DEL"), ("yes", "UNLINK")] {
        let dir = TempDir::new(word);
        let path = dir.0.to_string_lossy().into_owned();
        let srv = TestServer::with_config(move |c| {
            c.dir = path;
            c.appendonly = true;
            c.load_str("appendfsync always\n", None).unwrap();
        });
        let mut con = srv.conn();
        let _: () = q(&mut con, &["config", "set", "lazyfree-lazy-eviction", lazy]);
        // Tenacity 0: each run stops after 16 keys, so most of the work is the Evictor's, between batches.
        let _: () = q(&mut con, &["config", "set", "maxmemory-eviction-tenacity", "0"]);
        for i in 0..500 {
            let _: () = q(&mut con, &["set", &format!("aofkey:{i}"), "v"]);
        }
        let _: () = q(&mut con, &["config", "set", "maxmemory-policy", "allkeys-lru"]);
        // No command follows this one: the Evictor alone empties the database.
        let _: () = q(&mut con, &["config", "set", "maxmemory", "1"]);
        wait_for("every key evicted into the AOF", Duration::from_secs(10), || {
            aof_text(&dir).matches(&format!("${}\r\n{word}\r\n", word.len())).count() == 500
        });
        let n: u64 = q(&mut con, &["dbsize"]);
        assert_eq!(n, 0);
        let text = aof_text(&dir);
        for i in [0, 250, 499] {
            let key = format!("aofkey:{i}");
            assert!(text.contains(&format!("{word}\r\n${}\r\n{key}\r\n", key.len())), "{key}");
        }
        let _: () = q(&mut con, &["config", "set", "maxmemory", "0"]);
    }
}

#[test]
fn object_freq_and_idletime_follow_the_policy_family() {
    let _g = serial();
    let srv = TestServer::start();
    let mut con = srv.conn();
    let _: () = q(&mut con, &["set", "k", "v"]);
    let idle: u64 = q(&mut con, &["object", "idletime", "k"]);
    assert!(idle < 5);
    assert!(fails(&mut con, &["object", "freq", "k"]).starts_with("ERR An LFU maxmemory policy is not selected"));
    let _: () = q(&mut con, &["config", "set", "maxmemory-policy", "allkeys-lfu"]);
    let _: () = q(&mut con, &["set", "f", "v"]);
    let freq: u64 = q(&mut con, &["object", "freq", "f"]);
    assert_eq!(freq, 5);
    // lfu-log-factor 0: every access counts.
    let _: () = q(&mut con, &["config", "set", "lfu-log-factor", "0"]);
    for _ in 0..10 {
        let _: String = q(&mut con, &["get", "f"]);
    }
    let freq: u64 = q(&mut con, &["object", "freq", "f"]);
    assert_eq!(freq, 15);
    assert!(fails(&mut con, &["object", "idletime", "f"]).starts_with("ERR An LFU maxmemory policy is selected"));
}

/// Tracking clients hear of every eviction, and their invalidations are memory until written: they must not
/// make the next command (or the Evictor) evict again, round after round, until the database is gone (the
/// suite's "client tracking don't cause eviction feedback loop", with its figures). A server process of its
/// own, so that used_memory is the server's alone; several rounds, as the loop depended on timing.
#[test]
fn tracking_invalidations_do_not_feed_eviction_back() {
    use std::io::Write;
    let srv = common::child::start_child("evict-feedback", None, &[]);
    let client = redis::Client::open(format!("redis://127.0.0.1:{}/", srv.port)).unwrap();
    let mut con = client.get_connection().unwrap();
    for round in 0..5 {
        for args in [
            &["config", "set", "maxmemory", "0"][..],
            &["flushall"],
            // As the suite: no per-command histograms allocated on a command's first call in between.
            &["config", "set", "latency-tracking", "no"],
            &["config", "set", "maxmemory-policy", "allkeys-lru"],
            &["config", "set", "maxmemory-eviction-tenacity", "100"],
            &["config", "resetstat"],
        ] {
            let _: () = q(&mut con, args);
        }
        let mut trackers: Vec<std::net::TcpStream> = (0..10)
            .map(|_| {
                let mut s = std::net::TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
                s.write_all(b"HELLO 3\r\n").unwrap();
                common::read_hello3(&mut s);
                s.write_all(&resp(&["client", "tracking", "on"])).unwrap();
                common::read_until(&mut s, b"+OK\r\n");
                s
            })
            .collect();
        // 300 keys with 1000-byte names, each read by every tracking client.
        for j in 0..300 {
            let key = format!("{j}{}", "x".repeat(1000));
            let _: () = q(&mut con, &["set", &key, "x"]);
            for t in &mut trackers {
                t.write_all(&resp(&["get", &key])).unwrap();
                common::read_until(t, b"$1\r\nx\r\n");
            }
        }
        // A limit that evicts some 40 KB of keys: their invalidations to ten clients are more than that.
        let used = info_u64(&mut con, "memory", "used_memory");
        let _: () = q(&mut con, &["config", "set", "maxmemory", &(used - 40_000).to_string()]);
        let evicted = info_u64(&mut con, "stats", "evicted_keys");
        let keys: u64 = q(&mut con, &["dbsize"]);
        assert!(
            (200..=300).contains(&keys) && (10..=50).contains(&evicted),
            "round {round}: {keys} keys left, {evicted} evicted"
        );
        drop(trackers);
        wait_for("the trackers to go", Duration::from_secs(10), || {
            info_u64(&mut con, "clients", "connected_clients") == 1
        });
    }
}
