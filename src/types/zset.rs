//! ZSet: the value of a sorted-set key (types layer, no actors), in Redis 7.0's two encodings.
//!
//! - `listpack` (while a set has at most `zset-max-listpack-entries` members of at most
//!   `zset-max-listpack-value` bytes): one contiguous, exactly sized buffer of length-prefixed entries in
//!   (score, member) order, like Redis's listpack: a member costs its bytes plus one length byte, and an
//!   integral score 1, 3 or 5 bytes (9 for others). It is walked front to back (at most a few hundred
//!   entries): finding a member, a rank or a score range is a scan, as in Redis. A set of 10 short members
//!   takes 40 bytes (the count sits in the value's 16-byte handle, which the key's entry holds inline).
//! - `skiplist` (larger sets): members live in a slab of (member, score) slots. A hash table of slot numbers
//!   finds a member in O(1); an order-statistic B+ tree of (score, slot) keys, whose inner nodes keep the
//!   size of every child, inserts, deletes, ranks and selects in O(log N) (what Redis's skiplist with spans
//!   does). Free slots are reused; a set that shrinks below a quarter of its slab is rebuilt compactly.
//!
//! Order is Redis's: by score, then by member bytes (memcmp, shorter first). Scores are never NaN; -0 and 0
//! compare equal (an update between them is no change, as in Redis). Conversion is one-way on writes;
//! `from_pairs` (RESTORE, DEBUG RELOAD, the *STORE results) picks the encoding by the final size, as Redis
//! does for the objects it builds whole.

use super::encodings::Encodings;
use super::packbuf::PackBuf;
use hashbrown::HashTable;
use std::cmp::Ordering;
use std::hash::BuildHasher;

/// A score with the total order Redis uses (NaN never stored).
#[derive(Clone, Copy, Debug, PartialEq)]
#[expect(dead_code, reason = "unused since the crate API went pub(crate); kept for the lead to use or remove")]
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

/// (score, member) order.
#[inline]
fn cmp_entry(s1: f64, m1: &[u8], s2: f64, m2: &[u8]) -> Ordering {
    match s1.partial_cmp(&s2) {
        Some(Ordering::Equal) | None => m1.cmp(m2),
        Some(o) => o,
    }
}

/// A listpack never grows past this (Redis's lpSafeToAdd limit, 1 GB): a bigger set converts.
const LISTPACK_MAX_SAFETY_SIZE: usize = 1 << 30;

/// A sorted set.
#[derive(Clone, Default)]
pub struct ZSet {
    repr: Repr,
}

#[derive(Clone)]
enum Repr {
    Pack(Pack),
    Big(Box<Big>),
}

impl Default for Repr {
    fn default() -> Self {
        Repr::Pack(Pack::default())
    }
}

impl ZSet {
    pub fn new() -> ZSet {
        ZSet::default()
    }

    /// Build from pairs in any order (a repeated member keeps its last score; NaN scores are skipped), with
    /// the encoding Redis gives a whole new object of that size.
    pub fn from_pairs<I: IntoIterator<Item = (Vec<u8>, f64)>>(pairs: I, enc: &Encodings) -> ZSet {
        let mut v: Vec<(Vec<u8>, f64)> = pairs.into_iter().filter(|(_, s)| !s.is_nan()).collect();
        // Keep the last score of a repeated member: stable sort by member, then keep each run's last.
        v.sort_by(|a, b| a.0.cmp(&b.0));
        let mut dedup: Vec<(Vec<u8>, f64)> = Vec::with_capacity(v.len());
        for (m, s) in v {
            match dedup.last_mut() {
                Some(last) if last.0 == m => last.1 = s,
                _ => dedup.push((m, s)),
            }
        }
        dedup.sort_by(|a, b| cmp_entry(a.1, &a.0, b.1, &b.0));
        ZSet::from_sorted_unique(dedup, enc)
    }

    /// Build from pairs already in (score, member) order with no repeated member (results of set algebra
    /// and range copies): O(N), encoding chosen by the final size.
    pub fn from_sorted_unique(pairs: Vec<(Vec<u8>, f64)>, enc: &Encodings) -> ZSet {
        let fits = pairs.len() <= enc.zset_max_listpack_entries
            && pairs.iter().all(|(m, _)| m.len() <= enc.zset_max_listpack_value)
            && pairs.iter().map(|(m, _)| m.len()).sum::<usize>() <= LISTPACK_MAX_SAFETY_SIZE;
        let repr =
            if fits { Repr::Pack(Pack::from_sorted(&pairs)) } else { Repr::Big(Box::new(Big::from_sorted(pairs))) };
        ZSet { repr }
    }

