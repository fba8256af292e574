//! Unit-test helpers (commands layer): a `State` with one client, and `run(&mut t, &["set", "k", "v"])`
//! returning its RESP reply.

use super::{run_args, State};
use crate::config::Config;

/// A state with one registered client, `me`.
pub struct T {
    pub s: State,
    pub me: usize,
}

/// A fresh default-config state and its one client.
pub fn new() -> T {
    let mut s = State::new(Config::default());
    let me = s.add_client("127.0.0.1:1".into(), "127.0.0.1:6379".into());
    T { s, me }
}

/// Run a command; returns the raw RESP reply as a (lossy) string.
pub fn run(t: &mut T, args: &[&str]) -> String {
    let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
    String::from_utf8_lossy(&run_args(&mut t.s, t.me, &a)).into_owned()
}
