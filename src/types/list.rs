//! List: the value of a list key (types layer), laid out as Redis 7.0's quicklist: a deque of compact nodes.
//!
//! Each node is one contiguous byte buffer holding its entries back to back, listpack-like: an entry is
//! `varint(len) bytes rvarint(len)`, the length written once forwards (LEB128) and once backwards after the
//! bytes, so a node is walked from either end. Small elements cost two bytes of overhead, as in a listpack.
//! A node may keep free space in front of its entries (`start`), so pushing and popping at the head are
//! amortized O(1) like at the tail instead of moving the whole node.
//!
//! Nodes fill up to `list-max-listpack-size` (negative: 4..64 KB per node; positive: that many entries, at
//! most 8 KB) exactly as Redis's `_quicklistNodeAllowInsert` decides; an element too big for any node gets a
//! node of its own. Redis 7.0 reports every list as `quicklist` (listpack-encoded lists came with 7.2).
//! Elements are stored as their bytes (Redis also packs integers; the bytes are what every command sees).

use super::encodings::Encodings;
use std::collections::VecDeque;

/// Bytes per node for list-max-listpack-size -1..-5 (Redis's `optimization_level`).
const SIZE_LEVELS: [usize; 5] = [4096, 8192, 16384, 32768, 65536];
/// Largest node Redis fills when the limit is a count of entries (`SIZE_SAFETY_LIMIT`).
const SAFETY_LIMIT: usize = 8192;

/// Bytes of the LEB128 varint for `n`.
#[inline]
fn varint_len(n: usize) -> usize {
    if n < 0x80 {
        1
    } else if n < 0x4000 {
        2
    } else {
        ((usize::BITS - n.leading_zeros()) as usize).div_ceil(7)
    }
}

/// Bytes an element of `len` bytes takes in a node.
#[inline]
fn entry_size(len: usize) -> usize {
    len + 2 * varint_len(len)
}

/// Write `n` as LEB128 into `dst` (exactly `varint_len(n)` bytes), low 7 bits first.
#[inline]
fn put_varint(dst: &mut [u8], mut n: usize) {
    let last = dst.len() - 1;
    for (i, b) in dst.iter_mut().enumerate() {
        let more = i < last;
        *b = (n & 0x7f) as u8 | if more { 0x80 } else { 0 };
        n >>= 7;
    }
}

/// Encode one entry into `dst`, which is exactly `entry_size(v.len())` bytes.
#[inline]
fn encode_entry(dst: &mut [u8], v: &[u8]) {
    let h = varint_len(v.len());
    put_varint(&mut dst[..h], v.len());
    dst[h..h + v.len()].copy_from_slice(v);
    // The trailing copy is the same LEB128 bytes in reverse order, so reading backwards sees the low bits first.
    let tail = &mut dst[h + v.len()..];
    put_varint(tail, v.len());
    tail.reverse();
}

/// Read the varint at `pos`: (value, header bytes).
#[inline]
fn read_varint(b: &[u8], pos: usize) -> (usize, usize) {
    let c = b[pos];
    if c < 0x80 {
        return (c as usize, 1);
    }
    let (mut v, mut shift, mut i) = (0usize, 0u32, pos);
    loop {
        let c = b[i];
        i += 1;
        v |= ((c & 0x7f) as usize) << shift;
        if c & 0x80 == 0 || shift >= 63 {
            return (v, i - pos);
        }
        shift += 7;
    }
}

/// Read the backwards varint that ends just before `end`: (value, header bytes).
#[inline]
fn read_rvarint(b: &[u8], end: usize) -> (usize, usize) {
    let c = b[end - 1];
    if c < 0x80 {
        return (c as usize, 1);
    }
    let (mut v, mut shift, mut i) = (0usize, 0u32, end);
    loop {
        i -= 1;
        let c = b[i];
        v |= ((c & 0x7f) as usize) << shift;
        if c & 0x80 == 0 || shift >= 63 {
            return (v, end - i);
        }
        shift += 7;
    }
}

/// Most bytes a node may hold under list-max-listpack-size = `fill` (a node grows no further than that).
#[inline]
fn max_bytes(fill: i64) -> usize {
    if fill < 0 {
        SIZE_LEVELS[((-(fill + 1)) as usize).min(SIZE_LEVELS.len() - 1)]
    } else {
        SAFETY_LIMIT
    }
}

