use super::*;
use crate::commands::bitmap::{BITFIELD_RO_WRITE, BIT_ARG};
use crate::commands::testutil::{arr, bulk, bulks, decode, err, int, ints, new, ok, run, run_raw, Frame};
use crate::types::clock;

use crate::commands::testutil::{enc, exists, expiry, frozen, raw, runb, NIL, T0};

#[test]
fn specs_are_unique_and_resolvable() {
    let mut names: Vec<&str> = SPECS.iter().map(|s| s.name).collect();
    names.sort();
    let n = names.len();
    names.dedup();
    assert_eq!(n, names.len());
    assert_eq!(n, 22);
    for s in SPECS {
        let found = crate::commands::table().lookup(s.name.as_bytes()).unwrap();
        assert_eq!(found.arity, s.arity, "{}", s.name);
        assert!(s.has(WRITE) != s.has(READONLY), "{}", s.name);
        assert_eq!(s.categories, STRING, "{}", s.name);
    }
    let mset = SPECS.iter().find(|s| s.name == "mset").unwrap();
    let argv: Vec<&[u8]> = vec![b"mset", b"a", b"1", b"b", b"2"];
    assert_eq!(mset.key_positions(&argv), vec![1, 3]);
    let lcs = SPECS.iter().find(|s| s.name == "lcs").unwrap();
    let argv: Vec<&[u8]> = vec![b"lcs", b"a", b"b", b"len"];
    assert_eq!(lcs.key_positions(&argv), vec![1, 2]);
}

#[test]
fn get_and_set() {
    let mut t = new();
    assert_eq!(run_raw(&mut t, &["get", "k"]), NIL);
    assert_eq!(run(&mut t, &["set", "k", "foobar"]), ok());
    assert_eq!(run(&mut t, &["get", "k"]), bulk("foobar"));
    assert_eq!(run(&mut t, &["SET", "k", ""]), ok());
    assert_eq!(run(&mut t, &["get", "k"]), bulk(""));
    let big = "abcd".repeat(100_000);
    assert_eq!(run(&mut t, &["set", "k", &big]), ok());
    assert_eq!(run(&mut t, &["get", "k"]), bulk(&big));
    assert_eq!(run(&mut t, &["set", "k"]), err("ERR wrong number of arguments for 'set' command"));
    assert_eq!(run(&mut t, &["get", "k", "x"]), err("ERR wrong number of arguments for 'get' command"));
    let bin: &[u8] = b"a\r\n\0b";
    assert_eq!(decode(&runb(&mut t, &[b"set", b"bin", bin])), ok());
    assert_eq!(runb(&mut t, &[b"get", b"bin"]), b"$5\r\na\r\n\0b\r\n");
}

#[test]
fn set_picks_redis_encodings() {
    let mut t = new();
    for (v, e) in [
        ("12345", "int"),
        ("-1", "int"),
        ("9223372036854775807", "int"),
        ("9223372036854775808", "embstr"),
        ("01", "embstr"),
        ("-0", "embstr"),
        (" 1", "embstr"),
        ("hello", "embstr"),
    ] {
        run(&mut t, &["set", "k", v]);
        assert_eq!(enc(&mut t, "k"), e, "{v}");
        assert_eq!(run(&mut t, &["get", "k"]), bulk(v));
    }
    run(&mut t, &["set", "k", &"a".repeat(44)]);
    assert_eq!(enc(&mut t, "k"), "embstr");
    run(&mut t, &["set", "k", &"a".repeat(45)]);
    assert_eq!(enc(&mut t, "k"), "raw");
    for cmd in [&["mset", "k", "7"][..], &["getset", "k", "8"], &["setnx", "n", "9"], &["setex", "k", "10", "11"]] {
        run(&mut t, cmd);
        assert_eq!(enc(&mut t, cmd[1]), "int", "{cmd:?}");
    }
}

#[test]
fn set_nx_xx_get() {
    let mut t = new();
    assert_eq!(run(&mut t, &["set", "foo", "1", "nx"]), ok());
    assert_eq!(run_raw(&mut t, &["set", "foo", "2", "NX"]), NIL);
    assert_eq!(run(&mut t, &["get", "foo"]), bulk("1"));
    assert_eq!(run_raw(&mut t, &["set", "bar", "1", "xx"]), NIL);
    assert!(!exists(&mut t, "bar"));
    assert_eq!(run(&mut t, &["set", "foo", "3", "xx"]), ok());
    assert_eq!(run(&mut t, &["get", "foo"]), bulk("3"));
    // GET returns the old value whether or not the write happens.
    assert_eq!(run(&mut t, &["set", "foo", "bar2", "GET"]), bulk("3"));
    assert_eq!(run(&mut t, &["get", "foo"]), bulk("bar2"));
    assert_eq!(run_raw(&mut t, &["set", "new", "v", "get"]), NIL);
    assert_eq!(run(&mut t, &["get", "new"]), bulk("v"));
    assert_eq!(run(&mut t, &["set", "foo", "baz", "get", "xx"]), bulk("bar2"));
    assert_eq!(run(&mut t, &["get", "foo"]), bulk("baz"));
    assert_eq!(run_raw(&mut t, &["set", "none", "x", "get", "xx"]), NIL);
    assert!(!exists(&mut t, "none"));
    assert_eq!(run_raw(&mut t, &["set", "none", "x", "get", "nx"]), NIL);
    assert_eq!(run(&mut t, &["get", "none"]), bulk("x"));
    assert_eq!(run(&mut t, &["set", "none", "y", "get", "nx"]), bulk("x"));
    assert_eq!(run(&mut t, &["get", "none"]), bulk("x"));
    // Repeating an option is fine.
    assert_eq!(run_raw(&mut t, &["set", "foo", "v", "nx", "nx"]), NIL);
    assert_eq!(run(&mut t, &["set", "foo", "v", "get", "get"]), bulk("baz"));
}

#[test]
fn set_syntax_errors() {
    let mut t = new();
    let syntax = err(&CmdError::SYNTAX.0);
    for args in [
        &["set", "k", "v", "non-existing-option"][..],
        &["set", "k", "v", "nx", "xx"],
        &["set", "k", "v", "xx", "nx"],
        &["set", "k", "v", "ex", "10", "px", "100"],
        &["set", "k", "v", "px", "100", "exat", "100"],
        &["set", "k", "v", "ex", "10", "keepttl"],
        &["set", "k", "v", "keepttl", "pxat", "10"],
        &["set", "k", "v", "ex"],
        &["set", "k", "v", "persist"],
        &["set", "k", "v", "nxx"],
    ] {
        assert_eq!(run(&mut t, args), syntax, "{args:?}");
    }
    assert!(!exists(&mut t, "k"));
    assert_eq!(run(&mut t, &["set", "k", "v", "ex", "10", "ex", "20"]), ok());
}

