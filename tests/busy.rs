//! A script past busy-reply-threshold: other clients get BUSY, SCRIPT KILL and FUNCTION KILL stop a script
//! that has not written (UNKILLABLE otherwise), SHUTDOWN NOSAVE and SIGTERM stop the server under any
//! script, and what clients send meanwhile is neither lost nor reordered (Redis 7.0.15's texts).

mod common;

use common::{err_text, read_until, resp, TestServer};
use redis::{cmd, Connection, Value};
use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

const BUSY_EVAL: &str = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
const BUSY_FUNCTION: &str = "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.";
const UNKILLABLE: &str = "UNKILLABLE Sorry the script already executed write commands against the dataset. \
                          You can either wait the script termination or kill the server in a hard way using the \
                          SHUTDOWN NOSAVE command.";
const NOTBUSY: &str = "NOTBUSY No scripts in execution right now.";

const WRITING_LOOP: &str = "redis.call('set','x','1') while true do end";
const READING_LOOP: &str = "local a = 1 while true do a = a + 1 end";
const LIBRARY: &str = "#!lua name=lib\n\
    redis.register_function('inf', function() local a = 1 while true do a = a + 1 end end)\n\
    redis.register_function('infw', function() redis.call('set', 'y', '1') while true do end end)";

fn server(io_threads: usize) -> TestServer {
    TestServer::with_config(|c| {
        c.busy_reply_threshold = 50;
        c.io_threads = io_threads;
    })
}

/// A connection that gives up instead of hanging the test.
fn conn(srv: &TestServer) -> Connection {
    let con = srv.conn();
    con.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    con
}

/// Start `args` on a raw socket (the script's caller) without waiting for its reply.
fn start(srv: &TestServer, args: &[&str]) -> TcpStream {
    let mut s = srv.raw();
    s.write_all(&resp(args)).unwrap();
    s
}

/// The text of the error `args` gets.
fn fails(con: &mut Connection, args: &[&str]) -> String {
    err_text(cmd(args[0]).arg(&args[1..]).query::<Value>(con).unwrap_err())
}

