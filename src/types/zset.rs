//! ZSet: the value of a sorted-set key (types layer). BASELINE: an ordered set plus a score map; the sorted
//! sets work replaces the inside with Redis's `listpack` / `skiplist` encodings (O(log N) rank), keeping
//! this API. Scores are never NaN.

use super::encodings::Encodings;
use std::collections::{BTreeSet, HashMap};

/// A score with the total order Redis uses (NaN never stored).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Score(pub f64);
impl Eq for Score {}
impl PartialOrd for Score {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Score {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.0.partial_cmp(&o.0).unwrap_or(std::cmp::Ordering::Equal)
    }
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct ZSet {
    order: BTreeSet<(Score, Vec<u8>)>,
    scores: HashMap<Vec<u8>, f64>,
}

impl ZSet {
    pub fn new() -> ZSet {
        ZSet::default()
    }

    pub fn from_pairs<I: IntoIterator<Item = (Vec<u8>, f64)>>(pairs: I, enc: &Encodings) -> ZSet {
        let mut z = ZSet::new();
        for (m, s) in pairs {
            z.insert(&m, s, enc);
        }
        z
    }

    pub fn len(&self) -> usize {
        self.scores.len()
    }

    pub fn is_empty(&self) -> bool {
        self.scores.is_empty()
    }

    /// OBJECT ENCODING: "listpack" or "skiplist".
    pub fn encoding(&self) -> &'static str {
        "skiplist"
    }

    pub fn score(&self, m: &[u8]) -> Option<f64> {
        self.scores.get(m).copied()
    }

    /// Add or update a member; true if it is new.
    pub fn insert(&mut self, m: &[u8], score: f64, _enc: &Encodings) -> bool {
        match self.scores.insert(m.to_vec(), score) {
            Some(old) => {
                self.order.remove(&(Score(old), m.to_vec()));
                self.order.insert((Score(score), m.to_vec()));
                false
            }
            None => {
                self.order.insert((Score(score), m.to_vec()));
                true
            }
        }
    }

    pub fn remove(&mut self, m: &[u8]) -> bool {
        match self.scores.remove(m) {
            Some(s) => {
                self.order.remove(&(Score(s), m.to_vec()));
                true
            }
            None => false,
        }
    }

    /// Members in (score, member) order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&[u8], f64)> + '_ {
        self.order.iter().map(|(s, m)| (m.as_slice(), s.0))
    }

    /// Members with min <= score <= max, in order.
    pub fn range_by_score(&self, min: f64, max: f64) -> impl DoubleEndedIterator<Item = (&[u8], f64)> + '_ {
        self.iter().filter(move |(_, s)| *s >= min && *s <= max)
    }

    pub fn heap_size(&self) -> usize {
        self.scores.keys().map(|k| 2 * k.capacity() + 64).sum()
    }
}
