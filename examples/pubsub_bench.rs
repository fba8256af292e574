//! `pubsub_bench`: a pub/sub fan-out load tool for any Redis-compatible server over TCP, because
//! redis-benchmark has no pub/sub test. It is a plain RESP2 client (it does not use the ferrodis library),
//! so redis-server and ferrodis are measured with the same code.
//!
//! ```sh
//! cargo run --release --example pubsub_bench -- --port 6379 --publishers 1 --subscribers 100 \
//!     --channels 1 --size 64 --seconds 10 --pipeline 16
//! ```
//!
//! Topology: subscriber `i` listens on channel `i % channels` (`SUBSCRIBE <prefix>:<c>:m`, or with
//! `--patterns` `PSUBSCRIBE <prefix>:<c>:*`, a pattern that matches that channel only). Publisher `p` owns
//! channels `p, p + P, p + 2P, ...` (or channel `p % channels` when there are more publishers than
//! channels), so every channel has a publisher, and publishes on them round-robin with up to `--pipeline`
//! PUBLISH commands in flight.
//!
//! Every payload starts with a 28-byte header: a magic (`PSBd` for data, `PSBe` for the end marker), the
//! publisher id, the channel index, a sequence number per (publisher, channel) and the send time in
//! monotonic nanoseconds since the tool started. Subscribers check that each (publisher, channel) sequence
//! arrives without gaps (lost) or decreases (reordered); publishers check that every PUBLISH reply equals
//! the channel's subscriber count. Any of these, a connection error or a subscriber that misses its end
//! markers within `--drain-timeout` makes the tool print `FAILED` with the first problem and exit 1.
//!
//! Phases: connect and subscribe every subscriber, wait for each confirmation, check that the server counts
//! them (PUBSUB NUMSUB, or PUBSUB NUMPAT with `--patterns`); publish for `--seconds`; stop publishing, send
//! one end marker per (publisher, channel) carrying the number of messages sent; wait until every
//! subscriber has seen all of its end markers; print published and delivered msgs/s, the publish-to-delivery
//! latency (p50/p99/max) and a machine-readable `RESULT ...` line.
//!
//! Client CPU bounds the measurement: the tool runs `--threads` single-threaded tokio runtimes (default 1)
//! and competes with the server for the machine's cores. Per message it does one copy into the write
//! buffer (publisher) and one parse plus a histogram update (subscriber); the receive time is read once per
//! socket read, not per message. If the tool's threads sit at 100% CPU while the server does not, the
//! numbers describe the client, not the server.

use std::cell::RefCell;
use std::net::{SocketAddr, ToSocketAddrs};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::task::LocalSet;

const USAGE: &str = "\
usage: pubsub_bench [--host H] [--port P] [--publishers N] [--subscribers N] [--channels N] [--patterns]
                    [--size BYTES] [--seconds S] [--pipeline N] [--rate R] [--threads N] [--prefix NAME]
                    [--drain-timeout S]
  --host H            server host (127.0.0.1)
  --port P            server port (6379)
  --publishers N      publisher connections (1)
  --subscribers N     subscriber connections (100); subscriber i listens on channel i % channels
  --channels N        channels (1); each publisher publishes round-robin on the channels it owns
  --patterns          PSUBSCRIBE '<prefix>:<c>:*' instead of SUBSCRIBE '<prefix>:<c>:m'
  --size BYTES        payload size (64; at least 28, the header)
  --seconds S         publishing time once every subscription is confirmed (10)
  --pipeline N        PUBLISH commands in flight per publisher (1: wait for each reply)
  --rate R            cap on the total publish rate over all publishers, msgs/s (0: no cap)
  --threads N         client threads, each a single-threaded tokio runtime (1)
  --prefix NAME       channel name prefix (psb)
  --drain-timeout S   how long to wait for the last deliveries once publishing stops (10)
";

/// The command line.
#[derive(Clone, Debug)]
struct Config {
    host: String,
    port: u16,
    addr: Option<SocketAddr>,
    publishers: usize,
    subscribers: usize,
    channels: usize,
    patterns: bool,
    size: usize,
    seconds: f64,
    pipeline: usize,
    rate: f64,
    threads: usize,
    prefix: String,
    drain_timeout: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            host: "127.0.0.1".into(),
            port: 6379,
            addr: None,
            publishers: 1,
            subscribers: 100,
            channels: 1,
            patterns: false,
            size: 64,
            seconds: 10.0,
            pipeline: 1,
            rate: 0.0,
            threads: 1,
            prefix: "psb".into(),
            drain_timeout: 10.0,
        }
    }
}

/// Parses the flags; `Ok(None)` for `--help`.
fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Option<Config>, String> {
    fn num<T: std::str::FromStr>(flag: &str, value: &str) -> Result<T, String> {
        value.parse().map_err(|_| format!("{flag}: bad value {value:?}"))
    }
    let mut cfg = Config::default();
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--patterns" => {
                cfg.patterns = true;
                continue;
            }
            _ => {}
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--host" => cfg.host = value,
            "--port" => cfg.port = num(&flag, &value)?,
            "--publishers" => cfg.publishers = num(&flag, &value)?,
            "--subscribers" => cfg.subscribers = num(&flag, &value)?,
            "--channels" => cfg.channels = num(&flag, &value)?,
            "--size" => cfg.size = num(&flag, &value)?,
            "--seconds" => cfg.seconds = num(&flag, &value)?,
            "--pipeline" => cfg.pipeline = num(&flag, &value)?,
            "--rate" => cfg.rate = num(&flag, &value)?,
            "--threads" => cfg.threads = num(&flag, &value)?,
            "--prefix" => cfg.prefix = value,
            "--drain-timeout" => cfg.drain_timeout = num(&flag, &value)?,
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    if cfg.publishers == 0 || cfg.channels == 0 || cfg.pipeline == 0 || cfg.threads == 0 {
        return Err("--publishers, --channels, --pipeline and --threads must be at least 1".into());
    }
    if cfg.size < HEADER_LEN {
        return Err(format!("--size must be at least {HEADER_LEN} (the header)"));
    }
    // NaN fails every comparison, so these also refuse it.
    let finite_at_least = |x: f64, low: f64, strict: bool| x.is_finite() && (x > low || (!strict && x == low));
    if !finite_at_least(cfg.seconds, 0.0, true) {
        return Err("--seconds must be positive".into());
    }
    if !finite_at_least(cfg.rate, 0.0, false) || !finite_at_least(cfg.drain_timeout, 0.0, false) {
        return Err("--rate and --drain-timeout must not be negative".into());
    }
    Ok(Some(cfg))
}

impl Config {
    /// The name of channel `c`; the `:m` tail keeps `<prefix>:1:*` from matching channel 10.
    fn channel_name(&self, c: usize) -> String {
        format!("{}:{c}:m", self.prefix)
    }

    /// The pattern a `--patterns` subscriber of channel `c` uses: it matches that channel only.
    fn pattern(&self, c: usize) -> String {
        format!("{}:{c}:*", self.prefix)
    }

