//! Bitmap commands: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP and BITFIELD(_RO) over string values (commands
//! layer, applied by the Keyspace actor).
//!
//! Replies, error texts and their order follow Redis 7.0's bitops.c. A bitmap is a string: reads accept any
//! string encoding, writes (SETBIT, BITFIELD) edit the value in place as `raw`, and BITOP stores a `raw` result.

use super::spec::*;
use super::string::with_bytes;
use super::Ctx;
use crate::config::{NOTIFY_GENERIC, NOTIFY_STRING};
use crate::error::CmdError;
use crate::types::db::Db;
use crate::types::num;
use crate::types::rawstr::RawMut;
use crate::types::value::Value;

/// The bitmap commands, as Redis 7.0's command table declares them.
#[rustfmt::skip]
pub const SPECS: &[CommandSpec] = &family("bitmap", [
    cmd("setbit", 4, WRITE | DENYOOM, setbit).keys(1, 1, 1).acl(BITMAP).doc("2.2.0", "O(1)", "Sets or clears the bit at offset in the string value stored at key"),
    cmd("getbit", 3, READONLY | FAST, getbit).keys(1, 1, 1).acl(BITMAP).doc("2.2.0", "O(1)", "Returns the bit value at offset in the string value stored at key"),
    cmd("bitcount", -2, READONLY, bitcount).keys(1, 1, 1).acl(BITMAP).doc("2.6.0", "O(N)", "Count set bits in a string"),
    cmd("bitpos", -3, READONLY, bitpos).keys(1, 1, 1).acl(BITMAP).doc("2.8.7", "O(N)", "Find first bit set or clear in a string"),
    cmd("bitop", -4, WRITE | DENYOOM, bitop).keys(2, -1, 1).acl(BITMAP).doc("2.6.0", "O(N)", "Perform bitwise operations between strings"),
    cmd("bitfield", -2, WRITE | DENYOOM, bitfield).keys(1, 1, 1).acl(BITMAP).doc("3.2.0", "O(1) for each subcommand specified", "Perform arbitrary bitfield integer operations on strings"),
    cmd("bitfield_ro", -2, READONLY | FAST, bitfield_ro).keys(1, 1, 1).acl(BITMAP).doc("6.0.0", "O(1) for each subcommand specified", "Perform arbitrary bitfield integer operations on strings. Read-only variant of BITFIELD"),
]);

// Error replies of this family that CmdError does not share with others.
pub(super) const BIT_ARG: CmdError = CmdError::new("ERR The bit argument must be 1 or 0.");
const BITOP_NOT_ARITY: CmdError = CmdError::new("ERR BITOP NOT must be called with a single source key.");
const BITFIELD_TYPE: CmdError =
    CmdError::new("ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.");
const BITFIELD_OVERFLOW: CmdError = CmdError::new("ERR Invalid OVERFLOW type specified");
pub(super) const BITFIELD_RO_WRITE: CmdError = CmdError::new("ERR BITFIELD_RO only supports the GET subcommand");

/// Redis's getBitOffsetFromArgument: a bit offset within proto-max-bulk-len bytes. With `hash_bits` (BITFIELD)
/// the `#n` form means n * bits.
fn bit_offset(arg: &[u8], hash_bits: Option<u32>, max: u64) -> Result<u64, CmdError> {
    let (digits, mul) = match (arg.first(), hash_bits) {
        (Some(b'#'), Some(bits)) if bits > 0 => (&arg[1..], bits as i64),
        _ => (arg, 1),
    };
    let off = num::parse_i64(digits).ok_or(CmdError::BIT_OFFSET)?.wrapping_mul(mul);
    if off < 0 || ((off as u64) >> 3) >= max {
        return Err(CmdError::BIT_OFFSET);
    }
    Ok(off as u64)
}

/// Redis's lookupStringForBitCommand: the raw buffer of `key`, created or zero-padded so that bit `maxbit`
/// exists. The flag tells whether that created the key or grew it.
fn bit_buffer<'d>(db: &'d mut Db, key: &[u8], maxbit: u64) -> Result<(RawMut<'d>, bool), CmdError> {
    let need = (maxbit >> 3) as usize + 1;
    let mut grown = false;
    if !db.contains(key) {
        db.set(key, Value::raw(vec![0; need]), false);
        grown = true;
    }
    let Some(e) = db.get_mut(key) else { return Err(CmdError::WRONGTYPE) };
    if !e.value.is_string() {
        return Err(CmdError::WRONGTYPE);
    }
    let Some(mut buf) = e.value.make_raw() else { return Err(CmdError::WRONGTYPE) };
    if buf.len() < need {
        buf.resize(need, 0);
        grown = true;
    }
    Ok((buf, grown))
}

