//! Keyspace notifications per command family: the events, their order and their channels, as Redis 7.0
//! emits them (commands layer unit tests; see pubsub.rs).

use crate::commands::testutil::{self, int, run, Frame, T};
use crate::types::clock;

/// A server with notify-keyspace-events `classes` and a second client subscribed to every channel.
fn listening(classes: &str) -> (T, usize) {
    let mut t = testutil::new();
    run(&mut t, &["config", "set", "notify-keyspace-events", classes]);
    let sub = t.s.add_client("127.0.0.1:2".into(), "127.0.0.1:6379".into());
    crate::commands::run_args(&mut t.s, sub, &[b"psubscribe", b"*"]);
    (t, sub)
}

/// The events delivered since the last call, as "channel message", in order.
fn events(t: &mut T, sub: usize) -> Vec<String> {
    let mut v = Vec::new();
    for d in t.s.pubsub.outbox.take() {
        assert_eq!(d.slot, sub);
        for f in d.frames {
            let Frame::Array(parts) = testutil::decode(&f) else { panic!("not an array") };
            let text: Vec<String> = parts
                .iter()
                .map(|p| match p {
                    Frame::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
                    other => panic!("{other:?}"),
                })
                .collect();
            assert_eq!((text[0].as_str(), text[1].as_str()), ("pmessage", "*"));
            v.push(format!("{} {}", text[2], text[3]));
        }
    }
    v
}

/// Keyspace channel events ("K" only): "key event", "@db key event" outside database 0.
fn ks(t: &mut T, sub: usize) -> Vec<String> {
    events(t, sub)
        .into_iter()
        .map(|e| {
            let rest = e.strip_prefix("__keyspace@").expect("a keyspace channel");
            let (db, rest) = rest.split_once("__:").unwrap();
            if db == "0" {
                rest.to_string()
            } else {
                format!("@{db} {rest}")
            }
        })
        .collect()
}

fn run_all(t: &mut T, cmds: &[&[&str]]) {
    for c in cmds {
        run(t, c);
    }
}

#[test]
fn off_means_no_event_and_no_cost() {
    let (mut t, sub) = listening("");
    assert_eq!(t.s.pubsub.notify, 0);
    run_all(&mut t, &[&["set", "a", "1"], &["del", "a"], &["lpush", "l", "x"]]);
    assert!(events(&mut t, sub).is_empty());
    // Classes without K or E publish nothing either.
    run(&mut t, &["config", "set", "notify-keyspace-events", "g$"]);
    assert_eq!(t.s.pubsub.notify, 0);
    assert!(t.s.dbs.iter().all(|d| !d.log_new && !d.log_miss));
}

#[test]
fn both_channels_in_redis_order() {
    let (mut t, sub) = listening("KEA");
    run(&mut t, &["set", "foo", "bar"]);
    assert_eq!(events(&mut t, sub), vec!["__keyspace@0__:foo set", "__keyevent@0__:set foo"]);
    run(&mut t, &["select", "3"]);
    run(&mut t, &["set", "k", "v"]);
    assert_eq!(events(&mut t, sub), vec!["__keyspace@3__:k set", "__keyevent@3__:set k"]);
}

#[test]
fn generic_events() {
    let (mut t, sub) = listening("Kg");
    run_all(
        &mut t,
        &[
            &["set", "a", "1"],
            &["expire", "a", "100"],
            &["persist", "a"],
            &["rename", "a", "b"],
            &["copy", "b", "c"],
            &["move", "c", "1"],
            &["del", "b", "nosuch"],
            &["set", "x", "1"],
            &["expire", "x", "-1"],
        ],
    );
    assert_eq!(
        ks(&mut t, sub),
        vec![
            "a expire",
            "a persist",
            "a rename_from",
            "b rename_to",
            "c copy_to",
            "c move_from",
            "@1 c move_to",
            "b del",
            "x del"
        ]
    );
}

#[test]
fn string_events() {
    let (mut t, sub) = listening("KA");
    run_all(
        &mut t,
        &[
            &["set", "s", "1", "ex", "100"],
            &["incr", "s"],
            &["decrby", "s", "2"],
            &["incrbyfloat", "s", "1.5"],
            &["append", "s", "x"],
            &["setrange", "s", "0", "y"],
            &["mset", "m1", "1", "m2", "2"],
            &["getset", "m1", "3"],
            &["getex", "m1", "persist"],
            &["getex", "m2", "ex", "10"],
            &["getdel", "m2"],
            &["setbit", "b", "1", "1"],
            &["setbit", "b", "1", "1"],
            &["pfadd", "h", "a"],
        ],
    );
    assert_eq!(
        ks(&mut t, sub),
        vec![
            "s set",
            "s expire",
            "s incrby",
            "s incrby",
            "s incrbyfloat",
            "s append",
            "s setrange",
            "m1 set",
            "m2 set",
            "m1 set",
            "m2 expire",
            "m2 del",
            "b setbit",
            "h pfadd",
        ]
    );
}

#[test]
fn list_events() {
    let (mut t, sub) = listening("KA");
    run_all(
        &mut t,
        &[
            &["lpush", "l", "a", "b"],
            &["rpush", "l", "c"],
            &["linsert", "l", "before", "c", "x"],
            &["lset", "l", "0", "z"],
            &["lrem", "l", "1", "x"],
            &["rpoplpush", "l", "m"],
            &["ltrim", "l", "0", "0"],
            &["rpop", "l"],
            &["lpop", "nosuch"],
        ],
    );
    assert_eq!(
        ks(&mut t, sub),
        vec!["l lpush", "l rpush", "l linsert", "l lset", "l lrem", "m lpush", "l rpop", "l ltrim", "l rpop", "l del",]
    );
}

