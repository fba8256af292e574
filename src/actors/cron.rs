//! Cron actor: the server's heartbeat. Sends `Tick` to its subscribers (Keyspace, Expiry, Evictor) `hz` times a
//! second, re-reading `hz` every tick so CONFIG SET hz takes effect at once.

use super::events::Tick;
use crate::commands::Knobs;
use actix::prelude::*;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

pub struct Cron {
    pub targets: Vec<Recipient<Tick>>,
    pub knobs: Arc<Knobs>,
}

impl Cron {
    fn schedule(&self, ctx: &mut Context<Self>) {
        let hz = self.knobs.hz.load(Ordering::Relaxed).clamp(1, 500);
        ctx.run_later(Duration::from_micros(1_000_000 / hz as u64), |act, ctx| {
            for t in &act.targets {
                t.do_send(Tick);
            }
            act.schedule(ctx);
        });
    }
}

impl Actor for Cron {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.schedule(ctx);
    }
}
