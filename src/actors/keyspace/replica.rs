//! The Keyspace's side of being a replica: it starts and stops the ReplicaLink actor (actors/replica.rs) when
//! REPLICAOF asks, makes the link's in-process client the master client, and loads a full sync's RDB with
//! nobody else served meanwhile (Redis loads it in its main thread too).

use super::Keyspace;
use crate::actors::connection::Push;
use crate::actors::replica::{LinkConfig, ReplicaLink, StopLink};
use crate::actors::snapshotter::{LoadClose, LoadNext, LoadSource, SendSyncFile, StreamReader};
use crate::commands::replication::SyncWait;
use crate::commands::replication::{LinkRequest, Master};
use crate::commands::ReplyMode;
use crate::commands::OBUF_REPLICA;
use actix::prelude::*;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::oneshot;

/// Tokens of the links' in-process clients: far from the ones client.rs picks.
static NEXT_LINK_TOKEN: AtomicU64 = AtomicU64::new(1 << 62);

/// What a diskless transfer's next slice may do.
pub(super) enum Flow {
    /// Encode more.
    Go,
    /// The slowest replica has enough unsent: look again shortly.
    Wait,
    /// Every replica it was for is gone: drop it.
    Stop,
}

/// A replica in a full sync: which save (`Keyspace::sync_save_seq`) its file comes from, and where its stream
/// starts (the save's offset). The stream since is held for it in the backlog, pinned there until it is sent.
pub struct Held {
    pub save: u64,
    /// The save's file is being read back for it (a later save's end must not send it another).
    pub reading: bool,
    /// The stream offset its file is the dataset of: it is sent the backlog from here once the file is out.
    pub from: u64,
    /// Since when what it waits for is over the replica class's soft output limit.
    pub over_soft_since: Option<std::time::Instant>,
    /// In a diskless transfer: its connection's unsent bytes when last looked at, and since when they are
    /// that (no progress for `repl-timeout` closes it).
    pub unsent: (usize, i64),
}

/// The running link: its actor, its thread, the token its commands run under, and what it shares.
pub struct LinkHandle {
    addr: Addr<ReplicaLink>,
    arbiter: Arbiter,
    pub(super) token: u64,
    shared: std::sync::Arc<crate::commands::replication::LinkShared>,
}

impl Keyspace {
    /// Act on REPLICAOF: stop the link to the old master, start one to the new master (or none).
    pub(super) fn repl_requests(&mut self, ctx: &mut Context<Self>) {
        let Some(req) = self.s.repl.request.take() else { return };
        // The history we have (as a master, or from the master we replicated so far): a new master that knows
        // it (one of ours, promoted) lets us continue it. (REPLICAOF already put the new master in `repl`.)
        let resume = match &self.link {
            Some(l) => {
                let off = l.shared.offset.load(Ordering::Relaxed);
                let id = l.shared.replid.lock().map(|g| g.clone()).unwrap_or_default();
                (off >= 0 && !id.is_empty()).then_some((id, off))
            }
            None => Some((self.s.repl.replid.clone(), self.s.prop.feed.offset as i64)),
        };
        self.stop_link();
        match req {
            // Our replicas stay: if the new master continues our history (+CONTINUE with the same id) they
            // go on with us; they are dropped when the id changes or a full sync's file is about to load
            // (Redis 7's replicationSetMaster).
            LinkRequest::Start(m) => self.start_link(m, resume, ctx),
            LinkRequest::Stop => {
                // A master's own stream selects its database afresh: no cached master client is kept
                // (Redis's next REPLICAOF makes one from this server's state, in database 0).
                self.master_db = None;
                if let Some(m) = self.s.repl.master.take() {
                    // The old master's history is ours now (INFO master_replid2 / second_repl_offset), and
                    // our own goes on under a new id (Redis's shiftReplicationId). Our replicas reconnect to
                    // learn it, and resync partially (PSYNC2).
                    let off = m.link.offset.load(Ordering::Relaxed);
                    let id = m.link.replid.lock().map(|g| g.clone()).unwrap_or_default();
                    if !id.is_empty() && off >= 0 {
                        self.s.repl.replid2 = Some((id, off + 1));
                        self.s.prop.feed.offset = off as u64;
                    } else {
                        // Never synced with it (an aborted failover): our own history is the one to keep.
                        let own = (self.s.repl.replid.clone(), self.s.prop.feed.offset as i64 + 1);
                        self.s.repl.replid2 = Some(own);
                    }
                    self.s.repl.replid = crate::commands::replication::new_replid();
                    self.s.prop.feed.db = None;
                    self.drop_sub_replicas();
                    self.refresh_feed();
                }
                for db in &mut self.s.dbs {
                    db.lazy_expire = true;
                    db.hide_expired = false;
                }
            }
        }
    }

