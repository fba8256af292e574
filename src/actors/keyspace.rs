//! Keyspace actor: the one owner of every database and client record; executes each connection's batch
//! synchronously, in arrival order, and acts on the side effects commands leave in `State` (disconnects,
//! shutdown, paused clients). Cron ticks drive its housekeeping; the Expiry actor asks it for expiry work.

use super::connection::Kick;
use crate::commands::{exec_batch, Batch, State};
use crate::types::clock;
use actix::prelude::*;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

pub struct Keyspace {
    pub s: State,
    /// Connection actors by client slot, to disconnect them.
    conns: HashMap<usize, Recipient<Kick>>,
    /// Batches held back by CLIENT PAUSE, resumed in arrival order.
    paused: Vec<(usize, Batch, oneshot::Sender<Batch>)>,
    /// Told when SHUTDOWN ran or the server is stopping.
    on_shutdown: Option<oneshot::Sender<()>>,
}

impl Keyspace {
    pub fn new(s: State, on_shutdown: oneshot::Sender<()>) -> Keyspace {
        Keyspace { s, conns: HashMap::new(), paused: Vec::new(), on_shutdown: Some(on_shutdown) }
    }

    /// Act on what the last commands asked for.
    fn after_batch(&mut self) {
        for slot in std::mem::take(&mut self.s.kill_list) {
            if let Some(c) = self.conns.remove(&slot) {
                c.do_send(Kick);
            }
            self.s.remove_client(slot);
        }
        if self.s.shutdown.is_some() {
            if let Some(tx) = self.on_shutdown.take() {
                let _ = tx.send(());
            }
        }
    }

    /// Resume paused batches whose pause is over.
    fn resume_paused(&mut self) {
        if self.paused.is_empty() {
            return;
        }
        let now = clock::refresh();
        if matches!(self.s.pause, Some(p) if p.until_ms > now) && self.s.pause.map(|p| p.all).unwrap_or(false) {
            return;
        }
        let pending = std::mem::take(&mut self.paused);
        for (slot, mut batch, tx) in pending {
            exec_batch(&mut self.s, slot, &mut batch);
            if batch.done < batch.reqs.len() && !batch.close {
                self.paused.push((slot, batch, tx));
            } else {
                let _ = tx.send(batch);
            }
        }
        self.after_batch();
    }
}

impl Actor for Keyspace {
    type Context = Context<Self>;
}

/// A new client: returns its slot, or Err with the reply to send before closing (maxclients).
#[derive(Message)]
#[rtype(result = "Result<usize, String>")]
pub struct Register {
    pub addr: String,
    pub laddr: String,
    pub conn: Option<Recipient<Kick>>,
    pub unix: bool,
}

impl Handler<Register> for Keyspace {
    type Result = Result<usize, String>;

    fn handle(&mut self, msg: Register, _: &mut Self::Context) -> Self::Result {
        let sockets = self.conns.len() as u64;
        if msg.conn.is_some() && sockets >= self.s.config.maxclients {
            self.s.stats.rejected_connections += 1;
            return Err("ERR max number of clients reached".into());
        }
        let slot = self.s.add_client(msg.addr, msg.laddr);
        let c = &mut self.s.clients[slot];
        c.local = msg.conn.is_none();
        c.unix_socket = msg.unix;
        c.fd = if c.local { -1 } else { 7 + slot as i64 };
        if let Some(conn) = msg.conn {
            self.conns.insert(slot, conn);
        }
        Ok(slot)
    }
}

/// A client went away.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Unregister {
    pub slot: usize,
}

impl Handler<Unregister> for Keyspace {
    type Result = ();

    fn handle(&mut self, msg: Unregister, _: &mut Self::Context) {
        self.conns.remove(&msg.slot);
        self.s.remove_client(msg.slot);
        self.paused.retain(|(slot, _, _)| *slot != msg.slot);
    }
}

/// Run a batch of requests for a client; the batch comes back with its replies.
#[derive(Message)]
#[rtype(result = "ExecReply")]
pub struct Exec {
    pub slot: usize,
    pub batch: Batch,
}

/// The executed batch, or (when the client was paused) where it will arrive.
pub enum ExecReply {
    Done(Batch),
    Later(oneshot::Receiver<Batch>),
}

impl<A, M> actix::dev::MessageResponse<A, M> for ExecReply
where
    A: Actor,
    M: Message<Result = ExecReply>,
{
    fn handle(self, _: &mut A::Context, tx: Option<actix::dev::OneshotSender<ExecReply>>) {
        if let Some(tx) = tx {
            let _ = tx.send(self);
        }
    }
}

impl Handler<Exec> for Keyspace {
    type Result = ExecReply;