/// Wait until PING on `con` is refused: the script runs past the threshold. The refusal's text.
fn wait_busy(con: &mut Connection) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match cmd("PING").query::<String>(con) {
            Err(e) => return err_text(e),
            Ok(_) => assert!(Instant::now() < deadline, "the script never made the server busy"),
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Every string and number of a reply, depth first.
fn flatten(v: &Value) -> Vec<String> {
    match v {
        Value::BulkString(b) => vec![String::from_utf8_lossy(b).into_owned()],
        Value::SimpleString(s) => vec![s.clone()],
        Value::Int(i) => vec![i.to_string()],
        Value::Array(items) => items.iter().flat_map(flatten).collect(),
        Value::Map(pairs) => pairs.iter().flat_map(|(k, v)| flatten(k).into_iter().chain(flatten(v))).collect(),
        _ => vec![format!("{v:?}")],
    }
}

/// The caller's reply line (the script's outcome).
fn reply_line(s: &mut TcpStream) -> String {
    String::from_utf8_lossy(&read_until(s, b"\r\n")).into_owned()
}

#[test]
fn a_writing_script_answers_busy_and_cannot_be_killed() {
    let srv = server(1);
    let mut other = conn(&srv);
    let _caller = start(&srv, &["EVAL", WRITING_LOOP, "0"]);
    assert_eq!(wait_busy(&mut other), BUSY_EVAL);
    assert_eq!(fails(&mut other, &["GET", "x"]), BUSY_EVAL);
    assert_eq!(fails(&mut other, &["SCRIPT", "KILL"]), UNKILLABLE);
    // The written-to check comes first for FUNCTION KILL too.
    assert_eq!(fails(&mut other, &["FUNCTION", "KILL"]), UNKILLABLE);
    assert_eq!(fails(&mut other, &["FUNCTION", "STATS"]), BUSY_EVAL);
    // Only SHUTDOWN NOSAVE may stop the server now; unknown commands and arity come before BUSY.
    assert_eq!(fails(&mut other, &["SHUTDOWN"]), BUSY_EVAL);
    assert!(fails(&mut other, &["NOSUCH"]).starts_with("ERR unknown command 'NOSUCH'"));
    assert_eq!(fails(&mut other, &["GET"]), "ERR wrong number of arguments for 'get' command");
    // A client that connects now is answered too.
    let mut late = conn(&srv);
    assert_eq!(fails(&mut late, &["PING"]), BUSY_EVAL);
    // Allowed while busy: HELLO (with SETNAME), as the suite's "Timedout scripts and unblocked command".
    assert!(cmd("HELLO").arg("2").arg("SETNAME").arg("late").query::<Value>(&mut late).is_ok());
}

#[test]
fn a_read_only_script_is_killed_and_its_client_goes_on() {
    let srv = server(1);
    let mut other = conn(&srv);
    let mut caller = start(&srv, &["EVAL", READING_LOOP, "0"]);
    assert_eq!(wait_busy(&mut other), BUSY_EVAL);
    // FUNCTION KILL does not stop an EVAL script: the BUSY text names the command that does.
    assert_eq!(fails(&mut other, &["FUNCTION", "KILL"]), BUSY_EVAL);
    assert_eq!(cmd("SCRIPT").arg("KILL").query::<String>(&mut other).unwrap(), "OK");
    let sha = "d5c92b6277b511f74344c146fc7a32268cc0428a";
    assert_eq!(
        reply_line(&mut caller),
        format!("-ERR Script killed by user with SCRIPT KILL... script: {sha}, on @user_script:1.\r\n")
    );
    caller.write_all(b"PING\r\n").unwrap();
    assert_eq!(reply_line(&mut caller), "+PONG\r\n");
    assert_eq!(cmd("PING").query::<String>(&mut other).unwrap(), "PONG");
    assert_eq!(fails(&mut other, &["SCRIPT", "KILL"]), NOTBUSY);
}

#[test]
fn pcall_cannot_catch_script_kill() {
    let srv = server(1);
    let mut other = conn(&srv);
    let script = "local f = function() while 1 do redis.call('ping') end end while 1 do pcall(f) end";
    let mut caller = start(&srv, &["EVAL", script, "0"]);
    assert_eq!(wait_busy(&mut other), BUSY_EVAL);
    assert_eq!(cmd("SCRIPT").arg("KILL").query::<String>(&mut other).unwrap(), "OK");
    assert!(reply_line(&mut caller).starts_with("-ERR Script killed by user with SCRIPT KILL..."));
    assert_eq!(cmd("PING").query::<String>(&mut other).unwrap(), "PONG");
}

#[test]
fn function_kill_stops_a_function() {
    let srv = server(1);
    let mut other = conn(&srv);
    assert_eq!(cmd("FUNCTION").arg("LOAD").arg(LIBRARY).query::<String>(&mut other).unwrap(), "lib");
    let mut caller = start(&srv, &["FCALL", "inf", "0"]);
    assert_eq!(wait_busy(&mut other), BUSY_FUNCTION);
    assert_eq!(fails(&mut other, &["SCRIPT", "KILL"]), BUSY_FUNCTION);
    let stats: Value = cmd("FUNCTION").arg("STATS").query(&mut other).unwrap();
    let words = flatten(&stats);
    let at = words.iter().position(|w| w == "running_script").unwrap();
    assert_eq!(words[at + 1..at + 7], ["name", "inf", "command", "FCALL", "inf", "0"], "{words:?}");
    assert_eq!(words[at + 7], "duration_ms");
    assert_eq!(cmd("FUNCTION").arg("KILL").query::<String>(&mut other).unwrap(), "OK");
    assert_eq!(
        reply_line(&mut caller),
        "-ERR Script killed by user with SCRIPT KILL... script: inf, on @user_function:2.\r\n"
    );
    assert_eq!(cmd("PING").query::<String>(&mut other).unwrap(), "PONG");
    // A function that wrote cannot be killed either.
    let _caller = start(&srv, &["FCALL", "infw", "0"]);
    assert_eq!(wait_busy(&mut other), BUSY_FUNCTION);
    assert_eq!(fails(&mut other, &["FUNCTION", "KILL"]), UNKILLABLE);
}

#[test]
fn transactions_around_a_busy_script_run_whole_or_not_at_all() {
    let srv = server(1);
    let mut other = conn(&srv);
    let mut tx = conn(&srv);
    cmd("SET").arg("xx").arg("1").query::<()>(&mut other).unwrap();
    assert_eq!(cmd("MULTI").query::<String>(&mut tx).unwrap(), "OK");
    assert_eq!(cmd("INCR").arg("xx").query::<String>(&mut tx).unwrap(), "QUEUED");
    let mut caller = start(&srv, &["EVAL", READING_LOOP, "0"]);
    assert_eq!(wait_busy(&mut other), BUSY_EVAL);
    // Refused inside MULTI: the transaction is poisoned; EXEC while busy ends it.
    assert_eq!(fails(&mut tx, &["INCR", "xx"]), BUSY_EVAL);
    assert_eq!(fails(&mut tx, &["EXEC"]), format!("EXECABORT Transaction discarded because of: {BUSY_EVAL}"));
    // MULTI itself is allowed while busy.
    assert_eq!(cmd("MULTI").query::<String>(&mut tx).unwrap(), "OK");
    assert_eq!(fails(&mut tx, &["INCR", "xx"]), BUSY_EVAL);
    assert_eq!(cmd("SCRIPT").arg("KILL").query::<String>(&mut other).unwrap(), "OK");
    assert!(reply_line(&mut caller).starts_with("-ERR Script killed"));
    assert_eq!(cmd("INCR").arg("xx").query::<String>(&mut tx).unwrap(), "QUEUED");
    assert_eq!(fails(&mut tx, &["EXEC"]), "EXECABORT Transaction discarded because of previous errors.");
    assert_eq!(cmd("GET").arg("xx").query::<String>(&mut other).unwrap(), "1");
    assert_eq!(cmd("PING").arg("asdf").query::<String>(&mut tx).unwrap(), "asdf");
}

/// What one socket sends during the busy period reaches the server in order: complete requests are
/// answered BUSY at once, a request still partial when the script ends runs afterwards.
fn partial_request_survives(io_threads: usize) {
    let srv = server(io_threads);
    let mut other = conn(&srv);
    // Connected just before the script: its registration may wait behind it, and is answered anyway.
    let mut raw = srv.raw();
    let mut caller = start(&srv, &["EVAL", READING_LOOP, "0"]);
    assert_eq!(wait_busy(&mut other), BUSY_EVAL);
    raw.write_all(b"PING\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhel").unwrap();
    assert_eq!(reply_line(&mut raw), format!("-{BUSY_EVAL}\r\n"));
    assert_eq!(cmd("SCRIPT").arg("KILL").query::<String>(&mut other).unwrap(), "OK");
    assert!(reply_line(&mut caller).starts_with("-ERR Script killed"));
    raw.write_all(b"lo\r\nGET k\r\n").unwrap();
    assert_eq!(String::from_utf8_lossy(&read_until(&mut raw, b"hello\r\n")), "+OK\r\n$5\r\nhello\r\n");
}

#[test]
fn a_partial_request_sent_while_busy_completes_after_the_script() {
    partial_request_survives(1);
}

#[test]
fn connections_on_io_threads_are_answered_while_busy() {
    partial_request_survives(2);
    let srv = server(2);
    let mut other = conn(&srv);
    let _caller = start(&srv, &["EVAL", WRITING_LOOP, "0"]);
    assert_eq!(wait_busy(&mut other), BUSY_EVAL);
    assert_eq!(fails(&mut other, &["SCRIPT", "KILL"]), UNKILLABLE);
}

#[test]
fn a_long_script_that_ends_leaves_every_client_working() {
    let srv = server(1);
    let mut other = conn(&srv);
    let mut caller = start(&srv, &["EVAL", "for i=1,300000 do redis.call('ping') end return 'ok'", "0"]);
    // Whether or not this PING came during the busy period, the script's own calls are not refused.
    let _ = cmd("PING").query::<Value>(&mut other);
    assert_eq!(String::from_utf8_lossy(&read_until(&mut caller, b"ok\r\n")), "$2\r\nok\r\n");
    assert_eq!(cmd("PING").query::<String>(&mut other).unwrap(), "PONG");
    caller.write_all(b"PING\r\n").unwrap();
    assert_eq!(reply_line(&mut caller), "+PONG\r\n");
}

#[test]
fn shutdown_nosave_stops_the_server_under_a_writing_script() {
    // A server that stops on SHUTDOWN, as the binary does (TestServer only stops when dropped).
    let (tx, rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        actix_rt::System::new().block_on(async move {
            let mut cfg = ferrodis::Config::default();
            cfg.save.clear(); // no dump.rdb written to the working directory
            cfg.dir = common::test_dir().to_string_lossy().into_owned(); // nor read from it
            cfg.port = 0;
            cfg.bind = vec!["127.0.0.1".into()];
            cfg.busy_reply_threshold = 50;
            let mut handle = ferrodis::Server::new(cfg).start().await.expect("server starts");
            tx.send(handle.addr().expect("bound")).unwrap();
            handle.shutdown_requested().await;
            handle.stop().await;
        });
    });
    let addr = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    let client = redis::Client::open(format!("redis://{addr}/")).unwrap();
    let mut other = client.get_connection().unwrap();
    other.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut caller = TcpStream::connect(addr).unwrap();
    caller.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    caller.write_all(&resp(&["EVAL", WRITING_LOOP, "0"])).unwrap();
    assert_eq!(wait_busy(&mut other), BUSY_EVAL);
    assert!(cmd("SHUTDOWN").arg("NOSAVE").query::<Value>(&mut other).is_err(), "no reply: the connection closes");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !thread.is_finished() {
        assert!(Instant::now() < deadline, "the server did not stop");
        std::thread::sleep(Duration::from_millis(10));
    }
    thread.join().unwrap();
    assert!(TcpStream::connect(addr).is_err(), "the port is closed");
}

