//! Stream: the value of a stream key (types layer, no actors), with Redis 7.0's consumer groups.
//!
//! Entries are kept in id order in *nodes* (Redis's radix tree of listpacks): a `BTreeMap` from each node's
//! master id (the first id ever added to it) to a node holding up to `stream-node-max-entries` entries and
//! about `stream-node-max-bytes` bytes, estimated as Redis's listpack would take them (integer and string
//! encodings, SAMEFIELDS entries). Nodes matter beyond memory: approximate trimming (`MAXLEN ~`, `MINID ~`)
//! only drops whole nodes, and XINFO reports them (radix-tree-keys, and radix-tree-nodes as Redis's rax
//! would count them), so splitting and trimming follow t_stream.c's streamAppendItem/streamTrim; a
//! randomized comparison against redis-server 7.0.15 gives identical results. As in Redis, a deleted entry
//! stays a tombstone of its node (it counts toward the node's limit, and a node's last record decides MINID
//! trimming even when deleted); a node whose last live entry is deleted goes, but exact trimming may leave
//! a node of tombstones only, as Redis does.
//!
//! A node stores its entries back to back in one buffer (id deltas from the master id, then the pair
//! count and length-prefixed fields and values) with an offset index, so memory per entry is close to
//! Redis's; deleted records are compacted away once they are half the buffer.
//!
//! Consumer groups keep a group PEL (id -> delivery info and owner) and per-consumer PELs (ids), as Redis's
//! streamCG/streamConsumer; groups and consumers are ordered by name in bytes, as Redis's rax iterates them.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// A stream entry id, `<ms>-<seq>`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

impl StreamId {
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };
    pub const MAX: StreamId = StreamId { ms: u64::MAX, seq: u64::MAX };

    pub const fn new(ms: u64, seq: u64) -> StreamId {
        StreamId { ms, seq }
    }

    pub fn is_zero(self) -> bool {
        self == StreamId::MIN
    }

    /// The next id, or None past the last possible one (Redis's streamIncrID).
    pub fn incr(self) -> Option<StreamId> {
        if self.seq == u64::MAX {
            if self.ms == u64::MAX {
                None
            } else {
                Some(StreamId::new(self.ms + 1, 0))
            }
        } else {
            Some(StreamId::new(self.ms, self.seq + 1))
        }
    }

    /// The previous id, or None before 0-0 (streamDecrID).
    pub fn decr(self) -> Option<StreamId> {
        if self.seq == 0 {
            if self.ms == 0 {
                None
            } else {
                Some(StreamId::new(self.ms - 1, u64::MAX))
            }
        } else {
            Some(StreamId::new(self.ms, self.seq - 1))
        }
    }

    /// Parse a client's id as streamGenericParseIDOrReply: `-`/`+` (unless `strict`), `<ms>` (the sequence
    /// is `missing_seq`) or `<ms>-<seq>`; with `allow_auto_seq`, `<ms>-*` too (returned with `seq_given`
    /// false). None means "Invalid stream ID".
    pub fn parse(s: &[u8], missing_seq: u64, strict: bool, allow_auto_seq: bool) -> Option<(StreamId, bool)> {
        if s.len() > 127 {
            return None;
        }
        if s == b"-" || s == b"+" {
            if strict {
                return None;
            }
            return Some((if s == b"-" { StreamId::MIN } else { StreamId::MAX }, true));
        }
        match s.iter().position(|&c| c == b'-') {
            Some(dash) => {
                let ms = string2ull(&s[..dash])?;
                let rest = &s[dash + 1..];
                if allow_auto_seq && rest == b"*" {
                    return Some((StreamId::new(ms, 0), false));
                }
                Some((StreamId::new(ms, string2ull(rest)?), true))
            }
            None => Some((StreamId::new(string2ull(s)?, missing_seq), true)),
        }
    }

    pub fn to_bytes(self) -> Vec<u8> {
        self.to_string().into_bytes()
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// Redis's string2ull: a canonical integer, or what strtoull accepts (leading blanks, a sign; a minus wraps
/// around), the whole string consumed.
fn string2ull(s: &[u8]) -> Option<u64> {
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c') {
        i += 1;
    }
    let mut neg = false;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        neg = s[i] == b'-';
        i += 1;
    }
    let digits = &s[i..];
    if digits.is_empty() || !digits.iter().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

/// One entry, borrowed from its node: its id and its packed field/value pairs (pair count, then each
/// element length-prefixed).
#[derive(Clone, Copy, PartialEq)]
pub struct Entry<'a> {
    pub id: StreamId,
    data: &'a [u8],
}

impl fmt::Debug for Entry<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({} fields)", self.id, self.num_fields())
    }
}

fn put_varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn get_varint(b: &[u8], pos: &mut usize) -> usize {
    let mut n = 0u64;
    let mut shift = 0;
    loop {
        let c = b[*pos];
        *pos += 1;
        n |= ((c & 0x7f) as u64) << shift;
        if c < 0x80 {
            return n as usize;
        }
        shift += 7;
    }
}

/// An id delta from the node's master id, zigzag-encoded so that small negative sequence deltas stay short.
fn put_delta(out: &mut Vec<u8>, v: u64, base: u64) {
    let d = v.wrapping_sub(base) as i64;
    put_varint(out, ((d << 1) ^ (d >> 63)) as u64);
}

fn get_delta(b: &[u8], pos: &mut usize, base: u64) -> u64 {
    let z = get_varint(b, pos) as u64;
    let d = ((z >> 1) as i64) ^ -((z & 1) as i64);
    base.wrapping_add(d as u64)
}

