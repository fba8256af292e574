//! DUMP and RESTORE (commands layer, applied by the Keyspace actor): a value as a Redis DUMP payload and
//! back. The payload codec is crate::persist::dump (Redis 7.0's RDB encoding of the value, so payloads move
//! between ferrodis and redis-server either way); this file parses the options and applies TTL and LRU/LFU.
//!
//! sanitize-dump-payload: the decoder always validates a payload fully (every listpack, ziplist and intset
//! entry, duplicates, stream PELs), which is what `yes` asks of Redis. `no` and `clients` only let Redis skip
//! that work; we never skip it, so neither setting weakens anything.

use super::keys::{fresh_lru, lfu_now};
use super::spec::*;
use super::Ctx;
use crate::config::NOTIFY_GENERIC;
use crate::error::CmdError;
use crate::persist::dump::{dump_value, restore_value_with};
use crate::types::clock;
use crate::types::db::{lru_clock, Entry};

const BUSYKEY: CmdError = CmdError::new("BUSYKEY Target key name already exists.");
/// Redis's LRU_CLOCK_MAX (24-bit clock).
const LRU_CLOCK_MAX: i64 = (1 << 24) - 1;

/// DUMP and RESTORE, as Redis 7.0's command table declares them.
#[rustfmt::skip]
pub const SPECS: &[CommandSpec] = &family("generic", [
    cmd("dump", 2, READONLY, dump).keys(1, 1, 1).acl(KEYSPACE).doc("2.6.0", "O(1) to access the key and additional O(N*M) to serialize it, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1).", "Return a serialized version of the value stored at the specified key."),
    cmd("restore", -4, WRITE | DENYOOM, restore).keys(1, 1, 1).acl(KEYSPACE | DANGEROUS).doc("2.6.0", "O(1) to create the new key and additional O(N*M) to reconstruct the serialized value, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1). However for sorted set values the complexity is O(N*M*log(N)) because inserting values into sorted sets is O(log(N)).", "Create a key using the provided serialized value, previously obtained using DUMP."),
    cmd("restore-asking", -4, WRITE | DENYOOM | ASKING, restore).keys(1, 1, 1).acl(KEYSPACE | DANGEROUS).group("server").doc("3.0.0", "O(1) to create the new key and additional O(N*M) to reconstruct the serialized value, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1). However for sorted set values the complexity is O(N*M*log(N)) because inserting values into sorted sets is O(log(N)).", "An internal command for migrating keys in a cluster"),
]);

/// DUMP key
fn dump(cx: &mut Ctx<'_>) -> CmdResult {
    let key = cx.arg(1);
    let (db, out) = cx.db_out();
    match db.get(key) {
        Some(e) => out.bulk(&dump_value(&e.value)),
        None => out.nil(),
    }
    Ok(())
}

/// RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]
///
/// Checks run in Redis's order: options, BUSYKEY, TTL, payload. A TTL already in the past leaves no key
/// (deleting the old one under REPLACE) and still replies OK.
fn restore(cx: &mut Ctx<'_>) -> CmdResult {
    let mut replace = false;
    let mut absttl = false;
    let mut idle: i64 = -1;
    let mut freq: i64 = -1;
    let argc = cx.argc();
    let mut j = 4;
    while j < argc {
        let more = j + 1 < argc;
        if cx.argv.is(j, "replace") {
            replace = true;
        } else if cx.argv.is(j, "absttl") {
            absttl = true;
        } else if cx.argv.is(j, "idletime") && more && freq == -1 {
            idle = cx.int_arg(j + 1)?;
            if idle < 0 {
                return Err(CmdError::new("ERR Invalid IDLETIME value, must be >= 0"));
            }
            j += 1;
        } else if cx.argv.is(j, "freq") && more && idle == -1 {
            freq = cx.int_arg(j + 1)?;
            if !(0..=255).contains(&freq) {
                return Err(CmdError::new("ERR Invalid FREQ value, must be >= 0 and <= 255"));
            }
            j += 1;
        } else {
            return Err(CmdError::SYNTAX);
        }
        j += 1;
    }
    let key = cx.arg(1);
    if !replace && cx.db().contains(key) {
        return Err(BUSYKEY);
    }
    let mut ttl = cx.int_arg(2)?;
    if ttl < 0 {
        return Err(CmdError::new("ERR Invalid TTL value, must be >= 0"));
    }
    let check_crc = !cx.s.persist.skip_checksum;
    let value = restore_value_with(cx.arg(3), &cx.s.enc, check_crc).map_err(|(e, why)| {
        if !why.is_empty() {
            // Redis's rdbReportCorruptRDB line: operators (and the suite) look for it in the log.
            log::warn!("Internal error in RDB reading offset 0, function at rdb.c:0 -> {why}: integrity check failed");
        }
        CmdError::new(e.message())
    })?;
    let loading = cx.s.persist.aof.loading;
    let db = cx.db();
    let deleted = replace && db.remove(key).is_some();
    let now = clock::now_ms();
    if ttl != 0 && !absttl {
        ttl = ttl.saturating_add(now);
    }
    // As checkAlreadyExpired: while the AOF loads, a past TTL is kept (the key expires after the load).
    if ttl != 0 && ttl <= now && !loading {
        if deleted {
            cx.modified(key);
            cx.notify(NOTIFY_GENERIC, "del", key);
            cx.propagate_as(&[b"DEL", key]);
        }
        cx.out.ok();
        return Ok(());
    }
    let relative_ttl = ttl != 0 && !absttl;
    // Redis's objectSetLRUOrLFU: FREQ applies under an LFU policy, IDLETIME under any other.
    let lru = if db.lfu {
        if freq >= 0 {
            lfu_now(freq as u32)
        } else {
            fresh_lru(true)
        }
    } else if idle >= 0 {
        let mut abs = lru_clock() as i64 - idle;
        if abs < 0 {
            abs += LRU_CLOCK_MAX;
        }
        // The C field is 24 bits wide: an idle time beyond the clock's span wraps.
        (abs & LRU_CLOCK_MAX) as u32
    } else {
        fresh_lru(false)
    };
    db.insert_entry(Entry::new(key, value, lru), ttl);
    cx.modified(key);
    cx.notify(NOTIFY_GENERIC, "restore", key);
    if relative_ttl {
        // Propagate the TTL as an absolute time, as Redis does.
        let at = ttl.to_string();
        let mut args: Vec<&[u8]> = cx.argv.iter().collect();
        args[2] = at.as_bytes();
        args.push(b"ABSTTL");
        cx.propagate_as(&args);
    }
    cx.out.ok();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::run_args;
    use crate::commands::testutil::{err, int, new, run, run_raw, T};
    use crate::types::value::Value;

    fn put(t: &mut T, k: &str, v: &str) {
        t.s.dbs[0].set(k.as_bytes(), Value::string(v.as_bytes()), false);
    }

    fn get(t: &mut T, db: usize, k: &str) -> Option<Vec<u8>> {
        t.s.dbs[db].get(k.as_bytes()).and_then(|e| e.value.to_vec())
    }

    /// Parse a RESP bulk string reply into its bytes.
    fn bulk_bytes(r: &[u8]) -> Vec<u8> {
        assert_eq!(r[0], b'$', "not a bulk: {:?}", String::from_utf8_lossy(r));
        let nl = r.iter().position(|&c| c == b'\n').unwrap();
        let len: usize = std::str::from_utf8(&r[1..nl - 1]).unwrap().parse().unwrap();
        r[nl + 1..nl + 1 + len].to_vec()
    }

    fn run_bytes(t: &mut T, args: &[&[u8]]) -> Vec<u8> {
        run_args(&mut t.s, t.me, args)
    }

    #[test]
    fn dump_restore_round_trip() {
        clock::set_mock(1_000_000_000);
        let mut t = new();
        put(&mut t, "foo", "bar");
        let payload = bulk_bytes(&run_bytes(&mut t, &[b"dump", b"foo"]));
        assert_eq!(run_raw(&mut t, &["dump", "nokey"]), "$-1\r\n");
        assert_eq!(
            run_bytes(&mut t, &[b"restore", b"foo", b"0", &payload]),
            b"-BUSYKEY Target key name already exists.\r\n"
        );
        assert_eq!(run_bytes(&mut t, &[b"restore", b"new", b"0", &payload]), b"+OK\r\n");
        assert_eq!(get(&mut t, 0, "new").as_deref(), Some(&b"bar"[..]));
        assert_eq!(run(&mut t, &["ttl", "new"]), int(-1));
        // Relative and absolute TTLs.
        assert_eq!(run_bytes(&mut t, &[b"restore", b"t1", b"5000", &payload]), b"+OK\r\n");
        assert_eq!(run(&mut t, &["pttl", "t1"]), int(5000));
        assert_eq!(run_bytes(&mut t, &[b"restore", b"t2", b"1000003000", &payload, b"absttl"]), b"+OK\r\n");
        assert_eq!(run(&mut t, &["pttl", "t2"]), int(3000));
        // A TTL in the past: OK, no key; with REPLACE the old key is gone too.
        assert_eq!(run_bytes(&mut t, &[b"restore", b"t3", b"999999000", &payload, b"ABSTTL"]), b"+OK\r\n");
        assert_eq!(run(&mut t, &["exists", "t3"]), int(0));
        assert_eq!(run_bytes(&mut t, &[b"restore", b"foo", b"1", &payload, b"absttl", b"replace"]), b"+OK\r\n");
        assert_eq!(run(&mut t, &["exists", "foo"]), int(0));
        // REPLACE overwrites.
        put(&mut t, "foo", "bar2");
        assert_eq!(run_bytes(&mut t, &[b"restore", b"foo", b"0", &payload, b"replace"]), b"+OK\r\n");
        assert_eq!(get(&mut t, 0, "foo").as_deref(), Some(&b"bar"[..]));
        clock::clear_mock();
    }

    #[test]
    fn restore_errors_in_redis_order() {
        let mut t = new();
        put(&mut t, "foo", "bar");
        let payload = bulk_bytes(&run_bytes(&mut t, &[b"dump", b"foo"]));
        assert_eq!(run(&mut t, &["restore", "foo", "0", "...", "invalid-option"]), err("ERR syntax error"));
        assert_eq!(run(&mut t, &["restore", "foo", "0", "..."]), err("BUSYKEY Target key name already exists."));
        assert_eq!(run(&mut t, &["restore", "x", "-1", "..."]), err("ERR Invalid TTL value, must be >= 0"));
        assert_eq!(run(&mut t, &["restore", "x", "abc", "..."]), err("ERR value is not an integer or out of range"));
        assert_eq!(run(&mut t, &["restore", "x", "0", "..."]), err("ERR DUMP payload version or checksum are wrong"));
        assert_eq!(
            run(&mut t, &["restore", "x", "0", "...", "idletime", "-1"]),
            err("ERR Invalid IDLETIME value, must be >= 0")
        );
        assert_eq!(
            run(&mut t, &["restore", "x", "0", "...", "freq", "256"]),
            err("ERR Invalid FREQ value, must be >= 0 and <= 255")
        );
        assert_eq!(run(&mut t, &["restore", "x", "0", "...", "freq", "1", "idletime", "1"]), err("ERR syntax error"));
        assert_eq!(run(&mut t, &["restore", "x", "0", "...", "idletime"]), err("ERR syntax error"));
        let mut bad = payload.clone();
        bad[3] ^= 1;
        assert_eq!(
            run_bytes(&mut t, &[b"restore", b"x", b"0", &bad]),
            b"-ERR DUMP payload version or checksum are wrong\r\n"
        );
        // A well-sealed payload of an unknown type.
        let mut body = vec![7u8, 0, 0, 0];
        body.extend_from_slice(&crate::persist::dump::FORMAT_VERSION.to_le_bytes());
        // (type 7 is a module value: we have no modules to read it)
        let crc = crate::persist::dump::crc64(0, &body);
        body.extend_from_slice(&crc.to_le_bytes());
        assert_eq!(run_bytes(&mut t, &[b"restore", b"x", b"0", &body]), b"-ERR Bad data format\r\n");
        assert_eq!(run(&mut t, &["exists", "x"]), int(0));
    }

    #[test]
    fn restore_sets_lru_and_lfu() {
        clock::set_mock(1_000_000_000);
        let mut t = new();
        put(&mut t, "foo", "bar");
        let payload = bulk_bytes(&run_bytes(&mut t, &[b"dump", b"foo"]));
        assert_eq!(run_bytes(&mut t, &[b"restore", b"a", b"0", &payload, b"idletime", b"1000"]), b"+OK\r\n");
        assert_eq!(run(&mut t, &["object", "idletime", "a"]), int(1000));
        // An idle time longer than the 24-bit clock has run wraps around rather than failing.
        assert_eq!(run_bytes(&mut t, &[b"restore", b"b", b"0", &payload, b"idletime", b"99999999999"]), b"+OK\r\n");
        // FREQ is ignored without an LFU policy...
        assert_eq!(run_bytes(&mut t, &[b"restore", b"c", b"0", &payload, b"freq", b"100"]), b"+OK\r\n");
        assert_eq!(run(&mut t, &["object", "idletime", "c"]), int(0));
        // ...and applies with one.
        t.s.config.maxmemory_policy = "allkeys-lfu".into();
        t.s.apply_config();
        assert_eq!(run_bytes(&mut t, &[b"restore", b"d", b"0", &payload, b"freq", b"100"]), b"+OK\r\n");
        assert_eq!(run(&mut t, &["object", "freq", "d"]), int(100));
        assert_eq!(run_bytes(&mut t, &[b"restore", b"e", b"0", &payload]), b"+OK\r\n");
        assert_eq!(run(&mut t, &["object", "freq", "e"]), int(5));
        clock::clear_mock();
    }
}
