//! Replication commands, master side: SYNC, PSYNC, REPLCONF (commands layer, applied by the Keyspace actor).
//!
//! A client that sends SYNC or PSYNC becomes a replica stream: it gets the dataset as an RDB file, encoded
//! by the command itself (so the stream that follows starts exactly where the file ends; a big dataset holds
//! the other clients while it is encoded, where Redis forks), then every propagated write (see `propagate`).

use super::spec::*;
use super::Ctx;
use crate::error::CmdError;

fn start_stream(cx: &mut Ctx<'_>) {
    let rdb = super::rdb::snapshot_file(cx.s);
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
    fn sync_makes_a_replica_and_sends_the_dataset() {
        let mut t = new();
        run_raw(&mut t, &["set", "k", "some-value"]);
        let r = run_raw(&mut t, &["sync"]);
        let (len, body) = r[1..].split_once("\r\n").unwrap();
        assert!(len.parse::<usize>().unwrap() > 9, "{r:?}");
        assert!(body.starts_with("REDIS0010") && body.contains("some-value"), "{r:?}");
        assert!(t.s.clients[t.me].replica);
        assert_eq!(t.s.prop.new_replicas, vec![t.me]);
        assert!(run_raw(&mut t, &["psync", "?", "-1"]).is_empty());
    }
}
