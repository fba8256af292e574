//! Stream commands: XADD/XTRIM, XRANGE/XREVRANGE/XLEN, XREAD/XREADGROUP, XDEL/XSETID and XINFO (commands
//! layer, applied by the Keyspace actor). The consumer-group commands are in stream_group.rs; their rows stay
//! in this file's table so that the family reads as one alphabetical table, as Redis declares it.
//!
//! Replies, error texts and their order follow Redis 7.0's t_stream.c, because clients and the Redis test
//! suite match on them. The data structure lives in `types::stream`; this file parses arguments, writes
//! replies and decides what replicas see: XADD/XTRIM with `~` propagate the exact result (`=` and the
//! resulting length or first id), XADD's generated id replaces `*`, and consumer-group reads and claims
//! propagate as XCLAIM ... FORCE JUSTID / XGROUP SETID / XGROUP CREATECONSUMER, as Redis does.
//!
//! Blocking XREAD/XREADGROUP park the client with `Ctx::block`; a write to one of the keys runs the command
//! again. XREAD's `$` ids are resolved once and kept in the client's `Blocked` record, so the re-run sees new
//! entries as new; a re-run XREADGROUP whose key or group vanished answers Redis's UNBLOCKED/NOGROUP errors.

use super::connection::help;
use super::spec::*;
use super::stream_group::{nogroup_for_key, serve_group, xack, xautoclaim, xclaim, xpending, XGROUP_SUBS};
use super::Ctx;
use crate::config::NOTIFY_STREAM;
use crate::error::CmdError;
use crate::resp::encode::Out;
use crate::types::clock;
use crate::types::db::Db;
use crate::types::num::parse_i64;
use crate::types::stream::{
    AppendError, Entry, Group, IdSpec, NodeLimits, Stream, StreamId, Trim, INVALID_ENTRIES_READ,
};
use crate::types::value::Value;

const INVALID_ID: CmdError = CmdError::new("ERR Invalid stream ID specified as stream command argument");

/// The stream commands, as Redis 7.0's command table declares them.
#[rustfmt::skip]
pub const SPECS: &[CommandSpec] = &family("stream", [
    cmd("xack", -4, WRITE | FAST, xack).keys(1, 1, 1).acl(STREAM).doc("5.0.0", "O(1) for each message ID processed.", "Marks a pending message as correctly processed, effectively removing it from the pending entries list of the consumer group. Return value of the command is the number of messages successfully acknowledged, that is, the IDs we were actually able to resolve in the PEL."),
    cmd("xadd", -5, WRITE | DENYOOM | FAST, xadd).keys(1, 1, 1).acl(STREAM).doc("5.0.0", "O(1) when adding a new entry, O(N) when trimming where N being the number of entries evicted.", "Appends a new entry to a stream"),
    cmd("xautoclaim", -6, WRITE | FAST, xautoclaim).keys(1, 1, 1).acl(STREAM).doc("6.2.0", "O(1) if COUNT is small.", "Changes (or acquires) ownership of messages in a consumer group, as if the messages were delivered to the specified consumer."),
    cmd("xclaim", -6, WRITE | FAST, xclaim).keys(1, 1, 1).acl(STREAM).doc("5.0.0", "O(log N) with N being the number of messages in the PEL of the consumer group.", "Changes (or acquires) ownership of a message in a consumer group, as if the message was delivered to the specified consumer."),
    cmd("xdel", -3, WRITE | FAST, xdel).keys(1, 1, 1).acl(STREAM).doc("5.0.0", "O(1) for each single item to delete in the stream, regardless of the stream size.", "Removes the specified entries from the stream. Returns the number of items actually deleted, that may be different from the number of IDs passed in case certain IDs do not exist."),
    cmd("xgroup", -2, 0, container).subs(XGROUP_SUBS).doc("5.0.0", "Depends on subcommand.", "A container for consumer groups commands"),
    cmd("xinfo", -2, 0, container).subs(XINFO_SUBS).doc("5.0.0", "Depends on subcommand.", "A container for stream introspection commands"),
    cmd("xlen", 2, READONLY | FAST, xlen).keys(1, 1, 1).acl(STREAM).doc("5.0.0", "O(1)", "Return the number of entries in a stream"),
    cmd("xpending", -3, READONLY, xpending).keys(1, 1, 1).acl(STREAM).doc("5.0.0", "O(N) with N being the number of elements returned, so asking for a small fixed number of entries per call is O(1). O(M), where M is the total number of entries scanned when used with the IDLE filter. When the command returns just the summary and the list of consumers is small, it runs in O(1) time; otherwise, an additional O(N) time for iterating every consumer.", "Return information and entries from a stream consumer group pending entries list, that are messages fetched but never acknowledged."),
    cmd("xrange", -4, READONLY, xrange).keys(1, 1, 1).acl(STREAM).doc("5.0.0", "O(N) with N being the number of elements being returned. If N is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1).", "Return a range of elements in a stream, with IDs matching the specified IDs interval"),
    cmd("xread", -4, READONLY | BLOCKING | MOVABLE_KEYS, xread).acl(STREAM).getkeys(xread_keys).doc("5.0.0", "For each stream mentioned: O(N) with N being the number of elements being returned, it means that XREAD-ing with a fixed COUNT is O(1). Note that when the BLOCK option is used, XADD will pay O(M) time in order to serve the M clients blocked on the stream getting new data.", "Return never seen elements in multiple streams, with IDs greater than the ones reported by the caller for each stream. Can block."),
    cmd("xreadgroup", -7, WRITE | BLOCKING | MOVABLE_KEYS, xreadgroup).acl(STREAM).getkeys(xread_keys).doc("5.0.0", "For each stream mentioned: O(M) with M being the number of elements returned. If M is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1). On the other side when XREADGROUP blocks, XADD will pay the O(N) time in order to serve the N clients blocked on the stream getting new data.", "Return new entries from a stream using a consumer group, or access the history of the pending entries for a given consumer. Can block."),
    cmd("xrevrange", -4, READONLY, xrevrange).keys(1, 1, 1).acl(STREAM).doc("5.0.0", "O(N) with N being the number of elements returned. If N is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1).", "Return a range of elements in a stream, with IDs matching the specified IDs interval, in reverse order (from greater to smaller IDs) compared to XRANGE"),
    cmd("xsetid", -3, WRITE | DENYOOM | FAST, xsetid).keys(1, 1, 1).acl(STREAM).doc("5.0.0", "O(1)", "An internal command for replicating stream values"),
    cmd("xtrim", -4, WRITE, xtrim).keys(1, 1, 1).acl(STREAM).doc("5.0.0", "O(N), with N being the number of evicted entries. Constant times are very small however, since entries are organized in macro nodes containing multiple entries that can be released with a single deallocation.", "Trims the stream to (approximately if '~' is passed) a certain size"),
]);

