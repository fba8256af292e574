//! Redis RDB stream objects (persist layer, pure): writes RDB_TYPE_STREAM_LISTPACKS_2 (Redis 7.0) and reads
//! STREAM_LISTPACKS (Redis 5 to 6.2), STREAM_LISTPACKS_2 and STREAM_LISTPACKS_3 (Redis 7.2) bodies.
//!
//! The body is a count of nodes, each a 16-byte big-endian master id and a listpack in t_stream.c's layout
//! (a master entry of live count, deleted count, field names and a 0 terminator; then entries of flags, id
//! deltas, optional fields, values and a back-count), then the stream's counters and its consumer groups
//! with their PELs. The loading rules for the fields an older type lacks are rdb.c's (entries-added =
//! length, read counters estimated).
//!
//! Our nodes keep deleted entries only as a count, while a Redis listpack keeps them as flagged records
//! (which its loader checks): we write them back as tombstones with no values, placed so that the node's
//! first and last records keep the ids Redis's trimming looks at (the node key and the last id ever added).

use super::packs::{self, Elem, LpWriter};
use super::rdb::{self, Input, RdbError};
use crate::types::stream::{Group, Nack, Stream, StreamId};
use std::io::BufRead;

const FLAG_DELETED: i64 = 1;
const FLAG_SAMEFIELDS: i64 = 2;

/// Live entries of a node as (id, alternating field/value).
type NodeEntries = Vec<(StreamId, Vec<Vec<u8>>)>;

fn raw_id_bytes(id: StreamId) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&id.ms.to_be_bytes());
    b[8..].copy_from_slice(&id.seq.to_be_bytes());
    b
}

/// Append one stream as rdbSaveObject writes STREAM_LISTPACKS_2.
pub fn write_stream(out: &mut Vec<u8>, s: &Stream, compress: bool) {
    let nodes: Vec<_> = s.nodes_with_keys().collect();
    rdb::write_len(out, nodes.len() as u64);
    let mut lp = LpWriter::new();
    for (master, last, deleted, entries) in &nodes {
        lp.clear();
        // The master entry's fields: the first live entry's (the first record's, unless it was deleted).
        let master_fields: Vec<&[u8]> = entries.first().map(|e| e.elements().step_by(2).collect()).unwrap_or_default();
        lp.push_int(entries.len() as i64);
        lp.push_int(*deleted as i64);
        lp.push_int(master_fields.len() as i64);
        for f in &master_fields {
            lp.push_str(f);
        }
        lp.push_int(0);
        // Where the tombstones go: one at the node key when its first record is gone, one at the last id
        // when the last record is gone, the rest right after the first (same id, never past a live one).
        let mut left = *deleted;
        let head = left > 0 && entries.first().is_none_or(|e| e.id != *master);
        left -= usize::from(head);
        let tail =
            left > 0 && entries.last().is_none_or(|e| e.id != *last) && !(head && entries.is_empty() && last == master);
        left -= usize::from(tail);
        let tombstone = |lp: &mut LpWriter, id: StreamId| {
            lp.push_int(FLAG_DELETED | FLAG_SAMEFIELDS);
            lp.push_int(id.ms.wrapping_sub(master.ms) as i64);
            lp.push_int(id.seq.wrapping_sub(master.seq) as i64);
            for _ in 0..master_fields.len() {
                lp.push_str(b"");
            }
            lp.push_int(master_fields.len() as i64 + 3);
        };
        if head {
            tombstone(&mut lp, *master);
        }
        for _ in 0..left {
            tombstone(&mut lp, *master);
        }
        for e in entries {
            let nfields = e.num_fields();
            let same = nfields == master_fields.len() && e.elements().step_by(2).eq(master_fields.iter().copied());
            lp.push_int(if same { FLAG_SAMEFIELDS } else { 0 });
            lp.push_int(e.id.ms.wrapping_sub(master.ms) as i64);
            lp.push_int(e.id.seq.wrapping_sub(master.seq) as i64);
            if same {
                for v in e.elements().skip(1).step_by(2) {
                    lp.push_str(v);
                }
                lp.push_int(nfields as i64 + 3);
            } else {
                lp.push_int(nfields as i64);
                for x in e.elements() {
                    lp.push_str(x);
                }
                lp.push_int(2 * nfields as i64 + 4);
            }
        }
        if tail {
            tombstone(&mut lp, *last);
        }
        rdb::write_string(out, &raw_id_bytes(*master), compress);
        rdb::write_string(out, lp.finish(), compress);
    }
    rdb::write_len(out, s.len());
    rdb::write_len(out, s.last_id.ms);
    rdb::write_len(out, s.last_id.seq);
    rdb::write_len(out, s.first_id.ms);
    rdb::write_len(out, s.first_id.seq);
    rdb::write_len(out, s.max_deleted_id.ms);
    rdb::write_len(out, s.max_deleted_id.seq);
    rdb::write_len(out, s.entries_added);
    rdb::write_len(out, s.groups.len() as u64);
    for (name, g) in &s.groups {
        rdb::write_string(out, name, compress);
        rdb::write_len(out, g.last_id.ms);
        rdb::write_len(out, g.last_id.seq);
        // -1 (unknown) is written as the 64-bit length 2^64-1, as Redis's (uint64_t) cast does.
        rdb::write_len(out, g.entries_read as u64);
        rdb::write_len(out, g.pel.len() as u64);
        for (id, n) in &g.pel {
            out.extend_from_slice(&raw_id_bytes(*id));
            out.extend_from_slice(&n.delivery_time.to_le_bytes());
            rdb::write_len(out, n.delivery_count);
        }
        rdb::write_len(out, g.consumers.len() as u64);
        for (cname, c) in &g.consumers {
            rdb::write_string(out, cname, compress);
            out.extend_from_slice(&c.seen_time.to_le_bytes());
            rdb::write_len(out, c.pel.len() as u64);
            for id in &c.pel {
                out.extend_from_slice(&raw_id_bytes(*id));
            }
        }
    }
}

