//! Redis RDB stream objects (persist layer, pure): reads RDB_TYPE_STREAM_LISTPACKS (Redis 5 to 6.2) and
//! RDB_TYPE_STREAM_LISTPACKS_2 (Redis 7.0) bodies, so RESTORE accepts a stream DUMPed by Redis.
//!
//! The body is a count of nodes, each a 16-byte big-endian master id and a listpack (possibly LZF
//! compressed) in t_stream.c's layout (master entry, then entries of flags, id deltas, optional fields,
//! values and a back-count), then the stream's counters and its consumer groups with their PELs. Everything
//! is bounds-checked: a corrupt payload is an error, never a panic. The loading rules for the missing 7.0
//! fields of an old payload are rdb.c's (entries-added = length, read counters estimated).

use super::dump::{read_len, read_rdb_string, DumpError};
use crate::types::stream::{Group, Nack, Stream, StreamId};

/// RDB_TYPE_STREAM_LISTPACKS.
pub const TYPE_STREAM_LISTPACKS: u8 = 15;
/// RDB_TYPE_STREAM_LISTPACKS_2 (Redis 7.0).
pub const TYPE_STREAM_LISTPACKS_2: u8 = 19;

const FLAG_DELETED: i64 = 1;
const FLAG_SAMEFIELDS: i64 = 2;

/// One listpack element: an integer or a string.
#[derive(Debug, PartialEq)]
enum LpElem<'a> {
    Int(i64),
    Str(&'a [u8]),
}

impl LpElem<'_> {
    fn int(&self) -> Result<i64, DumpError> {
        match self {
            LpElem::Int(i) => Ok(*i),
            LpElem::Str(s) => std::str::from_utf8(s).ok().and_then(|s| s.parse().ok()).ok_or(DumpError::BadFormat),
        }
    }

    fn bytes(&self) -> Vec<u8> {
        match self {
            LpElem::Int(i) => i.to_string().into_bytes(),
            LpElem::Str(s) => s.to_vec(),
        }
    }
}

/// Split a listpack into its elements.
fn listpack_elements(lp: &[u8]) -> Result<Vec<LpElem<'_>>, DumpError> {
    let bad = || DumpError::BadFormat;
    if lp.len() < 7 || u32::from_le_bytes([lp[0], lp[1], lp[2], lp[3]]) as usize != lp.len() {
        return Err(bad());
    }
    let mut pos = 6;
    let mut out = Vec::new();
    let take = |pos: &mut usize, n: usize| -> Result<&[u8], DumpError> {
        let end = pos.checked_add(n).ok_or(DumpError::BadFormat)?;
        let s = lp.get(*pos..end).ok_or(DumpError::BadFormat)?;
        *pos = end;
        Ok(s)
    };
    loop {
        let start = pos;
        let b = *lp.get(pos).ok_or_else(bad)?;
        pos += 1;
        let elem = if b == 0xFF {
            break;
        } else if b & 0x80 == 0 {
            LpElem::Int((b & 0x7F) as i64)
        } else if b & 0xC0 == 0x80 {
            LpElem::Str(take(&mut pos, (b & 0x3F) as usize)?)
        } else if b & 0xE0 == 0xC0 {
            let lo = take(&mut pos, 1)?[0];
            let v = (((b & 0x1F) as i64) << 8) | lo as i64;
            LpElem::Int(if v >= 1 << 12 { v - (1 << 13) } else { v })
        } else if b & 0xF0 == 0xE0 {
            let lo = take(&mut pos, 1)?[0];
            LpElem::Str(take(&mut pos, (((b & 0x0F) as usize) << 8) | lo as usize)?)
        } else {
            match b {
                0xF0 => {
                    let w = take(&mut pos, 4)?;
                    LpElem::Str(take(&mut pos, u32::from_le_bytes([w[0], w[1], w[2], w[3]]) as usize)?)
                }
                0xF1 => {
                    let w = take(&mut pos, 2)?;
                    LpElem::Int(i16::from_le_bytes([w[0], w[1]]) as i64)
                }
                0xF2 => {
                    let w = take(&mut pos, 3)?;
                    let v = (w[0] as i32) | ((w[1] as i32) << 8) | ((w[2] as i32) << 16);
                    LpElem::Int(((v << 8) >> 8) as i64)
                }
                0xF3 => {
                    let w = take(&mut pos, 4)?;
                    LpElem::Int(i32::from_le_bytes([w[0], w[1], w[2], w[3]]) as i64)
                }
                0xF4 => {
                    let w = take(&mut pos, 8)?;
                    LpElem::Int(i64::from_le_bytes(w.try_into().map_err(|_| DumpError::BadFormat)?))
                }
                _ => return Err(bad()),
            }
        };
        // The back-length: how many bytes the element took, in 1..5 bytes.
        let len = pos - start;
        pos += match len {
            0..=127 => 1,
            128..=16382 => 2,
            16383..=2097150 => 3,
            2097151..=268435454 => 4,
            _ => 5,
        };
        if pos > lp.len() {
            return Err(bad());
        }
        out.push(elem);
    }
    if pos != lp.len() {
        return Err(bad());
    }
    Ok(out)
}

