//! Client: the in-process client of an embedded server (embedding API). It stands where a Connection actor
//! stands in the diagram, minus the socket: a command or a whole pipeline is written as RESP into a `Batch`,
//! resolved to its command specs on the caller's thread, and goes to the Keyspace as ONE `ExecLocal` message;
//! the batch comes back with the encoded replies, which are decoded here, again on the caller's thread.

use crate::actors::keyspace::{ExecLocal, ForgetLocal, Keyspace};
use crate::commands::{parse_batch, Batch, Knobs};
use crate::error::{Error, ReplyError};
use crate::resp::frame::{self, Frame};
use actix::Addr;
use bytes::{BufMut, BytesMut};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::{oneshot, Mutex, MutexGuard};

/// Buffers larger than this are given back after a request instead of kept for the next one (as the
/// Connection actor does): one big reply should not pin its memory for the client's lifetime.
const KEEP_BUF: usize = 64 * 1024;

/// Tokens name in-process clients at the Keyspace; picked here so that a new client needs no round trip.
static NEXT_TOKEN: AtomicU64 = AtomicU64::new(1);

/// An in-process client of an embedded server: commands go straight to the keyspace, with no socket.
///
/// Get one from [`ServerHandle::client`](crate::ServerHandle::client). A `Client` is `Send + Sync`; share it
/// by reference, or clone it for each actor, task or thread.
///
/// **Each clone is a client of its own**, as a second connection would be: its own `CLIENT ID`, selected
/// database (`SELECT`), `MULTI` queue, `WATCH`ed keys and protocol (`HELLO 3`). A new client starts in
/// database 0 speaking RESP2, whatever the client it was cloned from did. The server learns of a client with
/// its first command (no round trip to create or clone one) and forgets it when the client is dropped.
///
/// Commands sent through one `Client` run one after another in call order (concurrent callers on a shared
/// reference wait their turn), so a blocking command such as `BLPOP` holds up only that client. A command
/// whose future is dropped before it completes still runs, as a request already written to a socket
/// would: the client's next command waits for it and discards its reply. After `QUIT` the next command
/// starts a new client.
///
/// Two interfaces:
/// - [`cmd`](Client::cmd) and [`pipeline`](Client::pipeline) take arguments as byte strings and return
///   [`Frame`]s;
/// - with the default `redis-client` feature, `Client` implements the `redis` crate's
///   `redis::aio::ConnectionLike`, so `redis::AsyncCommands`, `redis::cmd(..).query_async` and
///   `redis::pipe()` (atomic or not) work on it with typed replies. A pipeline is one round trip to the
///   keyspace.
pub struct Client {
    keyspace: Addr<Keyspace>,
    knobs: Arc<Knobs>,
    token: u64,
    conn: Mutex<Conn>,
}

/// A client's side of its connection: reused buffers and the batch at the Keyspace, if any.
#[derive(Default)]
struct Conn {
    batch: Batch,
    /// The replies to the last request, encoded as the server wrote them.
    replies: Vec<u8>,
    /// The batch is at the Keyspace; its caller may have stopped waiting.
    inflight: Option<oneshot::Receiver<Batch>>,
    /// The Keyspace has a record for this client, to be forgotten when the client goes.
    known: bool,
}

impl Client {
    pub(crate) fn new(keyspace: Addr<Keyspace>, knobs: Arc<Knobs>) -> Client {
        Client { keyspace, knobs, token: NEXT_TOKEN.fetch_add(1, Ordering::Relaxed), conn: Mutex::new(Conn::default()) }
    }

    /// Run one command: `client.cmd(&["SET", "k", "v"]).await`.
    ///
    /// An error reply is `Err(Error::Server(..))` with Redis's text. Errors nested in a reply (the results of
    /// `EXEC`) stay [`Frame::Error`] items. While `CLIENT REPLY OFF` (or `SKIP`) is in force the command
    /// has no reply and this returns `Frame::Null`.
    pub async fn cmd<A: AsRef<[u8]>>(&self, args: &[A]) -> Result<Frame, Error> {
        if args.is_empty() {
            return Err(Error::Protocol("empty command".into()));
        }
        let c = self.request(|input| pack(input, args)).await?;
        match decode_frames(&c.replies)?.into_iter().next() {
            Some(Frame::Error(e)) => Err(Error::Server(ReplyError::new(e))),
            Some(f) => Ok(f),
            None => Ok(Frame::Null),
        }
    }

