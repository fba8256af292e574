//! Redis's RDB format, version 10 (Redis 7.0), both ways (persist layer, pure: the Snapshotter actor writes
//! and loads files with it, DUMP/RESTORE use its value encoding, the AOF loader reads an RDB preamble).
//!
//! Writing lays every value out as redis-server 7.0.15 does (rdb.c's rdbSaveObject): strings int-encoded when
//! they are short canonical integers and LZF-compressed when asked and worth it, lists as QUICKLIST_2 (one
//! listpack per node), hashes and sorted sets as listpacks or as plain pairs by their encoding, sets as an
//! intset or plain members, streams as STREAM_LISTPACKS_2 with their groups. The writer appends to a Vec:
//! the caller owns the buffering and computes the trailing CRC64 with `Crc64` over everything written.
//!
//! Reading is a stream of `Item`s from any `BufRead` (bytes are taken from its buffer), for every type Redis 2.x to 7.0 writes (ziplists,
//! zipmaps, quicklists of ziplists included). Values are rebuilt into our types with the encodings the
//! `Encodings` given ask for, as Redis's loader converts them. Every blob is validated as Redis's deep
//! sanitization does, duplicates in sets, hashes and sorted sets are corruption, and no length read from
//! the input is trusted for an allocation: corrupt or truncated input is an `RdbError` naming the problem
//! and the byte offset, never a panic. Module values and module aux data cannot be loaded (we have no
//! modules) and are refused naming the module.

use super::packs::{self, Elem, LpWriter, Text};
use super::{lzf, rdb_stream};
use crate::types::db::{idle_seconds, lfu_freq, Entry};
use crate::types::encodings::Encodings;
use crate::types::hash::Hash;
use crate::types::list::List;
use crate::types::rawstr::RawStr;
use crate::types::set::{Member, Set};
use crate::types::value::{Value, EMBSTR_MAX};
use crate::types::zset::ZSet;
use std::collections::HashSet;
use std::fmt;
use std::io::BufRead;

/// The RDB version we write (Redis 7.0's) and the newest we read.
pub const RDB_VERSION: u16 = 10;

// Value types (rdb.h).
/// RDB_TYPE_STRING (0).
pub const TYPE_STRING: u8 = 0;
/// RDB_TYPE_LIST (1).
pub const TYPE_LIST: u8 = 1;
/// RDB_TYPE_SET (2).
pub const TYPE_SET: u8 = 2;
/// RDB_TYPE_ZSET (3).
pub const TYPE_ZSET: u8 = 3;
/// RDB_TYPE_HASH (4).
pub const TYPE_HASH: u8 = 4;
/// RDB_TYPE_ZSET_2 (5).
pub const TYPE_ZSET_2: u8 = 5;
/// RDB_TYPE_MODULE (6).
pub const TYPE_MODULE: u8 = 6;
/// RDB_TYPE_MODULE_2 (7).
pub const TYPE_MODULE_2: u8 = 7;
/// RDB_TYPE_HASH_ZIPMAP (9).
pub const TYPE_HASH_ZIPMAP: u8 = 9;
/// RDB_TYPE_LIST_ZIPLIST (10).
pub const TYPE_LIST_ZIPLIST: u8 = 10;
/// RDB_TYPE_SET_INTSET (11).
pub const TYPE_SET_INTSET: u8 = 11;
/// RDB_TYPE_ZSET_ZIPLIST (12).
pub const TYPE_ZSET_ZIPLIST: u8 = 12;
/// RDB_TYPE_HASH_ZIPLIST (13).
pub const TYPE_HASH_ZIPLIST: u8 = 13;
/// RDB_TYPE_LIST_QUICKLIST (14).
pub const TYPE_LIST_QUICKLIST: u8 = 14;
/// RDB_TYPE_STREAM_LISTPACKS (15).
pub const TYPE_STREAM_LISTPACKS: u8 = 15;
/// RDB_TYPE_HASH_LISTPACK (16).
pub const TYPE_HASH_LISTPACK: u8 = 16;
/// RDB_TYPE_ZSET_LISTPACK (17).
pub const TYPE_ZSET_LISTPACK: u8 = 17;
/// RDB_TYPE_LIST_QUICKLIST_2 (18).
pub const TYPE_LIST_QUICKLIST_2: u8 = 18;
/// RDB_TYPE_STREAM_LISTPACKS_2 (19).
pub const TYPE_STREAM_LISTPACKS_2: u8 = 19;
/// Redis 7.2's (RDB 11); read so that a payload of one is understood, never written.
pub const TYPE_SET_LISTPACK: u8 = 20;
/// Redis 7.2's (RDB 11); read, never written.
pub const TYPE_STREAM_LISTPACKS_3: u8 = 21;

// Opcodes.
/// RDB_OPCODE_FUNCTION2 (245).
pub const OPCODE_FUNCTION2: u8 = 245;
/// RDB_OPCODE_FUNCTION (246).
pub const OPCODE_FUNCTION: u8 = 246;
/// RDB_OPCODE_MODULE_AUX (247).
pub const OPCODE_MODULE_AUX: u8 = 247;
/// RDB_OPCODE_IDLE (248).
pub const OPCODE_IDLE: u8 = 248;
/// RDB_OPCODE_FREQ (249).
pub const OPCODE_FREQ: u8 = 249;
/// RDB_OPCODE_AUX (250).
pub const OPCODE_AUX: u8 = 250;
/// RDB_OPCODE_RESIZEDB (251).
pub const OPCODE_RESIZEDB: u8 = 251;
/// RDB_OPCODE_EXPIRETIME_MS (252).
pub const OPCODE_EXPIRETIME_MS: u8 = 252;
/// RDB_OPCODE_EXPIRETIME (253).
pub const OPCODE_EXPIRETIME: u8 = 253;
/// RDB_OPCODE_SELECTDB (254).
pub const OPCODE_SELECTDB: u8 = 254;
/// RDB_OPCODE_EOF (255).
pub const OPCODE_EOF: u8 = 255;

/// Quicklist node containers (quicklist.h).
const QL_PLAIN: u64 = 1;
const QL_PACKED: u64 = 2;
/// Elements from this size get a PLAIN node of their own (Redis's packed_threshold, 1 GB).
const PLAIN_THRESHOLD: usize = 1 << 30;

/// Most elements or bytes reserved up front from a count read from the input: beyond it, containers grow
/// as the elements actually arrive.
const PREALLOC_CAP: usize = 4096;

// =========================================================================================================
// CRC64
// =========================================================================================================

static CRC64: crc::Crc<u64, crc::Table<16>> = crc::Crc::<u64, crc::Table<16>>::new(&crc::CRC_64_REDIS);

/// Redis's CRC-64 (Jones polynomial, reflected, no final xor) over an RDB file or a DUMP payload, computed
/// incrementally.
#[derive(Clone)]
pub struct Crc64 {
    digest: crc::Digest<'static, u64, crc::Table<16>>,
}

impl Default for Crc64 {
    fn default() -> Self {
        Crc64::new()
    }
}

impl Crc64 {
    /// A checksum of nothing yet (0).
    pub fn new() -> Self {
        Crc64 { digest: CRC64.digest() }
    }

    /// A checksum continuing from `crc`, the value of an earlier `finish` (CRC_64_REDIS has no final xor and
    /// is reflected both ways, so the running state is the checksum itself, bit-reversed as the crate keeps
    /// it).
    pub fn resume(crc: u64) -> Self {
        Crc64 { digest: CRC64.digest_with_initial(crc.reverse_bits()) }
    }

    /// Add bytes.
    pub fn update(&mut self, b: &[u8]) {
        self.digest.update(b);
    }

    /// The checksum of everything added so far (more may still be added).
    pub fn finish(&self) -> u64 {
        self.digest.clone().finalize()
    }
}

/// CRC64 of `data` in one go.
pub fn crc64(data: &[u8]) -> u64 {
    CRC64.checksum(data)
}

// =========================================================================================================
// Writing
// =========================================================================================================

