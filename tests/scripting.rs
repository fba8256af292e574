//! Lua scripting and functions through the `redis` crate against an in-process server: reply
//! conversions both ways, Redis's error texts, the sandbox, RESP3, propagation of a script's effects,
//! and FUNCTION/FCALL.

mod common;

use common::{err_text, roundtrip, TestServer};
use redis::{cmd, Connection, Value};
use std::io::Read;

fn eval(con: &mut Connection, script: &str, keys: &[&str], args: &[&str]) -> Result<Value, String> {
    cmd("EVAL").arg(script).arg(keys.len()).arg(keys).arg(args).query::<Value>(con).map_err(err_text)
}

fn bulk(s: &str) -> Value {
    Value::BulkString(s.as_bytes().to_vec())
}

#[test]
fn lua_values_become_replies() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    assert_eq!(eval(&mut con, "return 'hello'", &[], &[]), Ok(bulk("hello")));
    assert_eq!(eval(&mut con, "return 100.5", &[], &[]), Ok(Value::Int(100)));
    assert_eq!(eval(&mut con, "return true", &[], &[]), Ok(Value::Int(1)));
    assert_eq!(eval(&mut con, "return false", &[], &[]), Ok(Value::Nil));
    assert_eq!(eval(&mut con, "return {ok='fine'}", &[], &[]), Ok(Value::SimpleString("fine".into())));
    assert_eq!(
        eval(&mut con, "return {1, 2, 'c', {4}, nil, 6}", &[], &[]),
        Ok(Value::Array(vec![Value::Int(1), Value::Int(2), bulk("c"), Value::Array(vec![Value::Int(4)])]))
    );
    assert_eq!(
        eval(&mut con, "return {KEYS[1], KEYS[2], ARGV[1]}", &["a", "b"], &["c"]),
        Ok(Value::Array(vec![bulk("a"), bulk("b"), bulk("c")]))
    );
    assert_eq!(eval(&mut con, "return {err='ERR this is an error'}", &[], &[]), Err("ERR this is an error".into()));
    assert_eq!(eval(&mut con, "return redis.error_reply('MY_CODE boom')", &[], &[]), Err("MY_CODE boom".into()));
    assert_eq!(eval(&mut con, "return _G", &[], &[]), Ok(Value::Array(vec![])));
    // Status replies keep their text.
    let mut raw = srv.raw();
    let script = "return redis.status_reply('X')";
    let req = format!("*3\r\n$4\r\nEVAL\r\n${}\r\n{}\r\n$1\r\n0\r\n", script.len(), script);
    let r = roundtrip(&mut raw, req.as_bytes(), 4);
    assert_eq!(r, b"+X\r\n");
}

#[test]
fn replies_become_lua_values() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    cmd("SET").arg("x").arg("0").query::<()>(&mut con).unwrap();
    cmd("RPUSH").arg("l").arg("a").arg("b").query::<()>(&mut con).unwrap();
    let got = eval(
        &mut con,
        "local i = redis.call('incr', KEYS[1])
         local l = redis.call('lrange', KEYS[2], 0, -1)
         local s = redis.call('set', 'y', 'v')
         local n = redis.call('get', 'nokey')
         local e = redis.pcall('lpush', KEYS[1], 'v')
         return {type(i), i, #l, l[2], s.ok, tostring(n), e.err}",
        &["x", "l"],
        &[],
    );
    assert_eq!(
        got,
        Ok(Value::Array(vec![
            bulk("number"),
            Value::Int(1),
            Value::Int(2),
            bulk("b"),
            bulk("OK"),
            bulk("false"),
            bulk("WRONGTYPE Operation against a key holding the wrong kind of value"),
        ]))
    );
    // Numbers go to commands as "%.17g": integers stay exact up to 2^53.
    assert_eq!(
        eval(&mut con, "redis.call('set', 'n', 9007199254740991) return redis.call('get', 'n')", &[], &[]),
        Ok(bulk("9007199254740991"))
    );
}