    /// Run several commands in one round trip to the keyspace; one result per reply, in order.
    ///
    /// `Err` for the whole call means nothing came back (the server stopped) or the request could not be
    /// sent (an empty command). A command's error reply is its own `Err` item, and the other commands still
    /// run, as in a Redis pipeline. Commands whose reply `CLIENT REPLY` turned off have no item.
    pub async fn pipeline<C, A>(&self, cmds: &[C]) -> Result<Vec<Result<Frame, ReplyError>>, Error>
    where
        C: AsRef<[A]>,
        A: AsRef<[u8]>,
    {
        if cmds.is_empty() {
            return Ok(Vec::new());
        }
        if cmds.iter().any(|c| c.as_ref().is_empty()) {
            return Err(Error::Protocol("empty command".into()));
        }
        let c = self
            .request(|input| {
                for cmd in cmds {
                    pack(input, cmd.as_ref());
                }
            })
            .await?;
        let frames = decode_frames(&c.replies)?;
        Ok(frames
            .into_iter()
            .map(|f| match f {
                Frame::Error(e) => Err(ReplyError::new(e)),
                f => Ok(f),
            })
            .collect())
    }

    /// Send the requests `fill` writes (complete RESP arrays) as one batch and wait until every one has run.
    /// Returns the connection state holding the encoded replies.
    async fn request(&self, fill: impl FnOnce(&mut BytesMut)) -> Result<MutexGuard<'_, Conn>, Error> {
        let mut guard = self.conn.lock().await;
        let c = &mut *guard;
        // A request whose caller stopped waiting is still the server's: let it finish, drop its replies.
        self.drive(c).await?;
        if c.replies.capacity() > KEEP_BUF {
            c.replies = Vec::new();
        }
        c.replies.clear();
        let b = &mut c.batch;
        b.clear();
        if b.input.capacity() > KEEP_BUF {
            b.input = BytesMut::new();
        }
        b.input.clear();
        b.out.clear();
        fill(&mut b.input);
        let parsed = parse_batch(b, self.knobs.proto_max_bulk_len.load(Ordering::Relaxed), usize::MAX);
        if let Some(e) = parsed.error {
            b.clear();
            return Err(Error::Protocol(e.0));
        }
        self.drive(c).await?;
        Ok(guard)
    }

    /// Take the batch to the Keyspace until all of its requests ran (a blocked or paused request sends back
    /// the replies so far and the rest goes again), collecting the replies in `c.replies`. Every await is on
    /// `c.inflight`, so a caller that stops waiting leaves the state for the next request to pick up.
    async fn drive(&self, c: &mut Conn) -> Result<(), Error> {
        loop {
            if let Some(rx) = &mut c.inflight {
                let back = rx.await;
                c.inflight = None;
                let mut b = back.map_err(|_| Error::Closed)?;
                if c.replies.is_empty() {
                    std::mem::swap(&mut c.replies, &mut b.out);
                } else {
                    c.replies.extend_from_slice(&b.out);
                    b.out.clear();
                }
                c.batch = b;
            }
            if c.batch.close {
                // QUIT: the server is done with this client; its next request makes a new one.
                c.batch.close = false;
                c.known = false;
                self.keyspace.do_send(ForgetLocal { token: self.token });
                return Ok(());
            }
            if c.batch.done >= c.batch.reqs.len() {
                return Ok(());
            }
            let (tx, rx) = oneshot::channel();
            let batch = std::mem::take(&mut c.batch);
            // do_send: the request is queued now, and the reply is awaited through `rx` alone.
            self.keyspace.do_send(ExecLocal { token: self.token, batch, tx });
            c.known = true;
            c.inflight = Some(rx);
        }
    }
}

impl Clone for Client {
    /// A new client of the same server (see the type's docs: clones share no per-client state).
    fn clone(&self) -> Client {
        Client::new(self.keyspace.clone(), self.knobs.clone())
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client").field("token", &self.token).finish_non_exhaustive()
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let c = self.conn.get_mut();
        if c.known || c.inflight.is_some() {
            self.keyspace.do_send(ForgetLocal { token: self.token });
        }
    }
}

/// Append one command as a RESP array of bulk strings.
fn pack<A: AsRef<[u8]>>(out: &mut BytesMut, args: &[A]) {
    header(out, b'*', args.len());
    for a in args {
        let a = a.as_ref();
        header(out, b'$', a.len());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// `*<n>\r\n` or `$<n>\r\n`.
fn header(out: &mut BytesMut, kind: u8, n: usize) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.put_u8(kind);
    out.extend_from_slice(&digits[i..]);
    out.extend_from_slice(b"\r\n");
}

/// Every reply in `buf`, in order.
fn decode_frames(buf: &[u8]) -> Result<Vec<Frame>, Error> {
    let mut frames = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        match frame::parse(&buf[pos..]) {
            Ok(Some((f, n))) => {
                frames.push(f);
                pos += n;
            }
            Ok(None) => return Err(Error::Protocol("incomplete reply".into())),
            Err(e) => return Err(Error::Protocol(e)),
        }
    }
    Ok(frames)
}

