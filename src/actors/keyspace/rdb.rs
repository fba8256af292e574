//! The Keyspace's side of RDB snapshots: BGSAVE as a fork-less point-in-time snapshot encoded a slice at a
//! time between client batches (serialize-before-mutate keeps it point-in-time), the save points checked by
//! the cron, the foreground jobs that stop a batch (SAVE, DEBUG RELOAD, FLUSHALL's save, SHUTDOWN's save),
//! and loading a file chunk by chunk (at start-up with clients answered -LOADING meanwhile). The Snapshotter
//! (actors/snapshotter.rs) does every file operation on its own thread.

use super::aof::{after_yield, take_snapshot_chunks, SLICE, STEP_KEYS};
use super::Keyspace;
use crate::actors::snapshotter::{
    LoadClose, LoadNext, LoadOpen, LoadSource, LoadStep, SaveAbort, SaveBegin, SaveChunk, SaveFinish, SaveSink,
    Snapshotter,
};
use crate::commands::rdb::{self as cmd_rdb, FgJob, Loading};
use crate::commands::Batch;
use crate::persist::rdb;
use crate::types::clock;
use actix::prelude::*;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::oneshot;

/// How long a diskless transfer waits before looking again at a replica that has not taken its bytes.
const DISKLESS_WAIT: std::time::Duration = std::time::Duration::from_millis(2);

/// Bytes a foreground save encodes before handing them to the Snapshotter.
const FG_CHUNK: usize = 1 << 20;

/// What runs when a foreground load ends: Ok once the whole file is in, or why it could not be loaded.
pub(super) type LoadDone = Box<dyn FnOnce(&mut Keyspace, Result<(), String>, &mut Context<Keyspace>)>;

/// What the Keyspace holds for RDB snapshots.
#[derive(Default)]
pub struct RdbLink {
    pub snap: Option<Addr<Snapshotter>>,
    /// Bytes sent to the Snapshotter and not yet written (the snapshot's extra memory).
    pub pending: Arc<AtomicU64>,
    run: Option<SaveRun>,
    next_id: u64,
    /// The database loaded records go to (the file's last SELECTDB).
    pub(super) load_db: usize,
    /// Empty keys the loader skipped so far (logged when the load is done).
    load_empty_skipped: u64,
    /// Bytes of the file (or stream) loaded so far, for the error of a load that fails.
    pub(super) load_offset: u64,
    /// Load the RDB file once the actor starts.
    pub load_on_start: bool,
}

struct SaveRun {
    id: u64,
    /// Databases whose snapshot is fully encoded.
    done: Vec<bool>,
    /// The database the last chunk sent belongs to (a chunk of another one starts with SELECTDB).
    last_db: Option<usize>,
    /// Keys and TTLs of each database when the snapshot began (RESIZEDB).
    sizes: Vec<(u64, u64)>,
    /// Each database's keys encoded and bytes encoded ahead by writes (`take_snapshot_chunks`).
    progress: Vec<(u64, u64)>,
    started: Instant,
    /// A diskless full sync: the snapshot goes to replica sockets, paced by the slowest (no file, and
    /// lastsave, dirty and the save statistics stay as they were, as Redis's socket target).
    socket: bool,
}

impl Keyspace {
    /// Give the Keyspace its Snapshotter (persistence-available yes) and say whether to load `dir`/`dbfilename`
    /// once started (`load`: the file's size). `pending` is the Snapshotter's count of bytes handed over and
    /// not yet written.
    pub fn with_snapshotter(mut self, snap: Addr<Snapshotter>, pending: Arc<AtomicU64>, load: Option<u64>) -> Keyspace {
        self.rdb.snap = Some(snap);
        self.rdb.pending = pending;
        self.rdb.load_on_start = load.is_some();
        self.s.persist.rdb.available = true;
        if let Some(total_bytes) = load {
            let start_s = clock::system_ms() / 1000;
            self.s.persist.rdb.loading = Some(Loading { start_s, total_bytes, loaded_bytes: 0 });
        }
        self
    }

    /// A background save holds the databases' snapshot.
    pub(super) fn bgsave_running(&self) -> bool {
        self.rdb.run.is_some()
    }

    /// `dir`/`dbfilename`.
    pub(super) fn rdb_path(&self) -> PathBuf {
        PathBuf::from(&self.s.config.dir).join(&self.s.config.dbfilename)
    }

