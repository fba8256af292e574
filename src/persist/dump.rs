//! DUMP/RESTORE payloads: versioned, checksummed (persist layer, pure).
//!
//! Layout, as Redis's createDumpPayload (`[object][RDB version, 2 bytes LE][CRC64, 8 bytes LE]`):
//!
//! ```text
//! [RDB type byte][RDB value body][RDB version: u16 LE][CRC-64/Jones of everything before: u64 LE]
//! ```
//!
//! The object is exactly what an RDB file holds for the value (`rdb::encode_value`, rdbcompression yes), so
//! a payload DUMPed here RESTOREs into redis-server 7.0 and back, for every type and encoding. Redis checks
//! the trailer before decoding anything, so a payload from a newer server is refused with the
//! version/checksum error rather than misread; we do the same. The body decoder validates fully whatever
//! sanitize-dump-payload says (what `yes` asks for): `no` and `clients` only let Redis skip checks, and
//! skipping them buys nothing here, so nothing is weakened.

use super::rdb;
use crate::types::encodings::Encodings;
use crate::types::value::Value;
use std::fmt;

/// The current payload format: Redis 7.0's RDB version. Payloads with a higher version are refused (as
/// Redis refuses a newer RDB version); version 0 was never written.
pub const FORMAT_VERSION: u16 = rdb::RDB_VERSION;

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

/// Serialize a value into a DUMP payload.
pub fn dump_value(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    rdb::encode_value(v, true, &mut out);
    seal(out)
}

/// Append the version and the CRC.
pub fn seal(mut out: Vec<u8>) -> Vec<u8> {
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    let crc = rdb::crc64(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Check a payload's trailer (length, version, CRC) without decoding the body: Redis's verifyDumpPayload.
pub fn verify_payload(payload: &[u8]) -> Result<u16, DumpError> {
    verify_payload_with(payload, true)
}

/// The same, the CRC checked only when `check_crc` (DEBUG SET-SKIP-CHECKSUM-VALIDATION 1 turns it off, so
/// tests reach the body's own checks with hand-made payloads).
pub fn verify_payload_with(payload: &[u8], check_crc: bool) -> Result<u16, DumpError> {
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
    if check_crc && rdb::crc64(&payload[..footer + 2]) != u64::from_le_bytes(want) {
        return Err(DumpError::VersionOrChecksum);
    }
    Ok(version)
}

/// Decode a DUMP payload. Any corruption is an error, never a panic.
pub fn restore_value(payload: &[u8], enc: &Encodings) -> Result<Value, DumpError> {
    verify_payload(payload)?;
    rdb::decode_value(&payload[..payload.len() - TRAILER], enc).map_err(|_| DumpError::BadFormat)
}

/// Decode a DUMP payload (its CRC checked when `check_crc`); a body that fails its checks comes with the
/// decoder's reason, for the log line Redis writes ("... integrity check failed").
pub fn restore_value_with(payload: &[u8], enc: &Encodings, check_crc: bool) -> Result<Value, (DumpError, String)> {
    verify_payload_with(payload, check_crc).map_err(|e| (e, String::new()))?;
    rdb::decode_value(&payload[..payload.len() - TRAILER], enc).map_err(|e| (DumpError::BadFormat, e.to_string()))
}

/// CRC-64/Jones as Redis's crc64.c computes it, continuing from `crc` (0 to start).
pub fn crc64(crc: u64, data: &[u8]) -> u64 {
    let mut c = rdb::Crc64::resume(crc);
    c.update(data);
    c.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::stream::{Group, Stream, StreamId};

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
        // 20000 bytes that LZF cannot shrink: a 32-bit length.
        let long = crate::persist::lzf::tests::noise(20_000);
        let p = dump_value(&Value::string(&long));
        assert_eq!(&p[..6], &[0, 0x80, 0, 0, 0x4e, 0x20]);
        // A compressible one is LZF-compressed, as rdbcompression yes does: SET k <30 x 'a'>; DUMP k.
        assert_eq!(
            dump_value(&Value::string(&[b'a'; 30])),
            b"\x00\xc3\t\x1e\x01aa\xe0\x11\x00\x01aa\n\x00Es|\xbb+d{\xbb"
        );
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
        // Unknown RDB type, and our old private collection tag (never persisted, no longer read).
        assert_eq!(
            restore_value(&seal_v(&[8, 0, 0, 0], FORMAT_VERSION), &Encodings::default()),
            Err(DumpError::BadFormat)
        );
        assert_eq!(
            restore_value(&seal_v(&[0xF5, 9, 0, 0, 0], FORMAT_VERSION), &Encodings::default()),
            Err(DumpError::BadFormat)
        );
        // A length prefix far beyond the payload must not allocate or panic (RDB and bincode forms).
        let mut huge = vec![0, 0x81];
        huge.extend_from_slice(&u64::MAX.to_be_bytes());
        huge.extend_from_slice(b"abc");
        assert_eq!(restore_value(&seal_v(&huge, FORMAT_VERSION), &Encodings::default()), Err(DumpError::BadFormat));
        // A huge element count with nothing behind it.
        let mut huge = vec![rdb::TYPE_SET, 0x81];
        huge.extend_from_slice(&u64::MAX.to_be_bytes());
        assert_eq!(restore_value(&seal_v(&huge, FORMAT_VERSION), &Encodings::default()), Err(DumpError::BadFormat));
        // Trailing bytes after the value.
        let mut extra = body.to_vec();
        extra.push(0);
        assert_eq!(restore_value(&seal_v(&extra, FORMAT_VERSION), &Encodings::default()), Err(DumpError::BadFormat));
        // Empty body.
        assert_eq!(restore_value(&seal_v(&[], FORMAT_VERSION), &Encodings::default()), Err(DumpError::BadFormat));
    }
}
