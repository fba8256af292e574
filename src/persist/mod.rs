//! Persistence formats: pure readers and writers, no actors (the persistence actors use them).

pub mod aof;
pub mod dump;
pub mod job;
pub mod lzf;
pub mod packs;
pub mod rdb;
#[cfg(test)]
mod rdb_fixtures;
pub mod rdb_stream;
