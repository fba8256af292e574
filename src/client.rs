//! Client: the in-process client of an embedded server (embedding API). It stands where a Connection actor
//! stands in the diagram, minus the socket: a command or a whole pipeline is written as RESP into a `Batch`,
//! resolved to its command specs on the caller's thread, and goes to the Keyspace as ONE `ExecLocal` message;
//! the batch comes back with the encoded replies, which are decoded here, again on the caller's thread.
//! A `Subscription` is such a client whose messages the Keyspace sends on a channel (`AttachSink`) instead
//! of to a connection actor: the broker as a library.

use crate::actors::keyspace::{AttachSink, ExecLocal, ForgetLocal, Keyspace, LocalSink};
use crate::commands::{parse_batch, Batch, Knobs};
use crate::error::{Error, ReplyError};
use crate::resp::frame::{self, Frame};
use actix::Addr;
use bytes::{BufMut, Bytes, BytesMut};
use futures::channel::mpsc;
use futures::StreamExt;
use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
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

    /// Subscribe to `channels` (Redis's SUBSCRIBE) on a new subscription: a [`Subscription`] is a
    /// `futures::Stream` of the [`Message`]s published to them from now on, by any client of the server
    /// (socket or in-process), in publish order.
    ///
    /// The subscription is a client of its own (as a second connection would be), so this client stays
    /// free for other commands. It is held to the `client-output-buffer-limit pubsub` limit as a socket
    /// subscriber is: when it leaves more unread than the limit allows, the server drops it (with the log
    /// line Redis prints) and its stream ends. The stream also ends when the server stops.
    pub async fn subscribe<A: AsRef<[u8]>>(&self, channels: &[A]) -> Result<Subscription, Error> {
        let sub = self.subscription();
        sub.subscribe(channels).await?;
        Ok(sub)
    }

    /// Subscribe to the glob-style `patterns` (Redis's PSUBSCRIBE) on a new subscription; see
    /// [`subscribe`](Client::subscribe). Its messages carry the pattern that matched.
    pub async fn psubscribe<A: AsRef<[u8]>>(&self, patterns: &[A]) -> Result<Subscription, Error> {
        let sub = self.subscription();
        sub.psubscribe(patterns).await?;
        Ok(sub)
    }

    /// A new client of the same server whose messages come to the returned subscription's stream.
    fn subscription(&self) -> Subscription {
        let mut client = self.clone();
        let (tx, rx) = mpsc::unbounded();
        let queued = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        // Before its first command (the same mailbox keeps the order): no message published after its
        // SUBSCRIBE ran can miss the sink.
        let sink = LocalSink { token: client.token, tx, queued: queued.clone(), over_soft_since: None };
        self.keyspace.do_send(AttachSink { sink });
        client.conn.get_mut().known = true;
        Subscription { client, rx, queued, ready: VecDeque::new() }
    }

    /// Run one subscribe-type command, which answers one reply per argument; the first error is returned.
    async fn subscribe_cmd<A: AsRef<[u8]>>(&self, cmd: &str, names: &[A]) -> Result<(), Error> {
        let args: Vec<&[u8]> = std::iter::once(cmd.as_bytes()).chain(names.iter().map(|n| n.as_ref())).collect();
        let c = self.request(|input| pack(input, &args)).await?;
        for f in decode_frames(&c.replies)? {
            if let Frame::Error(e) = f {
                return Err(Error::Server(ReplyError::new(e)));
            }
        }
        Ok(())
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
            self.keyspace.do_send(ExecLocal { token: self.token, batch, tx, proxy: None });
            c.known = true;
            c.inflight = Some(rx);
        }
    }
}

/// A message received by a [`Subscription`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The pattern that matched the channel, for a pattern subscription (`psubscribe`); `None` for a
    /// channel subscription.
    pub pattern: Option<Vec<u8>>,
    /// The channel it was published to.
    pub channel: Vec<u8>,
    /// What was published.
    pub payload: Vec<u8>,
}

