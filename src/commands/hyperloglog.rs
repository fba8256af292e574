//! HyperLogLog commands: PFADD, PFCOUNT, PFMERGE, PFDEBUG, PFSELFTEST (commands layer, applied by the
//! Keyspace actor).
//!
//! An HLL is an ordinary string value holding Redis's exact HLL bytes (see `types::hll`), so the string
//! commands see what Redis would show, and corrupted HLLs (SETRANGE, APPEND) are detected as Redis does:
//! a string without the HLL header is "WRONGTYPE Key is not a valid HyperLogLog string value.", malformed
//! sparse data is "INVALIDOBJ Corrupted HLL object detected". Values we change become `raw`, as Redis's
//! dbUnshareStringValue makes them.

use super::spec::*;
use super::Ctx;
use crate::config::NOTIFY_STRING;
use crate::error::CmdError;
use crate::types::hll;
use crate::types::rawstr::RawMut;
use crate::types::value::Value;

const NOT_HLL: CmdError = CmdError::new("WRONGTYPE Key is not a valid HyperLogLog string value.");
const INVALID: CmdError = CmdError::new("INVALIDOBJ Corrupted HLL object detected");

/// The HyperLogLog commands, as Redis 7.0's command table declares them.
#[rustfmt::skip]
pub const SPECS: &[CommandSpec] = &family("hyperloglog", [
    cmd("pfadd", -2, WRITE | DENYOOM | FAST, pfadd).keys(1, 1, 1).acl(HYPERLOGLOG).doc("2.8.9", "O(1) to add every element.", "Adds the specified elements to the specified HyperLogLog."),
    cmd("pfcount", -2, READONLY | MAY_REPLICATE, pfcount).keys(1, -1, 1).acl(HYPERLOGLOG).doc("2.8.9", "O(1) with a very small average constant time when called with a single key. O(N) with N being the number of keys, and much bigger constant times, when called with multiple keys.", "Return the approximated cardinality of the set(s) observed by the HyperLogLog at key(s)."),
    cmd("pfmerge", -2, WRITE | DENYOOM, pfmerge).keys(1, -1, 1).acl(HYPERLOGLOG).doc("2.8.9", "O(N) to merge N HyperLogLogs, but with high constant times.", "Merge N different HyperLogLogs into a single one."),
    cmd("pfdebug", 3, WRITE | DENYOOM | ADMIN, pfdebug).keys(2, 2, 1).acl(HYPERLOGLOG).doc("2.8.9", "N/A", "Internal commands for debugging HyperLogLog values"),
    cmd("pfselftest", 1, ADMIN, pfselftest).acl(HYPERLOGLOG).doc("2.8.9", "N/A", "An internal command for testing HyperLogLog values"),
]);

/// Redis's isHLLObjectOrReply: a string (not int-encoded) with a valid HLL header.
fn check(v: &Value) -> Result<(), CmdError> {
    match v {
        Value::Emb(b) if hll::is_valid(b) => Ok(()),
        Value::Raw(b) if hll::is_valid(b) => Ok(()),
        Value::Int(_) | Value::Emb(_) | Value::Raw(_) => Err(NOT_HLL),
        _ => Err(CmdError::WRONGTYPE),
    }
}

/// The bytes of a string value already checked by `check`.
fn bytes(v: &Value) -> &[u8] {
    match v {
        Value::Emb(b) => b,
        Value::Raw(b) => b,
        _ => &[],
    }
}

/// A checked HLL made `raw` for in-place changes.
fn raw_mut(v: &mut Value) -> Result<RawMut<'_>, CmdError> {
    check(v)?;
    v.make_raw().ok_or(NOT_HLL)
}

fn sparse_max(cx: &Ctx<'_>) -> usize {
    cx.s.config.hll_sparse_max_bytes.min(usize::MAX as u64) as usize
}

/// PFADD key [element ...]
fn pfadd(cx: &mut Ctx<'_>) -> CmdResult {
    let key = cx.arg(1);
    let argv = cx.argv;
    let max = sparse_max(cx);
    let db = cx.db();
    let mut updated = 0u64;
    let add_all = |v: &mut Vec<u8>, updated: &mut u64| -> Result<(), CmdError> {
        for ele in argv.iter().skip(2) {
            if hll::add(v, ele, max).map_err(|_| INVALID)? {
                *updated += 1;
            }
        }
        if *updated > 0 {
            hll::invalidate_cache(v);
        }
        Ok(())
    };
    match db.get_mut(key) {
        Some(e) => add_all(&mut *raw_mut(&mut e.value)?, &mut updated)?,
        None => {
            let mut v = hll::new_sparse();
            updated += 1;
            add_all(&mut v, &mut updated)?;
            db.set(key, Value::raw(v), false);
        }
    }
    if updated > 0 {
        cx.modified(key);
        cx.s.persist.dirty += updated - 1;
        cx.notify(NOTIFY_STRING, "pfadd", key);
    }
    cx.out.int(i64::from(updated > 0));
    Ok(())
}

