//! Stream consumer groups (commands layer, applied by the Keyspace actor): XGROUP and its subcommands,
//! XACK, XPENDING, XCLAIM, XAUTOCLAIM and the group side of XREADGROUP (serving one stream to a consumer and
//! keeping its pending entries list). Their rows sit in stream.rs's one alphabetical table of the stream
//! family, like Redis's t_stream.c; replies and errors follow that file.

use super::connection::help;
use super::spec::*;
use super::stream::{
    count_or_all, parse_id, parse_id_list, parse_strict_id, range_end, range_start, write_entry, write_id, ReadFrom,
};
use super::Ctx;
use crate::config::NOTIFY_STREAM;
use crate::error::CmdError;
use crate::resp::encode::Out;
use crate::types::clock;
use crate::types::db::Db;
use crate::types::num::parse_i64;
use crate::types::stream::{Group, Stream, StreamId, INVALID_ENTRIES_READ};
use crate::types::value::Value;

/// XGROUP's subcommands (the XGROUP row itself is in stream.rs).
#[rustfmt::skip]
pub(super) const XGROUP_SUBS: &[CommandSpec] = &family("stream", [
    cmd("xgroup|create", -5, WRITE | DENYOOM, xgroup_create).keys(2, 2, 1).acl(STREAM).doc("5.0.0", "O(1)", "Create a consumer group."),
    cmd("xgroup|createconsumer", 5, WRITE | DENYOOM, xgroup_createconsumer).keys(2, 2, 1).acl(STREAM).doc("6.2.0", "O(1)", "Create a consumer in a consumer group."),
    cmd("xgroup|delconsumer", 5, WRITE, xgroup_delconsumer).keys(2, 2, 1).acl(STREAM).doc("5.0.0", "O(1)", "Delete a consumer from a consumer group."),
    cmd("xgroup|destroy", 4, WRITE, xgroup_destroy).keys(2, 2, 1).acl(STREAM).doc("5.0.0", "O(N) where N is the number of entries in the group's pending entries list (PEL).", "Destroy a consumer group."),
    cmd("xgroup|help", 2, LOADING | STALE, xgroup_help).acl(STREAM).doc("5.0.0", "O(1)", "Show helpful text about the different subcommands"),
    cmd("xgroup|setid", -5, WRITE, xgroup_setid).keys(2, 2, 1).acl(STREAM).doc("5.0.0", "O(1)", "Set a consumer group to an arbitrary last delivered ID value."),
]);

fn nogroup_key(key: &[u8], group: &[u8]) -> CmdError {
    CmdError::msg(format!(
        "NOGROUP No such key '{}' or consumer group '{}'",
        crate::error::sanitize(key, 128),
        crate::error::sanitize(group, 128)
    ))
}

/// XCLAIM key group consumer 0 id TIME ms RETRYCOUNT n FORCE JUSTID LASTID last: how a PEL change reaches
/// replicas (streamPropagateXCLAIM).
#[allow(clippy::too_many_arguments)]
fn propagate_xclaim(
    cx: &mut Ctx<'_>,
    key: &[u8],
    group: &[u8],
    consumer: &[u8],
    id: StreamId,
    time: i64,
    count: u64,
    last: StreamId,
) {
    if !cx.s.prop.feed.enabled {
        return;
    }
    let id = id.to_bytes();
    let time = time.to_string();
    let count = count.to_string();
    let last = last.to_bytes();
    cx.propagate_as(&[
        b"XCLAIM",
        key,
        group,
        consumer,
        b"0",
        &id,
        b"TIME",
        time.as_bytes(),
        b"RETRYCOUNT",
        count.as_bytes(),
        b"FORCE",
        b"JUSTID",
        b"LASTID",
        &last,
    ]);
}

/// XGROUP SETID key group id ENTRIESREAD n (streamPropagateGroupID).
fn propagate_group_id(cx: &mut Ctx<'_>, key: &[u8], group: &[u8], last: StreamId, entries_read: i64) {
    if !cx.s.prop.feed.enabled {
        return;
    }
    let last = last.to_bytes();
    let n = entries_read.to_string();
    cx.propagate_as(&[b"XGROUP", b"SETID", key, group, &last, b"ENTRIESREAD", n.as_bytes()]);
}

