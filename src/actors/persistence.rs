//! Persistence: the AofWriter actor, on its own arbiter, does every AOF file operation (appends, fsync, the
//! rewrite's base file, the manifest, reading files back for loading), so the Keyspace thread never touches
//! the disk. The Keyspace's side of the AOF (feeding it, the fork-less rewrite, DEBUG LOADAOF) lives beside
//! the Keyspace, in keyspace/aof.rs.
//!
//! ```text
//!  Keyspace ── Append(feed bytes of a batch) ──► AofWriter ── write, fsync (always / everysec timer / no)
//!           ── StartRewrite: new incr file (mailbox order puts every later Append there)
//!           ── RewriteChunk(SELECT n + encoded keys) ... FinishRewrite: fsync base, manifest, drop history
//!           ◄─ Load: the manifest's files, scanned into commands (the Keyspace executes them)
//! ```

use crate::commands::aof::{AofMode, AofShared, Fsync, LoadedFile};
use crate::persist::aof::{self, Manifest, ScanEnd};
use crate::persist::rdb::{self, Crc64, Item, RdbReader};
use actix::prelude::*;
use bytes::Bytes;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;

/// Where the AOF lives and how to treat it, from the config at start-up.
#[derive(Clone, Debug)]
pub struct AofConfig {
    /// `dir`.
    pub root: PathBuf,
    pub dirname: String,
    pub filename: String,
    pub fsync: Fsync,
    pub load_truncated: bool,
    /// aof-use-rdb-preamble at start-up: the name of the empty base made when there is no AOF yet.
    pub rdb_preamble: bool,
    /// Encoding thresholds for values read from an RDB base.
    pub enc: crate::types::encodings::Encodings,
}

/// Owns the AOF files. Runs on its own arbiter: blocking file calls here stall nobody but queued appends.
pub struct AofWriter {
    cfg: AofConfig,
    /// `dir`/`appenddirname`.
    dir: PathBuf,
    manifest: Manifest,
    /// The incr file being appended to (None while the AOF is off), and whether it is the temporary one of
    /// AOF_WAIT_REWRITE.
    incr: Option<File>,
    incr_temp: bool,
    /// Bytes in the incr file (aof_last_incr_size).
    incr_size: u64,
    /// Written since the last fsync.
    unsynced: bool,
    rewrite: Option<RewriteFile>,
    shared: Arc<AofShared>,
    /// Appends received but not yet written, and who waits for them (appendfsync always). They are written
    /// together once the mailbox is drained: one write (and one fsync) for all the batches queued meanwhile.
    pending: Vec<Bytes>,
    acks: Vec<oneshot::Sender<()>>,
    /// A FlushPending is on its way.
    flush_scheduled: bool,
}

/// The base file a rewrite is writing.
struct RewriteFile {
    path: PathBuf,
    file: BufWriter<File>,
    err: Option<io::Error>,
    /// The base is an RDB file (aof-use-rdb-preamble): its running CRC64, ended with EOF and checksum.
    crc: Option<Crc64>,
}