#[test]
fn set_expire_options() {
    let mut t = frozen();
    assert_eq!(run(&mut t, &["set", "k", "v", "ex", "10"]), ok());
    assert_eq!(expiry(&mut t, "k"), T0 + 10_000);
    assert_eq!(run(&mut t, &["set", "k", "v", "px", "1500"]), ok());
    assert_eq!(expiry(&mut t, "k"), T0 + 1500);
    assert_eq!(run(&mut t, &["set", "k", "v", "exat", "1800000000"]), ok());
    assert_eq!(expiry(&mut t, "k"), 1_800_000_000_000);
    assert_eq!(run(&mut t, &["set", "k", "v", "pxat", "1800000000123"]), ok());
    assert_eq!(expiry(&mut t, "k"), 1_800_000_000_123);
    assert_eq!(run(&mut t, &["set", "k", "w", "keepttl"]), ok());
    assert_eq!(expiry(&mut t, "k"), 1_800_000_000_123);
    assert_eq!(run(&mut t, &["set", "k", "x"]), ok());
    assert_eq!(expiry(&mut t, "k"), 0);
    assert_eq!(run(&mut t, &["set", "k", "bar", "xx", "px", "10000"]), ok());
    assert_eq!(expiry(&mut t, "k"), T0 + 10_000);
    // The key goes once its time has come.
    clock::set_mock(T0 + 10_001);
    assert_eq!(run_raw(&mut t, &["get", "k"]), NIL);
    // A timestamp in the past makes a key that is already gone.
    assert_eq!(run(&mut t, &["set", "k", "v", "pxat", "1"]), ok());
    assert_eq!(run_raw(&mut t, &["get", "k"]), NIL);
    clock::clear_mock();
}

#[test]
fn invalid_expire_times() {
    let mut t = frozen();
    let set_err = err("ERR invalid expire time in 'set' command");
    for args in [
        &["set", "k", "v", "ex", "0"][..],
        &["set", "k", "v", "ex", "-1"],
        &["set", "k", "v", "px", "0"],
        &["set", "k", "v", "exat", "0"],
        &["set", "k", "v", "pxat", "-5"],
        &["set", "k", "v", "ex", "9223372036854775"],
        &["set", "k", "v", "px", "9223372036854775807"],
    ] {
        assert_eq!(run(&mut t, args), set_err, "{args:?}");
    }
    assert!(!exists(&mut t, "k"));
    assert_eq!(run(&mut t, &["set", "k", "v", "ex", "9223372036854"]), ok());
    assert_eq!(run(&mut t, &["set", "k", "v", "exat", "9223372036854775"]), ok());
    assert_eq!(run(&mut t, &["set", "k", "v", "ex", "abc"]), err(&CmdError::NOT_INT.0));
    assert_eq!(run(&mut t, &["set", "k", "v", "ex", "1.5"]), err(&CmdError::NOT_INT.0));
    assert_eq!(run(&mut t, &["setex", "k", "0", "v"]), err("ERR invalid expire time in 'setex' command"));
    assert_eq!(run(&mut t, &["psetex", "k", "-1", "v"]), err("ERR invalid expire time in 'psetex' command"));
    assert_eq!(run(&mut t, &["getex", "k", "ex", "0"]), err("ERR invalid expire time in 'getex' command"));
    // The expire is checked before GET looks at the old value.
    assert_eq!(run(&mut t, &["set", "k", "v", "get", "ex", "0"]), set_err);
    clock::clear_mock();
}

#[test]
fn setnx_setex_psetex() {
    let mut t = frozen();
    assert_eq!(run(&mut t, &["setnx", "novar", "foobared"]), int(1));
    assert_eq!(run(&mut t, &["setnx", "novar", "blabla"]), int(0));
    assert_eq!(run(&mut t, &["get", "novar"]), bulk("foobared"));
    // SETNX sees an expired key as missing.
    run(&mut t, &["set", "x", "10", "px", "100"]);
    assert_eq!(run(&mut t, &["setnx", "x", "20"]), int(0));
    clock::set_mock(T0 + 101);
    assert_eq!(run(&mut t, &["setnx", "x", "20"]), int(1));
    assert_eq!(run(&mut t, &["get", "x"]), bulk("20"));
    assert_eq!(expiry(&mut t, "x"), 0);
    assert_eq!(run(&mut t, &["setex", "k", "100", "v"]), ok());
    assert_eq!(expiry(&mut t, "k"), T0 + 101 + 100_000);
    assert_eq!(run(&mut t, &["psetex", "k", "100", "w"]), ok());
    assert_eq!(expiry(&mut t, "k"), T0 + 201);
    assert_eq!(run(&mut t, &["get", "k"]), bulk("w"));
    assert_eq!(run(&mut t, &["setex", "k", "x", "v"]), err(&CmdError::NOT_INT.0));
    assert_eq!(run(&mut t, &["setex", "k", "1"]), err("ERR wrong number of arguments for 'setex' command"));
    clock::clear_mock();
}