#[test]
fn resp3_conversions() {
    let srv = TestServer::start();
    let mut raw = srv.raw();
    roundtrip(&mut raw, b"*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n", 1);
    let mut sink = [0u8; 4096];
    raw.set_read_timeout(Some(std::time::Duration::from_millis(200))).unwrap();
    let _ = raw.read(&mut sink);
    roundtrip(&mut raw, b"*4\r\n$4\r\nHSET\r\n$1\r\nh\r\n$1\r\nf\r\n$1\r\nv\r\n", 4);
    let script = "redis.setresp(3) return redis.call('hgetall', 'h')";
    let req = format!("*3\r\n$4\r\nEVAL\r\n${}\r\n{}\r\n$1\r\n0\r\n", script.len(), script);
    assert_eq!(roundtrip(&mut raw, req.as_bytes(), 18), b"%1\r\n$1\r\nf\r\n$1\r\nv\r\n");
    let script = "return {double=1.5}";
    let req = format!("*3\r\n$4\r\nEVAL\r\n${}\r\n{}\r\n$1\r\n0\r\n", script.len(), script);
    assert_eq!(roundtrip(&mut raw, req.as_bytes(), 6), b",1.5\r\n");
    // Booleans follow the script's protocol: RESP2 (the default) makes true 1 and false null.
    let script = "return {true, false}";
    let req = format!("*3\r\n$4\r\nEVAL\r\n${}\r\n{}\r\n$1\r\n0\r\n", script.len(), script);
    assert_eq!(roundtrip(&mut raw, req.as_bytes(), 11), b"*2\r\n:1\r\n_\r\n");
    let script = "redis.setresp(3) return {true, false}";
    let req = format!("*3\r\n$4\r\nEVAL\r\n${}\r\n{}\r\n$1\r\n0\r\n", script.len(), script);
    assert_eq!(roundtrip(&mut raw, req.as_bytes(), 12), b"*2\r\n#t\r\n#f\r\n");
}

#[test]
fn errors_as_redis_words_them() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    let sha = "ffd632c7d33e571e9f24556ebed26c3479a87130";
    assert_eq!(
        err_text(cmd("EVALSHA").arg(sha).arg(0).query::<Value>(&mut con).unwrap_err()),
        "NOSCRIPT No matching script. Please use EVAL."
    );
    let e = eval(&mut con, "return a", &[], &[]).unwrap_err();
    assert!(
        e.starts_with("ERR user_script:1: Script attempted to access nonexistent global variable 'a' script: "),
        "{e}"
    );
    assert!(e.ends_with(", on @user_script:1."), "{e}");
    let e = eval(&mut con, "a = 10", &[], &[]).unwrap_err();
    assert!(e.contains("Attempt to modify a readonly table"), "{e}");
    let e = eval(&mut con, "\nredis.call('nosuchcommand')", &[], &[]).unwrap_err();
    assert!(e.starts_with("ERR Unknown Redis command called from script script: "), "{e}");
    assert!(e.ends_with("on @user_script:2."), "{e}");
    let e = eval(&mut con, "redis.call('get', 'a', 'b')", &[], &[]).unwrap_err();
    assert!(e.starts_with("ERR Wrong number of args calling Redis command from script"), "{e}");
    let e = eval(&mut con, "return redis.call('blpop', 'l', 0)", &[], &[]).unwrap_err();
    assert!(e.starts_with("ERR This Redis command is not allowed from script"), "{e}");
    let e = eval(&mut con, "return redis.call()", &[], &[]).unwrap_err();
    assert!(e.contains("Please specify at least one argument for this redis lib call"), "{e}");
    let e = eval(&mut con, "return +", &[], &[]).unwrap_err();
    assert!(e.starts_with("ERR Error compiling script (new function): user_script:1:"), "{e}");
    assert_eq!(eval(&mut con, "return 1", &[], &[]).map(|_| ()), Ok(()));
    let e = cmd("EVAL").arg("return 1").arg(-1).query::<Value>(&mut con).map_err(err_text).unwrap_err();
    assert_eq!(e, "ERR Number of keys can't be negative");
    let e = cmd("EVAL_RO").arg("redis.call('set', 'k', 'v')").arg(0).query::<Value>(&mut con).map_err(err_text);
    assert!(e.unwrap_err().starts_with("ERR Write commands are not allowed from read-only scripts."));
    let e = eval(&mut con, "#!lua flags=no-writes\nredis.call('del', 'k')", &[], &[]).unwrap_err();
    assert!(e.starts_with("ERR Write commands are not allowed from read-only scripts."), "{e}");
    assert_eq!(
        eval(&mut con, "#!lua flags=bogus\nreturn 1", &[], &[]),
        Err("ERR Unexpected flag in script shebang: bogus".into())
    );
    // The pcall error of a redis.call failure is its message, as Redis 7.
    assert_eq!(
        eval(&mut con, "local ok, e = pcall(redis.call, 'nosuch') return e", &[], &[]),
        Ok(bulk("ERR Unknown Redis command called from script"))
    );
}

