//! client-output-buffer-limit: a client that asks for big replies and does not read them is closed at its
//! class's limit, and the server's memory stays bounded. The tests measure used_memory, which every server of
//! this binary shares: they run one at a time (`common::serial`).

mod common;

use common::{q, serial, TestServer};
use redis::Connection;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

/// CLIENT LIST's line for client `id`, if it is still connected.
fn client_line(con: &mut Connection, id: i64) -> Option<String> {
    let list: String = q(con, &["client", "list"]);
    list.lines().find(|l| l.starts_with(&format!("id={id} "))).map(str::to_string)
}

fn field(line: &str, name: &str) -> u64 {
    line.split(' ').find_map(|kv| kv.strip_prefix(&format!("{name}="))).unwrap().parse().unwrap()
}

fn info_u64(con: &mut Connection, section: &str, name: &str) -> u64 {
    let info: String = q(con, &["info", section]);
    info.lines().find_map(|l| l.strip_prefix(&format!("{name}:"))).unwrap().trim().parse().unwrap()
}

/// Wait until client `id` is gone; panics after 10 s.
fn wait_gone(con: &mut Connection, id: i64) {
    let t = Instant::now();
    while client_line(con, id).is_some() {
        assert!(t.elapsed() < Duration::from_secs(10), "client {id} was never closed");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A raw client that pipelines `n` GETs of `key` and never reads; returns it with its id.
fn greedy_reader(server: &TestServer, key: &str, n: usize) -> (std::net::TcpStream, i64) {
    let mut s = server.raw();
    s.write_all(b"CLIENT ID\r\n").unwrap();
    let mut buf = [0u8; 64];
    let k = s.read(&mut buf).unwrap();
    let id: i64 = std::str::from_utf8(&buf[1..k - 2]).unwrap().parse().unwrap();
    let get = format!("*2\r\n$3\r\nGET\r\n${}\r\n{key}\r\n", key.len());
    s.write_all(get.repeat(n).as_bytes()).unwrap();
    (s, id)
}

#[test]
fn hard_limit_closes_a_client_that_does_not_read() {
    let _one_at_a_time = serial();
    let server = TestServer::with_config(|c| c.set("client-output-buffer-limit", "normal 10mb 5mb 10").unwrap());
    let mut con = server.conn();
    let big = "x".repeat(4 << 20);
    let _: () = q(&mut con, &["set", "big", &big]);
    let used_before = info_u64(&mut con, "memory", "used_memory");
    // 240 replies of 4 MB would be 960 MB: the client must be closed once 10 MB are pending.
    let (mut s, id) = greedy_reader(&server, "big", 240);
    wait_gone(&mut con, id);
    let used_after = info_u64(&mut con, "memory", "used_memory");
    assert!(used_after < used_before + (32 << 20), "memory grew from {used_before} to {used_after}");
    assert_eq!(info_u64(&mut con, "stats", "client_output_buffer_limit_disconnections"), 1);
    // The closed client reads at most what was written before the limit, then EOF.
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
    assert!(rest.len() < 16 << 20);
    // Other clients are served as before.
    let len: i64 = q(&mut con, &["strlen", "big"]);
    assert_eq!(len, 4 << 20);
}

#[test]
fn soft_limit_closes_a_client_over_it_for_its_seconds() {
    let _one_at_a_time = serial();
    let server = TestServer::with_config(|c| c.set("client-output-buffer-limit", "normal 0 2mb 1").unwrap());
    let mut con = server.conn();
    let _: () = q(&mut con, &["set", "big", &"y".repeat(1 << 20)]);
    // 64 MB of replies: far more than the socket buffers take, so most of it stays pending.
    let (_s, id) = greedy_reader(&server, "big", 64);
    let t = Instant::now();
    let pending = loop {
        match client_line(&mut con, id) {
            Some(l) if field(&l, "omem") > 0 => break field(&l, "omem"),
            Some(_) => {}
            None => panic!("closed before its omem showed"),
        }
        assert!(t.elapsed() < Duration::from_secs(10), "omem never showed the pending replies");
        std::thread::sleep(Duration::from_millis(5));
    };
    assert!(pending >= 2 << 20, "omem={pending}");
    wait_gone(&mut con, id);
    assert!(t.elapsed() >= Duration::from_millis(900), "closed before the soft limit's second");
}

#[test]
fn a_client_that_reads_is_never_closed() {
    let _one_at_a_time = serial();
    let server = TestServer::with_config(|c| c.set("client-output-buffer-limit", "normal 0 2mb 1").unwrap());
    let mut con = server.conn();
    let _: () = q(&mut con, &["set", "big", &"z".repeat(1 << 20)]);
    let mut pipe = redis::pipe();
    for _ in 0..16 {
        pipe.cmd("GET").arg("big");
    }
    let replies: Vec<Vec<u8>> = pipe.query(&mut con).unwrap();
    assert_eq!(replies.len(), 16);
    assert!(replies.iter().all(|r| r.len() == 1 << 20));
}
