//! Request decoding: RESP multibulk and inline commands into argument ranges (resp layer, no actors).
//!
//! Arguments are not copied: each is an `ArgRef` into the connection's read buffer, which travels with the
//! batch to the Keyspace and back. Inline arguments that need unquoting are written to a small scratch
//! buffer instead. Limits and error texts follow Redis's networking.c.

use crate::error::ProtocolError;

/// Longest inline request or multibulk/bulk header line Redis accepts (PROTO_INLINE_MAX_SIZE).
pub const INLINE_MAX: usize = 64 * 1024;
/// Most arguments in one multibulk request.
pub const MULTIBULK_MAX: i64 = 1024 * 1024;
/// `ArgRef::start` values at or above this point into the scratch buffer, not the read buffer.
pub const SCRATCH_BASE: u32 = 1 << 31;

/// Where one argument's bytes are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArgRef {
    pub start: u32,
    pub len: u32,
}

impl ArgRef {
    #[inline]
    pub fn slice<'a>(&self, input: &'a [u8], scratch: &'a [u8]) -> &'a [u8] {
        if self.start >= SCRATCH_BASE {
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
    Command { consumed: usize, argc: usize },
    /// Bytes that carry no command (empty inline line, `*0`, `*-1`).
    Skip { consumed: usize },
    /// Not enough bytes yet; `need` is a lower bound of the total bytes the command will take, when known.
    Incomplete { need: usize },
}

/// Parse one request starting at `input[pos..]`.
pub fn parse_one(
    input: &[u8],
    pos: usize,
    max_bulk: u64,
    args: &mut Vec<ArgRef>,
    scratch: &mut Vec<u8>,
) -> Result<Step, ProtocolError> {
    let buf = &input[pos..];
    if buf.is_empty() {
        return Ok(Step::Incomplete { need: 0 });
    }
    if buf[0] == b'*' {
        parse_multibulk(buf, pos, max_bulk, args)
    } else {
        parse_inline(buf, pos, args, scratch)
    }
}

/// Position of the first '\r' at or after `from`, once the byte after it has arrived (Redis looks for
/// '\r' and then expects '\n').
#[inline]
fn find_crlf(buf: &[u8], from: usize) -> Option<usize> {
    let r = from + memchr(b'\r', buf.get(from..)?)?;
    (r + 1 < buf.len()).then_some(r)
}

#[inline]
fn memchr(c: u8, s: &[u8]) -> Option<usize> {
    s.iter().position(|&b| b == c)
}

/// Redis's string2ll for protocol lengths: optional '-', digits only.
fn parse_len(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    let (neg, d) = if s[0] == b'-' { (true, &s[1..]) } else { (false, s) };
    if d.is_empty() {
        return None;
    }
    let mut v: i64 = 0;
    for &c in d {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as i64)?;
    }
    Some(if neg { -v } else { v })
}

fn parse_multibulk(buf: &[u8], pos: usize, max_bulk: u64, args: &mut Vec<ArgRef>) -> Result<Step, ProtocolError> {
    let Some(nl) = find_crlf(buf, 1) else {
        if buf.len() > INLINE_MAX {
            return Err(ProtocolError::new("too big mbulk count string"));
        }
        return Ok(Step::Incomplete { need: 0 });
    };
    if nl > INLINE_MAX {
        return Err(ProtocolError::new("too big mbulk count string"));
    }
    let count = match parse_len(&buf[1..nl]) {
        Some(n) if n <= MULTIBULK_MAX => n,
        _ => return Err(ProtocolError::new("invalid multibulk length")),
    };
    let mut p = nl + 2;
    if count <= 0 {
        return Ok(Step::Skip { consumed: p });
    }
    let first = args.len();
    for _ in 0..count {
        if p >= buf.len() {
            args.truncate(first);
            return Ok(Step::Incomplete { need: 0 });
        }
        if buf[p] != b'$' {
            args.truncate(first);
            return Err(ProtocolError::new(format!("expected '$', got '{}'", buf[p] as char)));
        }
        let Some(nl) = find_crlf(buf, p + 1) else {
            args.truncate(first);
            if buf.len() - p > INLINE_MAX {
                return Err(ProtocolError::new("too big bulk count string"));
            }
            return Ok(Step::Incomplete { need: 0 });
        };
        if nl - p > INLINE_MAX {
            args.truncate(first);
            return Err(ProtocolError::new("too big bulk count string"));
        }
        let len = match parse_len(&buf[p + 1..nl]) {
            Some(n) if n >= 0 && (n as u64) <= max_bulk => n as usize,
            _ => {
                args.truncate(first);
                return Err(ProtocolError::new("invalid bulk length"));
            }
        };
        let start = nl + 2;
        if buf.len() < start + len + 2 {
            args.truncate(first);
            return Ok(Step::Incomplete { need: pos + start + len + 2 });
        }
        args.push(ArgRef { start: (pos + start) as u32, len: len as u32 });
        p = start + len + 2;
    }
    Ok(Step::Command { consumed: p, argc: count as usize })
}

fn parse_inline(buf: &[u8], pos: usize, args: &mut Vec<ArgRef>, scratch: &mut Vec<u8>) -> Result<Step, ProtocolError> {
    let Some(nl) = memchr(b'\n', buf) else {
        if buf.len() > INLINE_MAX {
            return Err(ProtocolError::new("too big inline request"));
        }
        return Ok(Step::Incomplete { need: 0 });
    };
    if nl > INLINE_MAX {
        return Err(ProtocolError::new("too big inline request"));
    }
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
        while i < n && line[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= n {
            return true;
        }
        if line[i] != b'"' && line[i] != b'\'' {
            let s = i;
            let mut quoted_inside = false;
            while i < n && !line[i].is_ascii_whitespace() {
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
                    if i + 1 < n && !line[i + 1].is_ascii_whitespace() {
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
                    if i + 1 < n && !line[i + 1].is_ascii_whitespace() {
                        return false;
                    }
                    insq = false;
                    i += 1;
                    break;
                }
                scratch.push(line[i]);
                i += 1;
            } else {
                if i >= n || line[i].is_ascii_whitespace() {
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
                    out.push(args[first..].iter().map(|a| a.slice(input, &scratch).to_vec()).collect());
                    pos += consumed;
                }
                Step::Skip { consumed } => pos += consumed,
                Step::Incomplete { .. } => return Ok(out),
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
    }
}