/// PFCOUNT key [key ...]
fn pfcount(cx: &mut Ctx<'_>) -> CmdResult {
    let argc = cx.argc();
    if argc > 2 {
        // The union of several HLLs: merged into raw registers, nothing cached.
        let argv = cx.argv;
        let db = cx.db();
        let mut max = vec![0u8; hll::REGISTERS];
        for key in argv.iter().skip(1) {
            let Some(e) = db.get(key) else { continue };
            check(&e.value)?;
            hll::merge_into(&mut max, bytes(&e.value)).map_err(|_| INVALID)?;
        }
        let card = hll::count_raw(&max);
        cx.out.int(card as i64);
        return Ok(());
    }
    let key = cx.arg(1);
    let db = cx.db();
    match db.get(key) {
        None => {
            cx.out.int(0);
            return Ok(());
        }
        Some(e) => check(&e.value)?,
    }
    let Some(e) = db.get_mut(key) else {
        cx.out.int(0);
        return Ok(());
    };
    let (card, computed) = {
        let mut guard = raw_mut(&mut e.value)?;
        let v: &mut Vec<u8> = &mut guard;
        match hll::cached_card(v) {
            Some(card) => (card, false),
            None => {
                let card = hll::count(v).map_err(|_| INVALID)?;
                hll::set_cached_card(v, card);
                (card, true)
            }
        }
    };
    if computed {
        // Updating the cache changes the string: propagate it as Redis does.
        cx.modified(key);
    }
    cx.out.int(card as i64);
    Ok(())
}

/// PFMERGE destkey [sourcekey ...]
fn pfmerge(cx: &mut Ctx<'_>) -> CmdResult {
    let argv = cx.argv;
    let dest = cx.arg(1);
    let smax = sparse_max(cx);
    let db = cx.db();
    let mut max = vec![0u8; hll::REGISTERS];
    let mut use_dense = false;
    // The destination is a source too.
    for key in argv.iter().skip(1) {
        let Some(e) = db.get(key) else { continue };
        check(&e.value)?;
        let b = bytes(&e.value);
        if hll::encoding(b) == hll::DENSE {
            use_dense = true;
        }
        hll::merge_into(&mut max, b).map_err(|_| INVALID)?;
    }
    let write = |v: &mut Vec<u8>| -> Result<(), CmdError> {
        if use_dense {
            hll::sparse_to_dense(v).map_err(|_| INVALID)?;
        }
        for (j, &m) in max.iter().enumerate() {
            if m != 0 {
                // Redis ignores a corrupted destination here: it was validated as a source already.
                let _ = hll::set_register(v, j, m, smax);
            }
        }
        hll::invalidate_cache(v);
        Ok(())
    };
    match db.get_mut(dest) {
        Some(e) => write(&mut *raw_mut(&mut e.value)?)?,
        None => {
            let mut v = hll::new_sparse();
            write(&mut v)?;
            db.set(dest, Value::raw(v), false);
        }
    }
    cx.modified(dest);
    // PFMERGE is a mass PFADD, and Redis names its event so.
    cx.notify(NOTIFY_STRING, "pfadd", dest);
    cx.out.ok();
    Ok(())
}

/// PFDEBUG <GETREG|DECODE|ENCODING|TODENSE> key
fn pfdebug(cx: &mut Ctx<'_>) -> CmdResult {
    let sub = cx.arg(1);
    let key = cx.arg(2);
    let (db, out) = cx.db_out();
    let Some(e) = db.get_mut(key) else {
        return Err(CmdError::new("ERR The specified key does not exist"));
    };
    let mut guard = raw_mut(&mut e.value)?;
    let v: &mut Vec<u8> = &mut guard;
    let mut converted = false;
    if sub.eq_ignore_ascii_case(b"getreg") {
        if hll::encoding(v) == hll::SPARSE {
            hll::sparse_to_dense(v).map_err(|_| INVALID)?;
            converted = true;
        }
        let regs = &v[hll::HDR_SIZE..];
        out.array(hll::REGISTERS);
        for i in 0..hll::REGISTERS {
            out.int(hll::dense_get(regs, i) as i64);
        }
    } else if sub.eq_ignore_ascii_case(b"decode") {
        if hll::encoding(v) != hll::SPARSE {
            return Err(CmdError::new("ERR HLL encoding is not sparse"));
        }
        out.bulk(hll::decode_sparse(v).as_bytes());
    } else if sub.eq_ignore_ascii_case(b"encoding") {
        out.simple(if hll::encoding(v) == hll::DENSE { "dense" } else { "sparse" });
    } else if sub.eq_ignore_ascii_case(b"todense") {
        if hll::encoding(v) == hll::SPARSE {
            hll::sparse_to_dense(v).map_err(|_| INVALID)?;
            converted = true;
        }
        out.int(i64::from(converted));
    } else {
        return Err(CmdError::msg(format!("ERR Unknown PFDEBUG subcommand '{}'", String::from_utf8_lossy(sub))));
    }
    drop(guard);
    if converted {
        // Force propagation of the encoding change.
        cx.s.persist.dirty += 1;
    }
    Ok(())
}

