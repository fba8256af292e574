//! `cache_bench`: a cache workload for any Redis-compatible server over TCP, to compare hit ratios and
//! throughput under `maxmemory` with an eviction policy. It is a plain RESP2 client (it does not use the
//! ferrodis library), so redis-server and ferrodis are measured with the same code.
//!
//! ```sh
//! cargo run --release --example cache_bench -- --port 6379 --keys 200000 --value-size 100 \
//!     --policy allkeys-lru --maxmemory-pct 30 --seconds 20
//! ```
//!
//! Workload: each client draws a key from a Zipf popularity over `--keys` keys (exponent `--zipf`), GETs
//! it, and SETs it (`--value-size` bytes) when the GET missed, as an application filling its cache from a
//! database would. The hot set shifts: every `--shift-secs` seconds the popularity ranks move by
//! `--shift-frac` of the key space, so yesterday's hot keys cool down and the policy must notice. Clients
//! pipeline `--pipeline` GETs, then the SETs for that round's misses.
//!
//! Memory: `--maxmemory BYTES` sets the limit as given; `--maxmemory-pct P` sets it to the server's empty
//! used_memory plus P% of the dataset's size, the dataset being `--dataset-bytes` (e.g. measured on
//! redis-server, to give both servers the same room) or, without it, measured here by loading every key once
//! and reading used_memory. `--policy` sets maxmemory-policy. The tool FLUSHALLs first.
//!
//! Phases: setup; `--warmup` seconds of the workload (the cache fills; not counted); `--seconds` measured.
//! It prints the hit ratio (GET hits / GETs), operations per second (GETs and SETs), the keys the server
//! evicted during the measured phase (INFO evicted_keys), used_memory at the end, and a machine-readable
//! `RESULT ...` line. SETs refused with -OOM are counted as errors, not as hits.

use std::io::Write as _;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const USAGE: &str = "\
usage: cache_bench [--host H] [--port P] [--keys N] [--value-size B] [--zipf S] [--shift-secs S]
                   [--shift-frac F] [--clients N] [--pipeline N] [--threads N] [--seconds S] [--warmup S]
                   [--policy NAME] [--maxmemory BYTES | --maxmemory-pct P [--dataset-bytes B]] [--seed N]
  --host H            server host (127.0.0.1)
  --port P            server port (6379)
  --keys N            distinct keys (200000)
  --value-size B      value bytes (100)
  --zipf S            Zipf exponent of key popularity (0.99)
  --shift-secs S      the hot set moves every S seconds (5; 0: never)
  --shift-frac F      by this fraction of the key space (0.1)
  --clients N         connections (8)
  --pipeline N        GETs in flight per connection (16)
  --threads N         client threads, each a single-threaded tokio runtime (1)
  --seconds S         measured time (20)
  --warmup S          unmeasured time first, while the cache fills (5)
  --policy NAME       CONFIG SET maxmemory-policy (left as is when absent)
  --maxmemory BYTES   CONFIG SET maxmemory
  --maxmemory-pct P   CONFIG SET maxmemory to empty used_memory + P% of the dataset
  --dataset-bytes B   the dataset's size for --maxmemory-pct (measured on this server when absent)
  --seed N            random seed (1)
";