#[test]
fn getex_options() {
    let mut t = frozen();
    assert_eq!(run_raw(&mut t, &["getex", "missing", "ex", "10"]), NIL);
    // An invalid expire on a missing key is not even looked at.
    assert_eq!(run_raw(&mut t, &["getex", "missing", "ex", "-1"]), NIL);
    run(&mut t, &["set", "foo", "bar"]);
    let dirty = t.s.persist.dirty;
    assert_eq!(run(&mut t, &["getex", "foo"]), bulk("bar"));
    assert_eq!(t.s.persist.dirty, dirty);
    assert_eq!(run(&mut t, &["getex", "foo", "ex", "10"]), bulk("bar"));
    assert_eq!(expiry(&mut t, "foo"), T0 + 10_000);
    assert_eq!(run(&mut t, &["getex", "foo", "px", "10000"]), bulk("bar"));
    assert_eq!(expiry(&mut t, "foo"), T0 + 10_000);
    assert_eq!(run(&mut t, &["getex", "foo", "exat", "1800000000"]), bulk("bar"));
    assert_eq!(expiry(&mut t, "foo"), 1_800_000_000_000);
    assert_eq!(run(&mut t, &["getex", "foo", "pxat", "1800000000001"]), bulk("bar"));
    assert_eq!(expiry(&mut t, "foo"), 1_800_000_000_001);
    let dirty = t.s.persist.dirty;
    assert_eq!(run(&mut t, &["getex", "foo", "persist"]), bulk("bar"));
    assert_eq!(expiry(&mut t, "foo"), 0);
    assert_eq!(t.s.persist.dirty, dirty + 1);
    // PERSIST on a key without TTL changes nothing.
    assert_eq!(run(&mut t, &["getex", "foo", "persist"]), bulk("bar"));
    assert_eq!(t.s.persist.dirty, dirty + 1);
    // A timestamp already past deletes the key (after replying with it).
    assert_eq!(run(&mut t, &["getex", "foo", "pxat", &T0.to_string()]), bulk("bar"));
    assert!(!exists(&mut t, "foo"));
    run(&mut t, &["set", "foo", "bar"]);
    assert_eq!(run(&mut t, &["getex", "foo", "exat", "1"]), bulk("bar"));
    assert!(!exists(&mut t, "foo"));
    run(&mut t, &["set", "foo", "bar"]);
    assert_eq!(run(&mut t, &["getex", "foo", "ex", "0"]), err("ERR invalid expire time in 'getex' command"));
    assert_eq!(run(&mut t, &["getex", "foo", "ex", "x"]), err(&CmdError::NOT_INT.0));
    assert_eq!(expiry(&mut t, "foo"), 0);
    let syntax = err(&CmdError::SYNTAX.0);
    for args in [
        &["getex", "foo", "non-existent-option"][..],
        &["getex", "foo", "nx"],
        &["getex", "foo", "get"],
        &["getex", "foo", "keepttl"],
        &["getex", "foo", "ex", "10", "persist"],
        &["getex", "foo", "persist", "px", "10"],
        &["getex", "foo", "ex", "10", "px", "10"],
        &["getex", "foo", "ex"],
    ] {
        assert_eq!(run(&mut t, args), syntax, "{args:?}");
    }
    assert_eq!(run(&mut t, &["getex"]), err("ERR wrong number of arguments for 'getex' command"));
    clock::clear_mock();
}

#[test]
fn getdel_and_getset() {
    let mut t = frozen();
    run(&mut t, &["set", "foo", "bar"]);
    assert_eq!(run(&mut t, &["getdel", "foo"]), bulk("bar"));
    assert_eq!(run_raw(&mut t, &["getdel", "foo"]), NIL);
    run(&mut t, &["set", "n", "42"]);
    assert_eq!(run(&mut t, &["getdel", "n"]), bulk("42"));
    assert_eq!(run_raw(&mut t, &["getset", "foo", "xyz"]), NIL);
    assert_eq!(run(&mut t, &["get", "foo"]), bulk("xyz"));
    t.s.dbs[0].set_expire(b"foo", T0 + 100_000);
    assert_eq!(run(&mut t, &["getset", "foo", "abc"]), bulk("xyz"));
    assert_eq!(run(&mut t, &["get", "foo"]), bulk("abc"));
    assert_eq!(expiry(&mut t, "foo"), 0);
    clock::clear_mock();
}

#[test]
fn mget_mset_msetnx() {
    let mut t = frozen();
    assert_eq!(run(&mut t, &["mset", "x", "10", "y", "foo bar", "z", "x x\n\r\n"]), ok());
    assert_eq!(
        run_raw(&mut t, &["mget", "x", "nokey", "y", "z"]),
        "*4\r\n$2\r\n10\r\n$-1\r\n$7\r\nfoo bar\r\n$6\r\nx x\n\r\n\r\n"
    );
    assert_eq!(run(&mut t, &["mset", "x", "10", "y"]), err("ERR wrong number of arguments for 'mset' command"));
    assert_eq!(
        run(&mut t, &["msetnx", "x", "20", "y", "foo bar", "z"]),
        err("ERR wrong number of arguments for 'msetnx' command")
    );
    assert_eq!(run(&mut t, &["msetnx", "x1", "xxx", "y2", "yyy", "x", "20"]), int(0));
    assert!(!exists(&mut t, "x1") && !exists(&mut t, "y2"));
    assert_eq!(run(&mut t, &["msetnx", "x1", "xxx", "y2", "yyy"]), int(1));
    assert_eq!(run(&mut t, &["mget", "x1", "y2"]), bulks(&["xxx", "yyy"]));
    t.s.dbs[0].remove(b"x1");
    assert_eq!(run(&mut t, &["msetnx", "x1", "xxx", "x1", "yyy"]), int(1));
    assert_eq!(run(&mut t, &["get", "x1"]), bulk("yyy"));
    assert_eq!(run(&mut t, &["msetnx", "x1", "xxx", "x1", "zzz"]), int(0));
    assert_eq!(run(&mut t, &["get", "x1"]), bulk("yyy"));
    // MSET drops TTLs and counts one change per key.
    t.s.dbs[0].set_expire(b"x", T0 + 1000);
    let dirty = t.s.persist.dirty;
    assert_eq!(run(&mut t, &["mset", "x", "1", "y", "2"]), ok());
    assert_eq!(t.s.persist.dirty, dirty + 2);
    assert_eq!(expiry(&mut t, "x"), 0);
    // RESP3 nulls.
    t.s.clients[t.me].resp = 3;
    assert_eq!(run_raw(&mut t, &["mget", "x", "nokey"]), "*2\r\n$1\r\n1\r\n_\r\n");
    assert_eq!(run_raw(&mut t, &["get", "nokey"]), "_\r\n");
    clock::clear_mock();
}

