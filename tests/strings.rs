//! String and bitmap commands through the `redis` crate against an in-process server: one test per command
//! group, checking replies, error texts and the effects another command can observe (TTL, encoding).

mod common;

use common::{fails, roundtrip, TestServer};
use redis::{cmd, Connection, Value};

fn encoding(con: &mut Connection, key: &str) -> String {
    cmd("OBJECT").arg("ENCODING").arg(key).query(con).unwrap()
}

fn pttl(con: &mut Connection, key: &str) -> i64 {
    cmd("PTTL").arg(key).query(con).unwrap()
}

#[test]
fn get_set_and_variants() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    let get = |con: &mut Connection, k: &str| cmd("GET").arg(k).query::<Option<String>>(con).unwrap();

    assert_eq!(get(&mut con, "k"), None);
    assert_eq!(cmd("SET").arg("k").arg("v").query::<String>(&mut con).unwrap(), "OK");
    assert_eq!(get(&mut con, "k").as_deref(), Some("v"));
    assert_eq!(encoding(&mut con, "k"), "embstr");
    cmd("SET").arg("n").arg("12345").query::<()>(&mut con).unwrap();
    assert_eq!(encoding(&mut con, "n"), "int");
    cmd("SET").arg("long").arg("x".repeat(45)).query::<()>(&mut con).unwrap();
    assert_eq!(encoding(&mut con, "long"), "raw");

    // NX / XX / GET.
    assert_eq!(cmd("SET").arg("k").arg("w").arg("NX").query::<Option<String>>(&mut con).unwrap(), None);
    assert_eq!(
        cmd("SET").arg("k").arg("w").arg("XX").arg("GET").query::<Option<String>>(&mut con).unwrap().as_deref(),
        Some("v")
    );
    assert_eq!(cmd("SET").arg("none").arg("w").arg("XX").query::<Option<String>>(&mut con).unwrap(), None);
    assert_eq!(fails(&mut con, &["SET", "k", "v", "NX", "XX"]), "ERR syntax error");
    assert_eq!(fails(&mut con, &["SET", "k", "v", "EX", "10", "KEEPTTL"]), "ERR syntax error");

    // Expiry options.
    cmd("SET").arg("t").arg("v").arg("EX").arg(100).query::<()>(&mut con).unwrap();
    assert!((95_000..=100_000).contains(&pttl(&mut con, "t")));
    cmd("SET").arg("t").arg("w").arg("KEEPTTL").query::<()>(&mut con).unwrap();
    assert!(pttl(&mut con, "t") > 0);
    cmd("SET").arg("t").arg("w").query::<()>(&mut con).unwrap();
    assert_eq!(pttl(&mut con, "t"), -1);
    assert_eq!(fails(&mut con, &["SET", "t", "v", "EX", "0"]), "ERR invalid expire time in 'set' command");
    assert_eq!(fails(&mut con, &["SETEX", "t", "-1", "v"]), "ERR invalid expire time in 'setex' command");
    assert_eq!(fails(&mut con, &["SET", "t", "v", "PX", "x"]), "ERR value is not an integer or out of range");
    cmd("PSETEX").arg("t").arg(5000).arg("v").query::<()>(&mut con).unwrap();
    assert!((1..=5000).contains(&pttl(&mut con, "t")));

    assert_eq!(cmd("SETNX").arg("k").arg("x").query::<i64>(&mut con).unwrap(), 0);
    assert_eq!(cmd("SETNX").arg("fresh").arg("x").query::<i64>(&mut con).unwrap(), 1);
    assert_eq!(cmd("GETSET").arg("fresh").arg("y").query::<String>(&mut con).unwrap(), "x");
    assert_eq!(cmd("GETDEL").arg("fresh").query::<String>(&mut con).unwrap(), "y");
    assert_eq!(cmd("GETDEL").arg("fresh").query::<Option<String>>(&mut con).unwrap(), None);

    // GETEX sets or removes the TTL and returns the value.
    assert_eq!(cmd("GETEX").arg("k").arg("PX").arg(10_000).query::<String>(&mut con).unwrap(), "w");
    assert!(pttl(&mut con, "k") > 5_000);
    assert_eq!(cmd("GETEX").arg("k").arg("PERSIST").query::<String>(&mut con).unwrap(), "w");
    assert_eq!(pttl(&mut con, "k"), -1);
    assert_eq!(fails(&mut con, &["GETEX", "k", "EX", "10", "PERSIST"]), "ERR syntax error");
    assert_eq!(fails(&mut con, &["GETEX", "k", "EX", "-10"]), "ERR invalid expire time in 'getex' command");

    // MSET / MGET / MSETNX.
    cmd("MSET").arg(&["a", "1", "b", "2"]).query::<()>(&mut con).unwrap();
    let vals: Vec<Option<String>> = cmd("MGET").arg(&["a", "missing", "b"]).query(&mut con).unwrap();
    assert_eq!(vals, vec![Some("1".into()), None, Some("2".into())]);
    assert_eq!(cmd("MSETNX").arg(&["a", "9", "c", "3"]).query::<i64>(&mut con).unwrap(), 0);
    assert_eq!(cmd("MSETNX").arg(&["c", "3", "d", "4"]).query::<i64>(&mut con).unwrap(), 1);
    assert_eq!(fails(&mut con, &["MSET", "a", "1", "b"]), "ERR wrong number of arguments for 'mset' command");
}