    fn handle(&mut self, msg: Exec, _: &mut Self::Context) -> ExecReply {
        let Exec { slot, mut batch } = msg;
        // Keep per-client order: while earlier batches of this client wait, so does this one.
        let waiting = !self.paused.is_empty() && self.paused.iter().any(|(s, _, _)| *s == slot);
        if !waiting {
            exec_batch(&mut self.s, slot, &mut batch);
        }
        self.after_batch();
        if waiting || (batch.done < batch.reqs.len() && !batch.close) {
            let (tx, rx) = oneshot::channel();
            self.paused.push((slot, batch, tx));
            return ExecReply::Later(rx);
        }
        ExecReply::Done(batch)
    }
}

/// The cron's heartbeat.
#[derive(Message, Clone, Copy)]
#[rtype(result = "()")]
pub struct Tick;

impl Handler<Tick> for Keyspace {
    type Result = ();

    fn handle(&mut self, _: Tick, _: &mut Self::Context) {
        let now = clock::refresh();
        let s = &mut self.s;
        // Memory peak and ops/sec samples for INFO.
        let used = s.used_memory();
        if used > s.peak_memory {
            s.peak_memory = used;
        }
        s.ops_samples.push((now, s.stats.commands_processed));
        if s.ops_samples.len() > 16 {
            s.ops_samples.remove(0);
        }
        // Idle clients past `timeout` are disconnected (Redis's clientsCronHandleTimeout).
        if s.config.timeout > 0 {
            let limit = s.config.timeout as i64 * 1000;
            for (slot, c) in s.clients.iter() {
                if !c.local && now - c.last_interaction_ms > limit && !self.paused.iter().any(|(p, _, _)| *p == slot) {
                    s.kill_list.push(slot);
                }
            }
        }
        if let Some(p) = s.pause {
            if p.until_ms <= now {
                s.pause = None;
            }
        }
        self.resume_paused();
        self.after_batch();
    }
}

/// Active expiry work, asked for by the Expiry actor: spend at most `budget` sampling keys with a TTL.
#[derive(Message)]
#[rtype(result = "ExpireReport")]
pub struct ActiveExpire {
    pub budget: Duration,
    /// Keys sampled per database per loop (Redis: 20, raised by active-expire-effort).
    pub samples: usize,
    /// Repeat a database while more than this share of the sample was expired (Redis: 10%, lowered by effort).
    pub stale_pct: usize,
}

#[derive(Debug, Default, Clone, Copy, MessageResponse)]
pub struct ExpireReport {
    pub sampled: usize,
    pub expired: usize,
    pub time_limit_hit: bool,
    pub elapsed_us: u64,
}

impl Handler<ActiveExpire> for Keyspace {
    type Result = ExpireReport;

    fn handle(&mut self, msg: ActiveExpire, _: &mut Self::Context) -> ExpireReport {
        let mut rep = ExpireReport::default();
        if !self.s.active_expire {
            return rep;
        }
        clock::refresh();
        let start = Instant::now();
        'dbs: for db in self.s.dbs.iter_mut() {
            loop {
                if db.expires_count() == 0 {
                    break;
                }
                let st = db.expire_sample(msg.samples);
                rep.sampled += st.sampled;
                rep.expired += st.expired;
                if start.elapsed() >= msg.budget {
                    rep.time_limit_hit = true;
                    break 'dbs;
                }
                if st.sampled == 0 || st.expired * 100 <= st.sampled * msg.stale_pct {
                    break;
                }
            }
        }
        rep.elapsed_us = start.elapsed().as_micros() as u64;
        self.s.stats.expired_keys_active += rep.expired as u64;
        self.s.stats.expire_cycle_cpu_ms += rep.elapsed_us / 1000;
        rep
    }
}

/// Stop serving: disconnect every client.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Shutdown;

impl Handler<Shutdown> for Keyspace {
    type Result = ();

    fn handle(&mut self, _: Shutdown, ctx: &mut Self::Context) {
        for (_, c) in self.conns.drain() {
            c.do_send(Kick);
        }
        for (_, _, tx) in self.paused.drain(..) {
            drop(tx);
        }
        ctx.stop();
    }
}

/// Read something from the state (embedding API, tests).
pub struct Inspect<R: 'static, F: FnOnce(&mut State) -> R + Send + 'static>(pub F, pub std::marker::PhantomData<R>);

impl<R: Send + 'static, F: FnOnce(&mut State) -> R + Send + 'static> Message for Inspect<R, F> {
    type Result = R;
}

impl<R: Send + 'static, F: FnOnce(&mut State) -> R + Send + 'static> Handler<Inspect<R, F>> for Keyspace {
    type Result = MessageResult<Inspect<R, F>>;

    fn handle(&mut self, msg: Inspect<R, F>, _: &mut Self::Context) -> Self::Result {
        MessageResult((msg.0)(&mut self.s))
    }
}
