//! The embedding API: a host's actix System runs the server; in-process clients (`Client`) need no socket,
//! are `Clone + Send + Sync` with one Redis client per clone, return error replies as `Err`, speak the
//! `redis` crate's async connection trait, and the server stops when its handle is dropped.

mod common;

use common::wait_for_async;
use ferrodis::{Client, Config, Error, Frame, ReplyError, Server, ServerHandle};
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

async fn in_process() -> ServerHandle {
    let mut cfg = Config::default();
    cfg.save.clear(); // no dump.rdb written to the working directory
    cfg.dir = common::test_dir().to_string_lossy().into_owned(); // nor read from it
    Server::new(cfg).without_listener().start().await.unwrap()
}

async fn listening() -> ServerHandle {
    let mut cfg = Config::default();
    cfg.save.clear(); // no dump.rdb written to the working directory
    cfg.dir = common::test_dir().to_string_lossy().into_owned(); // nor read from it
    cfg.port = 0;
    cfg.bind = vec!["127.0.0.1".into()];
    Server::new(cfg).start().await.unwrap()
}

fn bulk(s: &str) -> Frame {
    Frame::Bulk(s.as_bytes().to_vec())
}

fn ok() -> Frame {
    Frame::Simple("OK".into())
}

/// The text of an error reply, which must be what `r` is.
fn reply_err(r: Result<Frame, Error>) -> String {
    match r {
        Err(Error::Server(e)) => e.to_string(),
        other => panic!("expected an error reply, got {other:?}"),
    }
}

/// A field of INFO, read through `c`.
async fn info_field(c: &Client, section: &str, field: &str) -> String {
    let info = c.cmd(&["INFO", section]).await.unwrap().as_str().unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")).map(|v| v.trim().to_string()))
        .unwrap_or_else(|| panic!("no {field} in {info}"))
}

#[actix_rt::test]
async fn commands_replies_and_error_replies() {
    let server = in_process().await;
    assert!(server.addr().is_none());
    let c = server.client();
    assert_eq!(c.cmd(&["SET", "k", "v"]).await.unwrap(), ok());
    assert_eq!(c.cmd(&["GET", "k"]).await.unwrap(), bulk("v"));
    assert_eq!(c.cmd(&["GET", "nope"]).await.unwrap(), Frame::Null);
    // Error replies are Err, with Redis's text.
    assert_eq!(
        reply_err(c.cmd(&["LPUSH", "k", "x"]).await),
        "WRONGTYPE Operation against a key holding the wrong kind of value"
    );
    let e = c.cmd(&["NOPE-CMD", "a"]).await.unwrap_err();
    assert_eq!(e.reply().map(ReplyError::code), Some("ERR"));
    assert_eq!(e.to_string(), "ERR unknown command 'NOPE-CMD', with args beginning with: 'a' ");
    assert_eq!(reply_err(c.cmd(&["GET"]).await), "ERR wrong number of arguments for 'get' command");
    assert!(matches!(c.cmd::<&str>(&[]).await, Err(Error::Protocol(_))));
    // Binary-safe arguments.
    assert_eq!(c.cmd(&[&b"SET"[..], b"bin", b"\x00\r\n\xff"]).await.unwrap(), ok());
    assert_eq!(c.cmd(&["GET", "bin"]).await.unwrap(), Frame::Bulk(b"\x00\r\n\xff".to_vec()));
    // A pipeline: one result per command, errors in place.
    let replies = c.pipeline(&[vec!["INCR", "n"], vec!["INCR", "k"], vec!["INCR", "n"], vec!["DBSIZE"]]).await.unwrap();
    assert_eq!(
        replies,
        vec![
            Ok(Frame::Integer(1)),
            Err(ReplyError::new("ERR value is not an integer or out of range")),
            Ok(Frame::Integer(2)),
            Ok(Frame::Integer(3)),
        ]
    );
    // Another client sees the same data.
    assert_eq!(server.client().cmd(&["GET", "n"]).await.unwrap(), bulk("2"));
    server.stop().await;
    assert!(matches!(c.cmd(&["PING"]).await, Err(Error::Closed)), "a stopped server refuses in-process clients");
}

