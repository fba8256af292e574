//! Unit-test helpers: a `State` with one client; `run(&mut t, &["get", "k"])` decodes the reply to a
//! `Frame`, compared with the constructors below (`bulk("v")`, `int(1)`, `ok()`, `err("ERR ...")`,
//! `arr(vec![...])`). A Frame does not tell `$-1` from `*-1` (nor `_`) and keeps no double's text: assert
//! those with `run_raw`, which returns the exact bytes.
use super::{run_args, State};
use crate::config::Config;
pub use crate::resp::frame::Frame;

pub struct T {
    pub s: State,
    pub me: usize,
}

pub fn new() -> T {
    let mut s = State::new(Config::default());
    // DEBUG is off by default (Redis 7.0's enable-debug-command no); unit tests use it freely.
    s.config.enable_debug_command = "yes".into();
    let me = s.add_client("127.0.0.1:1".into(), "127.0.0.1:6379".into());
    T { s, me }
}

/// Run a command; its reply decoded (panics unless the command wrote exactly one well-formed reply).
pub fn run(t: &mut T, args: &[&str]) -> Frame {
    let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
    decode(&run_args(&mut t.s, t.me, &a))
}

/// Run a command; its exact reply bytes as a (lossy) string.
/// A second client of the same State (pub/sub and tracking tests).
pub fn other(t: &mut T) -> usize {
    t.s.add_client("127.0.0.1:2".into(), "127.0.0.1:6379".into())
}

/// Run a command as client `slot`; its exact reply.
pub fn run_as(t: &mut T, slot: usize, args: &[&str]) -> String {
    let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
    String::from_utf8_lossy(&crate::commands::run_args(&mut t.s, slot, &a)).into_owned()
}

pub fn run_raw(t: &mut T, args: &[&str]) -> String {
    let me = t.me;
    run_as(t, me, args)
}

/// One reply, all of `raw`.
pub fn decode(raw: &[u8]) -> Frame {
    match crate::resp::frame::parse(raw) {
        Ok(Some((f, n))) if n == raw.len() => f,
        other => panic!("not one RESP reply: {:?} ({other:?})", String::from_utf8_lossy(raw)),
    }
}

/// `$len\r\nv\r\n`
pub fn bulk(v: impl AsRef<[u8]>) -> Frame {
    Frame::Bulk(v.as_ref().to_vec())
}

/// `:i\r\n`
pub fn int(i: i64) -> Frame {
    Frame::Integer(i)
}

/// `+OK\r\n`
pub fn ok() -> Frame {
    Frame::Simple("OK".into())
}

/// `+s\r\n`
pub fn simple(s: &str) -> Frame {
    Frame::Simple(s.into())
}

/// `-text\r\n` (the text with its code: "ERR syntax error").
pub fn err(text: &str) -> Frame {
    Frame::Error(text.into())
}

/// A null of any encoding (`$-1`, `*-1` or `_`): use `run_raw` where the encoding matters.
pub fn nil() -> Frame {
    Frame::Null
}

/// `*n\r\n` and the items.
pub fn arr(items: Vec<Frame>) -> Frame {
    Frame::Array(items)
}

/// An array of bulk strings.
pub fn bulks(items: &[&str]) -> Frame {
    Frame::Array(items.iter().map(bulk).collect())
}

/// An array of integers.
pub fn ints(items: &[i64]) -> Frame {
    Frame::Array(items.iter().map(|&i| int(i)).collect())
}

/// `%n\r\n` and the pairs (RESP3).
pub fn map(pairs: Vec<(Frame, Frame)>) -> Frame {
    Frame::Map(pairs)
}

/// A nil bulk reply, exactly.
pub const NIL: &str = "$-1\r\n";
/// The frozen clock's time in `frozen()` tests.
pub const T0: i64 = 1_700_000_000_000;

/// Run with binary arguments; the reply as bytes.
pub fn runb(t: &mut T, args: &[&[u8]]) -> Vec<u8> {
    crate::commands::run_args(&mut t.s, t.me, args)
}

/// The raw stored bytes of a key.
pub fn raw(t: &mut T, key: &str) -> Vec<u8> {
    t.s.dbs[0].peek(key.as_bytes()).unwrap().value.to_vec().unwrap()
}

/// A key's encoding name.
pub fn enc(t: &mut T, key: &str) -> &'static str {
    t.s.dbs[0].peek(key.as_bytes()).unwrap().value.encoding()
}

/// Is the key there?
pub fn exists(t: &mut T, key: &str) -> bool {
    t.s.dbs[0].contains(key.as_bytes())
}

/// Absolute expiry of a key (0: none); panics if the key is missing.
pub fn expiry(t: &mut T, key: &str) -> i64 {
    t.s.dbs[0].expire_at(key.as_bytes()).unwrap()
}

/// A test with the clock frozen at T0.
pub fn frozen() -> T {
    crate::types::clock::set_mock(T0);
    new()
}