/// Append alternating field, value arguments as an entry body.
fn encode_pairs(out: &mut Vec<u8>, pairs: &[&[u8]]) {
    put_varint(out, (pairs.len() / 2) as u64);
    for p in pairs {
        put_varint(out, p.len() as u64);
        out.extend_from_slice(p);
    }
}

/// Where the entry body starting at `pos` ends.
fn body_end(b: &[u8], mut pos: usize) -> usize {
    let pairs = get_varint(b, &mut pos);
    for _ in 0..pairs * 2 {
        let n = get_varint(b, &mut pos);
        pos += n;
    }
    pos
}

impl<'a> Entry<'a> {
    /// Field, value, field, value... in insertion order.
    pub fn elements(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        let d = self.data;
        let mut pos = 0;
        get_varint(d, &mut pos);
        std::iter::from_fn(move || {
            if pos >= d.len() {
                return None;
            }
            let n = get_varint(d, &mut pos);
            let s = &d[pos..pos + n];
            pos += n;
            Some(s)
        })
    }

    pub fn num_fields(&self) -> usize {
        get_varint(self.data, &mut 0)
    }

    /// Are this entry's field names those packed in `master` (in order)?
    fn same_fields(&self, master: &[u8]) -> bool {
        let mut pos = 0;
        for f in self.elements().step_by(2) {
            if pos >= master.len() {
                return false;
            }
            let n = get_varint(master, &mut pos);
            if master.get(pos..pos + n) != Some(f) {
                return false;
            }
            pos += n;
        }
        pos == master.len()
    }

    /// Field names, packed (length-prefixed, no count).
    fn packed_fields(&self) -> Box<[u8]> {
        let mut buf = Vec::new();
        for f in self.elements().step_by(2) {
            put_varint(&mut buf, f.len() as u64);
            buf.extend_from_slice(f);
        }
        buf.into_boxed_slice()
    }

    /// Bytes this entry takes in a Redis listpack node whose master entry has `master` id and the packed
    /// field names `master_fields` (an entry with the same fields stores its values only: SAMEFIELDS).
    fn lp_bytes(&self, master: StreamId, master_fields: &[u8]) -> usize {
        let nfields = self.num_fields();
        let same = self.same_fields(master_fields);
        let mut n = 2 + lp_int_bytes(self.id.ms.wrapping_sub(master.ms) as i64);
        n += lp_int_bytes(self.id.seq.wrapping_sub(master.seq) as i64);
        let mut lp_count = nfields + 3;
        for (i, e) in self.elements().enumerate() {
            if i % 2 == 1 || !same {
                n += lp_elem_bytes(e);
            }
        }
        if !same {
            n += lp_int_bytes(nfields as i64);
            lp_count += nfields + 1;
        }
        n + lp_int_bytes(lp_count as i64)
    }

    /// Bytes of a new node holding just this entry: listpack header and end, the master entry (count,
    /// deleted, field count, field names, terminator) and the entry.
    fn first_node_bytes(&self, master: StreamId, master_fields: &[u8]) -> usize {
        let mut n = 7 + 2 + 2 + lp_int_bytes(self.num_fields() as i64) + 2;
        for f in self.elements().step_by(2) {
            n += lp_elem_bytes(f);
        }
        n + self.lp_bytes(master, master_fields)
    }
}

/// Size of an integer element in a listpack (encoding + backlen).
fn lp_int_bytes(v: i64) -> usize {
    match v {
        0..=127 => 2,
        -4096..=4095 => 3,
        -32768..=32767 => 4,
        -8388608..=8388607 => 5,
        -2147483648..=2147483647 => 6,
        _ => 10,
    }
}

