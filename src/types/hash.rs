//! Hash: the value of a hash key (types layer), in Redis 7.0's two encodings.
//!
//! - `listpack`: one contiguous buffer of `varint(len) field varint(len) value` entries in insertion order, with
//!   a linear search (hashes stay here while they have at most `hash-max-listpack-entries` fields and no field
//!   or value longer than `hash-max-listpack-value`, 128 and 64 by default).
//! - `hashtable`: a chained hash table whose nodes are single allocations (`next` pointer, two varint lengths,
//!   the field and value bytes), with power-of-two bucket arrays. Chaining keeps every element in its home
//!   bucket, which is what lets HSCAN use Redis's reverse-binary cursor: every field present for the whole
//!   scan is returned at least once, however the table grows or shrinks between calls.
//!
//! The switch to `hashtable` is one-way, as in Redis. The rules (`Hash::insert`, `Hash::prepare`) follow
//! t_hash.c's hashTypeSet and hashTypeTryConversion.

use super::encodings::Encodings;
use super::packbuf::PackBuf;
use super::rng;
use std::fmt;

/// A listpack bigger than this converts (Redis's lpSafeToAdd limit, 1 GB).
const LISTPACK_MAX_SAFETY_SIZE: usize = 1 << 30;

/// The value of a hash key: a 16-byte handle the key's `Value` holds inline.
#[derive(Clone, Default)]
pub struct Hash {
    repr: Repr,
}

/// The table is boxed (it is big anyway); the listpack is its one block, with no header block.
#[derive(Clone)]
enum Repr {
    Pack(Pack),
    Table(Box<Dict>),
}

impl Default for Repr {
    fn default() -> Self {
        Repr::Pack(Pack::default())
    }
}

impl Hash {
    pub fn new() -> Hash {
        Hash::default()
    }

    /// Build from pairs (RESTORE, tests): `listpack` when small enough, as Redis's loader decides. A repeated
    /// field keeps its last value.
    pub fn from_pairs<I: IntoIterator<Item = (Vec<u8>, Vec<u8>)>>(pairs: I, enc: &Encodings) -> Hash {
        let pairs: Vec<(Vec<u8>, Vec<u8>)> = pairs.into_iter().collect();
        let small = fits_listpack(&pairs, enc);
        let mut h = Hash::new();
        if small {
            let Repr::Pack(p) = &mut h.repr else { return h };
            for (f, v) in &pairs {
                p.set(f, v);
            }
        } else {
            let mut d = Dict::with_capacity(pairs.len());
            for (f, v) in &pairs {
                d.insert(f, v);
            }
            h.repr = Repr::Table(Box::new(d));
        }
        h
    }

    /// Build from pairs whose fields are known to differ (an RDB load checked them): a `listpack` is
    /// written in one block, without looking each field up as it is added.
    pub fn from_unique(pairs: &[(&[u8], &[u8])], enc: &Encodings) -> Hash {
        let entry = |f: &[u8], v: &[u8]| varint_len(f.len()) + f.len() + varint_len(v.len()) + v.len();
        let small = fits_listpack(pairs, enc);
        if !small {
            let mut d = Dict::with_capacity(pairs.len());
            for (f, v) in pairs {
                d.insert_new(f, v);
            }
            return Hash { repr: Repr::Table(Box::new(d)) };
        }
        let mut bytes = Vec::with_capacity(pairs.iter().map(|(f, v)| entry(f, v)).sum());
        for part in pairs.iter().flat_map(|(f, v)| [*f, *v]) {
            let mut hdr = [0u8; 10];
            let hlen = encode_varint(&mut hdr, part.len());
            bytes.extend_from_slice(&hdr[..hlen]);
            bytes.extend_from_slice(part);
        }
        Hash { repr: Repr::Pack(Pack { buf: PackBuf::from_slice(&bytes, pairs.len() as u32) }) }
    }

