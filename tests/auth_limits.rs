//! A client that must still authenticate may send at most 10 arguments in a request and bulks of at most
//! 16384 bytes (Redis's processMultibulkBuffer): past that it is answered with a protocol error and closed,
//! before the server buffers what a stranger sends.

mod common;

use common::{q, read_until, TestServer};
use std::io::{Read, Write};
use std::net::TcpStream;

/// What the server sent before it closed the connection (a read timeout fails the test).
fn read_to_close(s: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    s.read_to_end(&mut out).expect("the server closes the connection");
    out
}

fn with_password() -> TestServer {
    TestServer::with_config(|c| c.requirepass = "foobar".into())
}

#[test]
fn unauthenticated_multibulk_and_bulk_lengths_are_limited() {
    let srv = with_password();
    let mut s = srv.raw();
    s.write_all(b"*100\r\n").unwrap();
    assert_eq!(read_to_close(&mut s), b"-ERR Protocol error: unauthenticated multibulk length\r\n");
    let mut s = srv.raw();
    s.write_all(b"*1\r\n$100000000\r\n").unwrap();
    assert_eq!(read_to_close(&mut s), b"-ERR Protocol error: unauthenticated bulk length\r\n");
    // Small requests still get their NOAUTH answer, and the connection stays.
    let mut s = srv.raw();
    s.write_all(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n").unwrap();
    assert_eq!(read_until(&mut s, b"\r\n"), b"-NOAUTH Authentication required.\r\n");
}

#[test]
fn requests_pipelined_after_auth_are_parsed_as_authenticated() {
    let srv = with_password();
    let mut s = srv.raw();
    let mut req = b"*2\r\n$4\r\nAUTH\r\n$6\r\nfoobar\r\n*21\r\n$4\r\nMSET\r\n".to_vec();
    for i in 0..10 {
        req.extend_from_slice(format!("$2\r\nk{i}\r\n$20000\r\n").as_bytes());
        req.extend_from_slice(&[b'v'; 20000]);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"*2\r\n$6\r\nSTRLEN\r\n$2\r\nk9\r\n");
    s.write_all(&req).unwrap();
    assert_eq!(read_until(&mut s, b":20000\r\n"), b"+OK\r\n+OK\r\n:20000\r\n");
}

#[test]
fn limits_follow_the_default_user() {
    let srv = TestServer::start();
    let mut s = srv.raw();
    // No password: nobody needs to authenticate, so nothing is limited.
    s.write_all(b"*12\r\n$4\r\nMSET\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nd\r\n$1\r\n4\r\n$1\r\ne\r\n$1\r\n5\r\n$1\r\nf\r\n")
        .unwrap();
    assert_eq!(read_until(&mut s, b"\r\n"), b"-ERR wrong number of arguments for 'mset' command\r\n");
    // A password set at run time applies to clients that connect afterwards ...
    let mut con = srv.conn();
    assert_eq!(q::<String>(&mut con, &["config", "set", "requirepass", "foobar"]), "OK");
    let mut fresh = srv.raw();
    fresh.write_all(b"*11\r\n").unwrap();
    assert_eq!(read_to_close(&mut fresh), b"-ERR Protocol error: unauthenticated multibulk length\r\n");
    // ... not to those that were in already, as in Redis.
    s.write_all(b"*11\r\n$4\r\nMSET\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nd\r\n$1\r\n4\r\n$1\r\ne\r\n$1\r\n5\r\n")
        .unwrap();
    assert_eq!(read_until(&mut s, b"\r\n"), b"+OK\r\n");
    // And ACL SETUSER default nopass lifts them again.
    let _: String = redis::cmd("auth").arg("foobar").query(&mut con).unwrap();
    assert_eq!(q::<String>(&mut con, &["acl", "setuser", "default", "nopass"]), "OK");
    let mut again = srv.raw();
    again.write_all(b"*11\r\n$4\r\nMSET\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nd\r\n$1\r\n4\r\n$1\r\ne\r\n$1\r\n5\r\n")
        .unwrap();
    assert_eq!(read_until(&mut again, b"\r\n"), b"+OK\r\n");
}
