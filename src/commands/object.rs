//! OBJECT ENCODING/REFCOUNT/IDLETIME/FREQ (commands layer, applied by the Keyspace actor): what Redis shows of
//! a value's representation and access data. Lookups do not touch the key but count hits and misses, as
//! Redis's LOOKUP_NOTOUCH does.

use super::keys::count_lookup;
use super::spec::*;
use super::Ctx;
use crate::error::CmdError;
use crate::types::db::{idle_seconds, lfu_freq};
use crate::types::value::Value;

/// Integers Redis keeps as shared objects (OBJECT REFCOUNT reports them as INT_MAX).
const OBJ_SHARED_INTEGERS: i64 = 10_000;
const OBJ_SHARED_REFCOUNT: i64 = i32::MAX as i64;

/// OBJECT, as Redis 7.0's command table declares it.
#[rustfmt::skip]
pub const SPECS: &[CommandSpec] = &family("generic", [
    cmd("object", -2, 0, object_container).subs(OBJECT_SUBCOMMANDS).doc("2.2.3", "Depends on subcommand.", "A container for object introspection commands"),
]);

#[rustfmt::skip]
const OBJECT_SUBCOMMANDS: &[CommandSpec] = &family("generic", [
    cmd("object|encoding", 3, READONLY, object_encoding).keys(2, 2, 1).acl(KEYSPACE).doc("2.2.3", "O(1)", "Inspect the internal encoding of a Redis object"),
    cmd("object|freq", 3, READONLY, object_freq).keys(2, 2, 1).acl(KEYSPACE).doc("4.0.0", "O(1)", "Get the logarithmic access frequency counter of a Redis object"),
    cmd("object|help", 2, LOADING | STALE, object_help).acl(KEYSPACE).doc("6.2.0", "O(1)", "Show helpful text about the different subcommands"),
    cmd("object|idletime", 3, READONLY, object_idletime).keys(2, 2, 1).acl(KEYSPACE).doc("2.2.3", "O(1)", "Get the time since a Redis object was last accessed"),
    cmd("object|refcount", 3, READONLY, object_refcount).keys(2, 2, 1).acl(KEYSPACE).doc("2.2.3", "O(1)", "Get the number of references to the value of the key"),
]);

/// OBJECT without a known subcommand never reaches here (the executor answers); kept for the table.
fn object_container(cx: &mut Ctx<'_>) -> CmdResult {
    Err(CmdError::unknown_subcommand("object", if cx.argc() > 1 { cx.arg(1) } else { b"" }))
}

/// What OBJECT needs from an entry, copied out so that the borrow of the db ends.
struct ObjectInfo {
    encoding: &'static str,
    lru: u32,
    shared_int: bool,
}

/// OBJECT's lookup: no touch, hits/misses counted; `None` after replying nil for a missing key.
fn object_lookup(cx: &mut Ctx<'_>) -> Option<ObjectInfo> {
    let key = cx.arg(2);
    let (db, out) = cx.db_out();
    let info = db.peek(key).map(|e| ObjectInfo {
        encoding: e.value.encoding(),
        lru: e.lru(),
        shared_int: matches!(e.value, Value::Int(i) if (0..OBJ_SHARED_INTEGERS).contains(&i)),
    });
    count_lookup(db, info.is_some());
    if info.is_none() {
        out.nil();
    }
    info
}

/// OBJECT ENCODING key
fn object_encoding(cx: &mut Ctx<'_>) -> CmdResult {
    if let Some(info) = object_lookup(cx) {
        cx.out.bulk_str(info.encoding);
    }
    Ok(())
}

/// OBJECT REFCOUNT key — values have one owner, except that Redis shares the integers 0..9999 (reported as
/// INT_MAX) unless maxmemory is set with an LRU/LFU policy, which needs a private LRU field per object.
fn object_refcount(cx: &mut Ctx<'_>) -> CmdResult {
    if let Some(info) = object_lookup(cx) {
        let policy = &cx.s.config.maxmemory_policy;
        let no_shared = cx.s.config.maxmemory != 0 && (policy.contains("lru") || policy.contains("lfu"));
        cx.out.int(if info.shared_int && !no_shared { OBJ_SHARED_REFCOUNT } else { 1 });
    }
    Ok(())
}

/// OBJECT IDLETIME key
fn object_idletime(cx: &mut Ctx<'_>) -> CmdResult {
    let lfu = cx.db().lfu;
    if let Some(info) = object_lookup(cx) {
        if lfu {
            return Err(CmdError::new(
                "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching \
                between policies at runtime LRU and LFU data will take some time to adjust.",
            ));
        }
        cx.out.int(idle_seconds(info.lru) as i64);
    }
    Ok(())
}

/// OBJECT FREQ key
fn object_freq(cx: &mut Ctx<'_>) -> CmdResult {
    let lfu = cx.db().lfu;
    if let Some(info) = object_lookup(cx) {
        if !lfu {
            return Err(CmdError::new(
                "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when \
                switching between policies at runtime LRU and LFU data will take some time to adjust.",
            ));
        }
        let decay = cx.s.evict.lfu_decay_time;
        cx.out.int(lfu_freq(info.lru, decay) as i64);
    }
    Ok(())
}

