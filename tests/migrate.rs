//! MIGRATE between two in-process ferrodis servers (every type, COPY, REPLACE, KEYS, BUSYKEY, NOKEY, AUTH and
//! AUTH2, an unreachable or silent target, cached connections), and from ferrodis to the redis-server found on
//! PATH for strings (skipped, saying why, when there is none).

mod common;

use common::real_redis::real_redis;
use common::{fails, q, wait_for, TestServer};
use redis::{cmd, Connection, Value};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

fn port(s: &TestServer) -> String {
    s.addr().port().to_string()
}

/// MIGRATE from `from`'s connection to `to` (127.0.0.1), with `rest` after the key, db and timeout.
fn migrate(con: &mut Connection, to: &str, key: &str, db: &str, rest: &[&str]) -> Result<String, String> {
    cmd("MIGRATE")
        .arg("127.0.0.1")
        .arg(to)
        .arg(key)
        .arg(db)
        .arg("5000")
        .arg(rest)
        .query::<String>(con)
        .map_err(common::err_text)
}

fn info_field(con: &mut Connection, section: &str, field: &str) -> String {
    let info: String = cmd("INFO").arg(section).query(con).unwrap();
    let prefix = format!("{field}:");
    info.lines().find_map(|l| l.strip_prefix(prefix.as_str())).unwrap_or("").trim().to_string()
}

#[test]
fn moves_every_type_with_ttls_and_deletes_the_source() {
    let (a, b) = (TestServer::start(), TestServer::start());
    let (mut src, mut dst) = (a.conn(), b.conn());
    let _: () = q(&mut src, &["set", "s", "hello"]);
    let _: () = q(&mut src, &["set", "n", "12345"]);
    let _: i64 = q(&mut src, &["rpush", "l", "a", "b", "c"]);
    let _: i64 = q(&mut src, &["hset", "h", "f", "v", "g", "w"]);
    let _: i64 = q(&mut src, &["sadd", "st", "1", "2", "x"]);
    let _: i64 = q(&mut src, &["zadd", "z", "1.5", "a", "2", "b"]);
    let _: String = q(&mut src, &["xadd", "x", "1-1", "f", "v"]);
    let _: () = q(&mut src, &["xgroup", "create", "x", "g", "0"]);
    let _: () = q(&mut src, &["set", "t", "v", "ex", "100"]);
    let before: Vec<String> =
        cmd("DEBUG").arg("DIGEST-VALUE").arg(&["s", "n", "l", "h", "st", "z", "x", "t"]).query(&mut src).unwrap();
    for k in ["s", "n", "l", "h", "st", "z", "x", "t"] {
        assert_eq!(migrate(&mut src, &port(&b), k, "0", &[]), Ok("OK".into()), "{k}");
    }
    let n: i64 = q(&mut src, &["dbsize"]);
    assert_eq!(n, 0);
    let after: Vec<String> =
        cmd("DEBUG").arg("DIGEST-VALUE").arg(&["s", "n", "l", "h", "st", "z", "x", "t"]).query(&mut dst).unwrap();
    assert_eq!(after, before);
    let ttl: i64 = q(&mut dst, &["ttl", "t"]);
    assert!((95..=100).contains(&ttl), "{ttl}");
    let ttl: i64 = q(&mut dst, &["ttl", "s"]);
    assert_eq!(ttl, -1);
    let groups: Vec<Value> = q(&mut dst, &["xinfo", "groups", "x"]);
    assert_eq!(groups.len(), 1);
    // Into another database of the target.
    let _: () = q(&mut src, &["set", "other", "1"]);
    assert_eq!(migrate(&mut src, &port(&b), "other", "5", &[]), Ok("OK".into()));
    let _: () = q(&mut dst, &["select", "5"]);
    let v: String = q(&mut dst, &["get", "other"]);
    assert_eq!(v, "1");
    // A target database that does not exist: the target's SELECT error.
    let _: () = q(&mut src, &["set", "k", "v"]);
    assert_eq!(
        migrate(&mut src, &port(&b), "k", "99", &[]),
        Err("ERR Target instance replied with error: ERR DB index is out of range".into())
    );
    let n: i64 = q(&mut src, &["exists", "k"]);
    assert_eq!(n, 1);
}