    /// `rdb-key-save-delay` in µs a key (0: none; Redis's negative values, a sleep now and then, count as
    /// none): background saves, rewrites and foreground saves all pace by it.
    pub(super) fn key_save_delay_us(&self) -> u64 {
        self.s.config.get("rdb-key-save-delay").and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
    }

    /// The file's header (commands::rdb::header).
    pub(super) fn rdb_header(&self, aof_base: bool) -> Vec<u8> {
        cmd_rdb::header(&self.s, aof_base)
    }

    pub(super) fn rdb_encoder(&self) -> crate::types::db::SnapEncoder {
        // The access data goes in under a policy that uses it, as rdbSaveKeyValuePair does.
        let compress = self.s.config.get("rdbcompression").as_deref() != Some("no");
        let policy = self.s.config.maxmemory_policy.as_str();
        match (compress, policy.contains("lru"), policy.contains("lfu")) {
            (true, true, _) => rdb::encode_entry_lru,
            (true, _, true) => rdb::encode_entry_lfu,
            (true, _, _) => rdb::encode_entry,
            (false, true, _) => rdb::encode_entry_plain_lru,
            (false, _, true) => rdb::encode_entry_plain_lfu,
            (false, _, _) => rdb::encode_entry_plain,
        }
    }

    fn checksum_on(&self) -> bool {
        self.s.config.get("rdbchecksum").as_deref() != Some("no")
    }

    /// The LoadOpen request for `path`, with the loading options of the config.
    pub(super) fn load_open(&self, path: PathBuf) -> LoadOpen {
        self.load_open_from(LoadSource::File(path))
    }

    /// The LoadOpen request for `source`, with the loading options of the config.
    pub(super) fn load_open_from(&self, source: LoadSource) -> LoadOpen {
        let num = |name| self.s.config.get(name).and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
        LoadOpen {
            source,
            enc: self.s.enc,
            verify: self.checksum_on(),
            key_delay_us: num("key-load-delay").max(0) as u64,
            chunk_bytes: num("loading-process-events-interval-bytes").max(0) as u64,
        }
    }

    /// Act on a BGSAVE of the last batch.
    pub(super) fn rdb_requests(&mut self, ctx: &mut Context<Self>) {
        // FLUSHALL: drop the running save, unless replicas wait for its file (they keep it; the snapshot
        // still holds the data as it was).
        if std::mem::take(&mut self.s.persist.rdb.bgsave_abort)
            && self.syncing.is_empty()
            && self.abort_bgsave_quietly()
        {
            log::warn!("Background saving terminated by FLUSHALL");
        }
        if std::mem::take(&mut self.s.persist.rdb.bgsave_requested) && !self.start_bgsave(ctx) {
            self.s.persist.rdb.bgsave_in_progress = false;
        }
    }

    /// Cron work: a scheduled BGSAVE once the AOF rewrite is over, and the save points.
    pub(super) fn rdb_tick(&mut self, ctx: &mut Context<Self>) {
        let r = &self.s.persist.rdb;
        if self.rdb.snap.is_none() || r.bgsave_in_progress || r.loading.is_some() {
            return;
        }
        if self.rdb.run.is_some() {
            return;
        }
        let now_s = clock::system_ms() / 1000;
        if r.bgsave_scheduled
            && !self.s.persist.aof.rewrite_in_progress
            && (now_s - r.lastbgsave_try > cmd_rdb::BGSAVE_RETRY_DELAY || r.last_bgsave_ok)
        {
            if self.start_bgsave(ctx) {
                self.s.persist.rdb.bgsave_scheduled = false;
            }
            return;
        }
        if let Some((secs, changes)) = cmd_rdb::due_save_point(&self.s, now_s) {
            log::info!("{changes} changes in {secs} seconds. Saving...");
            self.start_bgsave(ctx);
        }
    }

    /// Begin a background save at this instant; false when it cannot start now (an AOF rewrite holds the
    /// snapshot, or no Snapshotter).
    pub(super) fn start_bgsave(&mut self, ctx: &mut Context<Self>) -> bool {
        let sink = SaveSink::File(self.rdb_path());
        self.start_save(sink, ctx)
    }

    /// Whether a background save could start now (none running, no AOF rewrite holding the snapshot).
    pub(super) fn can_start_bgsave(&self) -> bool {
        self.rdb.snap.is_some() && self.rdb.run.is_none() && !self.s.dbs.iter().any(|d| d.snapshot_active())
    }

    /// Is the background save in progress a diskless full sync's?
    pub(super) fn socket_save_running(&self) -> bool {
        self.rdb.run.as_ref().is_some_and(|r| r.socket)
    }

