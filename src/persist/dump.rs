//! DUMP/RESTORE payloads: versioned, checksummed (persist layer, pure).
//!
//! Layout, as Redis's (`[object][RDB version, 2 bytes LE][CRC64, 8 bytes LE]`):
//!
//! ```text
//! [type byte][body][format version: u16 LE][CRC-64/Jones of everything before: u64 LE]
//! ```
//!
//! Strings (type 0) are written exactly as Redis 7.0 writes them (RDB string encoding, version 10), so a
//! string's payload is byte-identical to Redis's and moves between the two servers either way (we also read
//! Redis's int-encoded and LZF-compressed strings). Collections (type 0xF5, not an RDB type) are our own:
//! bincode of a private DTO enum; Redis refuses them as a bad format rather than misreading them. Streams
//! DUMPed by Redis (RDB types 15 and 19) are read too (`rdb_stream`), so they move from Redis to us.
//!
//! Redis checks the trailer before decoding anything, so a payload from a newer server is refused with the
//! version/checksum error rather than misread; we do the same.
//!
//! Compatibility rule: the DTO's variants are append-only. bincode writes a variant's position as a u32 tag,
//! so the position *is* the type tag on the wire (pinned by a unit test): a collection type is added as a
//! new variant at the end, and old payloads keep decoding.

use super::rdb_stream;
use crate::types::encodings::Encodings;
use crate::types::hash::Hash;
use crate::types::list::List;
use crate::types::set::Set;
use crate::types::stream::{Group, Nack, Stream, StreamId};
use crate::types::value::Value;
use crate::types::zset::ZSet;
use bincode::Options;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::borrow::Cow;
use std::fmt;

/// The current payload format: Redis 7.0's RDB version, since strings are in RDB form. Payloads with a higher
/// version are refused (as Redis refuses a newer RDB version); version 0 was never written.
pub const FORMAT_VERSION: u16 = 10;

/// RDB_TYPE_STRING.
const TYPE_STRING: u8 = 0;
/// Our collections: a bincode `Dto` follows. Not an RDB type, so Redis rejects it cleanly.
const TYPE_FERRODIS: u8 = 0xF5;

/// Trailer size: version (2) + CRC (8).
const TRAILER: usize = 10;

/// Why a payload was refused; the texts are Redis's RESTORE errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DumpError {
    /// Too short, unknown version, or the CRC does not match.
    VersionOrChecksum,
    /// The trailer is fine but the body does not decode.
    BadFormat,
}

impl DumpError {
    /// The error text RESTORE replies with (code included).
    pub fn message(self) -> &'static str {
        match self {
            DumpError::VersionOrChecksum => "ERR DUMP payload version or checksum are wrong",
            DumpError::BadFormat => "ERR Bad data format",
        }
    }
}

impl fmt::Display for DumpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for DumpError {}

/// Bytes written with serde's `bytes` form (bincode: u64 length + raw bytes, no per-byte calls).
struct Blob<'a>(Cow<'a, [u8]>);

impl Serialize for Blob<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

/// Always decodes into an owned buffer: the payload is the client's argument, which the value must outlive.
impl<'de, 'a> Deserialize<'de> for Blob<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<Blob<'a>>);
        impl<'de, 'a> Visitor<'de> for V<'a> {
            type Value = Blob<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a byte string")
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Self::Value, E> {
                Ok(Blob(Cow::Owned(v.to_vec())))
            }
            fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Self::Value, E> {
                Ok(Blob(Cow::Owned(v)))
            }
        }
        d.deserialize_byte_buf(V(std::marker::PhantomData))
    }
}

