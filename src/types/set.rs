//! Set: the value of a set key (types layer). BASELINE: a plain hash set; the sets work replaces the inside
//! with Redis 7.0's `intset` / `hashtable` encodings, keeping this API.

use super::encodings::Encodings;
use std::collections::HashSet;

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Set {
    members: HashSet<Vec<u8>>,
}

impl Set {
    pub fn new() -> Set {
        Set::default()
    }

    pub fn from_members<I: IntoIterator<Item = Vec<u8>>>(members: I, _enc: &Encodings) -> Set {
        Set { members: members.into_iter().collect() }
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// OBJECT ENCODING: "intset" or "hashtable" (Redis 7.0).
    pub fn encoding(&self) -> &'static str {
        "hashtable"
    }

    pub fn contains(&self, m: &[u8]) -> bool {
        self.members.contains(m)
    }

    /// Add a member; true if it is new.
    pub fn insert(&mut self, m: &[u8], _enc: &Encodings) -> bool {
        self.members.insert(m.to_vec())
    }

    pub fn remove(&mut self, m: &[u8]) -> bool {
        self.members.remove(m)
    }

    pub fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.members.iter().map(|v| v.as_slice())
    }

    pub fn heap_size(&self) -> usize {
        self.members.iter().map(|v| v.capacity() + 32).sum()
    }
}