/// The `redis` crate's async connection trait, so that host code uses `redis::AsyncCommands`, typed
/// `FromRedisValue` replies and `redis::pipe()` on an in-process client.
#[cfg(feature = "redis-client")]
mod redis_client {
    use super::Client;
    use crate::error::Error;
    use redis::{Cmd, ErrorKind, Parser, Pipeline, RedisError, RedisFuture, RedisResult, Value};

    impl From<Error> for RedisError {
        /// `Error::Server` becomes the error the `redis` crate makes of that reply (same kind and code);
        /// a stopped server reads as a dropped connection.
        fn from(e: Error) -> RedisError {
            match e {
                Error::Server(r) => server_error(r.as_str()),
                Error::Protocol(s) => server_error(&format!("ERR Protocol error: {s}")),
                Error::Io(e) => e.into(),
                Error::Closed => {
                    std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the server is not running").into()
                }
                Error::Config(s) => (ErrorKind::ClientError, "server configuration", s).into(),
            }
        }
    }

    /// The error the `redis` crate makes of the error reply `text`.
    fn server_error(text: &str) -> RedisError {
        let resp = format!("-{}\r\n", text.replace(['\r', '\n'], " "));
        match redis::parse_redis_value(resp.as_bytes()).and_then(Value::extract_error) {
            Err(e) => e,
            Ok(_) => (ErrorKind::ResponseError, "error reply", text.to_string()).into(),
        }
    }

    /// Read `n` replies with the `redis` crate's own parser: the values are exactly those a socket
    /// connection would produce (RESP2, or RESP3 after `HELLO 3`).
    fn values(buf: &[u8], n: usize) -> RedisResult<Vec<Value>> {
        let mut rd = buf;
        let mut parser = Parser::new();
        (0..n).map(|_| parser.parse_value(&mut rd)).collect()
    }

    impl redis::aio::ConnectionLike for Client {
        fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
            Box::pin(async move {
                let packed = cmd.get_packed_command();
                let c = self.request(|input| input.extend_from_slice(&packed)).await?;
                if cmd.is_no_response() {
                    return Ok(Value::Nil);
                }
                Ok(values(&c.replies, 1)?.pop().unwrap_or(Value::Nil))
            })
        }

        fn req_packed_commands<'a>(
            &'a mut self,
            pipeline: &'a Pipeline,
            offset: usize,
            count: usize,
        ) -> RedisFuture<'a, Vec<Value>> {
            Box::pin(async move {
                let packed = pipeline.get_packed_pipeline();
                let c = self.request(|input| input.extend_from_slice(&packed)).await?;
                let mut all = values(&c.replies, offset + count)?;
                let kept = all.split_off(offset);
                // Only a transaction skips replies (MULTI's OK and the QUEUED ones): a command refused while
                // queueing fails the whole call, as over a socket.
                if let Some(e) = all.into_iter().find_map(|v| v.extract_error().err()) {
                    return Err(e);
                }
                Ok(kept)
            })
        }

        /// The database the client started in: always 0 (a `SELECT` is not tracked here, as the `redis`
        /// crate's own connections do not track it either).
        fn get_db(&self) -> i64 {
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_commands_as_resp_arrays() {
        let mut b = BytesMut::new();
        pack(&mut b, &["SET", "key", ""]);
        pack(&mut b, &[vec![b'x'; 10]]);
        assert_eq!(&b[..], b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$0\r\n\r\n*1\r\n$10\r\nxxxxxxxxxx\r\n");
    }

    #[test]
    fn decodes_every_reply_and_refuses_a_cut_one() {
        let f = decode_frames(b"+OK\r\n:5\r\n-ERR no\r\n").unwrap();
        assert_eq!(f, vec![Frame::Simple("OK".into()), Frame::Integer(5), Frame::Error("ERR no".into())]);
        assert!(decode_frames(b"$5\r\nab").is_err());
    }

    /// The reply futures must be Send so that hosts can spawn them on multi-threaded runtimes.
    #[test]
    fn client_and_its_futures_are_send_and_sync() {
        fn send_sync<T: Send + Sync>(_: &T) {}
        fn send<T: Send>(_: T) {}
        fn check(c: &Client) {
            send_sync(c);
            send(c.cmd(&["PING"]));
            send(c.pipeline(&[["PING"]]));
        }
        let _ = check;
    }
}