    #[inline]
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Pack(p) => p.len(),
            Repr::Big(b) => b.len,
        }
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// OBJECT ENCODING: "listpack" or "skiplist".
    pub fn encoding(&self) -> &'static str {
        match &self.repr {
            Repr::Pack(_) => "listpack",
            Repr::Big(_) => "skiplist",
        }
    }

    /// Is this the compact (`listpack`) encoding?
    pub fn is_compact(&self) -> bool {
        matches!(self.repr, Repr::Pack(_))
    }

    pub fn score(&self, m: &[u8]) -> Option<f64> {
        match &self.repr {
            Repr::Pack(p) => p.find(m).map(|(_, _, s)| s),
            Repr::Big(b) => b.find(m).map(|s| b.slots[s as usize].score),
        }
    }

    pub fn contains(&self, m: &[u8]) -> bool {
        self.score(m).is_some()
    }

    /// Add or update a member; true if it is new. A NaN score is ignored (callers reject NaN first).
    /// Converts to `skiplist` first when a new member would exceed the listpack limits, as zsetAdd does.
    pub fn insert(&mut self, m: &[u8], score: f64, enc: &Encodings) -> bool {
        if score.is_nan() {
            return false;
        }
        if let Repr::Pack(p) = &mut self.repr {
            match p.find(m) {
                Some((_, pos, cur)) => {
                    if cur != score {
                        let next = p.entry(pos).2;
                        p.remove_span(pos, next, 1);
                        p.insert(m, score);
                    }
                    return false;
                }
                None => {
                    if p.len() < enc.zset_max_listpack_entries
                        && m.len() <= enc.zset_max_listpack_value
                        && p.buf.len() + m.len() <= LISTPACK_MAX_SAFETY_SIZE
                    {
                        p.insert(m, score);
                        return true;
                    }
                    self.convert_to_big();
                }
            }
        }
        match &mut self.repr {
            Repr::Big(b) => b.insert(m, score),
            Repr::Pack(_) => false,
        }
    }

    fn convert_to_big(&mut self) {
        if let Repr::Pack(p) = &self.repr {
            let pairs: Vec<(Vec<u8>, f64)> = p.entries().map(|(_, m, s)| (m.to_vec(), s)).collect();
            self.repr = Repr::Big(Box::new(Big::from_sorted(pairs)));
        }
    }

    /// Remove a member; true if it was there.
    pub fn remove(&mut self, m: &[u8]) -> bool {
        self.take(m).is_some()
    }

    /// Remove a member, returning its score.
    pub fn take(&mut self, m: &[u8]) -> Option<f64> {
        match &mut self.repr {
            Repr::Pack(p) => {
                let (_, pos, s) = p.find(m)?;
                let next = p.entry(pos).2;
                p.remove_span(pos, next, 1);
                Some(s)
            }
            Repr::Big(b) => b.remove(m),
        }
    }

    /// 0-based rank of a member in (score, member) order.
    pub fn rank(&self, m: &[u8]) -> Option<usize> {
        match &self.repr {
            Repr::Pack(p) => p.find(m).map(|(i, _, _)| i),
            Repr::Big(b) => {
                let slot = b.find(m)?;
                b.tree.rank(Key { score: b.slots[slot as usize].score, slot }, &b.slots)
            }
        }
    }

    /// The member at a rank.
    pub fn get(&self, rank: usize) -> Option<(&[u8], f64)> {
        if rank >= self.len() {
            return None;
        }
        match &self.repr {
            Repr::Pack(p) => {
                let (m, s, _) = p.entry(p.pos_of(rank));
                Some((m, s))
            }
            Repr::Big(b) => {
                let k = b.tree.select(rank)?;
                Some((&b.slots[k.slot as usize].member, k.score))
            }
        }
    }

    /// Members in (score, member) order.
    pub fn iter(&self) -> ZIter<'_> {
        self.range(0, self.len())
    }

    /// Members with ranks in `start..end` (clamped), in order; iterate backwards for reverse order.
    pub fn range(&self, start: usize, end: usize) -> ZIter<'_> {
        let end = end.min(self.len());
        let start = start.min(end);
        match &self.repr {
            Repr::Pack(p) => {
                ZIter { inner: IterInner::Pack { p, pos: p.pos_of(start), lo: start, hi: end, offs: None } }
            }
            Repr::Big(b) => ZIter { inner: IterInner::Big { big: b, front: None, back: None, lo: start, hi: end } },
        }
    }

    /// Members with min <= score <= max, in order.
    pub fn range_by_score(&self, min: f64, max: f64) -> ZIter<'_> {
        let lo = self.rank_of_score(min, false);
        let hi = self.rank_of_score(max, true);
        self.range(lo, hi.max(lo))
    }

    /// How many members sort before score `v`: those with score < v, or with `past_equal` those <= v.
    pub fn rank_of_score(&self, v: f64, past_equal: bool) -> usize {
        match &self.repr {
            Repr::Pack(p) => {
                if past_equal {
                    p.count_while(|s, _| s <= v)
                } else {
                    p.count_while(|s, _| s < v)
                }
            }
            Repr::Big(b) => {
                if past_equal {
                    b.tree.count_before(&|s, _| s <= v)
                } else {
                    b.tree.count_before(&|s, _| s < v)
                }
            }
        }
    }

    /// How many members sort before member `m` lexicographically (meaningful when all scores are equal, as
    /// for Redis's *BYLEX commands): those < m, or with `past_equal` those <= m.
    pub fn rank_of_lex(&self, m: &[u8], past_equal: bool) -> usize {
        match &self.repr {
            Repr::Pack(p) => {
                if past_equal {
                    p.count_while(|_, x| x <= m)
                } else {
                    p.count_while(|_, x| x < m)
                }
            }
            Repr::Big(b) => {
                let slots = &b.slots;
                if past_equal {
                    b.tree.count_before(&|_, s| &*slots[s as usize].member <= m)
                } else {
                    b.tree.count_before(&|_, s| &*slots[s as usize].member < m)
                }
            }
        }
    }

    /// Remove and return the member with the lowest (or, with `max`, highest) score.
    pub fn pop(&mut self, max: bool) -> Option<(Vec<u8>, f64)> {
        let n = self.len();
        if n == 0 {
            return None;
        }
        let rank = if max { n - 1 } else { 0 };
        match &mut self.repr {
            Repr::Pack(p) => {
                let pos = p.pos_of(rank);
                let (m, s, next) = p.entry(pos);
                let out = (m.to_vec(), s);
                p.remove_span(pos, next, 1);
                Some(out)
            }
            Repr::Big(b) => b.remove_rank(rank),
        }
    }

    /// Remove and return up to `count` members from the low end (or, with `max`, the high end), in pop order.
    pub fn pop_n(&mut self, max: bool, count: usize) -> Vec<(Vec<u8>, f64)> {
        let n = self.len();
        let k = count.min(n);
        if let Repr::Pack(p) = &mut self.repr {
            let from = p.pos_of(if max { n - k } else { 0 });
            let mut to = from;
            let mut v: Vec<(Vec<u8>, f64)> = Vec::with_capacity(k);
            for (_, m, s) in (PackEntries { p, pos: from }).take(k) {
                v.push((m.to_vec(), s));
            }
            if k > 0 {
                to = if max { p.end() } else { p.pos_of(k) };
            }
            if max {
                v.reverse();
            }
            if k > 0 {
                p.remove_span(from, to, k);
            }
            return v;
        }
        (0..k).filter_map(|_| self.pop(max)).collect()
    }

    /// Remove the members with ranks in `start..end` (clamped); returns how many were removed.
    pub fn remove_range(&mut self, start: usize, end: usize) -> usize {
        let end = end.min(self.len());
        if start >= end {
            return 0;
        }
        match &mut self.repr {
            Repr::Pack(p) => {
                let (from, to) = (p.pos_of(start), p.pos_of(end));
                p.remove_span(from, to, end - start);
                end - start
            }
            Repr::Big(b) => {
                let victims: Vec<Vec<u8>> = {
                    let it = ZIter { inner: IterInner::Big { big: b, front: None, back: None, lo: start, hi: end } };
                    it.map(|(m, _)| m.to_vec()).collect()
                };
                for m in &victims {
                    b.remove(m);
                }
                victims.len()
            }
        }
    }

    /// A uniformly random member (None when empty).
    pub fn random(&self) -> Option<(&[u8], f64)> {
        let n = self.len();
        if n == 0 {
            return None;
        }
        self.get(super::rng::below(n))
    }

    /// One step of ZSCAN: calls `f` for some members from `cursor` on and returns the next cursor (0 when
    /// done). The listpack encoding is returned whole in one call, as Redis does. The skiplist encoding walks
    /// its slab: a member present for the whole scan keeps its slot, so it is returned (unless the set shrinks
    /// enough meanwhile to be rebuilt).
    pub fn scan<'a>(&'a self, cursor: u64, count: usize, mut f: impl FnMut(&'a [u8], f64)) -> u64 {
        match &self.repr {
            Repr::Pack(p) => {
                for (_, m, s) in p.entries() {
                    f(m, s);
                }
                0
            }
            Repr::Big(b) => {
                let n = b.slots.len() as u64;
                let mut i = cursor;
                let mut found = 0;
                while i < n && found < count.max(1) {
                    let s = &b.slots[i as usize];
                    if !s.score.is_nan() {
                        f(&s.member, s.score);
                        found += 1;
                    }
                    i += 1;
                }
                if i >= n {
                    0
                } else {
                    i
                }
            }
        }
    }

    /// Heap bytes owned (approximate, for MEMORY USAGE).
    pub fn heap_size(&self) -> usize {
        match &self.repr {
            Repr::Pack(p) => p.buf.len(),
            Repr::Big(b) => b.heap_size() + std::mem::size_of::<Big>(),
        }
    }
}

