//! Expiry actor: decides when and how much active expiry to do (Redis's activeExpireCycle policy) and asks
//! the Keyspace to do it. Each tick runs a slow cycle bounded to a share of the tick; when a cycle had to
//! stop at its time limit (many stale keys), short fast cycles follow between ticks until it catches up.

use super::events::Tick;
use super::keyspace::{ActiveExpire, ExpireReport, Keyspace};
use crate::commands::Knobs;
use actix::prelude::*;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// Keys sampled per database per loop at effort 1 (ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP).
const KEYS_PER_LOOP: usize = 20;
/// Share of each tick the slow cycle may use, percent, at effort 1.
const SLOW_TIME_PERC: u64 = 25;
/// A fast cycle's budget (ACTIVE_EXPIRE_CYCLE_FAST_DURATION).
const FAST_DURATION: Duration = Duration::from_micros(1000);
/// Keep looping on a database while more than this percent of a sample was expired, at effort 1.
const ACCEPTABLE_STALE: usize = 10;

pub struct Expiry {
    pub keyspace: Addr<Keyspace>,
    pub knobs: Arc<Knobs>,
    busy: bool,
    /// The last cycle hit its time limit: run fast cycles until one does not.
    behind: bool,
    pub last: ExpireReport,
}

impl Expiry {
    pub fn new(keyspace: Addr<Keyspace>, knobs: Arc<Knobs>) -> Expiry {
        Expiry { keyspace, knobs, busy: false, behind: false, last: ExpireReport::default() }
    }

    fn cycle(&mut self, budget: Duration, ctx: &mut Context<Self>) {
        if self.busy {
            return;
        }
        self.busy = true;
        let effort = self.knobs.active_expire_effort.load(Ordering::Relaxed).clamp(1, 10) as usize - 1;
        let msg = ActiveExpire {
            budget,
            samples: KEYS_PER_LOOP + KEYS_PER_LOOP / 4 * effort,
            stale_pct: ACCEPTABLE_STALE - effort,
        };
        self.keyspace
            .send(msg)
            .into_actor(self)
            .map(|res, act, ctx| {
                act.busy = false;
                if let Ok(rep) = res {
                    act.last = rep;
                    act.behind = rep.time_limit_hit;
                    if act.behind {
                        // Catch up between ticks, in short slices that keep latency low.
                        ctx.run_later(Duration::from_millis(2), |act, ctx| act.cycle(FAST_DURATION, ctx));
                    }
                }
            })
            .wait(ctx);
    }
}

impl Actor for Expiry {
    type Context = Context<Self>;
}

impl Handler<Tick> for Expiry {
    type Result = ();

    fn handle(&mut self, _: Tick, ctx: &mut Self::Context) {
        let hz = self.knobs.hz.load(Ordering::Relaxed).clamp(1, 500) as u64;
        let effort = self.knobs.active_expire_effort.load(Ordering::Relaxed).clamp(1, 10) as u64 - 1;
        let perc = SLOW_TIME_PERC + 2 * effort;
        let budget = Duration::from_micros(1_000_000 * perc / 100 / hz);
        self.cycle(budget, ctx);
    }
}
