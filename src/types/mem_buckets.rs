//! Client memory buckets (types layer, no actors): Redis 7.0's client_mem_usage_buckets. Every evictable
//! client sits in the bucket of its last measured memory's power of two (32 KB and less in the first, 8 GB
//! and more in the last), so that `maxmemory-clients` finds the largest clients without looking at the
//! others: eviction walks the buckets from the top. The structure also keeps the total the limit is checked
//! against, which counts every client of the normal and pubsub kinds, evictable or not (CLIENT NO-EVICT),
//! as Redis's stat_clients_type_memory does.
//!
//! Clients are named by their slot (the Keyspace's slab index); per-slot records live in a vector indexed by
//! slot, so moving a client between buckets is O(1) and allocates nothing once the vectors have grown.

/// Bucket sizes start at up to 32 KB (2^15), as CLIENT_MEM_USAGE_BUCKET_MIN_LOG.
const MIN_LOG: u32 = 15;
/// The last bucket holds clients above 4 GB (2^32 .. ), as CLIENT_MEM_USAGE_BUCKET_MAX_LOG.
const MAX_LOG: u32 = 33;
/// How many buckets (CLIENT_MEM_USAGE_BUCKETS).
pub const BUCKETS: usize = (1 + MAX_LOG - MIN_LOG) as usize;

/// Not in any bucket.
const NONE: u8 = u8::MAX;

/// What the buckets know of one client slot.
#[derive(Clone, Copy, Debug)]
struct Rec {
    /// The memory last measured, counted in `total` when `counted`.
    mem: usize,
    counted: bool,
    /// Its bucket (NONE: not evictable) and its place in that bucket's list.
    bucket: u8,
    pos: u32,
}

const EMPTY: Rec = Rec { mem: 0, counted: false, bucket: NONE, pos: 0 };

/// The buckets and the total (see the module docs).
#[derive(Debug, Default)]
pub struct MemBuckets {
    recs: Vec<Rec>,
    lists: [Vec<usize>; BUCKETS],
    /// Memory of the counted clients (Redis: stat_clients_type_memory of NORMAL + PUBSUB).
    total: usize,
}

/// The bucket of a client using `mem` bytes (getMemUsageBucket: the bit length of `mem`, clamped).
pub fn bucket_of(mem: usize) -> usize {
    let bits = usize::BITS - mem.leading_zeros();
    (bits.clamp(MIN_LOG, MAX_LOG) - MIN_LOG) as usize
}

impl MemBuckets {
    /// Record `slot`'s memory: counted in the total when `counted` (a normal or pubsub client), in its bucket
    /// when `evictable` as well (Redis's updateClientMemUsageAndBucket / updateClientMemoryUsage).
    pub fn set(&mut self, slot: usize, mem: usize, counted: bool, evictable: bool) {
        if slot >= self.recs.len() {
            self.recs.resize(slot + 1, EMPTY);
        }
        let old = self.recs[slot];
        if old.counted {
            self.total -= old.mem;
        }
        if counted {
            self.total += mem;
        }
        let want = if evictable && counted { bucket_of(mem) as u8 } else { NONE };
        if want != old.bucket {
            self.unlink(slot);
            if want != NONE {
                let list = &mut self.lists[want as usize];
                self.recs[slot].pos = list.len() as u32;
                list.push(slot);
            }
        }
        let r = &mut self.recs[slot];
        r.mem = mem;
        r.counted = counted;
        r.bucket = want;
    }

    /// Forget `slot` (the client is gone, or eviction was turned off).
    pub fn remove(&mut self, slot: usize) {
        let Some(r) = self.recs.get(slot).copied() else { return };
        if r.counted {
            self.total -= r.mem;
        }
        self.unlink(slot);
        self.recs[slot] = EMPTY;
    }

    /// Take `slot` out of its bucket's list (swap-remove, fixing the place of the client moved).
    fn unlink(&mut self, slot: usize) {
        let r = self.recs[slot];
        if r.bucket == NONE {
            return;
        }
        let list = &mut self.lists[r.bucket as usize];
        list.swap_remove(r.pos as usize);
        if let Some(&moved) = list.get(r.pos as usize) {
            self.recs[moved].pos = r.pos;
        }
        self.recs[slot].bucket = NONE;
    }

    /// The memory the limit is checked against.
    pub fn total(&self) -> usize {
        self.total
    }

