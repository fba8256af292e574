//! MULTI/EXEC with WATCH: which changes fail a transaction, as Redis 7.0 decides (expired keys included).

mod common;

use common::{server_time_ms, set_and_outlive, wait_for, wait_server_clock_past, TestServer};
use redis::{cmd, Connection, Value};
use std::time::Duration;

fn q(con: &mut Connection, args: &[&str]) -> Value {
    let mut c = cmd(args[0]);
    for a in &args[1..] {
        c.arg(*a);
    }
    c.query(con).unwrap()
}

/// MULTI, PING, EXEC: the EXEC reply (nil when the transaction failed).
fn ping_tx(con: &mut Connection) -> Value {
    q(con, &["MULTI"]);
    q(con, &["PING"]);
    q(con, &["EXEC"])
}

fn ran(v: &Value) -> bool {
    matches!(v, Value::Array(items) if items.len() == 1)
}

/// A key stored with a TTL that has passed (active expiry is off, so it stays stored).
fn stale(con: &mut Connection, key: &str) {
    set_and_outlive(con, key, "v", 1);
}

#[test]
fn a_watched_key_that_expires_before_exec_fails_it() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    q(&mut con, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
    q(&mut con, &["SET", "k", "1", "PX", "100"]);
    let set_at = server_time_ms(&mut con);
    q(&mut con, &["WATCH", "k"]);
    // The TTL runs out after WATCH, with no lookup of the key in between.
    wait_server_clock_past(&mut con, set_at + 100);
    q(&mut con, &["MULTI"]);
    q(&mut con, &["INCR", "k"]);
    assert_eq!(q(&mut con, &["EXEC"]), Value::Nil);
    // Already expired when watched: its lazy deletion is no change.
    stale(&mut con, "s");
    q(&mut con, &["WATCH", "s"]);
    q(&mut con, &["EXISTS", "s"]);
    assert!(ran(&ping_tx(&mut con)));
}

#[test]
fn flushes_touch_only_watched_keys_that_exist() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    q(&mut con, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
    for flush in ["FLUSHDB", "FLUSHALL"] {
        q(&mut con, &["WATCH", "missing"]);
        q(&mut con, &[flush]);
        assert!(ran(&ping_tx(&mut con)), "{flush} of a missing key");
        q(&mut con, &["SET", "x", "1"]);
        q(&mut con, &["WATCH", "x"]);
        q(&mut con, &[flush]);
        assert_eq!(ping_tx(&mut con), Value::Nil, "{flush} of a watched key");
        stale(&mut con, "x");
        q(&mut con, &["WATCH", "x"]);
        q(&mut con, &[flush]);
        assert!(ran(&ping_tx(&mut con)), "{flush} of a stale key");
    }
}

/// What db 0 and db 1 hold as `x` before SWAPDB 0 1.
#[derive(Clone, Copy)]
enum Held {
    Nothing,
    Stale,
    Live,
}

/// Put `x` in db 0 and db 1 as told, WATCH it in db 0, SWAPDB 0 1: did the transaction after it run?
fn swap_runs(con: &mut Connection, db0: Held, db1: Held) -> bool {
    q(con, &["FLUSHALL"]);
    for (db, held) in [("0", db0), ("1", db1)] {
        q(con, &["SELECT", db]);
        match held {
            Held::Nothing => {}
            Held::Stale => stale(con, "x"),
            Held::Live => {
                q(con, &["SET", "x", "live"]);
            }
        }
    }
    q(con, &["SELECT", "0"]);
    q(con, &["WATCH", "x"]);
    q(con, &["SWAPDB", "0", "1"]);
    ran(&ping_tx(con))
}

#[test]
fn swapdb_follows_what_the_key_logically_is() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    q(&mut con, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
    // A stale key swapped for nothing, nothing for a stale key, a stale key for another: no change.
    assert!(swap_runs(&mut con, Held::Stale, Held::Nothing));
    assert!(swap_runs(&mut con, Held::Nothing, Held::Stale));
    assert!(swap_runs(&mut con, Held::Stale, Held::Stale));
    // A live key swapped in: the transaction fails.
    assert!(!swap_runs(&mut con, Held::Nothing, Held::Live));
}

#[test]
fn a_watched_key_deleted_by_active_expiry_fails_exec() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    q(&mut con, &["SET", "x", "foo", "PX", "100"]);
    q(&mut con, &["WATCH", "x"]);
    // Active expiry (not a lookup) deletes it: DBSIZE counts stored keys.
    wait_for("active expiry to delete x", Duration::from_secs(5), || q(&mut con, &["DBSIZE"]) == Value::Int(0));
    assert_eq!(ping_tx(&mut con), Value::Nil);
}
