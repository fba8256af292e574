//! SLOWLOG, LATENCY and INFO latencystats over real connections: entries carry the client's own address
//! and name, blocked commands are logged when served, the latency monitor hears slow commands and the
//! expire cycle, and per-command histograms follow latency-tracking (Redis 7.0.15's formats).

mod common;

use common::{q, read_until, wait_blocked, wait_for, TestServer};
use redis::{Connection, Value};
use std::io::Write;
use std::time::Duration;

/// SLOWLOG GET -1 as (argv, peer, name), newest first.
fn slowlog(con: &mut Connection) -> Vec<(Vec<String>, String, String)> {
    let entries: Vec<Value> = q(con, &["slowlog", "get", "-1"]);
    entries
        .into_iter()
        .map(|e| {
            let Value::Array(f) = e else { panic!("entry {e:?}") };
            assert_eq!(f.len(), 6);
            let argv: Vec<String> = redis::from_redis_value(&f[3]).unwrap();
            let peer: String = redis::from_redis_value(&f[4]).unwrap();
            let name: String = redis::from_redis_value(&f[5]).unwrap();
            (argv, peer, name)
        })
        .collect()
}

/// The connection's address as the server sees it (CLIENT INFO addr=).
fn own_addr(con: &mut Connection) -> String {
    let info: String = q(con, &["client", "info"]);
    info.split(' ').find_map(|f| f.strip_prefix("addr=")).unwrap().to_string()
}

#[test]
fn slowlog_entries_name_their_client() {
    let srv = TestServer::start();
    let mut a = srv.conn();
    let mut b = srv.conn();
    let _: () = q(&mut a, &["config", "set", "slowlog-log-slower-than", "0"]);
    let _: () = q(&mut b, &["client", "setname", "bee"]);
    let a_addr = own_addr(&mut a);
    let b_addr = own_addr(&mut b);
    let _: () = q(&mut a, &["slowlog", "reset"]);
    let _: () = q(&mut b, &["set", "k", "v"]);
    let _ = redis::cmd("AUTH").arg("secret").query::<()>(&mut a);
    let log = slowlog(&mut a);
    assert_eq!(log[0], (vec!["AUTH".into(), "(redacted)".into()], a_addr, String::new()));
    assert_eq!(log[1], (vec!["set".into(), "k".into(), "v".into()], b_addr, "bee".into()));
    assert_eq!(log[2].0, ["slowlog", "reset"]);
    assert_eq!(log.len(), 3);
    let n: i64 = q(&mut a, &["slowlog", "len"]);
    assert_eq!(n, 4, "the GET was logged after it ran");
}

#[test]
fn blocked_command_is_logged_when_served() {
    let srv = TestServer::start();
    let mut a = srv.conn();
    let _: () = q(&mut a, &["config", "set", "slowlog-log-slower-than", "0"]);
    let mut raw = srv.raw();
    let raw_addr = raw.local_addr().unwrap().to_string();
    raw.write_all(b"*3\r\n$5\r\nBLPOP\r\n$1\r\nl\r\n$1\r\n0\r\n").unwrap();
    wait_blocked(&mut a, 1);
    // Nothing is logged while it waits; it is logged once, when LPUSH serves it.
    let _: () = q(&mut a, &["slowlog", "reset"]);
    let _: i64 = q(&mut a, &["lpush", "l", "foo"]);
    assert_eq!(read_until(&mut raw, b"foo\r\n"), b"*2\r\n$1\r\nl\r\n$3\r\nfoo\r\n");
    let log = slowlog(&mut a);
    let blpops: Vec<_> = log.iter().filter(|e| e.0[0] == "BLPOP").collect();
    assert_eq!(blpops.len(), 1, "{log:?}");
    assert_eq!(blpops[0].0, ["BLPOP", "l", "0"]);
    assert_eq!(blpops[0].1, raw_addr);
}