/// Would a node of `size` bytes and `count` entries respect list-max-listpack-size = `fill`?
#[inline]
fn fits(size: usize, count: usize, fill: i64) -> bool {
    if fill < 0 {
        size <= SIZE_LEVELS[((-(fill + 1)) as usize).min(SIZE_LEVELS.len() - 1)]
    } else {
        size <= SAFETY_LIMIT && count <= fill.max(1) as usize
    }
}

/// One listpack-like node: entries in `buf[start..]`.
#[derive(Clone, Debug, Default)]
struct Node {
    buf: Vec<u8>,
    /// Free bytes in front of the first entry.
    start: u32,
    count: u32,
}

impl Node {
    fn with_entry(v: &[u8]) -> Node {
        let mut buf = vec![0; entry_size(v.len())];
        encode_entry(&mut buf, v);
        Node { buf, start: 0, count: 1 }
    }

    #[inline]
    fn data(&self) -> &[u8] {
        &self.buf[self.start as usize..]
    }

    /// Bytes of entries.
    #[inline]
    fn size(&self) -> usize {
        self.buf.len() - self.start as usize
    }

    #[inline]
    fn entries(&self) -> NodeIter<'_> {
        let b = self.data();
        NodeIter { b, front: 0, back: b.len() }
    }

    /// Move the entries to the front of the buffer.
    fn compact(&mut self) {
        let s = self.start as usize;
        if s > 0 {
            self.buf.copy_within(s.., 0);
            self.buf.truncate(self.buf.len() - s);
            self.start = 0;
        }
    }

    /// The node is full and will not grow again soon: give back its spare room. Shrinking in place is not
    /// enough: an allocator may keep a block that shrinks by less than half where it is (mimalloc does), so
    /// a node grown to 12 KB and trimmed to 8 KB would still hold 12 KB of pages. Move it to an exact-size
    /// block unless the spare room is small.
    fn seal(&mut self) {
        self.compact();
        let (len, cap) = (self.buf.len(), self.buf.capacity());
        if cap - len > len / 16 {
            self.buf = self.buf.as_slice().to_vec();
        } else {
            self.buf.shrink_to_fit();
        }
    }

    /// Append an entry to a node that may hold up to `max` bytes.
    fn push_back(&mut self, v: &[u8], max: usize) {
        let esz = entry_size(v.len());
        let (len, cap) = (self.buf.len(), self.buf.capacity());
        if cap - len < esz {
            if self.start as usize >= esz && self.start as usize * 2 >= len {
                self.compact();
            } else {
                // Grow by half (amortized O(1) pushes, at most a third of the buffer unused), but not past
                // the node's limit: a full node then fits its block instead of one up to half bigger.
                let target = (len + esz).max((cap + cap / 2).min(max));
                self.buf.reserve_exact(target - len);
            }
        }
        let old = self.buf.len();
        self.buf.resize(old + esz, 0);
        encode_entry(&mut self.buf[old..], v);
        self.count += 1;
    }

    /// Prepend an entry to a node that may hold up to `max` bytes.
    fn push_front(&mut self, v: &[u8], max: usize) {
        let esz = entry_size(v.len());
        if (self.start as usize) < esz {
            // Make room in front, half as much again as the entries hold (amortized O(1) head pushes), but
            // not past the node's limit (see push_back).
            let size = self.size();
            let slack = esz.max((size / 2).min(max.saturating_sub(size)));
            let mut nb = Vec::with_capacity(slack + size);
            nb.resize(slack, 0);
            nb.extend_from_slice(self.data());
            self.buf = nb;
            self.start = slack as u32;
        }
        let s = self.start as usize - esz;
        encode_entry(&mut self.buf[s..s + esz], v);
        self.start = s as u32;
        self.count += 1;
    }

    /// Remove the first entry, handing its bytes to `f` first.
    fn pop_front_with<R>(&mut self, f: impl FnOnce(&[u8]) -> R) -> R {
        let s = self.start as usize;
        let (len, h) = read_varint(&self.buf, s);
        let r = f(&self.buf[s + h..s + h + len]);
        self.count -= 1;
        let ns = s + 2 * h + len;
        if self.count == 0 {
            self.buf = Vec::new();
            self.start = 0;
        } else if ns > u32::MAX as usize || ns > self.buf.len() - ns {
            // More free bytes in front than entries: move the entries down (amortized O(1) per byte popped).
            self.start = 0;
            self.buf.copy_within(ns.., 0);
            self.buf.truncate(self.buf.len() - ns);
            self.maybe_shrink();
        } else {
            self.start = ns as u32;
        }
        r
    }

    /// Remove the last entry, handing its bytes to `f` first.
    fn pop_back_with<R>(&mut self, f: impl FnOnce(&[u8]) -> R) -> R {
        let end = self.buf.len();
        let (len, h) = read_rvarint(&self.buf, end);
        let e = end - h;
        let r = f(&self.buf[e - len..e]);
        self.count -= 1;
        if self.count == 0 {
            self.buf = Vec::new();
            self.start = 0;
        } else {
            self.buf.truncate(e - len - h);
            self.maybe_shrink();
        }
        r
    }

    /// Give memory back once a node holds far less than its buffer.
    fn maybe_shrink(&mut self) {
        let cap = self.buf.capacity();
        if cap > 1024 && cap > 4 * self.buf.len() {
            self.compact();
            self.buf.shrink_to(self.buf.len() * 2);
        }
    }

    /// Byte offset in `data()` of entry `j` (< count), walking from the nearer end.
    fn offset_of(&self, j: usize) -> usize {
        let mut it = self.entries();
        if j <= self.count as usize / 2 {
            for _ in 0..j {
                it.next();
            }
            it.front
        } else {
            for _ in 0..(self.count as usize - j) {
                it.next_back();
            }
            it.back
        }
    }

    /// The entry starting at byte `off` of `data()`: (its bytes' range in `data()`, its encoded size).
    #[inline]
    fn entry_at(&self, off: usize) -> (std::ops::Range<usize>, usize) {
        let (len, h) = read_varint(self.data(), off);
        (off + h..off + h + len, len + 2 * h)
    }

    /// Replace the `old`-byte entry at `off` (in `data()`) by the encoding of `v`.
    fn splice(&mut self, off: usize, old: usize, v: Option<&[u8]>) {
        let mut enc = Vec::new();
        if let Some(v) = v {
            enc.resize(entry_size(v.len()), 0);
            encode_entry(&mut enc, v);
        }
        let abs = self.start as usize + off;
        self.buf.splice(abs..abs + old, enc);
    }

    /// Drop the first `k` (< count) entries.
    fn drop_front(&mut self, k: usize) {
        let mut it = self.entries();
        for _ in 0..k {
            it.next();
        }
        let ns = self.start as usize + it.front;
        self.count -= k as u32;
        if ns > u32::MAX as usize || ns > self.buf.len() - ns {
            self.start = 0;
            self.buf.copy_within(ns.., 0);
            self.buf.truncate(self.buf.len() - ns);
            self.maybe_shrink();
        } else {
            self.start = ns as u32;
        }
    }

    /// Drop the last `k` (< count) entries.
    fn drop_back(&mut self, k: usize) {
        let mut it = self.entries();
        for _ in 0..k {
            it.next_back();
        }
        let keep = self.start as usize + it.back;
        self.buf.truncate(keep);
        self.count -= k as u32;
        self.maybe_shrink();
    }

    /// Remove up to `max` entries equal to `v`, scanning from the tail when `from_tail`. Returns how many.
    fn remove_matching(&mut self, v: &[u8], max: usize, from_tail: bool) -> usize {
        let mut hits: Vec<(usize, usize)> = Vec::new();
        let d = self.data();
        let mut it = NodeIter { b: d, front: 0, back: d.len() };
        while hits.len() < max {
            let at = if from_tail { it.back } else { it.front };
            let e = if from_tail { it.next_back() } else { it.next() };
            let Some(e) = e else { break };
            if e == v {
                let esz = entry_size(e.len());
                hits.push(if from_tail { (at - esz, esz) } else { (at, esz) });
            }
        }
        if hits.is_empty() {
            return 0;
        }
        if from_tail {
            hits.reverse();
        }
        let removed: usize = hits.iter().map(|h| h.1).sum();
        let mut nb = Vec::with_capacity(d.len() - removed);
        let mut pos = 0;
        for &(off, sz) in &hits {
            nb.extend_from_slice(&d[pos..off]);
            pos = off + sz;
        }
        nb.extend_from_slice(&d[pos..]);
        self.buf = nb;
        self.start = 0;
        self.count -= hits.len() as u32;
        hits.len()
    }

    /// Append `other`'s entries.
    fn append(&mut self, other: &Node) {
        self.compact();
        self.buf.reserve_exact(other.size());
        self.buf.extend_from_slice(other.data());
        self.count += other.count;
    }
}