/// rdbSaveLen: 6-bit, 14-bit, 32-bit or 64-bit big-endian lengths.
pub fn write_len(out: &mut Vec<u8>, n: u64) {
    if n < 1 << 6 {
        out.push(n as u8);
    } else if n < 1 << 14 {
        out.push(0x40 | (n >> 8) as u8);
        out.push(n as u8);
    } else if n <= u32::MAX as u64 {
        out.push(0x80);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// rdbEncodeInteger: the 8, 16 or 32-bit form of `v`, or false when it needs more.
fn write_enc_int(out: &mut Vec<u8>, v: i64) -> bool {
    if let Ok(b) = i8::try_from(v) {
        out.extend_from_slice(&[0xC0, b as u8]);
    } else if let Ok(h) = i16::try_from(v) {
        out.push(0xC1);
        out.extend_from_slice(&h.to_le_bytes());
    } else if let Ok(w) = i32::try_from(v) {
        out.push(0xC2);
        out.extend_from_slice(&w.to_le_bytes());
    } else {
        return false;
    }
    true
}

/// rdbSaveRawString: a canonical integer of up to 11 characters that fits 32 bits is int-encoded; with
/// `compress` (rdbcompression yes) a string over 20 bytes is LZF-compressed when that saves at least 4
/// bytes; otherwise length and bytes.
pub fn write_string(out: &mut Vec<u8>, s: &[u8], compress: bool) {
    if s.len() <= 11 {
        if let Some(v) = crate::types::num::parse_i64(s) {
            if write_enc_int(out, v) {
                return;
            }
        }
    }
    if compress && s.len() > 20 {
        let done = lzf::compress_then(s, s.len() - 4, |c| {
            out.push(0xC3);
            write_len(out, c.len() as u64);
            write_len(out, s.len() as u64);
            out.extend_from_slice(c);
        });
        if done.is_some() {
            return;
        }
    }
    write_len(out, s.len() as u64);
    out.extend_from_slice(s);
}

/// rdbSaveLongLongAsStringObject: int-encoded when it fits 32 bits, else its decimal digits (never
/// compressed).
fn write_int_string(out: &mut Vec<u8>, v: i64) {
    if !write_enc_int(out, v) {
        let mut b = itoa::Buffer::new();
        let s = b.format(v).as_bytes();
        write_len(out, s.len() as u64);
        out.extend_from_slice(s);
    }
}

/// An absolute time in ms, 8 bytes little endian (rdbSaveMillisecondTime).
fn write_ms(out: &mut Vec<u8>, t: i64) {
    out.extend_from_slice(&t.to_le_bytes());
}

/// The file header: "REDIS0010" and the aux fields in order. Values are written as rdbSaveRawString does
/// without compression (Redis's own aux values are all under the 20 bytes compression starts at).
pub fn write_header(out: &mut Vec<u8>, aux: &[(&str, &[u8])]) {
    out.extend_from_slice(format!("REDIS{:04}", RDB_VERSION).as_bytes());
    for (k, v) in aux {
        write_aux(out, k.as_bytes(), v);
    }
}

/// One AUX field.
pub fn write_aux(out: &mut Vec<u8>, key: &[u8], value: &[u8]) {
    out.push(OPCODE_AUX);
    write_string(out, key, false);
    write_string(out, value, false);
}

/// RDB_OPCODE_FUNCTION2 records, one per library code, compressed as rdbcompression yes does.
pub fn write_functions<'a>(out: &mut Vec<u8>, codes: impl Iterator<Item = &'a [u8]>) {
    write_functions_with(out, codes, true);
}

/// `write_functions` for rdbcompression no.
pub fn write_functions_plain<'a>(out: &mut Vec<u8>, codes: impl Iterator<Item = &'a [u8]>) {
    write_functions_with(out, codes, false);
}

fn write_functions_with<'a>(out: &mut Vec<u8>, codes: impl Iterator<Item = &'a [u8]>, compress: bool) {
    for code in codes {
        out.push(OPCODE_FUNCTION2);
        write_string(out, code, compress);
    }
}

/// SELECTDB then RESIZEDB (keys and keys with a TTL), as rdbSaveDb starts a non-empty database.
pub fn write_select_db(out: &mut Vec<u8>, db: usize, keys: u64, expires: u64) {
    out.push(OPCODE_SELECTDB);
    write_len(out, db as u64);
    out.push(OPCODE_RESIZEDB);
    write_len(out, keys);
    write_len(out, expires);
}

/// The end-of-file opcode; the caller appends the CRC64 (8 bytes LE) of everything written, this byte
/// included.
pub fn write_eof(out: &mut Vec<u8>) {
    out.push(OPCODE_EOF);
}

/// Which access metadata a key is saved with: Redis writes the LRU idle time under an LRU maxmemory
/// policy, the LFU counter under an LFU one, nothing otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyMeta {
    /// No maxmemory policy that uses it: nothing.
    None,
    /// RDB_OPCODE_IDLE with the idle seconds.
    Lru,
    /// RDB_OPCODE_FREQ with the decayed counter.
    Lfu,
}

/// One key as rdbSaveKeyValuePair writes it: [EXPIRETIME_MS][IDLE | FREQ][type][key][value].
pub fn encode_entry_with(e: &Entry, expire_at: i64, compress: bool, meta: KeyMeta, out: &mut Vec<u8>) {
    if expire_at != 0 {
        out.push(OPCODE_EXPIRETIME_MS);
        write_ms(out, expire_at);
    }
    match meta {
        KeyMeta::None => {}
        KeyMeta::Lru => {
            out.push(OPCODE_IDLE);
            write_len(out, idle_seconds(e.lru()));
        }
        KeyMeta::Lfu => {
            out.push(OPCODE_FREQ);
            // The default lfu-decay-time (the encoder sees no config): the counter as OBJECT FREQ shows it then.
            out.push(lfu_freq(e.lru(), 1).min(255) as u8);
        }
    }
    let tpos = out.len();
    out.push(0);
    write_string(out, &e.key, compress);
    let t = write_body(&e.value, compress, out);
    out[tpos] = t;
}

/// One key, rdbcompression yes, no access metadata; fits `types::db::SnapEncoder`.
pub fn encode_entry(e: &Entry, expire_at: i64, out: &mut Vec<u8>) {
    encode_entry_with(e, expire_at, true, KeyMeta::None, out);
}

/// One key, rdbcompression no.
pub fn encode_entry_plain(e: &Entry, expire_at: i64, out: &mut Vec<u8>) {
    encode_entry_with(e, expire_at, false, KeyMeta::None, out);
}

/// One key with its LRU idle time (an LRU maxmemory policy), rdbcompression yes.
pub fn encode_entry_lru(e: &Entry, expire_at: i64, out: &mut Vec<u8>) {
    encode_entry_with(e, expire_at, true, KeyMeta::Lru, out);
}

/// One key with its LFU counter (an LFU maxmemory policy), rdbcompression yes.
pub fn encode_entry_lfu(e: &Entry, expire_at: i64, out: &mut Vec<u8>) {
    encode_entry_with(e, expire_at, true, KeyMeta::Lfu, out);
}

/// One key with its LRU idle time, rdbcompression no.
pub fn encode_entry_plain_lru(e: &Entry, expire_at: i64, out: &mut Vec<u8>) {
    encode_entry_with(e, expire_at, false, KeyMeta::Lru, out);
}

/// One key with its LFU counter, rdbcompression no.
pub fn encode_entry_plain_lfu(e: &Entry, expire_at: i64, out: &mut Vec<u8>) {
    encode_entry_with(e, expire_at, false, KeyMeta::Lfu, out);
}

/// The type byte and the value body, as rdbSaveObjectType + rdbSaveObject write them (DUMP's payload body).
pub fn encode_value(v: &Value, compress: bool, out: &mut Vec<u8>) {
    let tpos = out.len();
    out.push(0);
    let t = write_body(v, compress, out);
    out[tpos] = t;
}

/// Write the value body; returns its RDB type.
fn write_body(v: &Value, compress: bool, out: &mut Vec<u8>) -> u8 {
    match v {
        Value::Int(i) => {
            write_int_string(out, *i);
            TYPE_STRING
        }
        Value::Emb(b) => {
            write_string(out, b, compress);
            TYPE_STRING
        }
        Value::Raw(b) => {
            write_string(out, b, compress);
            TYPE_STRING
        }
        Value::List(l) => {
            write_list(out, l, compress);
            TYPE_LIST_QUICKLIST_2
        }
        Value::Set(s) => write_set(out, s, compress),
        Value::ZSet(z) => write_zset(out, z, compress),
        Value::Hash(h) => write_hash(out, h, compress),
        Value::Stream(s) => {
            rdb_stream::write_stream(out, s, compress);
            TYPE_STREAM_LISTPACKS_2
        }
    }
}

/// QUICKLIST_2: the node count, then per node its container and its listpack (or, for an element of 1 GB
/// or more, the element itself in a PLAIN node).
fn write_list(out: &mut Vec<u8>, l: &List, compress: bool) {
    // A node holding one huge element is PLAIN; count nodes as they will be written.
    write_len(out, l.node_count() as u64);
    let mut lp = LpWriter::new();
    for (count, mut elems) in l.nodes() {
        if count == 1 {
            if let Some(e) = elems.next() {
                if e.len() >= PLAIN_THRESHOLD {
                    write_len(out, QL_PLAIN);
                    write_string(out, e, compress);
                    continue;
                }
                write_len(out, QL_PACKED);
                lp.clear();
                lp.push_str(e);
                write_string(out, lp.finish(), compress);
                continue;
            }
        }
        write_len(out, QL_PACKED);
        lp.clear();
        for e in elems {
            lp.push_str(e);
        }
        write_string(out, lp.finish(), compress);
    }
}

fn write_set(out: &mut Vec<u8>, s: &Set, compress: bool) -> u8 {
    if s.is_intset() {
        let ints: Vec<i64> = s.members().filter_map(|m| m.as_int()).collect();
        let mut blob = Vec::with_capacity(8 + ints.len() * 8);
        packs::write_intset(&mut blob, &ints);
        write_string(out, &blob, compress);
        TYPE_SET_INTSET
    } else {
        write_len(out, s.len() as u64);
        for m in s.members() {
            m.with_bytes(|b| write_string(out, b, compress));
        }
        TYPE_SET
    }
}