/// PFSELFTEST
fn pfselftest(cx: &mut Ctx<'_>) -> CmdResult {
    let smax = sparse_max(cx);
    match hll::selftest(smax, || crate::types::rng::next_u64() as u32 & 0x7fff_ffff) {
        Ok(()) => {
            cx.out.ok();
            Ok(())
        }
        Err(msg) => Err(CmdError::msg(format!("ERR {msg}"))),
    }
}

#[cfg(test)]
mod tests {
    use crate::commands::run_args;
    use crate::commands::testutil::{bulk, err, int, new, ok, run, run_raw, simple, T};
    use crate::types::value::Value;

    /// The payload of a bulk reply, as raw bytes.
    fn bulk_bytes(t: &mut T, args: &[&str]) -> Vec<u8> {
        let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
        let resp = run_args(&mut t.s, t.me, &a);
        let p = resp.iter().position(|&c| c == b'\n').unwrap();
        let n: usize = std::str::from_utf8(&resp[1..p - 1]).unwrap().parse().unwrap();
        resp[p + 1..p + 1 + n].to_vec()
    }

    #[test]
    fn pfadd_creates_sparse_and_counts() {
        let mut t = new();
        assert_eq!(run(&mut t, &["pfadd", "hll"]), int(1));
        assert_eq!(run(&mut t, &["exists", "hll"]), int(1));
        assert_eq!(run(&mut t, &["pfcount", "hll"]), int(0));
        assert_eq!(run(&mut t, &["pfadd", "hll", "a", "b", "c"]), int(1));
        assert_eq!(run(&mut t, &["pfadd", "hll", "a", "b", "c"]), int(0));
        assert_eq!(run(&mut t, &["pfcount", "hll"]), int(3));
        assert_eq!(run(&mut t, &["pfdebug", "encoding", "hll"]), simple("sparse"));
        assert_eq!(run(&mut t, &["object", "encoding", "hll"]), bulk("raw"));
        assert_eq!(run(&mut t, &["pfcount", "nokey"]), int(0));
    }

    #[test]
    fn exact_bytes_match_redis() {
        // redis-server 7.0.15: PFADD h a b c; GET h
        let mut t = new();
        run(&mut t, &["pfadd", "h", "a", "b", "c"]);
        let v = bulk_bytes(&mut t, &["get", "h"]);
        assert_eq!(
            v,
            b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x60\xf3\x80\x50\xb1\x84\x4b\xfb\x80\x42\x5a"
                .to_vec()
        );
        assert_eq!(run(&mut t, &["pfdebug", "decode", "h"]), bulk("Z:8436 v:1,1 Z:4274 v:2,1 Z:3068 v:1,1 Z:603"));
    }

    #[test]
    fn cache_invalidation() {
        let mut t = new();
        run(&mut t, &["pfadd", "hll", "a", "b", "c"]);
        run(&mut t, &["pfcount", "hll"]);
        assert_eq!(run(&mut t, &["getrange", "hll", "15", "15"]), bulk("\0"));
        run(&mut t, &["pfadd", "hll", "a", "b", "c"]);
        assert_eq!(run(&mut t, &["getrange", "hll", "15", "15"]), bulk("\0"));
        run(&mut t, &["pfadd", "hll", "1", "2", "3"]);
        assert_eq!(bulk_bytes(&mut t, &["getrange", "hll", "15", "15"]), vec![0x80]);
    }