/// Size of a string element in a listpack (integers are stored as integers).
fn lp_elem_bytes(s: &[u8]) -> usize {
    if s.len() <= 20 {
        if let Some(v) = super::num::parse_i64(s) {
            return lp_int_bytes(v);
        }
    }
    let hdr = if s.len() < 64 {
        1
    } else if s.len() < 4096 {
        2
    } else {
        5
    };
    let body = hdr + s.len();
    body + match body {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

/// A node (Redis's listpack): entry records back to back in one buffer, each the id as deltas from the
/// master id then the packed pairs; `offsets` locates the live ones in id order. A deleted entry's record
/// stays as garbage (Redis keeps a flagged tombstone) until more than half the buffer is garbage.
#[derive(Clone, Debug, Default)]
struct Node {
    master: StreamId,
    /// Id of the last record ever added, deleted or not: Redis reads a node's last id from its last
    /// listpack record, tombstones included (MINID trimming decides on it).
    last: StreamId,
    buf: Vec<u8>,
    offsets: Vec<u32>,
    /// Bytes of `buf` held by deleted records.
    garbage: usize,
    /// Entries deleted from this node (they still count toward its size limit, as in Redis).
    deleted: usize,
    /// The master entry's field names (packed), for the SAMEFIELDS size estimate.
    master_fields: Box<[u8]>,
    /// Estimated listpack size (not part of equality: it is an estimate, recomputed on reload).
    bytes: usize,
}

impl PartialEq for Node {
    fn eq(&self, o: &Node) -> bool {
        self.master == o.master
            && self.last == o.last
            && self.deleted == o.deleted
            && self.len() == o.len()
            && (0..self.len()).all(|i| self.entry_at(i) == o.entry_at(i))
    }
}

impl Node {
    fn new(master: StreamId) -> Node {
        Node { master, ..Node::default() }
    }

    fn len(&self) -> usize {
        self.offsets.len()
    }

    fn id_and_body(&self, i: usize) -> (StreamId, usize) {
        let mut pos = self.offsets[i] as usize;
        let ms = get_delta(&self.buf, &mut pos, self.master.ms);
        let seq = get_delta(&self.buf, &mut pos, self.master.seq);
        (StreamId::new(ms, seq), pos)
    }

    fn id_at(&self, i: usize) -> StreamId {
        self.id_and_body(i).0
    }

    fn entry_at(&self, i: usize) -> Entry<'_> {
        let (id, pos) = self.id_and_body(i);
        Entry { id, data: &self.buf[pos..body_end(&self.buf, pos)] }
    }

    fn record_len(&self, i: usize) -> usize {
        let (_, pos) = self.id_and_body(i);
        body_end(&self.buf, pos) - self.offsets[i] as usize
    }

    fn find(&self, id: StreamId) -> Result<usize, usize> {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            match self.id_at(mid).cmp(&id) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Ok(mid),
            }
        }
        Err(lo)
    }

    fn push(&mut self, id: StreamId, pairs: &[&[u8]]) {
        self.last = id;
        self.offsets.push(self.buf.len() as u32);
        put_delta(&mut self.buf, id.ms, self.master.ms);
        put_delta(&mut self.buf, id.seq, self.master.seq);
        encode_pairs(&mut self.buf, pairs);
    }

    fn remove(&mut self, i: usize) {
        self.garbage += self.record_len(i);
        self.offsets.remove(i);
        self.deleted += 1;
        self.maybe_compact();
    }

    fn drain_front(&mut self, k: usize) {
        for i in 0..k {
            self.garbage += self.record_len(i);
        }
        self.offsets.drain(..k);
        self.deleted += k;
        self.maybe_compact();
    }

    /// Drop deleted records once they are most of the buffer.
    fn maybe_compact(&mut self) {
        if self.garbage * 2 <= self.buf.len() {
            return;
        }
        let mut buf = Vec::with_capacity(self.buf.len() - self.garbage);
        let mut offsets = Vec::with_capacity(self.len());
        for i in 0..self.len() {
            let start = self.offsets[i] as usize;
            let end = start + self.record_len(i);
            offsets.push(buf.len() as u32);
            buf.extend_from_slice(&self.buf[start..end]);
        }
        self.buf = buf;
        self.offsets = offsets;
        self.garbage = 0;
    }

    /// Give back growth slack once the node is full (Redis's lpShrinkToFit).
    fn shrink(&mut self) {
        self.buf.shrink_to_fit();
        self.offsets.shrink_to_fit();
    }

    fn heap_size(&self) -> usize {
        self.buf.capacity() + self.offsets.capacity() * 4 + self.master_fields.len()
    }
}

/// A pending entry: delivered to `consumer`, not yet acknowledged.
#[derive(Clone, Debug, PartialEq)]
pub struct Nack {
    /// Unix ms of the last delivery.
    pub delivery_time: i64,
    pub delivery_count: u64,
    pub consumer: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Consumer {
    /// Unix ms of the last interaction (XREADGROUP, XCLAIM, XAUTOCLAIM).
    pub seen_time: i64,
    pub pel: BTreeSet<StreamId>,
}

/// The "unknown" entries-read value (SCG_INVALID_ENTRIES_READ).
pub const INVALID_ENTRIES_READ: i64 = -1;

#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    pub last_id: StreamId,
    /// Logical read counter, or INVALID_ENTRIES_READ.
    pub entries_read: i64,
    pub pel: BTreeMap<StreamId, Nack>,
    pub consumers: BTreeMap<Vec<u8>, Consumer>,
}

impl Group {
    pub fn new(last_id: StreamId, entries_read: i64) -> Group {
        Group { last_id, entries_read, pel: BTreeMap::new(), consumers: BTreeMap::new() }
    }

    /// Create `name` if missing; returns whether it was created.
    pub fn create_consumer(&mut self, name: &[u8], now: i64) -> bool {
        if self.consumers.contains_key(name) {
            return false;
        }
        self.consumers.insert(name.to_vec(), Consumer { seen_time: now, pel: BTreeSet::new() });
        true
    }

    /// Delete a consumer and its pending entries; returns how many it had.
    pub fn delete_consumer(&mut self, name: &[u8]) -> Option<usize> {
        let c = self.consumers.remove(name)?;
        for id in &c.pel {
            self.pel.remove(id);
        }
        Some(c.pel.len())
    }

    /// Acknowledge `id`; true if it was pending.
    pub fn ack(&mut self, id: StreamId) -> bool {
        match self.pel.remove(&id) {
            Some(n) => {
                if let Some(c) = self.consumers.get_mut(&n.consumer) {
                    c.pel.remove(&id);
                }
                true
            }
            None => false,
        }
    }

    /// Give pending `id` to `consumer` (which must exist), creating the NACK if missing.
    pub fn assign(&mut self, id: StreamId, consumer: &[u8], delivery_time: i64, count: Option<u64>) -> &Nack {
        if let Some(old) = self.pel.get(&id).map(|n| n.consumer.clone()) {
            if old != consumer {
                if let Some(c) = self.consumers.get_mut(&old) {
                    c.pel.remove(&id);
                }
            }
        }
        if let Some(c) = self.consumers.get_mut(consumer) {
            c.pel.insert(id);
        }
        let n = self.pel.entry(id).or_insert_with(|| Nack {
            delivery_time,
            delivery_count: 0,
            consumer: consumer.to_vec(),
        });
        n.consumer = consumer.to_vec();
        n.delivery_time = delivery_time;
        if let Some(c) = count {
            n.delivery_count = c;
        }
        n
    }
}

