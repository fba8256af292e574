//! Pub/sub through a real server: the `redis` crate's PubSub in RESP2 and RESP3, and raw sockets for exact
//! frames (subscribed-mode errors, unsubscribe-all replies, the publisher's own message, MULTI and Lua
//! ordering), and a subscriber that never reads being closed at its output buffer limit.

mod common;

use common::{q, read_n, read_until, roundtrip, wait_for, TestServer};
use redis::{Connection, Msg};
use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

fn conn(server: &TestServer, resp3: bool) -> Connection {
    let url = format!("redis://{}/{}", server.addr(), if resp3 { "?protocol=resp3" } else { "" });
    redis::Client::open(url).unwrap().get_connection().unwrap()
}

fn numsub(con: &mut Connection, channel: &str) -> i64 {
    let (_, n): (String, i64) = q(con, &["pubsub", "numsub", channel]);
    n
}

fn text(m: &Msg) -> (String, String, Option<String>) {
    (m.get_channel_name().to_string(), m.get_payload().unwrap(), m.get_pattern().ok())
}

/// Subscribers on channels and patterns get every message, in publish order, in both protocols.
fn messages_in_order(resp3: bool) {
    let server = TestServer::start();
    let mut publisher = server.conn();
    let mut a = conn(&server, resp3);
    let mut b = conn(&server, resp3);
    let mut ps_a = a.as_pubsub();
    ps_a.subscribe("news").unwrap();
    let mut ps_b = b.as_pubsub();
    ps_b.psubscribe("ne*").unwrap();
    wait_for("both subscriptions", Duration::from_secs(5), || {
        numsub(&mut publisher, "news") == 1 && q::<i64>(&mut publisher, &["pubsub", "numpat"]) == 1
    });
    for i in 0..200 {
        let n: i64 = q(&mut publisher, &["publish", "news", &i.to_string()]);
        assert_eq!(n, 2);
    }
    ps_a.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    ps_b.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    for i in 0..200 {
        assert_eq!(text(&ps_a.get_message().unwrap()), ("news".into(), i.to_string(), None));
        assert_eq!(text(&ps_b.get_message().unwrap()), ("news".into(), i.to_string(), Some("ne*".into())));
    }
}

#[test]
fn resp2_subscribers_get_every_message_in_order() {
    messages_in_order(false);
}

#[test]
fn resp3_subscribers_get_every_message_in_order() {
    messages_in_order(true);
}

/// Read `n` bytes exactly.
fn expect(s: &mut TcpStream, want: &str) {
    let got = read_n(s, want.len());
    assert_eq!(String::from_utf8_lossy(&got), want);
}

#[test]
fn raw_frames_of_subscribe_unsubscribe_all_and_subscribed_mode() {
    let server = TestServer::start();
    let mut s = server.raw();
    s.write_all(b"SUBSCRIBE a b\r\nPSUBSCRIBE p*\r\n").unwrap();
    expect(
        &mut s,
        "*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n\
         *3\r\n$10\r\npsubscribe\r\n$2\r\np*\r\n:3\r\n",
    );
    s.write_all(b"GET k\r\nPING\r\nPING hi\r\n").unwrap();
    expect(
        &mut s,
        "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this \
         context\r\n*2\r\n$4\r\npong\r\n$0\r\n\r\n*2\r\n$4\r\npong\r\n$2\r\nhi\r\n",
    );
    s.write_all(b"UNSUBSCRIBE\r\nPUNSUBSCRIBE\r\nPUNSUBSCRIBE\r\nPING\r\n").unwrap();
    expect(
        &mut s,
        "*3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:2\r\n*3\r\n$11\r\nunsubscribe\r\n$1\r\nb\r\n:1\r\n\
         *3\r\n$12\r\npunsubscribe\r\n$2\r\np*\r\n:0\r\n*3\r\n$12\r\npunsubscribe\r\n$-1\r\n:0\r\n+PONG\r\n",
    );
}

