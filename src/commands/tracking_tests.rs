//! Unit tests of client-side caching (tracking.rs): commands run as several clients of one State, the
//! invalidations read from the pub/sub outbox (other clients) or the command's own reply bytes.

use super::super::testutil::{self, arr, bulk, bulks, err, int, map, other, run, run_as, run_raw, simple, Frame, T};
use crate::types::clock;

/// What the batch delivers to other clients (BCAST collected first, as the Keyspace does), by slot; emptied.
fn delivered(t: &mut T) -> Vec<(usize, String)> {
    super::broadcast(&mut t.s);
    t.s.pubsub
        .outbox
        .take()
        .into_iter()
        .map(|d| (d.slot, d.frames.iter().map(|f| String::from_utf8_lossy(f).into_owned()).collect()))
        .collect()
}

/// A RESP3 push `invalidate [keys]`.
fn inv(keys: &[&str]) -> String {
    let mut s = format!(">2\r\n$10\r\ninvalidate\r\n*{}\r\n", keys.len());
    for k in keys {
        s.push_str(&format!("${}\r\n{k}\r\n", k.len()));
    }
    s
}

/// The RESP2 `message` a subscribed redirect client gets.
fn msg(keys: &[&str]) -> String {
    let mut s = format!("*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*{}\r\n", keys.len());
    for k in keys {
        s.push_str(&format!("${}\r\n{k}\r\n", k.len()));
    }
    s
}

/// A RESP3 client with tracking on (extra options after ON); its slot.
fn tracker(t: &mut T, opts: &[&str]) -> usize {
    let c = other(t);
    run_as(t, c, &["hello", "3"]);
    let mut args = vec!["client", "tracking", "on"];
    args.extend_from_slice(opts);
    assert_eq!(run_as(t, c, &args), "+OK\r\n");
    c
}

#[test]
fn a_read_key_is_invalidated_once_when_another_client_writes_it() {
    let mut t = testutil::new();
    let c = tracker(&mut t, &[]);
    run(&mut t, &["set", "k", "1"]);
    assert_eq!(run_as(&mut t, c, &["get", "k"]), "$1\r\n1\r\n");
    // A key only written (not read) is not tracked.
    run_as(&mut t, c, &["set", "w", "1"]);
    assert_eq!((t.s.tracking.keys(), t.s.tracking.items()), (1, 1));
    assert!(delivered(&mut t).is_empty());
    run(&mut t, &["incr", "w"]);
    assert!(delivered(&mut t).is_empty());
    run(&mut t, &["set", "k", "2"]);
    assert_eq!(delivered(&mut t), vec![(c, inv(&["k"]))]);
    assert_eq!(t.s.tracking.keys(), 0, "the key left the table");
    run(&mut t, &["set", "k", "3"]);
    assert!(delivered(&mut t).is_empty(), "until it is read again");
}

/// Every client told of a key gets the same frame (one allocation, counted once by the outbox), in the
/// form its connection reads.
#[test]
fn clients_told_of_one_key_share_one_frame() {
    let mut t = testutil::new();
    let (a, b, c) = (tracker(&mut t, &[]), tracker(&mut t, &[]), tracker(&mut t, &[]));
    let key = "k".repeat(1000);
    run(&mut t, &["set", &key, "1"]);
    for who in [a, b, c] {
        run_as(&mut t, who, &["get", &key]);
    }
    run(&mut t, &["set", &key, "2"]);
    let out = t.s.pubsub.outbox.take();
    assert_eq!(out.len(), 3);
    let first = &out[0].frames[0];
    assert_eq!(String::from_utf8_lossy(first), inv(&[&key]));
    assert!(out.iter().all(|d| d.frames.len() == 1 && d.frames[0].as_ptr() == first.as_ptr()));
    assert_eq!(t.s.pubsub.outbox.last_unique, first.len());
}

