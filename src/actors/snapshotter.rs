//! Snapshotter: the RDB file actor, on its own arbiter (the design card's persistence actor for snapshots).
//! It writes what the Keyspace encodes into a temp file, checksums it, fsyncs and renames it over `dbfilename`
//! (then fsyncs the directory), so a crash mid-save leaves the previous file whole; and it reads RDB files
//! back a chunk of keys at a time for the Keyspace to insert. The Keyspace's side (the fork-less snapshot,
//! save points, SAVE/BGSAVE, loading, DEBUG RELOAD) lives in keyspace/rdb.rs.
//!
//! ```text
//!  Keyspace ── SaveBegin(header) ──► Snapshotter ── create temp-<pid>.rdb
//!           ── SaveChunk(SELECTDB + encoded keys) ... (written as they come, CRC64 kept running)
//!           ── SaveFinish ◄─ EOF + checksum, fsync, rename, fsync dir: Ok(bytes) or Err(why)
//!  (a diskless full sync: SaveBegin(Replicas) sends `$EOF:<mark>`, the chunks and EOF + checksum + mark go
//!   straight to the replicas' connections as Push frames; no file)
//!           ── LoadOpen(path) ◄─ size; LoadNext ◄─ up to LOAD_CHUNK items (read ahead while the Keyspace inserts)
//! ```

use crate::actors::connection::Push;
use crate::commands::OBUF_REPLICA;
use crate::persist::rdb::{self, Crc64, Item, RdbReader};
use crate::types::encodings::Encodings;
use actix::prelude::*;
use bytes::Bytes;
use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Keys (or bytes of values, whichever comes first) one LoadNext answer carries: small enough that the
/// Keyspace inserts them between client batches without a long stall, big enough to amortize the hop.
const LOAD_CHUNK_ITEMS: usize = 1024;
const LOAD_CHUNK_BYTES: u64 = 4 << 20;

/// Owns the RDB files. Runs on its own arbiter: blocking file calls here stall nobody.
pub struct Snapshotter {
    save: Option<SaveFile>,
    load: Option<LoadFile>,
    /// Disk-based syncs' files being sent to their replicas.
    sending: Vec<Sending>,
    /// Bytes handed over by the Keyspace and not yet written (the snapshot's extra memory); the Keyspace adds,
    /// this actor subtracts.
    pending: Arc<AtomicU64>,
}

struct SaveFile {
    out: Out,
    crc: Crc64,
    bytes: u64,
    checksum: bool,
    err: Option<String>,
}

/// Where a save in progress writes.
enum Out {
    /// The temp file beside `path`, renamed over it when complete (None: it could not be created).
    File { tmp: TempName, path: PathBuf, file: Option<BufWriter<File>> },
    /// A diskless full sync's replica connections and its end mark.
    Replicas { conns: Vec<SyncConn>, mark: Bytes },
}

/// A replica connection a full sync's file goes to, and its count of pushed bytes not yet written
/// (`Handles::pushed`), by which the sender paces itself.
pub type SyncConn = (Recipient<Push>, Arc<std::sync::atomic::AtomicUsize>);

/// Push `frames` to each of `conns`, counted as pending at once, not when the connection takes them: the
/// pacing that reads the count (`send_more`, the Keyspace's `diskless_flow`) must see what is still in the
/// mailboxes, or a replica's thread that lags behind lets the whole file through (CI saw 10.7 MB pending
/// against the 4 MB allowance).
fn push_counted(conns: &[SyncConn], frames: &[Bytes]) {
    let len: usize = frames.iter().map(|f| f.len()).sum();
    for (c, pending) in conns {
        pending.fetch_add(len, Ordering::Relaxed);
        c.do_send(Push { frames: frames.to_vec(), class: OBUF_REPLICA, counted: true, shared: false });
    }
}

impl SaveFile {
    fn new(out: Out, checksum: bool) -> SaveFile {
        SaveFile { out, crc: Crc64::new(), bytes: 0, checksum, err: None }
    }

