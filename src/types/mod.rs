//! Pure data structures with no actors: values and their encodings, the keyspace table, clock, sampling.

pub mod bytes;
pub mod clock;
pub mod db;
pub mod encodings;
pub mod evict;
pub mod geohash;
pub mod glob;
pub mod hash;
pub mod hll;
pub mod list;
pub mod mem_buckets;
pub mod num;
pub mod packbuf;
pub mod rawstr;
pub mod rng;
pub mod set;
pub mod stream;
pub mod value;
pub mod zset;