/// What a payload holds. Variants are append-only: the position is the wire tag.
#[derive(Serialize, Deserialize)]
enum Dto<'a> {
    /// Tag 0: a string, whatever its encoding. RESTORE picks the encoding afresh from the bytes, as Redis's
    /// RDB loader does (a `raw` string of 10 bytes comes back `embstr`, "123" comes back `int`).
    String(Blob<'a>),
    /// Tag 1: list elements, head to tail.
    List(Vec<Blob<'a>>),
    /// Tag 2: set members.
    Set(Vec<Blob<'a>>),
    /// Tag 3: sorted-set (member, score) pairs in order.
    ZSet(Vec<(Blob<'a>, f64)>),
    /// Tag 4: hash (field, value) pairs.
    Hash(Vec<(Blob<'a>, Blob<'a>)>),
    /// Tag 5: a stream with its nodes (as they are, so that approximate trimming behaves the same after a
    /// reload) and consumer groups.
    Stream(StreamDto<'a>),
}

/// A stream id as (ms, seq).
type IdDto = (u64, u64);

/// A node: its key (master id), its last record's id, its tombstone count and its entries as (id,
/// field/value elements).
type NodeDto<'a> = (IdDto, IdDto, u64, Vec<(IdDto, Vec<Blob<'a>>)>);

/// A stream: nodes as (tombstones, entries (id, field/value elements)), the stream's counters and groups.
#[derive(Serialize, Deserialize)]
struct StreamDto<'a> {
    nodes: Vec<NodeDto<'a>>,
    last_id: IdDto,
    first_id: IdDto,
    max_deleted_id: IdDto,
    entries_added: u64,
    groups: Vec<GroupDto<'a>>,
}

/// A consumer group: PEL entries as (id, delivery time, delivery count, consumer) and consumers as
/// (name, seen time); each consumer's own PEL is rebuilt from the group's.
#[derive(Serialize, Deserialize)]
struct GroupDto<'a> {
    name: Blob<'a>,
    last_id: IdDto,
    entries_read: i64,
    pel: Vec<(IdDto, i64, u64, Blob<'a>)>,
    consumers: Vec<(Blob<'a>, i64)>,
}

fn id_dto(id: StreamId) -> IdDto {
    (id.ms, id.seq)
}

fn dto_id(d: IdDto) -> StreamId {
    StreamId::new(d.0, d.1)
}

fn stream_dto(st: &Stream) -> StreamDto<'_> {
    StreamDto {
        nodes: st
            .nodes_with_keys()
            .map(|(master, last, deleted, entries)| {
                let es = entries
                    .iter()
                    .map(|e| (id_dto(e.id), e.elements().map(|x| Blob(Cow::Borrowed(x))).collect()))
                    .collect();
                (id_dto(master), id_dto(last), deleted as u64, es)
            })
            .collect(),
        last_id: id_dto(st.last_id),
        first_id: id_dto(st.first_id),
        max_deleted_id: id_dto(st.max_deleted_id),
        entries_added: st.entries_added,
        groups: st
            .groups
            .iter()
            .map(|(name, g)| GroupDto {
                name: Blob(Cow::Borrowed(name)),
                last_id: id_dto(g.last_id),
                entries_read: g.entries_read,
                pel: g
                    .pel
                    .iter()
                    .map(|(id, n)| (id_dto(*id), n.delivery_time, n.delivery_count, Blob(Cow::Borrowed(&n.consumer))))
                    .collect(),
                consumers: g.consumers.iter().map(|(c, x)| (Blob(Cow::Borrowed(c)), x.seen_time)).collect(),
            })
            .collect(),
    }
}

/// Rebuild a stream, refusing anything inconsistent (unordered ids, odd element counts, PEL entries of
/// unknown consumers).
fn stream_from_dto(d: StreamDto<'_>) -> Result<Stream, DumpError> {
    let mut st = Stream::new();
    for (master, last, deleted, entries) in d.nodes {
        let es: Vec<(StreamId, Vec<&[u8]>)> =
            entries.iter().map(|(id, elems)| (dto_id(*id), elems.iter().map(|b| &b.0[..]).collect())).collect();
        if !st.push_node(dto_id(master), dto_id(last), deleted as usize, &es) {
            return Err(DumpError::BadFormat);
        }
    }
    st.last_id = dto_id(d.last_id);
    st.first_id = dto_id(d.first_id);
    st.max_deleted_id = dto_id(d.max_deleted_id);
    st.entries_added = d.entries_added;
    if st.last_valid_id() > st.last_id {
        return Err(DumpError::BadFormat);
    }
    for gd in d.groups {
        let mut g = Group::new(dto_id(gd.last_id), gd.entries_read);
        for (c, seen) in gd.consumers {
            g.create_consumer(&c.0, seen);
        }
        for (id, time, count, c) in gd.pel {
            let id = dto_id(id);
            let Some(cons) = g.consumers.get_mut(&c.0[..]) else { return Err(DumpError::BadFormat) };
            cons.pel.insert(id);
            g.pel.insert(id, Nack { delivery_time: time, delivery_count: count, consumer: c.0.into_owned() });
        }
        if st.groups.insert(gd.name.0.into_owned(), g).is_some() {
            return Err(DumpError::BadFormat);
        }
    }
    Ok(st)
}

/// bincode settings shared by both directions: fixed-width integers, little endian, and (when reading) a
/// size limit so that a crafted length prefix cannot make us allocate more than the payload holds.
fn codec() -> impl Options {
    bincode::options().with_fixint_encoding().with_little_endian().reject_trailing_bytes()
}

/// Serialize a value into a DUMP payload.
pub fn dump_value(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    if let Some(()) = v.with_str(|s| {
        out.push(TYPE_STRING);
        write_rdb_string(&mut out, s);
    }) {
        return seal(out);
    }
    let dto = match v {
        Value::Int(_) | Value::Emb(_) | Value::Raw(_) => unreachable_string(),
        Value::List(l) => Dto::List(l.iter().map(|e| Blob(Cow::Borrowed(e))).collect()),
        Value::Set(st) => Dto::Set(st.members().map(|m| Blob(m.bytes())).collect()),
        Value::ZSet(z) => Dto::ZSet(z.iter().map(|(m, sc)| (Blob(Cow::Borrowed(m)), sc)).collect()),
        Value::Hash(h) => Dto::Hash(h.iter().map(|(f, v)| (Blob(Cow::Borrowed(f)), Blob(Cow::Borrowed(v)))).collect()),
        Value::Stream(st) => Dto::Stream(stream_dto(st)),
    };
    out.push(TYPE_FERRODIS);
    // Serializing into a Vec cannot fail: every DTO field is a plain byte string or a float.
    out.extend(codec().serialize(&dto).unwrap_or_default());
    seal(out)
}

/// Strings are handled before the DTO: this arm cannot be reached.
fn unreachable_string() -> Dto<'static> {
    Dto::String(Blob(Cow::Borrowed(b"")))
}

/// Append the version and the CRC.
pub fn seal(mut out: Vec<u8>) -> Vec<u8> {
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    let crc = crc64(0, &out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// RDB length: 6-bit, 14-bit, 32-bit or 64-bit big-endian forms.
fn write_len(out: &mut Vec<u8>, n: u64) {
    if n < 64 {
        out.push(n as u8);
    } else if n < 16384 {
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

/// rdbSaveRawString without compression: canonical integers that fit 32 bits are int-encoded.
fn write_rdb_string(out: &mut Vec<u8>, s: &[u8]) {
    if s.len() <= 11 {
        if let Some(v) = crate::types::num::parse_i64(s) {
            if let Ok(b) = i8::try_from(v) {
                out.extend_from_slice(&[0xC0, b as u8]);
                return;
            } else if let Ok(h) = i16::try_from(v) {
                out.push(0xC1);
                out.extend_from_slice(&h.to_le_bytes());
                return;
            } else if let Ok(w) = i32::try_from(v) {
                out.push(0xC2);
                out.extend_from_slice(&w.to_le_bytes());
                return;
            }
        }
    }
    write_len(out, s.len() as u64);
    out.extend_from_slice(s);
}

/// Read an RDB length at `*pos`: (is a special encoding, value).
pub(super) fn read_len(b: &[u8], pos: &mut usize) -> Result<(bool, u64), DumpError> {
    let first = *b.get(*pos).ok_or(DumpError::BadFormat)?;
    *pos += 1;
    let take = |pos: &mut usize, n: usize| -> Result<&[u8], DumpError> {
        let s = b.get(*pos..*pos + n).ok_or(DumpError::BadFormat)?;
        *pos += n;
        Ok(s)
    };
    match first >> 6 {
        0 => Ok((false, (first & 0x3f) as u64)),
        1 => Ok((false, (((first & 0x3f) as u64) << 8) | take(pos, 1)?[0] as u64)),
        2 if first == 0x80 => {
            Ok((false, u32::from_be_bytes(take(pos, 4)?.try_into().map_err(|_| DumpError::BadFormat)?) as u64))
        }
        2 if first == 0x81 => {
            Ok((false, u64::from_be_bytes(take(pos, 8)?.try_into().map_err(|_| DumpError::BadFormat)?)))
        }
        3 => Ok((true, (first & 0x3f) as u64)),
        _ => Err(DumpError::BadFormat),
    }
}

/// rdbGenericLoadStringObject: plain, int-encoded, or LZF-compressed.
pub(super) fn read_rdb_string(b: &[u8], pos: &mut usize) -> Result<Vec<u8>, DumpError> {
    let (special, n) = read_len(b, pos)?;
    let take = |pos: &mut usize, n: usize| -> Result<&[u8], DumpError> {
        let end = pos.checked_add(n).ok_or(DumpError::BadFormat)?;
        let s = b.get(*pos..end).ok_or(DumpError::BadFormat)?;
        *pos = end;
        Ok(s)
    };
    if !special {
        return Ok(take(pos, usize::try_from(n).map_err(|_| DumpError::BadFormat)?)?.to_vec());
    }
    match n {
        0 => Ok((take(pos, 1)?[0] as i8).to_string().into_bytes()),
        1 => Ok(i16::from_le_bytes([take(pos, 1)?[0], take(pos, 1)?[0]]).to_string().into_bytes()),
        2 => {
            let w = take(pos, 4)?;
            Ok(i32::from_le_bytes([w[0], w[1], w[2], w[3]]).to_string().into_bytes())
        }
        3 => {
            let (_, clen) = read_len(b, pos)?;
            let (_, len) = read_len(b, pos)?;
            let data = take(pos, usize::try_from(clen).map_err(|_| DumpError::BadFormat)?)?;
            lzf_decompress(data, usize::try_from(len).map_err(|_| DumpError::BadFormat)?)
        }
        _ => Err(DumpError::BadFormat),
    }
}

/// LZF decompression (liblzf's lzf_d.c), bounds-checked; the output must be exactly `len` bytes.
fn lzf_decompress(input: &[u8], len: usize) -> Result<Vec<u8>, DumpError> {
    // The payload itself bounds a sane expansion; refuse absurd claims before allocating.
    if len > input.len().saturating_mul(300).max(64) {
        return Err(DumpError::BadFormat);
    }
    let mut out: Vec<u8> = Vec::with_capacity(len);
    let mut ip = 0;
    while ip < input.len() {
        let ctrl = input[ip] as usize;
        ip += 1;
        if ctrl < 32 {
            let run = ctrl + 1;
            let lit = input.get(ip..ip + run).ok_or(DumpError::BadFormat)?;
            out.extend_from_slice(lit);
            ip += run;
        } else {
            let mut run = ctrl >> 5;
            if run == 7 {
                run += *input.get(ip).ok_or(DumpError::BadFormat)? as usize;
                ip += 1;
            }
            let low = *input.get(ip).ok_or(DumpError::BadFormat)? as usize;
            ip += 1;
            let back = ((ctrl & 0x1f) << 8) + low + 1;
            let start = out.len().checked_sub(back).ok_or(DumpError::BadFormat)?;
            for k in 0..run + 2 {
                let byte = out[start + k];
                out.push(byte);
            }
        }
        if out.len() > len {
            return Err(DumpError::BadFormat);
        }
    }
    if out.len() != len {
        return Err(DumpError::BadFormat);
    }
    Ok(out)
}

/// Check a payload's trailer (length, version, CRC) without decoding the body: Redis's verifyDumpPayload.
pub fn verify_payload(payload: &[u8]) -> Result<u16, DumpError> {
    if payload.len() < TRAILER {
        return Err(DumpError::VersionOrChecksum);
    }
    let footer = payload.len() - TRAILER;
    let version = u16::from_le_bytes([payload[footer], payload[footer + 1]]);
    if version == 0 || version > FORMAT_VERSION {
        return Err(DumpError::VersionOrChecksum);
    }
    let mut want = [0u8; 8];
    want.copy_from_slice(&payload[footer + 2..]);
    if crc64(0, &payload[..footer + 2]) != u64::from_le_bytes(want) {
        return Err(DumpError::VersionOrChecksum);
    }
    Ok(version)
}

/// Decode a DUMP payload. Any corruption is an error, never a panic.
pub fn restore_value(payload: &[u8], enc: &Encodings) -> Result<Value, DumpError> {
    verify_payload(payload)?;
    let body = &payload[..payload.len() - TRAILER];
    match body.first() {
        Some(&TYPE_STRING) => {
            let mut pos = 1;
            let s = read_rdb_string(body, &mut pos)?;
            if pos != body.len() {
                return Err(DumpError::BadFormat);
            }
            return Ok(Value::string(&s));
        }
        Some(&TYPE_FERRODIS) => {}
        // A stream DUMPed by Redis (5.0 to 7.0 forms).
        Some(&t) if t == rdb_stream::TYPE_STREAM_LISTPACKS || t == rdb_stream::TYPE_STREAM_LISTPACKS_2 => {
            return Ok(Value::Stream(Box::new(rdb_stream::read_stream(body, 1, t)?)));
        }
        _ => return Err(DumpError::BadFormat),
    }
    let body = &body[1..];
    let dto: Dto<'static> =
        codec().with_limit(body.len() as u64).deserialize(body).map_err(|_| DumpError::BadFormat)?;
    Ok(match dto {
        Dto::String(b) => Value::string(&b.0),
        Dto::List(v) => Value::List(List::from_items(v.into_iter().map(|b| b.0.into_owned()), enc)),
        Dto::Set(v) => Value::Set(Set::from_members(v.into_iter().map(|b| b.0.into_owned()), enc)),
        Dto::ZSet(v) => {
            if v.iter().any(|(_, sc)| sc.is_nan()) {
                return Err(DumpError::BadFormat);
            }
            Value::ZSet(ZSet::from_pairs(v.into_iter().map(|(m, sc)| (m.0.into_owned(), sc)), enc))
        }
        Dto::Hash(v) => {
            Value::Hash(Hash::from_pairs(v.into_iter().map(|(f, x)| (f.0.into_owned(), x.0.into_owned())), enc))
        }
        Dto::Stream(d) => Value::Stream(Box::new(stream_from_dto(d)?)),
    })
}

/// CRC-64/Jones as Redis's crc64.c computes it: reflected polynomial 0xad93d23594c935a9 (bit-reversed
/// 0x95ac9329ac4bc9b5), no final xor. `crc` is the running value (0 to start).
pub fn crc64(mut crc: u64, data: &[u8]) -> u64 {
    for &b in data {
        crc = CRC64_TABLE[((crc ^ b as u64) & 0xff) as usize] ^ (crc >> 8);
    }
    crc
}

/// Byte-at-a-time table for the reflected Jones polynomial, built at compile time.
static CRC64_TABLE: [u64; 256] = crc64_table();

const fn crc64_table() -> [u64; 256] {
    const POLY_REFLECTED: u64 = 0x95ac_9329_ac4b_c9b5;
    let mut table = [0u64; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u64;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ POLY_REFLECTED } else { crc >> 1 };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc64_matches_redis_test_vector() {
        assert_eq!(crc64(0, b"123456789"), 0xe9c6d914c4b8d9ca);
        // Redis's crc64.c self-test, longer input (C's sizeof counts the terminating NUL).
        let li = b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed \
do eiusmod tempor incididunt ut labore et dolore magna \
aliqua. Ut enim ad minim veniam, quis nostrud exercitation \
ullamco laboris nisi ut aliquip ex ea commodo consequat. Duis \
aute irure dolor in reprehenderit in voluptate velit esse \
cillum dolore eu fugiat nulla pariatur. Excepteur sint \
occaecat cupidatat non proident, sunt in culpa qui officia \
deserunt mollit anim id est laborum.\0";
        assert_eq!(crc64(0, li), 0xc7794709e69683b3);
        // The trailer of a real redis-server 7.0.15 `DUMP` of "bar": RDB body + version 10, then its CRC.
        let real = b"\x00\x03bar\n\x00\xe6\xbeI`\xeef\xfd\x17";
        assert_eq!(crc64(0, &real[..7]).to_le_bytes(), real[7..]);
        // Incremental use gives the same result.
        assert_eq!(crc64(crc64(0, b"12345"), b"6789"), 0xe9c6d914c4b8d9ca);
    }

    #[test]
    fn round_trips_streams_with_groups() {
        use crate::types::stream::{IdSpec, NodeLimits};
        let lim = NodeLimits { max_bytes: 4096, max_entries: 2 };
        let mut st = Stream::new();
        for i in 1..=5u64 {
            st.append(IdSpec::Explicit(StreamId::new(i, 0)), &[b"f", b"v"], 0, lim).unwrap();
        }
        st.delete_ids(&[StreamId::new(2, 0)]);
        st.groups.insert(b"g".to_vec(), Group::new(StreamId::MIN, -1));
        st.groups.get_mut(&b"g"[..]).unwrap().create_consumer(b"alice", 7);
        st.deliver_new(b"g", b"alice", StreamId::MIN, 2, false, 9);
        let v = Value::Stream(Box::new(st));
        let back = restore_value(&dump_value(&v), &Encodings::default()).unwrap();
        assert_eq!(back, v);
        // An empty stream keeps its last id.
        let mut e = Stream::new();
        e.last_id = StreamId::new(9, 9);
        let v = Value::Stream(Box::new(e));
        assert_eq!(restore_value(&dump_value(&v), &Encodings::default()).unwrap(), v);
    }

    #[test]
    fn round_trips_strings_and_reencodes() {
        for v in [
            Value::string(b"bar"),
            Value::string(b"12345"),
            Value::Int(-7),
            Value::Int(i64::MIN),
            Value::string(&[b'x'; 100]),
            Value::string(b""),
            Value::string(&[0u8, 255, 13, 10]),
        ] {
            let p = dump_value(&v);
            assert_eq!(restore_value(&p, &Encodings::default()).unwrap(), v);
        }
        // A short raw string comes back embstr, as from Redis's RDB loader.
        let p = dump_value(&Value::raw(b"abc".to_vec()));
        assert_eq!(restore_value(&p, &Encodings::default()).unwrap().encoding(), "embstr");
    }

    #[test]
    fn strings_are_byte_identical_to_redis() {
        // redis-server 7.0.15: SET k bar; DUMP k  /  SET k 10; DUMP k.
        let p = dump_value(&Value::string(b"bar"));
        assert_eq!(&p[..7], b"\x00\x03bar\x0a\x00");
        assert_eq!(&p[7..], &crc64(0, &p[..7]).to_le_bytes());
        assert_eq!(verify_payload(&p), Ok(FORMAT_VERSION));
        assert_eq!(dump_value(&Value::Int(10)), b"\x00\xc0\n\n\x00n\x9fWE\x0e\xaec\xbb");
        // Longer lengths and integer widths.
        let long = vec![b'x'; 20_000];
        let p = dump_value(&Value::string(&long));
        assert_eq!(&p[..6], &[0, 0x80, 0, 0, 0x4e, 0x20]);
        assert_eq!(&dump_value(&Value::Int(1000))[..4], &[0, 0xC1, 0xe8, 0x03]);
        assert_eq!(&dump_value(&Value::Int(100_000))[..6], &[0, 0xC2, 0xa0, 0x86, 0x01, 0]);
        for v in [Value::Int(5_000_000_000), Value::string(&long), Value::string(&[b'y'; 100])] {
            assert_eq!(restore_value(&dump_value(&v), &Encodings::default()).unwrap(), v);
        }
    }

    #[test]
    fn reads_redis_lzf_strings() {
        // "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" (30 bytes) as Redis compresses it: literal 'a', back-ref len 29.
        let mut body = vec![0u8, 0xC3];
        let comp = [0u8, b'a', 0xE0, 20, 0];
        body.push(comp.len() as u8);
        body.push(30);
        body.extend_from_slice(&comp);
        let v = restore_value(&seal(body), &Encodings::default()).unwrap();
        assert_eq!(v.to_vec().unwrap(), vec![b'a'; 30]);
    }

    #[test]
    fn every_corruption_is_an_error() {
        let p = dump_value(&Value::string(b"hello world"));
        for i in 0..p.len() {
            for bit in 0..8 {
                let mut q = p.clone();
                q[i] ^= 1 << bit;
                assert!(restore_value(&q, &Encodings::default()).is_err(), "flip at byte {i} bit {bit} accepted");
            }
        }
        for n in 0..p.len() {
            assert!(restore_value(&p[..n], &Encodings::default()).is_err());
        }
        assert_eq!(restore_value(b"...", &Encodings::default()), Err(DumpError::VersionOrChecksum));
        assert_eq!(restore_value(b"", &Encodings::default()), Err(DumpError::VersionOrChecksum));
    }

    /// Reseal a body with a valid trailer, to test what the decoder does with well-checksummed garbage.
    fn seal_v(body: &[u8], version: u16) -> Vec<u8> {
        let mut v = body.to_vec();
        v.extend_from_slice(&version.to_le_bytes());
        let crc = crc64(0, &v);
        v.extend_from_slice(&crc.to_le_bytes());
        v
    }

    #[test]
    fn bad_bodies_with_good_trailers() {
        // Newer version: refused before decoding.
        let body = &dump_value(&Value::string(b"x"))[..3];
        assert_eq!(
            restore_value(&seal_v(body, FORMAT_VERSION + 1), &Encodings::default()),
            Err(DumpError::VersionOrChecksum)
        );
        assert_eq!(restore_value(&seal_v(body, 0), &Encodings::default()), Err(DumpError::VersionOrChecksum));
        assert!(restore_value(&seal_v(body, FORMAT_VERSION), &Encodings::default()).is_ok());
        // Unknown RDB type, and an unknown collection tag (a future type).
        assert_eq!(
            restore_value(&seal_v(&[9, 0, 0, 0], FORMAT_VERSION), &Encodings::default()),
            Err(DumpError::BadFormat)
        );
        assert_eq!(
            restore_value(&seal_v(&[TYPE_FERRODIS, 9, 0, 0, 0], FORMAT_VERSION), &Encodings::default()),
            Err(DumpError::BadFormat)
        );
        // A length prefix far beyond the payload must not allocate or panic (RDB and bincode forms).
        let mut huge = vec![0, 0x81];
        huge.extend_from_slice(&u64::MAX.to_be_bytes());
        huge.extend_from_slice(b"abc");
        assert_eq!(restore_value(&seal_v(&huge, FORMAT_VERSION), &Encodings::default()), Err(DumpError::BadFormat));
        let mut huge = vec![TYPE_FERRODIS, 1, 0, 0, 0];
        huge.extend_from_slice(&u64::MAX.to_le_bytes());
        huge.extend_from_slice(b"abc");
        assert_eq!(restore_value(&seal_v(&huge, FORMAT_VERSION), &Encodings::default()), Err(DumpError::BadFormat));
        // Trailing bytes after the value.
        let mut extra = body.to_vec();
        extra.push(0);
        assert_eq!(restore_value(&seal_v(&extra, FORMAT_VERSION), &Encodings::default()), Err(DumpError::BadFormat));
        // Empty body.
        assert_eq!(restore_value(&seal_v(&[], FORMAT_VERSION), &Encodings::default()), Err(DumpError::BadFormat));
    }
}