/// How XADD picks the new entry's id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdSpec {
    /// `*`
    Auto,
    /// `<ms>-*`
    AutoSeq(u64),
    /// `<ms>-<seq>` or `<ms>`
    Explicit(StreamId),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppendError {
    /// The id is not greater than the last one (or the sequence would overflow).
    NotGreater,
    /// Field and value bytes exceed what a listpack can hold.
    TooLarge,
    /// `<ms>-*` with the last id at `<ms>-18446744073709551615` (Redis 7.0 reports it as TooLarge: its
    /// errno is left unset there).
    SeqExhausted,
}

/// A trimming request (XADD/XTRIM's MAXLEN/MINID options).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trim {
    MaxLen(u64),
    MinId(StreamId),
}

/// Node size limits, from config.
#[derive(Clone, Copy, Debug)]
pub struct NodeLimits {
    pub max_bytes: u64,
    pub max_entries: u64,
}

/// Redis's STREAM_LISTPACK_MAX_SIZE.
const LISTPACK_MAX_SIZE: u64 = 1 << 30;

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Stream {
    nodes: BTreeMap<StreamId, Node>,
    pub length: u64,
    pub last_id: StreamId,
    /// recorded-first-entry-id
    pub first_id: StreamId,
    pub max_deleted_id: StreamId,
    pub entries_added: u64,
    pub groups: BTreeMap<Vec<u8>, Group>,
}

impl Stream {
    pub fn new() -> Stream {
        Stream::default()
    }

    pub fn len(&self) -> u64 {
        self.length
    }

    pub fn is_empty(&self) -> bool {
        self.length == 0
    }

    /// XINFO radix-tree-keys.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// XINFO radix-tree-nodes: the nodes Redis's rax would use for the node keys (16-byte big-endian ids):
    /// a compressed node per shared run of bytes, a branching node where keys diverge, a leaf per key.
    pub fn rax_nodes(&self) -> usize {
        fn sub(keys: &[[u8; 16]], d: usize) -> usize {
            if d == 16 {
                return 1;
            }
            if keys.len() == 1 {
                return 2;
            }
            let mut p = d;
            while p < 16 && keys.iter().all(|k| k[p] == keys[0][p]) {
                p += 1;
            }
            if p == 16 {
                return 1;
            }
            let mut n = usize::from(p > d) + 1;
            let mut i = 0;
            while i < keys.len() {
                let mut j = i + 1;
                while j < keys.len() && keys[j][p] == keys[i][p] {
                    j += 1;
                }
                n += sub(&keys[i..j], p + 1);
                i = j;
            }
            n
        }
        let keys: Vec<[u8; 16]> = self
            .nodes
            .keys()
            .map(|id| {
                let mut k = [0u8; 16];
                k[..8].copy_from_slice(&id.ms.to_be_bytes());
                k[8..].copy_from_slice(&id.seq.to_be_bytes());
                k
            })
            .collect();
        if keys.is_empty() {
            1
        } else {
            sub(&keys, 0)
        }
    }

    /// Add an entry (streamAppendItem). `now_ms` feeds `*` ids.
    pub fn append(
        &mut self,
        spec: IdSpec,
        pairs: &[&[u8]],
        now_ms: u64,
        lim: NodeLimits,
    ) -> Result<StreamId, AppendError> {
        let last = self.last_id;
        let id = match spec {
            IdSpec::Auto => {
                if now_ms > last.ms {
                    StreamId::new(now_ms, 0)
                } else {
                    last.incr().ok_or(AppendError::NotGreater)?
                }
            }
            IdSpec::AutoSeq(ms) => {
                if ms == last.ms {
                    if last.seq == u64::MAX {
                        return Err(AppendError::SeqExhausted);
                    }
                    StreamId::new(ms, last.seq + 1)
                } else {
                    StreamId::new(ms, 0)
                }
            }
            IdSpec::Explicit(id) => id,
        };
        if id <= last {
            return Err(AppendError::NotGreater);
        }
        let total: u64 = pairs.iter().map(|p| p.len() as u64).sum();
        if total > LISTPACK_MAX_SIZE {
            return Err(AppendError::TooLarge);
        }
        let max_bytes =
            if lim.max_bytes == 0 || lim.max_bytes > LISTPACK_MAX_SIZE { LISTPACK_MAX_SIZE } else { lim.max_bytes };
        let tail_fits = match self.nodes.last_key_value() {
            Some((_, n)) => {
                !((n.bytes as u64) + total >= max_bytes
                    || (lim.max_entries != 0 && (n.len() + n.deleted) as u64 >= lim.max_entries))
            }
            None => false,
        };
        if tail_fits {
            let mut tail = self.nodes.last_entry().expect("tail node");
            let n = tail.get_mut();
            n.push(id, pairs);
            let e = n.entry_at(n.len() - 1);
            let mut add = e.lp_bytes(n.master, &n.master_fields);
            // The master entry's live count grows to two bytes at 128.
            if n.len() == 128 {
                add += 1;
            }
            n.bytes += add;
        } else {
            if let Some(mut tail) = self.nodes.last_entry() {
                tail.get_mut().shrink();
            }
            let mut n = Node::new(id);
            n.push(id, pairs);
            let e = n.entry_at(0);
            let master_fields = e.packed_fields();
            let bytes = e.first_node_bytes(id, &master_fields);
            n.master_fields = master_fields;
            n.bytes = bytes;
            self.nodes.insert(id, n);
        }
        self.length += 1;
        self.entries_added += 1;
        self.last_id = id;
        if self.length == 1 {
            self.first_id = id;
        }
        Ok(id)
    }

