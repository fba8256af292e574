//! ferrodis as a pub/sub broker inside a host service: the host publishes its events in-process (no socket),
//! remote clients (redis-cli, any Redis client) subscribe over TCP, and an actix actor of the host consumes
//! messages in-process as a `StreamHandler`. Run: `cargo run --example pubsub_broker` (it runs to completion
//! by itself), or `cargo run --example pubsub_broker -- --serve 6390` to keep publishing once a second so you
//! can watch with `redis-cli -p 6390 psubscribe 'orders.*'`.
//!
//! ```text
//!  OrderService ──PUBLISH orders.<kind>──► ferrodis Keyspace ──► TCP subscribers (redis-cli, this example's)
//!  (in-process Client)                        │
//!                                             └──► Auditor actor: Subscription (psubscribe orders.*) as a stream
//! ```

use actix::prelude::*;
use ferrodis::{Client, Config, Frame, Message, Server};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// Consumes every order event in-process: the subscription is added to the actor as a stream.
struct Auditor {
    seen: usize,
    /// Told the number of events seen once the "done" event arrives.
    done: Option<tokio::sync::oneshot::Sender<usize>>,
}

impl Actor for Auditor {
    type Context = Context<Self>;
}

impl StreamHandler<Message> for Auditor {
    /// One published event, in publish order.
    fn handle(&mut self, m: Message, _: &mut Context<Self>) {
        match &m.payload[..] {
            b"done" => {
                if let Some(tx) = self.done.take() {
                    let _ = tx.send(self.seen);
                }
            }
            b"warm-up" => {}
            _ => self.seen += 1,
        }
    }
}

/// A remote subscriber over plain TCP, speaking RESP by hand: counts the messages on `channel` until "done".
async fn remote_subscriber(port: u16, channel: &str) -> std::io::Result<usize> {
    let mut sock = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    let cmd = format!("*2\r\n$9\r\nSUBSCRIBE\r\n${}\r\n{channel}\r\n", channel.len());
    sock.write_all(cmd.as_bytes()).await?;
    let mut lines = BufReader::new(sock).lines();
    let mut count = 0;
    // Every frame is `*3 $kind $channel $payload`: the payload is the frame's last line.
    let mut frame = Vec::new();
    while let Some(line) = lines.next_line().await? {
        if !line.starts_with('$') && !line.starts_with('*') && !line.starts_with(':') {
            frame.push(line);
        }
        if frame.len() == 3 {
            if frame[0] == "message" {
                match frame[2].as_str() {
                    "done" => return Ok(count),
                    "warm-up" => {}
                    _ => count += 1,
                }
            }
            frame.clear();
        } else if frame.len() == 2 && frame[0] == "subscribe" {
            frame.clear(); // the confirmation's count is an integer line, skipped above
        }
    }
    Ok(count)
}

/// PUBLISH from the host, in-process; returns how many subscribers received it.
async fn publish(client: &Client, channel: &str, payload: &str) -> Result<i64, ferrodis::Error> {
    match client.cmd(&["PUBLISH", channel, payload]).await? {
        Frame::Integer(n) => Ok(n),
        other => panic!("PUBLISH answered {other:?}"),
    }
}

#[actix_rt::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let serve = args.iter().position(|a| a == "--serve").map(|i| args.get(i + 1).and_then(|p| p.parse().ok()));
    let mut cfg = Config::default();
    cfg.save.clear(); // a broker in memory: no dump.rdb
    cfg.bind = vec!["127.0.0.1".into()];
    cfg.port = match serve {
        Some(Some(port)) => port,
        Some(None) => return Err("usage: pubsub_broker [--serve PORT]".into()),
        None => 0, // any free port
    };
    let server = Server::new(cfg).start().await?;
    let port = server.addr().expect("listening").port();
    let host = server.client();

    // The in-process consumer: a pattern subscription, handed to an actor as its stream.
    let (tx, seen_by_auditor) = tokio::sync::oneshot::channel();
    let audit = host.psubscribe(&["orders.*"]).await?;
    Auditor::create(|ctx| {
        ctx.add_stream(audit);
        Auditor { seen: 0, done: Some(tx) }
    });

    if serve.is_some() {
        println!("publishing on orders.created once a second; try: redis-cli -p {port} psubscribe 'orders.*'");
        for i in 0u64.. {
            let n = publish(&host, "orders.created", &format!("order {i}")).await?;
            println!("order {i}: {n} receiver(s)");
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    // A remote subscriber over TCP; wait until the server counts it before publishing.
    let remote = tokio::spawn(remote_subscriber(port, "orders.created"));
    while publish(&host, "orders.created", "warm-up").await? < 2 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    for i in 0..100 {
        let kind = if i % 4 == 0 { "orders.cancelled" } else { "orders.created" };
        publish(&host, kind, &format!("order {i}")).await?;
    }
    publish(&host, "orders.created", "done").await?;

    let remote_seen = remote.await??;
    let audited = seen_by_auditor.await?;
    println!("remote TCP subscriber: {remote_seen} orders.created events");
    println!("in-process auditor: {audited} events on orders.*");
    assert_eq!((remote_seen, audited), (75, 100));
    server.stop().await;
    Ok(())
}
