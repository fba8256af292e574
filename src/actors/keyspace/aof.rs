//! The Keyspace's side of the AOF: handing each batch's feed to the AofWriter (persistence.rs), driving the
//! fork-less rewrite (a point-in-time snapshot of every Db encoded a slice at a time), DEBUG LOADAOF, and the
//! requests commands leave in `Persistence::aof`.

use super::Keyspace;
use crate::actors::persistence::{
    AbortRewrite, AofWriter, Append, CollectHistory, FinishRewrite, Load, RewriteChunk, SetFsync, StartRewrite,
    StopAppending, Sync,
};
use crate::commands::aof::{self as cmd_aof, AofMode, AofRequest, Fsync};
use crate::commands::{set_feed_enabled, Batch};
use crate::persist::aof;
use crate::types::clock;
use actix::prelude::*;
use bytes::Bytes;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// Keys a rewrite or BGSAVE encodes between two looks at the clock: small, so that a slice ends close to
/// `SLICE` (a step may stop halfway through a segment; 2000-key steps made 3-4 ms slices).
pub(super) const STEP_KEYS: usize = 128;
/// How long one rewrite or BGSAVE slice may hold the Keyspace thread: a command that arrives meanwhile waits
/// at most about this long.
pub(super) const SLICE: Duration = Duration::from_micros(300);
/// Hand over, in order, what every database's snapshot encoded since the last call (steps and barriers):
/// each database's bytes as they are, behind a header chunk (`select`: SELECTDB or SELECT) when they belong
/// to another database than the last chunk. BGSAVE and AOF rewrites share it, so the stream switches
/// database only when the database changes, however small the steps, and the bytes are never copied.
/// `progress` keeps each database's `snapshot_progress` as last seen (its snapshot is gone once its last
/// bytes are taken), for INFO.
pub(super) fn take_snapshot_chunks(
    dbs: &mut [crate::types::db::Db],
    last_db: &mut Option<usize>,
    progress: &mut [(u64, u64)],
    mut select: impl FnMut(&mut Vec<u8>, usize, &crate::types::db::Db),
    mut send: impl FnMut(Vec<u8>),
) {
    for (i, db) in dbs.iter_mut().enumerate() {
        if let Some(now) = db.snapshot_progress() {
            progress[i] = now;
        }
        let bytes = db.snapshot_take();
        if bytes.is_empty() {
            continue;
        }
        if *last_db != Some(i) {
            let mut head = Vec::with_capacity(16);
            select(&mut head, i, db);
            send(head);
            *last_db = Some(i);
        }
        send(bytes);
    }
}

/// Run `f` (the next slice) after a yield to the runtime rather than after a pause: the mailbox is drained
/// first, so every batch that arrived during a slice runs before the next one, and the thread's sockets and
/// timers get their turn. An idle server saves at full speed, and under load the clients' share grows with
/// their load. (Fixed 1-3 ms pauses made a save 3-5 times longer, and even a zero-length timer rounds up to
/// the timer wheel's millisecond.)
pub(super) fn after_yield(
    ctx: &mut Context<Keyspace>,
    f: impl FnOnce(&mut Keyspace, &mut Context<Keyspace>) + 'static,
) {
    ctx.spawn(actix::fut::wrap_future(tokio::task::yield_now()).map(move |_, act, ctx| f(act, ctx)));
}

/// What the Keyspace holds for the AOF.
#[derive(Default)]
pub struct AofLink {
    pub writer: Option<Addr<AofWriter>>,
    /// The rewrite whose snapshot is being encoded, if any.
    run: Option<RewriteRun>,
    /// Numbers rewrites, so that a late answer about an aborted one is ignored.
    next_id: u64,
    /// Appends not yet sent to the writer (see `aof_append`).
    outbox: Vec<Bytes>,
    /// The replies waiting for the outbox's bytes to be written.
    outbox_acks: Vec<oneshot::Sender<()>>,
    /// Automatic and scheduled rewrites held back after repeated failures.
    limit: RewriteLimit,
}

/// Failed rewrites in a row from which cron-started rewrites are delayed (AOF_REWRITE_LIMITE_THRESHOLD).
const LIMIT_THRESHOLD: u64 = 3;
/// The longest delay, in minutes (AOF_REWRITE_LIMITE_MAX_MINUTES).
const LIMIT_MAX_MINUTES: i64 = 60;