impl PartialEq for ZSet {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().zip(other.iter()).all(|(a, b)| a.0 == b.0 && a.1 == b.1)
    }
}

impl std::fmt::Debug for ZSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ZSet({}) ", self.encoding())?;
        f.debug_list().entries(self.iter().map(|(m, s)| (String::from_utf8_lossy(m), s))).finish()
    }
}

// ---------------------------------------------------------------------------------------------------------
// listpack: [entry]... with entry = [member length, LEB128][member][score] in one exact-size block (no block
// when empty); the entry count sits in the 16-byte handle (`PackBuf::count`), which the key's value holds inline.
// A score is one byte for integers -120..=119, a tag byte and 2 or 4 bytes for other 32-bit integers, a tag
// byte and 8 bytes otherwise (fractions, infinities, large values). Like Redis's listpack, which stores
// integral scores as integers, it keeps no sign on zero: -0 reads back as 0 (the skiplist keeps -0).

#[derive(Clone, Default)]
struct Pack {
    buf: PackBuf,
}

const TAG_I16: u8 = 0xF0;
const TAG_I32: u8 = 0xF1;
const TAG_F64: u8 = 0xF2;

/// Append one encoded entry.
fn encode_entry(out: &mut Vec<u8>, m: &[u8], score: f64) {
    let mut l = m.len();
    loop {
        let b = (l & 0x7f) as u8;
        l >>= 7;
        if l == 0 {
            out.push(b);
            break;
        }
        out.push(b | 0x80);
    }
    out.extend_from_slice(m);
    // Integers are stored as integers, so -0 reads back as 0 (Redis's listpack does the same).
    let int = score.trunc() == score && score.abs() < 2147483648.0;
    if int {
        let i = score as i64;
        if (-120..120).contains(&i) {
            out.push((i + 120) as u8);
        } else if let Ok(v) = i16::try_from(i) {
            out.push(TAG_I16);
            out.extend_from_slice(&v.to_le_bytes());
        } else {
            out.push(TAG_I32);
            out.extend_from_slice(&(i as i32).to_le_bytes());
        }
    } else {
        out.push(TAG_F64);
        out.extend_from_slice(&score.to_le_bytes());
    }
}

impl Pack {
    fn from_sorted(pairs: &[(Vec<u8>, f64)]) -> Pack {
        if pairs.is_empty() {
            return Pack::default();
        }
        let mut buf = Vec::with_capacity(pairs.iter().map(|(m, _)| m.len() + 3).sum::<usize>());
        for (m, s) in pairs {
            encode_entry(&mut buf, m, *s);
        }
        // The callers keep a listpack far below 4G entries (LISTPACK_MAX_SAFETY_SIZE).
        Pack { buf: PackBuf::from_slice(&buf, pairs.len() as u32) }
    }

    #[inline]
    fn len(&self) -> usize {
        self.buf.count as usize
    }

    /// Position just past the last entry.
    #[inline]
    fn end(&self) -> usize {
        self.buf.len()
    }

    /// The entry at byte position `pos`: (member, score, position of the next entry).
    #[inline]
    fn entry(&self, mut pos: usize) -> (&[u8], f64, usize) {
        let b = &self.buf;
        let mut l = 0usize;
        let mut shift = 0;
        loop {
            let c = b[pos];
            pos += 1;
            l |= ((c & 0x7f) as usize) << shift;
            if c & 0x80 == 0 {
                break;
            }
            shift += 7;
        }
        let m = &b[pos..pos + l];
        pos += l;
        let tag = b[pos];
        let (score, n) = match tag {
            TAG_I16 => (i16::from_le_bytes([b[pos + 1], b[pos + 2]]) as f64, 3),
            TAG_I32 => (i32::from_le_bytes([b[pos + 1], b[pos + 2], b[pos + 3], b[pos + 4]]) as f64, 5),
            TAG_F64 => {
                let mut x = [0u8; 8];
                x.copy_from_slice(&b[pos + 1..pos + 9]);
                (f64::from_le_bytes(x), 9)
            }
            small => (small as f64 - 120.0, 1),
        };
        (m, score, pos + n)
    }

