//! Tests of the RDB reader and writer against files written by redis-server 7.0.15 (tests/data, made by
//! tests/data/make-fixtures.sh with the expectations redis-cli printed), and a fuzz of mutated files and
//! DUMP payloads (persist layer, tests only).

use super::dump;
use super::rdb::*;
use crate::types::db::Entry;
use crate::types::encodings::Encodings;
use crate::types::stream::StreamId;
use crate::types::value::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

// ---------------------------------------------------------------------------------------------------------
// A small JSON reader for redis-cli --json output (which prints infinite scores bare: inf, -inf).
// ---------------------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Num(f64),
    Str(Vec<u8>),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    fn get(&self, k: &str) -> &Json {
        match self {
            Json::Obj(v) => v.iter().find(|(n, _)| n == k).map(|(_, x)| x).unwrap_or_else(|| panic!("no {k}")),
            _ => panic!("not an object: {self:?}"),
        }
    }
    fn arr(&self) -> &[Json] {
        match self {
            Json::Arr(v) => v,
            _ => panic!("not an array: {self:?}"),
        }
    }
    fn bytes(&self) -> &[u8] {
        match self {
            Json::Str(s) => s,
            _ => panic!("not a string: {self:?}"),
        }
    }
    fn num(&self) -> f64 {
        match self {
            Json::Num(n) => *n,
            _ => panic!("not a number: {self:?}"),
        }
    }
    fn id(&self) -> StreamId {
        let s = std::str::from_utf8(self.bytes()).unwrap();
        let (ms, seq) = s.split_once('-').unwrap();
        StreamId::new(ms.parse().unwrap(), seq.parse().unwrap())
    }
}

fn parse_json(s: &[u8]) -> Json {
    let mut p = 0;
    let v = json_value(s, &mut p);
    assert_eq!(p, s.len(), "trailing JSON");
    v
}

fn json_value(s: &[u8], p: &mut usize) -> Json {
    let word = |p: &mut usize, w: &str| -> bool {
        if s[*p..].starts_with(w.as_bytes()) {
            *p += w.len();
            true
        } else {
            false
        }
    };
    match s[*p] {
        b'n' if word(p, "null") => Json::Null,
        b't' if word(p, "true") => Json::Bool(true),
        b'f' if word(p, "false") => Json::Bool(false),
        b'i' if word(p, "inf") => Json::Num(f64::INFINITY),
        b'"' => Json::Str(json_string(s, p)),
        b'[' => {
            *p += 1;
            let mut v = Vec::new();
            while s[*p] != b']' {
                v.push(json_value(s, p));
                if s[*p] == b',' {
                    *p += 1;
                }
            }
            *p += 1;
            Json::Arr(v)
        }
        b'{' => {
            *p += 1;
            let mut v = Vec::new();
            while s[*p] != b'}' {
                let k = String::from_utf8(json_string(s, p)).unwrap();
                assert_eq!(s[*p], b':');
                *p += 1;
                v.push((k, json_value(s, p)));
                if s[*p] == b',' {
                    *p += 1;
                }
            }
            *p += 1;
            Json::Obj(v)
        }
        _ => {
            if word(p, "-inf") {
                return Json::Num(f64::NEG_INFINITY);
            }
            let start = *p;
            while *p < s.len() && matches!(s[*p], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') {
                *p += 1;
            }
            Json::Num(std::str::from_utf8(&s[start..*p]).unwrap().parse().unwrap())
        }
    }
}