#[test]
fn copy_replace_busykey_nokey_and_the_keys_form() {
    let (a, b) = (TestServer::start(), TestServer::start());
    let (mut src, mut dst) = (a.conn(), b.conn());
    let _: i64 = q(&mut src, &["lpush", "list", "a", "b", "c", "d"]);
    assert_eq!(migrate(&mut src, &port(&b), "list", "0", &["copy"]), Ok("OK".into()));
    let (mine, theirs): (Vec<String>, Vec<String>) =
        (q(&mut src, &["lrange", "list", "0", "-1"]), q(&mut dst, &["lrange", "list", "0", "-1"]));
    assert_eq!(mine, theirs);
    // The target has the key now: BUSYKEY without REPLACE, and the source keeps it.
    let _: i64 = q(&mut src, &["rpush", "list", "e"]);
    assert_eq!(
        migrate(&mut src, &port(&b), "list", "0", &[]),
        Err("ERR Target instance replied with error: BUSYKEY Target key name already exists.".into())
    );
    let n: i64 = q(&mut src, &["exists", "list"]);
    assert_eq!(n, 1);
    assert_eq!(migrate(&mut src, &port(&b), "list", "0", &["replace"]), Ok("OK".into()));
    let theirs: Vec<String> = q(&mut dst, &["lrange", "list", "0", "-1"]);
    assert_eq!(theirs, ["d", "c", "b", "a", "e"]);
    let n: i64 = q(&mut src, &["exists", "list"]);
    assert_eq!(n, 0);
    // Nothing to move.
    assert_eq!(migrate(&mut src, &port(&b), "nokey", "0", &[]), Ok("NOKEY".into()));
    assert_eq!(migrate(&mut src, &port(&b), "", "0", &["keys", "no1", "no2"]), Ok("NOKEY".into()));
    assert_eq!(
        migrate(&mut src, &port(&b), "k", "0", &["keys", "a"]),
        Err("ERR When using MIGRATE KEYS option, the key argument must be set to the empty string".into())
    );
    // KEYS: the keys present go, the missing ones are skipped; busy ones stay and the first error is the reply.
    let _: () = q(&mut src, &["mset", "a", "1", "b", "2", "c", "3", "d", "4", "e", "5"]);
    let _: () = q(&mut dst, &["mset", "c", "_", "d", "_"]);
    assert_eq!(
        migrate(&mut src, &port(&b), "", "0", &["keys", "a", "missing", "b", "c", "d", "e"]),
        Err("ERR Target instance replied with error: BUSYKEY Target key name already exists.".into())
    );
    let left: Vec<String> = q(&mut src, &["keys", "*"]);
    let mut left = left;
    left.sort();
    assert_eq!(left, ["c", "d"]);
    let vals: Vec<String> = q(&mut dst, &["mget", "a", "b", "c", "d", "e"]);
    assert_eq!(vals, ["1", "2", "_", "_", "5"]);
    // Replies to the commands pipelined after MIGRATE come after its own, in order.
    let _: () = q(&mut src, &["set", "p", "v"]);
    let mut raw = a.raw();
    let to = port(&b);
    let req = format!(
        "*6\r\n$7\r\nMIGRATE\r\n$9\r\n127.0.0.1\r\n${}\r\n{to}\r\n$1\r\np\r\n$1\r\n0\r\n$4\r\n5000\r\n*2\r\n$6\r\nEXISTS\r\n$1\r\np\r\nPING\r\n",
        to.len()
    );
    raw.write_all(req.as_bytes()).unwrap();
    let got = common::read_n(&mut raw, b"+OK\r\n:0\r\n+PONG\r\n".len());
    assert_eq!(String::from_utf8_lossy(&got), "+OK\r\n:0\r\n+PONG\r\n");
}