#[rustfmt::skip]
const XINFO_SUBS: &[CommandSpec] = &family("stream", [
    cmd("xinfo|consumers", 4, READONLY, xinfo_consumers).keys(2, 2, 1).acl(STREAM).doc("5.0.0", "O(1)", "List the consumers in a consumer group"),
    cmd("xinfo|groups", 3, READONLY, xinfo_groups).keys(2, 2, 1).acl(STREAM).doc("5.0.0", "O(1)", "List the consumer groups of a stream"),
    cmd("xinfo|help", 2, LOADING | STALE, xinfo_help).acl(STREAM).doc("5.0.0", "O(1)", "Show helpful text about the different subcommands"),
    cmd("xinfo|stream", -3, READONLY, xinfo_stream).keys(2, 2, 1).acl(STREAM).doc("5.0.0", "O(1)", "Get information about a stream"),
]);

/// XREAD/XREADGROUP keys (Redis's xreadGetKeys): skip the options to the STREAMS keyword (a group,
/// consumer or key may itself be named "streams"), then the first half of what follows.
fn xread_keys(argv: &[&[u8]]) -> Vec<usize> {
    let mut streams_pos = None;
    let mut i = 1;
    while i < argv.len() {
        let a = argv[i];
        if a.eq_ignore_ascii_case(b"block") || a.eq_ignore_ascii_case(b"count") {
            i += 1;
        } else if a.eq_ignore_ascii_case(b"group") {
            i += 2;
        } else if a.eq_ignore_ascii_case(b"noack") {
        } else if a.eq_ignore_ascii_case(b"streams") {
            streams_pos = Some(i);
            break;
        } else {
            break;
        }
        i += 1;
    }
    let Some(pos) = streams_pos else { return Vec::new() };
    let num = argv.len() - pos - 1;
    if num == 0 || !num.is_multiple_of(2) {
        return Vec::new();
    }
    (pos + 1..pos + 1 + num / 2).collect()
}

// ---------------------------------------------------------------------------------------------------------
// Helpers

pub(super) fn parse_id(arg: &[u8], missing_seq: u64) -> Result<StreamId, CmdError> {
    StreamId::parse(arg, missing_seq, false, false).map(|(id, _)| id).ok_or(INVALID_ID)
}

pub(super) fn parse_strict_id(arg: &[u8], missing_seq: u64) -> Result<StreamId, CmdError> {
    StreamId::parse(arg, missing_seq, true, false).map(|(id, _)| id).ok_or(INVALID_ID)
}

/// A range bound (streamParseIntervalIDOrReply): `(id` is exclusive and strict.
fn parse_interval(arg: &[u8], missing_seq: u64) -> Result<(StreamId, bool), CmdError> {
    if arg.len() > 1 && arg[0] == b'(' {
        Ok((parse_strict_id(&arg[1..], missing_seq)?, true))
    } else {
        Ok((parse_id(arg, missing_seq)?, false))
    }
}

pub(super) fn range_start(arg: &[u8]) -> Result<StreamId, CmdError> {
    let (id, ex) = parse_interval(arg, 0)?;
    if ex {
        return id.incr().ok_or(CmdError::new("ERR invalid start ID for the interval"));
    }
    Ok(id)
}

pub(super) fn range_end(arg: &[u8]) -> Result<StreamId, CmdError> {
    let (id, ex) = parse_interval(arg, u64::MAX)?;
    if ex {
        return id.decr().ok_or(CmdError::new("ERR invalid end ID for the interval"));
    }
    Ok(id)
}

/// An id as a bulk string, formatted on the stack (replies write one per entry).
pub(super) fn write_id(out: &mut Out, id: StreamId) {
    let (mut a, mut b) = (itoa::Buffer::new(), itoa::Buffer::new());
    let (ms, seq) = (a.format(id.ms).as_bytes(), b.format(id.seq).as_bytes());
    let mut buf = [0u8; 41];
    let n = ms.len() + 1 + seq.len();
    buf[..ms.len()].copy_from_slice(ms);
    buf[ms.len()] = b'-';
    buf[ms.len() + 1..n].copy_from_slice(seq);
    out.bulk(&buf[..n]);
}

pub(super) fn write_entry(out: &mut Out, e: Entry<'_>) {
    out.array(2);
    write_id(out, e.id);
    out.array(e.num_fields() * 2);
    for x in e.elements() {
        out.bulk(x);
    }
}

fn limits(cx: &Ctx<'_>) -> NodeLimits {
    NodeLimits { max_bytes: cx.s.config.stream_node_max_bytes, max_entries: cx.s.config.stream_node_max_entries }
}

/// Replies built into a side buffer, for arrays whose length is known only at the end (Redis's deferred
/// lengths).
fn side(cx: &Ctx<'_>) -> Out {
    Out::with_buf(Vec::new(), cx.out.resp)
}

