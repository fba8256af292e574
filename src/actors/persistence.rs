//! Persistence: the AofWriter actor, on its own arbiter, does every AOF file operation (appends, fsync, the
//! rewrite's base file, the manifest, reading files back for loading), so the Keyspace thread never touches
//! the disk; and the Keyspace's side of the AOF (`impl Keyspace` below): handing it each batch's feed,
//! driving the fork-less rewrite (a point-in-time snapshot of every Db encoded a slice at a time), DEBUG
//! LOADAOF, and the requests commands leave in `State::aof`.
//!
//! ```text
//!  Keyspace ── Append(feed bytes of a batch) ──► AofWriter ── write, fsync (always / everysec timer / no)
//!           ── StartRewrite: new incr file (mailbox order puts every later Append there)
//!           ── RewriteChunk(SELECT n + encoded keys) ... FinishRewrite: fsync base, manifest, drop history
//!           ◄─ Load: the manifest's files, scanned into commands (the Keyspace executes them)
//! ```

use super::keyspace::Keyspace;
use crate::commands::aof::{self as cmd_aof, AofMode, AofRequest, AofShared, Fsync, LoadedFile};
use crate::commands::{set_feed_enabled, Batch};
use crate::persist::aof::{self, Manifest, ScanEnd};
use crate::resp::encode::Out;
use crate::types::clock;
use actix::prelude::*;
use bytes::Bytes;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// Keys a rewrite encodes between two looks at the clock.
const STEP_KEYS: usize = 2000;
/// How long one rewrite slice may hold the Keyspace thread.
const SLICE: Duration = Duration::from_micros(1000);
/// The pause between slices while clients are being served (the rewrite takes about a quarter of the
/// thread), and while they are not (then the rewrite runs about as fast as the timer allows).
const PAUSE_BUSY: Duration = Duration::from_millis(3);
const PAUSE_IDLE: Duration = Duration::from_millis(1);

// ---------------------------------------------------------------------------------------------------------
// The writer
// ---------------------------------------------------------------------------------------------------------