    /// How many subscribers listen on channel `c` (subscriber i listens on i % channels): the PUBLISH reply.
    fn subscribers_of(&self, c: usize) -> usize {
        self.subscribers / self.channels + usize::from(c < self.subscribers % self.channels)
    }

    /// The channels publisher `p` publishes on, round-robin.
    fn owned_channels(&self, p: usize) -> Vec<usize> {
        if self.publishers <= self.channels {
            (p..self.channels).step_by(self.publishers).collect()
        } else {
            vec![p % self.channels]
        }
    }

    /// How many publishers publish on channel `c`: the end markers its subscribers wait for.
    fn publishers_of(&self, c: usize) -> usize {
        if self.publishers <= self.channels {
            1
        } else {
            (c..self.publishers).step_by(self.channels).count()
        }
    }
}

/// Bytes of the payload header; the rest of the payload is padding.
const HEADER_LEN: usize = 28;

/// The header every payload starts with (little-endian fields after a 4-byte magic).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Header {
    /// An end marker: `seq` is then the number of data messages sent on this (publisher, channel).
    end: bool,
    publisher: u32,
    channel: u32,
    seq: u64,
    /// Monotonic nanoseconds since the tool started.
    sent_ns: u64,
}

impl Header {
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(if self.end { b"PSBe" } else { b"PSBd" });
        out.extend_from_slice(&self.publisher.to_le_bytes());
        out.extend_from_slice(&self.channel.to_le_bytes());
        out.extend_from_slice(&self.seq.to_le_bytes());
        out.extend_from_slice(&self.sent_ns.to_le_bytes());
    }

    fn read(payload: &[u8]) -> Option<Header> {
        let h = payload.get(..HEADER_LEN)?;
        let end = match &h[..4] {
            b"PSBd" => false,
            b"PSBe" => true,
            _ => return None,
        };
        let u32_at = |i: usize| u32::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
        let u64_at = |i: usize| u64::from_le_bytes(h[i..i + 8].try_into().expect("8 bytes"));
        Some(Header { end, publisher: u32_at(4), channel: u32_at(8), seq: u64_at(12), sent_ns: u64_at(20) })
    }
}

/// The RESP encoding of a command.
fn command(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Everything of `PUBLISH channel <payload of size bytes>` before the payload, built once per channel.
fn publish_prefix(channel: &str, size: usize) -> Vec<u8> {
    let mut out = format!("*3\r\n$7\r\nPUBLISH\r\n${}\r\n", channel.len()).into_bytes();
    out.extend_from_slice(channel.as_bytes());
    out.extend_from_slice(format!("\r\n${size}\r\n").as_bytes());
    out
}

/// Appends one PUBLISH: the channel's prefix, the header, the padding.
fn append_publish(out: &mut Vec<u8>, prefix: &[u8], header: &Header, pad: &[u8]) {
    out.extend_from_slice(prefix);
    header.write(out);
    out.extend_from_slice(pad);
    out.extend_from_slice(b"\r\n");
}

/// A log-linear latency histogram in nanoseconds: 32 linear sub-buckets per power of two (about 3% wide),
/// 15 KB, no allocation per record. A crate (hdrhistogram) would do the same with more code to pull in.
#[derive(Clone)]
struct Histogram {
    counts: Vec<u64>,
    total: u64,
    max: u64,
}

const SUB_BITS: u32 = 5;
const SUB: usize = 1 << SUB_BITS;

impl Default for Histogram {
    fn default() -> Self {
        Histogram { counts: vec![0; (64 - SUB_BITS as usize + 1) * SUB], total: 0, max: 0 }
    }
}

impl Histogram {
    fn index(v: u64) -> usize {
        if v < SUB as u64 {
            return v as usize;
        }
        let shift = 63 - v.leading_zeros() - SUB_BITS;
        (shift as usize + 1) * SUB + ((v >> shift) as usize & (SUB - 1))
    }

    /// The largest value bucket `i` holds.
    fn upper(i: usize) -> u64 {
        if i < SUB {
            return i as u64;
        }
        let shift = (i / SUB - 1) as u32;
        let low = ((SUB + i % SUB) as u64) << shift;
        low + ((1u64 << shift) - 1)
    }

    fn record(&mut self, v: u64) {
        self.counts[Self::index(v)] += 1;
        self.total += 1;
        self.max = self.max.max(v);
    }

    fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.total += other.total;
        self.max = self.max.max(other.max);
    }

    /// The value at quantile `q` (0..=1), as its bucket's upper bound (never above the maximum seen).
    fn quantile(&self, q: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((q * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Self::upper(i).min(self.max);
            }
        }
        self.max
    }
}

/// Where the run is; workers and tasks watch it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Setup,
    Run { start: Instant, deadline: Instant },
    Stop,
}

/// Per-thread counters for the once-a-second progress line, on their own cache line so that threads do not
/// share one.
#[repr(align(128))]
#[derive(Default)]
struct Progress {
    published: AtomicU64,
    delivered: AtomicU64,
}

/// Problems kept for the report (all are counted).
const KEPT_PROBLEMS: u64 = 10;

/// What the coordinator and every worker thread share.
struct Shared {
    cfg: Config,
    addr: SocketAddr,
    epoch: Instant,
    phase: watch::Receiver<Phase>,
    subs_ready: AtomicUsize,
    pubs_ready: AtomicUsize,
    subs_done: AtomicUsize,
    pubs_done: AtomicUsize,
    progress: Vec<Progress>,
    problems: Mutex<Vec<String>>,
    problem_count: AtomicU64,
    errors: Mutex<Vec<String>>,
}

impl Shared {
    fn ns(&self, t: Instant) -> u64 {
        t.saturating_duration_since(self.epoch).as_nanos() as u64
    }

    /// Counts a lost, reordered or mismatched message; the text is built only for the first few.
    fn problem(&self, text: impl FnOnce() -> String) {
        if self.problem_count.fetch_add(1, Relaxed) < KEPT_PROBLEMS {
            self.problems.lock().unwrap().push(text());
        }
    }

    /// A connection that failed: the run is invalid.
    fn error(&self, text: String) {
        self.errors.lock().unwrap().push(text);
    }

    fn first_error(&self) -> Option<String> {
        self.errors.lock().unwrap().first().cloned()
    }
}

/// One subscriber's checks and counts.
struct SubState {
    id: usize,
    channel: usize,
    /// The next sequence number expected from each publisher.
    next_seq: Vec<u64>,
    /// End markers seen.
    ends: usize,
    delivered: u64,
    gaps: u64,
    reordered: u64,
    last_ns: u64,
    finished: bool,
}

/// One publisher's counts.
struct PubResult {
    /// (channel, data messages sent on it).
    sent: Vec<(usize, u64)>,
    acked: u64,
    mismatches: u64,
    stop_ns: u64,
}

/// Everything a worker thread measured; the tasks of one thread share it (no atomics on the hot path).
#[derive(Default)]
struct ThreadStats {
    hist: Histogram,
    subs: Vec<SubState>,
    pubs: Vec<PubResult>,
}

