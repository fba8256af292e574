//! Eviction's pure logic (types layer, no actors): the `maxmemory-policy` values, Redis's LFU counter
//! (logarithmic increment, decay by elapsed minutes), LRU idle-time estimates, the score that ranks victims,
//! and the eviction pool of the best candidates seen so far (evict.c's EVPOOL). The Evictor actor decides
//! when to evict; commands/evict.rs runs the eviction loop over the Keyspace's databases with these parts.
//!
//! Every entry carries one 32-bit metadata word (`KeyBytes::meta`, see db.rs). Its low 24 bits are what
//! Redis keeps in `robj.lru`: under an LRU (or any non-LFU) policy the LRU clock in seconds; under an LFU
//! policy the last decrement time in minutes (16 bits) and an 8-bit logarithmic access counter. The top 8
//! bits, which Redis does not have, sharpen victim choice: under LRU the fraction of the second (1/256 s),
//! so that keys used within the same second are still told apart (at a million operations a second a
//! small cache turns over many times a second, and with whole seconds LRU degenerates into random
//! eviction); under LFU a recency stamp in 1/16 s, wrapping every 16 s, which breaks ties between equal
//! counters in favour of the key used last (a key just inserted, still at the initial counter, is not
//! evicted before older keys at the same counter).

/// `maxmemory-policy`, as Redis's MAXMEMORY_* values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Policy {
    VolatileLru,
    VolatileLfu,
    VolatileRandom,
    VolatileTtl,
    AllkeysLru,
    AllkeysLfu,
    AllkeysRandom,
    #[default]
    NoEviction,
}

impl Policy {
    /// The policy named `name` (the config table has already checked it; anything else is noeviction).
    pub fn from_name(name: &str) -> Policy {
        match name {
            "volatile-lru" => Policy::VolatileLru,
            "volatile-lfu" => Policy::VolatileLfu,
            "volatile-random" => Policy::VolatileRandom,
            "volatile-ttl" => Policy::VolatileTtl,
            "allkeys-lru" => Policy::AllkeysLru,
            "allkeys-lfu" => Policy::AllkeysLfu,
            "allkeys-random" => Policy::AllkeysRandom,
            _ => Policy::NoEviction,
        }
    }

    /// Entries carry LFU data instead of an LRU clock (MAXMEMORY_FLAG_LFU).
    pub fn is_lfu(self) -> bool {
        matches!(self, Policy::VolatileLfu | Policy::AllkeysLfu)
    }

    /// Victims come from every key, not only keys with a TTL (MAXMEMORY_FLAG_ALLKEYS).
    pub fn all_keys(self) -> bool {
        matches!(self, Policy::AllkeysLru | Policy::AllkeysLfu | Policy::AllkeysRandom)
    }

    /// Victims are chosen through the pool (LRU, LFU and TTL policies); the others pick at random.
    pub fn uses_pool(self) -> bool {
        !matches!(self, Policy::AllkeysRandom | Policy::VolatileRandom | Policy::NoEviction)
    }
}

/// The counter a new key starts with under an LFU policy (LFU_INIT_VAL), so that it is not evicted before
/// it had a chance to be accessed.
pub const LFU_INIT_VAL: u32 = 5;

/// `lfu-log-factor` and `lfu-decay-time`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LfuParams {
    /// How many hits it takes to saturate the counter (higher: slower growth).
    pub log_factor: u32,
    /// Minutes for the counter to decay by one (0: never decays).
    pub decay_time: u32,
}

impl Default for LfuParams {
    /// Redis's defaults: log factor 10, decay time 1 minute.
    fn default() -> Self {
        LfuParams { log_factor: 10, decay_time: 1 }
    }
}

/// Current time in minutes, 16 bits (LFUGetTimeInMinutes).
#[inline]
pub fn lfu_minutes(now_ms: i64) -> u32 {
    ((now_ms / 60_000) as u32) & 0xFFFF
}