#[test]
fn incr_family() {
    let mut t = frozen();
    assert_eq!(run(&mut t, &["incr", "novar"]), int(1));
    assert_eq!(run(&mut t, &["get", "novar"]), bulk("1"));
    assert_eq!(run(&mut t, &["incr", "novar"]), int(2));
    run(&mut t, &["set", "novar", "100"]);
    assert_eq!(run(&mut t, &["incr", "novar"]), int(101));
    run(&mut t, &["set", "novar", "17179869184"]);
    assert_eq!(run(&mut t, &["incr", "novar"]), int(17179869185));
    run(&mut t, &["set", "novar", "17179869184"]);
    assert_eq!(run(&mut t, &["incrby", "novar", "17179869184"]), int(34359738368));
    run(&mut t, &["set", "novar", "17179869184"]);
    assert_eq!(run(&mut t, &["decrby", "novar", "17179869185"]), int(-1));
    assert_eq!(run(&mut t, &["decr", "novar"]), int(-2));
    assert_eq!(enc(&mut t, "novar"), "int");
    for bad in ["    11", "11    ", "    11    ", "01", "+1", "-0", "1.0", "", "abc", "99999999999999999999"] {
        run(&mut t, &["set", "novar", bad]);
        assert_eq!(run(&mut t, &["incr", "novar"]), err(&CmdError::NOT_INT.0), "{bad:?}");
    }
    run(&mut t, &["set", "x", "0"]);
    assert_eq!(run(&mut t, &["decrby", "x", "-9223372036854775808"]), err("ERR decrement would overflow"));
    assert_eq!(run(&mut t, &["incrby", "x", "1.5"]), err(&CmdError::NOT_INT.0));
    assert_eq!(run(&mut t, &["incrby", "x", " 1"]), err(&CmdError::NOT_INT.0));
    run(&mut t, &["set", "x", "9223372036854775807"]);
    assert_eq!(run(&mut t, &["incr", "x"]), err(&CmdError::OVERFLOW.0));
    run(&mut t, &["set", "x", "-9223372036854775808"]);
    assert_eq!(run(&mut t, &["decr", "x"]), err(&CmdError::OVERFLOW.0));
    assert_eq!(run(&mut t, &["incrby", "x", "9223372036854775807"]), int(-1));
    assert_eq!(run(&mut t, &["get", "x"]), bulk("-1"));
    // An embstr that holds a number becomes int; the TTL stays.
    t.s.dbs[0].set(b"e", Value::Emb(CompactBytes::new(b"10")), false);
    t.s.dbs[0].set_expire(b"e", T0 + 5000);
    assert_eq!(run(&mut t, &["incrby", "e", "5"]), int(15));
    assert_eq!(enc(&mut t, "e"), "int");
    assert_eq!(expiry(&mut t, "e"), T0 + 5000);
    let dirty = t.s.persist.dirty;
    run(&mut t, &["incr", "e"]);
    run(&mut t, &["incr", "nope"]);
    assert_eq!(t.s.persist.dirty, dirty + 2);
    clock::clear_mock();
}

/// (stored value, increment, Redis 7.0.15's reply), collected from a real redis-server on x86-64.
const INCRBYFLOAT_CASES: &[(&str, &str, &str)] = &[
    ("0.1", "0.2", "0.3"),
    ("10.5", "0.1", "10.6"),
    ("0", "0.1", "0.1"),
    ("1", "-1.1", "-0.1"),
    ("3.0e3", "0", "3000"),
    ("17179869184", "1.5", "17179869185.5"),
    ("1e20", "0.1", "100000000000000000000"),
    ("0.000003814697265625", "0", "0.00000381469726562"),
    ("1.1", "2.2", "3.3"),
    ("-1", "1", "0"),
    ("5", "-5.0000000000000001", "-0.0000000000000001"),
    ("123456789.123456789", "0.000000001", "123456789.12345678999554366"),
    ("9223372036854775807", "1", "9223372036854775808"),
    ("-9223372036854775808", "-1", "-9223372036854775809"),
    ("1e-17", "0", "0.00000000000000001"),
    ("5e-18", "0", "0"),
    ("6e-18", "0", "0.00000000000000001"),
    ("1e300", "1e300", "2000000000000000000017994648159118387741047888546581495876520164642531293192361871511698304167500994380700745017228549671807185112369345967826192521041497292574654271283687306588168510215212033579453305864740061102765895241989080589545563779241212358535223254194821301134374772211380178849830208012288"),
    ("0x1p-1", "0", "0.5"),
    ("0X1.8P1", "0.5", "3.5"),
    ("1.7976931348623157e308", "1", "179769313486231569995921046774104434048386446944329178485314420765176628523124396354701868608387085564428793419425520689308708363451136055357897278026477617073498977686288394835618163294045594434929537447290627480669417384648879122776218333598953852832103282504751611691208117720159985926376802466863339536384"),
    ("100", "-99.99", "0.01"),
    ("2.5", "2.5", "5"),
    ("0.3", "-0.1", "0.2"),
    ("1e-400", "17", "17"),
    ("3.14159265358979323846264338327950288", "0", "3.14159265358979324"),
    ("1.", "0.5", "1.5"),
    (".5", ".25", "0.75"),
    ("-.5", "0", "-0.5"),
    ("+7", "+3", "10"),
    ("1e+2", "1E-2", "100.01"),
    ("99999999999999999999", "1", "100000000000000000000"),
    ("0.1", "0.7", "0.8"),
    ("1.005", "0", "1.005"),
    ("2.675", "0", "2.675"),
    ("1e19", "1e-5", "10000000000000000000"),
    ("4.35", "0", "4.35"),
    ("0.07", "0", "0.07"),
    ("1234567.891", "0", "1234567.89099999999996271"),
    ("-0.000000000000000001", "0", "0"),
    ("12345678901234567890123", "0.5", "12345678901234567889920"),
    ("895730.72122", "301.868946", "896032.59016600000001063"),
    ("642548.6", "-268.6", "642280"),
    ("819408", "-925.009", "818482.99099999999998545"),
    ("-163655.697258", "-818.574", "-164474.27125800000000311"),
    ("-881778.987842", "-752.396077701", "-882531.38391970100002482"),
    ("261251.831", "895.417884914", "262147.24888491400000134"),
    ("171082.845280773", "953", "172035.84528077299999893"),
    ("113330", "-420.78", "112909.21999999999999886"),
    ("81371.77", "-383.036351796", "80988.73364820400000497"),
    ("-638547.2401521250", "142.408782824", "-638404.83136930099999518"),
    ("-255204.915", "424.22153149", "-254780.69346851000000242"),
    ("-880797.660067535", "-7.171", "-880804.83106753499998831"),
    ("-144815.38866119", "-68.79627", "-144884.18493119000000036"),
    ("-276835.2881109", "588.759", "-276246.52911090000000627"),
    ("559659.26116848737", "148.8", "559808.06116848737002556"),
    ("-9767.28088949", "458.89058", "-9308.39030948999999993"),
    ("217918.0381", "-763.9", "217154.13809999999999434"),
    ("-670075.792713", "-696.03093", "-670771.82364300000000412"),
    ("-156603.2910465", "-844.7590356384", "-157448.05008213839998632"),
    ("146051.88055477", "-319.75528", "145732.12527477000000431"),
    ("188739.75421", "593.783951643", "189333.53816164299999514"),
    ("679935.6", "-51.8033", "679883.79670000000004393"),
    ("-870000.0485678103", "402.98404260885", "-869597.06452520145001017"),
    ("155892.4614354363", "643.8495732194", "156536.31100865569999314"),
    ("433255.5888", "-305.9894886231", "432949.59931137690000469"),
    ("-289071.7809193", "-765.808411037", "-289837.58933033700000692"),
    ("-563584", "-741.3196", "-564325.3195999999999799"),
    ("-204204.643", "-838.8373976", "-205043.48039760000000342"),
    ("-196711.4873314", "766.7677", "-195944.71963139999999726"),
    ("727968.939397", "412.7934", "728381.73279700000000503"),
    ("365446.11877", "915.462408", "366361.58117800000002262"),
    ("-834030.61", "-536.09", "-834566.69999999999998863"),
    ("-975873.880", "-635.314252038", "-976509.1942520380000019"),
    ("-991812.7932", "69.181925", "-991743.61127500000003465"),
    ("132682.447412784", "380.99", "133063.43741278399998862"),
    ("900447.89936532", "352.4001648990", "900800.29953021900001886"),
    ("-86713", "903.772441663044", "-85809.22755833695600103"),
    ("595746.2423931321", "-203.860739", "595542.38165413209998178"),
    ("-792925.812579", "-199.1147389673", "-793124.92731796730004135"),
    ("-865304.768", "-118.746", "-865423.51399999999995316"),
    ("-7.80143389999067e+17", "-8.948487922194661e-21", "-780143389999067000"),
    ("13356721626616.896", "-797.071263954807", "13356721625819.82473564147949219"),
    ("2.2747452595086215e-17", "7.486647547476393e+18", "7486647547476393000"),
    ("-2.475412763871181e+19", "-49.54844868858454", "-24754127638711810050"),
    ("2045583779.2401655", "-75431553847.56102", "-73385970068.32085449993610382"),
    ("986205443.4094279", "-0.003920979076870302", "986205443.40550692088436335"),
    ("-8.282306768876689e-15", "4.9934784088486176e-05", "0.0000499347840802"),
    ("-4.275611298001758e+22", "-6.77122778947137e-20", "-42756112980017579999232"),
    ("-5895699865969.187", "-2.764950819819789e+23", "-276495081987874599878656"),
    ("8.634485176422868e-21", "0.05162859190718745", "0.05162859190718745"),
    ("9.570024854379455e-16", "3.923935718156038e-05", "0.00003923935718252"),
    ("3.679371426552214e-12", "-2.88607660354109e-07", "-0.00000028860398098"),
    ("65184794985.75802", "-3.4067000990447525e-07", "65184794985.75801965966820717"),
    ("2.264564456270819e-09", "61215.7169571335", "61215.71695713576456299"),
    ("4.797460407514282e-07", "-60016403320.97007", "-60016403320.970069520175457"),
    ("-2.888749132900836e-20", "0.00097920717340614", "0.00097920717340614"),
    ("-5.551987500228939e-10", "38.504388340024676", "38.50438833946947725"),
    ("-10.55446444665531", "910.0012626426663", "899.44679819601099002"),
    ("-8.389237490227472e-15", "-5.463083465385441e-09", "-0.00000000546309185"),
    ("-3245250403.2293916", "2.4813279487563643e+18", "2481327945511113896.75"),
    ("8371713186539435371052860e-2", "3492992326885764686.285028119307", "83720624857721239470080"),
    ("249859120005174968223459e-1", "-8876789368498740656", "24977035211148998080512"),
    ("3211732956688756112800012e-1", "-445273.00427561055", "321173295668875610816512"),
    ("0x1p-16445", "1", "1"),
    ("3.6e-4951", "0", "0"),
    ("-0x5806c8629e5579203.a770p-23", "0", "-12098269369290.68414306640625"),
    ("2e-4951", "-1", "-1"),
];

