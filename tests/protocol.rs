//! Wire-level tests with raw sockets: pipelining, inline commands, protocol errors, RESP3, limits.

mod common;

use common::{read_n, read_to_close, roundtrip, TestServer};
use std::io::Write;

#[test]
fn pipelined_replies_come_back_in_order() {
    let srv = TestServer::start();
    let mut s = srv.raw();
    let mut req = Vec::new();
    let mut want = Vec::new();
    // Where each request ends in `req`, and where its reply ends in `want`.
    let mut ends = Vec::new();
    for i in 0..500 {
        let v = format!("v{i}");
        req.extend_from_slice(format!("*2\r\n$4\r\nECHO\r\n${}\r\n{v}\r\n", v.len()).as_bytes());
        want.extend_from_slice(format!("${}\r\n{v}\r\n", v.len()).as_bytes());
        ends.push((req.len(), want.len()));
    }
    // Split the pipeline at an awkward point so that a frame straddles two reads: the second part goes out
    // only once the replies to every complete request of the first part are back, so the server has read
    // (and kept) the cut frame by then.
    let cut = req.len() / 2 + 3;
    let answered = ends.iter().take_while(|(r, _)| *r <= cut).last().map_or(0, |&(_, w)| w);
    s.write_all(&req[..cut]).unwrap();
    let first = read_n(&mut s, answered);
    s.write_all(&req[cut..]).unwrap();
    let rest = read_n(&mut s, want.len() - answered);
    assert_eq!([first, rest].concat(), want);
}

#[test]
fn inline_commands_and_empty_lines() {
    let srv = TestServer::start();
    let mut s = srv.raw();
    let want = b"+PONG\r\n$3\r\na b\r\n$2\r\nhi\r\n";
    assert_eq!(roundtrip(&mut s, b"\r\nPING\r\necho \"a b\"\n\necho 'hi'\r\n", want.len()), want);
}