/// Minutes since `ldt`, with the 16-bit wrap (LFUTimeElapsed).
#[inline]
pub fn lfu_elapsed(ldt: u32, now_min: u32) -> u32 {
    if now_min >= ldt {
        now_min - ldt
    } else {
        65535 - ldt + now_min
    }
}

/// The counter of LFU data `data` after decaying one per `decay_time` minutes elapsed (LFUDecrAndReturn).
#[inline]
pub fn lfu_decr_and_return(data: u32, decay_time: u32, now_min: u32) -> u32 {
    let counter = data & 0xFF;
    // Decay time 0: the counter never decays.
    let periods = lfu_elapsed((data >> 8) & 0xFFFF, now_min).checked_div(decay_time).unwrap_or(0);
    counter.saturating_sub(periods)
}

/// One logarithmic increment (LFULogIncr): the counter grows with probability
/// 1 / ((counter - 5) * factor + 1), so it takes about factor * n^2 / 2 hits to reach n above the initial
/// value. `r` is uniform in `[0, 1)`.
#[inline]
pub fn lfu_log_incr(counter: u32, log_factor: u32, r: f64) -> u32 {
    if counter >= 255 {
        return 255;
    }
    let base = counter.saturating_sub(LFU_INIT_VAL) as f64;
    let p = 1.0 / (base * log_factor as f64 + 1.0);
    if r < p {
        counter + 1
    } else {
        counter
    }
}

/// The LFU recency stamp at `now_ms`: 1/16 s units, 8 bits (see the module docs).
#[inline]
pub fn lfu_recency(now_ms: i64) -> u32 {
    ((now_ms / 62) as u32) & 0xFF
}

/// LFU data after an access at `now_ms` (updateLFU): decay, one logarithmic increment, stamped with the
/// current minute and the recency stamp.
#[inline]
pub fn lfu_touch(data: u32, params: LfuParams, now_ms: i64, r: f64) -> u32 {
    let now_min = lfu_minutes(now_ms);
    let counter = lfu_decr_and_return(data, params.decay_time, now_min);
    (lfu_recency(now_ms) << 24) | (now_min << 8) | lfu_log_incr(counter, params.log_factor, r)
}

/// LFU data of a key created at `now_ms`: the initial counter.
#[inline]
pub fn lfu_new(now_ms: i64) -> u32 {
    (lfu_recency(now_ms) << 24) | (lfu_minutes(now_ms) << 8) | LFU_INIT_VAL
}

/// The 24-bit LRU clock in seconds (LRU_CLOCK, LRU_CLOCK_RESOLUTION 1000 ms).
#[inline]
pub fn lru_clock_at(now_ms: i64) -> u32 {
    ((now_ms / 1000) as u32) & 0x00FF_FFFF
}

/// The LRU stamp of an access at `now_ms`: the LRU clock, and the fraction of its second in the top byte.
#[inline]
pub fn lru_stamp(now_ms: i64) -> u32 {
    lru_clock_at(now_ms) | ((now_ms.rem_euclid(1000) as u32 * 256 / 1000) << 24)
}

/// Seconds since `lru` by the clock `now`, with the 24-bit wrap (estimateObjectIdleTime / 1000); the top
/// bytes of both are ignored.
#[inline]
pub fn lru_idle(lru: u32, now: u32) -> u64 {
    let (lru, now) = (lru & 0x00FF_FFFF, now & 0x00FF_FFFF);
    if now >= lru {
        (now - lru) as u64
    } else {
        (now + (0x00FF_FFFF - lru)) as u64
    }
}

/// What a victim's score depends on, read once per sampling round.
#[derive(Clone, Copy, Debug)]
pub struct ScoreClock {
    /// The LRU stamp now (`lru_stamp`).
    pub lru: u32,
    /// The LFU clock (minutes, 16 bits).
    pub lfu_min: u32,
    /// The LFU recency stamp now.
    pub recency: u32,
    /// `lfu-decay-time`.
    pub decay_time: u32,
}