    /// Once a second (Redis's replicationCron): PING the replicas every `repl-ping-replica-period` seconds, a
    /// newline to those still waiting for their snapshot (it keeps their link alive and moves no offset),
    /// close replicas silent for `repl-timeout`, and free the backlog after `repl-backlog-ttl` seconds
    /// without replicas (0: never).
    pub(super) fn repl_tick(&mut self) {
        self.repl_cron_loops += 1;
        let num =
            |s: &crate::commands::State, n: &str, d: i64| s.config.get(n).and_then(|v| v.parse().ok()).unwrap_or(d);
        let period = num(&self.s, "repl-ping-replica-period", 10).max(1) as u64;
        // A replica passes its master's PINGs on (they are in the stream it proxies) and sends none itself.
        // Nor while a failover waits for a replica to catch up: a PING would move the offset it must reach.
        let failing_over = self.s.repl.failover.is_some();
        if self.s.repl.master.is_none() && !failing_over && self.repl_cron_loops.is_multiple_of(period) {
            self.send_stream_only(bytes::Bytes::from_static(crate::commands::replication::PING));
        }
        let newline = bytes::Bytes::from_static(b"\n");
        // Not to those whose file is on its way (a diskless transfer, or a disk save's file being read back to
        // them): a newline would land inside the RDB. Redis sends them only while the replica waits for its
        // BGSAVE. (A transfer slower than a second, e.g. to a replica that loads as it reads, got one per
        // second at 1 MB chunk boundaries, and its load failed.)
        let (socket, seq) = (self.socket_save_running(), self.sync_save_seq);
        let syncing = self.syncing.iter().filter(|(_, h)| !(h.reading || socket && h.save == seq)).map(|(s, _)| s);
        for &slot in self.s.prop.sync_waiting.iter().chain(syncing) {
            if let Some(h) = self.conns.get(&slot) {
                h.push.do_send(Push {
                    frames: vec![newline.clone()],
                    class: OBUF_REPLICA,
                    counted: false,
                    shared: false,
                });
            }
        }
        let timeout_ms = num(&self.s, "repl-timeout", 60).max(1) * 1000;
        let now = crate::types::clock::now_ms();
        for &slot in &self.replicas {
            let Some(c) = self.s.clients.get(slot) else { continue };
            // A replica that never sent REPLCONF (SYNC, pre-PSYNC) sends no ACKs either.
            if !c.repl_pre_psync && now - c.repl_ack_ms > timeout_ms {
                log::warn!("Disconnecting timedout replica (streaming sync): {}", c.addr);
                self.s.clients.kill_list.push(slot);
            }
        }
        if self.socket_save_running() {
            // A replica whose socket took nothing of its diskless transfer for `repl-timeout` holds up the
            // others (the transfer goes at the slowest one's pace): close it (Redis's repl_last_partial_write).
            let seq = self.sync_save_seq;
            for (&slot, h) in self.syncing.iter_mut().filter(|(_, h)| h.save == seq) {
                let unsent = self.conns.get(&slot).map_or(0, |c| c.pushed.load(Ordering::Relaxed));
                if unsent == 0 || unsent != h.unsent.0 {
                    h.unsent = (unsent, now);
                } else if now - h.unsent.1 > timeout_ms {
                    let addr = self.s.clients.get(slot).map(|c| c.addr.to_string()).unwrap_or_default();
                    log::warn!("Disconnecting timedout replica (full sync): {addr}");
                    self.s.clients.kill_list.push(slot);
                }
            }
        }
        if !self.s.clients.kill_list.is_empty() {
            self.disconnect_killed();
        }
        crate::commands::replication::refresh_good_replicas(&mut self.s);
        if self.s.prop.backlog.is_none() || !self.replicas.is_empty() || !self.syncing.is_empty() {
            self.s.prop.no_replicas_since_ms = 0;
            return;
        }
        let now = crate::types::clock::now_ms();
        if self.s.prop.no_replicas_since_ms == 0 {
            self.s.prop.no_replicas_since_ms = now;
            return;
        }
        let ttl: i64 = self.s.config.get("repl-backlog-ttl").and_then(|v| v.parse().ok()).unwrap_or(3600);
        if ttl > 0 && now - self.s.prop.no_replicas_since_ms >= ttl * 1000 {
            log::info!("Replication backlog freed after {ttl} seconds without connected replicas.");
            self.s.prop.backlog = None;
            self.s.prop.no_replicas_since_ms = 0;
            self.refresh_feed();
        }
    }

    /// Start the snapshot replicas wait for (after a batch): +FULLRESYNC with the offset of this instant goes
    /// to each, and the stream from here on is held for them until the file is written. While another
    /// background save runs they wait for it to end (its snapshot is older than their offset).
    pub(super) fn start_full_syncs(&mut self, ctx: &mut Context<Self>) {
        if self.bgsave_running() {
            // A diskless transfer cannot take more replicas once begun: they wait for the next one (Redis:
            // "Current BGSAVE has socket target. Waiting for next BGSAVE for SYNC").
            if !self.socket_save_running() {
                self.attach_to_running_sync();
            }
            return;
        }
        // Not yet when diskless syncs wait `repl-diskless-sync-delay` for more replicas (the cron looks again
        // each second).
        let Some(diskless) = self.diskless_start() else { return };
        // The feed was drained by this batch's flush: its offset is exactly the snapshot's point.
        if !self.s.prop.feed.buf.is_empty() || !self.can_start_bgsave() {
            return;
        }
        let waiting = self.take_sync_waiting();
        if waiting.is_empty() {
            return;
        }
        log::info!("Starting BGSAVE for SYNC with target: {}", if diskless { "replicas sockets" } else { "disk" });
        let sink = if diskless {
            let conns = waiting
                .iter()
                .filter_map(|slot| self.conns.get(slot).map(|h| (h.push.clone(), h.pushed.clone())))
                .collect();
            let mark = crate::commands::replication::new_replid();
            crate::actors::snapshotter::SaveSink::Replicas { conns, mark }
        } else {
            crate::actors::snapshotter::SaveSink::File(self.rdb_path())
        };
        crate::commands::replication::ensure_backlog(&mut self.s);
        crate::commands::set_feed_enabled(&mut self.s, true);
        self.sync_save_seq += 1;
        let replid = crate::commands::replication::current_replid(&self.s);
        self.sync_save_offset = self.s.prop.feed.offset;
        self.sync_save_line = bytes::Bytes::from(format!("+FULLRESYNC {} {}\r\n", replid, self.s.prop.feed.offset));
        // +FULLRESYNC goes first: a diskless save's Snapshotter pushes the file to the same connections.
        self.join_sync(waiting);
        let started = self.start_save(sink, ctx);
        debug_assert!(started, "can_start_bgsave was checked");
    }