/// Entries of one node, walked from either end.
#[derive(Clone)]
struct NodeIter<'a> {
    b: &'a [u8],
    /// Offset of the next entry from the front.
    front: usize,
    /// Offset just past the next entry from the back.
    back: usize,
}

impl<'a> Iterator for NodeIter<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.front >= self.back {
            return None;
        }
        let (len, h) = read_varint(self.b, self.front);
        let s = self.front + h;
        self.front = s + len + h;
        Some(&self.b[s..s + len])
    }
}

impl<'a> DoubleEndedIterator for NodeIter<'a> {
    #[inline]
    fn next_back(&mut self) -> Option<&'a [u8]> {
        if self.front >= self.back {
            return None;
        }
        let (len, h) = read_rvarint(self.b, self.back);
        let e = self.back - h;
        self.back = e - len - h;
        Some(&self.b[e - len..e])
    }
}

/// A 16-byte handle the key's `Value` holds inline (the node array is boxed behind it), so a list costs no
/// header block of its own.
#[derive(Clone, Debug, Default)]
pub struct List {
    #[allow(clippy::box_collection)]
    nodes: Box<VecDeque<Node>>,
    len: usize,
}

impl PartialEq for List {
    /// Same elements in the same order, however they are split into nodes.
    fn eq(&self, other: &List) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl List {
    pub fn new() -> List {
        List::default()
    }

    pub fn from_items<I: IntoIterator<Item = Vec<u8>>>(items: I, enc: &Encodings) -> List {
        let mut l = List::new();
        for v in items {
            l.push_back(&v, enc);
        }
        l
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// OBJECT ENCODING: Redis 7.0 answers "quicklist" for every list.
    pub fn encoding(&self) -> &'static str {
        "quicklist"
    }

    /// Nodes of the quicklist (DEBUG OBJECT's ql_nodes).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    fn new_node(&mut self, v: &[u8], front: bool) {
        if self.nodes.capacity() == 0 {
            self.nodes.reserve_exact(1);
        }
        if front {
            self.nodes.push_front(Node::with_entry(v));
        } else {
            self.nodes.push_back(Node::with_entry(v));
        }
    }