#[test]
fn resp3_publisher_gets_its_own_message_before_the_publish_reply() {
    let server = TestServer::start();
    let mut s = server.raw();
    s.write_all(b"HELLO 3\r\n").unwrap();
    common::read_hello3(&mut s);
    s.write_all(b"SUBSCRIBE ch\r\nPUBLISH ch hi\r\nGET nokey\r\n").unwrap();
    expect(
        &mut s,
        ">3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n>3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n:1\r\n_\r\n",
    );
}

#[test]
fn publish_in_multi_and_lua_is_ordered_with_the_writes() {
    let server = TestServer::start();
    let mut sub = server.raw();
    roundtrip(&mut sub, b"SUBSCRIBE ch\r\n", "*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n".len());
    let mut con = server.conn();
    wait_for("the subscription", Duration::from_secs(5), || numsub(&mut con, "ch") == 1);
    let (r,): (Vec<redis::Value>,) = redis::pipe()
        .atomic()
        .cmd("SET")
        .arg("k")
        .arg("1")
        .cmd("PUBLISH")
        .arg("ch")
        .arg("one")
        .cmd("PUBLISH")
        .arg("ch")
        .arg("two")
        .query(&mut con)
        .map(|v: Vec<redis::Value>| (v,))
        .unwrap();
    assert_eq!(r.len(), 3);
    let n: i64 = redis::cmd("EVAL")
        .arg("redis.call('set', 'k', '2'); return redis.call('publish', 'ch', 'three')")
        .arg(0)
        .query(&mut con)
        .unwrap();
    assert_eq!(n, 1);
    let m = |p: &str| format!("*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n${}\r\n{p}\r\n", p.len());
    expect(&mut sub, &format!("{}{}{}", m("one"), m("two"), m("three")));
    // A subscriber that reads the key after a message sees the write made before it.
    let v: String = q(&mut con, &["get", "k"]);
    assert_eq!(v, "2");
}

#[test]
fn disconnect_reset_and_client_kill_clean_up_subscriptions() {
    let server = TestServer::start();
    let mut con = server.conn();
    let mut a = server.raw();
    roundtrip(&mut a, b"SUBSCRIBE x\r\n", "*3\r\n$9\r\nsubscribe\r\n$1\r\nx\r\n:1\r\n".len());
    let mut b = server.raw();
    roundtrip(&mut b, b"PSUBSCRIBE x*\r\n", "*3\r\n$10\r\npsubscribe\r\n$2\r\nx*\r\n:1\r\n".len());
    let mut c = server.raw();
    roundtrip(&mut c, b"SSUBSCRIBE x\r\n", "*3\r\n$10\r\nssubscribe\r\n$1\r\nx\r\n:1\r\n".len());
    let info = |con: &mut Connection| -> String {
        let i: String = q(con, &["info", "stats"]);
        i.lines().filter(|l| l.starts_with("pubsub")).collect::<Vec<_>>().join(",")
    };
    wait_for("three subscriptions", Duration::from_secs(5), || {
        info(&mut con) == "pubsub_channels:1,pubsub_patterns:1,pubsubshard_channels:1"
    });
    let list: String = q(&mut con, &["client", "list", "type", "pubsub"]);
    assert_eq!(list.lines().count(), 3, "{list}");
    assert!(list.contains(" flags=P db=0 sub=1 psub=0 ssub=0 "), "{list}");
    assert_eq!(q::<i64>(&mut con, &["publish", "x", "m"]), 2);
    drop(a);
    wait_for("the closed subscriber to be gone", Duration::from_secs(5), || numsub(&mut con, "x") == 0);
    // After the pmessage b was sent.
    b.write_all(b"RESET\r\n").unwrap();
    let got = read_until(&mut b, b"+RESET\r\n");
    assert!(got.ends_with(b"+RESET\r\n"), "{}", String::from_utf8_lossy(&got));
    let killed: i64 = q(&mut con, &["client", "kill", "type", "pubsub"]);
    assert_eq!(killed, 1);
    wait_for("no subscriptions left", Duration::from_secs(5), || {
        info(&mut con) == "pubsub_channels:0,pubsub_patterns:0,pubsubshard_channels:0"
    });
    assert_eq!(q::<i64>(&mut con, &["publish", "x", "m"]), 0);
    assert_eq!(q::<i64>(&mut con, &["spublish", "x", "m"]), 0);
}

