//! Lazy freeing (commands layer, owned by `State` on the Keyspace's thread): UNLINK, and DEL under
//! `lazyfree-lazy-user-del`, hand a big deleted value to a background thread instead of freeing it on the
//! Keyspace's thread, as Redis's lazyfree.c hands it to a BIO thread. What counts as big is Redis's
//! lazyfreeGetFreeEffort over LAZYFREE_THRESHOLD; INFO's `lazyfree_pending_objects` and `lazyfreed_objects`
//! count the values handed over, and CONFIG RESETSTAT zeroes the second. Whole databases a replica's full
//! sync replaced go the same way (Redis's emptyDbAsync), counted by their keys.

use crate::types::value::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::Arc;

/// Redis's LAZYFREE_THRESHOLD: values whose free effort is above this are freed in the background.
pub const LAZYFREE_THRESHOLD: usize = 64;

/// Redis's lazyfreeGetFreeEffort: about how many allocations freeing `v` takes. Packed encodings (listpack,
/// intset, strings) are one allocation; a list counts its quicklist nodes, a hashtable set or hash and a
/// skiplist zset their elements, a stream its rax nodes plus, per group, one allocation and the first
/// group's PEL size (Redis's estimate, kept as is).
pub fn free_effort(v: &Value) -> usize {
    match v {
        Value::List(l) => l.node_count(),
        Value::Set(s) if s.encoding() == "hashtable" => s.len(),
        Value::ZSet(z) if z.encoding() == "skiplist" => z.len(),
        Value::Hash(h) if h.encoding() == "hashtable" => h.len(),
        Value::Stream(s) => {
            let groups = s.groups.len();
            let first_pel = s.groups.values().next().map_or(0, |g| g.pel.len());
            s.rax_nodes() + groups * (1 + first_pel)
        }
        _ => 1,
    }
}

/// What the worker frees, and how many objects that counts for.
enum Garbage {
    Value(Value),
    Dbs(Vec<crate::types::db::Db>),
}

/// The background freer: a thread started at the first big value, fed through a channel, and its counters.
#[derive(Default)]
pub struct LazyFree {
    /// The worker's queue; None until the first value is handed over.
    tx: Option<Sender<(Garbage, u64)>>,
    /// Values handed over and not freed yet (INFO lazyfree_pending_objects).
    pending: Arc<AtomicU64>,
    /// Values the worker has freed since the last CONFIG RESETSTAT (INFO lazyfreed_objects).
    freed: Arc<AtomicU64>,
}

impl LazyFree {
    /// Free `v`: in the background when its effort passes the threshold, else right here (Redis's
    /// freeObjAsync). A worker that cannot be started leaves the value to be freed here.
    pub fn free(&mut self, v: Value) {
        if free_effort(&v) <= LAZYFREE_THRESHOLD {
            return;
        }
        self.hand_over(Garbage::Value(v), 1);
    }

    /// Free whole databases in the background (a replica's full sync replaced them), counted by their keys.
    pub fn free_dbs(&mut self, dbs: Vec<crate::types::db::Db>) {
        let keys: u64 = dbs.iter().map(|d| d.len() as u64).sum();
        if keys > 0 {
            self.hand_over(Garbage::Dbs(dbs), keys);
        }
    }

    /// Give the worker `g` (`n` objects), starting it first if needed; freed here when it cannot run.
    fn hand_over(&mut self, g: Garbage, n: u64) {
        if self.tx.is_none() {
            self.tx = self.start();
        }
        let Some(tx) = &self.tx else { return };
        self.pending.fetch_add(n, Ordering::Relaxed);
        if let Err(back) = tx.send((g, n)) {
            // The worker is gone (it cannot be, short of a panic in a destructor): free here.
            self.pending.fetch_sub(n, Ordering::Relaxed);
            drop(back.0);
        }
    }

    /// The worker thread: drops what it receives, then counts it freed; it ends with the sender.
    fn start(&self) -> Option<Sender<(Garbage, u64)>> {
        let (tx, rx) = channel::<(Garbage, u64)>();
        let (pending, freed) = (self.pending.clone(), self.freed.clone());
        std::thread::Builder::new()
            .name("lazyfree".into())
            .spawn(move || {
                for (g, n) in rx {
                    drop(g);
                    pending.fetch_sub(n, Ordering::Relaxed);
                    freed.fetch_add(n, Ordering::Relaxed);
                }
            })
            .ok()?;
        Some(tx)
    }