    pub fn push_back(&mut self, v: &[u8], enc: &Encodings) {
        let fill = enc.list_max_listpack_size;
        let esz = entry_size(v.len());
        self.len += 1;
        if let Some(n) = self.nodes.back_mut() {
            if fits(n.size() + esz, n.count as usize + 1, fill) {
                n.push_back(v, max_bytes(fill));
                return;
            }
            n.seal();
        }
        self.new_node(v, false);
    }

    pub fn push_front(&mut self, v: &[u8], enc: &Encodings) {
        let fill = enc.list_max_listpack_size;
        let esz = entry_size(v.len());
        self.len += 1;
        if let Some(n) = self.nodes.front_mut() {
            if fits(n.size() + esz, n.count as usize + 1, fill) {
                n.push_front(v, max_bytes(fill));
                return;
            }
            n.seal();
        }
        self.new_node(v, true);
    }

    /// Push at the head (`front`) or the tail.
    pub fn push(&mut self, v: &[u8], front: bool, enc: &Encodings) {
        if front {
            self.push_front(v, enc)
        } else {
            self.push_back(v, enc)
        }
    }

    pub fn pop_front(&mut self) -> Option<Vec<u8>> {
        self.pop_front_with(|e| e.to_vec())
    }

    pub fn pop_back(&mut self) -> Option<Vec<u8>> {
        self.pop_back_with(|e| e.to_vec())
    }

    /// Pop the head (`front`) or the tail element.
    pub fn pop(&mut self, front: bool) -> Option<Vec<u8>> {
        if front {
            self.pop_front()
        } else {
            self.pop_back()
        }
    }

    /// Remove the first element, handing its bytes to `f` (no copy).
    pub fn pop_front_with<R>(&mut self, f: impl FnOnce(&[u8]) -> R) -> Option<R> {
        let n = self.nodes.front_mut()?;
        let r = n.pop_front_with(f);
        if n.count == 0 {
            self.nodes.pop_front();
        }
        self.len -= 1;
        Some(r)
    }

    /// Remove the last element, handing its bytes to `f` (no copy).
    pub fn pop_back_with<R>(&mut self, f: impl FnOnce(&[u8]) -> R) -> Option<R> {
        let n = self.nodes.back_mut()?;
        let r = n.pop_back_with(f);
        if n.count == 0 {
            self.nodes.pop_back();
        }
        self.len -= 1;
        Some(r)
    }