#[test]
fn exec_and_scripts() {
    let srv = TestServer::start();
    let mut a = srv.conn();
    let _: () = q(&mut a, &["config", "set", "slowlog-log-slower-than", "0"]);
    let _: () = q(&mut a, &["slowlog", "reset"]);
    let _: Value = redis::pipe().atomic().cmd("SET").arg("x").arg("1").cmd("INCR").arg("x").query(&mut a).unwrap();
    let _: i64 = q(&mut a, &["eval", "return redis.call('incr', KEYS[1])", "1", "x"]);
    let log: Vec<String> = slowlog(&mut a).into_iter().map(|e| format!("{} {}", e.0.join(" "), e.1)).collect();
    let me = own_addr(&mut a);
    assert_eq!(
        log,
        [
            format!("eval return redis.call('incr', KEYS[1]) 1 x {me}"),
            "incr x ?:0".to_string(),
            format!("INCR x {me}"),
            format!("SET x 1 {me}"),
            format!("MULTI {me}"),
            format!("slowlog reset {me}"),
        ]
    );
}

#[test]
fn latency_monitor_and_histograms() {
    let srv = TestServer::start();
    let mut a = srv.conn();
    let _: () = q(&mut a, &["config", "set", "latency-monitor-threshold", "10"]);
    let _: () = q(&mut a, &["debug", "sleep", "0.02"]);
    let latest: Vec<(String, i64, i64, i64)> = q(&mut a, &["latency", "latest"]);
    assert_eq!(latest.len(), 1);
    assert_eq!(latest[0].0, "command");
    assert!(latest[0].2 >= 20 && latest[0].3 >= 20, "{latest:?}");
    let history: Vec<(i64, i64)> = q(&mut a, &["latency", "history", "command"]);
    assert_eq!(history, [(latest[0].1, latest[0].2)]);

    let _: () = q(&mut a, &["config", "resetstat"]);
    let _: () = q(&mut a, &["set", "a", "b"]);
    let _: () = q(&mut a, &["set", "a", "c"]);
    // RESP2: the maps come as flat arrays.
    let h: Vec<Value> = q(&mut a, &["latency", "histogram", "set", "nosuch"]);
    assert_eq!(h.len(), 2);
    assert_eq!(h[0], Value::BulkString(b"set".to_vec()));
    let Value::Array(fields) = &h[1] else { panic!("{h:?}") };
    assert_eq!(fields[0], Value::BulkString(b"calls".to_vec()));
    assert_eq!(fields[1], Value::Int(2));
    assert_eq!(fields[2], Value::BulkString(b"histogram_usec".to_vec()));
    let Value::Array(buckets) = &fields[3] else { panic!("{fields:?}") };
    assert_eq!(buckets.last(), Some(&Value::Int(2)), "cumulative counts end at the calls");
    let info: String = q(&mut a, &["info", "latencystats"]);
    let line = info.lines().find(|l| l.starts_with("latency_percentiles_usec_set:")).unwrap();
    let fields: Vec<&str> = line.split_once(':').unwrap().1.split(',').collect();
    assert_eq!(fields.len(), 3, "{line}");
    assert!(fields[0].starts_with("p50=") && fields[1].starts_with("p99=") && fields[2].starts_with("p99.9="));
}

#[test]
fn expire_cycle_is_a_latency_event() {
    let srv = TestServer::start();
    let mut a = srv.conn();
    let _: () = q(&mut a, &["config", "set", "latency-monitor-threshold", "1"]);
    // A set big enough that deleting it takes the expire cycle past 1 ms.
    let _: Value = q(
        &mut a,
        &["eval", "for i = 1, tonumber(ARGV[1]) do redis.call('sadd', KEYS[1], i) end", "1", "big", "300000"],
    );
    let _: () = q(&mut a, &["latency", "reset"]);
    let _: i64 = q(&mut a, &["pexpire", "big", "1"]);
    wait_for("big expired by the cycle", Duration::from_secs(10), || q::<i64>(&mut a, &["dbsize"]) == 0);
    wait_for("the expire-cycle event", Duration::from_secs(10), || {
        let latest: Vec<(String, i64, i64, i64)> = q(&mut a, &["latency", "latest"]);
        latest.iter().any(|e| e.0 == "expire-cycle")
    });
}

