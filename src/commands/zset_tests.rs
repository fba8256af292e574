use crate::commands::testutil::{arr, bulk, bulks, err, int, new, ok, run, run_raw, Frame, T};

fn r(t: &mut T, args: &[&str]) -> Frame {
    run(t, args)
}

/// The exact reply bytes (doubles, nulls, and replies parsed by `members`).
fn rr(t: &mut T, args: &[&str]) -> String {
    run_raw(t, args)
}

fn enc(t: &mut T) -> Frame {
    r(t, &["object", "encoding", "z"])
}

fn set_max(t: &mut T, entries: &str, value: &str) {
    assert_eq!(r(t, &["config", "set", "zset-max-listpack-entries", entries]), ok());
    assert_eq!(r(t, &["config", "set", "zset-max-listpack-value", value]), ok());
}

fn both(f: impl Fn(&mut T)) {
    let mut t = new();
    f(&mut t);
    let mut t = new();
    set_max(&mut t, "0", "0");
    f(&mut t);
}

#[test]
fn zadd_basics_and_options() {
    both(|t| {
        assert_eq!(r(t, &["zadd", "z", "10", "x", "20", "y", "30", "z"]), int(3));
        assert_eq!(r(t, &["zadd", "z", "1", "y"]), int(0));
        assert_eq!(r(t, &["zrange", "z", "0", "-1"]), bulks(&["y", "x", "z"]));
        assert_eq!(r(t, &["zadd", "z", "xx", "5", "foo", "11", "x"]), int(0));
        assert_eq!(r(t, &["zscore", "z", "x"]), bulk("11"));
        assert_eq!(r(t, &["zadd", "z", "nx", "100", "x", "5", "a"]), int(1));
        assert_eq!(r(t, &["zscore", "z", "x"]), bulk("11"));
        assert_eq!(r(t, &["zadd", "z", "gt", "ch", "5", "x", "12", "x"]), int(1));
        assert_eq!(r(t, &["zadd", "z", "lt", "ch", "50", "x", "2", "a"]), int(1));
        assert_eq!(r(t, &["zadd", "z", "ch", "2", "a", "3", "y", "7", "q"]), int(2));
        assert_eq!(r(t, &["zadd", "nokey", "xx", "1", "a"]), int(0));
        assert_eq!(r(t, &["exists", "nokey"]), int(0));
    });
}

#[test]
fn zadd_errors() {
    let mut t = new();
    let t = &mut t;
    assert_eq!(
        r(t, &["zadd", "z", "xx", "nx", "1", "a"]),
        err("ERR XX and NX options at the same time are not compatible")
    );
    for o in [["gt", "nx"], ["lt", "nx"], ["lt", "gt"]] {
        assert_eq!(
            r(t, &["zadd", "z", o[0], o[1], "1", "a"]),
            err("ERR GT, LT, and/or NX options at the same time are not compatible")
        );
    }
    assert_eq!(
        r(t, &["zadd", "z", "incr", "1", "a", "2", "b"]),
        err("ERR INCR option supports a single increment-element pair")
    );
    assert_eq!(r(t, &["zadd", "z", "xx", "10", "x", "20"]), err("ERR syntax error"));
    assert_eq!(r(t, &["zadd", "z", "1", "a", "nan", "b"]), err("ERR value is not a valid float"));
    assert_eq!(r(t, &["zadd", "z", "", "a"]), err("ERR value is not a valid float"));
    assert_eq!(r(t, &["zadd", "z", " 1", "a"]), err("ERR value is not a valid float"));
    assert_eq!(r(t, &["zadd", "z", "1e400", "a"]), err("ERR value is not a valid float"));
    assert_eq!(r(t, &["zadd", "z", "30.badscore", "a"]), err("ERR value is not a valid float"));
    assert_eq!(r(t, &["exists", "z"]), int(0));
    assert_eq!(r(t, &["zincrby", "z", "1", "a", "b"]), err("ERR wrong number of arguments for 'zincrby' command"));
    r(t, &["set", "s", "x"]);
    assert_eq!(
        r(t, &["zadd", "s", "1", "a"]),
        err("WRONGTYPE Operation against a key holding the wrong kind of value")
    );
    assert_eq!(r(t, &["zadd", "z", "0x10", "hex"]), int(1));
    assert_eq!(r(t, &["zscore", "z", "hex"]), bulk("16"));
}

