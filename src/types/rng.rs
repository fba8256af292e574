//! Rng: a small, fast per-thread generator for sampling (RANDOMKEY, active expiry, eviction); not for secrets.

use std::cell::Cell;

thread_local! {
    static STATE: Cell<u64> = Cell::new(seed());
}

fn seed() -> u64 {
    let t = crate::types::clock::system_us() as u64;
    let addr = &t as *const u64 as u64;
    (t ^ addr.rotate_left(32)) | 1
}

/// Next pseudo-random 64-bit number (xorshift64*).
#[inline]
pub fn next_u64() -> u64 {
    STATE.with(|s| {
        let mut x = s.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        s.set(x);
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    })
}

/// Uniform in `0..n` (n > 0).
#[inline]
pub fn below(n: usize) -> usize {
    ((next_u64() as u128 * n as u128) >> 64) as usize
}

#[cfg(test)]
mod tests {
    #[test]
    fn below_stays_in_range() {
        for n in 1..50 {
            for _ in 0..100 {
                assert!(super::below(n) < n);
            }
        }
    }
}
