//! List: the value of a list key (types layer). BASELINE: a plain deque; the lists work replaces the inside
//! with Redis's compact `listpack` / scalable `quicklist` encodings, keeping this API.

use super::encodings::Encodings;
use std::collections::VecDeque;

#[derive(Clone, Debug, PartialEq, Default)]
pub struct List {
    items: VecDeque<Vec<u8>>,
}

impl List {
    pub fn new() -> List {
        List::default()
    }

    pub fn from_items<I: IntoIterator<Item = Vec<u8>>>(items: I, _enc: &Encodings) -> List {
        List { items: items.into_iter().collect() }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// OBJECT ENCODING: "listpack" or "quicklist".
    pub fn encoding(&self) -> &'static str {
        "quicklist"
    }

    pub fn push_back(&mut self, v: &[u8], _enc: &Encodings) {
        self.items.push_back(v.to_vec());
    }

    pub fn push_front(&mut self, v: &[u8], _enc: &Encodings) {
        self.items.push_front(v.to_vec());
    }

    pub fn pop_front(&mut self) -> Option<Vec<u8>> {
        self.items.pop_front()
    }

    pub fn pop_back(&mut self) -> Option<Vec<u8>> {
        self.items.pop_back()
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &[u8]> + '_ {
        self.items.iter().map(|v| v.as_slice())
    }

    pub fn heap_size(&self) -> usize {
        self.items.iter().map(|v| v.capacity() + 24).sum()
    }
}
