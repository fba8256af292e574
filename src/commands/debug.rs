//! DEBUG and its subcommands (commands layer, applied by the Keyspace actor): digests, RELOAD, PROTOCOL,
//! OBJECT and the switches the Redis test suite flips.

use super::connection::help;
use super::spec::*;
use super::Ctx;
use crate::error::CmdError;
use crate::types::clock;
use crate::types::value::Value;

/// DEBUG, as Redis 7.0's command table declares it.
#[rustfmt::skip]
pub const SPECS: &[CommandSpec] = &family("server", [
    cmd("debug", -2, ADMIN | NOSCRIPT | LOADING | STALE, debug).doc("1.0.0", "Depends on subcommand.", "A container for debugging commands"),
]);

// ---------------------------------------------------------------------------------------------------------
// DEBUG DIGEST and DIGEST-VALUE: the same SHA1 construction as Redis 7.0's debug.c, so that one number
// compares a ferrodis dataset with a redis-server one. Elements are digested in their string form whatever
// the encoding (an intset member or an int-encoded string as its decimal text, a score as `%.17g`); ordered
// collections (lists, streams) chain with `mix_digest`, unordered ones (sets, hashes, zsets, the keys of a
// database) add with `xor_digest`, so that iteration order does not matter.
// ---------------------------------------------------------------------------------------------------------

/// Redis's xorDigest: XOR SHA1(`data`) into `d` (order-independent "addition").
fn xor_digest(d: &mut [u8; 20], data: &[u8]) {
    let h = sha1_smol::Sha1::from(data).digest().bytes();
    for (a, b) in d.iter_mut().zip(h) {
        *a ^= b;
    }
}

/// Redis's mixDigest: `d = SHA1(d xor SHA1(data))`, so that what came before changes what follows.
fn mix_digest(d: &mut [u8; 20], data: &[u8]) {
    xor_digest(d, data);
    *d = sha1_smol::Sha1::from(&d[..]).digest().bytes();
}

/// Redis's OBJ_* type number, which the digest mixes in first (`htonl(o->type)`).
fn redis_type(v: &Value) -> u32 {
    match v {
        Value::Int(_) | Value::Emb(_) | Value::Raw(_) => 0,
        Value::List(_) => 1,
        Value::Set(_) => 2,
        Value::ZSet(_) => 3,
        Value::Hash(_) => 4,
        Value::Stream(_) => 6,
    }
}

/// Redis's xorObjectDigest: mix the value at a key (and whether it has a TTL, not the TTL itself) into `d`.
fn object_digest(d: &mut [u8; 20], v: &Value, has_expire: bool) {
    mix_digest(d, &redis_type(v).to_be_bytes());
    // A pair's own digest (member and score, field and value), added to the value's with xor_digest.
    let pair = |d: &mut [u8; 20], a: &[u8], b: &[u8]| {
        let mut e = [0u8; 20];
        mix_digest(&mut e, a);
        mix_digest(&mut e, b);
        xor_digest(d, &e);
    };
    match v {
        Value::Int(_) | Value::Emb(_) | Value::Raw(_) => {
            v.with_str(|s| mix_digest(d, s));
        }
        Value::List(l) => {
            for item in l.iter() {
                mix_digest(d, item);
            }
        }
        Value::Set(st) => {
            for m in st.members() {
                m.with_bytes(|m| xor_digest(d, m));
            }
        }
        Value::ZSet(z) => {
            for (m, score) in z.iter() {
                // snprintf "%.17g", as both of Redis's zset encodings format the score here.
                pair(d, m, crate::types::num::format_g17(score).as_bytes());
            }
        }
        Value::Hash(h) => {
            for (f, x) in h.iter() {
                pair(d, f, x);
            }
        }
        Value::Stream(st) => {
            // Entries only, in order: the id as "%U.%U" (a dot, not a dash), then each field and value.
            // Groups, consumers and the last id are not part of Redis's digest.
            let mut id = Vec::with_capacity(42);
            for e in st.iter() {
                id.clear();
                id.extend_from_slice(itoa::Buffer::new().format(e.id.ms).as_bytes());
                id.push(b'.');
                id.extend_from_slice(itoa::Buffer::new().format(e.id.seq).as_bytes());
                mix_digest(d, &id);
                for x in e.elements() {
                    mix_digest(d, x);
                }
            }
        }
    }
    if has_expire {
        xor_digest(d, b"!!expire!!");
    }
}