#[test]
fn keys_come_from_the_command_table_including_key_functions() {
    let mut t = testutil::new();
    let c = tracker(&mut t, &[]);
    run_as(&mut t, c, &["mget", "a", "b", "c"]);
    run_as(&mut t, c, &["zunion", "2", "z1", "z2"]);
    run_as(&mut t, c, &["hget", "h", "f"]);
    run_as(&mut t, c, &["ping"]);
    let mut keys: Vec<String> = t.s.tracking.table.keys().map(|k| String::from_utf8_lossy(k).into_owned()).collect();
    keys.sort();
    assert_eq!(keys, ["a", "b", "c", "h", "z1", "z2"]);
}

#[test]
fn the_writer_s_own_invalidation_follows_its_reply() {
    let mut t = testutil::new();
    run(&mut t, &["hello", "3"]);
    run(&mut t, &["client", "tracking", "on"]);
    run(&mut t, &["hset", "h", "f", "1"]);
    run(&mut t, &["hget", "h", "f"]);
    assert_eq!(run_raw(&mut t, &["hdel", "h", "f"]), format!(":1\r\n{}", inv(&["h"])));
    assert!(t.s.pubsub.outbox.is_empty());
    // Within MULTI/EXEC: after the whole EXEC reply.
    run(&mut t, &["mset", "a", "1", "b", "2"]);
    run(&mut t, &["get", "a"]);
    run(&mut t, &["multi"]);
    run(&mut t, &["incr", "a"]);
    run(&mut t, &["get", "b"]);
    assert_eq!(run_raw(&mut t, &["exec"]), format!("*2\r\n:2\r\n$1\r\n2\r\n{}", inv(&["a"])));
    // From a script: after the script's reply.
    run(&mut t, &["get", "a"]);
    assert_eq!(run_raw(&mut t, &["eval", "return redis.call('incr', 'a')", "0"]), format!(":3\r\n{}", inv(&["a"])));
}

#[test]
fn lazy_expiry_invalidates_after_the_reply() {
    let mut t = testutil::frozen();
    run(&mut t, &["hello", "3"]);
    run(&mut t, &["client", "tracking", "on"]);
    run(&mut t, &["mset", "x", "1", "y", "2"]);
    run(&mut t, &["pexpire", "y", "100"]);
    run(&mut t, &["get", "y"]);
    clock::set_mock(testutil::T0 + 200);
    assert_eq!(run_raw(&mut t, &["mget", "x", "y"]), format!("*2\r\n$1\r\n1\r\n_\r\n{}", inv(&["y"])));
    clock::clear_mock();
}

#[test]
fn resp2_invalidations_need_a_subscribed_redirect_client() {
    let mut t = testutil::new();
    let r = other(&mut t);
    let rid = t.s.clients[r].id;
    run_as(&mut t, r, &["subscribe", "__redis__:invalidate"]);
    assert_eq!(run(&mut t, &["client", "tracking", "on", "redirect", &rid.to_string()]), simple("OK"));
    assert_eq!(run(&mut t, &["client", "getredir"]), int(rid as i64));
    let other_writer = other(&mut t);
    run(&mut t, &["get", "a"]);
    run_as(&mut t, other_writer, &["set", "a", "1"]);
    assert_eq!(delivered(&mut t), vec![(r, msg(&["a"]))]);
    // Its own write goes to the redirect client too (after the batch: it is another client).
    run(&mut t, &["get", "a"]);
    assert_eq!(run_raw(&mut t, &["set", "a", "2"]), "+OK\r\n");
    assert_eq!(delivered(&mut t), vec![(r, msg(&["a"]))]);
    // RESP2 without a redirect: nothing can be sent, but the key still leaves the table.
    run(&mut t, &["client", "tracking", "off"]);
    run(&mut t, &["client", "tracking", "on"]);
    run(&mut t, &["get", "a"]);
    run_as(&mut t, other_writer, &["set", "a", "3"]);
    assert!(delivered(&mut t).is_empty());
    assert_eq!(t.s.tracking.keys(), 0);
    // A redirect client that is not subscribed (RESP2) gets nothing either.
    let plain = other(&mut t);
    let pid = t.s.clients[plain].id.to_string();
    run(&mut t, &["client", "tracking", "on", "redirect", &pid]);
    run(&mut t, &["get", "a"]);
    run_as(&mut t, other_writer, &["set", "a", "4"]);
    assert!(delivered(&mut t).is_empty());
}