    #[inline]
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Pack(p) => p.buf.count as usize,
            Repr::Table(d) => d.len,
        }
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// OBJECT ENCODING: "listpack" or "hashtable".
    pub fn encoding(&self) -> &'static str {
        match &self.repr {
            Repr::Pack(_) => "listpack",
            Repr::Table(_) => "hashtable",
        }
    }

    /// Is this the compact encoding?
    pub fn is_listpack(&self) -> bool {
        matches!(self.repr, Repr::Pack(_))
    }

    #[inline]
    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match &self.repr {
            Repr::Pack(p) => p.find(field).map(|at| &p.buf[at.vstart..at.end]),
            Repr::Table(d) => d.get(field),
        }
    }

    pub fn contains(&self, field: &[u8]) -> bool {
        self.get(field).is_some()
    }

    /// Redis's hashTypeTryConversion, called before a write with all its field and value arguments: a
    /// listpack converts when any of them is longer than hash-max-listpack-value, or when the listpack would
    /// grow past its safety limit.
    pub fn prepare<'a, I: IntoIterator<Item = &'a [u8]>>(&mut self, args: I, enc: &Encodings) {
        let Repr::Pack(p) = &self.repr else { return };
        let mut sum = p.buf.len();
        for a in args {
            if a.len() > enc.hash_max_listpack_value {
                self.convert();
                return;
            }
            sum = sum.saturating_add(a.len());
        }
        if sum > LISTPACK_MAX_SAFETY_SIZE {
            self.convert();
        }
    }

    /// Set a field (Redis's hashTypeSet); true if it is new. A listpack converts first when the field or value
    /// is too long, and after the insert when it has too many entries.
    pub fn insert(&mut self, field: &[u8], value: &[u8], enc: &Encodings) -> bool {
        if let Repr::Pack(p) = &self.repr {
            if field.len() > enc.hash_max_listpack_value
                || value.len() > enc.hash_max_listpack_value
                || p.buf.count == u32::MAX
            {
                self.convert();
            }
        }
        match &mut self.repr {
            Repr::Pack(p) => {
                let new = p.set(field, value);
                if p.buf.count as usize > enc.hash_max_listpack_entries {
                    self.convert();
                }
                new
            }
            Repr::Table(d) => d.insert(field, value),
        }
    }

    /// Delete a field; true if it was there.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Pack(p) => p.remove(field),
            Repr::Table(d) => d.remove(field),
        }
    }

    /// Fields and values: insertion order for a listpack, table order for a hashtable.
    pub fn iter(&self) -> Iter<'_> {
        match &self.repr {
            Repr::Pack(p) => Iter::Pack { buf: &p.buf, pos: 0, left: p.buf.count as usize },
            Repr::Table(d) => Iter::Table(d.iter()),
        }
    }

    /// Heap bytes owned beyond the handle (which the key's entry holds).
    pub fn heap_size(&self) -> usize {
        match &self.repr {
            Repr::Pack(p) => p.buf.len(),
            Repr::Table(d) => std::mem::size_of::<Dict>() + d.buckets.len() * PTR + d.node_bytes,
        }
    }

    /// Convert to `hashtable` (one-way), sized for the current entries as Redis's hashTypeConvertListpack.
    fn convert(&mut self) {
        let Repr::Pack(p) = &self.repr else { return };
        let mut d = Dict::with_capacity(p.buf.count as usize);
        for (f, v) in p.iter() {
            d.insert_new(f, v);
        }
        self.repr = Repr::Table(Box::new(d));
    }

    /// One field and its value picked uniformly at random.
    pub fn random_pair(&self) -> Option<(&[u8], &[u8])> {
        if self.is_empty() {
            return None;
        }
        match &self.repr {
            Repr::Pack(p) => p.iter().nth(rng::below(p.buf.count as usize)),
            Repr::Table(d) => Some(d.random().1),
        }
    }

    /// `count` pairs picked uniformly at random, with repetitions (HRANDFIELD with a negative count).
    pub fn random_pairs<'a>(&'a self, count: usize, mut f: impl FnMut(&'a [u8], &'a [u8])) {
        let n = self.len();
        if n == 0 {
            return;
        }
        match &self.repr {
            Repr::Pack(p) => {
                let index: Vec<(&[u8], &[u8])> = p.iter().collect();
                for _ in 0..count {
                    let (k, v) = index[rng::below(n)];
                    f(k, v);
                }
            }
            Repr::Table(d) => {
                if count >= n / 2 {
                    let index: Vec<(&[u8], &[u8])> = d.iter().collect();
                    for _ in 0..count {
                        let (k, v) = index[rng::below(n)];
                        f(k, v);
                    }
                } else {
                    for _ in 0..count {
                        let (_, (k, v)) = d.random();
                        f(k, v);
                    }
                }
            }
        }
    }

    /// `count` distinct pairs picked at random, `count < len()` (HRANDFIELD with a positive count), in the
    /// ways Redis 7.0 does: a listpack is sampled in order (Knuth's selection sampling); a table gives a random
    /// subset of a copy when the count is close to the size, else random picks until enough are distinct.
    pub fn random_distinct<'a>(&'a self, count: usize, mut f: impl FnMut(&'a [u8], &'a [u8])) {
        let n = self.len();
        let count = count.min(n);
        match &self.repr {
            Repr::Pack(p) => {
                let mut need = count;
                for (left, (k, v)) in (1..=n).rev().zip(p.iter()) {
                    if need == 0 {
                        break;
                    }
                    if rng::below(left) < need {
                        f(k, v);
                        need -= 1;
                    }
                }
            }
            Repr::Table(d) => {
                if count.saturating_mul(3) > n {
                    let mut all: Vec<(&[u8], &[u8])> = d.iter().collect();
                    for i in 0..count {
                        let j = i + rng::below(n - i);
                        all.swap(i, j);
                        f(all[i].0, all[i].1);
                    }
                } else {
                    let mut seen: hashbrown::HashSet<usize> = hashbrown::HashSet::with_capacity(count);
                    while seen.len() < count {
                        let (id, (k, v)) = d.random();
                        if seen.insert(id) {
                            f(k, v);
                        }
                    }
                }
            }
        }
    }

    /// One HSCAN call: calls `f` for the pairs of this step and returns the next cursor (0: done). A listpack
    /// returns everything at once with cursor 0, as Redis; a table visits buckets in reverse-binary cursor
    /// order until about `count` items (fields and values both count, as in Redis) or `10 * count` buckets.
    pub fn scan<'a>(&'a self, cursor: u64, count: usize, mut f: impl FnMut(&'a [u8], &'a [u8])) -> u64 {
        match &self.repr {
            Repr::Pack(p) => {
                for (k, v) in p.iter() {
                    f(k, v);
                }
                0
            }
            Repr::Table(d) => {
                let count = count.max(1);
                let mut items = 0usize;
                let mut iterations = count.saturating_mul(10);
                let mut cursor = cursor;
                loop {
                    cursor = d.scan(cursor, |k, v| {
                        items += 2;
                        f(k, v)
                    });
                    if cursor == 0 || iterations == 0 || items >= count {
                        break;
                    }
                    iterations -= 1;
                }
                cursor
            }
        }
    }
}