    /// Entries from the start: (position, member, score).
    fn entries(&self) -> PackEntries<'_> {
        PackEntries { p: self, pos: 0 }
    }

    /// (index, position, score) of a member.
    fn find(&self, m: &[u8]) -> Option<(usize, usize, f64)> {
        self.entries().enumerate().find(|(_, (_, x, _))| *x == m).map(|(i, (pos, _, s))| (i, pos, s))
    }

    /// Byte position of entry `idx` (the end for idx >= len).
    fn pos_of(&self, idx: usize) -> usize {
        self.entries().nth(idx).map_or(self.end(), |(pos, _, _)| pos)
    }

    /// Number of leading entries for which `pred(score, member)` holds (pred must hold for a prefix).
    fn count_while(&self, pred: impl Fn(f64, &[u8]) -> bool) -> usize {
        self.entries().take_while(|(_, m, s)| pred(*s, m)).count()
    }

    /// Insert an absent member at its place in the order.
    fn insert(&mut self, m: &[u8], score: f64) {
        let at = self
            .entries()
            .find(|(_, x, s)| cmp_entry(*s, x, score, m) == Ordering::Greater)
            .map_or(self.end(), |(pos, _, _)| pos);
        let mut e = Vec::with_capacity(m.len() + 12);
        encode_entry(&mut e, m, score);
        self.buf.splice(at, at, &e);
        self.buf.count += 1;
    }

    /// Remove the `k` entries in the bytes `from..to`.
    fn remove_span(&mut self, from: usize, to: usize, k: usize) {
        let n = self.len() - k;
        if n == 0 {
            self.buf.clear();
            return;
        }
        self.buf.splice(from, to, &[]);
        self.buf.count = n as u32;
    }
}

/// Iterator over a listpack's entries as (position, member, score).
struct PackEntries<'a> {
    p: &'a Pack,
    pos: usize,
}

impl<'a> Iterator for PackEntries<'a> {
    type Item = (usize, &'a [u8], f64);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.p.buf.len() {
            return None;
        }
        let at = self.pos;
        let (m, s, next) = self.p.entry(at);
        self.pos = next;
        Some((at, m, s))
    }
}

// ---------------------------------------------------------------------------------------------------------
// skiplist: slab + hash index + counted B+ tree

#[derive(Clone, Default)]
struct Slot {
    member: Box<[u8]>,
    /// NaN marks a free slot.
    score: f64,
}

/// A tree key: the score (for fast comparisons) and the slot holding the member (for ties).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Key {
    score: f64,
    slot: u32,
}

#[inline]
fn key_less(a: Key, b: Key, slots: &[Slot]) -> bool {
    if a.score < b.score {
        return true;
    }
    if a.score > b.score || a.slot == b.slot {
        return false;
    }
    slots[a.slot as usize].member < slots[b.slot as usize].member
}

type ZHasher = foldhash::fast::RandomState;

#[derive(Clone)]
struct Big {
    slots: Vec<Slot>,
    free: Vec<u32>,
    index: HashTable<u32>,
    hasher: ZHasher,
    tree: Tree,
    len: usize,
    member_bytes: usize,
}

impl Big {
    fn from_sorted(pairs: Vec<(Vec<u8>, f64)>) -> Big {
        let hasher = ZHasher::default();
        let n = pairs.len();
        let mut slots = Vec::with_capacity(n);
        let mut member_bytes = 0;
        for (m, s) in pairs {
            member_bytes += m.len();
            slots.push(Slot { member: m.into_boxed_slice(), score: s });
        }
        let mut index = HashTable::with_capacity(n);
        for (i, s) in slots.iter().enumerate() {
            let h = hasher.hash_one(&*s.member);
            index.insert_unique(h, i as u32, |&x| hasher.hash_one(&*slots[x as usize].member));
        }
        let keys: Vec<Key> = slots.iter().enumerate().map(|(i, s)| Key { score: s.score, slot: i as u32 }).collect();
        let tree = Tree::bulk(&keys);
        Big { slots, free: Vec::new(), index, hasher, tree, len: n, member_bytes }
    }

    #[inline]
    fn hash(&self, m: &[u8]) -> u64 {
        self.hasher.hash_one(m)
    }

    fn find(&self, m: &[u8]) -> Option<u32> {
        let h = self.hash(m);
        let slots = &self.slots;
        self.index.find(h, |&s| &*slots[s as usize].member == m).copied()
    }

    fn insert(&mut self, m: &[u8], score: f64) -> bool {
        if let Some(slot) = self.find(m) {
            let old = self.slots[slot as usize].score;
            if old != score {
                self.tree.remove(Key { score: old, slot }, &self.slots);
                self.slots[slot as usize].score = score;
                self.tree.insert(Key { score, slot }, &self.slots);
            }
            return false;
        }
        let new = Slot { member: m.into(), score };
        let slot = match self.free.pop() {
            Some(s) => {
                self.slots[s as usize] = new;
                s
            }
            None => {
                self.slots.push(new);
                (self.slots.len() - 1) as u32
            }
        };
        let h = self.hash(m);
        let (slots, hasher) = (&self.slots, &self.hasher);
        self.index.insert_unique(h, slot, |&x| hasher.hash_one(&*slots[x as usize].member));
        self.tree.insert(Key { score, slot }, &self.slots);
        self.len += 1;
        self.member_bytes += m.len();
        true
    }

    /// Forget a slot already removed from the tree; returns its member.
    fn release(&mut self, slot: u32) -> Vec<u8> {
        let h = self.hash(&self.slots[slot as usize].member);
        if let Ok(e) = self.index.find_entry(h, |&s| s == slot) {
            e.remove();
        }
        let s = std::mem::take(&mut self.slots[slot as usize]);
        self.slots[slot as usize].score = f64::NAN;
        self.free.push(slot);
        self.len -= 1;
        self.member_bytes -= s.member.len();
        s.member.into_vec()
    }

    fn remove(&mut self, m: &[u8]) -> Option<f64> {
        let slot = self.find(m)?;
        let score = self.slots[slot as usize].score;
        self.tree.remove(Key { score, slot }, &self.slots);
        self.release(slot);
        self.maybe_compact();
        Some(score)
    }

    fn remove_rank(&mut self, rank: usize) -> Option<(Vec<u8>, f64)> {
        let k = self.tree.select(rank)?;
        self.tree.remove(k, &self.slots);
        let m = self.release(k.slot);
        self.maybe_compact();
        Some((m, k.score))
    }

    /// Rebuild when most of the slab is free (also shrinks the hash table and refills the tree's nodes).
    fn maybe_compact(&mut self) {
        if self.slots.len() >= 256 && self.len < self.slots.len() / 4 {
            let pairs: Vec<(Vec<u8>, f64)> = {
                let it = ZIter { inner: IterInner::Big { big: self, front: None, back: None, lo: 0, hi: self.len } };
                it.map(|(m, s)| (m.to_vec(), s)).collect()
            };
            *self = Big::from_sorted(pairs);
        }
    }

    fn heap_size(&self) -> usize {
        self.slots.capacity() * std::mem::size_of::<Slot>()
            + self.member_bytes
            + self.free.capacity() * 4
            + self.index.capacity() * 5
            + self.len * 14
    }
}

