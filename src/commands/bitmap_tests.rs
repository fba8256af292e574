use super::*;
use crate::commands::testutil::{arr, bulk, decode, err, int, ints, new, run, run_raw, T};
use crate::types::clock;

use crate::commands::testutil::{enc, exists, expiry, frozen, raw, runb, NIL, T0};

fn bits(s: &str) -> Vec<u8> {
    s.as_bytes().chunks(8).map(|c| c.iter().fold(0u8, |acc, b| (acc << 1) | (b - b'0'))).collect()
}

#[test]
fn specs_are_unique_and_resolvable() {
    let mut names: Vec<&str> = SPECS.iter().map(|s| s.name).collect();
    names.sort();
    let n = names.len();
    names.dedup();
    assert_eq!(n, names.len());
    assert_eq!(n, 7);
    for s in SPECS {
        let found = crate::commands::table().lookup(s.name.as_bytes()).unwrap();
        assert_eq!(found.arity, s.arity, "{}", s.name);
        assert!(s.has(WRITE) != s.has(READONLY), "{}", s.name);
        assert_eq!(s.categories, BITMAP, "{}", s.name);
        assert_eq!(s.group, "bitmap", "{}", s.name);
    }
    let bitop = SPECS.iter().find(|s| s.name == "bitop").unwrap();
    let argv: Vec<&[u8]> = vec![b"bitop", b"and", b"d", b"a", b"b"];
    assert_eq!(bitop.key_positions(&argv), vec![2, 3, 4]);
}

#[test]
fn setbit_cases() {
    let mut t = frozen();
    assert_eq!(run(&mut t, &["setbit", "mykey", "1", "1"]), int(0));
    assert_eq!(raw(&mut t, "mykey"), bits("01000000"));
    assert_eq!(enc(&mut t, "mykey"), "raw");
    run(&mut t, &["set", "mykey", "@"]);
    assert_eq!(run(&mut t, &["setbit", "mykey", "2", "1"]), int(0));
    assert_eq!(raw(&mut t, "mykey"), bits("01100000"));
    assert_eq!(run(&mut t, &["setbit", "mykey", "1", "0"]), int(1));
    assert_eq!(raw(&mut t, "mykey"), bits("00100000"));
    run(&mut t, &["set", "mykey", "1"]);
    assert_eq!(enc(&mut t, "mykey"), "int");
    assert_eq!(run(&mut t, &["setbit", "mykey", "6", "1"]), int(0));
    assert_eq!(raw(&mut t, "mykey"), bits("00110011"));
    assert_eq!(enc(&mut t, "mykey"), "raw");
    assert_eq!(run(&mut t, &["setbit", "mykey", "2", "0"]), int(1));
    assert_eq!(raw(&mut t, "mykey"), bits("00010011"));
    let range = err(&CmdError::BIT_OFFSET.0);
    assert_eq!(run(&mut t, &["setbit", "mykey", &(4u64 << 30).to_string(), "1"]), range);
    assert_eq!(run(&mut t, &["setbit", "mykey", "-1", "1"]), range);
    assert_eq!(run(&mut t, &["setbit", "mykey", "#1", "1"]), range);
    assert_eq!(run(&mut t, &["setbit", "mykey", &(512u64 << 23).to_string(), "0"]), range);
    for v in ["-1", "2", "10", "20", "x", "01"] {
        assert_eq!(run(&mut t, &["setbit", "mykey", "0", v]), err(&CmdError::NOT_BIT.0), "{v}");
    }
    // A smaller proto-max-bulk-len lowers the limit.
    t.s.config.proto_max_bulk_len = 10;
    assert_eq!(run(&mut t, &["setbit", "mykey", "80", "1"]), range);
    assert_eq!(run(&mut t, &["setbit", "mykey", "79", "1"]), int(0));
    // Only flips and growth count as changes; the TTL stays.
    t.s.dbs[0].set_expire(b"mykey", T0 + 1000);
    let d = t.s.persist.dirty;
    run(&mut t, &["setbit", "mykey", "79", "1"]);
    assert_eq!(t.s.persist.dirty, d);
    run(&mut t, &["setbit", "mykey", "79", "0"]);
    assert_eq!(t.s.persist.dirty, d + 1);
    assert_eq!(expiry(&mut t, "mykey"), T0 + 1000);
    run(&mut t, &["setbit", "fresh", "0", "0"]);
    assert_eq!(t.s.persist.dirty, d + 2);
    clock::clear_mock();
}

