//! Stream commands: XADD/XRANGE/XREAD and the consumer-group family (commands layer, applied by the Keyspace
//! actor).
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
use super::Ctx;
use crate::error::CmdError;
use crate::resp::encode::Out;
use crate::spec;
use crate::types::clock;
use crate::types::db::Db;
use crate::types::num::parse_i64;
use crate::types::stream::{
    AppendError, Entry, Group, IdSpec, NodeLimits, Stream, StreamId, Trim, INVALID_ENTRIES_READ,
};
use crate::types::value::Value;

const INVALID_ID: CmdError = CmdError::new("ERR Invalid stream ID specified as stream command argument");

/// The stream commands, as Redis 7.0's command table declares them.
pub const SPECS: &[CommandSpec] = &[
    spec!(
        "xack",
        -4,
        WRITE | FAST,
        (1, 1, 1),
        STREAM,
        "stream",
        "5.0.0",
        "Marks a pending message as correctly processed, effectively removing it from the pending entries list \
         of the consumer group. Return value of the command is the number of messages successfully \
         acknowledged, that is, the IDs we were actually able to resolve in the PEL.",
        "O(1) for each message ID processed.",
        xack
    ),
    spec!(
        "xadd",
        -5,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        STREAM,
        "stream",
        "5.0.0",
        "Appends a new entry to a stream",
        "O(1) when adding a new entry, O(N) when trimming where N being the number of entries evicted.",
        xadd
    ),
    spec!(
        "xautoclaim",
        -6,
        WRITE | FAST,
        (1, 1, 1),
        STREAM,
        "stream",
        "6.2.0",
        "Changes (or acquires) ownership of messages in a consumer group, as if the messages were delivered to \
         the specified consumer.",
        "O(1) if COUNT is small.",
        xautoclaim
    ),
    spec!(
        "xclaim",
        -6,
        WRITE | FAST,
        (1, 1, 1),
        STREAM,
        "stream",
        "5.0.0",
        "Changes (or acquires) ownership of a message in a consumer group, as if the message was delivered to \
         the specified consumer.",
        "O(log N) with N being the number of messages in the PEL of the consumer group.",
        xclaim
    ),
    spec!(
        "xdel",
        -3,
        WRITE | FAST,
        (1, 1, 1),
        STREAM,
        "stream",
        "5.0.0",
        "Removes the specified entries from the stream. Returns the number of items actually deleted, that may \
         be different from the number of IDs passed in case certain IDs do not exist.",
        "O(1) for each single item to delete in the stream, regardless of the stream size.",
        xdel
    ),
    CommandSpec {
        subcommands: XGROUP_SUBS,
        ..spec!(
            "xgroup",
            -2,
            0,
            (0, 0, 0),
            0,
            "stream",
            "5.0.0",
            "A container for consumer groups commands",
            "Depends on subcommand.",
            container
        )
    },
    CommandSpec {
        subcommands: XINFO_SUBS,
        ..spec!(
            "xinfo",
            -2,
            0,
            (0, 0, 0),
            0,
            "stream",
            "5.0.0",
            "A container for stream introspection commands",
            "Depends on subcommand.",
            container
        )
    },
    spec!(
        "xlen",
        2,
        READONLY | FAST,
        (1, 1, 1),
        STREAM,
        "stream",
        "5.0.0",
        "Return the number of entries in a stream",
        "O(1)",
        xlen
    ),
    spec!(
        "xpending",
        -3,
        READONLY,
        (1, 1, 1),
        STREAM,
        "stream",
        "5.0.0",
        "Return information and entries from a stream consumer group pending entries list, that are messages \
         fetched but never acknowledged.",
        "O(N) with N being the number of elements returned, so asking for a small fixed number of entries per \
         call is O(1). O(M), where M is the total number of entries scanned when used with the IDLE filter. When \
         the command returns just the summary and the list of consumers is small, it runs in O(1) time; \
         otherwise, an additional O(N) time for iterating every consumer.",
        xpending
    ),
    spec!(
        "xrange",
        -4,
        READONLY,
        (1, 1, 1),
        STREAM,
        "stream",
        "5.0.0",
        "Return a range of elements in a stream, with IDs matching the specified IDs interval",
        "O(N) with N being the number of elements being returned. If N is constant (e.g. always asking for the \
         first 10 elements with COUNT), you can consider it O(1).",
        xrange
    ),
    CommandSpec {
        getkeys: Some(xread_keys),
        ..spec!(
            "xread",
            -4,
            READONLY | BLOCKING | MOVABLE_KEYS,
            (0, 0, 0),
            STREAM,
            "stream",
            "5.0.0",
            "Return never seen elements in multiple streams, with IDs greater than the ones reported by the caller \
             for each stream. Can block.",
            "For each stream mentioned: O(N) with N being the number of elements being returned, it means that \
             XREAD-ing with a fixed COUNT is O(1). Note that when the BLOCK option is used, XADD will pay O(M) \
             time in order to serve the M clients blocked on the stream getting new data.",
            xread
        )
    },
    CommandSpec {
        getkeys: Some(xread_keys),
        ..spec!(
            "xreadgroup",
            -7,
            WRITE | BLOCKING | MOVABLE_KEYS,
            (0, 0, 0),
            STREAM,
            "stream",
            "5.0.0",
            "Return new entries from a stream using a consumer group, or access the history of the pending \
             entries for a given consumer. Can block.",
            "For each stream mentioned: O(M) with M being the number of elements returned. If M is constant \
             (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1). On the other \
             side when XREADGROUP blocks, XADD will pay the O(N) time in order to serve the N clients blocked \
             on the stream getting new data.",
            xreadgroup
        )
    },
    spec!(
        "xrevrange",
        -4,
        READONLY,
        (1, 1, 1),
        STREAM,
        "stream",
        "5.0.0",
        "Return a range of elements in a stream, with IDs matching the specified IDs interval, in reverse order \
         (from greater to smaller IDs) compared to XRANGE",
        "O(N) with N being the number of elements returned. If N is constant (e.g. always asking for the first \
         10 elements with COUNT), you can consider it O(1).",
        xrevrange
    ),
    spec!(
        "xsetid",
        -3,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        STREAM,
        "stream",
        "5.0.0",
        "An internal command for replicating stream values",
        "O(1)",
        xsetid
    ),
    spec!(
        "xtrim",
        -4,
        WRITE,
        (1, 1, 1),
        STREAM,
        "stream",
        "5.0.0",
        "Trims the stream to (approximately if '~' is passed) a certain size",
        "O(N), with N being the number of evicted entries. Constant times are very small however, since entries \
         are organized in macro nodes containing multiple entries that can be released with a single \
         deallocation.",
        xtrim
    ),
];

