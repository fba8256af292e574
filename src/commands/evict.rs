//! Eviction over the Keyspace's data (commands layer, run by the Keyspace actor): Redis's performEvictions.
//! Before each client command (`before_command`, from `exec_request`) and whenever the Evictor actor asks
//! (between batches), keys are evicted across every database until used memory, less what Redis does not
//! count (replica output, the feed buffer), is back under `maxmemory`, or the run's time limit
//! (`maxmemory-eviction-tenacity`) passes: then the Evictor is asked to go on between batches. Each eviction
//! propagates as DEL (UNLINK with `lazyfree-lazy-eviction`), touches watchers, publishes `evicted` and counts
//! in INFO `evicted_keys`. A command that may grow memory is refused with -OOM only when nothing more can
//! be evicted. Victims are chosen with types/evict.rs (policies, LFU counter, pool).

use super::client::Client;
use super::spec::*;
use super::state::State;
use super::{multi, pubsub, scripting};
use crate::config::Config;
use crate::types::clock;
use crate::types::db::Entry;
use crate::types::evict::{score, time_limit_us, EvictionPool, LfuParams, Policy, ScoreClock};
use std::time::Instant;

/// What an eviction run achieved (performEvictions' EVICT_OK / EVICT_RUNNING / EVICT_FAIL).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum EvictResult {
    /// Under the limit (or eviction does not apply now).
    #[default]
    Ok,
    /// Still over, but the Evictor goes on between batches: not out of memory yet.
    Running,
    /// Over the limit with nothing (more) that may be evicted.
    Fail,
}

/// One eviction run's outcome, for the Evictor.
#[derive(Clone, Copy, Debug, Default)]
pub struct EvictRun {
    pub result: EvictResult,
    pub evicted: u64,
    /// The run stopped at its time limit with memory still over: run again soon.
    pub time_limit_hit: bool,
}

/// The Keyspace's eviction state: the policy and its settings (from the config), the pool of candidates,
/// and what the last runs left for the next command, the Keyspace and INFO.
#[derive(Debug, Default)]
pub struct Eviction {
    pub policy: Policy,
    /// `maxmemory-samples`: keys sampled per database per pool refill.
    pub samples: usize,
    /// `maxmemory-eviction-tenacity`.
    pub tenacity: u32,
    /// `lazyfree-lazy-eviction`: propagate UNLINK instead of DEL.
    pub lazy: bool,
    /// `replica-ignore-maxmemory yes`: while this server is a replica it does not evict, its master does.
    pub ignore: bool,
    /// `lfu-decay-time`, for victim scores.
    pub lfu_decay_time: u32,
    pub pool: EvictionPool,
    /// The database the random policies look at next (each run starts one further, as Redis's next_db).
    next_db: usize,
    /// The key being evicted (a buffer reused from eviction to eviction).
    victim: Vec<u8>,
    /// The running client command began over the limit with nothing left to evict (Redis's
    /// pre_command_oom_state): a command that may grow memory is refused, scripts check it for theirs.
    pub oom: bool,
    /// Tell the Evictor after this batch: a run hit its time limit, or maxmemory was just set.
    pub wanted: bool,
    /// The Evictor is evicting between batches (Redis's isEvictionProcRunning).
    pub running: bool,
    /// When memory went over the limit without a run bringing it back (INFO
    /// current_eviction_exceeded_time).
    exceeded_since: Option<Instant>,
    /// Total ms spent over the limit (INFO total_eviction_exceeded_time).
    pub exceeded_total_ms: u64,
    /// Clients closed by `maxmemory-clients` (INFO evicted_clients).
    pub evicted_clients: u64,
    /// `maxmemory-clients`: the limit and the clients' memory buckets (client_mem.rs).
    pub clients: super::client_mem::ClientEviction,
}