impl ThreadStats {
    fn merge(&mut self, other: ThreadStats) {
        self.hist.merge(&other.hist);
        self.subs.extend(other.subs);
        self.pubs.extend(other.pubs);
    }
}

/// Reads once more into `buf`'s spare room.
async fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Result<(), String> {
    if buf.capacity() - buf.len() < 4096 {
        buf.reserve(16 * 1024);
    }
    match stream.read_buf(buf).await {
        Ok(0) => Err("the server closed the connection".into()),
        Ok(_) => Ok(()),
        Err(e) => Err(format!("read: {e}")),
    }
}

async fn connect(addr: SocketAddr) -> Result<TcpStream, String> {
    let stream = TcpStream::connect(addr).await.map_err(|e| format!("connect to {addr}: {e}"))?;
    stream.set_nodelay(true).map_err(|e| format!("TCP_NODELAY: {e}"))?;
    Ok(stream)
}

fn protocol(e: resp::ProtocolError) -> String {
    format!("protocol error: {}", e.0)
}

/// A subscriber task: subscribe, confirm, then check every message until all end markers arrived.
async fn subscriber(shared: Arc<Shared>, stats: Rc<RefCell<ThreadStats>>, slot: usize, stream: TcpStream, t: usize) {
    if let Err(e) = run_subscriber(&shared, &stats, slot, stream, t).await {
        let (id, channel) = {
            let st = stats.borrow();
            (st.subs[slot].id, st.subs[slot].channel)
        };
        shared.error(format!("subscriber {id} ({}): {e}", shared.cfg.channel_name(channel)));
    }
    shared.subs_done.fetch_add(1, Relaxed);
}

async fn run_subscriber(
    shared: &Shared,
    stats: &RefCell<ThreadStats>,
    slot: usize,
    mut stream: TcpStream,
    t: usize,
) -> Result<(), String> {
    let cfg = &shared.cfg;
    let channel = stats.borrow().subs[slot].channel;
    let name = cfg.channel_name(channel);
    let pattern = cfg.pattern(channel);
    let (verb, kind, target): (&[u8], &[u8], &[u8]) = if cfg.patterns {
        (b"PSUBSCRIBE", b"psubscribe", pattern.as_bytes())
    } else {
        (b"SUBSCRIBE", b"subscribe", name.as_bytes())
    };
    stream.write_all(&command(&[verb, target])).await.map_err(|e| format!("write: {e}"))?;
    let mut buf = Vec::with_capacity(16 * 1024);
    loop {
        read_more(&mut stream, &mut buf).await?;
        if let Some((f, used)) = resp::frame(&buf).map_err(protocol)? {
            use resp::Item::{Bulk, Int};
            if !matches!(f.items[..f.len], [Bulk(k), Bulk(c), Int(1)] if k == kind && c == target) {
                return Err(format!("unexpected subscribe reply {:?}", String::from_utf8_lossy(&buf[..used])));
            }
            buf.drain(..used);
            break;
        }
    }
    shared.subs_ready.fetch_add(1, Relaxed);
    let publishers = cfg.publishers_of(channel);
    let progress = &shared.progress[t];
    loop {
        // What the buffer holds now is at most part of a frame (nothing is published before every
        // subscription is confirmed, so nothing followed the confirmation either).
        read_more(&mut stream, &mut buf).await?;
        // One clock read per socket read: every message in it arrived by now.
        let now = shared.ns(Instant::now());
        let mut st = stats.borrow_mut();
        let ThreadStats { hist, subs, .. } = &mut *st;
        let sub = &mut subs[slot];
        let before = sub.delivered;
        let mut pos = 0;
        while let Some((f, used)) = resp::frame(&buf[pos..]).map_err(protocol)? {
            pos += used;
            on_message(shared, sub, hist, &f, name.as_bytes(), pattern.as_bytes(), now)?;
        }
        buf.drain(..pos);
        progress.delivered.fetch_add(sub.delivered - before, Relaxed);
        if sub.ends == publishers {
            sub.finished = true;
            return Ok(());
        }
    }
}

/// Checks one push against the subscriber's channel, the payload's size and the sequence of its publisher.
fn on_message(
    shared: &Shared,
    sub: &mut SubState,
    hist: &mut Histogram,
    f: &resp::Frame<'_>,
    name: &[u8],
    pattern: &[u8],
    now: u64,
) -> Result<(), String> {
    use resp::Item::Bulk;
    let cfg = &shared.cfg;
    let payload = match f.items[..f.len] {
        [Bulk(b"message"), Bulk(c), Bulk(p)] if !cfg.patterns && c == name => p,
        [Bulk(b"pmessage"), Bulk(pat), Bulk(c), Bulk(p)] if cfg.patterns && pat == pattern && c == name => p,
        _ => return Err(format!("unexpected push {:?}", f.items[..f.len].to_vec())),
    };
    let header = Header::read(payload)
        .filter(|h| {
            payload.len() == cfg.size && h.channel as usize == sub.channel && (h.publisher as usize) < cfg.publishers
        })
        .ok_or_else(|| format!("a payload that this run did not send: {:?}", String::from_utf8_lossy(payload)))?;
    let p = header.publisher as usize;
    let next = &mut sub.next_seq[p];
    if header.end {
        if header.seq > *next {
            sub.gaps += 1;
            let (id, from) = (sub.id, *next);
            shared.problem(|| {
                format!(
                    "LOST: subscriber {id} never got messages {from}..{} of publisher {p} on {}",
                    header.seq - 1,
                    String::from_utf8_lossy(name)
                )
            });
        }
        sub.ends += 1;
        return Ok(());
    }
    if header.seq == *next {
        *next += 1;
    } else if header.seq > *next {
        sub.gaps += 1;
        let (id, from) = (sub.id, *next);
        shared.problem(|| {
            format!(
                "LOST: subscriber {id} got message {} of publisher {p} on {} after {}",
                header.seq,
                String::from_utf8_lossy(name),
                from as i64 - 1
            )
        });
        *next = header.seq + 1;
    } else {
        sub.reordered += 1;
        let (id, last) = (sub.id, *next - 1);
        shared.problem(|| {
            format!(
                "REORDERED: subscriber {id} got message {} of publisher {p} on {} after {last}",
                header.seq,
                String::from_utf8_lossy(name)
            )
        });
    }
    sub.delivered += 1;
    sub.last_ns = now;
    hist.record(now.saturating_sub(header.sent_ns));
    Ok(())
}

/// A publisher task: connect, wait for the run, publish until the deadline, then send the end markers.
async fn publisher(shared: Arc<Shared>, stats: Rc<RefCell<ThreadStats>>, id: usize, t: usize) {
    let sent = shared.cfg.owned_channels(id).into_iter().map(|c| (c, 0)).collect();
    let mut res = PubResult { sent, acked: 0, mismatches: 0, stop_ns: 0 };
    if let Err(e) = run_publisher(&shared, &mut res, id, t).await {
        shared.error(format!("publisher {id}: {e}"));
    }
    stats.borrow_mut().pubs.push(res);
    shared.pubs_done.fetch_add(1, Relaxed);
}

