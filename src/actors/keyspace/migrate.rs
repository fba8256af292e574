//! The Keyspace's side of MIGRATE: the network exchange with the target server, run while the actor waits
//! (`ctx.wait`: no other command runs meanwhile, as Redis's MIGRATE blocks its server, but the thread is
//! free: the socket work is a future), and the connections kept per `host:port` for the next MIGRATE,
//! closed by the cron after 10 idle seconds (Redis's migrate socket cache).

use super::Keyspace;
use crate::commands::migrate::{self as cmd_migrate, MigrateRequest, Outcome};
use crate::commands::Batch;
use crate::types::clock;
use actix::prelude::*;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

/// Redis's MIGRATE_SOCKET_CACHE_ITEMS: at most this many cached connections.
const CACHE_ITEMS: usize = 64;
/// Redis's MIGRATE_SOCKET_CACHE_TTL: a connection unused for longer is closed.
const CACHE_TTL: Duration = Duration::from_secs(10);
/// Writes go in chunks of this size, each with the full timeout (as Redis's connSyncWrite loop).
const WRITE_CHUNK: usize = 64 * 1024;
/// A reply line longer than this is not a reply to AUTH, SELECT or RESTORE: the exchange is broken.
const MAX_LINE: u64 = 64 * 1024;

/// A connection to a target, with the database last SELECTed on it (-1: unknown, SELECT next time).
pub struct Cached {
    conn: BufReader<TcpStream>,
    last_db: i64,
    last_use: Instant,
}

/// The cached connections by `host:port` as MIGRATE named them.
#[derive(Default)]
pub struct MigrateCache {
    conns: HashMap<String, Cached>,
}

/// Why a socket operation failed: a timeout is not retried (Redis checks errno != ETIMEDOUT).
#[derive(Clone, Copy)]
enum Fail {
    TimedOut,
    Broken,
}

/// What the exchange gives back to the actor: the connection to cache (None: closed), the keys the target
/// took (indexes into the request's items), and how it ended.
struct Exchanged {
    cached: Option<Cached>,
    acked: Vec<usize>,
    outcome: Outcome,
}

impl Keyspace {
    /// MIGRATE (its batch stopped right after it): run the exchange while this actor waits, then delete and
    /// propagate what the target took, reply, and run the rest of the pipeline.
    pub(super) fn run_migrate(
        &mut self,
        slot: usize,
        batch: Batch,
        tx: oneshot::Sender<Batch>,
        ctx: &mut Context<Self>,
    ) {
        let Some(req) = self.s.migrate.pending.take() else {
            return self.rerun(slot, batch, tx, ctx);
        };
        // What earlier commands of the batch propagated stays in the feed: it goes out with the DEL, and the
        // batch's replies then wait for the AOF to have it all (see `deliver`).
        let cached = self.migrate.conns.remove(&req.name);
        self.s.migrate.cached_sockets = self.migrate.conns.len();
        let fut = async move {
            let done = exchange(&req, cached).await;
            (req, done)
        };
        ctx.wait(fut.into_actor(self).map(move |(req, done), act, ctx| {
            if let Some(c) = done.cached {
                act.migrate_keep(&req.name, c);
            }
            clock::refresh();
            let mut batch = batch;
            act.reply_into(slot, &mut batch, |s, out| cmd_migrate::finish(s, &req, &done.acked, done.outcome, out));
            act.rerun(slot, batch, tx, ctx);
        }));
    }

    /// Cache a connection, making room (dropping the least recently used) when the cache is full.
    fn migrate_keep(&mut self, name: &str, c: Cached) {
        let conns = &mut self.migrate.conns;
        if conns.len() >= CACHE_ITEMS && !conns.contains_key(name) {
            if let Some(oldest) = conns.iter().min_by_key(|(_, c)| c.last_use).map(|(n, _)| n.clone()) {
                conns.remove(&oldest);
            }
        }
        conns.insert(name.to_string(), c);
        self.s.migrate.cached_sockets = conns.len();
    }

    /// Cron: close the connections unused for more than 10 seconds.
    pub(super) fn migrate_cron(&mut self) {
        if self.migrate.conns.is_empty() {
            return;
        }
        self.migrate.conns.retain(|_, c| c.last_use.elapsed() <= CACHE_TTL);
        self.s.migrate.cached_sockets = self.migrate.conns.len();
    }
}

/// Connect to the target within the timeout, with TCP_NODELAY as Redis sets it.
async fn connect(req: &MigrateRequest) -> Option<Cached> {
    let conn = tokio::time::timeout(req.timeout, TcpStream::connect((req.host.as_str(), req.port))).await.ok()?.ok()?;
    let _ = conn.set_nodelay(true);
    Some(Cached { conn: BufReader::new(conn), last_db: -1, last_use: Instant::now() })
}