fn append_side(cx: &mut Ctx<'_>, body: Out) {
    cx.out.raw(&body.buf);
}

/// The argument vector as owned bytes, for rewriting before propagation.
fn owned_args(cx: &Ctx<'_>) -> Vec<Vec<u8>> {
    cx.argv.iter().map(|a| a.to_vec()).collect()
}

fn propagate_owned(cx: &mut Ctx<'_>, args: &[Vec<u8>]) {
    let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
    cx.propagate_as(&refs);
}

// ---------------------------------------------------------------------------------------------------------
// XADD / XTRIM

/// Options shared by XADD and XTRIM (streamAddTrimArgs).
struct AddTrimArgs {
    trim: Option<Trim>,
    approx: bool,
    /// Argument index of the MAXLEN/MINID value (the `~`/`=` is just before it when given).
    trim_arg: usize,
    /// Whether `~` or `=` was written (so there is an argument to rewrite).
    trim_op_given: bool,
    limit: u64,
    nomkstream: bool,
    /// XADD: index of the id argument.
    id_pos: usize,
    id: IdSpec,
}

/// streamParseAddOrTrimArgsOrReply.
fn parse_add_trim(cx: &Ctx<'_>, xadd: bool) -> Result<AddTrimArgs, CmdError> {
    let argc = cx.argc();
    let mut a = AddTrimArgs {
        trim: None,
        approx: false,
        trim_arg: 0,
        trim_op_given: false,
        limit: 0,
        nomkstream: false,
        id_pos: argc,
        id: IdSpec::Auto,
    };
    let mut limit_given = false;
    let mut i = 2;
    while i < argc {
        let more = argc - 1 - i;
        let opt = cx.arg(i);
        if xadd && opt == b"*" {
            a.id_pos = i;
            break;
        } else if (opt.eq_ignore_ascii_case(b"maxlen") || opt.eq_ignore_ascii_case(b"minid")) && more > 0 {
            let maxlen = opt.eq_ignore_ascii_case(b"maxlen");
            if a.trim.is_some() {
                return Err(CmdError::new(
                    "ERR syntax error, MAXLEN and MINID options at the same time are not compatible",
                ));
            }
            a.approx = false;
            a.trim_op_given = false;
            let next = cx.arg(i + 1);
            if more >= 2 && next == b"~" {
                a.approx = true;
                a.trim_op_given = true;
                i += 1;
            } else if more >= 2 && next == b"=" {
                a.trim_op_given = true;
                i += 1;
            }
            if maxlen {
                let n = cx.int_arg(i + 1)?;
                if n < 0 {
                    return Err(CmdError::new("ERR The MAXLEN argument must be >= 0."));
                }
                a.trim = Some(Trim::MaxLen(n as u64));
            } else {
                a.trim = Some(Trim::MinId(parse_strict_id(cx.arg(i + 1), 0)?));
            }
            i += 1;
            a.trim_arg = i;
        } else if opt.eq_ignore_ascii_case(b"limit") && more > 0 {
            let n = cx.int_arg(i + 1)?;
            if n < 0 {
                return Err(CmdError::new("ERR The LIMIT argument must be >= 0."));
            }
            a.limit = n as u64;
            limit_given = true;
            i += 1;
        } else if xadd && opt.eq_ignore_ascii_case(b"nomkstream") {
            a.nomkstream = true;
        } else if xadd {
            let (id, seq_given) = StreamId::parse(opt, 0, true, true).ok_or(INVALID_ID)?;
            a.id = if seq_given { IdSpec::Explicit(id) } else { IdSpec::AutoSeq(id.ms) };
            a.id_pos = i;
            break;
        } else {
            return Err(CmdError::SYNTAX);
        }
        i += 1;
    }
    if limit_given && a.trim.is_none() {
        return Err(CmdError::new("ERR syntax error, LIMIT cannot be used without specifying a trimming strategy"));
    }
    if !xadd && a.trim.is_none() {
        return Err(CmdError::new("ERR syntax error, XTRIM must be called with a trimming strategy"));
    }
    if cx.s.persist.aof.loading {
        // Commands read from the AOF must be obeyed: their trim argument was rewritten to the exact result,
        // so no LIMIT applies (Redis's mustObeyClient).
        a.limit = 0;
    } else if limit_given {
        if !a.approx {
            return Err(CmdError::new("ERR syntax error, LIMIT cannot be used without the special ~ option"));
        }
    } else if a.approx {
        // Bound the work of an approximate trim: at most 100 nodes' worth of entries.
        let n = 100u64.saturating_mul(cx.s.config.stream_node_max_entries);
        a.limit = if n == 0 { 10000 } else { n.min(1_000_000) };
    } else {
        a.limit = 0;
    }
    Ok(a)
}

/// After an approximate trim, make the propagated command exact: `~` becomes `=` and the value becomes
/// the resulting length (MAXLEN) or first id (MINID).
fn rewrite_trim(args: &mut [Vec<u8>], a: &AddTrimArgs, s: &Stream) {
    if !a.approx {
        return;
    }
    if a.trim_op_given {
        args[a.trim_arg - 1] = b"=".to_vec();
    }
    args[a.trim_arg] = match a.trim {
        Some(Trim::MaxLen(_)) => s.len().to_string().into_bytes(),
        // streamGetEdgeID(first, tombstones included): the first node's key.
        _ => s.first_record_id().unwrap_or(StreamId::MAX).to_bytes(),
    };
}

/// XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]] *|id field value [field value ...]
fn xadd(cx: &mut Ctx<'_>) -> CmdResult {
    let a = parse_add_trim(cx, true)?;
    let field_pos = a.id_pos + 1;
    let nfields = cx.argc().saturating_sub(field_pos);
    if nfields < 2 || nfields % 2 == 1 {
        return Err(CmdError::arity("xadd"));
    }
    if a.id == IdSpec::Explicit(StreamId::MIN) {
        return Err(CmdError::new("ERR The ID specified in XADD must be greater than 0-0"));
    }
    let key = cx.arg(1);
    let lim = limits(cx);
    let pairs: Vec<&[u8]> = (field_pos..cx.argc()).map(|i| cx.arg(i)).collect();
    let db = cx.db();
    let exists = db.write::<Stream>(key)?.is_some();
    if !exists && a.nomkstream {
        cx.out.nil();
        return Ok(());
    }
    // A new stream is built aside and stored only once the entry is in (a failed XADD creates no key).
    let mut fresh = Stream::new();
    let s: &mut Stream = match cx.db().write::<Stream>(key)? {
        Some(s) => s,
        None => &mut fresh,
    };
    if s.last_id == StreamId::MAX {
        return Err(CmdError::new("ERR The stream has exhausted the last possible ID, unable to add more items"));
    }
    let id = match s.append(a.id, &pairs, clock::now_ms().max(0) as u64, lim) {
        Ok(id) => id,
        Err(AppendError::NotGreater) => {
            return Err(CmdError::new(
                "ERR The ID specified in XADD is equal or smaller than the target stream top item",
            ))
        }
        Err(AppendError::TooLarge | AppendError::SeqExhausted) => {
            return Err(CmdError::new("ERR Elements are too large to be stored"))
        }
    };
    let trimmed = match a.trim {
        Some(t) => s.trim(t, a.approx, a.limit) > 0,
        None => false,
    };
    let mut args = if cx.s.prop.feed.enabled { owned_args(cx) } else { Vec::new() };
    if !args.is_empty() {
        let s: &Stream = match read_stream_nostat(cx.db(), key) {
            Some(s) => s,
            None => &fresh,
        };
        rewrite_trim(&mut args, &a, s);
        if !matches!(a.id, IdSpec::Explicit(_)) {
            args[a.id_pos] = id.to_bytes();
        }
    }
    if !exists {
        cx.db().set(key, Value::Stream(Box::new(fresh)), false);
    }
    write_id(cx.out, id);
    cx.modified(key);
    cx.notify(NOTIFY_STREAM, "xadd", key);
    if trimmed {
        cx.notify(NOTIFY_STREAM, "xtrim", key);
    }
    if !args.is_empty() {
        propagate_owned(cx, &args);
    }
    Ok(())
}

/// The stream at `key` without counting a keyspace hit (already looked up by this command).
fn read_stream_nostat<'d>(db: &'d mut Db, key: &[u8]) -> Option<&'d Stream> {
    match db.peek(key).map(|e| &e.value) {
        Some(Value::Stream(s)) => Some(s),
        _ => None,
    }
}