impl AofWriter {
    pub fn new(cfg: AofConfig, shared: Arc<AofShared>) -> AofWriter {
        let dir = cfg.root.join(&cfg.dirname);
        AofWriter {
            cfg,
            dir,
            manifest: Manifest::default(),
            incr: None,
            incr_temp: false,
            incr_size: 0,
            unsynced: false,
            rewrite: None,
            shared,
            pending: Vec::new(),
            acks: Vec::new(),
            flush_scheduled: false,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn create_dir(&self) -> Result<(), String> {
        fs::create_dir_all(&self.dir).map_err(|e| {
            let msg = format!("Can't open or create append-only dir {}: {e}", self.cfg.dirname);
            log::warn!("{msg}");
            msg
        })
    }

    /// Write the manifest atomically: temp file, fsync, rename, fsync the directory (writeAofManifestFile).
    fn persist_manifest(&self, m: &Manifest) -> Result<(), String> {
        let name = aof::manifest_name(&self.cfg.filename);
        let tmp_name = aof::temp_manifest_name(&self.cfg.filename);
        let (path, tmp) = (self.path(&name), self.path(&tmp_name));
        let res = (|| -> io::Result<()> {
            let mut f = File::create(&tmp)?;
            f.write_all(m.to_text().as_bytes())?;
            f.sync_all()?;
            fs::rename(&tmp, &path)?;
            File::open(&self.dir)?.sync_all()
        })();
        res.map_err(|e| {
            let msg = format!("Error trying to write the AOF manifest file {name}: {e}");
            log::warn!("{msg}");
            msg
        })
    }

    /// Read the manifest from disk (aofLoadManifestFromDisk): none when the directory or file is missing.
    fn read_manifest(&self) -> Result<Manifest, String> {
        let path = self.path(&aof::manifest_name(&self.cfg.filename));
        if !self.dir.is_dir() || !path.exists() {
            return Ok(Manifest::default());
        }
        let text = fs::read(&path).map_err(|e| {
            format!("Fatal error: can't open the AOF manifest file {} for reading: {e}", path.display())
        })?;
        Manifest::parse(&text).map_err(|e| e.to_string())
    }

    /// Remove the temporary files a crash can leave in the AOF directory: a rewrite's
    /// `temp-rewriteaof-bg-<pid>.aof` (each crash during BGREWRITEAOF would leak a base-sized file), the
    /// incr file of AOF_WAIT_REWRITE (`temp-<appendfilename>.incr`) and a half-written manifest
    /// (`temp-<appendfilename>.manifest`). None of them is ever in the manifest; Redis 7.0 deletes only
    /// the manifest's history files at start-up (done in `load`) and leaks its own temp rewrite file in
    /// `dir`. Nothing is removed while this writer has a rewrite or a temporary incr file of its own.
    fn remove_temp_files(&self) {
        if self.rewrite.is_some() || self.incr_temp {
            return;
        }
        let Ok(entries) = fs::read_dir(&self.dir) else { return };
        let (incr, manifest) = (aof::temp_incr_name(&self.cfg.filename), aof::temp_manifest_name(&self.cfg.filename));
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let rewrite = name
                .strip_prefix("temp-rewriteaof-bg-")
                .and_then(|r| r.strip_suffix(".aof"))
                .is_some_and(|pid| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()));
            let listed = self.manifest.files().any(|f| f.name == name);
            if (rewrite || name == incr || name == manifest) && !listed && e.path().is_file() {
                match fs::remove_file(e.path()) {
                    Ok(()) => log::info!("Removing the temp file {name} left in the AOF directory"),
                    Err(err) => log::warn!("Error removing the temp file {name} in the AOF directory: {err}"),
                }
            }
        }
    }

    /// A pre-7 single `appendonly.aof` in `dir` becomes the base of a new manifest (aofUpgradePrepare).
    fn upgrade_if_needed(&mut self) -> Result<(), String> {
        let legacy = self.cfg.root.join(&self.cfg.filename);
        if !legacy.is_file() {
            return Ok(());
        }
        let m = &self.manifest;
        let only_legacy_base = m.incr.is_empty()
            && m.base.as_ref().is_some_and(|b| b.name == self.cfg.filename)
            && !self.path(&self.cfg.filename).exists();
        if self.dir.is_dir() && (m.base.is_some() || !m.incr.is_empty()) && !only_legacy_base {
            return Ok(());
        }
        self.create_dir()?;
        let mut m = self.manifest.clone();
        m.base = Some(aof::AofInfo { name: self.cfg.filename.clone(), seq: 1, kind: aof::FileType::Base });
        m.base_seq = 1;
        self.persist_manifest(&m)?;
        fs::rename(&legacy, self.path(&self.cfg.filename)).map_err(|e| {
            format!("Error trying to move the old AOF file {} into dir {}: {e}", self.cfg.filename, self.cfg.dirname)
        })?;
        self.manifest = m;
        log::info!(
            "Successfully migrated an old-style AOF file ({}) into the AOF directory ({}).",
            self.cfg.filename,
            self.cfg.dirname
        );
        Ok(())
    }