/// Serve one stream of an XREADGROUP into `body`; false when there is nothing to serve (no key, or `>`
/// with nothing new).
#[allow(clippy::too_many_arguments)]
pub(super) fn serve_group(
    cx: &mut Ctx<'_>,
    body: &mut Out,
    key: &[u8],
    gname: &[u8],
    consumer: &[u8],
    from: ReadFrom,
    count: usize,
    noack: bool,
    now: i64,
) -> Result<bool, CmdError> {
    // Redis's xreadCommand looks each key up a second time to serve it (lookupKeyRead: a keyspace hit). The
    // key is there: XREADGROUP checked it and its group before serving any stream.
    cx.db().hits += 1;
    let Some(s) = cx.db().write::<Stream>(key)? else { return Ok(false) };
    let Some(g) = s.groups.get(gname) else { return Ok(false) };
    let serve_new = match from {
        ReadFrom::After(_) => None,
        ReadFrom::New => {
            if !s.is_empty() && s.last_valid_id() > g.last_id {
                Some(g.last_id)
            } else {
                None
            }
        }
    };
    let history = matches!(from, ReadFrom::After(_));
    if !history && serve_new.is_none() {
        return Ok(false);
    }
    // The consumer comes into being when it is first served (a read that blocks creates none), as in
    // Redis 7.0.
    let g = s.groups.get_mut(gname).expect("group checked");
    let created = g.create_consumer(consumer, now);
    if let Some(c) = g.consumers.get_mut(consumer) {
        c.seen_time = now;
    }
    if created {
        cx.s.persist.dirty += 1;
        cx.notify(NOTIFY_STREAM, "xgroup-createconsumer", key);
        if noack && cx.s.prop.feed.enabled {
            cx.propagate_as(&[b"XGROUP", b"CREATECONSUMER", key, gname, consumer]);
        }
    }
    if body.resp == 2 {
        body.array(2);
    }
    body.bulk(key);
    let s = cx.db().write::<Stream>(key)?.expect("stream checked");
    if let ReadFrom::After(after) = from {
        // History: this consumer's own pending entries after `after`.
        let Some(start) = after.incr() else {
            body.array(0);
            cx.s.persist.dirty += 1;
            return Ok(true);
        };
        let g = s.groups.get(gname).expect("group checked");
        let ids: Vec<StreamId> = g
            .consumers
            .get(consumer)
            .map_or(Vec::new(), |c| c.pel.range(start..).take(count_or_all(count)).copied().collect());
        body.array(ids.len());
        let mut found = Vec::with_capacity(ids.len());
        for &id in &ids {
            match s.get(id) {
                Some(e) => {
                    write_entry(body, e);
                    found.push(id);
                }
                None => {
                    // Acknowledged-never entry since deleted: its id and a null.
                    body.array(2);
                    write_id(body, id);
                    body.nil_array();
                }
            }
        }
        let g = s.groups.get_mut(gname).expect("group checked");
        for id in found {
            if let Some(n) = g.pel.get_mut(&id) {
                n.delivery_time = now;
                n.delivery_count += 1;
            }
        }
        cx.s.persist.dirty += 1;
        return Ok(true);
    }
    let after = serve_new.unwrap_or(StreamId::MIN);
    let (ids, moved) = s.deliver_new(gname, consumer, after, count, noack, now);
    body.array(ids.len());
    for &id in &ids {
        if let Some(e) = s.get(id) {
            write_entry(body, e);
        }
    }
    let (last, read) = s.groups.get(gname).map_or((StreamId::MIN, 0), |g| (g.last_id, g.entries_read));
    cx.s.persist.dirty += 1;
    if cx.s.prop.feed.enabled {
        if !noack {
            for &id in &ids {
                propagate_xclaim(cx, key, gname, consumer, id, now, 1, id);
            }
        }
        // Redis 7.0 sends the group's new last id on its own only for NOACK reads: otherwise each XCLAIM's
        // LASTID carries it.
        if moved && noack {
            propagate_group_id(cx, key, gname, last, read);
        }
    }
    Ok(true)
}