impl PartialEq for Hash {
    /// Same fields with the same values, whatever the encodings and orders.
    fn eq(&self, other: &Hash) -> bool {
        self.len() == other.len() && self.iter().all(|(f, v)| other.get(f) == Some(v))
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash[{}]", self.encoding())?;
        f.debug_map()
            .entries(self.iter().map(|(k, v)| (String::from_utf8_lossy(k), String::from_utf8_lossy(v))))
            .finish()
    }
}

/// Iterator over a hash's (field, value) pairs.
pub enum Iter<'a> {
    Pack { buf: &'a [u8], pos: usize, left: usize },
    Table(DictIter<'a>),
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a [u8], &'a [u8]);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Iter::Pack { buf, pos, left } => {
                if *pos >= buf.len() {
                    return None;
                }
                let (k, v, next) = pack_entry(buf, *pos);
                *pos = next;
                *left -= 1;
                Some((k, v))
            }
            Iter::Table(it) => it.next(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = match self {
            Iter::Pack { left, .. } => *left,
            Iter::Table(it) => it.left,
        };
        (n, Some(n))
    }
}

impl ExactSizeIterator for Iter<'_> {}

// ---------------------------------------------------------------------------------------------------------
// Lengths: LEB128 varints
// ---------------------------------------------------------------------------------------------------------

#[inline]
fn varint_len(mut n: usize) -> usize {
    let mut len = 1;
    while n >= 0x80 {
        n >>= 7;
        len += 1;
    }
    len
}

/// Encode `n` into `out` (at least 10 bytes); returns the bytes used.
#[inline]
fn encode_varint(out: &mut [u8; 10], mut n: usize) -> usize {
    let mut i = 0;
    while n >= 0x80 {
        out[i] = (n as u8) | 0x80;
        n >>= 7;
        i += 1;
    }
    out[i] = n as u8;
    i + 1
}

#[inline]
fn read_varint(buf: &[u8], pos: &mut usize) -> usize {
    let mut n = 0usize;
    let mut shift = 0;
    loop {
        let b = buf[*pos];
        *pos += 1;
        n |= ((b & 0x7f) as usize) << shift;
        if b < 0x80 {
            return n;
        }
        shift += 7;
    }
}

// ---------------------------------------------------------------------------------------------------------
// listpack
// ---------------------------------------------------------------------------------------------------------

/// The compact encoding: `varint(flen) field varint(vlen) value` per pair in one block allocated exactly (as a
/// listpack is reallocated to size on every change); `buf.count` is the number of pairs.
#[derive(Clone, Default)]
struct Pack {
    buf: PackBuf,
}

/// Where a field was found in a pack: its entry starts at `start`, its value header at `vhdr`, its value
/// bytes are `vstart..end`, and the next entry starts at `end`.
struct At {
    start: usize,
    vhdr: usize,
    vstart: usize,
    end: usize,
}

/// The pair at `pos` and where the next one starts.
#[inline]
fn pack_entry(buf: &[u8], mut pos: usize) -> (&[u8], &[u8], usize) {
    let flen = read_varint(buf, &mut pos);
    let f = &buf[pos..pos + flen];
    pos += flen;
    let vlen = read_varint(buf, &mut pos);
    let v = &buf[pos..pos + vlen];
    (f, v, pos + vlen)
}

impl Pack {
    fn iter(&self) -> Iter<'_> {
        Iter::Pack { buf: &self.buf, pos: 0, left: self.buf.count as usize }
    }

    #[inline]
    fn find(&self, field: &[u8]) -> Option<At> {
        let buf = &self.buf[..];
        let mut pos = 0;
        while pos < buf.len() {
            let start = pos;
            let flen = read_varint(buf, &mut pos);
            let fstart = pos;
            pos += flen;
            let vhdr = pos;
            let vlen = read_varint(buf, &mut pos);
            let vstart = pos;
            pos += vlen;
            if flen == field.len() && &buf[fstart..vhdr] == field {
                return Some(At { start, vhdr, vstart, end: pos });
            }
        }
        None
    }

    /// Insert or update; true if the field is new (appended at the end, as Redis does).
    fn set(&mut self, field: &[u8], value: &[u8]) -> bool {
        if let Some(at) = self.find(field) {
            if at.end - at.vstart == value.len() {
                self.buf[at.vstart..at.end].copy_from_slice(value);
            } else {
                let mut hdr = [0u8; 10];
                let hlen = encode_varint(&mut hdr, value.len());
                self.buf.resize_range(at.vhdr, at.end, hlen + value.len());
                self.buf[at.vhdr..at.vhdr + hlen].copy_from_slice(&hdr[..hlen]);
                self.buf[at.vhdr + hlen..at.vhdr + hlen + value.len()].copy_from_slice(value);
            }
            return false;
        }
        let add = varint_len(field.len()) + field.len() + varint_len(value.len()) + value.len();
        let mut pos = self.buf.len();
        self.buf.resize_range(pos, pos, add);
        for part in [field, value] {
            let mut hdr = [0u8; 10];
            let hlen = encode_varint(&mut hdr, part.len());
            self.buf[pos..pos + hlen].copy_from_slice(&hdr[..hlen]);
            pos += hlen;
            self.buf[pos..pos + part.len()].copy_from_slice(part);
            pos += part.len();
        }
        self.buf.count += 1;
        true
    }

    fn remove(&mut self, field: &[u8]) -> bool {
        let Some(at) = self.find(field) else { return false };
        self.buf.resize_range(at.start, at.end, 0);
        self.buf.count -= 1;
        true
    }
}

