//! The same random command stream to redis-server 7.0 and to an in-process ferrodis, reply by reply,
//! keyspace notification by notification and propagated command by propagated command (what a replica and
//! the AOF get), and INFO's counters after it: every
//! data type's commands with good and bad arguments over five keys (so types collide and encodings convert
//! at small thresholds), in RESP2 and RESP3, replies compared exactly but for the order of unordered
//! collections. A stream is
//! drawn from a fixed seed, so a failure names the command that diverged and replays the same way.
//! Skipped, saying why, when there is no redis-server 7.0 on PATH.

mod common;

use common::real_redis::real_redis_7_0;
use common::TestServer;
use redis::{cmd, Connection, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A connection in RESP2, or RESP3 (HELLO 3) with `resp3`.
fn connect(port: u16, resp3: bool) -> Connection {
    let proto = if resp3 { "?protocol=resp3" } else { "" };
    redis::Client::open(format!("redis://127.0.0.1:{port}/{proto}")).unwrap().get_connection().unwrap()
}

/// xorshift64*: a deterministic draw, so a seed is a replayable stream.
struct Draw(u64);

impl Draw {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len())]
    }
}

const KEYS: &[&str] = &["k1", "k2", "k3", "{t}a", "{t}b"];
const STRS: &[&str] = &["a", "b", "c", "foo", "bar", "", "1", "2", "10", "-5", "3.5", "hello world", "zz"];
const INTS: &[&str] = &["0", "1", "-1", "2", "3", "5", "10", "100", "-100", "2147483648", "9223372036854775807"];
const FLOATS: &[&str] = &["1.5", "-2.25", "0", "3", "inf", "-inf", "1e3", "abc", "nan", "10.5"];
const IDX: &[&str] = &["0", "1", "2", "-1", "-2", "3", "5", "100", "-100"];
const SCORES: &[&str] = &["1", "2", "3", "-1", "0", "1.5", "inf", "-inf", "(1", "(2", "5", "abc", "(inf"];
const LEX: &[&str] = &["-", "+", "[a", "(a", "[c", "(d", "[foo", "a", "[", "(zz"];

