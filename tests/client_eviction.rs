//! maxmemory-clients end to end: clients whose query buffer, MULTI queue, subscriptions or unread replies
//! pass the limit are closed, largest first and only until the clients are back under it; CLIENT NO-EVICT
//! protects a client; lowering the limit with CONFIG SET evicts at once; CLIENT LIST shows the memory the
//! decision was made on.

mod common;

use common::{q, wait_for, TestServer};
use redis::Connection;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

/// The CLIENT LIST line of the client named `name`, if it is connected.
fn line(con: &mut Connection, name: &str) -> Option<String> {
    let list: String = q(con, &["client", "list"]);
    let tag = format!(" name={name} ");
    list.lines().find(|l| l.contains(&tag)).map(str::to_owned)
}

/// Field `f` of the CLIENT LIST line of `name`.
fn field(con: &mut Connection, name: &str, f: &str) -> Option<i64> {
    let l = line(con, name)?;
    let v = l.split(' ').find_map(|kv| kv.strip_prefix(&format!("{f}=")))?;
    Some(v.parse().unwrap())
}

fn evicted_clients(con: &mut Connection) -> u64 {
    let info: String = q(con, &["info", "stats"]);
    info.lines().find_map(|l| l.strip_prefix("evicted_clients:")).unwrap().trim().parse().unwrap()
}

/// A raw client named `name` (its CLIENT SETNAME answered).
fn named(srv: &TestServer, name: &str) -> TcpStream {
    let mut s = srv.raw();
    let req = format!("*3\r\n$6\r\nclient\r\n$7\r\nsetname\r\n${}\r\n{name}\r\n", name.len());
    s.write_all(req.as_bytes()).unwrap();
    let mut ok = [0u8; 5];
    s.read_exact(&mut ok).unwrap();
    assert_eq!(&ok, b"+OK\r\n");
    s
}

/// Send the start of a request whose one argument is `n` bytes, without its end: the client's query
/// buffer holds `n` bytes until it is evicted.
fn partial_big_arg(s: &mut TcpStream, n: usize) {
    s.write_all(format!("*2\r\n${n}\r\n").as_bytes()).unwrap();
    s.write_all(&vec![b'v'; n]).unwrap();
}

fn gone(con: &mut Connection, name: &str) -> bool {
    line(con, name).is_none()
}

#[test]
fn a_big_query_buffer_is_evicted_and_no_evict_protects_it() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    let _: () = q(&mut con, &["client", "no-evict", "on"]);
    let _: () = q(&mut con, &["config", "set", "maxmemory-clients", "1mb"]);
    // Under the limit: it stays, and CLIENT LIST shows what it holds.
    let mut small = named(&srv, "small");
    partial_big_arg(&mut small, 300_000);
    wait_for("qbuf of the small client", WAIT, || field(&mut con, "small", "qbuf") == Some(300_000));
    let tot = field(&mut con, "small", "tot-mem").unwrap();
    assert!((300_000..400_000).contains(&tot), "tot-mem {tot}");
    // Over it, with NO-EVICT on: it stays too.
    let mut guarded = named(&srv, "guarded");
    guarded.write_all(b"*3\r\n$6\r\nclient\r\n$8\r\nno-evict\r\n$2\r\non\r\n").unwrap();
    let mut ok = [0u8; 5];
    guarded.read_exact(&mut ok).unwrap();
    partial_big_arg(&mut guarded, 1_200_000);
    wait_for("qbuf of the guarded client", WAIT, || field(&mut con, "guarded", "qbuf") == Some(1_200_000));
    assert!(field(&mut con, "guarded", "tot-mem").unwrap() > 1 << 20);
    // The only evictable client left is the small one: the guarded client's bytes keep the total over, so
    // it went, and nothing else could.
    wait_for("the small client evicted", WAIT, || gone(&mut con, "small"));
    assert!(line(&mut con, "guarded").is_some());
    assert_eq!(evicted_clients(&mut con), 1);
    // An evicted client is simply closed.
    let mut buf = [0u8; 16];
    assert!(matches!(small.read(&mut buf), Ok(0) | Err(_)));
}

#[test]
fn a_big_query_buffer_is_evicted_as_it_arrives() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    let _: () = q(&mut con, &["config", "set", "maxmemory-clients", "3000000"]);
    let mut big = named(&srv, "big");
    // Fewer bytes than announced: the client is waiting for the rest when the limit catches it.
    let _ = big.write_all(b"*1\r\n$3000000\r\n");
    let _ = big.write_all(&vec![b'v'; 2_999_000]);
    wait_for("the big client evicted", WAIT, || gone(&mut con, "big"));
    assert_eq!(evicted_clients(&mut con), 1);
    // The limit as a share of maxmemory: 10% of 4 MB.
    let _: () = q(&mut con, &["config", "set", "maxmemory", "4mb"]);
    let _: () = q(&mut con, &["config", "set", "maxmemory-clients", "10%"]);
    let mut half = named(&srv, "half");
    partial_big_arg(&mut half, 200_000);
    wait_for("qbuf of the half client", WAIT, || field(&mut con, "half", "qbuf") == Some(200_000));
    let mut over = named(&srv, "over");
    partial_big_arg(&mut over, 420_000);
    wait_for("the over client evicted", WAIT, || gone(&mut con, "over"));
    assert!(line(&mut con, "half").is_some());
    let _: () = q(&mut con, &["config", "set", "maxmemory", "0"]);
}

