//! ReplicaLink: the replica side of replication, one actor per REPLICAOF, on a thread of its own beside the
//! Keyspace. It connects to the master, does Redis's handshake (PING, AUTH, REPLCONF listening-port and capa,
//! PSYNC), receives a full sync's RDB into a file and has the Keyspace load it (`MasterSync`), then reads the
//! master's command stream and hands it to the Keyspace as batches of the master client (`ExecLocal`, the
//! in-process client path), acknowledging the applied offset (REPLCONF ACK) every second and on GETACK.
//! When the link drops it reconnects once a second and asks for a partial resync from where it was.
//!
//! ```text
//!  master ──TCP──► ReplicaLink ──MasterSync(file)──► Keyspace (flush, load)
//!                     │  ──ExecLocal(batch of the master's commands)──► Keyspace
//!                     └─ REPLCONF ACK <offset> ──► master
//! ```

use crate::actors::keyspace::{DisklessLoad, ExecLocal, Keyspace, MasterSync};
use crate::actors::snapshotter::StreamReader;
use crate::commands::replication::{LinkShared, LinkState};
use crate::commands::{parse_batch, Batch};
use crate::types::clock;
use actix::prelude::*;
use bytes::{Buf, BytesMut};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

/// What a link needs to know, taken from the config when REPLICAOF runs.
#[derive(Clone, Debug)]
pub struct LinkConfig {
    pub host: String,
    pub port: u16,
    /// `masteruser` / `masterauth` (empty: no AUTH).
    pub user: String,
    pub auth: String,
    /// This server's port, announced with REPLCONF listening-port (`replica-announce-port` when set).
    pub listening_port: u16,
    /// `replica-announce-ip`, when set.
    pub announce_ip: String,
    /// Where the master's RDB goes: `dir`, and the file it becomes (`dbfilename`), as redis-server does with
    /// `repl-diskless-load disabled`.
    pub dir: PathBuf,
    pub dbfilename: String,
    /// `repl-timeout`, seconds without a byte from the master before the link is dropped.
    pub timeout: Duration,
    /// `proto-max-bulk-len`, for the master's stream.
    pub max_bulk: u64,
    /// `bind-source-addr`: the local address the connection to the master goes out from (empty: any).
    pub source_addr: String,
    /// The history this server already has (its replication id and offset, as a master or as the replica of
    /// the master before): the first PSYNC asks to continue it (Redis's cached master), so a replica re-pointed
    /// after a failover resyncs partially. None: a full sync.
    pub resume: Option<(String, i64)>,
}

/// The link to one master; stopped (and its connection closed) when the Keyspace drops it.
pub struct ReplicaLink {
    cfg: LinkConfig,
    keyspace: Addr<Keyspace>,
    shared: Arc<LinkShared>,
    /// The in-process client token the master's commands run under.
    token: u64,
}

impl ReplicaLink {
    pub fn new(cfg: LinkConfig, keyspace: Addr<Keyspace>, shared: Arc<LinkShared>, token: u64) -> ReplicaLink {
        ReplicaLink { cfg, keyspace, shared, token }
    }
}

impl Actor for ReplicaLink {
    type Context = Context<Self>;

    /// Run the link until the actor stops (the future is dropped with it, closing the socket).
    fn started(&mut self, ctx: &mut Context<Self>) {
        let run = run(self.cfg.clone(), self.keyspace.clone(), self.shared.clone(), self.token);
        ctx.spawn(run.into_actor(self));
    }
}

/// Stop the link (REPLICAOF NO ONE, or another master).
#[derive(Message)]
#[rtype(result = "()")]
pub struct StopLink;

impl Handler<StopLink> for ReplicaLink {
    type Result = ();

