//! ferrodis: a Redis-compatible in-memory data server on actix actors.
//!
//! ```text
//!  socket ─► Listener ─► Connection (per client: decode all frames, ONE Exec per read, one write)
//!                            │  Exec(Batch) / replies
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
//! `commands` knows `types` and `resp`; `actors` wires them together. Embed with [`server::Server`].

pub mod actors;
pub mod alloc;
pub mod commands;
pub mod config;
pub mod error;
pub mod persist;
pub mod resp;
pub mod scripting;
pub mod server;
pub mod types;

pub use config::Config;
pub use error::{CmdError, Error};
pub use resp::frame::Frame;
pub use server::{LocalClient, Server, ServerHandle};

/// The Redis version we are compatible with, as reported by INFO and HELLO (clients gate features on it).
pub const REDIS_VERSION: &str = "7.0.15";

#[global_allocator]
static GLOBAL: alloc::Counting = alloc::Counting;
