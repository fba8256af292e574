//! Actors: the runtime wiring. Listener -> Connection (per client) -> Keyspace (one), with Cron ticking
//! the Keyspace and Expiry, and the AofWriter (persistence.rs) on its own thread behind the Keyspace. See
//! DESIGN.md for the diagram.

pub mod connection;
pub mod cron;
pub mod expiry;
pub mod keyspace;
pub mod listener;
pub mod persistence;
