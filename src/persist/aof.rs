//! AOF files (persist layer, pure: no actors, no I/O): Redis 7's multi-part append-only file, as the
//! AofWriter actor (actors/persistence.rs) writes it and the loader reads it back.
//!
//! The AOF lives in `dir`/`appenddirname`: a base file `<appendfilename>.<seq>.base.aof` holding a snapshot as
//! commands, incr files `<appendfilename>.<seq>.incr.aof` holding every write since, and the manifest
//! `<appendfilename>.manifest` listing them, in Redis's exact format (`file appendonly.aof.1.base.aof seq 1 type
//! b`), parsed with aof.c's rules and error texts. The base is always written in command form: no RDB preamble
//! (`aof-use-rdb-preamble` is accepted but has no effect yet). Here: the manifest, the command scanner the loader
//! uses (with `aof-load-truncated`'s notion of a valid prefix), and the encoder that turns one key of a snapshot
//! into commands (SET, RPUSH, SADD, ZADD, HMSET in batches of 64 items; XADD, XSETID, XGROUP and XCLAIM for
//! streams; then PEXPIREAT), all readable by redis-server as well.

use crate::resp::decode::ArgRef;
use crate::types::clock;
use crate::types::db::Entry;
use crate::types::value::Value;
use std::fmt;

/// Items per command when a collection is rewritten (Redis's AOF_REWRITE_ITEMS_PER_CMD).
pub const ITEMS_PER_CMD: usize = 64;
/// Longest manifest line Redis reads (MANIFEST_MAX_LINE).
const MANIFEST_MAX_LINE: usize = 1024;
/// Longest `*<argc>` / `$<len>` / annotation line the loader reads in one go (AOF_ANNOTATION_LINE_MAX_LEN).
const LINE_MAX: usize = 1024;

// ---------------------------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------------------------

/// `appendonly.aof.manifest`
pub fn manifest_name(filename: &str) -> String {
    format!("{filename}.manifest")
}

/// `temp-appendonly.aof.manifest`: written first, then renamed over the manifest.
pub fn temp_manifest_name(filename: &str) -> String {
    format!("temp-{filename}.manifest")
}

/// `temp-appendonly.aof.incr`: the incr file written while AOF waits for its first rewrite.
pub fn temp_incr_name(filename: &str) -> String {
    format!("temp-{filename}.incr")
}

/// `appendonly.aof.<seq>.base.aof`, or `.base.rdb` for a base in RDB format (aof-use-rdb-preamble yes).
pub fn base_name(filename: &str, seq: i64, rdb: bool) -> String {
    format!("{filename}.{seq}.base.{}", if rdb { "rdb" } else { "aof" })
}

/// `appendonly.aof.<seq>.incr.aof`
pub fn incr_name(filename: &str, seq: i64) -> String {
    format!("{filename}.{seq}.incr.aof")
}

// ---------------------------------------------------------------------------------------------------------
// Manifest
// ---------------------------------------------------------------------------------------------------------

/// What a file of the manifest is: `b`ase, `h`istory (replaced, to delete) or `i`ncr.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileType {
    Base,
    History,
    Incr,
}

impl FileType {
    fn letter(self) -> char {
        match self {
            FileType::Base => 'b',
            FileType::History => 'h',
            FileType::Incr => 'i',
        }
    }
}

/// One line of the manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AofInfo {
    pub name: String,
    pub seq: i64,
    pub kind: FileType,
}

/// The manifest: at most one base, the history files, then the incr files in sequence order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Manifest {
    pub base: Option<AofInfo>,
    pub history: Vec<AofInfo>,
    pub incr: Vec<AofInfo>,
    /// Last sequence numbers handed out, for the next names.
    pub base_seq: i64,
    pub incr_seq: i64,
}

/// A manifest Redis would refuse to start with: the reason and, when a line is to blame, its number and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestError {
    pub line: Option<(usize, String)>,
    pub reason: &'static str,
}

impl fmt::Display for ManifestError {
    /// The lines Redis logs before exiting (aofLoadManifestFromFile's `loaderr`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "\n*** FATAL AOF MANIFEST FILE ERROR ***")?;
        if let Some((n, text)) = &self.line {
            writeln!(f, "Reading the manifest file, at line {n}")?;
            writeln!(f, ">>> '{text}'")?;
        }
        write!(f, "{}", self.reason)
    }
}