/// Decode one node's listpack as streamValidateListpackIntegrity (deep) checks it: its live entries, its
/// tombstone count and its last record's id; None when inconsistent.
fn node_entries(master: StreamId, lp: &[u8]) -> Option<(NodeEntries, usize, StreamId)> {
    let el = packs::listpack(lp)?;
    let mut it = el.into_iter();
    let mut next = || it.next();
    let int = |e: Option<Elem<'_>>| -> Option<i64> {
        match e? {
            Elem::Int(i) => Some(i),
            Elem::Str(_) => None,
        }
    };
    let count = int(next())?;
    let deleted = int(next())?;
    let nfields = int(next())?;
    if count < 0 || deleted < 0 || nfields < 0 {
        return None;
    }
    // Each field takes at least two listpack bytes, so a count beyond the blob is refused by the reads.
    let mut master_fields = Vec::new();
    for _ in 0..nfields {
        master_fields.push(next()?.to_vec());
    }
    if int(next())? != 0 {
        return None;
    }
    let mut entries = Vec::new();
    let mut tombstones = 0usize;
    let mut last = master;
    for _ in 0..count.checked_add(deleted)? {
        let flags = int(next())?;
        let ms = master.ms.wrapping_add(int(next())? as u64);
        let seq = master.seq.wrapping_add(int(next())? as u64);
        let mut pairs: Vec<Vec<u8>> = Vec::new();
        let fields;
        let mut extra = 3;
        if flags & FLAG_SAMEFIELDS != 0 {
            fields = nfields;
            for f in &master_fields {
                pairs.push(f.clone());
                pairs.push(next()?.to_vec());
            }
        } else {
            fields = int(next())?;
            if fields < 0 {
                return None;
            }
            for _ in 0..fields {
                pairs.push(next()?.to_vec());
                pairs.push(next()?.to_vec());
            }
            extra += fields + 1;
        }
        if int(next())? != fields + extra {
            return None;
        }
        last = StreamId::new(ms, seq);
        if flags & FLAG_DELETED != 0 {
            tombstones += 1;
        } else {
            entries.push((last, pairs));
        }
    }
    if entries.len() as i64 != count || next().is_some() {
        return None;
    }
    Some((entries, tombstones, last))
}

fn raw_id<R: BufRead>(inp: &mut Input<R>) -> Result<StreamId, RdbError> {
    let b: [u8; 16] = inp.array()?;
    Ok(StreamId::new(
        u64::from_be_bytes(b[..8].try_into().unwrap_or_default()),
        u64::from_be_bytes(b[8..].try_into().unwrap_or_default()),
    ))
}

fn id<R: BufRead>(inp: &mut Input<R>) -> Result<StreamId, RdbError> {
    Ok(StreamId::new(inp.len()?, inp.len()?))
}

