//! HyperLogLog: Redis's HLL string format and algorithms (types layer, no actors).
//!
//! An HLL is a plain string value, byte for byte what Redis 7.0's hyperloglog.c writes, so GET/SET/APPEND/
//! SETRANGE, DUMP and replication see exactly Redis's bytes:
//!
//! ```text
//! +------+---+-----+----------+----------------------------------------+
//! | HYLL | E | N/U | Cardin.  | registers: dense (12288 bytes) or sparse opcodes |
//! +------+---+-----+----------+----------------------------------------+
//! ```
//!
//! `E` is 0 (dense) or 1 (sparse); the cardinality cache is little endian, its top bit set when stale.
//! Dense: 16384 6-bit registers packed LSB first. Sparse: run-length opcodes ZERO `00xxxxxx` (1..64 zero
//! registers), XZERO `01xxxxxx yyyyyyyy` (1..16384 zero registers), VAL `1vvvvvxx` (1..4 registers of value
//! 1..32). Hashing is MurmurHash64A with seed 0xadc83b19; the estimator is Ertl's (tau/sigma), as in Redis.
//!
//! Everything here tolerates corrupted bytes (clients can SETRANGE an HLL): malformed sparse data is
//! reported as `Corrupt`, never read or written out of bounds.

/// Register index bits.
pub const P: u32 = 14;
/// Hash bits used for the run of zeros.
pub const Q: u32 = 64 - P;
/// Number of registers.
pub const REGISTERS: usize = 1 << P;
const P_MASK: u64 = REGISTERS as u64 - 1;
const BITS: usize = 6;
const REGISTER_MAX: u8 = (1 << BITS) - 1;
/// Header: magic, encoding, 3 unused bytes, cached cardinality.
pub const HDR_SIZE: usize = 16;
/// Length of a dense HLL string.
pub const DENSE_SIZE: usize = HDR_SIZE + (REGISTERS * BITS).div_ceil(8);
pub const DENSE: u8 = 0;
pub const SPARSE: u8 = 1;
const MAX_ENCODING: u8 = 1;

const SPARSE_VAL_MAX_VALUE: u8 = 32;
const SPARSE_VAL_MAX_LEN: usize = 4;
const SPARSE_ZERO_MAX_LEN: usize = 64;
const SPARSE_XZERO_MAX_LEN: usize = 16384;
/// 0.5 / ln(2).
const ALPHA_INF: f64 = 0.721_347_520_444_481_7;
const SEED: u32 = 0xadc8_3b19;

/// The sparse representation is malformed (Redis: "INVALIDOBJ Corrupted HLL object detected").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Corrupt;

// ------------------------------------------------------------------------------------------------
// Hashing
// ------------------------------------------------------------------------------------------------