#[test]
fn zadd_incr_and_zincrby() {
    both(|t| {
        assert_eq!(r(t, &["zincrby", "z", "1", "foo"]), bulk("1"));
        assert_eq!(r(t, &["zadd", "z", "incr", "2.5", "foo"]), bulk("3.5"));
        assert_eq!(rr(t, &["zadd", "z", "lt", "incr", "1", "foo"]), "$-1\r\n");
        assert_eq!(rr(t, &["zadd", "z", "nx", "incr", "1", "foo"]), "$-1\r\n");
        assert_eq!(rr(t, &["zadd", "z", "xx", "incr", "1", "bar"]), "$-1\r\n");
        assert_eq!(r(t, &["zincrby", "z", "+inf", "foo"]), bulk("inf"));
        assert_eq!(r(t, &["zincrby", "z", "-inf", "foo"]), err("ERR resulting score is not a number (NaN)"));
        assert_eq!(r(t, &["zscore", "z", "foo"]), bulk("inf"));
        assert_eq!(rr(t, &["zadd", "z", "gt", "incr", "1", "foo"]), "$-1\r\n");
        assert_eq!(r(t, &["zincrby", "z", "1.1", "n"]), bulk("1.1000000000000001"));
        r(t, &["hello", "3"]);
        assert_eq!(rr(t, &["zincrby", "z", "1", "n"]), ",2.1000000000000001\r\n");
        assert_eq!(rr(t, &["zadd", "z", "xx", "incr", "1", "nobody"]), "_\r\n");
    });
}

#[test]
fn encoding_switches() {
    let mut t = new();
    let t = &mut t;
    set_max(t, "3", "5");
    r(t, &["zadd", "z", "1", "a", "2", "b", "3", "c"]);
    assert_eq!(enc(t), bulk("listpack"));
    r(t, &["zadd", "z", "4", "d"]);
    assert_eq!(enc(t), bulk("skiplist"));
    r(t, &["zrem", "z", "d", "c"]);
    assert_eq!(enc(t), bulk("skiplist"));
    r(t, &["del", "z"]);
    r(t, &["zadd", "z", "1", "abcdef"]);
    assert_eq!(enc(t), bulk("skiplist"));
    r(t, &["del", "z"]);
    r(t, &["zadd", "z", "1", "a", "1", "abcdef"]);
    assert_eq!(enc(t), bulk("skiplist"));
    // STORE results pick the encoding by their size.
    r(t, &["zadd", "src", "1", "a", "2", "b", "3", "c", "4", "d"]);
    assert_eq!(r(t, &["zrangestore", "z", "src", "0", "1"]), int(2));
    assert_eq!(enc(t), bulk("listpack"));
    assert_eq!(r(t, &["zunionstore", "z", "1", "src"]), int(4));
    assert_eq!(enc(t), bulk("skiplist"));
    assert_eq!(r(t, &["zinterstore", "z", "1", "src", "weights", "2"]), int(4));
    set_max(t, "0", "64");
    assert_eq!(r(t, &["zrangestore", "z", "src", "0", "0"]), int(1));
    assert_eq!(enc(t), bulk("skiplist"));
}

fn default_zset(t: &mut T) {
    r(t, &["del", "zset"]);
    r(t, &["zadd", "zset", "-inf", "a", "1", "b", "2", "c", "3", "d", "4", "e", "5", "f", "+inf", "g"]);
}

fn members(reply: &str) -> Vec<String> {
    reply
        .split("\r\n")
        .filter(|l| !l.is_empty() && !l.starts_with('*') && !l.starts_with('$'))
        .map(String::from)
        .collect()
}