/// Redis's computeDatasetDigest: per non-empty database, mix in its number, then add each key's digest
/// (the key mixed, then its value). Keys past their TTL but not yet deleted count, as Redis walks the dict.
fn dataset_digest(dbs: &[crate::types::db::Db]) -> [u8; 20] {
    let mut total = [0u8; 20];
    for (i, db) in dbs.iter().enumerate() {
        if db.is_empty() {
            continue;
        }
        mix_digest(&mut total, &(i as u32).to_be_bytes());
        db.for_each_stored(|e, expire_at| {
            let mut d = [0u8; 20];
            mix_digest(&mut d, &e.key);
            object_digest(&mut d, &e.value, expire_at != 0);
            xor_digest(&mut total, &d);
        });
    }
    total
}

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Redis's refusal of DEBUG when `enable-debug-command` does not allow this client.
const DEBUG_REFUSED: CmdError = CmdError::new(
    "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it \
     from a local connection, otherwise you need to set this option in the configuration file, and then restart \
     the server.",
);

/// `enable-debug-command`: "yes" allows DEBUG, "local" only from a local connection (a Unix socket, the
/// peer 127.0.0.1 or ::1 exactly, as Redis's islocalClient, or an in-process client), "no" (Redis 7.0's
/// default) never. Checked before authentication, as Redis's processCommand does.
pub(crate) fn debug_refusal(s: &super::State, client: &super::Client) -> Option<CmdError> {
    match s.config.enable_debug_command.as_str() {
        "yes" => None,
        "local" if is_local_client(client) => None,
        _ => Some(DEBUG_REFUSED),
    }
}

/// Redis's islocalClient, for the `local` value of enable-debug-command and enable-protected-configs: a Unix
/// socket, the peer 127.0.0.1 or ::1 exactly, or an in-process client.
pub(crate) fn is_local_client(client: &super::Client) -> bool {
    let ip = client.addr.rsplit_once(':').map(|(ip, _)| ip).unwrap_or(&client.addr);
    client.unix_socket || client.local || ip == "127.0.0.1" || ip == "[::1]"
}

/// A mallctl errno as Redis replies it: `-ERR <strerror>`.
fn mallctl_error(errno: i32) -> CmdError {
    CmdError::msg(format!("ERR {}", crate::config::strerror(&std::io::Error::from_raw_os_error(errno))))
}

