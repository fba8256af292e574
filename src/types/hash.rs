//! Hash: the value of a hash key (types layer). BASELINE: a plain map; the hashes work replaces the inside
//! with Redis's `listpack` / `hashtable` encodings, keeping this API.

use super::encodings::Encodings;
use std::collections::HashMap;

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Hash {
    map: HashMap<Vec<u8>, Vec<u8>>,
}

impl Hash {
    pub fn new() -> Hash {
        Hash::default()
    }

    pub fn from_pairs<I: IntoIterator<Item = (Vec<u8>, Vec<u8>)>>(pairs: I, _enc: &Encodings) -> Hash {
        Hash { map: pairs.into_iter().collect() }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// OBJECT ENCODING: "listpack" or "hashtable".
    pub fn encoding(&self) -> &'static str {
        "hashtable"
    }

    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        self.map.get(field).map(|v| v.as_slice())
    }

    /// Set a field; true if it is new.
    pub fn insert(&mut self, field: &[u8], value: &[u8], _enc: &Encodings) -> bool {
        self.map.insert(field.to_vec(), value.to_vec()).is_none()
    }

    pub fn remove(&mut self, field: &[u8]) -> bool {
        self.map.remove(field).is_some()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        self.map.iter().map(|(k, v)| (k.as_slice(), v.as_slice()))
    }

    pub fn heap_size(&self) -> usize {
        self.map.iter().map(|(k, v)| k.capacity() + v.capacity() + 56).sum()
    }
}