const XGROUP_SUBS: &[CommandSpec] = &[
    spec!(
        "xgroup|create",
        -5,
        WRITE | DENYOOM,
        (2, 2, 1),
        STREAM,
        "stream",
        "5.0.0",
        "Create a consumer group.",
        "O(1)",
        xgroup_create
    ),
    spec!(
        "xgroup|createconsumer",
        5,
        WRITE | DENYOOM,
        (2, 2, 1),
        STREAM,
        "stream",
        "6.2.0",
        "Create a consumer in a consumer group.",
        "O(1)",
        xgroup_createconsumer
    ),
    spec!(
        "xgroup|delconsumer",
        5,
        WRITE,
        (2, 2, 1),
        STREAM,
        "stream",
        "5.0.0",
        "Delete a consumer from a consumer group.",
        "O(1)",
        xgroup_delconsumer
    ),
    spec!(
        "xgroup|destroy",
        4,
        WRITE,
        (2, 2, 1),
        STREAM,
        "stream",
        "5.0.0",
        "Destroy a consumer group.",
        "O(N) where N is the number of entries in the group's pending entries list (PEL).",
        xgroup_destroy
    ),
    spec!(
        "xgroup|help",
        2,
        LOADING | STALE,
        (0, 0, 0),
        STREAM,
        "stream",
        "5.0.0",
        "Show helpful text about the different subcommands",
        "O(1)",
        xgroup_help
    ),
    spec!(
        "xgroup|setid",
        -5,
        WRITE,
        (2, 2, 1),
        STREAM,
        "stream",
        "5.0.0",
        "Set a consumer group to an arbitrary last delivered ID value.",
        "O(1)",
        xgroup_setid
    ),
];