/// double2ll as Redis 7.0.15 has it: integral values within ±LLONG_MAX/2 are stored as integers.
fn double_as_int(d: f64) -> Option<i64> {
    const LIM: f64 = (i64::MAX / 2) as f64;
    if !(-LIM..=LIM).contains(&d) {
        return None;
    }
    let ll = d as i64;
    (ll as f64 == d).then_some(ll)
}

fn write_zset(out: &mut Vec<u8>, z: &ZSet, compress: bool) -> u8 {
    if z.is_compact() {
        // zzlInsertAt: member, then the score as an integer element or its d2string text.
        let mut lp = LpWriter::new();
        for (m, sc) in z.iter() {
            lp.push_str(m);
            match double_as_int(sc) {
                Some(i) => lp.push_int(i),
                None => lp.push_str(crate::types::num::format_double(sc).as_bytes()),
            }
        }
        write_string(out, lp.finish(), compress);
        TYPE_ZSET_LISTPACK
    } else {
        // From the greatest to the smallest, as Redis walks its skiplist backwards.
        write_len(out, z.len() as u64);
        for (m, sc) in z.iter().rev() {
            write_string(out, m, compress);
            out.extend_from_slice(&sc.to_le_bytes());
        }
        TYPE_ZSET_2
    }
}

fn write_hash(out: &mut Vec<u8>, h: &Hash, compress: bool) -> u8 {
    if h.is_listpack() {
        let mut lp = LpWriter::new();
        for (f, v) in h.iter() {
            lp.push_str(f);
            lp.push_str(v);
        }
        write_string(out, lp.finish(), compress);
        TYPE_HASH_LISTPACK
    } else {
        write_len(out, h.len() as u64);
        for (f, v) in h.iter() {
            write_string(out, f, compress);
            write_string(out, v, compress);
        }
        TYPE_HASH
    }
}

// =========================================================================================================
// Reading
// =========================================================================================================

/// Why an RDB file or payload could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RdbError {
    kind: ErrorKind,
    offset: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum ErrorKind {
    /// The input ended before the format said it would.
    Eof,
    /// Reading the input failed.
    Io(String),
    /// Inconsistent content (Redis's rdbReportCorruptRDB texts where it has one).
    Corrupt(String),
    /// The stored checksum does not match the content.
    Checksum { expected: u64, got: u64 },
}

impl RdbError {
    fn at(kind: ErrorKind, offset: u64) -> RdbError {
        RdbError { kind, offset }
    }

    /// Byte offset in the input where the problem was found.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Did the input end too early (a truncated file, a partial transfer)?
    pub fn is_eof(&self) -> bool {
        self.kind == ErrorKind::Eof
    }

    /// Is this a checksum mismatch (everything else read fine)?
    pub fn is_checksum(&self) -> bool {
        matches!(self.kind, ErrorKind::Checksum { .. })
    }
}

impl fmt::Display for RdbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ErrorKind::Eof => write!(f, "Unexpected EOF reading RDB file at offset {}", self.offset),
            ErrorKind::Io(e) => write!(f, "Error reading the RDB file at offset {}: {e}", self.offset),
            ErrorKind::Corrupt(m) => write!(f, "{m} at offset {}", self.offset),
            ErrorKind::Checksum { expected, got } => {
                // Redis logs the mismatch, then rdbReportCorruptRDB's "RDB CRC error" (tools grep for it).
                write!(
                    f,
                    "Wrong RDB checksum expected: ({expected:x}) got: ({got:x}). Aborting now.\nInternal error in RDB reading offset {}, -> RDB CRC error",
                    self.offset
                )
            }
        }
    }
}

impl std::error::Error for RdbError {}

/// The byte source with its offset and (when checked) the running checksum. Bytes are taken straight from
/// the source's buffer: `pos` of them are read but not yet handed back with `consume`, and the checksum
/// covers a buffer's bytes in one pass when they are handed back (a per-read update cost more than the
/// table lookups themselves for the one-byte reads of types and lengths).
pub(crate) struct Input<R> {
    r: R,
    pos: usize,
    off: u64,
    crc: Option<Crc64>,
}

impl<R: BufRead> Input<R> {
    pub(crate) fn new(r: R, checksum: bool) -> Input<R> {
        Input { r, pos: 0, off: 0, crc: checksum.then(Crc64::new) }
    }

    #[cfg(test)]
    pub(crate) fn offset(&self) -> u64 {
        self.off
    }

    pub(crate) fn corrupt(&self, msg: impl Into<String>) -> RdbError {
        RdbError::at(ErrorKind::Corrupt(msg.into()), self.off)
    }

    /// Hand the bytes read from the source's current buffer back to it, adding them to the checksum.
    fn settle(&mut self) {
        if self.pos == 0 {
            return;
        }
        if let Some(c) = &mut self.crc {
            // The buffer still holds them: fill_buf does no I/O while unconsumed bytes remain.
            if let Ok(buf) = self.r.fill_buf() {
                c.update(&buf[..self.pos]);
            }
        }
        self.r.consume(self.pos);
        self.pos = 0;
    }

    /// The checksum of everything read so far.
    fn crc_now(&mut self) -> Option<u64> {
        self.settle();
        self.crc.as_ref().map(Crc64::finish)
    }

    /// The unread part of the source's buffer, refilled when it is used up; empty at the end of input.
    #[inline]
    fn avail(&mut self) -> Result<&[u8], RdbError> {
        let have = match self.r.fill_buf() {
            Ok(b) => b.len() > self.pos,
            Err(e) => return Err(RdbError::at(ErrorKind::Io(e.to_string()), self.off)),
        };
        if !have {
            self.settle();
        }
        match self.r.fill_buf() {
            Ok(b) => Ok(&b[self.pos..]),
            Err(e) => Err(RdbError::at(ErrorKind::Io(e.to_string()), self.off)),
        }
    }

    /// Take `n` bytes, at most what `avail` showed.
    #[inline]
    fn take(&mut self, n: usize) {
        self.pos += n;
        self.off += n as u64;
    }

    /// Hand `n` bytes to `f`, in one or more pieces; an early end of input is an error at the offset where
    /// the read began.
    fn each_piece(&mut self, mut n: usize, mut f: impl FnMut(&[u8])) -> Result<(), RdbError> {
        let start = self.off;
        while n > 0 {
            let buf = self.avail()?;
            if buf.is_empty() {
                return Err(RdbError::at(ErrorKind::Eof, start));
            }
            let k = buf.len().min(n);
            f(&buf[..k]);
            self.take(k);
            n -= k;
        }
        Ok(())
    }

    fn fill(&mut self, out: &mut [u8]) -> Result<(), RdbError> {
        let mut at = 0;
        self.each_piece(out.len(), |p| {
            out[at..at + p.len()].copy_from_slice(p);
            at += p.len();
        })
    }

    #[inline]
    pub(crate) fn u8(&mut self) -> Result<u8, RdbError> {
        if let Ok(b) = self.r.fill_buf() {
            if let Some(&x) = b.get(self.pos) {
                self.take(1);
                return Ok(x);
            }
        }
        let mut b = [0u8; 1];
        self.fill(&mut b)?;
        Ok(b[0])
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], RdbError> {
        let mut b = [0u8; N];
        self.fill(&mut b)?;
        Ok(b)
    }

    /// `n` bytes; the buffer grows as bytes arrive beyond the first MB, so a corrupt length cannot make us
    /// allocate more than twice what the input really holds.
    pub(crate) fn bytes(&mut self, n: u64) -> Result<Vec<u8>, RdbError> {
        self.bytes_in(n, 0)
    }

    /// `bytes`, into a block of at least `cap` bytes when `n` fits it (a string value's exact size class).
    fn bytes_in(&mut self, n: u64, cap: usize) -> Result<Vec<u8>, RdbError> {
        const EXACT: u64 = 1 << 20;
        let mut v = Vec::with_capacity(if n <= EXACT { (n as usize).max(cap) } else { EXACT as usize });
        let n = usize::try_from(n).map_err(|_| RdbError::at(ErrorKind::Eof, self.off))?;
        self.each_piece(n, |p| v.extend_from_slice(p))?;
        Ok(v)
    }

    /// `n` bytes as one slice for `f`: borrowed from the source's buffer when they lie in it, else copied.
    fn with_bytes<T>(&mut self, n: u64, f: impl FnOnce(&Self, &[u8]) -> T) -> Result<T, RdbError> {
        let whole = self.avail()?.len() as u64 >= n;
        if !whole {
            let v = self.bytes(n)?;
            return Ok(f(self, &v));
        }
        let n = n as usize;
        // The bytes stay in the source's buffer until `settle`; read them, then take them.
        let buf: *const [u8] = &self.avail()?[..n];
        self.take(n);
        // SAFETY: `f` gets `self` shared (to build an error), so the source is neither refilled nor consumed,
        // and its buffer neither moves nor changes, while the slice is alive.
        Ok(f(self, unsafe { &*buf }))
    }