#[test]
fn auth_and_auth2_to_a_target_with_requirepass() {
    let a = TestServer::start();
    let b = TestServer::with_config(|c| c.requirepass = "foobar".into());
    let mut src = a.conn();
    let _: i64 = q(&mut src, &["lpush", "list", "a", "b", "c", "d"]);
    // Without AUTH the target refuses every command.
    let e = migrate(&mut src, &port(&b), "list", "0", &[]).unwrap_err();
    assert_eq!(e, "ERR Target instance replied with error: NOAUTH Authentication required.");
    assert_eq!(migrate(&mut src, &port(&b), "list", "0", &["auth", "foobar"]), Ok("OK".into()));
    let mut dst = redis::Client::open(format!("redis://:foobar@{}/", b.addr())).unwrap().get_connection().unwrap();
    let theirs: Vec<String> = q(&mut dst, &["lrange", "list", "0", "-1"]);
    assert_eq!(theirs, ["d", "c", "b", "a"]);
    let _: i64 = q(&mut src, &["lpush", "list", "x"]);
    let e = migrate(&mut src, &port(&b), "list", "0", &["auth", "wrong"]).unwrap_err();
    assert_eq!(
        e,
        "ERR Target instance replied with error: WRONGPASS invalid username-password pair or user is disabled."
    );
    let n: i64 = q(&mut src, &["exists", "list"]);
    assert_eq!(n, 1);
    assert_eq!(migrate(&mut src, &port(&b), "list", "0", &["auth2", "default", "foobar", "replace"]), Ok("OK".into()));
    let theirs: Vec<String> = q(&mut dst, &["lrange", "list", "0", "-1"]);
    assert_eq!(theirs, ["x"]);
    // The password is not in the slow log or MONITOR form of the command (redacted as Redis does).
    let _: () = q(&mut src, &["config", "set", "slowlog-log-slower-than", "0"]);
    let _: () = q(&mut src, &["set", "k", "v"]);
    let _ = migrate(&mut src, &port(&b), "k", "0", &["auth", "foobar"]);
    let log: Value = q(&mut src, &["slowlog", "get", "2"]);
    let text = flatten(&log).join(" ");
    assert!(text.contains("(redacted)") && !text.contains("foobar"), "{text}");
}

/// Every string in a reply, depth first.
fn flatten(v: &Value) -> Vec<String> {
    match v {
        Value::BulkString(b) => vec![String::from_utf8_lossy(b).into_owned()],
        Value::SimpleString(s) => vec![s.clone()],
        Value::Array(items) => items.iter().flat_map(flatten).collect(),
        _ => Vec::new(),
    }
}

#[test]
fn unreachable_and_silent_targets_give_ioerr_and_the_server_waits_meanwhile() {
    let a = TestServer::start();
    let mut src = a.conn();
    let _: () = q(&mut src, &["set", "k", "v"]);
    // Nothing listens on this port.
    let dead = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port().to_string();
    let e = cmd("MIGRATE").arg(&["127.0.0.1", &dead, "k", "0", "200"]).query::<String>(&mut src).unwrap_err();
    assert_eq!(common::err_text(e), "IOERR error or timeout connecting to the client");
    // A target that accepts and reads but never answers: the read times out; the key stays.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port().to_string();
    let (seen_tx, seen_rx) = std::sync::mpsc::channel();
    let holder = std::thread::spawn(move || {
        let (mut s, _) = silent.accept().unwrap();
        let mut buf = [0u8; 4096];
        let n = s.read(&mut buf).unwrap();
        seen_tx.send(String::from_utf8_lossy(&buf[..n]).into_owned()).unwrap();
        // Keep the connection open (and silent) until the client gave up.
        let _ = s.read(&mut buf);
    });
    let mut other = a.conn();
    let addr = a.addr();
    let started = Instant::now();
    let migrating = std::thread::spawn(move || {
        let mut c = redis::Client::open(format!("redis://{addr}/")).unwrap().get_connection().unwrap();
        let r = cmd("MIGRATE").arg(&["127.0.0.1", &silent_port, "k", "3", "600"]).query::<String>(&mut c);
        (r.map_err(common::err_text), Instant::now())
    });
    let sent = seen_rx.recv_timeout(Duration::from_secs(10)).expect("the target got the commands");
    assert!(
        sent.starts_with("*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n*4\r\n$7\r\nRESTORE\r\n$1\r\nk\r\n$1\r\n0\r\n"),
        "{sent:?}"
    );
    // While MIGRATE waits for its target, other clients wait too (as with Redis's blocking MIGRATE).
    let pong: String = q(&mut other, &["ping"]);
    let pong_at = Instant::now();
    assert_eq!(pong, "PONG");
    let (res, migrate_done) = migrating.join().unwrap();
    assert_eq!(res, Err("IOERR error or timeout reading to target instance".into()));
    // PING was sent after the target had the commands, so after the wait began; it was answered only when
    // the 600 ms read timeout had passed.
    assert!(pong_at.duration_since(started) >= Duration::from_millis(600), "PING was answered during MIGRATE");
    assert!(migrate_done.duration_since(started) >= Duration::from_millis(600));
    let n: i64 = q(&mut other, &["exists", "k"]);
    assert_eq!(n, 1);
    holder.join().unwrap();
    // A failed connection is not cached.
    assert_eq!(info_field(&mut other, "stats", "migrate_cached_sockets"), "0");
    let errs = info_field(&mut other, "commandstats", "cmdstat_migrate");
    assert!(errs.contains("calls=2") && errs.contains("failed_calls=2"), "{errs}");
}