#[test]
fn incrbyfloat_matches_redis_long_double() {
    let mut t = new();
    for &(start, by, want) in INCRBYFLOAT_CASES {
        run(&mut t, &["set", "f", start]);
        assert_eq!(run(&mut t, &["incrbyfloat", "f", by]), bulk(want), "{start} + {by}");
        assert_eq!(run(&mut t, &["get", "f"]), bulk(want));
    }
    // Results near the top of the long double range print in full.
    run(&mut t, &["set", "f", "1e4932"]);
    let r = run_raw(&mut t, &["incrbyfloat", "f", "0"]);
    assert!(r.starts_with("$4933\r\n1000000000000000000006018949387963891323837774254533114773785041"), "{r}");
    assert_eq!(run(&mut t, &["incrbyfloat", "f", "1e4932"]), err(&NAN_OR_INF.0));
}

#[test]
fn incrbyfloat_behaviour() {
    let mut t = frozen();
    assert_eq!(run(&mut t, &["incrbyfloat", "novar", "1"]), bulk("1"));
    assert_eq!(run(&mut t, &["incrbyfloat", "novar", "0.25"]), bulk("1.25"));
    assert_eq!(run(&mut t, &["get", "novar"]), bulk("1.25"));
    // Stored as a string, never as an int.
    assert_eq!(run(&mut t, &["incrbyfloat", "novar", "1.75"]), bulk("3"));
    assert_eq!(enc(&mut t, "novar"), "embstr");
    run(&mut t, &["set", "novar", "1.5"]);
    assert_eq!(run(&mut t, &["incrbyfloat", "novar", "1.5"]), bulk("3"));
    run(&mut t, &["set", "novar", "17179869184"]);
    assert_eq!(run(&mut t, &["incrbyfloat", "novar", "17179869184"]), bulk("34359738368"));
    for bad in [
        "    11", "11    ", " 11 ", "abc", "", "1e", "nan", "1e5000", "1e-5000", "0x", "1..2", "\t1", "6e-4952",
        "1e-4951",
    ] {
        run(&mut t, &["set", "novar", bad]);
        assert_eq!(run(&mut t, &["incrbyfloat", "novar", "1.0"]), err(&CmdError::NOT_FLOAT.0), "{bad:?}");
    }
    run(&mut t, &["set", "foo", "0"]);
    assert_eq!(run(&mut t, &["incrbyfloat", "foo", "+inf"]), err(&NAN_OR_INF.0));
    assert_eq!(run(&mut t, &["incrbyfloat", "foo", "-Infinity"]), err(&NAN_OR_INF.0));
    assert_eq!(run(&mut t, &["incrbyfloat", "foo", "nan"]), err(&CmdError::NOT_FLOAT.0));
    assert_eq!(run(&mut t, &["incrbyfloat", "foo", "x"]), err(&CmdError::NOT_FLOAT.0));
    // The stored value is checked before the increment.
    run(&mut t, &["set", "foo", "abc"]);
    assert_eq!(run(&mut t, &["incrbyfloat", "foo", "1"]), err(&CmdError::NOT_FLOAT.0));
    run(&mut t, &["set", "foo", "1"]);
    assert_eq!(run(&mut t, &["incrbyfloat", "foo", "-1.1"]), bulk("-0.1"));
    run(&mut t, &["set", "foo", "1"]);
    run(&mut t, &["setrange", "foo", "2", "2"]);
    assert_eq!(run(&mut t, &["incrbyfloat", "foo", "1"]), err(&CmdError::NOT_FLOAT.0));
    t.s.dbs[0].remove(b"foo");
    let (a, b) = (format!("{:?}", 1.0f64 / 41.0), format!("{:?}", -1.0f64 / 41.0));
    run(&mut t, &["incrbyfloat", "foo", &a]);
    assert_eq!(run(&mut t, &["incrbyfloat", "foo", &b]), bulk("0"));
    // Repeated small steps stay exact, as with Redis's long double.
    run(&mut t, &["set", "acc", "0"]);
    for _ in 0..10 {
        run(&mut t, &["incrbyfloat", "acc", "0.1"]);
    }
    assert_eq!(run(&mut t, &["get", "acc"]), bulk("1"));
    // The TTL stays.
    t.s.dbs[0].set_expire(b"acc", T0 + 9000);
    run(&mut t, &["incrbyfloat", "acc", "1"]);
    assert_eq!(expiry(&mut t, "acc"), T0 + 9000);
    clock::clear_mock();
}