#[test]
fn setbit_fuzz_against_model() {
    let mut t = new();
    let mut model = vec![0u8; 0];
    let mut seed = 12345u64;
    for _ in 0..2000 {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let bit = (seed >> 33) % 2048;
        let val = (seed >> 20) & 1;
        let byte = (bit / 8) as usize;
        if model.len() <= byte {
            model.resize(byte + 1, 0);
        }
        let mask = 1 << (7 - bit % 8);
        let old = (model[byte] & mask != 0) as i64;
        if val == 1 {
            model[byte] |= mask
        } else {
            model[byte] &= !mask
        }
        assert_eq!(run(&mut t, &["setbit", "k", &bit.to_string(), &val.to_string()]), int(old));
        assert_eq!(raw(&mut t, "k"), model);
    }
}

#[test]
fn getbit_cases() {
    let mut t = new();
    assert_eq!(run(&mut t, &["getbit", "mykey", "0"]), int(0));
    run(&mut t, &["set", "mykey", "`"]);
    for (o, b) in [("0", 0), ("1", 1), ("2", 1), ("3", 0), ("8", 0), ("100", 0), ("10000", 0)] {
        assert_eq!(run(&mut t, &["getbit", "mykey", o]), int(b), "{o}");
    }
    run(&mut t, &["set", "mykey", "1"]);
    for (o, b) in [("0", 0), ("1", 0), ("2", 1), ("3", 1), ("7", 1), ("8", 0)] {
        assert_eq!(run(&mut t, &["getbit", "mykey", o]), int(b), "{o}");
    }
    assert_eq!(enc(&mut t, "mykey"), "int");
    assert_eq!(run(&mut t, &["getbit", "mykey", "-1"]), err(&CmdError::BIT_OFFSET.0));
    assert_eq!(run(&mut t, &["getbit", "nokey", "x"]), err(&CmdError::BIT_OFFSET.0));
}

fn count_bits(s: &[u8], start_bit: usize, end_bit: usize) -> i64 {
    (start_bit..=end_bit).filter(|&i| i / 8 < s.len() && s[i / 8] & (0x80 >> (i % 8)) != 0).count() as i64
}

