//! DEBUG DIGEST and DEBUG DIGEST-VALUE against redis-server itself: the same commands go to an in-process
//! ferrodis and to the redis-server found on PATH (started here on a spare port, `--enable-debug-command
//! yes`), every type in its small and big encodings, streams with groups and deleted entries, keys with a
//! TTL, several databases; both servers must give the same digests. Skipped, saying why, when there is no
//! redis-server 7 on PATH.

mod common;

use common::real_redis::{real_redis, real_redis_with};
use common::TestServer;
use redis::{cmd, Connection};
use std::time::{Duration, Instant};

fn connect(addr: &str) -> Connection {
    redis::Client::open(format!("redis://{addr}/")).unwrap().get_connection().unwrap()
}

/// The commands both servers get: every type, small (listpack, intset, embstr/int) and big (quicklist,
/// hashtable, skiplist, raw), in databases 0, 1 and 15.
fn dataset() -> Vec<Vec<String>> {
    let mut c: Vec<Vec<String>> = Vec::new();
    let mut add = |args: Vec<String>| c.push(args);
    let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let with = |head: &[&str], tail: Vec<String>| {
        let mut a: Vec<String> = head.iter().map(|s| s.to_string()).collect();
        a.extend(tail);
        a
    };
    add(v(&["select", "0"]));
    // Strings: embstr, int (positive, negative, big), raw, a float, binary, empty.
    add(v(&["set", "str:small", "hello"]));
    add(v(&["set", "str:int", "123456789"]));
    add(v(&["set", "str:neg", "-42"]));
    add(v(&["set", "str:bigint", "9223372036854775807"]));
    add(vec!["set".into(), "str:raw".into(), "x".repeat(300)]);
    add(v(&["set", "str:float", "3.14159"]));
    add(v(&["set", "str:bin", "a\0b\r\nc"]));
    add(v(&["set", "str:empty", ""]));
    add(v(&["append", "str:appended", "abc"]));
    add(v(&["append", "str:appended", "def"]));
    add(v(&["incrbyfloat", "str:incrf", "1.5"]));
    // Lists: small, and big with ints and strings (many quicklist nodes), pushed from both ends.
    add(v(&["rpush", "list:small", "a", "b", "1", "-2", "c"]));
    add(with(
        &["rpush", "list:big"],
        (0..2000).map(|i| if i % 3 == 0 { i.to_string() } else { format!("item-{i}") }).collect(),
    ));
    add(with(&["lpush", "list:big"], (0..50).map(|i| format!("front-{i}")).collect()));
    add(v(&["linsert", "list:big", "before", "item-1000", "inserted"]));
    // Sets: intset, intset grown past set-max-intset-entries, strings, big strings.
    add(v(&["sadd", "set:intset", "3", "1", "2", "-100", "100000000000"]));
    add(with(&["sadd", "set:bigint"], (0..600).map(|i| (i * 7).to_string()).collect()));
    add(v(&["sadd", "set:str", "x", "y", "z", "7"]));
    add(with(&["sadd", "set:big"], (0..1000).map(|i| format!("member:{i}")).collect()));
    add(v(&["srem", "set:big", "member:5", "member:500"]));
    // Hashes: listpack, past the entries limit, past the value-size limit.
    add(v(&["hset", "hash:small", "f1", "v1", "f2", "22", "33", "v3"]));
    add(with(&["hset", "hash:big"], (0..700).flat_map(|i| [format!("field:{i}"), format!("{}", i * i)]).collect()));
    add(vec!["hset".into(), "hash:longval".into(), "f".into(), "v".repeat(100), "g".into(), "1".into()]);
    add(v(&["hincrbyfloat", "hash:small", "fl", "0.25"]));
    // Sorted sets: listpack and skiplist, scores that need all 17 digits, exponents, infinities, -0.
    add(v(&["zadd", "zset:small", "1", "a", "2.5", "b", "-0.1", "c", "1e100", "d", "3", "7", "-0", "negzero"]));
    add(v(&["zadd", "zset:inf", "+inf", "p", "-inf", "m", "0", "zero"]));
    add(with(&["zadd", "zset:big"], (0..500).flat_map(|i| [format!("{}", i as f64 / 3.0), format!("m{i}")]).collect()));
    add(v(&["zincrby", "zset:big", "0.1", "m7"]));
    add(v(&["zadd", "zset:big", "1.7976931348623157e308", "max", "5e-324", "tiny", "1e-5", "small"]));
    // Streams: ids with several sequence numbers, deleted entries, groups with pending entries, consumers.
    for i in 1..=120 {
        add(vec![
            "xadd".into(),
            "stream".into(),
            format!("{}-{}", 1000 + i / 4, i % 4),
            "f".into(),
            i.to_string(),
            "name".into(),
            format!("n{i}"),
        ]);
    }
    add(v(&["xdel", "stream", "1005-1", "1010-2"]));
    add(v(&["xgroup", "create", "stream", "g1", "0"]));
    add(v(&["xgroup", "create", "stream", "g2", "$"]));
    add(v(&["xreadgroup", "group", "g1", "alice", "count", "10", "streams", "stream", ">"]));
    add(v(&["xack", "stream", "g1", "1000-1", "1000-2"]));
    add(v(&["xadd", "stream:small", "5-1", "a", "1"]));
    add(v(&["xadd", "stream:trimmed", "maxlen", "3", "1-1", "a", "1"]));
    for i in 2..8 {
        add(vec![
            "xadd".into(),
            "stream:trimmed".into(),
            "maxlen".into(),
            "3".into(),
            format!("1-{i}"),
            "a".into(),
            i.to_string(),
        ]);
    }
    add(v(&["xadd", "stream:empty", "1-1", "a", "1"]));
    add(v(&["xdel", "stream:empty", "1-1"]));
    // TTLs: the digest counts that a key has one, not its value.
    add(v(&["set", "ttl:str", "v", "ex", "100000"]));
    add(v(&["rpush", "ttl:list", "x", "y"]));
    add(v(&["pexpire", "ttl:list", "99999999"]));
    add(v(&["hset", "ttl:hash", "a", "b"]));
    add(v(&["expire", "ttl:hash", "100000"]));
    // Other databases: the same key in two of them, and keys of each type.
    add(v(&["select", "1"]));
    add(v(&["set", "str:small", "hello"]));
    add(v(&["sadd", "set:intset", "1", "2"]));
    add(v(&["select", "15"]));
    add(v(&["set", "str:small", "hello"]));
    add(v(&["zadd", "z", "1", "one"]));
    add(v(&["set", "ttl:15", "x", "px", "100000000"]));
    add(v(&["select", "0"]));
    c
}

