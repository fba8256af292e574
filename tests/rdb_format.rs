//! RDB and DUMP interoperability with a real redis-server 7.0 (when one is on PATH; skipped with a printed
//! reason otherwise): redis-check-rdb accepts a file written by our RDB writer with every type, redis-server
//! loads it and shows the same values as ferrodis, and DUMP payloads move both ways between the two servers.

mod common;

use common::child::{free_port, wait_secs};
use common::TestServer;
use ferrodis::testing::rdb;
use redis::{cmd, Connection, Value as RV};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// A program on PATH.
fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|p| std::env::split_paths(&p).map(|d| d.join(name)).find(|f| f.is_file()))
}

/// redis-server 7.0.x and redis-check-rdb, or why the test cannot run.
fn redis_tools() -> Result<(PathBuf, PathBuf), String> {
    let server = on_path("redis-server").ok_or("redis-server is not on PATH")?;
    let check = on_path("redis-check-rdb").ok_or("redis-check-rdb is not on PATH")?;
    let out = Command::new(&server).arg("--version").output().map_err(|e| e.to_string())?;
    let v = String::from_utf8_lossy(&out.stdout).into_owned();
    if !v.contains("v=7.0.") {
        return Err(format!("redis-server is not 7.0.x: {}", v.trim()));
    }
    Ok((server, check))
}