/// MurmurHash2, 64-bit version (MurmurHash64A), endian neutral as Redis reads the key little endian.
pub fn murmurhash64a(key: &[u8], seed: u32) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let len = key.len() as i32 as i64 as u64;
    let mut h: u64 = (seed as u64) ^ len.wrapping_mul(M);
    let mut chunks = key.chunks_exact(8);
    for c in &mut chunks {
        let mut k = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        for (i, &b) in tail.iter().enumerate().rev() {
            h ^= (b as u64) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// The register an element hashes to and the length of its "000..1" pattern (1..=Q+1).
#[inline]
pub fn pat_len(ele: &[u8]) -> (usize, u8) {
    let hash = murmurhash64a(ele, SEED);
    let index = (hash & P_MASK) as usize;
    let rest = (hash >> P) | (1u64 << Q);
    (index, rest.trailing_zeros() as u8 + 1)
}

// ------------------------------------------------------------------------------------------------
// Dense registers (`regs` is the data after the header)
// ------------------------------------------------------------------------------------------------

/// Register `i` of a dense register array.
#[inline]
pub fn dense_get(regs: &[u8], i: usize) -> u8 {
    let byte = i * BITS / 8;
    let fb = (i * BITS) & 7;
    let b0 = regs[byte] as u32;
    // The last register never uses the next byte (Redis reads the string's terminator there).
    let b1 = regs.get(byte + 1).copied().unwrap_or(0) as u32;
    (((b0 >> fb) | (b1 << (8 - fb))) & REGISTER_MAX as u32) as u8
}

/// Set register `i` of a dense register array.
#[inline]
pub fn dense_set(regs: &mut [u8], i: usize, val: u8) {
    let byte = i * BITS / 8;
    let fb = (i * BITS) & 7;
    let fb8 = 8 - fb;
    let v = val as u32;
    let m = REGISTER_MAX as u32;
    regs[byte] = ((regs[byte] as u32 & !(m << fb)) | (v << fb)) as u8;
    if let Some(b) = regs.get_mut(byte + 1) {
        *b = ((*b as u32 & !(m >> fb8)) | (v >> fb8)) as u8;
    }
}

/// Raise register `i` to `count` if it is lower; true if it changed.
#[inline]
fn dense_set_max(regs: &mut [u8], i: usize, count: u8) -> bool {
    if count > dense_get(regs, i) {
        dense_set(regs, i, count);
        true
    } else {
        false
    }
}

/// Histogram of the dense register values (4 registers per 3 bytes).
fn dense_histo(regs: &[u8], histo: &mut [u32; 64]) {
    for c in regs[..REGISTERS * BITS / 8].chunks_exact(3) {
        let (a, b, d) = (c[0] as usize, c[1] as usize, c[2] as usize);
        histo[a & 63] += 1;
        histo[((a >> 6) | (b << 2)) & 63] += 1;
        histo[((b >> 4) | (d << 4)) & 63] += 1;
        histo[(d >> 2) & 63] += 1;
    }
}

// ------------------------------------------------------------------------------------------------
// Sparse opcodes
// ------------------------------------------------------------------------------------------------

#[inline]
fn is_zero(b: u8) -> bool {
    b & 0xc0 == 0
}
#[inline]
fn is_xzero(b: u8) -> bool {
    b & 0xc0 == 0x40
}
#[inline]
fn is_val(b: u8) -> bool {
    b & 0x80 != 0
}
#[inline]
fn zero_len(b: u8) -> usize {
    (b & 0x3f) as usize + 1
}
#[inline]
fn xzero_len(b0: u8, b1: u8) -> usize {
    ((((b0 & 0x3f) as usize) << 8) | b1 as usize) + 1
}
#[inline]
fn val_value(b: u8) -> u8 {
    ((b >> 2) & 0x1f) + 1
}
#[inline]
fn val_len(b: u8) -> usize {
    (b & 0x3) as usize + 1
}
#[inline]
fn val_op(val: u8, len: usize) -> u8 {
    ((val - 1) << 2) | (len as u8 - 1) | 0x80
}
#[inline]
fn zero_op(len: usize) -> u8 {
    (len - 1) as u8
}
#[inline]
fn xzero_op(len: usize) -> [u8; 2] {
    let l = len - 1;
    [((l >> 8) as u8) | 0x40, (l & 0xff) as u8]
}

/// One decoded sparse opcode.
enum Op {
    Zero(usize),
    Val(u8, usize),
}

/// Walk the sparse opcodes of `data` (after the header). An XZERO cut by the end reads a zero second
/// byte, as Redis reads the string terminator.
fn sparse_ops(data: &[u8]) -> impl Iterator<Item = Op> + '_ {
    let mut p = 0;
    std::iter::from_fn(move || {
        let b = *data.get(p)?;
        if is_zero(b) {
            p += 1;
            Some(Op::Zero(zero_len(b)))
        } else if is_xzero(b) {
            let b1 = data.get(p + 1).copied().unwrap_or(0);
            p += 2;
            Some(Op::Zero(xzero_len(b, b1)))
        } else {
            p += 1;
            Some(Op::Val(val_value(b), val_len(b)))
        }
    })
}

// ------------------------------------------------------------------------------------------------
// Whole objects
// ------------------------------------------------------------------------------------------------

/// A new, empty HLL: sparse, one XZERO opcode covering every register.
pub fn new_sparse() -> Vec<u8> {
    let mut v = Vec::with_capacity(HDR_SIZE + 2 + 8);
    v.extend_from_slice(b"HYLL");
    v.push(SPARSE);
    v.extend_from_slice(&[0; 11]);
    let mut aux = REGISTERS;
    while aux > 0 {
        let x = aux.min(SPARSE_XZERO_MAX_LEN);
        v.extend_from_slice(&xzero_op(x));
        aux -= x;
    }
    v
}

/// Does the string look like an HLL (Redis's isHLLObjectOrReply: magic, known encoding, dense length)?
pub fn is_valid(s: &[u8]) -> bool {
    s.len() >= HDR_SIZE && &s[..4] == b"HYLL" && s[4] <= MAX_ENCODING && (s[4] != DENSE || s.len() == DENSE_SIZE)
}

/// The encoding byte of a valid HLL.
#[inline]
pub fn encoding(s: &[u8]) -> u8 {
    s[4]
}

/// The cached cardinality, if still valid.
pub fn cached_card(s: &[u8]) -> Option<u64> {
    if s[15] & 0x80 != 0 {
        return None;
    }
    let mut b = [0u8; 8];
    b.copy_from_slice(&s[8..16]);
    Some(u64::from_le_bytes(b))
}

pub fn set_cached_card(s: &mut [u8], card: u64) {
    s[8..16].copy_from_slice(&card.to_le_bytes());
}

/// Mark the cached cardinality stale.
#[inline]
pub fn invalidate_cache(s: &mut [u8]) {
    s[15] |= 0x80;
}

/// Convert a sparse HLL to dense in place (a dense one is left alone). The header, cached cardinality
/// included, is kept.
pub fn sparse_to_dense(s: &mut Vec<u8>) -> Result<(), Corrupt> {
    if s[4] == DENSE {
        return Ok(());
    }
    let mut dense = vec![0u8; DENSE_SIZE];
    dense[..HDR_SIZE].copy_from_slice(&s[..HDR_SIZE]);
    dense[4] = DENSE;
    let regs = &mut dense[HDR_SIZE..];
    let mut idx = 0usize;
    for op in sparse_ops(&s[HDR_SIZE..]) {
        match op {
            Op::Zero(n) => {
                if idx + n > REGISTERS {
                    return Err(Corrupt);
                }
                idx += n;
            }
            Op::Val(v, n) => {
                if idx + n > REGISTERS {
                    return Err(Corrupt);
                }
                for _ in 0..n {
                    dense_set(regs, idx, v);
                    idx += 1;
                }
            }
        }
    }
    if idx != REGISTERS {
        return Err(Corrupt);
    }
    *s = dense;
    Ok(())
}

/// Raise register `index` to `count` in a sparse HLL, splitting and merging opcodes in place, promoting
/// to dense when the value does not fit an opcode or the string would pass `sparse_max` bytes.
/// Ok(true) if the register changed.
fn sparse_set(s: &mut Vec<u8>, index: usize, count: u8, sparse_max: usize) -> Result<bool, Corrupt> {
    if count > SPARSE_VAL_MAX_VALUE {
        return promote(s, index, count);
    }
    // Work with Redis's sds layout: a terminator byte plus room for the largest split (3 bytes).
    let mut end = s.len();
    s.extend_from_slice(&[0u8; 4]);
    let res = sparse_set_inner(s, &mut end, index, count, sparse_max);
    s.truncate(end);
    match res {
        Step::Done(changed) => Ok(changed),
        Step::Corrupt => Err(Corrupt),
        Step::Promote => promote(s, index, count),
    }
}

enum Step {
    Done(bool),
    Corrupt,
    Promote,
}

fn sparse_set_inner(s: &mut [u8], end: &mut usize, index: usize, count: u8, sparse_max: usize) -> Step {
    let sparse = HDR_SIZE;
    let mut p = sparse;
    let mut first = 0usize;
    let mut prev: Option<usize> = None;
    let mut span = 0usize;
    // Step 1: find the opcode covering `index`.
    while p < *end {
        let b = s[p];
        let mut oplen = 1;
        if is_zero(b) {
            span = zero_len(b);
        } else if is_val(b) {
            span = val_len(b);
        } else {
            span = xzero_len(b, s[p + 1]);
            oplen = 2;
        }
        if index < first + span {
            break;
        }
        prev = Some(p);
        p += oplen;
        first += span;
    }
    if span == 0 || p >= *end {
        return Step::Corrupt;
    }
    let b = s[p];
    let next = if is_xzero(b) { p + 2 } else { p + 1 };
    let next = if next >= *end { None } else { Some(next) };
    let (zero, xzero, val) = (is_zero(b), is_xzero(b), is_val(b));
    let runlen = if zero {
        zero_len(b)
    } else if xzero {
        xzero_len(b, s[p + 1])
    } else {
        val_len(b)
    };

    // Step 2: the trivial cases, updated in place.
    let mut in_place = false;
    if val {
        let old = val_value(b);
        if old >= count {
            return Step::Done(false);
        }
        if runlen == 1 {
            s[p] = val_op(count, 1);
            in_place = true;
        }
    }
    if !in_place && zero && runlen == 1 {
        s[p] = val_op(count, 1);
        in_place = true;
    }

    if !in_place {
        // General case: split the opcode into up to three.
        let mut seq = [0u8; 5];
        let mut n = 0;
        let last = first + span - 1;
        if zero || xzero {
            if index != first {
                let len = index - first;
                if len > SPARSE_ZERO_MAX_LEN {
                    seq[n..n + 2].copy_from_slice(&xzero_op(len));
                    n += 2;
                } else {
                    seq[n] = zero_op(len);
                    n += 1;
                }
            }
            seq[n] = val_op(count, 1);
            n += 1;
            if index != last {
                let len = last - index;
                if len > SPARSE_ZERO_MAX_LEN {
                    seq[n..n + 2].copy_from_slice(&xzero_op(len));
                    n += 2;
                } else {
                    seq[n] = zero_op(len);
                    n += 1;
                }
            }
        } else {
            let cur = val_value(b);
            if index != first {
                seq[n] = val_op(cur, index - first);
                n += 1;
            }
            seq[n] = val_op(count, 1);
            n += 1;
            if index != last {
                seq[n] = val_op(cur, last - index);
                n += 1;
            }
        }
        // Step 3: replace the old opcode with the sequence.
        let oldlen: isize = if xzero { 2 } else { 1 };
        let delta = n as isize - oldlen;
        if delta > 0 && *end + delta as usize > sparse_max {
            return Step::Promote;
        }
        if delta != 0 {
            if let Some(nx) = next {
                let dst = (nx as isize + delta) as usize;
                s.copy_within(nx..*end, dst);
            }
        }
        *end = (*end as isize + delta) as usize;
        s[p..p + n].copy_from_slice(&seq[..n]);
    }

    // Step 4: merge adjacent VAL opcodes of the same value, scanning up to 5 opcodes from `prev`.
    let mut p = prev.unwrap_or(sparse);
    let mut scanlen = 5;
    while p < *end {
        if scanlen == 0 {
            break;
        }
        scanlen -= 1;
        let b = s[p];
        if is_xzero(b) {
            p += 2;
            continue;
        } else if is_zero(b) {
            p += 1;
            continue;
        }
        if p + 1 < *end && is_val(s[p + 1]) {
            let v1 = val_value(b);
            let v2 = val_value(s[p + 1]);
            if v1 == v2 {
                let len = val_len(b) + val_len(s[p + 1]);
                if len <= SPARSE_VAL_MAX_LEN {
                    s[p + 1] = val_op(v1, len);
                    s.copy_within(p + 1..*end + 1, p);
                    *end -= 1;
                    continue;
                }
            }
        }
        p += 1;
    }
    invalidate_cache(s);
    Step::Done(true)
}

/// Sparse -> dense, then set the register (which must change: the sparse form could not hold it).
fn promote(s: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, Corrupt> {
    sparse_to_dense(s)?;
    Ok(dense_set_max(&mut s[HDR_SIZE..], index, count))
}

/// Raise register `index` to `count`, whatever the encoding. Ok(true) if it changed.
pub fn set_register(s: &mut Vec<u8>, index: usize, count: u8, sparse_max: usize) -> Result<bool, Corrupt> {
    match s[4] {
        DENSE => Ok(dense_set_max(&mut s[HDR_SIZE..], index, count)),
        SPARSE => sparse_set(s, index, count, sparse_max),
        _ => Err(Corrupt),
    }
}

/// Add an element (PFADD). Ok(true) if a register changed.
pub fn add(s: &mut Vec<u8>, ele: &[u8], sparse_max: usize) -> Result<bool, Corrupt> {
    let (index, count) = pat_len(ele);
    set_register(s, index, count, sparse_max)
}

/// Histogram of register values; Err for malformed sparse data.
fn histogram(s: &[u8]) -> Result<[u32; 64], Corrupt> {
    let mut histo = [0u32; 64];
    if s[4] == DENSE {
        dense_histo(&s[HDR_SIZE..], &mut histo);
        return Ok(histo);
    }
    let mut idx = 0usize;
    for op in sparse_ops(&s[HDR_SIZE..]) {
        let (v, n) = match op {
            Op::Zero(n) => (0, n),
            Op::Val(v, n) => (v, n),
        };
        if idx + n > REGISTERS {
            return Err(Corrupt);
        }
        idx += n;
        histo[v as usize] += n as u32;
    }
    if idx != REGISTERS {
        return Err(Corrupt);
    }
    Ok(histo)
}

/// Ertl's sigma (arXiv:1702.01284).
fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let z_prime = z;
        z += x * y;
        y += y;
        if z_prime == z {
            return z;
        }
    }
}