fn json_string(s: &[u8], p: &mut usize) -> Vec<u8> {
    assert_eq!(s[*p], b'"');
    *p += 1;
    let mut out = Vec::new();
    loop {
        match s[*p] {
            b'"' => {
                *p += 1;
                return out;
            }
            b'\\' => {
                *p += 1;
                match s[*p] {
                    b'n' => out.push(b'\n'),
                    b'r' => out.push(b'\r'),
                    b't' => out.push(b'\t'),
                    b'u' => {
                        let h = std::str::from_utf8(&s[*p + 1..*p + 5]).unwrap();
                        let c = char::from_u32(u32::from_str_radix(h, 16).unwrap()).unwrap();
                        let mut b = [0u8; 4];
                        out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
                        *p += 4;
                    }
                    c => out.push(c),
                }
                *p += 1;
            }
            c => {
                out.push(c);
                *p += 1;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Loading fixtures
// ---------------------------------------------------------------------------------------------------------

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}

/// Redis 7.0.15's defaults (hash-max-listpack-entries is 512 there).
fn redis_enc() -> Encodings {
    Encodings { hash_max_listpack_entries: 512, ..Encodings::default() }
}

/// Everything a file holds, with each entry's byte range in the file.
#[derive(Default)]
struct Loaded {
    entries: BTreeMap<(usize, Vec<u8>), (LoadedEntry, std::ops::Range<usize>)>,
    functions: Vec<Vec<u8>>,
    aux: Vec<(Vec<u8>, Vec<u8>)>,
    skipped: u64,
}

fn load(bytes: &[u8]) -> Result<Loaded, RdbError> {
    let mut r = RdbReader::new(bytes, redis_enc(), true)?;
    let mut out = Loaded::default();
    let mut db = 0;
    loop {
        let start = r.offset() as usize;
        match r.next()? {
            Item::Aux(k, v) => out.aux.push((k, v)),
            Item::SelectDb(d) => db = d,
            Item::ResizeDb { .. } => {}
            Item::Function(code) => out.functions.push(code),
            Item::Entry(e) => {
                let end = r.offset() as usize;
                assert!(out.entries.insert((db, e.key.clone()), (e, start..end)).is_none(), "duplicate key");
            }
            Item::Eof => break,
        }
    }
    out.skipped = r.empty_keys_skipped();
    Ok(out)
}

fn kind_name(v: &Value) -> &'static str {
    v.kind().name()
}

/// Compare one loaded value with what redis-cli showed for it.
fn check_value(key: &str, v: &Value, want: &Json) {
    match v {
        Value::Int(_) | Value::Emb(_) | Value::Raw(_) => assert_eq!(v.to_vec().unwrap(), want.bytes(), "{key}"),
        Value::List(l) => {
            let got: Vec<&[u8]> = l.iter().collect();
            let exp: Vec<&[u8]> = want.arr().iter().map(Json::bytes).collect();
            assert_eq!(got, exp, "{key}");
        }
        Value::Set(s) => {
            let mut got: Vec<Vec<u8>> = s.members().map(|m| m.to_vec()).collect();
            let mut exp: Vec<Vec<u8>> = want.arr().iter().map(|j| j.bytes().to_vec()).collect();
            got.sort();
            exp.sort();
            assert_eq!(got, exp, "{key}");
        }
        Value::ZSet(z) => {
            let got: Vec<(Vec<u8>, f64)> = z.iter().map(|(m, s)| (m.to_vec(), s)).collect();
            let exp: Vec<(Vec<u8>, f64)> =
                want.arr().iter().map(|p| (p.arr()[0].bytes().to_vec(), p.arr()[1].num())).collect();
            assert_eq!(got, exp, "{key}");
        }
        Value::Hash(h) => {
            let mut got: Vec<(Vec<u8>, Vec<u8>)> = h.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect();
            let Json::Obj(o) = want else { panic!("{key}: hash not an object") };
            let mut exp: Vec<(Vec<u8>, Vec<u8>)> =
                o.iter().map(|(f, v)| (f.as_bytes().to_vec(), v.bytes().to_vec())).collect();
            got.sort();
            exp.sort();
            assert_eq!(got, exp, "{key}");
        }
        Value::Stream(st) => {
            assert_eq!(st.len() as f64, want.get("length").num(), "{key}");
            assert_eq!(st.node_count() as f64, want.get("radix-tree-keys").num(), "{key}");
            assert_eq!(st.last_id, want.get("last-generated-id").id(), "{key}");
            assert_eq!(st.max_deleted_id, want.get("max-deleted-entry-id").id(), "{key}");
            assert_eq!(st.entries_added as f64, want.get("entries-added").num(), "{key}");
            assert_eq!(st.first_id, want.get("recorded-first-entry-id").id(), "{key}");
            let got: Vec<(StreamId, Vec<Vec<u8>>)> =
                st.iter().map(|e| (e.id, e.elements().map(|x| x.to_vec()).collect())).collect();
            let exp: Vec<(StreamId, Vec<Vec<u8>>)> = want
                .get("entries")
                .arr()
                .iter()
                .map(|e| (e.arr()[0].id(), e.arr()[1].arr().iter().map(|x| x.bytes().to_vec()).collect()))
                .collect();
            assert_eq!(got, exp, "{key}");
            let groups = want.get("groups").arr();
            assert_eq!(st.groups.len(), groups.len(), "{key}");
            for (g, (name, grp)) in groups.iter().zip(&st.groups) {
                assert_eq!(g.get("name").bytes(), &name[..], "{key}");
                assert_eq!(grp.last_id, g.get("last-delivered-id").id(), "{key}");
                let er = match g.get("entries-read") {
                    Json::Null => -1,
                    n => n.num() as i64,
                };
                assert_eq!(grp.entries_read, er, "{key}");
                let pel: Vec<(StreamId, Vec<u8>, i64, u64)> = g
                    .get("pending")
                    .arr()
                    .iter()
                    .map(|p| {
                        let p = p.arr();
                        (p[0].id(), p[1].bytes().to_vec(), p[2].num() as i64, p[3].num() as u64)
                    })
                    .collect();
                let got: Vec<(StreamId, Vec<u8>, i64, u64)> = grp
                    .pel
                    .iter()
                    .map(|(id, n)| (*id, n.consumer.clone(), n.delivery_time, n.delivery_count))
                    .collect();
                assert_eq!(got, pel, "{key}");
                let cons: Vec<(Vec<u8>, i64, Vec<StreamId>)> = g
                    .get("consumers")
                    .arr()
                    .iter()
                    .map(|c| {
                        let ids = c.get("pending").arr().iter().map(|p| p.arr()[0].id()).collect();
                        (c.get("name").bytes().to_vec(), c.get("seen-time").num() as i64, ids)
                    })
                    .collect();
                let got: Vec<(Vec<u8>, i64, Vec<StreamId>)> = grp
                    .consumers
                    .iter()
                    .map(|(n, c)| (n.clone(), c.seen_time, c.pel.iter().copied().collect()))
                    .collect();
                assert_eq!(got, cons, "{key}");
            }
        }
    }
}

/// Load a fixture and check it against its expectation file; returns what was loaded.
fn check_fixture(name: &str) -> (Vec<u8>, Loaded) {
    let bytes = std::fs::read(data(&format!("{name}.rdb"))).unwrap();
    let loaded = load(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    let expected = std::fs::read(data(&format!("{name}.expected.jsonl"))).unwrap();
    let mut keys = 0;
    for line in expected.split(|&c| c == b'\n').filter(|l| !l.is_empty()) {
        let j = parse_json(line);
        if let Json::Obj(o) = &j {
            if o[0].0 == "functions" {
                let codes: Vec<&[u8]> =
                    j.get("functions").arr().iter().map(|l| l.get("library_code").bytes()).collect();
                let got: Vec<&[u8]> = loaded.functions.iter().map(|c| &c[..]).collect();
                assert_eq!(got, codes, "{name}: functions");
                continue;
            }
        }
        keys += 1;
        let db = j.get("db").num() as usize;
        let key = j.get("key").bytes().to_vec();
        let shown = String::from_utf8_lossy(&key).into_owned();
        let (e, _) = loaded.entries.get(&(db, key)).unwrap_or_else(|| panic!("{name}: {shown} missing"));
        assert_eq!(kind_name(&e.value), std::str::from_utf8(j.get("type").bytes()).unwrap(), "{name}: {shown}");
        assert_eq!(e.value.encoding(), std::str::from_utf8(j.get("encoding").bytes()).unwrap(), "{name}: {shown}");
        let pexp = j.get("pexpiretime").num() as i64;
        assert_eq!(if e.expire_at == 0 { -1 } else { e.expire_at }, pexp, "{name}: {shown}");
        check_value(&shown, &e.value, j.get("value"));
    }
    assert_eq!(loaded.entries.len(), keys, "{name}: key count");
    (bytes, loaded)
}

/// Re-encode everything a file held with our writer, as one RDB file.
fn rewrite(l: &Loaded, compress: bool) -> Vec<u8> {
    let mut out = Vec::new();
    write_header(&mut out, &[("redis-ver", b"7.0.15"), ("redis-bits", b"64"), ("aof-base", b"0")]);
    if compress {
        write_functions(&mut out, l.functions.iter().map(|c| &c[..]));
    } else {
        write_functions_plain(&mut out, l.functions.iter().map(|c| &c[..]));
    }
    let mut dbs: BTreeMap<usize, Vec<&LoadedEntry>> = BTreeMap::new();
    for ((db, _), (e, _)) in &l.entries {
        dbs.entry(*db).or_default().push(e);
    }
    for (db, es) in dbs {
        let expires = es.iter().filter(|e| e.expire_at != 0).count() as u64;
        write_select_db(&mut out, db, es.len() as u64, expires);
        for e in es {
            let entry = Entry::new(&e.key, e.value.clone(), 0);
            if compress {
                encode_entry(&entry, e.expire_at, &mut out);
            } else {
                encode_entry_plain(&entry, e.expire_at, &mut out);
            }
        }
    }
    write_eof(&mut out);
    let crc = crc64(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

const FIXTURES: &[&str] = &[
    "redis-7.0.15-all-types",
    "redis-7.0.15-plain",
    "redis-7.0.15-lru",
    "redis-7.0.15-lfu",
    "encodings",
    "hash-zipmap",
    "hash-ziplist",
    "list-quicklist",
    "zset-ziplist",
    "scriptbackup",
    "corrupt_empty_keys",
];

#[test]
fn fixtures_decode_as_redis_shows_them() {
    for name in FIXTURES {
        let (_, l) = check_fixture(name);
        // Our writer's file reads back to the same keys, values, encodings and TTLs, both ways of compressing.
        for compress in [true, false] {
            let again = load(&rewrite(&l, compress)).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(again.functions, l.functions, "{name}");
            assert_eq!(again.entries.len(), l.entries.len(), "{name}");
            for (k, (e, _)) in &l.entries {
                let (e2, _) = &again.entries[k];
                assert_eq!(e2.value, e.value, "{name}: {:?}", String::from_utf8_lossy(&k.1));
                assert_eq!(e2.value.encoding(), e.value.encoding(), "{name}");
                assert_eq!(e2.expire_at, e.expire_at, "{name}");
            }
        }
    }
}

#[test]
fn fixture_details() {
    let (_, all) = check_fixture("redis-7.0.15-all-types");
    assert!(all.aux.iter().any(|(k, v)| k == b"redis-ver" && v == b"7.0.15"));
    assert_eq!(all.functions.len(), 1);
    let (_, lru) = check_fixture("redis-7.0.15-lru");
    assert!(lru.entries.values().all(|(e, _)| e.lru_idle.is_some() && e.lfu_freq.is_none()));
    let (_, lfu) = check_fixture("redis-7.0.15-lfu");
    assert!(lfu.entries.values().all(|(e, _)| e.lfu_freq.is_some() && e.lru_idle.is_none()));
    let (_, empty) = check_fixture("corrupt_empty_keys");
    assert!(empty.entries.is_empty() && empty.skipped > 0, "empty keys are skipped, as Redis does");
    let bytes = std::fs::read(data("corrupt_ziplist.rdb")).unwrap();
    let err = load(&bytes).err().expect("a corrupt ziplist is refused");
    assert!(err.to_string().contains("integrity check failed"), "{err}");
}

/// Values whose layout in Redis's file does not depend on hash-table order or node packing: our writer
/// must produce the very same bytes for them.
#[test]
fn our_bytes_equal_redis_bytes() {
    for name in ["redis-7.0.15-all-types", "redis-7.0.15-plain"] {
        let (bytes, l) = check_fixture(name);
        let compress = name.ends_with("all-types");
        let mut same = 0;
        for ((_, key), (e, range)) in &l.entries {
            let k = String::from_utf8_lossy(key);
            let order_free = !matches!(&e.value, Value::Set(s) if !s.is_intset())
                && !matches!(&e.value, Value::Hash(h) if !h.is_listpack())
                && !matches!(&e.value, Value::List(l) if l.node_count() > 1)
                && !matches!(&e.value, Value::Stream(s) if s.groups.len() > 1 || s.node_count() > 1 || s.max_deleted_id != StreamId::MIN);
            if !order_free {
                continue;
            }
            let mut ours = Vec::new();
            let entry = Entry::new(key, e.value.clone(), 0);
            encode_entry_with(&entry, e.expire_at, compress, KeyMeta::None, &mut ours);
            assert_eq!(ours, bytes[range.clone()], "{name}: {k}");
            same += 1;
        }
        eprintln!("{name}: {same} of {} keys byte-identical", l.entries.len());
        assert!(same >= 3, "{name}: only {same} keys compared");
    }
}

// ---------------------------------------------------------------------------------------------------------
// Fuzzing: mutated and truncated files and payloads never panic.
// ---------------------------------------------------------------------------------------------------------

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(r: &mut Rng, b: &mut Vec<u8>) {
    for _ in 0..1 + r.below(4) {
        if b.is_empty() {
            return;
        }
        let i = r.below(b.len());
        match r.below(6) {
            0 => b[i] ^= 1 << r.below(8),
            1 => b[i] = r.next() as u8,
            2 => b[i] = [0, 0x3F, 0x40, 0x7F, 0x80, 0x81, 0xC0, 0xC3, 0xFE, 0xFF][r.below(10)],
            3 => {
                b.truncate(i);
            }
            4 => {
                let n = r.below(8).min(b.len() - i);
                b.drain(i..i + n);
            }
            _ => {
                let v = r.next().to_le_bytes();
                b.splice(i..i, v[..1 + r.below(8)].iter().copied());
            }
        }
    }
}

#[test]
fn fuzzed_files_and_payloads_never_panic() {
    let mut r = Rng(0x005E_ED0F_0DD5);
    let mut seeds: Vec<Vec<u8>> = FIXTURES.iter().map(|n| std::fs::read(data(&format!("{n}.rdb"))).unwrap()).collect();
    // DUMP payload bodies of every value in the all-types fixture.
    let (_, all) = check_fixture("redis-7.0.15-all-types");
    let payloads: Vec<Vec<u8>> = all.entries.values().map(|(e, _)| dump::dump_value(&e.value)).collect();
    seeds.push(rewrite(&all, true));
    let iters = 3000;
    let mut errors = 0;
    for i in 0..iters {
        let mut f = seeds[i % seeds.len()].clone();
        mutate(&mut r, &mut f);
        // Checksum off so that the decoders behind it are what gets exercised.
        let res = std::panic::catch_unwind(|| {
            let mut rd = RdbReader::new(&f[..], redis_enc(), false)?;
            for _ in 0..100_000 {
                if rd.next()? == Item::Eof {
                    break;
                }
            }
            Ok::<(), RdbError>(())
        });
        match res {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                errors += 1;
                assert!(!e.to_string().is_empty());
            }
            Err(_) => panic!("panic on mutated file {i}"),
        }
        let p = &payloads[i % payloads.len()];
        let mut body = p[..p.len() - 10].to_vec();
        mutate(&mut r, &mut body);
        let sealed = dump::seal(body);
        let res = std::panic::catch_unwind(|| dump::restore_value(&sealed, &redis_enc()).is_ok());
        assert!(res.is_ok(), "panic on mutated payload {i}");
    }
    assert!(errors > iters / 4, "mutations should mostly be caught ({errors} of {iters})");
}