    /// Begin a background save to `sink` at this instant (see start_bgsave).
    pub(super) fn start_save(&mut self, sink: SaveSink, ctx: &mut Context<Self>) -> bool {
        let Some(snap) = self.rdb.snap.clone() else { return false };
        if !self.can_start_bgsave() {
            return false;
        }
        let socket = matches!(sink, SaveSink::Replicas { .. });
        let begun = Instant::now();
        let id = self.rdb.next_id;
        self.rdb.next_id += 1;
        let header = self.rdb_header(false);
        self.rdb.pending.fetch_add(header.len() as u64, Ordering::Relaxed);
        snap.do_send(SaveBegin { sink, header, checksum: self.checksum_on() });
        let enc = self.rdb_encoder();
        let mut sizes = Vec::with_capacity(self.s.dbs.len());
        let mut total = 0u64;
        for db in &mut self.s.dbs {
            sizes.push((db.len() as u64, db.expires_count() as u64));
            total += db.len() as u64;
            db.snapshot_begin(enc);
        }
        self.rdb.run = Some(SaveRun {
            id,
            done: vec![false; self.s.dbs.len()],
            last_db: None,
            sizes,
            progress: vec![(0, 0); self.s.dbs.len()],
            started: Instant::now(),
            socket,
        });
        let now = clock::system_ms();
        let r = &mut self.s.persist.rdb;
        r.bgsave_in_progress = true;
        r.started_ms = now;
        if !socket {
            r.lastbgsave_try = now / 1000;
            r.dirty_before = self.s.persist.dirty;
        }
        r.keys_processed = 0;
        r.keys_total = total;
        r.current_cow = 0;
        r.current_cow_peak = 0;
        if socket {
            log::info!("Background RDB transfer started");
        } else {
            log::info!("Background saving started");
        }
        self.s.stats.snapshot_started(begun);
        after_yield(ctx, move |act, ctx| act.bgsave_slice(id, ctx));
        true
    }

    /// Encode the snapshot for about a millisecond, then let clients in; finish when every db is done.
    fn bgsave_slice(&mut self, id: u64, ctx: &mut Context<Self>) {
        let Some(run) = self.rdb.run.as_ref().filter(|r| r.id == id) else { return };
        if run.socket {
            match self.diskless_flow() {
                super::replica::Flow::Go => {}
                super::replica::Flow::Wait => {
                    // The slowest replica has not taken what was sent yet: encode no further (Redis's rdb
                    // pipe stops reading from the child until every replica's socket takes more).
                    ctx.run_later(DISKLESS_WAIT, move |act, ctx| act.bgsave_slice(id, ctx));
                    return;
                }
                super::replica::Flow::Stop => {
                    log::warn!("Diskless rdb transfer, last replica dropped, killing fork child.");
                    self.abort_bgsave_quietly();
                    return;
                }
            }
        }
        let start = Instant::now();
        // rdb-key-save-delay (µs a key; the suite uses it to keep a save running): fewer keys a slice instead of
        // a sleep, so the clients are still served meanwhile.
        let delay = self.key_save_delay_us();
        if let Some(per_slice) = (SLICE.as_micros() as u64).checked_div(delay) {
            let budget = per_slice.max(1) as usize;
            if self.bgsave_step(budget) {
                self.finish_bgsave(ctx);
                return;
            }
            let pause = std::time::Duration::from_micros((delay * budget as u64).max(1000));
            ctx.run_later(pause, move |act, ctx| act.bgsave_slice(id, ctx));
            return;
        }
        loop {
            if self.bgsave_step(STEP_KEYS) {
                self.finish_bgsave(ctx);
                return;
            }
            if start.elapsed() >= SLICE {
                break;
            }
        }
        after_yield(ctx, move |act, ctx| act.bgsave_slice(id, ctx));
    }