/// One command of the stream.
fn command(d: &mut Draw) -> Vec<String> {
    let k = |d: &mut Draw| d.pick(KEYS).to_string();
    let v = |d: &mut Draw| {
        match d.below(3) {
            0 => d.pick(STRS),
            1 => d.pick(INTS),
            _ => d.pick(FLOATS),
        }
        .to_string()
    };
    let s = |d: &mut Draw, from: &[&str]| d.pick(from).to_string();
    let mut c: Vec<String> = match d.below(56) {
        0 => {
            let opts: &[&[&str]] =
                &[&[], &["NX"], &["XX"], &["GET"], &["KEEPTTL"], &["EX", "100000"], &["PX", "0"], &["NX", "GET"]];
            let mut c = vec!["SET".into(), k(d), v(d)];
            c.extend(opts[d.below(opts.len())].iter().map(|s| s.to_string()));
            c
        }
        1 => vec!["GET".into(), k(d)],
        2 => vec![s(d, &["APPEND", "GETSET", "SETNX"]), k(d), v(d)],
        3 => vec![s(d, &["INCR", "DECR", "STRLEN", "GETDEL", "TYPE", "EXISTS", "PERSIST"]), k(d)],
        4 => vec![s(d, &["INCRBY", "DECRBY"]), k(d), s(d, INTS)],
        5 => vec!["INCRBYFLOAT".into(), k(d), s(d, FLOATS)],
        6 => vec!["GETRANGE".into(), k(d), s(d, IDX), s(d, IDX)],
        7 => vec!["MSET".into(), k(d), v(d), k(d), v(d)],
        8 => vec!["MGET".into(), k(d), k(d), k(d)],
        9 => vec!["SETBIT".into(), k(d), s(d, &["0", "7", "100", "-1"]), s(d, &["0", "1", "2"])],
        10 => vec!["BITCOUNT".into(), k(d), s(d, IDX), s(d, IDX)],
        11 => vec!["BITPOS".into(), k(d), s(d, &["0", "1"]), s(d, IDX)],
        12 => vec![s(d, &["LPUSH", "RPUSH"]), k(d), s(d, STRS), s(d, STRS)],
        13 => vec![s(d, &["LPOP", "RPOP"]), k(d), s(d, &["0", "1", "2", "5", "-1"])],
        14 => vec!["LRANGE".into(), k(d), s(d, IDX), s(d, IDX)],
        15 => vec![s(d, &["LINDEX", "LLEN"]), k(d), s(d, IDX)],
        16 => vec!["LSET".into(), k(d), s(d, IDX), s(d, STRS)],
        17 => vec!["LINSERT".into(), k(d), s(d, &["BEFORE", "AFTER", "X"]), s(d, STRS), s(d, STRS)],
        18 => vec!["LREM".into(), k(d), s(d, IDX), s(d, STRS)],
        19 => vec!["LTRIM".into(), k(d), s(d, IDX), s(d, IDX)],
        20 => vec!["LPOS".into(), k(d), s(d, STRS), "RANK".into(), s(d, &["1", "-1", "2", "0"])],
        21 => vec!["LMOVE".into(), k(d), k(d), s(d, &["LEFT", "RIGHT"]), s(d, &["LEFT", "RIGHT", "UP"])],
        22 => vec!["HSET".into(), k(d), s(d, STRS), v(d), s(d, STRS), v(d)],
        23 => vec![s(d, &["HGET", "HDEL", "HEXISTS", "HSTRLEN"]), k(d), s(d, STRS)],
        24 => vec!["HINCRBY".into(), k(d), s(d, STRS), s(d, INTS)],
        25 => vec!["HINCRBYFLOAT".into(), k(d), s(d, STRS), s(d, FLOATS)],
        26 => vec![s(d, &["HGETALL", "HKEYS", "HVALS", "HLEN"]), k(d)],
        27 => vec!["SADD".into(), k(d), v(d), v(d), v(d)],
        28 => vec![s(d, &["SREM", "SISMEMBER", "SMISMEMBER"]), k(d), v(d)],
        29 => vec![s(d, &["SMEMBERS", "SCARD"]), k(d)],
        30 => vec![s(d, &["SINTER", "SUNION", "SDIFF"]), k(d), k(d)],
        31 => vec![s(d, &["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"]), k(d), k(d), k(d)],
        32 => vec!["SMOVE".into(), k(d), k(d), v(d)],
        33 => {
            let opts: &[&[&str]] = &[&[], &["NX"], &["XX"], &["GT"], &["LT", "CH"], &["INCR"], &["NX", "GT"]];
            let mut c = vec!["ZADD".into(), k(d)];
            c.extend(opts[d.below(opts.len())].iter().map(|s| s.to_string()));
            for _ in 0..1 + d.below(3) {
                c.push(s(d, SCORES));
                c.push(s(d, STRS));
            }
            c
        }
        34 => vec!["ZINCRBY".into(), k(d), s(d, FLOATS), s(d, STRS)],
        35 => vec![s(d, &["ZREM", "ZSCORE", "ZRANK", "ZREVRANK"]), k(d), s(d, STRS)],
        36 => vec!["ZRANGE".into(), k(d), s(d, IDX), s(d, IDX), s(d, &["WITHSCORES", "REV", "0"])],
        37 => vec!["ZRANGE".into(), k(d), s(d, SCORES), s(d, SCORES), "BYSCORE".into(), s(d, &["WITHSCORES", "REV"])],
        38 => vec!["ZRANGEBYLEX".into(), k(d), s(d, LEX), s(d, LEX)],
        39 => vec![s(d, &["ZCOUNT", "ZREMRANGEBYSCORE"]), k(d), s(d, SCORES), s(d, SCORES)],
        40 => vec![s(d, &["ZLEXCOUNT", "ZREMRANGEBYLEX"]), k(d), s(d, LEX), s(d, LEX)],
        41 => vec![s(d, &["ZPOPMIN", "ZPOPMAX"]), k(d), s(d, &["0", "1", "2", "-1"])],
        42 => vec![s(d, &["ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"]), k(d), "2".into(), k(d), k(d)],
        43 => vec![s(d, &["ZUNION", "ZINTER", "ZDIFF"]), "2".into(), k(d), k(d), "WITHSCORES".into()],
        44 => vec![s(d, &["DEL", "RENAME", "RENAMENX", "COPY"]), k(d), k(d)],
        45 => vec!["XADD".into(), k(d), s(d, &["1-1", "2-0", "3-5", "5", "0-1", "99999-0"]), s(d, STRS), s(d, STRS)],
        46 => vec![s(d, &["XRANGE", "XREVRANGE"]), k(d), s(d, &["-", "+", "1", "(2-0"]), s(d, &["-", "+", "5"])],
        47 => vec!["SETRANGE".into(), k(d), s(d, &["0", "1", "5", "-1"]), s(d, STRS)],
        48 => vec![
            "XGROUP".into(),
            "CREATE".into(),
            k(d),
            s(d, &["g1", "g2"]),
            s(d, &["0", "$", "1-1"]),
            "MKSTREAM".into(),
        ],
        49 => {
            let mut c = vec!["XREADGROUP".into(), "GROUP".into(), s(d, &["g1", "g2"]), s(d, &["c1", "c2"])];
            c.extend(["COUNT".into(), s(d, &["1", "2"]), "STREAMS".into(), k(d), s(d, &[">", "0"])]);
            c
        }
        50 => vec!["XACK".into(), k(d), s(d, &["g1", "g2"]), s(d, &["1-1", "2-0", "3-5"])],
        51 => vec![
            "XAUTOCLAIM".into(),
            k(d),
            s(d, &["g1", "g2"]),
            s(d, &["c1", "c2"]),
            "0".into(),
            "0".into(),
            s(d, &["JUSTID", "COUNT"]),
        ],
        52 => vec![
            "XCLAIM".into(),
            k(d),
            s(d, &["g1", "g2"]),
            "c3".into(),
            "0".into(),
            s(d, &["1-1", "2-0"]),
            "JUSTID".into(),
        ],
        53 => vec!["XPENDING".into(), k(d), s(d, &["g1", "g2"])],
        54 => {
            let mut c = vec!["GEOADD".into(), k(d)];
            c.extend(s(d, &["", "NX", "XX", "CH", "xx"]).split_whitespace().map(str::to_string));
            c.extend([s(d, &["13.36", "-74", "0", "200"]), s(d, &["38.1", "40.7", "0", "91"]), s(d, STRS)]);
            c
        }
        _ => vec![s(d, &["XLEN", "OBJECT", "SORT"]), k(d)],
    };
    if c[0] == "OBJECT" {
        c.insert(1, "ENCODING".into());
    }
    // Now and then one argument short or one too many: the error paths.
    match d.below(20) {
        0 if c.len() > 1 => {
            c.pop();
        }
        1 => c.push(s(d, &["x", "1", "LIMIT", "WITHSCORES"])),
        _ => {}
    }
    c
}