    /// The memory last recorded for `slot` (0 if none).
    pub fn mem(&self, slot: usize) -> usize {
        self.recs.get(slot).map_or(0, |r| r.mem)
    }

    /// An evictable client of the highest non-empty bucket at or below `bucket`, with that bucket: where
    /// eviction looks next (evictClients walks from the top bucket down).
    pub fn largest(&self, bucket: usize) -> Option<(usize, usize)> {
        (0..=bucket.min(BUCKETS - 1)).rev().find_map(|b| self.lists[b].last().map(|&slot| (slot, b)))
    }

    /// No evictable client and nothing counted: eviction turned off leaves it so.
    pub fn clear(&mut self) {
        self.recs.clear();
        for l in &mut self.lists {
            l.clear();
        }
        self.total = 0;
    }

    /// The clients of bucket `b`.
    #[cfg(test)]
    pub fn bucket(&self, b: usize) -> &[usize] {
        &self.lists[b]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_follow_powers_of_two_like_redis() {
        assert_eq!(bucket_of(0), 0);
        assert_eq!(bucket_of(32 * 1024 - 1), 0);
        // 32768 has 16 significant bits: the second bucket, as in getMemUsageBucket.
        assert_eq!(bucket_of(32 * 1024), 1);
        assert_eq!(bucket_of(64 * 1024 - 1), 1);
        assert_eq!(bucket_of(1 << 20), 6);
        assert_eq!(bucket_of(3 << 20), 7);
        assert_eq!(bucket_of(usize::MAX), BUCKETS - 1);
    }

    #[test]
    fn total_counts_every_counted_client_and_buckets_only_evictable_ones() {
        let mut b = MemBuckets::default();
        b.set(0, 1000, true, false); // NO-EVICT: counted, not a candidate
        b.set(3, 1 << 20, true, true);
        b.set(5, 500, false, false); // a replica: neither
        assert_eq!(b.total(), 1000 + (1 << 20));
        assert_eq!(b.largest(BUCKETS - 1), Some((3, bucket_of(1 << 20))));
        // Growing moves it up; shrinking back down; the total follows.
        b.set(3, 1 << 22, true, true);
        assert_eq!(b.largest(BUCKETS - 1), Some((3, bucket_of(1 << 22))));
        assert_eq!(b.total(), 1000 + (1 << 22));
        b.set(3, 10, true, true);
        assert_eq!(b.largest(BUCKETS - 1), Some((3, 0)));
        b.remove(3);
        assert_eq!(b.largest(BUCKETS - 1), None);
        assert_eq!(b.total(), 1000);
        b.remove(0);
        b.remove(42); // never seen: nothing to do
        assert_eq!(b.total(), 0);
    }

    #[test]
    fn largest_walks_down_and_swap_remove_keeps_places_right() {
        let mut b = MemBuckets::default();
        for slot in 0..6 {
            b.set(slot, 100 << 10, true, true); // all in one bucket
        }
        b.set(9, 5 << 20, true, true);
        let top = bucket_of(5 << 20);
        assert_eq!(b.largest(BUCKETS - 1), Some((9, top)));
        b.remove(9);
        // Remove from the middle of a list: the moved client must still be removable afterwards.
        b.remove(1);
        b.remove(5);
        let mid = bucket_of(100 << 10);
        let mut left: Vec<usize> = b.bucket(mid).to_vec();
        left.sort_unstable();
        assert_eq!(left, vec![0, 2, 3, 4]);
        for slot in [4, 0, 3, 2] {
            b.remove(slot);
        }
        assert!(b.bucket(mid).is_empty());
        assert_eq!(b.total(), 0);
        assert_eq!(b.largest(top), None);
    }

    #[test]
    fn turning_a_client_no_evict_takes_it_out_of_its_bucket_but_not_the_total() {
        let mut b = MemBuckets::default();
        b.set(2, 70_000, true, true);
        b.set(2, 70_000, true, false);
        assert_eq!(b.largest(BUCKETS - 1), None);
        assert_eq!(b.total(), 70_000);
        b.set(2, 80_000, true, true);
        assert_eq!(b.largest(BUCKETS - 1), Some((2, bucket_of(80_000))));
        b.clear();
        assert_eq!((b.total(), b.largest(BUCKETS - 1)), (0, None));
    }
}