/// XTRIM key MAXLEN|MINID [=|~] threshold [LIMIT count]
fn xtrim(cx: &mut Ctx<'_>) -> CmdResult {
    let a = parse_add_trim(cx, false)?;
    let key = cx.arg(1);
    let Some(s) = cx.db().write::<Stream>(key)? else {
        cx.out.int(0);
        return Ok(());
    };
    let Some(t) = a.trim else { return Err(CmdError::SYNTAX) };
    let deleted = s.trim(t, a.approx, a.limit);
    if deleted > 0 {
        let mut args = if cx.s.prop.feed.enabled { owned_args(cx) } else { Vec::new() };
        if !args.is_empty() {
            if let Some(s) = read_stream_nostat(cx.db(), key) {
                rewrite_trim(&mut args, &a, s);
            }
        }
        cx.modified(key);
        cx.s.persist.dirty += deleted - 1;
        cx.notify(NOTIFY_STREAM, "xtrim", key);
        if !args.is_empty() {
            propagate_owned(cx, &args);
        }
    }
    cx.out.int(deleted as i64);
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// Reads

/// XRANGE key start end [COUNT count]
fn xrange(cx: &mut Ctx<'_>) -> CmdResult {
    range_generic(cx, false)
}

/// XREVRANGE key end start [COUNT count]
fn xrevrange(cx: &mut Ctx<'_>) -> CmdResult {
    range_generic(cx, true)
}

fn range_generic(cx: &mut Ctx<'_>, rev: bool) -> CmdResult {
    let (sa, ea) = if rev { (cx.arg(3), cx.arg(2)) } else { (cx.arg(2), cx.arg(3)) };
    let start = range_start(sa)?;
    let end = range_end(ea)?;
    let mut count: i64 = -1;
    let mut j = 4;
    while j < cx.argc() {
        if cx.argv.is(j, "count") && j + 1 < cx.argc() {
            count = cx.int_arg(j + 1)?.max(0);
            j += 2;
        } else {
            return Err(CmdError::SYNTAX);
        }
    }
    let key = cx.arg(1);
    let (db, out) = cx.db_out();
    let Some(s) = db.read::<Stream>(key)? else {
        out.array(0);
        return Ok(());
    };
    if count == 0 {
        out.nil_array();
        return Ok(());
    }
    let take = if count < 0 { usize::MAX } else { count as usize };
    let items: Vec<Entry> =
        if rev { s.range_rev(start, end).take(take).collect() } else { s.range(start, end).take(take).collect() };
    out.array(items.len());
    for e in items {
        write_entry(out, e);
    }
    Ok(())
}

/// XLEN key
fn xlen(cx: &mut Ctx<'_>) -> CmdResult {
    let key = cx.arg(1);
    let (db, out) = cx.db_out();
    let n = db.read::<Stream>(key)?.map_or(0, |s| s.len());
    out.int(n as i64);
    Ok(())
}

/// XREAD [COUNT count] [BLOCK milliseconds] STREAMS key [key ...] id [id ...]
fn xread(cx: &mut Ctx<'_>) -> CmdResult {
    read_generic(cx, false)
}

/// XREADGROUP GROUP group consumer [COUNT count] [BLOCK milliseconds] [NOACK] STREAMS key [key ...] id [id ...]
fn xreadgroup(cx: &mut Ctx<'_>) -> CmdResult {
    read_generic(cx, true)
}

/// What one XREAD(GROUP) stream argument asks for.
#[derive(Clone, Copy)]
pub(super) enum ReadFrom {
    /// Entries after this id.
    After(StreamId),
    /// XREADGROUP `>`: entries never delivered to the group.
    New,
}

fn read_generic(cx: &mut Ctx<'_>, group_mode: bool) -> CmdResult {
    let argc = cx.argc();
    let mut timeout: Option<i64> = None;
    let mut count: i64 = 0;
    let mut streams_arg = 0;
    let mut group: Option<(&[u8], &[u8])> = None;
    let mut noack = false;
    let mut i = 1;
    while i < argc {
        let more = argc - i - 1;
        if cx.argv.is(i, "block") && more > 0 {
            // As Redis: a script cannot block, and says so rather than reading without blocking.
            if cx.s.exec.in_script {
                let name = crate::error::bytes_to_text(cx.arg(0));
                return Err(CmdError::msg(format!("ERR {name} command is not allowed with BLOCK option from scripts")));
            }
            i += 1;
            let ms = parse_i64(cx.arg(i)).ok_or(CmdError::new("ERR timeout is not an integer or out of range"))?;
            if ms < 0 {
                return Err(CmdError::new("ERR timeout is negative"));
            }
            timeout = Some(ms);
        } else if cx.argv.is(i, "count") && more > 0 {
            i += 1;
            count = cx.int_arg(i)?.max(0);
        } else if cx.argv.is(i, "streams") && more > 0 {
            streams_arg = i + 1;
            if !(argc - streams_arg).is_multiple_of(2) {
                // Redis 7.0 words it so for XREADGROUP too.
                return Err(CmdError::new(
                    "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.",
                ));
            }
            break;
        } else if cx.argv.is(i, "group") && more >= 2 {
            if !group_mode {
                return Err(CmdError::new(
                    "ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.",
                ));
            }
            group = Some((cx.arg(i + 1), cx.arg(i + 2)));
            i += 2;
        } else if cx.argv.is(i, "noack") {
            if !group_mode {
                return Err(CmdError::new(
                    "ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.",
                ));
            }
            noack = true;
        } else {
            return Err(CmdError::SYNTAX);
        }
        i += 1;
    }
    if streams_arg == 0 {
        return Err(CmdError::SYNTAX);
    }
    if group_mode && group.is_none() {
        return Err(CmdError::new("ERR Missing GROUP option for XREADGROUP"));
    }
    let nstreams = (argc - streams_arg) / 2;
    let me = cx.me;
    let woken = cx.s.clients.get(me).is_some_and(|c| c.blocked.is_some());
    let saved: Vec<StreamId> =
        cx.s.clients.get(me).and_then(|c| c.blocked.as_ref()).map(|b| b.stream_ids.clone()).unwrap_or_default();
    // XREAD/XREADGROUP propagate only what their group side effects produce.
    cx.no_propagate();

    // Resolve ids (and check groups) for every stream before serving any.
    let mut from: Vec<ReadFrom> = Vec::with_capacity(nstreams);
    let mut resolved: Vec<StreamId> = Vec::with_capacity(nstreams);
    for k in 0..nstreams {
        let key = cx.arg(streams_arg + k);
        let idarg = cx.arg(streams_arg + nstreams + k);
        let db = cx.db();
        let s = match db.read::<Stream>(key) {
            Ok(s) => s,
            // A woken XREADGROUP whose key changed type: Redis's UNBLOCKED error; XREAD keeps waiting.
            Err(_) if woken && group_mode => {
                return Err(CmdError::new("UNBLOCKED the stream key no longer exists"));
            }
            Err(_) if woken => None,
            Err(e) => return Err(e),
        };
        if let Some((g, _)) = group {
            match s {
                None if woken => return Err(CmdError::new("UNBLOCKED the stream key no longer exists")),
                Some(st) if !st.groups.contains_key(g) && woken => {
                    return Err(CmdError::new("NOGROUP the consumer group this client was blocked on no longer exists"))
                }
                Some(st) if st.groups.contains_key(g) => {}
                _ => {
                    return Err(CmdError::msg(format!(
                        "NOGROUP No such key '{}' or consumer group '{}' in XREADGROUP with GROUP option",
                        crate::error::sanitize(key, 128),
                        crate::error::sanitize(g, 128)
                    )))
                }
            }
        }
        let f = if idarg == b"$" {
            if group_mode {
                return Err(CmdError::new(
                    "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of \
                     this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would \
                     just return an empty result set.",
                ));
            }
            // On a re-run after blocking, `$` keeps the value it had when the client blocked.
            let id = match saved.get(k) {
                Some(&id) if woken && saved.len() == nstreams => id,
                _ => s.map_or(StreamId::MIN, |s| s.last_id),
            };
            ReadFrom::After(id)
        } else if idarg == b">" {
            if !group_mode {
                return Err(CmdError::new(
                    "ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> \
                     <consumer> option.",
                ));
            }
            ReadFrom::New
        } else {
            ReadFrom::After(parse_strict_id(idarg, 0)?)
        };
        resolved.push(match f {
            ReadFrom::After(id) => id,
            ReadFrom::New => StreamId::MAX,
        });
        from.push(f);
    }

    // A blocked client served later gets at most 1000 entries per stream unless COUNT says otherwise.
    let count = if woken && count == 0 { 1000 } else { count as usize };
    let now = clock::now_ms();
    let mut body = side(cx);
    let mut served = 0usize;
    for (k, &f) in from.iter().enumerate() {
        let key = cx.arg(streams_arg + k);
        match group {
            None => {
                let db = cx.db();
                let Ok(Some(s)) = db.read::<Stream>(key) else { continue };
                let ReadFrom::After(after) = f else { continue };
                if s.is_empty() || s.last_valid_id() <= after {
                    continue;
                }
                let Some(start) = after.incr() else { continue };
                served += 1;
                if body.resp == 2 {
                    body.array(2);
                }
                body.bulk(key);
                let items: Vec<Entry> = s.range(start, StreamId::MAX).take(count_or_all(count)).collect();
                body.array(items.len());
                for e in items {
                    write_entry(&mut body, e);
                }
            }
            Some((g, consumer)) => {
                if serve_group(cx, &mut body, key, g, consumer, f, count, noack, now)? {
                    served += 1;
                }
            }
        }
    }
    if served > 0 {
        if cx.out.resp >= 3 {
            cx.out.map(served);
        } else {
            cx.out.array(served);
        }
        append_side(cx, body);
        return Ok(());
    }
    match timeout {
        Some(ms) if cx.can_block() => {
            let deadline = if ms == 0 { 0 } else { clock::now_ms().saturating_add(ms) };
            let mut keys: Vec<&[u8]> = Vec::with_capacity(nstreams);
            for k in 0..nstreams {
                let key = cx.arg(streams_arg + k);
                if !keys.contains(&key) {
                    keys.push(key);
                }
            }
            cx.block(&keys, deadline);
            if let Some(b) = cx.s.clients.get_mut(me).and_then(|c| c.blocked.as_mut()) {
                if b.stream_ids.is_empty() {
                    b.stream_ids = resolved;
                }
            }
        }
        _ => cx.out.nil_array(),
    }
    Ok(())
}

pub(super) fn count_or_all(count: usize) -> usize {
    if count == 0 {
        usize::MAX
    } else {
        count
    }
}

// ---------------------------------------------------------------------------------------------------------
// Deletion and ids

/// The ids from argument `from` on (XDEL, XACK): all are checked before anything changes, as in Redis.
pub(super) fn parse_id_list(cx: &Ctx<'_>, from: usize) -> Result<Vec<StreamId>, CmdError> {
    (from..cx.argc()).map(|j| parse_strict_id(cx.arg(j), 0)).collect()
}

/// XDEL key id [id ...]
fn xdel(cx: &mut Ctx<'_>) -> CmdResult {
    let key = cx.arg(1);
    if cx.db().write::<Stream>(key)?.is_none() {
        cx.out.int(0);
        return Ok(());
    }
    let ids = parse_id_list(cx, 2)?;
    let s = cx.db().write::<Stream>(key)?.expect("checked");
    let deleted = s.delete_ids(&ids);
    if deleted > 0 {
        cx.modified(key);
        cx.s.persist.dirty += deleted - 1;
        cx.notify(NOTIFY_STREAM, "xdel", key);
    }
    cx.out.int(deleted as i64);
    Ok(())
}

/// XSETID key last-id [ENTRIESADDED entries-added] [MAXDELETEDID max-deleted-id]
fn xsetid(cx: &mut Ctx<'_>) -> CmdResult {
    let id = parse_strict_id(cx.arg(2), 0)?;
    let mut entries_added: i64 = -1;
    let mut max_xdel = StreamId::MIN;
    let mut i = 3;
    while i < cx.argc() {
        let more = cx.argc() - 1 - i;
        if cx.argv.is(i, "entriesadded") && more > 0 {
            entries_added = cx.int_arg(i + 1)?;
            if entries_added < 0 {
                return Err(CmdError::new("ERR entries_added must be positive"));
            }
            i += 2;
        } else if cx.argv.is(i, "maxdeletedid") && more > 0 {
            max_xdel = parse_strict_id(cx.arg(i + 1), 0)?;
            if id < max_xdel {
                return Err(CmdError::new(
                    "ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id",
                ));
            }
            i += 2;
        } else {
            return Err(CmdError::SYNTAX);
        }
    }
    let key = cx.arg(1);
    let Some(s) = cx.db().write::<Stream>(key)? else { return Err(CmdError::NO_KEY) };
    if !s.is_empty() {
        if id < s.last_valid_id() {
            return Err(CmdError::new("ERR The ID specified in XSETID is smaller than the target stream top item"));
        }
        if entries_added != -1 && s.len() > entries_added as u64 {
            return Err(CmdError::new(
                "ERR The entries_added specified in XSETID is smaller than the target stream length",
            ));
        }
    }
    s.last_id = id;
    if entries_added != -1 {
        s.entries_added = entries_added as u64;
    }
    if !max_xdel.is_zero() {
        s.max_deleted_id = max_xdel;
    }
    cx.s.persist.dirty += 1;
    cx.out.ok();
    cx.notify(NOTIFY_STREAM, "xsetid", key);
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// XINFO

/// The stream XINFO reports on: `ERR no such key` when missing.
fn info_stream<'d>(db: &'d mut Db, key: &[u8]) -> Result<&'d Stream, CmdError> {
    db.read::<Stream>(key)?.ok_or(CmdError::NO_KEY)
}

