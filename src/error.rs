//! Errors: `CmdError` (a command's error reply, the connection stays), `ProtocolError` (reply, then close).
//!
//! Texts are Redis's, word for word: clients and their test suites match on them.

use std::borrow::Cow;
use std::fmt;

/// An error reply from a command. The text includes the code (`ERR`, `WRONGTYPE`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CmdError(pub Cow<'static, str>);

impl CmdError {
    pub const SYNTAX: CmdError = CmdError(Cow::Borrowed("ERR syntax error"));
    pub const WRONGTYPE: CmdError =
        CmdError(Cow::Borrowed("WRONGTYPE Operation against a key holding the wrong kind of value"));
    pub const NOT_INT: CmdError = CmdError(Cow::Borrowed("ERR value is not an integer or out of range"));
    pub const NOT_FLOAT: CmdError = CmdError(Cow::Borrowed("ERR value is not a valid float"));
    pub const NO_KEY: CmdError = CmdError(Cow::Borrowed("ERR no such key"));
    pub const OVERFLOW: CmdError = CmdError(Cow::Borrowed("ERR increment or decrement would overflow"));
    pub const DB_INDEX: CmdError = CmdError(Cow::Borrowed("ERR DB index is out of range"));
    pub const NOAUTH: CmdError = CmdError(Cow::Borrowed("NOAUTH Authentication required."));
    pub const OOM: CmdError = CmdError(Cow::Borrowed("OOM command not allowed when used memory > 'maxmemory'."));
    pub const BAD_EXPIRE: CmdError = CmdError(Cow::Borrowed("ERR invalid expire time in 'set' command"));
    pub const NOT_BIT: CmdError = CmdError(Cow::Borrowed("ERR bit is not an integer or out of range"));
    pub const BIT_OFFSET: CmdError = CmdError(Cow::Borrowed("ERR bit offset is not an integer or out of range"));
    pub const STRING_MAX: CmdError =
        CmdError(Cow::Borrowed("ERR string exceeds maximum allowed size (proto-max-bulk-len)"));
    pub const INVALID_CURSOR: CmdError = CmdError(Cow::Borrowed("ERR invalid cursor"));

    /// An error with a fixed text.
    pub const fn new(s: &'static str) -> CmdError {
        CmdError(Cow::Borrowed(s))
    }

    /// An error with a formatted text (prefix with the code yourself, e.g. "ERR ...").
    pub fn msg(s: impl Into<String>) -> CmdError {
        CmdError(Cow::Owned(s.into()))
    }

    /// `ERR wrong number of arguments for 'cmd' command` (cmd as the client wrote it, lower-cased by Redis).
    pub fn arity(cmd: &str) -> CmdError {
        CmdError::msg(format!("ERR wrong number of arguments for '{}' command", cmd.to_ascii_lowercase()))
    }

    /// `ERR unknown command 'foo', with args beginning with: 'a' 'b' `: as Redis's sdscatprintf of C
    /// strings, the name to 128 bytes and the arguments while the list is under 128 bytes, each cut to
    /// what is left of those 128, every one ending at its first NUL.
    pub fn unknown_command(name: &[u8], args: &[&[u8]]) -> CmdError {
        let mut list = String::new();
        let mut list_len = 0;
        for a in args {
            if list_len >= 128 {
                break;
            }
            let a = sanitize(a, 128 - list_len);
            list_len += text_len(&a) + 3;
            list.push('\'');
            list.push_str(&a);
            list.push_str("' ");
        }
        CmdError::msg(format!("ERR unknown command '{}', with args beginning with: {list}", sanitize(name, 128)))
    }

    /// `ERR unknown subcommand 'x'. Try CMD HELP.`
    pub fn unknown_subcommand(cmd: &str, sub: &[u8]) -> CmdError {
        CmdError::msg(format!(
            "ERR unknown subcommand '{}'. Try {} HELP.",
            sanitize(sub, 128),
            cmd.to_ascii_uppercase()
        ))
    }

    /// The first word of the text (`ERR`, `WRONGTYPE`, ...), for INFO errorstats.
    pub fn code(&self) -> &str {
        self.0.split(' ').next().unwrap_or("ERR")
    }
}

/// A client's bytes echoed in an error text as Redis's `%.<max>s` prints them: up to the first NUL, at
/// most `max` bytes, CR and LF as spaces, and every other byte as it is (see [`bytes_to_text`]).
pub fn sanitize(b: &[u8], max: usize) -> String {
    let b = &b[..b.iter().position(|&c| c == 0).unwrap_or(b.len())];
    let b = &b[..b.len().min(max)];
    let mapped: Vec<u8> = b.iter().map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c }).collect();
    bytes_to_text(&mapped)
}

/// First of the private-use code points that stand for raw bytes in error texts: byte `b` (0x80..=0xFF)
/// is U+F700 + b.
const RAW_BYTE_BASE: u32 = 0xF700;

/// Error texts are `str`, but Redis echoes a client's bytes in them as they are, UTF-8 or not. Bytes that
/// are not part of valid UTF-8 travel as one private-use char each (U+F780..=U+F7FF), which the reply
/// writer turns back into the byte ([`text_to_bytes`]). A genuine char of that block in the input is
/// escaped byte by byte too, so the round trip is exact for any input.
pub fn bytes_to_text(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len());
    let mut rest = b;
    let raw = |out: &mut String, bytes: &[u8]| {
        for &c in bytes {
            out.push(char::from_u32(RAW_BYTE_BASE + c as u32).unwrap_or('?'));
        }
    };
    while !rest.is_empty() {
        let (valid, bad) = match std::str::from_utf8(rest) {
            Ok(v) => (v, &rest[rest.len()..]),
            Err(e) => {
                let (v, after) = rest.split_at(e.valid_up_to());
                let bad = e.error_len().unwrap_or(after.len());
                // `v` is the prefix from_utf8 just validated.
                (std::str::from_utf8(v).unwrap_or_default(), &after[..bad])
            }
        };
        for ch in valid.chars() {
            if (RAW_BYTE_BASE + 0x80..=RAW_BYTE_BASE + 0xFF).contains(&(ch as u32)) {
                let mut tmp = [0u8; 4];
                raw(&mut out, ch.encode_utf8(&mut tmp).as_bytes());
            } else {
                out.push(ch);
            }
        }
        raw(&mut out, bad);
        rest = &rest[valid.len() + bad.len()..];
    }
    out
}