    /// Drop an unfinished save: a file save's temp file goes too.
    fn discard(self) {
        if let Out::File { tmp, file, .. } = self.out {
            drop(file);
            let _ = fs::remove_file(&*tmp);
        }
    }
}

/// Temp files saves are writing now, process-wide (their names carry the pid, as Redis's do).
static TEMP_FILES: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// A save's temp file name, listed in TEMP_FILES while the save owns it, so that an exit in a hurry can
/// remove it (`remove_temp_files`).
struct TempName(PathBuf);

impl TempName {
    fn new(path: PathBuf) -> TempName {
        TEMP_FILES.lock().unwrap_or_else(|e| e.into_inner()).push(path.clone());
        TempName(path)
    }
}

impl std::ops::Deref for TempName {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempName {
    /// Renamed or removed by now (or left by a failed save that reported it): no longer ours to remove.
    fn drop(&mut self) {
        let mut list = TEMP_FILES.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = list.iter().position(|p| *p == self.0) {
            list.swap_remove(i);
        }
    }
}

/// Remove the temp files of the saves in progress (Redis's rdbRemoveTempFile from its signal handler): a
/// second SIGINT exits at once, in the middle of the final save, and leaves no `temp-<pid>.rdb` behind.
pub fn remove_temp_files() {
    for p in TEMP_FILES.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        let _ = fs::remove_file(p);
    }
}

struct LoadFile {
    key_delay_us: u64,
    chunk_bytes: u64,
    reader: RdbReader<BufReader<Box<dyn io::Read + Send>>>,
    /// The file (None: a master's stream) and how it is decoded, for redis-check-rdb's report when it turns
    /// out unreadable.
    path: Option<PathBuf>,
    enc: Encodings,
    /// Read ahead of the next LoadNext (or the error that ended reading).
    ahead: Option<Result<LoadStep, String>>,
    done: bool,
}

impl Snapshotter {
    pub fn new(pending: Arc<AtomicU64>) -> Snapshotter {
        Snapshotter { save: None, load: None, sending: Vec::new(), pending }
    }

    /// Read the next chunk of items; `done` once the EOF record (and checksum) is read.
    fn read_chunk(&mut self) -> Result<LoadStep, String> {
        let Some(l) = &mut self.load else { return Err("no RDB file is open for loading".into()) };
        if l.done {
            let skipped = l.reader.empty_keys_skipped();
            return Ok(LoadStep { items: Vec::new(), offset: l.reader.offset(), done: true, empty_skipped: skipped });
        }
        let mut items = Vec::with_capacity(64);
        let start = l.reader.offset();
        loop {
            let item = l.reader.next().map_err(|e| {
                // As Redis runs redis-check-rdb on a file it fails to load: the report follows the error.
                let Some(path) = &l.path else { return e.to_string() };
                let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                let report = File::open(path)
                    .map(|f| rdb::check_report(BufReader::new(f), &name, l.enc, crate::types::clock::system_ms()))
                    .unwrap_or_default();
                format!("{e}\n{report}")
            })?;
            if matches!(item, Item::Eof) {
                l.done = true;
                break;
            }
            if l.key_delay_us > 0 && matches!(item, Item::Entry(_)) {
                std::thread::sleep(std::time::Duration::from_micros(l.key_delay_us));
            }
            items.push(item);
            if items.len() >= LOAD_CHUNK_ITEMS || l.reader.offset() - start >= l.chunk_bytes {
                break;
            }
        }
        Ok(LoadStep { items, offset: l.reader.offset(), done: l.done, empty_skipped: l.reader.empty_keys_skipped() })
    }
}

impl Actor for Snapshotter {
    type Context = Context<Self>;
}

