//! Request decoding: RESP multibulk and inline commands into argument ranges (resp layer, no actors).
//!
//! Arguments are not copied: each is an `ArgRef` into the connection's read buffer, which travels with the
//! batch to the Keyspace and back. Inline arguments that need unquoting are written to a small scratch
//! buffer instead. Limits and error texts follow Redis's networking.c.

use crate::error::ProtocolError;

/// Longest inline request or multibulk/bulk header line Redis waits for (PROTO_INLINE_MAX_SIZE): past it
/// without a line end the request is refused. A line end that has already arrived is taken at any length.
pub const INLINE_MAX: usize = 64 * 1024;
/// Most arguments in one multibulk request: Redis accepts up to INT_MAX. Memory stays bounded by the
/// query buffer limit (each argument takes at least six bytes of input), and a partial request is parsed
/// once, not once per read (see `parse_multibulk`).
pub const MULTIBULK_MAX: i64 = i32::MAX as i64;
/// Most arguments a client that must still authenticate may send in one multibulk request (Redis's
/// processMultibulkBuffer): enough for AUTH and HELLO, small enough that no stranger can make the server
/// buffer much before it knows who is asking.
pub const UNAUTH_MULTIBULK_MAX: i64 = 10;
/// Longest bulk such a client may send.
pub const UNAUTH_BULK_MAX: usize = 16384;
/// `ArgRef::start` values at or above this point into the scratch buffer, not the read buffer.
pub const SCRATCH_BASE: u32 = 1 << 31;
/// `ArgRef::start` of the marker a partial multibulk leaves behind its arguments (see `parse_multibulk`).
const RESUME: u32 = u32::MAX;
/// `ArgRef::start` of the argument read into a buffer of its own (see `Outside`).
pub const OUTSIDE: u32 = u32::MAX - 1;
/// Bulks this long are read into a buffer of their own rather than the read buffer (Redis's
/// PROTO_MBULK_BIG_ARG): a command that keeps the argument (SET) then takes that buffer without copying it.
pub const BIG_ARG: usize = 32 * 1024;

/// A bulk whose payload is not in the input: the `len` bytes that belong at input offset `at` (where its
/// `$len` header line ends) were read into a buffer of their own (of exactly that size: with the CRLF it
/// would take the allocator's next size class, 40 MB for a 32 MB value), and the input goes on at `at` with
/// the CRLF that followed the payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outside {
    pub at: usize,
    pub len: usize,
}

impl Outside {
    /// No argument is outside the input.
    pub const NONE: Outside = Outside { at: usize::MAX, len: 0 };
}

/// Where one argument's bytes are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArgRef {
    /// Offset in the input buffer, or `SCRATCH_BASE` + offset in the scratch buffer (unescaped inline args).
    pub start: u32,
    /// Length in bytes.
    pub len: u32,
}

impl ArgRef {
    /// The argument's bytes (`outside`: the payload of the `OUTSIDE` argument, if any).
    #[inline]
    pub fn slice<'a>(&self, input: &'a [u8], scratch: &'a [u8], outside: &'a [u8]) -> &'a [u8] {
        if self.start >= SCRATCH_BASE {
            if self.start == OUTSIDE {
                return outside;
            }
            let s = (self.start - SCRATCH_BASE) as usize;
            &scratch[s..s + self.len as usize]
        } else {
            let s = self.start as usize;
            &input[s..s + self.len as usize]
        }
    }
}

/// What one parse step found.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// A whole command: its arguments were appended; `consumed` bytes of input are used.
    Command {
        /// Input bytes the command took.
        consumed: usize,
        /// Arguments appended, the name included.
        argc: usize,
    },
    /// Bytes that carry no command (empty inline line, `*0`, `*-1`).
    Skip {
        /// Input bytes skipped.
        consumed: usize,
    },
    /// Not enough bytes yet; `need` is a lower bound of the total bytes the command will take, when known.
    /// A multibulk request may leave its arguments so far in `args`, for the next call at the same
    /// position to go on from (the caller keeps `args` as they are until then, or clears them).
    Incomplete {
        /// Lower bound of the total bytes the command takes (0: unknown).
        need: usize,
    },
    /// Not enough bytes yet, and what is missing is the payload of a bulk of at least `BIG_ARG` bytes: the
    /// caller reads it into a buffer of its own and parses again with it as `Outside` (the partial
    /// arguments stay in `args` as for `Incomplete`).
    BigBulk(Outside),
}

