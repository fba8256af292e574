//! The Keyspace's side of ACL LOAD and ACL SAVE: their file work (commands::acl::FileJob) runs on the
//! Snapshotter's thread, the persistence actor that also reads the replicas' RDB file, while this actor waits
//! (`ctx.wait`: no other command runs meanwhile, as Redis does the work inside the command, but the thread is
//! free). Without a Snapshotter (persistence-available no) the job runs on the runtime's blocking pool.

use super::Keyspace;
use crate::actors::snapshotter::AclFile;
use crate::commands::acl::{finish_file_job, FileDone};
use crate::commands::Batch;
use actix::prelude::*;
use futures::future::LocalBoxFuture;
use tokio::sync::oneshot;

impl Keyspace {
    /// ACL LOAD / SAVE (its batch stopped right after it): have the file read or written elsewhere, then
    /// write the reply and run the rest of the pipeline.
    pub(super) fn run_acl_file(
        &mut self,
        slot: usize,
        batch: Batch,
        tx: oneshot::Sender<Batch>,
        ctx: &mut Context<Self>,
    ) {
        let Some(job) = self.s.acl.file_job.take() else {
            return self.rerun(slot, batch, tx, ctx);
        };
        let lost = job.lost("the thread doing the ACL file work is gone");
        let done: LocalBoxFuture<'static, FileDone> = match &self.rdb.snap {
            Some(snap) => {
                let sent = snap.send(AclFile(job));
                Box::pin(async move { sent.await.unwrap_or(lost) })
            }
            None => {
                let task = actix_rt::task::spawn_blocking(move || job.run());
                Box::pin(async move { task.await.unwrap_or(lost) })
            }
        };
        ctx.wait(done.into_actor(self).map(move |done, act, ctx| {
            crate::types::clock::refresh();
            let mut batch = batch;
            act.reply_into(slot, &mut batch, |s, out| {
                if s.clients.get(slot).is_some() {
                    finish_file_job(s, slot, done, out);
                }
            });
            // ACL LOAD replaced this client's user: it is closed once it has its reply (as exec_batch does after
            // a command).
            if act.s.clients.get(slot).is_none_or(|c| c.close_after_reply || c.killed) {
                batch.close = true;
                batch.done = batch.reqs.len();
            }
            act.rerun(slot, batch, tx, ctx);
        }));
    }
}
