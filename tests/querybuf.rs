//! Query buffers sized as Redis 7.0's (networking.c clientsCronResizeQueryBuffer), as CLIENT LIST shows them
//! (`qbuf` + `qbuf-free`): a fresh client's 16 KB read buffer is kept while it is active and released once
//! it has been idle over 2 seconds; a big argument leaves room for another as big, trimmed by the clients
//! cron to the recent peak once the client's requests are small again.

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