impl ScoreClock {
    /// The clocks at `now_ms`.
    pub fn at(now_ms: i64, decay_time: u32) -> ScoreClock {
        ScoreClock { lru: lru_stamp(now_ms), lfu_min: lfu_minutes(now_ms), recency: lfu_recency(now_ms), decay_time }
    }
}

/// How good a victim a key is under `policy` (higher: evicted first), as evictionPoolPopulate's "idle":
/// the idle time in 1/256 s (LRU), 255 minus the decayed counter, then the time since the last access
/// (LFU), or the sooner expiry (TTL). `meta` is the entry's metadata word, `expire_at` its absolute expiry
/// in ms (0: none).
#[inline]
pub fn score(policy: Policy, meta: u32, expire_at: i64, clock: &ScoreClock) -> u64 {
    match policy {
        Policy::AllkeysLfu | Policy::VolatileLfu => {
            let counter = lfu_decr_and_return(meta, clock.decay_time, clock.lfu_min) as u64;
            let since = clock.recency.wrapping_sub(meta >> 24) & 0xFF;
            ((255 - counter) << 8) | since as u64
        }
        Policy::VolatileTtl => u64::MAX - expire_at.max(0) as u64,
        _ => {
            // Whole seconds, then the fractions (the sum may dip below zero within the same second).
            let secs = lru_idle(meta, clock.lru) * 256;
            (secs + (clock.lru >> 24) as u64).saturating_sub((meta >> 24) as u64)
        }
    }
}

/// Candidates the pool keeps (EVPOOL_SIZE).
pub const POOL_SIZE: usize = 16;

/// One candidate: its score, database and key (the key buffer is kept when the slot empties, so that the
/// pool stops allocating once its buffers have grown to the keys' size, as EVPOOL_CACHED_SDS_SIZE does).
#[derive(Debug, Default, Clone)]
struct Slot {
    score: u64,
    db: usize,
    key: Vec<u8>,
    /// `tag(key)`: compared before the key itself when an offer looks for the same key.
    tag: u64,
    used: bool,
}

/// A key's last 8 bytes and its length, folded: keys that share a long prefix ("user:0000012345") differ
/// there, so the pool's duplicate check compares one word per slot before comparing keys (16 key compares
/// per sampled key cost a tenth of the CPU when every write evicts).
fn tag(key: &[u8]) -> u64 {
    let mut last = [0u8; 8];
    let n = key.len().min(8);
    last[..n].copy_from_slice(&key[key.len() - n..]);
    u64::from_le_bytes(last) ^ (key.len() as u64).rotate_left(56)
}

/// The eviction pool: the best candidates sampled so far, in ascending score order (the best at the end).
/// Sampling a few keys per eviction and keeping the best across evictions approximates true LRU/LFU far
/// better than picking the best of each sample alone.
#[derive(Debug, Clone)]
pub struct EvictionPool {
    slots: [Slot; POOL_SIZE],
}

impl Default for EvictionPool {
    fn default() -> Self {
        EvictionPool { slots: std::array::from_fn(|_| Slot::default()) }
    }
}

