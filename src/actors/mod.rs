//! Actors: the runtime wiring. Listener -> Connection (per client) -> Keyspace (one), with Cron ticking
//! the Keyspace, Expiry and Evictor, and the AofWriter (persistence.rs) on its own thread behind the Keyspace. See
//! DESIGN.md for the diagram.
//!
//! Files: listener.rs, connection.rs, keyspace/ (the actor in mod.rs, its side of the AOF in aof.rs, of
//! RDB snapshots in rdb.rs, of eviction in evict.rs), cron.rs, expiry.rs, evictor.rs, persistence.rs
//! (AofWriter), snapshotter.rs (Snapshotter), and events.rs for the messages that go to actors of
//! more than one kind (`Tick`); every other message is defined beside the actor that handles it. busy.rs is
//! no actor: it serves the sockets from a busy script's hook while the actors on the Keyspace's thread wait.

pub mod busy;
pub mod connection;
pub mod cron;
pub mod events;
pub mod evictor;
pub mod expiry;
pub mod flush;
pub mod keyspace;
pub mod listener;
pub mod persistence;
pub mod replica;
pub mod snapshotter;
