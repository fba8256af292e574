//! Bounded fuzzing in `cargo test` (hardening issue): mutated inputs for every decoder a client reaches —
//! the RESP request decoder, the Lua libraries' decoders (cmsgpack.unpack, cjson.decode, struct.unpack)
//! and RESTORE payloads. Each must answer (a value or an error), never panic, hang or overflow a stack.
//!
//! A small deterministic PRNG makes every run the same; a failure prints the input. The default budget
//! runs in seconds in a debug build; `FERRODIS_FUZZ_ITERS=<n>` sets the inputs per target (and
//! `FERRODIS_FUZZ_SEED=<n>` another sequence), and the ignored `*_long` variants run a million each:
//! `cargo test --release --test fuzz -- --ignored`.

use ferrodis::testing::{
    cjson, cmsgpack, crc64, dump_value, lstruct, parse_one, restore_value, ArgRef, Encodings, Hash, List, Set, Step,
    Value, ZSet, FORMAT_VERSION,
};
use mlua::{Lua, Value as LuaValue};

/// splitmix64: small, fast and good enough to drive mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len())]
    }
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok()?.parse().ok()
}

/// Inputs per target: FERRODIS_FUZZ_ITERS, else `default`.
fn iters(default: u64) -> u64 {
    env_u64("FERRODIS_FUZZ_ITERS").unwrap_or(default)
}

fn rng(salt: u64) -> Rng {
    Rng(env_u64("FERRODIS_FUZZ_SEED").unwrap_or(0x5EED) ^ salt)
}

/// Mutate `input` with 1..=4 random edits, splicing in bytes that matter to the formats.
fn mutate(r: &mut Rng, input: &mut Vec<u8>, tokens: &[&[u8]]) {
    for _ in 0..1 + r.below(4) {
        let len = input.len();
        match r.below(7) {
            0 if len > 0 => {
                let i = r.below(len);
                input[i] = r.next() as u8;
            }
            1 => {
                let tok = r.pick(tokens);
                let at = r.below(len + 1);
                input.splice(at..at, tok.iter().copied());
            }
            2 if len > 0 => {
                let a = r.below(len);
                let b = (a + 1 + r.below(8)).min(len);
                input.drain(a..b);
            }
            3 if len > 0 => {
                let a = r.below(len);
                let b = (a + 1 + r.below(16)).min(len);
                let piece: Vec<u8> = input[a..b].to_vec();
                let at = r.below(len + 1);
                input.splice(at..at, piece);
            }
            4 if len > 0 => input.truncate(r.below(len)),
            5 if len > 0 => {
                let i = r.below(len);
                input[i] ^= 1 << r.below(8);
            }
            _ => {
                let i = r.below(len + 1);
                input.insert(i, r.next() as u8);
            }
        }
    }
}

// ===== RESP requests =====

const RESP_TOKENS: &[&[u8]] = &[
    b"\r\n",
    b"\r",
    b"\n",
    b"*",
    b"$",
    b"-1",
    b"0",
    b"-0",
    b"00",
    b"2147483647",
    b"2147483648",
    b"99999999999999999999",
    b"\0",
    b"\"",
    b"'",
    b"\\x4",
    b"\\x41",
    b" ",
    b"\x0b",
    b"*1\r\n",
    b"$3\r\n",
    b"*-1\r\n",
    b"PING\r\n",
];

fn resp_seeds() -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = [
        &b"*1\r\n$4\r\nPING\r\n"[..],
        b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
        b"PING\r\n",
        b"set \"a b\" 'c\\'d' \"\\x41\\n\"\r\necho x\n\r\n",
        b"*0\r\n*-1\r\n*2\r\n$0\r\n\r\n$2\r\n\0\xff\r\n",
        b"  \t\x0bECHO a\x0cb \"q\"\r\n",
        b"*2\r\n$4\r\nECHO\r\n$10\r\n0123456789\r\nPING\r\n",
    ]
    .iter()
    .map(|s| s.to_vec())
    .collect();
    let mut many = b"*40\r\n".to_vec();
    for i in 0..40 {
        many.extend_from_slice(format!("${}\r\n{i}\r\n", i.to_string().len()).as_bytes());
    }
    v.push(many);
    v
}

/// What parsing a byte stream produced: the commands, then the protocol error that ended it (if any).
#[derive(Debug, PartialEq)]
struct Parsed {
    commands: Vec<Vec<Vec<u8>>>,
    error: Option<String>,
}