#[test]
fn bitcount_cases() {
    let mut t = new();
    assert_eq!(run(&mut t, &["bitcount", "no-key"]), int(0));
    assert_eq!(run(&mut t, &["bitcount", "no-key", "0", "1000", "bit"]), int(0));
    // A missing key answers 0 before the arguments are looked at.
    assert_eq!(run(&mut t, &["bitcount", "no-key", "0"]), int(0));
    run(&mut t, &["set", "str", "xxxx"]);
    assert_eq!(run(&mut t, &["bitcount", "str", "4", "10"]), int(0));
    assert_eq!(run(&mut t, &["bitcount", "str", "32", "87", "bit"]), int(0));
    assert_eq!(run(&mut t, &["bitcount", "str", "-6", "-7"]), int(0));
    assert_eq!(run(&mut t, &["bitcount", "str", "-6", "-15", "bit"]), int(0));
    for v in [&b""[..], b"\xaa", b"\x00\x00\xff", b"foobar", b"123"] {
        runb(&mut t, &[b"set", b"str", v]);
        let n = count_bits(v, 0, v.len() * 8);
        assert_eq!(decode(&runb(&mut t, &[b"bitcount", b"str"])), int(n));
        assert_eq!(decode(&runb(&mut t, &[b"bitcount", b"str", b"0", b"-1", b"bit"])), int(n));
    }
    run(&mut t, &["set", "s", "foobar"]);
    let s = b"foobar";
    assert_eq!(run(&mut t, &["bitcount", "s", "1", "-2"]), int(count_bits(b"ooba", 0, 31)));
    assert_eq!(run(&mut t, &["bitcount", "s", "-2", "1"]), int(0));
    assert_eq!(run(&mut t, &["bitcount", "s", "0", "1000"]), int(count_bits(s, 0, 47)));
    for (a, b, from, to) in [
        ("10", "14", 10, 14),
        ("3", "14", 3, 14),
        ("3", "29", 3, 29),
        ("10", "-34", 10, 14),
        ("3", "-34", 3, 14),
        ("3", "-19", 3, 29),
        ("0", "1000", 0, 47),
    ] {
        assert_eq!(run(&mut t, &["bitcount", "s", a, b, "BIT"]), int(count_bits(s, from, to)), "{a} {b}");
    }
    assert_eq!(run(&mut t, &["bitcount", "s", "-2", "1", "bit"]), int(0));
    assert_eq!(run(&mut t, &["bitcount", "s", "0", "0", "byte"]), int(count_bits(s, 0, 7)));
    assert_eq!(run(&mut t, &["bitcount", "s", "0"]), err(&CmdError::SYNTAX.0));
    assert_eq!(run(&mut t, &["bitcount", "s", "0", "1", "hello"]), err(&CmdError::SYNTAX.0));
    assert_eq!(run(&mut t, &["bitcount", "s", "0", "1", "bit", "x"]), err(&CmdError::SYNTAX.0));
    assert_eq!(run(&mut t, &["bitcount", "s", "a", "1"]), err(&CmdError::NOT_INT.0));
    run(&mut t, &["set", "foo", ""]);
    run(&mut t, &["setbit", "foo", "0", "1"]);
    assert_eq!(run(&mut t, &["bitcount", "foo", "0", "4294967296"]), int(1));
    run(&mut t, &["set", "str", "ab"]);
    assert_eq!(run(&mut t, &["bitcount", "str", "1", "-1"]), int(3));
    run(&mut t, &["set", "str", "__PPxxxxxxxxxxxxxxxxRR__"]);
    assert_eq!(run(&mut t, &["bitcount", "str", "2", "-3"]), int(74));
    // Every bit range of a random string against the model.
    let v: Vec<u8> = (0..40u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    runb(&mut t, &[b"set", b"r", &v]);
    for a in (0..320).step_by(3) {
        for b in (a..330).step_by(5) {
            let got = runb(&mut t, &[b"bitcount", b"r", a.to_string().as_bytes(), b.to_string().as_bytes(), b"bit"]);
            assert_eq!(decode(&got), int(count_bits(&v, a, b.min(319))), "{a} {b}");
        }
    }
}

/// Model of BITPOS with an explicit bit range (no zero padding past `end`).
fn model_bitpos(s: &[u8], bit: bool, start: usize, end: usize) -> i64 {
    (start..=end.min(s.len() * 8 - 1)).find(|&i| (s[i / 8] & (0x80 >> (i % 8)) != 0) == bit).map_or(-1, |i| i as i64)
}

#[test]
fn bitpos_cases() {
    let mut t = new();
    assert_eq!(run(&mut t, &["bitpos", "str", "0"]), int(0));
    assert_eq!(run(&mut t, &["bitpos", "str", "0", "0", "-1", "bit"]), int(0));
    assert_eq!(run(&mut t, &["bitpos", "str", "1"]), int(-1));
    assert_eq!(run(&mut t, &["bitpos", "str", "1", "0", "-1"]), int(-1));
    let cases: &[(&[u8], &[&str], i64)] = &[
        (b"\xff\xf0\x00", &["0"], 12),
        (b"\xff\xf0\x00", &["0", "0", "-1", "bit"], 12),
        (b"\x00\x0f\x00", &["1"], 12),
        (b"\x00\x0f\x00", &["1", "0", "-1", "bit"], 12),
        (b"\xff\xf0\x00", &["0", "1"], 12),
        (b"\xff\xf0\x00", &["0", "1", "-1", "bit"], 12),
        (b"\x00\x0f\xff", &["1", "1"], 12),
        (b"\x00\x0f\xff", &["1", "1", "-1", "bit"], 12),
        (b"\x00\xff\x00", &["0", "0", "-1"], 0),
        (b"\x00\xff\x00", &["0", "1", "-1"], 16),
        (b"\x00\xff\x00", &["0", "2", "-1"], 16),
        (b"\x00\xff\x00", &["0", "2", "200"], 16),
        (b"\x00\xff\x00", &["0", "1", "1"], -1),
        (b"\x00\xff\x00", &["0", "0", "-1", "bit"], 0),
        (b"\x00\xff\x00", &["0", "8", "-1", "bit"], 16),
        (b"\x00\xff\x00", &["0", "16", "-1", "bit"], 16),
        (b"\x00\xff\x00", &["0", "16", "200", "bit"], 16),
        (b"\x00\xff\x00", &["0", "8", "8", "bit"], -1),
        (b"\x00\xff\x00", &["1", "0", "-1"], 8),
        (b"\x00\xff\x00", &["1", "1", "-1"], 8),
        (b"\x00\xff\x00", &["1", "2", "-1"], -1),
        (b"\x00\xff\x00", &["1", "2", "200"], -1),
        (b"\x00\xff\x00", &["1", "1", "1"], 8),
        (b"\x00\xff\x00", &["1", "0", "-1", "bit"], 8),
        (b"\x00\xff\x00", &["1", "8", "-1", "bit"], 8),
        (b"\x00\xff\x00", &["1", "16", "-1", "bit"], -1),
        (b"\x00\xff\x00", &["1", "16", "200", "bit"], -1),
        (b"\x00\xff\x00", &["1", "8", "8", "bit"], 8),
        (b"\xff\xff\xff", &["0"], 24),
        (b"\xff\xff\xff", &["0", "0"], 24),
        (b"\xff\xff\xff", &["0", "0", "-1"], -1),
        (b"\xff\xff\xff", &["0", "0", "-1", "bit"], -1),
        (b"\xff\xff\xff", &["0", "2", "1"], -1),
    ];
    for (v, args, want) in cases {
        runb(&mut t, &[b"set", b"str", v]);
        let mut a: Vec<&[u8]> = vec![b"bitpos", b"str"];
        a.extend(args.iter().map(|s| s.as_bytes()));
        assert_eq!(decode(&runb(&mut t, &a)), int(*want), "{v:?} {args:?}");
    }
    // Unaligned prefix + full words + remainder.
    let mut v = vec![0xffu8; 27];
    v.push(0x0f);
    runb(&mut t, &[b"set", b"str", &v]);
    for start in ["1", "2", "3", "4", "5", "6", "7", "8"] {
        assert_eq!(run(&mut t, &["bitpos", "str", "0", start]), int(216));
    }
    for start in ["1", "9", "17", "25", "33", "41", "49", "57", "65"] {
        assert_eq!(run(&mut t, &["bitpos", "str", "0", start, "-1", "bit"]), int(216));
    }
    let v: Vec<u8> = v.iter().map(|b| !b).collect();
    runb(&mut t, &[b"set", b"str", &v]);
    assert_eq!(run(&mut t, &["bitpos", "str", "1"]), int(216));
    assert_eq!(run(&mut t, &["bitpos", "str", "1", "33", "-1", "bit"]), int(216));
    assert_eq!(run(&mut t, &["bitpos", "str", "2"]), err(&BIT_ARG.0));
    assert_eq!(run(&mut t, &["bitpos", "str", "x"]), err(&CmdError::NOT_INT.0));
    assert_eq!(run(&mut t, &["bitpos", "str", "1", "0", "1", "foo"]), err(&CmdError::SYNTAX.0));
    assert_eq!(run(&mut t, &["bitpos", "str", "1", "0", "1", "bit", "x"]), err(&CmdError::SYNTAX.0));
    assert_eq!(run(&mut t, &["bitpos", "str", "1", "a"]), err(&CmdError::NOT_INT.0));
    // Bit ranges against the model, for both bit values.
    let v: Vec<u8> = (0..10u32).map(|i| (i.wrapping_mul(2654435761) >> 11) as u8).collect();
    runb(&mut t, &[b"set", b"r", &v]);
    for bit in [false, true] {
        for a in 0..80usize {
            for b in a..85 {
                let got = runb(
                    &mut t,
                    &[
                        b"bitpos",
                        b"r",
                        if bit { b"1" } else { b"0" },
                        a.to_string().as_bytes(),
                        b.to_string().as_bytes(),
                        b"bit",
                    ],
                );
                assert_eq!(decode(&got), int(model_bitpos(&v, bit, a, b)), "{bit} {a} {b}");
            }
        }
    }
}

#[test]
fn bitop_cases() {
    let mut t = frozen();
    run(&mut t, &["set", "s", ""]);
    assert_eq!(run(&mut t, &["bitop", "not", "dest", "s"]), int(0));
    assert_eq!(run_raw(&mut t, &["get", "dest"]), NIL);
    runb(&mut t, &[b"set", b"s", b"\xaa\x00\xff\x55"]);
    assert_eq!(run(&mut t, &["bitop", "not", "dest", "s"]), int(4));
    assert_eq!(raw(&mut t, "dest"), b"\x55\xff\x00\xaa");
    assert_eq!(enc(&mut t, "dest"), "raw");
    run(&mut t, &["bitop", "not", "s", "s"]);
    assert_eq!(raw(&mut t, "s"), b"\x55\xff\x00\xaa");
    runb(&mut t, &[b"set", b"a", b"\x01\x02\xff"]);
    for op in ["and", "or", "xor"] {
        run(&mut t, &["bitop", op, "res", "a"]);
        assert_eq!(raw(&mut t, "res"), b"\x01\x02\xff", "{op}");
    }
    run(&mut t, &["bitop", "and", "res1", "no-suck-key", "a"]);
    run(&mut t, &["bitop", "or", "res2", "no-suck-key", "a", "no-such-key"]);
    run(&mut t, &["bitop", "xor", "res3", "no-such-key", "a"]);
    assert_eq!(raw(&mut t, "res1"), b"\x00\x00\x00");
    assert_eq!(raw(&mut t, "res2"), b"\x01\x02\xff");
    assert_eq!(raw(&mut t, "res3"), b"\x01\x02\xff");
    runb(&mut t, &[b"set", b"a", b"\x01\x02\xff\xff"]);
    runb(&mut t, &[b"set", b"b", b"\x01\x02\xff"]);
    assert_eq!(run(&mut t, &["bitop", "AND", "res1", "a", "b"]), int(4));
    run(&mut t, &["bitop", "Or", "res2", "a", "b"]);
    run(&mut t, &["bitop", "xOr", "res3", "a", "b"]);
    assert_eq!(raw(&mut t, "res1"), b"\x01\x02\xff\x00");
    assert_eq!(raw(&mut t, "res2"), b"\x01\x02\xff\xff");
    assert_eq!(raw(&mut t, "res3"), b"\x00\x00\x00\xff");
    run(&mut t, &["bitop", "and", "res1", "b", "a"]);
    assert_eq!(raw(&mut t, "res1"), b"\x01\x02\xff\x00");
    run(&mut t, &["set", "a", "1"]);
    run(&mut t, &["set", "b", "2"]);
    run(&mut t, &["bitop", "xor", "dest", "a", "b", "a"]);
    assert_eq!(run(&mut t, &["get", "dest"]), bulk("2"));
    runb(&mut t, &[b"set", b"z", &[0u8; 32]]);
    assert_eq!(run(&mut t, &["bitop", "or", "x", "z", "nokey"]), int(32));
    // Against the model for several sources of mixed lengths.
    let srcs: Vec<Vec<u8>> = (0..5u32).map(|k| (0..(k * 7 + 3)).map(|i| (i * 37 + k * 101) as u8).collect()).collect();
    for (k, s) in srcs.iter().enumerate() {
        runb(&mut t, &[b"set", format!("v{k}").as_bytes(), s]);
    }
    let maxlen = srcs.iter().map(|s| s.len()).max().unwrap();
    let byte = |k: usize, i: usize| srcs[k].get(i).copied().unwrap_or(0);
    for (op, f) in [("and", (|a, b| a & b) as fn(u8, u8) -> u8), ("or", |a, b| a | b), ("xor", |a, b| a ^ b)] {
        run(&mut t, &["bitop", op, "out", "v0", "v1", "v2", "v3", "v4"]);
        let want: Vec<u8> = (0..maxlen).map(|i| (1..5).fold(byte(0, i), |acc, k| f(acc, byte(k, i)))).collect();
        assert_eq!(raw(&mut t, "out"), want, "{op}");
    }
    // The target loses its TTL, or the key when the result is empty.
    t.s.dbs[0].set_expire(b"out", T0 + 1000);
    run(&mut t, &["bitop", "or", "out", "v0"]);
    assert_eq!(expiry(&mut t, "out"), 0);
    let d = t.s.persist.dirty;
    assert_eq!(run(&mut t, &["bitop", "or", "out", "nokey"]), int(0));
    assert!(!exists(&mut t, "out"));
    assert_eq!(t.s.persist.dirty, d + 1);
    assert_eq!(run(&mut t, &["bitop", "or", "out", "nokey"]), int(0));
    assert_eq!(t.s.persist.dirty, d + 1);
    assert_eq!(run(&mut t, &["bitop", "not", "dest", "a", "b"]), err(&BITOP_NOT_ARITY.0));
    assert_eq!(run(&mut t, &["bitop", "nand", "dest", "a"]), err(&CmdError::SYNTAX.0));
    assert_eq!(run(&mut t, &["bitop", "and", "dest"]), err("ERR wrong number of arguments for 'bitop' command"));
    clock::clear_mock();
}

#[test]
fn bitfield_basics() {
    let mut t = new();
    let raw_arr = |items: &[&str]| format!("*{}\r\n{}", items.len(), items.concat());
    assert_eq!(run_raw(&mut t, &["bitfield", "bits", "set", "i8", "0", "-100"]), raw_arr(&[":0\r\n"]));
    assert_eq!(run_raw(&mut t, &["bitfield", "bits", "set", "i8", "0", "101"]), raw_arr(&[":-100\r\n"]));
    assert_eq!(run_raw(&mut t, &["bitfield", "bits", "get", "i8", "0"]), raw_arr(&[":101\r\n"]));
    assert_eq!(enc(&mut t, "bits"), "raw");
    t.s.dbs[0].remove(b"bits");
    assert_eq!(run_raw(&mut t, &["bitfield", "bits", "set", "u8", "0", "255"]), raw_arr(&[":0\r\n"]));
    assert_eq!(run_raw(&mut t, &["bitfield", "bits", "set", "u8", "0", "100"]), raw_arr(&[":255\r\n"]));
    assert_eq!(run_raw(&mut t, &["bitfield", "bits", "get", "u8", "0"]), raw_arr(&[":100\r\n"]));
    t.s.dbs[0].remove(b"bits");
    assert_eq!(
        run_raw(&mut t, &["bitfield", "bits", "set", "i8", "0", "255", "set", "i8", "0", "100", "get", "i8", "0"]),
        raw_arr(&[":0\r\n", ":-1\r\n", ":100\r\n"])
    );
    t.s.dbs[0].remove(b"bits");
    assert_eq!(
        run_raw(&mut t, &["bitfield", "bits", "set", "u8", "0", "255", "incrby", "u8", "0", "100", "get", "u8", "0"]),
        raw_arr(&[":0\r\n", ":99\r\n", ":99\r\n"])
    );
    t.s.dbs[0].remove(b"bits");
    assert_eq!(run(&mut t, &["bitfield", "bits"]), arr(vec![]));
    assert!(!exists(&mut t, "bits"));
    run(&mut t, &["bitfield", "bits", "set", "u8", "#0", "65"]);
    run(&mut t, &["bitfield", "bits", "set", "u8", "#1", "66"]);
    run(&mut t, &["bitfield", "bits", "set", "u8", "#2", "67"]);
    assert_eq!(run(&mut t, &["get", "bits"]), bulk("ABC"));
    run(&mut t, &["bitfield", "bits", "set", "u8", "#0", "10"]);
    assert_eq!(
        run_raw(&mut t, &["bitfield", "bits", "incrby", "u8", "#0", "100", "incrby", "u8", "#0", "100"]),
        raw_arr(&[":110\r\n", ":210\r\n"])
    );
    let ow = |t: &mut T, args: &[&str]| {
        let mut a = vec!["bitfield", "bits"];
        a.extend_from_slice(args);
        run_raw(t, &a)
    };
    run(&mut t, &["bitfield", "bits", "set", "u8", "#0", "100"]);
    assert_eq!(ow(&mut t, &["overflow", "wrap", "incrby", "u8", "#0", "257"]), raw_arr(&[":101\r\n"]));
    assert_eq!(ow(&mut t, &["overflow", "wrap", "incrby", "u8", "#0", "255"]), raw_arr(&[":100\r\n"]));
    assert_eq!(ow(&mut t, &["overflow", "sat", "incrby", "u8", "#0", "257"]), raw_arr(&[":255\r\n"]));
    assert_eq!(ow(&mut t, &["overflow", "sat", "incrby", "u8", "#0", "-255"]), raw_arr(&[":0\r\n"]));
    run(&mut t, &["bitfield", "bits", "set", "i8", "#0", "100"]);
    assert_eq!(ow(&mut t, &["overflow", "wrap", "incrby", "i8", "#0", "257"]), raw_arr(&[":101\r\n"]));
    assert_eq!(ow(&mut t, &["overflow", "wrap", "incrby", "i8", "#0", "255"]), raw_arr(&[":100\r\n"]));
    assert_eq!(ow(&mut t, &["overflow", "sat", "incrby", "i8", "#0", "257"]), raw_arr(&[":127\r\n"]));
    assert_eq!(ow(&mut t, &["overflow", "sat", "incrby", "i8", "#0", "-255"]), raw_arr(&[":-128\r\n"]));
    assert_eq!(ow(&mut t, &["overflow", "fail", "incrby", "i8", "#0", "-1"]), raw_arr(&["$-1\r\n"]));
    assert_eq!(ow(&mut t, &["get", "i8", "#0"]), raw_arr(&[":-128\r\n"]));
    // OVERFLOW applies to the operations after it only.
    assert_eq!(
        ow(&mut t, &["incrby", "i8", "#0", "-1", "overflow", "fail", "incrby", "i8", "#0", "-1"]),
        raw_arr(&[":127\r\n", ":126\r\n"])
    );
    run(&mut t, &["set", "bits", "1"]);
    assert_eq!(ow(&mut t, &["get", "u1", "0"]), raw_arr(&[":0\r\n"]));
    assert_eq!(
        ow(&mut t, &["get", "u8", "0", "get", "i64", "4", "get", "u63", "1000"]),
        raw_arr(&[":49\r\n", ":1152921504606846976\r\n", ":0\r\n"])
    );
    for _ in 0..3 {
        t.s.dbs[0].remove(b"mystring");
        assert_eq!(
            run_raw(
                &mut t,
                &[
                    "BITFIELD", "mystring", "SET", "i8", "0", "10", "SET", "i8", "64", "10", "INCRBY", "i8", "10",
                    "99900"
                ]
            ),
            raw_arr(&[":0\r\n", ":0\r\n", ":60\r\n"])
        );
    }
    t.s.clients[t.me].resp = 3;
    assert_eq!(ow(&mut t, &["overflow", "fail", "set", "u2", "0", "4"]), raw_arr(&["_\r\n"]));
}

#[test]
fn bitfield_errors() {
    let mut t = new();
    let typ = err(&BITFIELD_TYPE.0);
    for ty in ["u64", "i65", "i0", "u0", "x8", "i", "I8", "u-1", "i08"] {
        assert_eq!(run(&mut t, &["bitfield", "k", "get", ty, "0"]), typ, "{ty}");
    }
    assert_eq!(run(&mut t, &["bitfield", "k", "get", "i64", "0"]), ints(&[0]));
    let off = err(&CmdError::BIT_OFFSET.0);
    for o in ["-1", "x", "#-1", "##1", &(4u64 << 32).to_string(), "#536870912"] {
        assert_eq!(run(&mut t, &["bitfield", "k", "get", "u8", o]), off, "{o}");
    }
    assert_eq!(run(&mut t, &["bitfield", "k", "overflow", "foo"]), err(&BITFIELD_OVERFLOW.0));
    assert_eq!(run(&mut t, &["bitfield", "k", "foo"]), err(&CmdError::SYNTAX.0));
    assert_eq!(run(&mut t, &["bitfield", "k", "get", "u8"]), err(&CmdError::SYNTAX.0));
    assert_eq!(run(&mut t, &["bitfield", "k", "set", "u8", "0"]), err(&CmdError::SYNTAX.0));
    assert_eq!(run(&mut t, &["bitfield", "k", "overflow"]), err(&CmdError::SYNTAX.0));
    assert_eq!(run(&mut t, &["bitfield", "k", "set", "u8", "0", "x"]), err(&CmdError::NOT_INT.0));
    assert!(!exists(&mut t, "k"));
    run(&mut t, &["bitfield", "k", "set", "u8", "0", "100"]);
    assert_eq!(run(&mut t, &["bitfield_ro", "k", "get", "u8", "0"]), ints(&[100]));
    assert_eq!(run(&mut t, &["bitfield_ro", "k"]), arr(vec![]));
    assert_eq!(
        run(&mut t, &["bitfield_ro", "k", "set", "u8", "0", "100", "get", "u8", "0"]),
        err(&BITFIELD_RO_WRITE.0)
    );
    assert_eq!(run(&mut t, &["bitfield_ro", "k", "incrby", "u8", "0", "1"]), err(&BITFIELD_RO_WRITE.0));
    assert_eq!(run(&mut t, &["bitfield_ro", "nokey", "get", "i8", "0"]), ints(&[0]));
    assert_eq!(run(&mut t, &["bitfield_ro", "k", "overflow", "sat"]), arr(vec![]));
}

#[test]
fn bitfield_dirty_counts_changes() {
    let mut t = new();
    let d = t.s.persist.dirty;
    run(&mut t, &["setbit", "foo", "0", "0"]);
    run(&mut t, &["bitfield", "foo2", "set", "i5", "0", "0"]);
    assert_eq!(t.s.persist.dirty, d + 2);
    run(&mut t, &["setbit", "foo", "0", "0"]);
    run(&mut t, &["bitfield", "foo2", "set", "i5", "0", "0"]);
    assert_eq!(t.s.persist.dirty, d + 2);
    for v in ["1", "1", "0", "0"] {
        run(&mut t, &["setbit", "foo", "0", v]);
        run(&mut t, &["bitfield", "foo2", "set", "i5", "0", v]);
    }
    assert_eq!(t.s.persist.dirty, d + 6);
    run(&mut t, &["bitfield", "foo3", "incrby", "i5", "0", "1"]);
    run(&mut t, &["bitfield", "foo3", "incrby", "i5", "0", "1"]);
    assert_eq!(t.s.persist.dirty, d + 8);
    run(&mut t, &["setbit", "foo", "90", "0"]);
    run(&mut t, &["bitfield", "foo2", "set", "i5", "90", "0"]);
    assert_eq!(t.s.persist.dirty, d + 10);
    // One per changing operation.
    run(&mut t, &["bitfield", "foo2", "set", "u8", "0", "1", "set", "u8", "8", "1", "set", "u8", "8", "1"]);
    assert_eq!(t.s.persist.dirty, d + 12);
}

/// The suite's overflow fuzzers, with i128 arithmetic as the model.
#[test]
fn bitfield_overflow_fuzz() {
    let mut t = new();
    let mut seed = 99u64;
    let mut rnd = |n: u128| {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let hi = seed as u128;
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((hi << 64) | seed as u128) % n
    };
    for _ in 0..2000 {
        let bits = rnd(64) as u32 + 1;
        let signed = bits == 64 || rnd(2) == 1;
        let range: i128 = 1 << bits;
        let (min, ty) = if signed { (-(range / 2), format!("i{bits}")) } else { (0, format!("u{bits}")) };
        let max = min + range - 1;
        let clamp = |v: i128| v.clamp(i64::MIN as i128, i64::MAX as i128);
        let value = clamp(min * 2 + rnd((range * 2) as u128) as i128);
        let incr = clamp(min * 2 + rnd((range * 2) as u128) as i128);
        let overflow = value > max || value < min || value + incr > max || value + incr < min;
        t.s.dbs[0].remove(b"bits");
        let r1 = run_raw(&mut t, &["bitfield", "bits", "overflow", "fail", "set", &ty, "0", &value.to_string()]);
        let r2 = run_raw(&mut t, &["bitfield", "bits", "overflow", "fail", "incrby", &ty, "0", &incr.to_string()]);
        let failed = r1.contains("$-1") || r2.contains("$-1");
        assert_eq!(failed, overflow, "{ty} {value}+{incr}: {r1:?} {r2:?}");

        t.s.dbs[0].remove(b"bits");
        run(&mut t, &["bitfield", "bits", "overflow", "wrap", "set", &ty, "0", &value.to_string()]);
        run(&mut t, &["bitfield", "bits", "overflow", "wrap", "incrby", &ty, "0", &incr.to_string()]);
        let got = run_raw(&mut t, &["bitfield", "bits", "get", &ty, "0"]);
        let wrapped = (value + incr - min).rem_euclid(range) + min;
        assert_eq!(got, format!("*1\r\n:{wrapped}\r\n"), "WRAP {ty} {value}+{incr}");

        t.s.dbs[0].remove(b"bits");
        run(&mut t, &["bitfield", "bits", "overflow", "sat", "set", &ty, "0", &value.to_string()]);
        let got = run_raw(&mut t, &["bitfield", "bits", "overflow", "sat", "incrby", &ty, "0", &incr.to_string()]);
        let want = (value.clamp(min, max) + incr).clamp(min, max);
        assert_eq!(got, format!("*1\r\n:{want}\r\n"), "SAT {ty} {value}+{incr}");
    }
}