    /// A length or an encoding marker: (is a special encoding, value).
    fn len_or_enc(&mut self) -> Result<(bool, u64), RdbError> {
        let first = self.u8()?;
        match first >> 6 {
            0 => Ok((false, (first & 0x3F) as u64)),
            1 => Ok((false, (((first & 0x3F) as u64) << 8) | self.u8()? as u64)),
            3 => Ok((true, (first & 0x3F) as u64)),
            _ if first == 0x80 => Ok((false, u32::from_be_bytes(self.array()?) as u64)),
            _ if first == 0x81 => Ok((false, u64::from_be_bytes(self.array()?))),
            _ => Err(self.corrupt(format!("Unknown length encoding {} in rdbLoadLen()", first >> 6))),
        }
    }

    /// A plain length.
    pub(crate) fn len(&mut self) -> Result<u64, RdbError> {
        match self.len_or_enc()? {
            (false, n) => Ok(n),
            (true, e) => Err(self.corrupt(format!("Unexpected string encoding {e} where a length belongs"))),
        }
    }

    /// rdbGenericLoadStringObject: plain, int-encoded or LZF-compressed.
    pub(crate) fn string(&mut self) -> Result<Vec<u8>, RdbError> {
        let (special, n) = self.len_or_enc()?;
        if !special {
            return self.bytes(n);
        }
        let mut b = itoa::Buffer::new();
        match n {
            0 => Ok(b.format(self.u8()? as i8).as_bytes().to_vec()),
            1 => Ok(b.format(i16::from_le_bytes(self.array()?)).as_bytes().to_vec()),
            2 => Ok(b.format(i32::from_le_bytes(self.array()?)).as_bytes().to_vec()),
            3 => self.lzf_string(0),
            _ => Err(self.corrupt(format!("Unknown RDB string encoding type {n}"))),
        }
    }

    /// An LZF-compressed string's body, decompressed into a block of at least `cap` bytes.
    fn lzf_string(&mut self, cap: usize) -> Result<Vec<u8>, RdbError> {
        let clen = self.len()?;
        let len = self.len()?;
        let len = usize::try_from(len).map_err(|_| self.corrupt("Invalid LZF compressed string"))?;
        self.with_bytes(clen, |inp, data| {
            lzf::decompress(data, len, cap).ok_or_else(|| inp.corrupt("Invalid LZF compressed string"))
        })?
    }

    /// A string value: as `string`, but an int-encoded one stays a number, and a long one is read straight
    /// into the block the value keeps (no second copy, no zeroing).
    pub(crate) fn string_value(&mut self) -> Result<Value, RdbError> {
        let (special, n) = self.len_or_enc()?;
        // Sized ahead only up to a MB: a length read from the input is not trusted for an allocation.
        let cap = |len: usize| if len > EMBSTR_MAX && len <= 1 << 20 { RawStr::block_size(len) } else { 0 };
        let v = match (special, n) {
            (false, n) if n <= EMBSTR_MAX as u64 => {
                let mut b = [0u8; EMBSTR_MAX];
                self.fill(&mut b[..n as usize])?;
                return Ok(Value::string(&b[..n as usize]));
            }
            (false, n) => self.bytes_in(n, cap(n.min(usize::MAX as u64) as usize))?,
            (true, 0) => return Ok(Value::Int(self.u8()? as i8 as i64)),
            (true, 1) => return Ok(Value::Int(i16::from_le_bytes(self.array()?) as i64)),
            (true, 2) => return Ok(Value::Int(i32::from_le_bytes(self.array()?) as i64)),
            (true, 3) => {
                let clen = self.len()?;
                let len = self.len()?;
                let len = usize::try_from(len).map_err(|_| self.corrupt("Invalid LZF compressed string"))?;
                self.with_bytes(clen, |inp, data| {
                    lzf::decompress(data, len, cap(len)).ok_or_else(|| inp.corrupt("Invalid LZF compressed string"))
                })??
            }
            (true, n) => return Err(self.corrupt(format!("Unknown RDB string encoding type {n}"))),
        };
        Ok(if v.len() > EMBSTR_MAX { Value::raw(v) } else { Value::string(&v) })
    }

    /// An absolute ms time, 8 bytes little endian.
    pub(crate) fn ms(&mut self) -> Result<i64, RdbError> {
        Ok(i64::from_le_bytes(self.array()?))
    }

    /// A double as RDB_TYPE_ZSET stores it: a length byte (253 NaN, 254 +inf, 255 -inf) then `%.17g` text.
    fn text_double(&mut self) -> Result<f64, RdbError> {
        let n = self.u8()?;
        match n {
            255 => Ok(f64::NEG_INFINITY),
            254 => Ok(f64::INFINITY),
            253 => Ok(f64::NAN),
            _ => {
                let b = self.bytes(n as u64)?;
                parse_score(&b).ok_or_else(|| self.corrupt("Invalid double value"))
            }
        }
    }
}

/// A score written as text (zset listpacks, ZSET type): strtod on the whole text.
fn parse_score(b: &[u8]) -> Option<f64> {
    let (v, used, _) = crate::types::num::strtod(b);
    (used == b.len() && !b.is_empty()).then_some(v)
}

/// A key-value pair read from the file, with the metadata given before it.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedEntry {
    /// The key's name.
    pub key: Vec<u8>,
    /// The value, in the encoding the loader's `Encodings` give it.
    pub value: Value,
    /// Absolute expiry in ms; 0 when none.
    pub expire_at: i64,
    /// RDB_OPCODE_IDLE: seconds since last access, when saved under an LRU policy.
    pub lru_idle: Option<u64>,
    /// RDB_OPCODE_FREQ: the LFU counter, when saved under an LFU policy.
    pub lfu_freq: Option<u8>,
}

/// One thing read from an RDB file.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// An AUX field (key, value).
    Aux(Vec<u8>, Vec<u8>),
    /// The following keys belong to this database.
    SelectDb(usize),
    /// Size hint for the current database.
    ResizeDb {
        /// Keys in the database.
        keys: u64,
        /// Keys with a TTL.
        expires: u64,
    },
    /// A function library's code (RDB_OPCODE_FUNCTION2).
    Function(Vec<u8>),
    /// A key. Empty collections (which old Redis versions could write) are skipped, as Redis skips them.
    Entry(LoadedEntry),
    /// The end: the checksum was read (and verified when asked). Do not call `next` again.
    Eof,
}

/// Streaming reader over any `BufRead`. It reads exactly the RDB's bytes and nothing past them, so after
/// `Item::Eof` the source continues where the RDB ended (an AOF's RESP tail after its RDB preamble).
pub struct RdbReader<R: BufRead> {
    inp: Input<R>,
    version: u16,
    enc: Encodings,
    verify: bool,
    done: bool,
    empty_skipped: u64,
    /// The key and RDB type whose value failed to read (redis-check-rdb's "Reading key" report).
    failed: Option<(Vec<u8>, u8)>,
}

impl<R: BufRead> RdbReader<R> {
    /// Read and check the magic and version (1..=10). `verify_checksum`: check the CRC64 at the end
    /// (rdbchecksum yes); a stored 0 means the file was saved without one and is never checked, as Redis.
    pub fn new(r: R, enc: Encodings, verify_checksum: bool) -> Result<Self, RdbError> {
        let mut inp = Input::new(r, verify_checksum);
        let magic: [u8; 9] = inp.array()?;
        if &magic[..5] != b"REDIS" {
            return Err(RdbError::at(ErrorKind::Corrupt("Wrong signature trying to load DB from file".into()), 0));
        }
        let version = std::str::from_utf8(&magic[5..])
            .ok()
            .filter(|s| s.bytes().all(|c| c.is_ascii_digit()))
            .and_then(|s| s.parse::<u16>().ok())
            .filter(|v| (1..=RDB_VERSION).contains(v))
            .ok_or_else(|| {
                let shown = String::from_utf8_lossy(&magic[5..]).into_owned();
                RdbError::at(ErrorKind::Corrupt(format!("Can't handle RDB format version {shown}")), 5)
            })?;
        Ok(RdbReader { inp, version, enc, verify: verify_checksum, done: false, empty_skipped: 0, failed: None })
    }

    /// The file's RDB version.
    pub fn version(&self) -> u16 {
        self.version
    }

    /// Bytes consumed so far (LOADING progress, error reports).
    pub fn offset(&self) -> u64 {
        self.inp.off
    }

    /// Empty keys skipped so far (Redis logs their count).
    pub fn empty_keys_skipped(&self) -> u64 {
        self.empty_skipped
    }

    /// The key and RDB type being read when `next` failed inside a value, if it did.
    pub fn failed_key(&self) -> Option<(&[u8], u8)> {
        self.failed.as_ref().map(|(k, t)| (&k[..], *t))
    }

    /// The source, positioned just after the last byte read.
    pub fn into_inner(mut self) -> R {
        self.inp.settle();
        self.inp.r
    }