/// The options after XGROUP CREATE/SETID's id: MKSTREAM (CREATE only) and ENTRIESREAD n.
fn xgroup_options(cx: &Ctx<'_>, create: bool) -> Result<(bool, i64), CmdError> {
    let mut mkstream = false;
    let mut entries_read = INVALID_ENTRIES_READ;
    let mut i = 5;
    while i < cx.argc() {
        if create && cx.argv.is(i, "mkstream") {
            mkstream = true;
            i += 1;
        } else if cx.argv.is(i, "entriesread") && i + 1 < cx.argc() {
            entries_read = cx.int_arg(i + 1)?;
            if entries_read < 0 && entries_read != INVALID_ENTRIES_READ {
                return Err(CmdError::new("ERR value for ENTRIESREAD must be positive or -1"));
            }
            i += 2;
        } else {
            return Err(cx.subcommand_syntax());
        }
    }
    Ok((mkstream, entries_read))
}

const XGROUP_NO_KEY: CmdError = CmdError::new(
    "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the \
     MKSTREAM option to create an empty stream automatically.",
);

pub(super) fn nogroup_for_key(group: &[u8], key: &[u8]) -> CmdError {
    CmdError::msg(format!(
        "NOGROUP No such consumer group '{}' for key name '{}'",
        crate::error::sanitize(group, 128),
        crate::error::sanitize(key, 128)
    ))
}

/// The stream and group an XGROUP subcommand works on (the group must exist).
fn xgroup_target<'d>(db: &'d mut Db, key: &[u8], group: &[u8]) -> Result<(&'d mut Stream, bool), CmdError> {
    let Some(s) = db.write::<Stream>(key)? else { return Err(XGROUP_NO_KEY) };
    let has = s.groups.contains_key(group);
    Ok((s, has))
}

/// The stream at `key` (its last id) and its group `group`, or the error XGROUP subcommands give when either is missing.
fn existing_group<'d>(db: &'d mut Db, key: &[u8], group: &[u8]) -> Result<(StreamId, &'d mut Group), CmdError> {
    let (s, _) = xgroup_target(db, key, group)?;
    let last_id = s.last_id;
    match s.groups.get_mut(group) {
        Some(g) => Ok((last_id, g)),
        None => Err(nogroup_for_key(group, key)),
    }
}

/// XGROUP CREATE key group id|$ [MKSTREAM] [ENTRIESREAD entries-read]
fn xgroup_create(cx: &mut Ctx<'_>) -> CmdResult {
    let (mkstream, entries_read) = xgroup_options(cx, true)?;
    if cx.argc() > 8 {
        return Err(cx.subcommand_syntax());
    }
    let (key, gname, idarg) = (cx.arg(2), cx.arg(3), cx.arg(4));
    let existing = cx.db().write::<Stream>(key)?.map(|s| s.last_id);
    if existing.is_none() && !mkstream {
        return Err(XGROUP_NO_KEY);
    }
    let id = if idarg == b"$" { existing.unwrap_or(StreamId::MIN) } else { parse_strict_id(idarg, 0)? };
    if existing.is_none() {
        cx.db().set(key, Value::Stream(Box::default()), false);
        cx.modified(key);
        cx.s.persist.dirty -= 1;
    }
    let s = cx.db().write::<Stream>(key)?.expect("stream exists");
    if s.groups.contains_key(gname) {
        return Err(CmdError::new("BUSYGROUP Consumer Group name already exists"));
    }
    s.groups.insert(gname.to_vec(), Group::new(id, entries_read));
    cx.s.persist.dirty += 1;
    cx.out.ok();
    cx.notify(NOTIFY_STREAM, "xgroup-create", key);
    Ok(())
}