/// Ertl's tau (arXiv:1702.01284).
fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let z_prime = z;
        y *= 0.5;
        let d = 1.0 - x;
        z -= d * d * y;
        if z_prime == z {
            return z / 3.0;
        }
    }
}

/// Cardinality from a register histogram, as Redis's hllCount.
fn estimate(histo: &[u32; 64]) -> u64 {
    let m = REGISTERS as f64;
    let mut z = m * tau((m - histo[Q as usize + 1] as f64) / m);
    for j in (1..=Q as usize).rev() {
        z += histo[j] as f64;
        z *= 0.5;
    }
    z += m * sigma(histo[0] as f64 / m);
    let e = ALPHA_INF * m * m / z;
    // llroundl(): halves away from zero; out of range gives LLONG_MIN on x86-64.
    let r = if e.is_finite() && e.abs() < 9.223_372_036_854_775e18 { e.round() as i64 } else { i64::MIN };
    r as f64 as i64 as u64
}

/// Estimated cardinality of a valid HLL (ignores the cache).
pub fn count(s: &[u8]) -> Result<u64, Corrupt> {
    Ok(estimate(&histogram(s)?))
}

/// Merge a valid HLL into `max` (one byte per register): max[i] = MAX(max[i], reg[i]).
pub fn merge_into(max: &mut [u8], s: &[u8]) -> Result<(), Corrupt> {
    if s[4] == DENSE {
        let regs = &s[HDR_SIZE..];
        for (i, m) in max.iter_mut().enumerate().take(REGISTERS) {
            let v = dense_get(regs, i);
            if v > *m {
                *m = v;
            }
        }
        return Ok(());
    }
    let mut i = 0usize;
    for op in sparse_ops(&s[HDR_SIZE..]) {
        match op {
            Op::Zero(n) => {
                if i + n > REGISTERS {
                    return Err(Corrupt);
                }
                i += n;
            }
            Op::Val(v, n) => {
                if i + n > REGISTERS {
                    return Err(Corrupt);
                }
                for m in &mut max[i..i + n] {
                    if v > *m {
                        *m = v;
                    }
                }
                i += n;
            }
        }
    }
    if i != REGISTERS {
        return Err(Corrupt);
    }
    Ok(())
}