async fn run_publisher(shared: &Shared, res: &mut PubResult, id: usize, t: usize) -> Result<(), String> {
    let cfg = &shared.cfg;
    let mut stream = connect(shared.addr).await?;
    let owned: Vec<usize> = res.sent.iter().map(|&(c, _)| c).collect();
    let prefixes: Vec<Vec<u8>> = owned.iter().map(|&c| publish_prefix(&cfg.channel_name(c), cfg.size)).collect();
    let receivers: Vec<i64> = owned.iter().map(|&c| cfg.subscribers_of(c) as i64).collect();
    let pad = vec![b'x'; cfg.size - HEADER_LEN];
    shared.pubs_ready.fetch_add(1, Relaxed);
    let mut phase = shared.phase.clone();
    let run = *phase.wait_for(|p| *p != Phase::Setup).await.map_err(|_| "coordinator gone")?;
    let Phase::Run { start, deadline } = run else { return Ok(()) };
    let window = cfg.pipeline as u64;
    let rate = cfg.rate / cfg.publishers as f64;
    let mut wbuf = Vec::with_capacity(cfg.pipeline * (prefixes[0].len() + cfg.size + 2));
    let mut rbuf = Vec::with_capacity(16 * 1024);
    let (mut sent, mut next_k, mut ack_k) = (0u64, 0usize, 0usize);
    let progress = &shared.progress[t];
    loop {
        let now = Instant::now();
        if now < deadline {
            let mut budget = window - (sent - res.acked);
            if rate > 0.0 {
                let allowed = (now.duration_since(start).as_secs_f64() * rate) as u64 + 1;
                budget = budget.min(allowed.saturating_sub(sent));
            }
            if budget > 0 {
                // One timestamp per batch: building the batch takes far less than the delivery.
                let sent_ns = shared.ns(now);
                wbuf.clear();
                for _ in 0..budget {
                    let (channel, seq) = &mut res.sent[next_k];
                    let header =
                        Header { end: false, publisher: id as u32, channel: *channel as u32, seq: *seq, sent_ns };
                    append_publish(&mut wbuf, &prefixes[next_k], &header, &pad);
                    *seq += 1;
                    next_k = (next_k + 1) % owned.len();
                }
                stream.write_all(&wbuf).await.map_err(|e| format!("write: {e}"))?;
                sent += budget;
            } else if sent == res.acked {
                // Rate-limited with nothing in flight: sleep until the next message is due.
                let due = start + Duration::from_secs_f64(sent as f64 / rate);
                tokio::time::sleep_until(due.min(deadline).into()).await;
                continue;
            }
        } else if sent == res.acked {
            break;
        }
        read_more(&mut stream, &mut rbuf).await?;
        let before = res.acked;
        let mut pos = 0;
        while let Some((item, used)) = resp::item(&rbuf[pos..]).map_err(protocol)? {
            pos += used;
            check_reply(shared, res, id, owned[ack_k], receivers[ack_k], item)?;
            res.acked += 1;
            ack_k = (ack_k + 1) % owned.len();
        }
        rbuf.drain(..pos);
        progress.published.fetch_add(res.acked - before, Relaxed);
    }
    res.stop_ns = shared.ns(Instant::now());
    // The end markers: each carries how many data messages this publisher sent on the channel.
    wbuf.clear();
    for (k, &(channel, seq)) in res.sent.iter().enumerate() {
        let header = Header { end: true, publisher: id as u32, channel: channel as u32, seq, sent_ns: 0 };
        append_publish(&mut wbuf, &prefixes[k], &header, &pad);
    }
    stream.write_all(&wbuf).await.map_err(|e| format!("write: {e}"))?;
    let mut k = 0;
    while k < owned.len() {
        read_more(&mut stream, &mut rbuf).await?;
        let mut pos = 0;
        while let Some((item, used)) = resp::item(&rbuf[pos..]).map_err(protocol)? {
            pos += used;
            check_reply(shared, res, id, owned[k], receivers[k], item)?;
            k += 1;
        }
        rbuf.drain(..pos);
    }
    Ok(())
}

/// Checks a PUBLISH reply: the number of receivers must be the channel's subscriber count.
fn check_reply(
    shared: &Shared,
    res: &mut PubResult,
    id: usize,
    channel: usize,
    expected: i64,
    reply: resp::Item<'_>,
) -> Result<(), String> {
    let name = || shared.cfg.channel_name(channel);
    match reply {
        resp::Item::Int(n) if n == expected => {}
        resp::Item::Int(n) => {
            res.mismatches += 1;
            shared.problem(|| {
                format!("MISMATCH: PUBLISH {} by publisher {id} reached {n} clients, expected {expected}", name())
            });
        }
        resp::Item::Error(e) => {
            res.mismatches += 1;
            shared
                .problem(|| format!("MISMATCH: PUBLISH {} by publisher {id}: -{}", name(), String::from_utf8_lossy(e)));
        }
        other => return Err(format!("unexpected PUBLISH reply {other:?}")),
    }
    Ok(())
}

/// A worker thread: a single-threaded runtime running its share of the subscribers and publishers.
fn worker(shared: Arc<Shared>, t: usize) -> ThreadStats {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    let stats = Rc::new(RefCell::new(ThreadStats::default()));
    let local = LocalSet::new();
    let cfg = &shared.cfg;
    local.block_on(&rt, async {
        for id in (t..cfg.publishers).step_by(cfg.threads) {
            tokio::task::spawn_local(publisher(shared.clone(), stats.clone(), id, t));
        }
        // Connect one at a time so that thousands of subscribers do not overflow the server's accept backlog
        // (each then subscribes in its own task while the next one connects).
        for id in (t..cfg.subscribers).step_by(cfg.threads) {
            let channel = id % cfg.channels;
            let slot = {
                let mut st = stats.borrow_mut();
                st.subs.push(SubState {
                    id,
                    channel,
                    next_seq: vec![0; cfg.publishers],
                    ends: 0,
                    delivered: 0,
                    gaps: 0,
                    reordered: 0,
                    last_ns: 0,
                    finished: false,
                });
                st.subs.len() - 1
            };
            match connect(shared.addr).await {
                Ok(stream) => {
                    tokio::task::spawn_local(subscriber(shared.clone(), stats.clone(), slot, stream, t));
                }
                Err(e) => {
                    shared.error(format!("subscriber {id}: {e}"));
                    shared.subs_done.fetch_add(1, Relaxed);
                    break;
                }
            }
        }
        let mut phase = shared.phase.clone();
        let _ = phase.wait_for(|p| *p == Phase::Stop).await;
    });
    // Tasks still waiting (a subscriber that missed an end marker) are dropped with the LocalSet.
    drop(local);
    // Bound first: the RefMut temporary must end before `stats` does.
    let out = std::mem::take(&mut *stats.borrow_mut());
    out
}