    /// Elements from head to tail.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &[u8]> + '_ {
        self.nodes.iter().flat_map(|n| n.entries())
    }

    /// The quicklist's nodes from head to tail, each as its elements and their count (RDB's QUICKLIST_2 writes
    /// one listpack per node, as Redis does).
    pub fn nodes(&self) -> impl Iterator<Item = (usize, impl Iterator<Item = &[u8]> + '_)> + '_ {
        self.nodes.iter().map(|n| (n.count as usize, n.entries()))
    }

    /// Elements from index `start` (< len) towards the tail; the start is found from the nearer end.
    pub fn range(&self, start: usize) -> impl Iterator<Item = &[u8]> + '_ {
        let (ni, j) = if start < self.len { self.locate(start) } else { (self.nodes.len(), 0) };
        let first = self.nodes.get(ni).map(|n| {
            let off = n.offset_of(j);
            let b = n.data();
            NodeIter { b, front: off, back: b.len() }
        });
        first.into_iter().flatten().chain(self.nodes.range((ni + 1).min(self.nodes.len())..).flat_map(|n| n.entries()))
    }

    /// (node, position in node) of element `i` (< len), walking the nodes from the nearer end.
    fn locate(&self, i: usize) -> (usize, usize) {
        if i < self.len / 2 {
            let mut i = i;
            for (ni, n) in self.nodes.iter().enumerate() {
                let c = n.count as usize;
                if i < c {
                    return (ni, i);
                }
                i -= c;
            }
        } else {
            let mut r = self.len - 1 - i;
            for (ni, n) in self.nodes.iter().enumerate().rev() {
                let c = n.count as usize;
                if r < c {
                    return (ni, c - 1 - r);
                }
                r -= c;
            }
        }
        (self.nodes.len().saturating_sub(1), 0)
    }

    /// Redis index (negative counts from the tail) to a position, if in range.
    fn index(&self, index: i64) -> Option<usize> {
        let i = if index < 0 { self.len as i64 + index } else { index };
        (i >= 0 && (i as u64) < self.len as u64).then_some(i as usize)
    }

    /// LINDEX: the element at `index` (negative from the tail).
    pub fn get(&self, index: i64) -> Option<&[u8]> {
        let i = self.index(index)?;
        let (ni, j) = self.locate(i);
        let n = &self.nodes[ni];
        let (r, _) = n.entry_at(n.offset_of(j));
        Some(&n.data()[r])
    }

    /// LSET: replace the element at `index`; false when out of range.
    pub fn set(&mut self, index: i64, v: &[u8], enc: &Encodings) -> bool {
        let Some(i) = self.index(index) else { return false };
        let (ni, j) = self.locate(i);
        let n = &mut self.nodes[ni];
        let off = n.offset_of(j);
        let (_, old) = n.entry_at(off);
        n.splice(off, old, Some(v));
        self.normalize(ni, enc);
        true
    }

    /// LINSERT: insert `v` before (or `after`) the first element equal to `pivot`; false if there is none.
    pub fn insert(&mut self, pivot: &[u8], v: &[u8], after: bool, enc: &Encodings) -> bool {
        let mut found = None;
        'nodes: for (ni, n) in self.nodes.iter().enumerate() {
            let mut it = n.entries();
            loop {
                let at = it.front;
                match it.next() {
                    Some(e) if e == pivot => {
                        found = Some((ni, if after { it.front } else { at }));
                        break 'nodes;
                    }
                    Some(_) => {}
                    None => break,
                }
            }
        }
        let Some((ni, off)) = found else { return false };
        let n = &mut self.nodes[ni];
        n.splice(off, 0, Some(v));
        n.count += 1;
        self.len += 1;
        self.normalize(ni, enc);
        true
    }

    /// LREM: remove up to |count| elements equal to `v` (all when 0), from the tail when count < 0.
    pub fn remove(&mut self, v: &[u8], count: i64, enc: &Encodings) -> usize {
        let max = if count == 0 { usize::MAX } else { usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX) };
        let from_tail = count < 0;
        let mut removed = 0;
        let n = self.nodes.len();
        for k in 0..n {
            if removed >= max {
                break;
            }
            let ni = if from_tail { n - 1 - k } else { k };
            removed += self.nodes[ni].remove_matching(v, max - removed, from_tail);
        }
        if removed > 0 {
            self.len -= removed;
            self.nodes.retain(|n| n.count > 0);
            self.merge_small(enc);
        }
        removed
    }

    /// Remove the first `n` elements (all, if fewer).
    pub fn trim_front(&mut self, n: usize) {
        let mut n = n.min(self.len);
        self.len -= n;
        while n > 0 {
            let Some(node) = self.nodes.front_mut() else { break };
            let c = node.count as usize;
            if c <= n {
                n -= c;
                self.nodes.pop_front();
            } else {
                node.drop_front(n);
                n = 0;
            }
        }
    }

    /// Remove the last `n` elements (all, if fewer).
    pub fn trim_back(&mut self, n: usize) {
        let mut n = n.min(self.len);
        self.len -= n;
        while n > 0 {
            let Some(node) = self.nodes.back_mut() else { break };
            let c = node.count as usize;
            if c <= n {
                n -= c;
                self.nodes.pop_back();
            } else {
                node.drop_back(n);
                n = 0;
            }
        }
    }

    /// After an edit inside node `ni`: split it if it outgrew the node limits.
    fn normalize(&mut self, ni: usize, enc: &Encodings) {
        let fill = enc.list_max_listpack_size;
        let n = &self.nodes[ni];
        if n.count <= 1 || fits(n.size(), n.count as usize, fill) {
            return;
        }
        let mut pieces: Vec<Node> = Vec::new();
        let mut cur = Node::default();
        for e in n.entries() {
            let esz = entry_size(e.len());
            if cur.count > 0 && !fits(cur.size() + esz, cur.count as usize + 1, fill) {
                cur.buf.shrink_to_fit();
                pieces.push(std::mem::take(&mut cur));
            }
            let old = cur.buf.len();
            cur.buf.resize(old + esz, 0);
            encode_entry(&mut cur.buf[old..], e);
            cur.count += 1;
        }
        cur.buf.shrink_to_fit();
        pieces.push(cur);
        let tail = self.nodes.split_off(ni + 1);
        self.nodes.pop_back();
        self.nodes.extend(pieces);
        self.nodes.extend(tail);
    }

    /// Join neighbouring nodes that fit together (after removals left them small).
    fn merge_small(&mut self, enc: &Encodings) {
        let fill = enc.list_max_listpack_size;
        if self.nodes.len() < 2 {
            return;
        }
        let old = std::mem::take(&mut *self.nodes);
        let mut out: VecDeque<Node> = VecDeque::with_capacity(old.len());
        for n in old {
            if let Some(last) = out.back_mut() {
                if fits(last.size() + n.size(), (last.count + n.count) as usize, fill) {
                    last.append(&n);
                    continue;
                }
            }
            out.push_back(n);
        }
        *self.nodes = out;
    }

    /// Heap bytes owned beyond the handle (the boxed deque, the node array, the node buffers).
    pub fn heap_size(&self) -> usize {
        std::mem::size_of::<VecDeque<Node>>()
            + self.nodes.capacity() * std::mem::size_of::<Node>()
            + self.nodes.iter().map(|n| n.buf.capacity()).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(fill: i64) -> Encodings {
        Encodings { list_max_listpack_size: fill, ..Default::default() }
    }

    fn items(l: &List) -> Vec<String> {
        l.iter().map(|e| String::from_utf8_lossy(e).into_owned()).collect()
    }

    fn check(l: &List, model: &VecDeque<Vec<u8>>) {
        assert_eq!(l.len(), model.len());
        let fwd: Vec<&[u8]> = l.iter().collect();
        let want: Vec<&[u8]> = model.iter().map(|v| v.as_slice()).collect();
        assert_eq!(fwd, want);
        let back: Vec<&[u8]> = l.iter().rev().collect();
        let wantb: Vec<&[u8]> = model.iter().rev().map(|v| v.as_slice()).collect();
        assert_eq!(back, wantb);
        assert_eq!(l.nodes.iter().map(|n| n.count as usize).sum::<usize>(), l.len());
        assert!(l.nodes.iter().all(|n| n.count > 0));
    }

    #[test]
    fn full_nodes_hold_no_more_than_their_limit() {
        // A node grows no further than its limit, from either end.
        for max in [4096usize, 8192, 65536] {
            let (mut back, mut front) = (Node::with_entry(b"e0000000"), Node::with_entry(b"e0000000"));
            while back.size() + 10 <= max {
                back.push_back(b"e0000001", max);
                front.push_front(b"e0000001", max);
            }
            assert_eq!(back.size(), front.size());
            assert!(back.buf.capacity() <= max, "{max}: {}", back.buf.capacity());
            assert!(front.buf.capacity() <= max, "{max}: {}", front.buf.capacity());
        }
        // Sealing a node with much spare room moves it to a new exact block: shrinking in place would leave
        // the allocator's block as it was (mimalloc keeps a block that shrinks by less than half).
        let mut n = Node::with_entry(b"x");
        n.buf.reserve_exact(12288);
        let before = n.buf.as_ptr();
        n.seal();
        assert_ne!(n.buf.as_ptr(), before);
        assert_eq!(n.buf.capacity(), n.buf.len());
    }

    #[test]
    fn varints_round_trip() {
        for n in [0usize, 1, 127, 128, 300, 16383, 16384, 1 << 21, (1 << 35) + 7] {
            let h = varint_len(n);
            let mut b = vec![0; h];
            put_varint(&mut b, n);
            assert_eq!(read_varint(&b, 0), (n, h));
            b.reverse();
            assert_eq!(read_rvarint(&b, h), (n, h));
        }
    }

    #[test]
    fn push_pop_both_ends() {
        let e = enc(-2);
        let mut l = List::new();
        l.push_back(b"b", &e);
        l.push_front(b"a", &e);
        l.push_back(b"c", &e);
        assert_eq!(items(&l), ["a", "b", "c"]);
        assert_eq!(l.pop_back().unwrap(), b"c");
        assert_eq!(l.pop_front().unwrap(), b"a");
        assert_eq!(l.pop_front().unwrap(), b"b");
        assert!(l.pop_front().is_none() && l.is_empty() && l.nodes.is_empty());
        assert_eq!(l.encoding(), "quicklist");
    }

    #[test]
    fn nodes_respect_limits() {
        // Count limit.
        let mut l = List::from_items((0..10).map(|i| i.to_string().into_bytes()), &enc(3));
        assert_eq!(l.node_count(), 4);
        assert!(l.nodes.iter().all(|n| n.count <= 3));
        // Size limit: -1 = 4 KB per node.
        l = List::new();
        for _ in 0..100 {
            l.push_back(&[b'x'; 100], &enc(-1));
        }
        assert!(l.nodes.iter().all(|n| n.size() <= 4096));
        assert_eq!(l.node_count(), 3);
        // A big element gets a node of its own.
        l.push_back(&vec![b'y'; 10000], &enc(-1));
        l.push_back(b"z", &enc(-1));
        assert_eq!(l.node_count(), 5);
        assert_eq!(l.get(-2).unwrap().len(), 10000);
    }

    #[test]
    fn index_set_insert_remove_trim() {
        let e = enc(4);
        let mut l = List::from_items((0..20).map(|i| i.to_string().into_bytes()), &e);
        assert_eq!(l.get(0).unwrap(), b"0");
        assert_eq!(l.get(13).unwrap(), b"13");
        assert_eq!(l.get(-1).unwrap(), b"19");
        assert_eq!(l.get(-20).unwrap(), b"0");
        assert!(l.get(20).is_none() && l.get(-21).is_none());
        assert!(l.set(5, b"five", &e));
        assert!(!l.set(20, b"x", &e));
        assert_eq!(l.get(5).unwrap(), b"five");
        assert!(l.insert(b"five", b"4.5", false, &e));
        assert!(l.insert(b"five", b"5.5", true, &e));
        assert!(!l.insert(b"nope", b"x", true, &e));
        assert_eq!(items(&l)[3..8], ["3", "4", "4.5", "five", "5.5"]);
        assert!(l.nodes.iter().all(|n| n.count <= 4));
        let r: Vec<&[u8]> = l.range(6).take(3).collect();
        assert_eq!(r, [&b"five"[..], b"5.5", b"6"]);
        l.trim_front(3);
        l.trim_back(10);
        assert_eq!(items(&l), ["3", "4", "4.5", "five", "5.5", "6", "7", "8", "9"]);
        assert_eq!(l.remove(b"4.5", 0, &e), 1);
        assert_eq!(l.len(), 8);
    }

    #[test]
    fn remove_by_direction() {
        let e = enc(2);
        let src = ["a", "x", "b", "x", "c", "x", "d", "x"];
        let mk = || List::from_items(src.iter().map(|s| s.as_bytes().to_vec()), &e);
        let mut l = mk();
        assert_eq!(l.remove(b"x", 2, &e), 2);
        assert_eq!(items(&l), ["a", "b", "c", "x", "d", "x"]);
        let mut l = mk();
        assert_eq!(l.remove(b"x", -3, &e), 3);
        assert_eq!(items(&l), ["a", "x", "b", "c", "d"]);
        let mut l = mk();
        assert_eq!(l.remove(b"x", 0, &e), 4);
        assert_eq!(items(&l), ["a", "b", "c", "d"]);
        assert_eq!(l.node_count(), 2);
        assert_eq!(l.remove(b"zz", i64::MIN, &e), 0);
    }

    #[test]
    fn random_ops_match_a_deque() {
        let mut seed = 0x1234_5678_9abc_def0u64;
        let mut rnd = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n.max(1)
        };
        for fill in [-2, -1, 1, 3, 16] {
            let e = enc(fill);
            let mut l = List::new();
            let mut m: VecDeque<Vec<u8>> = VecDeque::new();
            for _ in 0..4000 {
                let v: Vec<u8> =
                    if rnd(10) == 0 { vec![b'x'; rnd(9000) as usize] } else { rnd(50).to_string().into_bytes() };
                match rnd(10) {
                    0 | 1 => {
                        l.push_back(&v, &e);
                        m.push_back(v);
                    }
                    2 | 3 => {
                        l.push_front(&v, &e);
                        m.push_front(v);
                    }
                    4 => assert_eq!(l.pop_front(), m.pop_front()),
                    5 => assert_eq!(l.pop_back(), m.pop_back()),
                    6 => {
                        let i = rnd(m.len() as u64 + 2) as i64 - 1;
                        let ok = l.set(i, &v, &e);
                        let idx = if i < 0 { m.len() as i64 + i } else { i };
                        assert_eq!(ok, idx >= 0 && (idx as usize) < m.len());
                        if ok {
                            m[idx as usize] = v;
                        }
                    }
                    7 => {
                        let pivot = rnd(50).to_string().into_bytes();
                        let after = rnd(2) == 0;
                        let pos = m.iter().position(|x| *x == pivot);
                        assert_eq!(l.insert(&pivot, &v, after, &e), pos.is_some());
                        if let Some(p) = pos {
                            m.insert(if after { p + 1 } else { p }, v);
                        }
                    }
                    8 => {
                        let target = rnd(50).to_string().into_bytes();
                        let count = rnd(5) as i64 - 2;
                        let got = l.remove(&target, count, &e);
                        let mut left = if count == 0 { usize::MAX } else { count.unsigned_abs() as usize };
                        let mut want = 0;
                        if count >= 0 {
                            let mut i = 0;
                            while i < m.len() && left > 0 {
                                if m[i] == target {
                                    m.remove(i);
                                    want += 1;
                                    left -= 1;
                                } else {
                                    i += 1;
                                }
                            }
                        } else {
                            let mut i = m.len();
                            while i > 0 && left > 0 {
                                i -= 1;
                                if m[i] == target {
                                    m.remove(i);
                                    want += 1;
                                    left -= 1;
                                }
                            }
                        }
                        assert_eq!(got, want);
                    }
                    _ => {
                        let a = rnd(3) as usize;
                        let b = rnd(3) as usize;
                        l.trim_front(a);
                        l.trim_back(b);
                        for _ in 0..a.min(m.len()) {
                            m.pop_front();
                        }
                        for _ in 0..b.min(m.len()) {
                            m.pop_back();
                        }
                    }
                }
                if !m.is_empty() {
                    let i = rnd(m.len() as u64) as usize;
                    assert_eq!(l.get(i as i64), Some(m[i].as_slice()));
                    let r: Vec<&[u8]> = l.range(i).take(3).collect();
                    let w: Vec<&[u8]> = m.iter().skip(i).take(3).map(|v| v.as_slice()).collect();
                    assert_eq!(r, w);
                }
            }
            check(&l, &m);
            for n in l.nodes.iter() {
                assert!(n.count == 1 || fits(n.size(), n.count as usize, fill), "node over limit");
            }
        }
    }

    #[test]
    fn equality_ignores_node_layout() {
        let a = List::from_items((0..10).map(|i| vec![i]), &enc(2));
        let b = List::from_items((0..10).map(|i| vec![i]), &enc(-2));
        assert_eq!(a, b);
        assert_ne!(a, List::new());
    }
}