/// A subscriber to every keyspace and keyevent channel (`notify-keyspace-events KEA`).
fn subscriber(port: u16) -> Connection {
    let mut con = connect(port, false);
    con.send_packed_command(&cmd("PSUBSCRIBE").arg("__key*__:*").get_packed_command()).unwrap();
    let _ = con.recv_response().unwrap();
    con
}

/// The (channel, message) pairs published since the last call: a PING behind them marks the end, since a
/// server answers it after delivering what earlier commands published.
fn events(sub: &mut Connection) -> Vec<(Value, Value)> {
    sub.send_packed_command(&cmd("PING").get_packed_command()).unwrap();
    let mut out = Vec::new();
    loop {
        match sub.recv_response().unwrap() {
            Value::Array(v) if v.len() == 4 => out.push((v[2].clone(), v[3].clone())),
            Value::Array(v) if v.first() == Some(&Value::BulkString(b"pong".to_vec())) => return out,
            other => panic!("unexpected on the subscriber: {other:?}"),
        }
    }
}

/// A replica as bare as the protocol allows: PSYNC ? -1 without `capa eof`, so that both servers send the
/// snapshot as `$<len>` (disk-based), then the command stream this reads.
struct FakeReplica {
    reader: BufReader<TcpStream>,
    parser: redis::Parser,
}