#[test]
fn script_cache_and_libraries() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    let sha: String = cmd("SCRIPT").arg("LOAD").arg("return 'loaded'").query(&mut con).unwrap();
    assert_eq!(sha, "b534286061d4b9e4026607613b95c06c06015ae8");
    assert_eq!(cmd("EVALSHA").arg(sha.to_uppercase()).arg(0).query::<String>(&mut con).unwrap(), "loaded");
    assert_eq!(cmd("SCRIPT").arg("EXISTS").arg(&sha).arg("00").query::<Vec<i64>>(&mut con).unwrap(), vec![1, 0]);
    let info: String = cmd("INFO").arg("memory").query(&mut con).unwrap();
    assert!(info.contains("number_of_cached_scripts:1"), "{info}");
    assert_eq!(cmd("SCRIPT").arg("FLUSH").query::<String>(&mut con).unwrap(), "OK");
    assert_eq!(cmd("SCRIPT").arg("EXISTS").arg(&sha).query::<Vec<i64>>(&mut con).unwrap(), vec![0]);
    assert_eq!(
        err_text(cmd("SCRIPT").arg("KILL").query::<Value>(&mut con).unwrap_err()),
        "NOTBUSY No scripts in execution right now."
    );
    assert_eq!(
        eval(&mut con, "return redis.sha1hex('Pizza & Mandolino')", &[], &[]),
        Ok(bulk("74822d82031af7493c20eefa13bd07ec4fada82f"))
    );
    assert_eq!(eval(&mut con, "return bit.bor(1, 2, 4, 8, 16, 32, 64, 128)", &[], &[]), Ok(Value::Int(255)));
    assert_eq!(eval(&mut con, "return cjson.encode({1, 'a'})", &[], &[]), Ok(bulk("[1,\"a\"]")));
    assert_eq!(eval(&mut con, "return cjson.decode('{\"k\": [5]}').k[1]", &[], &[]), Ok(Value::Int(5)));
    assert_eq!(
        eval(&mut con, "local e = cmsgpack.pack(0.1) return string.format('%02x', e:byte(1))", &[], &[]),
        Ok(bulk("cb"))
    );
    assert_eq!(eval(&mut con, "return struct.unpack('>I2', struct.pack('>I2', 258))", &[], &[]), Ok(Value::Int(258)));
    // The same seed gives the same sequence.
    let a = eval(&mut con, "math.randomseed(ARGV[1]) return tostring(math.random())", &[], &["10"]);
    let b = eval(&mut con, "math.randomseed(ARGV[1]) return tostring(math.random())", &[], &["10"]);
    assert_eq!(a, b);
}

#[test]
fn select_and_sort_inside_scripts() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    cmd("SET").arg("k").arg("db0").query::<()>(&mut con).unwrap();
    cmd("SELECT").arg(1).query::<()>(&mut con).unwrap();
    cmd("SET").arg("k").arg("db1").query::<()>(&mut con).unwrap();
    assert_eq!(eval(&mut con, "return redis.call('get', 'k')", &[], &[]), Ok(bulk("db1")));
    assert_eq!(eval(&mut con, "redis.call('select', 0) return redis.call('get', 'k')", &[], &[]), Ok(bulk("db0")));
    // The caller stays in its database.
    assert_eq!(cmd("GET").arg("k").query::<String>(&mut con).unwrap(), "db1");
    cmd("SADD").arg("s").arg("c").arg("a").arg("b").query::<()>(&mut con).unwrap();
    assert_eq!(
        eval(&mut con, "return redis.call('sort', KEYS[1], 'by', 'nosort')", &["s"], &[]),
        Ok(Value::Array(vec![bulk("a"), bulk("b"), bulk("c")]))
    );
}