impl Message {
    /// The message a pushed frame carries (`message`, `pmessage` or `smessage`), if it is one.
    fn from_frame(raw: &[u8]) -> Option<Message> {
        let Ok(Some((Frame::Array(parts) | Frame::Push(parts), _))) = frame::parse(raw) else { return None };
        let mut it = parts.into_iter().map(|p| match p {
            Frame::Bulk(b) => Some(b),
            _ => None,
        });
        let kind = it.next()??;
        match &kind[..] {
            b"message" | b"smessage" => Some(Message { pattern: None, channel: it.next()??, payload: it.next()?? }),
            b"pmessage" => Some(Message { pattern: Some(it.next()??), channel: it.next()??, payload: it.next()?? }),
            _ => None,
        }
    }
}

/// An in-process subscriber: a `futures::Stream` of the [`Message`]s published to its channels and
/// patterns, in publish order. Made by [`Client::subscribe`] or [`Client::psubscribe`].
///
/// It works wherever a stream does: `while let Some(m) = sub.next().await` in a tokio task, or
/// `ctx.add_stream(sub)` in an actix actor that implements `StreamHandler<Message>`. More channels and
/// patterns can be added (or left) while it runs; a message sent to a channel it is subscribed to and that
/// matches one of its patterns arrives twice, as over a socket. Dropping it unsubscribes from everything.
pub struct Subscription {
    client: Client,
    rx: mpsc::UnboundedReceiver<Vec<Bytes>>,
    /// Bytes delivered and not yet taken from the stream (shared with the server's limit check).
    queued: Arc<std::sync::atomic::AtomicUsize>,
    /// Frames of the delivery being taken.
    ready: VecDeque<Bytes>,
}

impl Subscription {
    /// Subscribe to more channels.
    pub async fn subscribe<A: AsRef<[u8]>>(&self, channels: &[A]) -> Result<(), Error> {
        self.client.subscribe_cmd("SUBSCRIBE", channels).await
    }

    /// Subscribe to more patterns.
    pub async fn psubscribe<A: AsRef<[u8]>>(&self, patterns: &[A]) -> Result<(), Error> {
        self.client.subscribe_cmd("PSUBSCRIBE", patterns).await
    }

    /// Leave `channels` (every channel when empty).
    pub async fn unsubscribe<A: AsRef<[u8]>>(&self, channels: &[A]) -> Result<(), Error> {
        self.client.subscribe_cmd("UNSUBSCRIBE", channels).await
    }

    /// Leave `patterns` (every pattern when empty).
    pub async fn punsubscribe<A: AsRef<[u8]>>(&self, patterns: &[A]) -> Result<(), Error> {
        self.client.subscribe_cmd("PUNSUBSCRIBE", patterns).await
    }
}

impl futures::Stream for Subscription {
    type Item = Message;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Message>> {
        loop {
            if let Some(f) = self.ready.pop_front() {
                let n = f.len().min(self.queued.load(std::sync::atomic::Ordering::Relaxed));
                self.queued.fetch_sub(n, std::sync::atomic::Ordering::Relaxed);
                match Message::from_frame(&f) {
                    Some(m) => return Poll::Ready(Some(m)),
                    None => continue,
                }
            }
            match self.rx.poll_next_unpin(cx) {
                Poll::Ready(Some(frames)) => self.ready.extend(frames),
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription").field("token", &self.client.token).finish_non_exhaustive()
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

/// Append one command as a RESP array of bulk strings (also the replica link's requests to its master).
pub(crate) fn pack<A: AsRef<[u8]>>(out: &mut BytesMut, args: &[A]) {
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
    fn reads_messages_from_pushed_frames() {
        let m = Message::from_frame(b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n").unwrap();
        assert_eq!(m, Message { pattern: None, channel: b"ch".to_vec(), payload: b"hi".to_vec() });
        let p = Message::from_frame(b">4\r\n$8\r\npmessage\r\n$2\r\nc*\r\n$2\r\nch\r\n$0\r\n\r\n").unwrap();
        assert_eq!(p, Message { pattern: Some(b"c*".to_vec()), channel: b"ch".to_vec(), payload: Vec::new() });
        assert_eq!(Message::from_frame(b"*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n"), None);
        assert_eq!(Message::from_frame(b"*2\r\n$7\r\nmessage\r\n$2\r\nch\r\n"), None);
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