#[test]
fn connections_are_cached_select_is_sent_once_and_a_closed_one_is_replaced() {
    let (a, b) = (TestServer::start(), TestServer::start());
    let (mut src, mut dst) = (a.conn(), b.conn());
    assert_eq!(info_field(&mut src, "stats", "migrate_cached_sockets"), "0");
    for k in ["a", "b", "c", "d"] {
        let _: () = q(&mut src, &["set", k, "v"]);
    }
    assert_eq!(migrate(&mut src, &port(&b), "a", "2", &[]), Ok("OK".into()));
    assert_eq!(info_field(&mut src, "stats", "migrate_cached_sockets"), "1");
    assert_eq!(migrate(&mut src, &port(&b), "b", "2", &[]), Ok("OK".into()));
    let select = info_field(&mut dst, "commandstats", "cmdstat_select");
    assert!(select.starts_with("calls=1,"), "one SELECT for two MIGRATEs to db 2: {select}");
    let restore = info_field(&mut dst, "commandstats", "cmdstat_restore");
    assert!(restore.starts_with("calls=2,"), "{restore}");
    // The target closes the cached connection: the next MIGRATE reconnects (and SELECTs) without an error.
    let clients: String = q(&mut dst, &["client", "list"]);
    let id = clients
        .lines()
        .find(|l| l.contains("cmd=restore"))
        .and_then(|l| l.split(' ').find_map(|f| f.strip_prefix("id=")))
        .expect("the MIGRATE connection")
        .to_string();
    let killed: i64 = q(&mut dst, &["client", "kill", "id", &id]);
    assert_eq!(killed, 1);
    assert_eq!(migrate(&mut src, &port(&b), "c", "2", &[]), Ok("OK".into()));
    let select = info_field(&mut dst, "commandstats", "cmdstat_select");
    assert!(select.starts_with("calls=2,"), "{select}");
    let _: () = q(&mut dst, &["select", "2"]);
    let n: i64 = q(&mut dst, &["exists", "a", "b", "c"]);
    assert_eq!(n, 3);
    // Unused for more than 10 seconds, the connection is closed by the cron.
    wait_for("the cached connection to be closed", Duration::from_secs(20), || {
        info_field(&mut src, "stats", "migrate_cached_sockets") == "0"
    });
}