    /// The first key of the node that may hold `id`.
    fn node_key_for(&self, id: StreamId) -> StreamId {
        self.nodes.range(..=id).next_back().map(|(k, _)| *k).unwrap_or(StreamId::MIN)
    }

    /// Live entries with `start <= id <= end`, in order.
    pub fn range(&self, start: StreamId, end: StreamId) -> impl Iterator<Item = Entry<'_>> + '_ {
        let from = self.node_key_for(start);
        let nodes = if start <= end { Some(self.nodes.range(from..=end)) } else { None };
        nodes
            .into_iter()
            .flatten()
            .flat_map(move |(_, n)| {
                let i = match n.find(start) {
                    Ok(i) | Err(i) => i,
                };
                (i..n.len()).map(move |j| n.entry_at(j))
            })
            .take_while(move |e| e.id <= end)
    }

    /// Live entries with `start <= id <= end`, last first.
    pub fn range_rev(&self, start: StreamId, end: StreamId) -> impl Iterator<Item = Entry<'_>> + '_ {
        let from = self.node_key_for(start);
        let nodes = if start <= end { Some(self.nodes.range(from..=end)) } else { None };
        nodes
            .into_iter()
            .flatten()
            .rev()
            .flat_map(move |(_, n)| {
                let i = match n.find(end) {
                    Ok(i) => i + 1,
                    Err(i) => i,
                };
                (0..i).rev().map(move |j| n.entry_at(j))
            })
            .take_while(move |e| e.id >= start)
    }

    /// Every live entry.
    pub fn iter(&self) -> impl Iterator<Item = Entry<'_>> + '_ {
        self.nodes.values().flat_map(|n| (0..n.len()).map(move |j| n.entry_at(j)))
    }