    /// Encode about `budget` keys of the first unfinished db and ship every db's encoded bytes (the
    /// barriers' too), each chunk of another db than the last one behind a SELECTDB; true when all is out.
    fn bgsave_step(&mut self, budget: usize) -> bool {
        let Some(run) = &mut self.rdb.run else { return true };
        if let Some(i) = run.done.iter().position(|d| !d) {
            run.done[i] = self.s.dbs[i].snapshot_step(budget);
        }
        let all = run.done.iter().all(|d| *d);
        let Some(snap) = &self.rdb.snap else { return true };
        let sizes = &run.sizes;
        let select = |head: &mut Vec<u8>, i: usize, _: &crate::types::db::Db| {
            let (keys, expires) = sizes[i];
            rdb::write_select_db(head, i, keys, expires);
        };
        let pending = &self.rdb.pending;
        take_snapshot_chunks(&mut self.s.dbs, &mut run.last_db, &mut run.progress, select, |chunk| {
            pending.fetch_add(chunk.len() as u64, Ordering::Relaxed);
            snap.do_send(SaveChunk(chunk));
        });
        // Progress for INFO: keys encoded so far, and the copy-on-write figures: the bytes writes made the
        // snapshot encode ahead of its steps (Redis: the pages its child had copied because the parent wrote).
        let r = &mut self.s.persist.rdb;
        r.keys_processed = run.progress.iter().map(|p| p.0).sum::<u64>().min(r.keys_total);
        r.current_cow = run.progress.iter().map(|p| p.1).sum();
        r.current_cow_peak = r.current_cow_peak.max(r.current_cow);
        all
    }

    /// Every key is out: ask the Snapshotter to end the file and put it in place.
    fn finish_bgsave(&mut self, ctx: &mut Context<Self>) {
        let (Some(run), Some(snap)) = (&self.rdb.run, &self.rdb.snap) else { return };
        let id = run.id;
        snap.send(SaveFinish)
            .into_actor(self)
            .map(move |res, act, ctx| {
                if act.rdb.run.as_ref().is_none_or(|r| r.id != id) {
                    return;
                }
                let run = act.rdb.run.take().expect("checked above");
                let res = res.map_err(|e| e.to_string()).and_then(|r| r);
                let ok = res.is_ok();
                if run.socket {
                    act.transfer_done(res);
                } else {
                    act.bgsave_done(res, run.started);
                }
                act.sync_save_done(ok, run.socket, ctx);
            })
            .spawn(ctx);
    }

    /// Record how a background save ended (Redis's backgroundSaveDoneHandlerDisk).
    fn bgsave_done(&mut self, res: Result<u64, String>, started: Instant) {
        let now = clock::system_ms();
        let r = &mut self.s.persist.rdb;
        r.bgsave_in_progress = false;
        r.last_bgsave_time_sec = started.elapsed().as_secs() as i64;
        r.last_cow_size = r.current_cow_peak;
        match res {
            Ok(bytes) => {
                log::info!("DB saved on disk ({bytes} bytes)");
                log::info!("Background saving terminated with success");
                self.s.persist.dirty = self.s.persist.dirty.saturating_sub(r.dirty_before);
                self.s.persist.lastsave = now / 1000;
                r.last_bgsave_ok = true;
                r.saves += 1;
            }
            Err(e) => {
                log::warn!("{e}");
                log::warn!("Background saving error");
                r.last_bgsave_ok = false;
            }
        }
    }

    /// How a diskless transfer ended (Redis's backgroundSaveDoneHandlerSocket): no file, so lastsave, dirty
    /// and the save's status stay as they were.
    fn transfer_done(&mut self, res: Result<u64, String>) {
        let r = &mut self.s.persist.rdb;
        r.bgsave_in_progress = false;
        r.last_cow_size = r.current_cow_peak;
        match res {
            Ok(_) => log::info!("Background RDB transfer terminated with success"),
            Err(e) => {
                log::warn!("{e}");
                log::warn!("Background transfer error");
            }
        }
    }

    /// Drop the background save in progress (a foreground save replaces it, as Redis kills the child).
    fn abort_bgsave(&mut self) {
        if self.abort_bgsave_quietly() {
            log::warn!("Background saving terminated by a foreground save");
        }
    }

    /// Drop the background save in progress, if any: its snapshot, its temporary file, its state.
    pub(super) fn abort_bgsave_quietly(&mut self) -> bool {
        let Some(run) = self.rdb.run.take() else { return false };
        if run.socket {
            // Its replicas got part of a file: they must sync again.
            self.drop_socket_sync();
        }
        for db in &mut self.s.dbs {
            db.snapshot_abort();
        }
        if let Some(s) = &self.rdb.snap {
            s.do_send(SaveAbort);
        }
        self.rdb.pending.store(0, Ordering::Relaxed);
        self.s.persist.rdb.bgsave_in_progress = false;
        true
    }

