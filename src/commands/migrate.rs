//! MIGRATE (commands layer, applied by the Keyspace actor): the handler checks the arguments and serializes
//! the keys with the DUMP codec into a `MigrateRequest` left in `State`; the batch stops after it and the
//! Keyspace (actors/keyspace/migrate.rs) talks to the target while it waits, as Redis's blocking MIGRATE
//! holds the server, then calls `finish` here to delete what the target took, propagate it and reply.

use super::spec::*;
use super::{reply_error, Ctx, State};
use crate::config::NOTIFY_GENERIC;
use crate::error::CmdError;
use crate::persist::dump::dump_value;
use crate::resp::encode::Out;
use std::time::Duration;

/// MIGRATE, as Redis 7.0's command table declares it.
#[rustfmt::skip]
pub const SPECS: &[CommandSpec] = &family("generic", [
    cmd("migrate", -6, WRITE | MOVABLE_KEYS, migrate).keys(3, 3, 1).acl(KEYSPACE | DANGEROUS).getkeys(migrate_keys).doc("2.6.0", "This command actually executes a DUMP+DEL in the source instance, and a RESTORE in the target instance. See the pages of these commands for time complexity. Also an O(N) data transfer between the two instances is performed.", "Atomically transfer a key from a Redis instance to another one."),
]);

/// What MIGRATE's handler leaves for the Keyspace, and the INFO figure the Keyspace keeps current.
#[derive(Default)]
pub struct MigrateState {
    /// The MIGRATE that ran last in this batch: the batch stops after it until the Keyspace has run it.
    pub pending: Option<Box<MigrateRequest>>,
    /// Connections to targets kept open for the next MIGRATE (INFO stats `migrate_cached_sockets`).
    pub cached_sockets: usize,
}

/// One MIGRATE, arguments checked and keys serialized, for the Keyspace to send.
#[derive(Debug)]
pub struct MigrateRequest {
    /// Host and port to connect to (the port as Redis's atoi reads it: 0 when it is not a number).
    pub host: String,
    pub port: u16,
    /// `host:port` exactly as given: the name of the cached connection, as Redis names it.
    pub name: String,
    /// The source database (the caller's) and the target one (SELECTed when the connection is elsewhere).
    pub db: usize,
    pub target_db: i64,
    /// For connecting, and for each write and each reply read (Redis's per-operation timeout).
    pub timeout: Duration,
    /// COPY: the source keys stay.
    pub copy: bool,
    /// REPLACE: RESTORE ... REPLACE.
    pub replace: bool,
    /// AUTH password, or AUTH2 username password: sent before every MIGRATE on the connection.
    pub auth: Option<(Option<Vec<u8>>, Vec<u8>)>,
    /// The keys found, in argument order.
    pub items: Vec<Item>,
}

/// A key to move: its name, its DUMP payload and its expiry (absolute ms, 0: none).
#[derive(Debug)]
pub struct Item {
    pub key: Vec<u8>,
    pub payload: Vec<u8>,
    pub expire_at: i64,
}

impl MigrateRequest {
    /// The bytes to send (AUTH, SELECT when `select`, one RESTORE per key not expired at `now_ms`) and the
    /// indexes in `items` of the keys sent, as Redis writes them: the TTL relative to now, at least 1 ms, a
    /// key whose TTL has passed meanwhile left out.
    pub fn commands(&self, select: bool, now_ms: i64) -> (Vec<u8>, Vec<usize>) {
        let mut out = Out::new(2);
        if let Some((user, pass)) = &self.auth {
            out.array(if user.is_some() { 3 } else { 2 });
            out.bulk(b"AUTH");
            if let Some(u) = user {
                out.bulk(u);
            }
            out.bulk(pass);
        }
        if select {
            out.array(2);
            out.bulk(b"SELECT");
            out.bulk_i64(self.target_db);
        }
        let mut sent = Vec::with_capacity(self.items.len());
        for (i, it) in self.items.iter().enumerate() {
            let mut ttl = 0;
            if it.expire_at != 0 {
                ttl = it.expire_at - now_ms;
                if ttl < 0 {
                    continue;
                }
                ttl = ttl.max(1);
            }
            sent.push(i);
            out.array(if self.replace { 5 } else { 4 });
            out.bulk(b"RESTORE");
            out.bulk(&it.key);
            out.bulk_i64(ttl);
            out.bulk(&it.payload);
            if self.replace {
                out.bulk(b"REPLACE");
            }
        }
        (out.buf, sent)
    }
}