    /// Should the replicas waiting now get a diskless sync (Redis's shouldStartChildReplication)? Some(true):
    /// yes, now; Some(false): a disk-based one (diskless off, or a replica without `capa eof`); None: not yet,
    /// until the longest-waiting one has waited `repl-diskless-sync-delay` seconds or
    /// `repl-diskless-sync-max-replicas` are waiting.
    fn diskless_start(&self) -> Option<bool> {
        let cfg = |n: &str| self.s.config.get(n).unwrap_or_default();
        if cfg("repl-diskless-sync") != "yes" {
            return Some(false);
        }
        let now = crate::types::clock::now_ms();
        let (mut n, mut max_idle_ms, mut eof) = (0i64, 0i64, true);
        for &slot in &self.s.prop.sync_waiting {
            let Some(c) = self.s.clients.get(slot).filter(|_| self.conns.contains_key(&slot)) else { continue };
            n += 1;
            eof &= c.repl_capa_eof;
            max_idle_ms = max_idle_ms.max(now - c.last_interaction_ms);
        }
        if !eof || n == 0 {
            return Some(false);
        }
        let delay: i64 = cfg("repl-diskless-sync-delay").parse().unwrap_or(5);
        let max: i64 = cfg("repl-diskless-sync-max-replicas").parse().unwrap_or(0);
        (max_idle_ms >= delay * 1000 || (max > 0 && n >= max)).then_some(true)
    }

    /// May a diskless transfer encode more? Wait while its slowest replica has more than SYNC_ALLOWANCE
    /// bytes not taken by its socket; stop when none of its replicas is left.
    pub(super) fn diskless_flow(&self) -> Flow {
        let seq = self.sync_save_seq;
        let mut slowest = None;
        for (slot, h) in &self.syncing {
            if h.save == seq {
                if let Some(c) = self.conns.get(slot) {
                    slowest = Some(slowest.unwrap_or(0).max(c.pushed.load(Ordering::Relaxed)));
                }
            }
        }
        let Some(slowest) = slowest else { return Flow::Stop };
        let pending = self.rdb.pending.load(Ordering::Relaxed) as usize;
        if slowest + pending > crate::actors::snapshotter::SYNC_ALLOWANCE {
            Flow::Wait
        } else {
            Flow::Go
        }
    }

    /// A diskless transfer was dropped: its replicas got part of a file, so they are closed (they sync again).
    pub(super) fn drop_socket_sync(&mut self) {
        let seq = self.sync_save_seq;
        let slots: Vec<usize> = self.syncing.iter().filter(|(_, h)| h.save == seq).map(|(&s, _)| s).collect();
        for slot in slots {
            self.syncing.remove(&slot);
            self.s.clients.kill_list.push(slot);
        }
        self.disconnect_killed();
    }

    /// A replica in a full sync is gone (`held` was its place in it). With no save points, a disk save no other
    /// replica waits for is of no use: drop it, so the next replica's sync starts at once (Redis's
    /// freeClient kills the RDB child then). A diskless transfer notices at its next slice.
    pub(super) fn sync_replica_gone(&mut self, held: &Held) {
        let seq = self.sync_save_seq;
        if held.save != seq || held.reading || !self.bgsave_running() || self.socket_save_running() {
            return;
        }
        if !self.s.config.save.is_empty() || self.syncing.values().any(|h| h.save == seq && !h.reading) {
            return;
        }
        if self.abort_bgsave_quietly() {
            log::warn!("Background saving terminated: no replica waits for it any more");
        }
    }

    /// The replicas waiting for a snapshot to start, still connected.
    fn take_sync_waiting(&mut self) -> Vec<usize> {
        std::mem::take(&mut self.s.prop.sync_waiting)
            .into_iter()
            .filter(|slot| {
                self.conns.contains_key(slot)
                    && self.s.clients.get(*slot).is_some_and(|c| matches!(c.repl_sync, Some(SyncWait::Start { .. })))
            })
            .collect()
    }

    /// A save for replicas is running: replicas asking now share it, as Redis attaches them to the running
    /// disk save (syncCommand), with its +FULLRESYNC offset and the stream since its start (held in the
    /// backlog for its replicas already); a second snapshot is not needed. Another kind of save (a user's
    /// BGSAVE) makes them wait.
    fn attach_to_running_sync(&mut self) {
        let seq = self.sync_save_seq;
        if !self.syncing.values().any(|h| h.save == seq && !h.reading) {
            return;
        }
        let waiting = self.take_sync_waiting();
        if !waiting.is_empty() {
            log::info!("Waiting for end of BGSAVE for SYNC");
            self.join_sync(waiting);
        }
    }