/// C's atoll: optional blanks and sign, then digits up to the first non-digit; 0 when there are none.
fn atoll(s: &str) -> i64 {
    let t = s.trim_start();
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let mut v: i64 = 0;
    for c in digits.bytes().take_while(|c| c.is_ascii_digit()) {
        v = v.wrapping_mul(10).wrapping_add((c - b'0') as i64);
    }
    if neg {
        -v
    } else {
        v
    }
}

/// Redis's sdsneedsrepr: a file name with blanks, quotes or unprintable bytes is written quoted.
fn needs_repr(s: &str) -> bool {
    s.bytes().any(|c| matches!(c, b'\\' | b'"') || !(0x21..=0x7e).contains(&c))
}

impl Manifest {
    /// Parse a manifest as aof.c's aofLoadManifestFromFile does: `#` lines are comments, each other line is
    /// `file <name> seq <n> type <b|h|i>` (more key/value pairs are allowed for forward compatibility).
    pub fn parse(text: &[u8]) -> Result<Manifest, ManifestError> {
        let mut m = Manifest::default();
        let mut maxseq = 0i64;
        let mut pos = 0;
        let mut linenum = 0;
        let bare = |reason| ManifestError { line: None, reason };
        loop {
            if pos >= text.len() {
                if linenum == 0 {
                    return Err(bare("Found an empty AOF manifest"));
                }
                break;
            }
            // fgets with a MANIFEST_MAX_LINE+1 buffer: at most 1024 bytes, up to and including a newline.
            let rest = &text[pos..];
            let take = match rest.iter().take(MANIFEST_MAX_LINE).position(|&c| c == b'\n') {
                Some(i) => i + 1,
                None => rest.len().min(MANIFEST_MAX_LINE),
            };
            let buf = &rest[..take];
            pos += take;
            linenum += 1;
            if buf[0] == b'#' {
                continue;
            }
            let raw = String::from_utf8_lossy(buf);
            let line = raw.trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n')).to_string();
            let at = |reason| ManifestError { line: Some((linenum, line.clone())), reason };
            if !buf.contains(&b'\n') {
                return Err(at("The AOF manifest file contains too long line"));
            }
            if line.is_empty() {
                return Err(at("Invalid AOF manifest file format"));
            }
            let argv = match crate::config::split_args(&line) {
                Some(a) if a.len() >= 6 && a.len() % 2 == 0 => a,
                _ => return Err(at("Invalid AOF manifest file format")),
            };
            let (mut name, mut seq, mut kind) = (None, 0i64, None);
            for pair in argv.chunks(2) {
                let (k, v) = (&pair[0], &pair[1]);
                if k.eq_ignore_ascii_case("file") {
                    if v.contains('/') || v.contains('\\') {
                        return Err(at("File can't be a path, just a filename"));
                    }
                    name = Some(v.clone());
                } else if k.eq_ignore_ascii_case("seq") {
                    seq = atoll(v);
                } else if k.eq_ignore_ascii_case("type") {
                    kind = v.bytes().next();
                }
            }
            let (Some(name), Some(kind)) = (name, kind) else { return Err(at("Invalid AOF manifest file format")) };
            if seq == 0 {
                return Err(at("Invalid AOF manifest file format"));
            }
            match kind {
                b'b' => {
                    if m.base.is_some() {
                        return Err(at("Found duplicate base file information"));
                    }
                    m.base = Some(AofInfo { name, seq, kind: FileType::Base });
                    m.base_seq = seq;
                }
                b'h' => m.history.push(AofInfo { name, seq, kind: FileType::History }),
                b'i' => {
                    if seq <= maxseq {
                        return Err(at("Found a non-monotonic sequence number"));
                    }
                    m.incr.push(AofInfo { name, seq, kind: FileType::Incr });
                    m.incr_seq = seq;
                    maxseq = seq;
                }
                _ => return Err(at("Unknown AOF file type")),
            }
        }
        Ok(m)
    }

