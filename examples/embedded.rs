//! Embedding ferrodis in a host program: the server's actors run inside the host's actix System and the host
//! talks to the keyspace in-process, with no socket. Run: `cargo run --example embedded`.

use ferrodis::{Config, Frame, Server};

#[actix_rt::main]
async fn main() -> Result<(), ferrodis::Error> {
    // No listener at all: only in-process clients. Drop `.without_listener()` to also serve TCP clients.
    let server = Server::new(Config::default()).without_listener().start().await?;
    let mut client = server.client().await?;

    client.cmd(&["SET", "greeting", "hello from the host"]).await?;
    client.cmd(&["INCRBY", "visits", "41"]).await?;
    let replies = client.pipeline(&[vec!["INCR", "visits"], vec!["GET", "greeting"]]).await?;
    for r in &replies {
        println!("{r}");
    }
    assert_eq!(replies[0], Frame::Integer(42));

    // Hosts can also read server state directly on the keyspace thread.
    let keys = server.with_state(|s| s.dbs[0].len()).await?;
    println!("keys in db0: {keys}");

    server.stop().await;
    Ok(())
}