// Counted B+ tree. Inner nodes hold, for every child, its smallest key (exact, refreshed on change) and its
// number of keys. Non-root nodes keep between MIN and MAX entries.

const LEAF_MAX: usize = 64;
const INNER_MAX: usize = 64;
const NODE_MIN: usize = 16;
/// Fill of bulk-loaded nodes.
const BULK_FILL: usize = 48;

#[derive(Clone, Default)]
struct Leaf {
    scores: Vec<f64>,
    slots: Vec<u32>,
}

#[derive(Clone, Default)]
struct Inner {
    /// Smallest key of each child.
    scores: Vec<f64>,
    slots: Vec<u32>,
    counts: Vec<usize>,
    children: Vec<Node>,
}

#[derive(Clone)]
enum Node {
    Leaf(Leaf),
    Inner(Inner),
}

#[derive(Clone)]
struct Tree {
    root: Node,
}

impl Leaf {
    #[inline]
    fn key(&self, i: usize) -> Key {
        Key { score: self.scores[i], slot: self.slots[i] }
    }

    /// First position whose key is not less than `k`.
    fn lower_bound(&self, k: Key, slots: &[Slot]) -> usize {
        let (mut lo, mut hi) = (0, self.scores.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            if key_less(self.key(mid), k, slots) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }
}

impl Inner {
    #[inline]
    fn key(&self, i: usize) -> Key {
        Key { score: self.scores[i], slot: self.slots[i] }
    }

    /// The child whose range holds `k`: the last one whose smallest key is <= k (the first if none).
    fn route(&self, k: Key, slots: &[Slot]) -> usize {
        let (mut lo, mut hi) = (0, self.scores.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            if !key_less(k, self.key(mid), slots) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo.saturating_sub(1)
    }

    fn insert_child(&mut self, at: usize, child: Node) {
        let k = child.first_key();
        self.scores.insert(at, k.score);
        self.slots.insert(at, k.slot);
        self.counts.insert(at, child.count());
        self.children.insert(at, child);
    }

    fn remove_child(&mut self, at: usize) -> Node {
        self.scores.remove(at);
        self.slots.remove(at);
        self.counts.remove(at);
        self.children.remove(at)
    }

    fn refresh(&mut self, i: usize) {
        let k = self.children[i].first_key();
        self.scores[i] = k.score;
        self.slots[i] = k.slot;
        self.counts[i] = self.children[i].count();
    }

    fn split_off(&mut self, at: usize) -> Inner {
        Inner {
            scores: self.scores.split_off(at),
            slots: self.slots.split_off(at),
            counts: self.counts.split_off(at),
            children: self.children.split_off(at),
        }
    }

    /// Child `i` fell below the minimum: merge it with a neighbour, splitting again evenly if too big.
    fn rebalance(&mut self, i: usize) {
        if self.children.len() < 2 {
            return;
        }
        let a = if i + 1 < self.children.len() { i } else { i - 1 };
        let right = self.remove_child(a + 1);
        let max = match (&mut self.children[a], right) {
            (Node::Leaf(l), Node::Leaf(r)) => {
                l.scores.extend_from_slice(&r.scores);
                l.slots.extend_from_slice(&r.slots);
                LEAF_MAX
            }
            (Node::Inner(l), Node::Inner(r)) => {
                l.scores.extend(r.scores);
                l.slots.extend(r.slots);
                l.counts.extend(r.counts);
                l.children.extend(r.children);
                INNER_MAX
            }
            // Siblings always have the same height; keep the data if that were ever not so.
            (_, r) => {
                self.insert_child(a + 1, r);
                self.refresh(a);
                return;
            }
        };
        let size = self.children[a].size();
        if size > max {
            let half = size / 2;
            let r = match &mut self.children[a] {
                Node::Leaf(l) => Node::Leaf(Leaf { scores: l.scores.split_off(half), slots: l.slots.split_off(half) }),
                Node::Inner(l) => Node::Inner(l.split_off(half)),
            };
            self.insert_child(a + 1, r);
        }
        if self.children[a].size() == 0 {
            self.remove_child(a);
        } else {
            self.refresh(a);
        }
    }
}

impl Node {
    /// Entries (keys of a leaf, children of an inner node).
    fn size(&self) -> usize {
        match self {
            Node::Leaf(l) => l.scores.len(),
            Node::Inner(n) => n.children.len(),
        }
    }

    fn count(&self) -> usize {
        match self {
            Node::Leaf(l) => l.scores.len(),
            Node::Inner(n) => n.counts.iter().sum(),
        }
    }

    /// Smallest key (the node must not be empty).
    fn first_key(&self) -> Key {
        match self {
            Node::Leaf(l) => l.key(0),
            Node::Inner(n) => n.key(0),
        }
    }

    /// Insert a key known to be absent; returns the new right sibling when the node split.
    fn insert(&mut self, k: Key, slots: &[Slot]) -> Option<Node> {
        match self {
            Node::Leaf(l) => {
                let pos = l.lower_bound(k, slots);
                l.scores.insert(pos, k.score);
                l.slots.insert(pos, k.slot);
                if l.scores.len() > LEAF_MAX {
                    let half = l.scores.len() / 2;
                    return Some(Node::Leaf(Leaf { scores: l.scores.split_off(half), slots: l.slots.split_off(half) }));
                }
                None
            }
            Node::Inner(n) => {
                let i = n.route(k, slots);
                let split = n.children[i].insert(k, slots);
                n.counts[i] += 1;
                if i == 0 && key_less(k, n.key(0), slots) {
                    n.scores[0] = k.score;
                    n.slots[0] = k.slot;
                }
                if let Some(right) = split {
                    n.counts[i] -= right.count();
                    n.insert_child(i + 1, right);
                    if n.children.len() > INNER_MAX {
                        let half = n.children.len() / 2;
                        return Some(Node::Inner(n.split_off(half)));
                    }
                }
                None
            }
        }
    }

