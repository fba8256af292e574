//! Client-side caching (CLIENT TRACKING) through a real server: RESP2 invalidations through a redirect
//! client subscribed to `__redis__:invalidate` (the `redis` crate's PubSub), RESP3 pushes (the `redis`
//! crate's push sender, and raw sockets for exact frames): default mode, BCAST with prefixes, OPTIN/OPTOUT,
//! NOLOOP, flushes, expiry, MULTI/EXEC, a broken redirect and tracking-table-max-keys.

mod common;

use common::{q, read_hello3, read_until, resp, wait_for, TestServer};
use redis::{Connection, PubSub, PushKind, Value};
use std::io::Write;
use std::net::TcpStream;
use std::sync::mpsc;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(5);

/// A connection for a RESP2 redirect client, and its client id (`subscribed` makes it one).
fn redirect_client(server: &TestServer) -> (Connection, i64) {
    let mut con = server.conn();
    let id: i64 = q(&mut con, &["client", "id"]);
    (con, id)
}

/// The redirect client subscribed to `__redis__:invalidate` (for as long as the PubSub lives).
fn subscribed(con: &mut Connection) -> PubSub<'_> {
    let mut ps = con.as_pubsub();
    ps.subscribe("__redis__:invalidate").unwrap();
    ps.set_read_timeout(Some(WAIT)).unwrap();
    ps
}

/// The next invalidation the redirect client gets: the keys, or None for a flush's null.
fn next_invalidation(ps: &mut PubSub<'_>) -> Option<Vec<String>> {
    let m = ps.get_message().expect("an invalidation message");
    assert_eq!(m.get_channel_name(), "__redis__:invalidate");
    match m.get_payload::<Value>().unwrap() {
        Value::Nil => None,
        v => Some(redis::from_redis_value(&v).unwrap()),
    }
}

/// Send `args` on a raw socket and read until `want` arrived; the bytes must be exactly `want`.
fn exchange(s: &mut TcpStream, args: &[&str], want: &str) {
    s.write_all(&resp(args)).unwrap();
    let got = read_until(s, want.as_bytes());
    assert_eq!(String::from_utf8_lossy(&got), want);
}

/// A raw RESP3 socket with tracking on (options after ON).
fn resp3_tracker(server: &TestServer, opts: &[&str]) -> TcpStream {
    let mut s = server.raw();
    s.write_all(b"HELLO 3\r\n").unwrap();
    read_hello3(&mut s);
    let mut args = vec!["client", "tracking", "on"];
    args.extend_from_slice(opts);
    exchange(&mut s, &args, "+OK\r\n");
    s
}

/// The RESP3 push `invalidate [keys]`.
fn inv(keys: &[&str]) -> String {
    let mut s = format!(">2\r\n$10\r\ninvalidate\r\n*{}\r\n", keys.len());
    for k in keys {
        s.push_str(&format!("${}\r\n{k}\r\n", k.len()));
    }
    s
}

#[test]
fn resp2_redirect_client_gets_read_keys_and_flush_nulls() {
    let server = TestServer::start();
    let (mut rcon, rid) = redirect_client(&server);
    let mut ps = subscribed(&mut rcon);
    let mut tracker = server.conn();
    let mut writer = server.conn();
    let _: () = q(&mut tracker, &["client", "tracking", "on", "redirect", &rid.to_string()]);
    let _: () = q(&mut writer, &["mset", "a", "1", "b", "1"]);
    let _: Option<String> = q(&mut tracker, &["get", "a"]);
    let _: i64 = q(&mut writer, &["incr", "b"]); // not read: no message
    let _: i64 = q(&mut writer, &["incr", "a"]);
    assert_eq!(next_invalidation(&mut ps), Some(vec!["a".to_string()]));
    let _: Vec<Option<String>> = q(&mut tracker, &["mget", "a", "b"]);
    let _: () = q(&mut writer, &["flushall"]);
    assert_eq!(next_invalidation(&mut ps), None, "a flush invalidates everything with a null");
    let info: String = q(&mut writer, &["info", "stats"]);
    assert!(info.contains("\r\ntracking_total_keys:0\r\ntracking_total_items:0\r\n"), "{info}");
    assert_eq!(q::<i64>(&mut tracker, &["client", "getredir"]), rid);
}

