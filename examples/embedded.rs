//! Embedding ferrodis in an actix host: the server's actors run inside the host's System, and the host's own
//! actors and tasks talk to the keyspace in-process, with no socket, through clones of one `Client` and the
//! `redis` crate's `AsyncCommands`. Run: `cargo run --example embedded` (it runs to completion by itself).
//!
//! ```text
//!  Producer ×2 ──(clone)──┐  INCR hits:<page>, ZINCRBY top, RPUSH events   (one atomic pipeline each)
//!  Reporter ───(clone)────┼──► ferrodis Keyspace (in-process, no listener)
//!  tokio task ─(clone)────┘  BLPOP events: counts them until "done"
//! ```

use actix::prelude::*;
use ferrodis::{Client, Config, Server};
use redis::{AsyncCommands, RedisResult};

/// A page was viewed: count it.
#[derive(Message)]
#[rtype(result = "RedisResult<()>")]
struct View(&'static str);

/// Counts page views; each producer holds a clone of the client (a client of its own).
struct Producer {
    con: Client,
}

impl Actor for Producer {
    type Context = Context<Self>;
}

impl Handler<View> for Producer {
    type Result = ResponseFuture<RedisResult<()>>;

    /// One MULTI/EXEC pipeline per view: one round trip to the keyspace.
    fn handle(&mut self, msg: View, _: &mut Context<Self>) -> Self::Result {
        let mut con = self.con.clone();
        Box::pin(async move {
            redis::pipe()
                .atomic()
                .incr(format!("hits:{}", msg.0), 1)
                .ignore()
                .zincr("top", msg.0, 1)
                .ignore()
                .rpush("events", msg.0)
                .ignore()
                .exec_async(&mut con)
                .await
        })
    }
}

/// Ask for the most viewed pages.
#[derive(Message)]
#[rtype(result = "RedisResult<Vec<(String, u64)>>")]
struct Top(isize);

/// Reads the counters the producers write.
struct Reporter {
    con: Client,
}

impl Actor for Reporter {
    type Context = Context<Self>;
}

impl Handler<Top> for Reporter {
    type Result = ResponseFuture<RedisResult<Vec<(String, u64)>>>;

    /// ZREVRANGE with scores, as typed pairs.
    fn handle(&mut self, msg: Top, _: &mut Context<Self>) -> Self::Result {
        let mut con = self.con.clone();
        Box::pin(async move { con.zrevrange_withscores("top", 0, msg.0 - 1).await })
    }
}

#[actix_rt::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // No listener at all: only in-process clients. Drop `.without_listener()` to serve TCP clients as well.
    // In memory only: no save points, so stopping writes no dump.rdb into the working directory.
    let mut cfg = Config::default();
    cfg.save.clear();
    let server = Server::new(cfg).without_listener().start().await?;
    let client = server.client();

    // A tokio task on its own clone: its BLPOP blocks only itself, never the actors' clients.
    let mut events = client.clone();
    let consumer = tokio::spawn(async move {
        let mut seen = 0u32;
        loop {
            let (_, page): (String, String) = events.blpop("events", 0.0).await?;
            if page == "done" {
                return RedisResult::Ok(seen);
            }
            seen += 1;
        }
    });

    let producers = [Producer { con: client.clone() }.start(), Producer { con: client.clone() }.start()];
    let reporter = Reporter { con: client.clone() }.start();
    let pages = ["/", "/docs", "/", "/blog", "/docs", "/"];
    for (i, page) in pages.iter().cycle().take(60).enumerate() {
        producers[i % 2].send(View(page)).await??;
    }

    for (page, views) in reporter.send(Top(3)).await?? {
        println!("{page:<6} {views} views");
    }
    let mut con = client.clone();
    let home: u64 = con.get("hits:/").await?;
    assert_eq!(home, 30);

    // The same client without the redis crate: byte-string arguments, Frame replies, errors as Err.
    println!("keys: {}", client.cmd(&["DBSIZE"]).await?);
    if let Err(e) = client.cmd(&["INCR", "top"]).await {
        println!("as expected: {e}");
    }

    let _: () = con.rpush("events", "done").await?;
    let seen = consumer.await??;
    println!("the consumer task saw {seen} events");
    assert_eq!(seen, 60);

    server.stop().await;
    Ok(())
}
