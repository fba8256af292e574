//! Reply encoding: `Out` writes RESP2 or RESP3 straight into a connection's output buffer (resp layer).
//!
//! Commands write their replies here while they run in the Keyspace, so a batch's replies are one buffer
//! and one socket write, with no intermediate reply objects. The protocol version decides how nulls, maps,
//! sets, doubles, booleans and pushes look on the wire.

use crate::types::num::format_double;

pub struct Out {
    pub buf: Vec<u8>,
    /// 2 or 3 (HELLO).
    pub resp: u8,
}

impl Out {
    pub fn new(resp: u8) -> Out {
        Out { buf: Vec::with_capacity(16 * 1024), resp }
    }

    pub fn with_buf(buf: Vec<u8>, resp: u8) -> Out {
        Out { buf, resp }
    }

    #[inline]
    pub fn raw(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }

    #[inline]
    fn header(&mut self, prefix: u8, n: i64) {
        self.buf.push(prefix);
        self.buf.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
        self.buf.extend_from_slice(b"\r\n");
    }

    #[inline]
    pub fn ok(&mut self) {
        self.raw(b"+OK\r\n");
    }

    /// `+text` (the text must not contain CR/LF).
    #[inline]
    pub fn simple(&mut self, s: &str) {
        self.buf.push(b'+');
        self.raw(s.as_bytes());
        self.raw(b"\r\n");
    }

    /// `-text`: the full error text including its code (e.g. "ERR syntax error"). Newlines become spaces.
    /// Client bytes carried in the text as escapes (crate::error::bytes_to_text) go out as the raw bytes.
    pub fn error(&mut self, s: &str) {
        self.error_bytes(&crate::error::text_to_bytes(s));
    }

    /// `-text` from raw bytes (Redis echoes a client's bytes in its errors as they are, UTF-8 or not).
    /// Newlines become spaces.
    pub fn error_bytes(&mut self, s: &[u8]) {
        self.buf.push(b'-');
        for &c in s {
            self.buf.push(if c == b'\r' || c == b'\n' { b' ' } else { c });
        }
        self.raw(b"\r\n");
    }

    #[inline]
    pub fn int(&mut self, i: i64) {
        match i {
            0 => self.raw(b":0\r\n"),
            1 => self.raw(b":1\r\n"),
            _ => self.header(b':', i),
        }
    }

    #[inline]
    pub fn bulk(&mut self, b: &[u8]) {
        self.header(b'$', b.len() as i64);
        self.raw(b);
        self.raw(b"\r\n");
    }

    pub fn bulk_str(&mut self, s: &str) {
        self.bulk(s.as_bytes());
    }

    /// An integer sent as a bulk string (GET of an int-encoded value).
    #[inline]
    pub fn bulk_i64(&mut self, i: i64) {
        self.bulk(itoa::Buffer::new().format(i).as_bytes());
    }

    /// Null bulk string (`$-1` / `_`).
    #[inline]
    pub fn nil(&mut self) {
        if self.resp >= 3 {
            self.raw(b"_\r\n")
        } else {
            self.raw(b"$-1\r\n")
        }
    }

    /// Null array (`*-1` / `_`).
    pub fn nil_array(&mut self) {
        if self.resp >= 3 {
            self.raw(b"_\r\n")
        } else {
            self.raw(b"*-1\r\n")
        }
    }

    #[inline]
    pub fn array(&mut self, n: usize) {
        self.header(b'*', n as i64);
    }

    /// A map of `n` pairs (`%n` in RESP3, a flat array of 2n in RESP2).
    pub fn map(&mut self, n: usize) {
        if self.resp >= 3 {
            self.header(b'%', n as i64)
        } else {
            self.header(b'*', 2 * n as i64)
        }
    }

    /// A set (`~n` in RESP3, an array in RESP2).
    pub fn set(&mut self, n: usize) {
        if self.resp >= 3 {
            self.header(b'~', n as i64)
        } else {
            self.header(b'*', n as i64)
        }
    }

    /// An out-of-band push (`>n` in RESP3, an array in RESP2).
    pub fn push(&mut self, n: usize) {
        if self.resp >= 3 {
            self.header(b'>', n as i64)
        } else {
            self.header(b'*', n as i64)
        }
    }

    /// An attribute map (RESP3 only; RESP2 clients never see it).
    pub fn attribute(&mut self, n: usize) {
        self.header(b'|', n as i64)
    }

    /// A double: `,` in RESP3, a bulk string in RESP2, formatted as Redis's d2string.
    pub fn double(&mut self, d: f64) {
        let s = format_double(d);
        if self.resp >= 3 {
            self.buf.push(b',');
            self.raw(s.as_bytes());
            self.raw(b"\r\n");
        } else {
            self.bulk(s.as_bytes());
        }
    }

    /// A boolean: `#t`/`#f` in RESP3, `:1`/`:0` in RESP2.
    pub fn boolean(&mut self, b: bool) {
        if self.resp >= 3 {
            self.raw(if b { b"#t\r\n" } else { b"#f\r\n" })
        } else {
            self.int(b as i64)
        }
    }

    /// Verbatim string (`=len\r\ntxt:...`) in RESP3, a bulk string in RESP2.
    pub fn verbatim(&mut self, format: &str, s: &[u8]) {
        if self.resp >= 3 {
            self.header(b'=', (s.len() + 4) as i64);
            self.raw(format.as_bytes());
            self.buf.push(b':');
            self.raw(s);
            self.raw(b"\r\n");
        } else {
            self.bulk(s)
        }
    }

    /// Big number (`(digits`) in RESP3, a bulk string in RESP2.
    pub fn big_number(&mut self, digits: &str) {
        if self.resp >= 3 {
            self.buf.push(b'(');
            self.raw(digits.as_bytes());
            self.raw(b"\r\n");
        } else {
            self.bulk(digits.as_bytes())
        }
    }

    /// Array of bulk strings.
    pub fn bulks<'a, I: IntoIterator<Item = &'a [u8]>>(&mut self, items: I)
    where
        I::IntoIter: ExactSizeIterator,
    {
        let it = items.into_iter();
        self.array(it.len());
        for b in it {
            self.bulk(b);
        }
    }

    #[expect(dead_code, reason = "unused since the crate API went pub(crate); kept for the lead to use or remove")]
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    #[expect(dead_code, reason = "unused since the crate API went pub(crate); kept for the lead to use or remove")]
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resp2_and_resp3_shapes() {
        let mut o = Out::new(2);
        o.nil();
        o.map(1);
        o.double(1.5);
        o.boolean(true);
        o.int(-42);
        assert_eq!(o.buf, b"$-1\r\n*2\r\n$3\r\n1.5\r\n:1\r\n:-42\r\n");
        let mut o = Out::new(3);
        o.nil();
        o.map(1);
        o.double(1.5);
        o.boolean(true);
        o.verbatim("txt", b"hi");
        assert_eq!(o.buf, b"_\r\n%1\r\n,1.5\r\n#t\r\n=6\r\ntxt:hi\r\n");
    }

    #[test]
    fn errors_lose_newlines() {
        let mut o = Out::new(2);
        o.error("ERR a\r\nb");
        assert_eq!(o.buf, b"-ERR a  b\r\n");
    }
}