/// Redis's aofRewriteLimited: once rewrites failed LIMIT_THRESHOLD times in a row, the cron waits 1, 2, 4...
/// up to 60 minutes between attempts (BGREWRITEAOF itself is never held back).
#[derive(Default, Debug)]
pub(super) struct RewriteLimit {
    delay_minutes: i64,
    /// Unix time before which no cron rewrite starts (0: not waiting).
    next_time: i64,
}

impl RewriteLimit {
    /// May the cron start a rewrite now, after `failures` failed ones in a row? Starting a wait logs it.
    fn limited(&mut self, failures: u64, now: i64) -> bool {
        if failures < LIMIT_THRESHOLD {
            *self = RewriteLimit::default();
            return false;
        }
        if self.next_time != 0 {
            if now < self.next_time {
                return true;
            }
            self.next_time = 0;
            return false;
        }
        self.delay_minutes = if self.delay_minutes == 0 { 1 } else { (self.delay_minutes * 2).min(LIMIT_MAX_MINUTES) };
        self.next_time = now + self.delay_minutes * 60;
        log::warn!(
            "Background AOF rewrite has repeatedly failed and triggered the limit, will retry in {} minutes",
            self.delay_minutes
        );
        true
    }
}

/// The writer's answer to FinishRewrite.
type FinishResult = Result<Result<(), String>, MailboxError>;

struct RewriteRun {
    id: u64,
    /// Databases whose snapshot is fully encoded.
    done: Vec<bool>,
    /// The base is an RDB file: a database's chunks are introduced by SELECTDB instead of SELECT.
    rdb: bool,
    /// The database the last chunk sent belongs to (`take_snapshot_chunks`).
    last_db: Option<usize>,
    /// Each database's keys encoded and bytes encoded ahead by writes (`take_snapshot_chunks`), for
    /// aof_last_cow_size.
    progress: Vec<(u64, u64)>,
}

impl Keyspace {
    /// Is the AOF taking appends (the batch's replies then wait for `aof_append`'s receiver)?
    pub(super) fn aof_appending(&self) -> bool {
        self.aof.writer.is_some() && self.s.persist.aof.mode != AofMode::Off
    }

    /// Hand one batch's effects to the AOF; the receiver resolves once the writer has written them (under
    /// appendfsync always: written and synced). The batch's replies wait for it, so a process crash never loses
    /// an acknowledged write in any fsync mode, as Redis writes its AOF buffer before the replies of the same
    /// event-loop turn (only an OS crash can lose what was not synced yet). Under always the bytes go at once;
    /// otherwise they wait in the outbox until this poll of the mailbox is over, so the batches of every client
    /// served meanwhile reach the writer as one message (one wake-up of its thread, one writev).
    pub(super) fn aof_append(&mut self, bytes: Bytes, ctx: &mut Context<Self>) -> Option<oneshot::Receiver<()>> {
        if !self.aof_appending() {
            return None;
        }
        let (tx, rx) = oneshot::channel();
        // aof-timestamp-enabled: a `#TS:` line ahead of the first bytes of each second (AOF only, not replicas).
        let ts = cmd_aof::timestamp_annotation(&mut self.s.persist.aof, false).map(Bytes::from);
        if self.s.persist.aof.fsync == Fsync::Always {
            let w = self.writer()?;
            let bytes = match ts {
                Some(ts) => vec![ts, bytes],
                None => vec![bytes],
            };
            w.do_send(Append { bytes, acks: vec![tx] });
            return Some(rx);
        }
        if self.aof.outbox.is_empty() {
            // actix polls spawned futures after the queued messages.
            ctx.spawn(actix::fut::ready(()).map(|_, act: &mut Keyspace, _| act.send_outbox()));
        }
        self.aof.outbox.extend(ts);
        self.aof.outbox.push(bytes);
        self.aof.outbox_acks.push(tx);
        Some(rx)
    }

    /// Send what waits in the outbox.
    pub(super) fn send_outbox(&mut self) {
        if self.aof.outbox.is_empty() {
            return;
        }
        let bytes = std::mem::take(&mut self.aof.outbox);
        let acks = std::mem::take(&mut self.aof.outbox_acks);
        if let Some(w) = &self.aof.writer {
            w.do_send(Append { bytes, acks });
        }
    }