    /// The manifest's text: base first, then history, then incr files (getAofManifestAsString).
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        for ai in self.base.iter().chain(&self.history).chain(&self.incr) {
            let name = if needs_repr(&ai.name) { crate::config::repr(&ai.name) } else { ai.name.clone() };
            s.push_str(&format!("file {name} seq {} type {}\n", ai.seq, ai.kind.letter()));
        }
        s
    }

    /// Files to load, in order: the base, then every incr file.
    pub fn files(&self) -> impl Iterator<Item = &AofInfo> + '_ {
        self.base.iter().chain(&self.incr)
    }

    /// Name the next base and turn the current one into history (getNewBaseFileNameAndMarkPreAsHistory).
    pub fn new_base(&mut self, filename: &str, rdb: bool) -> String {
        if let Some(mut old) = self.base.take() {
            old.kind = FileType::History;
            self.history.insert(0, old);
        }
        self.base_seq += 1;
        let name = base_name(filename, self.base_seq, rdb);
        self.base = Some(AofInfo { name: name.clone(), seq: self.base_seq, kind: FileType::Base });
        name
    }

    /// Name the next incr file and append it to the list (getNewIncrAofName).
    pub fn new_incr(&mut self, filename: &str) -> String {
        self.incr_seq += 1;
        let name = incr_name(filename, self.incr_seq);
        self.incr.push(AofInfo { name: name.clone(), seq: self.incr_seq, kind: FileType::Incr });
        name
    }

    /// After a rewrite: every incr file but the one being written (if any) becomes history
    /// (markRewrittenIncrAofAsHistory).
    pub fn mark_rewritten_incr_as_history(&mut self, keep_last: bool) {
        let keep = if keep_last { self.incr.pop() } else { None };
        for mut ai in std::mem::take(&mut self.incr).into_iter() {
            ai.kind = FileType::History;
            self.history.insert(0, ai);
        }
        self.incr.extend(keep);
    }
}

// ---------------------------------------------------------------------------------------------------------
// Loading: scanning a file into commands
// ---------------------------------------------------------------------------------------------------------

/// One complete command of a scanned file: `argc` entries of `Scanned::args` from `first`, each relative to
/// `start` (so that `Argv::new(&data[start..], &[], &args[first..first + argc])` reads it).
#[derive(Clone, Copy, Debug)]
pub struct CmdPos {
    pub start: usize,
    pub first: usize,
    pub argc: usize,
}

/// How a scan ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScanEnd {
    /// Every byte was part of a complete command.
    Complete,
    /// The file ends inside a command, or inside MULTI without its EXEC (loadSingleAppendOnlyFile's `uxeof`):
    /// with aof-load-truncated the file is cut at `valid_up_to`.
    Truncated,
    /// A line that is not RESP where a command should start (`fmterr`).
    BadFormat,
}

/// The commands of one AOF file.
#[derive(Debug)]
pub struct Scanned {
    pub cmds: Vec<CmdPos>,
    pub args: Vec<ArgRef>,
    /// Length of the prefix holding the commands to replay (an open MULTI at the end excluded).
    pub valid_up_to: usize,
    pub end: ScanEnd,
}

/// fgets: up to `LINE_MAX - 1` bytes, stopping after a newline; None at end of input.
fn fgets(data: &[u8], pos: &mut usize) -> Option<(usize, usize)> {
    if *pos >= data.len() {
        return None;
    }
    let rest = &data[*pos..];
    let take = match rest.iter().take(LINE_MAX - 1).position(|&c| c == b'\n') {
        Some(i) => i + 1,
        None => rest.len().min(LINE_MAX - 1),
    };
    let start = *pos;
    *pos += take;
    Some((start, start + take))
}

/// C's strtol/atoi on the digits after the type byte (leading blanks and sign allowed, stops at the first
/// non-digit).
fn c_int(b: &[u8]) -> i64 {
    atoll(&String::from_utf8_lossy(b))
}

