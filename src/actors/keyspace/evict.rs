//! The Keyspace's side of eviction: the runs the Evictor actor asks for (`Evict`), and telling the Evictor
//! after a batch when a command's run stopped at its time limit or maxmemory changed (commands/evict.rs
//! holds the eviction loop itself); and client eviction's wake-up from connections whose buffers grew
//! (`MemGrew`, commands/client_mem.rs).

use super::Keyspace;
use crate::actors::evictor::EvictionNeeded;
use crate::commands::client_mem;
use crate::commands::evict::{perform_evictions, EvictRun};
use crate::types::clock;
use actix::prelude::*;

/// One bounded eviction run, asked by the Evictor.
#[derive(Message)]
#[rtype(result = "EvictRun")]
pub struct Evict;

impl<A, M> actix::dev::MessageResponse<A, M> for EvictRun
where
    A: Actor,
    M: Message<Result = EvictRun>,
{
    fn handle(self, _: &mut A::Context, tx: Option<actix::dev::OneshotSender<EvictRun>>) {
        if let Some(tx) = tx {
            let _ = tx.send(self);
        }
    }
}

impl Handler<Evict> for Keyspace {
    type Result = EvictRun;

    /// Evict within the time limit; the DELs go to the feed and the `evicted` events to subscribers now.
    fn handle(&mut self, _: Evict, ctx: &mut Self::Context) -> EvictRun {
        if self.s.config.maxmemory == 0 {
            self.s.evict.running = false;
            return EvictRun::default();
        }
        clock::refresh();
        let run = perform_evictions(&mut self.s, true);
        if run.evicted > 0 {
            self.flush_feed(ctx);
            self.send_deliveries();
        }
        // This run's own request for more is the reply itself.
        self.s.evict.wanted = false;
        run
    }
}

/// The Evictor's address, given once both actors are started.
#[derive(Message)]
#[rtype(result = "()")]
pub struct AttachEvictor(pub Recipient<EvictionNeeded>);

impl Handler<AttachEvictor> for Keyspace {
    type Result = ();

    /// Keep the Evictor's address, and hand it any run maxmemory at start-up asked for.
    fn handle(&mut self, msg: AttachEvictor, _: &mut Self::Context) {
        self.evictor = Some(msg.0);
        self.tell_evictor();
    }
}

impl Keyspace {
    /// After a batch: when the eviction state asks for the Evictor, tell it.
    #[inline]
    pub(super) fn tell_evictor(&mut self) {
        if self.s.evict.wanted {
            if let Some(e) = &self.evictor {
                self.s.evict.wanted = false;
                e.do_send(EvictionNeeded);
            }
        }
    }
}

/// A connection's buffers grew well past what the Keyspace last measured (a big request arriving): with
/// `maxmemory-clients` on, measure the client and close the largest clients while the limit is passed.
#[derive(Message)]
#[rtype(result = "()")]
pub struct MemGrew {
    pub slot: usize,
}

impl Handler<MemGrew> for Keyspace {
    type Result = ();

    /// Measure, evict, and disconnect the evicted clients now (not after some later batch).
    fn handle(&mut self, msg: MemGrew, _: &mut Self::Context) {
        if !self.s.evict.clients.active() {
            return;
        }
        client_mem::update(&mut self.s, msg.slot, 0, false);
        client_mem::evict(&mut self.s);
        self.disconnect_killed();
    }
}