fn run(con: &mut Connection, args: &[String]) {
    let _: redis::Value = cmd(&args[0]).arg(&args[1..]).query(con).unwrap_or_else(|e| panic!("{args:?}: {e}"));
}

fn digest(con: &mut Connection) -> String {
    cmd("DEBUG").arg("DIGEST").query(con).unwrap()
}

/// Every key of the selected database with its DIGEST-VALUE, sorted by key.
fn value_digests(con: &mut Connection, keys: &[String]) -> Vec<(String, String)> {
    let digests: Vec<String> = cmd("DEBUG").arg("DIGEST-VALUE").arg(keys).query(con).unwrap();
    keys.iter().cloned().zip(digests).collect()
}

fn keys(con: &mut Connection) -> Vec<String> {
    let mut k: Vec<String> = cmd("KEYS").arg("*").query(con).unwrap();
    k.sort();
    k
}

#[test]
fn digests_equal_redis_servers_for_the_same_data() {
    let redis = match real_redis("all") {
        Ok(r) => r,
        Err(why) => {
            println!("skipped: {why}");
            return;
        }
    };
    let ours = TestServer::start();
    let mut theirs = connect(&format!("127.0.0.1:{}", redis.port));
    let mut mine = ours.conn();
    assert_eq!(digest(&mut theirs), "0".repeat(40));
    assert_eq!(digest(&mut mine), "0".repeat(40));
    for args in dataset() {
        run(&mut theirs, &args);
        run(&mut mine, &args);
    }
    // The big and small encodings are both there, on both servers.
    for (key, enc) in [
        ("list:big", "quicklist"),
        ("set:intset", "intset"),
        ("set:bigint", "hashtable"),
        ("hash:small", "listpack"),
        ("hash:big", "hashtable"),
        ("hash:longval", "hashtable"),
        ("zset:small", "listpack"),
        ("zset:big", "skiplist"),
        ("str:raw", "raw"),
        ("str:int", "int"),
    ] {
        for (who, con) in [("redis-server", &mut theirs), ("ferrodis", &mut mine)] {
            let got: String = cmd("OBJECT").arg("ENCODING").arg(key).query(con).unwrap();
            assert_eq!(got, enc, "{key} on {who}");
        }
    }
    for db in ["0", "1", "15"] {
        let _: () = cmd("SELECT").arg(db).query(&mut theirs).unwrap();
        let _: () = cmd("SELECT").arg(db).query(&mut mine).unwrap();
        let names = keys(&mut theirs);
        assert_eq!(keys(&mut mine), names, "keys of db {db}");
        let mut with_missing = names.clone();
        with_missing.push("no-such-key".into());
        assert_eq!(value_digests(&mut mine, &with_missing), value_digests(&mut theirs, &with_missing), "db {db}");
    }
    let want = digest(&mut theirs);
    assert_ne!(want, "0".repeat(40));
    assert_eq!(digest(&mut mine), want);
    // One change anywhere shows: a list reordered, a TTL removed, a key moved to another database.
    for change in [
        &["lmove", "list:small", "list:small", "left", "right"][..],
        &["persist", "ttl:str"],
        &["move", "str:small", "2"],
    ] {
        let args: Vec<String> = change.iter().map(|s| s.to_string()).collect();
        let _: () = cmd("SELECT").arg(0).query(&mut theirs).unwrap();
        let _: () = cmd("SELECT").arg(0).query(&mut mine).unwrap();
        let before = digest(&mut mine);
        run(&mut theirs, &args);
        run(&mut mine, &args);
        let after = digest(&mut theirs);
        assert_ne!(after, before, "{change:?} changes the digest");
        assert_eq!(digest(&mut mine), after, "after {change:?}");
    }
    drop(redis);
}