/// The command line.
#[derive(Clone, Debug)]
struct Config {
    host: String,
    port: u16,
    keys: u64,
    value_size: usize,
    zipf: f64,
    shift_secs: f64,
    shift_frac: f64,
    clients: usize,
    pipeline: usize,
    threads: usize,
    seconds: f64,
    warmup: f64,
    policy: Option<String>,
    maxmemory: Option<u64>,
    maxmemory_pct: Option<f64>,
    dataset_bytes: Option<u64>,
    seed: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            host: "127.0.0.1".into(),
            port: 6379,
            keys: 200_000,
            value_size: 100,
            zipf: 0.99,
            shift_secs: 5.0,
            shift_frac: 0.1,
            clients: 8,
            pipeline: 16,
            threads: 1,
            seconds: 20.0,
            warmup: 5.0,
            policy: None,
            maxmemory: None,
            maxmemory_pct: None,
            dataset_bytes: None,
            seed: 1,
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
        if flag == "-h" || flag == "--help" {
            return Ok(None);
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--host" => cfg.host = value,
            "--port" => cfg.port = num(&flag, &value)?,
            "--keys" => cfg.keys = num(&flag, &value)?,
            "--value-size" => cfg.value_size = num(&flag, &value)?,
            "--zipf" => cfg.zipf = num(&flag, &value)?,
            "--shift-secs" => cfg.shift_secs = num(&flag, &value)?,
            "--shift-frac" => cfg.shift_frac = num(&flag, &value)?,
            "--clients" => cfg.clients = num(&flag, &value)?,
            "--pipeline" => cfg.pipeline = num(&flag, &value)?,
            "--threads" => cfg.threads = num(&flag, &value)?,
            "--seconds" => cfg.seconds = num(&flag, &value)?,
            "--warmup" => cfg.warmup = num(&flag, &value)?,
            "--policy" => cfg.policy = Some(value),
            "--maxmemory" => cfg.maxmemory = Some(num(&flag, &value)?),
            "--maxmemory-pct" => cfg.maxmemory_pct = Some(num(&flag, &value)?),
            "--dataset-bytes" => cfg.dataset_bytes = Some(num(&flag, &value)?),
            "--seed" => cfg.seed = num(&flag, &value)?,
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    if cfg.keys == 0 || cfg.clients == 0 || cfg.pipeline == 0 || cfg.threads == 0 {
        return Err("--keys, --clients, --pipeline and --threads must be at least 1".into());
    }
    // NaN fails every comparison, so these also refuse it.
    let ok = |x: f64, strict: bool| x.is_finite() && (x > 0.0 || (!strict && x == 0.0));
    if !ok(cfg.seconds, true) || !ok(cfg.warmup, false) || !ok(cfg.shift_secs, false) {
        return Err("--seconds must be positive, --warmup and --shift-secs not negative".into());
    }
    if !ok(cfg.zipf, false) || !(0.0..=1.0).contains(&cfg.shift_frac) {
        return Err("--zipf must not be negative, --shift-frac must be in 0..1".into());
    }
    if cfg.maxmemory.is_some() && cfg.maxmemory_pct.is_some() {
        return Err("--maxmemory and --maxmemory-pct exclude each other".into());
    }
    Ok(Some(cfg))
}

/// Key popularity: rank r (0 = hottest) is drawn with probability proportional to 1 / (r + 1)^s, by a
/// binary search of the cumulative weights.
struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    fn new(n: u64, s: f64) -> Zipf {
        let mut cdf = Vec::with_capacity(n as usize);
        let mut sum = 0.0;
        for r in 0..n {
            sum += 1.0 / ((r + 1) as f64).powf(s);
            cdf.push(sum);
        }
        for c in &mut cdf {
            *c /= sum;
        }
        Zipf { cdf }
    }

    /// The rank for a uniform draw `u` in [0, 1).
    fn rank(&self, u: f64) -> u64 {
        self.cdf.partition_point(|&c| c <= u).min(self.cdf.len() - 1) as u64
    }
}

/// xorshift64*: small and fast; each client has its own.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// What every client adds to while the measured phase runs.
#[derive(Default)]
struct Counters {
    gets: AtomicU64,
    hits: AtomicU64,
    sets: AtomicU64,
    errors: AtomicU64,
}

/// Shared by the clients: the workload and the phase.
struct Shared {
    cfg: Config,
    zipf: Zipf,
    start: Instant,
    /// Counting (the measured phase).
    measuring: AtomicBool,
    stop: AtomicBool,
    counters: Counters,
}

impl Shared {
    /// The key id for popularity rank `rank` now: ranks move by `shift_frac` of the space per period.
    fn key_id(&self, rank: u64) -> u64 {
        let n = self.cfg.keys;
        let shift = if self.cfg.shift_secs > 0.0 {
            let periods = (self.start.elapsed().as_secs_f64() / self.cfg.shift_secs) as u64;
            periods.wrapping_mul((n as f64 * self.cfg.shift_frac) as u64)
        } else {
            0
        };
        (rank + shift) % n
    }
}