#[actix_rt::test]
async fn a_pipeline_is_one_round_trip() {
    let server = in_process().await;
    let c = server.client();
    let reads = |s: String| s.parse::<u64>().unwrap();
    let before = reads(info_field(&c, "stats", "total_reads_processed").await);
    let cmds: Vec<Vec<String>> = (0..50).map(|i| vec!["RPUSH".into(), "l".into(), i.to_string()]).collect();
    let replies = c.pipeline(&cmds).await.unwrap();
    assert_eq!(replies.last(), Some(&Ok(Frame::Integer(50))));
    let after = reads(info_field(&c, "stats", "total_reads_processed").await);
    // One batch for the pipeline, one for the second INFO.
    assert_eq!(after - before, 2);
    server.stop().await;
}

#[actix_rt::test]
async fn each_clone_is_a_client_of_its_own() {
    let server = in_process().await;
    let a = server.client();
    let b = a.clone();
    let id = |f: Frame| match f {
        Frame::Integer(i) => i,
        f => panic!("{f:?}"),
    };
    assert_ne!(id(a.cmd(&["CLIENT", "ID"]).await.unwrap()), id(b.cmd(&["CLIENT", "ID"]).await.unwrap()));
    // SELECT does not leak into the clone.
    a.cmd(&["SELECT", "1"]).await.unwrap();
    a.cmd(&["SET", "where", "db1"]).await.unwrap();
    assert_eq!(b.cmd(&["GET", "where"]).await.unwrap(), Frame::Null);
    assert_eq!(a.clone().cmd(&["GET", "where"]).await.unwrap(), Frame::Null, "a new clone starts in db 0");
    // Nor does MULTI: b's commands run at once while a queues.
    assert_eq!(a.cmd(&["MULTI"]).await.unwrap(), ok());
    assert_eq!(a.cmd(&["INCR", "c"]).await.unwrap(), Frame::Simple("QUEUED".into()));
    assert_eq!(b.cmd(&["INCR", "c"]).await.unwrap(), Frame::Integer(1));
    assert_eq!(a.cmd(&["EXEC"]).await.unwrap(), Frame::Array(vec![Frame::Integer(1)]), "a's INCR ran in db 1");
    // WATCH is per client: b's write fails a's transaction.
    a.cmd(&["SELECT", "0"]).await.unwrap();
    a.cmd(&["WATCH", "c"]).await.unwrap();
    b.cmd(&["INCR", "c"]).await.unwrap();
    a.cmd(&["MULTI"]).await.unwrap();
    a.cmd(&["INCR", "c"]).await.unwrap();
    assert_eq!(a.cmd(&["EXEC"]).await.unwrap(), Frame::Null);
    server.stop().await;
}

#[actix_rt::test]
async fn a_dropped_client_is_forgotten() {
    use futures::FutureExt;
    let server = in_process().await;
    let other = server.client();
    let c = server.client();
    assert!(c.cmd(&["BLPOP", "q", "0"]).now_or_never().is_none());
    wait_for_async("BLPOP to block", Duration::from_secs(5), || async {
        info_field(&other, "clients", "blocked_clients").await == "1"
    })
    .await;
    drop(c);
    // Its blocked BLPOP went with it: nobody takes the element.
    assert_eq!(info_field(&other, "clients", "blocked_clients").await, "0");
    assert_eq!(other.cmd(&["RPUSH", "q", "x"]).await.unwrap(), Frame::Integer(1));
    assert_eq!(other.cmd(&["LLEN", "q"]).await.unwrap(), Frame::Integer(1));
    server.stop().await;
}