#[test]
fn a_big_multi_queue_and_many_subscriptions_are_evicted() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    let _: () = q(&mut con, &["config", "set", "maxmemory-clients", "1mb"]);
    let mut tx = srv.conn();
    let _: () = q(&mut tx, &["client", "setname", "tx"]);
    let _: () = q(&mut tx, &["multi"]);
    let value = "v".repeat(200_000);
    let _: String = q(&mut tx, &["set", "k", &value]);
    // The queue shows in CLIENT LIST: multi (commands queued) and multi-mem (their arguments' bytes).
    assert_eq!(field(&mut con, "tx", "multi"), Some(1));
    assert_eq!(field(&mut con, "tx", "multi-mem"), Some(3 + 1 + 200_000));
    let mut queued = 1;
    while line(&mut con, "tx").is_some() {
        assert!(queued < 10, "a MULTI queue of {queued} x 200 KB was not evicted");
        let _ = redis::cmd("set").arg("k").arg(&value).query::<String>(&mut tx);
        queued += 1;
    }
    assert!(queued >= 4, "evicted too soon, after {queued} commands");
    let mut sub = named(&srv, "sub");
    let mut subscribed = 0usize;
    'more: loop {
        // A thousand patterns of 100 bytes a request; each reply read, so that only the subscriptions grow.
        let pats: Vec<String> = (0..1000).map(|i| format!("{:0>100}", subscribed + i)).collect();
        let mut req = "*1001\r\n$10\r\npsubscribe\r\n".to_string();
        for p in &pats {
            req.push_str(&format!("$100\r\n{p}\r\n"));
        }
        if sub.write_all(req.as_bytes()).is_err() {
            break;
        }
        for _ in 0..1000 {
            subscribed += 1;
            let len = "*3\r\n$10\r\npsubscribe\r\n$100\r\n".len() + 102 + format!(":{subscribed}\r\n").len();
            let mut reply = vec![0u8; len];
            if sub.read_exact(&mut reply).is_err() {
                break 'more;
            }
        }
        assert!(subscribed < 200_000, "{subscribed} patterns were not evicted");
    }
    assert!(subscribed > 5000, "evicted after {subscribed} patterns only");
    wait_for("the subscriber evicted", WAIT, || gone(&mut con, "sub"));
    assert_eq!(evicted_clients(&mut con), 2);
}

#[test]
fn unread_replies_grow_a_client_until_it_is_evicted() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    let _: () = q(&mut con, &["client", "no-evict", "on"]);
    let _: () = q(&mut con, &["setrange", "k", "200000", "v"]);
    let _: () = q(&mut con, &["config", "set", "maxmemory-clients", "3000000"]);
    let mut reader = named(&srv, "reader");
    // Asks for 200 KB replies and never reads them: the socket fills, then the replies wait in the server,
    // where they count; the client is closed before it passes the limit by much.
    reader.set_nonblocking(true).unwrap();
    let get = b"*2\r\n$3\r\nget\r\n$1\r\nk\r\n";
    let mut max_seen = 0;
    wait_for("the reader evicted", Duration::from_secs(30), || {
        let _ = reader.write(get);
        match field(&mut con, "reader", "tot-mem") {
            Some(m) => {
                max_seen = max_seen.max(m);
                assert!(m < 3_000_000 + 250_000, "tot-mem {m} passed the limit by more than a reply");
                false
            }
            None => true,
        }
    });
    assert!(max_seen > 0);
    assert_eq!(evicted_clients(&mut con), 1);
}

#[test]
fn lowering_the_limit_evicts_largest_first_and_only_until_under_it() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    let _: () = q(&mut con, &["client", "setname", "control"]);
    let _: () = q(&mut con, &["client", "no-evict", "on"]);
    // Three sizes, each more than twice the one below (another memory bucket), three clients each.
    let sizes = [128 * 1024, 1024 * 1024, 3 * 1024 * 1024];
    let mut socks = Vec::new();
    let mut mem = [0i64; 3];
    for (i, &size) in sizes.iter().enumerate() {
        for j in 0..3 {
            let name = format!("c{i}-{j}");
            let mut s = named(&srv, &name);
            partial_big_arg(&mut s, size);
            wait_for("qbuf filled", WAIT, || field(&mut con, &name, "qbuf") == Some(size as i64));
            let m = field(&mut con, &name, "tot-mem").unwrap();
            assert!(m >= size as i64);
            mem[i] = mem[i].max(m);
            socks.push(s);
        }
    }
    let count = |con: &mut Connection, i: usize| -> usize {
        let list: String = q(con, &["client", "list"]);
        list.lines().filter(|l| l.contains(&format!(" name=c{i}-"))).count()
    };
    let mut total: i64 = mem.iter().map(|m| 3 * m).sum();
    for i in (0..3).rev() {
        total -= 3 * mem[i];
        let control = field(&mut con, "control", "tot-mem").unwrap();
        let _: () = q(&mut con, &["config", "set", "maxmemory-clients", &(total + control).to_string()]);
        // Evicted at once, by the CONFIG SET: the larger clients all went, the smaller ones all stayed.
        for k in 0..3 {
            assert_eq!(count(&mut con, k), if k < i { 3 } else { 0 }, "size {k} after lowering for size {i}");
        }
    }
    // The last limit (the control client's memory) is below the 128 KB floor: the smallest went too.
    assert_eq!(evicted_clients(&mut con), 9);
}
