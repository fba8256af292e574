//! Query and reply buffers sized as Redis 7.0's (networking.c clientsCronResizeQueryBuffer and
//! clientsCronResizeOutputBuffer), as CLIENT LIST shows them (`qbuf` + `qbuf-free`, `rbs`, `rbp`): a fresh
//! client's 16 KB read buffer is kept while it is active and released once it has been idle over 2
//! seconds; a big argument leaves more room, trimmed by the clients cron to the recent peak once the
//! client's requests are small again; reply buffers shrink when idle and grow for big replies.

mod common;

use common::{poll_until, q, TestServer};
use std::time::Duration;

/// `qbuf + qbuf-free` and `idle` of the client named `name`, from CLIENT LIST on `con`.
fn query_buffer(con: &mut redis::Connection, name: &str) -> (usize, u64) {
    let list: String = q(con, &["client", "list"]);
    let line = list.lines().find(|l| l.contains(&format!(" name={name} "))).expect("client listed");
    let field =
        |f: &str| -> u64 { line.split(' ').find_map(|kv| kv.strip_prefix(&format!("{f}="))).unwrap().parse().unwrap() };
    ((field("qbuf") + field("qbuf-free")) as usize, field("idle"))
}

#[test]
fn an_idle_clients_query_buffer_is_released_after_two_seconds() {
    let srv = TestServer::start();
    let mut admin = srv.conn();
    let mut client = srv.conn();
    assert_eq!(q::<String>(&mut client, &["client", "setname", "test_client"]), "OK");
    let (size, _) = query_buffer(&mut admin, "test_client");
    assert!((16384..32768).contains(&size), "{size}");
    assert!(
        poll_until(Duration::from_secs(8), || {
            let (size, idle) = query_buffer(&mut admin, "test_client");
            idle >= 3 && size == 0
        }),
        "query buffer not released: {:?}",
        query_buffer(&mut admin, "test_client")
    );
    // The next request gets a buffer again.
    assert_eq!(q::<String>(&mut client, &["ping"]), "PONG");
    assert!(query_buffer(&mut admin, "test_client").0 >= 16384);
}

#[test]
fn a_big_arguments_buffer_shrinks_back_to_the_recent_peak() {
    let srv = TestServer::start();
    let mut admin = srv.conn();
    let mut client = srv.conn();
    assert_eq!(q::<String>(&mut client, &["client", "setname", "test_client"]), "OK");
    let big = "A".repeat(400_000);
    assert_eq!(q::<String>(&mut client, &["set", "x", &big]), "OK");
    let (orig, _) = query_buffer(&mut admin, "test_client");
    assert!(orig > 32768, "{orig}");
    let mut now = orig;
    let shrunk = poll_until(Duration::from_secs(3), || {
        let _: String = q(&mut client, &["set", "x", &"A".repeat(100)]);
        now = query_buffer(&mut admin, "test_client").0;
        now < orig
    });
    assert!(shrunk && now > 0 && now < orig, "{orig} -> {now}");
}

/// `rbs` and `rbp` of the client named `name`.
fn reply_buffer(con: &mut redis::Connection, name: &str) -> (usize, usize) {
    let list: String = q(con, &["client", "list"]);
    let line = list.lines().find(|l| l.contains(&format!(" name={name} "))).expect("client listed");
    let field = |f: &str| -> usize {
        line.split(' ').find_map(|kv| kv.strip_prefix(&format!("{f}="))).unwrap().parse().unwrap()
    };
    (field("rbs"), field("rbp"))
}