/// A redis-server child process in its own directory, killed on drop.
struct RedisServer {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl RedisServer {
    /// Start on a free port, loading `rdb` first when given.
    fn start(bin: &PathBuf, rdb: Option<&[u8]>) -> RedisServer {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("ferrodis-rdb-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        if let Some(b) = rdb {
            std::fs::write(dir.join("dump.rdb"), b).unwrap();
        }
        let child = Command::new(bin)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--dbfilename", "dump.rdb", "--logfile", "redis.log"])
            .arg("--dir")
            .arg(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let s = RedisServer { child, port, dir };
        wait_secs(20, "redis-server to load and answer", || {
            s.try_conn().is_some_and(|mut c| {
                let info: String = cmd("INFO").arg("persistence").query(&mut c).unwrap_or_default();
                info.contains("loading:0")
            })
        });
        s
    }

    fn try_conn(&self) -> Option<Connection> {
        redis::Client::open(format!("redis://127.0.0.1:{}/", self.port)).ok()?.get_connection().ok()
    }

    fn conn(&self) -> Connection {
        self.try_conn().expect("redis-server connection")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("redis.log")).unwrap_or_default()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A far-future deadline: keys must not expire while the test runs.
const T: i64 = 4_102_444_800_000;

/// Commands that build every type in its small and big encodings (run on both servers).
fn population() -> Vec<Vec<Vec<u8>>> {
    let mut c: Vec<Vec<Vec<u8>>> = Vec::new();
    let mut add = |args: Vec<Vec<u8>>| c.push(args);
    let s = |x: &str| x.as_bytes().to_vec();
    let v = |xs: &[&str]| xs.iter().map(|x| s(x)).collect::<Vec<_>>();
    add(v(&["SET", "s:int", "12345"]));
    add(v(&["SET", "s:i64", "-9223372036854775808"]));
    add(v(&["SET", "s:emb", "hello world"]));
    add(vec![s("SET"), s("s:raw"), s(&"raw-".repeat(20))]);
    add(vec![s("SET"), s("s:lzf"), s(&"abcabcabd".repeat(100))]);
    add(v(&["SET", "s:empty", ""]));
    add(vec![s("SET"), s("s:bin"), (0..=255u8).collect()]);
    add(v(&["SET", "s:ttl", "x"]));
    add(vec![s("PEXPIREAT"), s("s:ttl"), s(&(T + 1).to_string())]);
    add(v(&["RPUSH", "l:small", "a", "1", "-2", "300", "70000", "-4000000000", "", "9223372036854775807"]));
    let mut big = v(&["RPUSH", "l:big"]);
    big.extend((0..3000).map(|i| s(&if i % 3 == 0 { i.to_string() } else { format!("element:{i}") })));
    add(big);
    add(vec![s("RPUSH"), s("l:long"), vec![b'q'; 10_000], s("x"), vec![b'r'; 100]]);
    add(v(&["HSET", "h:small", "f", "v", "n", "123", "e", ""]));
    let mut big = v(&["HSET", "h:big"]);
    big.extend((0..600).flat_map(|i| [s(&format!("field:{i}")), s(&format!("value:{i}"))]));
    add(big);
    add(vec![s("HSET"), s("h:long"), s("a"), vec![b'v'; 100]]);
    add(v(&["SADD", "set:i16", "5", "-3", "100"]));
    add(v(&["SADD", "set:i64", "1", "10000000000", "-5"]));
    let mut big = v(&["SADD", "set:bigint"]);
    big.extend((0..600).map(|i| s(&(i * 7).to_string())));
    add(big);
    add(v(&["SADD", "set:str", "a", "b", "1", "hello"]));
    add(v(&["ZADD", "z:small", "1", "one", "2.5", "two", "-3", "neg", "inf", "top", "-inf", "bot", "1e300", "huge"]));
    let mut big = v(&["ZADD", "z:big"]);
    big.extend((0..200).flat_map(|i| [s(&format!("{i}.25")), s(&format!("m:{i}"))]));
    add(big);
    add(vec![s("ZADD"), s("z:long"), s("1"), vec![b'm'; 100]]);
    add(vec![s("PEXPIREAT"), s("z:big"), s(&(T + 2).to_string())]);
    for i in 1..=250u64 {
        let id = format!("{i}-1");
        if i % 7 == 0 {
            add(vec![s("XADD"), s("st:main"), s(&id), s("other"), s(&i.to_string())]);
        } else {
            add(vec![s("XADD"), s("st:main"), s(&id), s("f"), s(&i.to_string()), s("g"), s(&format!("x{i}"))]);
        }
    }
    add(v(&["XDEL", "st:main", "1-1", "50-1", "100-1", "101-1", "250-1"]));
    add(v(&["XGROUP", "CREATE", "st:main", "g1", "0"]));
    add(v(&["XGROUP", "CREATE", "st:main", "g2", "$"]));
    add(v(&["XREADGROUP", "GROUP", "g1", "alice", "COUNT", "3", "STREAMS", "st:main", ">"]));
    add(v(&["XREADGROUP", "GROUP", "g1", "bob", "COUNT", "2", "STREAMS", "st:main", ">"]));
    add(v(&["XACK", "st:main", "g1", "3-1"]));
    add(v(&["XADD", "st:small", "1-1", "k", "v"]));
    add(v(&["XADD", "st:small", "2-1", "k", "w"]));
    add(v(&["XADD", "st:gone", "5-5", "a", "b"]));
    add(v(&["XDEL", "st:gone", "5-5"]));
    c
}

fn run_all(con: &mut Connection, cmds: &[Vec<Vec<u8>>]) {
    for c in cmds {
        let mut k = cmd(std::str::from_utf8(&c[0]).unwrap());
        for a in &c[1..] {
            k.arg(&a[..]);
        }
        let _: RV = k.query(con).unwrap_or_else(|e| panic!("{:?}: {e}", String::from_utf8_lossy(&c[0])));
    }
}

fn q(con: &mut Connection, args: &[&[u8]]) -> RV {
    let mut k = cmd(std::str::from_utf8(args[0]).unwrap());
    for a in &args[1..] {
        k.arg(*a);
    }
    k.query(con).unwrap_or_else(|e| panic!("{:?}: {e}", String::from_utf8_lossy(args[0])))
}

/// Sort the elements of an array reply (sets), or its pairs (hashes), so that order does not matter.
fn sorted(v: RV, pairs: bool) -> RV {
    match v {
        RV::Array(mut xs) if !pairs => {
            xs.sort_by_key(|x| format!("{x:?}"));
            RV::Array(xs)
        }
        RV::Array(xs) => {
            let mut ps: Vec<Vec<RV>> = xs.chunks(2).map(|c| c.to_vec()).collect();
            ps.sort_by_key(|p| format!("{:?}", p[0]));
            RV::Array(ps.into_iter().flatten().collect())
        }
        other => other,
    }
}

/// What a key holds, as replies that do not depend on hash-table order: type, encoding, expiry, contents.
fn describe(con: &mut Connection, key: &[u8]) -> Vec<RV> {
    let t = q(con, &[b"TYPE", key]);
    let RV::SimpleString(ty) = &t else { panic!("TYPE: {t:?}") };
    let body = match ty.as_str() {
        "string" => q(con, &[b"GET", key]),
        "list" => q(con, &[b"LRANGE", key, b"0", b"-1"]),
        "set" => sorted(q(con, &[b"SMEMBERS", key]), false),
        "zset" => q(con, &[b"ZRANGE", key, b"0", b"-1", b"WITHSCORES"]),
        "hash" => sorted(q(con, &[b"HGETALL", key]), true),
        "stream" => q(con, &[b"XINFO", b"STREAM", key, b"FULL", b"COUNT", b"0"]),
        other => panic!("type {other}"),
    };
    vec![t.clone(), q(con, &[b"OBJECT", b"ENCODING", key]), q(con, &[b"PEXPIRETIME", key]), body]
}

fn keys(con: &mut Connection) -> Vec<Vec<u8>> {
    let mut ks: Vec<Vec<u8>> = redis::from_redis_value(&q(con, &[b"KEYS", b"*"])).unwrap();
    ks.sort();
    ks
}

fn snapshot(con: &mut Connection, db: usize) -> BTreeMap<Vec<u8>, Vec<RV>> {
    let _: RV = q(con, &[b"SELECT", db.to_string().as_bytes()]);
    keys(con).into_iter().map(|k| (k.clone(), describe(con, &k))).collect()
}

const LIB: &str = "#!lua name=rdblib\nredis.register_function('rdbfn', function(keys, args) return 1 end)";

/// The RDB file of what ferrodis holds in dbs 0 and 1, written key by key from its DUMP payloads (the
/// very bytes `rdb::encode_value` gives SAVE), with the function library.
fn rdb_file_of(con: &mut Connection) -> Vec<u8> {
    let mut out = Vec::new();
    rdb::write_header(
        &mut out,
        &[
            ("redis-ver", b"7.0.15"),
            ("redis-bits", b"64"),
            ("ctime", b"1700000000"),
            ("used-mem", b"1000000"),
            ("aof-base", b"0"),
        ],
    );
    rdb::write_functions(&mut out, [LIB.as_bytes()].into_iter());
    for db in [0usize, 1] {
        let _: RV = q(con, &[b"SELECT", db.to_string().as_bytes()]);
        let ks = keys(con);
        let mut body = Vec::new();
        let mut expires = 0;
        for k in &ks {
            let payload: Vec<u8> = redis::from_redis_value(&q(con, &[b"DUMP", k])).unwrap();
            let at: i64 = redis::from_redis_value(&q(con, &[b"PEXPIRETIME", k])).unwrap();
            if at > 0 {
                expires += 1;
                body.push(rdb::OPCODE_EXPIRETIME_MS);
                body.extend_from_slice(&at.to_le_bytes());
            }
            body.push(payload[0]);
            rdb::write_string(&mut body, k, true);
            body.extend_from_slice(&payload[1..payload.len() - 10]);
        }
        rdb::write_select_db(&mut out, db, ks.len() as u64, expires);
        out.extend_from_slice(&body);
    }
    rdb::write_eof(&mut out);
    let crc = rdb::crc64(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

#[test]
fn redis_reads_our_rdb_files() {
    let (server_bin, check_bin) = match redis_tools() {
        Ok(t) => t,
        Err(why) => {
            println!("skipped: {why}");
            return;
        }
    };
    let ours = TestServer::start();
    let mut fc = ours.conn();
    run_all(&mut fc, &population());
    let _: RV = q(&mut fc, &[b"SELECT", b"1"]);
    run_all(&mut fc, &[vec![b"SET".to_vec(), b"db1:key".to_vec(), b"one".to_vec()]]);
    let _: RV = q(&mut fc, &[b"FUNCTION", b"LOAD", LIB.as_bytes()]);
    let file = rdb_file_of(&mut fc);

    // redis-check-rdb accepts it.
    let path = std::env::temp_dir().join(format!("ferrodis-rdb-check-{}.rdb", std::process::id()));
    std::fs::write(&path, &file).unwrap();
    let out = Command::new(&check_bin).arg(&path).output().unwrap();
    let _ = std::fs::remove_file(&path);
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && text.contains("RDB looks OK"), "redis-check-rdb: {text}");

    // redis-server loads it and shows what ferrodis shows.
    let redis = RedisServer::start(&server_bin, Some(&file));
    let mut rc = redis.conn();
    for db in [0, 1] {
        let want = snapshot(&mut fc, db);
        let got = snapshot(&mut rc, db);
        assert_eq!(got.keys().collect::<Vec<_>>(), want.keys().collect::<Vec<_>>(), "db {db}: {}", redis.log());
        for (k, w) in &want {
            assert_eq!(&got[k], w, "db {db} key {:?}", String::from_utf8_lossy(k));
        }
    }
    let libs = q(&mut rc, &[b"FUNCTION", b"LIST"]);
    assert!(format!("{libs:?}").contains("rdblib"), "{libs:?}");

    // And our reader reads the file back to the same keys (the loop closes: our writer, our reader).
    let mut r = rdb::RdbReader::new(&file[..], Default::default(), true).unwrap();
    let mut n = 0;
    while let rdb::Item::Entry(_)
    | rdb::Item::Aux(..)
    | rdb::Item::SelectDb(_)
    | rdb::Item::ResizeDb { .. }
    | rdb::Item::Function(_) = r.next().unwrap()
    {
        n += 1;
    }
    assert!(n > 30);
}

#[test]
fn dump_payloads_move_both_ways() {
    let server_bin = match redis_tools() {
        Ok((s, _)) => s,
        Err(why) => {
            println!("skipped: {why}");
            return;
        }
    };
    let redis = RedisServer::start(&server_bin, None);
    let mut rc = redis.conn();
    run_all(&mut rc, &population());
    let ours = TestServer::start();
    let mut fc = ours.conn();
    let mut identical = 0;
    for k in keys(&mut rc) {
        let name = String::from_utf8_lossy(&k).into_owned();
        let payload: Vec<u8> = redis::from_redis_value(&q(&mut rc, &[b"DUMP", &k])).unwrap();
        let at: i64 = redis::from_redis_value(&q(&mut rc, &[b"PEXPIRETIME", &k])).unwrap();
        let ttl = if at > 0 { at.to_string() } else { "0".into() };
        // Redis -> ferrodis.
        let r = q(&mut fc, &[b"RESTORE", &k, ttl.as_bytes(), &payload, b"ABSTTL"]);
        assert_eq!(r, RV::Okay, "{name}");
        assert_eq!(describe(&mut fc, &k), describe(&mut rc, &k), "{name}");
        // ferrodis -> Redis, under another name.
        let back: Vec<u8> = redis::from_redis_value(&q(&mut fc, &[b"DUMP", &k])).unwrap();
        let k2 = [&k[..], b":back"].concat();
        let r = q(&mut rc, &[b"RESTORE", &k2, ttl.as_bytes(), &back, b"ABSTTL"]);
        assert_eq!(r, RV::Okay, "{name}: {}", redis.log());
        assert_eq!(describe(&mut rc, &k2), describe(&mut rc, &k), "{name}");
        if back == payload {
            identical += 1;
        }
    }
    println!("{identical} payloads byte-identical to redis-server's");
    // Strings, intsets, listpacks and skiplists come out byte for byte as Redis's.
    assert!(identical >= 15, "only {identical} payloads byte-identical");
}