    /// The writer, for a message that must come after every append made so far.
    fn writer(&mut self) -> Option<Addr<AofWriter>> {
        self.send_outbox();
        self.aof.writer.clone()
    }

    /// Keep the propagation feed on while replicas, the backlog (for replicas coming back) or the AOF need it.
    pub(super) fn refresh_feed(&mut self) {
        let want =
            !self.replicas.is_empty() || self.s.prop.backlog.is_some() || self.s.persist.aof.mode != AofMode::Off;
        if want != self.s.prop.feed.enabled {
            set_feed_enabled(&mut self.s, want);
        }
    }

    /// Must the batch's reply wait for the writer (`collect_history_now`)?
    pub(super) fn aof_reply_waits(&self) -> bool {
        self.s.persist.aof.requests.contains(&AofRequest::CollectHistory)
    }

    /// A CollectHistory the batch asked for, sent now; the future resolves once the writer has removed the
    /// history files from the manifest (the reply waits for it).
    pub(super) fn collect_history_now(&mut self) -> Option<impl std::future::Future<Output = ()> + 'static> {
        let reqs = &mut self.s.persist.aof.requests;
        let at = reqs.iter().position(|r| *r == AofRequest::CollectHistory)?;
        reqs.remove(at);
        let req = self.writer()?.send(CollectHistory);
        Some(async move {
            let _ = req.await;
        })
    }

    /// Act on what the batch's commands asked of the AOF.
    pub(super) fn aof_requests(&mut self, ctx: &mut Context<Self>) {
        for req in std::mem::take(&mut self.s.persist.aof.requests) {
            match req {
                AofRequest::Rewrite => self.start_rewrite(ctx),
                AofRequest::Fsync(f) => {
                    if let Some(w) = self.writer() {
                        w.do_send(SetFsync(f));
                    }
                }
                AofRequest::CollectHistory => {
                    if let Some(w) = self.writer() {
                        w.do_send(CollectHistory);
                    }
                }
                AofRequest::Enable => {
                    if self.s.persist.aof.mode != AofMode::Off {
                        continue;
                    }
                    if self.aof.run.is_some() {
                        log::warn!("AOF was enabled but there is already an AOF rewriting in background. Stopping background AOF and starting a rewrite now.");
                        self.abort_rewrite();
                    }
                    if !self.s.persist.aof.shared.last_write_ok.swap(true, Ordering::Relaxed) {
                        log::warn!("AOF reopen, just ignore the last error.");
                    }
                    self.s.persist.aof.mode = AofMode::WaitRewrite;
                    self.start_rewrite(ctx);
                }
                AofRequest::Disable => {
                    if self.s.persist.aof.mode == AofMode::Off {
                        continue;
                    }
                    if self.aof.run.is_some() || self.s.persist.aof.rewrite_in_progress {
                        // killAppendOnlyChild's line (without a child pid: the rewrite runs in-process);
                        // operators and the suite look for it.
                        log::info!("Killing running AOF rewrite child");
                    }
                    self.abort_rewrite();
                    self.s.persist.aof.mode = AofMode::Off;
                    self.s.persist.aof.rewrite_scheduled = false;
                    if let Some(w) = self.writer() {
                        w.do_send(StopAppending);
                    }
                    self.refresh_feed();
                }
            }
        }
    }

    /// Cron work: start a scheduled rewrite, or an automatic one when the AOF has grown past
    /// auto-aof-rewrite-percentage of its base (and auto-aof-rewrite-min-size); after repeated failures,
    /// neither until the limit's delay has passed.
    pub(super) fn aof_tick(&mut self, ctx: &mut Context<Self>) {
        if self.aof.writer.is_none() || self.aof.run.is_some() || self.bgsave_running() {
            return;
        }
        let a = &self.s.persist.aof;
        let mut auto = None;
        if !a.rewrite_scheduled && a.mode == AofMode::On && !a.rewrite_in_progress {
            let num = |name| self.s.config.get(name).and_then(|v| v.parse::<u64>().ok());
            if let (Some(pct), Some(min)) = (num("auto-aof-rewrite-percentage"), num("auto-aof-rewrite-min-size")) {
                let size = a.shared.current_size.load(Ordering::Relaxed);
                let base = a.shared.base_size.load(Ordering::Relaxed).max(1);
                let growth = (size * 100 / base).saturating_sub(100);
                if pct > 0 && size > min && growth >= pct {
                    auto = Some(growth);
                }
            }
        }
        if !a.rewrite_scheduled && auto.is_none() {
            return;
        }
        let (failures, now) = (a.consecutive_failures, clock::system_ms() / 1000);
        if self.aof.limit.limited(failures, now) {
            return;
        }
        if let Some(growth) = auto {
            log::info!("Starting automatic rewriting of AOF on {growth}% growth");
        }
        self.start_rewrite(ctx);
    }

    /// Begin a rewrite at this instant: every later write goes to a new incr file, and every database is
    /// snapshotted as it is now.
    fn start_rewrite(&mut self, ctx: &mut Context<Self>) {
        if self.aof.writer.is_none() || self.aof.run.is_some() {
            return;
        }
        let started = std::time::Instant::now();
        if self.bgsave_running() {
            // One snapshot at a time (Redis: one child): the cron starts the rewrite after the save.
            log::warn!("AOF was enabled but there is already another background operation. An AOF background was scheduled to start when possible.");
            let a = &mut self.s.persist.aof;
            a.rewrite_scheduled = true;
            a.rewrite_in_progress = false;
            log::info!("AOF rewrite scheduled to start when the background save is over.");
            return;
        }
        // What is already in the feed belongs to the old incr file; the new one starts with a SELECT.
        self.flush_feed(ctx);
        self.s.prop.feed.db = None;
        let Some(w) = self.writer() else { return };
        let id = self.aof.next_id;
        self.aof.next_id += 1;
        let rdb = self.s.config.get("aof-use-rdb-preamble").as_deref() != Some("no");
        w.send(StartRewrite { mode: self.s.persist.aof.mode, rdb })
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
        let enc = if rdb { self.rdb_encoder() } else { aof::encode_entry };
        for db in &mut self.s.dbs {
            db.snapshot_begin(enc);
        }
        let mut head = Vec::new();
        if rdb {
            head = self.rdb_header(true);
        } else {
            // As rewriteAppendOnlyFileRio: a RESP base opens with the time it was taken, when annotating.
            head.extend(cmd_aof::timestamp_annotation(&mut self.s.persist.aof, true).unwrap_or_default());
            aof::encode_functions(self.s.scripts.functions.library_codes(), &mut head);
        }
        if !head.is_empty() {
            w.do_send(RewriteChunk(head));
        }
        log::info!("Background append only file rewriting started");
        self.s.stats.snapshot_started(started);
        let (done, progress) = (vec![false; self.s.dbs.len()], vec![(0, 0); self.s.dbs.len()]);
        self.aof.run = Some(RewriteRun { id, done, rdb, last_db: None, progress });
        let a = &mut self.s.persist.aof;
        a.rewrite_in_progress = true;
        a.rewrite_scheduled = false;
        a.rewrite_started_ms = clock::system_ms();
        a.rewrites += 1;
        after_yield(ctx, move |act, ctx| act.rewrite_slice(id, ctx));
    }

    /// Encode the snapshot for about a millisecond, then let clients in; finish when every db is done.
    fn rewrite_slice(&mut self, id: u64, ctx: &mut Context<Self>) {
        if self.aof.run.as_ref().is_none_or(|r| r.id != id) {
            return;
        }
        let start = Instant::now();
        // rdb-key-save-delay applies to rewrites too (µs after each key; the suite keeps a rewrite running
        // with it to kill its child): fewer keys a slice and a pause after them, even after the last one, so
        // the clients are still served meanwhile.
        let delay = self.key_save_delay_us();
        if let Some(per_slice) = (SLICE.as_micros() as u64).checked_div(delay) {
            if self.aof.run.as_ref().is_some_and(|r| r.done.iter().all(|d| *d)) {
                self.finish_rewrite(ctx);
                return;
            }
            let budget = per_slice.max(1);
            self.rewrite_step(budget as usize);
            let pause = Duration::from_micros((delay * budget).max(1000));
            ctx.run_later(pause, move |act, ctx| act.rewrite_slice(id, ctx));
            return;
        }
        loop {
            if self.rewrite_step(STEP_KEYS) {
                self.finish_rewrite(ctx);
                return;
            }
            if start.elapsed() >= SLICE {
                break;
            }
        }
        after_yield(ctx, move |act, ctx| act.rewrite_slice(id, ctx));
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
            let rdb = run.rdb;
            let select = |head: &mut Vec<u8>, i: usize, db: &crate::types::db::Db| {
                if rdb {
                    crate::persist::rdb::write_select_db(head, i, db.len() as u64, db.expires_count() as u64);
                } else {
                    aof::select(head, i);
                }
            };
            let send = |c| w.do_send(RewriteChunk(c));
            take_snapshot_chunks(&mut self.s.dbs, &mut run.last_db, &mut run.progress, select, send);
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
        let Some(run) = self.aof.run.take_if(|r| r.id == id) else { return };
        self.s.persist.aof.last_cow_size = run.progress.iter().map(|p| p.1).sum();
        match res {
            Ok(Ok(())) => self.rewrite_done(true, ""),
            Ok(Err(e)) => self.rewrite_done(false, &e),
            Err(e) => self.rewrite_done(false, &e.to_string()),
        }
    }

    /// Record how a rewrite ended. A failed first rewrite (AOF_WAIT_REWRITE) is tried again from the cron.
    fn rewrite_done(&mut self, ok: bool, err: &str) {
        let a = &mut self.s.persist.aof;
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
        if self.aof.run.take().is_none() && !self.s.persist.aof.rewrite_in_progress {
            return;
        }
        for db in &mut self.s.dbs {
            db.snapshot_abort();
        }
        if let Some(w) = self.writer() {
            w.do_send(AbortRewrite);
        }
        self.s.persist.aof.rewrite_in_progress = false;
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
        self.s.persist.aof.load_pending = false;
        self.flush_feed(ctx);
        // A BGREWRITEAOF earlier in the batch starts now, so that it is finished below.
        if !self.s.persist.aof.requests.is_empty() {
            self.aof_requests(ctx);
        }
        let Some(w) = self.writer() else {
            let mut batch = batch;
            self.reply_into(slot, &mut batch, |_, out| {
                out.error("ERR DEBUG LOADAOF is not available (persistence-available is no)")
            });
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
                Ok(Ok(files)) if files.is_empty() && act.s.persist.aof.mode == AofMode::Off => {
                    // Redis would exit here (no AOF to load); keep the data and say so instead.
                    Err("The AOF doesn't exist".to_string())
                }
                Ok(Ok(mut files)) => {
                    for db in &mut act.s.dbs {
                        db.clear();
                    }
                    act.s.clients.touch_db(None);
                    crate::commands::tracking::flushed(&mut act.s);
                    let r = cmd_aof::replay(&mut act.s, &mut files);
                    if r.is_ok() {
                        log::info!("Append Only File loaded by DEBUG LOADAOF");
                    }
                    r
                }
                Ok(Err(e)) => Err(e),
                Err(e) => Err(e.to_string()),
            };
            act.s.persist.dirty = 0;
            let mut batch = batch;
            act.reply_into(slot, &mut batch, |_, out| match res {
                Ok(()) => out.ok(),
                Err(e) => {
                    log::warn!("{e}");
                    out.error(&format!("ERR Error loading the append only file: {}", e.lines().last().unwrap_or("")));
                }
            });
            act.rerun(slot, batch, tx, ctx);
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::RewriteLimit;

    #[test]
    fn the_rewrite_limit_doubles_its_delay_up_to_an_hour() {
        let mut l = RewriteLimit::default();
        assert!(!l.limited(2, 1000), "under the threshold: never limited");
        // Third failure in a row: wait a minute, then one attempt, then two minutes...
        assert!(l.limited(3, 1000));
        assert!(l.limited(3, 1059));
        assert!(!l.limited(3, 1060));
        assert!(l.limited(4, 1061));
        assert_eq!(l.next_time, 1061 + 120);
        for _ in 0..10 {
            l.next_time = 0;
            l.limited(5, 0);
        }
        assert_eq!(l.delay_minutes, 60);
        // A success resets it.
        assert!(!l.limited(0, 5000));
        assert!(l.limited(3, 5000));
        assert_eq!(l.delay_minutes, 1);
    }
}