impl Eviction {
    /// Take the eviction settings from `c` (start-up and every CONFIG SET).
    pub fn configure(&mut self, c: &Config) {
        let policy = Policy::from_name(&c.maxmemory_policy);
        if policy != self.policy {
            // Scores of another policy mean nothing now.
            self.pool.clear();
            self.policy = policy;
        }
        let int = |name: &str, default: u32| c.get(name).and_then(|v| v.parse::<u32>().ok()).unwrap_or(default);
        let yes = |name: &str| c.get(name).as_deref() == Some("yes");
        self.samples = c.maxmemory_samples.max(1) as usize;
        self.tenacity = int("maxmemory-eviction-tenacity", 10);
        self.lfu_decay_time = int("lfu-decay-time", 1);
        self.lazy = yes("lazyfree-lazy-eviction");
        self.ignore = yes("replica-ignore-maxmemory");
        self.clients.configure(c);
        if c.maxmemory == 0 {
            self.oom = false;
        } else {
            // As Redis's updateMaxmemory: start evicting now if the new limit is below the usage.
            self.wanted = true;
        }
    }

    /// The LFU parameters the databases update access data with.
    pub fn lfu_params(c: &Config) -> LfuParams {
        let int = |name: &str, default: u32| c.get(name).and_then(|v| v.parse::<u32>().ok()).unwrap_or(default);
        LfuParams { log_factor: int("lfu-log-factor", 10), decay_time: int("lfu-decay-time", 1) }
    }

    /// INFO current_eviction_exceeded_time (ms).
    pub fn current_exceeded_ms(&self) -> u64 {
        self.exceeded_since.map_or(0, |t| t.elapsed().as_millis() as u64)
    }

    /// INFO total_eviction_exceeded_time (ms), the current stretch included.
    pub fn total_exceeded_ms(&self) -> u64 {
        self.exceeded_total_ms + self.current_exceeded_ms()
    }

    /// CONFIG RESETSTAT.
    pub fn reset_stats(&mut self) {
        self.exceeded_total_ms = 0;
        self.evicted_clients = 0;
        if self.exceeded_since.is_some() {
            self.exceeded_since = Some(Instant::now());
        }
    }
}

/// Memory that does not count toward maxmemory (freeMemoryGetNotCountedMemory): the replication buffers
/// beyond `repl-backlog-size` (what replicas hold or have not written yet; the backlog itself stays
/// bounded, so it counts), and the feed's buffer (Redis's AOF buffer), so that propagating evictions cannot
/// feed more evictions.
pub fn not_counted(s: &State) -> usize {
    let mut n = 0;
    // Without a backlog or replicas there are no replication buffers (and `buffers` would parse the
    // configured backlog size, on every write while memory is at the limit).
    if s.prop.backlog.is_some() || s.prop.replicas > 0 {
        let (buffers, size) = super::replication::buffers(s);
        n = buffers.saturating_sub(size);
    }
    if s.prop.feed.enabled {
        n += s.prop.feed.buf.capacity();
    }
    n
}

/// Bytes to free to be back under maxmemory, or None when under it (getMaxmemoryState).
pub fn over_limit(s: &State) -> Option<usize> {
    let max = s.config.maxmemory;
    if max == 0 {
        return None;
    }
    let reported = crate::alloc::used_memory() as u64;
    if reported <= max {
        return None;
    }
    // Disconnected clients' buffers are on their way out (client_mem.rs `Freeing`), and so are the frames
    // delivered to inboxes and not yet taken for writing (Redis writes a batch's output before it reads the
    // next command): counted, an eviction's invalidations fed the next command's eviction before they were
    // written (the suite's eviction feedback-loop test). The inboxes count a frame once per receiver; what
    // it holds is the last batch's distinct frames at most.
    let in_flight = s.knobs.inbox_bytes.load(std::sync::atomic::Ordering::Relaxed).min(s.pubsub.outbox.last_unique);
    let used = reported.saturating_sub((not_counted(s) + s.evict.clients.freeing.bytes() + in_flight) as u64);
    (used > max).then(|| (used - max) as usize)
}

/// May keys be evicted now (isSafeToPerformEvictions)? Not under a busy script, while loading, on a replica
/// that ignores maxmemory, or while clients are paused (the dataset must stay still).
fn safe_to_evict(s: &State) -> bool {
    s.busy.is_none()
        && !s.persist.aof.loading
        && !(s.evict.ignore && s.repl.master.is_some())
        && s.server.pause.is_none_or(|p| p.until_ms <= clock::now_ms())
}