/// Write `buf` in chunks, each within the timeout.
async fn send(c: &mut Cached, buf: &[u8], timeout: Duration) -> Result<(), Fail> {
    for chunk in buf.chunks(WRITE_CHUNK) {
        match tokio::time::timeout(timeout, c.conn.get_mut().write_all(chunk)).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return Err(Fail::Broken),
            Err(_) => return Err(Fail::TimedOut),
        }
    }
    Ok(())
}

/// Read one reply line (without its CRLF) within the timeout.
async fn read_line(c: &mut Cached, timeout: Duration) -> Result<String, Fail> {
    let mut line = Vec::new();
    let read = async {
        let mut limited = (&mut c.conn).take(MAX_LINE);
        limited.read_until(b'\n', &mut line).await
    };
    match tokio::time::timeout(timeout, read).await {
        Ok(Ok(n)) if n > 0 && line.ends_with(b"\n") => {
            while line.last().is_some_and(|&b| b == b'\n' || b == b'\r') {
                line.pop();
            }
            Ok(String::from_utf8_lossy(&line).into_owned())
        }
        Ok(_) => Err(Fail::Broken),
        Err(_) => Err(Fail::TimedOut),
    }
}

/// Redis's migrateCommand from the connection on: AUTH, SELECT (when the connection is not in the target db
/// already) and the RESTOREs go in one write, then every reply is read. A failure on a cached connection
/// before any RESTORE reply, other than a timeout, is retried once on a new connection (the target may have
/// closed an idle one). Keys whose RESTORE succeeded count as moved even when a later one fails.
async fn exchange(req: &MigrateRequest, mut cached: Option<Cached>) -> Exchanged {
    let mut may_retry = true;
    loop {
        let mut c = match cached.take() {
            Some(c) => c,
            None => match connect(req).await {
                Some(c) => c,
                None => return Exchanged { cached: None, acked: Vec::new(), outcome: Outcome::ConnectFailed },
            },
        };
        c.last_use = Instant::now();
        let select = c.last_db != req.target_db;
        let (buf, sent) = req.commands(select, clock::system_ms());
        if let Err(fail) = send(&mut c, &buf, req.timeout).await {
            if may_retry && matches!(fail, Fail::Broken) {
                may_retry = false;
                continue;
            }
            return Exchanged { cached: None, acked: Vec::new(), outcome: Outcome::WriteFailed };
        }
        // The AUTH and SELECT replies, when they were sent; an error there fails every key.
        let mut head_error: Option<String> = None;
        let mut head_fail = None;
        for wanted in [req.auth.is_some(), select] {
            if !wanted {
                continue;
            }
            match read_line(&mut c, req.timeout).await {
                Ok(line) => {
                    if head_error.is_none() && line.starts_with('-') {
                        head_error = Some(line[1..].to_string());
                    }
                }
                Err(f) => {
                    head_fail = Some(f);
                    break;
                }
            }
        }
        if let Some(fail) = head_fail {
            if may_retry && matches!(fail, Fail::Broken) {
                may_retry = false;
                continue;
            }
            return Exchanged { cached: None, acked: Vec::new(), outcome: Outcome::ReadFailed };
        }
        let mut acked = Vec::with_capacity(sent.len());
        let mut target_error = None;
        let mut socket_fail = None;
        for (j, &i) in sent.iter().enumerate() {
            let line = match read_line(&mut c, req.timeout).await {
                Ok(line) => line,
                Err(f) => {
                    socket_fail = Some((j, f));
                    break;
                }
            };
            let err = head_error.clone().or_else(|| line.strip_prefix('-').map(str::to_string));
            match err {
                Some(e) => {
                    target_error.get_or_insert(e);
                }
                None => acked.push(i),
            }
        }
        if let Some((0, Fail::Broken)) = socket_fail {
            if target_error.is_none() && may_retry {
                may_retry = false;
                continue;
            }
        }
        let outcome = match (target_error, socket_fail) {
            (Some(e), _) => Outcome::TargetError(e),
            (None, Some(_)) => Outcome::ReadFailed,
            (None, None) => Outcome::Ok,
        };
        // A broken connection is closed; after an error from the target, the next MIGRATE SELECTs again.
        let keep = if socket_fail.is_some() {
            None
        } else {
            c.last_db = if outcome == Outcome::Ok { req.target_db } else { -1 };
            Some(c)
        };
        return Exchanged { cached: keep, acked, outcome };
    }
}