fn debug(cx: &mut Ctx<'_>) -> CmdResult {
    let sub = String::from_utf8_lossy(cx.arg(1)).to_ascii_lowercase();
    match sub.as_str() {
        // Redis 7.0.15's text, less the subcommands ferrodis does not have (ASSERT, CRASH-AND-RECOVER, LEAK,
        // HTSTATS, OOM, PANIC, RESTART, SDSLEN, STRINGMATCH-TEST, STRUCTSIZE, LISTPACK, QUICKLIST,
        // CLIENT-EVICTION, CLUSTERLINK, DROP-CLUSTER-PACKET-FILTER, and QUICKLIST-PACKED-THRESHOLD, which is
        // accepted and does nothing: the quicklist has no plain nodes), plus ferrodis's RUST-PANIC.
        "help" if cx.argc() == 2 => help(
            cx,
            "DEBUG",
            &[
                "AOF-FLUSH-SLEEP <microsec>",
                "    Server will sleep before flushing the AOF, this is used for testing.",
                "CHANGE-REPL-ID",
                "    Change the replication IDs of the instance.",
                "    Dangerous: should be used only for testing the replication subsystem.",
                "CONFIG-REWRITE-FORCE-ALL",
                "    Like CONFIG REWRITE but writes all configuration options, including",
                "    keywords not listed in original configuration file or default values.",
                "DIGEST",
                "    Output a hex signature representing the current DB content.",
                "DIGEST-VALUE <key> [<key> ...]",
                "    Output a hex signature of the values of all the specified keys.",
                "ERROR <string>",
                "    Return a Redis protocol error with <string> as message. Useful for clients",
                "    unit tests to simulate Redis errors.",
                "LOG <message>",
                "    Write <message> to the server log.",
                "LOADAOF",
                "    Flush the AOF buffers on disk and reload the AOF in memory.",
                "REPLICATE <string>",
                "    Replicates the provided string to replicas, allowing data divergence.",
                "MALLCTL <key> [<val>]",
                "    Get or set a malloc tuning integer.",
                "MALLCTL-STR <key> [<val>]",
                "    Get or set a malloc tuning string.",
                "OBJECT <key>",
                "    Show low level info about `key` and associated value.",
                "POPULATE <count> [<prefix>] [<size>]",
                "    Create <count> string keys named key:<num>. If <prefix> is specified then",
                "    it is used instead of the 'key' prefix. These are not propagated to",
                "    replicas. Cluster slots are not respected so keys not belonging to the",
                "    current node can be created in cluster mode.",
                "PROTOCOL <type>",
                "    Reply with a test value of the specified type. <type> can be: string,",
                "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
                "    true, false.",
                "RELOAD [option ...]",
                "    Save the RDB on disk and reload it back to memory. Valid <option> values:",
                "    * MERGE: conflicting keys will be loaded from RDB.",
                "    * NOFLUSH: the existing database will not be removed before load, but",
                "      conflicting keys will generate an exception and kill the server.",
                "    * NOSAVE: the database will be loaded from an existing RDB file.",
                "    Examples:",
                "    * DEBUG RELOAD: verify that the server is able to persist, flush and reload",
                "      the database.",
                "    * DEBUG RELOAD NOSAVE: replace the current database with the contents of an",
                "      existing RDB file.",
                "    * DEBUG RELOAD NOSAVE NOFLUSH MERGE: add the contents of an existing RDB",
                "      file to the database.",
                "SEGFAULT",
                "    Crash the server with sigsegv.",
                "SET-ACTIVE-EXPIRE <0|1>",
                "    Setting it to 0 disables expiring keys in background when they are not",
                "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
                "    default.",
                "SET-SKIP-CHECKSUM-VALIDATION <0|1>",
                "    Enables or disables checksum checks for RDB files and RESTORE's payload.",
                "SLEEP <seconds>",
                "    Stop the server for <seconds>. Decimals allowed.",
                "PAUSE-CRON <0|1>",
                "    Stop periodic cron job processing.",
                "REPLYBUFFER PEAK-RESET-TIME <NEVER||RESET|time>",
                "    Sets the time (in milliseconds) to wait between client reply buffer peak resets.",
                "    In case NEVER is provided the last observed peak will never be reset",
                "    In case RESET is provided the peak reset time will be restored to the default value",
                "REPLYBUFFER RESIZING <0|1>",
                "    Enable or disable the reply buffer resize cron job",
                "RUST-PANIC",
                "    Panic inside the command's handler (ferrodis): the panic is caught and the",
                "    command answers an internal error; the server goes on.",
            ],
        ),
        // A real invalid memory access, as Redis's (a write to a read-only page): the crash report
        // (crash.rs) is written and the process ends with SIGSEGV.
        "segfault" => {
            // SAFETY: deliberately not safe: the write faults and the process ends in the SIGSEGV handler.
            unsafe {
                let p = libc::mmap(
                    std::ptr::null_mut(),
                    4096,
                    libc::PROT_READ,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                );
                if p != libc::MAP_FAILED {
                    std::ptr::write_volatile(p as *mut u8, b'x');
                }
                libc::raise(libc::SIGSEGV);
            }
            Ok(())
        }
        // The argument as the error line itself (no ERR prefix), newlines turned to spaces, as Redis; a
        // raw reply, so not counted in errorstats either.
        "error" if cx.argc() == 3 => {
            let mut line = Vec::with_capacity(cx.arg(2).len() + 3);
            line.push(b'-');
            line.extend(cx.arg(2).iter().map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }));
            line.extend_from_slice(b"\r\n");
            cx.out.raw(&line);
            Ok(())
        }
        "sleep" if cx.argc() == 3 => {
            let secs = cx.float_arg(2)?;
            // DEBUG SLEEP deliberately stalls the server, as in Redis: tests use it to simulate slow commands.
            std::thread::sleep(std::time::Duration::from_secs_f64(secs.max(0.0)));
            cx.out.ok();
            Ok(())
        }
        // jemalloc's controls (Redis's mallctl_int and mallctl_string), e.g. `arenas.page`, or
        // `thread.tcache.flush VOID`; errors are strerror's text.
        "mallctl" if cx.argc() >= 3 => {
            let name = String::from_utf8_lossy(cx.arg(2)).into_owned();
            let val = if cx.argc() > 3 { Some(cx.int_arg(3)?) } else { None };
            match crate::alloc::mallctl_int(&name, val) {
                Ok(Some(v)) => cx.out.int(v),
                Ok(None) => cx.out.ok(),
                Err(e) => return Err(mallctl_error(e)),
            }
            Ok(())
        }
        "mallctl-str" if cx.argc() >= 3 => {
            let name = String::from_utf8_lossy(cx.arg(2)).into_owned();
            let val = (cx.argc() > 3).then(|| String::from_utf8_lossy(cx.arg(3)).into_owned());
            match crate::alloc::mallctl_str(&name, val.as_deref()) {
                Ok(Some(v)) => cx.out.bulk(v.as_bytes()),
                Ok(None) => cx.out.ok(),
                Err(e) => return Err(mallctl_error(e)),
            }
            Ok(())
        }
        "set-active-expire" if cx.argc() == 3 => {
            cx.s.server.active_expire = cx.int_arg(2)? != 0;
            cx.out.ok();
            Ok(())
        }
        "pause-cron" if cx.argc() == 3 => {
            cx.s.server.cron_paused = cx.int_arg(2)? != 0;
            cx.out.ok();
            Ok(())
        }
        "set-disable-deny-scripts" if cx.argc() == 3 => {
            cx.s.scripts.disable_deny = cx.int_arg(2)? != 0;
            cx.out.ok();
            Ok(())
        }
        "log" if cx.argc() == 3 => {
            log::warn!("DEBUG LOG: {}", String::from_utf8_lossy(cx.arg(2)));
            cx.out.ok();
            Ok(())
        }
        "aof-flush-sleep" if cx.argc() == 3 => {
            let us = cx.int_arg(2)?.max(0) as u64;
            cx.s.persist.aof.shared.flush_sleep_us.store(us, std::sync::atomic::Ordering::Relaxed);
            cx.out.ok();
            Ok(())
        }
        "set-skip-checksum-validation" if cx.argc() == 3 => {
            cx.s.persist.skip_checksum = cx.int_arg(2)? != 0;
            cx.out.ok();
            Ok(())
        }
        "change-repl-id" if cx.argc() == 2 => {
            log::warn!("Changing replication IDs after receiving DEBUG change-repl-id");
            cx.s.repl.replid = super::replication::new_replid();
            cx.s.repl.replid2 = None;
            cx.out.ok();
            Ok(())
        }
        "replicate" if cx.argc() >= 3 => {
            // To the replicas only, not the AOF (the suite fakes a command a replica cannot run).
            let args: Vec<&[u8]> = (2..cx.argc()).map(|i| cx.arg(i)).collect();
            crate::client::pack(&mut cx.s.prop.stream_only, &args);
            cx.out.ok();
            Ok(())
        }
        // CONFIG REWRITE writing every parameter, defaults included (the suite restarts on the file to
        // prove each line reads back to the same value).
        "config-rewrite-force-all" if cx.argc() == 2 => {
            let users = super::acl::user_lines(cx.s);
            match cx.s.config.rewrite_with_users(Some(&users), true) {
                Ok(()) => {
                    cx.out.ok();
                    Ok(())
                }
                Err(e) => {
                    let why = e.strip_prefix("Rewriting config file: ").unwrap_or(&e);
                    Err(CmdError::msg(format!("ERR CONFIG-REWRITE-FORCE-ALL failed: {why}")))
                }
            }
        }
        "replybuffer" if cx.argc() == 4 => {
            let what = String::from_utf8_lossy(cx.arg(2)).to_ascii_lowercase();
            match what.as_str() {
                "peak-reset-time" => {
                    let v = cx.arg(3);
                    cx.s.clients.reply_peak_reset_ms = if v.eq_ignore_ascii_case(b"never") {
                        -1
                    } else if v.eq_ignore_ascii_case(b"reset") {
                        super::client_mem::REPLY_PEAK_RESET_MS
                    } else {
                        cx.int_arg(3)?
                    };
                }
                // atoi, as Redis: anything that is not a non-zero number turns it off.
                "resizing" => {
                    let v = String::from_utf8_lossy(cx.arg(3));
                    let v = v.trim_start();
                    let digits = v.strip_prefix(['-', '+']).unwrap_or(v);
                    let end = digits.bytes().position(|b| !b.is_ascii_digit()).unwrap_or(digits.len());
                    cx.s.clients.reply_resizing = !digits[..end].trim_start_matches('0').is_empty();
                }
                _ => return Err(cx.subcommand_syntax()),
            }
            cx.out.ok();
            Ok(())
        }
        "change-repl-id" | "quicklist-packed-threshold" => {
            cx.out.ok();
            Ok(())
        }
        "object" if cx.argc() == 3 => {
            let key = cx.arg(2);
            let (db, out) = cx.db_out();
            let Some(e) = db.peek_stored(key) else { return Err(CmdError::NO_KEY) };
            let ser = e.value.str_len();
            let line = format!(
                "Value at:{:p} refcount:1 encoding:{} serializedlength:{} lru:{} lru_seconds_idle:{}",
                e as *const _,
                e.value.encoding(),
                ser.max(1),
                e.lru(),
                crate::types::db::idle_seconds(e.lru())
            );
            out.simple(&line);
            Ok(())
        }
        "digest" if cx.argc() == 2 => {
            let d = dataset_digest(&cx.s.dbs);
            cx.out.simple(&hex(&d));
            Ok(())
        }
        "digest-value" => {
            // As Redis: straight from the table, so a key past its TTL but not yet deleted still counts.
            let db = &cx.s.dbs[cx.db];
            cx.out.array(cx.argv.len() - 2);
            for k in cx.argv.iter().skip(2) {
                let mut d = [0u8; 20];
                if let Some(e) = db.peek_stored(k) {
                    object_digest(&mut d, &e.value, db.stored_expire(k) != 0);
                }
                cx.out.simple(&hex(&d));
            }
            Ok(())
        }
        "protocol" if cx.argc() == 3 => debug_protocol(cx),
        "populate" if (3..=5).contains(&cx.argc()) => debug_populate(cx),
        "reload" => debug_reload(cx),
        // ferrodis only: a handler panic on purpose, to prove it is caught (answered -ERR internal error).
        "rust-panic" if cx.argc() == 2 => panic!("DEBUG RUST-PANIC"),
        "loadaof" => super::aof::debug_loadaof(cx),
        _ => Err(cx.subcommand_syntax()),
    }
}

/// DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: save the dataset to the RDB file and load it back, as Redis.
fn debug_reload(cx: &mut Ctx<'_>) -> CmdResult {
    let (mut save, mut flush, mut merge) = (true, true, false);
    for i in 2..cx.argc() {
        if cx.argv.is(i, "merge") {
            merge = true;
        } else if cx.argv.is(i, "noflush") {
            flush = false;
        } else if cx.argv.is(i, "nosave") {
            save = false;
        } else {
            return Err(CmdError::new("ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options."));
        }
    }
    if cx.s.persist.rdb.available {
        // Through the file: the Keyspace saves, empties, loads and replies (actors/keyspace/rdb.rs).
        cx.s.persist.rdb.fg = Some(super::rdb::FgJob::Reload { save, flush, merge });
        return Ok(());
    }
    reload_in_memory(cx)
}

/// DEBUG RELOAD without a Snapshotter (persistence-available no): every key goes through the DUMP codec and
/// back in memory, which still checks that values survive a save/load cycle and get the encoding a loader
/// picks afresh.
fn reload_in_memory(cx: &mut Ctx<'_>) -> CmdResult {
    use crate::persist::dump::{dump_value, restore_value};
    let now = clock::now_ms();
    let enc = cx.s.enc;
    for db in cx.s.dbs.iter_mut() {
        let mut saved: Vec<(Vec<u8>, Vec<u8>, i64)> = Vec::with_capacity(db.len());
        db.for_each(|e, expire_at| saved.push((e.key.to_vec(), dump_value(&e.value), expire_at)));
        db.clear();
        for (key, payload, expire_at) in saved {
            if expire_at != 0 && expire_at < now {
                continue;
            }
            let value =
                restore_value(&payload, &enc).map_err(|_| CmdError::new("ERR Error trying to load the RDB dump"))?;
            db.set(&key, value, false);
            if expire_at != 0 {
                db.set_expire(&key, expire_at);
            }
        }
    }
    cx.out.ok();
    Ok(())
}

