//! A standalone server built from code instead of the command line: the same `Config` the binary reads
//! from redis.conf, tuned here, served until Ctrl-C or SHUTDOWN. Run: `cargo run --example standalone`,
//! then `redis-cli -p 7379 ping`.

use ferrodis::{Config, Server};

#[actix_rt::main]
async fn main() -> Result<(), ferrodis::Error> {
    let mut config = Config::default();
    config.port = 7379;
    config.databases = 4;
    config.set("maxmemory", "100mb").map_err(|_| ferrodis::Error::Config("bad maxmemory".into()))?;
    let mut server = Server::new(config).start().await?;
    println!("listening on {:?}; Ctrl-C or SHUTDOWN stops it", server.addr());
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = server.shutdown_requested() => {}
    }
    server.stop().await;
    Ok(())
}
