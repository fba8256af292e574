//! Replication commands, master side: SYNC, PSYNC, REPLCONF (commands layer, applied by the Keyspace actor).
//!
//! A client that sends SYNC or PSYNC becomes a replica stream: it gets a snapshot payload, then every
//! propagated write (see `propagate`). Until snapshots land, the payload is an empty RDB, so a stream is
//! exact for a replica that starts from an empty dataset (and for tools that watch the stream).

use super::spec::*;
use super::Ctx;
use crate::error::CmdError;

/// An RDB file holding no keys: magic, version 10, EOF opcode, CRC-64 of the preceding bytes.
pub fn empty_rdb() -> Vec<u8> {
    let mut v = b"REDIS0010".to_vec();
    v.push(0xff);
    let crc = crate::persist::dump::crc64(0, &v);
    v.extend_from_slice(&crc.to_le_bytes());
    v
}

fn start_stream(cx: &mut Ctx<'_>) {
    let rdb = empty_rdb();
    // The payload goes as a bulk length and raw bytes with no trailing CRLF, as Redis sends it.
    cx.out.raw(format!("${}\r\n", rdb.len()).as_bytes());
    cx.out.raw(&rdb);
    let me = cx.me;
    cx.client().replica = true;
    cx.s.prop.new_replicas.push(me);
}

/// SYNC
fn sync(cx: &mut Ctx<'_>) -> CmdResult {
    if cx.client().replica {
        return Ok(());
    }
    start_stream(cx);
    Ok(())
}

/// PSYNC replicationid offset: always a full resynchronization for now.
fn psync(cx: &mut Ctx<'_>) -> CmdResult {
    if cx.client().replica {
        return Ok(());
    }
    let line = format!("+FULLRESYNC {} {}\r\n", cx.s.server.run_id, cx.s.prop.feed.offset);
    cx.out.raw(line.as_bytes());
    start_stream(cx);
    Ok(())
}

/// REPLCONF option value ...: accepted; ACK and GETACK get no reply, as in Redis.
fn replconf(cx: &mut Ctx<'_>) -> CmdResult {
    if cx.argc().is_multiple_of(2) {
        return Err(CmdError::SYNTAX);
    }
    if cx.argv.is(1, "ack") || cx.argv.is(1, "getack") {
        return Ok(());
    }
    cx.out.ok();
    Ok(())
}

const REPL: u32 = ADMIN | NOSCRIPT | NO_MULTI;

#[rustfmt::skip]
pub const SPECS: &[CommandSpec] = &family("server", [
    cmd("sync", 1, REPL, sync).doc("1.0.0", "", "An internal command used in replication."),
    cmd("psync", -3, REPL, psync).doc("2.8.0", "", "An internal command used in replication."),
    cmd("replconf", -1, ADMIN | NOSCRIPT | LOADING | STALE | ALLOW_BUSY, replconf).doc("3.0.0", "O(1)", "An internal command for configuring the replication stream."),
]);

#[cfg(test)]
mod tests {
    use crate::commands::testutil::{new, run_raw};

    #[test]
    fn sync_makes_a_replica_and_sends_an_empty_rdb() {
        let mut t = new();
        let r = run_raw(&mut t, &["sync"]);
        assert!(r.starts_with("$18\r\nREDIS0010"), "{r:?}");
        assert!(t.s.clients[t.me].replica);
        assert_eq!(t.s.prop.new_replicas, vec![t.me]);
        assert!(run_raw(&mut t, &["psync", "?", "-1"]).is_empty());
    }
}