#[test]
fn hash_set_and_zset_events() {
    let (mut t, sub) = listening("KA");
    run_all(
        &mut t,
        &[
            &["hmset", "h", "a", "1", "b", "2"],
            &["hincrby", "h", "a", "10"],
            &["hincrbyfloat", "h", "a", "1.5"],
            &["hdel", "h", "a", "b"],
            &["sadd", "s", "a", "b"],
            &["sadd", "s", "a"],
            &["srem", "s", "x"],
            &["smove", "s", "t", "a"],
            &["sinterstore", "u", "s", "t"],
            &["sunionstore", "u", "s", "t"],
            &["spop", "s"],
            &["zadd", "z", "1", "a", "2", "b"],
            &["zincrby", "z", "1", "a"],
            &["zrem", "z", "x", "a"],
            &["zunionstore", "w", "1", "z"],
            &["zremrangebyscore", "w", "0", "10"],
            &["zpopmin", "z"],
        ],
    );
    assert_eq!(
        ks(&mut t, sub),
        vec![
            "h hset",
            "h hincrby",
            "h hincrbyfloat",
            "h hdel",
            "h del",
            "s sadd",
            "s srem",
            "t sadd",
            "u sunionstore",
            "s spop",
            "s del",
            "z zadd",
            "z zincr",
            "z zrem",
            "w zunionstore",
            "w zremrangebyscore",
            "w del",
            "z zpopmin",
            "z del",
        ]
    );
}

#[test]
fn stream_events_as_the_suite_expects() {
    let (mut t, sub) = listening("Kt");
    run_all(
        &mut t,
        &[
            &["xgroup", "create", "st", "g", "$", "mkstream"],
            &["xgroup", "createconsumer", "st", "g", "Bob"],
            &["xadd", "st", "1", "f", "A"],
            &["xreadgroup", "group", "g", "Alice", "streams", "st", ">"],
            &["xclaim", "st", "g", "Mike", "0", "1-0", "force"],
            &["xgroup", "delconsumer", "st", "g", "Lee"],
            &["xautoclaim", "st", "g", "Bob", "0", "1-0"],
            &["xgroup", "delconsumer", "st", "g", "Bob"],
        ],
    );
    assert_eq!(
        ks(&mut t, sub),
        vec![
            "st xgroup-create",
            "st xgroup-createconsumer",
            "st xadd",
            "st xgroup-createconsumer",
            "st xgroup-createconsumer",
            "st xgroup-delconsumer",
        ]
    );
}

#[test]
fn new_keys_come_before_the_command_event_and_only_once() {
    let (mut t, sub) = listening("En$");
    run_all(&mut t, &[&["set", "foo", "bar"], &["set", "foo", "baz"], &["set", "bar", "bar"]]);
    assert_eq!(
        events(&mut t, sub),
        vec![
            "__keyevent@0__:new foo",
            "__keyevent@0__:set foo",
            "__keyevent@0__:set foo",
            "__keyevent@0__:new bar",
            "__keyevent@0__:set bar"
        ]
    );
    // A key created by a command with no event class enabled still gets its `new`.
    run(&mut t, &["lpush", "l", "x"]);
    assert_eq!(events(&mut t, sub), vec!["__keyevent@0__:new l"]);
}

#[test]
fn lazy_expiry_emits_expired_before_the_command_event() {
    clock::set_mock(1_000_000);
    let (mut t, sub) = listening("KEA");
    run(&mut t, &["set", "k", "v", "px", "100"]);
    events(&mut t, sub);
    clock::set_mock(1_000_200);
    assert_eq!(run(&mut t, &["exists", "k"]), int(0));
    assert_eq!(events(&mut t, sub), vec!["__keyspace@0__:k expired", "__keyevent@0__:expired k"]);
    run(&mut t, &["set", "j", "v", "px", "100"]);
    events(&mut t, sub);
    clock::set_mock(1_000_400);
    run(&mut t, &["set", "j", "w"]);
    assert_eq!(
        events(&mut t, sub),
        vec!["__keyspace@0__:j expired", "__keyevent@0__:expired j", "__keyspace@0__:j set", "__keyevent@0__:set j"]
    );
    clock::clear_mock();
}

#[test]
fn key_misses_with_m() {
    let (mut t, sub) = listening("Em");
    run(&mut t, &["get", "nosuch"]);
    run(&mut t, &["set", "k", "v"]);
    run(&mut t, &["get", "k"]);
    assert_eq!(events(&mut t, sub), vec!["__keyevent@0__:keymiss nosuch"]);
}

#[test]
fn masked_classes_are_silent() {
    let (mut t, sub) = listening("KEl");
    run(&mut t, &["set", "foo", "bar"]);
    run(&mut t, &["lpush", "mylist", "a"]);
    assert_eq!(events(&mut t, sub), vec!["__keyspace@0__:mylist lpush", "__keyevent@0__:lpush mylist"]);
}

#[test]
fn a_resp3_subscriber_gets_its_own_events_before_its_reply() {
    let mut t = testutil::new();
    run(&mut t, &["config", "set", "notify-keyspace-events", "E$"]);
    run(&mut t, &["hello", "3"]);
    run(&mut t, &["subscribe", "__keyevent@0__:set"]);
    let got = testutil::run_raw(&mut t, &["set", "k", "v"]);
    assert_eq!(got, ">3\r\n$7\r\nmessage\r\n$18\r\n__keyevent@0__:set\r\n$1\r\nk\r\n+OK\r\n");
}