/// Cardinality of raw registers (one byte each), as PFCOUNT of several keys computes it.
pub fn count_raw(max: &[u8]) -> u64 {
    let mut histo = [0u32; 64];
    for &r in max {
        histo[(r & 63) as usize] += 1;
    }
    estimate(&histo)
}

/// PFDEBUG DECODE: the sparse opcodes as "z:N", "Z:N", "v:V,N", space separated.
pub fn decode_sparse(s: &[u8]) -> String {
    let data = &s[HDR_SIZE..];
    let mut out = String::new();
    let mut p = 0;
    while p < data.len() {
        let b = data[p];
        if is_zero(b) {
            out.push_str(&format!("z:{} ", zero_len(b)));
            p += 1;
        } else if is_xzero(b) {
            let b1 = data.get(p + 1).copied().unwrap_or(0);
            out.push_str(&format!("Z:{} ", xzero_len(b, b1)));
            p += 2;
        } else {
            out.push_str(&format!("v:{},{} ", val_value(b), val_len(b)));
            p += 1;
        }
    }
    out.trim_matches(' ').to_string()
}

/// PFSELFTEST: register access and estimation error checks, as Redis's pfselftestCommand. Err carries
/// the error text after "ERR ".
pub fn selftest(sparse_max: usize, mut rand: impl FnMut() -> u32) -> Result<(), String> {
    // Test 1: register access.
    let mut regs = vec![0u8; DENSE_SIZE - HDR_SIZE];
    let mut bytes = vec![0u8; REGISTERS];
    for _ in 0..1000 {
        for (i, b) in bytes.iter_mut().enumerate() {
            let r = (rand() & REGISTER_MAX as u32) as u8;
            *b = r;
            dense_set(&mut regs, i, r);
        }
        for (i, &b) in bytes.iter().enumerate() {
            let val = dense_get(&regs, i);
            if val != b {
                return Err(format!("TESTFAILED Register {i} should be {b} but is {val}"));
            }
        }
    }
    // Test 2: approximation error, dense and sparse agreeing.
    let mut dense = vec![0u8; DENSE_SIZE];
    dense[..4].copy_from_slice(b"HYLL");
    let mut sparse = new_sparse();
    let relerr = 1.04 / (REGISTERS as f64).sqrt();
    let mut checkpoint: u64 = 1;
    let seed = rand() as u64 | ((rand() as u64) << 32);
    for j in 1..=10_000_000u64 {
        let ele = (j ^ seed).to_le_bytes();
        let (index, cnt) = pat_len(&ele);
        dense_set_max(&mut dense[HDR_SIZE..], index, cnt);
        let _ = set_register(&mut sparse, index, cnt, sparse_max);
        if j != checkpoint {
            continue;
        }
        if j < (sparse_max / 2) as u64 && sparse[4] != SPARSE {
            return Err("TESTFAILED sparse encoding not used".into());
        }
        let dc = count(&dense).unwrap_or(0);
        if Ok(dc) != count(&sparse) {
            return Err("TESTFAILED dense/sparse disagree".into());
        }
        let abserr = (checkpoint as i64 - dc as i64).unsigned_abs();
        let mut maxerr = (relerr * 6.0 * checkpoint as f64).ceil() as u64;
        if j == 10 {
            maxerr = 1;
        }
        if abserr > maxerr {
            return Err(format!("TESTFAILED Too big error. card:{checkpoint} abserr:{abserr}"));
        }
        checkpoint *= 10;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(s: &[u8]) -> u64 {
        count(s).unwrap()
    }

    #[test]
    fn empty_sparse_layout() {
        let s = new_sparse();
        assert_eq!(s.len(), HDR_SIZE + 2);
        assert_eq!(&s[..5], b"HYLL\x01");
        assert_eq!(&s[16..], &[0x7f, 0xff]);
        assert_eq!(decode_sparse(&s), "Z:16384");
        assert_eq!(card(&s), 0);
        assert!(is_valid(&s));
    }

    #[test]
    fn dense_registers_round_trip() {
        let mut regs = vec![0u8; DENSE_SIZE - HDR_SIZE];
        for i in 0..REGISTERS {
            dense_set(&mut regs, i, (i % 64) as u8);
        }
        for i in 0..REGISTERS {
            assert_eq!(dense_get(&regs, i), (i % 64) as u8);
        }
    }

    #[test]
    fn sparse_and_dense_agree() {
        let mut s = new_sparse();
        let mut d = new_sparse();
        sparse_to_dense(&mut d).unwrap();
        assert_eq!(d.len(), DENSE_SIZE);
        for i in 0..2000u32 {
            let e = i.to_string();
            add(&mut s, e.as_bytes(), 3000).unwrap();
            add(&mut d, e.as_bytes(), 3000).unwrap();
            if i % 97 == 0 {
                assert_eq!(card(&s), card(&d));
            }
        }
        assert_eq!(card(&s), card(&d));
        let c = card(&d) as f64;
        assert!((c - 2000.0).abs() < 2000.0 * 0.05, "{c}");
    }

    #[test]
    fn promotion_by_size() {
        let mut s = new_sparse();
        let mut n = 0;
        while s[4] == SPARSE {
            add(&mut s, format!("e{n}").as_bytes(), 3000).unwrap();
            assert!(s.len() <= 3000 || s[4] == DENSE);
            n += 1;
        }
        assert!(n > 1000 && n < 5000, "{n}");
        assert_eq!(s.len(), DENSE_SIZE);
    }

    #[test]
    fn corrupt_sparse_is_detected() {
        let mut s = new_sparse();
        add(&mut s, b"a", 3000).unwrap();
        s.extend_from_slice(b"hello");
        assert_eq!(count(&s), Err(Corrupt));
        let mut m = vec![0u8; REGISTERS];
        assert_eq!(merge_into(&mut m, &s), Err(Corrupt));
        assert_eq!(sparse_to_dense(&mut s.clone()), Err(Corrupt));
        // A truncated XZERO opcode never reads out of bounds.
        let mut t = new_sparse();
        t.truncate(HDR_SIZE + 1);
        let _ = add(&mut t, b"x", 3000);
        let _ = count(&t);
    }

    #[test]
    fn cache_bytes() {
        let mut s = new_sparse();
        assert_eq!(cached_card(&s), Some(0));
        invalidate_cache(&mut s);
        assert_eq!(cached_card(&s), None);
        set_cached_card(&mut s, 42);
        assert_eq!(cached_card(&s), Some(42));
    }

    #[test]
    fn raw_merge_counts_union() {
        let mut a = new_sparse();
        let mut b = new_sparse();
        for i in 0..100 {
            add(&mut a, format!("a{i}").as_bytes(), 3000).unwrap();
            add(&mut b, format!("b{i}").as_bytes(), 3000).unwrap();
        }
        let mut m = vec![0u8; REGISTERS];
        merge_into(&mut m, &a).unwrap();
        merge_into(&mut m, &b).unwrap();
        let c = count_raw(&m);
        assert!((190..=210).contains(&c), "{c}");
    }
}