/// Decode one node's listpack: its live entries, its tombstone count and its last record's id.
/// Live entries as (id, alternating field/value).
type NodeEntries = Vec<(StreamId, Vec<Vec<u8>>)>;

fn node_entries(master: StreamId, lp: &[u8]) -> Result<(NodeEntries, usize, StreamId), DumpError> {
    let bad = || DumpError::BadFormat;
    let el = listpack_elements(lp)?;
    let mut it = el.iter();
    let mut next = || it.next().ok_or_else(bad);
    let count = next()?.int()?;
    let deleted = next()?.int()?;
    let nfields = next()?.int()?;
    if count < 0 || deleted < 0 || !(0..=1 << 20).contains(&nfields) {
        return Err(bad());
    }
    let mut master_fields = Vec::with_capacity(nfields as usize);
    for _ in 0..nfields {
        master_fields.push(next()?.bytes());
    }
    if next()?.int()? != 0 {
        return Err(bad());
    }
    let mut entries = Vec::new();
    let mut tombstones = 0usize;
    let mut last = master;
    for _ in 0..(count + deleted) {
        let flags = next()?.int()?;
        let ms = master.ms.wrapping_add(next()?.int()? as u64);
        let seq = master.seq.wrapping_add(next()?.int()? as u64);
        let mut pairs: Vec<Vec<u8>> = Vec::new();
        if flags & FLAG_SAMEFIELDS != 0 {
            for f in &master_fields {
                pairs.push(f.clone());
                pairs.push(next()?.bytes());
            }
        } else {
            let n = next()?.int()?;
            if !(0..=1 << 20).contains(&n) {
                return Err(bad());
            }
            for _ in 0..n {
                pairs.push(next()?.bytes());
                pairs.push(next()?.bytes());
            }
        }
        next()?.int()?; // lp-count
        last = StreamId::new(ms, seq);
        if flags & FLAG_DELETED != 0 {
            tombstones += 1;
        } else {
            entries.push((StreamId::new(ms, seq), pairs));
        }
    }
    if entries.len() as i64 != count || next().is_ok() {
        return Err(bad());
    }
    Ok((entries, tombstones, last))
}

fn raw_id(b: &[u8], pos: &mut usize) -> Result<StreamId, DumpError> {
    let w = b.get(*pos..*pos + 16).ok_or(DumpError::BadFormat)?;
    *pos += 16;
    let ms = u64::from_be_bytes(w[..8].try_into().map_err(|_| DumpError::BadFormat)?);
    let seq = u64::from_be_bytes(w[8..].try_into().map_err(|_| DumpError::BadFormat)?);
    Ok(StreamId::new(ms, seq))
}

fn len(b: &[u8], pos: &mut usize) -> Result<u64, DumpError> {
    match read_len(b, pos)? {
        (false, n) => Ok(n),
        _ => Err(DumpError::BadFormat),
    }
}

fn id(b: &[u8], pos: &mut usize) -> Result<StreamId, DumpError> {
    Ok(StreamId::new(len(b, pos)?, len(b, pos)?))
}

fn ms_time(b: &[u8], pos: &mut usize) -> Result<i64, DumpError> {
    let w = b.get(*pos..*pos + 8).ok_or(DumpError::BadFormat)?;
    *pos += 8;
    Ok(i64::from_le_bytes(w.try_into().map_err(|_| DumpError::BadFormat)?))
}