/// Fsync the directory holding `path`, so a rename into it survives a crash (as Redis's fsyncFileDir).
fn fsync_dir(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        File::open(dir)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Where a save goes.
pub enum SaveSink {
    /// `dir`/`dbfilename`, through a temp file renamed over it when complete.
    File(PathBuf),
    /// A diskless full sync (repl-diskless-sync): straight to these replicas' connections as
    /// `$EOF:<mark>\r\n`, the RDB, then the 40-byte mark, as Redis's rdbSaveToSlavesSockets sends it.
    Replicas { conns: Vec<SyncConn>, mark: String },
}

/// Start a save: create the temp file (or greet the replicas) and write the header (magic, aux fields,
/// functions).
#[derive(Message)]
#[rtype(result = "()")]
pub struct SaveBegin {
    pub sink: SaveSink,
    pub header: Vec<u8>,
    /// rdbchecksum: write the CRC64 (else 0, which loaders do not check).
    pub checksum: bool,
}

impl Handler<SaveBegin> for Snapshotter {
    type Result = ();

    /// Open `temp-<pid>.rdb` beside the target; an error is kept and reported by SaveFinish.
    fn handle(&mut self, msg: SaveBegin, _: &mut Self::Context) {
        if let Some(old) = self.save.take() {
            old.discard();
        }
        let s = match msg.sink {
            SaveSink::Replicas { conns, mark } => {
                push_counted(&conns, &[Bytes::from(format!("$EOF:{mark}\r\n"))]);
                SaveFile::new(Out::Replicas { conns, mark: Bytes::from(mark) }, msg.checksum)
            }
            SaveSink::File(path) => {
                let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
                let tmp = TempName::new(dir.join(format!("temp-{}.rdb", std::process::id())));
                match File::create(&*tmp) {
                    Ok(f) => {
                        let file = Some(BufWriter::with_capacity(1 << 20, f));
                        SaveFile::new(Out::File { tmp, path, file }, msg.checksum)
                    }
                    Err(e) => {
                        let cwd = std::env::current_dir().map(|p| p.display().to_string()).unwrap_or_default();
                        let why = format!(
                            "Failed opening the temp RDB file {} (in server root dir {cwd}) for saving: {e}",
                            tmp.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
                        );
                        let mut s = SaveFile::new(Out::File { tmp, path, file: None }, msg.checksum);
                        s.err = Some(why);
                        s
                    }
                }
            }
        };
        self.save = Some(s);
        self.write(msg.header);
    }
}

impl Snapshotter {
    /// Append to the save in progress (keeping the first error).
    fn write(&mut self, bytes: Vec<u8>) {
        let n = bytes.len() as u64;
        if let Some(s) = self.save.as_mut().filter(|s| s.err.is_none()) {
            let written = match &mut s.out {
                Out::File { file: Some(f), .. } => f.write_all(&bytes),
                // No file (its error is kept), or replicas: their connections write it (the Keyspace paces the
                // snapshot by what they have not).
                _ => Ok(()),
            };
            match written {
                Ok(()) => {
                    if s.checksum {
                        s.crc.update(&bytes);
                    }
                    s.bytes += n;
                    if let Out::Replicas { conns, .. } = &s.out {
                        push_counted(conns, &[Bytes::from(bytes)]);
                    }
                }
                Err(e) => s.err = Some(format!("Write error saving DB on disk: {e}")),
            }
        }
        self.pending.fetch_sub(n.min(self.pending.load(Ordering::Relaxed)), Ordering::Relaxed);
    }
}

/// Encoded keys of the save in progress.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SaveChunk(pub Vec<u8>);

impl Handler<SaveChunk> for Snapshotter {
    type Result = ();

    /// Write them to the temp file.
    fn handle(&mut self, msg: SaveChunk, _: &mut Self::Context) {
        self.write(msg.0);
    }
}

/// Every key is out: end the file, make it durable and put it in place. Answers the file's size.
#[derive(Message)]
#[rtype(result = "Result<u64, String>")]
pub struct SaveFinish;

impl Handler<SaveFinish> for Snapshotter {
    type Result = Result<u64, String>;

    /// EOF and checksum, flush, fsync, rename over the target, fsync the directory.
    fn handle(&mut self, _: SaveFinish, _: &mut Self::Context) -> Self::Result {
        let mut s = self.save.take().ok_or("no save in progress")?;
        let res = (|| {
            if let Some(e) = s.err.take() {
                return Err(e);
            }
            let mut tail = Vec::with_capacity(9);
            rdb::write_eof(&mut tail);
            s.crc.update(&tail);
            let sum = if s.checksum { s.crc.finish() } else { 0 };
            tail.extend_from_slice(&sum.to_le_bytes());
            let (tmp, path, file) = match &mut s.out {
                Out::Replicas { conns, mark } => {
                    let n = s.bytes + tail.len() as u64;
                    push_counted(conns, &[Bytes::from(tail), mark.clone()]);
                    return Ok(n);
                }
                Out::File { tmp, path, file } => (tmp, path, file),
            };
            let mut f = file.take().ok_or("the temp file is not open")?;
            let werr = |e: io::Error| format!("Write error saving DB on disk: {e}");
            f.write_all(&tail).map_err(werr)?;
            let f = f.into_inner().map_err(|e| werr(e.into_error()))?;
            f.sync_all().map_err(werr)?;
            drop(f);
            fs::rename(&**tmp, &**path).map_err(|e| {
                let cwd = std::env::current_dir().map(|p| p.display().to_string()).unwrap_or_default();
                format!(
                    "Error moving temp DB file {} on the final destination {} (in server root dir {cwd}): {e}",
                    tmp.display(),
                    path.display()
                )
            })?;
            fsync_dir(path).map_err(|e| format!("Failed to fsync directory while saving DB: {e}"))?;
            Ok(s.bytes + tail.len() as u64)
        })();
        if res.is_err() {
            s.discard();
        }
        res
    }
}

/// Drop the save in progress and its temp file.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SaveAbort;

impl Handler<SaveAbort> for Snapshotter {
    type Result = ();

    /// Close and remove the temp file.
    fn handle(&mut self, _: SaveAbort, _: &mut Self::Context) {
        if let Some(s) = self.save.take() {
            s.discard();
        }
    }
}

/// Where a load reads from.
pub enum LoadSource {
    File(PathBuf),
    /// A master's full sync, read as it arrives (repl-diskless-load): the link feeds it.
    Stream(StreamReader),
}

/// The RDB of a diskless load, in the chunks the ReplicaLink reads from the master's socket. Reading blocks
/// this (the Snapshotter's) thread until the next chunk comes; the link's end of the channel is bounded, so a
/// slow load slows the link's reads and, through TCP, the master.
pub struct StreamReader {
    rx: futures::channel::mpsc::Receiver<Bytes>,
    cur: Bytes,
}

impl StreamReader {
    /// A reader and the sender the link feeds (`depth` chunks may wait in between).
    pub fn channel(depth: usize) -> (futures::channel::mpsc::Sender<Bytes>, StreamReader) {
        let (tx, rx) = futures::channel::mpsc::channel(depth);
        (tx, StreamReader { rx, cur: Bytes::new() })
    }
}

impl io::Read for StreamReader {
    /// The next bytes; end of file once the link dropped its sender (the stream ended, complete or not).
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        use futures::StreamExt;
        while self.cur.is_empty() {
            match futures::executor::block_on(self.rx.next()) {
                Some(b) => self.cur = b,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.cur.len());
        buf[..n].copy_from_slice(&self.cur[..n]);
        bytes::Buf::advance(&mut self.cur, n);
        Ok(n)
    }
}

/// Open an RDB file (or a master's stream) for loading. Answers None when there is no file, else its size (0
/// for a stream).
#[derive(Message)]
#[rtype(result = "Result<Option<u64>, String>")]
pub struct LoadOpen {
    pub source: LoadSource,
    pub enc: Encodings,
    /// rdbchecksum: verify the file's CRC64.
    pub verify: bool,
    /// key-load-delay (µs slept after each key; tests use it to watch a load in progress).
    pub key_delay_us: u64,
    /// loading-process-events-interval-bytes: at most this much of the file per chunk.
    pub chunk_bytes: u64,
}

impl Handler<LoadOpen> for Snapshotter {
    type Result = Result<Option<u64>, String>;

    /// Open the file, read its header, and read the first chunk ahead.
    fn handle(&mut self, msg: LoadOpen, _: &mut Self::Context) -> Self::Result {
        self.load = None;
        let (input, size, path): (Box<dyn io::Read + Send>, u64, Option<PathBuf>) = match msg.source {
            LoadSource::File(path) => {
                let f = match File::open(&path) {
                    Ok(f) => f,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
                    Err(e) => return Err(format!("Fatal error loading the DB: {e}. Exiting.")),
                };
                let size = f.metadata().map(|m| m.len()).unwrap_or(0);
                (Box::new(f), size, Some(path))
            }
            LoadSource::Stream(r) => (Box::new(r), 0, None),
        };
        let reader =
            RdbReader::new(BufReader::with_capacity(1 << 20, input), msg.enc, msg.verify).map_err(|e| e.to_string())?;
        let chunk_bytes = msg.chunk_bytes.clamp(1024, LOAD_CHUNK_BYTES);
        self.load = Some(LoadFile {
            key_delay_us: msg.key_delay_us,
            chunk_bytes,
            reader,
            path,
            enc: msg.enc,
            ahead: None,
            done: false,
        });
        let first = self.read_chunk();
        if let Some(l) = &mut self.load {
            l.ahead = Some(first);
        }
        Ok(Some(size))
    }
}

/// The next chunk of the file being loaded.
#[derive(Message)]
#[rtype(result = "Result<LoadStep, String>")]
pub struct LoadNext;

/// A chunk of loaded records, and how far into the file they reach.
pub struct LoadStep {
    pub items: Vec<Item>,
    /// Bytes of the file consumed so far.
    pub offset: u64,
    /// The EOF record was read and the checksum verified: no more chunks.
    pub done: bool,
    /// Empty collections skipped so far (old Redis versions could save them; Redis logs the count).
    pub empty_skipped: u64,
}

impl Handler<LoadNext> for Snapshotter {
    type Result = Result<LoadStep, String>;

    /// Hand over the chunk read ahead and read the next one while the Keyspace inserts this one.
    fn handle(&mut self, _: LoadNext, ctx: &mut Self::Context) -> Self::Result {
        let step = match self.load.as_mut().and_then(|l| l.ahead.take()) {
            Some(s) => s,
            None => self.read_chunk(),
        };
        match &step {
            Ok(s) if !s.done => ctx.notify(ReadAhead),
            _ => self.load = None,
        }
        step
    }
}

/// Read the next chunk now, so it is ready when asked for.
#[derive(Message)]
#[rtype(result = "()")]
struct ReadAhead;

impl Handler<ReadAhead> for Snapshotter {
    type Result = ();

    /// Fill the read-ahead slot, unless a LoadNext already took the chunk.
    fn handle(&mut self, _: ReadAhead, _: &mut Self::Context) {
        if self.load.as_ref().is_some_and(|l| l.ahead.is_none()) {
            let step = self.read_chunk();
            if let Some(l) = &mut self.load {
                l.ahead = Some(step);
            }
        }
    }
}

/// Close the file being loaded.
#[derive(Message)]
#[rtype(result = "()")]
pub struct LoadClose;

impl Handler<LoadClose> for Snapshotter {
    type Result = ();

    /// Drop the reader.
    fn handle(&mut self, _: LoadClose, _: &mut Self::Context) {
        self.load = None;
    }
}

/// Bytes a full sync lets its slowest replica have unsent before more of the file is read (a disk-based
/// sync, here) or encoded (a diskless one, by the Keyspace): Redis sends the file as the replica's socket
/// takes it, and so the master never holds a whole file for a replica.
pub const SYNC_ALLOWANCE: usize = 4 << 20;
/// What one read of the file takes.
const SYNC_FILE_CHUNK: usize = 1 << 20;

/// Send a disk-based full sync's file to replicas: `$<len>\r\n` then the file, read a chunk at a time as the
/// slowest replica's socket takes it, so neither this process nor the replicas' output counts hold the whole
/// file. Answers through `done` once all is pushed (the Keyspace then sends the stream held for them), or
/// with an error (the file is unreadable, or every replica left).
#[derive(Message)]
#[rtype(result = "()")]
pub struct SendSyncFile {
    pub path: PathBuf,
    /// Each replica's connection and its count of pushed bytes not yet written.
    pub conns: Vec<SyncConn>,
    pub done: tokio::sync::oneshot::Sender<Result<u64, String>>,
}

/// A SendSyncFile in progress.
struct Sending {
    file: File,
    left: u64,
    len: u64,
    conns: Vec<SyncConn>,
    done: tokio::sync::oneshot::Sender<Result<u64, String>>,
}

impl Handler<SendSyncFile> for Snapshotter {
    type Result = ();

    /// Open the file now (queued after the save that wrote it: a later save renames a new file over the path,
    /// and this one keeps reading the old), send the length, then the file as the replicas take it.
    fn handle(&mut self, msg: SendSyncFile, ctx: &mut Self::Context) {
        let opened = File::open(&msg.path).and_then(|f| f.metadata().map(|m| (f, m.len())));
        let (file, len) = match opened {
            Ok(x) => x,
            Err(e) => {
                let _ = msg.done.send(Err(format!("Can't read the RDB for the replicas: {e}")));
                return;
            }
        };
        push_counted(&msg.conns, &[Bytes::from(format!("${len}\r\n"))]);
        self.sending.push(Sending { file, left: len, len, conns: msg.conns, done: msg.done });
        self.send_more(ctx);
    }
}

impl Snapshotter {
    /// Push more of each file being sent while its slowest replica has room; look again shortly otherwise.
    fn send_more(&mut self, ctx: &mut Context<Self>) {
        let mut waiting = false;
        let mut i = 0;
        while i < self.sending.len() {
            let s = &mut self.sending[i];
            s.conns.retain(|(c, _)| c.connected());
            let mut outcome = None;
            if s.conns.is_empty() {
                outcome = Some(Err("every replica of the sync left".to_string()));
            }
            while outcome.is_none() {
                let unsent = s.conns.iter().map(|(_, p)| p.load(Ordering::Relaxed)).max().unwrap_or(0);
                if s.left == 0 {
                    outcome = Some(Ok(s.len));
                    break;
                }
                if unsent > SYNC_ALLOWANCE {
                    waiting = true;
                    break;
                }
                let mut buf = vec![0u8; (s.left as usize).min(SYNC_FILE_CHUNK)];
                if let Err(e) = io::Read::read_exact(&mut s.file, &mut buf) {
                    outcome = Some(Err(format!("Can't read the RDB for the replicas: {e}")));
                    break;
                }
                s.left -= buf.len() as u64;
                push_counted(&s.conns, &[Bytes::from(buf)]);
            }
            match outcome {
                Some(res) => {
                    let s = self.sending.remove(i);
                    let _ = s.done.send(res);
                }
                None => i += 1,
            }
        }
        if waiting {
            ctx.run_later(std::time::Duration::from_millis(2), |act, ctx| act.send_more(ctx));
        }
    }
}

/// ACL LOAD / SAVE's file work (reading or replacing the ACL file), off the Keyspace's thread.
#[derive(Message)]
#[rtype(result = "crate::commands::acl::FileDone")]
pub struct AclFile(pub crate::commands::acl::FileJob);

impl Handler<AclFile> for Snapshotter {
    type Result = MessageResult<AclFile>;

    /// Do it on this thread, in turn with the RDB work.
    fn handle(&mut self, msg: AclFile, _: &mut Self::Context) -> Self::Result {
        MessageResult(msg.0.run())
    }
}