fn read_stream(s: &mut std::net::TcpStream, want: &str) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).replace("\r\n", " ").contains(want) {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&got).replace("\r\n", " ")
}

#[test]
fn effects_replicate_not_the_script() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    let mut repl = srv.raw();
    std::io::Write::write_all(&mut repl, b"SYNC\r\n").unwrap();
    read_stream(&mut repl, "REDIS0010");
    // One write: alone. Several: in MULTI/EXEC. Reads: nothing. EXPIRE is rewritten as PEXPIREAT.
    eval(&mut con, "redis.call('set', 'a', '1')", &[], &[]).unwrap();
    eval(&mut con, "redis.call('get', 'a')", &[], &[]).unwrap();
    eval(&mut con, "redis.call('incr', 'b') redis.call('expire', 'b', 100)", &[], &[]).unwrap();
    eval(&mut con, "redis.set_repl(redis.REPL_NONE) redis.call('set', 'hidden', '1')", &[], &[]).unwrap();
    cmd("SET").arg("last").arg("1").query::<()>(&mut con).unwrap();
    let s = read_stream(&mut repl, "$4 last $1 1");
    assert!(s.contains("*3 $3 set $1 a $1 1 *1 $5 MULTI *2 $4 incr $1 b *3 $9 PEXPIREAT $1 b"), "{s}");
    assert!(s.contains("*1 $4 EXEC *3 $3 SET $4 last"), "{s}");
    assert!(!s.contains("EVAL") && !s.contains("get") && !s.contains("hidden"), "{s}");
}

#[test]
fn functions_load_call_and_list() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    let lib = "#!lua name=mylib\n\
               redis.register_function('echo1', function(keys, args) return args[1] end)\n\
               redis.register_function{function_name='rget', callback=function(keys) return redis.call('get', keys[1]) end, flags={'no-writes'}, description='read'}";
    assert_eq!(cmd("FUNCTION").arg("LOAD").arg(lib).query::<String>(&mut con).unwrap(), "mylib");
    assert_eq!(
        err_text(cmd("FUNCTION").arg("LOAD").arg(lib).query::<Value>(&mut con).unwrap_err()),
        "ERR Library 'mylib' already exists"
    );
    assert_eq!(cmd("FCALL").arg("ECHO1").arg(0).arg("hi").query::<String>(&mut con).unwrap(), "hi");
    cmd("SET").arg("k").arg("v").query::<()>(&mut con).unwrap();
    assert_eq!(cmd("FCALL_RO").arg("rget").arg(1).arg("k").query::<String>(&mut con).unwrap(), "v");
    assert_eq!(
        err_text(cmd("FCALL_RO").arg("echo1").arg(0).query::<Value>(&mut con).unwrap_err()),
        "ERR Can not execute a script with write flag using *_ro command."
    );
    let list: Value = cmd("FUNCTION").arg("LIST").arg("WITHCODE").query(&mut con).unwrap();
    let text = format!("{list:?}");
    assert!(text.contains("mylib") && text.contains("no-writes") && text.contains("read"), "{text}");
    let dump: Vec<u8> = cmd("FUNCTION").arg("DUMP").query(&mut con).unwrap();
    assert_eq!(cmd("FUNCTION").arg("FLUSH").query::<String>(&mut con).unwrap(), "OK");
    assert_eq!(
        err_text(cmd("FCALL").arg("echo1").arg(0).query::<Value>(&mut con).unwrap_err()),
        "ERR Function not found"
    );
    assert_eq!(cmd("FUNCTION").arg("RESTORE").arg(dump).query::<String>(&mut con).unwrap(), "OK");
    assert_eq!(cmd("FCALL").arg("echo1").arg(0).arg("back").query::<String>(&mut con).unwrap(), "back");
    let e = err_text(
        cmd("FUNCTION").arg("LOAD").arg("#!lua name=x\nreturn math.random()").query::<Value>(&mut con).unwrap_err(),
    );
    assert!(e.contains("Script attempted to access nonexistent global variable 'math'"), "{e}");
    let e =
        err_text(cmd("FUNCTION").arg("LOAD").arg("#!lua name=x\nlocal a = 1").query::<Value>(&mut con).unwrap_err());
    assert_eq!(e, "ERR No functions registered");
}