fn write_lag(out: &mut Out, s: &Stream, g: &Group) {
    match s.lag(g) {
        Some(l) => out.int(l),
        None => out.nil(),
    }
}

fn write_entries_read(out: &mut Out, g: &Group) {
    if g.entries_read != INVALID_ENTRIES_READ {
        out.int(g.entries_read);
    } else {
        out.nil();
    }
}

/// XINFO STREAM key [FULL [COUNT count]]
fn xinfo_stream(cx: &mut Ctx<'_>) -> CmdResult {
    // [FULL [COUNT n]]: read now, answered after the key lookup, which Redis does first (a missing key or
    // a wrong type is the reply whatever the options).
    let opts = (|| match cx.argc() - 3 {
        0 => Ok((false, 10)),
        1 if cx.argv.is(3, "full") => Ok((true, 10)),
        3 if cx.argv.is(3, "full") && cx.argv.is(4, "count") => Ok((true, cx.int_arg(5)?)),
        _ => Err(cx.subcommand_syntax()),
    })();
    let key = cx.arg(2);
    let (db, out) = cx.db_out();
    let s = info_stream(db, key)?;
    let (full, count) = opts?;
    let count = if count < 0 { 10 } else { count };
    out.map(if full { 9 } else { 10 });
    out.bulk(b"length");
    out.int(s.len() as i64);
    out.bulk(b"radix-tree-keys");
    out.int(s.node_count() as i64);
    out.bulk(b"radix-tree-nodes");
    out.int(s.rax_nodes() as i64);
    out.bulk(b"last-generated-id");
    write_id(out, s.last_id);
    out.bulk(b"max-deleted-entry-id");
    write_id(out, s.max_deleted_id);
    out.bulk(b"entries-added");
    out.int(s.entries_added as i64);
    out.bulk(b"recorded-first-entry-id");
    write_id(out, s.first_id);
    if !full {
        out.bulk(b"groups");
        out.int(s.groups.len() as i64);
        out.bulk(b"first-entry");
        match s.first_entry() {
            Some(e) => write_entry(out, e),
            None => out.nil(),
        }
        out.bulk(b"last-entry");
        match s.last_entry() {
            Some(e) => write_entry(out, e),
            None => out.nil(),
        }
        return Ok(());
    }
    let take = if count == 0 { usize::MAX } else { count as usize };
    out.bulk(b"entries");
    let items: Vec<Entry> = s.iter().take(take).collect();
    out.array(items.len());
    for e in items {
        write_entry(out, e);
    }
    out.bulk(b"groups");
    out.array(s.groups.len());
    for (name, g) in &s.groups {
        out.map(7);
        out.bulk(b"name");
        out.bulk(name);
        out.bulk(b"last-delivered-id");
        write_id(out, g.last_id);
        out.bulk(b"entries-read");
        write_entries_read(out, g);
        out.bulk(b"lag");
        write_lag(out, s, g);
        out.bulk(b"pel-count");
        out.int(g.pel.len() as i64);
        out.bulk(b"pending");
        let pel: Vec<_> = g.pel.iter().take(take).collect();
        out.array(pel.len());
        for (id, n) in pel {
            out.array(4);
            write_id(out, *id);
            out.bulk(&n.consumer);
            out.int(n.delivery_time);
            out.int(n.delivery_count as i64);
        }
        out.bulk(b"consumers");
        out.array(g.consumers.len());
        for (cname, c) in &g.consumers {
            out.map(4);
            out.bulk(b"name");
            out.bulk(cname);
            out.bulk(b"seen-time");
            out.int(c.seen_time);
            out.bulk(b"pel-count");
            out.int(c.pel.len() as i64);
            out.bulk(b"pending");
            let pel: Vec<_> = c.pel.iter().take(take).collect();
            out.array(pel.len());
            for id in pel {
                let n = g.pel.get(id);
                out.array(3);
                write_id(out, *id);
                out.int(n.map_or(0, |n| n.delivery_time));
                out.int(n.map_or(0, |n| n.delivery_count as i64));
            }
        }
    }
    Ok(())
}