/// OBJECT HELP
fn object_help(cx: &mut Ctx<'_>) -> CmdResult {
    const HELP: &[&str] = &[
        "ENCODING <key>",
        "    Return the kind of internal representation used in order to store the value",
        "    associated with a <key>.",
        "FREQ <key>",
        "    Return the access frequency index of the <key>. The returned integer is",
        "    proportional to the logarithm of the recent access frequency of the key.",
        "IDLETIME <key>",
        "    Return the idle time of the <key>, that is the approximated number of",
        "    seconds elapsed since the last access to the key.",
        "REFCOUNT <key>",
        "    Return the number of references of the value associated with the specified",
        "    <key>.",
        "HELP",
        "    Prints this help.",
    ];
    // Redis echoes the command name as the client typed it, upper-cased.
    let name = String::from_utf8_lossy(cx.arg(0)).to_ascii_uppercase();
    let out = &mut *cx.out;
    out.array(HELP.len() + 1);
    out.simple(&format!("{name} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"));
    for line in HELP {
        out.simple(line);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::testutil::{bulk, err, int, new, run, run_raw, T};
    use crate::types::clock;

    fn put(t: &mut T, k: &str, v: &str) {
        t.s.dbs[0].set(k.as_bytes(), Value::string(v.as_bytes()), false);
    }

    #[test]
    fn object_is_a_container_of_five() {
        let obj = SPECS.iter().find(|s| s.name == "object").unwrap();
        assert_eq!(obj.group, "generic");
        assert_eq!(obj.subcommands.len(), 5);
        for sub in obj.subcommands {
            assert!(sub.name.starts_with("object|"));
        }
    }

    #[test]
    fn object_subcommands() {
        let mut t = new();
        put(&mut t, "i", "12");
        put(&mut t, "big", "123456");
        put(&mut t, "e", "hello");
        t.s.dbs[0].set(b"r", Value::raw(b"hi".to_vec()), false);
        assert_eq!(run(&mut t, &["object", "encoding", "i"]), bulk("int"));
        assert_eq!(run(&mut t, &["OBJECT", "ENCODING", "e"]), bulk("embstr"));
        assert_eq!(run(&mut t, &["object", "encoding", "r"]), bulk("raw"));
        assert_eq!(run_raw(&mut t, &["object", "encoding", "nokey"]), "$-1\r\n");
        assert_eq!(run(&mut t, &["object", "refcount", "i"]), int(2147483647));
        assert_eq!(run(&mut t, &["object", "refcount", "big"]), int(1));
        assert_eq!(run(&mut t, &["object", "refcount", "e"]), int(1));
        assert_eq!(run(&mut t, &["object", "idletime", "e"]), int(0));
        assert!(run_raw(&mut t, &["object", "freq", "e"]).starts_with("-ERR An LFU maxmemory policy is not selected"));
        assert_eq!(run_raw(&mut t, &["object", "freq", "nokey"]), "$-1\r\n");
        assert_eq!(run(&mut t, &["object", "foo", "e"]), err("ERR unknown subcommand 'foo'. Try OBJECT HELP."));
        assert_eq!(
            run(&mut t, &["object", "encoding"]),
            err("ERR wrong number of arguments for 'object|encoding' command")
        );
        assert_eq!(run(&mut t, &["object"]), err("ERR wrong number of arguments for 'object' command"));
        let help = run_raw(&mut t, &["object", "help"]);
        assert!(help.starts_with("*15\r\n+OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n"));
        assert!(help.ends_with("+HELP\r\n+    Prints this help.\r\n"));
        // With maxmemory and an LRU policy, small integers are private objects.
        t.s.config.maxmemory = 1 << 30;
        t.s.config.maxmemory_policy = "allkeys-lru".into();
        assert_eq!(run(&mut t, &["object", "refcount", "i"]), int(1));
        t.s.config.maxmemory_policy = "allkeys-random".into();
        assert_eq!(run(&mut t, &["object", "refcount", "i"]), int(2147483647));
    }

    #[test]
    fn object_idletime_and_freq_follow_policy() {
        clock::set_mock(1_000_000_000);
        let mut t = new();
        put(&mut t, "k", "v");
        clock::set_mock(1_000_010_000);
        assert_eq!(run(&mut t, &["object", "idletime", "k"]), int(10));
        // OBJECT does not touch the key; TOUCH does.
        assert_eq!(run(&mut t, &["object", "idletime", "k"]), int(10));
        assert_eq!(run(&mut t, &["touch", "k"]), int(1));
        assert_eq!(run(&mut t, &["object", "idletime", "k"]), int(0));
        t.s.config.maxmemory_policy = "allkeys-lfu".into();
        t.s.apply_config();
        put(&mut t, "f", "v");
        assert_eq!(run(&mut t, &["object", "freq", "f"]), int(5));
        assert!(run_raw(&mut t, &["object", "idletime", "f"])
            .starts_with("-ERR An LFU maxmemory policy is selected, idle time not tracked."));
        clock::clear_mock();
    }
}