#[test]
fn resp3_client_gets_invalidation_pushes() {
    let server = TestServer::start();
    let client = redis::Client::open(format!("redis://{}/?protocol=resp3", server.addr())).unwrap();
    let mut tracker = client.get_connection().unwrap();
    let (tx, rx) = mpsc::channel();
    tracker.set_push_sender(tx);
    let mut writer = server.conn();
    let _: () = q(&mut tracker, &["client", "tracking", "on"]);
    let _: () = q(&mut writer, &["set", "k", "1"]);
    let _: String = q(&mut tracker, &["get", "k"]);
    let _: () = q(&mut writer, &["set", "k", "2"]);
    // A push is read along with the next reply.
    let mut got = None;
    wait_for("the invalidation push", WAIT, || {
        let _: String = q(&mut tracker, &["ping"]);
        got = rx.try_iter().find(|p| p.kind == PushKind::Invalidate);
        got.is_some()
    });
    let push = got.unwrap();
    assert_eq!(push.data, vec![Value::Array(vec![Value::BulkString(b"k".to_vec())])]);
}

#[test]
fn bcast_prefixes_and_noloop_in_exact_frames() {
    let server = TestServer::start();
    let mut bcast = resp3_tracker(&server, &["bcast", "prefix", "a:", "prefix", "b:"]);
    let mut writer = server.conn();
    // One message per prefix after the transaction, keys sorted; c:1 matches no prefix.
    let mut pipe = redis::pipe();
    pipe.atomic().cmd("incr").arg("a:2").cmd("incr").arg("a:1").cmd("incr").arg("b:1").cmd("incr").arg("c:1");
    let _: Vec<i64> = pipe.query(&mut writer).unwrap();
    let want = format!("{}{}", inv(&["a:1", "a:2"]), inv(&["b:1"]));
    assert_eq!(String::from_utf8_lossy(&read_until(&mut bcast, want.as_bytes())), want);
    // NOLOOP: keys it wrote itself are left out.
    let mut noloop = resp3_tracker(&server, &["bcast", "noloop", "prefix", "k"]);
    exchange(&mut noloop, &["set", "kmine", "1"], "+OK\r\n");
    let _: () = q(&mut writer, &["set", "ktheirs", "1"]);
    let want = inv(&["ktheirs"]);
    assert_eq!(String::from_utf8_lossy(&read_until(&mut noloop, want.as_bytes())), want);
    exchange(
        &mut bcast,
        &["client", "trackinginfo"],
        "%3\r\n$5\r\nflags\r\n~2\r\n$2\r\non\r\n$5\r\nbcast\r\n$8\r\nredirect\r\n:0\r\n$8\r\nprefixes\r\n*2\r\n$2\r\na:\r\n$2\r\nb:\r\n",
    );
    let info: String = q(&mut writer, &["info", "stats"]);
    assert!(info.contains("\r\ntracking_total_prefixes:3\r\n"), "{info}");
}