/// Read a stream object body of RDB type `rdbtype`, starting at `pos` (just after the type byte); the whole
/// body must be consumed.
pub fn read_stream(b: &[u8], mut pos: usize, rdbtype: u8) -> Result<Stream, DumpError> {
    let bad = || DumpError::BadFormat;
    let v2 = rdbtype == TYPE_STREAM_LISTPACKS_2;
    let mut s = Stream::new();
    let nodes = len(b, &mut pos)?;
    for _ in 0..nodes {
        let key = read_rdb_string(b, &mut pos)?;
        if key.len() != 16 {
            return Err(bad());
        }
        let master = raw_id(&key, &mut 0)?;
        let lp = read_rdb_string(b, &mut pos)?;
        let (entries, tombstones, last) = node_entries(master, &lp)?;
        let refs: Vec<(StreamId, Vec<&[u8]>)> =
            entries.iter().map(|(id, p)| (*id, p.iter().map(|x| x.as_slice()).collect())).collect();
        if !s.push_node(master, last, tombstones, &refs) {
            return Err(bad());
        }
    }
    if len(b, &mut pos)? != s.len() {
        return Err(bad());
    }
    s.last_id = id(b, &mut pos)?;
    if s.last_valid_id() > s.last_id {
        return Err(bad());
    }
    if v2 {
        s.first_id = id(b, &mut pos)?;
        s.max_deleted_id = id(b, &mut pos)?;
        s.entries_added = len(b, &mut pos)?;
    } else {
        s.entries_added = s.len();
        s.first_id = s.first_entry().map_or(StreamId::MIN, |e| e.id);
    }
    let ngroups = len(b, &mut pos)?;
    for _ in 0..ngroups {
        let name = read_rdb_string(b, &mut pos)?;
        let last = id(b, &mut pos)?;
        let entries_read = if v2 { len(b, &mut pos)? as i64 } else { s.estimate_distance(last) };
        let mut g = Group::new(last, entries_read);
        let npel = len(b, &mut pos)?;
        for _ in 0..npel {
            let pid = raw_id(b, &mut pos)?;
            let delivery_time = ms_time(b, &mut pos)?;
            let delivery_count = len(b, &mut pos)?;
            // The owner is filled in from the consumers' PELs below.
            g.pel.insert(pid, Nack { delivery_time, delivery_count, consumer: Vec::new() });
        }
        let nconsumers = len(b, &mut pos)?;
        for _ in 0..nconsumers {
            let cname = read_rdb_string(b, &mut pos)?;
            let seen = ms_time(b, &mut pos)?;
            if !g.create_consumer(&cname, seen) {
                return Err(bad());
            }
            let n = len(b, &mut pos)?;
            for _ in 0..n {
                let pid = raw_id(b, &mut pos)?;
                let nack = g.pel.get_mut(&pid).ok_or_else(bad)?;
                if !nack.consumer.is_empty() {
                    return Err(bad());
                }
                nack.consumer = cname.clone();
                g.consumers.get_mut(&cname).ok_or_else(bad)?.pel.insert(pid);
            }
        }
        if g.pel.values().any(|n| n.consumer.is_empty()) || s.groups.insert(name, g).is_some() {
            return Err(bad());
        }
    }
    if pos != b.len() {
        return Err(bad());
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listpack_integers_and_strings() {
        // total bytes, count, then: 7-bit 5, 13-bit -2, string "ab", 16-bit 1000, end.
        let mut lp = vec![0, 0, 0, 0, 4, 0];
        lp.extend_from_slice(&[0x05, 1]);
        lp.extend_from_slice(&[0xDF, 0xFE, 2]);
        lp.extend_from_slice(&[0x82, b'a', b'b', 3]);
        lp.extend_from_slice(&[0xF1, 0xE8, 0x03, 3]);
        lp.push(0xFF);
        let n = lp.len() as u32;
        lp[..4].copy_from_slice(&n.to_le_bytes());
        let el = listpack_elements(&lp).unwrap();
        assert_eq!(el, vec![LpElem::Int(5), LpElem::Int(-2), LpElem::Str(b"ab"), LpElem::Int(1000)]);
        // Truncated or mis-sized listpacks are errors.
        assert!(listpack_elements(&lp[..lp.len() - 1]).is_err());
        let mut wrong = lp.clone();
        wrong[0] += 1;
        assert!(listpack_elements(&wrong).is_err());
    }
}