/// XINFO GROUPS key
fn xinfo_groups(cx: &mut Ctx<'_>) -> CmdResult {
    let key = cx.arg(2);
    let (db, out) = cx.db_out();
    let s = info_stream(db, key)?;
    out.array(s.groups.len());
    for (name, g) in &s.groups {
        out.map(6);
        out.bulk(b"name");
        out.bulk(name);
        out.bulk(b"consumers");
        out.int(g.consumers.len() as i64);
        out.bulk(b"pending");
        out.int(g.pel.len() as i64);
        out.bulk(b"last-delivered-id");
        write_id(out, g.last_id);
        out.bulk(b"entries-read");
        write_entries_read(out, g);
        out.bulk(b"lag");
        write_lag(out, s, g);
    }
    Ok(())
}

/// XINFO CONSUMERS key group
fn xinfo_consumers(cx: &mut Ctx<'_>) -> CmdResult {
    let (key, gname) = (cx.arg(2), cx.arg(3));
    let now = clock::now_ms();
    let (db, out) = cx.db_out();
    let s = info_stream(db, key)?;
    let Some(g) = s.groups.get(gname) else { return Err(nogroup_for_key(gname, key)) };
    out.array(g.consumers.len());
    for (name, c) in &g.consumers {
        out.map(3);
        out.bulk(b"name");
        out.bulk(name);
        out.bulk(b"pending");
        out.int(c.pel.len() as i64);
        out.bulk(b"idle");
        out.int((now - c.seen_time).max(0));
    }
    Ok(())
}

/// XINFO HELP
fn xinfo_help(cx: &mut Ctx<'_>) -> CmdResult {
    help(
        cx,
        "XINFO",
        &[
            "CONSUMERS <key> <groupname>",
            "    Show consumers of <groupname>.",
            "GROUPS <key>",
            "    Show the stream consumer groups.",
            "STREAM <key> [FULL [COUNT <count>]",
            "    Show information about the stream.",
        ],
    )
}

#[cfg(test)]
mod tests {
    use crate::commands::testutil::{arr, bulk, bulks, err, int, new, run, run_raw, simple, T};

    fn second_client(t: &mut T) -> usize {
        t.s.add_client("127.0.0.1:2".into(), "127.0.0.1:6379".into())
    }