#[test]
fn command_info_and_getkeys() {
    let a = TestServer::start();
    let mut c = a.conn();
    let keys: Vec<String> = q(&mut c, &["command", "getkeys", "migrate", "h", "1", "", "0", "5", "keys", "a", "b"]);
    assert_eq!(keys, ["a", "b"]);
    let keys: Vec<String> = q(&mut c, &["command", "getkeys", "migrate", "h", "1", "k", "0", "5", "copy"]);
    assert_eq!(keys, ["k"]);
    let e = fails(&mut c, &["migrate", "h", "1", "k", "0"]);
    assert_eq!(e, "ERR wrong number of arguments for 'migrate' command");
    // Same COMMAND INFO as redis-server's, when there is one to ask.
    if let Ok(r) = real_redis("info") {
        let mut theirs =
            redis::Client::open(format!("redis://127.0.0.1:{}/", r.port)).unwrap().get_connection().unwrap();
        let want: Value = q(&mut theirs, &["command", "info", "migrate"]);
        let got: Value = q(&mut c, &["command", "info", "migrate"]);
        assert_eq!(got, want);
    }
}

// ---- redis-server as the target ----

#[test]
fn strings_move_to_redis_server() {
    let r = match real_redis("strings") {
        Ok(r) => r,
        Err(why) => {
            println!("skipped: {why}");
            return;
        }
    };
    let a = TestServer::start();
    let mut src = a.conn();
    let mut dst = redis::Client::open(format!("redis://127.0.0.1:{}/", r.port)).unwrap().get_connection().unwrap();
    let to = r.port.to_string();
    let big = "x".repeat(200_000);
    let _: () = q(&mut src, &["mset", "s", "hello", "n", "-12345", "e", "", "big", &big]);
    let _: () = q(&mut src, &["set", "t", "v", "px", "50000"]);
    let keys = ["s", "n", "e", "big", "t"];
    let want: Vec<String> = cmd("DEBUG").arg("DIGEST-VALUE").arg(&keys).query(&mut src).unwrap();
    assert_eq!(migrate(&mut src, &to, "", "9", &["keys", "s", "n", "e", "big", "t", "absent"]), Ok("OK".into()));
    let n: i64 = q(&mut src, &["dbsize"]);
    assert_eq!(n, 0);
    let _: () = q(&mut dst, &["select", "9"]);
    let got: Vec<String> = cmd("DEBUG").arg("DIGEST-VALUE").arg(&keys).query(&mut dst).unwrap();
    assert_eq!(got, want);
    let v: String = q(&mut dst, &["get", "big"]);
    assert_eq!(v.len(), 200_000);
    let pttl: i64 = q(&mut dst, &["pttl", "t"]);
    assert!(pttl > 40_000 && pttl <= 50_000, "{pttl}");
    // redis-server's own errors come through: BUSYKEY, then REPLACE.
    let _: () = q(&mut src, &["set", "s", "again"]);
    assert_eq!(
        migrate(&mut src, &to, "s", "9", &["copy"]),
        Err("ERR Target instance replied with error: BUSYKEY Target key name already exists.".into())
    );
    assert_eq!(migrate(&mut src, &to, "s", "9", &["copy", "replace"]), Ok("OK".into()));
    let v: String = q(&mut dst, &["get", "s"]);
    assert_eq!(v, "again");
    let n: i64 = q(&mut src, &["exists", "s"]);
    assert_eq!(n, 1);
    // redis-server's MIGRATE timeout test: the target sleeps, the read times out.
    let port = r.port;
    let sleeper = std::thread::spawn(move || {
        let mut c = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap().get_connection().unwrap();
        let _: () = cmd("DEBUG").arg("SLEEP").arg("1.5").query(&mut c).unwrap();
    });
    wait_for("redis-server to be asleep", Duration::from_secs(5), || {
        // A connect succeeds, but PING gets no answer within 100 ms while DEBUG SLEEP holds the server.
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
        s.write_all(b"PING\r\n").unwrap();
        let mut buf = [0u8; 16];
        s.read(&mut buf).is_err()
    });
    let e = cmd("MIGRATE").arg(&["127.0.0.1", &to, "s", "9", "300", "replace"]).query::<String>(&mut src).unwrap_err();
    assert_eq!(common::err_text(e), "IOERR error or timeout reading to target instance");
    sleeper.join().unwrap();
}