/// Parse one request starting at `input[pos..]`.
pub fn parse_one(
    input: &[u8],
    pos: usize,
    max_bulk: u64,
    args: &mut Vec<ArgRef>,
    scratch: &mut Vec<u8>,
) -> Result<Step, ProtocolError> {
    parse_one_outside(input, pos, max_bulk, false, args, scratch, Outside::NONE)
}

/// `parse_one` with a bulk's payload read outside the input (see `Step::BigBulk`), and with the limits of a
/// client that must still authenticate when `unauth` (UNAUTH_MULTIBULK_MAX, UNAUTH_BULK_MAX).
pub fn parse_one_outside(
    input: &[u8],
    pos: usize,
    max_bulk: u64,
    unauth: bool,
    args: &mut Vec<ArgRef>,
    scratch: &mut Vec<u8>,
    outside: Outside,
) -> Result<Step, ProtocolError> {
    let resume = take_resume(args, pos);
    let buf = &input[pos..];
    if buf.is_empty() {
        return Ok(Step::Incomplete { need: 0 });
    }
    if buf[0] == b'*' {
        parse_multibulk(buf, pos, max_bulk, unauth, args, resume, outside)
    } else {
        parse_inline(buf, pos, args, scratch)
    }
}

/// A partial multibulk at `pos` left by the previous call: (where its next argument starts, relative to
/// `pos`; index of its first argument in `args`). A marker for another position is stale: its partial
/// arguments are dropped.
fn take_resume(args: &mut Vec<ArgRef>, pos: usize) -> Option<(usize, usize)> {
    let n = args.len();
    if n < 2 || args[n - 2].start != RESUME {
        return None;
    }
    let (at, next) = (args[n - 2].len as usize, args[n - 1]);
    args.truncate(n - 2);
    let first = next.len as usize;
    if at != pos || first > args.len() {
        args.truncate(first.min(args.len()));
        return None;
    }
    Some((next.start as usize, first))
}

/// Position of the '\r' ending a header line that starts at `from`, once the byte after it has arrived.
/// As Redis's strchr over its NUL-terminated buffer, a NUL before the '\r' hides it: the line is not
/// complete until the length limit refuses it.
#[inline]
fn find_cr(buf: &[u8], from: usize) -> Option<usize> {
    let r = from + buf.get(from..)?.iter().position(|&b| b == b'\r' || b == 0)?;
    (buf[r] == b'\r' && r + 1 < buf.len()).then_some(r)
}

/// Redis's string2ll for protocol lengths: an optional '-', then "0" or digits without a leading zero.
#[inline]
fn parse_len(s: &[u8]) -> Option<i64> {
    crate::types::num::parse_i64(s)
}