    pub fn get(&self, id: StreamId) -> Option<Entry<'_>> {
        let (_, n) = self.nodes.range(..=id).next_back()?;
        n.find(id).ok().map(|i| n.entry_at(i))
    }

    pub fn contains(&self, id: StreamId) -> bool {
        self.get(id).is_some()
    }

    /// The first live entry. A node may hold only tombstones (an exact MINID trim can empty one whose last
    /// record is deleted, and Redis keeps such a node too), so empty nodes are skipped.
    pub fn first_entry(&self) -> Option<Entry<'_>> {
        self.nodes.values().find(|n| n.len() > 0).map(|n| n.entry_at(0))
    }

    pub fn last_entry(&self) -> Option<Entry<'_>> {
        self.nodes.values().rev().find(|n| n.len() > 0).map(|n| n.entry_at(n.len() - 1))
    }

    /// streamLastValidID: the last live id (0-0 when empty).
    pub fn last_valid_id(&self) -> StreamId {
        self.last_entry().map_or(StreamId::MIN, |e| e.id)
    }

    /// Remove one entry (streamDeleteItem); keeps first_id / max_deleted_id as XDEL does.
    pub fn delete(&mut self, id: StreamId) -> bool {
        let Some(key) = self.nodes.range(..=id).next_back().map(|(k, _)| *k) else { return false };
        let Some(n) = self.nodes.get_mut(&key) else { return false };
        let Ok(i) = n.find(id) else { return false };
        n.remove(i);
        if n.len() == 0 {
            self.nodes.remove(&key);
        }
        self.length -= 1;
        true
    }

    /// XDEL's bookkeeping after deleting `ids` (those actually deleted).
    pub fn delete_ids(&mut self, ids: &[StreamId]) -> u64 {
        let mut deleted = 0;
        let mut first = false;
        for &id in ids {
            if self.delete(id) {
                if id == self.first_id {
                    first = true;
                }
                if id > self.max_deleted_id {
                    self.max_deleted_id = id;
                }
                deleted += 1;
            }
        }
        if deleted > 0 {
            if self.length == 0 {
                self.first_id = StreamId::MIN;
            } else if first {
                self.first_id = self.first_entry().map_or(StreamId::MIN, |e| e.id);
            }
        }
        deleted
    }

    /// streamTrim: remove entries from the head; `approx` removes whole nodes only; `limit` (0 = none) caps
    /// the entries removed. Returns how many went.
    pub fn trim(&mut self, how: Trim, approx: bool, limit: u64) -> u64 {
        let mut deleted = 0u64;
        while let Some(mut first) = self.nodes.first_entry() {
            if let Trim::MaxLen(max) = how {
                if self.length <= max {
                    break;
                }
            }
            let entries = first.get().len() as u64;
            if limit != 0 && deleted + entries > limit {
                break;
            }
            let remove_node = match how {
                Trim::MaxLen(max) => self.length - entries >= max,
                Trim::MinId(min) => first.get().last < min,
            };
            if remove_node {
                first.remove();
                self.length -= entries;
                deleted += entries;
                continue;
            }
            if approx {
                break;
            }
            // Trim inside this node, then stop: there was enough to delete here.
            let n = first.get_mut();
            let mut k = 0;
            while k < n.len() {
                let stop = match how {
                    Trim::MaxLen(max) => self.length <= max,
                    Trim::MinId(min) => n.id_at(k) >= min,
                };
                if stop {
                    break;
                }
                k += 1;
                self.length -= 1;
                deleted += 1;
            }
            n.drain_front(k);
            break;
        }
        if deleted > 0 {
            self.first_id = self.first_entry().map_or(StreamId::MIN, |e| e.id);
        }
        deleted
    }

    /// streamRangeHasTombstones: may [start, end] hold a deleted entry?
    pub fn range_has_tombstones(&self, start: StreamId, end: StreamId) -> bool {
        if self.length == 0 || self.max_deleted_id.is_zero() {
            return false;
        }
        if self.first_id > self.max_deleted_id {
            return false;
        }
        start <= self.max_deleted_id && self.max_deleted_id <= end
    }

    /// streamEstimateDistanceFromFirstEverEntry: `id`'s logical read counter, or INVALID_ENTRIES_READ.
    pub fn estimate_distance(&self, id: StreamId) -> i64 {
        if self.entries_added == 0 {
            return 0;
        }
        if self.length == 0 && id <= self.last_id {
            return self.entries_added as i64;
        }
        if id == self.last_id {
            return self.entries_added as i64;
        } else if id > self.last_id {
            return INVALID_ENTRIES_READ;
        }
        if self.max_deleted_id.is_zero() || self.max_deleted_id < self.first_id {
            if id < self.first_id {
                return (self.entries_added - self.length) as i64;
            } else if id == self.first_id {
                return (self.entries_added - self.length + 1) as i64;
            }
        }
        INVALID_ENTRIES_READ
    }

    /// A group's lag (streamReplyWithCGLag), None when it cannot be known.
    pub fn lag(&self, g: &Group) -> Option<i64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if g.entries_read != INVALID_ENTRIES_READ && !self.range_has_tombstones(g.last_id, StreamId::MAX) {
            return Some(self.entries_added as i64 - g.entries_read);
        }
        let read = self.estimate_distance(g.last_id);
        if read != INVALID_ENTRIES_READ {
            Some(self.entries_added as i64 - read)
        } else {
            None
        }
    }

    /// Deliver new entries (ids > `after`) to `consumer` of `group` (XREADGROUP `>`): advances the group's
    /// last id and read counter and, unless `noack`, adds them to the PELs. Returns the ids delivered and
    /// whether the group's last id moved.
    pub fn deliver_new(
        &mut self,
        group: &[u8],
        consumer: &[u8],
        after: StreamId,
        count: usize,
        noack: bool,
        now: i64,
    ) -> (Vec<StreamId>, bool) {
        let Some(start) = after.incr() else { return (Vec::new(), false) };
        let ids: Vec<StreamId> = {
            let it = self.range(start, StreamId::MAX).map(|e| e.id);
            if count > 0 {
                it.take(count).collect()
            } else {
                it.collect()
            }
        };
        let mut moved = false;
        for &id in &ids {
            let tomb = self.range_has_tombstones(id, StreamId::MAX);
            let est = self.estimate_distance(id);
            let added = self.entries_added;
            let Some(g) = self.groups.get_mut(group) else { break };
            if id > g.last_id {
                if g.entries_read != INVALID_ENTRIES_READ && !tomb {
                    g.entries_read += 1;
                } else if added > 0 {
                    g.entries_read = est;
                }
                g.last_id = id;
                moved = true;
            }
            if !noack {
                g.assign(id, consumer, now, Some(1));
            }
        }
        (ids, moved)
    }

    pub fn heap_size(&self) -> usize {
        let mut n = std::mem::size_of::<Stream>();
        for node in self.nodes.values() {
            // The node and its B-tree slot (key and value) with some tree overhead.
            n += 2 * std::mem::size_of::<Node>() + node.heap_size();
        }
        for (name, g) in &self.groups {
            n += 96 + name.len() + g.pel.len() * 64;
            for (c, cons) in &g.consumers {
                n += 64 + c.len() + cons.pel.len() * 40;
            }
        }
        n
    }

    // ---- persistence support: nodes as they are, so that a reloaded stream trims and reports alike ----

    /// The first record's id, tombstones included (Redis's streamGetEdgeID without skipping them): the first
    /// node's key.
    pub fn first_record_id(&self) -> Option<StreamId> {
        self.nodes.keys().next().copied()
    }

    /// Nodes as (key, last record id, tombstone count, live entries).
    pub fn nodes_with_keys(&self) -> impl Iterator<Item = (StreamId, StreamId, usize, Vec<Entry<'_>>)> + '_ {
        self.nodes.iter().map(|(k, n)| (*k, n.last, n.deleted, (0..n.len()).map(|i| n.entry_at(i)).collect()))
    }

    /// Append a node while rebuilding a stream: `master` is its key (its first record, maybe deleted since),
    /// `last` its last record's id, `entries` (id, alternating field/value) in ascending order within
    /// [master, last], past the previous node; the node must not be empty.
    pub fn push_node(
        &mut self,
        master: StreamId,
        last: StreamId,
        deleted: usize,
        entries: &[(StreamId, Vec<&[u8]>)],
    ) -> bool {
        // A node of tombstones only is possible (see `first_entry`), one with nothing at all is not.
        if entries.is_empty() && deleted == 0 {
            return false;
        }
        let after_tail = self.nodes.last_key_value().is_none_or(|(k, n)| *k < master && n.last < master);
        if master > last
            || entries.first().is_some_and(|e| e.0 < master)
            || entries.last().is_some_and(|e| e.0 > last)
            || !after_tail
            || entries.windows(2).any(|w| w[0].0 >= w[1].0)
            || entries.iter().any(|(_, p)| p.is_empty() || p.len() % 2 != 0)
        {
            return false;
        }
        let mut n = Node::new(master);
        for (id, pairs) in entries {
            n.push(*id, pairs);
        }
        // The master entry's fields are the first record's, which may be gone: then take the first live one.
        if n.len() > 0 {
            let e = n.entry_at(0);
            let master_fields = e.packed_fields();
            let mut bytes = e.first_node_bytes(master, &master_fields);
            for i in 1..n.len() {
                bytes += n.entry_at(i).lp_bytes(master, &master_fields);
            }
            n.master_fields = master_fields;
            n.bytes = bytes;
        } else {
            n.bytes = 7 + 8;
        }
        n.deleted = deleted;
        n.last = last;
        n.shrink();
        self.length += entries.len() as u64;
        self.nodes.insert(master, n);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIM: NodeLimits = NodeLimits { max_bytes: 4096, max_entries: 100 };

    fn id(ms: u64, seq: u64) -> StreamId {
        StreamId::new(ms, seq)
    }

    fn add(s: &mut Stream, ms: u64, seq: u64) -> Result<StreamId, AppendError> {
        s.append(IdSpec::Explicit(id(ms, seq)), &[b"f", b"v"], 0, LIM)
    }

    #[test]
    fn parses_ids_as_redis() {
        assert_eq!(StreamId::parse(b"1-2", 0, true, false), Some((id(1, 2), true)));
        assert_eq!(StreamId::parse(b"5", 7, true, false), Some((id(5, 7), true)));
        assert_eq!(StreamId::parse(b"-", 0, true, false), None);
        assert_eq!(StreamId::parse(b"+", 0, false, false), Some((StreamId::MAX, true)));
        assert_eq!(StreamId::parse(b"3-*", 0, true, true), Some((id(3, 0), false)));
        assert_eq!(StreamId::parse(b"3-*", 0, true, false), None);
        assert_eq!(StreamId::parse(b"1-", 0, true, false), None);
        assert_eq!(StreamId::parse(b"a-1", 0, true, false), None);
        assert_eq!(
            StreamId::parse(b"18446744073709551615-18446744073709551615", 0, true, false),
            Some((StreamId::MAX, true))
        );
        assert_eq!(StreamId::parse(b"18446744073709551616", 0, true, false), None);
        assert_eq!(id(1, u64::MAX).incr(), Some(id(2, 0)));
        assert_eq!(StreamId::MAX.incr(), None);
        assert_eq!(StreamId::MIN.decr(), None);
        assert_eq!(id(2, 0).decr(), Some(id(1, u64::MAX)));
    }

    #[test]
    fn append_checks_ids() {
        let mut s = Stream::new();
        assert_eq!(add(&mut s, 5, 5), Ok(id(5, 5)));
        assert_eq!(add(&mut s, 5, 5), Err(AppendError::NotGreater));
        assert_eq!(s.append(IdSpec::AutoSeq(5), &[b"a", b"b"], 0, LIM), Ok(id(5, 6)));
        assert_eq!(s.append(IdSpec::AutoSeq(4), &[b"a", b"b"], 0, LIM), Err(AppendError::NotGreater));
        assert_eq!(s.append(IdSpec::AutoSeq(9), &[b"a", b"b"], 0, LIM), Ok(id(9, 0)));
        assert_eq!(s.append(IdSpec::Auto, &[b"a", b"b"], 3, LIM), Ok(id(9, 1)));
        assert_eq!(s.append(IdSpec::Auto, &[b"a", b"b"], 100, LIM), Ok(id(100, 0)));
        assert_eq!(s.len(), 5);
        assert_eq!(s.entries_added, 5);
        assert_eq!(s.first_id, id(5, 5));
    }

    #[test]
    fn nodes_split_and_ranges_cross_them() {
        let mut s = Stream::new();
        let lim = NodeLimits { max_bytes: 4096, max_entries: 3 };
        for i in 1..=10 {
            s.append(IdSpec::Explicit(id(i, 0)), &[b"f", b"v"], 0, lim).unwrap();
        }
        assert_eq!(s.node_count(), 4);
        let all: Vec<u64> = s.range(StreamId::MIN, StreamId::MAX).map(|e| e.id.ms).collect();
        assert_eq!(all, (1..=10).collect::<Vec<_>>());
        let mid: Vec<u64> = s.range(id(3, 1), id(7, 0)).map(|e| e.id.ms).collect();
        assert_eq!(mid, vec![4, 5, 6, 7]);
        let rev: Vec<u64> = s.range_rev(id(3, 0), id(6, 5)).map(|e| e.id.ms).collect();
        assert_eq!(rev, vec![6, 5, 4, 3]);
        assert_eq!(s.range(id(8, 0), id(2, 0)).count(), 0);
        let e = s.get(id(4, 0)).unwrap();
        assert_eq!(e.elements().collect::<Vec<_>>(), vec![&b"f"[..], b"v"]);
        // Keys 1, 4, 7, 10: a shared 7-byte run, a branch, then a chain and a leaf for each.
        assert_eq!(s.rax_nodes(), 10);
        assert_eq!(Stream::new().rax_nodes(), 1);
    }

    #[test]
    fn node_records_survive_deletes_and_compaction() {
        let mut s = Stream::new();
        // The master id has a high sequence: later entries' sequence deltas are negative.
        s.append(IdSpec::Explicit(id(1, 900)), &[b"k", b"first"], 0, LIM).unwrap();
        for i in 2..=60u64 {
            let v = format!("value-{i}");
            s.append(IdSpec::Explicit(id(i, i % 3)), &[b"k", v.as_bytes(), b"x", b"y"], 0, LIM).unwrap();
        }
        assert_eq!(s.node_count(), 1);
        let victims: Vec<StreamId> = (2..=50u64).map(|i| id(i, i % 3)).collect();
        assert_eq!(s.delete_ids(&victims), 49);
        let n = s.nodes.values().next().unwrap();
        assert!(n.garbage * 2 <= n.buf.len(), "compacted once mostly garbage");
        assert_eq!(n.deleted, 49);
        let left: Vec<StreamId> = s.iter().map(|e| e.id).collect();
        let mut want = vec![id(1, 900)];
        want.extend((51..=60u64).map(|i| id(i, i % 3)));
        assert_eq!(left, want);
        let e = s.get(id(55, 1)).unwrap();
        assert_eq!(e.elements().collect::<Vec<_>>(), vec![&b"k"[..], b"value-55", b"x", b"y"]);
        assert_eq!(e.num_fields(), 2);
        assert_eq!(s.first_entry().unwrap().elements().nth(1), Some(&b"first"[..]));
    }

    #[test]
    fn minid_trim_sees_a_nodes_deleted_last_record() {
        let mut s = Stream::new();
        let lim = NodeLimits { max_bytes: 0, max_entries: 3 };
        for i in 1..=6 {
            s.append(IdSpec::Explicit(id(i, 0)), &[b"f", b"v"], 0, lim).unwrap();
        }
        s.delete_ids(&[id(3, 0)]);
        // The first node's last record is 3-0 (deleted): not below MINID 3-0, so it stays, as in Redis.
        assert_eq!(s.trim(Trim::MinId(id(3, 0)), true, 0), 0);
        assert_eq!(s.trim(Trim::MinId(id(4, 0)), true, 0), 2);
        assert_eq!(s.first_record_id(), Some(id(4, 0)));
        // Exact MINID trimming can leave a node of tombstones only (its last record 6-0 is deleted).
        s.delete_ids(&[id(6, 0)]);
        assert_eq!(s.trim(Trim::MinId(id(6, 0)), false, 0), 2);
        assert_eq!((s.len(), s.node_count()), (0, 1));
        assert!(s.first_entry().is_none() && s.last_entry().is_none());
        s.append(IdSpec::Explicit(id(8, 0)), &[b"f", b"v"], 0, lim).unwrap();
        assert_eq!(s.first_entry().map(|e| e.id), Some(id(8, 0)));
        assert_eq!(s.range(StreamId::MIN, StreamId::MAX).count(), 1);
    }

    #[test]
    fn delete_tracks_first_and_max_deleted() {
        let mut s = Stream::new();
        for i in 1..=5 {
            add(&mut s, i, 0).unwrap();
        }
        assert_eq!(s.delete_ids(&[id(2, 0)]), 1);
        assert_eq!(s.first_id, id(1, 0));
        assert_eq!(s.delete_ids(&[id(1, 0), id(9, 9)]), 1);
        assert_eq!(s.first_id, id(3, 0));
        assert_eq!(s.max_deleted_id, id(2, 0));
        assert_eq!(s.len(), 3);
        assert!(!s.contains(id(1, 0)));
    }

    #[test]
    fn approximate_trim_drops_whole_nodes_only() {
        let mut s = Stream::new();
        let lim = NodeLimits { max_bytes: 4096, max_entries: 10 };
        for i in 1..=100 {
            s.append(IdSpec::Explicit(id(i, 0)), &[b"x", b"v"], 0, lim).unwrap();
        }
        assert_eq!(s.trim(Trim::MaxLen(55), true, 30), 30);
        assert_eq!(s.len(), 70);
        assert_eq!(s.trim(Trim::MaxLen(55), true, 0), 10);
        assert_eq!(s.len(), 60);
        assert_eq!(s.trim(Trim::MaxLen(55), false, 0), 5);
        assert_eq!(s.len(), 55);
        assert_eq!(s.first_id, id(46, 0));
        assert_eq!(s.trim(Trim::MinId(id(50, 0)), false, 0), 4);
        assert_eq!(s.first_entry().unwrap().id, id(50, 0));
    }

    #[test]
    fn lag_and_read_counter() {
        let mut s = Stream::new();
        for i in 1..=5 {
            add(&mut s, i, 0).unwrap();
        }
        s.groups.insert(b"g".to_vec(), Group::new(StreamId::MIN, INVALID_ENTRIES_READ));
        assert_eq!(s.lag(&s.groups[&b"g"[..]]), Some(5));
        s.groups.get_mut(&b"g"[..]).unwrap().create_consumer(b"c", 0);
        let (ids, moved) = s.deliver_new(b"g", b"c", StreamId::MIN, 1, false, 0);
        assert_eq!(ids, vec![id(1, 0)]);
        assert!(moved);
        let g = &s.groups[&b"g"[..]];
        assert_eq!(g.entries_read, 1);
        assert_eq!(s.lag(g), Some(4));
        assert_eq!(g.pel.len(), 1);
        assert_eq!(g.consumers[&b"c"[..]].pel.len(), 1);
        s.delete_ids(&[id(3, 0)]);
        assert_eq!(s.lag(&s.groups[&b"g"[..]]), None);
    }
}