/// The bytes an error text stands for on the wire (the inverse of [`bytes_to_text`]).
pub fn text_to_bytes(s: &str) -> std::borrow::Cow<'_, [u8]> {
    // The escapes are U+F780..U+F7FF: UTF-8 EF 9E 80 ..= EF 9F BF. Texts without 0xEF need no work.
    if !s.as_bytes().contains(&0xEF) {
        return std::borrow::Cow::Borrowed(s.as_bytes());
    }
    let mut out = Vec::with_capacity(s.len());
    for ch in s.chars() {
        let c = ch as u32;
        if (RAW_BYTE_BASE + 0x80..=RAW_BYTE_BASE + 0xFF).contains(&c) {
            out.push((c - RAW_BYTE_BASE) as u8);
        } else {
            let mut tmp = [0u8; 4];
            out.extend_from_slice(ch.encode_utf8(&mut tmp).as_bytes());
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Length in bytes on the wire of an error text.
fn text_len(s: &str) -> usize {
    text_to_bytes(s).len()
}

impl fmt::Display for CmdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CmdError {}

/// A malformed request: the connection replies `-ERR Protocol error: <text>` and closes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError(pub String);

impl ProtocolError {
    pub fn new(s: impl Into<String>) -> ProtocolError {
        ProtocolError(s.into())
    }

    /// The reply as it goes on the wire, `-ERR Protocol error: <text>\r\n`, raw client bytes included.
    pub fn reply(&self) -> Vec<u8> {
        let mut r = b"-ERR Protocol error: ".to_vec();
        r.extend_from_slice(&text_to_bytes(&self.0));
        r.extend_from_slice(b"\r\n");
        r
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ERR Protocol error: {}", self.0)
    }
}

impl std::error::Error for ProtocolError {}

/// An error reply from the server, as Redis words it: the code first (`ERR`, `WRONGTYPE`, `NOSCRIPT`, ...),
/// then the message, e.g. `WRONGTYPE Operation against a key holding the wrong kind of value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyError(String);

impl ReplyError {
    /// An error reply with this text (code first).
    pub fn new(text: impl Into<String>) -> ReplyError {
        ReplyError(text.into())
    }

    /// The whole text, code first.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first word of the text: `ERR`, `WRONGTYPE`, `EXECABORT`, ...
    pub fn code(&self) -> &str {
        self.0.split(' ').next().unwrap_or_default()
    }
}

impl fmt::Display for ReplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ReplyError {}

/// Crate-level error: starting the server, and talking to it through an in-process client.
#[derive(Debug)]
pub enum Error {
    /// An I/O error while starting (binding a socket, reading files).
    Io(std::io::Error),
    /// The server could not start with this configuration (the text says why, as redis-server logs it).
    Config(String),
    /// The server stopped (or is stopping): an in-process client's command did not run, or its reply was lost.
    Closed,
    /// A command answered with an error reply.
    Server(ReplyError),
    /// A request that cannot be sent: an empty command, or an argument longer than `proto-max-bulk-len`.
    Protocol(String),
}

impl Error {
    /// The error reply, when a command answered with one.
    pub fn reply(&self) -> Option<&ReplyError> {
        match self {
            Error::Server(e) => Some(e),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "{e}"),
            Error::Config(s) => f.write_str(s),
            Error::Closed => f.write_str("the server is not running"),
            Error::Server(e) => write!(f, "{e}"),
            Error::Protocol(s) => write!(f, "ERR Protocol error: {s}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            Error::Server(e) => Some(e),
            _ => None,
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e)
    }
}

impl From<ReplyError> for Error {
    fn from(e: ReplyError) -> Self {
        Error::Server(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_bytes_round_trip_through_error_texts() {
        for b in [&b"plain"[..], b"P\xffNG", b"\xfe\xfd", "caf\u{e9}".as_bytes(), "\u{f7a0}x".as_bytes(), b"\xef\x9e"] {
            assert_eq!(text_to_bytes(&bytes_to_text(b)).as_ref(), b);
        }
        assert_eq!(sanitize(b"a\r\nb\0c", 128), "a  b");
        assert_eq!(sanitize(b"abcdef", 3), "abc");
    }

    #[test]
    fn unknown_command_is_redis_s_printf() {
        let e = CmdError::unknown_command(b"P\xffNG", &[b"\xfe\xfd", b"a\0b"]);
        assert_eq!(
            text_to_bytes(&e.0).as_ref(),
            &b"ERR unknown command 'P\xffNG', with args beginning with: '\xfe\xfd' 'a' "[..]
        );
        // The list stops once it reaches 128 bytes; the argument that crosses it is cut to fit.
        let long = [b'x'; 100];
        let e = CmdError::unknown_command(b"foo", &[&long, &long, &long]);
        let list = e.0.split("beginning with: ").nth(1).unwrap().to_string();
        assert_eq!(list, format!("'{}' '{}' ", "x".repeat(100), "x".repeat(25)));
    }
}