    #[test]
    fn xread_key_positions_skip_options() {
        let argv: Vec<&[u8]> =
            vec![b"xreadgroup", b"GROUP", b"streams", b"c", b"COUNT", b"1", b"STREAMS", b"a", b"b", b">", b">"];
        assert_eq!(super::xread_keys(&argv), vec![7, 8]);
        let argv: Vec<&[u8]> = vec![b"xread", b"STREAMS", b"streams", b"0"];
        assert_eq!(super::xread_keys(&argv), vec![2]);
        let argv: Vec<&[u8]> = vec![b"xread", b"STREAMS", b"a", b"b", b"0"];
        assert!(super::xread_keys(&argv).is_empty());
    }

    #[test]
    fn xadd_ids_and_errors() {
        let mut t = new();
        assert_eq!(run(&mut t, &["xadd", "s", "1-1", "a", "1"]), bulk("1-1"));
        assert_eq!(run(&mut t, &["xadd", "s", "1-*", "b", "2"]), bulk("1-2"));
        assert_eq!(
            run(&mut t, &["xadd", "s", "1-1", "a", "1"]),
            err("ERR The ID specified in XADD is equal or smaller than the target stream top item")
        );
        assert_eq!(
            run(&mut t, &["xadd", "n", "0-0", "a", "1"]),
            err("ERR The ID specified in XADD must be greater than 0-0")
        );
        assert_eq!(run(&mut t, &["exists", "n"]), int(0));
        assert_eq!(run_raw(&mut t, &["xadd", "n", "nomkstream", "*", "a", "1"]), "$-1\r\n");
        assert_eq!(run(&mut t, &["xadd", "s", "*", "a"]), err("ERR wrong number of arguments for 'xadd' command"));
        assert_eq!(
            run(&mut t, &["xadd", "s", "x-y", "a", "1"]),
            err("ERR Invalid stream ID specified as stream command argument")
        );
        assert_eq!(
            run(&mut t, &["xadd", "s", "maxlen", "1", "minid", "1", "*", "a", "1"]),
            err("ERR syntax error, MAXLEN and MINID options at the same time are not compatible")
        );
        assert_eq!(
            run(&mut t, &["xadd", "s", "maxlen", "1", "limit", "5", "*", "a", "1"]),
            err("ERR syntax error, LIMIT cannot be used without the special ~ option")
        );
        run(&mut t, &["set", "str", "x"]);
        assert!(run_raw(&mut t, &["xadd", "str", "*", "a", "1"]).starts_with("-WRONGTYPE"));
        assert_eq!(run(&mut t, &["xlen", "s"]), int(2));
        assert_eq!(run(&mut t, &["type", "s"]), simple("stream"));
        assert_eq!(run(&mut t, &["object", "encoding", "s"]), bulk("stream"));
    }

    #[test]
    fn ranges_and_count() {
        let mut t = new();
        for i in 1..=5 {
            run(&mut t, &["xadd", "s", &format!("{i}-0"), "f", &i.to_string()]);
        }
        let r = run(&mut t, &["xrange", "s", "(2", "4", "count", "1"]);
        assert_eq!(r, arr(vec![arr(vec![bulk("3-0"), bulks(&["f", "3"])])]));
        assert_eq!(run_raw(&mut t, &["xrange", "s", "-", "+", "count", "0"]), "*-1\r\n");
        assert_eq!(run(&mut t, &["xrange", "nokey", "-", "+"]), arr(vec![]));
        let r = run_raw(&mut t, &["xrevrange", "s", "+", "-", "count", "2"]);
        assert!(r.starts_with("*2\r\n*2\r\n$3\r\n5-0"));
        assert_eq!(
            run(&mut t, &["xrange", "s", "(-", "+"]),
            err("ERR Invalid stream ID specified as stream command argument")
        );
        assert_eq!(
            run(&mut t, &["xrange", "s", "(18446744073709551615-18446744073709551615", "+"]),
            err("ERR invalid start ID for the interval")
        );
        assert_eq!(run(&mut t, &["xrange", "s", "-", "(0-0"]), err("ERR invalid end ID for the interval"));
        assert_eq!(run(&mut t, &["xdel", "s", "2-0", "9-0"]), int(1));
        assert_eq!(run(&mut t, &["xtrim", "s", "maxlen", "2"]), int(2));
        assert_eq!(run(&mut t, &["xlen", "s"]), int(2));
    }

    #[test]
    fn xread_blocks_then_serves_new_entries_only() {
        let mut t = new();
        run(&mut t, &["xadd", "s", "1-0", "f", "v"]);
        assert_eq!(run_raw(&mut t, &["xread", "streams", "s", "$"]), "*-1\r\n");
        assert_eq!(run_raw(&mut t, &["xread", "block", "0", "streams", "s", "$"]), "");
        assert!(t.s.clients[t.me].blocked.is_some());
        let me = t.me;
        t.me = second_client(&mut t);
        run(&mut t, &["xadd", "s", "2-0", "g", "w"]);
        t.me = me;
        let r = run_raw(&mut t, &["xread", "block", "0", "streams", "s", "$"]);
        assert!(r.contains("2-0") && !r.contains("1-0"), "{r}");
        assert!(t.s.clients[t.me].blocked.is_none());
    }

    #[test]
    fn woken_xreadgroup_reports_vanished_group() {
        let mut t = new();
        run(&mut t, &["xgroup", "create", "s", "g", "$", "mkstream"]);
        assert_eq!(run_raw(&mut t, &["xreadgroup", "group", "g", "c", "block", "0", "streams", "s", ">"]), "");
        let me = t.me;
        t.me = second_client(&mut t);
        run(&mut t, &["xgroup", "destroy", "s", "g"]);
        t.me = me;
        let r = run(&mut t, &["xreadgroup", "group", "g", "c", "block", "0", "streams", "s", ">"]);
        assert_eq!(r, err("NOGROUP the consumer group this client was blocked on no longer exists"));
    }
}