#[test]
fn default_mode_noloop_optin_and_optout() {
    let server = TestServer::start();
    let (mut rcon, rid) = redirect_client(&server);
    let mut ps = subscribed(&mut rcon);
    let rid = rid.to_string();
    let mut tracker = server.conn();
    let mut writer = server.conn();
    // NOLOOP: its own write of a key it read is not reported; others' are.
    let _: () = q(&mut tracker, &["client", "tracking", "on", "redirect", &rid, "noloop"]);
    let _: Vec<Option<String>> = q(&mut tracker, &["mget", "mine", "theirs"]);
    let _: () = q(&mut tracker, &["set", "mine", "1"]);
    let _: () = q(&mut writer, &["set", "theirs", "1"]);
    assert_eq!(next_invalidation(&mut ps), Some(vec!["theirs".to_string()]));
    // OPTIN: only a read after CLIENT CACHING yes is tracked.
    let _: () = q(&mut tracker, &["client", "tracking", "off"]);
    let _: () = q(&mut tracker, &["client", "tracking", "on", "optin", "redirect", &rid]);
    let _: Option<String> = q(&mut tracker, &["get", "x"]);
    let _: () = q(&mut tracker, &["client", "caching", "yes"]);
    let _: Option<String> = q(&mut tracker, &["get", "y"]);
    let _: () = q(&mut writer, &["mset", "x", "1", "y", "1"]);
    assert_eq!(next_invalidation(&mut ps), Some(vec!["y".to_string()]));
    // OPTOUT: every read but the one after CLIENT CACHING no.
    let _: () = q(&mut tracker, &["client", "tracking", "off"]);
    let _: () = q(&mut tracker, &["client", "tracking", "on", "optout", "redirect", &rid]);
    let _: () = q(&mut tracker, &["client", "caching", "no"]);
    let _: Option<String> = q(&mut tracker, &["get", "x"]);
    let _: Option<String> = q(&mut tracker, &["get", "y"]);
    let _: () = q(&mut writer, &["mset", "x", "2", "y", "2"]);
    assert_eq!(next_invalidation(&mut ps), Some(vec!["y".to_string()]));
    let list: String = q(&mut writer, &["client", "list"]);
    assert!(list.lines().any(|l| l.contains(" flags=t ") && l.contains(&format!(" redir={rid} "))), "{list}");
}

#[test]
fn the_writer_s_own_invalidation_follows_its_transaction_reply() {
    let server = TestServer::start();
    let mut s = resp3_tracker(&server, &[]);
    exchange(&mut s, &["mset", "a", "1", "b", "2"], "+OK\r\n");
    exchange(&mut s, &["get", "a"], "$1\r\n1\r\n");
    s.write_all(&[resp(&["multi"]), resp(&["incr", "a"]), resp(&["get", "b"]), resp(&["exec"])].concat()).unwrap();
    let want = format!("+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n:2\r\n$1\r\n2\r\n{}", inv(&["a"]));
    assert_eq!(String::from_utf8_lossy(&read_until(&mut s, want.as_bytes())), want);
    // FLUSHDB inside a transaction: the null follows the reply.
    exchange(&mut s, &["get", "a"], "$1\r\n2\r\n");
    s.write_all(&[resp(&["multi"]), resp(&["flushdb"]), resp(&["exec"])].concat()).unwrap();
    let want = "+OK\r\n+QUEUED\r\n*1\r\n+OK\r\n>2\r\n$10\r\ninvalidate\r\n_\r\n";
    assert_eq!(String::from_utf8_lossy(&read_until(&mut s, want.as_bytes())), want);
}

#[test]
fn expired_keys_are_invalidated() {
    let server = TestServer::start();
    let (mut rcon, rid) = redirect_client(&server);
    let mut ps = subscribed(&mut rcon);
    let mut tracker = server.conn();
    let _: () = q(&mut tracker, &["client", "tracking", "on", "redirect", &rid.to_string()]);
    let _: () = q(&mut tracker, &["set", "k", "v", "px", "30"]);
    let _: Option<String> = q(&mut tracker, &["get", "k"]);
    // Active expiry deletes it (nobody reads it again): the cache hears of it.
    assert_eq!(next_invalidation(&mut ps), Some(vec!["k".to_string()]));
    assert_eq!(q::<i64>(&mut tracker, &["exists", "k"]), 0);
}