    /// Read and scan the manifest's files (loadAppendOnlyFiles), cutting a truncated last file when
    /// aof-load-truncated allows it. Ok(empty) when there is no AOF yet.
    fn load(&mut self) -> Result<Vec<LoadedFile>, String> {
        self.manifest = self.read_manifest()?;
        self.remove_temp_files();
        self.upgrade_if_needed()?;
        let names: Vec<(String, bool)> =
            self.manifest.files().map(|f| (f.name.clone(), f.kind == aof::FileType::Base)).collect();
        let mut datas = Vec::with_capacity(names.len());
        for (name, _) in &names {
            let data = fs::read(self.path(name))
                .map_err(|e| format!("Unable to obtain the AOF file {name} length. stat: {e}"))?;
            datas.push(data);
        }
        let total: u64 = datas.iter().map(|d| d.len() as u64).sum();
        let base_size = names.first().filter(|n| n.1).map(|_| datas[0].len() as u64).unwrap_or(0);
        let mut files = Vec::with_capacity(names.len());
        let count = names.len();
        for (i, ((name, base), mut data)) in names.into_iter().zip(datas).enumerate() {
            // An RDB base (or an old single AOF with an RDB preamble): the records, then commands may follow.
            let mut rdb_items = Vec::new();
            if data.starts_with(b"REDIS") {
                let mut reader = RdbReader::new(&data[..], self.cfg.enc, true)
                    .map_err(|e| format!("Error reading the RDB base file {name}, AOF loading aborted: {e}"))?;
                loop {
                    match reader.next() {
                        Ok(Item::Eof) => break,
                        Ok(item) => rdb_items.push(item),
                        Err(e) => {
                            return Err(format!("Error reading the RDB base file {name}, AOF loading aborted: {e}"))
                        }
                    }
                }
                let used = reader.offset() as usize;
                log::info!("Reading RDB base file on AOF loading...");
                data.drain(..used.min(data.len()));
            }
            let last = i + 1 == count;
            let mut scanned = aof::scan(&data);
            match scanned.end {
                ScanEnd::Complete => {}
                ScanEnd::BadFormat => {
                    return Err(format!(
                        "Bad file format reading the append only file {name}: make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>"
                    ))
                }
                ScanEnd::Truncated if self.cfg.load_truncated => {
                    let valid = scanned.valid_up_to;
                    log::warn!("!!! Warning: short read while loading the AOF file {name}!!!");
                    log::warn!("!!! Truncating the AOF {name} at offset {valid} !!!");
                    let f = OpenOptions::new().write(true).open(self.path(&name));
                    if let Err(e) = f.and_then(|f| f.set_len(valid as u64)) {
                        log::warn!("Error truncating the AOF file {name}: {e}");
                        return Err(unexpected_eof(&name));
                    }
                    log::warn!("AOF {name} loaded anyway because aof-load-truncated is enabled");
                    if !last {
                        log::warn!("Fatal error: the truncated file is not the last file");
                        return Err("Fatal error: the truncated file is not the last file".into());
                    }
                    data.truncate(valid);
                    scanned = aof::scan(&data);
                }
                ScanEnd::Truncated => return Err(unexpected_eof(&name)),
            }
            files.push(LoadedFile { name, base, data, scanned, rdb: rdb_items });
        }
        self.shared.current_size.store(total, Ordering::Relaxed);
        self.shared.base_size.store(base_size, Ordering::Relaxed);
        self.delete_history();
        Ok(files)
    }

    /// Remove the history files and drop them from the manifest (aofDelHistoryFiles).
    fn delete_history(&mut self) {
        if self.manifest.history.is_empty() || self.shared.disable_auto_gc.load(Ordering::Relaxed) {
            return;
        }
        for h in std::mem::take(&mut self.manifest.history) {
            log::info!("Removing the history file {} in the background", h.name);
            let _ = fs::remove_file(self.path(&h.name));
        }
        let m = self.manifest.clone();
        let _ = self.persist_manifest(&m);
    }

    /// Start appending with the AOF on at start-up: an empty base when there is no AOF yet, the last incr
    /// file (or a new one), and the manifest on disk (aofOpenIfNeededOnServerStart).
    fn open_on_start(&mut self) -> Result<(), String> {
        self.create_dir()?;
        if self.manifest.base.is_none() && self.manifest.incr.is_empty() {
            let mut m = self.manifest.clone();
            let name = m.new_base(&self.cfg.filename, self.cfg.rdb_preamble);
            write_synced(&self.path(&name), b"")
                .map_err(|e| format!("Write error writing append only file on disk: {e}"))?;
            self.manifest = m;
            log::info!("Creating AOF base file {name} on server start");
        }
        let existed = !self.manifest.incr.is_empty();
        let name = match self.manifest.incr.last() {
            Some(i) => i.name.clone(),
            None => self.manifest.new_incr(&self.cfg.filename),
        };
        let f = OpenOptions::new()
            .append(true)
            .create(true)
            .open(self.path(&name))
            .map_err(|e| format!("Can't open the append-only file {name}: {e}"))?;
        let m = self.manifest.clone();
        self.persist_manifest(&m)?;
        self.incr_size = f.metadata().map(|m| m.len()).unwrap_or(0);
        self.incr = Some(f);
        self.incr_temp = false;
        self.refresh_sizes();
        if existed {
            log::info!("Opening AOF incr file {name} on server start");
        } else {
            log::info!("Creating AOF incr file {name} on server start");
        }
        Ok(())
    }