/// SETBIT key offset value
fn setbit(cx: &mut Ctx<'_>) -> CmdResult {
    let max = cx.s.config.proto_max_bulk_len;
    let off = bit_offset(cx.arg(2), None, max)?;
    let on = match num::parse_i64(cx.arg(3)) {
        Some(v @ (0 | 1)) => v == 1,
        _ => return Err(CmdError::NOT_BIT),
    };
    let key = cx.arg(1);
    let (db, out) = cx.db_out();
    let (mut guard, grown) = bit_buffer(db, key, off)?;
    let buf: &mut Vec<u8> = &mut guard;
    let byte = (off >> 3) as usize;
    let mask = 1u8 << (7 - (off & 7));
    let old = buf[byte] & mask != 0;
    out.int(old as i64);
    // Redis counts a change only when the bit flips or the string grew.
    if grown || old != on {
        if on {
            buf[byte] |= mask;
        } else {
            buf[byte] &= !mask;
        }
        drop(guard);
        cx.modified(key);
        cx.notify(NOTIFY_STRING, "setbit", key);
    }
    Ok(())
}

/// GETBIT key offset
fn getbit(cx: &mut Ctx<'_>) -> CmdResult {
    let max = cx.s.config.proto_max_bulk_len;
    let off = bit_offset(cx.arg(2), None, max)?;
    let key = cx.arg(1);
    let (db, out) = cx.db_out();
    let Some(e) = db.get(key) else {
        out.int(0);
        return Ok(());
    };
    let byte = (off >> 3) as usize;
    let bit = with_bytes(&e.value, |s| s.get(byte).is_some_and(|b| b & (1 << (7 - (off & 7))) != 0))?;
    out.int(bit as i64);
    Ok(())
}

/// Number of set bits.
fn popcount(s: &[u8]) -> u64 {
    let mut words = s.chunks_exact(8);
    let mut n: u64 = 0;
    for w in &mut words {
        n += u64::from_ne_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]).count_ones() as u64;
    }
    n + words.remainder().iter().map(|b| b.count_ones() as u64).sum::<u64>()
}

/// Redis's redisBitpos: position of the first bit equal to `bit`. Looking for 1 in all-zero bytes gives -1;
/// looking for 0 in all-one bytes gives the first position past the end (the string is zero-padded).
fn first_bit(s: &[u8], bit: bool) -> i64 {
    let skip = if bit { 0u8 } else { 0xff };
    let mut i = 0;
    while i + 8 <= s.len() && s[i..i + 8].iter().all(|&b| b == skip) {
        i += 8;
    }
    while i < s.len() && s[i] == skip {
        i += 1;
    }
    if i == s.len() {
        return if bit { -1 } else { s.len() as i64 * 8 };
    }
    let b = if bit { s[i] } else { !s[i] };
    i as i64 * 8 + b.leading_zeros() as i64
}

/// BITCOUNT/BITPOS's BYTE|BIT unit argument.
fn bit_unit(arg: &[u8]) -> Result<bool, CmdError> {
    if arg.eq_ignore_ascii_case(b"bit") {
        Ok(true)
    } else if arg.eq_ignore_ascii_case(b"byte") {
        Ok(false)
    } else {
        Err(CmdError::SYNTAX)
    }
}

/// A BIT-unit range turned into bytes: (first byte, last byte, mask of the first byte's bits before the
/// range, mask of the last byte's bits after it).
fn bit_range_to_bytes(start: i64, end: i64) -> (i64, i64, u8, u8) {
    let first = (!((1u32 << (8 - (start & 7))) - 1) & 0xff) as u8;
    let last = ((1u32 << (7 - (end & 7))) - 1) as u8;
    (start >> 3, end >> 3, first, last)
}

