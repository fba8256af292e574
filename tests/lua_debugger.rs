//! The Lua debugger (SCRIPT DEBUG SYNC) as redis-cli --ldb-sync-mode drives it: each debugger command is
//! a request, each answer an array of status lines; the session ends with `<endsession>`, the EVAL's
//! reply, and the connection closing.

mod common;

use common::{q, TestServer};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;

/// A raw client speaking RESP2, as redis-cli does to the debugger.
struct Client {
    w: TcpStream,
    r: BufReader<TcpStream>,
}

impl Client {
    fn new(srv: &TestServer) -> Client {
        let w = srv.raw();
        let r = BufReader::new(w.try_clone().unwrap());
        Client { w, r }
    }

    /// A client that turned the debugger on and sent `eval`: the session's first logs come with it.
    fn debugging(srv: &TestServer, eval: &[&str]) -> (Client, Vec<String>) {
        let mut c = Client::new(srv);
        assert_eq!(c.ask(&["script", "debug", "sync"]), ["+OK"]);
        let first = c.ask(eval);
        (c, first)
    }

    fn send(&mut self, args: &[&str]) {
        let mut req = format!("*{}\r\n", args.len());
        for a in args {
            req.push_str(&format!("${}\r\n{a}\r\n", a.len()));
        }
        self.w.write_all(req.as_bytes()).unwrap();
    }

    fn line(&mut self) -> String {
        let mut l = String::new();
        self.r.read_line(&mut l).unwrap();
        l.trim_end_matches("\r\n").to_string()
    }

    /// One reply: a line, or an array of status lines (the debugger's logs).
    fn reply(&mut self) -> Vec<String> {
        let head = self.line();
        match head.strip_prefix('*') {
            Some(n) => (0..n.parse::<usize>().unwrap()).map(|_| self.line()[1..].to_string()).collect(),
            None => vec![head],
        }
    }

    fn ask(&mut self, args: &[&str]) -> Vec<String> {
        self.send(args);
        self.reply()
    }
}

const SCRIPT: &str = "local a = 1\nlocal t = {1,2,'x'}\nredis.call('set', KEYS[1], ARGV[1])\nredis.debug('hi', t)\nreturn redis.call('get', KEYS[1])\n";

#[test]
fn a_session_steps_prints_breaks_and_ends_with_the_reply() {
    let srv = TestServer::start();
    let (mut c, first) = Client::debugging(&srv, &["eval", SCRIPT, "1", "k", "v"]);
    assert_eq!(first, ["* Stopped at 1, stop reason = step over", "-> 1   local a = 1"]);
    assert_eq!(c.ask(&["s"]), ["* Stopped at 2, stop reason = step over", "-> 2   local t = {1,2,'x'}"]);
    assert_eq!(c.ask(&["next"])[0], "* Stopped at 3, stop reason = step over");
    assert_eq!(c.ask(&["print"]), ["<value> a = 1", "<value> t = {1; 2; \"x\"}"]);
    assert_eq!(c.ask(&["p", "t"]), ["<value> {1; 2; \"x\"}"]);
    assert_eq!(c.ask(&["print", "nope"]), ["No such variable."]);
    assert_eq!(c.ask(&["print", "ARGV"]), ["<value> {\"v\"}"]);
    // Stepping over a redis.call logs the command and its reply.
    assert_eq!(
        c.ask(&["step"]),
        [
            "<redis> set k v",
            "<reply> \"+OK\"",
            "* Stopped at 4, stop reason = step over",
            "-> 4   redis.debug('hi', t)"
        ]
    );
    assert_eq!(c.ask(&["b", "5"]), ["-> 4   redis.debug('hi', t)", "  #5   return redis.call('get', KEYS[1])"]);
    assert_eq!(c.ask(&["b"]), ["1 breakpoints set:", "  #5   return redis.call('get', KEYS[1])"]);
    assert_eq!(
        c.ask(&["c"]),
        [
            "<debug> line 4: \"hi\", {1; 2; \"x\"}",
            "* Stopped at 5, stop reason = break point",
            "->#5   return redis.call('get', KEYS[1])"
        ]
    );
    assert_eq!(c.ask(&["redis", "incr", "n"]), ["<redis> incr n", "<reply> 1"]);
    assert_eq!(
        c.ask(&["redis", "nosuchcmd"]),
        ["<redis> nosuchcmd", "<error> Unknown Redis command called from script"]
    );
    assert_eq!(c.ask(&["eval", "1 + 2"]), ["<retval> 3"]);
    assert_eq!(c.ask(&["e", "redis.call('get','n')"]), ["<retval> \"1\""]);
    assert_eq!(c.ask(&["trace"]), ["In top level:", "->#5   return redis.call('get', KEYS[1])"]);
    assert_eq!(c.ask(&["list", "1", "0"]), ["   1   local a = 1"]);
    assert_eq!(c.ask(&["whole"]).len(), 5);
    assert_eq!(c.ask(&["maxlen", "0"]), ["<value> replies are unlimited."]);
    assert_eq!(c.ask(&["frobnicate"]), ["<error> Unknown Redis Lua debugger command or wrong number of arguments."]);
    assert_eq!(c.ask(&["help"])[0], "Redis Lua debugger help:");
    // The script runs to its end: the last logs, the reply, and the connection closes.
    assert_eq!(c.ask(&["continue"]), ["<endsession>"]);
    assert_eq!(c.reply(), ["$1"]);
    assert_eq!(c.line(), "v");
    let mut rest = Vec::new();
    c.r.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty());
    // Its writes are kept (sync mode), and the server serves others again.
    let mut con = srv.conn();
    assert_eq!(q::<String>(&mut con, &["get", "k"]), "v");
    assert_eq!(q::<i64>(&mut con, &["get", "n"]), 1);
}