    /// Send the current save's +FULLRESYNC to `waiting` (PSYNC replicas) and hold the stream for them from
    /// the save's offset on.
    fn join_sync(&mut self, waiting: Vec<usize>) {
        for slot in waiting {
            let c = &mut self.s.clients[slot];
            if c.repl_sync == Some(SyncWait::Start { psync: true }) {
                if let Some(h) = self.conns.get(&slot) {
                    h.push.do_send(Push {
                        frames: vec![self.sync_save_line.clone()],
                        class: OBUF_REPLICA,
                        counted: false,
                        shared: false,
                    });
                }
            }
            c.repl_sync = Some(SyncWait::End);
            let unsent = (0, crate::types::clock::now_ms());
            let (save, from) = (self.sync_save_seq, self.sync_save_offset);
            self.syncing.insert(slot, Held { save, reading: false, from, over_soft_since: None, unsent });
        }
        self.s.prop.replicas = self.replicas.len() + self.syncing.len();
        self.pin_backlog(0);
    }

    /// Hold in the backlog the stream the replicas in a full sync still wait for (and no more), then trim
    /// it by up to `max_blocks` blocks besides an append's own trimming.
    pub(super) fn pin_backlog(&mut self, max_blocks: usize) {
        let keep = self.syncing.values().map(|h| h.from).min();
        if let Some(b) = &mut self.s.prop.backlog {
            b.pin(keep);
            if max_blocks > 0 {
                b.trim(max_blocks);
            }
        }
    }

    /// After a stream append: close the replicas in a full sync whose held stream passed the replica class's
    /// output buffer limit (it is their output buffer, as for Redis's replicas that reference the replication
    /// buffer). The hard limit is at least `repl-backlog-size`, as Redis's.
    pub(super) fn check_syncing_limits(&mut self) {
        let end = self.s.prop.feed.offset;
        let limit = &self.s.knobs.obuf_limits[OBUF_REPLICA];
        for (&slot, h) in self.syncing.iter_mut() {
            let held = end.saturating_sub(h.from) as usize;
            if limit.passed(held, &mut h.over_soft_since) && !self.s.clients.kill_list.contains(&slot) {
                let (peer, local) = match self.s.clients.get(slot) {
                    Some(c) => (c.addr.to_string(), c.laddr.to_string()),
                    None => Default::default(),
                };
                crate::actors::connection::obuf_closed(&self.s.knobs, &peer, &local, held);
                // Closed with the batch's other kills, after its replies (after_batch).
                self.s.clients.kill_list.push(slot);
            }
        }
    }

    /// A background save ended: send its file to the replicas that waited for it, then what the stream held
    /// for them, and put them online; close them when the save failed (they sync again).
    pub(super) fn sync_save_done(&mut self, ok: bool, socket: bool, ctx: &mut Context<Self>) {
        // The replicas this save was for (the latest one started for replicas: another cannot start while it
        // runs). While its file is read back, another save may start for replicas that came later
        // (start_full_syncs runs after every batch): they are in `syncing` too, but this file is older than
        // their +FULLRESYNC offset, so they wait for their own.
        let seq = self.sync_save_seq;
        let mut group = Vec::new();
        for (&slot, h) in self.syncing.iter_mut().filter(|(_, h)| h.save == seq && !h.reading) {
            h.reading = true;
            group.push(slot);
        }
        if group.is_empty() {
            // A save no replica waits for (or a user's BGSAVE that ran while their file was read back).
            if !self.s.prop.sync_waiting.is_empty() {
                self.start_full_syncs(ctx);
            }
            return;
        }
        if socket {
            return self.transfer_sent(ok, group, ctx);
        }
        let snap = self.rdb.snap.clone();
        let (true, Some(snap)) = (ok, snap) else {
            log::warn!("SYNC failed. BGSAVE child returned an error");
            for slot in group {
                self.syncing.remove(&slot);
                self.s.clients.kill_list.push(slot);
            }
            self.disconnect_killed();
            return;
        };
        // The Snapshotter sends the file as the replicas take it; the stream held for them follows once it
        // is all pushed.
        let conns =
            group.iter().filter_map(|slot| self.conns.get(slot).map(|h| (h.push.clone(), h.pushed.clone()))).collect();
        let (done, sent) = oneshot::channel();
        snap.do_send(SendSyncFile { path: self.rdb_path(), conns, done });
        async move { sent.await.unwrap_or_else(|_| Err("the Snapshotter stopped".into())) }
            .into_actor(self)
            .map(move |res, act, ctx| match res {
                Ok(_) => act.put_online(seq, group, &[], ctx),
                Err(e) => {
                    log::warn!("{e}");
                    for slot in group {
                        if act.syncing.get(&slot).is_some_and(|h| h.save == seq) {
                            act.syncing.remove(&slot);
                            act.s.clients.kill_list.push(slot);
                        }
                    }
                    act.disconnect_killed();
                }
            })
            .spawn(ctx);
    }

    /// A diskless transfer ended: its replicas have the whole file (the Snapshotter pushed it, ahead of
    /// anything sent from here), so they go online; on an error they are closed and sync again.
    fn transfer_sent(&mut self, ok: bool, group: Vec<usize>, ctx: &mut Context<Self>) {
        let seq = self.sync_save_seq;
        let up = group.iter().filter(|s| self.conns.contains_key(s)).count();
        log::warn!("Diskless rdb transfer, done reading from pipe, {up} replicas still up.");
        if !ok {
            for slot in group {
                self.syncing.remove(&slot);
                self.s.clients.kill_list.push(slot);
            }
            self.disconnect_killed();
            return;
        }
        self.put_online(seq, group, &[], ctx);
    }