impl EvictionPool {
    /// Offer a sampled key (evictionPoolPopulate's insertion): it goes in score order; when the pool is full
    /// it replaces the worst candidate, or is dropped when it is worse than all of them. A key already in
    /// the pool only has its score refreshed.
    pub fn offer(&mut self, db: usize, key: &[u8], score: u64) {
        let s = &mut self.slots;
        // A full pool and a key no better than its worst: the usual case once the pool has filled, settled
        // before the key is read. (Were this key held with an older, higher score, it keeps that score until
        // taken, as every candidate in Redis's pool does.)
        if s[POOL_SIZE - 1].used && s[0].used && score <= s[0].score {
            return;
        }
        // The same key sampled again: take it out first, so that it is not held twice (Redis keeps both;
        // two slots for one key only make the pool smaller).
        let t = tag(key);
        if let Some(i) = s.iter().position(|x| x.used && x.tag == t && x.db == db && x.key == key) {
            s[i].used = false;
            s[i..].rotate_left(1);
        }
        let mut k = 0;
        while k < POOL_SIZE && s[k].used && s[k].score < score {
            k += 1;
        }
        if k == 0 && s[POOL_SIZE - 1].used {
            return; // worse than the worst, and no room
        } else if k < POOL_SIZE && !s[k].used {
            // An empty slot: nothing to move.
        } else if !s[POOL_SIZE - 1].used {
            // Room on the right: shift k.. one to the right; the empty last slot (its buffer) comes to k.
            s[k..].rotate_right(1);
        } else {
            // Full: drop the worst (slot 0) by shifting ..k one to the left; its buffer comes to k - 1.
            k -= 1;
            s[..=k].rotate_left(1);
        }
        let slot = &mut s[k];
        slot.key.clear();
        slot.key.extend_from_slice(key);
        slot.tag = t;
        slot.score = score;
        slot.db = db;
        slot.used = true;
    }

    /// Take candidates from the best down, removing each from the pool, until `take` accepts one (the key
    /// still exists where the policy looks: not a ghost already deleted). Returns whether one was accepted.
    pub fn take_best(&mut self, mut take: impl FnMut(usize, &[u8]) -> bool) -> bool {
        for k in (0..POOL_SIZE).rev() {
            if !self.slots[k].used {
                continue;
            }
            self.slots[k].used = false;
            self.slots[k].score = 0;
            let slot = &self.slots[k];
            if take(slot.db, &slot.key) {
                return true;
            }
        }
        false
    }

    /// Candidates held.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.slots.iter().filter(|s| s.used).count()
    }

    /// No candidates held.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forget every candidate (a policy change makes their scores meaningless).
    pub fn clear(&mut self) {
        for s in &mut self.slots {
            s.used = false;
        }
    }

    /// The candidates in ascending score order (tests).
    #[cfg(test)]
    pub fn candidates(&self) -> impl Iterator<Item = (usize, &[u8], u64)> {
        self.slots.iter().filter(|s| s.used).map(|s| (s.db, s.key.as_slice(), s.score))
    }
}