#[test]
fn a_vanished_redirect_client_breaks_the_redirect() {
    let mut t = testutil::new();
    let r = other(&mut t);
    let rid = t.s.clients[r].id;
    run(&mut t, &["hello", "3"]);
    run(&mut t, &["client", "tracking", "on", "redirect", &rid.to_string()]);
    run(&mut t, &["get", "k"]);
    t.s.remove_client(r);
    let w = other(&mut t);
    run_as(&mut t, w, &["set", "k", "1"]);
    assert_eq!(delivered(&mut t), vec![(t.me, format!(">2\r\n$21\r\ntracking-redir-broken\r\n:{rid}\r\n"))]);
    let info = run(&mut t, &["client", "trackinginfo"]);
    assert_eq!(
        info,
        map(vec![
            (bulk("flags"), Frame::Set(vec![bulk("on"), bulk("broken_redirect")])),
            (bulk("redirect"), int(rid as i64)),
            (bulk("prefixes"), arr(vec![])),
        ])
    );
    assert!(run_raw(&mut t, &["client", "info"]).contains(" flags=tR db=0 "));
    assert!(run_raw(&mut t, &["client", "info"]).contains(&format!(" redir={rid} resp=3")));
}

#[test]
fn noloop_hides_the_client_s_own_writes() {
    let mut t = testutil::new();
    let c = tracker(&mut t, &["noloop"]);
    run_as(&mut t, c, &["mget", "mine", "theirs"]);
    assert_eq!(run_as(&mut t, c, &["set", "mine", "1"]), "+OK\r\n");
    run(&mut t, &["set", "theirs", "1"]);
    assert_eq!(delivered(&mut t), vec![(c, inv(&["theirs"]))]);
    // Also from its scripts in default mode (the running client is the caller, as in Redis).
    run_as(&mut t, c, &["get", "mine"]);
    assert_eq!(run_as(&mut t, c, &["eval", "return redis.call('set', 'mine', '2')", "0"]), "+OK\r\n");
    assert!(delivered(&mut t).is_empty());
}

#[test]
fn optin_and_optout_follow_client_caching_for_one_command() {
    let mut t = testutil::new();
    let c = tracker(&mut t, &["optin"]);
    run_as(&mut t, c, &["get", "a"]);
    assert_eq!(t.s.tracking.keys(), 0, "OPTIN without CACHING yes");
    assert_eq!(run_as(&mut t, c, &["client", "caching", "yes"]), "+OK\r\n");
    run_as(&mut t, c, &["get", "a"]);
    run_as(&mut t, c, &["get", "b"]);
    assert_eq!(t.s.tracking.keys(), 1, "only the command after CACHING yes");
    // Through a transaction: CACHING lasts until EXEC.
    run_as(&mut t, c, &["client", "caching", "yes"]);
    run_as(&mut t, c, &["multi"]);
    run_as(&mut t, c, &["get", "c"]);
    run_as(&mut t, c, &["get", "d"]);
    run_as(&mut t, c, &["exec"]);
    assert_eq!(t.s.tracking.keys(), 3);
    assert_eq!(
        run_as(&mut t, c, &["client", "caching", "no"]),
        "-ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.\r\n"
    );
    run_as(&mut t, c, &["client", "tracking", "off"]);
    run_as(&mut t, c, &["flushall"]);
    run_as(&mut t, c, &["client", "tracking", "on", "optout"]);
    run_as(&mut t, c, &["client", "caching", "no"]);
    run_as(&mut t, c, &["get", "a"]);
    run_as(&mut t, c, &["get", "b"]);
    let keys: Vec<&[u8]> = t.s.tracking.table.keys().map(|k| &k[..]).collect();
    assert_eq!(keys, vec![b"b"]);
    assert_eq!(
        run_as(&mut t, c, &["client", "caching", "yes"]),
        "-ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.\r\n"
    );
}