/// BITCOUNT key [start end [BYTE | BIT]]
fn bitcount(cx: &mut Ctx<'_>) -> CmdResult {
    let argv = cx.argv;
    let argc = argv.len();
    let (db, out) = cx.db_out();
    // The key is looked up before the range is parsed: a missing key answers 0 whatever follows.
    let Some(e) = db.get(argv.get(1)) else {
        out.int(0);
        return Ok(());
    };
    with_bytes(&e.value, |p| {
        let strlen = p.len() as i64;
        let (mut start, mut end, mut first_mask, mut last_mask) = (0, strlen - 1, 0u8, 0u8);
        if argc == 4 || argc == 5 {
            start = num::parse_i64(argv.get(2)).ok_or(CmdError::NOT_INT)?;
            end = num::parse_i64(argv.get(3)).ok_or(CmdError::NOT_INT)?;
            if start < 0 && end < 0 && start > end {
                out.int(0);
                return Ok(());
            }
            let isbit = argc == 5 && bit_unit(argv.get(4))?;
            (start, end, first_mask, last_mask) = normalize_bit_range(start, end, strlen, isbit);
        } else if argc != 2 {
            return Err(CmdError::SYNTAX);
        }
        if start > end {
            out.int(0);
            return Ok(());
        }
        let (s, e) = (start as usize, end as usize);
        let mut count = popcount(&p[s..=e]);
        // Bits of the edge bytes outside a BIT range were counted above: take them out again.
        count -= (p[s] & first_mask).count_ones() as u64 + (p[e] & last_mask).count_ones() as u64;
        out.int(count as i64);
        Ok(())
    })?
}