/// DEBUG POPULATE count [prefix] [size]: keys `prefix:N` holding `value:N` (zero-padded or cut to `size`
/// bytes when given); keys that exist are left alone. As Redis, no dirty count: the suite uses it to fill.
fn debug_populate(cx: &mut Ctx<'_>) -> CmdResult {
    let positive =
        |v: Option<i64>| v.filter(|n| *n >= 0).ok_or(CmdError::new("ERR value is out of range, must be positive"));
    let count = positive(crate::types::num::parse_i64(cx.arg(2)))? as u64;
    let prefix = if cx.argc() >= 4 { cx.arg(3).to_vec() } else { b"key".to_vec() };
    let size = if cx.argc() == 5 { positive(crate::types::num::parse_i64(cx.arg(4)))? as usize } else { 0 };
    let db = cx.db();
    let mut key = Vec::with_capacity(prefix.len() + 21);
    for j in 0..count {
        key.clear();
        key.extend_from_slice(&prefix);
        key.push(b':');
        key.extend_from_slice(itoa::Buffer::new().format(j).as_bytes());
        if db.peek_stored(&key).is_some() {
            continue;
        }
        let text = format!("value:{j}");
        let value = if size == 0 {
            Value::string(text.as_bytes())
        } else {
            let mut v = vec![0u8; size];
            let n = size.min(text.len());
            v[..n].copy_from_slice(&text.as_bytes()[..n]);
            Value::string(&v)
        };
        db.set(&key, value, false);
    }
    cx.out.ok();
    Ok(())
}