/// Before a client's command, at top level (processCommand): evict what must go, and note whether the command
/// starts out of memory. Called only with maxmemory set.
#[inline]
pub fn before_command(s: &mut State) {
    if crate::alloc::used_memory() as u64 <= s.config.maxmemory && s.evict.exceeded_since.is_none() {
        s.evict.oom = false;
        return;
    }
    s.evict.oom = perform_evictions(s, false).result == EvictResult::Fail;
}

/// Is `spec` refused when the command starts out of memory (processCommand's reject_cmd_on_oom)? Commands
/// that may grow memory (DENYOOM, with a script's declared flags), an EXEC holding one, and inside MULTI
/// every command but EXEC, DISCARD, QUIT and RESET (queueing costs memory too).
pub fn refused_on_oom(s: &State, client: &Client, spec: &'static CommandSpec, argv: &super::Argv<'_>) -> bool {
    if client.multi.is_some() && !matches!(spec.name, "exec" | "discard" | "quit" | "reset") {
        return true;
    }
    if spec.name == "exec" {
        return client.multi.as_deref().is_some_and(|q| multi::queued_flags(s, q) & DENYOOM != 0);
    }
    let flags = scripting::command_flags(s, spec, argv);
    flags & DENYOOM != 0
}

/// Evict until memory is under the limit, nothing more may go, or the time limit passes
/// (performEvictions). `from_evictor`: the Evictor's run between batches, which ends the Evictor's work
/// unless it hit the time limit again.
pub fn perform_evictions(s: &mut State, from_evictor: bool) -> EvictRun {
    let mut run = EvictRun::default();
    if !safe_to_evict(s) {
        return run;
    }
    let Some(to_free) = over_limit(s) else {
        note_exceeded(s, EvictResult::Ok);
        if from_evictor {
            s.evict.running = false;
        }
        return run;
    };
    if s.evict.policy == Policy::NoEviction {
        run.result = EvictResult::Fail;
        note_exceeded(s, run.result);
        if from_evictor {
            s.evict.running = false;
        }
        return run;
    }
    let limit_us = time_limit_us(s.evict.tenacity);
    // A TSC read (quanta), as exec's command timing. With the latency monitor off nothing needs the clock
    // before the 16th eviction, and most runs evict one key: then the clock starts at the first check, and
    // the time limit counts from there (16 small keys take microseconds; the default limit is 500 µs, and
    // tenacity 0's limit of 0 still stops the run at that first check, by `>=`).
    let timed = s.obs.latency.threshold_ms != 0;
    let mut start = timed.then(quanta::Instant::now);
    let mut freed: i64 = 0;
    let mut result = None;
    while freed < to_free as i64 {
        let Some((db, entry)) = choose_victim(s) else {
            result = Some(EvictResult::Fail);
            break;
        };
        freed += evict_victim(s, db, entry);
        run.evicted += 1;
        if run.evicted % 16 == 0 {
            // Memory freed elsewhere (a replica's output written) may have done the job already.
            if s.evict.lazy && over_limit(s).is_none() {
                break;
            }
            if start.get_or_insert_with(quanta::Instant::now).elapsed().as_micros() as u64 >= limit_us {
                // Leave the rest to the Evictor, between batches, so that this command is not held longer.
                run.time_limit_hit = true;
                s.evict.running = true;
                s.evict.wanted = true;
                break;
            }
        }
    }
    run.result = match result {
        Some(r) => r,
        None if s.evict.running => EvictResult::Running,
        None => EvictResult::Ok,
    };
    if from_evictor && !run.time_limit_hit {
        s.evict.running = false;
    }
    note_exceeded(s, run.result);
    if let Some(start) = start.filter(|_| timed) {
        s.obs.latency.add_sample_if_needed("eviction-cycle", start.elapsed().as_millis() as u64);
    }
    run
}