// ---------------------------------------------------------------------------------------------------------
// hashtable
// ---------------------------------------------------------------------------------------------------------

/// A node: `[next: *mut u8][varint flen][varint vlen][field][value]`, one allocation aligned for the pointer.
/// `next` sits at offset 0, so a node pointer is also the address of its own `next` link.
type Node = *mut u8;

const PTR: usize = std::mem::size_of::<Node>();
const NODE_ALIGN: usize = std::mem::align_of::<Node>();
/// Smallest bucket array (Redis's DICT_HT_INITIAL_SIZE).
const MIN_BUCKETS: usize = 4;
/// Below this fill percentage a table shrinks (Redis's HASHTABLE_MIN_FILL).
const MIN_FILL: usize = 10;

fn node_layout(size: usize) -> std::alloc::Layout {
    match std::alloc::Layout::from_size_align(size, NODE_ALIGN) {
        Ok(l) => l,
        Err(_) => std::alloc::handle_alloc_error(std::alloc::Layout::new::<Node>()),
    }
}

#[inline]
fn node_size(flen: usize, vlen: usize) -> usize {
    PTR + varint_len(flen) + varint_len(vlen) + flen + vlen
}

/// Allocate a node holding `field` and `value`, linked to `next`.
fn node_new(field: &[u8], value: &[u8], next: Node) -> Node {
    let size = node_size(field.len(), value.len());
    let layout = node_layout(size);
    let mut hdr = [0u8; 10];
    // SAFETY: `p` is a fresh allocation of `size` bytes aligned for a pointer; every write below stays
    // inside it (the pointer, two varints and the two byte strings add up to `size`).
    unsafe {
        let p = std::alloc::alloc(layout);
        if p.is_null() {
            std::alloc::handle_alloc_error(layout);
        }
        (p as *mut Node).write(next);
        let mut off = PTR;
        let n = encode_varint(&mut hdr, field.len());
        std::ptr::copy_nonoverlapping(hdr.as_ptr(), p.add(off), n);
        off += n;
        let n = encode_varint(&mut hdr, value.len());
        std::ptr::copy_nonoverlapping(hdr.as_ptr(), p.add(off), n);
        off += n;
        std::ptr::copy_nonoverlapping(field.as_ptr(), p.add(off), field.len());
        off += field.len();
        std::ptr::copy_nonoverlapping(value.as_ptr(), p.add(off), value.len());
        p
    }
}

/// SAFETY (all node helpers): `p` must be a live node made by `node_new`.
#[inline]
unsafe fn node_next(p: Node) -> Node {
    (p as *const Node).read()
}

#[inline]
unsafe fn node_set_next(p: Node, next: Node) {
    (p as *mut Node).write(next)
}

#[inline]
unsafe fn node_read_varint(p: *const u8, off: &mut usize) -> usize {
    let mut n = 0usize;
    let mut shift = 0;
    loop {
        let b = *p.add(*off);
        *off += 1;
        n |= ((b & 0x7f) as usize) << shift;
        if b < 0x80 {
            return n;
        }
        shift += 7;
    }
}

/// (field offset, field length, value length).
#[inline]
unsafe fn node_header(p: Node) -> (usize, usize, usize) {
    let mut off = PTR;
    let flen = node_read_varint(p, &mut off);
    let vlen = node_read_varint(p, &mut off);
    (off, flen, vlen)
}

#[inline]
unsafe fn node_field<'a>(p: Node) -> &'a [u8] {
    let (off, flen, _) = node_header(p);
    std::slice::from_raw_parts(p.add(off), flen)
}

#[inline]
unsafe fn node_pair<'a>(p: Node) -> (&'a [u8], &'a [u8]) {
    let (off, flen, vlen) = node_header(p);
    (std::slice::from_raw_parts(p.add(off), flen), std::slice::from_raw_parts(p.add(off + flen), vlen))
}

/// Free a node; returns its size.
unsafe fn node_free(p: Node) -> usize {
    let (_, flen, vlen) = node_header(p);
    let size = node_size(flen, vlen);
    std::alloc::dealloc(p, node_layout(size));
    size
}

/// The process-wide hash seed (random, so field names cannot be chosen to collide).
fn seed() -> u64 {
    static SEED: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *SEED.get_or_init(rng::next_u64)
}

#[inline]
fn hash_field(field: &[u8]) -> u64 {
    use std::hash::BuildHasher;
    foldhash::fast::FixedState::with_seed(seed()).hash_one(field)
}