/// How the exchange with the target ended, for `finish`.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Every key sent was accepted.
    Ok,
    /// The target refused something (AUTH, SELECT or a RESTORE): its error line, without the '-'.
    TargetError(String),
    /// No connection could be made.
    ConnectFailed,
    /// A write, or a read of a reply, failed or timed out.
    WriteFailed,
    ReadFailed,
}

/// The Keyspace ran `req`: the keys at `acked` (indexes into `req.items`) are on the target. Unless COPY,
/// delete them here (keyspace event `del`, WATCH, dirty) and propagate one DEL of them, as Redis rewrites
/// MIGRATE as DEL; then write the reply (errors counted for INFO as the command's own).
pub fn finish(s: &mut State, req: &MigrateRequest, acked: &[usize], outcome: Outcome, out: &mut Out) {
    if !req.copy && !acked.is_empty() {
        let db = req.db;
        for &i in acked {
            let key = &req.items[i].key;
            if s.dbs[db].remove(key).is_some() {
                s.persist.dirty += 1;
                s.touch_key(db, key);
                if s.pubsub.notify & NOTIFY_GENERIC != 0 {
                    super::pubsub::emit(s, None, NOTIFY_GENERIC, "del", key, db);
                }
            }
        }
        if s.prop.feed.enabled {
            let mut args: Vec<&[u8]> = Vec::with_capacity(acked.len() + 1);
            args.push(b"DEL");
            args.extend(acked.iter().map(|&i| req.items[i].key.as_slice()));
            s.prop.feed.command(db, &args);
        }
    }
    let err = match outcome {
        Outcome::Ok => {
            out.ok();
            return;
        }
        Outcome::TargetError(line) => CmdError::msg(format!("ERR Target instance replied with error: {line}")),
        Outcome::ConnectFailed => CmdError::new("IOERR error or timeout connecting to the client"),
        Outcome::WriteFailed => CmdError::new("IOERR error or timeout writing to target instance"),
        Outcome::ReadFailed => CmdError::new("IOERR error or timeout reading to target instance"),
    };
    if let Some(spec) = super::table().lookup(b"migrate") {
        s.stats.cmd_stats[spec.id].failed += 1;
    }
    reply_error(s, out, &err);
}

/// Redis's atoi on the port argument: leading digits, 0 when there are none (the connect then fails).
fn atoi_port(arg: &[u8]) -> u16 {
    let s = std::str::from_utf8(arg).unwrap_or("").trim_start();
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let end = digits.bytes().position(|b| !b.is_ascii_digit()).unwrap_or(digits.len());
    let n: i64 = digits[..end].parse::<i64>().unwrap_or(0);
    // connect() takes the low 16 bits of the int, as the C code's implicit conversion does.
    (if neg { -n } else { n }) as u16
}

/// MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE] [AUTH password]
/// [AUTH2 username password] [KEYS key [key ...]]
///
/// Checks in Redis's order (options, timeout, db, keys present); keys none of which exist answer +NOKEY.
/// Inside MULTI/EXEC or a script, where the batch cannot stop for the network, a MIGRATE with keys to send
/// is refused rather than holding the Keyspace thread on a socket.
fn migrate(cx: &mut Ctx<'_>) -> CmdResult {
    let argc = cx.argc();
    let (mut copy, mut replace) = (false, false);
    let mut auth: Option<(Option<Vec<u8>>, Vec<u8>)> = None;
    let (mut first_key, mut num_keys) = (3, 1);
    let mut j = 6;
    while j < argc {
        let more = argc - 1 - j;
        if cx.argv.is(j, "copy") {
            copy = true;
        } else if cx.argv.is(j, "replace") {
            replace = true;
        } else if cx.argv.is(j, "auth") {
            if more == 0 {
                return Err(CmdError::SYNTAX);
            }
            j += 1;
            auth = Some((None, cx.arg(j).to_vec()));
        } else if cx.argv.is(j, "auth2") {
            if more < 2 {
                return Err(CmdError::SYNTAX);
            }
            auth = Some((Some(cx.arg(j + 1).to_vec()), cx.arg(j + 2).to_vec()));
            j += 2;
        } else if cx.argv.is(j, "keys") {
            if !cx.arg(3).is_empty() {
                return Err(CmdError::new(
                    "ERR When using MIGRATE KEYS option, the key argument must be set to the empty string",
                ));
            }
            first_key = j + 1;
            num_keys = argc - j - 1;
            break;
        } else {
            return Err(CmdError::SYNTAX);
        }
        j += 1;
    }
    let timeout = cx.int_arg(5)?;
    let target_db = cx.int_arg(4)?;
    let timeout_ms = if timeout <= 0 { 1000 } else { timeout as u64 };
    let db_index = cx.db;
    let mut items = Vec::new();
    for i in first_key..first_key + num_keys {
        let key = cx.arg(i);
        let db = cx.db();
        // lookupKeyRead: a key past its TTL is deleted here and counts as missing (a keyspace miss).
        let Some(e) = db.get(key) else { continue };
        let payload = dump_value(&e.value);
        let expire_at = db.expire_at(key).unwrap_or(0);
        items.push(Item { key: key.to_vec(), payload, expire_at });
    }
    if items.is_empty() {
        cx.out.simple("NOKEY");
        return Ok(());
    }
    if cx.s.exec.in_exec || cx.s.exec.in_script {
        return Err(CmdError::new("ERR MIGRATE can't run inside a transaction or a script"));
    }
    let (host, port) = (cx.arg(1), cx.arg(2));
    let mut name = String::from_utf8_lossy(host).into_owned();
    name.push(':');
    name.push_str(&String::from_utf8_lossy(port));
    cx.s.migrate.pending = Some(Box::new(MigrateRequest {
        host: String::from_utf8_lossy(host).into_owned(),
        port: atoi_port(port),
        name,
        db: db_index,
        target_db,
        timeout: Duration::from_millis(timeout_ms),
        copy,
        replace,
        auth,
        items,
    }));
    // The reply, the deletions and their propagation come from `finish`, once the target has answered.
    Ok(())
}