/// Split an AOF file into commands as Redis's loader reads it: `#` lines are annotations, every command is a
/// RESP array of bulk strings. The scan stops at the first malformed or incomplete command.
pub fn scan(data: &[u8]) -> Scanned {
    let mut sc = Scanned { cmds: Vec::new(), args: Vec::new(), valid_up_to: 0, end: ScanEnd::Complete };
    let mut pos = 0;
    // (commands, valid length) before the MULTI still open, if one is: an unfinished transaction is dropped.
    let mut open_multi: Option<(usize, usize)> = None;
    'cmds: while let Some((ls, le)) = fgets(data, &mut pos) {
        let line = &data[ls..le];
        if line[0] == b'#' {
            continue;
        }
        if line[0] != b'*' {
            sc.end = ScanEnd::BadFormat;
            return sc;
        }
        if line.len() == 1 {
            sc.end = ScanEnd::Truncated;
            break;
        }
        let argc = c_int(&line[1..]);
        if argc < 1 {
            sc.end = ScanEnd::BadFormat;
            return sc;
        }
        let first = sc.args.len();
        for _ in 0..argc {
            let Some((as_, ae)) = fgets(data, &mut pos) else {
                sc.args.truncate(first);
                sc.end = ScanEnd::Truncated;
                break 'cmds;
            };
            if data[as_] != b'$' {
                sc.args.truncate(first);
                sc.end = ScanEnd::BadFormat;
                return sc;
            }
            let len = c_int(&data[as_ + 1..ae]).max(0) as usize;
            if data.len() - pos < len.saturating_add(2) || pos - ls + len >= crate::resp::decode::SCRATCH_BASE as usize
            {
                sc.args.truncate(first);
                sc.end = ScanEnd::Truncated;
                break 'cmds;
            }
            sc.args.push(ArgRef { start: (pos - ls) as u32, len: len as u32 });
            pos += len + 2;
        }
        let name = {
            let a = sc.args[first];
            &data[ls + a.start as usize..ls + (a.start + a.len) as usize]
        };
        if name.eq_ignore_ascii_case(b"multi") {
            open_multi = Some((sc.cmds.len(), sc.valid_up_to));
        } else if name.eq_ignore_ascii_case(b"exec") || name.eq_ignore_ascii_case(b"discard") {
            open_multi = None;
        }
        sc.cmds.push(CmdPos { start: ls, first, argc: argc as usize });
        sc.valid_up_to = pos;
    }
    if let Some((n, valid)) = open_multi {
        // "Revert incomplete MULTI/EXEC transaction": as a short read, cut before the MULTI.
        sc.cmds.truncate(n);
        sc.args.truncate(sc.cmds.last().map(|c| c.first + c.argc).unwrap_or(0));
        sc.valid_up_to = valid;
        sc.end = ScanEnd::Truncated;
    }
    sc
}

impl Scanned {
    /// The arguments of command `i`, as (bytes the offsets are relative to, offsets).
    pub fn command<'a>(&'a self, data: &'a [u8], i: usize) -> (&'a [u8], &'a [ArgRef]) {
        let c = self.cmds[i];
        (&data[c.start..], &self.args[c.first..c.first + c.argc])
    }
}

// ---------------------------------------------------------------------------------------------------------
// Writing commands: the rewrite encoder
// ---------------------------------------------------------------------------------------------------------

