use crate::commands::testutil::{arr, bulk, bulks, err, int, ints, new, run, run_raw, Frame, T};

fn enc(t: &mut T, k: &str) -> String {
    run_raw(t, &["object", "encoding", k])
}

/// Members of a RESP2 array reply of bulks, sorted.
fn members(reply: &str) -> Vec<String> {
    let mut v: Vec<String> =
        reply.split("\r\n").skip(1).filter(|l| !l.starts_with('$') && !l.is_empty()).map(String::from).collect();
    v.sort();
    v
}

fn sorted(t: &mut T, args: &[&str]) -> Vec<String> {
    members(&run_raw(t, args))
}

fn svec(v: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

#[test]
fn sadd_scard_sismember_smembers() {
    let mut t = new();
    assert_eq!(run(&mut t, &["sadd", "s", "foo"]), int(1));
    assert_eq!(enc(&mut t, "s"), "$9\r\nhashtable\r\n");
    assert_eq!(run(&mut t, &["sadd", "s", "bar", "bar", "foo"]), int(1));
    assert_eq!(run(&mut t, &["scard", "s"]), int(2));
    assert_eq!(run(&mut t, &["scard", "nope"]), int(0));
    assert_eq!(run(&mut t, &["sismember", "s", "foo"]), int(1));
    assert_eq!(run(&mut t, &["sismember", "s", "x"]), int(0));
    assert_eq!(run(&mut t, &["sismember", "nope", "x"]), int(0));
    assert_eq!(run(&mut t, &["smismember", "s", "foo", "x", "bar"]), ints(&[1, 0, 1]));
    assert_eq!(run(&mut t, &["smismember", "nope", "foo", "x"]), ints(&[0, 0]));
    assert_eq!(sorted(&mut t, &["smembers", "s"]), svec(&["bar", "foo"]));
    assert_eq!(run(&mut t, &["smembers", "nope"]), arr(vec![]));
    assert_eq!(run(&mut t, &["smismember", "s"]), err("ERR wrong number of arguments for 'smismember' command"));
}

#[test]
fn wrongtype_everywhere() {
    let mut t = new();
    run(&mut t, &["set", "str", "x"]);
    let wt = err("WRONGTYPE Operation against a key holding the wrong kind of value");
    for cmd in [
        &["sadd", "str", "a"][..],
        &["srem", "str", "a"],
        &["scard", "str"],
        &["sismember", "str", "a"],
        &["smismember", "str", "a"],
        &["smembers", "str"],
        &["srandmember", "str"],
        &["srandmember", "str", "3"],
        &["spop", "str"],
        &["spop", "str", "2"],
        &["sinter", "nokey", "str"],
        &["sintercard", "2", "nokey", "str"],
        &["sinterstore", "d", "nokey", "str"],
        &["sunion", "str", "nokey"],
        &["sdiff", "nokey", "str"],
        &["sdiffstore", "d", "nokey", "str"],
        &["sscan", "str", "0"],
    ] {
        assert_eq!(run(&mut t, cmd), wt, "{cmd:?}");
    }
    assert_eq!(run(&mut t, &["exists", "d"]), int(0));
}

#[test]
fn intset_encoding_and_conversions() {
    let mut t = new();
    run(&mut t, &["sadd", "s", "17"]);
    assert_eq!(enc(&mut t, "s"), "$6\r\nintset\r\n");
    run(&mut t, &["sadd", "s", "16", "-5", "70000", "9223372036854775807"]);
    assert_eq!(enc(&mut t, "s"), "$6\r\nintset\r\n");
    // Intsets list their members in ascending order.
    assert_eq!(run(&mut t, &["smembers", "s"]), bulks(&["-5", "16", "17", "70000", "9223372036854775807"]));
    assert_eq!(run(&mut t, &["sismember", "s", "017"]), int(0));
    run(&mut t, &["sadd", "s", "a"]);
    assert_eq!(enc(&mut t, "s"), "$9\r\nhashtable\r\n");
    run(&mut t, &["srem", "s", "a"]);
    assert_eq!(enc(&mut t, "s"), "$9\r\nhashtable\r\n");
    // Too big for an i64: a string.
    run(&mut t, &["sadd", "big", "213244124402402314402033402"]);
    assert_eq!(enc(&mut t, "big"), "$9\r\nhashtable\r\n");
    assert_eq!(run(&mut t, &["sismember", "big", "213244124402402314402033402"]), int(1));
    // set-max-intset-entries.
    run(&mut t, &["config", "set", "set-max-intset-entries", "4"]);
    run(&mut t, &["sadd", "n", "1", "2", "3", "4"]);
    assert_eq!(enc(&mut t, "n"), "$6\r\nintset\r\n");
    run(&mut t, &["sadd", "n", "5"]);
    assert_eq!(enc(&mut t, "n"), "$9\r\nhashtable\r\n");
}

#[test]
fn srem_deletes_emptied_key() {
    let mut t = new();
    run(&mut t, &["sadd", "s", "1", "2", "3"]);
    assert_eq!(run(&mut t, &["srem", "s", "4", "5"]), int(0));
    assert_eq!(run(&mut t, &["srem", "s", "1", "2", "3", "4", "5"]), int(3));
    assert_eq!(run(&mut t, &["exists", "s"]), int(0));
    assert_eq!(run(&mut t, &["srem", "s", "1"]), int(0));
    run(&mut t, &["sadd", "h", "a", "b", "c", "d"]);
    assert_eq!(run(&mut t, &["srem", "h", "k", "k"]), int(0));
    assert_eq!(run(&mut t, &["srem", "h", "b", "d", "x"]), int(2));
    assert_eq!(sorted(&mut t, &["smembers", "h"]), svec(&["a", "c"]));
}

#[test]
fn srandmember_cases() {
    let mut t = new();
    assert_eq!(run_raw(&mut t, &["srandmember", "nope"]), "$-1\r\n");
    assert_eq!(run(&mut t, &["srandmember", "nope", "5"]), arr(vec![]));
    assert_eq!(run(&mut t, &["srandmember", "nope", "-5"]), arr(vec![]));
    run(&mut t, &["sadd", "s", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]);
    assert_eq!(run(&mut t, &["srandmember", "s", "0"]), arr(vec![]));
    assert_eq!(
        run(&mut t, &["srandmember", "s", "-9223372036854775808"]),
        err("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
    );
    assert_eq!(run(&mut t, &["srandmember", "s", "x"]), err("ERR value is not an integer or out of range"));
    assert_eq!(run(&mut t, &["srandmember", "s", "1", "2"]), err("ERR syntax error"));
    let r = run_raw(&mut t, &["srandmember", "s", "-100"]);
    assert!(r.starts_with("*100\r\n"));
    let all = svec(&["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]);
    for n in ["10", "50", "9", "3", "1"] {
        let got = sorted(&mut t, &["srandmember", "s", n]);
        let want = n.parse::<usize>().unwrap().min(10);
        assert_eq!(got.len(), want, "count {n}");
        let mut d = got.clone();
        d.dedup();
        assert_eq!(d.len(), want, "distinct for {n}");
        assert!(got.iter().all(|m| all.contains(m)));
    }
    assert_eq!(sorted(&mut t, &["srandmember", "s", "10"]), all);
    // RESP3: SRANDMEMBER with a count stays an array.
    run(&mut t, &["hello", "3"]);
    assert!(run_raw(&mut t, &["srandmember", "s", "2"]).starts_with("*2\r\n"));
    assert_eq!(run(&mut t, &["srandmember", "nope", "2"]), arr(vec![]));
    assert_eq!(run_raw(&mut t, &["srandmember", "nope"]), "_\r\n");
}

#[test]
fn srandmember_intset_distribution() {
    let mut t = new();
    run(&mut t, &["sadd", "s", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
    let r = run_raw(&mut t, &["srandmember", "s", "-10000"]);
    let mut hist = [0usize; 10];
    for l in r.split("\r\n").skip(1).filter(|l| !l.starts_with('$') && !l.is_empty()) {
        hist[l.parse::<usize>().unwrap()] += 1;
    }
    assert!(hist.iter().all(|&c| c > 850 && c < 1150), "{hist:?}");
}

#[test]
fn spop_single_and_count() {
    let mut t = new();
    assert_eq!(run_raw(&mut t, &["spop", "nope"]), "$-1\r\n");
    assert_eq!(run(&mut t, &["spop", "nope", "3"]), arr(vec![]));
    run(&mut t, &["sadd", "s", "a", "b", "c"]);
    assert_eq!(run(&mut t, &["spop", "s", "-1"]), err("ERR value is out of range, must be positive"));
    assert_eq!(run(&mut t, &["spop", "s", "x"]), err("ERR value is not an integer or out of range"));
    assert_eq!(run(&mut t, &["spop", "s", "1", "2"]), err("ERR syntax error"));
    assert_eq!(run(&mut t, &["spop", "s", "0"]), arr(vec![]));
    let mut got = Vec::new();
    for _ in 0..3 {
        got.extend(members(&format!("*1\r\n{}", run_raw(&mut t, &["spop", "s"]))));
    }
    got.sort();
    assert_eq!(got, svec(&["a", "b", "c"]));
    assert_eq!(run(&mut t, &["exists", "s"]), int(0));
    // All three count cases, on both encodings.
    for (content, enc_name) in [
        (
            vec![
                "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16", "17", "18",
                "19", "20",
            ],
            "intset",
        ),
        (
            vec!["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q", "r", "s", "t"],
            "hashtable",
        ),
    ] {
        for count in [30usize, 2, 18, 20] {
            run(&mut t, &["del", "s"]);
            let mut args = vec!["sadd", "s"];
            args.extend(content.iter().copied());
            run(&mut t, &args);
            assert_eq!(enc(&mut t, "s"), format!("${}\r\n{enc_name}\r\n", enc_name.len()));
            let c = count.to_string();
            let popped = sorted(&mut t, &["spop", "s", &c]);
            assert_eq!(popped.len(), count.min(20));
            let mut rest = sorted(&mut t, &["smembers", "s"]);
            assert_eq!(rest.len(), 20 - count.min(20));
            rest.extend(popped);
            rest.sort();
            assert_eq!(rest, svec(&content));
        }
    }
    // RESP3: a set.
    run(&mut t, &["sadd", "s", "a", "b", "c"]);
    run(&mut t, &["hello", "3"]);
    assert!(run_raw(&mut t, &["spop", "s", "2"]).starts_with("~2\r\n"));
    assert_eq!(run(&mut t, &["spop", "s", "0"]), Frame::Set(vec![]));
    assert_eq!(run(&mut t, &["spop", "nope", "2"]), Frame::Set(vec![]));
}

#[test]
fn spop_case3_rebuilds_encoding_and_keeps_ttl() {
    let mut t = new();
    // A table holding only integers: the rebuilt set is an intset, as in Redis.
    run(&mut t, &["sadd", "s", "x"]);
    for i in 0..20 {
        run(&mut t, &["sadd", "s", &i.to_string()]);
    }
    run(&mut t, &["srem", "s", "x"]);
    run(&mut t, &["expire", "s", "100"]);
    assert_eq!(enc(&mut t, "s"), "$9\r\nhashtable\r\n");
    let r = run_raw(&mut t, &["spop", "s", "18"]);
    assert!(r.starts_with("*18\r\n"));
    assert_eq!(run(&mut t, &["scard", "s"]), int(2));
    assert_eq!(enc(&mut t, "s"), "$6\r\nintset\r\n");
    assert_eq!(run(&mut t, &["ttl", "s"]), int(100));
}

#[test]
fn smove_cases() {
    let mut t = new();
    let setup = |t: &mut T| {
        run(t, &["del", "s1", "s2", "s3"]);
        run(t, &["sadd", "s1", "1", "a", "b"]);
        run(t, &["sadd", "s2", "2", "3", "4"]);
    };
    setup(&mut t);
    assert_eq!(run(&mut t, &["smove", "s1", "s2", "a"]), int(1));
    assert_eq!(sorted(&mut t, &["smembers", "s1"]), svec(&["1", "b"]));
    assert_eq!(sorted(&mut t, &["smembers", "s2"]), svec(&["2", "3", "4", "a"]));
    assert_eq!(enc(&mut t, "s2"), "$9\r\nhashtable\r\n");
    setup(&mut t);
    assert_eq!(run(&mut t, &["smove", "s1", "s2", "1"]), int(1));
    assert_eq!(enc(&mut t, "s2"), "$6\r\nintset\r\n");
    setup(&mut t);
    assert_eq!(run(&mut t, &["smove", "s1", "s2", "foo"]), int(0));
    assert_eq!(run(&mut t, &["smove", "s1", "s1", "foo"]), int(0));
    assert_eq!(run(&mut t, &["smove", "s1", "s1", "a"]), int(1));
    assert_eq!(run(&mut t, &["smove", "nope", "s2", "foo"]), int(0));
    assert_eq!(run(&mut t, &["smove", "s2", "s3", "2"]), int(1));
    assert_eq!(enc(&mut t, "s3"), "$6\r\nintset\r\n");
    assert_eq!(run(&mut t, &["smove", "s1", "s4", "a"]), int(1));
    assert_eq!(enc(&mut t, "s4"), "$9\r\nhashtable\r\n");
    run(&mut t, &["set", "x", "10"]);
    assert!(run_raw(&mut t, &["smove", "x", "s2", "foo"]).starts_with("-WRONGTYPE"));
    assert!(run_raw(&mut t, &["smove", "s2", "x", "foo"]).starts_with("-WRONGTYPE"));
    assert_eq!(run(&mut t, &["smove", "nope", "x", "foo"]), int(0));
    // The source goes when emptied.
    run(&mut t, &["sadd", "one", "z"]);
    assert_eq!(run(&mut t, &["smove", "one", "s1", "z"]), int(1));
    assert_eq!(run(&mut t, &["exists", "one"]), int(0));
}

#[test]
fn smove_touches_destination_only_when_added() {
    let mut t = new();
    run(&mut t, &["sadd", "src", "a", "b"]);
    run(&mut t, &["sadd", "dst", "a"]);
    let before = t.s.persist.dirty;
    run(&mut t, &["smove", "src", "dst", "a"]);
    assert_eq!(t.s.persist.dirty, before + 1);
    run(&mut t, &["smove", "src", "dst", "b"]);
    assert_eq!(t.s.persist.dirty, before + 3);
}

fn fill(t: &mut T, large: &str) {
    run(t, &["del", "set1", "set2", "set3", "set4", "set5"]);
    for i in 0..200 {
        run(t, &["sadd", "set1", &i.to_string()]);
        run(t, &["sadd", "set2", &(i + 195).to_string()]);
    }
    run(t, &["sadd", "set3", "199", "195", "1000", "2000"]);
    for i in 5..200 {
        run(t, &["sadd", "set4", &i.to_string()]);
    }
    run(t, &["sadd", "set5", "0"]);
    for k in ["set1", "set2", "set3", "set4", "set5"] {
        run(t, &["sadd", k, large]);
    }
}

#[test]
fn inter_union_diff_both_encodings() {
    let mut t = new();
    for (kind, large) in [("hashtable", "foo"), ("intset", "200")] {
        fill(&mut t, large);
        for k in ["set1", "set2", "set3", "set4", "set5"] {
            assert_eq!(enc(&mut t, k), format!("${}\r\n{kind}\r\n", kind.len()));
        }
        let want = svec(&["195", "196", "197", "198", "199", large]);
        assert_eq!(sorted(&mut t, &["sinter", "set1", "set2"]), want);
        assert_eq!(run(&mut t, &["sintercard", "2", "set1", "set2"]), int(6));
        assert_eq!(run(&mut t, &["sintercard", "2", "set1", "set2", "limit", "0"]), int(6));
        assert_eq!(run(&mut t, &["sintercard", "2", "set1", "set2", "LIMIT", "3"]), int(3));
        assert_eq!(run(&mut t, &["sinterstore", "res", "set1", "set2"]), int(6));
        assert_eq!(enc(&mut t, "res"), format!("${}\r\n{kind}\r\n", kind.len()));
        assert_eq!(sorted(&mut t, &["smembers", "res"]), want);
        assert_eq!(sorted(&mut t, &["sinter", "set1", "set2", "set3"]), svec(&["195", "199", large]));
        assert_eq!(run(&mut t, &["sintercard", "3", "set1", "set2", "set3", "limit", "2"]), int(2));
        let mut u = sorted(&mut t, &["smembers", "set1"]);
        u.extend(sorted(&mut t, &["smembers", "set2"]));
        u.sort();
        u.dedup();
        assert_eq!(sorted(&mut t, &["sunion", "nokey1", "set1", "set2", "nokey2"]), u);
        assert_eq!(run_raw(&mut t, &["sunionstore", "res", "set1", "set2"]), format!(":{}\r\n", u.len()));
        assert_eq!(enc(&mut t, "res"), format!("${}\r\n{kind}\r\n", kind.len()));
        assert_eq!(sorted(&mut t, &["sdiff", "set1", "set4"]), svec(&["0", "1", "2", "3", "4"]));
        assert_eq!(sorted(&mut t, &["sdiff", "set1", "set4", "set5"]), svec(&["1", "2", "3", "4"]));
        assert_eq!(run(&mut t, &["sdiffstore", "res", "set1", "set4", "set5"]), int(4));
        if kind == "intset" {
            assert_eq!(enc(&mut t, "res"), "$6\r\nintset\r\n");
        }
        let s1 = sorted(&mut t, &["smembers", "set1"]);
        assert_eq!(sorted(&mut t, &["sinter", "set1", "set1", "set1"]), s1);
        assert_eq!(sorted(&mut t, &["sunion", "set1", "set1", "set1"]), s1);
        assert_eq!(run(&mut t, &["sdiff", "set1", "set1", "set1"]), arr(vec![]));
    }
}

#[test]
fn store_commands_overwrite_or_delete_destination() {
    let mut t = new();
    run(&mut t, &["set", "res", "xxx"]);
    assert_eq!(run(&mut t, &["sinterstore", "res", "foo", "bar"]), int(0));
    assert_eq!(run(&mut t, &["exists", "res"]), int(0));
    run(&mut t, &["set", "res", "xxx"]);
    assert_eq!(run(&mut t, &["sunionstore", "res", "foo", "bar"]), int(0));
    assert_eq!(run(&mut t, &["exists", "res"]), int(0));
    run(&mut t, &["set", "res", "xxx"]);
    assert_eq!(run(&mut t, &["sdiffstore", "res", "foo", "bar"]), int(0));
    assert_eq!(run(&mut t, &["exists", "res"]), int(0));
    run(&mut t, &["sadd", "a", "x", "y"]);
    run(&mut t, &["set", "res", "xxx", "ex", "100"]);
    assert_eq!(run(&mut t, &["sunionstore", "res", "a"]), int(2));
    assert_eq!(run(&mut t, &["ttl", "res"]), int(-1));
    // The destination may be a source.
    run(&mut t, &["sadd", "b", "y", "z"]);
    assert_eq!(run(&mut t, &["sinterstore", "a", "a", "b"]), int(1));
    assert_eq!(sorted(&mut t, &["smembers", "a"]), svec(&["y"]));
    // Type errors leave the destination alone.
    run(&mut t, &["set", "str", "x"]);
    assert!(run_raw(&mut t, &["sunionstore", "a", "b", "str"]).starts_with("-WRONGTYPE"));
    assert_eq!(sorted(&mut t, &["smembers", "a"]), svec(&["y"]));
    assert_eq!(sorted(&mut t, &["smembers", "b"]), svec(&["y", "z"]));
    // SINTERSTORE results choose their encoding afresh.
    run(&mut t, &["sadd", "h1", "1", "2", "3", "a"]);
    run(&mut t, &["sadd", "h2", "1", "2", "3", "b"]);
    assert_eq!(run(&mut t, &["sinterstore", "r", "h1", "h2"]), int(3));
    assert_eq!(enc(&mut t, "r"), "$6\r\nintset\r\n");
    assert_eq!(run(&mut t, &["smembers", "r"]), bulks(&["1", "2", "3"]));
}

#[test]
fn sdiff_edge_cases() {
    let mut t = new();
    run(&mut t, &["sadd", "set2", "1", "2", "3", "4"]);
    run(&mut t, &["sadd", "set3", "a", "b", "c", "d"]);
    assert_eq!(run(&mut t, &["sdiff", "set1", "set2", "set3"]), arr(vec![]));
    run(&mut t, &["sadd", "x", "a", "b", "c"]);
    run(&mut t, &["sadd", "y", "b", "c", "d"]);
    assert_eq!(sorted(&mut t, &["sdiff", "x", "y", "nokey"]), svec(&["a"]));
    assert_eq!(run(&mut t, &["sdiff", "nokey", "y", "x"]), arr(vec![]));
    // Algorithm 2 (a big first set against small others).
    for i in 0..100 {
        run(&mut t, &["sadd", "big", &format!("m{i}")]);
    }
    run(&mut t, &["sadd", "small", "m1", "m2"]);
    assert_eq!(run_raw(&mut t, &["sdiff", "big", "small"]).lines().next(), Some("*98"));
    assert_eq!(run(&mut t, &["sdiffstore", "d", "big", "small"]), int(98));
}

#[test]
fn sinter_mixed_encodings() {
    let mut t = new();
    run(&mut t, &["sadd", "a", "1", "2", "3"]);
    run(&mut t, &["sadd", "b", "1", "2", "3", "x"]);
    run(&mut t, &["srem", "b", "x"]);
    assert_eq!(sorted(&mut t, &["sinter", "a", "b"]), svec(&["1", "2", "3"]));
    assert_eq!(sorted(&mut t, &["sinter", "b", "a"]), svec(&["1", "2", "3"]));
    assert_eq!(run(&mut t, &["sinter", "a", "nokey"]), arr(vec![]));
    run(&mut t, &["hello", "3"]);
    assert_eq!(run(&mut t, &["sinter", "a", "nokey"]), Frame::Set(vec![]));
    assert!(run_raw(&mut t, &["sinter", "a", "b"]).starts_with("~3\r\n"));
    assert!(run_raw(&mut t, &["smembers", "a"]).starts_with("~3\r\n"));
    assert!(run_raw(&mut t, &["sunion", "a", "b"]).starts_with("~3\r\n"));
    assert_eq!(run(&mut t, &["sdiff", "a", "b"]), Frame::Set(vec![]));
}

#[test]
fn sintercard_arguments() {
    let mut t = new();
    let arity = err("ERR wrong number of arguments for 'sintercard' command");
    assert_eq!(run(&mut t, &["sintercard"]), arity);
    assert_eq!(run(&mut t, &["sintercard", "1"]), arity);
    let numkeys = err("ERR numkeys should be greater than 0");
    assert_eq!(run(&mut t, &["sintercard", "0", "s"]), numkeys);
    assert_eq!(run(&mut t, &["sintercard", "a", "s"]), numkeys);
    assert_eq!(run(&mut t, &["sintercard", "-1", "s"]), numkeys);
    let too_many = err("ERR Number of keys can't be greater than number of args");
    assert_eq!(run(&mut t, &["sintercard", "2", "s"]), too_many);
    assert_eq!(run(&mut t, &["sintercard", "3", "s", "t"]), too_many);
    let syntax = err("ERR syntax error");
    assert_eq!(run(&mut t, &["sintercard", "1", "s", "t"]), syntax);
    assert_eq!(run(&mut t, &["sintercard", "1", "s", "bar"]), syntax);
    assert_eq!(run(&mut t, &["sintercard", "1", "s", "LIMIT"]), syntax);
    let limit = err("ERR LIMIT can't be negative");
    assert_eq!(run(&mut t, &["sintercard", "1", "s", "LIMIT", "-1"]), limit);
    assert_eq!(run(&mut t, &["sintercard", "1", "s", "LIMIT", "a"]), limit);
    assert_eq!(run(&mut t, &["sintercard", "1", "nokey"]), int(0));
    assert_eq!(run(&mut t, &["sintercard", "1", "nokey", "limit", "10"]), int(0));
    run(&mut t, &["sadd", "s", "a", "b", "c"]);
    assert_eq!(run(&mut t, &["sintercard", "1", "s", "limit", "2", "limit", "0"]), int(3));
    assert_eq!(run(&mut t, &["command", "getkeys", "sintercard", "2", "a", "b", "limit", "1"]), bulks(&["a", "b"]));
    assert_eq!(super::sintercard_keys(&[b"sintercard", b"5", b"a"]), Vec::<usize>::new());
}

#[test]
fn sscan_both_encodings() {
    let mut t = new();
    assert_eq!(run(&mut t, &["sscan", "nope", "0"]), arr(vec![bulk("0"), arr(vec![])]));
    assert_eq!(run(&mut t, &["sscan", "nope", "0", "bogus"]), arr(vec![bulk("0"), arr(vec![])]));
    assert_eq!(run(&mut t, &["sscan", "nope", "x"]), err("ERR invalid cursor"));
    run(&mut t, &["sadd", "ints", "1", "2", "3", "12"]);
    assert_eq!(run(&mut t, &["sscan", "ints", "0", "match", "*1*"]), arr(vec![bulk("0"), bulks(&["1", "12"])]));
    assert_eq!(run(&mut t, &["sscan", "ints", "0", "count", "0"]), err("ERR syntax error"));
    assert_eq!(run(&mut t, &["sscan", "ints", "0", "count", "x"]), err("ERR value is not an integer or out of range"));
    assert_eq!(run(&mut t, &["sscan", "ints", "0", "type", "set"]), err("ERR syntax error"));
    for i in 0..500 {
        run(&mut t, &["sadd", "h", &format!("ele:{i}")]);
    }
    let mut seen = std::collections::HashSet::new();
    let mut cursor = "0".to_string();
    let mut calls = 0;
    loop {
        let r = run_raw(&mut t, &["sscan", "h", &cursor, "count", "20"]);
        let lines: Vec<&str> = r.split("\r\n").collect();
        cursor = lines[2].to_string();
        for l in &lines[4..] {
            if l.starts_with("ele:") {
                seen.insert(l.to_string());
            }
        }
        calls += 1;
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(seen.len(), 500);
    assert!(calls > 5);
    let r = run_raw(&mut t, &["sscan", "h", "0", "match", "ele:1?", "count", "10000"]);
    assert_eq!(members(&r).iter().filter(|m| m.starts_with("ele:")).count(), 10);
}

fn feed_text(t: &mut T) -> String {
    let text = String::from_utf8_lossy(&t.s.prop.feed.buf).split("\r\n").collect::<Vec<_>>().join(" ");
    t.s.prop.feed.buf.clear();
    text
}

#[test]
fn spop_propagates_as_srem_or_del() {
    let mut t = new();
    crate::commands::set_feed_enabled(&mut t.s, true);
    run(&mut t, &["sadd", "s", "7"]);
    feed_text(&mut t);
    run(&mut t, &["spop", "s"]);
    assert_eq!(feed_text(&mut t), "*3 $4 SREM $1 s $1 7 ");
    run(&mut t, &["sadd", "s", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]);
    feed_text(&mut t);
    // Case 2 and case 3: one SREM per member popped.
    run(&mut t, &["spop", "s", "2"]);
    assert_eq!(feed_text(&mut t).matches("SREM").count(), 2);
    run(&mut t, &["spop", "s", "7"]);
    assert_eq!(feed_text(&mut t).matches("SREM").count(), 7);
    run(&mut t, &["spop", "s", "0"]);
    assert_eq!(feed_text(&mut t), "");
    // Case 1: the whole set, as DEL.
    run(&mut t, &["spop", "s", "5"]);
    assert_eq!(feed_text(&mut t), "*2 $3 DEL $1 s ");
    run(&mut t, &["spop", "s", "5"]);
    run(&mut t, &["srandmember", "s", "5"]);
    assert_eq!(feed_text(&mut t), "");
}

#[test]
fn dirty_and_expiry() {
    let mut t = new();
    let d0 = t.s.persist.dirty;
    run(&mut t, &["sadd", "s", "a"]);
    run(&mut t, &["sadd", "s", "a"]);
    run(&mut t, &["srem", "s", "zz"]);
    run(&mut t, &["smembers", "s"]);
    assert_eq!(t.s.persist.dirty, d0 + 1);
    run(&mut t, &["pexpire", "s", "1"]);
    std::thread::sleep(std::time::Duration::from_millis(5));
    assert_eq!(run(&mut t, &["scard", "s"]), int(0));
    assert_eq!(run(&mut t, &["sunion", "s"]), arr(vec![]));
}
