//! Evictor actor: the scheduling side of maxmemory eviction (Redis's eviction time proc). Every client
//! command evicts what it needs first, within `maxmemory-eviction-tenacity`'s time limit (commands/evict.rs);
//! when a run stops at that limit with memory still over, or maxmemory was just lowered, the Keyspace tells
//! the Evictor (`EvictionNeeded`), which asks the Keyspace for further bounded runs (`Evict`), one per
//! mailbox turn so that client batches go in between, until memory is under the limit or nothing more may
//! go. On each Cron tick it also checks the limit, so an idle server over it still converges.

use super::events::Tick;
use super::keyspace::{Evict, Keyspace};
use crate::commands::evict::EvictRun;
use crate::commands::Knobs;
use actix::prelude::*;
use std::sync::atomic::Ordering;
use std::sync::Arc;

pub struct Evictor {
    pub keyspace: Addr<Keyspace>,
    pub knobs: Arc<Knobs>,
    /// A run is in flight.
    busy: bool,
    /// Asked again while a run was in flight: run once more after it.
    again: bool,
    /// The last run's outcome.
    pub last: EvictRun,
}

impl Evictor {
    pub fn new(keyspace: Addr<Keyspace>, knobs: Arc<Knobs>) -> Evictor {
        Evictor { keyspace, knobs, busy: false, again: false, last: EvictRun::default() }
    }

    /// Ask the Keyspace for one bounded run; go on while it reports that it stopped at its time limit.
    fn run(&mut self, ctx: &mut Context<Self>) {
        if self.busy {
            self.again = true;
            return;
        }
        self.busy = true;
        self.keyspace
            .send(Evict)
            .into_actor(self)
            .map(|res, act, ctx| {
                act.busy = false;
                let more = match res {
                    Ok(run) => {
                        act.last = run;
                        run.time_limit_hit
                    }
                    Err(_) => false, // the Keyspace is gone: the server is stopping
                };
                if more || std::mem::take(&mut act.again) {
                    // Through the mailbox: the Keyspace serves the batches queued meanwhile first.
                    ctx.notify(EvictionNeeded);
                }
            })
            .wait(ctx);
    }
}

impl Actor for Evictor {
    type Context = Context<Self>;
}

/// Memory is over the limit and a command's run could not bring it back (or maxmemory changed): evict
/// between batches.
#[derive(Message, Clone, Copy)]
#[rtype(result = "()")]
pub struct EvictionNeeded;

impl Handler<EvictionNeeded> for Evictor {
    type Result = ();

    /// Start (or continue) runs until the Keyspace reports memory under the limit or nothing evictable.
    fn handle(&mut self, _: EvictionNeeded, ctx: &mut Self::Context) {
        self.run(ctx);
    }
}

impl Handler<Tick> for Evictor {
    type Result = ();

    /// The cron's check: over the limit of an evicting policy (used memory as the allocator counts it; the
    /// Keyspace subtracts what does not count), ask for a run.
    fn handle(&mut self, _: Tick, ctx: &mut Self::Context) {
        let limit = self.knobs.evict_limit.load(Ordering::Relaxed);
        if limit > 0 && crate::alloc::used_memory() as u64 > limit {
            self.run(ctx);
        }
    }
}