#[test]
fn range_by_score() {
    both(|t| {
        default_zset(t);
        let m = |t: &mut T, a: &[&str]| members(&rr(t, a)).join(" ");
        assert_eq!(m(t, &["zrangebyscore", "zset", "-inf", "2"]), "a b c");
        assert_eq!(m(t, &["zrangebyscore", "zset", "0", "3"]), "b c d");
        assert_eq!(m(t, &["zrevrangebyscore", "zset", "6", "3"]), "f e d");
        assert_eq!(m(t, &["zrangebyscore", "zset", "(-inf", "(2"]), "b");
        assert_eq!(m(t, &["zrevrangebyscore", "zset", "(+inf", "(4"]), "f");
        assert_eq!(r(t, &["zcount", "zset", "(0", "(3"]), int(2));
        assert_eq!(r(t, &["zcount", "zset", "2", "(2"]), int(0));
        assert_eq!(m(t, &["zrangebyscore", "zset", "0", "10", "limit", "2", "3"]), "d e f");
        assert_eq!(m(t, &["zrevrangebyscore", "zset", "10", "0", "limit", "2", "10"]), "d c b");
        assert_eq!(m(t, &["zrangebyscore", "zset", "0", "10", "limit", "20", "10"]), "");
        assert_eq!(m(t, &["zrangebyscore", "zset", "0", "10", "limit", "-1", "10"]), "");
        assert_eq!(m(t, &["zrangebyscore", "zset", "0", "10", "limit", "1", "-1"]), "c d e f");
        assert_eq!(m(t, &["zrangebyscore", "zset", "2", "5", "limit", "2", "3", "withscores"]), "e 4 f 5");
        assert_eq!(m(t, &["zrevrangebyscore", "zset", "5", "2", "limit", "2", "3", "withscores"]), "d 3 c 2");
        assert_eq!(m(t, &["zrangebyscore", "zset", "(", "1"]), "b");
        assert_eq!(r(t, &["zrangebyscore", "zset", "str", "1"]), err("ERR min or max is not a float"));
        assert_eq!(r(t, &["zrangebyscore", "zset", "1", "NaN"]), err("ERR min or max is not a float"));
        assert_eq!(r(t, &["zrangebyscore", "zset", "0", "1", "rev"]), err("ERR syntax error"));
    });
}

fn lex_zset(t: &mut T) {
    r(t, &["del", "zset"]);
    let mut a = vec!["zadd", "zset"];
    for m in ["alpha", "bar", "cool", "down", "elephant", "foo", "great", "hill", "omega"] {
        a.push("0");
        a.push(m);
    }
    r(t, &a);
}

#[test]
fn range_by_lex() {
    both(|t| {
        lex_zset(t);
        let m = |t: &mut T, a: &[&str]| members(&rr(t, a)).join(" ");
        assert_eq!(m(t, &["zrangebylex", "zset", "-", "[cool"]), "alpha bar cool");
        assert_eq!(m(t, &["zrevrangebylex", "zset", "+", "[d"]), "omega hill great foo elephant down");
        assert_eq!(m(t, &["zrangebylex", "zset", "(bar", "(down"]), "cool");
        assert_eq!(r(t, &["zlexcount", "zset", "[ele", "[h"]), int(3));
        assert_eq!(r(t, &["zlexcount", "zset", "-", "+"]), int(9));
        assert_eq!(r(t, &["zlexcount", "zset", "+", "-"]), int(0));
        assert_eq!(r(t, &["zlexcount", "zset", "(maxstring", "+"]), int(1));
        assert_eq!(m(t, &["zrevrangebylex", "zset", "+", "[d", "limit", "0", "4"]), "omega hill great foo");
        assert_eq!(m(t, &["zrangebylex", "zset", "[bar", "[down", "limit", "1", "1"]), "cool");
        for bad in [["foo", "bar"], ["[foo", "bar"], ["+x", "[bar"], ["-x", "[bar"], ["", "+"]] {
            assert_eq!(
                r(t, &["zrangebylex", "fooz", bad[0], bad[1]]),
                err("ERR min or max not valid string range item")
            );
        }
        assert_eq!(r(t, &["zremrangebylex", "zset", "[bar", "(elephant"]), int(3));
        assert_eq!(m(t, &["zrange", "zset", "0", "-1"]), "alpha elephant foo great hill omega");
    });
}