/// Parse what `buf` holds from the start as the connection does (commands back to back until one is
/// incomplete or wrong), appending to `out`; returns the bytes used and whether an error ended it.
fn drain(buf: &[u8], args: &mut Vec<ArgRef>, scratch: &mut Vec<u8>, out: &mut Parsed) -> (usize, bool) {
    let mut pos = 0;
    // Every step consumes bytes or stops: more steps than bytes would be a loop.
    for _ in 0..=buf.len() + 1 {
        match parse_one(buf, pos, 512 * 1024 * 1024, args, scratch) {
            Ok(Step::Command { consumed, argc }) => {
                assert!(consumed > 0 && pos + consumed <= buf.len(), "consumed {consumed} at {pos} of {}", buf.len());
                let first = args.len() - argc;
                out.commands.push(args[first..].iter().map(|a| a.slice(buf, scratch, &[]).to_vec()).collect());
                pos += consumed;
            }
            Ok(Step::Skip { consumed }) => {
                assert!(consumed > 0 && pos + consumed <= buf.len());
                pos += consumed;
            }
            Ok(Step::Incomplete { .. } | Step::BigBulk(_)) => return (pos, false),
            Err(e) => {
                out.error = Some(e.0);
                return (pos, true);
            }
        }
    }
    panic!("the decoder made no progress on {:?}", String::from_utf8_lossy(buf));
}

/// The whole input at once.
fn parse_whole(input: &[u8]) -> Parsed {
    let mut out = Parsed { commands: Vec::new(), error: None };
    drain(input, &mut Vec::new(), &mut Vec::new(), &mut out);
    out
}

/// The input in chunks, as reads deliver it: after commands are taken the buffer is advanced and the
/// argument lists cleared, as the connection does; otherwise they stay (a partial multibulk resumes).
fn parse_chunked(r: &mut Rng, input: &[u8]) -> Parsed {
    let mut out = Parsed { commands: Vec::new(), error: None };
    let (mut buf, mut args, mut scratch) = (Vec::new(), Vec::new(), Vec::new());
    let mut fed = 0;
    while fed < input.len() {
        let n = (1 + r.below(24)).min(input.len() - fed);
        buf.extend_from_slice(&input[fed..fed + n]);
        fed += n;
        let before = out.commands.len();
        let (used, failed) = drain(&buf, &mut args, &mut scratch, &mut out);
        if failed {
            return out;
        }
        if out.commands.len() > before {
            buf.drain(..used);
            args.clear();
            scratch.clear();
        }
    }
    out
}

fn fuzz_resp(n: u64) {
    let mut r = rng(1);
    let seeds = resp_seeds();
    let (mut commands, mut errors) = (0, 0);
    for i in 0..n {
        let mut input = r.pick(&seeds).clone();
        if r.below(4) == 0 {
            let more = r.pick(&seeds).clone();
            input.extend_from_slice(&more);
        }
        mutate(&mut r, &mut input, RESP_TOKENS);
        let whole = parse_whole(&input);
        let chunked = parse_chunked(&mut r, &input);
        assert_eq!(whole, chunked, "input #{i}: {:?}", String::from_utf8_lossy(&input));
        commands += whole.commands.len();
        errors += whole.error.is_some() as usize;
    }
    // Both outcomes must be common, or the mutations are not reaching the decoder's paths.
    assert!(commands as u64 > n / 2 && errors as u64 > n / 20, "{commands} commands, {errors} errors");
}

#[test]
fn resp_decoder_survives_mutated_requests() {
    fuzz_resp(iters(20_000));
}

#[test]
#[ignore]
fn resp_decoder_long() {
    fuzz_resp(iters(1_000_000));
}

// ===== Lua library decoders =====

fn lua() -> Lua {
    let lua = Lua::new();
    let g = lua.globals();
    g.set("cjson", cjson::open(&lua).unwrap()).unwrap();
    g.set("cmsgpack", cmsgpack::open(&lua).unwrap()).unwrap();
    g.set("struct", lstruct::open(&lua).unwrap()).unwrap();
    lua
}