/// DEBUG DIGEST once the server has loaded its file (INFO persistence says `loading:0`).
fn digest_when_loaded(con: &mut Connection) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        // Loading first, then the digest: DEBUG runs while a file loads (as in Redis), so a digest taken
        // before the INFO could be of a database the load had not filled yet.
        let info: String = cmd("INFO").arg("persistence").query(con).unwrap_or_default();
        if info.lines().any(|l| l.trim() == "loading:0") {
            if let Ok(d) = cmd("DEBUG").arg("DIGEST").query::<String>(con) {
                return d;
            }
        }
        assert!(Instant::now() < deadline, "the server did not finish loading");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn rdb_files_move_both_ways_with_equal_digests() {
    let redis = match real_redis("rdb-src") {
        Ok(r) => r,
        Err(why) => {
            println!("skipped: {why}");
            return;
        }
    };
    let dir = std::env::temp_dir().join(format!("ferrodis-digest-rdb-ours-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let d = dir.to_string_lossy().into_owned();
    let ours = TestServer::with_config(move |c| c.dir = d);
    let mut theirs = connect(&format!("127.0.0.1:{}", redis.port));
    let mut mine = ours.conn();
    for args in dataset() {
        run(&mut theirs, &args);
        run(&mut mine, &args);
    }
    let want = digest(&mut theirs);
    assert_eq!(digest(&mut mine), want);
    let _: () = cmd("SAVE").query(&mut theirs).unwrap();
    let _: () = cmd("SAVE").query(&mut mine).unwrap();
    // Our file into redis-server.
    let loaded = real_redis_with("rdb-dst", Some(&dir.join("dump.rdb"))).unwrap();
    let mut con = connect(&format!("127.0.0.1:{}", loaded.port));
    assert_eq!(digest_when_loaded(&mut con), want, "redis-server loading ferrodis's dump.rdb");
    // redis-server's file into ferrodis.
    let dir2 = std::env::temp_dir().join(format!("ferrodis-digest-rdb-theirs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir2);
    std::fs::create_dir_all(&dir2).unwrap();
    std::fs::copy(redis.dir.join("dump.rdb"), dir2.join("dump.rdb")).unwrap();
    let d2 = dir2.to_string_lossy().into_owned();
    let again = TestServer::with_config(move |c| c.dir = d2);
    let mut con = again.conn();
    let got = digest_when_loaded(&mut con);
    let info: String = cmd("INFO").arg("persistence").query(&mut con).unwrap();
    let size = std::fs::metadata(dir2.join("dump.rdb")).map(|m| m.len()).unwrap_or(0);
    assert_eq!(got, want, "ferrodis loading redis-server's dump.rdb ({size} bytes): {info}");
    drop(again);
    drop(ours);
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&dir2);
}