#[test]
fn counters() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    let q = |con: &mut Connection, args: &[&str]| cmd(args[0]).arg(&args[1..]).query::<i64>(con).unwrap();

    assert_eq!(q(&mut con, &["INCR", "c"]), 1);
    assert_eq!(q(&mut con, &["INCRBY", "c", "17179869184"]), 17179869185);
    assert_eq!(q(&mut con, &["DECRBY", "c", "17179869186"]), -1);
    assert_eq!(q(&mut con, &["DECR", "c"]), -2);
    assert_eq!(encoding(&mut con, "c"), "int");
    cmd("SET").arg("c").arg(" 11").query::<()>(&mut con).unwrap();
    assert_eq!(fails(&mut con, &["INCR", "c"]), "ERR value is not an integer or out of range");
    cmd("SET").arg("c").arg(i64::MAX).query::<()>(&mut con).unwrap();
    assert_eq!(fails(&mut con, &["INCR", "c"]), "ERR increment or decrement would overflow");
    assert_eq!(fails(&mut con, &["DECRBY", "c", "-9223372036854775808"]), "ERR decrement would overflow");

    // INCR keeps the TTL.
    cmd("SET").arg("t").arg(1).arg("EX").arg(100).query::<()>(&mut con).unwrap();
    assert_eq!(q(&mut con, &["INCR", "t"]), 2);
    assert!(pttl(&mut con, "t") > 0);

    // INCRBYFLOAT adds in long double precision, as Redis does.
    let f = |con: &mut Connection, k: &str, by: &str| cmd("INCRBYFLOAT").arg(k).arg(by).query::<String>(con).unwrap();
    assert_eq!(f(&mut con, "f", "10.5"), "10.5");
    assert_eq!(f(&mut con, "f", "0.1"), "10.6");
    cmd("SET").arg("f").arg("0.1").query::<()>(&mut con).unwrap();
    assert_eq!(f(&mut con, "f", "0.2"), "0.3");
    assert_eq!(f(&mut con, "f", "-0.3"), "0");
    assert_eq!(f(&mut con, "f", "3.0e3"), "3000");
    assert_eq!(encoding(&mut con, "f"), "embstr");
    assert_eq!(fails(&mut con, &["INCRBYFLOAT", "f", "abc"]), "ERR value is not a valid float");
    assert_eq!(fails(&mut con, &["INCRBYFLOAT", "f", "+inf"]), "ERR increment would produce NaN or Infinity");
}