/// Sends one command on the control connection and reads its whole reply.
async fn call(stream: &mut TcpStream, buf: &mut Vec<u8>, args: &[&[u8]]) -> Result<resp::Owned, String> {
    stream.write_all(&command(args)).await.map_err(|e| format!("write: {e}"))?;
    loop {
        if let Some((v, used)) = resp::owned(buf).map_err(protocol)? {
            buf.drain(..used);
            return Ok(v);
        }
        read_more(stream, buf).await?;
    }
}

/// The subscriptions the server counts, compared with what this run made; `None` when they agree.
async fn count_mismatch(shared: &Shared, stream: &mut TcpStream, buf: &mut Vec<u8>) -> Result<Option<String>, String> {
    use resp::Owned;
    let cfg = &shared.cfg;
    if cfg.patterns {
        // Unique patterns: one per channel that has a subscriber.
        let want = cfg.subscribers.min(cfg.channels) as i64;
        return match call(stream, buf, &[b"PUBSUB", b"NUMPAT"]).await? {
            Owned::Int(n) if n == want => Ok(None),
            Owned::Int(n) => Ok(Some(format!("PUBSUB NUMPAT is {n}, expected {want}"))),
            other => Err(format!("PUBSUB NUMPAT replied {other:?}")),
        };
    }
    let channels: Vec<usize> = (0..cfg.channels).collect();
    for chunk in channels.chunks(500) {
        let names: Vec<String> = chunk.iter().map(|&c| cfg.channel_name(c)).collect();
        let mut args: Vec<&[u8]> = vec![b"PUBSUB", b"NUMSUB"];
        args.extend(names.iter().map(|n| n.as_bytes()));
        let reply = call(stream, buf, &args).await?;
        let Owned::Array(items) = &reply else { return Err(format!("PUBSUB NUMSUB replied {reply:?}")) };
        if items.len() != 2 * chunk.len() {
            return Err(format!("PUBSUB NUMSUB replied {} items for {} channels", items.len(), chunk.len()));
        }
        for (pair, &c) in items.chunks(2).zip(chunk) {
            let want = cfg.subscribers_of(c) as i64;
            match pair {
                [Owned::Bulk(n), Owned::Int(got)] if n == names[c - chunk[0]].as_bytes() => {
                    if *got != want {
                        return Ok(Some(format!("PUBSUB NUMSUB {} is {got}, expected {want}", names[c - chunk[0]])));
                    }
                }
                _ => return Err(format!("PUBSUB NUMSUB replied {pair:?}")),
            }
        }
    }
    Ok(None)
}

/// When the run started and whether the drain timed out.
struct Times {
    start_ns: u64,
    drain_timed_out: bool,
}