fn header(out: &mut Vec<u8>, kind: u8, n: usize) {
    out.push(kind);
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// One RESP bulk string.
pub fn bulk(out: &mut Vec<u8>, b: &[u8]) {
    header(out, b'$', b.len());
    out.extend_from_slice(b);
    out.extend_from_slice(b"\r\n");
}

fn bulk_i64(out: &mut Vec<u8>, v: i64) {
    bulk(out, itoa::Buffer::new().format(v).as_bytes());
}

/// A score as rioWriteBulkDouble writes it (`%.17g`: round-trips exactly).
fn bulk_f64(out: &mut Vec<u8>, v: f64) {
    let s = if v.is_infinite() {
        if v > 0.0 {
            "inf".to_string()
        } else {
            "-inf".to_string()
        }
    } else {
        crate::types::num::format_g17(v)
    };
    bulk(out, s.as_bytes());
}

/// One whole command.
pub fn command(out: &mut Vec<u8>, args: &[&[u8]]) {
    header(out, b'*', args.len());
    for a in args {
        bulk(out, a);
    }
}

/// `SELECT db`, which starts each database's part of a base file.
pub fn select(out: &mut Vec<u8>, db: usize) {
    command(out, &[b"SELECT", db.to_string().as_bytes()]);
}

/// Write `cmd key` and the item count of the next batch when `count` starts one.
fn batch_head(out: &mut Vec<u8>, cmd: &[u8], key: &[u8], count: &mut usize, left: usize, width: usize) {
    if *count == 0 {
        let n = left.min(ITEMS_PER_CMD);
        header(out, b'*', 2 + n * width);
        bulk(out, cmd);
        bulk(out, key);
    }
    *count += 1;
    if *count == ITEMS_PER_CMD {
        *count = 0;
    }
}

/// Encode one key of a snapshot as commands that rebuild it (Redis's rewriteAppendOnlyFileRio per key): the
/// value, then PEXPIREAT when it has a TTL. Keys whose TTL has already passed are left out. This is the
/// `SnapEncoder` the rewrite hands to `Db::snapshot_begin`.
pub fn encode_entry(e: &Entry, expire_at: i64, out: &mut Vec<u8>) {
    if expire_at != 0 && expire_at < clock::now_ms() {
        return;
    }
    let key: &[u8] = &e.key;
    match &e.value {
        Value::List(l) => {
            let (mut count, mut left) = (0, l.len());
            for item in l.iter() {
                batch_head(out, b"RPUSH", key, &mut count, left, 1);
                bulk(out, item);
                left -= 1;
            }
        }
        Value::Set(st) => {
            let (mut count, mut left) = (0, st.len());
            for m in st.members() {
                batch_head(out, b"SADD", key, &mut count, left, 1);
                m.with_bytes(|b| bulk(out, b));
                left -= 1;
            }
        }
        Value::ZSet(z) => {
            let (mut count, mut left) = (0, z.len());
            for (m, score) in z.iter() {
                batch_head(out, b"ZADD", key, &mut count, left, 2);
                bulk_f64(out, score);
                bulk(out, m);
                left -= 1;
            }
        }
        Value::Hash(h) => {
            let (mut count, mut left) = (0, h.len());
            for (f, v) in h.iter() {
                batch_head(out, b"HMSET", key, &mut count, left, 2);
                bulk(out, f);
                bulk(out, v);
                left -= 1;
            }
        }
        Value::Stream(st) => encode_stream(key, st, out),
        v => {
            header(out, b'*', 3);
            bulk(out, b"SET");
            bulk(out, key);
            v.with_str(|s| bulk(out, s));
        }
    }
    if expire_at != 0 {
        header(out, b'*', 3);
        bulk(out, b"PEXPIREAT");
        bulk(out, key);
        bulk_i64(out, expire_at);
    }
}

/// A stream as rewriteStreamObject writes it: XADD per entry (or the `XADD MAXLEN 0` trick for an empty one),
/// XSETID for the last id and counters, then per group XGROUP CREATE, and per consumer either XCLAIM ... FORCE
/// for each pending entry or XGROUP CREATECONSUMER when it has none.
fn encode_stream(key: &[u8], st: &crate::types::stream::Stream, out: &mut Vec<u8>) {
    let id = |i: crate::types::stream::StreamId| i.to_string().into_bytes();
    if !st.is_empty() {
        for e in st.iter() {
            let fields: Vec<&[u8]> = e.elements().collect();
            header(out, b'*', 3 + fields.len());
            bulk(out, b"XADD");
            bulk(out, key);
            bulk(out, &id(e.id));
            for f in fields {
                bulk(out, f);
            }
        }
    } else {
        command(out, &[b"XADD", key, b"MAXLEN", b"0", b"0-1", b"x", b"y"]);
    }
    let added = st.entries_added.to_string();
    command(
        out,
        &[b"XSETID", key, &id(st.last_id), b"ENTRIESADDED", added.as_bytes(), b"MAXDELETEDID", &id(st.max_deleted_id)],
    );
    for (name, g) in &st.groups {
        let read = g.entries_read.to_string();
        command(out, &[b"XGROUP", b"CREATE", key, name, &id(g.last_id), b"ENTRIESREAD", read.as_bytes()]);
        for (cname, c) in &g.consumers {
            if c.pel.is_empty() {
                command(out, &[b"XGROUP", b"CREATECONSUMER", key, name, cname]);
                continue;
            }
            for pid in &c.pel {
                let Some(nack) = g.pel.get(pid) else { continue };
                let (time, count) = (nack.delivery_time.to_string(), nack.delivery_count.to_string());
                command(
                    out,
                    &[
                        b"XCLAIM",
                        key,
                        name,
                        cname,
                        b"0",
                        &id(*pid),
                        b"TIME",
                        time.as_bytes(),
                        b"RETRYCOUNT",
                        count.as_bytes(),
                        b"JUSTID",
                        b"FORCE",
                    ],
                );
            }
        }
    }
}

/// `FUNCTION LOAD <code>` for each function library, which opens a base file (rewriteFunctions).
pub fn encode_functions<'a>(codes: impl Iterator<Item = &'a [u8]>, out: &mut Vec<u8>) {
    for code in codes {
        command(out, &[b"FUNCTION", b"LOAD", code]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::testutil::{new, run};

    fn err(text: &str) -> ManifestError {
        Manifest::parse(text.as_bytes()).unwrap_err()
    }

    #[test]
    fn manifest_round_trip() {
        let text = "file appendonly.aof.2.base.aof seq 2 type b\n\
                    file appendonly.aof.1.incr.aof seq 1 type h\n\
                    file appendonly.aof.3.incr.aof seq 3 type i\n\
                    file appendonly.aof.4.incr.aof seq 4 type i\n";
        let m = Manifest::parse(text.as_bytes()).unwrap();
        assert_eq!(m.base.as_ref().unwrap().name, "appendonly.aof.2.base.aof");
        assert_eq!((m.base_seq, m.incr_seq), (2, 4));
        assert_eq!(m.history.len(), 1);
        assert_eq!(m.files().map(|f| f.name.as_str()).collect::<Vec<_>>().len(), 3);
        assert_eq!(m.to_text(), text);
        // Comments are skipped, keys are case-insensitive, unknown pairs ignored, odd names quoted.
        let m = Manifest::parse(b"# hi\nFILE \"a b.aof\" SEQ 1 TYPE b extra x\n").unwrap();
        assert_eq!(m.base.as_ref().unwrap().name, "a b.aof");
        assert_eq!(m.to_text(), "file \"a b.aof\" seq 1 type b\n");
        assert_eq!(Manifest::parse(m.to_text().as_bytes()).unwrap(), m);
    }

    #[test]
    fn manifest_errors_are_redis_texts() {
        assert_eq!(err("").reason, "Found an empty AOF manifest");
        assert!(err("").line.is_none());
        let e = err("file a seq 1 type b\n\n");
        assert_eq!((e.reason, e.line.clone()), ("Invalid AOF manifest file format", Some((2, String::new()))));
        assert_eq!(err("file a seq 1\n").reason, "Invalid AOF manifest file format");
        assert_eq!(err("file a seq 1 type\n").reason, "Invalid AOF manifest file format");
        assert_eq!(err("file a seq x type b\n").reason, "Invalid AOF manifest file format");
        assert_eq!(err("file \"a seq 1 type b\n").reason, "Invalid AOF manifest file format");
        assert_eq!(err("file d/a seq 1 type b\n").reason, "File can't be a path, just a filename");
        assert_eq!(err("file a seq 1 type b\nfile b seq 2 type b\n").reason, "Found duplicate base file information");
        assert_eq!(err("file a seq 2 type i\nfile b seq 2 type i\n").reason, "Found a non-monotonic sequence number");
        assert_eq!(err("file a seq 1 type x\n").reason, "Unknown AOF file type");
        // Redis's fgets check: a last line without its newline counts as too long.
        assert_eq!(err("file a seq 1 type b").reason, "The AOF manifest file contains too long line");
        let long = format!("file {} seq 1 type b\n", "x".repeat(1100));
        assert_eq!(err(&long).reason, "The AOF manifest file contains too long line");
        let shown = err("file a seq 1 type q\n").to_string();
        assert!(shown.contains("Reading the manifest file, at line 1"), "{shown}");
        assert!(shown.contains(">>> 'file a seq 1 type q'"), "{shown}");
        assert!(shown.ends_with("Unknown AOF file type"), "{shown}");
    }

    #[test]
    fn rewrite_bookkeeping() {
        let mut m = Manifest::default();
        assert_eq!(m.new_base("appendonly.aof", false), "appendonly.aof.1.base.aof");
        assert_eq!(m.new_incr("appendonly.aof"), "appendonly.aof.1.incr.aof");
        assert_eq!(m.new_incr("appendonly.aof"), "appendonly.aof.2.incr.aof");
        assert_eq!(m.new_base("appendonly.aof", true), "appendonly.aof.2.base.rdb");
        m.mark_rewritten_incr_as_history(true);
        assert_eq!(
            m.to_text(),
            "file appendonly.aof.2.base.rdb seq 2 type b\nfile appendonly.aof.1.incr.aof seq 1 type h\n\
             file appendonly.aof.1.base.aof seq 1 type h\nfile appendonly.aof.2.incr.aof seq 2 type i\n"
        );
        m.mark_rewritten_incr_as_history(false);
        assert!(m.incr.is_empty());
        assert_eq!(m.history.len(), 3);
    }

    fn words(data: &[u8]) -> Vec<String> {
        let sc = scan(data);
        (0..sc.cmds.len())
            .map(|i| {
                let (base, refs) = sc.command(data, i);
                refs.iter()
                    .map(|r| String::from_utf8_lossy(r.slice(base, &[], &[])).into_owned())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    }

    #[test]
    fn scan_complete_and_annotations() {
        let mut f = Vec::new();
        f.extend_from_slice(b"#TS:1700000000\r\n");
        command(&mut f, &[b"SET", b"k", b"a\r\nb"]);
        command(&mut f, &[b"DEL", b"k"]);
        let sc = scan(&f);
        assert_eq!(sc.end, ScanEnd::Complete);
        assert_eq!(sc.valid_up_to, f.len());
        assert_eq!(words(&f), vec!["SET k a\r\nb", "DEL k"]);
    }

    #[test]
    fn scan_truncated_tail() {
        let mut f = Vec::new();
        command(&mut f, &[b"SET", b"k", b"v"]);
        let good = f.len();
        command(&mut f, &[b"SET", b"k2", b"value"]);
        for cut in good + 1..f.len() {
            let sc = scan(&f[..cut]);
            assert_eq!(sc.end, ScanEnd::Truncated, "cut at {cut}");
            assert_eq!(sc.valid_up_to, good);
            assert_eq!(sc.cmds.len(), 1);
        }
        // An unfinished transaction counts as a short read: everything from its MULTI is dropped.
        let mut t = f.clone();
        command(&mut t, &[b"MULTI"]);
        command(&mut t, &[b"INCR", b"x"]);
        let sc = scan(&t);
        assert_eq!((sc.end, sc.valid_up_to, sc.cmds.len()), (ScanEnd::Truncated, f.len(), 2));
        command(&mut t, &[b"EXEC"]);
        assert_eq!(scan(&t).end, ScanEnd::Complete);
        assert_eq!(scan(&t).cmds.len(), 5);
    }

    #[test]
    fn scan_bad_format() {
        assert_eq!(scan(b"SET k v\r\n").end, ScanEnd::BadFormat);
        assert_eq!(scan(b"*0\r\n").end, ScanEnd::BadFormat);
        assert_eq!(scan(b"*1\r\n+OK\r\n").end, ScanEnd::BadFormat);
        assert_eq!(scan(b"").end, ScanEnd::Complete);
    }

    /// Encode key `k` of the test state's db 0.
    fn enc(t: &mut crate::commands::testutil::T, expire_at: i64) -> Vec<String> {
        let mut out = Vec::new();
        let e = t.s.dbs[0].peek_stored(b"k").unwrap();
        encode_entry(e, expire_at, &mut out);
        words(&out)
    }

    #[test]
    fn encoder_output_for_each_type() {
        let mut t = new();
        run(&mut t, &["set", "k", "12"]);
        assert_eq!(enc(&mut t, 0), vec!["SET k 12"]);
        let far = clock::now_ms() + 100_000;
        assert_eq!(enc(&mut t, far), vec!["SET k 12".to_string(), format!("PEXPIREAT k {far}")]);
        // Already expired: left out.
        assert!(enc(&mut t, clock::now_ms() - 10).is_empty());
        run(&mut t, &["del", "k"]);
        run(&mut t, &["rpush", "k", "a", "1", "c"]);
        assert_eq!(enc(&mut t, 0), vec!["RPUSH k a 1 c"]);
        run(&mut t, &["del", "k"]);
        run(&mut t, &["sadd", "k", "5"]);
        assert_eq!(enc(&mut t, 0), vec!["SADD k 5"]);
        run(&mut t, &["del", "k"]);
        run(&mut t, &["zadd", "k", "1.5", "a", "inf", "b", "0.1", "c"]);
        assert_eq!(enc(&mut t, 0), vec!["ZADD k 0.10000000000000001 c 1.5 a inf b"]);
        run(&mut t, &["del", "k"]);
        run(&mut t, &["hset", "k", "f", "v", "g", "w"]);
        assert_eq!(enc(&mut t, 0), vec!["HMSET k f v g w"]);
        run(&mut t, &["del", "k"]);
        run(&mut t, &["xadd", "k", "1-1", "f", "v"]);
        run(&mut t, &["xadd", "k", "2-1", "g", "w"]);
        run(&mut t, &["xdel", "k", "2-1"]);
        run(&mut t, &["xgroup", "create", "k", "grp", "0"]);
        run(&mut t, &["xgroup", "createconsumer", "k", "grp", "idle"]);
        run(&mut t, &["xreadgroup", "group", "grp", "alice", "streams", "k", ">"]);
        let cmds = enc(&mut t, 0);
        let head = [
            "XADD k 1-1 f v",
            "XSETID k 2-1 ENTRIESADDED 2 MAXDELETEDID 2-1",
            "XGROUP CREATE k grp 1-1 ENTRIESREAD -1",
        ];
        assert_eq!(cmds[..3], head.map(|s| s.to_string()));
        assert!(
            cmds[3].starts_with("XCLAIM k grp alice 0 1-1 TIME ") && cmds[3].ends_with(" RETRYCOUNT 1 JUSTID FORCE"),
            "{}",
            cmds[3]
        );
        assert_eq!(cmds[4], "XGROUP CREATECONSUMER k grp idle");
        // Replaying the stream's commands rebuilds it, groups and pending entries included.
        let info = |t: &mut crate::commands::testutil::T| {
            (run(t, &["xinfo", "stream", "k"]), run(t, &["xpending", "k", "grp"]))
        };
        let before = info(&mut t);
        let mut out = Vec::new();
        encode_entry(t.s.dbs[0].peek_stored(b"k").unwrap(), 0, &mut out);
        run(&mut t, &["del", "k"]);
        let sc = scan(&out);
        for i in 0..sc.cmds.len() {
            let (base, refs) = sc.command(&out, i);
            let args: Vec<&[u8]> = refs.iter().map(|r| r.slice(base, &[], &[])).collect();
            let r = crate::commands::run_args(&mut t.s, t.me, &args);
            assert!(!r.starts_with(b"-"), "{}", String::from_utf8_lossy(&r));
        }
        assert_eq!(info(&mut t), before);
        // An empty stream: the MAXLEN 0 trick, then the real last id.
        run(&mut t, &["del", "k"]);
        run(&mut t, &["xgroup", "create", "k", "g", "$", "mkstream"]);
        assert_eq!(
            enc(&mut t, 0)[..2],
            ["XADD k MAXLEN 0 0-1 x y".to_string(), "XSETID k 0-0 ENTRIESADDED 0 MAXDELETEDID 0-0".to_string()]
        );
    }

    #[test]
    fn encoder_batches_64_items() {
        let mut t = new();
        let mut args = vec!["rpush".to_string(), "k".to_string()];
        args.extend((0..130).map(|i| format!("e{i}")));
        let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        run(&mut t, &a);
        let cmds = enc(&mut t, 0);
        let counts: Vec<usize> = cmds.iter().map(|c| c.split(' ').count() - 2).collect();
        assert_eq!(counts, vec![64, 64, 2]);
        assert!(cmds[2].ends_with("e128 e129"));
        run(&mut t, &["del", "k"]);
        let mut args = vec!["hset".to_string(), "k".to_string()];
        args.extend((0..65).flat_map(|i| [format!("f{i}"), "v".to_string()]));
        let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        run(&mut t, &a);
        let counts: Vec<usize> = enc(&mut t, 0).iter().map(|c| (c.split(' ').count() - 2) / 2).collect();
        assert_eq!(counts, vec![64, 1]);
    }
}