/// Whether `pairs` make a hash Redis's loader keeps as a listpack: few enough entries, each short enough, and
/// well inside the listpack's safety size.
fn fits_listpack<F: AsRef<[u8]>, V: AsRef<[u8]>>(pairs: &[(F, V)], enc: &Encodings) -> bool {
    let len = |x: &dyn AsRef<[u8]>| x.as_ref().len();
    pairs.len() <= enc.hash_max_listpack_entries
        && pairs.len() < u32::MAX as usize
        && pairs.iter().all(|(f, v)| len(f) <= enc.hash_max_listpack_value && len(v) <= enc.hash_max_listpack_value)
        && pairs.iter().map(|(f, v)| len(f) + len(v) + 20).sum::<usize>() < LISTPACK_MAX_SAFETY_SIZE
}

/// The scalable encoding: a chained table with a power-of-two bucket array that doubles when it holds as
/// many entries as buckets and shrinks below 10% fill, as Redis's dict (rehashed at once, not incrementally).
pub struct Dict {
    buckets: Box<[Node]>,
    len: usize,
    /// Bytes requested for nodes (heap_size).
    node_bytes: usize,
    /// An upper bound of every chain's length since the last rehash: random picks use it to be fair.
    max_chain: usize,
}

// SAFETY: a Dict exclusively owns its nodes (no sharing, no interior mutability), like a Box would.
unsafe impl Send for Dict {}
unsafe impl Sync for Dict {}

impl Dict {
    fn with_capacity(n: usize) -> Dict {
        let size = n.max(MIN_BUCKETS).checked_next_power_of_two().unwrap_or(1 << (usize::BITS - 2));
        Dict { buckets: vec![std::ptr::null_mut(); size].into_boxed_slice(), len: 0, node_bytes: 0, max_chain: 0 }
    }

    #[inline]
    fn mask(&self) -> usize {
        self.buckets.len() - 1
    }

    #[inline]
    fn find(&self, field: &[u8]) -> Node {
        let mut p = self.buckets[hash_field(field) as usize & self.mask()];
        // SAFETY: chains only hold live nodes.
        unsafe {
            while !p.is_null() {
                if node_field(p) == field {
                    return p;
                }
                p = node_next(p);
            }
        }
        p
    }

    #[inline]
    fn get(&self, field: &[u8]) -> Option<&[u8]> {
        let p = self.find(field);
        if p.is_null() {
            None
        } else {
            // SAFETY: a live node, borrowed for as long as `self`.
            Some(unsafe { node_pair(p).1 })
        }
    }

    /// Insert or update; true if the field is new (new fields go to the head of their chain).
    fn insert(&mut self, field: &[u8], value: &[u8]) -> bool {
        let h = hash_field(field);
        let idx = h as usize & self.mask();
        // SAFETY: `link` always points at a live link (a bucket slot or a live node's `next`), and nodes are
        // replaced or freed only after being unlinked.
        unsafe {
            let mut link: *mut Node = &mut self.buckets[idx];
            let mut chain = 0;
            while !(*link).is_null() {
                let p = *link;
                let (off, flen, vlen) = node_header(p);
                if std::slice::from_raw_parts(p.add(off), flen) == field {
                    if vlen == value.len() {
                        std::ptr::copy_nonoverlapping(value.as_ptr(), p.add(off + flen), vlen);
                    } else {
                        let n = node_new(field, value, node_next(p));
                        *link = n;
                        self.node_bytes -= node_free(p);
                        self.node_bytes += node_size(field.len(), value.len());
                    }
                    return false;
                }
                link = p as *mut Node;
                chain += 1;
            }
            if self.len >= self.buckets.len() {
                self.resize(self.len + 1);
                self.push(h, field, value);
            } else {
                let n = node_new(field, value, self.buckets[idx]);
                self.buckets[idx] = n;
                self.max_chain = self.max_chain.max(chain + 1);
                self.len += 1;
                self.node_bytes += node_size(field.len(), value.len());
            }
        }
        true
    }

    /// Insert a field known to be absent (conversion from a listpack), growing as needed.
    fn insert_new(&mut self, field: &[u8], value: &[u8]) {
        if self.len >= self.buckets.len() {
            self.resize(self.len + 1);
        }
        self.push(hash_field(field), field, value);
    }

    /// Link a new node at the head of its bucket (room already made).
    fn push(&mut self, h: u64, field: &[u8], value: &[u8]) {
        let idx = h as usize & self.mask();
        let n = node_new(field, value, self.buckets[idx]);
        self.buckets[idx] = n;
        self.len += 1;
        self.node_bytes += node_size(field.len(), value.len());
        // SAFETY: the chain holds live nodes.
        let chain = unsafe {
            let mut c = 0;
            let mut p = n;
            while !p.is_null() {
                c += 1;
                p = node_next(p);
            }
            c
        };
        self.max_chain = self.max_chain.max(chain);
    }

    fn remove(&mut self, field: &[u8]) -> bool {
        let idx = hash_field(field) as usize & self.mask();
        // SAFETY: as in `insert`.
        unsafe {
            let mut link: *mut Node = &mut self.buckets[idx];
            while !(*link).is_null() {
                let p = *link;
                if node_field(p) == field {
                    *link = node_next(p);
                    self.node_bytes -= node_free(p);
                    self.len -= 1;
                    if self.buckets.len() > MIN_BUCKETS && self.len * 100 / self.buckets.len() < MIN_FILL {
                        self.resize(self.len);
                    }
                    return true;
                }
                link = p as *mut Node;
            }
        }
        false
    }