/// Append a RESP command to `buf`.
fn encode(buf: &mut Vec<u8>, args: &[&[u8]]) {
    buf.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for a in args {
        buf.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        buf.extend_from_slice(a);
        buf.extend_from_slice(b"\r\n");
    }
}

/// One parsed reply: what the workload needs to know of it.
#[derive(Debug, PartialEq, Eq)]
enum Reply {
    Nil,
    Bulk(Vec<u8>),
    Simple(String),
    Error(String),
    Int(i64),
}

/// Parse one reply at the start of `buf`: the reply and its length, or None when incomplete.
fn parse_reply(buf: &[u8]) -> Result<Option<(Reply, usize)>, String> {
    let Some(eol) = buf.windows(2).position(|w| w == b"\r\n") else { return Ok(None) };
    let line = std::str::from_utf8(&buf[1..eol]).map_err(|_| "bad reply line".to_string())?;
    let after = eol + 2;
    match buf.first() {
        Some(b'+') => Ok(Some((Reply::Simple(line.into()), after))),
        Some(b'-') => Ok(Some((Reply::Error(line.into()), after))),
        Some(b':') => Ok(Some((Reply::Int(line.parse().map_err(|_| "bad integer")?), after))),
        Some(b'$') => {
            let len: i64 = line.parse().map_err(|_| "bad bulk length")?;
            if len < 0 {
                return Ok(Some((Reply::Nil, after)));
            }
            let end = after + len as usize;
            if buf.len() < end + 2 {
                return Ok(None);
            }
            Ok(Some((Reply::Bulk(buf[after..end].to_vec()), end + 2)))
        }
        _ => Err(format!("unexpected reply {:?}", String::from_utf8_lossy(&buf[..eol]))),
    }
}

/// A connection with a read buffer.
struct Conn {
    sock: TcpStream,
    buf: Vec<u8>,
    pos: usize,
}

impl Conn {
    async fn open(addr: SocketAddr) -> Result<Conn, String> {
        let sock = TcpStream::connect(addr).await.map_err(|e| format!("connect {addr}: {e}"))?;
        sock.set_nodelay(true).map_err(|e| e.to_string())?;
        Ok(Conn { sock, buf: Vec::with_capacity(64 * 1024), pos: 0 })
    }

    async fn send(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.sock.write_all(bytes).await.map_err(|e| format!("write: {e}"))
    }