    /// Encode the whole dataset now (the server waits, as in Redis's rdbSave) and hand it to the Snapshotter;
    /// the future answers when the file is in place. None without a Snapshotter.
    fn fg_save(&mut self) -> Option<impl std::future::Future<Output = Result<u64, String>> + 'static> {
        let snap = self.rdb.snap.clone()?;
        self.abort_bgsave();
        let mut buf = self.rdb_header(false);
        snap.do_send(SaveBegin {
            sink: SaveSink::File(self.rdb_path()),
            header: std::mem::take(&mut buf),
            checksum: self.checksum_on(),
        });
        // rdb-key-save-delay (µs after each key, a debugging knob the suite uses to keep a save running): a
        // foreground save sleeps as Redis's rdbSave does, the server waiting on it either way.
        let delay = self.key_save_delay_us();
        cmd_rdb::encode_dataset(&self.s, self.rdb_encoder(), &mut buf, |buf| {
            if delay > 0 {
                std::thread::sleep(std::time::Duration::from_micros(delay));
            }
            if buf.len() >= FG_CHUNK {
                snap.do_send(SaveChunk(std::mem::replace(buf, Vec::with_capacity(FG_CHUNK + 4096))));
            }
        });
        if !buf.is_empty() {
            snap.do_send(SaveChunk(buf));
        }
        let fin = snap.send(SaveFinish);
        Some(async move { fin.await.map_err(|e| e.to_string()).and_then(|r| r) })
    }

    /// Record a foreground save's end (rdbSave's bookkeeping).
    fn fg_save_done(&mut self, res: &Result<u64, String>) {
        match res {
            Ok(bytes) => {
                log::info!("DB saved on disk ({bytes} bytes)");
                self.s.persist.dirty = 0;
                self.s.persist.lastsave = clock::system_ms() / 1000;
                self.s.persist.rdb.last_bgsave_ok = true;
            }
            Err(e) => log::warn!("{e}"),
        }
    }

    /// The batch stopped after a command that asked for a foreground job: run it while nobody else is
    /// served, write its reply, then run the rest of the pipeline.
    pub(super) fn run_fg(&mut self, slot: usize, batch: Batch, tx: oneshot::Sender<Batch>, ctx: &mut Context<Self>) {
        let Some(job) = self.s.persist.rdb.fg.take() else { return self.rerun(slot, batch, tx, ctx) };
        // What the batch wrote before the job reaches the AOF and replicas first.
        self.flush_feed(ctx);
        match job {
            FgJob::Reload { save: false, flush, merge } => self.reload(slot, batch, tx, flush, merge, ctx),
            _ => {
                let Some(fut) = self.fg_save() else {
                    return self.fg_reply(slot, batch, tx, Err("ERR".into()), ctx);
                };
                ctx.wait(fut.into_actor(self).map(move |res, act, ctx| {
                    act.fg_save_done(&res);
                    match job {
                        FgJob::Save => {
                            let reply = res.map(|_| ()).map_err(|_| "ERR".to_string());
                            act.fg_reply(slot, batch, tx, reply, ctx)
                        }
                        // flushAllDataAndResetRDB (7.0): the save zeroed dirty, and the FLUSHALL is not
                        // counted on top (7.2 counts it; the 7.0 suite checks for 0).
                        FgJob::FlushSave => act.rerun(slot, batch, tx, ctx),
                        FgJob::Reload { flush, merge, .. } => match res {
                            Ok(_) => act.reload(slot, batch, tx, flush, merge, ctx),
                            Err(_) => {
                                let e = "ERR Error trying to save the RDB dump".to_string();
                                act.fg_reply(slot, batch, tx, Err(e), ctx)
                            }
                        },
                        FgJob::Shutdown(req) => {
                            if res.is_err() && !req.force {
                                log::warn!("Error trying to save the DB, can't exit.");
                                let e = "ERR Errors trying to SHUTDOWN. Check logs.".to_string();
                                return act.fg_reply(slot, batch, tx, Err(e), ctx);
                            }
                            let mut req = req;
                            req.save = Some(false);
                            act.s.server.shutdown = Some(req);
                            if let Some(c) = act.s.clients.get_mut(slot) {
                                c.close_after_reply = true;
                            }
                            let mut batch = batch;
                            batch.close = true;
                            batch.done = batch.reqs.len();
                            act.deliver(slot, batch, tx, ctx);
                            act.after_batch(ctx);
                        }
                    }
                }));
            }
        }
    }

    /// Write a job's reply (+OK or the error) and run the rest of the batch.
    fn fg_reply(
        &mut self,
        slot: usize,
        mut batch: Batch,
        tx: oneshot::Sender<Batch>,
        res: Result<(), String>,
        ctx: &mut Context<Self>,
    ) {
        self.reply_into(slot, &mut batch, |s, out| match res {
            Ok(()) => out.ok(),
            Err(e) => {
                s.stats.error_replies += 1;
                out.error(&e)
            }
        });
        self.rerun(slot, batch, tx, ctx);
    }

    /// DEBUG RELOAD's load: empty the databases (unless NOFLUSH), then read the file back while nobody else
    /// is served.
    fn reload(
        &mut self,
        slot: usize,
        batch: Batch,
        tx: oneshot::Sender<Batch>,
        flush: bool,
        merge: bool,
        ctx: &mut Context<Self>,
    ) {
        let done: LoadDone = Box::new(move |act, res, ctx| {
            let res = match res {
                Ok(()) => {
                    log::warn!("DB reloaded by DEBUG RELOAD");
                    Ok(())
                }
                Err(why) => {
                    log::warn!("{why}");
                    Err("ERR Error trying to load the RDB dump".into())
                }
            };
            act.fg_reply(slot, batch, tx, res, ctx)
        });
        self.load_foreground(self.rdb_path(), flush, merge, done, ctx);
    }

    /// Read `path` into the databases with the mailbox closed, chunk by chunk (DEBUG RELOAD, a replica's full
    /// sync), emptying them first when `flush` (tracking clients then drop every key, as after Redis's
    /// emptyData); `done` runs with the outcome.
    pub(super) fn load_foreground(
        &mut self,
        path: PathBuf,
        flush: bool,
        merge: bool,
        done: LoadDone,
        ctx: &mut Context<Self>,
    ) {
        let Some(snap) = self.rdb.snap.clone() else {
            return done(self, Err("persistence is not available: no Snapshotter to load with".into()), ctx);
        };
        if flush {
            for db in &mut self.s.dbs {
                db.clear();
            }
            // Redis's emptyData (EMPTYDB_NO_FLAGS) drops the function libraries with the keys: a DEBUG RELOAD
            // (or a full sync) loads the file's libraries into an empty library set, not "already exists".
            self.s.scripts.functions.flush();
            self.s.clients.touch_db(None);
            crate::commands::tracking::flushed(&mut self.s);
        }
        let open = snap.send(self.load_open(path));
        ctx.wait(open.into_actor(self).map(move |res, act, ctx| match res {
            Ok(Ok(Some(_))) => {
                act.rdb.load_db = 0;
                act.rdb.load_empty_skipped = 0;
                act.s.persist.rdb.load_keys_loaded = 0;
                act.s.persist.rdb.load_keys_expired = 0;
                act.load_foreground_next(merge, done, ctx)
            }
            Ok(Ok(None)) => done(act, Err("no RDB file".into()), ctx),
            Ok(Err(e)) => done(act, Err(e), ctx),
            Err(e) => done(act, Err(e.to_string()), ctx),
        }));
    }

    /// One chunk of a foreground load, then the next (the mailbox stays closed throughout).
    fn load_foreground_next(&mut self, merge: bool, done: LoadDone, ctx: &mut Context<Self>) {
        let Some(snap) = self.rdb.snap.clone() else { return };
        ctx.wait(snap.send(LoadNext).into_actor(self).map(move |res, act, ctx| {
            let step = res.map_err(|e| e.to_string()).and_then(|r| r);
            match act.apply_step(step, merge) {
                Ok(false) => act.load_foreground_next(merge, done, ctx),
                Ok(true) => done(act, Ok(()), ctx),
                Err(e) => {
                    if let Some(s) = &act.rdb.snap {
                        s.do_send(LoadClose);
                    }
                    done(act, Err(e), ctx)
                }
            }
        }));
    }

    /// Insert one chunk of loaded records; Ok(true) once the file is complete.
    pub(super) fn apply_step(&mut self, step: Result<LoadStep, String>, merge: bool) -> Result<bool, String> {
        let step = step?;
        self.rdb.load_offset = step.offset;
        cmd_rdb::apply_items(&mut self.s, &mut self.rdb.load_db, step.items, merge, true)?;
        self.rdb.load_empty_skipped = step.empty_skipped;
        if let Some(l) = &mut self.s.persist.rdb.loading {
            l.loaded_bytes = step.offset;
        }
        Ok(step.done)
    }

    /// Start-up: load `dir`/`dbfilename` chunk by chunk while clients get -LOADING; a file that cannot be
    /// loaded stops the server (Redis exits), and nothing of it is served.
    pub(super) fn load_at_start(&mut self, ctx: &mut Context<Self>) {
        let Some(snap) = self.rdb.snap.clone() else { return };
        let path = self.rdb_path();
        let started = Instant::now();
        let open = snap.send(self.load_open(path));
        ctx.spawn(open.into_actor(self).map(move |res, act, ctx| match res {
            Ok(Ok(Some(size))) => {
                if let Some(l) = &mut act.s.persist.rdb.loading {
                    l.total_bytes = size;
                }
                act.rdb.load_db = 0;
                act.rdb.load_empty_skipped = 0;
                act.s.persist.rdb.load_repl = Default::default();
                act.s.persist.rdb.feed_expired = act.s.repl.master.is_none();
                act.load_next(started, ctx);
            }
            Ok(Ok(None)) => {
                act.s.persist.rdb.loading = None;
                act.restore_repl_history(ctx);
            }
            Ok(Err(e)) => act.load_failed(e),
            Err(e) => act.load_failed(e.to_string()),
        }));
    }

    /// One chunk of the start-up load; clients are served between chunks.
    fn load_next(&mut self, started: Instant, ctx: &mut Context<Self>) {
        let Some(snap) = self.rdb.snap.clone() else { return };
        ctx.spawn(snap.send(LoadNext).into_actor(self).map(move |res, act, ctx| {
            let step = res.map_err(|e| e.to_string()).and_then(|r| r);
            match act.apply_step(step, false) {
                Ok(false) => act.load_next(started, ctx),
                Ok(true) => {
                    act.s.persist.rdb.loading = None;
                    act.s.persist.rdb.feed_expired = false;
                    act.s.persist.dirty = 0;
                    let (loaded, expired) = (act.s.persist.rdb.load_keys_loaded, act.s.persist.rdb.load_keys_expired);
                    match act.rdb.load_empty_skipped {
                        0 => log::info!("Done loading RDB, keys loaded: {loaded}, keys expired: {expired}."),
                        // A warning, as Redis: the file held keys that were not loaded.
                        n => log::warn!(
                            "Done loading RDB, keys loaded: {loaded}, keys expired: {expired}, empty keys skipped: {n}."
                        ),
                    }
                    log::info!("DB loaded from disk: {:.3} seconds", started.elapsed().as_secs_f64());
                    act.restore_repl_history(ctx);
                }
                Err(e) => act.load_failed(e),
            }
        }));
    }

    /// The start-up file cannot be loaded: log why and stop the server without serving any of it.
    fn load_failed(&mut self, why: String) {
        log::error!("{why}");
        log::error!("Terminating server after rdb file reading failure.");
        for db in &mut self.s.dbs {
            db.clear();
        }
        self.s.knobs.load_failed.store(true, Ordering::Relaxed);
        self.s.server.shutdown = Some(crate::commands::ShutdownRequest { save: Some(false), now: true, force: true });
        if let Some(tx) = self.on_shutdown.take() {
            let _ = tx.send(());
        }
    }

    /// The server is stopping without a SHUTDOWN command (a signal, `ServerHandle::stop`): save first when
    /// save points exist, as Redis's prepareForShutdown. The future answers when the file is in place.
    pub(super) fn save_on_stop(&mut self) -> Option<impl std::future::Future<Output = Result<u64, String>> + 'static> {
        if self.s.server.shutdown.is_some() {
            return None;
        }
        self.final_save(!self.s.config.save.is_empty())
    }

    /// The shutdown's save, when `wanted` and possible: not after a busy script gave up the final save,
    /// not over a file still loading (it would be half the data), not without a Snapshotter.
    fn final_save(&mut self, wanted: bool) -> Option<impl std::future::Future<Output = Result<u64, String>> + 'static> {
        if !wanted
            || self.s.knobs.no_final_save.load(Ordering::Relaxed)
            || self.s.persist.rdb.loading.is_some()
            || self.rdb.snap.is_none()
        {
            return None;
        }
        log::info!("Saving the final RDB snapshot before exiting.");
        self.fg_save()
    }
}