/// A multibulk request (processMultibulkBuffer). When it is incomplete after some of its arguments, those
/// stay in `args` followed by a two-entry marker (RESUME, pos) (next argument's offset, index of the first
/// argument), so that a request of millions of arguments arriving over many reads is parsed once.
fn parse_multibulk(
    buf: &[u8],
    pos: usize,
    max_bulk: u64,
    unauth: bool,
    args: &mut Vec<ArgRef>,
    resume: Option<(usize, usize)>,
    outside: Outside,
) -> Result<Step, ProtocolError> {
    let Some(nl) = find_cr(buf, 1) else {
        if buf.len() > INLINE_MAX {
            return Err(ProtocolError::new("too big mbulk count string"));
        }
        return Ok(Step::Incomplete { need: 0 });
    };
    let count = match parse_len(&buf[1..nl]) {
        Some(n) if n <= MULTIBULK_MAX => n,
        _ => return Err(ProtocolError::new("invalid multibulk length")),
    };
    if unauth && count > UNAUTH_MULTIBULK_MAX {
        return Err(ProtocolError::new("unauthenticated multibulk length"));
    }
    let mut p = nl + 2;
    if count <= 0 {
        return Ok(Step::Skip { consumed: p });
    }
    let mut first = args.len();
    if let Some((next, f)) = resume {
        // Only a marker this parse left (its offset lies past the header, its arguments are fewer than
        // the count): anything else restarts the request from its header.
        if next >= p && next <= buf.len() && ((args.len() - f) as i64) < count {
            p = next;
            first = f;
        } else {
            args.truncate(f);
        }
    }
    let incomplete = |args: &mut Vec<ArgRef>, p: usize, step: Step| {
        args.push(ArgRef { start: RESUME, len: pos as u32 });
        args.push(ArgRef { start: p as u32, len: first as u32 });
        Ok(step)
    };
    while ((args.len() - first) as i64) < count {
        if p >= buf.len() {
            return incomplete(args, p, Step::Incomplete { need: 0 });
        }
        let Some(nl) = find_cr(buf, p) else {
            if buf.len() - p > INLINE_MAX {
                args.truncate(first);
                return Err(ProtocolError::new("too big bulk count string"));
            }
            return incomplete(args, p, Step::Incomplete { need: 0 });
        };
        if buf[p] != b'$' {
            args.truncate(first);
            // The byte as it is, as Redis's %c writes it (crate::error::bytes_to_text keeps non-UTF-8).
            let got = crate::error::bytes_to_text(&[buf[p]]);
            return Err(ProtocolError::new(format!("expected '$', got '{got}'")));
        }
        let len = match parse_len(&buf[p + 1..nl]) {
            Some(n) if n >= 0 && (n as u64) <= max_bulk => n as usize,
            _ => {
                args.truncate(first);
                return Err(ProtocolError::new("invalid bulk length"));
            }
        };
        if unauth && len > UNAUTH_BULK_MAX {
            args.truncate(first);
            return Err(ProtocolError::new("unauthenticated bulk length"));
        }
        let start = nl + 2;
        if pos + start == outside.at && len == outside.len {
            // The payload was read outside; the CRLF after it is in the input (skipped, as Redis does).
            if buf.len() < start + 2 {
                return incomplete(args, p, Step::Incomplete { need: pos + start + 2 });
            }
            args.push(ArgRef { start: OUTSIDE, len: len as u32 });
            p = start + 2;
            continue;
        }
        if buf.len() < start + len + 2 {
            let step = if len >= BIG_ARG {
                Step::BigBulk(Outside { at: pos + start, len })
            } else {
                Step::Incomplete { need: pos + start + len + 2 }
            };
            return incomplete(args, p, step);
        }
        args.push(ArgRef { start: (pos + start) as u32, len: len as u32 });
        p = start + len + 2;
    }
    Ok(Step::Command { consumed: p, argc: args.len() - first })
}

/// An inline request (processInlineBuffer): the line up to '\n' (a '\r' before it dropped), split as
/// sdssplitargs does. As Redis's strchr, a NUL before the '\n' hides it.
fn parse_inline(buf: &[u8], pos: usize, args: &mut Vec<ArgRef>, scratch: &mut Vec<u8>) -> Result<Step, ProtocolError> {
    let nl = buf.iter().position(|&b| b == b'\n' || b == 0).filter(|&i| buf[i] == b'\n');
    let Some(nl) = nl else {
        if buf.len() > INLINE_MAX {
            return Err(ProtocolError::new("too big inline request"));
        }
        return Ok(Step::Incomplete { need: 0 });
    };
    let mut line = &buf[..nl];
    if line.last() == Some(&b'\r') {
        line = &line[..line.len() - 1];
    }
    let first = args.len();
    if !split_args(line, pos, args, scratch) {
        args.truncate(first);
        return Err(ProtocolError::new("unbalanced quotes in request"));
    }
    let argc = args.len() - first;
    if argc == 0 {
        return Ok(Step::Skip { consumed: nl + 1 });
    }
    Ok(Step::Command { consumed: nl + 1, argc })
}