    /// Send `group` (the replicas of save `seq`) `file` then the stream held for them, and make them streaming
    /// replicas.
    fn put_online(&mut self, seq: u64, group: Vec<usize>, file: &[bytes::Bytes], ctx: &mut Context<Self>) {
        let now = crate::types::clock::now_ms();
        for slot in group {
            // Gone meanwhile (forget() drops it), or the slot taken by a replica of a later save.
            if self.syncing.get(&slot).is_none_or(|h| h.save != seq) {
                continue;
            }
            let Some(from) = self.syncing.remove(&slot).map(|h| h.from) else { continue };
            let Some(h) = self.conns.get(&slot) else { continue };
            // Pinned since the save began, so it is there (unless the history was reset, which drops them).
            let Some(held) = self.s.prop.backlog.as_ref().and_then(|b| b.frames_from(from)) else {
                log::warn!(
                    "The stream since the snapshot is gone: replica {} must sync again",
                    self.s.clients[slot].addr
                );
                self.s.clients.kill_list.push(slot);
                continue;
            };
            let mut frames = Vec::with_capacity(held.len() + file.len());
            frames.extend(file.iter().cloned());
            frames.extend(held);
            if !frames.is_empty() {
                // The backlog's blocks, shared with it and the group's other replicas: not copied.
                h.push.do_send(Push { frames, class: OBUF_REPLICA, counted: false, shared: true });
            }
            if let Some(c) = self.s.clients.get_mut(slot) {
                c.repl_sync = None;
                c.repl_ack_ms = now;
            }
            log::info!("Synchronization with replica {} succeeded", self.s.clients[slot].addr);
            self.replicas.push(slot);
        }
        self.s.prop.replicas = self.replicas.len() + self.syncing.len();
        self.disconnect_killed();
        self.pin_backlog(crate::commands::replication::TRIM_PER_CALL);
        crate::commands::replication::refresh_good_replicas(&mut self.s);
        if !self.s.prop.sync_waiting.is_empty() {
            self.start_full_syncs(ctx);
        }
    }

    /// CLIENT KILL hit the master client `slot`: the link reconnects (Redis drops the master connection and
    /// resyncs partially).
    pub(super) fn master_client_killed(&mut self, slot: usize) {
        if let Some(l) = &self.link {
            if self.local.get(&l.token).is_some_and(|&(s, _)| s == slot) {
                // The stream goes on in the database it had selected (Redis resurrects the cached master
                // client, its db with it): a partial resync sends no SELECT.
                self.master_db = self.s.clients.get(slot).map(|c| c.db);
                self.local.remove(&l.token);
                l.shared.kick.notify_one();
            }
        }
    }

    /// Is `token` the link's, with its master client gone (killed)? Its batches must not run as a plain
    /// client.
    pub(super) fn stale_master_token(&self, token: u64) -> bool {
        self.link.as_ref().is_some_and(|l| l.token == token) && !self.local.contains_key(&token)
    }

    /// Close the link, if any, and forget its master client.
    fn stop_link(&mut self) {
        if let Some(l) = self.link.take() {
            l.addr.do_send(StopLink);
            l.arbiter.stop();
            if let Some((slot, id)) = self.local.remove(&l.token) {
                if let Some(c) = self.s.clients.get(slot).filter(|c| c.id == id) {
                    // Redis caches the master client (replicationCacheMaster): a partial resync with the next
                    // master, which continues the same history, goes on in the database it had selected.
                    if c.master {
                        self.master_db = Some(c.db);
                    }
                    self.forget(slot);
                }
            }
        }
    }

    /// Start a link to `m` on a thread of its own.
    fn start_link(&mut self, m: Master, resume: Option<(String, i64)>, ctx: &mut Context<Self>) {
        if self.s.persist.rdb.loading.is_some() {
            // The start-up file first: it may hold the history to continue (restore_repl_history starts the
            // link once it is in), and a sync asked for meanwhile would be thrown away.
            self.deferred_link = Some((m, resume));
            return;
        }
        // A replica's keys expire only through the master's DELs; until then its clients read them as
        // missing (exec_batch lets the master client see them).
        for db in &mut self.s.dbs {
            db.lazy_expire = false;
            db.hide_expired = true;
        }
        let c = &self.s.config;
        let get = |n: &str| c.get(n).unwrap_or_default();
        let announce_port: u16 = get("replica-announce-port").parse().unwrap_or(0);
        let cfg = LinkConfig {
            host: m.host.clone(),
            port: m.port,
            user: get("masteruser"),
            auth: get("masterauth"),
            listening_port: if announce_port != 0 { announce_port } else { self.s.server.tcp_port },
            announce_ip: get("replica-announce-ip"),
            dir: PathBuf::from(&c.dir),
            dbfilename: c.dbfilename.clone(),
            timeout: Duration::from_secs(get("repl-timeout").parse().unwrap_or(60).max(1)),
            max_bulk: self.s.knobs.proto_max_bulk_len.load(Ordering::Relaxed),
            resume,
            source_addr: get("bind-source-addr"),
        };
        // Until the new master's file is in, our history is the one we had (INFO master_replid, the id a
        // replica of ours continues, and what the next PSYNC asks for).
        if let Some((id, off)) = &cfg.resume {
            if let Ok(mut g) = m.link.replid.lock() {
                *g = id.clone();
            }
            m.link.offset.store(*off, Ordering::Relaxed);
        }
        let token = NEXT_LINK_TOKEN.fetch_add(1, Ordering::Relaxed);
        let arbiter = Arbiter::new();
        let keyspace = ctx.address();
        let shared = m.link.clone();
        let addr =
            ReplicaLink::start_in_arbiter(&arbiter.handle(), move |_| ReplicaLink::new(cfg, keyspace, shared, token));
        self.link = Some(LinkHandle { addr, arbiter, token, shared: m.link.clone() });
    }

