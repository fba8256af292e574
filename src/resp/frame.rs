//! Frame: a decoded RESP2/RESP3 reply, for the in-process client and tests (resp layer).

use std::fmt;

/// A reply as the server encoded it: RESP2 types, and the RESP3 ones a client gets after `HELLO 3`.
#[derive(Clone, Debug, PartialEq)]
pub enum Frame {
    /// `+OK`: a simple string.
    Simple(String),
    /// `-ERR ...`: an error reply, code first. `Client::cmd` returns a top-level one as `Err`; errors
    /// nested in a reply (EXEC's results) stay here.
    Error(String),
    /// `:42`: an integer.
    Integer(i64),
    /// `$3 foo`: a binary-safe string.
    Bulk(Vec<u8>),
    /// A missing value: RESP2's `$-1` and `*-1`, RESP3's `_`.
    Null,
    /// `*n`: an array.
    Array(Vec<Frame>),
    /// `%n`: a map (RESP3), pairs in the server's order.
    Map(Vec<(Frame, Frame)>),
    /// `~n`: a set (RESP3).
    Set(Vec<Frame>),
    /// `>n`: out-of-band data (RESP3).
    Push(Vec<Frame>),
    /// `,1.5`: a double (RESP3).
    Double(f64),
    /// `#t`: a boolean (RESP3).
    Boolean(bool),
    /// `(123...`: a big number (RESP3), as its decimal text.
    BigNumber(String),
    /// `=`: a verbatim string (RESP3): its format (`txt`, `mkd`) and its text.
    Verbatim(String, Vec<u8>),
}

impl Frame {
    /// Text of a simple or bulk string reply.
    pub fn as_str(&self) -> Option<String> {
        match self {
            Frame::Simple(s) => Some(s.clone()),
            Frame::Bulk(b) | Frame::Verbatim(_, b) => Some(String::from_utf8_lossy(b).into_owned()),
            _ => None,
        }
    }

    /// Is this an error reply?
    pub fn is_error(&self) -> bool {
        matches!(self, Frame::Error(_))
    }
}

impl fmt::Display for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Frame::Simple(s) => write!(f, "{s}"),
            Frame::Error(s) => write!(f, "(error) {s}"),
            Frame::Integer(i) => write!(f, "(integer) {i}"),
            Frame::Bulk(b) => write!(f, "\"{}\"", String::from_utf8_lossy(b)),
            Frame::Null => write!(f, "(nil)"),
            Frame::Double(d) => write!(f, "(double) {d}"),
            Frame::Boolean(b) => write!(f, "({b})"),
            Frame::BigNumber(n) => write!(f, "(big number) {n}"),
            Frame::Verbatim(_, b) => write!(f, "{}", String::from_utf8_lossy(b)),
            Frame::Array(v) | Frame::Set(v) | Frame::Push(v) => {
                write!(f, "[")?;
                for (i, x) in v.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{x}")?;
                }
                write!(f, "]")
            }
            Frame::Map(v) => {
                write!(f, "{{")?;
                for (i, (k, x)) in v.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{k}: {x}")?;
                }
                write!(f, "}}")
            }
        }
    }
}

/// Decode one frame from `buf`: Ok(Some((frame, bytes used))), Ok(None) if incomplete, Err on bad bytes.
pub fn parse(buf: &[u8]) -> Result<Option<(Frame, usize)>, String> {
    parse_at(buf, 0)
}

fn line(buf: &[u8], pos: usize) -> Option<(&[u8], usize)> {
    let rest = buf.get(pos..)?;
    let i = rest.windows(2).position(|w| w == b"\r\n")?;
    Some((&rest[..i], pos + i + 2))
}

fn num(s: &[u8]) -> Result<i64, String> {
    std::str::from_utf8(s).ok().and_then(|s| s.parse().ok()).ok_or_else(|| "bad number".to_string())
}

fn parse_at(buf: &[u8], pos: usize) -> Result<Option<(Frame, usize)>, String> {
    if pos >= buf.len() {
        return Ok(None);
    }
    let kind = buf[pos];
    let Some((l, next)) = line(buf, pos + 1) else { return Ok(None) };
    let text = || String::from_utf8_lossy(l).into_owned();
    match kind {
        b'+' => Ok(Some((Frame::Simple(text()), next))),
        b'-' => Ok(Some((Frame::Error(text()), next))),
        b':' => Ok(Some((Frame::Integer(num(l)?), next))),
        b'_' => Ok(Some((Frame::Null, next))),
        b'#' => Ok(Some((Frame::Boolean(l == b"t"), next))),
        b'(' => Ok(Some((Frame::BigNumber(text()), next))),
        b',' => {
            let t = text();
            let d = match t.as_str() {
                "inf" => f64::INFINITY,
                "-inf" => f64::NEG_INFINITY,
                "nan" => f64::NAN,
                _ => t.parse().map_err(|_| "bad double".to_string())?,
            };
            Ok(Some((Frame::Double(d), next)))
        }
        b'$' | b'=' | b'!' => {
            let n = num(l)?;
            if n < 0 {
                return Ok(Some((Frame::Null, next)));
            }
            let end = next + n as usize;
            if buf.len() < end + 2 {
                return Ok(None);
            }
            let data = buf[next..end].to_vec();
            let f = match kind {
                b'$' => Frame::Bulk(data),
                b'!' => Frame::Error(String::from_utf8_lossy(&data).into_owned()),
                _ => {
                    let fmt = String::from_utf8_lossy(&data[..3.min(data.len())]).into_owned();
                    Frame::Verbatim(fmt, data.get(4..).unwrap_or_default().to_vec())
                }
            };
            Ok(Some((f, end + 2)))
        }
        b'*' | b'~' | b'>' | b'%' | b'|' => {
            let n = num(l)?;
            if n < 0 {
                return Ok(Some((Frame::Null, next)));
            }
            let items = if kind == b'%' || kind == b'|' { n * 2 } else { n };
            let mut v = Vec::with_capacity(items.min(1024) as usize);
            let mut p = next;
            for _ in 0..items {
                match parse_at(buf, p)? {
                    Some((f, np)) => {
                        v.push(f);
                        p = np;
                    }
                    None => return Ok(None),
                }
            }
            let f = match kind {
                b'*' => Frame::Array(v),
                b'~' => Frame::Set(v),
                b'>' => Frame::Push(v),
                _ => {
                    let mut pairs = Vec::with_capacity(v.len() / 2);
                    let mut it = v.into_iter();
                    while let (Some(k), Some(x)) = (it.next(), it.next()) {
                        pairs.push((k, x));
                    }
                    if kind == b'|' {
                        // An attribute precedes the real reply: return the reply.
                        return match parse_at(buf, p)? {
                            Some((f, np)) => Ok(Some((f, np))),
                            None => Ok(None),
                        };
                    }
                    Frame::Map(pairs)
                }
            };
            Ok(Some((f, p)))
        }
        _ => Err(format!("unexpected byte '{}'", kind as char)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_and_partial() {
        let b = b"*3\r\n:1\r\n$3\r\nfoo\r\n%1\r\n+a\r\n_\r\n";
        let (f, n) = parse(b).unwrap().unwrap();
        assert_eq!(n, b.len());
        assert_eq!(
            f,
            Frame::Array(vec![
                Frame::Integer(1),
                Frame::Bulk(b"foo".to_vec()),
                Frame::Map(vec![(Frame::Simple("a".into()), Frame::Null)])
            ])
        );
        for cut in 0..b.len() {
            assert!(parse(&b[..cut]).unwrap().is_none());
        }
    }
}