    async fn read(&mut self) -> Result<Reply, String> {
        loop {
            if let Some((r, n)) = parse_reply(&self.buf[self.pos..])? {
                self.pos += n;
                if self.pos == self.buf.len() {
                    self.buf.clear();
                    self.pos = 0;
                }
                return Ok(r);
            }
            if self.pos > 0 {
                self.buf.drain(..self.pos);
                self.pos = 0;
            }
            let mut chunk = [0u8; 16 * 1024];
            let n = self.sock.read(&mut chunk).await.map_err(|e| format!("read: {e}"))?;
            if n == 0 {
                return Err("connection closed by the server".into());
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    async fn call(&mut self, args: &[&[u8]]) -> Result<Reply, String> {
        let mut b = Vec::new();
        encode(&mut b, args);
        self.send(&b).await?;
        self.read().await
    }

    /// INFO field `name` as an integer (0 when absent).
    async fn info_field(&mut self, section: &str, name: &str) -> Result<u64, String> {
        match self.call(&[b"INFO", section.as_bytes()]).await? {
            Reply::Bulk(b) => Ok(info_value(&String::from_utf8_lossy(&b), name).unwrap_or(0)),
            r => Err(format!("INFO: {r:?}")),
        }
    }
}

/// Field `name` of an INFO text.
fn info_value(text: &str, name: &str) -> Option<u64> {
    text.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(':')?.trim().parse().ok())
}

/// One client: rounds of `pipeline` GETs, then SETs for the misses, until told to stop.
async fn client(shared: Arc<Shared>, addr: SocketAddr, seed: u64) -> Result<(), String> {
    let mut conn = Conn::open(addr).await?;
    let cfg = &shared.cfg;
    let value = vec![b'v'; cfg.value_size];
    let mut rng = Rng(seed | 1);
    let mut out = Vec::with_capacity(cfg.pipeline * 64);
    let mut ids = Vec::with_capacity(cfg.pipeline);
    let mut missed = Vec::with_capacity(cfg.pipeline);
    let mut key = Vec::with_capacity(32);
    let c = &shared.counters;
    while !shared.stop.load(Relaxed) {
        out.clear();
        ids.clear();
        for _ in 0..cfg.pipeline {
            let id = shared.key_id(shared.zipf.rank(rng.unit()));
            ids.push(id);
            key.clear();
            let _ = write!(key, "key:{id}");
            encode(&mut out, &[b"GET", &key]);
        }
        conn.send(&out).await?;
        missed.clear();
        let mut hits = 0;
        for &id in &ids {
            match conn.read().await? {
                Reply::Nil => missed.push(id),
                Reply::Bulk(_) => hits += 1,
                r => return Err(format!("GET: {r:?}")),
            }
        }
        let mut errors = 0;
        if !missed.is_empty() {
            out.clear();
            for id in &missed {
                key.clear();
                let _ = write!(key, "key:{id}");
                encode(&mut out, &[b"SET", &key, &value]);
            }
            conn.send(&out).await?;
            for _ in &missed {
                match conn.read().await? {
                    Reply::Simple(_) => {}
                    Reply::Error(_) => errors += 1,
                    r => return Err(format!("SET: {r:?}")),
                }
            }
        }
        if shared.measuring.load(Relaxed) {
            c.gets.fetch_add(ids.len() as u64, Relaxed);
            c.hits.fetch_add(hits, Relaxed);
            c.sets.fetch_add(missed.len() as u64, Relaxed);
            c.errors.fetch_add(errors, Relaxed);
        }
    }
    Ok(())
}

/// A worker thread: a single-threaded runtime running its share of the clients.
fn worker(shared: Arc<Shared>, addr: SocketAddr, first: usize, count: usize) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async move {
        let mut tasks = Vec::new();
        for i in first..first + count {
            let seed = shared.cfg.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(i as u64 * 7919 + 1);
            tasks.push(tokio::task::spawn_local(client(shared.clone(), addr, seed)));
        }
        for t in tasks {
            t.await.map_err(|e| e.to_string())??;
        }
        Ok(())
    })
}

/// Load every key once (pipelined) to measure what the dataset costs the server.
async fn measure_dataset(conn: &mut Conn, cfg: &Config) -> Result<u64, String> {
    conn.call(&[b"CONFIG", b"SET", b"maxmemory", b"0"]).await?;
    conn.call(&[b"FLUSHALL"]).await?;
    let before = conn.info_field("memory", "used_memory").await?;
    let value = vec![b'v'; cfg.value_size];
    let mut out = Vec::new();
    let mut id = 0;
    while id < cfg.keys {
        out.clear();
        let n = (cfg.keys - id).min(1000);
        for j in 0..n {
            encode(&mut out, &[b"SET", format!("key:{}", id + j).as_bytes(), &value]);
        }
        conn.send(&out).await?;
        for _ in 0..n {
            conn.read().await?;
        }
        id += n;
    }
    let after = conn.info_field("memory", "used_memory").await?;
    conn.call(&[b"FLUSHALL"]).await?;
    Ok(after.saturating_sub(before))
}