#[actix_rt::test]
async fn multi_exec_through_cmd() {
    let server = in_process().await;
    let c = server.client();
    c.cmd(&["SET", "s", "text"]).await.unwrap();
    assert_eq!(c.cmd(&["MULTI"]).await.unwrap(), ok());
    assert_eq!(c.cmd(&["SET", "k", "1"]).await.unwrap(), Frame::Simple("QUEUED".into()));
    assert_eq!(c.cmd(&["INCR", "s"]).await.unwrap(), Frame::Simple("QUEUED".into()));
    assert_eq!(c.cmd(&["INCR", "k"]).await.unwrap(), Frame::Simple("QUEUED".into()));
    // A failing command inside EXEC is an error item of its reply, not an Err.
    assert_eq!(
        c.cmd(&["EXEC"]).await.unwrap(),
        Frame::Array(vec![ok(), Frame::Error("ERR value is not an integer or out of range".into()), Frame::Integer(2)])
    );
    // A command refused while queueing aborts the transaction.
    c.cmd(&["MULTI"]).await.unwrap();
    assert_eq!(reply_err(c.cmd(&["GET"]).await), "ERR wrong number of arguments for 'get' command");
    assert_eq!(reply_err(c.cmd(&["EXEC"]).await), "EXECABORT Transaction discarded because of previous errors.");
    assert_eq!(reply_err(c.cmd(&["EXEC"]).await), "ERR EXEC without MULTI");
    server.stop().await;
}