#[test]
fn bcast_sends_one_message_per_prefix_after_the_batch() {
    let mut t = testutil::new();
    let c = tracker(&mut t, &["bcast", "prefix", "a:", "prefix", "b:"]);
    run(&mut t, &["multi"]);
    for k in ["a:2", "a:1", "b:1", "c:1"] {
        run(&mut t, &["incr", k]);
    }
    run(&mut t, &["exec"]);
    assert_eq!(delivered(&mut t), vec![(c, format!("{}{}", inv(&["a:1", "a:2"]), inv(&["b:1"])))]);
    assert_eq!(t.s.tracking.keys(), 0, "BCAST clients do not fill the table");
    run_as(&mut t, c, &["get", "a:1"]);
    assert_eq!(t.s.tracking.keys(), 0);
    // Prefixes add up; NOLOOP hides the client's own keys.
    let n = tracker(&mut t, &["bcast", "noloop"]);
    run_as(&mut t, n, &["set", "mine", "1"]);
    run(&mut t, &["set", "theirs", "1"]);
    assert_eq!(delivered(&mut t), vec![(n, inv(&["theirs"]))]);
    run_as(&mut t, n, &["set", "mine", "2"]);
    assert!(delivered(&mut t).is_empty());
    assert_eq!(t.s.tracking.prefixes(), 3);
    run_as(&mut t, n, &["client", "tracking", "off"]);
    assert_eq!(t.s.tracking.prefixes(), 2, "the empty prefix had no other client");
}

#[test]
fn flushes_send_everyone_a_null_and_empty_the_table() {
    let mut t = testutil::new();
    run(&mut t, &["hello", "3"]);
    run(&mut t, &["client", "tracking", "on"]);
    let c = tracker(&mut t, &[]);
    let r2 = other(&mut t);
    let r = other(&mut t);
    run_as(&mut t, r, &["subscribe", "__redis__:invalidate"]);
    let rid = t.s.clients[r].id.to_string();
    run_as(&mut t, r2, &["client", "tracking", "on", "redirect", &rid]);
    run(&mut t, &["get", "k"]);
    run_as(&mut t, c, &["get", "k"]);
    // Our own null follows the reply; the others get theirs after the batch.
    assert_eq!(run_raw(&mut t, &["flushall"]), "+OK\r\n>2\r\n$10\r\ninvalidate\r\n_\r\n");
    assert_eq!(
        delivered(&mut t),
        vec![
            (c, ">2\r\n$10\r\ninvalidate\r\n_\r\n".to_string()),
            (r, "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n$-1\r\n".to_string())
        ]
    );
    assert_eq!((t.s.tracking.keys(), t.s.tracking.items()), (0, 0));
    run_as(&mut t, c, &["get", "k"]);
    assert_eq!(run_raw(&mut t, &["swapdb", "0", "1"]), "+OK\r\n>2\r\n$10\r\ninvalidate\r\n_\r\n");
    assert_eq!(delivered(&mut t).len(), 2);
    assert_eq!(t.s.tracking.keys(), 0);
}

#[test]
fn the_table_limit_invalidates_random_keys_with_growing_effort() {
    let mut t = testutil::new();
    let c = tracker(&mut t, &[]);
    for i in 0..250 {
        run_as(&mut t, c, &["get", &format!("key{i}")]);
    }
    assert_eq!(run(&mut t, &["config", "set", "tracking-table-max-keys", "1"]), simple("OK"));
    super::limit_table(&mut t.s);
    assert_eq!(t.s.tracking.keys(), 150, "100 keys on the first run");
    super::limit_table(&mut t.s);
    assert_eq!(t.s.tracking.keys(), 1, "up to 200 on the second");
    let got = delivered(&mut t);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].1.matches("invalidate").count(), 249);
    // Before a command of a tracking client too; 0 means no limit.
    run_as(&mut t, c, &["get", "another"]);
    run_as(&mut t, c, &["ping"]);
    assert_eq!(t.s.tracking.keys(), 1);
    run(&mut t, &["config", "set", "tracking-table-max-keys", "0"]);
    run_as(&mut t, c, &["get", "more"]);
    run_as(&mut t, c, &["ping"]);
    assert_eq!(t.s.tracking.keys(), 2);
}