/// Set up the server (flush, policy, maxmemory); returns (maxmemory, dataset bytes if measured or given).
async fn setup(addr: SocketAddr, cfg: &Config) -> Result<(u64, Option<u64>), String> {
    let mut conn = Conn::open(addr).await?;
    if let Some(p) = &cfg.policy {
        if let Reply::Error(e) = conn.call(&[b"CONFIG", b"SET", b"maxmemory-policy", p.as_bytes()]).await? {
            return Err(format!("CONFIG SET maxmemory-policy: {e}"));
        }
    }
    let mut dataset = cfg.dataset_bytes;
    let max = match (cfg.maxmemory, cfg.maxmemory_pct) {
        (Some(m), _) => Some(m),
        (None, Some(pct)) => {
            let d = match dataset {
                Some(d) => d,
                None => measure_dataset(&mut conn, cfg).await?,
            };
            dataset = Some(d);
            conn.call(&[b"CONFIG", b"SET", b"maxmemory", b"0"]).await?;
            conn.call(&[b"FLUSHALL"]).await?;
            let empty = conn.info_field("memory", "used_memory").await?;
            Some(empty + (d as f64 * pct / 100.0) as u64)
        }
        (None, None) => None,
    };
    conn.call(&[b"FLUSHALL"]).await?;
    if let Some(m) = max {
        if let Reply::Error(e) = conn.call(&[b"CONFIG", b"SET", b"maxmemory", m.to_string().as_bytes()]).await? {
            return Err(format!("CONFIG SET maxmemory: {e}"));
        }
    }
    let max = conn.info_field("memory", "maxmemory").await?;
    Ok((max, dataset))
}

/// INFO stats evicted_keys and INFO memory used_memory.
async fn server_counters(addr: SocketAddr) -> Result<(u64, u64), String> {
    let mut conn = Conn::open(addr).await?;
    Ok((conn.info_field("stats", "evicted_keys").await?, conn.info_field("memory", "used_memory").await?))
}