/// A signal asks the server to stop (Redis's shutdown_asap): the cron starts the shutdown, which waits for
/// lagging replicas up to `shutdown-timeout` and saves first when save points exist (or as the signal's
/// `shutdown-on-sig*` setting says). The answer comes through the receiver: Ok once the server may stop, Err
/// when the shutdown was aborted (SHUTDOWN ABORT) or failed (the save, the initial AOF); the server then
/// keeps running, as Redis's does.
#[derive(Message)]
#[rtype(result = "tokio::sync::oneshot::Receiver<Result<(), String>>")]
pub struct PrepareShutdown {
    /// SIGINT (`shutdown-on-sigint`) rather than SIGTERM (`shutdown-on-sigterm`).
    pub sigint: bool,
}

impl Handler<PrepareShutdown> for Keyspace {
    type Result = actix::MessageResult<PrepareShutdown>;

    /// Note the request for the cron, and hand back where its outcome will come.
    fn handle(&mut self, msg: PrepareShutdown, _: &mut Self::Context) -> Self::Result {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let name = if msg.sigint { "shutdown-on-sigint" } else { "shutdown-on-sigterm" };
        let words = self.s.config.get(name).unwrap_or_default();
        let req = crate::commands::ShutdownRequest::from_signal_words(&words);
        if self.s.server.shutdown.is_some() {
            // Already stopping.
            let _ = tx.send(Ok(()));
            return actix::MessageResult(rx);
        }
        if self.s.server.shutdown_wait.is_none() {
            self.s.server.shutdown_asap = Some(req);
        }
        // A shutdown already waiting for replicas: this signal hears how it ends.
        self.signal_reply = Some(tx);
        actix::MessageResult(rx)
    }
}