#[test]
fn scripts_track_their_declared_keys_only_when_they_read() {
    let mut t = testutil::new();
    let c = tracker(&mut t, &[]);
    run_as(&mut t, c, &["eval", "redis.call('set', 'k3', 'bar')", "2", "k1", "k2"]);
    assert_eq!(t.s.tracking.keys(), 0);
    run_as(&mut t, c, &["eval_ro", "redis.call('ping')", "2", "k1", "k2"]);
    assert_eq!(t.s.tracking.keys(), 0);
    run_as(&mut t, c, &["eval_ro", "redis.call('get', 'k3')", "2", "k1", "k2"]);
    let mut keys: Vec<&[u8]> = t.s.tracking.table.keys().map(|k| &k[..]).collect();
    keys.sort();
    assert_eq!(keys, vec![&b"k1"[..], b"k2"]);
}

#[test]
fn option_errors_are_redis_s() {
    let mut t = testutil::new();
    let e = |t: &mut T, args: &[&str]| run(t, args);
    assert_eq!(e(&mut t, &["client", "tracking", "maybe"]), err("ERR syntax error"));
    assert_eq!(e(&mut t, &["client", "tracking", "on", "foo"]), err("ERR syntax error"));
    assert_eq!(
        e(&mut t, &["client", "tracking", "on", "redirect", "999"]),
        err("ERR The client ID you want redirect to does not exist")
    );
    assert_eq!(
        e(&mut t, &["client", "tracking", "on", "redirect", "x"]),
        err("ERR value is not an integer or out of range")
    );
    assert_eq!(
        e(&mut t, &["client", "tracking", "on", "redirect", "1", "redirect", "1"]),
        err("ERR A client can only redirect to a single other client")
    );
    assert_eq!(
        e(&mut t, &["client", "tracking", "on", "prefix", "a"]),
        err("ERR PREFIX option requires BCAST mode to be enabled")
    );
    assert_eq!(
        e(&mut t, &["client", "tracking", "on", "bcast", "optin"]),
        err("ERR OPTIN and OPTOUT are not compatible with BCAST")
    );
    assert_eq!(
        e(&mut t, &["client", "tracking", "on", "optin", "optout"]),
        err("ERR You can't specify both OPTIN mode and OPTOUT mode")
    );
    assert_eq!(
        e(&mut t, &["client", "caching", "yes"]),
        err("ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled")
    );
    assert_eq!(e(&mut t, &["client", "caching"]), err("ERR wrong number of arguments for 'client|caching' command"));
    run(&mut t, &["client", "tracking", "on", "optin"]);
    assert_eq!(e(&mut t, &["client", "caching", "maybe"]), err("ERR syntax error"));
    assert_eq!(
        e(&mut t, &["client", "tracking", "on", "optout"]),
        err("ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.")
    );
    assert_eq!(
        e(&mut t, &["client", "tracking", "on", "bcast"]),
        err("ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.")
    );
    run(&mut t, &["client", "tracking", "off"]);
    assert_eq!(
        e(&mut t, &["client", "tracking", "on", "bcast", "prefix", "FOOBAR", "prefix", "FOO"]),
        err("ERR Prefix 'FOOBAR' overlaps with another provided prefix 'FOO'. Prefixes for a single client must not overlap.")
    );
    assert_eq!(run(&mut t, &["client", "tracking", "on", "bcast", "prefix", "FOO", "prefix", "BAR"]), simple("OK"));
    assert_eq!(
        e(&mut t, &["client", "tracking", "on", "bcast", "prefix", "BARB"]),
        err("ERR Prefix 'BARB' overlaps with an existing prefix 'BAR'. Prefixes for a single client must not overlap.")
    );
    assert_eq!(run(&mut t, &["client", "tracking", "on", "bcast", "prefix", "C"]), simple("OK"));
    assert_eq!(
        run(&mut t, &["client", "trackinginfo"]),
        arr(vec![
            bulk("flags"),
            bulks(&["on", "bcast"]),
            bulk("redirect"),
            int(0),
            bulk("prefixes"),
            bulks(&["BAR", "C", "FOO"])
        ])
    );
    assert!(run_raw(&mut t, &["client", "info"]).contains(" flags=tB db=0 "));
}

