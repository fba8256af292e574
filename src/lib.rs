//! ferrodis: a Redis-compatible in-memory data server on actix actors.
//!
//! ```text
//!  socket ─► Listener ─► Connection (per client: decode all frames, ONE Exec per read, one write)
//!                            │  Exec(Batch) / replies
//!  host code ─► Client ──────┤  ExecLocal(Batch): the in-process client, one message per command or pipeline
//!                            ▼
//!                         Keyspace (one; owns every Db and client record; runs commands in order)
//!                            ▲ Tick                ▲ ActiveExpire     │ Append (each batch's effects), rewrite
//!                          Cron ──── Tick ───► Expiry                  ▼ chunks, Load
//!                                                              AofWriter (own thread: AOF files, fsync)
//! ```
//!
//! Where things live: `actors/` holds one file per actor (`keyspace/` with its AOF side in `keyspace/aof.rs`,
//! `persistence.rs` the AofWriter) and `events.rs` for `Tick`, the one message several kinds of actor
//! receive. `commands/` holds the engine by role (`table.rs`, `batch.rs`, `client.rs`, `state.rs`, `exec.rs`)
//! and one file per command family.
//!
//! Layers: `types` (data structures), `resp` (wire format), `persist` (file formats) know nothing of actors;
//! `commands` knows `types` and `resp`; `actors` wires them together.
//!
//! # Embedding
//!
//! A host program that runs an actix System starts a [`Server`] in it and talks to the keyspace through
//! [`Client`]s, without a socket (and, with [`Server::without_listener`], without listening at all):
//!
//! ```
//! use redis::AsyncCommands; // the `redis` crate, with the default `redis-client` feature
//!
//! # #[cfg(feature = "redis-client")]
//! #[actix_rt::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let mut config = ferrodis::Config::default();
//!     config.save.clear(); // in memory only: no save points, so no dump.rdb is written on stop
//!     let server = ferrodis::Server::new(config).without_listener().start().await?;
//!     let mut con = server.client(); // Clone + Send + Sync; each clone is a client of its own
//!     con.set::<_, _, ()>("visits", 41).await?;
//!     let n: i64 = con.incr("visits", 1).await?;
//!     assert_eq!(n, 42);
//!     // Without the redis crate: arguments as byte strings, replies as Frames, errors as Err.
//!     let reply = con.cmd(&["GET", "visits"]).await?;
//!     assert_eq!(reply, ferrodis::Frame::Bulk(b"42".to_vec()));
//!     server.stop().await; // or drop the handle
//!     Ok(())
//! }
//! # #[cfg(not(feature = "redis-client"))]
//! # fn main() {}
//! ```
//!
//! # Features
//!
//! - `redis-client` (default): [`Client`] implements `redis::aio::ConnectionLike` of the `redis` crate 0.27,
//!   so `redis::AsyncCommands`, `query_async` and `redis::pipe()` work on it.

#![warn(missing_docs)]

pub(crate) mod actors;
pub(crate) mod alloc;
mod client;
// Items of `commands` nothing uses since the module stopped being public (Argv::is_empty, Client::obuf,
// Stats::{writes_processed, io_threaded_reads, client_query_buffer_limit_disconnections}, Feed::{raw,
// newline}, Scripts::cached; run_args and Feed::take are used by unit tests only): left to the commands split
// and rewrite to drop or use. Likewise clippy's wrong_self_convention, which now applies to `Argv::to_vec`
// (the lint spares exported APIs only). `expect` warns here once none is left.
#[expect(dead_code, clippy::wrong_self_convention, reason = "see above: settled when the commands rewrite lands")]
pub(crate) mod commands;
pub(crate) mod config;
pub(crate) mod crash;
pub(crate) mod error;
pub(crate) mod oom;
pub(crate) mod persist;
pub(crate) mod proctitle;
pub(crate) mod resp;
pub(crate) mod scripting;
mod server;
// The data types are reached from outside only through the hidden `testing` module.
#[allow(missing_docs)]
pub(crate) mod types;

pub use client::{Client, Message, Subscription};
pub use config::{Config, ConfigError, SetError};
pub use error::{Error, ReplyError};
pub use resp::frame::Frame;
pub use server::{Server, ServerHandle};

/// The former name of [`Client`].
#[deprecated(note = "renamed to Client, which takes &self and is Clone + Send + Sync")]
pub type LocalClient = Client;

/// The Redis version we are compatible with, as reported by INFO and HELLO (clients gate features on it).
pub const REDIS_VERSION: &str = "7.0.15";

#[global_allocator]
static GLOBAL: alloc::Counting = alloc::Counting;

/// What the `ferrodis-server` binary needs beyond the API: not part of it, may change at any time.
#[doc(hidden)]
pub mod internal {
    pub use crate::actors::snapshotter::remove_temp_files;
    pub use crate::alloc::tune as tune_allocator;
    pub use crate::config::{adjust_open_files_limit, OpenFiles};
    pub use crate::crash::install as install_crash_handlers;
    pub use crate::proctitle::{init as init_proc_title, refresh as set_proc_title};
    pub use crate::types::clock::{log_timestamp, system_ms};
}

/// What integration tests reach into beyond the API (building values for DUMP payloads): not part of it,
/// may change at any time.
#[doc(hidden)]
pub mod testing {
    pub use crate::persist::dump::{crc64, dump_value, restore_value, FORMAT_VERSION};
    pub use crate::persist::rdb;
    pub use crate::resp::decode::{parse_one, ArgRef, Step};
    pub use crate::scripting::{cjson, cmsgpack, lstruct};
    pub use crate::types::db::Entry;
    pub use crate::types::encodings::Encodings;
    pub use crate::types::hash::Hash;
    pub use crate::types::list::List;
    pub use crate::types::set::Set;
    pub use crate::types::value::Value;
    pub use crate::types::zset::ZSet;
}