/// Redis's clientsCronResizeOutputBuffer (unit/replybufsize): an idle client's 16 KB reply buffer shrinks to
/// 1 KB, a client whose replies fill it sees it double up to 16 KB; DEBUG REPLYBUFFER sets the peak's reset
/// time and turns the resizing off; INFO counts the shrinks and expands.
#[test]
fn reply_buffers_shrink_when_idle_and_grow_for_big_replies() {
    let srv = TestServer::start();
    let mut admin = srv.conn();
    assert_eq!(q::<String>(&mut admin, &["debug", "replybuffer", "peak-reset-time", "100"]), "OK");
    let mut client = srv.conn();
    assert_eq!(q::<String>(&mut client, &["client", "setname", "test_client"]), "OK");
    let mut seen = (0, 0);
    let shrunk = poll_until(Duration::from_secs(3), || {
        seen = reply_buffer(&mut admin, "test_client");
        (1024..2046).contains(&seen.0)
    });
    assert!(shrunk, "reply buffer of an idle client: {seen:?}");
    assert_eq!(q::<String>(&mut admin, &["set", "bigval", &"x".repeat(32768)]), "OK");
    assert_eq!(q::<String>(&mut admin, &["debug", "replybuffer", "peak-reset-time", "never"]), "OK");
    let grown = poll_until(Duration::from_secs(3), || {
        let _: String = q(&mut client, &["get", "bigval"]);
        seen = reply_buffer(&mut admin, "test_client");
        (16384..32768).contains(&seen.0)
    });
    assert!(grown, "reply buffer of a busy client: {seen:?}");
    let _: String = q(&mut client, &["get", "bigval"]);
    assert_eq!(reply_buffer(&mut admin, "test_client").1, 16384, "a filled buffer's peak is its size");
    let info: String = q(&mut admin, &["info", "stats"]);
    let stat = |name: &str| -> u64 {
        info.lines().find_map(|l| l.strip_prefix(&format!("{name}:"))).unwrap().trim().parse().unwrap()
    };
    assert!(stat("reply_buffer_shrinks") >= 1 && stat("reply_buffer_expands") >= 4, "{info}");

    // Resizing off: an idle client keeps its size.
    assert_eq!(q::<String>(&mut admin, &["debug", "replybuffer", "peak-reset-time", "reset"]), "OK");
    assert_eq!(q::<String>(&mut admin, &["debug", "replybuffer", "resizing", "0"]), "OK");
    let mut other = srv.conn();
    assert_eq!(q::<String>(&mut other, &["client", "setname", "other"]), "OK");
    let mut sizes = Vec::new();
    let changed = poll_until(Duration::from_millis(600), || {
        sizes.push(reply_buffer(&mut admin, "other").0);
        sizes.iter().any(|&s| s != 16384)
    });
    assert!(!changed, "{sizes:?}");
    assert_eq!(q::<String>(&mut admin, &["debug", "replybuffer", "resizing", "1"]), "OK");
    assert!(common::fails(&mut admin, &["debug", "replybuffer", "nosuch", "1"])
        .starts_with("ERR unknown subcommand or wrong number of arguments for 'replybuffer'"));
}

/// A client that streams a pipeline faster than the server runs it (here, with the AOF on, each batch's
/// replies wait for the AOF writer) has its input read a little ahead, no more: the rest waits in the socket,
/// as Redis reads 16 KB per client per event-loop turn. Before, every read filled the buffer's room and each
/// `reserve` doubled it: the query buffer reached 150 MB for the suite's 700,000-key populate, memory
/// maxmemory could not evict (an allkeys-lru server answered OOM to 60% of the SETs).
#[test]
fn a_streamed_pipeline_is_read_ahead_a_bounded_amount() {
    use std::io::{Read, Write};
    let srv = TestServer::with_config(|c| c.appendonly = true);
    let mut admin = srv.conn();
    let mut client = srv.raw();
    client.write_all(b"*3\r\n$6\r\nclient\r\n$7\r\nsetname\r\n$6\r\nstream\r\n").unwrap();
    assert_eq!(common::read_n(&mut client, 5), b"+OK\r\n");
    const N: usize = 200_000;
    let value = "A".repeat(150);
    let mut reader = client.try_clone().unwrap();
    // The replies are read (and counted) on a thread of their own while the requests go out in one stream.
    let replies = std::thread::spawn(move || {
        let (mut seen, mut oks, mut buf) = (0usize, 0usize, vec![0u8; 1 << 16]);
        while seen < N * 5 {
            let n = reader.read(&mut buf).unwrap();
            assert!(n > 0, "connection closed after {seen} bytes");
            oks += buf[..n].iter().filter(|&&b| b == b'+').count();
            seen += n;
        }
        oks
    });
    let writer = std::thread::spawn(move || {
        let mut chunk = Vec::new();
        for i in 0..N {
            let key = format!("key:{i:06}");
            chunk.extend_from_slice(format!("*3\r\n$3\r\nset\r\n$10\r\n{key}\r\n$150\r\n{value}\r\n").as_bytes());
            if chunk.len() > 1 << 16 {
                client.write_all(&chunk).unwrap();
                chunk.clear();
            }
        }
        client.write_all(&chunk).unwrap();
    });
    let mut peak = 0;
    while !writer.is_finished() {
        peak = peak.max(query_buffer(&mut admin, "stream").0);
    }
    writer.join().unwrap();
    assert_eq!(replies.join().unwrap(), N);
    // About 40 MB were sent; what is read ahead stays within a few reads' worth.
    assert!(peak < 1 << 20, "query buffer reached {peak} bytes");
    assert_eq!(q::<i64>(&mut admin, &["dbsize"]), N as i64);
}