    /// The next item.
    #[allow(clippy::should_implement_trait, reason = "fallible and not fused: an Iterator would hide both")]
    pub fn next(&mut self) -> Result<Item, RdbError> {
        if self.done {
            return Err(self.inp.corrupt("Read past the end of the RDB file"));
        }
        let mut expire_at = 0i64;
        let mut lru_idle = None;
        let mut lfu_freq = None;
        loop {
            let t = self.inp.u8()?;
            match t {
                OPCODE_EXPIRETIME => {
                    let secs = i32::from_le_bytes(self.inp.array()?) as i64;
                    expire_at = expire_from_stored(secs * 1000);
                }
                OPCODE_EXPIRETIME_MS => expire_at = expire_from_stored(self.inp.ms()?),
                OPCODE_FREQ => lfu_freq = Some(self.inp.u8()?),
                OPCODE_IDLE => lru_idle = Some(self.inp.len()?),
                OPCODE_EOF => {
                    self.done = true;
                    if self.version >= 5 {
                        let expected = self.inp.crc_now();
                        let got = u64::from_le_bytes(self.inp.array()?);
                        if let Some(expected) = expected.filter(|_| self.verify) {
                            if got != 0 && got != expected {
                                return Err(RdbError::at(ErrorKind::Checksum { expected, got }, self.inp.off - 8));
                            }
                        }
                    }
                    return Ok(Item::Eof);
                }
                OPCODE_SELECTDB => {
                    let db = self.inp.len()?;
                    let db = usize::try_from(db).map_err(|_| self.inp.corrupt("Database number out of range"))?;
                    return Ok(Item::SelectDb(db));
                }
                OPCODE_RESIZEDB => {
                    let keys = self.inp.len()?;
                    let expires = self.inp.len()?;
                    return Ok(Item::ResizeDb { keys, expires });
                }
                OPCODE_AUX => {
                    let k = self.inp.string()?;
                    let v = self.inp.string()?;
                    return Ok(Item::Aux(k, v));
                }
                OPCODE_MODULE_AUX => {
                    let at = self.inp.off - 1;
                    let id = self.inp.len()?;
                    return Err(RdbError::at(
                        ErrorKind::Corrupt(format!(
                            "Module auxiliary data of module type '{}' not supported (no modules)",
                            module_name(id)
                        )),
                        at,
                    ));
                }
                OPCODE_FUNCTION => {
                    return Err(RdbError::at(
                        ErrorKind::Corrupt(
                            "Pre-release function format (RDB_OPCODE_FUNCTION of Redis 7.0 rc1/rc2) not supported"
                                .into(),
                        ),
                        self.inp.off - 1,
                    ));
                }
                OPCODE_FUNCTION2 => return Ok(Item::Function(self.inp.string()?)),
                _ => {
                    let key = self.inp.string()?;
                    let read = read_object(&mut self.inp, t, &self.enc);
                    let read = match read {
                        Ok(v) => v,
                        Err(e) => {
                            self.failed = Some((key, t));
                            return Err(e);
                        }
                    };
                    match read {
                        Some(value) => {
                            return Ok(Item::Entry(LoadedEntry { key, value, expire_at, lru_idle, lfu_freq }));
                        }
                        None => {
                            // As rdbLoad: the first ten are logged.
                            if self.empty_skipped < 10 {
                                log::warn!("rdbLoadObject skipping empty key: {}", String::from_utf8_lossy(&key));
                            }
                            self.empty_skipped += 1;
                            expire_at = 0;
                            lru_idle = None;
                            lfu_freq = None;
                        }
                    }
                }
            }
        }
    }
}

/// Our expiry (0 = none) from a stored one: Redis treats a stored -1 as none, and any other time as a
/// deadline (one at or before 0 has long passed: keep it as 1 ms so that it stays "expired").
fn expire_from_stored(ms: i64) -> i64 {
    match ms {
        -1 => 0,
        i64::MIN..=0 => 1,
        t => t,
    }
}

/// A module type's 9-character name from its 64-bit id (moduleTypeNameByID).
fn module_name(id: u64) -> String {
    const CSET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut id = id >> 10;
    let mut name = [0u8; 9];
    for j in (0..9).rev() {
        name[j] = CSET[(id & 63) as usize];
        id >>= 6;
    }
    String::from_utf8_lossy(&name).into_owned()
}

/// Refuse a repeated element with Redis's message for it.
fn check_unique<'a>(
    inp: &Input<impl BufRead>,
    items: impl Iterator<Item = &'a [u8]> + Clone,
    n: usize,
    msg: &str,
) -> Result<(), RdbError> {
    // A small collection (most of a file's) is compared pairwise: cheaper than building a set.
    if n <= 32 {
        let mut rest = items.clone();
        for x in items {
            rest.next();
            if rest.clone().any(|y| y == x) {
                return Err(inp.corrupt(msg));
            }
        }
        return Ok(());
    }
    let mut seen: HashSet<&[u8], foldhash::fast::RandomState> =
        HashSet::with_capacity_and_hasher(n.min(PREALLOC_CAP), Default::default());
    for x in items {
        if !seen.insert(x) {
            return Err(inp.corrupt(msg));
        }
    }
    Ok(())
}

/// Read a value body of RDB type `t`. None: an empty collection (skipped by the file loader, refused by
/// RESTORE).
pub(crate) fn read_object<R: BufRead>(inp: &mut Input<R>, t: u8, enc: &Encodings) -> Result<Option<Value>, RdbError> {
    // Listpack-encoded hashes and sorted sets stay listpacks up to the entry limit whatever their element
    // sizes ("we only check the length and not max element size", rdb.c).
    let mut by_count = *enc;
    by_count.hash_max_listpack_value = usize::MAX;
    by_count.zset_max_listpack_value = usize::MAX;
    let at = inp.off;
    let v = match t {
        TYPE_STRING => inp.string_value()?,
        TYPE_LIST => {
            let n = inp.len()?;
            let mut items = Vec::with_capacity((n as usize).min(PREALLOC_CAP));
            for _ in 0..n {
                items.push(inp.string()?);
            }
            if items.is_empty() {
                return Ok(None);
            }
            Value::List(List::from_items(items, enc))
        }
        TYPE_SET => {
            let n = inp.len()?;
            let mut s = Set::new();
            for _ in 0..n {
                let m = inp.string()?;
                if !s.insert(&m, enc) {
                    return Err(inp.corrupt("Duplicate set members detected"));
                }
            }
            if s.is_empty() {
                return Ok(None);
            }
            Value::Set(s)
        }
        TYPE_ZSET | TYPE_ZSET_2 => {
            let n = inp.len()?;
            let mut pairs = Vec::with_capacity((n as usize).min(PREALLOC_CAP));
            for _ in 0..n {
                let m = inp.string()?;
                let sc = if t == TYPE_ZSET_2 { f64::from_le_bytes(inp.array()?) } else { inp.text_double()? };
                if sc.is_nan() {
                    return Err(inp.corrupt("Zset with NAN score detected"));
                }
                pairs.push((m, sc));
            }
            check_unique(inp, pairs.iter().map(|p| &p.0[..]), pairs.len(), "Duplicate zset fields detected")?;
            if pairs.is_empty() {
                return Ok(None);
            }
            Value::ZSet(ZSet::from_pairs(pairs, enc))
        }
        TYPE_HASH => {
            let n = inp.len()?;
            let mut pairs = Vec::with_capacity((n as usize).min(PREALLOC_CAP));
            for _ in 0..n {
                let f = inp.string()?;
                let v = inp.string()?;
                pairs.push((f, v));
            }
            check_unique(inp, pairs.iter().map(|p| &p.0[..]), pairs.len(), "Duplicate hash fields detected")?;
            if pairs.is_empty() {
                return Ok(None);
            }
            Value::Hash(Hash::from_pairs(pairs, enc))
        }
        TYPE_LIST_QUICKLIST | TYPE_LIST_QUICKLIST_2 => {
            let n = inp.len()?;
            let mut items: Vec<Vec<u8>> = Vec::new();
            for _ in 0..n {
                let container = if t == TYPE_LIST_QUICKLIST_2 { inp.len()? } else { QL_PACKED };
                if container != QL_PACKED && container != QL_PLAIN {
                    return Err(inp.corrupt("Quicklist integrity check failed."));
                }
                let data = inp.string()?;
                if data.is_empty() {
                    return Err(inp.corrupt("Quicklist integrity check failed."));
                }
                if container == QL_PLAIN {
                    items.push(data);
                    continue;
                }
                let elems = if t == TYPE_LIST_QUICKLIST_2 {
                    packs::listpack(&data).ok_or_else(|| inp.corrupt("Listpack integrity check failed."))?
                } else {
                    packs::ziplist(&data).ok_or_else(|| inp.corrupt("Ziplist integrity check failed."))?
                };
                items.extend(elems.into_iter().map(Elem::to_vec));
            }
            if items.is_empty() {
                return Ok(None);
            }
            Value::List(List::from_items(items, enc))
        }
        TYPE_HASH_ZIPMAP => {
            let blob = inp.string()?;
            let pairs = packs::zipmap(&blob).ok_or_else(|| inp.corrupt("Zipmap integrity check failed."))?;
            check_unique(inp, pairs.iter().map(|p| p.0), pairs.len(), "Hash zipmap with dup elements")?;
            Value::Hash(Hash::from_pairs(pairs.into_iter().map(|(f, v)| (f.to_vec(), v.to_vec())), enc))
        }
        TYPE_LIST_ZIPLIST => {
            let blob = inp.string()?;
            let elems = packs::ziplist(&blob).ok_or_else(|| inp.corrupt("List ziplist integrity check failed."))?;
            if elems.is_empty() {
                return Ok(None);
            }
            Value::List(List::from_items(elems.into_iter().map(Elem::to_vec), enc))
        }
        TYPE_SET_INTSET => {
            let blob = inp.string()?;
            let ints = packs::intset(&blob).ok_or_else(|| inp.corrupt("Intset integrity check failed."))?;
            let mut s = Set::new();
            for i in ints {
                s.insert_member(Member::Int(i), enc);
            }
            Value::Set(s)
        }
        TYPE_SET_LISTPACK => {
            let blob = inp.string()?;
            let elems = packs::listpack(&blob).ok_or_else(|| inp.corrupt("Set listpack integrity check failed."))?;
            let mut s = Set::new();
            for e in elems {
                if !s.insert(&e.text(), enc) {
                    return Err(inp.corrupt("Set listpack integrity check failed."));
                }
            }
            if s.is_empty() {
                return Ok(None);
            }
            Value::Set(s)
        }
        TYPE_ZSET_ZIPLIST | TYPE_ZSET_LISTPACK => {
            let what = if t == TYPE_ZSET_ZIPLIST { "Zset ziplist" } else { "Zset listpack" };
            let blob = inp.string()?;
            let elems = if t == TYPE_ZSET_ZIPLIST { packs::ziplist(&blob) } else { packs::listpack(&blob) };
            let bad = || inp.corrupt(format!("{what} integrity check failed."));
            let elems = elems.filter(|e| e.len() % 2 == 0).ok_or_else(bad)?;
            let mut pairs = Vec::with_capacity(elems.len() / 2);
            for p in elems.chunks_exact(2) {
                let sc = match p[1] {
                    Elem::Int(i) => i as f64,
                    Elem::Str(s) => parse_score(s).filter(|v| !v.is_nan()).ok_or_else(bad)?,
                };
                pairs.push((p[0].to_vec(), sc));
            }
            check_unique(inp, pairs.iter().map(|p| &p.0[..]), pairs.len(), &format!("{what} integrity check failed."))?;
            if pairs.is_empty() {
                return Ok(None);
            }
            Value::ZSet(ZSet::from_pairs(pairs, &by_count))
        }
        TYPE_HASH_ZIPLIST | TYPE_HASH_LISTPACK => {
            let what = if t == TYPE_HASH_ZIPLIST { "Hash ziplist" } else { "Hash listpack" };
            let blob = inp.string()?;
            let elems = if t == TYPE_HASH_ZIPLIST { packs::ziplist(&blob) } else { packs::listpack(&blob) };
            let elems = elems
                .filter(|e| e.len() % 2 == 0)
                .ok_or_else(|| inp.corrupt(format!("{what} integrity check failed.")))?;
            let texts: Vec<Text> = elems.into_iter().map(Elem::text).collect();
            let pairs: Vec<(&[u8], &[u8])> = texts.chunks_exact(2).map(|p| (&*p[0], &*p[1])).collect();
            check_unique(inp, pairs.iter().map(|p| p.0), pairs.len(), &format!("{what} integrity check failed."))?;
            if pairs.is_empty() {
                return Ok(None);
            }
            Value::Hash(Hash::from_unique(&pairs, &by_count))
        }
        TYPE_STREAM_LISTPACKS | TYPE_STREAM_LISTPACKS_2 | TYPE_STREAM_LISTPACKS_3 => {
            Value::Stream(Box::new(rdb_stream::read_stream(inp, t)?))
        }
        TYPE_MODULE | TYPE_MODULE_2 => {
            let id = inp.len()?;
            return Err(RdbError::at(
                ErrorKind::Corrupt(format!(
                    "Module type '{}' (RDB type {t}) not supported (no modules)",
                    module_name(id)
                )),
                at,
            ));
        }
        _ => return Err(RdbError::at(ErrorKind::Corrupt(format!("Unknown RDB encoding type {t}")), at)),
    };
    Ok(Some(v))
}