const XINFO_SUBS: &[CommandSpec] = &[
    spec!(
        "xinfo|consumers",
        4,
        READONLY,
        (2, 2, 1),
        STREAM,
        "stream",
        "5.0.0",
        "List the consumers in a consumer group",
        "O(1)",
        xinfo_consumers
    ),
    spec!(
        "xinfo|groups",
        3,
        READONLY,
        (2, 2, 1),
        STREAM,
        "stream",
        "5.0.0",
        "List the consumer groups of a stream",
        "O(1)",
        xinfo_groups
    ),
    spec!(
        "xinfo|help",
        2,
        LOADING | STALE,
        (0, 0, 0),
        STREAM,
        "stream",
        "5.0.0",
        "Show helpful text about the different subcommands",
        "O(1)",
        xinfo_help
    ),
    spec!(
        "xinfo|stream",
        -3,
        READONLY,
        (2, 2, 1),
        STREAM,
        "stream",
        "5.0.0",
        "Get information about a stream",
        "O(1)",
        xinfo_stream
    ),
];

fn container(_: &mut Ctx<'_>) -> CmdResult {
    // Never runs: the executor replies for containers whose subcommand is missing or unknown.
    Err(CmdError::SYNTAX)
}

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

/// Redis's addReplySubcommandSyntaxError.
fn subcommand_syntax(cx: &Ctx<'_>) -> CmdError {
    let parent = cx.spec.name.split('|').next().unwrap_or(cx.spec.name).to_ascii_uppercase();
    CmdError::msg(format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try {} HELP.",
        crate::error::sanitize(cx.arg(1), 128),
        parent
    ))
}

fn parse_id(arg: &[u8], missing_seq: u64) -> Result<StreamId, CmdError> {
    StreamId::parse(arg, missing_seq, false, false).map(|(id, _)| id).ok_or(INVALID_ID)
}

fn parse_strict_id(arg: &[u8], missing_seq: u64) -> Result<StreamId, CmdError> {
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

fn range_start(arg: &[u8]) -> Result<StreamId, CmdError> {
    let (id, ex) = parse_interval(arg, 0)?;
    if ex {
        return id.incr().ok_or(CmdError::new("ERR invalid start ID for the interval"));
    }
    Ok(id)
}

fn range_end(arg: &[u8]) -> Result<StreamId, CmdError> {
    let (id, ex) = parse_interval(arg, u64::MAX)?;
    if ex {
        return id.decr().ok_or(CmdError::new("ERR invalid end ID for the interval"));
    }
    Ok(id)
}

fn read_stream<'d>(db: &'d mut Db, key: &[u8]) -> Result<Option<&'d Stream>, CmdError> {
    match db.get(key) {
        None => Ok(None),
        Some(e) => match &e.value {
            Value::Stream(s) => Ok(Some(s)),
            _ => Err(CmdError::WRONGTYPE),
        },
    }
}

fn write_stream<'d>(db: &'d mut Db, key: &[u8]) -> Result<Option<&'d mut Stream>, CmdError> {
    match db.get_mut(key) {
        None => Ok(None),
        Some(e) => match &mut e.value {
            Value::Stream(s) => Ok(Some(s)),
            _ => Err(CmdError::WRONGTYPE),
        },
    }
}

/// An id as a bulk string, formatted on the stack (replies write one per entry).
fn write_id(out: &mut Out, id: StreamId) {
    let mut buf = [0u8; 41];
    let n = fmt_u64(&mut buf, 0, id.ms);
    buf[n] = b'-';
    let n = fmt_u64(&mut buf, n + 1, id.seq);
    out.bulk(&buf[..n]);
}

