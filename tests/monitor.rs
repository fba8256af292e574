//! MONITOR through a real server: Redis 7.0's line format, scripts as `lua`, MULTI/EXEC order, redaction,
//! admin commands hidden, RESET leaving the mode.

mod common;

use common::{q, read_until, TestServer};
use std::io::Write;
use std::time::Duration;

/// The next `n` monitor lines from `s`, without their timestamps ("[db addr] args").
fn lines(s: &mut std::net::TcpStream, n: usize) -> Vec<String> {
    let mut got = Vec::new();
    while got.len() < n {
        let raw = read_until(s, b"\r\n");
        for l in String::from_utf8(raw).unwrap().split("\r\n").filter(|l| !l.is_empty()) {
            let (ts, rest) = l.trim_start_matches('+').split_once(' ').unwrap();
            let (secs, us) = ts.split_once('.').unwrap();
            assert!(secs.parse::<u64>().unwrap() > 1_600_000_000 && us.len() == 6, "{l}");
            got.push(rest.to_string());
        }
    }
    got
}

#[test]
fn monitor_shows_commands_scripts_transactions_and_redacts_passwords() {
    let server = TestServer::start();
    let mut mon = server.raw();
    mon.write_all(b"MONITOR\r\n").unwrap();
    assert_eq!(read_until(&mut mon, b"+OK\r\n"), b"+OK\r\n");
    let mut con = server.conn();
    let addr = {
        let info: String = q(&mut con, &["client", "info"]);
        info.split(' ').find_map(|kv| kv.strip_prefix("addr=")).unwrap().to_string()
    };
    // CLIENT INFO is no admin command: it shows too.
    assert_eq!(lines(&mut mon, 1), [format!("[0 {addr}] \"client\" \"info\"")]);
    let _: () = q(&mut con, &["set", "k", "a b\"c\n"]);
    assert_eq!(lines(&mut mon, 1), [format!("[0 {addr}] \"set\" \"k\" \"a b\\\"c\\n\"")]);
    // A script: EVAL first, then its calls as `lua`.
    let _: Option<String> = q(&mut con, &["eval", "return redis.call('get', KEYS[1])", "1", "k"]);
    let got = lines(&mut mon, 2);
    assert!(got[0].starts_with(&format!("[0 {addr}] \"eval\"")), "{got:?}");
    assert_eq!(got[1], "[0 lua] \"get\" \"k\"");
    // MULTI when sent, the queued command when EXEC runs it, then EXEC; an aborted EXEC still closes it.
    let _: () = q(&mut con, &["multi"]);
    let _: () = q(&mut con, &["set", "x", "1"]);
    let _: Vec<redis::Value> = q(&mut con, &["exec"]);
    let got = lines(&mut mon, 3);
    assert_eq!(
        got,
        [format!("[0 {addr}] \"multi\""), format!("[0 {addr}] \"set\" \"x\" \"1\""), format!("[0 {addr}] \"exec\"")]
    );
    // Passwords are redacted (a failed AUTH is shown too); admin commands are not shown; SELECT's db follows.
    let _ = redis::cmd("AUTH").arg("not-real").query::<()>(&mut con);
    let _: Vec<String> = q(&mut con, &["config", "get", "maxmemory"]);
    let _: () = q(&mut con, &["select", "3"]);
    let _: () = q(&mut con, &["set", "y", "2"]);
    let got = lines(&mut mon, 3);
    assert_eq!(
        got,
        [
            format!("[0 {addr}] \"AUTH\" \"(redacted)\""),
            format!("[3 {addr}] \"select\" \"3\""),
            format!("[3 {addr}] \"set\" \"y\" \"2\"")
        ]
    );
    // The monitoring client shows as flags=O; RESET ends the mode.
    let list: String = q(&mut con, &["client", "list"]);
    assert!(list.contains("flags=O"), "{list}");
    mon.write_all(b"RESET\r\n").unwrap();
    read_until(&mut mon, b"+RESET\r\n");
    common::wait_for("RESET to leave MONITOR", Duration::from_secs(5), || {
        !q::<String>(&mut con, &["client", "list"]).contains("flags=O")
    });
}
