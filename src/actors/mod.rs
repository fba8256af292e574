//! Actors: the runtime wiring. Listener -> Connection (per client) -> Keyspace (one), with Cron ticking
//! the Keyspace and Expiry. See DESIGN.md for the diagram.

pub mod connection;
pub mod cron;
pub mod expiry;
pub mod keyspace;
pub mod listener;
pub mod persistence;