#[test]
fn zrange_variants_and_errors() {
    both(|t| {
        r(t, &["zadd", "z", "1", "a", "2", "b", "3", "c", "4", "d"]);
        let m = |t: &mut T, a: &[&str]| members(&rr(t, a)).join(" ");
        assert_eq!(m(t, &["zrange", "z", "-2", "-1"]), "c d");
        assert_eq!(m(t, &["zrange", "z", "-5", "1"]), "a b");
        assert_eq!(m(t, &["zrange", "z", "5", "-1"]), "");
        assert_eq!(m(t, &["zrevrange", "z", "0", "-2", "withscores"]), "d 4 c 3 b 2");
        assert_eq!(m(t, &["zrange", "z", "5", "0", "byscore", "rev", "limit", "0", "2", "withscores"]), "d 4 c 3");
        assert_eq!(m(t, &["zrange", "z", "[b", "[c", "bylex"]), "b c");
        assert_eq!(m(t, &["zrange", "z", "0", "-1", "rev"]), "d c b a");
        assert_eq!(
            r(t, &["zrange", "z", "0", "-1", "limit", "1", "2"]),
            err("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX")
        );
        assert_eq!(
            r(t, &["zrange", "z", "0", "-1", "bylex", "withscores"]),
            err("ERR syntax error, WITHSCORES not supported in combination with BYLEX")
        );
        assert_eq!(r(t, &["zrevrange", "z", "0", "-1", "byscore"]), err("ERR syntax error"));
        assert_eq!(r(t, &["zrange", "z", "a", "1"]), err("ERR value is not an integer or out of range"));
        assert_eq!(r(t, &["zrangestore", "d", "z", "0", "-1", "withscores"]), err("ERR syntax error"));
        assert_eq!(r(t, &["zrange", "nokey", "0", "-1"]), arr(vec![]));
        r(t, &["hello", "3"]);
        assert_eq!(rr(t, &["zrange", "z", "0", "0", "withscores"]), "*1\r\n*2\r\n$1\r\na\r\n,1\r\n");
        r(t, &["hello", "2"]);
        assert_eq!(r(t, &["zrangestore", "d", "z", "1", "2"]), int(2));
        assert_eq!(m(t, &["zrange", "d", "0", "-1", "withscores"]), "b 2 c 3");
        assert_eq!(r(t, &["zrangestore", "d", "z", "5", "0", "byscore", "rev", "limit", "0", "2"]), int(2));
        assert_eq!(m(t, &["zrange", "d", "0", "-1"]), "c d");
        assert_eq!(r(t, &["zrangestore", "d", "z", "5", "6"]), int(0));
        assert_eq!(r(t, &["exists", "d"]), int(0));
        assert_eq!(r(t, &["zrangestore", "d", "missing", "0", "-1"]), int(0));
    });
}

#[test]
fn rank_score_card_mscore() {
    both(|t| {
        r(t, &["zadd", "z", "10", "x", "20", "y", "30", "z"]);
        assert_eq!(r(t, &["zrank", "z", "y"]), int(1));
        assert_eq!(r(t, &["zrevrank", "z", "x"]), int(2));
        assert_eq!(rr(t, &["zrank", "z", "foo"]), "$-1\r\n");
        assert_eq!(rr(t, &["zrank", "nokey", "foo"]), "$-1\r\n");
        assert_eq!(r(t, &["zcard", "z"]), int(3));
        assert_eq!(r(t, &["zcard", "nokey"]), int(0));
        assert_eq!(rr(t, &["zmscore", "z", "x", "nope", "z"]), "*3\r\n$2\r\n10\r\n$-1\r\n$2\r\n30\r\n");
        assert_eq!(rr(t, &["zmscore", "nokey", "x"]), "*1\r\n$-1\r\n");
        assert_eq!(r(t, &["zmscore", "z"]), err("ERR wrong number of arguments for 'zmscore' command"));
        r(t, &["zadd", "big", "179769313486231570814527423731704356798070567525844996598917476803157260780028538760589558632766878171540458953514382464234321326889464182768467546703537516986049910576551282076245490090389328944075868508455133942304583236903222948165808559332123348274797826204144723168738177180919299881250404026184124858368.00000000000000000", "m"]);
        assert_eq!(r(t, &["zscore", "big", "m"]), bulk("1.7976931348623157e+308"));
    });
}