/// Time one eviction run may take before it stops and leaves the rest to the Evictor
/// (evictionTimeLimitUs): 50 µs per step of `maxmemory-eviction-tenacity` up to 10, then 15% more per step,
/// and no limit at 100.
pub fn time_limit_us(tenacity: u32) -> u64 {
    match tenacity {
        0..=10 => 50 * tenacity as u64,
        11..=99 => (500.0 * 1.15f64.powf(tenacity as f64 - 10.0)) as u64,
        _ => u64::MAX,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::db::Db;
    use crate::types::value::Value;

    #[test]
    fn policy_names_and_flags() {
        for (name, lfu, all, pool) in [
            ("volatile-lru", false, false, true),
            ("volatile-lfu", true, false, true),
            ("volatile-random", false, false, false),
            ("volatile-ttl", false, false, true),
            ("allkeys-lru", false, true, true),
            ("allkeys-lfu", true, true, true),
            ("allkeys-random", false, true, false),
            ("noeviction", false, false, false),
        ] {
            let p = Policy::from_name(name);
            assert_eq!((p.is_lfu(), p.all_keys(), p.uses_pool()), (lfu, all, pool), "{name}");
        }
        assert_eq!(Policy::from_name("noeviction"), Policy::NoEviction);
    }

    #[test]
    fn lfu_counter_grows_logarithmically_with_the_factor() {
        // Deterministic draws: r = 0 always increments, r just under 1 increments only at p = 1.
        assert_eq!(lfu_log_incr(5, 10, 0.0), 6);
        assert_eq!(lfu_log_incr(5, 10, 0.999), 6); // base 0: p = 1
        assert_eq!(lfu_log_incr(6, 10, 0.5), 6); // p = 1/11
        assert_eq!(lfu_log_incr(6, 10, 0.05), 7);
        assert_eq!(lfu_log_incr(255, 0, 0.0), 255);
        // Factor 0: every hit counts.
        assert_eq!(lfu_log_incr(100, 0, 0.999), 101);
        // With a fixed sequence of draws, a bigger factor grows the counter more slowly.
        let hits = |factor: u32| {
            let mut c = LFU_INIT_VAL;
            let mut x = 12345u64;
            for _ in 0..10_000 {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                c = lfu_log_incr(c, factor, (x >> 11) as f64 / (1u64 << 53) as f64);
            }
            c
        };
        let (c1, c10, c100) = (hits(1), hits(10), hits(100));
        assert!(c1 > c10 && c10 > c100, "{c1} {c10} {c100}");
        // Redis's table: factor 10 reaches about 18 after 1K hits... and well below 255 at 10K.
        assert!((30..=60).contains(&c10), "{c10}");
        assert_eq!(hits(0), 255);
    }

    #[test]
    fn lfu_decays_one_per_period_and_wraps() {
        let data = (100 << 8) | 20;
        assert_eq!(lfu_decr_and_return(data, 1, 100), 20);
        assert_eq!(lfu_decr_and_return(data, 1, 105), 15);
        assert_eq!(lfu_decr_and_return(data, 2, 105), 18);
        assert_eq!(lfu_decr_and_return(data, 1, 200), 0);
        assert_eq!(lfu_decr_and_return(data, 0, 60_000), 20); // decay 0: never
                                                              // The 16-bit minute clock wrapped: 65535 - 65530 + 3 = 8 minutes.
        assert_eq!(lfu_decr_and_return((65530 << 8) | 20, 1, 3), 12);
        // Touch: decays, increments (r = 0), restamps (minute 104, 1/16 s stamp 4 s into it: 64).
        let at = 104 * 60_000 + 4_000;
        let touched = lfu_touch(data, LfuParams { log_factor: 10, decay_time: 1 }, at, 0.0);
        assert_eq!(touched & 0x00FF_FFFF, (104 << 8) | 17);
        assert_eq!(touched >> 24, lfu_recency(at));
        assert_eq!(lfu_new(at) & 0x00FF_FFFF, (104 << 8) | 5);
        // The recency byte does not disturb the minutes.
        assert_eq!(lfu_decr_and_return((0xAB << 24) | data, 1, 105), 15);
    }

    #[test]
    fn lru_idle_wraps_the_24_bit_clock() {
        assert_eq!(lru_idle(100, 130), 30);
        assert_eq!(lru_idle(0x00FF_FFF0, 5), 20);
        assert_eq!(lru_clock_at(1_000_000), 1000);
        // The stamp keeps Redis's clock in the low 24 bits and the fraction above it.
        assert_eq!(lru_stamp(1_000_500), (128 << 24) | 1000);
        assert_eq!(lru_idle(lru_stamp(1_000_500), lru_stamp(1_010_000)), 10);
    }

    #[test]
    fn scores_rank_victims_per_policy() {
        let clock = ScoreClock { lru: (200 << 24) | 1000, lfu_min: 50, recency: 100, decay_time: 1 };
        // LRU: idler is better, to a fraction of a second.
        assert!(score(Policy::AllkeysLru, 900, 0, &clock) > score(Policy::AllkeysLru, 990, 0, &clock));
        let early = (10 << 24) | 1000;
        let late = (150 << 24) | 1000;
        assert!(score(Policy::AllkeysLru, early, 0, &clock) > score(Policy::AllkeysLru, late, 0, &clock));
        assert_eq!(score(Policy::AllkeysLru, (10 << 24) | 999, 0, &clock), 256 + 190);
        // LFU ties: the one used longer ago is the better victim.
        let old = (20 << 24) | (50 << 8) | 5;
        let new = (99 << 24) | (50 << 8) | 5;
        assert!(score(Policy::AllkeysLfu, old, 0, &clock) > score(Policy::AllkeysLfu, new, 0, &clock));
        // LFU: less frequent is better; decay counts.
        let hot = (50 << 8) | 30;
        let cold = (50 << 8) | 6;
        let stale = (20 << 8) | 30; // 30 minutes ago: decayed to 0
        assert!(score(Policy::AllkeysLfu, cold, 0, &clock) > score(Policy::AllkeysLfu, hot, 0, &clock));
        assert_eq!(score(Policy::VolatileLfu, stale, 0, &clock) >> 8, 255);
        // TTL: sooner expiry is better.
        assert!(score(Policy::VolatileTtl, 0, 1_000, &clock) > score(Policy::VolatileTtl, 0, 2_000, &clock));
    }

    #[test]
    fn pool_keeps_the_best_sixteen_in_order() {
        let mut pool = EvictionPool::default();
        for i in 0..40u64 {
            // Scores 0, 7, 14, ... in a scrambled order.
            let sc = (i * 17 % 40) * 7;
            pool.offer(0, format!("k{sc}").as_bytes(), sc);
        }
        let got: Vec<u64> = pool.candidates().map(|(_, _, s)| s).collect();
        let want: Vec<u64> = (24..40).map(|i| i * 7).collect();
        assert_eq!(got, want);
        // Worse than the worst with a full pool: dropped.
        pool.offer(0, b"bad", 1);
        assert_eq!(pool.len(), 16);
        assert!(pool.candidates().all(|(_, k, _)| k != b"bad"));
        // The best first; a ghost (refused) is dropped and the next one taken.
        let mut seen = Vec::new();
        assert!(pool.take_best(|_, k| {
            seen.push(k.to_vec());
            k != b"k273"
        }));
        assert_eq!(seen, vec![b"k273".to_vec(), b"k266".to_vec()]);
        assert_eq!(pool.len(), 14);
        // Re-offering a held key updates it instead of holding it twice.
        pool.offer(1, b"k259", 10_000);
        pool.offer(1, b"k259", 10_001);
        assert_eq!(pool.candidates().filter(|(_, k, _)| *k == b"k259").count(), 2); // db 0's and db 1's
        assert_eq!(pool.candidates().last().map(|(d, _, s)| (d, s)), Some((1, 10_001)));
        // Keys with the same tag (same length and last 8 bytes) are still told apart by the key itself.
        assert_eq!(tag(b"a:12345678"), tag(b"b:12345678"));
        pool.offer(2, b"a:12345678", 20_000);
        pool.offer(2, b"b:12345678", 20_001);
        assert_eq!(pool.candidates().filter(|(d, _, _)| *d == 2).count(), 2);
        pool.clear();
        assert!(pool.is_empty());
        assert!(!pool.take_best(|_, _| true));
    }

    #[test]
    fn tenacity_time_limits() {
        assert_eq!(time_limit_us(0), 0);
        assert_eq!(time_limit_us(10), 500);
        assert_eq!(time_limit_us(11), 575);
        assert!(time_limit_us(99) > 100_000_000);
        assert_eq!(time_limit_us(100), u64::MAX);
    }

    /// One pool-driven choice over every db, as commands/evict.rs makes it (the loop without the State).
    fn choose(dbs: &mut [Db], policy: Policy, pool: &mut EvictionPool, now_ms: i64) -> Option<(usize, Vec<u8>)> {
        // 20 samples: every key of these small databases, so that the choice is deterministic.
        let clock = ScoreClock::at(now_ms, 1);
        for _ in 0..10 {
            let mut total = 0;
            for (i, db) in dbs.iter().enumerate() {
                let n = if policy.all_keys() { db.len() } else { db.expires_count() };
                if n == 0 {
                    continue;
                }
                total += n;
                db.sample(20, !policy.all_keys(), |e, at| pool.offer(i, &e.key, score(policy, e.meta(), at, &clock)));
            }
            if total == 0 {
                return None;
            }
            let mut got = None;
            pool.take_best(|d, k| {
                let ok = if policy.all_keys() { dbs[d].peek_stored(k).is_some() } else { dbs[d].stored_expire(k) != 0 };
                if ok {
                    got = Some((d, k.to_vec()));
                }
                ok
            });
            if got.is_some() {
                return got;
            }
        }
        None
    }

    fn keyspace(lfu: bool) -> Vec<Db> {
        let mut dbs: Vec<Db> = (0..3).map(Db::new).collect();
        for (d, db) in dbs.iter_mut().enumerate() {
            db.lfu = lfu;
            for i in 0..20 {
                let k = format!("{d}:{i}");
                db.set(k.as_bytes(), Value::Int(i), false);
                if i % 2 == 1 {
                    db.set_expire(k.as_bytes(), 10_000_000_000_000 + (d * 100 + i as usize) as i64);
                }
            }
        }
        dbs
    }

    #[test]
    fn volatile_policies_never_pick_a_key_without_ttl() {
        for policy in [Policy::VolatileLru, Policy::VolatileLfu, Policy::VolatileTtl] {
            let mut dbs = keyspace(policy.is_lfu());
            let mut pool = EvictionPool::default();
            let mut evicted = 0;
            while let Some((d, k)) = choose(&mut dbs, policy, &mut pool, 1_000_000) {
                assert_ne!(dbs[d].stored_expire(&k), 0, "{policy:?} picked {}", String::from_utf8_lossy(&k));
                dbs[d].remove(&k);
                evicted += 1;
            }
            // Every volatile key went, and only those.
            assert_eq!(evicted, 30, "{policy:?}");
            assert!(dbs.iter().all(|d| d.len() == 10 && d.expires_count() == 0));
        }
    }

    #[test]
    fn allkeys_lru_picks_the_idlest_first() {
        crate::types::clock::set_mock(5_000_000);
        let mut dbs = keyspace(false);
        // Keys of db 1 are touched 100 s later: they are the most recently used.
        crate::types::clock::set_mock(5_100_000);
        for i in 0..20 {
            dbs[1].get(format!("1:{i}").as_bytes());
        }
        let mut pool = EvictionPool::default();
        let mut order = Vec::new();
        while let Some((d, k)) = choose(&mut dbs, Policy::AllkeysLru, &mut pool, 5_100_000) {
            dbs[d].remove(&k);
            order.push(d);
        }
        crate::types::clock::clear_mock();
        assert_eq!(order.len(), 60);
        // The 20 recently used keys of db 1 go last (the sample covers every key of a db this small).
        assert!(order[40..].iter().all(|&d| d == 1), "{order:?}");
    }

    #[test]
    fn allkeys_lfu_keeps_the_frequent_keys() {
        let mut dbs = keyspace(true);
        // Frequent keys: counters raised well above the initial 5.
        for i in 0..5 {
            let k = format!("0:{i}");
            let now = lfu_minutes(crate::types::clock::now_ms());
            dbs[0].get_mut(k.as_bytes()).unwrap().key.set_meta((now << 8) | 100);
        }
        let mut pool = EvictionPool::default();
        let mut last = Vec::new();
        while let Some((d, k)) = choose(&mut dbs, Policy::AllkeysLfu, &mut pool, crate::types::clock::now_ms()) {
            dbs[d].remove(&k);
            last.push((d, k));
        }
        assert_eq!(last.len(), 60);
        let tail: Vec<String> = last[55..].iter().map(|(_, k)| String::from_utf8_lossy(k).into_owned()).collect();
        for i in 0..5 {
            assert!(tail.contains(&format!("0:{i}")), "{tail:?}");
        }
    }

    #[test]
    fn volatile_ttl_picks_the_soonest_expiry() {
        let mut dbs = keyspace(false);
        let mut pool = EvictionPool::default();
        let (d, k) = choose(&mut dbs, Policy::VolatileTtl, &mut pool, 0).unwrap();
        // The soonest expiry of all: db 0, key 1 (10^13 + 1).
        assert_eq!((d, k.as_slice()), (0, &b"0:1"[..]));
    }
}
