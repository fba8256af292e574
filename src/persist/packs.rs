//! Redis's compact blobs inside RDB values (persist layer, pure): listpacks (written and read), intsets
//! (written and read), and the older ziplists and zipmaps (read only, as Redis 7.0 converts them on load).
//!
//! Writers lay bytes out exactly as listpack.c / intset.c do. Readers validate as Redis's deep sanitization
//! does (header sizes, every entry's encoding and back-length, the terminator, element counts, ziplist
//! prev-lengths and tail offset, intset order) and return None on any inconsistency: a corrupt blob is an
//! error for the caller, never a panic or a read out of bounds.

use crate::types::num::parse_i64;

/// One element of a listpack or ziplist: an integer or a string.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Elem<'a> {
    Int(i64),
    Str(&'a [u8]),
}

impl<'a> Elem<'a> {
    /// The element's bytes (integers in decimal, as Redis's lpGet returns them).
    pub fn to_vec(self) -> Vec<u8> {
        self.text().to_vec()
    }

    /// The element's bytes without an allocation: a string stays borrowed, an integer is written out in place.
    pub fn text(self) -> Text<'a> {
        match self {
            Elem::Int(i) => {
                let mut digits = [0u8; 20];
                let mut b = itoa::Buffer::new();
                let s = b.format(i).as_bytes();
                digits[..s.len()].copy_from_slice(s);
                Text::Int(digits, s.len() as u8)
            }
            Elem::Str(s) => Text::Str(s),
        }
    }
}

/// An element's bytes, from `Elem::text`.
pub enum Text<'a> {
    Str(&'a [u8]),
    /// Decimal digits (an i64 takes at most 20) and how many there are.
    Int([u8; 20], u8),
}