/// A random Lua value as source text, nested up to `depth`.
fn lua_value(r: &mut Rng, depth: u32) -> String {
    match r.below(if depth == 0 { 5 } else { 8 }) {
        0 => (r.next() as i64 >> r.below(64)).to_string(),
        1 => format!("{:?}", f64::from_bits(r.next()) as f32),
        2 => format!("{:?}", "ab\0\u{e9}".repeat(r.below(12))),
        3 => r.pick(&["true", "false", "0/0", "1/0", "-2^63", "2^53"]).to_string(),
        4 => "'x'".to_string(),
        5 => {
            let items: Vec<String> = (0..r.below(20)).map(|_| lua_value(r, depth - 1)).collect();
            format!("{{{}}}", items.join(","))
        }
        _ => {
            let items: Vec<String> = (0..r.below(6)).map(|i| format!("k{i}={}", lua_value(r, depth - 1))).collect();
            format!("{{{}}}", items.join(","))
        }
    }
}

const LIB_TOKENS: &[&[u8]] = &[
    b"\x91",
    b"\xdc\x00\x01",
    b"\xdd\xff\xff\xff\xff",
    b"\x81",
    b"\xde\xff\xff",
    b"\xdb\xff\xff\xff\xff",
    b"\xc0",
    b"\xcb",
    b"\xcf",
    b"[",
    b"{",
    b"\"",
    b"\\u",
    b"\\ud800",
    b"1e99999",
    b"-",
    b"0x",
    b"nan",
    b"inf",
    b",",
    b":",
    b"]",
    b"}",
    b"\0",
    b"c0",
    b"s",
    b"!",
    b">",
    b"i32",
    b"i99999999999",
];

fn fuzz_lua_decoders(n: u64) {
    let lua = lua();
    let mut r = rng(2);
    // Deep nests first: Redis ends them with an error, not a crash.
    let deep: Vec<Vec<u8>> = vec![
        [vec![0x91; 9000], vec![0xc0]].concat(),
        [vec![0x81; 9000], vec![0xc0]].concat(),
        b"[".repeat(9000),
        b"{\"a\":".repeat(9000),
    ];
    // The values are counted inside the protected call, not returned through it: Lua 5.1's pcall pushes
    // its status past the stack room a C function returning ~8,000 values leaves (harmless in release
    // builds, as in Redis's, but an API-check abort in debug builds of the Lua library).
    let unpack = lua
        .load("return function(f, ...) return pcall(function(...) return select('#', f(...)) end, ...) end")
        .eval::<mlua::Function>()
        .unwrap();
    let funcs: Vec<(mlua::Function, &str)> =
        ["cmsgpack.unpack", "cjson.decode", "struct.unpack", "cmsgpack.unpack_one"]
            .iter()
            .map(|f| (lua.load(format!("return {f}")).eval::<mlua::Function>().unwrap(), *f))
            .collect();
    let pack = lua.load("return function(src) local v = loadstring('return ' .. src)() return cmsgpack.pack(v), cjson.encode(v) end").eval::<mlua::Function>();
    let pack = pack.unwrap();
    let formats: &[&[u8]] = &[b"<i4", b">I2c0", b"!4bhd", b"s", b"i16", b"xxf", b"c3s", b"<l>L"];
    let (mut decoded, mut refused) = (0u64, 0u64);
    for i in 0..n {
        let (f, name) = r.pick(&funcs);
        let mut input = match (*name, r.below(8)) {
            (_, 0) => r.pick(&deep).clone(),
            ("struct.unpack", _) => (0..r.below(40)).map(|_| r.next() as u8).collect(),
            (_, _) => {
                let src = lua_value(&mut r, 4);
                // cjson refuses some values (NaN, sparse arrays): any of its errors is fine here.
                match pack.call::<(mlua::LuaString, mlua::LuaString)>(src.clone()) {
                    Ok((mp, js)) => {
                        if name.starts_with("cmsgpack") {
                            mp.as_bytes().to_vec()
                        } else {
                            js.as_bytes().to_vec()
                        }
                    }
                    Err(_) => src.into_bytes(),
                }
            }
        };
        mutate(&mut r, &mut input, LIB_TOKENS);
        let s = lua.create_string(&input).unwrap();
        let res = if *name == "struct.unpack" {
            let mut fmt = r.pick(formats).to_vec();
            mutate(&mut r, &mut fmt, LIB_TOKENS);
            unpack.call::<mlua::MultiValue>((f.clone(), lua.create_string(&fmt).unwrap(), s))
        } else if *name == "cmsgpack.unpack_one" {
            unpack.call::<mlua::MultiValue>((f.clone(), s, r.below(input.len() + 2) as i64))
        } else {
            unpack.call::<mlua::MultiValue>((f.clone(), s))
        };
        // pcall answered: true and values, or false and a message. Anything else is a broken contract.
        let vals = res.unwrap_or_else(|e| panic!("{name} input #{i} {input:?}: {e}"));
        match vals.iter().next() {
            Some(LuaValue::Boolean(true)) => decoded += 1,
            Some(LuaValue::Boolean(false)) => {
                assert!(matches!(vals.iter().nth(1), Some(LuaValue::String(_))), "{name} #{i}: {vals:?}");
                refused += 1;
            }
            other => panic!("{name} input #{i}: {other:?}"),
        }
        if i % 500 == 0 {
            lua.gc_collect().unwrap();
        }
    }
    assert!(decoded > n / 10 && refused > n / 10, "{decoded} decoded, {refused} refused");
}