    /// aof_current_size / aof_base_size from the files on disk.
    fn refresh_sizes(&self) {
        let size = |n: &str| fs::metadata(self.path(n)).map(|m| m.len()).unwrap_or(0);
        let base = self.manifest.base.as_ref().map(|b| size(&b.name)).unwrap_or(0);
        let incr: u64 = self.manifest.incr.iter().map(|i| size(&i.name)).sum();
        let temp = if self.incr_temp { self.incr_size } else { 0 };
        self.shared.current_size.store(base + incr + temp, Ordering::Relaxed);
        self.shared.base_size.store(base, Ordering::Relaxed);
    }

    fn fsync(&mut self) {
        if let Some(f) = &self.incr {
            if self.unsynced {
                if let Err(e) = f.sync_data() {
                    if self.shared.write_failed(&e) {
                        log::warn!("Fail to fsync the AOF file: {e}");
                    }
                    return;
                }
            }
        }
        self.unsynced = false;
    }

    /// Write the queued appends with one writev, fsync under appendfsync always, then release their waiters.
    /// Every handler that depends on file order calls this first.
    fn flush_pending(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let bufs = std::mem::take(&mut self.pending);
        let sleep = self.shared.flush_sleep_us.load(Ordering::Relaxed);
        if sleep > 0 {
            // DEBUG AOF-FLUSH-SLEEP, as Redis's flushAppendOnlyFile (on the writer's own thread).
            std::thread::sleep(Duration::from_micros(sleep));
        }
        if let Some(f) = &mut self.incr {
            let len: u64 = bufs.iter().map(|b| b.len() as u64).sum();
            match write_all_bufs(f, &bufs) {
                Ok(()) => {
                    if !self.shared.last_write_ok.swap(true, Ordering::Relaxed) {
                        log::warn!("AOF write error looks solved, Redis can write again.");
                    }
                    self.incr_size += len;
                    self.shared.current_size.fetch_add(len, Ordering::Relaxed);
                    self.unsynced = true;
                }
                Err(e) => {
                    if self.shared.write_failed(&e) {
                        log::warn!("Error writing to the AOF file: {e}");
                    }
                    // As Redis with its aof_buf: undo a partial write and keep the bytes for the next try
                    // (with the next append, or from the one-second timer).
                    if f.set_len(self.incr_size).is_ok() {
                        let _ = f.seek(io::SeekFrom::Start(self.incr_size));
                    }
                    self.pending = bufs;
                }
            }
        }
        if self.cfg.fsync == Fsync::Always {
            self.fsync();
        }
        for ack in self.acks.drain(..) {
            let _ = ack.send(());
        }
    }

    /// A rewrite begins: the incr file changes (a new numbered one with the AOF on, the temporary one while
    /// waiting for the first rewrite) and the temporary base file opens.
    fn start_rewrite(&mut self, mode: AofMode, rdb: bool) -> Result<(), String> {
        self.abort_rewrite();
        self.create_dir()?;
        match mode {
            AofMode::On => {
                let mut m = self.manifest.clone();
                let name = m.new_incr(&self.cfg.filename);
                let f = File::create(self.path(&name))
                    .map_err(|e| format!("Can't open the append-only file {name}: {e}"))?;
                self.persist_manifest(&m)?;
                log::info!("Creating AOF incr file {name} on background rewrite");
                self.fsync();
                self.manifest = m;
                self.incr = Some(f);
                self.incr_temp = false;
                self.incr_size = 0;
            }
            AofMode::WaitRewrite => {
                let name = aof::temp_incr_name(&self.cfg.filename);
                let f = File::create(self.path(&name))
                    .map_err(|e| format!("Can't open the append-only file {name}: {e}"))?;
                log::info!("Creating AOF incr file {name} on background rewrite");
                self.incr = Some(f);
                self.incr_temp = true;
                self.incr_size = 0;
            }
            AofMode::Off => {}
        }
        let path = self.path(&format!("temp-rewriteaof-bg-{}.aof", std::process::id()));
        let file = File::create(&path).map_err(|e| format!("Write error writing append only file on disk: {e}"))?;
        let crc = rdb.then(Crc64::new);
        self.rewrite = Some(RewriteFile { path, file: BufWriter::with_capacity(64 * 1024, file), err: None, crc });
        Ok(())
    }