impl std::ops::Deref for Text<'_> {
    type Target = [u8];

    #[inline]
    fn deref(&self) -> &[u8] {
        match self {
            Text::Str(s) => s,
            Text::Int(d, n) => &d[..*n as usize],
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// listpack
// ---------------------------------------------------------------------------------------------------------

/// Header: 32-bit total bytes, 16-bit element count.
const LP_HDR: usize = 6;
/// The count field's "unknown, walk to count" value.
const LP_COUNT_UNKNOWN: u32 = u16::MAX as u32;
const LP_EOF: u8 = 0xFF;

/// Bytes of a listpack back-length for an entry of `l` bytes (lpEncodeBacklen).
fn backlen_size(l: usize) -> usize {
    match l {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

/// The back-length of an entry of `l` bytes: most significant 7-bit group first, every byte but the first
/// flagged with 128 (it is read backwards from the entry's end).
fn backlen_bytes(l: usize) -> ([u8; 5], usize) {
    let n = backlen_size(l);
    let mut b = [0u8; 5];
    for (k, i) in (0..n).rev().enumerate() {
        let group = ((l >> (7 * i)) & 127) as u8;
        b[k] = if k == 0 { group } else { group | 128 };
    }
    (b, n)
}

fn put_backlen(out: &mut Vec<u8>, l: usize) {
    let (b, n) = backlen_bytes(l);
    out.extend_from_slice(&b[..n]);
}

/// Builds a listpack as lpAppend / lpAppendInteger would: strings that are canonical integers are stored as
/// integers, in the narrowest integer encoding.
pub struct LpWriter {
    buf: Vec<u8>,
    count: u32,
}

impl Default for LpWriter {
    fn default() -> Self {
        LpWriter::new()
    }
}

impl LpWriter {
    /// An empty listpack.
    pub fn new() -> LpWriter {
        LpWriter { buf: vec![0; LP_HDR], count: 0 }
    }

    /// Start again, keeping the buffer's allocation.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.buf.resize(LP_HDR, 0);
        self.count = 0;
    }

    /// Append a string element (lpAppend).
    pub fn push_str(&mut self, s: &[u8]) {
        if s.len() < 21 {
            if let Some(v) = parse_i64(s) {
                return self.push_int(v);
            }
        }
        let start = self.buf.len();
        let n = s.len();
        if n < 64 {
            self.buf.push(0x80 | n as u8);
        } else if n < 4096 {
            self.buf.push(0xE0 | (n >> 8) as u8);
            self.buf.push(n as u8);
        } else {
            self.buf.push(0xF0);
            self.buf.extend_from_slice(&(n as u32).to_le_bytes());
        }
        self.buf.extend_from_slice(s);
        let l = self.buf.len() - start;
        put_backlen(&mut self.buf, l);
        self.count += 1;
    }

    /// Append an integer element (lpAppendInteger).
    pub fn push_int(&mut self, v: i64) {
        let b = &mut self.buf;
        let l = if (0..=127).contains(&v) {
            b.push(v as u8);
            1
        } else if (-4096..=4095).contains(&v) {
            let u = if v < 0 { (1 << 13) + v } else { v } as u64;
            b.push(0xC0 | (u >> 8) as u8);
            b.push(u as u8);
            2
        } else if (-32768..=32767).contains(&v) {
            b.push(0xF1);
            b.extend_from_slice(&(v as i16).to_le_bytes());
            3
        } else if (-8388608..=8388607).contains(&v) {
            b.push(0xF2);
            b.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
            4
        } else if (-2147483648..=2147483647).contains(&v) {
            b.push(0xF3);
            b.extend_from_slice(&(v as i32).to_le_bytes());
            5
        } else {
            b.push(0xF4);
            b.extend_from_slice(&v.to_le_bytes());
            9
        };
        put_backlen(b, l);
        self.count += 1;
    }

    /// The finished listpack (header filled in, terminator appended); the writer is left empty.
    pub fn finish(&mut self) -> &[u8] {
        self.buf.push(LP_EOF);
        let total = self.buf.len() as u32;
        self.buf[..4].copy_from_slice(&total.to_le_bytes());
        let count = self.count.min(LP_COUNT_UNKNOWN) as u16;
        self.buf[4..6].copy_from_slice(&count.to_le_bytes());
        self.count = 0;
        &self.buf
    }
}

/// The elements of a listpack, fully validated (lpValidateIntegrity with deep checks).
pub fn listpack(lp: &[u8]) -> Option<Vec<Elem<'_>>> {
    if lp.len() < LP_HDR + 1
        || u32::from_le_bytes([lp[0], lp[1], lp[2], lp[3]]) as usize != lp.len()
        || lp[lp.len() - 1] != LP_EOF
    {
        return None;
    }
    let declared = u16::from_le_bytes([lp[4], lp[5]]) as u32;
    let end = lp.len() - 1;
    // Every element takes at least 2 bytes: the count is bounded by what was read.
    let mut out = Vec::with_capacity(((end - LP_HDR) / 2).min(declared as usize));
    let mut pos = LP_HDR;
    let take = |pos: &mut usize, n: usize| -> Option<&[u8]> {
        let e = pos.checked_add(n)?;
        if e > end {
            return None;
        }
        let s = &lp[*pos..e];
        *pos = e;
        Some(s)
    };
    while pos < end {
        let start = pos;
        let b = lp[pos];
        pos += 1;
        let elem = if b & 0x80 == 0 {
            Elem::Int((b & 0x7F) as i64)
        } else if b & 0xC0 == 0x80 {
            Elem::Str(take(&mut pos, (b & 0x3F) as usize)?)
        } else if b & 0xE0 == 0xC0 {
            let lo = take(&mut pos, 1)?[0];
            let v = (((b & 0x1F) as i64) << 8) | lo as i64;
            Elem::Int(if v >= 1 << 12 { v - (1 << 13) } else { v })
        } else if b & 0xF0 == 0xE0 {
            let lo = take(&mut pos, 1)?[0];
            Elem::Str(take(&mut pos, (((b & 0x0F) as usize) << 8) | lo as usize)?)
        } else {
            match b {
                0xF0 => {
                    let w = take(&mut pos, 4)?;
                    Elem::Str(take(&mut pos, u32::from_le_bytes([w[0], w[1], w[2], w[3]]) as usize)?)
                }
                0xF1 => {
                    let w = take(&mut pos, 2)?;
                    Elem::Int(i16::from_le_bytes([w[0], w[1]]) as i64)
                }
                0xF2 => {
                    let w = take(&mut pos, 3)?;
                    Elem::Int((i32::from_le_bytes([0, w[0], w[1], w[2]]) >> 8) as i64)
                }
                0xF3 => {
                    let w = take(&mut pos, 4)?;
                    Elem::Int(i32::from_le_bytes([w[0], w[1], w[2], w[3]]) as i64)
                }
                0xF4 => {
                    let w = take(&mut pos, 8)?;
                    Elem::Int(i64::from_le_bytes(w.try_into().ok()?))
                }
                _ => return None,
            }
        };
        let l = pos - start;
        let (want, n) = backlen_bytes(l);
        if take(&mut pos, n)? != &want[..n] {
            return None;
        }
        out.push(elem);
    }
    if declared != LP_COUNT_UNKNOWN && declared as usize != out.len() {
        return None;
    }
    Some(out)
}

// ---------------------------------------------------------------------------------------------------------
// intset
// ---------------------------------------------------------------------------------------------------------

/// Append an intset blob of `ints` (ascending, distinct) in the narrowest width that holds them all.
pub fn write_intset(out: &mut Vec<u8>, ints: &[i64]) {
    let (lo, hi) = (ints.first().copied().unwrap_or(0), ints.last().copied().unwrap_or(0));
    let width: u32 = if i16::try_from(lo).is_ok() && i16::try_from(hi).is_ok() {
        2
    } else if i32::try_from(lo).is_ok() && i32::try_from(hi).is_ok() {
        4
    } else {
        8
    };
    out.reserve(8 + ints.len() * width as usize);
    out.extend_from_slice(&width.to_le_bytes());
    out.extend_from_slice(&(ints.len() as u32).to_le_bytes());
    for &v in ints {
        match width {
            2 => out.extend_from_slice(&(v as i16).to_le_bytes()),
            4 => out.extend_from_slice(&(v as i32).to_le_bytes()),
            _ => out.extend_from_slice(&v.to_le_bytes()),
        }
    }
}

/// The members of an intset blob: known width, exact size, not empty, strictly ascending.
pub fn intset(b: &[u8]) -> Option<Vec<i64>> {
    if b.len() < 8 {
        return None;
    }
    let width = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize;
    let n = u32::from_le_bytes([b[4], b[5], b[6], b[7]]) as usize;
    if !matches!(width, 2 | 4 | 8) || n == 0 || (n as u64) * (width as u64) + 8 != b.len() as u64 {
        return None;
    }
    let mut out = Vec::with_capacity(n);
    for c in b[8..].chunks_exact(width) {
        let v = match width {
            2 => i16::from_le_bytes([c[0], c[1]]) as i64,
            4 => i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as i64,
            _ => i64::from_le_bytes(c.try_into().ok()?),
        };
        if out.last().is_some_and(|&p| p >= v) {
            return None;
        }
        out.push(v);
    }
    Some(out)
}

// ---------------------------------------------------------------------------------------------------------
// ziplist (Redis 3.2 to 6.2)
// ---------------------------------------------------------------------------------------------------------

/// zlbytes, zltail, zllen.
const ZL_HDR: usize = 10;

/// The elements of a ziplist, validated as ziplistValidateIntegrity(deep) does.
pub fn ziplist(zl: &[u8]) -> Option<Vec<Elem<'_>>> {
    if zl.len() < ZL_HDR + 1
        || u32::from_le_bytes([zl[0], zl[1], zl[2], zl[3]]) as usize != zl.len()
        || zl[zl.len() - 1] != 0xFF
    {
        return None;
    }
    let tail = u32::from_le_bytes([zl[4], zl[5], zl[6], zl[7]]) as usize;
    let declared = u16::from_le_bytes([zl[8], zl[9]]);
    let end = zl.len() - 1;
    if tail > end {
        return None;
    }
    let mut out = Vec::with_capacity(((end - ZL_HDR) / 2).min(declared as usize));
    let mut pos = ZL_HDR;
    let mut prev_size = 0usize;
    let mut last_start = None;
    let take = |pos: &mut usize, n: usize| -> Option<&[u8]> {
        let e = pos.checked_add(n)?;
        if e > end {
            return None;
        }
        let s = &zl[*pos..e];
        *pos = e;
        Some(s)
    };
    while pos < end {
        let start = pos;
        let p0 = take(&mut pos, 1)?[0];
        let prevlen = if p0 < 254 {
            p0 as usize
        } else if p0 == 254 {
            let w = take(&mut pos, 4)?;
            u32::from_le_bytes([w[0], w[1], w[2], w[3]]) as usize
        } else {
            return None;
        };
        if prevlen != prev_size {
            return None;
        }
        let enc = take(&mut pos, 1)?[0];
        let elem = match enc >> 6 {
            0 => Elem::Str(take(&mut pos, (enc & 0x3F) as usize)?),
            1 => {
                let lo = take(&mut pos, 1)?[0];
                Elem::Str(take(&mut pos, (((enc & 0x3F) as usize) << 8) | lo as usize)?)
            }
            2 => {
                let w = take(&mut pos, 4)?;
                Elem::Str(take(&mut pos, u32::from_be_bytes([w[0], w[1], w[2], w[3]]) as usize)?)
            }
            _ => match enc {
                0xC0 => {
                    let w = take(&mut pos, 2)?;
                    Elem::Int(i16::from_le_bytes([w[0], w[1]]) as i64)
                }
                0xD0 => {
                    let w = take(&mut pos, 4)?;
                    Elem::Int(i32::from_le_bytes([w[0], w[1], w[2], w[3]]) as i64)
                }
                0xE0 => {
                    let w = take(&mut pos, 8)?;
                    Elem::Int(i64::from_le_bytes(w.try_into().ok()?))
                }
                0xF0 => {
                    let w = take(&mut pos, 3)?;
                    Elem::Int((i32::from_le_bytes([0, w[0], w[1], w[2]]) >> 8) as i64)
                }
                0xFE => Elem::Int(take(&mut pos, 1)?[0] as i8 as i64),
                0xF1..=0xFD => Elem::Int((enc & 0x0F) as i64 - 1),
                _ => return None,
            },
        };
        prev_size = pos - start;
        last_start = Some(start);
        out.push(elem);
    }
    if last_start.is_some_and(|s| s != tail) {
        return None;
    }
    if declared != u16::MAX && declared as usize != out.len() {
        return None;
    }
    Some(out)
}

// ---------------------------------------------------------------------------------------------------------
// zipmap (Redis 2.x hashes)
// ---------------------------------------------------------------------------------------------------------

/// The (field, value) pairs of a zipmap, validated as zipmapValidateIntegrity(deep) does.
pub fn zipmap(zm: &[u8]) -> Option<Vec<(&[u8], &[u8])>> {
    if zm.len() < 2 || zm[zm.len() - 1] != 0xFF {
        return None;
    }
    let end = zm.len() - 1;
    let mut pos = 1;
    let mut out = Vec::new();
    let len_at = |pos: &mut usize| -> Option<usize> {
        let b = *zm.get(*pos).filter(|_| *pos < end)?;
        *pos += 1;
        if b < 254 {
            Some(b as usize)
        } else if b == 254 {
            let w = zm.get(*pos..*pos + 4).filter(|_| *pos + 4 <= end)?;
            *pos += 4;
            Some(u32::from_le_bytes([w[0], w[1], w[2], w[3]]) as usize)
        } else {
            None
        }
    };
    while pos < end && zm[pos] != 0xFF {
        let flen = len_at(&mut pos)?;
        let f = zm.get(pos..pos.checked_add(flen)?).filter(|_| pos + flen <= end)?;
        pos += flen;
        let vlen = len_at(&mut pos)?;
        let free = *zm.get(pos).filter(|_| pos < end)? as usize;
        pos += 1;
        let v = zm.get(pos..pos.checked_add(vlen)?).filter(|_| pos + vlen <= end)?;
        pos = pos.checked_add(vlen + free)?;
        if pos > end {
            return None;
        }
        out.push((f, v));
    }
    if pos != end || out.is_empty() || (zm[0] < 254 && zm[0] as usize != out.len()) {
        return None;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listpack_layout_is_redis() {
        // lpAppend of "a", 1, -1, 1000, 70000, "hello", 2^40 and a 70-byte string, as listpack.c lays them out.
        let mut w = LpWriter::new();
        for s in [&b"a"[..], b"1", b"-1", b"1000", b"70000", b"hello", b"1099511627776"] {
            w.push_str(s);
        }
        let long = vec![b'x'; 70];
        w.push_str(&long);
        w.push_str(b"01");
        let lp = w.finish().to_vec();
        let mut want = vec![0, 0, 0, 0, 9, 0];
        want.extend_from_slice(&[0x81, b'a', 2]); // 6-bit string
        want.extend_from_slice(&[0x01, 1]); // 7-bit uint
        want.extend_from_slice(&[0xDF, 0xFF, 2]); // 13-bit int -1
        want.extend_from_slice(&[0xC3, 0xE8, 2]); // 13-bit int 1000
        want.extend_from_slice(&[0xF2, 0x70, 0x11, 0x01, 4]); // 24-bit int
        want.extend_from_slice(&[0x85, b'h', b'e', b'l', b'l', b'o', 6]);
        want.extend_from_slice(&[0xF4, 0, 0, 0, 0, 0, 1, 0, 0, 9]); // 64-bit int 2^40
        want.extend_from_slice(&[0xE0, 70]); // 12-bit string
        want.extend_from_slice(&long);
        want.push(72);
        want.extend_from_slice(&[0x82, b'0', b'1', 3]); // "01" is not canonical: a string
        want.push(0xFF);
        let n = want.len() as u32;
        want[..4].copy_from_slice(&n.to_le_bytes());
        assert_eq!(lp, want);
        let el = listpack(&lp).unwrap();
        assert_eq!(el[1], Elem::Int(1));
        assert_eq!(el[2], Elem::Int(-1));
        assert_eq!(el[4], Elem::Int(70000));
        assert_eq!(el[6], Elem::Int(1 << 40));
        assert_eq!(el[7], Elem::Str(&long));
        assert_eq!(el[8], Elem::Str(b"01"));
    }

    #[test]
    fn listpack_round_trips_every_width() {
        let ints = [0i64, 127, 128, -1, -4096, 4095, 4096, -32768, 32767, 32768, -8388608, 8388607, 8388608];
        let more = [i32::MIN as i64, i32::MAX as i64, i64::MIN, i64::MAX];
        let mut w = LpWriter::new();
        for &i in ints.iter().chain(&more) {
            w.push_int(i);
        }
        let strs: Vec<Vec<u8>> = [0usize, 63, 64, 4095, 4096, 20_000].iter().map(|&n| vec![b'z'; n]).collect();
        for s in &strs {
            w.push_str(s);
        }
        let lp = w.finish().to_vec();
        let el = listpack(&lp).unwrap();
        let mut want: Vec<Elem<'_>> = ints.iter().chain(&more).map(|&i| Elem::Int(i)).collect();
        want.extend(strs.iter().map(|s| Elem::Str(s)));
        assert_eq!(el, want);
        // Every truncation and a wrong count are refused.
        for n in 0..lp.len() {
            assert!(listpack(&lp[..n]).is_none());
        }
        let mut bad = lp.clone();
        bad[4] = 3;
        assert!(listpack(&bad).is_none());
        // 65535 means "count unknown".
        let mut unk = lp.clone();
        unk[4] = 0xFF;
        unk[5] = 0xFF;
        assert!(listpack(&unk).is_some());
    }

    #[test]
    fn intsets() {
        let mut b = Vec::new();
        write_intset(&mut b, &[-5, 1, 300]);
        assert_eq!(b, [2, 0, 0, 0, 3, 0, 0, 0, 0xFB, 0xFF, 1, 0, 0x2C, 1]);
        assert_eq!(intset(&b), Some(vec![-5, 1, 300]));
        let mut b = Vec::new();
        write_intset(&mut b, &[1, 1 << 40]);
        assert_eq!(&b[..4], &[8, 0, 0, 0]);
        assert_eq!(intset(&b), Some(vec![1, 1 << 40]));
        // Out of order, duplicates, bad width, size mismatch, empty.
        assert!(intset(&[2, 0, 0, 0, 2, 0, 0, 0, 5, 0, 1, 0]).is_none());
        assert!(intset(&[2, 0, 0, 0, 2, 0, 0, 0, 5, 0, 5, 0]).is_none());
        assert!(intset(&[3, 0, 0, 0, 1, 0, 0, 0, 5, 0, 0]).is_none());
        assert!(intset(&[2, 0, 0, 0, 2, 0, 0, 0, 5, 0]).is_none());
        assert!(intset(&[2, 0, 0, 0, 0, 0, 0, 0]).is_none());
    }

    /// A ziplist of the given raw entries (encoding byte(s) and payload), prev-lengths filled in.
    fn zl(entries: &[&[u8]]) -> Vec<u8> {
        let mut body = Vec::new();
        let mut prev = 0usize;
        let mut tail = ZL_HDR;
        for e in entries {
            tail = ZL_HDR + body.len();
            let start = body.len();
            if prev < 254 {
                body.push(prev as u8);
            } else {
                body.push(254);
                body.extend_from_slice(&(prev as u32).to_le_bytes());
            }
            body.extend_from_slice(e);
            prev = body.len() - start;
        }
        let mut z = Vec::new();
        z.extend_from_slice(&((ZL_HDR + body.len() + 1) as u32).to_le_bytes());
        z.extend_from_slice(&(tail as u32).to_le_bytes());
        z.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        z.extend_from_slice(&body);
        z.push(0xFF);
        z
    }

    #[test]
    fn ziplists() {
        let big = vec![b'q'; 300];
        let mut e300 = vec![0x41, 0x2C];
        e300.extend_from_slice(&big);
        let z =
            zl(&[b"\x03abc", b"\xF1", b"\xFD", b"\xFE\x80", b"\xC0\x00\x80", b"\xF0\xFF\xFF\x7F", &e300, b"\x02hi"]);
        let el = ziplist(&z).unwrap();
        assert_eq!(
            el,
            vec![
                Elem::Str(b"abc"),
                Elem::Int(0),
                Elem::Int(12),
                Elem::Int(-128),
                Elem::Int(-32768),
                Elem::Int(8388607),
                Elem::Str(&big),
                Elem::Str(b"hi"),
            ]
        );
        for n in 0..z.len() {
            assert!(ziplist(&z[..n]).is_none());
        }
        // A wrong tail offset or prev-length is corruption.
        let mut bad = z.clone();
        bad[4] += 1;
        assert!(ziplist(&bad).is_none());
        let mut bad = z.clone();
        bad[ZL_HDR + 5] ^= 1; // the second entry's prevlen
        assert!(ziplist(&bad).is_none());
        assert_eq!(ziplist(&zl(&[])), Some(vec![]));
    }

    #[test]
    fn zipmaps() {
        // 2 pairs: "a" -> "1" (with 2 free bytes), "bb" -> "".
        let zm = [2u8, 1, b'a', 1, 2, b'1', 0, 0, 2, b'b', b'b', 0, 0, 0xFF];
        assert_eq!(zipmap(&zm), Some(vec![(&b"a"[..], &b"1"[..]), (&b"bb"[..], &b""[..])]));
        for n in 0..zm.len() {
            assert!(zipmap(&zm[..n]).is_none());
        }
        let mut bad = zm;
        bad[0] = 3;
        assert!(zipmap(&bad).is_none());
        assert!(zipmap(&[0, 0xFF]).is_none());
    }
}
