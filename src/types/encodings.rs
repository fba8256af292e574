//! Encodings: the compact-to-scalable thresholds of the collection types (types layer), mirrored from
//! config (list-max-listpack-size, hash-max-listpack-*, set-max-intset-entries,
//! zset-max-listpack-*). The Keyspace refreshes them on CONFIG SET; types read them when they grow.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Encodings {
    /// Negative: -1..-5 = 4..64 KB per listpack node; positive: entries per node.
    pub list_max_listpack_size: i64,
    pub hash_max_listpack_entries: usize,
    pub hash_max_listpack_value: usize,
    pub set_max_intset_entries: usize,
    pub zset_max_listpack_entries: usize,
    pub zset_max_listpack_value: usize,
}

impl Default for Encodings {
    fn default() -> Self {
        Encodings {
            list_max_listpack_size: -2,
            hash_max_listpack_entries: 128,
            hash_max_listpack_value: 64,
            set_max_intset_entries: 512,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
        }
    }
}

impl Encodings {
    pub fn from_config(c: &crate::config::Config) -> Encodings {
        Encodings {
            list_max_listpack_size: c.list_max_listpack_size,
            hash_max_listpack_entries: c.hash_max_listpack_entries as usize,
            hash_max_listpack_value: c.hash_max_listpack_value as usize,
            set_max_intset_entries: c.set_max_intset_entries as usize,
            zset_max_listpack_entries: c.zset_max_listpack_entries as usize,
            zset_max_listpack_value: c.zset_max_listpack_value as usize,
        }
    }
}