/// redis-check-rdb's names of the RDB types, for its report.
fn type_name(t: u8) -> &'static str {
    const NAMES: [&str; 19] = [
        "string",
        "list-linked",
        "set-hashtable",
        "zset-v1",
        "hash-hashtable",
        "zset-v2",
        "module-value",
        "",
        "",
        "hash-zipmap",
        "list-ziplist",
        "set-intset",
        "zset-ziplist",
        "hash-ziplist",
        "quicklist",
        "stream",
        "hash-listpack",
        "zset-listpack",
        "quicklist-v2",
    ];
    NAMES.get(t as usize).copied().unwrap_or("unknown")
}

/// What redis-check-rdb prints about a file (Redis runs it on the file it failed to load, before exiting):
/// the header fields and databases it went through, then either the error with the key and type being read
/// or "RDB looks OK", then its counters. `now_ms` decides which expiries have passed. One line per entry,
/// each prefixed as redis-check-rdb does; operators (and the Redis test suite) read them in the log.
pub fn check_report<R: BufRead>(r: R, name: &str, enc: Encodings, now_ms: i64) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(out, "[offset 0] Checking RDB file {name}");
    let (mut keys, mut expires, mut expired) = (0u64, 0u64, 0u64);
    let mut reader = match RdbReader::new(r, enc, true) {
        Ok(r) => r,
        Err(e) => {
            let _ = writeln!(
                out,
                "--- RDB ERROR DETECTED ---\n[offset {}] {e}\n[additional info] While doing: start",
                e.offset()
            );
            let _ = write!(out, "[info] 0 keys read\n[info] 0 expires\n[info] 0 already expired");
            return out;
        }
    };
    let err = loop {
        match reader.next() {
            Ok(Item::Eof) => break None,
            Ok(Item::Aux(k, v)) => {
                let (k, v) = (String::from_utf8_lossy(&k), String::from_utf8_lossy(&v));
                let _ = writeln!(out, "[offset {}] AUX FIELD {k} = '{v}'", reader.offset());
            }
            Ok(Item::SelectDb(db)) => {
                let _ = writeln!(out, "[offset {}] Selecting DB ID {db}", reader.offset());
            }
            Ok(Item::Entry(e)) => {
                keys += 1;
                if e.expire_at != 0 {
                    expires += 1;
                    expired += (e.expire_at < now_ms) as u64;
                }
            }
            Ok(_) => {}
            Err(e) => break Some(e),
        }
    };
    match err {
        None => {
            let _ = writeln!(out, "[offset {}] Checksum OK", reader.offset());
            let _ = writeln!(out, "[offset {}] \\o/ RDB looks OK! \\o/", reader.offset());
        }
        Some(e) => {
            let _ = writeln!(out, "--- RDB ERROR DETECTED ---");
            let _ = writeln!(out, "[offset {}] {e}", e.offset());
            let doing = if e.is_checksum() {
                "check-sum"
            } else if reader.failed_key().is_some() {
                "read-object-value"
            } else {
                "read-type"
            };
            let _ = writeln!(out, "[additional info] While doing: {doing}");
            if let Some((k, t)) = reader.failed_key() {
                let _ = writeln!(out, "[additional info] Reading key '{}'", String::from_utf8_lossy(k));
                let _ = writeln!(out, "[additional info] Reading type {t} ({})", type_name(t));
            }
        }
    }
    let _ = write!(out, "[info] {keys} keys read\n[info] {expires} expires\n[info] {expired} already expired");
    out
}

