//! Persistence formats: pure readers and writers, no actors (the persistence actors use them); and `job`, the
//! stand-in child process of a background save or rewrite.

pub mod aof;
pub mod dump;
pub mod job;
pub mod lzf;
pub mod packs;
pub mod rdb;
#[cfg(test)]
mod rdb_fixtures;
pub mod rdb_stream;