    fn remove(&mut self, k: Key, slots: &[Slot]) -> bool {
        match self {
            Node::Leaf(l) => {
                let pos = l.lower_bound(k, slots);
                if pos < l.slots.len() && l.slots[pos] == k.slot {
                    l.scores.remove(pos);
                    l.slots.remove(pos);
                    true
                } else {
                    false
                }
            }
            Node::Inner(n) => {
                let i = n.route(k, slots);
                if !n.children[i].remove(k, slots) {
                    return false;
                }
                n.counts[i] -= 1;
                if n.children[i].size() < NODE_MIN && n.children.len() > 1 {
                    n.rebalance(i);
                } else if n.counts[i] == 0 {
                    n.remove_child(i);
                } else {
                    let f = n.children[i].first_key();
                    n.scores[i] = f.score;
                    n.slots[i] = f.slot;
                }
                true
            }
        }
    }
}

impl Tree {
    fn bulk(keys: &[Key]) -> Tree {
        if keys.len() <= LEAF_MAX {
            let leaf =
                Leaf { scores: keys.iter().map(|k| k.score).collect(), slots: keys.iter().map(|k| k.slot).collect() };
            return Tree { root: Node::Leaf(leaf) };
        }
        let mut level: Vec<Node> = chunks_even(keys.len(), BULK_FILL)
            .map(|(a, b)| {
                let ks = &keys[a..b];
                Node::Leaf(Leaf {
                    scores: ks.iter().map(|k| k.score).collect(),
                    slots: ks.iter().map(|k| k.slot).collect(),
                })
            })
            .collect();
        while level.len() > 1 {
            let n = level.len();
            let mut next = Vec::new();
            let mut it = level.into_iter();
            for (a, b) in chunks_even(n, BULK_FILL) {
                let mut inner = Inner::default();
                for _ in a..b {
                    if let Some(c) = it.next() {
                        let at = inner.children.len();
                        inner.insert_child(at, c);
                    }
                }
                next.push(Node::Inner(inner));
            }
            level = next;
        }
        Tree { root: level.pop().unwrap_or(Node::Leaf(Leaf::default())) }
    }

    fn insert(&mut self, k: Key, slots: &[Slot]) {
        if let Some(right) = self.root.insert(k, slots) {
            let left = std::mem::replace(&mut self.root, Node::Leaf(Leaf::default()));
            let mut inner = Inner::default();
            inner.insert_child(0, left);
            inner.insert_child(1, right);
            self.root = Node::Inner(inner);
        }
    }

    fn remove(&mut self, k: Key, slots: &[Slot]) -> bool {
        let found = self.root.remove(k, slots);
        loop {
            match &mut self.root {
                Node::Inner(n) if n.children.len() == 1 => {
                    let child = n.children.pop().unwrap_or(Node::Leaf(Leaf::default()));
                    self.root = child;
                }
                Node::Inner(n) if n.children.is_empty() => self.root = Node::Leaf(Leaf::default()),
                _ => break,
            }
        }
        found
    }

    fn rank(&self, k: Key, slots: &[Slot]) -> Option<usize> {
        let mut node = &self.root;
        let mut rank = 0;
        loop {
            match node {
                Node::Leaf(l) => {
                    let pos = l.lower_bound(k, slots);
                    return (pos < l.slots.len() && l.slots[pos] == k.slot).then_some(rank + pos);
                }
                Node::Inner(n) => {
                    let i = n.route(k, slots);
                    rank += n.counts[..i].iter().sum::<usize>();
                    node = &n.children[i];
                }
            }
        }
    }

    fn select(&self, mut rank: usize) -> Option<Key> {
        let mut node = &self.root;
        loop {
            match node {
                Node::Leaf(l) => return (rank < l.scores.len()).then(|| l.key(rank)),
                Node::Inner(n) => {
                    let mut i = 0;
                    while i < n.counts.len() && rank >= n.counts[i] {
                        rank -= n.counts[i];
                        i += 1;
                    }
                    if i == n.children.len() {
                        return None;
                    }
                    node = &n.children[i];
                }
            }
        }
    }

    /// Number of leading keys for which `pred(score, slot)` holds (it must hold for a prefix).
    fn count_before(&self, pred: &dyn Fn(f64, u32) -> bool) -> usize {
        let mut node = &self.root;
        let mut rank = 0;
        loop {
            match node {
                Node::Leaf(l) => {
                    let (mut lo, mut hi) = (0, l.scores.len());
                    while lo < hi {
                        let mid = (lo + hi) / 2;
                        if pred(l.scores[mid], l.slots[mid]) {
                            lo = mid + 1;
                        } else {
                            hi = mid;
                        }
                    }
                    return rank + lo;
                }
                Node::Inner(n) => {
                    let (mut lo, mut hi) = (0, n.scores.len());
                    while lo < hi {
                        let mid = (lo + hi) / 2;
                        if pred(n.scores[mid], n.slots[mid]) {
                            lo = mid + 1;
                        } else {
                            hi = mid;
                        }
                    }
                    if lo == 0 {
                        return rank;
                    }
                    let i = lo - 1;
                    rank += n.counts[..i].iter().sum::<usize>();
                    node = &n.children[i];
                }
            }
        }
    }
}

/// Split `0..n` into ranges of about `fill` (all within one of each other in size).
fn chunks_even(n: usize, fill: usize) -> impl Iterator<Item = (usize, usize)> {
    let parts = n.div_ceil(fill).max(1);
    (0..parts).map(move |p| (p * n / parts, (p + 1) * n / parts))
}

/// A position in the tree: the inner nodes on the way down (with the child taken) and the leaf slot.
struct Cursor<'a> {
    path: Vec<(&'a Inner, usize)>,
    leaf: &'a Leaf,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn seek(tree: &'a Tree, mut rank: usize) -> Cursor<'a> {
        let mut path = Vec::new();
        let mut node = &tree.root;
        loop {
            match node {
                Node::Leaf(l) => return Cursor { path, leaf: l, pos: rank },
                Node::Inner(n) => {
                    let mut i = 0;
                    while i + 1 < n.counts.len() && rank >= n.counts[i] {
                        rank -= n.counts[i];
                        i += 1;
                    }
                    path.push((n, i));
                    node = &n.children[i];
                }
            }
        }
    }

    #[inline]
    fn key(&self) -> Option<Key> {
        (self.pos < self.leaf.scores.len()).then(|| self.leaf.key(self.pos))
    }

    fn next(&mut self) {
        self.pos += 1;
        while self.pos >= self.leaf.scores.len() {
            // Climb to the first ancestor with a child to the right, then take its leftmost leaf.
            loop {
                let Some((n, i)) = self.path.last_mut() else { return };
                if *i + 1 < n.children.len() {
                    *i += 1;
                    let mut node = &n.children[*i];
                    loop {
                        match node {
                            Node::Leaf(l) => {
                                self.leaf = l;
                                self.pos = 0;
                                break;
                            }
                            Node::Inner(m) => {
                                self.path.push((m, 0));
                                node = &m.children[0];
                            }
                        }
                    }
                    break;
                }
                self.path.pop();
            }
        }
    }