fn info_u64(con: &mut Connection, section: &str, name: &str) -> u64 {
    let info: String = q(con, &["info", section]);
    info.lines().find_map(|l| l.strip_prefix(&format!("{name}:"))).unwrap().trim().parse().unwrap()
}

#[test]
fn a_subscriber_over_the_soft_limit_is_closed_when_its_seconds_pass_even_without_more_traffic() {
    let server = TestServer::with_config(|c| c.set("client-output-buffer-limit", "pubsub 0 256kb 1").unwrap());
    let mut con = server.conn();
    let mut slow = server.raw();
    roundtrip(&mut slow, b"SUBSCRIBE quiet\r\n", "*3\r\n$9\r\nsubscribe\r\n$5\r\nquiet\r\n:1\r\n".len());
    wait_for("the subscription", Duration::from_secs(5), || numsub(&mut con, "quiet") == 1);
    // Publish until the subscriber's unread output passes the soft limit (the kernel's socket buffers take
    // the first megabytes), then nothing more: only the soft limit's timer can close it now.
    let payload = "x".repeat(64 * 1024);
    let mut over = false;
    for _ in 0..2000 {
        let _: i64 = q(&mut con, &["publish", "quiet", &payload]);
        let list: String = q(&mut con, &["client", "list", "type", "pubsub"]);
        let omem = list.split(' ').find_map(|kv| kv.strip_prefix("omem=")).map_or(0, |v| v.parse::<u64>().unwrap());
        if omem >= 256 * 1024 {
            over = true;
            break;
        }
    }
    assert!(over, "the subscriber's output never passed the soft limit");
    assert_eq!(numsub(&mut con, "quiet"), 1, "not closed before its second");
    wait_for("the soft limit's close", Duration::from_secs(10), || numsub(&mut con, "quiet") == 0);
    assert_eq!(info_u64(&mut con, "stats", "client_output_buffer_limit_disconnections"), 1);
}

#[test]
fn a_subscriber_that_never_reads_is_closed_at_the_pubsub_limit_and_memory_stays_bounded() {
    let server = TestServer::with_config(|c| c.set("client-output-buffer-limit", "pubsub 4mb 2mb 60").unwrap());
    let mut con = server.conn();
    let mut slow = server.raw();
    roundtrip(&mut slow, b"SUBSCRIBE firehose\r\n", "*3\r\n$9\r\nsubscribe\r\n$8\r\nfirehose\r\n:1\r\n".len());
    wait_for("the subscription", Duration::from_secs(5), || numsub(&mut con, "firehose") == 1);
    let used_before = info_u64(&mut con, "memory", "used_memory");
    let payload = "x".repeat(64 * 1024);
    let mut max_used = used_before;
    let mut omem_seen = 0;
    // 64 KB a message: 4 MB of pending output after 64 of them; publish until the subscriber is gone.
    for _ in 0..2000 {
        let n: i64 = q(&mut con, &["publish", "firehose", &payload]);
        if n == 0 {
            break;
        }
        max_used = max_used.max(info_u64(&mut con, "memory", "used_memory"));
        let list: String = q(&mut con, &["client", "list", "type", "pubsub"]);
        if let Some(v) = list.split(' ').find_map(|kv| kv.strip_prefix("omem=")) {
            omem_seen = omem_seen.max(v.parse::<u64>().unwrap());
        }
    }
    assert_eq!(numsub(&mut con, "firehose"), 0, "the slow subscriber was closed");
    assert!(omem_seen > 0, "CLIENT LIST omem counts the pending pushes");
    assert_eq!(info_u64(&mut con, "stats", "client_output_buffer_limit_disconnections"), 1);
    assert!(max_used < used_before + (4 << 20) + (8 << 20), "memory grew from {used_before} to {max_used}");
    // What the subscriber gets is whole messages, then the close.
    slow.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let got = common::read_to_close(&mut slow);
    assert!(got.starts_with(b"*3\r\n$7\r\nmessage\r\n$8\r\nfirehose\r\n$65536\r\n"));
    // What the kernel's socket buffers held, at most, besides the limit.
    assert!(got.len() < 64 << 20, "{} bytes after the limit", got.len());
}