    /// Rehash into the smallest power-of-two bucket array (at least 4) holding `n` entries.
    fn resize(&mut self, n: usize) {
        let size = n.max(MIN_BUCKETS).checked_next_power_of_two().unwrap_or(1 << (usize::BITS - 2));
        if size == self.buckets.len() {
            return;
        }
        let mut buckets: Box<[Node]> = vec![std::ptr::null_mut(); size].into_boxed_slice();
        let mut lens: Vec<u8> = vec![0; size];
        let mask = size - 1;
        // SAFETY: every node is moved exactly once from the old chains to the new ones.
        unsafe {
            for b in self.buckets.iter() {
                let mut p = *b;
                while !p.is_null() {
                    let next = node_next(p);
                    let idx = hash_field(node_field(p)) as usize & mask;
                    node_set_next(p, buckets[idx]);
                    buckets[idx] = p;
                    lens[idx] = lens[idx].saturating_add(1);
                    p = next;
                }
            }
        }
        self.buckets = buckets;
        self.max_chain = lens.iter().copied().max().unwrap_or(0) as usize;
        if self.max_chain == u8::MAX as usize {
            self.max_chain = self.longest_chain();
        }
    }

    fn longest_chain(&self) -> usize {
        let mut max = 0;
        for b in self.buckets.iter() {
            let mut c = 0;
            let mut p = *b;
            // SAFETY: chains hold live nodes.
            unsafe {
                while !p.is_null() {
                    c += 1;
                    p = node_next(p);
                }
            }
            max = max.max(c);
        }
        max
    }

    /// A uniformly random entry (the table must not be empty), with an identity for deduplication: a random
    /// bucket and a random position below the longest chain, retried until they name an entry.
    fn random(&self) -> (usize, (&[u8], &[u8])) {
        let m = self.max_chain.max(1);
        loop {
            let mut p = self.buckets[rng::below(self.buckets.len())];
            let mut k = rng::below(m);
            // SAFETY: chains hold live nodes.
            unsafe {
                while !p.is_null() && k > 0 {
                    p = node_next(p);
                    k -= 1;
                }
                if !p.is_null() {
                    return (p as usize, node_pair(p));
                }
            }
        }
    }

    /// Redis's dictScan on one table: emit the bucket the cursor names, then advance the cursor by
    /// incrementing its bit-reversed value over the masked bits. Returns 0 after the last bucket.
    fn scan<'a>(&'a self, cursor: u64, mut f: impl FnMut(&'a [u8], &'a [u8])) -> u64 {
        let mask = self.mask() as u64;
        let mut p = self.buckets[(cursor & mask) as usize];
        // SAFETY: chains hold live nodes.
        unsafe {
            while !p.is_null() {
                let (k, v) = node_pair(p);
                f(k, v);
                p = node_next(p);
            }
        }
        let v = cursor | !mask;
        v.reverse_bits().wrapping_add(1).reverse_bits()
    }

    fn iter(&self) -> DictIter<'_> {
        DictIter { buckets: &self.buckets, idx: 0, node: std::ptr::null_mut(), left: self.len }
    }
}

impl Clone for Dict {
    /// A deep copy with the same bucket array size and chain order.
    fn clone(&self) -> Dict {
        let mut buckets: Box<[Node]> = vec![std::ptr::null_mut(); self.buckets.len()].into_boxed_slice();
        // SAFETY: the source chains hold live nodes; each copy is linked at the tail of its new chain.
        unsafe {
            for (i, b) in self.buckets.iter().enumerate() {
                let mut link: *mut Node = &mut buckets[i];
                let mut p = *b;
                while !p.is_null() {
                    let (k, v) = node_pair(p);
                    let n = node_new(k, v, std::ptr::null_mut());
                    *link = n;
                    link = n as *mut Node;
                    p = node_next(p);
                }
            }
        }
        Dict { buckets, len: self.len, node_bytes: self.node_bytes, max_chain: self.max_chain }
    }
}

impl Drop for Dict {
    fn drop(&mut self) {
        for b in self.buckets.iter_mut() {
            let mut p = std::mem::replace(b, std::ptr::null_mut());
            // SAFETY: each node is freed once, after reading its successor.
            unsafe {
                while !p.is_null() {
                    let next = node_next(p);
                    node_free(p);
                    p = next;
                }
            }
        }
    }
}

/// Iterator over a table's pairs, bucket by bucket.
pub struct DictIter<'a> {
    buckets: &'a [Node],
    idx: usize,
    node: Node,
    left: usize,
}

impl<'a> Iterator for DictIter<'a> {
    type Item = (&'a [u8], &'a [u8]);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        while self.node.is_null() {
            if self.idx >= self.buckets.len() {
                return None;
            }
            self.node = self.buckets[self.idx];
            self.idx += 1;
        }
        let p = self.node;
        // SAFETY: the table is borrowed for 'a, so its nodes stay alive and unchanged.
        unsafe {
            self.node = node_next(p);
            self.left -= 1;
            Some(node_pair(p))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};

    fn enc(entries: usize, value: usize) -> Encodings {
        Encodings { hash_max_listpack_entries: entries, hash_max_listpack_value: value, ..Encodings::default() }
    }

