//! Panic isolation through the `redis` crate: a command handler that panics (DEBUG RUST-PANIC) is answered
//! `-ERR internal error`, counted in INFO, and neither its connection nor the server goes down.

mod common;

use common::{roundtrip, TestServer};
use redis::cmd;

/// The number after `field` in INFO `section` (`field` includes everything up to the number).
fn info_num(con: &mut redis::Connection, section: &str, field: &str) -> u64 {
    let info: String = cmd("INFO").arg(section).query(con).unwrap();
    let line = info.lines().find_map(|l| l.strip_prefix(field)).unwrap_or_else(|| panic!("{field} in {info}"));
    line.trim().parse().unwrap()
}

/// INFO stats' `ferrodis_internal_errors`.
fn internal_errors(con: &mut redis::Connection) -> u64 {
    info_num(con, "stats", "ferrodis_internal_errors:")
}

#[test]
fn a_panicking_command_is_answered_and_the_connection_and_server_go_on() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    assert_eq!(internal_errors(&mut con), 0);
    // (The client library's own start-up commands may have counted ERR replies already.)
    let errors_before = info_num(&mut con, "errorstats", "errorstat_ERR:count=");
    let err = cmd("DEBUG").arg("RUST-PANIC").query::<String>(&mut con).unwrap_err();
    assert_eq!(err.code(), Some("ERR"), "{err}");
    assert_eq!(err.detail(), Some("internal error"), "{err}");
    assert_eq!(info_num(&mut con, "errorstats", "errorstat_ERR:count="), errors_before + 1);
    // The same connection goes on.
    assert_eq!(cmd("SET").arg("k").arg("v").query::<String>(&mut con).unwrap(), "OK");
    assert_eq!(cmd("GET").arg("k").query::<String>(&mut con).unwrap(), "v");
    // So does the server, for everyone.
    let mut other = srv.conn();
    assert_eq!(cmd("GET").arg("k").query::<String>(&mut other).unwrap(), "v");
    assert_eq!(internal_errors(&mut other), 1);
}

#[test]
fn a_panic_in_a_pipeline_fails_only_its_own_command() {
    let srv = TestServer::start();
    let mut raw = srv.raw();
    let req = b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$5\r\nDEBUG\r\n$10\r\nRUST-PANIC\r\n\
                *2\r\n$3\r\nGET\r\n$1\r\na\r\n";
    let want = b"+OK\r\n-ERR internal error\r\n$1\r\n1\r\n";
    assert_eq!(roundtrip(&mut raw, req, want.len()), want);
}

#[test]
fn a_panic_under_redis_call_fails_that_call_and_the_server_goes_on() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    // DEBUG is noscript, as in Redis; DEBUG SET-DISABLE-DENY-SCRIPTS (as Redis's own tests use) lifts that.
    assert_eq!(cmd("DEBUG").arg("SET-DISABLE-DENY-SCRIPTS").arg(1).query::<String>(&mut con).unwrap(), "OK");
    let err = cmd("EVAL").arg("return redis.call('debug', 'rust-panic')").arg(0).query::<String>(&mut con).unwrap_err();
    assert_eq!(err.code(), Some("ERR"), "{err}");
    assert!(err.detail().unwrap_or("").starts_with("internal error script: "), "{err}");
    let script = "local r = redis.pcall('debug', 'rust-panic'); redis.call('set', 'after', 'yes'); return r['err']";
    let text: String = cmd("EVAL").arg(script).arg(0).query(&mut con).unwrap();
    assert_eq!(text, "ERR internal error");
    assert_eq!(cmd("GET").arg("after").query::<String>(&mut srv.conn()).unwrap(), "yes");
    assert_eq!(internal_errors(&mut con), 2);
}