#[test]
fn append_ranges_and_lcs() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    let q = |con: &mut Connection, args: &[&str]| cmd(args[0]).arg(&args[1..]).query::<Value>(con).unwrap();

    assert_eq!(q(&mut con, &["APPEND", "s", "Hello"]), Value::Int(5));
    assert_eq!(q(&mut con, &["APPEND", "s", " World"]), Value::Int(11));
    assert_eq!(encoding(&mut con, "s"), "raw");
    assert_eq!(q(&mut con, &["STRLEN", "s"]), Value::Int(11));
    assert_eq!(q(&mut con, &["STRLEN", "nokey"]), Value::Int(0));
    let range =
        |con: &mut Connection, a: i64, b: i64| cmd("GETRANGE").arg("s").arg(a).arg(b).query::<String>(con).unwrap();
    assert_eq!(range(&mut con, 0, 3), "Hell");
    assert_eq!(range(&mut con, -4, -1), "orld");
    assert_eq!(range(&mut con, 5, 3), "");
    assert_eq!(range(&mut con, 0, 4_294_967_297), "Hello World");
    assert_eq!(cmd("SUBSTR").arg("s").arg(6).arg(-1).query::<String>(&mut con).unwrap(), "World");

    assert_eq!(q(&mut con, &["SETRANGE", "s", "6", "Redis"]), Value::Int(11));
    assert_eq!(q(&mut con, &["SETRANGE", "z", "3", "x"]), Value::Int(4));
    assert_eq!(cmd("GET").arg("z").query::<Vec<u8>>(&mut con).unwrap(), b"\0\0\0x");
    assert_eq!(fails(&mut con, &["SETRANGE", "s", "-1", "x"]), "ERR offset is out of range");
    assert_eq!(
        fails(&mut con, &["SETRANGE", "s", "536870908", "world"]),
        "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
    );

    cmd("MSET").arg(&["a", "ohmytext", "b", "mynewtext"]).query::<()>(&mut con).unwrap();
    assert_eq!(cmd("LCS").arg("a").arg("b").query::<String>(&mut con).unwrap(), "mytext");
    assert_eq!(q(&mut con, &["LCS", "a", "b", "LEN"]), Value::Int(6));
    let idx: Value = cmd("LCS").arg(&["a", "b", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"]).query(&mut con).unwrap();
    let Value::Array(items) = idx else { panic!("{idx:?}") };
    assert_eq!(items[0], Value::BulkString(b"matches".to_vec()));
    assert_eq!(
        items[1],
        Value::Array(vec![Value::Array(vec![
            Value::Array(vec![Value::Int(4), Value::Int(7)]),
            Value::Array(vec![Value::Int(5), Value::Int(8)]),
            Value::Int(4),
        ])])
    );
    assert_eq!(items[2..], [Value::BulkString(b"len".to_vec()), Value::Int(6)]);
    assert_eq!(
        fails(&mut con, &["LCS", "a", "b", "LEN", "IDX"]),
        "ERR If you want both the length and indexes, please just use IDX."
    );
}

#[test]
fn bitmaps() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    let q = |con: &mut Connection, args: &[&str]| cmd(args[0]).arg(&args[1..]).query::<Value>(con).unwrap();
    let ints = |v: &[i64]| Value::Array(v.iter().map(|&i| Value::Int(i)).collect());

    assert_eq!(q(&mut con, &["SETBIT", "b", "1", "1"]), Value::Int(0));
    assert_eq!(q(&mut con, &["SETBIT", "b", "1", "0"]), Value::Int(1));
    assert_eq!(q(&mut con, &["SETBIT", "b", "7", "1"]), Value::Int(0));
    assert_eq!(q(&mut con, &["GETBIT", "b", "7"]), Value::Int(1));
    assert_eq!(q(&mut con, &["GETBIT", "b", "100"]), Value::Int(0));
    assert_eq!(encoding(&mut con, "b"), "raw");
    assert_eq!(fails(&mut con, &["SETBIT", "b", "0", "2"]), "ERR bit is not an integer or out of range");
    assert_eq!(fails(&mut con, &["SETBIT", "b", "-1", "1"]), "ERR bit offset is not an integer or out of range");

    cmd("SET").arg("s").arg("foobar").query::<()>(&mut con).unwrap();
    assert_eq!(q(&mut con, &["BITCOUNT", "s"]), Value::Int(26));
    assert_eq!(q(&mut con, &["BITCOUNT", "s", "1", "1"]), Value::Int(6));
    assert_eq!(q(&mut con, &["BITCOUNT", "s", "5", "30", "BIT"]), Value::Int(17));
    assert_eq!(fails(&mut con, &["BITCOUNT", "s", "0"]), "ERR syntax error");

    cmd("SET").arg("p").arg(b"\xff\xf0\x00".as_slice()).query::<()>(&mut con).unwrap();
    assert_eq!(q(&mut con, &["BITPOS", "p", "0"]), Value::Int(12));
    assert_eq!(q(&mut con, &["BITPOS", "p", "1", "2"]), Value::Int(-1));
    assert_eq!(q(&mut con, &["BITPOS", "p", "1", "7", "15", "BIT"]), Value::Int(7));
    assert_eq!(q(&mut con, &["BITPOS", "missing", "0"]), Value::Int(0));
    assert_eq!(fails(&mut con, &["BITPOS", "p", "2"]), "ERR The bit argument must be 1 or 0.");

    cmd("MSET").arg("x").arg(b"\x0f\xf0".as_slice()).arg("y").arg(b"\xff".as_slice()).query::<()>(&mut con).unwrap();
    assert_eq!(q(&mut con, &["BITOP", "AND", "d", "x", "y"]), Value::Int(2));
    assert_eq!(cmd("GET").arg("d").query::<Vec<u8>>(&mut con).unwrap(), b"\x0f\x00");
    assert_eq!(q(&mut con, &["BITOP", "NOT", "d", "x"]), Value::Int(2));
    assert_eq!(cmd("GET").arg("d").query::<Vec<u8>>(&mut con).unwrap(), b"\xf0\x0f");
    assert_eq!(
        fails(&mut con, &["BITOP", "NOT", "d", "x", "y"]),
        "ERR BITOP NOT must be called with a single source key."
    );

    assert_eq!(
        q(&mut con, &["BITFIELD", "f", "SET", "u8", "#0", "255", "INCRBY", "u8", "#0", "100", "GET", "u8", "#0"]),
        ints(&[0, 99, 99])
    );
    assert_eq!(
        q(
            &mut con,
            &[
                "BITFIELD", "f", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "200", "OVERFLOW", "SAT", "INCRBY", "i8",
                "0", "-300"
            ]
        ),
        Value::Array(vec![Value::Nil, Value::Int(-128)])
    );
    assert_eq!(q(&mut con, &["BITFIELD_RO", "f", "GET", "i8", "0"]), ints(&[-128]));
    assert_eq!(
        fails(&mut con, &["BITFIELD", "f", "GET", "u64", "0"]),
        "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."
    );
    assert_eq!(
        fails(&mut con, &["BITFIELD_RO", "f", "SET", "u8", "0", "1"]),
        "ERR BITFIELD_RO only supports the GET subcommand"
    );
}

#[test]
fn pipelined_string_commands_reply_in_order() {
    let srv = TestServer::start();
    let mut s = srv.raw();
    let mut req = Vec::new();
    let mut want = Vec::new();
    for i in 0..200 {
        let k = format!("k{}", i % 7);
        req.extend_from_slice(format!("*3\r\n$3\r\nSET\r\n${}\r\n{k}\r\n$1\r\n{}\r\n", k.len(), i % 10).as_bytes());
        want.extend_from_slice(b"+OK\r\n");
        req.extend_from_slice(format!("*2\r\n$4\r\nINCR\r\n${}\r\n{k}\r\n", k.len()).as_bytes());
        want.extend_from_slice(format!(":{}\r\n", i % 10 + 1).as_bytes());
        req.extend_from_slice(format!("*2\r\n$3\r\nGET\r\n${}\r\n{k}\r\n", k.len()).as_bytes());
        let v = (i % 10 + 1).to_string();
        want.extend_from_slice(format!("${}\r\n{v}\r\n", v.len()).as_bytes());
    }
    assert_eq!(String::from_utf8_lossy(&roundtrip(&mut s, &req, want.len())), String::from_utf8_lossy(&want));
}