    /// Drop a rewrite in progress: its temporary base, and the temporary incr file if the AOF was waiting
    /// for it.
    fn abort_rewrite(&mut self) {
        if let Some(r) = self.rewrite.take() {
            drop(r.file);
            let _ = fs::remove_file(&r.path);
        }
        if self.incr_temp {
            self.incr = None;
            self.incr_temp = false;
            let name = aof::temp_incr_name(&self.cfg.filename);
            log::info!("Removing the temp incr aof file {name} in the background");
            let _ = fs::remove_file(self.path(&name));
        }
    }

    /// The snapshot is fully written: make it the base (backgroundRewriteDoneHandler).
    fn finish_rewrite(&mut self) -> Result<(), String> {
        let Some(r) = self.rewrite.take() else { return Err("no AOF rewrite in progress".into()) };
        let RewriteFile { path: tmp, mut file, err, crc } = r;
        let rdb = crc.is_some();
        let res = match err {
            Some(e) => Err(e),
            None => {
                let mut tail = Vec::with_capacity(9);
                if let Some(mut crc) = crc {
                    rdb::write_eof(&mut tail);
                    crc.update(&tail);
                    tail.extend_from_slice(&crc.finish().to_le_bytes());
                }
                file.write_all(&tail)
                    .and_then(|_| file.into_inner().map_err(|e| e.into_error()))
                    .and_then(|f| f.sync_all())
            }
        };
        if let Err(e) = res {
            let _ = fs::remove_file(&tmp);
            log::warn!("Write error writing append only file on disk: {e}");
            log::warn!("Background AOF rewrite terminated with error");
            self.abort_rewrite();
            return Err(e.to_string());
        }
        log::info!("Background AOF rewrite terminated with success");
        let mut m = self.manifest.clone();
        let base = m.new_base(&self.cfg.filename, rdb);
        if let Err(e) = fs::rename(&tmp, self.path(&base)) {
            let _ = fs::remove_file(&tmp);
            log::warn!("Error trying to rename the temporary AOF base file into {base}: {e}");
            self.abort_rewrite();
            return Err(e.to_string());
        }
        let tmp_name = tmp.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        log::info!("Successfully renamed the temporary AOF base file {tmp_name} into {base}");
        let mut renamed_incr = None;
        if self.incr_temp {
            let temp = aof::temp_incr_name(&self.cfg.filename);
            let name = m.new_incr(&self.cfg.filename);
            if let Err(e) = fs::rename(self.path(&temp), self.path(&name)) {
                log::warn!("Error trying to rename the temporary AOF incr file {temp} into {name}: {e}");
                let _ = fs::remove_file(self.path(&base));
                self.abort_rewrite();
                return Err(e.to_string());
            }
            log::info!("Successfully renamed the temporary AOF incr file {temp} into {name}");
            renamed_incr = Some((temp, name));
        }
        m.mark_rewritten_incr_as_history(self.incr.is_some());
        if let Err(e) = self.persist_manifest(&m) {
            let _ = fs::remove_file(self.path(&base));
            if let Some((temp, name)) = renamed_incr {
                let _ = fs::rename(self.path(&name), self.path(&temp));
            }
            self.abort_rewrite();
            return Err(e);
        }
        self.manifest = m;
        self.incr_temp = false;
        self.refresh_sizes();
        self.delete_history();
        log::info!("Background AOF rewrite finished successfully");
        Ok(())
    }

    /// appendonly no: sync and close the incr file, drop a rewrite in progress (stopAppendOnly).
    fn stop(&mut self) {
        self.fsync();
        self.incr = None;
        self.abort_rewrite();
    }
}