/// Track how long memory stays over the limit (INFO *_eviction_exceeded_time).
fn note_exceeded(s: &mut State, result: EvictResult) {
    let e = &mut s.evict;
    match result {
        EvictResult::Ok => {
            if let Some(t) = e.exceeded_since.take() {
                e.exceeded_total_ms += t.elapsed().as_millis() as u64;
            }
        }
        _ => {
            e.exceeded_since.get_or_insert_with(Instant::now);
        }
    }
}

/// Pick the next victim, take it out of its database (one lookup: the check that a pool candidate still
/// exists is its removal) and copy its key into `s.evict.victim`; its database and entry, or None when no
/// key may be evicted.
fn choose_victim(s: &mut State) -> Option<(usize, Box<Entry>)> {
    let policy = s.evict.policy;
    let all = policy.all_keys();
    let ndbs = s.dbs.len();
    let State { dbs, evict, .. } = s;
    let Eviction { pool, victim, next_db, samples, lfu_decay_time, .. } = evict;
    if !policy.uses_pool() {
        // Random policies: one random key, from the next database that has any (a run visits them in turn).
        for _ in 0..ndbs {
            *next_db = (*next_db + 1) % ndbs;
            let db = &mut dbs[*next_db];
            let key = if all { db.random_stored_key() } else { db.random_volatile_key() };
            if let Some(k) = key {
                victim.clear();
                victim.extend_from_slice(k);
                return db.remove(victim).map(|e| (*next_db, e));
            }
        }
        return None;
    }
    let clock = ScoreClock::at(clock::now_ms(), *lfu_decay_time);
    loop {
        // Refill the pool from every database, so that the choice is global, not per database.
        let mut total = 0;
        for (i, db) in dbs.iter().enumerate() {
            let n = if all { db.len() } else { db.expires_count() };
            if n == 0 {
                continue;
            }
            total += n;
            db.sample(*samples, !all, |e, at| pool.offer(i, &e.key, score(policy, e.meta(), at, &clock)));
        }
        if total == 0 {
            return None;
        }
        let mut chosen = None;
        pool.take_best(|d, k| {
            // A candidate deleted since it was sampled (or whose TTL went) is a ghost: try the next.
            if !all && dbs[d].stored_expire(k) == 0 {
                return false;
            }
            let Some(e) = dbs[d].remove(k) else { return false };
            victim.clear();
            victim.extend_from_slice(k);
            chosen = Some((d, e));
            true
        });
        if chosen.is_some() {
            return chosen;
        }
    }
}