/// The coordinator: setup, confirmation, the timed run with a progress line a second, the drain.
async fn coordinate(shared: &Shared, phase: &watch::Sender<Phase>) -> Result<Times, String> {
    let cfg = &shared.cfg;
    let setup_deadline = Instant::now() + Duration::from_secs(60) + Duration::from_millis(cfg.subscribers as u64 * 10);
    loop {
        if let Some(e) = shared.first_error() {
            return Err(format!("setup: {e}"));
        }
        let ready = shared.subs_ready.load(Relaxed);
        if ready == cfg.subscribers && shared.pubs_ready.load(Relaxed) == cfg.publishers {
            break;
        }
        if Instant::now() > setup_deadline {
            return Err(format!("setup timed out: {ready} of {} subscriptions confirmed", cfg.subscribers));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut control = connect(shared.addr).await?;
    let mut buf = Vec::new();
    let count_deadline = Instant::now() + Duration::from_secs(10);
    while let Some(m) = count_mismatch(shared, &mut control, &mut buf).await? {
        if Instant::now() > count_deadline {
            return Err(format!("every subscription was confirmed, but {m}"));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!("{} subscriptions confirmed and counted by the server; publishing for {} s", cfg.subscribers, cfg.seconds);

    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(cfg.seconds);
    phase.send_replace(Phase::Run { start, deadline });
    let totals = || {
        shared.progress.iter().fold((0, 0), |(p, d), g| (p + g.published.load(Relaxed), d + g.delivered.load(Relaxed)))
    };
    let (mut next_line, mut last) = (start + Duration::from_secs(1), (0, 0));
    while shared.pubs_done.load(Relaxed) < cfg.publishers {
        tokio::time::sleep(Duration::from_millis(10)).await;
        if Instant::now() >= next_line {
            let now = totals();
            println!(
                "  {:>4.0} s  published {:>9} msgs/s  delivered {:>10} msgs/s",
                next_line.duration_since(start).as_secs_f64(),
                now.0 - last.0,
                now.1 - last.1
            );
            last = now;
            next_line += Duration::from_secs(1);
        }
    }
    let drain_deadline = Instant::now() + Duration::from_secs_f64(cfg.drain_timeout);
    let mut drain_timed_out = false;
    while shared.subs_done.load(Relaxed) < cfg.subscribers {
        if Instant::now() >= drain_deadline {
            drain_timed_out = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    Ok(Times { start_ns: shared.ns(start), drain_timed_out })
}

/// Prints the results; returns the exit status (1 if anything was lost, reordered, mismatched or failed).
fn report(shared: &Shared, times: &Times, all: &ThreadStats) -> i32 {
    let cfg = &shared.cfg;
    let mut per_channel = vec![0u64; cfg.channels];
    for p in &all.pubs {
        for &(c, n) in &p.sent {
            per_channel[c] += n;
        }
    }
    let published: u64 = per_channel.iter().sum();
    let acked: u64 = all.pubs.iter().map(|p| p.acked).sum();
    let mismatches: u64 = all.pubs.iter().map(|p| p.mismatches).sum();
    let pub_end = all.pubs.iter().map(|p| p.stop_ns).max().unwrap_or(0);
    let pub_secs = pub_end.saturating_sub(times.start_ns) as f64 / 1e9;
    let expected: u64 = all.subs.iter().map(|s| per_channel[s.channel]).sum();
    let delivered: u64 = all.subs.iter().map(|s| s.delivered).sum();
    let lost: u64 = all.subs.iter().map(|s| per_channel[s.channel].saturating_sub(s.delivered)).sum();
    let extra: u64 = all.subs.iter().map(|s| s.delivered.saturating_sub(per_channel[s.channel])).sum();
    let reordered: u64 = all.subs.iter().map(|s| s.reordered).sum();
    let unfinished = all.subs.iter().filter(|s| !s.finished).count();
    let last_delivery = all.subs.iter().map(|s| s.last_ns).max().unwrap_or(0);
    let del_secs = last_delivery.saturating_sub(times.start_ns) as f64 / 1e9;
    let per_sec = |n: u64, secs: f64| if secs > 0.0 { n as f64 / secs } else { 0.0 };
    let us = |ns: u64| ns as f64 / 1e3;
    let h = &all.hist;
    let errors = shared.errors.lock().unwrap().clone();

    println!(
        "published  {published} msgs in {pub_secs:.2} s: {:.0} msgs/s ({acked} acknowledged)",
        per_sec(published, pub_secs)
    );
    println!(
        "delivered  {delivered} msgs in {del_secs:.2} s: {:.0} msgs/s ({expected} expected, fan-out {:.1})",
        per_sec(delivered, del_secs),
        if published > 0 { expected as f64 / published as f64 } else { 0.0 }
    );
    println!(
        "latency    publish -> delivery: p50 {:.1} us  p90 {:.1} us  p99 {:.1} us  p99.9 {:.1} us  max {:.1} us",
        us(h.quantile(0.5)),
        us(h.quantile(0.9)),
        us(h.quantile(0.99)),
        us(h.quantile(0.999)),
        us(h.max)
    );
    println!(
        "RESULT published_per_sec={:.0} delivered_per_sec={:.0} p50_us={:.1} p99_us={:.1} max_us={:.1} lost={lost} \
         reordered={reordered} mismatches={mismatches} errors={}",
        per_sec(published, pub_secs),
        per_sec(delivered, del_secs),
        us(h.quantile(0.5)),
        us(h.quantile(0.99)),
        us(h.max),
        errors.len()
    );

    let mut failures = Vec::new();
    let problems = shared.problems.lock().unwrap().clone();
    if let Some(first) = problems.first() {
        failures.push(format!("{} problems; the first: {first}", shared.problem_count.load(Relaxed)));
    }
    if lost > 0 {
        failures.push(format!("{lost} deliveries lost"));
    }
    if extra > 0 {
        failures.push(format!("{extra} deliveries more than published (duplicates)"));
    }
    if times.drain_timed_out {
        failures.push(format!(
            "{unfinished} subscribers still missed end markers {} s after publishing stopped",
            cfg.drain_timeout
        ));
    }
    if let Some(first) = errors.first() {
        failures.push(format!("{} connection errors; the first: {first}", errors.len()));
    }
    if failures.is_empty() {
        return 0;
    }
    for f in &failures {
        eprintln!("pubsub_bench: FAILED: {f}");
    }
    for p in problems.iter().skip(1) {
        eprintln!("pubsub_bench:   then: {p}");
    }
    1
}

fn main() {
    let mut cfg = match parse_args(std::env::args().skip(1)) {
        Ok(Some(cfg)) => cfg,
        Ok(None) => {
            print!("{USAGE}");
            return;
        }
        Err(e) => {
            eprint!("pubsub_bench: {e}\n{USAGE}");
            std::process::exit(2);
        }
    };
    let addr = match (cfg.host.as_str(), cfg.port).to_socket_addrs().map(|mut a| a.next()) {
        Ok(Some(addr)) => addr,
        _ => {
            eprintln!("pubsub_bench: cannot resolve {}:{}", cfg.host, cfg.port);
            std::process::exit(2);
        }
    };
    cfg.addr = Some(addr);
    println!(
        "pubsub_bench: {addr}, {} publishers, {} subscribers on {} channels ({}), {}-byte payloads, pipeline {}, \
         {}{} client thread(s)",
        cfg.publishers,
        cfg.subscribers,
        cfg.channels,
        if cfg.patterns { "PSUBSCRIBE" } else { "SUBSCRIBE" },
        cfg.size,
        cfg.pipeline,
        if cfg.rate > 0.0 { format!("rate cap {} msgs/s, ", cfg.rate) } else { String::new() },
        cfg.threads
    );
    let (phase_tx, phase_rx) = watch::channel(Phase::Setup);
    let threads = cfg.threads;
    let shared = Arc::new(Shared {
        progress: (0..threads).map(|_| Progress::default()).collect(),
        cfg,
        addr,
        epoch: Instant::now(),
        phase: phase_rx,
        subs_ready: AtomicUsize::new(0),
        pubs_ready: AtomicUsize::new(0),
        subs_done: AtomicUsize::new(0),
        pubs_done: AtomicUsize::new(0),
        problems: Mutex::new(Vec::new()),
        problem_count: AtomicU64::new(0),
        errors: Mutex::new(Vec::new()),
    });
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name(format!("pubsub-bench-{t}"))
                .spawn(move || worker(shared, t))
                .expect("spawn a worker thread")
        })
        .collect();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    let times = match rt.block_on(coordinate(&shared, &phase_tx)) {
        Ok(times) => times,
        Err(e) => {
            eprintln!("pubsub_bench: FAILED: {e}");
            std::process::exit(1);
        }
    };
    phase_tx.send_replace(Phase::Stop);
    let mut all = ThreadStats::default();
    for w in workers {
        all.merge(w.join().expect("a worker thread panicked"));
    }
    std::process::exit(report(&shared, &times, &all));
}

/// An incremental RESP2 parser over a byte buffer: it borrows from the buffer (no allocation per message)
/// and says `None` when the buffer holds only part of a value, so callers read more and try again.
mod resp {
    /// One RESP2 value, or the header of an array (whose items follow as further items).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Item<'a> {
        Simple(&'a [u8]),
        Error(&'a [u8]),
        Int(i64),
        Bulk(&'a [u8]),
        Nil,
        Array(usize),
        NilArray,
    }

    /// Input that is not RESP2.
    #[derive(Debug, PartialEq, Eq)]
    pub struct ProtocolError(pub &'static str);

    /// Longest bulk string accepted (Redis's proto-max-bulk-len default).
    const MAX_BULK: i64 = 512 * 1024 * 1024;

    /// The index of the CR that ends the line at the start of `buf`, if the CR LF has arrived.
    fn line_end(buf: &[u8]) -> Result<Option<usize>, ProtocolError> {
        match buf.iter().position(|&b| b == b'\r') {
            None => Ok(None),
            Some(i) if i + 1 == buf.len() => Ok(None),
            Some(i) if buf[i + 1] == b'\n' => Ok(Some(i)),
            Some(_) => Err(ProtocolError("CR not followed by LF")),
        }
    }

    fn int(line: &[u8]) -> Result<i64, ProtocolError> {
        let (negative, digits) = match line.split_first() {
            Some((b'-', rest)) => (true, rest),
            _ => (false, line),
        };
        // 18 digits always fit an i64.
        if digits.is_empty() || digits.len() > 18 {
            return Err(ProtocolError("bad integer"));
        }
        let mut n: i64 = 0;
        for &d in digits {
            if !d.is_ascii_digit() {
                return Err(ProtocolError("bad integer"));
            }
            n = n * 10 + i64::from(d - b'0');
        }
        Ok(if negative { -n } else { n })
    }

    /// Parses the item at the start of `buf` and returns it with the bytes it took.
    pub fn item(buf: &[u8]) -> Result<Option<(Item<'_>, usize)>, ProtocolError> {
        let Some(&tag) = buf.first() else { return Ok(None) };
        let Some(cr) = line_end(&buf[1..])? else { return Ok(None) };
        let line = &buf[1..1 + cr];
        let next = cr + 3;
        let item = match tag {
            b'+' => Item::Simple(line),
            b'-' => Item::Error(line),
            b':' => Item::Int(int(line)?),
            b'$' => match int(line)? {
                -1 => Item::Nil,
                n if !(0..=MAX_BULK).contains(&n) => return Err(ProtocolError("bad bulk length")),
                n => {
                    let end = next + n as usize;
                    if buf.len() < end + 2 {
                        return Ok(None);
                    }
                    if &buf[end..end + 2] != b"\r\n" {
                        return Err(ProtocolError("bulk string not followed by CR LF"));
                    }
                    return Ok(Some((Item::Bulk(&buf[next..end]), end + 2)));
                }
            },
            b'*' => match int(line)? {
                -1 => Item::NilArray,
                n if n < 0 => return Err(ProtocolError("bad array length")),
                n => Item::Array(n as usize),
            },
            _ => return Err(ProtocolError("unexpected type byte")),
        };
        Ok(Some((item, next)))
    }

    /// An array of at most four scalars: a pub/sub push or a subscribe confirmation.
    #[derive(Debug)]
    pub struct Frame<'a> {
        pub len: usize,
        pub items: [Item<'a>; 4],
    }

    /// Parses a whole frame at the start of `buf`; anything but such an array is a protocol error here.
    pub fn frame(buf: &[u8]) -> Result<Option<(Frame<'_>, usize)>, ProtocolError> {
        let Some((head, mut pos)) = item(buf)? else { return Ok(None) };
        let Item::Array(len) = head else { return Err(ProtocolError("expected an array")) };
        if len > 4 {
            return Err(ProtocolError("array of more than 4 items"));
        }
        let mut items = [Item::Nil; 4];
        for slot in &mut items[..len] {
            let Some((it, used)) = item(&buf[pos..])? else { return Ok(None) };
            if matches!(it, Item::Array(_) | Item::NilArray) {
                return Err(ProtocolError("nested array"));
            }
            *slot = it;
            pos += used;
        }
        Ok(Some((Frame { len, items }, pos)))
    }

    /// An owned RESP2 value, for the control connection.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum Owned {
        Simple(String),
        Error(String),
        Int(i64),
        Bulk(Vec<u8>),
        Nil,
        Array(Vec<Owned>),
    }

    /// Parses a whole value, arrays included, into owned data.
    pub fn owned(buf: &[u8]) -> Result<Option<(Owned, usize)>, ProtocolError> {
        let Some((head, mut pos)) = item(buf)? else { return Ok(None) };
        let value = match head {
            Item::Simple(s) => Owned::Simple(String::from_utf8_lossy(s).into_owned()),
            Item::Error(s) => Owned::Error(String::from_utf8_lossy(s).into_owned()),
            Item::Int(n) => Owned::Int(n),
            Item::Bulk(b) => Owned::Bulk(b.to_vec()),
            Item::Nil | Item::NilArray => Owned::Nil,
            Item::Array(n) => {
                let mut items = Vec::with_capacity(n.min(1024));
                for _ in 0..n {
                    let Some((v, used)) = owned(&buf[pos..])? else { return Ok(None) };
                    items.push(v);
                    pos += used;
                }
                Owned::Array(items)
            }
        };
        Ok(Some((value, pos)))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        const MESSAGE: &[u8] = b"*3\r\n$7\r\nmessage\r\n$6\r\npsb:0m\r\n$5\r\nhello\r\n";
        const PMESSAGE: &[u8] = b"*4\r\n$8\r\npmessage\r\n$5\r\npsb:*\r\n$5\r\npsb:0\r\n$3\r\na\r\n\r\n";

        #[test]
        fn scalars() {
            assert_eq!(item(b"+OK\r\n"), Ok(Some((Item::Simple(b"OK"), 5))));
            assert_eq!(item(b"-ERR no\r\n"), Ok(Some((Item::Error(b"ERR no"), 9))));
            assert_eq!(item(b":42\r\nrest"), Ok(Some((Item::Int(42), 5))));
            assert_eq!(item(b":-7\r\n"), Ok(Some((Item::Int(-7), 5))));
            assert_eq!(item(b"$3\r\nabc\r\n"), Ok(Some((Item::Bulk(b"abc"), 9))));
            assert_eq!(item(b"$0\r\n\r\n"), Ok(Some((Item::Bulk(b""), 6))));
            assert_eq!(item(b"$-1\r\n"), Ok(Some((Item::Nil, 5))));
            assert_eq!(item(b"*2\r\n"), Ok(Some((Item::Array(2), 4))));
            assert_eq!(item(b"*-1\r\n"), Ok(Some((Item::NilArray, 5))));
        }

        #[test]
        fn a_bulk_string_may_hold_cr_lf() {
            assert_eq!(item(b"$4\r\n\r\n\r\n\r\n"), Ok(Some((Item::Bulk(b"\r\n\r\n"), 10))));
        }

        #[test]
        fn message_and_pmessage_frames() {
            let (f, used) = frame(MESSAGE).unwrap().unwrap();
            assert_eq!(used, MESSAGE.len());
            assert_eq!(f.items[..f.len], [Item::Bulk(b"message"), Item::Bulk(b"psb:0m"), Item::Bulk(b"hello")]);
            let (f, used) = frame(PMESSAGE).unwrap().unwrap();
            assert_eq!(used, PMESSAGE.len());
            assert_eq!(
                f.items[..f.len],
                [Item::Bulk(b"pmessage"), Item::Bulk(b"psb:*"), Item::Bulk(b"psb:0"), Item::Bulk(b"a\r\n")]
            );
            let confirm = b"*3\r\n$9\r\nsubscribe\r\n$3\r\nfoo\r\n:1\r\n";
            let (f, _) = frame(confirm).unwrap().unwrap();
            assert_eq!(f.items[..f.len], [Item::Bulk(b"subscribe"), Item::Bulk(b"foo"), Item::Int(1)]);
        }

        /// Every split point of a stream of frames: a prefix is incomplete, never an error or a wrong frame.
        #[test]
        fn every_prefix_is_incomplete() {
            for whole in [MESSAGE, PMESSAGE] {
                for cut in 0..whole.len() {
                    assert!(frame(&whole[..cut]).unwrap().is_none(), "cut at {cut} of {:?}", whole);
                }
            }
            for whole in [&b"$3\r\nabc\r\n"[..], b":12\r\n", b"-ERR x\r\n"] {
                for cut in 0..whole.len() {
                    assert_eq!(item(&whole[..cut]), Ok(None), "cut at {cut}");
                }
            }
        }

        #[test]
        fn frames_back_to_back() {
            let mut stream = MESSAGE.to_vec();
            stream.extend_from_slice(PMESSAGE);
            stream.extend_from_slice(&MESSAGE[..10]);
            let (f, used) = frame(&stream).unwrap().unwrap();
            assert_eq!((f.len, used), (3, MESSAGE.len()));
            let (f, used2) = frame(&stream[used..]).unwrap().unwrap();
            assert_eq!((f.len, used2), (4, PMESSAGE.len()));
            assert!(frame(&stream[used + used2..]).unwrap().is_none());
        }

        #[test]
        fn bad_input_is_an_error() {
            let err = |b: &[u8]| item(b).unwrap_err().0;
            assert_eq!(err(b"?x\r\n"), "unexpected type byte");
            assert_eq!(err(b":12a\r\n"), "bad integer");
            assert_eq!(err(b":\r\n"), "bad integer");
            assert_eq!(err(b":1234567890123456789\r\n"), "bad integer");
            assert_eq!(err(b"$-2\r\n"), "bad bulk length");
            assert_eq!(err(b"$2\r\nabcd\r\n"), "bulk string not followed by CR LF");
            assert_eq!(err(b"+OK\rX"), "CR not followed by LF");
            assert_eq!(err(b"*-2\r\n"), "bad array length");
            assert_eq!(frame(b":1\r\n").unwrap_err().0, "expected an array");
            assert_eq!(frame(b"*5\r\n").unwrap_err().0, "array of more than 4 items");
            assert_eq!(frame(b"*2\r\n*1\r\n:1\r\n:2\r\n").unwrap_err().0, "nested array");
        }

        #[test]
        fn owned_values_nest() {
            let reply = b"*4\r\n$1\r\na\r\n:1\r\n*1\r\n+x\r\n$-1\r\n";
            let (v, used) = owned(reply).unwrap().unwrap();
            assert_eq!(used, reply.len());
            assert_eq!(
                v,
                Owned::Array(vec![
                    Owned::Bulk(b"a".to_vec()),
                    Owned::Int(1),
                    Owned::Array(vec![Owned::Simple("x".into())]),
                    Owned::Nil
                ])
            );
            for cut in 0..reply.len() {
                assert_eq!(owned(&reply[..cut]), Ok(None));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(publishers: usize, subscribers: usize, channels: usize) -> Config {
        Config { publishers, subscribers, channels, ..Config::default() }
    }

    /// Every channel has a publisher, the owners agree with publishers_of, and subscriber counts add up.
    #[test]
    fn topology() {
        for p in 1..12 {
            for c in 1..12 {
                let cfg = cfg(p, 37, c);
                let mut owners = vec![0; c];
                for id in 0..p {
                    let owned = cfg.owned_channels(id);
                    assert!(!owned.is_empty(), "publisher {id} of {p} owns nothing with {c} channels");
                    for ch in owned {
                        owners[ch] += 1;
                    }
                }
                for (ch, &n) in owners.iter().enumerate() {
                    assert_eq!(n, cfg.publishers_of(ch), "{p} publishers, {c} channels, channel {ch}");
                }
                let subs: usize = (0..c).map(|ch| cfg.subscribers_of(ch)).sum();
                assert_eq!(subs, 37);
                for ch in 0..c {
                    assert_eq!(cfg.subscribers_of(ch), (0..37).filter(|i| i % c == ch).count());
                }
            }
        }
    }

    #[test]
    fn patterns_match_one_channel_only() {
        let cfg = cfg(1, 1, 20);
        assert_eq!(cfg.channel_name(1), "psb:1:m");
        assert_eq!(cfg.pattern(1), "psb:1:*");
        assert!(!cfg.channel_name(10).starts_with(cfg.pattern(1).trim_end_matches('*')));
    }

    #[test]
    fn header_round_trip() {
        let h = Header { end: false, publisher: 7, channel: 3, seq: 1 << 40, sent_ns: 123_456_789 };
        let mut buf = Vec::new();
        append_publish(&mut buf, b"", &h, b"xx");
        assert_eq!(buf.len(), HEADER_LEN + 4);
        assert_eq!(Header::read(&buf), Some(h));
        let end = Header { end: true, ..h };
        buf.clear();
        end.write(&mut buf);
        assert_eq!(Header::read(&buf), Some(end));
        assert_eq!(Header::read(&buf[..HEADER_LEN - 1]), None);
        assert_eq!(Header::read(b"XXXXxxxxxxxxxxxxxxxxxxxxxxxxxxxx"), None);
    }

    #[test]
    fn publish_command_is_resp() {
        let h = Header { end: false, publisher: 0, channel: 0, seq: 0, sent_ns: 0 };
        let mut cmd = Vec::new();
        append_publish(&mut cmd, &publish_prefix("psb:0:m", 30), &h, b"pp");
        let v = resp::owned(&cmd).unwrap().unwrap();
        assert_eq!(v.1, cmd.len());
        let resp::Owned::Array(items) = v.0 else { panic!("not an array") };
        assert_eq!(items[0], resp::Owned::Bulk(b"PUBLISH".to_vec()));
        assert_eq!(items[1], resp::Owned::Bulk(b"psb:0:m".to_vec()));
        assert!(matches!(&items[2], resp::Owned::Bulk(p) if p.len() == 30));
        assert_eq!(command(&[b"PING"]), b"*1\r\n$4\r\nPING\r\n");
    }

    #[test]
    fn histogram_buckets() {
        // Buckets are contiguous: each value lands in a bucket whose range holds it.
        for v in (0..5000u64).chain([1 << 20, (1 << 20) + 12345, u64::MAX / 3, u64::MAX]) {
            let i = Histogram::index(v);
            assert!(Histogram::upper(i) >= v, "{v}");
            assert!(i == 0 || Histogram::upper(i - 1) < v, "{v}");
        }
        assert_eq!(Histogram::index(u64::MAX), Histogram::default().counts.len() - 1);
        let mut h = Histogram::default();
        for v in 1..=1000u64 {
            h.record(v * 1000);
        }
        let p50 = h.quantile(0.5);
        assert!((500_000..=500_000 * 33 / 32).contains(&p50), "{p50}");
        let p99 = h.quantile(0.99);
        assert!((990_000..=990_000 * 33 / 32).contains(&p99), "{p99}");
        assert_eq!(h.quantile(1.0), 1_000_000);
        let mut m = Histogram::default();
        m.merge(&h);
        m.merge(&h);
        assert_eq!((m.total, m.max, m.quantile(0.5)), (2000, 1_000_000, p50));
    }

    #[test]
    fn arguments() {
        let args = |s: &str| parse_args(s.split_whitespace().map(String::from));
        let c = args("--port 7500 --publishers 50 --subscribers 2500 --channels 50 --patterns --pipeline 16")
            .unwrap()
            .unwrap();
        assert_eq!(
            (c.port, c.publishers, c.subscribers, c.channels, c.patterns, c.pipeline),
            (7500, 50, 2500, 50, true, 16)
        );
        assert!(args("--help").unwrap().is_none());
        assert_eq!(args("--size 27").unwrap_err(), "--size must be at least 28 (the header)");
        assert_eq!(args("--port").unwrap_err(), "--port needs a value");
        assert_eq!(args("--port x").unwrap_err(), "--port: bad value \"x\"");
        assert_eq!(args("--bogus 1").unwrap_err(), "unknown option --bogus");
        assert!(args("--seconds 0").is_err());
        assert!(args("--rate -1").is_err());
        assert!(args("--pipeline 0").is_err());
    }
}
