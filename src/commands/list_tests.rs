use crate::commands::testutil::{arr, bulk, bulks, err, int, new, ok, run, run_raw, T};
use crate::commands::Blocked;

fn resp3(t: &mut T) {
    t.s.clients[t.me].resp = 3;
}

fn blocked(t: &T) -> Option<Blocked> {
    t.s.clients[t.me].blocked.clone()
}

#[test]
fn push_and_len() {
    let mut t = new();
    assert_eq!(run(&mut t, &["lpush", "k", "a", "b"]), int(2));
    assert_eq!(run(&mut t, &["rpush", "k", "c"]), int(3));
    assert_eq!(run(&mut t, &["lrange", "k", "0", "-1"]), bulks(&["b", "a", "c"]));
    assert_eq!(run(&mut t, &["llen", "k"]), int(3));
    assert_eq!(run(&mut t, &["llen", "nokey"]), int(0));
    assert_eq!(run(&mut t, &["lpushx", "nokey", "a"]), int(0));
    assert_eq!(run(&mut t, &["rpushx", "nokey", "a"]), int(0));
    assert_eq!(run(&mut t, &["exists", "nokey"]), int(0));
    assert_eq!(run(&mut t, &["lpushx", "k", "x", "y"]), int(5));
    assert_eq!(run(&mut t, &["rpushx", "k", "z"]), int(6));
    assert_eq!(run(&mut t, &["lindex", "k", "0"]), bulk("y"));
    assert_eq!(run(&mut t, &["lindex", "k", "-1"]), bulk("z"));
    assert_eq!(run(&mut t, &["object", "encoding", "k"]), bulk("quicklist"));
    assert_eq!(run(&mut t, &["lpush", "k"]), err("ERR wrong number of arguments for 'lpush' command"));
    let dirty = t.s.persist.dirty;
    run(&mut t, &["rpush", "k", "1", "2", "3"]);
    assert_eq!(t.s.persist.dirty, dirty + 3);
}

#[test]
fn wrong_type() {
    let mut t = new();
    run(&mut t, &["set", "s", "x"]);
    let wt = err("WRONGTYPE Operation against a key holding the wrong kind of value");
    for cmd in [
        &["lpush", "s", "a"][..],
        &["rpushx", "s", "a"],
        &["lpop", "s"],
        &["rpop", "s", "2"],
        &["llen", "s"],
        &["lrange", "s", "0", "1"],
        &["lindex", "s", "0"],
        &["lset", "s", "0", "x"],
        &["linsert", "s", "before", "a", "b"],
        &["lrem", "s", "0", "a"],
        &["ltrim", "s", "0", "1"],
        &["lpos", "s", "a"],
        &["rpoplpush", "s", "d"],
        &["lmove", "s", "d", "left", "right"],
        &["lmpop", "1", "s", "left"],
        &["blpop", "s", "0"],
        &["brpop", "nokey", "s", "0"],
        &["blmpop", "0", "2", "nokey", "s", "left"],
        &["blmove", "s", "d", "left", "left", "0"],
        &["brpoplpush", "s", "d", "0"],
    ] {
        assert_eq!(run(&mut t, cmd), wt, "{cmd:?}");
    }
    assert_eq!(run(&mut t, &["get", "s"]), bulk("x"));
    assert!(blocked(&t).is_none());
}

