//! DUMP/RESTORE payloads: versioned, checksummed (persist layer, pure).
//!
//! Layout, mirroring Redis's (`[RDB object][RDB version, 2 bytes LE][CRC64, 8 bytes LE]`):
//!
//! ```text
//! [bincode of Dto][format version: u16 LE][CRC-64/Jones of everything before: u64 LE]
//! ```
//!
//! Redis checks the trailer before decoding anything, so a payload from a newer server is refused with the
//! version/checksum error rather than misread; we do the same. The body is our own (bincode of a private DTO
//! enum), not RDB: payloads move between ferrodis servers, not to or from redis-server.
//!
//! Compatibility rule: the DTO's variants are append-only. bincode writes a variant's position as a u32 tag,
//! so the position *is* the type tag on the wire (pinned by a unit test): a collection type is added as a
//! new variant at the end, and old payloads keep decoding. A change to an existing variant's shape needs a
//! new FORMAT_VERSION.

use crate::types::encodings::Encodings;
use crate::types::hash::Hash;
use crate::types::list::List;
use crate::types::set::Set;
use crate::types::value::Value;
use crate::types::zset::ZSet;
use bincode::Options;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::borrow::Cow;
use std::fmt;

/// The current payload format. Payloads with a higher version are refused (as Redis refuses a newer RDB
/// version); version 0 was never written.
pub const FORMAT_VERSION: u16 = 1;

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
    // Reserved: Stream (5).
}

/// bincode settings shared by both directions: fixed-width integers, little endian, and (when reading) a
/// size limit so that a crafted length prefix cannot make us allocate more than the payload holds.
fn codec() -> impl Options {
    bincode::options().with_fixint_encoding().with_little_endian().reject_trailing_bytes()
}

/// Serialize a value into a DUMP payload.
pub fn dump_value(v: &Value) -> Vec<u8> {
    let dto = match v {
        Value::Int(i) => Dto::String(Blob(Cow::Owned(i.to_string().into_bytes()))),
        Value::Emb(b) => Dto::String(Blob(Cow::Borrowed(b.as_slice()))),
        Value::Raw(b) => Dto::String(Blob(Cow::Borrowed(b.as_slice()))),
        Value::List(l) => Dto::List(l.iter().map(|e| Blob(Cow::Borrowed(e))).collect()),
        Value::Set(st) => Dto::Set(st.iter().map(|e| Blob(Cow::Borrowed(e))).collect()),
        Value::ZSet(z) => Dto::ZSet(z.iter().map(|(m, sc)| (Blob(Cow::Borrowed(m)), sc)).collect()),
        Value::Hash(h) => Dto::Hash(h.iter().map(|(f, v)| (Blob(Cow::Borrowed(f)), Blob(Cow::Borrowed(v)))).collect()),
    };
    // Serializing into a Vec cannot fail: every DTO field is a plain byte string.
    let mut out = codec().serialize(&dto).unwrap_or_default();
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    let crc = crc64(0, &out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
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
    let dto: Dto<'static> =
        codec().with_limit(body.len() as u64).deserialize(body).map_err(|_| DumpError::BadFormat)?;
    Ok(match dto {
        Dto::String(b) => Value::string(&b.0),
        Dto::List(v) => Value::List(Box::new(List::from_items(v.into_iter().map(|b| b.0.into_owned()), enc))),
        Dto::Set(v) => Value::Set(Box::new(Set::from_members(v.into_iter().map(|b| b.0.into_owned()), enc))),
        Dto::ZSet(v) => {
            if v.iter().any(|(_, sc)| sc.is_nan()) {
                return Err(DumpError::BadFormat);
            }
            Value::ZSet(Box::new(ZSet::from_pairs(v.into_iter().map(|(m, sc)| (m.0.into_owned(), sc)), enc)))
        }
        Dto::Hash(v) => Value::Hash(Box::new(Hash::from_pairs(
            v.into_iter().map(|(f, x)| (f.0.into_owned(), x.0.into_owned())),
            enc,
        ))),
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
    fn layout_is_body_version_crc() {
        let p = dump_value(&Value::string(b"bar"));
        // Tag 0 (u32 LE), length 3 (u64 LE), the bytes.
        assert_eq!(&p[..4], &[0, 0, 0, 0]);
        assert_eq!(&p[4..12], &3u64.to_le_bytes());
        assert_eq!(&p[12..15], b"bar");
        assert_eq!(&p[15..17], &FORMAT_VERSION.to_le_bytes());
        assert_eq!(&p[17..], &crc64(0, &p[..17]).to_le_bytes());
        assert_eq!(verify_payload(&p), Ok(FORMAT_VERSION));
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
    fn seal(body: &[u8], version: u16) -> Vec<u8> {
        let mut v = body.to_vec();
        v.extend_from_slice(&version.to_le_bytes());
        let crc = crc64(0, &v);
        v.extend_from_slice(&crc.to_le_bytes());
        v
    }

    #[test]
    fn bad_bodies_with_good_trailers() {
        // Newer version: refused before decoding.
        let body = &dump_value(&Value::string(b"x"))[..13];
        assert_eq!(
            restore_value(&seal(body, FORMAT_VERSION + 1), &Encodings::default()),
            Err(DumpError::VersionOrChecksum)
        );
        assert_eq!(restore_value(&seal(body, 0), &Encodings::default()), Err(DumpError::VersionOrChecksum));
        assert!(restore_value(&seal(body, FORMAT_VERSION), &Encodings::default()).is_ok());
        // Unknown tag (a future collection type).
        assert_eq!(
            restore_value(&seal(&[9, 0, 0, 0], FORMAT_VERSION), &Encodings::default()),
            Err(DumpError::BadFormat)
        );
        // A length prefix far beyond the payload must not allocate or panic.
        let mut huge = vec![0, 0, 0, 0];
        huge.extend_from_slice(&u64::MAX.to_le_bytes());
        huge.extend_from_slice(b"abc");
        assert_eq!(restore_value(&seal(&huge, FORMAT_VERSION), &Encodings::default()), Err(DumpError::BadFormat));
        // Trailing bytes after the value.
        let mut extra = body.to_vec();
        extra.push(0);
        assert_eq!(restore_value(&seal(&extra, FORMAT_VERSION), &Encodings::default()), Err(DumpError::BadFormat));
        // Empty body.
        assert_eq!(restore_value(&seal(&[], FORMAT_VERSION), &Encodings::default()), Err(DumpError::BadFormat));
    }
}