    fn prev(&mut self) {
        while self.pos == 0 {
            loop {
                let Some((n, i)) = self.path.last_mut() else {
                    // Before the first key: park past the end so that `key` is None.
                    self.pos = usize::MAX;
                    return;
                };
                if *i > 0 {
                    *i -= 1;
                    let mut node = &n.children[*i];
                    loop {
                        match node {
                            Node::Leaf(l) => {
                                self.leaf = l;
                                self.pos = l.scores.len();
                                break;
                            }
                            Node::Inner(m) => {
                                let last = m.children.len().saturating_sub(1);
                                self.path.push((m, last));
                                node = &m.children[last];
                            }
                        }
                    }
                    break;
                }
                self.path.pop();
            }
        }
        self.pos -= 1;
    }
}

/// Iterator over a rank range, in (score, member) order; double-ended and exact-size.
pub struct ZIter<'a> {
    inner: IterInner<'a>,
}

enum IterInner<'a> {
    /// `pos`: byte position of entry `lo`; `offs`: positions of entries 0..hi, made for backward steps.
    Pack {
        p: &'a Pack,
        pos: usize,
        lo: usize,
        hi: usize,
        offs: Option<Vec<u32>>,
    },
    Big {
        big: &'a Big,
        front: Option<Cursor<'a>>,
        back: Option<Cursor<'a>>,
        lo: usize,
        hi: usize,
    },
}

impl<'a> Iterator for ZIter<'a> {
    type Item = (&'a [u8], f64);

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.inner {
            IterInner::Pack { p, pos, lo, hi, .. } => {
                if lo >= hi {
                    return None;
                }
                let (m, s, next) = p.entry(*pos);
                *pos = next;
                *lo += 1;
                Some((m, s))
            }
            IterInner::Big { big, front, lo, hi, .. } => {
                if lo >= hi {
                    return None;
                }
                let c = match front {
                    Some(c) => {
                        c.next();
                        c
                    }
                    None => front.insert(Cursor::seek(&big.tree, *lo)),
                };
                *lo += 1;
                let k = c.key()?;
                Some((&big.slots[k.slot as usize].member, k.score))
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = match &self.inner {
            IterInner::Pack { lo, hi, .. } | IterInner::Big { lo, hi, .. } => hi.saturating_sub(*lo),
        };
        (n, Some(n))
    }
}

impl DoubleEndedIterator for ZIter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        match &mut self.inner {
            IterInner::Pack { p, lo, hi, offs, .. } => {
                if lo >= hi {
                    return None;
                }
                let offs = offs.get_or_insert_with(|| p.entries().take(*hi).map(|(pos, _, _)| pos as u32).collect());
                *hi -= 1;
                let (m, s, _) = p.entry(*offs.get(*hi)? as usize);
                Some((m, s))
            }
            IterInner::Big { big, back, lo, hi, .. } => {
                if lo >= hi {
                    return None;
                }
                let c = match back {
                    Some(c) => {
                        c.prev();
                        c
                    }
                    None => back.insert(Cursor::seek(&big.tree, *hi - 1)),
                };
                *hi -= 1;
                let k = c.key()?;
                Some((&big.slots[k.slot as usize].member, k.score))
            }
        }
    }
}

