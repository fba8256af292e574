//! Commands: the command families and the engine the Keyspace actor runs them with (commands layer).
//!
//! A connection resolves each request to its `CommandSpec` and ships a `Batch` (its read buffer, argument
//! ranges, output buffer) to the Keyspace; `exec_batch` runs the commands in order against `State`, each
//! handler writing its reply into the batch's output. Side effects that need actors (disconnecting a client,
//! shutdown, waking waiters) are left in `State` for the Keyspace to act on after the batch.
//!
//! The engine, one file per role: `table.rs` (the joined command table and lookup), `batch.rs` (`Argv`,
//! `Batch`, parsing a read into requests), `client.rs` (per-client state), `state.rs` (`State`, stats,
//! knobs), `exec.rs` (`Ctx`, checks, `exec_request`, `exec_batch`), `busy.rs` (a script past
//! busy-reply-threshold). Every other file is a command family
//! (with `spec.rs` its declarations, `propagate.rs` the replication feed). This file only lists the
//! families and re-exports the engine, so that families import it as `super::{State, Ctx, ...}`.

pub mod acl;
pub mod acl_rules;
pub mod aof;
mod batch;
pub mod bitmap;
pub mod busy;
mod client;
pub mod client_mem;
pub mod cluster;
pub mod command;
mod command_docs;
pub mod config;
pub mod connection;
pub mod debug;
pub mod dump;
pub mod evict;
mod exec;
pub mod function;
pub mod geo;
pub mod hash;
pub mod hyperloglog;
pub mod info;
pub mod keys;
mod keyspecs;
pub mod latency;
pub mod lazyfree;
pub mod list;
pub mod memory;
pub mod migrate;
pub mod module;
pub mod monitor;
pub mod multi;
pub mod object;
pub mod propagate;
pub mod pubsub;
pub mod rdb;
pub mod replication;
pub mod scripting;
pub mod server;
pub mod set;
pub mod slowlog;
pub mod sort;
pub mod spec;
mod state;
pub mod stream;
pub mod stream_group;
pub mod string;
mod table;
#[cfg(test)]
pub mod testutil;
pub mod tracking;
pub mod zset;

pub use batch::{pack_args, parse_batch, Argv, Batch, BATCH_BYTES};
pub use client::{Client, DbKey, ReplyMode};
pub(crate) use exec::precheck;
pub use exec::{block_deadline, exec_batch, exec_request, reply_error, set_feed_enabled, Ctx};
pub use spec::*;
pub use state::{Knobs, Pause, ShutdownRequest, State, OBUF_NORMAL, OBUF_PUBSUB, OBUF_REPLICA};
pub use table::{sub_name, table, Renames};
#[cfg(test)]
pub use {client::Blocked, exec::run_args};

/// Every family's specs, in the order the table (and so COMMAND and the stats arrays) lists them.
const FAMILIES: &[&[CommandSpec]] = &[
    connection::SPECS,
    acl::SPECS,
    info::SPECS,
    server::SPECS,
    debug::SPECS,
    memory::SPECS,
    config::SPECS,
    command::SPECS,
    slowlog::SPECS,
    monitor::SPECS,
    latency::SPECS,
    aof::SPECS,
    rdb::SPECS,
    keys::SPECS,
    object::SPECS,
    dump::SPECS,
    migrate::SPECS,
    string::SPECS,
    bitmap::SPECS,
    multi::SPECS,
    replication::SPECS,
    cluster::SPECS,
    module::SPECS,
    list::SPECS,
    hash::SPECS,
    set::SPECS,
    zset::SPECS,
    hyperloglog::SPECS,
    geo::SPECS,
    sort::SPECS,
    scripting::SPECS,
    function::SPECS,
    stream::SPECS,
    pubsub::SPECS,
];