    #[test]
    fn wrong_types_and_corruption() {
        let mut t = new();
        run(&mut t, &["set", "foo", "bar"]);
        let wt = err("WRONGTYPE Key is not a valid HyperLogLog string value.");
        assert_eq!(run(&mut t, &["pfadd", "foo", "1"]), wt);
        assert_eq!(run(&mut t, &["pfcount", "foo"]), wt);
        assert_eq!(run(&mut t, &["pfmerge", "bar", "foo"]), wt);
        assert_eq!(run(&mut t, &["pfmerge", "foo", "bar"]), wt);
        run(&mut t, &["set", "int", "12345"]);
        assert_eq!(run(&mut t, &["pfcount", "int"]), wt);
        t.s.dbs[0].set(b"list", Value::List(Default::default()), false);
        let wrong = err("WRONGTYPE Operation against a key holding the wrong kind of value");
        assert_eq!(run(&mut t, &["pfadd", "list", "a"]), wrong);
        assert_eq!(run(&mut t, &["pfcount", "list"]), wrong);
        assert_eq!(run(&mut t, &["pfcount", "list", "foo"]), wrong);

        run(&mut t, &["pfadd", "hll", "a", "b", "c"]);
        run(&mut t, &["append", "hll", "hello"]);
        assert_eq!(run(&mut t, &["pfcount", "hll"]), err("INVALIDOBJ Corrupted HLL object detected"));
        assert_eq!(run(&mut t, &["pfcount", "hll", "hll"]), err("INVALIDOBJ Corrupted HLL object detected"));
        run(&mut t, &["del", "hll"]);
        run(&mut t, &["pfadd", "hll", "a", "b", "c"]);
        run(&mut t, &["setrange", "hll", "0", "0123"]);
        assert_eq!(run(&mut t, &["pfcount", "hll"]), wt);
        run(&mut t, &["del", "hll"]);
        run(&mut t, &["pfadd", "hll", "a", "b", "c"]);
        run(&mut t, &["setrange", "hll", "4", "x"]);
        assert_eq!(run(&mut t, &["pfcount", "hll"]), wt);
        run(&mut t, &["del", "hll"]);
        run(&mut t, &["pfadd", "hll", "a", "b", "c"]);
        run(&mut t, &["setrange", "hll", "4", "\x00"]);
        assert_eq!(run(&mut t, &["pfcount", "hll"]), wt);
    }

    #[test]
    fn merge_and_multi_count() {
        let mut t = new();
        run(&mut t, &["pfadd", "h1", "a", "b", "c"]);
        run(&mut t, &["pfadd", "h2", "b", "c", "d"]);
        run(&mut t, &["pfadd", "h3", "c", "d", "e"]);
        assert_eq!(run(&mut t, &["pfcount", "h1", "h2", "h3", "missing"]), int(5));
        assert_eq!(run(&mut t, &["pfmerge", "h", "h1", "h2", "h3"]), ok());
        assert_eq!(run(&mut t, &["pfcount", "h"]), int(5));
        assert_eq!(run(&mut t, &["pfdebug", "encoding", "h"]), simple("sparse"));
        // A dense source makes the destination dense.
        assert_eq!(run(&mut t, &["pfdebug", "todense", "h1"]), int(1));
        assert_eq!(run(&mut t, &["pfdebug", "todense", "h1"]), int(0));
        assert_eq!(run(&mut t, &["pfmerge", "hd", "h1", "h3"]), ok());
        assert_eq!(run(&mut t, &["pfdebug", "encoding", "hd"]), simple("dense"));
        assert_eq!(run(&mut t, &["pfcount", "hd"]), int(5));
        // Destination only.
        assert_eq!(run(&mut t, &["pfmerge", "empty"]), ok());
        assert_eq!(run(&mut t, &["pfcount", "empty"]), int(0));
    }

    #[test]
    fn pfdebug_subcommands() {
        let mut t = new();
        assert_eq!(run(&mut t, &["pfdebug", "getreg", "nokey"]), err("ERR The specified key does not exist"));
        run(&mut t, &["pfadd", "h", "1", "2", "3"]);
        assert_eq!(run(&mut t, &["pfdebug", "Foo", "h"]), err("ERR Unknown PFDEBUG subcommand 'Foo'"));
        let regs = run_raw(&mut t, &["pfdebug", "getreg", "h"]);
        assert!(regs.starts_with("*16384\r\n"));
        assert_eq!(regs.matches(':').count(), 16384);
        assert_eq!(run(&mut t, &["pfdebug", "encoding", "h"]), simple("dense"));
        assert_eq!(run(&mut t, &["pfdebug", "decode", "h"]), err("ERR HLL encoding is not sparse"));
        assert_eq!(run(&mut t, &["pfcount", "h"]), int(3));
        assert_eq!(run(&mut t, &["strlen", "h"]), int(12304));
    }

    #[test]
    fn sparse_max_bytes_from_config() {
        let mut t = new();
        t.s.config.hll_sparse_max_bytes = 30;
        run(&mut t, &["pfadd", "h", "a"]);
        assert_eq!(run(&mut t, &["pfdebug", "encoding", "h"]), simple("sparse"));
        run(&mut t, &["pfadd", "h", "b", "c", "d", "e", "f"]);
        assert_eq!(run(&mut t, &["pfdebug", "encoding", "h"]), simple("dense"));
        assert_eq!(run(&mut t, &["pfcount", "h"]), int(6));
    }

    #[test]
    fn selftest_passes() {
        let mut t = new();
        assert_eq!(run(&mut t, &["pfselftest"]), ok());
    }
}