#[test]
fn long_double_parse_and_print() {
    use crate::types::num::ld::{parse, Ld};
    let p = |s: &str| parse(s.as_bytes()).map(|v| v.to_human());
    assert_eq!(p("0"), Some("0".into()));
    assert_eq!(p("-0"), Some("0".into()));
    assert_eq!(p("0.000"), Some("0".into()));
    assert_eq!(p("1.5e3"), Some("1500".into()));
    assert_eq!(p("0x10"), Some("16".into()));
    assert_eq!(p("0x.8"), Some("0.5".into()));
    assert_eq!(p("0x1p-2"), Some("0.25".into()));
    assert_eq!(p("INF"), Some("inf".into()));
    assert_eq!(p("-infinity"), Some("-inf".into()));
    assert_eq!(p("1e-400"), Some("0".into()));
    for bad in ["", " 1", "1 ", "+", "-", ".", "e5", "1e+", "0x", "0xp1", "inf1", "nan", "NaN(1)", "1,5"] {
        assert_eq!(parse(bad.as_bytes()), None, "{bad:?}");
    }
    // Redis refuses inputs of 5120 bytes or more; long ones below that are exact.
    let long = |n: usize| [&b"0."[..], &vec![b'3'; n - 2]].concat();
    assert_eq!(parse(&long(5119)).map(|v| v.to_human()), Some("0.33333333333333333".into()));
    assert_eq!(parse(&long(5120)), None);
    assert_eq!(parse(&vec![b'1'; 4933]).map(|v| v.is_finite()), Some(true));
    assert_eq!(parse(&vec![b'1'; 4934]), None);
    assert_eq!(Ld::from_i64(i64::MIN).to_human(), "-9223372036854775808");
    assert_eq!(Ld::from_i64(7) + Ld::from_i64(-7), Ld::ZERO);
    let inf = Ld::Inf { neg: false };
    assert!(!(Ld::from_i64(1) + inf).is_finite());
}

#[test]
fn append_and_strlen() {
    let mut t = frozen();
    assert_eq!(run(&mut t, &["append", "a", "123"]), int(3));
    assert_eq!(enc(&mut t, "a"), "int");
    assert_eq!(run(&mut t, &["append", "b", "foo"]), int(3));
    assert_eq!(enc(&mut t, "b"), "embstr");
    assert_eq!(run(&mut t, &["append", "a", "4"]), int(4));
    assert_eq!(enc(&mut t, "a"), "raw");
    assert_eq!(run(&mut t, &["get", "a"]), bulk("1234"));
    t.s.dbs[0].set_expire(b"b", T0 + 1000);
    assert_eq!(run(&mut t, &["append", "b", "bar"]), int(6));
    assert_eq!(run(&mut t, &["get", "b"]), bulk("foobar"));
    assert_eq!(enc(&mut t, "b"), "raw");
    assert_eq!(expiry(&mut t, "b"), T0 + 1000);
    t.s.config.proto_max_bulk_len = 8;
    assert_eq!(run(&mut t, &["append", "b", "abc"]), err(&CmdError::STRING_MAX.0));
    assert_eq!(run(&mut t, &["append", "b", "ab"]), int(8));
    assert_eq!(run(&mut t, &["strlen", "notakey"]), int(0));
    run(&mut t, &["set", "myinteger", "-555"]);
    assert_eq!(run(&mut t, &["strlen", "myinteger"]), int(4));
    run(&mut t, &["set", "mystring", "foozzz0123456789 baz"]);
    assert_eq!(run(&mut t, &["strlen", "mystring"]), int(20));
    clock::clear_mock();
}

#[test]
fn getrange_and_substr() {
    let mut t = new();
    assert_eq!(run(&mut t, &["getrange", "mykey", "0", "-1"]), bulk(""));
    run(&mut t, &["set", "mykey", "Hello World"]);
    for (a, b, want) in [
        ("0", "3", "Hell"),
        ("0", "-1", "Hello World"),
        ("-4", "-1", "orld"),
        ("5", "3", ""),
        ("5", "5000", " World"),
        ("-5000", "10000", "Hello World"),
        ("-1", "-5", ""),
        ("0", "4294967297", "Hello World"),
    ] {
        assert_eq!(run(&mut t, &["getrange", "mykey", a, b]), bulk(want), "{a} {b}");
    }
    run(&mut t, &["set", "mykey", "1234"]);
    for (a, b, want) in
        [("0", "2", "123"), ("0", "-1", "1234"), ("-3", "-1", "234"), ("5", "3", ""), ("3", "5000", "4")]
    {
        assert_eq!(run(&mut t, &["getrange", "mykey", a, b]), bulk(want), "{a} {b}");
    }
    assert_eq!(run(&mut t, &["substr", "mykey", "1", "2"]), bulk("23"));
    run(&mut t, &["set", "empty", ""]);
    assert_eq!(run(&mut t, &["getrange", "empty", "0", "-1"]), bulk(""));
    assert_eq!(run(&mut t, &["getrange", "mykey", "a", "1"]), err(&CmdError::NOT_INT.0));
    assert_eq!(run(&mut t, &["getrange", "nokey", "0", "b"]), err(&CmdError::NOT_INT.0));
    // Against a model: Tcl's `string range` as the Redis suite does.
    let s: Vec<u8> = (0..300u32).map(|i| (i * 7 % 256) as u8).collect();
    runb(&mut t, &[b"set", b"bin", &s]);
    for start in (-310i64..310).step_by(7) {
        for end in (-310i64..310).step_by(11) {
            let got = runb(&mut t, &[b"getrange", b"bin", start.to_string().as_bytes(), end.to_string().as_bytes()]);
            let want = match clamp_range(start, end, s.len()) {
                Some((a, b)) => [format!("${}\r\n", b - a + 1).as_bytes(), &s[a..=b], b"\r\n"].concat(),
                None => b"$0\r\n\r\n".to_vec(),
            };
            assert_eq!(got, want, "{start} {end}");
        }
    }
}