    /// Our stream goes on from `offset` (the master's, proxied from here): the backlog is kept when it ends
    /// there, else started anew at it.
    fn continue_history(&mut self, offset: i64) {
        let offset = offset.max(0) as u64;
        self.s.prop.feed.offset = offset;
        self.s.prop.feed.db = None;
        if self.s.prop.backlog.as_ref().is_none_or(|b| b.end() != offset) {
            let size = crate::commands::replication::backlog_size(&self.s.config);
            self.s.prop.backlog = Some(crate::commands::replication::Backlog::new(size, offset));
        }
        self.refresh_feed();
    }

    /// The start-up file said where its data stands in a replication history (Redis's loadDataFromDisk):
    /// a master keeps it as replid2 with its offset, so its replicas resync partially after the restart; a
    /// replica asks its master to continue from it.
    pub(super) fn restore_repl_history(&mut self, ctx: &mut Context<Self>) {
        let deferred = self.deferred_link.take();
        let (Some(id), Some(off @ 0..), Some(db @ 0..)) = std::mem::take(&mut self.s.persist.rdb.load_repl) else {
            // No history in the file: a link REPLICAOF asked for during the load starts as it was.
            if let Some((m, resume)) = deferred {
                self.start_link(m, resume, ctx);
            }
            return;
        };
        match self.s.repl.master.clone() {
            None => {
                self.s.repl.replid2 = Some((id, off + 1));
                // The load may have started the backlog already, with the DELs of the keys it found expired.
                if self.s.prop.backlog.is_none() {
                    self.s.prop.feed.offset = off as u64;
                    let size = crate::commands::replication::backlog_size(&self.s.config);
                    self.s.prop.backlog = Some(crate::commands::replication::Backlog::new(size, off as u64));
                }
                self.s.prop.no_replicas_since_ms = 0;
                self.refresh_feed();
            }
            Some(m) => {
                self.stop_link();
                self.master_db = Some(db as usize);
                self.start_link(m, Some((id, off)), ctx);
            }
        }
    }

    /// Close this server's own replicas, streaming or syncing (they reconnect and PSYNC again).
    fn drop_sub_replicas(&mut self) {
        let slots: Vec<usize> = self.replicas.iter().copied().chain(self.syncing.keys().copied()).collect();
        let waiting = std::mem::take(&mut self.s.prop.sync_waiting);
        for slot in slots.into_iter().chain(waiting) {
            self.s.clients.kill_list.push(slot);
        }
        self.disconnect_killed();
    }

    /// Load a full sync's file: flush, then read it with the mailbox closed.
    fn master_load(
        &mut self,
        path: PathBuf,
        replid: String,
        offset: i64,
        done: oneshot::Sender<Result<(), String>>,
        ctx: &mut Context<Self>,
    ) {
        let finish: super::rdb::LoadDone = Box::new(move |act, res, _| match res {
            Ok(()) => act.sync_loaded(replid, offset, done),
            Err(e) => {
                for db in &mut act.s.dbs {
                    db.clear();
                }
                let _ = done.send(Err(format!("Failed trying to load the MASTER synchronization DB from disk: {e}")));
            }
        });
        self.load_foreground(path, true, false, finish, ctx);
    }

    /// The master's file is in: our history continues the master's from `offset`.
    fn sync_loaded(&mut self, replid: String, offset: i64, done: oneshot::Sender<Result<(), String>>) {
        self.s.persist.dirty = 0;
        self.s.repl.replid2 = None;
        if let Some(m) = &self.s.repl.master {
            if let Ok(mut g) = m.link.replid.lock() {
                *g = replid;
            }
        }
        self.continue_history(offset);
        // The AOF must hold the synced dataset: rewrite it (Redis restarts the AOF here).
        let a = &mut self.s.persist.aof;
        if a.mode != crate::commands::aof::AofMode::Off && !a.rewrite_in_progress {
            a.rewrite_scheduled = true;
        }
        let _ = done.send(Ok(()));
    }