/// write(2) every buffer, in order, with as few writev calls as the kernel allows.
fn write_all_bufs(f: &mut File, bufs: &[Bytes]) -> io::Result<()> {
    let mut slices: Vec<io::IoSlice<'_>> = bufs.iter().map(|b| io::IoSlice::new(b)).collect();
    let mut rest = &mut slices[..];
    while !rest.is_empty() {
        match f.write_vectored(rest) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => io::IoSlice::advance_slices(&mut rest, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Create `path` holding `data`, synced.
fn write_synced(path: &Path, data: &[u8]) -> io::Result<()> {
    let mut f = File::create(path)?;
    f.write_all(data)?;
    f.sync_all()
}

fn unexpected_eof(name: &str) -> String {
    format!(
        "Unexpected end of file reading the append only file {name}. You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server."
    )
}

impl Actor for AofWriter {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        // appendfsync everysec: at most one fsync a second, off the Keyspace thread.
        ctx.run_interval(Duration::from_secs(1), |act, _| {
            act.flush_pending();
            if act.cfg.fsync == Fsync::EverySec && act.unsynced {
                act.fsync();
            }
        });
    }
}

/// Read the AOF back: the manifest's files, scanned into commands.
#[derive(Message)]
#[rtype(result = "Result<Vec<LoadedFile>, String>")]
pub struct Load;

impl Handler<Load> for AofWriter {
    type Result = Result<Vec<LoadedFile>, String>;

    fn handle(&mut self, _: Load, _: &mut Self::Context) -> Self::Result {
        self.flush_pending();
        self.load()
    }
}

/// Read the manifest at start-up, whether the AOF is on or not (aofLoadManifestFromDisk), so that a rewrite
/// continues its numbering.
#[derive(Message)]
#[rtype(result = "Result<(), String>")]
pub struct ReadManifest;

impl Handler<ReadManifest> for AofWriter {
    type Result = Result<(), String>;

    fn handle(&mut self, _: ReadManifest, _: &mut Self::Context) -> Self::Result {
        self.manifest = self.read_manifest()?;
        self.remove_temp_files();
        Ok(())
    }
}

/// Start appending at start-up (the AOF is on and its files, if any, are loaded).
#[derive(Message)]
#[rtype(result = "Result<(), String>")]
pub struct OpenOnStart;

impl Handler<OpenOnStart> for AofWriter {
    type Result = Result<(), String>;

    fn handle(&mut self, _: OpenOnStart, _: &mut Self::Context) -> Self::Result {
        self.open_on_start()
    }
}

/// Batches' effects, in order; each of `acks` is told once they are written (and synced under appendfsync
/// always): the replies of those batches wait for it.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Append {
    pub bytes: Vec<Bytes>,
    pub acks: Vec<oneshot::Sender<()>>,
}

impl Handler<Append> for AofWriter {
    type Result = ();

    fn handle(&mut self, msg: Append, ctx: &mut Self::Context) {
        if self.incr.is_none() {
            for ack in msg.acks {
                let _ = ack.send(());
            }
            return;
        }
        if !self.flush_scheduled {
            // Runs once the mailbox is drained (actix polls spawned items after the queued messages).
            self.flush_scheduled = true;
            ctx.notify(FlushPending);
        }
        self.pending.extend(msg.bytes);
        self.acks.extend(msg.acks);
    }
}

/// Write what the Appends queued.
#[derive(Message)]
#[rtype(result = "()")]
struct FlushPending;

impl Handler<FlushPending> for AofWriter {
    type Result = ();

    fn handle(&mut self, _: FlushPending, _: &mut Self::Context) {
        self.flush_scheduled = false;
        self.flush_pending();
    }
}

/// CONFIG SET aof-disable-auto-gc no: remove the history files the manifest kept.
#[derive(Message)]
#[rtype(result = "()")]
pub struct CollectHistory;

impl Handler<CollectHistory> for AofWriter {
    type Result = ();

    /// aofDelHistoryFiles, as updateAofAutoGCEnabled runs it.
    fn handle(&mut self, _: CollectHistory, _: &mut Self::Context) {
        self.delete_history();
    }
}

/// CONFIG SET appendfsync.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SetFsync(pub Fsync);

impl Handler<SetFsync> for AofWriter {
    type Result = ();

    fn handle(&mut self, msg: SetFsync, _: &mut Self::Context) {
        self.flush_pending();
        self.cfg.fsync = msg.0;
        if msg.0 == Fsync::Always {
            self.fsync();
        }
    }
}

/// A rewrite starts now: switch incr files and open the temporary base.
#[derive(Message)]
#[rtype(result = "Result<(), String>")]
pub struct StartRewrite {
    pub mode: AofMode,
    /// Write the base as an RDB file (aof-use-rdb-preamble yes).
    pub rdb: bool,
}

impl Handler<StartRewrite> for AofWriter {
    type Result = Result<(), String>;

    fn handle(&mut self, msg: StartRewrite, _: &mut Self::Context) -> Self::Result {
        self.flush_pending();
        self.start_rewrite(msg.mode, msg.rdb).inspect_err(|e| log::warn!("{e}"))
    }
}

/// Encoded keys for the new base file.
#[derive(Message)]
#[rtype(result = "()")]
pub struct RewriteChunk(pub Vec<u8>);

impl Handler<RewriteChunk> for AofWriter {
    type Result = ();

    fn handle(&mut self, msg: RewriteChunk, _: &mut Self::Context) {
        if let Some(r) = &mut self.rewrite {
            if r.err.is_none() {
                if let Err(e) = r.file.write_all(&msg.0) {
                    r.err = Some(e);
                } else if let Some(crc) = &mut r.crc {
                    crc.update(&msg.0);
                }
            }
        }
    }
}

/// The snapshot is complete: install the new base.
#[derive(Message)]
#[rtype(result = "Result<(), String>")]
pub struct FinishRewrite;

impl Handler<FinishRewrite> for AofWriter {
    type Result = Result<(), String>;

    fn handle(&mut self, _: FinishRewrite, _: &mut Self::Context) -> Self::Result {
        self.flush_pending();
        self.finish_rewrite()
    }
}

/// Drop the rewrite in progress.
#[derive(Message)]
#[rtype(result = "()")]
pub struct AbortRewrite;

impl Handler<AbortRewrite> for AofWriter {
    type Result = ();

    fn handle(&mut self, _: AbortRewrite, _: &mut Self::Context) {
        self.flush_pending();
        self.abort_rewrite();
    }
}

/// appendonly no.
#[derive(Message)]
#[rtype(result = "()")]
pub struct StopAppending;

impl Handler<StopAppending> for AofWriter {
    type Result = ();

    fn handle(&mut self, _: StopAppending, _: &mut Self::Context) {
        self.flush_pending();
        self.stop();
    }
}

/// Make everything appended so far durable (DEBUG LOADAOF, shutdown).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Sync;

impl Handler<Sync> for AofWriter {
    type Result = ();

    fn handle(&mut self, _: Sync, _: &mut Self::Context) {
        self.flush_pending();
        self.fsync();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_append_marks_the_aof_broken_until_a_write_succeeds() {
        let shared = Arc::new(AofShared::default());
        let cfg = AofConfig {
            root: std::env::temp_dir(),
            dirname: "unused".into(),
            filename: "appendonly.aof".into(),
            fsync: Fsync::No,
            load_truncated: true,
            rdb_preamble: false,
            enc: Default::default(),
        };
        let mut w = AofWriter::new(cfg, shared.clone());
        w.incr = Some(OpenOptions::new().write(true).open("/dev/full").unwrap());
        w.pending.push(Bytes::from_static(b"*1\r\n$4\r\nPING\r\n"));
        let (tx, mut rx) = oneshot::channel();
        w.acks.push(tx);
        w.flush_pending();
        assert!(!shared.last_write_ok.load(Ordering::Relaxed));
        assert_eq!(*shared.last_write_error.lock().unwrap(), "No space left on device");
        // The waiter is released either way (Redis exits under appendfsync always; we report the error).
        assert!(rx.try_recv().is_ok());
        // The failed bytes wait for the next try, ahead of newer ones.
        assert_eq!(w.pending.len(), 1);
        let path = std::env::temp_dir().join(format!("ferrodis-aof-retry-{}", std::process::id()));
        w.incr = Some(File::create(&path).unwrap());
        w.pending.push(Bytes::from_static(b"x"));
        w.flush_pending();
        assert!(shared.last_write_ok.load(Ordering::Relaxed));
        assert_eq!(std::fs::read(&path).unwrap(), b"*1\r\n$4\r\nPING\r\nx");
        let _ = std::fs::remove_file(&path);
    }
}