#[test]
fn lua_library_decoders_survive_mutated_input() {
    fuzz_lua_decoders(iters(10_000));
}

#[test]
#[ignore]
fn lua_library_decoders_long() {
    fuzz_lua_decoders(iters(1_000_000));
}

// ===== RESTORE payloads =====

/// Redis 7.0.15's DUMP of a stream with a consumer group (RDB type 19): read through rdb_stream.
const REDIS_STREAM_DUMP: &str = "130110000000000000000100000000000000014045450000001a00030100010201816602816102000102010001000181760281620205010001010100010101816602817702060100010201dfff020101817802f13930030601ff030300010100000301016702010202000000000000000100000000000000015cef9549a201000001000000000000000200000000000000015cef9549a2010000010105616c6963655cef9549a20100000200000000000000010000000000000001000000000000000200000000000000010a00849d5ccb1c7ee697";

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn random_value(r: &mut Rng, enc: &Encodings) -> Value {
    let item = |r: &mut Rng| -> Vec<u8> {
        match r.below(3) {
            0 => (r.next() as i64 >> r.below(64)).to_string().into_bytes(),
            1 => (0..r.below(80)).map(|_| r.next() as u8).collect(),
            _ => b"abc".repeat(r.below(40)),
        }
    };
    let max = if r.below(8) == 0 { 300 } else { 12 };
    let n = r.below(max);
    match r.below(5) {
        0 => Value::string(&item(r)),
        1 => Value::List(List::from_items((0..n).map(|_| item(r)), enc)),
        2 => Value::Set(Set::from_members((0..n).map(|_| item(r)), enc)),
        3 => Value::ZSet(ZSet::from_pairs((0..n).map(|i| (item(r), i as f64 * 1.5)), enc)),
        _ => Value::Hash(Hash::from_pairs((0..n).map(|_| (item(r), item(r))), enc)),
    }
}

/// Put a valid trailer back on a mutated payload, so that the body decoders are what gets exercised.
fn reseal(body: &[u8]) -> Vec<u8> {
    let mut p = body.to_vec();
    p.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    let crc = crc64(0, &p);
    p.extend_from_slice(&crc.to_le_bytes());
    p
}

fn fuzz_restore(n: u64) {
    let mut r = rng(3);
    let enc = Encodings::default();
    let redis_stream = unhex(REDIS_STREAM_DUMP);
    assert!(restore_value(&redis_stream, &enc).is_ok(), "the Redis stream seed must load");
    let tokens: &[&[u8]] = &[b"\0", b"\xff\xff\xff\xff", b"\x80", b"\xc0", b"\xc3", b"\xf5", b"\x0f", b"\x13"];
    let mut loaded = 0u64;
    for i in 0..n {
        let payload = if r.below(4) == 0 { redis_stream.clone() } else { dump_value(&random_value(&mut r, &enc)) };
        let mut body = payload[..payload.len() - 10].to_vec();
        mutate(&mut r, &mut body, tokens);
        let candidate = if r.below(8) == 0 {
            // Also the trailer checks themselves, on a payload whose CRC no longer matches.
            let mut p = payload.clone();
            mutate(&mut r, &mut p, tokens);
            p
        } else {
            reseal(&body)
        };
        let got = std::panic::catch_unwind(|| restore_value(&candidate, &enc).is_ok());
        match got {
            Ok(ok) => loaded += ok as u64,
            Err(_) => panic!("RESTORE payload #{i} panicked: {candidate:02x?}"),
        }
    }
    // Some mutations keep a payload valid (a changed byte inside a string): those load, the rest fail.
    assert!(loaded > n / 50 && loaded < n - n / 10, "{loaded} of {n} loaded");
}

#[test]
fn restore_survives_mutated_payloads() {
    fuzz_restore(iters(20_000));
}

#[test]
#[ignore]
fn restore_long() {
    fuzz_restore(iters(1_000_000));
}