/// XGROUP SETID key group id|$ [ENTRIESREAD entries-read]
fn xgroup_setid(cx: &mut Ctx<'_>) -> CmdResult {
    let (_, entries_read) = xgroup_options(cx, false)?;
    if cx.argc() != 5 && cx.argc() != 7 {
        return Err(cx.subcommand_syntax());
    }
    let (key, gname, idarg) = (cx.arg(2), cx.arg(3), cx.arg(4));
    let (last_id, g) = existing_group(cx.db(), key, gname)?;
    let id = if idarg == b"$" { last_id } else { parse_id(idarg, 0)? };
    g.last_id = id;
    g.entries_read = entries_read;
    cx.s.persist.dirty += 1;
    cx.out.ok();
    cx.notify(NOTIFY_STREAM, "xgroup-setid", key);
    Ok(())
}

/// XGROUP DESTROY key group
fn xgroup_destroy(cx: &mut Ctx<'_>) -> CmdResult {
    let (key, gname) = (cx.arg(2), cx.arg(3));
    let (s, _) = xgroup_target(cx.db(), key, gname)?;
    if s.groups.remove(gname).is_some() {
        // Clients blocked in XREADGROUP on this group get -NOGROUP when they run again.
        cx.modified(key);
        cx.out.int(1);
        cx.notify(NOTIFY_STREAM, "xgroup-destroy", key);
    } else {
        cx.out.int(0);
    }
    Ok(())
}

/// XGROUP CREATECONSUMER key group consumer
fn xgroup_createconsumer(cx: &mut Ctx<'_>) -> CmdResult {
    let (key, gname, cname) = (cx.arg(2), cx.arg(3), cx.arg(4));
    let (_, g) = existing_group(cx.db(), key, gname)?;
    let created = g.create_consumer(cname, clock::now_ms());
    if created {
        cx.s.persist.dirty += 1;
        cx.notify(NOTIFY_STREAM, "xgroup-createconsumer", key);
    }
    cx.out.int(created as i64);
    Ok(())
}

/// XGROUP DELCONSUMER key group consumer
fn xgroup_delconsumer(cx: &mut Ctx<'_>) -> CmdResult {
    let (key, gname, cname) = (cx.arg(2), cx.arg(3), cx.arg(4));
    let (_, g) = existing_group(cx.db(), key, gname)?;
    let pending = g.delete_consumer(cname);
    if pending.is_some() {
        cx.s.persist.dirty += 1;
        cx.notify(NOTIFY_STREAM, "xgroup-delconsumer", key);
    }
    cx.out.int(pending.unwrap_or(0) as i64);
    Ok(())
}

/// XGROUP HELP
fn xgroup_help(cx: &mut Ctx<'_>) -> CmdResult {
    help(
        cx,
        "XGROUP",
        &[
            "CREATE <key> <groupname> <id|$> [option]",
            "    Create a new consumer group. Options are:",
            "    * MKSTREAM",
            "      Create the empty stream if it does not exist.",
            "    * ENTRIESREAD entries_read",
            "      Set the group's entries_read counter (internal use).",
            "CREATECONSUMER <key> <groupname> <consumer>",
            "    Create a new consumer in the specified group.",
            "DELCONSUMER <key> <groupname> <consumer>",
            "    Remove the specified consumer.",
            "DESTROY <key> <groupname>",
            "    Remove the specified group.",
            "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
            "    Set the current group ID and entries_read counter.",
        ],
    )
}

/// XACK key group id [id ...]
pub(super) fn xack(cx: &mut Ctx<'_>) -> CmdResult {
    let (key, gname) = (cx.arg(1), cx.arg(2));
    // A read lookup, as Redis's xackCommand: keyspace_hits/misses count it.
    let has = match cx.db().read::<Stream>(key)? {
        Some(s) => s.groups.contains_key(gname),
        None => false,
    };
    if !has {
        cx.out.int(0);
        return Ok(());
    }
    let ids = parse_id_list(cx, 3)?;
    let s = cx.db().write::<Stream>(key)?.expect("checked");
    let g = s.groups.get_mut(gname).expect("checked");
    let mut acked = 0;
    for id in ids {
        if g.ack(id) {
            acked += 1;
        }
    }
    cx.s.persist.dirty += acked;
    cx.out.int(acked as i64);
    Ok(())
}