fn debug_protocol(cx: &mut Ctx<'_>) -> CmdResult {
    let t = String::from_utf8_lossy(cx.arg(2)).to_ascii_lowercase();
    let out = &mut *cx.out;
    match t.as_str() {
        "string" => out.bulk(b"Hello World"),
        "integer" => out.int(12345),
        // Redis's fixed test value (not pi).
        #[allow(clippy::approx_constant)]
        "double" => out.double(3.141),
        "bignum" => out.big_number("1234567999999999999999999999999999999"),
        "null" => out.nil(),
        "array" => {
            out.array(3);
            for i in 0..3 {
                out.int(i);
            }
        }
        "set" => {
            out.set(3);
            for i in 0..3 {
                out.int(i);
            }
        }
        "map" => {
            out.map(3);
            for i in 0..3 {
                out.int(i);
                out.boolean(i == 1);
            }
        }
        "attrib" => {
            if out.resp >= 3 {
                out.attribute(1);
                out.bulk(b"key-popularity");
                out.array(2);
                out.bulk(b"key:123");
                out.int(90);
            }
            out.bulk(b"Some real reply following the attribute");
        }
        "push" => {
            if out.resp < 3 {
                return Err(CmdError::new("ERR RESP2 is not supported by this command"));
            }
            out.push(2);
            out.bulk(b"server-cpu-usage");
            out.int(42);
            out.bulk(b"Some real reply following the push reply");
        }
        "true" => out.boolean(true),
        "false" => out.boolean(false),
        "verbatim" => out.verbatim("txt", b"This is a verbatim\nstring"),
        _ => {
            return Err(CmdError::new(
                "ERR Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false",
            ))
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::commands::testutil::{bulk, bulks, int, new, ok, run, run_raw, simple};

    #[test]
    fn enable_debug_command_yes_local_no() {
        let mut t = new();
        let refused = format!("-{}\r\n", super::DEBUG_REFUSED.0);
        // Redis 7.0's default: refused, with its text, after the arity check.
        assert_eq!(crate::config::Config::default().enable_debug_command, "no");
        t.s.config.enable_debug_command = "no".into();
        assert_eq!(run_raw(&mut t, &["debug", "sleep", "0"]), refused);
        assert_eq!(run_raw(&mut t, &["debug"]), "-ERR wrong number of arguments for 'debug' command\r\n");
        t.s.config.enable_debug_command = "local".into();
        assert_eq!(run_raw(&mut t, &["debug", "sleep", "0"]), "+OK\r\n");
        for (addr, ok) in
            [("127.0.0.2:5", false), ("10.1.2.3:5", false), ("[::1]:5", true), ("[::ffff:127.0.0.1]:5", false)]
        {
            t.s.clients[t.me].addr = addr.into();
            assert_eq!(run_raw(&mut t, &["debug", "sleep", "0"]) == "+OK\r\n", ok, "{addr}");
        }
        t.s.clients[t.me].unix_socket = true;
        assert_eq!(run_raw(&mut t, &["debug", "sleep", "0"]), "+OK\r\n");
        // Inside MULTI the refusal poisons the transaction, as any rejected command.
        t.s.config.enable_debug_command = "no".into();
        run_raw(&mut t, &["multi"]);
        assert_eq!(run_raw(&mut t, &["debug", "sleep", "0"]), refused);
        assert_eq!(run_raw(&mut t, &["exec"]), "-EXECABORT Transaction discarded because of previous errors.\r\n");
    }

    #[test]
    fn config_set_bind_refuses_addresses_it_cannot_bind() {
        let mut t = new();
        let failed =
            "-ERR CONFIG SET failed (possibly related to argument 'bind') - Failed to bind to specified addresses.\r\n";
        let before = run_raw(&mut t, &["config", "get", "bind"]);
        for bad in ["999.1.1.1", "10.255.255.1", "127.0.0.1 127.0.0.1", "* 127.0.0.1"] {
            assert_eq!(run_raw(&mut t, &["config", "set", "bind", bad]), failed, "{bad}");
            assert_eq!(run_raw(&mut t, &["config", "get", "bind"]), before);
        }
        for good in ["-10.255.255.1 127.0.0.1", "localhost", "127.0.0.1"] {
            assert_eq!(run_raw(&mut t, &["config", "set", "bind", good]), "+OK\r\n", "{good}");
        }
        assert_eq!(run_raw(&mut t, &["config", "get", "bind"]), "*2\r\n$4\r\nbind\r\n$9\r\n127.0.0.1\r\n");
    }

    #[test]
    fn debug_protocol_and_digest() {
        let mut t = new();
        assert_eq!(run(&mut t, &["debug", "digest"]), simple("0000000000000000000000000000000000000000"));
        t.s.dbs[0].set(b"a", crate::types::value::Value::Int(1), false);
        assert_ne!(run(&mut t, &["debug", "digest"]), simple("0000000000000000000000000000000000000000"));
        assert_eq!(run(&mut t, &["debug", "protocol", "bignum"]), bulk("1234567999999999999999999999999999999"));
    }

    /// Every type, int and raw strings, -0.1 / 1e100 / ±inf scores, a stream with a group, TTLs and three
    /// databases. The expected digests are what redis-server 7.0.15 (Debian's /usr/bin/redis-server, started
    /// with `--enable-debug-command yes`) answered to `DEBUG DIGEST` and
    /// `DEBUG DIGEST-VALUE s n neg f l si ss h z zinf st e le missing` after these commands, sent by redis-cli;
    /// it gave the same digests after first lowering every listpack/intset threshold to 1 (hashtable,
    /// skiplist, quicklist encodings), as this test checks for ferrodis too.
    const DIGEST_DATA: &[&[&str]] = &[
        &["set", "s", "hello"],
        &["set", "n", "12345"],
        &["set", "neg", "-7"],
        &["set", "f", "3.5"],
        &["rpush", "l", "a", "b", "1", "-2", "c"],
        &["sadd", "si", "3", "1", "2", "100000000000"],
        &["sadd", "ss", "x", "y", "z", "7"],
        &["hset", "h", "f1", "v1", "f2", "22", "33", "v3"],
        &["zadd", "z", "1", "a", "2.5", "b", "-0.1", "c", "1e100", "d", "3", "7"],
        &["zadd", "zinf", "+inf", "p", "-inf", "m", "0", "zero"],
        &["xadd", "st", "1-1", "f", "v", "g", "2"],
        &["xadd", "st", "1-2", "a", "b"],
        &["xadd", "st", "5-0", "x", "y"],
        &["xgroup", "create", "st", "g1", "0"],
        &["set", "e", "val"],
        &["pexpire", "e", "100000000"],
        &["rpush", "le", "x"],
        &["pexpire", "le", "100000000"],
        &["select", "1"],
        &["set", "s", "hello"],
        &["select", "3"],
        &["set", "other", "1"],
    ];

    #[test]
    fn digests_are_redis_7_0_15_digests() {
        let values = [
            "36b23a1456b2dce2c3ed252c456761301dba8060",
            "e1cf90774e995ae03de66e8109dc5cb9d9c2dc83",
            "220f87802dc1eca9ffb9dd7f52e30f559e135f81",
            "7778d1afae1dfdecb4c0c6067b712793cf413537",
            "1e652f41607980d351f80481e129ab0941fb9987",
            "bd7c3902a11b22ff8f369911245d617377b16ff1",
            "9ff234b0f66c531ac2cc2d841fe223f412f843fe",
            "bbccbc7204f9f3e9b713d6ee5862f165a2ec44ac",
            "699c68322b37934204c8d2d5c416ad27f638b47e",
            "3f0bf0eea18606049b66a288687fa11223290fe9",
            "01dc4d24565a190a29c16dd94446bb6c396dc0d6",
            "ac04a84d3fcd16162a871280160dabf4ef51f46f",
            "513a82800d1204ddf6715dfcad32e7acbbbf92d4",
            "0000000000000000000000000000000000000000",
        ];
        let small = [
            "hash-max-listpack-entries",
            "zset-max-listpack-entries",
            "set-max-intset-entries",
            "list-max-listpack-size",
            "stream-node-max-entries",
        ];
        for compact in [true, false] {
            let mut t = new();
            if !compact {
                for name in small {
                    assert_eq!(run(&mut t, &["config", "set", name, "1"]), ok(), "{name}");
                }
            }
            for c in DIGEST_DATA {
                run(&mut t, c);
            }
            let want = if compact {
                ["listpack", "listpack", "intset", "quicklist"]
            } else {
                ["hashtable", "skiplist", "hashtable", "quicklist"]
            };
            assert_eq!(run(&mut t, &["select", "0"]), ok());
            for (key, enc) in ["h", "z", "si", "l"].into_iter().zip(want) {
                assert_eq!(run(&mut t, &["object", "encoding", key]), bulk(enc), "{key}");
            }
            assert_eq!(run(&mut t, &["debug", "digest"]), simple("f88609b3f73948ee6dead56158d962c13303c347"));
            let keys = ["s", "n", "neg", "f", "l", "si", "ss", "h", "z", "zinf", "st", "e", "le", "missing"];
            let mut args = vec!["debug", "digest-value"];
            args.extend(keys);
            let got = run(&mut t, &args);
            assert_eq!(got, crate::commands::testutil::arr(values.iter().map(|v| simple(v)).collect()));
        }
    }

    #[test]
    fn digests_count_keys_past_their_ttl_until_they_are_deleted() {
        use crate::types::clock;
        clock::set_mock(1_000_000);
        let mut t = new();
        run(&mut t, &["set", "k", "v"]);
        t.s.dbs[0].set_expire(b"k", 1_000_500);
        let before = run(&mut t, &["debug", "digest"]);
        let value = run(&mut t, &["debug", "digest-value", "k"]);
        clock::set_mock(1_001_000);
        // Logically expired but still stored: Redis's DEBUG reads the table without expiring.
        assert_eq!(run(&mut t, &["debug", "digest"]), before);
        assert_eq!(run(&mut t, &["debug", "digest-value", "k"]), value);
        assert_eq!(run(&mut t, &["exists", "k"]), int(0));
        assert_eq!(run(&mut t, &["debug", "digest"]), simple(&"0".repeat(40)));
        clock::clear_mock();
    }

    #[test]
    fn debug_reload_keeps_values_and_ttls() {
        let mut t = new();
        run(&mut t, &["set", "s", "v"]);
        run(&mut t, &["rpush", "l", "a", "b"]);
        run(&mut t, &["sadd", "st", "1", "2"]);
        run(&mut t, &["hset", "h", "f", "v"]);
        run(&mut t, &["set", "t", "x", "ex", "100"]);
        let before = run(&mut t, &["debug", "digest"]);
        assert_eq!(run(&mut t, &["debug", "reload"]), ok());
        assert_eq!(run(&mut t, &["debug", "digest"]), before);
        assert_eq!(run(&mut t, &["lrange", "l", "0", "-1"]), bulks(&["a", "b"]));
        assert_eq!(run(&mut t, &["object", "encoding", "st"]), bulk("intset"));
        assert!(run_raw(&mut t, &["ttl", "t"]).starts_with(":"));
        assert_ne!(run(&mut t, &["ttl", "t"]), int(-1));
    }
}