    /// Stopping drops the link's future and with it the connection.
    fn handle(&mut self, _: StopLink, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

/// Where the link resumes from: the master's replication id and the offset applied (PSYNC's arguments).
#[derive(Default, Clone)]
struct Resume {
    replid: Option<String>,
    offset: i64,
}

/// Connect, sync and stream, again and again until stopped.
async fn run(cfg: LinkConfig, keyspace: Addr<Keyspace>, shared: Arc<LinkShared>, token: u64) {
    let mut resume = match &cfg.resume {
        Some((id, off)) => Resume { replid: Some(id.clone()), offset: *off },
        None => Resume::default(),
    };
    let mut last_fast_retry =
        std::time::Instant::now().checked_sub(Duration::from_secs(1)).unwrap_or_else(std::time::Instant::now);
    loop {
        shared.set_state(LinkState::Connecting);
        match session(&cfg, &keyspace, &shared, token, &mut resume).await {
            Ok(()) => log::warn!("MASTER closed the connection, will reconnect"),
            // Redis's own lines: each says what failed, and the suite waits for some of them.
            Err(e) => log::warn!("{e}"),
        }
        let was_streaming = shared.state() == LinkState::Connected;
        let was_transfer = shared.state() == LinkState::Sync;
        shared.set_state(LinkState::Connect);
        // A transfer that failed tries again at once, as Redis's cancelReplicationHandshake (no more than every
        // 100 ms: a sync refused at once, e.g. while our start-up file loads, waits its second).
        if was_transfer && last_fast_retry.elapsed() >= Duration::from_millis(100) {
            last_fast_retry = std::time::Instant::now();
            log::info!("Reconnecting to MASTER {}:{} after failure", cfg.host, cfg.port);
            continue;
        }
        if was_streaming {
            // A link that was up tries again at once (Redis's replicationHandleMasterDisconnection: waiting
            // risks the backlog moving past our offset); a failed handshake waits a second, as its cron.
            log::info!("Reconnecting to MASTER {}:{}", cfg.host, cfg.port);
            continue;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Bytes from the master, with the timeout of `repl-timeout`.
async fn read_some(
    sock: &mut TcpStream,
    buf: &mut BytesMut,
    cfg: &LinkConfig,
    shared: &LinkShared,
) -> Result<(), String> {
    buf.reserve(16 * 1024);
    match tokio::time::timeout(cfg.timeout, sock.read_buf(buf)).await {
        // Redis's replicationCron lines for each state.
        Err(_) => Err(match shared.state() {
            LinkState::Sync => "Timeout receiving bulk data from MASTER... If the problem persists try to set the 'repl-timeout' parameter in redis.conf to a larger value.",
            LinkState::Connected => "MASTER timeout: no data nor PING received...",
            _ => "Timeout connecting to the MASTER...",
        }
        .into()),
        Ok(Err(e)) => Err(format!("Error reading from MASTER: {e}")),
        Ok(Ok(0)) => Err("Connection with master lost.".into()),
        Ok(Ok(_)) => {
            shared.last_io_ms.store(clock::system_ms(), Ordering::Relaxed);
            Ok(())
        }
    }
}

/// One line from the master (without CRLF), skipping the empty keep-alive lines it may send first.
async fn read_line(
    sock: &mut TcpStream,
    buf: &mut BytesMut,
    cfg: &LinkConfig,
    shared: &LinkShared,
) -> Result<String, String> {
    loop {
        if let Some(i) = buf.iter().position(|&b| b == b'\n') {
            let line = String::from_utf8_lossy(&buf[..i]).trim_end_matches('\r').to_string();
            buf.advance(i + 1);
            if line.is_empty() {
                continue;
            }
            return Ok(line);
        }
        if buf.len() > 64 * 1024 {
            return Err("Protocol error: line too long from MASTER".into());
        }
        read_some(sock, buf, cfg, shared).await?;
    }
}

/// Send a command as a RESP array and read its one-line reply.
async fn call(
    sock: &mut TcpStream,
    buf: &mut BytesMut,
    cfg: &LinkConfig,
    shared: &LinkShared,
    args: &[&str],
) -> Result<String, String> {
    sock.write_all(&resp(args)).await.map_err(|e| format!("Error writing to MASTER: {e}"))?;
    read_line(sock, buf, cfg, shared).await
}

/// A command as a RESP array of bulk strings (the in-process client's encoder).
fn resp(args: &[&str]) -> BytesMut {
    let mut v = BytesMut::new();
    crate::client::pack(&mut v, args);
    v
}

/// Connect to the master, from `bind-source-addr` when it is set (Redis binds the socket to it first).
async fn connect(cfg: &LinkConfig) -> std::io::Result<TcpStream> {
    let addr = format!("{}:{}", cfg.host, cfg.port);
    if cfg.source_addr.is_empty() {
        return TcpStream::connect(&addr).await;
    }
    let target = tokio::net::lookup_host(&addr)
        .await?
        .next()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no address for the master"))?;
    let source: std::net::IpAddr = cfg
        .source_addr
        .parse()
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "bad bind-source-addr"))?;
    let sock = if target.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
    sock.bind(std::net::SocketAddr::new(source, 0))?;
    sock.connect(target).await
}

/// One connection to the master: handshake, sync, then the stream until it ends.
async fn session(
    cfg: &LinkConfig,
    keyspace: &Addr<Keyspace>,
    shared: &Arc<LinkShared>,
    token: u64,
    resume: &mut Resume,
) -> Result<(), String> {
    log::info!("Connecting to MASTER {}:{}", cfg.host, cfg.port);
    let mut sock = match tokio::time::timeout(cfg.timeout, connect(cfg)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return Err(format!("Error condition on socket for SYNC: {e}")),
        Err(_) => return Err("Timeout connecting to the MASTER...".into()),
    };
    let _ = sock.set_nodelay(true);
    log::info!("MASTER <-> REPLICA sync started");
    shared.set_state(LinkState::Handshake);
    let mut buf = BytesMut::with_capacity(16 * 1024);

    // PING: an error that only says AUTH is needed still proves the master is there (as Redis accepts).
    let pong = call(&mut sock, &mut buf, cfg, shared, &["PING"]).await?;
    if pong.starts_with('-')
        && !pong.starts_with("-NOAUTH")
        && !pong.starts_with("-NOPERM")
        && !pong.starts_with("-ERR operation not permitted")
    {
        return Err(format!("Error reply to PING from master: '{pong}'"));
    }
    log::info!("Master replied to PING, replication can continue...");
    let changed = shared.auth.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let (user, auth) = changed.unwrap_or_else(|| (cfg.user.clone(), cfg.auth.clone()));
    if !auth.is_empty() {
        let mut args = vec!["AUTH"];
        if !user.is_empty() {
            args.push(&user);
        }
        args.push(&auth);
        let r = call(&mut sock, &mut buf, cfg, shared, &args).await?;
        if r.starts_with('-') {
            return Err(format!("Unable to AUTH to MASTER: {r}"));
        }
    }
    let port = cfg.listening_port.to_string();
    let r = call(&mut sock, &mut buf, cfg, shared, &["REPLCONF", "listening-port", &port]).await?;
    if r.starts_with('-') {
        log::info!("(Non critical) Master does not understand REPLCONF listening-port: {r}");
    }
    if !cfg.announce_ip.is_empty() {
        let r = call(&mut sock, &mut buf, cfg, shared, &["REPLCONF", "ip-address", &cfg.announce_ip]).await?;
        if r.starts_with('-') {
            log::info!("(Non critical) Master does not understand REPLCONF ip-address: {r}");
        }
    }
    let r = call(&mut sock, &mut buf, cfg, shared, &["REPLCONF", "capa", "eof", "capa", "psync2"]).await?;
    if r.starts_with('-') {
        log::info!("(Non critical) Master does not understand REPLCONF capa: {r}");
    }

    // PSYNC: from where we were, or from scratch.
    let (id, off) = match &resume.replid {
        Some(id) => (id.clone(), (resume.offset + 1).to_string()),
        None => ("?".to_string(), "-1".to_string()),
    };
    if resume.replid.is_some() {
        log::info!("Trying a partial resynchronization (request {id}:{off}).");
    } else {
        log::info!("Partial resynchronization not possible (no cached master)");
    }
    // A failover's link tells the target to take over (PSYNC ... FAILOVER); the Keyspace hears its answer.
    let failover = shared.failover.load(Ordering::Relaxed);
    let args: &[&str] = if failover { &["PSYNC", &id, &off, "FAILOVER"] } else { &["PSYNC", &id, &off] };
    let reply = call(&mut sock, &mut buf, cfg, shared, args).await?;
    if failover {
        let accepted = reply.starts_with("+FULLRESYNC") || reply.starts_with("+CONTINUE");
        shared.failover_reply.store(if accepted { 1 } else { 2 }, Ordering::Relaxed);
    }
    if let Some(rest) = reply.strip_prefix("+FULLRESYNC") {
        let mut it = rest.split_whitespace();
        let replid = it.next().ok_or("Master replied with wrong +FULLRESYNC syntax.")?.to_string();
        let offset: i64 =
            it.next().and_then(|o| o.parse().ok()).ok_or("Master replied with wrong +FULLRESYNC syntax.")?;
        log::info!("Full resync from master: {replid}:{offset}");
        // Our history stays the one we had (INFO master_replid, and what a next PSYNC asks for) until the
        // master's file is in: a transfer that fails leaves us able to continue with the old master.
        shared.set_state(LinkState::Sync);
        let same_history = resume.replid.as_deref() == Some(replid.as_str());
        let diskless = keyspace.send(DisklessLoad { token }).await.map_err(|_| "the keyspace stopped".to_string())?;
        let (tx, rx) = oneshot::channel();
        let id = replid.clone();
        let full_sync = move |path, stream| MasterSync {
            path,
            stream,
            same_history,
            token,
            full: true,
            replid: id,
            offset,
            done: tx,
        };
        if diskless {
            // The Keyspace loads as the bytes arrive (repl-diskless-load): it is told first, then fed.
            let payload = read_payload_header(&mut sock, &mut buf, cfg, shared, "parser").await?;
            log::info!("MASTER <-> REPLICA sync: Loading DB in memory");
            let (feed, reader) = StreamReader::channel(STREAM_DEPTH);
            let sync = full_sync(PathBuf::new(), Some(reader));
            keyspace.send(sync).await.map_err(|_| "the keyspace stopped".to_string())?;
            let mut sink = Sink::Parser(feed);
            let received = receive_payload(&mut sock, &mut buf, cfg, shared, payload, &mut sink).await;
            drop(sink);
            if let Err(e) = received {
                // The load sees the stream end short and fails: wait for it, so that no next sync starts
                // while this one is still being undone.
                let _ = rx.await;
                return Err(e);
            }
        } else {
            let path = receive_rdb(&mut sock, &mut buf, cfg, shared).await?;
            log::info!("MASTER <-> REPLICA sync: Loading DB in memory");
            keyspace.send(full_sync(path, None)).await.map_err(|_| "the keyspace stopped".to_string())?;
        }
        rx.await.map_err(|_| "the keyspace stopped".to_string())??;
        log::info!("MASTER <-> REPLICA sync: Finished with success");
        resume.replid = Some(replid);
        resume.offset = offset;
    } else if let Some(rest) = reply.strip_prefix("+CONTINUE") {
        if let Some(new_id) = rest.split_whitespace().next().filter(|id| resume.replid.as_deref() != Some(*id)) {
            log::info!("Master replication ID changed to {new_id}");
            resume.replid = Some(new_id.to_string());
        }
        let replid = resume.replid.clone().unwrap_or_default();
        log::info!("Successful partial resynchronization with master.");
        log::info!("MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.");
        let (tx, rx) = oneshot::channel();
        keyspace
            .send(MasterSync {
                path: PathBuf::new(),
                stream: None,
                same_history: true,
                token,
                full: false,
                replid,
                offset: resume.offset,
                done: tx,
            })
            .await
            .map_err(|_| "the keyspace stopped".to_string())?;
        rx.await.map_err(|_| "the keyspace stopped".to_string())??;
    } else if reply.starts_with("-NOMASTERLINK") || reply.starts_with("-LOADING") {
        // The master cannot serve us yet (its own link is down, or it is loading): try again later with the
        // same history (Redis's PSYNC_TRY_LATER keeps the cached master).
        return Err(format!("Master is currently unable to PSYNC but should be in the future: {reply}"));
    } else {
        resume.replid = None;
        return Err(format!("Unexpected reply to PSYNC from master: {reply}"));
    }
    shared.offset.store(resume.offset, Ordering::Relaxed);
    shared.read_offset.store(resume.offset, Ordering::Relaxed);
    shared.set_state(LinkState::Connected);
    stream(&mut sock, buf, cfg, keyspace, shared, token, resume).await
}

/// How a full sync's RDB comes: `$<len>`, or (the master's diskless sync) `$EOF:<mark>` ... `<mark>`.
struct Payload {
    len: Option<u64>,
    mark: Option<Vec<u8>>,
}

/// The length of the EOF mark of a diskless sync.
const MARK: usize = 40;

/// Chunks the link may read ahead of a diskless load (each up to a socket read, 16 KB or more).
const STREAM_DEPTH: usize = 64;

/// Read the RDB's header line and log where it goes (`to` "disk" or "parser", as Redis says).
async fn read_payload_header(
    sock: &mut TcpStream,
    buf: &mut BytesMut,
    cfg: &LinkConfig,
    shared: &LinkShared,
    to: &str,
) -> Result<Payload, String> {
    let header = read_line(sock, buf, cfg, shared).await?;
    if header.starts_with('-') {
        return Err(format!("MASTER aborted replication with an error: {header}"));
    }
    let Some(spec) = header.strip_prefix('$') else {
        return Err(format!("Bad protocol from MASTER, the first byte is not '$' (we received '{header}')"));
    };
    let p = match spec.strip_prefix("EOF:") {
        Some(m) if m.len() == MARK => Payload { len: None, mark: Some(m.as_bytes().to_vec()) },
        Some(_) => return Err(format!("Bad EOF mark from MASTER: '{header}'")),
        None => Payload {
            len: Some(spec.parse::<u64>().map_err(|_| format!("Bad RDB length from MASTER: '{header}'"))?),
            mark: None,
        },
    };
    match p.len {
        Some(n) => log::info!("MASTER <-> REPLICA sync: receiving {n} bytes from master to {to}"),
        None => log::info!("MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF to {to}"),
    }
    shared.sync_total.store(p.len.unwrap_or(0), Ordering::Relaxed);
    shared.sync_read.store(0, Ordering::Relaxed);
    Ok(p)
}

/// Where a full sync's RDB goes.
enum Sink {
    /// The temp file (repl-diskless-load disabled). Blocking writes are fine here: this is the link's thread.
    File(std::fs::File),
    /// The Keyspace's load, through the Snapshotter's reader (repl-diskless-load).
    Parser(futures::channel::mpsc::Sender<bytes::Bytes>),
}

impl Sink {
    /// The next `n` bytes of `buf`, taken off it (the parser gets them without a copy).
    async fn put(&mut self, buf: &mut BytesMut, n: usize) -> Result<(), String> {
        let data = buf.split_to(n).freeze();
        match self {
            Sink::File(f) => f.write_all(&data).map_err(|e| format!("Write error writing to the DB file: {e}")),
            Sink::Parser(tx) => {
                use futures::SinkExt;
                // The load stopped (it failed, or the link was replaced) when nobody takes the bytes.
                tx.send(data).await.map_err(|_| "MASTER <-> REPLICA sync: the load from the socket stopped".to_string())
            }
        }
    }
}

/// The RDB's bytes after its header, into `sink`; with an EOF mark, everything up to the mark. What follows
/// the RDB stays in `buf` (the command stream).
async fn receive_payload(
    sock: &mut TcpStream,
    buf: &mut BytesMut,
    cfg: &LinkConfig,
    shared: &LinkShared,
    p: Payload,
    sink: &mut Sink,
) -> Result<(), String> {
    let mut written: u64 = 0;
    loop {
        if buf.is_empty() {
            read_some(sock, buf, cfg, shared).await?;
        }
        match (p.len, &p.mark) {
            (Some(n), _) => {
                let take = ((n - written) as usize).min(buf.len());
                sink.put(buf, take).await?;
                written += take as u64;
                shared.sync_read.store(written, Ordering::Relaxed);
                if written == n {
                    return Ok(());
                }
            }
            (None, Some(mark)) => {
                // Pass on all but the last MARK bytes seen, which may be the end mark.
                if let Some(end) = find(&buf[..], mark) {
                    sink.put(buf, end).await?;
                    buf.advance(MARK);
                    shared.sync_read.store(written + end as u64, Ordering::Relaxed);
                    return Ok(());
                }
                let keep = buf.len().min(MARK - 1);
                let take = buf.len() - keep;
                sink.put(buf, take).await?;
                written += take as u64;
                shared.sync_read.store(written, Ordering::Relaxed);
                read_some(sock, buf, cfg, shared).await?;
            }
            (None, None) => return Err("MASTER <-> REPLICA sync: no length and no EOF mark".into()),
        }
    }
}

/// The RDB of a full sync into `temp-<pid>.<ms>.rdb` in `dir`, synced and renamed over `dbfilename`.
async fn receive_rdb(
    sock: &mut TcpStream,
    buf: &mut BytesMut,
    cfg: &LinkConfig,
    shared: &LinkShared,
) -> Result<PathBuf, String> {
    let payload = read_payload_header(sock, buf, cfg, shared, "disk").await?;
    let tmp = cfg.dir.join(format!("temp-{}.{}.rdb", std::process::id(), clock::system_ms()));
    let file = std::fs::File::create(&tmp)
        .map_err(|e| format!("Opening the temp file needed for MASTER <-> REPLICA synchronization: {e}"))?;
    let res = async {
        let mut sink = Sink::File(file);
        receive_payload(sock, buf, cfg, shared, payload, &mut sink).await?;
        let Sink::File(file) = sink else { unreachable!("made as a file above") };
        file.sync_all().map_err(|e| {
            format!("Failed trying to sync the temp DB to disk in MASTER <-> REPLICA synchronization: {e}")
        })?;
        let target = cfg.dir.join(&cfg.dbfilename);
        std::fs::rename(&tmp, &target).map_err(|e| {
            format!(
                "Failed trying to rename the temp DB into {} in MASTER <-> REPLICA synchronization: {e}",
                cfg.dbfilename
            )
        })?;
        if let Ok(d) = std::fs::File::open(&cfg.dir) {
            let _ = d.sync_all();
        }
        Ok::<PathBuf, String>(target)
    }
    .await;
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res
}

/// Where `needle` first occurs in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Read buffer capacity above which the stream goes back to a small buffer once a batch is applied.
const BIG_READ_BUFFER: usize = 1 << 20;

/// The master's command stream: complete commands go to the Keyspace as one batch per read, the offset
/// advances by their bytes, and the applied offset is acknowledged every second and on REPLCONF GETACK.
async fn stream(
    sock: &mut TcpStream,
    mut buf: BytesMut,
    cfg: &LinkConfig,
    keyspace: &Addr<Keyspace>,
    shared: &LinkShared,
    token: u64,
    resume: &mut Resume,
) -> Result<(), String> {
    let mut ack = tokio::time::interval(Duration::from_secs(1));
    ack.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut batch = Batch::default();
    loop {
        // Read, if not yet applied (a paused replica holds the master's writes: INFO slave_read_repl_offset).
        shared.read_offset.store(resume.offset + buf.len() as i64, Ordering::Relaxed);
        if !buf.is_empty() {
            batch.clear();
            batch.out.clear();
            batch.input = std::mem::take(&mut buf);
            let parsed = parse_batch(&mut batch, cfg.max_bulk, usize::MAX);
            if let Some(e) = parsed.error {
                return Err(format!("Protocol error from MASTER: {}", e.0));
            }
            let consumed = parsed.consumed;
            let getack = (0..batch.reqs.len()).any(|i| {
                let a = batch.argv(&batch.reqs[i]);
                a.len() >= 2 && a.is(0, "replconf") && a.is(1, "getack")
            });
            if !batch.reqs.is_empty() {
                let proxy = bytes::Bytes::copy_from_slice(&batch.input[..consumed]);
                batch = run_batch(keyspace, token, batch, proxy).await?;
            }
            let mut input = std::mem::take(&mut batch.input);
            input.advance(consumed);
            // A big command grew the read buffer (to twice its size, while it arrived): keep what follows it
            // in a buffer of everyday size, or the link holds that memory until the next big one, beside
            // the value it became (the suite's pending querybuf test: a replica within 10 MB of its master).
            if input.capacity() > BIG_READ_BUFFER && input.len() < BIG_READ_BUFFER / 2 {
                let mut small = BytesMut::with_capacity(16 * 1024);
                small.extend_from_slice(&input);
                input = small;
            }
            buf = input;
            resume.offset += consumed as i64;
            shared.offset.store(resume.offset, Ordering::Relaxed);
            if getack {
                send_ack(sock, resume.offset).await?;
            }
        }
        shared.read_offset.store(resume.offset + buf.len() as i64, Ordering::Relaxed);
        tokio::select! {
            r = read_some(sock, &mut buf, cfg, shared) => r?,
            _ = ack.tick() => send_ack(sock, resume.offset).await?,
            _ = shared.kick.notified() => return Err("Connection with master lost (CLIENT KILL).".into()),
        }
    }
}

/// REPLCONF ACK <offset>.
async fn send_ack(sock: &mut TcpStream, offset: i64) -> Result<(), String> {
    let off = offset.to_string();
    sock.write_all(&resp(&["REPLCONF", "ACK", &off])).await.map_err(|e| format!("Error writing to MASTER: {e}"))
}

/// Run a batch of the master's commands as the master client; blocked or paused commands are taken again
/// until all ran, as the in-process client does.
async fn run_batch(
    keyspace: &Addr<Keyspace>,
    token: u64,
    mut batch: Batch,
    proxy: bytes::Bytes,
) -> Result<Batch, String> {
    loop {
        let (tx, rx) = oneshot::channel();
        keyspace.do_send(ExecLocal { token, batch, tx, proxy: Some(proxy.clone()) });
        batch = rx.await.map_err(|_| "the keyspace stopped".to_string())?;
        if batch.close {
            // The master client was killed: nothing of this batch counts as applied.
            return Err("Connection with master lost (the master client was closed).".into());
        }
        if batch.done >= batch.reqs.len() {
            return Ok(batch);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_eof_mark_and_encodes_commands() {
        assert_eq!(find(b"abcMARKdef", b"MARK"), Some(3));
        assert_eq!(find(b"abcMAR", b"MARK"), None);
        assert_eq!(&resp(&["REPLCONF", "ACK", "42"])[..], b"*3\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n$2\r\n42\r\n");
    }
}