/// Read a stream object body of RDB type `rdbtype` (15, 19 or 21), just after its type byte (and key).
pub(crate) fn read_stream<R: BufRead>(inp: &mut Input<R>, rdbtype: u8) -> Result<Stream, RdbError> {
    let v2 = rdbtype != rdb::TYPE_STREAM_LISTPACKS;
    let v3 = rdbtype == rdb::TYPE_STREAM_LISTPACKS_3;
    let mut s = Stream::new();
    let nodes = inp.len()?;
    for _ in 0..nodes {
        let key = inp.string()?;
        if key.len() != 16 {
            return Err(inp.corrupt("Stream node key entry is not the size of a stream ID"));
        }
        let master = StreamId::new(
            u64::from_be_bytes(key[..8].try_into().unwrap_or_default()),
            u64::from_be_bytes(key[8..].try_into().unwrap_or_default()),
        );
        let lp = inp.string()?;
        let (entries, tombstones, last) =
            node_entries(master, &lp).ok_or_else(|| inp.corrupt("Stream listpack integrity check failed."))?;
        let refs: Vec<(StreamId, Vec<&[u8]>)> =
            entries.iter().map(|(id, p)| (*id, p.iter().map(|x| x.as_slice()).collect())).collect();
        if !s.push_node(master, last, tombstones, &refs) {
            return Err(inp.corrupt("Stream listpack out of order, empty or re-added with an existing key"));
        }
    }
    if inp.len()? != s.len() {
        return Err(inp.corrupt("Stream length inconsistent with rax entries"));
    }
    s.last_id = id(inp)?;
    if s.last_valid_id() > s.last_id {
        return Err(inp.corrupt("Stream last id below its entries"));
    }
    if v2 {
        s.first_id = id(inp)?;
        s.max_deleted_id = id(inp)?;
        s.entries_added = inp.len()?;
    } else {
        s.entries_added = s.len();
        s.first_id = s.first_entry().map_or(StreamId::MIN, |e| e.id);
    }
    let ngroups = inp.len()?;
    for _ in 0..ngroups {
        let name = inp.string()?;
        let last = id(inp)?;
        let entries_read = if v2 { inp.len()? as i64 } else { s.estimate_distance(last) };
        let mut g = Group::new(last, entries_read);
        let npel = inp.len()?;
        for _ in 0..npel {
            let pid = raw_id(inp)?;
            let delivery_time = inp.ms()?;
            let delivery_count = inp.len()?;
            // The owner is filled in from the consumers' PELs below.
            let nack = Nack { delivery_time, delivery_count, consumer: Vec::new() };
            if g.pel.insert(pid, nack).is_some() {
                return Err(inp.corrupt("Duplicated global PEL entry loading stream consumer group"));
            }
        }
        let nconsumers = inp.len()?;
        for _ in 0..nconsumers {
            let cname = inp.string()?;
            let seen = inp.ms()?;
            if v3 {
                inp.ms()?; // active-time (7.2): we keep no such field
            }
            if !g.create_consumer(&cname, seen) {
                return Err(inp.corrupt("Duplicate stream consumer detected."));
            }
            let n = inp.len()?;
            for _ in 0..n {
                let pid = raw_id(inp)?;
                let Some(nack) = g.pel.get_mut(&pid) else {
                    return Err(inp.corrupt("Consumer entry not found in group global PEL"));
                };
                if !nack.consumer.is_empty() {
                    return Err(inp.corrupt("Duplicated consumer PEL entry loading a stream consumer group"));
                }
                nack.consumer = cname.clone();
                if let Some(c) = g.consumers.get_mut(&cname) {
                    c.pel.insert(pid);
                }
            }
        }
        if g.pel.values().any(|n| n.consumer.is_empty()) {
            return Err(inp.corrupt("Stream CG PEL entry without consumer"));
        }
        if s.groups.insert(name, g).is_some() {
            return Err(inp.corrupt("Duplicated consumer group name"));
        }
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::stream::{IdSpec, NodeLimits};

    fn round_trip(st: &Stream) -> Stream {
        let mut out = Vec::new();
        write_stream(&mut out, st, true);
        let mut inp = Input::new(&out[..], false);
        let back = read_stream(&mut inp, rdb::TYPE_STREAM_LISTPACKS_2).unwrap();
        assert_eq!(inp.offset(), out.len() as u64);
        back
    }

    #[test]
    fn tombstones_keep_node_edges() {
        let lim = NodeLimits { max_bytes: 4096, max_entries: 4 };
        let mut st = Stream::new();
        for i in 1..=10u64 {
            let f: &[u8] = if i % 3 == 0 { b"other" } else { b"f" };
            st.append(IdSpec::Explicit(StreamId::new(i, 0)), &[f, b"v", b"n", b"12"], 0, lim).unwrap();
        }
        // First of the first node, last of the second, a middle one, and a whole node's worth.
        st.delete_ids(&[StreamId::new(1, 0), StreamId::new(8, 0), StreamId::new(6, 0)]);
        st.delete_ids(&[StreamId::new(9, 0), StreamId::new(10, 0)]);
        let back = round_trip(&st);
        assert_eq!(back, st);
        assert_eq!(back.first_record_id(), st.first_record_id());
        // An emptied stream (trimmed to nothing) round-trips too.
        let mut t = Stream::new();
        t.append(IdSpec::Explicit(StreamId::new(1, 1)), &[b"a", b"b"], 0, lim).unwrap();
        t.trim(crate::types::stream::Trim::MaxLen(0), false, 0);
        assert_eq!(round_trip(&t), t);
    }
}