#[actix_rt::test]
async fn shared_across_threads_and_tasks() {
    let server = in_process().await;
    let client = server.client();
    // Plain threads with no runtime of their own: each drives its own clone with a simple executor.
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let c = client.clone();
            std::thread::spawn(move || {
                futures::executor::block_on(async {
                    for _ in 0..100 {
                        c.cmd(&["INCR", "hits"]).await.unwrap();
                    }
                })
            })
        })
        .collect();
    // tokio::spawn requires Send futures: clones in tasks, and one client shared by reference.
    let shared = std::sync::Arc::new(client.clone());
    let tasks: Vec<_> = (0..4)
        .map(|i| {
            let own = client.clone();
            let shared = shared.clone();
            tokio::spawn(async move {
                for _ in 0..50 {
                    own.cmd(&["INCR", "hits"]).await.unwrap();
                    shared.cmd(&["RPUSH", "order", &i.to_string()]).await.unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(client.cmd(&["GET", "hits"]).await.unwrap(), bulk("600"));
    assert_eq!(client.cmd(&["LLEN", "order"]).await.unwrap(), Frame::Integer(200));
    server.stop().await;
}

#[actix_rt::test]
async fn a_dropped_command_still_runs_and_its_reply_is_not_mixed_up() {
    use futures::FutureExt;
    let server = in_process().await;
    let c = server.client();
    let other = server.client();
    // Poll BLPOP once (it blocks at the server), then drop its future.
    assert!(c.cmd(&["BLPOP", "q", "0"]).now_or_never().is_none());
    wait_for_async("BLPOP to block", Duration::from_secs(5), || async {
        info_field(&other, "clients", "blocked_clients").await == "1"
    })
    .await;
    // The client's next command waits behind the BLPOP, as on a socket.
    let next = tokio::spawn(async move { c.cmd(&["ECHO", "mine"]).await });
    assert_eq!(other.cmd(&["RPUSH", "q", "x"]).await.unwrap(), Frame::Integer(1));
    assert_eq!(next.await.unwrap().unwrap(), bulk("mine"));
    assert_eq!(other.cmd(&["LLEN", "q"]).await.unwrap(), Frame::Integer(0), "the dropped BLPOP took the element");
    server.stop().await;
}

#[actix_rt::test]
async fn quit_then_a_new_client() {
    let server = in_process().await;
    let c = server.client();
    let first = c.cmd(&["CLIENT", "ID"]).await.unwrap();
    c.cmd(&["SELECT", "2"]).await.unwrap();
    assert_eq!(c.cmd(&["QUIT"]).await.unwrap(), ok());
    let second = c.cmd(&["CLIENT", "ID"]).await.unwrap();
    assert_ne!(first, second);
    c.cmd(&["SET", "k", "db0"]).await.unwrap();
    assert_eq!(server.client().cmd(&["GET", "k"]).await.unwrap(), bulk("db0"), "the new client starts in db 0");
    server.stop().await;
}

#[actix_rt::test]
async fn embedded_with_listener_serves_both() {
    let server = listening().await;
    let addr = server.addr().unwrap();
    let c = server.client();
    c.cmd(&["SET", "shared", "1"]).await.unwrap();
    let got = tokio::task::spawn_blocking(move || {
        let mut con = redis::Client::open(format!("redis://{addr}/")).unwrap().get_connection().unwrap();
        redis::cmd("GET").arg("shared").query::<String>(&mut con).unwrap()
    })
    .await
    .unwrap();
    assert_eq!(got, "1");
    server.stop().await;
}

#[actix_rt::test]
async fn maxmemory_refuses_denyoom_commands() {
    let mut cfg = Config::default();
    cfg.save.clear(); // no dump.rdb written to the working directory
    cfg.dir = common::test_dir().to_string_lossy().into_owned(); // nor read from it
    cfg.maxmemory = 1;
    let server = Server::new(cfg).without_listener().start().await.unwrap();
    let c = server.client();
    assert_eq!(reply_err(c.cmd(&["SET", "k", "v"]).await), "OOM command not allowed when used memory > 'maxmemory'.");
    assert_eq!(c.cmd(&["GET", "k"]).await.unwrap(), Frame::Null);
    assert_eq!(c.cmd(&["DEL", "k"]).await.unwrap(), Frame::Integer(0));
    server.stop().await;
}

/// The port is free again: binding it succeeds.
fn port_is_free(addr: SocketAddr) {
    TcpListener::bind(addr).unwrap_or_else(|e| panic!("{addr} still taken after the drop: {e}"));
}

#[actix_rt::test]
async fn dropping_the_handle_inside_the_system_stops_the_server() {
    let server = listening().await;
    let addr = server.addr().unwrap();
    let c = server.client();
    c.cmd(&["SET", "k", "v"]).await.unwrap();
    let mut sock = std::net::TcpStream::connect(addr).unwrap();
    drop(server);
    port_is_free(addr);
    // Connections were closed and in-process clients refused.
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    assert_eq!(std::io::Read::read(&mut sock, &mut [0u8; 16]).unwrap_or(0), 0);
    assert!(matches!(c.cmd(&["GET", "k"]).await, Err(Error::Closed)));
}

#[test]
fn dropping_the_handle_outside_any_system_stops_the_server() {
    let sys = actix_rt::System::new();
    let (server, client) = sys.block_on(async {
        let server = listening().await;
        let client = server.client();
        client.cmd(&["SET", "k", "v"]).await.unwrap();
        (server, client)
    });
    let addr = server.addr().unwrap();
    // The System is not running now (block_on returned): the drop must not need it.
    drop(server);
    port_is_free(addr);
    assert!(matches!(futures::executor::block_on(client.cmd(&["GET", "k"])), Err(Error::Closed)));
    drop(sys);
}

#[test]
fn dropping_the_handle_after_its_system_stopped() {
    let sys = actix_rt::System::new();
    let server = sys.block_on(listening());
    let addr = server.addr().unwrap();
    sys.block_on(async { actix_rt::System::current().stop() });
    drop(sys);
    drop(server);
    port_is_free(addr);
}

#[cfg(feature = "redis-client")]
mod redis_crate {
    //! The `redis` crate's async API on an in-process client.

    use super::*;
    use futures::StreamExt;
    use redis::{AsyncCommands, Value};
    use std::collections::HashMap;

    #[actix_rt::test]
    async fn typed_async_commands() {
        let server = in_process().await;
        let mut con = server.client();
        let _: () = con.set("n", 41).await.unwrap();
        let n: i64 = con.incr("n", 1).await.unwrap();
        assert_eq!(n, 42);
        assert_eq!(con.get::<_, i64>("n").await.unwrap(), 42);
        assert_eq!(con.get::<_, Option<String>>("missing").await.unwrap(), None);
        let _: () = con.hset_multiple("h", &[("a", 1), ("b", 2)]).await.unwrap();
        let h: HashMap<String, i64> = con.hgetall("h").await.unwrap();
        assert_eq!(h, HashMap::from([("a".to_string(), 1), ("b".to_string(), 2)]));
        let _: () = con.rpush("l", &[1, 2, 3]).await.unwrap();
        assert_eq!(con.lrange::<_, Vec<u32>>("l", 0, -1).await.unwrap(), vec![1, 2, 3]);
        let _: () = con.set_ex("ttl", "v", 100).await.unwrap();
        assert!((1..=100).contains(&con.ttl::<_, i64>("ttl").await.unwrap()));
        // Error replies are RedisErrors with the code and text a socket connection gives.
        let e = con.lpush::<_, _, ()>("n", "x").await.unwrap_err();
        assert_eq!(e.code(), Some("WRONGTYPE"));
        assert_eq!(e.detail(), Some("Operation against a key holding the wrong kind of value"));
        let e = redis::cmd("NOPE-CMD").query_async::<()>(&mut con).await.unwrap_err();
        assert_eq!(e.code(), Some("ERR"));
        // SCAN through the async iterator.
        let mut keys: Vec<String> = con.scan_match::<_, String>("*").await.unwrap().collect().await;
        keys.sort();
        assert_eq!(keys, ["h", "l", "n", "ttl"]);
        server.stop().await;
        let e = con.get::<_, Option<String>>("n").await.unwrap_err();
        assert!(e.is_connection_dropped(), "{e:?}");
    }

    #[actix_rt::test]
    async fn pipelines_plain_and_atomic() {
        let server = in_process().await;
        let mut con = server.client();
        let (a, b): (i64, String) = redis::pipe()
            .set("a", 1)
            .ignore()
            .incr("a", 2)
            .set("b", "x")
            .ignore()
            .get("b")
            .query_async(&mut con)
            .await
            .unwrap();
        assert_eq!((a, b), (3, "x".to_string()));
        let (a, len): (i64, i64) =
            redis::pipe().atomic().incr("a", 1).rpush("q", "v").query_async(&mut con).await.unwrap();
        assert_eq!((a, len), (4, 1));
        // An error reply in a pipeline fails the call, as over a socket; the other commands ran.
        let e = redis::pipe().incr("a", 1).incr("b", 1).query_async::<(i64, i64)>(&mut con).await.unwrap_err();
        assert_eq!(e.code(), Some("ERR"));
        assert_eq!(con.get::<_, i64>("a").await.unwrap(), 5);
        // A command refused while queueing: the transaction is discarded.
        let e = redis::pipe()
            .atomic()
            .incr("a", 1)
            .cmd("GET")
            .query_async::<(i64, Option<String>)>(&mut con)
            .await
            .unwrap_err();
        assert_eq!(e.code(), Some("ERR"));
        assert_eq!(con.get::<_, i64>("a").await.unwrap(), 5, "nothing of the aborted transaction ran");
        // One round trip to the keyspace per pipeline, MULTI and EXEC included.
        let reads = |v: String| -> u64 { v.parse().unwrap() };
        let before = reads(info_field(&con, "stats", "total_reads_processed").await);
        let mut p = redis::pipe();
        p.atomic();
        for i in 0..20 {
            p.rpush("many", i).ignore();
        }
        let () = p.query_async(&mut con).await.unwrap();
        assert_eq!(reads(info_field(&con, "stats", "total_reads_processed").await) - before, 2);
        assert_eq!(con.llen::<_, i64>("many").await.unwrap(), 20);
        server.stop().await;
    }

    #[actix_rt::test]
    async fn resp3_values_after_hello_3() {
        let server = in_process().await;
        let mut con = server.client();
        let _: () = con.hset("h", "f", "v").await.unwrap();
        let _: Value = redis::cmd("HELLO").arg(3).query_async(&mut con).await.unwrap();
        let v: Value = redis::cmd("HGETALL").arg("h").query_async(&mut con).await.unwrap();
        assert_eq!(v, Value::Map(vec![(Value::BulkString(b"f".to_vec()), Value::BulkString(b"v".to_vec()))]));
        let v: Value = redis::cmd("ZSCORE").arg("z").arg("m").query_async(&mut con).await.unwrap();
        assert_eq!(v, Value::Nil);
        let _: () = con.zadd("z", "m", 1.5).await.unwrap();
        let v: Value = redis::cmd("ZSCORE").arg("z").arg("m").query_async(&mut con).await.unwrap();
        assert_eq!(v, Value::Double(1.5));
        // Typed replies read RESP3 shapes too.
        let h: HashMap<String, String> = con.hgetall("h").await.unwrap();
        assert_eq!(h["f"], "v");
        // The Frame API sees the same shapes; a clone is a new client, still on RESP2.
        assert_eq!(con.cmd(&["ZSCORE", "z", "m"]).await.unwrap(), Frame::Double(1.5));
        assert_eq!(con.clone().cmd(&["ZSCORE", "z", "m"]).await.unwrap(), bulk("1.5"));
        server.stop().await;
    }

    /// Host actors hold clones and talk to the keyspace with `AsyncCommands`.
    #[actix_rt::test]
    async fn from_inside_actix_actors() {
        use actix::prelude::*;

        struct Counter {
            con: Client,
        }
        impl Actor for Counter {
            type Context = Context<Self>;
        }
        #[derive(Message)]
        #[rtype(result = "Result<i64, String>")]
        struct Bump(&'static str);
        impl Handler<Bump> for Counter {
            type Result = ResponseFuture<Result<i64, String>>;
            fn handle(&mut self, msg: Bump, _: &mut Context<Self>) -> Self::Result {
                let mut con = self.con.clone();
                Box::pin(async move { con.incr(msg.0, 1).await.map_err(common::err_text) })
            }
        }

        let server = in_process().await;
        let a = Counter { con: server.client() }.start();
        let b = Counter { con: server.client() }.start();
        for _ in 0..10 {
            a.send(Bump("k")).await.unwrap().unwrap();
            b.send(Bump("k")).await.unwrap().unwrap();
        }
        assert_eq!(a.send(Bump("k")).await.unwrap(), Ok(21));
        let mut con = server.client();
        let _: () = con.set("s", "text").await.unwrap();
        assert_eq!(b.send(Bump("s")).await.unwrap(), Err("ERR value is not an integer or out of range".into()));
        server.stop().await;
    }
}

/// Messages for an in-process subscription, taken from its stream with a deadline.
async fn next_msgs(sub: &mut ferrodis::Subscription, n: usize) -> Vec<ferrodis::Message> {
    use futures::StreamExt;
    let mut got = Vec::new();
    while got.len() < n {
        match tokio::time::timeout(Duration::from_secs(10), sub.next()).await {
            Ok(Some(m)) => got.push(m),
            Ok(None) => panic!("the subscription ended after {} messages", got.len()),
            Err(_) => panic!("no message within 10 s after {} of {n}", got.len()),
        }
    }
    got
}

fn msg(pattern: Option<&str>, channel: &str, payload: &str) -> ferrodis::Message {
    ferrodis::Message {
        pattern: pattern.map(|p| p.as_bytes().to_vec()),
        channel: channel.as_bytes().to_vec(),
        payload: payload.as_bytes().to_vec(),
    }
}

#[actix_rt::test]
async fn in_process_subscriptions_get_messages_in_order_and_count_as_receivers() {
    let server = in_process().await;
    let c = server.client();
    let mut sub = c.subscribe(&["news", "sport"]).await.unwrap();
    let mut psub = c.psubscribe(&["n*"]).await.unwrap();
    assert_eq!(c.cmd(&["PUBLISH", "news", "a"]).await.unwrap(), Frame::Integer(2));
    assert_eq!(c.cmd(&["PUBLISH", "sport", "b"]).await.unwrap(), Frame::Integer(1));
    // One pipeline: several messages in one batch keep their order.
    let n: Vec<_> = (0..50).map(|i| vec!["PUBLISH".to_string(), "news".into(), format!("m{i}")]).collect();
    c.pipeline(&n).await.unwrap();
    let got = next_msgs(&mut sub, 52).await;
    assert_eq!(got[0], msg(None, "news", "a"));
    assert_eq!(got[1], msg(None, "sport", "b"));
    for (i, m) in got[2..].iter().enumerate() {
        assert_eq!(*m, msg(None, "news", &format!("m{i}")));
    }
    let got = next_msgs(&mut psub, 51).await;
    assert_eq!(got[0], msg(Some("n*"), "news", "a"));
    assert_eq!(got[50], msg(Some("n*"), "news", "m49"));

    // The subscriptions are clients of their own: this one is free, and PUBSUB sees them.
    assert_eq!(
        c.cmd(&["PUBSUB", "NUMSUB", "news"]).await.unwrap(),
        Frame::Array(vec![bulk("news"), Frame::Integer(1)])
    );
    assert_eq!(c.cmd(&["PUBSUB", "NUMPAT"]).await.unwrap(), Frame::Integer(1));
    sub.unsubscribe(&["news"]).await.unwrap();
    sub.psubscribe(&["s*"]).await.unwrap();
    assert_eq!(c.cmd(&["PUBLISH", "news", "c"]).await.unwrap(), Frame::Integer(1));
    assert_eq!(c.cmd(&["PUBLISH", "sport", "d"]).await.unwrap(), Frame::Integer(2));
    assert_eq!(next_msgs(&mut sub, 2).await, vec![msg(None, "sport", "d"), msg(Some("s*"), "sport", "d")]);
    // A bad subscribe-type command is an error reply.
    let e = sub.subscribe::<&str>(&[]).await.unwrap_err();
    assert!(e.to_string().contains("wrong number of arguments"), "{e}");

    // Dropping a subscription unsubscribes it.
    drop(psub);
    wait_for_async("the pattern subscription to go", Duration::from_secs(5), || async {
        c.cmd(&["PUBSUB", "NUMPAT"]).await.unwrap() == Frame::Integer(1)
    })
    .await;
    drop(sub);
    wait_for_async("the subscription to go", Duration::from_secs(5), || async {
        c.cmd(&["PUBLISH", "sport", "e"]).await.unwrap() == Frame::Integer(0)
    })
    .await;
}

#[actix_rt::test]
async fn in_process_and_socket_clients_publish_to_each_other() {
    let server = listening().await;
    let c = server.client();
    let mut sub = c.subscribe(&["events"]).await.unwrap();
    let addr = server.addr().unwrap();
    let remote = tokio::task::spawn_blocking(move || {
        let mut con = redis::Client::open(format!("redis://{addr}")).unwrap().get_connection().unwrap();
        let mut ps = con.as_pubsub();
        ps.subscribe("replies").unwrap();
        let mut pubcon = redis::Client::open(format!("redis://{addr}")).unwrap().get_connection().unwrap();
        // The in-process subscriber counts as a receiver of a socket client's PUBLISH.
        let n: i64 = redis::cmd("PUBLISH").arg("events").arg("from-socket").query(&mut pubcon).unwrap();
        assert_eq!(n, 1);
        let m = ps.get_message().unwrap();
        (m.get_channel_name().to_string(), m.get_payload::<String>().unwrap())
    });
    assert_eq!(next_msgs(&mut sub, 1).await, vec![msg(None, "events", "from-socket")]);
    wait_for_async("the socket subscriber", Duration::from_secs(10), || async {
        c.cmd(&["PUBLISH", "replies", "from-host"]).await.unwrap() == Frame::Integer(1)
    })
    .await;
    assert_eq!(remote.await.unwrap(), ("replies".to_string(), "from-host".to_string()));
}

#[actix_rt::test]
async fn an_in_process_subscriber_that_does_not_read_is_dropped_at_the_pubsub_limit() {
    let server = in_process().await;
    let c = server.client();
    c.cmd(&["CONFIG", "SET", "client-output-buffer-limit", "pubsub 64kb 0 0"]).await.unwrap();
    let before: u64 = info_field(&c, "stats", "client_output_buffer_limit_disconnections").await.parse().unwrap();
    let mut sub = c.subscribe(&["flood"]).await.unwrap();
    let payload = "x".repeat(1024);
    let mut receivers = Vec::new();
    for _ in 0..200 {
        match c.cmd(&["PUBLISH", "flood", &payload]).await.unwrap() {
            Frame::Integer(n) => receivers.push(n),
            other => panic!("{other:?}"),
        }
    }
    // Dropped once about 64 KB were unread: later PUBLISHes reach nobody.
    let reached = receivers.iter().filter(|&&n| n == 1).count();
    assert!((50..=70).contains(&reached), "{reached} messages reached it");
    assert_eq!(receivers.last(), Some(&0));
    let after: u64 = info_field(&c, "stats", "client_output_buffer_limit_disconnections").await.parse().unwrap();
    assert_eq!(after, before + 1);
    // What was delivered before the limit can still be read, then the stream ends.
    use futures::StreamExt;
    let mut read = 0;
    while let Some(m) = tokio::time::timeout(Duration::from_secs(10), sub.next()).await.unwrap() {
        assert_eq!(m.payload.len(), 1024);
        read += 1;
    }
    assert!(read < reached, "read {read} of {reached}: the one over the limit was not delivered");
    assert_eq!(
        c.cmd(&["PUBSUB", "NUMSUB", "flood"]).await.unwrap(),
        Frame::Array(vec![bulk("flood"), Frame::Integer(0)])
    );
}

#[actix_rt::test]
async fn in_process_subscriptions_end_when_the_server_stops() {
    let server = in_process().await;
    let c = server.client();
    let mut sub = c.subscribe(&["x"]).await.unwrap();
    assert_eq!(c.cmd(&["PUBLISH", "x", "1"]).await.unwrap(), Frame::Integer(1));
    server.stop().await;
    use futures::StreamExt;
    assert_eq!(tokio::time::timeout(Duration::from_secs(10), sub.next()).await.unwrap(), Some(msg(None, "x", "1")));
    assert_eq!(tokio::time::timeout(Duration::from_secs(10), sub.next()).await.unwrap(), None);
}

/// The Lua debugger talks over the client's socket: an in-process client is told so, and its EVAL runs
/// as usual.
#[actix_rt::test]
async fn the_lua_debugger_needs_a_socket() {
    let server = in_process().await;
    let c = server.client();
    let e = reply_err(c.cmd(&["SCRIPT", "DEBUG", "SYNC"]).await);
    assert_eq!(e, "ERR The Lua debugger needs a client connected over a socket");
    assert_eq!(c.cmd(&["EVAL", "return 'x'", "0"]).await.unwrap(), bulk("x"));
}