/// Evict `s.evict.victim`, taken out of database `db` as `entry`, with everything Redis does around it;
/// returns the bytes freed (the used memory before minus after freeing it; may be negative).
fn evict_victim(s: &mut State, db: usize, entry: Box<Entry>) -> i64 {
    let key = std::mem::take(&mut s.evict.victim);
    let before = crate::alloc::used_memory() as i64;
    let timed = s.obs.latency.threshold_ms != 0;
    let t0 = timed.then(Instant::now);
    drop(entry);
    if let Some(t0) = t0 {
        s.obs.latency.add_sample_if_needed("eviction-del", t0.elapsed().as_millis() as u64);
    }
    let freed = before - crate::alloc::used_memory() as i64;
    s.stats.evicted_keys += 1;
    // signalModifiedKey: transactions watching it fail. Blocked clients are not woken: nothing was added.
    if !s.clients.watched_keys.is_empty() {
        multi::touch_watched(s, db, &key);
    }
    // Caches holding it are told; with no modifying client, as Redis (BCAST NOLOOP clients hear of it too).
    if s.tracking.watching() {
        super::tracking::invalidate(s, &key, 0, true);
    }
    pubsub::evicted_event(s, &key, db);
    let cmd: &[u8] = if s.evict.lazy { b"UNLINK" } else { b"DEL" };
    s.prop.feed.command(db, &[cmd, &key]);
    s.evict.victim = key;
    freed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::testutil::{self, run_raw};

    /// A limit `extra` bytes above what is used now.
    fn limit_above_now(extra: u64) -> u64 {
        crate::alloc::used_memory() as u64 + extra
    }

    #[test]
    fn volatile_policy_evicts_only_keys_with_ttl_and_propagates_del() {
        let mut t = testutil::new();
        super::super::set_feed_enabled(&mut t.s, true);
        for i in 0..200 {
            run_raw(&mut t, &["set", &format!("p{i}"), "v"]);
            run_raw(&mut t, &["set", &format!("v{i}"), "v", "ex", "1000"]);
        }
        t.s.prop.feed.buf.clear();
        t.s.config.maxmemory_policy = "volatile-lru".into();
        // No time limit (tenacity 100): this test is about which keys go, and a loaded test machine can pass
        // the default 500 µs before all 200 are out.
        t.s.config.set("maxmemory-eviction-tenacity", "100").unwrap();
        // A limit below the usage: everything evictable goes, then nothing more may.
        t.s.config.maxmemory = 1;
        t.s.apply_config();
        let run = perform_evictions(&mut t.s, false);
        assert_eq!(run.result, EvictResult::Fail);
        assert_eq!(run.evicted, 200);
        assert_eq!(t.s.dbs[0].len(), 200);
        assert_eq!(t.s.dbs[0].expires_count(), 0);
        assert_eq!(t.s.stats.evicted_keys, 200);
        let feed = String::from_utf8_lossy(&t.s.prop.feed.buf).into_owned();
        assert_eq!(feed.matches("$3\r\nDEL\r\n").count(), 200, "{feed}");
        assert!(!feed.contains("\r\np"), "a persistent key was propagated: {feed}");
        // The next write starts out of memory: refused; reads go on.
        assert_eq!(run_raw(&mut t, &["set", "x", "1"]), "-OOM command not allowed when used memory > 'maxmemory'.\r\n");
        assert_eq!(run_raw(&mut t, &["get", "p1"]), "$1\r\nv\r\n");
        t.s.config.maxmemory = 0;
        t.s.apply_config();
        assert_eq!(run_raw(&mut t, &["set", "x", "1"]), "+OK\r\n");
    }

    #[test]
    fn allkeys_policies_evict_before_the_command_and_lazy_propagates_unlink() {
        for policy in ["allkeys-lru", "allkeys-lfu", "allkeys-random"] {
            let mut t = testutil::new();
            super::super::set_feed_enabled(&mut t.s, true);
            t.s.config.set("lazyfree-lazy-eviction", "yes").unwrap();
            // No time limit (tenacity 100), as above: the test is about order and propagation.
            t.s.config.set("maxmemory-eviction-tenacity", "100").unwrap();
            t.s.config.maxmemory_policy = policy.into();
            t.s.apply_config();
            for i in 0..100 {
                run_raw(&mut t, &["set", &format!("k{i}"), "v"]);
            }
            t.s.prop.feed.buf.clear();
            t.s.config.maxmemory = 1;
            t.s.apply_config();
            // The command evicts everything first, then is refused: nothing is left to free.
            assert!(run_raw(&mut t, &["set", "x", "1"]).starts_with("-OOM"), "{policy}");
            assert_eq!(t.s.dbs[0].len(), 0, "{policy}");
            let feed = String::from_utf8_lossy(&t.s.prop.feed.buf).into_owned();
            assert_eq!(feed.matches("$6\r\nUNLINK\r\n").count(), 100, "{policy}");
            assert!(run_raw(&mut t, &["info", "stats"]).contains("\r\nevicted_keys:100\r\n"), "{policy}");
        }
    }

    #[test]
    fn under_the_limit_nothing_is_evicted_and_noeviction_only_refuses() {
        let mut t = testutil::new();
        for i in 0..50 {
            run_raw(&mut t, &["set", &format!("k{i}"), "v"]);
        }
        t.s.config.maxmemory = limit_above_now(64 << 20);
        t.s.config.maxmemory_policy = "allkeys-lru".into();
        t.s.apply_config();
        assert_eq!(run_raw(&mut t, &["set", "x", "1"]), "+OK\r\n");
        assert_eq!(t.s.dbs[0].len(), 51);
        t.s.config.maxmemory = 1;
        t.s.config.maxmemory_policy = "noeviction".into();
        t.s.apply_config();
        assert!(run_raw(&mut t, &["set", "y", "1"]).starts_with("-OOM"));
        assert_eq!(t.s.dbs[0].len(), 51);
        assert_eq!(t.s.stats.evicted_keys, 0);
    }

    #[test]
    fn oom_rules_for_multi_exec_and_scripts() {
        let mut t = testutil::new();
        t.s.config.maxmemory = 1;
        t.s.apply_config();
        let oom = "-OOM command not allowed when used memory > 'maxmemory'.\r\n";
        // Inside MULTI every command but EXEC/DISCARD/QUIT/RESET is refused, and the EXEC then aborts.
        assert_eq!(run_raw(&mut t, &["multi"]), "+OK\r\n");
        assert_eq!(run_raw(&mut t, &["get", "a"]), oom);
        assert_eq!(run_raw(&mut t, &["exec"]), "-EXECABORT Transaction discarded because of previous errors.\r\n");
        // A transaction queued under the limit with a DENYOOM command: EXEC is refused with EXECABORT.
        t.s.config.maxmemory = 0;
        t.s.apply_config();
        run_raw(&mut t, &["multi"]);
        assert_eq!(run_raw(&mut t, &["set", "a", "1"]), "+QUEUED\r\n");
        t.s.config.maxmemory = 1;
        t.s.apply_config();
        assert_eq!(
            run_raw(&mut t, &["exec"]),
            "-EXECABORT Transaction discarded because of: OOM command not allowed when used memory > 'maxmemory'.\r\n"
        );
        // A read-only transaction runs.
        t.s.config.maxmemory = 0;
        t.s.apply_config();
        run_raw(&mut t, &["multi"]);
        run_raw(&mut t, &["get", "a"]);
        t.s.config.maxmemory = 1;
        t.s.apply_config();
        assert_eq!(run_raw(&mut t, &["exec"]), "*1\r\n$-1\r\n");
        // EVAL without flags runs; its DENYOOM command is refused inside.
        let got = run_raw(&mut t, &["eval", "return redis.call('set','a','1')", "0"]);
        assert!(got.starts_with("-OOM command not allowed"), "{got}");
        assert_eq!(run_raw(&mut t, &["eval", "return redis.call('get','a')", "0"]), "$-1\r\n");
        // A shebang script without allow-oom is refused up front; with no-writes or allow-oom it runs.
        assert_eq!(run_raw(&mut t, &["eval", "#!lua\nreturn 1", "0"]), oom);
        assert_eq!(run_raw(&mut t, &["eval", "#!lua flags=no-writes\nreturn 1", "0"]), ":1\r\n");
        assert_eq!(
            run_raw(&mut t, &["eval", "#!lua flags=allow-oom\nreturn redis.call('set','a','1')", "0"]),
            "+OK\r\n"
        );
    }

    #[test]
    fn tenacity_zero_hands_the_rest_to_the_evictor() {
        let mut t = testutil::new();
        for i in 0..2000 {
            run_raw(&mut t, &["set", &format!("k{i}"), "v"]);
        }
        t.s.config.set("maxmemory-eviction-tenacity", "0").unwrap();
        t.s.config.maxmemory_policy = "allkeys-random".into();
        t.s.config.maxmemory = 1;
        t.s.apply_config();
        t.s.evict.wanted = false;
        let run = perform_evictions(&mut t.s, false);
        // Time limit 0: the first check, after 16 keys, stops the run; the Evictor is asked to go on.
        assert_eq!((run.result, run.evicted, run.time_limit_hit), (EvictResult::Running, 16, true));
        assert!(t.s.evict.wanted && t.s.evict.running);
        // The Evictor's runs continue until nothing is left.
        let mut runs = 0;
        loop {
            let r = perform_evictions(&mut t.s, true);
            runs += 1;
            if !r.time_limit_hit {
                assert_eq!(r.result, EvictResult::Fail);
                break;
            }
        }
        assert!(runs > 100);
        assert!(!t.s.evict.running);
        assert_eq!(t.s.dbs[0].len(), 0);
    }
}