#[test]
fn pop_with_count() {
    let mut t = new();
    assert_eq!(run(&mut t, &["lpush", "l", "aa", "bb", "cc", "dd", "ee", "ff", "gg"]), int(7));
    assert_eq!(run(&mut t, &["lpop", "l", "1"]), bulks(&["gg"]));
    assert_eq!(run(&mut t, &["lpop", "l", "2"]), bulks(&["ff", "ee"]));
    assert_eq!(run(&mut t, &["rpop", "l", "2"]), bulks(&["aa", "bb"]));
    assert_eq!(run(&mut t, &["rpop", "l"]), bulk("cc"));
    assert_eq!(run(&mut t, &["lpop", "l", "0"]), arr(vec![]));
    assert_eq!(run(&mut t, &["rpop", "l", "123"]), bulks(&["dd"]));
    assert_eq!(run(&mut t, &["exists", "l"]), int(0));
    assert_eq!(run_raw(&mut t, &["lpop", "l"]), "$-1\r\n");
    assert_eq!(run_raw(&mut t, &["lpop", "l", "0"]), "*-1\r\n");
    assert_eq!(run_raw(&mut t, &["rpop", "l", "1"]), "*-1\r\n");
    let pos = err("ERR value is out of range, must be positive");
    assert_eq!(run(&mut t, &["lpop", "l", "-1"]), pos);
    assert_eq!(run(&mut t, &["lpop", "l", "x"]), pos);
    assert_eq!(run(&mut t, &["lpop", "l", "1", "1"]), err("ERR wrong number of arguments for 'lpop' command"));
    assert_eq!(run(&mut t, &["rpop", "l", "2", "2"]), err("ERR wrong number of arguments for 'rpop' command"));
    resp3(&mut t);
    assert_eq!(run_raw(&mut t, &["lpop", "l"]), "_\r\n");
    assert_eq!(run_raw(&mut t, &["lpop", "l", "1"]), "_\r\n");
    run(&mut t, &["rpush", "l", "zero"]);
    assert_eq!(run(&mut t, &["rpop", "l", "0"]), arr(vec![]));
}