    #[test]
    fn hash_is_small() {
        // A 16-byte handle (inline in the key's value); a listpack is one exact block, its count in the handle.
        assert_eq!(std::mem::size_of::<Hash>(), 16);
        let e = Encodings::default();
        let mut h = Hash::new();
        for i in 0..10 {
            h.insert(format!("f{i}").as_bytes(), format!("v{i}").as_bytes(), &e);
        }
        assert_eq!(h.heap_size(), 60);
        h.remove(b"f3");
        assert_eq!(h.heap_size(), 54);
        assert_eq!(h.len(), 9);
    }

    #[test]
    fn listpack_set_get_update_remove() {
        let e = Encodings::default();
        let mut h = Hash::new();
        assert!(h.insert(b"a", b"1", &e));
        assert!(h.insert(b"b", b"22", &e));
        assert!(h.insert(b"", b"", &e));
        assert!(!h.insert(b"a", b"111", &e));
        assert!(!h.insert(b"b", b"x", &e));
        assert!(!h.insert(b"b", b"y", &e));
        assert_eq!(h.len(), 3);
        assert_eq!(h.encoding(), "listpack");
        assert_eq!(h.get(b"a"), Some(&b"111"[..]));
        assert_eq!(h.get(b"b"), Some(&b"y"[..]));
        assert_eq!(h.get(b""), Some(&b""[..]));
        assert_eq!(h.get(b"c"), None);
        let order: Vec<_> = h.iter().map(|(k, _)| k.to_vec()).collect();
        assert_eq!(order, vec![b"a".to_vec(), b"b".to_vec(), b"".to_vec()]);
        assert!(h.remove(b"b"));
        assert!(!h.remove(b"b"));
        assert_eq!(h.len(), 2);
        assert_eq!(h.iter().len(), 2);
        assert!(h.remove(b"a"));
        assert!(h.remove(b""));
        assert!(h.is_empty());
    }

    #[test]
    fn long_values_use_multibyte_lengths() {
        let e = enc(128, 100_000);
        let mut h = Hash::new();
        let big = vec![b'x'; 70_000];
        h.insert(b"f", &big, &e);
        h.insert(&big, b"v", &e);
        assert_eq!(h.get(b"f"), Some(&big[..]));
        assert_eq!(h.get(&big), Some(&b"v"[..]));
        h.insert(b"f", b"short", &e);
        assert_eq!(h.get(b"f"), Some(&b"short"[..]));
        assert_eq!(h.get(&big), Some(&b"v"[..]));
        assert_eq!(h.encoding(), "listpack");
    }

    #[test]
    fn conversion_rules() {
        let e = enc(4, 8);
        let mut h = Hash::new();
        for i in 0..4 {
            h.insert(format!("f{i}").as_bytes(), b"v", &e);
        }
        assert_eq!(h.encoding(), "listpack");
        h.insert(b"f0", b"12345678", &e);
        assert_eq!(h.encoding(), "listpack");
        h.insert(b"f4", b"v", &e);
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(h.len(), 5);
        // One-way: shrinking does not go back.
        for i in 0..4 {
            h.remove(format!("f{i}").as_bytes());
        }
        assert_eq!(h.encoding(), "hashtable");

        let mut h = Hash::new();
        h.insert(b"f", b"123456789", &e);
        assert_eq!(h.encoding(), "hashtable");
        let mut h = Hash::new();
        h.insert(b"123456789", b"v", &e);
        assert_eq!(h.encoding(), "hashtable");

        let mut h = Hash::new();
        h.insert(b"a", b"1", &e);
        h.prepare([&b"a"[..], &b"123456789"[..]], &e);
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(h.get(b"a"), Some(&b"1"[..]));
        let mut h = Hash::new();
        h.prepare([&b"a"[..], &b"12345678"[..]], &e);
        assert_eq!(h.encoding(), "listpack");
    }

    #[test]
    fn from_pairs_picks_encoding() {
        let e = enc(2, 8);
        let h = Hash::from_pairs(vec![(b"a".to_vec(), b"1".to_vec()), (b"b".to_vec(), b"2".to_vec())], &e);
        assert_eq!(h.encoding(), "listpack");
        let h3 = Hash::from_pairs((0..3).map(|i| (vec![i], vec![i])), &e);
        assert_eq!(h3.encoding(), "hashtable");
        let hl = Hash::from_pairs(vec![(b"a".to_vec(), vec![0; 9])], &e);
        assert_eq!(hl.encoding(), "hashtable");
        let dup = Hash::from_pairs(vec![(b"a".to_vec(), b"1".to_vec()), (b"a".to_vec(), b"2".to_vec())], &e);
        assert_eq!(dup.len(), 1);
        assert_eq!(dup.get(b"a"), Some(&b"2"[..]));
    }