fn main() {
    let cfg = match parse_args(std::env::args().skip(1)) {
        Ok(Some(c)) => c,
        Ok(None) => {
            print!("{USAGE}");
            return;
        }
        Err(e) => {
            eprintln!("cache_bench: {e}\n{USAGE}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(cfg) {
        println!("FAILED: {e}");
        std::process::exit(1);
    }
}

fn run(cfg: Config) -> Result<(), String> {
    let addr = (cfg.host.as_str(), cfg.port)
        .to_socket_addrs()
        .map_err(|e| format!("{}:{}: {e}", cfg.host, cfg.port))?
        .next()
        .ok_or("no address")?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    let (maxmemory, dataset) = rt.block_on(setup(addr, &cfg))?;
    println!(
        "cache_bench: {addr} keys {} value {}B zipf {} shift {}s by {:.0}% clients {} pipeline {} maxmemory {maxmemory}{}",
        cfg.keys,
        cfg.value_size,
        cfg.zipf,
        cfg.shift_secs,
        cfg.shift_frac * 100.0,
        cfg.clients,
        cfg.pipeline,
        dataset.map(|d| format!(" (dataset {d} bytes)")).unwrap_or_default()
    );
    let shared = Arc::new(Shared {
        zipf: Zipf::new(cfg.keys, cfg.zipf),
        start: Instant::now(),
        measuring: AtomicBool::new(false),
        stop: AtomicBool::new(false),
        counters: Counters::default(),
        cfg: cfg.clone(),
    });
    let per = cfg.clients.div_ceil(cfg.threads);
    let mut handles = Vec::new();
    for t in 0..cfg.threads {
        let first = t * per;
        let count = per.min(cfg.clients.saturating_sub(first));
        if count == 0 {
            break;
        }
        let sh = shared.clone();
        handles.push(std::thread::spawn(move || worker(sh, addr, first, count)));
    }
    std::thread::sleep(Duration::from_secs_f64(cfg.warmup));
    let (evicted0, _) = rt.block_on(server_counters(addr))?;
    shared.measuring.store(true, Relaxed);
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs_f64(cfg.seconds));
    shared.measuring.store(false, Relaxed);
    let secs = t0.elapsed().as_secs_f64();
    let (evicted1, used) = rt.block_on(server_counters(addr))?;
    shared.stop.store(true, Relaxed);
    for h in handles {
        h.join().map_err(|_| "a worker panicked")??;
    }
    let c = &shared.counters;
    let (gets, hits, sets, errors) =
        (c.gets.load(Relaxed), c.hits.load(Relaxed), c.sets.load(Relaxed), c.errors.load(Relaxed));
    let ratio = if gets > 0 { hits as f64 / gets as f64 } else { 0.0 };
    let ops = (gets + sets) as f64 / secs;
    let evicted = evicted1.saturating_sub(evicted0);
    println!(
        "hit ratio {:.4}  ops/s {:.0}  gets {gets} hits {hits} sets {sets} errors {errors}  evicted {evicted}  used_memory {used}",
        ratio, ops
    );
    println!(
        "RESULT hit_ratio={ratio:.4} ops_per_sec={ops:.0} gets={gets} hits={hits} sets={sets} errors={errors} \
         evicted={evicted} used_memory={used} maxmemory={maxmemory}"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zipf_favours_low_ranks_and_covers_the_range() {
        let z = Zipf::new(1000, 0.99);
        let mut rng = Rng(42);
        let mut counts = vec![0u32; 1000];
        for _ in 0..100_000 {
            counts[z.rank(rng.unit()) as usize] += 1;
        }
        assert!(counts[0] > counts[10] && counts[10] > counts[500]);
        // Rank 0 holds about 1/H(1000) of the draws (H ~ 7.1 at s = 0.99).
        assert!((11_000..17_000).contains(&counts[0]), "{}", counts[0]);
        assert_eq!(z.rank(0.0), 0);
        assert_eq!(z.rank(0.999_999_999), 999);
        // Exponent 0: uniform.
        let u = Zipf::new(4, 0.0);
        assert_eq!((u.rank(0.1), u.rank(0.3), u.rank(0.6), u.rank(0.9)), (0, 1, 2, 3));
    }

    #[test]
    fn replies_parse_whole_or_wait() {
        assert_eq!(parse_reply(b"$-1\r\n").unwrap(), Some((Reply::Nil, 5)));
        assert_eq!(parse_reply(b"$3\r\nabc\r\n+OK").unwrap(), Some((Reply::Bulk(b"abc".to_vec()), 9)));
        assert_eq!(parse_reply(b"$3\r\nab").unwrap(), None);
        assert_eq!(parse_reply(b"+OK\r\n").unwrap(), Some((Reply::Simple("OK".into()), 5)));
        assert_eq!(parse_reply(b":12\r\n").unwrap(), Some((Reply::Int(12), 5)));
        assert!(matches!(parse_reply(b"-OOM x\r\n").unwrap(), Some((Reply::Error(e), 8)) if e == "OOM x"));
        assert!(parse_reply(b"*1\r\n").is_err());
        assert_eq!(info_value("# Stats\r\nevicted_keys:12\r\nx:1\r\n", "evicted_keys"), Some(12));
        assert_eq!(info_value("evicted_keys_x:3\r\n", "evicted_keys"), None);
    }

    #[test]
    fn flags_parse_and_refuse_nonsense() {
        let args = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
        let c = parse_args(args("--port 7000 --maxmemory-pct 30 --policy allkeys-lfu")).unwrap().unwrap();
        assert_eq!((c.port, c.maxmemory_pct, c.policy.as_deref()), (7000, Some(30.0), Some("allkeys-lfu")));
        assert!(parse_args(args("--help")).unwrap().is_none());
        assert!(parse_args(args("--keys 0")).is_err());
        assert!(parse_args(args("--maxmemory 1 --maxmemory-pct 2")).is_err());
        assert!(parse_args(args("--seconds nan")).is_err());
        assert!(parse_args(args("--bogus 1")).is_err());
    }

    #[test]
    fn the_hot_set_shifts_with_time() {
        let cfg = Config { keys: 100, shift_secs: 0.05, shift_frac: 0.1, ..Config::default() };
        let shared = Shared {
            zipf: Zipf::new(cfg.keys, cfg.zipf),
            start: Instant::now(),
            measuring: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            counters: Counters::default(),
            cfg,
        };
        let first = shared.key_id(0);
        let deadline = Instant::now() + Duration::from_secs(5);
        while shared.key_id(0) == first {
            assert!(Instant::now() < deadline, "the hot set never moved");
            std::thread::yield_now();
        }
        assert_eq!((shared.key_id(0) + 100 - first) % 10, 0);
    }
}