impl FakeReplica {
    fn attach(port: u16) -> FakeReplica {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        s.write_all(b"*3\r\n$5\r\nPSYNC\r\n$1\r\n?\r\n$2\r\n-1\r\n").unwrap();
        let mut reader = BufReader::new(s);
        // +FULLRESYNC, newlines while the snapshot is made, then $<len> and the snapshot.
        loop {
            let mut line = String::new();
            assert!(reader.read_line(&mut line).unwrap() > 0, "the master closed the link");
            if let Some(len) = line.strip_prefix('$') {
                let mut rdb = vec![0u8; len.trim().parse().unwrap()];
                reader.read_exact(&mut rdb).unwrap();
                return FakeReplica { reader, parser: redis::Parser::new() };
            }
        }
    }

    /// The commands propagated up to `SET __marker__ <marker>` (the master's PINGs left out), as sent: the
    /// case of a name is part of what is compared.
    fn until(&mut self, marker: &str) -> Vec<Vec<String>> {
        let mut out = Vec::new();
        loop {
            let Value::Array(items) = self.parser.parse_value(&mut self.reader).unwrap() else { panic!() };
            let c: Vec<String> = items
                .iter()
                .map(|v| match v {
                    Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
                    other => format!("{other:?}"),
                })
                .collect();
            if c[0].eq_ignore_ascii_case("set") && c[1..] == ["__marker__", marker] {
                return out;
            }
            if !c[0].eq_ignore_ascii_case("ping") {
                out.push(c);
            }
        }
    }
}

/// Two propagated streams are the same, but for absolute times each server took from its clock, which may
/// differ by the time between the two servers' runs (up to 10 s allowed: a loaded machine spaces them out;
/// a wrong unit or a lost TTL is off by far more).
fn same_propagation(a: &[Vec<String>], b: &[Vec<String>]) -> bool {
    // Times each server took from its own clock: SET ... PXAT, PEXPIREAT's, and XCLAIM ... TIME (a
    // consumer group's delivery time, which XREADGROUP and XAUTOCLAIM propagate).
    let when = |c: &[String], i: usize| {
        (c[0].eq_ignore_ascii_case("pexpireat") && i == 2)
            || (i > 0 && (c[i - 1].eq_ignore_ascii_case("pxat") || c[i - 1].eq_ignore_ascii_case("time")))
    };
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.len() == y.len()
                && (0..x.len()).all(|i| {
                    x[i] == y[i]
                        || when(x, i)
                            && match (x[i].parse::<i64>(), y[i].parse::<i64>()) {
                                (Ok(p), Ok(q)) => (p - q).abs() <= 10_000,
                                _ => false,
                            }
                })
        })
}

/// The statistics one command stream must move alike: keyspace hits and misses, error replies, and per
/// command and per error prefix (INFO commandstats' calls, rejected_calls and failed_calls; errorstats).
fn stats(con: &mut Connection) -> Vec<String> {
    let mut out = Vec::new();
    for section in ["stats", "commandstats", "errorstats"] {
        let text: String = cmd("INFO").arg(section).query(con).unwrap();
        for line in text.lines() {
            let Some((name, value)) = line.split_once(':') else { continue };
            if section == "stats" && !matches!(name, "keyspace_hits" | "keyspace_misses" | "total_error_replies") {
                continue;
            }
            // commandstats: usec and usec_per_call are timings; the counts stay.
            let kept: Vec<&str> = value.split(',').filter(|f| !f.starts_with("usec")).collect();
            out.push(format!("{name}:{}", kept.join(",")));
        }
    }
    // redis-server lists commands and errors in its hash tables' order.
    out.sort();
    out
}