/// C's isspace: what sdssplitargs skips between arguments and accepts after a closing quote.
#[inline]
fn c_isspace(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// What ends an unquoted argument in sdssplitargs (vertical tab and form feed do not).
#[inline]
fn ends_word(c: u8) -> bool {
    matches!(c, b' ' | b'\n' | b'\r' | b'\t')
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Redis's sdssplitargs. Plain words are referenced in place; quoted ones are unescaped into `scratch`.
/// Returns false on unbalanced quotes.
fn split_args(line: &[u8], pos: usize, args: &mut Vec<ArgRef>, scratch: &mut Vec<u8>) -> bool {
    let mut i = 0;
    let n = line.len();
    loop {
        while i < n && c_isspace(line[i]) {
            i += 1;
        }
        if i >= n {
            return true;
        }
        if line[i] != b'"' && line[i] != b'\'' {
            let s = i;
            let mut quoted_inside = false;
            while i < n && !ends_word(line[i]) {
                if line[i] == b'"' || line[i] == b'\'' {
                    quoted_inside = true;
                    break;
                }
                i += 1;
            }
            if !quoted_inside {
                args.push(ArgRef { start: (pos + s) as u32, len: (i - s) as u32 });
                continue;
            }
            // A word with a quote in the middle: fall through to the general unescaping path.
            i = s;
        }
        let start = scratch.len();
        let mut inq = false;
        let mut insq = false;
        loop {
            if inq {
                if i >= n {
                    return false;
                }
                if line[i] == b'\\' && i + 3 < n && line[i + 1] == b'x' {
                    if let (Some(a), Some(b)) = (hex(line[i + 2]), hex(line[i + 3])) {
                        scratch.push(a * 16 + b);
                        i += 4;
                        continue;
                    }
                }
                if line[i] == b'\\' && i + 1 < n {
                    let c = match line[i + 1] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        c => c,
                    };
                    scratch.push(c);
                    i += 2;
                    continue;
                }
                if line[i] == b'"' {
                    // The closing quote must be followed by a space or the end.
                    if i + 1 < n && !c_isspace(line[i + 1]) {
                        return false;
                    }
                    inq = false;
                    i += 1;
                    break;
                }
                scratch.push(line[i]);
                i += 1;
            } else if insq {
                if i >= n {
                    return false;
                }
                if line[i] == b'\\' && i + 1 < n && line[i + 1] == b'\'' {
                    scratch.push(b'\'');
                    i += 2;
                    continue;
                }
                if line[i] == b'\'' {
                    if i + 1 < n && !c_isspace(line[i + 1]) {
                        return false;
                    }
                    insq = false;
                    i += 1;
                    break;
                }
                scratch.push(line[i]);
                i += 1;
            } else {
                if i >= n || ends_word(line[i]) {
                    break;
                }
                match line[i] {
                    b'"' => inq = true,
                    b'\'' => insq = true,
                    c => scratch.push(c),
                }
                i += 1;
            }
        }
        let _ = (inq, insq);
        args.push(ArgRef { start: SCRATCH_BASE + start as u32, len: (scratch.len() - start) as u32 });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(input: &[u8]) -> Result<Vec<Vec<Vec<u8>>>, ProtocolError> {
        let mut args = Vec::new();
        let mut scratch = Vec::new();
        let mut pos = 0;
        let mut out = Vec::new();
        loop {
            match parse_one(input, pos, 512 * 1024 * 1024, &mut args, &mut scratch)? {
                Step::Command { consumed, argc } => {
                    let first = args.len() - argc;
                    out.push(args[first..].iter().map(|a| a.slice(input, &scratch, &[]).to_vec()).collect());
                    pos += consumed;
                }
                Step::Skip { consumed } => pos += consumed,
                Step::Incomplete { .. } | Step::BigBulk(_) => return Ok(out),
            }
        }
    }

    fn strs(v: &[&str]) -> Vec<Vec<u8>> {
        v.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    #[test]
    fn multibulk_and_partial() {
        let full = b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$4\r\nPING\r\n";
        assert_eq!(parse_all(full).unwrap(), vec![strs(&["GET", "k"]), strs(&["PING"])]);
        for cut in 0..full.len() {
            let got = parse_all(&full[..cut]).unwrap();
            assert!(got.len() <= 2);
        }
        assert_eq!(parse_all(b"*-1\r\n*0\r\n*1\r\n$1\r\na\r\n").unwrap(), vec![strs(&["a"])]);
    }

    #[test]
    fn inline_with_quotes() {
        assert_eq!(parse_all(b"set a b\r\n").unwrap(), vec![strs(&["set", "a", "b"])]);
        assert_eq!(parse_all(b"\r\n\nping\n").unwrap(), vec![strs(&["ping"])]);
        assert_eq!(
            parse_all(b"set \"a b\" 'c\\'d' \"\\x41\\n\"\r\n").unwrap(),
            vec![vec![b"set".to_vec(), b"a b".to_vec(), b"c'd".to_vec(), b"A\n".to_vec()]]
        );
        assert_eq!(parse_all(b"set \"\"\"x\r\n").unwrap_err().0, "unbalanced quotes in request");
        assert_eq!(parse_all(b"set \"abc\r\n").unwrap_err().0, "unbalanced quotes in request");
    }

    #[test]
    fn protocol_errors_have_redis_texts() {
        assert_eq!(parse_all(b"*3000000000\r\n").unwrap_err().0, "invalid multibulk length");
        assert_eq!(parse_all(b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n").unwrap_err().0, "expected '$', got 'f'");
        assert_eq!(parse_all(b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$-10\r\n").unwrap_err().0, "invalid bulk length");
        assert_eq!(parse_all(b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$blabla\r\n").unwrap_err().0, "invalid bulk length");
        assert_eq!(parse_all(b"*1\r\n$2000000000\r\n").unwrap_err().0, "invalid bulk length");
        let big = vec![b'A'; INLINE_MAX + 10];
        assert_eq!(parse_all(&big).unwrap_err().0, "too big inline request");
        let mut star = b"*".to_vec();
        star.extend_from_slice(&big);
        assert_eq!(parse_all(&star).unwrap_err().0, "too big mbulk count string");
        // string2ll: no leading zeros, no "-0", no '+'.
        for bad in [&b"*1\r\n$-0\r\n"[..], b"*1\r\n$0004\r\nPING\r\n", b"*1\r\n$+4\r\nPING\r\n"] {
            assert_eq!(parse_all(bad).unwrap_err().0, "invalid bulk length");
        }
        for bad in [&b"*02\r\n$4\r\nPING\r\n"[..], b"*-0\r\n", b"*+1\r\n", b"*2147483648\r\n"] {
            assert_eq!(parse_all(bad).unwrap_err().0, "invalid multibulk length");
        }
        // The offending byte is echoed as it is.
        let e = parse_all(b"*1\r\n\xff4\r\nPING\r\n").unwrap_err();
        assert_eq!(e.reply(), b"-ERR Protocol error: expected '$', got '\xff'\r\n");
        // A header line that has arrived whole is parsed at any length (then refused as a bad number).
        let mut long = b"*".to_vec();
        long.extend_from_slice(&vec![b'1'; INLINE_MAX + 10]);
        long.extend_from_slice(b"\r\n");
        assert_eq!(parse_all(&long).unwrap_err().0, "invalid multibulk length");
    }

    #[test]
    fn unauthenticated_limits() {
        let unauth = |input: &[u8]| {
            let (mut args, mut scratch) = (Vec::new(), Vec::new());
            parse_one_outside(input, 0, 512 << 20, true, &mut args, &mut scratch, Outside::NONE)
        };
        let err = |input: &[u8]| unauth(input).unwrap_err().0;
        assert_eq!(err(b"*100\r\n"), "unauthenticated multibulk length");
        assert_eq!(err(b"*11\r\n"), "unauthenticated multibulk length");
        // The count is checked before the arguments arrive, the bulk length before its payload does.
        assert_eq!(err(b"*1\r\n$100000000\r\n"), "unauthenticated bulk length");
        assert_eq!(err(b"*2\r\n$4\r\nAUTH\r\n$16385\r\n"), "unauthenticated bulk length");
        // Malformed lengths keep their own errors.
        assert_eq!(err(b"*3000000000\r\n"), "invalid multibulk length");
        assert_eq!(err(b"*1\r\n$-1\r\n"), "invalid bulk length");
        // At the limits, and inline requests (bounded by INLINE_MAX only), are fine.
        let mut ten = b"*10\r\n".to_vec();
        for _ in 0..10 {
            ten.extend_from_slice(b"$1\r\nx\r\n");
        }
        assert_eq!(unauth(&ten).unwrap(), Step::Command { consumed: ten.len(), argc: 10 });
        let mut bulk = b"*1\r\n$16384\r\n".to_vec();
        bulk.extend_from_slice(&[b'x'; 16384]);
        bulk.extend_from_slice(b"\r\n");
        assert_eq!(unauth(&bulk).unwrap(), Step::Command { consumed: bulk.len(), argc: 1 });
        let inline = b"a b c d e f g h i j k l\r\n";
        assert_eq!(unauth(inline).unwrap(), Step::Command { consumed: inline.len(), argc: 12 });
        // Without the flag, the same requests are only incomplete.
        assert_eq!(parse_all(b"*100\r\n").unwrap(), Vec::<Vec<Vec<u8>>>::new());
    }

    #[test]
    fn inline_lines_as_redis_splits_them() {
        // A whole line longer than 64 KB runs (Redis refuses only while no line end has arrived).
        let mut line = b"ECHO ".to_vec();
        line.extend_from_slice(&vec![b'x'; INLINE_MAX + 10]);
        line.extend_from_slice(b"\r\n");
        assert_eq!(parse_all(&line).unwrap()[0][1].len(), INLINE_MAX + 10);
        // Vertical tab and form feed are skipped between arguments but belong to an unquoted one.
        assert_eq!(parse_all(b"\x0bPING\r\n").unwrap(), vec![strs(&["PING"])]);
        assert_eq!(parse_all(b"ECHO a\x0cb\r\n").unwrap(), vec![strs(&["ECHO", "a\x0cb"])]);
        assert_eq!(parse_all(b"ECHO \"a\"\x0b\r\n").unwrap(), vec![strs(&["ECHO", "a"])]);
        // A NUL hides the line end from Redis's strchr: no command until the length limit refuses it.
        assert_eq!(parse_all(b"PI\0NG\r\nPING\r\n").unwrap(), Vec::<Vec<Vec<u8>>>::new());
        assert_eq!(parse_all(b"*1\0\r\n$4\r\nPING\r\n").unwrap(), Vec::<Vec<Vec<u8>>>::new());
        assert_eq!(parse_all(b"*1\r\n$4\0\r\nPING\r\n").unwrap(), Vec::<Vec<Vec<u8>>>::new());
        let mut nul = b"PING\0\r\n".to_vec();
        nul.extend_from_slice(&vec![b' '; INLINE_MAX]);
        assert_eq!(parse_all(&nul).unwrap_err().0, "too big inline request");
        // NUL inside a bulk is data.
        assert_eq!(parse_all(b"*1\r\n$3\r\na\0b\r\n").unwrap(), vec![vec![b"a\0b".to_vec()]]);
    }

    /// More than 1,048,576 arguments are accepted, and a request that arrives over many reads is parsed
    /// once: the arguments already parsed are not read again.
    #[test]
    fn huge_multibulk_resumes_where_it_stopped() {
        let n = 1_100_000usize;
        let mut input = format!("*{n}\r\n").into_bytes();
        for _ in 0..n {
            input.extend_from_slice(b"$1\r\na\r\n");
        }
        let (mut args, mut scratch) = (Vec::new(), Vec::new());
        let mut buf = Vec::new();
        let mut result = None;
        for chunk in input.chunks(16 * 1024) {
            buf.extend_from_slice(chunk);
            match parse_one(&buf, 0, 512 * 1024 * 1024, &mut args, &mut scratch).unwrap() {
                Step::Incomplete { .. } => {
                    // Garble the first argument's header: a parse that started over would now fail.
                    if buf.len() > 20 {
                        let at = buf.iter().position(|&b| b == b'$').unwrap();
                        buf[at] = b'!';
                    }
                }
                done => result = Some(done),
            }
        }
        assert_eq!(result, Some(Step::Command { consumed: input.len(), argc: n }));
        assert_eq!(args.len(), n);
        // A marker left for another position is dropped with its arguments.
        let (mut args, mut scratch) = (Vec::new(), Vec::new());
        let part = b"*2\r\n$1\r\na\r\n";
        assert_eq!(parse_one(part, 0, 100, &mut args, &mut scratch).unwrap(), Step::Incomplete { need: 0 });
        let other = b"xx*1\r\n$1\r\nb\r\n";
        assert_eq!(parse_one(other, 2, 100, &mut args, &mut scratch).unwrap(), Step::Command { consumed: 11, argc: 1 });
        assert_eq!(args, vec![ArgRef { start: 10, len: 1 }]);
    }

    #[test]
    fn big_bulk_payload_is_read_outside_the_input() {
        let big = vec![b'x'; BIG_ARG];
        let mut req = format!("*5\r\n$3\r\nset\r\n$1\r\nk\r\n${}\r\n", big.len()).into_bytes();
        let at = req.len();
        req.extend_from_slice(&big[..100]);
        let (mut args, mut scratch) = (Vec::new(), Vec::new());
        // The payload is incomplete: the parser says where it belongs and how long it is.
        let step = parse_one(&req, 0, u64::MAX, &mut args, &mut scratch).unwrap();
        assert_eq!(step, Step::BigBulk(Outside { at, len: BIG_ARG }));
        // One byte short of BIG_ARG is read into the input as usual.
        let small = format!("*1\r\n${}\r\nab", BIG_ARG - 1);
        let step = parse_one(small.as_bytes(), 0, u64::MAX, &mut Vec::new(), &mut Vec::new()).unwrap();
        assert_eq!(step, Step::Incomplete { need: small.len() - 2 + BIG_ARG - 1 + 2 });
        // The caller moved the payload out; the input goes on with the CRLF after it, then the rest.
        req.truncate(at);
        let outside = Outside { at, len: BIG_ARG };
        let step = parse_one_outside(&req, 0, u64::MAX, false, &mut args, &mut scratch, outside).unwrap();
        assert_eq!(step, Step::Incomplete { need: at + 2 });
        req.extend_from_slice(b"\r\n$2\r\nEX\r\n");
        let step = parse_one_outside(&req, 0, u64::MAX, false, &mut args, &mut scratch, outside).unwrap();
        assert_eq!(step, Step::Incomplete { need: 0 });
        req.extend_from_slice(b"$2\r\n10\r\n");
        let step = parse_one_outside(&req, 0, u64::MAX, false, &mut args, &mut scratch, outside).unwrap();
        assert_eq!(step, Step::Command { consumed: req.len(), argc: 5 });
        let got: Vec<&[u8]> = args.iter().map(|a| a.slice(&req, &scratch, &big)).collect();
        assert_eq!(got, vec![&b"set"[..], b"k", &big[..], b"EX", b"10"]);
    }
}