/// migrateGetKeys: the key argument, or the keys after KEYS when the key argument is empty (none when it is
/// not: MIGRATE itself then answers the syntax error).
fn migrate_keys(argv: &[&[u8]]) -> Vec<usize> {
    let argc = argv.len();
    let mut i = 6;
    while i < argc {
        let a = argv[i];
        if a.eq_ignore_ascii_case(b"keys") {
            return if argv[3].is_empty() { (i + 1..argc).collect() } else { Vec::new() };
        }
        if a.eq_ignore_ascii_case(b"auth") {
            i += 1;
        } else if a.eq_ignore_ascii_case(b"auth2") {
            i += 2;
        }
        i += 1;
    }
    if argc > 3 {
        vec![3]
    } else {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::testutil::{new, run_raw};

    fn request(t: &mut crate::commands::testutil::T) -> Box<MigrateRequest> {
        t.s.migrate.pending.take().expect("a request was left for the Keyspace")
    }

    #[test]
    fn argument_errors_in_redis_order() {
        let mut t = new();
        let m = |rest: &[&str]| {
            let mut v = vec!["migrate", "127.0.0.1", "6379", "k", "0", "1000"];
            v.extend(rest);
            v.iter().map(|s| s.to_string()).collect::<Vec<_>>()
        };
        let run = |t: &mut crate::commands::testutil::T, args: Vec<String>| {
            let refs: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
            run_raw(t, &refs)
        };
        assert_eq!(
            run_raw(&mut t, &["migrate", "h", "1", "k", "0"]),
            "-ERR wrong number of arguments for 'migrate' command\r\n"
        );
        assert_eq!(run(&mut t, m(&["bogus"])), "-ERR syntax error\r\n");
        assert_eq!(run(&mut t, m(&["auth"])), "-ERR syntax error\r\n");
        assert_eq!(run(&mut t, m(&["auth2", "user"])), "-ERR syntax error\r\n");
        assert_eq!(
            run(&mut t, m(&["keys", "a"])),
            "-ERR When using MIGRATE KEYS option, the key argument must be set to the empty string\r\n"
        );
        // Options come before the numbers, the timeout before the db.
        let bad = |db: &str, timeout: &str, rest: &[&str]| {
            let mut v = vec!["migrate", "h", "1", "k", db, timeout];
            v.extend(rest);
            v.iter().map(|s| s.to_string()).collect::<Vec<_>>()
        };
        assert_eq!(run(&mut t, bad("x", "y", &["nope"])), "-ERR syntax error\r\n");
        assert_eq!(run(&mut t, bad("0", "1.5", &[])), "-ERR value is not an integer or out of range\r\n");
        assert_eq!(run(&mut t, bad("zero", "100", &[])), "-ERR value is not an integer or out of range\r\n");
        // No key to send: NOKEY, and nothing for the Keyspace to do.
        assert_eq!(run(&mut t, m(&[])), "+NOKEY\r\n");
        let mut v = m(&["copy", "keys", "a", "b"]);
        v[3] = String::new();
        assert_eq!(run(&mut t, v), "+NOKEY\r\n");
        assert!(t.s.migrate.pending.is_none());
        // KEYS with no key after it: nothing to migrate either.
        let mut v = m(&["keys"]);
        v[3] = String::new();
        assert_eq!(run(&mut t, v), "+NOKEY\r\n");
    }

    #[test]
    fn a_request_carries_the_options_keys_and_payloads() {
        let mut t = new();
        run_raw(&mut t, &["set", "a", "1"]);
        run_raw(&mut t, &["rpush", "l", "x", "y"]);
        run_raw(&mut t, &["set", "t", "v", "px", "100000"]);
        let got = run_raw(
            &mut t,
            &[
                "migrate",
                "localhost",
                "7000x",
                "",
                "3",
                "-5",
                "REPLACE",
                "auth2",
                "u",
                "p",
                "COPY",
                "KEYS",
                "a",
                "nokey",
                "l",
                "t",
            ],
        );
        // No reply yet: the Keyspace writes it after the exchange.
        assert_eq!(got, "");
        let r = request(&mut t);
        assert_eq!((r.host.as_str(), r.port, r.name.as_str()), ("localhost", 7000, "localhost:7000x"));
        assert_eq!((r.db, r.target_db, r.timeout), (0, 3, Duration::from_millis(1000)));
        assert!(r.copy && r.replace);
        assert_eq!(r.auth, Some((Some(b"u".to_vec()), b"p".to_vec())));
        let keys: Vec<&[u8]> = r.items.iter().map(|i| i.key.as_slice()).collect();
        assert_eq!(keys, [&b"a"[..], b"l", b"t"]);
        let dumped = run_raw(&mut t, &["dump", "l"]);
        assert!(dumped.ends_with(&format!("{}\r\n", String::from_utf8_lossy(&r.items[1].payload))));
        assert_eq!(r.items[0].expire_at, 0);
        assert!(r.items[2].expire_at > crate::types::clock::now_ms());
        // The source keys are untouched until the target has answered.
        assert_eq!(run_raw(&mut t, &["exists", "a", "l", "t"]), ":3\r\n");
    }

    #[test]
    fn commands_are_auth_select_and_restores_with_relative_ttls() {
        let req = MigrateRequest {
            host: "h".into(),
            port: 1,
            name: "h:1".into(),
            db: 0,
            target_db: 9,
            timeout: Duration::from_secs(1),
            copy: false,
            replace: true,
            auth: Some((None, b"pw".to_vec())),
            items: vec![
                Item { key: b"a".to_vec(), payload: b"P1".to_vec(), expire_at: 0 },
                Item { key: b"gone".to_vec(), payload: b"P2".to_vec(), expire_at: 999 },
                Item { key: b"t".to_vec(), payload: b"P3".to_vec(), expire_at: 1000 },
                Item { key: b"u".to_vec(), payload: b"P4".to_vec(), expire_at: 6000 },
            ],
        };
        let (buf, sent) = req.commands(true, 1000);
        assert_eq!(sent, [0, 2, 3]);
        let want = "*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n*2\r\n$6\r\nSELECT\r\n$1\r\n9\r\n\
                    *5\r\n$7\r\nRESTORE\r\n$1\r\na\r\n$1\r\n0\r\n$2\r\nP1\r\n$7\r\nREPLACE\r\n\
                    *5\r\n$7\r\nRESTORE\r\n$1\r\nt\r\n$1\r\n1\r\n$2\r\nP3\r\n$7\r\nREPLACE\r\n\
                    *5\r\n$7\r\nRESTORE\r\n$1\r\nu\r\n$4\r\n5000\r\n$2\r\nP4\r\n$7\r\nREPLACE\r\n";
        assert_eq!(String::from_utf8_lossy(&buf), want);
        let req = MigrateRequest { auth: Some((Some(b"me".to_vec()), b"pw".to_vec())), replace: false, ..req };
        let (buf, _) = req.commands(false, 0);
        assert!(String::from_utf8_lossy(&buf)
            .starts_with("*3\r\n$4\r\nAUTH\r\n$2\r\nme\r\n$2\r\npw\r\n*4\r\n$7\r\nRESTORE\r\n"));
    }

    #[test]
    fn finish_deletes_acked_keys_propagates_del_and_replies() {
        let mut t = new();
        crate::commands::set_feed_enabled(&mut t.s, true);
        for k in ["a", "b", "c"] {
            run_raw(&mut t, &["set", k, "v"]);
        }
        t.s.prop.feed.buf.clear();
        let got = run_raw(&mut t, &["migrate", "h", "1", "", "0", "100", "keys", "a", "b", "c"]);
        assert_eq!(got, "");
        let req = request(&mut t);
        let mut out = Out::new(2);
        // b was refused (BUSYKEY): a and c go, b stays; the first error is the reply.
        let busy = Outcome::TargetError("BUSYKEY Target key name already exists.".into());
        finish(&mut t.s, &req, &[0, 2], busy, &mut out);
        assert_eq!(
            String::from_utf8_lossy(&out.buf),
            "-ERR Target instance replied with error: BUSYKEY Target key name already exists.\r\n"
        );
        assert_eq!(run_raw(&mut t, &["exists", "a", "b", "c"]), ":1\r\n");
        let feed = String::from_utf8_lossy(&t.s.prop.feed.buf).into_owned();
        assert!(feed.ends_with("*3\r\n$3\r\nDEL\r\n$1\r\na\r\n$1\r\nc\r\n"), "{feed}");
        assert_eq!(t.s.stats.error_stats.get("ERR"), Some(&1));
        // COPY keeps everything; an I/O failure is IOERR.
        run_raw(&mut t, &["migrate", "h", "1", "b", "0", "100", "copy"]);
        let req = request(&mut t);
        let mut out = Out::new(2);
        finish(&mut t.s, &req, &[0], Outcome::ReadFailed, &mut out);
        assert_eq!(out.buf, b"-IOERR error or timeout reading to target instance\r\n");
        assert_eq!(run_raw(&mut t, &["exists", "b"]), ":1\r\n");
        let mut out = Out::new(2);
        finish(&mut t.s, &req, &[], Outcome::ConnectFailed, &mut out);
        assert_eq!(out.buf, b"-IOERR error or timeout connecting to the client\r\n");
        let mut out = Out::new(2);
        finish(&mut t.s, &req, &[0], Outcome::Ok, &mut out);
        assert_eq!(out.buf, b"+OK\r\n");
    }

    #[test]
    fn refused_inside_multi_unless_there_is_nothing_to_send() {
        let mut t = new();
        run_raw(&mut t, &["set", "k", "v"]);
        run_raw(&mut t, &["multi"]);
        run_raw(&mut t, &["migrate", "h", "1", "nokey", "0", "100"]);
        run_raw(&mut t, &["migrate", "h", "1", "k", "0", "100"]);
        assert_eq!(
            run_raw(&mut t, &["exec"]),
            "*2\r\n+NOKEY\r\n-ERR MIGRATE can't run inside a transaction or a script\r\n"
        );
        assert!(t.s.migrate.pending.is_none());
    }

    #[test]
    fn keys_for_command_getkeys() {
        let a = |v: &[&str]| migrate_keys(&v.iter().map(|s| s.as_bytes()).collect::<Vec<_>>());
        assert_eq!(a(&["migrate", "h", "1", "k", "0", "5"]), [3]);
        assert_eq!(a(&["migrate", "h", "1", "", "0", "5", "copy", "keys", "a", "b"]), [8, 9]);
        assert_eq!(a(&["migrate", "h", "1", "", "0", "5", "auth", "keys", "keys", "a"]), [9]);
        assert_eq!(a(&["migrate", "h", "1", "", "0", "5", "auth2", "keys", "keys", "keys", "a"]), [10]);
        assert_eq!(a(&["migrate", "h", "1", "x", "0", "5", "keys", "a"]), Vec::<usize>::new());
        assert_eq!(atoi_port(b"6379"), 6379);
        assert_eq!(atoi_port(b" 12ab"), 12);
        assert_eq!(atoi_port(b"x"), 0);
    }
}