/// Decode a DUMP payload body (type byte and value, the trailer removed): the whole body must be one
/// non-empty value.
pub fn decode_value(body: &[u8], enc: &Encodings) -> Result<Value, RdbError> {
    let mut inp = Input::new(body, false);
    let t = inp.u8()?;
    let v = read_object(&mut inp, t, enc)?.ok_or_else(|| inp.corrupt("Empty key"))?;
    if inp.off != body.len() as u64 {
        return Err(inp.corrupt("Trailing bytes after the value"));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::stream::{IdSpec, NodeLimits, StreamId};

    fn enc() -> Encodings {
        Encodings::default()
    }

    fn round_trip(v: &Value, compress: bool) -> Value {
        let mut out = Vec::new();
        encode_value(v, compress, &mut out);
        decode_value(&out, &enc()).unwrap()
    }

    /// A body with a valid type byte, for the reader's checks.
    fn decode(body: &[u8]) -> Result<Value, RdbError> {
        decode_value(body, &enc())
    }

    #[test]
    fn every_encoding_round_trips() {
        let e = enc();
        let long = |n: usize| (0..n).map(|i| b'a' + (i % 26) as u8).collect::<Vec<u8>>();
        let mut values = vec![
            Value::Int(0),
            Value::Int(i64::MIN),
            Value::Int(i64::MAX),
            Value::Int(1 << 31),
            Value::string(b"007"),
            Value::string(b""),
            Value::string(&(0..=255u8).collect::<Vec<u8>>()),
            Value::string(&long(100)),
            Value::raw(long(100_000)),
            Value::List(List::from_items([b"1".to_vec(), b"-1".to_vec(), long(5000), b"".to_vec()], &e)),
            Value::List(List::from_items((0..5000).map(|i| i.to_string().into_bytes()), &e)),
            Value::Hash(Hash::from_pairs([(b"f".to_vec(), b"1".to_vec()), (b"g".to_vec(), long(10))], &e)),
            Value::Hash(Hash::from_pairs((0..300).map(|i| (i.to_string().into_bytes(), long(i))), &e)),
            Value::Set(Set::from_members([b"1".to_vec(), b"-70000".to_vec(), b"5000000000".to_vec()], &e)),
            Value::Set(Set::from_members([b"a".to_vec(), b"1".to_vec()], &e)),
            Value::Set(Set::from_members((0..1000).map(|i| i.to_string().into_bytes()), &e)),
            Value::ZSet(ZSet::from_pairs(
                [
                    (b"a".to_vec(), 1.5),
                    (b"b".to_vec(), f64::INFINITY),
                    (b"c".to_vec(), f64::NEG_INFINITY),
                    (b"d".to_vec(), 4611686018427387904.0),
                    (b"e".to_vec(), 1e-300),
                    (b"f".to_vec(), -0.0),
                    (b"g".to_vec(), 0.1),
                ],
                &e,
            )),
            Value::ZSet(ZSet::from_pairs((0..300).map(|i| (long(i % 70 + 1), i as f64 / 3.0)), &e)),
        ];
        let mut st = crate::types::stream::Stream::new();
        let lim = NodeLimits { max_bytes: 4096, max_entries: 10 };
        for i in 1..=40u64 {
            st.append(IdSpec::Explicit(StreamId::new(i, i)), &[b"f", &long(i as usize), b"n", b"-5"], 0, lim).unwrap();
        }
        st.delete_ids(&[StreamId::new(1, 1), StreamId::new(20, 20), StreamId::new(40, 40)]);
        values.push(Value::Stream(Box::new(st)));
        for v in &values {
            for compress in [true, false] {
                let back = round_trip(v, compress);
                assert_eq!(&back, v, "{} compress={compress}", v.encoding());
                assert_eq!(back.encoding(), v.encoding(), "compress={compress}");
            }
        }
        // -0 in a listpack is stored as the integer 0, as Redis's double2ll does.
        let z = ZSet::from_pairs([(b"m".to_vec(), -0.0)], &e);
        let Value::ZSet(back) = round_trip(&Value::ZSet(z), false) else { panic!() };
        assert!(back.score(b"m").unwrap().is_sign_positive());
    }

    #[test]
    fn strings_are_written_as_redis_writes_them() {
        let mut out = Vec::new();
        write_string(&mut out, b"12", true);
        write_string(&mut out, b"-129", true);
        write_string(&mut out, b"2147483647", true);
        write_string(&mut out, b"2147483648", true); // beyond 32 bits: plain
        write_string(&mut out, b"012", true);
        assert_eq!(
            out,
            [
                &[0xC0, 12][..],
                &[0xC1, 0x7F, 0xFF],
                &[0xC2, 0xFF, 0xFF, 0xFF, 0x7F],
                &[10, b'2', b'1', b'4', b'7', b'4', b'8', b'3', b'6', b'4', b'8'],
                &[3, b'0', b'1', b'2'],
            ]
            .concat()
        );
        // An int-encoded value beyond 32 bits is its digits (rdbSaveLongLongAsStringObject), never LZF.
        let mut out = Vec::new();
        encode_value(&Value::Int(-1_000_000_000_000), true, &mut out);
        assert_eq!(out, b"\x00\x0e-1000000000000");
        // Lengths.
        for (n, want) in [
            (63u64, vec![63]),
            (64, vec![0x40, 64]),
            (16383, vec![0x7F, 0xFF]),
            (16384, vec![0x80, 0, 0, 0x40, 0]),
            (1 << 32, vec![0x81, 0, 0, 0, 1, 0, 0, 0, 0]),
        ] {
            let mut out = Vec::new();
            write_len(&mut out, n);
            assert_eq!(out, want);
            let mut inp = Input::new(&out[..], false);
            assert_eq!(inp.len().unwrap(), n);
        }
    }

    #[test]
    fn crc_is_redis_crc64() {
        assert_eq!(crc64(b"123456789"), 0xe9c6d914c4b8d9ca);
        let mut c = Crc64::new();
        c.update(b"12345");
        let mid = c.finish();
        c.update(b"6789");
        assert_eq!(c.finish(), 0xe9c6d914c4b8d9ca);
        let mut r = Crc64::resume(mid);
        r.update(b"6789");
        assert_eq!(r.finish(), 0xe9c6d914c4b8d9ca);
    }

    /// A whole file: header, a function, db 3 with a key with a TTL and LFU counter, EOF and checksum.
    fn file() -> Vec<u8> {
        let mut out = Vec::new();
        write_header(&mut out, &[("redis-ver", b"7.0.15"), ("redis-bits", b"64")]);
        write_functions(
            &mut out,
            [&b"#!lua name=l\nredis.register_function('f', function() return 1 end)"[..]].into_iter(),
        );
        write_select_db(&mut out, 3, 1, 1);
        let e = Entry::new(
            b"k",
            Value::string(b"v"),
            ((((crate::types::clock::now_ms() / 60_000) as u32) & 0xFFFF) << 8) | 7,
        );
        encode_entry_lfu(&e, 4_102_444_800_000, &mut out);
        write_eof(&mut out);
        let crc = crc64(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    #[test]
    fn reads_a_whole_file_and_stops_at_its_end() {
        let mut f = file();
        f.extend_from_slice(b"*1\r\n$4\r\nPING\r\n");
        let mut r = RdbReader::new(&f[..], enc(), true).unwrap();
        assert_eq!(r.version(), 10);
        assert_eq!(r.next().unwrap(), Item::Aux(b"redis-ver".to_vec(), b"7.0.15".to_vec()));
        assert_eq!(r.next().unwrap(), Item::Aux(b"redis-bits".to_vec(), b"64".to_vec()));
        assert!(matches!(r.next().unwrap(), Item::Function(c) if c.starts_with(b"#!lua")));
        assert_eq!(r.next().unwrap(), Item::SelectDb(3));
        assert_eq!(r.next().unwrap(), Item::ResizeDb { keys: 1, expires: 1 });
        let Item::Entry(e) = r.next().unwrap() else { panic!() };
        assert_eq!(
            (e.key.as_slice(), e.expire_at, e.lfu_freq, e.lru_idle),
            (&b"k"[..], 4_102_444_800_000, Some(7), None)
        );
        assert_eq!(r.next().unwrap(), Item::Eof);
        assert!(r.next().is_err());
        // The source continues right after the checksum (an AOF tail).
        assert_eq!(r.into_inner(), b"*1\r\n$4\r\nPING\r\n");
    }

    fn read_all(f: &[u8], verify: bool) -> Result<(), RdbError> {
        let mut r = RdbReader::new(f, enc(), verify)?;
        while r.next()? != Item::Eof {}
        Ok(())
    }

    /// Every string encoding, read through source buffers of every small size: values are taken across
    /// buffer ends, and the checksum, summed a buffer at a time, still covers each byte once.
    #[test]
    fn strings_read_across_buffer_ends_with_the_checksum() {
        let values: Vec<Value> = vec![
            Value::Int(-7),
            Value::Int(1000),
            Value::Int(-100_000),
            Value::Int(1 << 40),
            Value::string(b"short"),
            Value::string(&[b'x'; 44]),
            Value::string(&(0..200u32).map(|i| (i * 7 % 251) as u8).collect::<Vec<u8>>()),
            Value::string(&[b'a'; 30]),
            Value::string(&[b'z'; 5000]),
            Value::string(&b"abcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabc0123"[..]),
        ];
        let mut f = Vec::new();
        write_header(&mut f, &[("redis-ver", b"7.0.15")]);
        write_select_db(&mut f, 0, values.len() as u64, 0);
        for (i, v) in values.iter().enumerate() {
            encode_entry(&Entry::new(format!("k{i}").as_bytes(), v.clone(), 0), 0, &mut f);
        }
        write_eof(&mut f);
        let crc = crc64(&f);
        f.extend_from_slice(&crc.to_le_bytes());
        let read = |f: &[u8], cap: usize| -> Result<Vec<Value>, RdbError> {
            let mut r = RdbReader::new(std::io::BufReader::with_capacity(cap, f), enc(), true)?;
            let mut got = Vec::new();
            loop {
                match r.next()? {
                    Item::Entry(e) => got.push(e.value),
                    Item::Eof => return Ok(got),
                    _ => {}
                }
            }
        };
        for cap in (1..=19).chain([64, 1 << 16]) {
            assert_eq!(read(&f, cap).unwrap(), values, "buffer of {cap}");
        }
        // A flipped byte inside the long compressed value: the checksum catches it whatever the buffering.
        let mut bad = f.clone();
        let at = f.windows(3).position(|w| w == b"\x02k8").expect("key k8") + 10;
        bad[at] ^= 0x40;
        for cap in [1, 5, 1 << 16] {
            let e = read(&bad, cap).unwrap_err();
            assert!(e.is_checksum() || e.to_string().contains("LZF"), "buffer of {cap}: {e}");
        }
    }

    #[test]
    fn checksum_magic_and_version() {
        let f = file();
        assert!(read_all(&f, true).is_ok());
        let mut bad = f.clone();
        let n = bad.len();
        bad[n - 1] ^= 1;
        let e = read_all(&bad, true).unwrap_err();
        assert!(e.is_checksum() && e.to_string().starts_with("Wrong RDB checksum expected: ("), "{e}");
        assert!(read_all(&bad, false).is_ok(), "rdbchecksum no");
        // A stored 0: saved without a checksum, never checked.
        let mut zero = f.clone();
        zero[n - 8..].fill(0);
        assert!(read_all(&zero, true).is_ok());
        assert!(RdbReader::new(&b"REDIX0010"[..], enc(), true).is_err());
        let e = RdbReader::new(&b"REDIS0011"[..], enc(), true).err().unwrap();
        assert_eq!(e.to_string(), "Can't handle RDB format version 0011 at offset 5");
        assert!(RdbReader::new(&b"REDIS0000"[..], enc(), true).is_err());
        // Version 5 files and older: an older version is accepted (checksums exist from 5 on).
        let mut v4 = b"REDIS0004".to_vec();
        v4.push(OPCODE_EOF);
        assert!(read_all(&v4, true).is_ok());
        // Every truncation is an EOF error naming where it stopped.
        for cut in 9..f.len() {
            let e = read_all(&f[..cut], true).unwrap_err();
            assert!(e.is_eof(), "cut {cut}: {e}");
            assert_eq!(e.to_string(), format!("Unexpected EOF reading RDB file at offset {}", e.offset()));
        }
    }

    #[test]
    fn refusals_name_the_problem() {
        let msg = |body: &[u8]| decode(body).unwrap_err().to_string();
        assert_eq!(msg(&[8, 0]), "Unknown RDB encoding type 8 at offset 1");
        // Module type 7 with an id for the name "mymodule1": refused, named.
        let id: u64 = {
            const CSET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
            let mut v = 0u64;
            for c in b"mymodule1" {
                v = (v << 6) | CSET.iter().position(|x| x == c).unwrap() as u64;
            }
            v << 10
        };
        let mut m = vec![TYPE_MODULE_2];
        write_len(&mut m, id);
        assert_eq!(msg(&m), "Module type 'mymodule1' (RDB type 7) not supported (no modules) at offset 1");
        // Duplicates.
        let dup = |t: u8, items: &[&[u8]]| {
            let mut b = vec![t];
            write_len(&mut b, if t == TYPE_HASH { items.len() as u64 / 2 } else { items.len() as u64 });
            for i in items {
                write_string(&mut b, i, false);
                if t == TYPE_ZSET_2 {
                    b.extend_from_slice(&1.0f64.to_le_bytes());
                }
            }
            msg(&b)
        };
        assert!(dup(TYPE_SET, &[b"a", b"a"]).starts_with("Duplicate set members detected"));
        assert!(dup(TYPE_SET, &[b"1", b"1"]).starts_with("Duplicate set members detected"));
        assert!(dup(TYPE_HASH, &[b"f", b"1", b"f", b"2"]).starts_with("Duplicate hash fields detected"));
        assert!(dup(TYPE_ZSET_2, &[b"m", b"m"]).starts_with("Duplicate zset fields detected"));
        let mut lp = LpWriter::new();
        for x in [b"f", b"1", b"f", b"2"] {
            lp.push_str(x);
        }
        let mut b = vec![TYPE_HASH_LISTPACK];
        write_string(&mut b, lp.finish(), false);
        assert!(msg(&b).starts_with("Hash listpack integrity check failed."));
        // NaN scores.
        let mut b = vec![TYPE_ZSET_2, 1];
        write_string(&mut b, b"m", false);
        b.extend_from_slice(&f64::NAN.to_le_bytes());
        assert!(msg(&b).starts_with("Zset with NAN score detected"));
        // Empty collections are "no value" (skipped by the loader, refused by RESTORE).
        let mut inp = Input::new(&[0u8][..], false);
        assert_eq!(read_object(&mut inp, TYPE_LIST, &enc()).unwrap(), None);
        assert!(decode(&[TYPE_HASH, 0]).is_err());
        // A length far beyond the input: an EOF error, no huge allocation.
        let mut b = vec![TYPE_STRING, 0x81];
        b.extend_from_slice(&(1u64 << 60).to_be_bytes());
        assert!(decode(&b).unwrap_err().is_eof());
        let mut b = vec![TYPE_LIST, 0x81];
        b.extend_from_slice(&u64::MAX.to_be_bytes());
        assert!(decode(&b).unwrap_err().is_eof());
        // LZF claiming a huge output.
        let mut b = vec![TYPE_STRING, 0xC3, 2, 0x81];
        b.extend_from_slice(&(1u64 << 40).to_be_bytes());
        b.extend_from_slice(&[0, b'a']);
        assert!(msg(&b).starts_with("Invalid LZF compressed string"));
        // Functions in the pre-release format and module aux data are refused by name.
        let mut f = b"REDIS0010".to_vec();
        f.push(OPCODE_FUNCTION);
        let e = read_all(&f, false).unwrap_err().to_string();
        assert!(e.contains("RDB_OPCODE_FUNCTION") && e.ends_with("at offset 9"), "{e}");
        let mut f = b"REDIS0010".to_vec();
        f.push(OPCODE_MODULE_AUX);
        write_len(&mut f, id);
        let e = read_all(&f, false).unwrap_err().to_string();
        assert!(e.contains("'mymodule1'") && e.ends_with("at offset 9"), "{e}");
    }

    #[test]
    fn check_report_names_the_key_and_type_that_failed() {
        // A good file: its header fields and databases, then "looks OK" and the counters.
        let f = file();
        let ok = check_report(&f[..], "dump.rdb", enc(), 0);
        assert!(ok.starts_with("[offset 0] Checking RDB file dump.rdb\n"), "{ok}");
        assert!(ok.contains("] AUX FIELD redis-ver = '7.0.15'\n") && ok.contains("] Selecting DB ID 3\n"), "{ok}");
        assert!(ok.contains("\\o/ RDB looks OK! \\o/"), "{ok}");
        assert!(ok.ends_with("[info] 1 keys read\n[info] 1 expires\n[info] 0 already expired"), "{ok}");
        // A hash ziplist with a bad entry: the error, what was being read, then the counters.
        let mut bad = b"REDIS0009".to_vec();
        bad.extend_from_slice(&[TYPE_STRING, 1, b'a', 1, b'x']);
        bad.push(TYPE_HASH_ZIPLIST);
        write_string(&mut bad, b"h", false);
        write_string(&mut bad, &[11, 0, 0, 0, 10, 0, 0, 0, 0, 0, 0xFF][..10], false);
        bad.push(OPCODE_EOF);
        let mut r = RdbReader::new(&bad[..], enc(), true).unwrap();
        assert!(matches!(r.next().unwrap(), Item::Entry(_)));
        assert!(r.next().is_err());
        assert_eq!(r.failed_key(), Some((&b"h"[..], TYPE_HASH_ZIPLIST)));
        let rep = check_report(&bad[..], "x.rdb", enc(), 0);
        let lines: Vec<&str> = rep.lines().collect();
        assert_eq!(lines[1], "--- RDB ERROR DETECTED ---", "{rep}");
        assert!(lines[2].contains("Hash ziplist integrity check failed."), "{rep}");
        assert_eq!(
            &lines[3..6],
            [
                "[additional info] While doing: read-object-value",
                "[additional info] Reading key 'h'",
                "[additional info] Reading type 13 (hash-ziplist)"
            ]
        );
        assert_eq!(lines[6], "[info] 1 keys read");
    }

    #[test]
    fn expiry_and_metadata_opcodes() {
        // EXPIRETIME in seconds (old files), stored -1 (none), and an expiry long past.
        let mut f = b"REDIS0006".to_vec();
        f.push(OPCODE_EXPIRETIME);
        f.extend_from_slice(&1000i32.to_le_bytes());
        f.extend_from_slice(&[TYPE_STRING, 1, b'a', 1, b'x']);
        f.push(OPCODE_EXPIRETIME_MS);
        f.extend_from_slice(&(-1i64).to_le_bytes());
        f.push(OPCODE_IDLE);
        write_len(&mut f, 3600);
        f.extend_from_slice(&[TYPE_STRING, 1, b'b', 1, b'y']);
        f.push(OPCODE_EXPIRETIME_MS);
        f.extend_from_slice(&0i64.to_le_bytes());
        f.extend_from_slice(&[TYPE_STRING, 1, b'c', 1, b'z']);
        f.push(OPCODE_EOF);
        f.extend_from_slice(&[0; 8]);
        let mut r = RdbReader::new(&f[..], enc(), true).unwrap();
        let mut got = Vec::new();
        while let Item::Entry(e) = r.next().unwrap() {
            got.push((e.key, e.expire_at, e.lru_idle));
        }
        assert_eq!(
            got,
            vec![(b"a".to_vec(), 1_000_000, None), (b"b".to_vec(), 0, Some(3600)), (b"c".to_vec(), 1, None)]
        );
    }
}