// ---- The binary: SIGTERM under a busy script ----

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Start the binary and wait until it accepts connections.
fn spawn_server(port: u16) -> std::process::Child {
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_ferrodis-server"))
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--busy-reply-threshold", "50"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the server never listened");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

fn sigterm_stops(script: &[&str], setup: &[&[&str]]) {
    let port = free_port();
    let mut child = spawn_server(port);
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap();
    let mut other = client.get_connection().unwrap();
    other.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    for args in setup {
        cmd(args[0]).arg(&args[1..]).query::<Value>(&mut other).unwrap();
    }
    let mut caller = TcpStream::connect(("127.0.0.1", port)).unwrap();
    caller.write_all(&resp(script)).unwrap();
    assert!(wait_busy(&mut other).starts_with("BUSY"));
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("SIGTERM did not stop the server under a busy script");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0));
}

#[test]
fn sigterm_stops_the_server_under_a_writing_script() {
    sigterm_stops(&["EVAL", WRITING_LOOP, "0"], &[]);
}

#[test]
fn sigterm_stops_the_server_under_a_function() {
    sigterm_stops(&["FCALL", "infw", "0"], &[&["FUNCTION", "LOAD", LIBRARY]]);
}

/// A slow script replayed from the AOF (DEBUG LOADAOF): other clients get LOADING, as Redis checks loading
/// before BUSY, and the script's write is in once the load ends.
#[test]
fn a_slow_script_replayed_from_the_aof_answers_loading_not_busy() {
    let dir = common::test_dir();
    let aof = dir.join("appendonlydir");
    std::fs::create_dir_all(&aof).unwrap();
    std::fs::write(
        aof.join("appendonly.aof.manifest"),
        "file appendonly.aof.1.base.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n",
    )
    .unwrap();
    std::fs::write(aof.join("appendonly.aof.1.base.aof"), "").unwrap();
    let script = "redis.call('set',KEYS[1],'y') for i=1,300000 do redis.call('ping') end return 'ok'";
    std::fs::write(aof.join("appendonly.aof.1.incr.aof"), resp(&["EVAL", script, "1", "x"])).unwrap();
    let d = dir.to_string_lossy().into_owned();
    let srv = TestServer::with_config(move |c| {
        c.busy_reply_threshold = 10;
        c.set("appendonly", "yes").expect("a known option");
        c.dir = d;
    });
    let mut con = conn(&srv);
    // The start-up load ran the script too, before the server took clients.
    assert_eq!(cmd("GET").arg("x").query::<String>(&mut con).unwrap(), "y");
    let _: () = cmd("SET").arg("z").arg("1").query(&mut con).unwrap();
    let mut loader = start(&srv, &["DEBUG", "LOADAOF"]);
    assert!(wait_busy(&mut con).starts_with("LOADING "), "refused with LOADING");
    assert_eq!(reply_line(&mut loader), "+OK\r\n");
    // The reloaded data: the script's write and what was appended after it.
    assert_eq!(cmd("GET").arg("x").query::<String>(&mut con).unwrap(), "y");
    assert_eq!(cmd("GET").arg("z").query::<String>(&mut con).unwrap(), "1");
}