/// XPENDING key group [[IDLE min-idle-time] start end count [consumer]]
pub(super) fn xpending(cx: &mut Ctx<'_>) -> CmdResult {
    let argc = cx.argc();
    let justinfo = argc == 3;
    if argc != 3 && !(6..=9).contains(&argc) {
        return Err(CmdError::SYNTAX);
    }
    let mut minidle = 0i64;
    let mut range = (StreamId::MIN, StreamId::MAX);
    let mut count = 0i64;
    let mut consumer: Option<&[u8]> = None;
    if argc >= 6 {
        let mut startidx = 3;
        if cx.argv.is(3, "idle") {
            minidle = cx.int_arg(4)?;
            if argc < 8 {
                return Err(CmdError::SYNTAX);
            }
            startidx += 2;
        }
        count = cx.int_arg(startidx + 2)?.max(0);
        range.0 = range_start(cx.arg(startidx))?;
        range.1 = range_end(cx.arg(startidx + 1))?;
        if startidx + 3 < argc {
            consumer = Some(cx.arg(startidx + 3));
        }
    }
    let (key, gname) = (cx.arg(1), cx.arg(2));
    let (db, out) = cx.db_out();
    let s = db.read::<Stream>(key)?;
    let Some(g) = s.and_then(|s| s.groups.get(gname)) else { return Err(nogroup_key(key, gname)) };
    if justinfo {
        out.array(4);
        out.int(g.pel.len() as i64);
        match (g.pel.keys().next(), g.pel.keys().next_back()) {
            (Some(&first), Some(&last)) => {
                write_id(out, first);
                write_id(out, last);
                let with: Vec<(&Vec<u8>, usize)> =
                    g.consumers.iter().filter(|(_, c)| !c.pel.is_empty()).map(|(n, c)| (n, c.pel.len())).collect();
                out.array(with.len());
                for (n, c) in with {
                    out.array(2);
                    out.bulk(n);
                    out.bulk(c.to_string().as_bytes());
                }
            }
            _ => {
                out.nil();
                out.nil();
                out.nil_array();
            }
        }
        return Ok(());
    }
    let now = clock::now_ms();
    let ids: Vec<StreamId> = match consumer {
        Some(c) => match g.consumers.get(c) {
            Some(c) => c.pel.range(range.0..=range.1.max(range.0)).copied().collect(),
            None => {
                out.array(0);
                return Ok(());
            }
        },
        None => g.pel.range(range.0..=range.1.max(range.0)).map(|(id, _)| *id).collect(),
    };
    let mut rows = Vec::new();
    for id in ids {
        if count == 0 || id > range.1 {
            break;
        }
        let Some(n) = g.pel.get(&id) else { continue };
        if minidle != 0 && now - n.delivery_time < minidle {
            continue;
        }
        rows.push((id, n));
        count -= 1;
    }
    out.array(rows.len());
    for (id, n) in rows {
        out.array(4);
        write_id(out, id);
        out.bulk(&n.consumer);
        out.int((now - n.delivery_time).max(0));
        out.int(n.delivery_count as i64);
    }
    Ok(())
}