#[test]
fn a_gone_redirect_client_is_reported_as_broken() {
    let server = TestServer::start();
    let (rcon, rid) = redirect_client(&server);
    let mut s = resp3_tracker(&server, &["redirect", &rid.to_string()]);
    let mut writer = server.conn();
    exchange(&mut s, &["get", "k"], "_\r\n");
    drop(rcon);
    wait_for("the redirect client to be gone", WAIT, || {
        !q::<String>(&mut writer, &["client", "list"]).contains(&format!("id={rid} "))
    });
    let _: () = q(&mut writer, &["set", "k", "1"]);
    let want = format!(">2\r\n$21\r\ntracking-redir-broken\r\n:{rid}\r\n");
    assert_eq!(String::from_utf8_lossy(&read_until(&mut s, want.as_bytes())), want);
    s.write_all(&resp(&["client", "info"])).unwrap();
    let got = read_until(&mut s, b"resp=3\n\r\n");
    assert!(String::from_utf8_lossy(&got).contains(" flags=tR "), "{}", String::from_utf8_lossy(&got));
}

#[test]
fn the_table_limit_invalidates_keys_until_it_fits() {
    let server = TestServer::start();
    let (mut rcon, rid) = redirect_client(&server);
    let mut ps = subscribed(&mut rcon);
    let mut tracker = server.conn();
    let mut admin = server.conn();
    let _: () = q(&mut tracker, &["client", "tracking", "on", "redirect", &rid.to_string()]);
    let _: Vec<Option<String>> = q(&mut tracker, &["mget", "k1", "k2", "k3"]);
    let _: () = q(&mut admin, &["config", "set", "tracking-table-max-keys", "1"]);
    // The cron brings the table back within the limit: two of the three keys are invalidated.
    let mut seen: Vec<String> = Vec::new();
    for _ in 0..2 {
        seen.extend(next_invalidation(&mut ps).unwrap());
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 2, "{seen:?}");
    let info: String = q(&mut admin, &["info", "stats"]);
    assert!(info.contains("\r\ntracking_total_keys:1\r\n"), "{info}");
}

#[test]
fn reset_and_disconnect_turn_tracking_off() {
    let server = TestServer::start();
    let mut a = server.conn();
    let mut b = server.conn();
    let mut admin = server.conn();
    let _: () = q(&mut a, &["client", "tracking", "on"]);
    let _: () = q(&mut b, &["client", "tracking", "on", "bcast"]);
    let clients = |admin: &mut Connection| -> String {
        let info: String = q(admin, &["info", "clients"]);
        info.lines().find_map(|l| l.strip_prefix("tracking_clients:")).unwrap().trim().to_string()
    };
    assert_eq!(clients(&mut admin), "2");
    let reset: String = q(&mut a, &["reset"]);
    assert_eq!(reset, "RESET");
    assert_eq!(clients(&mut admin), "1");
    drop(b);
    wait_for("the BCAST client to be forgotten", WAIT, || clients(&mut admin) == "0");
    let info: String = q(&mut admin, &["info", "stats"]);
    assert!(info.contains("\r\ntracking_total_prefixes:0\r\n"), "{info}");
}

#[test]
fn debug_reload_invalidates_everything() {
    let server = TestServer::start();
    let mut s = resp3_tracker(&server, &[]);
    exchange(&mut s, &["set", "k", "v"], "+OK\r\n");
    exchange(&mut s, &["get", "k"], "$1\r\nv\r\n");
    // The dataset is replaced: the cache hears "everything changed" after the reply.
    let want = "+OK\r\n>2\r\n$10\r\ninvalidate\r\n_\r\n";
    s.write_all(&resp(&["debug", "reload"])).unwrap();
    assert_eq!(String::from_utf8_lossy(&read_until(&mut s, want.as_bytes())), want);
    let mut con = server.conn();
    let info: String = q(&mut con, &["info", "stats"]);
    assert!(info.contains("\r\ntracking_total_keys:0\r\n"), "{info}");
}