/// Where the AOF lives and how to treat it, from the config at start-up.
#[derive(Clone, Debug)]
pub struct AofConfig {
    /// `dir`.
    pub root: PathBuf,
    pub dirname: String,
    pub filename: String,
    pub fsync: Fsync,
    pub load_truncated: bool,
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
            if data.starts_with(b"REDIS") {
                return Err(format!(
                    "Error reading the RDB base file {name}, AOF loading aborted: RDB-format AOF files are not supported"
                ));
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
            files.push(LoadedFile { name, base, data, scanned });
        }
        self.shared.current_size.store(total, Ordering::Relaxed);
        self.shared.base_size.store(base_size, Ordering::Relaxed);
        self.delete_history();
        Ok(files)
    }

    /// Remove the history files and drop them from the manifest (aofDelHistoryFiles).
    fn delete_history(&mut self) {
        if self.manifest.history.is_empty() {
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
            let name = m.new_base(&self.cfg.filename);
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
    fn start_rewrite(&mut self, mode: AofMode) -> Result<(), String> {
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
        self.rewrite = Some(RewriteFile { path, file: BufWriter::with_capacity(64 * 1024, file), err: None });
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
        let RewriteFile { path: tmp, file, err } = r;
        let res = match err {
            Some(e) => Err(e),
            None => file.into_inner().map_err(|e| e.into_error()).and_then(|f| f.sync_all()),
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
        let base = m.new_base(&self.cfg.filename);
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

/// Batches' effects, in order; under appendfsync always `ack` is told once they are written and synced.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Append {
    pub bytes: Vec<Bytes>,
    pub ack: Option<oneshot::Sender<()>>,
}

impl Handler<Append> for AofWriter {
    type Result = ();

    fn handle(&mut self, msg: Append, ctx: &mut Self::Context) {
        if self.incr.is_none() {
            if let Some(ack) = msg.ack {
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
        self.acks.extend(msg.ack);
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
pub struct StartRewrite(pub AofMode);

impl Handler<StartRewrite> for AofWriter {
    type Result = Result<(), String>;

    fn handle(&mut self, msg: StartRewrite, _: &mut Self::Context) -> Self::Result {
        self.flush_pending();
        self.start_rewrite(msg.0).inspect_err(|e| log::warn!("{e}"))
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

// ---------------------------------------------------------------------------------------------------------
// The Keyspace's side
// ---------------------------------------------------------------------------------------------------------

/// What the Keyspace holds for the AOF.
#[derive(Default)]
pub struct AofLink {
    pub writer: Option<Addr<AofWriter>>,
    /// The rewrite whose snapshot is being encoded, if any.
    run: Option<RewriteRun>,
    /// Numbers rewrites, so that a late answer about an aborted one is ignored.
    next_id: u64,
    /// Commands processed when the last rewrite slice ended: were clients served since?
    commands_seen: u64,
    /// Appends not yet sent to the writer (see `aof_append`).
    outbox: Vec<Bytes>,
}

/// The writer's answer to FinishRewrite.
type FinishResult = Result<Result<(), String>, MailboxError>;

struct RewriteRun {
    id: u64,
    /// Databases whose snapshot is fully encoded.
    done: Vec<bool>,
}

impl Keyspace {
    /// Hand one batch's effects to the AOF. Under appendfsync always they go at once and the receiver resolves
    /// once they are on disk; otherwise they wait in the outbox until this poll of the mailbox is over, so the
    /// batches of every client served meanwhile reach the writer as one message (one wake-up of its thread).
    pub(super) fn aof_append(&mut self, bytes: Bytes, ctx: &mut Context<Self>) -> Option<oneshot::Receiver<()>> {
        if self.aof.writer.is_none() || self.s.aof.mode == AofMode::Off {
            return None;
        }
        if self.s.aof.fsync == Fsync::Always {
            let w = self.writer()?;
            let (tx, rx) = oneshot::channel();
            w.do_send(Append { bytes: vec![bytes], ack: Some(tx) });
            return Some(rx);
        }
        if self.aof.outbox.is_empty() {
            // actix polls spawned futures after the queued messages.
            ctx.spawn(actix::fut::ready(()).map(|_, act: &mut Keyspace, _| act.send_outbox()));
        }
        self.aof.outbox.push(bytes);
        None
    }

    /// Send what waits in the outbox.
    pub(super) fn send_outbox(&mut self) {
        if self.aof.outbox.is_empty() {
            return;
        }
        let bytes = std::mem::take(&mut self.aof.outbox);
        if let Some(w) = &self.aof.writer {
            w.do_send(Append { bytes, ack: None });
        }
    }

    /// The writer, for a message that must come after every append made so far.
    fn writer(&mut self) -> Option<Addr<AofWriter>> {
        self.send_outbox();
        self.aof.writer.clone()
    }

    /// Keep the propagation feed on while replicas or the AOF need it.
    pub(super) fn refresh_feed(&mut self) {
        let want = !self.replicas.is_empty() || self.s.aof.mode != AofMode::Off;
        if want != self.s.feed.enabled {
            set_feed_enabled(&mut self.s, want);
        }
    }

    /// Act on what the batch's commands asked of the AOF.
    pub(super) fn aof_requests(&mut self, ctx: &mut Context<Self>) {
        for req in std::mem::take(&mut self.s.aof.requests) {
            match req {
                AofRequest::Rewrite => self.start_rewrite(ctx),
                AofRequest::Fsync(f) => {
                    if let Some(w) = self.writer() {
                        w.do_send(SetFsync(f));
                    }
                }
                AofRequest::Enable => {
                    if self.s.aof.mode != AofMode::Off {
                        continue;
                    }
                    if self.aof.run.is_some() {
                        log::warn!("AOF was enabled but there is already an AOF rewriting in background. Stopping background AOF and starting a rewrite now.");
                        self.abort_rewrite();
                    }
                    if !self.s.aof.shared.last_write_ok.swap(true, Ordering::Relaxed) {
                        log::warn!("AOF reopen, just ignore the last error.");
                    }
                    self.s.aof.mode = AofMode::WaitRewrite;
                    self.start_rewrite(ctx);
                }
                AofRequest::Disable => {
                    if self.s.aof.mode == AofMode::Off {
                        continue;
                    }
                    self.abort_rewrite();
                    self.s.aof.mode = AofMode::Off;
                    self.s.aof.rewrite_scheduled = false;
                    if let Some(w) = self.writer() {
                        w.do_send(StopAppending);
                    }
                    self.refresh_feed();
                }
            }
        }
    }

    /// Cron work: start a scheduled rewrite, or an automatic one when the AOF has grown past
    /// auto-aof-rewrite-percentage of its base (and auto-aof-rewrite-min-size).
    pub(super) fn aof_tick(&mut self, ctx: &mut Context<Self>) {
        if self.aof.writer.is_none() || self.aof.run.is_some() {
            return;
        }
        let a = &self.s.aof;
        // After repeated failures, retry about once a minute rather than every tick (aofRewriteLimited).
        let hz = self.s.config.hz.max(1) as u64;
        let mut start =
            a.rewrite_scheduled && (a.consecutive_failures < 3 || self.s.stats.cron_loops.is_multiple_of(60 * hz));
        if a.mode == AofMode::On && !a.rewrite_in_progress && a.consecutive_failures < 3 {
            let num = |name| self.s.config.get(name).and_then(|v| v.parse::<u64>().ok());
            if let (Some(pct), Some(min)) = (num("auto-aof-rewrite-percentage"), num("auto-aof-rewrite-min-size")) {
                let size = a.shared.current_size.load(Ordering::Relaxed);
                let base = a.shared.base_size.load(Ordering::Relaxed).max(1);
                let growth = (size * 100 / base).saturating_sub(100);
                if pct > 0 && size > min && growth >= pct {
                    log::info!("Starting automatic rewriting of AOF on {growth}% growth");
                    start = true;
                }
            }
        }
        if start {
            self.start_rewrite(ctx);
        }
    }

    /// Begin a rewrite at this instant: every later write goes to a new incr file, and every database is
    /// snapshotted as it is now.
    fn start_rewrite(&mut self, ctx: &mut Context<Self>) {
        if self.aof.writer.is_none() || self.aof.run.is_some() {
            return;
        }
        // What is already in the feed belongs to the old incr file; the new one starts with a SELECT.
        self.flush_feed(ctx);
        self.s.feed.db = None;
        let Some(w) = self.writer() else { return };
        let id = self.aof.next_id;
        self.aof.next_id += 1;
        w.send(StartRewrite(self.s.aof.mode))
            .into_actor(self)
            .map(move |res, act, _| {
                let err = match res {
                    Ok(Ok(())) => return,
                    Ok(Err(e)) => e,
                    Err(e) => e.to_string(),
                };
                if act.aof.run.as_ref().is_some_and(|r| r.id == id) {
                    act.abort_rewrite();
                    act.rewrite_done(false, &err);
                }
            })
            .spawn(ctx);
        self.refresh_feed();
        for db in &mut self.s.dbs {
            db.snapshot_begin(aof::encode_entry);
        }
        let mut head = Vec::new();
        aof::encode_functions(self.s.scripts.functions.library_codes(), &mut head);
        if !head.is_empty() {
            w.do_send(RewriteChunk(head));
        }
        self.aof.run = Some(RewriteRun { id, done: vec![false; self.s.dbs.len()] });
        let a = &mut self.s.aof;
        a.rewrite_in_progress = true;
        a.rewrite_scheduled = false;
        a.rewrite_started_ms = clock::system_ms();
        a.rewrites += 1;
        log::info!("Background append only file rewriting started");
        self.aof.commands_seen = self.s.stats.commands_processed;
        ctx.run_later(PAUSE_IDLE, move |act, ctx| act.rewrite_slice(id, ctx));
    }

    /// Encode the snapshot for about a millisecond, then let clients in; finish when every db is done.
    fn rewrite_slice(&mut self, id: u64, ctx: &mut Context<Self>) {
        if self.aof.run.as_ref().is_none_or(|r| r.id != id) {
            return;
        }
        let busy = self.s.stats.commands_processed != self.aof.commands_seen;
        let start = Instant::now();
        loop {
            if self.rewrite_step(STEP_KEYS) {
                self.finish_rewrite(ctx);
                return;
            }
            if start.elapsed() >= SLICE {
                break;
            }
        }
        self.aof.commands_seen = self.s.stats.commands_processed;
        let pause = if busy { PAUSE_BUSY } else { PAUSE_IDLE };
        ctx.run_later(pause, move |act, ctx| act.rewrite_slice(id, ctx));
    }

    /// Encode about `budget` keys of the first unfinished db and ship every db's encoded bytes (the barriers'
    /// too); true when the whole snapshot is out.
    fn rewrite_step(&mut self, budget: usize) -> bool {
        let Some(run) = &mut self.aof.run else { return true };
        if let Some(i) = run.done.iter().position(|d| !d) {
            run.done[i] = self.s.dbs[i].snapshot_step(budget);
        }
        let all = run.done.iter().all(|d| *d);
        if let Some(w) = &self.aof.writer {
            for (i, db) in self.s.dbs.iter_mut().enumerate() {
                let bytes = db.snapshot_take();
                if !bytes.is_empty() {
                    let mut chunk = Vec::with_capacity(bytes.len() + 24);
                    aof::select(&mut chunk, i);
                    chunk.extend_from_slice(&bytes);
                    w.do_send(RewriteChunk(chunk));
                }
            }
        }
        all
    }

    /// Every key is out: ask the writer to install the base.
    fn finish_rewrite(&mut self, ctx: &mut Context<Self>) {
        if let Some(fut) = self.finish_request() {
            fut.into_actor(self).map(|(id, res), act, _| act.rewrite_finished(id, res)).spawn(ctx);
        }
    }

    /// The FinishRewrite request, with the rewrite's id; None when no writer or run.
    fn finish_request(&mut self) -> Option<impl std::future::Future<Output = (u64, FinishResult)> + 'static> {
        let id = self.aof.run.as_ref()?.id;
        let req = self.writer()?.send(FinishRewrite);
        Some(async move { (id, req.await) })
    }

    fn rewrite_finished(&mut self, id: u64, res: FinishResult) {
        if self.aof.run.as_ref().is_none_or(|r| r.id != id) {
            return;
        }
        self.aof.run = None;
        match res {
            Ok(Ok(())) => self.rewrite_done(true, ""),
            Ok(Err(e)) => self.rewrite_done(false, &e),
            Err(e) => self.rewrite_done(false, &e.to_string()),
        }
    }

    /// Record how a rewrite ended. A failed first rewrite (AOF_WAIT_REWRITE) is tried again from the cron.
    fn rewrite_done(&mut self, ok: bool, err: &str) {
        let a = &mut self.s.aof;
        a.rewrite_in_progress = false;
        a.last_rewrite_time_sec = (clock::system_ms() - a.rewrite_started_ms) / 1000;
        a.last_rewrite_ok = ok;
        if ok {
            a.consecutive_failures = 0;
            if a.mode == AofMode::WaitRewrite {
                a.mode = AofMode::On;
            }
        } else {
            log::warn!("Background AOF rewrite failed: {err}");
            a.consecutive_failures += 1;
            if a.mode == AofMode::WaitRewrite {
                a.rewrite_scheduled = true;
            }
        }
    }

    /// Stop the rewrite in progress, if any (appendonly no, or a newer rewrite replaces it).
    fn abort_rewrite(&mut self) {
        if self.aof.run.take().is_none() && !self.s.aof.rewrite_in_progress {
            return;
        }
        for db in &mut self.s.dbs {
            db.snapshot_abort();
        }
        if let Some(w) = self.writer() {
            w.do_send(AbortRewrite);
        }
        self.s.aof.rewrite_in_progress = false;
    }

    /// DEBUG LOADAOF (its batch stopped right after it): finish a running rewrite, make the AOF durable, read
    /// the files back on the writer while this actor waits (no other client runs in between), empty every
    /// database, load, reply, and run the rest of the pipeline.
    pub(super) fn reload_aof(
        &mut self,
        slot: usize,
        batch: Batch,
        tx: oneshot::Sender<Batch>,
        ctx: &mut Context<Self>,
    ) {
        self.s.aof.load_pending = false;
        self.flush_feed(ctx);
        // A BGREWRITEAOF earlier in the batch starts now, so that it is finished below.
        if !self.s.aof.requests.is_empty() {
            self.aof_requests(ctx);
        }
        let Some(w) = self.writer() else {
            let mut batch = batch;
            let mut out = Out::with_buf(std::mem::take(&mut batch.out), 2);
            out.error("ERR DEBUG LOADAOF is not available (persistence-available is no)");
            batch.out = out.buf;
            return self.rerun(slot, batch, tx, ctx);
        };
        let finish = if self.aof.run.is_some() {
            while !self.rewrite_step(usize::MAX) {}
            self.finish_request()
        } else {
            None
        };
        let sync = w.send(Sync);
        let load = w.send(Load);
        let fut = async move {
            let finished = match finish {
                Some(f) => Some(f.await),
                None => None,
            };
            let _ = sync.await;
            (finished, load.await)
        };
        ctx.wait(fut.into_actor(self).map(move |(finished, loaded), act, ctx| {
            if let Some((id, res)) = finished {
                act.rewrite_finished(id, res);
            }
            let res = match loaded {
                Ok(Ok(files)) if files.is_empty() && act.s.aof.mode == AofMode::Off => {
                    // Redis would exit here (no AOF to load); keep the data and say so instead.
                    Err("The AOF doesn't exist".to_string())
                }
                Ok(Ok(files)) => {
                    for db in &mut act.s.dbs {
                        db.clear();
                    }
                    act.s.touch_db(None);
                    let r = cmd_aof::replay(&mut act.s, &files);
                    if r.is_ok() {
                        log::info!("Append Only File loaded by DEBUG LOADAOF");
                    }
                    r
                }
                Ok(Err(e)) => Err(e),
                Err(e) => Err(e.to_string()),
            };
            act.s.dirty = 0;
            let mut batch = batch;
            let resp = act.s.clients.get(slot).map(|c| c.resp).unwrap_or(2);
            let mut out = Out::with_buf(std::mem::take(&mut batch.out), resp);
            match res {
                Ok(()) => out.ok(),
                Err(e) => {
                    log::warn!("{e}");
                    out.error(&format!("ERR Error loading the append only file: {}", e.lines().last().unwrap_or("")));
                }
            }
            batch.out = out.buf;
            act.rerun(slot, batch, tx, ctx);
        }));
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