#[test]
fn trackinginfo_and_getredir_when_off_and_in_resp3() {
    let mut t = testutil::new();
    assert_eq!(run(&mut t, &["client", "getredir"]), int(-1));
    assert_eq!(
        run_raw(&mut t, &["client", "trackinginfo"]),
        "*6\r\n$5\r\nflags\r\n*1\r\n$3\r\noff\r\n$8\r\nredirect\r\n:-1\r\n$8\r\nprefixes\r\n*0\r\n"
    );
    run(&mut t, &["hello", "3"]);
    run(&mut t, &["client", "tracking", "on", "optin"]);
    run(&mut t, &["client", "caching", "yes"]);
    assert_eq!(
        run_raw(&mut t, &["client", "trackinginfo"]),
        "%3\r\n$5\r\nflags\r\n~3\r\n$2\r\non\r\n$5\r\noptin\r\n$11\r\ncaching-yes\r\n$8\r\nredirect\r\n:0\r\n$8\r\nprefixes\r\n*0\r\n"
    );
    assert_eq!(run(&mut t, &["client", "getredir"]), int(0));
    assert!(
        run_raw(&mut t, &["client", "info"]).contains(" flags=t db=0 ")
            && run_raw(&mut t, &["client", "info"]).contains(" redir=0 ")
    );
}

#[test]
fn reset_and_disconnect_turn_tracking_off_and_info_counts() {
    let mut t = testutil::new();
    let a = tracker(&mut t, &[]);
    let b = tracker(&mut t, &["bcast", "prefix", "p:"]);
    run_as(&mut t, a, &["mget", "k1", "k2"]);
    let info = run_raw(&mut t, &["info"]);
    assert!(info.contains("\r\ntracking_clients:2\r\n"), "{info}");
    assert!(info.contains("\r\ntracking_total_keys:2\r\ntracking_total_items:2\r\ntracking_total_prefixes:1\r\n"));
    assert_eq!(run_as(&mut t, b, &["reset"]), "+RESET\r\n");
    assert_eq!((t.s.tracking.clients(), t.s.tracking.prefixes()), (1, 0));
    t.s.remove_client(a);
    assert_eq!(t.s.tracking.clients(), 0);
    // The table forgets ids lazily, as Redis: the next write of a key drops it.
    assert_eq!(t.s.tracking.keys(), 2);
    run(&mut t, &["set", "k1", "x"]);
    assert!(delivered(&mut t).is_empty());
    assert_eq!(t.s.tracking.keys(), 1);
    assert!(!t.s.prop.expire_logging, "no tracking client: expiry stops reporting its deletions");
}

#[test]
fn reply_off_keeps_the_client_s_own_invalidations() {
    let mut t = testutil::new();
    run(&mut t, &["hello", "3"]);
    run(&mut t, &["client", "tracking", "on"]);
    run(&mut t, &["get", "k"]);
    let mut batch = crate::commands::Batch::default();
    for cmd in [&["client", "reply", "off"][..], &["set", "k", "1"], &["get", "k"]] {
        let mut v = format!("*{}\r\n", cmd.len());
        for a in cmd {
            v.push_str(&format!("${}\r\n{a}\r\n", a.len()));
        }
        batch.input.extend_from_slice(v.as_bytes());
    }
    let parsed = crate::commands::parse_batch(&mut batch, 1 << 20, 1 << 20);
    assert!(parsed.error.is_none());
    crate::commands::exec_batch(&mut t.s, t.me, &mut batch);
    assert_eq!(String::from_utf8_lossy(&batch.out), inv(&["k"]));
}