#[test]
fn setrange_cases() {
    let mut t = frozen();
    assert_eq!(run(&mut t, &["setrange", "mykey", "0", "foo"]), int(3));
    assert_eq!(run(&mut t, &["get", "mykey"]), bulk("foo"));
    assert_eq!(enc(&mut t, "mykey"), "raw");
    t.s.dbs[0].remove(b"mykey");
    assert_eq!(run(&mut t, &["setrange", "mykey", "0", ""]), int(0));
    assert!(!exists(&mut t, "mykey"));
    assert_eq!(run(&mut t, &["setrange", "mykey", "1", "foo"]), int(4));
    assert_eq!(raw(&mut t, "mykey"), b"\0foo");
    for (off, val, len, want) in
        [("0", "b", 3, "boo"), ("0", "", 3, "foo"), ("1", "b", 3, "fbo"), ("4", "bar", 7, "foo\0bar")]
    {
        run(&mut t, &["set", "mykey", "foo"]);
        assert_eq!(run(&mut t, &["setrange", "mykey", off, val]), int(len));
        assert_eq!(raw(&mut t, "mykey"), want.as_bytes());
    }
    for (off, val, len, want, e) in [
        ("0", "2", 4, "2234", "raw"),
        ("0", "", 4, "1234", "int"),
        ("1", "3", 4, "1334", "raw"),
        ("5", "2", 6, "1234\u{0}2", "raw"),
    ] {
        run(&mut t, &["set", "mykey", "1234"]);
        assert_eq!(run(&mut t, &["setrange", "mykey", off, val]), int(len));
        assert_eq!(enc(&mut t, "mykey"), e);
        assert_eq!(raw(&mut t, "mykey"), want.as_bytes());
    }
    t.s.dbs[0].remove(b"mykey");
    let limit = (512 * 1024 * 1024 - 4).to_string();
    assert_eq!(run(&mut t, &["setrange", "mykey", &limit, "world"]), err(&CmdError::STRING_MAX.0));
    run(&mut t, &["set", "mykey", "hello"]);
    assert_eq!(run(&mut t, &["setrange", "mykey", "-1", "world"]), err(&OFFSET_RANGE.0));
    assert_eq!(run(&mut t, &["setrange", "mykey", &limit, "world"]), err(&CmdError::STRING_MAX.0));
    assert_eq!(run(&mut t, &["setrange", "mykey", "x", "world"]), err(&CmdError::NOT_INT.0));
    for huge in ["9223372036854775807", "2147483647"] {
        assert_eq!(run(&mut t, &["setrange", "K", huge, "A"]), err(&CmdError::STRING_MAX.0));
    }
    t.s.dbs[0].set_expire(b"mykey", T0 + 1000);
    assert_eq!(run(&mut t, &["setrange", "mykey", "0", "J"]), int(5));
    assert_eq!(expiry(&mut t, "mykey"), T0 + 1000);
    clock::clear_mock();
}

const RNA1: &str = "CACCTTCCCAGGTAACAAACCAACCAACTTTCGATCTCTTGTAGATCTGTTCTCTAAACGAACTTTAAAATCTGTGTGGCTGTCACTCGGCTGCATGCTTAGTGCACTCACGCAGTATAATTAATAACTAATTACTGTCGTTGACAGGACACGAGTAACTCGTCTATCTTCTGCAGGCTGCTTACGGTTTCGTCCGTGTTGCAGCCGATCATCAGCACATCTAGGTTTCGTCCGGGTGTG";
const RNA2: &str = "ATTAAAGGTTTATACCTTCCCAGGTAACAAACCAACCAACTTTCGATCTCTTGTAGATCTGTTCTCTAAACGAACTTTAAAATCTGTGTGGCTGTCACTCGGCTGCATGCTTAGTGCACTCACGCAGTATAATTAATAACTAATTACTGTCGTTGACAGGACACGAGTAACTCGTCTATCTTCTGCAGGCTGCTTACGGTTTCGTCCGTGTTGCAGCCGATCATCAGCACATCTAGGTTT";
const RNALCS: &str = "ACCTTCCCAGGTAACAAACCAACCAACTTTCGATCTCTTGTAGATCTGTTCTCTAAACGAACTTTAAAATCTGTGTGGCTGTCACTCGGCTGCATGCTTAGTGCACTCACGCAGTATAATTAATAACTAATTACTGTCGTTGACAGGACACGAGTAACTCGTCTATCTTCTGCAGGCTGCTTACGGTTTCGTCCGTGTTGCAGCCGATCATCAGCACATCTAGGTTT";

/// One LCS IDX match: [[a0, a1], [b0, b1]] and the length WITHMATCHLEN.
fn lcs_match(a: (i64, i64), b: (i64, i64), len: Option<i64>) -> Frame {
    let mut m = vec![ints(&[a.0, a.1]), ints(&[b.0, b.1])];
    m.extend(len.map(int));
    arr(m)
}