#[test]
fn zrem_and_remrange() {
    both(|t| {
        r(t, &["zadd", "z", "10", "a", "20", "b", "30", "c"]);
        assert_eq!(r(t, &["zrem", "z", "x", "y", "a", "b", "k"]), int(2));
        assert_eq!(r(t, &["zrem", "z", "c", "d"]), int(1));
        assert_eq!(r(t, &["exists", "z"]), int(0));
        let fill = |t: &mut T| {
            r(t, &["del", "z"]);
            r(t, &["zadd", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"]);
        };
        fill(t);
        assert_eq!(r(t, &["zremrangebyrank", "z", "1", "3"]), int(3));
        assert_eq!(members(&rr(t, &["zrange", "z", "0", "-1"])).join(" "), "a e");
        fill(t);
        assert_eq!(r(t, &["zremrangebyrank", "z", "10", "-1"]), int(0));
        assert_eq!(r(t, &["zremrangebyrank", "z", "0", "-10"]), int(0));
        assert_eq!(r(t, &["zremrangebyrank", "z", "-10", "0"]), int(1));
        fill(t);
        assert_eq!(r(t, &["zremrangebyscore", "z", "(1", "(5"]), int(3));
        assert_eq!(r(t, &["zremrangebyscore", "z", "-inf", "+inf"]), int(2));
        assert_eq!(r(t, &["exists", "z"]), int(0));
        assert_eq!(r(t, &["zremrangebyscore", "z", "str", "1"]), err("ERR min or max is not a float"));
    });
}

#[test]
fn pops() {
    both(|t| {
        r(t, &["zadd", "z", "-1", "a", "1", "b", "2", "c", "3", "d", "4", "e"]);
        assert_eq!(r(t, &["zpopmin", "z"]), bulks(&["a", "-1"]));
        assert_eq!(r(t, &["zpopmax", "z", "2"]), bulks(&["e", "4", "d", "3"]));
        assert_eq!(r(t, &["zpopmin", "z", "0"]), arr(vec![]));
        assert_eq!(r(t, &["zpopmin", "z", "-1"]), err("ERR value is out of range, must be positive"));
        assert_eq!(r(t, &["zpopmin", "z", "1", "2"]), err("ERR syntax error"));
        r(t, &["hello", "3"]);
        assert_eq!(rr(t, &["zpopmin", "z"]), "*2\r\n$1\r\nb\r\n,1\r\n");
        assert_eq!(rr(t, &["zpopmin", "z", "5"]), "*1\r\n*2\r\n$1\r\nc\r\n,2\r\n");
        assert_eq!(r(t, &["exists", "z"]), int(0));
        assert_eq!(r(t, &["zpopmin", "z"]), arr(vec![]));
        r(t, &["set", "s", "x"]);
        assert_eq!(
            r(t, &["zpopmin", "s", "0"]),
            err("WRONGTYPE Operation against a key holding the wrong kind of value")
        );
    });
}

#[test]
fn zmpop_and_errors() {
    let mut t = new();
    let t = &mut t;
    r(t, &["zadd", "z2", "1", "a", "2", "b", "3", "c"]);
    assert_eq!(
        r(t, &["zmpop", "2", "z1", "z2", "min", "count", "2"]),
        arr(vec![bulk("z2"), arr(vec![bulks(&["a", "1"]), bulks(&["b", "2"])])])
    );
    assert_eq!(rr(t, &["zmpop", "1", "z1", "max"]), "*-1\r\n");
    assert_eq!(r(t, &["zmpop", "0", "z", "min"]), err("ERR numkeys should be greater than 0"));
    assert_eq!(r(t, &["zmpop", "a", "z", "min"]), err("ERR numkeys should be greater than 0"));
    assert_eq!(r(t, &["zmpop", "1", "z", "bad"]), err("ERR syntax error"));
    assert_eq!(r(t, &["zmpop", "1", "z", "max", "min"]), err("ERR syntax error"));
    assert_eq!(r(t, &["zmpop", "1", "z", "count"]), err("ERR syntax error"));
    assert_eq!(r(t, &["zmpop", "1", "z", "max", "count", "1", "count", "2"]), err("ERR syntax error"));
    assert_eq!(r(t, &["zmpop", "5", "z", "max"]), err("ERR syntax error"));
    assert_eq!(r(t, &["zmpop", "1", "z", "min", "count", "0"]), err("ERR count should be greater than 0"));
    assert_eq!(r(t, &["zmpop", "1", "z", "min", "count", "a"]), err("ERR count should be greater than 0"));
    assert_eq!(r(t, &["bzmpop", "1", "0", "z", "min"]), err("ERR numkeys should be greater than 0"));
    assert_eq!(r(t, &["bzmpop", "0", "1", "z2", "max"]), arr(vec![bulk("z2"), arr(vec![bulks(&["c", "3"])])]));
    assert_eq!(r(t, &["bzpopmin", "z2", "x"]), err("ERR timeout is not a float or out of range"));
    assert_eq!(r(t, &["command", "getkeys", "zmpop", "2", "a", "b", "min"]), bulks(&["a", "b"]));
    assert_eq!(r(t, &["command", "getkeys", "bzmpop", "0", "1", "a", "min"]), bulks(&["a"]));
    assert_eq!(r(t, &["command", "getkeys", "zunionstore", "d", "2", "a", "b"]), bulks(&["d", "a", "b"]));
}

#[test]
fn blocking_pops_serve_block_and_answer_in_multi() {
    let mut t = new();
    let t = &mut t;
    r(t, &["zadd", "z2", "1", "a", "2", "b"]);
    assert_eq!(r(t, &["bzpopmin", "z1", "z2", "0"]), bulks(&["z2", "a", "1"]));
    assert_eq!(rr(t, &["bzpopmax", "z1", "0"]), "");
    assert!(t.s.clients[t.me].blocked.is_some());
    // Woken while the key holds another type: keep waiting rather than fail.
    t.s.dbs[0].set(b"z1", crate::types::value::Value::string(b"x"), false);
    assert_eq!(rr(t, &["bzpopmax", "z1", "0"]), "");
    assert!(t.s.clients[t.me].blocked.is_some());
    t.s.clients.unblock(t.me);
    r(t, &["del", "z1"]);
    r(t, &["multi"]);
    r(t, &["bzpopmin", "z1", "0"]);
    r(t, &["bzmpop", "0", "1", "z1", "min"]);
    assert_eq!(rr(t, &["exec"]), "*2\r\n*-1\r\n*-1\r\n");
    r(t, &["set", "s", "x"]);
    assert_eq!(r(t, &["bzpopmin", "s", "0"]), err("WRONGTYPE Operation against a key holding the wrong kind of value"));
}

#[test]
fn set_algebra() {
    both(|t| {
        r(t, &["zadd", "za", "1", "a", "2", "b", "3", "c"]);
        r(t, &["zadd", "zb", "1", "b", "2", "c", "3", "d"]);
        let m = |t: &mut T, a: &[&str]| members(&rr(t, a)).join(" ");
        assert_eq!(r(t, &["zunionstore", "zc", "2", "za", "zb"]), int(4));
        assert_eq!(m(t, &["zrange", "zc", "0", "-1", "withscores"]), "a 1 b 3 d 3 c 5");
        assert_eq!(m(t, &["zunion", "2", "za", "zb", "weights", "2", "3", "withscores"]), "a 2 b 7 d 9 c 12");
        assert_eq!(m(t, &["zunion", "2", "za", "zb", "aggregate", "min", "withscores"]), "a 1 b 1 c 2 d 3");
        assert_eq!(m(t, &["zinter", "2", "za", "zb", "aggregate", "max", "withscores"]), "b 2 c 3");
        assert_eq!(m(t, &["zinter", "2", "za", "zb", "withscores"]), "b 3 c 5");
        assert_eq!(r(t, &["zintercard", "2", "za", "zb"]), int(2));
        assert_eq!(r(t, &["zintercard", "2", "za", "zb", "limit", "1"]), int(1));
        assert_eq!(m(t, &["zdiff", "2", "za", "zb", "withscores"]), "a 1");
        assert_eq!(r(t, &["zdiffstore", "zc", "2", "za", "za"]), int(0));
        assert_eq!(r(t, &["exists", "zc"]), int(0));
        // A plain set (built directly: SADD belongs to the sets family).
        let members = ["a", "b", "c"].iter().map(|m| m.as_bytes().to_vec());
        let set = crate::types::set::Set::from_members(members, &t.s.enc);
        t.s.dbs[0].set(b"s", crate::types::value::Value::Set(set), false);
        assert_eq!(r(t, &["zinterstore", "zc", "2", "s", "zb", "weights", "2", "3"]), int(2));
        assert_eq!(m(t, &["zrange", "zc", "0", "-1", "withscores"]), "b 5 c 8");
        r(t, &["zadd", "inf1", "+inf", "k"]);
        r(t, &["zadd", "inf2", "-inf", "k"]);
        r(t, &["zunionstore", "zc", "2", "inf1", "inf2"]);
        assert_eq!(r(t, &["zscore", "zc", "k"]), bulk("0"));
        r(t, &["zunionstore", "zc", "1", "inf2", "weights", "0"]);
        assert_eq!(r(t, &["zscore", "zc", "k"]), bulk("0"));
        assert_eq!(r(t, &["zunion", "2", "za", "zb", "weights", "nan", "nan"]), err("ERR weight value is not a float"));
        assert_eq!(r(t, &["zunion", "0", "za"]), err("ERR at least 1 input key is needed for 'zunion' command"));
        assert_eq!(
            r(t, &["zunionstore", "d", "0", "za"]),
            err("ERR at least 1 input key is needed for 'zunionstore' command")
        );
        assert_eq!(r(t, &["zunionstore", "d", "2", "za", "zb", "withscores"]), err("ERR syntax error"));
        assert_eq!(r(t, &["zintercard", "1", "za", "za"]), err("ERR syntax error"));
        assert_eq!(r(t, &["zintercard", "1", "za", "limit"]), err("ERR syntax error"));
        assert_eq!(r(t, &["zintercard", "1", "za", "limit", "-1"]), err("ERR LIMIT can't be negative"));
        assert_eq!(r(t, &["zdiff", "1", "za", "weights", "1"]), err("ERR syntax error"));
        assert_eq!(r(t, &["zunion", "3", "za", "zb"]), err("ERR syntax error"));
        r(t, &["set", "str", "x"]);
        assert_eq!(
            r(t, &["zunion", "2", "za", "str", "bad"]),
            err("WRONGTYPE Operation against a key holding the wrong kind of value")
        );
        r(t, &["hello", "3"]);
        assert_eq!(
            rr(t, &["zinter", "2", "za", "zb", "withscores"]),
            "*2\r\n*2\r\n$1\r\nb\r\n,3\r\n*2\r\n$1\r\nc\r\n,5\r\n"
        );
    });
}

#[test]
fn zrandmember_shapes() {
    both(|t| {
        r(t, &["zadd", "z", "1", "a", "2", "b", "3", "c"]);
        let one = rr(t, &["zrandmember", "z"]);
        assert!(["$1\r\na\r\n", "$1\r\nb\r\n", "$1\r\nc\r\n"].contains(&one.as_str()));
        assert_eq!(rr(t, &["zrandmember", "nokey"]), "$-1\r\n");
        assert_eq!(r(t, &["zrandmember", "nokey", "5"]), arr(vec![]));
        assert_eq!(r(t, &["zrandmember", "z", "0"]), arr(vec![]));
        assert_eq!(members(&rr(t, &["zrandmember", "z", "-10"])).len(), 10);
        assert_eq!(members(&rr(t, &["zrandmember", "z", "-10", "withscores"])).len(), 20);
        let mut all = members(&rr(t, &["zrandmember", "z", "10"]));
        all.sort();
        assert_eq!(all, vec!["a", "b", "c"]);
        let two = members(&rr(t, &["zrandmember", "z", "2"]));
        assert_eq!(two.len(), 2);
        assert_ne!(two[0], two[1]);
        assert_eq!(r(t, &["zrandmember", "z", "1", "foo"]), err("ERR syntax error"));
        assert_eq!(r(t, &["zrandmember", "z", "-9223372036854770000", "withscores"]), err("ERR value is out of range"));
        assert_eq!(
            r(t, &["zrandmember", "z", "-9223372036854775808"]),
            err("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
        );
        r(t, &["hello", "3"]);
        let res = rr(t, &["zrandmember", "z", "3", "withscores"]);
        assert!(res.starts_with("*3\r\n*2\r\n"), "{res}");
    });
}

#[test]
fn zscan_both_encodings() {
    both(|t| {
        let mut a = vec!["zadd".to_string(), "z".to_string()];
        for i in 0..200 {
            a.push(i.to_string());
            a.push(format!("key:{i}"));
        }
        let a: Vec<&str> = a.iter().map(|s| s.as_str()).collect();
        r(t, &a);
        let mut seen = std::collections::HashSet::new();
        let mut cursor = "0".to_string();
        loop {
            let res = rr(t, &["zscan", "z", &cursor]);
            let lines: Vec<&str> = res.split("\r\n").collect();
            cursor = lines[2].to_string();
            let items = members(&lines[3..].join("\r\n"));
            for pair in items.chunks(2) {
                assert_eq!(pair[0], format!("key:{}", pair[1]));
                seen.insert(pair[0].clone());
            }
            if cursor == "0" {
                break;
            }
        }
        assert_eq!(seen.len(), 200);
        assert_eq!(rr(t, &["zscan", "z", "0", "match", "key:19*", "count", "1000"]).matches("key:19").count(), 11);
        assert_eq!(r(t, &["zscan", "z", "x"]), err("ERR invalid cursor"));
        assert_eq!(r(t, &["zscan", "z", "0", "count", "0"]), err("ERR syntax error"));
        assert_eq!(r(t, &["zscan", "nokey", "0", "count", "0"]), arr(vec![bulk("0"), arr(vec![])]));
    });
}

#[test]
fn strtod_rules() {
    use super::parse_score_bound;
    use crate::types::num::string2d as parse_score;
    assert_eq!(parse_score(b"1.5"), Some(1.5));
    assert_eq!(parse_score(b"-inf"), Some(f64::NEG_INFINITY));
    assert_eq!(parse_score(b"+Infinity"), Some(f64::INFINITY));
    assert_eq!(parse_score(b".5"), Some(0.5));
    assert_eq!(parse_score(b"5."), Some(5.0));
    assert_eq!(parse_score(b"1e-400"), None);
    assert_eq!(parse_score(b"9.8813129168249309e-323"), Some(9.881_312_916_824_93e-323));
    assert_eq!(parse_score(b"1 "), None);
    assert_eq!(parse_score(b"nan"), None);
    assert_eq!(parse_score(b"1e"), None);
    assert_eq!(parse_score_bound(b" 1"), Some((1.0, false)));
    assert_eq!(parse_score_bound(b""), Some((0.0, false)));
    assert_eq!(parse_score_bound(b"(2"), Some((2.0, true)));
    assert_eq!(parse_score_bound(b"1e400"), Some((f64::INFINITY, false)));
    assert_eq!(parse_score_bound(b"(nan"), None);
}
