//! The embedding API: a host's actix System runs the server; in-process clients need no socket.

use ferrodis::{Config, Frame, Server};

#[actix_rt::test]
async fn in_process_client_without_listener() {
    let server = Server::new(Config::default()).without_listener().start().await.unwrap();
    assert!(server.addr().is_none());
    let mut c = server.client().await.unwrap();
    assert_eq!(c.cmd(&["SET", "k", "v"]).await.unwrap(), Frame::Simple("OK".into()));
    assert_eq!(c.cmd(&["GET", "k"]).await.unwrap(), Frame::Bulk(b"v".to_vec()));
    let replies = c.pipeline(&[vec!["INCR", "n"], vec!["INCR", "n"], vec!["GET", "nope"]]).await.unwrap();
    assert_eq!(replies, vec![Frame::Integer(1), Frame::Integer(2), Frame::Null]);
    let err = c.cmd(&["LOLWUT-NOPE"]).await.unwrap();
    assert!(err.is_error());
    assert_eq!(server.with_state(|s| s.dbs[0].len()).await.unwrap(), 2);
    // A second client sees the same data.
    let mut d = server.client().await.unwrap();
    assert_eq!(d.cmd(&["GET", "n"]).await.unwrap(), Frame::Bulk(b"2".to_vec()));
    server.stop().await;
    assert!(c.cmd(&["PING"]).await.is_err(), "a stopped server refuses in-process clients");
}

#[actix_rt::test]
async fn embedded_with_listener_serves_both() {
    let mut cfg = Config::default();
    cfg.port = 0;
    cfg.bind = vec!["127.0.0.1".into()];
    let server = Server::new(cfg).start().await.unwrap();
    let addr = server.addr().unwrap();
    let mut c = server.client().await.unwrap();
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
    cfg.maxmemory = 1;
    let server = Server::new(cfg).without_listener().start().await.unwrap();
    let mut c = server.client().await.unwrap();
    assert_eq!(
        c.cmd(&["SET", "k", "v"]).await.unwrap(),
        Frame::Error("OOM command not allowed when used memory > 'maxmemory'.".into())
    );
    assert_eq!(c.cmd(&["GET", "k"]).await.unwrap(), Frame::Null);
    assert_eq!(c.cmd(&["DEL", "k"]).await.unwrap(), Frame::Integer(0));
    server.stop().await;
}