impl Keyspace {
    /// The cron's part of a shutdown (serverCron): start a signal's, and finish a waiting one once its
    /// replicas caught up or its time is up.
    pub(super) fn shutdown_cron(&mut self, ctx: &mut Context<Self>) {
        use crate::commands::server as srv;
        if self.s.server.shutdown.is_some() || self.shutdown_finishing {
            return;
        }
        if self.s.server.shutdown_wait.is_none() {
            let Some(req) = self.s.server.shutdown_asap.take() else { return };
            if !req.now && srv::shutdown_timeout(&self.s) != 0 && !srv::ready_to_shutdown(&self.s) {
                srv::start_shutdown_wait(&mut self.s, req);
                return;
            }
            self.finish_shutdown(req, ctx);
        } else if let Some(req) = srv::shutdown_due(&self.s) {
            self.finish_shutdown(req, ctx);
        }
    }

    /// finishShutdown: report the replicas, refuse while the first AOF is still being written, save when
    /// asked or when save points exist, then stop; on a failure the shutdown is cancelled and the server
    /// goes on (FORCE ignores the failures).
    fn finish_shutdown(&mut self, req: crate::commands::ShutdownRequest, ctx: &mut Context<Self>) {
        crate::commands::server::log_replicas_at_shutdown(&self.s);
        if self.s.persist.aof.mode == crate::commands::aof::AofMode::WaitRewrite {
            if req.force {
                log::warn!("Writing initial AOF. Exit anyway.");
            } else {
                log::warn!("Writing initial AOF, can't exit.");
                return self.shutdown_failed(ctx);
            }
        }
        let wanted = req.save.unwrap_or(!self.s.config.save.is_empty());
        let Some(fut) = self.final_save(wanted) else { return self.shutdown_done(req) };
        self.shutdown_finishing = true;
        ctx.wait(fut.into_actor(self).map(move |res, act, ctx| {
            act.shutdown_finishing = false;
            act.fg_save_done(&res);
            match res {
                Ok(_) => act.shutdown_done(req),
                Err(_) if req.force => {
                    log::warn!("Error trying to save the DB. Exit anyway.");
                    act.shutdown_done(req);
                }
                Err(_) => {
                    log::warn!("Error trying to save the DB, can't exit.");
                    act.shutdown_failed(ctx);
                }
            }
        }));
    }

    /// The shutdown's last step here: the server stops (the binary, or whoever embeds it, is told).
    fn shutdown_done(&mut self, req: crate::commands::ShutdownRequest) {
        self.s.server.shutdown = Some(crate::commands::ShutdownRequest { save: Some(false), ..req });
        if let Some(tx) = self.signal_reply.take() {
            let _ = tx.send(Ok(()));
        }
        if let Some(tx) = self.on_shutdown.take() {
            let _ = tx.send(());
        }
    }

    /// The shutdown cannot complete: cancel it (clients blocked in SHUTDOWN and the signal hear so).
    fn shutdown_failed(&mut self, ctx: &mut Context<Self>) {
        log::warn!("Errors trying to shut down the server. Check the logs for more information.");
        crate::commands::server::cancel_shutdown(&mut self.s);
        self.after_batch(ctx);
    }
}