/// Write `v` in decimal at `buf[at..]`; returns the end position.
fn fmt_u64(buf: &mut [u8; 41], at: usize, mut v: u64) -> usize {
    let mut tmp = [0u8; 20];
    let mut i = 20;
    loop {
        i -= 1;
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    let len = 20 - i;
    buf[at..at + len].copy_from_slice(&tmp[i..]);
    at + len
}

fn write_entry(out: &mut Out, e: Entry<'_>) {
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

fn nogroup_key(key: &[u8], group: &[u8]) -> CmdError {
    CmdError::msg(format!(
        "NOGROUP No such key '{}' or consumer group '{}'",
        crate::error::sanitize(key, 128),
        crate::error::sanitize(group, 128)
    ))
}

/// The argument vector as owned bytes, for rewriting before propagation.
fn owned_args(cx: &Ctx<'_>) -> Vec<Vec<u8>> {
    cx.argv.iter().map(|a| a.to_vec()).collect()
}

fn propagate_owned(cx: &mut Ctx<'_>, args: &[Vec<u8>]) {
    let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
    cx.propagate_as(&refs);
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
    let exists = match db.get_mut(key) {
        Some(e) if !matches!(e.value, Value::Stream(_)) => return Err(CmdError::WRONGTYPE),
        Some(_) => true,
        None => false,
    };
    if !exists && a.nomkstream {
        cx.out.nil();
        return Ok(());
    }
    // A new stream is built aside and stored only once the entry is in (a failed XADD creates no key).
    let mut fresh = Stream::new();
    let s: &mut Stream = match write_stream(cx.db(), key)? {
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
    if let Some(t) = a.trim {
        s.trim(t, a.approx, a.limit);
    }
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
    let Some(s) = write_stream(cx.db(), key)? else {
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
    let Some(s) = read_stream(db, key)? else {
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
    let n = read_stream(db, key)?.map_or(0, |s| s.len());
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
enum ReadFrom {
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
        let s = match read_stream(db, key) {
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
                let Ok(Some(s)) = read_stream(db, key) else { continue };
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

fn count_or_all(count: usize) -> usize {
    if count == 0 {
        usize::MAX
    } else {
        count
    }
}

/// Serve one stream of an XREADGROUP into `body`; false when there is nothing to serve (no key, or `>`
/// with nothing new).
#[allow(clippy::too_many_arguments)]
fn serve_group(
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
    let Some(s) = write_stream(cx.db(), key)? else { return Ok(false) };
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
        if noack && cx.s.prop.feed.enabled {
            cx.propagate_as(&[b"XGROUP", b"CREATECONSUMER", key, gname, consumer]);
        }
    }
    if body.resp == 2 {
        body.array(2);
    }
    body.bulk(key);
    let s = write_stream(cx.db(), key)?.expect("stream checked");
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

// ---------------------------------------------------------------------------------------------------------
// Deletion and ids

/// The ids from argument `from` on (XDEL, XACK): all are checked before anything changes, as in Redis.
fn parse_id_list(cx: &Ctx<'_>, from: usize) -> Result<Vec<StreamId>, CmdError> {
    (from..cx.argc()).map(|j| parse_strict_id(cx.arg(j), 0)).collect()
}

/// XDEL key id [id ...]
fn xdel(cx: &mut Ctx<'_>) -> CmdResult {
    let key = cx.arg(1);
    if write_stream(cx.db(), key)?.is_none() {
        cx.out.int(0);
        return Ok(());
    }
    let ids = parse_id_list(cx, 2)?;
    let s = write_stream(cx.db(), key)?.expect("checked");
    let deleted = s.delete_ids(&ids);
    if deleted > 0 {
        cx.modified(key);
        cx.s.persist.dirty += deleted - 1;
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
    let Some(s) = write_stream(cx.db(), key)? else { return Err(CmdError::NO_KEY) };
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
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// Consumer groups

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
            return Err(subcommand_syntax(cx));
        }
    }
    Ok((mkstream, entries_read))
}

const XGROUP_NO_KEY: CmdError = CmdError::new(
    "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the \
     MKSTREAM option to create an empty stream automatically.",
);

fn nogroup_for_key(group: &[u8], key: &[u8]) -> CmdError {
    CmdError::msg(format!(
        "NOGROUP No such consumer group '{}' for key name '{}'",
        crate::error::sanitize(group, 128),
        crate::error::sanitize(key, 128)
    ))
}

/// The stream and group an XGROUP subcommand works on (the group must exist).
fn xgroup_target<'d>(db: &'d mut Db, key: &[u8], group: &[u8]) -> Result<(&'d mut Stream, bool), CmdError> {
    let Some(s) = write_stream(db, key)? else { return Err(XGROUP_NO_KEY) };
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
        return Err(subcommand_syntax(cx));
    }
    let (key, gname, idarg) = (cx.arg(2), cx.arg(3), cx.arg(4));
    let existing = write_stream(cx.db(), key)?.map(|s| s.last_id);
    if existing.is_none() && !mkstream {
        return Err(XGROUP_NO_KEY);
    }
    let id = if idarg == b"$" { existing.unwrap_or(StreamId::MIN) } else { parse_strict_id(idarg, 0)? };
    if existing.is_none() {
        cx.db().set(key, Value::Stream(Box::default()), false);
        cx.modified(key);
        cx.s.persist.dirty -= 1;
    }
    let s = write_stream(cx.db(), key)?.expect("stream exists");
    if s.groups.contains_key(gname) {
        return Err(CmdError::new("BUSYGROUP Consumer Group name already exists"));
    }
    s.groups.insert(gname.to_vec(), Group::new(id, entries_read));
    cx.s.persist.dirty += 1;
    cx.out.ok();
    Ok(())
}

/// XGROUP SETID key group id|$ [ENTRIESREAD entries-read]
fn xgroup_setid(cx: &mut Ctx<'_>) -> CmdResult {
    let (_, entries_read) = xgroup_options(cx, false)?;
    if cx.argc() != 5 && cx.argc() != 7 {
        return Err(subcommand_syntax(cx));
    }
    let (key, gname, idarg) = (cx.arg(2), cx.arg(3), cx.arg(4));
    let (last_id, g) = existing_group(cx.db(), key, gname)?;
    let id = if idarg == b"$" { last_id } else { parse_id(idarg, 0)? };
    g.last_id = id;
    g.entries_read = entries_read;
    cx.s.persist.dirty += 1;
    cx.out.ok();
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
fn xack(cx: &mut Ctx<'_>) -> CmdResult {
    let (key, gname) = (cx.arg(1), cx.arg(2));
    let has = match write_stream(cx.db(), key)? {
        Some(s) => s.groups.contains_key(gname),
        None => false,
    };
    if !has {
        cx.out.int(0);
        return Ok(());
    }
    let ids = parse_id_list(cx, 3)?;
    let s = write_stream(cx.db(), key)?.expect("checked");
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
fn xpending(cx: &mut Ctx<'_>) -> CmdResult {
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
    let s = read_stream(db, key)?;
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
fn xclaim(cx: &mut Ctx<'_>) -> CmdResult {
    let (key, gname, cname) = (cx.arg(1), cx.arg(2), cx.arg(3));
    match read_stream(cx.db(), key)? {
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
    let s = write_stream(db, key)?.expect("checked");
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
    Ok(())
}

/// XAUTOCLAIM key group consumer min-idle-time start [COUNT count] [JUSTID]
fn xautoclaim(cx: &mut Ctx<'_>) -> CmdResult {
    let (key, gname, cname) = (cx.arg(1), cx.arg(2), cx.arg(3));
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
    match read_stream(cx.db(), key)? {
        Some(s) if s.groups.contains_key(gname) => {}
        _ => return Err(nogroup_key(key, gname)),
    }
    cx.no_propagate();
    let now = clock::now_ms();
    let (db, out) = cx.db_out();
    let s = write_stream(db, key)?.expect("checked");
    let mut dirty = 0u64;
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
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// XINFO

/// The stream XINFO reports on: `ERR no such key` when missing.
fn info_stream<'d>(db: &'d mut Db, key: &[u8]) -> Result<&'d Stream, CmdError> {
    read_stream(db, key)?.ok_or(CmdError::NO_KEY)
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
    let optc = cx.argc() - 3;
    let mut full = false;
    let mut count: i64 = 10;
    if optc > 0 {
        if (optc != 1 && optc != 3) || !cx.argv.is(3, "full") {
            return Err(subcommand_syntax(cx));
        }
        full = true;
        if optc == 3 {
            if !cx.argv.is(4, "count") {
                return Err(subcommand_syntax(cx));
            }
            count = cx.int_arg(5)?;
            if count < 0 {
                count = 10;
            }
        }
    }
    let key = cx.arg(2);
    let (db, out) = cx.db_out();
    let s = info_stream(db, key)?;
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
    use crate::commands::testutil::{new, run, T};

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
        assert_eq!(run(&mut t, &["xadd", "s", "1-1", "a", "1"]), "$3\r\n1-1\r\n");
        assert_eq!(run(&mut t, &["xadd", "s", "1-*", "b", "2"]), "$3\r\n1-2\r\n");
        assert_eq!(
            run(&mut t, &["xadd", "s", "1-1", "a", "1"]),
            "-ERR The ID specified in XADD is equal or smaller than the target stream top item\r\n"
        );
        assert_eq!(
            run(&mut t, &["xadd", "n", "0-0", "a", "1"]),
            "-ERR The ID specified in XADD must be greater than 0-0\r\n"
        );
        assert_eq!(run(&mut t, &["exists", "n"]), ":0\r\n");
        assert_eq!(run(&mut t, &["xadd", "n", "nomkstream", "*", "a", "1"]), "$-1\r\n");
        assert_eq!(run(&mut t, &["xadd", "s", "*", "a"]), "-ERR wrong number of arguments for 'xadd' command\r\n");
        assert_eq!(
            run(&mut t, &["xadd", "s", "x-y", "a", "1"]),
            "-ERR Invalid stream ID specified as stream command argument\r\n"
        );
        assert_eq!(
            run(&mut t, &["xadd", "s", "maxlen", "1", "minid", "1", "*", "a", "1"]),
            "-ERR syntax error, MAXLEN and MINID options at the same time are not compatible\r\n"
        );
        assert_eq!(
            run(&mut t, &["xadd", "s", "maxlen", "1", "limit", "5", "*", "a", "1"]),
            "-ERR syntax error, LIMIT cannot be used without the special ~ option\r\n"
        );
        run(&mut t, &["set", "str", "x"]);
        assert!(run(&mut t, &["xadd", "str", "*", "a", "1"]).starts_with("-WRONGTYPE"));
        assert_eq!(run(&mut t, &["xlen", "s"]), ":2\r\n");
        assert_eq!(run(&mut t, &["type", "s"]), "+stream\r\n");
        assert_eq!(run(&mut t, &["object", "encoding", "s"]), "$6\r\nstream\r\n");
    }

    #[test]
    fn ranges_and_count() {
        let mut t = new();
        for i in 1..=5 {
            run(&mut t, &["xadd", "s", &format!("{i}-0"), "f", &i.to_string()]);
        }
        let r = run(&mut t, &["xrange", "s", "(2", "4", "count", "1"]);
        assert_eq!(r, "*1\r\n*2\r\n$3\r\n3-0\r\n*2\r\n$1\r\nf\r\n$1\r\n3\r\n");
        assert_eq!(run(&mut t, &["xrange", "s", "-", "+", "count", "0"]), "*-1\r\n");
        assert_eq!(run(&mut t, &["xrange", "nokey", "-", "+"]), "*0\r\n");
        let r = run(&mut t, &["xrevrange", "s", "+", "-", "count", "2"]);
        assert!(r.starts_with("*2\r\n*2\r\n$3\r\n5-0"));
        assert_eq!(
            run(&mut t, &["xrange", "s", "(-", "+"]),
            "-ERR Invalid stream ID specified as stream command argument\r\n"
        );
        assert_eq!(
            run(&mut t, &["xrange", "s", "(18446744073709551615-18446744073709551615", "+"]),
            "-ERR invalid start ID for the interval\r\n"
        );
        assert_eq!(run(&mut t, &["xrange", "s", "-", "(0-0"]), "-ERR invalid end ID for the interval\r\n");
        assert_eq!(run(&mut t, &["xdel", "s", "2-0", "9-0"]), ":1\r\n");
        assert_eq!(run(&mut t, &["xtrim", "s", "maxlen", "2"]), ":2\r\n");
        assert_eq!(run(&mut t, &["xlen", "s"]), ":2\r\n");
    }

    #[test]
    fn xread_blocks_then_serves_new_entries_only() {
        let mut t = new();
        run(&mut t, &["xadd", "s", "1-0", "f", "v"]);
        assert_eq!(run(&mut t, &["xread", "streams", "s", "$"]), "*-1\r\n");
        assert_eq!(run(&mut t, &["xread", "block", "0", "streams", "s", "$"]), "");
        assert!(t.s.clients[t.me].blocked.is_some());
        let me = t.me;
        t.me = second_client(&mut t);
        run(&mut t, &["xadd", "s", "2-0", "g", "w"]);
        t.me = me;
        let r = run(&mut t, &["xread", "block", "0", "streams", "s", "$"]);
        assert!(r.contains("2-0") && !r.contains("1-0"), "{r}");
        assert!(t.s.clients[t.me].blocked.is_none());
    }

    #[test]
    fn groups_pending_ack_and_claim() {
        let mut t = new();
        for i in 1..=3 {
            run(&mut t, &["xadd", "s", &format!("{i}-0"), "f", "v"]);
        }
        assert_eq!(run(&mut t, &["xgroup", "create", "s", "g", "0"]), "+OK\r\n");
        assert!(run(&mut t, &["xgroup", "create", "s", "g", "0"]).starts_with("-BUSYGROUP"));
        let r = run(&mut t, &["xreadgroup", "group", "g", "alice", "count", "2", "streams", "s", ">"]);
        assert!(r.contains("1-0") && r.contains("2-0") && !r.contains("3-0"));
        let p = run(&mut t, &["xpending", "s", "g"]);
        assert_eq!(p, "*4\r\n:2\r\n$3\r\n1-0\r\n$3\r\n2-0\r\n*1\r\n*2\r\n$5\r\nalice\r\n$1\r\n2\r\n");
        assert_eq!(run(&mut t, &["xack", "s", "g", "1-0", "1-0"]), ":1\r\n");
        assert_eq!(run(&mut t, &["xclaim", "s", "g", "bob", "0", "2-0", "justid"]), "*1\r\n$3\r\n2-0\r\n");
        let r = run(&mut t, &["xpending", "s", "g", "-", "+", "10", "bob"]);
        assert!(r.starts_with("*1\r\n*4\r\n$3\r\n2-0\r\n$3\r\nbob\r\n"));
        assert_eq!(
            run(&mut t, &["xautoclaim", "s", "g", "carol", "0", "0", "justid"]),
            "*3\r\n$3\r\n0-0\r\n*1\r\n$3\r\n2-0\r\n*0\r\n"
        );
        assert_eq!(run(&mut t, &["xgroup", "delconsumer", "s", "g", "carol"]), ":1\r\n");
        assert!(run(&mut t, &["xreadgroup", "group", "nog", "c", "streams", "s", ">"])
            .starts_with("-NOGROUP No such key 's'"));
        assert!(run(&mut t, &["xinfo", "groups", "s"]).contains("entries-read"));
        assert_eq!(run(&mut t, &["xgroup", "destroy", "s", "g"]), ":1\r\n");
    }

    #[test]
    fn woken_xreadgroup_reports_vanished_group() {
        let mut t = new();
        run(&mut t, &["xgroup", "create", "s", "g", "$", "mkstream"]);
        assert_eq!(run(&mut t, &["xreadgroup", "group", "g", "c", "block", "0", "streams", "s", ">"]), "");
        let me = t.me;
        t.me = second_client(&mut t);
        run(&mut t, &["xgroup", "destroy", "s", "g"]);
        t.me = me;
        let r = run(&mut t, &["xreadgroup", "group", "g", "c", "block", "0", "streams", "s", ">"]);
        assert_eq!(r, "-NOGROUP the consumer group this client was blocked on no longer exists\r\n");
    }
}