#[test]
fn command_surface_clients_probe() {
    let srv = TestServer::start();
    let mut a = srv.conn();
    // COMMAND alone: every command, as COMMAND INFO describes each.
    let all: Vec<Value> = q(&mut a, &["command"]);
    let count: i64 = q(&mut a, &["command", "count"]);
    assert_eq!(all.len() as i64, count);
    let info: Vec<Value> = q(&mut a, &["command", "info", "get"]);
    assert!(all.contains(&info[0]), "GET's entry is the same in both");
    let list: Vec<String> = q(&mut a, &["command", "list"]);
    assert!(list.contains(&"client|list".to_string()) && list.contains(&"set".to_string()));
    let scripting: Vec<String> = q(&mut a, &["command", "list", "filterby", "aclcat", "scripting"]);
    assert!(scripting.contains(&"eval".to_string()) && scripting.contains(&"script|kill".to_string()));
    assert!(!scripting.contains(&"set".to_string()));
    let pattern: Vec<String> = q(&mut a, &["command", "list", "filterby", "pattern", "config|*re*"]);
    let mut pattern = pattern;
    pattern.sort();
    assert_eq!(pattern, ["config|resetstat", "config|rewrite"]);
    let keys: Vec<(String, Vec<String>)> =
        q(&mut a, &["command", "getkeysandflags", "lmove", "k1", "k2", "left", "right"]);
    assert_eq!(
        keys,
        [
            ("k1".to_string(), vec!["RW".to_string(), "access".into(), "delete".into()]),
            ("k2".to_string(), vec!["RW".to_string(), "insert".into()])
        ]
    );
}