#[test]
fn protocol_errors_reply_then_close() {
    let srv = TestServer::start();
    let cases: &[(&[u8], &str)] = &[
        (b"*3000000000\r\n", "-ERR Protocol error: invalid multibulk length\r\n"),
        (b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n", "-ERR Protocol error: expected '$', got 'f'\r\n"),
        (b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$-10\r\n", "-ERR Protocol error: invalid bulk length\r\n"),
        (b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$2000000000\r\n", "-ERR Protocol error: invalid bulk length\r\n"),
        (b"*1\r\nfoo\r\n", "-ERR Protocol error: expected '$', got 'f'\r\n"),
        (b"set \"\"\"test-key\"\"\" test-value\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n"),
    ];
    for (req, want) in cases {
        let mut s = srv.raw();
        s.write_all(req).unwrap();
        assert_eq!(String::from_utf8_lossy(&read_to_close(&mut s)), *want);
    }
    // Requests before the bad one are still answered.
    let mut s = srv.raw();
    s.write_all(b"PING\r\n*-10\r\n*0\r\nPING\r\n*x\r\n").unwrap();
    assert_eq!(read_to_close(&mut s), b"+PONG\r\n+PONG\r\n-ERR Protocol error: invalid multibulk length\r\n");
}

#[test]
fn oversized_inline_request_is_refused() {
    let srv = TestServer::start();
    let mut s = srv.raw();
    let junk = vec![b'A'; 70 * 1024];
    let _ = s.write_all(&junk);
    assert_eq!(read_to_close(&mut s), b"-ERR Protocol error: too big inline request\r\n");
}

#[test]
fn proto_max_bulk_len_is_enforced() {
    let srv = TestServer::with_config(|c| c.proto_max_bulk_len = 1024 * 1024);
    let mut s = srv.raw();
    s.write_all(b"*2\r\n$4\r\nECHO\r\n$2000000\r\n").unwrap();
    assert_eq!(read_to_close(&mut s), b"-ERR Protocol error: invalid bulk length\r\n");
}

#[test]
fn query_buffer_limit_closes_the_connection() {
    let srv = TestServer::with_config(|c| c.client_query_buffer_limit = 1024 * 1024);
    let mut s = srv.raw();
    // One huge unfinished bulk: the server must drop us instead of buffering without bound.
    s.write_all(b"*2\r\n$4\r\nECHO\r\n$100000000\r\n").unwrap();
    let chunk = vec![b'x'; 64 * 1024];
    let mut closed = false;
    for _ in 0..200 {
        if s.write_all(&chunk).is_err() {
            closed = true;
            break;
        }
    }
    if !closed {
        assert_eq!(read_to_close(&mut s), b"");
    }
}

#[test]
fn resp3_after_hello() {
    let srv = TestServer::start();
    let mut s = srv.raw();
    s.write_all(b"HELLO 3\r\n").unwrap();
    let mut got = Vec::new();
    while !got.ends_with(b"modules\r\n*0\r\n") {
        let more = read_n(&mut s, 1);
        assert!(!more.is_empty(), "HELLO reply cut short: {}", String::from_utf8_lossy(&got));
        got.extend(more);
    }
    assert!(got.starts_with(b"%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n"), "{}", String::from_utf8_lossy(&got));
    let want = b"%3\r\n:0\r\n#f\r\n:1\r\n#t\r\n:2\r\n#f\r\n";
    assert_eq!(roundtrip(&mut s, b"DEBUG PROTOCOL map\r\n", want.len()), want);
    assert_eq!(roundtrip(&mut s, b"DEBUG PROTOCOL null\r\n", 3), b"_\r\n");
    assert_eq!(roundtrip(&mut s, b"DEBUG PROTOCOL double\r\n", 8), b",3.141\r\n");
}

#[test]
fn unknown_command_and_arity_errors() {
    let srv = TestServer::start();
    let mut s = srv.raw();
    let want = b"-ERR unknown command 'foo', with args beginning with: 'a' \r\n";
    assert_eq!(roundtrip(&mut s, b"foo a\r\n", want.len()), want);
    let want = b"-ERR wrong number of arguments for 'echo' command\r\n";
    assert_eq!(roundtrip(&mut s, b"ECHO\r\n", want.len()), want);
    let want = b"+OK\r\n";
    assert_eq!(roundtrip(&mut s, b"QUIT\r\n", want.len()), want);
    assert_eq!(read_to_close(&mut s), b"");
}

#[test]
fn many_clients_do_not_block_each_other() {
    let srv = TestServer::start();
    // A stalled client holding half a request...
    let mut stalled = srv.raw();
    stalled.write_all(b"*2\r\n$4\r\nECHO\r\n$10\r\nabc").unwrap();
    // ...does not delay anyone else.
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let addr = srv.addr();
            std::thread::spawn(move || {
                let mut s = std::net::TcpStream::connect(addr).unwrap();
                s.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
                for _ in 0..100 {
                    assert_eq!(roundtrip(&mut s, b"PING\r\n", 7), b"+PONG\r\n");
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(roundtrip(&mut stalled, b"defghij\r\n", 16), b"$10\r\nabcdefghij\r\n");
}

#[test]
fn maxclients_is_enforced() {
    let srv = TestServer::with_config(|c| c.maxclients = 2);
    let mut a = srv.raw();
    let mut b = srv.raw();
    assert_eq!(roundtrip(&mut a, b"PING\r\n", 7), b"+PONG\r\n");
    assert_eq!(roundtrip(&mut b, b"PING\r\n", 7), b"+PONG\r\n");
    let mut c = srv.raw();
    assert_eq!(read_to_close(&mut c), b"-ERR max number of clients reached\r\n");
}

#[test]
fn io_threads_serve_many_clients() {
    let srv = TestServer::with_config(|c| c.io_threads = 3);
    let handles: Vec<_> = (0..6)
        .map(|i| {
            let addr = srv.addr();
            std::thread::spawn(move || {
                let mut s = std::net::TcpStream::connect(addr).unwrap();
                s.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
                let mut req = Vec::new();
                let mut want = Vec::new();
                for j in 0..200 {
                    let v = format!("c{i}-{j}");
                    req.extend_from_slice(
                        format!("*3\r\n$3\r\nSET\r\n${}\r\n{v}\r\n${}\r\n{v}\r\n", v.len(), v.len()).as_bytes(),
                    );
                    req.extend_from_slice(format!("*2\r\n$3\r\nGET\r\n${}\r\n{v}\r\n", v.len()).as_bytes());
                    want.extend_from_slice(format!("+OK\r\n${}\r\n{v}\r\n", v.len()).as_bytes());
                }
                assert_eq!(roundtrip(&mut s, &req, want.len()), want);
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let mut s = srv.raw();
    s.write_all(b"INFO server\r\n").unwrap();
    let info = String::from_utf8_lossy(&common::read_until(&mut s, b"io_threads_active:")).into_owned();
    assert!(info.contains("io_threads_active:1"), "{info}");
}

#[test]
fn unix_socket_clients() {
    let path = std::env::temp_dir().join(format!("ferrodis-test-{}.sock", std::process::id()));
    let p = path.to_string_lossy().into_owned();
    let srv = TestServer::with_config(|c| c.unixsocket = p.clone());
    let mut s = std::os::unix::net::UnixStream::connect(&path).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
    s.write_all(b"PING\r\n").unwrap();
    let mut buf = [0u8; 7];
    std::io::Read::read_exact(&mut s, &mut buf).unwrap();
    assert_eq!(&buf, b"+PONG\r\n");
    drop(srv);
    let _ = std::fs::remove_file(&path);
}

#[test]
fn idle_clients_are_closed_after_timeout() {
    let srv = TestServer::with_config(|c| c.timeout = 1);
    let mut s = srv.raw();
    assert_eq!(roundtrip(&mut s, b"PING\r\n", 7), b"+PONG\r\n");
    let t = std::time::Instant::now();
    assert_eq!(read_to_close(&mut s), b"");
    let waited = t.elapsed();
    assert!(
        waited >= std::time::Duration::from_millis(900) && waited < std::time::Duration::from_secs(4),
        "{waited:?}"
    );
}

/// Cases a protocol fuzz run found answered unlike Redis 7.0.15 (hardening issue): string2ll lengths,
/// raw bytes echoed in errors, NUL and vertical tab in inline lines, EXEC with arguments.
#[test]
fn protocol_edge_cases_answer_as_redis() {
    let srv = TestServer::start();
    let closing: &[(&[u8], &[u8])] = &[
        (b"*1\r\n$-0\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
        (b"*1\r\n$0004\r\nPING\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
        (b"*02\r\n$4\r\nPING\r\n", b"-ERR Protocol error: invalid multibulk length\r\n"),
        (b"*1\r\n\xff4\r\nPING\r\n", b"-ERR Protocol error: expected '$', got '\xff'\r\n"),
    ];
    for (req, want) in closing {
        let mut s = srv.raw();
        s.write_all(req).unwrap();
        assert_eq!(read_to_close(&mut s), *want, "{}", String::from_utf8_lossy(req));
    }
    let answered: &[(&[u8], &[u8])] = &[
        (
            b"*2\r\n$4\r\nP\xffNG\r\n$3\r\n\xfe\x00x\r\n",
            b"-ERR unknown command 'P\xffNG', with args beginning with: '\xfe' \r\n",
        ),
        (b"\x0bPING\r\n", b"+PONG\r\n"),
        (b"ECHO a\x0cb\r\n", b"$3\r\na\x0cb\r\n"),
        (
            b"EXEC x\r\n",
            b"-EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command\r\n",
        ),
    ];
    for (req, want) in answered {
        let mut s = srv.raw();
        assert_eq!(roundtrip(&mut s, req, want.len()), *want, "{}", String::from_utf8_lossy(req));
    }
    // A NUL hides the line end (Redis's strchr): the line waits, the next request is not reached.
    let mut s = srv.raw();
    s.write_all(b"PI\0NG\r\nPING\r\n").unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_millis(200))).unwrap();
    let mut buf = [0u8; 16];
    assert!(std::io::Read::read(&mut s, &mut buf).is_err(), "no reply expected");
}

/// Redis takes up to INT_MAX arguments and whole inline lines of any length.
#[test]
fn more_than_a_million_arguments_and_long_inline_lines() {
    let srv = TestServer::start();
    let mut s = srv.raw();
    let n = 1_100_000;
    let mut req = format!("*{}\r\n$4\r\nSADD\r\n$1\r\ns\r\n", n + 2).into_bytes();
    for i in 0..n {
        let m = i.to_string();
        req.extend_from_slice(format!("${}\r\n{m}\r\n", m.len()).as_bytes());
    }
    let want = format!(":{n}\r\n");
    s.set_read_timeout(Some(std::time::Duration::from_secs(60))).unwrap();
    assert_eq!(roundtrip(&mut s, &req, want.len()), want.as_bytes());
    let mut line = b"ECHO ".to_vec();
    line.extend_from_slice(&vec![b'x'; 70 * 1024]);
    line.extend_from_slice(b"\r\n");
    let got = roundtrip(&mut s, &line, 70 * 1024 + 10);
    assert!(got.starts_with(b"$71680\r\nxxx"));
}