/// A reply as compared: errors by text, unordered collections sorted.
fn reply(con: &mut Connection, c: &[String]) -> String {
    let mut q = cmd(&c[0]);
    for a in &c[1..] {
        q.arg(a);
    }
    match q.query::<Value>(con) {
        Err(e) => format!("error: {e}"),
        Ok(Value::Array(mut items))
            if matches!(c[0].as_str(), "SMEMBERS" | "SINTER" | "SUNION" | "SDIFF" | "HKEYS" | "HVALS") =>
        {
            items.sort_by_key(|v| format!("{v:?}"));
            format!("{:?}", Value::Array(items))
        }
        Ok(Value::Set(mut items)) => {
            items.sort_by_key(|v| format!("{v:?}"));
            format!("{:?}", Value::Set(items))
        }
        Ok(Value::Map(mut pairs)) if c[0] == "HGETALL" => {
            pairs.sort_by_key(|p| format!("{p:?}"));
            format!("{:?}", Value::Map(pairs))
        }
        Ok(Value::Array(items)) if c[0] == "HGETALL" => {
            let mut pairs: Vec<String> = items.chunks(2).map(|p| format!("{p:?}")).collect();
            pairs.sort();
            pairs.join(",")
        }
        Ok(v) => format!("{v:?}"),
    }
}

/// redis-server 7.0 from PATH and an in-process ferrodis, or None after saying why the test is skipped.
fn both(tag: &str) -> Option<(common::real_redis::RealRedis, TestServer)> {
    Some((real_redis_7_0(tag)?, TestServer::start()))
}