    /// Load a full sync from the master's socket as it arrives (repl-diskless-load), in one of three ways
    /// (Redis's readSyncBulkPayload):
    /// - swapdb with the same replication history: load beside the data, which is still served meanwhile
    ///   (async_loading), and swap the loaded data in at the end; a failed load leaves the old data;
    /// - swapdb otherwise: keep the data aside, load with clients answered -LOADING, and put it back if the
    ///   load fails;
    /// - on-empty-db: flush and load, clients answered -LOADING.
    ///
    /// The Keyspace inserts each chunk between client batches (the start-up load's way), not with its
    /// mailbox closed: the file may take as long to arrive as the master takes to send it.
    fn master_load_stream(&mut self, msg: MasterSync, reader: StreamReader, ctx: &mut Context<Self>) {
        let Some(snap) = self.rdb.snap.clone() else {
            let _ = msg.done.send(Err("persistence is not available: no Snapshotter to load with".into()));
            return;
        };
        if let Some(old) = self.sync_load.as_ref().map(|l| l.id) {
            // Undo the load in progress before this one starts (the link waits for it; this is a safeguard).
            self.stream_load_done(old, Err("replaced by a new sync".into()));
        }
        let swapdb = self.s.config.get("repl-diskless-load").as_deref() == Some("swapdb");
        let mode = match (swapdb, msg.same_history) {
            (true, true) => LoadMode::Async,
            (true, false) => LoadMode::Swap,
            (false, _) => LoadMode::Empty,
        };
        let fresh: Vec<crate::types::db::Db> = self.s.dbs.iter().map(|d| d.empty_like()).collect();
        let aside = match mode {
            LoadMode::Async => {
                self.s.persist.rdb.async_loading = true;
                Some((fresh, crate::commands::function::Functions::default()))
            }
            LoadMode::Swap | LoadMode::Empty => {
                // The databases are replaced: a snapshot of the old ones is of no use (Redis kills the child).
                self.abort_bgsave_quietly();
                let old = std::mem::replace(&mut self.s.dbs, fresh);
                let funcs = std::mem::take(&mut self.s.scripts.functions);
                self.s.clients.touch_db(None);
                crate::commands::tracking::flushed(&mut self.s);
                let start_s = crate::types::clock::system_ms() / 1000;
                self.s.persist.rdb.loading =
                    Some(crate::commands::rdb::Loading { start_s, total_bytes: 0, loaded_bytes: 0 });
                if mode == LoadMode::Empty {
                    log::info!("MASTER <-> REPLICA sync: Flushing old data");
                    None
                } else {
                    Some((old, funcs))
                }
            }
        };
        self.rdb.load_db = 0;
        self.rdb.load_offset = 0;
        self.s.persist.rdb.load_keys_loaded = 0;
        self.s.persist.rdb.load_keys_expired = 0;
        self.s.persist.rdb.load_repl = Default::default();
        self.sync_load_seq += 1;
        let id = self.sync_load_seq;
        let done = Some(msg.done);
        self.sync_load = Some(SyncLoad { id, mode, aside, replid: msg.replid, offset: msg.offset, done });
        let open = snap.send(self.load_open_from(LoadSource::Stream(reader)));
        ctx.spawn(open.into_actor(self).map(move |res, act, ctx| match res {
            Ok(Ok(_)) => act.stream_load_next(id, ctx),
            Ok(Err(e)) => act.stream_load_done(id, Err(e)),
            Err(e) => act.stream_load_done(id, Err(e.to_string())),
        }));
    }

    /// One chunk of load `id` from the master's socket; clients are served between chunks.
    fn stream_load_next(&mut self, id: u64, ctx: &mut Context<Self>) {
        let Some(snap) = self.rdb.snap.clone() else { return };
        if self.sync_load.as_ref().is_none_or(|l| l.id != id) {
            return;
        }
        ctx.spawn(snap.send(LoadNext).into_actor(self).map(move |res, act, ctx| {
            // Only the load in progress counts (the link waits for a failed one before the next).
            if act.sync_load.as_ref().is_none_or(|l| l.id != id) {
                return;
            }
            let step = res.map_err(|e| e.to_string()).and_then(|r| r);
            // Loading beside the served data: the loaded databases and libraries are swapped in for the
            // chunk's inserts only (a Vec's and a map's swap, whatever their size).
            let swap = |act: &mut Keyspace| {
                if let Some(SyncLoad { mode: LoadMode::Async, aside: Some((dbs, funcs)), .. }) = &mut act.sync_load {
                    std::mem::swap(&mut act.s.dbs, dbs);
                    std::mem::swap(&mut act.s.scripts.functions, funcs);
                }
            };
            swap(act);
            let res = act.apply_step(step, false);
            swap(act);
            match res {
                Ok(false) => act.stream_load_next(id, ctx),
                Ok(true) => act.stream_load_done(id, Ok(())),
                Err(e) => {
                    if let Some(s) = &act.rdb.snap {
                        s.do_send(LoadClose);
                    }
                    act.stream_load_done(id, Err(e))
                }
            }
        }));
    }

    /// A load from the master's socket ended: swap in, keep or restore as its mode says, and tell the link.
    fn stream_load_done(&mut self, id: u64, res: Result<(), String>) {
        if self.sync_load.as_ref().is_none_or(|l| l.id != id) {
            return;
        }
        let Some(mut load) = self.sync_load.take() else { return };
        let done = load.done.take().expect("answered once");
        self.s.persist.rdb.loading = None;
        self.s.persist.rdb.async_loading = false;
        match (&res, load.mode, load.aside) {
            (Ok(()), LoadMode::Async, Some((dbs, funcs))) => {
                log::info!("MASTER <-> REPLICA sync: Swapping active DB with loaded DB");
                let old = std::mem::replace(&mut self.s.dbs, dbs);
                self.s.scripts.functions = funcs;
                self.s.clients.touch_db(None);
                crate::commands::tracking::flushed(&mut self.s);
                log::info!("MASTER <-> REPLICA sync: Discarding old DB in background");
                self.s.lazyfree.free_dbs(old);
            }
            (Err(_), LoadMode::Async, Some((dbs, _))) => {
                log::info!("MASTER <-> REPLICA sync: Discarding temporary DB in background");
                self.s.lazyfree.free_dbs(dbs);
            }
            (Err(_), LoadMode::Swap, Some((dbs, funcs))) => {
                log::info!("MASTER <-> REPLICA sync: Restoring the backup of the old data");
                self.s.dbs = dbs;
                self.s.scripts.functions = funcs;
            }
            (Err(_), LoadMode::Empty, _) => {
                for db in &mut self.s.dbs {
                    db.clear();
                }
            }
            (Ok(()), LoadMode::Swap, Some((dbs, _))) => {
                log::info!("MASTER <-> REPLICA sync: Discarding old DB in background");
                self.s.lazyfree.free_dbs(dbs);
            }
            _ => {}
        }
        match res {
            Ok(()) => {
                let (loaded, expired) = (self.s.persist.rdb.load_keys_loaded, self.s.persist.rdb.load_keys_expired);
                log::info!("Done loading RDB, keys loaded: {loaded}, keys expired: {expired}.");
                self.sync_loaded(load.replid, load.offset, done);
            }
            Err(e) => {
                let at = self.rdb.load_offset;
                log::warn!("Internal error in RDB reading offset {at}: {e}");
                let why = "Failed trying to load the MASTER synchronization DB from socket, check server logs.";
                let _ = done.send(Err(why.into()));
            }
        }
    }