/// Regression (hardening issue, finding 1): nested MessagePack, JSON and tables as deep as a client
/// likes end in Redis's errors, and the server goes on serving.
#[test]
fn deep_nesting_from_scripts_is_an_error_not_a_crash() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    let e = eval(&mut con, "return cmsgpack.unpack(string.rep(string.char(0x91),10000)..string.char(0xc0))", &[], &[])
        .unwrap_err();
    assert!(e.starts_with("ERR user_script:1: stack overflow (in function mp_decode_to_lua_array) script: "), "{e}");
    let e =
        eval(&mut con, "return cmsgpack.unpack(string.rep(string.char(0xdc,0,1),10000)..string.char(0xc0))", &[], &[])
            .unwrap_err();
    assert!(e.contains("stack overflow (in function mp_decode_to_lua_array)"), "{e}");
    let e = eval(&mut con, "cjson.decode_max_depth(1e6) return cjson.decode(string.rep('[', 200000))", &[], &[])
        .unwrap_err();
    assert!(e.starts_with("ERR user_script:1: Found too many nested data structures ("), "{e}");
    let e = eval(&mut con, "cjson.encode_max_depth(1e6) local t = {} t[1] = t return cjson.encode(t)", &[], &[])
        .unwrap_err();
    assert!(e.starts_with("ERR user_script:1: Cannot serialise, excessive nesting ("), "{e}");
    // A table that holds itself is written until Redis's Lua stack limit, then the error in its place.
    let mut raw = srv.raw();
    let script = "local t = {} t[1] = t return t";
    let req = format!("*3\r\n$4\r\nEVAL\r\n${}\r\n{}\r\n$1\r\n0\r\n", script.len(), script);
    let want = format!("{}-ERR reached lua stack limit\r\n", "*1\r\n".repeat(7995));
    assert_eq!(roundtrip(&mut raw, req.as_bytes(), want.len()), want.as_bytes());
    assert_eq!(cmd("PING").query::<String>(&mut con).unwrap(), "PONG");
}

#[test]
fn scripts_cannot_block_on_streams() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    let _: () = redis::cmd("XGROUP").arg(&["CREATE", "s", "g", "$", "MKSTREAM"]).query(&mut con).unwrap();
    // Without BLOCK they read (nothing here); with it they refuse, naming the command as it was called.
    assert_eq!(eval(&mut con, "return redis.pcall('xread','STREAMS','s','$')", &["s"], &[]), Ok(Value::Nil));
    let e = eval(&mut con, "return redis.pcall('xread','BLOCK',0,'STREAMS','s','$')", &["s"], &[]).unwrap_err();
    assert!(e.contains("xread command is not allowed with BLOCK option from scripts"), "{e}");
    let e = eval(&mut con, "return redis.pcall('xreadgroup','group','g','c','BLOCK',0,'STREAMS','s','>')", &["s"], &[]);
    let e = e.unwrap_err();
    assert!(e.contains("xreadgroup command is not allowed with BLOCK option from scripts"), "{e}");
}

/// More cached scripts than Lua 5.1's 8000 stack slots (mlua keeps a Rust-held function handle in one):
/// the cache keeps them in the registry, so loading, EVALSHA and new scripts all go on working.
#[test]
fn a_cache_of_many_thousand_scripts_keeps_working() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    let mut pipe = redis::pipe();
    for i in 0..9000 {
        pipe.cmd("SCRIPT").arg("LOAD").arg(format!("return {i}"));
    }
    let shas: Vec<String> = pipe.query(&mut con).unwrap();
    assert_eq!(shas.len(), 9000);
    assert_eq!(cmd("EVALSHA").arg(&shas[0]).arg(0).query::<i64>(&mut con).unwrap(), 0);
    assert_eq!(cmd("EVALSHA").arg(&shas[8999]).arg(0).query::<i64>(&mut con).unwrap(), 8999);
    assert_eq!(cmd("EVAL").arg("return 'more'").arg(0).query::<String>(&mut con).unwrap(), "more");
}