/// XCLAIM key group consumer min-idle-time id [id ...] [IDLE ms] [TIME unix-time-milliseconds]
/// [RETRYCOUNT count] [FORCE] [JUSTID] [LASTID lastid]
pub(super) fn xclaim(cx: &mut Ctx<'_>) -> CmdResult {
    let (key, gname, cname) = (cx.arg(1), cx.arg(2), cx.arg(3));
    match cx.db().read::<Stream>(key)? {
        Some(s) if s.groups.contains_key(gname) => {}
        _ => return Err(nogroup_key(key, gname)),
    }
    let minidle = parse_i64(cx.arg(4)).ok_or(CmdError::new("ERR Invalid min-idle-time argument for XCLAIM"))?.max(0);
    let mut ids = Vec::new();
    let mut j = 5;
    while j < cx.argc() {
        match StreamId::parse(cx.arg(j), 0, true, false) {
            Some((id, _)) => ids.push(id),
            None => break,
        }
        j += 1;
    }
    let now = clock::now_ms();
    let mut force = false;
    let mut justid = false;
    let mut deliverytime: i64 = -1;
    let mut retrycount: i64 = -1;
    let mut last_id = StreamId::MIN;
    while j < cx.argc() {
        let more = cx.argc() - 1 - j;
        if cx.argv.is(j, "force") {
            force = true;
        } else if cx.argv.is(j, "justid") {
            justid = true;
        } else if cx.argv.is(j, "idle") && more > 0 {
            j += 1;
            let v = parse_i64(cx.arg(j)).ok_or(CmdError::new("ERR Invalid IDLE option argument for XCLAIM"))?;
            deliverytime = now - v;
        } else if cx.argv.is(j, "time") && more > 0 {
            j += 1;
            deliverytime = parse_i64(cx.arg(j)).ok_or(CmdError::new("ERR Invalid TIME option argument for XCLAIM"))?;
        } else if cx.argv.is(j, "retrycount") && more > 0 {
            j += 1;
            retrycount =
                parse_i64(cx.arg(j)).ok_or(CmdError::new("ERR Invalid RETRYCOUNT option argument for XCLAIM"))?;
        } else if cx.argv.is(j, "lastid") && more > 0 {
            j += 1;
            last_id = parse_strict_id(cx.arg(j), 0)?;
        } else {
            return Err(CmdError::msg(format!(
                "ERR Unrecognized XCLAIM option '{}'",
                crate::error::sanitize(cx.arg(j), 128)
            )));
        }
        j += 1;
    }
    cx.no_propagate();
    let (db, out) = cx.db_out();
    let s = db.write::<Stream>(key)?.expect("checked");
    let mut propagate_last = false;
    {
        let g = s.groups.get_mut(gname).expect("checked");
        if last_id > g.last_id {
            g.last_id = last_id;
            propagate_last = true;
        }
    }
    if deliverytime != -1 {
        if deliverytime < 0 || deliverytime > now {
            deliverytime = now;
        }
    } else {
        deliverytime = now;
    }
    let mut dirty = 0u64;
    let mut consumer_created = false;
    // The consumer is created (and its seen-time set) at its first claim only, as Redis 7.0 does.
    let mut consumer_ready = false;
    // (id, delivery time, count, owner) of every PEL change, for replicas; claimed ids for the reply.
    let mut changes: Vec<(StreamId, i64, u64, Vec<u8>)> = Vec::new();
    let mut claimed: Vec<StreamId> = Vec::new();
    for id in ids {
        let exists = s.contains(id);
        let g = s.groups.get_mut(gname).expect("checked");
        if !exists {
            if let Some(n) = g.pel.get(&id).cloned() {
                changes.push((id, n.delivery_time, n.delivery_count, n.consumer.clone()));
                propagate_last = false;
                dirty += 1;
                g.ack(id);
            }
            continue;
        }
        let pending = g.pel.get(&id).map(|n| n.delivery_time);
        match pending {
            None if !force => continue,
            Some(t) if minidle > 0 && now - t < minidle => continue,
            _ => {}
        }
        if !consumer_ready {
            consumer_ready = true;
            if g.create_consumer(cname, now) {
                dirty += 1;
                consumer_created = true;
            }
            if let Some(c) = g.consumers.get_mut(cname) {
                c.seen_time = now;
            }
        }
        // A NACK made by FORCE starts at one delivery.
        let prev = g.pel.get(&id).map_or(1, |n| n.delivery_count);
        let cnt = if retrycount >= 0 {
            retrycount as u64
        } else if !justid {
            prev + 1
        } else {
            prev
        };
        g.assign(id, cname, deliverytime, Some(cnt));
        changes.push((id, deliverytime, cnt, cname.to_vec()));
        claimed.push(id);
        propagate_last = false;
        dirty += 1;
    }
    let (glast, gread) = s.groups.get(gname).map_or((StreamId::MIN, 0), |g| (g.last_id, g.entries_read));
    out.array(claimed.len());
    for &id in &claimed {
        if justid {
            write_id(out, id);
        } else if let Some(e) = s.get(id) {
            write_entry(out, e);
        }
    }
    for (id, t, n, owner) in changes {
        propagate_xclaim(cx, key, gname, &owner, id, t, n, glast);
    }
    if propagate_last {
        propagate_group_id(cx, key, gname, glast, gread);
        dirty += 1;
    }
    cx.s.persist.dirty += dirty;
    if consumer_created {
        cx.notify(NOTIFY_STREAM, "xgroup-createconsumer", key);
    }
    Ok(())
}