#[test]
fn lrange_and_ltrim() {
    let mut t = new();
    run(&mut t, &["rpush", "l", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
    let r = |t: &mut T, a: &str, b: &str| run(t, &["lrange", "l", a, b]);
    assert_eq!(r(&mut t, "1", "2"), bulks(&["1", "2"]));
    assert_eq!(r(&mut t, "-3", "-1"), bulks(&["7", "8", "9"]));
    assert_eq!(r(&mut t, "6", "2"), arr(vec![]));
    assert_eq!(r(&mut t, "-1000", "0"), bulks(&["0"]));
    assert_eq!(r(&mut t, "0", "-11"), arr(vec![]));
    assert_eq!(r(&mut t, "9", "1000"), bulks(&["9"]));
    assert_eq!(r(&mut t, "10", "1000"), arr(vec![]));
    let all = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
    assert_eq!(r(&mut t, "-9223372036854775808", "9223372036854775807"), bulks(&all));
    assert_eq!(r(&mut t, "a", "1"), err("ERR value is not an integer or out of range"));
    assert_eq!(run(&mut t, &["lrange", "nokey", "0", "-1"]), arr(vec![]));
    assert_eq!(run(&mut t, &["lrange", "nokey", "x", "-1"]), err("ERR value is not an integer or out of range"));
    assert_eq!(run(&mut t, &["ltrim", "l", "1", "-2"]), ok());
    assert_eq!(r(&mut t, "0", "-1"), bulks(&["1", "2", "3", "4", "5", "6", "7", "8"]));
    assert_eq!(run(&mut t, &["ltrim", "l", "-2", "-1"]), ok());
    assert_eq!(r(&mut t, "0", "-1"), bulks(&["7", "8"]));
    assert_eq!(run(&mut t, &["ltrim", "nokey", "0", "1"]), ok());
    assert_eq!(run(&mut t, &["ltrim", "l", "0", "-3"]), ok());
    assert_eq!(run(&mut t, &["exists", "l"]), int(0));
}

#[test]
fn lindex_lset_linsert() {
    let mut t = new();
    run(&mut t, &["rpush", "l", "a", "b", "c"]);
    assert_eq!(run(&mut t, &["lindex", "l", "1"]), bulk("b"));
    assert_eq!(run_raw(&mut t, &["lindex", "l", "3"]), "$-1\r\n");
    assert_eq!(run_raw(&mut t, &["lindex", "l", "-4"]), "$-1\r\n");
    assert_eq!(run(&mut t, &["lindex", "l", "x"]), err("ERR value is not an integer or out of range"));
    assert_eq!(run_raw(&mut t, &["lindex", "nokey", "x"]), "$-1\r\n");
    assert_eq!(run(&mut t, &["lset", "l", "1", "B"]), ok());
    assert_eq!(run(&mut t, &["lset", "l", "-1", "C"]), ok());
    assert_eq!(run(&mut t, &["lset", "l", "3", "x"]), err("ERR index out of range"));
    assert_eq!(run(&mut t, &["lset", "nokey", "0", "x"]), err("ERR no such key"));
    assert_eq!(run(&mut t, &["lset", "nokey", "x", "x"]), err("ERR no such key"));
    assert_eq!(run(&mut t, &["lset", "l", "x", "x"]), err("ERR value is not an integer or out of range"));
    assert_eq!(run(&mut t, &["linsert", "l", "before", "B", "1"]), int(4));
    assert_eq!(run(&mut t, &["linsert", "l", "AFTER", "B", "2"]), int(5));
    assert_eq!(run(&mut t, &["linsert", "l", "after", "zz", "2"]), int(-1));
    assert_eq!(run(&mut t, &["linsert", "nokey", "after", "zz", "2"]), int(0));
    assert_eq!(run(&mut t, &["linsert", "l", "aft3r", "a", "2"]), err("ERR syntax error"));
    assert_eq!(run(&mut t, &["linsert", "nokey", "aft3r", "a", "2"]), err("ERR syntax error"));
    assert_eq!(run(&mut t, &["lrange", "l", "0", "-1"]), bulks(&["a", "1", "B", "2", "C"]));
}

#[test]
fn lrem() {
    let mut t = new();
    let fill = ["rpush", "l", "x", "foo", "bar", "foobar", "foo", "bar", "foo"];
    run(&mut t, &fill);
    assert_eq!(run(&mut t, &["lrem", "l", "0", "bar"]), int(2));
    assert_eq!(run(&mut t, &["lrem", "l", "1", "foo"]), int(1));
    assert_eq!(run(&mut t, &["lrem", "l", "-1", "foo"]), int(1));
    assert_eq!(run(&mut t, &["lrange", "l", "0", "-1"]), bulks(&["x", "foobar", "foo"]));
    assert_eq!(run(&mut t, &["lrem", "l", "1", "nosuch"]), int(0));
    assert_eq!(run(&mut t, &["lrem", "nokey", "1", "a"]), int(0));
    assert_eq!(run(&mut t, &["lrem", "l", "x", "a"]), err("ERR value is not an integer or out of range"));
    assert_eq!(run(&mut t, &["lrem", "l", "-9223372036854775808", "foo"]), int(1));
    run(&mut t, &["lrem", "l", "0", "x"]);
    run(&mut t, &["lrem", "l", "0", "foobar"]);
    assert_eq!(run(&mut t, &["exists", "l"]), int(0));
}

#[test]
fn lpos() {
    let mut t = new();
    run(&mut t, &["rpush", "l", "a", "b", "c", "1", "2", "3", "c", "c"]);
    let p = |t: &mut T, args: &[&str]| {
        let mut v = vec!["lpos", "l"];
        v.extend_from_slice(args);
        run_raw(t, &v)
    };
    assert_eq!(p(&mut t, &["a"]), ":0\r\n");
    assert_eq!(p(&mut t, &["c"]), ":2\r\n");
    assert_eq!(p(&mut t, &["c", "RANK", "2"]), ":6\r\n");
    assert_eq!(p(&mut t, &["c", "RANK", "4"]), "$-1\r\n");
    assert_eq!(p(&mut t, &["c", "RANK", "-1"]), ":7\r\n");
    assert_eq!(p(&mut t, &["c", "RANK", "-2"]), ":6\r\n");
    assert_eq!(
        p(&mut t, &["c", "RANK", "0"]),
        "-ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to \
         start from the end of the list\r\n"
    );
    assert_eq!(
        p(&mut t, &["c", "RANK", "-9223372036854775808"]),
        "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n"
    );
    assert_eq!(p(&mut t, &["c", "COUNT", "0"]), "*3\r\n:2\r\n:6\r\n:7\r\n");
    assert_eq!(p(&mut t, &["c", "COUNT", "2"]), "*2\r\n:2\r\n:6\r\n");
    assert_eq!(p(&mut t, &["c", "COUNT", "0", "RANK", "2"]), "*2\r\n:6\r\n:7\r\n");
    assert_eq!(p(&mut t, &["c", "COUNT", "2", "RANK", "-1"]), "*2\r\n:7\r\n:6\r\n");
    assert_eq!(p(&mut t, &["x", "COUNT", "2", "RANK", "-1"]), "*0\r\n");
    assert_eq!(p(&mut t, &["x"]), "$-1\r\n");
    assert_eq!(p(&mut t, &["a", "COUNT", "0", "MAXLEN", "1"]), "*1\r\n:0\r\n");
    assert_eq!(p(&mut t, &["c", "COUNT", "0", "MAXLEN", "1"]), "*0\r\n");
    assert_eq!(p(&mut t, &["c", "COUNT", "0", "MAXLEN", "3", "RANK", "-1"]), "*2\r\n:7\r\n:6\r\n");
    assert_eq!(p(&mut t, &["c", "COUNT", "0", "MAXLEN", "7", "RANK", "2"]), "*1\r\n:6\r\n");
    assert_eq!(p(&mut t, &["c", "COUNT", "-1"]), "-ERR COUNT can't be negative\r\n");
    assert_eq!(p(&mut t, &["c", "COUNT", "x"]), "-ERR COUNT can't be negative\r\n");
    assert_eq!(p(&mut t, &["c", "MAXLEN", "-1"]), "-ERR MAXLEN can't be negative\r\n");
    assert_eq!(p(&mut t, &["c", "RANK", "x"]), "-ERR value is not an integer or out of range\r\n");
    assert_eq!(p(&mut t, &["c", "RANK"]), "-ERR syntax error\r\n");
    assert_eq!(p(&mut t, &["c", "FOO", "1"]), "-ERR syntax error\r\n");
    assert_eq!(run(&mut t, &["lpos", "nokey", "c", "COUNT", "0"]), arr(vec![]));
    assert_eq!(run_raw(&mut t, &["lpos", "nokey", "c"]), "$-1\r\n");
    assert_eq!(run_raw(&mut t, &["lpos", "nokey", "c", "RANK", "0"]).as_bytes()[0], b'-');
}

#[test]
fn lmove_and_rpoplpush() {
    let mut t = new();
    run(&mut t, &["rpush", "s", "a", "b", "c", "d"]);
    assert_eq!(run(&mut t, &["rpoplpush", "s", "d"]), bulk("d"));
    assert_eq!(run(&mut t, &["lmove", "s", "d", "left", "right"]), bulk("a"));
    assert_eq!(run(&mut t, &["lrange", "d", "0", "-1"]), bulks(&["d", "a"]));
    assert_eq!(run(&mut t, &["lmove", "s", "d", "up", "right"]), err("ERR syntax error"));
    assert_eq!(run(&mut t, &["lmove", "s", "d", "left", "down"]), err("ERR syntax error"));
    assert_eq!(run_raw(&mut t, &["rpoplpush", "nokey", "d"]), "$-1\r\n");
    assert_eq!(run(&mut t, &["exists", "nokey"]), int(0));
    // Same list: a rotation that keeps the TTL.
    run(&mut t, &["expire", "s", "100"]);
    assert_eq!(run(&mut t, &["lmove", "s", "s", "left", "right"]), bulk("b"));
    assert_eq!(run(&mut t, &["lrange", "s", "0", "-1"]), bulks(&["c", "b"]));
    run(&mut t, &["rpop", "s"]);
    assert_eq!(run(&mut t, &["rpoplpush", "s", "s"]), bulk("c"));
    assert_eq!(run(&mut t, &["ttl", "s"]), int(100));
    // Wrong destination: nothing moves.
    run(&mut t, &["set", "str", "x"]);
    assert_eq!(run_raw(&mut t, &["rpoplpush", "s", "str"]).as_bytes()[0], b'-');
    assert_eq!(run(&mut t, &["llen", "s"]), int(1));
    // Source emptied: deleted; destination created.
    assert_eq!(run(&mut t, &["lmove", "s", "new", "right", "left"]), bulk("c"));
    assert_eq!(run(&mut t, &["exists", "s"]), int(0));
    assert_eq!(run(&mut t, &["lrange", "new", "0", "-1"]), bulks(&["c"]));
}

#[test]
fn lmpop() {
    let mut t = new();
    run(&mut t, &["rpush", "a", "1", "2", "3", "4", "5"]);
    assert_eq!(run(&mut t, &["lmpop", "2", "nokey", "a", "left"]), arr(vec![bulk("a"), bulks(&["1"])]));
    assert_eq!(run(&mut t, &["lmpop", "2", "a", "a", "RIGHT", "COUNT", "2"]), arr(vec![bulk("a"), bulks(&["5", "4"])]));
    assert_eq!(run(&mut t, &["lmpop", "1", "a", "left", "count", "10"]), arr(vec![bulk("a"), bulks(&["2", "3"])]));
    assert_eq!(run(&mut t, &["exists", "a"]), int(0));
    assert_eq!(run_raw(&mut t, &["lmpop", "2", "a", "b", "left", "count", "10"]), "*-1\r\n");
    let nk = err("ERR numkeys should be greater than 0");
    assert_eq!(run(&mut t, &["lmpop", "0", "a", "left"]), nk);
    assert_eq!(run(&mut t, &["lmpop", "a", "a", "left"]), nk);
    assert_eq!(run(&mut t, &["lmpop", "-1", "a", "left"]), nk);
    let syn = err("ERR syntax error");
    assert_eq!(run(&mut t, &["lmpop", "1", "a", "bad_where"]), syn);
    assert_eq!(run(&mut t, &["lmpop", "1", "a", "left", "bar"]), syn);
    assert_eq!(run(&mut t, &["lmpop", "1", "a", "right", "left"]), syn);
    assert_eq!(run(&mut t, &["lmpop", "1", "a", "count"]), syn);
    assert_eq!(run(&mut t, &["lmpop", "1", "a", "left", "count", "1", "count", "2"]), syn);
    assert_eq!(run(&mut t, &["lmpop", "2", "a", "b", "bad"]), syn);
    assert_eq!(run(&mut t, &["lmpop", "5", "a", "left"]), syn);
    assert_eq!(run(&mut t, &["lmpop", "9223372036854775807", "a", "left"]), syn);
    let cnt = err("ERR count should be greater than 0");
    assert_eq!(run(&mut t, &["lmpop", "1", "a", "left", "count", "0"]), cnt);
    assert_eq!(run(&mut t, &["lmpop", "1", "a", "left", "count", "a"]), cnt);
    assert_eq!(run(&mut t, &["lmpop", "2", "a", "b", "right", "count", "-1"]), cnt);
    assert_eq!(run(&mut t, &["lmpop", "1"]), err("ERR wrong number of arguments for 'lmpop' command"));
    resp3(&mut t);
    assert_eq!(run_raw(&mut t, &["lmpop", "1", "a", "left"]), "_\r\n");
}

#[test]
fn key_positions() {
    let mut t = new();
    assert_eq!(run(&mut t, &["command", "getkeys", "lmpop", "2", "a", "b", "left"]), bulks(&["a", "b"]));
    assert_eq!(run(&mut t, &["command", "getkeys", "blmpop", "0", "1", "a", "left"]), bulks(&["a"]));
    assert_eq!(run(&mut t, &["command", "getkeys", "blpop", "a", "b", "0"]), bulks(&["a", "b"]));
    assert_eq!(run(&mut t, &["command", "getkeys", "lmove", "a", "b", "left", "left"]), bulks(&["a", "b"]));
    assert_eq!(super::lmpop_keys(&[b"lmpop", b"3", b"a", b"left"]), Vec::<usize>::new());
    assert_eq!(super::blmpop_keys(&[b"blmpop", b"0", b"x", b"a", b"left"]), Vec::<usize>::new());
}

#[test]
fn blocking_pops_serve_at_once() {
    let mut t = new();
    run(&mut t, &["rpush", "b", "1", "2", "3"]);
    assert_eq!(run(&mut t, &["blpop", "nokey", "b", "0"]), bulks(&["b", "1"]));
    assert_eq!(run(&mut t, &["brpop", "b", "0"]), bulks(&["b", "3"]));
    assert_eq!(run(&mut t, &["blmpop", "0", "1", "b", "left", "count", "5"]), arr(vec![bulk("b"), bulks(&["2"])]));
    assert_eq!(run(&mut t, &["exists", "b"]), int(0));
    run(&mut t, &["rpush", "s", "x", "y"]);
    assert_eq!(run(&mut t, &["blmove", "s", "d", "right", "left", "0"]), bulk("y"));
    assert_eq!(run(&mut t, &["brpoplpush", "s", "d", "0"]), bulk("x"));
    assert_eq!(run(&mut t, &["lrange", "d", "0", "-1"]), bulks(&["x", "y"]));
    assert!(blocked(&t).is_none());
}

#[test]
fn blocking_pops_block_on_their_keys() {
    let mut t = new();
    assert_eq!(run_raw(&mut t, &["blpop", "a", "b", "a", "0"]), "");
    let b = blocked(&t).unwrap();
    assert_eq!(b.keys, vec![(0, b"a".to_vec()), (0, b"b".to_vec())]);
    assert_eq!(b.deadline_ms, 0);
    t.s.clients.unblock(t.me);
    assert_eq!(run_raw(&mut t, &["brpop", "a", "1.5"]), "");
    assert!(blocked(&t).unwrap().deadline_ms > 0);
    t.s.clients.unblock(t.me);
    assert_eq!(run_raw(&mut t, &["blmpop", "0", "2", "x", "y", "left", "count", "3"]), "");
    assert_eq!(blocked(&t).unwrap().keys.len(), 2);
    t.s.clients.unblock(t.me);
    // BLMOVE blocks on the source only, whatever the destination holds.
    run(&mut t, &["set", "str", "v"]);
    assert_eq!(run_raw(&mut t, &["blmove", "src", "str", "left", "left", "0"]), "");
    assert_eq!(blocked(&t).unwrap().keys, vec![(0, b"src".to_vec())]);
    t.s.clients.unblock(t.me);
    assert_eq!(run_raw(&mut t, &["brpoplpush", "src", "dst", "0"]), "");
    t.s.clients.unblock(t.me);
    // When the key is written, running the command again serves it.
    run(&mut t, &["rpush", "src", "e"]);
    assert_eq!(run_raw(&mut t, &["blmove", "src", "str", "left", "left", "0"]).as_bytes()[0], b'-');
    assert_eq!(run(&mut t, &["brpoplpush", "src", "dst", "0"]), bulk("e"));
}

#[test]
fn woken_clients_pass_over_keys_of_another_type() {
    let mut t = new();
    assert_eq!(run_raw(&mut t, &["blpop", "k", "0"]), "");
    let me = t.me;
    t.me = t.s.add_client("127.0.0.1:2".into(), "127.0.0.1:6379".into());
    run(&mut t, &["set", "k", "str"]);
    t.me = me;
    // Run again as the Keyspace does on a wake-up: still blocked, no error.
    assert_eq!(run_raw(&mut t, &["blpop", "k", "0"]), "");
    assert!(blocked(&t).is_some());
    assert_eq!(run_raw(&mut t, &["blmpop", "0", "1", "k", "left"]), "");
    assert!(blocked(&t).is_some());
    assert_eq!(run_raw(&mut t, &["blmove", "k", "d", "left", "left", "0"]), "");
    assert!(blocked(&t).is_some());
    t.s.clients.unblock(t.me);
    // A fresh call reports the wrong type.
    assert_eq!(run_raw(&mut t, &["blpop", "k", "0"]).as_bytes()[0], b'-');
}

#[test]
fn blocking_errors() {
    let mut t = new();
    for cmd in [&["blpop", "k", "-1"][..], &["brpop", "k", "-1"], &["blmpop", "-1", "1", "k", "left"]] {
        assert_eq!(run(&mut t, cmd), err("ERR timeout is negative"));
    }
    assert_eq!(
        run(&mut t, &["blmove", "a", "b", "left", "left", "x"]),
        err("ERR timeout is not a float or out of range")
    );
    assert_eq!(run(&mut t, &["blmove", "a", "b", "up", "left", "x"]), err("ERR syntax error"));
    assert_eq!(run(&mut t, &["brpoplpush", "a", "b", "-1"]), err("ERR timeout is negative"));
    assert_eq!(run(&mut t, &["blmpop", "-1", "0", "k", "left"]), err("ERR numkeys should be greater than 0"));
    assert!(blocked(&t).is_none());
}

#[test]
fn blocking_inside_exec_answers_timeout() {
    let mut t = new();
    t.s.exec.in_exec = true;
    assert_eq!(run_raw(&mut t, &["blpop", "a", "0"]), "*-1\r\n");
    assert_eq!(run_raw(&mut t, &["blmpop", "0", "1", "a", "left"]), "*-1\r\n");
    assert_eq!(run_raw(&mut t, &["brpoplpush", "a", "b", "0"]), "$-1\r\n");
    assert_eq!(run_raw(&mut t, &["blmove", "a", "b", "left", "right", "0"]), "$-1\r\n");
    assert!(blocked(&t).is_none());
    resp3(&mut t);
    assert_eq!(run_raw(&mut t, &["blpop", "a", "0"]), "_\r\n");
}

#[test]
fn writes_wake_blocked_clients() {
    let mut t = new();
    assert_eq!(run_raw(&mut t, &["blpop", "q", "0"]), "");
    let me = t.me;
    let other = t.s.add_client("127.0.0.1:2".into(), "127.0.0.1:6379".into());
    t.me = other;
    run(&mut t, &["rpush", "q", "x"]);
    assert_eq!(t.s.clients.ready_keys, vec![(0, b"q".to_vec())]);
    t.s.clients.unblock(me);
}

#[test]
fn replicated_as_redis_rewrites_them() {
    let mut t = new();
    t.s.prop.feed.enabled = true;
    run(&mut t, &["rpush", "a", "1", "2", "3"]);
    run(&mut t, &["blpop", "a", "0"]);
    run(&mut t, &["lmpop", "1", "a", "right"]);
    run(&mut t, &["blmpop", "0", "2", "x", "a", "left", "count", "9"]);
    run(&mut t, &["lpop", "a"]);
    run(&mut t, &["rpush", "a", "1"]);
    run(&mut t, &["blmove", "a", "b", "left", "right", "0"]);
    run(&mut t, &["brpoplpush", "b", "b", "0"]);
    run(&mut t, &["ltrim", "b", "0", "-1"]);
    let feed = String::from_utf8(t.s.prop.feed.take()).unwrap().replace("\r\n", " ");
    let want = "*2 $6 SELECT $1 0 *5 $5 rpush $1 a $1 1 $1 2 $1 3 *2 $4 lpop $1 a *3 $4 rpop $1 a $1 1 \
                *3 $4 lpop $1 a $1 1 *3 $5 rpush $1 a $1 1 *5 $5 lmove $1 a $1 b $4 left $5 right \
                *3 $9 rpoplpush $1 b $1 b ";
    assert_eq!(feed, want);
}

#[test]
fn lists_stay_intact_across_node_boundaries() {
    let mut t = new();
    run(&mut t, &["config", "set", "list-max-listpack-size", "4"]);
    for i in 0..50 {
        run(&mut t, &["rpush", "l", &i.to_string()]);
    }
    for i in 0..50 {
        assert_eq!(run_raw(&mut t, &["lindex", "l", &i.to_string()]), format!("${}\r\n{i}\r\n", i.to_string().len()));
    }
    assert_eq!(run(&mut t, &["linsert", "l", "before", "25", "x"]), int(51));
    assert_eq!(run(&mut t, &["lindex", "l", "25"]), bulk("x"));
    assert_eq!(run(&mut t, &["lpos", "l", "49"]), int(50));
    assert_eq!(run(&mut t, &["lrange", "l", "24", "26"]), bulks(&["24", "x", "25"]));
}