#[test]
fn abort_stops_the_script_with_an_error() {
    let srv = TestServer::start();
    let (mut c, _) = Client::debugging(&srv, &["eval", "redis.call('set','x','1')\nreturn 1", "0"]);
    assert_eq!(c.ask(&["step"])[2], "* Stopped at 2, stop reason = step over");
    assert_eq!(c.ask(&["abort"]), ["<endsession>"]);
    let reply = c.line();
    assert!(reply.starts_with("-ERR script aborted for user request script:"), "{reply}");
    // Changes made before the abort stay.
    assert_eq!(q::<String>(&mut srv.conn(), &["get", "x"]), "1");
}

/// The suite's "Test scripting debug protocol parsing" and "lua stack overflow": commands holding NUL bytes
/// are unknown, a redis call with many arguments is refused as an unknown command, and once the client
/// leaves the script finishes and the server goes on.
#[test]
fn odd_debugger_input_and_a_client_leaving_mid_session() {
    let srv = TestServer::start();
    let (mut c, _) = Client::debugging(&srv, &["eval", "return 'hello'", "0"]);
    for arg in ["hello\0world", "hello\0", "\0hello", "\0hello\0"] {
        let r = c.ask(&[arg]);
        assert_eq!(r, ["<error> Unknown Redis Lua debugger command or wrong number of arguments."]);
    }
    let mut args = vec!["redis"];
    args.extend(std::iter::repeat_n("test", 100));
    let r = c.ask(&args);
    assert_eq!(r[0], "<redis> test test test test test test test test test test ... (89 more)");
    assert_eq!(r[1], "<error> Unknown Redis command called from script");
    drop(c);
    assert_eq!(q::<String>(&mut srv.conn(), &["ping"]), "PONG");
}

#[test]
fn debug_mode_rules() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    let err = |con: &mut redis::Connection, args: &[&str]| common::fails(con, args);
    assert!(err(&mut con, &["script", "debug", "yes"]).contains("SCRIPT DEBUG SYNC"));
    assert_eq!(err(&mut con, &["script", "debug", "maybe"]), "ERR Use SCRIPT DEBUG YES/SYNC/NO");
    assert_eq!(q::<String>(&mut con, &["script", "debug", "sync"]), "OK");
    let sha = "a".repeat(40);
    assert_eq!(err(&mut con, &["evalsha", &sha, "0"]), "ERR Please use EVAL instead of EVALSHA for debugging");
    assert_eq!(err(&mut con, &["evalsha", "abc", "0"]), "NOSCRIPT No matching script. Please use EVAL.");
    assert_eq!(q::<String>(&mut con, &["script", "debug", "no"]), "OK");
    assert_eq!(q::<i64>(&mut con, &["eval", "return 1", "0"]), 1);
    // Not after other requests of the same pipeline.
    let mut raw = srv.raw();
    raw.write_all(b"PING\r\nSCRIPT DEBUG SYNC\r\n").unwrap();
    let want = b"+PONG\r\n-ERR SCRIPT DEBUG must be called outside a pipeline\r\n";
    assert_eq!(common::read_n(&mut raw, want.len()), want);
}