/// XAUTOCLAIM key group consumer min-idle-time start [COUNT count] [JUSTID]
pub(super) fn xautoclaim(cx: &mut Ctx<'_>) -> CmdResult {
    let (key, gname, cname) = (cx.arg(1), cx.arg(2), cx.arg(3));
    // Redis's order: the key is looked up first (a read: keyspace_hits/misses count it), the arguments are
    // read, and only then come a wrong type and NOGROUP.
    let has_group = cx.db().read::<Stream>(key).map(|s| s.is_some_and(|s| s.groups.contains_key(gname)));
    let minidle =
        parse_i64(cx.arg(4)).ok_or(CmdError::new("ERR Invalid min-idle-time argument for XAUTOCLAIM"))?.max(0);
    let start = range_start(cx.arg(5))?;
    let mut count: i64 = 100;
    let mut justid = false;
    let mut j = 6;
    // LONG_MAX / max(sizeof(streamID), attempts factor 10), as Redis bounds it.
    let max_count = i64::MAX / 16;
    while j < cx.argc() {
        let more = cx.argc() - 1 - j;
        if cx.argv.is(j, "count") && more > 0 {
            count = match parse_i64(cx.arg(j + 1)) {
                Some(n) if (1..=max_count).contains(&n) => n,
                _ => return Err(CmdError::new("ERR COUNT must be > 0")),
            };
            j += 1;
        } else if cx.argv.is(j, "justid") {
            justid = true;
        } else {
            return Err(CmdError::SYNTAX);
        }
        j += 1;
    }
    if !has_group? {
        return Err(nogroup_key(key, gname));
    }
    cx.no_propagate();
    let now = clock::now_ms();
    let (db, out) = cx.db_out();
    let s = db.write::<Stream>(key)?.expect("checked");
    let mut dirty = 0u64;
    let mut consumer_created = false;
    // As XCLAIM: the consumer appears at its first claim.
    let mut consumer_ready = false;
    let mut attempts = count.saturating_mul(10);
    let mut changes: Vec<(StreamId, i64, u64, Vec<u8>)> = Vec::new();
    let mut claimed: Vec<StreamId> = Vec::new();
    let mut deleted: Vec<StreamId> = Vec::new();
    let mut cursor = Some(start);
    while attempts > 0 && count > 0 {
        attempts -= 1;
        let Some(from) = cursor else { break };
        let next = s.groups.get(gname).and_then(|g| g.pel.range(from..).next().map(|(id, n)| (*id, n.clone())));
        let Some((id, nack)) = next else {
            cursor = None;
            break;
        };
        cursor = id.incr();
        if !s.contains(id) {
            changes.push((id, nack.delivery_time, nack.delivery_count, nack.consumer.clone()));
            s.groups.get_mut(gname).expect("checked").ack(id);
            deleted.push(id);
            dirty += 1;
            count -= 1;
            continue;
        }
        if minidle > 0 && now - nack.delivery_time < minidle {
            continue;
        }
        let g = s.groups.get_mut(gname).expect("checked");
        if !consumer_ready {
            consumer_ready = true;
            if g.create_consumer(cname, now) {
                dirty += 1;
                consumer_created = true;
            }
            if let Some(c) = g.consumers.get_mut(cname) {
                c.seen_time = now;
            }
        }
        let cnt = if justid { nack.delivery_count } else { nack.delivery_count + 1 };
        g.assign(id, cname, now, Some(cnt));
        changes.push((id, now, cnt, cname.to_vec()));
        claimed.push(id);
        dirty += 1;
        count -= 1;
    }
    // The cursor for the next call: the next PEL entry, or 0-0 at the end.
    let end = cursor
        .and_then(|c| s.groups.get(gname).and_then(|g| g.pel.range(c..).next().map(|(id, _)| *id)))
        .unwrap_or(StreamId::MIN);
    let glast = s.groups.get(gname).map_or(StreamId::MIN, |g| g.last_id);
    out.array(3);
    write_id(out, end);
    out.array(claimed.len());
    for &id in &claimed {
        if justid {
            write_id(out, id);
        } else if let Some(e) = s.get(id) {
            write_entry(out, e);
        }
    }
    out.array(deleted.len());
    for &id in &deleted {
        write_id(out, id);
    }
    for (id, t, n, owner) in changes {
        propagate_xclaim(cx, key, gname, &owner, id, t, n, glast);
    }
    cx.s.persist.dirty += dirty;
    if consumer_created {
        cx.notify(NOTIFY_STREAM, "xgroup-createconsumer", key);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::commands::testutil::{arr, bulk, bulks, int, new, ok, run, run_raw};

    /// XACK and XAUTOCLAIM look their key up as reads, first, as Redis: keyspace_hits/misses count it, and
    /// XAUTOCLAIM's argument errors come before a wrong type.
    #[test]
    fn ack_and_autoclaim_lookups() {
        let mut t = new();
        let stats = |t: &crate::commands::testutil::T| (t.s.dbs[0].hits, t.s.dbs[0].misses);
        assert_eq!(run(&mut t, &["xack", "nosuch", "g", "1-1"]), int(0));
        assert_eq!(stats(&t), (0, 1));
        run(&mut t, &["set", "str", "v"]);
        assert!(run_raw(&mut t, &["xack", "str", "g", "1-1"]).starts_with("-WRONGTYPE"));
        assert_eq!(stats(&t), (1, 1));
        assert_eq!(run_raw(&mut t, &["xautoclaim", "str", "g", "c", "0", "0", "count"]), "-ERR syntax error\r\n");
        assert_eq!(stats(&t), (2, 1));
        assert!(run_raw(&mut t, &["xautoclaim", "str", "g", "c", "0", "0"]).starts_with("-WRONGTYPE"));
        assert!(run_raw(&mut t, &["xautoclaim", "nosuch", "g", "c", "0", "0"]).starts_with("-NOGROUP"));
        assert_eq!(stats(&t), (3, 2));
    }

    #[test]
    fn groups_pending_ack_and_claim() {
        let mut t = new();
        for i in 1..=3 {
            run(&mut t, &["xadd", "s", &format!("{i}-0"), "f", "v"]);
        }
        assert_eq!(run(&mut t, &["xgroup", "create", "s", "g", "0"]), ok());
        assert!(run_raw(&mut t, &["xgroup", "create", "s", "g", "0"]).starts_with("-BUSYGROUP"));
        let r = run_raw(&mut t, &["xreadgroup", "group", "g", "alice", "count", "2", "streams", "s", ">"]);
        assert!(r.contains("1-0") && r.contains("2-0") && !r.contains("3-0"));
        let p = run(&mut t, &["xpending", "s", "g"]);
        assert_eq!(p, arr(vec![int(2), bulk("1-0"), bulk("2-0"), arr(vec![bulks(&["alice", "2"])])]));
        assert_eq!(run(&mut t, &["xack", "s", "g", "1-0", "1-0"]), int(1));
        assert_eq!(run(&mut t, &["xclaim", "s", "g", "bob", "0", "2-0", "justid"]), bulks(&["2-0"]));
        let r = run_raw(&mut t, &["xpending", "s", "g", "-", "+", "10", "bob"]);
        assert!(r.starts_with("*1\r\n*4\r\n$3\r\n2-0\r\n$3\r\nbob\r\n"));
        assert_eq!(
            run(&mut t, &["xautoclaim", "s", "g", "carol", "0", "0", "justid"]),
            arr(vec![bulk("0-0"), bulks(&["2-0"]), arr(vec![])])
        );
        assert_eq!(run(&mut t, &["xgroup", "delconsumer", "s", "g", "carol"]), int(1));
        assert!(run_raw(&mut t, &["xreadgroup", "group", "nog", "c", "streams", "s", ">"])
            .starts_with("-NOGROUP No such key 's'"));
        assert!(run_raw(&mut t, &["xinfo", "groups", "s"]).contains("entries-read"));
        assert_eq!(run(&mut t, &["xgroup", "destroy", "s", "g"]), int(1));
    }
}
