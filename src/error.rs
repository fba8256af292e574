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

    /// `ERR unknown command 'foo', with args beginning with: 'a' 'b' `
    pub fn unknown_command(name: &[u8], args: &[&[u8]]) -> CmdError {
        let mut s = format!("ERR unknown command '{}', with args beginning with: ", sanitize(name, 128));
        for a in args {
            if s.len() >= 128 + 60 {
                break;
            }
            s.push_str(&format!("'{}' ", sanitize(a, 128)));
        }
        CmdError::msg(s)
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

/// Redis truncates and escapes user bytes echoed in error texts.
pub fn sanitize(b: &[u8], max: usize) -> String {
    let b = &b[..b.len().min(max)];
    String::from_utf8_lossy(b).chars().map(|c| if c == '\r' || c == '\n' { ' ' } else { c }).collect()
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
