//! Write turns for pushed output (connection layer, one gate per arbiter thread): a connection with pub/sub
//! messages, invalidations or MONITOR lines to write waits here for its turn, and the thread's flusher
//! grants turns a slice of the queue at a time, each slice after the runtime has polled the sockets.
//!
//! Why: a fan-out costs one write per subscriber, and on loopback TCP that write (the kernel's send and the
//! receiver's wake-up) is most of the server's CPU, far more than the message bytes. Redis writes every
//! client once per event-loop turn, so each write carries what one turn published (16 messages for a
//! 16-deep publisher pipeline). Here the writes of one round are spread over `PASSES` passes and input (a
//! publisher's next pipeline) is read and run between them: a subscriber still waiting for its turn then
//! takes every message published meanwhile in the same write. Under load writes grow and grow fewer; a
//! message to an idle thread waits for one pass over an empty queue (one socket poll), not for a timer.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

/// A round of turns takes this many passes (the queue's length / PASSES per pass)...
const PASSES: usize = 4;
/// ...and a pass grants at least this many turns.
const MIN_PER_PASS: usize = 32;

/// One waiting connection's turn.
#[derive(Default)]
struct Turn {
    granted: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

impl Turn {
    fn grant(&self) {
        self.granted.set(true);
        let w = self.waker.borrow_mut().take();
        if let Some(w) = w {
            w.wake();
        }
    }
}

/// The thread's queue of waiting connections, and its flusher.
#[derive(Default)]
struct Gate {
    waiting: RefCell<VecDeque<Rc<Turn>>>,
    flusher: RefCell<Option<Waker>>,
    /// A flusher task runs on this thread (it is spawned by the first turn, and a runtime that goes away
    /// takes it along: the next turn spawns another).
    running: Cell<bool>,
}

thread_local! {
    static GATE: Rc<Gate> = Rc::new(Gate::default());
}

/// Wait for this connection's turn to write its pushed output. Must run on a tokio LocalSet (an arbiter).
pub async fn turn() {
    let gate = GATE.with(|g| g.clone());
    if !gate.running.get() {
        gate.running.set(true);
        tokio::task::spawn_local(flusher(Running(gate.clone())));
    }
    let turn = Rc::new(Turn::default());
    gate.waiting.borrow_mut().push_back(turn.clone());
    let w = gate.flusher.borrow_mut().take();
    if let Some(w) = w {
        w.wake();
    }
    Granted(&turn).await
}

/// Resolves once the turn is granted.
struct Granted<'a>(&'a Turn);

impl Future for Granted<'_> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0.granted.get() {
            return Poll::Ready(());
        }
        *self.0.waker.borrow_mut() = Some(cx.waker().clone());
        Poll::Pending
    }
}

/// Resolves when some connection waits for a turn.
struct Waiting<'a>(&'a Gate);

impl Future for Waiting<'_> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0.waiting.borrow().is_empty() {
            *self.0.flusher.borrow_mut() = Some(cx.waker().clone());
            return Poll::Pending;
        }
        Poll::Ready(())
    }
}

/// The flusher's hold on its gate: when the task is dropped with its runtime, the gate is free for another
/// flusher and every waiting turn is granted, so that nothing waits on a task that is gone.
struct Running(Rc<Gate>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.running.set(false);
        self.0.flusher.borrow_mut().take();
        let waiting = std::mem::take(&mut *self.0.waiting.borrow_mut());
        for t in waiting {
            t.grant();
        }
    }
}

/// How many turns one pass grants when `waiting` connections wait.
fn per_pass(waiting: usize) -> usize {
    MIN_PER_PASS.max(waiting / PASSES)
}

/// The thread's flusher: after each socket poll, grant the next slice of turns in arrival order.
async fn flusher(gate: Running) {
    let gate = &gate.0;
    loop {
        Waiting(gate).await;
        // yield_now wakes this task only after the runtime polled the sockets: the input they brought is
        // read and run (and its messages join the queued output) before the writes granted here.
        tokio::task::yield_now().await;
        let n = per_pass(gate.waiting.borrow().len());
        for _ in 0..n {
            let next = gate.waiting.borrow_mut().pop_front();
            match next {
                Some(t) => t.grant(),
                None => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer task: takes a turn, then logs `i`.
    fn writer(i: i64, log: &Rc<RefCell<Vec<i64>>>) -> tokio::task::JoinHandle<()> {
        let log = log.clone();
        tokio::task::spawn_local(async move {
            turn().await;
            log.borrow_mut().push(i);
        })
    }

    /// Run `f` on a LocalSet of a fresh current-thread runtime.
    fn on_local<F: Future<Output = ()>>(f: F) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        tokio::task::LocalSet::new().block_on(&rt, f);
    }

    #[test]
    fn a_pass_grants_a_slice_of_the_queue_in_arrival_order() {
        assert_eq!(per_pass(0), MIN_PER_PASS);
        assert_eq!(per_pass(1000), 250);
        on_local(async {
            let order = Rc::new(RefCell::new(Vec::new()));
            let mut tasks = Vec::new();
            for i in 0..100 {
                tasks.push(writer(i, &order));
                // Each task queues its turn before the next starts.
                tokio::task::yield_now().await;
            }
            for t in tasks {
                t.await.unwrap();
            }
            assert_eq!(*order.borrow(), (0..100).collect::<Vec<_>>());
        });
    }

    #[test]
    fn input_that_arrives_between_passes_runs_before_the_next_slice() {
        on_local(async {
            // 200 writers wait: a pass grants 50 (200 / PASSES); then something else (a publisher's input)
            // gets to run before the second slice is granted.
            let log = Rc::new(RefCell::new(Vec::new()));
            let tasks: Vec<_> = (0..200).map(|i| writer(i, &log)).collect();
            // Let every writer queue its turn, then wait for the first grants.
            while log.borrow().is_empty() {
                tokio::task::yield_now().await;
            }
            log.borrow_mut().push(-1);
            for t in tasks {
                t.await.unwrap();
            }
            let log = log.borrow();
            let at = log.iter().position(|&x| x == -1).unwrap();
            assert!((MIN_PER_PASS..200).contains(&at), "granted {at} before the other task ran");
        });
    }

    #[test]
    fn a_runtime_that_goes_away_takes_its_flusher_and_the_next_runtime_gets_one() {
        on_local(async {
            turn().await;
            GATE.with(|g| assert!(g.running.get()));
        });
        // Dropped with its runtime: the gate does not count on it any more.
        GATE.with(|g| assert!(!g.running.get()));
        on_local(async {
            let t = tokio::time::timeout(std::time::Duration::from_secs(10), turn()).await;
            assert!(t.is_ok(), "a turn waited on a flusher that is gone");
        });
    }
}