    #[test]
    fn table_matches_a_model_under_random_ops() {
        let e = enc(0, 64);
        let mut h = Hash::new();
        let mut model: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
        for round in 0..20_000u32 {
            let k = format!("k{}", rng::below(3000)).into_bytes();
            match rng::below(3) {
                0 | 1 => {
                    let v = format!("v{round}{}", "x".repeat(rng::below(40))).into_bytes();
                    assert_eq!(h.insert(&k, &v, &e), model.insert(k.clone(), v).is_none());
                }
                _ => assert_eq!(h.remove(&k), model.remove(&k).is_some()),
            }
            if round % 997 == 0 {
                assert_eq!(h.len(), model.len());
                for (k, v) in &model {
                    assert_eq!(h.get(k), Some(&v[..]));
                }
                assert_eq!(h.iter().count(), model.len());
            }
        }
        assert_eq!(h.encoding(), "hashtable");
        let c = h.clone();
        assert_eq!(c, h);
        assert_eq!(
            c.iter().map(|(k, _)| k.to_vec()).collect::<Vec<_>>(),
            h.iter().map(|(k, _)| k.to_vec()).collect::<Vec<_>>()
        );
        // Deleting nearly everything shrinks the bucket array. Shrinking halves while under 10% full, so
        // with one field left it stops at 4 or 8 buckets depending on the sizes it passed through.
        let keys: Vec<Vec<u8>> = model.keys().cloned().collect();
        for k in &keys[1..] {
            assert!(h.remove(k));
        }
        let Repr::Table(d) = &h.repr else { panic!() };
        assert!(d.buckets.len() <= 2 * MIN_BUCKETS, "{} buckets left", d.buckets.len());
        assert_eq!(h.len(), 1);
    }

    #[test]
    fn equality_ignores_encoding_and_order() {
        let e = Encodings::default();
        let mut a = Hash::new();
        a.insert(b"x", b"1", &e);
        a.insert(b"y", b"2", &e);
        let b = Hash::from_pairs(vec![(b"y".to_vec(), b"2".to_vec()), (b"x".to_vec(), b"1".to_vec())], &enc(0, 64));
        assert_eq!(b.encoding(), "hashtable");
        assert_eq!(a, b);
        a.insert(b"y", b"3", &e);
        assert_ne!(a, b);
    }

    fn full_scan(h: &Hash, count: usize) -> (Vec<Vec<u8>>, usize) {
        let mut seen = Vec::new();
        let mut cursor = 0;
        let mut calls = 0;
        loop {
            cursor = h.scan(cursor, count, |k, _| seen.push(k.to_vec()));
            calls += 1;
            if cursor == 0 {
                return (seen, calls);
            }
        }
    }

    #[test]
    fn scan_returns_everything() {
        let e = enc(0, 64);
        let mut h = Hash::new();
        for i in 0..1000 {
            h.insert(format!("f{i}").as_bytes(), b"v", &e);
        }
        let (seen, calls) = full_scan(&h, 10);
        assert!(calls > 50);
        let set: HashSet<_> = seen.iter().cloned().collect();
        assert_eq!(set.len(), 1000);
        // listpack: all at once.
        let mut small = Hash::new();
        small.insert(b"a", b"1", &Encodings::default());
        let (seen, calls) = full_scan(&small, 1);
        assert_eq!((seen.len(), calls), (1, 1));
    }

    #[test]
    fn scan_guarantee_survives_growth_and_shrinking() {
        let e = enc(0, 64);
        for grow in [true, false] {
            let mut h = Hash::new();
            let stable: Vec<Vec<u8>> = (0..200).map(|i| format!("stable{i}").into_bytes()).collect();
            for k in &stable {
                h.insert(k, b"v", &e);
            }
            let extra: Vec<Vec<u8>> = (0..5000).map(|i| format!("extra{i}").into_bytes()).collect();
            if !grow {
                for k in &extra {
                    h.insert(k, b"v", &e);
                }
            }
            let mut seen = HashSet::new();
            let mut cursor = 0;
            let mut step = 0;
            loop {
                cursor = h.scan(cursor, 5, |k, _| {
                    seen.insert(k.to_vec());
                });
                // Change the table between calls.
                for k in extra.iter().skip(step * 100).take(100) {
                    if grow {
                        h.insert(k, b"v", &e);
                    } else {
                        h.remove(k);
                    }
                }
                step += 1;
                if cursor == 0 {
                    break;
                }
            }
            for k in &stable {
                assert!(seen.contains(k), "missing {:?} (grow {grow})", String::from_utf8_lossy(k));
            }
        }
    }

    #[test]
    fn random_picks_are_fair_and_distinct() {
        for entries in [128, 0] {
            let e = enc(entries, 64);
            let mut h = Hash::new();
            for i in 0..10 {
                h.insert(format!("f{i}").as_bytes(), b"v", &e);
            }
            let mut counts: HashMap<Vec<u8>, usize> = HashMap::new();
            for _ in 0..20_000 {
                let (k, _) = h.random_pair().unwrap();
                *counts.entry(k.to_vec()).or_default() += 1;
            }
            assert_eq!(counts.len(), 10);
            for c in counts.values() {
                assert!((1600..2400).contains(c), "{counts:?}");
            }
            let mut n = 0;
            h.random_pairs(1000, |_, _| n += 1);
            assert_eq!(n, 1000);
            for count in [1, 2, 3, 5, 9] {
                let mut got = HashSet::new();
                h.random_distinct(count, |k, _| {
                    assert!(got.insert(k.to_vec()));
                });
                assert_eq!(got.len(), count);
            }
        }
    }

    #[test]
    fn heap_size_grows_with_content() {
        let e = enc(0, 64);
        let mut h = Hash::new();
        let empty = h.heap_size();
        for i in 0..100 {
            h.insert(format!("f{i}").as_bytes(), b"value", &e);
        }
        assert!(h.heap_size() > empty + 100 * 8);
    }
}