#[test]
fn loading_the_aof_feeds_no_histogram() {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let dir = std::env::temp_dir().join(format!("ferrodis-obs-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.to_string_lossy().into_owned();
    {
        let srv = TestServer::with_config(|c| {
            c.dir = path;
            c.appendonly = true;
        });
        let mut a = srv.conn();
        let _: () = q(&mut a, &["set", "a", "1"]);
        let _: () = q(&mut a, &["set", "b", "2"]);
        let _: () = q(&mut a, &["config", "resetstat"]);
        let _: () = q(&mut a, &["debug", "loadaof"]);
        let v: String = q(&mut a, &["get", "b"]);
        assert_eq!(v, "2", "the AOF was loaded");
        let h: Vec<Value> = q(&mut a, &["latency", "histogram", "set"]);
        assert!(h.is_empty(), "the loaded SETs are not client calls: {h:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// CLUSTER and ASKING are in the table (COMMAND LIST, scripts' noscript check) and answer Redis's standalone
/// error.
#[test]
fn cluster_commands_in_standalone_mode() {
    let srv = TestServer::start();
    let mut a = srv.conn();
    let helps: Vec<String> = q(&mut a, &["command", "list", "filterby", "pattern", "cl*help"]);
    let mut helps = helps;
    helps.sort();
    assert_eq!(helps, ["client|help", "cluster|help"]);
    assert_eq!(common::fails(&mut a, &["cluster", "info"]), "ERR This instance has cluster support disabled");
    assert_eq!(common::fails(&mut a, &["asking"]), "ERR This instance has cluster support disabled");
    let e = common::fails(&mut a, &["eval", "redis.call('cluster', 'reset', 'hard')", "0"]);
    assert!(e.contains("This Redis command is not allowed from script"), "{e}");
}

/// INFO's lazyfree counters: UNLINK of a big stream (one with groups and a PEL) hands it to the lazyfree
/// thread, a small one is freed in place (the suite's lazyfree unit).
#[test]
fn unlink_frees_big_values_in_the_background() {
    let srv = TestServer::start();
    let mut a = srv.conn();
    let info_field = |a: &mut Connection, f: &str| -> u64 {
        let info: String = q(a, &["info", "memory"]);
        let line = info.lines().find(|l| l.starts_with(&format!("{f}:"))).unwrap().to_string();
        line[f.len() + 1..].parse().unwrap()
    };
    let _: () = q(&mut a, &["config", "set", "stream-node-max-entries", "5"]);
    for j in 0..1000 {
        let _: String = q(&mut a, &["xadd", "stream", "*", "foo", &j.to_string()]);
    }
    let _: () = q(&mut a, &["xgroup", "create", "stream", "g", "0"]);
    let _: Value = q(&mut a, &["xreadgroup", "group", "g", "alice", "count", "2", "streams", "stream", ">"]);
    let _: () = q(&mut a, &["config", "resetstat"]);
    let n: i64 = q(&mut a, &["unlink", "stream"]);
    assert_eq!(n, 1);
    wait_for("the stream freed", Duration::from_secs(5), || {
        info_field(&mut a, "lazyfree_pending_objects") == 0 && info_field(&mut a, "lazyfreed_objects") == 1
    });
    let _: String = q(&mut a, &["xadd", "s", "*", "a", "b"]);
    let _: i64 = q(&mut a, &["unlink", "s"]);
    assert_eq!(info_field(&mut a, "lazyfreed_objects"), 1, "a one-entry stream is freed in place");
    let _: () = q(&mut a, &["config", "resetstat"]);
    assert_eq!(info_field(&mut a, "lazyfreed_objects"), 0);
}

/// The command surface is Redis 7.0.15's: its 240 commands, MODULE LIST empty, LOLWUT's version line,
/// RESTORE-ASKING as RESTORE.
#[test]
fn command_count_module_lolwut_restore_asking() {
    let srv = TestServer::start();
    let mut a = srv.conn();
    let count: i64 = q(&mut a, &["command", "count"]);
    assert_eq!(count, 240);
    let failover: Vec<Value> = q(&mut a, &["command", "info", "failover"]);
    assert_ne!(failover, [Value::Nil]);
    let modules: Vec<String> = q(&mut a, &["module", "list"]);
    assert!(modules.is_empty());
    assert!(common::fails(&mut a, &["module", "load", "/no/such.so"]).starts_with("ERR MODULE command not allowed."));
    let art: String = q(&mut a, &["lolwut"]);
    assert_eq!(art, "Redis ver. 7.0.15\n");
    let _: () = q(&mut a, &["set", "k", "v"]);
    let dump: Vec<u8> = q(&mut a, &["dump", "k"]);
    let _: () = redis::cmd("restore-asking").arg("k2").arg(0).arg(dump).query(&mut a).unwrap();
    let v: String = q(&mut a, &["get", "k2"]);
    assert_eq!(v, "v");
}

/// DEBUG MALLCTL / MALLCTL-STR reach jemalloc's controls as Redis's do: an integer read, a string read, a
/// write-only control taking VOID, and strerror's text for an unknown name.
#[cfg(not(target_env = "msvc"))]
#[test]
fn debug_mallctl_reads_and_writes_allocator_controls() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    let page: i64 = redis::cmd("DEBUG").arg("MALLCTL").arg("arenas.page").query(&mut con).unwrap();
    assert!(page >= 4096 && (page as u64).is_power_of_two(), "{page}");
    let version: String = redis::cmd("DEBUG").arg("MALLCTL-STR").arg("version").query(&mut con).unwrap();
    assert!(version.starts_with("5."), "{version}");
    let ok: String =
        redis::cmd("DEBUG").arg("MALLCTL-STR").arg("thread.tcache.flush").arg("VOID").query(&mut con).unwrap();
    assert_eq!(ok, "OK");
    let err = redis::cmd("DEBUG").arg("MALLCTL").arg("no.such.control").query::<i64>(&mut con).unwrap_err();
    assert_eq!(common::err_text(err), "ERR No such file or directory");
}