#[test]
fn many_subscribers_and_read_until() {
    let server = TestServer::start();
    let mut con = server.conn();
    let mut subs: Vec<TcpStream> = (0..20).map(|_| server.raw()).collect();
    for s in &mut subs {
        roundtrip(s, b"SUBSCRIBE fan\r\n", "*3\r\n$9\r\nsubscribe\r\n$3\r\nfan\r\n:1\r\n".len());
    }
    wait_for("20 subscribers", Duration::from_secs(5), || numsub(&mut con, "fan") == 20);
    let mut pipe = redis::pipe();
    for i in 0..50 {
        pipe.cmd("PUBLISH").arg("fan").arg(i);
    }
    let counts: Vec<i64> = pipe.query(&mut con).unwrap();
    assert!(counts.iter().all(|&n| n == 20));
    for s in &mut subs {
        let got = read_until(s, b"$2\r\n49\r\n");
        let text = String::from_utf8_lossy(&got);
        let ids: Vec<String> =
            text.split("$3\r\nfan\r\n").skip(1).map(|m| m.split("\r\n").nth(1).unwrap().to_string()).collect();
        assert_eq!(ids, (0..50).map(|i| i.to_string()).collect::<Vec<_>>());
    }
}

#[test]
fn keyspace_events_from_the_config_file_setting_and_active_expiry() {
    // As redis.conf would set it: the server starts with the classes in force.
    let server = TestServer::with_config(|c| c.set("notify-keyspace-events", "Ex").unwrap());
    let mut sub = server.raw();
    sub.write_all(b"PSUBSCRIBE __keyevent@0__:expired\r\n").unwrap();
    expect(&mut sub, "*3\r\n$10\r\npsubscribe\r\n$22\r\n__keyevent@0__:expired\r\n:1\r\n");
    let mut con = server.conn();
    let _: () = q(&mut con, &["set", "short", "v", "px", "20"]);
    // Nobody touches the key: only active expiry can delete it and publish the event.
    let got = read_until(&mut sub, b"short\r\n");
    assert_eq!(
        String::from_utf8_lossy(&got),
        "*4\r\n$8\r\npmessage\r\n$22\r\n__keyevent@0__:expired\r\n$22\r\n__keyevent@0__:expired\r\n$5\r\nshort\r\n"
    );
}

#[test]
fn keyspace_events_follow_config_set_in_both_protocols() {
    let server = TestServer::start();
    let mut con = server.conn();
    let _: () = q(&mut con, &["config", "set", "notify-keyspace-events", "KEA"]);
    let mut resp3 = conn(&server, true);
    let mut ps = resp3.as_pubsub();
    ps.psubscribe("__key*@0__:*").unwrap();
    wait_for("the pattern subscription", Duration::from_secs(5), || q::<i64>(&mut con, &["pubsub", "numpat"]) == 1);
    let _: () = q(&mut con, &["lpush", "l", "a"]);
    let _: i64 = q(&mut con, &["del", "l"]);
    let _: () = q(&mut con, &["config", "set", "notify-keyspace-events", ""]);
    let _: () = q(&mut con, &["set", "quiet", "1"]);
    let _: () = q(&mut con, &["config", "set", "notify-keyspace-events", "E$"]);
    let _: () = q(&mut con, &["set", "loud", "1"]);
    ps.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut got = Vec::new();
    for _ in 0..5 {
        let m = ps.get_message().unwrap();
        got.push(format!("{} {}", m.get_channel_name(), m.get_payload::<String>().unwrap()));
    }
    assert_eq!(
        got,
        vec![
            "__keyspace@0__:l lpush",
            "__keyevent@0__:lpush l",
            "__keyspace@0__:l del",
            "__keyevent@0__:del l",
            "__keyevent@0__:set loud"
        ]
    );
}