/// The suite's "not enough good replicas state change during long script": a replica that hangs up while
/// a script is busy stops counting at once (connected_slaves, min-replicas-to-write), and a script that has
/// written already goes on writing, as Redis never fails a script halfway on the server's state.
#[test]
fn a_replica_leaving_during_a_busy_script_is_seen_and_the_script_keeps_writing() {
    let master = server(1);
    let mut m = conn(&master);
    let _: () = cmd("CONFIG").arg("SET").arg("min-replicas-to-write").arg(1).query(&mut m).unwrap();
    let replica = TestServer::start();
    let mut r = conn(&replica);
    let _: String = cmd("REPLICAOF").arg("127.0.0.1").arg(master.addr().port()).query(&mut r).unwrap();
    common::wait_for("a good replica", Duration::from_secs(20), || {
        cmd("SET").arg("x").arg("pre").query::<()>(&mut m).is_ok()
    });
    let script = "redis.call('set','x','script value')
        while true do
            local info = redis.call('info','replication')
            if string.match(info, 'connected_slaves:0') then
                redis.call('set','x',info)
                break
            end
        end
        return 1";
    let mut caller = start(&master, &["eval", script, "1", "x"]);
    assert!(wait_busy(&mut m).starts_with("BUSY"));
    let _: String = cmd("REPLICAOF").arg("NO").arg("ONE").query(&mut r).unwrap();
    assert_eq!(reply_line(&mut caller), ":1\r\n");
    let x: String = cmd("GET").arg("x").query(&mut m).unwrap();
    assert!(x.contains("connected_slaves:0"), "{x}");
}