#[test]
fn random_commands_reply_as_redis_7_0() {
    let Some((real, server)) = both("differential") else { return };
    let mut theirs = connect(real.port, false);
    let mut mine = connect(server.addr().port(), false);
    // Small thresholds, so that collections convert between their compact and big encodings.
    for (p, v) in [
        ("set-max-intset-entries", "4"),
        ("hash-max-listpack-entries", "4"),
        ("zset-max-listpack-entries", "4"),
        ("list-max-listpack-size", "4"),
        ("hash-max-listpack-value", "16"),
        ("zset-max-listpack-value", "16"),
    ] {
        for con in [&mut theirs, &mut mine] {
            let _: () = cmd("CONFIG").arg("SET").arg(p).arg(v).query(con).unwrap();
        }
    }
    for con in [&mut theirs, &mut mine] {
        let _: () = cmd("CONFIG").arg("SET").arg("notify-keyspace-events").arg("KEA").query(con).unwrap();
    }
    let (mut their_events, mut my_events) = (subscriber(real.port), subscriber(server.addr().port()));
    let (mut their_replica, mut my_replica) =
        (FakeReplica::attach(real.port), FakeReplica::attach(server.addr().port()));
    // Seeds 1-4 in RESP2, 5-8 in RESP3 (maps, sets, doubles, nulls of their own).
    for seed in 1..=8u64 {
        if seed == 5 {
            (theirs, mine) = (connect(real.port, true), connect(server.addr().port(), true));
            for con in [&mut theirs, &mut mine] {
                let v: Value = cmd("SMEMBERS").arg("nosuch").query(con).unwrap();
                assert_eq!(v, Value::Set(vec![]), "the connection speaks RESP3");
            }
        }
        for con in [&mut theirs, &mut mine] {
            let _: () = cmd("FLUSHALL").query(con).unwrap();
            let _: () = cmd("CONFIG").arg("RESETSTAT").query(con).unwrap();
        }
        let mut d = Draw(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        for i in 0..3000 {
            let c = command(&mut d);
            let (want, got) = (reply(&mut theirs, &c), reply(&mut mine, &c));
            assert_eq!(got, want, "seed {seed}, command {i}: {}", c.join(" "));
            let (want, got) = (events(&mut their_events), events(&mut my_events));
            assert_eq!(got, want, "seed {seed}, command {i}: {}: keyspace events", c.join(" "));
            let marker = format!("{seed}:{i}");
            for con in [&mut theirs, &mut mine] {
                let _: Value = cmd("SET").arg("__marker__").arg(&marker).query(con).unwrap();
            }
            let (want, got) = (their_replica.until(&marker), my_replica.until(&marker));
            assert!(
                same_propagation(&got, &want),
                "seed {seed}, command {i}: {}: what replicas get\n  redis-server: {want:?}\n  ferrodis:     {got:?}",
                c.join(" ")
            );
        }
        assert_eq!(stats(&mut mine), stats(&mut theirs), "seed {seed}: INFO counters after the stream");
    }
}

/// Scripts: replies, RESP conversions both ways and error texts (with the script's sha and line), in RESP2
/// and RESP3, with EVAL and EVAL_RO.
#[test]
fn scripts_reply_as_redis_7_0() {
    let Some((real, server)) = both("differential-lua") else { return };
    let scripts = [
        "return redis.call('set', KEYS[1], ARGV[1])",
        "return redis.call('get', KEYS[1])",
        "return redis.call('nosuch')",
        "return redis.pcall('nosuch')",
        "return redis.call('incr', 'str')",
        "return redis.pcall('lpush', 'str', 1)",
        "local t = redis.pcall('lpush', 'str', 1); return t['err']",
        "return {err='My Error'}",
        "return {ok='fine'}",
        "return redis.error_reply('MYERR x')",
        "return redis.status_reply('PONG')",
        "error('boom')",
        "error({err='tableerr'})",
        "return 1 + nil",
        "return {1,2,{3,'a',{4}},nil,5}",
        "return 3.7",
        "return {true,false}",
        "return cjson.encode(cjson.decode('{\"a\":[1,2,3]}'))",
        "return cmsgpack.unpack(cmsgpack.pack({1,2,3}))",
        "return bit.tohex(65535)",
        "return struct.pack('HH', 1, 2)",
        "return redis.sha1hex('')",
        "redis.setresp(3); return redis.call('hgetall', 'h')",
        "redis.setresp(3); return redis.call('zrange', 'z', 0, -1, 'withscores')",
        "redis.setresp(3); return redis.call('zscore', 'z', 'b')",
        "return redis.call('zrange', 'z', 0, -1, 'withscores')",
        "return redis.call('hset', 'h', 'f', 'v', 'g', 'w')",
        "return redis.call('zadd', 'z', 1, 'a', 2.5, 'b')",
        "return redis.call('set', 'a', 1.5)",
        "return redis.call('get', {})",
        "return redis.call()",
        "return redis.call('subscribe', 'x')",
        "return redis.call('blpop', 'nolist', 0)",
        "return redis.call('select', 1)",
        "return redis.call('eval', 'return 1', 0)",
        "return redis.sha1hex()",
        "return redis.setresp(4)",
        "return redis.set_repl(99)",
        "return redis.log(99, 'x')",
        "return redis.acl_check_cmd('nosuch')",
        "return redis.acl_check_cmd('get', 'x')",
        "return math.random(0)",
        "return math.randomseed()",
        "return math.random(1, 'x')",
        "return os.execute('ls')",
        "return _G.foo",
        "foo = 1",
        "return string.format('%d %s %5.2f', 1, 'a', 3.14159)",
        "return 9007199254740993",
        "return 1e300*1e300",
        "return redis.call('incrbyfloat', 'fl', '1.5')",
        "return redis.REDIS_VERSION",
        "return #KEYS + #ARGV",
    ];
    for resp3 in [false, true] {
        let (mut theirs, mut mine) = (connect(real.port, resp3), connect(server.addr().port(), resp3));
        for con in [&mut theirs, &mut mine] {
            let _: () = cmd("FLUSHALL").query(con).unwrap();
            let _: () = cmd("SET").arg("str").arg("abc").query(con).unwrap();
        }
        for script in scripts {
            for eval in ["EVAL", "EVAL_RO"] {
                let c: Vec<String> = [eval, script, "1", "k1", "a1"].iter().map(|s| s.to_string()).collect();
                let (want, got) = (reply(&mut theirs, &c), reply(&mut mine, &c));
                assert_eq!(got, want, "{eval} {script:?} (resp3: {resp3})");
            }
        }
    }
}

/// Every command and subcommand redis-server lists, with no arguments, one and four stray ones: the arity,
/// syntax and "unknown subcommand" errors, and the replies where the command accepts them. Commands that
/// would stop the server, change its role or connections, or block are left out.
#[test]
fn every_command_with_too_few_and_too_many_arguments() {
    let Some((real, server)) = both("differential-arity") else { return };
    let (mut theirs, mut mine) = (connect(real.port, false), connect(server.addr().port(), false));
    let names: Vec<String> = cmd("COMMAND").arg("LIST").query(&mut theirs).unwrap();
    let skip = [
        "shutdown",
        "monitor",
        "subscribe",
        "psubscribe",
        "ssubscribe",
        "sync",
        "psync",
        "quit",
        "reset",
        "failover",
        "replicaof",
        "slaveof",
        "debug",
        "save",
        "bgsave",
        "bgrewriteaof",
        "flushall",
        "flushdb",
        "swapdb",
        "hello",
        "auth",
        "select",
        "multi",
        "exec",
        "discard",
        "watch",
        "readonly",
        "readwrite",
        "asking",
        "info",
        "lastsave",
        "time",
        "command",
        "role",
        "lolwut",
        "randomkey",
        "wait",
        "client|kill",
        "client|pause",
        "client|reply",
        "client|no-evict",
        "client|setname",
        "client|tracking",
        "client|caching",
        "client|id",
        "client|info",
        "client|list",
        "config|set",
        "config|rewrite",
        "config|resetstat",
        "acl|setuser",
        "acl|deluser",
        "acl|load",
        "acl|save",
        "acl|genpass",
        "acl|log",
        "acl|list",
        "acl|getuser",
        "script|kill",
        "function|kill",
        "function|restore",
        "function|flush",
        "script|flush",
        "module|load",
        "module|loadex",
        "module|unload",
        "cluster|reset",
        "cluster|failover",
        "memory|stats",
        "memory|malloc-stats",
        "memory|doctor",
        "latency|doctor",
        "latency|histogram",
        "slowlog|get",
        "object|help",
        "config|get",
        "memory|usage",
        // Switches the connection into a debugging session's mode.
        "script|debug",
        // Clock-dependent: a slow moment of a loaded machine logs a command on one server only; idle
        // seconds tick at different moments.
        "slowlog|len",
        "object|idletime",
    ];
    // Whole-table replies in hash order (COMMAND DOCS, ...): tests/command_table.rs compares those.
    let skip_parents = ["command"];
    let mut sorted = names.clone();
    sorted.sort();
    let skipped = |n: &str| skip.contains(&n) || skip_parents.contains(&n.split('|').next().unwrap_or(n));
    for name in sorted.iter().filter(|n| !skipped(n)) {
        // Blocking commands with a timeout argument of "x" fail at once on both.
        let base: Vec<String> = name.split('|').map(str::to_string).collect();
        for extra in [0, 1, 4] {
            let mut c = base.clone();
            c.extend(std::iter::repeat_n("x".to_string(), extra));
            let (want, got) = (reply(&mut theirs, &c), reply(&mut mine, &c));
            let cut = |r: &str| r.chars().take(400).collect::<String>();
            assert!(got == want, "{}\n  redis-server: {}\n  ferrodis:     {}", c.join(" "), cut(&want), cut(&got));
        }
    }
}