    /// INFO lazyfree_pending_objects.
    pub fn pending(&self) -> u64 {
        self.pending.load(Ordering::Relaxed)
    }

    /// INFO lazyfreed_objects.
    pub fn freed(&self) -> u64 {
        self.freed.load(Ordering::Relaxed)
    }

    /// CONFIG RESETSTAT (Redis's lazyfreeResetStats).
    pub fn reset_stats(&self) {
        self.freed.store(0, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::testutil::{new, run_raw};
    use std::time::{Duration, Instant};

    fn wait_freed(l: &LazyFree, n: u64) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while (l.freed() != n || l.pending() != 0) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
        assert_eq!((l.pending(), l.freed()), (0, n));
    }

    #[test]
    fn whole_databases_are_freed_in_the_background_counted_by_keys() {
        let mut t = new();
        run_raw(&mut t, &["set", "a", "1"]);
        run_raw(&mut t, &["set", "b", "2"]);
        let dbs: Vec<crate::types::db::Db> = t.s.dbs.iter().map(|d| d.empty_like()).collect();
        let full = std::mem::replace(&mut t.s.dbs, dbs);
        let mut l = LazyFree::default();
        l.free_dbs(t.s.dbs.iter().map(|d| d.empty_like()).collect());
        assert_eq!((l.pending(), l.freed()), (0, 0), "empty databases are not handed over");
        l.free_dbs(full);
        wait_freed(&l, 2);
    }

    #[test]
    fn free_effort_follows_redis() {
        let mut t = new();
        run_raw(&mut t, &["set", "s", "v"]);
        run_raw(&mut t, &["sadd", "small", "1", "2"]);
        let many: Vec<String> = (0..200).map(|i| format!("m{i}")).collect();
        let mut sadd = vec!["sadd", "big"];
        sadd.extend(many.iter().map(|s| s.as_str()));
        run_raw(&mut t, &sadd);
        let effort =
            |t: &mut crate::commands::testutil::T, k: &str| free_effort(&t.s.dbs[0].peek(k.as_bytes()).unwrap().value);
        assert_eq!(effort(&mut t, "s"), 1);
        assert_eq!(effort(&mut t, "small"), 1);
        assert_eq!(effort(&mut t, "big"), 200);
        // A stream: rax nodes, then per group one allocation plus the first group's PEL.
        run_raw(&mut t, &["config", "set", "stream-node-max-entries", "5"]);
        for i in 0..400 {
            run_raw(&mut t, &["xadd", "st", "*", "f", &i.to_string()]);
        }
        let base = effort(&mut t, "st");
        assert!(base > LAZYFREE_THRESHOLD, "{base}");
        run_raw(&mut t, &["xgroup", "create", "st", "g", "0"]);
        run_raw(&mut t, &["xreadgroup", "group", "g", "c", "count", "3", "streams", "st", ">"]);
        assert_eq!(effort(&mut t, "st"), base + 4);
    }

    #[test]
    fn big_values_are_freed_in_the_background_and_counted() {
        let mut t = new();
        let many: Vec<String> = (0..200).map(|i| format!("m{i}")).collect();
        let mut sadd = vec!["sadd", "big"];
        sadd.extend(many.iter().map(|s| s.as_str()));
        run_raw(&mut t, &sadd);
        run_raw(&mut t, &["sadd", "small", "a"]);
        assert_eq!(run_raw(&mut t, &["unlink", "big", "small", "nosuch"]), ":2\r\n");
        wait_freed(&t.s.lazyfree, 1);
        // DEL frees in place unless lazyfree-lazy-user-del.
        run_raw(&mut t, &sadd);
        assert_eq!(run_raw(&mut t, &["del", "big"]), ":1\r\n");
        wait_freed(&t.s.lazyfree, 1);
        run_raw(&mut t, &["config", "set", "lazyfree-lazy-user-del", "yes"]);
        run_raw(&mut t, &sadd);
        assert_eq!(run_raw(&mut t, &["del", "big"]), ":1\r\n");
        wait_freed(&t.s.lazyfree, 2);
        assert_eq!(run_raw(&mut t, &["config", "resetstat"]), "+OK\r\n");
        assert_eq!(t.s.lazyfree.freed(), 0);
    }
}