#[test]
fn lcs_cases() {
    let mut t = new();
    run(&mut t, &["set", "virus1", RNA1]);
    run(&mut t, &["set", "virus2", RNA2]);
    assert_eq!(run(&mut t, &["lcs", "virus1", "virus2"]), bulk(RNALCS));
    assert_eq!(run(&mut t, &["LCS", "virus1", "virus2", "LEN"]), int(RNALCS.len() as i64));
    let ranges = [
        ((238, 238), (239, 239), 1),
        ((236, 236), (238, 238), 1),
        ((229, 230), (236, 237), 2),
        ((224, 224), (235, 235), 1),
        ((1, 222), (13, 234), 222),
    ];
    let idx = |withlen: bool, only: &[usize]| {
        let matches = only.iter().map(|&i| {
            let (a, b, l) = ranges[i];
            lcs_match(a, b, withlen.then_some(l))
        });
        arr(vec![bulk("matches"), arr(matches.collect()), bulk("len"), int(227)])
    };
    assert_eq!(run(&mut t, &["lcs", "virus1", "virus2", "idx"]), idx(false, &[0, 1, 2, 3, 4]));
    assert_eq!(run(&mut t, &["lcs", "virus1", "virus2", "idx", "withmatchlen"]), idx(true, &[0, 1, 2, 3, 4]));
    assert_eq!(run(&mut t, &["lcs", "virus1", "virus2", "IDX", "WITHMATCHLEN", "MINMATCHLEN", "5"]), idx(true, &[4]));
    assert_eq!(run(&mut t, &["lcs", "virus1", "virus2", "idx", "minmatchlen", "-3"]), idx(false, &[0, 1, 2, 3, 4]));
    // RESP3 makes the IDX reply a map.
    t.s.clients[t.me].resp = 3;
    assert!(run_raw(&mut t, &["lcs", "virus1", "virus2", "idx"]).starts_with("%2\r\n$7\r\nmatches\r\n*5\r\n"));
    t.s.clients[t.me].resp = 2;
    run(&mut t, &["set", "a", "ohmytext"]);
    run(&mut t, &["set", "b", "mynewtext"]);
    assert_eq!(run(&mut t, &["lcs", "a", "b"]), bulk("mytext"));
    assert_eq!(run(&mut t, &["lcs", "a", "nokey"]), bulk(""));
    assert_eq!(run(&mut t, &["lcs", "nokey", "nokey2", "len"]), int(0));
    assert_eq!(
        run(&mut t, &["lcs", "nokey", "nokey2", "idx"]),
        arr(vec![bulk("matches"), arr(vec![]), bulk("len"), int(0)])
    );
    assert_eq!(run(&mut t, &["lcs", "a", "b", "len", "idx"]), err(&LCS_LEN_AND_IDX.0));
    assert_eq!(run(&mut t, &["lcs", "a", "b", "foo"]), err(&CmdError::SYNTAX.0));
    assert_eq!(run(&mut t, &["lcs", "a", "b", "minmatchlen"]), err(&CmdError::SYNTAX.0));
    assert_eq!(run(&mut t, &["lcs", "a", "b", "minmatchlen", "x"]), err(&CmdError::NOT_INT.0));
    assert_eq!(run(&mut t, &["lcs", "a"]), err("ERR wrong number of arguments for 'lcs' command"));
    t.s.config.proto_max_bulk_len = 100;
    assert_eq!(run(&mut t, &["lcs", "a", "b"]), err(&LCS_OVER_LIMIT.0));
}

#[test]
fn other_types_get_wrongtype() {
    let mut t = new();
    let list = || Value::List(crate::types::list::List::new());
    let wrong = err(&CmdError::WRONGTYPE.0);
    t.s.dbs[0].set(b"l", list(), false);
    run(&mut t, &["set", "s", "abc"]);
    for args in [
        &["get", "l"][..],
        &["set", "l", "v", "get"],
        &["set", "l", "v", "nx", "get"],
        &["getex", "l"],
        &["getex", "l", "ex", "-1"],
        &["getdel", "l"],
        &["getset", "l", "v"],
        &["incr", "l"],
        &["decrby", "l", "2"],
        &["incrbyfloat", "l", "abc"],
        &["append", "l", "x"],
        &["strlen", "l"],
        &["getrange", "l", "0", "-1"],
        &["setrange", "l", "0", ""],
        &["setrange", "l", "3", "x"],
        &["setbit", "l", "0", "1"],
        &["getbit", "l", "0"],
        &["bitcount", "l"],
        &["bitcount", "l", "0"],
        &["bitpos", "l", "1"],
        &["bitop", "or", "dest", "s", "l"],
        &["bitfield", "l", "get", "u8", "0"],
        &["bitfield", "l", "set", "u8", "0", "1"],
        &["bitfield_ro", "l", "get", "u8", "0"],
    ] {
        assert_eq!(run(&mut t, args), wrong, "{args:?}");
        assert_eq!(t.s.dbs[0].peek(b"l").unwrap().value.kind(), crate::types::value::Kind::List, "{args:?}");
    }
    assert!(!exists(&mut t, "dest"));
    // Argument errors that Redis finds before looking at the key.
    assert_eq!(run(&mut t, &["getex", "l", "foo"]), err(&CmdError::SYNTAX.0));
    assert_eq!(run(&mut t, &["bitpos", "l", "2"]), err(&BIT_ARG.0));
    assert_eq!(run(&mut t, &["setrange", "l", "-1", "x"]), err(&OFFSET_RANGE.0));
    assert_eq!(run(&mut t, &["bitfield_ro", "l", "set", "u8", "0", "1"]), err(&BITFIELD_RO_WRITE.0));
    assert_eq!(run(&mut t, &["lcs", "s", "l"]), err(&LCS_NOT_STRINGS.0));
    // Reads of several keys skip it; whole-value writes replace it.
    assert_eq!(run_raw(&mut t, &["mget", "s", "l"]), "*2\r\n$3\r\nabc\r\n$-1\r\n");
    assert_eq!(run(&mut t, &["setnx", "l", "v"]), int(0));
    assert_eq!(run(&mut t, &["msetnx", "l", "v", "z", "w"]), int(0));
    assert_eq!(run(&mut t, &["set", "l", "v", "xx"]), ok());
    assert_eq!(run(&mut t, &["get", "l"]), bulk("v"));
    for args in [&["mset", "l", "1"][..], &["bitop", "not", "l", "s"], &["setex", "l", "10", "v"]] {
        t.s.dbs[0].set(b"l", list(), false);
        assert_ne!(run(&mut t, args), wrong, "{args:?}");
        assert!(t.s.dbs[0].peek(b"l").unwrap().value.is_string(), "{args:?}");
    }
}

#[test]
fn getset_and_set_get_propagate_as_plain_sets() {
    let mut t = new();
    crate::commands::set_feed_enabled(&mut t.s, true);
    run(&mut t, &["set", "k", "1"]);
    t.s.prop.feed.buf.clear();
    run(&mut t, &["getset", "k", "2"]);
    let text = String::from_utf8_lossy(&t.s.prop.feed.buf).replace("\r\n", " ");
    assert_eq!(text, "*3 $3 SET $1 k $1 2 ");
    t.s.prop.feed.buf.clear();
    run(&mut t, &["set", "k", "3", "get", "xx"]);
    let text = String::from_utf8_lossy(&t.s.prop.feed.buf).replace("\r\n", " ");
    assert_eq!(text, "*4 $3 set $1 k $1 3 $2 xx ");
}