    /// Does the next full sync load from the master's socket (Redis's useDisklessLoad)?
    fn use_diskless_load(&self) -> bool {
        match self.s.config.get("repl-diskless-load").as_deref() {
            Some("swapdb") => self.rdb.snap.is_some(),
            Some("on-empty-db") => self.rdb.snap.is_some() && self.s.dbs.iter().all(|d| d.is_empty()),
            _ => false,
        }
    }
}

/// How a load from the master's socket treats the data the replica had.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum LoadMode {
    /// swapdb, same history: served meanwhile, replaced at the end.
    Async,
    /// swapdb, another history: kept aside, restored if the load fails.
    Swap,
    /// on-empty-db: flushed first.
    Empty,
}

/// A load from the master's socket in progress.
pub struct SyncLoad {
    /// Which load this is (`Keyspace::sync_load_seq`): a late answer for another is ignored.
    id: u64,
    mode: LoadMode,
    /// Async: the databases and libraries being loaded; Swap: the old ones, kept back.
    aside: Option<(Vec<crate::types::db::Db>, crate::commands::function::Functions)>,
    replid: String,
    offset: i64,
    done: Option<oneshot::Sender<Result<(), String>>>,
}

/// Should the link load the next full sync from the socket (repl-diskless-load)?
#[derive(Message)]
#[rtype(result = "bool")]
pub struct DisklessLoad {
    pub token: u64,
}

impl Handler<DisklessLoad> for Keyspace {
    type Result = bool;

    /// Only the current link asks; the answer follows repl-diskless-load and whether the data is empty.
    fn handle(&mut self, msg: DisklessLoad, _: &mut Self::Context) -> bool {
        self.link.as_ref().is_some_and(|l| l.token == msg.token) && self.use_diskless_load()
    }
}

/// The link finished a handshake: make its client the master client, and for a full sync load `path` first.
#[derive(Message)]
#[rtype(result = "()")]
pub struct MasterSync {
    pub path: PathBuf,
    /// A full sync read from the socket as it arrives (DisklessLoad said so), instead of `path`.
    pub stream: Option<StreamReader>,
    /// The master continues the history we had (swapdb then loads beside the served data).
    pub same_history: bool,
    pub token: u64,
    /// A full sync (load `path`), or a partial one (+CONTINUE: keep the data).
    pub full: bool,
    /// The master's replication id and the offset the stream continues from.
    pub replid: String,
    pub offset: i64,
    pub done: oneshot::Sender<Result<(), String>>,
}

impl Handler<MasterSync> for Keyspace {
    type Result = ();

    /// Only the current link's syncs count (a stopped link's late message is refused).
    fn handle(&mut self, msg: MasterSync, ctx: &mut Self::Context) {
        if self.link.as_ref().map(|l| l.token) != Some(msg.token) {
            let _ = msg.done.send(Err("the link was replaced".into()));
            return;
        }
        if self.s.persist.rdb.loading.is_some() {
            // The start-up file is still loading: the link tries again in a second.
            let _ = msg.done.send(Err("the dataset is still loading".into()));
            return;
        }
        let slot = self.local_slot(msg.token);
        let c = &mut self.s.clients[slot];
        c.master = true;
        // The master's stream is trusted whatever this server's ACL says (Redis's master client has no
        // user: CLIENT LIST shows "(superuser)").
        c.authenticated = true;
        let mut root = crate::commands::acl_rules::User::default_user();
        root.name = b"(superuser)".to_vec();
        c.user = root.seal();
        c.reply_mode = ReplyMode::Off;
        c.addr = self.s.repl.master.as_ref().map(|m| format!("{}:{}", m.host, m.port)).unwrap_or_default();
        match (msg.full, self.master_db.take()) {
            (true, _) => c.db = 0,
            (false, Some(db)) => c.db = db,
            (false, None) => {}
        }
        if msg.full {
            // A new history: our own replicas must sync again (from us, once we have it), and the backlog
            // starts over at the master's offset once the file is in.
            self.drop_sub_replicas();
            self.s.prop.backlog = None;
            let mut msg = msg;
            match msg.stream.take() {
                Some(reader) => self.master_load_stream(msg, reader, ctx),
                None => self.master_load(msg.path, msg.replid, msg.offset, msg.done, ctx),
            }
        } else {
            let old = crate::commands::replication::current_replid(&self.s);
            if old != msg.replid {
                // The master was promoted from a replica of the one we knew: our history goes on under its
                // id, the old one kept as replid2; our replicas reconnect to learn the new id.
                self.s.repl.replid2 = Some((old, msg.offset + 1));
                if let Some(m) = &self.s.repl.master {
                    if let Ok(mut g) = m.link.replid.lock() {
                        *g = msg.replid.clone();
                    }
                    // Up before our replicas are told: their PSYNC must find the link streaming.
                    m.link.offset.store(msg.offset, Ordering::Relaxed);
                    m.link.set_state(crate::commands::replication::LinkState::Connected);
                }
                self.drop_sub_replicas();
            }
            self.continue_history(msg.offset);
            let _ = msg.done.send(Ok(()));
        }
    }
}