/// BITCOUNT/BITPOS range: negative indexes count from the end, both ends clamp into the string, and a BIT
/// range becomes the byte range plus masks of the edge bits outside it. Returns (start, end, first_mask,
/// last_mask) in bytes; start > end means empty.
fn normalize_bit_range(mut start: i64, mut end: i64, strlen: i64, isbit: bool) -> (i64, i64, u8, u8) {
    let total = if isbit { strlen << 3 } else { strlen };
    if start < 0 {
        start += total;
    }
    if end < 0 {
        end += total;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= total {
        end = total - 1;
    }
    if isbit && start <= end {
        return bit_range_to_bytes(start, end);
    }
    (start, end, 0, 0)
}

/// BITPOS key bit [start [end [BYTE | BIT]]]
fn bitpos(cx: &mut Ctx<'_>) -> CmdResult {
    let argv = cx.argv;
    let argc = argv.len();
    let bit = match cx.int_arg(2)? {
        0 => false,
        1 => true,
        _ => return Err(BIT_ARG),
    };
    let (db, out) = cx.db_out();
    // A missing key is an infinite run of zeros.
    let Some(e) = db.get(argv.get(1)) else {
        out.int(if bit { -1 } else { 0 });
        return Ok(());
    };
    with_bytes(&e.value, |p| {
        let strlen = p.len() as i64;
        let (mut start, mut end, mut first_mask, mut last_mask) = (0, strlen - 1, 0u8, 0u8);
        let mut end_given = false;
        if (4..=6).contains(&argc) {
            start = num::parse_i64(argv.get(3)).ok_or(CmdError::NOT_INT)?;
            let isbit = argc == 6 && bit_unit(argv.get(5))?;
            if argc >= 5 {
                end = num::parse_i64(argv.get(4)).ok_or(CmdError::NOT_INT)?;
                end_given = true;
            }
            (start, end, first_mask, last_mask) = normalize_bit_range(start, end, strlen, isbit);
        } else if argc != 3 {
            return Err(CmdError::SYNTAX);
        }
        // An empty range holds neither a 0 nor a 1.
        if start > end {
            out.int(-1);
            return Ok(());
        }
        let end = end as usize;
        let mut start = start as usize;
        let mut bytes = (end - start + 1) as i64;
        // Transcribed from Redis: the masked edge bytes are searched on their own.
        let pos = 'found: {
            if first_mask != 0 {
                let mut tmp = if bit { p[start] & !first_mask } else { p[start] | first_mask };
                if last_mask != 0 && bytes == 1 {
                    tmp = if bit { tmp & !last_mask } else { tmp | last_mask };
                }
                let pos = first_bit(&[tmp], bit);
                if bytes == 1 || (pos != -1 && pos != 8) {
                    break 'found pos;
                }
                start += 1;
                bytes -= 1;
            }
            let cur = bytes - (last_mask != 0) as i64;
            if cur > 0 {
                let pos = first_bit(&p[start..start + cur as usize], bit);
                if bytes == cur || (pos != -1 && pos != cur << 3) {
                    break 'found pos;
                }
                start += cur as usize;
                bytes -= cur;
            }
            let tmp = if bit { p[end] & !last_mask } else { p[end] | last_mask };
            first_bit(&[tmp], bit)
        };
        // With an explicit end the string is not zero-padded past it: no clear bit in range means -1.
        if (end_given && !bit && pos == bytes << 3) || pos == -1 {
            out.int(-1);
        } else {
            out.int(pos + ((start as i64) << 3));
        }
        Ok(())
    })?
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

/// BITOP AND|OR|XOR|NOT destkey key [key ...]
fn bitop(cx: &mut Ctx<'_>) -> CmdResult {
    let argv = cx.argv;
    let op = match argv.get(1) {
        o if o.eq_ignore_ascii_case(b"and") => BitOp::And,
        o if o.eq_ignore_ascii_case(b"or") => BitOp::Or,
        o if o.eq_ignore_ascii_case(b"xor") => BitOp::Xor,
        o if o.eq_ignore_ascii_case(b"not") => BitOp::Not,
        _ => return Err(CmdError::SYNTAX),
    };
    if op == BitOp::Not && argv.len() != 4 {
        return Err(BITOP_NOT_ARITY);
    }
    let target = argv.get(2);
    let db = cx.db();
    // Fold the sources into the result one by one; a missing key (or missing bytes of a shorter string) reads
    // as zeros.
    let mut res: Vec<u8> = Vec::new();
    for (n, key) in argv.iter().skip(3).enumerate() {
        let Some(e) = db.get(key) else {
            if op == BitOp::And {
                res.iter_mut().for_each(|b| *b = 0);
            }
            continue;
        };
        with_bytes(&e.value, |src| {
            if n == 0 {
                res.extend_from_slice(src);
                if op == BitOp::Not {
                    res.iter_mut().for_each(|b| *b = !*b);
                }
                return;
            }
            let common = res.len().min(src.len());
            match op {
                BitOp::And => {
                    res[..common].iter_mut().zip(src).for_each(|(r, s)| *r &= s);
                    res[common..].iter_mut().for_each(|b| *b = 0);
                    res.resize(src.len().max(res.len()), 0);
                }
                BitOp::Or | BitOp::Xor => {
                    let f: fn(&mut u8, &u8) = if op == BitOp::Or { |r, s| *r |= s } else { |r, s| *r ^= s };
                    res[..common].iter_mut().zip(src).for_each(|(r, s)| f(r, s));
                    if src.len() > common {
                        res.extend_from_slice(&src[common..]);
                    }
                }
                BitOp::Not => {}
            }
        })?;
    }
    let len = res.len();
    let changed = if len > 0 {
        db.set(target, Value::raw(res), false);
        true
    } else if db.contains(target) {
        db.remove(target);
        true
    } else {
        false
    };
    cx.out.int(len as i64);
    if changed {
        cx.modified(target);
        // The result stored (`set`), or an empty result deleting the target (`del`).
        if len > 0 {
            cx.notify(NOTIFY_STRING, "set", target);
        } else {
            cx.notify(NOTIFY_GENERIC, "del", target);
        }
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Overflow {
    Wrap,
    Sat,
    Fail,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum FieldOp {
    Get,
    Set,
    IncrBy,
}

struct BitfieldOp {
    op: FieldOp,
    offset: u64,
    value: i64,
    overflow: Overflow,
    bits: u32,
    signed: bool,
}

/// BITFIELD key [GET encoding offset | [OVERFLOW WRAP | SAT | FAIL] SET encoding offset value |
/// INCRBY encoding offset increment ...]
fn bitfield(cx: &mut Ctx<'_>) -> CmdResult {
    bitfield_generic(cx, false)
}

/// BITFIELD_RO key [GET encoding offset ...]
fn bitfield_ro(cx: &mut Ctx<'_>) -> CmdResult {
    bitfield_generic(cx, true)
}

/// BITFIELD's `i<bits>` / `u<bits>` type: (signed, bits). u64 is refused because replies are signed.
fn bitfield_type(arg: &[u8]) -> Result<(bool, u32), CmdError> {
    let signed = match arg.first() {
        Some(b'i') => true,
        Some(b'u') => false,
        _ => return Err(BITFIELD_TYPE),
    };
    match num::parse_i64(&arg[1..]) {
        Some(b) if b >= 1 && b <= if signed { 64 } else { 63 } => Ok((signed, b as u32)),
        _ => Err(BITFIELD_TYPE),
    }
}

fn bitfield_generic(cx: &mut Ctx<'_>, readonly_cmd: bool) -> CmdResult {
    let argv = cx.argv;
    let argc = argv.len();
    let max = cx.s.config.proto_max_bulk_len;
    let mut ops: Vec<BitfieldOp> = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut readonly = true;
    let mut highest_write: u64 = 0;
    let mut j = 2;
    while j < argc {
        let remaining = argc - j - 1;
        let op = if argv.is(j, "get") && remaining >= 2 {
            FieldOp::Get
        } else if argv.is(j, "set") && remaining >= 3 {
            FieldOp::Set
        } else if argv.is(j, "incrby") && remaining >= 3 {
            FieldOp::IncrBy
        } else if argv.is(j, "overflow") && remaining >= 1 {
            overflow = match argv.get(j + 1) {
                t if t.eq_ignore_ascii_case(b"wrap") => Overflow::Wrap,
                t if t.eq_ignore_ascii_case(b"sat") => Overflow::Sat,
                t if t.eq_ignore_ascii_case(b"fail") => Overflow::Fail,
                _ => return Err(BITFIELD_OVERFLOW),
            };
            j += 2;
            continue;
        } else {
            return Err(CmdError::SYNTAX);
        };
        let (signed, bits) = bitfield_type(argv.get(j + 1))?;
        let offset = bit_offset(argv.get(j + 2), Some(bits), max)?;
        let mut value = 0;
        if op != FieldOp::Get {
            readonly = false;
            highest_write = highest_write.max(offset + bits as u64 - 1);
            value = num::parse_i64(argv.get(j + 3)).ok_or(CmdError::NOT_INT)?;
        }
        ops.push(BitfieldOp { op, offset, value, overflow, bits, signed });
        j += if op == FieldOp::Get { 3 } else { 4 };
    }

    let key = argv.get(1);
    let (db, out) = cx.db_out();
    if readonly {
        let e = db.get(key);
        if let Some(e) = &e {
            if !e.value.is_string() {
                return Err(CmdError::WRONGTYPE);
            }
        }
        out.array(ops.len());
        let v = e.map(|e| &e.value);
        for op in &ops {
            let val = match v {
                Some(v) => with_bytes(v, |s| bitfield_get(s, op))?,
                None => 0,
            };
            out.int(val);
        }
        return Ok(());
    }
    if readonly_cmd {
        return Err(BITFIELD_RO_WRITE);
    }
    let (mut guard, grown) = bit_buffer(db, key, highest_write)?;
    let buf: &mut Vec<u8> = &mut guard;
    out.array(ops.len());
    let mut changes = 0u64;
    for op in &ops {
        if op.op == FieldOp::Get {
            out.int(bitfield_get(buf, op));
            continue;
        }
        let (old, new, reply, overflowed) = if op.signed {
            let old = get_signed(buf, op.offset, op.bits);
            let (new, reply, of) = if op.op == FieldOp::IncrBy {
                let (of, wrapped) = signed_overflow(old, op.value, op.bits, op.overflow);
                let new = if of != 0 { wrapped } else { old.wrapping_add(op.value) };
                (new, new, of)
            } else {
                let (of, wrapped) = signed_overflow(op.value, 0, op.bits, op.overflow);
                (if of != 0 { wrapped } else { op.value }, old, of)
            };
            (old as u64, new as u64, reply, of)
        } else {
            let old = get_unsigned(buf, op.offset, op.bits);
            let (new, reply, of) = if op.op == FieldOp::IncrBy {
                let (of, wrapped) = unsigned_overflow(old, op.value, op.bits, op.overflow);
                let new = if of != 0 { wrapped } else { old.wrapping_add(op.value as u64) };
                (new, new as i64, of)
            } else {
                let (of, wrapped) = unsigned_overflow(op.value as u64, 0, op.bits, op.overflow);
                (if of != 0 { wrapped } else { op.value as u64 }, old as i64, of)
            };
            (old, new, reply, of)
        };
        if overflowed != 0 && op.overflow == Overflow::Fail {
            out.nil();
            continue;
        }
        out.int(reply);
        set_unsigned(buf, op.offset, op.bits, new);
        if grown || old != new {
            changes += 1;
        }
    }
    drop(guard);
    if changes > 0 {
        cx.modified(key);
        cx.notify(NOTIFY_STRING, "setbit", key);
        // Redis adds one to dirty per changing operation, not per command.
        cx.s.persist.dirty += changes - 1;
    }
    Ok(())
}

/// A BITFIELD GET on a string that may be shorter than the field (missing bytes read as zeros).
fn bitfield_get(s: &[u8], op: &BitfieldOp) -> i64 {
    let byte = (op.offset >> 3) as usize;
    let mut buf = [0u8; 9];
    if byte < s.len() {
        let n = (s.len() - byte).min(9);
        buf[..n].copy_from_slice(&s[byte..byte + n]);
    }
    let off = op.offset & 7;
    if op.signed {
        get_signed(&buf, off, op.bits)
    } else {
        get_unsigned(&buf, off, op.bits) as i64
    }
}

/// The `bits`-wide unsigned integer at bit `offset` (bit 0 is the most significant bit of byte 0).
fn get_unsigned(p: &[u8], offset: u64, bits: u32) -> u64 {
    let mut v = 0u64;
    for i in 0..bits as u64 {
        let o = offset + i;
        let bit = (p[(o >> 3) as usize] >> (7 - (o & 7))) & 1;
        v = (v << 1) | bit as u64;
    }
    v
}

fn get_signed(p: &[u8], offset: u64, bits: u32) -> i64 {
    let v = get_unsigned(p, offset, bits);
    if bits < 64 && v & (1 << (bits - 1)) != 0 {
        (v | (u64::MAX << bits)) as i64
    } else {
        v as i64
    }
}

/// Store the low `bits` bits of `value` at bit `offset`.
fn set_unsigned(p: &mut [u8], offset: u64, bits: u32, value: u64) {
    for i in 0..bits as u64 {
        let o = offset + i;
        let bit = ((value >> (bits as u64 - 1 - i)) & 1) as u8;
        let byte = &mut p[(o >> 3) as usize];
        let shift = 7 - (o & 7);
        *byte = (*byte & !(1 << shift)) | (bit << shift);
    }
}

/// Redis's checkUnsignedBitfieldOverflow: 0 if `value + incr` fits in `bits` bits, else 1 (over) or -1
/// (under) and the value WRAP or SAT would store.
fn unsigned_overflow(value: u64, incr: i64, bits: u32, ow: Overflow) -> (i32, u64) {
    let max = if bits == 64 { u64::MAX } else { (1u64 << bits) - 1 };
    let maxincr = max.wrapping_sub(value) as i64;
    let minincr = value.wrapping_neg() as i64;
    let wrap = || value.wrapping_add(incr as u64) & max;
    if value > max || (incr > 0 && incr > maxincr) {
        (1, if ow == Overflow::Sat { max } else { wrap() })
    } else if incr < 0 && incr < minincr {
        (-1, if ow == Overflow::Sat { 0 } else { wrap() })
    } else {
        (0, 0)
    }
}

/// Redis's checkSignedBitfieldOverflow, the signed counterpart.
fn signed_overflow(value: i64, incr: i64, bits: u32, ow: Overflow) -> (i32, i64) {
    let max = if bits == 64 { i64::MAX } else { (1i64 << (bits - 1)) - 1 };
    let min = -max - 1;
    let maxincr = (max as u64).wrapping_sub(value as u64) as i64;
    let minincr = min.wrapping_sub(value);
    let wrap = || {
        let mut c = (value as u64).wrapping_add(incr as u64);
        if bits < 64 {
            let mask = u64::MAX << bits;
            if c & (1u64 << (bits - 1)) != 0 {
                c |= mask;
            } else {
                c &= !mask;
            }
        }
        c as i64
    };
    if value > max || (bits != 64 && incr > maxincr) || (value >= 0 && incr > 0 && incr > maxincr) {
        (1, if ow == Overflow::Sat { max } else { wrap() })
    } else if value < min || (bits != 64 && incr < minincr) || (value < 0 && incr < 0 && incr < minincr) {
        (-1, if ow == Overflow::Sat { min } else { wrap() })
    } else {
        (0, 0)
    }
}

#[cfg(test)]
#[path = "bitmap_tests.rs"]
mod tests;