impl ExactSizeIterator for ZIter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn enc(entries: usize, value: usize) -> Encodings {
        Encodings { zset_max_listpack_entries: entries, zset_max_listpack_value: value, ..Default::default() }
    }

    /// A tiny deterministic generator for the model tests.
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            self.0 >> 33
        }
    }

    fn check_against(z: &ZSet, model: &BTreeMap<Vec<u8>, f64>) {
        assert_eq!(z.len(), model.len());
        let mut want: Vec<(Vec<u8>, f64)> = model.iter().map(|(m, s)| (m.clone(), *s)).collect();
        want.sort_by(|a, b| cmp_entry(a.1, &a.0, b.1, &b.0));
        let got: Vec<(Vec<u8>, f64)> = z.iter().map(|(m, s)| (m.to_vec(), s)).collect();
        assert_eq!(got, want);
        let mut rev: Vec<(Vec<u8>, f64)> = z.iter().rev().map(|(m, s)| (m.to_vec(), s)).collect();
        rev.reverse();
        assert_eq!(rev, want);
        for (i, (m, s)) in want.iter().enumerate() {
            assert_eq!(z.rank(m), Some(i));
            assert_eq!(z.score(m), Some(*s));
            assert_eq!(z.get(i).map(|(m, s)| (m.to_vec(), s)), Some((m.clone(), *s)));
        }
    }

    fn model_run(e: Encodings, ops: usize, keyspace: u64, seed: u64) {
        let mut z = ZSet::new();
        let mut model: BTreeMap<Vec<u8>, f64> = BTreeMap::new();
        let mut r = Lcg(seed);
        for step in 0..ops {
            let m = format!("m{}", r.next() % keyspace).into_bytes();
            match r.next() % 10 {
                0..=5 => {
                    let s = (r.next() % 20) as f64;
                    assert_eq!(z.insert(&m, s, &e), !model.contains_key(&m));
                    model.insert(m, s);
                }
                6 | 7 => assert_eq!(z.remove(&m), model.remove(&m).is_some()),
                8 => {
                    let max = r.next().is_multiple_of(2);
                    let got = z.pop(max);
                    let mut all: Vec<(Vec<u8>, f64)> = model.iter().map(|(m, s)| (m.clone(), *s)).collect();
                    all.sort_by(|a, b| cmp_entry(a.1, &a.0, b.1, &b.0));
                    let want = if max { all.pop() } else { all.into_iter().next() };
                    if let Some((m, _)) = &want {
                        model.remove(m);
                    }
                    assert_eq!(got, want);
                }
                _ => {
                    let n = z.len();
                    if n > 0 {
                        let a = (r.next() as usize) % n;
                        let b = a + (r.next() as usize) % 5;
                        let victims: Vec<Vec<u8>> = z.range(a, b).map(|(m, _)| m.to_vec()).collect();
                        assert_eq!(z.remove_range(a, b), victims.len());
                        for v in victims {
                            model.remove(&v);
                        }
                    }
                }
            }
            if step % 97 == 0 {
                check_against(&z, &model);
            }
        }
        check_against(&z, &model);
    }

    #[test]
    fn listpack_model() {
        model_run(enc(1_000_000, 64), 3000, 60, 1);
    }

    #[test]
    fn skiplist_model_small_and_large() {
        model_run(enc(0, 0), 4000, 50, 2);
        model_run(enc(0, 0), 30000, 5000, 3);
        model_run(enc(16, 64), 20000, 3000, 4);
    }

    #[test]
    fn encodings_switch_one_way() {
        let e = enc(3, 5);
        let mut z = ZSet::new();
        assert_eq!(z.encoding(), "listpack");
        for m in ["a", "b", "c"] {
            z.insert(m.as_bytes(), 1.0, &e);
        }
        assert_eq!(z.encoding(), "listpack");
        z.insert(b"d", 1.0, &e);
        assert_eq!(z.encoding(), "skiplist");
        z.remove(b"d");
        z.remove(b"c");
        assert_eq!(z.encoding(), "skiplist");
        let mut z = ZSet::new();
        z.insert(b"abcdef", 1.0, &e);
        assert_eq!(z.encoding(), "skiplist");
        let z = ZSet::from_pairs(vec![(b"x".to_vec(), 1.0), (b"y".to_vec(), 2.0)], &e);
        assert_eq!(z.encoding(), "listpack");
        let z = ZSet::from_pairs((0..4).map(|i| (vec![b'a' + i], 1.0)), &e);
        assert_eq!(z.encoding(), "skiplist");
        assert_eq!(ZSet::from_pairs(vec![], &enc(0, 0)).encoding(), "listpack");
    }

    #[test]
    fn ranges_by_score_and_lex() {
        for e in [enc(128, 64), enc(0, 0)] {
            let z = ZSet::from_pairs((0..200).map(|i| (format!("{i:03}").into_bytes(), (i / 10) as f64)), &e);
            assert_eq!(z.rank_of_score(3.0, false), 30);
            assert_eq!(z.rank_of_score(3.0, true), 40);
            assert_eq!(z.range_by_score(3.0, 4.0).count(), 20);
            assert_eq!(z.range_by_score(5.0, 4.0).count(), 0);
            let same = ZSet::from_pairs((0..200).map(|i| (format!("{i:03}").into_bytes(), 0.0)), &e);
            assert_eq!(same.rank_of_lex(b"050", false), 50);
            assert_eq!(same.rank_of_lex(b"050", true), 51);
            assert_eq!(same.rank_of_lex(b"0505", false), 51);
        }
    }

    #[test]
    fn from_pairs_keeps_last_of_repeats_and_equality_ignores_encoding() {
        let z = ZSet::from_pairs(vec![(b"a".to_vec(), 1.0), (b"a".to_vec(), 3.0), (b"b".to_vec(), 2.0)], &enc(128, 64));
        assert_eq!(z.iter().collect::<Vec<_>>(), vec![(&b"b"[..], 2.0), (&b"a"[..], 3.0)]);
        let big = ZSet::from_pairs(vec![(b"a".to_vec(), 3.0), (b"b".to_vec(), 2.0)], &enc(0, 0));
        assert_eq!(z, big);
        assert_eq!(z.clone(), z);
    }

    #[test]
    fn compaction_keeps_contents() {
        let e = enc(0, 0);
        let mut z = ZSet::new();
        for i in 0..5000 {
            z.insert(format!("k{i}").as_bytes(), i as f64, &e);
        }
        for i in 0..4900 {
            assert!(z.remove(format!("k{i}").as_bytes()));
        }
        assert_eq!(z.len(), 100);
        assert_eq!(z.get(0), Some((&b"k4900"[..], 4900.0)));
        assert_eq!(z.rank(b"k4999"), Some(99));
        if let Repr::Big(b) = &z.repr {
            assert!(b.slots.len() < 1000);
        }
    }

    #[test]
    fn scan_visits_everything() {
        for e in [enc(128, 64), enc(0, 0)] {
            let z = ZSet::from_pairs((0..1000).map(|i| (format!("k{i}").into_bytes(), i as f64)), &e);
            let mut seen = std::collections::HashSet::new();
            let mut c = 0;
            loop {
                c = z.scan(c, 10, |m, _| {
                    seen.insert(m.to_vec());
                });
                if c == 0 {
                    break;
                }
            }
            assert_eq!(seen.len(), 1000);
        }
    }

    #[test]
    fn listpack_scores_round_trip() {
        let e = enc(1000, 1000);
        let scores = [
            0.0,
            1.0,
            -1.0,
            119.0,
            120.0,
            -120.0,
            -121.0,
            32767.0,
            32768.0,
            -32768.0,
            -32769.0,
            2147483647.0,
            2147483648.0,
            -2147483648.0,
            -2147483649.0,
            0.5,
            -1e300,
            1e-320,
            f64::INFINITY,
            f64::NEG_INFINITY,
            9007199254740993.0,
        ];
        let mut z = ZSet::new();
        let long = vec![b'x'; 300];
        for (i, s) in scores.iter().enumerate() {
            let mut m = format!("m{i}").into_bytes();
            if i == 3 {
                m = long.clone();
            }
            z.insert(&m, *s, &e);
            assert_eq!(z.score(&m).map(f64::to_bits), Some(s.to_bits()), "{s}");
        }
        assert_eq!(z.encoding(), "listpack");
        assert_eq!(z.len(), scores.len());
        assert_eq!(z.score(&long), Some(119.0));
    }

    #[test]
    fn small_value_layout() {
        // A sorted set value is a 16-byte handle (inline in the key's value); the listpack of 10 short members
        // with small integer scores is one block of 4 bytes per entry.
        assert_eq!(std::mem::size_of::<ZSet>(), 16);
        let z = ZSet::from_pairs((0..10).map(|i| (format!("m{i}").into_bytes(), i as f64)), &enc(128, 64));
        if let Repr::Pack(p) = &z.repr {
            assert_eq!((p.buf.len(), p.buf.count), (40, 10));
        }
    }

    #[test]
    fn negative_zero_like_redis() {
        // The skiplist keeps -0, and updating it to 0 is no change; the listpack stores it as the integer 0.
        let e = enc(0, 0);
        let mut z = ZSet::new();
        z.insert(b"a", -0.0, &e);
        z.insert(b"a", 0.0, &e);
        assert!(z.score(b"a").is_some_and(|s| s.is_sign_negative()));
        let mut z = ZSet::new();
        z.insert(b"a", -0.0, &enc(128, 64));
        assert!(z.score(b"a").is_some_and(|s| s == 0.0 && s.is_sign_positive()));
    }
}
